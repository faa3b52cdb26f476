/* soma's own parallel loops (lib/parallel.c) and the thread setting
 * (threads.h): fixed blocks, the same bits for any thread count, serial
 * inside a caller's parallel region, and a fit whose parameters do not
 * depend on the thread count.
 *
 * Built against the library's objects (tests/meson.build), so that it can
 * call the private primitive; in a BLAS build it is built twice, against
 * the BLAS library and against the naive one (whose products, the textbook
 * loop, are single-threaded whatever the setting). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "test_common.h"

#include "parallel.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

static void set_threads(int t)
{
    ck_assert_int_eq(soma_threads_set(t), SOMA_OK);
}

/* True when soma's loops can run on more than one thread in this build and
 * process (OpenMP compiled in, and in a BLAS build OpenBLAS's OpenMP
 * flavour loaded). */
static bool loops_parallel(void)
{
    set_threads(2);
    return soma__par_threads(SOMA__PAR_MAX_BLOCKS) == 2;
}

/* ---- the block layout ------------------------------------------------------ */

START_TEST(blocks_cover_the_range)
{
    const size_t ns[] = {1, 2, 7, 63, 64, 65, 100, 1000, 4097, 1000003};
    const size_t grains[] = {0, 1, 3, 10, 64, 1000, 5000000};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
        for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
            const size_t n = ns[a], grain = grains[g] == 0 ? 1 : grains[g];
            size_t size;
            const size_t blocks = soma__par_blocks(n, grains[g], &size);
            ck_assert_uint_ge(blocks, 1);
            ck_assert_uint_le(blocks, SOMA__PAR_MAX_BLOCKS);
            /* The blocks tile [0, n): the last one starts inside it. */
            ck_assert_uint_ge(blocks * size, n);
            ck_assert_uint_lt((blocks - 1) * size, n);
            /* No block is smaller than a grain unless n itself is, and
             * two grains or more make two blocks or more. */
            if (n >= grain) {
                ck_assert_uint_ge(size, grain);
                ck_assert_uint_le(blocks, n / grain);
                if (n / grain >= 2)
                    ck_assert_uint_ge(blocks, 2);
            } else {
                ck_assert_uint_eq(blocks, 1);
            }
        }
    }
}
END_TEST

/* ---- par_for ---------------------------------------------------------------- */

#define FOR_N 10007
#define FOR_GRAIN 300

typedef struct for_record {
    unsigned char seen[FOR_N];
    size_t calls;
    size_t begins[SOMA__PAR_MAX_BLOCKS + 1], ends[SOMA__PAR_MAX_BLOCKS + 1];
    pthread_t who[SOMA__PAR_MAX_BLOCKS + 1];
    pthread_mutex_t lock;
} for_record;

static void record_block(const void *ctx, size_t begin, size_t end)
{
    for_record *r = (for_record *)ctx;
    /* Disjoint blocks: these writes never meet another thread's. */
    for (size_t i = begin; i < end; i++)
        r->seen[i]++;
    pthread_mutex_lock(&r->lock);
    if (r->calls <= SOMA__PAR_MAX_BLOCKS) {
        r->begins[r->calls] = begin;
        r->ends[r->calls] = end;
        r->who[r->calls] = pthread_self();
    }
    r->calls++;
    pthread_mutex_unlock(&r->lock);
}

START_TEST(par_for_visits_every_item_once_in_fixed_blocks)
{
    const bool parallel = loops_parallel();
    size_t size;
    const size_t blocks = soma__par_blocks(FOR_N, FOR_GRAIN, &size);
    ck_assert_uint_gt(blocks, 4);
    for (int t = 1; t <= 4; t++) {
        set_threads(t);
        static for_record r;
        memset(&r, 0, sizeof r);
        ck_assert_int_eq(pthread_mutex_init(&r.lock, NULL), 0);
        soma__par_for(FOR_N, FOR_GRAIN, record_block, &r);
        pthread_mutex_destroy(&r.lock);
        for (size_t i = 0; i < FOR_N; i++)
            ck_assert_msg(r.seen[i] == 1, "%d threads: item %zu visited %d times", t, i,
                          r.seen[i]);
        if (t == 1 || !parallel) {
            /* One thread: one call for the whole range. */
            ck_assert_uint_eq(r.calls, 1);
            ck_assert_uint_eq(r.begins[0], 0);
            ck_assert_uint_eq(r.ends[0], FOR_N);
            continue;
        }
        /* On the pool: exactly the layout's blocks, whatever t is, run by
         * more than one thread. */
        ck_assert_uint_eq(r.calls, blocks);
        bool several = false;
        for (size_t c = 0; c < r.calls; c++) {
            const size_t b = r.begins[c] / size;
            ck_assert_uint_eq(r.begins[c], b * size);
            ck_assert_uint_eq(r.ends[c], b + 1 == blocks ? FOR_N : (b + 1) * size);
            several |= !pthread_equal(r.who[c], r.who[0]);
        }
        ck_assert_msg(several, "%d threads: every block ran on one thread", t);
    }
    set_threads(0);
}
END_TEST

