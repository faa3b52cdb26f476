/* Rosenblatt's perceptron, the walkthrough's training loop (perceptron.h). */
#include <math.h>
#include <string.h>

#include "perceptron_internal.h"
#include "labels.h"

soma_perceptron_options soma_perceptron_defaults(void)
{
    soma_perceptron_options o = {
        .learning_rate = 0.01,
        .max_epochs = 1000,
        .init_sd = 0.01,
        .shuffle = false,
        .average = false,
    };
    return o;
}

static soma_status check_options(const soma_perceptron_options *o, soma_error_info *err)
{
    SOMA_REQUIRE(isfinite(o->learning_rate) && o->learning_rate > 0.0, err, SOMA_EINVAL,
                 "opt.learning_rate",
                 "opt.learning_rate is %g: it must be finite and > 0", o->learning_rate);
    SOMA_REQUIRE(o->max_epochs >= 1, err, SOMA_EINVAL, "opt.max_epochs",
                 "opt.max_epochs is 0: run at least one epoch");
    SOMA_REQUIRE(isfinite(o->init_sd) && o->init_sd >= 0.0, err, SOMA_EINVAL,
                 "opt.init_sd", "opt.init_sd is %g: it must be finite and >= 0",
                 o->init_sd);
    return SOMA_OK;
}

soma_status soma_perceptron_create(soma_perceptron **out,
                                   const soma_perceptron_options *opt,
                                   const soma_allocator *alloc, soma_error_info *err)
{
    soma_perceptron_options o = opt != NULL ? *opt : soma_perceptron_defaults();
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    SOMA_TRY(check_options(&o, err));
    soma_allocator a = soma__allocator_resolve(alloc);
    soma_perceptron *p = soma__calloc(&a, sizeof *p);
    if (p == NULL)
        return soma__fail_nomem(err, sizeof *p, "the perceptron");
    p->alloc = a;
    p->opt = o;
    *out = p;
    return SOMA_OK;
}

static void release_fit(soma_perceptron *p)
{
    soma__free(&p->alloc, p->w, p->d * sizeof(double));
    soma__free(&p->alloc, p->hist, p->hist_cap * sizeof(soma_perceptron_epoch));
}

void soma_perceptron_destroy(soma_perceptron *p)
{
    if (p == NULL)
        return;
    release_fit(p);
    soma_allocator a = p->alloc;
    soma__free(&a, p, sizeof *p);
}

/* Buffers of one fit, built aside and committed on success. */
typedef struct fit_state {
    const soma_allocator *alloc;
    double *w, *wsum;
    size_t *idx;
    soma_perceptron_epoch *hist;
    size_t d, n, hist_len, hist_cap;
} fit_state;

static void fit_state_free(fit_state *s)
{
    soma__free(s->alloc, s->w, s->d * sizeof(double));
    soma__free(s->alloc, s->wsum, s->d * sizeof(double));
    soma__free(s->alloc, s->idx, s->n * sizeof(size_t));
    soma__free(s->alloc, s->hist, s->hist_cap * sizeof(soma_perceptron_epoch));
}

/* Append one epoch, doubling the history (between epochs) when full. */
static soma_status history_push(fit_state *s, size_t max_epochs,
                                const soma_perceptron_epoch *e)
{
    if (s->hist_len == s->hist_cap) {
        size_t cap = s->hist_cap * 2;
        if (cap > max_epochs || cap < s->hist_cap)
            cap = max_epochs;
        size_t bytes;
        if (!soma__mul(cap, sizeof *e, &bytes))
            return SOMA_EOVERFLOW;
        soma_perceptron_epoch *h = soma__alloc(s->alloc, bytes);
        if (h == NULL)
            return SOMA_ENOMEM;
        memcpy(h, s->hist, s->hist_len * sizeof *e);
        soma__free(s->alloc, s->hist, s->hist_cap * sizeof *e);
        s->hist = h;
        s->hist_cap = cap;
    }
    s->hist[s->hist_len++] = *e;
    return SOMA_OK;
}

