/* The numeric kernels of lib/kernels.h, written once for a type SOMA_T.
 *
 * Not compiled on its own: lib/kernels_f64.c and lib/kernels_f32.c include
 * it after defining SOMA_T (double or float), SOMA_SFX (the name suffix)
 * and the few constants a type dictates (SOMA_K_*). A fix here is a fix to
 * both precisions. Every literal goes through TC() so that the float
 * instantiation never computes in double by accident; the double one
 * performs exactly the operations it always did.
 *
 * The loops are multiversioned (SOMA_VEC, lib/vmath.h); every SOMA_VEC
 * function's name carries the suffix, because clang gives their resolvers
 * library-wide symbols.
 */

#define TC(x) ((SOMA_T)(x))
#define VM(name) SOMA_SFX(vm_##name)
#define M SOMA_SFX(soma__mat)

/* ========================================================================== */
/* Activations                                                                */
/* ========================================================================== */

/* ---- one element ------------------------------------------------------------
 * Forward values f(x) and derivatives f'(z) (from z, or from a = f(z) where
 * that is cheaper). Each is branch-free: `?:` on the type becomes a vector
 * select. A NaN argument gives NaN. */

static inline SOMA_T f_relu(SOMA_T x)
{
    return x <= TC(0.0) ? TC(0.0) : x; /* NaN fails the test and passes through */
}

static inline SOMA_T f_leaky(SOMA_T x, SOMA_T alpha)
{
    return x > TC(0.0) ? x : alpha * x;
}

static inline SOMA_T f_elu(SOMA_T x, SOMA_T alpha)
{
    SOMA_T em1 = VM(expm1_neg)(x > TC(0.0) ? TC(0.0) : x);
    return x > TC(0.0) ? x : alpha * em1;
}

static inline SOMA_T f_swish(SOMA_T x)
{
    /* x sigmoid(x). At -inf the product would be -inf * 0; with x clamped
     * to the largest finite magnitude it is -0, the limit (as for every x
     * below about -745), in one operation rather than a test and a select.
     * NaN fails the comparison and passes through. */
    const SOMA_T xf = x < -SOMA_K_MAX ? -SOMA_K_MAX : x;
    return xf * VM(sigmoid)(x);
}

/* NaN for NaN z, else v: the derivative of a piecewise function at NaN. */
static inline SOMA_T nan_or(SOMA_T z, SOMA_T v)
{
    return z != z ? z : v;
}

static inline SOMA_T d_relu(SOMA_T z)
{
    return z > TC(0.0) ? TC(1.0) : nan_or(z, TC(0.0)); /* f'(0) = 0 */
}

static inline SOMA_T d_leaky(SOMA_T z, SOMA_T alpha)
{
    return z > TC(0.0) ? TC(1.0) : nan_or(z, alpha); /* f'(0) = alpha */
}

static inline SOMA_T d_elu(SOMA_T z, SOMA_T alpha)
{
    /* alpha e^z for z <= 0 (f'(0) = alpha); NaN gives NaN through exp. */
    SOMA_T e = VM(exp_nonpos)(z > TC(0.0) ? TC(0.0) : z);
    return z > TC(0.0) ? TC(1.0) : alpha * nan_or(z, e);
}

static inline SOMA_T d_sigmoid(SOMA_T a)
{
    return a * (TC(1.0) - a);
}

static inline SOMA_T d_tanh(SOMA_T a)
{
    /* 1 - a^2 factored: 1 - a is exact for a in [1/2, 1], so no cancellation
     * beyond the rounding already in a. */
    return (TC(1.0) - a) * (TC(1.0) + a);
}

static inline SOMA_T d_swish(SOMA_T z, SOMA_T a)
{
    /* f' = s + z s (1 - s) = s + a (1 - s) with s = sigmoid(z) = a / z.
     * For |z| < SOMA_K_SWISH_TINY, s = 1/2 to the type's precision (and
     * a / z would lose bits to subnormal rounding); the infinities take
     * their limits. */
    SOMA_T s = SOMA_K_FABS(z) < SOMA_K_SWISH_TINY ? TC(0.5) : a / z;
    SOMA_T d = s + a * (TC(1.0) - s);
    d = z == TC(INFINITY) ? TC(1.0) : d;
    return z == -TC(INFINITY) ? TC(0.0) : d;
}

/* ---- vectorized loops -------------------------------------------------------
 * Plain counted loops over arrays that are either disjoint or identical (in
 * place): GCC's runtime alias check lets the vector path run in both cases. */

#define MAP_FORWARD(name, expr)                                                          \
    SOMA_VEC static void SOMA_SFX(name)(size_t n, SOMA_T alpha, const SOMA_T *z,         \
                                        SOMA_T *a)                                       \
    {                                                                                    \
        (void)alpha;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                 \
            const SOMA_T x = z[i];                                                       \
            a[i] = (expr);                                                               \
        }                                                                                \
    }

MAP_FORWARD(fwd_sigmoid, VM(sigmoid)(x))
MAP_FORWARD(fwd_tanh, VM(tanh)(x))
MAP_FORWARD(fwd_relu, f_relu(x))
MAP_FORWARD(fwd_leaky, f_leaky(x, alpha))
MAP_FORWARD(fwd_elu, f_elu(x, alpha))
MAP_FORWARD(fwd_swish, f_swish(x))

/* dz[i] = da[i] * (derivative expression in zi, ai, alpha). */
#define MAP_BACKWARD(name, expr)                                                         \
    SOMA_VEC static void SOMA_SFX(name)(size_t n, SOMA_T alpha, const SOMA_T *z,         \
                                        const SOMA_T *a, const SOMA_T *da, SOMA_T *dz)   \
    {                                                                                    \
        (void)alpha;                                                                     \
        (void)z;                                                                         \
        (void)a;                                                                         \
        for (size_t i = 0; i < n; i++) {                                                 \
            const SOMA_T zi = z[i], ai = a[i];                                           \
            (void)zi;                                                                    \
            (void)ai;                                                                    \
            dz[i] = da[i] * (expr);                                                      \
        }                                                                                \
    }

MAP_BACKWARD(bwd_sigmoid, d_sigmoid(ai))
MAP_BACKWARD(bwd_tanh, d_tanh(ai))
MAP_BACKWARD(bwd_relu, d_relu(zi))
MAP_BACKWARD(bwd_leaky, d_leaky(zi, alpha))
MAP_BACKWARD(bwd_elu, d_elu(zi, alpha))
MAP_BACKWARD(bwd_swish, d_swish(zi, ai))

static void fwd_identity(size_t n, const SOMA_T *z, SOMA_T *a)
{
    if (a != z)
        memcpy(a, z, n * sizeof *a);
}

SOMA_VEC static void SOMA_SFX(bwd_identity)(size_t n, const SOMA_T *z, const SOMA_T *da,
                                            SOMA_T *dz)
{
    /* f'(z) = 1; a NaN z still makes the derivative NaN, as for the others. */
    for (size_t i = 0; i < n; i++)
        dz[i] = nan_or(z[i], da[i]);
}

