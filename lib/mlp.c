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
    };
    return s;
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
    return soma__init_check(s->init, s->init_scale, "spec.init", "spec.init_scale", err);
}

void soma_mlp_destroy(soma_mlp *mlp)
{
    if (mlp == NULL)
        return;
    soma_allocator a = mlp->alloc;
    const size_t L = mlp->n_layers;
    soma__mlp_meta_free(mlp);
    soma_optim_free(&mlp->opt);
    soma__free(&a, mlp->params, mlp->n_params * sizeof(double));
    soma__free(&a, mlp->grads, mlp->n_params * sizeof(double));
    soma__free(&a, mlp->layers, L * sizeof(soma_dense));
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

static void set_views(soma_mlp *mlp)
{
    size_t off = 0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        size_t in = mlp->sizes[l], out = mlp->sizes[l + 1];
        bool last = l + 1 == mlp->n_layers;
        soma_dense *d = &mlp->layers[l];
        mlp->offset[l] = off;
        d->W = soma__view(mlp->params + off, in, out, out);
        d->b = soma__view(mlp->params + off + in * out, 1, out, out);
        d->activation = last ? mlp->spec.output : mlp->spec.hidden;
        d->alpha = last ? mlp->spec.output_alpha : mlp->spec.hidden_alpha;
        off += in * out + out;
    }
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
    m->alloc = a;
    m->spec = s;
    m->n_layers = L;
    m->n_params = n_params;
    m->sizes = soma__alloc(&a, n_sizes * sizeof(size_t));
    m->offset = soma__alloc(&a, L * sizeof(size_t));
    m->layers = soma__alloc(&a, L * sizeof(soma_dense));
    m->params = soma__calloc(&a, n_params * sizeof(double));
    m->grads = soma__calloc(&a, n_params * sizeof(double));
    if (!m->sizes || !m->offset || !m->layers || !m->params || !m->grads)
        goto fail;
    memcpy(m->sizes, sizes, n_sizes * sizeof(size_t));
    set_views(m);
    st = soma__mlp_draw_weights(m, s.init, s.init_scale, s.seed, m->params);
    if (st != SOMA_OK)
        goto fail;
    *out = m;
    return SOMA_OK;
fail:
    soma_mlp_destroy(m);
    return soma__fail(err, st, "",
                      st == SOMA_ENOMEM
                          ? "out of memory allocating a model of %zu parameters"
                          : "the orthogonal initialiser's QR failed (%zu "
                            "parameters)",
                      n_params);
}

soma_status soma_mlp_init_weights(soma_mlp *mlp, soma_init init, double scale,
                                  uint64_t seed, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_TRY(soma__init_check(init, scale, "init", "scale", err));
    /* Draw into scratch first so that a failure leaves the model as it was. */
    const size_t bytes = mlp->n_params * sizeof(double);
    double *fresh = soma__alloc(&mlp->alloc, bytes);
    if (fresh == NULL)
        return soma__fail_nomem(err, bytes, "the new weights");
    soma_status st = soma__mlp_draw_weights(mlp, init, scale, seed, fresh);
    if (st == SOMA_OK) {
        memcpy(mlp->params, fresh, bytes);
        mlp->spec.init = init;
        mlp->spec.init_scale = scale;
        mlp->spec.seed = seed;
        soma_optim_free(&mlp->opt);
        mlp->opt_ready = false;
        mlp->epochs_done = 0;
    }
    soma__free(&mlp->alloc, fresh, bytes);
    if (st != SOMA_OK)
        return soma__fail(err, st, "",
                          st == SOMA_ENOMEM
                              ? "out of memory in the orthogonal initialiser"
                              : "the orthogonal initialiser's QR failed");
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

soma_status soma_mlp_layer(soma_mlp *mlp, size_t l, soma_matrix *W, soma_matrix *b,
                           soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE(l < mlp->n_layers, err, SOMA_EINVAL, "l",
                 "l is %zu but the model has %zu layers (0-based, l < %zu)", l,
                 mlp->n_layers, mlp->n_layers);
    if (W != NULL)
        *W = mlp->layers[l].W;
    if (b != NULL)
        *b = mlp->layers[l].b;
    return SOMA_OK;
}

soma_status soma_mlp_params(soma_mlp *mlp, soma_matrix *params, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(params, err, "params");
    *params = soma__view(mlp->params, 1, mlp->n_params, mlp->n_params);
    return SOMA_OK;
}

soma_status soma_mlp_grads(soma_mlp *mlp, soma_matrix *grads, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(mlp, err, "mlp");
    SOMA_REQUIRE_PTR(grads, err, "grads");
    *grads = soma__view(mlp->grads, 1, mlp->n_params, mlp->n_params);
    return SOMA_OK;
}
