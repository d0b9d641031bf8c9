/* Deterministic pseudo-random numbers for the fleet generator: splitmix64
 * for seeding and hashing, xoshiro256** for streams. Same seed, same
 * sequence, on every platform (integer arithmetic only; doubles come from
 * the top 53 bits). Not cryptographic; not thread-safe per rng_t. */
#ifndef BENCH_RNG_H
#define BENCH_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng_t;

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Mixes two values into one well-distributed 64-bit value. */
static inline uint64_t mix64(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b * 0xd1342543de82ef95ULL);
    splitmix64(&x);
    return splitmix64(&x);
}

/* FNV-1a over a string, then mixed: a stable digest seed for names. */
static inline uint64_t hash_str(const char *s, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return mix64(h, seed);
}

static inline void rng_seed(rng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); n > 0. (Lemire's multiply-shift; the tiny bias is
 * irrelevant for a simulator and the result is deterministic.) */
static inline uint32_t rng_below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi] (inclusive); lo <= hi. */
static inline int64_t rng_range(rng_t *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    if (span == 0)
        return (int64_t)rng_next(r);
    return lo + (int64_t)(rng_next(r) % span);
}

/* Uniform double in [0, 1). */
static inline double rng_double(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* True with probability permille/1000. */
static inline bool rng_permille(rng_t *r, uint32_t permille)
{
    return rng_below(r, 1000) < permille;
}

#endif
