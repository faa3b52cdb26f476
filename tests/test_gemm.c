#include <float.h>

#include "test_common.h"

#ifndef EXPECT_BACKEND
#error "EXPECT_BACKEND must name the backend this test is built against"
#endif

/* Element of op(X) at (i, j). */
static double op_at(const soma_matrix *x, bool t, size_t i, size_t j)
{
    return t ? *soma_matrix_at(x, j, i) : *soma_matrix_at(x, i, j);
}

/*
 * Check C_out against alpha op(A) op(B) + beta C_in computed in long double.
 * Bound (Higham, Accuracy and Stability, 3.5): a dot product of length k in
 * double has |error| <= gamma_k * sum |a_ip b_pj| with gamma_k = k u / (1 -
 * k u), u = 2^-53; the scaling by alpha and the beta term add at most two
 * more roundings. We allow (k + 2) u (1 + 1e-3) times the absolute sum, so a
 * single wrong product term (error ~ |a b|, far above k u |a b|) fails.
 */
static void check_against_reference(bool ta, bool tb, double alpha, const soma_matrix *A,
                                    const soma_matrix *B, double beta,
                                    const soma_matrix *C_in, const soma_matrix *C_out)
{
    const size_t m = C_out->rows, n = C_out->cols, k = ta ? A->rows : A->cols;
    const double u = DBL_EPSILON / 2;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            long double sum = 0, abs_sum = 0;
            for (size_t p = 0; p < k; p++) {
                long double t = (long double)op_at(A, ta, i, p) * op_at(B, tb, p, j);
                sum += t;
                abs_sum += fabsl(t);
            }
            double c0 = *soma_matrix_at(C_in, i, j);
            long double ref = alpha * sum + (beta == 0.0 ? 0.0L : (long double)beta * c0);
            long double scale = fabs(alpha) * abs_sum + fabs(beta) * fabs(c0);
            long double tol = (long double)(k + 2) * u * 1.001L * scale;
            long double err = fabsl((long double)*soma_matrix_at(C_out, i, j) - ref);
            ck_assert_msg(err <= tol, "C(%zu,%zu) error %Lg > bound %Lg (k=%zu)", i, j,
                          err, tol, k);
        }
    }
}

/* Allocate an r x c matrix stored with ld = c + pad, filled from seed. */
static void random_padded(soma_matrix *storage, soma_matrix *view, size_t r, size_t c,
                          size_t pad, uint64_t seed)
{
    ck_assert_int_eq(soma_matrix_init(storage, r, c + pad, NULL), SOMA_OK);
    test_fill_random(storage, seed);
    ck_assert_int_eq(soma_matrix_view(view, storage->data, r, c, c + pad), SOMA_OK);
}

static void run_case(bool ta, bool tb, size_t m, size_t n, size_t k, size_t pad,
                     double alpha, double beta, uint64_t seed)
{
    soma_matrix As, Bs, Cs, A, B, C, C0;
    random_padded(&As, &A, ta ? k : m, ta ? m : k, pad, seed);
    random_padded(&Bs, &B, tb ? n : k, tb ? k : n, pad, seed + 1);
    random_padded(&Cs, &C, m, n, pad, seed + 2);
    ck_assert_int_eq(soma_matrix_dup(&C, &C0, NULL), SOMA_OK);
    /* Remember C's padding so we can prove it is not written. */
    soma_matrix pad_before;
    ck_assert_int_eq(soma_matrix_dup(&Cs, &pad_before, NULL), SOMA_OK);

    ck_assert_int_eq(soma_gemm(ta ? SOMA_TRANS_YES : SOMA_TRANS_NO,
                               tb ? SOMA_TRANS_YES : SOMA_TRANS_NO, alpha, &A, &B, beta,
                               &C),
                     SOMA_OK);
    check_against_reference(ta, tb, alpha, &A, &B, beta, &C0, &C);
    for (size_t i = 0; i < m; i++)
        for (size_t j = n; j < n + pad; j++)
            ck_assert_double_eq(*soma_matrix_at(&Cs, i, j),
                                *soma_matrix_at(&pad_before, i, j));
    soma_matrix_free(&pad_before);
    soma_matrix_free(&C0);
    soma_matrix_free(&Cs);
    soma_matrix_free(&Bs);
    soma_matrix_free(&As);
}

