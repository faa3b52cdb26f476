/* The float elementary functions of lib/vmath.h (the _f32 instantiation of
 * lib/vmath_t.h, used by float32 models) against the double results of the
 * C library, in units in the last place of float.
 *
 * The reference is libm's double function of the same (float) argument,
 * accurate to ~0.5 ulp of double, i.e. 2^-29 ulp of float: for this test it
 * is exact. The error of a float function is |got - ref| / ulp_f(ref), where
 * ulp_f(y) is the spacing of floats at |y| (2^-149 for subnormals), so that
 * correctly rounded results are within 0.5.
 *
 * The bounds asserted below are the maxima measured over a sweep 42 times
 * denser than the test's (every 97th bit pattern: exp 0.99, expm1 0.97, log
 * 1.90, log1p 2.41, sigmoid 2.28, tanh 2.49, log1p(e^-|x|) 3.09 ulp; the
 * test prints its own) rounded up with a margin of about 20%: they catch a wrong
 * constant, a missing series term or a broken reduction (which cost
 * hundreds of ulps or more), while the methods' own error (documented in
 * lib/vmath.h) stays below them. The header is private to lib/; it is
 * self-contained (static inline, standard headers only), so the test
 * includes it directly. */
#include "test_common.h"
#include "vmath.h"

/* Spacing of floats at |y|. */
static double ulp_f(double y)
{
    int e;
    (void)frexp(fabs(y), &e);
    const double u = ldexp(1.0, e - 24);
    return u < 0x1p-149 ? 0x1p-149 : u;
}

/* The float a double result rounds to: what a correctly rounded function
 * returns (+-inf beyond the float range). */
static float rounded(double y)
{
    return (float)y;
}

typedef struct fn {
    const char *name;
    float (*f)(float);
    double (*ref)(double);
    double lo, hi; /* domain swept */
    double bound;  /* ulp */
} fn;

/* The functions under test, each as a float -> float function. */
#define UNDER_TEST(name)                                                                 \
    static float name##32(float x)                                                       \
    {                                                                                    \
        return vm_##name##_f32(x);                                                       \
    }
UNDER_TEST(exp)
UNDER_TEST(expm1_neg)
UNDER_TEST(log)
UNDER_TEST(log1p)
UNDER_TEST(sigmoid)
UNDER_TEST(tanh)
UNDER_TEST(log1p_exp_neg_abs)

static double sigmoid_ref(double x)
{
    return x < 0 ? exp(x) / (1 + exp(x)) : 1 / (1 + exp(-x));
}

static double softplus_ref(double x)
{
    return log1p(exp(-fabs(x)));
}

static const fn fns[] = {
    {"exp", exp32, exp, -110, 95, 1.2},
    {"expm1(x<=0)", expm1_neg32, expm1, -30, 0, 1.2},
    {"log", log32, log, 0, INFINITY, 2.5},
    {"log1p", log1p32, log1p, -1, INFINITY, 3.0},
    {"sigmoid", sigmoid32, sigmoid_ref, -INFINITY, INFINITY, 3.0},
    {"tanh", tanh32, tanh, -INFINITY, INFINITY, 3.0},
    {"log1p(e^-|x|)", log1p_exp_neg_abs32, softplus_ref, -INFINITY, INFINITY, 4.0},
};
#define N_FNS (sizeof fns / sizeof fns[0])

/* Every 4093rd float bit pattern (about a million values, both signs, every
 * binade from subnormals to FLT_MAX) inside each function's domain. */
START_TEST(float_functions_against_double)
{
    const fn *t = &fns[_i];
    double worst = 0.0;
    float at = 0.0f;
    size_t n = 0;
    for (uint64_t b = 0; b <= 0xFFFFFFFFu; b += 4093) {
        const uint32_t bits = (uint32_t)b;
        float x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x) || !(x >= t->lo && x <= t->hi))
            continue;
        const double ref = t->ref((double)x);
        const float got = t->f(x);
        n++;
        if (!isfinite(rounded(ref))) {
            /* Beyond the float range: the overflow must be clean. */
            ck_assert_msg(got == rounded(ref), "%s(%a) = %a, expected %a", t->name,
                          (double)x, (double)got, (double)rounded(ref));
            continue;
        }
        ck_assert_msg(isfinite(got), "%s(%a) = %a, expected %a", t->name, (double)x,
                      (double)got, ref);
        const double e = fabs((double)got - ref) / ulp_f(ref);
        if (e > worst) {
            worst = e;
            at = x;
        }
    }
    printf("accuracy %-14s max error %.3f ulp (float) at x = %a over %zu values\n",
           t->name, worst, (double)at, n);
    ck_assert_uint_gt(n, 1000);
    ck_assert_msg(worst <= t->bound, "%s: %.3f ulp at x = %a exceeds the bound %.1f",
                  t->name, worst, (double)at, t->bound);
}
END_TEST

/* exp_nonpos (e^x for x <= 0 with one scaling) returns exp's bits: every
 * 61st float bit pattern of the non-positive floats and NaN, and for
 * double a sweep of [-800, 0] (results from 1 down through the subnormals
 * to 0) plus the limits. A scaling that rounded twice or an offset that
 * left the normal range would differ in the subnormal results. */
