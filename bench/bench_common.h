/* Shared pieces of soma-bench: the results store (key -> number), timing
 * with best and median, a counting allocator, and resident-memory readers.
 * Not part of the library. */
#ifndef SOMA_BENCH_COMMON_H
#define SOMA_BENCH_COMMON_H

#include "bench_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <soma.h>

/* ---- results: every figure is a (key, value) pair ------------------------ */

#define KV_KEY 80

typedef struct kv_item {
    char key[KV_KEY];
    double value;
} kv_item;

typedef struct kv_store {
    kv_item *items;
    size_t n, cap;
} kv_store;

/* Set key (printf format) to value, replacing an earlier value. */
void kv_set(kv_store *s, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of key, or NaN when absent. */
double kv_get(const kv_store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "key value" lines. */
int kv_write(const kv_store *s, FILE *f);
int kv_read(kv_store *s, FILE *f);
void kv_free(kv_store *s);

/* ---- run-wide settings --------------------------------------------------- */

typedef struct bench_ctx {
    kv_store *kv;
    bool slow;   /* the naive or loop build: caps on the largest sizes */
    bool quick;  /* fewer repetitions, smaller sweeps (development only) */
    bool loop;   /* the loop build: only products near the threshold */
    int round;   /* sections run in alternating rounds: which one this is */
    int threads; /* soma_threads_set value of the run (--threads; naive: 1) */
} bench_ctx;

/* ---- timing ------------------------------------------------------------------ */

typedef struct bench_stats {
    double best, median; /* nanoseconds per call */
    size_t inner, reps;  /* calls per sample, samples */
} bench_stats;

/*
 * Time fn(ctx): one untimed warm-up call, then `reps` samples of `inner`
 * consecutive calls each (inner chosen so that a sample lasts about
 * target_ns, at most max_inner); `restore(ctx)`, when not NULL, runs
 * untimed before every sample.
 */
bench_stats bench_measure(bench_fn fn, bench_fn restore, void *ctx, double target_ns,
                          size_t max_inner, size_t reps);

/* ---- memory ---------------------------------------------------------------- */

/* Counts what the library allocates through it (aligned_alloc underneath). */
typedef struct count_alloc {
    size_t calls, frees;
    size_t bytes_total; /* sum of every allocation's size */
    size_t live, peak;  /* bytes currently allocated and the most at once */
} count_alloc;

soma_allocator count_alloc_make(count_alloc *c);
void count_alloc_reset(count_alloc *c);

/* VmRSS and VmHWM of this process in bytes (/proc/self/status), 0 if unknown. */
size_t mem_rss_bytes(void);
size_t mem_hwm_bytes(void);
/* Reset VmHWM to the current RSS (Linux: "5" into /proc/self/clear_refs). */
bool mem_hwm_reset(void);

/* ---- helpers ------------------------------------------------------------------ */

/* Exit with a message when st is not SOMA_OK (the bench, not the library). */
void bench_check(soma_status st, const char *what);
double *bench_alloc_doubles(size_t n);
/* Random matrix rows x cols in [-1, 1) (owned; free with soma_matrix_free). */
soma_matrix bench_random_matrix(soma_rng *rng, size_t rows, size_t cols);

/* ---- replay of one training step's soma_gemm calls (bench_gemm.c) ---- */

/* Every product of one step of a net with sizes[0..L] at `batch` rows, in
 * the order fit issues them, each on its own random operands; with f32,
 * cblas_sgemm on float operands (a float32 model's products): NULL in the
 * builds without a CBLAS. */
typedef struct step_work step_work;
step_work *step_replay_create(const size_t *sizes, size_t L, size_t batch, uint64_t seed,
                              bool f32);
/* Median over 3 samples of about target_ns of the time of one step's
 * products, nanoseconds (one untimed warm-up step first). */
double step_replay_ns(step_work *s, double target_ns);
void step_replay_free(step_work *s);

/* ---- sections (one file each) --------------------------------------------------- */

void section_gemm(bench_ctx *b);
void section_w1(bench_ctx *b);
void section_w2(bench_ctx *b);
void section_w3(bench_ctx *b);
void section_w4(bench_ctx *b);
void section_w3f32(bench_ctx *b);
void section_w4f32(bench_ctx *b);
void section_scaling(bench_ctx *b);
void section_memory(bench_ctx *b);
void section_activation(bench_ctx *b);
void section_threads(bench_ctx *b);
void section_predict(bench_ctx *b);

/* The thread counts of the sweeps (W3, W4 and the passes of section
 * threads): BENCH_SWEEP_THREADS[0 .. BENCH_N_SWEEP). */
#define BENCH_N_SWEEP 2
extern const int BENCH_SWEEP_THREADS[BENCH_N_SWEEP];

/* soma_threads_set(n), exiting on failure (n = 1 always works). */
void bench_threads(int n);

/* The activation cases in table order (bench_activation.c): target 0
 * none, 1 "fwd >= 4x libm at n = 4096", 2 "fwd time <= 2x memcpy at 4e6";
 * NULL past the last. */
typedef struct act_case_info {
    soma_activation f;
    int target;
} act_case_info;
const act_case_info *activation_case(size_t i);

/* Median, best and count of the run times recorded as <name>.t.<round>.<i>
 * (seconds); false when there are none. */
bool bench_run_times(const kv_store *k, const char *name, double *median, double *best,
                     size_t *count);

#endif /* SOMA_BENCH_COMMON_H */
