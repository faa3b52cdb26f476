#include "test_common.h"

/* ---- an independent reference: the walkthrough's Perceptron.fit, line by
 * line (numpy's X[i] . w + b, step, error, update), written here without
 * the library so that the library can be compared with it bit for bit.
 * Randomness: w from soma_rng_normal(0, sd) first, then (shuffle) one
 * soma_rng_permutation per epoch, exactly the draws perceptron.h documents. */
typedef struct ref_result {
    double w[8], b;
    size_t errors[2000];
    double accuracy[2000], loss[2000];
    size_t epochs;
    int converged;
} ref_result;

static void reference_fit(const double *X, const double *y, size_t n, size_t d, double lr,
                          size_t max_epochs, double sd, int shuffle, int average,
                          uint64_t seed, ref_result *r)
{
    soma_rng rng;
    ck_assert_int_eq(soma_rng_seed(&rng, seed), SOMA_OK);
    ck_assert_uint_le(d, 8);
    ck_assert_uint_le(max_epochs, 2000);
    ck_assert_int_eq(soma_rng_normal(&rng, d, 0.0, sd, r->w), SOMA_OK);
    r->b = 0.0;
    r->converged = 0;
    double wsum[8] = {0}, bsum = 0.0;
    size_t *idx = malloc(n * sizeof *idx);
    size_t epoch;
    for (epoch = 0; epoch < max_epochs; epoch++) {
        if (shuffle)
            ck_assert_int_eq(soma_rng_permutation(&rng, n, idx), SOMA_OK);
        size_t errors = 0;
        double epoch_loss = 0;
        for (size_t t = 0; t < n; t++) {
            size_t i = shuffle ? idx[t] : t;
            double linear = 0.0;
            for (size_t j = 0; j < d; j++)
                linear += X[i * d + j] * r->w[j];
            linear += r->b;
            double prediction = linear >= 0 ? 1.0 : 0.0;
            double error = y[i] - prediction;
            epoch_loss += error * error;
            if (error != 0) {
                for (size_t j = 0; j < d; j++)
                    r->w[j] += lr * error * X[i * d + j];
                r->b += lr * error;
                errors += 1;
            }
            for (size_t j = 0; j < d; j++)
                wsum[j] += r->w[j];
            bsum += r->b;
        }
        r->errors[epoch] = errors;
        r->accuracy[epoch] = 1 - ((double)errors / (double)n);
        r->loss[epoch] = epoch_loss / (double)n;
        if (errors == 0) {
            r->converged = 1;
            epoch++;
            break;
        }
    }
    r->epochs = epoch;
    if (average) {
        for (size_t j = 0; j < d; j++)
            r->w[j] = wsum[j] / ((double)epoch * (double)n);
        r->b = bsum / ((double)epoch * (double)n);
    }
    free(idx);
}

/* Fit the library perceptron and compare everything with the reference. */
static void compare_with_reference(const soma_matrix *X, const soma_matrix *y,
                                   soma_perceptron_options o, uint64_t seed)
{
    static ref_result r;
    const size_t n = X->rows, d = X->cols;
    reference_fit(X->data, y->data, n, d, o.learning_rate, o.max_epochs, o.init_sd,
                  o.shuffle, o.average, seed, &r);
    soma_perceptron *p;
    soma_rng rng;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_rng_seed(&rng, seed), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, X, y, &rng, NULL), SOMA_OK);

    const soma_perceptron_epoch *h;
    size_t count;
    ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_OK);
    ck_assert_uint_eq(count, r.epochs);
    for (size_t e = 0; e < count; e++) {
        ck_assert_uint_eq(h[e].epoch, e);
        ck_assert_uint_eq(h[e].errors, r.errors[e]);
        ck_assert_double_eq(h[e].accuracy, r.accuracy[e]);
        ck_assert_double_eq(h[e].loss, r.loss[e]);
        /* Labels are 0/1, so every squared error is 0 or 1: loss = errors/n. */
        ck_assert_double_eq(h[e].loss, (double)h[e].errors / (double)n);
    }
    bool conv;
    size_t at = 99;
    ck_assert_int_eq(soma_perceptron_converged(p, &conv, &at, NULL), SOMA_OK);
    ck_assert_int_eq(conv, r.converged);
    ck_assert_uint_eq(at, conv ? count - 1 : 0);
    soma_matrix w;
    double b;
    ck_assert_int_eq(soma_matrix_init(&w, 1, d, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &w, &b, NULL), SOMA_OK);
    for (size_t j = 0; j < d; j++)
        ck_assert_double_eq(w.data[j], r.w[j]);
    ck_assert_double_eq(b, r.b);
    soma_matrix_free(&w);
    soma_perceptron_destroy(p);
}

