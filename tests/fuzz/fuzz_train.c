/* Fuzz target: random shapes and values through soma_gemm, an activation
 * (forward and backward) and a short fit, comparing the BLAS build with the
 * naive one.
 *
 * Both backends in one process: libsoma (this build's backend, BLAS by
 * default) is linked; the naive variant (the same sources compiled with
 * -DSOMA_GEMM_NAIVE, the static soma_naive objects) is a shared module
 * linked with -Bsymbolic and opened with dlopen(RTLD_LOCAL), so that its
 * functions and libsoma's, which have the same names, stay apart. A third,
 * independent reference is the triple loop below.
 *
 * What is compared:
 * - gemm: values are either dyadic (k/256, |v| < 128) with dyadic alpha and
 *   beta, where every product and sum is exact in any order, so BLAS, naive
 *   and reference must agree exactly, NaN and infinity included; or scaled
 *   integers (|v| < 2^20 with 31 significant bits), where they must agree
 *   within the error bound of a k-term dot product,
 *   |C - C_ref| <= (k + 2) eps (|alpha| sum |a||b| + |beta c|) elementwise.
 *   The documented edge cases (m, n or k zero, alpha zero, beta zero: C is
 *   not read) are part of the reference; elements of C's padding (ld > cols)
 *   must not change.
 * - activations: both libraries give the same bits (same code, same flags);
 *   identity, relu and leaky relu equal their definitions exactly; sigmoid,
 *   tanh and elu are within 2e-14 relative of libm where |f| >= 1e-300;
 *   outputs stay in their ranges; softmax sums to 1 for finite input.
 * - fit: the same model (parameters copied from the BLAS one), data and
 *   options in both libraries: the same status, the same history length and
 *   stop reason, parameters within 1e-7 relative (summation order differs
 *   only in the products; at most 8 small steps) unless the parameters grew
 *   past 1e4, where rounding differences are amplified beyond any bound. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <float.h>
#include <math.h>

#include "fuzz_common.h"

#ifndef SOMA_NAIVE_MODULE
#error "SOMA_NAIVE_MODULE must name the naive shared module"
#endif

/* ---- the two libraries --------------------------------------------------- */

typedef struct api {
    soma_status (*gemm)(soma_trans, soma_trans, double, const soma_matrix *,
                        const soma_matrix *, double, soma_matrix *);
    soma_status (*act_forward)(soma_activation, double, size_t, const double *, double *,
                               soma_error_info *);
    soma_status (*act_backward)(soma_activation, double, size_t, const double *,
                                const double *, const double *, double *,
                                soma_error_info *);
    soma_status (*mlp_create)(soma_mlp **, const size_t *, size_t, const soma_mlp_spec *,
                              const soma_allocator *, soma_error_info *);
    void (*mlp_destroy)(soma_mlp *);
    soma_status (*mlp_params)(soma_mlp *, soma_matrix *, soma_error_info *);
    soma_status (*mlp_fit)(soma_mlp *, const soma_matrix *, const soma_matrix *,
                           const soma_fit_options *, soma_history *, soma_error_info *);
    soma_status (*mlp_predict_proba)(const soma_mlp *, const soma_matrix *, soma_matrix *,
                                     soma_error_info *);
    void (*history_free)(soma_history *);
    const char *(*backend_name)(void);
} api;

static const api linked = {
    soma_gemm,        soma_activation_forward, soma_activation_backward,
    soma_mlp_create,  soma_mlp_destroy,        soma_mlp_params,
    soma_mlp_fit,     soma_mlp_predict_proba,  soma_history_free,
    soma_backend_name};

static void *symbol(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (p == NULL) {
        fprintf(stderr, "%s: %s\n", name, dlerror());
        abort();
    }
    return p;
}

/* Function pointers from dlsym, the POSIX way (ISO C has no conversion
 * from void * to a function pointer). */
