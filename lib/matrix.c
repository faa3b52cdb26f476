#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "parallel.h"

soma_status soma__matrix_check(const soma_matrix *m)
{
    if (m == NULL || m->ld < m->cols)
        return SOMA_EINVAL;
    if (m->data == NULL && m->rows > 0 && m->cols > 0)
        return SOMA_EINVAL;
    return SOMA_OK;
}

size_t soma__matrix_extent(const soma_matrix *m)
{
    if (m->rows == 0 || m->cols == 0)
        return 0;
    return (m->rows - 1) * m->ld + m->cols;
}

bool soma__matrix_overlap(const soma_matrix *a, const soma_matrix *b)
{
    size_t ea = soma__matrix_extent(a), eb = soma__matrix_extent(b);
    if (ea == 0 || eb == 0)
        return false;
    uintptr_t a0 = (uintptr_t)a->data, a1 = (uintptr_t)(a->data + ea);
    uintptr_t b0 = (uintptr_t)b->data, b1 = (uintptr_t)(b->data + eb);
    return a0 < b1 && b0 < a1;
}

bool soma__matrix_bad_alias(const soma_matrix *out, const soma_matrix *in)
{
    const bool same = out->data == in->data && out->ld == in->ld;
    return !same && soma__matrix_overlap(out, in);
}

/* Extent (rows-1)*ld + cols without overflow; false if it does not fit. */
static bool extent_fits(size_t rows, size_t cols, size_t ld)
{
    size_t e, bytes;
    if (rows == 0 || cols == 0)
        return true;
    return soma__mul(rows - 1, ld, &e) && soma__add(e, cols, &e) &&
           soma__doubles_bytes(e, &bytes);
}

