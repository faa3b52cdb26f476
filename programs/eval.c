/* soma eval (loss, accuracy, per-class scores, confusion matrix) and
 * soma predict (classes, probabilities or values as CSV). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* clang-format off */
#define DATA_OPTS                                                                        \
    {"labels", 0, true}, {"label-column", 0, true}, {"header", 0, true},                 \
    {"delimiter", 0, true}, {"skip-lines", 0, true}, {"comment", 0, true},               \
    {"text-labels", 0, false}
/* clang-format on */

static const cli_optdef eval_opts[] = {DATA_OPTS, {"json", 0, false}};
static const cli_optdef predict_opts[] = {
    DATA_OPTS, {"output", 'o', true}, {"proba", 0, false}};

/* Load MODEL, read DATA with the command's data options, map its labels
 * onto the model's classes and apply the model's preprocessing. */
static int open_inputs(const cli_args *a, cli_labels_need need, soma_mlp **mlp,
                       cli_classes *c, cli_table *t)
{
    cli_data_opts o;
    int rc = cli_data_opts_get(a, &o);
    if (rc != 0)
        return rc;
    if ((rc = cli_model_load(a->pos[0], mlp)) != 0)
        return rc;
    if ((rc = cli_classes_from_model(*mlp, c)) != 0)
        return rc;
    rc = cli_table_read(t, a->pos[1], &o, need, soma_mlp_size(*mlp, 0));
    if (rc == 0 && t->has_labels && need == CLI_LABELS_REQUIRED)
        rc = cli_classes_map(t, c);
    if (rc == 0)
        rc = cli_model_prepare(*mlp, a->pos[0], t);
    return rc;
}

/* ---- soma eval ------------------------------------------------------------------- */

/* Display width of UTF-8 text (code points). */
static size_t width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

static void pad(const char *s, size_t w, bool right)
{
    size_t n = width(s);
    if (right)
        for (; n < w; n++)
            fputc(' ', stdout);
    fputs(s, stdout);
    if (!right)
        for (; n < w; n++)
            fputc(' ', stdout);
}

typedef struct scores {
    double *precision, *recall, *f1;
    size_t *support;
    double macro_p, macro_r, macro_f1;
} scores;

/* Per-class scores from the confusion matrix (rows true, columns predicted). */
static void per_class(const soma_matrix *cm, size_t k, scores *s)
{
    for (size_t i = 0; i < k; i++) {
        double tp = *soma_matrix_at(cm, i, i), row = 0, col = 0;
        for (size_t j = 0; j < k; j++) {
            row += *soma_matrix_at(cm, i, j);
            col += *soma_matrix_at(cm, j, i);
        }
        s->precision[i] = col > 0 ? tp / col : 0;
        s->recall[i] = row > 0 ? tp / row : 0;
        const double d = s->precision[i] + s->recall[i];
        s->f1[i] = d > 0 ? 2 * s->precision[i] * s->recall[i] / d : 0;
        s->support[i] = (size_t)row;
    }
}

