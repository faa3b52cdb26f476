#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/data"
#endif

/* The committed fixture: sizes [3, 4, 2], tanh hidden, softmax + CE,
 * parameter i = (i mod 7) / 4 - 0.75 (exact in binary), no optimizer state. */
static const size_t fixture_sizes[3] = {3, 4, 2};
static double fixture_param(size_t i)
{
    return (double)(i % 7) * 0.25 - 0.75;
}

/* The precision of the models the round-trip tests make (their loop
 * index). */
static soma_precision precision = SOMA_PRECISION_F64;

/* Every test starts in double: the loop tests set `precision`, and without
 * fork (CK_FORK=no, as the valgrind runs do) it would outlive them. */
static void reset_precision(void)
{
    precision = SOMA_PRECISION_F64;
}

static soma_mlp *fixture_model(void)
{
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = SOMA_ACTIVATION_TANH;
    spec.output = SOMA_ACTIVATION_SOFTMAX;
    spec.loss = SOMA_LOSS_CE;
    spec.seed = 7;
    spec.precision = precision;
    soma_mlp *m;
    ck_assert_int_eq(soma_mlp_create(&m, fixture_sizes, 3, &spec, NULL, NULL), SOMA_OK);
    soma_matrix p;
    ck_assert_int_eq(soma_matrix_init(&p, 1, soma_mlp_n_params(m), NULL), SOMA_OK);
    for (size_t i = 0; i < p.cols; i++)
        p.data[i] = fixture_param(i);
    ck_assert_int_eq(soma_mlp_set_params(m, &p, NULL), SOMA_OK);
    soma_matrix_free(&p);
    return m;
}

/* A trained model with Adam state, and its serialized bytes. */
/* Class names, the scaler fitted on X, and metadata: every section of a
 * version-2 file, so that the round-trip and corruption tests cover them. */
static void attach_sections(soma_mlp *m, const soma_matrix *X)
{
    const char *names[2] = {"negative", "positive \xc3\xa9"};
    ck_assert_int_eq(soma_mlp_set_class_names(m, names, 2, NULL), SOMA_OK);
    soma_scaler s = {0};
    ck_assert_int_eq(soma_scaler_fit(&s, X, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_set_preprocessing(m, &s, NULL), SOMA_OK);
    soma_scaler_free(&s);
    ck_assert_int_eq(soma_mlp_set_metadata(m, "trained=by test_model\nepochs=5", NULL),
                     SOMA_OK);
}

static soma_mlp *trained(unsigned char **bytes, size_t *n)
{
    soma_mlp *m = fixture_model();
    soma_matrix X, Y;
    ck_assert_int_eq(soma_matrix_init(&X, 30, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Y, 30, 2, NULL), SOMA_OK);
    test_fill_random(&X, 3);
    for (size_t i = 0; i < 30; i++)
        Y.data[2 * i + (X.data[3 * i] > 0)] = 1.0;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 5;
    o.batch_size = 8;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, NULL, NULL), SOMA_OK);
    attach_sections(m, &X);
    ck_assert_int_eq(soma_mlp_save_buffer(m, true, NULL, 0, n, NULL), SOMA_OK);
    *bytes = malloc(*n);
    size_t again = 0;
    ck_assert_int_eq(soma_mlp_save_buffer(m, true, *bytes, *n, &again, NULL), SOMA_OK);
    ck_assert_uint_eq(again, *n);
    soma_matrix_free(&Y);
    soma_matrix_free(&X);
    return m;
}