static soma_status fit_args(const soma_perceptron *p, const soma_matrix *X,
                            const soma_matrix *y, const soma_rng *rng,
                            soma_error_info *err)
{
    SOMA_REQUIRE_PTR(p, err, "p");
    SOMA_REQUIRE_PTR(rng, err, "rng");
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    SOMA_TRY(soma__check_matrix_arg(y, "y", err));
    SOMA_REQUIRE(X->rows >= 1 && X->cols >= 1, err, SOMA_EINVAL, "X",
                 "X is %zu x %zu: the perceptron needs at least one row and one feature",
                 X->rows, X->cols);
    SOMA_REQUIRE(y->rows == X->rows, err, SOMA_EDIM, "y", "y has %zu rows but X has %zu",
                 y->rows, X->rows);
    SOMA_TRY(soma__check_finite_arg(X, "X", err));
    size_t k;
    return soma__labels_scan(
        y, "y", 2,
        ": the perceptron is a binary classifier (labels 0 and 1); for "
        "more classes use soma_mlp",
        &k, err);
}

soma_status soma_perceptron_fit(soma_perceptron *p, const soma_matrix *X,
                                const soma_matrix *y, soma_rng *rng, soma_error_info *err)
{
    SOMA_TRY(fit_args(p, X, y, rng, err));
    const soma_perceptron_options opt = p->opt, *o = &opt;
    const size_t n = X->rows, d = X->cols;
    const double lr = o->learning_rate;
    fit_state s = {.alloc = &p->alloc, .d = d, .n = o->shuffle ? n : 0};
    soma_status st = SOMA_OK;
    size_t wbytes, ibytes, hbytes;
    double b = 0.0, bsum = 0.0;
    bool converged = false;
    size_t epoch = 0;
    s.hist_cap = o->max_epochs < 64 ? o->max_epochs : 64;
    if (!soma__doubles_bytes(d, &wbytes) || !soma__mul(s.n, sizeof(size_t), &ibytes) ||
        !soma__mul(s.hist_cap, sizeof(soma_perceptron_epoch), &hbytes))
        return soma__fail(err, SOMA_EOVERFLOW, "X", "X is too large: %zu x %zu", n, d);
    s.w = soma__alloc(s.alloc, wbytes);
    s.hist = soma__alloc(s.alloc, hbytes);
    if (o->average)
        s.wsum = soma__calloc(s.alloc, wbytes);
    if (o->shuffle)
        s.idx = soma__alloc(s.alloc, ibytes);
    if (s.w == NULL || s.hist == NULL || (o->average && s.wsum == NULL) ||
        (o->shuffle && s.idx == NULL)) {
        st = SOMA_ENOMEM;
        goto cleanup;
    }

    /* The walkthrough: w ~ N(0, 0.01^2) (np.random.normal(0, 0.01, d)), b = 0. */
    st = soma_rng_normal(rng, d, 0.0, o->init_sd, s.w);
    if (st != SOMA_OK)
        goto cleanup;
    for (; epoch < o->max_epochs; epoch++) {
        if (o->shuffle) {
            for (size_t i = 0; i < n; i++)
                s.idx[i] = i;
            soma__rng_shuffle(rng, s.idx, n);
        }
        size_t errors = 0;
        double loss = 0.0;
        for (size_t t = 0; t < n; t++) {
            size_t i = o->shuffle ? s.idx[t] : t;
            const double *x = soma_matrix_at(X, i, 0);
            double z = 0.0;
            for (size_t j = 0; j < d; j++)
                z += x[j] * s.w[j];
            z += b;
            double pred = z >= 0.0 ? 1.0 : 0.0;
            double miss = *soma_matrix_at(y, i, 0) - pred;
            loss += miss * miss;
            if (miss != 0.0) {
                double step = lr * miss;
                for (size_t j = 0; j < d; j++)
                    s.w[j] += step * x[j];
                b += step;
                errors++;
            }
            if (o->average) {
                for (size_t j = 0; j < d; j++)
                    s.wsum[j] += s.w[j];
                bsum += b;
            }
        }
        soma_perceptron_epoch e = {
            .epoch = epoch,
            .errors = errors,
            .accuracy = 1.0 - (double)errors / (double)n,
            .loss = loss / (double)n,
        };
        st = history_push(&s, o->max_epochs, &e);
        if (st != SOMA_OK)
            goto cleanup;
        if (errors == 0) {
            converged = true;
            break;
        }
    }
    if (o->average) {
        /* Mean over every step: (epochs run) x n sample visits. */
        double steps = (double)s.hist_len * (double)n;
        for (size_t j = 0; j < d; j++)
            s.w[j] = s.wsum[j] / steps;
        b = bsum / steps;
    }

    release_fit(p);
    p->d = d;
    p->w = s.w;
    p->b = b;
    p->hist = s.hist;
    p->hist_len = s.hist_len;
    p->hist_cap = s.hist_cap;
    p->converged = converged;
    p->converged_epoch = converged ? epoch : 0;
    p->fitted = true;
    s.w = NULL;
    s.hist = NULL;
cleanup:
    fit_state_free(&s);
    if (st != SOMA_OK)
        return soma__fail(err, st, "", "%s during the fit (%zu x %zu data)",
                          st == SOMA_ENOMEM ? "out of memory" : soma_status_string(st), n,
                          d);
    return st;
}