#define LOAD(field, name) memcpy(&n.field, &(void *){symbol(h, name)}, sizeof n.field)

static const api *naive(void)
{
    static api n;
    static bool loaded;
    if (loaded)
        return &n;
    void *h = dlopen(SOMA_NAIVE_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", SOMA_NAIVE_MODULE, dlerror());
        abort();
    }
    LOAD(gemm, "soma_gemm");
    LOAD(act_forward, "soma_activation_forward");
    LOAD(act_backward, "soma_activation_backward");
    LOAD(mlp_create, "soma_mlp_create");
    LOAD(mlp_destroy, "soma_mlp_destroy");
    LOAD(mlp_params, "soma_mlp_params");
    LOAD(mlp_fit, "soma_mlp_fit");
    LOAD(mlp_predict_proba, "soma_mlp_predict_proba");
    LOAD(history_free, "soma_history_free");
    LOAD(backend_name, "soma_backend_name");
    /* It is the naive build, and a different copy from the linked one. */
    FUZZ_CHECK(strcmp(n.backend_name(), "naive") == 0);
    FUZZ_CHECK(n.gemm != linked.gemm);
    loaded = true;
    return &n;
}

/* ---- values from the input ----------------------------------------------- */

enum value_mode { DYADIC, SPECIAL, SCALED };

static double dyadic(fuzz_input *in)
{
    return (double)(int16_t)fuzz_u16(in) / 256.0;
}

static double value(fuzz_input *in, enum value_mode mode)
{
    if (mode == DYADIC)
        return dyadic(in);
    if (mode == SCALED) {
        int e = (int)(fuzz_byte(in) % 41) - 51; /* 2^-51 .. 2^-11 times a 31-bit int */
        return ldexp((double)(int32_t)fuzz_u32(in), e);
    }
    switch (fuzz_byte(in) % 10) {
    case 0:
        return NAN;
    case 1:
        return INFINITY;
    case 2:
        return -INFINITY;
    case 3:
        return -0.0;
    default:
        return dyadic(in);
    }
}

static const double scalars[8] = {0.0, 1.0, -1.0, 0.5, 2.0, -0.25, 3.0, 1.5};

/* ---- gemm ------------------------------------------------------------------ */

static bool same_value(double x, double y)
{
    return (isnan(x) && isnan(y)) || x == y;
}

/* The documented semantics, element by element. */
static void reference_gemm(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                           const soma_matrix *A, const soma_matrix *B, double beta,
                           double *C, size_t ldc, double *bound)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double *c = &C[i * ldc + j];
            double *bd = &bound[i * n + j];
            if (k == 0 || alpha == 0.0) {
                *bd = fabs(beta * *c);
                *c = beta == 0.0 ? 0.0 : beta * *c;
                continue;
            }
            double sum = 0.0, mag = 0.0;
            for (size_t p = 0; p < k; p++) {
                double a = ta ? A->data[p * A->ld + i] : A->data[i * A->ld + p];
                double b = tb ? B->data[j * B->ld + p] : B->data[p * B->ld + j];
                sum += a * b;
                mag += fabs(a * b);
            }
            *bd = fabs(alpha) * mag + (beta == 0.0 ? 0.0 : fabs(beta * *c));
            *c = beta == 0.0 ? alpha * sum : alpha * sum + beta * *c;
        }
}

