#include "ingest/devids.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[72]; /* tenant, then agent; key[0] == 0: an empty slot */
    char id[37];
    uint64_t hash;
} entry_t;

struct tly_devids {
    entry_t *slots;
    size_t cap; /* a power of two; count stays at most half of it */
    size_t count, max;
};

tly_devids_t *tly_devids_new(size_t max_entries)
{
    tly_devids_t *c = tly_xcalloc(1, sizeof *c);
    c->max = max_entries ? max_entries : 1;
    c->cap = 64;
    c->slots = tly_xcalloc(c->cap, sizeof *c->slots);
    return c;
}

void tly_devids_free(tly_devids_t *c)
{
    if (c == NULL)
        return;
    free(c->slots);
    free(c);
}

void tly_devids_clear(tly_devids_t *c)
{
    memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->count = 0;
}

size_t tly_devids_size(const tly_devids_t *c)
{
    return c->count;
}

/* The slot of (tenant, agent), or of the empty slot where it would go. */
static entry_t *find(const tly_devids_t *c, uint64_t h, const char *tenant, const char *agent)
{
    for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        entry_t *e = &c->slots[i];
        if (e->key[0] == '\0' || (e->hash == h && memcmp(e->key, tenant, 36) == 0 &&
                                  memcmp(e->key + 36, agent, 36) == 0))
            return e;
    }
}

/* Agent ids are random: their first 16 hex digits spread the buckets (the
 * entries compare whole). */
static uint64_t hash_key(const char *tenant, const char *agent)
{
    return tly_fnv1a(tly_fnv1a(TLY_FNV1A_INIT, tenant, 8), agent, 16);
}

bool tly_devids_get(const tly_devids_t *c, const char *tenant, const char *agent, char id[37])
{
    const entry_t *e = find(c, hash_key(tenant, agent), tenant, agent);
    if (e->key[0] == '\0')
        return false;
    memcpy(id, e->id, 37);
    return true;
}

/* Doubles the table, rehashing every entry. */
static void grow(tly_devids_t *c)
{
    entry_t *old = c->slots;
    size_t old_cap = c->cap;
    c->cap *= 2;
    c->slots = tly_xcalloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key[0] == '\0')
            continue;
        size_t k = old[i].hash & (c->cap - 1);
        while (c->slots[k].key[0] != '\0')
            k = (k + 1) & (c->cap - 1);
        c->slots[k] = old[i];
    }
    free(old);
}

void tly_devids_put(tly_devids_t *c, const char *tenant, const char *agent, const char *id)
{
    uint64_t h = hash_key(tenant, agent);
    entry_t *e = find(c, h, tenant, agent);
    if (e->key[0] == '\0') {
        if (c->count == c->max) /* full: start over */
            tly_devids_clear(c);
        if (2 * (c->count + 1) > c->cap)
            grow(c);
        e = find(c, h, tenant, agent);
        memcpy(e->key, tenant, 36);
        memcpy(e->key + 36, agent, 36);
        e->hash = h;
        c->count++;
    }
    memcpy(e->id, id, 36);
    e->id[36] = '\0';
}