/* ---- softmax ---------------------------------------------------------------- */

SOMA_VEC static SOMA_T SOMA_SFX(row_max)(size_t n, const SOMA_T *x)
{
    return VM(max)(n, x);
}

SOMA_VEC static SOMA_T SOMA_SFX(row_sum_compensated)(size_t n, const SOMA_T *x)
{
    return VM(sum_compensated)(n, x);
}

SOMA_VEC static SOMA_T SOMA_SFX(row_dot)(size_t n, const SOMA_T *a, const SOMA_T *b)
{
    return VM(dot)(n, a, b);
}

SOMA_VEC static void SOMA_SFX(exp_shifted)(size_t n, const SOMA_T *z, SOMA_T shift,
                                           SOMA_T *e)
{
    for (size_t i = 0; i < n; i++)
        e[i] = VM(exp_diff)(z[i], shift);
}

SOMA_VEC static void SOMA_SFX(div_by)(size_t n, SOMA_T *a, SOMA_T d)
{
    for (size_t i = 0; i < n; i++)
        a[i] /= d;
}

/* A row whose maximum is +inf: the limit (1 at the infinity, 0 elsewhere)
 * when exactly one entry is +inf and nothing is NaN; NaN otherwise. */
static void softmax_inf_row(size_t n, const SOMA_T *z, SOMA_T *a)
{
    size_t infs = 0;
    bool nan = false;
    for (size_t i = 0; i < n; i++) {
        infs += z[i] == TC(INFINITY);
        nan |= z[i] != z[i];
    }
    const bool limit = infs == 1 && !nan;
    for (size_t i = 0; i < n; i++)
        a[i] = !limit ? TC(NAN) : (z[i] == TC(INFINITY) ? TC(1.0) : TC(0.0));
}

static void softmax_row(size_t n, const SOMA_T *z, SOMA_T *a)
{
    if (n == 0)
        return;
    const SOMA_T m = SOMA_SFX(row_max)(n, z);
    if (m == TC(INFINITY)) {
        softmax_inf_row(n, z, a);
        return;
    }
    /* e^(z - max) <= 1 never overflows and the largest term is 1, so the sum
     * is in [1, n]; a NaN anywhere makes the sum and so every output NaN. */
    SOMA_SFX(exp_shifted)(n, z, m, a);
    SOMA_SFX(div_by)(n, a, SOMA_SFX(row_sum_compensated)(n, a));
}

SOMA_VEC static void SOMA_SFX(softmax_jvp_tail)(size_t n, const SOMA_T *a,
                                                const SOMA_T *da, SOMA_T dot, SOMA_T *dz)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = a[i] * (da[i] - dot);
}

static void softmax_row_backward(size_t n, const SOMA_T *a, const SOMA_T *da, SOMA_T *dz)
{
    /* dz_i = a_i (da_i - sum_j a_j da_j): the dot product is taken before any
     * element of dz is written, so dz may be da. */
    const SOMA_T dot = SOMA_SFX(row_dot)(n, a, da);
    SOMA_SFX(softmax_jvp_tail)(n, a, da, dot, dz);
}

/* The loops of the element-wise activations, forward and backward;
 * identity and softmax (a row JVP) have their own. */
typedef struct SOMA_SFX(act_loops) {
    void (*fwd)(size_t n, SOMA_T alpha, const SOMA_T *z, SOMA_T *a);
    void (*bwd)(size_t n, SOMA_T alpha, const SOMA_T *z, const SOMA_T *a,
                const SOMA_T *da, SOMA_T *dz);
    /* The grains of each loop on the pool (lib/parallel.h): exp's or the
     * cheap one of a compare or a product per element. */
    size_t fwd_grain, bwd_grain;
} SOMA_SFX(act_loops);

#define EXP_G SOMA__GRAIN_ACT_EXP
#define CHEAP_G SOMA__GRAIN_ACT_CHEAP
static const SOMA_SFX(act_loops) act_loops[SOMA_ACTIVATION_COUNT] = {
    [SOMA_ACTIVATION_SIGMOID] = {SOMA_SFX(fwd_sigmoid), SOMA_SFX(bwd_sigmoid), EXP_G,
                                 CHEAP_G},
    [SOMA_ACTIVATION_TANH] = {SOMA_SFX(fwd_tanh), SOMA_SFX(bwd_tanh), EXP_G, CHEAP_G},
    [SOMA_ACTIVATION_RELU] = {SOMA_SFX(fwd_relu), SOMA_SFX(bwd_relu), CHEAP_G, CHEAP_G},
    [SOMA_ACTIVATION_LEAKY_RELU] = {SOMA_SFX(fwd_leaky), SOMA_SFX(bwd_leaky), CHEAP_G,
                                    CHEAP_G},
    [SOMA_ACTIVATION_ELU] = {SOMA_SFX(fwd_elu), SOMA_SFX(bwd_elu), EXP_G, EXP_G},
    [SOMA_ACTIVATION_SWISH] = {SOMA_SFX(fwd_swish), SOMA_SFX(bwd_swish), EXP_G, CHEAP_G},
};
#undef CHEAP_G
#undef EXP_G

/* The entry of act_loops for f, or NULL (identity, softmax, invalid). */
static const SOMA_SFX(act_loops) * loops_of(soma_activation f)
{
    if ((unsigned)f >= SOMA_ACTIVATION_COUNT || act_loops[f].fwd == NULL)
        return NULL;
    return &act_loops[f];
}

/* The grain of f's forward pass (with the bias: dense_forward): softmax
 * takes an exp per element, identity is a copy. */
static size_t SOMA_SFX(fwd_grain)(soma_activation f)
{
    const SOMA_SFX(act_loops) *k = loops_of(f);
    if (k != NULL)
        return k->fwd_grain;
    return f == SOMA_ACTIVATION_SOFTMAX ? SOMA__GRAIN_ACT_EXP : SOMA__GRAIN_ACT_CHEAP;
}

/* An element-wise activation's loop over [i0, i1) of its arrays: the
 * blocks of a pass on the pool. The loops give every element the same bits
 * wherever the range is cut (vmath.h), so the partition does not show. */
typedef struct SOMA_SFX(act_ctx) {
    const SOMA_SFX(act_loops) *k;
    SOMA_T alpha;
    const SOMA_T *z, *a, *da;
    SOMA_T *out;
} SOMA_SFX(act_ctx);

static void SOMA_SFX(act_fwd_block)(const void *ctx, size_t i0, size_t i1)
{
    const SOMA_SFX(act_ctx) *c = ctx;
    c->k->fwd(i1 - i0, c->alpha, c->z + i0, c->out + i0);
}

