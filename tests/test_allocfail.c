/* Allocation failure: for every k from 1 up to the number of allocations a
 * path makes, an allocator that fails the k-th allocation must make the
 * path return SOMA_ENOMEM, leave the caller's objects as they were (byte
 * for byte, or as serialized) and leak nothing (the counting allocator's
 * live bytes return to where they were; LeakSanitizer and valgrind check
 * the allocations soma does not make through the allocator).
 *
 * Paths: matrix creation and copy, MLP creation (every initialiser) and
 * re-initialisation, fit (plain, and with every option that allocates),
 * gradient, predict, predict_proba, evaluate, CSV read (buffer and file),
 * IDX read (buffer, file and pair; plain and gzip),
 * model load and save (MLP and perceptron, buffer and file), perceptron
 * create and fit, scaler, split, one-hot, metrics, generators, optimizer
 * state. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

static test_alloc T;
static soma_allocator A;

/* One path under test: `op` runs it once through A; `untouched` checks the
 * caller's objects after a failure; `done` releases what a success made. */
typedef struct path {
    const char *name;
    soma_status (*op)(void);
    void (*untouched)(void);
    void (*done)(void);
} path;

/* Run p with allocation k failing, for k = 1, 2, ... until it succeeds;
 * returns the number of failure points seen. */
static size_t fail_each(const path *p)
{
    for (size_t k = 1; k < 100000; k++) {
        const size_t live = T.live_bytes;
        T.fail_at = T.allocs + k;
        const soma_status st = p->op();
        const bool reached = T.allocs >= T.fail_at;
        T.fail_at = 0;
        if (st == SOMA_OK) {
            ck_assert_msg(!reached, "%s: succeeded although allocation %zu failed",
                          p->name, k);
            if (p->done != NULL)
                p->done();
            ck_assert_msg(T.live_bytes == live, "%s: %zu bytes kept after release",
                          p->name, T.live_bytes - live);
            return k - 1;
        }
        ck_assert_msg(st == SOMA_ENOMEM, "%s: allocation %zu failed, status %s", p->name,
                      k, soma_status_string(st));
        ck_assert_msg(T.live_bytes == live, "%s: allocation %zu failed, %zu bytes leaked",
                      p->name, k, T.live_bytes - live);
        if (p->untouched != NULL)
            p->untouched();
    }
    ck_abort_msg("%s never succeeded", p->name);
    return 0;
}

/* Every path that allocates must fail somewhere. */
static void check_path(const path *p)
{
    const size_t points = fail_each(p);
    if (getenv("SOMA_TEST_VERBOSE") != NULL)
        printf("%-32s %zu allocation failure points\n", p->name, points);
    ck_assert_msg(points >= 1, "%s allocated nothing", p->name);
}

/* Bytes watched across failures: an output struct or buffer. */
typedef struct snapshot {
    const void *p;
    size_t n;
    unsigned char copy[4096];
} snapshot;

static void snap(snapshot *s, const void *p, size_t n)
{
    ck_assert_uint_le(n, sizeof s->copy);
    s->p = p;
    s->n = n;
    memcpy(s->copy, p, n);
}

static void same(const snapshot *s)
{
    ck_assert_msg(memcmp(s->p, s->copy, s->n) == 0, "an output was written");
}

/* ---- matrices ------------------------------------------------------------- */

static soma_matrix g_m, g_src;
static snapshot s_m;

static soma_status op_matrix_init(void)
{
    return soma_matrix_init(&g_m, 10, 7, &A);
}

static soma_status op_matrix_dup(void)
{
    return soma_matrix_dup(&g_src, &g_m, &A);
}

static void m_untouched(void)
{
    same(&s_m);
}

static void m_done(void)
{
    soma_matrix_free(&g_m);
    memset(&g_m, 0x5A, sizeof g_m);
}

