#include "test_common.h"

/* A 3 x 4 matrix stored with ld = 6; the two padding columns hold a
 * sentinel that no operation may touch. */
#define PAD_SENTINEL -777.0
static double padded_buf[3 * 6];
static soma_matrix padded(void)
{
    for (size_t i = 0; i < 18; i++)
        padded_buf[i] = (i % 6) < 4 ? (double)(i / 6 * 10 + i % 6) : PAD_SENTINEL;
    soma_matrix m;
    ck_assert_int_eq(soma_matrix_view(&m, padded_buf, 3, 4, 6), SOMA_OK);
    return m;
}
static void assert_padding_intact(void)
{
    for (size_t i = 0; i < 18; i++)
        if (i % 6 >= 4)
            ck_assert_double_eq(padded_buf[i], PAD_SENTINEL);
}

START_TEST(init_is_zeroed_aligned_and_owned)
{
    soma_matrix m;
    ck_assert_int_eq(soma_matrix_init(&m, 5, 7, NULL), SOMA_OK);
    ck_assert_uint_eq(m.rows, 5);
    ck_assert_uint_eq(m.cols, 7);
    ck_assert_uint_eq(m.ld, 7);
    ck_assert(m.owner);
    ck_assert_uint_eq((uintptr_t)m.data % 64, 0);
    for (size_t i = 0; i < 35; i++)
        ck_assert_double_eq(m.data[i], 0.0);
    soma_matrix_free(&m);
    ck_assert_ptr_null(m.data);
    ck_assert_uint_eq(m.rows, 0);
    ck_assert(!m.owner);
    soma_matrix_free(&m); /* freeing twice is harmless */
    soma_matrix_free(NULL);
}
END_TEST

START_TEST(init_goes_through_allocator)
{
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_matrix m;
    ck_assert_int_eq(soma_matrix_init(&m, 3, 4, &a), SOMA_OK);
    ck_assert_uint_eq(t.allocs, 1);
    ck_assert_uint_eq(t.live_bytes, 3 * 4 * sizeof(double));
    soma_matrix_free(&m);
    ck_assert_uint_eq(t.frees, 1);
    ck_assert_uint_eq(t.live_bytes, 0);
}
END_TEST

START_TEST(init_failure_leaves_struct_untouched)
{
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    t.fail_at = 1;
    soma_matrix m;
    memset(&m, 0xAB, sizeof m);
    soma_matrix before = m;
    ck_assert_int_eq(soma_matrix_init(&m, 3, 4, &a), SOMA_ENOMEM);
    ck_assert_mem_eq(&m, &before, sizeof m);

    ck_assert_int_eq(soma_matrix_init(&m, SIZE_MAX / 2, 4, NULL), SOMA_EOVERFLOW);
    ck_assert_int_eq(soma_matrix_init(&m, SIZE_MAX / 8 + 1, 1, NULL), SOMA_EOVERFLOW);
    ck_assert_mem_eq(&m, &before, sizeof m);

    soma_allocator half = {test_alloc_fn, NULL, &t};
    ck_assert_int_eq(soma_matrix_init(&m, 3, 4, &half), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_init(NULL, 3, 4, NULL), SOMA_EINVAL);
    ck_assert_mem_eq(&m, &before, sizeof m);
}
END_TEST

