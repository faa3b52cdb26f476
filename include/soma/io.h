/* clang-format off */
/**
 * @file io.h
 * @brief Files: numeric CSV in and out. (Model files will join this header.)
 *
 * ## The CSV dialect read
 * - Input is bytes; an optional UTF-8 byte-order mark (EF BB BF) at the very
 *   start is skipped. Records end with LF or CR LF; the last record may lack
 *   one. A carriage return not followed by a line feed is an error outside
 *   quotes. Empty lines (nothing between two line ends, LF or CR LF) are
 *   skipped; a line holding only spaces is a record (and so an error).
 * - Fields are separated by one delimiter byte (default ','). Spaces and
 *   tabs around a field, and at both ends of a quoted field's content, are
 *   ignored, except the delimiter itself when it is a space or a tab. No
 *   limit on the length of a line or a field, nor on the number of fields.
 * - A field may be quoted with '"': inside, "" is a literal quote and
 *   delimiters and line ends are literal. Only spaces and tabs may stand
 *   between the closing quote and the next delimiter or line end. Quoted
 *   data fields must still hold numbers ("1.5" is read as 1.5).
 * - A number is [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?,
 *   always with '.' as the decimal point, whatever the C locale (see
 *   "Locale"). Hexadecimal floats, "1,5", "1e", "--1" and the like are not
 *   numbers. The words nan, inf, infinity (any case, optional sign) are
 *   read as NaN and +-infinity only with `allow_nonfinite`; otherwise they
 *   are SOMA_ENONFINITE. A number too large for a double ("1e999") is an
 *   error; one too small rounds to 0 or a subnormal, as strtod does.
 * - Every record must have as many fields as the first.
 * - Header: with SOMA_CSV_HEADER_AUTO, the first record is a header when
 *   one of its non-empty fields is not a number (nan and inf words count as
 *   numbers here, so a first data row holding NaN is reported, not
 *   swallowed as a header). At least one data record must follow.
 *
 * ## Errors
 * Every problem with the content returns SOMA_EFORMAT (or SOMA_ENONFINITE
 * for nan/inf text) and, when `err` is not NULL, fills it:
 * - `line`: 1-based physical line where the offending field starts (for a
 *   missing field: the line where its record ends);
 * - `column`: 1-based index of the field in its record (for a record with
 *   too few fields: the first missing one; too many: the first extra one);
 *   0 when no single field is at fault;
 * - `offset`: 0-based byte offset (from the first byte of the input, BOM
 *   included) of the start of the offending field, of the line end where a
 *   field is missing, of the end of the input for the two "no data" cases,
 *   of the start of the first record for label-column problems;
 * - `message`: one English sentence, quoting (a prefix of) the field.
 *
 * | problem | status | line, column |
 * |---|---|---|
 * | empty input (no bytes, a BOM, only empty lines) | EFORMAT | line where the input ends, 0 |
 * | header but no data record | EFORMAT | line where the input ends, 0 |
 * | field not a number | EFORMAT | the field |
 * | empty field (",," or "" or spaces) | EFORMAT | the field |
 * | nan or inf text without allow_nonfinite | ENONFINITE | the field |
 * | number overflows a double | EFORMAT | the field |
 * | record with too many / too few fields | EFORMAT | first extra / first missing field |
 * | unterminated quote | EFORMAT | field with the opening quote |
 * | text after a closing quote | EFORMAT | that field |
 * | stray carriage return | EFORMAT | field holding it |
 * | label column index >= fields, name not in the header or in it twice | EFORMAT | line of the first record, 0 |
 * | label by name but the first record is data | EFORMAT | line of the first record, 0 |
 *
 * File errors (open, read, write) return SOMA_EIO with line 0.
 *
 * ## Memory
 * The reader's buffers (the current field, the first record, the growing
 * table of values, the 64 KiB file block) and the returned X and y come
 * from the caller's allocator; the table is copied once into X and y at the
 * end, so peak memory is about twice the values' size. The C library's own
 * allocations (FILE buffers, the "C" locale object) and the writer's
 * temporary file name do not go through a soma_allocator.
 *
 * ## Locale
 * Numbers are read and written with '.' whatever LC_NUMERIC says: where the
 * system has POSIX uselocale (glibc, musl, the BSDs, macOS), the calls
 * switch the *calling thread* to the "C" numeric locale and restore it
 * before returning; elsewhere they assume the "C" numeric locale.
 */
/* clang-format on */
#ifndef SOMA_IO_H
#define SOMA_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "matrix.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Whether the first CSV record is a header. */
typedef enum soma_csv_header {
    SOMA_CSV_HEADER_AUTO = 0, /**< header iff a non-empty field is not a number */
    SOMA_CSV_HEADER_YES,      /**< the first record is a header */
    SOMA_CSV_HEADER_NO,       /**< every record is data */
    SOMA_CSV_HEADER_COUNT     /**< number of modes; not one */
} soma_csv_header;

