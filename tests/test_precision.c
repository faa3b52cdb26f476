/* float32 models against their float64 twins: gradients, training, every
 * fit option, determinism, parameter access, divergence and memory.
 *
 * A twin is a double model with the same shape, spec and parameters (the
 * float model's, converted exactly). With data whose values are floats
 * already (rounded once here, as the float model would round them when it
 * gathers them), the two models compute the same function, and every
 * difference between them comes from float rounding inside the float one.
 */
#include "test_common.h"

/* Float's unit roundoff. */
#define U32 0x1p-24

/* ---- helpers ------------------------------------------------------------- */

static soma_mlp *make32(const size_t *sizes, size_t n, soma_activation hidden,
                        soma_activation out, soma_loss loss, uint64_t seed)
{
    return test_make_mlp(sizes, n, hidden, out, loss, seed, SOMA_PRECISION_F32);
}

static soma_matrix grads_of(const soma_mlp *m)
{
    soma_matrix g;
    ck_assert_int_eq(soma_matrix_init(&g, 1, soma_mlp_n_params(m), NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_grads(m, &g, NULL), SOMA_OK);
    return g;
}

/* A model like m in the other precision, with m's parameters. */
static soma_mlp *twin(const soma_mlp *m, soma_precision precision)
{
    soma_mlp_spec spec;
    ck_assert_int_eq(soma_mlp_get_spec(m, &spec, NULL), SOMA_OK);
    spec.precision = precision;
    size_t sizes[8];
    const size_t L = soma_mlp_n_layers(m);
    for (size_t i = 0; i <= L; i++)
        sizes[i] = soma_mlp_size(m, i);
    soma_mlp *t = NULL;
    ck_assert_int_eq(soma_mlp_create(&t, sizes, L + 1, &spec, NULL, NULL), SOMA_OK);
    soma_matrix p = test_params_copy(m);
    ck_assert_int_eq(soma_mlp_set_params(t, &p, NULL), SOMA_OK);
    soma_matrix_free(&p);
    return t;
}

/* Round every element to the nearest float (kept as a double). */
static void to_floats(soma_matrix *M)
{
    for (size_t i = 0; i < M->rows; i++)
        for (size_t j = 0; j < M->cols; j++)
            *soma_matrix_at(M, i, j) = (double)(float)*soma_matrix_at(M, i, j);
}

/* max_i |a_i - b_i| and max_i |b_i| over two 1 x n matrices. */
static double max_diff(const soma_matrix *a, const soma_matrix *b, double *bmax)
{
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < a->cols; i++) {
        d = fmax(d, fabs(a->data[i] - b->data[i]));
        m = fmax(m, fabs(b->data[i]));
    }
    if (bmax != NULL)
        *bmax = m;
    return d;
}

/* ---- gradients ------------------------------------------------------------- */

/* Largest error seen, as a multiple of u ||g||_inf (printed at the end),
 * and the number of components that differ from the twin's at all. */
static double worst_gradient = 0.0;
static size_t differing = 0;

/*
 * The float model's gradient against its double twin's (which the double
 * suite checks against finite differences), on 7 rows of 3 inputs through
 * up to 3 layers of at most 7 units.
 *
 * Tolerance: every operation of the float model rounds with relative error
 * u = 2^-24, and its exp, log and the activations built on them with at
 * most 3.3 ulp (tests/test_vmath.c). A gradient component is a sum, over
 * the 7 rows, of products of at most 2 L + 2 factors (activations,
 * derivatives, weights), each factor itself a dot product of at most 7
 * terms; the standard bound for such sums is gamma_k = k u / (1 - k u)
 * relative to the sum of the absolute values of the terms, which here is
 * k <= 7 (rows) + 3 x (7 + 7) (forward and backward dot products per layer)
 * + 3 x 2 x 4 (activation and derivative at ~4 ulp each) ~ 75. Taking the
 * sum of absolute values as bounded by ||g||_inf times a cancellation
 * factor of 10 for these random nets gives |g32 - g64| <= 750 u ||g||_inf;
 * the assertion uses 1000 u ||g||_inf (6e-5 of the largest component) plus
 * 1000 u |g64_i|. The measured maximum is printed: about 50 u. A wrong
 * kernel (a dropped term, float constants from the wrong precision, an
 * unconverted row) misses by orders of magnitude more. And the float model
 * must really compute in float: some components differ from the twin's.
 */
