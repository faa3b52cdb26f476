/* Tests of libsoma-mpi, run under mpirun with any number of ranks (meson
 * registers 1 to 4). A plain C program: Check forks, which MPI forbids.
 * Every rank runs every case; a failed CHECK is reported with the rank, and
 * the exit status (agreed over the ranks) is 1 if any rank failed.
 *
 * Equivalence: R ranks with local batch b against one soma_mlp_fit on the
 * global data with batch R b, the rows ordered as the union of the ranks'
 * batches. The two compute the same sums in different orders: each
 * gradient entry differs by a few ulps (relative ~1e-16 x the number of
 * terms' condition), and N = 15 steps of lr ~0.1 carry that into the
 * parameters with no amplification worth counting for these small, smooth
 * problems, so differences stay near 1e-15 relative. 1e-12 leaves three
 * orders of margin, while every plausible bug (an unweighted average with
 * uneven batches, a missed step, a wrong scale, stale parameters on one
 * rank) moves the parameters by 1e-4 or more.
 *
 * The same cases run with float32 models, whose gradients are reduced with
 * MPI_FLOAT. The sums differ in order as above, now with float's unit
 * roundoff u = 2^-24 = 6e-8: each gradient entry by at most ~(4 R + 2) u
 * relative to the sum of its terms' magnitudes (the 4 R rows of a step
 * summed in two different orders, then the row weighting and the R-term
 * MPI sum), i.e. <= 20 u for R <= 4 on these well-conditioned problems;
 * each update also rounds the parameters (u). Over the 15 steps with lr <=
 * 0.3 that is 15 (0.3 x 20 + 1) u ~ 100 u = 6e-6 relative, without
 * amplification; the bound is 1e-4 (~1700 u), and the losses likewise
 * (measured on 2 to 4 ranks: 1.0e-7 to 1.5e-7).
 * The same bugs still miss it by orders of magnitude. The parameters and
 * histories agree across ranks bit for bit in both precisions. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <soma.h>
#include <soma/mpi.h>

static int g_rank, g_size;
static int g_checks, g_failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        g_checks++;                                                                      \
        if (!(cond)) {                                                                   \
            g_failures++;                                                                \
            fprintf(stderr, "rank %d/%d: %s:%d: CHECK(%s) failed\n", g_rank, g_size,     \
                    __FILE__, __LINE__, #cond);                                          \
        }                                                                                \
    } while (0)

#define CHECK_ST(expr, want)                                                             \
    do {                                                                                 \
        soma_status st_ = (expr);                                                        \
        g_checks++;                                                                      \
        if (st_ != (want)) {                                                             \
            g_failures++;                                                                \
            fprintf(stderr, "rank %d/%d: %s:%d: %s returned %s, expected %s\n", g_rank,  \
                    g_size, __FILE__, __LINE__, #expr, soma_status_string(st_),          \
                    soma_status_string(want));                                           \
        }                                                                                \
    } while (0)

/* Abort the whole job on a setup failure that makes the rest meaningless. */
#define REQUIRE_OK(expr)                                                                 \
    do {                                                                                 \
        soma_status st_ = (expr);                                                        \
        if (st_ != SOMA_OK) {                                                            \
            fprintf(stderr, "rank %d: %s:%d: %s: %s\n", g_rank, __FILE__, __LINE__,      \
                    #expr, soma_status_string(st_));                                     \
            MPI_Abort(MPI_COMM_WORLD, 2);                                                \
        }                                                                                \
    } while (0)

/* ---- helpers ------------------------------------------------------------ */

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* True when v is the same on every rank. */
static bool same_on_all(uint64_t v)
{
    uint64_t lo = v, hi = v;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

/* The parameters of a model of either precision (exact doubles), in a new
 * 1 x n_params matrix. */
static soma_matrix params_copy(const soma_mlp *m)
{
    soma_matrix p;
    REQUIRE_OK(soma_matrix_init(&p, 1, soma_mlp_n_params(m), NULL));
    REQUIRE_OK(soma_mlp_get_params(m, &p, NULL));
    return p;
}

static uint64_t params_hash(soma_mlp *m)
{
    soma_matrix p = params_copy(m);
    const uint64_t h = fnv(p.data, p.cols * sizeof(double));
    soma_matrix_free(&p);
    return h;
}

/* The precision of the models make_model creates (double unless a case
 * runs in float32). */
static soma_precision g_precision = SOMA_PRECISION_F64;

static soma_mlp *make_model(const size_t *sizes, size_t n, soma_activation hidden,
                            soma_activation out, soma_loss loss, uint64_t seed)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = hidden;
    spec.output = out;
    spec.loss = loss;
    spec.seed = seed;
    spec.precision = g_precision;
    soma_mlp *m = NULL;
    REQUIRE_OK(soma_mlp_create(&m, sizes, n, &spec, NULL, NULL));
    return m;
}

/* n x d uniform in [-1, 1), and one-hot targets of k classes from a
 * random linear rule: the same on every rank. */
static void make_data(soma_matrix *X, soma_matrix *Y, size_t n, size_t d, size_t k,
                      uint64_t seed)
{
    soma_rng r;
    REQUIRE_OK(soma_rng_seed(&r, seed));
    REQUIRE_OK(soma_matrix_init(X, n, d, NULL));
    REQUIRE_OK(soma_matrix_init(Y, n, k, NULL));
    if (n > 0)
        REQUIRE_OK(soma_rng_uniform_range(&r, n * d, -1.0, 1.0, X->data));
    double w[64];
    REQUIRE_OK(soma_rng_normal(&r, d * k, 0.0, 1.0, w));
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double bv = -INFINITY;
        for (size_t c = 0; c < k; c++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++)
                s += X->data[i * d + j] * w[j * k + c];
            if (s > bv) {
                bv = s;
                best = c;
            }
        }
        Y->data[i * k + best] = 1.0;
    }
}