/* out(i) = X(i,:) . w + b, stepped when `step`. */
/* SOMA_ESTATE unless p has been fitted. */
static soma_status check_fitted(const soma_perceptron *p, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(p, err, "p");
    SOMA_REQUIRE(p->fitted, err, SOMA_ESTATE, "p",
                 "the perceptron has not been fitted: call soma_perceptron_fit first");
    return SOMA_OK;
}

static soma_status apply(const soma_perceptron *p, const soma_matrix *X, soma_matrix *out,
                         bool step, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(p, err, "p");
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    SOMA_TRY(soma__check_matrix_arg(out, "out", err));
    SOMA_TRY(check_fitted(p, err));
    SOMA_REQUIRE(X->cols == p->d, err, SOMA_EDIM, "X",
                 "X has %zu columns but the perceptron was fitted on %zu features",
                 X->cols, p->d);
    SOMA_TRY(soma__check_shape_arg(out, "out", X->rows, 1, err));
    SOMA_TRY(soma__check_disjoint_arg(out, "out", X, "X", err));
    for (size_t i = 0; i < X->rows; i++) {
        const double *x = soma_matrix_at(X, i, 0);
        double z = 0.0;
        for (size_t j = 0; j < p->d; j++)
            z += x[j] * p->w[j];
        z += p->b;
        *soma_matrix_at(out, i, 0) = step ? (z >= 0.0 ? 1.0 : 0.0) : z;
    }
    return SOMA_OK;
}

soma_status soma_perceptron_predict(const soma_perceptron *p, const soma_matrix *X,
                                    soma_matrix *out, soma_error_info *err)
{
    return apply(p, X, out, true, err);
}

soma_status soma_perceptron_decision_function(const soma_perceptron *p,
                                              const soma_matrix *X, soma_matrix *out,
                                              soma_error_info *err)
{
    return apply(p, X, out, false, err);
}

soma_status soma_perceptron_get_weights(const soma_perceptron *p, soma_matrix *w,
                                        double *bias, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(p, err, "p");
    SOMA_REQUIRE(w != NULL || bias != NULL, err, SOMA_EINVAL, "w",
                 "w and bias are both NULL: ask for at least one");
    if (w != NULL)
        SOMA_TRY(soma__check_matrix_arg(w, "w", err));
    SOMA_TRY(check_fitted(p, err));
    if (w != NULL) {
        SOMA_TRY(soma__check_shape_arg(w, "w", 1, p->d, err));
        memcpy(w->data, p->w, p->d * sizeof(double));
    }
    if (bias != NULL)
        *bias = p->b;
    return SOMA_OK;
}

soma_status soma_perceptron_n_features(const soma_perceptron *p, size_t *d,
                                       soma_error_info *err)
{
    SOMA_REQUIRE_PTR(d, err, "d");
    SOMA_TRY(check_fitted(p, err));
    *d = p->d;
    return SOMA_OK;
}

soma_status soma_perceptron_history(const soma_perceptron *p,
                                    const soma_perceptron_epoch **epochs, size_t *count,
                                    soma_error_info *err)
{
    SOMA_REQUIRE_PTR(epochs, err, "epochs");
    SOMA_REQUIRE_PTR(count, err, "count");
    SOMA_TRY(check_fitted(p, err));
    *epochs = p->hist;
    *count = p->hist_len;
    return SOMA_OK;
}

soma_status soma_perceptron_converged(const soma_perceptron *p, bool *converged,
                                      size_t *epoch, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(converged, err, "converged");
    SOMA_TRY(check_fitted(p, err));
    *converged = p->converged;
    if (epoch != NULL)
        *epoch = p->converged_epoch;
    return SOMA_OK;
}