START_TEST(matrices)
{
    A = test_allocator(&T);
    memset(&g_m, 0x5A, sizeof g_m);
    snap(&s_m, &g_m, sizeof g_m);
    check_path(&(path){"soma_matrix_init", op_matrix_init, m_untouched, m_done});
    ck_assert_int_eq(soma_matrix_init(&g_src, 5, 3, NULL), SOMA_OK);
    test_fill_random(&g_src, 1);
    check_path(&(path){"soma_matrix_dup", op_matrix_dup, m_untouched, m_done});
    soma_matrix_free(&g_src);
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- MLP creation --------------------------------------------------------- */

static soma_mlp *g_mlp;
static soma_mlp_spec g_spec;

static soma_status op_mlp_create(void)
{
    const size_t sizes[4] = {3, 7, 5, 2};
    return soma_mlp_create(&g_mlp, sizes, 4, &g_spec, &A, NULL);
}

static void mlp_null(void)
{
    ck_assert_ptr_eq(g_mlp, (soma_mlp *)&g_spec); /* the sentinel */
}

static void mlp_done(void)
{
    soma_mlp_destroy(g_mlp);
    g_mlp = (soma_mlp *)&g_spec;
}

START_TEST(mlp_create)
{
    A = test_allocator(&T);
    for (int init = 0; init < SOMA_INIT_COUNT; init++) {
        g_spec = soma_mlp_spec_default();
        g_spec.init = (soma_init)init;
        g_mlp = (soma_mlp *)&g_spec;
        check_path(&(path){"soma_mlp_create", op_mlp_create, mlp_null, mlp_done});
    }
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- the state of a model, serialized with its optimizer ------------------ */

static unsigned char *g_state;
static size_t g_state_n;

static unsigned char *serialize(const soma_mlp *m, size_t *n)
{
    ck_assert_int_eq(soma_mlp_save_buffer(m, true, NULL, 0, n, NULL), SOMA_OK);
    unsigned char *b = malloc(*n);
    ck_assert_int_eq(soma_mlp_save_buffer(m, true, b, *n, n, NULL), SOMA_OK);
    return b;
}

static void remember_model(void)
{
    free(g_state);
    g_state = serialize(g_mlp, &g_state_n);
}

static void model_untouched(void)
{
    size_t n;
    unsigned char *now = serialize(g_mlp, &n);
    ck_assert_uint_eq(n, g_state_n);
    ck_assert_msg(memcmp(now, g_state, n) == 0, "the model changed");
    free(now);
    /* The gradient buffer is part of the caller-visible state too. */
}

static soma_mlp *model_for(soma_init init)
{
    soma_mlp_spec s = soma_mlp_spec_default();
    s.init = init;
    s.hidden = SOMA_ACTIVATION_TANH;
    s.output = SOMA_ACTIVATION_SOFTMAX;
    s.loss = SOMA_LOSS_CE;
    const size_t sizes[4] = {3, 6, 5, 2};
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 4, &s, &A, NULL), SOMA_OK);
    return m;
}

static soma_status op_init_weights(void)
{
    return soma_mlp_init_weights(g_mlp, SOMA_INIT_ORTHOGONAL, 1.5, 9, NULL);
}

static void init_weights_done(void)
{
    /* Back to the remembered weights for the next round. */
    ck_assert_int_eq(
        soma_mlp_init_weights(g_mlp, SOMA_INIT_XAVIER_UNIFORM, 1.0, 42, NULL), SOMA_OK);
}

START_TEST(mlp_init_weights)
{
    A = test_allocator(&T);
    g_mlp = model_for(SOMA_INIT_XAVIER_UNIFORM);
    remember_model();
    check_path(&(path){"soma_mlp_init_weights", op_init_weights, model_untouched,
                       init_weights_done});
    soma_mlp_destroy(g_mlp);
    free(g_state);
    g_state = NULL;
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- fit, gradient, predict, evaluate --------------------------------------- */

static soma_matrix g_X, g_Y, g_Xv, g_Yv, g_P, g_labels;
static soma_fit_options g_opt;
static soma_history g_hist;
static snapshot s_hist, s_P, s_P_data, s_grads, s_out2;
static double g_loss, g_acc;

static void make_data(void)
{
    ck_assert_int_eq(soma_matrix_init(&g_X, 60, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&g_Y, 60, 2, NULL), SOMA_OK);
    test_fill_random(&g_X, 4);
    for (size_t i = 0; i < 60; i++)
        g_Y.data[2 * i + (g_X.data[3 * i] + g_X.data[3 * i + 1] > 0)] = 1.0;
    ck_assert_int_eq(soma_matrix_init(&g_Xv, 10, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&g_Yv, 10, 2, NULL), SOMA_OK);
    test_fill_random(&g_Xv, 5);
    for (size_t i = 0; i < 10; i++)
        g_Yv.data[2 * i + (g_Xv.data[3 * i] > 0)] = 1.0;
}

static void free_data(void)
{
    soma_matrix *all[] = {&g_X, &g_Y, &g_Xv, &g_Yv};
    for (int i = 0; i < 4; i++)
        soma_matrix_free(all[i]);
}

static soma_status op_fit(void)
{
    return soma_mlp_fit(g_mlp, &g_X, &g_Y, &g_opt, &g_hist, NULL);
}

static soma_status op_fit_no_history(void)
{
    return soma_mlp_fit(g_mlp, &g_X, &g_Y, &g_opt, NULL, NULL);
}

static void fit_untouched(void)
{
    model_untouched();
    same(&s_hist);
}

/* Put the remembered model back (fit changed it), for the next path. */
static void fit_no_history_done(void)
{
    soma_mlp *fresh = NULL;
    ck_assert_int_eq(soma_mlp_load_buffer(&fresh, g_state, g_state_n, &A, NULL), SOMA_OK);
    soma_mlp_destroy(g_mlp);
    g_mlp = fresh;
}

static void fit_done(void)
{
    soma_history_free(&g_hist);
    memset(&g_hist, 0x5A, sizeof g_hist);
    fit_no_history_done();
}

/* The fit configurations: each allocates a different set of buffers. */
static soma_fit_options fit_config(int c)
{
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 3;
    switch (c) {
    case 0: /* full batch, SGD */
        break;
    case 1: /* minibatches, shuffling, a validation split, dropout, Adam,
             * early stopping with restore_best, L2, clipping */
        o.batch_size = 7;
        o.shuffle = true;
        o.validation_fraction = 0.2;
        o.dropout = 0.25;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
        o.early_stopping = true;
        o.patience = 5;
        o.l2 = 1e-3;
        o.clip_norm = 1.0;
        break;
    case 2: /* explicit validation data, momentum, a schedule */
        o.batch_size = 16;
        o.X_val = &g_Xv;
        o.Y_val = &g_Yv;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_MOMENTUM);
        o.schedule.kind = SOMA_SCHEDULE_COSINE;
        o.schedule.period = 3;
        break;
    default: /* warm start of a model that has Nesterov state already */
        o.batch_size = 20;
        o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_NESTEROV);
        o.warm_start = true;
        break;
    }
    return o;
}

