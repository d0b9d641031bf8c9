/* Prometheus metrics of `tally serve`, rendered at GET /metrics in the text
 * exposition format (version 0.0.4).
 *
 * Counters and histograms are fixed arrays of atomics indexed by route,
 * status and reason, so recording is lock-free and allocation-free on the
 * hot path. Thread-safe. Durations are recorded in nanoseconds and exposed
 * in seconds. */
#ifndef TLY_SERVER_METRICS_H
#define TLY_SERVER_METRICS_H

#include "common/util.h"

typedef struct tly_metrics tly_metrics_t;

/* route_names: the routes' labels (borrowed, static); nroutes of them. */
tly_metrics_t *tly_metrics_create(const char *const *route_names, int nroutes);
void tly_metrics_destroy(tly_metrics_t *m);

/* A finished request: route index (nroutes = unmatched), status, duration. */
void tly_metrics_request(tly_metrics_t *m, int route, int status, int64_t duration_ns);
/* A problem answered (by its slug). */
void tly_metrics_rejection(tly_metrics_t *m, const char *slug);
/* A publish's completion: outcome "stored", "duplicate", "timeout" or "error". */
void tly_metrics_publish(tly_metrics_t *m, const char *outcome, int64_t duration_ns);

/* Point-in-time values gathered by the caller at scrape time. */
typedef struct {
    int publishes_in_flight;
    int requests_suspended;
    uint64_t auth_cache_hits;
    uint64_t auth_cache_misses;
    bool nats_connected;
} tly_metrics_gauges_t;

/* Renders everything into a heap string (free()). */
char *tly_metrics_render(tly_metrics_t *m, const tly_metrics_gauges_t *g, size_t *len);

#endif
