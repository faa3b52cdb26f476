/* Writes the seed corpus of the fuzz targets: valid inputs and the
 * interesting broken ones, each with the option bytes its target reads
 * first (see fuzz_csv.c, fuzz_model.c, fuzz_train.c, fuzz_idx.c).
 *
 *   build/tests/fuzz/fuzz-seeds tests/fuzz/corpus tests/data/idx
 *
 * writes corpus/csv, corpus/model, corpus/train and corpus/idx (the folders
 * must exist). The committed corpus was made this way, plus the two committed
 * model fixtures with the model target's two option bytes (zero) in front:
 *
 *   (printf '\000\000'; cat tests/data/mlp-v1.soma) >
 * tests/fuzz/corpus/model/fixture-mlp-v1
 *
 * (and the same for perceptron-v1.soma). Rerun it after changing an input
 * format. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <soma.h>

static const char *root;

static void put(const char *folder, const char *name, const void *prefix, size_t np,
                const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, folder, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(prefix, 1, np, f) != np ||
        (n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* CSV: option byte, label index, allocation to fail, text. */
static void csv(const char *name, uint8_t opt, uint8_t label, uint8_t fail,
                const char *text)
{
    const uint8_t prefix[3] = {opt, label, fail};
    put("csv", name, prefix, 3, text, strlen(text));
}

/* CSV with the second option byte (bit 7 of the first set): skip_lines,
 * comment, label type, sort_classes. */
static void csv_more(const char *name, uint8_t opt, uint8_t more, const char *text)
{
    const uint8_t prefix[4] = {(uint8_t)(opt | 0x80), 0, 0, more};
    put("csv", name, prefix, 4, text, strlen(text));
}

