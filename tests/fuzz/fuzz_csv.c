/* Fuzz target: the CSV reader on a memory buffer.
 *
 * Input: byte 0 = options, byte 1 = label column index, byte 2 = the
 * allocation to fail (0: none), then, when bit 7 of byte 0 is set, byte 3
 * = more options, then the CSV text.
 *   byte 0 bits 0-1: delimiter ',' ';' '\t' ' '
 *         bits 2-3: header auto, yes, no, auto
 *         bits 4-5: label last, index (byte 1 % 8), name "label", none
 *         bit 6:    allow_nonfinite
 *         bit 7:    byte 3 follows
 *   byte 3 bits 0-1: skip_lines 0-3
 *         bits 2-3: comment none, '#', ';', '%'
 *         bits 4-5: label type numeric, text, auto, numeric
 *         bit 6:    sort_classes
 *
 * Checks: the status is one the reader documents for these options (the
 * invalid combinations give SOMA_EINVAL); on error X, y and info are
 * untouched and err points inside the input; on success the shapes agree
 * with info, y holds one value per row and every value is finite unless
 * allow_nonfinite; text labels are class ids 0..k-1 numbered as documented
 * (first appearance, or names in increasing byte order), numeric labels
 * have the class count the reader reports; nothing leaks either way. */
#include <math.h>

#include "fuzz_common.h"

/* Text labels: k >= 1 names, non-empty, without NUL, all different; y
 * holds ids 0..k-1, each used; ids numbered by first appearance, or the
 * names in increasing byte order with sort_classes. */
static void check_text_labels(const soma_csv_options *o, const soma_matrix *y,
                              const soma_csv_info *info)
{
    const size_t k = info->classes;
    FUZZ_CHECK(o->label_type != SOMA_CSV_LABELS_NUMERIC);
    FUZZ_CHECK(info->label_column != SIZE_MAX);
    FUZZ_CHECK(k >= 1 && k <= info->rows);
    FUZZ_CHECK(info->class_names != NULL && info->class_names_size > 0);
    for (size_t c = 0; c < k; c++) {
        FUZZ_CHECK(info->class_names[c] != NULL && info->class_names[c][0] != '\0');
        if (c > 0 && o->sort_classes)
            FUZZ_CHECK(strcmp(info->class_names[c - 1], info->class_names[c]) < 0);
        for (size_t e = 0; e < c && !o->sort_classes; e++)
            FUZZ_CHECK(strcmp(info->class_names[e], info->class_names[c]) != 0);
    }
    size_t next = 0; /* first appearance: each new id is the next one */
    bool *used = calloc(k, sizeof *used);
    FUZZ_CHECK(used != NULL);
    for (size_t i = 0; i < y->rows; i++) {
        const double v = y->data[i];
        FUZZ_CHECK(v >= 0 && v < (double)k && v == floor(v));
        const size_t id = (size_t)v;
        if (!o->sort_classes && !used[id])
            FUZZ_CHECK(id == next++);
        used[id] = true;
    }
    for (size_t c = 0; c < k; c++)
        FUZZ_CHECK(used[c]);
    free(used);
}

/* Numeric labels: 1 + the largest when all are whole numbers in [0, 2^53),
 * else 0; 0 without labels; no names. */
