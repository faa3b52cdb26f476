/* Branch-free elementary functions on doubles and floats that compilers
 * vectorize.
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
 *          e^r by its Taylor series to degree 13 (evaluated by Estrin's
 *          scheme: short chains of operations), whose first omitted term
 *          is at most (ln2/2)^14 / 14! = 4.2e-18 relative; 2^k applied as
 *          two exact power-of-two factors so that results in the subnormal
 *          range are rounded once and large ones overflow to +inf cleanly.
 *          exp_nonpos, for x <= 0 only, gives the same bits with one
 *          scaling: 2^(k + 128) is normal there, and the product by 2^-128
 *          rounds once.
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
 * The float versions (suffix _f32; the double ones end in _f64) are the same
 * code (lib/vmath_t.h) with float's constants and shorter series: exp to
 * degree 7 (first omitted term 5.2e-9 relative), the log series to f^9
 * (2.0e-9 |f|), both below a tenth of float's unit roundoff 2^-24. They
 * compute in float only. Against libm's double results (tests/test_vmath.c;
 * every 97th float bit pattern) their largest errors are, in ulps of float:
 * exp 0.99, expm1 0.97, log 1.90, log1p 2.41, sigmoid 2.28, tanh 2.49,
 * log1p(e^-|x|) 3.09; the test asserts these with a margin of about 20%.
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

/* ---- the two instantiations ------------------------------------------------
 * lib/vmath_t.h holds every function once, for a type VM_T; it is included
 * below for double (names ending in _f64) and for float (_f32). What differs
 * between the two is only what the type dictates: its bit layout, its
 * constants, and how many terms of each series its precision needs (the
 * "heads" defined before each inclusion). */

/* 1 / ln 2, rounded to double. ln 2 = LN2_HI + LN2_LO: the head is ln 2
 * truncated to 40 significant bits (so k * LN2_HI is exact for |k| < 2^13),
 * the tail is the rounded remainder; together they carry ln 2 to about
 * 2^-93 relative. Adding 1.5 * 2^52 to |y| < 2^51 rounds y to the nearest
 * integer n (ties to even) and leaves n in the low bits of the sum's
 * encoding. */
#define VM_T double
#define VM_U uint64_t
#define VM_(name) vm_##name##_f64
#define VM_K_MANT_BITS 52
#define VM_K_BIAS 1023
#define VM_K_MANT_MASK 0x000fffffffffffffu
#define VM_K_TWO_MANT 0x1p52
#define VM_K_LOG2E 0x1.71547652b82fep+0
#define VM_K_LN2_HI 0x1.62e42fefa2000p-1
#define VM_K_LN2_LO 0x1.9ef35793c7673p-41
#define VM_K_SHIFTER 0x1.8p52
#define VM_K_SQRT2 0x1.6a09e667f3bcdp+0
#define VM_K_EXP_MAX 720.0     /* e^x overflows above ~709.78 */
#define VM_K_EXP_MIN (-760.0)  /* and is 0 below ~-745.13 */
#define VM_K_EXP_OFF 128u      /* exp_nonpos: k + 128 >= -968 for k >= -1096 */
#define VM_K_EXP_UNOFF 0x1p-128
#define VM_K_EXPM1_MIN (-60.0) /* e^x - 1 rounds to -1 below ~-37.4 */
#define VM_K_HALF_MAX 0x1p1023
#define VM_K_MIN_NORMAL 0x1p-1022
#define VM_K_SUB_SCALE 0x1p54
#define VM_K_SUB_LOG2 54.0
#define VM_K_INF ((double)INFINITY)
#define VM_K_NAN ((double)NAN)
#define VM_K_FABS fabs
#define VM_K_COPYSIGN copysign
#define VM_K_LANES 8

/* 1/7! + r/8! + ... + r^6/13!: e^r to degree 13, first omitted term
 * (ln2/2)^14 / 14! = 4.2e-18 relative. The coefficients are 1/n!, rounded
 * to double by the compiler; pairs of terms are added first and combined
 * with r^2 and r^4 (Estrin's scheme), so that the additions do not form
 * one long chain. */
