/* Losses: values and gradients against long double references and central
 * finite differences, the fused forms over a 10^6-point sweep, fused versus
 * unfused, target validation, aliasing, and bad arguments. */
#include "test_common.h"

/* ---- long double references ------------------------------------------------- */

/* softplus(x) = log(1 + e^x), evaluated without overflow. */
static long double ref_softplus(long double x)
{
    return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x));
}

static long double ref_sigmoid(long double x)
{
    return x < 0 ? expl(x) / (1 + expl(x)) : 1 / (1 + expl(-x));
}

/* The clamp of loss.h, with the bounds as the doubles the library uses. */
static long double clampl(long double p)
{
    const long double lo = SOMA_LOSS_EPS, hi = 1.0 - SOMA_LOSS_EPS;
    return p < lo ? lo : (p > hi ? hi : p);
}

/* Per-row loss of one row on probabilities (loss.h's table). */
static long double ref_row(soma_loss loss, size_t k, const long double *p,
                           const double *y)
{
    long double s = 0;
    for (size_t j = 0; j < k; j++) {
        long double pc = clampl(p[j]);
        switch (loss) {
        case SOMA_LOSS_MSE:
            s += (p[j] - y[j]) * (p[j] - y[j]);
            break;
        case SOMA_LOSS_BCE:
            s -= y[j] * logl(pc) + (1 - (long double)y[j]) * log1pl(-pc);
            break;
        default:
            s -= y[j] * logl(pc);
            break;
        }
    }
    return loss == SOMA_LOSS_CE ? s : s / k;
}

/* Per-row fused loss from logits: BCE = (1/k) sum y softplus(-z) + (1 - y)
 * softplus(z); CE = sum_j y_j (lse(z) - z_j). */
static long double ref_logits_row(soma_loss loss, size_t k, const long double *z,
                                  const double *y)
{
    long double s = 0;
    if (loss == SOMA_LOSS_BCE) {
        for (size_t j = 0; j < k; j++)
            s +=
                y[j] * ref_softplus(-z[j]) + (1 - (long double)y[j]) * ref_softplus(z[j]);
        return s / k;
    }
    /* lse(z) - z_j = (m - z_j) + log1p(sum over j != argmax of e^(z_j - m)),
     * so a confident row's tiny loss is not lost next to m. */
    size_t arg = 0;
    for (size_t j = 1; j < k; j++)
        arg = z[j] > z[arg] ? j : arg;
    const long double m = z[arg];
    long double rest = 0;
    for (size_t j = 0; j < k; j++)
        if (j != arg)
            rest += expl(z[j] - m);
    for (size_t j = 0; j < k; j++)
        s += y[j] * ((m - z[j]) + log1pl(rest));
    return s;
}

/* Check records the location of every passing ck_assert (a write to a pipe
 * in fork mode); the million-point loops use this plain test instead. */
#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond))                                                                     \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                        \
    } while (0)

static double rel_err(double got, long double ref)
{
    return (double)(fabsl((long double)got - ref) / fabsl(ref));
}

/* Random targets valid for loss: MSE any, BCE in [0,1] with some exact 0/1,
 * CE one-hot or soft rows summing to 1. */
static void fill_targets(soma_loss loss, soma_matrix *Y, soma_rng *r, bool soft)
{
    for (size_t i = 0; i < Y->rows; i++) {
        double *y = soma_matrix_at(Y, i, 0);
        ck_assert_int_eq(soma_rng_uniform_range(r, Y->cols, 0.0, 1.0, y), SOMA_OK);
        if (loss == SOMA_LOSS_MSE) {
            for (size_t j = 0; j < Y->cols; j++)
                y[j] = 4 * y[j] - 2;
        } else if (loss == SOMA_LOSS_BCE) {
            for (size_t j = 0; j < Y->cols; j++)
                if (!soft)
                    y[j] = y[j] < 0.5 ? 0.0 : 1.0;
        } else {
            double s = 0;
            for (size_t j = 0; j < Y->cols; j++)
                s += y[j];
            const size_t hot = i % Y->cols;
            for (size_t j = 0; j < Y->cols; j++)
                y[j] = soft ? y[j] / s : (j == hot ? 1.0 : 0.0);
        }
    }
}

/* ---- unfused losses: value and gradient -------------------------------------- */

/*
 * Finite-difference step: the per-row loss is evaluated in long double
 * (eps_L = 5.4e-20). With h = 1e-6 the truncation error h^2 |L'''| / 6 is
 * below 1e-12 |L''' / L'| relative (|L'''/L'| <= 2/p^2 <= 800 for p >= 0.05,
 * so <= 1.4e-10) and the rounding error eps_L |L| / h is below 1e-13 |L|; the
 * gradients compared are >= 1e-3 in magnitude, so both are far below 1e-7.
 */
#define FD_STEP 1e-6L

