/* Small measuring helpers shared by the benchmarks: a monotonic clock, the
 * median of repeated runs, and a sink that keeps results observable so the
 * compiler cannot drop the work being timed. Header-only; not part of the
 * library. */
#ifndef SOMA_BENCH_UTIL_H
#define SOMA_BENCH_UTIL_H

#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
static inline double bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v in place); n >= 1. */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Written after every timed run so results stay live. */
static volatile double bench_sink;

/* A timed piece of work: fn(ctx) once. */
typedef void (*bench_fn)(void *ctx);

/*
 * Median over `reps` runs of the time of `inner` consecutive calls of fn,
 * divided by `inner`: nanoseconds per call. One untimed warm-up call first
 * (page faults, ifunc resolution, caches).
 */
static inline double bench_time_ns(bench_fn fn, void *ctx, size_t inner, size_t reps)
{
    double samples[101];
    if (reps > sizeof samples / sizeof samples[0])
        reps = sizeof samples / sizeof samples[0];
    fn(ctx);
    for (size_t r = 0; r < reps; r++) {
        const double t0 = bench_now_ns();
        for (size_t i = 0; i < inner; i++)
            fn(ctx);
        samples[r] = (bench_now_ns() - t0) / (double)inner;
    }
    return bench_median(samples, reps);
}

#endif /* SOMA_BENCH_UTIL_H */
