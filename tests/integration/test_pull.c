/* ingest/pull.h against a real nats-server (tests/integration/pull.sh
 * passes its URL and a stream name of the test's own).
 *
 * The case nats.c 3.4.1's natsSubscription_FetchRequest gets wrong comes
 * first: 6 messages of an earlier request are queued on the inbox, and
 * another earlier request is still delivering, when a fetch of 8 is made
 * (_fetch took 18 into its 8-pointer array, valgrind showed, with the same
 * steps). Then byte bounds, an empty stream, a refused request (409), the
 * acks, and messages handed back at close. */
#include "ingest/pull.h"
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONSUMER "pull-test"

static natsConnection *nc;
static jsCtx *js;
static const char *stream;
static char subject[128];

static void die(const char *what, natsStatus s)
{
    fprintf(stderr, "%s: %s\n", what, natsStatus_GetText(s));
    exit(1);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void publish(const char *data, int len)
{
    jsErrCode jerr = 0;
    natsStatus s = js_Publish(NULL, js, subject, data, len, NULL, &jerr);
    if (s != NATS_OK)
        die("publish", s);
}

/* Publishes "m<first>" .. "m<first + n - 1>". */
static void publish_numbered(int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char data[16];
        publish(data, snprintf(data, sizeof data, "m%d", i));
    }
}

static jsConsumerInfo *consumer_info(void)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, js, stream, CONSUMER, NULL, &jerr);
    if (s != NATS_OK)
        die("consumer info", s);
    return ci;
}

/* Waits until the consumer has `pending` messages out unacknowledged. */
static bool wait_ack_pending(int64_t pending)
{
    for (int i = 0; i < 100; i++) {
        jsConsumerInfo *ci = consumer_info();
        int64_t n = ci->NumAckPending;
        jsConsumerInfo_Destroy(ci);
        if (n == pending)
            return true;
        nats_Sleep(20);
    }
    return false;
}

/* Waits until no request of the inbox is open (each has had its messages),
 * then makes sure what they delivered is in the inbox's queue. */
static bool wait_delivered(void)
{
    for (int i = 0; i < 100; i++) {
        jsConsumerInfo *ci = consumer_info();
        int64_t waiting = ci->NumWaiting;
        jsConsumerInfo_Destroy(ci);
        if (waiting == 0)
            return natsConnection_FlushTimeout(nc, 5000) == NATS_OK;
        nats_Sleep(20);
    }
    return false;
}

/* What an earlier fetch that gave up too soon leaves: its request's
 * messages arrive at the inbox with no fetch running. With queued, returns
 * once they are in the inbox's queue; otherwise at once. */