START_TEST(unfused_value_and_gradient)
{
    const soma_loss loss = (soma_loss)_i;
    const size_t rows = 9, cols = 5, ld = 7;
    double pbuf[9 * 7], ybuf[9 * 7], gbuf[9 * 7];
    for (size_t i = 0; i < rows * ld; i++)
        pbuf[i] = ybuf[i] = gbuf[i] = -99.0; /* padding sentinel */
    soma_matrix P, Y, G;
    ck_assert_int_eq(soma_matrix_view(&P, pbuf, rows, cols, ld), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, ybuf, rows, cols, ld), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&G, gbuf, rows, cols, ld), SOMA_OK);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 100 + _i), SOMA_OK);
    for (size_t i = 0; i < rows; i++) /* probabilities away from the clamp */
        ck_assert_int_eq(
            soma_rng_uniform_range(&r, cols, 0.05, 0.95, soma_matrix_at(&P, i, 0)),
            SOMA_OK);
    fill_targets(loss, &Y, &r, true);

    double value = 0;
    ck_assert_int_eq(soma_loss_value(loss, &P, &Y, &value, NULL), SOMA_OK);
    ck_assert_int_eq(soma_loss_grad(loss, &P, &Y, &G, NULL), SOMA_OK);
    long double total = 0;
    for (size_t i = 0; i < rows; i++) {
        long double p[5];
        const double *y = soma_matrix_at(&Y, i, 0);
        for (size_t j = 0; j < cols; j++)
            p[j] = *soma_matrix_at(&P, i, j);
        total += ref_row(loss, cols, p, y);
        for (size_t j = 0; j < cols; j++) {
            const long double p0 = p[j];
            p[j] = p0 + FD_STEP;
            long double hi = ref_row(loss, cols, p, y);
            p[j] = p0 - FD_STEP;
            long double lo = ref_row(loss, cols, p, y);
            p[j] = p0;
            long double g = (hi - lo) / (2 * FD_STEP);
            double got = *soma_matrix_at(&G, i, j);
            if (fabsl(g) < 1e-3L) { /* e.g. CE where y_j = 0: exactly 0 */
                ck_assert_msg(fabsl(got - g) <= 1e-10L, "%s grad (%zu,%zu)",
                              soma_loss_name(loss), i, j);
                continue;
            }
            ck_assert_msg(rel_err(got, g) <= 1e-7, "%s grad (%zu,%zu): %g vs %Lg",
                          soma_loss_name(loss), i, j, got, g);
        }
    }
    ck_assert_msg(rel_err(value, total / rows) <= 1e-14, "%s value %.17g vs %.17Lg",
                  soma_loss_name(loss), value, total / rows);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = cols; j < ld; j++)
            ck_assert_double_eq(gbuf[i * ld + j], -99.0);

    /* In place: dP written over P gives the same gradient. */
    double copy[9 * 7];
    memcpy(copy, pbuf, sizeof copy);
    soma_matrix C;
    ck_assert_int_eq(soma_matrix_view(&C, copy, rows, cols, ld), SOMA_OK);
    ck_assert_int_eq(soma_loss_grad(loss, &C, &Y, &C, NULL), SOMA_OK);
    ck_assert_mem_eq(copy, gbuf, sizeof copy);
}
END_TEST

START_TEST(probability_clamp)
{
    /* BCE and CE clamp p to [eps, 1 - eps]: log(0) never appears. */
    double p[2] = {0.0, 1.0}, y[2] = {1.0, 0.0}, v = 0, g[2];
    soma_matrix P, Y, G;
    ck_assert_int_eq(soma_matrix_view(&P, p, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&G, g, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_BCE, &P, &Y, &v, NULL), SOMA_OK);
    long double want =
        (-logl(SOMA_LOSS_EPS) - log1pl(-(long double)(1.0 - SOMA_LOSS_EPS))) / 2;
    ck_assert(rel_err(v, want) <= 1e-14);
    ck_assert_int_eq(soma_loss_grad(SOMA_LOSS_BCE, &P, &Y, &G, NULL), SOMA_OK);
    ck_assert(isfinite(g[0]) && isfinite(g[1]) && g[0] < 0 && g[1] > 0);
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_CE, &P, &Y, &v, NULL), SOMA_OK);
    ck_assert(rel_err(v, -logl(SOMA_LOSS_EPS)) <= 1e-14);
    ck_assert_int_eq(soma_loss_grad(SOMA_LOSS_CE, &P, &Y, &G, NULL), SOMA_OK);
    ck_assert(rel_err(g[0], -1 / (long double)SOMA_LOSS_EPS) <= 1e-14);
    ck_assert_double_eq(g[1], 0.0);
    /* NaN predictions give a NaN value. */
    p[0] = NAN;
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_MSE, &P, &Y, &v, NULL), SOMA_OK);
    ck_assert(isnan(v));
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_BCE, &P, &Y, &v, NULL), SOMA_OK);
    ck_assert(isnan(v));
}
END_TEST

/* ---- fused forms ---------------------------------------------------------------- */

#define SWEEP_EVEN 1000001

/* Fused sigmoid + BCE, one logit per call (so the value is one element's
 * loss), over 10^6 evenly spaced z in [-745, 710] and log-spaced tiny and
 * moderate magnitudes, with targets 0, 1 and 0.3. The value and P must be
 * within 1e-14 relative; dZ too for targets 0 and 1, where p - y has no
 * cancellation (for soft targets it can be within rounding of 0). */
