/**
 * @file perceptron.h
 * @brief Rosenblatt's perceptron, trained exactly as the classic walkthrough
 * trains it.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * Model: prediction(x) = step(w . x + b), step(z) = 1 if z >= 0 else 0.
 *
 * Training (soma_perceptron_fit), the walkthrough's loop:
 * - w ~ N(0, init_sd^2) per feature (init_sd = 0.01), drawn in feature order
 *   from the caller's `soma_rng`, before anything else is drawn; b = 0.
 * - For epoch = 0, 1, ..., max_epochs - 1: for each sample i in order
 *   (0 .. n-1, or a fresh random permutation each epoch with `shuffle`):
 *   z = sum_j x_ij w_j + b (summed over j in order), pred = step(z),
 *   e = y_i - pred; loss += e^2; if e != 0: w += (lr e) x_i, b += lr e,
 *   errors += 1.
 * - After each epoch the history gets {epoch, errors, accuracy = 1 -
 *   errors / n, loss = (sum of e^2) / n}. Labels are 0 or 1, so e^2 is 0 or
 *   1 and loss = errors / n: the walkthrough's "loss" is the online error
 *   rate.
 * - Training stops after the first epoch with zero errors (the walkthrough
 *   prints "Converged at epoch k"; here soma_perceptron_converged reports
 *   k, 0-based), or after max_epochs epochs.
 *
 * Beyond the walkthrough, both off by default:
 * - `shuffle`: each epoch visits the samples in a new random order (a
 *   Fisher-Yates permutation drawn from the rng after the weights).
 * - `average`: the averaged perceptron (Freund & Schapire): after fit, the
 *   stored w and b are the means of the online (w, b) over every step of
 *   every epoch run (one step per sample visit, taken after its update).
 *   The history still counts the online mistakes.
 *
 * Differences from the walkthrough, besides the options: nothing is
 * printed; the history is reset by each fit (the walkthrough keeps
 * appending to it across fits); labels other than 0 and 1 are refused.
 *
 * Memory: the perceptron is opaque. soma_perceptron_fit allocates the
 * weights and the history once at its start (the history then grows
 * geometrically between epochs, never inside an epoch) through the
 * allocator given at create; nothing is allocated inside an epoch.
 *
 * Threads: a perceptron may be used by one thread at a time; the const
 * functions may run concurrently on the same perceptron.
 */
#ifndef SOMA_PERCEPTRON_H
#define SOMA_PERCEPTRON_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "matrix.h"
#include "rng.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Training settings; start from soma_perceptron_defaults(). */
typedef struct soma_perceptron_options {
    double learning_rate; /**< lr, finite and > 0 (walkthrough default 0.01) */
    size_t max_epochs;    /**< >= 1 (walkthrough default 1000) */
    double init_sd;       /**< standard deviation of the initial weights,
                               finite and >= 0 (walkthrough: 0.01) */
    bool shuffle;         /**< new sample order every epoch (default false) */
    bool average;         /**< keep the averaged weights (default false) */
} soma_perceptron_options;

/** @brief The walkthrough's constructor defaults: learning_rate 0.01,
 *  max_epochs 1000, init_sd 0.01, no shuffle, no averaging. */
SOMA_API soma_perceptron_options soma_perceptron_defaults(void);

/** @brief One epoch of the training history (the walkthrough's dict). */
typedef struct soma_perceptron_epoch {
    size_t epoch;    /**< 0-based epoch index */
    size_t errors;   /**< samples misclassified (and updated on) this epoch */
    double accuracy; /**< 1 - errors / n */
    double loss;     /**< (sum of squared errors) / n, = errors / n */
} soma_perceptron_epoch;

/** @brief Opaque perceptron. */
typedef struct soma_perceptron soma_perceptron;

