/* Weight initialisers, including the orthogonal one (QR of a Gaussian
 * matrix: LAPACKE where the build has it, a plain Householder QR otherwise). */
#include <math.h>
#include <string.h>

#include "mlp_internal.h"

#if defined(SOMA_HAVE_LAPACKE) && !defined(SOMA_GEMM_NAIVE)
#include <lapacke.h>
#define USE_LAPACKE 1
#else
#define USE_LAPACKE 0
#endif

/*
 * Orthonormal columns of an r x c Gaussian matrix G (column-major, ld r,
 * r >= c), overwritten by Q with Q's column j multiplied by the sign of
 * R(j, j). That sign fix makes Q Haar-distributed (Mezzadri 2007).
 * `scratch` holds at least scratch_len doubles; see orthogonal_scratch.
 */
#if USE_LAPACKE
static size_t orthogonal_scratch(size_t r, size_t c)
{
    double query = 0.0;
    double dummy = 0.0, tau = 0.0;
    lapack_int lw1 = 0, lw2 = 0;
    if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)r, (lapack_int)c, &dummy,
                            (lapack_int)r, &tau, &query, -1) == 0)
        lw1 = (lapack_int)query;
    if (LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, (lapack_int)r, (lapack_int)c, (lapack_int)c,
                            &dummy, (lapack_int)r, &tau, &query, -1) == 0)
        lw2 = (lapack_int)query;
    size_t lw = (size_t)(lw1 > lw2 ? lw1 : lw2);
    return 2 * c + (lw > c ? lw : c); /* tau, signs, work */
}

static soma_status orthonormalize(double *G, size_t r, size_t c, double *scratch,
                                  size_t scratch_len)
{
    double *tau = scratch, *sign = scratch + c, *work = scratch + 2 * c;
    lapack_int lwork = (lapack_int)(scratch_len - 2 * c);
    if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)r, (lapack_int)c, G,
                            (lapack_int)r, tau, work, lwork) != 0)
        return SOMA_ENOTSUP;
    for (size_t j = 0; j < c; j++)
        sign[j] = G[j + j * r] < 0.0 ? -1.0 : 1.0;
    if (LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, (lapack_int)r, (lapack_int)c, (lapack_int)c,
                            G, (lapack_int)r, tau, work, lwork) != 0)
        return SOMA_ENOTSUP;
    for (size_t j = 0; j < c; j++)
        for (size_t i = 0; i < r; i++)
            G[i + j * r] *= sign[j];
    return SOMA_OK;
}
#else
static size_t orthogonal_scratch(size_t r, size_t c)
{
    return r * c + c; /* Householder vectors, R's diagonal */
}

/* Householder QR, then Q = H_0 H_1 ... H_{c-1} applied to the first c
 * columns of the identity. */
static soma_status orthonormalize(double *G, size_t r, size_t c, double *scratch,
                                  size_t scratch_len)
{
    (void)scratch_len;
    double *V = scratch, *diag = scratch + r * c;
    for (size_t j = 0; j < c; j++) {
        double *x = G + j * r, norm = 0.0;
        for (size_t i = j; i < r; i++)
            norm += x[i] * x[i];
        norm = sqrt(norm);
        double alpha = x[j] >= 0.0 ? -norm : norm;
        double *v = V + j * r, vnorm = 0.0;
        for (size_t i = 0; i < r; i++)
            v[i] = i < j ? 0.0 : x[i];
        v[j] -= alpha;
        for (size_t i = j; i < r; i++)
            vnorm += v[i] * v[i];
        diag[j] = alpha;
        if (vnorm == 0.0)
            continue; /* column already reduced: H = I */
        vnorm = sqrt(vnorm);
        for (size_t i = j; i < r; i++)
            v[i] /= vnorm;
        for (size_t k = j; k < c; k++) { /* G(:, k) -= 2 v (v . G(:, k)) */
            double *g = G + k * r, dot = 0.0;
            for (size_t i = j; i < r; i++)
                dot += v[i] * g[i];
            for (size_t i = j; i < r; i++)
                g[i] -= 2.0 * dot * v[i];
        }
    }
    /* Q into G: start from I(:, 0..c) and apply the reflectors last first. */
    for (size_t k = 0; k < c; k++)
        for (size_t i = 0; i < r; i++)
            G[i + k * r] = i == k ? 1.0 : 0.0;
    for (size_t j = c; j-- > 0;) {
        const double *v = V + j * r;
        for (size_t k = 0; k < c; k++) {
            double *g = G + k * r, dot = 0.0;
            for (size_t i = j; i < r; i++)
                dot += v[i] * g[i];
            for (size_t i = j; i < r; i++)
                g[i] -= 2.0 * dot * v[i];
        }
    }
    for (size_t j = 0; j < c; j++)
        if (diag[j] < 0.0)
            for (size_t i = 0; i < r; i++)
                G[i + j * r] = -G[i + j * r];
    return SOMA_OK;
}
#endif

