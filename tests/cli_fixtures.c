/* Files of the wrong kind for the soma program's tests (tests/test_cli.sh):
 * a scaler file and a perceptron file, written through the public API.
 * Usage: cli_fixtures OUTDIR */
#include <stdio.h>
#include <string.h>

#include <soma.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cli_fixtures OUTDIR\n");
        return 2;
    }
    char path[4096];
    double xs[] = {0, 0, 1, 1, 0, 1, 0, 1}, ys[] = {0, 1, 1, 1};
    soma_matrix X, y;
    soma_scaler s = {0};
    soma_perceptron *p = NULL;
    soma_rng rng;
    soma_status st = soma_matrix_view(&X, xs, 4, 2, 2);
    if (st == SOMA_OK)
        st = soma_matrix_view(&y, ys, 4, 1, 1);
    if (st == SOMA_OK)
        st = soma_scaler_fit(&s, &X, NULL, NULL);
    snprintf(path, sizeof path, "%s/scaler.soma", argv[1]);
    if (st == SOMA_OK)
        st = soma_scaler_save(&s, path, NULL);
    if (st == SOMA_OK)
        st = soma_rng_seed(&rng, 1);
    if (st == SOMA_OK)
        st = soma_perceptron_create(&p, NULL, NULL, NULL);
    if (st == SOMA_OK)
        st = soma_perceptron_fit(p, &X, &y, &rng, NULL);
    snprintf(path, sizeof path, "%s/perceptron.soma", argv[1]);
    if (st == SOMA_OK)
        st = soma_perceptron_save(p, path, NULL);
    soma_perceptron_destroy(p);
    soma_scaler_free(&s);
    if (st != SOMA_OK) {
        fprintf(stderr, "cli_fixtures: %s\n", soma_status_string(st));
        return 1;
    }
    return 0;
}
