/* Training, gradient, prediction and evaluation of soma_mlp. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "mlp_internal.h"
#include "parallel.h"
#include "vmath.h"

/* ------------------------------------------------------------------------ */
/* Workspace: one allocation, carved into every buffer a call needs.         */

typedef struct workspace {
    size_t cap;          /* rows per chunk */
    soma_matrix *Z, *A;  /* per layer: cap x n(l+1) */
    soma_matrix *M, *D;  /* per hidden layer: dropout scale and masked output */
    soma_matrix dz[2];   /* cap x widest layer: dZ / dX ping-pong */
    soma_matrix xg, yg;  /* gathered rows of X and Y */
    size_t *idx;         /* n row indices: validation rows, then training rows */
    unsigned char *mark; /* n flags for the validation split */
    double *snapshot[2]; /* parameters at the start of even / odd epochs */
    double *best;        /* parameters of the best epoch */
    void *block;
    size_t bytes;
    soma_allocator alloc; /* of block */
} workspace;

typedef struct ws_plan {
    size_t cap;
    bool train;    /* dZ buffers */
    bool dropout;  /* M, D */
    bool gather;   /* xg, yg */
    bool onehot;   /* yg, for integer labels expanded to one-hot rows */
    size_t n_idx;  /* idx entries */
    size_t n_mark; /* mark entries */
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

static soma_matrix carve_matrix(carver *c, size_t rows, size_t cols)
{
    return soma__view(carve(c, rows * cols, sizeof(double)), rows, cols, cols);
}

/* Lay the workspace out in c (a NULL base only measures). */
static void ws_layout(const soma_mlp *mlp, const ws_plan *p, carver *c, workspace *w)
{
    const size_t L = mlp->n_layers;
    size_t widest = 0;
    for (size_t l = 0; l <= L; l++)
        widest = mlp->sizes[l] > widest ? mlp->sizes[l] : widest;
    memset(w, 0, sizeof *w);
    w->cap = p->cap;
    w->Z = carve(c, L, sizeof(soma_matrix));
    w->A = carve(c, L, sizeof(soma_matrix));
    if (p->dropout) {
        w->M = carve(c, L, sizeof(soma_matrix));
        w->D = carve(c, L, sizeof(soma_matrix));
    }
    for (size_t l = 0; l < L; l++) {
        soma_matrix z = carve_matrix(c, p->cap, mlp->sizes[l + 1]);
        soma_matrix a = carve_matrix(c, p->cap, mlp->sizes[l + 1]);
        if (c->base != NULL) {
            w->Z[l] = z;
            w->A[l] = a;
        }
        if (p->dropout && l + 1 < L) {
            soma_matrix mk = carve_matrix(c, p->cap, mlp->sizes[l + 1]);
            soma_matrix d = carve_matrix(c, p->cap, mlp->sizes[l + 1]);
            if (c->base != NULL) {
                w->M[l] = mk;
                w->D[l] = d;
            }
        }
    }
    if (p->train) {
        w->dz[0] = carve_matrix(c, p->cap, widest);
        w->dz[1] = carve_matrix(c, p->cap, widest);
    }
    if (p->gather)
        w->xg = carve_matrix(c, p->cap, mlp->sizes[0]);
    if (p->gather || p->onehot)
        w->yg = carve_matrix(c, p->cap, mlp->sizes[L]);
    w->idx = carve(c, p->n_idx, sizeof(size_t));
    w->mark = carve(c, p->n_mark, 1);
    if (p->snapshot) {
        w->snapshot[0] = carve(c, mlp->n_params, sizeof(double));
        w->snapshot[1] = carve(c, mlp->n_params, sizeof(double));
    }
    if (p->best)
        w->best = carve(c, mlp->n_params, sizeof(double));
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

/* The first m rows of a workspace matrix, packed. */
static soma_matrix head(const soma_matrix *M, size_t m, size_t cols)
{
    return soma__view(M->data, m, cols, cols);
}

/* ------------------------------------------------------------------------ */
/* Forward, loss and backward on one chunk of rows.                          */

/* Forward pass; with rng (training with dropout) hidden outputs are masked.
 * Returns the input of the layer after the last (the output A). */
static void forward(const soma_mlp *mlp, workspace *w, const soma_matrix *X, double keep,
                    soma_rng *rng)
{
    const size_t L = mlp->n_layers, m = X->rows;
    soma_matrix in = *X;
    for (size_t l = 0; l < L; l++) {
        const size_t width = mlp->sizes[l + 1];
        soma_matrix Z = head(&w->Z[l], m, width), A = head(&w->A[l], m, width);
        soma__dense_forward(&mlp->layers[l], &in, &Z, &A);
        in = A;
        if (rng != NULL && l + 1 < L) {
            soma_matrix Mk = head(&w->M[l], m, width), D = head(&w->D[l], m, width);
            const double inv_keep = 1.0 / keep;
            for (size_t i = 0; i < m * width; i++) {
                double s = soma__rng_uniform(rng) < keep ? inv_keep : 0.0;
                Mk.data[i] = s;
                D.data[i] = s * A.data[i];
            }
            in = D;
        }
    }
}

/* Number of rows whose predicted class matches the target's. */
static size_t count_correct(const soma_matrix *P, const soma_matrix *Y)
{
    size_t correct = 0;
    const size_t k = P->cols;
    for (size_t i = 0; i < P->rows; i++) {
        const double *p = soma_matrix_at(P, i, 0), *y = soma_matrix_at(Y, i, 0);
        if (k == 1) {
            correct += (p[0] > 0.5) == (y[0] > 0.5);
            continue;
        }
        size_t bp = 0, by = 0;
        for (size_t j = 1; j < k; j++) {
            bp = p[j] > p[bp] ? j : bp;
            by = y[j] > y[by] ? j : by;
        }
        correct += bp == by;
    }
    return correct;
}

/* Sum over the chunk of the per-row loss; when dz is not NULL it receives
 * dZ of the output layer. */
static double output_loss(const soma_mlp *mlp, workspace *w, const soma_matrix *Y,
                          soma_matrix *dz)
{
    const size_t L = mlp->n_layers, m = Y->rows, k = mlp->sizes[L];
    soma_matrix Z = head(&w->Z[L - 1], m, k), A = head(&w->A[L - 1], m, k);
    if (soma__mlp_fused(mlp))
        return soma__loss_logits_sum(mlp->spec.loss, &Z, Y, NULL, dz);
    double sum = soma__loss_sum(mlp->spec.loss, &A, Y, dz);
    if (dz != NULL)
        soma__activation_backward_rows(mlp->spec.output, mlp->spec.output_alpha, &Z, &A,
                                       dz, dz);
    return sum;
}

/* Backward from dz[0] (the output dZ) into mlp->grads: grads = scale *
 * (this chunk's gradient) (+ grads when accumulate). */
static void backward(soma_mlp *mlp, workspace *w, const soma_matrix *X, double scale,
                     bool accumulate, bool dropout)
{
    const size_t m = X->rows;
    int cur = 0;
    for (size_t l = mlp->n_layers; l-- > 0;) {
        const size_t in_w = mlp->sizes[l], out_w = mlp->sizes[l + 1];
        soma_matrix dZ = head(&w->dz[cur], m, out_w);
        soma_matrix in =
            l == 0 ? *X : head(dropout ? &w->D[l - 1] : &w->A[l - 1], m, in_w);
        soma_matrix dW = soma__mlp_dW(mlp, l), db = soma__mlp_db(mlp, l);
        if (l == 0) {
            soma__dense_grads(&mlp->layers[l], &in, &dZ, scale, accumulate, &dW, &db,
                              NULL);
            break;
        }
        soma_matrix dX = head(&w->dz[1 - cur], m, in_w);
        soma__dense_grads(&mlp->layers[l], &in, &dZ, scale, accumulate, &dW, &db, &dX);
        if (dropout) {
            const double *mk = w->M[l - 1].data;
            for (size_t i = 0; i < m * in_w; i++)
                dX.data[i] *= mk[i];
        }
        soma_matrix Z = head(&w->Z[l - 1], m, in_w), A = head(&w->A[l - 1], m, in_w);
        soma__activation_backward_rows(mlp->spec.hidden, mlp->spec.hidden_alpha, &Z, &A,
                                       &dX, &dX);
        cur = 1 - cur;
    }
}

/* Width of the one-hot rows that integer labels Y (n x 1, values 0..k-1)
 * stand for on a k-output cross-entropy model; 0 when Y holds the targets
 * themselves. */
static size_t onehot_width(const soma_mlp *mlp, const soma_matrix *Y)
{
    const size_t k = mlp->sizes[mlp->n_layers];
    return Y->cols == 1 && k > 1 && mlp->spec.loss == SOMA_LOSS_CE ? k : 0;
}

/* One block of the rows a chunk copies into the workspace: rows [begin,
 * end) of xg (when idx) and of yg (gathered rows of Y when idx, one-hot
 * rows of integer labels when onehot > 0), row i taken from X and Y's row
 * idx[i] (or i when idx is NULL). */
typedef struct gather {
    workspace *w;
    const soma_matrix *X, *Y;
    const size_t *idx; /* the chunk's first index, or NULL */
    size_t start;      /* the chunk's first row, when idx is NULL */
    size_t onehot;
} gather;

static void gather_rows(const void *ctx, size_t begin, size_t end)
{
    const gather *g = ctx;
    const size_t nx = g->X->cols, ny = g->Y->cols, k = g->onehot;
    for (size_t i = begin; i < end; i++) {
        const size_t row = g->idx != NULL ? g->idx[i] : g->start + i;
        if (g->idx != NULL)
            memcpy(g->w->xg.data + i * nx, soma_matrix_at(g->X, row, 0),
                   nx * sizeof(double));
        if (k > 0) {
            double *y = g->w->yg.data + i * k;
            memset(y, 0, k * sizeof(double));
            y[(size_t)*soma_matrix_at(g->Y, row, 0)] = 1.0;
        } else if (g->idx != NULL) {
            memcpy(g->w->yg.data + i * ny, soma_matrix_at(g->Y, row, 0),
                   ny * sizeof(double));
        }
    }
}

/* Rows [start, start + m) of (X, Y), or the rows idx[start..start+m)
 * gathered into the workspace (on the shared pool when they are many). With
 * onehot = k > 0, Y holds integer labels and Yc receives their one-hot rows
 * (k wide) in the workspace. */
static void chunk_rows(workspace *w, const soma_matrix *X, const soma_matrix *Y,
                       size_t onehot, const size_t *idx, size_t start, size_t m,
                       soma_matrix *Xc, soma_matrix *Yc)
{
    if (idx != NULL || onehot > 0) {
        gather g = {w, X, Y, idx != NULL ? idx + start : NULL, start, onehot};
        const size_t y_cols = onehot > 0 ? onehot : idx != NULL ? Y->cols : 0;
        const size_t per_row = (idx != NULL ? X->cols : 0) + y_cols;
        soma__par_for(m, SOMA__GRAIN_COPY / per_row + 1, gather_rows, &g);
    }
    *Xc = idx != NULL ? head(&w->xg, m, X->cols)
                      : soma__view(soma_matrix_at(X, start, 0), m, X->cols, X->ld);
    if (onehot > 0)
        *Yc = head(&w->yg, m, onehot);
    else if (idx != NULL)
        *Yc = head(&w->yg, m, Y->cols);
    else
        *Yc = soma__view(soma_matrix_at(Y, start, 0), m, Y->cols, Y->ld);
}

typedef struct sums {
    double loss, correct, count;
} sums;

/* Gradient of the mean loss over a batch into mlp->grads, chunk by chunk. */
static void batch_gradient(soma_mlp *mlp, workspace *w, const soma_matrix *X,
                           const soma_matrix *Y, size_t onehot, const size_t *idx,
                           size_t start, size_t m, double keep, soma_rng *rng, sums *s)
{
    const double scale = 1.0 / (double)m;
    const size_t k = mlp->sizes[mlp->n_layers];
    for (size_t c0 = 0; c0 < m; c0 += w->cap) {
        const size_t mc = m - c0 < w->cap ? m - c0 : w->cap;
        soma_matrix Xc, Yc;
        chunk_rows(w, X, Y, onehot, idx, start + c0, mc, &Xc, &Yc);
        forward(mlp, w, &Xc, keep, rng);
        soma_matrix dz = head(&w->dz[0], mc, k);
        s->loss += output_loss(mlp, w, &Yc, &dz);
        soma_matrix P = head(&w->A[mlp->n_layers - 1], mc, k);
        s->correct += (double)count_correct(&P, &Yc);
        s->count += (double)mc;
        backward(mlp, w, &Xc, scale, c0 > 0, rng != NULL);
    }
}

/* Loss and correct counts of the model on rows of (X, Y), no dropout. */
static void evaluate_rows(const soma_mlp *mlp, workspace *w, const soma_matrix *X,
                          const soma_matrix *Y, size_t onehot, const size_t *idx,
                          size_t n, sums *s)
{
    const size_t k = mlp->sizes[mlp->n_layers];
    for (size_t c0 = 0; c0 < n; c0 += w->cap) {
        const size_t mc = n - c0 < w->cap ? n - c0 : w->cap;
        soma_matrix Xc, Yc;
        chunk_rows(w, X, Y, onehot, idx, c0, mc, &Xc, &Yc);
        forward(mlp, w, &Xc, 1.0, NULL);
        s->loss += output_loss(mlp, w, &Yc, NULL);
        soma_matrix P = head(&w->A[mlp->n_layers - 1], mc, k);
        s->correct += (double)count_correct(&P, &Yc);
        s->count += (double)mc;
    }
}

/* ------------------------------------------------------------------------ */
/* Gradient post-processing and the optimizer step.                          */

/* The per-step passes over the flat gradient are multiversioned (SOMA_VEC,
 * lib/vmath.h); the sum of squares keeps VM_LANES partial sums in a fixed
 * order, so every clone gives the same bits. */
SOMA_VEC static void fit_l2_axpy(size_t n, double l2, const double *restrict W,
                                 double *restrict g)
{
    for (size_t i = 0; i < n; i++)
        g[i] += l2 * W[i];
}

SOMA_VEC static double fit_sum_squares(size_t n, const double *x)
{
    double s[VM_LANES] = {0};
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES)
        for (size_t k = 0; k < VM_LANES; k++)
            s[k] += x[i + k] * x[i + k];
    for (; i < n; i++)
        s[0] += x[i] * x[i];
    double r = 0.0;
    for (size_t k = 0; k < VM_LANES; k++)
        r += s[k];
    return r;
}

SOMA_VEC static void fit_scale(size_t n, double f, double *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= f;
}

static void add_l2(soma_mlp *mlp, double l2)
{
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t n = mlp->sizes[l] * mlp->sizes[l + 1];
        fit_l2_axpy(n, l2, mlp->params + mlp->offset[l], mlp->grads + mlp->offset[l]);
    }
}

