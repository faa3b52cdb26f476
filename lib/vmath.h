/* Branch-free elementary functions on doubles that compilers vectorize.
 *
 * libm's exp, expm1, log and log1p are calls, which stop a loop from being
 * vectorized; these are `static inline` straight-line code (arithmetic,
 * comparisons used as selects, and integer operations on the bit pattern)
 * that GCC 12 and clang 14 turn into SSE2, AVX2 or AVX-512 vector code inside
 * a simple loop, without -ffast-math. Special values (NaN, +-inf, overflow,
 * underflow, subnormal results) are handled by selects, never by branches.
 *
 * Method (each written from the series, constants derived in the comments):
 * - exp:   x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 split into a
 *          40-bit head, so k ln2_hi is exact for |k| < 2^13, and a tail);
 *          e^r by its Taylor series to degree 13, whose first omitted term
 *          is at most (ln2/2)^14 / 14! = 4.2e-18 relative; 2^k applied as
 *          two exact power-of-two factors so that results in the subnormal
 *          range are rounded once and large ones overflow to +inf cleanly.
 * - expm1: the same reduction; e^r - 1 = r + r^2 (1/2 + r/6 + ...) keeps
 *          full relative accuracy as r -> 0, then 2^k (e^r - 1) + (2^k - 1).
 *          Only needed (and only defined here) for x <= 0.
 * - log:   x = 2^k m with m in [sqrt(2)/2, sqrt(2)); log m = 2 atanh(f) with
 *          f = (m - 1)/(m + 1), |f| <= 0.1716, by the odd series
 *          2 (f + f^3/3 + ... + f^23/23), whose first omitted term is below
 *          2 |f| 0.02944^12 / 25 = 1e-19 |f|.
 * - log1p: log(1 + u) for the rounded 1 + u, plus the first-order correction
 *          (u - ((1 + u) - 1)) / (1 + u) for the rounding of that sum.
 * Measured accuracy (against long double libm, tests/test_activation.c) is a
 * few units in the last place; docs/performance.md lists the figures.
 *
 * The library is compiled with -ffp-contract=off, so each clone (SSE2, AVX2,
 * AVX-512) performs the same IEEE operations and gives the same bits.
 * Private to lib/; never installed.
 */
#ifndef SOMA_VMATH_H
#define SOMA_VMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SOMA_VEC marks a hot loop for function multiversioning: the compiler emits
 * an SSE2 (baseline x86-64), an AVX2 and an AVX-512 (x86-64-v4) version and
 * the dynamic loader picks one for the CPU at hand (an ifunc), so the default
 * build runs on any x86-64 and still uses wide vectors where they exist.
 * Elsewhere, or with -DSOMA_NO_CLONES, it is empty and the loops are built
 * for the compiler's target only. Clang 14 gives the resolver of a static
 * multiversioned function an external (hidden) symbol, so SOMA_VEC function
 * names must be unique across the library's sources. */
#if defined(__has_attribute)
#if __has_attribute(target_clones) && defined(__x86_64__) && defined(__ELF__) &&         \
    !defined(SOMA_NO_CLONES)
#define SOMA_VEC __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#endif
#endif
#ifndef SOMA_VEC
#define SOMA_VEC
#endif

