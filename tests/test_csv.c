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
        soma_csv_info info = {
            .rows = 77, .fields = 77, .has_header = true, .label_column = 77};
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
    /* Each refused argument: SOMA_EINVAL, outputs untouched, and a message
     * naming the argument or option at fault (positions 0). */
    soma_matrix X = {0}, y = {0}, zero = {0};
    soma_error_info err;
    soma_csv_options o;
#define EXPECT_EINVAL(call, name)                                                        \
    do {                                                                                 \
        memset(&err, 0x5A, sizeof err);                                                  \
        err.message[0] = '\0';                                                           \
        ck_assert_int_eq((call), SOMA_EINVAL);                                           \
        ck_assert_msg(strstr(err.message, name) != NULL, "'%s' does not name %s",        \
                      err.message, name);                                                \
        ck_assert_uint_eq(err.line + err.column + err.offset, 0);                        \
        const char *field_ = strchr(err.argument, '.');                                  \
        ck_assert_msg(err.argument[0] != '\0' &&                                         \
                          strstr(err.message, field_ ? field_ + 1 : err.argument),       \
                      "argument '%s' not the one '%s' names", err.argument,              \
                      err.message);                                                      \
    } while (0)
#define BAD_OPT(stmt, name)                                                              \
    do {                                                                                 \
        o = soma_csv_defaults();                                                         \
        stmt;                                                                            \
        EXPECT_EINVAL(parse("1,2\n", &o, &X, &y, NULL, &err), name);                     \
        ck_assert_int_eq(parse("1,2\n", &o, &X, &y, NULL, NULL), SOMA_EINVAL);           \
    } while (0)
    BAD_OPT(o.delimiter = '"', "delimiter");
    BAD_OPT(o.delimiter = '\n', "delimiter");
    BAD_OPT(o.delimiter = '\r', "delimiter");
    BAD_OPT(o.delimiter = '\0', "delimiter");
    BAD_OPT(o.delimiter = '5', "delimiter");
    BAD_OPT(o.delimiter = '.', "delimiter");
    BAD_OPT(o.delimiter = '-', "delimiter");
    BAD_OPT(o.delimiter = 'e', "delimiter");
    BAD_OPT(o.header = (soma_csv_header)9, "header");
    BAD_OPT(o.label = (soma_csv_label)9, "label");
    BAD_OPT(o.label = SOMA_CSV_LABEL_NAME, "label_name");
    BAD_OPT((o.label = SOMA_CSV_LABEL_NAME, o.label_name = "a",
             o.header = SOMA_CSV_HEADER_NO),
            "needs a header");
    /* The options of files as they come. */
    BAD_OPT(o.comment = ',', "comment: ',' cannot mark comments (it is the delimiter)");
    BAD_OPT((o.delimiter = ';', o.comment = ';'), "comment");
    BAD_OPT(o.comment = '"', "comment");
    BAD_OPT(o.comment = '\n', "comment: byte 0x0A");
    BAD_OPT(o.comment = '\r', "comment");
    BAD_OPT(o.comment = ' ', "comment");
    BAD_OPT(o.comment = '\t', "comment");
    BAD_OPT(o.comment = '7', "a number may start with it");
    BAD_OPT(o.comment = '-', "comment");
    BAD_OPT(o.comment = '+', "comment");
    BAD_OPT(o.comment = '.', "comment");
    BAD_OPT(o.label_type = SOMA_CSV_LABELS_COUNT, "label_type");
    BAD_OPT(o.label_type = (soma_csv_label_type)-1, "label_type");
    BAD_OPT((o.label_type = SOMA_CSV_LABELS_TEXT, o.label = SOMA_CSV_LABEL_NONE),
            "label_type: text or auto labels need a label column");
    BAD_OPT((o.label_type = SOMA_CSV_LABELS_AUTO, o.label = SOMA_CSV_LABEL_NONE),
            "label_type");
    BAD_OPT(o.sort_classes = true, "sort_classes");
#undef BAD_OPT
    EXPECT_EINVAL(parse("1,2\n", NULL, NULL, &y, NULL, &err), "X");
    EXPECT_EINVAL(parse("1,2\n", NULL, &X, NULL, NULL, &err), "y");
    EXPECT_EINVAL(soma_csv_read_buffer(NULL, 3, NULL, &X, &y, NULL, NULL, &err), "text");
    soma_allocator half = {NULL, NULL, NULL};
    EXPECT_EINVAL(soma_csv_read_buffer("1,2", 3, NULL, &X, &y, NULL, &half, &err),
                  "alloc");
    EXPECT_EINVAL(soma_csv_read_file(NULL, NULL, &X, &y, NULL, NULL, &err), "path");
#undef EXPECT_EINVAL
    ck_assert_mem_eq(&X, &zero, sizeof X);
    ck_assert_mem_eq(&y, &zero, sizeof y);
    /* Valid: comment bytes that cannot start a field, and the options that
     * go with text labels. */
    o = soma_csv_defaults();
    o.comment = '#';
    o.label_type = SOMA_CSV_LABELS_AUTO;
    o.sort_classes = true;
    ck_assert_int_eq(parse("1,2\n", &o, &X, &y, NULL, &err), SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    X = zero;
    y = zero;
    /* NULL text with length 0 is the empty input. */
    ck_assert_int_eq(soma_csv_read_buffer(NULL, 0, NULL, &X, &y, NULL, NULL, &err),
                     SOMA_EFORMAT);
}
END_TEST

/* ---- files as they come: skipped lines, comments, text labels, hints ----- */

/* Options for the tables below: skip_lines, comment, label type, header. */
typedef struct come_case {
    const char *text;
    size_t len; /* 0: strlen */
    size_t skip;
    char comment;
    soma_csv_label_type type;
    soma_csv_header header;
    char delimiter; /* 0: ',' */
    soma_status status;
    size_t line, column, offset;
    const char *says; /* a part of the message */
} come_case;

