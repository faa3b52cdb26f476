/* Activations: names, accuracy against long double libm, special values,
 * gradients against central finite differences, matrices with padding,
 * in-place use, and bad arguments. */
#include "test_common.h"

#define N_ELEMENTWISE 7
static const soma_activation elementwise[N_ELEMENTWISE] = {
    SOMA_ACTIVATION_IDENTITY, SOMA_ACTIVATION_SIGMOID,    SOMA_ACTIVATION_TANH,
    SOMA_ACTIVATION_RELU,     SOMA_ACTIVATION_LEAKY_RELU, SOMA_ACTIVATION_ELU,
    SOMA_ACTIVATION_SWISH,
};

/* ---- independent references in long double (x87 extended: 64-bit mantissa,
 * so libm's *l functions are ~2^-11 ulp of double accurate) ---------------- */

static long double ref_sigmoid(long double x)
{
    return x < 0 ? expl(x) / (1 + expl(x)) : 1 / (1 + expl(-x));
}

static long double ref_f(soma_activation f, double alpha, long double x)
{
    switch (f) {
    case SOMA_ACTIVATION_IDENTITY:
        return x;
    case SOMA_ACTIVATION_SIGMOID:
        return ref_sigmoid(x);
    case SOMA_ACTIVATION_TANH:
        return tanhl(x);
    case SOMA_ACTIVATION_RELU:
        return x > 0 ? x : 0;
    case SOMA_ACTIVATION_LEAKY_RELU:
        return x > 0 ? x : alpha * x;
    case SOMA_ACTIVATION_ELU:
        return x > 0 ? x : alpha * expm1l(x);
    case SOMA_ACTIVATION_SWISH:
        return x * ref_sigmoid(x);
    default:
        ck_abort_msg("no reference for %d", (int)f);
        return 0;
    }
}

/* ---- the sweep -------------------------------------------------------------- */

/* At least 10^6 points: evenly spaced over [-745, 710], then log-spaced
 * magnitudes 1e-300 ... 1e-8 and 1e-8 ... 40 of both signs (where the
 * functions change fastest), then random points in [-40, 40]. */
#define SWEEP_EVEN 1000001
#define SWEEP_LOG 100000
#define SWEEP_RANDOM 100000
#define SWEEP_N (SWEEP_EVEN + 4 * SWEEP_LOG + SWEEP_RANDOM)

static double *make_sweep(size_t *n)
{
    double *x = malloc(SWEEP_N * sizeof *x);
    ck_assert_ptr_nonnull(x);
    size_t k = 0;
    for (size_t i = 0; i < SWEEP_EVEN; i++)
        x[k++] = -745.0 + 1455.0 * (double)i / (SWEEP_EVEN - 1);
    for (size_t i = 0; i < SWEEP_LOG; i++) {
        double t = (double)i / (SWEEP_LOG - 1);
        double tiny = pow(10.0, -300.0 + 292.0 * t); /* 1e-300 .. 1e-8 */
        double mid = pow(10.0, -8.0 + 9.60206 * t);  /* 1e-8 .. 40 */
        x[k++] = tiny;
        x[k++] = -tiny;
        x[k++] = mid;
        x[k++] = -mid;
    }
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 2024), SOMA_OK);
    ck_assert_int_eq(soma_rng_uniform_range(&r, SWEEP_RANDOM, -40.0, 40.0, x + k),
                     SOMA_OK);
    k += SWEEP_RANDOM;
    *n = k;
    return x;
}

/* Relative error of got against the long double reference; the caller skips
 * references below 1e-300 in magnitude. */
static double rel_err(double got, long double ref)
{
    return (double)(fabsl((long double)got - ref) / fabsl(ref));
}

START_TEST(accuracy_sweep)
{
    size_t n;
    double *x = make_sweep(&n);
    ck_assert_uint_ge(n, 1000000);
    double *a = malloc(n * sizeof *a);
    ck_assert_ptr_nonnull(a);
    for (size_t k = 0; k < N_ELEMENTWISE; k++) {
        const soma_activation f = elementwise[k];
        /* alpha = 0.7 for elu so that the alpha factor is exercised. */
        const double alpha =
            f == SOMA_ACTIVATION_ELU ? 0.7 : soma_activation_default_alpha(f);
        ck_assert_int_eq(soma_activation_forward(f, alpha, n, x, a, NULL), SOMA_OK);
        double worst = 0.0, at = 0.0;
        size_t checked = 0;
        for (size_t i = 0; i < n; i++) {
            const long double ref = ref_f(f, alpha, x[i]);
            if (fabsl(ref) < 1e-300L) {
                /* Below the accuracy floor: still the right sign and tiny. */
                ck_assert_msg(fabs(a[i]) < 1e-290, "%s(%a) = %a, want ~0",
                              soma_activation_name(f), x[i], a[i]);
                continue;
            }
            checked++;
            const double e = rel_err(a[i], ref);
            if (e > worst) {
                worst = e;
                at = x[i];
            }
        }
        printf("accuracy %-10s max relative error %.3g (%.2f ulp) at x = %.17g over %zu "
               "points\n",
               soma_activation_name(f), worst, worst / DBL_EPSILON * 2, at, checked);
        ck_assert_msg(worst <= 1e-14, "%s: max relative error %g at %a",
                      soma_activation_name(f), worst, at);
    }
    free(a);
    free(x);
}
END_TEST

/* Softmax rows built from the sweep: each x gives the row
 * (x, x/2 + 1, -x/4, 0), so entries range over [-745, 710] and probabilities
 * over the whole double range. Reference: long double, max subtracted. */
