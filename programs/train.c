/* soma train: read DATA, infer the task, fit a model with progress, save it
 * with everything predict needs (preprocessing, class names, metadata). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const cli_optdef train_opts[] = {
    {"output", 'o', true},  {"labels", 0, true},       {"label-column", 0, true},
    {"header", 0, true},    {"delimiter", 0, true},    {"skip-lines", 0, true},
    {"comment", 0, true},   {"layers", 0, true},       {"hidden", 0, true},
    {"optimizer", 0, true}, {"lr", 0, true},           {"schedule", 0, true},
    {"epochs", 0, true},    {"batch", 0, true},        {"val", 0, true},
    {"val-data", 0, true},  {"val-labels", 0, true},   {"early-stop", 0, true},
    {"l2", 0, true},        {"dropout", 0, true},      {"precision", 0, true},
    {"threads", 0, true},   {"seed", 0, true},         {"scale", 0, true},
    {"task", 0, true},      {"class-names", 0, true},  {"quiet", 'q', false},
    {"json", 0, false},     {"text-labels", 0, false},
};
#define N_TRAIN_OPTS (sizeof train_opts / sizeof train_opts[0])

#define MAX_LAYERS 64

typedef enum scale_kind {
    SCALE_AUTO,
    SCALE_STANDARD,
    SCALE_NONE,
    SCALE_DIVIDE
} scale_kind;

/* Everything the command line says, checked before any file is read. */
typedef struct train_cfg {
    const char *data, *output, *val_data, *class_names;
    cli_data_opts data_opts, val_opts;
    size_t hidden[MAX_LAYERS];
    size_t n_hidden;
    soma_activation activation;
    soma_optimizer optimizer;
    double lr;
    bool cosine;
    size_t epochs, batch, patience, threads;
    double val, l2, dropout;
    bool val_given, threads_given;
    uint64_t seed;
    soma_precision precision; /* --precision */
    scale_kind scale;
    double divisor;
    cli_task task;
    bool quiet, json;
} train_cfg;

static int parse_layers(const char *s, train_cfg *c)
{
    c->n_hidden = 0;
    if (strcmp(s, "none") == 0 || s[0] == '\0')
        return 0;
    const char *p = s;
    for (;;) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = (*p >= '0' && *p <= '9') ? strtoull(p, &end, 10) : 0;
        if (!(*p >= '0' && *p <= '9') || errno == ERANGE || v < 1 || v > 1000000 ||
            (*end != ',' && *end != '\0'))
            return cli_usage("train",
                             "--layers: expected widths from 1 to 1000000 "
                             "separated by commas (e.g. 256,128) or 'none', got "
                             "'%s'",
                             s);
        if (c->n_hidden == MAX_LAYERS)
            return cli_usage("train", "--layers: at most %d hidden layers", MAX_LAYERS);
        c->hidden[c->n_hidden++] = (size_t)v;
        if (*end == '\0')
            return 0;
        p = end + 1;
    }
}

static int parse_scale(const char *s, train_cfg *c)
{
    if (s == NULL || strcmp(s, "auto") == 0)
        c->scale = SCALE_AUTO;
    else if (strcmp(s, "standard") == 0)
        c->scale = SCALE_STANDARD;
    else if (strcmp(s, "none") == 0)
        c->scale = SCALE_NONE;
    else {
        char *end = NULL;
        double d = s[0] == '/' ? strtod(s + 1, &end) : 0;
        if (s[0] != '/' || end == s + 1 || *end != '\0' || !(d > 0) || !isfinite(d))
            return cli_usage("train",
                             "--scale: expected standard, none, auto or /N (e.g. "
                             "/255), got '%s'",
                             s);
        c->scale = SCALE_DIVIDE;
        c->divisor = d;
    }
    return 0;
}