START_TEST(small_work_stays_on_the_calling_thread)
{
    loops_parallel();
    static for_record r;
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(pthread_mutex_init(&r.lock, NULL), 0);
    /* Fewer than two grains: one block, no fork. */
    soma__par_for(2 * FOR_GRAIN - 1, FOR_GRAIN, record_block, &r);
    pthread_mutex_destroy(&r.lock);
    ck_assert_uint_eq(r.calls, 1);
    ck_assert(pthread_equal(r.who[0], pthread_self()));
    soma__par_for(0, FOR_GRAIN, record_block, &r); /* n == 0: no call at all */
    ck_assert_uint_eq(r.calls, 1);
    set_threads(0);
}
END_TEST

#if defined(_OPENMP)
START_TEST(serial_inside_a_callers_parallel_region)
{
    if (!loops_parallel())
        return; /* serial anyway */
    int threads_seen[2] = {0, 0};
    size_t calls[2] = {0, 0};
    bool ok[2] = {false, false};
#pragma omp parallel num_threads(2)
    {
        const int me = omp_get_thread_num();
        if (me < 2 && omp_get_num_threads() == 2) {
            threads_seen[me] = soma__par_threads(SOMA__PAR_MAX_BLOCKS);
            for_record *r = calloc(1, sizeof *r);
            if (r != NULL && pthread_mutex_init(&r->lock, NULL) == 0) {
                soma__par_for(FOR_N, FOR_GRAIN, record_block, r);
                pthread_mutex_destroy(&r->lock);
                calls[me] = r->calls;
                ok[me] = pthread_equal(r->who[0], pthread_self());
            }
            free(r);
        }
    }
    for (int me = 0; me < 2; me++) {
        ck_assert_int_eq(threads_seen[me], 1);
        ck_assert_uint_eq(calls[me], 1);
        ck_assert(ok[me]);
    }
    set_threads(0);
}
END_TEST
#endif

/* ---- deterministic sums ----------------------------------------------------- */

#define SUM_N 200003
#define SUM_GRAIN 1000

/* Values spread over 80 binary orders of magnitude, both signs: almost any
 * change of association changes the bits of their sum. */
static double *spread_values(void)
{
    double *x = malloc(SUM_N * sizeof *x);
    ck_assert_ptr_nonnull(x);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 12), SOMA_OK);
    double u[2];
    for (size_t i = 0; i < SUM_N; i++) {
        ck_assert_int_eq(soma_rng_uniform(&r, 2, u), SOMA_OK);
        x[i] = (u[0] - 0.5) * ldexp(1.0, (int)(u[1] * 80.0) - 40);
    }
    return x;
}

typedef struct sum_ctx {
    const double *x;
} sum_ctx;

