/* ingest/claims.c: a claim says which of its keys earlier claims hold, and
 * waits for an earlier one that shares a key, and only for that; an earlier
 * claim never waits for a later one; repeats and order within a claim do
 * not matter. */
#include "ingest/claims.h"
#include "tests/unit/check.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static const char T1[] = "11111111-1111-4111-8111-111111111111";
static const char T2[] = "22222222-2222-4222-8222-222222222222";
static const char A1[] = "aaaaaaaa-0000-4000-8000-000000000001";
static const char A2[] = "aaaaaaaa-0000-4000-8000-000000000002";
static const char A3[] = "aaaaaaaa-0000-4000-8000-000000000003";

static tly_claim_key_t key(const char *tenant, const char *agent)
{
    tly_claim_key_t k;
    memcpy(k.tenant, tenant, sizeof k.tenant);
    memcpy(k.agent, agent, sizeof k.agent);
    return k;
}

typedef struct {
    tly_claims_t *claims;
    tly_claim_key_t keys[3];
    size_t n;
    atomic_bool taken;
    uint64_t ticket;
} taker_t;

static void *take(void *arg)
{
    taker_t *t = arg;
    t->ticket = tly_claims_take(t->claims, t->keys, t->n, NULL);
    tly_claims_wait(t->claims, t->ticket);
    atomic_store(&t->taken, true);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Whether t's claim returns within ms. */
static bool taken_within(taker_t *t, long ms)
{
    for (long waited = 0; waited < ms && !atomic_load(&t->taken); waited += 5)
        sleep_ms(5);
    return atomic_load(&t->taken);
}

int main(void)
{
    tly_claims_t *c = tly_claims_new();

    /* Nothing to claim: no ticket. */
    CHECK(tly_claims_take(c, NULL, 0, NULL) == 0);
    tly_claims_wait(c, 0);
    tly_claims_release(c, 0);

    /* Claims without a shared key do not wait; a repeat within one is fine. */
    tly_claim_key_t first[] = {key(T1, A2), key(T1, A1), key(T1, A2)};
    bool held[3] = {true, true, true};
    uint64_t t1 = tly_claims_take(c, first, 3, held);
    CHECK(!held[0] && !held[1] && !held[2]);
    tly_claim_key_t other[] = {key(T1, A3), key(T2, A1)}; /* A1 of another tenant */
    uint64_t t2 = tly_claims_take(c, other, 2, held);
    CHECK(t1 != 0 && t2 != 0 && t1 != t2);
    CHECK(!held[0] && !held[1]);

    /* A claim answers, key by key, which ones earlier claims hold, and
     * returns at once. */
    tly_claim_key_t mixed[] = {key(T2, A2), key(T1, A2), key(T2, A1), key(T2, A3)};
    bool mixed_held[4] = {true, false, false, true};
    uint64_t t3 = tly_claims_take(c, mixed, 4, mixed_held);
    CHECK(!mixed_held[0] && mixed_held[1] && mixed_held[2] && !mixed_held[3]);
    tly_claims_release(c, t3);

    /* A claim sharing a key with an earlier one waits for that one's
     * release, not another's. */
    taker_t late = {.claims = c, .keys = {key(T2, A2), key(T1, A1)}, .n = 2};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, take, &late) == 0);
    CHECK(!taken_within(&late, 200));
    tly_claims_release(c, t2);
    CHECK(!taken_within(&late, 100));
    tly_claims_release(c, t1);
    CHECK(taken_within(&late, 2000));
    pthread_join(th, NULL);
    tly_claims_release(c, late.ticket);

    /* An earlier claim never waits for a later one: W holds K1; E claims
     * K1 and K2 and waits for W; L claims K2 after E, and waits for E
     * (which holds its keys while it waits), while E, once W is released,
     * goes ahead of L. */
    uint64_t w = tly_claims_take(c, (tly_claim_key_t[]){key(T2, A1)}, 1, NULL);
    taker_t e = {.claims = c, .keys = {key(T2, A1), key(T2, A3)}, .n = 2};
    pthread_t te, tl;
    CHECK(pthread_create(&te, NULL, take, &e) == 0);
    CHECK(!taken_within(&e, 100));
    taker_t l = {.claims = c, .keys = {key(T2, A3)}, .n = 1};
    CHECK(pthread_create(&tl, NULL, take, &l) == 0);
    CHECK(!taken_within(&l, 100));
    /* A claim without a shared key goes ahead of both. */
    bool free_held = true;
    uint64_t free_key = tly_claims_take(c, (tly_claim_key_t[]){key(T1, A3)}, 1, &free_held);
    CHECK(free_key != 0 && !free_held);
    tly_claims_wait(c, free_key);
    tly_claims_release(c, free_key);
    tly_claims_release(c, w);
    CHECK(taken_within(&e, 2000));
    CHECK(!taken_within(&l, 100));
    tly_claims_release(c, e.ticket);
    CHECK(taken_within(&l, 2000));
    pthread_join(te, NULL);
    pthread_join(tl, NULL);
    tly_claims_release(c, l.ticket);

    tly_claims_free(c);
    CHECK_DONE();
}
