/* soma's own passes over large data at 1 and 2 threads against their size:
 * the figures that set the grains of lib/parallel.h (a pass goes parallel
 * from two grains on; below that both columns time the same serial code).
 * The passes are public functions that use the shared pool:
 * soma_matrix_check_finite (grain SOMA__GRAIN_CHECK),
 * soma_matrix_col_sums (SOMA__GRAIN_SUM) and soma_activation_forward_matrix
 * with relu (SOMA__GRAIN_ACT_CHEAP) and sigmoid (SOMA__GRAIN_ACT_EXP), on
 * packed rows x 512 matrices.
 * The row gather of shuffled minibatches (SOMA__GRAIN_COPY) is private; its
 * effect shows in W3's thread sweep (section workloads).
 *
 * Keys: threads.grain.{check,sum,copy,relu,sigmoid} (doubles),
 * threads.<pass>.<n>.<t>.med_ns (pass: check, sum, relu, sigmoid)
 * for n doubles at t threads.
 */
#include "bench_common.h"

#include "parallel.h" /* the grains (lib/parallel.h): reported beside the times */

#define PASS_COLS 512

enum { PASS_CHECK, PASS_SUM, PASS_RELU, PASS_SIGMOID, PASS_COUNT };
static const char *const pass_names[PASS_COUNT] = {"check", "sum", "relu", "sigmoid"};

typedef struct pass_work {
    soma_matrix M, S, A;
    int pass;
} pass_work;

static void run_pass(void *ctx)
{
    pass_work *w = ctx;
    soma_status st;
    switch (w->pass) {
    case PASS_CHECK:
        st = soma_matrix_check_finite(&w->M);
        break;
    case PASS_SUM:
        st = soma_matrix_col_sums(&w->M, 1.0, &w->S);
        break;
    default:
        st = soma_activation_forward_matrix(w->pass == PASS_RELU ? SOMA_ACTIVATION_RELU
                                                                 : SOMA_ACTIVATION_SIGMOID,
                                            0.0, &w->M, &w->A, NULL);
        break;
    }
    bench_sink = st == SOMA_OK ? w->S.data[0] + w->A.data[0] : -1.0;
}

void section_threads(bench_ctx *b)
{
    kv_set(b->kv, SOMA__GRAIN_CHECK, "threads.grain.check");
    kv_set(b->kv, SOMA__GRAIN_SUM, "threads.grain.sum");
    kv_set(b->kv, SOMA__GRAIN_COPY, "threads.grain.copy");
    kv_set(b->kv, SOMA__GRAIN_ACT_CHEAP, "threads.grain.relu");
    kv_set(b->kv, SOMA__GRAIN_ACT_EXP, "threads.grain.sigmoid");
    soma_rng rng;
    bench_check(soma_rng_seed(&rng, 5), "rng");
    const size_t max_rows = b->quick ? 1024 : 8192;
    for (size_t rows = 8; rows <= max_rows; rows *= 2) {
        pass_work w;
        w.M = bench_random_matrix(&rng, rows, PASS_COLS);
        w.S = bench_random_matrix(&rng, 1, PASS_COLS);
        w.A = bench_random_matrix(&rng, rows, PASS_COLS);
        for (w.pass = 0; w.pass < PASS_COUNT; w.pass++) {
            for (int i = 0; i < BENCH_N_SWEEP; i++) {
                const int t = BENCH_SWEEP_THREADS[i];
                bench_threads(t);
                bench_stats s =
                    bench_measure(run_pass, NULL, &w, 2e6, 1000000, b->quick ? 3 : 7);
                kv_set(b->kv, s.median, "threads.%s.%zu.%d.med_ns", pass_names[w.pass],
                       rows * PASS_COLS, t);
            }
        }
        soma_matrix_free(&w.A);
        soma_matrix_free(&w.S);
        soma_matrix_free(&w.M);
    }
    bench_threads(b->threads);
}
