#include "test_common.h"

/* Wrap a static array as an n x 1 column. */
static soma_matrix col(double *v, size_t n)
{
    soma_matrix m;
    ck_assert_int_eq(soma_matrix_view(&m, v, n, 1, 1), SOMA_OK);
    return m;
}

#define TOL 1e-15

START_TEST(binary_scores_by_hand)
{
    /* t: 0 1 1 0 1 1 / p: 0 1 0 0 1 0 -> hits 4 of 6.
     * Positive 1: TP 2 (i1,i4), FP 0, FN 2 (i2,i5): P 1, R 1/2, F1 2/3.
     * Positive 0: TP 2 (i0,i3), FP 2 (i2,i5), FN 0: P 1/2, R 1, F1 2/3. */
    double t[6] = {0, 1, 1, 0, 1, 1}, p[6] = {0, 1, 0, 0, 1, 0};
    soma_matrix T = col(t, 6), P = col(p, 6);
    double acc, pr, rc, f1;
    ck_assert_int_eq(soma_accuracy(&T, &P, &acc, NULL), SOMA_OK);
    ck_assert_double_eq_tol(acc, 4.0 / 6.0, TOL);
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 1, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq(pr, 1.0);
    ck_assert_double_eq(rc, 0.5);
    ck_assert_double_eq_tol(f1, 2.0 / 3.0, TOL);
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 0, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq(pr, 0.5);
    ck_assert_double_eq(rc, 1.0);
    ck_assert_double_eq_tol(f1, 2.0 / 3.0, TOL);
    /* Only some outputs wanted. */
    double only = -1;
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 1, NULL, &only,
                                              NULL, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq(only, 0.5);

    soma_matrix cm;
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(cm.rows, 2);
    ck_assert_uint_eq(cm.cols, 2);
    /* rows true, columns predicted: [[2, 0], [2, 2]] */
    ck_assert_double_eq(cm.data[0], 2);
    ck_assert_double_eq(cm.data[1], 0);
    ck_assert_double_eq(cm.data[2], 2);
    ck_assert_double_eq(cm.data[3], 2);
    soma_matrix_free(&cm);
}
END_TEST

START_TEST(zero_division_gives_zero)
{
    /* No predicted positives: precision 0/0 -> 0; recall 0/1 = 0; F1 0. */
    double t[2] = {1, 0}, p[2] = {0, 0};
    soma_matrix T = col(t, 2), P = col(p, 2);
    double pr = -1, rc = -1, f1 = -1;
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 1, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq(pr, 0.0);
    ck_assert_double_eq(rc, 0.0);
    ck_assert_double_eq(f1, 0.0);
}
END_TEST

START_TEST(multiclass_macro_by_hand)
{
    /* (t, p): (0,0) (1,2) (2,1) (0,0) (1,0) (2,1) (0,0) (1,1) (2,2)
     * class 0: TP 3, predicted 4, true 3: P 3/4, R 1,   F1 6/7
     * class 1: TP 1, predicted 3, true 3: P 1/3, R 1/3, F1 1/3
     * class 2: TP 1, predicted 2, true 3: P 1/2, R 1/3, F1 2/5
     * macro: P 19/36, R 5/9, F1 (6/7 + 1/3 + 2/5) / 3 = 167/315. */
    double t[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2}, p[9] = {0, 2, 1, 0, 0, 1, 0, 1, 2};
    soma_matrix T = col(t, 9), P = col(p, 9);
    double acc, pr, rc, f1;
    ck_assert_int_eq(soma_accuracy(&T, &P, &acc, NULL), SOMA_OK);
    ck_assert_double_eq_tol(acc, 5.0 / 9.0, TOL);
    test_alloc ta;
    soma_allocator a = test_allocator(&ta);
    ck_assert_int_eq(
        soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_MACRO, 0, &pr, &rc, &f1, &a, NULL),
        SOMA_OK);
    ck_assert_double_eq_tol(pr, 19.0 / 36.0, TOL);
    ck_assert_double_eq_tol(rc, 5.0 / 9.0, TOL);
    ck_assert_double_eq_tol(f1, 167.0 / 315.0, TOL);
    ck_assert_uint_eq(ta.allocs, 1);
    ck_assert_uint_eq(ta.live_bytes, 0);
    ta.fail_at = 2;
    ck_assert_int_eq(
        soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_MACRO, 0, &pr, &rc, &f1, &a, NULL),
        SOMA_ENOMEM);
    ck_assert_double_eq_tol(pr, 19.0 / 36.0, TOL);

    soma_matrix cm;
    const double expect[9] = {3, 0, 0, 1, 1, 1, 0, 2, 1};
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, &a, NULL), SOMA_OK);
    ck_assert_uint_eq(cm.rows, 3);
    for (size_t i = 0; i < 9; i++)
        ck_assert_double_eq(cm.data[i], expect[i]);
    soma_matrix_free(&cm);
    /* An explicit larger k pads with zero rows and columns. */
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 4, &cm, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(cm.rows, 4);
    ck_assert_double_eq(cm.data[1 * 4 + 2], 1);
    ck_assert_double_eq(cm.data[3 * 4 + 3], 0);
    soma_matrix_free(&cm);
    ck_assert_uint_eq(ta.live_bytes, 0);
}
END_TEST

