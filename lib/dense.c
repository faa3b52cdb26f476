#include <limits.h>
#include <math.h>

#include "nn.h"
#include "parallel.h"

void soma__dense_forward(const soma_dense *layer, const soma_matrix *X, soma_matrix *Z,
                         soma_matrix *A)
{
    soma__gemm(false, false, 1.0, X, &layer->W, 0.0, Z);
    if (soma__matrix_empty(Z))
        return;
    /* Bias and activation over groups of rows of about DENSE_GROUP elements,
     * so that the group is still in cache for the second pass, with one
     * call per group rather than per row when Z and A are packed (narrow
     * layers: per-row calls of 64 elements cost as much as the arithmetic). */
    enum { DENSE_GROUP = 4096 };
    const double *b = layer->b.data;
    const size_t m = Z->rows, n = Z->cols;
    const bool packed = layer->activation != SOMA_ACTIVATION_SOFTMAX &&
                        soma__matrix_contiguous(Z) && soma__matrix_contiguous(A);
    const size_t group = packed && n < DENSE_GROUP ? DENSE_GROUP / n : 1;
    for (size_t i0 = 0; i0 < m; i0 += group) {
        const size_t g = m - i0 < group ? m - i0 : group;
        soma__add_bias_rows(g, n, soma_matrix_at(Z, i0, 0), Z->ld, b);
        if (packed) {
            soma__act_forward(layer->activation, layer->alpha, g * n,
                              soma_matrix_at(Z, i0, 0), soma_matrix_at(A, i0, 0));
            continue;
        }
        for (size_t i = i0; i < i0 + g; i++)
            soma__act_forward(layer->activation, layer->alpha, n, soma_matrix_at(Z, i, 0),
                              soma_matrix_at(A, i, 0));
    }
}

/* Columns per item of the column-sum loop: a cache line of doubles, so that
 * blocks of columns never share a line of db. */
enum { COL_GROUP = 8 };

typedef struct col_sums_ctx {
    const soma_matrix *dZ;
    double scale;
    bool accumulate;
    double *db;
} col_sums_ctx;

/* db[j] (+)= scale * sum of column j of dZ for the columns of groups [g0,
 * g1): per column the same additions in the same order whatever the
 * groups, so the bits do not depend on the thread count. */
static void col_sums_groups(const void *ctx, size_t g0, size_t g1)
{
    const col_sums_ctx *c = ctx;
    const size_t j0 = g0 * COL_GROUP;
    const size_t j1 = g1 * COL_GROUP < c->dZ->cols ? g1 * COL_GROUP : c->dZ->cols;
    double *db = c->db;
    if (!c->accumulate)
        for (size_t j = j0; j < j1; j++)
            db[j] = 0.0;
    for (size_t i = 0; i < c->dZ->rows; i++) {
        const double *r = soma_matrix_at(c->dZ, i, 0);
        for (size_t j = j0; j < j1; j++)
            db[j] += c->scale * r[j];
    }
}

static void col_sums(const soma_matrix *dZ, double scale, bool accumulate, double *db)
{
    const size_t n = dZ->cols;
    if (n == 0)
        return;
    col_sums_ctx c = {dZ, scale, accumulate, db};
    const size_t groups = (n + COL_GROUP - 1) / COL_GROUP;
    if (dZ->rows == 0) {
        col_sums_groups(&c, 0, groups);
        return;
    }
    soma__par_for(groups, SOMA__GRAIN_SUM / (dZ->rows * COL_GROUP) + 1, col_sums_groups,
                  &c);
}

void soma__dense_grads(const soma_dense *layer, const soma_matrix *X,
                       const soma_matrix *dZ, double scale, bool accumulate,
                       soma_matrix *dW, soma_matrix *db, soma_matrix *dX)
{
    soma__gemm(true, false, scale, X, dZ, accumulate ? 1.0 : 0.0, dW);
    col_sums(dZ, scale, accumulate, db->data);
    if (dX != NULL)
        soma__gemm(false, true, 1.0, dZ, &layer->W, 0.0, dX);
}

