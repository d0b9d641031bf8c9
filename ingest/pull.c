#include "ingest/pull.h"
#include "common/bus.h"
#include "common/log.h"
#include "common/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tly_pull {
    natsConnection *nc;
    natsSubscription *sub;
    char next[256];  /* the consumer's request subject */
    char inbox[128]; /* the subscription's subject: the requests' reply */
};

tly_pull_t *tly_pull_new(natsConnection *nc, const char *stream, const char *consumer)
{
    tly_pull_t *p = tly_xcalloc(1, sizeof *p);
    p->nc = nc;
    snprintf(p->next, sizeof p->next, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, consumer);
    natsInbox *inbox = NULL;
    natsStatus s = natsInbox_Create(&inbox);
    if (s == NATS_OK) {
        snprintf(p->inbox, sizeof p->inbox, "%s", inbox);
        natsInbox_Destroy(inbox);
        /* nats.c's pending limits bound the queue (65,536 messages, 64 MiB;
         * several fetches at the default 16 MB): past them it drops what
         * comes, which JetStream delivers again after the ack wait. */
        s = natsConnection_SubscribeSync(&p->sub, nc, p->inbox);
    }
    if (s != NATS_OK) {
        TLY_WARN(NULL, "cannot subscribe an inbox for %s: %s", p->next, natsStatus_GetText(s));
        tly_pull_free(p);
        return NULL;
    }
    return p;
}

const char *tly_pull_inbox(const tly_pull_t *p)
{
    return p->inbox;
}

void tly_pull_free(tly_pull_t *p)
{
    if (p == NULL)
        return;
    natsMsg *m = NULL;
    while (p->sub != NULL && natsSubscription_NextMsg(&m, p->sub, 0) == NATS_OK) {
        (void)tly_ack(p->nc, m, TLY_ACK_NAK); /* a status message has no reply: skipped */
        natsMsg_Destroy(m);
    }
    tly_bus_unsubscribe(p->nc, p->sub);
    free(p);
}

void tly_msgs_free(tly_msgs_t *m)
{
    for (int i = 0; i < m->count; i++)
        natsMsg_Destroy(m->msgs[i]);
    free(m->msgs);
    *m = (tly_msgs_t){0};
}

natsStatus tly_ack(natsConnection *nc, natsMsg *msg, tly_ack_t kind)
{
    static const char *const bodies[] = {"+ACK", "+TERM", "+WPI", "-NAK"};
    const char *reply = natsMsg_GetReply(msg);
    if (reply == NULL || *reply == '\0')
        return NATS_INVALID_ARG;
    return natsConnection_Publish(nc, reply, bodies[kind], (int)strlen(bodies[kind]));
}

typedef struct {
    tly_msgs_t *out;
    int batch;
    int64_t max_bytes, bytes;
} taken_t;

static bool full(const taken_t *t)
{
    return t->out->count == t->batch || (t->max_bytes > 0 && t->bytes >= t->max_bytes);
}

/* A stream message goes into t (NATS_OK). A status message (no payload, a
 * Status header) is destroyed; what it says of the request is returned:
 * NATS_OK for a heartbeat (it goes on), otherwise it ended. */
static natsStatus take(taken_t *t, natsMsg *m, char *why, size_t why_len)
{
    const char *status = NULL, *text = NULL;
    if (natsMsg_GetDataLength(m) > 0 || natsMsgHeader_Get(m, "Status", &status) != NATS_OK) {
        t->out->msgs[t->out->count++] = m;
        t->bytes += natsMsg_GetDataLength(m);
        return NATS_OK;
    }
    natsStatus s = NATS_ERR;
    if (strcmp(status, "100") == 0) /* an idle heartbeat (none is asked for) */
        s = NATS_OK;
    else if (strcmp(status, "404") == 0)
        s = NATS_NOT_FOUND;
    else if (strcmp(status, "408") == 0)
        s = NATS_TIMEOUT;
    else
        snprintf(why, why_len, "%s %s", status,
                 natsMsgHeader_Get(m, "Description", &text) == NATS_OK ? text : "");
    natsMsg_Destroy(m);
    return s;
}

/* Asks for what t still lacks and takes it as it comes, until t is full, a
 * status ends the request, or wait_ms pass. */
static natsStatus request(tly_pull_t *p, taken_t *t, int64_t wait_ms, bool no_wait, char *why,
                          size_t why_len)
{
    /* The server's expiry a little before ours, as nats.c does: it answers
     * 408 before the fetch returns, so no message of this request is
     * delivered after. */
    int64_t expires_ms = wait_ms >= 20 ? wait_ms - 10 : wait_ms;
    char body[160];
    int n = snprintf(body, sizeof body, "{\"batch\":%d,\"expires\":%" PRId64 ",\"no_wait\":%s",
                     t->batch - t->out->count, expires_ms * 1000000, no_wait ? "true" : "false");
    if (t->max_bytes > 0)
        n += snprintf(body + n, sizeof body - (size_t)n, ",\"max_bytes\":%" PRId64,
                      t->max_bytes - t->bytes);
    n += snprintf(body + n, sizeof body - (size_t)n, "}");
    natsStatus s = natsConnection_PublishRequest(p->nc, p->next, p->inbox, body, n);
    int64_t deadline = tly_now_monotonic_ns() + wait_ms * 1000000;
    while (s == NATS_OK && !full(t)) {
        int64_t left_ms = (deadline - tly_now_monotonic_ns()) / 1000000;
        if (left_ms <= 0)
            return NATS_TIMEOUT;
        natsMsg *m = NULL;
        s = natsSubscription_NextMsg(&m, p->sub, left_ms);
        if (s == NATS_OK)
            s = take(t, m, why, why_len);
    }
    return s;
}

natsStatus tly_pull_fetch(tly_pull_t *p, int batch, int64_t max_bytes, int64_t wait_ms,
                          tly_msgs_t *out, char *why, size_t why_len)
{
    *out = (tly_msgs_t){tly_xcalloc((size_t)batch, sizeof *out->msgs), 0};
    taken_t t = {out, batch, max_bytes, 0};
    why[0] = '\0';
    /* First what an earlier request delivered after its fetch returned. */
    natsMsg *m = NULL;
    while (!full(&t) && natsSubscription_NextMsg(&m, p->sub, 0) == NATS_OK)
        (void)take(&t, m, why, why_len); /* a stale status ends nothing now */
    why[0] = '\0';
    natsStatus s = NATS_OK;
    /* Then what the stream holds: a no_wait request with an expiry, which
     * nats-server 2.9 answers as soon as it has any message (408 once the
     * stream runs dry, or at the expiry). A server that answers 404
     * (nothing now) instead gets a second, waiting request. */
    for (int wait = 0; wait < 2 && !full(&t); wait++) {
        s = request(p, &t, wait_ms, !wait, why, why_len);
        if (out->count > 0 || s != NATS_NOT_FOUND)
            break;
    }
    if (out->count > 0) {
        why[0] = '\0';
        return NATS_OK;
    }
    tly_msgs_free(out);
    return s;
}
