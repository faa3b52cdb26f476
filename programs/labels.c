/* Tasks and classes: what the labels of a data set ask the model to learn,
 * and how the labels of another file map onto a model's classes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Numeric labels make classes (under --task auto) when they are whole
 * numbers >= 0 with at most this many distinct values. */
#define AUTO_MAX_CLASSES 1000
/* The most classes an explicit --task classes accepts. */
#define MAX_CLASSES 65536

const char *cli_task_name(cli_task t)
{
    switch (t) {
    case CLI_TASK_BINARY:
        return "binary";
    case CLI_TASK_CLASSES:
        return "classes";
    case CLI_TASK_REGRESSION:
        return "regression";
    default:
        return "auto";
    }
}

void cli_classes_free(cli_classes *c)
{
    if (c->names != NULL)
        for (size_t i = 0; i < c->k; i++)
            free(c->names[i]);
    free(c->names);
    memset(c, 0, sizeof *c);
}

const char *cli_class_name(const cli_classes *c, size_t i, char *buf, size_t cap)
{
    if (c->names != NULL && i < c->k)
        return c->names[i];
    snprintf(buf, cap, "%zu", i);
    return buf;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* The text a numeric label's class is named by: "%.17g" reads back as the
 * same double, and whole numbers print without a decimal point ("3"). */
static void number_name(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.17g", v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sorted distinct values of y (at most `cap` of them; *n = cap + 1
 * when there are more). */
static int distinct(const soma_matrix *y, size_t cap, double **out, size_t *n)
{
    double *v = malloc((y->rows > 0 ? y->rows : 1) * sizeof *v);
    if (v == NULL)
        return cli_fail(EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < y->rows; i++)
        v[i] = y->data[i * y->ld];
    qsort(v, y->rows, sizeof *v, cmp_double);
    size_t m = 0;
    for (size_t i = 0; i < y->rows && m <= cap; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    *out = v;
    *n = m;
    return 0;
}

static bool all_whole_nonneg(const soma_matrix *y)
{
    for (size_t i = 0; i < y->rows; i++) {
        double v = y->data[i * y->ld];
        if (!(v >= 0) || v != floor(v) || v > 9007199254740992.0)
            return false;
    }
    return true;
}

static int set_names(cli_classes *c, size_t k)
{
    c->k = k;
    c->names = calloc(k > 0 ? k : 1, sizeof *c->names);
    return c->names != NULL ? 0 : cli_fail(EXIT_FAIL, "out of memory");
}

/* Split --class-names "a,b,c" into k names. */
static int names_from_option(const char *list, size_t k, cli_classes *c)
{
    size_t count = 1;
    for (const char *p = list; *p; p++)
        count += *p == ',';
    if (count != k)
        return cli_fail(EXIT_USAGE, "--class-names: %zu names for %zu classes", count, k);
    if (set_names(c, k) != 0)
        return EXIT_FAIL;
    const char *p = list;
    for (size_t i = 0; i < k; i++) {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        if (len == 0)
            return cli_fail(EXIT_USAGE, "--class-names: name %zu is empty", i + 1);
        c->names[i] = malloc(len + 1);
        if (c->names[i] == NULL)
            return cli_fail(EXIT_FAIL, "out of memory");
        memcpy(c->names[i], p, len);
        c->names[i][len] = '\0';
        p = e != NULL ? e + 1 : p + len;
    }
    return 0;
}

/* Classes from text labels: y already holds ids into t->names. */
static int classes_text(cli_table *t, cli_task task, cli_classes *c)
{
    if (task == CLI_TASK_REGRESSION)
        return cli_fail(EXIT_DATA,
                        "%s: the labels are text (\"%s\", ...), not numbers: "
                        "regression needs numbers",
                        t->path, t->n_names > 0 ? t->names[0] : "");
    if (t->n_names < 2)
        return cli_fail(EXIT_DATA,
                        "%s: every label is \"%s\": there is nothing to learn "
                        "with one class",
                        t->path, t->n_names > 0 ? t->names[0] : "");
    if (task == CLI_TASK_AUTO && t->n_names > AUTO_MAX_CLASSES)
        return cli_fail(EXIT_DATA,
                        "%s: the labels name %zu classes: is --label-column the "
                        "right column? (--task classes allows up to %d)",
                        t->path, t->n_names, MAX_CLASSES);
    if (t->n_names > MAX_CLASSES)
        return cli_fail(EXIT_DATA, "%s: the labels name %zu classes, more than %d",
                        t->path, t->n_names, MAX_CLASSES);
    if (task == CLI_TASK_BINARY && t->n_names != 2)
        return cli_fail(EXIT_DATA, "%s: --task binary, but the labels name %zu classes",
                        t->path, t->n_names);
    c->task = t->n_names == 2 ? CLI_TASK_BINARY : CLI_TASK_CLASSES;
    c->k = t->n_names;
    c->names = t->names; /* taken over */
    t->names = NULL;
    t->n_names = 0;
    t->text_labels = false;
    return 0;
}

int cli_classes_infer(cli_table *t, cli_task task, const char *names_opt, cli_classes *c)
{
    memset(c, 0, sizeof *c);
    if (t->text_labels) {
        if (names_opt != NULL)
            return cli_fail(EXIT_USAGE,
                            "--class-names: the labels of %s are names already", t->path);
        return classes_text(t, task, c);
    }
    const soma_matrix *y = &t->y;
    double *v = NULL;
    size_t n = 0;
    const size_t cap = task == CLI_TASK_AUTO ? AUTO_MAX_CLASSES : MAX_CLASSES;
    if (task != CLI_TASK_REGRESSION && distinct(y, cap, &v, &n) != 0)
        return EXIT_FAIL;
    if (task == CLI_TASK_AUTO)
        task = all_whole_nonneg(y) && n <= cap ? CLI_TASK_CLASSES : CLI_TASK_REGRESSION;
    if (task == CLI_TASK_REGRESSION) {
        free(v);
        if (names_opt != NULL)
            return cli_fail(EXIT_USAGE,
                            "--class-names: %s makes a regression task (use "
                            "--task classes for classes)",
                            t->path);
        c->task = CLI_TASK_REGRESSION;
        return 0;
    }
    int rc = 0;
    if (n > cap)
        rc = cli_fail(EXIT_DATA,
                      "%s: the labels take more than %zu distinct values: too "
                      "many for classes (--task regression?)",
                      t->path, cap);
    else if (n < 2)
        rc = cli_fail(EXIT_DATA,
                      "%s: every label is %g: there is nothing to learn with one "
                      "class",
                      t->path, n > 0 ? v[0] : 0.0);
    else if (task == CLI_TASK_BINARY && n != 2)
        rc = cli_fail(EXIT_DATA, "%s: --task binary, but the labels take %zu values",
                      t->path, n);
    if (rc != 0) {
        free(v);
        return rc;
    }
    c->task = n == 2 ? CLI_TASK_BINARY : CLI_TASK_CLASSES;
    /* Labels 0..k-1 are class ids as they are; other values are mapped to
     * ids in increasing order and the model keeps the values as names. */
    bool ids = v[0] == 0 && v[n - 1] == (double)(n - 1) && all_whole_nonneg(y);
    if (ids) {
        c->k = n;
        rc = names_opt != NULL ? names_from_option(names_opt, n, c) : 0;
        free(v);
        return rc;
    }
    if (names_opt != NULL) {
        free(v);
        return cli_fail(EXIT_USAGE,
                        "--class-names: the labels of %s are not 0 to k-1 "
                        "(they are named by their values)",
                        t->path);
    }
    if (set_names(c, n) != 0) {
        free(v);
        return EXIT_FAIL;
    }
    c->numeric = true;
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        number_name(v[i], buf, sizeof buf);
        c->names[i] = dup_str(buf);
        if (c->names[i] == NULL) {
            free(v);
            return cli_fail(EXIT_FAIL, "out of memory");
        }
    }
    for (size_t i = 0; i < y->rows; i++) {
        double *p = y->data + i * y->ld;
        const double *hit = bsearch(p, v, n, sizeof *v, cmp_double);
        *p = (double)(hit - v);
    }
    free(v);
    return 0;
}

static size_t find_name(const cli_classes *c, const char *name)
{
    for (size_t i = 0; i < c->k; i++)
        if (strcmp(c->names[i], name) == 0)
            return i;
    return SIZE_MAX;
}

static void list_names(const cli_classes *c, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->k && used + 8 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i > 0 ? ", " : "", c->names[i]);
        if (w < 0 || (size_t)w >= cap - used) {
            snprintf(buf + used, cap - used, ", ...");
            return;
        }
        used += (size_t)w;
    }
}