static void SOMA_SFX(act_bwd_block)(const void *ctx, size_t i0, size_t i1)
{
    const SOMA_SFX(act_ctx) *c = ctx;
    c->k->bwd(i1 - i0, c->alpha, c->z + i0, c->a + i0, c->da + i0, c->out + i0);
}

void SOMA_SFX(soma__act_forward)(soma_activation f, SOMA_T alpha, size_t n,
                                 const SOMA_T *z, SOMA_T *a)
{
    /* Leaky relu with alpha = 0 is relu, whose limit at -inf is 0 (0 * -inf
     * is NaN). */
    if (f == SOMA_ACTIVATION_LEAKY_RELU && alpha == TC(0.0))
        f = SOMA_ACTIVATION_RELU;
    const SOMA_SFX(act_loops) *k = loops_of(f);
    if (f == SOMA_ACTIVATION_IDENTITY) {
        fwd_identity(n, z, a);
    } else if (f == SOMA_ACTIVATION_SOFTMAX) {
        softmax_row(n, z, a);
    } else if (k != NULL && n >= 2 * k->fwd_grain) {
        const SOMA_SFX(act_ctx) c = {.k = k, .alpha = alpha, .z = z, .out = a};
        soma__par_for(n, k->fwd_grain, SOMA_SFX(act_fwd_block), &c);
    } else if (k != NULL) {
        k->fwd(n, alpha, z, a);
    }
}

void SOMA_SFX(soma__act_backward)(soma_activation f, SOMA_T alpha, size_t n,
                                  const SOMA_T *z, const SOMA_T *a, const SOMA_T *da,
                                  SOMA_T *dz)
{
    const SOMA_SFX(act_loops) *k = loops_of(f);
    if (f == SOMA_ACTIVATION_IDENTITY) {
        SOMA_SFX(bwd_identity)(n, z, da, dz);
    } else if (f == SOMA_ACTIVATION_SOFTMAX) {
        softmax_row_backward(n, a, da, dz);
    } else if (k != NULL && n >= 2 * k->bwd_grain) {
        const SOMA_SFX(act_ctx) c = {.k = k, .alpha = alpha, .z = z, .a = a, .da = da,
                                     .out = dz};
        soma__par_for(n, k->bwd_grain, SOMA_SFX(act_bwd_block), &c);
    } else if (k != NULL) {
        k->bwd(n, alpha, z, a, da, dz);
    }
}

/* The columns [j, end) left over, fewer than 16, in blocks of 8, 4, 2 and
 * 1 columns: block(j, W) with W a constant each time, j advancing. */
#define NARROW_BLOCK(j, end, block, W)                                                   \
    do {                                                                                 \
        if ((j) + (W) <= (end)) {                                                        \
            block((j), (W));                                                             \
            (j) += (W);                                                                  \
        }                                                                                \
    } while (0)
#define NARROW_BLOCKS(j, end, block)                                                     \
    do {                                                                                 \
        NARROW_BLOCK(j, end, block, 8);                                                  \
        NARROW_BLOCK(j, end, block, 4);                                                  \
        NARROW_BLOCK(j, end, block, 2);                                                  \
        NARROW_BLOCK(j, end, block, 1);                                                  \
    } while (0)

/* Columns [j0, j0 + W) of every row, W a constant at every call: the bias
 * stays in registers and the loop over W unrolls (a general inner loop,
 * with its alias checks and remainder, cost more than the additions on
 * rows of 1 to 8 values). */
static inline __attribute__((always_inline)) void
SOMA_SFX(add_bias_cols)(size_t rows, size_t j0, size_t W, SOMA_T *z, size_t ldz,
                        const SOMA_T *b)
{
    SOMA_T bj[8];
    for (size_t j = 0; j < W; j++)
        bj[j] = b[j0 + j];
    for (size_t r = 0; r < rows; r++) {
        SOMA_T *zr = z + r * ldz + j0;
        for (size_t j = 0; j < W; j++)
            zr[j] += bj[j];
    }
}

SOMA_VEC static void SOMA_SFX(add_bias_rows)(size_t rows, size_t cols, SOMA_T *z,
                                             size_t ldz, const SOMA_T *b)
{
    if (cols > 8) {
        for (size_t r = 0; r < rows; r++) {
            SOMA_T *zr = z + r * ldz;
            for (size_t i = 0; i < cols; i++)
                zr[i] += b[i];
        }
        return;
    }
    size_t j = 0;
#define BIAS_BLOCK(j, W) SOMA_SFX(add_bias_cols)(rows, j, W, z, ldz, b)
    NARROW_BLOCKS(j, cols, BIAS_BLOCK);
#undef BIAS_BLOCK
}

void SOMA_SFX(soma__add_bias_rows)(size_t rows, size_t cols, SOMA_T *z, size_t ldz,
                                   const SOMA_T *b)
{
    SOMA_SFX(add_bias_rows)(rows, cols, z, ldz, b);
}

/* The activation backward of rows that are not packed, on the pool by
 * rows. */
typedef struct SOMA_SFX(bwd_rows_ctx) {
    soma_activation f;
    SOMA_T alpha;
    const M *Z, *A, *dA;
    M *dZ;
} SOMA_SFX(bwd_rows_ctx);

static void SOMA_SFX(act_bwd_rows)(const void *ctx, size_t i0, size_t i1)
{
    const SOMA_SFX(bwd_rows_ctx) *c = ctx;
    for (size_t i = i0; i < i1; i++)
        SOMA_SFX(soma__act_backward)
    (c->f, c->alpha, c->Z->cols, SOMA__AT(c->Z, i, 0), SOMA__AT(c->A, i, 0),
     SOMA__AT(c->dA, i, 0), SOMA__AT(c->dZ, i, 0));
}

void SOMA_SFX(soma__activation_backward_rows)(soma_activation f, SOMA_T alpha, const M *Z,
                                              const M *A, const M *dA, M *dZ)
{
    if (SOMA__EMPTY(Z))
        return;
    const bool packed = f != SOMA_ACTIVATION_SOFTMAX && SOMA__PACKED(Z) &&
                        SOMA__PACKED(A) && SOMA__PACKED(dA) && SOMA__PACKED(dZ);
    if (packed) { /* one pass, on the pool when large */
        SOMA_SFX(soma__act_backward)
        (f, alpha, Z->rows * Z->cols, Z->data, A->data, dA->data, dZ->data);
        return;
    }
    const SOMA_SFX(bwd_rows_ctx) c = {f, alpha, Z, A, dA, dZ};
    const SOMA_SFX(act_loops) *k = loops_of(f);
    const size_t grain = k != NULL ? k->bwd_grain : SOMA__GRAIN_ACT_CHEAP;
    soma__par_for(Z->rows, grain / Z->cols + 1, SOMA_SFX(act_bwd_rows), &c);
}

/* ========================================================================== */
/* Losses                                                                     */
/* ========================================================================== */