/* dst = the rows idx[0..n) of src. */
static void gather_rows(const soma_matrix *src, const size_t *idx, size_t n,
                        soma_matrix *dst)
{
    REQUIRE_OK(soma_matrix_init(dst, n, src->cols, NULL));
    for (size_t i = 0; i < n; i++)
        memcpy(soma_matrix_at(dst, i, 0), soma_matrix_at(src, idx[i], 0),
               src->cols * sizeof(double));
}

/* The global row order that one process with batch R b must see: for each
 * step k, for each rank r in order, rank r's rows of that step. Returns the
 * number of rows (n). */
static size_t reference_order(size_t n, soma_mpi_layout layout, size_t b, size_t *idx)
{
    size_t out = 0;
    for (size_t k = 0; out < n; k++) {
        for (int r = 0; r < g_size; r++) {
            size_t first, count, stride;
            REQUIRE_OK(
                soma_mpi_shard(n, r, g_size, layout, false, &first, &count, &stride));
            for (size_t j = k * b; j < count && j < (k + 1) * b; j++)
                idx[out++] = first + j * stride;
        }
    }
    return out;
}

static double rel_diff(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return den > 0.0 ? num / den : num;
}

static double rel1(double a, double b)
{
    if (isnan(a) && isnan(b))
        return 0.0;
    return fabs(a - b) / fmax(fabs(b), 1e-300);
}

/* ---- equivalence ----------------------------------------------------------- */

typedef struct equiv_case {
    const char *name;
    soma_mpi_layout layout;
    soma_optimizer optimizer;
    double lr, l2, clip;
    bool validate, early;
    bool weighted; /* sample weights, class weights, validation weights */
} equiv_case;

/* Row weights of n rows: 0.5, 1.5, 2.5, 0.5, ... (row i of the global data
 * set, so that a shard's rows keep their weights). */
static void make_weights(soma_matrix *w, size_t n)
{
    REQUIRE_OK(soma_matrix_init(w, n, 1, NULL));
    for (size_t i = 0; i < n; i++)
        w->data[i] = 0.5 + (double)(i % 3);
}

/* Largest relative difference seen per precision, for the log. */
static double g_worst_rel[SOMA_PRECISION_COUNT];

