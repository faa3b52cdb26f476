/* Classifiers without ceremony (integer labels, presets, class counts),
 * prediction without allocation, and the error detail a careless user
 * meets first: each mistake of issue 15's list must give a message that
 * names the problem. */
#include "test_common.h"

/* Three Gaussian blobs in 4 dimensions, labels 0..2 (n x 1). */
static void blobs(size_t n, soma_matrix *X, soma_matrix *y)
{
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 7), SOMA_OK);
    soma_make_blobs_options o = soma_make_blobs_defaults();
    o.n_samples = n;
    o.n_features = 4;
    o.n_centers = 3;
    ck_assert_int_eq(soma_make_blobs(&r, &o, X, y, NULL, NULL, NULL), SOMA_OK);
}

static bool same_bits(const soma_matrix *a, const soma_matrix *b)
{
    if (a->rows != b->rows || a->cols != b->cols)
        return false;
    for (size_t i = 0; i < a->rows; i++)
        if (memcmp(soma_matrix_at(a, i, 0), soma_matrix_at(b, i, 0),
                   a->cols * sizeof(double)) != 0)
            return false;
    return true;
}

/* A fresh 3-class classifier [4, 8, 3] from the preset. */
static soma_mlp *classifier(void)
{
    const size_t sizes[3] = {4, 8, soma_classifier_outputs(3)};
    const soma_mlp_spec spec = soma_mlp_spec_classifier(3);
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    return m;
}

