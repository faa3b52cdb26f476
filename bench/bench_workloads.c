/* Workloads W1-W4 of WORKLOADS.md end to end: training wall time (median of
 * at least 5 fits in this process after one warm-up fit), the metric
 * reached, and for W3 the memory figures (peak resident memory, bytes the
 * library allocated during fit through a counting allocator).
 *
 * W3 and W4 also run with float32 models (sections w3f32 and w4f32: the
 * same data, spec and options but spec.precision, keys w3f32.*, w4f32.*),
 * the W3 one with its own products replayed through cblas_sgemm.
 *
 * Keys: w<i>.t.<round>.<run> (seconds of each timed fit), w<i>.acc,
 * w<i>.acc_spread.<round> (max - min accuracy over the runs: 0 when
 * training is deterministic), w<i>.steps, w<i>.timed_rows (rows actually
 * timed: fewer than the workload's for the naive W3, whose time is then
 * extrapolated), w2.epochs, w2.converged_epoch, w3.mem.*, w3f32.mem.*; in
 * the BLAS build the same w3 and w4 figures at the other thread counts of
 * the sweep as w3x<t>.* and w4x<t>.* (the run's own count is in w3.*,
 * w4.*; the float32 sections run at the run's count only).
 */
#include "bench_common.h"
#include "shapes.h"

#include <math.h>

/* Steps of W3 the naive build times (its full epoch would take minutes). */
#define NAIVE_W3_STEPS 3

typedef struct dataset {
    soma_matrix X, Y;
} dataset;

static void dataset_free(dataset *d)
{
    soma_matrix_free(&d->X);
    soma_matrix_free(&d->Y);
}

static void standardize(soma_matrix *X)
{
    soma_scaler s = {0};
    bench_check(soma_scaler_fit(&s, X, NULL, NULL), "scaler_fit");
    bench_check(soma_scaler_transform(&s, X, X, NULL), "scaler_transform");
    soma_scaler_free(&s);
}

static dataset circles(size_t n, uint64_t seed)
{
    dataset d;
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, seed), "rng");
    bench_check(soma_make_circles(&rng, n, 0.1, 0.3, true, &d.X, &d.Y, NULL, NULL),
                "circles");
    standardize(&d.X);
    return d;
}

static dataset classification(size_t n, size_t features, size_t informative,
                              size_t redundant, size_t classes, size_t clusters,
                              uint64_t seed, bool one_hot, bool scale)
{
    dataset d;
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, seed), "rng");
    soma_make_classification_options o = soma_make_classification_defaults();
    o.n_samples = n;
    o.n_features = features;
    o.n_informative = informative;
    o.n_redundant = redundant;
    o.n_classes = classes;
    o.n_clusters_per_class = clusters;
    soma_matrix labels;
    bench_check(soma_make_classification(&rng, &o, &d.X, &labels, NULL, NULL),
                "classification");
    if (one_hot) {
        bench_check(soma_one_hot(&labels, classes, &d.Y, NULL, NULL), "one_hot");
        soma_matrix_free(&labels);
    } else {
        d.Y = labels;
    }
    if (scale)
        standardize(&d.X);
    return d;
}

static dataset data_w1(void)
{
    return circles(W1_ROWS, 42);
}

static dataset data_w3(void)
{
    /* WORKLOADS.md names n, features, informative, classes and the seed;
     * the rest keeps make_classification's (scikit-learn's) defaults: 2
     * redundant features, 2 clusters per class. */
    const soma_make_classification_options d = soma_make_classification_defaults();
    return classification(W3_ROWS, 784, 64, d.n_redundant, 10, d.n_clusters_per_class, 0,
                          true, true);
}

static dataset data_w4(void)
{
    return circles(W4_ROWS, 1);
}

/* ---- timing fits ---------------------------------------------------------------- */

typedef struct fit_job {
    soma_mlp *mlp;
    soma_init init;
    uint64_t init_seed;
    soma_matrix X, Y;
    soma_fit_options o;
} fit_job;

