#include "ingest/metrics.h"

#include <stdio.h>

static const char *const outcome_names[] = {"stored", "duplicate", "poison"};

static void counter(tly_strbuf_t *b, const char *name, const char *help, _Atomic uint64_t *v)
{
    tly_prom_header(b, name, "counter", help);
    tly_prom_sample(b, name, NULL, atomic_load_explicit(v, memory_order_relaxed));
}

char *tly_ingest_metrics_render(const tly_config_t *cfg, tly_ingest_metrics_t *m, tly_bus_t *bus,
                                size_t *len)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 1 << 20);
    char labels[96];

    tly_prom_header(&b, "tally_ingest_messages_total", "counter",
                    "Batches (JetStream messages) settled, by outcome.");
    for (size_t i = 0; i < TLY_ARRAY_LEN(outcome_names); i++) {
        snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome_names[i]);
        tly_prom_sample(&b, "tally_ingest_messages_total", labels,
                        atomic_load_explicit(&m->messages[i], memory_order_relaxed));
    }
    tly_prom_header(&b, "tally_ingest_rows_total", "counter",
                    "Rows written to PostgreSQL, by table.");
    for (size_t t = 0; t < TLY_STORE_TABLES; t++) {
        snprintf(labels, sizeof labels, "table=\"%s\"", tly_store_tables[t]);
        tly_prom_sample(&b, "tally_ingest_rows_total", labels,
                        atomic_load_explicit(&m->rows[t], memory_order_relaxed));
    }
    tly_prom_header(&b, "tally_ingest_software_sets_total", "counter",
                    "Software sets lists were compared with, by where ingest took them from.");
    static const char *const sources[] = {"source=\"cache\"", "source=\"database\""};
    for (size_t i = 0; i < TLY_ARRAY_LEN(sources); i++)
        tly_prom_sample(&b, "tally_ingest_software_sets_total", sources[i],
                        atomic_load_explicit(&m->software_sets[i], memory_order_relaxed));
    counter(&b, "tally_ingest_fetches_total",
            "Fetches stored, each in one transaction (or two: deferred batches).", &m->fetches);
    tly_prom_header(&b, "tally_ingest_fetch_duration_seconds", "histogram",
                    "Time from a fetch's arrival to its commit and acks.");
    tly_prom_histogram(&b, "tally_ingest_fetch_duration_seconds", "", &m->fetch_duration);
    counter(&b, "tally_ingest_redeliveries_total",
            "Messages delivered more than once (a worker died or timed out before its ack).",
            &m->redeliveries);
    counter(&b, "tally_ingest_store_retries_total",
            "Fetches held and retried because PostgreSQL failed (nothing was written).",
            &m->store_retries);
    counter(&b, "tally_ingest_isolations_total",
            "Fetches PostgreSQL refused as a whole, then stored one message at a time.",
            &m->isolations);
    counter(&b, "tally_ingest_deferred_batches_total",
            "Batches stored in a second transaction of their fetch, after another worker of the"
            " process had stored lists of their device.",
            &m->deferred);
    counter(&b, "tally_ingest_partitions_created_total", "Daily partitions created.",
            &m->partitions_created);
    counter(&b, "tally_ingest_partitions_dropped_total", "Daily partitions dropped (retention).",
            &m->partitions_dropped);
    counter(&b, "tally_ingest_ledger_pruned_total",
            "Ledger rows deleted past TALLY_LEDGER_RETENTION_DAYS.", &m->ledger_pruned);
    counter(&b, "tally_ingest_dead_letters_pruned_total",
            "dead_letters rows deleted past TALLY_DEAD_LETTER_RETENTION_DAYS.",
            &m->dead_letters_pruned);

    /* The shared consumer's view: what waits, what is out, what came back. */
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    bool have = bus != NULL && tly_bus_up(bus) &&
                js_GetConsumerInfo(&ci, bus->js, cfg->stream_name, TLY_INGEST_CONSUMER, NULL,
                                   &jerr) == NATS_OK;
    tly_prom_header(&b, "tally_ingest_consumer_pending", "gauge",
                    "Messages in the stream not yet delivered to any ingest (the lag).");
    tly_prom_sample(&b, "tally_ingest_consumer_pending", NULL, have ? ci->NumPending : 0);
    tly_prom_header(&b, "tally_ingest_consumer_ack_pending", "gauge",
                    "Messages delivered and not yet acknowledged, all ingest processes.");
    tly_prom_sample(&b, "tally_ingest_consumer_ack_pending", NULL,
                    have ? (uint64_t)ci->NumAckPending : 0);
    tly_prom_header(&b, "tally_ingest_consumer_redelivered", "gauge",
                    "Messages delivered more than once and not yet acknowledged.");
    tly_prom_sample(&b, "tally_ingest_consumer_redelivered", NULL,
                    have ? (uint64_t)ci->NumRedelivered : 0);
    tly_prom_header(&b, "tally_ingest_consumer_info_ok", "gauge",
                    "1 if the consumer figures above could be read from JetStream.");
    tly_prom_sample(&b, "tally_ingest_consumer_info_ok", NULL, have ? 1 : 0);
    jsConsumerInfo_Destroy(ci);
    tly_prom_header(&b, "tally_nats_connected", "gauge", "1 while the NATS connection is up.");
    tly_prom_sample(&b, "tally_nats_connected", NULL, tly_bus_connected(bus) ? 1 : 0);
    *len = b.len;
    return tly_strbuf_steal(&b);
}
