#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "mlp_internal.h"

soma_mlp_spec soma_mlp_spec_default(void)
{
    soma_mlp_spec s = {
        .hidden = SOMA_ACTIVATION_SIGMOID,
        .hidden_alpha = 0.0,
        .output = SOMA_ACTIVATION_SIGMOID,
        .output_alpha = 0.0,
        .loss = SOMA_LOSS_BCE,
        .init = SOMA_INIT_XAVIER_UNIFORM,
        .init_scale = 1.0,
        .seed = 42,
        .precision = SOMA_PRECISION_F64,
    };
    return s;
}

const char *soma_precision_name(soma_precision precision)
{
    static const char *const names[SOMA_PRECISION_COUNT] = {
        [SOMA_PRECISION_F64] = "f64",
        [SOMA_PRECISION_F32] = "f32",
    };
    return (unsigned)precision < SOMA_PRECISION_COUNT ? names[precision] : NULL;
}

soma_mlp_spec soma_mlp_spec_classifier(size_t n_classes)
{
    soma_mlp_spec s = soma_mlp_spec_default();
    s.hidden = SOMA_ACTIVATION_RELU;
    s.init = SOMA_INIT_HE_NORMAL;
    if (n_classes > 2) {
        s.output = SOMA_ACTIVATION_SOFTMAX;
        s.loss = SOMA_LOSS_CE;
    }
    return s;
}

size_t soma_classifier_outputs(size_t n_classes)
{
    return n_classes > 2 ? n_classes : 1;
}

const char *soma_init_name(soma_init init)
{
    static const char *const names[SOMA_INIT_COUNT] = {
        [SOMA_INIT_XAVIER_UNIFORM] = "xavier_uniform",
        [SOMA_INIT_XAVIER_NORMAL] = "xavier_normal",
        [SOMA_INIT_HE_UNIFORM] = "he_uniform",
        [SOMA_INIT_HE_NORMAL] = "he_normal",
        [SOMA_INIT_NORMAL] = "normal",
        [SOMA_INIT_ORTHOGONAL] = "orthogonal",
    };
    return (unsigned)init < SOMA_INIT_COUNT ? names[init] : NULL;
}

soma_status soma__init_check(soma_init init, double scale, const char *init_arg,
                             const char *scale_arg, soma_error_info *err)
{
    SOMA_REQUIRE((unsigned)init < SOMA_INIT_COUNT, err, SOMA_EINVAL, init_arg,
                 "%s is %d: not a soma_init value (0 to %d)", init_arg, (int)init,
                 SOMA_INIT_COUNT - 1);
    bool scaled = init == SOMA_INIT_NORMAL || init == SOMA_INIT_ORTHOGONAL;
    SOMA_REQUIRE(!scaled || (scale > 0.0 && isfinite(scale)), err, SOMA_EINVAL, scale_arg,
                 "%s is %g: the %s initialiser needs a finite scale > 0", scale_arg,
                 scale, soma_init_name(init));
    return SOMA_OK;
}

/* The alpha an activation actually uses: 0 when it has none, the default
 * when the spec leaves it at 0. */
static double effective_alpha(soma_activation f, double alpha)
{
    if (f != SOMA_ACTIVATION_LEAKY_RELU && f != SOMA_ACTIVATION_ELU)
        return 0.0;
    return alpha == 0.0 ? soma_activation_default_alpha(f) : alpha;
}

