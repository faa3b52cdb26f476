#include "test_common.h"

/* ---- helpers ---------------------------------------------------------- */

/* The precision of the models make() creates: double, except in the loop
 * tests that run for both precisions (their _i), which put it back. */
static soma_precision precision = SOMA_PRECISION_F64;

static soma_mlp *make(const size_t *sizes, size_t n, soma_activation hidden,
                      soma_activation out, soma_loss loss, uint64_t seed)
{
    return test_make_mlp(sizes, n, hidden, out, loss, seed, precision);
}

/* ---- gradient check --------------------------------------------------- */

/*
 * Central differences of the objective J returned by soma_mlp_gradient,
 * step h = 1e-5. The reference has two error sources: truncation, h^2 J'''/6
 * ~ 1e-11, and rounding of J, ~ eps |J| / h ~ 2e-11 for |J| <~ 1. So a
 * component is accepted when |analytic - numeric| <= 1e-6 max(|a|, |n|) +
 * 1e-10: relative 1e-6 wherever the gradient stands above the reference's
 * noise floor (5x the rounding estimate), which for these nets is nearly
 * every component. A wrong formula (a missing factor, a sign, a dropped
 * term) misses by orders of magnitude more.
 */
static void gradient_check(soma_activation hidden, const test_pairing *pr, size_t depth,
                           double l2, uint64_t seed)
{
    test_grad_case c = test_grad_case_make(hidden, pr, depth, seed, SOMA_PRECISION_F64);
    soma_mlp *m = c.m;
    soma_matrix X = c.X, Y = c.Y, params, grads;
    ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_grads(m, &grads, NULL), SOMA_OK);
    const size_t P = params.cols;
    double *analytic = malloc(P * sizeof(double));
    double J0;
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, l2, &J0, NULL), SOMA_OK);
    ck_assert(isfinite(J0));
    memcpy(analytic, grads.data, P * sizeof(double));
    double norm = 0;
    for (size_t i = 0; i < P; i++) {
        const double h = 1e-5, keep = params.data[i];
        double jp, jm;
        params.data[i] = keep + h;
        ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, l2, &jp, NULL), SOMA_OK);
        params.data[i] = keep - h;
        ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, l2, &jm, NULL), SOMA_OK);
        params.data[i] = keep;
        const double num = (jp - jm) / (2 * h), a = analytic[i];
        const double scale = fmax(fabs(a), fabs(num));
        const bool ok = fabs(a - num) <= 1e-6 * scale + 1e-10;
        ck_assert_msg(ok,
                      "%s hidden, %s out, %s loss, depth %zu, l2 %g: param %zu "
                      "analytic %.10g numeric %.10g",
                      soma_activation_name(hidden), soma_activation_name(pr->out),
                      soma_loss_name(pr->loss), depth, l2, i, a, num);
        norm += fabs(a);
    }
    ck_assert_msg(norm > 1e-4, "gradient trivially small: %g", norm);
    free(analytic);
    test_grad_case_free(&c);
}

START_TEST(gradient_check_all_combinations)
{
    /* _i runs over hidden activations; every pairing, depth and L2 inside. */
    test_each_gradient_case((soma_activation)_i, gradient_check);
}
END_TEST

START_TEST(gradient_in_several_chunks)
{
    /* 2500 rows: three chunks of at most 1024 whose gradients are summed. */
    const size_t sizes[3] = {2, 5, 1};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE, 5);
    soma_matrix X, Y, params, grads;
    ck_assert_int_eq(soma_matrix_init(&X, 2500, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 2500, 1, NULL), SOMA_OK);
    test_fill_random(&X, 6);
    test_fill_targets(&Y, SOMA_LOSS_BCE, 7);
    ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_grads(m, &grads, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, 0.0, NULL, NULL), SOMA_OK);
    double analytic[21];
    ck_assert_uint_eq(params.cols, 21);
    memcpy(analytic, grads.data, sizeof analytic);
    for (size_t i = 0; i < 21; i++) {
        const double h = 1e-5, keep = params.data[i];
        double jp, jm;
        params.data[i] = keep + h;
        ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, 0.0, &jp, NULL), SOMA_OK);
        params.data[i] = keep - h;
        ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, 0.0, &jm, NULL), SOMA_OK);
        params.data[i] = keep;
        const double num = (jp - jm) / (2 * h);
        ck_assert_double_le(fabs(analytic[i] - num), 1e-6 * fmax(fabs(num), 1e-3));
    }
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    soma_mlp_destroy(m);
}
END_TEST

/* ---- a step worked out by hand ---------------------------------------- */

START_TEST(hand_computed_step)
{
    /*
     * [2, 2, 1], relu hidden, identity output, MSE; one row x = (1, 2), y = 1.
     * W1 = [0.1 0.2; 0.3 0.4], b1 = (0.01, 0.02), W2 = (0.5, -0.25)^T, b2 = 0.1.
     * z1 = (0.1 + 0.6 + 0.01, 0.2 + 0.8 + 0.02) = (0.71, 1.02) = a1
     * p  = 0.71 * 0.5 - 1.02 * 0.25 + 0.1 = 0.2;   loss = (0.2 - 1)^2 = 0.64
     * dZ2 = 2 (p - y) = -1.6
     * dW2 = a1^T dZ2 = (-1.136, -1.632);  db2 = -1.6
     * dA1 = dZ2 W2^T = (-0.8, 0.4) = dZ1 (both z1 > 0)
     * dW1 = x^T dZ1 = [-0.8 0.4; -1.6 0.8];  db1 = (-0.8, 0.4)
     * One SGD step, lr 0.1: param -= 0.1 grad.
     */
    const size_t sizes[3] = {2, 2, 1};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_IDENTITY, SOMA_LOSS_MSE, 1);
    const double start[9] = {0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.5, -0.25, 0.1};
    const double grad[9] = {-0.8, 0.4, -1.6, 0.8, -0.8, 0.4, -1.136, -1.632, -1.6};
    soma_matrix params, grads, X, Y;
    ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
    ck_assert_uint_eq(params.cols, 9);
    memcpy(params.data, start, sizeof start);
    double x[2] = {1, 2}, y[1] = {1};
    ck_assert_int_eq(soma_matrix_view(&X, x, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 1, 1, 1), SOMA_OK);
    double J;
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, 0.0, &J, NULL), SOMA_OK);
    ck_assert_double_eq_tol(J, 0.64, 1e-14);
    ck_assert_int_eq(soma_mlp_grads(m, &grads, NULL), SOMA_OK);
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq_tol(grads.data[i], grad[i], 1e-14);

    soma_fit_options o = soma_fit_options_default();
    o.epochs = 1;
    o.learning_rate = 0.1;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
    ck_assert_uint_eq(h.n_epochs, 1);
    ck_assert_double_eq_tol(h.epochs[0].loss, 0.64, 1e-14);
    ck_assert(isnan(h.epochs[0].accuracy)); /* MSE: no accuracy */
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq_tol(params.data[i], start[i] - 0.1 * grad[i], 1e-14);
    soma_history_free(&h);
    soma_mlp_destroy(m);
}
END_TEST

/* ---- learning ------------------------------------------------------------ */

START_TEST(xor_is_learned)
{
    double x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    soma_matrix X, Y, labels;
    ck_assert_int_eq(soma_matrix_view(&X, x, 4, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 4, 1, 1), SOMA_OK);
    const size_t sizes[3] = {2, 4, 1};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE, 1);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 2000;
    o.learning_rate = 0.5;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
    double acc, loss;
    ck_assert_int_eq(soma_mlp_evaluate(m, &X, &Y, &loss, &acc, NULL), SOMA_OK);
    ck_assert_double_eq(acc, 1.0);
    ck_assert_double_lt(loss, 0.05);
    ck_assert_int_eq(soma_matrix_init(&labels, 4, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict(m, &X, &labels, NULL), SOMA_OK);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(labels.data[i], y[i]);
    soma_matrix_free(&labels);
    soma_mlp_destroy(m);
}
END_TEST

/* Three Gaussian blobs (sd 0.6) around (0, 3), (-3, -2), (3, -2); labels
 * one-hot. The centres are > 5 sd apart, so a linear boundary already
 * separates all but ~1e-4 of the points. */
static void blobs(size_t n, soma_matrix *X, soma_matrix *Y, uint64_t seed)
{
    static const double centre[3][2] = {{0, 3}, {-3, -2}, {3, -2}};
    ck_assert_int_eq(soma_matrix_init(X, n, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(Y, n, 3, NULL), SOMA_OK);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, seed), SOMA_OK);
    for (size_t i = 0; i < n; i++) {
        size_t c = i % 3;
        ck_assert_int_eq(
            soma_rng_normal(&r, 1, centre[c][0], 0.6, soma_matrix_at(X, i, 0)), SOMA_OK);
        ck_assert_int_eq(
            soma_rng_normal(&r, 1, centre[c][1], 0.6, soma_matrix_at(X, i, 1)), SOMA_OK);
        *soma_matrix_at(Y, i, c) = 1.0;
    }
}