START_TEST(as_they_come_errors)
{
    const soma_csv_label_type NUM = SOMA_CSV_LABELS_NUMERIC, TXT = SOMA_CSV_LABELS_TEXT,
                              AUT = SOMA_CSV_LABELS_AUTO;
    const soma_csv_header HA = SOMA_CSV_HEADER_AUTO, HN = SOMA_CSV_HEADER_NO;
    const soma_status F = SOMA_EFORMAT;
    const come_case cases[] = {
        /* Skipped lines are not parsed (an open quote in one is nothing) and
         * still count: "3,x" is line 4, its x at byte 18. */
        {"junk\njunk,\"\n1,2\n3,x\n", 0, 2, 0, NUM, HA, 0, F, 4, 2, 18, "not a number"},
        /* Comment lines (one indented) count too. */
        {"# c\na,b\n#\n  # x\n1,y\n", 0, 0, '#', NUM, HA, 0, F, 5, 2, 18, "'y'"},
        /* The input ends inside the skipped lines, or right after them. */
        {"a\nb", 0, 5, 0, NUM, HA, 0, F, 2, 0, 3, "skip_lines"},
        {"a\nb\n", 0, 2, 0, NUM, HA, 0, F, 3, 0, 4, "no records"},
        {"#a\n#b", 0, 0, '#', NUM, HA, 0, F, 2, 0, 5, "no records"},
        /* Only whole lines are comments: after a field '#' is data; with a
         * tab delimiter, a leading tab is an empty field, not a blank. */
        {"1,2 #x\n", 0, 0, '#', NUM, HN, 0, F, 1, 2, 2, "not a number: '2 #x'"},
        {"\t#x\n", 0, 0, '#', NUM, HN, '\t', F, 1, 1, 0, "empty field"},
        /* A BOM before the skipped line counts in offsets. */
        {"\xEF\xBB\xBFmeta\n1,x\n", 0, 1, 0, NUM, HN, 0, F, 2, 2, 10, "not a number"},
        /* CR LF, skip and comment together; a second record with another
         * field count suggests skipping through the first (line 3). */
        {"m\r\n#c\r\n1,2\r\n3\r\n", 0, 1, '#', NUM, HA, 0, F, 4, 2, 13,
         "set skip_lines to 3"},
        /* Text labels: empty (plain or quoted), holding a NUL. */
        {"1,a\n2,\n", 0, 0, 0, TXT, HA, 0, F, 2, 2, 6, "empty label"},
        {"1,a\n2,\"\"\n", 0, 0, 0, TXT, HA, 0, F, 2, 2, 6, "empty label"},
        {"1,a\0b\n", 7, 0, 0, TXT, HA, 0, F, 1, 2, 2, "NUL"},
        /* Numeric labels (the default) that are words: the first line went
         * to the header, the second says what to set. */
        {"5.1,3.5,Iris-setosa\n4.9,3.0,Iris-setosa\n", 0, 0, 0, NUM, HA, 0, F, 2, 3, 28,
         "label is not a number: 'Iris-setosa'; for class names set label_type to "
         "SOMA_CSV_LABELS_TEXT"},
        /* Auto decided "numbers" on the first data record. */
        {"1,0\n2,cat\n", 0, 0, 0, AUT, HA, 0, F, 2, 2, 6, "label_type AUTO"},
        {"1,nan\n", 0, 0, 0, AUT, HA, 0, SOMA_ENONFINITE, 1, 2, 2, "allow_nonfinite"},
        /* Delimiter hints: ';' file read with ','; decimal commas; tabs;
         * a ',' file read with ';'; '|' seen in the header only so far. */
        {"a;b;c\n1;2;3\n", 0, 0, 0, NUM, HA, 0, F, 2, 1, 6,
         "not a number: '1;2;3'; did you mean delimiter ';'?"},
        {"x;y;label\n1,5;2,5;0\n", 0, 0, 0, NUM, HA, 0, F, 2, 2, 12,
         "record has more fields than the first record; did you mean delimiter ';'?"},
        {"a\tb\n1\t2\n", 0, 0, 0, NUM, HA, 0, F, 2, 1, 4,
         "did you mean delimiter '\\t'?"},
        {"a,b\n1,2\n", 0, 0, 0, NUM, HA, ';', F, 2, 1, 4, "did you mean delimiter ','?"},
        {"a|b\n1|2|3\n", 0, 0, 0, NUM, HA, 0, F, 2, 1, 4, "did you mean delimiter '|'?"},
        /* A ';' in the first record but not in the second: no delimiter
         * hint, but the metadata hint (an error in the table's second record). */
        {"a;b,c\n1,2,3,4\n", 0, 0, 0, NUM, HA, 0, F, 2, 3, 10,
         "first record; if line 1 is not part of the table, set skip_lines to 1"},
        /* scikit-learn's metadata lines: fewer and more fields than the data. */
        {"3,2,a,b\n1,2,0\n", 0, 0, 0, NUM, HA, 0, F, 2, 4, 13, "set skip_lines to 1"},
        {"2,1,m,b\n1,2,3,4,5\n", 0, 0, 0, NUM, HA, 0, F, 2, 5, 16, "set skip_lines to 1"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const come_case *k = &cases[c];
        soma_csv_options o = soma_csv_defaults();
        o.skip_lines = k->skip;
        o.comment = k->comment;
        o.label_type = k->type;
        o.header = k->header;
        if (k->delimiter != 0)
            o.delimiter = k->delimiter;
        soma_matrix X, y, zero = {0};
        memset(&X, 0, sizeof X);
        memset(&y, 0, sizeof y);
        soma_csv_info info = {.rows = 77};
        soma_error_info err;
        memset(&err, 0, sizeof err);
        size_t len = k->len != 0 ? k->len : strlen(k->text);
        soma_status st =
            soma_csv_read_buffer(k->text, len, &o, &X, &y, &info, NULL, &err);
        if (st != k->status || err.line != k->line || err.column != k->column ||
            err.offset != k->offset || strstr(err.message, k->says) == NULL)
            ck_abort_msg("case %zu: status %d line %zu column %zu offset %zu (%s); "
                         "expected %d %zu %zu %zu (... %s ...)",
                         c, st, err.line, err.column, err.offset, err.message, k->status,
                         k->line, k->column, k->offset, k->says);
        ck_assert_str_eq(err.argument, ""); /* the content, no argument, is at fault */
        ck_assert_mem_eq(&X, &zero, sizeof X);
        ck_assert_mem_eq(&y, &zero, sizeof y);
        ck_assert_uint_eq(info.rows, 77);
    }
    /* No hint where none applies (a later record, no candidate). */
    soma_matrix X, y;
    soma_error_info err;
    ck_assert_int_eq(parse("1,2\n3,4\n5,6,7\n", NULL, &X, &y, NULL, &err), SOMA_EFORMAT);
    ck_assert_str_eq(err.message, "record has more fields than the first record");
}
END_TEST

START_TEST(skip_lines_and_comments)
{
    soma_matrix X, y;
    soma_csv_info info;
    soma_csv_options o = soma_csv_defaults();
    o.skip_lines = 1;
    o.comment = '#';
    /* A metadata line, comments before and after the header (indented, with
     * a quote and a lone CR in them), blank lines, a last comment without
     * its LF. */
    const char *text = "150,4,setosa,versicolor\n"
                       "# made by hand\n"
                       "\t # \"unbalanced \r quote\n"
                       "a,b\n"
                       "#\n"
                       "1,2\n"
                       "\n"
                       "# between\n"
                       "3,4\n"
                       "#end";
    ck_assert_int_eq(parse(text, &o, &X, &y, &info, NULL), SOMA_OK);
    const double ex[2] = {1, 3}, ey[2] = {2, 4};
    expect_matrix(&X, 2, 1, ex);
    expect_matrix(&y, 2, 1, ey);
    ck_assert(info.has_header);
    ck_assert_uint_eq(info.rows, 2);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* A skipped line that ends in CR LF, and skip_lines = 0 with a BOM. */
    o = soma_csv_defaults();
    o.skip_lines = 2;
    ck_assert_int_eq(parse("x\r\ny,z,w\r\n5,6\r\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert_uint_eq(info.rows, 1);
    ck_assert_double_eq(X.data[0], 5);
    ck_assert_double_eq(y.data[0], 6);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* '#' inside a quoted field that spans lines is data, not a comment. */
    o = soma_csv_defaults();
    o.comment = '#';
    o.label = SOMA_CSV_LABEL_NAME;
    o.label_name = "b\n#c";
    ck_assert_int_eq(parse("\"b\n#c\",a\n1,2\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert_uint_eq(info.label_column, 0);
    ck_assert_double_eq(y.data[0], 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* Without the option, '#' lines are records as before: a header here. */
    ck_assert_int_eq(parse("#a,b\n1,2\n", NULL, &X, &y, &info, NULL), SOMA_OK);
    ck_assert(info.has_header);
    ck_assert_uint_eq(info.rows, 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);

    /* Another comment byte, and a comment before the first record decides
     * nothing about the header. */
    o = soma_csv_defaults();
    o.comment = '%';
    o.header = SOMA_CSV_HEADER_AUTO;
    ck_assert_int_eq(parse("% a,b\n1,2\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert(!info.has_header);
    ck_assert_uint_eq(info.rows, 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

START_TEST(skip_and_comment_across_blocks)
{
    /* Read from a file in 64 KiB blocks and from memory, a skipped line and
     * a comment longer than a block (CR LF at a block boundary somewhere),
     * then an error: the same result and the same position both ways. */
    make_tmpdir();
    char path[256];
    tmp_path(path, sizeof path, "long.csv");
    const size_t long_line = 70000;
    size_t cap = 4 * long_line, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (int part = 0; part < 2; part++) {
        text[len++] = part == 0 ? 'm' : '#';
        memset(text + len, part == 0 ? ',' : '"', long_line);
        len += long_line;
        memcpy(text + len, "\r\n", 2);
        len += 2;
    }
    len += (size_t)sprintf(text + len, "a,b\n1,2\n#x\n3,4\n");
    write_file(path, text, len);
    soma_csv_options o = soma_csv_defaults();
    o.skip_lines = 1;
    o.comment = '#';
    soma_matrix X1, y1, X2, y2;
    soma_csv_info i1, i2;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, &o, &X1, &y1, &i1, NULL, NULL),
                     SOMA_OK);
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X2, &y2, &i2, NULL, NULL), SOMA_OK);
    ck_assert_uint_eq(i1.rows, 2);
    ck_assert_uint_eq(i2.rows, 2);
    ck_assert_double_eq(X2.data[1], 3);
    ck_assert_double_eq(y2.data[1], 4);
    soma_matrix_free(&X1);
    soma_matrix_free(&y1);
    soma_matrix_free(&X2);
    soma_matrix_free(&y2);
    len += (size_t)sprintf(text + len, "5,z\n");
    write_file(path, text, len);
    soma_error_info e1, e2;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, &o, &X1, &y1, NULL, NULL, &e1),
                     SOMA_EFORMAT);
    ck_assert_int_eq(soma_csv_read_file(path, &o, &X1, &y1, NULL, NULL, &e2),
                     SOMA_EFORMAT);
    ck_assert_uint_eq(e1.line, 7);
    ck_assert_uint_eq(e1.column, 2);
    ck_assert_uint_eq(e1.offset, len - 2);
    ck_assert_uint_eq(e2.line, e1.line);
    ck_assert_uint_eq(e2.offset, e1.offset);
    free(text);
    remove_tmpdir();
}
END_TEST

/* The names of info's classes, in id order, equal `names`. */
static void expect_classes(const soma_csv_info *info, size_t k, const char *const *names)
{
    ck_assert(info->text_labels);
    ck_assert_uint_eq(info->classes, k);
    ck_assert_ptr_nonnull(info->class_names);
    for (size_t i = 0; i < k; i++)
        ck_assert_str_eq(info->class_names[i], names[i]);
}

/* An iris.data-like file (UCI's layout): no header, the class name last,
 * a trailing empty line. */
static const char iris_like[] = "5.1,3.5,1.4,0.2,Iris-setosa\n"
                                "4.9,3.0,1.4,0.2,Iris-setosa\n"
                                "7.0,3.2,4.7,1.4,Iris-versicolor\n"
                                "6.3,3.3,6.0,2.5,Iris-virginica\n"
                                "6.4,3.2,4.5,1.5,Iris-versicolor\n"
                                "\n";

START_TEST(text_labels_iris_like)
{
    const double ex[20] = {5.1, 3.5, 1.4, 0.2, 4.9, 3.0, 1.4, 0.2, 7.0, 3.2,
                           4.7, 1.4, 6.3, 3.3, 6.0, 2.5, 6.4, 3.2, 4.5, 1.5};
    const double ey[5] = {0, 0, 1, 2, 1};
    const char *names[3] = {"Iris-setosa", "Iris-versicolor", "Iris-virginica"};
    const soma_csv_label_type types[2] = {SOMA_CSV_LABELS_TEXT, SOMA_CSV_LABELS_AUTO};
    for (int t = 0; t < 2; t++) {
        soma_csv_options o = soma_csv_defaults();
        o.label_type = types[t];
        soma_matrix X, y;
        soma_csv_info info;
        ck_assert_int_eq(parse(iris_like, &o, &X, &y, &info, NULL), SOMA_OK);
        ck_assert(!info.has_header); /* the label's word does not make a header */
        expect_matrix(&X, 5, 4, ex);
        expect_matrix(&y, 5, 1, ey);
        expect_classes(&info, 3, names);
        soma_matrix_free(&X);
        soma_matrix_free(&y);
        soma_csv_info_free(&info);
        ck_assert_ptr_null(info.class_names);
        ck_assert_uint_eq(info.class_names_size, 0);
        ck_assert_uint_eq(info.classes, 3); /* the counts stay */
        soma_csv_info_free(&info);          /* twice is harmless */
    }
    /* With a header: its words in the feature columns make it one. */
    soma_csv_options o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_TEXT;
    soma_matrix X, y;
    soma_csv_info info;
    ck_assert_int_eq(parse("sl,sw,pl,pw,species\n5.1,3.5,1.4,0.2,Iris-setosa\n", &o, &X,
                           &y, &info, NULL),
                     SOMA_OK);
    ck_assert(info.has_header);
    ck_assert_uint_eq(info.rows, 1);
    expect_classes(&info, 1, names);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    /* Without info the names are not kept (nothing to free). */
    test_alloc t;
    soma_allocator a = test_allocator(&t);
    ck_assert_int_eq(
        soma_csv_read_buffer(iris_like, strlen(iris_like), &o, &X, &y, NULL, &a, NULL),
        SOMA_OK);
    expect_matrix(&y, 5, 1, ey);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_uint_eq(t.live_bytes, 0);
    /* With info, the names come from the same allocator and go back to it. */
    ck_assert_int_eq(
        soma_csv_read_buffer(iris_like, strlen(iris_like), &o, &X, &y, &info, &a, NULL),
        SOMA_OK);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    ck_assert_uint_gt(t.live_bytes, 0);
    soma_csv_info_free(&info);
    ck_assert_uint_eq(t.live_bytes, 0);
    soma_csv_info_free(NULL);
    soma_csv_info zero = {0};
    soma_csv_info_free(&zero);
}
END_TEST

START_TEST(text_labels_order_and_columns)
{
    soma_csv_options o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_TEXT;
    soma_matrix X, y;
    soma_csv_info info;
    /* First appearance vs byte-wise order: "10" < "2" < "9", "a" < "ab",
     * upper case before lower case, UTF-8 after ASCII. */
    const char *text = "1,b\n2,10\n3,\xC3\xA9\n4,2\n5,ab\n6,a\n7,B\n8,9\n9,b\n";
    ck_assert_int_eq(parse(text, &o, &X, &y, &info, NULL), SOMA_OK);
    const char *seen[8] = {"b", "10", "\xC3\xA9", "2", "ab", "a", "B", "9"};
    const double ey[9] = {0, 1, 2, 3, 4, 5, 6, 7, 0};
    expect_classes(&info, 8, seen);
    expect_matrix(&y, 9, 1, ey);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    o.sort_classes = true;
    ck_assert_int_eq(parse(text, &o, &X, &y, &info, NULL), SOMA_OK);
    const char *sorted[8] = {"10", "2", "9", "B", "a", "ab", "b", "\xC3\xA9"};
    const double ey2[9] = {6, 0, 7, 1, 5, 4, 3, 2, 6};
    expect_classes(&info, 8, sorted);
    expect_matrix(&y, 9, 1, ey2);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);

    /* Names compare after unquoting and trimming, byte for byte: "2" and
     * "2.0" differ; a quoted name may hold the delimiter. */
    o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_TEXT;
    ck_assert_int_eq(parse("1, \"a,b\" \n2,a,b\n", &o, &X, &y, &info, NULL),
                     SOMA_EFORMAT);
    ck_assert_int_eq(
        parse("1, \"a b\" \n2,a b\n3,2\n4,2.0\n5,\" 2\"\n", &o, &X, &y, &info, NULL),
        SOMA_OK);
    const char *names[3] = {"a b", "2", "2.0"};
    const double ey3[5] = {0, 0, 1, 2, 1};
    expect_classes(&info, 3, names);
    expect_matrix(&y, 5, 1, ey3);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);

    /* The label by index and by name. */
    o.label = SOMA_CSV_LABEL_INDEX;
    o.label_index = 0;
    ck_assert_int_eq(parse("cat,1,2\ndog,3,4\ncat,5,6\n", &o, &X, &y, &info, NULL),
                     SOMA_OK);
    const double ex4[6] = {1, 2, 3, 4, 5, 6}, ey4[3] = {0, 1, 0};
    const char *pets[2] = {"cat", "dog"};
    expect_matrix(&X, 3, 2, ex4);
    expect_matrix(&y, 3, 1, ey4);
    expect_classes(&info, 2, pets);
    ck_assert(!info.has_header);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    o.label = SOMA_CSV_LABEL_NAME;
    o.label_name = "pet";
    ck_assert_int_eq(parse("x,pet,z\n1,dog,2\n3,cat,4\n", &o, &X, &y, &info, NULL),
                     SOMA_OK);
    const char *pets2[2] = {"dog", "cat"};
    expect_classes(&info, 2, pets2);
    ck_assert_uint_eq(info.label_column, 1);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);

    /* Only a label column: never a header under auto (no feature field to
     * judge by); SOMA_CSV_HEADER_YES says there is one. */
    o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_TEXT;
    ck_assert_int_eq(parse("y\nb\ny\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert(!info.has_header);
    ck_assert_uint_eq(X.cols, 0);
    ck_assert_uint_eq(info.classes, 2);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    o.header = SOMA_CSV_HEADER_YES;
    ck_assert_int_eq(parse("y\nb\ny\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert_uint_eq(info.rows, 2);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);

    /* Auto: numbers in the first data record's label mean numeric labels
     * (after a header); "nan" counts as a number. */
    o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_AUTO;
    ck_assert_int_eq(parse("a,label\n1,2\n3,0\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert(info.has_header);
    ck_assert(!info.text_labels);
    ck_assert_ptr_null(info.class_names);
    ck_assert_uint_eq(info.classes, 3);
    ck_assert_double_eq(y.data[0], 2);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    ck_assert_int_eq(parse("a,label\n1,x\n3,0\n", &o, &X, &y, &info, NULL), SOMA_OK);
    ck_assert(info.text_labels);
    const char *mixed[2] = {"x", "0"};
    expect_classes(&info, 2, mixed);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
}
END_TEST

START_TEST(text_labels_many_classes)
{
    /* 3000 rows over 1000 names (the table grows several times), each name
     * first seen at row i < 1000 and then again at i + 1000, i + 2000. */
    const size_t k = 1000, n = 3 * k;
    char *text = malloc(n * 32);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "%zu,class-%zu\n", i, (i % k) * 7919 % k);
    soma_csv_options o = soma_csv_defaults();
    o.label_type = SOMA_CSV_LABELS_TEXT;
    soma_matrix X, y;
    soma_csv_info info;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, &o, &X, &y, &info, NULL, NULL),
                     SOMA_OK);
    ck_assert_uint_eq(info.classes, k);
    char want[32];
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq(y.data[i], (double)(i % k));
        sprintf(want, "class-%zu", (i % k) * 7919 % k);
        ck_assert_str_eq(info.class_names[(size_t)y.data[i]], want);
    }
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    /* Sorted: strictly increasing names, and each row's name unchanged. */
    o.sort_classes = true;
    ck_assert_int_eq(soma_csv_read_buffer(text, len, &o, &X, &y, &info, NULL, NULL),
                     SOMA_OK);
    for (size_t c = 1; c < k; c++)
        ck_assert_int_lt(strcmp(info.class_names[c - 1], info.class_names[c]), 0);
    for (size_t i = 0; i < n; i++) {
        sprintf(want, "class-%zu", (i % k) * 7919 % k);
        ck_assert_str_eq(info.class_names[(size_t)y.data[i]], want);
    }
    soma_matrix_free(&X);
    soma_matrix_free(&y);
    soma_csv_info_free(&info);
    free(text);
}
END_TEST

START_TEST(class_count_numeric_labels)
{
    /* 1 + the largest label when all are whole numbers >= 0, else 0. */
    const struct {
        const char *text;
        bool nonfinite;
        size_t classes;
    } cases[] = {
        {"1,0\n2,2\n3,1\n", false, 3},
        {"1,1\n2,3\n3,2\n", false, 4},
        {"1,0\n2,-0\n", false, 1},
        {"1,0\n2,-1\n", false, 0},
        {"1,0\n2,1.5\n", false, 0},
        {"1,0\n2,1e300\n", false, 0},
        {"1,0\n2,nan\n", true, 0},
        {"1,9007199254740991\n", false, 9007199254740992u},
        {"1,9007199254740992\n", false, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        soma_csv_options o = soma_csv_defaults();
        o.allow_nonfinite = cases[c].nonfinite;
        soma_matrix X, y;
        soma_csv_info info;
        ck_assert_int_eq(parse(cases[c].text, &o, &X, &y, &info, NULL), SOMA_OK);
        ck_assert_msg(info.classes == cases[c].classes, "case %zu: %zu classes", c,
                      info.classes);
        ck_assert(!info.text_labels);
        ck_assert_ptr_null(info.class_names);
        soma_matrix_free(&X);
        soma_matrix_free(&y);
    }
    soma_csv_options o = soma_csv_defaults();
    o.label = SOMA_CSV_LABEL_NONE;
    soma_matrix X;
    soma_csv_info info;
    ck_assert_int_eq(parse("1,0\n2,1\n", &o, &X, NULL, &info, NULL), SOMA_OK);
    ck_assert_uint_eq(info.classes, 0);
    soma_matrix_free(&X);
}
END_TEST

START_TEST(gzip_file)
{
    /* A gzip file holding "1,2\n3,4\n" (one stored deflate block, written by
     * hand): refused with ENOTSUP by a build that cannot inflate it, read
     * as the text otherwise. */
    static const char gz[] = "\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\xFF\x01\x08\x00\xF7"
                             "\xFF\x31\x2C\x32\x0A\x33\x2C\x34\x0A\x47\x93\x6C\xAF\x08"
                             "\x00\x00\x00";
    make_tmpdir();
    char path[256];
    tmp_path(path, sizeof path, "t.csv.gz");
    write_file(path, gz, sizeof gz - 1);
    soma_matrix X = {0}, y = {0}, zero = {0};
    soma_error_info err;
    soma_status st = soma_csv_read_file(path, NULL, &X, &y, NULL, NULL, &err);
    if (st == SOMA_ENOTSUP) {
        ck_assert_ptr_nonnull(strstr(err.message, "gzip"));
        ck_assert_mem_eq(&X, &zero, sizeof X);
    } else {
        ck_assert_int_eq(st, SOMA_OK);
        const double ex[2] = {1, 3}, ey[2] = {2, 4};
        expect_matrix(&X, 2, 1, ex);
        expect_matrix(&y, 2, 1, ey);
        soma_matrix_free(&X);
        soma_matrix_free(&y);
    }
    remove_tmpdir();
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

/* ---- under a decimal-comma locale ----------------------------------------
 * The reader and the writer use the "C" numeric locale whatever the
 * program's: a global one set with setlocale (LC_ALL or only LC_NUMERIC) or
 * the calling thread's own (uselocale). These tests run only as
 * `test_csv --locale` (meson test csv-locale), which exits 77 (SKIP) when no
 * such locale is installed; tools/install-deps.sh generates de_DE.UTF-8. */

static const char *const comma_names[] = {"de_DE.UTF-8", "de_DE.utf8",  "fr_FR.UTF-8",
                                          "fr_FR.utf8",  "nl_NL.UTF-8", "ru_RU.UTF-8"};

/* True when printf under the calling thread's current locale writes a
 * decimal comma and strtod stops at a decimal point: the locale in force is
 * one that would break an unprotected reader and writer. */
static bool locale_is_hostile(void)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%.2f", 1.25);
    char *end;
    const double v = strtod("1.5", &end);
    return strcmp(buf, "1,25") == 0 && v == 1.0 && *end == '.';
}

/* The first installed locale name with a decimal comma, or NULL. */
static const char *comma_locale(void)
{
    for (size_t i = 0; i < sizeof comma_names / sizeof comma_names[0]; i++) {
        locale_t loc = newlocale(LC_ALL_MASK, comma_names[i], (locale_t)0);
        if (loc == (locale_t)0)
            continue;
        locale_t prev = uselocale(loc);
        const bool comma = locale_is_hostile();
        uselocale(prev);
        freelocale(loc);
        if (comma)
            return comma_names[i];
    }
    return NULL;
}

/* Numbers whose text needs every digit: %.17g of them has a decimal point
 * (written as ',' by an unprotected printf under the locale), exponents,
 * a subnormal, signs and the largest finite value. */
static const char locale_text[] =
    "a,b,c,label\n"
    "1.5,-0.25,3.141592653589793,1\n"
    "1e-300,2.5e+10,-7.0000000000000009,0\n"
    ".5,6.02214076e23,0.1,2\n"
    "4.9406564584124654e-324,1.7976931348623157e308,-0.0,1\n";

typedef struct csv_run {
    soma_matrix Xb, yb, Xf, yf; /* read from the buffer and from the file */
    char written[512];          /* what soma_csv_write wrote of Xb, yb */
    size_t written_len;
} csv_run;

/* Read locale_text from memory and from a file, write what was read: all
 * under the calling thread's current locale. */
static void csv_run_all(csv_run *r, const char *tag)
{
    char in[256], out[256];
    snprintf(in, sizeof in, "%s/in-%s.csv", tmpdir, tag);
    snprintf(out, sizeof out, "%s/out-%s.csv", tmpdir, tag);
    write_file(in, locale_text, strlen(locale_text));
    soma_error_info err;
    memset(&err, 0, sizeof err);
    ck_assert_msg(parse(locale_text, NULL, &r->Xb, &r->yb, NULL, &err) == SOMA_OK,
                  "%s: read_buffer: line %zu column %zu: %s", tag, err.line, err.column,
                  err.message);
    ck_assert_msg(
        soma_csv_read_file(in, NULL, &r->Xf, &r->yf, NULL, NULL, &err) == SOMA_OK,
        "%s: read_file: line %zu column %zu: %s", tag, err.line, err.column, err.message);
    ck_assert_int_eq(soma_csv_write(out, &r->Xb, &r->yb, NULL, NULL), SOMA_OK);
    FILE *f = fopen(out, "rb");
    ck_assert_ptr_nonnull(f);
    r->written_len = fread(r->written, 1, sizeof r->written - 1, f);
    r->written[r->written_len] = '\0';
    fclose(f);
}

static void csv_run_free(csv_run *r)
{
    soma_matrix_free(&r->Xb);
    soma_matrix_free(&r->yb);
    soma_matrix_free(&r->Xf);
    soma_matrix_free(&r->yf);
}

static void expect_same_bits(const soma_matrix *a, const soma_matrix *b, const char *what)
{
    ck_assert_uint_eq(a->rows, b->rows);
    ck_assert_uint_eq(a->cols, b->cols);
    for (size_t i = 0; i < a->rows; i++)
        ck_assert_msg(memcmp(soma_matrix_at(a, i, 0), soma_matrix_at(b, i, 0),
                             a->cols * sizeof(double)) == 0,
                      "%s: row %zu differs from the C locale's", what, i);
}

/* _i: 0 = setlocale(LC_ALL), 1 = setlocale(LC_NUMERIC) only, 2 = the
 * thread's own locale (uselocale) with the global one left at "C". */
START_TEST(read_write_under_decimal_comma)
{
    const char *name = comma_locale();
    ck_assert_msg(name != NULL, "no decimal-comma locale (main should have skipped)");
    make_tmpdir();
    /* The reference: everything under the C locale. */
    ck_assert_ptr_nonnull(setlocale(LC_ALL, "C"));
    ck_assert(!locale_is_hostile());
    csv_run c, l;
    csv_run_all(&c, "c");
    const double row1[4] = {1e-300, 2.5e+10, -7.0000000000000009, 0.0};
    ck_assert_mem_eq(soma_matrix_at(&c.Xb, 1, 0), row1, 3 * sizeof(double));
    ck_assert_double_eq(c.yb.data[2], 2.0);

    locale_t thread_loc = (locale_t)0;
    if (_i == 2) {
        thread_loc = newlocale(LC_ALL_MASK, name, (locale_t)0);
        ck_assert(thread_loc != (locale_t)0);
        ck_assert(uselocale(thread_loc) != (locale_t)0);
    } else {
        ck_assert_ptr_nonnull(setlocale(_i == 0 ? LC_ALL : LC_NUMERIC, name));
    }
    /* The locale in force really writes and reads a decimal comma. */
    ck_assert_msg(locale_is_hostile(), "%s is not in force", name);
    csv_run_all(&l, name);
    /* The caller's locale is back after every call. */
    ck_assert(locale_is_hostile());
    if (_i == 2)
        ck_assert(uselocale((locale_t)0) == thread_loc);
    else
        ck_assert_str_eq(localeconv()->decimal_point, ",");

    expect_same_bits(&l.Xb, &c.Xb, "X from the buffer");
    expect_same_bits(&l.yb, &c.yb, "y from the buffer");
    expect_same_bits(&l.Xf, &c.Xf, "X from the file");
    expect_same_bits(&l.yf, &c.yf, "y from the file");
    expect_same_bits(&c.Xf, &c.Xb, "X from the file (C locale)");
    ck_assert_uint_eq(l.written_len, c.written_len);
    ck_assert_str_eq(l.written, c.written);
    ck_assert_msg(strncmp(c.written, "1.5,-0.25,3.1415926535897931,1\n", 31) == 0, "%s",
                  c.written);

    if (_i == 2) {
        uselocale(LC_GLOBAL_LOCALE);
        freelocale(thread_loc);
    }
    ck_assert_ptr_nonnull(setlocale(LC_ALL, "C"));
    csv_run_free(&c);
    csv_run_free(&l);
    remove_tmpdir();
}
END_TEST

/* test_csv --locale: only the decimal-comma tests; exit 77 (SKIP) without
 * such a locale. */
static int run_locale_suite(void)
{
    const char *name = comma_locale();
    if (name == NULL) {
        printf("SKIP: no locale with a decimal comma is installed (tried de_DE, fr_FR, "
               "nl_NL, ru_RU; tools/install-deps.sh generates de_DE.UTF-8)\n");
        return 77;
    }
    printf("decimal-comma locale: %s\n", name);
    Suite *s = suite_create("csv-locale");
    TCase *tc = tcase_create("decimal comma");
    tcase_add_loop_test(tc, read_write_under_decimal_comma, 0, 3);
    suite_add_tcase(s, tc);
    return test_run(s);
}

/* ---- the CSV files scikit-learn ships (run with --sklearn) ----------------- */

/* Where python3-sklearn keeps them; SOMA_SKLEARN_DATA overrides. */
static const char *sklearn_dir(void)
{
    const char *d = getenv("SOMA_SKLEARN_DATA");
    return d != NULL ? d : "/usr/lib/python3/dist-packages/sklearn/datasets/data";
}

static void sklearn_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", sklearn_dir(), name);
}

/* Line `which` (1-based) of a text file, without its line end. */
static void read_line(const char *path, size_t which, char *out, size_t size)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < which; i++)
        ck_assert_ptr_nonnull(fgets(out, (int)size, f));
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
}

/* The values of a line of numbers, split here with strtod (an independent
 * reading to compare the reader's with). */
static size_t split_numbers(const char *line, double *v, size_t cap)
{
    size_t n = 0;
    const char *s = line;
    for (;;) {
        char *end;
        ck_assert_uint_lt(n, cap);
        v[n++] = strtod(s, &end);
        ck_assert_ptr_ne(end, s);
        if (*end != ',')
            break;
        s = end + 1;
    }
    return n;
}

/* One of iris.csv, breast_cancer.csv, wine_data.csv: a metadata line
 * "n,d,name_0,...,name_(k-1)", then n records of d numbers and an integer
 * label, no header. Read with skip_lines = 1 and nothing else; compared
 * with the metadata line, the first and last data lines read with strtod,
 * and the class sizes scikit-learn documents. */
static void check_sklearn_file(const char *name, const size_t *class_sizes)
{
    char path[512], meta[256], line[4096];
    sklearn_path(path, sizeof path, name);
    read_line(path, 1, meta, sizeof meta);
    char *end;
    const size_t n = strtoul(meta, &end, 10);
    ck_assert_int_eq(*end, ',');
    const size_t d = strtoul(end + 1, &end, 10);
    size_t k = 0;
    for (const char *c = end; *c != '\0'; c++)
        k += *c == ',';

    soma_csv_options o = soma_csv_defaults();
    o.skip_lines = 1;
    soma_matrix X, y;
    soma_csv_info info;
    soma_error_info err;
    soma_status st = soma_csv_read_file(path, &o, &X, &y, &info, NULL, &err);
    ck_assert_msg(st == SOMA_OK, "%s: line %zu: %s", name, err.line, err.message);
    ck_assert(!info.has_header);
    ck_assert_uint_eq(info.rows, n);
    ck_assert_uint_eq(X.rows, n);
    ck_assert_uint_eq(X.cols, d);
    ck_assert_uint_eq(info.classes, k);
    ck_assert(!info.text_labels);

    double v[64];
    const size_t rows[2] = {0, n - 1};
    for (int r = 0; r < 2; r++) {
        read_line(path, rows[r] + 2, line, sizeof line);
        ck_assert_uint_eq(split_numbers(line, v, 64), d + 1);
        for (size_t j = 0; j < d; j++)
            ck_assert_double_eq(X.data[rows[r] * d + j], v[j]);
        ck_assert_double_eq(y.data[rows[r]], v[d]);
    }
    size_t count[8] = {0};
    for (size_t i = 0; i < n; i++)
        count[(size_t)y.data[i]]++;
    for (size_t c = 0; c < k; c++)
        ck_assert_uint_eq(count[c], class_sizes[c]);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}

START_TEST(sklearn_iris)
{
    const size_t sizes[3] = {50, 50, 50};
    check_sklearn_file("iris.csv", sizes);
}
END_TEST

START_TEST(sklearn_breast_cancer)
{
    const size_t sizes[2] = {212, 357};
    check_sklearn_file("breast_cancer.csv", sizes);
    /* With the defaults the metadata line is the first record, and the
     * message says what to set. */
    char path[512];
    sklearn_path(path, sizeof path, "breast_cancer.csv");
    soma_matrix X = {0}, y = {0};
    soma_error_info err;
    ck_assert_int_eq(soma_csv_read_file(path, NULL, &X, &y, NULL, NULL, &err),
                     SOMA_EFORMAT);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 5);
    ck_assert_ptr_nonnull(strstr(err.message, "set skip_lines to 1"));
}
END_TEST

