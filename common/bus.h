/* NATS JetStream: the only channel between serve and ingest.
 *
 * Subjects: <TALLY_SUBJECT_PREFIX>.<tenant uuid> (default prefix
 * "tally.inventory"), captured by one stream (TALLY_STREAM_NAME). The tenant in the subject is set
 * by serve from the authenticated API key and is the only tenant ingest trusts; the payload's own
 * fields never choose the tenant.
 *
 * Headers set by serve on every message (see docs/architecture.md):
 *   Nats-Msg-Id        <tenant>:<agent id>:<batch id>  (JetStream dedup)
 *   Tally-Request-Id   the HTTP request id, for logs across the hop
 *   Tally-Received-At  microseconds since the epoch when serve accepted it
 *
 * A tly_bus_t owns one natsConnection and one jsCtx; both are thread-safe
 * (nats.c locks internally), so one bus is shared by all threads of a process.
 */
#ifndef TLY_COMMON_BUS_H
#define TLY_COMMON_BUS_H

#include "common/config.h"
#include "common/util.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>

#define TLY_HDR_REQUEST_ID  "Tally-Request-Id"
#define TLY_HDR_RECEIVED_AT "Tally-Received-At"
#define TLY_INGEST_CONSUMER "tally-ingest"

/* nc and js are NULL until the first connection, then fixed: use them only
 * once tly_bus_up (or tly_bus_connected) has said true. The rest is the
 * bus's own. */
typedef struct {
    natsConnection *nc;
    jsCtx *js;
    natsOptions *opts;
    jsOptions jo;
    bool has_jo;
    pthread_t connector; /* retries the first connection; joined by tly_bus_destroy */
    bool connector_started;
    atomic_bool up, stop;
} tly_bus_t;

/* Connects and creates the JetStream context with `jo` (may be NULL, else
 * copied). If NATS is not reachable yet, returns at once (a warning logged)
 * and a thread of the bus tries again every half second until it is
 * (tly_bus_up says when); once connected, reconnects forever. The first
 * call opens nats.c without lock spinning (bus.c says why). False only if
 * the library or the options are refused. On success *out is owned by the caller:
 * tly_bus_destroy.
 *
 * Why not nats.c's retry-on-failed-connect: in libnats 3.4.1 it retries
 * inside natsConnection_Connect, forever, without a connected callback
 * (serve and ingest started before NATS hung there, silent and deaf to
 * SIGTERM); with one, it retries in the background but gives up for good
 * when the first attempt reached something that accepted the TCP
 * connection and never spoke NATS (a mesh proxy with NATS down),
 * nats-io/nats.c 77843e72, fixed in v3.12.0 (integration.nats_late). */
bool tly_bus_connect(const char *url, const char *client_name, jsOptions *jo,
                     tly_bus_t **out) TLY_MUSTCHECK;

/* Drains for up to timeout_ms, then closes and frees. NULL is a no-op. */
void tly_bus_destroy(tly_bus_t *bus, int64_t timeout_ms);

/* Connected once: nc and js may be used (they buffer while reconnecting). */
bool tly_bus_up(const tly_bus_t *bus);
/* Connected now. */
bool tly_bus_connected(const tly_bus_t *bus);

/* Creates the stream, or updates it to the configured limits; idempotent
 * and safe from several replicas at once. Blocks up to a few seconds. */
bool tly_bus_ensure_stream(tly_bus_t *bus, const tly_config_t *cfg) TLY_MUSTCHECK;

#define TLY_SUBJECT_MAX 128

/* The dead-letter stream: "<TALLY_STREAM_NAME>_DLQ" on subject
 * "dlq.<prefix>"; ingest copies every message it can never store there
 * (headers Tally-DLQ-Subject and -Seq; the reason is in the dead_letters
 * row) before terminating it. */
bool tly_bus_ensure_dlq_stream(tly_bus_t *bus, const tly_config_t *cfg) TLY_MUSTCHECK;
void tly_bus_dlq(const tly_config_t *cfg, char stream[TLY_SUBJECT_MAX],
                 char subject[TLY_SUBJECT_MAX]);

/* Unsubscribes and frees sub (NULL: no-op). libnats before 3.6.1 looks up
 * the subscription of an inbound message and locks it only after letting
 * go of the table's lock, so freeing it in between frees what the reader
 * thread is about to lock (nats-io/nats.c#637). Here it is unsubscribed
 * first, and freed only after a round trip to the server (up to 1 s),
 * when the reader has processed everything it had read before. */
void tly_bus_unsubscribe(natsConnection *nc, natsSubscription *sub);

/* The stream sequence of a message delivered by a consumer (0 if unknown). */
uint64_t tly_bus_stream_seq(natsMsg *msg);

/* Writes "<prefix>.<tenant>" into out. */
void tly_bus_subject(const tly_config_t *cfg, const char *tenant_id, char out[TLY_SUBJECT_MAX]);

/* Control broadcasts (core NATS, at most once; TTLs cover a missed one):
 * "control.<prefix>.apikey.revoked" carries a key id,
 * "control.<prefix>.tenant.changed" a tenant id. `what` is the suffix. */
void tly_bus_control_subject(const tly_config_t *cfg, const char *what, char out[TLY_SUBJECT_MAX]);

/* Extracts the tenant from a subject made by tly_bus_subject (lowercased
 * into out); false if the subject has another shape. */
bool tly_bus_subject_tenant(const tly_config_t *cfg, const char *subject, char out[37]);

#endif
