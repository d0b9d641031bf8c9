#include "server/keycache.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    char key_id[TLY_APIKEY_ID_LEN + 1];
    int64_t fetched_ns;
    tly_keyrec_t rec;
} entry_t;

struct tly_keycache {
    pthread_mutex_t lock; /* guards everything below */
    entry_t **buckets;
    size_t nbuckets, count, max_entries;
    int64_t ttl_ns, negative_ttl_ns;
    uint64_t hits, misses;
    uint64_t generation; /* bumped by evict and clear */
};

/* FNV-1a over the key id (ids are random, so any spread function will do). */
static size_t bucket_of(const tly_keycache_t *c, const char *key_id)
{
    return (size_t)(tly_fnv1a(TLY_FNV1A_INIT, key_id, strlen(key_id)) % c->nbuckets);
}

tly_keycache_t *tly_keycache_create(size_t max_entries, int64_t ttl_ms, int64_t negative_ttl_ms)
{
    tly_keycache_t *c = tly_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->max_entries = max_entries;
    c->nbuckets = max_entries > 16 ? max_entries : 16;
    c->buckets = tly_xcalloc(c->nbuckets, sizeof *c->buckets);
    c->ttl_ns = ttl_ms * 1000000;
    c->negative_ttl_ns = negative_ttl_ms * 1000000;
    return c;
}

static void clear_locked(tly_keycache_t *c)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        entry_t *e = c->buckets[i];
        while (e != NULL) {
            entry_t *next = e->next;
            free(e);
            e = next;
        }
        c->buckets[i] = NULL;
    }
    c->count = 0;
}

void tly_keycache_destroy(tly_keycache_t *c)
{
    if (c == NULL)
        return;
    clear_locked(c);
    pthread_mutex_destroy(&c->lock);
    free(c->buckets);
    free(c);
}

/* Unlinks and frees the entry for key_id if present (lock held). */
static void remove_locked(tly_keycache_t *c, const char *key_id)
{
    entry_t **pp = &c->buckets[bucket_of(c, key_id)];
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->key_id, key_id) == 0) {
            entry_t *dead = *pp;
            *pp = dead->next;
            free(dead);
            c->count--;
            return;
        }
    }
}

bool tly_keycache_get(tly_keycache_t *c, const char *key_id, tly_keyrec_t *out)
{
    bool hit = false;
    int64_t now = tly_now_monotonic_ns();
    pthread_mutex_lock(&c->lock);
    for (entry_t *e = c->buckets[bucket_of(c, key_id)]; e != NULL; e = e->next) {
        if (strcmp(e->key_id, key_id) != 0)
            continue;
        int64_t ttl = e->rec.found ? c->ttl_ns : c->negative_ttl_ns;
        if (now - e->fetched_ns < ttl) {
            *out = e->rec;
            hit = true;
        } else {
            remove_locked(c, key_id);
        }
        break;
    }
    if (hit)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return hit;
}

uint64_t tly_keycache_generation(tly_keycache_t *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t g = c->generation;
    pthread_mutex_unlock(&c->lock);
    return g;
}

void tly_keycache_put(tly_keycache_t *c, const char *key_id, const tly_keyrec_t *rec,
                      uint64_t generation)
{
    entry_t *e = tly_xcalloc(1, sizeof *e);
    snprintf(e->key_id, sizeof e->key_id, "%s", key_id);
    e->fetched_ns = tly_now_monotonic_ns();
    e->rec = *rec;
    pthread_mutex_lock(&c->lock);
    if (generation != c->generation) { /* evicted meanwhile: do not cache */
        pthread_mutex_unlock(&c->lock);
        free(e);
        return;
    }
    remove_locked(c, key_id);
    if (c->count >= c->max_entries)
        clear_locked(c);
    size_t b = bucket_of(c, key_id);
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->count++;
    pthread_mutex_unlock(&c->lock);
}

void tly_keycache_evict(tly_keycache_t *c, const char *key_id)
{
    pthread_mutex_lock(&c->lock);
    c->generation++;
    remove_locked(c, key_id);
    pthread_mutex_unlock(&c->lock);
}

void tly_keycache_clear(tly_keycache_t *c)
{
    pthread_mutex_lock(&c->lock);
    c->generation++;
    clear_locked(c);
    pthread_mutex_unlock(&c->lock);
}

void tly_keycache_stats(tly_keycache_t *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