static void assert_same_model(soma_mlp *a, soma_mlp *b)
{
    soma_matrix pa = test_params_copy(a), pb = test_params_copy(b);
    ck_assert_uint_eq(pa.cols, pb.cols);
    ck_assert_mem_eq(pa.data, pb.data, pa.cols * sizeof(double));
    soma_matrix_free(&pa);
    soma_matrix_free(&pb);
    soma_mlp_spec sa, sb;
    ck_assert_int_eq(soma_mlp_get_spec(a, &sa, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_get_spec(b, &sb, NULL), SOMA_OK);
    ck_assert_int_eq(sa.precision, sb.precision);
    ck_assert_int_eq(sa.hidden, sb.hidden);
    ck_assert_int_eq(sa.output, sb.output);
    ck_assert_int_eq(sa.loss, sb.loss);
    ck_assert_uint_eq(soma_mlp_n_layers(a), soma_mlp_n_layers(b));
    for (size_t i = 0; i <= soma_mlp_n_layers(a); i++)
        ck_assert_uint_eq(soma_mlp_size(a, i), soma_mlp_size(b, i));
    /* What the model carries. */
    ck_assert_uint_eq(soma_mlp_n_class_names(a), soma_mlp_n_class_names(b));
    for (size_t i = 0; i < soma_mlp_n_class_names(a); i++)
        ck_assert_str_eq(soma_mlp_class_name(a, i), soma_mlp_class_name(b, i));
    ck_assert_str_eq(soma_mlp_metadata(a), soma_mlp_metadata(b));
    const soma_scaler *xa = soma_mlp_preprocessing(a), *xb = soma_mlp_preprocessing(b);
    ck_assert((xa == NULL) == (xb == NULL));
    if (xa != NULL) {
        ck_assert_uint_eq(xa->mean.cols, xb->mean.cols);
        ck_assert_uint_eq(xa->n_samples_seen, xb->n_samples_seen);
        ck_assert_mem_eq(xa->mean.data, xb->mean.data, xa->mean.cols * sizeof(double));
        ck_assert_mem_eq(xa->scale.data, xb->scale.data, xa->scale.cols * sizeof(double));
    }
}

START_TEST(round_trip_is_bit_exact_and_keeps_training_state)
{
    precision = (soma_precision)_i;
    unsigned char *bytes;
    size_t n;
    soma_mlp *m = trained(&bytes, &n), *l = NULL;
    soma_error_info err;
    ck_assert_int_eq(soma_mlp_load_buffer(&l, bytes, n, NULL, &err), SOMA_OK);
    assert_same_model(m, l);

    /* Predictions identical. */
    soma_matrix X, Pm, Pl;
    ck_assert_int_eq(soma_matrix_init(&X, 50, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Pm, 50, 2, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Pl, 50, 2, NULL), SOMA_OK);
    test_fill_random(&X, 9);
    ck_assert_int_eq(soma_mlp_predict_proba(m, &X, &Pm, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_predict_proba(l, &X, &Pl, NULL), SOMA_OK);
    ck_assert_mem_eq(Pm.data, Pl.data, 100 * sizeof(double));

    /* Warm-started training continues identically from the saved Adam state. */
    soma_matrix Y;
    ck_assert_int_eq(soma_matrix_init(&Y, 50, 2, NULL), SOMA_OK);
    for (size_t i = 0; i < 50; i++)
        Y.data[2 * i + (X.data[3 * i + 1] > 0)] = 1.0;
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 3;
    o.batch_size = 10;
    o.optimizer = soma_optim_config_default(SOMA_OPTIMIZER_ADAM);
    o.warm_start = true;
    soma_history hm, hl;
    ck_assert_int_eq(soma_mlp_fit(m, &X, &Y, &o, &hm, NULL), SOMA_OK);
    ck_assert_int_eq(soma_mlp_fit(l, &X, &Y, &o, &hl, NULL), SOMA_OK);
    ck_assert_uint_eq(hl.epochs[0].epoch, 5);
    assert_same_model(m, l);
    soma_history_free(&hm);
    soma_history_free(&hl);

    /* Too small a buffer: SOMA_EDIM and the needed size. */
    size_t need = 0;
    unsigned char small[16] = {0};
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, small, sizeof small, &need, NULL),
                     SOMA_EDIM);
    ck_assert_uint_gt(need, sizeof small);
    ck_assert_uint_eq(small[0], 0);

    soma_matrix *all[] = {&X, &Pm, &Pl, &Y};
    for (int i = 0; i < 4; i++)
        soma_matrix_free(all[i]);
    free(bytes);
    soma_mlp_destroy(l);
    soma_mlp_destroy(m);
}
END_TEST

START_TEST(every_truncation_and_every_byte_flip_is_an_error)
{
    precision = (soma_precision)_i;
    unsigned char *bytes;
    size_t n;
    soma_mlp *m = trained(&bytes, &n);
    soma_mlp *l = NULL;
    for (size_t k = 0; k < n; k++) {
        soma_status st = soma_mlp_load_buffer(&l, bytes, k, NULL, NULL);
        ck_assert_msg(st == SOMA_EFORMAT, "truncated at %zu: %s", k,
                      soma_status_string(st));
    }
    unsigned char *copy = malloc(n);
    for (size_t k = 0; k < n; k++) {
        memcpy(copy, bytes, n);
        copy[k] ^= 0x01;
        soma_status st = soma_mlp_load_buffer(&l, copy, n, NULL, NULL);
        ck_assert_msg(st != SOMA_OK, "flip at %zu loaded", k);
        memcpy(copy, bytes, n);
        copy[k] ^= 0xFF;
        st = soma_mlp_load_buffer(&l, copy, n, NULL, NULL);
        ck_assert_msg(st != SOMA_OK, "flip at %zu loaded", k);
    }
    ck_assert_ptr_null(l);
    free(copy);
    free(bytes);
    soma_mlp_destroy(m);
}
END_TEST

/* Build a container with a valid header and CRC around a payload. */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
    /* Bitwise CRC-32 (IEEE, reflected), independent of the library's table. */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

START_TEST(huge_claims_fail_without_allocating)
{
    /* 40+ bytes: header plus a payload claiming layers of 10^6 x 10^6
     * (10^12 weights) backed by nothing. */
    unsigned char f[32 + 24] = {'S', 'O', 'M', 'A', 'M', 'O', 'D', 'L'};
    le(f + 8, 1, 4);   /* version */
    le(f + 12, 1, 4);  /* kind: MLP */
    le(f + 16, 24, 8); /* payload length */
    le(f + 32, 1, 4);  /* one layer */
    le(f + 36, 0, 4);  /* flags */
    le(f + 40, 1000000, 8);
    le(f + 48, 1000000, 8);
    le(f + 24, crc32_ref(f + 32, 24), 4);
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_mlp *m = NULL;
    soma_error_info err;
    ck_assert_int_eq(soma_mlp_load_buffer(&m, f, sizeof f, &a, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(t.allocs, 0);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err.message, "truncated parameters");
    ck_assert_uint_eq(err.offset, 56);
}
END_TEST

START_TEST(future_version_is_refused_clearly)
{
    unsigned char *bytes;
    size_t n;
    soma_mlp *m = trained(&bytes, &n), *l = NULL;
    le(bytes + 8, SOMA_MODEL_FORMAT_VERSION + 1, 4);
    soma_error_info err;
    ck_assert_int_eq(soma_mlp_load_buffer(&l, bytes, n, NULL, &err), SOMA_EVERSION);
    char want[32];
    snprintf(want, sizeof want, "version %d", SOMA_MODEL_FORMAT_VERSION + 1);
    ck_assert_ptr_nonnull(strstr(err.message, want));
    /* Version 0 is refused as well. */
    le(bytes + 8, 0, 4);
    ck_assert_int_eq(soma_mlp_load_buffer(&l, bytes, n, NULL, &err), SOMA_EVERSION);
    free(bytes);
    soma_mlp_destroy(m);
}
END_TEST

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/soma-model-XXXXXX";
    char *d = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(d);
    return strdup(d);
}