/* Two sums per block: of x and of x^2, left to right. */
static void block_sums(const void *ctx, size_t begin, size_t end, double *out)
{
    const double *x = ((const sum_ctx *)ctx)->x;
    double s = 0.0, q = 0.0;
    for (size_t i = begin; i < end; i++) {
        s += x[i];
        q += x[i] * x[i];
    }
    out[0] = s;
    out[1] = q;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* What an OpenMP `reduction(+:s)` over t threads computes: one partial per
 * thread over its static chunk of [0, n), added in thread order. */
static double per_thread_sum(const double *x, size_t n, int t)
{
    double total = 0.0;
    for (int k = 0; k < t; k++) {
        const size_t b = n * (size_t)k / (size_t)t, e = n * (size_t)(k + 1) / (size_t)t;
        double s = 0.0;
        for (size_t i = b; i < e; i++)
            s += x[i];
        total += s;
    }
    return total;
}

START_TEST(sums_are_the_same_bits_for_any_thread_count)
{
    double *x = spread_values();
    /* The reference, computed here: the layout's blocks summed left to
     * right, then the block sums added in block order. */
    size_t size;
    const size_t blocks = soma__par_blocks(SUM_N, SUM_GRAIN, &size);
    ck_assert_uint_eq(blocks, SOMA__PAR_MAX_BLOCKS);
    double ref = 0.0;
    for (size_t b = 0; b < blocks; b++) {
        double s = 0.0;
        for (size_t i = b * size; i < (b + 1) * size && i < SUM_N; i++)
            s += x[i];
        ref += s;
    }
    /* The values are sensitive to association: a partition that followed
     * the thread count would give other bits (this is what the test
     * protects against; with it, making soma__par_sums add per thread
     * fails the loop below). */
    int differ = 0;
    for (int t = 2; t <= 4; t++)
        differ += !same_bits(per_thread_sum(x, SUM_N, t), per_thread_sum(x, SUM_N, 1));
    ck_assert_int_ge(differ, 2);
    ck_assert(!same_bits(ref, per_thread_sum(x, SUM_N, 1)));

    sum_ctx c = {x};
    double first[2];
    for (int t = 1; t <= 4; t++) {
        set_threads(t);
        double out[2];
        soma__par_sums(SUM_N, SUM_GRAIN, 2, block_sums, &c, out);
        ck_assert_msg(same_bits(out[0], ref), "%d threads: %a, reference %a", t, out[0],
                      ref);
        if (t == 1)
            memcpy(first, out, sizeof first);
        ck_assert(same_bits(out[1], first[1]));
    }
    double zero[2] = {1.0, 1.0};
    soma__par_sums(0, SUM_GRAIN, 2, block_sums, &c, zero);
    ck_assert(zero[0] == 0.0 && zero[1] == 0.0);
    set_threads(0);
    free(x);
}
END_TEST

/* ---- the public functions that use the primitive -------------------------- */

START_TEST(matrix_passes_for_any_thread_count)
{
    /* Large enough to be cut into blocks: 640 x 700 doubles. */
    soma_matrix M, S1, S;
    ck_assert_int_eq(soma_matrix_init(&M, 640, 700, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&S1, 1, 700, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&S, 1, 700, NULL), SOMA_OK);
    test_fill_random(&M, 3);
    soma_matrix V; /* a strided view: rows are not packed */
    ck_assert_int_eq(soma_matrix_view(&V, M.data + 1, 639, 690, 700), SOMA_OK);
    for (int t = 1; t <= 4; t++) {
        set_threads(t);
        ck_assert_int_eq(soma_matrix_col_sums(&M, 0.5, &S), SOMA_OK);
        if (t == 1)
            memcpy(S1.data, S.data, 700 * sizeof(double));
        ck_assert_mem_eq(S.data, S1.data, 700 * sizeof(double));
        /* Every column against a sum computed here, in row order. */
        for (size_t j = 0; j < 700; j++) {
            double s = 0.0;
            for (size_t i = 0; i < 640; i++)
                s += M.data[i * 700 + j];
            ck_assert(same_bits(S.data[j], s * 0.5));
        }
        ck_assert_int_eq(soma_matrix_check_finite(&M), SOMA_OK);
        ck_assert_int_eq(soma_matrix_check_finite(&V), SOMA_OK);
        /* A bad value in any block is found, including the last element. */
        const size_t where[] = {0, 1234, 640 * 700 / 2, 640 * 700 - 1};
        for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
            const double keep = M.data[where[w]];
            M.data[where[w]] = w % 2 ? NAN : -INFINITY;
            ck_assert_int_eq(soma_matrix_check_finite(&M), SOMA_ENONFINITE);
            M.data[where[w]] = keep;
        }
        /* The view skips column 0 and the last 9: a NaN there is outside. */
        M.data[700 * 5] = NAN;
        ck_assert_int_eq(soma_matrix_check_finite(&V), SOMA_OK);
        M.data[700 * 5 + 1] = NAN;
        ck_assert_int_eq(soma_matrix_check_finite(&V), SOMA_ENONFINITE);
        test_fill_random(&M, 3);
    }
    set_threads(0);
    soma_matrix_free(&S);
    soma_matrix_free(&S1);
    soma_matrix_free(&M);
}
END_TEST

