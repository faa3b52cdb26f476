/**
 * @file matrix.h
 * @brief Dense row-major matrices of doubles, owned or viewed.
 *
 * Layout: element (i, j) lives at `data[i * ld + j]`, with `ld >= cols`;
 * this is exactly what `cblas_dgemm(CblasRowMajor, ...)` takes.
 *
 * Ownership: `soma_matrix_init` allocates (64-byte aligned, zeroed) and the
 * matrix owns its buffer until `soma_matrix_free`. `soma_matrix_view` and
 * `soma_matrix_view_rows` wrap memory that somebody else owns; freeing a view
 * only clears the struct. A view never outlives the memory it wraps.
 *
 * Validity: a matrix argument is valid when `ld >= cols` and `data` is not
 * NULL unless the matrix is empty (`rows == 0` or `cols == 0`). Empty
 * matrices are legal everywhere and every operation on them is a no-op.
 * Functions return `SOMA_EINVAL` for a NULL or invalid matrix and `SOMA_EDIM`
 * when two arguments' shapes disagree; on error nothing is written.
 */
#ifndef SOMA_MATRIX_H
#define SOMA_MATRIX_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A rows x cols block of doubles, row-major with leading dimension ld. */
typedef struct soma_matrix {
    size_t rows;          /**< number of rows */
    size_t cols;          /**< number of columns */
    size_t ld;            /**< elements between the starts of two rows, >= cols */
    double *data;         /**< first element; NULL only for an empty matrix */
    bool owner;           /**< true when soma_matrix_free releases data */
    soma_allocator alloc; /**< how data was allocated (owner only) */
} soma_matrix;

/**
 * @brief Allocate a zeroed rows x cols matrix with ld = cols.
 *
 * @param m      receives the matrix; must not already own memory (it is
 *               overwritten, not freed)
 * @param rows   number of rows (0 allowed)
 * @param cols   number of columns (0 allowed)
 * @param alloc  allocator, or NULL for aligned_alloc
 * @return SOMA_OK; SOMA_EINVAL if m is NULL or alloc has NULL functions;
 *         SOMA_EOVERFLOW if rows*cols*8 does not fit in size_t;
 *         SOMA_ENOMEM if allocation fails. On error *m is untouched.
 */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_init(soma_matrix *m, size_t rows,
                                                     size_t cols,
                                                     const soma_allocator *alloc);

/**
 * @brief Release an owned buffer (views release nothing) and zero the struct.
 * Accepts NULL and already-freed matrices.
 */
SOMA_API void soma_matrix_free(soma_matrix *m);

/**
 * @brief Wrap caller memory as a rows x cols matrix with leading dimension ld.
 * The view does not own data. Returns SOMA_EINVAL if m is NULL, ld < cols,
 * or data is NULL for a non-empty shape; SOMA_EOVERFLOW if the extent
 * (rows-1)*ld+cols does not fit in size_t.
 */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_view(soma_matrix *m, double *data,
                                                     size_t rows, size_t cols, size_t ld);

/**
 * @brief View rows [row0, row0 + nrows) of src, sharing its memory.
 *
 * The view aliases src: writing through it writes src's elements. It is
 * valid while src's buffer is. Returns SOMA_EINVAL for NULL or invalid
 * arguments, SOMA_EDIM if the block runs past src's last row.
 */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_view_rows(soma_matrix *view,
                                                          const soma_matrix *src,
                                                          size_t row0, size_t nrows);

/**
 * @brief Allocate dst and copy src into it (dst->ld = src->cols).
 * dst must not own memory. Errors as soma_matrix_init.
 */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_dup(const soma_matrix *src,
                                                    soma_matrix *dst,
                                                    const soma_allocator *alloc);

/** @brief dst = src elementwise; same shape required (SOMA_EDIM), any ld.
 *  Overlapping storage returns SOMA_EALIAS unless src and dst are the same. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_copy(const soma_matrix *src,
                                                     soma_matrix *dst);

/** @brief Set every element of m to value. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_fill(soma_matrix *m, double value);

/** @brief dst = src^T; dst must be src->cols x src->rows (SOMA_EDIM) and must
 *  not overlap src (SOMA_EALIAS). */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_transpose(const soma_matrix *src,
                                                          soma_matrix *dst);

/** @brief *out = m(i, j); SOMA_EINVAL if (i, j) is out of range. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_get(const soma_matrix *m, size_t i,
                                                    size_t j, double *out);

/** @brief m(i, j) = value; SOMA_EINVAL if (i, j) is out of range. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_set(soma_matrix *m, size_t i, size_t j,
                                                    double value);

/** @brief Unchecked address of m(i, j), for inner loops that checked already. */
static inline double *soma_matrix_at(const soma_matrix *m, size_t i, size_t j)
{
    return m->data + i * m->ld + j;
}

/** @brief m(i, :) += row(0, :) for every i; row must be 1 x m->cols. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_add_row(soma_matrix *m,
                                                        const soma_matrix *row);

/**
 * @brief dst(0, j) = alpha * sum_i src(i, j); dst must be 1 x src->cols.
 * Summation runs over rows in order (deterministic).
 */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_col_sums(const soma_matrix *src,
                                                         double alpha, soma_matrix *dst);

/** @brief m = alpha * m. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_scale(soma_matrix *m, double alpha);

/** @brief y = alpha * x + y; x and y must have the same shape. x may be y. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_axpy(double alpha, const soma_matrix *x,
                                                     soma_matrix *y);

/** @brief SOMA_OK when every element of m is finite, SOMA_ENONFINITE when one
 *  is NaN or infinite, SOMA_EINVAL for a NULL or invalid m. */
SOMA_API SOMA_NODISCARD soma_status soma_matrix_check_finite(const soma_matrix *m);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_MATRIX_H */
