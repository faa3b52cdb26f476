/* DATA files for the soma program: a CSV file, or an IDX pair (images and
 * labels), plain or gzip-compressed. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_data_opts_get(const cli_args *a, cli_data_opts *o)
{
    memset(o, 0, sizeof *o);
    o->header = SOMA_CSV_HEADER_AUTO;
    o->delimiter = ',';
    o->labels = cli_get(a, "labels");
    o->label_column = cli_get(a, "label-column");
    o->text_labels = cli_flag(a, "text-labels");
    static const char *const headers[] = {"auto", "yes", "no", NULL};
    int h = 0;
    int rc = cli_get_choice(a, "header", headers, &h);
    o->header = h == 1   ? SOMA_CSV_HEADER_YES
                : h == 2 ? SOMA_CSV_HEADER_NO
                         : SOMA_CSV_HEADER_AUTO;
    if (rc == 0)
        rc = cli_get_char(a, "delimiter", &o->delimiter);
    if (rc == 0)
        rc = cli_get_size(a, "skip-lines", 0, SIZE_MAX, &o->skip_lines);
    if (rc == 0)
        rc = cli_get_char(a, "comment", &o->comment);
    if (rc == 0 && o->label_column != NULL) {
        const char *c = o->label_column;
        if (c[0] == '\0')
            return cli_usage(a->cmd,
                             "--label-column: expected a column number (from 1) or "
                             "a header name, got ''");
        bool digits = true;
        for (const char *p = c; *p; p++)
            digits = digits && isdigit((unsigned char)*p);
        if (digits && strtoull(c, NULL, 10) == 0)
            return cli_usage(a->cmd, "--label-column: columns count from 1, got '%s'", c);
    }
    return rc;
}

/* ---- what a file is ------------------------------------------------------- */

typedef enum file_kind { KIND_TEXT, KIND_IDX, KIND_GZIP } file_kind;

/* The first bytes of path tell an IDX file (00 00, a known type, >= 1
 * dimension) and a gzip file (1f 8b) from text. */
static int sniff(const char *path, file_kind *kind)
{
    char shown[256];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cli_fail(EXIT_IO, "%s: cannot open: %s",
                        cli_quote(path, shown, sizeof shown), strerror(errno));
    unsigned char b[4] = {0};
    size_t n = fread(b, 1, 4, f);
    const bool bad = ferror(f);
    fclose(f);
    if (bad)
        return cli_fail(EXIT_IO, "%s: cannot read: %s",
                        cli_quote(path, shown, sizeof shown), strerror(errno));
    *kind = KIND_TEXT;
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        *kind = KIND_GZIP;
    else if (n == 4 && b[0] == 0 && b[1] == 0 && b[3] >= 1 &&
             (b[2] == 0x08 || b[2] == 0x09 || (b[2] >= 0x0B && b[2] <= 0x0E)))
        *kind = KIND_IDX;
    return 0;
}

/* A gzip file holds IDX data when it comes with --labels or its name says
 * so (MNIST's "train-images-idx3-ubyte.gz"); CSV otherwise. */
static bool gzip_is_idx(const char *path, const cli_data_opts *o)
{
    if (o->labels != NULL)
        return true;
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    return strstr(base, "idx") != NULL || strstr(base, "ubyte") != NULL;
}

/* ---- the readers this libsoma has ------------------------------------------ */

/* IDX into X (values as stored); *bytes tells whether they were unsigned
 * bytes, for which /255 is the natural scale. */
static soma_status read_idx(const char *path, soma_matrix *X, bool *bytes,
                            soma_error_info *err)
{
    soma_idx_info info;
    soma_status st = soma_idx_read_file(path, NULL, X, &info, NULL, err);
    *bytes = st == SOMA_OK && info.type == SOMA_IDX_U8;
    return st;
}

/* Text labels: names[i] for id i, read by the CSV reader. */
typedef struct text_labels {
    bool text;
    char **names;
    size_t n;
} text_labels;

static void free_text_labels(text_labels *tl)
{
    for (size_t i = 0; i < tl->n; i++)
        free(tl->names[i]);
    free(tl->names);
    memset(tl, 0, sizeof *tl);
}