/* The AND gate with zero initial weights and lr = 1, traced by hand
 * (z >= 0 predicts 1):
 *   epoch 0: (0,0) z=0 -> 1, e=-1: w=(0,0) b=-1; (1,1) z=-1 -> 0, e=+1:
 *            w=(1,1) b=0                                   errors 2
 *   epoch 1: (0,0) z=0 e=-1: b=-1; (0,1) z=0 e=-1: w=(1,0) b=-2;
 *            (1,1) z=-1 e=+1: w=(2,1) b=-1                 errors 3
 *   epoch 2: (0,1) z=0 e=-1: w=(2,0) b=-2; (1,0) z=0 e=-1: w=(1,0) b=-3;
 *            (1,1) z=-2 e=+1: w=(2,1) b=-2                 errors 3
 *   epoch 3: (1,0) z=0 e=-1: w=(1,1) b=-3; (1,1) z=-1 e=+1: w=(2,2) b=-2
 *                                                          errors 2
 *   epoch 4: (0,1) z=0 e=-1: w=(2,1) b=-3                  errors 1
 *   epoch 5: z = -3, -2, -1, 0 -> 0, 0, 0, 1: no error: converged at 5. */
static double and_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static double and_y[4] = {0, 0, 0, 1};

START_TEST(and_gate_hand_trace)
{
    soma_matrix X, y, pred;
    ck_assert_int_eq(soma_matrix_view(&X, and_x, 4, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y, and_y, 4, 1, 1), SOMA_OK);
    soma_perceptron_options o = soma_perceptron_defaults();
    o.learning_rate = 1.0;
    o.init_sd = 0.0;
    soma_perceptron *p;
    soma_rng rng;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_rng_seed(&rng, 7), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_OK);

    const size_t expect[6] = {2, 3, 3, 2, 1, 0};
    const soma_perceptron_epoch *h;
    size_t count;
    ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_OK);
    ck_assert_uint_eq(count, 6);
    for (size_t e = 0; e < 6; e++) {
        ck_assert_uint_eq(h[e].epoch, e);
        ck_assert_uint_eq(h[e].errors, expect[e]);
        ck_assert_double_eq(h[e].accuracy, 1.0 - (double)expect[e] / 4.0);
        ck_assert_double_eq(h[e].loss, (double)expect[e] / 4.0);
    }
    bool conv;
    size_t at;
    ck_assert_int_eq(soma_perceptron_converged(p, &conv, &at, NULL), SOMA_OK);
    ck_assert(conv);
    ck_assert_uint_eq(at, 5);
    double wbuf[2], b;
    soma_matrix w;
    ck_assert_int_eq(soma_matrix_view(&w, wbuf, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &w, &b, NULL), SOMA_OK);
    ck_assert_double_eq(wbuf[0], 2.0);
    ck_assert_double_eq(wbuf[1], 1.0);
    ck_assert_double_eq(b, -3.0);

    ck_assert_int_eq(soma_matrix_init(&pred, 4, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_predict(p, &X, &pred, NULL), SOMA_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(pred.data[i], and_y[i]);
    /* decision function: 2 x0 + x1 - 3 = -3, -2, -1, 0 */
    ck_assert_int_eq(soma_perceptron_decision_function(p, &X, &pred, NULL), SOMA_OK);
    ck_assert_double_eq(pred.data[0], -3.0);
    ck_assert_double_eq(pred.data[1], -2.0);
    ck_assert_double_eq(pred.data[2], -1.0);
    ck_assert_double_eq(pred.data[3], 0.0);
    size_t d;
    ck_assert_int_eq(soma_perceptron_n_features(p, &d, NULL), SOMA_OK);
    ck_assert_uint_eq(d, 2);
    soma_matrix_free(&pred);
    soma_perceptron_destroy(p);

    /* The reference implementation agrees with the hand trace. */
    compare_with_reference(&X, &y, o, 7);
}
END_TEST

/* The walkthrough's experiment: make_classification(n_samples=200,
 * n_features=2, n_redundant=0, n_informative=2, n_clusters_per_class=1),
 * Perceptron(learning_rate=0.1, max_epochs=100). The numbers differ from
 * NumPy's (another generator); the behaviour must be the walkthrough's. */
START_TEST(walkthrough_settings)
{
    for (uint64_t seed = 40; seed < 46; seed++) {
        soma_make_classification_options mo = soma_make_classification_defaults();
        mo.n_samples = 200;
        mo.n_features = 2;
        mo.n_redundant = 0;
        mo.n_informative = 2;
        mo.n_clusters_per_class = 1;
        soma_rng data_rng;
        soma_matrix X, y;
        ck_assert_int_eq(soma_rng_seed(&data_rng, seed), SOMA_OK);
        ck_assert_int_eq(soma_make_classification(&data_rng, &mo, &X, &y, NULL, NULL),
                         SOMA_OK);

        soma_perceptron_options o = soma_perceptron_defaults();
        o.learning_rate = 0.1;
        o.max_epochs = 100;
        compare_with_reference(&X, &y, o, seed + 1000);

        /* The shape of the walkthrough's history. */
        soma_perceptron *p;
        soma_rng rng;
        ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_OK);
        ck_assert_int_eq(soma_rng_seed(&rng, seed + 1000), SOMA_OK);
        ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_OK);
        const soma_perceptron_epoch *h;
        size_t count;
        bool conv;
        size_t at;
        ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_OK);
        ck_assert_int_eq(soma_perceptron_converged(p, &conv, &at, NULL), SOMA_OK);
        ck_assert_uint_ge(count, 1);
        ck_assert_uint_le(count, 100);
        if (conv) {
            ck_assert_uint_eq(at, count - 1);
            ck_assert_uint_eq(h[count - 1].errors, 0);
            ck_assert_double_eq(h[count - 1].accuracy, 1.0);
        } else {
            ck_assert_uint_eq(count, 100);
        }
        for (size_t e = 0; e + 1 < count; e++)
            ck_assert_uint_gt(h[e].errors, 0);
        for (size_t e = 0; e < count; e++)
            ck_assert_double_eq(h[e].accuracy + h[e].loss, 1.0);
        /* class_sep 1 with a random covariance per cluster: the two classes
         * overlap more or less from seed to seed (the last epoch's online
         * accuracy ranged over 0.78 .. 1.0 on 30 seeds). 0.6 keeps a margin
         * while excluding chance level (0.5), where a wrong update sign
         * would leave it. */
        ck_assert_double_gt(h[count - 1].accuracy, 0.6);
        soma_perceptron_destroy(p);
        soma_matrix_free(&X);
        soma_matrix_free(&y);
    }
}
END_TEST