static void gradient_twin(soma_activation hidden, const test_pairing *pr, size_t depth,
                          double l2, uint64_t seed)
{
    test_grad_case c = test_grad_case_make(hidden, pr, depth, seed, SOMA_PRECISION_F32);
    soma_mlp *m = c.m;
    /* The data as the float model sees it: rounded to floats. */
    to_floats(&c.X);
    to_floats(&c.Y);
    soma_mlp *t = twin(m, SOMA_PRECISION_F64);
    const soma_matrix X = c.X, Y = c.Y;
    double J32, J64;
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &Y, l2, &J32, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_gradient(t, &X, &Y, l2, &J64, NULL), SOMA_OK);
    soma_matrix g32 = grads_of(m), g64 = grads_of(t);
    double gmax;
    max_diff(&g32, &g64, &gmax);
    ck_assert_msg(gmax > 1e-4, "gradient trivially small: %g", gmax);
    for (size_t i = 0; i < g32.cols; i++) {
        const double e = fabs(g32.data[i] - g64.data[i]);
        worst_gradient = fmax(worst_gradient, e / (U32 * gmax));
        differing += e != 0.0;
        ck_assert_msg(e <= 1000 * U32 * (gmax + fabs(g64.data[i])),
                      "%s hidden, %s out, %s loss, depth %zu, l2 %g: param %zu float "
                      "%.9g double %.9g (|g|max %.3g)",
                      soma_activation_name(hidden), soma_activation_name(pr->out),
                      soma_loss_name(pr->loss), depth, l2, i, g32.data[i], g64.data[i],
                      gmax);
    }
    /* The objective: a mean of per-row losses of order 1, the same bound. */
    ck_assert_double_le(fabs(J32 - J64), 1000 * U32 * (1.0 + fabs(J64)));
    soma_matrix_free(&g32);
    soma_matrix_free(&g64);
    soma_mlp_destroy(t);
    test_grad_case_free(&c);
}

START_TEST(float_gradient_matches_double_twin)
{
    /* _i runs over hidden activations; every pairing, depth and L2 inside. */
    const soma_activation hidden = (soma_activation)_i;
    test_each_gradient_case(hidden, gradient_twin);
    printf("float gradient vs double twin (%s hidden): max error %.1f u ||g||_inf\n",
           soma_activation_name(hidden), worst_gradient);
    ck_assert_uint_gt(differing, 0);
}
END_TEST

/* ---- training ------------------------------------------------------------- */

/* 240 points in [-1, 1]^2 (floats) labelled by x^2 + y^2 < 0.5, and a
 * float model for them: [2, 8, 8, 1], tanh, sigmoid + BCE. */
