#include "server/metrics.h"
#include "common/prom.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int statuses[] = {200, 202, 304, 400, 401, 403, 404,
                               405, 413, 415, 422, 429, 500, 503};
#define NSTATUS ((int)TLY_ARRAY_LEN(statuses)) /* index NSTATUS: any other */

/* Every problem slug the server answers; index NSLUGS: any other. */
static const char *const slugs[] = {
    "body-too-large",
    "compression-ratio-too-high",
    "database-unavailable",
    "decompressed-too-large",
    "duplicate-key",
    "forbidden",
    "internal",
    "invalid-parameter",
    "invalid-utf8",
    "malformed-gzip",
    "malformed-json",
    "method-not-allowed",
    "nesting-too-deep",
    "not-found",
    "overloaded",
    "queue-unavailable",
    "rate-limited",
    "tenant-suspended",
    "unauthorized",
    "unsupported-encoding",
    "unsupported-media-type",
    "validation-failed",
};
#define NSLUGS ((int)TLY_ARRAY_LEN(slugs))

static const char *const outcomes[] = {"stored", "duplicate", "timeout", "error"};
#define NOUTCOMES ((int)TLY_ARRAY_LEN(outcomes))

struct tly_metrics {
    const char *const *route_names;
    int nroutes;
    _Atomic uint64_t *requests; /* [(nroutes + 1) * (NSTATUS + 1)] */
    tly_histogram_t *latency;   /* [nroutes + 1] */
    _Atomic uint64_t rejections[NSLUGS + 1];
    _Atomic uint64_t publishes[NOUTCOMES];
    tly_histogram_t publish_latency;
};

tly_metrics_t *tly_metrics_create(const char *const *route_names, int nroutes)
{
    tly_metrics_t *m = tly_xcalloc(1, sizeof *m);
    m->route_names = route_names;
    m->nroutes = nroutes;
    m->requests = tly_xcalloc((size_t)(nroutes + 1) * (NSTATUS + 1), sizeof *m->requests);
    m->latency = tly_xcalloc((size_t)nroutes + 1, sizeof *m->latency);
    return m;
}

void tly_metrics_destroy(tly_metrics_t *m)
{
    if (m == NULL)
        return;
    free(m->requests);
    free(m->latency);
    free(m);
}

void tly_metrics_request(tly_metrics_t *m, int route, int status, int64_t duration_ns)
{
    if (route < 0 || route > m->nroutes)
        route = m->nroutes;
    int s = 0;
    while (s < NSTATUS && statuses[s] != status)
        s++;
    atomic_fetch_add_explicit(&m->requests[route * (NSTATUS + 1) + s], 1, memory_order_relaxed);
    tly_histogram_observe(&m->latency[route], duration_ns);
}

void tly_metrics_rejection(tly_metrics_t *m, const char *slug)
{
    int i = 0;
    while (i < NSLUGS && strcmp(slugs[i], slug) != 0)
        i++;
    atomic_fetch_add_explicit(&m->rejections[i], 1, memory_order_relaxed);
}

void tly_metrics_publish(tly_metrics_t *m, const char *outcome, int64_t duration_ns)
{
    int i = 0;
    while (i < NOUTCOMES - 1 && strcmp(outcomes[i], outcome) != 0)
        i++;
    atomic_fetch_add_explicit(&m->publishes[i], 1, memory_order_relaxed);
    tly_histogram_observe(&m->publish_latency, duration_ns);
}

static const char *route_label(const tly_metrics_t *m, int r)
{
    return r < m->nroutes ? m->route_names[r] : "unmatched";
}

char *tly_metrics_render(tly_metrics_t *m, const tly_metrics_gauges_t *g, size_t *len)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 1 << 20);

    tly_prom_header(&b, "tally_http_requests_total", "counter",
                    "HTTP requests by route and status.");
    for (int r = 0; r <= m->nroutes; r++) {
        for (int s = 0; s <= NSTATUS; s++) {
            uint64_t v = atomic_load(&m->requests[r * (NSTATUS + 1) + s]);
            if (v == 0)
                continue;
            char status[8];
            snprintf(status, sizeof status, "%d", s < NSTATUS ? statuses[s] : 0);
            tly_strbuf_printf(&b, "tally_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                              route_label(m, r), s < NSTATUS ? status : "other",
                              (unsigned long long)v);
        }
    }
    tly_prom_header(&b, "tally_http_request_duration_seconds", "histogram",
                    "Time from the first byte of a request to its completion, by route.");
    for (int r = 0; r <= m->nroutes; r++) {
        char labels[96];
        snprintf(labels, sizeof labels, "route=\"%s\",", route_label(m, r));
        tly_prom_histogram(&b, "tally_http_request_duration_seconds", labels, &m->latency[r]);
    }
    tly_prom_header(&b, "tally_http_rejections_total", "counter",
                    "Problem responses by reason (the problem type's slug).");
    for (int i = 0; i <= NSLUGS; i++) {
        uint64_t v = atomic_load(&m->rejections[i]);
        if (v != 0)
            tly_strbuf_printf(&b, "tally_http_rejections_total{reason=\"%s\"} %llu\n",
                              i < NSLUGS ? slugs[i] : "other", (unsigned long long)v);
    }
    tly_prom_header(&b, "tally_publishes_total", "counter", "JetStream publishes by outcome.");
    for (int i = 0; i < NOUTCOMES; i++)
        tly_strbuf_printf(&b, "tally_publishes_total{outcome=\"%s\"} %llu\n", outcomes[i],
                          (unsigned long long)atomic_load(&m->publishes[i]));
    tly_prom_header(&b, "tally_publish_duration_seconds", "histogram",
                    "Time from a JetStream publish to its PubAck (or failure).");
    tly_prom_histogram(&b, "tally_publish_duration_seconds", "", &m->publish_latency);
    tly_prom_header(&b, "tally_publishes_in_flight", "gauge", "Publishes awaiting their PubAck.");
    tly_strbuf_printf(&b, "tally_publishes_in_flight %d\n", g->publishes_in_flight);
    tly_prom_header(&b, "tally_requests_suspended", "gauge",
                    "Requests waiting for a worker or a PubAck.");
    tly_strbuf_printf(&b, "tally_requests_suspended %d\n", g->requests_suspended);
    tly_prom_header(&b, "tally_auth_cache_lookups_total", "counter",
                    "API key cache lookups by result.");
    tly_strbuf_printf(&b, "tally_auth_cache_lookups_total{result=\"hit\"} %llu\n",
                      (unsigned long long)g->auth_cache_hits);
    tly_strbuf_printf(&b, "tally_auth_cache_lookups_total{result=\"miss\"} %llu\n",
                      (unsigned long long)g->auth_cache_misses);
    tly_prom_header(&b, "tally_nats_connected", "gauge", "1 while the NATS connection is up.");
    tly_strbuf_printf(&b, "tally_nats_connected %d\n", g->nats_connected ? 1 : 0);
    *len = b.len;
    return tly_strbuf_steal(&b);
}
