/* CSV in and out (io.h): a byte-at-a-time state machine fed by a buffer or
 * by 64 KiB blocks of a file, and an atomic writer. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "internal.h"

#define CHUNK (64 * 1024)

/* ---- error reports ----------------------------------------------------- */

static soma_status report(soma_error_info *err, soma_status st, size_t line, size_t col,
                          size_t off, const char *fmt, ...)
{
    if (err != NULL) {
        err->line = line;
        err->column = col;
        err->offset = off;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* At most 40 bytes of a field for a message, unprintable bytes as '?'. */
static void preview(char out[48], const char *s, size_t len)
{
    size_t n = len < 40 ? len : 40, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* ---- the "C" numeric locale for the duration of a call ------------------ */

typedef struct c_numeric {
#ifdef SOMA_HAVE_USELOCALE
    locale_t c, prev;
#else
    int unused;
#endif
} c_numeric;

static soma_status c_numeric_enter(c_numeric *s)
{
#ifdef SOMA_HAVE_USELOCALE
    s->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (s->c == (locale_t)0)
        return SOMA_ENOMEM;
    s->prev = uselocale(s->c);
#else
    (void)s;
#endif
    return SOMA_OK;
}

static void c_numeric_leave(c_numeric *s)
{
#ifdef SOMA_HAVE_USELOCALE
    uselocale(s->prev);
    freelocale(s->c);
#else
    (void)s;
#endif
}

/* ---- numbers ----------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)? over all len. */
static bool is_number(const char *s, size_t len)
{
    size_t i = 0, mant = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && is_digit(s[i]))
        i++, mant++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i]))
            i++, mant++;
    }
    if (mant == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        e0 = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == e0)
            return false;
    }
    return i == len;
}

static bool word_eq(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

/* nan, inf, infinity with an optional sign, any case. */
static bool nonfinite_word(const char *s, size_t len, double *value)
{
    double sign = 1.0;
    if (len > 0 && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1.0 : 1.0;
        s++;
        len--;
    }
    if (word_eq(s, len, "nan")) {
        *value = NAN;
        return true;
    }
    if (word_eq(s, len, "inf") || word_eq(s, len, "infinity")) {
        *value = sign * INFINITY;
        return true;
    }
    return false;
}

/* ---- the parser -------------------------------------------------------- */

enum state {
    S_FIELD_START, /* before a field's first byte; skipping blanks */
    S_UNQUOTED,    /* inside an unquoted field */
    S_QUOTED,      /* inside quotes */
    S_QUOTE_END,   /* a quote inside quotes: "" or the closing one */
    S_AFTER_QUOTE  /* after the closing quote; blanks only */
};

/* Position and text of one field of the first record, kept until the
 * header question is settled. */
typedef struct first_field {
    size_t start, len; /* into first_text */
    size_t line, offset;
} first_field;

typedef struct growable {
    void *data;
    size_t cap; /* bytes */
} growable;

typedef struct parser {
    soma_csv_options opt;
    const soma_allocator *alloc;
    soma_error_info *err;
    soma_status st; /* sticky: the first error */

    enum state state;
    size_t line, offset; /* line of, and offset of, the next byte */
    bool cr_pending;     /* a CR outside quotes awaits its LF */
    size_t cr_offset;
    unsigned bom_matched; /* BOM bytes matched so far */
    bool bom_done;

    bool record_started;         /* a byte of the current record was seen */
    size_t nfields;              /* completed fields in the current record */
    size_t rec_line, rec_offset; /* where the current record began */
    size_t field_line, field_offset;

    growable field; /* current field text (char) */
    size_t flen;

    /* first record */
    bool have_first;
    growable first_text; /* char */
    size_t first_text_len;
    growable first_fields; /* first_field */
    size_t first_count;
    size_t first_line, first_offset;

    /* table */
    size_t ncols; /* fields per record, set by the first */
    size_t label; /* label column or SIZE_MAX */
    bool has_header;
    growable vals; /* double, nrows x ncols */
    size_t nrows;
} parser;

static bool is_blank(const parser *p, char c)
{
    return (c == ' ' || c == '\t') && c != p->opt.delimiter;
}

/* Make g hold at least `need` bytes, doubling; contents kept. */
static soma_status grow(parser *p, growable *g, size_t need, size_t used)
{
    if (need <= g->cap)
        return SOMA_OK;
    size_t cap = g->cap < 64 ? 64 : g->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return SOMA_EOVERFLOW;
        cap *= 2;
    }
    void *d = soma__alloc(p->alloc, cap);
    if (d == NULL)
        return SOMA_ENOMEM;
    if (used > 0)
        memcpy(d, g->data, used);
    soma__free(p->alloc, g->data, g->cap);
    g->data = d;
    g->cap = cap;
    return SOMA_OK;
}

