/* No data lost.
 *
 * Faults (run with --faults; needs a build with -Dfault_injection=true,
 * otherwise it reports a skip): every file writer of the library (MLP
 * save with and without optimizer state, perceptron save, CSV write) is
 * made to fail at each step of its atomic replacement (SOMA_FAULT=write,
 * fsync, rename), and the MLP and CSV writers in the middle of their
 * stream (SOMA_FAULT=write-after:N). Each failure must return SOMA_EIO and
 * leave the previous file byte-identical and loadable, with no temporary
 * file next to it; a failed first save must create nothing.
 *
 * Divergence (the default): training that overflows keeps the last
 * parameters a finite loss was measured at, for full-batch and minibatch
 * training and under early stopping with restore_best, and the model can
 * still predict, be saved and be loaded. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

/* ---- helpers ------------------------------------------------------------- */

static char dir[64], file[128];

static void make_dir(void)
{
    strcpy(dir, "/tmp/soma-durability-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/target", dir);
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Entries in the folder (a temporary file left behind would count). */
static int entries(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | wc -l)", dir);
    int st = system(cmd);
    return st < 0 ? -1 : (st >> 8) & 0xFF;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static bool exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0;
}

/* ---- the writers under test ------------------------------------------------ */

/* Two versions of what a writer saves: version 0 is the "old" file, version
 * 1 the save that fails. `loads` checks that the file holds version 0. */
typedef struct writer {
    const char *name;
    soma_status (*save)(int version);
    void (*loads_old)(void);
} writer;

static soma_mlp *models[2];
static soma_perceptron *perceptrons[2];
static soma_matrix tables[2];

static soma_mlp *mlp_version(int v)
{
    const size_t sizes[3] = {3, 5, 2};
    soma_mlp_spec s = soma_mlp_spec_default();
    s.output = SOMA_ACTIVATION_SOFTMAX;
    s.loss = SOMA_LOSS_CE;
    s.seed = 10 + (uint64_t)v;
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &s, NULL, NULL), SOMA_OK);
    /* Give it optimizer state, so that with_optimizer writes some. */
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_init(&X, 20, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 20, 2, NULL), SOMA_OK);
    test_fill_random(&X, 30 + (uint64_t)v);
    for (size_t i = 0; i < 20; i++)
        Y.data[2 * i + (X.data[3 * i] > 0)] = 1.0;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 2;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
    return m;
}

static soma_status save_mlp(int v)
{
    return soma_mlp_save(models[v], file, false, NULL);
}

static soma_status save_mlp_opt(int v)
{
    return soma_mlp_save(models[v], file, true, NULL);
}

static void same_params(soma_mlp *a, soma_mlp *b)
{
    soma_matrix pa, pb;
    ck_assert_int_eq(soma_mlp_params(a, &pa, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_params(b, &pb, NULL), SOMA_OK);
    ck_assert_uint_eq(pa.cols, pb.cols);
    ck_assert_mem_eq(pa.data, pb.data, pa.cols * sizeof(double));
}

static void mlp_loads_old(void)
{
    soma_mlp *m = NULL;
    soma_error_info err;
    soma_status st = soma_mlp_load(&m, file, NULL, &err);
    ck_assert_msg(st == SOMA_OK, "old model no longer loads: %s", err.message);
    same_params(m, models[0]);
    soma_mlp_destroy(m);
}

static soma_perceptron *perceptron_version(int v)
{
    soma_perceptron *p;
    ck_assert_int_eq(soma_perceptron_create(&p, NULL, NULL, NULL), SOMA_OK);
    soma_matrix X, y;
    ck_assert_int_eq(soma_matrix_init(&X, 20, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&y, 20, 1, NULL), SOMA_OK);
    test_fill_random(&X, 40 + (uint64_t)v);
    for (size_t i = 0; i < 20; i++)
        y.data[i] = X.data[2 * i] > (v ? 0.2 : -0.2) ? 1.0 : 0.0;
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, (uint64_t)v), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &r, NULL), SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    return p;
}

static soma_status save_perceptron(int v)
{
    return soma_perceptron_save(perceptrons[v], file, NULL);
}