void soma__activation_backward_rows(soma_activation f, double alpha, const soma_matrix *Z,
                                    const soma_matrix *A, const soma_matrix *dA,
                                    soma_matrix *dZ)
{
    if (soma__matrix_empty(Z))
        return;
    const bool packed = f != SOMA_ACTIVATION_SOFTMAX && soma__matrix_contiguous(Z) &&
                        soma__matrix_contiguous(A) && soma__matrix_contiguous(dA) &&
                        soma__matrix_contiguous(dZ);
    if (packed) {
        soma__act_backward(f, alpha, Z->rows * Z->cols, Z->data, A->data, dA->data,
                           dZ->data);
        return;
    }
    for (size_t i = 0; i < Z->rows; i++)
        soma__act_backward(f, alpha, Z->cols, soma_matrix_at(Z, i, 0),
                           soma_matrix_at(A, i, 0), soma_matrix_at(dA, i, 0),
                           soma_matrix_at(dZ, i, 0));
}

/* ---- public, checked ---- */

static soma_status check_layer(const soma_dense *layer, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(layer, err, "layer");
    SOMA_REQUIRE((unsigned)layer->activation < SOMA_ACTIVATION_COUNT, err, SOMA_EINVAL,
                 "layer.activation",
                 "layer.activation is %d: not a soma_activation value",
                 (int)layer->activation);
    SOMA_REQUIRE(isfinite(layer->alpha), err, SOMA_EINVAL, "layer.alpha",
                 "layer.alpha is %g: it must be finite", layer->alpha);
    SOMA_TRY(soma__check_matrix_arg(&layer->W, "layer.W", err));
    SOMA_TRY(soma__check_shape_arg(&layer->b, "layer.b", 1, layer->W.cols, err));
    SOMA_REQUIRE(layer->W.rows <= INT_MAX && layer->W.cols <= INT_MAX &&
                     layer->W.ld <= INT_MAX,
                 err, SOMA_EOVERFLOW, "layer.W",
                 "layer.W is %zu x %zu (ld %zu): the BLAS takes int dimensions",
                 layer->W.rows, layer->W.cols, layer->W.ld);
    return SOMA_OK;
}

/* Check a rows x cols matrix argument named `name`. */
static soma_status check_shape(const soma_matrix *M, const char *name, size_t rows,
                               size_t cols, soma_error_info *err)
{
    SOMA_TRY(soma__check_shape_arg(M, name, rows, cols, err));
    SOMA_REQUIRE(M->rows <= INT_MAX && M->ld <= INT_MAX, err, SOMA_EOVERFLOW, name,
                 "%s has %zu rows (ld %zu): the BLAS takes int dimensions", name, M->rows,
                 M->ld);
    return SOMA_OK;
}

/* X against the layer: any number of rows, W.rows columns. */
static soma_status check_input(const soma_dense *layer, const soma_matrix *X,
                               soma_error_info *err)
{
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    SOMA_REQUIRE(X->cols == layer->W.rows, err, SOMA_EDIM, "X",
                 "X has %zu columns but layer.W has %zu rows (the layer's inputs)",
                 X->cols, layer->W.rows);
    return check_shape(X, "X", X->rows, X->cols, err);
}

static bool same_matrix(const soma_matrix *a, const soma_matrix *b)
{
    return a->data == b->data && a->ld == b->ld && a->rows == b->rows &&
           a->cols == b->cols;
}

/* out must not overlap the layer's parameters. */
static soma_status check_params_disjoint(const soma_dense *layer, const soma_matrix *out,
                                         const char *name, soma_error_info *err)
{
    SOMA_TRY(soma__check_disjoint_arg(out, name, &layer->W, "layer.W", err));
    return soma__check_disjoint_arg(out, name, &layer->b, "layer.b", err);
}

soma_status soma_dense_forward(const soma_dense *layer, const soma_matrix *X,
                               soma_matrix *Z, soma_matrix *A, soma_error_info *err)
{
    SOMA_TRY(check_layer(layer, err));
    SOMA_TRY(check_input(layer, X, err));
    const size_t m = X->rows, out = layer->W.cols;
    SOMA_TRY(check_shape(Z, "Z", m, out, err));
    SOMA_TRY(check_shape(A, "A", m, out, err));
    SOMA_TRY(soma__check_disjoint_arg(Z, "Z", X, "X", err));
    SOMA_TRY(soma__check_disjoint_arg(A, "A", X, "X", err));
    SOMA_TRY(check_params_disjoint(layer, Z, "Z", err));
    SOMA_TRY(check_params_disjoint(layer, A, "A", err));
    SOMA_REQUIRE(
        !soma__matrix_overlap(Z, A) ||
            (layer->activation == SOMA_ACTIVATION_IDENTITY && same_matrix(Z, A)),
        err, SOMA_EALIAS, "A",
        "A overlaps Z: they may be the same matrix only for the identity activation");
    soma__dense_forward(layer, X, Z, A);
    return SOMA_OK;
}

