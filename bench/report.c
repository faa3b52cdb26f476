/* The report of soma-bench: tables on stdout, every figure in
 * DIR/soma-bench.csv, plots in PNG files in DIR through gnuplot when on PATH, and
 * the comparison with the previous run's CSV (the determinism target). */
#define _GNU_SOURCE
#include "report.h"
#include "shapes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SQ_MAX 2048

void report_run_init(report_run *r, bool quick)
{
    memset(r, 0, sizeof *r);
    r->quick = quick;
    double l[3];
    r->load_start = getloadavg(l, 3) == 3 ? l[0] : NAN;
}

/* ---- small formatting helpers ------------------------------------------------ */

static const char *pass(bool ok)
{
    return ok ? "PASS" : "MISS";
}

/* PASS/MISS, or "-" when the figure was not measured (a partial run). */
static const char *verdict(double figure, bool ok)
{
    return isnan(figure) ? "- (not run)" : pass(ok);
}

/* "%8.2f" or dashes for NaN. */
static void num(double v, int width, int prec)
{
    if (isnan(v))
        printf(" %*s", width, "-");
    else
        printf(" %*.*f", width, prec, v);
}

static void rule(const char *title)
{
    printf("\n== %s ==\n", title);
}

/* Time of an n x n x n or a workload product, ns, in a store. */
static double gemm_ns(const kv_store *k, const char *prefix, const char *which)
{
    return kv_get(k, "gemm.%s.%s_ns", prefix, which);
}

/* ---- the machine ----------------------------------------------------------------- */

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c != NULL) {
                c += 2;
                c[strcspn(c, "\n")] = '\0';
                snprintf(buf, size, "%s", c);
            }
            break;
        }
    fclose(f);
}

static void header(const report_run *r)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    int threads = 0;
    if (soma_threads_get(&threads) != SOMA_OK)
        threads = -1;
    printf("soma-bench: soma %s\n", soma_version_string());
    printf("machine: %s, %ld online CPUs; load average (1 min) at start %.2f\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), r->load_start);
    printf("BLAS build: %s, %d threads\n", soma_backend_config(), threads);
    printf("naive build: textbook triple loop, 1 thread%s\n",
           r->have_naive ? "" : " (NOT RUN: soma-bench-naive missing or failed)");
    printf(
        "clock: CLOCK_MONOTONIC; GFLOP/s = 2mnk / t; medians unless said otherwise%s\n",
        r->quick ? "; QUICK MODE (fewer repetitions: figures not for quoting)" : "");
}

/* ---- 1. GEMM sweep ---------------------------------------------------------------- */

typedef struct sweep_row {
    char label[24], prefix[24];
    size_t m, n, k;
} sweep_row;

/* Every row of the sweep: squares, then W1, W4, W3 products. */
static size_t sweep_rows(sweep_row *rows, size_t max)
{
    size_t n = 0;
    for (size_t s = 4; s <= SQ_MAX && n < max; s *= 2) {
        sweep_row r = {"", "", s, s, s};
        snprintf(r.label, sizeof r.label, "square %zu", s);
        snprintf(r.prefix, sizeof r.prefix, "sq.%zu", s);
        rows[n++] = r;
    }
    const char *names[3] = {"w1", "w4", "w3"};
    const size_t *sizes[3] = {W1_SIZES, W4_SIZES, W3_SIZES};
    const size_t batch[3] = {W1_ROWS, W4_BATCH, W3_BATCH};
    for (int w = 0; w < 3; w++) {
        product p[MAX_PRODUCTS];
        size_t np = step_products(sizes[w], 3, batch[w], p);
        for (size_t i = 0; i < np && n < max; i++) {
            sweep_row r = {"", "", p[i].m, p[i].n, p[i].k};
            snprintf(r.label, sizeof r.label, "%.3s %.4s %s", names[w], p[i].id,
                     p[i].ta   ? "(A^T B)"
                     : p[i].tb ? "(A B^T)"
                               : "(A B)");
            snprintf(r.prefix, sizeof r.prefix, "%.3s.%.4s", names[w], p[i].id);
            rows[n++] = r;
        }
    }
    return n;
}

/* Worst (largest) blas/naive time ratio over the sweep. */
static double sweep(const report_run *r, char *worst_label, size_t worst_size)
{
    rule("1. GEMM sweep: soma_gemm GFLOP/s, BLAS build beside naive build");
    printf("best and median of 5-11 samples of >= 5 ms (or one call); C restored before "
           "each "
           "sample (beta = 0)\n");
    printf("%-20s %5s %5s %5s | %8s %8s | %8s | %8s %8s | %9s\n", "product", "m", "n",
           "k", "blas", "blas", "cblas", "naive", "naive", "t_blas/");
    printf("%-20s %5s %5s %5s | %8s %8s | %8s | %8s %8s | %9s\n", "", "", "", "", "best",
           "med", "med", "best", "med", "t_naive");
    sweep_row rows[64];
    const size_t n = sweep_rows(rows, 64);
    double worst = 0;
    snprintf(worst_label, worst_size, "-");
    for (size_t i = 0; i < n; i++) {
        const sweep_row *s = &rows[i];
        const double f = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        const double bb = gemm_ns(&r->blas, s->prefix, "best");
        const double bm = gemm_ns(&r->blas, s->prefix, "med");
        const double cm = kv_get(&r->blas, "cblas.%s.med_ns", s->prefix);
        const double nb = gemm_ns(&r->naive, s->prefix, "best");
        const double nm = gemm_ns(&r->naive, s->prefix, "med");
        printf("%-20s %5zu %5zu %5zu |", s->label, s->m, s->n, s->k);
        num(f / bb, 8, 2);
        num(f / bm, 8, 2);
        printf(" |");
        num(f / cm, 8, 2);
        printf(" |");
        num(f / nb, 8, 2);
        num(f / nm, 8, 2);
        printf(" |");
        num(bm / nm, 9, 3);
        printf("\n");
        if (!isnan(bm / nm) && bm / nm > worst) {
            worst = bm / nm;
            snprintf(worst_label, worst_size, "%.23s", s->label);
        }
    }
    printf("(naive skips products above 3e8 flops: seconds per call)\n");
    printf("roofline: cblas_dgemm peak (best sample, n >= 1024) = %.1f GFLOP/s\n",
           kv_get(&r->blas, "roof.peak_gf"));
    return worst > 0 ? worst : NAN; /* NaN: not run */
}