START_TEST(softmax_accuracy)
{
    size_t n;
    double *x = make_sweep(&n);
    const size_t k = 4;
    double *z = malloc(n * k * sizeof *z), *a = malloc(n * k * sizeof *a);
    ck_assert_ptr_nonnull(z);
    ck_assert_ptr_nonnull(a);
    for (size_t i = 0; i < n; i++) {
        z[i * k] = x[i];
        z[i * k + 1] = x[i] / 2 + 1;
        z[i * k + 2] = -x[i] / 4;
        z[i * k + 3] = 0.0;
    }
    soma_matrix Z, A;
    ck_assert_int_eq(soma_matrix_view(&Z, z, n, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&A, a, n, k, k), SOMA_OK);
    ck_assert_int_eq(
        soma_activation_forward_matrix(SOMA_ACTIVATION_SOFTMAX, 0.0, &Z, &A, NULL),
        SOMA_OK);
    double worst = 0.0;
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        const double *zr = z + i * k;
        long double m = zr[0], s = 0;
        for (size_t j = 1; j < k; j++)
            m = zr[j] > m ? zr[j] : m;
        for (size_t j = 0; j < k; j++)
            s += expl(zr[j] - m);
        for (size_t j = 0; j < k; j++) {
            long double ref = expl(zr[j] - m) / s;
            if (ref < 1e-300L) {
                ck_assert(a[i * k + j] < 1e-290);
                continue;
            }
            checked++;
            double e = rel_err(a[i * k + j], ref);
            worst = e > worst ? e : worst;
        }
    }
    /* Long rows: the compensated sum keeps the error independent of length. */
    const size_t long_k = 5000;
    double *lz = malloc(long_k * sizeof *lz), *la = malloc(long_k * sizeof *la);
    ck_assert_ptr_nonnull(lz);
    ck_assert_ptr_nonnull(la);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 77), SOMA_OK);
    ck_assert_int_eq(soma_rng_uniform_range(&r, long_k, -3.0, 3.0, lz), SOMA_OK);
    ck_assert_int_eq(
        soma_activation_forward(SOMA_ACTIVATION_SOFTMAX, 0, long_k, lz, la, NULL),
        SOMA_OK);
    long double m = lz[0], s = 0;
    for (size_t j = 0; j < long_k; j++)
        m = lz[j] > m ? lz[j] : m;
    for (size_t j = 0; j < long_k; j++)
        s += expl(lz[j] - m);
    for (size_t j = 0; j < long_k; j++) {
        double e = rel_err(la[j], expl(lz[j] - m) / s);
        worst = e > worst ? e : worst;
        checked++;
    }
    printf("accuracy softmax    max relative error %.3g (%.2f ulp) over %zu "
           "probabilities\n",
           worst, worst / DBL_EPSILON * 2, checked);
    ck_assert_msg(worst <= 1e-14, "softmax: max relative error %g", worst);
    free(la);
    free(lz);
    free(a);
    free(z);
    free(x);
}
END_TEST

/* ---- derivatives against their closed forms, over the sweep ------------------ */

/* f'(x) in long double, for finite x (documented values at the kinks). */
static long double ref_derivative(soma_activation f, double alpha, long double x)
{
    switch (f) {
    case SOMA_ACTIVATION_IDENTITY:
        return 1;
    case SOMA_ACTIVATION_SIGMOID: {
        const long double s = ref_sigmoid(x);
        return s * (1 - s);
    }
    case SOMA_ACTIVATION_TANH: {
        const long double t = tanhl(x);
        return (1 - t) * (1 + t);
    }
    case SOMA_ACTIVATION_RELU:
        return x > 0 ? 1 : 0;
    case SOMA_ACTIVATION_LEAKY_RELU:
        return x > 0 ? 1 : alpha;
    case SOMA_ACTIVATION_ELU:
        return x > 0 ? 1 : alpha * expl(x);
    case SOMA_ACTIVATION_SWISH: {
        const long double s = ref_sigmoid(x);
        return s + x * s * (1 - s);
    }
    default:
        ck_abort_msg("no derivative for %d", (int)f);
        return 0;
    }
}

/*
 * Error bound of dz = da f'(z), in units of u = 2^-53, as B_rel u |ref| +
 * B_amp u M: B_rel covers the roundings of the formula's last operations,
 * M the amplification of the error already in the stored a = f(z) (which
 * sigmoid, tanh and swish take f' from; measured above at <= 3.6 u, so
 * taken as 4 u) where f' is small next to the terms it is made of:
 * - identity, relu: f' is 1 or 0, da f' is exact: 0.
 * - leaky relu: da alpha, one rounding: 1 u |ref|.
 * - elu: e^z (within 3 u: the exponential of lib/vmath.h is a few ulp;
 *   elu's forward, from the same reduction, measures 2.25 u above) times
 *   alpha and da: 5 u |ref|.
 * - sigmoid: a (1 - a) with a = s (1 + d), |d| <= 4 u: a (1 - a) =
 *   s (1 - s)(1 + d) - s^2 d, then two roundings and da's: 8 u |ref| +
 *   4 u s^2 (the s^2 term is the documented absolute error where f' is tiny
 *   next to s, z > ~20).
 * - tanh: (1 - a)(1 + a) = (1 - t^2) - 2 t^2 d: 4 u |ref| + 8 u t^2.
 * - swish: s_c = a / z = s (1 + d)(1 + u), f' = s_c + a (1 - s_c): first
 *   order error <= (|d| + 2 u)(s + |a|) + 2 u |ref| (s, a, z ref values):
 *   4 u |ref| + 8 u (s + |swish(z)|); near swish's minimum (z = -1.2785)
 *   f' crosses 0 and only the second term bounds the error.
 * Points where |f'| and M are below 1e-300 (sigmoid and swish beyond -690,
 * elu beyond -690) are checked for size only, as the values are.
 */
START_TEST(derivatives_against_closed_forms)
{
    size_t n;
    double *x = make_sweep(&n);
    double *a = malloc(n * sizeof *a), *da = malloc(n * sizeof *da),
           *dz = malloc(n * sizeof *dz);
    ck_assert(a && da && dz);
    /* da: 1 on even points (dz is f' itself), a spread of magnitudes and
     * signs on odd ones. */
    for (size_t i = 0; i < n; i++)
        da[i] =
            i % 2 == 0 ? 1.0 : (i % 4 == 1 ? -1.0 : 1.0) * (0.3 + (double)(i % 97) / 16);
    const double u = DBL_EPSILON / 2;
    for (size_t k = 0; k < N_ELEMENTWISE; k++) {
        const soma_activation f = elementwise[k];
        const double alpha = f == SOMA_ACTIVATION_ELU ? 0.7 : 0.05;
        double b_rel = 0, b_amp = 0;
        switch (f) {
        case SOMA_ACTIVATION_LEAKY_RELU:
            b_rel = 1;
            break;
        case SOMA_ACTIVATION_ELU:
            b_rel = 5;
            break;
        case SOMA_ACTIVATION_SIGMOID:
            b_rel = 8, b_amp = 4;
            break;
        case SOMA_ACTIVATION_TANH:
            b_rel = 4, b_amp = 8;
            break;
        case SOMA_ACTIVATION_SWISH:
            b_rel = 4, b_amp = 8;
            break;
        default:
            break;
        }
        ck_assert_int_eq(soma_activation_forward(f, alpha, n, x, a, NULL), SOMA_OK);
        ck_assert_int_eq(soma_activation_backward(f, alpha, n, x, a, da, dz, NULL),
                         SOMA_OK);
        double worst = 0.0, at = 0.0;
        size_t checked = 0;
        for (size_t i = 0; i < n; i++) {
            const long double z = x[i], d = ref_derivative(f, alpha, z), ref = da[i] * d;
            long double amp = 0;
            if (f == SOMA_ACTIVATION_SIGMOID)
                amp = ref_sigmoid(z) * ref_sigmoid(z);
            else if (f == SOMA_ACTIVATION_TANH)
                amp = tanhl(z) * tanhl(z);
            else if (f == SOMA_ACTIVATION_SWISH)
                amp = ref_sigmoid(z) + fabsl(z * ref_sigmoid(z));
            amp *= fabs(da[i]);
            if (fabsl(ref) < 1e-300L && amp < 1e-300L) {
                if (fabs(dz[i]) >= 1e-290)
                    ck_abort_msg("%s'(%a) = %a, want ~0", soma_activation_name(f), x[i],
                                 dz[i]);
                continue;
            }
            checked++;
            const long double err = fabsl(dz[i] - ref);
            const long double bound = b_rel * u * fabsl(ref) + b_amp * u * amp;
            /* The error in units of the bound's scale, for the report. */
            const double e = (double)(err / (u * (fabsl(ref) + amp)));
            if (e > worst) {
                worst = e;
                at = x[i];
            }
            if (err > bound)
                ck_abort_msg("%s'(%.17g) * %g = %.17g, closed form %.17Lg: error %.3g u, "
                             "bound %.3Lg u (of |f'| + amplification)",
                             soma_activation_name(f), x[i], da[i], dz[i], ref, e,
                             bound / (u * (fabsl(ref) + amp)));
        }
        printf("derivative %-10s max error %.2f u of (|f'| + amplification) at z = %.17g "
               "over %zu points\n",
               soma_activation_name(f), worst, at, checked);
        ck_assert_uint_gt(checked, n / 3);
    }
    free(dz);
    free(da);
    free(a);
    free(x);
}
END_TEST