static void perceptron_loads_old(void)
{
    soma_perceptron *p = NULL;
    ck_assert_int_eq(soma_perceptron_load(&p, file, NULL, NULL), SOMA_OK);
    double w0[2], w1[2], b0, b1;
    soma_matrix W0, W1;
    ck_assert_int_eq(soma_matrix_view(&W0, w0, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&W1, w1, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &W0, &b0, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(perceptrons[0], &W1, &b1, NULL),
                     SOMA_OK);
    ck_assert_mem_eq(w0, w1, sizeof w0);
    ck_assert_mem_eq(&b0, &b1, sizeof b0);
    soma_perceptron_destroy(p);
}

static soma_status save_csv(int v)
{
    static const char *const names[3] = {"x0", "x1", "x2"};
    return soma_csv_write(file, &tables[v], NULL, names, NULL);
}

static void csv_loads_old(void)
{
    soma_matrix X;
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NONE;
    ck_assert_int_eq(soma_csv_read_file(file, &o, &X, NULL, NULL, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.rows, tables[0].rows);
    ck_assert_mem_eq(X.data, tables[0].data, X.rows * X.cols * sizeof(double));
    soma_matrix_free(&X);
}

static const writer writers[] = {
    {"soma_mlp_save", save_mlp, mlp_loads_old},
    {"soma_mlp_save (with optimizer)", save_mlp_opt, mlp_loads_old},
    {"soma_perceptron_save", save_perceptron, perceptron_loads_old},
    {"soma_csv_write", save_csv, csv_loads_old},
};

static void make_versions(void)
{
    for (int v = 0; v < 2; v++) {
        models[v] = mlp_version(v);
        perceptrons[v] = perceptron_version(v);
        ck_assert_int_eq(soma_matrix_init(&tables[v], 7, 3, NULL), SOMA_OK);
        test_fill_random(&tables[v], 50 + (uint64_t)v);
    }
}

static void free_versions(void)
{
    for (int v = 0; v < 2; v++) {
        soma_mlp_destroy(models[v]);
        soma_perceptron_destroy(perceptrons[v]);
        soma_matrix_free(&tables[v]);
    }
}

static const char *const steps[3] = {"write", "fsync", "rename"};

START_TEST(interrupted_saves_keep_the_old_file)
{
    const writer *w = &writers[_i];
    make_versions();
    make_dir();
    /* The old file, written without faults. */
    ck_assert_int_eq(w->save(0), SOMA_OK);
    size_t n_old;
    unsigned char *old = read_all(file, &n_old);
    w->loads_old();
    for (int s = 0; s < 3; s++) {
        ck_assert_int_eq(setenv("SOMA_FAULT", steps[s], 1), 0);
        soma_status st = w->save(1);
        ck_assert_int_eq(unsetenv("SOMA_FAULT"), 0);
        ck_assert_msg(st == SOMA_EIO, "%s failing at %s: %s", w->name, steps[s],
                      soma_status_string(st));
        size_t n_now;
        unsigned char *now = read_all(file, &n_now);
        ck_assert_msg(n_now == n_old && memcmp(now, old, n_old) == 0,
                      "%s failing at %s changed the old file", w->name, steps[s]);
        free(now);
        w->loads_old();
        ck_assert_msg(entries() == 1, "%s failing at %s left a temporary file", w->name,
                      steps[s]);
    }
    /* Without a fault the new version replaces the old one. */
    ck_assert_int_eq(w->save(1), SOMA_OK);
    size_t n_new;
    unsigned char *fresh = read_all(file, &n_new);
    ck_assert(n_new != n_old || memcmp(fresh, old, n_old) != 0);
    free(fresh);
    free(old);
    ck_assert_int_eq(entries(), 1);

    /* A first save that fails creates nothing. */
    ck_assert_int_eq(unlink(file), 0);
    for (int s = 0; s < 3; s++) {
        ck_assert_int_eq(setenv("SOMA_FAULT", steps[s], 1), 0);
        soma_status st = w->save(0);
        ck_assert_int_eq(unsetenv("SOMA_FAULT"), 0);
        ck_assert_int_eq(st, SOMA_EIO);
        ck_assert(!exists(file));
        ck_assert_int_eq(entries(), 0);
    }
    remove_dir();
    free_versions();
}
END_TEST

/* ---- a write that fails in the middle of its stream -------------------------
 * SOMA_FAULT=write-after:N makes every write to the temporary file fail once
 * N bytes have reached it, as a full disk would. The files here are many
 * times the stdio buffer (BUFSIZ), so the failure reaches the writer inside
 * its stream (fwrite of the serialized model, fprintf of a CSV number)
 * before the final flush: SOMA_EIO, the old file unchanged and loadable, no
 * temporary file; with N = the new file's size the save succeeds. */

static soma_mlp *big_models[2];
static soma_matrix big_tables[2];

static soma_status save_big_mlp(int v)
{
    return soma_mlp_save(big_models[v], file, false, NULL);
}

static void big_mlp_loads_old(void)
{
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_load(&m, file, NULL, NULL), SOMA_OK);
    same_params(m, big_models[0]);
    soma_mlp_destroy(m);
}

static soma_status save_big_csv(int v)
{
    return soma_csv_write(file, &big_tables[v], NULL, NULL, NULL);
}

static void big_csv_loads_old(void)
{
    soma_matrix X;
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NONE;
    o.header = SOMA_CSV_HEADER_NO;
    ck_assert_int_eq(soma_csv_read_file(file, &o, &X, NULL, NULL, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.rows, big_tables[0].rows);
    ck_assert_mem_eq(X.data, big_tables[0].data, X.rows * X.cols * sizeof(double));
    soma_matrix_free(&X);
}

static const writer big_writers[] = {
    {"soma_mlp_save", save_big_mlp, big_mlp_loads_old},
    {"soma_csv_write", save_big_csv, big_csv_loads_old},
};

START_TEST(writes_failing_mid_stream_keep_the_old_file)
{
    const writer *w = &big_writers[_i];
    const size_t sizes[3] = {64, 64, 8};
    for (int v = 0; v < 2; v++) {
        soma_mlp_spec s = soma_mlp_spec_default();
        s.seed = 60 + (uint64_t)v;
        ck_assert_int_eq(soma_mlp_create(&big_models[v], sizes, 3, &s, NULL, NULL), SOMA_OK);
        ck_assert_int_eq(soma_matrix_init(&big_tables[v], 2000, 3, NULL), SOMA_OK);
        test_fill_random(&big_tables[v], 70 + (uint64_t)v);
    }
    make_dir();
    /* The new file's bytes, written without a fault, then the old file. */
    ck_assert_int_eq(w->save(1), SOMA_OK);
    size_t n_new;
    unsigned char *fresh = read_all(file, &n_new);
    ck_assert_msg(n_new > 4 * BUFSIZ, "%s: %zu bytes do not outlast the stdio buffer",
                  w->name, n_new);
    ck_assert_int_eq(w->save(0), SOMA_OK);
    size_t n_old;
    unsigned char *old = read_all(file, &n_old);
    const size_t limits[6] = {0, 1, BUFSIZ - 1, BUFSIZ + 1, n_new / 2, n_new - 1};
    char env[64];
    for (int k = 0; k < 6; k++) {
        snprintf(env, sizeof env, "write-after:%zu", limits[k]);
        ck_assert_int_eq(setenv("SOMA_FAULT", env, 1), 0);
        soma_status st = w->save(1);
        ck_assert_int_eq(unsetenv("SOMA_FAULT"), 0);
        ck_assert_msg(st == SOMA_EIO, "%s with %s: %s", w->name, env,
                      soma_status_string(st));
        size_t n_now;
        unsigned char *now = read_all(file, &n_now);
        ck_assert_msg(n_now == n_old && memcmp(now, old, n_old) == 0,
                      "%s with %s changed the old file", w->name, env);
        free(now);
        w->loads_old();
        ck_assert_msg(entries() == 1, "%s with %s left a temporary file", w->name, env);
    }
    /* Exactly enough room: the save goes through. */
    snprintf(env, sizeof env, "write-after:%zu", n_new);
    ck_assert_int_eq(setenv("SOMA_FAULT", env, 1), 0);
    soma_status st = w->save(1);
    ck_assert_int_eq(unsetenv("SOMA_FAULT"), 0);
    ck_assert_msg(st == SOMA_OK, "%s with %s: %s", w->name, env, soma_status_string(st));
    size_t n_now;
    unsigned char *now = read_all(file, &n_now);
    ck_assert(n_now == n_new && memcmp(now, fresh, n_new) == 0);
    ck_assert_int_eq(entries(), 1);
    free(now);
    free(old);
    free(fresh);
    remove_dir();
    for (int v = 0; v < 2; v++) {
        soma_mlp_destroy(big_models[v]);
        soma_matrix_free(&big_tables[v]);
    }
}
END_TEST

START_TEST(a_replaced_file_keeps_its_mode)
{
    /* The replacement keeps the old file's permission bits; a failed one
     * leaves both mode and bytes. */
    make_versions();
    make_dir();
    ck_assert_int_eq(save_mlp(0), SOMA_OK);
    ck_assert_int_eq(chmod(file, 0600), 0);
    ck_assert_int_eq(setenv("SOMA_FAULT", "rename", 1), 0);
    ck_assert_int_eq(save_mlp(1), SOMA_EIO);
    ck_assert_int_eq(unsetenv("SOMA_FAULT"), 0);
    struct stat s;
    ck_assert_int_eq(stat(file, &s), 0);
    ck_assert_uint_eq(s.st_mode & 0777, 0600);
    mlp_loads_old();
    ck_assert_int_eq(save_mlp(1), SOMA_OK);
    ck_assert_int_eq(stat(file, &s), 0);
    ck_assert_uint_eq(s.st_mode & 0777, 0600);
    remove_dir();
    free_versions();
}
END_TEST

/* ---- divergence ------------------------------------------------------------ */

/* The parameters at the end of every epoch, recorded by the callback. */
#define MAX_EPOCHS 64
typedef struct recorder {
    soma_mlp *mlp;
    size_t n;
    double *params[MAX_EPOCHS + 1]; /* [0]: before training */
} recorder;

static void record(recorder *r)
{
    soma_matrix p;
    ck_assert_int_eq(soma_mlp_params(r->mlp, &p, NULL), SOMA_OK);
    ck_assert_uint_le(r->n, MAX_EPOCHS);
    r->params[r->n] = malloc(p.cols * sizeof(double));
    memcpy(r->params[r->n], p.data, p.cols * sizeof(double));
    r->n++;
}

static int on_epoch(void *user, const soma_epoch_stats *s)
{
    (void)s;
    record(user);
    return 0;
}

/* A small regression that a too large learning rate makes diverge: the
 * parameters grow geometrically until the loss overflows. */
static void diverging_task(soma_matrix *X, soma_matrix *Y)
{
    ck_assert_int_eq(soma_matrix_init(X, 16, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(Y, 16, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < 16; i++) {
        X->data[i] = (double)(i % 4) + 1.0;
        Y->data[i] = i % 2 ? 1.0 : -1.0;
    }
}

/* Configurations, each diverging after a few epochs:
 * 0: full batch SGD;
 * 1: minibatches with momentum and shuffling;
 * 2: Adam with early stopping and restore_best on the training loss, the
 *    best epoch the one just before divergence (whose saved end-of-epoch
 *    parameters are the ones that diverged);
 * 3: full batch SGD with a validation split, early stopping and
 *    restore_best (the best epoch's parameters have a finite validation
 *    loss: they are restored). */
static soma_fit_options diverging_options(int config, recorder *rec)
{
    soma_fit_options o = soma_fit_options_default();
    o.epochs = MAX_EPOCHS;
    o.learning_rate = 0.1;
    o.callback = on_epoch;
    o.callback_user = rec;
    switch (config) {
    case 1:
        o.learning_rate = 0.05;
        o.batch_size = 4;
        o.shuffle = true;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
        break;
    case 2:
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
        o.learning_rate = 1e100; /* one Adam step moves each weight by ~lr */
        o.early_stopping = true;
        o.patience = MAX_EPOCHS;
        break;
    case 3:
        o.validation_fraction = 0.25;
        o.early_stopping = true;
        o.patience = MAX_EPOCHS;
        break;
    default:
        break;
    }
    return o;
}

START_TEST(divergence_keeps_the_last_finite_parameters)
{
    const int config = _i;
    soma_matrix X, Y;
    diverging_task(&X, &Y);
    const size_t sizes[3] = {1, 4, 1};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = SOMA_ACTIVATION_IDENTITY;
    spec.output = SOMA_ACTIVATION_IDENTITY;
    spec.loss = SOMA_LOSS_MSE;
    recorder rec = {0};
    ck_assert_int_eq(soma_mlp_create(&rec.mlp, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    record(&rec);
    soma_fit_options o = diverging_options(config, &rec);
    soma_history h;
    ck_assert_int_eq(soma_mlp_fit(rec.mlp, &X, &Y, &o, &h, NULL), SOMA_ENONFINITE);
    ck_assert_int_eq(h.stop, SOMA_STOP_DIVERGED);
    ck_assert_uint_ge(h.n_epochs, 2); /* the configurations diverge later */
    ck_assert_uint_lt(h.n_epochs, MAX_EPOCHS);
    /* The callback saw every epoch but the diverged one; rec.params[e] is
     * the parameters at the end of epoch e - 1 (the start of epoch e). */
    ck_assert_uint_eq(rec.n, h.n_epochs);
    soma_matrix p;
    ck_assert_int_eq(soma_mlp_params(rec.mlp, &p, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_check_finite(&p), SOMA_OK);
    size_t match = SIZE_MAX;
    for (size_t e = 0; e < rec.n; e++)
        if (memcmp(rec.params[e], p.data, p.cols * sizeof(double)) == 0)
            match = e;
    ck_assert_msg(match != SIZE_MAX, "the parameters are none the training went through");
    const size_t last = h.n_epochs - 1;
    if (config == 3) {
        /* The best epoch's parameters, measured by a finite validation loss. */
        ck_assert(h.restored);
        ck_assert_uint_eq(match, h.best_epoch + 1);
        ck_assert(isfinite(h.epochs[h.best_epoch].val_loss));
    } else {
        /* The last parameters a finite training loss was measured at: the
         * start of the diverged epoch when its own loss was finite (only
         * its update broke), else the start of the epoch before. */
        const size_t want = isfinite(h.epochs[last].loss) ? last : last - 1;
        ck_assert_uint_eq(match, want);
        ck_assert(!h.restored);
        if (config != 1) {
            /* Full batch: the epoch's loss was measured exactly there. */
            double loss;
            ck_assert_int_eq(soma_mlp_evaluate(rec.mlp, &X, &Y, &loss, NULL, NULL),
                             SOMA_OK);
            ck_assert_double_eq_tol(loss, h.epochs[want].loss,
                                    1e-12 * h.epochs[want].loss);
        }
    }
    /* The kept model is a model: finite predictions; it saves and loads. */
    soma_matrix P;
    ck_assert_int_eq(soma_matrix_init(&P, 16, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(rec.mlp, &X, &P, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_check_finite(&P), SOMA_OK);
    size_t n;
    ck_assert_int_eq(soma_mlp_save_buffer(rec.mlp, true, NULL, 0, &n, NULL), SOMA_OK);
    unsigned char *b = malloc(n);
    ck_assert_int_eq(soma_mlp_save_buffer(rec.mlp, true, b, n, &n, NULL), SOMA_OK);
    soma_mlp *back = NULL;
    ck_assert_int_eq(soma_mlp_load_buffer(&back, b, n, NULL, NULL), SOMA_OK);
    same_params(back, rec.mlp);
    soma_mlp_destroy(back);
    free(b);
    for (size_t e = 0; e < rec.n; e++)
        free(rec.params[e]);
    soma_history_free(&h);
    soma_matrix_free(&P);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
    soma_mlp_destroy(rec.mlp);
}
END_TEST

int main(int argc, char **argv)
{
    const bool faults = argc == 2 && strcmp(argv[1], "--faults") == 0;
#if !defined(EXPECT_FAULT_INJECTION)
    if (faults) {
        puts("SKIP: built without -Dfault_injection=true");
        return 77;
    }
#endif
    Suite *s = suite_create("durability");
    TCase *tc = tcase_create(faults ? "faults" : "divergence");
    tcase_set_timeout(tc, 120);
    if (faults) {
        tcase_add_loop_test(tc, interrupted_saves_keep_the_old_file, 0,
                            (int)(sizeof writers / sizeof writers[0]));
        tcase_add_test(tc, a_replaced_file_keeps_its_mode);
        tcase_add_loop_test(tc, writes_failing_mid_stream_keep_the_old_file, 0,
                            (int)(sizeof big_writers / sizeof big_writers[0]));
    } else {
        tcase_add_loop_test(tc, divergence_keeps_the_last_finite_parameters, 0, 4);
    }
    suite_add_tcase(s, tc);
    return test_run(s);
}
