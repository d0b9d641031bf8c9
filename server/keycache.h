/* In-process cache of agent API key records, so that a known key is checked
 * on the poll thread (one HMAC) without a PostgreSQL round trip, and a
 * flood of one unknown key reaches PostgreSQL once per negative TTL.
 *
 * Entries expire after TALLY_AUTH_CACHE_TTL_S (found) or
 * TALLY_AUTH_NEGATIVE_TTL_S (not found). Revocations and tenant status
 * changes are also broadcast over NATS by `tally admin` and evict at once
 * (tly_keycache_evict / _clear); the TTL bounds staleness if a broadcast is
 * missed. Full: the cache is emptied and refills (simple, and rare). Serve
 * keeps unknown keys in a cache of their own, so a flood of made-up key ids
 * can only ever empty that one.
 *
 * Thread-safe (one mutex; every operation is O(1) and short). */
#ifndef TLY_SERVER_KEYCACHE_H
#define TLY_SERVER_KEYCACHE_H

#include "auth/apikey.h"

#include <stdint.h>

typedef struct {
    bool found; /* false: a cached "no such key" */
    char tenant_id[37];
    unsigned char secret_hash[TLY_APIKEY_HASH_LEN];
    bool agent_scope;
    bool revoked;
    bool tenant_active;
    int64_t expires_at_us; /* 0: never */
} tly_keyrec_t;

typedef struct tly_keycache tly_keycache_t;

tly_keycache_t *tly_keycache_create(size_t max_entries, int64_t ttl_ms, int64_t negative_ttl_ms);
void tly_keycache_destroy(tly_keycache_t *c);

/* A counter that moves on every evict and clear. Read it before looking a
 * key up in PostgreSQL and pass it to put: if a revocation arrived in
 * between, the possibly stale answer is not cached. */
uint64_t tly_keycache_generation(tly_keycache_t *c);

/* Copies a fresh entry for key_id into *out; false on miss or expiry. */
bool tly_keycache_get(tly_keycache_t *c, const char *key_id, tly_keyrec_t *out);
void tly_keycache_put(tly_keycache_t *c, const char *key_id, const tly_keyrec_t *rec,
                      uint64_t generation);
void tly_keycache_evict(tly_keycache_t *c, const char *key_id);
void tly_keycache_clear(tly_keycache_t *c);

/* Hits and misses since start (for /metrics). */
void tly_keycache_stats(tly_keycache_t *c, uint64_t *hits, uint64_t *misses);

#endif
