/**
 * @file metrics.h
 * @brief Classification metrics: accuracy, confusion matrix, precision,
 * recall, F1, log loss.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * Labels are n x 1 matrices of doubles holding integer class values
 * 0 .. k-1 (the predictions of soma_perceptron_predict, the argmax of a
 * softmax, ...). A label that is NaN or infinite gives SOMA_ENONFINITE; one
 * that is negative, not an integer, or >= k gives SOMA_EINVAL. Empty inputs
 * (n == 0) are SOMA_EINVAL: every metric here is a mean over samples and has
 * no value on no samples. Outputs are written only on success.
 *
 * Division by zero (a class never predicted, a class absent from y_true)
 * yields 0 for that precision, recall or F1, as scikit-learn's default
 * `zero_division="warn"` does (without the warning).
 */
#ifndef SOMA_METRICS_H
#define SOMA_METRICS_H

#include <stddef.h>

#include "common.h"
#include "matrix.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief *out = (number of i with y_true(i) == y_pred(i)) / n.
 *
 * Compares values exactly, so any finite values work (not only class
 * labels). Both must be n x 1.
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments, n == 0, or a
 *         shape other than n x 1; SOMA_EDIM when the row counts differ;
 *         SOMA_ENONFINITE for NaN or infinity in either.
 */
SOMA_API SOMA_NODISCARD soma_status soma_accuracy(const soma_matrix *y_true,
                                                  const soma_matrix *y_pred, double *out,
                                                  soma_error_info *err);

/**
 * @brief out(i, j) = number of samples with true class i predicted as j
 * (scikit-learn's convention: rows true, columns predicted).
 *
 * @param y_true     n x 1 true labels (0 .. k-1)
 * @param y_pred     n x 1 predicted labels
 * @param n_classes  k; 0 = 1 + the largest label in y_true or y_pred
 * @param out        receives a k x k matrix of counts (owned)
 * @param alloc      allocator, or NULL
 * @return SOMA_OK; errors as in the file comment, SOMA_EDIM when the row
 *         counts differ, SOMA_EOVERFLOW, SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_confusion_matrix(
    const soma_matrix *y_true, const soma_matrix *y_pred, size_t n_classes,
    soma_matrix *out, const soma_allocator *alloc, soma_error_info *err);

/** @brief How soma_precision_recall_f1 combines classes. */
typedef enum soma_average {
    /** Scores of the positive class only; labels must be 0 or 1. */
    SOMA_AVERAGE_BINARY = 0,
    /** Unweighted mean over classes of the per-class scores. */
    SOMA_AVERAGE_MACRO,
    SOMA_AVERAGE_COUNT /**< number of modes; not one */
} soma_average;

/**
 * @brief Precision, recall and F1.
 *
 * Per class c, with TP, FP, FN counted one-vs-rest:
 * precision_c = TP / (TP + FP), recall_c = TP / (TP + FN),
 * F1_c = 2 precision_c recall_c / (precision_c + recall_c), each 0 when its
 * denominator is 0.
 * - SOMA_AVERAGE_BINARY: the scores of class `pos_label` (0 or 1); every
 *   label must be 0 or 1.
 * - SOMA_AVERAGE_MACRO: the plain means of the per-class scores over the
 *   classes that occur in y_true or y_pred (as scikit-learn with
 *   labels=None), among 0 .. k-1 with k = 1 + the largest label. Macro F1 is
 *   the mean of the per-class F1 values, not the F1 of the mean precision
 *   and recall. `pos_label` is ignored.
 *
 * Any of precision, recall, f1 may be NULL when not wanted (not all three).
 * `alloc` (or NULL) provides the 3k counters of macro mode, freed before
 * returning; binary mode allocates nothing.
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments, an invalid
 *         `average`, pos_label > 1, labels outside {0, 1} in binary mode;
 *         other errors as in the file comment; SOMA_EDIM when the row
 *         counts differ; SOMA_EOVERFLOW, SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_precision_recall_f1(
    const soma_matrix *y_true, const soma_matrix *y_pred, soma_average average,
    size_t pos_label, double *precision, double *recall, double *f1,
    const soma_allocator *alloc, soma_error_info *err);

/**
 * @brief Mean negative log-likelihood of the true labels.
 *
 * - P is n x k with k >= 2: P(i, j) = probability of class j; the loss is
 *   -(1/n) sum_i log P(i, y_i), labels in 0 .. k-1. Each row must sum to 1
 *   within 1e-6 (rows are not renormalized).
 * - P is n x 1: the probability of class 1 (binary, labels 0 or 1); the loss
 *   is -(1/n) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)].
 * Probabilities are clipped to [eps, 1 - eps] before the log.
 *
 * @param y_true  n x 1 true labels
 * @param P       n x k (or n x 1) predicted probabilities
 * @param eps     clipping, 0 <= eps < 0.5; 0 means DBL_EPSILON (scikit-learn's
 *                "auto" for float64). scikit-learn before 1.2 used 1e-15.
 * @param out     receives the loss
 * @return SOMA_OK; SOMA_EINVAL for NULL or invalid arguments, probabilities
 *         outside [0, 1], rows not summing to 1, bad labels or eps;
 *         SOMA_EDIM when the row counts differ; SOMA_ENONFINITE for NaN or
 *         infinity in P or the labels.
 */
SOMA_API SOMA_NODISCARD soma_status soma_log_loss(const soma_matrix *y_true,
                                                  const soma_matrix *P, double eps,
                                                  double *out, soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_METRICS_H */