/* Softmax rows (x, x/2 + 1, -x/4, 0) over the sweep x[0..n) with upstream
 * gradients da, run forward and backward through the matrix API: z, a, da
 * and dz are n x SOFTMAX_K, packed, owned (softmax_rows_free). */
enum { SOFTMAX_K = 4 };

typedef struct softmax_rows {
    double *z, *a, *da, *dz;
} softmax_rows;

static softmax_rows softmax_rows_run(const double *x, size_t n)
{
    const size_t k = SOFTMAX_K;
    softmax_rows r = {malloc(n * k * sizeof(double)), malloc(n * k * sizeof(double)),
                      malloc(n * k * sizeof(double)), malloc(n * k * sizeof(double))};
    ck_assert(r.z && r.a && r.da && r.dz);
    for (size_t i = 0; i < n; i++) {
        r.z[i * k] = x[i];
        r.z[i * k + 1] = x[i] / 2 + 1;
        r.z[i * k + 2] = -x[i] / 4;
        r.z[i * k + 3] = 0.0;
        for (size_t j = 0; j < k; j++)
            r.da[i * k + j] = (double)((i + 3 * j) % 11) / 4 - 1.2;
    }
    soma_matrix Z, A, dA, dZ;
    ck_assert_int_eq(soma_matrix_view(&Z, r.z, n, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&A, r.a, n, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&dA, r.da, n, k, k), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&dZ, r.dz, n, k, k), SOMA_OK);
    const soma_activation S = SOMA_ACTIVATION_SOFTMAX;
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0.0, &Z, &A, NULL), SOMA_OK);
    ck_assert_int_eq(soma_activation_backward_matrix(S, 0.0, &Z, &A, &dA, &dZ, NULL),
                     SOMA_OK);
    return r;
}

static void softmax_rows_free(softmax_rows *r)
{
    free(r->dz);
    free(r->da);
    free(r->a);
    free(r->z);
}

/*
 * Softmax's Jacobian-vector product dz_i = a_i (da_i - sum_j a_j da_j)
 * against the long double softmax p of the same rows as softmax_accuracy
 * ((x, x/2 + 1, -x/4, 0) over the sweep). With a_j = p_j (1 + d_j),
 * |d_j| <= 4.3 u (measured above), the dot product of 4 terms within 4 u of
 * sum_j a_j |da_j| and three more roundings:
 *   |dz_i - ref_i| <= 16 u p_i (|da_i| + sum_j p_j |da_j|),
 * which near a zero of da_i - dot is the only meaningful scale.
 */
START_TEST(softmax_derivative_against_closed_form)
{
    size_t n;
    double *x = make_sweep(&n);
    const size_t k = SOFTMAX_K;
    softmax_rows r = softmax_rows_run(x, n);
    const double *z = r.z, *da = r.da, *dz = r.dz;
    const long double u = DBL_EPSILON / 2;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        const double *zr = z + i * k, *dr = da + i * k;
        long double m = zr[0], s = 0, p[4], dot = 0, wsum = 0;
        for (size_t j = 1; j < k; j++)
            m = zr[j] > m ? zr[j] : m;
        for (size_t j = 0; j < k; j++)
            s += p[j] = expl(zr[j] - m);
        for (size_t j = 0; j < k; j++) {
            p[j] /= s;
            dot += p[j] * dr[j];
            wsum += p[j] * fabsl(dr[j]);
        }
        for (size_t j = 0; j < k; j++) {
            const long double ref = p[j] * (dr[j] - dot);
            const long double scale = p[j] * (fabsl(dr[j]) + wsum);
            const long double err = fabsl(dz[i * k + j] - ref);
            if (scale < 1e-300L) {
                if (fabs(dz[i * k + j]) >= 1e-290)
                    ck_abort_msg("row %zu: dz %zu = %a, want ~0", i, j, dz[i * k + j]);
                continue;
            }
            const double e = (double)(err / (u * scale));
            worst = e > worst ? e : worst;
            if (err > 16 * u * scale)
                ck_abort_msg("row %zu (x = %.17g): dz %zu = %.17g, closed form %.17Lg "
                             "(error %.3Lg u of the scale)",
                             i, x[i], j, dz[i * k + j], ref, err / (u * scale));
        }
    }
    printf("derivative softmax    max error %.2f u of p_i (|da_i| + sum p_j |da_j|)\n",
           worst);
    softmax_rows_free(&r);
    free(x);
}
END_TEST

/*
 * The backward formulas given the forward output: the references above
 * start from the exact f(z), so their bounds must allow for the rounding
 * already in a = f(z) (the "amplification" terms), which for swish and
 * softmax leaves room for a formula wrong in its last bits (a factor
 * 1 + 4 u passes them). Here the reference starts from the library's own a,
 * so only the backward pass's own roundings remain:
 * - swish: s = a / z, f' = s + a (1 - s), dz = da f': five roundings,
 *   |dz - ref| <= u |da| (|s (1 - a)| + 2 |a (1 - s)| + 2 |f'|) to first
 *   order (the division's error passes through 1 - a, the subtraction's and
 *   the product's through a (1 - s), the sum's and da's through f').
 * - softmax: dot = sum_j a_j da_j over k = 4 terms (within k u sum_j
 *   |a_j da_j|), then a_i (da_i - dot): |dz_i - ref_i| <= u a_i (k W +
 *   2 |da_i - dot|), W = sum_j |a_j da_j|.
 * Both with a factor 1.01 for second-order terms and the long double
 * reference's own rounding. |z| < 1e-290 is left out for swish (the library
 * takes s = 1/2 there, a / z loses bits to subnormal rounding), as are
 * results below 1e-290.
 */
