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

soma_status soma_activation_from_name(const char *name, soma_activation *out,
                                      soma_error_info *err)
{
    SOMA_REQUIRE_PTR(name, err, "name");
    SOMA_REQUIRE_PTR(out, err, "out");
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
    return soma__fail(
        err, SOMA_EINVAL, "name",
        "name \"%.64s\" is not an activation: expected identity, sigmoid, tanh, relu, "
        "leaky_relu, elu, swish or softmax",
        name);
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

static soma_status check_f(soma_activation f, double alpha, soma_error_info *err)
{
    SOMA_REQUIRE(act_valid(f), err, SOMA_EINVAL, "f",
                 "f is %d: not a soma_activation value (0 to %d)", (int)f,
                 SOMA_ACTIVATION_COUNT - 1);
    SOMA_REQUIRE(!needs_alpha(f) || isfinite(alpha), err, SOMA_EINVAL, "alpha",
                 "alpha is %g: %s needs a finite alpha", alpha, act_names[f]);
    return SOMA_OK;
}

/* n doubles at z and a: present and not partially overlapping. */
static soma_status check_array(const double *p, const char *name, size_t n,
                               soma_error_info *err)
{
    size_t bytes;
    SOMA_REQUIRE(p != NULL, err, SOMA_EINVAL, name, "%s is NULL with n = %zu", name, n);
    SOMA_REQUIRE(soma__doubles_bytes(n, &bytes), err, SOMA_EINVAL, "n",
                 "n is %zu: n doubles do not fit in memory", n);
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
                                    const double *z, double *a, soma_error_info *err)
{
    SOMA_TRY(check_f(f, alpha, err));
    if (n == 0)
        return SOMA_OK;
    SOMA_TRY(check_array(z, "z", n, err));
    SOMA_TRY(check_array(a, "a", n, err));
    SOMA_REQUIRE(!partial_overlap(z, a, n), err, SOMA_EALIAS, "a",
                 "a overlaps z without being the same array");
    soma__act_forward_f64(f, alpha, n, z, a);
    return SOMA_OK;
}

soma_status soma_activation_backward(soma_activation f, double alpha, size_t n,
                                     const double *z, const double *a, const double *da,
                                     double *dz, soma_error_info *err)
{
    SOMA_TRY(check_f(f, alpha, err));
    if (n == 0)
        return SOMA_OK;
    SOMA_TRY(check_array(z, "z", n, err));
    SOMA_TRY(check_array(a, "a", n, err));
    SOMA_TRY(check_array(da, "da", n, err));
    SOMA_TRY(check_array(dz, "dz", n, err));
    SOMA_REQUIRE(!partial_overlap(dz, z, n) && !partial_overlap(dz, a, n) &&
                     !partial_overlap(dz, da, n),
                 err, SOMA_EALIAS, "dz",
                 "dz overlaps z, a or da without being the same array");
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
                                           const soma_matrix *Z, soma_matrix *A,
                                           soma_error_info *err)
{
    SOMA_TRY(check_f(f, alpha, err));
    SOMA_TRY(soma__check_matrix_arg(Z, "Z", err));
    SOMA_TRY(soma__check_same_shape_arg(A, "A", Z, "Z", err));
    if (soma__matrix_extent(Z) == 0)
        return SOMA_OK;
    SOMA_TRY(soma__check_alias_arg(A, "A", Z, "Z", err));
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
                                            const soma_matrix *dA, soma_matrix *dZ,
                                            soma_error_info *err)
{
    SOMA_TRY(check_f(f, alpha, err));
    SOMA_TRY(soma__check_matrix_arg(Z, "Z", err));
    SOMA_TRY(soma__check_same_shape_arg(A, "A", Z, "Z", err));
    SOMA_TRY(soma__check_same_shape_arg(dA, "dA", Z, "Z", err));
    SOMA_TRY(soma__check_same_shape_arg(dZ, "dZ", Z, "Z", err));
    if (soma__matrix_extent(Z) == 0)
        return SOMA_OK;
    SOMA_TRY(soma__check_alias_arg(dZ, "dZ", Z, "Z", err));
    SOMA_TRY(soma__check_alias_arg(dZ, "dZ", A, "A", err));
    SOMA_TRY(soma__check_alias_arg(dZ, "dZ", dA, "dA", err));
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