static soma_status check_spec(const soma_mlp_spec *s, soma_error_info *err)
{
    SOMA_REQUIRE((unsigned)s->hidden < SOMA_ACTIVATION_COUNT, err, SOMA_EINVAL,
                 "spec.hidden",
                 "spec.hidden is %d: not a soma_activation value (0 to %d)",
                 (int)s->hidden, SOMA_ACTIVATION_COUNT - 1);
    SOMA_REQUIRE((unsigned)s->output < SOMA_ACTIVATION_COUNT, err, SOMA_EINVAL,
                 "spec.output",
                 "spec.output is %d: not a soma_activation value (0 to %d)",
                 (int)s->output, SOMA_ACTIVATION_COUNT - 1);
    SOMA_REQUIRE((unsigned)s->loss < SOMA_LOSS_COUNT, err, SOMA_EINVAL, "spec.loss",
                 "spec.loss is %d: not a soma_loss value (0 to %d)", (int)s->loss,
                 SOMA_LOSS_COUNT - 1);
    SOMA_REQUIRE(isfinite(s->hidden_alpha), err, SOMA_EINVAL, "spec.hidden_alpha",
                 "spec.hidden_alpha is %g: it must be finite (0 = the default)",
                 s->hidden_alpha);
    SOMA_REQUIRE(isfinite(s->output_alpha), err, SOMA_EINVAL, "spec.output_alpha",
                 "spec.output_alpha is %g: it must be finite (0 = the default)",
                 s->output_alpha);
    SOMA_REQUIRE((unsigned)s->precision < SOMA_PRECISION_COUNT, err, SOMA_EINVAL,
                 "spec.precision",
                 "spec.precision is %d: not a soma_precision value (SOMA_PRECISION_F64 "
                 "or SOMA_PRECISION_F32)",
                 (int)s->precision);
    return soma__init_check(s->init, s->init_scale, "spec.init", "spec.init_scale", err);
}

void soma_mlp_destroy(soma_mlp *mlp)
{
    if (mlp == NULL)
        return;
    soma_allocator a = mlp->alloc;
    const size_t L = mlp->n_layers;
    soma__mlp_meta_free(mlp);
    soma__mlp_opt_free(mlp, &mlp->opt);
    soma__free(&a, mlp->params, mlp->n_params * mlp->elem);
    soma__free(&a, mlp->grads, mlp->n_params * mlp->elem);
    soma__free(&a, mlp->offset, L * sizeof(size_t));
    soma__free(&a, mlp->sizes, (L + 1) * sizeof(size_t));
    soma__free(&a, mlp, sizeof *mlp);
}

/* Parameter count of the layer sizes, with overflow checks. */
static soma_status count_params(const size_t *sizes, size_t n_sizes, size_t *total)
{
    size_t sum = 0, bytes;
    for (size_t l = 0; l + 1 < n_sizes; l++) {
        size_t w, wb;
        if (!soma__mul(sizes[l], sizes[l + 1], &w) || !soma__add(w, sizes[l + 1], &wb) ||
            !soma__add(sum, wb, &sum))
            return SOMA_EOVERFLOW;
    }
    if (!soma__doubles_bytes(sum, &bytes))
        return SOMA_EOVERFLOW;
    *total = sum;
    return SOMA_OK;
}

static void set_offsets(soma_mlp *mlp)
{
    size_t off = 0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
        mlp->offset[l] = off;
        off += in * out + out;
    }
}

/* Draw weights (in double) and store them in the model's precision,
 * through a double scratch buffer for a float model. The model's
 * parameters are written only on success. */
static soma_status draw_into(soma_mlp *mlp, soma_init init, double scale, uint64_t seed,
                             bool scratch, soma_error_info *err)
{
    const size_t bytes = mlp->n_params * sizeof(double);
    double *fresh = scratch ? soma__alloc(&mlp->alloc, bytes) : (double *)mlp->params;
    if (fresh == NULL)
        return soma__fail_nomem(err, bytes, "the new weights");
    soma_status st = soma__mlp_draw_weights(mlp, init, scale, seed, fresh);
    if (st == SOMA_OK && scratch)
        mlp->ops->from_f64(mlp->n_params, fresh, mlp->params);
    if (scratch)
        soma__free(&mlp->alloc, fresh, bytes);
    if (st != SOMA_OK)
        return soma__fail(err, st, "",
                          st == SOMA_ENOMEM
                              ? "out of memory in the orthogonal initialiser"
                              : "the orthogonal initialiser's QR failed");
    return SOMA_OK;
}

