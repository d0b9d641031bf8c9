#include "server/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 16

typedef struct {
    uint64_t hash; /* 0: empty slot */
    double tokens;
    int64_t updated_ns;
} bucket_t;

typedef struct {
    pthread_mutex_t lock; /* guards slots and used */
    bucket_t *slots;
    size_t used;
} stripe_t;

struct tly_ratelimit {
    stripe_t stripes[STRIPES];
    size_t slots_per_stripe; /* a power of two */
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = tly_fnv1a(TLY_FNV1A_INIT, s, strlen(s));
    return h ? h : 1;
}

tly_ratelimit_t *tly_ratelimit_create(size_t capacity)
{
    tly_ratelimit_t *rl = tly_xcalloc(1, sizeof *rl);
    size_t per = 64;
    while (per * STRIPES < capacity * 2) /* keep the tables at most half full */
        per *= 2;
    rl->slots_per_stripe = per;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&rl->stripes[i].lock, NULL);
        rl->stripes[i].slots = tly_xcalloc(per, sizeof(bucket_t));
    }
    return rl;
}

void tly_ratelimit_destroy(tly_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&rl->stripes[i].lock);
        free(rl->stripes[i].slots);
    }
    free(rl);
}

/* Finds or claims the bucket for h by linear probing (lock held). */
static bucket_t *find(tly_ratelimit_t *rl, stripe_t *st, uint64_t h, double burst, int64_t now)
{
    size_t mask = rl->slots_per_stripe - 1;
    if (st->used * 2 >= rl->slots_per_stripe) {
        memset(st->slots, 0, rl->slots_per_stripe * sizeof(bucket_t));
        st->used = 0;
    }
    for (size_t i = (size_t)(h >> 4) & mask;; i = (i + 1) & mask) {
        bucket_t *b = &st->slots[i];
        if (b->hash == h)
            return b;
        if (b->hash == 0) {
            *b = (bucket_t){.hash = h, .tokens = burst, .updated_ns = now};
            st->used++;
            return b;
        }
    }
}

bool tly_ratelimit_take(tly_ratelimit_t *rl, const char *name, double rate_per_s, double burst,
                        int *retry_after_s)
{
    uint64_t h = hash_name(name);
    stripe_t *st = &rl->stripes[h % STRIPES];
    int64_t now = tly_now_monotonic_ns();
    pthread_mutex_lock(&st->lock);
    bucket_t *b = find(rl, st, h, burst, now);
    b->tokens += (double)(now - b->updated_ns) / 1e9 * rate_per_s;
    if (b->tokens > burst)
        b->tokens = burst;
    b->updated_ns = now;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        *retry_after_s = (int)ceil((1.0 - b->tokens) / rate_per_s);
    pthread_mutex_unlock(&st->lock);
    if (!ok && *retry_after_s < 1)
        *retry_after_s = 1;
    return ok;
}