/* Two blobs 11.3 apart with sd 0.5: separable (a gap of ~20 sd), so the
 * perceptron convergence theorem guarantees a zero-error epoch. */
static void separable_blobs(size_t n, uint64_t seed, soma_matrix *X, soma_matrix *y)
{
    double cbuf[4] = {-4, -4, 4, 4};
    soma_matrix C;
    ck_assert_int_eq(soma_matrix_view(&C, cbuf, 2, 2, 2), SOMA_OK);
    soma_make_blobs_options bo = soma_make_blobs_defaults();
    bo.n_samples = n;
    bo.centers = &C;
    bo.cluster_std = 0.5;
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, seed), SOMA_OK);
    ck_assert_int_eq(soma_make_blobs(&r, &bo, X, y, NULL, NULL, NULL), SOMA_OK);
}

START_TEST(converges_on_separable_data)
{
    soma_matrix X, y, pred;
    separable_blobs(400, 3, &X, &y);
    ck_assert_int_eq(soma_matrix_init(&pred, 400, 1, NULL), SOMA_OK);
    for (int mode = 0; mode < 4; mode++) {
        soma_perceptron_options o = soma_perceptron_defaults();
        o.shuffle = mode & 1;
        o.average = (mode & 2) != 0;
        compare_with_reference(&X, &y, o, 11 + (uint64_t)mode);

        soma_perceptron *p;
        soma_rng rng;
        ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_OK);
        ck_assert_int_eq(soma_rng_seed(&rng, 11 + (uint64_t)mode), SOMA_OK);
        ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_OK);
        bool conv;
        size_t at;
        const soma_perceptron_epoch *h;
        size_t count;
        ck_assert_int_eq(soma_perceptron_converged(p, &conv, &at, NULL), SOMA_OK);
        ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_OK);
        ck_assert(conv);
        ck_assert_uint_eq(at, count - 1);
        ck_assert_uint_eq(h[at].errors, 0);
        ck_assert_int_eq(soma_perceptron_predict(p, &X, &pred, NULL), SOMA_OK);
        double acc;
        ck_assert_int_eq(soma_accuracy(&y, &pred, &acc, NULL), SOMA_OK);
        if (!o.average) {
            /* Zero errors in the last epoch and no update since: every
             * training point is classified correctly. */
            ck_assert_double_eq(acc, 1.0);
        } else {
            /* The average of all iterates need not separate perfectly, but
             * on a gap of ~20 sd it does in practice; allow one miss. */
            ck_assert_double_ge(acc, 1.0 - 1.0 / 400.0);
        }
        soma_perceptron_destroy(p);
    }
    soma_matrix_free(&pred);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(xor_never_converges_and_history_grows)
{
    /* XOR is not linearly separable: every epoch has an error, so the fit
     * runs max_epochs = 150 epochs (the history grows past its first 64). */
    double xb[8] = {0, 0, 0, 1, 1, 0, 1, 1}, yb[4] = {0, 1, 1, 0};
    soma_matrix X, y;
    ck_assert_int_eq(soma_matrix_view(&X, xb, 4, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y, yb, 4, 1, 1), SOMA_OK);
    soma_perceptron_options o = soma_perceptron_defaults();
    o.max_epochs = 150;
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_perceptron *p;
    soma_rng rng;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, &a, NULL), SOMA_OK);
    ck_assert_int_eq(soma_rng_seed(&rng, 5), SOMA_OK);
    size_t before = t.allocs;
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_OK);
    /* Weights + history at the start, then the history doubles 64 -> 128
     * -> 150: nothing is allocated per epoch or per sample. */
    ck_assert_uint_eq(t.allocs - before, 4);
    const soma_perceptron_epoch *h;
    size_t count;
    bool conv;
    size_t at = 42;
    ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_OK);
    ck_assert_uint_eq(count, 150);
    for (size_t e = 0; e < count; e++) {
        ck_assert_uint_eq(h[e].epoch, e);
        ck_assert_uint_gt(h[e].errors, 0);
    }
    ck_assert_int_eq(soma_perceptron_converged(p, &conv, &at, NULL), SOMA_OK);
    ck_assert(!conv);
    ck_assert_uint_eq(at, 0);
    compare_with_reference(&X, &y, o, 5);
    soma_perceptron_destroy(p);
    ck_assert_uint_eq(t.live_bytes, 0);
    ck_assert_uint_eq(t.allocs, t.frees);
}
END_TEST

