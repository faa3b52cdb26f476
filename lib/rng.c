#include <math.h>

#include "internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

soma_status soma_rng_seed(soma_rng *rng, uint64_t seed)
{
    if (rng == NULL)
        return SOMA_EINVAL;
    uint64_t x = seed;
    /* splitmix64 never yields four zero words in a row, so the state is valid. */
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    rng->spare = 0.0;
    rng->has_spare = 0;
    return SOMA_OK;
}

uint64_t soma__rng_below(soma_rng *r, uint64_t n)
{
    /* Reject the lowest (2^64 mod n) outputs so that x % n is unbiased. */
    const uint64_t threshold = (0 - n) % n;
    uint64_t x;
    do {
        x = soma__rng_next(r);
    } while (x < threshold);
    return x % n;
}

double soma__rng_normal(soma_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    /* Box-Muller on u1 in (0, 1] so that log never sees zero. */
    double u1 = 1.0 - soma__rng_uniform(r);
    double u2 = soma__rng_uniform(r);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 6.283185307179586476925 * u2; /* 2 pi */
    r->spare = radius * sin(angle);
    r->has_spare = 1;
    return radius * cos(angle);
}

void soma__rng_shuffle(soma_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)soma__rng_below(r, (uint64_t)i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

soma_status soma_rng_u64(soma_rng *rng, uint64_t *out)
{
    if (rng == NULL || out == NULL)
        return SOMA_EINVAL;
    *out = soma__rng_next(rng);
    return SOMA_OK;
}

soma_status soma_rng_uniform(soma_rng *rng, size_t n, double *out)
{
    if (rng == NULL || (out == NULL && n > 0))
        return SOMA_EINVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = soma__rng_uniform(rng);
    return SOMA_OK;
}

soma_status soma_rng_uniform_range(soma_rng *rng, size_t n, double lo, double hi,
                                   double *out)
{
    if (rng == NULL || (out == NULL && n > 0) || !isfinite(lo) || !isfinite(hi) ||
        !(lo < hi) || !isfinite(hi - lo))
        return SOMA_EINVAL;
    const double w = hi - lo;
    for (size_t i = 0; i < n; i++) {
        double v = lo + w * soma__rng_uniform(rng);
        /* Rounding can land exactly on hi; keep the interval half-open. */
        out[i] = v < hi ? v : nextafter(hi, lo);
    }
    return SOMA_OK;
}

soma_status soma_rng_normal(soma_rng *rng, size_t n, double mean, double sd, double *out)
{
    if (rng == NULL || (out == NULL && n > 0) || !isfinite(mean) || !isfinite(sd) ||
        sd < 0)
        return SOMA_EINVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = mean + sd * soma__rng_normal(rng);
    return SOMA_OK;
}

soma_status soma_rng_shuffle(soma_rng *rng, size_t *idx, size_t n)
{
    if (rng == NULL || (idx == NULL && n > 0))
        return SOMA_EINVAL;
    soma__rng_shuffle(rng, idx, n);
    return SOMA_OK;
}

soma_status soma_rng_permutation(soma_rng *rng, size_t n, size_t *idx)
{
    if (rng == NULL || (idx == NULL && n > 0))
        return SOMA_EINVAL;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    soma__rng_shuffle(rng, idx, n);
    return SOMA_OK;
}