/* The small-product threshold: the BLAS build's loop against cblas_dgemm. */
static void threshold(const report_run *r)
{
    rule("Small-product threshold (SOMA_GEMM_SMALL_MAX_KN in lib/gemm_small.c)");
    if (!r->have_loop) {
        printf("soma-bench-loop not run (a naive-only build has no BLAS to compare)\n");
        return;
    }
    printf("median ns per call through soma_gemm with every product on the small-product "
           "kernel\n(loop build), beside cblas_dgemm called directly; the threshold "
           "is on k*n, the size of op(B)\n");
    printf("%-20s %8s %8s | %9s %9s %9s\n", "product", "m*n*k", "k*n", "loop ns",
           "cblas ns", "loop/cblas");
    sweep_row rows[64];
    const size_t n = sweep_rows(rows, 64);
    double largest_win = 0, smallest_loss = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const sweep_row *s = &rows[i];
        const double lm = gemm_ns(&r->loop, s->prefix, "med");
        const double cm = kv_get(&r->blas, "cblas.%s.med_ns", s->prefix);
        if (isnan(lm))
            continue;
        const double mnk = (double)s->m * (double)s->n * (double)s->k;
        const double kn = (double)s->k * (double)s->n;
        printf("%-20s %8.0f %8.0f |", s->label, mnk, kn);
        num(lm, 9, 0);
        num(cm, 9, 0);
        num(lm / cm, 9, 2);
        printf("\n");
        if (lm < cm && kn > largest_win)
            largest_win = kn;
        if (lm >= cm && kn < smallest_loss)
            smallest_loss = kn;
    }
    printf("loop faster than cblas_dgemm up to k*n = %.0f; slower from k*n = %.0f; "
           "compiled threshold: see docs/performance.md\n",
           largest_win, smallest_loss);
}

/* ---- 2. Workloads -------------------------------------------------------------------
 */

typedef struct targets {
    double w3_ratio, w4_outside, w3_speedup, worst_gemm, w1_ratio, w4_ratio;
    char worst_label[32];
    /* float32 beside float64 (issue 13): W3 time ratio, W3 roofline ratio
     * against its own sgemm replay, the larger accuracy gap of W3 and W4,
     * W3's fit allocations ratio. */
    double f32_time, f32_roof, f32_acc_gap, f32_mem;
    /* issue 12: products / step of W3 and W4 at 1 and 2 threads (section
     * 6), W1's time per epoch (s), single-row predict (ns), activation
     * targets missed. */
    double share[2][2]; /* [w3, w4][1 thread, 2 threads] */
    double w1_epoch, predict_ns;
    int act_misses;
} targets;

/* Median and best time of a workload's fits over every round, seconds. */
static double wl_time(const kv_store *k, const char *name, bool best)
{
    double med = NAN, b = NAN;
    size_t n = 0;
    bench_run_times(k, name, &med, &b, &n);
    return best ? b : med;
}

/* Over the fits of a workload that have a replay of the step's products
 * just before them: the median of replay * steps / fit time (the share of
 * the fit that the products alone take, pair by pair) and the median
 * replay time in ns. False when there is no pair. */
static bool paired_share(const kv_store *k, const char *name, double steps, double *share,
                         double *replay_med, double *lo, double *hi)
{
    double *q = malloc((k->n + 1) * sizeof *q), *rp = malloc((k->n + 1) * sizeof *rp);
    size_t n = 0;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%.8s.t.", name);
    for (size_t i = 0; q != NULL && rp != NULL && i < k->n; i++) {
        if (strncmp(k->items[i].key, prefix, strlen(prefix)) != 0)
            continue;
        const double rep =
            kv_get(k, "%.8s.replay.%.40s", name, k->items[i].key + strlen(prefix));
        if (isnan(rep))
            continue;
        rp[n] = rep;
        q[n++] = rep * 1e-9 * steps / k->items[i].value;
    }
    if (n > 0) {
        *share = bench_median(q, n); /* sorts q */
        *lo = q[0];
        *hi = q[n - 1];
        *replay_med = bench_median(rp, n);
    }
    free(q);
    free(rp);
    return n > 0;
}

static void workload_line(const char *id, const char *build, const kv_store *k,
                          const char *name, double epoch_rows)
{
    double med = NAN, best = NAN;
    size_t runs = 0;
    bench_run_times(k, name, &med, &best, &runs);
    const double rows = kv_get(k, "%s.timed_rows", name);
    const double scale = isnan(rows) || rows == 0 ? 1.0 : epoch_rows / rows;
    printf("%-3s %-6s", id, build);
    num(med * scale, 10, 4);
    num(best * scale, 10, 4);
    printf(" %5zu", runs);
    num(kv_get(k, "%s.acc", name), 9, 4);
    printf("  %s\n", scale != 1.0 ? "(time extrapolated, see below)" : "");
}