START_TEST(fused_bce_sweep)
{
    const double targets[3] = {0.0, 1.0, 0.3};
    double worst_v = 0, worst_p = 0, worst_g = 0;
    size_t count = 0;
    for (size_t i = 0; i < SWEEP_EVEN + 40000; i++) {
        double z;
        if (i < SWEEP_EVEN) {
            z = -745.0 + 1455.0 * (double)i / (SWEEP_EVEN - 1);
        } else {
            size_t k = i - SWEEP_EVEN;
            z = pow(10.0, -300.0 + 301.6 * (double)(k / 2) / 19999.0);
            z = k % 2 ? -z : z;
        }
        double y = targets[i % 3], v = -1, p = -1, g = -1;
        soma_matrix Z, Y, P, G;
        REQUIRE(soma_matrix_view(&Z, &z, 1, 1, 1) == SOMA_OK);
        REQUIRE(soma_matrix_view(&Y, &y, 1, 1, 1) == SOMA_OK);
        REQUIRE(soma_matrix_view(&P, &p, 1, 1, 1) == SOMA_OK);
        REQUIRE(soma_matrix_view(&G, &g, 1, 1, 1) == SOMA_OK);
        REQUIRE(soma_loss_from_logits(SOMA_LOSS_BCE, &Z, &Y, &v, &P, &G, NULL) ==
                SOMA_OK);
        REQUIRE(isfinite(v) && isfinite(p) && isfinite(g));
        const long double zl = z, rv = ref_logits_row(SOMA_LOSS_BCE, 1, &zl, &y);
        /* p - y for y = 1 is -sigmoid(-z): written so, lest 1 - p vanish in
         * long double too. */
        const long double rp = ref_sigmoid(z);
        const long double rg = y == 1.0 ? -ref_sigmoid(-(long double)z) : rp - y;
        count++;
        if (rv >= 1e-300L) {
            double e = rel_err(v, rv);
            worst_v = e > worst_v ? e : worst_v;
        }
        if (rp >= 1e-300L) {
            double e = rel_err(p, rp);
            worst_p = e > worst_p ? e : worst_p;
        }
        if (y != 0.3 && fabsl(rg) >= 1e-300L) {
            double e = rel_err(g, rg);
            worst_g = e > worst_g ? e : worst_g;
        } else {
            REQUIRE(fabsl(g - rg) <= DBL_EPSILON);
        }
    }
    printf("accuracy sigmoid+bce (fused) %zu points: value %.3g, P %.3g, dZ %.3g\n",
           count, worst_v, worst_p, worst_g);
    ck_assert_msg(worst_v <= 1e-14, "value error %g", worst_v);
    ck_assert_msg(worst_p <= 1e-14, "P error %g", worst_p);
    ck_assert_msg(worst_g <= 1e-14, "dZ error %g", worst_g);
}
END_TEST

/* Fused softmax + CE on rows (x, x/2 + 1, -x/4) for 10^6 values of x over
 * [-745, 710], one-hot on each class in turn; one row per call. */
START_TEST(fused_ce_sweep)
{
    double worst_v = 0, worst_p = 0, worst_g = 0;
    for (size_t i = 0; i < SWEEP_EVEN; i++) {
        const double x = -745.0 + 1455.0 * (double)i / (SWEEP_EVEN - 1);
        double z[3] = {x, x / 2 + 1, -x / 4}, y[3] = {0, 0, 0}, p[3], g[3], v = -1;
        y[i % 3] = 1.0;
        soma_matrix Z, Y, P, G;
        REQUIRE(soma_matrix_view(&Z, z, 1, 3, 3) == SOMA_OK);
        REQUIRE(soma_matrix_view(&Y, y, 1, 3, 3) == SOMA_OK);
        REQUIRE(soma_matrix_view(&P, p, 1, 3, 3) == SOMA_OK);
        REQUIRE(soma_matrix_view(&G, g, 1, 3, 3) == SOMA_OK);
        REQUIRE(soma_loss_from_logits(SOMA_LOSS_CE, &Z, &Y, &v, &P, &G, NULL) == SOMA_OK);
        REQUIRE(isfinite(v));
        long double zl[3] = {z[0], z[1], z[2]}, m = zl[0], s = 0, e[3];
        const long double rv = ref_logits_row(SOMA_LOSS_CE, 3, zl, y);
        if (rv >= 1e-300L) {
            double e = rel_err(v, rv);
            worst_v = e > worst_v ? e : worst_v;
        }
        for (int j = 1; j < 3; j++)
            m = zl[j] > m ? zl[j] : m;
        for (int j = 0; j < 3; j++)
            s += e[j] = expl(zl[j] - m);
        for (int j = 0; j < 3; j++) {
            /* p_j - 1 = -(sum of the other terms) / s, without cancellation. */
            const long double rp = e[j] / s;
            const long double rg =
                y[j] == 1.0 ? -(e[(j + 1) % 3] + e[(j + 2) % 3]) / s : rp;
            REQUIRE(isfinite(p[j]) && isfinite(g[j]));
            if (rp >= 1e-300L) {
                double e = rel_err(p[j], rp);
                worst_p = e > worst_p ? e : worst_p;
            }
            if (fabsl(rg) >= 1e-300L) {
                double e = rel_err(g[j], rg);
                worst_g = e > worst_g ? e : worst_g;
            }
        }
    }
    printf("accuracy softmax+ce (fused) %d rows: value %.3g, P %.3g, dZ %.3g\n",
           SWEEP_EVEN, worst_v, worst_p, worst_g);
    ck_assert_msg(worst_v <= 1e-14, "value error %g", worst_v);
    ck_assert_msg(worst_p <= 1e-14, "P error %g", worst_p);
    ck_assert_msg(worst_g <= 1e-14, "dZ error %g", worst_g);
}
END_TEST

/* ---- gradients against their closed forms, over sweeps -------------------------- */

/*
 * Probabilities for the unfused gradients: 10^6 evenly spaced in [0, 1],
 * then log-spaced distances 1e-300 ... 0.5 from 0 and from 1 (the clamp at
 * 1e-15 and 1 - 1e-15 included); for MSE, predictions spread over [-3, 3]
 * as 6 p - 3 and the same near 0.
 */