START_TEST(derivatives_given_forward_output)
{
    size_t n;
    double *x = make_sweep(&n);
    double *a = malloc(n * sizeof *a), *da = malloc(n * sizeof *da),
           *dz = malloc(n * sizeof *dz);
    ck_assert(a && da && dz);
    for (size_t i = 0; i < n; i++)
        da[i] =
            i % 2 == 0 ? 1.0 : (i % 4 == 1 ? -1.0 : 1.0) * (0.3 + (double)(i % 97) / 16);
    const long double u = DBL_EPSILON / 2;
    const soma_activation W = SOMA_ACTIVATION_SWISH;
    ck_assert_int_eq(soma_activation_forward(W, 0.0, n, x, a, NULL), SOMA_OK);
    ck_assert_int_eq(soma_activation_backward(W, 0.0, n, x, a, da, dz, NULL), SOMA_OK);
    double worst = 0;
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(x[i]) < 1e-290)
            continue;
        const long double s = (long double)a[i] / x[i], d = s + a[i] * (1 - s),
                          ref = da[i] * d;
        const long double scale =
            fabs(da[i]) *
            (fabsl(s * (1 - a[i])) + 2 * fabsl(a[i] * (1 - s)) + 2 * fabsl(d));
        if (scale < 1e-290L)
            continue;
        checked++;
        const long double err = fabsl(dz[i] - ref);
        worst = (double)(err / (u * scale)) > worst ? (double)(err / (u * scale)) : worst;
        if (err > 1.01L * u * scale)
            ck_abort_msg("swish'(%.17g) * %g from a = %.17g: %.17g, want %.17Lg (error "
                         "%.3Lg of the bound)",
                         x[i], da[i], a[i], dz[i], ref, err / (u * scale));
    }
    printf("derivative swish from its a: max error %.2f of the bound over %zu points\n",
           worst, checked);
    ck_assert_uint_gt(checked, n / 2);

    /* Softmax: the rows of softmax_derivative_against_closed_form. */
    const size_t k = SOFTMAX_K;
    softmax_rows r = softmax_rows_run(x, n);
    const double *a4 = r.a, *da4 = r.da, *dz4 = r.dz;
    worst = 0;
    checked = 0;
    for (size_t i = 0; i < n; i++) {
        const double *ar = a4 + i * k, *dr = da4 + i * k;
        long double dot = 0, wsum = 0;
        for (size_t j = 0; j < k; j++) {
            dot += (long double)ar[j] * dr[j];
            wsum += fabsl((long double)ar[j] * dr[j]);
        }
        for (size_t j = 0; j < k; j++) {
            const long double ref = ar[j] * (dr[j] - dot);
            const long double scale = ar[j] * (k * wsum + 2 * fabsl(dr[j] - dot));
            if (scale < 1e-290L)
                continue;
            checked++;
            const long double err = fabsl(dz4[i * k + j] - ref);
            const double e = (double)(err / (u * scale));
            worst = e > worst ? e : worst;
            if (err > 1.01L * u * scale)
                ck_abort_msg(
                    "softmax row %zu (x = %.17g) from its a: dz %zu = %.17g, want "
                    "%.17Lg (error %.3g of the bound)",
                    i, x[i], j, dz4[i * k + j], ref, e);
        }
    }
    printf(
        "derivative softmax from its a: max error %.2f of the bound over %zu entries\n",
        worst, checked);
    ck_assert_uint_gt(checked, n);
    softmax_rows_free(&r);
    free(dz);
    free(da);
    free(a);
    free(x);
}
END_TEST

/* ---- special values ------------------------------------------------------- */

static double fwd1(soma_activation f, double alpha, double x)
{
    double y = -12345.0;
    ck_assert_int_eq(soma_activation_forward(f, alpha, 1, &x, &y, NULL), SOMA_OK);
    return y;
}

START_TEST(special_values)
{
    const double inf = INFINITY;
    const soma_activation S = SOMA_ACTIVATION_SIGMOID, T = SOMA_ACTIVATION_TANH,
                          R = SOMA_ACTIVATION_RELU, L = SOMA_ACTIVATION_LEAKY_RELU,
                          E = SOMA_ACTIVATION_ELU, W = SOMA_ACTIVATION_SWISH,
                          I = SOMA_ACTIVATION_IDENTITY;
    /* NaN in gives NaN out, for every elementwise activation. */
    for (size_t k = 0; k < N_ELEMENTWISE; k++)
        ck_assert_msg(isnan(fwd1(elementwise[k], 0.5, NAN)), "%s(NaN)",
                      soma_activation_name(elementwise[k]));
    ck_assert_double_eq(fwd1(I, 0, -inf), -inf);
    ck_assert_double_eq(fwd1(S, 0, inf), 1.0);
    ck_assert_double_eq(fwd1(S, 0, -inf), 0.0);
    ck_assert_double_eq(fwd1(S, 0, 0.0), 0.5);
    ck_assert_double_eq(fwd1(S, 0, -0.0), 0.5);
    ck_assert_double_eq(fwd1(S, 0, 1e-300), 0.5);
    ck_assert_double_eq(fwd1(S, 0, 800.0), 1.0);
    ck_assert_double_eq(fwd1(S, 0, -800.0), 0.0);
    ck_assert_double_eq(fwd1(T, 0, inf), 1.0);
    ck_assert_double_eq(fwd1(T, 0, -inf), -1.0);
    ck_assert_double_eq(fwd1(T, 0, 0.0), 0.0);
    ck_assert(signbit(fwd1(T, 0, -0.0)));
    ck_assert_double_eq(fwd1(T, 0, 1e-300), 1e-300);
    ck_assert_double_eq(fwd1(T, 0, -1e-300), -1e-300);
    ck_assert_double_eq(fwd1(T, 0, 0x1p-1074), 0x1p-1074);
    ck_assert_double_eq(fwd1(R, 0, inf), inf);
    ck_assert_double_eq(fwd1(R, 0, -inf), 0.0);
    ck_assert(!signbit(fwd1(R, 0, -0.0)));
    ck_assert_double_eq(fwd1(R, 0, -1e-300), 0.0);
    ck_assert_double_eq(fwd1(R, 0, 1e-300), 1e-300);
    ck_assert_double_eq(fwd1(L, 0.01, -inf), -inf);
    ck_assert_double_eq(fwd1(L, 0.01, inf), inf);
    ck_assert_double_eq(fwd1(L, 0.0, -inf), 0.0); /* alpha = 0: relu's limit */
    ck_assert_double_eq(fwd1(L, -0.5, -inf), inf);
    ck_assert_double_eq(fwd1(L, 0.25, -8.0), -2.0);
    ck_assert_double_eq(fwd1(E, 1.0, -inf), -1.0);
    ck_assert_double_eq(fwd1(E, 0.5, -inf), -0.5);
    ck_assert_double_eq(fwd1(E, 1.0, inf), inf);
    ck_assert_double_eq(fwd1(E, 1.0, -1e-300), -1e-300);
    ck_assert_double_eq(fwd1(E, 1.0, 0.0), 0.0);
    ck_assert_double_eq(fwd1(W, 0, inf), inf);
    ck_assert_double_eq(fwd1(W, 0, -inf), 0.0);
    ck_assert_double_eq(fwd1(W, 0, 1e-300), 0.5e-300);
    ck_assert_double_eq(fwd1(W, 0, -800.0), 0.0);
    ck_assert_double_eq(fwd1(W, 0, 800.0), 800.0);
}
END_TEST