soma_status soma_mlp_create(soma_mlp **out, const size_t *sizes, size_t n_sizes,
                            const soma_mlp_spec *spec, const soma_allocator *alloc,
                            soma_error_info *err)
{
    SOMA_REQUIRE_PTR(out, err, "out");
    SOMA_REQUIRE_PTR(sizes, err, "sizes");
    SOMA_REQUIRE(n_sizes >= 2, err, SOMA_EINVAL, "n_sizes",
                 "n_sizes is %zu: a model needs at least an input and an output width",
                 n_sizes);
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc must set both its allocate and free functions (or be NULL)");
    soma_mlp_spec s = spec != NULL ? *spec : soma_mlp_spec_default();
    SOMA_TRY(check_spec(&s, err));
    for (size_t i = 0; i < n_sizes; i++) {
        SOMA_REQUIRE(sizes[i] != 0, err, SOMA_EINVAL, "sizes",
                     "sizes[%zu] is 0: every layer needs at least one unit", i);
        SOMA_REQUIRE(sizes[i] <= INT_MAX, err, SOMA_EOVERFLOW, "sizes",
                     "sizes[%zu] is %zu: widths are limited to INT_MAX (the BLAS's int)",
                     i, sizes[i]);
    }
    size_t n_params;
    SOMA_REQUIRE(count_params(sizes, n_sizes, &n_params) == SOMA_OK, err, SOMA_EOVERFLOW,
                 "sizes", "the parameter count of these sizes overflows size_t");
    s.hidden_alpha = effective_alpha(s.hidden, s.hidden_alpha);
    s.output_alpha = effective_alpha(s.output, s.output_alpha);

    soma_allocator a = soma__allocator_resolve(alloc);
    const size_t L = n_sizes - 1;
    soma_status st = SOMA_ENOMEM;
    soma_mlp *m = soma__calloc(&a, sizeof *m);
    if (m == NULL)
        return soma__fail_nomem(err, sizeof *m, "the model");
    const bool f32 = s.precision == SOMA_PRECISION_F32;
    m->alloc = a;
    m->spec = s;
    m->n_layers = L;
    m->n_params = n_params;
    m->elem = f32 ? sizeof(float) : sizeof(double);
    m->ops = f32 ? &soma__mlp_ops_f32 : &soma__mlp_ops_f64;
    m->sizes = soma__alloc(&a, n_sizes * sizeof(size_t));
    m->offset = soma__alloc(&a, L * sizeof(size_t));
    m->params = soma__calloc(&a, n_params * m->elem);
    m->grads = soma__calloc(&a, n_params * m->elem);
    if (!m->sizes || !m->offset || !m->params || !m->grads) {
        soma_mlp_destroy(m);
        return soma__fail(err, st, "",
                          "out of memory allocating a model of %zu parameters", n_params);
    }
    memcpy(m->sizes, sizes, n_sizes * sizeof(size_t));
    set_offsets(m);
    st = draw_into(m, s.init, s.init_scale, s.seed, f32, err);
    if (st != SOMA_OK) {
        soma_mlp_destroy(m);
        return st;
    }
    *out = m;
    return SOMA_OK;
}

soma_status soma_mlp_init_weights(soma_mlp *mlp, soma_init init, double scale,
                                  uint64_t seed, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(soma__init_check(init, scale, "init", "scale", err));
    /* Draw into scratch first so that a failure leaves the model as it was. */
    SOMA_TRY(draw_into(mlp, init, scale, seed, true, err));
    mlp->spec.init = init;
    mlp->spec.init_scale = scale;
    mlp->spec.seed = seed;
    soma__mlp_opt_free(mlp, &mlp->opt);
    mlp->opt_ready = false;
    mlp->epochs_done = 0;
    return SOMA_OK;
}

size_t soma_mlp_n_layers(const soma_mlp *mlp)
{
    return mlp == NULL ? 0 : mlp->n_layers;
}

size_t soma_mlp_size(const soma_mlp *mlp, size_t i)
{
    return mlp == NULL || i > mlp->n_layers ? 0 : mlp->sizes[i];
}

size_t soma_mlp_n_params(const soma_mlp *mlp)
{
    return mlp == NULL ? 0 : mlp->n_params;
}

soma_status soma_mlp_get_spec(const soma_mlp *mlp, soma_mlp_spec *spec,
                              soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(spec, err, "spec");
    *spec = mlp->spec;
    return SOMA_OK;
}

/* Views exist only where the buffer holds doubles. */
static soma_status check_views(const soma_mlp *mlp, soma_error_info *err)
{
    SOMA_REQUIRE(mlp->spec.precision == SOMA_PRECISION_F64, err, SOMA_ENOTSUP, "mlp",
                 "mlp is a float32 model: its parameters cannot be viewed as doubles; "
                 "copy them with soma_mlp_get_params / soma_mlp_set_params (or "
                 "soma_mlp_get_layer, soma_mlp_get_grads)");
    return SOMA_OK;
}

