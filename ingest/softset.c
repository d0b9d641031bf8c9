#include "ingest/softset.h"
#include "ingest/stage.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static size_t span(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

static int cmp_key(const tly_sw_item_t *x, const tly_sw_item_t *y)
{
    if (x->software_id != y->software_id)
        return x->software_id < y->software_id ? -1 : 1;
    return strcmp(x->version, y->version);
}

/* Positions into the items of tly_swset_new: by key, then position. */
static int by_key_then_position(const void *a, const void *b, void *items)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const tly_sw_item_t *all = items;
    int c = cmp_key(&all[i], &all[j]);
    return c != 0 ? c : (i > j) - (i < j);
}

/* Copies s into *at (NULL stays NULL); advances *at. */
static const char *keep(char **at, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    const char *kept = *at;
    *at += n;
    return kept;
}

tly_swset_t *tly_swset_new(const tly_sw_item_t *items, size_t n)
{
    size_t *order = tly_xcalloc(n + 1, sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, by_key_then_position, (void *)items);
    size_t kept = 0, strings = 0;
    for (size_t k = 0; k < n; k++) {
        const tly_sw_item_t *it = &items[order[k]];
        if (kept > 0 && cmp_key(&items[order[kept - 1]], it) == 0)
            continue; /* a repeat: its first occurrence sorted before it */
        order[kept++] = order[k];
        strings += span(it->version) + span(it->install_date) + span(it->install_location) +
                   span(it->source);
    }
    size_t bytes = sizeof(tly_swset_t) + kept * sizeof(tly_sw_item_t) + strings;
    tly_swset_t *s = tly_xcalloc(1, bytes);
    atomic_init(&s->refs, 1);
    s->bytes = bytes;
    s->n = kept;
    char *at = (char *)&s->items[kept];
    for (size_t k = 0; k < kept; k++) {
        const tly_sw_item_t *it = &items[order[k]];
        s->items[k] =
            (tly_sw_item_t){it->software_id, keep(&at, it->version), keep(&at, it->install_date),
                            keep(&at, it->install_location), keep(&at, it->source)};
    }
    free(order);
    return s;
}