/* Reinterpretation of a double's bits; compilers turn these into no-ops. */
static inline uint64_t vm_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double vm_double(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 1 / ln 2, rounded to double. */
#define VM_LOG2E 0x1.71547652b82fep+0
/* ln 2 = VM_LN2_HI + VM_LN2_LO: the head is ln 2 truncated to 40 significant
 * bits (so k * VM_LN2_HI is exact for |k| < 2^13), the tail is the rounded
 * remainder; together they carry ln 2 to about 2^-93 relative. */
#define VM_LN2_HI 0x1.62e42fefa2000p-1
#define VM_LN2_LO 0x1.9ef35793c7673p-41
/* Adding 1.5 * 2^52 to |y| < 2^51 rounds y to the nearest integer n (ties to
 * even) and leaves n in the low bits of the sum's encoding. */
#define VM_SHIFTER 0x1.8p52
#define VM_SQRT2 0x1.6a09e667f3bcdp+0

/* 2^n for an integer n in [-1022, 1023] given as VM_SHIFTER + n (the double
 * produced by the rounding trick above): the exponent field is n + 1023. */
static inline double vm_pow2_shifted(double shifted)
{
    uint64_t n = vm_bits(shifted) - vm_bits(VM_SHIFTER); /* n mod 2^64 */
    return vm_double((n + 1023u) << 52);
}

/* Round x / ln2 to the nearest integer k and return k as a double; *r gets
 * x - k ln2 (|r| <= ln2/2 + 2^-40) and *shifted the rounding-trick double. */
static inline double vm_reduce_ln2(double x, double *r, double *shifted)
{
    double s = x * VM_LOG2E + VM_SHIFTER;
    double k = s - VM_SHIFTER;
    *r = (x - k * VM_LN2_HI) - k * VM_LN2_LO;
    *shifted = s;
    return k;
}

/* (e^r - 1 - r) / r^2 = 1/2! + r/3! + ... + r^11/13!  for |r| <= 0.35.
 * The coefficients are 1/n!, rounded to double by the compiler. */
static inline double vm_expm1_tail(double r)
{
    double q = 1.0 / 6227020800.0; /* 1/13! */
    q = q * r + 1.0 / 479001600.0; /* 1/12! */
    q = q * r + 1.0 / 39916800.0;  /* 1/11! */
    q = q * r + 1.0 / 3628800.0;   /* 1/10! */
    q = q * r + 1.0 / 362880.0;    /* 1/9!  */
    q = q * r + 1.0 / 40320.0;     /* 1/8!  */
    q = q * r + 1.0 / 5040.0;      /* 1/7!  */
    q = q * r + 1.0 / 720.0;       /* 1/6!  */
    q = q * r + 1.0 / 120.0;       /* 1/5!  */
    q = q * r + 1.0 / 24.0;        /* 1/4!  */
    q = q * r + 1.0 / 6.0;         /* 1/3!  */
    q = q * r + 0.5;               /* 1/2!  */
    return q;
}

/* e^x for every double x: +inf above ~709.78, 0 below ~-745.13 (subnormal
 * results in between are rounded once), NaN for NaN. */
static inline double vm_exp(double x)
{
    /* Clamp (NaN passes through both comparisons untouched) so that k stays
     * within [-1097, 1039]; the clamped values still give 0 and +inf. */
    x = x > 720.0 ? 720.0 : x;
    x = x < -760.0 ? -760.0 : x;
    double r, s;
    double k = vm_reduce_ln2(x, &r, &s);
    /* e^r = 1 + r + r^2 q(r); the small terms are added first. */
    double p = 1.0 + (r + r * r * vm_expm1_tail(r));
    /* 2^k = 2^k1 2^k2 with k1 = round(k/2): both factors are normal, the
     * first product is exact, the second rounds once (or overflows). */
    double s1 = k * 0.5 + VM_SHIFTER;
    double k1 = s1 - VM_SHIFTER;
    double s2 = (k - k1) + VM_SHIFTER;
    return p * vm_pow2_shifted(s1) * vm_pow2_shifted(s2);
}

/* e^x - 1 for x <= 0 (and NaN), with full relative accuracy near 0:
 * expm1(-0) = -0, expm1(-inf) = -1. Values x > 0 are outside its contract. */
static inline double vm_expm1_neg(double x)
{
    /* Below -60, e^x - 1 rounds to -1; the clamp keeps 2^k normal. */
    double xc = x < -60.0 ? -60.0 : x;
    double r, s;
    (void)vm_reduce_ln2(xc, &r, &s);
    double em1 = r + r * r * vm_expm1_tail(r); /* e^r - 1 */
    double t = vm_pow2_shifted(s);             /* 2^k, k in [-87, 0] */
    double y = t * em1 + (t - 1.0);            /* exact form for k = 0 */
    return xc == 0.0 ? xc : y;                 /* keep the sign of zero */
}

/* e^(z - m) for the exact difference z - m of two doubles: the subtraction
 * rounds by up to half an ulp of |z - m|, which e^ would turn into a relative
 * error of |z - m| 2^-53 (5.7e-14 at |z - m| = 1000). The rounding error err
 * of d = z - m is recovered exactly (Knuth's TwoSum) and applied to first
 * order, e^(d + err) = e^d (1 + err), since |err| <= 2^-53 |d| is tiny. */
static inline double vm_exp_diff(double z, double m)
{
    double d = z - m;
    double mm = d - z; /* TwoSum of z and -m */
    double err = (z - (d - mm)) + (-m - mm);
    err = fabs(d) <= 0x1p1023 ? err : 0.0; /* overflowed d: err is NaN */
    double e = vm_exp(d);
    return e + e * err;
}

/* log m for m in [sqrt(2)/2, sqrt(2)): 2 atanh((m - 1)/(m + 1)). */
static inline double vm_log_reduced(double m)
{
    double f = (m - 1.0) / (m + 1.0); /* m - 1 is exact (Sterbenz) */
    double g = f * f;
    /* sum_{j>=1} g^(j-1) / (2j + 1): the coefficients 1/3, 1/5, ..., 1/23 */
    double q = 1.0 / 23.0;
    q = q * g + 1.0 / 21.0;
    q = q * g + 1.0 / 19.0;
    q = q * g + 1.0 / 17.0;
    q = q * g + 1.0 / 15.0;
    q = q * g + 1.0 / 13.0;
    q = q * g + 1.0 / 11.0;
    q = q * g + 1.0 / 9.0;
    q = q * g + 1.0 / 7.0;
    q = q * g + 1.0 / 5.0;
    q = q * g + 1.0 / 3.0;
    double h = 2.0 * f; /* exact */
    return h + h * (g * q);
}

/* Natural logarithm for every double: log(+-0) = -inf, log(x < 0) = NaN,
 * log(+inf) = +inf, NaN for NaN; subnormal x are exact inputs. */
static inline double vm_log(double x)
{
    /* Scale subnormals into the normal range (the scale is undone in k). */
    /* (Every condition is used directly in a double select: an int flag
     * would mix 32- and 64-bit lanes and stop the vectorizer.) */
    double xs = x < 0x1p-1022 ? x * 0x1p54 : x;
    double ksub = x < 0x1p-1022 ? -54.0 : 0.0;
    uint64_t b = vm_bits(xs);
    /* Biased exponent as a double: 2^52 + e encoded, minus 2^52. */
    double e = vm_double((b >> 52) | vm_bits(0x1p52)) - 0x1p52;
    double m1 = vm_double((b & 0x000fffffffffffffu) | vm_bits(1.0)); /* [1, 2) */
    double m = m1 >= VM_SQRT2 ? m1 * 0.5 : m1;
    double k = (e - 1023.0 + (m1 >= VM_SQRT2 ? 1.0 : 0.0)) + ksub;
    double y = k * VM_LN2_HI + (k * VM_LN2_LO + vm_log_reduced(m));
    /* Special inputs: 0 -> -inf, +inf -> +inf, negative or NaN -> NaN. */
    double special = x == 0.0 ? -INFINITY : (x == INFINITY ? x : NAN);
    double r = x < INFINITY ? y : special;
    return x > 0.0 ? r : special;
}

/* log(1 + u) for u >= -1 with full relative accuracy near 0: log1p(-1) =
 * -inf, log1p(+inf) = +inf, NaN for NaN and for u < -1. */
static inline double vm_log1p(double u)
{
    double x = 1.0 + u;
    /* x - 1 is exact for x in [1/2, 2]; elsewhere the correction is below
     * the rounding of the result anyway. */
    double c = (u - (x - 1.0)) / x;
    double l = vm_log(x);
    double y = u == 0.0 ? u : l + c; /* log1p(-0) = -0 */
    /* At u = -1 and u = +inf the correction is NaN; log(x) is the answer. */
    y = u == INFINITY ? l : y; /* (no ||: it would stop the vectorizer) */
    return u == -1.0 ? l : y;
}

/* Logistic sigmoid with both tails accurate: for x < 0 it is e^x/(1 + e^x),
 * otherwise 1/(1 + e^-x); e = e^-|x| never overflows. */
static inline double vm_sigmoid(double x)
{
    double e = vm_exp(-fabs(x));
    double num = x < 0.0 ? e : 1.0;
    return num / (1.0 + e);
}

/* tanh x = sign(x) (-u)/(2 + u) with u = e^(-2|x|) - 1 in (-1, 0]: no
 * cancellation, relative accuracy for tiny x, +-1 at +-inf. */
static inline double vm_tanh(double x)
{
    double u = vm_expm1_neg(-2.0 * fabs(x));
    return copysign(-u / (2.0 + u), x);
}

/* softplus(-|x|) = log(1 + e^-|x|), in [0, ln 2]. */
static inline double vm_log1p_exp_neg_abs(double x)
{
    return vm_log1p(vm_exp(-fabs(x)));
}

/* ---- reductions --------------------------------------------------------------
 * Reductions are written with VM_LANES independent accumulators so that
 * the compiler can keep them in one vector register without reassociating
 * anything (no -ffast-math): the order of operations is fixed by the code,
 * so every clone gives the same bits. */

#define VM_LANES 8

/* Largest non-NaN element of x[0..n), -inf if there is none. */
static inline double vm_max(size_t n, const double *x)
{
    double m[VM_LANES];
    for (size_t k = 0; k < VM_LANES; k++)
        m[k] = -INFINITY;
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES)
        for (size_t k = 0; k < VM_LANES; k++)
            m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++)
        m[0] = x[i] > m[0] ? x[i] : m[0];
    double r = m[0];
    for (size_t k = 1; k < VM_LANES; k++)
        r = m[k] > r ? m[k] : r;
    return r;
}