static void workloads(const report_run *r, targets *t)
{
    rule("2. Workloads W1-W4 (WORKLOADS.md): training wall time, one process");
    printf("data: the library's generators as WORKLOADS.md says (make_circles, "
           "make_classification, standard scaler), seeded\n");
    printf("W1, W2 and W4 alternate naive and blas in 3 rounds (median over all rounds); "
           "W3 has 1 round\n");
    printf("%-3s %-6s %10s %10s %5s %9s\n", "id", "build", "median s", "best s", "runs",
           "train acc");
    workload_line("W1", "blas", &r->blas, "w1", W1_ROWS);
    workload_line("W1", "naive", &r->naive, "w1", W1_ROWS);
    for (int b = 0; b < 2; b++) {
        const kv_store *k = b ? &r->naive : &r->blas;
        double med = NAN, best = NAN;
        size_t runs = 0;
        bench_run_times(k, "w2", &med, &best, &runs);
        printf("W2  %-6s", b ? "naive" : "blas");
        num(med, 10, 6);
        num(best, 10, 6);
        printf(" %5zu", runs);
        num(kv_get(k, "w2.acc"), 9, 4);
        const double conv = kv_get(k, "w2.converged_epoch");
        if (conv >= 0)
            printf("  %.0f epochs, converged (zero errors) at epoch %.0f\n",
                   kv_get(k, "w2.epochs"), conv);
        else
            printf("  %.0f epochs, did not converge\n", kv_get(k, "w2.epochs"));
    }
    workload_line("W3", "blas", &r->blas, "w3", W3_ROWS);
    workload_line("W3", "naive", &r->naive, "w3", W3_ROWS);
    workload_line("W4", "blas", &r->blas, "w4", W4_ROWS);
    workload_line("W4", "naive", &r->naive, "w4", W4_ROWS);

    /* Per-row times and ratios. */
    const double b1 = wl_time(&r->blas, "w1", false),
                 n1 = wl_time(&r->naive, "w1", false);
    const double b4 = wl_time(&r->blas, "w4", false),
                 n4 = wl_time(&r->naive, "w4", false);
    const double t3 = wl_time(&r->blas, "w3", false);
    const double b3 = t3 / kv_get(&r->blas, "w3.timed_rows");
    const double n3 =
        wl_time(&r->naive, "w3", false) / kv_get(&r->naive, "w3.timed_rows");
    t->w1_ratio = b1 / n1;
    t->w4_ratio = b4 / n4;
    t->w3_speedup = n3 / b3;
    printf("\nW3 naive: %.0f of the epoch's %d rows timed (%.0f steps of %d) and scaled "
           "to the "
           "epoch; its accuracy is after those steps only\n",
           kv_get(&r->naive, "w3.timed_rows"), W3_ROWS,
           kv_get(&r->naive, "w3.timed_rows") / W3_BATCH, W3_BATCH);
    printf("ratios t_naive / t_blas: W1 %.2fx, W3 %.1fx (per step), W4 %.2fx\n",
           1 / t->w1_ratio, t->w3_speedup, 1 / t->w4_ratio);

    /* W3: achieved GFLOP/s against soma_gemm on the same shapes. */
    const double step_f = step_flops(W3_SIZES, 3, W3_BATCH);
    const double steps3 = (double)W3_ROWS / W3_BATCH;
    const double epoch_f = step_f * steps3;
    const double gf_train = epoch_f / t3 * 1e-9;
    double replay = NAN, lo3 = NAN, hi3 = NAN;
    t->w3_ratio = NAN;
    paired_share(&r->blas, "w3", steps3, &t->w3_ratio, &replay, &lo3, &hi3);
    const double gf_gemm = step_f / replay;
    printf("\nW3 (BLAS): %.4g GFLOP per epoch (%.0f flops per row: products only), "
           "%.1f GFLOP/s achieved (median fit);\n",
           epoch_f * 1e-9, step_f / W3_BATCH, gf_train);
    printf(
        "  soma_gemm on W3's 8 product shapes, one step's products replayed in order "
        "just before each fit:\n  %.3f ms per step = %.1f GFLOP/s (median; gemm section: "
        "%.3f ms);\n",
        replay * 1e-6, gf_gemm, kv_get(&r->blas, "gemm.w3.step.med_ns") * 1e-6);
    printf(
        "  roofline ratio (training GFLOP/s / soma_gemm GFLOP/s, median over the %.0f "
        "pairs) %.3f (pairs %.3f ... %.3f);\n  step %.3f ms (median fit / %.2f steps), "
        "of which products %.3f ms\n",
        kv_get(&r->blas, "w3.runs"), t->w3_ratio, lo3, hi3, t3 / steps3 * 1e3, steps3,
        replay * 1e-6);
    printf("  training GFLOP/s against the cblas_dgemm peak %.1f GFLOP/s: %.2f\n",
           kv_get(&r->blas, "roof.peak_gf"), gf_train / kv_get(&r->blas, "roof.peak_gf"));

    /* W4: time per step and the share outside soma_gemm. */
    const double steps4 = kv_get(&r->blas, "w4.steps");
    const double us_step = b4 / steps4 * 1e6;
    double in4 = NAN, rep4 = NAN, lo4 = NAN, hi4 = NAN;
    paired_share(&r->blas, "w4", steps4, &in4, &rep4, &lo4, &hi4);
    t->w4_outside = 1.0 - in4;
    printf(
        "\nW4 (BLAS): %.2f us per step (median fit / %.0f steps); its 8 soma_gemm calls "
        "replayed in order\n  just before each fit: %.2f us (median); outside soma_gemm "
        "(median over the pairs): %.0f%% of the step (pairs %.0f%% ... %.0f%%)\n",
        us_step, steps4, rep4 * 1e-3, 100 * t->w4_outside, 100 * (1 - hi4),
        100 * (1 - lo4));
    double n_in = NAN, n_rep = NAN, n_lo, n_hi;
    paired_share(&r->naive, "w4", steps4, &n_in, &n_rep, &n_lo, &n_hi);
    printf("W4 (naive): %.2f us per step; products %.2f us; outside soma_gemm %.0f%%\n",
           n4 / steps4 * 1e6, n_rep * 1e-3, 100 * (1 - n_in));
}

/* ---- 2b. float32 models --------------------------------------------------------- */

/* One line of the precision table: a workload in both precisions. Returns
 * |acc_f32 - acc_f64| (NaN when one is missing). */
static double precision_line(const char *id, const char *build, const kv_store *k,
                             const char *f64, const char *f32, double epoch_rows)
{
    double t[2], acc[2];
    const char *names[2] = {f64, f32};
    for (int p = 0; p < 2; p++) {
        const double rows = kv_get(k, "%s.timed_rows", names[p]);
        const double scale = isnan(rows) || rows == 0 ? 1.0 : epoch_rows / rows;
        t[p] = wl_time(k, names[p], false) * scale;
        acc[p] = kv_get(k, "%s.acc", names[p]);
    }
    printf("%-3s %-6s", id, build);
    num(t[0], 12, 4);
    num(t[1], 12, 4);
    num(t[1] / t[0], 8, 3);
    num(acc[0], 9, 4);
    num(acc[1], 9, 4);
    num(fabs(acc[1] - acc[0]), 7, 4);
    printf("\n");
    return fabs(acc[1] - acc[0]);
}