/* Rows are processed in blocks of BLOCK elements: a vectorized loop writes
 * the per-element loss terms to a stack buffer, then they are summed in
 * lanes (vmath.h), so no reduction needs reassociation. */
#define BLOCK 256

static inline SOMA_T clamp_prob(SOMA_T p)
{
    const SOMA_T lo = SOMA_K_LOSS_EPS, hi = TC(1.0) - SOMA_K_LOSS_EPS;
    p = p < lo ? lo : p; /* NaN passes through */
    return p > hi ? hi : p;
}

SOMA_VEC static SOMA_T SOMA_SFX(mse_block)(size_t n, const SOMA_T *p, const SOMA_T *y,
                                           SOMA_T kd, SOMA_T *dp)
{
    SOMA_T t[BLOCK];
    for (size_t j = 0; j < n; j++) {
        SOMA_T d = p[j] - y[j];
        t[j] = d * d;
    }
    if (dp != NULL)
        for (size_t j = 0; j < n; j++) {
            SOMA_T d = p[j] - y[j];
            dp[j] = (d + d) / kd;
        }
    return VM(sum)(n, t);
}

SOMA_VEC static SOMA_T SOMA_SFX(bce_block)(size_t n, const SOMA_T *p, const SOMA_T *y,
                                           SOMA_T kd, SOMA_T *dp)
{
    SOMA_T t[BLOCK];
    for (size_t j = 0; j < n; j++) {
        SOMA_T pc = clamp_prob(p[j]);
        /* log(1 - p) as log1p(-p): exact near p = 0. */
        t[j] = -(y[j] * VM(log)(pc) + (TC(1.0) - y[j]) * VM(log1p)(-pc));
    }
    if (dp != NULL)
        for (size_t j = 0; j < n; j++) {
            SOMA_T pc = clamp_prob(p[j]);
            dp[j] = (pc - y[j]) / (kd * pc * (TC(1.0) - pc));
        }
    return VM(sum)(n, t);
}

SOMA_VEC static SOMA_T SOMA_SFX(ce_block)(size_t n, const SOMA_T *p, const SOMA_T *y,
                                          SOMA_T *dp)
{
    SOMA_T t[BLOCK];
    for (size_t j = 0; j < n; j++)
        t[j] = -y[j] * VM(log)(clamp_prob(p[j]));
    if (dp != NULL)
        for (size_t j = 0; j < n; j++)
            dp[j] = -y[j] / clamp_prob(p[j]);
    return VM(sum)(n, t);
}

/* Per-row loss of one row of k elements; dp (may be p) receives its gradient. */
static SOMA_T loss_row(soma_loss loss, size_t k, const SOMA_T *p, const SOMA_T *y,
                       SOMA_T *dp)
{
    const SOMA_T kd = (SOMA_T)k;
    SOMA_T sum = TC(0.0);
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        SOMA_T *d = dp != NULL ? dp + j0 : NULL;
        switch (loss) {
        case SOMA_LOSS_MSE:
            sum += SOMA_SFX(mse_block)(n, p + j0, y + j0, kd, d);
            break;
        case SOMA_LOSS_BCE:
            sum += SOMA_SFX(bce_block)(n, p + j0, y + j0, kd, d);
            break;
        default:
            sum += SOMA_SFX(ce_block)(n, p + j0, y + j0, d);
            break;
        }
    }
    return loss == SOMA_LOSS_CE ? sum : sum / kd;
}

double SOMA_SFX(soma__loss_sum)(soma_loss loss, const M *P, const M *Y, M *dP)
{
    double total = 0.0;
    if (P->cols == 0)
        return 0.0;
    for (size_t i = 0; i < P->rows; i++)
        total += loss_row(loss, P->cols, SOMA__AT(P, i, 0), SOMA__AT(Y, i, 0),
                          dP != NULL ? SOMA__AT(dP, i, 0) : NULL);
    return total;
}

/* ---- fused forms from logits ------------------------------------------------- */

/* Sigmoid + BCE on a block: t = per-element loss, p = sigmoid(z), g = (p - y)/k.
 * With e = e^-|z| and q = e/(1 + e) = sigmoid(-|z|), all in (0, 1]:
 *   loss = z (1 - y) + log1p(e) for z > 0, -z y + log1p(e) otherwise
 *          (two nonnegative terms: no cancellation, finite for finite z);
 *   p - y = (1 - y) - q for z >= 0, q - y otherwise (q is never 1 - tiny). */
SOMA_VEC static SOMA_T SOMA_SFX(bce_logits_block)(size_t n, const SOMA_T *z,
                                                  const SOMA_T *y, SOMA_T kd,
                                                  SOMA_T *restrict pb,
                                                  SOMA_T *restrict gb)
{
    SOMA_T t[BLOCK];
    for (size_t j = 0; j < n; j++) {
        const SOMA_T x = z[j], yj = y[j];
        const SOMA_T e = VM(exp_nonpos)(-SOMA_K_FABS(x)), d = TC(1.0) + e;
        const SOMA_T q = e / d;
        t[j] = (x > TC(0.0) ? x * (TC(1.0) - yj) : -x * yj) + VM(log1p)(e);
        pb[j] = x < TC(0.0) ? q : TC(1.0) / d;
        gb[j] = (x >= TC(0.0) ? (TC(1.0) - yj) - q : q - yj) / kd;
    }
    return VM(sum)(n, t);
}

/* Softmax + CE, first pass over a block of a row with maximum m: the sum of
 * e^(z - m) over entries below the maximum, the number of entries equal to
 * it, sum_j y_j (m - z_j) and sum_j y_j. */
SOMA_VEC static void SOMA_SFX(ce_logits_pass1)(size_t n, const SOMA_T *z, const SOMA_T *y,
                                               SOMA_T m, SOMA_T acc[4])
{
    SOMA_T t[BLOCK], c[BLOCK], w[BLOCK];
    for (size_t j = 0; j < n; j++) {
        const SOMA_T e = VM(exp_diff)(z[j], m);
        t[j] = z[j] == m ? TC(0.0) : e;
        c[j] = z[j] == m ? TC(1.0) : TC(0.0);
        /* m - z can overflow to +inf for finite z; a zero target ignores it. */
        w[j] = y[j] > TC(0.0) ? y[j] * (m - z[j]) : TC(0.0);
    }
    acc[0] += VM(sum)(n, t);
    acc[1] += VM(sum)(n, c);
    acc[2] += VM(sum)(n, w);
    acc[3] += VM(sum)(n, y);
}

/* Second pass: p = e^(z - m) / s with s = 1 + tail, and the gradient p - y,
 * taken as (1 - y) - tail/s at the maximum so that it keeps its relative
 * accuracy when p is within rounding of 1. */
