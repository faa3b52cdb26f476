/**
 * @file mlp.h
 * @brief Multi-layer perceptron: creation, initialisation, training, prediction.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * A `soma_mlp` with layer sizes [n0, n1, ..., nL] has L dense layers; layer
 * l maps n(l-1) inputs to n(l) outputs. Hidden layers (1..L-1) share one
 * activation; the output layer has its own activation and a loss.
 *
 * Data: X is n x n0 (one example per row); targets Y are n x nL: a 0/1
 * column for binary classification (sigmoid + BCE), one-hot rows for k
 * classes (softmax + CE, see soma_one_hot), real values for regression
 * (identity + MSE). A model with k >= 2 outputs and the cross-entropy loss
 * also takes **integer labels**: Y n x 1 holding 0 .. k-1, which fit,
 * evaluate and gradient one-hot chunk by chunk inside (the data is never
 * copied). soma_mlp_spec_classifier and soma_fit_options_adam give a
 * classifier without changing fields one by one.
 *
 * Parameters live in one contiguous buffer, layer after layer, each layer
 * as W (row-major n(l-1) x n(l)) then b (n(l)); gradients in a second buffer
 * of the same layout. Biases start at zero.
 *
 * Precision: a model computes in double (SOMA_PRECISION_F64, the default)
 * or in float (SOMA_PRECISION_F32), chosen by soma_mlp_spec.precision. A
 * float model holds its parameters, gradients, optimizer state and
 * workspaces in float (half the memory) and computes with float kernels
 * and cblas_sgemm. The data stays double at the API in both precisions: X,
 * Y, predictions and every other soma_matrix are doubles; a float model
 * converts rows to float as it gathers each chunk (never the whole data
 * set). Which functions work for which precision:
 * - both: create, destroy, init_weights, the size and spec getters, fit,
 *   gradient, predict, predict_proba, evaluate, the predictors, the
 *   copy-in / copy-out access soma_mlp_get_params, soma_mlp_set_params,
 *   soma_mlp_get_layer, soma_mlp_set_layer, soma_mlp_get_grads, and the
 *   model files (model.h);
 * - double models only: the zero-copy views soma_mlp_layer, soma_mlp_params
 *   and soma_mlp_grads (a float buffer cannot be viewed as doubles: they
 *   return SOMA_ENOTSUP for a float model).
 *
 * Ownership and threads: the model owns its buffers and optimizer state;
 * soma_mlp_destroy frees them. fit modifies the model; predict, evaluate and
 * the getters only read it and allocate their own bounded workspace, so
 * several threads may predict with one model at once, but nothing may run
 * concurrently with fit on the same model. Different models are independent.
 * Allocations go through the model's allocator (soma_mlp_create): when
 * several threads call the allocating functions (predict, evaluate,
 * gradient) on one model at once, that allocator must be safe to call from
 * several threads (the C library's is). A predictor
 * (soma_mlp_predictor_create) allocates once and never again: one predictor
 * per thread needs no thread-safe allocator at prediction time.
 */
#ifndef SOMA_MLP_H
#define SOMA_MLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "activation.h"
#include "common.h"
#include "data.h"
#include "loss.h"
#include "matrix.h"
#include "optim.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Opaque model. */
typedef struct soma_mlp soma_mlp;

/** @brief Weight initialisers (fan_in = n(l-1), fan_out = n(l)). */
typedef enum soma_init {
    SOMA_INIT_XAVIER_UNIFORM = 0, /**< U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    SOMA_INIT_XAVIER_NORMAL,      /**< N(0, 2 / (fan_in + fan_out)) */
    SOMA_INIT_HE_UNIFORM,         /**< U(-a, a), a = sqrt(6 / fan_in) */
    SOMA_INIT_HE_NORMAL,          /**< N(0, 2 / fan_in) */
    SOMA_INIT_NORMAL,             /**< N(0, scale^2): the walkthrough's 0.01 and 1.0 */
    SOMA_INIT_ORTHOGONAL,         /**< scale * Q, Q with orthonormal rows or columns */
    SOMA_INIT_COUNT               /**< number of initialisers; not one */
} soma_init;

/** @brief "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
 *  "normal", "orthogonal"; NULL when invalid. */
SOMA_API const char *soma_init_name(soma_init init);