static void read_all(const char *path, unsigned char **data, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc(*n + 1);
    ck_assert_uint_eq(fread(*data, 1, *n, f), *n);
    fclose(f);
}

/* soma_mlp_save under a file-size limit (RLIMIT_FSIZE) of `limit` bytes:
 * writes past it fail with EFBIG (SIGXFSZ ignored), a real write error in
 * every build, for root too. The limit and the signal are restored. */
static soma_status save_with_size_limit(soma_mlp *m, const char *path, size_t limit)
{
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)limit < old.rlim_max ? (rlim_t)limit : old.rlim_max;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert(prev != SIG_ERR);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    const soma_status st = soma_mlp_save(m, path, true, NULL);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert(signal(SIGXFSZ, prev) != SIG_ERR);
    return st;
}

/* The bytes of path equal want[0..n). */
static void file_is(const char *path, const unsigned char *want, size_t n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char *got = malloc(n + 1);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(fread(got, 1, n + 1, f), n);
    fclose(f);
    ck_assert_mem_eq(got, want, n);
    free(got);
}

START_TEST(files_round_trip_and_failed_saves_keep_the_old_file)
{
    char *dir = temp_dir(), path[512];
    snprintf(path, sizeof path, "%s/model.soma", dir);
    soma_mlp *a = fixture_model(), *b = NULL;
    ck_assert_int_eq(soma_mlp_save(a, path, false, NULL), SOMA_OK);
    soma_error_info err;
    ck_assert_int_eq(soma_mlp_load(&b, path, NULL, &err), SOMA_OK);
    assert_same_model(a, b);

    unsigned char *before;
    size_t nb;
    read_all(path, &before, &nb);
    /* A different model, whose save fails: in every build on a write past
     * a file-size limit (here when the buffered bytes are flushed; the
     * larger model below fails inside its write), in fault-injection builds
     * also at each step of the replacement. */
    soma_matrix p;
    ck_assert_int_eq(soma_mlp_params(b, &p, NULL), SOMA_OK);
    p.data[0] = 123.0;
    ck_assert_int_eq(save_with_size_limit(b, path, 100), SOMA_EIO);
    file_is(path, before, nb);
    {
        const size_t big[3] = {64, 64, 8};
        soma_mlp *m = NULL;
        ck_assert_int_eq(soma_mlp_create(&m, big, 3, NULL, NULL, NULL), SOMA_OK);
        size_t n_big;
        ck_assert_int_eq(soma_mlp_save_buffer(m, true, NULL, 0, &n_big, NULL), SOMA_OK);
        ck_assert_uint_gt(n_big, 4 * BUFSIZ);
        ck_assert_int_eq(save_with_size_limit(m, path, n_big / 2), SOMA_EIO);
        file_is(path, before, nb);
        ck_assert_int_eq(save_with_size_limit(m, path, n_big), SOMA_OK); /* just fits */
        ck_assert_int_eq(soma_mlp_save(a, path, false, NULL), SOMA_OK);        /* back */
        file_is(path, before, nb);
        soma_mlp_destroy(m);
    }
#if defined(EXPECT_FAULT_INJECTION)
    unsigned char *after;
    size_t na;
    const char *steps[3] = {"write", "fsync", "rename"};
    for (int s = 0; s < 3; s++) {
        setenv("SOMA_FAULT", steps[s], 1);
        ck_assert_int_eq(soma_mlp_save(b, path, true, NULL), SOMA_EIO);
        unsetenv("SOMA_FAULT");
        read_all(path, &after, &na);
        ck_assert_uint_eq(na, nb);
        ck_assert_mem_eq(after, before, nb);
        free(after);
    }
#endif
    /* No temporary file is left behind. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* An unwritable destination folder is an I/O error. */
    ck_assert_int_eq(soma_mlp_save(a, "/nonexistent-dir/x.soma", false, NULL), SOMA_EIO);
    ck_assert_int_eq(soma_mlp_load(&b, "/nonexistent-dir/x.soma", NULL, &err), SOMA_EIO);
    free(before);
    unlink(path);
    rmdir(dir);
    free(dir);
    soma_mlp_destroy(b);
    soma_mlp_destroy(a);
}
END_TEST

