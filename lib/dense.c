#include <limits.h>
#include <math.h>

#include "kernels.h"

/* ---- public, checked ---- */

static soma_status check_layer(const soma_dense *layer)
{
    if (layer == NULL || (unsigned)layer->activation >= SOMA_ACTIVATION_COUNT ||
        !isfinite(layer->alpha))
        return SOMA_EINVAL;
    SOMA_TRY(soma__matrix_check(&layer->W));
    SOMA_TRY(soma__matrix_check(&layer->b));
    if (layer->b.rows != 1 || layer->b.cols != layer->W.cols)
        return SOMA_EDIM;
    if (layer->W.rows > INT_MAX || layer->W.cols > INT_MAX || layer->W.ld > INT_MAX)
        return SOMA_EOVERFLOW;
    return SOMA_OK;
}

/* Check an m x cols matrix argument; rows == SIZE_MAX accepts any m. */
static soma_status check_shape(const soma_matrix *M, size_t rows, size_t cols)
{
    SOMA_TRY(soma__matrix_check(M));
    if (M->rows != rows || M->cols != cols)
        return SOMA_EDIM;
    if (M->rows > INT_MAX || M->ld > INT_MAX)
        return SOMA_EOVERFLOW;
    return SOMA_OK;
}

static bool same_matrix(const soma_matrix *a, const soma_matrix *b)
{
    return a->data == b->data && a->ld == b->ld && a->rows == b->rows &&
           a->cols == b->cols;
}

soma_status soma_dense_forward(const soma_dense *layer, const soma_matrix *X,
                               soma_matrix *Z, soma_matrix *A)
{
    SOMA_TRY(check_layer(layer));
    if (X == NULL)
        return SOMA_EINVAL;
    const size_t m = X->rows, in = layer->W.rows, out = layer->W.cols;
    SOMA_TRY(check_shape(X, m, in));
    SOMA_TRY(check_shape(Z, m, out));
    SOMA_TRY(check_shape(A, m, out));
    const soma_matrix *outs[2] = {Z, A};
    for (int o = 0; o < 2; o++)
        if (soma__matrix_overlap(outs[o], X) ||
            soma__matrix_overlap(outs[o], &layer->W) ||
            soma__matrix_overlap(outs[o], &layer->b))
            return SOMA_EALIAS;
    if (soma__matrix_overlap(Z, A) &&
        !(layer->activation == SOMA_ACTIVATION_IDENTITY && same_matrix(Z, A)))
        return SOMA_EALIAS;
    soma__dense_forward_f64(&layer->W, &layer->b, layer->activation, layer->alpha, X, Z,
                            A);
    return SOMA_OK;
}

static soma_status check_grads_args(const soma_dense *layer, const soma_matrix *X,
                                    const soma_matrix *dZ, soma_matrix *dW,
                                    soma_matrix *db, soma_matrix *dX)
{
    SOMA_TRY(check_layer(layer));
    if (X == NULL)
        return SOMA_EINVAL;
    const size_t m = X->rows, in = layer->W.rows, out = layer->W.cols;
    SOMA_TRY(check_shape(X, m, in));
    SOMA_TRY(check_shape(dZ, m, out));
    SOMA_TRY(check_shape(dW, in, out));
    SOMA_TRY(check_shape(db, 1, out));
    if (dX != NULL)
        SOMA_TRY(check_shape(dX, m, in));
    soma_matrix *outs[3] = {dW, db, dX};
    const soma_matrix *ins[4] = {X, dZ, &layer->W, &layer->b};
    for (int o = 0; o < 3; o++) {
        if (outs[o] == NULL)
            continue;
        for (int i = 0; i < 4; i++)
            if (soma__matrix_overlap(outs[o], ins[i]))
                return SOMA_EALIAS;
        for (int p = 0; p < o; p++)
            if (outs[p] != NULL && soma__matrix_overlap(outs[o], outs[p]))
                return SOMA_EALIAS;
    }
    return SOMA_OK;
}

soma_status soma_dense_backward_dz(const soma_dense *layer, const soma_matrix *X,
                                   const soma_matrix *dZ, soma_matrix *dW,
                                   soma_matrix *db, soma_matrix *dX)
{
    SOMA_TRY(check_grads_args(layer, X, dZ, dW, db, dX));
    const double scale = X->rows > 0 ? 1.0 / (double)X->rows : 0.0;
    soma__dense_grads_f64(&layer->W, X, dZ, scale, false, dW, db, dX);
    return SOMA_OK;
}

soma_status soma_dense_backward(const soma_dense *layer, const soma_matrix *X,
                                const soma_matrix *Z, const soma_matrix *A,
                                const soma_matrix *dA, soma_matrix *dZ, soma_matrix *dW,
                                soma_matrix *db, soma_matrix *dX)
{
    SOMA_TRY(check_layer(layer));
    /* X gives m, the row count every other shape is checked against: an
     * invalid X is SOMA_EINVAL, not a mismatch of the others. */
    SOMA_TRY(soma__matrix_check(X));
    if (Z == NULL)
        return SOMA_EINVAL;
    const size_t m = X->rows, out = layer->W.cols;
    SOMA_TRY(check_shape(Z, m, out));
    SOMA_TRY(check_shape(A, m, out));
    SOMA_TRY(check_shape(dA, m, out));
    SOMA_TRY(check_shape(dZ, m, out));
    if (!same_matrix(dZ, dA) && soma__matrix_overlap(dZ, dA))
        return SOMA_EALIAS;
    if (soma__matrix_overlap(dZ, Z) || soma__matrix_overlap(dZ, A) ||
        soma__matrix_overlap(dZ, X))
        return SOMA_EALIAS;
    /* Everything dZ feeds must be valid before dZ is written. */
    SOMA_TRY(check_grads_args(layer, X, dZ, dW, db, dX));
    const soma_matrix *ins[3] = {Z, A, dA};
    soma_matrix *outs[3] = {dW, db, dX};
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 3; i++)
            if (outs[o] != NULL && soma__matrix_overlap(outs[o], ins[i]))
                return SOMA_EALIAS;
    soma__activation_backward_rows_f64(layer->activation, layer->alpha, Z, A, dA, dZ);
    const double scale = m > 0 ? 1.0 / (double)m : 0.0;
    soma__dense_grads_f64(&layer->W, X, dZ, scale, false, dW, db, dX);
    return SOMA_OK;
}