/** @brief The floating-point type a model computes and stores in. */
typedef enum soma_precision {
    SOMA_PRECISION_F64 = 0, /**< IEEE binary64 (double): the default */
    SOMA_PRECISION_F32,     /**< IEEE binary32 (float): sgemm, float kernels */
    SOMA_PRECISION_COUNT    /**< number of precisions; not one */
} soma_precision;

/** @brief "f64" or "f32"; NULL when invalid. */
SOMA_API const char *soma_precision_name(soma_precision precision);

/** @brief What a model is made of besides its sizes. */
typedef struct soma_mlp_spec {
    soma_activation hidden;   /**< activation of hidden layers */
    double hidden_alpha;      /**< its parameter (leaky relu, elu); 0 = default */
    soma_activation output;   /**< activation of the output layer */
    double output_alpha;      /**< its parameter; 0 = default */
    soma_loss loss;           /**< training loss */
    soma_init init;           /**< weight initialiser */
    double init_scale;        /**< sigma of NORMAL, gain of ORTHOGONAL (else unused) */
    uint64_t seed;            /**< seed of the initial weights */
    soma_precision precision; /**< F64 (default) or F32 */
} soma_mlp_spec;

/**
 * @brief The walkthrough's model: sigmoid hidden and output, BCE, Xavier
 * uniform, seed 42 (leaky relu and elu alphas at their defaults, init_scale 1).
 */
SOMA_API soma_mlp_spec soma_mlp_spec_default(void);

/**
 * @brief A classifier for n_classes classes: relu hidden layers and He
 * (normal) initialisation; for 2 classes one sigmoid output with binary
 * cross-entropy (sizes end in 1), for k > 2 classes k softmax outputs with
 * cross-entropy (sizes end in k); seed 42. n_classes 0 or 1 gives the 2-class
 * spec. Pair it with soma_fit_options_adam and integer labels.
 */
SOMA_API soma_mlp_spec soma_mlp_spec_classifier(size_t n_classes);

/**
 * @brief Output width of a classifier for n_classes classes: 1 for two
 * classes (and for 0 or 1), n_classes otherwise (the last entry of sizes).
 */
SOMA_API size_t soma_classifier_outputs(size_t n_classes);

/**
 * @brief Create a model with layer sizes sizes[0..n_sizes) and initialise it.
 *
 * Sigmoid + BCE and softmax + CE are computed fused from logits (gradient
 * P - Y); any other pairing works through the generic path with the exact
 * gradient of the composed function.
 *
 * Orthogonal initialisation: a Gaussian matrix with max(fan_in, fan_out) rows
 * is factored as QR (LAPACKE dgeqrf + dorgqr in the BLAS build, soma's own
 * Householder QR in the naive build); Q's columns are multiplied by the signs
 * of R's diagonal so that Q is Haar-distributed; W = scale * Q (or Q^T).
 *
 * @param out     receives the model (untouched on error)
 * @param sizes   layer widths, each >= 1
 * @param n_sizes number of widths, >= 2 (one dense layer)
 * @param spec    NULL for soma_mlp_spec_default()
 * @param alloc   allocator for everything the model ever allocates, or NULL
 * The initial weights are drawn in double whatever the precision; a float
 * model holds them rounded to float.
 *
 * @return SOMA_OK; SOMA_EINVAL for NULL out/sizes, n_sizes < 2, a zero
 *         width, an invalid enum (precision included), non-finite alphas,
 *         or init_scale not finite and > 0 where used; SOMA_EOVERFLOW when
 *         the parameter count overflows or a width exceeds INT_MAX;
 *         SOMA_ENOMEM; SOMA_ENOTSUP when LAPACKE's QR (dgeqrf or dorgqr)
 *         reports an error during orthogonal initialisation (BLAS build
 *         only).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_create(soma_mlp **out, const size_t *sizes,
                                                    size_t n_sizes,
                                                    const soma_mlp_spec *spec,
                                                    const soma_allocator *alloc,
                                                    soma_error_info *err);

/** @brief Free the model and everything it owns; accepts NULL. */
SOMA_API void soma_mlp_destroy(soma_mlp *mlp);

/**
 * @brief Re-draw every weight with the given initialiser, scale and seed and
 * zero the biases and the optimizer state (a fresh model, same shape).
 * Errors as soma_mlp_create; on error the model is unchanged.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_init_weights(soma_mlp *mlp, soma_init init,
                                                          double scale, uint64_t seed,
                                                          soma_error_info *err);

/** @brief Number of layers L (n_sizes - 1); 0 for NULL. */
SOMA_API size_t soma_mlp_n_layers(const soma_mlp *mlp);