static void precision(const report_run *r, targets *t)
{
    rule("2b. float32 models beside float64: W3 and W4 (spec.precision)");
    printf("the same data, model and options; float32 models convert rows as they gather "
           "them and\ncompute with float kernels and cblas_sgemm (naive build: a float "
           "triple loop)\n");
    printf("%-3s %-6s %12s %12s %8s %9s %9s %7s\n", "id", "build", "f64 median s",
           "f32 median s", "f32/f64", "f64 acc", "f32 acc", "|dacc|");
    const double g3 = precision_line("W3", "blas", &r->blas, "w3", "w3f32", W3_ROWS);
    precision_line("W3", "naive", &r->naive, "w3", "w3f32", W3_ROWS);
    const double g4 = precision_line("W4", "blas", &r->blas, "w4", "w4f32", W4_ROWS);
    precision_line("W4", "naive", &r->naive, "w4", "w4f32", W4_ROWS);
    t->f32_time = wl_time(&r->blas, "w3f32", false) / wl_time(&r->blas, "w3", false);
    t->f32_acc_gap = isnan(g3) || isnan(g4) ? NAN : fmax(g3, g4);
    printf("(the naive W3 times one to three steps, extrapolated to the epoch; "
           "its accuracy is after those steps)\n");

    /* W3 float32: achieved GFLOP/s against its own products through sgemm. */
    const double step_f = step_flops(W3_SIZES, 3, W3_BATCH);
    const double steps3 = (double)W3_ROWS / W3_BATCH;
    const double t3 = wl_time(&r->blas, "w3f32", false);
    double replay = NAN, lo = NAN, hi = NAN;
    t->f32_roof = NAN;
    paired_share(&r->blas, "w3f32", steps3, &t->f32_roof, &replay, &lo, &hi);
    printf("\nW3 float32 (BLAS): %.1f GFLOP/s achieved (median fit); its 8 products "
           "through cblas_sgemm,\n  replayed in order just before each fit: %.3f ms "
           "per step = %.1f GFLOP/s;\n  roofline ratio (median over the pairs) %.3f "
           "(pairs %.3f ... %.3f)\n",
           step_f * steps3 / t3 * 1e-9, replay * 1e-6, step_f / replay, t->f32_roof, lo,
           hi);

    /* sgemm beside dgemm on W3's shapes (gemm section). */
    product p[MAX_PRODUCTS];
    const size_t n = step_products(W3_SIZES, 3, W3_BATCH, p);
    printf(
        "\ncblas_sgemm beside cblas_dgemm on W3's product shapes (median, GFLOP/s):\n");
    printf("%-5s %-16s %10s %10s %8s\n", "id", "m x n x k", "dgemm", "sgemm", "s/d");
    for (size_t i = 0; i < n; i++) {
        const double f = product_flops(&p[i]);
        const double d = f / kv_get(&r->blas, "cblas.w3.%s.med_ns", p[i].id);
        const double sg = f / kv_get(&r->blas, "sgemm.w3.%s.med_ns", p[i].id);
        char shape[32];
        snprintf(shape, sizeof shape, "%zux%zux%zu", p[i].m, p[i].n, p[i].k);
        printf("%-5s %-16s", p[i].id, shape);
        num(d, 10, 1);
        num(sg, 10, 1);
        num(sg / d, 8, 2);
        printf("\n");
    }
    const double ds = step_f / kv_get(&r->blas, "gemm.w3.step.med_ns"),
                 ss = step_f / kv_get(&r->blas, "sgemm.w3.step.med_ns");
    printf("%-5s %-16s", "step", "(soma_gemm/sgemm)");
    num(ds, 10, 1);
    num(ss, 10, 1);
    num(ss / ds, 8, 2);
    printf("\n");

    /* Memory allocated by one fit of W3. */
    const double m64 = kv_get(&r->blas, "w3.mem.fit_alloc_bytes"),
                 m32 = kv_get(&r->blas, "w3f32.mem.fit_alloc_bytes");
    const double mb = 1.0 / (1024.0 * 1024.0);
    t->f32_mem = m32 / m64;
    printf("\nW3 memory allocated by fit: float64 %.1f MiB, float32 %.1f MiB (%.3f); "
           "model params + grads %.1f / %.1f MiB\n",
           m64 * mb, m32 * mb, t->f32_mem, kv_get(&r->blas, "w3.mem.model_bytes") * mb,
           kv_get(&r->blas, "w3f32.mem.model_bytes") * mb);
}

/* ---- 3. Scaling ----------------------------------------------------------------------
 */

static void scaling(const report_run *r)
{
    rule("3. Scaling");
    printf("rows: one epoch of [2, 64, 64, 1] (tanh, sigmoid + BCE, Adam, batch 32)\n");
    printf("%9s | %10s %10s | %10s %10s\n", "rows n", "blas s", "us/row", "naive s",
           "us/row");
    double first = NAN, last = NAN;
    for (size_t n = 1000; n <= 1000000; n *= 10) {
        const double b = kv_get(&r->blas, "scale.rows.%zu.s", n);
        const double nv = kv_get(&r->naive, "scale.rows.%zu.s", n);
        if (isnan(b) && isnan(nv))
            continue;
        printf("%9zu |", n);
        num(b, 10, 4);
        num(b / (double)n * 1e6, 10, 3);
        printf(" |");
        num(nv, 10, 4);
        num(nv / (double)n * 1e6, 10, 3);
        printf("\n");
        if (!isnan(b)) {
            first = isnan(first) ? b / (double)n : first;
            last = b / (double)n;
        }
    }
    printf("linearity (blas): time per row at the largest n / at n = 1000 = %.3f\n",
           last / first);

    printf("\nwidth: [w, w, w, 10] (relu, softmax + CE, momentum), batch 128\n");
    printf("%6s | %10s %9s | %10s %9s | %9s\n", "w", "blas ms", "GFLOP/s", "naive ms",
           "GFLOP/s", "naive/blas");
    for (size_t w = 64; w <= 2048; w *= 2) {
        const size_t s[4] = {w, w, w, 10};
        const double f = step_flops(s, 3, 128);
        const double b = kv_get(&r->blas, "scale.width.%zu.step_s", w);
        const double nv = kv_get(&r->naive, "scale.width.%zu.step_s", w);
        printf("%6zu |", w);
        num(b * 1e3, 10, 3);
        num(f / b * 1e-9, 9, 2);
        printf(" |");
        num(nv * 1e3, 10, 3);
        num(f / nv * 1e-9, 9, 2);
        printf(" |");
        num(nv / b, 9, 1);
        printf("\n");
    }

    printf("\nbatch: [512, 512, 512, 10] (relu, softmax + CE, momentum): GFLOP/s of "
           "training "
           "against the batch size\n");
    printf("%6s | %10s %9s %10s | %10s %9s\n", "batch", "blas ms", "GFLOP/s", "us/row",
           "naive ms", "GFLOP/s");
    const size_t s[4] = {512, 512, 512, 10};
    for (size_t m = 1; m <= 1024; m *= 2) {
        const double f = step_flops(s, 3, m);
        const double b = kv_get(&r->blas, "scale.batch.%zu.step_s", m);
        const double nv = kv_get(&r->naive, "scale.batch.%zu.step_s", m);
        printf("%6zu |", m);
        num(b * 1e3, 10, 3);
        num(f / b * 1e-9, 9, 2);
        num(b / (double)m * 1e6, 10, 2);
        printf(" |");
        num(nv * 1e3, 10, 3);
        num(f / nv * 1e-9, 9, 2);
        printf("\n");
    }
}

