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
#include "labels.h"
#include "stream.h"

#define CHUNK (64 * 1024)

/* ---- error reports ----------------------------------------------------- */

/* A problem with the content (no argument at fault): the place and a
 * message. */
static soma_status report(soma_error_info *err, soma_status st, size_t line, size_t col,
                          size_t off, const char *fmt, ...)
{
    if (err != NULL) {
        err->argument[0] = '\0';
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

/* The last two states ignore CR and the delimiter: byte() tests for both
 * with one comparison. */
enum state {
    S_FIELD_START, /* before a field's first byte; skipping blanks */
    S_UNQUOTED,    /* inside an unquoted field */
    S_QUOTE_END,   /* a quote inside quotes: "" or the closing one */
    S_AFTER_QUOTE, /* after the closing quote; blanks only */
    S_QUOTED,      /* inside quotes */
    S_SKIP_LINE    /* a line dropped by skip_lines or a comment, up to its LF */
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

/* One distinct text label. */
typedef struct class_entry {
    size_t start, len; /* into class_text; the name is followed by a NUL */
    uint64_t hash;
    size_t rank; /* its id in the output (first appearance or sorted) */
} class_entry;

/* Bytes that may be the delimiter a file really uses (for the hint), and
 * how many records are sampled to see whether one occurs consistently. */
#define NCAND 4
#define NSAMPLE 8
static const char candidates[NCAND] = {';', '\t', '|', ','};
static const char *const candidate_names[NCAND] = {";", "\\t", "|", ","};

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
    size_t skip_left;   /* skip_lines still to drop */
    bool at_line_start; /* comments on, and only blanks so far on this line */
    bool watch;         /* at_line_start, or delimiter candidates still counted */

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

    /* labels */
    bool labels_decided; /* numeric or text is known */
    bool text_labels;
    growable class_text; /* char: the distinct names, NUL after each */
    size_t class_text_len;
    growable class_entries; /* class_entry */
    size_t nclasses;
    size_t *class_slots; /* open addressing: entry index + 1, 0 = empty */
    size_t nslots;       /* a power of two, or 0 */

    /* delimiter candidates outside quotes: in the current record, and in
     * each of the first NSAMPLE complete records */
    size_t cand_cur[NCAND];
    size_t cand_seen[NSAMPLE][NCAND];
    size_t nseen;
    bool record_complete; /* the current record has ended (its counts too) */
} parser;

static bool is_blank(const parser *p, char c)
{
    return (c == ' ' || c == '\t') && c != p->opt.delimiter;
}

/* A size that overflows size_t (a table or a field larger than memory). */
static soma_status too_large(parser *p)
{
    return p->st = soma__fail(p->err, SOMA_EOVERFLOW, NULL,
                              "the input needs more than SIZE_MAX bytes of memory (line "
                              "%zu)",
                              p->line);
}

static soma_status out_of_memory(parser *p, size_t bytes)
{
    return p->st = soma__fail_nomem(p->err, bytes, "the CSV reader's buffers");
}

/* Make g hold at least `need` bytes, doubling; contents kept. */
static soma_status grow(parser *p, growable *g, size_t need, size_t used)
{
    if (need <= g->cap)
        return SOMA_OK;
    size_t cap = g->cap < 64 ? 64 : g->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return too_large(p);
        cap *= 2;
    }
    void *d = soma__alloc(p->alloc, cap);
    if (d == NULL)
        return out_of_memory(p, cap);
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

/* Append to the message of the error just reported (if any room is left). */
static void add_hint(parser *p, const char *fmt, ...)
{
    if (p->err == NULL)
        return;
    char *m = p->err->message;
    size_t used = strlen(m);
    if (used + 1 >= sizeof p->err->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m + used, sizeof p->err->message - used, fmt, ap);
    va_end(ap);
}

/* Index of a candidate delimiter (not the delimiter in use) that occurs the
 * same number of times, at least once, in each sampled record and in the
 * current one once it is complete (at least once in it so far otherwise),
 * the most frequent first; with a field, only candidates that the field
 * holds. -1 when none. */
static int suggest_delimiter(const parser *p, const char *field, size_t len)
{
    int best = -1;
    size_t best_n = 0;
    for (int j = 0; j < NCAND; j++) {
        const char c = candidates[j];
        if (c == p->opt.delimiter || (field != NULL && memchr(field, c, len) == NULL))
            continue;
        /* A record cut short by the error must hold it at least once. */
        if (!p->record_complete && p->cand_cur[j] == 0)
            continue;
        size_t n = 0, records = 0;
        bool same = true;
        for (size_t i = 0; i <= p->nseen && same; i++) {
            size_t k;
            if (i < p->nseen)
                k = p->cand_seen[i][j];
            else if (p->record_complete)
                k = p->cand_cur[j];
            else
                break;
            if (records++ == 0)
                n = k;
            same = k == n;
        }
        if (same && records > 0 && n > best_n) {
            best = j;
            best_n = n;
        }
    }
    return best;
}

/* After a field-count error: suggest a delimiter, or else, in the table's
 * second record, skipping the first (a metadata line, maybe). */
static void hint_field_count(parser *p)
{
    int d = suggest_delimiter(p, NULL, 0);
    if (d >= 0)
        add_hint(p, "; did you mean delimiter '%s'?", candidate_names[d]);
    else if (p->nrows == (p->has_header ? 0u : 1u))
        add_hint(p, "; if line %zu is not part of the table, set skip_lines to %zu",
                 p->first_line, p->first_line);
}

/* A field that is not a number: say so, with a hint when one applies. */
static soma_status not_a_number(parser *p, const char *s, size_t len, size_t line,
                                size_t col, size_t off)
{
    const bool is_label = col - 1 == p->label;
    fail_at(p, SOMA_EFORMAT, line, col, off,
            is_label ? "label is not a number: '%s'" : "not a number: '%s'", s, len);
    int d = suggest_delimiter(p, s, len);
    if (d >= 0)
        add_hint(p, "; did you mean delimiter '%s'?", candidate_names[d]);
    else if (is_label && p->opt.label_type == SOMA_CSV_LABELS_AUTO)
        add_hint(p, " (label_type AUTO found a number in the first data record); "
                    "for class names set label_type to SOMA_CSV_LABELS_TEXT");
    else if (is_label)
        add_hint(p, "; for class names set label_type to SOMA_CSV_LABELS_TEXT");
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
        return not_a_number(p, s, len, line, col, off);
    char *end;
    errno = 0;
    v = strtod(s, &end);
    if (end != s + len)
        return not_a_number(p, s, len, line, col, off);
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
        return too_large(p);
    soma_status st = grow(p, &p->vals, need, p->nrows * p->ncols * sizeof(double));
    if (st != SOMA_OK)
        p->st = st;
    return st;
}

static double *row_slot(parser *p, size_t col)
{
    return (double *)p->vals.data + p->nrows * p->ncols + col;
}

/* FNV-1a. */
static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211u;
    }
    return h;
}

