#include <math.h>
#include <string.h>

#include "kernels.h"

soma_optim_config soma_optim_config_default(soma_optimizer kind)
{
    soma_optim_config c = {kind, 0.9, 0.9, 0.999, 1e-8};
    return c;
}

const char *soma_optimizer_name(soma_optimizer kind)
{
    static const char *const names[SOMA_OPTIMIZER_COUNT] = {
        [SOMA_OPTIMIZER_SGD] = "sgd",
        [SOMA_OPTIMIZER_MOMENTUM] = "momentum",
        [SOMA_OPTIMIZER_NESTEROV] = "nesterov",
        [SOMA_OPTIMIZER_ADAM] = "adam",
    };
    return (unsigned)kind < SOMA_OPTIMIZER_COUNT ? names[kind] : NULL;
}

static bool unit_interval(double x)
{
    return x >= 0.0 && x < 1.0; /* false for NaN */
}

bool soma__optim_config_valid(const soma_optim_config *c)
{
    if (c == NULL || (unsigned)c->kind >= SOMA_OPTIMIZER_COUNT)
        return false;
    switch (c->kind) {
    case SOMA_OPTIMIZER_MOMENTUM:
    case SOMA_OPTIMIZER_NESTEROV:
        return unit_interval(c->momentum);
    case SOMA_OPTIMIZER_ADAM:
        return unit_interval(c->beta1) && unit_interval(c->beta2) && c->epsilon > 0.0 &&
               isfinite(c->epsilon);
    default:
        return true;
    }
}

soma_status soma_optim_init(soma_optim *opt, const soma_optim_config *config, size_t n,
                            const soma_allocator *alloc)
{
    if (opt == NULL || !soma__optim_config_valid(config) || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    size_t bytes;
    if (!soma__doubles_bytes(n, &bytes))
        return SOMA_EOVERFLOW;
    soma_optim o = {*config, n, 0, NULL, NULL, soma__allocator_resolve(alloc)};
    bool needs_v = config->kind != SOMA_OPTIMIZER_SGD;
    bool needs_s = config->kind == SOMA_OPTIMIZER_ADAM;
    if (needs_v && bytes > 0 && (o.v = soma__calloc(&o.alloc, bytes)) == NULL)
        return SOMA_ENOMEM;
    if (needs_s && bytes > 0 && (o.s = soma__calloc(&o.alloc, bytes)) == NULL) {
        soma__free(&o.alloc, o.v, bytes);
        return SOMA_ENOMEM;
    }
    *opt = o;
    return SOMA_OK;
}

void soma_optim_free(soma_optim *opt)
{
    if (opt == NULL)
        return;
    soma__free(&opt->alloc, opt->v, opt->n * sizeof(double));
    soma__free(&opt->alloc, opt->s, opt->n * sizeof(double));
    memset(opt, 0, sizeof *opt);
}

soma_status soma_optim_reset(soma_optim *opt)
{
    if (opt == NULL)
        return SOMA_EINVAL;
    if (opt->v != NULL)
        memset(opt->v, 0, opt->n * sizeof(double));
    if (opt->s != NULL)
        memset(opt->s, 0, opt->n * sizeof(double));
    opt->t = 0;
    return SOMA_OK;
}

soma_status soma_optim_step(soma_optim *opt, double lr, double *params,
                            const double *grads)
{
    if (opt == NULL || !(lr >= 0.0) || !isfinite(lr))
        return SOMA_EINVAL;
    if (opt->n > 0 && (params == NULL || grads == NULL))
        return SOMA_EINVAL;
    if ((unsigned)opt->config.kind >= SOMA_OPTIMIZER_COUNT)
        return SOMA_EINVAL;
    opt->t++;
    soma__optim_update_f64(&opt->config, opt->t, lr, opt->n, params, grads, opt->v,
                           opt->s, 0.0, 1.0, NULL);
    return SOMA_OK;
}

soma_status soma_lr_schedule_value(const soma_lr_schedule *s, double lr0, size_t epoch,
                                   double *lr)
{
    if (s == NULL || lr == NULL || !(lr0 > 0.0) || !isfinite(lr0))
        return SOMA_EINVAL;
    double e = (double)epoch, v;
    switch (s->kind) {
    case SOMA_SCHEDULE_CONSTANT:
        v = lr0;
        break;
    case SOMA_SCHEDULE_STEP:
        if (!(s->gamma > 0.0 && s->gamma <= 1.0) || s->step == 0)
            return SOMA_EINVAL;
        v = lr0 * pow(s->gamma, (double)(epoch / s->step));
        break;
    case SOMA_SCHEDULE_EXPONENTIAL:
        if (!(s->gamma > 0.0 && s->gamma <= 1.0))
            return SOMA_EINVAL;
        v = lr0 * pow(s->gamma, e);
        break;
    case SOMA_SCHEDULE_COSINE: {
        if (s->period == 0 || !(s->lr_min >= 0.0 && s->lr_min <= lr0))
            return SOMA_EINVAL;
        double T = (double)s->period, x = e < T ? e : T;
        v = s->lr_min +
            (lr0 - s->lr_min) * 0.5 * (1.0 + cos(3.14159265358979323846 * x / T));
        break;
    }
    default:
        return SOMA_EINVAL;
    }
    *lr = v;
    return SOMA_OK;
}