tly_swset_t *tly_swset_ref(tly_swset_t *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void tly_swset_unref(tly_swset_t *s)
{
    if (s != NULL && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

/* ---- comparison ---- */

static bool same(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static bool same_attributes(const tly_sw_item_t *x, const tly_sw_item_t *y)
{
    return same(x->install_date, y->install_date) &&
           same(x->install_location, y->install_location) && same(x->source, y->source);
}

/* An item of the set being built: where it came from. */
typedef struct {
    const tly_sw_item_t *item;
    ptrdiff_t base;  /* its row in the base set, or -1 when it came in a list */
    int64_t born_us; /* when it came (base < 0) */
} state_t;

static void field(tly_strbuf_t *b, const char *s)
{
    tly_strbuf_append(b, "\t", 1);
    if (s == NULL)
        tly_strbuf_append(b, "\\N", 2);
    else
        tly_stage_text(b, s, strlen(s));
}

/* "device<TAB>software_id<TAB>version" */
static void row_key(tly_strbuf_t *b, const char *device, const tly_sw_item_t *it)
{
    tly_strbuf_printf(b, "%s\t%lld", device, (long long)it->software_id);
    field(b, it->version);
}

/* ids: the row's first two fields (tly_bin_ids). */
static void change(tly_sw_out_t *out, const char *ids, int64_t at_us, int64_t software_id,
                   const char *what, const char *old_version, const char *new_version)
{
    tly_strbuf_t *b = &out->changes;
    tly_bin_row(b, 7);
    tly_strbuf_append(b, ids, TLY_BIN_IDS);
    tly_bin_ts(b, at_us);
    tly_bin_int8(b, software_id);
    tly_bin_str(b, what);
    tly_bin_str(b, old_version);
    tly_bin_str(b, new_version);
    out->changes_n++;
}

/* The versions of items[0..n) not marked shared, ", "-joined into b;
 * false when there are none. */
static bool join_versions(tly_strbuf_t *b, const tly_sw_item_t *const *items, const bool *shared,
                          size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (shared[i])
            continue;
        if (any)
            tly_strbuf_append(b, ", ", 2);
        tly_strbuf_puts(b, items[i]->version);
        any = true;
    }
    return any;
}

/* The change events of one program: old[0..no) and new[0..nn) are its
 * versions before and after, in byte order; old_shared and new_shared
 * (room for no and nn) are scratch. */
static void program_changes(tly_sw_out_t *out, const char *ids, int64_t at_us,
                            const tly_sw_item_t *const *old, size_t no,
                            const tly_sw_item_t *const *new, size_t nn, bool *old_shared,
                            bool *new_shared)
{
    int64_t id = (no > 0 ? old[0] : new[0])->software_id;
    if (no == 0) {
        for (size_t j = 0; j < nn; j++)
            change(out, ids, at_us, id, "installed", NULL, new[j]->version);
        return;
    }
    if (nn == 0) {
        for (size_t i = 0; i < no; i++)
            change(out, ids, at_us, id, "uninstalled", old[i]->version, NULL);
        return;
    }
    memset(old_shared, 0, no * sizeof *old_shared);
    memset(new_shared, 0, nn * sizeof *new_shared);
    size_t shared = 0;
    for (size_t i = 0, j = 0; i < no && j < nn;) {
        int c = strcmp(old[i]->version, new[j]->version);
        if (c == 0) {
            old_shared[i++] = new_shared[j++] = true;
            shared++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    if (shared == no && shared == nn)
        return; /* the same versions: no change */
    tly_strbuf_t went, came;
    tly_strbuf_init(&went, (size_t)1 << 20);
    tly_strbuf_init(&came, (size_t)1 << 20);
    bool w = join_versions(&went, old, old_shared, no);
    bool c = join_versions(&came, new, new_shared, nn);
    change(out, ids, at_us, id, "version_changed", w ? went.data : NULL, c ? came.data : NULL);
    tly_strbuf_free(&went);
    tly_strbuf_free(&came);
}

/* Steps cur[0..ncur) to list: the next state in next (room for the list's
 * items), and the change events unless baseline. */
static void step(tly_sw_out_t *out, const char *ids, const state_t *cur, size_t ncur,
                 const tly_sw_list_t *list, bool baseline, state_t *next)
{
    const tly_sw_item_t *items = list->set->items;
    size_t nn = list->set->n;
    const tly_sw_item_t **old = tly_xcalloc(ncur + 1, sizeof *old);
    const tly_sw_item_t **new = tly_xcalloc(nn + 1, sizeof *new);
    bool *old_shared = tly_xcalloc(ncur + 1, sizeof *old_shared);
    bool *new_shared = tly_xcalloc(nn + 1, sizeof *new_shared);
    size_t i = 0, j = 0;
    while (i < ncur || j < nn) {
        /* The next program on either side, and its versions on both. */
        int64_t id = i < ncur && (j >= nn || cur[i].item->software_id <= items[j].software_id)
                         ? cur[i].item->software_id
                         : items[j].software_id;
        size_t no = 0, nv = 0, i0 = i;
        for (; i < ncur && cur[i].item->software_id == id; i++)
            old[no++] = cur[i].item;
        for (; j < nn && items[j].software_id == id; j++) {
            new[nv++] = &items[j];
            next[j] = (state_t){&items[j], -1, list->at_us};
            for (size_t k = i0; k < i; k++)
                if (strcmp(cur[k].item->version, items[j].version) == 0)
                    next[j] = (state_t){&items[j], cur[k].base, cur[k].born_us};
        }
        if (!baseline)
            program_changes(out, ids, list->at_us, old, no, new, nv, old_shared, new_shared);
    }
    free(old);
    free(new);
    free(old_shared);
    free(new_shared);
}

size_t tly_sw_compare(const char *tenant, const char *device, const tly_swset_t *base,
                      bool *reported, int64_t *reported_at_us, const tly_sw_list_t *lists, size_t n,
                      tly_sw_out_t *out)
{
    size_t nbase = *reported && base != NULL ? base->n : 0;
    state_t *cur = tly_xcalloc(nbase + 1, sizeof *cur);
    for (size_t i = 0; i < nbase; i++)
        cur[i] = (state_t){&base->items[i], (ptrdiff_t)i, 0};
    size_t ncur = nbase, last = 0;
    char ids[TLY_BIN_IDS]; /* every row (change events, rows that come) starts with them */
    tly_bin_ids(ids, tenant, device);
    for (size_t l = 0; l < n; l++) {
        if (*reported && lists[l].at_us < *reported_at_us)
            continue; /* older than the set: ignored */
        state_t *next = tly_xcalloc(lists[l].set->n + 1, sizeof *next);
        step(out, ids, cur, ncur, &lists[l], !*reported, next);
        free(cur);
        cur = next;
        ncur = lists[l].set->n;
        *reported = true;
        *reported_at_us = lists[l].at_us;
        last = l + 1;
    }
    if (last == 0) {
        free(cur);
        return 0;
    }
    /* The base rows kept (updated when their attributes changed), those
     * that go, and the rows that come. */
    bool *kept = tly_xcalloc(nbase + 1, sizeof *kept);
    for (size_t k = 0; k < ncur; k++) {
        const tly_sw_item_t *it = cur[k].item;
        if (cur[k].base >= 0) {
            kept[cur[k].base] = true;
            if (same_attributes(it, &base->items[cur[k].base]))
                continue;
            row_key(&out->ops, device, it);
            tly_strbuf_puts(&out->ops, "\tt");
            field(&out->ops, it->install_date);
            field(&out->ops, it->install_location);
            field(&out->ops, it->source);
            tly_strbuf_append(&out->ops, "\n", 1);
            out->ops_n++;
            continue;
        }
        tly_strbuf_t *b = &out->came;
        size_t version_len = strlen(it->version);
        tly_bin_row(b, 9);
        tly_strbuf_append(b, ids, TLY_BIN_IDS);
        tly_bin_int8(b, it->software_id);
        tly_bin_text(b, it->version, version_len);
        tly_bin_version_key(b, it->version, version_len);
        if (!tly_bin_date(b, it->install_date))
            tly_bin_null(b); /* never: store.c compares no list with a bad date */
        tly_bin_str(b, it->install_location);
        tly_bin_str(b, it->source);
        tly_bin_ts(b, cur[k].born_us);
        out->came_n++;
    }
    for (size_t i = 0; i < nbase; i++) {
        if (kept[i])
            continue;
        row_key(&out->ops, device, &base->items[i]);
        tly_strbuf_puts(&out->ops, "\tf\t\\N\t\\N\t\\N\n");
        out->ops_n++;
    }
    free(kept);
    free(cur);
    return last;
}

/* ---- cache ---- */

typedef struct node {
    struct node *next;
    char device[37];
    int64_t rev;
    tly_swset_t *set;
} node_t;

struct tly_swcache {
    pthread_mutex_t lock;
    size_t max_bytes, bytes, count;
    size_t nbuckets; /* a power of two */
    node_t **buckets;
    uint64_t rng;
};

static size_t node_bytes(const node_t *n)
{
    return sizeof *n + n->set->bytes;
}

tly_swcache_t *tly_swcache_new(size_t max_bytes)
{
    tly_swcache_t *c = tly_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    c->max_bytes = max_bytes;
    c->nbuckets = 1024;
    c->buckets = tly_xcalloc(c->nbuckets, sizeof *c->buckets);
    c->rng = 0x9e3779b97f4a7c15ULL;
    return c;
}

static void drop(tly_swcache_t *c, node_t **at)
{
    node_t *n = *at;
    *at = n->next;
    c->bytes -= node_bytes(n);
    c->count--;
    tly_swset_unref(n->set);
    free(n);
}

static void clear_locked(tly_swcache_t *c)
{
    for (size_t b = 0; b < c->nbuckets; b++)
        while (c->buckets[b] != NULL)
            drop(c, &c->buckets[b]);
}

void tly_swcache_free(tly_swcache_t *c)
{
    if (c == NULL)
        return;
    clear_locked(c);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

size_t tly_swcache_bytes(tly_swcache_t *c)
{
    pthread_mutex_lock(&c->lock);
    size_t bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
    return bytes;
}

static node_t **find(tly_swcache_t *c, const char *device)
{
    node_t **at = &c->buckets[tly_fnv1a(14695981039346656037ULL, device, 36) & (c->nbuckets - 1)];
    while (*at != NULL && strcmp((*at)->device, device) != 0)
        at = &(*at)->next;
    return at;
}

void tly_swcache_drop(tly_swcache_t *c, const char *device)
{
    pthread_mutex_lock(&c->lock);
    node_t **at = find(c, device);
    if (*at != NULL)
        drop(c, at);
    pthread_mutex_unlock(&c->lock);
}

tly_swset_t *tly_swcache_get(tly_swcache_t *c, const char *device, int64_t rev)
{
    pthread_mutex_lock(&c->lock);
    node_t *n = *find(c, device);
    tly_swset_t *s = n != NULL && n->rev == rev ? tly_swset_ref(n->set) : NULL;
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* Drops one entry picked at random (xorshift64). */
static void evict_one(tly_swcache_t *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    for (size_t k = 0, b = c->rng & (c->nbuckets - 1); k < c->nbuckets; k++) {
        if (c->buckets[(b + k) & (c->nbuckets - 1)] != NULL) {
            drop(c, &c->buckets[(b + k) & (c->nbuckets - 1)]);
            return;
        }
    }
}

static void grow(tly_swcache_t *c)
{
    node_t **old = c->buckets;
    size_t nold = c->nbuckets;
    c->nbuckets *= 2;
    c->buckets = tly_xcalloc(c->nbuckets, sizeof *c->buckets);
    for (size_t b = 0; b < nold; b++) {
        while (old[b] != NULL) {
            node_t *n = old[b];
            old[b] = n->next;
            node_t **at = find(c, n->device);
            n->next = *at;
            *at = n;
        }
    }
    free(old);
}

void tly_swcache_put(tly_swcache_t *c, const char *device, int64_t rev, tly_swset_t *set)
{
    if (sizeof(node_t) + set->bytes > c->max_bytes)
        return;
    pthread_mutex_lock(&c->lock);
    node_t **at = find(c, device);
    if (*at != NULL && (*at)->rev > rev) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (*at != NULL)
        drop(c, at);
    while (c->bytes + sizeof(node_t) + set->bytes > c->max_bytes && c->count > 0)
        evict_one(c);
    if (c->count >= c->nbuckets)
        grow(c);
    node_t *n = tly_xcalloc(1, sizeof *n);
    memcpy(n->device, device, 36);
    n->rev = rev;
    n->set = tly_swset_ref(set);
    at = find(c, device);
    n->next = *at;
    *at = n;
    c->bytes += node_bytes(n);
    c->count++;
    pthread_mutex_unlock(&c->lock);
}
