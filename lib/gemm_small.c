/* The BLAS build's kernel for small products (lib/gemm.c sends a product
 * here when soma__gemm_small_wins says so): for tiny shapes, such as a
 * [2, 4, 4, 1] network's 300 x 4 x 2 or a single row's 1 x 32 x 64, the
 * call into the BLAS (argument checks, dispatch, buffers) costs more than
 * the arithmetic. The naive build does not use it: it keeps the textbook
 * loop, the reference to compare against.
 *
 * C = alpha op(A) op(B) + beta C is computed by tiles of C held in
 * registers (4 x 8, 4 x 4 and, for single rows and the rows left over,
 * 1 x 32, 1 x 8, 1 x 4; leftover columns one at a time): for every p, a
 * tile adds op(A)(i, p) times the row op(B)(p, j..j+NR), which is
 * contiguous, in vectors of 4 doubles (GCC's and clang's vector extension:
 * two SSE2 registers or one AVX register, in the clones of SOMA_VEC). When
 * op(B) = B^T its rows are not contiguous: op(B) is first copied, k x n,
 * into a buffer on the stack (up to PACK_MAX doubles; larger ones, which
 * only a build with a huge threshold sends here, take dot products along p
 * instead). The 4-wide tiles add even and odd p into two sets (KU = 2), so
 * that consecutive additions do not wait for each other, and add the two
 * sets at the end; the 8- and 32-wide ones have enough accumulators to add
 * in order (KU = 1). Which tile an element of C falls in depends on n
 * alone (columns below 8 floor(n / 8) are in an 8- or 32-wide tile, then a
 * 4-wide one, then single columns), never on its row, so the order of the
 * additions is fixed by n and k: a row gets the same bits alone or among
 * others, on every run and every clone (the library is built without
 * floating-point contraction); they agree with the BLAS's and the textbook
 * loop's to rounding. beta == 0 overwrites C without reading it.
 */
#include <string.h>

#include "internal.h"
#include "vmath.h"

/*
 * Products whose op(B) has at most this many elements (k n) go to the
 * kernel, whatever m when op(A) = A: the choice must not depend on the
 * number of rows, so that a row predicted alone gets the same bits as in a
 * batch (the kernel itself sums every element of C in an order fixed by n
 * and k, whichever tile its row falls in; see tile() below).
 *
 * Measured with soma-bench's loop build, which sends every product here and
 * reports, shape by shape, its time beside cblas_dgemm's ("Small-product
 * threshold", docs/performance.md), on a quiet 2-core AMD EPYC (Zen 3,
 * AVX2, OpenBLAS 0.3.21 with its ZEN kernels): with k n up to 2048 the
 * kernel took 0.43-0.70 of cblas_dgemm's time on the squares 4 to 32,
 * 0.30-0.91 on W1's and W4's products (0.86 for W4's 64 x 64 x 32 dW) and
 * about 0.25 for a single row through 64 x 32, but 1.26 on W1's one-column
 * 300 x 1 x 4; from k n = 4096 it was slower (the 64 cube 1.02, W4's
 * 32 x 64 x 64 1.14, its A B^T form 4.07). Hence 2048. On CPUs where
 * OpenBLAS has small-matrix kernels (SkylakeX and later:
 * dgemm_small_kernel_*) its calls are cheaper and the crossover lower;
 * builds may override the value (-DSOMA_GEMM_SMALL_MAX_KN=...; 0 sends
 * every product to the BLAS), and the bench's loop build (1e300) measures
 * it again on the machine at hand.
 */
#ifndef SOMA_GEMM_SMALL_MAX_KN
#define SOMA_GEMM_SMALL_MAX_KN 2048
#endif

