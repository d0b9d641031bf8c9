#include "ingest/claims.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct claim {
    struct claim *next;
    uint64_t ticket;
    size_t n;
    tly_claim_key_t keys[]; /* sorted */
} claim_t;

struct tly_claims {
    pthread_mutex_t mu;
    pthread_cond_t released;
    uint64_t next_ticket; /* under mu, from 1 */
    claim_t *held;        /* under mu, in ticket order */
};

static int by_key(const void *a, const void *b)
{
    const tly_claim_key_t *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    return c != 0 ? c : strcmp(x->agent, y->agent);
}

/* Whether a claim made before mine (mu held) holds key. */
static bool held_before(const tly_claims_t *c, const claim_t *mine, const tly_claim_key_t *key)
{
    for (const claim_t *h = c->held; h != NULL && h->ticket < mine->ticket; h = h->next)
        if (bsearch(key, h->keys, h->n, sizeof *key, by_key) != NULL)
            return true;
    return false;
}

/* Whether a claim made before mine (mu held) holds one of its keys. */
static bool blocked(const tly_claims_t *c, const claim_t *mine)
{
    for (size_t i = 0; i < mine->n; i++)
        if (held_before(c, mine, &mine->keys[i]))
            return true;
    return false;
}

tly_claims_t *tly_claims_new(void)
{
    tly_claims_t *c = tly_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->released, NULL);
    c->next_ticket = 1;
    return c;
}

void tly_claims_free(tly_claims_t *c)
{
    if (c == NULL)
        return;
    pthread_cond_destroy(&c->released);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

uint64_t tly_claims_take(tly_claims_t *c, const tly_claim_key_t *keys, size_t n, bool *held)
{
    if (n == 0)
        return 0;
    claim_t *mine = tly_xcalloc(1, sizeof *mine + n * sizeof *keys);
    memcpy(mine->keys, keys, n * sizeof *keys);
    qsort(mine->keys, n, sizeof *keys, by_key);
    mine->n = n;
    pthread_mutex_lock(&c->mu);
    mine->ticket = c->next_ticket++;
    claim_t **tail = &c->held;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = mine;
    for (size_t i = 0; held != NULL && i < n; i++)
        held[i] = held_before(c, mine, &keys[i]);
    uint64_t ticket = mine->ticket;
    pthread_mutex_unlock(&c->mu);
    return ticket;
}

void tly_claims_wait(tly_claims_t *c, uint64_t ticket)
{
    if (ticket == 0)
        return;
    pthread_mutex_lock(&c->mu);
    const claim_t *mine = c->held;
    while (mine != NULL && mine->ticket != ticket)
        mine = mine->next;
    while (mine != NULL && blocked(c, mine))
        pthread_cond_wait(&c->released, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

void tly_claims_release(tly_claims_t *c, uint64_t ticket)
{
    if (ticket == 0)
        return;
    pthread_mutex_lock(&c->mu);
    claim_t **at = &c->held;
    while (*at != NULL && (*at)->ticket != ticket)
        at = &(*at)->next;
    claim_t *gone = *at;
    if (gone != NULL)
        *at = gone->next;
    pthread_cond_broadcast(&c->released);
    pthread_mutex_unlock(&c->mu);
    free(gone);
}