START_TEST(softmax_special_rows)
{
    const soma_activation F = SOMA_ACTIVATION_SOFTMAX;
    double a[4];
    const double with_nan[4] = {1.0, NAN, 2.0, -3.0};
    ck_assert_int_eq(soma_activation_forward(F, 0, 4, with_nan, a, NULL), SOMA_OK);
    for (int j = 0; j < 4; j++)
        ck_assert(isnan(a[j]));
    const double one_inf[4] = {1.0, INFINITY, 2.0, -INFINITY};
    ck_assert_int_eq(soma_activation_forward(F, 0, 4, one_inf, a, NULL), SOMA_OK);
    ck_assert_double_eq(a[0], 0.0);
    ck_assert_double_eq(a[1], 1.0);
    ck_assert_double_eq(a[2], 0.0);
    ck_assert_double_eq(a[3], 0.0);
    const double two_inf[4] = {INFINITY, 0.0, INFINITY, 1.0};
    ck_assert_int_eq(soma_activation_forward(F, 0, 4, two_inf, a, NULL), SOMA_OK);
    for (int j = 0; j < 4; j++)
        ck_assert(isnan(a[j]));
    const double inf_nan[2] = {INFINITY, NAN};
    ck_assert_int_eq(soma_activation_forward(F, 0, 2, inf_nan, a, NULL), SOMA_OK);
    ck_assert(isnan(a[0]) && isnan(a[1]));
    const double neg_inf[3] = {-INFINITY, 0.0, 0.0};
    ck_assert_int_eq(soma_activation_forward(F, 0, 3, neg_inf, a, NULL), SOMA_OK);
    ck_assert_double_eq(a[0], 0.0);
    ck_assert_double_eq(a[1], 0.5);
    ck_assert_double_eq(a[2], 0.5);
    /* Huge finite logits: no overflow, the largest wins. */
    const double huge[3] = {1e308, -1e308, 1e308 * 0.5};
    ck_assert_int_eq(soma_activation_forward(F, 0, 3, huge, a, NULL), SOMA_OK);
    ck_assert_double_eq(a[0], 1.0);
    ck_assert_double_eq(a[1], 0.0);
    ck_assert_double_eq(a[2], 0.0);
    const double single = -700.0;
    ck_assert_int_eq(soma_activation_forward(F, 0, 1, &single, a, NULL), SOMA_OK);
    ck_assert_double_eq(a[0], 1.0);
}
END_TEST

/* ---- gradients -------------------------------------------------------------- */

/*
 * Central difference of the long double reference: the truncation error is
 * h^2 |f'''| / 6 and the rounding error about eps_L |f| / h with eps_L =
 * 2^-64 = 5.4e-20. With h = 1e-5 the first is <= 1.7e-11 |f'''| and the
 * second <= 5.4e-15 |f|; on the ranges tested |f'| >= 3e-7 |f| (sigmoid at
 * 15, tanh at 8, elu at -15 are the worst cases) and |f'''| <= 4 |f'| (or
 * |f'''| <= 1 near the zero of swish'), so both stay below 1e-7 |f'| with
 * room to spare.
 */
#define FD_STEP 1e-5L

static long double fd(soma_activation f, double alpha, double z)
{
    return (ref_f(f, alpha, z + FD_STEP) - ref_f(f, alpha, z - FD_STEP)) / (2 * FD_STEP);
}

START_TEST(gradients_against_finite_differences)
{
    enum { NPTS = 4001 };
    double z[NPTS], a[NPTS], da[NPTS], dz[NPTS];
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 5), SOMA_OK);
    ck_assert_int_eq(soma_rng_uniform_range(&r, NPTS, 0.5, 2.0, da), SOMA_OK);
    for (size_t i = 1; i < NPTS; i += 2)
        da[i] = -da[i];
    for (size_t k = 0; k < N_ELEMENTWISE; k++) {
        const soma_activation f = elementwise[k];
        const double alpha = f == SOMA_ACTIVATION_ELU ? 0.7 : 0.05;
        /* Sigmoid and tanh keep |f'| >= 3e-7 on these ranges (see FD_STEP). */
        const double range = f == SOMA_ACTIVATION_TANH ? 8.0 : 15.0;
        for (size_t i = 0; i < NPTS; i++) {
            z[i] = -range + 2 * range * (double)i / (NPTS - 1) + 1.234e-4;
            if (fabs(z[i]) < 1e-3) /* away from the kink of relu and friends */
                z[i] = 1e-3;
        }
        ck_assert_int_eq(soma_activation_forward(f, alpha, NPTS, z, a, NULL), SOMA_OK);
        ck_assert_int_eq(soma_activation_backward(f, alpha, NPTS, z, a, da, dz, NULL),
                         SOMA_OK);
        double worst = 0.0;
        size_t checked = 0;
        for (size_t i = 0; i < NPTS; i++) {
            const long double g = fd(f, alpha, z[i]);
            /* Where f' is (near) zero (relu and leaky relu with small alpha
             * left of 0, swish' near z = -1.2785) a relative error means
             * nothing: there the error must be below 1e-7 of the 1e-4 cut. */
            if (fabsl(g) < 1e-4L) {
                ck_assert_msg(fabsl(dz[i] - da[i] * g) <= 1e-11L * fabs(da[i]),
                              "%s'(%g): %g vs %Lg", soma_activation_name(f), z[i], dz[i],
                              da[i] * g);
                continue;
            }
            checked++;
            double e = rel_err(dz[i], da[i] * g);
            worst = e > worst ? e : worst;
        }
        ck_assert_uint_gt(checked, NPTS / 3);
        printf("gradient %-10s max relative error vs finite differences %.3g\n",
               soma_activation_name(f), worst);
        ck_assert_msg(worst <= 1e-7, "%s: gradient error %g", soma_activation_name(f),
                      worst);
    }
}
END_TEST