START_TEST(softmax_blobs_are_learned)
{
    soma_matrix X, Y, Xt, Yt;
    blobs(600, &X, &Y, 11);
    blobs(300, &Xt, &Yt, 12);
    const size_t sizes[3] = {2, 16, 3};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_SOFTMAX, SOMA_LOSS_CE, 2);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 30;
    o.batch_size = 32;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = 0.01;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
    double acc;
    ck_assert_int_eq(soma_mlp_evaluate(m, &Xt, &Yt, NULL, &acc, NULL), SOMA_OK);
    ck_assert_double_ge(acc, 0.95);
    ck_assert_double_lt(h.epochs[h.n_epochs - 1].loss, h.epochs[0].loss);
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_matrix *all[] = {&X, &Y, &Xt, &Yt};
    for (int i = 0; i < 4; i++)
        soma_matrix_free(all[i]);
}
END_TEST

START_TEST(regression_of_a_smooth_curve)
{
    /* y = sin(x) on [-3, 3]; a [1, 16, 16, 1] tanh net with Adam reaches a
     * mean squared error below 1e-3 (the variance of y is ~0.47, so this is
     * > 99.7% of the variance explained). */
    const size_t n = 200;
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_init(&X, n, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, n, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < n; i++) {
        X.data[i] = -3.0 + 6.0 * (double)i / (double)(n - 1);
        Y.data[i] = sin(X.data[i]);
    }
    const size_t sizes[4] = {1, 16, 16, 1};
    soma_mlp *m =
        make(sizes, 4, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_IDENTITY, SOMA_LOSS_MSE, 3);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 300;
    o.batch_size = 20;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = 0.01;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
    double mse;
    ck_assert_int_eq(soma_mlp_evaluate(m, &X, &Y, &mse, NULL, NULL), SOMA_OK);
    ck_assert_double_lt(mse, 1e-3);
    soma_matrix labels;
    ck_assert_int_eq(soma_matrix_init(&labels, n, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict(m, &X, &labels, NULL), SOMA_ENOTSUP);
    soma_matrix_free(&labels);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    soma_mlp_destroy(m);
}
END_TEST

/* ---- early stopping, callback, warm start, determinism ------------------ */

/* The model of circle_task alone (a twin trained on the same data). */
static soma_mlp *circle_model(uint64_t seed)
{
    const size_t sizes[4] = {2, 8, 8, 1};
    return make(sizes, 4, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE,
                seed);
}

static soma_mlp *circle_task(soma_matrix *X, soma_matrix *Y, uint64_t seed)
{
    /* Points in [-1, 1]^2 labelled by x^2 + y^2 < 0.5. */
    ck_assert_int_eq(soma_matrix_init(X, 240, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(Y, 240, 1, NULL), SOMA_OK);
    test_fill_random(X, seed);
    for (size_t i = 0; i < 240; i++) {
        double a = X->data[2 * i], b = X->data[2 * i + 1];
        Y->data[i] = a * a + b * b < 0.5 ? 1.0 : 0.0;
    }
    return circle_model(seed);
}

START_TEST(early_stopping_restores_the_best_epoch)
{
    precision = (soma_precision)_i;
    soma_matrix X, Y;
    soma_mlp *m = circle_task(&X, &Y, 21), *twin = circle_model(21);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 50;
    o.learning_rate = 0.1;
    o.early_stopping = true;
    o.patience = 3;
    o.min_delta = 1e9; /* nothing after the first epoch counts as better */
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
    ck_assert_int_eq(h.stop, SOMA_STOP_EARLY);
    ck_assert_uint_eq(h.n_epochs, 4);
    ck_assert_uint_eq(h.best_epoch, 0);
    ck_assert(h.restored);
    /* The restored parameters are those after one epoch. */
    soma_fit_options one = soma_fit_options_default();
    one.epochs = 1;
    one.learning_rate = 0.1;
    ck_assert_int_eq(soma_mlp_fit(twin, &X, &Y, &one, NULL, NULL), SOMA_OK);
    soma_matrix p = test_params_copy(m), q = test_params_copy(twin);
    ck_assert_mem_eq(p.data, q.data, p.cols * sizeof(double));
    soma_matrix_free(&p);
    soma_matrix_free(&q);
    soma_history_free(&h);
    soma_mlp_destroy(twin);
    soma_mlp_destroy(m);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    precision = SOMA_PRECISION_F64;
}
END_TEST

static int stop_at_five(void *user, const soma_epoch_stats *s)
{
    size_t *calls = user;
    ck_assert_uint_eq(s->epoch, *calls);
    (*calls)++;
    return s->epoch == 4;
}

START_TEST(callback_stops_training)
{
    soma_matrix X, Y;
    soma_mlp *m = circle_task(&X, &Y, 22);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 100;
    size_t calls = 0;
    o.callback = stop_at_five;
    o.callback_user = &calls;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
    ck_assert_int_eq(h.stop, SOMA_STOP_CALLBACK);
    ck_assert_uint_eq(h.n_epochs, 5);
    ck_assert_uint_eq(calls, 5);
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(warm_start_continues_exactly)
{
    /* 10 + 10 warm-started epochs of Adam on full batches (batch_size = n)
     * and a decaying schedule give the same bits as 20 epochs in one call: optimizer
     * state, epoch count and schedule all continue. */
    soma_matrix X, Y, p, q;
    soma_mlp *a = circle_task(&X, &Y, 23), *b = circle_model(23);
    soma_fit_options o = soma_fit_options_default();
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = 0.01;
    o.batch_size = 240; /* full batch: the same rows in the same order each epoch */
    o.schedule.kind = SOMA_SCHEDULE_EXPONENTIAL;
    o.schedule.gamma = 0.95;
    o.epochs = 20;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    o.epochs = 10;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    o.warm_start = true;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, &h, NULL), SOMA_OK);
    ck_assert_uint_eq(h.epochs[0].epoch, 10);
    ck_assert_double_eq_tol(h.epochs[0].learning_rate, 0.01 * pow(0.95, 10), 1e-17);
    ck_assert_int_eq(soma_mlp_params(a, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(b, &q, NULL), SOMA_OK);
    ck_assert_mem_eq(p.data, q.data, p.cols * sizeof(double));
    /* The configuration is compared by value: padding bytes that differ
     * (here 0xA5 in every byte the fields do not cover) do not restart the
     * optimizer. */
    soma_mlp *c = circle_model(23);
    soma_matrix r;
    o.warm_start = false;
    ck_assert_int_eq(soma_mlp_fit(c, &X, &Y, &o, NULL, NULL), SOMA_OK);
    soma_optim_config padded;
    memset(&padded, 0xA5, sizeof padded);
    padded.kind = o.optimizer.kind;
    padded.momentum = o.optimizer.momentum;
    padded.beta1 = o.optimizer.beta1;
    padded.beta2 = o.optimizer.beta2;
    padded.epsilon = o.optimizer.epsilon;
    soma_fit_options warm = o;
    warm.optimizer = padded;
    warm.warm_start = true;
    ck_assert_int_eq(soma_mlp_fit(c, &X, &Y, &warm, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(c, &r, NULL), SOMA_OK);
    ck_assert_mem_eq(p.data, r.data, p.cols * sizeof(double));
    soma_mlp_destroy(c);
    /* Without warm start the Adam state restarts: different parameters. */
    o.warm_start = false;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    o.warm_start = true;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert(memcmp(p.data, q.data, p.cols * sizeof(double)) != 0);
    soma_history_free(&h);
    soma_mlp_destroy(b);
    soma_mlp_destroy(a);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(same_seed_same_history)
{
    soma_matrix X, Y;
    soma_history h[2];
    for (int r = 0; r < 2; r++) {
        soma_mlp *m = circle_task(&X, &Y, 24);
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 15;
        o.batch_size = 16;
        o.dropout = 0.2;
        o.validation_fraction = 0.25;
        o.seed = 99;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_NESTEROV);
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h[r], NULL), SOMA_OK);
        soma_mlp_destroy(m);
        soma_matrix_free(&Y);
        soma_matrix_free(&X);
    }
    ck_assert_uint_eq(h[0].n_epochs, h[1].n_epochs);
    for (size_t e = 0; e < h[0].n_epochs; e++) {
        soma_epoch_stats a = h[0].epochs[e], b = h[1].epochs[e];
        ck_assert_mem_eq(&a.loss, &b.loss, sizeof a.loss);
        ck_assert_mem_eq(&a.accuracy, &b.accuracy, sizeof a.accuracy);
        ck_assert_mem_eq(&a.val_loss, &b.val_loss, sizeof a.val_loss);
        ck_assert_mem_eq(&a.val_accuracy, &b.val_accuracy, sizeof a.val_accuracy);
        ck_assert(isfinite(a.val_loss));
    }
    soma_history_free(&h[0]);
    soma_history_free(&h[1]);
}
END_TEST

START_TEST(explicit_validation_matches_evaluate)
{
    soma_matrix X, Y, Xv, Yv;
    soma_mlp *m = circle_task(&X, &Y, 25), *other = circle_task(&Xv, &Yv, 26);
    soma_mlp_destroy(other);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 5;
    o.batch_size = 40;
    o.X_val = &Xv;
    o.Y_val = &Yv;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
    double vl, va;
    ck_assert_int_eq(soma_mlp_evaluate(m, &Xv, &Yv, &vl, &va, NULL), SOMA_OK);
    ck_assert_double_eq(h.epochs[4].val_loss, vl);
    ck_assert_double_eq(h.epochs[4].val_accuracy, va);
    soma_history_free(&h);
    soma_mlp_destroy(m);
    soma_matrix *all[] = {&X, &Y, &Xv, &Yv};
    for (int i = 0; i < 4; i++)
        soma_matrix_free(all[i]);
}
END_TEST

/* ---- reduce hooks ------------------------------------------------------------ */

typedef struct hook_log {
    size_t grad_calls, metric_calls, rows_seen;
    double last_count;
} hook_log;

static soma_status double_grads(void *user, double *g, size_t n, double rows)
{
    hook_log *log = user;
    log->grad_calls++;
    log->rows_seen += (size_t)rows;
    for (size_t i = 0; i < n; i++)
        g[i] *= 2.0;
    return SOMA_OK;
}

static soma_status see_metrics(void *user, double *v, size_t n)
{
    hook_log *log = user;
    ck_assert_uint_eq(n, 6);
    log->metric_calls++;
    log->last_count = v[2];
    return SOMA_OK;
}

static soma_status fail_grads(void *user, double *g, size_t n, double rows)
{
    (void)user, (void)g, (void)n, (void)rows;
    return SOMA_EMPI;
}

START_TEST(reduce_hooks_join_every_step)
{
    /* Doubling the gradient with lr 0.05 is exactly lr 0.1 without a hook
     * (0.05 * 2g and 0.1 g round alike: 0.1 = 2 x 0.05 in binary). */
    soma_matrix X, Y, p, q;
    soma_mlp *a = circle_task(&X, &Y, 28), *b = circle_model(28);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 3;
    o.batch_size = 50; /* 240 rows: batches of 50, 50, 50, 50, 40 */
    o.shuffle = false;
    o.learning_rate = 0.1;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    hook_log log = {0, 0, 0, 0};
    o.learning_rate = 0.05;
    o.reduce.grads = double_grads;
    o.reduce.metrics = see_metrics;
    o.reduce.user = &log;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(a, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(b, &q, NULL), SOMA_OK);
    ck_assert_mem_eq(p.data, q.data, p.cols * sizeof(double));
    ck_assert_uint_eq(log.grad_calls, 15);
    ck_assert_uint_eq(log.rows_seen, 3 * 240);
    ck_assert_uint_eq(log.metric_calls, 3);
    ck_assert_double_eq(log.last_count, 240.0);
    /* A failing hook stops fit with its status. */
    o.reduce.grads = fail_grads;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, &h, NULL), SOMA_EMPI);
    ck_assert_uint_eq(h.n_epochs, 0);
    soma_history_free(&h);
    soma_mlp_destroy(b);
    soma_mlp_destroy(a);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
}
END_TEST

