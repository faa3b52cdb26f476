#include "test_common.h"

START_TEST(forward_by_hand)
{
    /* X = [1 2; -3 4], W = [0.5 -1 0; 2 0.25 1], b = [0.1 0.2 -10].
     * Z = X W + b = [4.6 -0.3 -8; 6.6 4.2 -6]; relu(Z) = [4.6 0 0; 6.6 4.2 0]. */
    double x[4] = {1, 2, -3, 4}, w[6] = {0.5, -1, 0, 2, 0.25, 1}, b[3] = {0.1, 0.2, -10};
    const double zr[6] = {4.6, -0.3, -8, 6.6, 4.2, -6}, ar[6] = {4.6, 0, 0, 6.6, 4.2, 0};
    soma_dense layer = {.activation = SOMA_ACTIVATION_RELU};
    soma_matrix X, Z, A;
    ck_assert_int_eq(soma_matrix_view(&X, x, 2, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&layer.W, w, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&layer.b, b, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Z, 2, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&A, 2, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &A, NULL), SOMA_OK);
    for (int i = 0; i < 6; i++) {
        ck_assert_double_eq_tol(Z.data[i], zr[i], 1e-14);
        ck_assert_double_eq_tol(A.data[i], ar[i], 1e-14);
    }
    /* Identity may run in place (A == Z). */
    layer.activation = SOMA_ACTIVATION_IDENTITY;
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &Z, NULL), SOMA_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(Z.data[i], zr[i], 1e-14);
    layer.activation = SOMA_ACTIVATION_TANH;
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &Z, NULL), SOMA_EALIAS);
    soma_matrix_free(&A);
    soma_matrix_free(&Z);
}
END_TEST

/* J(W, b, X) = (1/m) sum_ij R_ij f(X W + b)_ij for a fixed random R. */
static double objective(const soma_dense *layer, const soma_matrix *X,
                        const soma_matrix *R)
{
    soma_matrix Z, A;
    ck_assert_int_eq(soma_matrix_init(&Z, X->rows, layer->W.cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&A, X->rows, layer->W.cols, NULL), SOMA_OK);
    ck_assert_int_eq(soma_dense_forward(layer, X, &Z, &A, NULL), SOMA_OK);
    long double j = 0;
    for (size_t i = 0; i < A.rows * A.cols; i++)
        j += (long double)R->data[i] * A.data[i];
    soma_matrix_free(&A);
    soma_matrix_free(&Z);
    return (double)(j / (long double)X->rows);
}

/* Central difference of J in the element *x, step h. Truncation error is
 * O(h^2 f''') ~ 1e-12 and rounding ~ 1e-16 |J| / h ~ 1e-11 for h = 1e-5, so
 * a 1e-7 relative tolerance (on gradients of order 0.1) has a wide margin. */
static double central(const soma_dense *layer, const soma_matrix *X, const soma_matrix *R,
                      double *x)
{
    const double h = 1e-5, keep = *x;
    *x = keep + h;
    double jp = objective(layer, X, R);
    *x = keep - h;
    double jm = objective(layer, X, R);
    *x = keep;
    return (jp - jm) / (2 * h);
}

static void assert_close(double analytic, double numeric)
{
    double scale = fmax(fabs(analytic), fabs(numeric));
    ck_assert_msg(fabs(analytic - numeric) <= 1e-7 * scale + 1e-10,
                  "analytic %.12g vs numeric %.12g", analytic, numeric);
}