/* ---- 4. Memory
 * ---------------------------------------------------------------------------- */

static void memory(const report_run *r)
{
    rule("4. Memory of W3 (BLAS build)");
    const kv_store *k = &r->blas;
    const double mb = 1.0 / (1024.0 * 1024.0);
    const double params = kv_get(k, "w3.mem.n_params");
    const double data = kv_get(k, "w3.mem.data_bytes");
    const double fit = kv_get(k, "w3.mem.fit_peak_extra_bytes");
    printf("dataset X and Y: %.1f MiB (resident growth when generated: %.1f MiB)\n",
           data * mb, kv_get(k, "w3.mem.data_rss_bytes") * mb);
    printf("model: %.0f parameters; params + grads held by the model: %.1f MiB\n", params,
           kv_get(k, "w3.mem.model_bytes") * mb);
    printf(
        "allocated by fit (counting allocator): %.1f MiB in %.0f calls, all freed at its "
        "end;\n",
        kv_get(k, "w3.mem.fit_alloc_bytes") * mb, kv_get(k, "w3.mem.fit_alloc_calls"));
    printf("  = %.2f x the parameter bytes (momentum velocity 1x, epoch snapshots for "
           "divergence recovery 2x),\n    plus batch buffers and the row permutation;"
           " %.1f%% of the dataset's size: fit %s\n",
           fit / (params * 8.0), 100 * fit / data,
           fit < 0.1 * data ? "does not copy the dataset" : "MAY COPY THE DATASET");
    printf("peak resident memory of the process during fit: %.1f MiB (%.1f MiB before "
           "fit)\n",
           kv_get(k, "w3.mem.peak_rss_bytes") * mb,
           kv_get(k, "w3.mem.rss_before_fit_bytes") * mb);
}

/* ---- 5. Activations
 * ---------------------------------------------------------------------------- */

static int activations(const report_run *r)
{
    rule("5. Activation throughput (elements per ns; inputs uniform in [-8, 8])");
    if (isnan(kv_get(&r->blas, "act.sigmoid.4096.fwd"))) {
        printf("not run\n");
        return -1;
    }
    printf("%-10s %8s %8s %8s %8s %8s %9s %9s  %-24s %s\n", "activation", "n", "fwd",
           "bwd", "libm", "memcpy", "fwd/libm", "t/t_mcpy", "target", "result");
    int misses = 0;
    const size_t sizes[2] = {4096, 4000000};
    for (int s = 0; s < 2; s++) {
        const act_case_info *c;
        for (size_t i = 0; (c = activation_case(i)) != NULL; i++) {
            const char *name = soma_activation_name(c->f);
            const size_t n = sizes[s];
            const double fwd = kv_get(&r->blas, "act.%s.%zu.fwd", name, n);
            const double bwd = kv_get(&r->blas, "act.%s.%zu.bwd", name, n);
            const double lib = kv_get(&r->blas, "act.%s.%zu.libm", name, n);
            const double mc = kv_get(&r->blas, "act.%s.%zu.memcpy", name, n);
            const char *target = "", *result = "";
            if (c->target == 1 && s == 0) {
                target = "fwd >= 4x libm";
                result = pass(fwd / lib >= 4.0);
            } else if (c->target == 2 && s == 1) {
                target = "fwd time <= 2x memcpy";
                result = pass(mc / fwd <= 2.0);
            }
            misses += strcmp(result, "MISS") == 0;
            printf("%-10s %8zu %8.3f %8.3f %8.3f %8.3f %9.2f %9.2f  %-24s %s\n", name, n,
                   fwd, bwd, lib, mc, fwd / lib, mc / fwd, target, result);
        }
    }
    printf("%d activation target(s) missed (docs/performance.md explains each)\n",
           misses);
    return misses;
}

/* ---- 6. Threads
 * ---------------------------------------------------------------------------- */

/* The key prefix of workload w at t threads: the run's own figures (w3.*)
 * when t is the run's count, else the sweep's (w3x1.*). */
static void sweep_name(const report_run *r, const char *w, int t, char *buf, size_t size)
{
    if (kv_get(&r->blas, "run.threads") == (double)t)
        snprintf(buf, size, "%s", w);
    else
        snprintf(buf, size, "%.3sx%d", w, t);
}

static void threads_section(const report_run *r, targets *tg)
{
    rule("6. Threads: the BLAS and soma's passes on one pool (soma_threads_set)");
    const kv_store *k = &r->blas;
    printf("run at %.0f threads; BLAS build: %s\n", kv_get(k, "run.threads"),
           soma_backend_config());
    printf("workloads at each thread count: median fit, and its step's products "
           "replayed just before each fit\n");
    printf("%-3s %7s | %10s %10s %12s | %s\n", "id", "threads", "fit s", "step",
           "products", "products / step (median over pairs)");
    const char *ws[2] = {"w3", "w4"};
    const double rows[2] = {W3_ROWS, W4_ROWS};
    const double batch[2] = {W3_BATCH, W4_BATCH};
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < BENCH_N_SWEEP; i++) {
            const int t = BENCH_SWEEP_THREADS[i];
            char name[16];
            sweep_name(r, ws[w], t, name, sizeof name);
            const double fit = wl_time(k, name, false);
            const double steps = rows[w] / batch[w];
            double share = NAN, rep = NAN, lo = NAN, hi = NAN;
            paired_share(k, name, steps, &share, &rep, &lo, &hi);
            if (t == 1 || t == 2)
                tg->share[w][t - 1] = share;
            printf("%-3s %7d |", w == 0 ? "W3" : "W4", t);
            num(fit, 10, 4);
            if (fit / steps >= 1e-3)
                printf(" %7.3f ms", fit / steps * 1e3);
            else
                printf(" %7.2f us", fit / steps * 1e6);
            if (rep >= 1e6)
                printf(" %9.3f ms |", rep * 1e-6);
            else
                printf(" %9.2f us |", rep * 1e-3);
            num(share, 6, 3);
            printf(" (pairs %.3f ... %.3f)\n", lo, hi);
        }
    printf("\npasses on the pool, ns per call (packed rows x 512); parallel from two "
           "grains: check %.0f, sums %.0f, relu %.0f, sigmoid %.0f doubles (row gather "
           "%.0f)\n",
           kv_get(k, "threads.grain.check"), kv_get(k, "threads.grain.sum"),
           kv_get(k, "threads.grain.relu"), kv_get(k, "threads.grain.sigmoid"),
           kv_get(k, "threads.grain.copy"));
    static const char *const pass[2][2] = {{"check", "sum"}, {"relu", "sigmoid"}};
    static const char *const head[2][2] = {{"check t=1", "col sums t=1"},
                                           {"relu t=1", "sigmoid t=1"}};
    for (int tab = 0; tab < 2; tab++) {
        printf("%s%10s | %12s %12s %7s | %12s %12s %7s\n", tab ? "\n" : "", "doubles",
               head[tab][0], "t=2", "t2/t1", head[tab][1], "t=2", "t2/t1");
        for (size_t n = 8 * 512; n <= 8192 * 512; n *= 2) {
            double t1[2], t2[2];
            for (int j = 0; j < 2; j++) {
                t1[j] = kv_get(k, "threads.%s.%zu.1.med_ns", pass[tab][j], n);
                t2[j] = kv_get(k, "threads.%s.%zu.2.med_ns", pass[tab][j], n);
            }
            if (isnan(t1[0]) && isnan(t1[1]))
                continue;
            printf("%10zu", n);
            for (int j = 0; j < 2; j++) {
                printf(" |");
                num(t1[j], 12, 0);
                num(t2[j], 12, 0);
                num(t2[j] / t1[j], 7, 3);
            }
            printf("\n");
        }
    }
}

