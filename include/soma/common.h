/**
 * @file common.h
 * @brief Export macros, version, and the caller-supplied allocator.
 *
 * Every other public header includes this one. It declares nothing that
 * allocates or holds state.
 */
#ifndef SOMA_COMMON_H
#define SOMA_COMMON_H

#include <stddef.h>

#define SOMA_VERSION_MAJOR 0
#define SOMA_VERSION_MINOR 2
#define SOMA_VERSION_PATCH 0
#define SOMA_VERSION_STRING "0.2.0"

/* Symbols are hidden by default when the library is built; SOMA_API marks
 * the public ones. Harmless for static builds and for users. */
#if defined(__GNUC__) || defined(__clang__)
#define SOMA_API __attribute__((visibility("default")))
#define SOMA_NODISCARD __attribute__((warn_unused_result))
#else
#define SOMA_API
#define SOMA_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Memory provider for every soma object that allocates.
 *
 * `alloc(user, size, alignment)` returns `size` bytes aligned to `alignment`
 * (a power of two, always 64 in soma) or NULL on failure. `free(user, ptr,
 * size)` releases a block returned by `alloc`; `size` is the size that was
 * asked for. A NULL `soma_allocator *` anywhere in the API means the C
 * library's `aligned_alloc`/`free`. The allocator must outlive every object
 * created with it; soma copies the struct, not what `user` points to.
 */
typedef struct soma_allocator {
    void *(*alloc)(void *user, size_t size, size_t alignment);
    void (*free)(void *user, void *ptr, size_t size);
    void *user;
} soma_allocator;

/** @brief Version of the library actually linked, e.g. "0.2.0". */
SOMA_API const char *soma_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_COMMON_H */
