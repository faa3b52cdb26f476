/* Throughput of soma's activations (elements per nanosecond, forward and
 * backward) at n = 4096 (in cache) and n = 4e6 (from memory), beside a plain
 * scalar loop calling libm and beside memcpy, with PASS/MISS against the
 * targets of docs/performance.md.
 *
 * Usage: soma-bench-activation [--csv FILE]
 */
#include "bench_util.h"

#include <math.h>
#include <stdio.h>

#include <soma.h>

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
    int target; /* 0 none, 1: fwd >= 4x scalar at N_CACHE, 2: fwd within 2x memcpy at N_MEMORY */
} act_case;

static const act_case cases[] = {
    {SOMA_ACTIVATION_SIGMOID, scalar_sigmoid, 1}, {SOMA_ACTIVATION_TANH, scalar_tanh, 1},
    {SOMA_ACTIVATION_RELU, scalar_relu, 2},       {SOMA_ACTIVATION_LEAKY_RELU, scalar_leaky, 2},
    {SOMA_ACTIVATION_ELU, scalar_elu, 1},         {SOMA_ACTIVATION_SWISH, scalar_swish, 1},
    {SOMA_ACTIVATION_IDENTITY, NULL, 0},          {SOMA_ACTIVATION_SOFTMAX, NULL, 0},
};

/* ---- timed work ------------------------------------------------------------- */

typedef struct work {
    const act_case *c;
    size_t n;
    double *z, *a, *da, *dz;
} work;

static void run_forward(void *p)
{
    work *w = p;
    soma_status st = soma_activation_forward(w->c->f, soma_activation_default_alpha(w->c->f),
                                             w->n, w->z, w->a);
    bench_sink = st == SOMA_OK ? w->a[w->n / 2] : NAN;
}

static void run_backward(void *p)
{
    work *w = p;
    soma_status st = soma_activation_backward(w->c->f, soma_activation_default_alpha(w->c->f),
                                              w->n, w->z, w->a, w->da, w->dz);
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

static double *alloc_array(size_t n)
{
    double *p = aligned_alloc(64, n * sizeof *p);
    if (p == NULL) {
        fprintf(stderr, "soma-bench-activation: out of memory\n");
        exit(EXIT_FAILURE);
    }
    return p;
}

int main(int argc, char **argv)
{
    const char *csv_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
            csv_path = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--csv FILE]\n", argv[0]);
            return EXIT_FAILURE;
        }
    }
    FILE *csv = NULL;
    if (csv_path != NULL) {
        csv = fopen(csv_path, "w");
        if (csv == NULL) {
            perror(csv_path);
            return EXIT_FAILURE;
        }
        fprintf(csv, "activation,n,forward_el_per_ns,backward_el_per_ns,"
                     "scalar_libm_el_per_ns,memcpy_el_per_ns,forward_over_scalar,"
                     "memcpy_time_ratio,target,result\n");
    }

    work w = {NULL, N_MEMORY, alloc_array(N_MEMORY), alloc_array(N_MEMORY),
              alloc_array(N_MEMORY), alloc_array(N_MEMORY)};
    soma_rng rng;
    if (soma_rng_seed(&rng, 42) != SOMA_OK ||
        soma_rng_uniform_range(&rng, N_MEMORY, -8.0, 8.0, w.z) != SOMA_OK ||
        soma_rng_uniform_range(&rng, N_MEMORY, -1.0, 1.0, w.da) != SOMA_OK) {
        fprintf(stderr, "soma-bench-activation: rng failed\n");
        return EXIT_FAILURE;
    }

    printf("soma %s, backend %s; inputs uniform in [-8, 8]; elements per ns, median of "
           "repeated runs\n\n",
           soma_version_string(), soma_backend_name());
    printf("%-10s %8s %8s %8s %8s %8s %9s %9s  %-24s %s\n", "activation", "n", "fwd",
           "bwd", "libm", "memcpy", "fwd/libm", "t/t_mcpy", "target", "result");
    int misses = 0;
    const size_t sizes[2] = {N_CACHE, N_MEMORY};
    for (size_t s = 0; s < 2; s++) {
        w.n = sizes[s];
        const double mcpy = el_per_ns(run_memcpy, &w);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            w.c = &cases[k];
            const double fwd = el_per_ns(run_forward, &w);
            const double bwd = el_per_ns(run_backward, &w);
            const double lib = cases[k].scalar ? el_per_ns(run_scalar, &w) : NAN;
            const double speedup = fwd / lib, tratio = mcpy / fwd; /* t_fwd / t_memcpy */
            const char *target = "", *result = "";
            if (cases[k].target == 1 && w.n == N_CACHE) {
                target = "fwd >= 4x libm";
                result = speedup >= 4.0 ? "PASS" : "MISS";
            } else if (cases[k].target == 2 && w.n == N_MEMORY) {
                target = "fwd time <= 2x memcpy";
                result = tratio <= 2.0 ? "PASS" : "MISS";
            }
            misses += strcmp(result, "MISS") == 0;
            printf("%-10s %8zu %8.3f %8.3f %8.3f %8.3f %9.2f %9.2f  %-24s %s\n",
                   soma_activation_name(cases[k].f), w.n, fwd, bwd, lib, mcpy, speedup,
                   tratio, target, result);
            if (csv != NULL)
                fprintf(csv, "%s,%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%s,%s\n",
                        soma_activation_name(cases[k].f), w.n, fwd, bwd, lib, mcpy,
                        speedup, tratio, target, result);
        }
    }
    printf("\n%d target(s) missed\n", misses);
    if (csv != NULL && fclose(csv) != 0) {
        perror(csv_path);
        return EXIT_FAILURE;
    }
    free(w.dz);
    free(w.da);
    free(w.a);
    free(w.z);
    return EXIT_SUCCESS;
}
