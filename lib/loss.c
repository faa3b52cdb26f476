#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* ---- names ---------------------------------------------------------------- */

static const char *const loss_names[SOMA_LOSS_COUNT] = {
    [SOMA_LOSS_MSE] = "mse",
    [SOMA_LOSS_BCE] = "bce",
    [SOMA_LOSS_CE] = "ce",
};

static bool loss_valid(soma_loss loss)
{
    return (unsigned)loss < SOMA_LOSS_COUNT;
}

const char *soma_loss_name(soma_loss loss)
{
    return loss_valid(loss) ? loss_names[loss] : NULL;
}

soma_status soma_loss_from_name(const char *name, soma_loss *out)
{
    static const struct {
        const char *name;
        soma_loss loss;
    } aliases[] = {
        {"mse", SOMA_LOSS_MSE},         {"bce", SOMA_LOSS_BCE},
        {"ce", SOMA_LOSS_CE},           {"binary_crossentropy", SOMA_LOSS_BCE},
        {"crossentropy", SOMA_LOSS_CE},
    };
    if (name == NULL || out == NULL)
        return SOMA_EINVAL;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (soma__name_eq(name, aliases[i].name)) {
            *out = aliases[i].loss;
            return SOMA_OK;
        }
    }
    return SOMA_EINVAL;
}

/* ---- targets ---------------------------------------------------------------- */

/* Tolerance on the sum of a cross-entropy target row (see loss.h). */
#define CE_ROW_SUM_TOL 1e-9

soma_status soma__loss_check_targets(soma_loss loss, const soma_matrix *Y)
{
    if (soma__matrix_empty(Y))
        return SOMA_OK;
    for (size_t i = 0; i < Y->rows; i++) {
        const double *y = soma_matrix_at(Y, i, 0);
        int bad = 0;
        double sum = 0.0;
        /* No early exit inside a row: the comparisons vectorize. */
        for (size_t j = 0; j < Y->cols; j++) {
            switch (loss) {
            case SOMA_LOSS_MSE:
                bad |= !(fabs(y[j]) <= DBL_MAX);
                break;
            case SOMA_LOSS_BCE:
                bad |= !(y[j] >= 0.0 && y[j] <= 1.0);
                break;
            default:
                bad |= !(y[j] >= 0.0 && y[j] <= 1.0);
                sum += y[j];
                break;
            }
        }
        if (loss == SOMA_LOSS_CE && Y->cols > 0 && !(fabs(sum - 1.0) <= CE_ROW_SUM_TOL))
            bad = 1;
        if (bad)
            return SOMA_EINVAL;
    }
    return SOMA_OK;
}

/* ---- public functions ------------------------------------------------------ */

/* Checks shared by every entry point: P (or Z) and Y valid, same shape. */
static soma_status check_pair(soma_loss loss, const soma_matrix *P, const soma_matrix *Y)
{
    if (!loss_valid(loss))
        return SOMA_EINVAL;
    SOMA_TRY(soma__matrix_check(P));
    SOMA_TRY(soma__matrix_check(Y));
    if (!soma__matrix_same_shape(P, Y))
        return SOMA_EDIM;
    return SOMA_OK;
}

/* Mean over rows; an empty matrix has loss 0. */
static double mean_rows(double sum, size_t rows)
{
    return rows == 0 ? 0.0 : sum / (double)rows;
}

soma_status soma_loss_value(soma_loss loss, const soma_matrix *P, const soma_matrix *Y,
                            double *value)
{
    SOMA_TRY(check_pair(loss, P, Y));
    if (value == NULL)
        return SOMA_EINVAL;
    SOMA_TRY(soma__loss_check_targets(loss, Y));
    *value = mean_rows(soma__loss_sum_f64(loss, P, Y, NULL), P->rows);
    return SOMA_OK;
}

soma_status soma_loss_grad(soma_loss loss, const soma_matrix *P, const soma_matrix *Y,
                           soma_matrix *dP)
{
    SOMA_TRY(check_pair(loss, P, Y));
    SOMA_TRY(soma__matrix_check(dP));
    if (!soma__matrix_same_shape(P, dP))
        return SOMA_EDIM;
    SOMA_TRY(soma__loss_check_targets(loss, Y));
    if (soma__matrix_bad_alias(dP, P) || soma__matrix_overlap(dP, Y))
        return SOMA_EALIAS;
    (void)soma__loss_sum_f64(loss, P, Y, dP);
    return SOMA_OK;
}

soma_status soma_loss_from_logits(soma_loss loss, const soma_matrix *Z,
                                  const soma_matrix *Y, double *value, soma_matrix *P,
                                  soma_matrix *dZ)
{
    SOMA_TRY(check_pair(loss, Z, Y));
    if (P != NULL) {
        SOMA_TRY(soma__matrix_check(P));
        if (!soma__matrix_same_shape(Z, P))
            return SOMA_EDIM;
    }
    if (dZ != NULL) {
        SOMA_TRY(soma__matrix_check(dZ));
        if (!soma__matrix_same_shape(Z, dZ))
            return SOMA_EDIM;
    }
    if (loss == SOMA_LOSS_MSE)
        return SOMA_ENOTSUP;
    SOMA_TRY(soma__loss_check_targets(loss, Y));
    if (P != NULL && (soma__matrix_overlap(P, Z) || soma__matrix_overlap(P, Y)))
        return SOMA_EALIAS;
    if (dZ != NULL && (soma__matrix_bad_alias(dZ, Z) || soma__matrix_overlap(dZ, Y)))
        return SOMA_EALIAS;
    if (P != NULL && dZ != NULL && soma__matrix_overlap(P, dZ))
        return SOMA_EALIAS;
    const double sum = soma__loss_logits_sum_f64(loss, Z, Y, P, dZ);
    if (value != NULL)
        *value = mean_rows(sum, Z->rows);
    return SOMA_OK;
}