START_TEST(refit_replaces_and_failure_keeps_state)
{
    soma_matrix X, y;
    separable_blobs(100, 9, &X, &y);
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_perceptron *p;
    soma_rng rng;
    ck_assert_int_eq(soma_perceptron_create(&p, NULL, &a, NULL), SOMA_OK);
    ck_assert_int_eq(soma_rng_seed(&rng, 1), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_OK);
    double w0[2], b0, w1[2], b1;
    soma_matrix w;
    ck_assert_int_eq(soma_matrix_view(&w, w0, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &w, &b0, NULL), SOMA_OK);
    size_t count0;
    const soma_perceptron_epoch *h;
    ck_assert_int_eq(soma_perceptron_history(p, &h, &count0, NULL), SOMA_OK);

    /* Every allocation of a second fit failing in turn: ENOMEM, the first
     * fit intact, nothing leaked. */
    for (size_t k = 1; k <= 2; k++) { /* weights, history */
        size_t live = t.live_bytes;
        t.fail_at = t.allocs + k;
        ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_ENOMEM);
        t.fail_at = 0;
        ck_assert_uint_eq(t.live_bytes, live);
        ck_assert_int_eq(soma_matrix_view(&w, w1, 1, 2, 2), SOMA_OK);
        ck_assert_int_eq(soma_perceptron_get_weights(p, &w, &b1, NULL), SOMA_OK);
        ck_assert_mem_eq(w0, w1, sizeof w0);
        ck_assert_double_eq(b0, b1);
        size_t count;
        ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_OK);
        ck_assert_uint_eq(count, count0);
    }
    /* A bad label: EINVAL, state intact. */
    double saved = y.data[3];
    y.data[3] = 2.0;
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_EINVAL);
    y.data[3] = 0.5;
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_EINVAL);
    y.data[3] = NAN;
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_ENONFINITE);
    y.data[3] = saved;
    ck_assert_int_eq(soma_perceptron_get_weights(p, &w, &b1, NULL), SOMA_OK);
    ck_assert_mem_eq(w0, w1, sizeof w0);

    /* A refit on other data with 3 features replaces the model. */
    soma_matrix X3;
    ck_assert_int_eq(soma_matrix_init(&X3, 100, 3, &a), SOMA_OK);
    for (size_t i = 0; i < 100; i++) {
        X3.data[3 * i] = X.data[2 * i];
        X3.data[3 * i + 1] = X.data[2 * i + 1];
        X3.data[3 * i + 2] = 1.0;
    }
    ck_assert_int_eq(soma_perceptron_fit(p, &X3, &y, &rng, NULL), SOMA_OK);
    size_t d;
    ck_assert_int_eq(soma_perceptron_n_features(p, &d, NULL), SOMA_OK);
    ck_assert_uint_eq(d, 3);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &w, &b1, NULL), SOMA_EDIM);
    soma_matrix_free(&X3);
    soma_perceptron_destroy(p);
    ck_assert_uint_eq(t.live_bytes, 0);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(bad_arguments)
{
    static char sentinel;
    soma_perceptron *p = (soma_perceptron *)&sentinel;
    soma_perceptron *keep = p;
    soma_perceptron_options o = soma_perceptron_defaults();
    ck_assert_int_eq(soma_perceptron_create(NULL, NULL, NULL, NULL), SOMA_EINVAL);
    o.learning_rate = 0.0;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_EINVAL);
    o.learning_rate = NAN;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_EINVAL);
    o = soma_perceptron_defaults();
    o.max_epochs = 0;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_EINVAL);
    o = soma_perceptron_defaults();
    o.init_sd = -1.0;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_EINVAL);
    o.init_sd = INFINITY;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_EINVAL);
    test_alloc t;
    soma_allocator half = test_allocator(&t);
    half.free = NULL;
    ck_assert_int_eq(soma_perceptron_create(&p, NULL, &half, NULL), SOMA_EINVAL);
    soma_allocator failing = test_allocator(&t);
    t.fail_at = 1;
    ck_assert_int_eq(soma_perceptron_create(&p, NULL, &failing, NULL), SOMA_ENOMEM);
    ck_assert_ptr_eq(p, keep);
    soma_perceptron_destroy(NULL);

    ck_assert_int_eq(soma_perceptron_create(&p, NULL, NULL, NULL), SOMA_OK);
    soma_matrix X, y, y2, out, empty;
    double xb[6] = {1, 2, 3, 4, 5, 6}, yb[3] = {0, 1, 1}, ob[3] = {7, 7, 7};
    ck_assert_int_eq(soma_matrix_view(&X, xb, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y, yb, 3, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y2, yb, 2, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&out, ob, 3, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&empty, NULL, 0, 2, 2), SOMA_OK);
    soma_rng rng;
    ck_assert_int_eq(soma_rng_seed(&rng, 1), SOMA_OK);

    /* Before a fit. */
    const soma_perceptron_epoch *h = NULL;
    size_t count = 77, d = 77;
    bool conv = true;
    double b = 5.0;
    ck_assert_int_eq(soma_perceptron_predict(p, &X, &out, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_perceptron_decision_function(p, &X, &out, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_perceptron_converged(p, &conv, NULL, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_perceptron_n_features(p, &d, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_perceptron_get_weights(p, NULL, &b, NULL), SOMA_ESTATE);
    ck_assert_ptr_null(h);
    ck_assert_uint_eq(count, 77);
    ck_assert_uint_eq(d, 77);
    ck_assert(conv);
    ck_assert_double_eq(b, 5.0);

    /* fit */
    ck_assert_int_eq(soma_perceptron_fit(NULL, &X, &y, &rng, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_fit(p, NULL, &y, &rng, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, NULL, &rng, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_fit(p, &empty, &y, &rng, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y2, &rng, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &X, &rng, NULL),
                     SOMA_EINVAL); /* y 3 x 2 */
    xb[4] = INFINITY;
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_ENONFINITE);
    xb[4] = 5;
    ck_assert_int_eq(soma_perceptron_history(p, &h, &count, NULL), SOMA_ESTATE);

    /* predict */
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &rng, NULL), SOMA_OK);
    soma_matrix X1, overlap;
    ck_assert_int_eq(soma_matrix_view(&X1, xb, 6, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_predict(p, &X1, &out, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_perceptron_predict(p, &X, &y2, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_perceptron_predict(NULL, &X, &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_predict(p, NULL, &out, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_predict(p, &X, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_view(&overlap, xb + 1, 3, 1, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_predict(p, &X, &overlap, NULL), SOMA_EALIAS);
    for (size_t i = 0; i < 3; i++)
        ck_assert_double_eq(ob[i], 7.0);
    ck_assert_double_eq(xb[1], 2.0);
    /* Zero rows predict nothing and succeed. */
    soma_matrix out0;
    ck_assert_int_eq(soma_matrix_view(&out0, NULL, 0, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_predict(p, &empty, &out0, NULL), SOMA_OK);

    /* accessors */
    ck_assert_int_eq(soma_perceptron_history(p, NULL, &count, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_history(p, &h, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_history(NULL, &h, &count, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_converged(p, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_converged(NULL, &conv, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_n_features(p, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_get_weights(p, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &out, NULL, NULL), SOMA_EDIM);
    ck_assert_double_eq(ob[0], 7.0);
    ck_assert_int_eq(soma_perceptron_get_weights(p, NULL, &b, NULL), SOMA_OK);
    soma_perceptron_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("perceptron");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, and_gate_hand_trace);
    tcase_add_test(tc, walkthrough_settings);
    tcase_add_test(tc, converges_on_separable_data);
    tcase_add_test(tc, xor_never_converges_and_history_grows);
    tcase_add_test(tc, refit_replaces_and_failure_keeps_state);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return test_run(s);
}
