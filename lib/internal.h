/* Private helpers shared by the library sources. Never installed. */
#ifndef SOMA_INTERNAL_H
#define SOMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soma.h"

#define SOMA_ALIGN 64

/* Overflow-checked size arithmetic: false when the result does not fit. */
static inline bool soma__mul(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool soma__add(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Byte count of n doubles, or false on overflow. */
static inline bool soma__doubles_bytes(size_t n, size_t *bytes)
{
    return soma__mul(n, sizeof(double), bytes);
}

/* The effective allocator: the caller's, or the C library's. */
soma_allocator soma__allocator_resolve(const soma_allocator *a);

/* True when a is NULL or has both functions. */
bool soma__allocator_valid(const soma_allocator *a);

/* 64-byte aligned block of `bytes` (> 0) bytes, or NULL. */
void *soma__alloc(const soma_allocator *a, size_t bytes);

/* Release a block from soma__alloc; NULL is ignored. */
void soma__free(const soma_allocator *a, void *p, size_t bytes);

/* Like soma__alloc, then zeroed. */
void *soma__calloc(const soma_allocator *a, size_t bytes);

/* SOMA_OK when m is a valid matrix (see matrix.h), else SOMA_EINVAL. */
soma_status soma__matrix_check(const soma_matrix *m);

/* Number of elements from the first to one past the last (0 if empty). */
size_t soma__matrix_extent(const soma_matrix *m);

/* True when the storage of a and b overlaps. */
bool soma__matrix_overlap(const soma_matrix *a, const soma_matrix *b);

/* True when m has no element. Its data may then be NULL, and no address may
 * be formed from it (NULL + 0 is undefined behaviour): loops over rows must
 * not start. */
static inline bool soma__matrix_empty(const soma_matrix *m)
{
    return m->rows == 0 || m->cols == 0;
}

/* True when out's storage overlaps in's without being the same storage
 * (same data and ld): outputs may be their inputs, never a shifted copy. */
bool soma__matrix_bad_alias(const soma_matrix *out, const soma_matrix *in);

/* True when a and b have the same number of rows and columns. */
static inline bool soma__matrix_same_shape(const soma_matrix *a, const soma_matrix *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

/* True when m's rows are packed (ld == cols, or a single row). */
static inline bool soma__matrix_contiguous(const soma_matrix *m)
{
    return m->ld == m->cols || m->rows <= 1;
}

/* A view that is never NULL-checked: for internal use on checked inputs. */
static inline soma_matrix soma__view(double *data, size_t rows, size_t cols, size_t ld)
{
    soma_matrix m = {rows, cols, ld, data, false, {0}};
    return m;
}

/* Discard a status that cannot be an error here (its arguments were
 * checked); unlike a (void) cast this silences warn_unused_result in gcc. */
static inline void soma__ignore(soma_status s)
{
    (void)s;
}

/* ASCII case-insensitive equality of a with b, where b is lower case (the
 * names of activations, losses, ...): no locale involved. */
bool soma__name_eq(const char *a, const char *b);

/* ---- error detail (lib/errors.c; the convention is in status.h) ---- */

/* Fill err, when not NULL, with argument `arg` (NULL for none), line,
 * column and offset 0 and a printf-style message; return st, so that a
 * check reads `return soma__fail(err, SOMA_EDIM, "Y", "...", ...);`. */
soma_status soma__fail(soma_error_info *err, soma_status st, const char *arg,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* SOMA_OK when the matrix argument `name` is valid (not NULL, ld >= cols,
 * data present when it has elements), else SOMA_EINVAL with the detail. */
soma_status soma__check_matrix_arg(const soma_matrix *m, const char *name,
                                   soma_error_info *err);

/* soma__check_matrix_arg, then SOMA_ENONFINITE naming the first NaN or
 * infinity by row and column. */
soma_status soma__check_finite_arg(const soma_matrix *m, const char *name,
                                   soma_error_info *err);

/* soma__check_matrix_arg, then SOMA_EDIM unless m is rows x cols. */
soma_status soma__check_shape_arg(const soma_matrix *m, const char *name, size_t rows,
                                  size_t cols, soma_error_info *err);

/* SOMA_EALIAS when out overlaps in without being the same storage. */
soma_status soma__check_alias_arg(const soma_matrix *out, const char *out_name,
                                  const soma_matrix *in, const char *in_name,
                                  soma_error_info *err);

/* soma__check_matrix_arg(a), then SOMA_EDIM unless a has b's shape (b
 * already checked). */
soma_status soma__check_same_shape_arg(const soma_matrix *a, const char *a_name,
                                       const soma_matrix *b, const char *b_name,
                                       soma_error_info *err);

/* SOMA_EALIAS when out's storage overlaps in's at all. */
soma_status soma__check_disjoint_arg(const soma_matrix *out, const char *out_name,
                                     const soma_matrix *in, const char *in_name,
                                     soma_error_info *err);

/* SOMA_ENOMEM with "out of memory allocating <bytes> bytes for <what>". */
soma_status soma__fail_nomem(soma_error_info *err, size_t bytes, const char *what);

/* Return soma__fail(err, st, arg, ...) unless cond holds. */
#define SOMA_REQUIRE(cond, err, st, arg, ...)                                            \
    do {                                                                                 \
        if (!(cond))                                                                     \
            return soma__fail((err), (st), (arg), __VA_ARGS__);                          \
    } while (0)

/* SOMA_EINVAL naming a NULL pointer argument. */
#define SOMA_REQUIRE_PTR(p, err, name)                                                   \
    SOMA_REQUIRE((p) != NULL, err, SOMA_EINVAL, name, "%s is NULL", name)

/* Return early with the status when it is not SOMA_OK. */
#define SOMA_TRY(expr)                                                                   \
    do {                                                                                 \
        soma_status soma__st = (expr);                                                   \
        if (soma__st != SOMA_OK)                                                         \
            return soma__st;                                                             \
    } while (0)

/* ---- random numbers (the public API in rng.h wraps these) ---- */

static inline uint64_t soma__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** step. */
static inline uint64_t soma__rng_next(soma_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = soma__rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = soma__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double soma__rng_uniform(soma_rng *r)
{
    return (double)(soma__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n > 0, without modulo bias (Lemire). */
uint64_t soma__rng_below(soma_rng *r, uint64_t n);

/* Standard normal (Box-Muller, second value kept in the rng). */
double soma__rng_normal(soma_rng *r);

/* Fisher-Yates shuffle of idx[0..n). */
void soma__rng_shuffle(soma_rng *r, size_t *idx, size_t n);

/* ---- the BLAS build's small-product kernel (lib/gemm_small.c; the
 * products themselves are in lib/kernels_t.c) ---- */

/* C = alpha op(A) op(B) + beta C with shapes already checked, sizes > 0,
 * for small products of doubles. */
void soma__gemm_small(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                      const double *a, size_t lda, const double *b, size_t ldb,
                      double beta, double *c, size_t ldc);

/* True when an m x n x k product (op(A) = A^T when ta) is small enough for
 * soma__gemm_small to beat the BLAS (the measured thresholds,
 * lib/gemm_small.c). */
bool soma__gemm_small_wins(bool ta, size_t m, size_t n, size_t k);

#endif /* SOMA_INTERNAL_H */