static double sum_sq_weights(const soma_mlp *mlp)
{
    double s = 0.0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t n = mlp->sizes[l] * mlp->sizes[l + 1];
        const double *W = mlp->params + mlp->offset[l];
        for (size_t i = 0; i < n; i++)
            s += W[i] * W[i];
    }
    return s;
}

static void clip_gradient(soma_mlp *mlp, double max_norm)
{
    const double norm = sqrt(fit_sum_squares(mlp->n_params, mlp->grads));
    if (norm > max_norm) /* false for NaN: divergence is caught per epoch */
        fit_scale(mlp->n_params, max_norm / norm, mlp->grads);
}

static bool params_finite(const soma_mlp *mlp)
{
    soma_matrix p = soma__view(mlp->params, 1, mlp->n_params, mlp->n_params);
    return soma_matrix_check_finite(&p) == SOMA_OK;
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
    if (onehot > 0) {
        size_t top;
        return soma__labels_scan(Y, yname, k, " (one per output of the model)", &top,
                                 err);
    }
    SOMA_TRY(soma__check_finite_arg(Y, yname, err));
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
    soma_optim opt;            /* fresh optimizer state, until fit_commit */
    bool fresh_opt;            /* opt holds state not yet installed */
    bool stop_requested;       /* the batch callback asked to stop */
} fit_state;