/** @brief sizes[i] for i <= L; 0 for NULL or i > L. */
SOMA_API size_t soma_mlp_size(const soma_mlp *mlp, size_t i);

/** @brief Total number of parameters (weights and biases); 0 for NULL. */
SOMA_API size_t soma_mlp_n_params(const soma_mlp *mlp);

/** @brief *spec = the model's spec. */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_get_spec(const soma_mlp *mlp,
                                                      soma_mlp_spec *spec,
                                                      soma_error_info *err);

/**
 * @brief Views of layer l's W (n(l) x n(l+1)) and b (1 x n(l+1)), 0-based l < L.
 * Writing through the views changes the model. Valid until the model is
 * destroyed. Either pointer may be NULL. Double models only: SOMA_ENOTSUP
 * for a float model (use soma_mlp_get_layer / soma_mlp_set_layer).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_layer(soma_mlp *mlp, size_t l,
                                                   soma_matrix *W, soma_matrix *b,
                                                   soma_error_info *err);

/** @brief 1 x n_params view of all parameters (read and write). Double
 *  models only: SOMA_ENOTSUP for a float model (use soma_mlp_get_params /
 *  soma_mlp_set_params). */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_params(soma_mlp *mlp, soma_matrix *params,
                                                    soma_error_info *err);

/** @brief 1 x n_params view of the gradient buffer, as last computed by fit
 *  (the loss gradient of its last batch: fit's weight decay and clipping
 *  are applied by the optimizer's update, not written here) or by
 *  soma_mlp_gradient (with its l2 term). Double models only: SOMA_ENOTSUP
 *  for a float model (use soma_mlp_get_grads). */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_grads(soma_mlp *mlp, soma_matrix *grads,
                                                   soma_error_info *err);

/**
 * @brief Copy every parameter into params (1 x n_params, any ld), in the
 * buffer's layout (layer after layer, W row-major then b): the values
 * themselves for a double model, the floats converted exactly for a float
 * one. Both precisions.
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments or an invalid matrix;
 *         SOMA_EDIM when params is not 1 x n_params. Nothing is written on
 *         error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_get_params(const soma_mlp *mlp,
                                                        soma_matrix *params,
                                                        soma_error_info *err);

/**
 * @brief Replace every parameter by params (1 x n_params, layout as
 * soma_mlp_get_params); a float model rounds each value to the nearest
 * float. The optimizer state is kept (as writing through the views does).
 * params may be a view of the model's own parameters. Both precisions.
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments or an invalid matrix;
 *         SOMA_EDIM when params is not 1 x n_params; SOMA_ENONFINITE for a
 *         NaN or infinite value, or, for a float model, a value beyond the
 *         float range (|x| > FLT_MAX). The model is unchanged on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_set_params(soma_mlp *mlp,
                                                        const soma_matrix *params,
                                                        soma_error_info *err);

/**
 * @brief Copy layer l's W into W (n(l) x n(l+1)) and b into b (1 x n(l+1)),
 * 0-based l < L; either may be NULL. Both precisions.
 * @return SOMA_OK; SOMA_EINVAL for NULL mlp, l >= L or an invalid matrix;
 *         SOMA_EDIM for a wrong shape. Nothing is written on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_get_layer(const soma_mlp *mlp, size_t l,
                                                       soma_matrix *W, soma_matrix *b,
                                                       soma_error_info *err);

/**
 * @brief Replace layer l's W and/or b (shapes as soma_mlp_get_layer; NULL
 * keeps that block), rounded to float in a float model. Checks as
 * soma_mlp_set_params; the model is unchanged on error. Both precisions.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_set_layer(soma_mlp *mlp, size_t l,
                                                       const soma_matrix *W,
                                                       const soma_matrix *b,
                                                       soma_error_info *err);

/**
 * @brief Copy the gradient buffer (as last computed by fit or
 * soma_mlp_gradient, as soma_mlp_grads says; zero before either ran) into
 * grads (1 x n_params).
 * Errors as soma_mlp_get_params. Both precisions.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_get_grads(const soma_mlp *mlp,
                                                       soma_matrix *grads,
                                                       soma_error_info *err);

/**
 * @brief Gradient of the objective J = mean_rows(loss) + (l2 / 2) sum ||W||^2
 * (weights only) at the current parameters on (X, Y), into the gradient
 * buffer; *objective = J (may be NULL). No dropout. Allocates a workspace
 * for the call. Errors as soma_mlp_fit for the data; SOMA_EINVAL for l2 < 0.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_gradient(soma_mlp *mlp, const soma_matrix *X,
                                                      const soma_matrix *Y, double l2,
                                                      double *objective,
                                                      soma_error_info *err);

/**
 * @brief soma_mlp_gradient of the weighted objective J = sum_i w_i loss_i /
 * sum_i w_i + (l2 / 2) sum ||W||^2, with row weights w (n x 1, finite, >= 0,
 * positive sum; NULL = every weight 1, which is soma_mlp_gradient).
 * @return as soma_mlp_gradient, and SOMA_EINVAL for a negative, non-finite
 *         or all-zero w (the detail names the first bad entry), SOMA_EDIM
 *         when w is not n x 1.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_gradient_weighted(
    soma_mlp *mlp, const soma_matrix *X, const soma_matrix *Y, const soma_matrix *w,
    double l2, double *objective, soma_error_info *err);

/** @brief Statistics of one epoch, as recorded in the history. */
typedef struct soma_epoch_stats {
    size_t epoch;         /**< 0-based, counting across warm-started fits */
    double loss;          /**< mean training loss over the epoch's batches */
    double accuracy;      /**< training accuracy over the epoch's batches; NaN for MSE */
    double val_loss;      /**< validation loss after the epoch; NaN without validation */
    double val_accuracy;  /**< validation accuracy; NaN without validation or for MSE */
    double learning_rate; /**< learning rate used in the epoch */
    double seconds;       /**< wall time of the epoch (monotonic clock) */
} soma_epoch_stats;