START_TEST(all_transpose_combinations)
{
    /* _i encodes (ta, tb); shapes are non-square and padded. */
    const bool ta = _i & 1, tb = (_i >> 1) & 1;
    /* Besides odd sizes: the tiles of the BLAS build's small-product kernel
     * (4 x 8, 4 x 4 and 1 x 32 blocks of C, their leftovers, odd and even
     * k), op(B) = B^T small enough to be copied (k n <= 2048) or not, and
     * W1's and a single row's shapes. */
    const size_t shapes[][3] = {{1, 1, 1},   {7, 5, 3},    {3, 9, 17},    {33, 1, 20},
                                {1, 40, 31}, {64, 64, 64}, {130, 70, 90}, {300, 4, 2},
                                {4, 4, 300}, {300, 1, 4},  {1, 73, 64},   {6, 12, 45}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        run_case(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0, 1.0, 0.0, 10 + s);
        run_case(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 3, -0.75, 1.5, 20 + s);
    }
}
END_TEST

START_TEST(alpha_beta_cases)
{
    const double ab[][2] = {{1, 0}, {1, 1}, {2.5, -1}, {-1, 0.5}, {0.125, 2}};
    for (size_t c = 0; c < sizeof ab / sizeof ab[0]; c++)
        run_case(false, false, 11, 13, 17, 2, ab[c][0], ab[c][1], 100 + c);
}
END_TEST

START_TEST(small_integers_are_exact)
{
    /* Entries in [-8, 8], k <= 96: every partial sum is an integer below 2^53,
     * so any summation order gives the exact result. */
    const size_t m = 9, n = 11, k = 96;
    soma_matrix A, B, C;
    ck_assert_int_eq(soma_matrix_init(&A, m, k, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&B, k, n, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&C, m, n, NULL), SOMA_OK);
    for (size_t i = 0; i < m * k; i++)
        A.data[i] = (double)((int)((i * 7 + 3) % 17) - 8);
    for (size_t i = 0; i < k * n; i++)
        B.data[i] = (double)((int)((i * 5 + 1) % 17) - 8);
    ck_assert_int_eq(soma_matrix_fill(&C, 3.0), SOMA_OK);
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 2.0, &A, &B, -1.0, &C),
                     SOMA_OK);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long long s = 0;
            for (size_t p = 0; p < k; p++)
                s += (long long)A.data[i * k + p] * (long long)B.data[p * n + j];
            ck_assert_double_eq(C.data[i * n + j], (double)(2 * s - 3));
        }
    soma_matrix_free(&C);
    soma_matrix_free(&B);
    soma_matrix_free(&A);
}
END_TEST

START_TEST(beta_zero_ignores_nan_in_c)
{
    soma_matrix A, B, C;
    ck_assert_int_eq(soma_matrix_init(&A, 4, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&B, 3, 5, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&C, 4, 5, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&A, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&B, 2.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&C, NAN), SOMA_OK);
    C.data[7] = INFINITY;
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &A, &B, 0.0, &C),
                     SOMA_OK);
    for (size_t i = 0; i < 20; i++)
        ck_assert_double_eq(C.data[i], 6.0);
    soma_matrix_free(&C);
    soma_matrix_free(&B);
    soma_matrix_free(&A);
}
END_TEST

START_TEST(alpha_zero_and_k_zero_scale_c)
{
    soma_matrix A, B, C, Ak, Bk;
    ck_assert_int_eq(soma_matrix_init(&A, 2, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&B, 3, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&C, 2, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&A, NAN), SOMA_OK); /* must not be read */
    ck_assert_int_eq(soma_matrix_fill(&B, NAN), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&C, 4.0), SOMA_OK);
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 0.0, &A, &B, 0.5, &C),
                     SOMA_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(C.data[i], 2.0);

    /* k == 0: A is 2 x 0 and B is 0 x 2. */
    ck_assert_int_eq(soma_matrix_init(&Ak, 2, 0, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Bk, 0, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &Ak, &Bk, 3.0, &C),
                     SOMA_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(C.data[i], 6.0);
    C.data[1] = NAN;
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &Ak, &Bk, 0.0, &C),
                     SOMA_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(C.data[i], 0.0);
    soma_matrix_free(&Bk);
    soma_matrix_free(&Ak);
    soma_matrix_free(&C);
    soma_matrix_free(&B);
    soma_matrix_free(&A);
}
END_TEST

