/* Model files for the soma program: loading with clear messages, applying
 * the preprocessing a model carries, and `soma info`. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cli.h"

int cli_model_load(const char *path, soma_mlp **out)
{
    char shown[256];
    cli_quote(path, shown, sizeof shown);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_fail(EXIT_IO, "%s: cannot open: %s", shown, strerror(errno));
    fclose(f);
    soma_error_info err = {0};
    soma_status st = soma_mlp_load(out, path, NULL, &err);
    if (st == SOMA_OK)
        return 0;
    const char *hint = NULL;
    if (strstr(err.message, "holds a perceptron") != NULL ||
        strstr(err.message, "holds a scaler") != NULL)
        hint =
            "soma works with multi-layer perceptron models, as 'soma train' writes them";
    else if (strstr(err.message, "bad magic") != NULL)
        hint = "give a model file written by 'soma train' (or soma_mlp_save)";
    else if (st == SOMA_EVERSION)
        hint = "it was written by a newer soma: upgrade this one";
    return cli_file_error(path, false, st, &err, hint);
}

int cli_model_prepare(const soma_mlp *mlp, const char *model_path, cli_table *t)
{
    const size_t d = soma_mlp_size(mlp, 0);
    if (t->X.cols != d)
        return cli_fail(
            EXIT_DATA, "%s: %zu feature columns, but the model %s takes %zu%s", t->path,
            t->X.cols, model_path, d, t->idx ? "" : " (is --label-column right?)");
    const soma_scaler *pre = soma_mlp_preprocessing(mlp);
    if (pre == NULL)
        return 0;
    soma_error_info err = {0};
    soma_status st = soma_scaler_transform(pre, &t->X, &t->X, &err);
    if (st != SOMA_OK)
        return cli_fail(cli_exit_code(st),
                        "%s: cannot apply the model's preprocessing: %s", model_path,
                        err.message);
    return 0;
}

/* ---- soma info ------------------------------------------------------------------ */

/* A fixed scaler (soma_scaler_init_fixed): no samples seen, one offset and
 * one divisor for every column. */
static bool scaler_fixed(const soma_scaler *s, double *offset, double *divisor)
{
    if (s->n_samples_seen != 0)
        return false;
    *offset = s->mean.data[0];
    *divisor = s->scale.data[0];
    for (size_t j = 1; j < s->mean.cols; j++)
        if (s->mean.data[j] != *offset || s->scale.data[j] != *divisor)
            return false;
    return true;
}

static void print_preprocessing(const soma_scaler *s)
{
    double off, div;
    if (s == NULL)
        printf("none (the model takes the rows as they are)\n");
    else if (scaler_fixed(s, &off, &div) && off == 0)
        printf("fixed scale: x / %g\n", div);
    else if (scaler_fixed(s, &off, &div))
        printf("fixed scale: (x - %g) / %g\n", off, div);
    else
        printf("standard scaler fitted on %zu rows: (x - mean) / std per column\n",
               s->n_samples_seen);
}

static const cli_optdef info_opts[] = {{"json", 0, false}};

static void info_json(const char *path, const soma_mlp *mlp, const soma_mlp_spec *spec,
                      const cli_classes *c)
{
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_str(&j, "model", path);
    fputs(",\"sizes\":[", stdout);
    for (size_t i = 0; i <= soma_mlp_n_layers(mlp); i++)
        printf("%s%zu", i > 0 ? "," : "", soma_mlp_size(mlp, i));
    fputc(']', stdout);
    cli_json_int(&j, "parameters", soma_mlp_n_params(mlp));
    cli_json_str(&j, "hidden", soma_activation_name(spec->hidden));
    cli_json_str(&j, "output", soma_activation_name(spec->output));
    cli_json_str(&j, "loss", soma_loss_name(spec->loss));
    cli_json_str(&j, "precision", soma_precision_name(spec->precision));
    cli_json_str(&j, "task", cli_task_name(c->task));
    fputs(",\"classes\":", stdout);
    if (c->names != NULL) {
        fputc('[', stdout);
        for (size_t i = 0; i < c->k; i++) {
            if (i > 0)
                fputc(',', stdout);
            cli_json_string(stdout, c->names[i]);
        }
        fputc(']', stdout);
    } else {
        fputs("null", stdout);
    }
    const soma_scaler *pre = soma_mlp_preprocessing(mlp);
    double off, div;
    cli_json_str(&j, "preprocessing",
                 pre == NULL                     ? "none"
                 : scaler_fixed(pre, &off, &div) ? "fixed"
                                                 : "standard");
    cli_json_str(&j, "metadata", soma_mlp_metadata(mlp));
    cli_json_end(&j);
}

