/* Little-endian encoding, bounds-checked decoding and CRC-32 for the file
 * formats. Never installed. */
#ifndef SOMA_BYTES_H
#define SOMA_BYTES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static inline uint64_t soma__le64(uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(x);
#else
    return x;
#endif
}

/* Writer over a buffer that may be NULL (then it only counts). */
typedef struct soma__writer {
    unsigned char *buf;
    size_t cap, len;
} soma__writer;

static inline void soma__put(soma__writer *w, const void *p, size_t n)
{
    if (w->buf != NULL && w->len + n <= w->cap)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static inline void soma__put_u64(soma__writer *w, uint64_t v)
{
    v = soma__le64(v);
    soma__put(w, &v, 8);
}

static inline void soma__put_u32(soma__writer *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                          (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    soma__put(w, b, 4);
}

static inline void soma__put_f64(soma__writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    soma__put_u64(w, v);
}

/* Reader: every get fails (returns false, reads nothing) past the end. */
typedef struct soma__reader {
    const unsigned char *buf;
    size_t len, pos;
} soma__reader;

static inline bool soma__get(soma__reader *r, void *p, size_t n)
{
    if (n > r->len - r->pos)
        return false;
    memcpy(p, r->buf + r->pos, n);
    r->pos += n;
    return true;
}

static inline bool soma__get_u64(soma__reader *r, uint64_t *v)
{
    if (!soma__get(r, v, 8))
        return false;
    *v = soma__le64(*v);
    return true;
}

static inline bool soma__get_u32(soma__reader *r, uint32_t *v)
{
    unsigned char b[4];
    if (!soma__get(r, b, 4))
        return false;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
         (uint32_t)b[3] << 24;
    return true;
}

static inline bool soma__get_f64(soma__reader *r, double *d)
{
    uint64_t v;
    if (!soma__get_u64(r, &v))
        return false;
    memcpy(d, &v, 8);
    return true;
}

/* Bytes left to read. */
static inline size_t soma__left(const soma__reader *r)
{
    return r->len - r->pos;
}

/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) of data[0..n). */
uint32_t soma__crc32(const void *data, size_t n);

/* Atomic replacement of a file: soma__atomic_open creates a temporary file
 * next to path and gives a stream to write; soma__atomic_commit(ok) flushes,
 * fsyncs and renames it over path (then fsyncs the folder), or, when ok is
 * false or any step fails, removes it. The destination is either the old
 * file or the complete new one. Test builds with SOMA_FAULT_INJECTION fail
 * the step named by SOMA_FAULT=write|fsync|rename, or every write past the
 * first N bytes with SOMA_FAULT=write-after:N (see fileio.c). */
typedef struct soma__atomic_file {
    FILE *f;
    int fd; /* f's descriptor (a fault-injection stream has no fileno) */
    const char *path;
    char *tmp;
    size_t bytes;
    soma_allocator alloc;
} soma__atomic_file;

soma_status soma__atomic_open(soma__atomic_file *af, const char *path,
                              const soma_allocator *alloc, soma_error_info *err);
soma_status soma__atomic_commit(soma__atomic_file *af, bool ok, soma_error_info *err);

/* Write data[0..n) to path atomically through the two functions above.
 * Failures are SOMA_EIO with the path, the step and strerror in err. */
soma_status soma__write_atomic(const char *path, const void *data, size_t n,
                               const soma_allocator *alloc, soma_error_info *err);

/* Read a whole file into a buffer from alloc (*size bytes, freed by the
 * caller with soma__free(alloc, *data, *size)). */
soma_status soma__read_file(const char *path, const soma_allocator *alloc, void **data,
                            size_t *size);

/* Fill err (if not NULL) with an offset and a message. */
void soma__error_set(soma_error_info *err, size_t line, size_t column, size_t offset,
                     const char *message);

#endif /* SOMA_BYTES_H */