static void csv_seeds(void)
{
    /* opt bits: 0-1 delimiter , ; \t space; 2-3 header auto yes no;
     * 4-5 label last index name none; 6 allow_nonfinite. */
    csv("valid-header-last", 0x00, 0, 0, "x1,x2,label\n1,2,0\n3.5,-4e2,1\n");
    csv("valid-no-header", 0x08, 0, 0, "1,2,0\n3,4,1\n5,6,2\n");
    csv("valid-bom-crlf-quotes", 0x00, 0, 0,
        "\xEF\xBB\xBF\"a, \"\"quoted\"\"\",b ,label\r\n\r\n \"1.5\" "
        ",.5,0\r\n2.,3e-3,1\r\n");
    csv("valid-semicolon-index", 0x11, 1, 0, "a;y;b\n1;0;2\n3;1;4\n");
    csv("valid-tab-name", 0x22, 0, 0, "f1\tlabel\tf2\n1\t1\t2\n3\t0\t4\n");
    csv("valid-space-none", 0x33, 0, 0, "1 2 3\n4 5 6\n");
    csv("valid-nonfinite", 0x40, 0, 0, "nan,INF,-Infinity,1\n-nan,+inf,2,0\n");
    csv("valid-blank-lines", 0x00, 0, 0, "\n\na,b\n\n1,2\n\n3,4\n");
    csv("valid-no-final-newline", 0x00, 0, 0, "1,2\n3,4");
    csv("valid-subnormal", 0x08, 0, 0, "1e-320,2\n4.9e-324,1\n");
    csv("alloc-fail-1", 0x00, 0, 1, "x,y\n1,2\n3,4\n");
    csv("alloc-fail-3", 0x00, 0, 3, "x,y\n1,2\n3,4\n");
    csv("alloc-fail-6", 0x00, 0, 6, "x,y\n1,2\n3,4\n5,6\n");
    csv("broken-empty", 0x00, 0, 0, "");
    csv("broken-only-bom", 0x00, 0, 0, "\xEF\xBB\xBF");
    csv("broken-bom-prefix", 0x00, 0, 0,
        "\xEF\xBB"
        "1,2\n");
    csv("broken-header-only", 0x00, 0, 0, "a,b,c\n");
    csv("broken-unterminated-quote", 0x00, 0, 0, "1,\"2\n3,4\n");
    csv("broken-text-after-quote", 0x00, 0, 0, "\"1\"x,2\n");
    csv("broken-stray-cr", 0x00, 0, 0, "1,2\r3,4\n");
    csv("broken-too-many-fields", 0x00, 0, 0, "1,2\n3,4,5\n");
    csv("broken-too-few-fields", 0x00, 0, 0, "1,2,3\n4,5\n");
    csv("broken-empty-field", 0x00, 0, 0, "1,,3\n");
    csv("broken-overflow", 0x00, 0, 0, "1,1e999\n");
    csv("broken-not-a-number", 0x00, 0, 0, "1,--2\n3,0x10\n");
    csv("broken-nonfinite-refused", 0x00, 0, 0, "1,nan\n");
    csv("broken-label-index", 0x10, 5, 0, "1,2\n3,4\n");
    csv("broken-label-name-missing", 0x20, 0, 0, "a,b\n1,2\n");
    csv("broken-label-name-twice", 0x20, 0, 0, "label,label\n1,2\n");
    csv("broken-name-without-header", 0x28, 0, 0, "label,b\n1,2\n");
    const char nul[] = {'1', ',', '\0', '\n'};
    const uint8_t prefix[3] = {0, 0, 0};
    put("csv", "broken-nul-byte", prefix, 3, nul, sizeof nul);

    /* more bits: 0-1 skip_lines; 2-3 comment none # ; %; 4-5 label type
     * numeric text auto; 6 sort_classes. */
    csv_more("valid-skip-metadata", 0x00, 0x01,
             "150,4,setosa,versicolor\n1,2,0\n3,4,1\n");
    csv_more("valid-comments", 0x00, 0x05,
             "m\n# c\n  #\"\na,b\n#\n1,2\r\n # x\n3,4\n#end");
    csv_more("valid-text-labels", 0x08, 0x10,
             "5.1,3.5,Iris-setosa\n4.9,3.0,Iris-setosa\n7.0,3.2,Iris-versicolor\n"
             "\n6.3,3.3,Iris-virginica\n");
    csv_more("valid-text-sorted-index", 0x10, 0x50, "b,1\na,2\n\"c\",3\n b ,4\n");
    csv_more("valid-auto-text-header", 0x00, 0x20, "x,species\n1,cat\n2,dog\n3,cat\n");
    csv_more("valid-auto-numeric", 0x00, 0x60, "1,2\n3,0\n4,1\n");
    csv_more("valid-percent-comment-tab", 0x02, 0x0F, "a\nb\nc\n%x\n1\t2\n");
    csv_more("broken-ends-in-skip", 0x00, 0x03, "a\nb");
    csv_more("broken-empty-label", 0x00, 0x10, "1,a\n2,\"\"\n");
    csv_more("broken-auto-then-word", 0x00, 0x20, "1,0\n2,a\n");
    csv_more("broken-comment-is-delimiter", 0x01, 0x08, "1;2\n");
    csv_more("broken-text-without-label", 0x30, 0x10, "1,2\n");
    csv_more("broken-sort-numeric", 0x00, 0x40, "1,2\n");
    csv_more("broken-delimiter-hint", 0x00, 0x00, "a;b;c\n1;2;3\n");
}

/* Model files: mode byte (bit 0 rewrite header, bit 1 perceptron kind),
 * allocation to fail, bytes. */
static void model(const char *name, uint8_t mode, uint8_t fail, const void *b, size_t n)
{
    const uint8_t prefix[2] = {mode, fail};
    put("model", name, prefix, 2, b, n);
}

