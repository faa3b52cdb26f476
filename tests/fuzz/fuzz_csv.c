/* Fuzz target: the CSV reader on a memory buffer.
 *
 * Input: byte 0 = options, byte 1 = label column index, byte 2 = the
 * allocation to fail (0: none), then the CSV text.
 *   byte 0 bits 0-1: delimiter ',' ';' '\t' ' '
 *         bits 2-3: header auto, yes, no, auto
 *         bits 4-5: label last, index (byte 1 % 8), name "label", none
 *         bit 6:    allow_nonfinite
 *
 * Checks: the status is one the reader documents for these options; on
 * error X, y and info are untouched and err points inside the input; on
 * success the shapes agree with info, y holds one value per row and every
 * value is finite unless allow_nonfinite; nothing leaks either way. */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    const uint8_t opt_bits = fuzz_byte(&in), label_index = fuzz_byte(&in);
    const uint8_t fail_at = fuzz_byte(&in);
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
    memset(&err, 0, sizeof err);

    /* The text may be empty: pass NULL then, as the API allows. */
    const soma_status st =
        soma_csv_read_buffer(len > 0 ? text : NULL, len, &o, &X, &y, &info, &a, &err);
    const bool name_without_header =
        o.label == SOMA_CSV_LABEL_NAME && o.header == SOMA_CSV_HEADER_NO;

    if (st != SOMA_OK) {
        FUZZ_CHECK(memcmp(&X, &X0, sizeof X) == 0);
        FUZZ_CHECK(memcmp(&y, &y0, sizeof y) == 0);
        FUZZ_CHECK(memcmp(&info, &info0, sizeof info) == 0);
        FUZZ_CHECK(t.live == 0);
        if (name_without_header) {
            FUZZ_CHECK(st == SOMA_EINVAL);
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
        }
        return 0;
    }

    FUZZ_CHECK(!name_without_header);
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
    /* Every byte of a data record is at least a delimiter or a digit: the
     * values cannot outnumber the bytes. */
    FUZZ_CHECK(info.rows <= len && info.fields <= len + 1);
    soma_matrix_free(&X);
    if (has_label)
        soma_matrix_free(&y);
    FUZZ_CHECK(t.live == 0);
    return 0;
}
