/* IDX reader (io.h) and gzip input (lib/stream.c): handwritten fixtures of
 * every element type and of 1 to 4 (and 255) dimensions, plain and gzip;
 * every error with its offset; the gzip stream's own errors; CSV files
 * through gzip; and, with `--fashion-mnist`, the real Fashion-MNIST files
 * of Debian's dataset-fashion-mnist (exit 77 when they are absent).
 *
 * The gzip fixtures are committed under tests/data/idx/ (see its README);
 * this test does not link zlib. In a build without zlib (EXPECT_ZLIB 0)
 * every gzip input must give SOMA_ENOTSUP instead. */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

#ifndef EXPECT_ZLIB
#error "EXPECT_ZLIB must say whether this build reads gzip"
#endif
#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/data"
#endif

static test_alloc T;
static soma_allocator A;

/* ---- helpers ---------------------------------------------------------------- */

/* Bytes of a fixture file (malloc'ed). */
static unsigned char *fixture(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/idx/%s", FIXTURE_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    unsigned char *b = malloc(4096);
    ck_assert_ptr_nonnull(b);
    *n = fread(b, 1, 4096, f);
    ck_assert(feof(f));
    fclose(f);
    return b;
}

static char tmp_dir[64];

static const char *tmp_file(const char *name, const void *data, size_t n)
{
    static char path[2][128];
    static int which;
    if (tmp_dir[0] == '\0') {
        strcpy(tmp_dir, "/tmp/soma-idx-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    }
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/%s", tmp_dir, name);
    FILE *f = fopen(path[which], "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return path[which];
}

static void cleanup_tmp(void)
{
    if (tmp_dir[0] == '\0')
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
    tmp_dir[0] = '\0';
}

static void setup(void)
{
    A = test_allocator(&T);
}

static void teardown(void)
{
    cleanup_tmp();
    ck_assert_msg(T.live_bytes == 0, "%zu bytes leaked", T.live_bytes);
}

/* Read a buffer that must succeed; X n x d. */
static soma_matrix read_ok(const void *b, size_t n, const soma_idx_options *o,
                           soma_idx_info *info)
{
    soma_matrix X;
    soma_error_info err = {0};
    soma_status st = soma_idx_read_buffer(b, n, o, &X, info, &A, &err);
    ck_assert_msg(st == SOMA_OK, "%s at %zu: %s", soma_status_string(st), err.offset,
                  err.message);
    ck_assert_uint_eq(X.ld, X.cols);
    return X;
}

/* The read must fail with `want` at an offset in [lo, hi] with a message
 * containing `words`; X and info untouched, nothing leaked. */
static void read_fails_near(const void *b, size_t n, const soma_idx_options *o,
                            soma_status want, size_t lo, size_t hi, const char *words)
{
    soma_matrix X, X0;
    soma_idx_info info, info0;
    soma_error_info err;
    memset(&X, 0x5A, sizeof X);
    memset(&info, 0x5A, sizeof info);
    memset(&err, 0, sizeof err);
    X0 = X;
    memcpy(&info0, &info, sizeof info);
    const size_t live = T.live_bytes;
    soma_status st = soma_idx_read_buffer(b, n, o, &X, &info, &A, &err);
    ck_assert_msg(st == want, "status %s, expected %s (%s)", soma_status_string(st),
                  soma_status_string(want), err.message);
    ck_assert(memcmp(&X, &X0, sizeof X) == 0);
    ck_assert(memcmp(&info, &info0, sizeof info) == 0);
    ck_assert_uint_eq(T.live_bytes, live);
    ck_assert_msg(err.offset >= lo && err.offset <= hi,
                  "offset %zu, expected %zu to %zu (%s)", err.offset, lo, hi,
                  err.message);
    ck_assert_uint_eq(err.line, 0);
    ck_assert_msg(strstr(err.message, words) != NULL, "message '%s' lacks '%s'",
                  err.message, words);
}

/* The same at exactly `offset`. */
static void read_fails(const void *b, size_t n, const soma_idx_options *o,
                       soma_status want, size_t offset, const char *words)
{
    read_fails_near(b, n, o, want, offset, offset, words);
}

/* ---- every element type, 1 to 4 dimensions ------------------------------------- */

START_TEST(u8_one_dim)
{
    static const unsigned char b[] = {0, 0, 0x08, 1, 0, 0, 0, 3, 0, 7, 255};
    soma_idx_info info;
    soma_matrix X = read_ok(b, sizeof b, NULL, &info);
    ck_assert_uint_eq(X.rows, 3);
    ck_assert_uint_eq(X.cols, 1);
    ck_assert_double_eq(X.data[0], 0.0);
    ck_assert_double_eq(X.data[1], 7.0);
    ck_assert_double_eq(X.data[2], 255.0);
    ck_assert_int_eq(info.type, SOMA_IDX_U8);
    ck_assert_uint_eq(info.n_dims, 1);
    ck_assert_uint_eq(info.dims[0], 3);
    ck_assert_uint_eq(info.dims[1], 0);
    ck_assert_uint_eq(info.rows, 3);
    ck_assert_uint_eq(info.cols, 1);
    ck_assert_uint_eq(info.header_bytes, 8);
    ck_assert(!info.gzip);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(i8_two_dims)
{
    /* 2 x 3: -128, -1, 0 / 1, 127, 5 */
    static const unsigned char b[] = {0, 0, 0x09, 2,    0,    0,    0,    2,    0,
                                      0, 0, 3,    0x80, 0xFF, 0x00, 0x01, 0x7F, 0x05};
    soma_idx_info info;
    soma_matrix X = read_ok(b, sizeof b, NULL, &info);
    const double want[6] = {-128, -1, 0, 1, 127, 5};
    ck_assert_uint_eq(X.rows, 2);
    ck_assert_uint_eq(X.cols, 3);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(X.data[i], want[i]);
    ck_assert_int_eq(info.type, SOMA_IDX_I8);
    ck_assert_uint_eq(info.header_bytes, 12);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(i16_three_dims)
{
    /* 2 x 1 x 2: 0x8000, 0xFFFF, 0x0102, 0x7FFF */
    static const unsigned char b[] = {0,    0,    0x0B, 3,    0,    0,    0,    2,
                                      0,    0,    0,    1,    0,    0,    0,    2,
                                      0x80, 0x00, 0xFF, 0xFF, 0x01, 0x02, 0x7F, 0xFF};
    soma_idx_info info;
    soma_matrix X = read_ok(b, sizeof b, NULL, &info);
    const double want[4] = {-32768, -1, 258, 32767};
    ck_assert_uint_eq(X.rows, 2);
    ck_assert_uint_eq(X.cols, 2);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(X.data[i], want[i]);
    ck_assert_int_eq(info.type, SOMA_IDX_I16);
    ck_assert_uint_eq(info.n_dims, 3);
    ck_assert_uint_eq(info.dims[1], 1);
    ck_assert_uint_eq(info.dims[2], 2);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(i32_four_dims)
{
    /* 1 x 2 x 1 x 2: 0x80000000, 0xFFFFFFFE, 0x00010000, 0x7FFFFFFF */
    static const unsigned char b[] = {
        0, 0, 0x0C, 4, 0, 0, 0,    1,    0,    0,    0, 2, 0, 0, 0,    1,    0,    0,
        0, 2, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFE, 0, 1, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF};
    soma_idx_info info;
    soma_matrix X = read_ok(b, sizeof b, NULL, &info);
    const double want[4] = {-2147483648.0, -2, 65536, 2147483647.0};
    ck_assert_uint_eq(X.rows, 1);
    ck_assert_uint_eq(X.cols, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq(X.data[i], want[i]);
    ck_assert_int_eq(info.type, SOMA_IDX_I32);
    ck_assert_uint_eq(info.n_dims, 4);
    ck_assert_uint_eq(info.header_bytes, 20);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(f32_two_dims)
{
    /* 2 x 2: 1.0f, -2.5f, 0.1f (3DCCCCCD), the smallest subnormal 2^-149 */
    static const unsigned char b[] = {0,    0,    0x0D, 2,    0, 0, 0,    2,    0, 0,
                                      0,    2,    0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0,
                                      0x3D, 0xCC, 0xCC, 0xCD, 0, 0, 0,    1};
    soma_matrix X = read_ok(b, sizeof b, NULL, NULL);
    ck_assert_double_eq(X.data[0], 1.0);
    ck_assert_double_eq(X.data[1], -2.5);
    ck_assert_double_eq(X.data[2], (double)0.1f);
    ck_assert_double_eq(X.data[3], 0x1p-149);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(f64_one_dim)
{
    /* 1.0, -0.0, 2^-1074, DBL_MAX */
    static const unsigned char b[] = {
        0, 0, 0x0E, 1, 0,    0,    0,    4,    0x3F, 0xF0, 0,    0,   0, 0,
        0, 0, 0x80, 0, 0,    0,    0,    0,    0,    0,    0,    0,   0, 0,
        0, 0, 0,    1, 0x7F, 0xEF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    soma_idx_info info;
    soma_matrix X = read_ok(b, sizeof b, NULL, &info);
    ck_assert_uint_eq(X.rows, 4);
    ck_assert_double_eq(X.data[0], 1.0);
    ck_assert(X.data[1] == 0.0 && signbit(X.data[1]));
    ck_assert_double_eq(X.data[2], 0x1p-1074);
    ck_assert_double_eq(X.data[3], DBL_MAX);
    ck_assert_int_eq(info.type, SOMA_IDX_F64);
    soma_matrix_free(&X);
}
END_TEST

/* The largest dimension count: 255 sizes, 2 x 1 x ... x 1 x 3. */
START_TEST(max_dims)
{
    const size_t nd = 255, hdr = 4 + 4 * nd;
    unsigned char b[4 + 4 * 255 + 6] = {0, 0, 0x08, 255};
    for (size_t k = 0; k < nd; k++)
        b[4 + 4 * k + 3] = k == 0 ? 2 : k == nd - 1 ? 3 : 1;
    for (size_t i = 0; i < 6; i++)
        b[hdr + i] = (unsigned char)(10 * i);
    soma_idx_info info;
    soma_matrix X = read_ok(b, sizeof b, NULL, &info);
    ck_assert_uint_eq(X.rows, 2);
    ck_assert_uint_eq(X.cols, 3);
    ck_assert_double_eq(X.data[5], 50.0);
    ck_assert_uint_eq(info.n_dims, 255);
    ck_assert_uint_eq(info.dims[254], 3);
    ck_assert_uint_eq(info.header_bytes, hdr);
    soma_matrix_free(&X);
}
END_TEST

/* The divisor: x / 255 exactly as C (and NumPy's x / 255.0) computes it. */
START_TEST(divisor)
{
    static const unsigned char b[] = {0, 0, 0x08, 1, 0, 0, 0, 4, 0, 1, 128, 255};
    soma_idx_options o = soma_idx_defaults();
    ck_assert_double_eq(o.divisor, 1.0);
    ck_assert(!o.allow_nonfinite);
    o.divisor = 255.0;
    soma_matrix X = read_ok(b, sizeof b, &o, NULL);
    ck_assert_double_eq(X.data[0], 0.0);
    ck_assert_double_eq(X.data[1], 1.0 / 255.0);
    ck_assert_double_eq(X.data[2], 128.0 / 255.0);
    ck_assert_double_eq(X.data[3], 1.0);
    soma_matrix_free(&X);
    o.divisor = -0.5;
    X = read_ok(b, sizeof b, &o, NULL);
    ck_assert_double_eq(X.data[3], -510.0);
    soma_matrix_free(&X);
}
END_TEST

/* A file reads as its bytes do; memory: the matrix and one block. */
START_TEST(file_equals_buffer)
{
    unsigned char b[8 + 3000];
    memcpy(b, (unsigned char[]){0, 0, 0x08, 1, 0, 0, 0x0B, 0xB8}, 8); /* 3000 */
    for (size_t i = 0; i < 3000; i++)
        b[8 + i] = (unsigned char)(i * 7);
    const char *path = tmp_file("a.idx", b, sizeof b);
    soma_matrix X;
    soma_idx_info info;
    soma_error_info err;
    ck_assert_int_eq(soma_idx_read_file(path, NULL, &X, &info, &A, &err), SOMA_OK);
    ck_assert_uint_eq(X.rows, 3000);
    for (size_t i = 0; i < 3000; i++)
        ck_assert_double_eq(X.data[i], (double)(unsigned char)(i * 7));
    ck_assert(!info.gzip);
    soma_matrix_free(&X);
    /* Larger than the 64 KiB block: 300 x 300 i16, values i mod 65536. */
    const size_t n = 90000, len = 12 + 2 * n;
    unsigned char *big = malloc(len);
    ck_assert_ptr_nonnull(big);
    memcpy(big, (unsigned char[]){0, 0, 0x0B, 2, 0, 0, 1, 44, 0, 0, 1, 44}, 12);
    for (size_t i = 0; i < n; i++) {
        big[12 + 2 * i] = (unsigned char)(i >> 8);
        big[13 + 2 * i] = (unsigned char)i;
    }
    path = tmp_file("big.idx", big, len);
    ck_assert_int_eq(soma_idx_read_file(path, NULL, &X, &info, &A, &err), SOMA_OK);
    ck_assert_uint_eq(X.rows, 300);
    ck_assert_uint_eq(X.cols, 300);
    for (size_t i = 0; i < n; i++)
        ck_assert_double_eq(X.data[i], (double)(int16_t)(uint16_t)(i & 0xFFFF));
    soma_matrix_free(&X);
    free(big);
}
END_TEST

/* ---- every error, with its offset ------------------------------------------ */

START_TEST(header_errors)
{
    static const unsigned char nothing[1] = {0};
    read_fails(NULL, 0, NULL, SOMA_EFORMAT, 0, "inside the 4-byte IDX magic");
    read_fails(nothing, 1, NULL, SOMA_EFORMAT, 1, "inside the 4-byte IDX magic");
    read_fails((unsigned char[]){0, 0, 8}, 3, NULL, SOMA_EFORMAT, 3, "after 3 bytes");
    read_fails((unsigned char[]){1, 0, 8, 1, 0, 0, 0, 1, 5}, 9, NULL, SOMA_EFORMAT, 0,
               "not an IDX file: byte 0 is 0x01");
    read_fails((unsigned char[]){0, 0x2C}, 2, NULL, SOMA_EFORMAT, 1, "byte 1 is 0x2c");
    read_fails((unsigned char[]){0, 0, 0x0A, 1, 0, 0, 0, 1, 5}, 9, NULL, SOMA_EFORMAT, 2,
               "unknown IDX element type 0x0a");
    read_fails((unsigned char[]){0, 0, 0x07}, 3, NULL, SOMA_EFORMAT, 2, "type 0x07");
    read_fails((unsigned char[]){0, 0, 0x08, 0, 1, 2}, 6, NULL, SOMA_EFORMAT, 3,
               "zero dimensions");
    read_fails((unsigned char[]){0, 0, 0x08, 2, 0, 0, 0, 1, 0, 0}, 10, NULL, SOMA_EFORMAT,
               10, "inside the sizes of the 2 dimensions");
    read_fails((unsigned char[]){0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 0}, 12, NULL,
               SOMA_EFORMAT, 8, "dimension 1 is 0");
    read_fails((unsigned char[]){0, 0, 0x08, 1, 0, 0, 0, 0}, 8, NULL, SOMA_EFORMAT, 4,
               "dimension 0 is 0");
}
END_TEST

START_TEST(size_errors)
{
    /* u8 (2^32-1)^3: 8 bytes a double times the sizes overflows 2^64 at
     * dimension 1. */
    static const unsigned char ovf1[] = {0,    0,    0x08, 3,    0xFF, 0xFF, 0xFF, 0xFF,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    read_fails(ovf1, sizeof ovf1, NULL, SOMA_EFORMAT, 8, "dimensions 0 to 1 multiply");
    /* f64 2^24 x 2^24 x 2^24: 2^3 2^24 2^24 = 2^51 fits, times 2^24 does not. */
    static const unsigned char ovf2[] = {0, 0, 0x0E, 3, 1, 0, 0, 0,
                                         1, 0, 0,    0, 1, 0, 0, 0};
    read_fails(ovf2, sizeof ovf2, NULL, SOMA_EFORMAT, 12, "dimensions 0 to 2 multiply");
    /* u8 2 x 2 with 3 value bytes, and with 5. */
    static const unsigned char b[] = {0, 0, 0x08, 2, 0, 0, 0, 2, 0,
                                      0, 0, 2,    1, 2, 3, 4, 5};
    read_fails(b, 15, NULL, SOMA_EFORMAT, 15, "ends 3 bytes into them");
    read_fails(b, 12, NULL, SOMA_EFORMAT, 12, "declares 2 x 2 values (4 bytes)");
    read_fails(b, 17, NULL, SOMA_EFORMAT, 16, "bytes after the last value at byte 16");
    /* i32 with a value cut in half. */
    static const unsigned char c[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0};
    read_fails(c, sizeof c, NULL, SOMA_EFORMAT, 14, "truncated");
    /* A header declaring 47 MB before 10 bytes: refused before allocating. */
    static const unsigned char huge[] = {0, 0, 0x08, 3, 0, 0, 0xEA, 0x60, 0,
                                         0, 0, 28,   0, 0, 0, 28,   1,    2,
                                         3, 4, 5,    6, 7, 8, 9,    10};
    read_fails(huge, sizeof huge, NULL, SOMA_EFORMAT, sizeof huge, "60000 x 784");
    ck_assert_uint_lt(T.peak_bytes, 4096);
}
END_TEST

START_TEST(nonfinite)
{
    /* f32 1 x 3: 1, NaN, 2 */
    static const unsigned char nan32[] = {0,    0,    0x0D, 2, 0,    0,    0, 1,
                                          0,    0,    0,    3, 0x3F, 0x80, 0, 0,
                                          0x7F, 0xC0, 0,    0, 0x40, 0,    0, 0};
    read_fails(nan32, sizeof nan32, NULL, SOMA_ENONFINITE, 16,
               "NaN at byte 16 (item 0, value 1)");
    /* f64 2: -inf, 1 */
    static const unsigned char inf64[] = {0,    0,    0x0E, 1, 0, 0, 0, 2,
                                          0xFF, 0xF0, 0,    0, 0, 0, 0, 0,
                                          0x3F, 0xF0, 0,    0, 0, 0, 0, 0};
    read_fails(inf64, sizeof inf64, NULL, SOMA_ENONFINITE, 8, "infinity at byte 8");
    /* Allowed on request. */
    soma_idx_options o = soma_idx_defaults();
    o.allow_nonfinite = true;
    soma_matrix X = read_ok(nan32, sizeof nan32, &o, NULL);
    ck_assert(isnan(X.data[1]));
    soma_matrix_free(&X);
    X = read_ok(inf64, sizeof inf64, &o, NULL);
    ck_assert(isinf(X.data[0]) && X.data[0] < 0);
    soma_matrix_free(&X);
    /* Finite values that the division makes infinite: DBL_MAX / 0.5. */
    static const unsigned char big[] = {0,    0,    0x0E, 1,    0,    0,    0,    2,
                                        0,    0,    0,    0,    0,    0,    0,    0,
                                        0x7F, 0xEF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    o = soma_idx_defaults();
    o.divisor = 0.5;
    read_fails(big, sizeof big, &o, SOMA_ENONFINITE, 16, "divided by 0.5 is not finite");
}
END_TEST

START_TEST(bad_arguments)
{
    static const unsigned char b[] = {0, 0, 0x08, 1, 0, 0, 0, 1, 7};
    soma_matrix X;
    soma_error_info err;
    soma_idx_options o = soma_idx_defaults();
    /* Each argument error names its argument (status.h). */
#define ARG_ERROR(call, arg)                                                             \
    do {                                                                                 \
        memset(&err, 0, sizeof err);                                                     \
        ck_assert_int_eq((call), SOMA_EINVAL);                                           \
        ck_assert_str_eq(err.argument, (arg));                                           \
        ck_assert_msg(strstr(err.message, (arg)) != NULL, "%s", err.message);            \
    } while (0)
    ARG_ERROR(soma_idx_read_buffer(b, sizeof b, NULL, NULL, NULL, &A, &err), "X");
    ARG_ERROR(soma_idx_read_buffer(NULL, 3, NULL, &X, NULL, &A, &err), "data");
    const double bad[] = {0.0, -0.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.divisor = bad[i];
        ARG_ERROR(soma_idx_read_buffer(b, sizeof b, &o, &X, NULL, &A, &err),
                  "opt.divisor");
        ARG_ERROR(soma_idx_read_file("x", &o, &X, NULL, &A, &err), "opt.divisor");
    }
    const soma_allocator half = {test_alloc_fn, NULL, &T};
    ARG_ERROR(soma_idx_read_buffer(b, sizeof b, NULL, &X, NULL, &half, &err), "alloc");
    ARG_ERROR(soma_idx_read_file(NULL, NULL, &X, NULL, &A, &err), "path");
#undef ARG_ERROR
    /* Files that cannot be read. */
    ck_assert_int_eq(
        soma_idx_read_file("/nonexistent-soma/x.idx", NULL, &X, NULL, &A, &err),
        SOMA_EIO);
    ck_assert_msg(strstr(err.message, "No such file") != NULL, "%s", err.message);
    tmp_file("x", "", 0);
    ck_assert_int_eq(soma_idx_read_file(tmp_dir, NULL, &X, NULL, &A, &err), SOMA_EIO);
    ck_assert_msg(strstr(err.message, "folder") != NULL, "%s", err.message);
    /* A NULL err is fine. */
    ck_assert_int_eq(soma_idx_read_buffer(b, 3, NULL, &X, NULL, &A, NULL), SOMA_EFORMAT);
}
END_TEST

/* ---- gzip ------------------------------------------------------------------- */

static const double u8_values[12] = {0,   20,  40,  60,  80,  100,
                                     120, 140, 160, 180, 200, 220};

/* A gzip fixture through the buffer and the file reader (named without .gz). */
static void check_u8_fixture(const char *name)
{
    size_t n;
    unsigned char *gz = fixture(name, &n);
    const char *path = tmp_file("no-gz-suffix.idx", gz, n);
    for (int via_file = 0; via_file < 2; via_file++) {
        soma_matrix X;
        soma_idx_info info;
        soma_error_info err = {0};
        soma_status st = via_file
                             ? soma_idx_read_file(path, NULL, &X, &info, &A, &err)
                             : soma_idx_read_buffer(gz, n, NULL, &X, &info, &A, &err);
        if (!EXPECT_ZLIB) {
            ck_assert_int_eq(st, SOMA_ENOTSUP);
            ck_assert_uint_eq(err.offset, 0);
            ck_assert_msg(strstr(err.message, "gunzip") != NULL, "%s", err.message);
            continue;
        }
        ck_assert_msg(st == SOMA_OK, "%s: %s", name, err.message);
        ck_assert(info.gzip);
        ck_assert_uint_eq(info.n_dims, 3);
        ck_assert_uint_eq(X.rows, 2);
        ck_assert_uint_eq(X.cols, 6);
        for (int i = 0; i < 12; i++)
            ck_assert_double_eq(X.data[i], u8_values[i]);
        soma_matrix_free(&X);
    }
    free(gz);
}

START_TEST(gzip_fixtures)
{
    check_u8_fixture("u8-2x2x3.idx.gz");
    check_u8_fixture("u8-2x2x3-members.idx.gz");
    size_t n;
    unsigned char *gz = fixture("f64-3.idx.gz", &n);
    soma_matrix X;
    soma_error_info err = {0};
    soma_status st = soma_idx_read_buffer(gz, n, NULL, &X, NULL, &A, &err);
    if (EXPECT_ZLIB) {
        ck_assert_int_eq(st, SOMA_OK);
        ck_assert_double_eq(X.data[0], 1.5);
        ck_assert_double_eq(X.data[1], -2.25);
        ck_assert_double_eq(X.data[2], 1e300);
        soma_matrix_free(&X);
    } else {
        ck_assert_int_eq(st, SOMA_ENOTSUP);
    }
    free(gz);
}
END_TEST

/* 3 MiB inflated from 3 KB: the value buffer grows 1, 2, 3 MiB; the
 * matrix is allocated once, after the data is all there. */
START_TEST(gzip_growth)
{
    size_t n;
    unsigned char *gz = fixture("u8-3x1048577.idx.gz", &n);
    soma_matrix X;
    soma_error_info err = {0};
    soma_status st = soma_idx_read_buffer(gz, n, NULL, &X, NULL, &A, &err);
    free(gz);
    if (!EXPECT_ZLIB) {
        ck_assert_int_eq(st, SOMA_ENOTSUP);
        return;
    }
    ck_assert_msg(st == SOMA_OK, "%s", err.message);
    const size_t m = 1048577;
    ck_assert_uint_eq(X.rows, 3);
    ck_assert_uint_eq(X.cols, m);
    double sum = 0;
    for (size_t i = 0; i < 3 * m; i++)
        sum += X.data[i];
    ck_assert_double_eq(sum, 12.0);
    ck_assert_double_eq(X.data[m], 5.0);
    ck_assert_double_eq(X.data[3 * m - 1], 7.0);
    /* Peak: the 3 MiB of values, the 24 MiB matrix, zlib's state (< 64 KiB
     * with its 32 KiB window); the last growth step held 2 + 3 MiB. */
    ck_assert_uint_le(T.peak_bytes, 3 * m + 8 * 3 * m + (64u << 10));
    soma_matrix_free(&X);
}
END_TEST

/* Errors of the gzip stream itself: offsets in the compressed bytes. */
START_TEST(gzip_errors)
{
    size_t n;
    unsigned char *gz = fixture("u8-2x2x3.idx.gz", &n);
    unsigned char b[256];
    ck_assert_uint_lt(n + 8, sizeof b);
    if (!EXPECT_ZLIB) {
        read_fails(gz, n, NULL, SOMA_ENOTSUP, 0, "has no zlib");
        free(gz);
        return;
    }
    /* Truncated: the last 5 bytes (part of the 8-byte trailer) missing. */
    read_fails(gz, n - 5, NULL, SOMA_EFORMAT, n - 5, "gzip data ends early");
    /* Only the magic. */
    read_fails(gz, 2, NULL, SOMA_EFORMAT, 2, "gzip data ends early");
    /* Where zlib notices a corruption depends on how far it had read
     * ahead: the offsets below are bounds, from the corrupted byte to at
     * most 8 bytes after it (within the input). */
    /* A wrong CRC-32 (first trailer byte): found once the trailer is read. */
    memcpy(b, gz, n);
    b[n - 8] ^= 0x01;
    read_fails_near(b, n, NULL, SOMA_EFORMAT, n - 8, n, "incorrect data check");
    /* A wrong length (ISIZE, last trailer byte). */
    memcpy(b, gz, n);
    b[n - 1] ^= 0x01;
    read_fails_near(b, n, NULL, SOMA_EFORMAT, n - 1, n, "incorrect length check");
    /* Compression method 7 in the header (byte 2). */
    memcpy(b, gz, n);
    b[2] = 7;
    read_fails_near(b, n, NULL, SOMA_EFORMAT, 2, 10, "unknown compression method");
    /* A corrupt deflate block: block type 3 (byte 10, bits 1-2). */
    memcpy(b, gz, n);
    b[10] |= 0x06;
    read_fails_near(b, n, NULL, SOMA_EFORMAT, 10, 18, "invalid block type");
    /* Bytes after the gzip member that do not start another one: soma's
     * own check, at the first such byte. */
    memcpy(b, gz, n);
    memcpy(b + n, "abc", 3);
    read_fails(b, n + 3, NULL, SOMA_EFORMAT, n, "data after the end of the gzip stream");
    /* The start of another member that is not a gzip header. */
    memcpy(b, gz, n);
    memcpy(b + n, "\x1f\x00\x08", 3);
    read_fails_near(b, n + 3, NULL, SOMA_EFORMAT, n, n + 3, "incorrect header check");
    free(gz);
}
END_TEST

/* IDX errors inside valid gzip: offsets in the decompressed bytes, and a
 * huge header refused without a huge allocation. */
START_TEST(gzip_content_errors)
{
    size_t n;
    unsigned char *gz = fixture("huge-truncated.idx.gz", &n);
    if (!EXPECT_ZLIB) {
        read_fails(gz, n, NULL, SOMA_ENOTSUP, 0, "gunzip");
        free(gz);
        return;
    }
    read_fails(gz, n, NULL, SOMA_EFORMAT, 16 + 1000,
               "decompressed input ends 1000 bytes");
    /* The buffer grew to 1 MiB at most, never to the declared 47 MB. */
    ck_assert_uint_le(T.peak_bytes, 2u << 20);
    const char *path = tmp_file("huge.gz", gz, n);
    soma_matrix X;
    soma_error_info err;
    ck_assert_int_eq(soma_idx_read_file(path, NULL, &X, NULL, &A, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.offset, 1016);
    ck_assert_uint_le(T.peak_bytes, 2u << 20);
    free(gz);
}
END_TEST

/* ---- pairs ------------------------------------------------------------------ */

static const unsigned char images3[] = {0, 0, 0x08, 3, 0, 0,  0,  3,  0,  0,  0,
                                        1, 0, 0,    0, 2, 10, 11, 20, 21, 30, 31};
static const unsigned char labels3[] = {0, 0, 0x08, 1, 0, 0, 0, 3, 2, 0, 1};

static soma_status pair(const char *img, const char *lab, soma_matrix *X, soma_matrix *y,
                        soma_error_info *err)
{
    soma_idx_info ii, li;
    memset(X, 0x5A, sizeof *X);
    memset(y, 0x5A, sizeof *y);
    soma_matrix X0 = *X, y0 = *y;
    soma_status st = soma_idx_read_pair(img, lab, NULL, X, y, &ii, &li, &A, err);
    if (st != SOMA_OK) {
        ck_assert(memcmp(X, &X0, sizeof X0) == 0);
        ck_assert(memcmp(y, &y0, sizeof y0) == 0);
    } else {
        ck_assert_uint_eq(ii.rows, li.rows);
        ck_assert_uint_eq(li.cols, 1);
    }
    return st;
}

START_TEST(pairs)
{
    char img[128], lab[128];
    strcpy(img, tmp_file("img", images3, sizeof images3));
    strcpy(lab, tmp_file("lab", labels3, sizeof labels3));
    soma_matrix X, y;
    soma_error_info err = {0};
    soma_idx_options o = soma_idx_defaults();
    o.divisor = 10.0;
    soma_idx_info ii, li;
    ck_assert_int_eq(soma_idx_read_pair(img, lab, &o, &X, &y, &ii, &li, &A, &err),
                     SOMA_OK);
    ck_assert_uint_eq(X.rows, 3);
    ck_assert_uint_eq(X.cols, 2);
    ck_assert_double_eq(X.data[5], 3.1);
    ck_assert_double_eq(y.data[0], 2.0); /* labels: no divisor */
    ck_assert_double_eq(y.data[2], 1.0);
    ck_assert_uint_eq(ii.n_dims, 3);
    ck_assert_uint_eq(li.n_dims, 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_int_eq(soma_idx_read_pair(img, lab, NULL, &X, &y, NULL, NULL, NULL, NULL),
                     SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* Counts differ: 3 images, 2 labels. */
    static const unsigned char labels2[] = {0, 0, 0x08, 1, 0, 0, 0, 2, 2, 0};
    strcpy(lab, tmp_file("lab2", labels2, sizeof labels2));
    ck_assert_int_eq(pair(img, lab, &X, &y, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.offset, 4);
    ck_assert_str_eq(
        err.message,
        "labels_path: 2 labels for 3 images: the files do not belong together");
    /* Labels with two columns (the images file given twice). */
    ck_assert_int_eq(pair(img, img, &X, &y, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.offset, 3);
    ck_assert_msg(strncmp(err.message, "labels_path: 2 values per item", 30) == 0, "%s",
                  err.message);
    /* Each file's own errors say which file. */
    strcpy(lab, tmp_file("lab", labels3, sizeof labels3));
    strcpy(img, tmp_file("img-cut", images3, sizeof images3 - 1));
    ck_assert_int_eq(pair(img, lab, &X, &y, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.offset, sizeof images3 - 1);
    ck_assert_msg(strncmp(err.message, "images_path: truncated", 22) == 0, "%s",
                  err.message);
    ck_assert_str_eq(err.argument, "images_path");
    strcpy(img, tmp_file("img", images3, sizeof images3));
    ck_assert_int_eq(pair(img, "/nonexistent-soma/labels", &X, &y, &err), SOMA_EIO);
    ck_assert_msg(strncmp(err.message, "labels_path: cannot open", 24) == 0, "%s",
                  err.message);
    static const unsigned char nan_labels[] = {0, 0, 0x0D, 1,    0, 0, 0, 3, 0, 0,
                                               0, 0, 0x7F, 0xC0, 0, 0, 0, 0, 0, 0};
    strcpy(lab, tmp_file("lab-nan", nan_labels, sizeof nan_labels));
    ck_assert_int_eq(pair(img, lab, &X, &y, &err), SOMA_ENONFINITE);
    ck_assert_uint_eq(err.offset, 12);
    /* Bad arguments. */
    ck_assert_int_eq(pair(NULL, lab, &X, &y, &err), SOMA_EINVAL);
    ck_assert_int_eq(pair(img, NULL, &X, &y, &err), SOMA_EINVAL);
    ck_assert_int_eq(soma_idx_read_pair(img, lab, NULL, &X, NULL, NULL, NULL, &A, &err),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_idx_read_pair(img, lab, NULL, NULL, &y, NULL, NULL, &A, &err),
                     SOMA_EINVAL);
}
END_TEST

START_TEST(gzip_pair)
{
    char img[256], lab[256];
    snprintf(img, sizeof img, "%s/idx/u8-2x2x3-members.idx.gz", FIXTURE_DIR);
    snprintf(lab, sizeof lab, "%s/idx/labels-2.idx.gz", FIXTURE_DIR);
    soma_matrix X, y;
    soma_error_info err = {0};
    soma_status st = pair(img, lab, &X, &y, &err);
    if (!EXPECT_ZLIB) {
        ck_assert_int_eq(st, SOMA_ENOTSUP);
        ck_assert_msg(strncmp(err.message, "images_path: ", 13) == 0, "%s", err.message);
        return;
    }
    ck_assert_msg(st == SOMA_OK, "%s", err.message);
    ck_assert_double_eq(X.data[11], 220.0);
    ck_assert_double_eq(y.data[0], 1.0);
    ck_assert_double_eq(y.data[1], 0.0);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

/* ---- CSV through gzip --------------------------------------------------------- */

START_TEST(csv_gzip)
{
    char path[256];
    snprintf(path, sizeof path, "%s/idx/table.csv.gz", FIXTURE_DIR);
    soma_matrix X, y;
    soma_error_info err = {0};
    soma_status st = soma_csv_read_file(path, NULL, &X, &y, NULL, &A, &err);
    if (!EXPECT_ZLIB) {
        ck_assert_int_eq(st, SOMA_ENOTSUP);
        ck_assert_msg(strstr(err.message, "gunzip") != NULL, "%s", err.message);
        return;
    }
    ck_assert_msg(st == SOMA_OK, "%s", err.message);
    ck_assert_uint_eq(X.rows, 2);
    ck_assert_uint_eq(X.cols, 2);
    ck_assert_double_eq(X.data[2], 3.5);
    ck_assert_double_eq(y.data[1], 1.0);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    /* A corrupt stream is a format error at its compressed offset. */
    size_t n;
    unsigned char *gz = fixture("table.csv.gz", &n);
    gz[n - 8] ^= 0xFF;
    const char *bad = tmp_file("bad.csv", gz, n);
    ck_assert_int_eq(soma_csv_read_file(bad, NULL, &X, &y, NULL, &A, &err), SOMA_EFORMAT);
    ck_assert(err.offset >= n - 8 && err.offset <= n);
    ck_assert_msg(strstr(err.message, "incorrect data check") != NULL, "%s", err.message);
    free(gz);
}
END_TEST

/* scikit-learn's digits (python3-sklearn ships it as a .csv.gz): 1797 rows
 * of 64 pixels and a label. The sums were computed with Python's gzip and
 * csv modules: pixels 561718, labels 8070. */
START_TEST(csv_gzip_sklearn_digits)
{
    const char *path =
        "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
    if (access(path, R_OK) != 0 || !EXPECT_ZLIB)
        return; /* not installed, or no zlib in this build */
    soma_matrix X, y;
    soma_csv_info info;
    soma_error_info err = {0};
    ck_assert_int_eq(soma_csv_read_file(path, NULL, &X, &y, &info, &A, &err), SOMA_OK);
    ck_assert_uint_eq(X.rows, 1797);
    ck_assert_uint_eq(X.cols, 64);
    ck_assert(!info.has_header);
    double sx = 0, sy = 0; /* integers below 2^53: exact */
    for (size_t i = 0; i < X.rows * X.cols; i++)
        sx += X.data[i];
    for (size_t i = 0; i < y.rows; i++)
        sy += y.data[i];
    ck_assert_double_eq(sx, 561718.0);
    ck_assert_double_eq(sy, 8070.0);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

/* ---- the real Fashion-MNIST files ------------------------------------------------ */

/* Expected values, each computed independently with Python 3's gzip and
 * struct modules on the files of dataset-fashion-mnist
 * 0.0~git20200523.55506a9-1 (e.g. sum(gzip.open(f).read()[16:])):
 *   file                        items  dims      first  sum of the values
 *   train-images-idx3-ubyte.gz  60000  28 x 28   0      3431114169
 *   train-labels-idx1-ubyte.gz  60000  -         9      270000
 *   t10k-images-idx3-ubyte.gz   10000  28 x 28   0      573469082
 *   t10k-labels-idx1-ubyte.gz   10000  -         9      45000
 * Sums of integers below 2^53 are exact in double in any order. */
static const char *fashion_dir(void)
{
    const char *d = getenv("SOMA_FASHION_MNIST_DIR");
    return d != NULL ? d : "/usr/share/datasets/fashion-mnist";
}

static void check_fashion(const char *set, size_t n, double image_sum, double label_sum)
{
    char img[512], lab[512];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", fashion_dir(), set);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", fashion_dir(), set);
    soma_matrix X, y;
    soma_idx_info ii, li;
    soma_error_info err = {0};
    soma_status st = soma_idx_read_pair(img, lab, NULL, &X, &y, &ii, &li, NULL, &err);
    ck_assert_msg(st == SOMA_OK, "%s: %s at %zu: %s", set, soma_status_string(st),
                  err.offset, err.message);
    ck_assert(ii.gzip && li.gzip);
    ck_assert_int_eq(ii.type, SOMA_IDX_U8);
    ck_assert_int_eq(li.type, SOMA_IDX_U8);
    ck_assert_uint_eq(ii.n_dims, 3);
    ck_assert_uint_eq(ii.dims[0], n);
    ck_assert_uint_eq(ii.dims[1], 28);
    ck_assert_uint_eq(ii.dims[2], 28);
    ck_assert_uint_eq(li.n_dims, 1);
    ck_assert_uint_eq(X.rows, n);
    ck_assert_uint_eq(X.cols, 784);
    ck_assert_uint_eq(y.rows, n);
    ck_assert_uint_eq(y.cols, 1);
    ck_assert_double_eq(y.data[0], 9.0);
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n * 784; i++)
        sx += X.data[i];
    for (size_t i = 0; i < n; i++) {
        ck_assert(y.data[i] >= 0 && y.data[i] <= 9 && y.data[i] == floor(y.data[i]));
        sy += y.data[i];
    }
    ck_assert_double_eq(sx, image_sum);
    ck_assert_double_eq(sy, label_sum);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}

START_TEST(fashion_mnist)
{
    check_fashion("t10k", 10000, 573469082.0, 45000.0);
    check_fashion("train", 60000, 3431114169.0, 270000.0);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--fashion-mnist") == 0) {
        char probe[512];
        snprintf(probe, sizeof probe, "%s/t10k-labels-idx1-ubyte.gz", fashion_dir());
        if (access(probe, R_OK) != 0) {
            printf("skip: %s not found (apt-get install dataset-fashion-mnist)\n", probe);
            return 77;
        }
        if (!EXPECT_ZLIB) {
            printf("skip: this build has no zlib to read the .gz files\n");
            return 77;
        }
        Suite *s = suite_create("idx-fashion-mnist");
        TCase *tc = tcase_create("real files");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, fashion_mnist);
        suite_add_tcase(s, tc);
        return test_run(s);
    }
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, u8_one_dim);
    tcase_add_test(tc, i8_two_dims);
    tcase_add_test(tc, i16_three_dims);
    tcase_add_test(tc, i32_four_dims);
    tcase_add_test(tc, f32_two_dims);
    tcase_add_test(tc, f64_one_dim);
    tcase_add_test(tc, max_dims);
    tcase_add_test(tc, divisor);
    tcase_add_test(tc, file_equals_buffer);
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, size_errors);
    tcase_add_test(tc, nonfinite);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, gzip_fixtures);
    tcase_add_test(tc, gzip_growth);
    tcase_add_test(tc, gzip_errors);
    tcase_add_test(tc, gzip_content_errors);
    tcase_add_test(tc, pairs);
    tcase_add_test(tc, gzip_pair);
    tcase_add_test(tc, csv_gzip);
    tcase_add_test(tc, csv_gzip_sklearn_digits);
    suite_add_tcase(s, tc);
    return test_run(s);
}