static void equivalence(soma_mpi_context *ctx, const equiv_case *c)
{
    /* Local batch 4; every rank holds 9 or 10 rows (R - 1 ranks get the
     * extra row when R > 1), so every rank takes 3 steps per epoch and the
     * last step's batches differ in size: the row weighting matters. */
    const size_t b = 4, extra = g_size > 1 ? (size_t)g_size - 1 : 0;
    const size_t n = 9 * (size_t)g_size + extra, nv = 7 * (size_t)g_size + 1;
    const size_t sizes[4] = {5, 7, 6, 3};
    soma_matrix X, Y, Xv, Yv, Xl, Yl, Xvl, Yvl, Xr, Yr, W, Wv, Wl, Wvl, Wr;
    make_data(&X, &Y, n, 5, 3, 100);
    make_data(&Xv, &Yv, nv, 5, 3, 101);
    make_weights(&W, n);
    make_weights(&Wv, nv);
    REQUIRE_OK(soma_mpi_shard_rows(&Xl, &X, g_rank, g_size, c->layout, false));
    REQUIRE_OK(soma_mpi_shard_rows(&Yl, &Y, g_rank, g_size, c->layout, false));
    REQUIRE_OK(soma_mpi_shard_rows(&Wl, &W, g_rank, g_size, c->layout, false));
    REQUIRE_OK(soma_mpi_shard_rows(&Xvl, &Xv, g_rank, g_size, SOMA_MPI_STRIDED, false));
    REQUIRE_OK(soma_mpi_shard_rows(&Yvl, &Yv, g_rank, g_size, SOMA_MPI_STRIDED, false));
    REQUIRE_OK(soma_mpi_shard_rows(&Wvl, &Wv, g_rank, g_size, SOMA_MPI_STRIDED, false));
    size_t *idx = malloc(n * sizeof *idx);
    CHECK(idx != NULL && reference_order(n, c->layout, b, idx) == n);
    gather_rows(&X, idx, n, &Xr);
    gather_rows(&Y, idx, n, &Yr);
    gather_rows(&W, idx, n, &Wr);
    free(idx);
    static const double class_weight[3] = {1.0, 2.0, 0.5};

    soma_fit_options o = soma_fit_options_default();
    o.epochs = 5;
    o.batch_size = b;
    o.shuffle = false;
    o.optimizer = soma_optim_config_default(c->optimizer);
    o.learning_rate = c->lr;
    o.l2 = c->l2;
    o.clip_norm = c->clip;
    o.early_stopping = c->early;
    o.patience = 2;
    o.restore_best = true;
    if (c->validate) {
        o.X_val = &Xvl;
        o.Y_val = &Yvl;
    }
    if (c->weighted) {
        o.sample_weight = &Wl;
        o.class_weight = class_weight;
        o.sample_weight_val = c->validate ? &Wvl : NULL;
    }
    /* Rank r starts from its own initial weights: the broadcast must make
     * rank 0's the starting point of all. */
    soma_mlp *dist = make_model(sizes, 4, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SOFTMAX,
                                SOMA_LOSS_CE, 7 + (uint64_t)g_rank);
    soma_mlp *ref = make_model(sizes, 4, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SOFTMAX,
                               SOMA_LOSS_CE, 7);
    soma_history hd, hr;
    CHECK_ST(soma_mpi_fit(ctx, dist, &Xl, &Yl, &o, &hd), SOMA_OK);
    o.batch_size = b * (size_t)g_size;
    if (c->validate) {
        o.X_val = &Xv;
        o.Y_val = &Yv;
    }
    if (c->weighted) {
        o.sample_weight = &Wr;
        o.sample_weight_val = c->validate ? &Wv : NULL;
    }
    CHECK_ST(soma_mlp_fit(ref, &Xr, &Yr, &o, &hr, NULL), SOMA_OK);

    /* The bounds of the file comment: 1e-12 in double, 1e-4 in float. */
    const bool f32 = g_precision == SOMA_PRECISION_F32;
    const double bound = f32 ? 1e-4 : 1e-12;
    soma_matrix pd = params_copy(dist), pr = params_copy(ref);
    const double rel = rel_diff(pd.data, pr.data, pd.cols);
    soma_matrix_free(&pd);
    soma_matrix_free(&pr);
    g_worst_rel[g_precision] = fmax(g_worst_rel[g_precision], rel);
    if (!(rel <= bound))
        fprintf(stderr, "rank %d: %s (%s): relative parameter difference %.3g\n", g_rank,
                c->name, soma_precision_name(g_precision), rel);
    CHECK(rel <= bound);
    CHECK(same_on_all(params_hash(dist)));
    /* The history is the global one. */
    CHECK(hd.n_epochs == hr.n_epochs);
    CHECK(hd.stop == hr.stop);
    CHECK(hd.best_epoch == hr.best_epoch);
    CHECK(hd.restored == hr.restored);
    for (size_t e = 0; e < hd.n_epochs && e < hr.n_epochs; e++) {
        CHECK(rel1(hd.epochs[e].loss, hr.epochs[e].loss) <= bound);
        CHECK(hd.epochs[e].accuracy == hr.epochs[e].accuracy);
        CHECK(rel1(hd.epochs[e].val_loss, hr.epochs[e].val_loss) <= bound);
        CHECK(c->validate ? hd.epochs[e].val_accuracy == hr.epochs[e].val_accuracy
                          : isnan(hd.epochs[e].val_accuracy));
        CHECK(same_on_all(fnv(&hd.epochs[e].loss, sizeof(double))));
    }
    soma_history_free(&hd);
    soma_history_free(&hr);
    soma_mlp_destroy(dist);
    soma_mlp_destroy(ref);
    soma_matrix *all[] = {&X, &Y, &Xv, &Yv, &Xr, &Yr, &W, &Wv, &Wr};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
}

