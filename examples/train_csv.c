/* Train a binary classifier on a CSV file whose last column is the label. */
#include <stdio.h>
#include <soma.h>

int main(int argc, char **argv)
{
    soma_matrix X = {0}, y = {0};
    soma_scaler scaler = {0};
    soma_mlp *mlp = NULL;
    soma_error_info err = {0};
    soma_fit_options opt = soma_fit_options_default();
    opt.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    opt.epochs = 200;
    opt.batch_size = 32;
    double accuracy = 0;

    soma_status st = soma_csv_read_file(argc > 1 ? argv[1] : "data.csv", NULL, &X, &y,
                                        NULL, NULL, &err);
    if (st == SOMA_OK)
        st = soma_scaler_fit(&scaler, &X, NULL, NULL);
    if (st == SOMA_OK)
        st = soma_scaler_transform(&scaler, &X, &X, NULL);
    const size_t sizes[] = {X.cols, 16, 16, 1};
    if (st == SOMA_OK)
        st = soma_mlp_create(&mlp, sizes, 4, NULL, NULL, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_fit(mlp, &X, &y, &opt, NULL, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_evaluate(mlp, &X, &y, NULL, &accuracy, NULL);
    if (st == SOMA_OK)
        printf("%zu rows, training accuracy %.4f\n", X.rows, accuracy);
    else
        fprintf(stderr, "soma: %s (line %zu) %s\n", soma_status_string(st), err.line,
                err.message);
    soma_mlp_destroy(mlp);
    soma_scaler_free(&scaler);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    return st == SOMA_OK ? 0 : 1;
}