START_TEST(sklearn_wine)
{
    const size_t sizes[3] = {59, 71, 48};
    check_sklearn_file("wine_data.csv", sizes);
}
END_TEST

/* digits.csv.gz: gzip, no metadata line, no header, 64 pixels and the digit;
 * read with the defaults when the build reads gzip. */
START_TEST(sklearn_digits)
{
    char path[512];
    sklearn_path(path, sizeof path, "digits.csv.gz");
    soma_matrix X, y;
    soma_csv_info info;
    soma_error_info err;
    soma_status st = soma_csv_read_file(path, NULL, &X, &y, &info, NULL, &err);
    ck_assert_msg(st == SOMA_OK, "line %zu: %s", err.line, err.message);
    ck_assert(!info.has_header);
    ck_assert_uint_eq(info.rows, 1797);
    ck_assert_uint_eq(X.cols, 64);
    ck_assert_uint_eq(info.classes, 10);
    /* The first image (a 0), as the file's first line holds it. */
    const double first[16] = {0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0};
    for (size_t j = 0; j < 16; j++)
        ck_assert_double_eq(X.data[j], first[j]);
    ck_assert_double_eq(y.data[0], 0);
    const size_t sizes[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};
    size_t count[10] = {0};
    for (size_t i = 0; i < 1797; i++)
        count[(size_t)y.data[i]]++;
    for (size_t c = 0; c < 10; c++)
        ck_assert_uint_eq(count[c], sizes[c]);
    soma_matrix_free(&X);
    soma_matrix_free(&y);
}
END_TEST

