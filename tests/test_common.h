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
        ck_assert_int_eq(
            soma_rng_uniform_range(&r, m->cols, -1.0, 1.0, soma_matrix_at(m, i, 0)),
            SOMA_OK);
}

/* ---- models and targets of the suites that train (test_mlp.c,
 * test_precision.c) ---- */

/* A model from layer sizes, activations, loss, seed and precision. */
static inline soma_mlp *test_make_mlp(const size_t *sizes, size_t n,
                                      soma_activation hidden, soma_activation out,
                                      soma_loss loss, uint64_t seed,
                                      soma_precision precision)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = hidden;
    spec.output = out;
    spec.loss = loss;
    spec.seed = seed;
    spec.precision = precision;
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, n, &spec, NULL, NULL), SOMA_OK);
    return m;
}

/* The parameters of a model of either precision (exact doubles), in a new
 * 1 x n_params matrix. */
static inline soma_matrix test_params_copy(const soma_mlp *m)
{
    soma_matrix p;
    ck_assert_int_eq(soma_matrix_init(&p, 1, soma_mlp_n_params(m), NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_params(m, &p, NULL), SOMA_OK);
    return p;
}

/* Targets for a loss: 0/1 for BCE, one-hot for CE, reals for MSE. */
static inline void test_fill_targets(soma_matrix *Y, soma_loss loss, uint64_t seed)
{
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, seed), SOMA_OK);
    for (size_t i = 0; i < Y->rows; i++) {
        double *y = soma_matrix_at(Y, i, 0);
        uint64_t u;
        ck_assert_int_eq(soma_rng_u64(&r, &u), SOMA_OK);
        for (size_t j = 0; j < Y->cols; j++) {
            if (loss == SOMA_LOSS_MSE)
                ck_assert_int_eq(soma_rng_uniform_range(&r, 1, -1.0, 1.0, &y[j]),
                                 SOMA_OK);
            else if (loss == SOMA_LOSS_BCE)
                y[j] = (double)((u >> j) & 1);
            else
                y[j] = j == u % Y->cols ? 1.0 : 0.0;
        }
    }
}

/* An output activation and loss with k outputs. */
typedef struct test_pairing {
    soma_activation out;
    soma_loss loss;
    size_t k;
} test_pairing;

/* The pairs the gradient checks cover: the fused pairs, the regression
 * pair, and generic compositions whose outputs stay inside the loss's
 * domain. */
static const test_pairing test_pairings[] = {
    {SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE, 1},
    {SOMA_ACTIVATION_SOFTMAX, SOMA_LOSS_CE, 3},
    {SOMA_ACTIVATION_IDENTITY, SOMA_LOSS_MSE, 2},
    {SOMA_ACTIVATION_TANH, SOMA_LOSS_MSE, 1},
    {SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_MSE, 2},
    {SOMA_ACTIVATION_SWISH, SOMA_LOSS_MSE, 1},
    {SOMA_ACTIVATION_SOFTMAX, SOMA_LOSS_MSE, 3},
    {SOMA_ACTIVATION_SOFTMAX, SOMA_LOSS_BCE, 2},
    {SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_CE, 3},
    {SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE, 3},
};
#define TEST_N_PAIRINGS (sizeof test_pairings / sizeof test_pairings[0])

/* A gradient check's problem: a model with `depth` layers (widths 3, 5, 6,
 * ..., then the pairing's k outputs) in the given precision, its biases
 * random in [-0.5, 0.5) so that db is exercised away from special points,
 * and 7 rows of inputs in [-2, 2) with targets for the loss. */
typedef struct test_grad_case {
    soma_mlp *m;
    soma_matrix X, Y;
} test_grad_case;

static inline test_grad_case test_grad_case_make(soma_activation hidden,
                                                 const test_pairing *pr, size_t depth,
                                                 uint64_t seed, soma_precision precision)
{
    size_t sizes[5] = {3};
    for (size_t l = 1; l < depth; l++)
        sizes[l] = 4 + l;
    sizes[depth] = pr->k;
    test_grad_case c;
    c.m = test_make_mlp(sizes, depth + 1, hidden, pr->out, pr->loss, seed, precision);
    for (size_t l = 0; l < depth; l++) {
        soma_matrix b;
        ck_assert_int_eq(soma_matrix_init(&b, 1, sizes[l + 1], NULL), SOMA_OK);
        test_fill_random(&b, seed + 10 + l);
        ck_assert_int_eq(soma_matrix_scale(&b, 0.5), SOMA_OK);
        ck_assert_int_eq(soma_mlp_set_layer(c.m, l, NULL, &b, NULL), SOMA_OK);
        soma_matrix_free(&b);
    }
    ck_assert_int_eq(soma_matrix_init(&c.X, 7, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&c.Y, 7, pr->k, NULL), SOMA_OK);
    test_fill_random(&c.X, seed + 1);
    ck_assert_int_eq(soma_matrix_scale(&c.X, 2.0), SOMA_OK);
    test_fill_targets(&c.Y, pr->loss, seed + 2);
    return c;
}

static inline void test_grad_case_free(test_grad_case *c)
{
    soma_matrix_free(&c->Y);
    soma_matrix_free(&c->X);
    soma_mlp_destroy(c->m);
}

/* fn on every pairing, depth 1 to 3 and L2 0 or 0.3, for one hidden
 * activation, each with its own seed. */
typedef void (*test_grad_fn)(soma_activation hidden, const test_pairing *pr, size_t depth,
                             double l2, uint64_t seed);

static inline void test_each_gradient_case(soma_activation hidden, test_grad_fn fn)
{
    for (size_t p = 0; p < TEST_N_PAIRINGS; p++)
        for (size_t depth = 1; depth <= 3; depth++)
            for (int with_l2 = 0; with_l2 < 2; with_l2++)
                fn(hidden, &test_pairings[p], depth, with_l2 ? 0.3 : 0.0,
                   100 * (uint64_t)hidden + 10 * p + depth);
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