static inline double vm_expm1_tail_head_f64(double r, double r2, double r4)
{
    const double p78 = 1.0 / 5040.0 + r * (1.0 / 40320.0);          /* 1/7!, 1/8! */
    const double p910 = 1.0 / 362880.0 + r * (1.0 / 3628800.0);     /* 1/9!, 1/10! */
    const double p1112 = 1.0 / 39916800.0 + r * (1.0 / 479001600.0); /* 1/11!, 1/12! */
    const double p1113 = p1112 + r2 * (1.0 / 6227020800.0);          /* 1/13! */
    return (p78 + r2 * p910) + r4 * p1113;
}

/* The log series to f^23: 1/23, 1/21, ..., 1/9; first omitted term below
 * 2 |f| 0.02944^12 / 25 = 1e-19 |f|. */
static inline double vm_log_series_head_f64(double g)
{
    double q = 1.0 / 23.0;
    q = (q * g + 1.0 / 21.0) * g + 1.0 / 19.0;
    q = (q * g + 1.0 / 17.0) * g + 1.0 / 15.0;
    q = (q * g + 1.0 / 13.0) * g + 1.0 / 11.0;
    return q * g + 1.0 / 9.0;
}

#include "vmath_t.h"
#include "vmath_undef.h"

/* float: 1 / ln 2 rounded to float; LN2_HI is ln 2 to 15 significant bits
 * (k * LN2_HI exact for |k| < 2^9, and float's k stays within [-159, 137]),
 * LN2_LO the remainder rounded to float: together ln 2 to 2^-44 relative.
 * 1.5 * 2^23 is the rounding shifter. */
#define VM_T float
#define VM_U uint32_t
#define VM_(name) vm_##name##_f32
#define VM_K_MANT_BITS 23
#define VM_K_BIAS 127
#define VM_K_MANT_MASK 0x007fffffu
#define VM_K_TWO_MANT 0x1p23f
#define VM_K_LOG2E 0x1.715476p+0f
#define VM_K_LN2_HI 0x1.62e4p-1f
#define VM_K_LN2_LO 0x1.7f7d1cp-20f
#define VM_K_SHIFTER 0x1.8p23f
#define VM_K_SQRT2 0x1.6a09e6p+0f
#define VM_K_EXP_MAX 95.0f      /* e^x overflows above ~88.72 */
#define VM_K_EXP_MIN (-110.0f)  /* and is 0 below ~-103.97 */
#define VM_K_EXP_OFF 64u       /* exp_nonpos: k + 64 >= -95 for k >= -159 */
#define VM_K_EXP_UNOFF 0x1p-64f
#define VM_K_EXPM1_MIN (-20.0f) /* e^x - 1 rounds to -1 below ~-17.3 */
#define VM_K_HALF_MAX 0x1p127f
#define VM_K_MIN_NORMAL 0x1p-126f
#define VM_K_SUB_SCALE 0x1p24f
#define VM_K_SUB_LOG2 24.0f
#define VM_K_INF INFINITY
#define VM_K_NAN NAN
#define VM_K_FABS fabsf
#define VM_K_COPYSIGN copysignf
#define VM_K_LANES 16

/* e^r to degree 7: the head is the constant 1/7!; first omitted term
 * (ln2/2)^8 / 8! = 5.2e-9 relative, below a tenth of float's unit
 * roundoff 2^-24 = 6.0e-8. */
static inline float vm_expm1_tail_head_f32(float r, float r2, float r4)
{
    (void)r;
    (void)r2;
    (void)r4;
    return (float)(1.0 / 5040.0);
}

/* The log series to f^9: the head is the constant 1/9; first omitted term
 * 2 |f| 0.02944^5 / 11 = 2.0e-9 |f|, a thirtieth of 2^-24. */
static inline float vm_log_series_head_f32(float g)
{
    (void)g;
    return (float)(1.0 / 9.0);
}

#include "vmath_t.h"
#include "vmath_undef.h"

#endif /* SOMA_VMATH_H */
