/* GEMM sweep: soma_gemm GFLOP/s (2mnk / t) on square sizes 4 ... 2048 and on
 * every product shape of W1, W3 and W4 training steps; in the BLAS build
 * also cblas_dgemm called directly (the roofline and the dispatch cost),
 * and the replay of one whole training step's products in order.
 *
 * Keys written (build-independent; the driver keeps one store per build):
 *   gemm.sq.<n>.{best,med}_ns          soma_gemm, n x n x n
 *   gemm.<w>.<id>.{best,med}_ns        soma_gemm, product <id> of workload w
 *   gemm.<w>.step.{best,med}_ns        every product of one step, in order
 *   cblas.sq.<n>.*, cblas.<w>.<id>.*   cblas_dgemm directly (BLAS build)
 *   sgemm.w3.<id>.*, sgemm.w3.step.*   cblas_sgemm on W3's shapes, what float32
 *                                      models call (BLAS build)
 *   roof.peak_gf                       best cblas_dgemm GFLOP/s at n >= 1024
 */
#include "bench_common.h"
#include "shapes.h"

#include <math.h>

#if defined(BENCH_HAVE_CBLAS)
#include <cblas.h>
#endif

/* The naive and loop builds skip products above this many flops: the
 * textbook loop runs at ~1 GFLOP/s or less, so this keeps each call under
 * about a second. */
#define SLOW_MAX_FLOPS 3.0e8
/* The loop build measures products up to this m*n*k only: the threshold
 * between the loop and cblas_dgemm lies far below. */
#define LOOP_MAX_MNK 3.0e5

typedef struct gemm_work {
    product p;
    soma_matrix A, B, C;
    double *c0;  /* C's initial contents, restored before every sample */
    bool direct; /* call cblas_dgemm instead of soma_gemm */
    float *f;    /* float32 products (cblas_sgemm): A, B, C, C's initial contents */
} gemm_work;

static void gemm_work_init(gemm_work *w, const product *p, soma_rng *rng)
{
    memset(w, 0, sizeof *w);
    w->p = *p;
    w->A = p->ta ? bench_random_matrix(rng, p->k, p->m)
                 : bench_random_matrix(rng, p->m, p->k);
    w->B = p->tb ? bench_random_matrix(rng, p->n, p->k)
                 : bench_random_matrix(rng, p->k, p->n);
    w->C = bench_random_matrix(rng, p->m, p->n);
    w->c0 = bench_alloc_doubles(p->m * p->n);
    memcpy(w->c0, w->C.data, p->m * p->n * sizeof(double));
}

/* The same operands rounded to float, for cblas_sgemm: A, B, C and C's
 * initial contents one after the other. */
static void gemm_work_f32(gemm_work *w)
{
    const size_t a = w->p.m * w->p.k, b = w->p.k * w->p.n, c = w->p.m * w->p.n;
    w->f = malloc((a + b + 2 * c) * sizeof(float));
    if (w->f == NULL)
        exit(EXIT_FAILURE);
    const double *src[3] = {w->A.data, w->B.data, w->C.data};
    const size_t len[3] = {a, b, c};
    float *dst = w->f;
    for (int i = 0; i < 3; dst += len[i++])
        for (size_t j = 0; j < len[i]; j++)
            dst[j] = (float)src[i][j];
    memcpy(dst, dst - c, c * sizeof(float));
}

static void gemm_work_free(gemm_work *w)
{
    soma_matrix_free(&w->A);
    soma_matrix_free(&w->B);
    soma_matrix_free(&w->C);
    free(w->c0);
    free(w->f);
}

static void run_gemm(void *ctx)
{
    gemm_work *w = ctx;
#if defined(BENCH_HAVE_CBLAS)
    if (w->f != NULL) {
        float *a = w->f, *b = a + w->p.m * w->p.k, *c = b + w->p.k * w->p.n;
        cblas_sgemm(CblasRowMajor, w->p.ta ? CblasTrans : CblasNoTrans,
                    w->p.tb ? CblasTrans : CblasNoTrans, (int)w->p.m, (int)w->p.n,
                    (int)w->p.k, 1.0f, a, (int)w->A.ld, b, (int)w->B.ld, 0.0f, c,
                    (int)w->C.ld);
        bench_sink = c[0];
        return;
    }
    if (w->direct) {
        cblas_dgemm(CblasRowMajor, w->p.ta ? CblasTrans : CblasNoTrans,
                    w->p.tb ? CblasTrans : CblasNoTrans, (int)w->p.m, (int)w->p.n,
                    (int)w->p.k, 1.0, w->A.data, (int)w->A.ld, w->B.data, (int)w->B.ld,
                    0.0, w->C.data, (int)w->C.ld);
        bench_sink = w->C.data[0];
        return;
    }
#endif
    soma_status st = soma_gemm(w->p.ta ? SOMA_TRANS_YES : SOMA_TRANS_NO,
                               w->p.tb ? SOMA_TRANS_YES : SOMA_TRANS_NO, 1.0, &w->A,
                               &w->B, 0.0, &w->C);
    bench_sink = st == SOMA_OK ? w->C.data[0] : NAN;
}

static void restore_c(void *ctx)
{
    gemm_work *w = ctx;
    const size_t c = w->p.m * w->p.n;
    memcpy(w->C.data, w->c0, c * sizeof(double));
    if (w->f != NULL) {
        float *fc = w->f + w->p.m * w->p.k + w->p.k * w->p.n;
        memcpy(fc, fc + c, c * sizeof(float));
    }
}

/* Samples: 11 of about 5 ms each for fast products, 5 single calls for the
 * slowest. */
