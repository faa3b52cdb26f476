/* Private: integer class labels stored as doubles (data, metrics,
 * perceptron). Never installed. */
#ifndef SOMA_LABELS_H
#define SOMA_LABELS_H

#include <stddef.h>

#include "internal.h"

/* *out = v as a class index. SOMA_ENONFINITE for NaN or infinity;
 * SOMA_EINVAL when v is negative, not an integer, too large to be an exact
 * index, or >= limit (limit 0 means no upper limit). */
soma_status soma__label(double v, size_t limit, size_t *out);

/* Check the n x 1 label matrix y (the argument `name`) with soma__label
 * (limit as there) and set *k = 1 + the largest label (0 when y has no
 * rows). SOMA_EINVAL also when y is invalid or not a single column. The
 * detail names the first bad label; `hint` (or NULL) is appended when a
 * label is an integer >= limit. */
soma_status soma__labels_scan(const soma_matrix *y, const char *name, size_t limit,
                              const char *hint, size_t *k, soma_error_info *err);

#endif /* SOMA_LABELS_H */
