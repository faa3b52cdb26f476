#include <limits.h>

#include "kernels.h"

#if defined(SOMA_GEMM_NAIVE)
#define BACKEND_NAME "naive"
#else
#define BACKEND_NAME "blas"
#include <cblas.h>
#endif

soma_status soma_gemm(soma_trans trans_a, soma_trans trans_b, double alpha,
                      const soma_matrix *A, const soma_matrix *B, double beta,
                      soma_matrix *C)
{
    if ((trans_a != SOMA_TRANS_NO && trans_a != SOMA_TRANS_YES) ||
        (trans_b != SOMA_TRANS_NO && trans_b != SOMA_TRANS_YES))
        return SOMA_EINVAL;
    SOMA_TRY(soma__matrix_check(A));
    SOMA_TRY(soma__matrix_check(B));
    SOMA_TRY(soma__matrix_check(C));
    const bool ta = trans_a == SOMA_TRANS_YES, tb = trans_b == SOMA_TRANS_YES;
    const size_t m = ta ? A->cols : A->rows, k = ta ? A->rows : A->cols;
    const size_t kb = tb ? B->cols : B->rows, n = tb ? B->rows : B->cols;
    if (k != kb || C->rows != m || C->cols != n)
        return SOMA_EDIM;
    if (soma__matrix_overlap(C, A) || soma__matrix_overlap(C, B))
        return SOMA_EALIAS;
#if !defined(SOMA_GEMM_NAIVE)
    /* CBLAS takes int dimensions. */
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || A->ld > INT_MAX || B->ld > INT_MAX ||
        C->ld > INT_MAX)
        return SOMA_EOVERFLOW;
#endif
    soma__gemm_f64(ta, tb, alpha, A, B, beta, C);
    return SOMA_OK;
}

const char *soma_backend_name(void)
{
    return BACKEND_NAME;
}

const char *soma_backend_config(void)
{
#if defined(SOMA_HAVE_OPENBLAS)
    return openblas_get_config();
#else
    return BACKEND_NAME;
#endif
}
