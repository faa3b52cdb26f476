/* IDX files in (io.h): the header, checked against the bytes present, then
 * the values converted block by block into a matrix. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "stream.h"

/* Plain input is converted in blocks of this many bytes (a multiple of
 * every element size, so no value straddles two blocks). */
#define BLOCK (64 * 1024)

/* Gzip input: the raw values grow from this size, doubling, up to what the
 * header declares. */
#define FIRST_GROWTH (1024 * 1024)

static size_t element_size(unsigned type)
{
    switch (type) {
    case SOMA_IDX_U8:
    case SOMA_IDX_I8:
        return 1;
    case SOMA_IDX_I16:
        return 2;
    case SOMA_IDX_I32:
    case SOMA_IDX_F32:
        return 4;
    case SOMA_IDX_F64:
        return 8;
    default:
        return 0;
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

soma_idx_options soma_idx_defaults(void)
{
    soma_idx_options o = {.divisor = 1.0, .allow_nonfinite = false};
    return o;
}

/* What the header says, and the byte count of the values. */
typedef struct header {
    soma_idx_info info;
    size_t esize;   /* bytes per value */
    size_t payload; /* bytes of values */
} header;

/* Read and check the magic number and the sizes. */
static soma_status read_header(soma__stream *s, header *h, soma_error_info *err)
{
    unsigned char m[4];
    size_t got;
    SOMA_TRY(soma__stream_read(s, m, 4, &got));
    for (size_t i = 0; i < got && i < 2; i++)
        if (m[i] != 0)
            return soma__error_fmt(err, SOMA_EFORMAT, i,
                                   "not an IDX file: byte %zu is 0x%02x, an IDX file "
                                   "starts with two zero bytes",
                                   i, m[i]);
    if (got > 2 && element_size(m[2]) == 0)
        return soma__error_fmt(err, SOMA_EFORMAT, 2,
                               "unknown IDX element type 0x%02x (known: 08 u8, 09 i8, "
                               "0B i16, 0C i32, 0D f32, 0E f64)",
                               m[2]);
    if (got > 3 && m[3] == 0)
        return soma__error_fmt(err, SOMA_EFORMAT, 3,
                               "the IDX header declares zero dimensions (at least 1)");
    if (got < 4)
        return soma__error_fmt(err, SOMA_EFORMAT, got,
                               "the input ends after %zu bytes, inside the 4-byte IDX "
                               "magic number",
                               got);
    const size_t nd = m[3];
    unsigned char d[4 * SOMA_IDX_MAX_DIMS];
    SOMA_TRY(soma__stream_read(s, d, 4 * nd, &got));
    if (got < 4 * nd)
        return soma__error_fmt(err, SOMA_EFORMAT, 4 + got,
                               "the input ends at byte %zu, inside the sizes of the %zu "
                               "dimensions (the header has %zu bytes)",
                               4 + got, nd, 4 + 4 * nd);
    memset(h, 0, sizeof *h);
    h->info.type = (soma_idx_type)m[2];
    h->info.n_dims = nd;
    h->info.header_bytes = 4 + 4 * nd;
    h->esize = element_size(m[2]);
    /* Every product below must fit, including the doubles of the matrix. */
    size_t bytes = h->esize > sizeof(double) ? h->esize : sizeof(double), cols = 1;
    for (size_t k = 0; k < nd; k++) {
        const size_t v = be32(d + 4 * k);
        if (v == 0)
            return soma__error_fmt(err, SOMA_EFORMAT, 4 + 4 * k,
                                   "the size of dimension %zu is 0: the file holds no "
                                   "values",
                                   k);
        if (!soma__mul(bytes, v, &bytes) || (k > 0 && !soma__mul(cols, v, &cols)) ||
            bytes > SIZE_MAX - h->info.header_bytes)
            return soma__error_fmt(err, SOMA_EFORMAT, 4 + 4 * k,
                                   "the sizes of dimensions 0 to %zu multiply to more "
                                   "bytes than memory can hold (corrupt header?)",
                                   k);
        h->info.dims[k] = v;
    }
    h->info.rows = h->info.dims[0];
    h->info.cols = cols;
    h->payload = h->info.rows * cols * h->esize;
    h->info.gzip = s->gzip;
    return SOMA_OK;
}

/* dst[i] = value i of src / divisor, i < count; `first` is the index of
 * src[0] among all values (for the error offset). */
static soma_status convert(const header *h, const soma_idx_options *o,
                           const unsigned char *src, size_t count, size_t first,
                           double *dst, soma_error_info *err)
{
    const size_t es = h->esize;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = src + i * es;
        double v;
        switch (h->info.type) {
        case SOMA_IDX_U8:
            v = p[0];
            break;
        case SOMA_IDX_I8:
            v = (int8_t)p[0];
            break;
        case SOMA_IDX_I16:
            v = (int16_t)(uint16_t)((unsigned)p[0] << 8 | p[1]);
            break;
        case SOMA_IDX_I32:
            v = (int32_t)be32(p);
            break;
        case SOMA_IDX_F32: {
            const uint32_t u = be32(p);
            float f;
            memcpy(&f, &u, sizeof f);
            v = f;
            break;
        }
        default: { /* SOMA_IDX_F64 */
            const uint64_t u = be64(p);
            memcpy(&v, &u, sizeof v);
            break;
        }
        }
        const double x = v / o->divisor;
        if (!isfinite(x) && !o->allow_nonfinite) {
            const size_t k = first + i, at = h->info.header_bytes + k * es;
            if (!isfinite(v))
                return soma__error_fmt(
                    err, SOMA_ENONFINITE, at,
                    "%s at byte %zu (item %zu, value %zu): not allowed "
                    "(allow_nonfinite is off)",
                    isnan(v) ? "NaN" : "infinity", at, k / h->info.cols,
                    k % h->info.cols);
            return soma__error_fmt(err, SOMA_ENONFINITE, at,
                                   "value %g at byte %zu divided by %g is not finite", v,
                                   at, o->divisor);
        }
        dst[i] = x;
    }
    return SOMA_OK;
}

static soma_status truncated(const header *h, size_t present, soma_error_info *err)
{
    const size_t at = h->info.header_bytes + present;
    return soma__error_fmt(err, SOMA_EFORMAT, at,
                           "truncated: the header declares %zu x %zu values (%zu bytes), "
                           "the %sinput ends %zu bytes into them",
                           h->info.rows, h->info.cols, h->payload,
                           h->info.gzip ? "decompressed " : "", present);
}

static soma_status trailing(const header *h, soma_error_info *err)
{
    const size_t at = h->info.header_bytes + h->payload;
    return soma__error_fmt(err, SOMA_EFORMAT, at,
                           "bytes after the last value at byte %zu (the header declares "
                           "%zu x %zu values of %zu bytes)",
                           at, h->info.rows, h->info.cols, h->esize);
}

/* X = rows x cols, or SOMA_ENOMEM with the detail. */
static soma_status matrix_init(soma_matrix *X, const header *h,
                               const soma_allocator *alloc, soma_error_info *err)
{
    soma_status st = soma_matrix_init(X, h->info.rows, h->info.cols, alloc);
    if (st == SOMA_ENOMEM)
        soma__fail_nomem(err, h->info.rows * h->info.cols * sizeof(double), "the matrix");
    return st;
}

/* Known length: check it, then convert block by block into X. */
static soma_status read_known(soma__stream *s, const header *h, size_t total,
                              const soma_idx_options *o, soma_matrix *X,
                              const soma_allocator *alloc, soma_error_info *err)
{
    const size_t want = h->info.header_bytes + h->payload;
    if (total < want) /* (a file that shrank may be shorter than the header) */
        return truncated(
            h, total > h->info.header_bytes ? total - h->info.header_bytes : 0, err);
    if (total > want)
        return trailing(h, err);
    const size_t block = h->payload < BLOCK ? h->payload : BLOCK;
    unsigned char *buf = soma__alloc(alloc, block);
    if (buf == NULL)
        return soma__fail_nomem(err, block, "a block of the input");
    soma_status st = matrix_init(X, h, alloc, err);
    for (size_t done = 0; st == SOMA_OK && done < h->payload;) {
        const size_t n = h->payload - done < block ? h->payload - done : block;
        size_t got;
        st = soma__stream_read(s, buf, n, &got);
        if (st == SOMA_OK && got < n) /* the file shrank while being read */
            st = truncated(h, done + got, err);
        if (st == SOMA_OK)
            st = convert(h, o, buf, n / h->esize, done / h->esize,
                         X->data + done / h->esize, err);
        done += n;
    }
    soma__free(alloc, buf, block);
    if (st != SOMA_OK)
        soma_matrix_free(X);
    return st;
}

/* Unknown length (gzip, pipes): gather the values in a buffer that grows
 * with the data actually read, up to the declared size; then X. */
static soma_status read_unknown(soma__stream *s, const header *h,
                                const soma_idx_options *o, soma_matrix *X,
                                const soma_allocator *alloc, soma_error_info *err)
{
    size_t cap = h->payload < FIRST_GROWTH ? h->payload : FIRST_GROWTH, have = 0;
    unsigned char *buf = soma__alloc(alloc, cap);
    if (buf == NULL)
        return soma__fail_nomem(err, cap, "the decompressed values");
    soma_status st = SOMA_OK;
    for (;;) {
        size_t got;
        st = soma__stream_read(s, buf + have, cap - have, &got);
        if (st != SOMA_OK)
            goto done;
        have += got;
        if (have < cap) {
            st = truncated(h, have, err);
            goto done;
        }
        if (have == h->payload)
            break;
        const size_t grown = cap > h->payload / 2 ? h->payload : 2 * cap;
        unsigned char *bigger = soma__alloc(alloc, grown);
        if (bigger == NULL) {
            st = soma__fail_nomem(err, grown, "the decompressed values");
            goto done;
        }
        memcpy(bigger, buf, have);
        soma__free(alloc, buf, cap);
        buf = bigger;
        cap = grown;
    }
    /* Nothing may follow (reading on also checks the gzip trailer). */
    unsigned char extra;
    size_t got;
    st = soma__stream_read(s, &extra, 1, &got);
    if (st == SOMA_OK && got > 0)
        st = trailing(h, err);
    if (st == SOMA_OK)
        st = matrix_init(X, h, alloc, err);
    if (st == SOMA_OK) {
        st = convert(h, o, buf, h->payload / h->esize, 0, X->data, err);
        if (st != SOMA_OK)
            soma_matrix_free(X);
    }
done:
    soma__free(alloc, buf, cap);
    return st;
}

static soma_status read_stream(soma__stream *s, const soma_idx_options *o, soma_matrix *X,
                               soma_idx_info *info, const soma_allocator *alloc,
                               soma_error_info *err)
{
    header h;
    SOMA_TRY(read_header(s, &h, err));
    soma_matrix tx = {0};
    size_t total;
    if (soma__stream_size(s, &total))
        SOMA_TRY(read_known(s, &h, total, o, &tx, alloc, err));
    else
        SOMA_TRY(read_unknown(s, &h, o, &tx, alloc, err));
    *X = tx;
    if (info != NULL)
        *info = h.info;
    return SOMA_OK;
}

static soma_status check_args(const soma_idx_options *opt, const soma_matrix *X,
                              const soma_allocator *alloc, soma_idx_options *o,
                              soma_error_info *err)
{
    *o = opt != NULL ? *opt : soma_idx_defaults();
    SOMA_REQUIRE(X != NULL, err, SOMA_EINVAL, "X",
                 "X is NULL: pass a soma_matrix to receive the values");
    SOMA_REQUIRE(soma__allocator_valid(alloc), err, SOMA_EINVAL, "alloc",
                 "alloc lacks its alloc or free function: give both, or pass NULL for "
                 "the C library's");
    SOMA_REQUIRE(isfinite(o->divisor) && o->divisor != 0.0, err, SOMA_EINVAL,
                 "opt.divisor",
                 "opt.divisor is %g: it must be finite and not 0 (1 keeps the values, "
                 "255 maps bytes to [0, 1])",
                 o->divisor);
    return SOMA_OK;
}

soma_status soma_idx_read_buffer(const void *data, size_t len,
                                 const soma_idx_options *opt, soma_matrix *X,
                                 soma_idx_info *info, const soma_allocator *alloc,
                                 soma_error_info *err)
{
    soma_idx_options o;
    SOMA_TRY(check_args(opt, X, alloc, &o, err));
    SOMA_REQUIRE(data != NULL || len == 0, err, SOMA_EINVAL, "data",
                 "data is NULL but len is %zu", len);
    soma__stream s;
    SOMA_TRY(soma__stream_open_buffer(&s, data, len, alloc, err));
    soma_status st = read_stream(&s, &o, X, info, alloc, err);
    soma__stream_close(&s);
    return st;
}

soma_status soma_idx_read_file(const char *path, const soma_idx_options *opt,
                               soma_matrix *X, soma_idx_info *info,
                               const soma_allocator *alloc, soma_error_info *err)
{
    SOMA_REQUIRE(path != NULL, err, SOMA_EINVAL, "path",
                 "path is NULL: name the IDX file");
    soma_idx_options o;
    SOMA_TRY(check_args(opt, X, alloc, &o, err));
    soma__stream s;
    SOMA_TRY(soma__stream_open_file(&s, path, alloc, err));
    soma_status st = read_stream(&s, &o, X, info, alloc, err);
    soma__stream_close(&s);
    return st;
}

/* Copy a reader's error into err, naming the file's argument (in front of
 * the message too). */
static soma_status prefixed(soma_status st, const char *arg, const soma_error_info *e,
                            soma_error_info *err)
{
    if (err != NULL) {
        /* "arg: message", cut to fit. */
        soma_error_info tmp = *e;
        const size_t cap = sizeof tmp.message, r = strlen(arg);
        size_t n = strnlen(e->message, cap);
        if (n > cap - r - 3)
            n = cap - r - 3;
        memcpy(tmp.message, arg, r);
        memcpy(tmp.message + r, ": ", 2);
        memcpy(tmp.message + r + 2, e->message, n);
        tmp.message[r + 2 + n] = '\0';
        snprintf(tmp.argument, sizeof tmp.argument, "%s", arg);
        *err = tmp;
    }
    return st;
}

soma_status soma_idx_read_pair(const char *images_path, const char *labels_path,
                               const soma_idx_options *opt, soma_matrix *X,
                               soma_matrix *y, soma_idx_info *images_info,
                               soma_idx_info *labels_info, const soma_allocator *alloc,
                               soma_error_info *err)
{
    SOMA_REQUIRE(images_path != NULL, err, SOMA_EINVAL, "images_path",
                 "images_path is NULL: name the images file");
    SOMA_REQUIRE(labels_path != NULL, err, SOMA_EINVAL, "labels_path",
                 "labels_path is NULL: name the labels file");
    soma_idx_options o;
    SOMA_TRY(check_args(opt, X, alloc, &o, err));
    SOMA_REQUIRE(y != NULL, err, SOMA_EINVAL, "y",
                 "y is NULL: pass a soma_matrix to receive the labels");
    soma_matrix tx = {0}, ty = {0};
    soma_idx_info ix, iy, *hx = &ix, *hy = &iy;
    soma_error_info e = {0};
    const soma_idx_options raw = soma_idx_defaults();
    soma_status st = soma_idx_read_file(images_path, &o, &tx, hx, alloc, &e);
    if (st != SOMA_OK) {
        st = prefixed(st, "images_path", &e, err);
        goto done;
    }
    st = soma_idx_read_file(labels_path, &raw, &ty, hy, alloc, &e);
    if (st != SOMA_OK) {
        st = prefixed(st, "labels_path", &e, err);
        goto done;
    }
    if (hy->cols != 1) {
        soma__error_fmt(&e, SOMA_EFORMAT, 3,
                        "%zu values per item (%zu dimensions); a labels file has one",
                        hy->cols, hy->n_dims);
        st = prefixed(SOMA_EFORMAT, "labels_path", &e, err);
        goto done;
    }
    if (hy->rows != hx->rows) {
        soma__error_fmt(&e, SOMA_EFORMAT, 4,
                        "%zu labels for %zu images: the files do not belong together",
                        hy->rows, hx->rows);
        st = prefixed(SOMA_EFORMAT, "labels_path", &e, err);
        goto done;
    }
    *X = tx;
    *y = ty;
    if (images_info != NULL)
        *images_info = *hx;
    if (labels_info != NULL)
        *labels_info = *hy;
    tx = (soma_matrix){0};
    ty = (soma_matrix){0};
done:
    soma_matrix_free(&tx);
    soma_matrix_free(&ty);
    return st;
}
