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

/* Stores msgs[0..n) (borrowed). Returns true after COMMIT, with one outcome
 * per message; false when the transaction failed as a whole (connection or
 * server trouble): nothing was written and every message should be retried. */
bool tly_store_batch(const tly_config_t *cfg, PGconn *conn, natsMsg **msgs, int n,
                     tly_msg_outcome_t *outcomes) TLY_MUSTCHECK;

#endif