/** @brief Why fit stopped. */
typedef enum soma_stop_reason {
    SOMA_STOP_EPOCHS = 0, /**< ran every epoch asked for */
    SOMA_STOP_EARLY,      /**< early stopping: no improvement for `patience` epochs */
    SOMA_STOP_CALLBACK,   /**< the callback asked to stop */
    SOMA_STOP_DIVERGED    /**< a loss or parameter became NaN or infinite */
} soma_stop_reason;

/** @brief Training history, filled by soma_mlp_fit; free with soma_history_free. */
typedef struct soma_history {
    size_t n_epochs;          /**< entries in epochs[] */
    soma_epoch_stats *epochs; /**< one per epoch run */
    soma_stop_reason stop;    /**< why training stopped */
    size_t best_epoch;        /**< index in epochs[] of the best monitored value */
    double best_value;        /**< that value (val loss if validating, else loss) */
    bool restored;            /**< the best parameters were restored at the end */
    size_t capacity;          /**< allocated entries (internal) */
    soma_allocator alloc;     /**< allocator of epochs (internal) */
} soma_history;

/** @brief Free the history's entries and zero it; accepts NULL. */
SOMA_API void soma_history_free(soma_history *history);

/** @brief Per-epoch callback: return nonzero to stop training after this epoch. */
typedef int (*soma_epoch_callback)(void *user, const soma_epoch_stats *stats);

/** @brief Progress within an epoch, given to the batch callback after each
 *  optimizer step. */
typedef struct soma_batch_stats {
    size_t epoch;      /**< as soma_epoch_stats.epoch */
    size_t batch;      /**< 0-based index of the batch just applied */
    size_t rows_done;  /**< training rows of this epoch processed so far */
    size_t rows_total; /**< training rows per epoch */
    double loss;       /**< mean training loss over the epoch's batches so far */
    double accuracy;   /**< the same for accuracy; NaN for MSE */
} soma_batch_stats;

/**
 * @brief Per-batch callback (progress lines, interruption): return nonzero
 * to stop training at the end of this batch. The epoch is then cut short:
 * its validation and statistics cover the batches done, it is recorded in
 * the history, and fit returns SOMA_OK with stop = SOMA_STOP_CALLBACK. In a
 * data-parallel run every process must take the same decision at the same
 * batch (the hooks do not agree on it).
 */
typedef int (*soma_batch_callback)(void *user, const soma_batch_stats *stats);