static soma_status check_layer_index(const soma_mlp *mlp, size_t l, soma_error_info *err)
{
    SOMA_REQUIRE(l < mlp->n_layers, err, SOMA_EINVAL, "l",
                 "l is %zu but the model has %zu layers (0-based, l < %zu)", l,
                 mlp->n_layers, mlp->n_layers);
    return SOMA_OK;
}

soma_status soma_mlp_layer(soma_mlp *mlp, size_t l, soma_matrix *W, soma_matrix *b,
                           soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(check_layer_index(mlp, l, err));
    SOMA_TRY(check_views(mlp, err));
    const size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
    double *p = (double *)mlp->params + mlp->offset[l];
    if (W != NULL)
        *W = soma__view(p, in, out, out);
    if (b != NULL)
        *b = soma__view(p + in * out, 1, out, out);
    return SOMA_OK;
}

soma_status soma_mlp_params(soma_mlp *mlp, soma_matrix *params, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(params, err, "params");
    SOMA_TRY(check_views(mlp, err));
    *params = soma__view(mlp->params, 1, mlp->n_params, mlp->n_params);
    return SOMA_OK;
}

soma_status soma_mlp_grads(soma_mlp *mlp, soma_matrix *grads, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(grads, err, "grads");
    SOMA_TRY(check_views(mlp, err));
    *grads = soma__view(mlp->grads, 1, mlp->n_params, mlp->n_params);
    return SOMA_OK;
}

/* ---- copy-in / copy-out access, both precisions ---------------------------- */

/* The values of a block of n values at offset off of a model buffer. A
 * double model's block may overlap the caller's matrix (a view of itself):
 * memmove copies as if through a temporary. */
static void copy_out(const soma_mlp *mlp, void *buf, size_t off, size_t n, double *dst)
{
    if (mlp->spec.precision == SOMA_PRECISION_F64)
        memmove(dst, (double *)buf + off, n * sizeof(double));
    else
        mlp->ops->to_f64(n, soma__mlp_at(mlp, buf, off), dst);
}

static void copy_in(soma_mlp *mlp, size_t off, size_t n, const double *src)
{
    if (mlp->spec.precision == SOMA_PRECISION_F64)
        memmove((double *)mlp->params + off, src, n * sizeof(double));
    else
        mlp->ops->from_f64(n, src, soma__mlp_at(mlp, mlp->params, off));
}

/* A matrix of values to store in the model: shape, finite, and within the
 * float range for a float model. */
static soma_status check_values(const soma_mlp *mlp, const soma_matrix *m,
                                const char *name, size_t rows, size_t cols,
                                soma_error_info *err)
{
    SOMA_TRY(soma__check_shape_arg(m, name, rows, cols, err));
    SOMA_TRY(soma__check_finite_arg(m, name, err));
    if (mlp->spec.precision == SOMA_PRECISION_F32)
        SOMA_TRY(soma__check_float_range(m, name, err));
    return SOMA_OK;
}

/* Copy the whole parameter (or gradient) buffer out to m, or m into the
 * parameters (store), after the checks. */
static soma_status copy_all(const soma_mlp *mlp, bool grads, const soma_matrix *m,
                            const char *name, bool store, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    const size_t n = mlp->n_params;
    SOMA_TRY(store ? check_values(mlp, m, name, 1, n, err)
                   : soma__check_shape_arg(m, name, 1, n, err));
    if (store)
        copy_in((soma_mlp *)mlp, 0, n, m->data);
    else
        copy_out(mlp, grads ? mlp->grads : mlp->params, 0, n, m->data);
    return SOMA_OK;
}

soma_status soma_mlp_get_params(const soma_mlp *mlp, soma_matrix *params,
                                soma_error_info *err)
{
    return copy_all(mlp, false, params, "params", false, err);
}

soma_status soma_mlp_set_params(soma_mlp *mlp, const soma_matrix *params,
                                soma_error_info *err)
{
    return copy_all(mlp, false, params, "params", true, err);
}

