/* The soma program: declarations shared by its files (not installed).
 *
 * The program is a thin layer over libsoma's public API (<soma.h>); what it
 * adds of its own (argument parsing, label tables, progress lines, JSON,
 * text tables, writing a CSV of class names) lives here, in programs/. */
#ifndef SOMA_CLI_H
#define SOMA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <soma.h>

/* ---- exit status (documented in `soma --help` and docs/cli.md) ---------- */
enum {
    EXIT_OK = 0,           /* success */
    EXIT_FAIL = 1,         /* anything else: out of memory, unsupported, bug */
    EXIT_USAGE = 2,        /* bad command line */
    EXIT_DATA = 3,         /* a data or model file's content is wrong */
    EXIT_IO = 4,           /* a file cannot be read or written */
    EXIT_DIVERGED = 5,     /* training diverged (a loss became NaN or infinite) */
    EXIT_INTERRUPTED = 130 /* Ctrl-C (SIGINT) during training */
};

/* ---- messages ----------------------------------------------------------- */

/* Print "soma: <message>" on stderr (one line) and return code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error: "soma: <message> (see 'soma help CMD')"; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report a failed library call on a file: one line naming the file, the
 * place soma_error_info gives (line:column for text, byte offset for binary
 * files), the library's message and `hint` (may be NULL). Returns the exit
 * code for st (cli_exit_code). */
int cli_file_error(const char *path, bool text, soma_status st,
                   const soma_error_info *err, const char *hint);

/* The exit code of a status met while reading or using a file's content. */
int cli_exit_code(soma_status st);

/* A printable copy of a user string for messages: at most `cap - 1` bytes,
 * control bytes as '?', "..." when cut. */
const char *cli_quote(const char *s, char *buf, size_t cap);

/* ---- command-line parsing (args.c) --------------------------------------- */

/* One option a command accepts. */
typedef struct cli_optdef {
    const char *name; /* long name without "--", e.g. "epochs" */
    char short_name;  /* e.g. 'o', or 0 */
    bool has_value;   /* takes an argument */
} cli_optdef;

#define CLI_MAX_POSITIONAL 4

/* What parsing found: the value of each option (NULL when absent; "" for a
 * flag that is present) and the positional arguments. */
typedef struct cli_args {
    const char *cmd;
    const cli_optdef *defs;
    size_t n_defs;
    const char **values; /* n_defs entries */
    const char *pos[CLI_MAX_POSITIONAL];
    size_t n_pos;
    bool help; /* --help or -h was given */
} cli_args;

/* Parse argv[0..argc) (the words after the command name). Options may come
 * before, between or after the positional arguments; "--name=value",
 * "--name value", "-o value" and "-ovalue" are accepted; "--" ends the
 * options. `values` must have room for n_defs pointers. Returns 0 or
 * EXIT_USAGE (message printed). */
int cli_parse(cli_args *a, const char *cmd, const cli_optdef *defs, size_t n_defs,
              const char **values, int argc, char **argv);

/* The value of option `name` (NULL when not given). */
const char *cli_get(const cli_args *a, const char *name);
bool cli_flag(const cli_args *a, const char *name);

/* Typed values of options, each a usage error (message printed, EXIT_USAGE
 * returned) when the text is not what the option takes; *out is left
 * alone when the option is absent. */
int cli_get_size(const cli_args *a, const char *name, size_t min, size_t max,
                 size_t *out);
int cli_get_double(const cli_args *a, const char *name, double min, double max,
                   bool min_open, double *out);
int cli_get_u64(const cli_args *a, const char *name, uint64_t *out);
int cli_get_char(const cli_args *a, const char *name, char *out);
/* One of `choices` (a NULL-terminated list); *out = its index. */
int cli_get_choice(const cli_args *a, const char *name, const char *const *choices,
                   int *out);

/* ---- data files (data.c) -------------------------------------------------- */

/* How DATA files are read: the options every data-taking command shares. */
typedef struct cli_data_opts {
    const char *labels;       /* --labels: the labels file of an IDX pair */
    const char *label_column; /* --label-column: NULL (the last), N (1-based) or a name */
    soma_csv_header header;   /* --header */
    char delimiter;           /* --delimiter */
    size_t skip_lines;        /* --skip-lines */
    char comment;             /* --comment, or 0 */
    bool text_labels;         /* --text-labels: labels are class names, even "1" */
} cli_data_opts;

/* Reads the data options of a command line; returns 0 or EXIT_USAGE. */
int cli_data_opts_get(const cli_args *a, cli_data_opts *o);

/* Whether a table must have labels. */
typedef enum cli_labels_need {
    CLI_LABELS_REQUIRED, /* train, eval */
    CLI_LABELS_OPTIONAL  /* predict: a CSV may have a label column or not */
} cli_labels_need;

/* A data set as read. */
typedef struct cli_table {
    soma_matrix X;    /* n x d features */
    soma_matrix y;    /* n x 1 labels (numbers, or ids into names); empty without */
    bool has_labels;  /* y was read */
    bool text_labels; /* y holds ids 0..n_names-1 into names */
    char **names;     /* the text labels' names (owned) */
    size_t n_names;
    bool idx;         /* read from IDX files */
    bool idx_bytes;   /* IDX images of unsigned bytes (so /255 is natural) */
    const char *path; /* the DATA file (not owned) */
} cli_table;

