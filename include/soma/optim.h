/**
 * @file optim.h
 * @brief First-order optimizers over a flat parameter buffer, and
 * learning-rate schedules.
 *
 * Parameters and gradients are two arrays of n doubles; one step is one loop
 * over them. An optimizer keeps its state (velocity, moments, step count) in
 * a `soma_optim` that the caller creates once and reuses: `soma_optim_step`
 * never allocates.
 *
 * Update rules, with g the gradient, lr the learning rate of this step:
 * - SGD:       p -= lr g
 * - momentum:  v = mu v - lr g;  p += v
 * - Nesterov:  v = mu v - lr g;  p += mu v - lr g
 * - Adam:      t += 1; m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2;
 *              p -= lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
 * State starts at zero (v = m = s = 0, t = 0).
 */
#ifndef SOMA_OPTIM_H
#define SOMA_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Optimizer kinds. */
typedef enum soma_optimizer {
    SOMA_OPTIMIZER_SGD = 0,  /**< plain (stochastic) gradient descent */
    SOMA_OPTIMIZER_MOMENTUM, /**< heavy-ball momentum */
    SOMA_OPTIMIZER_NESTEROV, /**< Nesterov accelerated gradient */
    SOMA_OPTIMIZER_ADAM,     /**< Adam with bias correction */
    SOMA_OPTIMIZER_COUNT     /**< number of kinds; not one */
} soma_optimizer;

/** @brief Hyper-parameters of an optimizer (the learning rate is passed to
 *  each step, so that a schedule can change it). */
typedef struct soma_optim_config {
    soma_optimizer kind;
    double momentum; /**< mu for momentum and Nesterov, in [0, 1) */
    double beta1;    /**< Adam first-moment decay, in [0, 1) */
    double beta2;    /**< Adam second-moment decay, in [0, 1) */
    double epsilon;  /**< Adam denominator guard, > 0 */
} soma_optim_config;

/** @brief Defaults: SGD, momentum 0.9, beta1 0.9, beta2 0.999, eps 1e-8. */
SOMA_API soma_optim_config soma_optim_config_default(soma_optimizer kind);

/** @brief "sgd", "momentum", "nesterov", "adam"; NULL when invalid. */
SOMA_API const char *soma_optimizer_name(soma_optimizer kind);

/** @brief Optimizer state for n parameters. Fields are read-only for users. */
typedef struct soma_optim {
    soma_optim_config config;
    size_t n;   /**< number of parameters */
    uint64_t t; /**< steps taken */
    double *v;  /**< velocity (momentum, Nesterov) or first moment (Adam) */
    double *s;  /**< second moment (Adam), else NULL */
    soma_allocator alloc;
} soma_optim;

/**
 * @brief Create zeroed state for n parameters.
 * @return SOMA_OK; SOMA_EINVAL for NULL opt, an invalid kind or a parameter
 *         outside its range; SOMA_EOVERFLOW; SOMA_ENOMEM. On error *opt is
 *         untouched.
 */
SOMA_API SOMA_NODISCARD soma_status soma_optim_init(soma_optim *opt,
                                                    const soma_optim_config *config,
                                                    size_t n,
                                                    const soma_allocator *alloc);

/** @brief Release the state and zero the struct; accepts NULL. */
SOMA_API void soma_optim_free(soma_optim *opt);

/** @brief Zero the state (v, s, t) without reallocating. */
SOMA_API SOMA_NODISCARD soma_status soma_optim_reset(soma_optim *opt);

/**
 * @brief One update of params[0..n) from grads[0..n) with learning rate lr.
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments or lr negative or not
 *         finite (lr = 0 is allowed: the state still advances).
 */
SOMA_API SOMA_NODISCARD soma_status soma_optim_step(soma_optim *opt, double lr,
                                                    double *params, const double *grads);

/** @brief Learning-rate schedule kinds (evaluated once per epoch). */
typedef enum soma_schedule {
    SOMA_SCHEDULE_CONSTANT = 0, /**< lr(e) = lr0 */
    SOMA_SCHEDULE_STEP,         /**< lr(e) = lr0 gamma^floor(e / step) */
    SOMA_SCHEDULE_EXPONENTIAL,  /**< lr(e) = lr0 gamma^e */
    SOMA_SCHEDULE_COSINE, /**< lr(e) = lr_min + (lr0 - lr_min)(1 + cos(pi min(e, T) / T))
                             / 2 */
    SOMA_SCHEDULE_COUNT   /**< number of kinds; not one */
} soma_schedule;

/** @brief A schedule and its parameters. */
typedef struct soma_lr_schedule {
    soma_schedule kind;
    double gamma;  /**< decay factor of step and exponential, in (0, 1] */
    size_t step;   /**< epochs per decay for step, >= 1 */
    size_t period; /**< T of cosine, >= 1 */
    double lr_min; /**< floor of cosine, in [0, lr0] */
} soma_lr_schedule;

/**
 * @brief *lr = the schedule's learning rate at 0-based epoch e from lr0.
 * @return SOMA_OK; SOMA_EINVAL for NULL pointers, lr0 not finite and > 0, or
 *         schedule parameters outside their ranges.
 */
SOMA_API SOMA_NODISCARD soma_status soma_lr_schedule_value(const soma_lr_schedule *s,
                                                           double lr0, size_t epoch,
                                                           double *lr);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_OPTIM_H */
