/* An outside program on soma (tests/consumers/run.sh builds it with CMake,
 * through find_package or pkg-config): one matrix product, checked
 * exactly, and the version and backend of the libsoma it runs with. */
#include <stdio.h>

#include <soma.h>

int main(void)
{
    double a[2 * 3] = {1, 2, 3, 4, 5, 6};
    double b[3 * 2] = {7, 8, 9, 10, 11, 12};
    double c[2 * 2] = {0};
    const double expect[2 * 2] = {58, 64, 139, 154}; /* small integers: exact */
    soma_matrix A, B, C;
    soma_status st = soma_matrix_view(&A, a, 2, 3, 3);
    if (st == SOMA_OK)
        st = soma_matrix_view(&B, b, 3, 2, 2);
    if (st == SOMA_OK)
        st = soma_matrix_view(&C, c, 2, 2, 2);
    if (st == SOMA_OK)
        st = soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &A, &B, 0.0, &C);
    if (st != SOMA_OK) {
        fprintf(stderr, "soma: %s\n", soma_status_string(st));
        return 1;
    }
    printf("soma %s, backend %s: A B = %g %g %g %g\n", soma_version_string(),
           soma_backend_name(), c[0], c[1], c[2], c[3]);
    for (int i = 0; i < 4; i++)
        if (c[i] != expect[i])
            return 1;
    return 0;
}
