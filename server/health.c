/* Operational endpoints: GET /healthz (liveness: the process answers),
 * GET /readyz (PostgreSQL answers a query, NATS is connected and the stream
 * exists) and GET /metrics (Prometheus text format). */
#include "common/bus.h"
#include "common/log.h"
#include "common/ops.h"
#include "server/server.h"

#include <string.h>

void tly_handle_healthz(tly_server_t *srv, tly_request_t *req)
{
    tly_request_respond(req, 200, tly_xstrdup(TLY_HEALTHZ_BODY), sizeof TLY_HEALTHZ_BODY - 1);
}

static void readyz_job(PGconn *conn, void *arg)
{
    tly_request_t *req = arg;
    tly_server_t *srv = req->srv;
    bool pg = false;
    if (conn != NULL) {
        PGresult *res = PQexec(conn, "SELECT 1");
        pg = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
    }
    bool nats = tly_bus_connected(tly_publisher_bus(srv->publisher));
    bool stream = atomic_load(&srv->stream_ready);
    bool ready = pg && nats && stream && !atomic_load(&srv->stopping);
    tly_strbuf_t b;
    tly_strbuf_init(&b, 512);
    tly_strbuf_printf(&b,
                      "{\"status\":\"%s\",\"checks\":{\"postgres\":%s,\"nats\":%s,\"stream\":%s}}",
                      ready ? "ready" : "not_ready", pg ? "true" : "false", nats ? "true" : "false",
                      stream ? "true" : "false");
    size_t len = b.len;
    tly_request_respond(req, ready ? 200 : 503, tly_strbuf_steal(&b), len);
    if (!ready)
        req->retry_after_s = 5;
    tly_request_finish(req);
}

void tly_handle_readyz(tly_server_t *srv, tly_request_t *req)
{
    tly_request_suspend(req);
    if (!tly_jobs_submit(srv->jobs, readyz_job, req))
        readyz_job(NULL, req); /* queue full: answer "not ready" at once */
}

char *tly_server_metrics_text(void *arg, size_t *len)
{
    tly_server_t *srv = arg;
    tly_metrics_gauges_t g = {
        .publishes_in_flight = tly_publisher_inflight(srv->publisher),
        .requests_suspended = atomic_load(&srv->suspended),
        .nats_connected = tly_bus_connected(tly_publisher_bus(srv->publisher)),
    };
    uint64_t hits, misses;
    tly_keycache_stats(srv->keys, &g.auth_cache_hits, &g.auth_cache_misses);
    tly_keycache_stats(srv->unknown_keys, &hits, &misses);
    g.auth_cache_hits += hits;   /* a remembered unknown key is a hit too... */
    g.auth_cache_misses -= hits; /* ...and not a miss */
    return tly_metrics_render(srv->metrics, &g, len);
}

void tly_handle_metrics(tly_server_t *srv, tly_request_t *req)
{
    if (srv->cfg->metrics_port > 0) { /* served on the operations listener only */
        tly_request_fail(req, 404, "not-found", "Not found", 0, "no resource at %s", req->path);
        return;
    }
    size_t len;
    char *body = tly_server_metrics_text(srv, &len);
    tly_request_respond(req, 200, body, len);
    req->resp_type = "text/plain; version=0.0.4; charset=utf-8";
}
