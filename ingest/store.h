/* Writes fetched JetStream messages to PostgreSQL in one transaction.
 *
 * Each message is checked and written under its own savepoint, so one bad
 * message (undecodable, or rejected by a constraint) does not abort its
 * neighbours: it is recorded in dead_letters, in the same transaction, with
 * its reason and bytes, and reported as poison. Redelivered or re-sent batches are
 * recognised by the ledger ingested_batches(tenant, agent, batch) and
 * written nothing twice.
 *
 * Thread-safety: one call per connection at a time (libpq's rule). */
#ifndef TLY_INGEST_STORE_H
#define TLY_INGEST_STORE_H

#include "common/config.h"

#include <libpq-fe.h>
#include <nats/nats.h>

typedef enum {
    TLY_MSG_STORED = 0, /* written now */
    TLY_MSG_DUPLICATE,  /* already written by an earlier delivery */
    TLY_MSG_POISON,     /* never storable: now in dead_letters; copy to the DLQ, terminate */
} tly_msg_outcome_t;

typedef enum {
    TLY_STORE_COMMITTED = 0, /* one outcome per message is set */
    TLY_STORE_RETRY,         /* nothing written (connection or server trouble): retry all */
    TLY_STORE_ISOLATE,       /* a bulk-loaded section was refused: nothing written;
                                store the messages one at a time to find which */
} tly_store_status_t;

/* Rows written by committed calls, for logs and metrics (accumulated). */
typedef struct {
    int64_t batches;       /* reports stored (not duplicates, not poison) */
    int64_t event_rows;    /* event and metric rows in their partitions */
    int64_t out_of_window; /* rows kept in out_of_window_events */
} tly_store_counts_t;

/* Stores msgs[0..n) (borrowed) in one transaction: ledger, device,
 * report row, then the event sections by COPY (ingest/events.h). With n == 1
 * a refused section makes the message poison (dead-lettered), so ISOLATE
 * is only returned for n > 1. counts may be NULL. */
tly_store_status_t tly_store_batch(const tly_config_t *cfg, PGconn *conn, natsMsg **msgs, int n,
                                   tly_msg_outcome_t *outcomes,
                                   tly_store_counts_t *counts) TLY_MUSTCHECK;

#endif