static unsigned char *mlp_bytes(soma_optimizer opt, bool with_opt, size_t *n)
{
    const size_t sizes[4] = {3, 4, 3, 2};
    soma_mlp_spec s = soma_mlp_spec_default();
    s.hidden = SOMA_ACTIVATION_LEAKY_RELU;
    s.output = SOMA_ACTIVATION_SOFTMAX;
    s.loss = SOMA_LOSS_CE;
    soma_mlp *m;
    soma_matrix X, Y;
    if (soma_mlp_create(&m, sizes, 4, &s, NULL, NULL) != SOMA_OK ||
        soma_matrix_init(&X, 8, 3, NULL) != SOMA_OK ||
        soma_matrix_init(&Y, 8, 2, NULL) != SOMA_OK)
        exit(1);
    for (size_t i = 0; i < 8; i++) {
        for (size_t j = 0; j < 3; j++)
            X.data[3 * i + j] = (double)((i * 7 + j * 3) % 5) - 2.0;
        Y.data[2 * i + i % 2] = 1.0;
    }
    soma_fit_options o = soma_fit_options_default();
    o.epochs = 2;
    o.optimizer = soma_optim_config_default(opt);
    if (soma_mlp_fit(m, &X, &Y, &o, NULL, NULL) != SOMA_OK)
        exit(1);
    if (opt == SOMA_OPTIMIZER_ADAM) {
        /* Every section of a version-2 file. */
        const char *names[2] = {"left", "right"};
        soma_scaler sc = {0};
        if (soma_mlp_set_class_names(m, names, 2, NULL) != SOMA_OK ||
            soma_scaler_fit(&sc, &X, NULL, NULL) != SOMA_OK ||
            soma_mlp_set_preprocessing(m, &sc, NULL) != SOMA_OK ||
            soma_mlp_set_metadata(m, "seed=yes\nepochs=2", NULL) != SOMA_OK)
            exit(1);
        soma_scaler_free(&sc);
    }
    if (soma_mlp_save_buffer(m, with_opt, NULL, 0, n, NULL) != SOMA_OK)
        exit(1);
    unsigned char *b = malloc(*n);
    if (b == NULL || soma_mlp_save_buffer(m, with_opt, b, *n, n, NULL) != SOMA_OK)
        exit(1);
    soma_mlp_destroy(m);
    soma_matrix_free(&X);
    soma_matrix_free(&Y);
    return b;
}

static unsigned char *perceptron_bytes(size_t *n)
{
    soma_perceptron_options o = soma_perceptron_defaults();
    o.average = true;
    soma_perceptron *p;
    soma_matrix X, y;
    if (soma_perceptron_create(&p, &o, NULL, NULL) != SOMA_OK ||
        soma_matrix_init(&X, 6, 2, NULL) != SOMA_OK ||
        soma_matrix_init(&y, 6, 1, NULL) != SOMA_OK)
        exit(1);
    for (size_t i = 0; i < 6; i++) {
        X.data[2 * i] = (double)i - 2.5;
        X.data[2 * i + 1] = (double)(i % 3);
        y.data[i] = i >= 3 ? 1.0 : 0.0;
    }
    soma_rng r;
    if (soma_rng_seed(&r, 1) != SOMA_OK ||
        soma_perceptron_fit(p, &X, &y, &r, NULL) != SOMA_OK ||
        soma_perceptron_save_buffer(p, NULL, 0, n, NULL) != SOMA_OK)
        exit(1);
    unsigned char *b = malloc(*n);
    if (b == NULL || soma_perceptron_save_buffer(p, b, *n, n, NULL) != SOMA_OK)
        exit(1);
    soma_perceptron_destroy(p);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    return b;
}