static soma_status check_grads_args(const soma_dense *layer, const soma_matrix *X,
                                    const soma_matrix *dZ, soma_matrix *dW,
                                    soma_matrix *db, soma_matrix *dX,
                                    soma_error_info *err)
{
    SOMA_TRY(check_layer(layer, err));
    SOMA_TRY(check_input(layer, X, err));
    const size_t m = X->rows, in = layer->W.rows, out = layer->W.cols;
    SOMA_TRY(check_shape(dZ, "dZ", m, out, err));
    SOMA_TRY(check_shape(dW, "dW", in, out, err));
    SOMA_TRY(check_shape(db, "db", 1, out, err));
    if (dX != NULL)
        SOMA_TRY(check_shape(dX, "dX", m, in, err));
    soma_matrix *outs[3] = {dW, db, dX};
    const char *out_names[3] = {"dW", "db", "dX"};
    const soma_matrix *ins[4] = {X, dZ, &layer->W, &layer->b};
    const char *in_names[4] = {"X", "dZ", "layer.W", "layer.b"};
    for (int o = 0; o < 3; o++) {
        if (outs[o] == NULL)
            continue;
        for (int i = 0; i < 4; i++)
            SOMA_TRY(soma__check_disjoint_arg(outs[o], out_names[o], ins[i], in_names[i],
                                              err));
        for (int p = 0; p < o; p++)
            if (outs[p] != NULL)
                SOMA_TRY(soma__check_disjoint_arg(outs[o], out_names[o], outs[p],
                                                  out_names[p], err));
    }
    return SOMA_OK;
}

soma_status soma_dense_backward_dz(const soma_dense *layer, const soma_matrix *X,
                                   const soma_matrix *dZ, soma_matrix *dW,
                                   soma_matrix *db, soma_matrix *dX, soma_error_info *err)
{
    SOMA_TRY(check_grads_args(layer, X, dZ, dW, db, dX, err));
    const double scale = X->rows > 0 ? 1.0 / (double)X->rows : 0.0;
    soma__dense_grads(layer, X, dZ, scale, false, dW, db, dX);
    return SOMA_OK;
}

soma_status soma_dense_backward(const soma_dense *layer, const soma_matrix *X,
                                const soma_matrix *Z, const soma_matrix *A,
                                const soma_matrix *dA, soma_matrix *dZ, soma_matrix *dW,
                                soma_matrix *db, soma_matrix *dX, soma_error_info *err)
{
    SOMA_TRY(check_layer(layer, err));
    /* X gives m, the row count every other shape is checked against: an
     * invalid X is SOMA_EINVAL, not a mismatch of the others. */
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    SOMA_REQUIRE_PTR(Z, err, "Z");
    const size_t m = X->rows, out = layer->W.cols;
    SOMA_TRY(check_shape(Z, "Z", m, out, err));
    SOMA_TRY(check_shape(A, "A", m, out, err));
    SOMA_TRY(check_shape(dA, "dA", m, out, err));
    SOMA_TRY(check_shape(dZ, "dZ", m, out, err));
    if (!same_matrix(dZ, dA))
        SOMA_TRY(soma__check_disjoint_arg(dZ, "dZ", dA, "dA", err));
    SOMA_TRY(soma__check_disjoint_arg(dZ, "dZ", Z, "Z", err));
    SOMA_TRY(soma__check_disjoint_arg(dZ, "dZ", A, "A", err));
    SOMA_TRY(soma__check_disjoint_arg(dZ, "dZ", X, "X", err));
    /* Everything dZ feeds must be valid before dZ is written. */
    SOMA_TRY(check_grads_args(layer, X, dZ, dW, db, dX, err));
    const soma_matrix *ins[3] = {Z, A, dA};
    const char *in_names[3] = {"Z", "A", "dA"};
    soma_matrix *outs[3] = {dW, db, dX};
    const char *out_names[3] = {"dW", "db", "dX"};
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 3; i++)
            if (outs[o] != NULL)
                SOMA_TRY(soma__check_disjoint_arg(outs[o], out_names[o], ins[i],
                                                  in_names[i], err));
    soma__activation_backward_rows(layer->activation, layer->alpha, Z, A, dA, dZ);
    const double scale = m > 0 ? 1.0 / (double)m : 0.0;
    soma__dense_grads(layer, X, dZ, scale, false, dW, db, dX);
    return SOMA_OK;
}
