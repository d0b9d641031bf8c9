#include "ingest/metrics.h"
#include "common/log.h"
#include "common/problem.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct tly_ingest_http {
    const tly_config_t *cfg;
    tly_ingest_metrics_t *m;
    tly_bus_t *bus;
    struct MHD_Daemon *daemon;
};

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
    counter(&b, "tally_ingest_fetches_total", "Fetches stored in one transaction each.",
            &m->fetches);
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
    counter(&b, "tally_ingest_partitions_created_total", "Daily partitions created.",
            &m->partitions_created);
    counter(&b, "tally_ingest_partitions_dropped_total", "Daily partitions dropped (retention).",
            &m->partitions_dropped);
    counter(&b, "tally_ingest_ledger_pruned_total",
            "Ledger rows deleted past TALLY_LEDGER_RETENTION_DAYS.", &m->ledger_pruned);

    /* The shared consumer's view: what waits, what is out, what came back. */
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    bool have = bus != NULL && js_GetConsumerInfo(&ci, bus->js, cfg->stream_name,
                                                  TLY_INGEST_CONSUMER, NULL, &jerr) == NATS_OK;
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
    tly_ingest_http_t *h = cls;
    tly_problem_t p = {0};
    const char *type = "application/problem+json";
    char *body = NULL;
    size_t len = 0;
    if (strcmp(method, "GET") != 0) {
        tly_problem_set(&p, 405, "method-not-allowed", "Method not allowed",
                        "this endpoint answers GET only");
    } else if (strcmp(url, "/metrics") == 0) {
        type = "text/plain; version=0.0.4; charset=utf-8";
        body = tly_ingest_metrics_render(h->cfg, h->m, h->bus, &len);
    } else if (strcmp(url, "/healthz") == 0) {
        type = "application/json";
        body = tly_xstrdup("{\"status\":\"ok\"}");
        len = strlen(body);
    } else {
        tly_problem_set(&p, 404, "not-found", "Not found", "ingest serves /metrics and /healthz");
    }
    if (p.status != 0)
        body = tly_problem_json(&p, url, NULL, &len);
    int status = p.status != 0 ? p.status : 200;
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

tly_ingest_http_t *tly_ingest_http_start(const tly_config_t *cfg, tly_ingest_metrics_t *m,
                                         tly_bus_t *bus)
{
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)cfg->ingest_metrics_port)};
    if (inet_pton(AF_INET, cfg->ingest_metrics_addr, &addr.sin_addr) != 1) {
        TLY_ERROR(NULL, "TALLY_INGEST_METRICS_ADDR %s is not an IPv4 address",
                  cfg->ingest_metrics_addr);
        return NULL;
    }
    tly_ingest_http_t *h = tly_xcalloc(1, sizeof *h);
    *h = (tly_ingest_http_t){.cfg = cfg, .m = m, .bus = bus};
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_CONNECTION_LIMIT, 64, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                                 on_request, h, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (h->daemon == NULL) {
        TLY_ERROR(NULL, "cannot listen on %s:%lld for /metrics", cfg->ingest_metrics_addr,
                  (long long)cfg->ingest_metrics_port);
        free(h);
        return NULL;
    }
    return h;
}

void tly_ingest_http_stop(tly_ingest_http_t *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