static void growable_free(parser *p, growable *g)
{
    soma__free(p->alloc, g->data, g->cap);
    g->data = NULL;
    g->cap = 0;
}

static soma_status fail_at(parser *p, soma_status st, size_t line, size_t col, size_t off,
                           const char *fmt, const char *text, size_t len)
{
    char shown[48];
    preview(shown, text, len);
    p->st = report(p->err, st, line, col, off, fmt, shown);
    return p->st;
}

/* Convert a complete field (trimmed, NUL-terminated) to a double. */
static soma_status parse_value(parser *p, const char *s, size_t len, size_t line,
                               size_t col, size_t off, double *out)
{
    double v;
    if (len == 0)
        return fail_at(p, SOMA_EFORMAT, line, col, off, "empty field%s", "", 0);
    if (nonfinite_word(s, len, &v)) {
        if (!p->opt.allow_nonfinite)
            return fail_at(p, SOMA_ENONFINITE, line, col, off,
                           "non-finite value '%s' (allow_nonfinite is off)", s, len);
        *out = v;
        return SOMA_OK;
    }
    if (!is_number(s, len))
        return fail_at(p, SOMA_EFORMAT, line, col, off, "not a number: '%s'", s, len);
    char *end;
    errno = 0;
    v = strtod(s, &end);
    if (end != s + len)
        return fail_at(p, SOMA_EFORMAT, line, col, off, "not a number: '%s'", s, len);
    if (errno == ERANGE && isinf(v))
        return fail_at(p, SOMA_EFORMAT, line, col, off,
                       "number out of range for a double: '%s'", s, len);
    *out = v;
    return SOMA_OK;
}

/* Room for one more row of values. */
static soma_status reserve_row(parser *p)
{
    size_t need;
    if (!soma__add(p->nrows, 1, &need) || !soma__mul(need, p->ncols, &need) ||
        !soma__doubles_bytes(need, &need))
        return p->st = SOMA_EOVERFLOW;
    soma_status st = grow(p, &p->vals, need, p->nrows * p->ncols * sizeof(double));
    if (st != SOMA_OK)
        p->st = st;
    return st;
}

static double *row_slot(parser *p, size_t col)
{
    return (double *)p->vals.data + p->nrows * p->ncols + col;
}

/* Decide header or data for the first record, find the label column, and
 * store the record as row 0 when it is data. */
static soma_status first_record_end(parser *p)
{
    const char *text = p->first_text.data;
    const first_field *f = p->first_fields.data;
    const size_t nf = p->first_count;
    bool header = p->opt.header == SOMA_CSV_HEADER_YES;
    if (p->opt.header == SOMA_CSV_HEADER_AUTO) {
        for (size_t i = 0; i < nf && !header; i++) {
            double v;
            const char *s = text + f[i].start;
            header = f[i].len > 0 && !is_number(s, f[i].len) &&
                     !nonfinite_word(s, f[i].len, &v);
        }
    }
    p->has_header = header;
    p->ncols = nf;
    p->have_first = true;
    switch (p->opt.label) {
    case SOMA_CSV_LABEL_LAST:
        p->label = nf - 1;
        break;
    case SOMA_CSV_LABEL_INDEX:
        if (p->opt.label_index >= nf) {
            p->st = report(p->err, SOMA_EFORMAT, p->first_line, 0, p->first_offset,
                           "label column %zu does not exist: records have %zu fields",
                           p->opt.label_index, nf);
            return p->st;
        }
        p->label = p->opt.label_index;
        break;
    case SOMA_CSV_LABEL_NAME: {
        if (!header) {
            p->st = report(p->err, SOMA_EFORMAT, p->first_line, 0, p->first_offset,
                           "label column given by name but the first record is data");
            return p->st;
        }
        size_t want = strlen(p->opt.label_name), found = SIZE_MAX, hits = 0;
        for (size_t i = 0; i < nf; i++)
            if (f[i].len == want &&
                memcmp(text + f[i].start, p->opt.label_name, want) == 0) {
                found = i;
                hits++;
            }
        if (hits != 1) {
            char shown[48];
            preview(shown, p->opt.label_name, want);
            p->st = report(p->err, SOMA_EFORMAT, p->first_line, 0, p->first_offset,
                           hits == 0 ? "no column named '%s' in the header"
                                     : "the header names column '%s' more than once",
                           shown);
            return p->st;
        }
        p->label = found;
        break;
    }
    default:
        p->label = SIZE_MAX;
        break;
    }
    if (header)
        return SOMA_OK;
    SOMA_TRY(reserve_row(p));
    for (size_t i = 0; i < nf; i++) {
        /* Each stored field is followed by a NUL in first_text. */
        SOMA_TRY(parse_value(p, text + f[i].start, f[i].len, f[i].line, i + 1,
                             f[i].offset, row_slot(p, i)));
    }
    p->nrows++;
    return SOMA_OK;
}

