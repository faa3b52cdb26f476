/* clang-format off */
/**
 * @file io.h
 * @brief Files: numeric CSV in and out, IDX in (MNIST and its family); both
 * readers take gzip-compressed files as well. (Model files are in model.h.)
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
 *   swallowed as a header). With text labels (label_type TEXT or AUTO) and
 *   the label column given by position (LAST or INDEX), only the non-label
 *   fields are looked at, so a first data record whose one word is its
 *   class name is data ("5.1,3.5,1.4,0.2,Iris-setosa"); a file whose
 *   header names every feature with a number, or that has no feature
 *   column, then needs SOMA_CSV_HEADER_YES. At least one data record must
 *   follow.
 *
 * ## Lines skipped and comments
 * - `skip_lines` = k drops the first k physical lines before anything is
 *   parsed: a physical line is every byte up to and including the next LF
 *   (quotes, CR and any other byte in them mean nothing; a BOM at the very
 *   start is still recognised). Use it for a preamble or a metadata line
 *   such as scikit-learn's "569,30,malignant,benign".
 * - `comment` = c ignores every line whose first byte other than spaces and
 *   tabs (unless one of them is the delimiter) is c, up to and including
 *   its LF, also between the header and the data. Only whole lines: a c
 *   after a field is data, and a c inside a quoted field that spans lines
 *   is data too.
 * - Skipped and comment lines still count: every line and offset reported
 *   (errors, as in the table below) is that of the file as it is.
 *
 * ## Text labels
 * With label_type SOMA_CSV_LABELS_TEXT every label field (unquoted and
 * trimmed like the other fields) is a class name, compared byte for byte
 * ("1" is a name too); y receives class ids 0..k-1 as doubles, numbered in
 * order of first appearance in the file, or in byte-wise (memcmp, then
 * shorter first) order of the names with `sort_classes`. The names come
 * back in soma_csv_info::class_names (release with soma_csv_info_free).
 * SOMA_CSV_LABELS_AUTO decides once, on the label field of the first data
 * record: text when it is not a number (nan and inf words count as
 * numbers), numeric otherwise; a later label that is not a number is then
 * an error whose message suggests SOMA_CSV_LABELS_TEXT. soma_csv_info says
 * which was chosen (`text_labels`) and the class count k in both cases.
 *
 * ## Hints in messages
 * - A record with another field count than the first, or a field that is
 *   not a number and holds ';', tab, '|' or ',', gets "did you mean
 *   delimiter ';'?" when that byte (not the delimiter) occurs outside quotes
 *   the same number of times, at least once, in each of the first eight
 *   records that are complete when the error is found, and at least once
 *   in the record at fault (as many times when it is complete); the most
 *   frequent such byte is named.
 * - A field-count error in the second record of the table (the first data
 *   record after a header, or the second data record) without such a
 *   delimiter suggests skip_lines: the first record may be a metadata line.
 * - A label that is not a number, with numeric labels, suggests label_type.
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
 * | input ends within the skip_lines lines | EFORMAT | line where the input ends, 0 |
 * | label not a number (numeric labels) | EFORMAT | the field |
 * | empty text label | EFORMAT | the field |
 * | text label holding a NUL byte | EFORMAT | the field |
 * | gzip input in a build without zlib (soma_csv_read_file) | ENOTSUP | 0, 0 |
 * | corrupt or truncated gzip stream (soma_csv_read_file) | EFORMAT | 0, 0 (offset: compressed) |
 *
 * For these `argument` is "" (the content, not an argument, is at fault).
 * File errors (open, read, write) return SOMA_EIO with line 0, `argument`
 * "path" and the system's reason (strerror). Invalid arguments and options
 * return SOMA_EINVAL with line, column and offset 0, `argument` naming the
 * argument or option field ("X", "text", "opt.comment", ...) and a message
 * saying why it is refused. SOMA_ENOMEM and SOMA_EOVERFLOW say what could
 * not be allocated.
 *
 * ## Compressed files
 * soma_csv_read_file and the IDX readers inflate their input when it starts
 * with the gzip magic bytes 1f 8b, whatever the file's name (several
 * concatenated gzip members read as one stream, as gunzip reads them). The
 * offsets of content errors then count decompressed bytes; a corrupt or
 * truncated gzip stream is SOMA_EFORMAT with the offset in the compressed
 * file near which zlib stopped, and zlib's message. Builds without zlib
 * (meson -Dzlib=disabled, or zlib not found) return SOMA_ENOTSUP for gzip
 * input, with a message saying to gunzip the file first. zlib's memory comes
 * from the caller's allocator too.
 *
 * ## Memory
 * The reader's buffers (the current field, the first record, the growing
 * table of values, the 64 KiB file block, with text labels a table of the
 * distinct names) and the returned X, y and class names come from the
 * caller's allocator; the table is copied once into X and y at the end, so
 * peak memory is about twice the values' size. The C library's own
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

/** @brief What the label column holds (see "Text labels" in the file comment). */
typedef enum soma_csv_label_type {
    SOMA_CSV_LABELS_NUMERIC = 0, /**< numbers, read like every field (default) */
    SOMA_CSV_LABELS_TEXT,        /**< class names, mapped to ids 0..k-1 */
    SOMA_CSV_LABELS_AUTO,        /**< text when the label field of the first data
                                      record is not a number, else numeric */
    SOMA_CSV_LABELS_COUNT        /**< number of types; not one */
} soma_csv_label_type;

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
    size_t skip_lines;      /**< physical lines dropped unread before parsing
                                 (default 0); positions still count them */
    char comment;           /**< a line whose first byte other than spaces
                                 and tabs is this one is ignored; '\0' (default)
                                 for none. Not the delimiter, '"', CR, LF,
                                 space, tab, or a byte that starts a number
                                 (digits, + - .) */
    /** default SOMA_CSV_LABELS_NUMERIC; the others need a label column */
    soma_csv_label_type label_type;
    bool sort_classes; /**< text labels: class ids in byte-wise order of
                            the names instead of order of first
                            appearance (default false); needs
                            label_type TEXT or AUTO */
} soma_csv_options;

