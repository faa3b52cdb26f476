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

soma_status soma_loss_from_name(const char *name, soma_loss *out, soma_error_info *err)
{
    static const struct {
        const char *name;
        soma_loss loss;
    } aliases[] = {
        {"mse", SOMA_LOSS_MSE},         {"bce", SOMA_LOSS_BCE},
        {"ce", SOMA_LOSS_CE},           {"binary_crossentropy", SOMA_LOSS_BCE},
        {"crossentropy", SOMA_LOSS_CE},
    };
    SOMA_REQUIRE_PTR(name, err, "name");
    SOMA_REQUIRE_PTR(out, err, "out");
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (soma__name_eq(name, aliases[i].name)) {
            *out = aliases[i].loss;
            return SOMA_OK;
        }
    }
    return soma__fail(
        err, SOMA_EINVAL, "name",
        "name \"%.64s\" is not a loss: expected mse, bce (binary_crossentropy) or ce "
        "(crossentropy)",
        name);
}

/* ---- targets ---------------------------------------------------------------- */

/* Tolerance on the sum of a cross-entropy target row (see loss.h). */
#define CE_ROW_SUM_TOL 1e-9

/* The detail for row i of Y, known to be outside the loss's domain. */
static soma_status bad_target(soma_loss loss, const soma_matrix *Y, size_t i,
                              const char *name, soma_error_info *err)
{
    const double *y = soma_matrix_at(Y, i, 0);
    double sum = 0.0;
    for (size_t j = 0; j < Y->cols; j++) {
        const bool finite = isfinite(y[j]);
        if (!finite)
            return soma__fail(err, SOMA_EINVAL, name,
                              "%s(%zu, %zu) is %g: targets must be finite", name, i, j,
                              y[j]);
        if (loss != SOMA_LOSS_MSE && !(y[j] >= 0.0 && y[j] <= 1.0)) {
            const bool label = y[j] == floor(y[j]) && y[j] > 1.0;
            if (loss == SOMA_LOSS_BCE)
                return soma__fail(
                    err, SOMA_EINVAL, name,
                    "%s(%zu, %zu) is %g: binary cross-entropy needs targets in "
                    "[0, 1]%s",
                    name, i, j, y[j],
                    label ? "; for k classes use k softmax outputs with "
                            "cross-entropy (soma_mlp_spec_classifier)"
                          : "");
            return soma__fail(
                err, SOMA_EINVAL, name,
                "%s(%zu, %zu) is %g: cross-entropy needs one-hot or probability "
                "rows%s",
                name, i, j, y[j],
                label ? ": one-hot the labels (soma_one_hot) or pass integer "
                        "labels as an n x 1 matrix"
                      : "");
        }
        sum += y[j];
    }
    return soma__fail(err, SOMA_EINVAL, name,
                      "row %zu of %s sums to %.17g: cross-entropy targets are one-hot or "
                      "probability rows summing to 1",
                      i, name, sum);
}

soma_status soma__loss_check_targets(soma_loss loss, const soma_matrix *Y,
                                     const char *name, soma_error_info *err)
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
            return bad_target(loss, Y, i, name, err);
    }
    return SOMA_OK;
}

/* ---- public functions ------------------------------------------------------ */

/* Checks shared by every entry point: P (or Z) and Y valid, same shape. */
static soma_status check_pair(soma_loss loss, const soma_matrix *P, const char *p_name,
                              const soma_matrix *Y, soma_error_info *err)
{
    SOMA_REQUIRE(loss_valid(loss), err, SOMA_EINVAL, "loss",
                 "loss is %d: not a soma_loss value (0 to %d)", (int)loss,
                 SOMA_LOSS_COUNT - 1);
    SOMA_TRY(soma__check_matrix_arg(P, p_name, err));
    SOMA_TRY(soma__check_matrix_arg(Y, "Y", err));
    return soma__check_same_shape_arg(Y, "Y", P, p_name, err);
}

/* Mean over rows; an empty matrix has loss 0. */
static double mean_rows(double sum, size_t rows)
{
    return rows == 0 ? 0.0 : sum / (double)rows;
}

soma_status soma_loss_value(soma_loss loss, const soma_matrix *P, const soma_matrix *Y,
                            double *value, soma_error_info *err)
{
    SOMA_TRY(check_pair(loss, P, "P", Y, err));
    SOMA_REQUIRE_PTR(value, err, "value");
    SOMA_TRY(soma__loss_check_targets(loss, Y, "Y", err));
    *value = mean_rows(soma__loss_sum_f64(loss, P, Y, NULL), P->rows);
    return SOMA_OK;
}

soma_status soma_loss_grad(soma_loss loss, const soma_matrix *P, const soma_matrix *Y,
                           soma_matrix *dP, soma_error_info *err)
{
    SOMA_TRY(check_pair(loss, P, "P", Y, err));
    SOMA_TRY(soma__check_same_shape_arg(dP, "dP", P, "P", err));
    SOMA_TRY(soma__loss_check_targets(loss, Y, "Y", err));
    SOMA_TRY(soma__check_alias_arg(dP, "dP", P, "P", err));
    SOMA_TRY(soma__check_disjoint_arg(dP, "dP", Y, "Y", err));
    (void)soma__loss_sum_f64(loss, P, Y, dP);
    return SOMA_OK;
}

soma_status soma_loss_from_logits(soma_loss loss, const soma_matrix *Z,
                                  const soma_matrix *Y, double *value, soma_matrix *P,
                                  soma_matrix *dZ, soma_error_info *err)
{
    SOMA_TRY(check_pair(loss, Z, "Z", Y, err));
    if (P != NULL)
        SOMA_TRY(soma__check_same_shape_arg(P, "P", Z, "Z", err));
    if (dZ != NULL)
        SOMA_TRY(soma__check_same_shape_arg(dZ, "dZ", Z, "Z", err));
    SOMA_REQUIRE(loss != SOMA_LOSS_MSE, err, SOMA_ENOTSUP, "loss",
                 "MSE has no fused form from logits: apply the output activation, then "
                 "soma_loss_value / soma_loss_grad");
    SOMA_TRY(soma__loss_check_targets(loss, Y, "Y", err));
    if (P != NULL) {
        SOMA_TRY(soma__check_disjoint_arg(P, "P", Z, "Z", err));
        SOMA_TRY(soma__check_disjoint_arg(P, "P", Y, "Y", err));
    }
    if (dZ != NULL) {
        SOMA_TRY(soma__check_alias_arg(dZ, "dZ", Z, "Z", err));
        SOMA_TRY(soma__check_disjoint_arg(dZ, "dZ", Y, "Y", err));
    }
    if (P != NULL && dZ != NULL)
        SOMA_TRY(soma__check_disjoint_arg(P, "P", dZ, "dZ", err));
    const double sum = soma__loss_logits_sum_f64(loss, Z, Y, P, dZ);
    if (value != NULL)
        *value = mean_rows(sum, Z->rows);
    return SOMA_OK;
}