/*
 * op(A) = A^T as well (the dW products, which a prediction never makes):
 * at most this m n k. Its rows are then columns of A, lda apart, and the
 * columns left over after the 4- and 8-wide tiles are summed down them one
 * element at a time: W3's 512 x 10 x 128 dW took 7.9 times cblas_dgemm's
 * time, a 784 x 2 x 128 one 2.3 times, while up to 64 x 64 x 32 the kernel
 * still won (0.31-0.75; AMD EPYC, as above). 32768 keeps W1's and W4's
 * small dW products on the kernel (W4's 64 x 64 x 32 goes to the BLAS).
 */
#ifndef SOMA_GEMM_SMALL_MAX_MNK_TA
#define SOMA_GEMM_SMALL_MAX_MNK_TA 32768
#endif

bool soma__gemm_small_wins(bool ta, size_t m, size_t n, size_t k)
{
    if ((double)n * (double)k > (double)SOMA_GEMM_SMALL_MAX_KN)
        return false;
    return !ta || (double)m * (double)n * (double)k <= (double)SOMA_GEMM_SMALL_MAX_MNK_TA;
}

#if !defined(SOMA_GEMM_NAIVE)

/* Doubles of op(B) copied to the stack when op(B) = B^T (16 KiB). */
enum { PACK_MAX = 2048 };

#define TILE_INLINE static inline __attribute__((always_inline))

/* Four doubles in a vector register (two in the SSE2 clone). Loads and
 * stores go through memcpy, so no alignment is assumed; they are macros,
 * since a function passing a vector by value would have a different ABI in
 * the SSE2 clone than in the others. */
typedef double v4d __attribute__((vector_size(32)));
#define LOAD4(v, p) memcpy(&(v), (p), sizeof(v4d))
#define STORE4(p, v) memcpy((p), &(v), sizeof(v4d))

/* C(r, 0..4V) for r < R from acc[r][v], v < V: alpha acc (+ beta C). */
TILE_INLINE void store_tile(size_t R, size_t V, v4d acc[4][8], double alpha, double beta,
                            double *c, size_t ldc)
{
    const v4d va = {alpha, alpha, alpha, alpha}, vb = {beta, beta, beta, beta};
    for (size_t r = 0; r < R; r++)
        for (size_t v = 0; v < V; v++) {
            double *cp = c + r * ldc + 4 * v;
            v4d out = va * acc[r][v];
            if (beta != 0.0) {
                v4d old;
                LOAD4(old, cp);
                out += vb * old;
            }
            STORE4(cp, out);
        }
}

/*
 * The tile of R rows (1 or 4) and 4V columns (V = 1, 2 or 8) of C at c:
 * op(A) rows at a (element (r, p) at a[r * as_i + p * as_p]), op(B) rows
 * at b (element (p, j) at b[p * ldb + j]), KU sets of partial sums along p
 * (1 or 2). R, V and KU are constants at every call, so the loops over
 * them unroll and acc stays in registers.
 */
