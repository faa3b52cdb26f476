/* Training, gradient, prediction and evaluation of soma_mlp. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "mlp_internal.h"

/* ------------------------------------------------------------------------ */
/* Workspace: one allocation, carved into every buffer a call needs.         */

typedef soma__ws workspace;

typedef struct ws_plan {
    size_t cap;
    bool train;       /* dZ buffers */
    bool dropout;     /* M, D */
    bool gather;      /* rows are picked by index: xg, yg */
    bool onehot;      /* yg, for integer labels expanded to one-hot rows */
    bool targets;     /* Y is read (yg in a float model) */
    bool gbuf;        /* a double copy of a float model's gradient */
    size_t n_wts;     /* row weights of the data */
    size_t n_wts_val; /* row weights of an explicit validation set */
    size_t n_cw;      /* class weights */
    size_t n_idx;     /* idx entries */
    size_t n_mark;    /* mark entries */
    bool snapshot;
    bool best;
} ws_plan;

typedef struct carver {
    char *base;
    size_t off;
    bool overflow;
} carver;

static void *carve(carver *c, size_t count, size_t size)
{
    size_t bytes, start, end;
    if (!soma__mul(count, size, &bytes) || !soma__add(c->off, SOMA_ALIGN - 1, &start)) {
        c->overflow = true;
        return NULL;
    }
    start -= start % SOMA_ALIGN;
    if (!soma__add(start, bytes, &end)) {
        c->overflow = true;
        return NULL;
    }
    c->off = end;
    return c->base != NULL && bytes > 0 ? c->base + start : NULL;
}

/* rows x cols values of the model's precision. */
static void *carve_values(carver *c, const soma_mlp *mlp, size_t rows, size_t cols)
{
    size_t n;
    if (!soma__mul(rows, cols, &n)) {
        c->overflow = true;
        return NULL;
    }
    return carve(c, n, mlp->elem);
}

/* Lay the workspace out in c (a NULL base only measures). A float model
 * always gathers its rows: it converts them from the caller's doubles. */
static void ws_layout(const soma_mlp *mlp, const ws_plan *p, carver *c, workspace *w)
{
    const size_t L = mlp->n_layers;
    const bool convert = mlp->spec.precision != SOMA_PRECISION_F64;
    size_t widest = 0;
    for (size_t l = 0; l <= L; l++)
        widest = mlp->sizes[l] > widest ? mlp->sizes[l] : widest;
    memset(w, 0, sizeof *w);
    w->cap = p->cap;
    w->Z = carve(c, L, sizeof(void *));
    w->A = carve(c, L, sizeof(void *));
    if (p->dropout) {
        w->M = carve(c, L, sizeof(void *));
        w->D = carve(c, L, sizeof(void *));
    }
    for (size_t l = 0; l < L; l++) {
        void *z = carve_values(c, mlp, p->cap, mlp->sizes[l + 1]);
        void *a = carve_values(c, mlp, p->cap, mlp->sizes[l + 1]);
        if (c->base != NULL) {
            w->Z[l] = z;
            w->A[l] = a;
        }
        if (p->dropout && l + 1 < L) {
            void *mk = carve_values(c, mlp, p->cap, mlp->sizes[l + 1]);
            void *d = carve_values(c, mlp, p->cap, mlp->sizes[l + 1]);
            if (c->base != NULL) {
                w->M[l] = mk;
                w->D[l] = d;
            }
        }
    }
    if (p->train) {
        w->dz[0] = carve_values(c, mlp, p->cap, widest);
        w->dz[1] = carve_values(c, mlp, p->cap, widest);
    }
    if (p->gather || convert)
        w->xg = carve_values(c, mlp, p->cap, mlp->sizes[0]);
    if (p->targets && (p->gather || p->onehot || convert))
        w->yg = carve_values(c, mlp, p->cap, mlp->sizes[L]);
    w->idx = carve(c, p->n_idx, sizeof(size_t));
    w->mark = carve(c, p->n_mark, 1);
    if (p->snapshot) {
        w->snapshot[0] = carve(c, mlp->n_params, mlp->elem);
        w->snapshot[1] = carve(c, mlp->n_params, mlp->elem);
    }
    if (p->best)
        w->best = carve(c, mlp->n_params, mlp->elem);
    if (p->gbuf)
        w->gbuf = carve(c, mlp->n_params, sizeof(double));
    w->wts = carve(c, p->n_wts, sizeof(double));
    w->wts_val = carve(c, p->n_wts_val, sizeof(double));
    w->cw = carve(c, p->n_cw, sizeof(double));
}

/* Allocate a workspace for mlp through alloc (resolved, not NULL). */
static soma_status ws_create_with(const soma_mlp *mlp, const ws_plan *p, workspace *w,
                                  const soma_allocator *alloc, soma_error_info *err)
{
    carver measure = {NULL, 0, false};
    ws_layout(mlp, p, &measure, w);
    if (measure.overflow)
        return soma__fail(err, SOMA_EOVERFLOW, "",
                          "the workspace for %zu rows per chunk does not fit in size_t",
                          p->cap);
    void *block = soma__alloc(alloc, measure.off);
    if (block == NULL)
        return soma__fail_nomem(err, measure.off, "the workspace");
    carver real = {block, 0, false};
    ws_layout(mlp, p, &real, w);
    w->block = block;
    w->bytes = measure.off;
    w->alloc = *alloc;
    return SOMA_OK;
}

static soma_status ws_create(const soma_mlp *mlp, const ws_plan *p, workspace *w,
                             soma_error_info *err)
{
    return ws_create_with(mlp, p, w, &mlp->alloc, err);
}

static void ws_free(const soma_mlp *mlp, workspace *w)
{
    (void)mlp;
    soma__free(&w->alloc, w->block, w->bytes);
    memset(w, 0, sizeof *w);
}

