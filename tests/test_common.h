/* Helpers shared by the Check suites: a counting, failure-injecting
 * allocator, random matrices, and a runner. */
#ifndef SOMA_TEST_COMMON_H
#define SOMA_TEST_COMMON_H

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <soma.h>

/* Counts allocations and bytes; fails allocation number fail_at (1-based)
 * when fail_at > 0. */
typedef struct test_alloc {
    size_t allocs, frees;
    size_t live_bytes, peak_bytes, total_bytes;
    size_t fail_at;
} test_alloc;

static void *test_alloc_fn(void *user, size_t size, size_t alignment)
{
    test_alloc *t = user;
    t->allocs++;
    if (t->fail_at != 0 && t->allocs == t->fail_at)
        return NULL;
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    void *p = aligned_alloc(alignment, rounded);
    if (p != NULL) {
        t->live_bytes += size;
        t->total_bytes += size;
        if (t->live_bytes > t->peak_bytes)
            t->peak_bytes = t->live_bytes;
    }
    return p;
}

static void test_free_fn(void *user, void *ptr, size_t size)
{
    test_alloc *t = user;
    t->frees++;
    t->live_bytes -= size;
    free(ptr);
}

static inline soma_allocator test_allocator(test_alloc *t)
{
    memset(t, 0, sizeof *t);
    soma_allocator a = {test_alloc_fn, test_free_fn, t};
    return a;
}

/* Fill m with uniform values in [-1, 1) from a seeded generator. */
static inline void test_fill_random(soma_matrix *m, uint64_t seed)
{
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, seed), SOMA_OK);
    for (size_t i = 0; i < m->rows; i++)
        ck_assert_int_eq(soma_rng_uniform_range(&r, m->cols, -1.0, 1.0,
                                                soma_matrix_at(m, i, 0)),
                         SOMA_OK);
}

/* Run one suite; exit status for meson (0 pass, 1 fail). */
static inline int test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