/* The current field is complete. */
static soma_status field_end(parser *p)
{
    /* Blanks before an unquoted field were skipped; trim the rest (also
     * inside quotes, so " 1.5 " and "a " compare as 1.5 and a). */
    char *s = p->field.data;
    size_t len = p->flen;
    while (len > 0 && is_blank(p, s[len - 1]))
        len--;
    while (len > 0 && is_blank(p, s[0])) {
        s++;
        len--;
    }
    const size_t col = p->nfields + 1;
    if (!p->have_first) {
        size_t tl = p->first_text_len, need;
        if (!soma__add(tl, len + 1, &need))
            return p->st = SOMA_EOVERFLOW;
        soma_status st = grow(p, &p->first_text, need, tl);
        if (st == SOMA_OK)
            st = grow(p, &p->first_fields, (p->first_count + 1) * sizeof(first_field),
                      p->first_count * sizeof(first_field));
        if (st != SOMA_OK)
            return p->st = st;
        char *t = p->first_text.data;
        if (len > 0)
            memcpy(t + tl, s, len);
        t[tl + len] = '\0';
        first_field *ff = (first_field *)p->first_fields.data + p->first_count++;
        *ff = (first_field){tl, len, p->field_line, p->field_offset};
        p->first_text_len = need;
    } else {
        if (p->nfields >= p->ncols)
            return fail_at(p, SOMA_EFORMAT, p->field_line, col, p->field_offset,
                           "record has more fields than the first record%s", "", 0);
        if (p->nfields == 0)
            SOMA_TRY(reserve_row(p));
        if (len > 0)
            s[len] = '\0'; /* the field buffer always keeps a spare byte */
        SOMA_TRY(parse_value(p, s, len, p->field_line, col, p->field_offset,
                             row_slot(p, p->nfields)));
    }
    p->nfields++;
    p->flen = 0;
    return SOMA_OK;
}

/* A record ended at a line end (or the end of the input) at offset `at`. */
static soma_status record_end(parser *p, size_t at)
{
    if (!p->have_first)
        return first_record_end(p);
    if (p->nfields < p->ncols) {
        p->st = report(p->err, SOMA_EFORMAT, p->line, p->nfields + 1, at,
                       "record has %zu fields, the first record has %zu", p->nfields,
                       p->ncols);
        return p->st;
    }
    p->nrows++;
    return SOMA_OK;
}

static soma_status append(parser *p, char c)
{
    /* Keep one spare byte for the terminating NUL. */
    if (p->flen + 2 > p->field.cap) {
        if (p->flen > SIZE_MAX - 2)
            return p->st = SOMA_EOVERFLOW;
        soma_status st = grow(p, &p->field, p->flen + 2, p->flen);
        if (st != SOMA_OK)
            return p->st = st;
    }
    ((char *)p->field.data)[p->flen++] = c;
    return SOMA_OK;
}

/* The next field starts after the byte at p->offset. */
static void next_field(parser *p)
{
    p->state = S_FIELD_START;
    p->field_line = p->line;
    p->field_offset = p->offset + 1;
}

/* Line feed outside quotes (possibly the second half of CR LF). */
static soma_status line_end(parser *p)
{
    size_t at = p->cr_pending ? p->cr_offset : p->offset;
    p->cr_pending = false;
    if (p->record_started || p->nfields > 0 || p->state != S_FIELD_START) {
        SOMA_TRY(field_end(p));
        SOMA_TRY(record_end(p, at));
    }
    p->line++;
    p->record_started = false;
    p->nfields = 0;
    p->rec_line = p->line;
    p->rec_offset = p->offset + 1;
    next_field(p);
    return SOMA_OK;
}

static soma_status stray_cr(parser *p)
{
    p->st = report(p->err, SOMA_EFORMAT, p->field_line, p->nfields + 1, p->field_offset,
                   "carriage return not followed by a line feed");
    return p->st;
}