static void print_table(const cli_classes *c, const scores *s, const soma_matrix *cm,
                        size_t n)
{
    char buf[32];
    size_t w = strlen("macro average");
    for (size_t i = 0; i < c->k; i++) {
        size_t x = width(cli_class_name(c, i, buf, sizeof buf));
        w = x > w ? x : w;
    }
    printf("\n");
    pad("class", w, false);
    printf("  precision     recall         f1    support\n");
    for (size_t i = 0; i < c->k; i++) {
        pad(cli_class_name(c, i, buf, sizeof buf), w, false);
        printf("  %9.4f  %9.4f  %9.4f  %9zu\n", s->precision[i], s->recall[i], s->f1[i],
               s->support[i]);
    }
    pad("macro average", w, false);
    printf("  %9.4f  %9.4f  %9.4f  %9zu\n", s->macro_p, s->macro_r, s->macro_f1, n);
    if (c->k > 40) {
        printf("\nconfusion matrix: %zu classes, too many to print (soma eval --json has "
               "it)\n",
               c->k);
        return;
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class)\n");
    double most = 0;
    for (size_t i = 0; i < c->k; i++)
        for (size_t j = 0; j < c->k; j++)
            most = fmax(most, *soma_matrix_at(cm, i, j));
    const size_t digits = (size_t)snprintf(NULL, 0, "%.0f", most);
    pad("", w, false);
    for (size_t j = 0; j < c->k; j++) {
        const char *name = cli_class_name(c, j, buf, sizeof buf);
        size_t cw = width(name) > digits ? width(name) : digits;
        printf("  ");
        pad(name, cw, true);
    }
    printf("\n");
    for (size_t i = 0; i < c->k; i++) {
        pad(cli_class_name(c, i, buf, sizeof buf), w, false);
        for (size_t j = 0; j < c->k; j++) {
            size_t cw = width(cli_class_name(c, j, buf, sizeof buf));
            cw = cw > digits ? cw : digits;
            printf("  %*.0f", (int)cw, *soma_matrix_at(cm, i, j));
        }
        printf("\n");
    }
}

static void json_classes(const cli_classes *c, const scores *s, const soma_matrix *cm)
{
    char buf[32];
    fputs(",\"classes\":[", stdout);
    for (size_t i = 0; i < c->k; i++) {
        cli_json j;
        if (i > 0)
            fputc(',', stdout);
        cli_json_begin(&j, stdout);
        cli_json_str(&j, "name", cli_class_name(c, i, buf, sizeof buf));
        cli_json_num(&j, "precision", s->precision[i]);
        cli_json_num(&j, "recall", s->recall[i]);
        cli_json_num(&j, "f1", s->f1[i]);
        cli_json_int(&j, "support", s->support[i]);
        fputc('}', stdout);
    }
    printf("],\"macro\":{\"precision\":%.17g,\"recall\":%.17g,\"f1\":%.17g}", s->macro_p,
           s->macro_r, s->macro_f1);
    fputs(",\"confusion\":[", stdout);
    for (size_t i = 0; i < c->k; i++) {
        fputs(i > 0 ? ",[" : "[", stdout);
        for (size_t j = 0; j < c->k; j++)
            printf("%s%.0f", j > 0 ? "," : "", *soma_matrix_at(cm, i, j));
        fputc(']', stdout);
    }
    fputc(']', stdout);
}