static void test_equivalence(soma_mpi_context *ctx)
{
    static const equiv_case cases[] = {
        {"strided sgd", SOMA_MPI_STRIDED, SOMA_OPTIMIZER_SGD, 0.3, 0.0, 0.0, false, false,
         false},
        {"contiguous momentum l2 validation", SOMA_MPI_CONTIGUOUS,
         SOMA_OPTIMIZER_MOMENTUM, 0.1, 1e-3, 0.0, true, false, false},
        {"strided adam clip", SOMA_MPI_STRIDED, SOMA_OPTIMIZER_ADAM, 0.01, 0.0, 0.5,
         false, false, false},
        {"contiguous nesterov early stopping", SOMA_MPI_CONTIGUOUS,
         SOMA_OPTIMIZER_NESTEROV, 0.2, 0.0, 0.0, true, true, false},
        {"strided adam sample and class weights", SOMA_MPI_STRIDED, SOMA_OPTIMIZER_ADAM,
         0.01, 0.0, 0.0, false, false, true},
        {"contiguous sgd weights validation", SOMA_MPI_CONTIGUOUS, SOMA_OPTIMIZER_SGD,
         0.3, 1e-3, 0.0, true, false, true},
    };
    for (int prec = 0; prec < SOMA_PRECISION_COUNT; prec++) {
        g_precision = (soma_precision)prec;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            equivalence(ctx, &cases[i]);
    }
    g_precision = SOMA_PRECISION_F64;
}

/* ---- stats, and a second fit on the same context --------------------------- */