/** @brief Which CSV column holds the labels y. */
typedef enum soma_csv_label {
    SOMA_CSV_LABEL_LAST = 0, /**< the last column (default) */
    SOMA_CSV_LABEL_INDEX,    /**< column `label_index` (0-based) */
    SOMA_CSV_LABEL_NAME,     /**< the column whose header field is `label_name` */
    SOMA_CSV_LABEL_NONE,     /**< no label column: every column goes to X */
    SOMA_CSV_LABEL_COUNT     /**< number of modes; not one */
} soma_csv_label;

/** @brief Reader options; start from soma_csv_defaults(). */
typedef struct soma_csv_options {
    char delimiter;         /**< field separator (default ','); not '"', CR,
                                 LF, NUL, or a byte of a number
                                 (digits, + - . e E) */
    soma_csv_header header; /**< default SOMA_CSV_HEADER_AUTO */
    soma_csv_label label;   /**< default SOMA_CSV_LABEL_LAST */
    size_t label_index;     /**< with SOMA_CSV_LABEL_INDEX */
    const char *label_name; /**< with SOMA_CSV_LABEL_NAME: compared with the
                                 header field after unquoting and trimming */
    bool allow_nonfinite;   /**< accept nan / inf text (default false) */
} soma_csv_options;

/** @brief ',' delimiter, header auto, label = last column, finite only. */
SOMA_API soma_csv_options soma_csv_defaults(void);

/** @brief What the reader found (optional output). */
typedef struct soma_csv_info {
    size_t rows;         /**< data records read (rows of X) */
    size_t fields;       /**< fields per record */
    bool has_header;     /**< whether the first record was a header */
    size_t label_column; /**< 0-based column of y, or SIZE_MAX for none */
} soma_csv_info;

/**
 * @brief Parse CSV text in memory into X and y.
 *
 * X receives the n x (f - 1) non-label columns in file order (n x f with
 * SOMA_CSV_LABEL_NONE) and y the n x 1 label column, where n is the number of
 * data records and f the fields per record. Values are read exactly as
 * strtod reads them (correctly rounded).
 *
 * @param text   the bytes (need not be NUL-terminated; NUL bytes are data
 *               and so errors); may be NULL when len == 0
 * @param len    number of bytes
 * @param opt    options, or NULL for soma_csv_defaults()
 * @param X      receives X (owned; must not own memory on entry)
 * @param y      receives y (owned); with SOMA_CSV_LABEL_NONE it is not
 *               written and may be NULL
 * @param info   NULL, or receives what was found (written on success only)
 * @param alloc  allocator for X, y and the parser's buffers, or NULL
 * @param err    NULL, or receives where and why parsing failed (written on
 *               error only)
 * @return SOMA_OK; SOMA_EINVAL for NULL X, NULL y when a label is read,
 *         NULL text with len > 0, or invalid options; SOMA_EFORMAT and
 *         SOMA_ENONFINITE as tabulated in the file comment; SOMA_EOVERFLOW,
 *         SOMA_ENOMEM. On error X, y and info are untouched.
 */
SOMA_API SOMA_NODISCARD soma_status soma_csv_read_buffer(const char *text, size_t len,
                                                         const soma_csv_options *opt,
                                                         soma_matrix *X, soma_matrix *y,
                                                         soma_csv_info *info,
                                                         const soma_allocator *alloc,
                                                         soma_error_info *err);

/**
 * @brief Read the CSV file at `path` (streamed in 64 KiB blocks through
 * the same parser as soma_csv_read_buffer, so memory is about the size of
 * the values, not of the text).
 * @return as soma_csv_read_buffer, plus SOMA_EINVAL for a NULL path and
 *         SOMA_EIO when the file cannot be opened or read.
 */
SOMA_API SOMA_NODISCARD soma_status soma_csv_read_file(
    const char *path, const soma_csv_options *opt, soma_matrix *X, soma_matrix *y,
    soma_csv_info *info, const soma_allocator *alloc, soma_error_info *err);

/**
 * @brief Write X (and y as a last column) to `path` as CSV.
 *
 * Format: ',' between fields, LF after every record; an optional header
 * record from `names`; every value printed with "%.17g" in the "C" numeric
 * locale, so soma_csv_read_* gives back the same doubles bit for bit
 * (NaN and infinity print as nan, inf, -inf and read back with
 * allow_nonfinite). Header names are quoted when they contain a comma, a
 * quote, CR, LF, or leading or trailing spaces or tabs, quotes doubled.
 *
 * The file is replaced atomically: the text goes to a temporary file in the
 * same directory, is flushed and fsync'ed, then renamed over `path`, so a
 * failure leaves any previous file as it was.
 *
 * @param path   destination
 * @param X      n x d values
 * @param y      n x 1 labels appended as the last column, or NULL
 * @param names  NULL for no header, or d (+ 1 when y is given) non-NULL
 *               column names
 * @return SOMA_OK; SOMA_EINVAL for a NULL path, invalid matrices, a table
 *         without columns (X n x 0 and no y), a NULL name, or y not n x 1;
 *         SOMA_EDIM when y and X differ in rows; SOMA_EIO when the file
 *         cannot be written (an existing file at path is then unchanged).
 */
SOMA_API SOMA_NODISCARD soma_status soma_csv_write(const char *path, const soma_matrix *X,
                                                   const soma_matrix *y,
                                                   const char *const *names,
                                                   soma_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_IO_H */
