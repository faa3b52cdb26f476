#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_alloc(void *user, size_t size, size_t alignment)
{
    (void)user;
    /* aligned_alloc wants a multiple of the alignment. */
    size_t rounded;
    if (!soma__add(size, alignment - 1, &rounded))
        return NULL;
    rounded -= rounded % alignment;
    return aligned_alloc(alignment, rounded);
}

static void default_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

soma_allocator soma__allocator_resolve(const soma_allocator *a)
{
    if (a != NULL)
        return *a;
    soma_allocator d = {default_alloc, default_free, NULL};
    return d;
}

bool soma__allocator_valid(const soma_allocator *a)
{
    return a == NULL || (a->alloc != NULL && a->free != NULL);
}

void *soma__alloc(const soma_allocator *a, size_t bytes)
{
    if (bytes == 0)
        return NULL;
    if (a == NULL || a->alloc == NULL)
        return default_alloc(NULL, bytes, SOMA_ALIGN);
    return a->alloc(a->user, bytes, SOMA_ALIGN);
}

void soma__free(const soma_allocator *a, void *p, size_t bytes)
{
    if (p == NULL)
        return;
    if (a == NULL || a->free == NULL)
        default_free(NULL, p, bytes);
    else
        a->free(a->user, p, bytes);
}

void *soma__calloc(const soma_allocator *a, size_t bytes)
{
    void *p = soma__alloc(a, bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}
