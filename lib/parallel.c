/* soma's own parallel loops: fixed blocks on the BLAS's OpenMP pool. */
#include "parallel.h"

#include <stdbool.h>

#if defined(_OPENMP)
#include <omp.h>
#if !defined(SOMA_GEMM_NAIVE) && defined(SOMA_HAVE_OPENBLAS)
#include <cblas.h>
#endif
#endif

size_t soma__par_blocks(size_t n, size_t grain, size_t *size)
{
    if (grain == 0)
        grain = 1;
    /* As many whole grains as fit, within the cap; then blocks of equal
     * size (the last one shorter) so that no block is a sliver. */
    size_t blocks = n / grain;
    if (blocks < 1)
        blocks = 1;
    if (blocks > SOMA__PAR_MAX_BLOCKS)
        blocks = SOMA__PAR_MAX_BLOCKS;
    *size = n / blocks + (n % blocks != 0);
    if (*size == 0)
        *size = 1;
    return n / *size + (n % *size != 0);
}

#if defined(_OPENMP)
/* True when soma's loops may use the OpenMP pool: it is the BLAS's own
 * (OpenBLAS's OpenMP flavour is the libopenblas.so.0 loaded), or there is
 * no BLAS (naive build). A BLAS build whose loader found another flavour
 * (a program that links OpenBLAS itself comes first) keeps soma's loops on
 * the calling thread: two pools would compete for the cores. */
static bool pool_shared(void)
{
#if defined(SOMA_GEMM_NAIVE)
    return true;
#elif defined(SOMA_HAVE_OPENBLAS)
    return openblas_get_parallel() == 2;
#else
    return false;
#endif
}
#endif

int soma__par_threads(size_t blocks)
{
#if defined(_OPENMP)
    if (blocks < 2 || omp_in_parallel() || !pool_shared())
        return 1;
    const int t = omp_get_max_threads();
    return (size_t)t < blocks ? t : (int)blocks;
#else
    (void)blocks;
    return 1;
#endif
}

void soma__par_for(size_t n, size_t grain, soma__par_fn fn, const void *ctx)
{
    if (n == 0)
        return;
    size_t size;
    const size_t blocks = soma__par_blocks(n, grain, &size);
    const int threads = soma__par_threads(blocks);
    if (threads <= 1) {
        fn(ctx, 0, n);
        return;
    }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        const size_t begin = b * size;
        fn(ctx, begin, n - begin < size ? n : begin + size);
    }
#endif
}

void soma__par_sums(size_t n, size_t grain, size_t k, soma__par_sums_fn fn,
                    const void *ctx, double *out)
{
    for (size_t j = 0; j < k; j++)
        out[j] = 0.0;
    if (n == 0 || k == 0)
        return;
    double part[SOMA__PAR_MAX_BLOCKS * SOMA__PAR_MAX_SUMS];
    size_t size;
    const size_t blocks = soma__par_blocks(n, grain, &size);
    const int threads = soma__par_threads(blocks);
    if (threads <= 1) {
        for (size_t b = 0; b < blocks; b++) {
            const size_t begin = b * size;
            fn(ctx, begin, n - begin < size ? n : begin + size, part + b * k);
        }
    } else {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < blocks; b++) {
            const size_t begin = b * size;
            fn(ctx, begin, n - begin < size ? n : begin + size, part + b * k);
        }
#endif
    }
    /* Block order, whatever thread computed which block. */
    for (size_t b = 0; b < blocks; b++)
        for (size_t j = 0; j < k; j++)
            out[j] += part[b * k + j];
}