/**
 * @brief Hooks through which data-parallel training (see mpi.h) joins fit.
 * On one machine leave them NULL.
 *
 * `grads` is called after each step's backward pass with the flat gradient
 * buffer grads[0..n) (the weighted mean gradient of this process's batch,
 * before L2 and clipping) and `weight`, the sum of that batch's row weights
 * (its row count when fit has no sample or class weights); it must leave in
 * grads the gradient to apply, e.g. the weighted average over processes:
 * sum_p weight_p g_p / sum_p weight_p. `metrics` is called once per epoch
 * with the sums the epoch statistics are made of (values[0..6): training
 * loss sum, correct count, row count, then the same three for validation;
 * each row counted with its weight) and must replace them with their sums
 * over processes. A non-OK status from a hook stops fit with it.
 *
 * `start`, when set, is called once per fit (given a non-NULL model and
 * options) after fit's argument checks and allocations and before anything
 * changes, with their outcome `local`: SOMA_OK, or the error fit is about to
 * return. It returns the status every process agrees on, so that an error
 * on one process (a bad target, a failed allocation) stops all of them
 * instead of leaving the others waiting in `grads`. When it returns a
 * non-OK status fit returns that status with the model and history
 * unchanged; when `local` was an error and it returns SOMA_OK, fit still
 * returns `local`.
 *
 * Precision: `grads` receives doubles, `grads_f32` floats. A double model
 * calls `grads` (and fails with SOMA_EINVAL, before anything changes, when
 * only `grads_f32` is set: a float reduction would round its gradient). A
 * float model calls `grads_f32` when it is set; otherwise it calls `grads`
 * on a double copy of its gradient (fit allocates that copy once, n
 * doubles) and rounds the result back to float, so a hook written for
 * double models serves float models too. The metrics are doubles in both.
 */
typedef struct soma_reduce_hook {
    soma_status (*grads)(void *user, double *grads, size_t n, double weight);
    soma_status (*metrics)(void *user, double *values, size_t n);
    void *user;
    soma_status (*start)(void *user, soma_status local);
    soma_status (*grads_f32)(void *user, float *grads, size_t n, double weight);
} soma_reduce_hook;

/** @brief Everything soma_mlp_fit can be told. Start from soma_fit_options_default(). */
typedef struct soma_fit_options {
    size_t epochs;     /**< >= 1 */
    size_t batch_size; /**< 0 = full batch; larger than n is clamped to n */
    bool shuffle;      /**< reshuffle the training rows each epoch (minibatch) */
    uint64_t seed;     /**< seeds shuffling, dropout and the validation split */

    soma_optim_config optimizer; /**< kind and hyper-parameters */
    double learning_rate;        /**< > 0 */
    soma_lr_schedule schedule;   /**< per-epoch learning rate */

    double l2;        /**< weight decay lambda >= 0: the update applies dW + lambda W */
    double clip_norm; /**< > 0: rescale the applied gradient (with its decay) to this
                         global norm if longer */
    double dropout;   /**< drop probability of hidden units in [0, 1) (inverted) */

    double validation_fraction; /**< [0, 1): round(fraction n) rows (halves up), chosen
                                     by `seed`, held out before training */
    const soma_matrix *X_val;   /**< explicit validation set (overrides the fraction) */
    const soma_matrix *Y_val;

    bool early_stopping; /**< stop when the monitored loss stops improving */
    size_t patience;     /**< epochs without improvement before stopping, >= 1 */
    double min_delta;    /**< an improvement must exceed this, >= 0 */
    bool restore_best;   /**< with early stopping: end on the best epoch's parameters */

    soma_epoch_callback callback;       /**< called after every epoch, or NULL */
    void *callback_user;                /**< given to both callbacks */
    soma_batch_callback batch_callback; /**< called after every batch, or NULL */

    bool warm_start;         /**< keep optimizer state and epoch count of the last fit */
    soma_reduce_hook reduce; /**< data-parallel hooks, or all NULL */

    /** Per-row weights of X (n x 1, finite, >= 0), or NULL for 1 each. */
    const soma_matrix *sample_weight;
    /** Per-class weights (k values, finite, >= 0; k = the class count of the
     *  model: nL, or 2 for one sigmoid output), or NULL for 1 each. */
    const double *class_weight;
    /** Instead of class_weight: n / (k count_c) from the training rows
     *  (scikit-learn's "balanced"). */
    bool class_weight_balanced;
    /** Per-row weights of X_val (n_val x 1), or NULL for 1 each. */
    const soma_matrix *sample_weight_val;
} soma_fit_options;