static bench_stats time_product(bench_ctx *b, gemm_work *w)
{
    const double flops = product_flops(&w->p);
    const size_t reps = b->quick ? 3 : flops > 2e9 ? 5 : 11;
    return bench_measure(run_gemm, restore_c, w, 5e6, 1000000, reps);
}

static void measure(bench_ctx *b, const product *p, const char *prefix, soma_rng *rng)
{
    if ((b->slow && product_flops(p) > SLOW_MAX_FLOPS) ||
        (b->loop && (double)p->m * (double)p->n * (double)p->k > LOOP_MAX_MNK))
        return;
    gemm_work w;
    gemm_work_init(&w, p, rng);
    bench_stats s = time_product(b, &w);
    kv_set(b->kv, s.best, "gemm.%s.best_ns", prefix);
    kv_set(b->kv, s.median, "gemm.%s.med_ns", prefix);
#if defined(BENCH_HAVE_CBLAS)
    w.direct = true;
    s = time_product(b, &w);
    kv_set(b->kv, s.best, "cblas.%s.best_ns", prefix);
    kv_set(b->kv, s.median, "cblas.%s.med_ns", prefix);
    if (strncmp(prefix, "w3.", 3) == 0) { /* what a float32 W3 calls */
        gemm_work_f32(&w);
        s = time_product(b, &w);
        kv_set(b->kv, s.best, "sgemm.%s.best_ns", prefix);
        kv_set(b->kv, s.median, "sgemm.%s.med_ns", prefix);
    }
#endif
    gemm_work_free(&w);
}

/* ---- one step's products in order ------------------------------------------ */

struct step_work {
    gemm_work g[MAX_PRODUCTS];
    size_t n;
};

static void run_step(void *ctx)
{
    step_work *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        run_gemm(&s->g[i]);
}

static void restore_step(void *ctx)
{
    step_work *s = ctx;
    for (size_t i = 0; i < s->n; i++)
        restore_c(&s->g[i]);
}

step_work *step_replay_create(const size_t *sizes, size_t L, size_t batch, uint64_t seed,
                              bool f32)
{
#if !defined(BENCH_HAVE_CBLAS)
    if (f32) /* float products exist in the library only: nothing to replay */
        return NULL;
#endif
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, seed), "rng");
    product p[MAX_PRODUCTS];
    step_work *s = calloc(1, sizeof *s);
    if (s == NULL)
        exit(EXIT_FAILURE);
    s->n = step_products(sizes, L, batch, p);
    for (size_t i = 0; i < s->n; i++) {
        gemm_work_init(&s->g[i], &p[i], &rng);
        if (f32)
            gemm_work_f32(&s->g[i]);
    }
    return s;
}

double step_replay_ns(step_work *s, double target_ns)
{
    bench_stats st = bench_measure(run_step, restore_step, s, target_ns, 100000, 3);
    return st.median;
}

void step_replay_free(step_work *s)
{
    for (size_t i = 0; i < s->n; i++)
        gemm_work_free(&s->g[i]);
    free(s);
}

static void workload_shapes(bench_ctx *b, const char *name, const size_t *sizes, size_t L,
                            size_t batch, soma_rng *rng)
{
    product p[MAX_PRODUCTS];
    const size_t n = step_products(sizes, L, batch, p);
    char prefix[48];
    for (size_t i = 0; i < n; i++) {
        snprintf(prefix, sizeof prefix, "%.8s.%.15s", name, p[i].id);
        measure(b, &p[i], prefix, rng);
    }
    if ((b->slow && step_flops(sizes, L, batch) > SLOW_MAX_FLOPS * 4) ||
        (b->loop && step_flops(sizes, L, batch) > 2.0 * LOOP_MAX_MNK * 8))
        return;
    for (int f32 = 0; f32 < 2; f32++) {
        step_work *s = step_replay_create(sizes, L, batch, 99, f32);
        if (s == NULL || (f32 && strcmp(name, "w3") != 0)) {
            if (s != NULL)
                step_replay_free(s);
            continue;
        }
        bench_stats st =
            bench_measure(run_step, restore_step, s, 2e7, 100000, b->quick ? 3 : 11);
        kv_set(b->kv, st.best, "%s.%s.step.best_ns", f32 ? "sgemm" : "gemm", name);
        kv_set(b->kv, st.median, "%s.%s.step.med_ns", f32 ? "sgemm" : "gemm", name);
        step_replay_free(s);
    }
}

void section_gemm(bench_ctx *b)
{
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, 7), "rng");
    const size_t max_n = b->quick ? 512 : 2048;
    for (size_t n = 4; n <= max_n; n *= 2) {
        product p = {"sq", false, false, n, n, n};
        char prefix[32];
        snprintf(prefix, sizeof prefix, "sq.%zu", n);
        measure(b, &p, prefix, &rng);
    }
    workload_shapes(b, "w1", W1_SIZES, 3, W1_ROWS, &rng);
    workload_shapes(b, "w4", W4_SIZES, 3, W4_BATCH, &rng);
    workload_shapes(b, "w3", W3_SIZES, 3, W3_BATCH, &rng);
#if defined(BENCH_HAVE_CBLAS)
    double peak = 0;
    for (size_t n = 1024; n <= max_n; n *= 2) {
        double t = kv_get(b->kv, "cblas.sq.%zu.best_ns", n);
        double gf = 2.0 * (double)n * (double)n * (double)n / t;
        peak = gf > peak ? gf : peak;
    }
    kv_set(b->kv, peak, "roof.peak_gf");
#endif
}
