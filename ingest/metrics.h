/* Prometheus metrics of `tally ingest`, served at GET /metrics (and GET
 * /healthz) on TALLY_INGEST_METRICS_ADDR:TALLY_INGEST_METRICS_PORT by an
 * operations listener (common/ops.h).
 *
 * The counters are atomics the workers add to (relaxed: each is a count of
 * its own); the consumer's lag is asked of JetStream at scrape time.
 * Thread-safe. */
#ifndef TLY_INGEST_METRICS_H
#define TLY_INGEST_METRICS_H

#include "common/bus.h"
#include "common/config.h"
#include "common/prom.h"
#include "ingest/store.h"

typedef struct {
    _Atomic uint64_t fetches;                /* non-empty fetches stored */
    _Atomic uint64_t messages[3];            /* by tly_msg_outcome_t */
    _Atomic uint64_t redeliveries;           /* messages delivered more than once */
    _Atomic uint64_t store_retries;          /* fetches held and retried: PostgreSQL trouble */
    _Atomic uint64_t isolations;             /* fetches stored one message at a time */
    _Atomic uint64_t deferred;               /* tly_store_counts_t.deferred */
    _Atomic uint64_t rows[TLY_STORE_TABLES]; /* rows written, by table */
    _Atomic uint64_t software_sets[2];       /* sets compared: as cached, read from PostgreSQL */
    _Atomic uint64_t partitions_created;
    _Atomic uint64_t partitions_dropped;
    _Atomic uint64_t ledger_pruned;       /* ledger rows past retention, deleted */
    _Atomic uint64_t dead_letters_pruned; /* dead_letters rows past retention, deleted */
    tly_histogram_t fetch_duration;       /* fetched -> committed and acked */
} tly_ingest_metrics_t;

/* The exposition text (heap; free()), consumer figures included. */
char *tly_ingest_metrics_render(const tly_config_t *cfg, tly_ingest_metrics_t *m, tly_bus_t *bus,
                                size_t *len);

#endif