static void fuzz_gemm(fuzz_input *in)
{
    const size_t m = fuzz_byte(in) % 9, n = fuzz_byte(in) % 9, k = fuzz_byte(in) % 9;
    const uint8_t flags = fuzz_byte(in);
    const bool ta = flags & 1, tb = flags & 2;
    const enum value_mode mode = (enum value_mode)((flags >> 2) % 3);
    const uint8_t sc = fuzz_byte(in), pads = fuzz_byte(in);
    double alpha = scalars[sc & 7], beta = scalars[(sc >> 3) & 7];
    if (mode == SCALED) { /* any alpha and beta: the bound covers them */
        alpha = value(in, SCALED);
        beta = (sc & 0x40) ? 0.0 : value(in, SCALED);
    }
    const size_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    const size_t lda = ac + (pads & 3), ldb = bc + ((pads >> 2) & 3),
                 ldc = n + ((pads >> 4) & 3);
    double *a = calloc(ar * lda + 1, sizeof(double));
    double *b = calloc(br * ldb + 1, sizeof(double));
    double *c0 = calloc(m * ldc + 1, sizeof(double));
    double *c1 = calloc(m * ldc + 1, sizeof(double));
    double *c2 = calloc(m * ldc + 1, sizeof(double));
    double *cr = calloc(m * ldc + 1, sizeof(double));
    double *bound = calloc(m * n + 1, sizeof(double));
    FUZZ_CHECK(a && b && c0 && c1 && c2 && cr && bound);
    /* Padding elements get values too: they must be neither read nor
     * written (a NaN there would show up in C if read). */
    for (size_t i = 0; i < ar * lda; i++)
        a[i] = (i % lda) < ac ? value(in, mode) : NAN;
    for (size_t i = 0; i < br * ldb; i++)
        b[i] = (i % ldb) < bc ? value(in, mode) : NAN;
    for (size_t i = 0; i < m * ldc; i++)
        c0[i] = (i % ldc) < n ? value(in, mode) : 12345.0;
    memcpy(c1, c0, m * ldc * sizeof(double));
    memcpy(c2, c0, m * ldc * sizeof(double));
    memcpy(cr, c0, m * ldc * sizeof(double));

    soma_matrix A, B, C1, C2, Cr;
    FUZZ_CHECK(soma_matrix_view(&A, ar && ac ? a : NULL, ar, ac, lda) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_view(&B, br && bc ? b : NULL, br, bc, ldb) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_view(&C1, m && n ? c1 : NULL, m, n, ldc) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_view(&C2, m && n ? c2 : NULL, m, n, ldc) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_view(&Cr, m && n ? cr : NULL, m, n, ldc) == SOMA_OK);
    const soma_trans tra = ta ? SOMA_TRANS_YES : SOMA_TRANS_NO;
    const soma_trans trb = tb ? SOMA_TRANS_YES : SOMA_TRANS_NO;
    FUZZ_CHECK(linked.gemm(tra, trb, alpha, &A, &B, beta, &C1) == SOMA_OK);
    FUZZ_CHECK(naive()->gemm(tra, trb, alpha, &A, &B, beta, &C2) == SOMA_OK);
    reference_gemm(ta, tb, m, n, k, alpha, &A, &B, beta, cr, ldc, bound);
    const double gamma = (double)(k + 2) * DBL_EPSILON;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < ldc; j++) {
            const size_t at = i * ldc + j;
            if (j >= n) { /* padding */
                FUZZ_CHECK(c1[at] == 12345.0 && c2[at] == 12345.0);
                continue;
            }
            if (mode != SCALED) {
                FUZZ_CHECK(same_value(c1[at], cr[at]));
                FUZZ_CHECK(same_value(c2[at], cr[at]));
                continue;
            }
            const double tol = gamma * bound[i * n + j];
            FUZZ_CHECK(isfinite(cr[at]) && isfinite(tol));
            FUZZ_CHECK(fabs(c1[at] - cr[at]) <= tol);
            FUZZ_CHECK(fabs(c2[at] - cr[at]) <= tol);
        }
    free(a);
    free(b);
    free(c0);
    free(c1);
    free(c2);
    free(cr);
    free(bound);
}

/* ---- activations ------------------------------------------------------------ */

