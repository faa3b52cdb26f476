/**
 * @file rng.h
 * @brief Seeded pseudo-random numbers: xoshiro256** seeded through splitmix64.
 *
 * A `soma_rng` is a small value the caller owns (stack or struct member);
 * nothing in soma keeps a hidden generator. The same seed gives the same
 * sequence on every run, platform and build. A generator must not be used
 * from two threads at once; give each thread its own.
 */
#ifndef SOMA_RNG_H
#define SOMA_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Generator state. Treat as opaque; copy it to fork a stream. */
typedef struct soma_rng {
    uint64_t s[4]; /**< xoshiro256** state, never all zero */
    double spare;  /**< second Box-Muller normal, valid if has_spare */
    int has_spare; /**< 1 when spare holds an unused normal */
} soma_rng;

/** @brief Seed from a 64-bit value (any value, 0 included). SOMA_EINVAL if rng is NULL.
 */
SOMA_API SOMA_NODISCARD soma_status soma_rng_seed(soma_rng *rng, uint64_t seed);

/** @brief *out = next raw 64-bit output. */
SOMA_API SOMA_NODISCARD soma_status soma_rng_u64(soma_rng *rng, uint64_t *out);

/** @brief out[i] = uniform double in [0, 1) (53 random bits), i < n. */
SOMA_API SOMA_NODISCARD soma_status soma_rng_uniform(soma_rng *rng, size_t n,
                                                     double *out);

/** @brief out[i] = uniform double in [lo, hi), i < n. SOMA_EINVAL unless
 *  lo < hi and both finite. */
SOMA_API SOMA_NODISCARD soma_status soma_rng_uniform_range(soma_rng *rng, size_t n,
                                                           double lo, double hi,
                                                           double *out);

/** @brief out[i] = mean + sd * N(0, 1) (Box-Muller), i < n. SOMA_EINVAL
 *  unless mean is finite and sd is finite and >= 0. */
SOMA_API SOMA_NODISCARD soma_status soma_rng_normal(soma_rng *rng, size_t n, double mean,
                                                    double sd, double *out);

/** @brief Shuffle idx[0..n) in place (Fisher-Yates, unbiased). */
SOMA_API SOMA_NODISCARD soma_status soma_rng_shuffle(soma_rng *rng, size_t *idx,
                                                     size_t n);

/** @brief idx = a uniformly random permutation of 0..n-1. */
SOMA_API SOMA_NODISCARD soma_status soma_rng_permutation(soma_rng *rng, size_t n,
                                                         size_t *idx);

#ifdef __cplusplus
}
#endif

#endif /* SOMA_RNG_H */
