/* Classify a CSV file as it comes: a metadata line to skip, a label column
 * of class names, any number of classes. Held-out accuracy, per class.
 *
 *   classify_csv FILE [SKIP_LINES]
 *
 * For instance the iris file scikit-learn ships (its first line is
 * "150,4,setosa,versicolor,virginica"):
 *   classify_csv /usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv 1 */
#include <stdio.h>
#include <stdlib.h>

#include <soma.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [SKIP_LINES]\n", argv[0]);
        return 2;
    }
    soma_csv_options csv = soma_csv_defaults();
    csv.skip_lines = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
    csv.label_type = SOMA_CSV_LABELS_AUTO; /* class names, or integer labels */
    soma_csv_info info = {0};
    soma_matrix X = {0}, y = {0}, Xtr = {0}, Xte = {0}, ytr = {0}, yte = {0}, pred = {0};
    soma_scaler scaler = {0};
    soma_mlp *mlp = NULL;
    soma_error_info err = {0};
    soma_rng rng;
    double accuracy = 0.0;

    soma_status st = soma_csv_read_file(argv[1], &csv, &X, &y, &info, NULL, &err);
    /* Count the classes on the whole file, before the split. */
    const size_t k = info.classes;
    soma_split_options split = soma_split_defaults();
    split.stratify = true;
    if (st == SOMA_OK)
        st = soma_rng_seed(&rng, 42);
    if (st == SOMA_OK)
        st = soma_train_test_split(&X, &y, &split, &rng, &Xtr, &Xte, &ytr, &yte, NULL,
                                   &err);
    /* Standardize with the training rows' statistics only. */
    if (st == SOMA_OK)
        st = soma_scaler_fit(&scaler, &Xtr, NULL, &err);
    if (st == SOMA_OK)
        st = soma_scaler_transform(&scaler, &Xtr, &Xtr, &err);
    if (st == SOMA_OK)
        st = soma_scaler_transform(&scaler, &Xte, &Xte, &err);
    /* A classifier for k classes; integer labels go in as they are. */
    const size_t sizes[] = {X.cols, 32, soma_classifier_outputs(k)};
    const soma_mlp_spec spec = soma_mlp_spec_classifier(k);
    soma_fit_options fit = soma_fit_options_adam(200);
    if (st == SOMA_OK)
        st = soma_mlp_create(&mlp, sizes, 3, &spec, NULL, &err);
    if (st == SOMA_OK)
        st = soma_mlp_fit(mlp, &Xtr, &ytr, &fit, NULL, &err);
    if (st == SOMA_OK)
        st = soma_matrix_init(&pred, Xte.rows, 1, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_predict(mlp, &Xte, &pred, &err);
    if (st == SOMA_OK)
        st = soma_accuracy(&yte, &pred, &accuracy, &err);
    if (st == SOMA_OK) {
        printf("%zu rows, %zu features, %zu classes; test accuracy %.4f\n", X.rows,
               X.cols, k, accuracy);
        for (size_t c = 0; c < k; c++) {
            size_t hit = 0, total = 0;
            for (size_t i = 0; i < yte.rows; i++)
                if (yte.data[i] == (double)c) {
                    total++;
                    hit += pred.data[i] == (double)c;
                }
            printf("  %-16s %zu / %zu\n", info.text_labels ? info.class_names[c] : "(id)",
                   hit, total);
        }
    } else {
        fprintf(stderr, "classify_csv: %s (line %zu, %s): %s\n", soma_status_string(st),
                err.line, err.argument, err.message);
    }
    soma_mlp_destroy(mlp);
    soma_scaler_free(&scaler);
    soma_matrix *all[] = {&X, &y, &Xtr, &Xte, &ytr, &yte, &pred};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soma_matrix_free(all[i]);
    soma_csv_info_free(&info);
    return st == SOMA_OK ? 0 : 1;
}