/* Re-initialise the weights (untimed), then time one fit; *acc = training
 * accuracy of the fitted model on the timed rows (evaluated untimed). */
static double timed_fit(fit_job *j, double *acc)
{
    bench_check(soma_mlp_init_weights(j->mlp, j->init, 1.0, j->init_seed, NULL), "init");
    const double t0 = bench_now_ns();
    bench_check(soma_mlp_fit(j->mlp, &j->X, &j->Y, &j->o, NULL, NULL), "fit");
    const double t = (bench_now_ns() - t0) * 1e-9;
    if (acc != NULL)
        bench_check(soma_mlp_evaluate(j->mlp, &j->X, &j->Y, NULL, acc, NULL), "evaluate");
    return t;
}

/* One warm-up fit, then `runs` timed fits, recorded as <name>.t.<round>.<i>
 * (the report takes the median over every round of both processes'
 * alternation); the other <name>.* keys describe the run. */
static void time_workload(bench_ctx *b, const char *name, fit_job *j, size_t runs,
                          step_work *replay, double replay_ns)
{
    double acc_min = INFINITY, acc_max = -INFINITY, acc = NAN;
    timed_fit(j, NULL);
    for (size_t r = 0; r < runs; r++) {
        /* The step's products replayed just before each fit: the pair sees
         * the same load on this shared machine. */
        if (replay != NULL)
            kv_set(b->kv, step_replay_ns(replay, replay_ns), "%s.replay.%d.%zu", name,
                   b->round, r);
        kv_set(b->kv, timed_fit(j, &acc), "%s.t.%d.%zu", name, b->round, r);
        acc_min = acc < acc_min ? acc : acc_min;
        acc_max = acc > acc_max ? acc : acc_max;
    }
    kv_set(b->kv, acc, "%s.acc", name);
    kv_set(b->kv, acc_max - acc_min, "%s.acc_spread.%d", name, b->round);
    const size_t batch = j->o.batch_size ? j->o.batch_size : j->X.rows;
    kv_set(b->kv, (double)((j->X.rows + batch - 1) / batch), "%s.steps", name);
    kv_set(b->kv, (double)j->X.rows, "%s.timed_rows", name);
}

/* The thread sweep of a workload (BLAS build): the same fits and replays at
 * each count of BENCH_SWEEP_THREADS other than the run's own (whose figures
 * are <name>.*), recorded as <name>x<t>.*; then back to the run's count. */
static void sweep_threads(bench_ctx *b, const char *name, fit_job *j, size_t runs,
                          step_work *replay, double replay_ns)
{
    if (b->slow)
        return;
    for (int i = 0; i < BENCH_N_SWEEP; i++) {
        const int t = BENCH_SWEEP_THREADS[i];
        if (t == b->threads)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%.3sx%d", name, t);
        bench_threads(t);
        time_workload(b, key, j, runs, replay, replay_ns);
    }
    bench_threads(b->threads);
}

static soma_mlp *make_mlp(const size_t *sizes, soma_activation hidden,
                          soma_activation out, soma_loss loss, soma_init init,
                          uint64_t seed, const soma_allocator *alloc,
                          soma_precision precision)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = hidden;
    spec.output = out;
    spec.loss = loss;
    spec.init = init;
    spec.seed = seed;
    spec.precision = precision;
    soma_mlp *mlp;
    bench_check(soma_mlp_create(&mlp, sizes, 4, &spec, alloc, NULL), "mlp_create");
    return mlp;
}

/* ---- the workloads ---------------------------------------------------------------- */