/* Width of the one-hot rows that integer labels Y (n x 1, values 0..k-1)
 * stand for on a k-output cross-entropy model; 0 when Y holds the targets
 * themselves. */
static size_t onehot_width(const soma_mlp *mlp, const soma_matrix *Y)
{
    const size_t k = mlp->sizes[mlp->n_layers];
    return Y->cols == 1 && k > 1 && mlp->spec.loss == SOMA_LOSS_CE ? k : 0;
}

/* ------------------------------------------------------------------------ */
/* Argument checks.                                                          */

/* X's width against the model's input. */
static soma_status check_input(const soma_mlp *mlp, const soma_matrix *X,
                               const char *xname, soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(X, xname, err));
    SOMA_REQUIRE(X->cols == mlp->sizes[0], err, SOMA_EDIM, xname,
                 "%s has %zu columns but the model's input width (sizes[0]) is %zu",
                 xname, X->cols, mlp->sizes[0]);
    return SOMA_OK;
}

/* X (n x n0) and Y (n x nL) against the model; n >= 1. The names are those
 * of the caller's arguments ("X", "options.X_val", ...). */
static soma_status check_data(const soma_mlp *mlp, const soma_matrix *X,
                              const char *xname, const soma_matrix *Y, const char *yname,
                              soma_error_info *err)
{
    const size_t k = mlp->sizes[mlp->n_layers];
    SOMA_TRY(check_input(mlp, X, xname, err));
    SOMA_TRY(soma__check_matrix_arg(Y, yname, err));
    const size_t onehot = onehot_width(mlp, Y);
    if (Y->cols != k && onehot == 0) {
        const bool labels = Y->cols == 1 && k > 1;
        return soma__fail(
            err, SOMA_EDIM, yname, "%s has %zu column%s but the model has %zu output%s%s",
            yname, Y->cols, Y->cols == 1 ? "" : "s", k, k == 1 ? "" : "s",
            labels ? ": integer labels need a cross-entropy model; otherwise "
                     "one-hot them (soma_one_hot with k explicit)"
                   : "");
    }
    SOMA_REQUIRE(Y->rows == X->rows, err, SOMA_EDIM, yname,
                 "%s has %zu rows but %s has %zu: one target row per input row", yname,
                 Y->rows, xname, X->rows);
    SOMA_REQUIRE(X->rows >= 1, err, SOMA_EINVAL, xname, "%s has no rows", xname);
    SOMA_TRY(soma__check_finite_arg(X, xname, err));
    const bool f32 = mlp->spec.precision == SOMA_PRECISION_F32;
    if (f32)
        SOMA_TRY(soma__check_float_range(X, xname, err));
    if (onehot > 0) {
        size_t top;
        return soma__labels_scan(Y, yname, k, " (one per output of the model)", &top,
                                 err);
    }
    SOMA_TRY(soma__check_finite_arg(Y, yname, err));
    if (f32)
        SOMA_TRY(soma__check_float_range(Y, yname, err));
    return soma__loss_check_targets(mlp->spec.loss, Y, yname, err);
}

static bool nonneg_finite(double x)
{
    return x >= 0.0 && isfinite(x);
}

#define OPT_REQUIRE(cond, field, ...)                                                    \
    SOMA_REQUIRE(cond, err, SOMA_EINVAL, "options." field,                               \
                 "options." field " " __VA_ARGS__)

static soma_status check_options(const soma_fit_options *o, soma_error_info *err)
{
    double lr;
    OPT_REQUIRE(o->epochs >= 1, "epochs", "is 0: train for at least one epoch");
    OPT_REQUIRE(o->learning_rate > 0.0 && isfinite(o->learning_rate), "learning_rate",
                "is %g: it must be finite and > 0", o->learning_rate);
    OPT_REQUIRE(nonneg_finite(o->l2), "l2", "is %g: it must be finite and >= 0", o->l2);
    OPT_REQUIRE(nonneg_finite(o->clip_norm), "clip_norm",
                "is %g: it must be finite and >= 0 (0 = no clipping)", o->clip_norm);
    OPT_REQUIRE(o->dropout >= 0.0 && o->dropout < 1.0, "dropout",
                "is %g: a drop probability in [0, 1) is expected", o->dropout);
    OPT_REQUIRE(o->validation_fraction >= 0.0 && o->validation_fraction < 1.0,
                "validation_fraction", "is %g: a fraction in [0, 1) is expected",
                o->validation_fraction);
    OPT_REQUIRE((o->X_val == NULL) == (o->Y_val == NULL), "X_val",
                "and options.Y_val must be given together (both or neither)");
    OPT_REQUIRE(!o->early_stopping || o->patience >= 1, "patience",
                "is 0: early stopping needs a patience of at least one epoch");
    OPT_REQUIRE(!o->early_stopping || nonneg_finite(o->min_delta), "min_delta",
                "is %g: it must be finite and >= 0", o->min_delta);
    OPT_REQUIRE(soma_lr_schedule_value(&o->schedule, o->learning_rate, 0, &lr) == SOMA_OK,
                "schedule", "is invalid: check its kind and parameters (optim.h)");
    OPT_REQUIRE(soma__optim_config_valid(&o->optimizer), "optimizer",
                "is invalid: a soma_optimizer kind with momentum, beta1 and beta2 in "
                "[0, 1) and epsilon finite and > 0 (optim.h)");
    return SOMA_OK;
}

/* A double model reduces its gradient through reduce.grads only (see
 * soma_reduce_hook). */
static soma_status check_hooks(const soma_mlp *mlp, const soma_fit_options *o,
                               soma_error_info *err)
{
    SOMA_REQUIRE(
        mlp->spec.precision != SOMA_PRECISION_F64 || o->reduce.grads_f32 == NULL ||
            o->reduce.grads != NULL,
        err, SOMA_EINVAL, "options.reduce",
        "options.reduce sets grads_f32 but not grads: a double model reduces its "
        "gradient in double (set grads)");
    return SOMA_OK;
}