static int parse_cfg(const cli_args *a, train_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->output = cli_get(a, "output");
    c->val_data = cli_get(a, "val-data");
    c->class_names = cli_get(a, "class-names");
    c->data = a->pos[0];
    c->activation = SOMA_ACTIVATION_RELU;
    c->optimizer = SOMA_OPTIMIZER_ADAM;
    c->epochs = 10;
    c->batch = 128;
    c->val = 0.1;
    c->seed = 42;
    c->quiet = cli_flag(a, "quiet");
    c->json = cli_flag(a, "json");
    c->hidden[0] = 256;
    c->hidden[1] = 128;
    c->n_hidden = 2;
    int rc = cli_data_opts_get(a, &c->data_opts);
    if (rc != 0)
        return rc;
    c->val_opts = c->data_opts;
    c->val_opts.labels = cli_get(a, "val-labels");
    if (c->val_opts.labels != NULL && c->val_data == NULL)
        return cli_usage("train", "--val-labels goes with --val-data");
    if (cli_get(a, "val") != NULL && c->val_data != NULL)
        return cli_usage("train",
                         "give --val (a fraction of DATA) or --val-data (a file), "
                         "not both");
    if (cli_get(a, "layers") != NULL && (rc = parse_layers(cli_get(a, "layers"), c)) != 0)
        return rc;
    const char *h = cli_get(a, "hidden");
    if (h != NULL && (soma_activation_from_name(h, &c->activation, NULL) != SOMA_OK ||
                      c->activation == SOMA_ACTIVATION_SOFTMAX))
        return cli_usage("train",
                         "--hidden: expected relu, leaky_relu, elu, tanh, "
                         "sigmoid, swish or identity, got '%s'",
                         h);
    static const char *const optims[] = {"sgd", "momentum", "nesterov", "adam", NULL};
    int k = 3;
    if ((rc = cli_get_choice(a, "optimizer", optims, &k)) != 0)
        return rc;
    c->optimizer = (soma_optimizer)k;
    c->lr = c->optimizer == SOMA_OPTIMIZER_ADAM ? 1e-3 : 1e-2;
    static const char *const schedules[] = {"constant", "cosine", NULL};
    int sch = 0;
    static const char *const precisions[] = {"f64", "f32", NULL};
    int prec = 0;
    static const char *const tasks[] = {"auto", "binary", "classes", "regression", NULL};
    int task = 0;
    if ((rc = cli_get_double(a, "lr", 0, INFINITY, true, &c->lr)) != 0 ||
        (rc = cli_get_choice(a, "schedule", schedules, &sch)) != 0 ||
        (rc = cli_get_size(a, "epochs", 1, 10000000, &c->epochs)) != 0 ||
        (rc = cli_get_size(a, "batch", 0, SIZE_MAX, &c->batch)) != 0 ||
        (rc = cli_get_double(a, "val", 0, 1, false, &c->val)) != 0 ||
        (rc = cli_get_size(a, "early-stop", 1, SIZE_MAX, &c->patience)) != 0 ||
        (rc = cli_get_double(a, "l2", 0, INFINITY, false, &c->l2)) != 0 ||
        (rc = cli_get_double(a, "dropout", 0, 1, false, &c->dropout)) != 0 ||
        (rc = cli_get_choice(a, "precision", precisions, &prec)) != 0 ||
        (rc = cli_get_size(a, "threads", 0, 4096, &c->threads)) != 0 ||
        (rc = cli_get_u64(a, "seed", &c->seed)) != 0 ||
        (rc = parse_scale(cli_get(a, "scale"), c)) != 0 ||
        (rc = cli_get_choice(a, "task", tasks, &task)) != 0)
        return rc;
    c->val_given = cli_get(a, "val") != NULL;
    c->threads_given = cli_get(a, "threads") != NULL;
    c->cosine = sch == 1;
    c->task = (cli_task)task;
    c->precision = prec == 1 ? SOMA_PRECISION_F32 : SOMA_PRECISION_F64;
    return 0;
}

/* The folder of `path` must exist and be writable: found out before an hour
 * of training rather than after. */