static soma_status byte(parser *p, char c)
{
    const char delim = p->opt.delimiter;
    if (p->state == S_QUOTED) {
        if (c == '"') {
            p->state = S_QUOTE_END;
            return SOMA_OK;
        }
        if (c == '\n')
            p->line++;
        return append(p, c);
    }
    if (p->cr_pending && c != '\n')
        return stray_cr(p);
    if (c == '\n')
        return line_end(p);
    if (c == '\r') {
        p->cr_pending = true;
        p->cr_offset = p->offset;
        return SOMA_OK;
    }
    if (!p->record_started) {
        p->record_started = true;
        if (!p->have_first) {
            p->first_line = p->rec_line;
            p->first_offset = p->rec_offset;
        }
    }
    switch (p->state) {
    case S_FIELD_START:
        if (c == delim) {
            SOMA_TRY(field_end(p));
            next_field(p);
        } else if (c == '"') {
            p->state = S_QUOTED;
        } else if (!is_blank(p, c)) {
            p->state = S_UNQUOTED;
            return append(p, c);
        }
        return SOMA_OK;
    case S_UNQUOTED:
        if (c != delim)
            return append(p, c);
        SOMA_TRY(field_end(p));
        next_field(p);
        return SOMA_OK;
    case S_QUOTE_END:
    case S_AFTER_QUOTE:
        if (c == '"' && p->state == S_QUOTE_END) {
            p->state = S_QUOTED;
            return append(p, '"');
        }
        if (c == delim) {
            SOMA_TRY(field_end(p));
            next_field(p);
        } else if (is_blank(p, c)) {
            p->state = S_AFTER_QUOTE;
        } else {
            return fail_at(p, SOMA_EFORMAT, p->field_line, p->nfields + 1,
                           p->field_offset, "text after the closing quote of \"%s\"",
                           p->field.data, p->flen);
        }
        return SOMA_OK;
    case S_QUOTED:
        break; /* handled above */
    }
    return SOMA_OK;
}

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

static soma_status feed(parser *p, const char *data, size_t len)
{
    for (size_t i = 0; i < len && p->st == SOMA_OK; i++) {
        soma_status st;
        if (!p->bom_done) {
            if ((unsigned char)data[i] == bom[p->bom_matched]) {
                if (++p->bom_matched == 3) {
                    p->bom_done = true;
                    p->offset = 3;
                    p->rec_offset = p->field_offset = 3;
                }
                continue;
            }
            /* Not a BOM: the bytes matched so far are data. */
            p->bom_done = true;
            for (unsigned k = 0; k < p->bom_matched && k < 3; k++) {
                if ((st = byte(p, (char)bom[k])) != SOMA_OK)
                    return p->st = st;
                p->offset++;
            }
        }
        if ((st = byte(p, data[i])) != SOMA_OK)
            return p->st = st;
        p->offset++;
    }
    return p->st;
}

static soma_status finish(parser *p)
{
    if (p->st != SOMA_OK)
        return p->st;
    if (!p->bom_done) {
        /* The input was a strict prefix of a BOM: those bytes are data. */
        p->bom_done = true;
        for (unsigned k = 0; k < p->bom_matched && k < 3; k++) {
            soma_status st = byte(p, (char)bom[k]);
            if (st != SOMA_OK)
                return p->st = st;
            p->offset++;
        }
    }
    if (p->cr_pending)
        return stray_cr(p);
    if (p->state == S_QUOTED) {
        p->st =
            report(p->err, SOMA_EFORMAT, p->field_line, p->nfields + 1, p->field_offset,
                   "quoted field not closed before the end of input");
        return p->st;
    }
    if (p->record_started || p->nfields > 0 || p->state != S_FIELD_START) {
        SOMA_TRY(field_end(p));
        SOMA_TRY(record_end(p, p->offset));
    }
    if (!p->have_first) {
        p->st = report(p->err, SOMA_EFORMAT, p->line, 0, p->offset,
                       "no records in the input");
        return p->st;
    }
    if (p->nrows == 0) {
        p->st = report(p->err, SOMA_EFORMAT, p->line, 0, p->offset,
                       "the header is not followed by any data record");
        return p->st;
    }
    return SOMA_OK;
}

static void parser_free(parser *p)
{
    growable_free(p, &p->field);
    growable_free(p, &p->first_text);
    growable_free(p, &p->first_fields);
    growable_free(p, &p->vals);
}