typedef struct start_log {
    size_t calls;
    soma_status seen, answer;
} start_log;

static soma_status start_answer(void *user, soma_status local)
{
    start_log *log = user;
    log->calls++;
    log->seen = local;
    return log->answer;
}

START_TEST(start_hook_agrees_before_anything_changes)
{
    /* Three models from the same seed: `a` trains 2 epochs with momentum,
     * then 2 more with a warm start; `b` does the same but between the two
     * fits sees a fit (Adam, which would replace the optimizer state) vetoed
     * by the start hook; `b` must end bit-identical to `a`. */
    soma_matrix X, Y, Xbad, p, q;
    test_alloc counter;
    soma_allocator al = test_allocator(&counter);
    soma_mlp *a = circle_task(&X, &Y, 31);
    soma_mlp_spec spec;
    ck_assert_int_eq(soma_mlp_get_spec(a, &spec, NULL), SOMA_OK);
    const size_t sizes[4] = {2, 8, 8, 1};
    soma_mlp *b = NULL;
    ck_assert_int_eq(soma_mlp_create(&b, sizes, 4, &spec, &al, NULL), SOMA_OK);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 2;
    o.batch_size = 60;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
    o.learning_rate = 0.05;
    start_log log = {0, SOMA_EINVAL, SOMA_OK};
    o.reduce.start = start_answer;
    o.reduce.user = &log;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(log.calls, 2);
    ck_assert_int_eq(log.seen, SOMA_OK);

    /* Veto: nothing changes, nothing leaks, the history stays as it was. */
    const size_t live = counter.live_bytes;
    soma_fit_options adam = o;
    adam.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    adam.warm_start = true;
    adam.validation_fraction = 0.25;
    log.answer = SOMA_EMPI;
    soma_history h;
    memset(&h, 0x5a, sizeof h);
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &adam, &h, NULL), SOMA_EMPI);
    ck_assert_int_eq(log.seen, SOMA_OK);
    ck_assert_uint_eq(h.n_epochs, (size_t)0x5a5a5a5a5a5a5a5aULL);
    ck_assert_uint_eq(counter.live_bytes, live);

    /* A local error reaches the hook; the hook's error wins, and an OK
     * answer cannot hide the local error. */
    ck_assert_int_eq(soma_matrix_init(&Xbad, 240, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(b, &Xbad, &Y, &o, NULL, NULL), SOMA_EMPI);
    ck_assert_int_eq(log.seen, SOMA_EDIM);
    log.answer = SOMA_OK;
    ck_assert_int_eq(soma_mlp_fit(b, &Xbad, &Y, &o, NULL, NULL), SOMA_EDIM);
    o.epochs = 0;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(log.seen, SOMA_EINVAL);
    ck_assert_uint_eq(log.calls, 6);

    /* The warm start continues the momentum state of the first fit. */
    o.epochs = 2;
    o.warm_start = true;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(a, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(b, &q, NULL), SOMA_OK);
    ck_assert_mem_eq(p.data, q.data, p.cols * sizeof(double));
    soma_mlp_destroy(b);
    ck_assert_uint_eq(counter.allocs, counter.frees);
    soma_mlp_destroy(a);
    soma_matrix_free(&Xbad);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
}
END_TEST

/* ---- divergence, allocation, bad input ------------------------------------ */

START_TEST(divergence_keeps_last_finite_parameters)
{
    /* Regression with targets of 1e150 and a huge learning rate: the
     * squared error overflows within a few epochs. */
    const size_t sizes[3] = {1, 4, 1};
    soma_mlp *m = make(sizes, 3, SOMA_ACTIVATION_IDENTITY, SOMA_ACTIVATION_IDENTITY,
                       SOMA_LOSS_MSE, 4);
    double x[4] = {1, 2, 3, 4}, y[4] = {1e150, -1e150, 1e150, -1e150};
    soma_matrix X, Y, p;
    ck_assert_int_eq(soma_matrix_view(&X, x, 4, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 4, 1, 1), SOMA_OK);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 100;
    o.learning_rate = 10.0;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_ENONFINITE);
    ck_assert_int_eq(h.stop, SOMA_STOP_DIVERGED);
    ck_assert_uint_lt(h.n_epochs, 100);
    ck_assert_int_eq(soma_mlp_params(m, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_check_finite(&p), SOMA_OK);
    /* Full batch: the kept parameters are the ones whose loss the last
     * finite history entry recorded (that epoch's starting point). */
    ck_assert_uint_ge(h.n_epochs, 2);
    size_t last = h.n_epochs - 1;
    while (last > 0 && !isfinite(h.epochs[last].loss))
        last--;
    ck_assert(isfinite(h.epochs[last].loss));
    double loss;
    ck_assert_int_eq(soma_mlp_evaluate(m, &X, &Y, &loss, NULL, NULL), SOMA_OK);
    ck_assert_double_eq_tol(loss, h.epochs[last].loss, 1e-12 * h.epochs[last].loss);
    soma_history_free(&h);
    soma_mlp_destroy(m);
}
END_TEST

/* A gradient hook that changes nothing (a float model calls it on a double
 * copy of its gradient, made once per fit). */
static soma_status keep_grads(void *user, double *g, size_t n, double rows)
{
    (void)user, (void)g, (void)n, (void)rows;
    return SOMA_OK;
}

