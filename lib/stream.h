/* Byte input for the file readers: a file or a memory buffer, read front to
 * back in blocks, transparently inflated when it is gzip (it starts with the
 * gzip magic 1f 8b, whatever its name; concatenated members are one stream,
 * as gunzip reads them). Builds without zlib refuse gzip input with
 * SOMA_ENOTSUP. Memory (the input block, zlib's state and window) comes from
 * the caller's allocator. Never installed. */
#ifndef SOMA_STREAM_H
#define SOMA_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "internal.h"

/* Size of the input block a file stream reads at a time. */
#define SOMA__STREAM_BLOCK (64 * 1024)

typedef struct soma__stream {
    soma_allocator alloc;
    soma_error_info *err;
    FILE *f;                 /* NULL for a memory buffer */
    const unsigned char *in; /* current input block (the buffer itself for memory) */
    unsigned char *block;    /* file streams: the block buffer */
    size_t in_len, in_pos;   /* bytes in `in`, bytes of it consumed */
    size_t in_base;          /* offset of in[0] in the (compressed) input */
    bool in_eof;             /* no input after `in` */
    bool gzip;               /* the input is gzip */
    bool done;               /* the decompressed stream has ended */
    bool size_known;         /* `size` is the exact number of bytes to read */
    size_t size;
    size_t out; /* bytes delivered so far (decompressed for gzip) */
    void *z;    /* z_stream of a gzip stream */
} soma__stream;

/* Open the file at path. Errors: SOMA_EIO (cannot open or read, the message
 * says why, with strerror), SOMA_ENOTSUP (gzip and no zlib in this build),
 * SOMA_ENOMEM. On error nothing is left open. */
soma_status soma__stream_open_file(soma__stream *s, const char *path,
                                   const soma_allocator *alloc, soma_error_info *err);

/* A stream over data[0..len) (not copied; must outlive the stream). */
soma_status soma__stream_open_buffer(soma__stream *s, const void *data, size_t len,
                                     const soma_allocator *alloc, soma_error_info *err);

/* Read up to cap bytes into buf; *got < cap only at the end of the stream.
 * Errors: SOMA_EFORMAT for corrupt or truncated gzip data (err: the offset
 * in the compressed input where zlib stopped, and zlib's message),
 * SOMA_EIO for a read error, SOMA_ENOMEM. */
soma_status soma__stream_read(soma__stream *s, void *buf, size_t cap, size_t *got);

/* True (and *size = the stream's length in bytes) when it is known before
 * reading: plain regular files and plain buffers. Never for gzip. */
bool soma__stream_size(const soma__stream *s, size_t *size);

/* Release everything; accepts a stream whose open failed (zeroed). */
void soma__stream_close(soma__stream *s);

/* Fill err (if not NULL): no argument, line and column 0, the offset, a
 * formatted message. Returns st. (Every error of the stream fills err,
 * SOMA_ENOMEM included.) */
soma_status soma__error_fmt(soma_error_info *err, soma_status st, size_t offset,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif /* SOMA_STREAM_H */
