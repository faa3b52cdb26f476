#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "vmath.h"

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

/* ---- one element ------------------------------------------------------------
 * Forward values f(x) and derivatives f'(z) (from z, or from a = f(z) where
 * that is cheaper). Each is branch-free: `?:` on doubles becomes a vector
 * select. A NaN argument gives NaN. */

static inline double f_relu(double x)
{
    return x <= 0.0 ? 0.0 : x; /* NaN fails the test and passes through */
}

static inline double f_leaky(double x, double alpha)
{
    return x > 0.0 ? x : alpha * x;
}

static inline double f_elu(double x, double alpha)
{
    double em1 = vm_expm1_neg(x > 0.0 ? 0.0 : x);
    return x > 0.0 ? x : alpha * em1;
}

static inline double f_swish(double x)
{
    /* x sigmoid(x); at -inf the product is -inf * 0, the limit is 0. */
    double y = x * vm_sigmoid(x);
    return x == -INFINITY ? 0.0 : y;
}

/* NaN for NaN z, else v: the derivative of a piecewise function at NaN. */
static inline double nan_or(double z, double v)
{
    return z != z ? z : v;
}

static inline double d_relu(double z)
{
    return z > 0.0 ? 1.0 : nan_or(z, 0.0); /* f'(0) = 0 */
}

static inline double d_leaky(double z, double alpha)
{
    return z > 0.0 ? 1.0 : nan_or(z, alpha); /* f'(0) = alpha */
}

static inline double d_elu(double z, double alpha)
{
    /* alpha e^z for z <= 0 (f'(0) = alpha); NaN gives NaN through exp. */
    double e = vm_exp(z > 0.0 ? 0.0 : z);
    return z > 0.0 ? 1.0 : alpha * nan_or(z, e);
}

static inline double d_sigmoid(double a)
{
    return a * (1.0 - a);
}

static inline double d_tanh(double a)
{
    /* 1 - a^2 factored: 1 - a is exact for a in [1/2, 1], so no cancellation
     * beyond the rounding already in a. */
    return (1.0 - a) * (1.0 + a);
}

static inline double d_swish(double z, double a)
{
    /* f' = s + z s (1 - s) = s + a (1 - s) with s = sigmoid(z) = a / z.
     * For |z| < 2^-600, s = 1/2 to double precision (and a / z would lose
     * bits to subnormal rounding); the infinities take their limits. */
    double s = fabs(z) < 0x1p-600 ? 0.5 : a / z;
    double d = s + a * (1.0 - s);
    d = z == INFINITY ? 1.0 : d;
    return z == -INFINITY ? 0.0 : d;
}

/* ---- vectorized loops -------------------------------------------------------
 * Plain counted loops over arrays that are either disjoint or identical (in
 * place): GCC's runtime alias check lets the vector path run in both cases. */

#define MAP_FORWARD(name, expr)                                                          \
    SOMA_VEC static void name(size_t n, double alpha, const double *z, double *a)        \
    {                                                                                    \
        (void)alpha;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                 \
            const double x = z[i];                                                       \
            a[i] = (expr);                                                               \
        }                                                                                \
    }

MAP_FORWARD(fwd_sigmoid, vm_sigmoid(x))
MAP_FORWARD(fwd_tanh, vm_tanh(x))
MAP_FORWARD(fwd_relu, f_relu(x))
MAP_FORWARD(fwd_leaky, f_leaky(x, alpha))
MAP_FORWARD(fwd_elu, f_elu(x, alpha))
MAP_FORWARD(fwd_swish, f_swish(x))

/* dz[i] = da[i] * (derivative expression in zi, ai, alpha). */
#define MAP_BACKWARD(name, expr)                                                         \
    SOMA_VEC static void name(size_t n, double alpha, const double *z, const double *a,  \
                              const double *da, double *dz)                              \
    {                                                                                    \
        (void)alpha;                                                                     \
        (void)z;                                                                         \
        (void)a;                                                                         \
        for (size_t i = 0; i < n; i++) {                                                 \
            const double zi = z[i], ai = a[i];                                           \
            (void)zi;                                                                    \
            (void)ai;                                                                    \
            dz[i] = da[i] * (expr);                                                      \
        }                                                                                \
    }

MAP_BACKWARD(bwd_sigmoid, d_sigmoid(ai))
MAP_BACKWARD(bwd_tanh, d_tanh(ai))
MAP_BACKWARD(bwd_relu, d_relu(zi))
MAP_BACKWARD(bwd_leaky, d_leaky(zi, alpha))
MAP_BACKWARD(bwd_elu, d_elu(zi, alpha))
MAP_BACKWARD(bwd_swish, d_swish(zi, ai))

static void fwd_identity(size_t n, const double *z, double *a)
{
    if (a != z)
        memcpy(a, z, n * sizeof *a);
}

SOMA_VEC static void bwd_identity(size_t n, const double *z, const double *da, double *dz)
{
    /* f'(z) = 1; a NaN z still makes the derivative NaN, as for the others. */
    for (size_t i = 0; i < n; i++)
        dz[i] = nan_or(z[i], da[i]);
}

/* ---- softmax ---------------------------------------------------------------- */

SOMA_VEC static double row_max(size_t n, const double *x)
{
    return vm_max(n, x);
}

SOMA_VEC static double row_sum_compensated(size_t n, const double *x)
{
    return vm_sum_compensated(n, x);
}

SOMA_VEC static double row_dot(size_t n, const double *a, const double *b)
{
    return vm_dot(n, a, b);
}

SOMA_VEC static void exp_shifted(size_t n, const double *z, double shift, double *e)
{
    for (size_t i = 0; i < n; i++)
        e[i] = vm_exp_diff(z[i], shift);
}

