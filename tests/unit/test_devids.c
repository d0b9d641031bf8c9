/* ingest/devids.c's cache: (tenant, agent) keys compared in full, growth
 * past its first table, and starting over when full.
 * (integration.inventory_roundtrip checks a stale id against PostgreSQL.) */
#include "ingest/devids.h"
#include "tests/unit/check.h"

#include <stdio.h>

static const char T1[] = "11111111-1111-4111-8111-111111111111";
static const char T2[] = "22222222-2222-4222-8222-222222222222";
static const char A1[] = "aaaaaaaa-0000-4000-8000-000000000001";
static const char D1[] = "dddddddd-0000-4000-8000-000000000001";
static const char D2[] = "dddddddd-0000-4000-8000-000000000002";

/* The i-th agent id: its first 16 hex digits are all that tell them apart
 * for the hash, the rest for the comparison. */
static void agent(char out[37], int i, bool high)
{
    snprintf(out, 37, "%08x-0000-4000-8000-%012x", high ? 0 : (unsigned)i, high ? (unsigned)i : 0);
}

int main(void)
{
    tly_devids_t *c = tly_devids_new(1000);
    char id[37] = "";
    CHECK(!tly_devids_get(c, T1, A1, id));
    tly_devids_put(c, T1, A1, D1);
    CHECK(tly_devids_get(c, T1, A1, id) && strcmp(id, D1) == 0);
    CHECK(!tly_devids_get(c, T2, A1, id)); /* the same agent in another tenant */
    tly_devids_put(c, T1, A1, D2);         /* replaced, not added */
    CHECK(tly_devids_get(c, T1, A1, id) && strcmp(id, D2) == 0);
    CHECK(tly_devids_size(c) == 1);

    /* Growth, with agents that differ only past what the hash reads. */
    char a[37], want[37];
    for (int i = 0; i < 900; i++) {
        agent(a, i, i % 2);
        snprintf(want, sizeof want, "dddddddd-0000-4000-8000-%012d", i);
        tly_devids_put(c, T2, a, want);
    }
    CHECK(tly_devids_size(c) == 901);
    int found = 0;
    for (int i = 0; i < 900; i++) {
        agent(a, i, i % 2);
        snprintf(want, sizeof want, "dddddddd-0000-4000-8000-%012d", i);
        found += tly_devids_get(c, T2, a, id) && strcmp(id, want) == 0;
    }
    CHECK(found == 900);

    /* Full: it starts over, and the entry that did not fit is the one kept. */
    for (int i = 900; i < 999; i++) {
        agent(a, i, false);
        tly_devids_put(c, T1, a, D1);
    }
    CHECK(tly_devids_size(c) == 1000);
    tly_devids_put(c, T2, A1, D1);
    CHECK(tly_devids_size(c) == 1);
    CHECK(tly_devids_get(c, T2, A1, id) && strcmp(id, D1) == 0);
    CHECK(!tly_devids_get(c, T1, A1, id));

    tly_devids_clear(c);
    CHECK(tly_devids_size(c) == 0);
    CHECK(!tly_devids_get(c, T2, A1, id));
    tly_devids_free(c);
    CHECK_DONE();
}