START_TEST(committed_fixture_still_loads)
{
    /* tests/data/mlp-v1.soma was written by format version 1 (see
     * --write-fixture below). A format change that cannot read it fails
     * here. */
    soma_mlp *m = NULL;
    soma_error_info err;
    soma_status st = soma_mlp_load(&m, FIXTURE_DIR "/mlp-v1.soma", NULL, &err);
    ck_assert_msg(st == SOMA_OK, "%s: %s", soma_status_string(st), err.message);
    ck_assert_uint_eq(soma_mlp_n_layers(m), 2);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(soma_mlp_size(m, i), fixture_sizes[i]);
    soma_mlp_spec s;
    ck_assert_int_eq(soma_mlp_get_spec(m, &s, NULL), SOMA_OK);
    ck_assert_int_eq(s.hidden, SOMA_ACTIVATION_TANH);
    ck_assert_int_eq(s.output, SOMA_ACTIVATION_SOFTMAX);
    ck_assert_int_eq(s.loss, SOMA_LOSS_CE);
    ck_assert_uint_eq(s.seed, 7);
    soma_matrix p;
    ck_assert_int_eq(soma_mlp_params(m, &p, NULL), SOMA_OK);
    ck_assert_uint_eq(p.cols, 3 * 4 + 4 + 4 * 2 + 2);
    for (size_t i = 0; i < p.cols; i++)
        ck_assert_double_eq(p.data[i], fixture_param(i));
    soma_mlp_destroy(m);
}
END_TEST

/* ---- perceptron files ------------------------------------------------- */

/* The committed perceptron fixture: d = 3, w = (0.5, -1.25, 2), b = -0.75,
 * options lr 0.25, max_epochs 40, init_sd 0.01, average on; converged at 7. */
static const double fixture_w[3] = {0.5, -1.25, 2.0};

static soma_perceptron *fitted_perceptron(void)
{
    soma_perceptron_options o = soma_perceptron_defaults();
    o.learning_rate = 0.1;
    o.max_epochs = 50;
    soma_perceptron *p;
    ck_assert_int_eq(soma_perceptron_create(&p, &o, NULL, NULL), SOMA_OK);
    soma_matrix X, y;
    ck_assert_int_eq(soma_matrix_init(&X, 40, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&y, 40, 1, NULL), SOMA_OK);
    test_fill_random(&X, 12);
    for (size_t i = 0; i < 40; i++)
        y.data[i] = X.data[3 * i] - X.data[3 * i + 2] > 0 ? 1.0 : 0.0;
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 5), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_fit(p, &X, &y, &r, NULL), SOMA_OK);
    soma_matrix_free(&y);
    soma_matrix_free(&X);
    return p;
}

START_TEST(perceptron_round_trip_and_corruption)
{
    soma_perceptron *p = fitted_perceptron(), *q = NULL;
    size_t n;
    ck_assert_int_eq(soma_perceptron_save_buffer(p, NULL, 0, &n, NULL), SOMA_OK);
    unsigned char *bytes = malloc(n);
    ck_assert_int_eq(soma_perceptron_save_buffer(p, bytes, n, &n, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_load_buffer(&q, bytes, n, NULL, NULL), SOMA_OK);
    double wp[3], wq[3], bp, bq;
    soma_matrix Wp, Wq;
    ck_assert_int_eq(soma_matrix_view(&Wp, wp, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&Wq, wq, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &Wp, &bp, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(q, &Wq, &bq, NULL), SOMA_OK);
    ck_assert_mem_eq(wp, wq, sizeof wp);
    ck_assert_mem_eq(&bp, &bq, sizeof bp);
    bool cp, cq;
    size_t ep, eq;
    ck_assert_int_eq(soma_perceptron_converged(p, &cp, &ep, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_converged(q, &cq, &eq, NULL), SOMA_OK);
    ck_assert(cp == cq);
    ck_assert(!cp || ep == eq);
    soma_matrix X, Pp, Pq;
    ck_assert_int_eq(soma_matrix_init(&X, 100, 3, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Pp, 100, 1, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&Pq, 100, 1, NULL), SOMA_OK);
    test_fill_random(&X, 13);
    ck_assert_int_eq(soma_perceptron_decision_function(p, &X, &Pp, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_decision_function(q, &X, &Pq, NULL), SOMA_OK);
    ck_assert_mem_eq(Pp.data, Pq.data, 100 * sizeof(double));

    /* Every truncation and every flipped byte fails. */
    soma_perceptron *none = NULL;
    for (size_t k = 0; k < n; k++)
        ck_assert_int_ne(soma_perceptron_load_buffer(&none, bytes, k, NULL, NULL),
                         SOMA_OK);
    for (size_t k = 0; k < n; k++) {
        bytes[k] ^= 0x10;
        ck_assert_int_ne(soma_perceptron_load_buffer(&none, bytes, n, NULL, NULL),
                         SOMA_OK);
        bytes[k] ^= 0x10;
    }
    ck_assert_ptr_null(none);
    /* An MLP file is not a perceptron file. */
    soma_mlp *m = fixture_model();
    size_t mn;
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, NULL, 0, &mn, NULL), SOMA_OK);
    unsigned char *mb = malloc(mn);
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, mb, mn, &mn, NULL), SOMA_OK);
    soma_error_info err;
    ck_assert_int_eq(soma_perceptron_load_buffer(&none, mb, mn, NULL, &err),
                     SOMA_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "not a perceptron"));
    free(mb);
    soma_mlp_destroy(m);

    /* Unfitted perceptrons have nothing to save. */
    soma_perceptron *fresh;
    ck_assert_int_eq(soma_perceptron_create(&fresh, NULL, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_save_buffer(fresh, NULL, 0, &n, NULL), SOMA_ESTATE);
    ck_assert_int_eq(soma_perceptron_save(fresh, "/tmp/never.soma", NULL), SOMA_ESTATE);
    soma_perceptron_destroy(fresh);
    soma_matrix *all[] = {&X, &Pp, &Pq};
    for (int i = 0; i < 3; i++)
        soma_matrix_free(all[i]);
    free(bytes);
    soma_perceptron_destroy(q);
    soma_perceptron_destroy(p);
}
END_TEST