/* W (in x out, row-major) = scale * Q, or Q^T when in < out. */
static soma_status draw_orthogonal(const soma_allocator *a, soma_rng *rng, size_t in,
                                   size_t out, double scale, double *W)
{
    const size_t r = in > out ? in : out, c = in > out ? out : in;
    const size_t scratch_len = orthogonal_scratch(r, c);
    size_t g_bytes, s_bytes;
    if (!soma__doubles_bytes(r * c, &g_bytes) ||
        !soma__doubles_bytes(scratch_len, &s_bytes))
        return SOMA_EOVERFLOW;
    double *G = soma__alloc(a, g_bytes), *scratch = soma__alloc(a, s_bytes);
    soma_status st = SOMA_ENOMEM;
    if (G == NULL || scratch == NULL)
        goto done;
    for (size_t i = 0; i < r * c; i++)
        G[i] = soma__rng_normal(rng);
    st = orthonormalize(G, r, c, scratch, scratch_len);
    if (st != SOMA_OK)
        goto done;
    /* Q is r x c column-major: Q(i, j) = G[i + j r]. */
    for (size_t i = 0; i < in; i++)
        for (size_t j = 0; j < out; j++)
            W[i * out + j] = scale * (in >= out ? G[i + j * r] : G[j + i * r]);
done:
    soma__free(a, scratch, s_bytes);
    soma__free(a, G, g_bytes);
    return st;
}

soma_status soma__mlp_draw_weights(const soma_mlp *mlp, soma_init init, double scale,
                                   uint64_t seed, double *params)
{
    soma_rng rng;
    SOMA_TRY(soma_rng_seed(&rng, seed));
    for (size_t l = 0; l < mlp->n_layers; l++) {
        const size_t in = mlp->sizes[l], out = mlp->sizes[l + 1], n = in * out;
        double *W = params + mlp->offset[l];
        const double fan_in = (double)in, fan_sum = (double)(in + out);
        switch (init) {
        case SOMA_INIT_XAVIER_UNIFORM:
        case SOMA_INIT_HE_UNIFORM: {
            double a = init == SOMA_INIT_XAVIER_UNIFORM ? sqrt(6.0 / fan_sum)
                                                        : sqrt(6.0 / fan_in);
            for (size_t i = 0; i < n; i++)
                W[i] = -a + 2.0 * a * soma__rng_uniform(&rng);
            break;
        }
        case SOMA_INIT_XAVIER_NORMAL:
        case SOMA_INIT_HE_NORMAL:
        case SOMA_INIT_NORMAL: {
            double sd = init == SOMA_INIT_XAVIER_NORMAL ? sqrt(2.0 / fan_sum)
                        : init == SOMA_INIT_HE_NORMAL   ? sqrt(2.0 / fan_in)
                                                        : scale;
            for (size_t i = 0; i < n; i++)
                W[i] = sd * soma__rng_normal(&rng);
            break;
        }
        case SOMA_INIT_ORTHOGONAL:
            SOMA_TRY(draw_orthogonal(&mlp->alloc, &rng, in, out, scale, W));
            break;
        default:
            return SOMA_EINVAL;
        }
        memset(W + n, 0, out * sizeof(double)); /* biases */
    }
    return SOMA_OK;
}
