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

soma_status soma__labels_scan(const soma_matrix *y, size_t limit, size_t *k)
{
    SOMA_TRY(soma__matrix_check(y));
    if (y->cols != 1)
        return SOMA_EINVAL;
    size_t top = 0;
    for (size_t i = 0; i < y->rows; i++) {
        size_t c;
        SOMA_TRY(soma__label(*soma_matrix_at(y, i, 0), limit, &c));
        if (c + 1 > top)
            top = c + 1;
    }
    *k = top;
    return SOMA_OK;
}
