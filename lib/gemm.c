#include <limits.h>

#include "internal.h"
#include "vmath.h"

#if defined(SOMA_GEMM_NAIVE)
#define BACKEND_NAME "naive"
#else
#define BACKEND_NAME "blas"
#include <cblas.h>
#endif

void soma__gemm_loop(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                     const double *a, size_t lda, const double *b, size_t ldb,
                     double beta, double *c, size_t ldc)
{
    /* The textbook triple loop: one dot product per element of C. */
    const size_t as_i = ta ? 1 : lda, as_p = ta ? lda : 1;
    const size_t bs_p = tb ? 1 : ldb, bs_j = tb ? ldb : 1;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0;
            for (size_t p = 0; p < k; p++)
                sum += a[i * as_i + p * as_p] * b[p * bs_p + j * bs_j];
            double *cij = c + i * ldc + j;
            *cij = beta == 0.0 ? alpha * sum : alpha * sum + beta * *cij;
        }
    }
}

static void scale_c(soma_matrix *C, double beta)
{
    for (size_t i = 0; i < C->rows; i++) {
        double *r = soma_matrix_at(C, i, 0);
        for (size_t j = 0; j < C->cols; j++)
            r[j] = beta == 0.0 ? 0.0 : beta * r[j];
    }
}

void soma__gemm(bool ta, bool tb, double alpha, const soma_matrix *A,
                const soma_matrix *B, double beta, soma_matrix *C)
{
    const size_t m = C->rows, n = C->cols, k = ta ? A->rows : A->cols;
    if (m == 0 || n == 0)
        return;
    if (k == 0 || alpha == 0.0) {
        scale_c(C, beta);
        return;
    }
#if defined(SOMA_GEMM_NAIVE)
    soma__gemm_loop(ta, tb, m, n, k, alpha, A->data, A->ld, B->data, B->ld, beta, C->data,
                    C->ld);
#else
    /* Callers guarantee every dimension >= 1 and ld >= cols >= 1 (and
     * <= INT_MAX), so the BLAS's own argument check, which prints and
     * returns, cannot fire. */
    if (soma__gemm_small_wins(m, n, k)) {
        soma__gemm_small(ta, tb, m, n, k, alpha, A->data, A->ld, B->data, B->ld, beta,
                         C->data, C->ld);
    } else {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha,
                    A->data, (int)A->ld, B->data, (int)B->ld, beta, C->data, (int)C->ld);
    }
#endif
}

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
    soma__gemm(ta, tb, alpha, A, B, beta, C);
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