#define PSWEEP_EVEN 1000001
#define PSWEEP_LOG 50000

static double *make_psweep(size_t *n)
{
    double *p = malloc((PSWEEP_EVEN + 2 * PSWEEP_LOG) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    size_t k = 0;
    for (size_t i = 0; i < PSWEEP_EVEN; i++)
        p[k++] = (double)i / (PSWEEP_EVEN - 1);
    for (size_t i = 0; i < PSWEEP_LOG; i++) {
        const double d = pow(10.0, -300.0 + 299.7 * (double)i / (PSWEEP_LOG - 1));
        p[k++] = d;
        p[k++] = 1.0 - d;
    }
    *n = k;
    return p;
}

/*
 * dP of loss.h's table against the closed form in long double (p clamped
 * for BCE and CE as the library does), on an n x 3 matrix of swept values
 * with targets MSE {-1.5, 0, 0.7, 2}, BCE {0, 1, 0.3, 0.75}, CE rows
 * one-hot or (0.2, 0.3, 0.5) or (0.25, 0.75, 0). Bounds in u = 2^-53,
 * relative, from the roundings of each formula:
 * - MSE 2 (p - y) / k: p - y and the division (d + d is exact): 2 u.
 * - BCE (pc - y) / (k pc (1 - pc)): the difference, k pc, 1 - pc, the
 *   product and the division: 5 u.
 * - CE -y / pc: one division: 1 u.
 * Each bound gets 0.01 u more for the reference's own roundings (a few of
 * 2^-64 relative, i.e. 2^-11 u each).
 */
START_TEST(unfused_gradients_against_closed_forms)
{
    const soma_loss loss = (soma_loss)_i;
    size_t n;
    double *sw = make_psweep(&n);
    const size_t k = 3;
    soma_matrix P, Y, G;
    ck_assert_int_eq(soma_matrix_init(&P, n, k, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, n, k, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&G, n, k, NULL), SOMA_OK);
    static const double mse_y[4] = {-1.5, 0.0, 0.7, 2.0},
                        bce_y[4] = {0.0, 1.0, 0.3, 0.75};
    static const double ce_y[6][3] = {{1, 0, 0},       {0, 1, 0},       {0, 0, 1},
                                      {0.2, 0.3, 0.5}, {0.25, 0.75, 0}, {0, 0.25, 0.75}};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < k; j++) {
            const double v = sw[(i + j * 333331) % n];
            P.data[i * k + j] = loss == SOMA_LOSS_MSE ? 6 * v - 3 : v;
            Y.data[i * k + j] = loss == SOMA_LOSS_MSE   ? mse_y[(i + j) % 4]
                                : loss == SOMA_LOSS_BCE ? bce_y[(i + 2 * j) % 4]
                                                        : ce_y[i % 6][j];
        }
    ck_assert_int_eq(soma_loss_grad(loss, &P, &Y, &G, NULL), SOMA_OK);
    const double bound = (loss == SOMA_LOSS_MSE   ? 2
                          : loss == SOMA_LOSS_BCE ? 5
                                                  : 1) +
                         0.01;
    const long double u = DBL_EPSILON / 2;
    double worst = 0;
    for (size_t i = 0; i < n * k; i++) {
        const long double p = P.data[i], y = Y.data[i], pc = clampl(p);
        long double ref;
        if (loss == SOMA_LOSS_MSE)
            ref = 2 * (p - y) / k;
        else if (loss == SOMA_LOSS_BCE)
            ref = (pc - y) / (k * pc * (1 - pc));
        else
            ref = -y / pc;
        const long double err = fabsl(G.data[i] - ref);
        if (ref == 0) {
            REQUIRE(G.data[i] == 0.0);
            continue;
        }
        const double e = (double)(err / (u * fabsl(ref)));
        worst = e > worst ? e : worst;
        if (e > bound)
            ck_abort_msg("%s: p = %.17g, y = %g: dP = %.17g, closed form %.17Lg (%.3g u, "
                         "bound %g u)",
                         soma_loss_name(loss), P.data[i], Y.data[i], G.data[i], ref, e,
                         bound);
    }
    printf("gradient %s (unfused) max error %.2f u over %zu elements\n",
           soma_loss_name(loss), worst, n * k);
    soma_matrix_free(&G);
    soma_matrix_free(&Y);
    soma_matrix_free(&P);
    free(sw);
}
END_TEST

/*
 * dZ of the fused forms with soft targets as well as 0/1, over the logits of
 * the fused sweeps, against the closed forms (p - y) / k (BCE, k = 2 here)
 * and p - y (CE), with p - y formed in long double without cancellation: as
 * -(sum of the other classes) / s + (1 - y) at the row maximum, and from
 * sigmoid(-z) for BCE with z >= 0. The library forms the same differences
 * from q = sigmoid(-|z|) (or the tail fraction of the softmax sum), whose
 * relative error is measured above at < 3.5 u, then 1 - y, the difference
 * and the division, so:
 *   |dZ - ref| <= 6 u (|ref| + (min(p, 1 - p) + (1 - y)) / k).
 * For 0/1 targets that is within 6-12 u relative; for soft targets, where
 * p - y can cancel, the scale is what p and y are known to.
 */