static int eval_classes(const soma_mlp *mlp, const cli_classes *c, const cli_table *t,
                        bool json, double loss, double acc)
{
    soma_matrix pred = {0}, cm = {0};
    soma_error_info err = {0};
    scores s = {0};
    const size_t k = c->k;
    soma_status st = soma_matrix_init(&pred, t->X.rows, 1, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_predict(mlp, &t->X, &pred, &err);
    if (st == SOMA_OK)
        st = soma_confusion_matrix(&t->y, &pred, k, &cm, NULL, &err);
    if (st == SOMA_OK)
        st = soma_precision_recall_f1(&t->y, &pred, SOMA_AVERAGE_MACRO, 0, &s.macro_p,
                                      &s.macro_r, &s.macro_f1, NULL, &err);
    s.precision = calloc(3 * k, sizeof(double));
    s.support = calloc(k, sizeof(size_t));
    int rc = 0;
    if (st != SOMA_OK)
        rc = cli_fail(cli_exit_code(st), "%s: cannot score the predictions: %s", t->path,
                      err.message);
    else if (s.precision == NULL || s.support == NULL)
        rc = cli_fail(EXIT_FAIL, "out of memory");
    if (rc == 0) {
        s.recall = s.precision + k;
        s.f1 = s.precision + 2 * k;
        per_class(&cm, k, &s);
        const size_t right = (size_t)llround(acc * (double)t->X.rows);
        if (json) {
            fputs(",\"rows\":", stdout);
            printf("%zu,\"loss\":%.17g,\"accuracy\":%.17g,\"correct\":%zu", t->X.rows,
                   loss, acc, right);
            json_classes(c, &s, &cm);
            fputs("}\n", stdout);
        } else {
            printf("loss        %.4f (%s)\n", loss,
                   k == 2 && soma_mlp_size(mlp, soma_mlp_n_layers(mlp)) == 1
                       ? "binary cross-entropy"
                       : "cross-entropy");
            printf("accuracy    %.4f (%zu of %zu right)\n", acc, right, t->X.rows);
            print_table(c, &s, &cm, t->X.rows);
        }
    }
    free(s.precision);
    free(s.support);
    soma_matrix_free(&pred);
    soma_matrix_free(&cm);
    return rc;
}

static int eval_regression(const soma_mlp *mlp, const cli_table *t, bool json,
                           double loss)
{
    soma_matrix P = {0};
    soma_error_info err = {0};
    soma_status st = soma_matrix_init(&P, t->X.rows, 1, NULL);
    if (st == SOMA_OK)
        st = soma_mlp_predict_proba(mlp, &t->X, &P, &err);
    if (st != SOMA_OK) {
        soma_matrix_free(&P);
        return cli_fail(cli_exit_code(st), "%s: cannot predict: %s", t->path,
                        err.message);
    }
    const size_t n = t->X.rows;
    double mean = 0, sse = 0, sst = 0, sae = 0;
    for (size_t i = 0; i < n; i++)
        mean += t->y.data[i * t->y.ld] / (double)n;
    for (size_t i = 0; i < n; i++) {
        const double y = t->y.data[i * t->y.ld], e = P.data[i] - y;
        sse += e * e;
        sae += fabs(e);
        sst += (y - mean) * (y - mean);
    }
    soma_matrix_free(&P);
    const double rmse = sqrt(sse / (double)n), mae = sae / (double)n;
    const double r2 = sst > 0 ? 1 - sse / sst : NAN;
    if (json) {
        cli_json j = {stdout, false};
        cli_json_int(&j, "rows", n);
        cli_json_num(&j, "loss", loss);
        cli_json_num(&j, "rmse", rmse);
        cli_json_num(&j, "mae", mae);
        cli_json_num(&j, "r2", r2);
        cli_json_end(&j);
    } else {
        printf("loss        %.6g (mean squared error)\n", loss);
        printf("rmse        %.6g\n", rmse);
        printf("mae         %.6g\n", mae);
        printf("r2          %.4f\n", r2);
    }
    return 0;
}

/* The command line of "CMD MODEL DATA [options]": 0 to go on, else the exit
 * status; *done when the help page was asked for (and printed). */
static int parse_model_data(cli_args *a, const char *cmd, const cli_optdef *defs,
                            size_t nd, const char **values, int argc, char **argv,
                            bool *done)
{
    *done = false;
    int rc = cli_parse(a, cmd, defs, nd, values, argc, argv);
    if (rc != 0)
        return rc;
    if (a->help) {
        *done = true;
        return cli_help(stdout, cmd);
    }
    if (a->n_pos != 2)
        return cli_usage(cmd, a->n_pos < 2 ? "expected MODEL and DATA"
                                           : "too many arguments (MODEL and DATA)");
    return 0;
}

int cli_eval(int argc, char **argv)
{
    const size_t nd = sizeof eval_opts / sizeof eval_opts[0];
    const char *values[sizeof eval_opts / sizeof eval_opts[0]];
    cli_args a;
    bool done;
    int rc = parse_model_data(&a, "eval", eval_opts, nd, values, argc, argv, &done);
    if (rc != 0 || done)
        return rc;
    soma_mlp *mlp = NULL;
    cli_classes c = {0};
    cli_table t = {0};
    const bool json = cli_flag(&a, "json");
    rc = open_inputs(&a, CLI_LABELS_REQUIRED, &mlp, &c, &t);
    double loss = NAN, acc = NAN;
    if (rc == 0) {
        soma_error_info err = {0};
        soma_status st = soma_mlp_evaluate(mlp, &t.X, &t.y, &loss, &acc, &err);
        if (st != SOMA_OK)
            rc = cli_fail(cli_exit_code(st), "%s: cannot evaluate: %s", t.path,
                          err.message);
    }
    if (rc == 0) {
        if (json) {
            cli_json j;
            cli_json_begin(&j, stdout);
            cli_json_str(&j, "model", a.pos[0]);
            cli_json_str(&j, "data", a.pos[1]);
            cli_json_str(&j, "task", cli_task_name(c.task));
        } else {
            printf("model       %s (%s", a.pos[0], cli_task_name(c.task));
            if (c.task != CLI_TASK_REGRESSION)
                printf(", %zu classes", c.k);
            printf(")\ndata        %s (%zu rows)\n", a.pos[1], t.X.rows);
        }
        rc = c.task == CLI_TASK_REGRESSION ? eval_regression(mlp, &t, json, loss)
                                           : eval_classes(mlp, &c, &t, json, loss, acc);
    }
    cli_table_free(&t);
    cli_classes_free(&c);
    soma_mlp_destroy(mlp);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        rc = cli_fail(EXIT_IO, "cannot write to standard output: %s", strerror(errno));
    return rc;
}

/* ---- soma predict -------------------------------------------------------------------
 */

/* A CSV field: quoted when it holds the delimiter, a quote, a line end or
 * spaces at its ends (as soma_csv_write quotes header names). */
static void csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    bool quote = n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
                 s[n - 1] == '\t' || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

typedef struct out_file {
    FILE *f;
    char *tmp;        /* temporary name, for -o */
    const char *path; /* -o, or NULL for stdout */
} out_file;

static int out_open(out_file *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (path == NULL) {
        o->f = stdout;
        return 0;
    }
    const size_t n = strlen(path);
    o->tmp = malloc(n + 12);
    if (o->tmp == NULL)
        return cli_fail(EXIT_FAIL, "out of memory");
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(o->tmp);
    if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        free(o->tmp);
        o->tmp = NULL;
        return cli_fail(EXIT_IO, "-o %s: cannot create a file there: %s", path,
                        strerror(e));
    }
    return 0;
}