/* ---- a fit with 1, 2, 3 and 4 threads --------------------------------------- */

/* A fit's sizes: chosen so that the passes on the pool have several
 * blocks: the row gather (batch rows of in + 2 doubles), the finiteness
 * check of X (rows x in doubles) and, in the naive build, the column sums
 * of the hidden layer's dZ (batch x hidden).
 *
 * The BLAS build keeps every product at or below 262144 = m n k, the size
 * up to which OpenBLAS computes a product on one thread whatever its
 * setting (interface/gemm.c: SMP_THRESHOLD_MIN x GEMM_MULTITHREAD_THRESHOLD):
 * OpenBLAS's own results do depend on its thread count (0.3.21 here: a
 * 256 x 160 x 128 product differs in about 5% of its elements with 3
 * threads from 1 thread), so only then is the comparison about soma's
 * loops. Its hidden layer is too narrow for parallel column sums; the
 * naive build's is not. */
typedef struct fit_shape {
    size_t rows, in, hidden, batch;
} fit_shape;

static fit_shape shape_for_backend(void)
{
    if (strcmp(soma_backend_name(), "blas") == 0)
        return (fit_shape){1024, 256, 4, 256};
    return (fit_shape){1024, 128, 160, 256};
}

/* With labels, Y holds class indices (n x 1) and fit builds their one-hot
 * rows as it gathers each batch; otherwise Y is one-hot (n x 2). */
/* The precision of fit_params' model (the determinism test's loop index:
 * float32 models gather, convert and reduce on the same blocks). */
static soma_precision fit_precision = SOMA_PRECISION_F64;

static void fit_params(const fit_shape *f, int threads, bool labels, double *out,
                       size_t *n_out)
{
    set_threads(threads);
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_init(&X, f->rows, f->in, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, f->rows, labels ? 1 : 2, NULL), SOMA_OK);
    test_fill_random(&X, 5);
    for (size_t i = 0; i < f->rows; i++) {
        const double *x = soma_matrix_at(&X, i, 0);
        const bool c = x[0] + x[1] * x[2] > 0.0;
        if (labels) {
            Y.data[i] = c ? 0.0 : 1.0;
        } else {
            Y.data[2 * i] = c ? 1.0 : 0.0;
            Y.data[2 * i + 1] = c ? 0.0 : 1.0;
        }
    }
    const size_t sizes[] = {f->in, f->hidden, 2};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = SOMA_ACTIVATION_TANH;
    spec.output = SOMA_ACTIVATION_SOFTMAX;
    spec.loss = SOMA_LOSS_CE;
    spec.seed = 9;
    spec.precision = fit_precision;
    soma_mlp *mlp;
    ck_assert_int_eq(soma_mlp_create(&mlp, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 2;
    o.batch_size = f->batch;
    o.shuffle = true;
    o.seed = 4;
    o.learning_rate = 0.05;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    ck_assert_int_eq(soma_mlp_fit(mlp, &X, &Y, &o, NULL, NULL), SOMA_OK);
    soma_matrix p = test_params_copy(mlp);
    memcpy(out, p.data, p.cols * sizeof(double));
    *n_out = p.cols;
    soma_matrix_free(&p);
    soma_mlp_destroy(mlp);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
}

/* More than one thread for a loop of n items of this grain. */
static bool goes_parallel(size_t n, size_t grain)
{
    size_t size;
    return soma__par_threads(soma__par_blocks(n, grain, &size)) > 1;
}

START_TEST(fit_is_the_same_bits_for_any_thread_count)
{
    fit_precision = (soma_precision)_i;
    const fit_shape f = shape_for_backend();
    if (loops_parallel()) {
        /* The passes this fit puts on the pool have several blocks (the
         * grains of lib/parallel.h against the sizes above). */
        ck_assert(goes_parallel(f.batch, SOMA__GRAIN_COPY / (f.in + 2) + 1));
        ck_assert(goes_parallel(f.rows * f.in, SOMA__GRAIN_CHECK));
        if (strcmp(soma_backend_name(), "naive") == 0)
            ck_assert(goes_parallel(f.hidden / 8, SOMA__GRAIN_SUM / (f.batch * 8) + 1));
    }
    const size_t P = f.in * f.hidden + f.hidden + f.hidden * 2 + 2;
    double *one = malloc(P * sizeof *one), *other = malloc(P * sizeof *other);
    ck_assert(one != NULL && other != NULL);
    size_t n1, n;
    fit_params(&f, 1, false, one, &n1);
    ck_assert_uint_eq(n1, P);
    /* Integer labels (their one-hot rows built in the parallel gather) as
     * well as one-hot targets: the same training, the same bits. */
    const int counts[] = {2, 4, 3, 1, 2, 4};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        const bool labels = c >= 3;
        fit_params(&f, counts[c], labels, other, &n);
        ck_assert_uint_eq(n, P);
        for (size_t i = 0; i < P; i++)
            ck_assert_msg(same_bits(one[i], other[i]),
                          "%d threads%s: parameter %zu is %a, with 1 thread %a",
                          counts[c], labels ? ", labels" : "", i, other[i], one[i]);
    }
    free(other);
    free(one);
    set_threads(0);
    fit_precision = SOMA_PRECISION_F64;
}
END_TEST