/**
 * @brief The walkthrough's training: 1000 epochs, full batch, plain gradient
 * descent with learning rate 0.01, constant schedule, no regularisation, no
 * validation, seed 0; shuffle on (it only acts when batch_size makes
 * minibatches: a full batch is the same set of rows in any order);
 * patience 10 and restore_best true for when early stopping is switched on.
 */
SOMA_API soma_fit_options soma_fit_options_default(void);

/**
 * @brief Minibatch Adam as scikit-learn's MLPClassifier trains by default:
 * `epochs` epochs (0 gives 200) of batches of 32 rows (clamped to n),
 * shuffled each epoch, Adam with learning rate 1e-3, beta1 0.9, beta2 0.999,
 * epsilon 1e-8; the other fields as soma_fit_options_default.
 */
SOMA_API soma_fit_options soma_fit_options_adam(size_t epochs);

/**
 * @brief Train on (X, Y) from the current parameters.
 *
 * Each epoch visits the training rows once in batches (the last one may be
 * smaller), running forward, backward, the reduce hook, L2, clipping and the
 * optimizer per batch. Workspaces are allocated once at the start, sized by
 * the batch (large batches are processed in chunks of at most 1024 rows
 * whose gradients are summed, so memory does not grow with n); no step
 * allocates, and X and Y are never copied (batches of shuffled rows are
 * gathered chunk by chunk). The learning rate comes from the schedule at the
 * start of each epoch.
 *
 * Without warm_start the optimizer state is reset and epochs count from 0;
 * with it, a second fit continues the first (Adam moments, step count,
 * schedule). Both continue from the model's current parameters; use
 * soma_mlp_init_weights to start over.
 *
 * Weights: with options.sample_weight (w_i per row of X) and/or class
 * weights (options.class_weight, or class_weight_balanced: n_train / (k
 * count_c) over the training rows), row i weighs w_i c(y_i) and every loss,
 * gradient and accuracy is the weighted mean, sum_i w_i l_i / sum_i w_i,
 * per batch for the gradient (a batch whose weights sum to 0 gives a zero
 * gradient) and per epoch for the history. The validation rows are weighed
 * the same way (rows held out by validation_fraction keep their
 * sample_weight; an explicit X_val takes sample_weight_val, or 1, times the
 * class weights), so early stopping monitors the weighted validation loss;
 * soma_mlp_evaluate_weighted computes the same figure. The class of a row
 * is its integer label, the argmax of a one-hot row, or Y > 0.5 for one
 * output. Without any weight the unweighted code runs (bit for bit the
 * results of earlier versions). In a data-parallel run (mpi.h) the hook
 * weighs each process's gradient by its batch's total weight; balanced
 * class weights are then computed from each process's own rows, so give
 * explicit class_weight (soma_class_weights_balanced on the whole data)
 * when the shards' class mix differs.
 *
 * Early stopping monitors the validation loss when there is validation data,
 * else the training loss: an epoch improves when its value is below the best
 * so far minus min_delta; after `patience` epochs without improvement fit
 * stops, and with restore_best the parameters of the best epoch are put
 * back (with early stopping on, restore_best also applies when training runs
 * to its last epoch). Divergence is checked once per epoch, after the
 * metrics hook, so that every process of a data-parallel run takes the
 * same decision at the same step.
 *
 * @param mlp      the model to train (its parameters are the starting point)
 * @param X        n x sizes[0] inputs, n >= 1, finite
 * @param Y        n x sizes[L] targets in the loss's domain, finite; or, for
 *                 a cross-entropy model with k >= 2 outputs, n x 1 integer
 *                 labels 0 .. k-1 (also allowed for options.Y_val)
 * @param options  training settings (see soma_fit_options)
 * @param history  receives the history (overwritten, not freed), or NULL
 * @return SOMA_OK (also when early stopping or the callback ended training);
 *   SOMA_EINVAL for NULL arguments, options out of range (epochs 0, learning
 *   rate <= 0 or not finite, validation fraction outside [0, 1), dropout
 *   outside [0, 1), negative l2/clip/min_delta, patience 0 with early
 *   stopping, bad schedule or optimizer parameters, weights negative, not
 *   finite or summing to 0 over the training or validation rows, class
 *   weights on an MSE model or with class_weight_balanced too,
 *   sample_weight_val without X_val), targets outside the
 *   loss's domain, or too few rows to hold out a validation set and train;
 *   SOMA_EDIM when X/Y (or X_val/Y_val) rows or columns do not match the
 *   model; SOMA_ENONFINITE for NaN or infinity in the data (for a float
 *   model, also for finite values beyond the float range, |x| > FLT_MAX,
 *   which would become infinities), or when training diverges (in a float
 *   model, a float overflow is a divergence like any other): then the model holds the
 * parameters of the last epoch whose loss was finite (the best ones under restore_best)
 * and the history ends at that epoch with stop = SOMA_STOP_DIVERGED; SOMA_EOVERFLOW when
 * the history of `epochs` entries would not fit in size_t bytes; SOMA_ENOMEM; a hook's
 * status (training stops there: the model keeps the parameters of its last step and the
 * history covers the finished epochs; a `start` hook's error changes nothing). On any
 * other error the model and *history are unchanged. After divergence the optimizer state
 * is reset.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_fit(soma_mlp *mlp, const soma_matrix *X,
                                                 const soma_matrix *Y,
                                                 const soma_fit_options *options,
                                                 soma_history *history,
                                                 soma_error_info *err);

/**
 * @brief P = the model's outputs for X (n x nL): probabilities for sigmoid
 * and softmax outputs. Batched internally (bounded memory for any n).
 * @return SOMA_OK; SOMA_EINVAL for NULL/invalid arguments; SOMA_EDIM for
 *   shape mismatches; SOMA_EALIAS if P overlaps X; SOMA_ENOMEM. Non-finite
 *   inputs give non-finite outputs (not an error); so do, in a float model,
 *   inputs beyond the float range, which become infinities.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_predict_proba(const soma_mlp *mlp,
                                                           const soma_matrix *X,
                                                           soma_matrix *P,
                                                           soma_error_info *err);

/**
 * @brief labels (n x 1) = predicted classes as 0.0, 1.0, ...: P > 0.5 for
 * one output, argmax for several (the first maximum on ties). Errors as
 * soma_mlp_predict_proba, and SOMA_ENOTSUP for MSE models (use
 * soma_mlp_predict_proba for their outputs).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_predict(const soma_mlp *mlp,
                                                     const soma_matrix *X,
                                                     soma_matrix *labels,
                                                     soma_error_info *err);

/**
 * @brief Mean loss (no L2 term) and accuracy of the model on (X, Y); either
 * output may be NULL; accuracy is NaN for MSE models. n must be >= 1. Y as
 * for soma_mlp_fit (targets, or integer labels for a k-class cross-entropy
 * model). Errors as soma_mlp_fit for the data.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_evaluate(const soma_mlp *mlp,
                                                      const soma_matrix *X,
                                                      const soma_matrix *Y, double *loss,
                                                      double *accuracy,
                                                      soma_error_info *err);

/**
 * @brief soma_mlp_evaluate with row weights w (n x 1, finite, >= 0,
 * positive sum; NULL = unweighted): loss = sum_i w_i loss_i / sum_i w_i and
 * accuracy = sum_i w_i [row i correct] / sum_i w_i, the convention of a
 * weighted fit. Errors as soma_mlp_gradient_weighted.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_evaluate_weighted(
    const soma_mlp *mlp, const soma_matrix *X, const soma_matrix *Y, const soma_matrix *w,
    double *loss, double *accuracy, soma_error_info *err);

/**
 * @brief Balanced class weights from integer labels (n x 1, 0..k-1):
 * weights[c] = n / (k count_c), 0 for a class without rows. k >= 1 and
 * weights holds k doubles.
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments, k 0 or labels that are
 *         not integers in 0..k-1; SOMA_ENONFINITE for NaN labels.
 */
