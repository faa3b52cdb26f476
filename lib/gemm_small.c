/* The BLAS build's kernel for small products (lib/gemm.c sends a product
 * here when soma__gemm_small_wins says so): for tiny shapes, such as a
 * [2, 4, 4, 1] network's 300 x 4 x 2 or a single row's 1 x 32 x 64, the
 * call into the BLAS (argument checks, dispatch, buffers) costs more than
 * the arithmetic. The naive build does not use it: it keeps the textbook
 * loop, the reference to compare against.
 *
 * C = alpha op(A) op(B) + beta C is computed by tiles of C held in
 * registers: for a tile of MR rows and NR columns, every p adds
 * op(A)(i, p) op(B)(p, j..j+NR), a row of op(B) that is contiguous, so the
 * inner loop over j vectorizes (SSE2, AVX2 or AVX-512 clone, SOMA_VEC). When
 * op(B) = B^T its rows are not contiguous: op(B) is first copied, k x n, into
 * a buffer on the stack (up to PACK_MAX doubles; larger ones, which the
 * threshold never sends here, take dot products along p instead). Tiles
 * with few accumulators add even and odd p into two sets (KU = 2) so that
 * consecutive additions do not wait for each other, and add the two sets at
 * the end. The order of the additions is fixed by the shape alone, so the
 * results are the same on every run and every clone (the library is built
 * without floating-point contraction); they agree with the BLAS's and the
 * textbook loop's to rounding. beta == 0 overwrites C without reading it.
 */
#include <string.h>

#include "internal.h"
#include "vmath.h"

/*
 * Products with m n k at or below this go to the kernel. The value must be
 * measured on a quiet machine (docs/performance.md, "Small-product
 * threshold": soma-bench's loop build sends every product to this kernel
 * and reports, shape by shape, its time beside cblas_dgemm's). Until it is,
 * it is 0, so that no product leaves the BLAS on a guess: the one
 * measurement so far was of an earlier, slower loop, which OpenBLAS 0.3.21
 * (whose small-matrix kernels use FMA) beat at every size of the sweep.
 * Builds may override it (-DSOMA_GEMM_LOOP_MAX_MNK=...): the bench's loop
 * build sets 1e300, and the tests build one to check the kernel through
 * soma_gemm on every shape.
 */
#ifndef SOMA_GEMM_LOOP_MAX_MNK
#define SOMA_GEMM_LOOP_MAX_MNK 0
#endif

bool soma__gemm_small_wins(size_t m, size_t n, size_t k)
{
    return (double)m * (double)n * (double)k <= (double)SOMA_GEMM_LOOP_MAX_MNK;
}

#if !defined(SOMA_GEMM_NAIVE)

/* Doubles of op(B) copied to the stack when op(B) = B^T (16 KiB). */
enum { PACK_MAX = 2048 };

#if defined(__GNUC__)
#define TILE_INLINE static inline __attribute__((always_inline))
#else
#define TILE_INLINE static inline
#endif

/*
 * tile_MRxNR: C(0..MR, 0..NR) from op(A) rows at a (element (r, p) at
 * a[r * as_i + p * as_p]) and op(B) rows at b (element (p, j) at
 * b[p * ldb + j]), with KU sets of partial sums along p. Inlined into the
 * multiversioned driver, so each clone vectorizes it for its own width.
 */
#define DEFINE_TILE(MR, NR, KU)                                                          \
    TILE_INLINE void tile_##MR##x##NR(size_t k, double alpha, const double *a,           \
                                      size_t as_i, size_t as_p, const double *b,         \
                                      size_t ldb, double beta, double *c, size_t ldc)    \
    {                                                                                    \
        double acc[KU][MR][NR];                                                          \
        for (size_t u = 0; u < KU; u++)                                                  \
            for (size_t r = 0; r < MR; r++)                                              \
                for (size_t j = 0; j < NR; j++)                                          \
                    acc[u][r][j] = 0.0;                                                  \
        size_t p = 0;                                                                    \
        for (; p + KU <= k; p += KU)                                                     \
            for (size_t u = 0; u < KU; u++) {                                            \
                const double *bp = b + (p + u) * ldb;                                    \
                for (size_t r = 0; r < MR; r++) {                                        \
                    const double ar = a[r * as_i + (p + u) * as_p];                      \
                    for (size_t j = 0; j < NR; j++)                                      \
                        acc[u][r][j] += ar * bp[j];                                      \
                }                                                                        \
            }                                                                            \
        for (; p < k; p++) {                                                             \
            const double *bp = b + p * ldb;                                              \
            for (size_t r = 0; r < MR; r++) {                                            \
                const double ar = a[r * as_i + p * as_p];                                \
                for (size_t j = 0; j < NR; j++)                                          \
                    acc[0][r][j] += ar * bp[j];                                          \
            }                                                                            \
        }                                                                                \
        for (size_t u = 1; u < KU; u++)                                                  \
            for (size_t r = 0; r < MR; r++)                                              \
                for (size_t j = 0; j < NR; j++)                                          \
                    acc[0][r][j] += acc[u][r][j];                                        \
        for (size_t r = 0; r < MR; r++) {                                                \
            double *cr = c + r * ldc;                                                    \
            if (beta == 0.0) {                                                           \
                for (size_t j = 0; j < NR; j++)                                          \
                    cr[j] = alpha * acc[0][r][j];                                        \
            } else {                                                                     \
                for (size_t j = 0; j < NR; j++)                                          \
                    cr[j] = alpha * acc[0][r][j] + beta * cr[j];                         \
            }                                                                            \
        }                                                                                \
    }

