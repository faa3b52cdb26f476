/* Error detail for argument checks: soma__fail and the matrix-argument
 * checks every model-level function shares (see status.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

soma_status soma__fail(soma_error_info *err, soma_status st, const char *arg,
                       const char *fmt, ...)
{
    if (err == NULL)
        return st;
    err->line = 0;
    err->column = 0;
    err->offset = 0;
    snprintf(err->argument, sizeof err->argument, "%s", arg != NULL ? arg : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return st;
}

soma_status soma__check_matrix_arg(const soma_matrix *m, const char *name,
                                   soma_error_info *err)
{
    if (m == NULL)
        return soma__fail(err, SOMA_EINVAL, name, "%s is NULL", name);
    if (m->ld < m->cols)
        return soma__fail(err, SOMA_EINVAL, name,
                          "%s has ld %zu < cols %zu: rows must not overlap", name, m->ld,
                          m->cols);
    if (m->data == NULL && m->rows > 0 && m->cols > 0)
        return soma__fail(err, SOMA_EINVAL, name,
                          "%s is %zu x %zu but its data is NULL: allocate it "
                          "(soma_matrix_init) or point it at storage",
                          name, m->rows, m->cols);
    return SOMA_OK;
}

soma_status soma__check_finite_arg(const soma_matrix *m, const char *name,
                                   soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(m, name, err));
    if (soma_matrix_check_finite(m) == SOMA_OK)
        return SOMA_OK;
    /* Only on failure: find the first offender for the message. */
    for (size_t i = 0; i < m->rows; i++)
        for (size_t j = 0; j < m->cols; j++) {
            const double v = *soma_matrix_at(m, i, j);
            if (!isfinite(v))
                return soma__fail(err, SOMA_ENONFINITE, name,
                                  "%s(%zu, %zu) is %s: every value must be finite", name,
                                  i, j,
                                  isnan(v) ? "NaN"
                                  : v > 0  ? "+infinity"
                                           : "-infinity");
        }
    return SOMA_ENONFINITE;
}

soma_status soma__check_shape_arg(const soma_matrix *m, const char *name, size_t rows,
                                  size_t cols, soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(m, name, err));
    if (m->rows != rows || m->cols != cols)
        return soma__fail(err, SOMA_EDIM, name, "%s is %zu x %zu; expected %zu x %zu",
                          name, m->rows, m->cols, rows, cols);
    return SOMA_OK;
}

soma_status soma__check_alias_arg(const soma_matrix *out, const char *out_name,
                                  const soma_matrix *in, const char *in_name,
                                  soma_error_info *err)
{
    if (soma__matrix_bad_alias(out, in))
        return soma__fail(err, SOMA_EALIAS, out_name,
                          "%s overlaps %s without being the same storage: pass separate "
                          "buffers (or the very same matrix where in-place is allowed)",
                          out_name, in_name);
    return SOMA_OK;
}

soma_status soma__fail_nomem(soma_error_info *err, size_t bytes, const char *what)
{
    return soma__fail(err, SOMA_ENOMEM, "", "out of memory allocating %zu bytes for %s",
                      bytes, what);
}

soma_status soma__check_same_shape_arg(const soma_matrix *a, const char *a_name,
                                       const soma_matrix *b, const char *b_name,
                                       soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(a, a_name, err));
    if (!soma__matrix_same_shape(a, b))
        return soma__fail(
            err, SOMA_EDIM, a_name,
            "%s is %zu x %zu but %s is %zu x %zu: they must have the same shape", a_name,
            a->rows, a->cols, b_name, b->rows, b->cols);
    return SOMA_OK;
}

soma_status soma__check_disjoint_arg(const soma_matrix *out, const char *out_name,
                                     const soma_matrix *in, const char *in_name,
                                     soma_error_info *err)
{
    if (soma__matrix_overlap(out, in))
        return soma__fail(err, SOMA_EALIAS, out_name,
                          "%s overlaps %s: it needs its own storage", out_name, in_name);
    return SOMA_OK;
}
