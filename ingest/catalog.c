#include "ingest/catalog.h"
#include "common/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash;
    char tenant[37];
    char *name; /* name, NUL, publisher, NUL: one allocation */
    size_t name_len, publisher_len;
    int64_t id; /* 0: an empty slot */
} entry_t;

struct tly_catalog {
    entry_t *slots;
    size_t cap; /* a power of two; count stays at most half of it */
    size_t count, max;
};

/* The NULs between the spans keep ("ab", "c") and ("a", "bc") apart. */
static uint64_t hash_key(const char *tenant, const char *name, size_t name_len,
                         const char *publisher, size_t publisher_len)
{
    /* A tenant's first 8 hex digits tell tenants apart well enough for a
     * bucket (the entries compare whole). */
    uint64_t h = tly_fnv1a(TLY_FNV1A_INIT, tenant, 8);
    h = tly_fnv1a(tly_fnv1a(h, name, name_len), "", 1);
    return tly_fnv1a(h, publisher, publisher_len);
}

tly_catalog_t *tly_catalog_new(size_t max_entries)
{
    tly_catalog_t *c = tly_xcalloc(1, sizeof *c);
    c->max = max_entries ? max_entries : 1;
    c->cap = 64;
    c->slots = tly_xcalloc(c->cap, sizeof *c->slots);
    return c;
}

void tly_catalog_clear(tly_catalog_t *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->slots[i].name);
    memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->count = 0;
}

void tly_catalog_free(tly_catalog_t *c)
{
    if (c == NULL)
        return;
    tly_catalog_clear(c);
    free(c->slots);
    free(c);
}

size_t tly_catalog_size(const tly_catalog_t *c)
{
    return c->count;
}

/* The slot of the key, or of the empty slot where it would go. */
static entry_t *find(const tly_catalog_t *c, uint64_t h, const char *tenant, const char *name,
                     size_t name_len, const char *publisher, size_t publisher_len)
{
    for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        entry_t *e = &c->slots[i];
        if (e->id == 0 ||
            (e->hash == h && e->name_len == name_len && e->publisher_len == publisher_len &&
             memcmp(e->tenant, tenant, 36) == 0 && memcmp(e->name, name, name_len) == 0 &&
             memcmp(e->name + name_len + 1, publisher, publisher_len) == 0))
            return e;
    }
}

int64_t tly_catalog_get(const tly_catalog_t *c, const char *tenant, const char *name,
                        size_t name_len, const char *publisher, size_t publisher_len)
{
    uint64_t h = hash_key(tenant, name, name_len, publisher, publisher_len);
    return find(c, h, tenant, name, name_len, publisher, publisher_len)->id;
}

/* Doubles the table, rehashing every entry. */
static void grow(tly_catalog_t *c)
{
    entry_t *old = c->slots;
    size_t old_cap = c->cap;
    c->cap *= 2;
    c->slots = tly_xcalloc(c->cap, sizeof *c->slots);
    for (size_t i = 0; i < old_cap; i++) {
        size_t k = old[i].hash & (c->cap - 1);
        while (old[i].id != 0 && c->slots[k].id != 0)
            k = (k + 1) & (c->cap - 1);
        if (old[i].id != 0)
            c->slots[k] = old[i];
    }
    free(old);
}

void tly_catalog_put(tly_catalog_t *c, const char *tenant, const char *name, size_t name_len,
                     const char *publisher, size_t publisher_len, int64_t id)
{
    uint64_t h = hash_key(tenant, name, name_len, publisher, publisher_len);
    entry_t *e = find(c, h, tenant, name, name_len, publisher, publisher_len);
    if (e->id != 0) {
        e->id = id;
        return;
    }
    if (c->count == c->max) /* full: start over */
        tly_catalog_clear(c);
    if (2 * (c->count + 1) > c->cap)
        grow(c);
    e = find(c, h, tenant, name, name_len, publisher, publisher_len);
    e->hash = h;
    memcpy(e->tenant, tenant, 36);
    e->tenant[36] = '\0';
    e->name = tly_xcalloc(1, name_len + publisher_len + 2);
    memcpy(e->name, name, name_len);
    e->name[name_len] = '\0';
    memcpy(e->name + name_len + 1, publisher, publisher_len);
    e->name[name_len + 1 + publisher_len] = '\0';
    e->name_len = name_len;
    e->publisher_len = publisher_len;
    e->id = id;
    c->count++;
}

tly_stage_status_t tly_catalog_resolve(tly_catalog_t *c, PGconn *conn, const char *tenant,
                                       const char *const *names, const char *const *publishers,
                                       size_t n, int64_t *created, char *why, size_t why_len)
{
    if (n > c->max) { /* they would not all stay cached: isolate the fetch */
        snprintf(why, why_len, "%zu new software names in one fetch exceed the catalog cache (%zu)",
                 n, c->max);
        return TLY_STAGE_DATA_ERROR;
    }
    json_t *entries = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(entries, json_pack("[ss]", names[i], publishers[i]));
    char *text = json_dumps(entries, JSON_COMPACT);
    json_decref(entries);
    const char *params[] = {tenant, text};
    PGresult *res =
        PQexecParams(conn, "SELECT name, publisher, id, created FROM tally_catalog_ids($1, $2)", 2,
                     NULL, params, NULL, NULL, 0);
    free(text);
    tly_stage_status_t st = TLY_STAGE_OK;
    if (c->count + n > c->max)
        tly_catalog_clear(c); /* so that all n stay */
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        st = tly_stage_failed(res, conn, "tally_catalog_ids", why, why_len);
    } else if ((size_t)PQntuples(res) != n) {
        snprintf(why, why_len, "tally_catalog_ids answered %d ids for %zu names", PQntuples(res),
                 n);
        st = TLY_STAGE_FAILED;
    } else {
        for (int r = 0; r < PQntuples(res); r++) {
            tly_catalog_put(c, tenant, PQgetvalue(res, r, 0), (size_t)PQgetlength(res, r, 0),
                            PQgetvalue(res, r, 1), (size_t)PQgetlength(res, r, 1),
                            strtoll(PQgetvalue(res, r, 2), NULL, 10));
            *created += PQgetvalue(res, r, 3)[0] == 't';
        }
    }
    PQclear(res);
    return st;
}