soma_status soma_mlp_get_grads(const soma_mlp *mlp, soma_matrix *grads,
                               soma_error_info *err)
{
    return copy_all(mlp, true, grads, "grads", false, err);
}

/* Copy layer l's W and b (either may be NULL) into the model (store) or
 * out of it, after checking both. */
static soma_status copy_layer(const soma_mlp *mlp, size_t l, const soma_matrix *W,
                              const soma_matrix *b, bool store, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(check_layer_index(mlp, l, err));
    const size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
    const soma_matrix *blocks[2] = {W, b};
    const char *names[2] = {"W", "b"};
    const size_t rows[2] = {in, 1},
                 start[2] = {mlp->offset[l], mlp->offset[l] + in * out};
    for (int k = 0; k < 2; k++) {
        if (blocks[k] == NULL)
            continue;
        SOMA_TRY(store ? check_values(mlp, blocks[k], names[k], rows[k], out, err)
                       : soma__check_shape_arg(blocks[k], names[k], rows[k], out, err));
    }
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; blocks[k] != NULL && i < rows[k]; i++) {
            double *row = soma_matrix_at(blocks[k], i, 0);
            if (store)
                copy_in((soma_mlp *)mlp, start[k] + i * out, out, row);
            else
                copy_out(mlp, mlp->params, start[k] + i * out, out, row);
        }
    return SOMA_OK;
}

soma_status soma_mlp_get_layer(const soma_mlp *mlp, size_t l, soma_matrix *W,
                               soma_matrix *b, soma_error_info *err)
{
    return copy_layer(mlp, l, W, b, false, err);
}

soma_status soma_mlp_set_layer(soma_mlp *mlp, size_t l, const soma_matrix *W,
                               const soma_matrix *b, soma_error_info *err)
{
    return copy_layer(mlp, l, W, b, true, err);
}

/* ---- optimizer state and value ranges ------------------------------------- */

size_t soma__optim_arrays(soma_optimizer kind)
{
    return kind == SOMA_OPTIMIZER_ADAM ? 2 : kind == SOMA_OPTIMIZER_SGD ? 0 : 1;
}

soma_status soma__mlp_opt_init(const soma_mlp *mlp, const soma_optim_config *config,
                               soma__mlp_opt *opt)
{
    const size_t arrays = soma__optim_arrays(config->kind);
    const size_t bytes = mlp->n_params * mlp->elem;
    soma__mlp_opt o = {*config, 0, NULL, NULL};
    if (arrays >= 1 && (o.v = soma__calloc(&mlp->alloc, bytes)) == NULL)
        return SOMA_ENOMEM;
    if (arrays >= 2 && (o.s = soma__calloc(&mlp->alloc, bytes)) == NULL) {
        soma__free(&mlp->alloc, o.v, bytes);
        return SOMA_ENOMEM;
    }
    *opt = o;
    return SOMA_OK;
}

void soma__mlp_opt_free(const soma_mlp *mlp, soma__mlp_opt *opt)
{
    const size_t bytes = mlp->n_params * mlp->elem;
    soma__free(&mlp->alloc, opt->v, bytes);
    soma__free(&mlp->alloc, opt->s, bytes);
    memset(opt, 0, sizeof *opt);
}

void soma__mlp_opt_reset(const soma_mlp *mlp, soma__mlp_opt *opt)
{
    const size_t bytes = mlp->n_params * mlp->elem;
    if (opt->v != NULL)
        memset(opt->v, 0, bytes);
    if (opt->s != NULL)
        memset(opt->s, 0, bytes);
    opt->t = 0;
}

soma_status soma__check_float_range(const soma_matrix *m, const char *name,
                                    soma_error_info *err)
{
    for (size_t i = 0; i < m->rows; i++) {
        const double *r = soma_matrix_at(m, i, 0);
        for (size_t j = 0; j < m->cols; j++)
            if (fabs(r[j]) > FLT_MAX)
                return soma__fail(
                    err, SOMA_ENONFINITE, name,
                    "%s(%zu, %zu) is %g: beyond the float range of a float32 "
                    "model (|x| <= %g); scale the data or use a double model",
                    name, i, j, r[j], (double)FLT_MAX);
    }
    return SOMA_OK;
}