static bool same_bits_f(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static bool same_bits_d(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

START_TEST(exp_nonpos_is_exp)
{
    size_t n = 0, subnormal = 0;
    for (uint64_t b = 0x80000000u; b <= 0xFFFFFFFFu; b += 61) {
        const uint32_t bits = (uint32_t)b;
        float x;
        memcpy(&x, &bits, sizeof x);
        const float want = vm_exp_f32(x), got = vm_exp_nonpos_f32(x);
        ck_assert_msg(same_bits_f(got, want), "float: exp_nonpos(%a) = %a, exp %a", (double)x,
                      (double)got, (double)want);
        n++;
        subnormal += want != 0.0f && fabsf(want) < FLT_MIN;
    }
    const double specials[] = {0.0, -0.0, -INFINITY, NAN, -745.1332191019411, -708.39641853226408,
                               -1e-300, -0x1p-1074};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        const double x = specials[i];
        ck_assert_msg(same_bits_d(vm_exp_nonpos_f64(x), vm_exp_f64(x)),
                      "double: exp_nonpos(%a) = %a, exp %a", x, vm_exp_nonpos_f64(x),
                      vm_exp_f64(x));
    }
    for (size_t i = 0; i <= 2000000; i++) {
        const double x = -800.0 * (double)i / 2000000.0 - 1e-7 * (double)(i % 13);
        const double want = vm_exp_f64(x), got = vm_exp_nonpos_f64(x);
        ck_assert_msg(same_bits_d(got, want), "double: exp_nonpos(%a) = %a, exp %a", x, got,
                      want);
        subnormal += want != 0.0 && want < DBL_MIN;
    }
    ck_assert_uint_gt(n, 1000000);
    ck_assert_uint_gt(subnormal, 1000); /* the range that needs the care */
}
END_TEST

START_TEST(special_values)
{
    const float inf = INFINITY, nan = NAN;
    /* exp: limits, overflow at ln(FLT_MAX) = 88.7228..., underflow to 0. */
    ck_assert_float_eq(vm_exp_f32(-inf), 0.0f);
    ck_assert_float_eq(vm_exp_f32(inf), inf);
    ck_assert(isnan(vm_exp_f32(nan)));
    ck_assert_float_eq(vm_exp_f32(0.0f), 1.0f);
    ck_assert_float_eq(vm_exp_f32(88.73f), inf);
    ck_assert_float_eq(vm_exp_f32(88.72f), rounded(exp((double)88.72f)));
    ck_assert_float_eq(vm_exp_f32(-104.0f), 0.0f);
    /* A subnormal result, rounded once. */
    ck_assert_float_eq(vm_exp_f32(-100.0f), rounded(exp(-100.0)));
    /* expm1 keeps the sign of zero and tends to -1. */
    ck_assert(signbit(vm_expm1_neg_f32(-0.0f)));
    ck_assert_float_eq(vm_expm1_neg_f32(-inf), -1.0f);
    ck_assert_float_eq(vm_expm1_neg_f32(-1e-30f), -1e-30f);
    /* log and log1p at their edges; subnormal inputs are exact inputs. */
    ck_assert_float_eq(vm_log_f32(0.0f), -inf);
    ck_assert_float_eq(vm_log_f32(inf), inf);
    ck_assert(isnan(vm_log_f32(-1.0f)));
    ck_assert(isnan(vm_log_f32(nan)));
    ck_assert_float_eq(vm_log_f32(0x1p-149f), rounded(log(0x1p-149)));
    ck_assert_float_eq(vm_log_f32(1.0f), 0.0f);
    ck_assert_float_eq(vm_log1p_f32(-1.0f), -inf);
    ck_assert_float_eq(vm_log1p_f32(inf), inf);
    ck_assert(signbit(vm_log1p_f32(-0.0f)));
    ck_assert(isnan(vm_log1p_f32(-2.0f)));
    /* The activations' limits. */
    ck_assert_float_eq(vm_sigmoid_f32(inf), 1.0f);
    ck_assert_float_eq(vm_sigmoid_f32(-inf), 0.0f);
    ck_assert_float_eq(vm_tanh_f32(inf), 1.0f);
    ck_assert_float_eq(vm_tanh_f32(-inf), -1.0f);
    ck_assert(signbit(vm_tanh_f32(-0.0f)));
    ck_assert_float_eq(vm_tanh_f32(1e-30f), 1e-30f);
    ck_assert(isnan(vm_tanh_f32(nan)));
    ck_assert(isnan(vm_sigmoid_f32(nan)));
}
END_TEST

START_TEST(float_reductions)
{
    /* The lanes of a float vector (16) cover the partial-lane tail. */
    float x[37];
    for (int i = 0; i < 37; i++)
        x[i] = (float)(i % 5) - 2.0f;
    x[20] = 9.0f;
    ck_assert_float_eq(vm_max_f32(37, x), 9.0f);
    ck_assert_float_eq(vm_max_f32(0, x), -INFINITY);
    double want = 0.0, squares = 0.0;
    for (int i = 0; i < 37; i++) {
        want += x[i];
        squares += (double)x[i] * x[i];
    }
    /* Small integers: every order of summation is exact. */
    ck_assert_float_eq(vm_sum_f32(37, x), (float)want);
    ck_assert_float_eq(vm_sum_compensated_f32(37, x), (float)want);
    ck_assert_float_eq(vm_dot_f32(37, x, x), (float)squares);
    /* 1 followed by 4096 terms of 2^-24: each one alone rounds away against
     * 1, but the compensated sum keeps them all: 1 + 2^-12 exactly. */
    enum { N = 4097 };
    static float ones[N];
    for (int i = 0; i < N; i++)
        ones[i] = i == 0 ? 1.0f : 0x1p-24f;
    ck_assert_float_eq(vm_sum_compensated_f32(N, ones), 1.0f + 0x1p-12f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("float");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, float_functions_against_double, 0, (int)N_FNS);
    tcase_add_test(tc, exp_nonpos_is_exp);
    tcase_add_test(tc, special_values);
    tcase_add_test(tc, float_reductions);
    suite_add_tcase(s, tc);
    return test_run(s);
}