/* The backward pass of sigmoid and tanh uses a = f(z), which is rounded: the
 * derivative is then exact to ~2 ulp absolute (of f' max), not relative, in
 * the far tails. This pins down that documented bound against the exact
 * derivative. */
START_TEST(backward_from_output_error_bound)
{
    enum { NPTS = 2001 };
    double z[NPTS], a[NPTS], one[NPTS], dz[NPTS];
    for (size_t i = 0; i < NPTS; i++) {
        z[i] = -40.0 + 80.0 * (double)i / (NPTS - 1);
        one[i] = 1.0;
    }
    const soma_activation fs[2] = {SOMA_ACTIVATION_SIGMOID, SOMA_ACTIVATION_TANH};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(soma_activation_forward(fs[k], 0, NPTS, z, a, NULL), SOMA_OK);
        ck_assert_int_eq(soma_activation_backward(fs[k], 0, NPTS, z, a, one, dz, NULL),
                         SOMA_OK);
        for (size_t i = 0; i < NPTS; i++) {
            long double s = ref_sigmoid(z[i]), t = tanhl(z[i]);
            long double exact = k == 0 ? s * (1 - s) : 1 - t * t;
            ck_assert_msg(fabsl(dz[i] - exact) <= 4 * DBL_EPSILON,
                          "%s'(%g) = %g, exact %Lg", soma_activation_name(fs[k]), z[i],
                          dz[i], exact);
        }
    }
}
END_TEST

/* Softmax JVP against finite differences of L(z) = sum_j da_j softmax(z)_j
 * (long double reference), as a vector: ||dz - fd||_inf <= 1e-7 ||fd||_inf. */
START_TEST(softmax_backward_against_finite_differences)
{
    enum { K = 6 };
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 11), SOMA_OK);
    for (int trial = 0; trial < 200; trial++) {
        double z[K], a[K], da[K], dz[K];
        ck_assert_int_eq(soma_rng_uniform_range(&r, K, -6.0, 6.0, z), SOMA_OK);
        ck_assert_int_eq(soma_rng_uniform_range(&r, K, -1.0, 1.0, da), SOMA_OK);
        ck_assert_int_eq(
            soma_activation_forward(SOMA_ACTIVATION_SOFTMAX, 0, K, z, a, NULL), SOMA_OK);
        ck_assert_int_eq(
            soma_activation_backward(SOMA_ACTIVATION_SOFTMAX, 0, K, z, a, da, dz, NULL),
            SOMA_OK);
        long double fdv[K], norm = 0, err = 0;
        for (int i = 0; i < K; i++) {
            long double L[2];
            for (int s = 0; s < 2; s++) {
                long double zz[K], m = -INFINITY, sum = 0, dot = 0;
                for (int j = 0; j < K; j++) {
                    zz[j] = z[j] + (j == i ? (s ? FD_STEP : -FD_STEP) : 0);
                    m = zz[j] > m ? zz[j] : m;
                }
                for (int j = 0; j < K; j++)
                    sum += expl(zz[j] - m);
                for (int j = 0; j < K; j++)
                    dot += da[j] * expl(zz[j] - m) / sum;
                L[s] = dot;
            }
            fdv[i] = (L[1] - L[0]) / (2 * FD_STEP);
            norm = fabsl(fdv[i]) > norm ? fabsl(fdv[i]) : norm;
        }
        for (int i = 0; i < K; i++)
            err = fabsl(dz[i] - fdv[i]) > err ? fabsl(dz[i] - fdv[i]) : err;
        ck_assert_msg(err <= 1e-7L * norm, "trial %d: error %Lg, norm %Lg", trial, err,
                      norm);
        /* In place: dz written over da gives the same bits. */
        double dd[K];
        memcpy(dd, da, sizeof dd);
        ck_assert_int_eq(
            soma_activation_backward(SOMA_ACTIVATION_SOFTMAX, 0, K, z, a, dd, dd, NULL),
            SOMA_OK);
        ck_assert_mem_eq(dd, dz, sizeof dd);
    }
}
END_TEST

START_TEST(backward_special_values)
{
    /* f'(NaN) is NaN; limits at the infinities. */
    for (size_t k = 0; k < N_ELEMENTWISE; k++) {
        const soma_activation f = elementwise[k];
        double z = NAN, a, da = 1.0, dz = 0.0;
        ck_assert_int_eq(soma_activation_forward(f, 0.5, 1, &z, &a, NULL), SOMA_OK);
        ck_assert_int_eq(soma_activation_backward(f, 0.5, 1, &z, &a, &da, &dz, NULL),
                         SOMA_OK);
        ck_assert_msg(isnan(dz), "%s'(NaN)", soma_activation_name(f));
    }
    const double zs[2] = {INFINITY, -INFINITY};
    const double want[N_ELEMENTWISE][2] = {
        {1, 1}, {0, 0}, {0, 0}, {1, 0}, {1, 0.5}, {1, 0}, {1, 0},
    };
    for (size_t k = 0; k < N_ELEMENTWISE; k++) {
        double a[2], da[2] = {1.0, 1.0}, dz[2];
        ck_assert_int_eq(soma_activation_forward(elementwise[k], 0.5, 2, zs, a, NULL),
                         SOMA_OK);
        ck_assert_int_eq(
            soma_activation_backward(elementwise[k], 0.5, 2, zs, a, da, dz, NULL),
            SOMA_OK);
        ck_assert_msg(dz[0] == want[k][0] && dz[1] == want[k][1], "%s'(+-inf) = %g, %g",
                      soma_activation_name(elementwise[k]), dz[0], dz[1]);
    }
    /* Values at the kinks as documented: relu'(0) = 0, leaky'(0) = alpha,
     * elu'(0) = alpha; swish'(0) = 1/2, including for subnormal z. */
    double z0[2] = {0.0, 0x1p-1070}, a0[2], one[2] = {1.0, 1.0}, d0[2];
    const soma_activation kinks[4] = {SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_LEAKY_RELU,
                                      SOMA_ACTIVATION_ELU, SOMA_ACTIVATION_SWISH};
    const double at0[4] = {0.0, 0.3, 0.3, 0.5};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(soma_activation_forward(kinks[k], 0.3, 2, z0, a0, NULL),
                         SOMA_OK);
        ck_assert_int_eq(
            soma_activation_backward(kinks[k], 0.3, 2, z0, a0, one, d0, NULL), SOMA_OK);
        ck_assert_double_eq(d0[0], at0[k]);
    }
    ck_assert_double_eq(d0[1], 0.5); /* swish at a subnormal z */
}
END_TEST

/* ---- matrices, padding, in place ---------------------------------------------- */

#define PAD_SENTINEL -777.25

