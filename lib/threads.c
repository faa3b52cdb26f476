/* The one thread setting (include/soma/threads.h): the BLAS's threads and
 * those of soma's loops (lib/parallel.c). soma keeps no state here: the
 * count lives in OpenMP's per-thread setting and in OpenBLAS. */
#include <limits.h>
#include <string.h>

#include "internal.h"
#include "parallel.h"

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(SOMA_HAVE_OPENBLAS)
#include <cblas.h>
#endif

/* One thread per processor available to the process. */
static int processors(void)
{
#if defined(_OPENMP)
    return omp_get_num_procs();
#elif defined(SOMA_HAVE_OPENBLAS)
    return openblas_get_num_procs();
#else
    return 1;
#endif
}

#if defined(SOMA_HAVE_OPENBLAS) && defined(_OPENMP)
/* OpenBLAS's compiled maximum (MAX_THREADS in its configuration string),
 * INT_MAX when the string does not say. */
static int blas_max_threads(void)
{
    const char *config = openblas_get_config();
    const char *p = config != NULL ? strstr(config, "MAX_THREADS=") : NULL;
    if (p == NULL)
        return INT_MAX;
    long v = 0;
    for (p += strlen("MAX_THREADS="); *p >= '0' && *p <= '9' && v < INT_MAX; p++)
        v = v * 10 + (*p - '0');
    return v >= 1 && v <= INT_MAX ? (int)v : INT_MAX;
}
#endif

soma_status soma_threads_set(int n)
{
    if (n < 0)
        return SOMA_EINVAL;
#if !defined(SOMA_HAVE_OPENBLAS) && !defined(SOMA_GEMM_NAIVE)
    /* Another CBLAS: its threads are not ours to set. */
    return SOMA_ENOTSUP;
#else
    int want = n == 0 ? processors() : n;
    if (want < 1)
        want = 1;
#if defined(SOMA_HAVE_OPENBLAS)
    /* OpenBLAS clamps to its compiled maximum; its OpenMP flavour also sets
     * the calling thread's OpenMP thread count. */
    openblas_set_num_threads(want);
    const int got = openblas_get_num_threads();
#elif defined(_OPENMP)
    /* No BLAS: the most threads a loop can use is its most blocks. */
    const int got = want < SOMA__PAR_MAX_BLOCKS ? want : SOMA__PAR_MAX_BLOCKS;
#endif
#if defined(_OPENMP)
    omp_set_num_threads(got);
#elif defined(SOMA_HAVE_OPENBLAS)
    (void)got;
#else
    (void)want; /* serial loops and no BLAS: 1 is the only count there is */
#endif
    return SOMA_OK;
#endif
}

soma_status soma_threads_get(int *n)
{
    if (n == NULL)
        return SOMA_EINVAL;
#if defined(SOMA_HAVE_OPENBLAS) && defined(_OPENMP)
    /* The OpenMP flavour follows the calling thread's OpenMP count (up to
     * its maximum); the pthreads flavour has one process-wide count. */
    if (openblas_get_parallel() == 2) {
        const int t = omp_get_max_threads(), max = blas_max_threads();
        *n = t < max ? t : max;
    } else {
        *n = openblas_get_num_threads();
    }
    return SOMA_OK;
#elif defined(SOMA_HAVE_OPENBLAS)
    *n = openblas_get_num_threads();
    return SOMA_OK;
#elif defined(SOMA_GEMM_NAIVE) && defined(_OPENMP)
    const int t = omp_get_max_threads();
    *n = t < SOMA__PAR_MAX_BLOCKS ? t : SOMA__PAR_MAX_BLOCKS;
    return SOMA_OK;
#elif defined(SOMA_GEMM_NAIVE)
    *n = 1;
    return SOMA_OK;
#else
    return SOMA_ENOTSUP;
#endif
}

soma_status soma_blas_threads_set(int n)
{
    return n < 1 ? SOMA_EINVAL : soma_threads_set(n);
}

soma_status soma_blas_threads_get(int *n)
{
    return soma_threads_get(n);
}