START_TEST(backward_matches_finite_differences)
{
    const soma_activation f = (soma_activation)_i;
    const size_t m = 5, in = 4, out = 3;
    soma_matrix X, R, Wm, bm, Z, A, dZ, dW, db, dX;
    ck_assert_int_eq(soma_matrix_init(&X, m, in, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&R, m, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Wm, in, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&bm, 1, out, NULL), SOMA_OK);
    test_fill_random(&X, 1);
    test_fill_random(&R, 2);
    test_fill_random(&Wm, 3);
    test_fill_random(&bm, 4);
    soma_dense layer = {Wm, bm, f, soma_activation_default_alpha(f)};
    ck_assert_int_eq(soma_matrix_init(&Z, m, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&A, m, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dZ, m, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dW, in, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&db, 1, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dX, m, in, NULL), SOMA_OK);
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &A, NULL), SOMA_OK);
    /* dA = R (per-row gradient of sum_j R_ij A_ij); dZ computed in place. */
    ck_assert_int_eq(soma_matrix_copy(&R, &dZ), SOMA_OK);
    ck_assert_int_eq(
        soma_dense_backward(&layer, &X, &Z, &A, &dZ, &dZ, &dW, &db, &dX, NULL), SOMA_OK);
    double norm = 0;
    for (size_t i = 0; i < in * out; i++) {
        assert_close(dW.data[i], central(&layer, &X, &R, &Wm.data[i]));
        norm += fabs(dW.data[i]);
    }
    ck_assert_double_gt(norm, 1e-3); /* not trivially zero */
    for (size_t j = 0; j < out; j++)
        assert_close(db.data[j], central(&layer, &X, &R, &bm.data[j]));
    /* dX is the per-row gradient: divide by m to compare with J's. */
    for (size_t i = 0; i < m * in; i++)
        assert_close(dX.data[i] / (double)m, central(&layer, &X, &R, &X.data[i]));

    /* backward_dz from the dZ just computed gives the same dW. */
    soma_matrix dW2;
    ck_assert_int_eq(soma_matrix_init(&dW2, in, out, NULL), SOMA_OK);
    ck_assert_int_eq(soma_dense_backward_dz(&layer, &X, &dZ, &dW2, &db, NULL, NULL),
                     SOMA_OK);
    ck_assert_mem_eq(dW.data, dW2.data, in * out * sizeof(double));
    soma_matrix *all[] = {&X, &R, &Wm, &bm, &Z, &A, &dZ, &dW, &db, &dX, &dW2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
}
END_TEST

START_TEST(bad_arguments_write_nothing)
{
    soma_matrix X, Z, A, W, b, wrong, dW, db;
    ck_assert_int_eq(soma_matrix_init(&X, 3, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&W, 2, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&b, 1, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Z, 3, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&A, 3, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&wrong, 3, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&dW, 2, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&db, 1, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&Z, 7.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&dW, 7.0), SOMA_OK);
    soma_dense layer = {W, b, SOMA_ACTIVATION_SIGMOID, 0.0};

    ck_assert_int_eq(soma_dense_forward(NULL, &X, &Z, &A, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_dense_forward(&layer, NULL, &Z, &A, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_dense_forward(&layer, &X, NULL, &A, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &wrong, &A, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_dense_forward(&layer, &Z, &Z, &A, NULL), SOMA_EDIM);
    layer.activation = (soma_activation)77;
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &A, NULL), SOMA_EINVAL);
    layer.activation = SOMA_ACTIVATION_ELU;
    layer.alpha = NAN;
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &A, NULL), SOMA_EINVAL);
    layer.alpha = 1.0;
    layer.b = wrong;
    ck_assert_int_eq(soma_dense_forward(&layer, &X, &Z, &A, NULL), SOMA_EDIM);
    layer.b = b;
    /* Z overlapping W. */
    soma_matrix over;
    ck_assert_int_eq(soma_matrix_view(&over, W.data, 2, 4, 4), SOMA_OK);
    soma_matrix x2, a2;
    ck_assert_int_eq(soma_matrix_view(&x2, X.data, 2, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&a2, A.data, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_dense_forward(&layer, &x2, &over, &a2, NULL), SOMA_EALIAS);
    for (size_t i = 0; i < 12; i++)
        ck_assert_double_eq(Z.data[i], 7.0);

    ck_assert_int_eq(soma_dense_backward_dz(&layer, &X, &wrong, &dW, &db, NULL, NULL),
                     SOMA_EDIM);
    ck_assert_int_eq(soma_dense_backward_dz(&layer, &X, &Z, &W, &db, NULL, NULL),
                     SOMA_EALIAS);
    ck_assert_int_eq(soma_dense_backward_dz(&layer, &X, &Z, &dW, NULL, NULL, NULL),
                     SOMA_EINVAL);
    ck_assert_int_eq(
        soma_dense_backward(&layer, &X, &Z, &A, &A, &Z, &dW, &db, NULL, NULL),
        SOMA_EALIAS);
    for (size_t i = 0; i < 8; i++)
        ck_assert_double_eq(dW.data[i], 7.0);
    for (size_t i = 0; i < 12; i++)
        ck_assert_double_eq(Z.data[i], 7.0);
    soma_matrix *all[] = {&X, &Z, &A, &W, &b, &wrong, &dW, &db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dense");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, forward_by_hand);
    tcase_add_loop_test(tc, backward_matches_finite_differences, 0,
                        SOMA_ACTIVATION_COUNT);
    tcase_add_test(tc, bad_arguments_write_nothing);
    suite_add_tcase(s, tc);
    return test_run(s);
}
