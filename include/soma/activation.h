/**
 * @file activation.h
 * @brief Activation functions and their gradients, in vectorized loops.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * Elementwise activations work on contiguous arrays and on matrices (any
 * ld); softmax works row by row. Forward: `A = f(Z)`. Backward: `dZ = dA ⊙
 * f'(Z)` for the elementwise ones, and the Jacobian-vector product `dZ_i =
 * A_i (dA_i - sum_j A_j dA_j)` for softmax (row-wise).
 *
 * Accuracy: every forward value is within 1e-14 relative error of the
 * correctly rounded result wherever |f(x)| >= 1e-300 (measured figures in
 * docs/performance.md). NaN in gives NaN out; +-infinity give the
 * mathematical limits (sigmoid(-inf) = 0, tanh(+inf) = 1, elu(-inf) =
 * -alpha, swish(-inf) = 0, relu(+inf) = +inf, ...). Softmax of a row that
 * contains NaN is NaN throughout; of a row with +inf it is the limit when one
 * entry is +inf (that entry 1, others 0) and NaN when several are.
 *
 * Backward: f'(NaN) is NaN for every activation (so a NaN in z, a or da
 * gives NaN in dz), f' at +-infinity is its limit, and dz = da * f'(z) is
 * an IEEE product (an infinite da times f' = 0 is NaN). Sigmoid and tanh
 * take f' from the stored output a (a (1 - a) and (1 - a)(1 + a)): exact
 * up to the rounding already in a, i.e. an absolute error below 4 ulp(1)
 * |da|; in the far tails (|z| > ~20 for sigmoid, > ~10 for tanh) where f'
 * is below ~1e-9 that is a large *relative* error, never a large absolute
 * one. Swish takes sigmoid(z) as a / z (1/2 for |z| < 2^-600).
 *
 * Aliasing: outputs may be the same array as an input (in place), but must
 * not partially overlap one.
 */
#ifndef SOMA_ACTIVATION_H
#define SOMA_ACTIVATION_H

#include <stddef.h>

#include "common.h"
#include "matrix.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Activation functions. `alpha` is used by leaky relu and elu only. */
typedef enum soma_activation {
    SOMA_ACTIVATION_IDENTITY = 0, /**< f(x) = x */
    SOMA_ACTIVATION_SIGMOID,      /**< f(x) = 1 / (1 + e^-x) */
    SOMA_ACTIVATION_TANH,         /**< f(x) = tanh x */
    SOMA_ACTIVATION_RELU,         /**< f(x) = max(0, x); f'(0) = 0 */
    SOMA_ACTIVATION_LEAKY_RELU,   /**< f(x) = x if x > 0 else alpha x; f'(0) = alpha */
    SOMA_ACTIVATION_ELU,     /**< f(x) = x if x > 0 else alpha (e^x - 1); f'(0) = alpha */
    SOMA_ACTIVATION_SWISH,   /**< f(x) = x sigmoid(x) */
    SOMA_ACTIVATION_SOFTMAX, /**< row-wise e^x_i / sum_j e^x_j */
    SOMA_ACTIVATION_COUNT    /**< number of activations; not one */
} soma_activation;

/** Default alpha of leaky relu (as the walkthrough). */
#define SOMA_LEAKY_RELU_ALPHA 0.01
/** Default alpha of elu. */
#define SOMA_ELU_ALPHA 1.0

/** @brief Lower-case name: "identity", "sigmoid", "tanh", "relu",
 *  "leaky_relu", "elu", "swish", "softmax"; NULL for an invalid value. */
SOMA_API const char *soma_activation_name(soma_activation f);

/** @brief Parse a name as printed by soma_activation_name (case-insensitive;
 *  "leaky-relu" and "leakyrelu" are accepted too). SOMA_EINVAL when unknown. */
SOMA_API SOMA_NODISCARD soma_status soma_activation_from_name(const char *name,
                                                              soma_activation *out,
                                                              soma_error_info *err);

/** @brief The default alpha of f (0.01 leaky relu, 1.0 elu, 0 otherwise). */
SOMA_API double soma_activation_default_alpha(soma_activation f);

/**
 * @brief a[i] = f(z[i]) for i < n. Softmax treats the array as one row.
 * @return SOMA_OK; SOMA_EINVAL for an invalid f, NULL arrays with n > 0, an
 *         n whose byte count (n * sizeof(double)) overflows size_t, or a
 *         non-finite alpha (leaky relu, elu); SOMA_EALIAS if z and a
 *         overlap without being the same array.
 */
SOMA_API SOMA_NODISCARD soma_status soma_activation_forward(soma_activation f,
                                                            double alpha, size_t n,
                                                            const double *z, double *a,
                                                            soma_error_info *err);

/**
 * @brief dz[i] = da[i] * f'(z[i]) for i < n (softmax: the row JVP).
 *
 * `a` must hold f(z) as computed by soma_activation_forward: sigmoid, tanh,
 * swish and softmax use it instead of recomputing exponentials. `z` is used
 * by the others; both must be given. dz may be da (in place).
 * @return as soma_activation_forward.
 */
SOMA_API SOMA_NODISCARD soma_status soma_activation_backward(
    soma_activation f, double alpha, size_t n, const double *z, const double *a,
    const double *da, double *dz, soma_error_info *err);

/** @brief A = f(Z) on matrices of the same shape (softmax per row).
 *  SOMA_EDIM when shapes differ; otherwise as soma_activation_forward. */
SOMA_API SOMA_NODISCARD soma_status soma_activation_forward_matrix(soma_activation f,
                                                                   double alpha,
                                                                   const soma_matrix *Z,
                                                                   soma_matrix *A,
                                                                   soma_error_info *err);

/** @brief dZ = dA ⊙ f'(Z) (softmax: row JVP) on same-shaped matrices;
 *  A = f(Z) as for soma_activation_backward. */
SOMA_API SOMA_NODISCARD soma_status soma_activation_backward_matrix(
    soma_activation f, double alpha, const soma_matrix *Z, const soma_matrix *A,
    const soma_matrix *dA, soma_matrix *dZ, soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_ACTIVATION_H */