START_TEST(fused_gradients_against_closed_forms)
{
    const bool ce = _i;
    const soma_loss loss = ce ? SOMA_LOSS_CE : SOMA_LOSS_BCE;
    const size_t n = SWEEP_EVEN + 40000, k = ce ? 3 : 2;
    soma_matrix Z, Y, G;
    ck_assert_int_eq(soma_matrix_init(&Z, n, k, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, n, k, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&G, n, k, NULL), SOMA_OK);
    static const double bce_y[5] = {0.0, 1.0, 0.3, 0.75, 0.5};
    static const double ce_y[6][3] = {{1, 0, 0},       {0, 1, 0},       {0, 0, 1},
                                      {0.2, 0.3, 0.5}, {0.25, 0.75, 0}, {0, 0.25, 0.75}};
    for (size_t i = 0; i < n; i++) {
        double x;
        if (i < SWEEP_EVEN) {
            x = -745.0 + 1455.0 * (double)i / (SWEEP_EVEN - 1);
        } else {
            const size_t t = i - SWEEP_EVEN;
            x = pow(10.0, -300.0 + 301.6 * (double)(t / 2) / 19999.0);
            x = t % 2 ? -x : x;
        }
        double *z = Z.data + i * k, *y = Y.data + i * k;
        if (ce) {
            z[0] = x, z[1] = x / 2 + 1, z[2] = -x / 4;
            memcpy(y, ce_y[i % 6], 3 * sizeof *y);
        } else {
            z[0] = x, z[1] = -x / 3;
            y[0] = bce_y[i % 5], y[1] = bce_y[(i + 2) % 5];
        }
    }
    ck_assert_int_eq(soma_loss_from_logits(loss, &Z, &Y, NULL, NULL, &G, NULL), SOMA_OK);
    const long double u = DBL_EPSILON / 2;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double *z = Z.data + i * k, *y = Y.data + i * k, *g = G.data + i * k;
        long double p[3], q[3]; /* p and 1 - p, each without cancellation */
        if (ce) {
            size_t arg = 0;
            for (size_t j = 1; j < k; j++)
                arg = z[j] > z[arg] ? j : arg;
            long double e[3], s = 0;
            for (size_t j = 0; j < k; j++)
                s += e[j] = expl((long double)z[j] - z[arg]);
            for (size_t j = 0; j < k; j++) {
                long double others = 0;
                for (size_t l = 0; l < k; l++)
                    others += l == j ? 0 : e[l];
                p[j] = e[j] / s;
                q[j] = others / s;
            }
        } else {
            for (size_t j = 0; j < k; j++) {
                p[j] = ref_sigmoid(z[j]);
                q[j] = ref_sigmoid(-(long double)z[j]);
            }
        }
        for (size_t j = 0; j < k; j++) {
            /* p - y = (1 - y) - (1 - p), or p - y, whichever cancels less. */
            const long double diff =
                p[j] > 0.5L ? (1 - (long double)y[j]) - q[j] : p[j] - y[j];
            const long double ref = ce ? diff : diff / k;
            const long double scale =
                fabsl(ref) + ((p[j] < q[j] ? p[j] : q[j]) + (1 - (long double)y[j])) / k;
            if (scale < 1e-300L) {
                if (fabs(g[j]) >= 1e-290)
                    ck_abort_msg("%s row %zu (z %.17g, y %g): dZ %zu = %.17g, want ~0",
                                 soma_loss_name(loss), i, z[j], y[j], j, g[j]);
                continue;
            }
            const long double err = fabsl(g[j] - ref);
            const double e = (double)(err / (u * scale));
            worst = e > worst ? e : worst;
            /* The same error, term by term: the difference's own rounding
             * (u |ref|), q or p from the exponential (< 3.5 u, taken as 4 u,
             * of min(p, 1 - p)), and the rounding of 1 - y where y is soft
             * (known exactly here), each divided by k for BCE; 1% for second
             * order terms and the reference's rounding. This one sees a
             * formula off by a few ulp where the scale above cannot (a
             * factor 1 + 4 u passes 6 u of the scale). */
            const long double dy = fabsl((long double)(1.0 - y[j]) - (1 - (long double)y[j]));
            const long double tight =
                1.01L * (u * fabsl(ref) +
                         (4 * u * (p[j] < q[j] ? p[j] : q[j]) + dy) / (ce ? 1 : k)) +
                1e-300L;
            if (err > tight)
                ck_abort_msg("%s row %zu (z %.17g, y %g): dZ %zu = %.17g, closed form "
                             "%.17Lg (error %.3Lg u, term-by-term bound %.3Lg u)",
                             soma_loss_name(loss), i, z[j], y[j], j, g[j], ref, err / u,
                             tight / u);
            if (e > 6)
                ck_abort_msg("%s row %zu (z %.17g, y %g): dZ %zu = %.17g, closed form "
                             "%.17Lg (%.3g u of the scale, bound 6 u)",
                             soma_loss_name(loss), i, z[j], y[j], j, g[j], ref, e);
        }
    }
    printf("gradient %s (fused, soft and 0/1 targets) max error %.2f u of the scale over "
           "%zu rows\n",
           soma_loss_name(loss), worst, n);
    soma_matrix_free(&G);
    soma_matrix_free(&Y);
    soma_matrix_free(&Z);
}
END_TEST

/* dZ of the fused forms against central differences of the long double
 * per-row loss (h = 1e-6 as above: |L'''| <= 1 for both, gradients >= 1e-3
 * compared relatively), on a padded batch with soft targets. */
