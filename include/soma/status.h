/**
 * @file status.h
 * @brief Status codes returned by every fallible soma function.
 *
 * Convention: a function returns `SOMA_OK` (0) on success; on any other
 * status it has written nothing to its outputs and left the caller's objects
 * as they were, unless its documentation says otherwise.
 */
#ifndef SOMA_STATUS_H
#define SOMA_STATUS_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Result of a fallible call. */
typedef enum soma_status {
    SOMA_OK = 0,      /**< success */
    SOMA_EINVAL,      /**< invalid argument (NULL, out of range, ld < cols, ...) */
    SOMA_EDIM,        /**< the shapes of two arguments do not agree */
    SOMA_ENOMEM,      /**< an allocation failed */
    SOMA_EOVERFLOW,   /**< a size or byte count does not fit in size_t */
    SOMA_EIO,         /**< the operating system reported an I/O error */
    SOMA_EFORMAT,     /**< input text or file is malformed */
    SOMA_EVERSION,    /**< file written by an unsupported format version */
    SOMA_ECHECKSUM,   /**< file checksum does not match its contents */
    SOMA_ENONFINITE,  /**< NaN or infinity where finite values are required */
    SOMA_ENOTSUP,     /**< operation not supported by this build or backend */
    SOMA_ESTATE,      /**< object is not in a state that allows the call */
    SOMA_EALIAS,      /**< an output overlaps an input it must not overlap */
    SOMA_EMPI,        /**< the MPI library reported an error */
    SOMA_STATUS_COUNT /**< number of codes; not a status */
} soma_status;

/**
 * @brief Short English description of a status, e.g. "dimension mismatch".
 *
 * Never NULL; an out-of-range value gives "unknown status". The string is
 * static and must not be freed.
 */
SOMA_API const char *soma_status_string(soma_status status);

/**
 * @brief What went wrong, for a human: filled by a failing call when the
 * caller passes a non-NULL pointer as its last argument.
 *
 * Every fallible function of the model-level headers (mlp.h, perceptron.h,
 * dense.h, activation.h, loss.h, data.h, metrics.h, model.h, io.h) takes
 * an optional `soma_error_info *err` as its last parameter. When the call
 * returns an error and `err` is not NULL, `err` is overwritten: `argument`
 * names the argument (or option field) at fault, "" when none is, and
 * `message` says what was expected, what was found and, where one helps,
 * what to do, for instance "Y has 1 column but the model has 3 outputs:
 * one-hot the labels (soma_one_hot) or pass integer labels". On success
 * `err` is not written. Functions that read text or files also give the
 * place: `line` and `column` are 1-based (0 when not applicable), `offset`
 * is the 0-based byte offset into the input; elsewhere the three are 0.
 *
 * The building blocks (matrix.h, gemm.h, optim.h, rng.h), whose failures
 * are one argument's shape or range, return the status alone. There is no
 * global or thread-local "last error": the detail lives in the struct the
 * caller passed, so threads never share it.
 */
typedef struct soma_error_info {
    size_t line;
    size_t column;
    size_t offset;
    char argument[32]; /**< argument or option at fault, e.g. "Y", "options.learning_rate"
                        */
    char message[256]; /**< one or two English sentences, NUL-terminated */
} soma_error_info;

#ifdef __cplusplus
}
#endif

#endif /* SOMA_STATUS_H */
