/* Section "activation" of soma-bench: throughput of soma's activations
 * (elements per nanosecond, forward and backward) at n = 4096 (in cache)
 * and n = 4e6 (from memory), beside a plain scalar loop calling libm and
 * beside memcpy; the report adds PASS/MISS against the targets of
 * docs/performance.md. Keys: act.<name>.<n>.{fwd,bwd,libm,memcpy} in
 * elements per ns (libm absent where there is no scalar baseline), and
 * act.<i>.target (0 none, 1 fwd >= 4x libm at 4096, 2 fwd time <= 2x memcpy
 * at 4e6) per case index i.
 */
#include "bench_common.h"

#include <math.h>
#include <stdio.h>

#define N_CACHE 4096
#define N_MEMORY 4000000

/* ---- the scalar baselines: one libm call (or plain arithmetic) per element */

static void scalar_sigmoid(size_t n, const double *z, double *a)
{
    for (size_t i = 0; i < n; i++)
        a[i] = 1.0 / (1.0 + exp(-z[i]));
}

static void scalar_tanh(size_t n, const double *z, double *a)
{
    for (size_t i = 0; i < n; i++)
        a[i] = tanh(z[i]);
}

static void scalar_relu(size_t n, const double *z, double *a)
{
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] > 0.0 ? z[i] : 0.0;
}

static void scalar_leaky(size_t n, const double *z, double *a)
{
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] > 0.0 ? z[i] : SOMA_LEAKY_RELU_ALPHA * z[i];
}

static void scalar_elu(size_t n, const double *z, double *a)
{
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] > 0.0 ? z[i] : SOMA_ELU_ALPHA * expm1(z[i]);
}

static void scalar_swish(size_t n, const double *z, double *a)
{
    for (size_t i = 0; i < n; i++)
        a[i] = z[i] / (1.0 + exp(-z[i]));
}

typedef void (*scalar_fn)(size_t n, const double *z, double *a);

typedef struct act_case {
    soma_activation f;
    scalar_fn scalar;
    int target; /* 0 none, 1: fwd >= 4x scalar at N_CACHE, 2: fwd within 2x memcpy at
                   N_MEMORY */
} act_case;

static const act_case cases[] = {
    {SOMA_ACTIVATION_SIGMOID, scalar_sigmoid, 1},
    {SOMA_ACTIVATION_TANH, scalar_tanh, 1},
    {SOMA_ACTIVATION_RELU, scalar_relu, 2},
    {SOMA_ACTIVATION_LEAKY_RELU, scalar_leaky, 2},
    {SOMA_ACTIVATION_ELU, scalar_elu, 1},
    {SOMA_ACTIVATION_SWISH, scalar_swish, 1},
    {SOMA_ACTIVATION_IDENTITY, NULL, 0},
    {SOMA_ACTIVATION_SOFTMAX, NULL, 0},
};
#define N_ACT_CASES (sizeof cases / sizeof cases[0])

/* ---- timed work ------------------------------------------------------------- */

typedef struct work {
    const act_case *c;
    size_t n;
    double *z, *a, *da, *dz;
} work;

static void run_forward(void *p)
{
    work *w = p;
    soma_status st = soma_activation_forward(
        w->c->f, soma_activation_default_alpha(w->c->f), w->n, w->z, w->a, NULL);
    bench_sink = st == SOMA_OK ? w->a[w->n / 2] : NAN;
}

static void run_backward(void *p)
{
    work *w = p;
    soma_status st =
        soma_activation_backward(w->c->f, soma_activation_default_alpha(w->c->f), w->n,
                                 w->z, w->a, w->da, w->dz, NULL);
    bench_sink = st == SOMA_OK ? w->dz[w->n / 2] : NAN;
}

static void run_scalar(void *p)
{
    work *w = p;
    w->c->scalar(w->n, w->z, w->a);
    bench_sink = w->a[w->n / 2];
}

static void run_memcpy(void *p)
{
    work *w = p;
    memcpy(w->a, w->z, w->n * sizeof *w->a);
    bench_sink = w->a[w->n / 2];
}

/* Calls per timed sample and samples: about 1 ms per sample in cache, one
 * call per sample from memory; medians of 31 and 15 samples. */
static double el_per_ns(bench_fn fn, work *w)
{
    const bool cache = w->n <= N_CACHE;
    const double ns = bench_time_ns(fn, w, cache ? 200 : 1, cache ? 31 : 15);
    return (double)w->n / ns;
}

void section_activation(bench_ctx *b)
{
    work w = {NULL,
              N_MEMORY,
              bench_alloc_doubles(N_MEMORY),
              bench_alloc_doubles(N_MEMORY),
              bench_alloc_doubles(N_MEMORY),
              bench_alloc_doubles(N_MEMORY)};
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, 42), "rng");
    bench_check(soma_rng_uniform_range(&rng, N_MEMORY, -8.0, 8.0, w.z), "rng");
    bench_check(soma_rng_uniform_range(&rng, N_MEMORY, -1.0, 1.0, w.da), "rng");
    const size_t sizes[2] = {N_CACHE, N_MEMORY};
    for (size_t s = 0; s < 2; s++) {
        w.n = sizes[s];
        const double mcpy = el_per_ns(run_memcpy, &w);
        for (size_t k = 0; k < N_ACT_CASES; k++) {
            w.c = &cases[k];
            const char *name = soma_activation_name(cases[k].f);
            kv_set(b->kv, mcpy, "act.%s.%zu.memcpy", name, w.n);
            kv_set(b->kv, el_per_ns(run_forward, &w), "act.%s.%zu.fwd", name, w.n);
            kv_set(b->kv, el_per_ns(run_backward, &w), "act.%s.%zu.bwd", name, w.n);
            if (cases[k].scalar != NULL)
                kv_set(b->kv, el_per_ns(run_scalar, &w), "act.%s.%zu.libm", name, w.n);
        }
    }
    free(w.dz);
    free(w.da);
    free(w.a);
    free(w.z);
}

const act_case_info *activation_case(size_t i)
{
    static act_case_info info;
    if (i >= N_ACT_CASES)
        return NULL;
    info.f = cases[i].f;
    info.target = cases[i].target;
    return &info;
}