SOMA_API SOMA_NODISCARD soma_status soma_class_weights_balanced(const soma_matrix *labels,
                                                                size_t k, double *weights,
                                                                soma_error_info *err);

/* ------------------------------------------------------------------------ */
/* What a model carries for its users                                        */

/**
 * @brief Name the classes the model predicts (copies of names[0..n)); n = 0
 * removes them. The names travel with the model in its file (soma_mlp_save)
 * so that a program predicting from the file can print them.
 *
 * n must be the number of classes: nL for nL > 1 outputs, 2 for one sigmoid
 * output (names[0] for label 0, names[1] for label 1). Each name is 1 to
 * 1024 bytes of text without NUL (UTF-8 by convention).
 * @return SOMA_OK; SOMA_EINVAL for NULL mlp, names NULL with n > 0, a NULL,
 *         empty or too long name, or names on an MSE model; SOMA_EDIM when n
 *         is not the class count; SOMA_ENOMEM (the old names are kept).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_set_class_names(soma_mlp *mlp,
                                                             const char *const *names,
                                                             size_t n,
                                                             soma_error_info *err);

/** @brief Number of class names the model carries (0 when none, or NULL). */
SOMA_API size_t soma_mlp_n_class_names(const soma_mlp *mlp);

/** @brief Name of class i, or NULL when the model has no names or i is out
 *  of range. Valid until the names are changed or the model destroyed. */