static int check_writable(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cli_fail(EXIT_IO,
                        "-o %s: is a directory; give a file name (e.g. %s/model.soma)",
                        path, path);
    if (access(dir, W_OK | X_OK) != 0)
        return cli_fail(EXIT_IO, "-o %s: cannot write in folder %s: %s", path, dir,
                        strerror(errno));
    return 0;
}

/* ---- threads: one setting for the BLAS and soma's loops (soma_threads_set) -------- */

static int apply_threads(size_t n, bool given)
{
    if (!given)
        return 0;
    soma_status st = soma_threads_set((int)n);
    int got = 0;
    if (st == SOMA_OK)
        st = soma_threads_get(&got);
    if (st != SOMA_OK)
        return cli_fail(EXIT_FAIL,
                        "--threads %zu: %s (this build's BLAS has no thread "
                        "setting)",
                        n, soma_status_string(st));
    if (n != 0 && (size_t)got != n)
        fprintf(stderr, "soma: note: --threads %zu: this build runs %d\n", n, got);
    return 0;
}

/* ---- the command line and the run, as metadata ----------------------------------- */

typedef struct text {
    char *s;
    size_t len, cap;
    bool oom;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = 2 * (t->len + (size_t)n + 1);
        char *s = realloc(t->s, cap);
        if (s == NULL) {
            t->oom = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* An argument as a POSIX shell reads it back. */
static void text_add_word(text *t, const char *w)
{
    bool plain = w[0] != '\0';
    for (const char *p = w; *p; p++)
        plain = plain && (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-_./,=:+%@",
                                 *p) != NULL);
    if (plain) {
        text_add(t, "%s", w);
        return;
    }
    text_add(t, "'");
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            text_add(t, "'\\''");
        else if (*p == '\n')
            text_add(t, "'$'\\n''");
        else
            text_add(t, "%c", *p);
    }
    text_add(t, "'");
}

static const char *stop_name(soma_stop_reason r, bool interrupted)
{
    if (interrupted)
        return "interrupted";
    switch (r) {
    case SOMA_STOP_EARLY:
        return "early_stopping";
    case SOMA_STOP_CALLBACK:
        return "interrupted";
    case SOMA_STOP_DIVERGED:
        return "diverged";
    default:
        return "epochs";
    }
}

/* The figures of the parameters the model ends with. */
static const soma_epoch_stats *final_stats(const soma_history *h)
{
    if (h->n_epochs == 0)
        return NULL;
    if (h->restored && h->best_epoch < h->n_epochs)
        return &h->epochs[h->best_epoch];
    return &h->epochs[h->n_epochs - 1];
}

static void text_num(text *t, const char *key, double v)
{
    if (isfinite(v))
        text_add(t, "%s=%.6g\n", key, v);
}

/* ---- the run ---------------------------------------------------------------------- */

typedef struct run {
    train_cfg cfg;
    cli_table data, val;
    cli_classes classes;
    soma_scaler scaler;
    soma_mlp *mlp;
    soma_history history;
    cli_progress progress;
    double seconds;
    size_t sizes[MAX_LAYERS + 2];
    size_t n_sizes;
    const char *scale_name;
} run;

static int prepare_scale(run *r)
{
    train_cfg *c = &r->cfg;
    if (c->scale == SCALE_AUTO)
        c->scale = r->data.idx_bytes ? SCALE_DIVIDE : SCALE_STANDARD;
    if (c->scale == SCALE_DIVIDE && c->divisor == 0)
        c->divisor = 255;
    soma_error_info err = {0};
    soma_status st = SOMA_OK;
    switch (c->scale) {
    case SCALE_NONE:
        r->scale_name = "none";
        return 0;
    case SCALE_DIVIDE:
        r->scale_name = "divide";
        st =
            soma_scaler_init_fixed(&r->scaler, r->data.X.cols, 0, c->divisor, NULL, &err);
        break;
    default:
        r->scale_name = "standard";
        st = soma_scaler_fit(&r->scaler, &r->data.X, NULL, &err);
        break;
    }
    if (st == SOMA_OK)
        st = soma_scaler_transform(&r->scaler, &r->data.X, &r->data.X, &err);
    if (st == SOMA_OK && r->val.X.rows > 0)
        st = soma_scaler_transform(&r->scaler, &r->val.X, &r->val.X, &err);
    if (st != SOMA_OK)
        return cli_fail(cli_exit_code(st), "%s: cannot scale the data: %s", c->data,
                        err.message);
    return 0;
}

