/* The shortest real soma program: multiply two matrices through soma_gemm
 * and print the backend that did it. Build: cc quickstart.c $(pkg-config
 * --cflags --libs soma) */
#include <stdio.h>

#include <soma.h>

int main(void)
{
    double a[2 * 3] = {1, 2, 3, 4, 5, 6};
    double b[3 * 2] = {7, 8, 9, 10, 11, 12};
    soma_matrix A, B, C;
    soma_status st = soma_matrix_view(&A, a, 2, 3, 3);
    if (st == SOMA_OK)
        st = soma_matrix_view(&B, b, 3, 2, 2);
    if (st == SOMA_OK)
        st = soma_matrix_init(&C, 2, 2, NULL);
    if (st != SOMA_OK) {
        fprintf(stderr, "soma: %s\n", soma_status_string(st));
        return 1;
    }
    /* C = 1 * A B + 0 * C */
    st = soma_gemm(SOMA_TRANS_NO, SOMA_TRANS_NO, 1.0, &A, &B, 0.0, &C);
    if (st != SOMA_OK) {
        fprintf(stderr, "soma_gemm: %s\n", soma_status_string(st));
        soma_matrix_free(&C);
        return 1;
    }
    printf("soma %s, backend %s (%s)\n", soma_version_string(), soma_backend_name(),
           soma_backend_config());
    for (size_t i = 0; i < C.rows; i++)
        printf("%8.1f %8.1f\n", *soma_matrix_at(&C, i, 0), *soma_matrix_at(&C, i, 1));
    soma_matrix_free(&C);
    return 0;
}
