/* Single-row prediction: one row through a [64, 32, 10] net (relu hidden,
 * softmax output) by the allocation-free predictor, the latency a program
 * serving one request at a time sees. The target of issues 12 and 15 is
 * <= 0.4 us per call (predictor_proba).
 *
 * Keys: predict.proba.med_ns, predict.proba.best_ns, predict.labels.med_ns
 * (nanoseconds per call), predict.check (the sum of the probabilities of
 * the last call, 1 up to rounding: the call did its work).
 */
#include "bench_common.h"

typedef struct predict_work {
    soma_mlp_predictor *pr;
    soma_matrix x, out;
    bool labels;
} predict_work;

static void run_predict(void *ctx)
{
    predict_work *w = ctx;
    soma_status st = w->labels ? soma_mlp_predictor_labels(w->pr, &w->x, &w->out, NULL)
                               : soma_mlp_predictor_proba(w->pr, &w->x, &w->out, NULL);
    bench_sink = st == SOMA_OK ? w->out.data[0] : -1.0;
}

void section_predict(bench_ctx *b)
{
    static const size_t sizes[] = {64, 32, 10};
    soma_mlp_spec spec = soma_mlp_spec_classifier(10); /* relu, softmax + CE, He */
    spec.seed = 7;
    soma_mlp *mlp;
    bench_check(soma_mlp_create(&mlp, sizes, 3, &spec, NULL, NULL), "mlp_create");
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, 11), "rng");
    predict_work w = {.labels = false};
    w.x = bench_random_matrix(&rng, 1, 64);
    bench_check(soma_mlp_predictor_create(&w.pr, mlp, 1, NULL, NULL), "predictor_create");

    const size_t reps = b->quick ? 5 : 15;
    bench_check(soma_matrix_init(&w.out, 1, 10, NULL), "out");
    bench_stats s = bench_measure(run_predict, NULL, &w, 2e6, 100000, reps);
    kv_set(b->kv, s.median, "predict.proba.med_ns");
    kv_set(b->kv, s.best, "predict.proba.best_ns");
    double sum = 0.0;
    for (size_t j = 0; j < 10; j++)
        sum += w.out.data[j];
    kv_set(b->kv, sum, "predict.check");
    soma_matrix_free(&w.out);

    w.labels = true;
    bench_check(soma_matrix_init(&w.out, 1, 1, NULL), "out");
    s = bench_measure(run_predict, NULL, &w, 2e6, 100000, reps);
    kv_set(b->kv, s.median, "predict.labels.med_ns");
    soma_matrix_free(&w.out);

    soma_mlp_predictor_destroy(w.pr);
    soma_matrix_free(&w.x);
    soma_mlp_destroy(mlp);
}
