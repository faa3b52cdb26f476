#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "vmath.h"

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

/* ---- per-element terms of the losses on probabilities ---------------------- */

/* Rows are processed in blocks of BLOCK elements: a vectorized loop writes
 * the per-element loss terms to a stack buffer, then they are summed in
 * lanes (vmath.h), so no reduction needs reassociation. */
#define BLOCK 256

static inline double clamp_prob(double p)
{
    const double lo = SOMA_LOSS_EPS, hi = 1.0 - SOMA_LOSS_EPS;
    p = p < lo ? lo : p; /* NaN passes through */
    return p > hi ? hi : p;
}

SOMA_VEC static double mse_block(size_t n, const double *p, const double *y, double kd,
                                 double *dp)
{
    double t[BLOCK];
    for (size_t j = 0; j < n; j++) {
        double d = p[j] - y[j];
        t[j] = d * d;
    }
    if (dp != NULL)
        for (size_t j = 0; j < n; j++) {
            double d = p[j] - y[j];
            dp[j] = (d + d) / kd;
        }
    return vm_sum(n, t);
}

SOMA_VEC static double bce_block(size_t n, const double *p, const double *y, double kd,
                                 double *dp)
{
    double t[BLOCK];
    for (size_t j = 0; j < n; j++) {
        double pc = clamp_prob(p[j]);
        /* log(1 - p) as log1p(-p): exact near p = 0. */
        t[j] = -(y[j] * vm_log(pc) + (1.0 - y[j]) * vm_log1p(-pc));
    }
    if (dp != NULL)
        for (size_t j = 0; j < n; j++) {
            double pc = clamp_prob(p[j]);
            dp[j] = (pc - y[j]) / (kd * pc * (1.0 - pc));
        }
    return vm_sum(n, t);
}

SOMA_VEC static double ce_block(size_t n, const double *p, const double *y, double *dp)
{
    double t[BLOCK];
    for (size_t j = 0; j < n; j++)
        t[j] = -y[j] * vm_log(clamp_prob(p[j]));
    if (dp != NULL)
        for (size_t j = 0; j < n; j++)
            dp[j] = -y[j] / clamp_prob(p[j]);
    return vm_sum(n, t);
}

/* Per-row loss of one row of k elements; dp (may be p) receives its gradient. */
static double loss_row(soma_loss loss, size_t k, const double *p, const double *y,
                       double *dp)
{
    const double kd = (double)k;
    double sum = 0.0;
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        double *d = dp != NULL ? dp + j0 : NULL;
        switch (loss) {
        case SOMA_LOSS_MSE:
            sum += mse_block(n, p + j0, y + j0, kd, d);
            break;
        case SOMA_LOSS_BCE:
            sum += bce_block(n, p + j0, y + j0, kd, d);
            break;
        default:
            sum += ce_block(n, p + j0, y + j0, d);
            break;
        }
    }
    return loss == SOMA_LOSS_CE ? sum : sum / kd;
}

double soma__loss_sum(soma_loss loss, const soma_matrix *P, const soma_matrix *Y,
                      soma_matrix *dP)
{
    double total = 0.0;
    if (P->cols == 0)
        return 0.0;
    for (size_t i = 0; i < P->rows; i++)
        total += loss_row(loss, P->cols, soma_matrix_at(P, i, 0), soma_matrix_at(Y, i, 0),
                          dP != NULL ? soma_matrix_at(dP, i, 0) : NULL);
    return total;
}

/* ---- fused forms from logits ------------------------------------------------- */

/* Sigmoid + BCE on a block: t = per-element loss, p = sigmoid(z), g = (p - y)/k.
 * With e = e^-|z| and q = e/(1 + e) = sigmoid(-|z|), all in (0, 1]:
 *   loss = z (1 - y) + log1p(e) for z > 0, -z y + log1p(e) otherwise
 *          (two nonnegative terms: no cancellation, finite for finite z);
 *   p - y = (1 - y) - q for z >= 0, q - y otherwise (q is never 1 - tiny). */
SOMA_VEC static double bce_logits_block(size_t n, const double *z, const double *y,
                                        double kd, double *restrict pb,
                                        double *restrict gb)
{
    double t[BLOCK];
    for (size_t j = 0; j < n; j++) {
        const double x = z[j], yj = y[j];
        const double e = vm_exp(-fabs(x)), d = 1.0 + e;
        const double q = e / d;
        t[j] = (x > 0.0 ? x * (1.0 - yj) : -x * yj) + vm_log1p(e);
        pb[j] = x < 0.0 ? q : 1.0 / d;
        gb[j] = (x >= 0.0 ? (1.0 - yj) - q : q - yj) / kd;
    }
    return vm_sum(n, t);
}

/* Softmax + CE, first pass over a block of a row with maximum m: the sum of
 * e^(z - m) over entries below the maximum, the number of entries equal to
 * it, sum_j y_j (m - z_j) and sum_j y_j. */
SOMA_VEC static void ce_logits_pass1(size_t n, const double *z, const double *y, double m,
                                     double acc[4])
{
    double t[BLOCK], c[BLOCK], w[BLOCK];
    for (size_t j = 0; j < n; j++) {
        const double e = vm_exp_diff(z[j], m);
        t[j] = z[j] == m ? 0.0 : e;
        c[j] = z[j] == m ? 1.0 : 0.0;
        /* m - z can overflow to +inf for finite z; a zero target ignores it. */
        w[j] = y[j] > 0.0 ? y[j] * (m - z[j]) : 0.0;
    }
    acc[0] += vm_sum(n, t);
    acc[1] += vm_sum(n, c);
    acc[2] += vm_sum(n, w);
    acc[3] += vm_sum(n, y);
}

