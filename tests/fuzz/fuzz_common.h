/* Shared by the fuzz targets: a check that aborts (the harness, not the
 * library, may abort: that is how a fuzzer reports a finding), a counting
 * allocator that can fail its k-th allocation, and a reader of the input
 * bytes. Never part of the library. */
#ifndef SOMA_FUZZ_COMMON_H
#define SOMA_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <soma.h>

/* The libFuzzer entry point every target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* Counting allocator; fails allocation number fail_at (1-based) if > 0. */
typedef struct fuzz_alloc {
    size_t allocs, live;
    size_t fail_at;
} fuzz_alloc;

static void *fuzz_alloc_fn(void *user, size_t size, size_t alignment)
{
    fuzz_alloc *t = user;
    t->allocs++;
    if (t->fail_at != 0 && t->allocs == t->fail_at)
        return NULL;
    size_t rounded = (size + alignment - 1) / alignment * alignment;
    void *p = aligned_alloc(alignment, rounded);
    if (p != NULL)
        t->live += size;
    return p;
}

static void fuzz_free_fn(void *user, void *ptr, size_t size)
{
    fuzz_alloc *t = user;
    t->live -= size;
    free(ptr);
}

static inline soma_allocator fuzz_allocator(fuzz_alloc *t, size_t fail_at)
{
    memset(t, 0, sizeof *t);
    t->fail_at = fail_at;
    soma_allocator a = {fuzz_alloc_fn, fuzz_free_fn, t};
    return a;
}

/* Reads the input front to back; past the end every read gives 0. */
typedef struct fuzz_input {
    const uint8_t *p;
    size_t n;
} fuzz_input;

static inline uint8_t fuzz_byte(fuzz_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_input *in)
{
    uint16_t lo = fuzz_byte(in);
    return (uint16_t)(lo | (uint16_t)fuzz_byte(in) << 8);
}

static inline uint32_t fuzz_u32(fuzz_input *in)
{
    uint32_t lo = fuzz_u16(in);
    return lo | (uint32_t)fuzz_u16(in) << 16;
}

#endif /* SOMA_FUZZ_COMMON_H */