START_TEST(fused_gradient_against_finite_differences)
{
    const soma_loss loss = _i ? SOMA_LOSS_CE : SOMA_LOSS_BCE;
    const size_t rows = 11, cols = 4, ld = 6;
    double zb[11 * 6], yb[11 * 6], gb[11 * 6], pb[11 * 6];
    for (size_t i = 0; i < rows * ld; i++)
        zb[i] = yb[i] = gb[i] = pb[i] = -99.0;
    soma_matrix Z, Y, G, P;
    ck_assert_int_eq(soma_matrix_view(&Z, zb, rows, cols, ld), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, yb, rows, cols, ld), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&G, gb, rows, cols, ld), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&P, pb, rows, cols, ld), SOMA_OK);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 31 + _i), SOMA_OK);
    for (size_t i = 0; i < rows; i++)
        ck_assert_int_eq(
            soma_rng_uniform_range(&r, cols, -8.0, 8.0, soma_matrix_at(&Z, i, 0)),
            SOMA_OK);
    fill_targets(loss, &Y, &r, true);
    double v;
    ck_assert_int_eq(soma_loss_from_logits(loss, &Z, &Y, &v, &P, &G, NULL), SOMA_OK);
    long double total = 0;
    for (size_t i = 0; i < rows; i++) {
        long double z[4];
        const double *y = soma_matrix_at(&Y, i, 0);
        for (size_t j = 0; j < cols; j++)
            z[j] = *soma_matrix_at(&Z, i, j);
        total += ref_logits_row(loss, cols, z, y);
        for (size_t j = 0; j < cols; j++) {
            const long double z0 = z[j];
            z[j] = z0 + FD_STEP;
            long double hi = ref_logits_row(loss, cols, z, y);
            z[j] = z0 - FD_STEP;
            long double lo = ref_logits_row(loss, cols, z, y);
            z[j] = z0;
            long double g = (hi - lo) / (2 * FD_STEP);
            double got = *soma_matrix_at(&G, i, j);
            if (fabsl(g) < 1e-3L)
                ck_assert(fabsl(got - g) <= 1e-10L);
            else
                ck_assert_msg(rel_err(got, g) <= 1e-7, "%s dZ(%zu,%zu) %g vs %Lg",
                              soma_loss_name(loss), i, j, got, g);
        }
    }
    ck_assert(rel_err(v, total / rows) <= 1e-14);
    for (size_t i = 0; i < rows; i++)
        for (size_t j = cols; j < ld; j++) {
            ck_assert_double_eq(gb[i * ld + j], -99.0);
            ck_assert_double_eq(pb[i * ld + j], -99.0);
        }
    /* Optional outputs: value only, then dZ in place over Z, same bits. */
    double v2 = 0;
    ck_assert_int_eq(soma_loss_from_logits(loss, &Z, &Y, &v2, NULL, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(v2, v);
    ck_assert_int_eq(soma_loss_from_logits(loss, &Z, &Y, NULL, NULL, &Z, NULL), SOMA_OK);
    ck_assert_mem_eq(zb, gb, sizeof zb); /* pads were equal too */
}
END_TEST

/* Fused and unfused agree where both are defined (p away from the clamp):
 * the values, and the chain rule through the activation's backward. */
START_TEST(fused_matches_unfused)
{
    const bool ce = _i;
    const soma_loss loss = ce ? SOMA_LOSS_CE : SOMA_LOSS_BCE;
    const soma_activation act = ce ? SOMA_ACTIVATION_SOFTMAX : SOMA_ACTIVATION_SIGMOID;
    soma_matrix Z, Y, P, Pf, dP, dZ, dZf;
    const size_t rows = 20, cols = 3;
    ck_assert_int_eq(soma_matrix_init(&Z, rows, cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, rows, cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&P, rows, cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Pf, rows, cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dP, rows, cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dZ, rows, cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dZf, rows, cols, NULL), SOMA_OK);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 8), SOMA_OK);
    ck_assert_int_eq(soma_rng_uniform_range(&r, rows * cols, -5.0, 5.0, Z.data), SOMA_OK);
    fill_targets(loss, &Y, &r, _i == 0);
    double vf, vu;
    ck_assert_int_eq(soma_loss_from_logits(loss, &Z, &Y, &vf, &Pf, &dZf, NULL), SOMA_OK);
    ck_assert_int_eq(soma_activation_forward_matrix(act, 0, &Z, &P, NULL), SOMA_OK);
    ck_assert_int_eq(soma_loss_value(loss, &P, &Y, &vu, NULL), SOMA_OK);
    ck_assert_int_eq(soma_loss_grad(loss, &P, &Y, &dP, NULL), SOMA_OK);
    ck_assert_int_eq(soma_activation_backward_matrix(act, 0, &Z, &P, &dP, &dZ, NULL),
                     SOMA_OK);
    ck_assert_msg(rel_err(vf, vu) <= 1e-13, "values %.17g %.17g", vf, vu);
    for (size_t i = 0; i < rows * cols; i++) {
        ck_assert(rel_err(Pf.data[i], P.data[i]) <= 1e-15);
        /* The unfused chain divides by p (1 - p) and multiplies it back:
         * a few ulps of p, relative to the larger of the terms. */
        ck_assert_msg(fabs(dZ.data[i] - dZf.data[i]) <= 1e-13, "dZ[%zu] %.17g %.17g", i,
                      dZ.data[i], dZf.data[i]);
    }
    soma_matrix_free(&dZf);
    soma_matrix_free(&dZ);
    soma_matrix_free(&dP);
    soma_matrix_free(&Pf);
    soma_matrix_free(&P);
    soma_matrix_free(&Y);
    soma_matrix_free(&Z);
}
END_TEST