/* Text labels of t onto c's names. */
static int map_text(cli_table *t, const cli_classes *c)
{
    char list[256];
    if (c->names == NULL || c->numeric)
        return cli_fail(EXIT_DATA,
                        "%s: the labels are text (\"%s\", ...) but the model's "
                        "classes are numbers",
                        t->path, t->n_names > 0 ? t->names[0] : "");
    size_t *map = malloc((t->n_names > 0 ? t->n_names : 1) * sizeof *map);
    if (map == NULL)
        return cli_fail(EXIT_FAIL, "out of memory");
    for (size_t j = 0; j < t->n_names; j++) {
        map[j] = find_name(c, t->names[j]);
        if (map[j] == SIZE_MAX) {
            list_names(c, list, sizeof list);
            int rc = cli_fail(EXIT_DATA,
                              "%s: label \"%s\" is not a class of the model "
                              "(%s)",
                              t->path, t->names[j], list);
            free(map);
            return rc;
        }
    }
    for (size_t i = 0; i < t->y.rows; i++) {
        double *p = t->y.data + i * t->y.ld;
        *p = (double)map[(size_t)*p];
    }
    free(map);
    return 0;
}

int cli_classes_map(cli_table *t, const cli_classes *c)
{
    if (c->task == CLI_TASK_REGRESSION) {
        if (t->text_labels)
            return cli_fail(EXIT_DATA,
                            "%s: the labels are text but the model predicts "
                            "numbers (regression)",
                            t->path);
        return 0;
    }
    if (t->text_labels)
        return map_text(t, c);
    soma_matrix *y = &t->y;
    for (size_t i = 0; i < y->rows; i++) {
        double *p = y->data + i * y->ld;
        if (c->numeric) {
            char buf[32];
            number_name(*p, buf, sizeof buf);
            size_t id = find_name(c, buf);
            if (id == SIZE_MAX) {
                char list[256];
                list_names(c, list, sizeof list);
                return cli_fail(EXIT_DATA,
                                "%s: row %zu: label %s is not a class of the "
                                "model (%s)",
                                t->path, i + 1, buf, list);
            }
            *p = (double)id;
        } else if (!(*p >= 0 && *p < (double)c->k && *p == floor(*p))) {
            return cli_fail(EXIT_DATA,
                            "%s: row %zu: label %g is not a class id of the model "
                            "(0 to %zu)",
                            t->path, i + 1, *p, c->k - 1);
        }
    }
    return 0;
}

