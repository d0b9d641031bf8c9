/* Writes fetched JetStream messages to PostgreSQL in one transaction (two
 * when another worker holds some of their devices: tly_store_batch).
 *
 * The messages are decoded here. Their batches are entered into the ledger
 * ingested_batches(tenant, agent, batch): by a COPY of their keys when all
 * are new to it, else by tally_ingest_ledger() (migrations/0017), which
 * answers those that are: a redelivered or re-sent batch writes nothing
 * twice. Of the new ones, the software lists
 * are compared with the devices' sets (ingest/softset.h) and what differs
 * written; the events, metrics and report rows COPYed into their tables
 * (ingest/stage.h); and last each device's facts and patch lists staged and
 * applied by tally_ingest_devices(): a fixed number of round trips per
 * fetch. An undecodable message is recorded in dead_letters, in the same
 * transaction, with its reason and bytes; a message PostgreSQL refuses (a
 * data error) is found by storing the fetch one message at a time
 * (TLY_STORE_ISOLATE) and dead-lettered alone.
 *
 * Thread-safety: one call per connection at a time (libpq's rule). */
#ifndef TLY_INGEST_STORE_H
#define TLY_INGEST_STORE_H

#include "common/config.h"
#include "ingest/catalog.h"
#include "ingest/claims.h"
#include "ingest/devids.h"
#include "ingest/softset.h"

#include <libpq-fe.h>
#include <nats/nats.h>

typedef enum {
    TLY_MSG_STORED = 0, /* written by this fetch (this call or an earlier try of it) */
    TLY_MSG_DUPLICATE,  /* already written by an earlier delivery */
    TLY_MSG_POISON,     /* never storable: now in dead_letters; copy to the DLQ, terminate */
} tly_msg_outcome_t;

typedef enum {
    TLY_STORE_COMMITTED = 0, /* one outcome per message is set */
    TLY_STORE_RETRY,         /* nothing written (connection or server trouble): retry all */
    TLY_STORE_ISOLATE,       /* a bulk-loaded section was refused: nothing written;
                                store the messages one at a time to find which */
} tly_store_status_t;

/* The tables ingest writes, in the order of tly_store_counts_t.rows. */
#define TLY_STORE_TABLES 12
extern const char *const tly_store_tables[TLY_STORE_TABLES];

/* What committed calls wrote, for logs and metrics (accumulated). */
typedef struct {
    int64_t batches;                /* batches stored (not duplicates, not poison) */
    int64_t dead_letters;           /* messages recorded in dead_letters */
    int64_t rows[TLY_STORE_TABLES]; /* rows inserted (or, for devices, upserted) */
    int64_t sets_cached;            /* software sets compared as cached (ingest/softset.h) */
    int64_t sets_read;              /* software sets read from PostgreSQL to compare */
    int64_t deferred; /* batches stored in their fetch's second transaction, after waiting
                         for another worker's claim on their device (ingest/claims.h) */
} tly_store_counts_t;

/* What a worker brings to each fetch: the bounds of a message's parse (the
 * batch schema's, as serve's: a message that did not come through serve
 * may be anything), its own catalog ids and device ids, and the process's
 * software sets and claims on devices (shared). */
typedef struct {
    tly_json_limits_t limits;
    tly_catalog_t *catalog;
    tly_devids_t *devices;
    tly_swcache_t *sets;
    tly_claims_t *claims;
} tly_store_ctx_t;

/* Stores msgs[0..n) (borrowed) in one transaction, or two when another
 * worker of the process holds a claim on some of their devices (those wait
 * for the second: ingest/claims.h), after adding new software names to the
 * catalog in a statement of their own and looking up the devices its caches
 * lack. With n == 1 a refused message is poison (dead-lettered), so ISOLATE
 * is only returned for n > 1. A result other than COMMITTED may follow a
 * committed first transaction: its batches are in the ledger, and a retry
 * finds them there. committed[0..n) is the caller's, all false for a new
 * fetch and kept across its tries: a message is marked once a transaction
 * that stored or dead-lettered it committed, and a retry reports it STORED
 * (not DUPLICATE) and does not count its dead letter again. What a
 * committed transaction wrote adds to counts even when the fetch then
 * fails, as do catalog entries created. */
tly_store_status_t tly_store_batch(const tly_config_t *cfg, PGconn *conn,
                                   const tly_store_ctx_t *ctx, natsMsg **msgs, int n,
                                   tly_msg_outcome_t *outcomes, bool *committed,
                                   tly_store_counts_t *counts) TLY_MUSTCHECK;

#endif