START_TEST(macro_skips_absent_classes)
{
    /* Labels {0, 2}; class 1 never occurs and is not averaged in.
     * class 0: TP 1, predicted 1, true 2: P 1, R 1/2, F1 2/3
     * class 2: TP 2, predicted 3, true 2: P 2/3, R 1, F1 4/5
     * macro: P 5/6, R 3/4, F1 11/15. */
    double t[4] = {0, 2, 0, 2}, p[4] = {0, 2, 2, 2};
    soma_matrix T = col(t, 4), P = col(p, 4);
    double pr, rc, f1;
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_MACRO, 0, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_OK);
    ck_assert_double_eq_tol(pr, 5.0 / 6.0, TOL);
    ck_assert_double_eq_tol(rc, 0.75, TOL);
    ck_assert_double_eq_tol(f1, 11.0 / 15.0, TOL);
}
END_TEST

START_TEST(strided_columns)
{
    /* Columns 0 (truth) and 2 (prediction) of a 4 x 3 block: ld = 3. */
    double buf[12] = {1, 9, 1, 0, 9, 1, 1, 9, 0, 0, 9, 0};
    soma_matrix T, P;
    ck_assert_int_eq(soma_matrix_view(&T, buf, 4, 1, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&P, buf + 2, 4, 1, 3), SOMA_OK);
    double acc;
    ck_assert_int_eq(soma_accuracy(&T, &P, &acc, NULL), SOMA_OK);
    ck_assert_double_eq(acc, 0.5);
}
END_TEST

