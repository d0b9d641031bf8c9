/* An operations listener: GET /metrics (Prometheus text, from a render
 * callback) and GET /healthz on an address of its own, apart from any API
 * traffic, so that it can be kept off the public network. ingest always
 * serves its metrics here; serve does when TALLY_METRICS_PORT is set.
 *
 * One libmicrohttpd daemon with one internal thread; render is called on
 * that thread, so it must be thread-safe against the rest of the process.
 * Anything else gets an RFC 9457 problem (404, or 405 for other methods). */
#ifndef TLY_COMMON_OPS_H
#define TLY_COMMON_OPS_H

#include "common/util.h"

/* The body of every GET /healthz (liveness: the process answers). */
#define TLY_HEALTHZ_BODY "{\"status\":\"ok\"}"

/* Renders the metrics: a heap string (free()) of *len bytes. */
typedef char *(*tly_ops_render_fn)(void *ctx, size_t *len);

typedef struct tly_ops tly_ops_t;

/* Listens on addr:port (IPv4). NULL if it cannot; the reason is logged. ctx
 * is borrowed and must outlive the listener. */
tly_ops_t *tly_ops_start(const char *addr, int64_t port, tly_ops_render_fn render,
                         void *ctx) TLY_MUSTCHECK;
void tly_ops_stop(tly_ops_t *ops);

#endif