static int make_model(run *r)
{
    const train_cfg *c = &r->cfg;
    soma_mlp_spec spec;
    size_t out;
    if (r->classes.task == CLI_TASK_REGRESSION) {
        spec = soma_mlp_spec_classifier(2);
        spec.output = SOMA_ACTIVATION_IDENTITY;
        spec.loss = SOMA_LOSS_MSE;
        out = 1;
    } else {
        spec = soma_mlp_spec_classifier(r->classes.k);
        out = soma_classifier_outputs(r->classes.k);
    }
    spec.hidden = c->activation;
    spec.hidden_alpha = 0;
    const bool relu_like = c->activation == SOMA_ACTIVATION_RELU ||
                           c->activation == SOMA_ACTIVATION_LEAKY_RELU ||
                           c->activation == SOMA_ACTIVATION_ELU ||
                           c->activation == SOMA_ACTIVATION_SWISH;
    spec.init = relu_like ? SOMA_INIT_HE_NORMAL : SOMA_INIT_XAVIER_UNIFORM;
    spec.seed = c->seed;
    spec.precision = c->precision;
    r->n_sizes = 0;
    r->sizes[r->n_sizes++] = r->data.X.cols;
    for (size_t i = 0; i < c->n_hidden; i++)
        r->sizes[r->n_sizes++] = c->hidden[i];
    r->sizes[r->n_sizes++] = out;
    soma_error_info err = {0};
    soma_status st = soma_mlp_create(&r->mlp, r->sizes, r->n_sizes, &spec, NULL, &err);
    if (st == SOMA_OK && r->classes.names != NULL)
        st = soma_mlp_set_class_names(r->mlp, (const char *const *)r->classes.names,
                                      r->classes.k, &err);
    if (st == SOMA_OK && r->scaler.mean.cols > 0)
        st = soma_mlp_set_preprocessing(r->mlp, &r->scaler, &err);
    if (st != SOMA_OK)
        return cli_fail(st == SOMA_ENOMEM || st == SOMA_EOVERFLOW ? EXIT_FAIL
                                                                  : EXIT_USAGE,
                        "cannot create the model: %s", err.message);
    return 0;
}

/* The validation fraction must leave rows on both sides (as soma_mlp_fit
 * counts them: the fraction of the rows, rounded). The default 0.1 is
 * dropped for data too small to split. */
static int check_validation(run *r)
{
    train_cfg *c = &r->cfg;
    const size_t n = r->data.X.rows;
    if (c->val_data != NULL || c->val == 0)
        return 0;
    const long long n_val = llround(c->val * (double)n);
    if (n_val >= 1 && (size_t)n_val < n)
        return 0;
    if (!c->val_given) {
        c->val = 0;
        return 0;
    }
    return cli_usage("train",
                     "--val %g of %zu rows holds out %lld rows: give a fraction "
                     "that leaves rows on both sides, or --val 0",
                     c->val, n, n_val);
}