static double activation_value(fuzz_input *in)
{
    const uint8_t c = fuzz_byte(in);
    if (c < 200)
        return value(in, SCALED) * ldexp(1.0, (int)(c % 24)); /* up to ~2^32 */
    switch (c) {
    case 250:
        return NAN;
    case 251:
        return INFINITY;
    case 252:
        return -INFINITY;
    case 253:
        return -0.0;
    case 254:
        return (fuzz_byte(in) & 1 ? 1.0 : -1.0) * (700.0 + fuzz_byte(in));
    case 255:
        return 1e-310;
    default:
        return dyadic(in);
    }
}

static const double alphas[6] = {0.01, 1.0, 0.5, -1.0, 0.0, 2.0};

/* |got - want| within 2e-14 relative where the value is >= 1e-300. */
static bool close_to(double got, double want)
{
    if (isnan(want) || isinf(want))
        return same_value(got, want);
    if (fabs(want) < 1e-300)
        return fabs(got - want) <= 1e-300;
    return fabs(got - want) <= 2e-14 * fabs(want);
}

static void fuzz_activation(fuzz_input *in)
{
    const soma_activation f = (soma_activation)(fuzz_byte(in) % SOMA_ACTIVATION_COUNT);
    const double alpha = alphas[fuzz_byte(in) % 6];
    const size_t n = fuzz_byte(in) % 33;
    double z[32], a1[32], a2[32], da[32], dz1[32], dz2[32];
    for (size_t i = 0; i < n; i++)
        z[i] = activation_value(in);
    for (size_t i = 0; i < n; i++)
        da[i] = activation_value(in);
    FUZZ_CHECK(linked.act_forward(f, alpha, n, z, a1, NULL) == SOMA_OK);
    FUZZ_CHECK(naive()->act_forward(f, alpha, n, z, a2, NULL) == SOMA_OK);
    FUZZ_CHECK(n == 0 || memcmp(a1, a2, n * sizeof(double)) == 0);
    FUZZ_CHECK(linked.act_backward(f, alpha, n, z, a1, da, dz1, NULL) == SOMA_OK);
    FUZZ_CHECK(naive()->act_backward(f, alpha, n, z, a2, da, dz2, NULL) == SOMA_OK);
    FUZZ_CHECK(n == 0 || memcmp(dz1, dz2, n * sizeof(double)) == 0);

    bool all_finite = true;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double x = z[i], y = a1[i];
        all_finite = all_finite && isfinite(x);
        sum += y;
        FUZZ_CHECK(isnan(x) == isnan(y) || f == SOMA_ACTIVATION_SOFTMAX);
        switch (f) {
        case SOMA_ACTIVATION_IDENTITY:
            FUZZ_CHECK(memcmp(&x, &y, sizeof x) == 0);
            /* f'(NaN) is NaN for every activation (activation.h). */
            FUZZ_CHECK(same_value(dz1[i], isnan(x) ? x : da[i]));
            break;
        case SOMA_ACTIVATION_RELU:
            FUZZ_CHECK(same_value(y, x > 0.0 ? x : (isnan(x) ? x : 0.0)));
            FUZZ_CHECK(same_value(dz1[i], da[i] * (x > 0.0 ? 1.0 : isnan(x) ? x : 0.0)));
            break;
        case SOMA_ACTIVATION_LEAKY_RELU:
            /* alpha x, except the limit 0 (not 0 * -inf = NaN) for alpha 0. */
            FUZZ_CHECK(same_value(y, x > 0.0                    ? x
                                     : alpha == 0.0 && isinf(x) ? 0.0
                                                                : alpha * x));
            break;
        case SOMA_ACTIVATION_SIGMOID:
            FUZZ_CHECK(isnan(y) || (y >= 0.0 && y <= 1.0));
            FUZZ_CHECK(close_to(y, 1.0 / (1.0 + exp(-x))));
            break;
        case SOMA_ACTIVATION_TANH:
            FUZZ_CHECK(isnan(y) || (y >= -1.0 && y <= 1.0));
            FUZZ_CHECK(close_to(y, tanh(x)));
            break;
        case SOMA_ACTIVATION_ELU:
            if (!(x > 0.0) && !isnan(x) && alpha != 0.0)
                FUZZ_CHECK(close_to(y, alpha * expm1(x)));
            break;
        default:
            break;
        }
    }
    if (f == SOMA_ACTIVATION_SOFTMAX && n > 0 && all_finite)
        FUZZ_CHECK(fabs(sum - 1.0) <= 1e-12);
}

