/**
 * @file loss.h
 * @brief Losses, their gradients, and the fused forms computed from logits.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * P (predictions) and Y (targets) are m x k matrices. The loss value is a
 * mean over rows of a per-row loss:
 *
 * | loss | per-row loss | d(per-row loss)/dP |
 * |------|--------------|--------------------|
 * | MSE  | (1/k) sum_j (p_j - y_j)^2 | 2 (p_j - y_j) / k |
 * | BCE  | -(1/k) sum_j [y_j log p_j + (1 - y_j) log(1 - p_j)] | (p_j - y_j) / (k p_j (1
 * - p_j)) | | CE   | -sum_j y_j log p_j | -y_j / p_j |
 *
 * so MSE and BCE are means over all m k elements, and CE sums over classes.
 * Gradients are those of the *per-row* loss (not divided by m): the dense
 * layers divide by the batch size once, as dW = X^T dZ / m.
 *
 * BCE and CE on probabilities clamp p to [SOMA_LOSS_EPS, 1 - SOMA_LOSS_EPS]
 * before the log and in the gradient. The fused forms take logits Z instead
 * and never clamp: sigmoid + BCE uses max(z, 0) - z y + log1p(e^-|z|) and
 * softmax + CE uses the log-sum-exp with the row maximum subtracted; both are
 * finite for every finite input and their gradient is dZ = (P - Y) / k for
 * BCE and P - Y for CE (k = 1 in the usual binary case).
 *
 * Targets: MSE targets must be finite; BCE targets must lie in [0, 1]; CE
 * target rows must be distributions (entries >= 0 summing to 1 within 1e-9
 * relative). Otherwise the functions return SOMA_EINVAL and write nothing.
 * Predictions are not checked: a NaN in P or Z makes the value NaN. The
 * fused forms are finite for finite logits (the CE value can overflow only
 * when a target weights a logit ~DBL_MAX below the maximum); non-finite
 * logits may give NaN. An empty batch (no rows or no columns) has loss 0.
 *
 * Accuracy of the fused forms (tests/test_loss.c, docs/performance.md): the
 * value and P within 1e-14 relative wherever they are >= 1e-300; dZ too for
 * one-hot (0/1) targets, where p - y is formed without cancellation. For
 * soft targets p - y can be far below p and y, and dZ is then accurate to
 * ~1 ulp(1) absolute.
 */
#ifndef SOMA_LOSS_H
#define SOMA_LOSS_H

#include <stddef.h>

#include "common.h"
#include "matrix.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Loss functions. */
typedef enum soma_loss {
    SOMA_LOSS_MSE = 0, /**< mean squared error (regression) */
    SOMA_LOSS_BCE,     /**< binary cross-entropy (sigmoid outputs) */
    SOMA_LOSS_CE,      /**< categorical cross-entropy (softmax outputs) */
    SOMA_LOSS_COUNT    /**< number of losses; not one */
} soma_loss;

/** Clamp applied to probabilities by BCE and CE (not by the fused forms). */
#define SOMA_LOSS_EPS 1e-15

/** @brief "mse", "bce", "ce"; NULL for an invalid value. */
SOMA_API const char *soma_loss_name(soma_loss loss);

/** @brief Parse a name as printed by soma_loss_name (case-insensitive; also
 *  "binary_crossentropy", "crossentropy"). SOMA_EINVAL when unknown. */
SOMA_API SOMA_NODISCARD soma_status soma_loss_from_name(const char *name, soma_loss *out,
                                                        soma_error_info *err);

/**
 * @brief *value = mean over rows of the per-row loss of P against Y.
 * @return SOMA_OK; SOMA_EINVAL for NULL/invalid arguments or targets outside
 *         their domain; SOMA_EDIM when P and Y differ in shape.
 */
SOMA_API SOMA_NODISCARD soma_status soma_loss_value(soma_loss loss, const soma_matrix *P,
                                                    const soma_matrix *Y, double *value,
                                                    soma_error_info *err);

/**
 * @brief dP = d(per-row loss)/dP, elementwise (see the table above).
 * dP must have P's shape and may be P itself. Errors as soma_loss_value.
 */
SOMA_API SOMA_NODISCARD soma_status soma_loss_grad(soma_loss loss, const soma_matrix *P,
                                                   const soma_matrix *Y, soma_matrix *dP,
                                                   soma_error_info *err);

/**
 * @brief Fused output layer from logits: P = sigmoid(Z) (BCE) or softmax(Z)
 * row-wise (CE); *value = mean over rows of the per-row loss; dZ = gradient of
 * the per-row loss with respect to Z.
 *
 * Any of value, P and dZ may be NULL when not wanted. P and dZ must have
 * Z's shape; dZ may be Z. SOMA_ENOTSUP for MSE (no fused form).
 */
SOMA_API SOMA_NODISCARD soma_status soma_loss_from_logits(
    soma_loss loss, const soma_matrix *Z, const soma_matrix *Y, double *value,
    soma_matrix *P, soma_matrix *dZ, soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_LOSS_H */