START_TEST(committed_perceptron_fixture_still_loads)
{
    soma_perceptron *p = NULL;
    soma_error_info err;
    soma_status st =
        soma_perceptron_load(&p, FIXTURE_DIR "/perceptron-v1.soma", NULL, &err);
    ck_assert_msg(st == SOMA_OK, "%s: %s", soma_status_string(st), err.message);
    size_t d;
    ck_assert_int_eq(soma_perceptron_n_features(p, &d, NULL), SOMA_OK);
    ck_assert_uint_eq(d, 3);
    double w[3], b;
    soma_matrix W;
    ck_assert_int_eq(soma_matrix_view(&W, w, 1, 3, 3), SOMA_OK);
    ck_assert_int_eq(soma_perceptron_get_weights(p, &W, &b, NULL), SOMA_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq(w[i], fixture_w[i]);
    ck_assert_double_eq(b, -0.75);
    bool converged;
    size_t epoch;
    ck_assert_int_eq(soma_perceptron_converged(p, &converged, &epoch, NULL), SOMA_OK);
    ck_assert(converged);
    ck_assert_uint_eq(epoch, 7);
    soma_perceptron_destroy(p);
}
END_TEST

/* Writes tests/data/perceptron-v1.soma byte by byte from docs/format.md
 * (an encoding independent of the library's writer). */
static int write_perceptron_fixture(const char *path)
{
    unsigned char b[32 + 80] = {'S', 'O', 'M', 'A', 'M', 'O', 'D', 'L'};
    unsigned char *q = b + 32;
    double lr = 0.25, sd = 0.01, bias = -0.75;
    le(b + 8, 1, 4);  /* version */
    le(b + 12, 2, 4); /* kind: perceptron */
    le(b + 16, 80, 8);
    memcpy(q, &lr, 8);
    le(q + 8, 40, 8); /* max_epochs */
    memcpy(q + 16, &sd, 8);
    le(q + 24, 2, 4); /* flags: average */
    le(q + 28, 1, 4); /* converged */
    le(q + 32, 7, 8); /* at epoch 7 */
    le(q + 40, 3, 8); /* d */
    memcpy(q + 48, fixture_w, 24);
    memcpy(q + 72, &bias, 8);
    le(b + 24, crc32_ref(q, 80), 4);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 1;
    int bad = fwrite(b, 1, sizeof b, f) != sizeof b;
    return fclose(f) != 0 || bad;
}

/* ---- format version 2: sections, scaler files --------------------------- */

/* Appends little-endian fields to a byte buffer (an encoder written from
 * docs/format.md, independent of the library's writer). */
typedef struct enc {
    unsigned char b[1024];
    size_t n;
} enc;

static void put(enc *e, uint64_t v, int bytes)
{
    le(e->b + e->n, v, bytes);
    e->n += (size_t)bytes;
}

static void put_f64(enc *e, double d)
{
    memcpy(e->b + e->n, &d, 8);
    e->n += 8;
}

static void put_text(enc *e, const char *t)
{
    memcpy(e->b + e->n, t, strlen(t));
    e->n += strlen(t);
}

/* The header around payload e->b[32..n). */
static void seal_ref(enc *e, uint32_t kind)
{
    memcpy(e->b, "SOMAMODL", 8);
    le(e->b + 8, 2, 4);
    le(e->b + 12, kind, 4);
    le(e->b + 16, e->n - 32, 8);
    le(e->b + 24, crc32_ref(e->b + 32, e->n - 32), 4);
    le(e->b + 28, 0, 4);
}

/* A [2, 3] softmax model (identity hidden unused: one layer) with the given
 * sections, encoded by hand. Parameters W(i,j) = i - j / 4, b(j) = j. */
static void encode_v2(enc *e, bool pre, bool names, bool meta)
{
    memset(e, 0, sizeof *e);
    e->n = 32;
    put(e, 1, 4); /* L */
    put(e, 0, 4); /* flags */
    put(e, 0, 4); /* precision f64 */
    put(e, 0, 4); /* reserved */
    put(e, 2, 8);
    put(e, 3, 8);
    put(e, SOMA_ACTIVATION_RELU, 4);
    put(e, SOMA_ACTIVATION_SOFTMAX, 4);
    put(e, SOMA_LOSS_CE, 4);
    put(e, SOMA_INIT_HE_NORMAL, 4);
    put_f64(e, 0.0);
    put_f64(e, 0.0);
    put_f64(e, 1.0);
    put(e, 11, 8); /* seed */
    put(e, 4, 8);  /* epochs done */
    put(e, 9, 8);  /* N = 2*3 + 3 */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            put_f64(e, i - j / 4.0);
    for (int j = 0; j < 3; j++)
        put_f64(e, j);
    if (pre) {
        put(e, 1, 4);
        put(e, 0, 4);
        put(e, 8 + 8 + 4 * 8, 8);
        put(e, 2, 8);  /* d */
        put(e, 60, 8); /* samples seen */
        put_f64(e, 0.5);
        put_f64(e, -2.0);
        put_f64(e, 4.0);
        put_f64(e, 0.25);
    }
    if (names) {
        const char *cls[3] = {"cat", "dog", "emu"};
        put(e, 2, 4);
        put(e, 0, 4);
        put(e, 8 + 3 * (4 + 3), 8);
        put(e, 3, 8);
        for (int i = 0; i < 3; i++) {
            put(e, 3, 4);
            put_text(e, cls[i]);
        }
    }
    if (meta) {
        put(e, 3, 4);
        put(e, 0, 4);
        put(e, 5, 8);
        put_text(e, "a=b\nc");
    }
    seal_ref(e, 1);
}

START_TEST(version_2_encoded_by_hand_loads)
{
    enc e;
    encode_v2(&e, true, true, true);
    soma_mlp *m = NULL;
    soma_error_info err;
    soma_status st = soma_mlp_load_buffer(&m, e.b, e.n, NULL, &err);
    ck_assert_msg(st == SOMA_OK, "%s: %s at %zu", soma_status_string(st), err.message,
                  err.offset);
    soma_matrix W, b;
    ck_assert_int_eq(soma_mlp_layer(m, 0, &W, &b, NULL), SOMA_OK);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            ck_assert_double_eq(*soma_matrix_at(&W, (size_t)i, (size_t)j), i - j / 4.0);
    ck_assert_double_eq(b.data[2], 2.0);
    ck_assert_uint_eq(soma_mlp_n_class_names(m), 3);
    ck_assert_str_eq(soma_mlp_class_name(m, 1), "dog");
    ck_assert_ptr_null(soma_mlp_class_name(m, 3));
    ck_assert_str_eq(soma_mlp_metadata(m), "a=b\nc");
    const soma_scaler *s = soma_mlp_preprocessing(m);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->n_samples_seen, 60);
    ck_assert_double_eq(s->mean.data[1], -2.0);
    ck_assert_double_eq(s->scale.data[1], 0.25);
    /* The library's writer gives back the same bytes. */
    size_t n;
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, NULL, 0, &n, NULL), SOMA_OK);
    ck_assert_uint_eq(n, e.n);
    unsigned char *w = malloc(n);
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, w, n, &n, NULL), SOMA_OK);
    ck_assert_mem_eq(w, e.b, n);
    free(w);
    soma_mlp_destroy(m);
    /* Without sections: no class names, no preprocessing, empty metadata. */
    encode_v2(&e, false, false, false);
    ck_assert_int_eq(soma_mlp_load_buffer(&m, e.b, e.n, NULL, &err), SOMA_OK);
    ck_assert_uint_eq(soma_mlp_n_class_names(m), 0);
    ck_assert_ptr_null(soma_mlp_preprocessing(m));
    ck_assert_str_eq(soma_mlp_metadata(m), "");
    soma_mlp_destroy(m);
}
END_TEST