/* rows x cols view into storage with ld = cols + pad, padding = sentinel. */
static void padded(soma_matrix *storage, soma_matrix *view, size_t rows, size_t cols,
                   size_t pad, uint64_t seed, double scale)
{
    ck_assert_int_eq(soma_matrix_init(storage, rows, cols + pad, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(storage, PAD_SENTINEL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(view, storage->data, rows, cols, cols + pad),
                     SOMA_OK);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, seed), SOMA_OK);
    for (size_t i = 0; i < rows; i++)
        ck_assert_int_eq(
            soma_rng_uniform_range(&r, cols, -scale, scale, soma_matrix_at(view, i, 0)),
            SOMA_OK);
}

static void assert_padding(const soma_matrix *storage, size_t cols)
{
    for (size_t i = 0; i < storage->rows; i++)
        for (size_t j = cols; j < storage->cols; j++)
            ck_assert_double_eq(*soma_matrix_at(storage, i, j), PAD_SENTINEL);
}

START_TEST(matrix_forms_match_arrays_and_keep_padding)
{
    const soma_activation f = (soma_activation)_i;
    const size_t rows = 7, cols = 13, pad = 3;
    const double alpha = 0.2;
    soma_matrix Zs, Z, As, A, dAs, dA, dZs, dZ;
    padded(&Zs, &Z, rows, cols, pad, 1, 5.0);
    padded(&As, &A, rows, cols, pad, 2, 1.0);
    padded(&dAs, &dA, rows, cols, pad, 3, 1.0);
    padded(&dZs, &dZ, rows, cols, pad, 4, 1.0);
    ck_assert_int_eq(soma_activation_forward_matrix(f, alpha, &Z, &A, NULL), SOMA_OK);
    ck_assert_int_eq(soma_activation_backward_matrix(f, alpha, &Z, &A, &dA, &dZ, NULL),
                     SOMA_OK);
    assert_padding(&As, cols);
    assert_padding(&dZs, cols);
    for (size_t i = 0; i < rows; i++) {
        double a[13], dz[13];
        const double *z = soma_matrix_at(&Z, i, 0);
        ck_assert_int_eq(soma_activation_forward(f, alpha, cols, z, a, NULL), SOMA_OK);
        ck_assert_mem_eq(a, soma_matrix_at(&A, i, 0), sizeof a);
        ck_assert_int_eq(soma_activation_backward(f, alpha, cols, z, a,
                                                  soma_matrix_at(&dA, i, 0), dz, NULL),
                         SOMA_OK);
        ck_assert_mem_eq(dz, soma_matrix_at(&dZ, i, 0), sizeof dz);
    }
    /* In place, padded: A = f(A) and dZ computed over dA give the same bits. */
    soma_matrix Cs, C;
    padded(&Cs, &C, rows, cols, pad, 1, 5.0); /* same values as Z */
    ck_assert_int_eq(soma_activation_forward_matrix(f, alpha, &C, &C, NULL), SOMA_OK);
    for (size_t i = 0; i < rows; i++)
        ck_assert_mem_eq(soma_matrix_at(&C, i, 0), soma_matrix_at(&A, i, 0),
                         cols * sizeof(double));
    ck_assert_int_eq(soma_activation_backward_matrix(f, alpha, &Z, &A, &dA, &dA, NULL),
                     SOMA_OK);
    for (size_t i = 0; i < rows; i++)
        ck_assert_mem_eq(soma_matrix_at(&dA, i, 0), soma_matrix_at(&dZ, i, 0),
                         cols * sizeof(double));
    assert_padding(&Cs, cols);
    assert_padding(&dAs, cols);
    soma_matrix_free(&Cs);
    soma_matrix_free(&dZs);
    soma_matrix_free(&dAs);
    soma_matrix_free(&As);
    soma_matrix_free(&Zs);
}
END_TEST

START_TEST(contiguous_in_place_arrays)
{
    /* Long arrays (vector loops with tails), in place and out of place. */
    const size_t n = 1027;
    double *z = malloc(n * sizeof *z), *a = malloc(n * sizeof *a),
           *b = malloc(n * sizeof *b);
    ck_assert(z && a && b);
    for (size_t k = 0; k < N_ELEMENTWISE; k++) {
        soma_rng r;
        ck_assert_int_eq(soma_rng_seed(&r, 9), SOMA_OK);
        ck_assert_int_eq(soma_rng_uniform_range(&r, n, -10.0, 10.0, z), SOMA_OK);
        memcpy(b, z, n * sizeof *z);
        ck_assert_int_eq(soma_activation_forward(elementwise[k], 0.1, n, z, a, NULL),
                         SOMA_OK);
        ck_assert_int_eq(soma_activation_forward(elementwise[k], 0.1, n, b, b, NULL),
                         SOMA_OK);
        ck_assert_mem_eq(a, b, n * sizeof *a);
        for (size_t i = 0; i < n; i++) /* and the values are the function's */
            ck_assert(rel_err(a[i], ref_f(elementwise[k], 0.1, z[i])) <= 1e-14 ||
                      fabs(a[i]) < 1e-300);
    }
    free(b);
    free(a);
    free(z);
}
END_TEST

/* ---- names ---------------------------------------------------------------- */

