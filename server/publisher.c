#include "server/publisher.h"
#include "common/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Carries the slot of a publish through nats.c to the ack handler, which
 * gets back the message but no per-message closure. The generation makes a
 * late ack for a recycled slot harmless. */
#define HDR_SLOT "Tally-Pub-Slot"

typedef struct {
    tly_publish_done_fn done;
    void *arg;
    int64_t start_ns;
    uint32_t gen;
    bool in_use;
} slot_t;

struct tly_publisher {
    tly_bus_t *bus;
    tly_metrics_t *metrics; /* borrowed, may be NULL */
    int64_t timeout_ms;

    pthread_mutex_t lock; /* guards slots, free_list, nfree */
    slot_t *slots;
    uint32_t *free_list;
    uint32_t nslots, nfree;
};

static bool slot_acquire(tly_publisher_t *pub, tly_publish_done_fn done, void *arg, uint32_t *idx,
                         uint32_t *gen)
{
    pthread_mutex_lock(&pub->lock);
    bool ok = pub->nfree > 0;
    if (ok) {
        *idx = pub->free_list[--pub->nfree];
        slot_t *s = &pub->slots[*idx];
        s->done = done;
        s->arg = arg;
        s->in_use = true;
        s->start_ns = tly_now_monotonic_ns();
        *gen = s->gen;
    }
    pthread_mutex_unlock(&pub->lock);
    return ok;
}

/* Frees the slot if (idx, gen) still names it; returns its callback and
 * when the publish started. */
static bool slot_release(tly_publisher_t *pub, uint32_t idx, uint32_t gen,
                         tly_publish_done_fn *done, void **arg, int64_t *start_ns)
{
    pthread_mutex_lock(&pub->lock);
    slot_t *s = idx < pub->nslots ? &pub->slots[idx] : NULL;
    bool ok = s != NULL && s->in_use && s->gen == gen;
    if (ok) {
        *done = s->done;
        *arg = s->arg;
        *start_ns = s->start_ns;
        s->in_use = false;
        s->gen++;
        pub->free_list[pub->nfree++] = idx;
    }
    pthread_mutex_unlock(&pub->lock);
    return ok;
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    tly_publisher_t *pub = closure;
    const char *slot_hdr = NULL;
    unsigned idx = 0, gen = 0;
    tly_publish_done_fn done;
    void *arg;
    int64_t start_ns;
    if (natsMsgHeader_Get(msg, HDR_SLOT, &slot_hdr) == NATS_OK &&
        sscanf(slot_hdr, "%u.%u", &idx, &gen) == 2 &&
        slot_release(pub, idx, gen, &done, &arg, &start_ns)) {
        tly_publish_result_t r = {0};
        if (pae == NULL && pa != NULL) {
            r.ok = true;
            r.duplicate = pa->Duplicate;
        } else {
            r.timeout = pae != NULL && pae->Err == NATS_TIMEOUT;
            r.error = pae != NULL && pae->ErrText != NULL ? pae->ErrText
                      : pae != NULL                       ? natsStatus_GetText(pae->Err)
                                                          : "no acknowledgement";
        }
        if (pub->metrics != NULL)
            tly_metrics_publish(pub->metrics,
                                r.ok ? (r.duplicate ? "duplicate" : "stored")
                                     : (r.timeout ? "timeout" : "error"),
                                tly_now_monotonic_ns() - start_ns);
        done(arg, &r);
    }
    natsMsg_Destroy(msg);
}

bool tly_publisher_create(const tly_config_t *cfg, tly_metrics_t *metrics, tly_publisher_t **out)
{
    tly_publisher_t *pub = tly_xcalloc(1, sizeof *pub);
    pub->metrics = metrics;
    pthread_mutex_init(&pub->lock, NULL);
    pub->timeout_ms = cfg->publish_timeout_ms;
    pub->nslots = pub->nfree = (uint32_t)cfg->publish_max_inflight;
    pub->slots = tly_xcalloc(pub->nslots, sizeof *pub->slots);
    pub->free_list = tly_xcalloc(pub->nslots, sizeof *pub->free_list);
    for (uint32_t i = 0; i < pub->nslots; i++)
        pub->free_list[i] = pub->nslots - 1 - i;

    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = pub;
    /* Our slots bound what is in flight; nats.c must never stall a caller. */
    jo.PublishAsync.MaxPending = 0;
    if (!tly_bus_connect(cfg->nats_url, "tally-serve", &jo, &pub->bus)) {
        tly_publisher_destroy(pub, 0);
        return false;
    }
    *out = pub;
    return true;
}

tly_bus_t *tly_publisher_bus(tly_publisher_t *pub)
{
    return pub->bus;
}

int tly_publisher_inflight(tly_publisher_t *pub)
{
    pthread_mutex_lock(&pub->lock);
    int n = (int)(pub->nslots - pub->nfree);
    pthread_mutex_unlock(&pub->lock);
    return n;
}

tly_publish_status_t tly_publisher_publish(tly_publisher_t *pub, const char *subject,
                                           const char *msg_id, const char *request_id,
                                           int64_t received_at_us, const void *data, size_t len,
                                           tly_publish_done_fn done, void *arg)
{
    uint32_t idx, gen;
    if (len > INT32_MAX || !tly_bus_up(pub->bus)) /* never connected yet: nothing to buffer in */
        return TLY_PUBLISH_FAILED;
    if (!slot_acquire(pub, done, arg, &idx, &gen))
        return TLY_PUBLISH_BUSY;

    char slot_hdr[32], received[24];
    snprintf(slot_hdr, sizeof slot_hdr, "%" PRIu32 ".%" PRIu32, idx, gen);
    snprintf(received, sizeof received, "%" PRId64, received_at_us);

    natsMsg *msg = NULL;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = pub->timeout_ms;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, HDR_SLOT, slot_hdr);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, TLY_HDR_REQUEST_ID, request_id);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, TLY_HDR_RECEIVED_AT, received);
    if (s == NATS_OK)
        s = js_PublishMsgAsync(pub->bus->js, &msg, &po);
    natsMsg_Destroy(msg); /* NULL after a successful hand-over */
    if (s != NATS_OK) {
        tly_publish_done_fn d;
        void *a;
        int64_t t;
        (void)slot_release(pub, idx, gen, &d, &a, &t);
        TLY_WARN(&(tly_log_ctx_t){.request_id = request_id}, "JetStream publish failed: %s",
                 natsStatus_GetText(s));
        return TLY_PUBLISH_FAILED;
    }
    return TLY_PUBLISH_SENT;
}

void tly_publisher_destroy(tly_publisher_t *pub, int64_t timeout_ms)
{
    if (pub == NULL)
        return;
    int64_t deadline = tly_now_monotonic_ns() + timeout_ms * 1000000;
    while (tly_publisher_inflight(pub) > 0 && tly_now_monotonic_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    tly_bus_destroy(pub->bus, timeout_ms);
    pthread_mutex_destroy(&pub->lock);
    free(pub->slots);
    free(pub->free_list);
    free(pub);
}