/* Damage inside the sections, with a correct checksum, so that the parser
 * itself must notice; each case names the rule it breaks. */
START_TEST(bad_sections_are_format_errors)
{
    enc e;
    /* payload offsets: the model is 32 + 16 + 16 + 16 + 40 + 24 + 72 bytes */
    const size_t sections = 32 + 4 * 4 + 2 * 8 + 4 * 4 + 3 * 8 + 3 * 8 + 9 * 8;
    struct {
        const char *what;
        size_t at;  /* offset from the first section */
        uint64_t v; /* value written there */
        int bytes;
        const char *message; /* part of the error message */
    } cases[] = {
        {"unknown tag", 0, 9, 4, "unknown, repeated"},
        {"reserved not zero", 4, 1, 4, "unknown, repeated"},
        {"length past the end", 8, 1000, 8, "longer than the file"},
        {"scaler width differs from the input", 16, 3, 8, "scaler width"},
        {"scale not > 0", 16 + 16 + 16 + 8, 0, 8, "scale not > 0"},
        {"class count differs", 16 + 48 + 16, 2, 8, "class name count"},
        {"class name empty", 16 + 48 + 16 + 8, 0, 4, "class name length"},
        {"class name with NUL", 16 + 48 + 16 + 8 + 4, 0, 1, "NUL"},
        {"section repeated", 16 + 48, 1, 4, "unknown, repeated"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        encode_v2(&e, true, true, true);
        le(e.b + sections + cases[c].at, cases[c].v, cases[c].bytes);
        seal_ref(&e, 1);
        soma_mlp *m = NULL;
        soma_error_info err;
        soma_status st = soma_mlp_load_buffer(&m, e.b, e.n, NULL, &err);
        ck_assert_msg(st == SOMA_EFORMAT, "%s: %s", cases[c].what,
                      soma_status_string(st));
        ck_assert_msg(strstr(err.message, cases[c].message) != NULL, "%s: \"%s\"",
                      cases[c].what, err.message);
        ck_assert_ptr_null(m);
    }
    /* Metadata with a NUL, and names on a model whose class count differs. */
    encode_v2(&e, false, false, true);
    e.b[e.n - 2] = 0;
    seal_ref(&e, 1);
    soma_mlp *m = NULL;
    ck_assert_int_eq(soma_mlp_load_buffer(&m, e.b, e.n, NULL, NULL), SOMA_EFORMAT);
    /* Every flip of a byte of the sections, checksum recomputed: an error
     * or a model that differs only in a name, a scale or a metadata byte;
     * never a crash or a leak (the sanitizer and valgrind runs watch). */
    enc ok;
    encode_v2(&ok, true, true, true);
    for (size_t k = sections; k < ok.n; k++) {
        e = ok;
        e.b[k] ^= 0x41;
        seal_ref(&e, 1);
        if (soma_mlp_load_buffer(&m, e.b, e.n, NULL, NULL) == SOMA_OK)
            soma_mlp_destroy(m);
    }
}
END_TEST

START_TEST(scaler_files_round_trip)
{
    soma_matrix X;
    ck_assert_int_eq(soma_matrix_init(&X, 20, 4, NULL), SOMA_OK);
    test_fill_random(&X, 5);
    soma_scaler s = {0}, l = {0};
    ck_assert_int_eq(soma_scaler_fit(&s, &X, NULL, NULL), SOMA_OK);
    size_t n;
    ck_assert_int_eq(soma_scaler_save_buffer(&s, NULL, 0, &n, NULL), SOMA_OK);
    ck_assert_uint_eq(n, 32 + 16 + 2 * 4 * 8);
    unsigned char *b = malloc(n);
    ck_assert_int_eq(soma_scaler_save_buffer(&s, b, n, &n, NULL), SOMA_OK);
    ck_assert_uint_eq(b[12], 3); /* kind */
    ck_assert_int_eq(soma_scaler_load_buffer(&l, b, n, NULL, NULL), SOMA_OK);
    ck_assert_mem_eq(l.mean.data, s.mean.data, 4 * sizeof(double));
    ck_assert_mem_eq(l.scale.data, s.scale.data, 4 * sizeof(double));
    ck_assert_uint_eq(l.n_samples_seen, 20);
    soma_scaler_free(&l);
    for (size_t k = 0; k < n; k++)
        ck_assert_int_eq(soma_scaler_load_buffer(&l, b, k, NULL, NULL), SOMA_EFORMAT);
    for (size_t k = 0; k < n; k++) {
        b[k] ^= 0x10;
        ck_assert_int_ne(soma_scaler_load_buffer(&l, b, n, NULL, NULL), SOMA_OK);
        b[k] ^= 0x10;
    }
    /* A model file is not a scaler, and the reverse. */
    unsigned char *mb;
    size_t mn;
    soma_mlp *m = trained(&mb, &mn), *none = NULL;
    soma_error_info err;
    ck_assert_int_eq(soma_scaler_load_buffer(&l, mb, mn, NULL, &err), SOMA_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "not a scaler"));
    ck_assert_int_eq(soma_mlp_load_buffer(&none, b, n, NULL, &err), SOMA_EFORMAT);
    /* Files: save, load, and a fixed scale. */
    char path[] = "/tmp/soma-scaler-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    soma_scaler f = {0};
    ck_assert_int_eq(soma_scaler_init_fixed(&f, 3, 0.0, 255.0, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_scaler_save(&f, path, NULL), SOMA_OK);
    ck_assert_int_eq(soma_scaler_load(&l, path, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(l.scale.data[2], 255.0);
    ck_assert_double_eq(l.mean.data[0], 0.0);
    unlink(path);
    soma_scaler_free(&l);
    soma_scaler_free(&f);
    soma_scaler_free(&s);
    soma_mlp_destroy(m);
    free(mb);
    free(b);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(bad_arguments)
{
    soma_mlp *m = fixture_model(), *l = (soma_mlp *)&m;
    size_t n;
    unsigned char buf[8];
    ck_assert_int_eq(soma_mlp_save_buffer(NULL, false, NULL, 0, &n, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, NULL, 0, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, NULL, 8, &n, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_save(m, NULL, false, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_save(NULL, "x", false, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_load_buffer(NULL, buf, 8, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_load_buffer(&l, NULL, 8, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_mlp_load_buffer(&l, NULL, 0, NULL, NULL), SOMA_EFORMAT);
    ck_assert_int_eq(soma_mlp_load(&l, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_ptr_eq(l, (soma_mlp *)&m);
    soma_mlp_destroy(m);
}
END_TEST

/*
 * A float model's file, encoded by hand (enc above): version 2, precision 1
 * after the flags, 4-byte parameters. The library writes the same bytes,
 * reads them back, and refuses the variants a reader must refuse.
 */
START_TEST(float_files_are_binary32_version_2)
{
    /* [2, 2, 1]: 6 + 3 = 9 parameters, identity hidden, sigmoid + BCE. */
    const size_t sizes[3] = {2, 2, 1};
    const float w[9] = {0.5f, -0.25f, 1.5f, 2.0f, 0.125f, -1.0f, 0.75f, -3.5f, 0.1f};
    soma_mlp_spec spec = soma_mlp_spec_default();
    spec.hidden = SOMA_ACTIVATION_IDENTITY;
    spec.seed = 5;
    spec.precision = SOMA_PRECISION_F32;
    soma_mlp *m = NULL, *l = NULL;
    ck_assert_int_eq(soma_mlp_create(&m, sizes, 3, &spec, NULL, NULL), SOMA_OK);
    soma_matrix p;
    ck_assert_int_eq(soma_matrix_init(&p, 1, 9, NULL), SOMA_OK);
    for (int i = 0; i < 9; i++)
        p.data[i] = w[i];
    ck_assert_int_eq(soma_mlp_set_params(m, &p, NULL), SOMA_OK);

    enc e;
    memset(&e, 0, sizeof e);
    e.n = 32;
    put(&e, 2, 4); /* L */
    put(&e, 0, 4); /* flags */
    put(&e, 1, 4); /* precision: binary32 */
    put(&e, 0, 4); /* reserved */
    for (int i = 0; i < 3; i++)
        put(&e, sizes[i], 8);
    put(&e, SOMA_ACTIVATION_IDENTITY, 4);
    put(&e, SOMA_ACTIVATION_SIGMOID, 4);
    put(&e, SOMA_LOSS_BCE, 4);
    put(&e, SOMA_INIT_XAVIER_UNIFORM, 4);
    put_f64(&e, 0.0); /* alphas, init scale */
    put_f64(&e, 0.0);
    put_f64(&e, 1.0);
    put(&e, 5, 8); /* seed */
    put(&e, 0, 8); /* epochs done */
    put(&e, 9, 8); /* N */
    for (int i = 0; i < 9; i++) {
        uint32_t bits;
        memcpy(&bits, &w[i], 4);
        put(&e, bits, 4);
    }
    seal_ref(&e, 1);
    ck_assert_uint_eq(e.n, 32 + 140);

    /* The library writes exactly these bytes... */
    size_t n = 0;
    unsigned char got[sizeof e.b];
    ck_assert_int_eq(soma_mlp_save_buffer(m, false, got, sizeof got, &n, NULL), SOMA_OK);
    ck_assert_uint_eq(n, e.n);
    ck_assert_mem_eq(got, e.b, e.n);
    /* ... and reads them as a float model with those floats. */
    ck_assert_int_eq(soma_mlp_load_buffer(&l, e.b, e.n, NULL, NULL), SOMA_OK);
    assert_same_model(m, l);
    soma_mlp_destroy(l);
    l = NULL;

    /* Variants a reader refuses: an unknown precision, a reserved field
     * that is not 0, a NaN parameter, a parameter count the bytes cannot
     * back (counted with 4 bytes per value). */
    struct {
        size_t offset;
        uint64_t value;
        int bytes;
        const char *message;
    } bad[] = {
        {40, 2, 4, "unknown precision"},
        {44, 1, 4, "reserved field is not zero"},
        {136 + 6 * 4, 0x7FC00000u, 4, "non-finite parameter"},
        {56, 1000, 8, "truncated parameters"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        enc c = e;
        le(c.b + bad[k].offset, bad[k].value, bad[k].bytes);
        seal_ref(&c, 1);
        soma_error_info err;
        ck_assert_int_eq(soma_mlp_load_buffer(&l, c.b, c.n, NULL, &err), SOMA_EFORMAT);
        ck_assert_str_eq(err.message, bad[k].message);
        ck_assert_ptr_null(l);
    }
    /* The same payload read as version 1 (no precision field) is not a
     * model: its counts no longer line up. */
    enc v1 = e;
    le(v1.b + 8, 1, 4);
    ck_assert_int_eq(soma_mlp_load_buffer(&l, v1.b, v1.n, NULL, NULL), SOMA_EFORMAT);
    soma_matrix_free(&p);
    soma_mlp_destroy(m);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-perceptron-fixture") == 0)
        return write_perceptron_fixture(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--write-fixture") == 0) {
        soma_mlp *m = NULL;
        soma_mlp_spec spec = soma_mlp_spec_default();
        spec.hidden = SOMA_ACTIVATION_TANH;
        spec.output = SOMA_ACTIVATION_SOFTMAX;
        spec.loss = SOMA_LOSS_CE;
        spec.seed = 7;
        if (soma_mlp_create(&m, fixture_sizes, 3, &spec, NULL, NULL) != SOMA_OK)
            return 1;
        soma_matrix p;
        if (soma_mlp_params(m, &p, NULL) != SOMA_OK)
            return 1;
        for (size_t i = 0; i < p.cols; i++)
            p.data[i] = fixture_param(i);
        soma_status st = soma_mlp_save(m, argv[2], false, NULL);
        soma_mlp_destroy(m);
        return st == SOMA_OK ? 0 : 1;
    }
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, reset_precision, NULL);
    tcase_add_loop_test(tc, round_trip_is_bit_exact_and_keeps_training_state, 0,
                        SOMA_PRECISION_COUNT);
    tcase_add_loop_test(tc, every_truncation_and_every_byte_flip_is_an_error, 0,
                        SOMA_PRECISION_COUNT);
    tcase_add_test(tc, float_files_are_binary32_version_2);
    tcase_add_test(tc, version_2_encoded_by_hand_loads);
    tcase_add_test(tc, bad_sections_are_format_errors);
    tcase_add_test(tc, scaler_files_round_trip);
    tcase_add_test(tc, huge_claims_fail_without_allocating);
    tcase_add_test(tc, future_version_is_refused_clearly);
    tcase_add_test(tc, files_round_trip_and_failed_saves_keep_the_old_file);
    tcase_add_test(tc, committed_fixture_still_loads);
    tcase_add_test(tc, perceptron_round_trip_and_corruption);
    tcase_add_test(tc, committed_perceptron_fixture_still_loads);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return test_run(s);
}