/* --sklearn and --sklearn-gzip: exit 77 (skip) when the files are absent,
 * or, for digits.csv.gz, when this build refuses gzip input. */
static int run_sklearn(bool gzip)
{
    char path[512];
    sklearn_path(path, sizeof path, gzip ? "digits.csv.gz" : "iris.csv");
    if (access(path, R_OK) != 0) {
        printf("SKIP: %s not found (install python3-sklearn, or set "
               "SOMA_SKLEARN_DATA)\n",
               path);
        return 77;
    }
    if (gzip) {
        soma_matrix X = {0}, y = {0};
        soma_error_info err;
        soma_status st = soma_csv_read_file(path, NULL, &X, &y, NULL, NULL, &err);
        if (st == SOMA_ENOTSUP) {
            printf("SKIP: this build does not read gzip: %s\n", err.message);
            return 77;
        }
        if (st == SOMA_OK) {
            soma_matrix_free(&X);
            soma_matrix_free(&y);
        }
    }
    Suite *s = suite_create("csv-sklearn");
    TCase *tc = tcase_create("sklearn");
    if (gzip) {
        tcase_add_test(tc, sklearn_digits);
    } else {
        tcase_add_test(tc, sklearn_iris);
        tcase_add_test(tc, sklearn_breast_cancer);
        tcase_add_test(tc, sklearn_wine);
    }
    suite_add_tcase(s, tc);
    return test_run(s);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--locale") == 0)
        return run_locale_suite();
    if (argc == 2 && strcmp(argv[1], "--sklearn") == 0)
        return run_sklearn(false);
    if (argc == 2 && strcmp(argv[1], "--sklearn-gzip") == 0)
        return run_sklearn(true);
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
    TCase *come = tcase_create("as they come");
    tcase_add_test(come, as_they_come_errors);
    tcase_add_test(come, skip_lines_and_comments);
    tcase_add_test(come, skip_and_comment_across_blocks);
    tcase_add_test(come, text_labels_iris_like);
    tcase_add_test(come, text_labels_order_and_columns);
    tcase_add_test(come, text_labels_many_classes);
    tcase_add_test(come, class_count_numeric_labels);
    tcase_add_test(come, gzip_file);
    suite_add_tcase(s, come);
    TCase *files = tcase_create("files");
    tcase_set_timeout(files, 60);
    tcase_add_test(files, write_read_round_trip);
    tcase_add_test(files, write_errors);
    tcase_add_test(files, file_blocks_equal_buffer);
    tcase_add_test(files, million_rows);
    suite_add_tcase(s, files);
    return test_run(s);
}