static void model_seeds(void)
{
    static const struct {
        const char *name;
        soma_optimizer opt;
        bool with_opt;
    } mlps[] = {{"mlp-plain", SOMA_OPTIMIZER_SGD, false},
                {"mlp-sgd-state", SOMA_OPTIMIZER_SGD, true},
                {"mlp-momentum-state", SOMA_OPTIMIZER_MOMENTUM, true},
                {"mlp-adam-state", SOMA_OPTIMIZER_ADAM, true}};
    char name[64];
    for (size_t i = 0; i < sizeof mlps / sizeof mlps[0]; i++) {
        size_t n;
        unsigned char *b = mlp_bytes(mlps[i].opt, mlps[i].with_opt, &n);
        snprintf(name, sizeof name, "valid-%s", mlps[i].name);
        model(name, 0, 0, b, n);
        snprintf(name, sizeof name, "payload-%s", mlps[i].name);
        model(name, 1, 0, b, n);
        if (i == 3) {
            model("alloc-fail-1-mlp", 0, 1, b, n);
            model("alloc-fail-4-mlp", 0, 4, b, n);
            model("alloc-fail-7-mlp", 0, 7, b, n);
            model("broken-truncated-mlp", 0, 0, b, n - 9);
            model("broken-truncated-header", 0, 0, b, 20);
            unsigned char *c = malloc(n + 1);
            memcpy(c, b, n);
            c[8] = SOMA_MODEL_FORMAT_VERSION + 1; /* a future version */
            model("broken-version-next", 0, 0, c, n);
            c[8] = SOMA_MODEL_FORMAT_VERSION;
            c[n - 3] ^= 0x10; /* checksum no longer matches */
            model("broken-checksum", 0, 0, c, n);
            c[n - 3] ^= 0x10;
            c[12] = 2; /* claims to be a perceptron */
            model("broken-kind", 0, 0, c, n);
            c[12] = 1;
            c[n] = 0;
            model("broken-trailing-byte", 0, 0, c, n + 1);
            c[28] = 1; /* reserved */
            model("broken-reserved", 0, 0, c, n);
            free(c);
            model("payload-truncated-mlp", 1, 0, b, n - 9);
        }
        free(b);
    }
    size_t n;
    unsigned char *p = perceptron_bytes(&n);
    model("valid-perceptron", 0, 0, p, n);
    model("payload-perceptron", 3, 0, p, n);
    model("alloc-fail-2-perceptron", 0, 2, p, n);
    model("payload-truncated-perceptron", 3, 0, p, n - 8);
    free(p);
    /* Scalers: fitted, fixed, and the payload alone (mode 9: rewrite the
     * header as a scaler's). */
    soma_scaler sc = {0};
    if (soma_scaler_init_fixed(&sc, 4, 0.0, 255.0, NULL, NULL) != SOMA_OK ||
        soma_scaler_save_buffer(&sc, NULL, 0, &n, NULL) != SOMA_OK)
        exit(1);
    unsigned char *sb = malloc(n);
    if (sb == NULL || soma_scaler_save_buffer(&sc, sb, n, &n, NULL) != SOMA_OK)
        exit(1);
    model("valid-scaler", 0, 0, sb, n);
    model("payload-scaler", 9, 0, sb, n);
    model("alloc-fail-1-scaler", 0, 1, sb, n);
    model("payload-truncated-scaler", 9, 0, sb, n - 8);
    free(sb);
    soma_scaler_free(&sc);
    model("broken-empty", 0, 0, "", 0);
    model("broken-magic", 0, 0, "SOMAMODX", 8);
}

/* The training target reads bytes as shapes, codes and values: random
 * bytes of several lengths cover it; a few fixed ones pin the edge cases. */
static void train_seeds(void)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    unsigned char b[600];
    char name[32];
    for (int i = 0; i < 16; i++) {
        size_t n = 40 + (size_t)i * 35;
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b[j] = (unsigned char)(x >> 24);
        }
        snprintf(name, sizeof name, "random-%02d", i);
        put("train", name, "", 0, b, n);
    }
    memset(b, 0, sizeof b);
    put("train", "zeros", "", 0, b, 200); /* m = n = k = 0, identity, ... */
    /* gemm 8 x 8 x 8, special values, padding everywhere. */
    memset(b, 0x88, sizeof b);
    b[3] = 0x04;
    b[5] = 0xFF;
    put("train", "special-8x8x8", "", 0, b, sizeof b);
    memset(b, 0x07, sizeof b);
    b[3] = 0x08; /* scaled values */
    put("train", "scaled-7x7x7", "", 0, b, sizeof b);
}

/* IDX: option byte, allocation to fail, bytes (see fuzz_idx.c). */
static void idx(const char *name, uint8_t opt, uint8_t fail, const void *b, size_t n)
{
    const uint8_t prefix[2] = {opt, fail};
    put("idx", name, prefix, 2, b, n);
}

/* The committed gzip fixtures of tests/data/idx, as raw inputs. */
static void idx_fixture(const char *fixtures, const char *file, const char *name)
{
    char path[512];
    unsigned char b[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures, file);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    idx(name, 0, 0, b, n);
}