/* Second pass: p = e^(z - m) / s with s = 1 + tail, and the gradient p - y,
 * taken as (1 - y) - tail/s at the maximum so that it keeps its relative
 * accuracy when p is within rounding of 1. */
SOMA_VEC static void ce_logits_pass2(size_t n, const double *z, const double *y, double m,
                                     double s, double tail_frac, double *restrict pb,
                                     double *restrict gb)
{
    for (size_t j = 0; j < n; j++) {
        const double p = vm_exp_diff(z[j], m) / s;
        pb[j] = p;
        gb[j] = z[j] == m ? (1.0 - y[j]) - tail_frac : p - y[j];
    }
}

static double bce_logits_row(size_t k, const double *z, const double *y, double *p,
                             double *dz)
{
    double pb[BLOCK], gb[BLOCK], sum = 0.0;
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        sum += bce_logits_block(n, z + j0, y + j0, (double)k, pb, gb);
        /* P never overlaps Z; dZ may be Z, and z[j0..j0+n) is read already. */
        if (p != NULL)
            memcpy(p + j0, pb, n * sizeof *pb);
        if (dz != NULL)
            memcpy(dz + j0, gb, n * sizeof *gb);
    }
    return sum / (double)k;
}

SOMA_VEC static double logits_row_max(size_t n, const double *x)
{
    return vm_max(n, x);
}

static double ce_logits_row(size_t k, const double *z, const double *y, double *p,
                            double *dz)
{
    /* log sum_j e^(z_j) = m + log(count + below) = m + log1p(tail), where
     * tail = (count - 1) + below is exact when below is small, so the loss of
     * a confident, correct row keeps its relative accuracy. */
    const double m = logits_row_max(k, z);
    double acc[4] = {0.0, 0.0, 0.0, 0.0}; /* below, count, ydist, ysum */
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        ce_logits_pass1(n, z + j0, y + j0, m, acc);
    }
    const double tail = (acc[1] - 1.0) + acc[0];
    /* -sum_j y_j log p_j = sum_j y_j (m - z_j) + (sum_j y_j) log1p(tail);
     * sum_j y_j is 1 to within 1e-9 and is kept as given. */
    const double loss = acc[2] + acc[3] * vm_log1p(tail);
    if (p == NULL && dz == NULL)
        return loss;
    const double s = 1.0 + tail, tail_frac = tail / s;
    double pb[BLOCK], gb[BLOCK];
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        ce_logits_pass2(n, z + j0, y + j0, m, s, tail_frac, pb, gb);
        if (p != NULL)
            memcpy(p + j0, pb, n * sizeof *pb);
        if (dz != NULL)
            memcpy(dz + j0, gb, n * sizeof *gb);
    }
    return loss;
}

/* True when every non-NULL matrix has one column and packed rows (ld 1 or
 * a single row), so that the column is one contiguous array. */
static bool packed_column(const soma_matrix *Z, const soma_matrix *Y,
                          const soma_matrix *P, const soma_matrix *dZ)
{
    const soma_matrix *m[4] = {Z, Y, P, dZ};
    for (int i = 0; i < 4; i++)
        if (m[i] != NULL && m[i]->cols == 1 && m[i]->ld != 1 && m[i]->rows > 1)
            return false;
    return true;
}

/* Sigmoid + BCE for a batch of one-output rows stored contiguously: the
 * per-row losses are the elements' (k = 1), computed in blocks as for a long
 * row instead of one call per row (a binary classifier's output layer is
 * m x 1, and per-row calls cost more than the arithmetic). Returns their sum. */
static double bce_logits_column(size_t m, const double *z, const double *y, double *p,
                                double *dz)
{
    double pb[BLOCK], gb[BLOCK], sum = 0.0;
    for (size_t i0 = 0; i0 < m; i0 += BLOCK) {
        const size_t n = m - i0 < BLOCK ? m - i0 : BLOCK;
        sum += bce_logits_block(n, z + i0, y + i0, 1.0, pb, gb);
        if (p != NULL)
            memcpy(p + i0, pb, n * sizeof *pb);
        if (dz != NULL)
            memcpy(dz + i0, gb, n * sizeof *gb);
    }
    return sum;
}

double soma__loss_logits_sum(soma_loss loss, const soma_matrix *Z, const soma_matrix *Y,
                             soma_matrix *P, soma_matrix *dZ)
{
    double total = 0.0;
    if (Z->cols == 0)
        return 0.0;
    if (loss == SOMA_LOSS_BCE && Z->cols == 1 && packed_column(Z, Y, P, dZ))
        return bce_logits_column(Z->rows, Z->data, Y->data, P != NULL ? P->data : NULL,
                                 dZ != NULL ? dZ->data : NULL);
    for (size_t i = 0; i < Z->rows; i++) {
        const double *z = soma_matrix_at(Z, i, 0), *y = soma_matrix_at(Y, i, 0);
        double *p = P != NULL ? soma_matrix_at(P, i, 0) : NULL;
        double *dz = dZ != NULL ? soma_matrix_at(dZ, i, 0) : NULL;
        total += loss == SOMA_LOSS_BCE ? bce_logits_row(Z->cols, z, y, p, dz)
                                       : ce_logits_row(Z->cols, z, y, p, dz);
    }
    return total;
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
    *value = mean_rows(soma__loss_sum(loss, P, Y, NULL), P->rows);
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
    (void)soma__loss_sum(loss, P, Y, dP);
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
    const double sum = soma__loss_logits_sum(loss, Z, Y, P, dZ);
    if (value != NULL)
        *value = mean_rows(sum, Z->rows);
    return SOMA_OK;
}