/* ---- the optimizer's update on the pool -------------------------------------- */

/*
 * soma_optim_step over more parameters than two blocks of SOMA__GRAIN_COPY
 * (the update's grain), three steps of each kind with 1 to 4 threads: the
 * same bits for every count, and each parameter within rounding of the
 * rule of optim.h evaluated here in long double. The bound: every step
 * rounds a handful of products and sums (<= 8 roundings of magnitude at
 * most |p| + 3 |update|), so 1e-14 (|p| + 1) after three steps of updates
 * of at most lr |g| / (1 - mu) ~ 0.1 (Adam's at most lr / (1 - b1) ~ 0.1)
 * is generous by ~10x and far below any wrong rule, offset or block.
 */
START_TEST(optimizer_update_is_the_same_bits_for_any_thread_count)
{
    enum { N = 3 * SOMA__GRAIN_COPY + 5, STEPS = 3 };
    if (loops_parallel())
        ck_assert(goes_parallel(N, SOMA__GRAIN_COPY));
    const soma_optimizer kind = (soma_optimizer)_i;
    const double lr = 0.01;
    double *p0 = malloc(N * sizeof *p0), *g = malloc(N * sizeof *g);
    double *one = malloc(N * sizeof *one), *p = malloc(N * sizeof *p);
    ck_assert(p0 != NULL && g != NULL && one != NULL && p != NULL);
    for (size_t i = 0; i < N; i++) {
        p0[i] = sin(0.37 * (double)i);
        g[i] = cos(0.11 * (double)i) * (1.0 + (double)(i % 7));
    }
    const soma_optim_config c = soma_optim_config_default(kind);
    const int counts[] = {1, 2, 3, 4};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        set_threads(counts[k]);
        soma_optim o;
        ck_assert_int_eq(soma_optim_init(&o, &c, N, NULL), SOMA_OK);
        memcpy(p, p0, N * sizeof *p);
        for (int t = 0; t < STEPS; t++)
            ck_assert_int_eq(soma_optim_step(&o, lr, p, g), SOMA_OK);
        soma_optim_free(&o);
        if (k == 0) {
            memcpy(one, p, N * sizeof *p);
            continue;
        }
        for (size_t i = 0; i < N; i++)
            ck_assert_msg(same_bits(p[i], one[i]), "%s, %d threads: parameter %zu is %a, %a with 1",
                          soma_optimizer_name(kind), counts[k], i, p[i], one[i]);
    }
    for (size_t i = 0; i < N; i++) {
        long double q = p0[i], v = 0, m = 0, s = 0;
        for (int t = 1; t <= STEPS; t++) {
            const long double gi = g[i];
            switch (kind) {
            case SOMA_OPTIMIZER_SGD:
                q -= lr * gi;
                break;
            case SOMA_OPTIMIZER_MOMENTUM:
                v = c.momentum * v - lr * gi;
                q += v;
                break;
            case SOMA_OPTIMIZER_NESTEROV:
                v = c.momentum * v - lr * gi;
                q += c.momentum * v - lr * gi;
                break;
            default: /* Adam */
                m = c.beta1 * m + (1 - c.beta1) * gi;
                s = c.beta2 * s + (1 - c.beta2) * gi * gi;
                q -= lr / (1 - powl(c.beta1, t)) * m /
                     (sqrtl(s / (1 - powl(c.beta2, t))) + c.epsilon);
                break;
            }
        }
        ck_assert_msg(fabsl(one[i] - q) <= 1e-14L * (fabsl(q) + 1),
                      "%s: parameter %zu is %.17g, the rule gives %.17Lg",
                      soma_optimizer_name(kind), i, one[i], q);
    }
    set_threads(0);
    free(p);
    free(one);
    free(g);
    free(p0);
}
END_TEST