static soma_mlp *circle_task(soma_matrix *X, soma_matrix *Y, uint64_t seed)
{
    ck_assert_int_eq(soma_matrix_init(X, 240, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(Y, 240, 1, NULL), SOMA_OK);
    test_fill_random(X, seed);
    to_floats(X);
    for (size_t i = 0; i < 240; i++) {
        double a = X->data[2 * i], b = X->data[2 * i + 1];
        Y->data[i] = a * a + b * b < 0.5 ? 1.0 : 0.0;
    }
    const size_t sizes[4] = {2, 8, 8, 1};
    return make32(sizes, 4, SOMA_ACTIVATION_TANH, SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE,
                  seed);
}

static void free_data(soma_matrix *X, soma_matrix *Y)
{
    soma_matrix_free(Y);
    soma_matrix_free(X);
}

/* Bit-identical parameters. */
static void assert_same_params(const soma_mlp *a, const soma_mlp *b)
{
    soma_matrix p = test_params_copy(a), q = test_params_copy(b);
    ck_assert_uint_eq(p.cols, q.cols);
    ck_assert_mem_eq(p.data, q.data, p.cols * sizeof(double));
    soma_matrix_free(&q);
    soma_matrix_free(&p);
}

/*
 * A float model and its double twin, trained for 5 epochs of 8 minibatch
 * steps with every optimizer (and L2, clipping, dropout, a validation
 * split), stay close.
 *
 * Bound: per step, the float gradient differs from the double one by at
 * most ~50 u ||g||_inf (measured above; g is O(1) here) and the update
 * rounds each parameter (|p| <= ~3) to float, u |p|. Summed over the 40
 * steps with learning rate <= 0.05 that is 40 (0.05 x 50 + 3) u = 220 u =
 * 1.3e-5 if the training map does not amplify differences; over 40 small
 * steps it amplifies them by a modest factor, and the bound allows 10:
 * max |p32 - p64| <= 2200 u = 1.3e-4 (measured, printed: 5 to 22 u).
 * The epoch losses, means of O(1) terms computed from those parameters,
 * agree to the same bound.
 */
START_TEST(float_and_double_twins_train_alike)
{
    const soma_optimizer kinds[4] = {SOMA_OPTIMIZER_SGD, SOMA_OPTIMIZER_MOMENTUM,
                                     SOMA_OPTIMIZER_NESTEROV, SOMA_OPTIMIZER_ADAM};
    for (int k = 0; k < 4; k++) {
        soma_matrix X, Y;
        soma_mlp *m = circle_task(&X, &Y, 40 + (uint64_t)k);
        soma_mlp *t = twin(m, SOMA_PRECISION_F64);
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 5;
        o.batch_size = 24;
        o.seed = 3;
        o.optimizer = soma_optim_config_default(kinds[k]);
        o.learning_rate = kinds[k] == SOMA_OPTIMIZER_ADAM ? 0.01 : 0.05;
        o.l2 = 1e-3;
        o.clip_norm = 1.0;
        o.dropout = 0.1;
        o.validation_fraction = 0.2;
        soma_history h32, h64;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h32, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_fit(t, &X, &Y, &o, &h64, NULL), SOMA_OK);
        soma_matrix p32 = test_params_copy(m), p64 = test_params_copy(t);
        const double d = max_diff(&p32, &p64, NULL);
        printf("float vs double twin, %s, 40 steps: max |p32 - p64| = %.1f u\n",
               soma_optimizer_name(kinds[k]), d / U32);
        ck_assert_double_le(d, 2200 * U32);
        ck_assert_uint_eq(h32.n_epochs, h64.n_epochs);
        for (size_t e = 0; e < h32.n_epochs; e++) {
            ck_assert_double_le(fabs(h32.epochs[e].loss - h64.epochs[e].loss),
                                2200 * U32);
            ck_assert_double_le(fabs(h32.epochs[e].val_loss - h64.epochs[e].val_loss),
                                2200 * U32);
            ck_assert_double_eq(h32.epochs[e].learning_rate, h64.epochs[e].learning_rate);
        }
        soma_history_free(&h32);
        soma_history_free(&h64);
        soma_matrix_free(&p32);
        soma_matrix_free(&p64);
        soma_mlp_destroy(t);
        soma_mlp_destroy(m);
        free_data(&X, &Y);
    }
}
END_TEST

