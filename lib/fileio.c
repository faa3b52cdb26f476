/* Atomic file writes, whole-file reads and CRC-32 for the file formats. */
#if defined(SOMA_FAULT_INJECTION)
#define _GNU_SOURCE /* fopencookie, for the mid-stream write fault */
#else
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"

uint32_t soma__crc32(const void *data, size_t n)
{
    /* The table is rebuilt per call (1 KiB, ~2k operations) rather than kept
     * in a global: no mutable global state, and the cost is negligible next
     * to the file I/O around it. */
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

void soma__error_set(soma_error_info *err, size_t line, size_t column, size_t offset,
                     const char *message)
{
    if (err == NULL)
        return;
    err->line = line;
    err->column = column;
    err->offset = offset;
    err->argument[0] = '\0';
    snprintf(err->message, sizeof err->message, "%s", message);
}

/* Test builds (meson -Dfault_injection=true) can make one step of an
 * atomic write fail: SOMA_FAULT=write|fsync|rename in the environment
 * (write: the final flush), or SOMA_FAULT=write-after:N: every write to the
 * temporary file fails once N bytes have reached it, as on a full disk, so
 * that the writer sees the error in the middle of its stream. */
static bool fault(const char *step)
{
#if defined(SOMA_FAULT_INJECTION)
    const char *f = getenv("SOMA_FAULT");
    return f != NULL && strcmp(f, step) == 0;
#else
    (void)step;
    return false;
#endif
}

#if defined(SOMA_FAULT_INJECTION)
typedef struct limited_stream {
    int fd;
    size_t written, limit;
} limited_stream;

static ssize_t limited_write(void *cookie, const char *buf, size_t size)
{
    limited_stream *ls = cookie;
    size_t room = ls->limit - ls->written, n = size < room ? size : room, done = 0;
    while (done < n) {
        ssize_t r = write(ls->fd, buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    ls->written += done;
    if (done < size) {
        errno = ENOSPC;
        return done > 0 ? (ssize_t)done : -1;
    }
    return (ssize_t)done;
}

static int limited_close(void *cookie)
{
    limited_stream *ls = cookie;
    int r = close(ls->fd);
    free(ls);
    return r;
}

/* The stream of the temporary file: plain, or limited to N bytes under
 * SOMA_FAULT=write-after:N. (The limited stream's bookkeeping is allocated
 * with malloc: test builds only.) */
static FILE *open_stream(int fd)
{
    const char *f = getenv("SOMA_FAULT");
    if (f == NULL || strncmp(f, "write-after:", 12) != 0)
        return fdopen(fd, "wb");
    limited_stream *ls = malloc(sizeof *ls);
    if (ls == NULL)
        return NULL;
    *ls = (limited_stream){fd, 0, (size_t)strtoull(f + 12, NULL, 10)};
    cookie_io_functions_t io = {NULL, limited_write, NULL, limited_close};
    FILE *s = fopencookie(ls, "wb", io);
    if (s == NULL)
        free(ls);
    return s;
}
#else
static FILE *open_stream(int fd)
{
    return fdopen(fd, "wb");
}
#endif

/* fsync the folder holding a path, so a rename in it is durable. Best
 * effort: some file systems refuse fsync on folders. `path` is modified. */
static void sync_folder(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash == NULL)
        strcpy(path, ".");
    else if (slash == path)
        path[1] = '\0';
    else
        *slash = '\0';
    int dfd = open(path, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

/* SOMA_EIO naming the file, the failed step and the system's reason. */
static soma_status io_fail(soma_error_info *err, const char *path, const char *step,
                           int errnum)
{
    return soma__fail(err, SOMA_EIO, "path",
                      "cannot save to path '%.120s': %s failed: %s", path, step,
                      errnum != 0 ? strerror(errnum) : "injected fault");
}

soma_status soma__atomic_open(soma__atomic_file *af, const char *path,
                              const soma_allocator *alloc, soma_error_info *err)
{
    static const char suffix[] = ".tmp-XXXXXX";
    const size_t plen = strlen(path);
    memset(af, 0, sizeof *af);
    af->alloc = soma__allocator_resolve(alloc);
    af->bytes = plen + sizeof suffix;
    af->tmp = soma__alloc(&af->alloc, af->bytes);
    if (af->tmp == NULL)
        return soma__fail_nomem(err, af->bytes, "the temporary file name");
    memcpy(af->tmp, path, plen);
    memcpy(af->tmp + plen, suffix, sizeof suffix);
    af->path = path;
    const char *step = "creating the temporary file";
    int fd = mkstemp(af->tmp);
    if (fd < 0)
        goto fail;
    /* Keep the mode of the file being replaced; a new file gets 0644. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644;
    step = "opening the temporary file";
    af->fd = fd;
    if (fchmod(fd, mode) != 0 || (af->f = open_stream(fd)) == NULL) {
        const int e = errno;
        close(fd);
        unlink(af->tmp);
        errno = e;
        goto fail;
    }
    return SOMA_OK;
fail:;
    const int e = errno;
    soma__free(&af->alloc, af->tmp, af->bytes);
    af->tmp = NULL;
    return io_fail(err, path, step, e);
}

soma_status soma__atomic_commit(soma__atomic_file *af, bool ok, soma_error_info *err)
{
    /* Flush and fsync the data, then rename over the destination; any
     * failure removes the temporary file and leaves the destination as it
     * was. The first failing step and its errno go into err. */
    const char *step = ok ? NULL : "writing";
    int e = ok ? 0 : errno;
#define STEP(name, cond)                                                                 \
    do {                                                                                 \
        if (step == NULL) {                                                              \
            errno = 0;                                                                   \
            if (!(cond)) {                                                               \
                step = name;                                                             \
                e = errno;                                                               \
            }                                                                            \
        }                                                                                \
    } while (0)
    STEP("writing", !fault("write") && fflush(af->f) == 0 && !ferror(af->f));
    STEP("fsync", !fault("fsync") && fsync(af->fd) == 0);
    if (fclose(af->f) != 0 && step == NULL) {
        step = "closing";
        e = errno;
    }
    STEP("renaming the temporary file over it",
         !fault("rename") && rename(af->tmp, af->path) == 0);
#undef STEP
    if (step == NULL)
        sync_folder(af->tmp);
    else
        unlink(af->tmp);
    const char *path = af->path;
    soma__free(&af->alloc, af->tmp, af->bytes);
    memset(af, 0, sizeof *af);
    return step == NULL ? SOMA_OK : io_fail(err, path, step, e);
}

soma_status soma__write_atomic(const char *path, const void *data, size_t n,
                               const soma_allocator *alloc, soma_error_info *err)
{
    soma__atomic_file af;
    SOMA_TRY(soma__atomic_open(&af, path, alloc, err));
    return soma__atomic_commit(&af, fwrite(data, 1, n, af.f) == n, err);
}

soma_status soma__read_file(const char *path, const soma_allocator *alloc, void **data,
                            size_t *size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return SOMA_EIO;
    soma_status st = SOMA_EIO;
    struct stat s;
    unsigned char *buf = NULL;
    size_t n = 0;
    if (fstat(fd, &s) != 0 || !S_ISREG(s.st_mode) || s.st_size < 0)
        goto done;
    if ((uintmax_t)s.st_size > SIZE_MAX) {
        st = SOMA_EOVERFLOW;
        goto done;
    }
    n = (size_t)s.st_size;
    if (n == 0) { /* nothing to read: no buffer */
        *data = NULL;
        *size = 0;
        st = SOMA_OK;
        goto done;
    }
    buf = soma__alloc(alloc, n);
    if (buf == NULL) {
        st = SOMA_ENOMEM;
        goto done;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got != n) {
        soma__free(alloc, buf, n);
        goto done;
    }
    *data = buf;
    *size = n;
    st = SOMA_OK;
done:
    close(fd);
    return st;
}