/* ---- 7. Single-row prediction ------------------------------------------------ */

static void predict_section(const report_run *r, targets *t)
{
    rule("7. Single-row predict: [64, 32, 10] (relu, softmax) through a predictor");
    const kv_store *ks[3] = {&r->blas, &r->naive, &r->loop};
    const char *names[3] = {"blas", "naive", "loop"};
    printf("%-6s %12s %12s %14s\n", "build", "proba ns", "best ns", "labels ns");
    for (int i = 0; i < 3; i++) {
        const double med = kv_get(ks[i], "predict.proba.med_ns");
        if (isnan(med))
            continue;
        printf("%-6s", names[i]);
        num(med, 12, 1);
        num(kv_get(ks[i], "predict.proba.best_ns"), 12, 1);
        num(kv_get(ks[i], "predict.labels.med_ns"), 14, 1);
        printf("\n");
    }
    printf("(loop: every product on the small-product kernel; its figure is what a "
           "threshold\n covering the net's products would give)\n");
    t->predict_ns = kv_get(&r->blas, "predict.proba.med_ns");
}

/* ---- CSV, previous run, plots
 * ------------------------------------------------------------- */

static bool write_csv(const report_run *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    fprintf(f, "build,key,value\n");
    const kv_store *k[3] = {&r->blas, &r->naive, &r->loop};
    const char *name[3] = {"blas", "naive", "loop"};
    for (int b = 0; b < 3; b++)
        for (size_t i = 0; i < k[b]->n; i++)
            fprintf(f, "%s,%s,%.9g\n", name[b], k[b]->items[i].key, k[b]->items[i].value);
    return fclose(f) == 0;
}

/* Load a CSV written by write_csv into three stores. */
static bool read_csv(const char *path, kv_store *k)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        char *b = strtok(line, ","), *key = strtok(NULL, ","), *v = strtok(NULL, ",\n");
        if (b == NULL || key == NULL || v == NULL || strcmp(b, "build") == 0)
            continue;
        const int i = strcmp(b, "blas") == 0 ? 0 : strcmp(b, "naive") == 0 ? 1 : 2;
        kv_set(&k[i], strtod(v, NULL), "%s", key);
    }
    fclose(f);
    return true;
}

/* A time figure's value in seconds, or NaN when the key is not a time. */
static double as_seconds(const char *key, double v)
{
    const size_t n = strlen(key);
    if (n > 3 && strcmp(key + n - 3, "_ns") == 0)
        return v * 1e-9;
    if (n > 2 && (strcmp(key + n - 2, "_s") == 0 || strcmp(key + n - 2, ".s") == 0))
        return v;
    return NAN;
}

/* Medians above 1 ms compared with the previous run; returns the number
 * beyond 10% (or -1 without a previous run). */
static int determinism(const report_run *r, const char *prev_path)
{
    rule(
        "Determinism: medians above 1 ms against the previous run in the same directory");
    kv_store prev[3] = {{0}, {0}, {0}};
    if (!read_csv(prev_path, prev)) {
        printf("no previous run (%s): run the command again to compare\n", prev_path);
        return -1;
    }
    const kv_store *cur[3] = {&r->blas, &r->naive, &r->loop};
    const char *name[3] = {"blas", "naive", "loop"};
    int compared = 0, beyond = 0;
    double worst = 0;
    for (int b = 0; b < 3; b++)
        for (size_t i = 0; i < cur[b]->n; i++) {
            const kv_item *it = &cur[b]->items[i];
            if (strstr(it->key, "best") != NULL)
                continue;
            const double now = as_seconds(it->key, it->value);
            const double was = as_seconds(it->key, kv_get(&prev[b], "%s", it->key));
            if (isnan(now) || isnan(was) || (now < 1e-3 && was < 1e-3))
                continue;
            compared++;
            const double d = fabs(now - was) / was;
            worst = d > worst ? d : worst;
            if (d > 0.10) {
                beyond++;
                printf("  %-6s %-34s %10.4g s -> %10.4g s (%+.1f%%)\n", name[b], it->key,
                       was, now, 100 * (now - was) / was);
            }
        }
    printf("%d figures compared, %d beyond 10%%, largest change %.1f%%\n", compared,
           beyond, 100 * worst);
    for (int b = 0; b < 3; b++)
        kv_free(&prev[b]);
    return beyond;
}

static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        return false;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d != NULL && !found;
         d = strtok_r(NULL, ":", &save)) {
        char full[4096];
        snprintf(full, sizeof full, "%.3000s/%.100s", d, prog);
        found = access(full, X_OK) == 0;
    }
    free(copy);
    return found;
}

static FILE *open_in(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%.3900s/%.100s", dir, file);
    return fopen(path, "w");
}

static void datum(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fprintf(f, " NaN");
    else
        fprintf(f, " %.6g", v);
}

