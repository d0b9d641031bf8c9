/* Durable publish to JetStream without blocking the caller.
 *
 * tly_publisher_publish() sends asynchronously; exactly one completion
 * callback follows for every publish it accepted: with the PubAck, with the
 * server's error, or with a timeout after TALLY_PUBLISH_TIMEOUT_MS (nats.c's
 * MaxWait). That guarantee is what lets a suspended HTTP request always be
 * resumed. In-flight publishes are bounded by TALLY_PUBLISH_MAX_INFLIGHT
 * slots; when none is free the caller is told at once (→ 503).
 *
 * Threads: publish from any thread; callbacks run on a nats.c thread and
 * must not block. The publisher owns the process's NATS connection. */
#ifndef TLY_SERVER_PUBLISHER_H
#define TLY_SERVER_PUBLISHER_H

#include "common/bus.h"
#include "common/config.h"
#include "server/metrics.h"

typedef struct tly_publisher tly_publisher_t;

typedef struct {
    bool ok;           /* PubAck received: the message is stored */
    bool duplicate;    /* JetStream already had this Nats-Msg-Id */
    bool timeout;      /* no PubAck within the publish timeout */
    const char *error; /* when !ok: what failed (valid during the callback) */
} tly_publish_result_t;

typedef void (*tly_publish_done_fn)(void *arg, const tly_publish_result_t *result);

typedef enum {
    TLY_PUBLISH_SENT = 0, /* done() will be called exactly once */
    TLY_PUBLISH_BUSY,     /* all in-flight slots taken; done() is not called */
    TLY_PUBLISH_FAILED,   /* could not send; done() is not called */
} tly_publish_status_t;

/* metrics (borrowed, may be NULL) records each publish's outcome and latency. */
bool tly_publisher_create(const tly_config_t *cfg, tly_metrics_t *metrics,
                          tly_publisher_t **out) TLY_MUSTCHECK;

/* The publisher's bus (borrowed; valid until destroy). */
tly_bus_t *tly_publisher_bus(tly_publisher_t *pub);

/* Publishes data (copied) to subject with the dedup id and request headers. */
tly_publish_status_t tly_publisher_publish(tly_publisher_t *pub, const char *subject,
                                           const char *msg_id, const char *request_id,
                                           int64_t received_at_us, const void *data, size_t len,
                                           tly_publish_done_fn done, void *arg) TLY_MUSTCHECK;

/* Publishes awaiting their completion right now. */
int tly_publisher_inflight(tly_publisher_t *pub);

/* Waits up to timeout_ms for in-flight publishes, then closes NATS and
 * frees. NULL is a no-op. */
void tly_publisher_destroy(tly_publisher_t *pub, int64_t timeout_ms);

#endif
