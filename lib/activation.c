#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const act_names[SOMA_ACTIVATION_COUNT] = {
    [SOMA_ACTIVATION_IDENTITY] = "identity",
    [SOMA_ACTIVATION_SIGMOID] = "sigmoid",
    [SOMA_ACTIVATION_TANH] = "tanh",
    [SOMA_ACTIVATION_RELU] = "relu",
    [SOMA_ACTIVATION_LEAKY_RELU] = "leaky_relu",
    [SOMA_ACTIVATION_ELU] = "elu",
    [SOMA_ACTIVATION_SWISH] = "swish",
    [SOMA_ACTIVATION_SOFTMAX] = "softmax",
};

static bool act_valid(soma_activation f)
{
    return (unsigned)f < SOMA_ACTIVATION_COUNT;
}

const char *soma_activation_name(soma_activation f)
{
    return act_valid(f) ? act_names[f] : NULL;
}

soma_status soma_activation_from_name(const char *name, soma_activation *out)
{
    if (name == NULL || out == NULL)
        return SOMA_EINVAL;
    for (unsigned f = 0; f < SOMA_ACTIVATION_COUNT; f++) {
        if (soma__name_eq(name, act_names[f])) {
            *out = (soma_activation)f;
            return SOMA_OK;
        }
    }
    if (soma__name_eq(name, "leaky-relu") || soma__name_eq(name, "leakyrelu")) {
        *out = SOMA_ACTIVATION_LEAKY_RELU;
        return SOMA_OK;
    }
    return SOMA_EINVAL;
}

double soma_activation_default_alpha(soma_activation f)
{
    switch (f) {
    case SOMA_ACTIVATION_LEAKY_RELU:
        return SOMA_LEAKY_RELU_ALPHA;
    case SOMA_ACTIVATION_ELU:
        return SOMA_ELU_ALPHA;
    default:
        return 0.0;
    }
}

/* ---- public functions ------------------------------------------------------ */

static bool needs_alpha(soma_activation f)
{
    return f == SOMA_ACTIVATION_LEAKY_RELU || f == SOMA_ACTIVATION_ELU;
}

static soma_status check_f(soma_activation f, double alpha)
{
    if (!act_valid(f))
        return SOMA_EINVAL;
    if (needs_alpha(f) && !isfinite(alpha))
        return SOMA_EINVAL;
    return SOMA_OK;
}

/* True when [p, p+n) and [q, q+n) overlap without being the same array. */
static bool partial_overlap(const double *p, const double *q, size_t n)
{
    if (n == 0 || p == q)
        return false;
    uintptr_t p0 = (uintptr_t)p, q0 = (uintptr_t)q, len = n * sizeof(double);
    return p0 < q0 + len && q0 < p0 + len;
}

soma_status soma_activation_forward(soma_activation f, double alpha, size_t n,
                                    const double *z, double *a)
{
    SOMA_TRY(check_f(f, alpha));
    if (n == 0)
        return SOMA_OK;
    size_t bytes;
    if (z == NULL || a == NULL || !soma__doubles_bytes(n, &bytes))
        return SOMA_EINVAL;
    if (partial_overlap(z, a, n))
        return SOMA_EALIAS;
    soma__act_forward_f64(f, alpha, n, z, a);
    return SOMA_OK;
}

soma_status soma_activation_backward(soma_activation f, double alpha, size_t n,
                                     const double *z, const double *a, const double *da,
                                     double *dz)
{
    SOMA_TRY(check_f(f, alpha));
    if (n == 0)
        return SOMA_OK;
    size_t bytes;
    if (z == NULL || a == NULL || da == NULL || dz == NULL ||
        !soma__doubles_bytes(n, &bytes))
        return SOMA_EINVAL;
    if (partial_overlap(dz, z, n) || partial_overlap(dz, a, n) ||
        partial_overlap(dz, da, n))
        return SOMA_EALIAS;
    soma__act_backward_f64(f, alpha, n, z, a, da, dz);
    return SOMA_OK;
}

/* Apply the kernel row by row, or once over the whole block when every
 * matrix is packed and the activation is elementwise. */
static bool flat(soma_activation f, const soma_matrix *x, const soma_matrix *y)
{
    return f != SOMA_ACTIVATION_SOFTMAX && soma__matrix_contiguous(x) &&
           soma__matrix_contiguous(y) && x->ld == y->ld;
}

soma_status soma_activation_forward_matrix(soma_activation f, double alpha,
                                           const soma_matrix *Z, soma_matrix *A)
{
    SOMA_TRY(check_f(f, alpha));
    SOMA_TRY(soma__matrix_check(Z));
    SOMA_TRY(soma__matrix_check(A));
    if (!soma__matrix_same_shape(Z, A))
        return SOMA_EDIM;
    if (soma__matrix_extent(Z) == 0)
        return SOMA_OK;
    if (soma__matrix_bad_alias(A, Z))
        return SOMA_EALIAS;
    if (flat(f, Z, A) && Z->rows > 1) {
        soma__act_forward_f64(f, alpha, Z->rows * Z->cols, Z->data, A->data);
        return SOMA_OK;
    }
    for (size_t i = 0; i < Z->rows; i++)
        soma__act_forward_f64(f, alpha, Z->cols, soma_matrix_at(Z, i, 0),
                              soma_matrix_at(A, i, 0));
    return SOMA_OK;
}

soma_status soma_activation_backward_matrix(soma_activation f, double alpha,
                                            const soma_matrix *Z, const soma_matrix *A,
                                            const soma_matrix *dA, soma_matrix *dZ)
{
    SOMA_TRY(check_f(f, alpha));
    SOMA_TRY(soma__matrix_check(Z));
    SOMA_TRY(soma__matrix_check(A));
    SOMA_TRY(soma__matrix_check(dA));
    SOMA_TRY(soma__matrix_check(dZ));
    if (!soma__matrix_same_shape(Z, A) || !soma__matrix_same_shape(Z, dA) ||
        !soma__matrix_same_shape(Z, dZ))
        return SOMA_EDIM;
    if (soma__matrix_extent(Z) == 0)
        return SOMA_OK;
    if (soma__matrix_bad_alias(dZ, Z) || soma__matrix_bad_alias(dZ, A) ||
        soma__matrix_bad_alias(dZ, dA))
        return SOMA_EALIAS;
    if (flat(f, Z, A) && flat(f, dA, dZ) && Z->ld == dZ->ld && Z->rows > 1) {
        soma__act_backward_f64(f, alpha, Z->rows * Z->cols, Z->data, A->data, dA->data,
                               dZ->data);
        return SOMA_OK;
    }
    for (size_t i = 0; i < Z->rows; i++)
        soma__act_backward_f64(f, alpha, Z->cols, soma_matrix_at(Z, i, 0),
                               soma_matrix_at(A, i, 0), soma_matrix_at(dA, i, 0),
                               soma_matrix_at(dZ, i, 0));
    return SOMA_OK;
}
