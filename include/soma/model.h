/**
 * @file model.h
 * @brief Model files: save and load a soma_mlp or a soma_perceptron in
 * soma's binary format.
 *
 * Errors: every function here that returns soma_status takes an optional
 * `soma_error_info *err` as its last argument, filled on failure with the
 * argument at fault and a message (see status.h); pass NULL to ignore it.
 *
 * The format (docs/format.md) is little-endian whatever the host, starts
 * with a magic and a format version, and carries a CRC-32 of its payload.
 * Files are written atomically: a temporary file in the same folder is
 * written, flushed, fsync'ed and renamed over the destination, so a failure
 * at any point leaves an existing file as it was.
 *
 * Loading never trusts a length: every count is checked against the bytes
 * actually present before anything is allocated, and a corrupt, truncated or
 * future-version file returns an error (with a message in soma_error_info)
 * instead of crashing or reading out of bounds.
 */
#ifndef SOMA_MODEL_H
#define SOMA_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "data.h"
#include "mlp.h"
#include "perceptron.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Current model-file format version. */
#define SOMA_MODEL_FORMAT_VERSION 2

/**
 * @brief Serialize mlp into buf[0..capacity); *size = bytes needed.
 *
 * With buf NULL (capacity 0) only *size is computed. with_optimizer adds the
 * optimizer state of the last fit (if any), so that a loaded model can
 * continue training with warm_start.
 * @return SOMA_OK; SOMA_EINVAL for NULL mlp/size or buf NULL with capacity
 *         > 0; SOMA_EDIM when capacity < *size (nothing written, *size set).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_save_buffer(const soma_mlp *mlp,
                                                         bool with_optimizer, void *buf,
                                                         size_t capacity, size_t *size,
                                                         soma_error_info *err);

/**
 * @brief Write mlp to path atomically (see the file comment).
 * @return SOMA_OK; SOMA_EINVAL for NULL arguments; SOMA_ENOMEM; SOMA_EIO when
 *         the operating system fails (the destination is then unchanged).
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_save(const soma_mlp *mlp, const char *path,
                                                  bool with_optimizer,
                                                  soma_error_info *err);

/**
 * @brief Create a model from a serialized buffer.
 * @param out    receives the model
 * @param buf    the serialized bytes (as written by soma_mlp_save_buffer)
 * @param size   number of bytes in buf
 * @param alloc  allocator for the new model, or NULL
 * @param err    receives the byte offset and a message on failure, or NULL
 * @return SOMA_OK; SOMA_EINVAL for NULL out/buf; SOMA_EFORMAT for a bad
 *         magic, a truncated or inconsistent file, or values out of range;
 *         SOMA_EVERSION for a format version this library does not read;
 *         SOMA_ECHECKSUM when the CRC-32 does not match; SOMA_ENOMEM.
 *         *out is untouched on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_load_buffer(soma_mlp **out, const void *buf,
                                                         size_t size,
                                                         const soma_allocator *alloc,
                                                         soma_error_info *err);

/** @brief soma_mlp_load_buffer on the contents of a file; SOMA_EIO when it
 *  cannot be read. */
SOMA_API SOMA_NODISCARD soma_status soma_mlp_load(soma_mlp **out, const char *path,
                                                  const soma_allocator *alloc,
                                                  soma_error_info *err);

/**
 * @brief Serialize a fitted perceptron (weights, bias, options, convergence;
 * not the per-epoch history) into buf[0..capacity); *size = bytes needed.
 * @return as soma_mlp_save_buffer, and SOMA_ESTATE before a fit.
 */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_save_buffer(const soma_perceptron *p,
                                                                void *buf,
                                                                size_t capacity,
                                                                size_t *size,
                                                                soma_error_info *err);

/** @brief Write a fitted perceptron to path atomically; errors as
 *  soma_mlp_save, and SOMA_ESTATE before a fit. */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_save(const soma_perceptron *p,
                                                         const char *path,
                                                         soma_error_info *err);

/**
 * @brief Create a fitted perceptron from a serialized buffer (its history is
 * empty). Errors as soma_mlp_load_buffer; *out untouched on error.
 */
SOMA_API SOMA_NODISCARD soma_status
soma_perceptron_load_buffer(soma_perceptron **out, const void *buf, size_t size,
                            const soma_allocator *alloc, soma_error_info *err);

/** @brief soma_perceptron_load_buffer on the contents of a file. */
SOMA_API SOMA_NODISCARD soma_status soma_perceptron_load(soma_perceptron **out,
                                                         const char *path,
                                                         const soma_allocator *alloc,
                                                         soma_error_info *err);

/**
 * @brief Serialize a fitted scaler (kind 3 of the format: means, scales,
 * samples seen) into buf[0..capacity); *size = bytes needed. With buf NULL
 * (capacity 0) only *size is computed.
 * @return SOMA_OK; SOMA_EINVAL for NULL s/size, buf NULL with capacity > 0,
 *         a scale <= 0; SOMA_ESTATE for an unfitted scaler; SOMA_ENONFINITE;
 *         SOMA_EDIM when capacity < *size (nothing written, *size set).
 */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_save_buffer(const soma_scaler *s,
                                                            void *buf, size_t capacity,
                                                            size_t *size,
                                                            soma_error_info *err);

/** @brief Write a fitted scaler to path atomically; errors as
 *  soma_scaler_save_buffer and soma_mlp_save. */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_save(const soma_scaler *s,
                                                     const char *path,
                                                     soma_error_info *err);

/**
 * @brief Read a scaler written by soma_scaler_save_buffer into *s (which
 * must not hold a fit: it is overwritten, not freed; release it with
 * soma_scaler_free). Errors as soma_mlp_load_buffer; *s untouched on error.
 */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_load_buffer(soma_scaler *s,
                                                            const void *buf, size_t size,
                                                            const soma_allocator *alloc,
                                                            soma_error_info *err);

/** @brief soma_scaler_load_buffer on the contents of a file. */
SOMA_API SOMA_NODISCARD soma_status soma_scaler_load(soma_scaler *s, const char *path,
                                                     const soma_allocator *alloc,
                                                     soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_MODEL_H */
