/* ingest/softset.c: the comparison of a device's lists with its set (the
 * rows and events it renders, chains of lists, lists older than the set,
 * attributes) and the cache of sets (revisions, its byte bound).
 * integration.software_diff runs the same rules against PostgreSQL. */
#include "ingest/softset.h"
#include "tests/unit/check.h"
#include "tests/unit/copybin.h"

#include <stdio.h>
#include <stdlib.h>

#define T "11111111-1111-4111-8111-111111111111"
#define D "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
static const char D2[] = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee";

/* 2026-11-20T00:00:00Z plus s seconds, in µs. */
static int64_t at(int s)
{
    return (1795132800LL + s) * 1000000;
}

static tly_sw_item_t item(int64_t id, const char *version)
{
    return (tly_sw_item_t){id, version, NULL, NULL, NULL};
}

typedef struct {
    tly_sw_out_t out;
    bool reported;
    int64_t reported_at;
    size_t last;
} run_t;

/* Compares lists (NULL-terminated sets, all at times at(1), at(2), ...) with
 * base, which was reported at reported_at (0: never). */
static run_t compare(const tly_swset_t *base, int64_t reported_at, tly_swset_t **sets)
{
    run_t r = {.reported = reported_at != 0, .reported_at = reported_at};
    tly_strbuf_init(&r.out.came, 1 << 20);
    tly_strbuf_init(&r.out.ops, 1 << 20);
    tly_strbuf_init(&r.out.changes, 1 << 20);
    tly_sw_list_t lists[8];
    size_t n = 0;
    for (; sets[n] != NULL; n++)
        lists[n] = (tly_sw_list_t){sets[n], at((int)n + 1)};
    r.last = tly_sw_compare(T, D, base, &r.reported, &r.reported_at, lists, n, &r.out);
    return r;
}

static const char *text(const tly_strbuf_t *b)
{
    return b->data != NULL ? b->data : "";
}

static void run_free(run_t *r)
{
    tly_strbuf_free(&r->out.came);
    tly_strbuf_free(&r->out.ops);
    tly_strbuf_free(&r->out.changes);
}

#define ROW_PREFIX T "\t" D "\t"
/* device_software's columns, as the rows that come are written. */
#define CAME "uu8tkdttT"
/* software_changes' columns. */
#define CHANGES    "uuT8ttt"
#define OPS_PREFIX D "\t"