/**
 * @brief Create an unfitted perceptron.
 * @param out    receives the perceptron (free with soma_perceptron_destroy)
 * @param opt    settings, copied; NULL for soma_perceptron_defaults()
 * @param alloc  allocator for everything the perceptron allocates, or NULL;
 *               the struct is copied and must outlive the perceptron
 * @return SOMA_OK; SOMA_EINVAL for NULL out, an invalid allocator, or a
 *         setting out of range; SOMA_ENOMEM. On error *out is untouched.
 */
SOMA_API SOMA_NODISCARD soma_status
soma_perceptron_create(soma_perceptron **out, const soma_perceptron_options *opt,
                       const soma_allocator *alloc, soma_error_info *err);

/** @brief Free the perceptron and everything it owns. Accepts NULL. */
SOMA_API void soma_perceptron_destroy(soma_perceptron *p);

/**
 * @brief Train from scratch on X (n x d) and y (n x 1, values 0 or 1).
 *
 * Replaces any previous fit (weights, history, convergence). Draws from rng
 * as described in the file comment.
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments, n == 0,
 *         d == 0, y not n x 1, or a label other than 0 and 1; SOMA_EDIM when
 *         X and y differ in rows; SOMA_ENONFINITE for NaN or infinity in X
 *         or y;
 *         SOMA_EOVERFLOW, SOMA_ENOMEM. On error the perceptron keeps its
 *         previous state (the rng may have advanced).
 */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_fit(soma_perceptron *p,
                                                        const soma_matrix *X,
                                                        const soma_matrix *y,
                                                        soma_rng *rng,
                                                        soma_error_info *err);

/**
 * @brief out(i, 0) = step(X(i, :) . w + b), i.e. 1.0 or 0.0.
 * @param p    a fitted perceptron
 * @param X    m x d (d as in the fit), any m including 0
 * @param out  m x 1, caller-owned; may not overlap X
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments; SOMA_ESTATE
 *         before a successful fit; SOMA_EDIM for wrong shapes; SOMA_EALIAS
 *         when out overlaps X.
 */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_predict(const soma_perceptron *p,
                                                            const soma_matrix *X,
                                                            soma_matrix *out,
                                                            soma_error_info *err);

/**
 * @brief out(i, 0) = X(i, :) . w + b, the value the step is applied to.
 * Arguments and errors as soma_perceptron_predict.
 */
SOMA_API SOMA_NODISCARD soma_status
soma_perceptron_decision_function(const soma_perceptron *p, const soma_matrix *X,
                                  soma_matrix *out, soma_error_info *err);

/**
 * @brief Copy the weights into w (1 x d, caller-owned) and the bias into
 * *bias. Either may be NULL (not both).
 * @return SOMA_OK; SOMA_EINVAL for NULL p or both NULL or an invalid w;
 *         SOMA_ESTATE before a fit; SOMA_EDIM when w is not 1 x d.
 */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_get_weights(const soma_perceptron *p,
                                                                soma_matrix *w,
                                                                double *bias,
                                                                soma_error_info *err);

/** @brief *d = the number of features of the last fit.
 *  SOMA_EINVAL for NULL; SOMA_ESTATE before a fit. */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_n_features(const soma_perceptron *p,
                                                               size_t *d,
                                                               soma_error_info *err);

/**
 * @brief The history of the last fit: *epochs points to *count entries,
 * one per epoch run, owned by the perceptron and valid until the next fit
 * or destroy.
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments; SOMA_ESTATE before a fit.
 */
SOMA_API SOMA_NODISCARD soma_status
soma_perceptron_history(const soma_perceptron *p, const soma_perceptron_epoch **epochs,
                        size_t *count, soma_error_info *err);

/**
 * @brief Whether the last fit stopped on an epoch with zero errors, and
 * which (0-based; the walkthrough's "Converged at epoch k"). When it did not
 * converge, *converged is false and *epoch is set to 0. epoch may be NULL.
 * @return SOMA_OK; SOMA_EINVAL for NULL p or converged; SOMA_ESTATE before
 *         a fit.
 */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_converged(const soma_perceptron *p,
                                                              bool *converged,
                                                              size_t *epoch,
                                                              soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_PERCEPTRON_H */
