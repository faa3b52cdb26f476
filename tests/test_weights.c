/* Class and sample weights in training: the weighted objective's gradient
 * against finite differences, integer weights against duplicated rows,
 * "balanced" on unbalanced data, validation weighting, bad weights. */
#include "test_common.h"

/* n rows of 3 features, labels 0..2 (n x 1), deterministic. */
static void data(size_t n, soma_matrix *X, soma_matrix *y, uint64_t seed)
{
    ck_assert_int_eq(soma_matrix_init(X, n, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(y, n, 1, NULL), SOMA_OK);
    test_fill_random(X, seed);
    for (size_t i = 0; i < n; i++) {
        const double *x = soma_matrix_at(X, i, 0);
        y->data[i] = x[0] + 0.5 * x[1] > 0.3 ? 2.0 : x[2] > 0.0 ? 1.0 : 0.0;
    }
}

static soma_mlp *model(soma_precision p, uint64_t seed)
{
    const size_t sizes[3] = {3, 5, 3};
    soma_mlp_spec s = soma_mlp_spec_classifier(3);
    s.hidden = SOMA_ACTIVATION_TANH; /* smooth: finite differences apply */
    s.seed = seed;
    s.precision = p;
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &s, NULL, NULL), SOMA_OK);
    return m;
}