START_TEST(empty_output_is_untouched)
{
    /* m == 0 and n == 0: legal, nothing read or written. */
    double a[6] = {1, 2, 3, 4, 5, 6}, sentinel = 9.0;
    soma_matrix A0, B, C0, A, B0, C1;
    ck_assert_int_eq(soma_matrix_view(&A0, NULL, 0, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&B, a, 3, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&C0, NULL, 0, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &A0, &B, 0.0, &C0),
                     SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&A, a, 2, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&B0, NULL, 3, 0, 0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&C1, &sentinel, 2, 0, 0), SOMA_OK);
    ck_assert_int_eq(soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &A, &B0, 0.0, &C1),
                     SOMA_OK);
    ck_assert_double_eq(sentinel, 9.0);
}
END_TEST

START_TEST(bad_arguments_leave_c_untouched)
{
    soma_matrix A, B, C, bad;
    ck_assert_int_eq(soma_matrix_init(&A, 3, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&B, 4, 5, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&C, 3, 5, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&A, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&B, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&C, 7.0), SOMA_OK);
    const soma_trans N = SOMA_TRANS_NO, T = SOMA_TRANS_YES;

    ck_assert_int_eq(soma_gemm(T, N, 1.0, &A, &B, 0.0, &C), SOMA_EDIM);
    ck_assert_int_eq(soma_gemm(N, T, 1.0, &A, &B, 0.0, &C), SOMA_EDIM);
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &B, &A, 0.0, &C), SOMA_EDIM);
    ck_assert_int_eq(soma_gemm(N, N, 1.0, NULL, &B, 0.0, &C), SOMA_EINVAL);
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &A, NULL, 0.0, &C), SOMA_EINVAL);
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &A, &B, 0.0, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_gemm((soma_trans)2, N, 1.0, &A, &B, 0.0, &C), SOMA_EINVAL);
    ck_assert_int_eq(soma_gemm(N, (soma_trans)-1, 1.0, &A, &B, 0.0, &C), SOMA_EINVAL);
    bad = A;
    bad.ld = 3; /* ld < cols: OpenBLAS would print and return; we refuse first */
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &bad, &B, 0.0, &C), SOMA_EINVAL);
    bad = C;
    bad.data = NULL;
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &A, &B, 0.0, &bad), SOMA_EINVAL);

    /* C aliasing an input. */
    soma_matrix sq, sub;
    ck_assert_int_eq(soma_matrix_init(&sq, 4, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&sq, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &sq, &sq, 0.0, &sq), SOMA_EALIAS);
    ck_assert_int_eq(soma_matrix_view_rows(&sub, &sq, 3, 1), SOMA_OK);
    soma_matrix row;
    ck_assert_int_eq(soma_matrix_view_rows(&row, &sq, 0, 1), SOMA_OK);
    ck_assert_int_eq(soma_gemm(N, N, 1.0, &row, &sq, 0.0, &sub), SOMA_EALIAS);
    for (size_t i = 0; i < 16; i++)
        ck_assert_double_eq(sq.data[i], 1.0);
    for (size_t i = 0; i < 15; i++)
        ck_assert_double_eq(C.data[i], 7.0);
    soma_matrix_free(&sq);
    soma_matrix_free(&C);
    soma_matrix_free(&B);
    soma_matrix_free(&A);
}
END_TEST

/*
 * A row of C computed alone has the same bits as computed among other rows,
 * for products whose op(B) has at most 2048 elements: the naive loop sums
 * each element in order, and the BLAS build sends these products to its
 * small-product kernel whatever m when op(A) = A (with op(A) = A^T, up to
 * m n k = 32768, which the batches here stay within; lib/gemm_small.c),
 * and the kernel's order of additions depends on n and k only. This is
 * what lets a predictor give a row alone the bits of a batch. _i encodes
 * (ta, tb).
 */