/* Finish the output: flush, and for -o sync and rename into place (the
 * destination is either the old file or the complete new one). */
static int out_close(out_file *o, bool ok)
{
    int rc = 0;
    if (o->path == NULL) {
        if (fflush(stdout) != 0 || ferror(stdout))
            rc =
                cli_fail(EXIT_IO, "cannot write to standard output: %s", strerror(errno));
        return ok ? rc : 0;
    }
    bool good = ok && fflush(o->f) == 0 && !ferror(o->f) && fsync(fileno(o->f)) == 0;
    int e = errno;
    if (fclose(o->f) != 0 && good) {
        good = false;
        e = errno;
    }
    if (good && rename(o->tmp, o->path) != 0) {
        good = false;
        e = errno;
    }
    if (!good && o->tmp != NULL) {
        unlink(o->tmp);
        if (ok)
            rc = cli_fail(EXIT_IO, "-o %s: cannot write: %s", o->path, strerror(e));
    }
    free(o->tmp);
    return rc;
}

static void write_header(FILE *f, const cli_classes *c, bool proba)
{
    char buf[32];
    if (c->task == CLI_TASK_REGRESSION) {
        fputs("value\n", f);
    } else if (!proba) {
        fputs("class\n", f);
    } else {
        for (size_t i = 0; i < c->k; i++) {
            if (i > 0)
                fputc(',', f);
            csv_field(f, cli_class_name(c, i, buf, sizeof buf));
        }
        fputc('\n', f);
    }
}

