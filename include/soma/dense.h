/**
 * @file dense.h
 * @brief A fully connected layer on a batch of rows, computed with soma_gemm.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * A layer maps a batch X (m x in) to Z = X W + b (m x out) and A = f(Z).
 * Backward, from dA = dLoss/dA (per-row losses, see loss.h):
 *
 *     dZ = dA ⊙ f'(Z)        (softmax: the row Jacobian-vector product)
 *     dW = X^T dZ / m        db = sum_rows(dZ) / m        dX = dZ W^T
 *
 * The layer struct holds views: W and b usually point into a model's flat
 * parameter buffer (see mlp.h), but any caller memory works. Every function
 * here uses the caller's buffers only and never allocates.
 */
#ifndef SOMA_DENSE_H
#define SOMA_DENSE_H

#include "activation.h"
#include "common.h"
#include "matrix.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Parameters of one dense layer (views; the layer owns nothing). */
typedef struct soma_dense {
    soma_matrix W;              /**< in x out weights */
    soma_matrix b;              /**< 1 x out bias */
    soma_activation activation; /**< f */
    double alpha;               /**< f's parameter (leaky relu, elu) */
} soma_dense;

/**
 * @brief Z = X W + b, A = f(Z): one soma_gemm, then one pass over Z that adds
 * the bias and applies f row by row.
 *
 * Shapes: X m x in, Z and A m x out. A may be Z only for the identity.
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid matrices, an invalid
 *         activation or a non-finite alpha; SOMA_EDIM for shape mismatches;
 *         SOMA_EALIAS when Z or A overlaps X, W or b, or A overlaps Z (unless
 *         identity and equal).
 */
SOMA_API SOMA_NODISCARD soma_status soma_dense_forward(const soma_dense *layer,
                                                       const soma_matrix *X,
                                                       soma_matrix *Z, soma_matrix *A,
                                                       soma_error_info *err);

/**
 * @brief Given dZ, the gradients of the layer and of its input:
 * dW = X^T dZ / m, db = sum_rows(dZ) / m, dX = dZ W^T.
 *
 * dX may be NULL (first layer: nothing to propagate). Shapes: X m x in, dZ
 * m x out, dW in x out, db 1 x out, dX m x in. With m == 0, dW and db are
 * zeroed. Errors as soma_dense_forward; no output may overlap an input.
 */
SOMA_API SOMA_NODISCARD soma_status soma_dense_backward_dz(
    const soma_dense *layer, const soma_matrix *X, const soma_matrix *dZ, soma_matrix *dW,
    soma_matrix *db, soma_matrix *dX, soma_error_info *err);

/**
 * @brief Full backward from dA: dZ = dA ⊙ f'(Z), then as
 * soma_dense_backward_dz. Z and A are the forward pass's; dZ may be dA
 * (in place), dX may be NULL.
 */
SOMA_API SOMA_NODISCARD soma_status soma_dense_backward(
    const soma_dense *layer, const soma_matrix *X, const soma_matrix *Z,
    const soma_matrix *A, const soma_matrix *dA, soma_matrix *dZ, soma_matrix *dW,
    soma_matrix *db, soma_matrix *dX, soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_DENSE_H */