static void idx_seeds(const char *fixtures)
{
    /* opt bits: 0-1 divisor 1, 255, -0.5, 1e-300; 2 allow_nonfinite;
     * 3 the harness gzips the bytes. */
    static const uint8_t u8_1d[] = {0, 0, 0x08, 1, 0, 0, 0, 3, 0, 7, 255};
    static const uint8_t i8_2d[] = {0, 0, 0x09, 2,    0,    0, 0, 2,    0,
                                    0, 0, 3,    0x80, 0xFF, 0, 1, 0x7F, 5};
    static const uint8_t i16_3d[] = {0,    0, 0x0B, 3,    0, 0, 0,    2,
                                     0,    0, 0,    1,    0, 0, 0,    2,
                                     0x80, 0, 0xFF, 0xFF, 1, 2, 0x7F, 0xFF};
    static const uint8_t i32_4d[] = {
        0, 0, 0x0C, 4, 0, 0, 0,    1,    0,    0,    0, 2, 0, 0, 0,    1,    0,    0,
        0, 2, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFE, 0, 1, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF};
    static const uint8_t f32_nan[] = {0,    0,    0x0D, 2, 0,    0,    0, 1, 0, 0, 0, 3,
                                      0x3F, 0x80, 0,    0, 0x7F, 0xC0, 0, 0, 0, 0, 0, 1};
    static const uint8_t f64_max[] = {0,    0,    0x0E, 1,    0,    0,    0,    2,
                                      0x7F, 0xEF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0x80, 0,    0,    0,    0,    0,    0,    0};
    idx("valid-u8-1d", 0x00, 0, u8_1d, sizeof u8_1d);
    idx("valid-u8-1d-gzip", 0x09, 0, u8_1d, sizeof u8_1d);
    idx("valid-i8-2d", 0x02, 0, i8_2d, sizeof i8_2d);
    idx("valid-i16-3d-gzip", 0x08, 0, i16_3d, sizeof i16_3d);
    idx("valid-i32-4d", 0x00, 0, i32_4d, sizeof i32_4d);
    idx("valid-f32-nan-allowed", 0x04, 0, f32_nan, sizeof f32_nan);
    idx("broken-f32-nan", 0x00, 0, f32_nan, sizeof f32_nan);
    idx("broken-f64-max-divided", 0x03, 0, f64_max, sizeof f64_max);
    idx("valid-f64-max", 0x00, 0, f64_max, sizeof f64_max);
    idx("alloc-fail-1", 0x00, 1, i8_2d, sizeof i8_2d);
    idx("alloc-fail-2-gzip", 0x08, 2, i8_2d, sizeof i8_2d);
    idx("alloc-fail-4-gzip", 0x08, 4, i8_2d, sizeof i8_2d);
    idx("broken-empty", 0x00, 0, "", 0);
    idx("broken-magic", 0x00, 0, "\x00\x01\x08\x01", 4);
    idx("broken-type", 0x00, 0, "\x00\x00\x0a\x01\x00\x00\x00\x01\x05", 9);
    idx("broken-zero-dims", 0x00, 0, "\x00\x00\x08\x00", 4);
    idx("broken-zero-size", 0x00, 0, "\x00\x00\x08\x01\x00\x00\x00\x00", 8);
    idx("broken-truncated-sizes", 0x00, 0, "\x00\x00\x08\x02\x00\x00\x00\x01\x00", 9);
    idx("broken-truncated-values", 0x00, 0, u8_1d, sizeof u8_1d - 1);
    idx("broken-truncated-values-gzip", 0x08, 0, i32_4d, sizeof i32_4d - 3);
    idx("broken-trailing", 0x00, 0, "\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", 10);
    static const uint8_t ovf[] = {0, 0, 0x0E, 3, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    idx("broken-overflow", 0x00, 0, ovf, sizeof ovf);
    static const uint8_t huge[] = {0, 0, 0x08, 3, 0, 0, 0xEA, 0x60, 0,
                                   0, 0, 28,   0, 0, 0, 28,   1};
    idx("broken-huge-header", 0x00, 0, huge, sizeof huge);
    idx("broken-huge-header-gzip", 0x08, 0, huge, sizeof huge);
    idx_fixture(fixtures, "u8-2x2x3.idx.gz", "gzip-u8");
    idx_fixture(fixtures, "u8-2x2x3-members.idx.gz", "gzip-members");
    idx_fixture(fixtures, "f64-3.idx.gz", "gzip-f64");
    idx_fixture(fixtures, "huge-truncated.idx.gz", "gzip-huge-truncated");
    static const uint8_t bad_gz[] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF};
    idx("broken-gzip", 0x00, 0, bad_gz, sizeof bad_gz);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr,
                "usage: %s CORPUS_DIR IDX_FIXTURES (with csv/, model/, train/, idx/ in "
                "CORPUS_DIR; IDX_FIXTURES is tests/data/idx)\n",
                argv[0]);
        return 2;
    }
    root = argv[1];
    csv_seeds();
    model_seeds();
    train_seeds();
    idx_seeds(argv[2]);
    return 0;
}