/* Rebuild the hash slots with nslots (a power of two) entries. */
static soma_status class_rehash(parser *p, size_t nslots)
{
    size_t bytes;
    if (!soma__mul(nslots, sizeof(size_t), &bytes))
        return too_large(p);
    size_t *slots = soma__calloc(p->alloc, bytes);
    if (slots == NULL)
        return out_of_memory(p, bytes);
    const class_entry *e = p->class_entries.data;
    for (size_t id = 0; id < p->nclasses; id++) {
        size_t i = (size_t)e[id].hash & (nslots - 1);
        while (slots[i] != 0)
            i = (i + 1) & (nslots - 1);
        slots[i] = id + 1;
    }
    soma__free(p->alloc, p->class_slots, p->nslots * sizeof(size_t));
    p->class_slots = slots;
    p->nslots = nslots;
    return SOMA_OK;
}

/* The class id of a text label (a new id for a name not seen before). */
static soma_status intern_label(parser *p, const char *s, size_t len, size_t line,
                                size_t col, size_t off, double *out)
{
    if (len == 0)
        return fail_at(p, SOMA_EFORMAT, line, col, off, "empty label%s", "", 0);
    if (memchr(s, '\0', len) != NULL)
        return fail_at(p, SOMA_EFORMAT, line, col, off, "label holds a NUL byte: '%s'", s,
                       len);
    /* At most half the slots in use. */
    size_t want;
    if (!soma__add(p->nclasses, 1, &want) || !soma__mul(want, 2, &want))
        return too_large(p);
    if (want > p->nslots) {
        if (p->nslots > SIZE_MAX / 2)
            return too_large(p);
        SOMA_TRY(class_rehash(p, p->nslots == 0 ? 16 : p->nslots * 2));
    }
    const uint64_t h = name_hash(s, len);
    const size_t mask = p->nslots - 1;
    size_t i = (size_t)h & mask;
    for (; p->class_slots[i] != 0; i = (i + 1) & mask) {
        const size_t id = p->class_slots[i] - 1;
        const class_entry *c = (const class_entry *)p->class_entries.data + id;
        if (c->hash == h && c->len == len &&
            memcmp((const char *)p->class_text.data + c->start, s, len) == 0) {
            *out = (double)id;
            return SOMA_OK;
        }
    }
    /* A new class: its name (and a NUL) and its entry. */
    size_t text_need, entries_need;
    if (!soma__add(p->class_text_len, len, &text_need) ||
        !soma__add(text_need, 1, &text_need) ||
        !soma__mul(want / 2, sizeof(class_entry), &entries_need))
        return too_large(p);
    soma_status st = grow(p, &p->class_text, text_need, p->class_text_len);
    if (st == SOMA_OK)
        st = grow(p, &p->class_entries, entries_need, p->nclasses * sizeof(class_entry));
    if (st != SOMA_OK)
        return p->st = st;
    char *t = (char *)p->class_text.data + p->class_text_len;
    memcpy(t, s, len);
    t[len] = '\0';
    class_entry *e = (class_entry *)p->class_entries.data + p->nclasses;
    *e = (class_entry){p->class_text_len, len, h, p->nclasses};
    p->class_text_len = text_need;
    p->class_slots[i] = p->nclasses + 1;
    *out = (double)p->nclasses++;
    return SOMA_OK;
}