/* Read DATA at path into t (zeroed first). `want_cols`, when not 0, is the
 * number of features a model takes: with CLI_LABELS_OPTIONAL a CSV with
 * exactly that many columns is read without a label column. Returns 0 or an
 * exit code (message printed). */
int cli_table_read(cli_table *t, const char *path, const cli_data_opts *o,
                   cli_labels_need need, size_t want_cols);
void cli_table_free(cli_table *t);

/* ---- tasks and classes (labels.c) ---------------------------------------- */

typedef enum cli_task {
    CLI_TASK_AUTO = 0,
    CLI_TASK_BINARY,
    CLI_TASK_CLASSES,
    CLI_TASK_REGRESSION
} cli_task;

/* What a model predicts: k classes (2 for binary) with optional names, or
 * one real value. */
typedef struct cli_classes {
    cli_task task; /* BINARY, CLASSES or REGRESSION */
    size_t k;      /* classes (2 for binary, 0 for regression) */
    char **names;  /* k names or NULL (owned) */
    bool numeric;  /* the names are the numbers the labels held ("3", "-1") */
} cli_classes;

/* Infer the task from the training labels (unless `task` forces it) and
 * turn t->y into class ids 0..k-1 for classification. `names_opt` (or
 * NULL) is --class-names, a comma-separated list for numeric ids. Returns 0
 * or an exit code (message printed). */
int cli_classes_infer(cli_table *t, cli_task task, const char *names_opt, cli_classes *c);

/* Map another table's labels (validation, eval) onto the classes c: text
 * labels by name, numbers by their value when c's names are numbers, else
 * as ids 0..k-1. Returns 0 or an exit code (message printed). */
int cli_classes_map(cli_table *t, const cli_classes *c);

/* The classes a loaded model predicts (names copied from the model). */
int cli_classes_from_model(const soma_mlp *mlp, cli_classes *c);
void cli_classes_free(cli_classes *c);

/* Name of class i, e.g. "red", or its number when the model has none. */
const char *cli_class_name(const cli_classes *c, size_t i, char *buf, size_t cap);

/* "binary", "classes", "regression" */
const char *cli_task_name(cli_task t);

/* ---- progress and interruption (progress.c) ------------------------------- */

typedef struct cli_progress {
    bool quiet, json, tty;
    size_t epochs;          /* epochs asked for */
    size_t rows;            /* training rows per epoch */
    bool regression;        /* no accuracy */
    double t_start;         /* monotonic seconds at the start of fit */
    double t_epoch;         /* start of the current epoch */
    double t_draw;          /* last redraw of the live line */
    size_t drawn;           /* characters of the live line on screen */
    size_t epochs_seen;     /* epoch callbacks so far */
    size_t last_epoch;      /* 0-based epoch of the last batch seen */
    size_t last_batch_rows; /* rows done in it */
} cli_progress;

double cli_now(void);
/* "12.3ms", "4.56s", "123s" */
void cli_fmt_seconds(char *buf, size_t cap, double s);

/* Set up progress reporting for a fit of `epochs` epochs of `rows` rows. */
void cli_progress_init(cli_progress *p, bool quiet, bool json, size_t epochs, size_t rows,
                       bool regression);
int cli_progress_batch(void *user, const soma_batch_stats *s);
int cli_progress_epoch(void *user, const soma_epoch_stats *s);
/* Clear a live line left on the terminal (after an interrupted epoch). */
void cli_progress_end(cli_progress *p);

/* SIGINT: the first one sets a flag that the callbacks read (training stops
 * at the end of the current batch) and restores the default action, so a
 * second one ends the program at once. */
void cli_interrupt_install(void);
void cli_interrupt_restore(void);
bool cli_interrupted(void);

/* ---- JSON output (progress.c) ---------------------------------------------- */

/* Writers of one JSON object: cli_json_begin(f), then fields, then end. */
typedef struct cli_json {
    FILE *f;
    bool first;
} cli_json;
void cli_json_begin(cli_json *j, FILE *f);
void cli_json_num(cli_json *j, const char *key, double v); /* NaN, inf -> null */
void cli_json_int(cli_json *j, const char *key, size_t v);
void cli_json_str(cli_json *j, const char *key, const char *s); /* NULL -> null */
void cli_json_bool(cli_json *j, const char *key, bool v);
void cli_json_raw(cli_json *j, const char *key, const char *raw);
void cli_json_end(cli_json *j); /* "}\n" and flush */
void cli_json_string(FILE *f, const char *s);

/* ---- commands ---------------------------------------------------------------- */

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_info(int argc, char **argv);

/* ---- models (model.c) -------------------------------------------------------- */

/* Load a model written by soma train; a clear message when the file is a
 * perceptron or a scaler. Returns 0 or an exit code (message printed). */
int cli_model_load(const char *path, soma_mlp **out);

/* Apply the model's preprocessing to X in place (nothing when it has none).
 * Returns 0 or an exit code (message printed). */
int cli_model_prepare(const soma_mlp *mlp, const char *model_path, cli_table *t);

/* ---- help (help.c) ---------------------------------------------------------- */

/* Print the manual page of a command ("soma" for the program) to f;
 * returns 0, or EXIT_USAGE for an unknown command. */
int cli_help(FILE *f, const char *cmd);

#endif /* SOMA_CLI_H */