START_TEST(float_fit_is_deterministic)
{
    /* Shuffling, dropout, a validation split and Adam: the same seed gives
     * the same bits, parameters and history. */
    soma_matrix X, Y;
    soma_mlp *m[2];
    soma_history h[2];
    for (int r = 0; r < 2; r++) {
        m[r] = circle_task(&X, &Y, 24);
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 8;
        o.batch_size = 16;
        o.dropout = 0.2;
        o.validation_fraction = 0.25;
        o.seed = 99;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
        ck_assert_int_eq(soma_mlp_fit(m[r], &X, &Y, &o, &h[r], NULL), SOMA_OK);
        free_data(&X, &Y);
    }
    assert_same_params(m[0], m[1]);
    ck_assert_uint_eq(h[0].n_epochs, h[1].n_epochs);
    for (size_t e = 0; e < h[0].n_epochs; e++) {
        ck_assert_mem_eq(&h[0].epochs[e].loss, &h[1].epochs[e].loss, sizeof(double));
        ck_assert_mem_eq(&h[0].epochs[e].val_loss, &h[1].epochs[e].val_loss,
                         sizeof(double));
    }
    for (int r = 0; r < 2; r++) {
        soma_history_free(&h[r]);
        soma_mlp_destroy(m[r]);
    }
}
END_TEST

START_TEST(float_schedules_follow_the_double_ones)
{
    /* The learning rate of each epoch is the schedule's double value, the
     * same in both precisions; with explicit validation data. */
    const soma_schedule kinds[3] = {SOMA_SCHEDULE_STEP, SOMA_SCHEDULE_EXPONENTIAL,
                                    SOMA_SCHEDULE_COSINE};
    for (int k = 0; k < 3; k++) {
        soma_matrix X, Y, Xv, Yv;
        soma_mlp *m = circle_task(&X, &Y, 50), *t = twin(m, SOMA_PRECISION_F64);
        soma_mlp_destroy(circle_task(&Xv, &Yv, 51));
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 6;
        o.batch_size = 60;
        o.X_val = &Xv;
        o.Y_val = &Yv;
        o.learning_rate = 0.2;
        o.schedule.kind = kinds[k];
        o.schedule.gamma = 0.5;
        o.schedule.step = 2;
        o.schedule.period = 5;
        o.schedule.lr_min = 0.01;
        soma_history h32, h64;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h32, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_fit(t, &X, &Y, &o, &h64, NULL), SOMA_OK);
        for (size_t e = 0; e < 6; e++)
            ck_assert_double_eq(h32.epochs[e].learning_rate, h64.epochs[e].learning_rate);
        ck_assert_double_lt(h32.epochs[5].learning_rate, h32.epochs[0].learning_rate);
        /* The validation loss of the last epoch is evaluate's, bit for bit
         * (the same chunks: 240 rows at once in both). */
        double vl, va;
        ck_assert_int_eq(soma_mlp_evaluate(m, &Xv, &Yv, &vl, &va, NULL), SOMA_OK);
        ck_assert_double_eq(h32.epochs[5].val_loss, vl);
        ck_assert_double_eq(h32.epochs[5].val_accuracy, va);
        soma_matrix p32 = test_params_copy(m), p64 = test_params_copy(t);
        ck_assert_double_le(max_diff(&p32, &p64, NULL), 2200 * U32); /* as above */
        soma_matrix_free(&p32);
        soma_matrix_free(&p64);
        soma_history_free(&h32);
        soma_history_free(&h64);
        soma_mlp_destroy(t);
        soma_mlp_destroy(m);
        free_data(&Xv, &Yv);
        free_data(&X, &Y);
    }
}
END_TEST

static int stop_at_three(void *user, const soma_epoch_stats *s)
{
    (*(size_t *)user)++;
    return s->epoch == 2;
}