/* The label of a data record while its type is undecided or text. */
static soma_status store_label(parser *p, const char *s, size_t len, size_t line,
                               size_t col, size_t off, double *out)
{
    if (!p->labels_decided) {
        /* label_type AUTO: the first data record's label decides. */
        double v;
        p->text_labels = !is_number(s, len) && !nonfinite_word(s, len, &v);
        p->labels_decided = true;
    }
    if (p->text_labels)
        return intern_label(p, s, len, line, col, off, out);
    return parse_value(p, s, len, line, col, off, out);
}

/* Store field `col` (1-based; trimmed, NUL-terminated) of the current data
 * record: a class id for a text label, else its value. */
static inline soma_status store_field(parser *p, const char *s, size_t len, size_t line,
                                      size_t col, size_t off)
{
    double *out = row_slot(p, col - 1);
    if (col - 1 == p->label && (!p->labels_decided || p->text_labels))
        return store_label(p, s, len, line, col, off, out);
    return parse_value(p, s, len, line, col, off, out);
}

/* With header auto: whether the first record is a header. Every non-empty
 * field counts, but the label field when labels may be text and the label
 * column is known by position (`label`, else SIZE_MAX). */
static bool looks_like_header(const parser *p, size_t label)
{
    const char *text = p->first_text.data;
    const first_field *f = p->first_fields.data;
    const bool skip_label = p->opt.label_type != SOMA_CSV_LABELS_NUMERIC;
    for (size_t i = 0; i < p->first_count; i++) {
        double v;
        const char *s = text + f[i].start;
        if (skip_label && i == label)
            continue;
        if (f[i].len > 0 && !is_number(s, f[i].len) && !nonfinite_word(s, f[i].len, &v))
            return true;
    }
    return false;
}