int cli_classes_from_model(const soma_mlp *mlp, cli_classes *c)
{
    memset(c, 0, sizeof *c);
    soma_mlp_spec spec;
    if (soma_mlp_get_spec(mlp, &spec, NULL) != SOMA_OK)
        return cli_fail(EXIT_FAIL, "cannot read the model's spec");
    const size_t out = soma_mlp_size(mlp, soma_mlp_n_layers(mlp));
    if (spec.loss == SOMA_LOSS_MSE) {
        c->task = CLI_TASK_REGRESSION;
        return 0;
    }
    c->task = out == 1 ? CLI_TASK_BINARY : CLI_TASK_CLASSES;
    c->k = out == 1 ? 2 : out;
    if (soma_mlp_n_class_names(mlp) != c->k)
        return 0;
    if (set_names(c, c->k) != 0)
        return EXIT_FAIL;
    /* Names written by cli_classes_infer for numeric labels: the values,
     * in increasing order. */
    bool numeric = true;
    double prev = -INFINITY;
    for (size_t i = 0; i < c->k; i++) {
        c->names[i] = dup_str(soma_mlp_class_name(mlp, i));
        if (c->names[i] == NULL)
            return cli_fail(EXIT_FAIL, "out of memory");
        char *end = NULL;
        double v = strtod(c->names[i], &end);
        char buf[32];
        number_name(v, buf, sizeof buf);
        numeric = numeric && end != c->names[i] && *end == '\0' &&
                  strcmp(buf, c->names[i]) == 0 && v > prev;
        prev = v;
    }
    c->numeric = numeric;
    return 0;
}