/* ---- a short fit -------------------------------------------------------------- */

static void fuzz_fit(fuzz_input *in)
{
    const size_t sizes[3] = {1 + fuzz_byte(in) % 5, 1 + fuzz_byte(in) % 6,
                             1 + fuzz_byte(in) % 4};
    const size_t rows = 1 + fuzz_byte(in) % 8;
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = (soma_activation)(fuzz_byte(in) % SOMA_ACTIVATION_COUNT);
    spec.output = (soma_activation)(fuzz_byte(in) % SOMA_ACTIVATION_COUNT);
    spec.loss = (soma_loss)(fuzz_byte(in) % SOMA_LOSS_COUNT);
    spec.init = (soma_init)(fuzz_byte(in) % SOMA_INIT_COUNT);
    spec.hidden_alpha = alphas[fuzz_byte(in) % 6];
    spec.seed = fuzz_u32(in);
    const uint8_t flags = fuzz_byte(in);
    soma_fit_options o = soma_fit_options_default();
    static const double lrs[3] = {1e-3, 1e-2, 0.1};
    o.epochs = 1;
    o.learning_rate = lrs[fuzz_byte(in) % 3];
    o.optimizer =
        soma_optim_config_default((soma_optimizer)(flags % SOMA_OPTIMIZER_COUNT));
    o.batch_size = (flags & 4) ? 1 + fuzz_byte(in) % rows : 0;
    o.shuffle = flags & 8;
    o.dropout = (flags & 16) ? 0.3 : 0.0;
    o.l2 = (flags & 32) ? 1e-3 : 0.0;
    o.clip_norm = (flags & 64) ? 1.0 : 0.0;
    o.validation_fraction = (flags & 128) ? 0.3 : 0.0;
    o.seed = fuzz_u32(in);
    const uint8_t data_flags = fuzz_byte(in);

    soma_matrix X, Y;
    FUZZ_CHECK(soma_matrix_init(&X, rows, sizes[0], NULL) == SOMA_OK);
    FUZZ_CHECK(soma_matrix_init(&Y, rows, sizes[2], NULL) == SOMA_OK);
    for (size_t i = 0; i < rows * sizes[0]; i++) /* |x| <= 4: small steps */
        X.data[i] = (double)(int8_t)fuzz_byte(in) / 32.0;
    if (data_flags & 1) /* a non-finite value in the data */
        X.data[fuzz_byte(in) % (rows * sizes[0])] = (data_flags & 2) ? NAN : INFINITY;
    for (size_t i = 0; i < rows; i++) {
        double *y = Y.data + i * sizes[2];
        const uint8_t v = fuzz_byte(in);
        for (size_t j = 0; j < sizes[2]; j++) {
            if (spec.loss == SOMA_LOSS_MSE)
                y[j] = (double)(int8_t)fuzz_byte(in) / 16.0;
            else if (spec.loss == SOMA_LOSS_BCE)
                y[j] = fuzz_byte(in) / 255.0;
            else
                y[j] = j == v % sizes[2] ? 1.0 : 0.0;
        }
    }
    if (data_flags & 4) /* a target outside the loss's domain */
        Y.data[0] = spec.loss == SOMA_LOSS_MSE ? NAN : 1.5;

    const api *lib[2] = {&linked, naive()};
    soma_mlp *m[2] = {NULL, NULL};
    soma_status created[2];
    for (int l = 0; l < 2; l++)
        created[l] = lib[l]->mlp_create(&m[l], sizes, 3, &spec, NULL, NULL);
    FUZZ_CHECK(created[0] == created[1]);
    if (created[0] != SOMA_OK) { /* e.g. a non-finite alpha: none here */
        FUZZ_CHECK(created[0] == SOMA_EINVAL);
        soma_matrix_free(&X);
        soma_matrix_free(&Y);
        return;
    }
    /* The same start: orthogonal initialisation uses LAPACK in one build
     * and soma's own QR in the other. */
    soma_matrix p[2];
    FUZZ_CHECK(lib[0]->mlp_params(m[0], &p[0], NULL) == SOMA_OK);
    FUZZ_CHECK(lib[1]->mlp_params(m[1], &p[1], NULL) == SOMA_OK);
    FUZZ_CHECK(p[0].cols == p[1].cols);
    memcpy(p[1].data, p[0].data, p[0].cols * sizeof(double));

    soma_history h[2];
    memset(h, 0, sizeof h);
    soma_status st[2];
    for (int l = 0; l < 2; l++)
        st[l] = lib[l]->mlp_fit(m[l], &X, &Y, &o, &h[l], NULL);
    FUZZ_CHECK(st[0] == st[1]);
    FUZZ_CHECK(st[0] == SOMA_OK || st[0] == SOMA_ENONFINITE || st[0] == SOMA_EINVAL);
    if (data_flags & 1)
        FUZZ_CHECK(st[0] == SOMA_ENONFINITE);
    else if (data_flags & 4)
        FUZZ_CHECK(st[0] == SOMA_EINVAL || st[0] == SOMA_ENONFINITE);
    /* Trained (or diverged: ENONFINITE with valid data): compare. */
    if (st[0] == SOMA_OK || (st[0] == SOMA_ENONFINITE && !(data_flags & 5))) {
        FUZZ_CHECK(h[0].n_epochs == h[1].n_epochs && h[0].stop == h[1].stop);
        if (getenv("SOMA_FUZZ_DEBUG") != NULL) {
            fprintf(stderr,
                    "fit: sizes %zu %zu %zu rows %zu hidden %d output %d loss %d init %d "
                    "opt %d lr %g batch %zu shuffle %d dropout %g l2 %g clip %g val %g "
                    "status %d epochs %zu\n",
                    sizes[0], sizes[1], sizes[2], rows, spec.hidden, spec.output,
                    spec.loss, spec.init, o.optimizer.kind, o.learning_rate, o.batch_size,
                    o.shuffle, o.dropout, o.l2, o.clip_norm, o.validation_fraction, st[0],
                    h[0].n_epochs);
            for (size_t i = 0; i < p[0].cols; i++)
                fprintf(stderr, "  p[%zu] %.17g %.17g\n", i, p[0].data[i], p[1].data[i]);
        }
        double scale = 1.0;
        for (size_t i = 0; i < p[0].cols; i++) {
            FUZZ_CHECK(isfinite(p[0].data[i]) && isfinite(p[1].data[i]));
            scale = fmax(scale, fabs(p[0].data[i]));
        }
        /* Parameters that grew past 1e4 in at most 8 steps come from
         * gradients of 1e6 and more (e.g. cross-entropy of a clamped
         * probability, -y / 1e-15): such steps amplify the rounding
         * differences of the first product into anything, so they are
         * compared for status and finiteness only. */
        if (scale <= 1e4)
            for (size_t i = 0; i < p[0].cols; i++)
                FUZZ_CHECK(fabs(p[0].data[i] - p[1].data[i]) <= 1e-7 * scale);
        lib[0]->history_free(&h[0]);
        lib[1]->history_free(&h[1]);
    }
    for (int l = 0; l < 2; l++)
        lib[l]->mlp_destroy(m[l]);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    fuzz_gemm(&in);
    fuzz_activation(&in);
    fuzz_fit(&in);
    return 0;
}