/** @brief ',' delimiter, header auto, label = last column and numeric,
 * finite only, no lines skipped, no comments. */
SOMA_API soma_csv_options soma_csv_defaults(void);

/**
 * @brief What the reader found (optional output).
 *
 * With text labels it owns the class names: release them with
 * soma_csv_info_free(). A successful read overwrites every field without
 * freeing what the struct held; a failed read leaves it untouched.
 */
typedef struct soma_csv_info {
    size_t rows;         /**< data records read (rows of X) */
    size_t fields;       /**< fields per record */
    bool has_header;     /**< whether the first record was a header */
    size_t label_column; /**< 0-based column of y, or SIZE_MAX for none */
    bool text_labels;    /**< whether the labels were read as class names */
    size_t classes;      /**< class count k: text labels: the distinct names;
                              numeric labels: 1 + the largest label when every
                              label is a whole number in [0, 2^53) (as
                              soma_one_hot infers it), else 0; 0 without a
                              label column */
    /** text labels: k NUL-terminated names, class_names[i] the name of class
     *  id i; NULL otherwise */
    const char *const *class_names;
    size_t class_names_size; /**< bytes of the block holding class_names */
    soma_allocator alloc;    /**< allocator of that block */
} soma_csv_info;

/**
 * @brief Release the class names an info holds and set `class_names` to NULL
 * and `class_names_size` to 0 (the other fields stay as they were).
 *
 * Accepts NULL, a zeroed struct, a struct already freed, and the info of a
 * read with numeric labels (nothing to release).
 */
SOMA_API void soma_csv_info_free(soma_csv_info *info);

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
 * @param info   NULL, or receives what was found (written on success only;
 *               with text labels it then owns the class names: call
 *               soma_csv_info_free)
 * @param alloc  allocator for X, y, the class names and the parser's
 *               buffers, or NULL
 * @param err    NULL, or receives where and why parsing failed (written on
 *               error only)
 * @return SOMA_OK; SOMA_EINVAL for NULL X, NULL y when a label is read,
 *         NULL text with len > 0, or invalid options (among them: comment
 *         equal to the delimiter or able to start a field, label_type out
 *         of range or not NUMERIC without a label column, sort_classes with
 *         numeric labels); SOMA_EFORMAT and SOMA_ENONFINITE as tabulated in
 *         the file comment; SOMA_EOVERFLOW, SOMA_ENOMEM. On error X, y and
 *         info are untouched.
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
 * the values, not of the text). A gzip file is inflated while it is read
 * (see "Compressed files" above).
 * @return as soma_csv_read_buffer, plus SOMA_EINVAL for a NULL path,
 *         SOMA_EIO when the file cannot be opened or read, SOMA_EFORMAT for
 *         a corrupt gzip stream and SOMA_ENOTSUP for gzip input in a build
 *         without zlib.
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

