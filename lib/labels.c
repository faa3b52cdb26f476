#include <math.h>
#include <stdint.h>

#include "labels.h"

soma_status soma__label(double v, size_t limit, size_t *out)
{
    if (!isfinite(v))
        return SOMA_ENONFINITE;
    /* 2^53 bounds the integers a double holds exactly; SIZE_MAX bounds the
     * conversion on 32-bit targets. */
    if (v < 0.0 || v != floor(v) || v >= 9007199254740992.0 || v >= (double)SIZE_MAX)
        return SOMA_EINVAL;
    size_t idx = (size_t)v;
    if (limit != 0 && idx >= limit)
        return SOMA_EINVAL;
    *out = idx;
    return SOMA_OK;
}

soma_status soma__labels_scan(const soma_matrix *y, const char *name, size_t limit,
                              const char *hint, size_t *k, soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(y, name, err));
    SOMA_REQUIRE(y->cols == 1, err, SOMA_EINVAL, name,
                 "%s has %zu columns: class labels are one column of integers 0..k-1%s",
                 name, y->cols,
                 y->cols > 1 ? " (for one-hot rows, take each row's argmax)" : "");
    size_t top = 0;
    for (size_t i = 0; i < y->rows; i++) {
        size_t c;
        const double v = *soma_matrix_at(y, i, 0);
        const soma_status st = soma__label(v, limit, &c);
        if (st != SOMA_OK) {
            const bool integer = isfinite(v) && v >= 0.0 && v == floor(v);
            if (integer && limit != 0)
                return soma__fail(
                    err, st, name,
                    "%s(%zu, 0) is %g but there are %zu classes (labels 0..%zu)%s", name,
                    i, v, limit, limit - 1, hint != NULL ? hint : "");
            return soma__fail(err, st, name,
                              "%s(%zu, 0) is %g: class labels are integers 0, 1, 2, ...",
                              name, i, v);
        }
        if (c + 1 > top)
            top = c + 1;
    }
    *k = top;
    return SOMA_OK;
}
