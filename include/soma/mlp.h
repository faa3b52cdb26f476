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

/** @brief What a model is made of besides its sizes. */
typedef struct soma_mlp_spec {
    soma_activation hidden; /**< activation of hidden layers */
    double hidden_alpha;    /**< its parameter (leaky relu, elu); 0 = default */
    soma_activation output; /**< activation of the output layer */
    double output_alpha;    /**< its parameter; 0 = default */
    soma_loss loss;         /**< training loss */
    soma_init init;         /**< weight initialiser */
    double init_scale;      /**< sigma of NORMAL, gain of ORTHOGONAL (else unused) */
    uint64_t seed;          /**< seed of the initial weights */
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
 * @return SOMA_OK; SOMA_EINVAL for NULL out/sizes, n_sizes < 2, a zero
 *         width, an invalid enum, non-finite alphas, or init_scale not
 *         finite and > 0 where used; SOMA_EOVERFLOW when the parameter count
 *         overflows or a width exceeds INT_MAX; SOMA_ENOMEM; SOMA_ENOTSUP when
 *         LAPACKE's QR (dgeqrf or dorgqr) reports an error during orthogonal
 *         initialisation (BLAS build only).
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
 * destroyed. Either pointer may be NULL.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_layer(soma_mlp *mlp, size_t l,
                                                   soma_matrix *W, soma_matrix *b,
                                                   soma_error_info *err);

/** @brief 1 x n_params view of all parameters (read and write). */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_params(soma_mlp *mlp, soma_matrix *params,
                                                    soma_error_info *err);

/** @brief 1 x n_params view of the gradient buffer, as last computed by fit
 *  or soma_mlp_gradient. */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_grads(soma_mlp *mlp, soma_matrix *grads,
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
 * buffer grads[0..n) (the mean gradient of this process's batch of `rows`
 * rows, before L2 and clipping) and must leave in it the gradient to apply,
 * e.g. the row-weighted average over processes: sum_p rows_p g_p / sum_p
 * rows_p. `metrics` is called once per epoch with the sums the epoch
 * statistics are made of (values[0..6): training loss sum, correct count,
 * row count, then the same three for validation) and must replace them with
 * their sums over processes. A non-OK status from a hook stops fit with it.
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
 */
typedef struct soma_reduce_hook {
    soma_status (*grads)(void *user, double *grads, size_t n, size_t rows);
    soma_status (*metrics)(void *user, double *values, size_t n);
    void *user;
    soma_status (*start)(void *user, soma_status local);
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

    double l2;        /**< weight decay lambda >= 0: adds lambda W to dW */
    double clip_norm; /**< > 0: rescale the gradient to this global norm if longer */
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
 *   stopping, bad schedule or optimizer parameters), targets outside the
 *   loss's domain, or too few rows to hold out a validation set and train;
 *   SOMA_EDIM when X/Y (or X_val/Y_val) rows or columns do not match the
 *   model; SOMA_ENONFINITE for NaN or infinity in the data, or when training
 *   diverges: then the model holds the parameters of the last epoch whose
 *   loss was finite (the best ones under restore_best) and the history ends
 *   at that epoch with stop = SOMA_STOP_DIVERGED; SOMA_EOVERFLOW when the
 *   history of `epochs` entries would not fit in size_t bytes; SOMA_ENOMEM;
 *   a hook's status (training stops there: the model keeps the parameters
 *   of its last step and the history covers the finished epochs; a `start`
 *   hook's error changes nothing). On any other error the model and
 *   *history are unchanged. After divergence the optimizer state is reset.
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
 *   inputs give non-finite outputs (not an error).
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