START_TEST(no_allocation_grows_with_steps)
{
    /* In both precisions (_i), with a double gradient hook. */
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    const size_t sizes[4] = {2, 8, 8, 1};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.precision = (soma_precision)_i;
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 4, &spec, &a, NULL), SOMA_OK);
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_init(&X, 300, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 300, 1, NULL), SOMA_OK);
    test_fill_random(&X, 1);
    test_fill_targets(&Y, SOMA_LOSS_BCE, 2);
    size_t counts[2];
    const size_t epochs[2] = {1, 25};
    for (int r = 0; r < 2; r++) {
        soma_fit_options o = soma_fit_options_default();
        o.epochs = epochs[r];
        o.batch_size = 8; /* 38 steps per epoch */
        o.dropout = 0.1;
        o.validation_fraction = 0.1;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
        o.early_stopping = true;
        o.min_delta = 0.0;
        o.patience = 100;
        o.reduce.grads = keep_grads;
        soma_history h;
        size_t before = t.allocs;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
        counts[r] = t.allocs - before;
        ck_assert_uint_eq(h.n_epochs, epochs[r]);
        soma_history_free(&h);
    }
    ck_assert_uint_eq(counts[0], counts[1]);
    ck_assert_uint_le(counts[0], 4);
    soma_mlp_destroy(m);
    ck_assert_uint_eq(t.live_bytes, 0);
    ck_assert_uint_eq(t.allocs, t.frees);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(predict_memory_is_bounded)
{
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    const size_t sizes[3] = {2, 32, 1};
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, NULL, &a, NULL), SOMA_OK);
    size_t peaks[2];
    const size_t rows[2] = {5000, 50000};
    for (int r = 0; r < 2; r++) {
        soma_matrix X, P;
        ck_assert_int_eq(soma_matrix_init(&X, rows[r], 2, NULL), SOMA_OK);
        ck_assert_int_eq(soma_matrix_init(&P, rows[r], 1, NULL), SOMA_OK);
        const size_t base = t.live_bytes;
        t.peak_bytes = base;
        ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &P, NULL), SOMA_OK);
        peaks[r] = t.peak_bytes - base;
        for (size_t i = 0; i < rows[r]; i++)
            ck_assert_double_eq_tol(P.data[i], P.data[0], 1e-15); /* X = 0 */
        soma_matrix_free(&P);
        soma_matrix_free(&X);
    }
    ck_assert_uint_eq(peaks[0], peaks[1]);
    ck_assert_uint_gt(peaks[0], 0);
    soma_mlp_destroy(m);
}
END_TEST