static void deliver_unasked(tly_pull_t *p, int batch, bool queued)
{
    char next[256], body[64];
    snprintf(next, sizeof next, "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, CONSUMER);
    snprintf(body, sizeof body, "{\"batch\":%d}", batch);
    natsStatus s = natsConnection_PublishRequestString(nc, next, tly_pull_inbox(p), body);
    if (s != NATS_OK)
        die("pull request", s);
    if (!queued)
        return;
    CHECK(wait_ack_pending(batch));
    /* The deliveries went out before the consumer counted them; a round
     * trip after that puts them in the inbox's queue. */
    if ((s = natsConnection_FlushTimeout(nc, 5000)) != NATS_OK)
        die("flush", s);
}

/* Checks that m holds "m<first>" .. in order, and acks them. */
static void check_and_ack(const tly_msgs_t *m, int first)
{
    for (int i = 0; i < m->count; i++) {
        char want[16];
        snprintf(want, sizeof want, "m%d", first + i);
        CHECK(natsMsg_GetDataLength(m->msgs[i]) == (int)strlen(want) &&
              memcmp(natsMsg_GetData(m->msgs[i]), want, strlen(want)) == 0);
        CHECK(tly_ack(nc, m->msgs[i], TLY_ACK) == NATS_OK);
    }
}

static uint64_t deliveries(natsMsg *m)
{
    jsMsgMetaData *meta = NULL;
    uint64_t n = natsMsg_GetMetaData(&meta, m) == NATS_OK ? meta->NumDelivered : 0;
    jsMsgMetaData_Destroy(meta);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s NATS_URL STREAM\n", argv[0]);
        return 2;
    }
    stream = argv[2];
    snprintf(subject, sizeof subject, "pulltest.%s", stream);
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK)
        s = natsConnection_JetStream(&js, nc, NULL);
    if (s != NATS_OK)
        die("connect", s);
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = stream;
    const char *subjects[] = {subject};
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_MemoryStorage;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = CONSUMER;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = 60 * 1000000000LL;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    jsConsumerInfo *ci = NULL;
    s = js_AddStream(&si, js, &sc, NULL, &jerr);
    if (s == NATS_OK)
        s = js_AddConsumer(&ci, js, stream, &cc, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK)
        die("stream and consumer", s);

    tly_pull_t *p = tly_pull_new(nc, stream, CONSUMER);
    CHECK(p != NULL);
    if (p == NULL)
        CHECK_DONE();
    tly_msgs_t m;
    char why[200];

    /* 6 queued and an earlier request of 10 still delivering: a fetch of 8
     * takes 8 (nats.c 3.4.1's took 18 into its array of 8). */
    publish_numbered(0, 40);
    deliver_unasked(p, 6, true);
    deliver_unasked(p, 10, false);
    CHECK(tly_pull_fetch(p, 8, 0, 500, &m, why, sizeof why) == NATS_OK);
    CHECK(m.count == 8);
    check_and_ack(&m, 0);
    tly_msgs_free(&m);
    /* The rest of that request (and the 2 the fetch asked for, if it had
     * to ask) come next: queued. A byte bound stops queued ones too: three
     * payloads of 2, 2 and 3 bytes reach 6. */
    CHECK(wait_delivered());
    CHECK(tly_pull_fetch(p, 100, 6, 500, &m, why, sizeof why) == NATS_OK);
    CHECK(m.count == 3);
    check_and_ack(&m, 8);
    tly_msgs_free(&m);
    /* The other ones queued, then what the stream holds: all the 29 left,
     * and the request ends when the stream runs dry, not at its expiry. */
    int64_t t0 = now_ms();
    CHECK(tly_pull_fetch(p, 100, 0, 2000, &m, why, sizeof why) == NATS_OK);
    CHECK(m.count == 29);
    CHECK(now_ms() - t0 < 1000);
    check_and_ack(&m, 11);
    tly_msgs_free(&m);
    CHECK(wait_ack_pending(0));

    /* Nothing in the stream: a timeout after about the wait. */
    t0 = now_ms();
    s = tly_pull_fetch(p, 10, 0, 300, &m, why, sizeof why);
    int64_t waited = now_ms() - t0;
    CHECK(s == NATS_TIMEOUT || s == NATS_NOT_FOUND);
    CHECK(m.count == 0 && m.msgs == NULL);
    CHECK(waited >= 250 && waited < 1500);

    /* A message larger than the byte bound: refused (409) with the
     * reason; fetched alone without a bound. */
    char big[2000];
    memset(big, 'x', sizeof big);
    publish(big, sizeof big);
    s = tly_pull_fetch(p, 10, 100, 500, &m, why, sizeof why);
    CHECK(s == NATS_ERR && m.count == 0);
    CHECK(strncmp(why, "409", 3) == 0);
    CHECK(tly_pull_fetch(p, 1, 0, 500, &m, why, sizeof why) == NATS_OK && m.count == 1);
    CHECK(m.count == 1 && natsMsg_GetDataLength(m.msgs[0]) == (int)sizeof big);
    /* Handed back (NAK), it comes again, a second delivery; then TERM. */
    CHECK(m.count == 1 && tly_ack(nc, m.msgs[0], TLY_ACK_NAK) == NATS_OK);
    tly_msgs_free(&m);
    CHECK(tly_pull_fetch(p, 1, 0, 500, &m, why, sizeof why) == NATS_OK && m.count == 1);
    CHECK(m.count == 1 && deliveries(m.msgs[0]) == 2);
    CHECK(m.count == 1 && tly_ack(nc, m.msgs[0], TLY_ACK_PROGRESS) == NATS_OK);
    CHECK(m.count == 1 && tly_ack(nc, m.msgs[0], TLY_ACK_TERM) == NATS_OK);
    tly_msgs_free(&m);
    CHECK(wait_ack_pending(0));

    /* Closing with queued messages hands them back at once, not after the
     * ack wait (a minute): another puller gets them, a second delivery. */
    publish_numbered(60, 5);
    deliver_unasked(p, 5, true);
    tly_pull_free(p);
    p = tly_pull_new(nc, stream, CONSUMER);
    CHECK(tly_pull_fetch(p, 10, 0, 500, &m, why, sizeof why) == NATS_OK);
    CHECK(m.count == 5);
    CHECK(m.count > 0 && deliveries(m.msgs[0]) == 2);
    check_and_ack(&m, 60);
    tly_msgs_free(&m);
    CHECK(wait_ack_pending(0));
    tly_pull_free(p);

    (void)js_DeleteStream(js, stream, NULL, NULL);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    CHECK_DONE();
}