soma_status soma_matrix_init(soma_matrix *m, size_t rows, size_t cols,
                             const soma_allocator *alloc)
{
    if (m == NULL || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    size_t n, bytes;
    if (!soma__mul(rows, cols, &n) || !soma__doubles_bytes(n, &bytes))
        return SOMA_EOVERFLOW;
    soma_allocator a = soma__allocator_resolve(alloc);
    double *data = NULL;
    if (bytes > 0) {
        data = soma__calloc(&a, bytes);
        if (data == NULL)
            return SOMA_ENOMEM;
    }
    m->rows = rows;
    m->cols = cols;
    m->ld = cols;
    m->data = data;
    m->owner = true;
    m->alloc = a;
    return SOMA_OK;
}

void soma_matrix_free(soma_matrix *m)
{
    if (m == NULL)
        return;
    if (m->owner && m->data != NULL)
        soma__free(&m->alloc, m->data, m->rows * m->cols * sizeof(double));
    memset(m, 0, sizeof *m);
}

soma_status soma_matrix_view(soma_matrix *m, double *data, size_t rows, size_t cols,
                             size_t ld)
{
    if (m == NULL || ld < cols || (data == NULL && rows > 0 && cols > 0))
        return SOMA_EINVAL;
    if (!extent_fits(rows, cols, ld))
        return SOMA_EOVERFLOW;
    *m = soma__view(data, rows, cols, ld);
    return SOMA_OK;
}

soma_status soma_matrix_view_rows(soma_matrix *view, const soma_matrix *src, size_t row0,
                                  size_t nrows)
{
    if (view == NULL)
        return SOMA_EINVAL;
    SOMA_TRY(soma__matrix_check(src));
    if (row0 > src->rows || nrows > src->rows - row0)
        return SOMA_EDIM;
    /* An empty block points nowhere: row0 may be one past the last row. */
    double *start = nrows == 0 || src->data == NULL ? NULL : src->data + row0 * src->ld;
    *view = soma__view(start, nrows, src->cols, src->ld);
    return SOMA_OK;
}

/* Copy rows of a same-shaped, non-overlapping (or identical) matrix. */
static void copy_rows(const soma_matrix *src, soma_matrix *dst)
{
    if (src->data == dst->data && src->ld == dst->ld)
        return;
    if (soma__matrix_contiguous(src) && soma__matrix_contiguous(dst)) {
        memcpy(dst->data, src->data, src->rows * src->cols * sizeof(double));
        return;
    }
    for (size_t i = 0; i < src->rows; i++)
        memcpy(soma_matrix_at(dst, i, 0), soma_matrix_at(src, i, 0),
               src->cols * sizeof(double));
}

soma_status soma_matrix_dup(const soma_matrix *src, soma_matrix *dst,
                            const soma_allocator *alloc)
{
    SOMA_TRY(soma__matrix_check(src));
    if (dst == NULL)
        return SOMA_EINVAL;
    soma_matrix tmp;
    SOMA_TRY(soma_matrix_init(&tmp, src->rows, src->cols, alloc));
    if (tmp.data != NULL)
        copy_rows(src, &tmp);
    *dst = tmp;
    return SOMA_OK;
}

soma_status soma_matrix_copy(const soma_matrix *src, soma_matrix *dst)
{
    SOMA_TRY(soma__matrix_check(src));
    SOMA_TRY(soma__matrix_check(dst));
    if (src->rows != dst->rows || src->cols != dst->cols)
        return SOMA_EDIM;
    if (soma__matrix_extent(src) == 0)
        return SOMA_OK;
    if (soma__matrix_bad_alias(dst, src))
        return SOMA_EALIAS;
    copy_rows(src, dst);
    return SOMA_OK;
}

soma_status soma_matrix_fill(soma_matrix *m, double value)
{
    SOMA_TRY(soma__matrix_check(m));
    if (soma__matrix_empty(m))
        return SOMA_OK;
    for (size_t i = 0; i < m->rows; i++) {
        double *r = soma_matrix_at(m, i, 0);
        for (size_t j = 0; j < m->cols; j++)
            r[j] = value;
    }
    return SOMA_OK;
}

soma_status soma_matrix_transpose(const soma_matrix *src, soma_matrix *dst)
{
    SOMA_TRY(soma__matrix_check(src));
    SOMA_TRY(soma__matrix_check(dst));
    if (dst->rows != src->cols || dst->cols != src->rows)
        return SOMA_EDIM;
    if (soma__matrix_overlap(src, dst))
        return SOMA_EALIAS;
    if (soma__matrix_empty(src))
        return SOMA_OK;
    for (size_t i = 0; i < src->rows; i++) {
        const double *r = soma_matrix_at(src, i, 0);
        for (size_t j = 0; j < src->cols; j++)
            *soma_matrix_at(dst, j, i) = r[j];
    }
    return SOMA_OK;
}

soma_status soma_matrix_get(const soma_matrix *m, size_t i, size_t j, double *out)
{
    SOMA_TRY(soma__matrix_check(m));
    if (out == NULL || i >= m->rows || j >= m->cols)
        return SOMA_EINVAL;
    *out = *soma_matrix_at(m, i, j);
    return SOMA_OK;
}

soma_status soma_matrix_set(soma_matrix *m, size_t i, size_t j, double value)
{
    SOMA_TRY(soma__matrix_check(m));
    if (i >= m->rows || j >= m->cols)
        return SOMA_EINVAL;
    *soma_matrix_at(m, i, j) = value;
    return SOMA_OK;
}

soma_status soma_matrix_add_row(soma_matrix *m, const soma_matrix *row)
{
    SOMA_TRY(soma__matrix_check(m));
    SOMA_TRY(soma__matrix_check(row));
    if (row->rows != 1 || row->cols != m->cols)
        return SOMA_EDIM;
    if (soma__matrix_empty(m))
        return SOMA_OK;
    if (soma__matrix_overlap(m, row))
        return SOMA_EALIAS;
    const double *b = row->data;
    for (size_t i = 0; i < m->rows; i++) {
        double *r = soma_matrix_at(m, i, 0);
        for (size_t j = 0; j < m->cols; j++)
            r[j] += b[j];
    }
    return SOMA_OK;
}

/* Columns per item of the column-sum loop: a cache line of doubles, so that
 * blocks of columns never share a line of dst. */
enum { COL_GROUP = 8 };

typedef struct col_sums_ctx {
    const soma_matrix *src;
    double alpha;
    double *s;
} col_sums_ctx;

/* s[j] = alpha * sum of column j, for the columns of groups [g0, g1): the
 * same additions in the same order as one pass over every column. */
static void col_sums_groups(const void *ctx, size_t g0, size_t g1)
{
    const col_sums_ctx *c = ctx;
    const size_t j0 = g0 * COL_GROUP;
    const size_t j1 = g1 * COL_GROUP < c->src->cols ? g1 * COL_GROUP : c->src->cols;
    double *s = c->s;
    for (size_t j = j0; j < j1; j++)
        s[j] = 0.0;
    for (size_t i = 0; i < c->src->rows; i++) {
        const double *r = soma_matrix_at(c->src, i, 0);
        for (size_t j = j0; j < j1; j++)
            s[j] += r[j];
    }
    for (size_t j = j0; j < j1; j++)
        s[j] *= c->alpha;
}

soma_status soma_matrix_col_sums(const soma_matrix *src, double alpha, soma_matrix *dst)
{
    SOMA_TRY(soma__matrix_check(src));
    SOMA_TRY(soma__matrix_check(dst));
    if (dst->rows != 1 || dst->cols != src->cols)
        return SOMA_EDIM;
    if (soma__matrix_overlap(src, dst))
        return SOMA_EALIAS;
    if (src->cols == 0)
        return SOMA_OK;
    col_sums_ctx c = {src, alpha, dst->data};
    if (src->rows == 0) {
        col_sums_groups(&c, 0, (src->cols + COL_GROUP - 1) / COL_GROUP);
        return SOMA_OK;
    }
    const size_t groups = (src->cols + COL_GROUP - 1) / COL_GROUP;
    soma__par_for(groups, soma__col_sums_grain(src->rows, src->cols, COL_GROUP),
                  col_sums_groups, &c);
    return SOMA_OK;
}

soma_status soma_matrix_scale(soma_matrix *m, double alpha)
{
    SOMA_TRY(soma__matrix_check(m));
    if (soma__matrix_empty(m))
        return SOMA_OK;
    for (size_t i = 0; i < m->rows; i++) {
        double *r = soma_matrix_at(m, i, 0);
        for (size_t j = 0; j < m->cols; j++)
            r[j] *= alpha;
    }
    return SOMA_OK;
}

soma_status soma_matrix_axpy(double alpha, const soma_matrix *x, soma_matrix *y)
{
    SOMA_TRY(soma__matrix_check(x));
    SOMA_TRY(soma__matrix_check(y));
    if (x->rows != y->rows || x->cols != y->cols)
        return SOMA_EDIM;
    if (soma__matrix_empty(y))
        return SOMA_OK;
    if (soma__matrix_bad_alias(y, x))
        return SOMA_EALIAS;
    for (size_t i = 0; i < y->rows; i++) {
        const double *xr = soma_matrix_at(x, i, 0);
        double *yr = soma_matrix_at(y, i, 0);
        for (size_t j = 0; j < y->cols; j++)
            yr[j] += alpha * xr[j];
    }
    return SOMA_OK;
}

/* 1 when x[0..n) holds NaN or an infinity. */
static int any_nonfinite(const double *x, size_t n)
{
    /* Integer OR of a comparison: no early exit, so the loop vectorizes. */
    int bad = 0;
    for (size_t j = 0; j < n; j++)
        bad |= !(fabs(x[j]) <= DBL_MAX);
    return bad;
}

/* out[0] = 1 when the items [begin, end) of the matrix hold a non-finite
 * value: elements when its rows are packed, rows otherwise. */
static void nonfinite_block(const void *ctx, size_t begin, size_t end, double *out)
{
    const soma_matrix *m = ctx;
    int bad = 0;
    if (soma__matrix_contiguous(m)) {
        bad = any_nonfinite(m->data + begin, end - begin);
    } else {
        for (size_t i = begin; i < end && !bad; i++)
            bad = any_nonfinite(soma_matrix_at(m, i, 0), m->cols);
    }
    out[0] = bad;
}

soma_status soma_matrix_check_finite(const soma_matrix *m)
{
    SOMA_TRY(soma__matrix_check(m));
    if (soma__matrix_empty(m))
        return SOMA_OK;
    /* A count of blocks with a bad value: exact whatever the thread count. */
    double bad;
    if (soma__matrix_contiguous(m))
        soma__par_sums(m->rows * m->cols, SOMA__GRAIN_CHECK, 1, nonfinite_block, m, &bad);
    else
        soma__par_sums(m->rows, SOMA__GRAIN_CHECK / m->cols + 1, 1, nonfinite_block, m,
                       &bad);
    return bad > 0.0 ? SOMA_ENONFINITE : SOMA_OK;
}