START_TEST(bad_input_leaves_model_unchanged)
{
    soma_matrix X, Y, params;
    soma_mlp *m = circle_task(&X, &Y, 27);
    ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
    double *before = malloc(params.cols * sizeof(double));
    memcpy(before, params.data, params.cols * sizeof(double));
    soma_history h;
    memset(&h, 0x33, sizeof h);
    const soma_history h_before = h;
    soma_fit_options o = soma_fit_options_default(), bad;
    o.epochs = 2;
    soma_matrix wrongX, wrongY, Yfew, Xe, Ye;
    ck_assert_int_eq(soma_matrix_init(&wrongX, 240, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&wrongY, 240, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Yfew, 239, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Xe, 0, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Ye, 0, 1, NULL), SOMA_OK);

    ck_assert_int_eq(soma_mlp_fit(NULL, &X, &Y, &o, &h, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_fit(m, NULL, &Y, &o, &h, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_fit(m, &X, NULL, &o, &h, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, NULL, &h, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_fit(m, &wrongX, &Y, &o, &h, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &wrongY, &o, &h, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Yfew, &o, &h, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_mlp_fit(m, &Xe, &Ye, &o, &h, NULL), SOMA_EINVAL);
    const double lrs[3] = {0.0, -1.0, NAN};
    for (int i = 0; i < 3; i++) {
        bad = o;
        bad.learning_rate = lrs[i];
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    }
    bad = o;
    bad.epochs = 0;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    const double fracs[3] = {-0.1, 1.0, NAN};
    for (int i = 0; i < 3; i++) {
        bad = o;
        bad.validation_fraction = fracs[i];
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    }
    bad = o;
    bad.dropout = 1.0;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    bad = o;
    bad.early_stopping = true;
    bad.patience = 0;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    bad = o;
    bad.optimizer.kind = SOMA_OPTIMIZER_ADAM;
    bad.optimizer.beta2 = 1.5;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    bad = o;
    bad.X_val = &X; /* without Y_val */
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, &h, NULL), SOMA_EINVAL);
    /* BCE targets outside [0, 1], NaN and infinity in the data. */
    Y.data[5] = 2.0;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_EINVAL);
    Y.data[5] = NAN;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_ENONFINITE);
    Y.data[5] = 1.0;
    X.data[7] = INFINITY;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_ENONFINITE);
    X.data[7] = 0.5;
    ck_assert_mem_eq(params.data, before, params.cols * sizeof(double));
    ck_assert_mem_eq(&h, &h_before, sizeof h);

    /* Batch larger than n is clamped: the same as full batch. */
    soma_mlp *twin = circle_model(27);
    soma_matrix q;
    ck_assert_int_eq(soma_mlp_params(twin, &q, NULL), SOMA_OK);
    bad = o;
    bad.batch_size = 100000;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &bad, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(twin, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_mem_eq(params.data, q.data, params.cols * sizeof(double));

    /* predict / evaluate / create. */
    soma_matrix P;
    ck_assert_int_eq(soma_matrix_init(&P, 240, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &wrongX, &P, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &wrongY, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_mlp_predict_proba(NULL, &X, &P, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_predict(m, &X, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_evaluate(m, &Xe, &Ye, NULL, NULL, NULL), SOMA_EINVAL);
    soma_mlp *none = (soma_mlp *)&P;
    const size_t zero[3] = {2, 0, 1}, ok[3] = {2, 3, 1};
    soma_mlp_spec spec = soma_mlp_spec_default();
    ck_assert_int_eq(soma_mlp_create(&none, zero, 3, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_create(&none, ok, 1, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_create(NULL, ok, 3, NULL, NULL, NULL), SOMA_EINVAL);
    const size_t huge[3] = {2, ((size_t)1 << 31) - 1,
                            ((size_t)1 << 31) - 1}; /* ~2^62 weights */
    ck_assert_int_eq(soma_mlp_create(&none, huge, 3, NULL, NULL, NULL), SOMA_EOVERFLOW);
    spec.init = SOMA_INIT_NORMAL;
    spec.init_scale = -1.0;
    ck_assert_int_eq(soma_mlp_create(&none, ok, 3, &spec, NULL, NULL), SOMA_EINVAL);
    spec = soma_mlp_spec_default();
    spec.loss = (soma_loss)9;
    ck_assert_int_eq(soma_mlp_create(&none, ok, 3, &spec, NULL, NULL), SOMA_EINVAL);
    ck_assert_ptr_eq(none, (soma_mlp *)&P);
    ck_assert_int_eq(soma_mlp_init_weights(m, SOMA_INIT_COUNT, 1.0, 1, NULL),
                     SOMA_EINVAL);

    /* Allocation failure at each step of create leaks nothing. */
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    for (size_t k = 1;; k++) {
        memset(&t, 0, sizeof t);
        t.fail_at = k;
        soma_mlp *x = NULL;
        soma_status st = soma_mlp_create(&x, ok, 3, NULL, &a, NULL);
        if (st == SOMA_OK) {
            soma_mlp_destroy(x);
            ck_assert_uint_eq(t.live_bytes, 0);
            break;
        }
        ck_assert_int_eq(st, SOMA_ENOMEM);
        ck_assert_ptr_null(x);
        ck_assert_uint_eq(t.live_bytes, 0);
    }
    soma_matrix *all[] = {&X, &Y, &wrongX, &wrongY, &Yfew, &Xe, &Ye, &P};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
    free(before);
    soma_mlp_destroy(twin);
    soma_mlp_destroy(m);
}
END_TEST

/* ---- initialisers ---------------------------------------------------------- */

START_TEST(initialisers_have_their_distributions)
{
    /* One 400 x 300 layer: 120000 weights. Standard errors of the sample
     * variance are ~ var sqrt(2/n) = 0.4% (normal) and 0.25% (uniform); we
     * allow 3%. */
    const size_t sizes[2] = {400, 300};
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 2, NULL, NULL, NULL), SOMA_OK);
    const double fi = 400, fo = 300;
    const struct {
        soma_init init;
        double scale, var, bound;
    } cases[] = {
        {SOMA_INIT_XAVIER_UNIFORM, 1.0, 2.0 / (fi + fo), sqrt(6.0 / (fi + fo))},
        {SOMA_INIT_XAVIER_NORMAL, 1.0, 2.0 / (fi + fo), INFINITY},
        {SOMA_INIT_HE_UNIFORM, 1.0, 2.0 / fi, sqrt(6.0 / fi)},
        {SOMA_INIT_HE_NORMAL, 1.0, 2.0 / fi, INFINITY},
        {SOMA_INIT_NORMAL, 0.01, 1e-4, INFINITY},
        {SOMA_INIT_NORMAL, 1.0, 1.0, INFINITY},
    };
    soma_matrix W, b;
    ck_assert_int_eq(soma_mlp_layer(m, 0, &W, &b, NULL), SOMA_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ck_assert_int_eq(soma_mlp_init_weights(m, cases[c].init, cases[c].scale, c, NULL),
                         SOMA_OK);
        double s = 0, ss = 0, mx = 0;
        for (size_t i = 0; i < 120000; i++) {
            s += W.data[i];
            ss += W.data[i] * W.data[i];
            mx = fmax(mx, fabs(W.data[i]));
        }
        const double mean = s / 120000, var = ss / 120000 - mean * mean;
        ck_assert_double_lt(fabs(var / cases[c].var - 1.0), 0.03);
        ck_assert_double_lt(fabs(mean), 5 * sqrt(cases[c].var / 120000));
        ck_assert_double_le(mx, cases[c].bound);
        for (size_t j = 0; j < 300; j++)
            ck_assert_double_eq(b.data[j], 0.0);
    }
    soma_mlp_destroy(m);
}
END_TEST

START_TEST(orthogonal_init_is_orthogonal)
{
    /* W^T W = gain^2 I for tall layers, W W^T = gain^2 I for wide ones.
     * Householder QR is backward stable: ||Q^T Q - I|| ~ n u, so 1e-12 is
     * generous for n <= 80. Seeds differ across layers. */
    const size_t sizes[4] = {80, 30, 50, 50};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.init = SOMA_INIT_ORTHOGONAL;
    spec.init_scale = 1.5;
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 4, &spec, NULL, NULL), SOMA_OK);
    for (size_t l = 0; l < 3; l++) {
        soma_matrix W;
        ck_assert_int_eq(soma_mlp_layer(m, l, &W, NULL, NULL), SOMA_OK);
        const bool tall = W.rows >= W.cols;
        const size_t d = tall ? W.cols : W.rows;
        soma_matrix G;
        ck_assert_int_eq(soma_matrix_init(&G, d, d, NULL), SOMA_OK);
        ck_assert_int_eq(soma_gemm(tall ? SOMA_TRANS_YES : SOMA_TRANS_NO,
                                   tall ? SOMA_TRANS_NO : SOMA_TRANS_YES, 1.0, &W, &W,
                                   0.0, &G),
                         SOMA_OK);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                ck_assert_double_eq_tol(*soma_matrix_at(&G, i, j), i == j ? 2.25 : 0.0,
                                        1e-12);
        soma_matrix_free(&G);
    }
    /* The sign correction makes entries symmetric about 0: a strong bias in
     * the diagonal of W (~Q) would show as a mean far from 0. */
    soma_matrix W;
    ck_assert_int_eq(soma_mlp_layer(m, 2, &W, NULL, NULL), SOMA_OK);
    double diag = 0;
    for (size_t i = 0; i < 50; i++)
        diag += *soma_matrix_at(&W, i, i);
    ck_assert_double_lt(fabs(diag / 50), 1.5 * 5 / sqrt(50.0 * 50.0));
    soma_mlp_destroy(m);
}
END_TEST

START_TEST(accessors)
{
    const size_t sizes[4] = {3, 5, 4, 2};
    soma_mlp *m =
        make(sizes, 4, SOMA_ACTIVATION_ELU, SOMA_ACTIVATION_SOFTMAX, SOMA_LOSS_CE, 1);
    ck_assert_uint_eq(soma_mlp_n_layers(m), 3);
    ck_assert_uint_eq(soma_mlp_n_params(m), 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2);
    ck_assert_uint_eq(soma_mlp_size(m, 3), 2);
    ck_assert_uint_eq(soma_mlp_size(m, 4), 0);
    ck_assert_uint_eq(soma_mlp_size(NULL, 0), 0);
    soma_mlp_spec s;
    ck_assert_int_eq(soma_mlp_get_spec(m, &s, NULL), SOMA_OK);
    ck_assert_double_eq(s.hidden_alpha, 1.0); /* elu default */
    soma_matrix W, b, p;
    ck_assert_int_eq(soma_mlp_layer(m, 1, &W, &b, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(m, &p, NULL), SOMA_OK);
    ck_assert_uint_eq(W.rows, 5);
    ck_assert_uint_eq(W.cols, 4);
    ck_assert_ptr_eq(W.data, p.data + 20);
    ck_assert_ptr_eq(b.data, p.data + 40);
    ck_assert_int_eq(soma_mlp_layer(m, 3, &W, &b, NULL), SOMA_EINVAL);
    ck_assert_str_eq(soma_init_name(SOMA_INIT_ORTHOGONAL), "orthogonal");
    soma_mlp_destroy(m);
    soma_mlp_destroy(NULL);
    soma_history_free(NULL);
}
END_TEST

/* ---- what each fit option does, against hand-computed results ---------------- */

/* A copy of the parameters (caller frees). */
static double *copy_params(soma_mlp *m, size_t *n)
{
    soma_matrix p;
    ck_assert_int_eq(soma_mlp_params(m, &p, NULL), SOMA_OK);
    double *c = malloc(p.cols * sizeof *c);
    ck_assert_ptr_nonnull(c);
    memcpy(c, p.data, p.cols * sizeof *c);
    *n = p.cols;
    return c;
}

/*
 * Gradient clipping: one full-batch SGD step from p0 must give
 * p0 - lr g min(1, c / ||g||), with g the gradient of the objective (L2
 * included: clipping comes after it) as soma_mlp_gradient computes it, and
 * ||g|| the norm over every parameter, biases included.
 *
 * Tolerance: fit computes g with the same code on the same rows in the same
 * chunks as soma_mlp_gradient, so only the scaling differs: the library's
 * norm is a sum of P = 32 squares (relative error <= P u), then a square
 * root, a division, two products and the subtraction, each within u. So
 * |got - want| <= (P + 5) u (lr |g| f) + u |p| <= 1e-14 (|p0| + lr |g|); a
 * wrong norm (weights only, one layer, squared) or a missing clip misses by
 * far more (the case below scales by a quarter).
 */
START_TEST(clip_norm_step_by_hand)
{
    const size_t sizes[3] = {3, 5, 2};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_IDENTITY, SOMA_LOSS_MSE, 71);
    soma_matrix X, Y, params, grads;
    ck_assert_int_eq(soma_matrix_init(&X, 6, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 6, 2, NULL), SOMA_OK);
    test_fill_random(&X, 72);
    test_fill_random(&Y, 73);
    ck_assert_int_eq(soma_matrix_scale(&Y, 3.0), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_grads(m, &grads, NULL), SOMA_OK);
    /* Biases away from zero, so that a norm without them differs. */
    for (size_t l = 0; l < 2; l++) {
        soma_matrix b;
        ck_assert_int_eq(soma_mlp_layer(m, l, NULL, &b, NULL), SOMA_OK);
        test_fill_random(&b, 74 + l);
    }
    size_t P;
    double *p0 = copy_params(m, &P);
    ck_assert_uint_eq(P, 3 * 5 + 5 + 5 * 2 + 2);
    double *g = malloc(P * sizeof *g), *g0 = malloc(P * sizeof *g0);
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(g0);

    const double lr = 0.1;
    /* {l2, clip as a fraction of ||g||}: active with and without L2, and
     * inactive (twice the norm: the plain step). */
    const double cases[3][2] = {{0.0, 0.25}, {0.3, 0.5}, {0.0, 2.0}};
    for (int c = 0; c < 3; c++) {
        const double l2 = cases[c][0];
        memcpy(params.data, p0, P * sizeof *p0);
        ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, 0.0, NULL, NULL), SOMA_OK);
        memcpy(g0, grads.data, P * sizeof *g0);
        ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, l2, NULL, NULL), SOMA_OK);
        memcpy(g, grads.data, P * sizeof *g);
        long double ss = 0, gw = 0;
        for (size_t i = 0; i < P; i++)
            ss += (long double)g[i] * g[i];
        const long double norm = sqrtl(ss);
        const double clip = (double)(cases[c][1] * norm);
        const long double f = norm > clip ? clip / norm : 1;
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 1;
        o.learning_rate = lr;
        o.l2 = l2;
        o.clip_norm = clip;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
        for (size_t i = 0; i < P; i++) {
            const long double want = p0[i] - lr * f * g[i];
            const double tol = 1e-14 * (fabs(p0[i]) + lr * fabs(g[i]));
            ck_assert_msg(
                fabsl(params.data[i] - want) <= tol,
                "case %d (l2 %g, clip %g of ||g|| = %Lg): parameter %zu = %.17g, "
                "want %.17Lg",
                c, l2, cases[c][1], norm, i, params.data[i], want);
            gw += ((long double)p0[i] - params.data[i]) * (p0[i] - params.data[i]);
        }
        /* The update applies the decay and the clipping in its own pass:
         * the buffer keeps the loss gradient at p0 (the same sums as
         * soma_mlp_gradient's with l2 = 0, up to their rounding; with the
         * decay or the factor written into it, entries would differ by
         * l2 |W| or by a quarter). */
        double gmax = 0.0;
        for (size_t i = 0; i < P; i++)
            gmax = fmax(gmax, fabs(g0[i]));
        for (size_t i = 0; i < P; i++)
            ck_assert_msg(fabs(grads.data[i] - g0[i]) <= 1e-14 * gmax,
                          "case %d: gradient buffer entry %zu after fit is %.17g, the "
                          "loss gradient %.17g",
                          c, i, grads.data[i], g0[i]);
        /* The step taken has length lr min(||g||, clip). */
        const long double step = sqrtl(gw) / lr;
        ck_assert_msg(fabsl(step - (norm > clip ? clip : norm)) <= 1e-12L * norm,
                      "case %d: step of length %Lg, want %Lg", c, step,
                      norm > clip ? (long double)clip : norm);
    }
    free(g0);
    free(g);
    free(p0);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    soma_mlp_destroy(m);
}
END_TEST