TILE_INLINE void tile(size_t R, size_t V, size_t KU, size_t k, double alpha,
                      const double *a, size_t as_i, size_t as_p, const double *b,
                      size_t ldb, double beta, double *c, size_t ldc)
{
    v4d acc[4][8], acc2[4][8];
    const v4d zero = {0.0, 0.0, 0.0, 0.0};
    for (size_t r = 0; r < R; r++)
        for (size_t v = 0; v < V; v++)
            acc[r][v] = acc2[r][v] = zero;
    size_t p = 0;
    /* A single row (R = 1) loads each vector of op(B)'s row where it uses
     * it: staging the row's V vectors in an array first let GCC turn those
     * loads into a block copy through the stack, whose narrow stores the
     * wide loads then waited for (5x slower at 1 x 64 x 32). Four rows
     * reuse each staged vector four times, and measure faster staged. The
     * additions into each accumulator are in the same order either way. */
    if (R == 1) {
        if (KU == 2) {
            for (; p + 2 <= k; p += 2) {
                const double s0 = a[p * as_p], s1 = a[(p + 1) * as_p];
                const v4d a0 = {s0, s0, s0, s0}, a1 = {s1, s1, s1, s1};
                const double *b0 = b + p * ldb, *b1 = b0 + ldb;
                for (size_t v = 0; v < V; v++) {
                    v4d x0, x1;
                    LOAD4(x0, b0 + 4 * v);
                    LOAD4(x1, b1 + 4 * v);
                    acc[0][v] += a0 * x0;
                    acc2[0][v] += a1 * x1;
                }
            }
        }
        for (; p < k; p++) {
            const double s0 = a[p * as_p];
            const v4d a0 = {s0, s0, s0, s0};
            const double *b0 = b + p * ldb;
            for (size_t v = 0; v < V; v++) {
                v4d x0;
                LOAD4(x0, b0 + 4 * v);
                acc[0][v] += a0 * x0;
            }
        }
    } else {
        if (KU == 2) {
            for (; p + 2 <= k; p += 2) {
                const double *b0 = b + p * ldb, *b1 = b0 + ldb;
                v4d x0[8], x1[8];
                for (size_t v = 0; v < V; v++) {
                    LOAD4(x0[v], b0 + 4 * v);
                    LOAD4(x1[v], b1 + 4 * v);
                }
                for (size_t r = 0; r < R; r++) {
                    const double s0 = a[r * as_i + p * as_p],
                                 s1 = a[r * as_i + (p + 1) * as_p];
                    const v4d a0 = {s0, s0, s0, s0}, a1 = {s1, s1, s1, s1};
                    for (size_t v = 0; v < V; v++) {
                        acc[r][v] += a0 * x0[v];
                        acc2[r][v] += a1 * x1[v];
                    }
                }
            }
        }
        for (; p < k; p++) {
            const double *b0 = b + p * ldb;
            v4d x0[8];
            for (size_t v = 0; v < V; v++)
                LOAD4(x0[v], b0 + 4 * v);
            for (size_t r = 0; r < R; r++) {
                const double s0 = a[r * as_i + p * as_p];
                const v4d a0 = {s0, s0, s0, s0};
                for (size_t v = 0; v < V; v++)
                    acc[r][v] += a0 * x0[v];
            }
        }
    }
    if (KU == 2)
        for (size_t r = 0; r < R; r++)
            for (size_t v = 0; v < V; v++)
                acc[r][v] += acc2[r][v];
    store_tile(R, V, acc, alpha, beta, c, ldc);
}

/* One column of R rows of C (the columns left over, fewer than 4), with
 * four partial sums along p per row: s[r][u] gathers the terms with
 * p = u (mod 4) up to the last multiple of 4, the rest go to s[r][0], and
 * the row's sum is (s0 + s2) + (s1 + s3). Each group of four values of the
 * column of op(B) is loaded once for the R rows. The partial sums live in
 * vectors, laid out to suit how op(A) is stored: along p when a row of
 * op(A) is contiguous (as_p == 1), along r when a column is (as_i == 1,
 * four rows and op(A) = A^T); scalar otherwise. The three forms make the
 * same operations on every s[r][u] in the same order, so which one runs
 * does not change the bits. */