/* Four rows: 8 columns (8 vector accumulators with AVX2), 4, then 1. */
DEFINE_TILE(4, 8, 1)
DEFINE_TILE(4, 4, 2)
DEFINE_TILE(4, 1, 2)
/* One row (the rows left over, and single-row predictions): wide tiles, so
 * that several accumulators are in flight. */
DEFINE_TILE(1, 32, 1)
DEFINE_TILE(1, 8, 2)
DEFINE_TILE(1, 4, 2)
DEFINE_TILE(1, 1, 4)

/* Rows [i, i + 4) of C, every column. */
TILE_INLINE void rows4(size_t n, size_t k, double alpha, const double *a, size_t as_i,
                       size_t as_p, const double *b, size_t ldb, double beta, double *c,
                       size_t ldc)
{
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        tile_4x8(k, alpha, a, as_i, as_p, b + j, ldb, beta, c + j, ldc);
    for (; j + 4 <= n; j += 4)
        tile_4x4(k, alpha, a, as_i, as_p, b + j, ldb, beta, c + j, ldc);
    for (; j < n; j++)
        tile_4x1(k, alpha, a, as_i, as_p, b + j, ldb, beta, c + j, ldc);
}

/* One row of C, every column. */
TILE_INLINE void rows1(size_t n, size_t k, double alpha, const double *a, size_t as_p,
                       const double *b, size_t ldb, double beta, double *c)
{
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        tile_1x32(k, alpha, a, 0, as_p, b + j, ldb, beta, c + j, 0);
    for (; j + 8 <= n; j += 8)
        tile_1x8(k, alpha, a, 0, as_p, b + j, ldb, beta, c + j, 0);
    for (; j + 4 <= n; j += 4)
        tile_1x4(k, alpha, a, 0, as_p, b + j, ldb, beta, c + j, 0);
    for (; j < n; j++)
        tile_1x1(k, alpha, a, 0, as_p, b + j, ldb, beta, c + j, 0);
}

/* op(B) = B^T too large to copy: one dot product per element of C, with
 * eight partial sums when op(A) = A (both contiguous along p). */
static void dot_products(bool ta, size_t m, size_t n, size_t k, double alpha,
                         const double *a, size_t lda, const double *b, size_t ldb,
                         double beta, double *c, size_t ldc)
{
    const size_t as_i = ta ? 1 : lda, as_p = ta ? lda : 1;
    for (size_t i = 0; i < m; i++) {
        const double *ai = a + i * as_i;
        double *ci = c + i * ldc;
        for (size_t j = 0; j < n; j++) {
            const double *bj = b + j * ldb;
            double sum = 0.0;
            size_t p = 0;
            if (as_p == 1) {
                double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                for (; p + 8 <= k; p += 8)
                    for (size_t l = 0; l < 8; l++)
                        s[l] += ai[p + l] * bj[p + l];
                sum = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
            }
            for (; p < k; p++)
                sum += ai[p * as_p] * bj[p];
            ci[j] = beta == 0.0 ? alpha * sum : alpha * sum + beta * ci[j];
        }
    }
}

SOMA_VEC void soma__gemm_small(bool ta, bool tb, size_t m, size_t n, size_t k,
                               double alpha, const double *a, size_t lda, const double *b,
                               size_t ldb, double beta, double *c, size_t ldc)
{
    double pack[PACK_MAX];
    if (tb) {
        if (k * n > PACK_MAX) {
            dot_products(ta, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        /* op(B)(p, j) = B(j, p), copied row by row of op(B). */
        for (size_t j = 0; j < n; j++)
            for (size_t p = 0; p < k; p++)
                pack[p * n + j] = b[j * ldb + p];
        b = pack;
        ldb = n;
    }
    const size_t as_i = ta ? 1 : lda, as_p = ta ? lda : 1;
    size_t i = 0;
    for (; i + 4 <= m; i += 4)
        rows4(n, k, alpha, a + i * as_i, as_i, as_p, b, ldb, beta, c + i * ldc, ldc);
    for (; i < m; i++)
        rows1(n, k, alpha, a + i * as_i, as_p, b, ldb, beta, c + i * ldc);
}

#endif