soma_csv_options soma_csv_defaults(void)
{
    soma_csv_options o = {
        .delimiter = ',',
        .header = SOMA_CSV_HEADER_AUTO,
        .label = SOMA_CSV_LABEL_LAST,
        .label_index = 0,
        .label_name = NULL,
        .allow_nonfinite = false,
    };
    return o;
}

static bool options_valid(const soma_csv_options *o)
{
    const char d = o->delimiter;
    if (d == '\0' || d == '"' || d == '\r' || d == '\n' || is_digit(d) || d == '+' ||
        d == '-' || d == '.' || d == 'e' || d == 'E')
        return false;
    if ((unsigned)o->header >= SOMA_CSV_HEADER_COUNT ||
        (unsigned)o->label >= SOMA_CSV_LABEL_COUNT)
        return false;
    if (o->label == SOMA_CSV_LABEL_NAME &&
        (o->label_name == NULL || o->header == SOMA_CSV_HEADER_NO))
        return false;
    return true;
}

static soma_status parser_init(parser *p, const soma_csv_options *opt,
                               const soma_allocator *alloc, soma_error_info *err)
{
    memset(p, 0, sizeof *p);
    p->opt = opt != NULL ? *opt : soma_csv_defaults();
    if (!options_valid(&p->opt) || !soma__allocator_valid(alloc))
        return SOMA_EINVAL;
    p->alloc = alloc;
    p->err = err;
    p->line = p->rec_line = p->field_line = p->first_line = 1;
    p->state = S_FIELD_START;
    return SOMA_OK;
}

/* Split the parsed table into X and y and commit them. */
static soma_status parser_output(parser *p, soma_matrix *X, soma_matrix *y,
                                 soma_csv_info *info)
{
    const bool has_label = p->label != SIZE_MAX;
    const size_t n = p->nrows, f = p->ncols, d = has_label ? f - 1 : f;
    soma_matrix tx, ty = {0};
    SOMA_TRY(soma_matrix_init(&tx, n, d, p->alloc));
    if (has_label) {
        soma_status st = soma_matrix_init(&ty, n, 1, p->alloc);
        if (st != SOMA_OK) {
            soma_matrix_free(&tx);
            return st;
        }
    }
    const double *v = p->vals.data;
    for (size_t i = 0; i < n; i++) {
        const double *r = v + i * f;
        if (has_label)
            ty.data[i] = r[p->label];
        for (size_t j = 0, k = 0; j < f; j++)
            if (j != p->label)
                tx.data[i * d + k++] = r[j];
    }
    *X = tx;
    if (has_label)
        *y = ty;
    if (info != NULL) {
        info->rows = n;
        info->fields = f;
        info->has_header = p->has_header;
        info->label_column = p->label;
    }
    return SOMA_OK;
}

static soma_status read_args(const soma_csv_options *opt, soma_matrix *X, soma_matrix *y)
{
    soma_csv_label label = opt != NULL ? opt->label : SOMA_CSV_LABEL_LAST;
    if (X == NULL || (y == NULL && label != SOMA_CSV_LABEL_NONE))
        return SOMA_EINVAL;
    return SOMA_OK;
}

soma_status soma_csv_read_buffer(const char *text, size_t len,
                                 const soma_csv_options *opt, soma_matrix *X,
                                 soma_matrix *y, soma_csv_info *info,
                                 const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_TRY(read_args(opt, X, y));
    if (text == NULL && len > 0)
        return SOMA_EINVAL;
    parser p;
    SOMA_TRY(parser_init(&p, opt, alloc, err));
    c_numeric loc = {0};
    soma_status st = c_numeric_enter(&loc);
    if (st != SOMA_OK)
        return st;
    if (len > 0)
        st = feed(&p, text, len);
    if (st == SOMA_OK)
        st = finish(&p);
    c_numeric_leave(&loc);
    if (st == SOMA_OK)
        st = parser_output(&p, X, y, info);
    parser_free(&p);
    return st;
}

