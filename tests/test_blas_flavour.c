/* A program that loads another OpenBLAS than the one libsoma was linked
 * with: libsoma's runpath names OpenBLAS's OpenMP flavour, but this test
 * links the system's default libopenblas.so.0 (Debian: the pthreads
 * flavour) before it, and the loader, matching libraries by SONAME, keeps
 * the first one. soma must then see that the loaded BLAS has a pool of its
 * own and keep its loops on the calling thread (two pools would compete),
 * while the BLAS still follows soma_threads_set. Skipped (77) when the
 * default OpenBLAS is the OpenMP flavour. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "test_common.h"

#include "parallel.h"

static int loaded_openblas_parallel(void)
{
    /* POSIX's way to get a function pointer out of dlsym's void *. */
    int (*get)(void) = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "openblas_get_parallel");
    memcpy(&get, &sym, sizeof get);
    return get != NULL ? get() : -1;
}

START_TEST(loops_stay_serial_beside_another_pool)
{
    ck_assert_int_eq(loaded_openblas_parallel(), 1);
    int n;
    ck_assert_int_eq(soma_threads_set(2), SOMA_OK);
    ck_assert_int_eq(soma_threads_get(&n), SOMA_OK);
    ck_assert_int_eq(n, 2); /* the pthreads pool follows the setting */
    ck_assert_int_eq(soma__par_threads(SOMA__PAR_MAX_BLOCKS), 1);
    /* A pass large enough for the pool runs, serially, and right. */
    soma_matrix M, S;
    ck_assert_int_eq(soma_matrix_init(&M, 512, 512, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&S, 1, 512, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&M, 0.25), SOMA_OK);
    ck_assert_int_eq(soma_matrix_col_sums(&M, 1.0, &S), SOMA_OK);
    for (size_t j = 0; j < 512; j++)
        ck_assert_double_eq(S.data[j], 128.0);
    ck_assert_int_eq(soma_matrix_check_finite(&M), SOMA_OK);
    soma_matrix_free(&S);
    soma_matrix_free(&M);
    ck_assert_int_eq(soma_threads_set(0), SOMA_OK);
}
END_TEST

int main(void)
{
    const int flavour = loaded_openblas_parallel();
    if (flavour != 1) {
        printf("the default libopenblas.so.0 is not the pthreads flavour (%d): skipped\n",
               flavour);
        return 77;
    }
    Suite *s = suite_create("blas-flavour");
    TCase *tc = tcase_create("blas-flavour");
    tcase_add_test(tc, loops_stay_serial_beside_another_pool);
    suite_add_tcase(s, tc);
    return test_run(s);
}
