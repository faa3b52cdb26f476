/* Results store, timing, counting allocator and memory readers of soma-bench. */
#include "bench_common.h"
#include "shapes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- results ---------------------------------------------------------------- */

static kv_item *kv_find(const kv_store *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].key, key) == 0)
            return &s->items[i];
    return NULL;
}

static void kv_put(kv_store *s, const char *key, double value)
{
    kv_item *it = kv_find(s, key);
    if (it != NULL) {
        it->value = value;
        return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        kv_item *p = realloc(s->items, cap * sizeof *p);
        if (p == NULL) {
            fprintf(stderr, "soma-bench: out of memory\n");
            exit(EXIT_FAILURE);
        }
        s->items = p;
        s->cap = cap;
    }
    it = &s->items[s->n++];
    snprintf(it->key, sizeof it->key, "%s", key);
    it->value = value;
}

void kv_set(kv_store *s, double value, const char *fmt, ...)
{
    char key[KV_KEY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    kv_put(s, key, value);
}

double kv_get(const kv_store *s, const char *fmt, ...)
{
    char key[KV_KEY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    const kv_item *it = kv_find(s, key);
    return it != NULL ? it->value : NAN;
}

int kv_write(const kv_store *s, FILE *f)
{
    for (size_t i = 0; i < s->n; i++)
        if (fprintf(f, "%s %.17g\n", s->items[i].key, s->items[i].value) < 0)
            return -1;
    return 0;
}

int kv_read(kv_store *s, FILE *f)
{
    char key[KV_KEY], val[64];
    while (fscanf(f, "%79s %63s", key, val) == 2)
        kv_put(s, key, strtod(val, NULL));
    return ferror(f) ? -1 : 0;
}

void kv_free(kv_store *s)
{
    free(s->items);
    memset(s, 0, sizeof *s);
}

bool bench_run_times(const kv_store *k, const char *name, double *median, double *best,
                     size_t *count)
{
    char prefix[KV_KEY];
    snprintf(prefix, sizeof prefix, "%.60s.t.", name);
    const size_t len = strlen(prefix);
    double *t = malloc((k->n + 1) * sizeof *t);
    size_t n = 0;
    if (t == NULL)
        return false;
    for (size_t i = 0; i < k->n; i++)
        if (strncmp(k->items[i].key, prefix, len) == 0)
            t[n++] = k->items[i].value;
    if (n > 0) {
        *median = bench_median(t, n);
        *best = t[0];
    }
    *count = n;
    free(t);
    return n > 0;
}

/* ---- timing ------------------------------------------------------------------ */

bench_stats bench_measure(bench_fn fn, bench_fn restore, void *ctx, double target_ns,
                          size_t max_inner, size_t reps)
{
    double samples[101];
    if (reps > sizeof samples / sizeof samples[0])
        reps = sizeof samples / sizeof samples[0];
    if (restore != NULL)
        restore(ctx);
    double t0 = bench_now_ns();
    fn(ctx); /* warm-up, also the calibration */
    double once = bench_now_ns() - t0;
    size_t inner = 1;
    if (once < target_ns) {
        double want = target_ns / (once > 1.0 ? once : 1.0);
        inner = want > (double)max_inner ? max_inner : (size_t)want;
        if (inner < 1)
            inner = 1;
    }
    for (size_t r = 0; r < reps; r++) {
        if (restore != NULL)
            restore(ctx);
        const double s0 = bench_now_ns();
        for (size_t i = 0; i < inner; i++)
            fn(ctx);
        samples[r] = (bench_now_ns() - s0) / (double)inner;
    }
    bench_stats st = {0, 0, inner, reps};
    st.median = bench_median(samples, reps); /* sorts */
    st.best = samples[0];
    return st;
}

/* ---- memory ---------------------------------------------------------------------- */

static void *count_alloc_fn(void *user, size_t size, size_t alignment)
{
    count_alloc *c = user;
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    void *p = aligned_alloc(alignment, rounded);
    if (p != NULL) {
        c->calls++;
        c->bytes_total += size;
        c->live += size;
        if (c->live > c->peak)
            c->peak = c->live;
    }
    return p;
}

static void count_free_fn(void *user, void *ptr, size_t size)
{
    count_alloc *c = user;
    if (ptr == NULL)
        return;
    c->frees++;
    c->live -= size;
    free(ptr);
}

soma_allocator count_alloc_make(count_alloc *c)
{
    memset(c, 0, sizeof *c);
    soma_allocator a = {count_alloc_fn, count_free_fn, c};
    return a;
}

void count_alloc_reset(count_alloc *c)
{
    c->calls = c->frees = c->bytes_total = 0;
    c->peak = c->live;
}

static size_t status_field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    size_t kb = 0, len = strlen(name);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            kb = strtoull(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

size_t mem_rss_bytes(void)
{
    return status_field("VmRSS");
}

size_t mem_hwm_bytes(void)
{
    return status_field("VmHWM");
}

bool mem_hwm_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return false;
    bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* ---- helpers ---------------------------------------------------------------------- */

void bench_check(soma_status st, const char *what)
{
    if (st != SOMA_OK) {
        fprintf(stderr, "soma-bench: %s: %s\n", what, soma_status_string(st));
        exit(EXIT_FAILURE);
    }
}

double *bench_alloc_doubles(size_t n)
{
    size_t bytes = (n * sizeof(double) + 63) / 64 * 64;
    double *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p == NULL) {
        fprintf(stderr, "soma-bench: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

soma_matrix bench_random_matrix(soma_rng *rng, size_t rows, size_t cols)
{
    soma_matrix m;
    bench_check(soma_matrix_init(&m, rows, cols, NULL), "matrix");
    if (rows * cols > 0)
        bench_check(soma_rng_uniform_range(rng, rows * cols, -1.0, 1.0, m.data), "rng");
    return m;
}

const size_t W1_SIZES[4] = {2, 4, 4, 1};
const size_t W3_SIZES[4] = {784, 512, 512, 10};
const size_t W4_SIZES[4] = {2, 64, 64, 1};

/* ---- threads ---------------------------------------------------------------- */

const int BENCH_SWEEP_THREADS[BENCH_N_SWEEP] = {1, 2};

void bench_threads(int n)
{
    const soma_status st = soma_threads_set(n);
    /* A CBLAS other than OpenBLAS has no thread control: leave it be. */
    if (st != SOMA_ENOTSUP)
        bench_check(st, "threads_set");
}