static soma_status read_csv(const char *path, const cli_data_opts *o, bool with_label,
                            soma_matrix *X, soma_matrix *y, text_labels *tl,
                            soma_error_info *err)
{
    memset(tl, 0, sizeof *tl);
    soma_csv_options co = soma_csv_defaults();
    co.delimiter = o->delimiter;
    co.header = o->header;
    co.skip_lines = o->skip_lines;
    co.comment = o->comment;
    if (!with_label) {
        co.label = SOMA_CSV_LABEL_NONE;
    } else if (o->label_column == NULL || strcmp(o->label_column, "last") == 0) {
        co.label = SOMA_CSV_LABEL_LAST;
    } else {
        bool digits = true;
        for (const char *p = o->label_column; *p; p++)
            digits = digits && isdigit((unsigned char)*p);
        if (digits) {
            co.label = SOMA_CSV_LABEL_INDEX;
            co.label_index = (size_t)strtoull(o->label_column, NULL, 10) - 1;
        } else {
            co.label = SOMA_CSV_LABEL_NAME;
            co.label_name = o->label_column;
        }
    }
    /* Text labels become classes; ids in byte order of the names, so that
     * the class numbering does not depend on the order of the rows. */
    if (with_label) {
        co.label_type = o->text_labels ? SOMA_CSV_LABELS_TEXT : SOMA_CSV_LABELS_AUTO;
        co.sort_classes = true;
    }
    soma_csv_info info;
    memset(&info, 0, sizeof info);
    soma_status st =
        soma_csv_read_file(path, &co, X, with_label ? y : NULL, &info, NULL, err);
    if (st != SOMA_OK || !info.text_labels)
        return st;
    /* The program keeps its own copies: its tables outlive the info. */
    tl->text = true;
    tl->names = calloc(info.classes > 0 ? info.classes : 1, sizeof *tl->names);
    for (size_t i = 0; tl->names != NULL && i < info.classes; i++) {
        size_t n = strlen(info.class_names[i]) + 1;
        if ((tl->names[i] = malloc(n)) == NULL)
            break;
        memcpy(tl->names[i], info.class_names[i], n);
        tl->n = i + 1;
    }
    const bool ok = tl->names != NULL && tl->n == info.classes;
    soma_csv_info_free(&info);
    if (!ok) {
        free_text_labels(tl);
        soma_matrix_free(X);
        soma_matrix_free(y);
        snprintf(err->message, sizeof err->message, "out of memory");
        return SOMA_ENOMEM;
    }
    return SOMA_OK;
}

/* The CSV reader's messages name its C options (skip_lines, label_type,
 * a 0-based label_index); say the same with the program's options. */
static void csv_message_for_cli(soma_error_info *err, const cli_data_opts *o)
{
    static const char *const swaps[][2] = {
        {"set skip_lines to ", "give --skip-lines "},
        {"which skip_lines drops", "which --skip-lines drops"},
        {"did you mean delimiter '", "did you mean --delimiter '"},
        {" (label_type AUTO found a number in the first data record); for class names "
         "set label_type to SOMA_CSV_LABELS_TEXT",
         " (the first data record's label is a number); for class names give "
         "--text-labels"},
        {"; for class names set label_type to SOMA_CSV_LABELS_TEXT",
         "; for class names give --text-labels"},
    };
    size_t index, fields;
    if (sscanf(err->message, "label column %zu does not exist: records have %zu fields",
               &index, &fields) == 2) {
        snprintf(err->message, sizeof err->message,
                 "--label-column %s: the records have %zu field%s (is the delimiter "
                 "right?)",
                 o->label_column != NULL ? o->label_column : "", fields,
                 fields == 1 ? "" : "s");
        return;
    }
    for (size_t i = 0; i < sizeof swaps / sizeof swaps[0]; i++) {
        char *at = strstr(err->message, swaps[i][0]);
        if (at == NULL)
            continue;
        char out[sizeof err->message];
        snprintf(out, sizeof out, "%.*s%s%s", (int)(at - err->message), err->message,
                 swaps[i][1], at + strlen(swaps[i][0]));
        memcpy(err->message, out, sizeof out);
    }
}

/* ---- tables ------------------------------------------------------------------ */

void cli_table_free(cli_table *t)
{
    soma_matrix_free(&t->X);
    soma_matrix_free(&t->y);
    for (size_t i = 0; i < t->n_names; i++)
        free(t->names[i]);
    free(t->names);
    memset(t, 0, sizeof *t);
}