/* Decide header or data for the first record, find the label column, and
 * store the record as row 0 when it is data. */
static soma_status first_record_end(parser *p)
{
    const char *text = p->first_text.data;
    const first_field *f = p->first_fields.data;
    const size_t nf = p->first_count;
    p->label = SIZE_MAX;
    if (p->opt.label == SOMA_CSV_LABEL_LAST) {
        p->label = nf - 1;
    } else if (p->opt.label == SOMA_CSV_LABEL_INDEX) {
        if (p->opt.label_index >= nf) {
            p->st = report(p->err, SOMA_EFORMAT, p->first_line, 0, p->first_offset,
                           "label column %zu does not exist: records have %zu fields",
                           p->opt.label_index, nf);
            return p->st;
        }
        p->label = p->opt.label_index;
    }
    bool header = p->opt.header == SOMA_CSV_HEADER_YES;
    if (p->opt.header == SOMA_CSV_HEADER_AUTO)
        header = looks_like_header(p, p->label);
    p->has_header = header;
    p->ncols = nf;
    p->have_first = true;
    switch (p->opt.label) {
    case SOMA_CSV_LABEL_LAST:
    case SOMA_CSV_LABEL_INDEX:
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
        break;
    }
    if (header)
        return SOMA_OK;
    SOMA_TRY(reserve_row(p));
    for (size_t i = 0; i < nf; i++) {
        /* Each stored field is followed by a NUL in first_text. */
        SOMA_TRY(
            store_field(p, text + f[i].start, f[i].len, f[i].line, i + 1, f[i].offset));
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
            return too_large(p);
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
        if (p->nfields >= p->ncols) {
            fail_at(p, SOMA_EFORMAT, p->field_line, col, p->field_offset,
                    "record has more fields than the first record%s", "", 0);
            hint_field_count(p);
            return p->st;
        }
        if (p->nfields == 0)
            SOMA_TRY(reserve_row(p));
        if (len > 0)
            s[len] = '\0'; /* the field buffer always keeps a spare byte */
        SOMA_TRY(store_field(p, s, len, p->field_line, col, p->field_offset));
    }
    p->nfields++;
    p->flen = 0;
    return SOMA_OK;
}

/* Keep the delimiter candidates counted in the record just read. */
static void sample_record(parser *p)
{
    if (p->nseen < NSAMPLE)
        memcpy(p->cand_seen[p->nseen++], p->cand_cur, sizeof p->cand_cur);
    memset(p->cand_cur, 0, sizeof p->cand_cur);
    p->watch = p->at_line_start || p->nseen < NSAMPLE;
}

/* A record ended at a line end (or the end of the input) at offset `at`. */
static soma_status record_end(parser *p, size_t at)
{
    p->record_complete = true;
    if (!p->have_first) {
        SOMA_TRY(first_record_end(p));
    } else if (p->nfields < p->ncols) {
        p->st = report(p->err, SOMA_EFORMAT, p->line, p->nfields + 1, at,
                       "record has %zu fields, the first record has %zu", p->nfields,
                       p->ncols);
        hint_field_count(p);
        return p->st;
    } else {
        p->nrows++;
    }
    p->record_complete = false;
    sample_record(p);
    return SOMA_OK;
}