static bool write_plot_data(const report_run *r, const char *dir)
{
    FILE *g = open_in(dir, "gemm.dat"), *rows = open_in(dir, "rows.dat");
    FILE *width = open_in(dir, "width.dat"), *batch = open_in(dir, "batch.dat");
    bool ok = g && rows && width && batch;
    if (ok) {
        fprintf(g, "# n  blas  cblas  naive  loop  (median GFLOP/s)\n");
        for (size_t n = 4; n <= SQ_MAX; n *= 2) {
            const double f = 2.0 * (double)n * (double)n * (double)n;
            char p[32];
            snprintf(p, sizeof p, "sq.%zu", n);
            fprintf(g, "%zu", n);
            datum(g, f / gemm_ns(&r->blas, p, "med"));
            datum(g, f / kv_get(&r->blas, "cblas.%s.med_ns", p));
            datum(g, f / gemm_ns(&r->naive, p, "med"));
            datum(g, f / gemm_ns(&r->loop, p, "med"));
            fprintf(g, "\n");
        }
        fprintf(rows, "# n  blas_s  naive_s\n");
        for (size_t n = 1000; n <= 1000000; n *= 10) {
            fprintf(rows, "%zu", n);
            datum(rows, kv_get(&r->blas, "scale.rows.%zu.s", n));
            datum(rows, kv_get(&r->naive, "scale.rows.%zu.s", n));
            fprintf(rows, "\n");
        }
        fprintf(width, "# w  blas_gflops  naive_gflops  blas_ms  naive_ms\n");
        for (size_t w = 64; w <= 2048; w *= 2) {
            const size_t s[4] = {w, w, w, 10};
            const double f = step_flops(s, 3, 128);
            const double b = kv_get(&r->blas, "scale.width.%zu.step_s", w);
            const double nv = kv_get(&r->naive, "scale.width.%zu.step_s", w);
            fprintf(width, "%zu", w);
            datum(width, f / b * 1e-9);
            datum(width, f / nv * 1e-9);
            datum(width, b * 1e3);
            datum(width, nv * 1e3);
            fprintf(width, "\n");
        }
        fprintf(batch, "# batch  blas_gflops  naive_gflops\n");
        const size_t s[4] = {512, 512, 512, 10};
        for (size_t m = 1; m <= 1024; m *= 2) {
            const double f = step_flops(s, 3, m);
            fprintf(batch, "%zu", m);
            datum(batch, f / kv_get(&r->blas, "scale.batch.%zu.step_s", m) * 1e-9);
            datum(batch, f / kv_get(&r->naive, "scale.batch.%zu.step_s", m) * 1e-9);
            fprintf(batch, "\n");
        }
    }
    FILE *fs[4] = {g, rows, width, batch};
    for (int i = 0; i < 4; i++)
        if (fs[i] != NULL && fclose(fs[i]) != 0)
            ok = false;
    return ok;
}

static const char PLOT_SCRIPT[] =
    "set terminal pngcairo size 800,500 font ',10'\n"
    "set grid\nset key top left\nset logscale x 2\n"
    "set output 'gemm.png'\n"
    "set title 'soma\\_gemm, square n x n x n (median GFLOP/s)'\n"
    "set xlabel 'n'\nset ylabel 'GFLOP/s'\nset logscale y\n"
    "plot 'gemm.dat' u 1:2 w lp t 'soma\\_gemm, BLAS build', "
    "'' u 1:3 w lp t 'cblas\\_dgemm direct', '' u 1:5 w lp t 'soma\\_gemm, loop build', "
    "'' u 1:4 w lp t 'soma\\_gemm, naive build', %s w l dt 2 t 'cblas\\_dgemm peak'\n"
    "set output 'scaling-rows.png'\nset logscale x 10\nset logscale y 10\n"
    "set title 'one epoch of [2,64,64,1], batch 32, Adam'\n"
    "set xlabel 'rows n'\nset ylabel 'seconds'\n"
    "plot 'rows.dat' u 1:2 w lp t 'BLAS build', '' u 1:3 w lp t 'naive build'\n"
    "set output 'scaling-width.png'\nset logscale x 2\nset logscale y 10\n"
    "set key bottom right\n"
    "set title '[w,w,w,10], batch 128: training GFLOP/s'\n"
    "set xlabel 'width w'\nset ylabel 'GFLOP/s'\n"
    "plot 'width.dat' u 1:2 w lp t 'BLAS build', '' u 1:3 w lp t 'naive build', "
    "%s w l dt 2 t 'cblas\\_dgemm peak'\n"
    "set output 'scaling-batch.png'\nunset logscale y\nset yrange [0:*]\n"
    "set title '[512,512,512,10]: training GFLOP/s against the batch size'\n"
    "set xlabel 'batch size'\nset ylabel 'GFLOP/s'\n"
    "plot 'batch.dat' u 1:2 w lp t 'BLAS build', '' u 1:3 w lp t 'naive build', "
    "%s w l dt 2 t 'cblas\\_dgemm peak'\n";

static void plots(const report_run *r, const char *dir)
{
    /* The plots need the GEMM sweep and the scaling curves. */
    if (isnan(kv_get(&r->blas, "roof.peak_gf")) ||
        isnan(kv_get(&r->blas, "scale.rows.%zu.s", (size_t)1000))) {
        printf("plots: need the gemm and scaling sections (not drawn)\n");
        return;
    }
    if (!write_plot_data(r, dir)) {
        printf("plots: could not write the data files in %s\n", dir);
        return;
    }
    FILE *f = open_in(dir, "plots.gp");
    if (f == NULL)
        return;
    /* A partial run has no peak: gnuplot spells "not a number" NaN. */
    const double peak = kv_get(&r->blas, "roof.peak_gf");
    char p[32] = "NaN";
    if (!isnan(peak))
        snprintf(p, sizeof p, "%g", peak);
    fprintf(f, PLOT_SCRIPT, p, p, p);
    fclose(f);
    if (!on_path("gnuplot")) {
        printf("plots: gnuplot not on PATH; data and script left in %s\n", dir);
        return;
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "cd '%.4000s' && gnuplot plots.gp", dir);
    const int rc = system(cmd);
    printf("plots: %s/{gemm,scaling-rows,scaling-width,scaling-batch}.png%s\n", dir,
           rc == 0 ? "" : " (gnuplot failed)");
}

/* ---- the report
 * ---------------------------------------------------------------------------- */

