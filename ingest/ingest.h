/* `tally ingest`: JetStream pull-consumer workers writing to PostgreSQL.
 *
 * TALLY_INGEST_WORKERS threads each own one PGconn and have a puller
 * thread (both started by tly_ingest_main, which exits 1 if one cannot
 * be), which owns a pull subscription bound to the one durable consumer (any
 * number of ingest processes share it) and fetches the worker's next
 * TALLY_INGEST_FETCH_BATCH messages while the worker stores the ones before
 * in one transaction (two when another worker holds some of their
 * devices: ingest/store.h), commits, and only then acks.
 * A crash before the ack means redelivery, which the ledger absorbs. */
#ifndef TLY_INGEST_INGEST_H
#define TLY_INGEST_INGEST_H

#include "common/config.h"

/* Entry point; returns the process exit code. */
int tly_ingest_main(const tly_config_t *cfg);

#endif