START_TEST(log_loss_by_hand)
{
    /* scikit-learn's documented example: labels 1 0 0 1 with
     * P = [.1 .9], [.9 .1], [.8 .2], [.35 .65]:
     * -(log .9 + log .9 + log .8 + log .65) / 4 = 0.21616... */
    double t[4] = {1, 0, 0, 1};
    double P2[8] = {.1, .9, .9, .1, .8, .2, .35, .65};
    double P1[4] = {.9, .1, .2, .65};
    soma_matrix T = col(t, 4), M2, M1;
    ck_assert_int_eq(soma_matrix_view(&M2, P2, 4, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&M1, P1, 4, 1, 1), SOMA_OK);
    const double expect = -(log(.9) + log(.9) + log(.8) + log(.65)) / 4.0;
    double v;
    ck_assert_int_eq(soma_log_loss(&T, &M2, 0.0, &v, NULL), SOMA_OK);
    ck_assert_double_eq_tol(v, expect, 1e-15);
    ck_assert_double_eq_tol(v, 0.21616, 1e-5);
    ck_assert_int_eq(soma_log_loss(&T, &M1, 0.0, &v, NULL), SOMA_OK);
    ck_assert_double_eq_tol(v, expect, 1e-15);

    /* Clipping: p = 0 for the true class costs -log(eps). */
    double t0[1] = {0}, pz[2] = {0.0, 1.0}, pb[1] = {1.0};
    soma_matrix T0 = col(t0, 1), Z, B;
    ck_assert_int_eq(soma_matrix_view(&Z, pz, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&B, pb, 1, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_log_loss(&T0, &Z, 1e-15, &v, NULL), SOMA_OK);
    ck_assert_double_eq_tol(v, -log(1e-15), 1e-12);
    ck_assert_int_eq(soma_log_loss(&T0, &Z, 0.0, &v, NULL), SOMA_OK);
    ck_assert_double_eq_tol(v, -log(DBL_EPSILON), 1e-12);
    pz[0] = 1e-20; /* below eps: clipped up to it */
    pz[1] = 1.0 - 1e-20;
    ck_assert_int_eq(soma_log_loss(&T0, &Z, 1e-15, &v, NULL), SOMA_OK);
    ck_assert_double_eq_tol(v, -log(1e-15), 1e-12);
    ck_assert_int_eq(soma_log_loss(&T0, &B, 1e-15, &v, NULL), SOMA_OK); /* p(1)=1, y=0 */
    ck_assert_double_eq_tol(v, -log(1e-15), 1e-3);
}
END_TEST

START_TEST(bad_arguments)
{
    double t[3] = {0, 1, 1}, p[3] = {0, 1, 0}, t2[2] = {0, 1};
    double wide[6] = {0, 1, 1, 0, 0, 1};
    soma_matrix T = col(t, 3), P = col(p, 3), T2 = col(t2, 2), W, E;
    ck_assert_int_eq(soma_matrix_view(&W, wide, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&E, NULL, 0, 1, 1), SOMA_OK);
    double v = 42.0, pr = 42.0, rc = 42.0, f1 = 42.0;
    soma_matrix cm = {0}, cm0 = {0};

    ck_assert_int_eq(soma_accuracy(NULL, &P, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_accuracy(&T, NULL, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_accuracy(&T, &P, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_accuracy(&E, &E, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_accuracy(&T, &T2, &v, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_accuracy(&W, &P, &v, NULL), SOMA_EINVAL);
    t[1] = NAN;
    ck_assert_int_eq(soma_accuracy(&T, &P, &v, NULL), SOMA_ENONFINITE);
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, NULL, NULL), SOMA_ENONFINITE);
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_MACRO, 0, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_ENONFINITE);
    t[1] = 1.5;
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, NULL, NULL), SOMA_EINVAL);
    t[1] = -1;
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, NULL, NULL), SOMA_EINVAL);
    t[1] = 2;
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 2, &cm, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 1, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_EINVAL); /* label 2 in binary mode */
    t[1] = 1;
    ck_assert_int_eq(soma_confusion_matrix(NULL, &P, 0, &cm, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_confusion_matrix(&T, &T2, 0, &cm, NULL, NULL), SOMA_EDIM);
    test_alloc ta;
    soma_allocator a = test_allocator(&ta);
    ta.fail_at = 1;
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, &a, NULL), SOMA_ENOMEM);
    soma_allocator half = a;
    half.alloc = NULL;
    ck_assert_int_eq(soma_confusion_matrix(&T, &P, 0, &cm, &half, NULL), SOMA_EINVAL);
    ck_assert_mem_eq(&cm, &cm0, sizeof cm);

    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 2, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(
        soma_precision_recall_f1(&T, &P, (soma_average)7, 1, &pr, &rc, &f1, NULL, NULL),
        SOMA_EINVAL);
    ck_assert_int_eq(soma_precision_recall_f1(&T, &P, SOMA_AVERAGE_BINARY, 1, NULL, NULL,
                                              NULL, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_precision_recall_f1(&T, &T2, SOMA_AVERAGE_BINARY, 1, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_EDIM);
    ck_assert_int_eq(soma_precision_recall_f1(&E, &E, SOMA_AVERAGE_BINARY, 1, &pr, &rc,
                                              &f1, NULL, NULL),
                     SOMA_EINVAL);

    /* log loss */
    double P2[6] = {0.5, 0.5, 0.2, 0.8, 1.0, 0.0};
    soma_matrix M;
    ck_assert_int_eq(soma_matrix_view(&M, P2, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.0, &v, NULL), SOMA_OK);
    v = 42.0;
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.5, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_log_loss(&T, &M, -1e-3, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_log_loss(&T, &M, NAN, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.0, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_log_loss(NULL, &M, 0.0, &v, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_log_loss(&T2, &M, 0.0, &v, NULL), SOMA_EDIM);
    P2[0] = 0.6; /* row sums to 1.1 */
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.0, &v, NULL), SOMA_EINVAL);
    P2[0] = 1.5;
    P2[1] = -0.5;
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.0, &v, NULL), SOMA_EINVAL);
    P2[0] = NAN;
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.0, &v, NULL), SOMA_ENONFINITE);
    P2[0] = 0.5;
    P2[1] = 0.5;
    t[2] = 2; /* label beyond the 2 columns */
    ck_assert_int_eq(soma_log_loss(&T, &M, 0.0, &v, NULL), SOMA_EINVAL);
    t[2] = 1;
    ck_assert_double_eq(v, 42.0);
    ck_assert_double_eq(pr, 42.0);
    ck_assert_double_eq(rc, 42.0);
    ck_assert_double_eq(f1, 42.0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, binary_scores_by_hand);
    tcase_add_test(tc, zero_division_gives_zero);
    tcase_add_test(tc, multiclass_macro_by_hand);
    tcase_add_test(tc, macro_skips_absent_classes);
    tcase_add_test(tc, strided_columns);
    tcase_add_test(tc, log_loss_by_hand);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return test_run(s);
}