START_TEST(float_warm_start_and_callback)
{
    /* 10 + 10 warm-started epochs of Adam (full batch, decaying schedule)
     * are the bits of 20 in one call: the float optimizer state continues. */
    soma_matrix X, Y, X2, Y2;
    soma_mlp *a = circle_task(&X, &Y, 23), *b = circle_task(&X2, &Y2, 23);
    soma_fit_options o = soma_fit_options_default();
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.learning_rate = 0.01;
    o.schedule.kind = SOMA_SCHEDULE_EXPONENTIAL;
    o.schedule.gamma = 0.95;
    o.epochs = 20;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    o.epochs = 10;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    o.warm_start = true;
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, &h, NULL), SOMA_OK);
    ck_assert_uint_eq(h.epochs[0].epoch, 10);
    assert_same_params(a, b);
    soma_history_free(&h);
    /* The callback stops a float fit as it stops a double one. */
    size_t calls = 0;
    o.warm_start = false;
    o.epochs = 50;
    o.callback = stop_at_three;
    o.callback_user = &calls;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, &h, NULL), SOMA_OK);
    ck_assert_int_eq(h.stop, SOMA_STOP_CALLBACK);
    ck_assert_uint_eq(h.n_epochs, 3);
    ck_assert_uint_eq(calls, 3);
    soma_history_free(&h);
    soma_mlp_destroy(b);
    soma_mlp_destroy(a);
    free_data(&X2, &Y2);
    free_data(&X, &Y);
}
END_TEST

/* ---- reduce hooks ------------------------------------------------------------ */

typedef struct hook_log {
    size_t f32_calls, f64_calls, rows;
} hook_log;

/* Hooks that double the gradient and count their calls, one per type. */
#define DOUBLING_HOOK(name, T, calls)                                                    \
    static soma_status name(void *user, T *g, size_t n, double rows)                     \
    {                                                                                    \
        hook_log *log = user;                                                            \
        log->calls++;                                                                    \
        log->rows += rows;                                                               \
        for (size_t i = 0; i < n; i++)                                                   \
            g[i] *= 2;                                                                   \
        return SOMA_OK;                                                                  \
    }
DOUBLING_HOOK(double_f32, float, f32_calls)
DOUBLING_HOOK(double_f64, double, f64_calls)

