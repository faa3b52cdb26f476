/**
 * @file threads.h
 * @brief One setting for the threads soma computes on: the BLAS's and its own.
 *
 * soma computes on the calling thread and, for large enough work, on the
 * threads of one pool: the BLAS's. Its own element-wise loops (gathering
 * shuffled rows, column sums, finiteness checks, ...) run in parallel only
 * on that pool, never on threads of their own, and `soma_threads_set` sets
 * the size of both at once.
 *
 * Which pool that is depends on the build (`soma_backend_config()` and the
 * meson summary say which one a build has):
 * - BLAS build with OpenBLAS's OpenMP flavour (the default where it is
 *   installed; meson option `threads`): one OpenMP runtime (GCC's libgomp)
 *   owns every thread; OpenBLAS and soma's loops take turns on the same
 *   team. If the program has loaded another OpenBLAS (the loader matches
 *   libraries by name, so a program that links the pthreads flavour itself
 *   wins), soma notices at run time and runs its own loops on the calling
 *   thread, so that two pools never compete.
 * - BLAS build without it (`-Dthreads=none`, or no OpenMP flavour found):
 *   the BLAS has its own threads, soma's loops run on the calling thread.
 * - naive build: no BLAS; soma's loops use OpenMP when the compiler has it.
 *   The textbook product itself stays single-threaded.
 *
 * soma's own loops give the same bits for any thread count: element-wise
 * work does not depend on how it is split, and sums over many elements add
 * fixed blocks in a fixed order. The BLAS's products may not: OpenBLAS's
 * kernels for the edges of a product differ from its main kernel, and where
 * the edges fall depends on how many threads share the product (OpenBLAS
 * 0.3.21 gives other bits for a 256 x 160 x 128 product with 3 threads than
 * with 1, 2 or 4). A model trained with the naive build, or with products
 * small enough for OpenBLAS to run them on one thread, is the same bits
 * for any setting.
 *
 * Where the setting lives: soma keeps no state of its own. With OpenMP the
 * thread count is OpenMP's `nthreads` setting, which the OpenMP runtime
 * keeps per thread (`omp_set_num_threads` semantics): `soma_threads_set`
 * changes it for the calling thread, and a thread that never called it uses
 * the runtime's default (`OMP_NUM_THREADS`, else one per processor). Without
 * OpenMP it is OpenBLAS's process-wide setting (`openblas_set_num_threads`).
 *
 * With a host program's own threads:
 * - Inside an active OpenMP parallel region of the caller, soma's loops and
 *   OpenBLAS's OpenMP flavour both run on the calling thread only (soma
 *   checks `omp_in_parallel()`), so `#pragma omp parallel` over several
 *   models gives one thread per model and no nested teams.
 * - Several pthreads (or `std::thread`s) that each call soma: with OpenMP,
 *   each calling thread that reaches a parallel loop gets a team of its own,
 *   so k calling threads use up to k x n threads; call `soma_threads_set(1)`
 *   in each of them (or set `OMP_NUM_THREADS=1`) when k already fills the
 *   machine.
 * - MPI: one rank per core and `soma_threads_set(1)` in every rank (the
 *   examples do), or fewer ranks with ranks x threads <= cores.
 */
#ifndef SOMA_THREADS_H
#define SOMA_THREADS_H

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Use n threads for the BLAS and for soma's own loops; 0 = one per
 * processor available to the process (its CPU affinity mask).
 *
 * n above what the build can use is clamped: OpenBLAS's compiled maximum
 * (MAX_THREADS in `soma_backend_config()`); in the naive build 64 (a loop
 * of soma's is cut into at most 64 blocks), or 1 without OpenMP. The value in
 * effect is what `soma_threads_get` reports. Setting more threads than
 * processors oversubscribes the machine: nothing stops it, but it is slower.
 *
 * @return SOMA_OK; SOMA_EINVAL if n < 0; SOMA_ENOTSUP with a CBLAS other than
 *         OpenBLAS, whose threads soma cannot set (its loops then stay serial).
 */
SOMA_API SOMA_NODISCARD soma_status soma_threads_set(int n);

/**
 * @brief *n = the number of threads a product or one of soma's loops started
 * now by the calling thread, outside a parallel region of its own, may use
 * (at least 1).
 * @return SOMA_OK; SOMA_EINVAL if n is NULL; SOMA_ENOTSUP with a CBLAS other
 *         than OpenBLAS.
 */
SOMA_API SOMA_NODISCARD soma_status soma_threads_get(int *n);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_THREADS_H */
