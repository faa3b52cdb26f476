/* Prototypes of lib/kernels_t.c for one type: included by kernels.h once
 * with SOMA_T = double and once with float (no include guard). SOMA__M is
 * the matrix type of the precision. */
#define SOMA__M SOMA_SFX(soma__mat)

/* A view of memory the caller owns (never freed through it). */
static inline SOMA__M SOMA_SFX(soma__mview)(SOMA_T *data, size_t rows, size_t cols,
                                            size_t ld)
{
    SOMA__M m = {.rows = rows, .cols = cols, .ld = ld, .data = data};
    return m;
}

/* ---- activations ---- */

/* a[i] = f(z[i]), i < n (softmax: the n values are one row). a may be z. */
void SOMA_SFX(soma__act_forward)(soma_activation f, SOMA_T alpha, size_t n,
                                 const SOMA_T *z, SOMA_T *a);

/* dz[i] = da[i] f'(z[i]) (softmax: row JVP using a); a = f(z). dz may be da. */
void SOMA_SFX(soma__act_backward)(soma_activation f, SOMA_T alpha, size_t n,
                                  const SOMA_T *z, const SOMA_T *a, const SOMA_T *da,
                                  SOMA_T *dz);

/* z(r, i) += b[i] for r < rows, i < cols (rows ldz apart): the dense
 * layer's bias, before the activation (z keeps the pre-activation). */
void SOMA_SFX(soma__add_bias_rows)(size_t rows, size_t cols, SOMA_T *z, size_t ldz,
                                   const SOMA_T *b);

/* dZ = dA ⊙ f'(Z) (softmax: row JVP with A); dZ may be dA. */
void SOMA_SFX(soma__activation_backward_rows)(soma_activation f, SOMA_T alpha,
                                              const SOMA__M *Z, const SOMA__M *A,
                                              const SOMA__M *dA, SOMA__M *dZ);

/* ---- losses ---- */

/* Sum over rows of the per-row loss of P against Y (accumulated in double);
 * when dP is not NULL it receives d(per-row loss)/dP (dP may be P). */
double SOMA_SFX(soma__loss_sum)(soma_loss loss, const SOMA__M *P, const SOMA__M *Y,
                                SOMA__M *dP);

/* Fused sigmoid+BCE / softmax+CE from logits: P = out(Z) and dZ = d(per-row
 * loss)/dZ when not NULL (dZ may be Z, P must not be); returns the sum over
 * rows of the per-row loss. */
double SOMA_SFX(soma__loss_logits_sum)(soma_loss loss, const SOMA__M *Z, const SOMA__M *Y,
                                       SOMA__M *P, SOMA__M *dZ);

/* ---- flat vectors ---- */

/* One optimizer update of p[0..n) from the gradient (g + l2 p) f (rules
 * in optim.h; l2 = 0 and f = 1 apply g as it is),
 * t being the step count after this step (t >= 1); v and s are the state
 * arrays the kind needs (NULL otherwise). g_zero is NULL or g itself: then
 * each block of g is set to zero right after its update (while it is in
 * cache), for products that then add to it. Runs on the pool in blocks;
 * the bits do not depend on the thread count. */
void SOMA_SFX(soma__optim_update)(const soma_optim_config *c, uint64_t t, double lr,
                                  size_t n, SOMA_T *p, const SOMA_T *g, SOMA_T *v,
                                  SOMA_T *s, double l2, double f, SOMA_T *g_zero);

/* y[i] += a x[i]. */
void SOMA_SFX(soma__axpy)(size_t n, SOMA_T a, const SOMA_T *x, SOMA_T *y);

/* x[i] *= f. */
void SOMA_SFX(soma__scale)(size_t n, SOMA_T f, SOMA_T *x);

/* sum_i x[i]^2 in double, in a fixed order (the same bits in every clone). */
double SOMA_SFX(soma__sum_squares)(size_t n, const SOMA_T *x);

/* The same sum for the values g[i] + l2 p[i], rounded to the type, without
 * writing them (l2 = 0: soma__sum_squares of g). */
double SOMA_SFX(soma__sum_squares_l2)(size_t n, const SOMA_T *g, const SOMA_T *p,
                                      double l2);

/* True when no x[i] is NaN or infinite. */
bool SOMA_SFX(soma__all_finite)(size_t n, const SOMA_T *x);

/* y[i] = x[i] rounded to the type (to nearest; beyond its range: +-inf). */
void SOMA_SFX(soma__from_f64)(size_t n, const double *x, SOMA_T *y);

/* y[i] = x[i] (exact). */
void SOMA_SFX(soma__to_f64)(size_t n, const SOMA_T *x, double *y);

/* ---- products and dense layers ---- */

/* C = alpha op(A) op(B) + beta C after soma_gemm's checks: shapes agree, no
 * aliasing, dims <= INT_MAX (cblas_dgemm / cblas_sgemm, or the loops). */
void SOMA_SFX(soma__gemm)(bool ta, bool tb, SOMA_T alpha, const SOMA__M *A,
                          const SOMA__M *B, SOMA_T beta, SOMA__M *C);

/* The textbook triple loop, sizes > 0 (the naive build's product). */
void SOMA_SFX(soma__gemm_loop)(bool ta, bool tb, size_t m, size_t n, size_t k,
                               SOMA_T alpha, const SOMA_T *a, size_t lda, const SOMA_T *b,
                               size_t ldb, SOMA_T beta, SOMA_T *c, size_t ldc);

/* Z = X W + b, A = f(Z) (A == Z allowed for the identity). */
void SOMA_SFX(soma__dense_forward)(const SOMA__M *W, const SOMA__M *b, soma_activation f,
                                   SOMA_T alpha, const SOMA__M *X, SOMA__M *Z,
                                   SOMA__M *A);

/* dW = scale X^T dZ (+ dW when accumulate), db likewise with column sums,
 * dX = dZ W^T when dX is not NULL. */
void SOMA_SFX(soma__dense_grads)(const SOMA__M *W, const SOMA__M *X, const SOMA__M *dZ,
                                 SOMA_T scale, bool accumulate, SOMA__M *dW, SOMA__M *db,
                                 SOMA__M *dX);

#undef SOMA__M
