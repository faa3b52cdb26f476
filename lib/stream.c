/* Byte input with transparent gzip (stream.h). */
#define _POSIX_C_SOURCE 200809L

#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#ifdef SOMA_HAVE_ZLIB
#include <zlib.h>
#endif

soma_status soma__error_fmt(soma_error_info *err, soma_status st, size_t offset,
                            const char *fmt, ...)
{
    if (err != NULL) {
        err->line = 0;
        err->column = 0;
        err->offset = offset;
        err->argument[0] = '\0';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* strerror without the static buffer (POSIX strerror_r). */
static const char *describe(int e, char buf[96])
{
    if (strerror_r(e, buf, 96) != 0)
        snprintf(buf, 96, "error %d", e);
    return buf;
}

/* ---- zlib --------------------------------------------------------------- */

#ifdef SOMA_HAVE_ZLIB
/* The z_stream and the allocator its zalloc/zfree route to, in one block
 * from that allocator. */
typedef struct zbox {
    z_stream z;
    soma_allocator a;
} zbox;

/* zfree is not told the size soma_allocator's free wants: each block
 * carries it in an aligned header. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    zbox *b = opaque;
    size_t n;
    if (!soma__mul(items, size, &n) || !soma__add(n, SOMA_ALIGN, &n))
        return Z_NULL;
    unsigned char *p = soma__alloc(&b->a, n);
    if (p == NULL)
        return Z_NULL;
    memcpy(p, &n, sizeof n);
    return p + SOMA_ALIGN;
}

static void z_free(voidpf opaque, voidpf ptr)
{
    zbox *b = opaque;
    if (ptr == Z_NULL)
        return;
    unsigned char *p = (unsigned char *)ptr - SOMA_ALIGN;
    size_t n;
    memcpy(&n, p, sizeof n);
    soma__free(&b->a, p, n);
}
#endif

static soma_status gzip_start(soma__stream *s)
{
#ifdef SOMA_HAVE_ZLIB
    zbox *b = soma__calloc(&s->alloc, sizeof *b);
    if (b == NULL)
        return soma__fail_nomem(s->err, sizeof *b, "the gzip stream");
    b->a = s->alloc;
    b->z.zalloc = z_alloc;
    b->z.zfree = z_free;
    b->z.opaque = b;
    /* 16 + MAX_WBITS: gzip members only (the magic was seen). */
    int r = inflateInit2(&b->z, 16 + MAX_WBITS);
    if (r != Z_OK) {
        soma__free(&s->alloc, b, sizeof *b);
        if (r == Z_MEM_ERROR)
            return soma__fail(s->err, SOMA_ENOMEM, "", "out of memory for zlib's state");
        return soma__error_fmt(s->err, SOMA_ENOTSUP, 0, "zlib cannot inflate: %s",
                               zError(r));
    }
    s->z = b;
    s->gzip = true;
    s->size_known = false;
    return SOMA_OK;
#else
    return soma__error_fmt(
        s->err, SOMA_ENOTSUP, 0,
        "the input is gzip-compressed and this build of soma has no "
        "zlib: decompress it first (gunzip FILE) or rebuild with zlib");
#endif
}

/* ---- opening and closing ------------------------------------------------ */

static bool gzip_magic(const soma__stream *s)
{
    return s->in_len >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
}

/* Read the next block of a file stream. */
static soma_status refill(soma__stream *s)
{
    s->in_base += s->in_len;
    s->in_pos = 0;
    s->in_len = fread(s->block, 1, SOMA__STREAM_BLOCK, s->f);
    if (s->in_len < SOMA__STREAM_BLOCK) {
        if (ferror(s->f)) {
            char buf[96];
            const int e = errno;
            s->in_len = 0;
            return soma__error_fmt(s->err, SOMA_EIO, s->in_base, "read error: %s",
                                   describe(e, buf));
        }
        s->in_eof = true;
    }
    return SOMA_OK;
}

soma_status soma__stream_open_file(soma__stream *s, const char *path,
                                   const soma_allocator *alloc, soma_error_info *err)
{
    memset(s, 0, sizeof *s);
    s->alloc = soma__allocator_resolve(alloc);
    s->err = err;
    char buf[96];
    s->f = fopen(path, "rb");
    if (s->f == NULL)
        return soma__error_fmt(err, SOMA_EIO, 0, "cannot open the file: %s",
                               describe(errno, buf));
    soma_status st = SOMA_OK;
    struct stat info;
    if (fstat(fileno(s->f), &info) != 0) {
        st = soma__error_fmt(err, SOMA_EIO, 0, "cannot read the file: %s",
                             describe(errno, buf));
        goto fail;
    }
    if (S_ISDIR(info.st_mode)) {
        st = soma__error_fmt(err, SOMA_EIO, 0, "this is a folder, not a file");
        goto fail;
    }
    if (S_ISREG(info.st_mode) && info.st_size >= 0 &&
        (uintmax_t)info.st_size <= SIZE_MAX) {
        s->size_known = true;
        s->size = (size_t)info.st_size;
    }
    s->block = soma__alloc(&s->alloc, SOMA__STREAM_BLOCK);
    if (s->block == NULL) {
        st = soma__fail_nomem(err, SOMA__STREAM_BLOCK, "the input block");
        goto fail;
    }
    s->in = s->block;
    st = refill(s);
    if (st == SOMA_OK && gzip_magic(s))
        st = gzip_start(s);
    if (st == SOMA_OK)
        return SOMA_OK;
fail:
    soma__stream_close(s);
    return st;
}

soma_status soma__stream_open_buffer(soma__stream *s, const void *data, size_t len,
                                     const soma_allocator *alloc, soma_error_info *err)
{
    memset(s, 0, sizeof *s);
    s->alloc = soma__allocator_resolve(alloc);
    s->err = err;
    s->in = data;
    s->in_len = len;
    s->in_eof = true;
    s->size_known = true;
    s->size = len;
    if (gzip_magic(s)) {
        soma_status st = gzip_start(s);
        if (st != SOMA_OK) {
            soma__stream_close(s);
            return st;
        }
    }
    return SOMA_OK;
}

void soma__stream_close(soma__stream *s)
{
#ifdef SOMA_HAVE_ZLIB
    if (s->z != NULL) {
        zbox *b = s->z;
        inflateEnd(&b->z);
        soma__free(&s->alloc, b, sizeof *b);
    }
#endif
    s->z = NULL;
    if (s->block != NULL)
        soma__free(&s->alloc, s->block, SOMA__STREAM_BLOCK);
    s->block = NULL;
    if (s->f != NULL)
        fclose(s->f);
    s->f = NULL;
}

bool soma__stream_size(const soma__stream *s, size_t *size)
{
    if (!s->size_known || s->gzip)
        return false;
    *size = s->size;
    return true;
}

/* ---- reading ------------------------------------------------------------ */

static soma_status read_plain(soma__stream *s, unsigned char *buf, size_t cap,
                              size_t *got)
{
    size_t n = 0;
    while (n < cap) {
        if (s->in_pos == s->in_len) {
            if (s->in_eof)
                break;
            soma_status st = refill(s);
            if (st != SOMA_OK)
                return st;
            continue;
        }
        size_t k = s->in_len - s->in_pos;
        if (k > cap - n)
            k = cap - n;
        memcpy(buf + n, s->in + s->in_pos, k);
        s->in_pos += k;
        n += k;
    }
    s->out += n;
    *got = n;
    return SOMA_OK;
}

#ifdef SOMA_HAVE_ZLIB
/* After a gzip member: another member, or the end of the input. */
static soma_status member_end(soma__stream *s, z_stream *z)
{
    if (s->in_pos == s->in_len && !s->in_eof)
        SOMA_TRY(refill(s));
    if (s->in_pos == s->in_len) {
        s->done = true;
        return SOMA_OK;
    }
    if (s->in[s->in_pos] != 0x1f)
        return soma__error_fmt(s->err, SOMA_EFORMAT, s->in_base + s->in_pos,
                               "data after the end of the gzip stream at byte %zu of "
                               "the file (not another gzip member)",
                               s->in_base + s->in_pos);
    return inflateReset(z) == Z_OK ? SOMA_OK : SOMA_EFORMAT;
}

static soma_status read_gzip(soma__stream *s, unsigned char *buf, size_t cap, size_t *got)
{
    z_stream *z = &((zbox *)s->z)->z;
    size_t n = 0;
    while (n < cap && !s->done) {
        if (s->in_pos == s->in_len && !s->in_eof)
            SOMA_TRY(refill(s));
        const size_t in_left = s->in_len - s->in_pos, out_left = cap - n;
        z->next_in = (Bytef *)(uintptr_t)(s->in + s->in_pos);
        z->avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        z->next_out = buf + n;
        z->avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
        const uInt avail_in = z->avail_in, avail_out = z->avail_out;
        const int r = inflate(z, Z_NO_FLUSH);
        s->in_pos += avail_in - z->avail_in;
        n += avail_out - z->avail_out;
        const size_t at = s->in_base + s->in_pos;
        switch (r) {
        case Z_OK:
            break;
        case Z_STREAM_END:
            SOMA_TRY(member_end(s, z));
            break;
        case Z_BUF_ERROR: /* no progress possible */
            if (s->in_pos == s->in_len && s->in_eof)
                return soma__error_fmt(s->err, SOMA_EFORMAT, at,
                                       "the gzip data ends early, at byte %zu of the "
                                       "file (truncated?)",
                                       at);
            return soma__error_fmt(s->err, SOMA_EFORMAT, at,
                                   "corrupt gzip data near byte %zu of the file", at);
        case Z_MEM_ERROR:
            return soma__fail(s->err, SOMA_ENOMEM, "", "out of memory for zlib's window");
        default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            return soma__error_fmt(s->err, SOMA_EFORMAT, at,
                                   "corrupt gzip data near byte %zu of the file: %s", at,
                                   z->msg != NULL ? z->msg : zError(r));
        }
    }
    s->out += n;
    *got = n;
    return SOMA_OK;
}
#endif

soma_status soma__stream_read(soma__stream *s, void *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (cap == 0)
        return SOMA_OK;
#ifdef SOMA_HAVE_ZLIB
    if (s->gzip)
        return read_gzip(s, buf, cap, got);
#endif
    return read_plain(s, buf, cap, got);
}