START_TEST(fused_extreme_logits_stay_finite)
{
    /* Every finite logit, however large, gives a finite value and gradient. */
    double z[4] = {DBL_MAX, -DBL_MAX, 1e300, -1e-300}, y[4] = {0, 0, 1, 0}, g[4], v;
    soma_matrix Z, Y, G;
    ck_assert_int_eq(soma_matrix_view(&Z, z, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&G, g, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_loss_from_logits(SOMA_LOSS_CE, &Z, &Y, &v, NULL, &G, NULL),
                     SOMA_OK);
    ck_assert(isfinite(v)); /* DBL_MAX - 1e300 */
    for (int j = 0; j < 4; j++)
        ck_assert(isfinite(g[j]));
    ck_assert_double_eq(g[0], 1.0);
    ck_assert_double_eq(g[1], 0.0);
    ck_assert_double_eq(g[2], -1.0);
    ck_assert_double_eq(g[3], 0.0);
    double zb[4] = {DBL_MAX, -DBL_MAX, 800, -800}, yb[4] = {1, 0, 0.5, 1};
    ck_assert_int_eq(soma_matrix_view(&Z, zb, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, yb, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_loss_from_logits(SOMA_LOSS_BCE, &Z, &Y, &v, NULL, &G, NULL),
                     SOMA_OK);
    ck_assert(isfinite(v));
    for (int j = 0; j < 4; j++)
        ck_assert(isfinite(g[j]));
    ck_assert_double_eq(g[0], 0.0);
    ck_assert_double_eq(g[1], 0.0);
    ck_assert_double_eq(g[2], 0.5 / 4);
    ck_assert_double_eq(g[3], -1.0 / 4);
}
END_TEST

/* ---- targets, names, bad arguments --------------------------------------------- */

static void expect_rejected(soma_loss loss, const double *y, size_t k)
{
    double p[4] = {0.25, 0.25, 0.25, 0.25}, g[4] = {7, 7, 7, 7}, q[4] = {7, 7, 7, 7};
    double ycopy[4], v = 7.0;
    memcpy(ycopy, y, k * sizeof *y);
    soma_matrix P, Y, G, Q;
    ck_assert_int_eq(soma_matrix_view(&P, p, 1, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, ycopy, 1, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&G, g, 1, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Q, q, 1, k, k), SOMA_OK);
    ck_assert_int_eq(soma_loss_value(loss, &P, &Y, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_grad(loss, &P, &Y, &G, NULL), SOMA_EINVAL);
    if (loss != SOMA_LOSS_MSE)
        ck_assert_int_eq(soma_loss_from_logits(loss, &P, &Y, &v, &Q, &G, NULL),
                         SOMA_EINVAL);
    ck_assert_double_eq(v, 7.0);
    for (size_t j = 0; j < k; j++) {
        ck_assert_double_eq(g[j], 7.0);
        ck_assert_double_eq(q[j], 7.0);
        ck_assert_double_eq(p[j], 0.25);
    }
}

START_TEST(targets_outside_their_domain)
{
    expect_rejected(SOMA_LOSS_BCE, (const double[]){0.5, -0.1}, 2);
    expect_rejected(SOMA_LOSS_BCE, (const double[]){1.0 + 1e-12, 0}, 2);
    expect_rejected(SOMA_LOSS_BCE, (const double[]){NAN}, 1);
    expect_rejected(SOMA_LOSS_CE, (const double[]){0.5, 0.4}, 2);        /* sum 0.9 */
    expect_rejected(SOMA_LOSS_CE, (const double[]){1.5, -0.5}, 2);       /* negative */
    expect_rejected(SOMA_LOSS_CE, (const double[]){0.5, 0.5 + 2e-9}, 2); /* off by 2e-9 */
    expect_rejected(SOMA_LOSS_CE, (const double[]){0.0, 0.0, 0.0, 0.0}, 4); /* no class */
    expect_rejected(SOMA_LOSS_CE, (const double[]){NAN, 1.0}, 2);
    expect_rejected(SOMA_LOSS_MSE, (const double[]){1.0, INFINITY}, 2);
    expect_rejected(SOMA_LOSS_MSE, (const double[]){NAN, 0.0}, 2);
    /* Accepted edges: 0 and 1 for BCE, a sum within 1e-9 for CE. */
    double p[2] = {0.3, 0.7}, y[2] = {0.5, 0.5 + 5e-10}, v;
    soma_matrix P, Y;
    ck_assert_int_eq(soma_matrix_view(&P, p, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_CE, &P, &Y, &v, NULL), SOMA_OK);
    y[0] = 0.0;
    y[1] = 1.0;
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_BCE, &P, &Y, &v, NULL), SOMA_OK);
    y[0] = -1e300;
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_MSE, &P, &Y, &v, NULL), SOMA_OK);
}
END_TEST

