/* Token buckets keyed by name (an API key id, a tenant id): each name earns
 * `rate_per_s` tokens per second up to `burst`, and a request spends one.
 * Per process: with N serve replicas behind a balancer a client sees up to
 * N times the rate, which the configured values account for.
 *
 * Names hash (64-bit) into stripes, each with its own lock and a fixed
 * table; a full stripe is reset, which only ever errs on the generous side
 * for a moment. Thread-safe. */
#ifndef TLY_SERVER_RATELIMIT_H
#define TLY_SERVER_RATELIMIT_H

#include "common/util.h"

typedef struct tly_ratelimit tly_ratelimit_t;

tly_ratelimit_t *tly_ratelimit_create(size_t capacity);
void tly_ratelimit_destroy(tly_ratelimit_t *rl);

/* Spends one token of `name`'s bucket. False when empty; then
 * *retry_after_s is the whole seconds until a token is there (>= 1). */
bool tly_ratelimit_take(tly_ratelimit_t *rl, const char *name, double rate_per_s, double burst,
                        int *retry_after_s);

#endif
