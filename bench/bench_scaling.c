/* Scaling curves, on synthetic data from soma_rng (Gaussian inputs, labels
 * from a fixed rule; the data does not change the work per step):
 * - rows: time of one epoch against n = 10^3 ... 10^6 on W4's net
 *   [2, 64, 64, 1] (tanh, sigmoid + BCE, Adam, batch 32): must be linear;
 * - width: time per step of [w, w, w, 10] (relu, softmax + CE, SGD with
 *   momentum, batch 128) for w = 64 ... 2048;
 * - batch: GFLOP/s of [512, 512, 512, 10] against the batch size 1 ... 1024.
 * Keys: scale.rows.<n>.s, scale.width.<w>.step_s, scale.batch.<m>.step_s
 * (medians; the report derives rates and GFLOP/s).
 */
#include "bench_common.h"
#include "shapes.h"

#include <math.h>

/* The naive build skips points whose timed epoch would exceed this many
 * flops (~1 GFLOP/s there). */
#define SLOW_MAX_EPOCH_FLOPS 1.5e9

typedef struct net {
    size_t sizes[4];
    soma_activation hidden, out;
    soma_loss loss;
    soma_optimizer opt;
    double lr;
} net;

static void synth(soma_rng *rng, size_t n, size_t d_in, size_t k, soma_matrix *X,
                  soma_matrix *Y)
{
    bench_check(soma_matrix_init(X, n, d_in, NULL), "X");
    bench_check(soma_matrix_init(Y, n, k, NULL), "Y");
    bench_check(soma_rng_normal(rng, n * d_in, 0.0, 1.0, X->data), "rng");
    for (size_t i = 0; i < n; i++) {
        const double *x = X->data + i * d_in;
        if (k == 1) {
            Y->data[i] = x[0] * x[0] + x[1] * x[1] > 1.0 ? 1.0 : 0.0;
        } else {
            size_t best = 0;
            for (size_t j = 1; j < k && j < d_in; j++)
                best = x[j] > x[best] ? j : best;
            Y->data[i * k + best] = 1.0;
        }
    }
}

/* Median wall time of one epoch of `net` over (X, Y) at `batch`, after one
 * warm-up epoch; runs timed epochs. */
static double epoch_time(const net *nt, const soma_matrix *X, const soma_matrix *Y,
                         size_t batch, size_t runs)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = nt->hidden;
    spec.output = nt->out;
    spec.loss = nt->loss;
    spec.init = nt->hidden == SOMA_ACTIVATION_RELU ? SOMA_INIT_HE_UNIFORM
                                                   : SOMA_INIT_XAVIER_UNIFORM;
    spec.seed = 3;
    soma_mlp *mlp;
    bench_check(soma_mlp_create(&mlp, nt->sizes, 4, &spec, NULL, NULL), "mlp_create");
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 1;
    o.batch_size = batch;
    o.shuffle = true;
    o.seed = 3;
    o.optimizer = soma_optim_config_default(nt->opt);
    o.learning_rate = nt->lr;
    double t[16];
    for (size_t r = 0; r <= runs; r++) {
        bench_check(soma_mlp_init_weights(mlp, spec.init, 1.0, 3, NULL), "init");
        const double t0 = bench_now_ns();
        bench_check(soma_mlp_fit(mlp, X, Y, &o, NULL, NULL), "fit");
        if (r > 0)
            t[r - 1] = (bench_now_ns() - t0) * 1e-9;
    }
    soma_mlp_destroy(mlp);
    return bench_median(t, runs);
}

static void scale_rows(bench_ctx *b, soma_rng *rng)
{
    const net nt = {{2, 64, 64, 1}, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID,
                    SOMA_LOSS_BCE,  SOMA_OPTIMIZER_ADAM,  0.001};
    /* The naive build stops at 10^5 rows (10^6 takes ~7 s per epoch there). */
    const size_t max_n = b->quick || b->slow ? 100000 : 1000000;
    soma_matrix X, Y;
    synth(rng, max_n, 2, 1, &X, &Y);
    for (size_t n = 1000; n <= max_n; n *= 10) {
        soma_matrix Xn, Yn;
        bench_check(soma_matrix_view_rows(&Xn, &X, 0, n), "view");
        bench_check(soma_matrix_view_rows(&Yn, &Y, 0, n), "view");
        const size_t runs = n >= 1000000 ? 3 : n >= 100000 ? 5 : 9;
        kv_set(b->kv, epoch_time(&nt, &Xn, &Yn, 32, b->quick ? 2 : runs),
               "scale.rows.%zu.s", n);
    }
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

/* Time per step of nt at `batch` over `steps` steps (one epoch of
 * steps * batch rows). */
static void time_steps(bench_ctx *b, const net *nt, size_t batch, size_t steps,
                       const char *key)
{
    const double flops = step_flops(nt->sizes, 3, batch) * (double)steps;
    if (b->slow && flops > SLOW_MAX_EPOCH_FLOPS)
        return;
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, 11), "rng");
    soma_matrix X, Y;
    synth(&rng, batch * steps, nt->sizes[0], nt->sizes[3], &X, &Y);
    const size_t runs = b->quick ? 2 : 5;
    kv_set(b->kv, epoch_time(nt, &X, &Y, batch, runs) / (double)steps, "%s", key);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
}

static void scale_width(bench_ctx *b)
{
    for (size_t w = 64; w <= 2048; w *= 2) {
        const net nt = {{w, w, w, 10}, SOMA_ACTIVATION_RELU,    SOMA_ACTIVATION_SOFTMAX,
                        SOMA_LOSS_CE,  SOMA_OPTIMIZER_MOMENTUM, 0.01};
        char key[64];
        snprintf(key, sizeof key, "scale.width.%zu.step_s", w);
        time_steps(b, &nt, 128, w >= 1024 ? 8 : 16, key);
    }
}

static void scale_batch(bench_ctx *b)
{
    const net nt = {{512, 512, 512, 10}, SOMA_ACTIVATION_RELU,    SOMA_ACTIVATION_SOFTMAX,
                    SOMA_LOSS_CE,        SOMA_OPTIMIZER_MOMENTUM, 0.01};
    for (size_t m = 1; m <= 1024; m *= 2) {
        char key[64];
        snprintf(key, sizeof key, "scale.batch.%zu.step_s", m);
        time_steps(b, &nt, m, m >= 256 ? 8 : 32, key);
    }
}

void section_scaling(bench_ctx *b)
{
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, 5), "rng");
    scale_rows(b, &rng);
    scale_width(b);
    scale_batch(b);
}
