/* The API key cache: hits, expiry (positive and negative TTLs), eviction,
 * clearing, and the full-cache reset. */
#include "server/keycache.h"
#include "tests/unit/check.h"

#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int main(void)
{
    tly_keycache_t *c = tly_keycache_create(4, 200, 50);
    tly_keyrec_t rec = {.found = true, .agent_scope = true, .tenant_active = true}, got;
    snprintf(rec.tenant_id, sizeof rec.tenant_id, "d2ef4876-22a3-45ac-8794-e30356c2dcb2");
    tly_keyrec_t missing = {.found = false};

    CHECK(!tly_keycache_get(c, "AAAAAAAAAAAA", &got));
    tly_keycache_put(c, "AAAAAAAAAAAA", &rec, tly_keycache_generation(c));
    tly_keycache_put(c, "BBBBBBBBBBBB", &missing, tly_keycache_generation(c));
    CHECK(tly_keycache_get(c, "AAAAAAAAAAAA", &got));
    CHECK(got.found && got.agent_scope);
    CHECK_STR(got.tenant_id, rec.tenant_id);
    CHECK(tly_keycache_get(c, "BBBBBBBBBBBB", &got));
    CHECK(!got.found);

    /* The negative entry expires first (50 ms), the positive one later. */
    sleep_ms(80);
    CHECK(!tly_keycache_get(c, "BBBBBBBBBBBB", &got));
    CHECK(tly_keycache_get(c, "AAAAAAAAAAAA", &got));
    sleep_ms(150);
    CHECK(!tly_keycache_get(c, "AAAAAAAAAAAA", &got));

    /* Eviction and clearing. */
    tly_keycache_put(c, "AAAAAAAAAAAA", &rec, tly_keycache_generation(c));
    tly_keycache_put(c, "CCCCCCCCCCCC", &rec, tly_keycache_generation(c));
    tly_keycache_evict(c, "AAAAAAAAAAAA");
    CHECK(!tly_keycache_get(c, "AAAAAAAAAAAA", &got));
    CHECK(tly_keycache_get(c, "CCCCCCCCCCCC", &got));
    tly_keycache_clear(c);
    CHECK(!tly_keycache_get(c, "CCCCCCCCCCCC", &got));

    /* A put over the bound (4) empties the cache and keeps the newcomer. */
    const char *ids[] = {"id0000000001", "id0000000002", "id0000000003", "id0000000004",
                         "id0000000005"};
    for (int i = 0; i < 5; i++)
        tly_keycache_put(c, ids[i], &rec, tly_keycache_generation(c));
    CHECK(!tly_keycache_get(c, ids[0], &got));
    CHECK(tly_keycache_get(c, ids[4], &got));

    /* A lookup that raced with an eviction is not cached (stale answer). */
    uint64_t gen = tly_keycache_generation(c);
    tly_keycache_evict(c, "ZZZZZZZZZZZZ");
    tly_keycache_put(c, "DDDDDDDDDDDD", &rec, gen);
    CHECK(!tly_keycache_get(c, "DDDDDDDDDDDD", &got));

    uint64_t hits, misses;
    tly_keycache_stats(c, &hits, &misses);
    CHECK(hits == 5);
    CHECK(misses == 7);
    tly_keycache_destroy(c);
    CHECK_DONE();
}