/* Compensated (Kahan) sum of x[0..n), in VM_LANES lanes: the error stays
 * at a few ulps whatever n is, so softmax keeps its accuracy on long rows. */
static inline double vm_sum_compensated(size_t n, const double *x)
{
    double s[VM_LANES] = {0}, c[VM_LANES] = {0};
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES) {
        for (size_t k = 0; k < VM_LANES; k++) {
            double y = x[i + k] - c[k];
            double t = s[k] + y;
            c[k] = (t - s[k]) - y;
            s[k] = t;
        }
    }
    for (; i < n; i++) {
        double y = x[i] - c[0];
        double t = s[0] + y;
        c[0] = (t - s[0]) - y;
        s[0] = t;
    }
    double r = 0.0, cr = 0.0;
    for (size_t k = 0; k < VM_LANES; k++) {
        double y = (s[k] - c[k]) - cr;
        double t = r + y;
        cr = (t - r) - y;
        r = t;
    }
    return r;
}

/* sum_i a[i] b[i], in lanes. */
static inline double vm_dot(size_t n, const double *a, const double *b)
{
    double s[VM_LANES] = {0};
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES)
        for (size_t k = 0; k < VM_LANES; k++)
            s[k] += a[i + k] * b[i + k];
    for (; i < n; i++)
        s[0] += a[i] * b[i];
    double r = 0.0;
    for (size_t k = 0; k < VM_LANES; k++)
        r += s[k];
    return r;
}

/* sum_i x[i], in lanes (no compensation). */
static inline double vm_sum(size_t n, const double *x)
{
    double s[VM_LANES] = {0};
    size_t i = 0;
    for (; i + VM_LANES <= n; i += VM_LANES)
        for (size_t k = 0; k < VM_LANES; k++)
            s[k] += x[i + k];
    for (; i < n; i++)
        s[0] += x[i];
    double r = 0.0;
    for (size_t k = 0; k < VM_LANES; k++)
        r += s[k];
    return r;
}

#endif /* SOMA_VMATH_H */