TILE_INLINE void column(size_t R, size_t k, double alpha, const double *a, size_t as_i,
                        size_t as_p, const double *b, size_t ldb, double beta, double *c,
                        size_t ldc)
{
    const v4d zero = {0.0, 0.0, 0.0, 0.0};
    double sum[4];
    size_t p = 0;
    if (as_p == 1) {
        v4d s[4];
        for (size_t r = 0; r < R; r++)
            s[r] = zero;
        for (; p + 4 <= k; p += 4) {
            const v4d bu = {b[p * ldb], b[(p + 1) * ldb], b[(p + 2) * ldb], b[(p + 3) * ldb]};
            for (size_t r = 0; r < R; r++) {
                v4d x;
                LOAD4(x, a + r * as_i + p);
                s[r] += x * bu;
            }
        }
        if (R == 4) {
            /* Transposed, lane r of t[u] is s[r][u]: the row sums come out
             * as one vector instead of four horizontal additions. */
            v4d t[4];
            for (size_t u = 0; u < 4; u++)
                t[u] = (v4d){s[0][u], s[1][u], s[2][u], s[3][u]};
            for (size_t q = p; q < k; q++) {
                const double bq = b[q * ldb];
                const v4d x = {a[q], a[as_i + q], a[2 * as_i + q], a[3 * as_i + q]};
                t[0] += x * (v4d){bq, bq, bq, bq};
            }
            const v4d tot = (t[0] + t[2]) + (t[1] + t[3]);
            for (size_t r = 0; r < 4; r++)
                sum[r] = tot[r];
        } else {
            for (size_t r = 0; r < R; r++) {
                double s0 = s[r][0];
                for (size_t q = p; q < k; q++)
                    s0 += a[r * as_i + q] * b[q * ldb];
                sum[r] = (s0 + s[r][2]) + (s[r][1] + s[r][3]);
            }
        }
    } else if (R == 4 && as_i == 1) {
        v4d s[4] = {zero, zero, zero, zero}; /* s[u][r] */
        for (; p + 4 <= k; p += 4)
            for (size_t u = 0; u < 4; u++) {
                const double bp = b[(p + u) * ldb];
                const v4d bu = {bp, bp, bp, bp};
                v4d x;
                LOAD4(x, a + (p + u) * as_p);
                s[u] += x * bu;
            }
        for (; p < k; p++) {
            const double bp = b[p * ldb];
            const v4d bu = {bp, bp, bp, bp};
            v4d x;
            LOAD4(x, a + p * as_p);
            s[0] += x * bu;
        }
        const v4d t = (s[0] + s[2]) + (s[1] + s[3]);
        for (size_t r = 0; r < 4; r++)
            sum[r] = t[r];
    } else {
        double s[4][4];
        for (size_t r = 0; r < R; r++)
            for (size_t u = 0; u < 4; u++)
                s[r][u] = 0.0;
        for (; p + 4 <= k; p += 4) {
            double bu[4];
            for (size_t u = 0; u < 4; u++)
                bu[u] = b[(p + u) * ldb];
            for (size_t r = 0; r < R; r++)
                for (size_t u = 0; u < 4; u++)
                    s[r][u] += a[r * as_i + (p + u) * as_p] * bu[u];
        }
        for (; p < k; p++) {
            const double bp = b[p * ldb];
            for (size_t r = 0; r < R; r++)
                s[r][0] += a[r * as_i + p * as_p] * bp;
        }
        for (size_t r = 0; r < R; r++)
            sum[r] = (s[r][0] + s[r][2]) + (s[r][1] + s[r][3]);
    }
    for (size_t r = 0; r < R; r++) {
        double *cr = c + r * ldc;
        *cr = beta == 0.0 ? alpha * sum[r] : alpha * sum[r] + beta * *cr;
    }
}

#define tile_4x8(...) tile(4, 2, 1, __VA_ARGS__)
#define tile_4x4(...) tile(4, 1, 2, __VA_ARGS__)
#define tile_4x1(...) column(4, __VA_ARGS__)
#define tile_1x32(...) tile(1, 8, 1, __VA_ARGS__)
#define tile_1x8(...) tile(1, 2, 1, __VA_ARGS__)
#define tile_1x4(...) tile(1, 1, 2, __VA_ARGS__)
#define tile_1x1(...) column(1, __VA_ARGS__)

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

/* Multiversioned, hence static: clang 14 names the dispatcher of an
 * external multiversioned function differently from the function, so that
 * calls from other files would not link (soma__gemm_small below is the
 * entry point). */
SOMA_VEC static void gemm_small_kernel(bool ta, bool tb, size_t m, size_t n, size_t k,
                                       double alpha, const double *a, size_t lda,
                                       const double *b, size_t ldb, double beta,
                                       double *c, size_t ldc)
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

void soma__gemm_small(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                      const double *a, size_t lda, const double *b, size_t ldb,
                      double beta, double *c, size_t ldc)
{
    gemm_small_kernel(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

#endif
