/* The elementary functions of lib/vmath.h for one floating-point type.
 *
 * Included twice by vmath.h, never on its own: once with VM_T = double and
 * once with VM_T = float, with the names suffixed by VM_() (vm_exp_f64,
 * vm_exp_f32, ...) and the type's constants (VM_K_*) and polynomial heads
 * defined by the includer. The method and the error bounds are in vmath.h.
 * Every literal is converted to VM_T, so a float instantiation never
 * computes in double. Private to lib/; never installed.
 */

/* A literal of the instantiated type. */
#define VM_C(x) ((VM_T)(x))

/* Reinterpretation of the type's bits; compilers turn these into no-ops. */
static inline VM_U VM_(bits)(VM_T x)
{
    VM_U u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline VM_T VM_(from_bits)(VM_U u)
{
    VM_T x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 2^n for an integer n in the normal exponent range given as VM_K_SHIFTER
 * + n (the value produced by the rounding trick): the exponent field is
 * n + bias. */
static inline VM_T VM_(pow2_shifted)(VM_T shifted)
{
    VM_U n = VM_(bits)(shifted) - VM_(bits)(VM_K_SHIFTER); /* n modulo 2^bits */
    return VM_(from_bits)((VM_U)(n + VM_K_BIAS) << VM_K_MANT_BITS);
}

/* 2^(n + off) for the same input and an integer off, the sum normal: off
 * is added to the bits (one integer addition with the bias), not to the
 * floating-point value. */
static inline VM_T VM_(pow2_shifted_off)(VM_T shifted, VM_U off)
{
    VM_U n = VM_(bits)(shifted) - VM_(bits)(VM_K_SHIFTER);
    return VM_(from_bits)((VM_U)(n + VM_K_BIAS + off) << VM_K_MANT_BITS);
}

/* Round x / ln2 to the nearest integer k and return k; *r gets x - k ln2
 * (|r| <= ln2/2 + a rounding) and *shifted the rounding-trick value. */
static inline VM_T VM_(reduce_ln2)(VM_T x, VM_T *r, VM_T *shifted)
{
    VM_T s = x * VM_K_LOG2E + VM_K_SHIFTER;
    VM_T k = s - VM_K_SHIFTER;
    *r = (x - k * VM_K_LN2_HI) - k * VM_K_LN2_LO;
    *shifted = s;
    return k;
}

/* (e^r - 1 - r) / r^2 = 1/2! + r/3! + r^2/4! + r^3/5! + r^4/6! + r^5 h(r),
 * with h the type's head (1/7! + r/8! + ...). The terms go in pairs
 * combined with r^2 and r^4 (Estrin's scheme) rather than one multiply-add
 * after another (Horner's): the same operations in every clone, but chains
 * a third as long, which the out-of-order core overlaps across elements.
 * r2 = r * r. */
static inline VM_T VM_(expm1_tail)(VM_T r, VM_T r2)
{
    const VM_T r4 = r2 * r2;
    const VM_T p23 = VM_C(0.5) + r * VM_C(1.0 / 6.0);            /* 1/2!, 1/3! */
    const VM_T p45 = VM_C(1.0 / 24.0) + r * VM_C(1.0 / 120.0);   /* 1/4!, 1/5! */
    const VM_T p6 = VM_C(1.0 / 720.0) + r * VM_(expm1_tail_head)(r, r2, r4); /* 1/6! */
    return (p23 + r2 * p45) + r4 * p6;
}

/* e^x for every x: +inf above the type's overflow threshold, 0 far enough
 * below its underflow one (subnormal results in between are rounded once),
 * NaN for NaN. */
static inline VM_T VM_(exp)(VM_T x)
{
    /* Clamp (NaN passes through both comparisons untouched) so that k stays
     * in a range where 2^k splits into two normal factors; the clamped
     * values still give 0 and +inf. */
    x = x > VM_K_EXP_MAX ? VM_K_EXP_MAX : x;
    x = x < VM_K_EXP_MIN ? VM_K_EXP_MIN : x;
    VM_T r, s;
    VM_T k = VM_(reduce_ln2)(x, &r, &s);
    /* e^r = 1 + r + r^2 q(r); the small terms are added first. */
    const VM_T r2 = r * r;
    VM_T p = VM_C(1.0) + (r + r2 * VM_(expm1_tail)(r, r2));
    /* 2^k = 2^k1 2^k2 with k1 = round(k/2): both factors are normal, the
     * first product is exact, the second rounds once (or overflows). */
    VM_T s1 = k * VM_C(0.5) + VM_K_SHIFTER;
    VM_T k1 = s1 - VM_K_SHIFTER;
    VM_T s2 = (k - k1) + VM_K_SHIFTER;
    return p * VM_(pow2_shifted)(s1) * VM_(pow2_shifted)(s2);
}

/* e^x for x <= 0 (and NaN; x > 0 is outside its contract): the bits of
 * VM_(exp), with one scaling instead of two and no upper clamp. For the
 * clamped x, k >= ceil(VM_K_EXP_MIN / ln2), so 2^(k + VM_K_EXP_OFF) is
 * normal: p 2^(k + OFF) is exact, and the product by 2^-OFF rounds once,
 * into the subnormals where the result is that small, as VM_(exp) does.
 * sigmoid, softplus, elu's derivative and the fused BCE take e^-|x|. */
static inline VM_T VM_(exp_nonpos)(VM_T x)
{
    x = x < VM_K_EXP_MIN ? VM_K_EXP_MIN : x;
    VM_T r, s;
    (void)VM_(reduce_ln2)(x, &r, &s);
    const VM_T r2 = r * r;
    VM_T p = VM_C(1.0) + (r + r2 * VM_(expm1_tail)(r, r2));
    return p * VM_(pow2_shifted_off)(s, VM_K_EXP_OFF) * VM_K_EXP_UNOFF;
}

/* e^x - 1 for x <= 0 (and NaN), with full relative accuracy near 0:
 * expm1(-0) = -0, expm1(-inf) = -1. Values x > 0 are outside its contract. */
static inline VM_T VM_(expm1_neg)(VM_T x)
{
    /* Below VM_K_EXPM1_MIN, e^x - 1 rounds to -1; the clamp keeps 2^k normal. */
    VM_T xc = x < VM_K_EXPM1_MIN ? VM_K_EXPM1_MIN : x;
    VM_T r, s;
    (void)VM_(reduce_ln2)(xc, &r, &s);
    const VM_T r2 = r * r;
    VM_T em1 = r + r2 * VM_(expm1_tail)(r, r2); /* e^r - 1 */
    VM_T t = VM_(pow2_shifted)(s);             /* 2^k, k <= 0 */
    VM_T y = t * em1 + (t - VM_C(1.0));        /* exact form for k = 0 */
    return xc == VM_C(0.0) ? xc : y;           /* keep the sign of zero */
}

/* e^(z - m) for the exact difference z - m: the subtraction rounds by up to
 * half an ulp of |z - m|, which e^ would turn into a relative error of
 * |z - m| u. The rounding error err of d = z - m is recovered exactly
 * (Knuth's TwoSum) and applied to first order, e^(d + err) = e^d (1 + err),
 * since |err| <= u |d| is tiny. */
static inline VM_T VM_(exp_diff)(VM_T z, VM_T m)
{
    VM_T d = z - m;
    VM_T mm = d - z; /* TwoSum of z and -m */
    VM_T err = (z - (d - mm)) + (-m - mm);
    err = VM_K_FABS(d) <= VM_K_HALF_MAX ? err : VM_C(0.0); /* overflowed d: err is NaN */
    VM_T e = VM_(exp)(d);
    return e + e * err;
}

/* log m for m in [sqrt(2)/2, sqrt(2)): 2 atanh((m - 1)/(m + 1)) =
 * 2 f (1 + g/3 + g^2/5 + ...) with g = f^2: the type's head (the terms from
 * its last one down to 1/9), then the terms every type needs. */
static inline VM_T VM_(log_reduced)(VM_T m)
{
    VM_T f = (m - VM_C(1.0)) / (m + VM_C(1.0)); /* m - 1 is exact (Sterbenz) */
    VM_T g = f * f;
    VM_T q = VM_(log_series_head)(g);
    q = q * g + VM_C(1.0 / 7.0);
    q = q * g + VM_C(1.0 / 5.0);
    q = q * g + VM_C(1.0 / 3.0);
    VM_T h = VM_C(2.0) * f; /* exact */
    return h + h * (g * q);
}

/* Natural logarithm for every x: log(+-0) = -inf, log(x < 0) = NaN,
 * log(+inf) = +inf, NaN for NaN; subnormal x are exact inputs. */
static inline VM_T VM_(log)(VM_T x)
{
    /* Scale subnormals into the normal range (the scale is undone in k).
     * (Every condition is used directly in a select of the type: an int
     * flag would mix lane widths and stop the vectorizer.) */
    VM_T xs = x < VM_K_MIN_NORMAL ? x * VM_K_SUB_SCALE : x;
    VM_T ksub = x < VM_K_MIN_NORMAL ? -VM_K_SUB_LOG2 : VM_C(0.0);
    VM_U b = VM_(bits)(xs);
    /* Biased exponent: 2^mant_bits + e encoded, minus 2^mant_bits. */
    VM_T e =
        VM_(from_bits)((b >> VM_K_MANT_BITS) | VM_(bits)(VM_K_TWO_MANT)) - VM_K_TWO_MANT;
    VM_T m1 = VM_(from_bits)((b & VM_K_MANT_MASK) | VM_(bits)(VM_C(1.0))); /* [1, 2) */
    VM_T m = m1 >= VM_K_SQRT2 ? m1 * VM_C(0.5) : m1;
    VM_T k = (e - VM_C(VM_K_BIAS) + (m1 >= VM_K_SQRT2 ? VM_C(1.0) : VM_C(0.0))) + ksub;
    VM_T y = k * VM_K_LN2_HI + (k * VM_K_LN2_LO + VM_(log_reduced)(m));
    /* Special inputs: 0 -> -inf, +inf -> +inf, negative or NaN -> NaN. */
    VM_T special = x == VM_C(0.0) ? -VM_K_INF : (x == VM_K_INF ? x : VM_K_NAN);
    VM_T r = x < VM_K_INF ? y : special;
    return x > VM_C(0.0) ? r : special;
}

/* log(1 + u) for u >= -1 with full relative accuracy near 0: log1p(-1) =
 * -inf, log1p(+inf) = +inf, NaN for NaN and for u < -1. */
static inline VM_T VM_(log1p)(VM_T u)
{
    VM_T x = VM_C(1.0) + u;
    /* x - 1 is exact for x in [1/2, 2]; elsewhere the correction is below
     * the rounding of the result anyway. */
    VM_T c = (u - (x - VM_C(1.0))) / x;
    VM_T l = VM_(log)(x);
    VM_T y = u == VM_C(0.0) ? u : l + c; /* log1p(-0) = -0 */
    /* At u = -1 and u = +inf the correction is NaN; log(x) is the answer. */
    y = u == VM_K_INF ? l : y; /* (no ||: it would stop the vectorizer) */
    return u == VM_C(-1.0) ? l : y;
}

/* Logistic sigmoid with both tails accurate: for x < 0 it is e^x/(1 + e^x),
 * otherwise 1/(1 + e^-x); e = e^-|x| never overflows. */
static inline VM_T VM_(sigmoid)(VM_T x)
{
    VM_T e = VM_(exp_nonpos)(-VM_K_FABS(x));
    VM_T num = x < VM_C(0.0) ? e : VM_C(1.0);
    return num / (VM_C(1.0) + e);
}

/* tanh x = sign(x) (-u)/(2 + u) with u = e^(-2|x|) - 1 in (-1, 0]: no
 * cancellation, relative accuracy for tiny x, +-1 at +-inf. */
static inline VM_T VM_(tanh)(VM_T x)
{
    VM_T u = VM_(expm1_neg)(VM_C(-2.0) * VM_K_FABS(x));
    return VM_K_COPYSIGN(-u / (VM_C(2.0) + u), x);
}

/* softplus(-|x|) = log(1 + e^-|x|), in [0, ln 2]. */
static inline VM_T VM_(log1p_exp_neg_abs)(VM_T x)
{
    return VM_(log1p)(VM_(exp_nonpos)(-VM_K_FABS(x)));
}

/* ---- reductions --------------------------------------------------------------
 * VM_K_LANES independent accumulators (one 64-byte vector of the type), so
 * that the compiler keeps them in vector registers without reassociating
 * anything (no -ffast-math): the order of operations is fixed by the code,
 * so every clone gives the same bits. */

/* Largest non-NaN element of x[0..n), -inf if there is none. */
static inline VM_T VM_(max)(size_t n, const VM_T *x)
{
    VM_T m[VM_K_LANES];
    for (size_t k = 0; k < VM_K_LANES; k++)
        m[k] = -VM_K_INF;
    size_t i = 0;
    for (; i + VM_K_LANES <= n; i += VM_K_LANES)
        for (size_t k = 0; k < VM_K_LANES; k++)
            m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
    for (; i < n; i++)
        m[0] = x[i] > m[0] ? x[i] : m[0];
    VM_T r = m[0];
    for (size_t k = 1; k < VM_K_LANES; k++)
        r = m[k] > r ? m[k] : r;
    return r;
}

/* Compensated (Kahan) sum of x[0..n), in lanes: the error stays at a few
 * ulps whatever n is, so softmax keeps its accuracy on long rows. */
static inline VM_T VM_(sum_compensated)(size_t n, const VM_T *x)
{
    VM_T s[VM_K_LANES] = {0}, c[VM_K_LANES] = {0};
    size_t i = 0;
    for (; i + VM_K_LANES <= n; i += VM_K_LANES) {
        for (size_t k = 0; k < VM_K_LANES; k++) {
            VM_T y = x[i + k] - c[k];
            VM_T t = s[k] + y;
            c[k] = (t - s[k]) - y;
            s[k] = t;
        }
    }
    for (; i < n; i++) {
        VM_T y = x[i] - c[0];
        VM_T t = s[0] + y;
        c[0] = (t - s[0]) - y;
        s[0] = t;
    }
    VM_T r = VM_C(0.0), cr = VM_C(0.0);
    for (size_t k = 0; k < VM_K_LANES; k++) {
        VM_T y = (s[k] - c[k]) - cr;
        VM_T t = r + y;
        cr = (t - r) - y;
        r = t;
    }
    return r;
}

/* sum_i a[i] b[i], in lanes (with a == b: the sum of squares). */
static inline VM_T VM_(dot)(size_t n, const VM_T *a, const VM_T *b)
{
    VM_T s[VM_K_LANES] = {0};
    size_t i = 0;
    for (; i + VM_K_LANES <= n; i += VM_K_LANES)
        for (size_t k = 0; k < VM_K_LANES; k++)
            s[k] += a[i + k] * b[i + k];
    for (; i < n; i++)
        s[0] += a[i] * b[i];
    VM_T r = VM_C(0.0);
    for (size_t k = 0; k < VM_K_LANES; k++)
        r += s[k];
    return r;
}

/* sum_i x[i], in lanes (no compensation). */
static inline VM_T VM_(sum)(size_t n, const VM_T *x)
{
    VM_T s[VM_K_LANES] = {0};
    size_t i = 0;
    for (; i + VM_K_LANES <= n; i += VM_K_LANES)
        for (size_t k = 0; k < VM_K_LANES; k++)
            s[k] += x[i + k];
    for (; i < n; i++)
        s[0] += x[i];
    VM_T r = VM_C(0.0);
    for (size_t k = 0; k < VM_K_LANES; k++)
        r += s[k];
    return r;
}

#undef VM_C