static int table_idx(cli_table *t, const char *path, const cli_data_opts *o,
                     cli_labels_need need)
{
    soma_error_info err = {0};
    bool bytes = false;
    soma_status st = read_idx(path, &t->X, &bytes, &err);
    if (st != SOMA_OK)
        return cli_file_error(path, false, st, &err, NULL);
    t->idx = true;
    t->idx_bytes = bytes;
    if (o->labels == NULL) {
        if (need == CLI_LABELS_REQUIRED)
            return cli_fail(EXIT_USAGE,
                            "%s is an IDX file: give its labels file with "
                            "--labels FILE",
                            path);
        return 0;
    }
    file_kind kind = KIND_TEXT;
    int rc = sniff(o->labels, &kind);
    if (rc != 0)
        return rc;
    bool lbytes;
    st = read_idx(o->labels, &t->y, &lbytes, &err);
    if (st != SOMA_OK)
        return cli_file_error(o->labels, false, st, &err, NULL);
    if (t->y.cols != 1)
        return cli_fail(EXIT_DATA,
                        "%s: the labels file has %zu values per item, not 1: is it "
                        "an images file?",
                        o->labels, t->y.cols);
    if (t->y.rows != t->X.rows)
        return cli_fail(EXIT_DATA,
                        "%s: %zu labels for the %zu items of %s: give the labels "
                        "file that goes with it",
                        o->labels, t->y.rows, t->X.rows, path);
    t->has_labels = true;
    return 0;
}

static int table_csv(cli_table *t, const char *path, const cli_data_opts *o,
                     cli_labels_need need, size_t want_cols)
{
    soma_error_info err = {0};
    text_labels tl;
    if (o->labels != NULL)
        return cli_fail(EXIT_USAGE,
                        "%s is not an IDX file; --labels goes with IDX images "
                        "(a CSV file holds its labels in a column)",
                        path);
    soma_status st = read_csv(path, o, true, &t->X, &t->y, &tl, &err);
    if (st == SOMA_OK && need == CLI_LABELS_OPTIONAL && o->label_column == NULL &&
        want_cols != 0 && t->X.cols + 1 == want_cols) {
        /* As many columns as the model has inputs: no label column. */
        soma_matrix_free(&t->X);
        soma_matrix_free(&t->y);
        free_text_labels(&tl);
        st = read_csv(path, o, false, &t->X, NULL, &tl, &err);
        if (st != SOMA_OK) {
            csv_message_for_cli(&err, o);
            return cli_file_error(path, true, st, &err, NULL);
        }
        return 0;
    }
    if (st == SOMA_EINVAL) {
        /* Options the reader refuses (a delimiter that is a digit, a comment
         * byte that is the delimiter): the command line is at fault. */
        const bool opt = strncmp(err.message, "option ", 7) == 0;
        return cli_fail(EXIT_USAGE, "%s%s", opt ? "--" : "", err.message + (opt ? 7 : 0));
    }
    if (st != SOMA_OK) {
        const char *hint = NULL;
        csv_message_for_cli(&err, o);
        if (st == SOMA_EFORMAT && err.column > 0 &&
            strstr(err.message, " give --") == NULL &&
            strstr(err.message, "did you mean") == NULL)
            hint =
                "check the file, or the --delimiter, --header and --label-column options";
        return cli_file_error(path, true, st, &err, hint);
    }
    if (t->X.cols == 0) {
        free_text_labels(&tl);
        return cli_fail(EXIT_DATA,
                        "%s: one column only, the labels, and no features: if "
                        "its fields are not separated by '%s', give --delimiter",
                        path, o->delimiter == '\t' ? "\\t" : (char[]){o->delimiter, 0});
    }
    t->has_labels = true;
    t->text_labels = tl.text;
    t->names = tl.names;
    t->n_names = tl.n;
    return 0;
}

int cli_table_read(cli_table *t, const char *path, const cli_data_opts *o,
                   cli_labels_need need, size_t want_cols)
{
    memset(t, 0, sizeof *t);
    t->path = path;
    file_kind kind = KIND_TEXT;
    int rc = sniff(path, &kind);
    if (rc == 0) {
        if (kind == KIND_IDX || (kind == KIND_GZIP && gzip_is_idx(path, o)))
            rc = table_idx(t, path, o, need);
        else
            rc = table_csv(t, path, o, need, want_cols);
    }
    if (rc != 0)
        cli_table_free(t);
    return rc;
}