SOMA_API const char *soma_mlp_class_name(const soma_mlp *mlp, size_t i);

/**
 * @brief Attach the preprocessing of raw input rows (a copy of the fitted
 * scaler s, whose width must be sizes[0]); NULL removes it.
 *
 * The model does not apply it by itself: fit and predict take the rows as
 * given. It is carried so that a program loading the model knows how its
 * training data was transformed: apply soma_scaler_transform with
 * soma_mlp_preprocessing(mlp) to raw rows before predicting. A fixed scale
 * (divide by 255) is a scaler too (soma_scaler_init_fixed).
 * @return SOMA_OK; SOMA_EINVAL for NULL mlp or a scale <= 0; SOMA_ESTATE for
 *         an unfitted scaler; SOMA_ENONFINITE; SOMA_EDIM for a width other
 *         than sizes[0]; SOMA_ENOMEM (the old preprocessing is kept).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_set_preprocessing(soma_mlp *mlp,
                                                               const soma_scaler *s,
                                                               soma_error_info *err);

/** @brief The preprocessing the model carries, or NULL (read-only; valid
 *  until it is changed or the model destroyed). */
SOMA_API const soma_scaler *soma_mlp_preprocessing(const soma_mlp *mlp);

/**
 * @brief Attach free text (a copy, at most 65536 bytes, no NUL inside; the
 * `soma` program writes `key=value` lines about the training run); NULL or
 * "" removes it.
 * @return SOMA_OK; SOMA_EINVAL for NULL mlp or text too long; SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_set_metadata(soma_mlp *mlp, const char *text,
                                                          soma_error_info *err);

/** @brief The metadata text; "" when none (never NULL). */
SOMA_API const char *soma_mlp_metadata(const soma_mlp *mlp);

/** @brief Prediction without allocation: a workspace made once for a model. */
typedef struct soma_mlp_predictor soma_mlp_predictor;

/**
 * @brief Create a predictor for mlp that handles max_rows rows per step
 * (more rows are processed in steps; at most 1024 rows are held at once).
 *
 * The predictor allocates its workspace here, once; predictions through it
 * allocate nothing, so a program predicting single rows in a loop pays no
 * allocation per call. It reads the model at each call (parameters changed
 * by a later fit are used), so the model must outlive it and must not be
 * trained while the predictor is in use. One predictor serves one thread at
 * a time; give each thread its own (they may share the model).
 *
 * @param out       receives the predictor
 * @param mlp       the model (not copied)
 * @param max_rows  rows per step, >= 1 (1 for single-row prediction)
 * @param alloc     allocator for the workspace, or NULL for the model's
 * @param err       NULL, or the detail of a failure
 * @return SOMA_OK; SOMA_EINVAL for NULL out/mlp, max_rows 0 or an invalid
 *         allocator; SOMA_EOVERFLOW; SOMA_ENOMEM.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_predictor_create(soma_mlp_predictor **out,
                                                              const soma_mlp *mlp,
                                                              size_t max_rows,
                                                              const soma_allocator *alloc,
                                                              soma_error_info *err);

/** @brief Free a predictor; accepts NULL. The model is not touched. */
SOMA_API void soma_mlp_predictor_destroy(soma_mlp_predictor *pr);

/** @brief soma_mlp_predict_proba through the predictor's workspace: no
 *  allocation. Errors as soma_mlp_predict_proba (SOMA_EINVAL for NULL pr). */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_predictor_proba(soma_mlp_predictor *pr,
                                                             const soma_matrix *X,
                                                             soma_matrix *P,
                                                             soma_error_info *err);

/** @brief soma_mlp_predict through the predictor's workspace: no
 *  allocation. Errors as soma_mlp_predict (SOMA_EINVAL for NULL pr). */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_predictor_labels(soma_mlp_predictor *pr,
                                                              const soma_matrix *X,
                                                              soma_matrix *labels,
                                                              soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_MLP_H */