/* ------------------------------------------------------------------------ */
/* fit                                                                       */

soma_fit_options soma_fit_options_default(void)
{
    soma_fit_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 1000;
    o.batch_size = 0;
    o.shuffle = true;
    o.seed = 0;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_SGD);
    o.learning_rate = 0.01;
    o.schedule.kind = SOMA_SCHEDULE_CONSTANT;
    o.schedule.gamma = 1.0;
    o.schedule.step = 1;
    o.schedule.period = 1;
    o.patience = 10;
    o.restore_best = true;
    return o;
}

soma_fit_options soma_fit_options_adam(size_t epochs)
{
    soma_fit_options o = soma_fit_options_default();
    o.epochs = epochs == 0 ? 200 : epochs;
    o.batch_size = 32;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = 1e-3;
    return o;
}

void soma_history_free(soma_history *history)
{
    if (history == NULL)
        return;
    soma__free(&history->alloc, history->epochs,
               history->capacity * sizeof(soma_epoch_stats));
    memset(history, 0, sizeof *history);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

/* Split rows 0..n-1 into n_val validation rows (a seeded random choice) and
 * the rest, each list in ascending order: idx = [val..., train...]. */
static void split_rows(soma_rng *rng, size_t n, size_t n_val, size_t *idx,
                       unsigned char *mark)
{
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* A partial Fisher-Yates picks the n_val validation rows. */
    for (size_t i = 0; i < n_val; i++) {
        size_t j = i + (size_t)soma__rng_below(rng, (uint64_t)(n - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    memset(mark, 0, n);
    for (size_t i = 0; i < n_val; i++)
        mark[idx[i]] = 1;
    size_t v = 0, t = n_val;
    for (size_t i = 0; i < n; i++) {
        if (mark[i])
            idx[v++] = i;
        else
            idx[t++] = i;
    }
}

typedef struct fit_state {
    soma_mlp *mlp;
    const soma_matrix *X, *Y, *Xv, *Yv;
    const soma_fit_options *o;
    workspace w;
    const size_t *train_idx, *val_idx;
    size_t n_train, n_val, batch;
    soma_rng rng;
    bool has_val, dropout;
    size_t y_onehot, v_onehot; /* one-hot widths of integer-label Y and Y_val */
    const double *wts, *vwts;  /* row weights of the training / validation data */
    soma__mlp_opt opt;         /* fresh optimizer state, until fit_commit */
    bool fresh_opt;            /* opt holds state not yet installed */
    bool stop_requested;       /* the batch callback asked to stop */
} fit_state;

/* The reduce hook on this step's gradient (m rows): in the model's
 * precision when the hook has that member, else in double through the
 * workspace's copy (a float model with a double hook). */
static soma_status reduce_grads(fit_state *f, double m)
{
    soma_mlp *mlp = f->mlp;
    const soma_reduce_hook *r = &f->o->reduce;
    const size_t n = mlp->n_params;
    if (mlp->spec.precision == SOMA_PRECISION_F32 && r->grads_f32 != NULL)
        return r->grads_f32(r->user, (float *)mlp->grads, n, m);
    if (r->grads == NULL)
        return SOMA_OK;
    if (f->w.gbuf == NULL)
        return r->grads(r->user, (double *)mlp->grads, n, m);
    mlp->ops->to_f64(n, mlp->grads, f->w.gbuf);
    SOMA_TRY(r->grads(r->user, f->w.gbuf, n, m));
    mlp->ops->from_f64(n, f->w.gbuf, mlp->grads);
    return SOMA_OK;
}

/* Report a finished batch to the batch callback; true when it asks to stop. */
static bool report_batch(const fit_state *f, size_t epoch, size_t batch, size_t rows_done,
                         const soma__sums *s)
{
    const soma_fit_options *o = f->o;
    const bool classify = f->mlp->spec.loss != SOMA_LOSS_MSE;
    const soma_batch_stats b = {
        .epoch = epoch,
        .batch = batch,
        .rows_done = rows_done,
        .rows_total = f->n_train,
        .loss = s->loss / s->count,
        .accuracy = classify ? s->correct / s->count : NAN,
    };
    return o->batch_callback(o->callback_user, &b) != 0;
}

/* One epoch of training; fills s (training sums) and v (validation sums). */
static soma_status run_epoch(fit_state *f, size_t epoch, double lr, soma__sums *s,
                             soma__sums *v)
{
    soma_mlp *mlp = f->mlp;
    const soma_fit_options *o = f->o;
    size_t *order = (size_t *)f->train_idx;
    if (o->shuffle && f->batch < f->n_train)
        soma__rng_shuffle(&f->rng, order, f->n_train);
    const double keep = 1.0 - o->dropout;
    /* Within an epoch, the update zeroes the gradient as it uses it, so
     * that the next batch's products add to zeros rather than having the
     * BLAS clear the buffer first (a pass over every weight). The last
     * batch of an epoch, and every batch when a batch callback may stop
     * the fit, leave it: a fit ends with its last gradient in the buffer. */
    bool grads_zero = false;
    for (size_t b0 = 0; b0 < f->n_train; b0 += f->batch) {
        const size_t m = f->n_train - b0 < f->batch ? f->n_train - b0 : f->batch;
        const double weight = mlp->ops->batch_gradient(
            mlp, &f->w, f->X, f->Y, f->y_onehot, f->wts, order, b0, m, keep,
            f->dropout ? &f->rng : NULL, grads_zero, s);
        SOMA_TRY(reduce_grads(f, weight));
        /* Weight decay and clipping are applied by the update's own pass;
         * the gradient buffer keeps the loss gradient. */
        const double clip =
            o->clip_norm > 0.0 ? mlp->ops->clip_factor(mlp, o->clip_norm, o->l2) : 1.0;
        grads_zero = o->batch_callback == NULL && b0 + m < f->n_train;
        mlp->ops->step(mlp, lr, o->l2, clip, grads_zero);
        if (o->batch_callback != NULL &&
            report_batch(f, epoch, b0 / f->batch, b0 + m, s)) {
            f->stop_requested = true;
            break;
        }
    }
    if (f->has_val)
        mlp->ops->evaluate_rows(mlp, &f->w, f->Xv, f->Yv, f->v_onehot, f->vwts,
                                f->val_idx, f->n_val, v);
    if (o->reduce.metrics != NULL) {
        double vals[6] = {s->loss, s->correct, s->count, v->loss, v->correct, v->count};
        SOMA_TRY(o->reduce.metrics(o->reduce.user, vals, 6));
        *s = (soma__sums){vals[0], vals[1], vals[2]};
        *v = (soma__sums){vals[3], vals[4], vals[5]};
    }
    return SOMA_OK;
}

/* Same double, bit for bit (so NaN equals the same NaN). */
static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Field by field: a memcmp of the structs would also compare the padding
 * after `kind`, whose bytes are unspecified. */
static bool same_config(const soma_optim_config *a, const soma_optim_config *b)
{
    return a->kind == b->kind && same_bits(a->momentum, b->momentum) &&
           same_bits(a->beta1, b->beta1) && same_bits(a->beta2, b->beta2) &&
           same_bits(a->epsilon, b->epsilon);
}

/* True when fit continues the optimizer state of the last fit: a warm
 * start with the same configuration. */
static bool keep_optimizer(const soma_mlp *mlp, const soma_fit_options *o)
{
    return o->warm_start && mlp->opt_ready &&
           same_config(&mlp->opt.config, &o->optimizer);
}

/* Release what fit_setup allocated (fresh optimizer state included). */
static void fit_release(fit_state *f, soma_history *h)
{
    if (f->fresh_opt)
        soma__mlp_opt_free(f->mlp, &f->opt);
    soma_history_free(h);
    ws_free(f->mlp, &f->w);
}

/* Checks and allocations of fit; changes nothing in the model (a fresh
 * optimizer state waits in f->opt until fit_commit). */
/* The class of row i of Y: its integer label (onehot > 0), its argmax (k
 * columns), or Y > 0.5 (one column). */
static size_t row_class(const soma_matrix *Y, size_t onehot, size_t i)
{
    const double *y = soma_matrix_at(Y, i, 0);
    if (onehot > 0)
        return (size_t)y[0];
    if (Y->cols == 1)
        return y[0] > 0.5;
    size_t best = 0;
    for (size_t j = 1; j < Y->cols; j++)
        best = y[j] > y[best] ? j : best;
    return best;
}

/* A weight vector argument: n x 1, finite, >= 0. */
static soma_status check_weight_column(const soma_matrix *w, const char *name, size_t n,
                                       soma_error_info *err)
{
    SOMA_TRY(soma__check_shape_arg(w, name, n, 1, err));
    for (size_t i = 0; i < n; i++) {
        const double v = *soma_matrix_at(w, i, 0);
        SOMA_REQUIRE(isfinite(v) && v >= 0.0, err, SOMA_EINVAL, name,
                     "%s(%zu, 0) is %g: weights are finite and >= 0", name, i, v);
    }
    return SOMA_OK;
}

/* The weight options against the data (before anything is allocated). */
static soma_status check_weights(const soma_mlp *mlp, const soma_fit_options *o, size_t n,
                                 soma_error_info *err)
{
    const size_t k = soma__mlp_n_classes(mlp);
    if (o->sample_weight != NULL)
        SOMA_TRY(check_weight_column(o->sample_weight, "options.sample_weight", n, err));
    if (o->sample_weight_val != NULL) {
        SOMA_REQUIRE(o->X_val != NULL, err, SOMA_EINVAL, "options.sample_weight_val",
                     "options.sample_weight_val is set without options.X_val (rows held "
                     "out by validation_fraction take their options.sample_weight)");
        SOMA_TRY(check_weight_column(o->sample_weight_val, "options.sample_weight_val",
                                     o->X_val->rows, err));
    }
    const bool classes = o->class_weight != NULL || o->class_weight_balanced;
    SOMA_REQUIRE(!classes || k > 0, err, SOMA_EINVAL, "options.class_weight",
                 "options.class_weight on a regression (MSE) model: it has no classes");
    SOMA_REQUIRE(o->class_weight == NULL || !o->class_weight_balanced, err, SOMA_EINVAL,
                 "options.class_weight",
                 "options.class_weight and options.class_weight_balanced are both set: "
                 "choose one");
    if (o->class_weight != NULL)
        for (size_t c = 0; c < k; c++)
            SOMA_REQUIRE(
                isfinite(o->class_weight[c]) && o->class_weight[c] >= 0.0, err,
                SOMA_EINVAL, "options.class_weight",
                "options.class_weight[%zu] is %g: weights are finite and >= 0 (k = "
                "%zu values)",
                c, o->class_weight[c], k);
    return SOMA_OK;
}

/* Row weights of the training data (and of the validation rows) into the
 * workspace: sample weight times class weight; balanced class weights from
 * the training rows. The training weights must have a positive sum. */
static soma_status fill_weights(fit_state *f, bool weighted, bool split,
                                soma_error_info *err)
{
    const soma_fit_options *o = f->o;
    soma_mlp *mlp = f->mlp;
    const size_t n = f->X->rows, k = soma__mlp_n_classes(mlp);
    double *cw = f->w.cw;
    if (o->class_weight != NULL)
        memcpy(cw, o->class_weight, k * sizeof(double));
    if (o->class_weight_balanced) {
        memset(cw, 0, k * sizeof(double));
        for (size_t t = 0; t < f->n_train; t++)
            cw[row_class(f->Y, f->y_onehot,
                         f->train_idx != NULL ? f->train_idx[t] : t)] += 1.0;
        for (size_t c = 0; c < k; c++)
            cw[c] = cw[c] > 0.0 ? (double)f->n_train / ((double)k * cw[c]) : 0.0;
    }
    if (f->w.wts != NULL) {
        for (size_t i = 0; i < n; i++) {
            double v =
                o->sample_weight != NULL ? *soma_matrix_at(o->sample_weight, i, 0) : 1.0;
            if (cw != NULL)
                v *= cw[row_class(f->Y, f->y_onehot, i)];
            f->w.wts[i] = v;
        }
        f->vwts = split ? f->w.wts : NULL;
    }
    if (weighted) {
        double total = 0.0;
        for (size_t t = 0; t < f->n_train; t++)
            total += f->w.wts[f->train_idx != NULL ? f->train_idx[t] : t];
        SOMA_REQUIRE(
            total > 0.0, err, SOMA_EINVAL,
            o->sample_weight != NULL ? "options.sample_weight" : "options.class_weight",
            "the training rows' weights sum to 0: give some row a positive weight");
        f->wts = f->w.wts;
    }
    if (f->w.wts_val != NULL) {
        for (size_t i = 0; i < f->n_val; i++) {
            double v = o->sample_weight_val != NULL
                           ? *soma_matrix_at(o->sample_weight_val, i, 0)
                           : 1.0;
            if (cw != NULL)
                v *= cw[row_class(f->Yv, f->v_onehot, i)];
            f->w.wts_val[i] = v;
        }
        f->vwts = f->w.wts_val;
    }
    if (f->vwts != NULL) {
        double total = 0.0;
        for (size_t v = 0; v < f->n_val; v++)
            total += f->vwts[f->val_idx != NULL && split ? f->val_idx[v] : v];
        SOMA_REQUIRE(
            total > 0.0, err, SOMA_EINVAL,
            f->w.wts_val != NULL ? "options.sample_weight_val" : "options.sample_weight",
            "the validation rows' weights sum to 0: the validation loss would be "
            "undefined");
    }
    return SOMA_OK;
}

static soma_status fit_setup(fit_state *f, soma_history *h, soma_error_info *err)
{
    const soma_fit_options *o = f->o;
    const size_t n = f->X->rows;
    soma_mlp *mlp = f->mlp;
    size_t n_split = 0;
    if (o->X_val != NULL) {
        SOMA_TRY(
            check_data(mlp, o->X_val, "options.X_val", o->Y_val, "options.Y_val", err));
        f->Xv = o->X_val;
        f->Yv = o->Y_val;
        f->n_val = o->X_val->rows;
    } else if (o->validation_fraction > 0.0) {
        n_split = (size_t)llround(o->validation_fraction * (double)n);
        SOMA_REQUIRE(
            n_split != 0 && n_split < n, err, SOMA_EINVAL, "options.validation_fraction",
            "options.validation_fraction %g of %zu rows holds out %zu: at least one "
            "row must be held out and one kept for training",
            o->validation_fraction, n, n_split);
        f->Xv = f->X;
        f->Yv = f->Y;
        f->n_val = n_split;
    }
    f->has_val = f->n_val > 0;
    f->y_onehot = onehot_width(mlp, f->Y);
    f->v_onehot = f->has_val ? onehot_width(mlp, f->Yv) : 0;
    f->n_train = n - n_split;
    f->batch =
        o->batch_size == 0 || o->batch_size > f->n_train ? f->n_train : o->batch_size;
    f->dropout = o->dropout > 0.0 && mlp->n_layers > 1;
    const bool shuffled = o->shuffle && f->batch < f->n_train;
    const bool indexed = n_split > 0 || shuffled;
    size_t cap = f->batch < SOMA_MLP_CHUNK ? f->batch : SOMA_MLP_CHUNK;
    if (f->has_val && f->n_val > cap)
        cap = f->n_val < SOMA_MLP_CHUNK ? f->n_val : SOMA_MLP_CHUNK;
    const bool weighted =
        o->sample_weight != NULL || o->class_weight != NULL || o->class_weight_balanced;
    const bool val_weighted = f->has_val && (weighted || o->sample_weight_val != NULL);
    ws_plan p = {.cap = cap,
                 .n_wts = weighted || (val_weighted && n_split > 0) ? n : 0,
                 .n_wts_val = val_weighted && o->X_val != NULL ? f->n_val : 0,
                 .n_cw = o->class_weight != NULL || o->class_weight_balanced
                             ? soma__mlp_n_classes(mlp)
                             : 0,
                 .train = true,
                 .dropout = f->dropout,
                 .gather = indexed,
                 .onehot = f->y_onehot > 0 || f->v_onehot > 0,
                 .targets = true,
                 .gbuf = mlp->spec.precision == SOMA_PRECISION_F32 &&
                         o->reduce.grads != NULL && o->reduce.grads_f32 == NULL,
                 .n_idx = indexed ? n : 0,
                 .n_mark = n_split > 0 ? n : 0,
                 .snapshot = true,
                 .best = o->early_stopping && o->restore_best};
    SOMA_TRY(ws_create(mlp, &p, &f->w, err));
    soma_status st = SOMA_OK;
    if (h != NULL) {
        h->alloc = mlp->alloc;
        h->capacity = o->epochs;
        size_t bytes;
        if (!soma__mul(o->epochs, sizeof(soma_epoch_stats), &bytes))
            st = SOMA_EOVERFLOW;
        else if ((h->epochs = soma__alloc(&h->alloc, bytes)) == NULL)
            st = SOMA_ENOMEM;
    }
    if (st == SOMA_OK && !keep_optimizer(mlp, o)) {
        st = soma__mlp_opt_init(mlp, &o->optimizer, &f->opt);
        f->fresh_opt = st == SOMA_OK;
    }
    if (st != SOMA_OK) {
        fit_release(f, h);
        return soma__fail(err, st, "options.epochs",
                          st == SOMA_EOVERFLOW
                              ? "a history of %zu epochs does not fit in memory"
                              : "out of memory allocating the history or optimizer state "
                                "(%zu epochs)",
                          o->epochs);
    }
    soma__ignore(soma_rng_seed(&f->rng, o->seed));
    if (n_split > 0) {
        split_rows(&f->rng, n, n_split, f->w.idx, f->w.mark);
        f->val_idx = f->w.idx;
        f->train_idx = f->w.idx + n_split;
    } else if (indexed) {
        for (size_t i = 0; i < n; i++)
            f->w.idx[i] = i;
        f->train_idx = f->w.idx;
    }
    if (weighted || val_weighted) {
        st = fill_weights(f, weighted, n_split > 0, err);
        if (st != SOMA_OK) {
            fit_release(f, h);
            return st;
        }
    }
    return SOMA_OK;
}

/* The point of no return: install the fresh optimizer state, if any. */
static void fit_commit(fit_state *f)
{
    soma_mlp *mlp = f->mlp;
    if (!f->fresh_opt)
        return;
    soma__mlp_opt_free(mlp, &mlp->opt);
    mlp->opt = f->opt;
    mlp->opt_ready = true;
    f->fresh_opt = false;
}

/* Checks and setup, then the start hook's agreement; on SOMA_OK fit may
 * proceed and the fresh optimizer state is installed. */
static soma_status fit_begin(fit_state *f, soma_history *h, soma_error_info *err)
{
    const soma_reduce_hook *r = &f->o->reduce;
    soma_status st = check_data(f->mlp, f->X, "X", f->Y, "Y", err);
    if (st == SOMA_OK)
        st = check_options(f->o, err);
    if (st == SOMA_OK)
        st = check_weights(f->mlp, f->o, f->X->rows, err);
    if (st == SOMA_OK)
        st = check_hooks(f->mlp, f->o, err);
    if (st == SOMA_OK)
        st = fit_setup(f, h, err);
    if (r->start != NULL) {
        const soma_status agreed = r->start(r->user, st);
        if (st == SOMA_OK && agreed != SOMA_OK)
            fit_release(f, h);
        if (agreed != SOMA_OK)
            return st == SOMA_OK
                       ? soma__fail(err, agreed, "options.reduce",
                                    "the reduce hook's start refused: %s (another "
                                    "process failed its checks)",
                                    soma_status_string(agreed))
                       : agreed;
    }
    if (st == SOMA_OK)
        fit_commit(f);
    return st;
}

soma_status soma_mlp_fit(soma_mlp *mlp, const soma_matrix *X, const soma_matrix *Y,
                         const soma_fit_options *options, soma_history *history,
                         soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(options, err, "options");
    fit_state f;
    memset(&f, 0, sizeof f);
    f.mlp = mlp;
    f.X = X;
    f.Y = Y;
    f.o = options;
    soma_history h;
    memset(&h, 0, sizeof h);
    SOMA_TRY(fit_begin(&f, history != NULL ? &h : NULL, err));

    const size_t base = options->warm_start ? mlp->epochs_done : 0;
    const size_t P = mlp->n_params, bytes = P * mlp->elem;
    double best = INFINITY;
    size_t best_index = 0, wait = 0, run = 0;
    soma_stop_reason stop = SOMA_STOP_EPOCHS;
    soma_status status = SOMA_OK;

    for (size_t e = 0; e < options->epochs; e++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double lr;
        /* Checked for epoch 0 already; the same parameters serve every epoch. */
        soma__ignore(soma_lr_schedule_value(&options->schedule, options->learning_rate,
                                            base + e, &lr));
        memcpy(f.w.snapshot[e % 2], mlp->params, bytes);
        soma__sums s = {0, 0, 0}, v = {0, 0, 0};
        status = run_epoch(&f, base + e, lr, &s, &v);
        if (status != SOMA_OK)
            break;
        const bool classify = mlp->spec.loss != SOMA_LOSS_MSE;
        soma_epoch_stats st = {
            .epoch = base + e,
            .loss = s.loss / s.count,
            .accuracy = classify ? s.correct / s.count : NAN,
            .val_loss = f.has_val ? v.loss / v.count : NAN,
            .val_accuracy = f.has_val && classify ? v.correct / v.count : NAN,
            .learning_rate = lr,
        };
        const double monitored = f.has_val ? st.val_loss : st.loss;
        const bool diverged =
            !isfinite(monitored) || !isfinite(st.loss) || !mlp->ops->params_finite(mlp);
        st.seconds = seconds_since(&t0);
        if (history != NULL)
            h.epochs[run] = st;
        run++;
        if (diverged) {
            /* Back to the last parameters a finite loss was measured at: the
             * start of this epoch when its training loss was finite (only the
             * update broke), else the start of the previous one. */
            const void *good = f.w.snapshot[e % 2];
            if (!isfinite(st.loss) && e > 0)
                good = f.w.snapshot[(e - 1) % 2];
            /* The best parameters are saved at the end of their epoch.
             * Without validation data their loss is measured by the next
             * epoch's training loss: when that is this epoch and it is not
             * finite, they are the parameters that diverged, and the start
             * of the best epoch (chosen above) is kept instead. */
            const bool best_diverged =
                !f.has_val && best_index + 2 == run && !isfinite(st.loss);
            if (f.w.best != NULL && isfinite(best) && !best_diverged) {
                good = f.w.best;
                h.restored = true;
            }
            memcpy(mlp->params, good, bytes);
            soma__mlp_opt_reset(mlp, &mlp->opt);
            stop = SOMA_STOP_DIVERGED;
            status = SOMA_ENONFINITE;
            break;
        }
        if (monitored < best - options->min_delta) {
            best = monitored;
            best_index = run - 1;
            wait = 0;
            if (f.w.best != NULL)
                memcpy(f.w.best, mlp->params, bytes);
        } else if (options->early_stopping && ++wait >= options->patience) {
            stop = SOMA_STOP_EARLY;
        }
        if (options->callback != NULL &&
            options->callback(options->callback_user, &st) != 0 &&
            stop == SOMA_STOP_EPOCHS)
            stop = SOMA_STOP_CALLBACK;
        if (f.stop_requested && stop == SOMA_STOP_EPOCHS)
            stop = SOMA_STOP_CALLBACK;
        if (stop != SOMA_STOP_EPOCHS)
            break;
    }
    if (stop != SOMA_STOP_DIVERGED && f.w.best != NULL && isfinite(best) &&
        best_index + 1 != run) {
        memcpy(mlp->params, f.w.best, bytes);
        h.restored = true;
    }
    mlp->epochs_done = base + run;
    ws_free(mlp, &f.w);
    if (status == SOMA_ENONFINITE)
        soma__fail(err, status, "options.learning_rate",
                   "training diverged in epoch %zu (a loss or parameter became NaN or "
                   "infinite): lower the learning rate or clip the gradient "
                   "(options.clip_norm); the model holds the last finite parameters",
                   base + run - 1);
    else if (status != SOMA_OK)
        soma__fail(err, status, "options.reduce", "a reduce hook returned \"%s\"",
                   soma_status_string(status));
    if (history != NULL) {
        h.n_epochs = run;
        h.stop = stop;
        h.best_epoch = best_index;
        h.best_value = best;
        *history = h;
    }
    return status;
}

/* ------------------------------------------------------------------------ */
/* Gradient for checks, prediction, evaluation                               */

/* Row weights w of n rows (checked, NULL allowed) copied into the
 * workspace's wts: they must be finite, >= 0 and have a positive sum. */
static soma_status check_row_weights(const soma_matrix *w, size_t n, soma_error_info *err)
{
    if (w == NULL)
        return SOMA_OK;
    SOMA_TRY(check_weight_column(w, "w", n, err));
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += *soma_matrix_at(w, i, 0);
    SOMA_REQUIRE(total > 0.0, err, SOMA_EINVAL, "w",
                 "w sums to 0: give some row a positive weight");
    return SOMA_OK;
}

static void copy_row_weights(const soma_matrix *w, double *out)
{
    for (size_t i = 0; w != NULL && i < w->rows; i++)
        out[i] = *soma_matrix_at(w, i, 0);
}

soma_status soma_mlp_gradient_weighted(soma_mlp *mlp, const soma_matrix *X,
                                       const soma_matrix *Y, const soma_matrix *wv,
                                       double l2, double *objective, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE(nonneg_finite(l2), err, SOMA_EINVAL, "l2",
                 "l2 is %g: it must be finite and >= 0", l2);
    SOMA_TRY(check_data(mlp, X, "X", Y, "Y", err));
    SOMA_TRY(check_row_weights(wv, X->rows, err));
    const size_t n = X->rows, onehot = onehot_width(mlp, Y);
    ws_plan p = {.cap = n < SOMA_MLP_CHUNK ? n : SOMA_MLP_CHUNK,
                 .train = true,
                 .onehot = onehot > 0,
                 .targets = true,
                 .n_wts = wv != NULL ? n : 0};
    workspace w;
    SOMA_TRY(ws_create(mlp, &p, &w, err));
    copy_row_weights(wv, w.wts);
    soma__sums s = {0, 0, 0};
    mlp->ops->batch_gradient(mlp, &w, X, Y, onehot, w.wts, NULL, 0, n, 1.0, NULL, false, &s);
    ws_free(mlp, &w);
    double J = s.loss / s.count;
    if (l2 > 0.0) {
        J += 0.5 * l2 * mlp->ops->sum_sq_weights(mlp);
        mlp->ops->add_l2(mlp, l2);
    }
    if (objective != NULL)
        *objective = J;
    return SOMA_OK;
}

soma_status soma_mlp_gradient(soma_mlp *mlp, const soma_matrix *X, const soma_matrix *Y,
                              double l2, double *objective, soma_error_info *err)
{
    return soma_mlp_gradient_weighted(mlp, X, Y, NULL, l2, objective, err);
}

/* Inference over X chunk by chunk in the workspace w (no allocation). */
static void infer_into(const soma_mlp *mlp, workspace *w, const soma_matrix *X,
                       soma_matrix *out, soma__sink kind)
{
    mlp->ops->infer(mlp, w, X, out, kind);
}

static soma_status infer(const soma_mlp *mlp, const soma_matrix *X, soma_matrix *out,
                         soma__sink kind, soma_error_info *err)
{
    const size_t n = X->rows;
    if (n == 0)
        return SOMA_OK;
    ws_plan p = {.cap = n < SOMA_MLP_CHUNK ? n : SOMA_MLP_CHUNK};
    workspace w;
    SOMA_TRY(ws_create(mlp, &p, &w, err));
    infer_into(mlp, &w, X, out, kind);
    ws_free(mlp, &w);
    return SOMA_OK;
}

static soma_status check_predict(const soma_mlp *mlp, const soma_matrix *X,
                                 const soma_matrix *out, const char *out_name,
                                 size_t out_cols, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(check_input(mlp, X, "X", err));
    SOMA_TRY(soma__check_matrix_arg(out, out_name, err));
    if (out->rows != X->rows || out->cols != out_cols)
        return soma__fail(err, SOMA_EDIM, out_name,
                          "%s is %zu x %zu; expected %zu x %zu (one row per row of X)%s",
                          out_name, out->rows, out->cols, X->rows, out_cols,
                          out->rows == 0 && out->cols == 0
                              ? ": allocate it first (soma_matrix_init)"
                              : "");
    SOMA_REQUIRE(!soma__matrix_overlap(X, out), err, SOMA_EALIAS, out_name,
                 "%s overlaps X: predictions need their own storage", out_name);
    return SOMA_OK;
}

soma_status soma_mlp_predict_proba(const soma_mlp *mlp, const soma_matrix *X,
                                   soma_matrix *P, soma_error_info *err)
{
    SOMA_TRY(
        check_predict(mlp, X, P, "P", mlp != NULL ? mlp->sizes[mlp->n_layers] : 0, err));
    return infer(mlp, X, P, SOMA__SINK_PROBA, err);
}

soma_status soma_mlp_predict(const soma_mlp *mlp, const soma_matrix *X,
                             soma_matrix *labels, soma_error_info *err)
{
    SOMA_TRY(check_predict(mlp, X, labels, "labels", 1, err));
    SOMA_REQUIRE(mlp->spec.loss != SOMA_LOSS_MSE, err, SOMA_ENOTSUP, "mlp",
                 "a regression (MSE) model predicts values, not classes: use "
                 "soma_mlp_predict_proba");
    return infer(mlp, X, labels, SOMA__SINK_LABELS, err);
}

soma_status soma_mlp_evaluate_weighted(const soma_mlp *mlp, const soma_matrix *X,
                                       const soma_matrix *Y, const soma_matrix *wv,
                                       double *loss, double *accuracy,
                                       soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(check_data(mlp, X, "X", Y, "Y", err));
    SOMA_TRY(check_row_weights(wv, X->rows, err));
    const size_t n = X->rows, onehot = onehot_width(mlp, Y);
    ws_plan p = {.cap = n < SOMA_MLP_CHUNK ? n : SOMA_MLP_CHUNK,
                 .onehot = onehot > 0,
                 .targets = true,
                 .n_wts = wv != NULL ? n : 0};
    workspace w;
    SOMA_TRY(ws_create(mlp, &p, &w, err));
    copy_row_weights(wv, w.wts);
    soma__sums s = {0, 0, 0};
    mlp->ops->evaluate_rows(mlp, &w, X, Y, onehot, w.wts, NULL, n, &s);
    ws_free(mlp, &w);
    if (loss != NULL)
        *loss = s.loss / s.count;
    if (accuracy != NULL)
        *accuracy = mlp->spec.loss == SOMA_LOSS_MSE ? NAN : s.correct / s.count;
    return SOMA_OK;
}

soma_status soma_mlp_evaluate(const soma_mlp *mlp, const soma_matrix *X,
                              const soma_matrix *Y, double *loss, double *accuracy,
                              soma_error_info *err)
{
    return soma_mlp_evaluate_weighted(mlp, X, Y, NULL, loss, accuracy, err);
}

soma_status soma_class_weights_balanced(const soma_matrix *labels, size_t k,
                                        double *weights, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(weights, err, "weights");
    SOMA_REQUIRE(k >= 1, err, SOMA_EINVAL, "k", "k is 0: at least one class");
    size_t top;
    SOMA_TRY(soma__labels_scan(labels, "labels", k, NULL, &top, err));
    for (size_t c = 0; c < k; c++)
        weights[c] = 0.0;
    for (size_t i = 0; i < labels->rows; i++)
        weights[(size_t)*soma_matrix_at(labels, i, 0)] += 1.0;
    for (size_t c = 0; c < k; c++)
        weights[c] =
            weights[c] > 0.0 ? (double)labels->rows / ((double)k * weights[c]) : 0.0;
    return SOMA_OK;
}

/* ------------------------------------------------------------------------ */
/* Predictors: prediction in a workspace allocated once                      */

struct soma_mlp_predictor {
    const soma_mlp *mlp;
    workspace w;
    soma_allocator alloc;
};

soma_status soma_mlp_predictor_create(soma_mlp_predictor **out, const soma_mlp *mlp,
                                      size_t max_rows, const soma_allocator *alloc,
                                      soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE(max_rows >= 1, err, SOMA_EINVAL, "max_rows",
                 "max_rows is 0: a predictor works on chunks of at least one row");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    soma_allocator a = alloc != NULL ? soma__allocator_resolve(alloc) : mlp->alloc;
    soma_mlp_predictor *pr = soma__calloc(&a, sizeof *pr);
    if (pr == NULL)
        return soma__fail_nomem(err, sizeof *pr, "the predictor");
    pr->mlp = mlp;
    pr->alloc = a;
    ws_plan p = {.cap = max_rows < SOMA_MLP_CHUNK ? max_rows : SOMA_MLP_CHUNK};
    const soma_status st = ws_create_with(mlp, &p, &pr->w, &a, err);
    if (st != SOMA_OK) {
        soma__free(&a, pr, sizeof *pr);
        return st;
    }
    *out = pr;
    return SOMA_OK;
}

void soma_mlp_predictor_destroy(soma_mlp_predictor *pr)
{
    if (pr == NULL)
        return;
    soma_allocator a = pr->alloc;
    ws_free(pr->mlp, &pr->w);
    soma__free(&a, pr, sizeof *pr);
}

soma_status soma_mlp_predictor_proba(soma_mlp_predictor *pr, const soma_matrix *X,
                                     soma_matrix *P, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(pr, err, "pr");
    const soma_mlp *mlp = pr->mlp;
    SOMA_TRY(check_predict(mlp, X, P, "P", mlp->sizes[mlp->n_layers], err));
    infer_into(mlp, &pr->w, X, P, SOMA__SINK_PROBA);
    return SOMA_OK;
}

soma_status soma_mlp_predictor_labels(soma_mlp_predictor *pr, const soma_matrix *X,
                                      soma_matrix *labels, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(pr, err, "pr");
    const soma_mlp *mlp = pr->mlp;
    SOMA_TRY(check_predict(mlp, X, labels, "labels", 1, err));
    SOMA_REQUIRE(mlp->spec.loss != SOMA_LOSS_MSE, err, SOMA_ENOTSUP, "pr",
                 "a regression (MSE) model predicts values, not classes: use "
                 "soma_mlp_predictor_proba");
    infer_into(mlp, &pr->w, X, labels, SOMA__SINK_LABELS);
    return SOMA_OK;
}