static soma_status append(parser *p, char c)
{
    /* Keep one spare byte for the terminating NUL. */
    if (p->flen + 2 > p->field.cap) {
        if (p->flen > SIZE_MAX - 2)
            return too_large(p);
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

/* The byte at p->offset ended a line: the next one starts after it. */
static void new_line(parser *p)
{
    p->line++;
    p->record_started = false;
    p->nfields = 0;
    p->rec_line = p->line;
    p->rec_offset = p->offset + 1;
    p->at_line_start = p->opt.comment != '\0';
    p->watch = p->at_line_start || p->nseen < NSAMPLE;
    memset(p->cand_cur, 0, sizeof p->cand_cur);
    next_field(p);
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
    new_line(p);
    return SOMA_OK;
}

/* The line feed of a line dropped by skip_lines or as a comment. */
static void skipped_line_end(parser *p)
{
    if (p->skip_left > 0)
        p->skip_left--;
    new_line(p);
    if (p->skip_left > 0)
        p->state = S_SKIP_LINE;
}

/* A byte outside quotes while comments may start or candidates are
 * counted: true when it starts a comment line (and was consumed). */
static bool watched_byte(parser *p, char c)
{
    if (p->at_line_start) {
        /* Only blanks so far on this line (the parser is at a field start). */
        if (c == p->opt.comment) {
            p->state = S_SKIP_LINE;
            p->record_started = false;
            memset(p->cand_cur, 0, sizeof p->cand_cur);
            return true;
        }
        if (!is_blank(p, c))
            p->at_line_start = false;
    }
    if (p->nseen < NSAMPLE)
        for (int j = 0; j < NCAND; j++)
            p->cand_cur[j] += c == candidates[j];
    p->watch = p->at_line_start || p->nseen < NSAMPLE;
    return false;
}

static soma_status stray_cr(parser *p)
{
    p->st = report(p->err, SOMA_EFORMAT, p->field_line, p->nfields + 1, p->field_offset,
                   "carriage return not followed by a line feed");
    return p->st;
}

static soma_status byte_any(parser *p, char c)
{
    const char delim = p->opt.delimiter;
    if (p->state >= S_QUOTED) {
        if (p->state == S_SKIP_LINE) {
            if (c == '\n')
                skipped_line_end(p);
            return SOMA_OK;
        }
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
    if (p->watch && watched_byte(p, c))
        return SOMA_OK;
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
    case S_SKIP_LINE:
        break; /* handled above */
    }
    return SOMA_OK;
}

/* One byte of input. The common case, a byte inside an unquoted field
 * once the first records are sampled, is tested first in a function small
 * enough for the compiler to inline into the loop of feed(). */
static inline soma_status byte(parser *p, char c)
{
    if (p->state == S_UNQUOTED && !p->watch && !p->cr_pending && c != p->opt.delimiter &&
        c != '\n' && c != '\r')
        return append(p, c);
    return byte_any(p, c);
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
    if (p->state != S_SKIP_LINE &&
        (p->record_started || p->nfields > 0 || p->state != S_FIELD_START)) {
        SOMA_TRY(field_end(p));
        SOMA_TRY(record_end(p, p->offset));
    }
    if (!p->have_first && p->skip_left > 0) {
        p->st = report(p->err, SOMA_EFORMAT, p->line, 0, p->offset,
                       "the input ends within the first %zu lines, which skip_lines "
                       "drops: no records left",
                       p->opt.skip_lines);
        return p->st;
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
    growable_free(p, &p->class_text);
    growable_free(p, &p->class_entries);
    soma__free(p->alloc, p->class_slots, p->nslots * sizeof(size_t));
    p->class_slots = NULL;
    p->nslots = 0;
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
        .skip_lines = 0,
        .comment = '\0',
        .label_type = SOMA_CSV_LABELS_NUMERIC,
        .sort_classes = false,
    };
    return o;
}

/* An argument error: SOMA_EINVAL, the argument (or option field) at fault,
 * no position, the message. */
static soma_status arg_error(soma_error_info *err, const char *arg, const char *fmt, ...)
{
    if (err != NULL) {
        err->line = err->column = err->offset = 0;
        snprintf(err->argument, sizeof err->argument, "%s", arg);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return SOMA_EINVAL;
}

/* A byte for a message: 'x', or its code when not printable. */
static void show_byte(char out[16], char c)
{
    unsigned char u = (unsigned char)c;
    if (u > 0x20 && u < 0x7f)
        snprintf(out, 16, "'%c'", c);
    else
        snprintf(out, 16, "byte 0x%02X", u);
}

/* A byte that may start a number: such a delimiter or comment byte would be
 * ambiguous. */
static bool number_byte(char c)
{
    return is_digit(c) || c == '+' || c == '-' || c == '.';
}

static soma_status options_check(const soma_csv_options *o, soma_error_info *err)
{
    const char d = o->delimiter, c = o->comment;
    char shown[16];
    if (d == '\0' || d == '"' || d == '\r' || d == '\n' || number_byte(d) || d == 'e' ||
        d == 'E') {
        show_byte(shown, d);
        return arg_error(err, "opt.delimiter",
                         "option delimiter: %s cannot separate fields (not NUL, '\"', "
                         "CR, LF, or a byte of a number: digits + - . e E)",
                         shown);
    }
    if ((unsigned)o->header >= SOMA_CSV_HEADER_COUNT)
        return arg_error(err, "opt.header",
                         "option header: %d is not a soma_csv_header mode",
                         (int)o->header);
    if ((unsigned)o->label >= SOMA_CSV_LABEL_COUNT)
        return arg_error(err, "opt.label",
                         "option label: %d is not a soma_csv_label mode", (int)o->label);
    if (o->label == SOMA_CSV_LABEL_NAME && o->label_name == NULL)
        return arg_error(err, "opt.label_name",
                         "option label_name: NULL, but label is SOMA_CSV_LABEL_NAME");
    if (o->label == SOMA_CSV_LABEL_NAME && o->header == SOMA_CSV_HEADER_NO)
        return arg_error(err, "opt.label",
                         "option label: SOMA_CSV_LABEL_NAME needs a header, but "
                         "header is SOMA_CSV_HEADER_NO");
    if (c != '\0' && (c == d || c == '"' || c == '\r' || c == '\n' || c == ' ' ||
                      c == '\t' || number_byte(c))) {
        show_byte(shown, c);
        return arg_error(err, "opt.comment",
                         "option comment: %s cannot mark comments (%s); use '#' or "
                         "another byte that cannot start a field",
                         shown,
                         c == d           ? "it is the delimiter"
                         : number_byte(c) ? "a number may start with it"
                                          : "not '\"', CR, LF, space or tab");
    }
    if ((unsigned)o->label_type >= SOMA_CSV_LABELS_COUNT)
        return arg_error(err, "opt.label_type",
                         "option label_type: %d is not a soma_csv_label_type",
                         (int)o->label_type);
    if (o->label_type != SOMA_CSV_LABELS_NUMERIC && o->label == SOMA_CSV_LABEL_NONE)
        return arg_error(err, "opt.label_type",
                         "option label_type: text or auto labels need a label "
                         "column, but label is SOMA_CSV_LABEL_NONE");
    if (o->sort_classes && o->label_type == SOMA_CSV_LABELS_NUMERIC)
        return arg_error(err, "opt.sort_classes",
                         "option sort_classes: applies to class names only, but "
                         "label_type is SOMA_CSV_LABELS_NUMERIC");
    return SOMA_OK;
}

static soma_status parser_init(parser *p, const soma_csv_options *opt,
                               const soma_allocator *alloc, soma_error_info *err)
{
    memset(p, 0, sizeof *p);
    p->opt = opt != NULL ? *opt : soma_csv_defaults();
    SOMA_TRY(options_check(&p->opt, err));
    if (!soma__allocator_valid(alloc))
        return arg_error(
            err, "alloc",
            "alloc has a NULL function: give both, or pass NULL for the C library's");
    p->alloc = alloc;
    p->err = err;
    p->line = p->rec_line = p->field_line = p->first_line = 1;
    p->skip_left = p->opt.skip_lines;
    p->state = p->skip_left > 0 ? S_SKIP_LINE : S_FIELD_START;
    p->at_line_start = p->opt.comment != '\0';
    p->watch = true;
    p->label = SIZE_MAX;
    p->labels_decided = p->opt.label_type != SOMA_CSV_LABELS_AUTO;
    p->text_labels = p->opt.label_type == SOMA_CSV_LABELS_TEXT;
    return SOMA_OK;
}

/* Byte-wise order of names (memcmp, then the shorter first). */
typedef struct sort_name {
    const char *s;
    size_t len, id;
} sort_name;

static int sort_name_cmp(const void *a, const void *b)
{
    const sort_name *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* With sort_classes: every entry's rank = its position in name order. */
static soma_status rank_classes(parser *p)
{
    const size_t k = p->nclasses;
    size_t bytes;
    if (!soma__mul(k, sizeof(sort_name), &bytes))
        return too_large(p);
    sort_name *v = soma__alloc(p->alloc, bytes);
    if (v == NULL)
        return out_of_memory(p, bytes);
    class_entry *e = p->class_entries.data;
    for (size_t i = 0; i < k; i++)
        v[i] = (sort_name){(const char *)p->class_text.data + e[i].start, e[i].len, i};
    qsort(v, k, sizeof *v, sort_name_cmp);
    for (size_t r = 0; r < k; r++)
        e[v[r].id].rank = r;
    soma__free(p->alloc, v, bytes);
    return SOMA_OK;
}

/* The class names block: k pointers, then the names in id order. */
static soma_status class_names_block(parser *p, char **block, size_t *size)
{
    const size_t k = p->nclasses;
    size_t bytes;
    if (!soma__mul(k, sizeof(char *), &bytes) ||
        !soma__add(bytes, p->class_text_len, &bytes))
        return too_large(p);
    char *b = soma__alloc(p->alloc, bytes);
    if (b == NULL)
        return soma__fail_nomem(p->err, bytes, "the class names");
    const char **names = (const char **)(void *)b;
    char *t = b + k * sizeof(char *);
    const class_entry *e = p->class_entries.data;
    for (size_t i = 0; i < k; i++) {
        memcpy(t, (const char *)p->class_text.data + e[i].start, e[i].len + 1);
        names[e[i].rank] = t;
        t += e[i].len + 1;
    }
    *block = b;
    *size = bytes;
    return SOMA_OK;
}

/* Split the parsed table into X and y and commit them. */
static soma_status parser_output(parser *p, soma_matrix *X, soma_matrix *y,
                                 soma_csv_info *info)
{
    const bool has_label = p->label != SIZE_MAX;
    const bool text = has_label && p->text_labels;
    const size_t n = p->nrows, f = p->ncols, d = has_label ? f - 1 : f;
    soma_matrix tx, ty = {0};
    char *block = NULL;
    size_t block_size = 0;
    if (text && p->opt.sort_classes)
        SOMA_TRY(rank_classes(p));
    soma_status st = soma_matrix_init(&tx, n, d, p->alloc);
    if (st != SOMA_OK)
        return soma__fail(p->err, st, "X", "cannot allocate X (%zu x %zu): %s", n, d,
                          soma_status_string(st));
    if (has_label && (st = soma_matrix_init(&ty, n, 1, p->alloc)) != SOMA_OK)
        soma__fail(p->err, st, "y", "cannot allocate y (%zu x 1): %s", n,
                   soma_status_string(st));
    if (st == SOMA_OK && text && info != NULL)
        st = class_names_block(p, &block, &block_size);
    if (st != SOMA_OK) {
        soma_matrix_free(&tx);
        soma_matrix_free(&ty);
        return st;
    }
    const double *v = p->vals.data;
    const class_entry *e = p->class_entries.data;
    for (size_t i = 0; i < n; i++) {
        const double *r = v + i * f;
        if (has_label)
            ty.data[i] = text ? (double)e[(size_t)r[p->label]].rank : r[p->label];
        for (size_t j = 0, k = 0; j < f; j++)
            if (j != p->label)
                tx.data[i * d + k++] = r[j];
    }
    if (info != NULL) {
        size_t k = 0;
        if (text)
            k = p->nclasses;
        else if (has_label && soma__labels_scan(&ty, "y", 0, NULL, &k, NULL) != SOMA_OK)
            k = 0; /* not class ids: negative, fractional or non-finite */
        memset(info, 0, sizeof *info);
        info->rows = n;
        info->fields = f;
        info->has_header = p->has_header;
        info->label_column = p->label;
        info->text_labels = text;
        info->classes = k;
        info->class_names = (const char *const *)(void *)block;
        info->class_names_size = block_size;
        info->alloc = soma__allocator_resolve(p->alloc);
    }
    *X = tx;
    if (has_label)
        *y = ty;
    return SOMA_OK;
}

void soma_csv_info_free(soma_csv_info *info)
{
    if (info == NULL || info->class_names == NULL)
        return;
    /* The block was allocated non-const by the reader. */
    soma__free(&info->alloc, (void *)(uintptr_t)info->class_names,
               info->class_names_size);
    info->class_names = NULL;
    info->class_names_size = 0;
}

static soma_status read_args(const soma_csv_options *opt, soma_matrix *X, soma_matrix *y,
                             soma_error_info *err)
{
    soma_csv_label label = opt != NULL ? opt->label : SOMA_CSV_LABEL_LAST;
    if (X == NULL)
        return arg_error(err, "X", "X is NULL");
    if (y == NULL && label != SOMA_CSV_LABEL_NONE)
        return arg_error(err, "y",
                         "y is NULL but a label column is read (set label to "
                         "SOMA_CSV_LABEL_NONE to read none)");
    return SOMA_OK;
}

static soma_status locale_failed(soma_error_info *err)
{
    return soma__fail(err, SOMA_ENOMEM, NULL,
                      "out of memory creating the \"C\" numeric locale (newlocale)");
}

soma_status soma_csv_read_buffer(const char *text, size_t len,
                                 const soma_csv_options *opt, soma_matrix *X,
                                 soma_matrix *y, soma_csv_info *info,
                                 const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_TRY(read_args(opt, X, y, err));
    if (text == NULL && len > 0)
        return arg_error(err, "text", "text is NULL but len is %zu", len);
    parser p;
    SOMA_TRY(parser_init(&p, opt, alloc, err));
    c_numeric loc = {0};
    soma_status st = c_numeric_enter(&loc);
    if (st != SOMA_OK)
        return locale_failed(err);
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
        return arg_error(err, "path", "path is NULL");
    SOMA_TRY(read_args(opt, X, y, err));
    parser p;
    SOMA_TRY(parser_init(&p, opt, alloc, err));
    /* Plain or gzip (stream.h). */
    soma__stream in;
    SOMA_TRY(soma__stream_open_file(&in, path, alloc, err));
    char *chunk = soma__alloc(alloc, CHUNK);
    c_numeric loc = {0};
    bool in_c = false;
    soma_status st;
    if (chunk == NULL)
        st = soma__fail_nomem(err, CHUNK, "the file block");
    else if ((st = c_numeric_enter(&loc)) != SOMA_OK)
        st = locale_failed(err);
    if (st == SOMA_OK)
        in_c = true;
    while (st == SOMA_OK) {
        size_t got;
        st = soma__stream_read(&in, chunk, CHUNK, &got);
        if (st == SOMA_OK && got > 0)
            st = feed(&p, chunk, got);
        if (got < CHUNK)
            break;
    }
    if (st == SOMA_OK)
        st = finish(&p);
    if (in_c)
        c_numeric_leave(&loc);
    soma__stream_close(&in);
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