/* ---- a layer's passes on the pool ------------------------------------------ */

/* A copy of the values of M (rows x cols, whatever its ld) into out. */
static void copy_values(const soma_matrix *M, double *out)
{
    for (size_t i = 0; i < M->rows; i++)
        memcpy(out + i * M->cols, soma_matrix_at(M, i, 0), M->cols * sizeof(double));
}

/*
 * The bias and activation of soma_dense_forward (by groups of rows) and the
 * activation's derivative of soma_dense_backward (one flat pass over packed
 * matrices, by rows over strided ones), for every activation, with 2, 3
 * and 4 threads against 1, bit for bit: 256 x 520 elements, 4 grains of
 * SOMA__GRAIN_ACT_CHEAP (the larger grain). One input column keeps every
 * product at m n k <= 262144 (see the fit test below), so only soma's
 * loops see the thread count.
 */
START_TEST(layer_passes_are_the_same_bits_for_any_thread_count)
{
    enum { R = 256, C = 520, IN = 1, LD = C + 3, OUTS = 8 };
    const soma_activation f = (soma_activation)_i;
    if (loops_parallel()) {
        ck_assert(goes_parallel(R * C, SOMA__GRAIN_ACT_CHEAP));
        ck_assert(goes_parallel(R, SOMA__GRAIN_ACT_CHEAP / C + 1));
    }
    soma_matrix X, W, b, dW, db, tmp, buf[8];
    ck_assert_int_eq(soma_matrix_init(&X, R, IN, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&W, IN, C, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&b, 1, C, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dW, IN, C, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&db, 1, C, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&tmp, R, C, NULL), SOMA_OK);
    test_fill_random(&X, 21);
    test_fill_random(&W, 22);
    test_fill_random(&b, 23);
    ck_assert_int_eq(soma_matrix_scale(&W, 4.0), SOMA_OK); /* Z over about [-5, 5] */
    /* Z, A, dA, dZ packed (buf 0-3), and as views of R x C in R x LD
     * buffers (buf 4-7, rows not packed). */
    soma_matrix M[8];
    for (int j = 0; j < 8; j++) {
        ck_assert_int_eq(soma_matrix_init(&buf[j], R, j < 4 ? C : LD, NULL), SOMA_OK);
        ck_assert_int_eq(soma_matrix_view(&M[j], buf[j].data, R, C, j < 4 ? C : LD),
                         SOMA_OK);
    }
    test_fill_random(&M[2], 24);
    test_fill_random(&M[6], 24);
    const soma_dense layer = {W, b, f, 0.1};
    double *ref = malloc((OUTS + 1) * R * C * sizeof *ref), *got = malloc(R * C * sizeof *got);
    ck_assert(ref != NULL && got != NULL);
    for (int t = 1; t <= 4; t++) {
        set_threads(t);
        for (int v = 0; v < 2; v++) {
            soma_matrix *Z = &M[4 * v], *A = Z + 1, *dA = Z + 2, *dZ = Z + 3;
            ck_assert_int_eq(soma_dense_forward(&layer, &X, Z, A, NULL), SOMA_OK);
            ck_assert_int_eq(soma_dense_backward(&layer, &X, Z, A, dA, dZ, &dW, &db, NULL,
                                                 NULL),
                             SOMA_OK);
            /* The public activation functions (one flat pass over packed
             * matrices) give the layer's bits. */
            ck_assert_int_eq(soma_activation_forward_matrix(f, 0.1, Z, &tmp, NULL), SOMA_OK);
            copy_values(&tmp, got);
            copy_values(A, ref + OUTS * R * C);
            ck_assert(memcmp(got, ref + OUTS * R * C, (size_t)R * C * sizeof(double)) == 0);
            ck_assert_int_eq(soma_activation_backward_matrix(f, 0.1, Z, A, dA, &tmp, NULL),
                             SOMA_OK);
            copy_values(&tmp, got);
            copy_values(dZ, ref + OUTS * R * C);
            ck_assert(memcmp(got, ref + OUTS * R * C, (size_t)R * C * sizeof(double)) == 0);
            const soma_matrix *out[4] = {Z, A, dZ, &db};
            for (int o = 0; o < 4; o++) {
                const size_t k = (size_t)(4 * v + o) * R * C;
                const size_t bytes = out[o]->rows * out[o]->cols * sizeof(double);
                copy_values(out[o], t == 1 ? ref + k : got);
                if (t > 1)
                    ck_assert_msg(memcmp(got, ref + k, bytes) == 0,
                                  "activation %d, %s, output %d: %d threads differ from 1",
                                  (int)f, v ? "strided" : "packed", o, t);
            }
        }
    }
    /* Packed and strided, which take different paths, agree too. */
    for (int o = 0; o < 3; o++)
        ck_assert(memcmp(ref + (size_t)o * R * C, ref + (size_t)(4 + o) * R * C,
                         (size_t)R * C * sizeof(double)) == 0);
    set_threads(0);
    free(got);
    free(ref);
    for (int j = 0; j < 8; j++)
        soma_matrix_free(&buf[j]);
    soma_matrix_free(&tmp);
    soma_matrix_free(&db);
    soma_matrix_free(&dW);
    soma_matrix_free(&b);
    soma_matrix_free(&W);
    soma_matrix_free(&X);
}
END_TEST