SOMA_VEC static void SOMA_SFX(ce_logits_pass2)(size_t n, const SOMA_T *z, const SOMA_T *y,
                                               SOMA_T m, SOMA_T s, SOMA_T tail_frac,
                                               SOMA_T *restrict pb, SOMA_T *restrict gb)
{
    for (size_t j = 0; j < n; j++) {
        const SOMA_T p = VM(exp_diff)(z[j], m) / s;
        pb[j] = p;
        gb[j] = z[j] == m ? (TC(1.0) - y[j]) - tail_frac : p - y[j];
    }
}

/* Blocks of pb / gb computed into stack buffers are copied out to p and dz
 * (either may be NULL): P never overlaps Z; dZ may be Z, and the block of z
 * is read already. */
static void put_block(size_t j0, size_t n, const SOMA_T *pb, const SOMA_T *gb, SOMA_T *p,
                      SOMA_T *dz)
{
    if (p != NULL)
        memcpy(p + j0, pb, n * sizeof *pb);
    if (dz != NULL)
        memcpy(dz + j0, gb, n * sizeof *gb);
}

/* Sigmoid + BCE over k contiguous elements with the per-element losses
 * divided by kd: one row of k outputs (kd = k), or a column of k one-output
 * rows stored contiguously (kd = 1: the per-row losses are the elements',
 * computed in blocks instead of one call per row, since a binary
 * classifier's output layer is m x 1 and per-row calls cost more than the
 * arithmetic). Returns the sum of the block sums. */
static SOMA_T bce_logits_run(size_t k, SOMA_T kd, const SOMA_T *z, const SOMA_T *y,
                             SOMA_T *p, SOMA_T *dz)
{
    SOMA_T pb[BLOCK], gb[BLOCK], sum = TC(0.0);
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        sum += SOMA_SFX(bce_logits_block)(n, z + j0, y + j0, kd, pb, gb);
        put_block(j0, n, pb, gb, p, dz);
    }
    return sum;
}

SOMA_VEC static SOMA_T SOMA_SFX(logits_row_max)(size_t n, const SOMA_T *x)
{
    return VM(max)(n, x);
}

static SOMA_T ce_logits_row(size_t k, const SOMA_T *z, const SOMA_T *y, SOMA_T *p,
                            SOMA_T *dz)
{
    /* log sum_j e^(z_j) = m + log(count + below) = m + log1p(tail), where
     * tail = (count - 1) + below is exact when below is small, so the loss of
     * a confident, correct row keeps its relative accuracy. */
    const SOMA_T m = SOMA_SFX(logits_row_max)(k, z);
    SOMA_T acc[4] = {TC(0.0), TC(0.0), TC(0.0), TC(0.0)}; /* below, count, ydist, ysum */
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        SOMA_SFX(ce_logits_pass1)(n, z + j0, y + j0, m, acc);
    }
    const SOMA_T tail = (acc[1] - TC(1.0)) + acc[0];
    /* -sum_j y_j log p_j = sum_j y_j (m - z_j) + (sum_j y_j) log1p(tail);
     * sum_j y_j is 1 to within 1e-9 and is kept as given. */
    const SOMA_T loss = acc[2] + acc[3] * VM(log1p)(tail);
    if (p == NULL && dz == NULL)
        return loss;
    const SOMA_T s = TC(1.0) + tail, tail_frac = tail / s;
    SOMA_T pb[BLOCK], gb[BLOCK];
    for (size_t j0 = 0; j0 < k; j0 += BLOCK) {
        const size_t n = k - j0 < BLOCK ? k - j0 : BLOCK;
        SOMA_SFX(ce_logits_pass2)(n, z + j0, y + j0, m, s, tail_frac, pb, gb);
        put_block(j0, n, pb, gb, p, dz);
    }
    return loss;
}

/* True when every non-NULL matrix has one column and packed rows (ld 1 or
 * a single row), so that the column is one contiguous array. */
static bool packed_column(const M *Z, const M *Y, const M *P, const M *dZ)
{
    const M *m[4] = {Z, Y, P, dZ};
    for (int i = 0; i < 4; i++)
        if (m[i] != NULL && m[i]->cols == 1 && m[i]->ld != 1 && m[i]->rows > 1)
            return false;
    return true;
}

double SOMA_SFX(soma__loss_logits_sum)(soma_loss loss, const M *Z, const M *Y, M *P,
                                       M *dZ)
{
    double total = 0.0;
    if (Z->cols == 0)
        return 0.0;
    if (loss == SOMA_LOSS_BCE && Z->cols == 1 && packed_column(Z, Y, P, dZ))
        return bce_logits_run(Z->rows, TC(1.0), Z->data, Y->data,
                              P != NULL ? P->data : NULL, dZ != NULL ? dZ->data : NULL);
    for (size_t i = 0; i < Z->rows; i++) {
        const SOMA_T *z = SOMA__AT(Z, i, 0), *y = SOMA__AT(Y, i, 0);
        SOMA_T *p = P != NULL ? SOMA__AT(P, i, 0) : NULL;
        SOMA_T *dz = dZ != NULL ? SOMA__AT(dZ, i, 0) : NULL;
        const SOMA_T kd = (SOMA_T)Z->cols;
        total += loss == SOMA_LOSS_BCE ? bce_logits_run(Z->cols, kd, z, y, p, dz) / kd
                                       : ce_logits_row(Z->cols, z, y, p, dz);
    }
    return total;
}

/* ========================================================================== */
/* Flat vectors: optimizer updates and gradient post-processing               */
/* ========================================================================== */

/* One pass over flat arrays, so the AVX-512 clone does a vector of
 * parameters per operation. Every operation is an IEEE +, -, *, / or sqrt,
 * so each clone gives the same bits.
 *
 * The gradient each update applies is (g + l2 p) f: weight decay and the
 * clipping factor folded into the update's own pass (no pass writing them
 * into g first). The sum is taken only when l2 != 0 and the product only
 * when f != 1, each rounded as a separate pass would round it, so the
 * parameters get the bits they got with g adjusted in memory. */
static inline SOMA_T SOMA_SFX(grad_adj)(SOMA_T g, SOMA_T p, SOMA_T l2, SOMA_T f)
{
    const SOMA_T gl = l2 != TC(0.0) ? g + l2 * p : g;
    return f != TC(1.0) ? gl * f : gl;
}

/* Each loop is written once, with the adjustment as a constant `adj`, and
 * instantiated twice: without it (the common case: no decay, no clipping)
 * the loop does not evaluate and discard the adjusted gradient. */
#define UPDATE_INLINE static inline __attribute__((always_inline))
#define GRAD(i) (adj ? SOMA_SFX(grad_adj)(g[i], p[i], l2, f) : g[i])
#define BOTH_WAYS(call_false, call_true)                                                 \
    do {                                                                                 \
        if (l2 == TC(0.0) && f == TC(1.0))                                               \
            call_false;                                                                  \
        else                                                                             \
            call_true;                                                                   \
    } while (0)

