/* The matrix products a training step performs, derived from the layer
 * sizes and the batch exactly as lib/dense.c issues them:
 *   forward  l: Z = X W           (m x s[l+1], k = s[l])       NN
 *   dW       l: dW = X^T dZ       (s[l] x s[l+1], k = m)       TN
 *   dX       l: dX = dZ W^T       (m x s[l], k = s[l+1])       NT, l >= 1
 * in the order fit runs them: forward layers 0..L-1, then for l = L-1..0
 * dW then dX. */
#ifndef SOMA_BENCH_SHAPES_H
#define SOMA_BENCH_SHAPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define MAX_PRODUCTS 32

typedef struct product {
    char id[24]; /* "f0", "dW1", "dX2", ... */
    bool ta, tb;
    size_t m, n, k;
} product;

static inline double product_flops(const product *p)
{
    return 2.0 * (double)p->m * (double)p->n * (double)p->k;
}

/* Products of one step of a net with sizes s[0..L] on a batch of m rows;
 * returns how many (at most MAX_PRODUCTS). */
static inline size_t step_products(const size_t *s, size_t L, size_t m, product *out)
{
    size_t n = 0;
    for (size_t l = 0; l < L && n < MAX_PRODUCTS; l++) {
        product p = {"", false, false, m, s[l + 1], s[l]};
        snprintf(p.id, sizeof p.id, "f%zu", l);
        out[n++] = p;
    }
    for (size_t l = L; l-- > 0 && n + 2 <= MAX_PRODUCTS;) {
        product w = {"", true, false, s[l], s[l + 1], m};
        snprintf(w.id, sizeof w.id, "dW%zu", l);
        out[n++] = w;
        if (l > 0) {
            product x = {"", false, true, m, s[l], s[l + 1]};
            snprintf(x.id, sizeof x.id, "dX%zu", l);
            out[n++] = x;
        }
    }
    return n;
}

static inline double step_flops(const size_t *s, size_t L, size_t m)
{
    product p[MAX_PRODUCTS];
    size_t n = step_products(s, L, m, p);
    double f = 0;
    for (size_t i = 0; i < n; i++)
        f += product_flops(&p[i]);
    return f;
}

/* The workloads' nets (WORKLOADS.md), defined in bench_common.c. */
extern const size_t W1_SIZES[4], W3_SIZES[4], W4_SIZES[4];
#define W1_ROWS 300
#define W1_EPOCHS 1000 /* full batch: one step per epoch */
#define W3_ROWS 60000
#define W3_BATCH 128
#define W4_ROWS 100000
#define W4_BATCH 32

#endif /* SOMA_BENCH_SHAPES_H */
