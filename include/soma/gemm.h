/**
 * @file gemm.h
 * @brief General matrix product on soma matrices, and the BLAS backend.
 *
 * The library is built with one backend (meson option `gemm`): `blas`
 * calls `cblas_dgemm` (OpenBLAS or another CBLAS); `naive` is the textbook
 * triple loop and links no BLAS. Both give the same results up to
 * floating-point summation order.
 */
#ifndef SOMA_GEMM_H
#define SOMA_GEMM_H

#include "common.h"
#include "matrix.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Whether gemm uses a matrix as stored or its transpose. */
typedef enum soma_trans {
    SOMA_TRANS_NO = 0, /**< use A */
    SOMA_TRANS_YES = 1 /**< use A^T */
} soma_trans;

/**
 * @brief C = alpha * op(A) * op(B) + beta * C.
 *
 * Shapes: op(A) is m x k, op(B) is k x n, C is m x n, where op(X) is X or
 * X^T as trans_x says. Any leading dimensions (ld >= cols) are accepted.
 *
 * Edge cases, the same in both builds and matching the BLAS reference:
 * - m == 0 or n == 0: nothing is read or written;
 * - k == 0 or alpha == 0: C = beta * C, and A and B are not read;
 * - beta == 0: C is overwritten without being read, so NaN or infinity
 *   already in C does not propagate.
 *
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid matrices or a trans
 *         value other than the two above; SOMA_EDIM when the shapes do not
 *         agree; SOMA_EALIAS when C's storage overlaps A's or B's (BLAS
 *         would silently read partly updated values); SOMA_EOVERFLOW in the
 *         BLAS build when a dimension or ld exceeds INT_MAX (CBLAS takes int).
 *         On error C is untouched.
 */
SOMA_API SOMA_NODISCARD soma_status soma_gemm(soma_trans trans_a, soma_trans trans_b,
                                              double alpha, const soma_matrix *A,
                                              const soma_matrix *B, double beta,
                                              soma_matrix *C);

/** @brief "blas" or "naive": the backend compiled into this library. */
SOMA_API const char *soma_backend_name(void);

/**
 * @brief The BLAS's own description of itself where it offers one
 * (OpenBLAS: `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH
 * ... SkylakeX"), otherwise the backend name. Static storage, never NULL.
 */
SOMA_API const char *soma_backend_config(void);

/**
 * @brief The setting of threads.h under its first name: for n >= 1 the same
 * as `soma_threads_set(n)` (the BLAS's threads and soma's loops together).
 * Kept for programs written against soma 0.1; new code calls
 * `soma_threads_set`.
 * @return SOMA_EINVAL if n < 1, otherwise what `soma_threads_set(n)` returns.
 */
SOMA_API SOMA_NODISCARD soma_status soma_blas_threads_set(int n);

/** @brief The same as `soma_threads_get(n)` (threads.h), under its first name. */
SOMA_API SOMA_NODISCARD soma_status soma_blas_threads_get(int *n);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_GEMM_H */