UPDATE_INLINE void SOMA_SFX(sgd_loop)(size_t n, SOMA_T lr, SOMA_T l2, SOMA_T f,
                                      SOMA_T *restrict p, const SOMA_T *restrict g, bool adj)
{
    for (size_t i = 0; i < n; i++)
        p[i] -= lr * GRAD(i);
}

SOMA_VEC static void SOMA_SFX(step_sgd)(size_t n, SOMA_T lr, SOMA_T l2, SOMA_T f,
                                        SOMA_T *restrict p, const SOMA_T *restrict g)
{
    BOTH_WAYS(SOMA_SFX(sgd_loop)(n, lr, l2, f, p, g, false),
              SOMA_SFX(sgd_loop)(n, lr, l2, f, p, g, true));
}

UPDATE_INLINE void SOMA_SFX(momentum_loop)(size_t n, SOMA_T lr, SOMA_T mu, bool nesterov,
                                           SOMA_T l2, SOMA_T f, SOMA_T *restrict p,
                                           const SOMA_T *restrict g, SOMA_T *restrict v,
                                           bool adj)
{
    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            const SOMA_T gi = GRAD(i);
            SOMA_T vi = mu * v[i] - lr * gi;
            v[i] = vi;
            p[i] += mu * vi - lr * gi;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            SOMA_T vi = mu * v[i] - lr * GRAD(i);
            v[i] = vi;
            p[i] += vi;
        }
    }
}

SOMA_VEC static void SOMA_SFX(step_momentum)(size_t n, SOMA_T lr, SOMA_T mu,
                                             bool nesterov, SOMA_T l2, SOMA_T f,
                                             SOMA_T *restrict p, const SOMA_T *restrict g,
                                             SOMA_T *restrict v)
{
    BOTH_WAYS(SOMA_SFX(momentum_loop)(n, lr, mu, nesterov, l2, f, p, g, v, false),
              SOMA_SFX(momentum_loop)(n, lr, mu, nesterov, l2, f, p, g, v, true));
}

/* c1 = lr / (1 - b1^t) and c2 = 1 / (1 - b2^t), the bias corrections, are
 * computed in double and rounded once to the type. */
UPDATE_INLINE void SOMA_SFX(adam_loop)(size_t n, SOMA_T b1, SOMA_T b2, SOMA_T eps,
                                       SOMA_T c1, SOMA_T c2, SOMA_T l2, SOMA_T f,
                                       SOMA_T *restrict p, const SOMA_T *restrict g,
                                       SOMA_T *restrict m, SOMA_T *restrict s, bool adj)
{
    for (size_t i = 0; i < n; i++) {
        SOMA_T gi = GRAD(i);
        SOMA_T mi = b1 * m[i] + (TC(1.0) - b1) * gi;
        SOMA_T si = b2 * s[i] + (TC(1.0) - b2) * gi * gi;
        m[i] = mi;
        s[i] = si;
        p[i] -= c1 * mi / (SOMA_K_SQRT(si * c2) + eps);
    }
}

SOMA_VEC static void SOMA_SFX(step_adam)(size_t n, SOMA_T b1, SOMA_T b2, SOMA_T eps,
                                         SOMA_T c1, SOMA_T c2, SOMA_T l2, SOMA_T f,
                                         SOMA_T *restrict p, const SOMA_T *restrict g,
                                         SOMA_T *restrict m, SOMA_T *restrict s)
{
    BOTH_WAYS(SOMA_SFX(adam_loop)(n, b1, b2, eps, c1, c2, l2, f, p, g, m, s, false),
              SOMA_SFX(adam_loop)(n, b1, b2, eps, c1, c2, l2, f, p, g, m, s, true));
}

#undef BOTH_WAYS
#undef GRAD
#undef UPDATE_INLINE

typedef struct SOMA_SFX(update_ctx) {
    soma_optimizer kind;
    SOMA_T lr, mu, b1, b2, eps, c1, c2, l2, f;
    SOMA_T *p, *v, *s;
    const SOMA_T *g;
    SOMA_T *g_zero;
} SOMA_SFX(update_ctx);

/* The update of the parameters [i0, i1): element by element, so any
 * partition into blocks gives the same bits. */
static void SOMA_SFX(update_block)(const void *ctx, size_t i0, size_t i1)
{
    const SOMA_SFX(update_ctx) *u = ctx;
    const size_t n = i1 - i0;
    SOMA_T *p = u->p + i0, *v = u->v != NULL ? u->v + i0 : NULL;
    const SOMA_T *g = u->g + i0;
    switch (u->kind) {
    case SOMA_OPTIMIZER_SGD:
        SOMA_SFX(step_sgd)(n, u->lr, u->l2, u->f, p, g);
        break;
    case SOMA_OPTIMIZER_MOMENTUM:
    case SOMA_OPTIMIZER_NESTEROV:
        SOMA_SFX(step_momentum)
        (n, u->lr, u->mu, u->kind == SOMA_OPTIMIZER_NESTEROV, u->l2, u->f, p, g, v);
        break;
    case SOMA_OPTIMIZER_ADAM:
        SOMA_SFX(step_adam)
        (n, u->b1, u->b2, u->eps, u->c1, u->c2, u->l2, u->f, p, g, v, u->s + i0);
        break;
    default:
        break;
    }
    if (u->g_zero != NULL)
        memset(u->g_zero + i0, 0, n * sizeof *u->g_zero);
}

void SOMA_SFX(soma__optim_update)(const soma_optim_config *c, uint64_t t, double lr,
                                  size_t n, SOMA_T *p, const SOMA_T *g, SOMA_T *v,
                                  SOMA_T *s, double l2, double f, SOMA_T *g_zero)
{
    SOMA_SFX(update_ctx) u = {.kind = c->kind,
                              .lr = (SOMA_T)lr,
                              .mu = (SOMA_T)c->momentum,
                              .l2 = (SOMA_T)l2,
                              .f = (SOMA_T)f,
                              .p = p,
                              .v = v,
                              .s = s,
                              .g = g,
                              .g_zero = g_zero};
    if (c->kind == SOMA_OPTIMIZER_ADAM) {
        u.b1 = (SOMA_T)c->beta1;
        u.b2 = (SOMA_T)c->beta2;
        u.eps = (SOMA_T)c->epsilon;
        u.c1 = (SOMA_T)(lr / (1.0 - pow(c->beta1, (double)t)));
        u.c2 = (SOMA_T)(1.0 / (1.0 - pow(c->beta2, (double)t)));
    }
    soma__par_for(n, SOMA__GRAIN_COPY, SOMA_SFX(update_block), &u);
}