/* ---- the setting ------------------------------------------------------------ */

START_TEST(the_setting)
{
    int n = 0;
    ck_assert_int_eq(soma_threads_set(-1), SOMA_EINVAL);
    ck_assert_int_eq(soma_threads_get(NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_threads_set(1), SOMA_OK);
    ck_assert_int_eq(soma_threads_get(&n), SOMA_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(soma__par_threads(SOMA__PAR_MAX_BLOCKS), 1);
    /* 0: one per processor, at least one. */
    ck_assert_int_eq(soma_threads_set(0), SOMA_OK);
    ck_assert_int_eq(soma_threads_get(&n), SOMA_OK);
    ck_assert_int_ge(n, 1);
    /* Far too many: clamped to what the build can use, and reported. */
    ck_assert_int_eq(soma_threads_set(1 << 30), SOMA_OK);
    ck_assert_int_eq(soma_threads_get(&n), SOMA_OK);
    ck_assert_int_ge(n, 1);
    ck_assert_int_lt(n, 1 << 30);
    if (strcmp(soma_backend_name(), "blas") == 0)
        ck_assert_int_le(n, 1024); /* OpenBLAS's compiled maximum */
    if (loops_parallel()) {
        ck_assert_int_eq(soma_threads_set(3), SOMA_OK);
        ck_assert_int_eq(soma_threads_get(&n), SOMA_OK);
        ck_assert_int_eq(n, 3);
        ck_assert_int_eq(soma__par_threads(SOMA__PAR_MAX_BLOCKS), 3);
        ck_assert_int_eq(soma__par_threads(2), 2); /* no more than blocks */
        ck_assert_int_eq(soma__par_threads(1), 1);
    }
    /* The first name of the setting. */
    ck_assert_int_eq(soma_blas_threads_set(0), SOMA_EINVAL);
    ck_assert_int_eq(soma_blas_threads_set(1), SOMA_OK);
    ck_assert_int_eq(soma_blas_threads_get(&n), SOMA_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(soma_threads_set(0), SOMA_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parallel");
    TCase *tc = tcase_create("parallel");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, blocks_cover_the_range);
    tcase_add_test(tc, par_for_visits_every_item_once_in_fixed_blocks);
    tcase_add_test(tc, small_work_stays_on_the_calling_thread);
#if defined(_OPENMP)
    tcase_add_test(tc, serial_inside_a_callers_parallel_region);
#endif
    tcase_add_test(tc, sums_are_the_same_bits_for_any_thread_count);
    tcase_add_test(tc, matrix_passes_for_any_thread_count);
    tcase_add_loop_test(tc, fit_is_the_same_bits_for_any_thread_count, 0,
                        SOMA_PRECISION_COUNT);
    tcase_add_loop_test(tc, optimizer_update_is_the_same_bits_for_any_thread_count, 0,
                        SOMA_OPTIMIZER_COUNT);
    tcase_add_loop_test(tc, layer_passes_are_the_same_bits_for_any_thread_count, 0,
                        SOMA_ACTIVATION_COUNT);
    tcase_add_test(tc, the_setting);
    suite_add_tcase(s, tc);
    return test_run(s);
}