int main(void)
{
    /* A baseline: every item comes, no events; items sorted, version keys. */
    tly_sw_item_t first[] = {{7, "2.0", "2026-11-01", "C:\\Program Files\\Beta", NULL},
                             item(3, "1.10")};
    tly_swset_t *l1 = tly_swset_new(first, 2);
    CHECK(l1->n == 2 && l1->items[0].software_id == 3 && l1->items[1].software_id == 7);
    run_t r = compare(NULL, 0, (tly_swset_t *[]){l1, NULL});
    CHECK(r.last == 1 && r.reported && r.reported_at == at(1));
    CHECK_STR(copybin_text(&r.out.came, CAME),
              ROW_PREFIX "3\t1.10\t{1,10}\t\\N\t\\N\t\\N\t2026-11-20T00:00:01.000000Z\n" ROW_PREFIX
                         "7\t2.0\t{2,0}\t2026-11-01\tC:\\\\Program Files\\\\Beta\t\\N\t"
                         "2026-11-20T00:00:01.000000Z\n");
    CHECK(r.out.came_n == 2 && r.out.ops_n == 0 && r.out.changes_n == 0);
    run_free(&r);

    /* A program and version listed twice is one item, with its first
     * occurrence's attributes, wherever the repeat falls in the order. */
    tly_sw_item_t twice[] = {{7, "2.0", "2026-11-02", NULL, NULL},
                             item(3, "1.10"),
                             {7, "2.0", "2026-11-03", NULL, NULL},
                             item(7, "1.0"),
                             {7, "2.0", "2026-11-04", NULL, NULL}};
    tly_swset_t *dup = tly_swset_new(twice, 5);
    CHECK(dup->n == 3);
    CHECK(dup->items[0].software_id == 3 && dup->items[1].software_id == 7 &&
          strcmp(dup->items[1].version, "1.0") == 0 && dup->items[2].software_id == 7);
    CHECK_STR(dup->items[2].install_date, "2026-11-02");
    tly_swset_unref(dup);

    /* Against it: 3 upgraded, 7 moved (new location), 9 installed. */
    tly_sw_item_t second[] = {
        item(3, "1.11"), {7, "2.0", "2026-11-01", "D:\\Beta", NULL}, item(9, "")};
    tly_swset_t *l2 = tly_swset_new(second, 3);
    r = compare(l1, at(0), (tly_swset_t *[]){l2, NULL});
    CHECK(r.last == 1);
    CHECK_STR(copybin_text(&r.out.changes, CHANGES),
              ROW_PREFIX "2026-11-20T00:00:01.000000Z\t3\tversion_changed\t1.10\t1.11\n" ROW_PREFIX
                         "2026-11-20T00:00:01.000000Z\t9\tinstalled\t\\N\t\n");
    CHECK_STR(text(&r.out.ops), OPS_PREFIX "7\t2.0\tt\t2026-11-01\tD:\\\\Beta\t\\N\n" OPS_PREFIX
                                           "3\t1.10\tf\t\\N\t\\N\t\\N\n");
    CHECK(r.out.came_n == 2); /* 3 1.11 and 9 */
    run_free(&r);

    /* A list older than the set is ignored. */
    r = compare(l1, at(5), (tly_swset_t *[]){l2, NULL});
    CHECK(r.last == 0 && r.reported_at == at(5));
    CHECK(r.out.came_n == 0 && r.out.ops_n == 0 && r.out.changes_n == 0);
    run_free(&r);

    /* A chain: l1 -> l2 -> l1 again. Each step's events at its own time; in
     * the end the set is l1 again: 7 (moved and moved back) is left alone,
     * 9 (came and went) never written, and 3 1.10 (went and came back) is
     * deleted and inserted anew, first seen at its return. */
    tly_swset_t *l3 = tly_swset_new(first, 2);
    r = compare(l1, at(0), (tly_swset_t *[]){l2, l3, NULL});
    CHECK(r.last == 2 && r.reported_at == at(2));
    CHECK(r.out.changes_n == 4); /* step 1: ~3, +9; step 2: ~3, -9 */
    CHECK(strstr(copybin_text(&r.out.changes, CHANGES),
                 "00:00:02.000000Z\t9\tuninstalled\t\t\\N\n") != NULL);
    CHECK_STR(text(&r.out.ops), OPS_PREFIX "3\t1.10\tf\t\\N\t\\N\t\\N\n");
    CHECK_STR(copybin_text(&r.out.came, CAME),
              ROW_PREFIX "3\t1.10\t{1,10}\t\\N\t\\N\t\\N\t2026-11-20T00:00:02.000000Z\n");
    run_free(&r);

    /* Several versions of one program side by side: went and came joined. */
    tly_sw_item_t v1[] = {item(5, "14.38"), item(5, "14.40")};
    tly_sw_item_t v2[] = {item(5, "14.44"), item(5, "14.40"), item(5, "14.42")};
    tly_swset_t *s1 = tly_swset_new(v1, 2), *s2 = tly_swset_new(v2, 3),
                *empty = tly_swset_new(NULL, 0);
    r = compare(s1, at(0), (tly_swset_t *[]){s2, empty, NULL});
    CHECK_STR(copybin_text(&r.out.changes, CHANGES), ROW_PREFIX
              "2026-11-20T00:00:01.000000Z\t5\tversion_changed\t14.38\t14.42, 14.44\n" ROW_PREFIX
              "2026-11-20T00:00:02.000000Z\t5\tuninstalled\t14.40\t\\N\n" ROW_PREFIX
              "2026-11-20T00:00:02.000000Z\t5\tuninstalled\t14.42\t\\N\n" ROW_PREFIX
              "2026-11-20T00:00:02.000000Z\t5\tuninstalled\t14.44\t\\N\n");
    CHECK(r.out.ops_n == 2 && r.out.came_n == 0); /* the base's two rows go */
    run_free(&r);

    /* The cache: a set is found at its revision only; an older revision
     * never replaces a newer one; the byte bound holds. */
    tly_swcache_t *c = tly_swcache_new(4 * l2->bytes + 400);
    tly_swcache_put(c, D, 3, l2);
    tly_swset_t *got = tly_swcache_get(c, D, 3);
    CHECK(got == l2);
    tly_swset_unref(got);
    CHECK(tly_swcache_get(c, D, 2) == NULL && tly_swcache_get(c, D, 4) == NULL);
    CHECK(tly_swcache_get(c, D2, 3) == NULL);
    tly_swcache_put(c, D, 2, l1);
    got = tly_swcache_get(c, D, 3);
    CHECK(got == l2);
    tly_swset_unref(got);
    tly_swcache_put(c, D, 4, l1);
    got = tly_swcache_get(c, D, 4);
    CHECK(got == l1);
    tly_swset_unref(got);
    char device[37];
    for (int i = 0; i < 50; i++) {
        snprintf(device, sizeof device, "00000000-0000-4000-8000-%012d", i);
        tly_swcache_put(c, device, 1, l2);
        CHECK(tly_swcache_bytes(c) <= 4 * l2->bytes + 400);
    }
    got = tly_swcache_get(c, device, 1); /* the last one put is kept */
    CHECK(got == l2);
    tly_swset_unref(got);
    tly_swcache_free(c);

    /* Dropping one device's set leaves the others. */
    c = tly_swcache_new(1 << 20);
    tly_swcache_put(c, D, 1, l1);
    tly_swcache_put(c, D2, 7, l2);
    size_t before = tly_swcache_bytes(c);
    tly_swcache_drop(c, D);
    size_t after = tly_swcache_bytes(c);
    CHECK(tly_swcache_get(c, D, 1) == NULL && after < before);
    got = tly_swcache_get(c, D2, 7);
    CHECK(got == l2);
    tly_swset_unref(got);
    tly_swcache_drop(c, D); /* not there: nothing */
    CHECK(tly_swcache_bytes(c) == after);
    tly_swcache_free(c);

    tly_swset_unref(l1);
    tly_swset_unref(l2);
    tly_swset_unref(l3);
    tly_swset_unref(s1);
    tly_swset_unref(s2);
    tly_swset_unref(empty);
    CHECK_DONE();
}