void section_w1(bench_ctx *b)
{
    dataset d = data_w1();
    fit_job j = {make_mlp(W1_SIZES, SOMA_ACTIVATION_SIGMOID, SOMA_ACTIVATION_SIGMOID,
                          SOMA_LOSS_BCE, SOMA_INIT_XAVIER_UNIFORM, 42, NULL,
                          SOMA_PRECISION_F64),
                 SOMA_INIT_XAVIER_UNIFORM,
                 42,
                 d.X,
                 d.Y,
                 soma_fit_options_default()};
    j.o.epochs = W1_EPOCHS;
    j.o.batch_size = 0;
    j.o.learning_rate = 0.1;
    time_workload(b, "w1", &j, b->quick ? 2 : 3, NULL, 0);
    soma_mlp_destroy(j.mlp);
    dataset_free(&d);
}

void section_w2(bench_ctx *b)
{
    dataset d = classification(200, 2, 2, 0, 2, 1, 42, false, false);
    soma_perceptron_options o = soma_perceptron_defaults();
    o.learning_rate = 0.1;
    o.max_epochs = 100;
    soma_perceptron *p;
    bench_check(soma_perceptron_create(&p, &o, NULL, NULL), "perceptron_create");
    const size_t runs = b->quick ? 3 : 21;
    double acc = NAN;
    soma_matrix pred;
    bench_check(soma_matrix_init(&pred, d.X.rows, 1, NULL), "pred");
    for (size_t r = 0; r <= runs; r++) {
        soma_rng rng;
        bench_check(soma_rng_seed(&rng, 42), "rng");
        const double t0 = bench_now_ns();
        bench_check(soma_perceptron_fit(p, &d.X, &d.Y, &rng, NULL), "perceptron_fit");
        if (r > 0)
            kv_set(b->kv, (bench_now_ns() - t0) * 1e-9, "w2.t.%d.%zu", b->round, r - 1);
    }
    bench_check(soma_perceptron_predict(p, &d.X, &pred, NULL), "perceptron_predict");
    size_t correct = 0;
    for (size_t i = 0; i < d.X.rows; i++)
        correct += pred.data[i] == d.Y.data[i];
    acc = (double)correct / (double)d.X.rows;
    const soma_perceptron_epoch *hist;
    size_t epochs = 0, at = 0;
    bool converged = false;
    bench_check(soma_perceptron_history(p, &hist, &epochs, NULL), "perceptron_history");
    bench_check(soma_perceptron_converged(p, &converged, &at, NULL),
                "perceptron_converged");
    kv_set(b->kv, converged ? (double)at : -1.0, "w2.converged_epoch");
    kv_set(b->kv, acc, "w2.acc");
    kv_set(b->kv, (double)epochs, "w2.epochs");
    soma_matrix_free(&pred);
    soma_perceptron_destroy(p);
    dataset_free(&d);
}

