/* Fetches from ingest's durable JetStream pull consumer, and their acks,
 * spoken over a plain inbox subscription.
 *
 * Why not nats.c's natsSubscription_FetchRequest: in libnats 3.4.1 (Debian
 * 12's), _fetch writes past its message array when, as it is called, more
 * than half a batch is already queued on the subscription: messages an
 * earlier request delivered after its fetch had returned (its wait ran out
 * while a large fetch was still arriving: valgrind's slowness did it within
 * seconds of a drain; a slow link to NATS would in production). The array
 * holds `batch` pointers; the loop that fills it compares the count with
 * the batch less what was queued, which a larger count never equals. Fixed
 * upstream in v3.10.0 (nats-io/nats.c#749, "Fix heap buffer overflow in
 * _fetch"). Here a fetch takes what is queued first, never more than asked,
 * and asks the server only for the rest (integration.pull checks it).
 *
 * The protocol (JetStream's, as nats.c speaks it): a request on
 * $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer> with the inbox as reply
 * and {"batch", "max_bytes", "expires" (ns), "no_wait"}; the messages come
 * to the inbox, each with its ack subject as reply; status messages end a
 * request early: 404 (nothing now, no_wait), 408 (expired), 409 (refused,
 * e.g. the next message alone is larger than max_bytes). An ack is a
 * publish on the message's reply subject.
 *
 * Ownership and threads: a tly_pull_t belongs to one thread (a puller);
 * the messages of a tly_msgs_t are the caller's (tly_msgs_free). tly_ack
 * may be called from any thread (a core NATS publish on the connection,
 * which nats.c locks). */
#ifndef TLY_INGEST_PULL_H
#define TLY_INGEST_PULL_H

#include <nats/nats.h>

#include <stddef.h>
#include <stdint.h>

typedef struct tly_pull tly_pull_t;

/* Fetched messages, in delivery order; count 0: none (msgs may be NULL). */
typedef struct {
    natsMsg **msgs;
    int count;
} tly_msgs_t;

/* Subscribes a fresh inbox for fetches from consumer of stream (the
 * consumer must exist when fetching). NULL, with a warning logged, if the
 * connection refuses the subscription. nc must outlive the puller. */
tly_pull_t *tly_pull_new(natsConnection *nc, const char *stream, const char *consumer);

/* The inbox's subject, where the consumer's deliveries for p come. */
const char *tly_pull_inbox(const tly_pull_t *p);

/* Closes the inbox; the messages still queued on it are handed back (NAK).
 * NULL is a no-op. */
void tly_pull_free(tly_pull_t *p);

/* Fetches up to batch messages, stopping once their payloads reach
 * max_bytes (0: no bound; JetStream sends no more than max_bytes either,
 * headers and subject included): first what is queued, then what the
 * stream holds for the consumer now; if neither had anything, waits up to
 * wait_ms for the first to come. NATS_OK when out holds at least one
 * message; otherwise out is empty and: NATS_NOT_FOUND or NATS_TIMEOUT
 * (nothing came), NATS_NO_RESPONDERS (no such consumer, or JetStream
 * away), NATS_ERR (JetStream refused the request: why holds its reason),
 * or a connection error. */
natsStatus tly_pull_fetch(tly_pull_t *p, int batch, int64_t max_bytes, int64_t wait_ms,
                          tly_msgs_t *out, char *why, size_t why_len);

/* Destroys the messages and the array; out is left empty. */
void tly_msgs_free(tly_msgs_t *m);

/* How a fetched message is settled (JetStream's ack bodies). */
typedef enum {
    TLY_ACK,          /* "+ACK": done */
    TLY_ACK_TERM,     /* "+TERM": never deliver it again (dead-lettered) */
    TLY_ACK_PROGRESS, /* "+WPI": still working; restarts the ack wait, not a delivery */
    TLY_ACK_NAK,      /* "-NAK": deliver it again (to any puller) */
} tly_ack_t;

/* Publishes the ack (fire and forget, as natsMsg_Ack). A lost ack means a
 * redelivery, which ingest's ledger absorbs. */
natsStatus tly_ack(natsConnection *nc, natsMsg *msg, tly_ack_t kind);

#endif