SOMA_VEC static void SOMA_SFX(axpy)(size_t n, SOMA_T a, const SOMA_T *restrict x,
                                    SOMA_T *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

void SOMA_SFX(soma__axpy)(size_t n, SOMA_T a, const SOMA_T *x, SOMA_T *y)
{
    SOMA_SFX(axpy)(n, a, x, y);
}

SOMA_VEC static void SOMA_SFX(scale)(size_t n, SOMA_T f, SOMA_T *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= f;
}

void SOMA_SFX(soma__scale)(size_t n, SOMA_T f, SOMA_T *x)
{
    SOMA_SFX(scale)(n, f, x);
}

/* In VM_K_LANES double lanes, products taken in double (exact for float). */
SOMA_VEC static double SOMA_SFX(sum_squares)(size_t n, const SOMA_T *x)
{
    enum { LANES = 8 };
    double s[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t k = 0; k < LANES; k++)
            s[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++)
        s[0] += (double)x[i] * (double)x[i];
    double r = 0.0;
    for (size_t k = 0; k < LANES; k++)
        r += s[k];
    return r;
}

double SOMA_SFX(soma__sum_squares)(size_t n, const SOMA_T *x)
{
    return SOMA_SFX(sum_squares)(n, x);
}

/* sum_squares of the values g[i] + l2 p[i] (each rounded to the type, as
 * adding l2 p into g would round it), without writing them. */
SOMA_VEC static double SOMA_SFX(sum_squares_l2)(size_t n, const SOMA_T *g, const SOMA_T *p,
                                                SOMA_T l2)
{
    enum { LANES = 8 };
    double s[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t k = 0; k < LANES; k++) {
            const double x = (double)(g[i + k] + l2 * p[i + k]);
            s[k] += x * x;
        }
    for (; i < n; i++) {
        const double x = (double)(g[i] + l2 * p[i]);
        s[0] += x * x;
    }
    double r = 0.0;
    for (size_t k = 0; k < LANES; k++)
        r += s[k];
    return r;
}

double SOMA_SFX(soma__sum_squares_l2)(size_t n, const SOMA_T *g, const SOMA_T *p, double l2)
{
    return l2 != 0.0 ? SOMA_SFX(sum_squares_l2)(n, g, p, (SOMA_T)l2)
                     : SOMA_SFX(sum_squares)(n, g);
}

/* x - x is 0 for finite x and NaN for NaN and the infinities; the sum of
 * those, in lanes of one 64-byte vector, is 0 exactly when every x is
 * finite. */
SOMA_VEC static bool SOMA_SFX(finite_lanes)(size_t n, const SOMA_T *x)
{
    enum { LANES = 64 / sizeof(SOMA_T) };
    SOMA_T s[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t k = 0; k < LANES; k++)
            s[k] += x[i + k] - x[i + k];
    for (; i < n; i++)
        s[0] += x[i] - x[i];
    SOMA_T r = TC(0.0);
    for (size_t k = 0; k < LANES; k++)
        r += s[k];
    return r == TC(0.0);
}

/* Partial result of the finiteness check over x[begin, end): 0, or NaN
 * when a value there is not finite. */
static void finite_block(const void *ctx, size_t begin, size_t end, double *out)
{
    const SOMA_T *x = ctx;
    *out = SOMA_SFX(finite_lanes)(end - begin, x + begin) ? 0.0 : NAN;
}

bool SOMA_SFX(soma__all_finite)(size_t n, const SOMA_T *x)
{
    double bad = 0.0;
    soma__par_sums(n, SOMA__GRAIN_CHECK, 1, finite_block, x, &bad);
    return bad == 0.0;
}

/* Conversions between double and the type, each direction one loop (a
 * copy for double, skipped when in place). */
#define CONVERT(name, TIN, TOUT)                                                         \
    SOMA_VEC static void SOMA_SFX(name)(size_t n, const TIN *restrict x,                 \
                                        TOUT *restrict y)                                \
    {                                                                                    \
        for (size_t i = 0; i < n; i++)                                                   \
            y[i] = (TOUT)x[i];                                                           \
    }                                                                                    \
    void SOMA_SFX(soma__##name)(size_t n, const TIN *x, TOUT *y)                         \
    {                                                                                    \
        if ((const void *)x != (const void *)y)                                          \
            SOMA_SFX(name)(n, x, y);                                                     \
    }

CONVERT(from_f64, double, SOMA_T)
CONVERT(to_f64, SOMA_T, double)
#undef CONVERT

/* ========================================================================== */
/* Products                                                                   */
/* ========================================================================== */

void SOMA_SFX(soma__gemm_loop)(bool ta, bool tb, size_t m, size_t n, size_t k,
                               SOMA_T alpha, const SOMA_T *a, size_t lda, const SOMA_T *b,
                               size_t ldb, SOMA_T beta, SOMA_T *c, size_t ldc)
{
    /* The textbook triple loop: one dot product per element of C. */
    const size_t as_i = ta ? 1 : lda, as_p = ta ? lda : 1;
    const size_t bs_p = tb ? 1 : ldb, bs_j = tb ? ldb : 1;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            SOMA_T sum = TC(0.0);
            for (size_t p = 0; p < k; p++)
                sum += a[i * as_i + p * as_p] * b[p * bs_p + j * bs_j];
            SOMA_T *cij = c + i * ldc + j;
            *cij = beta == TC(0.0) ? alpha * sum : alpha * sum + beta * *cij;
        }
    }
}

static void scale_c(M *C, SOMA_T beta)
{
    for (size_t i = 0; i < C->rows; i++) {
        SOMA_T *r = SOMA__AT(C, i, 0);
        for (size_t j = 0; j < C->cols; j++)
            r[j] = beta == TC(0.0) ? TC(0.0) : beta * r[j];
    }
}

void SOMA_SFX(soma__gemm)(bool ta, bool tb, SOMA_T alpha, const M *A, const M *B,
                          SOMA_T beta, M *C)
{
    const size_t m = C->rows, n = C->cols, k = ta ? A->rows : A->cols;
    if (m == 0 || n == 0)
        return;
    if (k == 0 || alpha == TC(0.0)) {
        scale_c(C, beta);
        return;
    }
#if defined(SOMA_GEMM_NAIVE)
    SOMA_SFX(soma__gemm_loop)
    (ta, tb, m, n, k, alpha, A->data, A->ld, B->data, B->ld, beta, C->data, C->ld);
#else
    /* Callers guarantee every dimension >= 1 and ld >= cols >= 1 (and
     * <= INT_MAX), so the BLAS's own argument check, which prints and
     * returns, cannot fire. */
#if defined(SOMA_K_GEMM_SMALL)
    /* Tiny products: the small-product kernel where it beats the BLAS
     * (lib/gemm_small.c; double only, a float model always calls sgemm). */
    if (soma__gemm_small_wins(ta, m, n, k)) {
        SOMA_K_GEMM_SMALL(ta, tb, m, n, k, alpha, A->data, A->ld, B->data, B->ld, beta,
                          C->data, C->ld);
    } else
#endif
    {
        SOMA_K_CBLAS_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                          tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha,
                          A->data, (int)A->ld, B->data, (int)B->ld, beta, C->data,
                          (int)C->ld);
    }
#endif
}

/* ========================================================================== */
/* Dense layers                                                               */
/* ========================================================================== */