static void test_stats(soma_mpi_context *ctx)
{
    const size_t sizes[3] = {4, 5, 1};
    soma_matrix X, Y, Xl, Yl;
    make_data(&X, &Y, 12 * (size_t)g_size, 4, 1, 5);
    for (size_t i = 0; i < Y.rows; i++)
        Y.data[i] = X.data[4 * i] > 0.0; /* one column: a 0/1 target */
    REQUIRE_OK(soma_mpi_shard_rows(&Xl, &X, g_rank, g_size, SOMA_MPI_CONTIGUOUS, true));
    REQUIRE_OK(soma_mpi_shard_rows(&Yl, &Y, g_rank, g_size, SOMA_MPI_CONTIGUOUS, true));
    soma_mlp *m = make_model(sizes, 3, SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_SIGMOID,
                             SOMA_LOSS_BCE, 1);
    soma_mpi_stats before, after;
    REQUIRE_OK(soma_mpi_context_stats(ctx, &before));
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 4;
    o.batch_size = 5;          /* 12 local rows: 3 steps */
    o.seed = (uint64_t)g_rank; /* seeds may differ */
    CHECK_ST(soma_mpi_fit(ctx, m, &Xl, &Yl, &o, NULL), SOMA_OK);
    REQUIRE_OK(soma_mpi_context_stats(ctx, &after));
    CHECK(after.grad_calls - before.grad_calls == 12);
    CHECK(after.metric_calls - before.metric_calls == 4);
    /* 8 bytes per parameter and step; 4 for a float model (MPI_FLOAT). */
    const double value = g_precision == SOMA_PRECISION_F32 ? 4.0 : 8.0;
    CHECK(after.bytes_reduced - before.bytes_reduced == 12.0 * 31.0 * value);
    CHECK(after.grad_seconds >= before.grad_seconds);
    /* Warm start continues on the same context. */
    o.warm_start = true;
    soma_history h;
    CHECK_ST(soma_mpi_fit(ctx, m, &Xl, &Yl, &o, &h), SOMA_OK);
    CHECK(h.n_epochs == 4 && h.epochs[0].epoch == 4);
    CHECK(same_on_all(params_hash(m)));
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

/* ---- bad input: every rank gets the same status, nothing changes ------------ */

typedef struct bad_case {
    const char *name;
    int rank;           /* the rank that differs (-1: the last) */
    soma_status expect; /* what every rank must return */
} bad_case;

/* One fit where rank `who` does something different (set up by `kind`),
 * checked for the same status everywhere and unchanged models/histories. */
enum bad_kind {
    BAD_SHAPE,      /* a wider hidden layer */
    BAD_ACTIVATION, /* relu instead of tanh */
    BAD_EPOCHS,     /* a different number of epochs */
    BAD_STEPS,      /* one more step per epoch */
    BAD_NAN,        /* a NaN in X */
    BAD_COLS,       /* X with a column too many */
    BAD_NULL,       /* X is NULL */
    BAD_OPTIONS,    /* a learning rate of 0 on every rank */
    BAD_PRECISION,  /* a float32 model among double ones */
};

static void bad_input(soma_mpi_context *ctx, enum bad_kind kind, soma_status expect)
{
    const int who = g_size - 1;
    const bool me = g_rank == who;
    size_t sizes[4] = {3, 4, 4, 2};
    soma_activation hidden = SOMA_ACTIVATION_TANH;
    if (me && kind == BAD_SHAPE)
        sizes[2] = 5;
    if (me && kind == BAD_ACTIVATION)
        hidden = SOMA_ACTIVATION_RELU;
    if (me && kind == BAD_PRECISION)
        g_precision = SOMA_PRECISION_F32;
    soma_mlp *m = make_model(sizes, 4, hidden, SOMA_ACTIVATION_SOFTMAX, SOMA_LOSS_CE,
                             3 + (uint64_t)g_rank);
    g_precision = SOMA_PRECISION_F64;
    const size_t local = me && kind == BAD_STEPS ? 9 : 8;
    soma_matrix X, Y;
    make_data(&X, &Y, local, me && kind == BAD_COLS ? 4 : 3, 2, 9 + (uint64_t)g_rank);
    if (me && kind == BAD_NAN)
        X.data[5] = NAN;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = me && kind == BAD_EPOCHS ? 3 : 2;
    o.batch_size = 4;
    o.learning_rate = kind == BAD_OPTIONS ? 0.0 : 0.1;
    const uint64_t before = params_hash(m);
    soma_history h;
    memset(&h, 0x3c, sizeof h);
    const soma_history canary = h;
    const soma_matrix *Xp = me && kind == BAD_NULL ? NULL : &X;
    soma_status st = soma_mpi_fit(ctx, m, Xp, &Y, &o, &h);
    CHECK_ST(st, expect);
    CHECK(same_on_all((uint64_t)st));
    CHECK(params_hash(m) == before);
    CHECK(memcmp(&h, &canary, sizeof h) == 0);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

static void test_bad_input(soma_mpi_context *ctx)
{
    /* Errors a rank finds on its own reach every rank, at any R. */
    bad_input(ctx, BAD_NAN, SOMA_ENONFINITE);
    bad_input(ctx, BAD_COLS, SOMA_EDIM);
    bad_input(ctx, BAD_NULL, SOMA_EINVAL);
    bad_input(ctx, BAD_OPTIONS, SOMA_EINVAL);
    /* Disagreements need two ranks to exist. */
    if (g_size < 2)
        return;
    bad_input(ctx, BAD_SHAPE, SOMA_EDIM);
    bad_input(ctx, BAD_ACTIVATION, SOMA_EDIM);
    bad_input(ctx, BAD_EPOCHS, SOMA_EINVAL);
    bad_input(ctx, BAD_STEPS, SOMA_EINVAL);
    bad_input(ctx, BAD_PRECISION, SOMA_EDIM);
}

/* ---- divergence on one rank ----------------------------------------------- */

static void test_divergence(soma_mpi_context *ctx)
{
    /* Regression; the last rank's targets are 1e150 (1e30 for a float
     * model: a float, whose square is not), so its squared error overflows
     * after a few updates while the others' stays small. */
    const size_t sizes[3] = {2, 4, 1};
    soma_mlp *m = make_model(sizes, 3, SOMA_ACTIVATION_IDENTITY, SOMA_ACTIVATION_IDENTITY,
                             SOMA_LOSS_MSE, 4);
    soma_matrix X, Y;
    make_data(&X, &Y, 8, 2, 1, 40 + (uint64_t)g_rank);
    for (size_t i = 0; i < Y.rows; i++)
        Y.data[i] = g_rank != g_size - 1                ? X.data[2 * i]
                    : g_precision == SOMA_PRECISION_F32 ? 1e30
                                                        : 1e150;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 50;
    o.batch_size = 4;
    o.learning_rate = 0.5;
    soma_history h;
    soma_status st = soma_mpi_fit(ctx, m, &X, &Y, &o, &h);
    CHECK_ST(st, SOMA_ENONFINITE);
    CHECK(same_on_all((uint64_t)st));
    CHECK(h.stop == SOMA_STOP_DIVERGED);
    CHECK(h.n_epochs < 50);
    CHECK(same_on_all(h.n_epochs));
    CHECK(same_on_all(params_hash(m)));
    soma_matrix p = params_copy(m);
    CHECK(soma_matrix_check_finite(&p) == SOMA_OK);
    soma_matrix_free(&p);
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

/* ---- a callback on rank 0 only stops every rank ----------------------------- */

static int stop_at_2(void *user, const soma_epoch_stats *s)
{
    (void)user;
    return s->epoch == 2;
}

static void test_callback(soma_mpi_context *ctx)
{
    const size_t sizes[3] = {3, 4, 2};
    soma_mlp *m = make_model(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SOFTMAX,
                             SOMA_LOSS_CE, 8);
    soma_matrix X, Y;
    make_data(&X, &Y, 6, 3, 2, 50 + (uint64_t)g_rank);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 10;
    o.batch_size = 3;
    if (g_rank == 0)
        o.callback = stop_at_2;
    soma_history h;
    CHECK_ST(soma_mpi_fit(ctx, m, &X, &Y, &o, &h), SOMA_OK);
    CHECK(h.n_epochs == 3);
    CHECK(h.stop == SOMA_STOP_CALLBACK);
    CHECK(same_on_all(params_hash(m)));
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

/* ---- the shard helpers (no communication) ----------------------------------- */

static void test_shard(void)
{
    for (size_t n = 0; n <= 23; n++) {
        for (int R = 1; R <= 5; R++) {
            for (int layout = 0; layout < SOMA_MPI_LAYOUT_COUNT; layout++) {
                for (int drop = 0; drop <= 1; drop++) {
                    unsigned char seen[23] = {0};
                    size_t total = 0, lo = SIZE_MAX, hi = 0;
                    for (int r = 0; r < R; r++) {
                        size_t f, c, s;
                        CHECK_ST(soma_mpi_shard(n, r, R, (soma_mpi_layout)layout, drop,
                                                &f, &c, &s),
                                 SOMA_OK);
                        lo = c < lo ? c : lo;
                        hi = c > hi ? c : hi;
                        total += c;
                        for (size_t i = 0; i < c; i++) {
                            size_t row = f + i * s;
                            CHECK(row < n);
                            if (row < n)
                                seen[row]++;
                        }
                    }
                    CHECK(hi - lo <= (drop ? 0u : 1u));
                    CHECK(total == (drop ? n - n % (size_t)R : n));
                    /* Each used row once; with drop the unused rows are the
                     * last n % R of the layout's order. */
                    for (size_t row = 0; row < n; row++) {
                        const bool used = !drop || row < n - n % (size_t)R;
                        CHECK(seen[row] == (used ? 1 : 0));
                    }
                }
            }
        }
    }
    size_t f = 77;
    CHECK_ST(soma_mpi_shard(10, 0, 0, SOMA_MPI_STRIDED, false, &f, NULL, NULL),
             SOMA_EINVAL);
    CHECK_ST(soma_mpi_shard(10, 3, 3, SOMA_MPI_STRIDED, false, &f, NULL, NULL),
             SOMA_EINVAL);
    CHECK_ST(soma_mpi_shard(10, -1, 3, SOMA_MPI_STRIDED, false, &f, NULL, NULL),
             SOMA_EINVAL);
    CHECK_ST(soma_mpi_shard(10, 0, 3, SOMA_MPI_LAYOUT_COUNT, false, &f, NULL, NULL),
             SOMA_EINVAL);
    CHECK(f == 77);

    /* Views: rows of the source, no copy. */
    soma_matrix X, Y, v;
    make_data(&X, &Y, 11, 3, 2, 60);
    for (int layout = 0; layout < SOMA_MPI_LAYOUT_COUNT; layout++) {
        for (int r = 0; r < 3; r++) {
            size_t first, count, stride;
            CHECK_ST(soma_mpi_shard(11, r, 3, (soma_mpi_layout)layout, false, &first,
                                    &count, &stride),
                     SOMA_OK);
            CHECK_ST(soma_mpi_shard_rows(&v, &X, r, 3, (soma_mpi_layout)layout, false),
                     SOMA_OK);
            CHECK(v.rows == count && v.cols == 3 && !v.owner);
            for (size_t i = 0; i < v.rows; i++)
                CHECK(soma_matrix_at(&v, i, 0) ==
                      soma_matrix_at(&X, first + i * stride, 0));
        }
    }
    soma_matrix small;
    REQUIRE_OK(soma_matrix_init(&small, 2, 3, NULL));
    CHECK_ST(soma_mpi_shard_rows(&v, &small, 2, 3, SOMA_MPI_STRIDED, false), SOMA_OK);
    CHECK(v.rows == 0);
    memset(&v, 0x11, sizeof v);
    const soma_matrix canary = v;
    CHECK_ST(soma_mpi_shard_rows(NULL, &X, 0, 3, SOMA_MPI_STRIDED, false), SOMA_EINVAL);
    CHECK_ST(soma_mpi_shard_rows(&v, NULL, 0, 3, SOMA_MPI_STRIDED, false), SOMA_EINVAL);
    CHECK_ST(soma_mpi_shard_rows(&v, &X, 3, 3, SOMA_MPI_STRIDED, false), SOMA_EINVAL);
    soma_matrix bad = X;
    bad.ld = 2; /* < cols */
    CHECK_ST(soma_mpi_shard_rows(&v, &bad, 0, 3, SOMA_MPI_STRIDED, false), SOMA_EINVAL);
    soma_matrix huge = X;
    huge.rows = 1;
    huge.ld = SIZE_MAX / 2;
    CHECK_ST(soma_mpi_shard_rows(&v, &huge, 0, 3, SOMA_MPI_STRIDED, false),
             SOMA_EOVERFLOW);
    CHECK(memcmp(&v, &canary, sizeof v) == 0);
    soma_matrix_free(&small);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

/* ---- statuses, contexts ----------------------------------------------------- */

static void test_status_from(void)
{
    CHECK(soma_mpi_status_from(MPI_SUCCESS) == SOMA_OK);
    CHECK(soma_mpi_status_from(MPI_ERR_NO_MEM) == SOMA_ENOMEM);
    CHECK(soma_mpi_status_from(MPI_ERR_COMM) == SOMA_EINVAL);
    CHECK(soma_mpi_status_from(MPI_ERR_OTHER) == SOMA_EMPI);
    CHECK(soma_mpi_status_from(MPI_ERR_TRUNCATE) == SOMA_EMPI);
    CHECK(soma_mpi_status_from(MPI_ERR_INTERN) == SOMA_EMPI);
    int cls = 0, code = 0;
    if (MPI_Add_error_class(&cls) == MPI_SUCCESS &&
        MPI_Add_error_code(cls, &code) == MPI_SUCCESS)
        CHECK(soma_mpi_status_from(code) == SOMA_EMPI);
}

typedef struct count_alloc {
    size_t allocs, frees, fail_at;
} count_alloc;

static void *count_alloc_fn(void *user, size_t size, size_t alignment)
{
    count_alloc *c = user;
    if (++c->allocs == c->fail_at)
        return NULL;
    return aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}

static void count_free_fn(void *user, void *p, size_t size)
{
    count_alloc *c = user;
    (void)size;
    c->frees++;
    free(p);
}

static void test_context(void)
{
    soma_mpi_context *ctx = (soma_mpi_context *)&g_rank; /* canary */
    CHECK_ST(soma_mpi_context_create(NULL, MPI_COMM_WORLD, NULL), SOMA_EINVAL);
    CHECK_ST(soma_mpi_context_create(&ctx, MPI_COMM_NULL, NULL), SOMA_EINVAL);
    const soma_allocator half = {count_alloc_fn, NULL, NULL};
    CHECK_ST(soma_mpi_context_create(&ctx, MPI_COMM_WORLD, &half), SOMA_EINVAL);
    /* Every allocation failure, at the same point on every rank. */
    for (size_t k = 1; k <= 2; k++) {
        count_alloc c = {0, 0, k};
        const soma_allocator a = {count_alloc_fn, count_free_fn, &c};
        CHECK_ST(soma_mpi_context_create(&ctx, MPI_COMM_WORLD, &a), SOMA_ENOMEM);
        CHECK(c.allocs - 1 == c.frees);
    }
    CHECK(ctx == (soma_mpi_context *)&g_rank);
    count_alloc c = {0, 0, 0};
    const soma_allocator a = {count_alloc_fn, count_free_fn, &c};
    CHECK_ST(soma_mpi_context_create(&ctx, MPI_COMM_WORLD, &a), SOMA_OK);
    int rank = -1, size = -1;
    CHECK_ST(soma_mpi_context_rank(ctx, &rank, &size), SOMA_OK);
    CHECK(rank == g_rank && size == g_size);
    CHECK_ST(soma_mpi_context_rank(NULL, &rank, &size), SOMA_EINVAL);
    CHECK_ST(soma_mpi_context_stats(ctx, NULL), SOMA_EINVAL);
    soma_reduce_hook hook;
    CHECK_ST(soma_mpi_hook(ctx, NULL, &hook), SOMA_EINVAL);
    CHECK_ST(soma_mpi_fit(NULL, NULL, NULL, NULL, NULL, NULL), SOMA_EINVAL);
    soma_mpi_context_destroy(ctx);
    soma_mpi_context_destroy(NULL);
    CHECK(c.allocs == c.frees && c.allocs == 2);
}

/* ---- the hooks under a caller's own soma_mlp_fit --------------------------- */

static void test_raw_hooks(soma_mpi_context *ctx)
{
    /* Same data on every rank: the average of R equal gradients is the
     * gradient, so the result must match a plain fit bit for bit up to the
     * (m/M) R scaling, i.e. to 1e-12 relative; in float, where 1/3 rounds to
     * 2^-25 relative and the 3-term sum rounds twice, a few u per step for
     * 6 steps: 1e-5 (~170 u). */
    const size_t sizes[3] = {3, 4, 2};
    soma_mlp *m = make_model(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SOFTMAX,
                             SOMA_LOSS_CE, 11 + (uint64_t)g_rank);
    soma_mlp *ref = make_model(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SOFTMAX,
                               SOMA_LOSS_CE, 11);
    soma_matrix X, Y;
    make_data(&X, &Y, 10, 3, 2, 70);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 3;
    o.batch_size = 4;
    o.learning_rate = 0.2;
    CHECK_ST(soma_mlp_fit(ref, &X, &Y, &o, NULL, NULL), SOMA_OK);
    REQUIRE_OK(soma_mpi_hook(ctx, m, &o.reduce));
    CHECK_ST(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
    soma_matrix p = params_copy(m), q = params_copy(ref);
    CHECK(rel_diff(p.data, q.data, p.cols) <=
          (g_precision == SOMA_PRECISION_F32 ? 1e-5 : 1e-12));
    CHECK(same_on_all(params_hash(m)));
    soma_matrix_free(&p);
    soma_matrix_free(&q);
    soma_mlp_destroy(m);
    soma_mlp_destroy(ref);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

int main(int argc, char **argv)
{
    /* Before MPI_Init a context cannot exist. */
    soma_mpi_context *ctx = NULL;
    soma_status early = soma_mpi_context_create(&ctx, MPI_COMM_WORLD, NULL);
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    CHECK_ST(early, SOMA_ESTATE);
    CHECK(ctx == NULL);

    test_status_from();
    test_shard();
    test_context();
    REQUIRE_OK(soma_mpi_context_create(&ctx, MPI_COMM_WORLD, NULL));
    test_equivalence(ctx);
    test_stats(ctx);
    g_precision = SOMA_PRECISION_F32; /* the counters and the raw hooks in float */
    test_stats(ctx);
    test_raw_hooks(ctx);
    test_divergence(ctx);
    g_precision = SOMA_PRECISION_F64;
    test_bad_input(ctx);
    test_divergence(ctx);
    test_callback(ctx);
    test_raw_hooks(ctx);
    soma_mpi_context_destroy(ctx);

    int failures = g_failures;
    MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    double worst[SOMA_PRECISION_COUNT] = {g_worst_rel[0], g_worst_rel[1]};
    MPI_Allreduce(MPI_IN_PLACE, worst, SOMA_PRECISION_COUNT, MPI_DOUBLE, MPI_MAX,
                  MPI_COMM_WORLD);
    if (g_rank == 0)
        printf("%d ranks: %d checks per rank, %d failures; largest relative parameter "
               "difference against one process: %.3g (double), %.3g (float32)\n",
               g_size, g_checks, failures, worst[0], worst[1]);
    MPI_Finalize();
    return failures == 0 ? 0 : 1;
}