/* ------------------------------------------------------------------------ */
/* clang-format off */
/**
 * @name IDX files (MNIST, Fashion-MNIST, EMNIST, ...)
 *
 * An IDX file is a 4-byte magic number, then one 4-byte size per
 * dimension, then the values, every number big-endian:
 *
 * | bytes | content |
 * |---|---|
 * | 0, 1 | 0x00 0x00 |
 * | 2 | element type: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64 (soma_idx_type) |
 * | 3 | number of dimensions D, 1 to 255 |
 * | 4 .. 4 + 4D | the sizes d0, ..., d(D-1), unsigned 32-bit |
 * | 4 + 4D .. | d0 x ... x d(D-1) values, the last dimension varying fastest |
 *
 * The reader turns them into a matrix with d0 rows (the items) and
 * d1 x ... x d(D-1) columns (1 when D == 1), each item's values in file
 * order: 60000 images of 28 x 28 become 60000 x 784, a label file of 60000
 * bytes becomes 60000 x 1. Every value is converted to double exactly, then
 * divided by `divisor`.
 *
 * Before it allocates the matrix, the reader checks the sizes against the
 * bytes present: the length of a plain file (or buffer) must be exactly
 * the header's 4 + 4D bytes plus the values' bytes; a gzip file is inflated
 * into a buffer that grows as data arrives, never beyond what the header
 * declares, so a small file with a huge header fails without a huge
 * allocation. Peak memory: the matrix, plus for gzip input the raw values
 * (one byte per value for Fashion-MNIST: 47 MB beside the 376 MB matrix).
 *
 * Errors, all with `err->offset` (0-based, in the decompressed bytes for
 * gzip input; line and column are 0) and a message:
 *
 * | problem | status | offset |
 * |---|---|---|
 * | input shorter than the 4-byte magic | EFORMAT | end of the input |
 * | first two bytes not zero | EFORMAT | the first non-zero one |
 * | unknown element type | EFORMAT | 2 |
 * | zero dimensions | EFORMAT | 3 |
 * | input ends inside the sizes | EFORMAT | end of the input |
 * | a size of 0 (no values) | EFORMAT | that size (4 + 4k) |
 * | sizes whose product (or byte count) overflows size_t | EFORMAT | the size where it overflows |
 * | fewer value bytes than declared (truncated) | EFORMAT | end of the input |
 * | more bytes than declared | EFORMAT | the first extra byte |
 * | NaN or infinity (float types, or after the division) | ENONFINITE | the value's first byte |
 * | corrupt or truncated gzip stream | EFORMAT | in the compressed file, near where zlib stopped |
 * | gzip input, build without zlib | ENOTSUP | 0 |
 * | file cannot be opened or read | EIO | 0, or where reading failed |
 *
 * soma_idx_read_pair adds two checks (labels with more than one column,
 * item counts that differ) and says which file is at fault: `err->argument`
 * is "images_path" or "labels_path", and the message starts with it.
 *
 * Argument errors (SOMA_EINVAL) name the argument in `err->argument` ("X",
 * "data", "path", "opt.divisor", ...); SOMA_ENOMEM fills err too.
 * @{
 */
/* clang-format on */

/** @brief Element types of IDX files (byte 2 of the file). */
typedef enum soma_idx_type {
    SOMA_IDX_U8 = 0x08,  /**< unsigned byte */
    SOMA_IDX_I8 = 0x09,  /**< signed byte */
    SOMA_IDX_I16 = 0x0B, /**< 16-bit two's complement, big-endian */
    SOMA_IDX_I32 = 0x0C, /**< 32-bit two's complement, big-endian */
    SOMA_IDX_F32 = 0x0D, /**< IEEE 754 binary32, big-endian */
    SOMA_IDX_F64 = 0x0E  /**< IEEE 754 binary64, big-endian */
} soma_idx_type;

/** @brief The most dimensions an IDX file can have (byte 3 is a count). */
#define SOMA_IDX_MAX_DIMS 255

/** @brief Reader options; start from soma_idx_defaults(). */
typedef struct soma_idx_options {
    double divisor;       /**< every value is divided by it: 1 (default) keeps
                               the values, 255 maps bytes to [0, 1] (the same
                               doubles as NumPy's `x / 255.0`); finite, not 0 */
    bool allow_nonfinite; /**< accept NaN and infinity (default false) */
} soma_idx_options;

