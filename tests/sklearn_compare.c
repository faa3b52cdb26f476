/* soma's side of tests/sklearn-compare.py: read one of the CSV files
 * scikit-learn ships with the documented options, split it (stratified,
 * seeded), standardize on the training rows, train the classifier presets
 * and print one JSON line: the test accuracy and the test rows' indices in
 * the file, so that scikit-learn's MLPClassifier can be run on the very
 * same split.
 *
 *   sklearn_compare FILE SKIP_LINES SEED HIDDEN */
#include <stdio.h>
#include <stdlib.h>

#include <soma.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s FILE SKIP_LINES SEED HIDDEN\n", argv[0]);
        return 2;
    }
    soma_csv_options csv = soma_csv_defaults();
    csv.skip_lines = strtoul(argv[2], NULL, 10);
    csv.header = SOMA_CSV_HEADER_NO;
    const uint64_t seed = strtoull(argv[3], NULL, 10);
    const size_t hidden = strtoul(argv[4], NULL, 10);
    soma_csv_info info = {0};
    soma_matrix X = {0}, y = {0}, Xi = {0}, Xtr = {0}, Xte = {0}, ytr = {0}, yte = {0};
    soma_matrix A = {0}, B = {0}, pred = {0};
    soma_scaler sc = {0};
    soma_mlp *mlp = NULL;
    soma_error_info err = {0};
    soma_rng rng;
    double acc = 0.0;
    soma_status st = soma_csv_read_file(argv[1], &csv, &X, &y, &info, NULL, &err);
    const size_t d = X.cols, k = info.classes;
    /* X with its row index as a last column, to learn which rows the split
     * put in the test set. */
    if (st == SOMA_OK)
        st = soma_matrix_init(&Xi, X.rows, d + 1, NULL);
    for (size_t i = 0; st == SOMA_OK && i < X.rows; i++) {
        for (size_t j = 0; j < d; j++)
            *soma_matrix_at(&Xi, i, j) = *soma_matrix_at(&X, i, j);
        *soma_matrix_at(&Xi, i, d) = (double)i;
    }
    soma_split_options so = soma_split_defaults();
    so.stratify = true;
    if (st == SOMA_OK)
        st = soma_rng_seed(&rng, seed);
    if (st == SOMA_OK)
        st = soma_train_test_split(&Xi, &y, &so, &rng, &A, &B, &ytr, &yte, NULL, &err);
    if (st == SOMA_OK)
        st = soma_matrix_init(&Xtr, A.rows, d, NULL);
    if (st == SOMA_OK)
        st = soma_matrix_init(&Xte, B.rows, d, NULL);
    for (size_t i = 0; st == SOMA_OK && i < A.rows; i++)
        for (size_t j = 0; j < d; j++)
            *soma_matrix_at(&Xtr, i, j) = *soma_matrix_at(&A, i, j);
    for (size_t i = 0; st == SOMA_OK && i < B.rows; i++)
        for (size_t j = 0; j < d; j++)
            *soma_matrix_at(&Xte, i, j) = *soma_matrix_at(&B, i, j);
    if (st == SOMA_OK)
        st = soma_scaler_fit(&sc, &Xtr, NULL, &err);
    if (st == SOMA_OK)
        st = soma_scaler_transform(&sc, &Xtr, &Xtr, &err);
    if (st == SOMA_OK)
        st = soma_scaler_transform(&sc, &Xte, &Xte, &err);
    const size_t sizes[3] = {d, hidden, soma_classifier_outputs(k)};
    const soma_mlp_spec spec = soma_mlp_spec_classifier(k);
    soma_fit_options fit = soma_fit_options_adam(200);
    fit.seed = seed;
    if (st == SOMA_OK)
        st = soma_mlp_create(&mlp, sizes, 3, &spec, NULL, &err);
    if (st == SOMA_OK)
        st = soma_mlp_fit(mlp, &Xtr, &ytr, &fit, NULL, &err);
    if (st == SOMA_OK)
        st = soma_matrix_init(&pred, Xte.rows, 1, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_predict(mlp, &Xte, &pred, &err);
    if (st == SOMA_OK)
        st = soma_accuracy(&yte, &pred, &acc, &err);
    if (st == SOMA_OK) {
        printf(
            "{\"rows\": %zu, \"features\": %zu, \"classes\": %zu, \"accuracy\": %.17g, "
            "\"test\": [",
            X.rows, d, k, acc);
        for (size_t i = 0; i < B.rows; i++)
            printf("%s%zu", i ? ", " : "", (size_t)*soma_matrix_at(&B, i, d));
        printf("]}\n");
    } else {
        fprintf(stderr, "sklearn_compare: %s: %s\n", soma_status_string(st), err.message);
    }
    soma_mlp_destroy(mlp);
    soma_scaler_free(&sc);
    soma_matrix *all[] = {&X, &y, &Xi, &Xtr, &Xte, &ytr, &yte, &A, &B, &pred};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
    soma_csv_info_free(&info);
    return st == SOMA_OK ? 0 : 1;
}