static soma_matrix params_copy(soma_mlp *m)
{
    soma_matrix p, c;
    ck_assert_int_eq(soma_mlp_params(m, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_dup(&p, &c, NULL), SOMA_OK);
    return c;
}

/* Integer labels must give exactly what their one-hot rows give: the same
 * chunks, the same arithmetic, so the same bits, in fit (minibatches,
 * shuffled, with a validation split), evaluate and gradient. */
START_TEST(integer_labels_equal_one_hot)
{
    soma_matrix X, y, Y;
    blobs(150, &X, &y);
    ck_assert_int_eq(soma_one_hot(&y, 3, &Y, NULL, NULL), SOMA_OK);
    soma_mlp *a = classifier(), *b = classifier();
    soma_fit_options o = soma_fit_options_adam(5);
    o.batch_size = 16;
    o.validation_fraction = 0.2;
    soma_history ha, hb;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &y, &o, &ha, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(b, &X, &Y, &o, &hb, NULL), SOMA_OK);
    soma_matrix pa = params_copy(a), pb = params_copy(b);
    ck_assert(same_bits(&pa, &pb));
    ck_assert_uint_eq(ha.n_epochs, hb.n_epochs);
    for (size_t e = 0; e < ha.n_epochs; e++) {
        ck_assert(
            memcmp(&ha.epochs[e].val_loss, &hb.epochs[e].val_loss, sizeof(double)) == 0);
        ck_assert(memcmp(&ha.epochs[e].loss, &hb.epochs[e].loss, sizeof(double)) == 0);
    }
    double la, aa, lb, ab;
    ck_assert_int_eq(soma_mlp_evaluate(a, &X, &y, &la, &aa, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_evaluate(a, &X, &Y, &lb, &ab, NULL), SOMA_OK);
    ck_assert(memcmp(&la, &lb, sizeof la) == 0 && aa == ab);
    double ja, jb;
    ck_assert_int_eq(soma_mlp_gradient(a, &X, &y, 0.01, &ja, NULL), SOMA_OK);
    soma_matrix ga = {0}, gb = {0}, g;
    ck_assert_int_eq(soma_mlp_grads(a, &g, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_dup(&g, &ga, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_gradient(a, &X, &Y, 0.01, &jb, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_dup(&g, &gb, NULL), SOMA_OK);
    ck_assert(memcmp(&ja, &jb, sizeof ja) == 0 && same_bits(&ga, &gb));
    /* Integer labels for the validation set too. */
    soma_fit_options v = soma_fit_options_adam(2);
    v.X_val = &X;
    v.Y_val = &y;
    ck_assert_int_eq(soma_mlp_fit(a, &X, &Y, &v, NULL, NULL), SOMA_OK);
    soma_matrix_free(&ga);
    soma_matrix_free(&gb);
    soma_matrix_free(&pa);
    soma_matrix_free(&pb);
    soma_history_free(&ha);
    soma_history_free(&hb);
    soma_mlp_destroy(a);
    soma_mlp_destroy(b);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_matrix_free(&Y);
}
END_TEST

/* The presets learn: three separable blobs, 3 classes, and a 2-class
 * problem with one sigmoid output. The bound 0.95 is far above chance
 * (1/3, 1/2) and below what a working fit reaches on these blobs (1.0 in
 * every run seen here); a broken preset (e.g. a wrong output) stays near
 * chance. */
START_TEST(presets_learn)
{
    soma_matrix X, y, P, lab;
    blobs(300, &X, &y);
    size_t k;
    ck_assert_int_eq(soma_class_count(&y, &k, NULL), SOMA_OK);
    ck_assert_uint_eq(k, 3);
    soma_mlp *m = classifier();
    soma_fit_options o = soma_fit_options_adam(30);
    o.learning_rate = 0.01;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &y, &o, NULL, NULL), SOMA_OK);
    double acc;
    ck_assert_int_eq(soma_mlp_evaluate(m, &X, &y, NULL, &acc, NULL), SOMA_OK);
    ck_assert_double_ge(acc, 0.95);
    ck_assert_int_eq(soma_matrix_init(&lab, X.rows, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict(m, &X, &lab, NULL), SOMA_OK);
    double acc2;
    ck_assert_int_eq(soma_accuracy(&y, &lab, &acc2, NULL), SOMA_OK);
    ck_assert_double_eq(acc, acc2);
    soma_mlp_destroy(m);

    /* Two classes: keep blobs 0 and 1. */
    size_t n2 = 0;
    for (size_t i = 0; i < X.rows; i++)
        if (y.data[i] < 2.0) {
            memmove(soma_matrix_at(&X, n2, 0), soma_matrix_at(&X, i, 0),
                    4 * sizeof(double));
            y.data[n2++] = y.data[i];
        }
    soma_matrix X2 = {n2, 4, 4, X.data, false, {0}}, y2 = {n2, 1, 1, y.data, false, {0}};
    const size_t sizes[3] = {4, 8, soma_classifier_outputs(2)};
    ck_assert_uint_eq(sizes[2], 1);
    const soma_mlp_spec spec = soma_mlp_spec_classifier(2);
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(m, &X2, &y2, &o, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_evaluate(m, &X2, &y2, NULL, &acc, NULL), SOMA_OK);
    ck_assert_double_ge(acc, 0.95);
    ck_assert_int_eq(soma_matrix_init(&P, n2, 1, NULL), SOMA_OK);
    soma_mlp_destroy(m);
    soma_matrix_free(&P);
    soma_matrix_free(&lab);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

/* A predictor allocates at create and never again, and predicts exactly
 * what soma_mlp_predict_proba does, for one row and for more rows than
 * its capacity. */
START_TEST(predictor_no_allocation)
{
    soma_matrix X, y;
    blobs(40, &X, &y);
    soma_mlp *m = classifier();
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_mlp_predictor *pr;
    ck_assert_int_eq(soma_mlp_predictor_create(&pr, m, 3, &a, NULL), SOMA_OK);
    const size_t after_create = t.allocs;
    ck_assert_uint_ge(after_create, 1);
    soma_matrix P1, P2, L1, L2;
    ck_assert_int_eq(soma_matrix_init(&P1, X.rows, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&P2, X.rows, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&L1, X.rows, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&L2, X.rows, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < X.rows; i++) {
        soma_matrix row, out, lab;
        ck_assert_int_eq(soma_matrix_view_rows(&row, &X, i, 1), SOMA_OK);
        ck_assert_int_eq(soma_matrix_view_rows(&out, &P1, i, 1), SOMA_OK);
        ck_assert_int_eq(soma_matrix_view_rows(&lab, &L1, i, 1), SOMA_OK);
        ck_assert_int_eq(soma_mlp_predictor_proba(pr, &row, &out, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_predictor_labels(pr, &row, &lab, NULL), SOMA_OK);
    }
    ck_assert_uint_eq(t.allocs, after_create);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &P2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict(m, &X, &L2, NULL), SOMA_OK);
    ck_assert(same_bits(&P1, &P2));
    ck_assert(same_bits(&L1, &L2));
    /* All rows at once: 40 rows through a 3-row workspace. */
    ck_assert_int_eq(soma_mlp_predictor_proba(pr, &X, &P1, NULL), SOMA_OK);
    ck_assert(same_bits(&P1, &P2));
    ck_assert_uint_eq(t.allocs, after_create);
    soma_mlp_predictor_destroy(pr);
    ck_assert_uint_eq(t.live_bytes, 0);
    soma_matrix_free(&P1);
    soma_matrix_free(&P2);
    soma_matrix_free(&L1);
    soma_matrix_free(&L2);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

/* The message must contain every one of the given fragments. */
static void expect_detail(soma_status got, soma_status want, const soma_error_info *e,
                          const char *argument, const char *const *parts)
{
    ck_assert_msg(got == want, "status %s, expected %s (%s)", soma_status_string(got),
                  soma_status_string(want), e->message);
    ck_assert_str_eq(e->argument, argument);
    for (; *parts != NULL; parts++)
        ck_assert_msg(strstr(e->message, *parts) != NULL, "\"%s\" lacks \"%s\"",
                      e->message, *parts);
}

#define DETAIL(call, want, arg, ...)                                                     \
    do {                                                                                 \
        soma_error_info e_;                                                              \
        memset(&e_, 0, sizeof e_);                                                       \
        const char *parts_[] = {__VA_ARGS__, NULL};                                      \
        expect_detail((call), (want), &e_, (arg), parts_);                               \
    } while (0)
#define ERR (&e_)

/* The careless-user cases of issue 15, each with the words that must
 * appear in its message. */
START_TEST(careless_user_messages)
{
    soma_matrix X, y, Y, X3, P = {0};
    blobs(30, &X, &y);
    ck_assert_int_eq(soma_one_hot(&y, 3, &Y, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&X3, 30, 3, NULL), SOMA_OK);
    soma_mlp *m = classifier();
    soma_fit_options o = soma_fit_options_adam(1);

    /* A wrong X width. */
    DETAIL(soma_mlp_fit(m, &X3, &Y, &o, NULL, ERR), SOMA_EDIM, "X", "3 columns",
           "input width", "4");
    /* Labels on a model whose loss cannot take them (MSE, 3 outputs). */
    soma_mlp_spec reg = soma_mlp_spec_default();
    reg.output = SOMA_ACTIVATION_IDENTITY;
    reg.loss = SOMA_LOSS_MSE;
    const size_t sizes3[3] = {4, 8, 3};
    soma_mlp *r;
    ck_assert_int_eq(soma_mlp_create(&r, sizes3, 3, &reg, NULL, NULL), SOMA_OK);
    DETAIL(soma_mlp_fit(r, &X, &y, &o, NULL, ERR), SOMA_EDIM, "Y", "1 column",
           "3 outputs", "soma_one_hot");
    soma_mlp_destroy(r);
    /* An unsized output matrix. */
    DETAIL(soma_mlp_predict_proba(m, &X, &P, ERR), SOMA_EDIM, "P", "0 x 0", "30 x 3",
           "soma_matrix_init");
    /* Labels 0..2 on a sigmoid (BCE) net. */
    const size_t sizes1[3] = {4, 8, 1};
    soma_mlp *s;
    ck_assert_int_eq(soma_mlp_create(&s, sizes1, 3, NULL, NULL, NULL), SOMA_OK);
    DETAIL(soma_mlp_fit(s, &X, &y, &o, NULL, ERR), SOMA_EINVAL, "Y", "is 2",
           "binary cross-entropy", "[0, 1]", "softmax");
    soma_mlp_destroy(s);
    /* A zero learning rate. */
    soma_fit_options z = o;
    z.learning_rate = 0.0;
    DETAIL(soma_mlp_fit(m, &X, &y, &z, NULL, ERR), SOMA_EINVAL, "options.learning_rate",
           "learning_rate", "is 0", "> 0");
    /* Stratifying on one-hot labels. */
    soma_split_options so = soma_split_defaults();
    so.stratify = true;
    soma_rng rng;
    ck_assert_int_eq(soma_rng_seed(&rng, 1), SOMA_OK);
    soma_matrix a, b, c, d;
    DETAIL(soma_train_test_split(&X, &Y, &so, &rng, &a, &b, &c, &d, NULL, ERR),
           SOMA_EINVAL, "y", "3 columns", "stratif", "before one-hot");
    /* A 3-class perceptron. */
    soma_perceptron *p;
    ck_assert_int_eq(soma_perceptron_create(&p, NULL, NULL, NULL), SOMA_OK);
    DETAIL(soma_perceptron_fit(p, &X, &y, &rng, ERR), SOMA_EINVAL, "y", "is 2",
           "binary classifier", "soma_mlp");
    soma_perceptron_destroy(p);
    /* One-hot rows where metrics want labels. */
    double acc;
    DETAIL(soma_accuracy(&Y, &Y, &acc, ERR), SOMA_EINVAL, "y_true", "3 columns",
           "argmax");
    /* A save into a folder that does not exist: the path and the reason. */
    DETAIL(soma_mlp_save(m, "/nonexistent-soma-dir/m.soma", false, ERR), SOMA_EIO, "path",
           "/nonexistent-soma-dir/m.soma", "No such file or directory");
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&X3);
    soma_matrix_free(&y);
    soma_matrix_free(&Y);
}
END_TEST

/* A successful call leaves err alone. */
START_TEST(success_leaves_err)
{
    soma_matrix X, y;
    blobs(20, &X, &y);
    soma_error_info e;
    memset(&e, 0x5a, sizeof e);
    soma_error_info before = e;
    size_t k;
    ck_assert_int_eq(soma_class_count(&y, &k, &e), SOMA_OK);
    soma_mlp *m = classifier();
    soma_fit_options o = soma_fit_options_adam(1);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &y, &o, NULL, &e), SOMA_OK);
    ck_assert(memcmp(&e, &before, sizeof e) == 0);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

typedef struct progress {
    size_t calls, last_rows, stop_after;
    bool monotonic;
} progress;

static int on_batch(void *user, const soma_batch_stats *b)
{
    progress *p = user;
    if (b->batch == 0)
        p->last_rows = 0;
    p->monotonic = p->monotonic && b->rows_done > p->last_rows &&
                   b->rows_done <= b->rows_total && isfinite(b->loss) &&
                   b->accuracy >= 0.0 && b->accuracy <= 1.0;
    p->last_rows = b->rows_done;
    p->calls++;
    return p->stop_after != 0 && p->calls == p->stop_after;
}

/* The batch callback sees every batch in order, and a stop request after
 * batch 3 of the first epoch leaves the model exactly where a one-epoch fit
 * on the first 3 batches' rows leaves it (shuffle off: same steps). */
START_TEST(batch_callback_reports_and_stops)
{
    soma_matrix X, y;
    blobs(100, &X, &y);
    soma_mlp *m = classifier();
    soma_fit_options o = soma_fit_options_adam(3);
    o.batch_size = 16;
    o.shuffle = false;
    progress p = {0, 0, 0, true};
    o.batch_callback = on_batch;
    o.callback_user = &p;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &y, &o, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(p.calls, 3 * 7); /* ceil(100 / 16) batches per epoch */
    ck_assert(p.monotonic);
    soma_mlp_destroy(m);

    m = classifier();
    p = (progress){0, 0, 3, true};
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &y, &o, &h, NULL), SOMA_OK);
    ck_assert_uint_eq(p.calls, 3);
    ck_assert_uint_eq(h.n_epochs, 1);
    ck_assert_int_eq(h.stop, SOMA_STOP_CALLBACK);
    soma_matrix X48 = {48, 4, X.ld, X.data, false, {0}},
                y48 = {48, 1, y.ld, y.data, false, {0}};
    soma_mlp *ref = classifier();
    soma_fit_options r = o;
    r.epochs = 1;
    r.batch_callback = NULL;
    ck_assert_int_eq(soma_mlp_fit(ref, &X48, &y48, &r, NULL, NULL), SOMA_OK);
    soma_matrix pm = params_copy(m), pr = params_copy(ref);
    ck_assert(same_bits(&pm, &pr));
    soma_matrix_free(&pm);
    soma_matrix_free(&pr);
    soma_history_free(&h);
    soma_mlp_destroy(ref);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("classify");
    TCase *tc = tcase_create("classify");
    tcase_add_test(tc, integer_labels_equal_one_hot);
    tcase_add_test(tc, presets_learn);
    tcase_add_test(tc, predictor_no_allocation);
    tcase_add_test(tc, careless_user_messages);
    tcase_add_test(tc, success_leaves_err);
    tcase_add_test(tc, batch_callback_reports_and_stops);
    suite_add_tcase(s, tc);
    return test_run(s);
}
