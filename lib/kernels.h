/* Unchecked numeric kernels, in double (suffix _f64) and float (_f32).
 *
 * Both precisions come from one source: lib/kernels_t.c, compiled twice
 * (lib/kernels_f64.c and lib/kernels_f32.c define the type SOMA_T and the
 * name suffix SOMA_SFX, then include it); the prototypes below come from
 * lib/kernels_decl.h, included once per type. Callers have validated every
 * argument; nothing here fails. Never installed.
 *
 * Element-wise kernels take contiguous ranges (a count n from a pointer),
 * so that a caller may split [0, n) into blocks.
 */
#ifndef SOMA_KERNELS_H
#define SOMA_KERNELS_H

#include <stddef.h>

#include "internal.h"

/* A rows x cols block of one precision, row-major with leading dimension
 * ld: the double one is soma_matrix itself (so that the public API's
 * matrices are kernel arguments as they are), the float one a plain view. */
typedef soma_matrix soma__mat_f64;
typedef struct soma__mat_f32 {
    size_t rows, cols, ld;
    float *data;
} soma__mat_f32;

/* Field-based helpers that serve both matrix types. */
#define SOMA__AT(m, i, j) ((m)->data + (i) * (m)->ld + (j))
#define SOMA__EMPTY(m) ((m)->rows == 0 || (m)->cols == 0)
#define SOMA__PACKED(m) ((m)->ld == (m)->cols || (m)->rows <= 1)

#define SOMA_T double
#define SOMA_SFX(name) name##_f64
#include "kernels_decl.h"
#undef SOMA_T
#undef SOMA_SFX

#define SOMA_T float
#define SOMA_SFX(name) name##_f32
#include "kernels_decl.h"
#undef SOMA_T
#undef SOMA_SFX

/* SOMA_OK when Y lies in the loss's target domain (see loss.h), else
 * SOMA_EINVAL with the offending row in err (Y called `name`). */
soma_status soma__loss_check_targets(soma_loss loss, const soma_matrix *Y,
                                     const char *name, soma_error_info *err);

/* True when c is a valid optimizer configuration (see optim.h). */
bool soma__optim_config_valid(const soma_optim_config *c);

#endif /* SOMA_KERNELS_H */