static void check_numeric_classes(const soma_matrix *y, const soma_csv_info *info)
{
    FUZZ_CHECK(info->class_names == NULL && info->class_names_size == 0);
    size_t k = 0;
    for (size_t i = 0; y != NULL && i < y->rows; i++) {
        const double v = y->data[i];
        if (!(v >= 0 && v < 9007199254740992.0 && v == floor(v))) {
            k = 0;
            break;
        }
        if ((size_t)v + 1 > k)
            k = (size_t)v + 1;
    }
    FUZZ_CHECK(info->classes == k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    const uint8_t opt_bits = fuzz_byte(&in), label_index = fuzz_byte(&in);
    const uint8_t fail_at = fuzz_byte(&in);
    const uint8_t more_bits = (opt_bits & 0x80) != 0 ? fuzz_byte(&in) : 0;
    const char *text = (const char *)in.p;
    const size_t len = in.n;

    static const char delims[4] = {',', ';', '\t', ' '};
    static const soma_csv_header headers[4] = {SOMA_CSV_HEADER_AUTO, SOMA_CSV_HEADER_YES,
                                               SOMA_CSV_HEADER_NO, SOMA_CSV_HEADER_AUTO};
    soma_csv_options o = soma_csv_defaults();
    o.delimiter = delims[opt_bits & 3];
    o.header = headers[(opt_bits >> 2) & 3];
    o.label = (soma_csv_label)((opt_bits >> 4) & 3);
    o.label_index = label_index % 8;
    o.label_name = "label";
    o.allow_nonfinite = (opt_bits >> 6) & 1;
    static const char comments[4] = {'\0', '#', ';', '%'};
    static const soma_csv_label_type types[4] = {
        SOMA_CSV_LABELS_NUMERIC, SOMA_CSV_LABELS_TEXT, SOMA_CSV_LABELS_AUTO,
        SOMA_CSV_LABELS_NUMERIC};
    o.skip_lines = more_bits & 3;
    o.comment = comments[(more_bits >> 2) & 3];
    o.label_type = types[(more_bits >> 4) & 3];
    o.sort_classes = (more_bits >> 6) & 1;

    fuzz_alloc t;
    soma_allocator a = fuzz_allocator(&t, fail_at);
    soma_matrix X, y, X0, y0;
    soma_csv_info info, info0;
    soma_error_info err;
    memset(&X, 0x5A, sizeof X);
    memset(&y, 0x5A, sizeof y);
    memset(&info, 0x5A, sizeof info);
    X0 = X;
    y0 = y;
    info0 = info;
    memset(&err, 0x5A, sizeof err); /* a call that fails must write it */

    /* The text may be empty: pass NULL then, as the API allows. */
    const soma_status st =
        soma_csv_read_buffer(len > 0 ? text : NULL, len, &o, &X, &y, &info, &a, &err);
    const bool invalid_options =
        (o.label == SOMA_CSV_LABEL_NAME && o.header == SOMA_CSV_HEADER_NO) ||
        (o.comment != '\0' && o.comment == o.delimiter) ||
        (o.label_type != SOMA_CSV_LABELS_NUMERIC && o.label == SOMA_CSV_LABEL_NONE) ||
        (o.sort_classes && o.label_type == SOMA_CSV_LABELS_NUMERIC);

    if (st != SOMA_OK) {
        FUZZ_CHECK(memcmp(&X, &X0, sizeof X) == 0);
        FUZZ_CHECK(memcmp(&y, &y0, sizeof y) == 0);
        FUZZ_CHECK(memcmp(&info, &info0, sizeof info) == 0);
        FUZZ_CHECK(t.live == 0);
        if (invalid_options) {
            FUZZ_CHECK(st == SOMA_EINVAL);
            FUZZ_CHECK(strncmp(err.message, "option ", 7) == 0);
            FUZZ_CHECK(strncmp(err.argument, "opt.", 4) == 0);
            return 0;
        }
        FUZZ_CHECK(st == SOMA_EFORMAT || st == SOMA_ENONFINITE ||
                   (st == SOMA_ENOMEM && fail_at != 0));
        if (st == SOMA_ENONFINITE)
            FUZZ_CHECK(!o.allow_nonfinite);
        if (st != SOMA_ENOMEM) {
            /* Where: inside the input (or at its end), with a message. */
            FUZZ_CHECK(err.offset <= len);
            FUZZ_CHECK(err.line >= 1);
            FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
            FUZZ_CHECK(err.message[0] != '\0');
            FUZZ_CHECK(err.argument[0] == '\0'); /* the content is at fault */
        }
        return 0;
    }

    FUZZ_CHECK(!invalid_options);
    FUZZ_CHECK(info.rows >= 1 && info.fields >= 1);
    const bool has_label = o.label != SOMA_CSV_LABEL_NONE;
    FUZZ_CHECK(X.rows == info.rows);
    FUZZ_CHECK(X.cols == info.fields - (has_label ? 1 : 0));
    FUZZ_CHECK(X.ld == X.cols);
    if (has_label) {
        FUZZ_CHECK(info.label_column < info.fields);
        FUZZ_CHECK(y.rows == info.rows && y.cols == 1);
        if (o.label == SOMA_CSV_LABEL_INDEX)
            FUZZ_CHECK(info.label_column == o.label_index);
        if (o.label == SOMA_CSV_LABEL_LAST)
            FUZZ_CHECK(info.label_column == info.fields - 1);
        if (o.label == SOMA_CSV_LABEL_NAME)
            FUZZ_CHECK(info.has_header);
    } else {
        FUZZ_CHECK(info.label_column == SIZE_MAX);
        FUZZ_CHECK(memcmp(&y, &y0, sizeof y) == 0);
    }
    if (o.header == SOMA_CSV_HEADER_YES)
        FUZZ_CHECK(info.has_header);
    if (o.header == SOMA_CSV_HEADER_NO)
        FUZZ_CHECK(!info.has_header);
    if (!o.allow_nonfinite) {
        FUZZ_CHECK(soma_matrix_check_finite(&X) == SOMA_OK);
        if (has_label)
            FUZZ_CHECK(soma_matrix_check_finite(&y) == SOMA_OK);
    }
    if (info.text_labels)
        check_text_labels(&o, &y, &info);
    else
        check_numeric_classes(has_label ? &y : NULL, &info);
    soma_csv_info_free(&info);
    FUZZ_CHECK(info.class_names == NULL);
    /* Every byte of a data record is at least a delimiter or a digit: the
     * values cannot outnumber the bytes. */
    FUZZ_CHECK(info.rows <= len && info.fields <= len + 1);
    soma_matrix_free(&X);
    if (has_label)
        soma_matrix_free(&y);
    FUZZ_CHECK(t.live == 0);
    return 0;
}