int cli_info(int argc, char **argv)
{
    const char *values[sizeof info_opts / sizeof info_opts[0]];
    cli_args a;
    int rc = cli_parse(&a, "info", info_opts, sizeof info_opts / sizeof info_opts[0],
                       values, argc, argv);
    if (rc != 0)
        return rc;
    if (a.help)
        return cli_help(stdout, "info");
    if (a.n_pos != 1)
        return cli_usage("info", a.n_pos == 0 ? "missing MODEL" : "too many arguments");
    const char *path = a.pos[0];
    soma_mlp *mlp = NULL;
    if ((rc = cli_model_load(path, &mlp)) != 0)
        return rc;
    soma_mlp_spec spec;
    cli_classes c;
    if (soma_mlp_get_spec(mlp, &spec, NULL) != SOMA_OK ||
        (rc = cli_classes_from_model(mlp, &c)) != 0) {
        soma_mlp_destroy(mlp);
        return rc != 0 ? rc : cli_fail(EXIT_FAIL, "cannot read the model's spec");
    }
    if (cli_flag(&a, "json")) {
        info_json(path, mlp, &spec, &c);
    } else {
        const size_t L = soma_mlp_n_layers(mlp);
        printf("model          %s\n", path);
        printf("layers         ");
        for (size_t i = 0; i <= L; i++)
            printf("%s%zu", i > 0 ? " -> " : "", soma_mlp_size(mlp, i));
        printf("  (%zu inputs, %zu hidden layer%s, %zu output%s)\n",
               soma_mlp_size(mlp, 0), L - 1, L == 2 ? "" : "s", soma_mlp_size(mlp, L),
               soma_mlp_size(mlp, L) == 1 ? "" : "s");
        printf("parameters     %zu\n", soma_mlp_n_params(mlp));
        printf("activations    %s hidden, %s output\n", soma_activation_name(spec.hidden),
               soma_activation_name(spec.output));
        printf("loss           %s (%s)\n", soma_loss_name(spec.loss),
               spec.loss == SOMA_LOSS_MSE   ? "mean squared error"
               : spec.loss == SOMA_LOSS_BCE ? "binary cross-entropy"
                                            : "cross-entropy");
        printf("precision      %s\n", soma_precision_name(spec.precision));
        printf("initialiser    %s, seed %llu\n", soma_init_name(spec.init),
               (unsigned long long)spec.seed);
        if (c.task == CLI_TASK_REGRESSION)
            printf("task           regression (one real output)\n");
        else
            printf("task           %s (%zu classes)\n",
                   c.task == CLI_TASK_BINARY ? "binary" : "classes", c.k);
        if (c.task != CLI_TASK_REGRESSION) {
            printf("classes        ");
            char buf[32];
            for (size_t i = 0; i < c.k; i++)
                printf("%s%s", i > 0 ? ", " : "", cli_class_name(&c, i, buf, sizeof buf));
            printf("%s\n", c.names == NULL ? " (no names: class ids)" : "");
        }
        printf("preprocessing  ");
        print_preprocessing(soma_mlp_preprocessing(mlp));
        const char *meta = soma_mlp_metadata(mlp);
        if (meta[0] != '\0') {
            printf("training run\n");
            for (const char *p = meta; *p;) {
                const char *e = strchr(p, '\n');
                size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
                const char *eq = memchr(p, '=', len);
                if (eq != NULL)
                    printf("  %-15.*s %.*s\n", (int)(eq - p), p,
                           (int)(len - (size_t)(eq - p) - 1), eq + 1);
                else
                    printf("  %.*s\n", (int)len, p);
                p += len + (e != NULL);
            }
        }
    }
    cli_classes_free(&c);
    soma_mlp_destroy(mlp);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail(EXIT_IO, "cannot write to standard output: %s", strerror(errno));
    return 0;
}