/*
 * Within an epoch the update zeroes the gradient buffer and the next
 * batch's products add to it instead of having the BLAS clear it; the last
 * batch of an epoch, and fits with a batch callback, keep the clearing.
 * Both ways must train the same: a [64, 40, 3] net (its dW and first
 * forward products go to the BLAS, the others to the small kernel), 200
 * rows in batches of 32 (the last of 8), 3 epochs, with no callback and
 * with a batch callback that never stops, must end with the same
 * parameters and the same gradient buffer (the last batch's gradient, not
 * zeros). For the optimizers that keep state and the one that does not;
 * in both precisions (the loop index: kind * 2 + precision).
 */
static int keep_going(void *user, const soma_batch_stats *b)
{
    (void)b;
    ++*(size_t *)user;
    return 0;
}

START_TEST(zeroed_gradient_trains_as_a_cleared_one)
{
    const soma_optimizer kinds[3] = {SOMA_OPTIMIZER_MOMENTUM, SOMA_OPTIMIZER_ADAM,
                                     SOMA_OPTIMIZER_SGD};
    const soma_optimizer kind = kinds[_i / 2];
    precision = (soma_precision)(_i % 2);
    const size_t sizes[3] = {64, 40, 3};
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_init(&X, 200, 64, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 200, 3, NULL), SOMA_OK);
    test_fill_random(&X, 91);
    for (size_t i = 0; i < 200; i++)
        Y.data[3 * i + (size_t)(X.data[64 * i] > 0.0) + (X.data[64 * i + 1] > 0.5)] = 1.0;
    soma_matrix params[2], grads[2];
    size_t batches = 0;
    for (int way = 0; way < 2; way++) {
        soma_mlp *m = make(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SOFTMAX,
                           SOMA_LOSS_CE, 92);
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 3;
        o.batch_size = 32;
        o.shuffle = true;
        o.seed = 93;
        o.learning_rate = 0.05;
        o.optimizer = soma_optim_config_default(kind);
        if (way == 1) {
            o.batch_callback = keep_going;
            o.callback_user = &batches;
        }
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
        params[way] = test_params_copy(m);
        ck_assert_int_eq(soma_matrix_init(&grads[way], 1, params[way].cols, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_get_grads(m, &grads[way], NULL), SOMA_OK);
        soma_mlp_destroy(m);
    }
    ck_assert_uint_eq(batches, 3 * 7);
    size_t nonzero = 0;
    for (size_t j = 0; j < params[0].cols; j++) {
        ck_assert_msg(params[0].data[j] == params[1].data[j],
                      "%s: parameter %zu is %a zeroing, %a clearing", soma_optimizer_name(kind),
                      j, params[0].data[j], params[1].data[j]);
        ck_assert_msg(grads[0].data[j] == grads[1].data[j],
                      "%s: gradient %zu is %a zeroing, %a clearing", soma_optimizer_name(kind), j,
                      grads[0].data[j], grads[1].data[j]);
        nonzero += grads[0].data[j] != 0.0;
    }
    ck_assert_uint_gt(nonzero, params[0].cols / 2);
    for (int way = 0; way < 2; way++) {
        soma_matrix_free(&params[way]);
        soma_matrix_free(&grads[way]);
    }
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    precision = SOMA_PRECISION_F64;
}
END_TEST

/*
 * Dropout on one row: [2, H, 1], tanh hidden, identity output, MSE, one SGD
 * step with dropout 0.3 (keep = 0.7). With one row the hidden unit j enters
 * the output through D_j = s_j a_j, where s_j is its mask value, so
 *   W2_j' = W2_j - lr D_j dz,  b2' = b2 - lr dz,  dz = 2 (p - y),
 *   p = sum_j D_j W2_j + b2.
 * The test reads dz from b2's step and s_j from W2_j's, requires every s_j
 * to be exactly 0 or 1/keep (inverted dropout), the kept count to lie
 * within five standard deviations of its binomial mean (H keep = 700, sd
 * sqrt(H keep (1 - keep)) = 14.5: [628, 772]; a correct mask falls outside
 * with probability 6e-7, and a keep rate of 0.3 or 0.5 far outside), and
 * then derives every parameter after the step from the mask alone, in long
 * double: p with the scaled kept units only, dz, W2, b2, and through
 * tanh' = 1 - a^2 the first layer, whose columns for dropped units must not
 * move at all. Prediction afterwards uses every unit, unscaled.
 *
 * Tolerance 1e-9 relative to each update (plus rounding of the parameter):
 * the library's sums over H = 1000 products err by <= H u sum|terms|, which
 * for these values is < 1e-11 of dz; a missing 1/keep (a factor 1.43), a
 * mask applied in one pass only, or a dropped unit that still learns misses
 * by far more.
 */