static soma_matrix column(size_t n, double (*f)(size_t))
{
    soma_matrix w;
    ck_assert_int_eq(soma_matrix_init(&w, n, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < n; i++)
        w.data[i] = f(i);
    return w;
}

static double small_int_weight(size_t i)
{
    return (double)(i % 4); /* 0, 1, 2, 3: zero weights included */
}

static double real_weight(size_t i)
{
    return 0.25 + 0.5 * (double)((i * 7) % 5);
}

/* dJ/dtheta of J = sum w_i l_i / sum w_i + (l2/2) ||W||^2 against central
 * differences of J computed by soma_mlp_evaluate_weighted. Tolerance as in
 * test_mlp.c's gradient check: relative 1e-6, plus the difference
 * quotient's noise floor (J's rounding, about 1e-16 |J|, over 2h with h =
 * 1e-5: 1e-11, taken as 1e-10). */
START_TEST(weighted_gradient_matches_finite_differences)
{
    soma_matrix X, y;
    data(40, &X, &y, 3);
    soma_matrix w = column(40, real_weight);
    soma_mlp *m = model(SOMA_PRECISION_F64, 5);
    const double l2 = 0.01;
    double J;
    ck_assert_int_eq(soma_mlp_gradient_weighted(m, &X, &y, &w, l2, &J, NULL), SOMA_OK);
    soma_matrix p, g;
    ck_assert_int_eq(soma_mlp_params(m, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_grads(m, &g, NULL), SOMA_OK);
    soma_matrix gc;
    ck_assert_int_eq(soma_matrix_dup(&g, &gc, NULL), SOMA_OK);
    const double h = 1e-5;
    /* Which parameters are weights (the L2 term's scope): W0 (3 x 5), b0,
     * W1 (5 x 3), b1. */
    for (size_t i = 0; i < p.cols; i++) {
        const bool is_w = i < 15 || (i >= 20 && i < 35);
        const double keep = p.data[i];
        double jp, jm;
        p.data[i] = keep + h;
        ck_assert_int_eq(soma_mlp_evaluate_weighted(m, &X, &y, &w, &jp, NULL, NULL),
                         SOMA_OK);
        const double rp = is_w ? 0.5 * l2 * p.data[i] * p.data[i] : 0.0;
        p.data[i] = keep - h;
        ck_assert_int_eq(soma_mlp_evaluate_weighted(m, &X, &y, &w, &jm, NULL, NULL),
                         SOMA_OK);
        const double rm = is_w ? 0.5 * l2 * p.data[i] * p.data[i] : 0.0;
        p.data[i] = keep;
        const double fd = ((jp + rp) - (jm + rm)) / (2 * h);
        ck_assert_msg(fabs(fd - gc.data[i]) <= 1e-6 * fabs(fd) + 1e-10,
                      "parameter %zu: gradient %.12g, finite difference %.12g", i,
                      gc.data[i], fd);
    }
    /* The weights matter: the unweighted gradient differs. */
    ck_assert_int_eq(soma_mlp_gradient(m, &X, &y, l2, NULL, NULL), SOMA_OK);
    double diff = 0.0;
    for (size_t i = 0; i < g.cols; i++)
        diff = fmax(diff, fabs(g.data[i] - gc.data[i]));
    ck_assert_double_gt(diff, 1e-6);
    soma_matrix_free(&gc);
    soma_mlp_destroy(m);
    soma_matrix_free(&w);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

/* Integer weights are duplicated rows: the same terms, summed in another
 * order. Gradient and loss agree to a bound of the summation order: each
 * is a sum of at most ~100 terms of similar size, so the relative
 * difference stays below 100 * 2^-52 ~ 2e-14; 1e-12 leaves margin. Five
 * epochs of full-batch gradient descent then stay within 1e-10 (the
 * differences grow with the steps, not beyond). Also in float32, within
 * the float analogue (100 * 2^-23 ~ 1.2e-5, bound 1e-4 on the gradient). */
START_TEST(integer_weights_equal_duplicated_rows)
{
    for (int prec = 0; prec < 2; prec++) {
        const soma_precision pr = prec ? SOMA_PRECISION_F32 : SOMA_PRECISION_F64;
        const double bound = prec ? 1e-4 : 1e-12, fit_bound = prec ? 1e-3 : 1e-10;
        soma_matrix X, y;
        data(30, &X, &y, 9);
        soma_matrix w = column(30, small_int_weight);
        size_t nd = 0;
        for (size_t i = 0; i < 30; i++)
            nd += (size_t)w.data[i];
        soma_matrix Xd, yd;
        ck_assert_int_eq(soma_matrix_init(&Xd, nd, 3, NULL), SOMA_OK);
        ck_assert_int_eq(soma_matrix_init(&yd, nd, 1, NULL), SOMA_OK);
        for (size_t i = 0, r = 0; i < 30; i++)
            for (size_t c = 0; c < (size_t)w.data[i]; c++, r++) {
                memcpy(soma_matrix_at(&Xd, r, 0), soma_matrix_at(&X, i, 0),
                       3 * sizeof(double));
                yd.data[r] = y.data[i];
            }
        soma_mlp *a = model(pr, 2), *b = model(pr, 2);
        double ja, jb;
        ck_assert_int_eq(soma_mlp_gradient_weighted(a, &X, &y, &w, 0.0, &ja, NULL),
                         SOMA_OK);
        ck_assert_int_eq(soma_mlp_gradient(b, &Xd, &yd, 0.0, &jb, NULL), SOMA_OK);
        ck_assert_double_le(fabs(ja - jb), bound * fabs(jb));
        soma_matrix ga, gb;
        ck_assert_int_eq(soma_matrix_init(&ga, 1, soma_mlp_n_params(a), NULL), SOMA_OK);
        ck_assert_int_eq(soma_matrix_init(&gb, 1, soma_mlp_n_params(a), NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_get_grads(a, &ga, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_get_grads(b, &gb, NULL), SOMA_OK);
        double scale = 0.0, d = 0.0;
        for (size_t i = 0; i < ga.cols; i++) {
            scale = fmax(scale, fabs(gb.data[i]));
            d = fmax(d, fabs(ga.data[i] - gb.data[i]));
        }
        ck_assert_msg(d <= bound * scale, "%s: gradient difference %g of %g",
                      soma_precision_name(pr), d, scale);
        /* Training: full batches, plain gradient descent. */
        soma_fit_options o = soma_fit_options_default();
        o.epochs = 5;
        o.learning_rate = 0.5;
        o.sample_weight = &w;
        ck_assert_int_eq(soma_mlp_fit(a, &X, &y, &o, NULL, NULL), SOMA_OK);
        o.sample_weight = NULL;
        ck_assert_int_eq(soma_mlp_fit(b, &Xd, &yd, &o, NULL, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_get_params(a, &ga, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_get_params(b, &gb, NULL), SOMA_OK);
        scale = 0.0, d = 0.0;
        for (size_t i = 0; i < ga.cols; i++) {
            scale = fmax(scale, fabs(gb.data[i]));
            d = fmax(d, fabs(ga.data[i] - gb.data[i]));
        }
        ck_assert_msg(d <= fit_bound * scale, "%s: parameter difference %g of %g",
                      soma_precision_name(pr), d, scale);
        /* Weighted evaluation is the evaluation of the duplicated rows. */
        double la, aa, lb, ab;
        ck_assert_int_eq(soma_mlp_evaluate_weighted(b, &X, &y, &w, &la, &aa, NULL),
                         SOMA_OK);
        ck_assert_int_eq(soma_mlp_evaluate(b, &Xd, &yd, &lb, &ab, NULL), SOMA_OK);
        ck_assert_double_le(fabs(la - lb), bound * lb);
        ck_assert_double_le(fabs(aa - ab), 1e-12);
        soma_matrix *all[] = {&X, &y, &w, &Xd, &yd, &ga, &gb};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            soma_matrix_free(all[i]);
        soma_mlp_destroy(a);
        soma_mlp_destroy(b);
    }
}
END_TEST

/* 1:9 data: two overlapping Gaussian classes, 90 rows of class 0 around
 * (0, 0) and 10 of class 1 around (1, 1), sd 1, repeated 10 times (1000
 * rows). Unweighted, a classifier favours the majority and finds few of
 * the minority; "balanced" weighs each minority row 9 times as much, which
 * moves the decision threshold toward the majority: more rows predicted as
 * the minority class, and a minority recall far higher. The bound 0.6 on
 * that recall: with the Bayes boundary of equal priors (x1 + x2 = 1), the
 * minority's recall is P(N(2, 2) > 1) = 0.76; the unweighted optimum
 * (priors 9:1, boundary x1 + x2 = 1 + ln 9 = 3.2) gives P(N(2, 2) > 3.2) =
 * 0.20. 0.6 separates the two with room for sampling noise. */
START_TEST(balanced_class_weights_raise_minority_recall)
{
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 11), SOMA_OK);
    const size_t n = 1000;
    soma_matrix X, y, pred;
    ck_assert_int_eq(soma_matrix_init(&X, n, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&y, n, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&pred, n, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_rng_normal(&r, 2 * n, 0.0, 1.0, X.data), SOMA_OK);
    for (size_t i = 0; i < n; i++)
        if (i % 10 == 9) {
            y.data[i] = 1.0;
            X.data[2 * i] += 1.0;
            X.data[2 * i + 1] += 1.0;
        }
    double recall[2], positives[2];
    for (int balanced = 0; balanced < 2; balanced++) {
        const size_t sizes[3] = {2, 8, 1};
        const soma_mlp_spec spec = soma_mlp_spec_classifier(2);
        soma_mlp *m;
        ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &spec, NULL, NULL), SOMA_OK);
        soma_fit_options o = soma_fit_options_adam(30);
        o.learning_rate = 0.01;
        o.class_weight_balanced = balanced;
        ck_assert_int_eq(soma_mlp_fit(m, &X, &y, &o, NULL, NULL), SOMA_OK);
        ck_assert_int_eq(soma_mlp_predict(m, &X, &pred, NULL), SOMA_OK);
        size_t tp = 0, pos = 0;
        for (size_t i = 0; i < n; i++) {
            pos += pred.data[i] == 1.0;
            tp += pred.data[i] == 1.0 && y.data[i] == 1.0;
        }
        recall[balanced] = (double)tp / 100.0;
        positives[balanced] = (double)pos;
        soma_mlp_destroy(m);
    }
    ck_assert_msg(positives[1] > positives[0],
                  "predicted minority: %g unweighted, %g balanced", positives[0],
                  positives[1]);
    ck_assert_msg(recall[0] < 0.6 && recall[1] >= 0.6,
                  "minority recall %.2f unweighted, %.2f balanced", recall[0], recall[1]);
    /* soma_class_weights_balanced: n / (k count_c) = 1000 / (2 * 900), 1000 / (2 * 100).
     */
    double cw[2];
    ck_assert_int_eq(soma_class_weights_balanced(&y, 2, cw, NULL), SOMA_OK);
    ck_assert_double_eq_tol(cw[0], 1000.0 / 1800.0, 1e-15);
    ck_assert_double_eq_tol(cw[1], 5.0, 1e-15);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_matrix_free(&pred);
}
END_TEST

static double last_val_loss;

static int keep_val(void *user, const soma_epoch_stats *s)
{
    (void)user;
    last_val_loss = s->val_loss;
    return 0;
}

/* The validation loss of a weighted fit is the weighted loss of the
 * validation rows: sample_weight_val times the class weights. */
START_TEST(validation_uses_the_same_weighting)
{
    soma_matrix X, y, Xv, yv;
    data(60, &X, &y, 4);
    data(25, &Xv, &yv, 6);
    soma_matrix w = column(60, real_weight), wv = column(25, small_int_weight);
    const double cw[3] = {0.5, 2.0, 1.0};
    soma_mlp *m = model(SOMA_PRECISION_F64, 8);
    soma_fit_options o = soma_fit_options_adam(3);
    o.X_val = &Xv;
    o.Y_val = &yv;
    o.sample_weight = &w;
    o.sample_weight_val = &wv;
    o.class_weight = cw;
    o.callback = keep_val;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &y, &o, NULL, NULL), SOMA_OK);
    soma_matrix ev;
    ck_assert_int_eq(soma_matrix_init(&ev, 25, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < 25; i++)
        ev.data[i] = wv.data[i] * cw[(size_t)yv.data[i]];
    double loss;
    ck_assert_int_eq(soma_mlp_evaluate_weighted(m, &Xv, &yv, &ev, &loss, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq_tol(loss, last_val_loss, 1e-14 * loss);
    double plain;
    ck_assert_int_eq(soma_mlp_evaluate(m, &Xv, &yv, &plain, NULL, NULL), SOMA_OK);
    ck_assert_double_ne(plain, last_val_loss);
    soma_matrix *all[] = {&X, &y, &Xv, &yv, &w, &wv, &ev};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
    soma_mlp_destroy(m);
}
END_TEST

/* Refused weights change nothing and name the bad entry. */
START_TEST(bad_weights_are_refused)
{
    soma_matrix X, y, Xv, yv;
    data(20, &X, &y, 1);
    data(5, &Xv, &yv, 2);
    soma_mlp *m = model(SOMA_PRECISION_F64, 3);
    soma_matrix p0, p1;
    ck_assert_int_eq(soma_matrix_init(&p0, 1, soma_mlp_n_params(m), NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&p1, 1, soma_mlp_n_params(m), NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_params(m, &p0, NULL), SOMA_OK);
    soma_matrix w = column(20, real_weight), zero, short_w = column(19, real_weight);
    ck_assert_int_eq(soma_matrix_init(&zero, 20, 1, NULL), SOMA_OK);
    const double bad_cw[3] = {1.0, -1.0, 1.0}, ok_cw[3] = {1, 1, 1};
    struct {
        const char *arg, *part;
        int what;
        soma_status st;
    } cases[] = {
        {"options.sample_weight", "(3, 0) is -2", 0, SOMA_EINVAL},
        {"options.sample_weight", "(3, 0) is nan", 1, SOMA_EINVAL},
        {"options.sample_weight", "sum to 0", 2, SOMA_EINVAL},
        {"options.sample_weight", "19 x 1", 3, SOMA_EDIM},
        {"options.class_weight", "[1] is -1", 4, SOMA_EINVAL},
        {"options.class_weight", "both set", 5, SOMA_EINVAL},
        {"options.sample_weight_val", "without options.X_val", 6, SOMA_EINVAL},
        {"options.sample_weight_val", "sum to 0", 7, SOMA_EINVAL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        soma_fit_options o = soma_fit_options_adam(2);
        w.data[3] = real_weight(3);
        switch (cases[c].what) {
        case 0:
            w.data[3] = -2.0;
            o.sample_weight = &w;
            break;
        case 1:
            w.data[3] = NAN;
            o.sample_weight = &w;
            break;
        case 2:
            o.sample_weight = &zero;
            break;
        case 3:
            o.sample_weight = &short_w;
            break;
        case 4:
            o.class_weight = bad_cw;
            break;
        case 5:
            o.class_weight = ok_cw;
            o.class_weight_balanced = true;
            break;
        case 6:
            o.sample_weight_val = &w;
            break;
        case 7:
            o.X_val = &Xv;
            o.Y_val = &yv;
            o.sample_weight_val = &zero;
            zero.rows = 5;
            break;
        }
        soma_error_info e;
        memset(&e, 0, sizeof e);
        soma_history h = {0};
        const soma_status st = soma_mlp_fit(m, &X, &y, &o, &h, &e);
        zero.rows = 20;
        ck_assert_msg(st == cases[c].st, "case %zu: %s (%s)", c, soma_status_string(st),
                      e.message);
        ck_assert_str_eq(e.argument, cases[c].arg);
        ck_assert_msg(strstr(e.message, cases[c].part) != NULL, "case %zu: \"%s\"", c,
                      e.message);
        ck_assert_ptr_null(h.epochs);
        ck_assert_int_eq(soma_mlp_get_params(m, &p1, NULL), SOMA_OK);
        ck_assert_mem_eq(p0.data, p1.data, p0.cols * sizeof(double));
    }
    /* Class weights on a regression model. */
    const size_t sizes[2] = {3, 1};
    soma_mlp_spec rs = soma_mlp_spec_default();
    rs.output = SOMA_ACTIVATION_IDENTITY;
    rs.loss = SOMA_LOSS_MSE;
    soma_mlp *reg;
    ck_assert_int_eq(soma_mlp_create(&reg, sizes, 2, &rs, NULL, NULL), SOMA_OK);
    soma_fit_options o = soma_fit_options_adam(1);
    o.class_weight = ok_cw;
    soma_error_info e;
    ck_assert_int_eq(soma_mlp_fit(reg, &X, &y, &o, NULL, &e), SOMA_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.message, "regression"));
    soma_mlp_destroy(reg);
    soma_matrix *all[] = {&X, &y, &Xv, &yv, &w, &zero, &short_w, &p0, &p1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
    soma_mlp_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("weights");
    TCase *tc = tcase_create("weights");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, weighted_gradient_matches_finite_differences);
    tcase_add_test(tc, integer_weights_equal_duplicated_rows);
    tcase_add_test(tc, balanced_class_weights_raise_minority_recall);
    tcase_add_test(tc, validation_uses_the_same_weighting);
    tcase_add_test(tc, bad_weights_are_refused);
    suite_add_tcase(s, tc);
    return test_run(s);
}