SOMA_VEC static void div_by(size_t n, double *a, double d)
{
    for (size_t i = 0; i < n; i++)
        a[i] /= d;
}

/* A row whose maximum is +inf: the limit (1 at the infinity, 0 elsewhere)
 * when exactly one entry is +inf and nothing is NaN; NaN otherwise. */
static void softmax_inf_row(size_t n, const double *z, double *a)
{
    size_t infs = 0;
    bool nan = false;
    for (size_t i = 0; i < n; i++) {
        infs += z[i] == INFINITY;
        nan |= z[i] != z[i];
    }
    const bool limit = infs == 1 && !nan;
    for (size_t i = 0; i < n; i++)
        a[i] = !limit ? NAN : (z[i] == INFINITY ? 1.0 : 0.0);
}

static void softmax_row(size_t n, const double *z, double *a)
{
    if (n == 0)
        return;
    const double m = row_max(n, z);
    if (m == INFINITY) {
        softmax_inf_row(n, z, a);
        return;
    }
    /* e^(z - max) <= 1 never overflows and the largest term is 1, so the sum
     * is in [1, n]; a NaN anywhere makes the sum and so every output NaN. */
    exp_shifted(n, z, m, a);
    div_by(n, a, row_sum_compensated(n, a));
}

SOMA_VEC static void softmax_jvp_tail(size_t n, const double *a, const double *da,
                                      double dot, double *dz)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = a[i] * (da[i] - dot);
}

static void softmax_row_backward(size_t n, const double *a, const double *da, double *dz)
{
    /* dz_i = a_i (da_i - sum_j a_j da_j): the dot product is taken before any
     * element of dz is written, so dz may be da. */
    const double dot = row_dot(n, a, da);
    softmax_jvp_tail(n, a, da, dot, dz);
}

/* ---- kernels of lib/kernels.h ---------------------------------------------- */

void soma__act_forward(soma_activation f, double alpha, size_t n, const double *z,
                       double *a)
{
    switch (f) {
    case SOMA_ACTIVATION_IDENTITY:
        fwd_identity(n, z, a);
        break;
    case SOMA_ACTIVATION_SIGMOID:
        fwd_sigmoid(n, alpha, z, a);
        break;
    case SOMA_ACTIVATION_TANH:
        fwd_tanh(n, alpha, z, a);
        break;
    case SOMA_ACTIVATION_RELU:
        fwd_relu(n, alpha, z, a);
        break;
    case SOMA_ACTIVATION_LEAKY_RELU:
        /* alpha = 0 is relu, whose limit at -inf is 0 (0 * -inf is NaN). */
        if (alpha == 0.0)
            fwd_relu(n, alpha, z, a);
        else
            fwd_leaky(n, alpha, z, a);
        break;
    case SOMA_ACTIVATION_ELU:
        fwd_elu(n, alpha, z, a);
        break;
    case SOMA_ACTIVATION_SWISH:
        fwd_swish(n, alpha, z, a);
        break;
    case SOMA_ACTIVATION_SOFTMAX:
        softmax_row(n, z, a);
        break;
    default:
        break;
    }
}

SOMA_VEC static void add_bias_rows(size_t rows, size_t cols, double *z, size_t ldz,
                                   const double *b)
{
    for (size_t r = 0; r < rows; r++) {
        double *zr = z + r * ldz;
        for (size_t i = 0; i < cols; i++)
            zr[i] += b[i];
    }
}

void soma__add_bias_rows(size_t rows, size_t cols, double *z, size_t ldz, const double *b)
{
    add_bias_rows(rows, cols, z, ldz, b);
}

void soma__act_backward(soma_activation f, double alpha, size_t n, const double *z,
                        const double *a, const double *da, double *dz)
{
    switch (f) {
    case SOMA_ACTIVATION_IDENTITY:
        bwd_identity(n, z, da, dz);
        break;
    case SOMA_ACTIVATION_SIGMOID:
        bwd_sigmoid(n, alpha, z, a, da, dz);
        break;
    case SOMA_ACTIVATION_TANH:
        bwd_tanh(n, alpha, z, a, da, dz);
        break;
    case SOMA_ACTIVATION_RELU:
        bwd_relu(n, alpha, z, a, da, dz);
        break;
    case SOMA_ACTIVATION_LEAKY_RELU:
        bwd_leaky(n, alpha, z, a, da, dz);
        break;
    case SOMA_ACTIVATION_ELU:
        bwd_elu(n, alpha, z, a, da, dz);
        break;
    case SOMA_ACTIVATION_SWISH:
        bwd_swish(n, alpha, z, a, da, dz);
        break;
    case SOMA_ACTIVATION_SOFTMAX:
        softmax_row_backward(n, a, da, dz);
        break;
    default:
        break;
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
    soma__act_forward(f, alpha, n, z, a);
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
    soma__act_backward(f, alpha, n, z, a, da, dz);
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
        soma__act_forward(f, alpha, Z->rows * Z->cols, Z->data, A->data);
        return SOMA_OK;
    }
    for (size_t i = 0; i < Z->rows; i++)
        soma__act_forward(f, alpha, Z->cols, soma_matrix_at(Z, i, 0),
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
        soma__act_backward(f, alpha, Z->rows * Z->cols, Z->data, A->data, dA->data,
                           dZ->data);
        return SOMA_OK;
    }
    for (size_t i = 0; i < Z->rows; i++)
        soma__act_backward(f, alpha, Z->cols, soma_matrix_at(Z, i, 0),
                           soma_matrix_at(A, i, 0), soma_matrix_at(dA, i, 0),
                           soma_matrix_at(dZ, i, 0));
    return SOMA_OK;
}