START_TEST(dropout_step_by_hand)
{
    enum { H = 1000 };
    const size_t sizes[3] = {2, H, 1};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_IDENTITY, SOMA_LOSS_MSE, 81);
    soma_matrix W1, b1, W2, b2;
    ck_assert_int_eq(soma_mlp_layer(m, 0, &W1, &b1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_layer(m, 1, &W2, &b2, NULL), SOMA_OK);
    /* z1 in [0.15, 0.75] (tanh' well away from 0), W2 of both signs. */
    for (size_t j = 0; j < H; j++) {
        *soma_matrix_at(&W1, 0, j) = 0.2 + 0.6 * (double)j / H;
        *soma_matrix_at(&W1, 1, j) = 0.1 + 0.05 * (double)(j % 3);
        b1.data[j] = 0.01 * (double)(j % 5);
        *soma_matrix_at(&W2, j, 0) = (j % 2 ? -0.002 : 0.003) * (double)(1 + j % 7);
    }
    b2.data[0] = 0.25;
    const double x[2] = {1.0, -0.5}, y = 3.0, lr = 0.01, keep = 0.7;
    size_t P;
    double *p0 = copy_params(m, &P);
    long double a[H];
    for (size_t j = 0; j < H; j++)
        a[j] = tanhl(x[0] * (long double)*soma_matrix_at(&W1, 0, j) +
                     x[1] * (long double)*soma_matrix_at(&W1, 1, j) + b1.data[j]);

    soma_matrix X, Y;
    double xv[2] = {x[0], x[1]}, yv[1] = {y};
    ck_assert_int_eq(soma_matrix_view(&X, xv, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, yv, 1, 1, 1), SOMA_OK);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 1;
    o.learning_rate = lr;
    o.dropout = 1.0 - keep;
    o.seed = 2024;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);

    /* The mask, read from the step. */
    const double *w2_0 = p0 + 3 * H, b2_0 = p0[4 * H];
    const long double dz_seen = ((long double)b2_0 - b2.data[0]) / lr;
    ck_assert(fabsl(dz_seen) > 0.1L);
    bool kept[H];
    size_t n_kept = 0;
    for (size_t j = 0; j < H; j++) {
        const long double s =
            ((long double)w2_0[j] - *soma_matrix_at(&W2, j, 0)) / (lr * a[j] * dz_seen);
        kept[j] = fabsl(s) > 0.5L / keep;
        ck_assert_msg(kept[j] ? fabsl(s - 1 / (long double)keep) <= 1e-9L / keep : s == 0,
                      "hidden unit %zu scaled by %.12Lg: neither 0 nor 1/keep = %.12g", j,
                      s, 1 / keep);
        n_kept += kept[j];
    }
    printf("dropout %.1f: %zu of %d hidden units kept (binomial mean %.0f, sd %.1f)\n",
           1.0 - keep, n_kept, H, H * keep, sqrt(H * keep * (1 - keep)));
    ck_assert_msg(n_kept >= 628 && n_kept <= 772,
                  "%zu of %d units kept with keep = %g: outside [628, 772]", n_kept, H,
                  keep);

    /* Every parameter after the step, from the mask alone. */
    long double p = b2_0;
    for (size_t j = 0; j < H; j++)
        if (kept[j])
            p += a[j] / keep * w2_0[j];
    const long double dz = 2 * (p - y);
    ck_assert_msg(fabsl(h.epochs[0].loss - (p - y) * (p - y)) <=
                      1e-10L * (p - y) * (p - y),
                  "loss %.17g, want %.17Lg", h.epochs[0].loss, (p - y) * (p - y));
    ck_assert_msg(fabsl(b2.data[0] - (b2_0 - lr * dz)) <= 1e-9L * lr * fabsl(dz),
                  "b2 = %.17g, want %.17Lg (dz %.17Lg)", b2.data[0], b2_0 - lr * dz, dz);
    for (size_t j = 0; j < H; j++) {
        const double *w1_0 = p0;
        const double w2 = *soma_matrix_at(&W2, j, 0), b = b1.data[j];
        const double w1[2] = {*soma_matrix_at(&W1, 0, j), *soma_matrix_at(&W1, 1, j)};
        if (!kept[j]) { /* contributes nothing, learns nothing */
            ck_assert(w2 == w2_0[j] && b == p0[2 * H + j]);
            ck_assert(w1[0] == w1_0[j] && w1[1] == w1_0[H + j]);
            continue;
        }
        const long double d2 = lr * a[j] / keep * dz;
        ck_assert_msg(fabsl(w2 - (w2_0[j] - d2)) <= 1e-9L * fabsl(d2) + 1e-16L,
                      "W2[%zu] = %.17g, want %.17Lg", j, w2, w2_0[j] - d2);
        const long double dz1 = dz * w2_0[j] / keep * (1 - a[j] * a[j]);
        for (int i = 0; i < 2; i++) {
            const long double want = w1_0[(size_t)i * H + j] - lr * x[i] * dz1;
            ck_assert_msg(fabsl(w1[i] - want) <= 1e-9L * fabsl(lr * x[i] * dz1) + 1e-16L,
                          "W1[%d][%zu] = %.17g, want %.17Lg", i, j, w1[i], want);
        }
        const long double want_b = p0[2 * H + j] - lr * dz1;
        ck_assert_msg(fabsl(b - want_b) <= 1e-9L * fabsl(lr * dz1) + 1e-16L,
                      "b1[%zu] = %.17g, want %.17Lg", j, b, want_b);
    }
    /* Inference: every unit, no mask, no scaling. */
    long double q = b2.data[0];
    for (size_t j = 0; j < H; j++)
        q += tanhl(x[0] * (long double)*soma_matrix_at(&W1, 0, j) +
                   x[1] * (long double)*soma_matrix_at(&W1, 1, j) + b1.data[j]) *
             *soma_matrix_at(&W2, j, 0);
    double out;
    soma_matrix O;
    ck_assert_int_eq(soma_matrix_view(&O, &out, 1, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &O, NULL), SOMA_OK);
    ck_assert_msg(fabsl(out - q) <= 1e-12L * (1 + fabsl(q)), "predict %.17g, want %.17Lg",
                  out, q);
    soma_history_free(&h);
    free(p0);
    soma_mlp_destroy(m);
}
END_TEST

/* Hooks that keep the parameters still (zero gradient) and record what the
 * epoch was made of. */
typedef struct split_log {
    size_t grad_rows;
    double train_sum, train_count, val_sum, val_count;
} split_log;

static soma_status zero_grads(void *user, double *g, size_t n, double rows)
{
    split_log *log = user;
    log->grad_rows = (size_t)rows;
    memset(g, 0, n * sizeof *g);
    return SOMA_OK;
}

static soma_status record_sums(void *user, double *v, size_t n)
{
    split_log *log = user;
    ck_assert_uint_eq(n, 6);
    log->train_sum = v[0];
    log->train_count = v[2];
    log->val_sum = v[3];
    log->val_count = v[5];
    return SOMA_OK;
}

/*
 * validation_fraction holds out exactly round(fraction n) rows (nearest,
 * halves up), different rows for different seeds, and trains on the rest.
 * A [1, 1] identity model with W = b = 0 predicts 0, so row i's MSE loss is
 * y_i^2; with y_i = 2^i that is 4^i, and a sum of such losses over any set
 * of rows is exact (integers below 2^53) and spells the set in base 4: the
 * held-out rows and the training rows must be disjoint, cover all n rows,
 * and number round(fraction n) and n - round(fraction n).
 */
START_TEST(validation_fraction_holds_out_exact_rows)
{
    enum { N = 26 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = 1.0 + i;
        y[i] = ldexp(1.0, i);
    }
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_view(&X, x, N, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, N, 1, 1), SOMA_OK);
    const size_t sizes[2] = {1, 1};
    soma_mlp *m = make(sizes, 2, SOMA_ACTIVATION_IDENTITY, SOMA_ACTIVATION_IDENTITY,
                       SOMA_LOSS_MSE, 91);
    soma_matrix params;
    ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&params, 0.0), SOMA_OK);
    /* fraction, rows held out: 7.8 -> 8, 6.5 -> 7, 0.52 -> 1, 13 -> 13. */
    const double fractions[4] = {0.3, 0.25, 0.02, 0.5};
    const size_t held[4] = {8, 7, 1, 13};
    double sets[2] = {0, 0};
    for (int c = 0; c < 4 + 1; c++) {
        const int k = c < 4 ? c : 0; /* the last run: case 0 with another seed */
        split_log log;
        memset(&log, 0, sizeof log);
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 1;
        o.validation_fraction = fractions[k];
        o.seed = c < 4 ? 5 : 6;
        o.reduce.grads = zero_grads;
        o.reduce.metrics = record_sums;
        o.reduce.user = &log;
        soma_history h;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
        ck_assert_msg(
            log.val_count == (double)held[k] &&
                log.train_count == (double)(N - held[k]) && log.grad_rows == N - held[k],
            "fraction %g of %d rows: %g held out, %g (%zu) trained on; want %zu",
            fractions[k], N, log.val_count, log.train_count, log.grad_rows, held[k]);
        /* The sets, from the loss sums in base 4. */
        size_t n_val = 0, n_train = 0;
        double v = log.val_sum, t = log.train_sum;
        for (int i = N - 1; i >= 0; i--) {
            const double w = ldexp(1.0, 2 * i);
            const bool in_v = v >= w, in_t = t >= w;
            v -= in_v ? w : 0;
            t -= in_t ? w : 0;
            ck_assert_msg(in_v != in_t, "row %d is %s", i,
                          in_v ? "in both sets" : "in neither set");
            n_val += in_v;
            n_train += in_t;
        }
        ck_assert(v == 0 && t == 0); /* every row counted once */
        ck_assert_uint_eq(n_val, held[k]);
        ck_assert_uint_eq(n_train, N - held[k]);
        ck_assert_double_eq(h.epochs[0].val_loss, log.val_sum / (double)held[k]);
        if (k == 0)
            sets[c == 4] = log.val_sum;
        soma_history_free(&h);
    }
    ck_assert(sets[0] != sets[1]); /* the seed chooses the rows */
    /* Too few rows either way: round(0.01 n) = 0, round(0.99 n) = n. */
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 1;
    o.validation_fraction = 0.01;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_EINVAL);
    o.validation_fraction = 0.99;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_EINVAL);
    soma_mlp_destroy(m);
}
END_TEST

/*
 * Early stopping without restore_best ends on the last epoch's parameters.
 * A [1, 1] identity MSE model trained by full-batch gradient descent on
 * y = 2x, validated on y = x / 2: the validation loss falls while W nears
 * 1/2, then rises. The test runs the same descent and the documented
 * stopping rule (an epoch improves when its validation loss is below the
 * best minus min_delta; stop after `patience` epochs without) in long
 * double, and requires fit's epoch count, best epoch and final parameters:
 * the last epoch's with restore_best = false, the best epoch's with true.
 * Parameters within 1e-13 relative: five rows, a handful of steps, each
 * rounding in fit within u of values of order 1.
 */