/** @brief Divisor 1 (values as stored), finite values only. */
SOMA_API soma_idx_options soma_idx_defaults(void);

/** @brief What the IDX reader found (optional output). */
typedef struct soma_idx_info {
    soma_idx_type type;             /**< element type */
    size_t n_dims;                  /**< D, 1 to SOMA_IDX_MAX_DIMS */
    size_t dims[SOMA_IDX_MAX_DIMS]; /**< d0 .. d(D-1); the rest 0 */
    size_t rows;                    /**< d0: rows of the matrix */
    size_t cols;                    /**< d1 x ... x d(D-1) (1 when D == 1) */
    size_t header_bytes;            /**< 4 + 4D: where the values start */
    bool gzip;                      /**< the input was gzip-compressed */
} soma_idx_info;

/**
 * @brief Read IDX bytes in memory (plain, or gzip when they start with
 * 1f 8b) into X.
 *
 * @param data   the bytes; may be NULL when len == 0
 * @param len    number of bytes
 * @param opt    options, or NULL for soma_idx_defaults()
 * @param X      receives the d0 x (d1 ... d(D-1)) matrix (owned; must not
 *               own memory on entry)
 * @param info   NULL, or receives what was found (written on success only)
 * @param alloc  allocator for X and the reader's buffers (zlib's included),
 *               or NULL
 * @param err    NULL, or receives where and why reading failed (written on
 *               error only)
 * @return SOMA_OK; SOMA_EINVAL for NULL X, NULL data with len > 0, a divisor
 *         that is 0 or not finite, or an allocator without both functions;
 *         SOMA_EFORMAT, SOMA_ENONFINITE and SOMA_ENOTSUP as tabulated
 *         above; SOMA_ENOMEM. On error X and info are untouched.
 */
SOMA_API SOMA_NODISCARD soma_status soma_idx_read_buffer(
    const void *data, size_t len, const soma_idx_options *opt, soma_matrix *X,
    soma_idx_info *info, const soma_allocator *alloc, soma_error_info *err);

/**
 * @brief Read the IDX file at `path` (plain, or gzip whatever its name) into
 * X; a plain file is read in 64 KiB blocks straight into X.
 * @return as soma_idx_read_buffer, plus SOMA_EINVAL for a NULL path and
 *         SOMA_EIO when the file cannot be opened or read (the message
 *         gives the system's reason).
 */
SOMA_API SOMA_NODISCARD soma_status soma_idx_read_file(
    const char *path, const soma_idx_options *opt, soma_matrix *X, soma_idx_info *info,
    const soma_allocator *alloc, soma_error_info *err);

/**
 * @brief Read an images file and its labels file (MNIST's
 * train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz) into X
 * (n x pixels) and y (n x 1).
 *
 * `opt` applies to the images; the labels are read as stored (divisor 1,
 * finite values only). The labels must have one column (a 1-dimensional
 * file, or sizes n x 1 x ...), and both files the same number of items n.
 * A k-output cross-entropy model trains on y as it is (integer labels,
 * see mlp.h); soma_one_hot makes one-hot targets when they are wanted.
 *
 * @param images_path  the images (or any features) file
 * @param labels_path  the labels file
 * @param opt          options for the images, or NULL for soma_idx_defaults()
 * @param X            receives the images (owned)
 * @param y            receives the labels, n x 1 (owned)
 * @param images_info  NULL, or receives what was found in the images file
 * @param labels_info  NULL, or receives what was found in the labels file
 * @param alloc        allocator, or NULL
 * @param err          NULL, or receives the error; its argument and the
 *                     start of its message are "images_path" or
 *                     "labels_path" for the errors of one file
 * @return as soma_idx_read_file, plus SOMA_EINVAL for NULL paths or y, and
 *         SOMA_EFORMAT when the labels have more than one column (offset 3)
 *         or the item counts differ (offset 4, in the labels file). On
 *         error nothing is written to X, y or the infos.
 */
SOMA_API SOMA_NODISCARD soma_status soma_idx_read_pair(
    const char *images_path, const char *labels_path, const soma_idx_options *opt,
    soma_matrix *X, soma_matrix *y, soma_idx_info *images_info,
    soma_idx_info *labels_info, const soma_allocator *alloc, soma_error_info *err);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* SOMA_IO_H */
