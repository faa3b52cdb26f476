/* Fuzz target: the IDX reader on a memory buffer, plain or gzip.
 *
 * Input: byte 0 = options, byte 1 = the allocation to fail (0: none), then
 * the bytes.
 *   byte 0 bits 0-1: divisor 1, 255, -0.5, 1e-300
 *         bit 2:    allow_nonfinite
 *         bit 3:    the harness gzips the bytes first (builds with zlib),
 *                   so that the IDX parser behind the inflater is explored
 *                   too; raw bytes starting with 1f 8b exercise the
 *                   inflater on broken streams
 *
 * Checks: the status is one the reader documents; on error X and info are
 * untouched, nothing leaks, and for plain input the offset lies inside the
 * input (or at its end); on success the header agrees with the length,
 * info with X, and every value equals an independent decoding of the bytes
 * divided by the divisor (finite unless allow_nonfinite). */
#include <math.h>

#include "fuzz_common.h"

#ifdef FUZZ_HAVE_ZLIB
#include <zlib.h>

/* gzip of data[0..n) (malloc'ed), or NULL. */
static unsigned char *gzip_bytes(const uint8_t *data, size_t n, size_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    const size_t cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *b = malloc(cap);
    FUZZ_CHECK(b != NULL);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    z.next_out = b;
    z.avail_out = (uInt)cap;
    FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    *out = cap - z.avail_out;
    deflateEnd(&z);
    return b;
}
#endif

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The value at p of IDX type t (independent of lib/idx.c). */
static double reference(uint8_t t, const uint8_t *p)
{
    switch (t) {
    case 0x08:
        return p[0];
    case 0x09:
        return p[0] < 128 ? (double)p[0] : (double)p[0] - 256.0;
    case 0x0B: {
        const double v = (double)be(p, 2);
        return v < 32768.0 ? v : v - 65536.0;
    }
    case 0x0C: {
        const double v = (double)be(p, 4);
        return v < 2147483648.0 ? v : v - 4294967296.0;
    }
    case 0x0D: {
        const uint32_t u = (uint32_t)be(p, 4);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    default: {
        const uint64_t u = be(p, 8);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    }
}

static size_t element_size(uint8_t t)
{
    return t == 0x08 || t == 0x09 ? 1 : t == 0x0B ? 2 : t == 0x0C || t == 0x0D ? 4 : 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    const uint8_t opt_bits = fuzz_byte(&in), fail_at = fuzz_byte(&in);
    const uint8_t *raw = in.p;
    const size_t raw_n = in.n;

    static const double divisors[4] = {1.0, 255.0, -0.5, 1e-300};
    soma_idx_options o = soma_idx_defaults();
    o.divisor = divisors[opt_bits & 3];
    o.allow_nonfinite = (opt_bits >> 2) & 1;

    /* What the reader sees, and what it decodes (the same unless the
     * harness gzipped it). */
    const uint8_t *bytes = raw;
    size_t n = raw_n;
    bool wrapped = false;
    unsigned char *gz = NULL;
#ifdef FUZZ_HAVE_ZLIB
    if ((opt_bits >> 3) & 1) {
        gz = gzip_bytes(raw, raw_n, &n);
        FUZZ_CHECK(gz != NULL);
        bytes = gz;
        wrapped = true;
    }
#endif
    const bool gzip_magic = n >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    fuzz_alloc t;
    soma_allocator a = fuzz_allocator(&t, fail_at);
    soma_matrix X, X0;
    soma_idx_info info, info0;
    soma_error_info err;
    memset(&X, 0x5A, sizeof X);
    memset(&info, 0x5A, sizeof info);
    X0 = X;
    memcpy(&info0, &info, sizeof info);
    memset(&err, 0, sizeof err);

    const soma_status st =
        soma_idx_read_buffer(n > 0 ? bytes : NULL, n, &o, &X, &info, &a, &err);

    if (st != SOMA_OK) {
        FUZZ_CHECK(memcmp(&X, &X0, sizeof X) == 0);
        FUZZ_CHECK(memcmp(&info, &info0, sizeof info) == 0);
        FUZZ_CHECK(t.live == 0);
        FUZZ_CHECK(st == SOMA_EFORMAT || st == SOMA_ENONFINITE ||
                   (st == SOMA_ENOMEM && fail_at != 0) ||
                   (st == SOMA_ENOTSUP && gzip_magic));
        if (st == SOMA_ENONFINITE)
            FUZZ_CHECK(!o.allow_nonfinite);
        if (st != SOMA_ENOMEM) {
            FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
            FUZZ_CHECK(err.message[0] != '\0');
            FUZZ_CHECK(err.line == 0 && err.column == 0);
            /* Plain input: inside it or at its end. Gzip content errors
             * count decompressed bytes, the gzip's own compressed ones. */
            if (!gzip_magic)
                FUZZ_CHECK(err.offset <= n);
            if (wrapped && st != SOMA_ENOTSUP)
                FUZZ_CHECK(err.offset <= raw_n);
        }
        free(gz);
        return 0;
    }

    /* Success: the decoded bytes are a well-formed IDX file. */
    FUZZ_CHECK(!gzip_magic || info.gzip);
    const uint8_t *idx = raw;
    size_t idx_n = raw_n;
    if (gzip_magic && !wrapped) {
        /* Raw gzip that inflated: only the shape can be checked. */
        idx = NULL;
    }
    FUZZ_CHECK(info.n_dims >= 1 && info.n_dims <= SOMA_IDX_MAX_DIMS);
    FUZZ_CHECK(info.header_bytes == 4 + 4 * info.n_dims);
    size_t cols = 1;
    for (size_t k = 0; k < info.n_dims; k++) {
        FUZZ_CHECK(info.dims[k] >= 1);
        if (k > 0)
            cols *= info.dims[k];
    }
    for (size_t k = info.n_dims; k < SOMA_IDX_MAX_DIMS; k++)
        FUZZ_CHECK(info.dims[k] == 0);
    FUZZ_CHECK(info.rows == info.dims[0] && info.cols == cols);
    FUZZ_CHECK(X.rows == info.rows && X.cols == info.cols && X.ld == X.cols);
    const size_t es = element_size((uint8_t)info.type);
    if (idx != NULL) {
        FUZZ_CHECK(idx_n == info.header_bytes + X.rows * X.cols * es);
        FUZZ_CHECK(idx[0] == 0 && idx[1] == 0 && idx[2] == (uint8_t)info.type &&
                   idx[3] == info.n_dims);
        for (size_t k = 0; k < info.n_dims; k++)
            FUZZ_CHECK(be(idx + 4 + 4 * k, 4) == info.dims[k]);
        for (size_t i = 0; i < X.rows * X.cols; i++) {
            const double want =
                reference((uint8_t)info.type, idx + info.header_bytes + i * es) /
                o.divisor;
            const double got = X.data[i];
            FUZZ_CHECK((isnan(want) && isnan(got)) || memcmp(&want, &got, 8) == 0);
        }
    }
    if (!o.allow_nonfinite)
        FUZZ_CHECK(soma_matrix_check_finite(&X) == SOMA_OK);
    soma_matrix_free(&X);
    FUZZ_CHECK(t.live == 0);
    free(gz);
    return 0;
}