/* dense_forward's bias and activation, on the pool by groups of `group`
 * rows (flat over each group when packed). */
typedef struct SOMA_SFX(bias_act_ctx) {
    soma_activation f;
    SOMA_T alpha;
    const M *b;
    M *Z, *A;
    size_t group;
    bool packed;
} SOMA_SFX(bias_act_ctx);

/* Bias and activation of the row groups [g0, g1). */
static void SOMA_SFX(bias_act_groups)(const void *ctx, size_t g0, size_t g1)
{
    const SOMA_SFX(bias_act_ctx) *c = ctx;
    const M *Z = c->Z, *A = c->A;
    const size_t m = Z->rows, n = Z->cols;
    for (size_t i0 = g0 * c->group; i0 < m && i0 < g1 * c->group; i0 += c->group) {
        const size_t g = m - i0 < c->group ? m - i0 : c->group;
        SOMA_SFX(soma__add_bias_rows)(g, n, SOMA__AT(Z, i0, 0), Z->ld, c->b->data);
        if (c->packed) {
            SOMA_SFX(soma__act_forward)
            (c->f, c->alpha, g * n, SOMA__AT(Z, i0, 0), SOMA__AT(A, i0, 0));
            continue;
        }
        for (size_t i = i0; i < i0 + g; i++)
            SOMA_SFX(soma__act_forward)
        (c->f, c->alpha, n, SOMA__AT(Z, i, 0), SOMA__AT(A, i, 0));
    }
}

void SOMA_SFX(soma__dense_forward)(const M *W, const M *b, soma_activation f,
                                   SOMA_T alpha, const M *X, M *Z, M *A)
{
    SOMA_SFX(soma__gemm)(false, false, TC(1.0), X, W, TC(0.0), Z);
    if (SOMA__EMPTY(Z))
        return;
    /* Bias and activation over groups of rows of about DENSE_GROUP elements,
     * so that the group is still in cache for the second pass, with one
     * call per group rather than per row when Z and A are packed (narrow
     * layers: per-row calls of 64 elements cost as much as the arithmetic). */
    enum { DENSE_GROUP = 4096 };
    const size_t m = Z->rows, n = Z->cols;
    const bool packed =
        f != SOMA_ACTIVATION_SOFTMAX && SOMA__PACKED(Z) && SOMA__PACKED(A);
    const size_t group = packed && n < DENSE_GROUP ? DENSE_GROUP / n : 1;
    /* The groups on the pool, a grain of f's or more a block:
     * each element's bits do not depend on the group it is in. */
    const SOMA_SFX(bias_act_ctx) c = {f, alpha, b, Z, A, group, packed};
    soma__par_for((m + group - 1) / group, SOMA_SFX(fwd_grain)(f) / (group * n) + 1,
                  SOMA_SFX(bias_act_groups), &c);
}

/* Columns per item of the column-sum loop: a cache line of the type, so
 * that blocks of columns never share a line of db. */
enum { COL_GROUP = 64 / sizeof(SOMA_T) };

typedef struct SOMA_SFX(col_sums_ctx) {
    const M *dZ;
    SOMA_T scale;
    bool accumulate;
    SOMA_T *db;
} SOMA_SFX(col_sums_ctx);

/* db[j0 .. j0 + W) (+)= scale * the sums of those columns of dZ, with the
 * sums held in registers: W is a constant at every call, so the loop over
 * it unrolls (summing into db itself made each row wait for the previous
 * row's stores: 1 ns per element on narrow layers). Each column adds its
 * rows in order, starting from db or from 0 (which adds exactly). */
static inline __attribute__((always_inline)) void
SOMA_SFX(col_sums_block)(const M *dZ, size_t j0, size_t W, SOMA_T scale, bool accumulate,
                         SOMA_T *db)
{
    SOMA_T s[COL_GROUP];
    for (size_t j = 0; j < W; j++)
        s[j] = accumulate ? db[j0 + j] : TC(0.0);
    for (size_t i = 0; i < dZ->rows; i++) {
        const SOMA_T *r = SOMA__AT(dZ, i, j0);
        for (size_t j = 0; j < W; j++)
            s[j] += scale * r[j];
    }
    for (size_t j = 0; j < W; j++)
        db[j0 + j] = s[j];
}

/* The columns [j0, j1) in blocks of COL_GROUP, then of 8, 4, 2 and 1 for
 * the ones left over. */
SOMA_VEC static void SOMA_SFX(col_sums_range)(const M *dZ, size_t j0, size_t j1,
                                              SOMA_T scale, bool accumulate, SOMA_T *db)
{
    size_t j = j0;
#define SUMS_BLOCK(j, W) SOMA_SFX(col_sums_block)(dZ, j, W, scale, accumulate, db)
    for (; j + COL_GROUP <= j1; j += COL_GROUP)
        SUMS_BLOCK(j, COL_GROUP);
    NARROW_BLOCKS(j, j1, SUMS_BLOCK);
#undef SUMS_BLOCK
}

/* db[j] (+)= scale * sum of column j of dZ for the columns of groups [g0,
 * g1): per column the same additions in the same order whatever the
 * groups, so the bits do not depend on the thread count. */
static void col_sums_groups(const void *ctx, size_t g0, size_t g1)
{
    const SOMA_SFX(col_sums_ctx) *c = ctx;
    const size_t j0 = g0 * COL_GROUP;
    const size_t j1 = g1 * COL_GROUP < c->dZ->cols ? g1 * COL_GROUP : c->dZ->cols;
    SOMA_SFX(col_sums_range)(c->dZ, j0, j1, c->scale, c->accumulate, c->db);
}

static void col_sums(const M *dZ, SOMA_T scale, bool accumulate, SOMA_T *db)
{
    const size_t n = dZ->cols;
    if (n == 0)
        return;
    SOMA_SFX(col_sums_ctx) c = {dZ, scale, accumulate, db};
    const size_t groups = (n + COL_GROUP - 1) / COL_GROUP;
    if (dZ->rows == 0) {
        col_sums_groups(&c, 0, groups);
        return;
    }
    soma__par_for(groups, soma__col_sums_grain(dZ->rows, n, COL_GROUP), col_sums_groups,
                  &c);
}

void SOMA_SFX(soma__dense_grads)(const M *W, const M *X, const M *dZ, SOMA_T scale,
                                 bool accumulate, M *dW, M *db, M *dX)
{
    SOMA_SFX(soma__gemm)(true, false, scale, X, dZ, accumulate ? TC(1.0) : TC(0.0), dW);
    col_sums(dZ, scale, accumulate, db->data);
    if (dX != NULL)
        SOMA_SFX(soma__gemm)(false, true, TC(1.0), dZ, W, TC(0.0), dX);
}

#undef BLOCK
#undef NARROW_BLOCKS
#undef NARROW_BLOCK
#undef TC
#undef VM
#undef M