START_TEST(names_round_trip)
{
    const char *want[SOMA_LOSS_COUNT] = {"mse", "bce", "ce"};
    for (int l = 0; l < SOMA_LOSS_COUNT; l++) {
        ck_assert_str_eq(soma_loss_name((soma_loss)l), want[l]);
        soma_loss out = SOMA_LOSS_COUNT;
        ck_assert_int_eq(soma_loss_from_name(want[l], &out, NULL), SOMA_OK);
        ck_assert_int_eq(out, l);
    }
    soma_loss out = SOMA_LOSS_MSE;
    ck_assert_int_eq(soma_loss_from_name("Binary_CrossEntropy", &out, NULL), SOMA_OK);
    ck_assert_int_eq(out, SOMA_LOSS_BCE);
    ck_assert_int_eq(soma_loss_from_name("CROSSENTROPY", &out, NULL), SOMA_OK);
    ck_assert_int_eq(out, SOMA_LOSS_CE);
    ck_assert_int_eq(soma_loss_from_name("MSE", &out, NULL), SOMA_OK);
    ck_assert_int_eq(out, SOMA_LOSS_MSE);
    ck_assert_int_eq(soma_loss_from_name("hinge", &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_from_name("", &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(out, SOMA_LOSS_MSE);
    ck_assert_int_eq(soma_loss_from_name(NULL, &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_from_name("ce", NULL, NULL), SOMA_EINVAL);
    ck_assert_ptr_null(soma_loss_name(SOMA_LOSS_COUNT));
    ck_assert_ptr_null(soma_loss_name((soma_loss)-1));
}
END_TEST

START_TEST(bad_arguments)
{
    double p[6] = {0.1, 0.2, 0.7, 0.3, 0.3, 0.4}, y[6] = {0, 0, 1, 1, 0, 0};
    double g[6] = {5, 5, 5, 5, 5, 5}, q[6] = {5, 5, 5, 5, 5, 5}, v = 5.0;
    soma_matrix P, Y, G, Q, Yt, bad;
    ck_assert_int_eq(soma_matrix_view(&P, p, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&G, g, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Q, q, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Yt, y, 3, 2, 2), SOMA_OK);
    const soma_loss CE = SOMA_LOSS_CE;
    ck_assert_int_eq(soma_loss_value(SOMA_LOSS_COUNT, &P, &Y, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_value((soma_loss)-1, &P, &Y, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_value(CE, NULL, &Y, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_value(CE, &P, NULL, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_value(CE, &P, &Y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_value(CE, &P, &Yt, &v, NULL), SOMA_EDIM);
    bad = P;
    bad.ld = 2;
    ck_assert_int_eq(soma_loss_value(CE, &bad, &Y, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_grad(CE, &P, &Y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_grad(CE, &P, &Yt, &G, NULL), SOMA_EDIM);
    soma_matrix G23;
    ck_assert_int_eq(soma_matrix_view(&G23, g, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_loss_grad(CE, &P, &Y, &G23, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_loss_grad(CE, &P, &Y, &Y, NULL), SOMA_EALIAS); /* dP over Y */
    soma_matrix Pshift;
    ck_assert_int_eq(soma_matrix_view(&Pshift, p + 1, 1, 3, 3), SOMA_OK);
    soma_matrix P1, Y1;
    ck_assert_int_eq(soma_matrix_view(&P1, p, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y1, y, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_loss_grad(CE, &P1, &Y1, &Pshift, NULL), SOMA_EALIAS);
    /* Fused: MSE has no fused form; shapes; P over Z; dZ partly over Z; P = dZ. */
    ck_assert_int_eq(soma_loss_from_logits(SOMA_LOSS_MSE, &P, &Y, &v, &Q, &G, NULL),
                     SOMA_ENOTSUP);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P, &Yt, &v, &Q, &G, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P, &Y, &v, &G23, &G, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P, &Y, &v, &Q, &G23, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_loss_from_logits(CE, NULL, &Y, &v, &Q, &G, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P, &Y, &v, &P, &G, NULL), SOMA_EALIAS);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P1, &Y1, &v, NULL, &Pshift, NULL),
                     SOMA_EALIAS);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P, &Y, &v, &Q, &Q, NULL), SOMA_EALIAS);
    ck_assert_int_eq(soma_loss_from_logits(CE, &P, &Y, &v, &Q, &Y, NULL), SOMA_EALIAS);
    ck_assert_double_eq(v, 5.0);
    for (int i = 0; i < 6; i++) {
        ck_assert_double_eq(g[i], 5.0);
        ck_assert_double_eq(q[i], 5.0);
    }
    ck_assert_double_eq(p[0], 0.1);
    ck_assert_double_eq(y[2], 1.0);
    /* Empty batches: value 0, nothing touched. */
    soma_matrix E, EY;
    ck_assert_int_eq(soma_matrix_view(&E, NULL, 0, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&EY, NULL, 0, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_loss_value(CE, &E, &EY, &v, NULL), SOMA_OK);
    ck_assert_double_eq(v, 0.0);
    ck_assert_int_eq(soma_loss_from_logits(CE, &E, &EY, &v, NULL, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(v, 0.0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, unfused_value_and_gradient, 0, SOMA_LOSS_COUNT);
    tcase_add_test(tc, probability_clamp);
    tcase_add_test(tc, fused_bce_sweep);
    tcase_add_test(tc, fused_ce_sweep);
    tcase_add_loop_test(tc, unfused_gradients_against_closed_forms, 0, SOMA_LOSS_COUNT);
    tcase_add_loop_test(tc, fused_gradients_against_closed_forms, 0, 2);
    tcase_add_loop_test(tc, fused_gradient_against_finite_differences, 0, 2);
    tcase_add_loop_test(tc, fused_matches_unfused, 0, 2);
    tcase_add_test(tc, fused_extreme_logits_stay_finite);
    tcase_add_test(tc, targets_outside_their_domain);
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return test_run(s);
}