/* One epoch of training; fills s (training sums) and v (validation sums). */
/* Report a finished batch to the batch callback; true when it asks to stop. */
static bool report_batch(const fit_state *f, size_t epoch, size_t batch, size_t rows_done,
                         const sums *s)
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

static soma_status run_epoch(fit_state *f, size_t epoch, double lr, sums *s, sums *v)
{
    soma_mlp *mlp = f->mlp;
    const soma_fit_options *o = f->o;
    size_t *order = (size_t *)f->train_idx;
    if (o->shuffle && f->batch < f->n_train)
        soma__rng_shuffle(&f->rng, order, f->n_train);
    const double keep = 1.0 - o->dropout;
    for (size_t b0 = 0; b0 < f->n_train; b0 += f->batch) {
        const size_t m = f->n_train - b0 < f->batch ? f->n_train - b0 : f->batch;
        batch_gradient(mlp, &f->w, f->X, f->Y, f->y_onehot, order, b0, m, keep,
                       f->dropout ? &f->rng : NULL, s);
        if (o->reduce.grads != NULL)
            SOMA_TRY(o->reduce.grads(o->reduce.user, mlp->grads, mlp->n_params, m));
        if (o->l2 > 0.0)
            add_l2(mlp, o->l2);
        if (o->clip_norm > 0.0)
            clip_gradient(mlp, o->clip_norm);
        SOMA_TRY(soma_optim_step(&mlp->opt, lr, mlp->params, mlp->grads));
        if (o->batch_callback != NULL &&
            report_batch(f, epoch, b0 / f->batch, b0 + m, s)) {
            f->stop_requested = true;
            break;
        }
    }
    if (f->has_val)
        evaluate_rows(mlp, &f->w, f->Xv, f->Yv, f->v_onehot, f->val_idx, f->n_val, v);
    if (o->reduce.metrics != NULL) {
        double vals[6] = {s->loss, s->correct, s->count, v->loss, v->correct, v->count};
        SOMA_TRY(o->reduce.metrics(o->reduce.user, vals, 6));
        *s = (sums){vals[0], vals[1], vals[2]};
        *v = (sums){vals[3], vals[4], vals[5]};
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
        soma_optim_free(&f->opt);
    soma_history_free(h);
    ws_free(f->mlp, &f->w);
}

/* Checks and allocations of fit; changes nothing in the model (a fresh
 * optimizer state waits in f->opt until fit_commit). */
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
    ws_plan p = {.cap = cap,
                 .train = true,
                 .dropout = f->dropout,
                 .gather = indexed,
                 .onehot = f->y_onehot > 0 || f->v_onehot > 0,
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
        st = soma_optim_init(&f->opt, &o->optimizer, mlp->n_params, &mlp->alloc);
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
    return SOMA_OK;
}

/* The point of no return: install the fresh optimizer state, if any. */
static void fit_commit(fit_state *f)
{
    soma_mlp *mlp = f->mlp;
    if (!f->fresh_opt)
        return;
    soma_optim_free(&mlp->opt);
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
    const size_t P = mlp->n_params;
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
        memcpy(f.w.snapshot[e % 2], mlp->params, P * sizeof(double));
        sums s = {0, 0, 0}, v = {0, 0, 0};
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
            !isfinite(monitored) || !isfinite(st.loss) || !params_finite(mlp);
        st.seconds = seconds_since(&t0);
        if (history != NULL)
            h.epochs[run] = st;
        run++;
        if (diverged) {
            /* Back to the last parameters a finite loss was measured at: the
             * start of this epoch when its training loss was finite (only the
             * update broke), else the start of the previous one. */
            const double *good = f.w.snapshot[e % 2];
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
            memcpy(mlp->params, good, P * sizeof(double));
            soma__ignore(soma_optim_reset(&mlp->opt));
            stop = SOMA_STOP_DIVERGED;
            status = SOMA_ENONFINITE;
            break;
        }
        if (monitored < best - options->min_delta) {
            best = monitored;
            best_index = run - 1;
            wait = 0;
            if (f.w.best != NULL)
                memcpy(f.w.best, mlp->params, P * sizeof(double));
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
        memcpy(mlp->params, f.w.best, P * sizeof(double));
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

soma_status soma_mlp_gradient(soma_mlp *mlp, const soma_matrix *X, const soma_matrix *Y,
                              double l2, double *objective, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE(nonneg_finite(l2), err, SOMA_EINVAL, "l2",
                 "l2 is %g: it must be finite and >= 0", l2);
    SOMA_TRY(check_data(mlp, X, "X", Y, "Y", err));
    const size_t n = X->rows, onehot = onehot_width(mlp, Y);
    ws_plan p = {.cap = n < SOMA_MLP_CHUNK ? n : SOMA_MLP_CHUNK,
                 .train = true,
                 .onehot = onehot > 0};
    workspace w;
    SOMA_TRY(ws_create(mlp, &p, &w, err));
    sums s = {0, 0, 0};
    batch_gradient(mlp, &w, X, Y, onehot, NULL, 0, n, 1.0, NULL, &s);
    ws_free(mlp, &w);
    double J = s.loss / (double)n;
    if (l2 > 0.0) {
        J += 0.5 * l2 * sum_sq_weights(mlp);
        add_l2(mlp, l2);
    }
    if (objective != NULL)
        *objective = J;
    return SOMA_OK;
}

/* Inference over X chunk by chunk; each chunk's outputs go to `sink`. */
typedef enum sink_kind { SINK_PROBA, SINK_LABELS } sink_kind;

/* Inference over X chunk by chunk in the workspace w (no allocation). */
static void infer_into(const soma_mlp *mlp, workspace *w, const soma_matrix *X,
                       soma_matrix *out, sink_kind kind)
{
    const size_t n = X->rows, k = mlp->sizes[mlp->n_layers];
    for (size_t c0 = 0; c0 < n; c0 += w->cap) {
        const size_t mc = n - c0 < w->cap ? n - c0 : w->cap;
        soma_matrix Xc = soma__view(soma_matrix_at(X, c0, 0), mc, X->cols, X->ld);
        forward(mlp, w, &Xc, 1.0, NULL);
        const soma_matrix P = head(&w->A[mlp->n_layers - 1], mc, k);
        for (size_t i = 0; i < mc; i++) {
            const double *pr = soma_matrix_at(&P, i, 0);
            double *o = soma_matrix_at(out, c0 + i, 0);
            if (kind == SINK_PROBA) {
                memcpy(o, pr, k * sizeof(double));
            } else if (k == 1) {
                o[0] = pr[0] > 0.5 ? 1.0 : 0.0;
            } else {
                size_t best = 0;
                for (size_t j = 1; j < k; j++)
                    best = pr[j] > pr[best] ? j : best;
                o[0] = (double)best;
            }
        }
    }
}

static soma_status infer(const soma_mlp *mlp, const soma_matrix *X, soma_matrix *out,
                         sink_kind kind, soma_error_info *err)
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
    return infer(mlp, X, P, SINK_PROBA, err);
}

soma_status soma_mlp_predict(const soma_mlp *mlp, const soma_matrix *X,
                             soma_matrix *labels, soma_error_info *err)
{
    SOMA_TRY(check_predict(mlp, X, labels, "labels", 1, err));
    SOMA_REQUIRE(mlp->spec.loss != SOMA_LOSS_MSE, err, SOMA_ENOTSUP, "mlp",
                 "a regression (MSE) model predicts values, not classes: use "
                 "soma_mlp_predict_proba");
    return infer(mlp, X, labels, SINK_LABELS, err);
}

soma_status soma_mlp_evaluate(const soma_mlp *mlp, const soma_matrix *X,
                              const soma_matrix *Y, double *loss, double *accuracy,
                              soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(check_data(mlp, X, "X", Y, "Y", err));
    const size_t n = X->rows, onehot = onehot_width(mlp, Y);
    ws_plan p = {.cap = n < SOMA_MLP_CHUNK ? n : SOMA_MLP_CHUNK, .onehot = onehot > 0};
    workspace w;
    SOMA_TRY(ws_create(mlp, &p, &w, err));
    sums s = {0, 0, 0};
    evaluate_rows(mlp, &w, X, Y, onehot, NULL, n, &s);
    ws_free(mlp, &w);
    if (loss != NULL)
        *loss = s.loss / s.count;
    if (accuracy != NULL)
        *accuracy = mlp->spec.loss == SOMA_LOSS_MSE ? NAN : s.correct / s.count;
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
    infer_into(mlp, &pr->w, X, P, SINK_PROBA);
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
    infer_into(mlp, &pr->w, X, labels, SINK_LABELS);
    return SOMA_OK;
}