/* One chunk of rows: P (rows x outputs) as CSV lines. */
static void write_rows(FILE *f, const cli_classes *c, const soma_matrix *P, bool proba)
{
    char buf[32];
    for (size_t i = 0; i < P->rows; i++) {
        const double *p = P->data + i * P->ld;
        if (c->task == CLI_TASK_REGRESSION) {
            fprintf(f, "%.17g\n", p[0]);
        } else if (proba && P->cols == 1) {
            fprintf(f, "%.6g,%.6g\n", 1 - p[0], p[0]);
        } else if (proba) {
            for (size_t j = 0; j < P->cols; j++)
                fprintf(f, "%s%.6g", j > 0 ? "," : "", p[j]);
            fputc('\n', f);
        } else {
            size_t best = 0;
            if (P->cols == 1) {
                best = p[0] > 0.5;
            } else {
                for (size_t j = 1; j < P->cols; j++)
                    if (p[j] > p[best])
                        best = j;
            }
            csv_field(f, cli_class_name(c, best, buf, sizeof buf));
            fputc('\n', f);
        }
    }
}

#define CHUNK 1024

static int predict_all(const soma_mlp *mlp, const cli_classes *c, const cli_table *t,
                       bool proba, out_file *o)
{
    soma_mlp_predictor *pr = NULL;
    soma_matrix P = {0};
    soma_error_info err = {0};
    const size_t outs = soma_mlp_size(mlp, soma_mlp_n_layers(mlp));
    soma_status st = soma_mlp_predictor_create(&pr, mlp, CHUNK, NULL, &err);
    if (st == SOMA_OK)
        st = soma_matrix_init(&P, CHUNK, outs, NULL);
    write_header(o->f, c, proba);
    for (size_t r0 = 0; st == SOMA_OK && r0 < t->X.rows; r0 += CHUNK) {
        const size_t m = t->X.rows - r0 < CHUNK ? t->X.rows - r0 : CHUNK;
        soma_matrix Xb, Pb;
        st = soma_matrix_view_rows(&Xb, &t->X, r0, m);
        if (st == SOMA_OK)
            st = soma_matrix_view_rows(&Pb, &P, 0, m);
        if (st == SOMA_OK)
            st = soma_mlp_predictor_proba(pr, &Xb, &Pb, &err);
        if (st == SOMA_OK)
            write_rows(o->f, c, &Pb, proba);
    }
    soma_matrix_free(&P);
    soma_mlp_predictor_destroy(pr);
    if (st != SOMA_OK)
        return cli_fail(cli_exit_code(st), "%s: cannot predict: %s", t->path,
                        err.message[0] ? err.message : soma_status_string(st));
    return 0;
}

int cli_predict(int argc, char **argv)
{
    const size_t nd = sizeof predict_opts / sizeof predict_opts[0];
    const char *values[sizeof predict_opts / sizeof predict_opts[0]];
    cli_args a;
    bool done;
    int rc = parse_model_data(&a, "predict", predict_opts, nd, values, argc, argv, &done);
    if (rc != 0 || done)
        return rc;
    soma_mlp *mlp = NULL;
    cli_classes c = {0};
    cli_table t = {0};
    const bool proba = cli_flag(&a, "proba");
    rc = open_inputs(&a, CLI_LABELS_OPTIONAL, &mlp, &c, &t);
    if (rc == 0 && proba && c.task == CLI_TASK_REGRESSION)
        rc =
            cli_usage("predict", "--proba: %s predicts numbers (regression), not classes",
                      a.pos[0]);
    out_file o;
    if (rc == 0 && (rc = out_open(&o, cli_get(&a, "output"))) == 0) {
        rc = predict_all(mlp, &c, &t, proba, &o);
        int rc2 = out_close(&o, rc == 0);
        rc = rc != 0 ? rc : rc2;
    }
    cli_table_free(&t);
    cli_classes_free(&c);
    soma_mlp_destroy(mlp);
    return rc;
}