soma_status soma_csv_read_file(const char *path, const soma_csv_options *opt,
                               soma_matrix *X, soma_matrix *y, soma_csv_info *info,
                               const soma_allocator *alloc, soma_error_info *err)
{
    if (path == NULL)
        return SOMA_EINVAL;
    SOMA_TRY(read_args(opt, X, y));
    parser p;
    SOMA_TRY(parser_init(&p, opt, alloc, err));
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return report(err, SOMA_EIO, 0, 0, 0, "cannot open the file (errno %d)", errno);
    char *chunk = soma__alloc(alloc, CHUNK);
    c_numeric loc = {0};
    bool in_c = false;
    soma_status st = chunk == NULL ? SOMA_ENOMEM : c_numeric_enter(&loc);
    if (st == SOMA_OK)
        in_c = true;
    while (st == SOMA_OK) {
        size_t got = fread(chunk, 1, CHUNK, f);
        if (got > 0)
            st = feed(&p, chunk, got);
        if (got < CHUNK) {
            if (ferror(f))
                st =
                    report(err, SOMA_EIO, 0, 0, p.offset, "read error (errno %d)", errno);
            break;
        }
    }
    if (st == SOMA_OK)
        st = finish(&p);
    if (in_c)
        c_numeric_leave(&loc);
    fclose(f);
    soma__free(alloc, chunk, CHUNK);
    if (st == SOMA_OK)
        st = parser_output(&p, X, y, info);
    parser_free(&p);
    return st;
}

/* ---- writing ----------------------------------------------------------- */

static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        return true;
    return strpbrk(s, ",\"\r\n") != NULL;
}

static int write_name(FILE *f, const char *s)
{
    if (!needs_quotes(s))
        return fputs(s, f) < 0 ? -1 : 0;
    if (fputc('"', f) == EOF)
        return -1;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', f) == EOF)
            return -1;
        if (fputc(*s, f) == EOF)
            return -1;
    }
    return fputc('"', f) == EOF ? -1 : 0;
}

static int write_table(FILE *f, const soma_matrix *X, const soma_matrix *y,
                       const char *const *names)
{
    const size_t d = X->cols, total = d + (y != NULL ? 1 : 0);
    if (names != NULL) {
        for (size_t j = 0; j < total; j++)
            if ((j > 0 && fputc(',', f) == EOF) || write_name(f, names[j]) != 0)
                return -1;
        if (fputc('\n', f) == EOF)
            return -1;
    }
    for (size_t i = 0; i < X->rows; i++) {
        /* X may have no columns (only labels): then its data may be NULL. */
        const double *r = d > 0 ? soma_matrix_at(X, i, 0) : NULL;
        for (size_t j = 0; j < d; j++)
            if (fprintf(f, j > 0 ? ",%.17g" : "%.17g", r[j]) < 0)
                return -1;
        if (y != NULL &&
            fprintf(f, d > 0 ? ",%.17g" : "%.17g", *soma_matrix_at(y, i, 0)) < 0)
            return -1;
        if (fputc('\n', f) == EOF)
            return -1;
    }
    return 0;
}

soma_status soma_csv_write(const char *path, const soma_matrix *X, const soma_matrix *y,
                           const char *const *names, soma_error_info *err)
{
    SOMA_REQUIRE_PTR(path, err, "path");
    SOMA_TRY(soma__check_matrix_arg(X, "X", err));
    if (y != NULL) {
        SOMA_TRY(soma__check_matrix_arg(y, "y", err));
        SOMA_REQUIRE(y->cols == 1, err, SOMA_EINVAL, "y",
                     "y has %zu columns: it is written as one label column", y->cols);
        SOMA_REQUIRE(y->rows == X->rows, err, SOMA_EDIM, "y",
                     "y has %zu rows but X has %zu", y->rows, X->rows);
    }
    /* no fields: the file could not be read back */
    SOMA_REQUIRE(X->cols >= 1 || y != NULL, err, SOMA_EINVAL, "X",
                 "X has no columns and there is no y: the file would have no fields");
    if (names != NULL) {
        size_t total = X->cols + (y != NULL ? 1 : 0);
        for (size_t j = 0; j < total; j++)
            SOMA_REQUIRE(names[j] != NULL, err, SOMA_EINVAL, "names",
                         "names[%zu] is NULL: give one name per column (%zu)", j, total);
    }
    soma__atomic_file af;
    SOMA_TRY(soma__atomic_open(&af, path, NULL, err));
    c_numeric loc = {0};
    soma_status st = c_numeric_enter(&loc);
    if (st == SOMA_OK) {
        if (write_table(af.f, X, y, names) != 0)
            st = SOMA_EIO;
        c_numeric_leave(&loc);
    }
    soma_status done = soma__atomic_commit(&af, st == SOMA_OK, err);
    if (st != SOMA_OK)
        return soma__fail(err, st, "path", "cannot write to path '%.120s': %s", path,
                          st == SOMA_EIO ? strerror(errno) : soma_status_string(st));
    return done;
}