START_TEST(float_reduce_hooks)
{
    /* Doubling the gradient with lr 0.05 is exactly lr 0.1 without a hook
     * (0.1 = 2 x 0.05 in binary, also once rounded to float), through the
     * float member and, on a double copy, through the double one. */
    soma_matrix X, Y, X2, Y2, X3, Y3;
    soma_mlp *a = circle_task(&X, &Y, 28), *b = circle_task(&X2, &Y2, 28),
             *c = circle_task(&X3, &Y3, 28);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 3;
    o.batch_size = 50;
    o.shuffle = false;
    o.learning_rate = 0.1;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, NULL, NULL), SOMA_OK);
    hook_log log = {0, 0, 0};
    o.learning_rate = 0.05;
    o.reduce.grads = double_f64;
    o.reduce.grads_f32 = double_f32;
    o.reduce.user = &log;
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(log.f32_calls, 15); /* the float member wins */
    ck_assert_uint_eq(log.f64_calls, 0);
    assert_same_params(a, b);
    o.reduce.grads_f32 = NULL;
    ck_assert_int_eq(soma_mlp_fit(c, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(log.f64_calls, 15);
    ck_assert_uint_eq(log.rows, 2 * 3 * 240);
    assert_same_params(a, c);
    soma_mlp_destroy(c);
    soma_mlp_destroy(b);
    soma_mlp_destroy(a);
    free_data(&X3, &Y3);
    free_data(&X2, &Y2);
    free_data(&X, &Y);
}
END_TEST

/* ---- labels, predictions ------------------------------------------------------ */

START_TEST(float_integer_labels_equal_one_hot)
{
    /* Three classes of 150 points; integer labels are one-hot inside, bit
     * for bit, in a float model too. */
    const size_t n = 150, sizes[3] = {2, 6, 3};
    soma_matrix X, Y, L;
    ck_assert_int_eq(soma_matrix_init(&X, n, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, n, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&L, n, 1, NULL), SOMA_OK);
    test_fill_random(&X, 60);
    for (size_t i = 0; i < n; i++) {
        const size_t c = X.data[2 * i] < -0.3 ? 0 : X.data[2 * i + 1] < 0.2 ? 1 : 2;
        L.data[i] = (double)c;
        Y.data[3 * i + c] = 1.0;
    }
    soma_mlp *a = make32(sizes, 3, SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_SOFTMAX,
                         SOMA_LOSS_CE, 61),
             *b = make32(sizes, 3, SOMA_ACTIVATION_RELU, SOMA_ACTIVATION_SOFTMAX,
                         SOMA_LOSS_CE, 61);
    soma_fit_options o = soma_fit_options_adam(4);
    o.validation_fraction = 0.2;
    soma_history ha, hb;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &o, &ha, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(b, &X, &L, &o, &hb, NULL), SOMA_OK);
    assert_same_params(a, b);
    ck_assert_mem_eq(&ha.epochs[3].val_loss, &hb.epochs[3].val_loss, sizeof(double));
    double la, lb;
    ck_assert_int_eq(soma_mlp_evaluate(a, &X, &Y, &la, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_evaluate(a, &X, &L, &lb, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(la, lb);
    soma_history_free(&ha);
    soma_history_free(&hb);
    soma_mlp_destroy(b);
    soma_mlp_destroy(a);
    soma_matrix *all[] = {&X, &Y, &L};
    for (int i = 0; i < 3; i++)
        soma_matrix_free(all[i]);
}
END_TEST

START_TEST(float_predictions_match_the_twin)
{
    /* 2500 rows (three chunks): the float outputs are within the forward
     * part of the gradient bound of the double twin's, 500 u for these O(1)
     * probabilities; the labels agree wherever the twin's probability is
     * clear of 0.5 by more than that; a predictor with the same chunks (1024
     * rows) gives the same bits as predict_proba (with other chunk sizes the
     * BLAS may take other kernels, whose bits differ). */
    const size_t n = 2500, sizes[4] = {2, 16, 16, 1};
    soma_mlp *m =
        make32(sizes, 4, SOMA_ACTIVATION_ELU, SOMA_ACTIVATION_SIGMOID, SOMA_LOSS_BCE, 70);
    soma_mlp *t = twin(m, SOMA_PRECISION_F64);
    soma_matrix X, P32, P64, Lb, Pp;
    ck_assert_int_eq(soma_matrix_init(&X, n, 2, NULL), SOMA_OK);
    test_fill_random(&X, 71);
    ck_assert_int_eq(soma_matrix_scale(&X, 3.0), SOMA_OK);
    to_floats(&X);
    soma_matrix *outs[4] = {&P32, &P64, &Lb, &Pp};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(soma_matrix_init(outs[i], n, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &P32, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(t, &X, &P64, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict(m, &X, &Lb, NULL), SOMA_OK);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_le(fabs(P32.data[i] - P64.data[i]), 500 * U32);
        ck_assert_double_eq(P32.data[i], (double)(float)P32.data[i]); /* floats */
        differ += P32.data[i] != P64.data[i];
        if (fabs(P64.data[i] - 0.5) > 500 * U32)
            ck_assert_double_eq(Lb.data[i], P64.data[i] > 0.5 ? 1.0 : 0.0);
    }
    ck_assert_uint_gt(differ, 0);
    soma_mlp_predictor *pr = NULL;
    ck_assert_int_eq(soma_mlp_predictor_create(&pr, m, n, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predictor_proba(pr, &X, &Pp, NULL), SOMA_OK);
    ck_assert_mem_eq(Pp.data, P32.data, n * sizeof(double));
    soma_mlp_predictor_destroy(pr);
    /* Inputs beyond the float range are not an error for prediction: they
     * become infinities and give non-finite or saturated outputs. */
    X.data[0] = 1e39;
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &P32, NULL), SOMA_OK);
    for (int i = 0; i < 4; i++)
        soma_matrix_free(outs[i]);
    soma_matrix_free(&X);
    soma_mlp_destroy(t);
    soma_mlp_destroy(m);
}
END_TEST

/* ---- parameters --------------------------------------------------------------- */

START_TEST(float_parameter_access)
{
    const size_t sizes[3] = {3, 4, 2};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.precision = SOMA_PRECISION_F32;
    soma_mlp *m = NULL, *d = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    soma_mlp_spec got;
    ck_assert_int_eq(soma_mlp_get_spec(m, &got, NULL), SOMA_OK);
    ck_assert_int_eq(got.precision, SOMA_PRECISION_F32);
    /* The initial weights are the double model's, rounded once to float. */
    spec.precision = SOMA_PRECISION_F64;
    ck_assert_int_eq(soma_mlp_create(&d, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    soma_matrix p = test_params_copy(m), q = test_params_copy(d);
    ck_assert_uint_eq(p.cols, 26);
    for (size_t i = 0; i < p.cols; i++)
        ck_assert_double_eq(p.data[i], (double)(float)q.data[i]);
    /* No double views of a float model. */
    soma_matrix view;
    ck_assert_int_eq(soma_mlp_params(m, &view, NULL), SOMA_ENOTSUP);
    ck_assert_int_eq(soma_mlp_grads(m, &view, NULL), SOMA_ENOTSUP);
    ck_assert_int_eq(soma_mlp_layer(m, 0, &view, NULL, NULL), SOMA_ENOTSUP);
    /* set rounds to the nearest float, get returns it exactly. */
    for (size_t i = 0; i < p.cols; i++)
        p.data[i] = 0.1 * (double)i - 1.0;
    ck_assert_int_eq(soma_mlp_set_params(m, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_params(m, &q, NULL), SOMA_OK);
    for (size_t i = 0; i < p.cols; i++)
        ck_assert_double_eq(q.data[i], (double)(float)p.data[i]);
    /* Layers are blocks of the flat layout: W row-major, then b. */
    soma_matrix W, b;
    ck_assert_int_eq(soma_matrix_init(&W, 4, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&b, 1, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_layer(m, 1, &W, &b, NULL), SOMA_OK);
    for (size_t i = 0; i < 8; i++)
        ck_assert_double_eq(W.data[i], q.data[16 + i]);
    ck_assert_double_eq(b.data[0], q.data[24]);
    ck_assert_double_eq(b.data[1], q.data[25]);
    b.data[1] = 1.0 / 3.0;
    ck_assert_int_eq(soma_mlp_set_layer(m, 1, NULL, &b, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_params(m, &q, NULL), SOMA_OK);
    ck_assert_double_eq(q.data[25], (double)(1.0f / 3.0f));
    ck_assert_double_eq(q.data[23], (double)(float)p.data[23]);
    /* The gradient buffer starts at zero and is copied out in double. */
    soma_matrix g = grads_of(m);
    for (size_t i = 0; i < g.cols; i++)
        ck_assert_double_eq(g.data[i], 0.0);
    soma_matrix *all[] = {&p, &q, &W, &b, &g};
    for (int i = 0; i < 5; i++)
        soma_matrix_free(all[i]);
    soma_mlp_destroy(d);
    soma_mlp_destroy(m);
}
END_TEST

/* ---- divergence and memory ------------------------------------------------------ */

START_TEST(float_overflow_is_divergence)
{
    /* Targets of 1e30 are floats, but their squared error (1e60) is not:
     * the float model diverges where a double one would not, and keeps the
     * last finite parameters, as in double. */
    const size_t sizes[3] = {1, 4, 1};
    soma_mlp *m = make32(sizes, 3, SOMA_ACTIVATION_IDENTITY, SOMA_ACTIVATION_IDENTITY,
                         SOMA_LOSS_MSE, 4);
    soma_mlp *t = twin(m, SOMA_PRECISION_F64);
    double x[4] = {1, 2, 3, 4}, y[4] = {1e30, -1e30, 1e30, -1e30};
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_view(&X, x, 4, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Y, y, 4, 1, 1), SOMA_OK);
    to_floats(&Y);
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 3;
    o.learning_rate = 1e-33; /* steps of ~1e-3 against gradients of ~1e30 */
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(t, &X, &Y, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_ENONFINITE);
    ck_assert_int_eq(h.stop, SOMA_STOP_DIVERGED);
    soma_matrix p = test_params_copy(m);
    ck_assert_int_eq(soma_matrix_check_finite(&p), SOMA_OK);
    soma_matrix_free(&p);
    soma_history_free(&h);
    /* A training run that overflows the parameters themselves. */
    double ys[4] = {1e18, -1e18, 1e18, -1e18};
    ck_assert_int_eq(soma_matrix_view(&Y, ys, 4, 1, 1), SOMA_OK);
    o.epochs = 100;
    o.learning_rate = 10.0;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &h, NULL), SOMA_ENONFINITE);
    ck_assert_int_eq(h.stop, SOMA_STOP_DIVERGED);
    ck_assert_uint_lt(h.n_epochs, 100);
    p = test_params_copy(m);
    ck_assert_int_eq(soma_matrix_check_finite(&p), SOMA_OK);
    soma_matrix_free(&p);
    soma_history_free(&h);
    soma_mlp_destroy(t);
    soma_mlp_destroy(m);
}
END_TEST

/* Bytes a model allocates when created, and the total of a fit. */
static void memory_of(soma_precision precision, size_t *model, size_t *fit)
{
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    const size_t sizes[4] = {64, 128, 64, 10};
    soma_mlp_spec spec = soma_mlp_spec_classifier(10);
    spec.precision = precision;
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 4, &spec, &a, NULL), SOMA_OK);
    *model = t.live_bytes;
    soma_matrix X, L;
    ck_assert_int_eq(soma_matrix_init(&X, 512, 64, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&L, 512, 1, NULL), SOMA_OK);
    test_fill_random(&X, 1);
    for (size_t i = 0; i < 512; i++)
        L.data[i] = (double)(i % 10);
    soma_fit_options o = soma_fit_options_adam(2);
    o.batch_size = 128;
    const size_t before = t.total_bytes;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &L, &o, NULL, NULL), SOMA_OK);
    *fit = t.total_bytes - before;
    soma_mlp_destroy(m);
    ck_assert_uint_eq(t.live_bytes, 0);
    soma_matrix_free(&L);
    soma_matrix_free(&X);
}

START_TEST(float_models_take_half_the_memory)
{
    /* Parameters and gradients exactly half; a fit's workspace, snapshots
     * and Adam state too, but for the row indices (size_t, n of them) and
     * the few pointers of the layout: at most 0.55 of the double fit. */
    size_t m64, f64, m32, f32;
    memory_of(SOMA_PRECISION_F64, &m64, &f64);
    memory_of(SOMA_PRECISION_F32, &m32, &f32);
    printf("memory: model %zu / %zu bytes, fit %zu / %zu bytes (float / double)\n", m32,
           m64, f32, f64);
    ck_assert_double_le((double)m32, 0.55 * (double)m64);
    ck_assert_double_le((double)f32, 0.55 * (double)f64);
    ck_assert_double_ge((double)f32, 0.45 * (double)f64);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("precision");
    TCase *grad = tcase_create("gradient");
    tcase_add_loop_test(grad, float_gradient_matches_double_twin, 0,
                        SOMA_ACTIVATION_COUNT);
    suite_add_tcase(s, grad);
    TCase *train = tcase_create("training");
    tcase_add_test(train, float_and_double_twins_train_alike);
    tcase_add_test(train, float_fit_is_deterministic);
    tcase_add_test(train, float_schedules_follow_the_double_ones);
    tcase_add_test(train, float_warm_start_and_callback);
    tcase_add_test(train, float_reduce_hooks);
    tcase_add_test(train, float_integer_labels_equal_one_hot);
    suite_add_tcase(s, train);
    TCase *use = tcase_create("use");
    tcase_add_test(use, float_predictions_match_the_twin);
    tcase_add_test(use, float_parameter_access);
    tcase_add_test(use, float_overflow_is_divergence);
    tcase_add_test(use, float_models_take_half_the_memory);
    suite_add_tcase(s, use);
    return test_run(s);
}