START_TEST(names_round_trip)
{
    const char *want[SOMA_ACTIVATION_COUNT] = {
        "identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "swish", "softmax"};
    for (int f = 0; f < SOMA_ACTIVATION_COUNT; f++) {
        ck_assert_str_eq(soma_activation_name((soma_activation)f), want[f]);
        soma_activation out = SOMA_ACTIVATION_COUNT;
        ck_assert_int_eq(soma_activation_from_name(want[f], &out, NULL), SOMA_OK);
        ck_assert_int_eq(out, f);
    }
    soma_activation out = SOMA_ACTIVATION_IDENTITY;
    ck_assert_int_eq(soma_activation_from_name("Leaky-ReLU", &out, NULL), SOMA_OK);
    ck_assert_int_eq(out, SOMA_ACTIVATION_LEAKY_RELU);
    ck_assert_int_eq(soma_activation_from_name("LEAKYRELU", &out, NULL), SOMA_OK);
    ck_assert_int_eq(out, SOMA_ACTIVATION_LEAKY_RELU);
    ck_assert_int_eq(soma_activation_from_name("TanH", &out, NULL), SOMA_OK);
    ck_assert_int_eq(out, SOMA_ACTIVATION_TANH);
    out = SOMA_ACTIVATION_SWISH;
    ck_assert_int_eq(soma_activation_from_name("gelu", &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_from_name("relu ", &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_from_name("", &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(out, SOMA_ACTIVATION_SWISH);
    ck_assert_int_eq(soma_activation_from_name(NULL, &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_from_name("relu", NULL, NULL), SOMA_EINVAL);
    ck_assert_ptr_null(soma_activation_name(SOMA_ACTIVATION_COUNT));
    ck_assert_ptr_null(soma_activation_name((soma_activation)-1));
    ck_assert_double_eq(soma_activation_default_alpha(SOMA_ACTIVATION_LEAKY_RELU), 0.01);
    ck_assert_double_eq(soma_activation_default_alpha(SOMA_ACTIVATION_ELU), 1.0);
    ck_assert_double_eq(soma_activation_default_alpha(SOMA_ACTIVATION_RELU), 0.0);
}
END_TEST

/* ---- bad arguments: a status, and nothing written ------------------------------ */

START_TEST(bad_arguments)
{
    double z[8] = {1, 2, 3, 4, 5, 6, 7, 8}, a[8], da[8], dz[8];
    for (int i = 0; i < 8; i++)
        a[i] = da[i] = dz[i] = 42.0;
    const soma_activation S = SOMA_ACTIVATION_SIGMOID;
    ck_assert_int_eq(soma_activation_forward(SOMA_ACTIVATION_COUNT, 0, 8, z, a, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_forward((soma_activation)-3, 0, 8, z, a, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_forward(S, 0, 8, NULL, a, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_forward(S, 0, 8, z, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_forward(S, 0, 0, NULL, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(
        soma_activation_forward(SOMA_ACTIVATION_LEAKY_RELU, NAN, 8, z, a, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(
        soma_activation_forward(SOMA_ACTIVATION_ELU, INFINITY, 8, z, a, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(
        soma_activation_forward(SOMA_ACTIVATION_ELU, -INFINITY, 8, z, a, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_forward(S, 0, 8, z, z + 1, NULL), SOMA_EALIAS);
    ck_assert_int_eq(soma_activation_forward(S, 0, 4, z + 2, z, NULL), SOMA_EALIAS);
    ck_assert_int_eq(soma_activation_forward(S, 0, SIZE_MAX / 4, z, a, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward(S, 0, 8, NULL, a, da, dz, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward(S, 0, 8, z, NULL, da, dz, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward(S, 0, 8, z, a, NULL, dz, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward(S, 0, 8, z, a, da, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(
        soma_activation_backward(SOMA_ACTIVATION_COUNT, 0, 8, z, a, da, dz, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(
        soma_activation_backward(SOMA_ACTIVATION_ELU, NAN, 8, z, a, da, dz, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward(S, 0, 4, z, a, da, da + 1, NULL),
                     SOMA_EALIAS);
    ck_assert_int_eq(soma_activation_backward(S, 0, 4, z + 1, a, da, z, NULL),
                     SOMA_EALIAS);
    ck_assert_int_eq(soma_activation_backward(S, 0, 4, z, a + 2, da, a, NULL),
                     SOMA_EALIAS);
    for (int i = 0; i < 8; i++) {
        ck_assert_double_eq(z[i], i + 1);
        ck_assert_double_eq(a[i], 42.0);
        ck_assert_double_eq(da[i], 42.0);
        ck_assert_double_eq(dz[i], 42.0);
    }

    soma_matrix Z, A, B, bad, dA, dZ;
    ck_assert_int_eq(soma_matrix_view(&Z, z, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&A, a, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&B, a, 4, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&dA, da, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&dZ, dz, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0, &Z, &B, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0, NULL, &A, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0, &Z, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(
        soma_activation_forward_matrix(SOMA_ACTIVATION_COUNT, 0, &Z, &A, NULL),
        SOMA_EINVAL);
    bad = A;
    bad.ld = 3;
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0, &Z, &bad, NULL), SOMA_EINVAL);
    bad = A;
    bad.data = NULL;
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0, &Z, &bad, NULL), SOMA_EINVAL);
    /* Same storage, other ld: a partial overlap. */
    bad = Z;
    bad.rows = 1;
    soma_matrix Z1 = Z;
    Z1.rows = 1;
    Z1.cols = 2;
    bad.cols = 2;
    bad.data = z + 1;
    ck_assert_int_eq(soma_activation_forward_matrix(S, 0, &Z1, &bad, NULL), SOMA_EALIAS);
    ck_assert_int_eq(soma_activation_backward_matrix(S, 0, &Z, &A, &dA, &B, NULL),
                     SOMA_EDIM);
    ck_assert_int_eq(soma_activation_backward_matrix(S, 0, &Z, NULL, &dA, &dZ, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward_matrix(S, 0, &Z, &A, NULL, &dZ, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_activation_backward_matrix(S, 0, &Z, &A, &dA, NULL, NULL),
                     SOMA_EINVAL);
    soma_matrix dZ_shift;
    ck_assert_int_eq(soma_matrix_view(&dZ_shift, da + 1, 1, 4, 4), SOMA_OK);
    soma_matrix dA1;
    ck_assert_int_eq(soma_matrix_view(&dA1, da, 1, 4, 4), SOMA_OK);
    soma_matrix Z1b, A1b;
    ck_assert_int_eq(soma_matrix_view(&Z1b, z, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&A1b, a, 1, 4, 4), SOMA_OK);
    ck_assert_int_eq(
        soma_activation_backward_matrix(S, 0, &Z1b, &A1b, &dA1, &dZ_shift, NULL),
        SOMA_EALIAS);
    for (int i = 0; i < 8; i++) {
        ck_assert_double_eq(z[i], i + 1);
        ck_assert_double_eq(a[i], 42.0);
        ck_assert_double_eq(da[i], 42.0);
        ck_assert_double_eq(dz[i], 42.0);
    }
    /* Empty matrices are a no-op. */
    soma_matrix E0, E1;
    ck_assert_int_eq(soma_matrix_view(&E0, NULL, 0, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&E1, NULL, 0, 4, 4), SOMA_OK);
    ck_assert_int_eq(
        soma_activation_forward_matrix(SOMA_ACTIVATION_SOFTMAX, 0, &E0, &E1, NULL),
        SOMA_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("activation");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, accuracy_sweep);
    tcase_add_test(tc, softmax_accuracy);
    tcase_add_test(tc, derivatives_against_closed_forms);
    tcase_add_test(tc, softmax_derivative_against_closed_form);
    tcase_add_test(tc, derivatives_given_forward_output);
    tcase_add_test(tc, special_values);
    tcase_add_test(tc, softmax_special_rows);
    tcase_add_test(tc, gradients_against_finite_differences);
    tcase_add_test(tc, backward_from_output_error_bound);
    tcase_add_test(tc, softmax_backward_against_finite_differences);
    tcase_add_test(tc, backward_special_values);
    tcase_add_loop_test(tc, matrix_forms_match_arrays_and_keep_padding, 0,
                        SOMA_ACTIVATION_COUNT);
    tcase_add_test(tc, contiguous_in_place_arrays);
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return test_run(s);
}