START_TEST(a_row_alone_has_the_bits_of_a_batch)
{
    const bool ta = _i & 1, tb = (_i >> 1) & 1;
    const size_t ns[] = {1, 3, 4, 5, 8, 12, 13, 33, 40, 64}, ks[] = {1, 2, 5, 31, 32};
    const size_t m = 9;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++) {
            const size_t n = ns[a], k = ks[b];
            ck_assert_uint_le(k * n, 2048);
            soma_matrix A, B, C, c1;
            ck_assert_int_eq(soma_matrix_init(&A, ta ? k : m, ta ? m : k, NULL), SOMA_OK);
            ck_assert_int_eq(soma_matrix_init(&B, tb ? n : k, tb ? k : n, NULL), SOMA_OK);
            ck_assert_int_eq(soma_matrix_init(&C, m, n, NULL), SOMA_OK);
            ck_assert_int_eq(soma_matrix_init(&c1, 1, n, NULL), SOMA_OK);
            test_fill_random(&A, 300 + 7 * a + b);
            test_fill_random(&B, 400 + 7 * a + b);
            const soma_trans tra = ta ? SOMA_TRANS_YES : SOMA_TRANS_NO,
                             trb = tb ? SOMA_TRANS_YES : SOMA_TRANS_NO;
            ck_assert_int_eq(soma_gemm(tra, trb, 1.0, &A, &B, 0.0, &C), SOMA_OK);
            for (size_t i = 0; i < m; i++) {
                /* Row i of op(A): a row of A, or a column of A (k x 1). */
                soma_matrix ai;
                if (ta)
                    ck_assert_int_eq(soma_matrix_view(&ai, A.data + i, k, 1, A.ld),
                                     SOMA_OK);
                else
                    ck_assert_int_eq(soma_matrix_view_rows(&ai, &A, i, 1), SOMA_OK);
                ck_assert_int_eq(soma_gemm(tra, trb, 1.0, &ai, &B, 0.0, &c1), SOMA_OK);
                ck_assert_msg(
                    memcmp(c1.data, soma_matrix_at(&C, i, 0), n * sizeof(double)) == 0,
                    "ta %d tb %d, %zu x %zu x %zu: row %zu alone differs", ta, tb, m, n,
                    k, i);
            }
            soma_matrix_free(&c1);
            soma_matrix_free(&C);
            soma_matrix_free(&B);
            soma_matrix_free(&A);
        }
}
END_TEST

START_TEST(backend_and_threads)
{
    ck_assert_str_eq(soma_backend_name(), EXPECT_BACKEND);
    ck_assert_ptr_nonnull(soma_backend_config());
    int n = -5;
    ck_assert_int_eq(soma_threads_set(-1), SOMA_EINVAL);
    ck_assert_int_eq(soma_threads_get(NULL), SOMA_EINVAL);
    soma_status st = soma_threads_get(&n);
    if (st == SOMA_ENOTSUP)
        return; /* a CBLAS other than OpenBLAS: no thread control */
    ck_assert_int_eq(st, SOMA_OK);
    const int before = n;
    ck_assert_int_ge(before, 1);
    ck_assert_int_eq(soma_threads_set(1), SOMA_OK);
    ck_assert_int_eq(soma_threads_get(&n), SOMA_OK);
    ck_assert_int_eq(n, 1);
    /* A product after changing the count, then with 2 threads, is right. */
    run_case(false, true, 50, 60, 70, 1, 1.0, 0.0, 7);
    ck_assert_int_eq(soma_threads_set(2), SOMA_OK);
    run_case(true, false, 70, 60, 130, 1, 1.0, 0.0, 8);
    ck_assert_int_eq(soma_threads_set(before), SOMA_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, all_transpose_combinations, 0, 4);
    tcase_add_test(tc, alpha_beta_cases);
    tcase_add_test(tc, small_integers_are_exact);
    tcase_add_test(tc, beta_zero_ignores_nan_in_c);
    tcase_add_test(tc, alpha_zero_and_k_zero_scale_c);
    tcase_add_test(tc, empty_output_is_untouched);
    tcase_add_test(tc, bad_arguments_leave_c_untouched);
    tcase_add_loop_test(tc, a_row_alone_has_the_bits_of_a_batch, 0, 4);
    tcase_add_test(tc, backend_and_threads);
    suite_add_tcase(s, tc);
    return test_run(s);
}