static void build_metadata(const run *r, int argc, char **argv, bool interrupted,
                           text *meta)
{
    const train_cfg *c = &r->cfg;
    text_add(meta, "soma=%s\ncommand=soma train", soma_version_string());
    for (int i = 0; i < argc; i++) {
        text_add(meta, " ");
        text_add_word(meta, argv[i]);
    }
    text_add(meta, "\ndata=%s\n", c->data);
    if (c->data_opts.labels != NULL)
        text_add(meta, "labels=%s\n", c->data_opts.labels);
    if (c->val_data != NULL)
        text_add(meta, "validation=%s\n", c->val_data);
    else
        text_add(meta, "validation=%g\n", c->val);
    text_add(meta, "task=%s\nrows=%zu\nfeatures=%zu\n", cli_task_name(r->classes.task),
             r->data.X.rows, r->data.X.cols);
    if (c->scale == SCALE_DIVIDE)
        text_add(meta, "preprocessing=/%g\n", c->divisor);
    else
        text_add(meta, "preprocessing=%s\n", r->scale_name);
    text_add(meta, "precision=%s\n", soma_precision_name(c->precision));
    text_add(meta, "optimizer=%s\nlearning_rate=%g\nschedule=%s\nbatch=%zu\nepochs=%zu\n",
             soma_optimizer_name(c->optimizer), c->lr, c->cosine ? "cosine" : "constant",
             c->batch, c->epochs);
    if (c->l2 > 0)
        text_add(meta, "l2=%g\n", c->l2);
    if (c->dropout > 0)
        text_add(meta, "dropout=%g\n", c->dropout);
    if (c->patience > 0)
        text_add(meta, "early_stop=%zu\n", c->patience);
    const soma_history *h = &r->history;
    text_add(meta, "epochs_run=%zu\nstop=%s\n", h->n_epochs,
             stop_name(h->stop, interrupted));
    if (h->restored)
        text_add(meta, "best_epoch=%zu\n", h->best_epoch + 1);
    const soma_epoch_stats *f = final_stats(h);
    if (f != NULL) {
        text_num(meta, "train_loss", f->loss);
        text_num(meta, "train_accuracy", f->accuracy);
        text_num(meta, "val_loss", f->val_loss);
        text_num(meta, "val_accuracy", f->val_accuracy);
    }
    text_add(meta, "seconds=%.3f\n", r->seconds);
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    if (gmtime_r(&now, &tm) != NULL &&
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        text_add(meta, "finished=%s\n", when);
}

static void json_result(const run *r, const char *status, bool saved, bool interrupted)
{
    const soma_history *h = &r->history;
    const soma_epoch_stats *f = final_stats(h);
    cli_json j;
    cli_json_begin(&j, stdout);
    cli_json_str(&j, "type", "result");
    cli_json_str(&j, "status", status);
    cli_json_str(&j, "stop", stop_name(h->stop, interrupted));
    cli_json_int(&j, "epochs_run", h->n_epochs);
    cli_json_int(&j, "best_epoch", h->best_epoch + 1);
    cli_json_bool(&j, "restored", h->restored);
    cli_json_num(&j, "loss", f != NULL ? f->loss : NAN);
    cli_json_num(&j, "accuracy", f != NULL ? f->accuracy : NAN);
    cli_json_num(&j, "val_loss", f != NULL ? f->val_loss : NAN);
    cli_json_num(&j, "val_accuracy", f != NULL ? f->val_accuracy : NAN);
    cli_json_num(&j, "seconds", r->seconds);
    cli_json_str(&j, "task", cli_task_name(r->classes.task));
    cli_json_int(&j, "rows", r->data.X.rows);
    cli_json_int(&j, "features", r->data.X.cols);
    cli_json_int(&j, "parameters", soma_mlp_n_params(r->mlp));
    cli_json_str(&j, "model", saved ? r->cfg.output : NULL);
    cli_json_end(&j);
}

static int fit(run *r)
{
    const train_cfg *c = &r->cfg;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = c->epochs;
    o.batch_size = c->batch;
    o.shuffle = true;
    o.seed = c->seed;
    o.optimizer = soma_optim_config_default(c->optimizer);
    o.learning_rate = c->lr;
    if (c->cosine) {
        o.schedule.kind = SOMA_SCHEDULE_COSINE;
        o.schedule.period = c->epochs;
        o.schedule.lr_min = 0;
    }
    o.l2 = c->l2;
    o.dropout = c->dropout;
    if (c->val_data != NULL) {
        o.X_val = &r->val.X;
        o.Y_val = &r->val.y;
    } else {
        o.validation_fraction = c->val;
    }
    if (c->patience > 0) {
        o.early_stopping = true;
        o.patience = c->patience;
        o.restore_best = true;
    }
    /* The rows per epoch come with the first batch. */
    cli_progress_init(&r->progress, c->quiet, c->json, c->epochs, 0,
                      r->classes.task == CLI_TASK_REGRESSION);
    o.callback = cli_progress_epoch;
    o.batch_callback = cli_progress_batch;
    o.callback_user = &r->progress;
    soma_error_info err = {0};
    cli_interrupt_install();
    const double t0 = cli_now();
    soma_status st = soma_mlp_fit(r->mlp, &r->data.X, &r->data.y, &o, &r->history, &err);
    r->seconds = cli_now() - t0;
    cli_interrupt_restore();
    cli_progress_end(&r->progress);
    if (st == SOMA_ENONFINITE && r->history.stop == SOMA_STOP_DIVERGED) {
        if (c->json)
            json_result(r, "diverged", false, false);
        return cli_fail(
            EXIT_DIVERGED,
            "training diverged in epoch %zu of %zu (the loss or a weight became "
            "NaN or infinite); nothing saved: lower --lr (now %g)%s",
            r->history.n_epochs, c->epochs, c->lr,
            c->scale == SCALE_NONE ? " or scale the data (--scale standard)" : "");
    }
    if (st != SOMA_OK)
        return cli_fail(cli_exit_code(st), "training failed: %s", err.message);
    return 0;
}

static int save(run *r, int argc, char **argv, bool interrupted)
{
    text meta = {0};
    build_metadata(r, argc, argv, interrupted, &meta);
    if (meta.oom)
        return cli_fail(EXIT_FAIL, "out of memory");
    soma_error_info err = {0};
    soma_status st = soma_mlp_set_metadata(r->mlp, meta.s, &err);
    free(meta.s);
    if (st == SOMA_OK)
        st = soma_mlp_save(r->mlp, r->cfg.output, false, &err);
    if (st != SOMA_OK)
        return cli_fail(cli_exit_code(st) == EXIT_IO ? EXIT_IO : EXIT_FAIL,
                        "-o %s: the model was not saved: %s", r->cfg.output, err.message);
    return 0;
}

static void summary(const run *r, bool saved, bool interrupted)
{
    if (r->cfg.quiet)
        return;
    const soma_history *h = &r->history;
    const soma_epoch_stats *f = final_stats(h);
    if (interrupted)
        fprintf(stderr, "interrupted in epoch %zu of %zu", h->n_epochs, r->cfg.epochs);
    else if (h->stop == SOMA_STOP_EARLY)
        fprintf(stderr,
                "early stopping after epoch %zu of %zu (no improvement for %zu "
                "epochs)",
                h->n_epochs, r->cfg.epochs, r->cfg.patience);
    else
        fprintf(stderr, "trained %zu epoch%s", h->n_epochs, h->n_epochs == 1 ? "" : "s");
    char secs[32];
    cli_fmt_seconds(secs, sizeof secs, r->seconds);
    fprintf(stderr, "%s %s", interrupted || h->stop == SOMA_STOP_EARLY ? " after" : " in",
            secs);
    if (h->restored)
        fprintf(stderr, "; the model holds epoch %zu's parameters (the best)",
                h->best_epoch + 1);
    fputc('\n', stderr);
    if (saved) {
        fprintf(stderr, "saved %s: ", r->cfg.output);
        for (size_t i = 0; i < r->n_sizes; i++)
            fprintf(stderr, "%s%zu", i > 0 ? " -> " : "", r->sizes[i]);
        fprintf(stderr, ", %zu parameters", soma_mlp_n_params(r->mlp));
        if (f != NULL && isfinite(f->val_accuracy))
            fprintf(stderr, ", val_acc %.4f", f->val_accuracy);
        else if (f != NULL && isfinite(f->val_loss))
            fprintf(stderr, ", val_loss %.4g", f->val_loss);
        fputc('\n', stderr);
    } else if (r->cfg.output == NULL) {
        fprintf(stderr, "the model was not saved (no -o MODEL)\n");
    }
}

static void run_free(run *r)
{
    cli_table_free(&r->data);
    cli_table_free(&r->val);
    cli_classes_free(&r->classes);
    soma_scaler_free(&r->scaler);
    soma_history_free(&r->history);
    soma_mlp_destroy(r->mlp);
}

static int train(run *r, int argc, char **argv)
{
    train_cfg *c = &r->cfg;
    int rc;
    if (c->output != NULL && (rc = check_writable(c->output)) != 0)
        return rc;
    if ((rc = apply_threads(c->threads, c->threads_given)) != 0)
        return rc;
    if ((rc = cli_table_read(&r->data, c->data, &c->data_opts, CLI_LABELS_REQUIRED, 0)) !=
        0)
        return rc;
    if ((rc = cli_classes_infer(&r->data, c->task, c->class_names, &r->classes)) != 0)
        return rc;
    if (c->val_data != NULL) {
        if ((rc = cli_table_read(&r->val, c->val_data, &c->val_opts, CLI_LABELS_REQUIRED,
                                 0)) != 0 ||
            (rc = cli_classes_map(&r->val, &r->classes)) != 0)
            return rc;
        if (r->val.X.cols != r->data.X.cols)
            return cli_fail(EXIT_DATA, "%s: %zu feature columns, but %s has %zu",
                            c->val_data, r->val.X.cols, c->data, r->data.X.cols);
    }
    if ((rc = check_validation(r)) != 0 || (rc = prepare_scale(r)) != 0 ||
        (rc = make_model(r)) != 0)
        return rc;
    if (!c->quiet) {
        fprintf(stderr, "%s: %zu rows, %zu feature%s; task %s", c->data, r->data.X.rows,
                r->data.X.cols, r->data.X.cols == 1 ? "" : "s",
                cli_task_name(r->classes.task));
        if (r->classes.task != CLI_TASK_REGRESSION)
            fprintf(stderr, " (%zu classes)", r->classes.k);
        fprintf(stderr, "; model ");
        for (size_t i = 0; i < r->n_sizes; i++)
            fprintf(stderr, "%s%zu", i > 0 ? "-" : "", r->sizes[i]);
        fprintf(stderr, ", %zu parameters\n", soma_mlp_n_params(r->mlp));
    }
    rc = fit(r);
    if (rc != 0)
        return rc;
    const bool interrupted = cli_interrupted();
    bool saved = false;
    if (c->output != NULL) {
        if ((rc = save(r, argc, argv, interrupted)) != 0)
            return rc;
        saved = true;
    }
    if (c->json)
        json_result(r, interrupted ? "interrupted" : "ok", saved, interrupted);
    summary(r, saved, interrupted);
    if (interrupted)
        return cli_fail(EXIT_INTERRUPTED, "interrupted (Ctrl-C)%s",
                        saved ? "; the model "
                                "trained so far "
                                "is saved"
                              : "");
    return 0;
}

int cli_train(int argc, char **argv)
{
    const char *values[N_TRAIN_OPTS];
    cli_args a;
    int rc = cli_parse(&a, "train", train_opts, N_TRAIN_OPTS, values, argc, argv);
    if (rc != 0)
        return rc;
    if (a.help)
        return cli_help(stdout, "train");
    if (a.n_pos != 1)
        return cli_usage("train", a.n_pos == 0 ? "missing DATA"
                                               : "too many arguments "
                                                 "(one DATA file)");
    run r;
    memset(&r, 0, sizeof r);
    if ((rc = parse_cfg(&a, &r.cfg)) == 0)
        rc = train(&r, argc, argv);
    run_free(&r);
    return rc;
}