START_TEST(restore_best_false_keeps_last_parameters)
{
    enum { N = 5 };
    double x[N] = {-1.0, -0.5, 0.5, 1.0, 2.0}, y[N], yv[N];
    for (int i = 0; i < N; i++) {
        y[i] = 2 * x[i];
        yv[i] = x[i] / 2;
    }
    soma_matrix X, Y, Yv;
    ck_assert_int_eq(soma_matrix_view(&X, x, N, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, N, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Yv, yv, N, 1, 1), SOMA_OK);
    const double lr = 0.05;
    const size_t patience = 2;

    /* The descent and the stopping rule, by hand. */
    long double W = 0, b = 0, best = INFINITY, Wb = 0, bb = 0;
    size_t epochs = 0, best_epoch = 0, wait = 0;
    while (epochs < 50) {
        long double gW = 0, gb = 0, vl = 0;
        for (int i = 0; i < N; i++) {
            const long double d = 2 * (W * x[i] + b - y[i]);
            gW += d * x[i] / N;
            gb += d / N;
        }
        W -= lr * gW;
        b -= lr * gb;
        for (int i = 0; i < N; i++)
            vl += (W * x[i] + b - yv[i]) * (W * x[i] + b - yv[i]) / N;
        epochs++;
        if (vl < best) {
            best = vl;
            best_epoch = epochs - 1;
            Wb = W;
            bb = b;
            wait = 0;
        } else if (++wait >= patience) {
            break;
        }
    }
    ck_assert(best_epoch >= 1 && epochs >= best_epoch + 1 + patience);
    ck_assert(fabsl(W - Wb) > 0.1L); /* the two answers differ */

    for (int restore = 0; restore < 2; restore++) {
        const size_t sizes[2] = {1, 1};
        soma_mlp *m = make(sizes, 2, SOMA_ACTIVATION_IDENTITY, SOMA_ACTIVATION_IDENTITY,
                           SOMA_LOSS_MSE, 95);
        soma_matrix params;
        ck_assert_int_eq(soma_mlp_params(m, &params, NULL), SOMA_OK);
        ck_assert_int_eq(soma_matrix_fill(&params, 0.0), SOMA_OK);
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 50;
        o.learning_rate = lr;
        o.X_val = &X;
        o.Y_val = &Yv;
        o.early_stopping = true;
        o.patience = patience;
        o.restore_best = restore;
        soma_history h;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_OK);
        ck_assert_int_eq(h.stop, SOMA_STOP_EARLY);
        ck_assert_uint_eq(h.n_epochs, epochs);
        ck_assert_uint_eq(h.best_epoch, best_epoch);
        ck_assert_int_eq(h.restored, restore);
        const long double wantW = restore ? Wb : W, wantb = restore ? bb : b;
        ck_assert_msg(
            fabsl(params.data[0] - wantW) <= 1e-13L &&
                fabsl(params.data[1] - wantb) <= 1e-13L,
            "restore_best %d: W %.17g b %.17g, want %.17Lg %.17Lg (last epoch's "
            "%.17Lg %.17Lg, best epoch's %.17Lg %.17Lg)",
            restore, params.data[0], params.data[1], wantW, wantb, W, b, Wb, bb);
        soma_history_free(&h);
        soma_mlp_destroy(m);
    }
}
END_TEST

/*
 * L2 covers the weights only (mlp.h): J(l2) - J(0) = (l2 / 2) sum_l ||W_l||^2
 * with the norms taken here from the layer views, dW(l2) - dW(0) = l2 W, and
 * db the same bits for any l2. The biases are set far from zero so that a
 * penalty that included them would change J by 10% and db by l2 b.
 * Tolerances: J(l2) is J(0) plus one double sum of 3 x 4 + 4 x 2 = 20
 * squares, so within 24 u (|J(0)| + the penalty); dW(l2) is one fused
 * add per element, within 2 u (|dW(0)| + l2 |W|).
 */
START_TEST(l2_penalises_weights_only)
{
    const size_t sizes[3] = {3, 4, 2};
    soma_mlp *m =
        make(sizes, 3, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE, 61);
    soma_matrix X, Y, grads;
    ck_assert_int_eq(soma_matrix_init(&X, 9, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 9, 2, NULL), SOMA_OK);
    test_fill_random(&X, 62);
    test_fill_targets(&Y, SOMA_LOSS_BCE, 63);
    long double sumsq = 0;
    for (size_t l = 0; l < 2; l++) {
        soma_matrix W, b;
        ck_assert_int_eq(soma_mlp_layer(m, l, &W, &b, NULL), SOMA_OK);
        test_fill_random(&b, 64 + l);
        ck_assert_int_eq(soma_matrix_scale(&b, 3.0), SOMA_OK);
        for (size_t i = 0; i < W.rows; i++)
            for (size_t j = 0; j < W.cols; j++)
                sumsq +=
                    (long double)*soma_matrix_at(&W, i, j) * *soma_matrix_at(&W, i, j);
    }
    ck_assert_int_eq(soma_mlp_grads(m, &grads, NULL), SOMA_OK);
    const size_t P = grads.cols;
    double *g0 = malloc(P * sizeof *g0);
    ck_assert_ptr_nonnull(g0);
    double J0, J1;
    const double l2 = 0.37;
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, 0.0, &J0, NULL), SOMA_OK);
    memcpy(g0, grads.data, P * sizeof *g0);
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, l2, &J1, NULL), SOMA_OK);
    const long double penalty = l2 / 2 * sumsq;
    ck_assert_msg(fabsl((J1 - (long double)J0) - penalty) <=
                      24 * DBL_EPSILON / 2 * (fabs(J0) + penalty),
                  "J(l2) - J(0) = %.17Lg, want (l2/2) sum ||W||^2 = %.17Lg",
                  J1 - (long double)J0, penalty);
    size_t off = 0;
    for (size_t l = 0; l < 2; l++) {
        soma_matrix W, b;
        ck_assert_int_eq(soma_mlp_layer(m, l, &W, &b, NULL), SOMA_OK);
        for (size_t i = 0; i < W.rows; i++)
            for (size_t j = 0; j < W.cols; j++, off++) {
                const double w = *soma_matrix_at(&W, i, j);
                const long double want = g0[off] + (long double)l2 * w;
                ck_assert_msg(fabsl(grads.data[off] - want) <=
                                  DBL_EPSILON * (fabs(g0[off]) + l2 * fabs(w)),
                              "layer %zu dW[%zu][%zu] = %.17g, want %.17Lg", l, i, j,
                              grads.data[off], want);
            }
        ck_assert_msg(memcmp(grads.data + off, g0 + off, b.cols * sizeof(double)) == 0,
                      "layer %zu: db depends on l2", l);
        off += b.cols;
    }
    ck_assert_uint_eq(off, P);
    free(g0);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    soma_mlp_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mlp");
    TCase *grad = tcase_create("gradients");
    tcase_set_timeout(grad, 120);
    tcase_add_loop_test(grad, gradient_check_all_combinations, 0, SOMA_ACTIVATION_COUNT);
    tcase_add_test(grad, gradient_in_several_chunks);
    tcase_add_test(grad, hand_computed_step);
    suite_add_tcase(s, grad);
    TCase *learn = tcase_create("learning");
    tcase_set_timeout(learn, 120);
    tcase_add_test(learn, xor_is_learned);
    tcase_add_test(learn, softmax_blobs_are_learned);
    tcase_add_test(learn, regression_of_a_smooth_curve);
    tcase_add_loop_test(learn, early_stopping_restores_the_best_epoch, 0,
                        SOMA_PRECISION_COUNT);
    tcase_add_test(learn, callback_stops_training);
    tcase_add_test(learn, warm_start_continues_exactly);
    tcase_add_test(learn, same_seed_same_history);
    tcase_add_test(learn, explicit_validation_matches_evaluate);
    tcase_add_test(learn, reduce_hooks_join_every_step);
    tcase_add_test(learn, start_hook_agrees_before_anything_changes);
    suite_add_tcase(s, learn);
    TCase *robust = tcase_create("robustness");
    tcase_set_timeout(robust, 120);
    tcase_add_test(robust, divergence_keeps_last_finite_parameters);
    tcase_add_loop_test(robust, no_allocation_grows_with_steps, 0, SOMA_PRECISION_COUNT);
    tcase_add_test(robust, predict_memory_is_bounded);
    tcase_add_test(robust, bad_input_leaves_model_unchanged);
    tcase_add_test(robust, initialisers_have_their_distributions);
    tcase_add_test(robust, orthogonal_init_is_orthogonal);
    tcase_add_test(robust, accessors);
    suite_add_tcase(s, robust);
    TCase *opts = tcase_create("options by hand");
    tcase_set_timeout(opts, 120);
    tcase_add_test(opts, clip_norm_step_by_hand);
    tcase_add_loop_test(opts, zeroed_gradient_trains_as_a_cleared_one, 0, 6);
    tcase_add_test(opts, dropout_step_by_hand);
    tcase_add_test(opts, validation_fraction_holds_out_exact_rows);
    tcase_add_test(opts, restore_best_false_keeps_last_parameters);
    tcase_add_test(opts, l2_penalises_weights_only);
    suite_add_tcase(s, opts);
    return test_run(s);
}