START_TEST(fit)
{
    A = test_allocator(&T);
    make_data();
    for (int c = 0; c < 4; c++) {
        g_mlp = model_for(c == 1 ? SOMA_INIT_ORTHOGONAL : SOMA_INIT_HE_NORMAL);
        g_opt = fit_config(c);
        if (g_opt.warm_start) { /* give it optimizer state to keep */
            soma_fit_options first = g_opt;
            first.warm_start = false;
            ck_assert_int_eq(soma_mlp_fit(g_mlp, &g_X, &g_Y, &first, NULL, NULL),
                             SOMA_OK);
        }
        remember_model();
        memset(&g_hist, 0x5A, sizeof g_hist);
        snap(&s_hist, &g_hist, sizeof g_hist);
        check_path(&(path){"soma_mlp_fit", op_fit, fit_untouched, fit_done});
        check_path(&(path){"soma_mlp_fit (no history)", op_fit_no_history,
                           model_untouched, fit_no_history_done});
        soma_mlp_destroy(g_mlp);
    }
    free(g_state);
    g_state = NULL;
    free_data();
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

static soma_status op_gradient(void)
{
    return soma_mlp_gradient(g_mlp, &g_X, &g_Y, 0.01, &g_loss, NULL);
}

static void gradient_untouched(void)
{
    model_untouched();
    same(&s_grads);
    same(&s_out2);
}

static void gradient_done(void)
{
    /* The gradient buffer was written: remember the new one. */
    soma_matrix g;
    ck_assert_int_eq(soma_mlp_grads(g_mlp, &g, NULL), SOMA_OK);
    snap(&s_grads, g.data, g.cols * sizeof(double));
}

static soma_status op_predict_proba(void)
{
    return soma_mlp_predict_proba(g_mlp, &g_X, &g_P, NULL);
}

static soma_status op_predict(void)
{
    return soma_mlp_predict(g_mlp, &g_X, &g_labels, NULL);
}

static soma_status op_evaluate(void)
{
    return soma_mlp_evaluate(g_mlp, &g_X, &g_Y, &g_loss, &g_acc, NULL);
}

static void outputs_untouched(void)
{
    model_untouched();
    same(&s_P);
    same(&s_P_data);
    same(&s_out2);
}

START_TEST(predict_and_evaluate)
{
    A = test_allocator(&T);
    make_data();
    g_mlp = model_for(SOMA_INIT_XAVIER_NORMAL);
    remember_model();
    soma_matrix g;
    ck_assert_int_eq(soma_mlp_grads(g_mlp, &g, NULL), SOMA_OK);
    g_loss = 123.0;
    snap(&s_out2, &g_loss, sizeof g_loss);
    snap(&s_grads, g.data, g.cols * sizeof(double));
    check_path(
        &(path){"soma_mlp_gradient", op_gradient, gradient_untouched, gradient_done});

    ck_assert_int_eq(soma_matrix_init(&g_P, 60, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&g_P, 7.0), SOMA_OK);
    snap(&s_P, &g_P, sizeof g_P);
    snap(&s_P_data, g_P.data, 60 * 2 * sizeof(double));
    g_loss = 123.0;
    snap(&s_out2, &g_loss, sizeof g_loss);
    check_path(
        &(path){"soma_mlp_predict_proba", op_predict_proba, outputs_untouched, NULL});
    ck_assert_int_eq(soma_matrix_fill(&g_P, 7.0), SOMA_OK);

    ck_assert_int_eq(soma_matrix_init(&g_labels, 60, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_fill(&g_labels, 7.0), SOMA_OK);
    snap(&s_P, &g_labels, sizeof g_labels);
    snap(&s_P_data, g_labels.data, 60 * sizeof(double));
    check_path(&(path){"soma_mlp_predict", op_predict, outputs_untouched, NULL});

    g_loss = g_acc = 123.0;
    snap(&s_P, &g_loss, sizeof g_loss);
    snap(&s_P_data, &g_acc, sizeof g_acc);
    check_path(&(path){"soma_mlp_evaluate", op_evaluate, outputs_untouched, NULL});

    soma_mlp_destroy(g_mlp);
    soma_matrix_free(&g_P);
    soma_matrix_free(&g_labels);
    free(g_state);
    g_state = NULL;
    free_data();
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- CSV ------------------------------------------------------------------ */

static const char csv_text[] = "\xEF\xBB\xBF"
                               "a,\"b \"\"quoted\"\"\",label\r\n"
                               "1.5,2,0\r\n"
                               "\r\n"
                               "-3,4e-3,1\n"
                               "5,  6  ,2\n";
static soma_matrix g_cx, g_cy;
static soma_csv_info g_info;
static snapshot s_cx, s_cy, s_info;
static char g_csv_path[64];

static soma_status op_csv_buffer(void)
{
    return soma_csv_read_buffer(csv_text, sizeof csv_text - 1, NULL, &g_cx, &g_cy,
                                &g_info, &A, NULL);
}

static soma_status op_csv_file(void)
{
    return soma_csv_read_file(g_csv_path, NULL, &g_cx, &g_cy, &g_info, &A, NULL);
}

static void csv_untouched(void)
{
    same(&s_cx);
    same(&s_cy);
    same(&s_info);
}

static void csv_done(void)
{
    ck_assert_uint_eq(g_cx.rows, 3);
    ck_assert_double_eq(g_cy.data[2], 2.0);
    soma_matrix_free(&g_cx);
    soma_matrix_free(&g_cy);
    memset(&g_cx, 0x5A, sizeof g_cx);
    memset(&g_cy, 0x5A, sizeof g_cy);
    memset(&g_info, 0x5A, sizeof g_info);
}

/* A file as it comes: a metadata line, comments, text labels (ten names,
 * so the table of names grows), sorted; the names kept in info. */
static const char csv_text_labels[] = "12,2,names\n"
                                      "# comment\n"
                                      "a,b,species\n"
                                      "1,2,kiwi\n2,3,fig\n3,4,lime\n4,5,date\n"
                                      "5,6,pear\n6,7,plum\n7,8,sloe\n8,9,yuzu\n"
                                      "#\n"
                                      "9,1,apple\n1,3,mango\n2,4,fig\n3,5,kiwi\n";

static soma_status op_csv_text(void)
{
    soma_csv_options o = soma_csv_defaults();
    o.skip_lines = 1;
    o.comment = '#';
    o.label_type = SOMA_CSV_LABELS_TEXT;
    o.sort_classes = true;
    return soma_csv_read_buffer(csv_text_labels, sizeof csv_text_labels - 1, &o, &g_cx,
                                &g_cy, &g_info, &A, NULL);
}

static void csv_text_done(void)
{
    ck_assert_uint_eq(g_cx.rows, 12);
    ck_assert_uint_eq(g_info.classes, 10);
    ck_assert_str_eq(g_info.class_names[0], "apple");
    ck_assert_str_eq(g_info.class_names[9], "yuzu");
    ck_assert_double_eq(g_cy.data[0], 3.0); /* kiwi: apple date fig kiwi ... */
    soma_csv_info_free(&g_info);
    soma_matrix_free(&g_cx);
    soma_matrix_free(&g_cy);
    memset(&g_cx, 0x5A, sizeof g_cx);
    memset(&g_cy, 0x5A, sizeof g_cy);
    memset(&g_info, 0x5A, sizeof g_info);
}

START_TEST(csv)
{
    A = test_allocator(&T);
    memset(&g_cx, 0x5A, sizeof g_cx);
    memset(&g_cy, 0x5A, sizeof g_cy);
    memset(&g_info, 0x5A, sizeof g_info);
    snap(&s_cx, &g_cx, sizeof g_cx);
    snap(&s_cy, &g_cy, sizeof g_cy);
    snap(&s_info, &g_info, sizeof g_info);
    check_path(&(path){"soma_csv_read_buffer", op_csv_buffer, csv_untouched, csv_done});
    check_path(&(path){"soma_csv_read_buffer (text labels)", op_csv_text, csv_untouched,
                       csv_text_done});
    strcpy(g_csv_path, "/tmp/soma-allocfail-XXXXXX");
    int fd = mkstemp(g_csv_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, csv_text, sizeof csv_text - 1),
                     (int)(sizeof csv_text - 1));
    close(fd);
    check_path(&(path){"soma_csv_read_file", op_csv_file, csv_untouched, csv_done});
    unlink(g_csv_path);
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- IDX files (plain and gzip) -------------------------------------------- */

#ifndef EXPECT_ZLIB
#error "EXPECT_ZLIB must say whether this build reads gzip"
#endif

static const unsigned char idx_plain[] = {0, 0, 0x0B, 2, 0, 0, 0,    2,    0,    0,
                                          0, 2, 0,    1, 0, 2, 0xFF, 0xFF, 0x12, 0x34};
static const unsigned char idx_labels[] = {0, 0, 0x08, 1, 0, 0, 0, 2, 4, 9};
static unsigned char *g_gz;
static size_t g_gz_n;
static const char *g_idx_path, *g_lab_path;
static char g_idx_paths[3][80];
static soma_matrix g_ix, g_iy;
static soma_idx_info g_iinfo;
static snapshot s_ix, s_iy, s_iinfo;
static size_t g_expect_rows;
static bool g_pair; /* g_iy is written */

static soma_status op_idx_buffer(void)
{
    return soma_idx_read_buffer(idx_plain, sizeof idx_plain, NULL, &g_ix, &g_iinfo, &A,
                                NULL);
}

static soma_status op_idx_gz_buffer(void)
{
    return soma_idx_read_buffer(g_gz, g_gz_n, NULL, &g_ix, &g_iinfo, &A, NULL);
}

static soma_status op_idx_file(void)
{
    return soma_idx_read_file(g_idx_path, NULL, &g_ix, &g_iinfo, &A, NULL);
}

static soma_status op_idx_pair(void)
{
    return soma_idx_read_pair(g_idx_path, g_lab_path, NULL, &g_ix, &g_iy, &g_iinfo, NULL,
                              &A, NULL);
}

static void idx_untouched(void)
{
    same(&s_ix);
    same(&s_iy);
    same(&s_iinfo);
}

static void idx_done(void)
{
    ck_assert_uint_eq(g_ix.rows, g_expect_rows);
    ck_assert_uint_eq(g_iinfo.rows, g_expect_rows);
    soma_matrix_free(&g_ix);
    if (g_pair) {
        ck_assert_double_eq(g_iy.data[1], 9.0);
        soma_matrix_free(&g_iy);
    }
    memset(&g_ix, 0x5A, sizeof g_ix);
    memset(&g_iy, 0x5A, sizeof g_iy);
    memset(&g_iinfo, 0x5A, sizeof g_iinfo);
}

static const char *write_tmp(int k, const void *data, size_t n)
{
    strcpy(g_idx_paths[k], "/tmp/soma-allocfail-idx-XXXXXX");
    int fd = mkstemp(g_idx_paths[k]);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, n), (int)n);
    close(fd);
    return g_idx_paths[k];
}

START_TEST(idx)
{
    A = test_allocator(&T);
    memset(&g_ix, 0x5A, sizeof g_ix);
    memset(&g_iy, 0x5A, sizeof g_iy);
    memset(&g_iinfo, 0x5A, sizeof g_iinfo);
    snap(&s_ix, &g_ix, sizeof g_ix);
    snap(&s_iy, &g_iy, sizeof g_iy);
    snap(&s_iinfo, &g_iinfo, sizeof g_iinfo);
    g_expect_rows = 2;
    check_path(&(path){"soma_idx_read_buffer", op_idx_buffer, idx_untouched, idx_done});
    g_idx_path = write_tmp(0, idx_plain, sizeof idx_plain);
    g_lab_path = write_tmp(1, idx_labels, sizeof idx_labels);
    check_path(&(path){"soma_idx_read_file", op_idx_file, idx_untouched, idx_done});
    g_pair = true;
    check_path(&(path){"soma_idx_read_pair", op_idx_pair, idx_untouched, idx_done});
    g_pair = false;
    if (EXPECT_ZLIB) {
        /* gzip: zlib's state and window come from the allocator too; the
         * 3 MiB fixture makes the value buffer grow twice. */
        char name[256];
        snprintf(name, sizeof name, "%s/idx/u8-3x1048577.idx.gz", FIXTURE_DIR);
        FILE *f = fopen(name, "rb");
        ck_assert_ptr_nonnull(f);
        g_gz = malloc(8192);
        ck_assert_ptr_nonnull(g_gz);
        g_gz_n = fread(g_gz, 1, 8192, f);
        fclose(f);
        g_expect_rows = 3;
        check_path(&(path){"soma_idx_read_buffer (gzip)", op_idx_gz_buffer, idx_untouched,
                           idx_done});
        g_idx_path = write_tmp(2, g_gz, g_gz_n);
        check_path(
            &(path){"soma_idx_read_file (gzip)", op_idx_file, idx_untouched, idx_done});
        free(g_gz);
        unlink(g_idx_paths[2]);
    }
    unlink(g_idx_paths[0]);
    unlink(g_idx_paths[1]);
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- model files ------------------------------------------------------------ */

static char g_dir[64], g_file[128];
static unsigned char *g_bytes;
static size_t g_nbytes;
static soma_mlp *g_loaded;
static soma_perceptron *g_perc, *g_ploaded;

static soma_status op_load_buffer(void)
{
    return soma_mlp_load_buffer(&g_loaded, g_bytes, g_nbytes, &A, NULL);
}

static soma_status op_load_file(void)
{
    return soma_mlp_load(&g_loaded, g_file, &A, NULL);
}

static void loaded_null(void)
{
    ck_assert_ptr_eq(g_loaded, (soma_mlp *)g_dir);
}

static void loaded_done(void)
{
    size_t n;
    unsigned char *b = serialize(g_loaded, &n);
    ck_assert_uint_eq(n, g_nbytes);
    ck_assert(memcmp(b, g_bytes, n) == 0);
    free(b);
    soma_mlp_destroy(g_loaded);
    g_loaded = (soma_mlp *)g_dir;
}

static soma_status op_save(void)
{
    return soma_mlp_save(g_mlp, g_file, true, NULL);
}

/* After a failed save: the previous file byte for byte, and nothing else
 * in the folder (no temporary file left). */
static void file_untouched(void)
{
    FILE *f = fopen(g_file, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_eq(n, g_state_n);
    ck_assert(memcmp(buf, g_state, n) == 0);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void save_done(void)
{
    /* Put the old file back for the next failure point. */
    FILE *f = fopen(g_file, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(g_state, 1, g_state_n, f), g_state_n);
    ck_assert_int_eq(fclose(f), 0);
}

static soma_status op_perceptron_load_buffer(void)
{
    return soma_perceptron_load_buffer(&g_ploaded, g_bytes, g_nbytes, &A, NULL);
}

static soma_status op_perceptron_load_file(void)
{
    return soma_perceptron_load(&g_ploaded, g_file, &A, NULL);
}

static void ploaded_null(void)
{
    ck_assert_ptr_eq(g_ploaded, (soma_perceptron *)g_dir);
}

static void ploaded_done(void)
{
    soma_perceptron_destroy(g_ploaded);
    g_ploaded = (soma_perceptron *)g_dir;
}

static soma_status op_perceptron_save(void)
{
    return soma_perceptron_save(g_perc, g_file, NULL);
}

/* The fit a refit that fails must keep: n_features, weights and bias. */
static double g_pw[2], g_pb;

static void perceptron_remember_fit(void)
{
    soma_matrix W;
    ck_assert_int_eq(soma_matrix_view(&W, g_pw, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(g_perc, &W, &g_pb, NULL), SOMA_OK);
}

static void perceptron_keeps_fit(void)
{
    size_t d;
    ck_assert_int_eq(soma_perceptron_n_features(g_perc, &d, NULL), SOMA_OK);
    ck_assert_uint_eq(d, 2);
    double w[2], b;
    soma_matrix W;
    ck_assert_int_eq(soma_matrix_view(&W, w, 1, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(g_perc, &W, &b, NULL), SOMA_OK);
    ck_assert_mem_eq(w, g_pw, sizeof w);
    ck_assert_mem_eq(&b, &g_pb, sizeof b);
}

static soma_perceptron *fitted_perceptron(void)
{
    soma_perceptron *p;
    soma_perceptron_options o = soma_perceptron_defaults();
    o.shuffle = true;
    o.average = true;
    o.max_epochs = 200;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, &A, NULL), SOMA_OK);
    soma_matrix X, y;
    ck_assert_int_eq(soma_matrix_init(&X, 30, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&y, 30, 1, NULL), SOMA_OK);
    test_fill_random(&X, 8);
    for (size_t i = 0; i < 30; i++)
        y.data[i] = X.data[2 * i] > X.data[2 * i + 1] ? 1.0 : 0.0;
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 2), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &r, NULL), SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    return p;
}

/* After a successful refit: release the refitted perceptron (its history
 * may differ in length from the first fit's) and put an identical copy of
 * the first fit back, so that the live bytes compare with those before the
 * refit: a refit that left anything behind would show. */
static void perceptron_refit_done(void)
{
    soma_perceptron_destroy(g_perc);
    g_perc = fitted_perceptron();
}

START_TEST(model_files)
{
    A = test_allocator(&T);
    strcpy(g_dir, "/tmp/soma-allocfail-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(g_file, sizeof g_file, "%s/model.soma", g_dir);
    make_data();

    /* A trained model with Adam state: its bytes, loaded from a buffer and
     * from a file. */
    g_mlp = model_for(SOMA_INIT_HE_UNIFORM);
    soma_fit_options o = fit_config(1);
    ck_assert_int_eq(soma_mlp_fit(g_mlp, &g_X, &g_Y, &o, NULL, NULL), SOMA_OK);
    g_bytes = serialize(g_mlp, &g_nbytes);
    g_loaded = (soma_mlp *)g_dir;
    check_path(&(path){"soma_mlp_load_buffer", op_load_buffer, loaded_null, loaded_done});
    FILE *f = fopen(g_file, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(g_bytes, 1, g_nbytes, f), g_nbytes);
    ck_assert_int_eq(fclose(f), 0);
    check_path(&(path){"soma_mlp_load", op_load_file, loaded_null, loaded_done});

    /* Saving over an older model: on failure the old file stays. */
    soma_mlp *older = model_for(SOMA_INIT_NORMAL);
    free(g_state);
    g_state = serialize(older, &g_state_n);
    soma_mlp_destroy(older);
    save_done(); /* writes the older model's bytes */
    check_path(&(path){"soma_mlp_save", op_save, file_untouched, save_done});

    /* The perceptron: load (buffer, file) and save. */
    g_perc = fitted_perceptron();
    free(g_bytes);
    ck_assert_int_eq(soma_perceptron_save_buffer(g_perc, NULL, 0, &g_nbytes, NULL),
                     SOMA_OK);
    g_bytes = malloc(g_nbytes);
    ck_assert_int_eq(
        soma_perceptron_save_buffer(g_perc, g_bytes, g_nbytes, &g_nbytes, NULL), SOMA_OK);
    g_ploaded = (soma_perceptron *)g_dir;
    check_path(&(path){"soma_perceptron_load_buffer", op_perceptron_load_buffer,
                       ploaded_null, ploaded_done});
    f = fopen(g_file, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(g_bytes, 1, g_nbytes, f), g_nbytes);
    ck_assert_int_eq(fclose(f), 0);
    check_path(&(path){"soma_perceptron_load", op_perceptron_load_file, ploaded_null,
                       ploaded_done});
    save_done(); /* the older MLP file again: a perceptron save must keep it */
    check_path(
        &(path){"soma_perceptron_save", op_perceptron_save, file_untouched, save_done});

    soma_perceptron_destroy(g_perc);
    soma_mlp_destroy(g_mlp);
    free(g_bytes);
    free(g_state);
    g_bytes = g_state = NULL;
    unlink(g_file);
    rmdir(g_dir);
    free_data();
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

/* ---- the rest of the allocating API ------------------------------------------- */

static soma_matrix g_o1, g_o2, g_o3, g_o4;
static snapshot s_o[4];
static soma_rng g_rng;
static soma_scaler g_scaler;
static soma_optim g_optim;
static double g_prf[3];

static void outs_poison(void)
{
    soma_matrix *o[4] = {&g_o1, &g_o2, &g_o3, &g_o4};
    for (int i = 0; i < 4; i++) {
        memset(o[i], 0x5A, sizeof *o[i]);
        snap(&s_o[i], o[i], sizeof *o[i]);
    }
    memset(&g_scaler, 0x5A, sizeof g_scaler);
    memset(&g_optim, 0x5A, sizeof g_optim);
    g_prf[0] = g_prf[1] = g_prf[2] = 5.0;
}

static void outs_untouched(void)
{
    for (int i = 0; i < 4; i++)
        same(&s_o[i]);
    unsigned char pattern[sizeof(soma_scaler) > sizeof(soma_optim) ? sizeof(soma_scaler)
                                                                   : sizeof(soma_optim)];
    memset(pattern, 0x5A, sizeof pattern);
    ck_assert(memcmp(&g_scaler, pattern, sizeof g_scaler) == 0);
    ck_assert(memcmp(&g_optim, pattern, sizeof g_optim) == 0);
    ck_assert(g_prf[0] == 5.0 && g_prf[1] == 5.0 && g_prf[2] == 5.0);
}

static void outs_done(void)
{
    soma_matrix *o[4] = {&g_o1, &g_o2, &g_o3, &g_o4};
    for (int i = 0; i < 4; i++)
        if (memcmp(o[i], s_o[i].copy, sizeof *o[i]) != 0)
            soma_matrix_free(o[i]);
    unsigned char pattern[sizeof(soma_scaler)];
    memset(pattern, 0x5A, sizeof pattern);
    if (memcmp(&g_scaler, pattern, sizeof g_scaler) != 0)
        soma_scaler_free(&g_scaler);
    unsigned char opattern[sizeof(soma_optim)];
    memset(opattern, 0x5A, sizeof opattern);
    if (memcmp(&g_optim, opattern, sizeof g_optim) != 0)
        soma_optim_free(&g_optim);
    outs_poison();
}

static soma_status op_circles(void)
{
    return soma_make_circles(&g_rng, 50, 0.1, 0.5, true, &g_o1, &g_o2, &A, NULL);
}

static soma_status op_blobs(void)
{
    return soma_make_blobs(&g_rng, NULL, &g_o1, &g_o2, &g_o3, &A, NULL);
}

static soma_status op_classification(void)
{
    soma_make_classification_options o = soma_make_classification_defaults();
    o.hypercube = false;
    o.shift_random = true;
    o.scale_random = true;
    return soma_make_classification(&g_rng, &o, &g_o1, &g_o2, &A, NULL);
}

static soma_status op_scaler(void)
{
    return soma_scaler_fit(&g_scaler, &g_X, &A, NULL);
}

static soma_status op_split(void)
{
    soma_split_options o = soma_split_defaults();
    o.stratify = true;
    return soma_train_test_split(&g_X, &g_labels, &o, &g_rng, &g_o1, &g_o2, &g_o3, &g_o4,
                                 &A, NULL);
}

static soma_status op_one_hot(void)
{
    return soma_one_hot(&g_labels, 0, &g_o1, &A, NULL);
}

static soma_status op_confusion(void)
{
    return soma_confusion_matrix(&g_labels, &g_labels, 0, &g_o1, &A, NULL);
}

static soma_status op_prf(void)
{
    return soma_precision_recall_f1(&g_labels, &g_labels, SOMA_AVERAGE_MACRO, 0,
                                    &g_prf[0], &g_prf[1], &g_prf[2], &A, NULL);
}

static soma_status op_optim(void)
{
    soma_optim_config c = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    return soma_optim_init(&g_optim, &c, 100, &A);
}

static soma_status op_perceptron_create(void)
{
    return soma_perceptron_create(&g_ploaded, NULL, &A, NULL);
}

static soma_status op_perceptron_fit(void)
{
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 3), SOMA_OK);
    return soma_perceptron_fit(g_perc, &g_X, &g_o4, &r, NULL);
}

START_TEST(everything_else)
{
    A = test_allocator(&T);
    make_data();
    ck_assert_int_eq(soma_rng_seed(&g_rng, 11), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&g_labels, 60, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < 60; i++)
        g_labels.data[i] = (double)(i % 3);
    outs_poison();
    const path paths[] = {
        {"soma_make_circles", op_circles, outs_untouched, outs_done},
        {"soma_make_blobs", op_blobs, outs_untouched, outs_done},
        {"soma_make_classification", op_classification, outs_untouched, outs_done},
        {"soma_scaler_fit", op_scaler, outs_untouched, outs_done},
        {"soma_train_test_split", op_split, outs_untouched, outs_done},
        {"soma_one_hot", op_one_hot, outs_untouched, outs_done},
        {"soma_confusion_matrix", op_confusion, outs_untouched, outs_done},
        {"soma_precision_recall_f1", op_prf, outs_untouched, outs_done},
        {"soma_optim_init", op_optim, outs_untouched, outs_done},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        check_path(&paths[i]);

    g_ploaded = (soma_perceptron *)g_dir;
    check_path(&(path){"soma_perceptron_create", op_perceptron_create, ploaded_null,
                       ploaded_done});

    /* A perceptron fitted once keeps that fit when a refit fails. */
    g_perc = fitted_perceptron();
    ck_assert_int_eq(soma_matrix_init(&g_o4, 60, 1, NULL), SOMA_OK);
    for (size_t i = 0; i < 60; i++)
        g_o4.data[i] = g_X.data[3 * i] > 0 ? 1.0 : 0.0;
    perceptron_remember_fit();
    /* The same loop as every other path: ENOMEM with nothing leaked and the
     * old fit kept at each failure point, a success only once no allocation
     * failed, and at least one failure point. */
    check_path(&(path){"soma_perceptron_fit (refit)", op_perceptron_fit,
                       perceptron_keeps_fit, perceptron_refit_done});
    soma_perceptron_destroy(g_perc);
    soma_matrix_free(&g_o4);
    soma_matrix_free(&g_labels);
    free_data();
    ck_assert_uint_eq(T.live_bytes, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("allocfail");
    TCase *tc = tcase_create("every allocation fails in turn");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, matrices);
    tcase_add_test(tc, mlp_create);
    tcase_add_test(tc, mlp_init_weights);
    tcase_add_test(tc, fit);
    tcase_add_test(tc, predict_and_evaluate);
    tcase_add_test(tc, csv);
    tcase_add_test(tc, idx);
    tcase_add_test(tc, model_files);
    tcase_add_test(tc, everything_else);
    suite_add_tcase(s, tc);
    return test_run(s);
}