START_TEST(empty_matrices_are_legal)
{
    soma_matrix m, e;
    ck_assert_int_eq(soma_matrix_init(&m, 0, 5, NULL), SOMA_OK);
    ck_assert_ptr_null(m.data);
    ck_assert_int_eq(soma_matrix_fill(&m, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_scale(&m, 2.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_dup(&m, &e, NULL), SOMA_OK);
    ck_assert_uint_eq(e.rows, 0);
    ck_assert_uint_eq(e.cols, 5);
    soma_matrix_free(&e);
    soma_matrix_free(&m);
}
END_TEST

START_TEST(view_checks_and_never_frees)
{
    double buf[12];
    soma_matrix v;
    ck_assert_int_eq(soma_matrix_view(&v, buf, 3, 4, 3), SOMA_EINVAL); /* ld < cols */
    ck_assert_int_eq(soma_matrix_view(&v, NULL, 3, 4, 4), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_view(NULL, buf, 3, 4, 4), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_view(&v, buf, SIZE_MAX, 4, SIZE_MAX / 2),
                     SOMA_EOVERFLOW);
    ck_assert_int_eq(soma_matrix_view(&v, NULL, 0, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&v, buf, 3, 4, 4), SOMA_OK);
    ck_assert(!v.owner);
    ck_assert_ptr_eq(v.data, buf);

    /* Freeing a view of an owned matrix releases nothing. */
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_matrix m, rows;
    ck_assert_int_eq(soma_matrix_init(&m, 4, 2, &a), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view_rows(&rows, &m, 1, 2), SOMA_OK);
    soma_matrix_free(&rows);
    ck_assert_uint_eq(t.frees, 0);
    ck_assert_int_eq(soma_matrix_set(&m, 3, 1, 5.0), SOMA_OK); /* still usable */
    soma_matrix_free(&m);
    ck_assert_uint_eq(t.frees, 1);
}
END_TEST

START_TEST(view_rows_aliases_source)
{
    soma_matrix m = padded(), v;
    ck_assert_int_eq(soma_matrix_view_rows(&v, &m, 1, 2), SOMA_OK);
    ck_assert_uint_eq(v.rows, 2);
    ck_assert_uint_eq(v.cols, 4);
    ck_assert_uint_eq(v.ld, 6);
    ck_assert_ptr_eq(v.data, padded_buf + 6);
    ck_assert_int_eq(soma_matrix_set(&v, 1, 3, 99.0), SOMA_OK);
    ck_assert_double_eq(padded_buf[2 * 6 + 3], 99.0);

    ck_assert_int_eq(soma_matrix_view_rows(&v, &m, 3, 0), SOMA_OK); /* empty tail */
    ck_assert_uint_eq(v.rows, 0);
    soma_matrix before = v;
    ck_assert_int_eq(soma_matrix_view_rows(&v, &m, 2, 2), SOMA_EDIM);
    ck_assert_int_eq(soma_matrix_view_rows(&v, &m, 4, 0), SOMA_EDIM);
    ck_assert_int_eq(soma_matrix_view_rows(&v, &m, SIZE_MAX, 2), SOMA_EDIM);
    ck_assert_int_eq(soma_matrix_view_rows(&v, NULL, 0, 1), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_view_rows(NULL, &m, 0, 1), SOMA_EINVAL);
    /* Field by field: the padding bytes of a view are unspecified. */
    ck_assert(v.rows == before.rows && v.cols == before.cols && v.ld == before.ld &&
              v.data == before.data && v.owner == before.owner);
    assert_padding_intact();
}
END_TEST

START_TEST(dup_and_copy_respect_ld)
{
    soma_matrix m = padded(), d, c;
    ck_assert_int_eq(soma_matrix_dup(&m, &d, NULL), SOMA_OK);
    ck_assert_uint_eq(d.ld, 4);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            ck_assert_double_eq(*soma_matrix_at(&d, i, j), (double)(i * 10 + j));

    ck_assert_int_eq(soma_matrix_init(&c, 3, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&d, 1.5), SOMA_OK);
    ck_assert_int_eq(soma_matrix_copy(&d, &m), SOMA_OK);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            ck_assert_double_eq(*soma_matrix_at(&m, i, j), 1.5);
    assert_padding_intact();

    soma_matrix wrong;
    ck_assert_int_eq(soma_matrix_init(&wrong, 4, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_copy(&c, &wrong), SOMA_EDIM);
    for (size_t i = 0; i < 12; i++)
        ck_assert_double_eq(wrong.data[i], 0.0);

    /* Overlapping but distinct storage is refused. */
    double buf[10] = {0};
    soma_matrix a, b;
    ck_assert_int_eq(soma_matrix_view(&a, buf, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&b, buf + 2, 2, 4, 4), SOMA_OK);
    ck_assert_int_eq(soma_matrix_copy(&a, &b), SOMA_EALIAS);
    ck_assert_int_eq(soma_matrix_copy(&a, &a), SOMA_OK);
    ck_assert_int_eq(soma_matrix_copy(NULL, &a), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_copy(&a, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_dup(NULL, &a, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_dup(&a, NULL, NULL), SOMA_EINVAL);

    soma_matrix_free(&wrong);
    soma_matrix_free(&c);
    soma_matrix_free(&d);
}
END_TEST

START_TEST(transpose_and_access)
{
    soma_matrix m = padded(), t;
    ck_assert_int_eq(soma_matrix_init(&t, 4, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_transpose(&m, &t), SOMA_OK);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++) {
            double v;
            ck_assert_int_eq(soma_matrix_get(&t, j, i, &v), SOMA_OK);
            ck_assert_double_eq(v, (double)(i * 10 + j));
        }
    ck_assert_int_eq(soma_matrix_transpose(&m, &m), SOMA_EDIM);
    ck_assert_int_eq(soma_matrix_transpose(&t, &m), SOMA_OK); /* back */
    assert_padding_intact();

    double v = 42.0;
    ck_assert_int_eq(soma_matrix_get(&m, 3, 0, &v), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_get(&m, 0, 4, &v), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_get(&m, 0, 0, NULL), SOMA_EINVAL);
    ck_assert_double_eq(v, 42.0);
    ck_assert_int_eq(soma_matrix_set(&m, 0, 4, 1.0), SOMA_EINVAL);
    assert_padding_intact();

    /* A square transpose onto itself overlaps. */
    soma_matrix sq;
    ck_assert_int_eq(soma_matrix_init(&sq, 2, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_transpose(&sq, &sq), SOMA_EALIAS);
    soma_matrix_free(&sq);
    soma_matrix_free(&t);
}
END_TEST

START_TEST(row_and_column_helpers)
{
    soma_matrix m = padded(), row, sums;
    ck_assert_int_eq(soma_matrix_init(&row, 1, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&sums, 1, 4, NULL), SOMA_OK);
    for (size_t j = 0; j < 4; j++)
        row.data[j] = 100.0 * (double)(j + 1);
    ck_assert_int_eq(soma_matrix_add_row(&m, &row), SOMA_OK);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 4; j++)
            ck_assert_double_eq(*soma_matrix_at(&m, i, j),
                                (double)(i * 10 + j) + 100.0 * (double)(j + 1));
    assert_padding_intact();

    /* Column j sums to (0+10+20) + 3j + 300(j+1); halved by alpha. */
    ck_assert_int_eq(soma_matrix_col_sums(&m, 0.5, &sums), SOMA_OK);
    for (size_t j = 0; j < 4; j++)
        ck_assert_double_eq(sums.data[j],
                            0.5 * (30.0 + 3.0 * (double)j + 300.0 * (double)(j + 1)));

    soma_matrix bad;
    ck_assert_int_eq(soma_matrix_init(&bad, 1, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_add_row(&m, &bad), SOMA_EDIM);
    ck_assert_int_eq(soma_matrix_col_sums(&m, 1.0, &bad), SOMA_EDIM);
    ck_assert_int_eq(soma_matrix_add_row(&m, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_col_sums(NULL, 1.0, &sums), SOMA_EINVAL);
    for (size_t j = 0; j < 3; j++)
        ck_assert_double_eq(bad.data[j], 0.0);
    soma_matrix_free(&bad);
    soma_matrix_free(&sums);
    soma_matrix_free(&row);
}
END_TEST

START_TEST(scale_axpy_finite)
{
    soma_matrix m = padded(), o;
    ck_assert_int_eq(soma_matrix_scale(&m, -2.0), SOMA_OK);
    ck_assert_double_eq(*soma_matrix_at(&m, 2, 3), -46.0);
    assert_padding_intact();

    ck_assert_int_eq(soma_matrix_init(&o, 3, 4, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&o, 1.0), SOMA_OK);
    ck_assert_int_eq(soma_matrix_axpy(3.0, &o, &m), SOMA_OK); /* m += 3 */
    ck_assert_double_eq(*soma_matrix_at(&m, 2, 3), -43.0);
    ck_assert_int_eq(soma_matrix_axpy(1.0, &m, &m), SOMA_OK); /* m doubles */
    ck_assert_double_eq(*soma_matrix_at(&m, 2, 3), -86.0);
    assert_padding_intact();

    soma_matrix t;
    ck_assert_int_eq(soma_matrix_init(&t, 4, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_axpy(1.0, &t, &m), SOMA_EDIM);

    ck_assert_int_eq(soma_matrix_check_finite(&m), SOMA_OK); /* sentinel is finite */
    padded_buf[4] = NAN; /* padding: not an element */
    ck_assert_int_eq(soma_matrix_check_finite(&m), SOMA_OK);
    padded_buf[4] = PAD_SENTINEL;
    *soma_matrix_at(&m, 1, 2) = INFINITY;
    ck_assert_int_eq(soma_matrix_check_finite(&m), SOMA_ENONFINITE);
    *soma_matrix_at(&m, 1, 2) = -NAN;
    ck_assert_int_eq(soma_matrix_check_finite(&m), SOMA_ENONFINITE);
    ck_assert_int_eq(soma_matrix_check_finite(NULL), SOMA_EINVAL);
    soma_matrix_free(&t);
    soma_matrix_free(&o);
}
END_TEST

START_TEST(invalid_matrices_are_rejected)
{
    double buf[4] = {1, 2, 3, 4};
    soma_matrix bad = {2, 2, 1, buf, false, {0}}; /* ld < cols */
    soma_matrix nul = {2, 2, 2, NULL, false, {0}};
    soma_matrix ok;
    ck_assert_int_eq(soma_matrix_init(&ok, 2, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&bad, 0.0), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_fill(&nul, 0.0), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_scale(&bad, 0.0), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_copy(&bad, &ok), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_copy(&ok, &bad), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_axpy(1.0, &nul, &ok), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_transpose(&ok, &bad), SOMA_EINVAL);
    ck_assert_int_eq(soma_matrix_fill(NULL, 0.0), SOMA_EINVAL);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(buf[i], (double)(i + 1));
    soma_matrix_free(&ok);
}
END_TEST

START_TEST(status_strings)
{
    for (int s = 0; s < SOMA_STATUS_COUNT; s++) {
        const char *text = soma_status_string((soma_status)s);
        ck_assert_ptr_nonnull(text);
        ck_assert_str_ne(text, "unknown status");
        for (int t = 0; t < s; t++)
            ck_assert_str_ne(text, soma_status_string((soma_status)t));
    }
    ck_assert_str_eq(soma_status_string(SOMA_STATUS_COUNT), "unknown status");
    ck_assert_str_eq(soma_status_string((soma_status)-1), "unknown status");
    ck_assert_str_eq(soma_version_string(), SOMA_VERSION_STRING);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("matrix");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, init_is_zeroed_aligned_and_owned);
    tcase_add_test(tc, init_goes_through_allocator);
    tcase_add_test(tc, init_failure_leaves_struct_untouched);
    tcase_add_test(tc, empty_matrices_are_legal);
    tcase_add_test(tc, view_checks_and_never_frees);
    tcase_add_test(tc, view_rows_aliases_source);
    tcase_add_test(tc, dup_and_copy_respect_ld);
    tcase_add_test(tc, transpose_and_access);
    tcase_add_test(tc, row_and_column_helpers);
    tcase_add_test(tc, scale_axpy_finite);
    tcase_add_test(tc, invalid_matrices_are_rejected);
    tcase_add_test(tc, status_strings);
    suite_add_tcase(s, tc);
    return test_run(s);
}