/* W3 as `name` ("w3" or "w3f32") in the given precision. */
static void run_w3(bench_ctx *b, const char *name, soma_precision precision)
{
    const size_t rss0 = mem_rss_bytes();
    dataset d = data_w3();
    const size_t rss_data = mem_rss_bytes();
    count_alloc ca;
    soma_allocator alloc = count_alloc_make(&ca);
    fit_job j = {make_mlp(W3_SIZES, SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_SOFTMAX,
                          SOMA_LOSS_CE, SOMA_INIT_HE_UNIFORM, 0, &alloc, precision),
                 SOMA_INIT_HE_UNIFORM,
                 0,
                 d.X,
                 d.Y,
                 soma_fit_options_default()};
    j.o.epochs = 1;
    j.o.batch_size = W3_BATCH;
    j.o.shuffle = true;
    j.o.seed = 0;
    j.o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    j.o.optimizer.momentum = 0.9;
    j.o.learning_rate = 0.01;
    if (b->slow) {
        /* The first NAIVE_W3_STEPS batches' rows only: the time per step is
         * the same, the report extrapolates to the epoch. */
        bench_check(soma_matrix_view_rows(&j.X, &d.X, 0, NAIVE_W3_STEPS * W3_BATCH),
                    "view");
        bench_check(soma_matrix_view_rows(&j.Y, &d.Y, 0, NAIVE_W3_STEPS * W3_BATCH),
                    "view");
    }
    /* Memory: one extra untimed fit with the counters and the peak RSS reset. */
    bench_check(soma_mlp_init_weights(j.mlp, j.init, 1.0, j.init_seed, NULL), "init");
    const size_t live0 = ca.live;
    count_alloc_reset(&ca);
    const bool hwm = mem_hwm_reset();
    const size_t rss_fit0 = mem_rss_bytes();
    bench_check(soma_mlp_fit(j.mlp, &j.X, &j.Y, &j.o, NULL, NULL), "fit");
    kv_set(b->kv, (double)(rss_data - rss0), "%s.mem.data_rss_bytes", name);
    kv_set(b->kv, (double)(d.X.rows * d.X.cols + d.Y.rows * d.Y.cols) * 8.0,
           "%s.mem.data_bytes", name);
    kv_set(b->kv, hwm ? (double)mem_hwm_bytes() : NAN, "%s.mem.peak_rss_bytes", name);
    kv_set(b->kv, (double)rss_fit0, "%s.mem.rss_before_fit_bytes", name);
    kv_set(b->kv, (double)live0, "%s.mem.model_bytes", name);
    kv_set(b->kv, (double)ca.bytes_total, "%s.mem.fit_alloc_bytes", name);
    kv_set(b->kv, (double)(ca.peak - live0), "%s.mem.fit_peak_extra_bytes", name);
    kv_set(b->kv, (double)ca.calls, "%s.mem.fit_alloc_calls", name);
    kv_set(b->kv, (double)soma_mlp_n_params(j.mlp), "%s.mem.n_params", name);
    /* The naive build's W3 products take ~0.5 s per step: no replay there.
     * A float model's replay calls cblas_sgemm. */
    const bool f32 = precision == SOMA_PRECISION_F32;
    step_work *replay =
        b->slow ? NULL : step_replay_create(W3_SIZES, 3, W3_BATCH, 97, f32);
    time_workload(b, name, &j, b->quick ? 2 : 5, replay, 1e8);
    if (!f32)
        sweep_threads(b, name, &j, b->quick ? 1 : 3, replay, 1e8);
    if (replay != NULL)
        step_replay_free(replay);
    soma_mlp_destroy(j.mlp);
    dataset_free(&d);
}

void section_w3(bench_ctx *b)
{
    run_w3(b, "w3", SOMA_PRECISION_F64);
}

void section_w3f32(bench_ctx *b)
{
    run_w3(b, "w3f32", SOMA_PRECISION_F32);
}

/* W4 as `name` ("w4" or "w4f32") in the given precision. */
static void run_w4(bench_ctx *b, const char *name, soma_precision precision)
{
    dataset d = data_w4();
    fit_job j = {make_mlp(W4_SIZES, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID,
                          SOMA_LOSS_BCE, SOMA_INIT_XAVIER_UNIFORM, 1, NULL, precision),
                 SOMA_INIT_XAVIER_UNIFORM,
                 1,
                 d.X,
                 d.Y,
                 soma_fit_options_default()};
    j.o.epochs = 1;
    j.o.batch_size = W4_BATCH;
    j.o.shuffle = true;
    j.o.seed = 1;
    j.o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    j.o.learning_rate = 0.001;
    step_work *replay =
        step_replay_create(W4_SIZES, 3, W4_BATCH, 98, precision == SOMA_PRECISION_F32);
    time_workload(b, name, &j, b->quick ? 2 : 3, replay, 2e7);
    if (precision == SOMA_PRECISION_F64)
        sweep_threads(b, name, &j, b->quick ? 1 : 3, replay, 2e7);
    if (replay != NULL)
        step_replay_free(replay);
    soma_mlp_destroy(j.mlp);
    dataset_free(&d);
}

void section_w4(bench_ctx *b)
{
    run_w4(b, "w4", SOMA_PRECISION_F64);
}

void section_w4f32(bench_ctx *b)
{
    run_w4(b, "w4f32", SOMA_PRECISION_F32);
}