/* The workloads' medians and best times over every round, as figures of
 * their own (for the CSV and the determinism comparison). */
static void summarize_workloads(kv_store *k)
{
    const char *names[6] = {"w1", "w2", "w3", "w4", "w3f32", "w4f32"};
    for (int i = 0; i < 6; i++) {
        double med, best;
        size_t n;
        if (bench_run_times(k, names[i], &med, &best, &n)) {
            kv_set(k, med, "%s.med_s", names[i]);
            kv_set(k, best, "%s.best_s", names[i]);
            kv_set(k, (double)n, "%s.runs", names[i]);
        }
    }
}

bool report_write(report_run *r, const char *dir)
{
    summarize_workloads(&r->blas);
    summarize_workloads(&r->naive);
    targets t;
    memset(&t, 0, sizeof t);
    header(r);
    t.worst_gemm = sweep(r, t.worst_label, sizeof t.worst_label);
    threshold(r);
    workloads(r, &t);
    precision(r, &t);
    scaling(r);
    memory(r);
    t.act_misses = activations(r);
    for (int w = 0; w < 2; w++)
        t.share[w][0] = t.share[w][1] = NAN;
    threads_section(r, &t);
    predict_section(r, &t);
    t.w1_epoch = wl_time(&r->blas, "w1", false) / W1_EPOCHS;

    char path[4096], prev[4096];
    snprintf(path, sizeof path, "%.3900s/soma-bench.csv", dir);
    snprintf(prev, sizeof prev, "%.3900s/soma-bench.prev.csv", dir);
    rename(path, prev); /* the previous run, if any */
    const int drift = determinism(r, prev);

    rule("Targets");
    printf("%-58s %-26s %s\n", "target", "measured", "result");
    char m[64];
    snprintf(m, sizeof m, "%.3f", t.w3_ratio);
    printf("%-58s %-26s %s\n", "W3 training GFLOP/s >= 0.85 x soma_gemm on W3 shapes", m,
           verdict(t.w3_ratio, t.w3_ratio >= 0.85));
    snprintf(m, sizeof m, "%.0f%% outside", 100 * t.w4_outside);
    printf("%-58s %-26s %s\n", "W4 time outside soma_gemm <= 50% of a step", m,
           verdict(t.w4_outside, t.w4_outside <= 0.5));
    snprintf(m, sizeof m, "%.1fx", t.w3_speedup);
    printf("%-58s %-26s %s\n", "BLAS vs naive >= 30x on W3's steps", m,
           verdict(t.w3_speedup, t.w3_speedup >= 30));
    snprintf(m, sizeof m, "worst %.3f (%s)", t.worst_gemm, t.worst_label);
    printf("%-58s %-26s %s\n", "GEMM sweep: t_blas <= 1.05 t_naive at every size", m,
           verdict(t.worst_gemm, t.worst_gemm <= 1.05));
    snprintf(m, sizeof m, "W1 %.3f, W4 %.3f", t.w1_ratio, t.w4_ratio);
    printf("%-58s %-26s %s\n", "W1 and W4: t_blas <= 1.05 t_naive", m,
           verdict(t.w1_ratio + t.w4_ratio, t.w1_ratio <= 1.05 && t.w4_ratio <= 1.05));
    snprintf(m, sizeof m, "%.3f", t.f32_time);
    printf("%-58s %-26s %s\n", "W3 float32 fit time <= 0.55 x float64", m,
           verdict(t.f32_time, t.f32_time <= 0.55));
    snprintf(m, sizeof m, "%.3f", t.f32_roof);
    printf("%-58s %-26s %s\n", "W3 float32 GFLOP/s >= 0.90 x its sgemm replay", m,
           verdict(t.f32_roof, t.f32_roof >= 0.90));
    snprintf(m, sizeof m, "%.4f", t.f32_acc_gap);
    printf("%-58s %-26s %s\n", "W3, W4 float32 accuracy within 0.01 of float64", m,
           verdict(t.f32_acc_gap, t.f32_acc_gap <= 0.01));
    snprintf(m, sizeof m, "%.3f", t.f32_mem);
    printf("%-58s %-26s %s\n", "W3 float32 fit allocations <= 0.55 x float64", m,
           verdict(t.f32_mem, t.f32_mem <= 0.55));
    snprintf(m, sizeof m, "1 thread %.3f", t.share[0][0]);
    printf("%-58s %-26s %s\n", "W3 products / step >= 0.95 at 1 thread", m,
           verdict(t.share[0][0], t.share[0][0] >= 0.95));
    snprintf(m, sizeof m, "2 threads %.3f", t.share[0][1]);
    printf("%-58s %-26s %s\n", "W3 products / step >= 0.92 at 2 threads", m,
           verdict(t.share[0][1], t.share[0][1] >= 0.92));
    const double w4o = 1.0 - t.share[1][1];
    snprintf(m, sizeof m, "%.0f%% outside (2 threads)", 100 * w4o);
    printf("%-58s %-26s %s\n", "W4 time outside the products <= 35% of a step", m,
           verdict(w4o, w4o <= 0.35));
    snprintf(m, sizeof m, "%.2f us", t.w1_epoch * 1e6);
    printf("%-58s %-26s %s\n", "W1 <= 10 us per epoch", m,
           verdict(t.w1_epoch, t.w1_epoch <= 10e-6));
    snprintf(m, sizeof m, "%.3f us", t.predict_ns * 1e-3);
    printf("%-58s %-26s %s\n", "single-row predict of [64,32,10] <= 0.4 us", m,
           verdict(t.predict_ns, t.predict_ns <= 400));
    snprintf(m, sizeof m, "%d missed", t.act_misses);
    printf("%-58s %-26s %s\n", "activation targets (section 5)", m,
           verdict(t.act_misses < 0 ? NAN : 0.0, t.act_misses == 0));
    if (drift < 0)
        snprintf(m, sizeof m, "no previous run");
    else
        snprintf(m, sizeof m, "%d beyond 10%%", drift);
    printf("%-58s %-26s %s\n", "two runs: medians > 1 ms within 10%", m,
           drift < 0 ? "-" : pass(drift == 0));
    double l[3];
    printf("\nwhole run: %.0f s; load average (1 min) at the end %.2f\n", r->seconds,
           getloadavg(l, 3) == 3 ? l[0] : NAN);

    bool ok = write_csv(r, path);
    printf("figures: %s%s\n", path, ok ? "" : " (WRITE FAILED)");
    plots(r, dir);
    return ok;
}
