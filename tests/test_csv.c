#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir, unlink */

#include <dirent.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

/* A scratch directory per test, removed with its files at the end. */
static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/soma-csv-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static size_t count_files(void)
{
    DIR *d = opendir(tmpdir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Parse a NUL-terminated string with the given options. */
static soma_status parse(const char *text, const soma_csv_options *o, soma_matrix *X,
                         soma_matrix *y, soma_csv_info *info, soma_error_info *err)
{
    return soma_csv_read_buffer(text, strlen(text), o, X, y, info, NULL, err);
}

static void expect_matrix(const soma_matrix *m, size_t rows, size_t cols,
                          const double *values)
{
    ck_assert_uint_eq(m->rows, rows);
    ck_assert_uint_eq(m->cols, cols);
    for (size_t i = 0; i < rows * cols; i++)
        ck_assert_double_eq(m->data[i], values[i]);
}

/* ---- what is accepted ---------------------------------------------------- */

START_TEST(header_auto_and_label_last)
{
    soma_matrix X, y;
    soma_csv_info info;
    ck_assert_int_eq(parse("a,b,label\n1,2,0\n3.5,-4e2,1\n", NULL, &X, &y, &info, NULL),
                     SOMA_OK);
    const double ex[4] = {1, 2, 3.5, -400}, ey[2] = {0, 1};
    expect_matrix(&X, 2, 2, ex);
    expect_matrix(&y, 2, 1, ey);
    ck_assert_uint_eq(info.rows, 2);
    ck_assert_uint_eq(info.fields, 3);
    ck_assert(info.has_header);
    ck_assert_uint_eq(info.label_column, 2);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* No header, no final newline, blanks around fields, +sign, .5, 5. */
    ck_assert_int_eq(parse(" 1 ,\t+2.\n.5, 5e-1", NULL, &X, &y, &info, NULL), SOMA_OK);
    const double ex2[2] = {1, 0.5}, ey2[2] = {2, 0.5};
    expect_matrix(&X, 2, 1, ex2);
    expect_matrix(&y, 2, 1, ey2);
    ck_assert(!info.has_header);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(crlf_bom_quotes_blank_lines)
{
    soma_matrix X, y;
    soma_csv_info info;
    /* BOM, CRLF, quoted header names with a comma and doubled quotes, a
     * quoted number with blanks inside, empty lines (LF and CRLF). */
    const char *text = "\xEF\xBB\xBF\"x,1\",\"say \"\"hi\"\"\",y\r\n"
                       "\r\n"
                       "1,\" 2.5 \",0\r\n"
                       "\n"
                       "\"3\",4,\"1\"\r\n\r\n";
    ck_assert_int_eq(parse(text, NULL, &X, &y, &info, NULL), SOMA_OK);
    const double ex[4] = {1, 2.5, 3, 4}, ey[2] = {0, 1};
    expect_matrix(&X, 2, 2, ex);
    expect_matrix(&y, 2, 1, ey);
    ck_assert(info.has_header);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* The label by its (unquoted) name. */
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NAME;
    o.label_name = "say \"hi\"";
    ck_assert_int_eq(parse(text, &o, &X, &y, &info, NULL), SOMA_OK);
    const double ex3[4] = {1, 0, 3, 1}, ey3[2] = {2.5, 4};
    expect_matrix(&X, 2, 2, ex3);
    expect_matrix(&y, 2, 1, ey3);
    ck_assert_uint_eq(info.label_column, 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(label_modes_and_delimiters)
{
    soma_matrix X, y;
    soma_csv_options o = soma_csv_defaults();
    soma_csv_info info;
    o.label = SOMA_CSV_LABEL_INDEX;
    o.label_index = 0;
    ck_assert_int_eq(parse("7,1,2\n8,3,4\n", &o, &X, &y, &info, NULL), SOMA_OK);
    const double ex[4] = {1, 2, 3, 4}, ey[2] = {7, 8};
    expect_matrix(&X, 2, 2, ex);
    expect_matrix(&y, 2, 1, ey);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    o.label = SOMA_CSV_LABEL_NONE;
    ck_assert_int_eq(parse("7,1\n8,3\n", &o, &X, NULL, &info, NULL), SOMA_OK);
    const double ex2[4] = {7, 1, 8, 3};
    expect_matrix(&X, 2, 2, ex2);
    ck_assert_uint_eq(info.label_column, SIZE_MAX);
    soma_matrix_free(&X);

    /* One column as the label: X is n x 0. */
    ck_assert_int_eq(parse("5\n6\n", NULL, &X, &y, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X.rows, 2);
    ck_assert_uint_eq(X.cols, 0);
    ck_assert_double_eq(y.data[1], 6);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* ';' and tab delimiters; with tab, only spaces are blanks. */
    o = soma_csv_defaults();
    o.delimiter = ';';
    ck_assert_int_eq(parse("a;b\n1,5;2\n", &o, &X, &y, NULL, NULL), SOMA_EFORMAT);
    ck_assert_int_eq(parse("a;b\n1.5;2\n", &o, &X, &y, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(X.data[0], 1.5);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    o.delimiter = '\t';
    ck_assert_int_eq(parse("1\t 2 \n3\t4\n", &o, &X, &y, NULL, NULL), SOMA_OK);
    const double ex3[2] = {1, 3}, ey3[2] = {2, 4};
    expect_matrix(&X, 2, 1, ex3);
    expect_matrix(&y, 2, 1, ey3);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_error_info err;
    ck_assert_int_eq(parse("1\t\t2\n", &o, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.column, 2); /* two tabs: an empty field */

    /* Header forced on and off. */
    o = soma_csv_defaults();
    o.header = SOMA_CSV_HEADER_YES;
    ck_assert_int_eq(parse("1,2\n3,4\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert_uint_eq(info.rows, 1);
    ck_assert(info.has_header);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    o.header = SOMA_CSV_HEADER_NO;
    ck_assert_int_eq(parse("a,2\n", &o, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.line, 1);
    ck_assert_uint_eq(err.column, 1);
}
END_TEST

START_TEST(numbers_exact_and_special)
{
    soma_matrix X;
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NONE;
    /* strtod's correctly rounded results; underflow to subnormal and 0. */
    ck_assert_int_eq(
        parse("0.1,1e-310,1e-400,-0,4.9406564584124654e-324\n", &o, &X, NULL, NULL, NULL),
        SOMA_OK);
    ck_assert_double_eq(X.data[0], 0.1);
    ck_assert_double_eq(X.data[1], 1e-310);
    ck_assert_double_eq(X.data[2], 0.0);
    ck_assert(signbit(X.data[3]));
    ck_assert_double_eq(X.data[4], 4.9406564584124654e-324);
    soma_matrix_free(&X);

    /* No limit on a field's length: 0.000...0001 (10000 zeros) e10000
     * is 1e-10001 * 1e10000 = 0.1, correctly rounded. */
    size_t zeros = 10000;
    char *big = malloc(zeros + 64);
    ck_assert_ptr_nonnull(big);
    strcpy(big, "0.");
    memset(big + 2, '0', zeros);
    strcpy(big + 2 + zeros, "1e10000\n");
    ck_assert_int_eq(parse(big, &o, &X, NULL, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(X.data[0], 0.1);
    soma_matrix_free(&X);
    free(big);

    /* Non-finite words with allow_nonfinite. */
    o.allow_nonfinite = true;
    ck_assert_int_eq(parse("nan,INF,-Infinity,+inf,-NaN\n", &o, &X, NULL, NULL, NULL),
                     SOMA_OK);
    ck_assert(isnan(X.data[0]));
    ck_assert(isinf(X.data[1]) && X.data[1] > 0);
    ck_assert(isinf(X.data[2]) && X.data[2] < 0);
    ck_assert(isinf(X.data[3]) && X.data[3] > 0);
    ck_assert(isnan(X.data[4]));
    soma_matrix_free(&X);
}
END_TEST

START_TEST(long_lines)
{
    /* One record of 200000 fields, then a second: no line length limit. */
    const size_t f = 200000;
    char *text = malloc(2 * f * 8 + 16);
    size_t len = 0;
    for (size_t r = 0; r < 2; r++)
        for (size_t j = 0; j < f; j++)
            len += (size_t)sprintf(text + len, "%zu%c", (j * 7 + r) % 1000,
                                   j + 1 == f ? '\n' : ',');
    soma_matrix X, y;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, NULL, &X, &y, NULL, NULL, NULL),
                     SOMA_OK);
    ck_assert_uint_eq(X.rows, 2);
    ck_assert_uint_eq(X.cols, f - 1);
    for (size_t r = 0; r < 2; r++) {
        for (size_t j = 0; j + 1 < f; j++)
            ck_assert_double_eq(X.data[r * (f - 1) + j], (double)((j * 7 + r) % 1000));
        ck_assert_double_eq(y.data[r], (double)(((f - 1) * 7 + r) % 1000));
    }
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    free(text);
}
END_TEST

/* ---- every error, with its place -------------------------------------------- */

typedef struct bad_case {
    const char *text;
    size_t len; /* 0: strlen */
    soma_csv_header header;
    soma_status status;
    size_t line, column, offset;
} bad_case;

START_TEST(each_error_with_line_and_column)
{
    const bad_case cases[] = {
        /* empty inputs: line where the input ends, column 0 */
        {"", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 1, 0, 0},
        {"\xEF\xBB\xBF", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 1, 0, 3},
        {"\n\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 3, 0, 2},
        /* a header and nothing else */
        {"a,b\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 0, 4},
        {"a,b", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 1, 0, 3},
        /* not a number: "x" starts at byte 6 of line 2, field 2 */
        {"1,2\n3,x\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        {"1,2\n3,1.2.3\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        {"1,2\n3,1e\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        {"1,2\n3,--1\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        {"1,2\n3,1 2\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        /* hexadecimal is not accepted */
        {"0x10,1\n", 0, SOMA_CSV_HEADER_NO, SOMA_EFORMAT, 1, 1, 0},
        {"a,b\n0x1p3,1\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        /* empty fields: ",," at bytes 7-8, field 2 starts at 8 */
        {"1,2,3\n4,,6\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 8},
        {"1,2,3\n4,5,\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 3, 10},
        {"1,2\n\"\",3\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        {"1,2\n  ,3\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        {"1,,3\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 1, 2, 2},
        {"1,2\n   \n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        /* nan / inf text without allow_nonfinite */
        {"1,2\nnan,3\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_ENONFINITE, 2, 1, 4},
        {"1,-inf\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_ENONFINITE, 1, 2, 2},
        {"a,b\n1,Infinity\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_ENONFINITE, 2, 2, 6},
        /* overflow */
        {"1,2\n3,1e999\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        {"1,2\n3,-1e309\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        /* ragged: too many (first extra field) and too few (first missing,
         * at the line end: LF at 9, CR at 10, end of input at 9) */
        {"1,2\n3,4,5\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 3, 8},
        {"1,2,3\n4,5\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 3, 9},
        {"1,2,3\r\n4,5\r\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 3, 10},
        {"1,2,3\n4,5", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 3, 9},
        {"a,b,c\n1,2,3\n4\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 3, 2, 13},
        /* quoting */
        {"1,2\n\"3,4\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        {"1,2\n\"3\"x,4\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        {"1,2\n3,\"4\" \"\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        {"1,2\n3,4\"\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        /* a carriage return without its line feed */
        {"1,2\n3\r4,5\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 1, 4},
        {"1,2\n3,4\r", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
        /* positions count the BOM's bytes and the lines inside quotes */
        {"\xEF\xBB\xBF"
         "1,x\n",
         0, SOMA_CSV_HEADER_NO, SOMA_EFORMAT, 1, 2, 5},
        {"\"a\nb\",c\n1,x\n", 0, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 3, 2, 10},
        /* a NUL byte is data, and not a number */
        {"1,2\n3,\0\n", 8, SOMA_CSV_HEADER_AUTO, SOMA_EFORMAT, 2, 2, 6},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const bad_case *k = &cases[c];
        soma_csv_options o = soma_csv_defaults();
        o.header = k->header;
        soma_matrix X, y, zero = {0};
        memset(&X, 0, sizeof X);
        memset(&y, 0, sizeof y);
        soma_csv_info info = {77, 77, true, 77};
        soma_error_info err;
        memset(&err, 0, sizeof err);
        size_t len = k->len != 0 ? k->len : strlen(k->text);
        soma_status st =
            soma_csv_read_buffer(k->text, len, &o, &X, &y, &info, NULL, &err);
        if (st != k->status || err.line != k->line || err.column != k->column ||
            err.offset != k->offset)
            ck_abort_msg("case %zu: status %d line %zu column %zu offset %zu (%s); "
                         "expected %d %zu %zu %zu",
                         c, st, err.line, err.column, err.offset, err.message, k->status,
                         k->line, k->column, k->offset);
        ck_assert_uint_gt(strlen(err.message), 0);
        ck_assert_mem_eq(&X, &zero, sizeof X);
        ck_assert_mem_eq(&y, &zero, sizeof y);
        ck_assert_uint_eq(info.rows, 77);
        /* The same without an error report. */
        ck_assert_int_eq(soma_csv_read_buffer(k->text, len, &o, &X, &y, NULL, NULL, NULL),
                         k->status);
    }
}
END_TEST

START_TEST(label_column_errors)
{
    soma_matrix X = {0}, y = {0};
    soma_error_info err;
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_INDEX;
    o.label_index = 2;
    ck_assert_int_eq(parse("\n1,2\n", &o, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 0);
    ck_assert_uint_eq(err.offset, 1);
    o.label = SOMA_CSV_LABEL_NAME;
    o.label_name = "c";
    ck_assert_int_eq(parse("a,b\n1,2\n", &o, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.line, 1);
    ck_assert_uint_eq(err.column, 0);
    ck_assert_ptr_nonnull(strstr(err.message, "'c'"));
    o.label_name = "a";
    ck_assert_int_eq(parse("a,a\n1,2\n", &o, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.line, 1);
    ck_assert_int_eq(parse("1,2\n3,4\n", &o, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_uint_eq(err.line, 1);
    ck_assert_uint_eq(err.column, 0);
    soma_matrix zero = {0};
    ck_assert_mem_eq(&X, &zero, sizeof X);
}
END_TEST

START_TEST(bad_arguments)
{
    soma_matrix X = {0}, y = {0}, zero = {0};
    soma_error_info err = {9, 9, 9, "", "untouched"};
    soma_csv_options o;
#define BAD_OPT(stmt)                                                                    \
    do {                                                                                 \
        o = soma_csv_defaults();                                                         \
        stmt;                                                                            \
        ck_assert_int_eq(parse("1,2\n", &o, &X, &y, NULL, &err), SOMA_EINVAL);           \
    } while (0)
    BAD_OPT(o.delimiter = '"');
    BAD_OPT(o.delimiter = '\n');
    BAD_OPT(o.delimiter = '\r');
    BAD_OPT(o.delimiter = '\0');
    BAD_OPT(o.delimiter = '5');
    BAD_OPT(o.delimiter = '.');
    BAD_OPT(o.delimiter = '-');
    BAD_OPT(o.delimiter = 'e');
    BAD_OPT(o.header = (soma_csv_header)9);
    BAD_OPT(o.label = (soma_csv_label)9);
    BAD_OPT(o.label = SOMA_CSV_LABEL_NAME);
    BAD_OPT((o.label = SOMA_CSV_LABEL_NAME, o.label_name = "a",
             o.header = SOMA_CSV_HEADER_NO));
#undef BAD_OPT
    ck_assert_int_eq(parse("1,2\n", NULL, NULL, &y, NULL, &err), SOMA_EINVAL);
    ck_assert_int_eq(parse("1,2\n", NULL, &X, NULL, NULL, &err), SOMA_EINVAL);
    ck_assert_int_eq(soma_csv_read_buffer(NULL, 3, NULL, &X, &y, NULL, NULL, &err),
                     SOMA_EINVAL);
    soma_allocator half = {NULL, NULL, NULL};
    ck_assert_int_eq(soma_csv_read_buffer("1,2", 3, NULL, &X, &y, NULL, &half, &err),
                     SOMA_EINVAL);
    ck_assert_int_eq(soma_csv_read_file(NULL, NULL, &X, &y, NULL, NULL, &err),
                     SOMA_EINVAL);
    ck_assert_mem_eq(&X, &zero, sizeof X);
    ck_assert_mem_eq(&y, &zero, sizeof y);
    ck_assert_uint_eq(err.line, 9);
    ck_assert_str_eq(err.message, "untouched");
    /* NULL text with length 0 is the empty input. */
    ck_assert_int_eq(soma_csv_read_buffer(NULL, 0, NULL, &X, &y, NULL, NULL, &err),
                     SOMA_EFORMAT);
}
END_TEST

START_TEST(allocation_failures)
{
    /* Every allocation of a parse failing in turn: ENOMEM, nothing leaked,
     * outputs untouched; then the parse succeeds. */
    const char *text = "h1,h2,h3\n1,2,3\n4,5,6\n7,8,9\n";
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    soma_matrix X = {0}, y = {0}, zero = {0};
    soma_status st = SOMA_ENOMEM;
    size_t k;
    for (k = 1; st == SOMA_ENOMEM; k++) {
        t.fail_at = t.allocs + k;
        st = soma_csv_read_buffer(text, strlen(text), NULL, &X, &y, NULL, &a, NULL);
        if (st == SOMA_ENOMEM) {
            ck_assert_uint_eq(t.live_bytes, 0);
            ck_assert_mem_eq(&X, &zero, sizeof X);
            ck_assert_mem_eq(&y, &zero, sizeof y);
        }
    }
    ck_assert_int_eq(st, SOMA_OK);
    ck_assert_uint_ge(k, 6);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_uint_eq(t.live_bytes, 0);
}
END_TEST

/* ---- files -------------------------------------------------------------------- */

START_TEST(write_read_round_trip)
{
    make_tmpdir();
    char path[256];
    tmp_path(path, sizeof path, "rt.csv");
    /* Random doubles of every magnitude, -0, subnormals, extremes: "%.17g"
     * and strtod give back the same bits. */
    const size_t n = 2000, d = 5;
    soma_matrix X, y, X2, y2;
    ck_assert_int_eq(soma_matrix_init(&X, n, d, NULL), SOMA_OK);
    ck_assert_int_eq(soma_matrix_init(&y, n, 1, NULL), SOMA_OK);
    soma_rng r;
    ck_assert_int_eq(soma_rng_seed(&r, 99), SOMA_OK);
    for (size_t i = 0; i < n * d; i++) {
        uint64_t u;
        ck_assert_int_eq(soma_rng_u64(&r, &u), SOMA_OK);
        double v;
        memcpy(&v, &u, sizeof v);
        X.data[i] = isfinite(v) ? v : (double)(i % 7) - 3.0;
    }
    X.data[0] = -0.0;
    X.data[1] = 4.9406564584124654e-324;
    X.data[2] = DBL_MAX;
    X.data[3] = -DBL_MIN;
    X.data[4] = 0.1;
    for (size_t i = 0; i < n; i++)
        y.data[i] = (double)(i % 3);
    const char *names[6] = {"plain",    "with,comma", "say \"hi\"",
                            " padded ", "x",          "label"};
    ck_assert_int_eq(soma_csv_write(path, &X, &y, names, NULL), SOMA_OK);
    ck_assert_uint_eq(count_files(), 1); /* no temporary left behind */
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NAME;
    o.label_name = "label";
    soma_csv_info info;
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X2, &y2, &info, NULL, NULL), SOMA_OK);
    ck_assert(info.has_header);
    ck_assert_uint_eq(info.label_column, 5);
    ck_assert_mem_eq(X.data, X2.data, n * d * sizeof(double));
    ck_assert_mem_eq(y.data, y2.data, n * sizeof(double));
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);
    /* Header names read back: a quoted name found by label_name. */
    o.label_name = "say \"hi\"";
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X2, &y2, &info, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(info.label_column, 2);
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);

    /* Without y and header; overwriting the file; non-finite values. */
    X.data[5] = NAN;
    X.data[6] = -INFINITY;
    ck_assert_int_eq(soma_csv_write(path, &X, NULL, NULL, NULL), SOMA_OK);
    o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NONE;
    soma_error_info err;
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X2, NULL, &info, NULL, &err),
                     SOMA_ENONFINITE);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 1);
    o.allow_nonfinite = true;
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X2, NULL, &info, NULL, NULL), SOMA_OK);
    ck_assert(!info.has_header);
    ck_assert(isnan(X2.data[5]));
    ck_assert_double_eq(X2.data[6], -INFINITY);
    ck_assert_mem_eq(X.data + 7, X2.data + 7, (n * d - 7) * sizeof(double));
    soma_matrix_free(&X2);
    ck_assert_uint_eq(count_files(), 1);

    /* Strided input (a view with ld > cols) writes its elements only. */
    soma_matrix V;
    ck_assert_int_eq(soma_matrix_view(&V, X.data + 7, 3, 2, 5), SOMA_OK);
    ck_assert_int_eq(soma_csv_write(path, &V, NULL, NULL, NULL), SOMA_OK);
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X2, NULL, &info, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(X2.rows, 3);
    ck_assert_uint_eq(X2.cols, 2);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 2; j++)
            ck_assert_double_eq(X2.data[i * 2 + j], X.data[7 + i * 5 + j]);
    soma_matrix_free(&X2);

    soma_matrix_free(&X);
    soma_matrix_free(&y);
    remove_tmpdir();
}
END_TEST

START_TEST(write_errors)
{
    make_tmpdir();
    char path[256], missing[300];
    tmp_path(path, sizeof path, "w.csv");
    snprintf(missing, sizeof missing, "%s/no/such/dir.csv", tmpdir);
    double xb[4] = {1, 2, 3, 4}, yb[2] = {0, 1};
    soma_matrix X, y, y1, ywide;
    ck_assert_int_eq(soma_matrix_view(&X, xb, 2, 2, 2), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y, yb, 2, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&y1, yb, 1, 1, 1), SOMA_OK);
    ck_assert_int_eq(soma_matrix_view(&ywide, xb, 2, 2, 2), SOMA_OK);
    const char *names[3] = {"a", NULL, "c"};
    ck_assert_int_eq(soma_csv_write(NULL, &X, &y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_csv_write(path, NULL, &y, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_csv_write(path, &X, &y1, NULL, NULL), SOMA_EDIM);
    ck_assert_int_eq(soma_csv_write(path, &X, &ywide, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_csv_write(path, &X, &y, names, NULL), SOMA_EINVAL);
    soma_matrix none;
    ck_assert_int_eq(soma_matrix_view(&none, xb, 2, 0, 0), SOMA_OK);
    ck_assert_int_eq(soma_csv_write(path, &none, NULL, NULL, NULL), SOMA_EINVAL);
    ck_assert_int_eq(soma_csv_write(missing, &X, &y, NULL, NULL), SOMA_EIO);
    ck_assert_uint_eq(count_files(), 0);

    /* The rename over a non-empty directory fails after the text was
     * written: EIO, the directory intact, the temporary removed. */
    char dir[300], inner[320];
    snprintf(dir, sizeof dir, "%s/d", tmpdir);
    snprintf(inner, sizeof inner, "%s/keep", dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    write_file(inner, "x", 1);
    ck_assert_int_eq(soma_csv_write(dir, &X, &y, NULL, NULL), SOMA_EIO);
    ck_assert_uint_eq(count_files(), 1);
    ck_assert_int_eq(unlink(inner), 0);
    ck_assert_int_eq(rmdir(dir), 0);

    /* Reading: a missing file, a directory. */
    soma_matrix A = {0}, b = {0}, zero = {0};
    soma_error_info err;
    ck_assert_int_eq(soma_csv_read_file(missing, NULL, &A, &b, NULL, NULL, &err),
                     SOMA_EIO);
    ck_assert_uint_eq(err.line, 0);
    ck_assert_int_eq(soma_csv_read_file(tmpdir, NULL, &A, &b, NULL, NULL, &err),
                     SOMA_EIO);
    ck_assert_mem_eq(&A, &zero, sizeof A);
    remove_tmpdir();
}
END_TEST

START_TEST(file_blocks_equal_buffer)
{
    /* A text of ~400 KB with CRLF, quotes, blanks and a BOM, read from a
     * file in 64 KiB blocks and from memory: the same matrices. Records are
     * sized so that CR LF pairs, quoted fields and numbers straddle the
     * block boundaries somewhere. */
    make_tmpdir();
    char path[256];
    tmp_path(path, sizeof path, "blocks.csv");
    size_t cap = 500000, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "\xEF\xBB\xBF\"a\",b,\"c \"\"q\"\"\"\r\n");
    for (size_t i = 0; len < 400000; i++)
        len += (size_t)sprintf(
            text + len, i % 3 == 0 ? "\"%zu.25\", %zu ,%zu\r\n" : "%zu.25,\"%zu\",%zu\n",
            i, i * 3, i % 2);
    write_file(path, text, len);
    soma_matrix X1, y1, X2, y2;
    soma_csv_info i1, i2;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, NULL, &X1, &y1, &i1, NULL, NULL),
                     SOMA_OK);
    ck_assert_int_eq(soma_csv_read_file(path, NULL, &X2, &y2, &i2, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(i1.rows, i2.rows);
    ck_assert_uint_gt(i1.rows, 10000);
    ck_assert_mem_eq(X1.data, X2.data, X1.rows * X1.cols * sizeof(double));
    ck_assert_mem_eq(y1.data, y2.data, y1.rows * sizeof(double));
    for (size_t i = 0; i < i1.rows; i++) {
        ck_assert_double_eq(X1.data[2 * i], (double)i + 0.25);
        ck_assert_double_eq(X1.data[2 * i + 1], (double)(i * 3));
        ck_assert_double_eq(y1.data[i], (double)(i % 2));
    }
    /* An error near the end of a later block has the same place both ways. */
    strcpy(text + len, "1,2,zz\n");
    len += 7;
    write_file(path, text, len);
    soma_error_info e1, e2;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, NULL, &X1, &y1, NULL, NULL, &e1),
                     SOMA_EFORMAT);
    ck_assert_int_eq(soma_csv_read_file(path, NULL, &X1, &y1, NULL, NULL, &e2),
                     SOMA_EFORMAT);
    ck_assert_uint_eq(e1.line, i1.rows + 2);
    ck_assert_uint_eq(e1.column, 3);
    ck_assert_uint_eq(e1.offset, len - 3);
    ck_assert_uint_eq(e1.line, e2.line);
    ck_assert_uint_eq(e1.offset, e2.offset);
    soma_matrix_free(&X1);
    soma_matrix_free(&y1);
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);
    free(text);
    remove_tmpdir();
}
END_TEST

START_TEST(million_rows)
{
    /* 10^6 data rows written here with stdio (not soma_csv_write):
     * i, i / 4, -i * 1e-3 (text "%.17g"), label i % 3. */
    make_tmpdir();
    char path[256];
    tmp_path(path, sizeof path, "big.csv");
    const size_t n = 1000000;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("id,quarter,milli,label\n", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%zu,%.17g,%.17g,%zu\n", i, (double)i / 4.0, -(double)i * 1e-3, i % 3);
    ck_assert_int_eq(fclose(f), 0);
    soma_matrix X, y;
    soma_csv_info info;
    ck_assert_int_eq(soma_csv_read_file(path, NULL, &X, &y, &info, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(info.rows, n);
    ck_assert_uint_eq(X.rows, n);
    ck_assert_uint_eq(X.cols, 3);
    for (size_t i = 0; i < n; i++) {
        const double *x = X.data + 3 * i;
        if (x[0] != (double)i || x[1] != (double)i / 4.0 || x[2] != -(double)i * 1e-3 ||
            y.data[i] != (double)(i % 3))
            ck_abort_msg("row %zu differs", i);
    }
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    remove_tmpdir();
}
END_TEST

START_TEST(locale_independent)
{
    /* Under a locale whose decimal point is ',' (if one is installed), the
     * reader still wants '.', and the writer still writes it. */
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8",  "fr_FR.UTF-8",
                           "fr_FR.utf8",  "nl_NL.UTF-8", "ru_RU.UTF-8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && got == NULL; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (got == NULL || strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_NUMERIC, "C");
        fprintf(stderr, "locale_independent: no locale with a decimal comma; "
                        "only the C locale was exercised\n");
        return;
    }
    soma_matrix X, y;
    ck_assert_int_eq(parse("1.5,2\n", NULL, &X, &y, NULL, NULL), SOMA_OK);
    ck_assert_double_eq(X.data[0], 1.5);
    make_tmpdir();
    char path[256];
    tmp_path(path, sizeof path, "loc.csv");
    ck_assert_int_eq(soma_csv_write(path, &X, &y, NULL, NULL), SOMA_OK);
    char buf[64] = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 0);
    fclose(f);
    ck_assert_str_eq(buf, "1.5,2\n");
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    setlocale(LC_NUMERIC, "C");
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, header_auto_and_label_last);
    tcase_add_test(tc, crlf_bom_quotes_blank_lines);
    tcase_add_test(tc, label_modes_and_delimiters);
    tcase_add_test(tc, numbers_exact_and_special);
    tcase_add_test(tc, long_lines);
    tcase_add_test(tc, each_error_with_line_and_column);
    tcase_add_test(tc, label_column_errors);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);
    TCase *files = tcase_create("files");
    tcase_set_timeout(files, 60);
    tcase_add_test(files, write_read_round_trip);
    tcase_add_test(files, write_errors);
    tcase_add_test(files, file_blocks_equal_buffer);
    tcase_add_test(files, million_rows);
    tcase_add_test(files, locale_independent);
    suite_add_tcase(s, files);
    return test_run(s);
}
