/* `tally serve`: wires the publisher, the job pool and the HTTP daemon, then
 * waits for SIGTERM/SIGINT and drains in order. */
#include "common/log.h"
#include "common/ops.h"
#include "server/server.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

/* Control broadcasts from `tally admin`: drop what they invalidate. Runs on
 * a nats.c thread; the cache operations are short and locked. */
static void on_control(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    tly_server_t *srv = closure;
    const char *subject = natsMsg_GetSubject(msg);
    char key_id[TLY_APIKEY_ID_LEN + 1];
    int len = natsMsg_GetDataLength(msg);
    size_t n = strlen(subject);
    if (n > 15 && strcmp(subject + n - 15, ".apikey.revoked") == 0 && len == TLY_APIKEY_ID_LEN) {
        memcpy(key_id, natsMsg_GetData(msg), TLY_APIKEY_ID_LEN);
        key_id[TLY_APIKEY_ID_LEN] = '\0';
        tly_keycache_evict(srv->keys, key_id);
        tly_keycache_evict(srv->unknown_keys, key_id);
        TLY_INFO(NULL, "API key %s revoked: evicted from the cache", key_id);
    } else {
        tly_keycache_clear(srv->keys); /* tenant changed: rare, so drop everything */
        tly_keycache_clear(srv->unknown_keys);
        TLY_INFO(NULL, "tenant change broadcast: API key cache cleared");
    }
    natsMsg_Destroy(msg);
}

/* Subscribes to the control broadcasts once NATS is up (false until it
 * has); a failure is logged and tried again by the stream keeper. Caches
 * still expire within TALLY_AUTH_CACHE_TTL_S without them. */
static bool subscribe_control(tly_server_t *srv)
{
    tly_bus_t *bus = tly_publisher_bus(srv->publisher);
    if (srv->control_sub != NULL || !tly_bus_up(bus))
        return srv->control_sub != NULL;
    char control[TLY_SUBJECT_MAX];
    tly_bus_control_subject(srv->cfg, ">", control);
    natsStatus s = natsConnection_Subscribe(&srv->control_sub, bus->nc, control, on_control, srv);
    if (s != NATS_OK) {
        TLY_ERROR(NULL, "cannot subscribe to %s: %s", control, natsStatus_GetText(s));
        srv->control_sub = NULL;
    }
    return srv->control_sub != NULL;
}

/* Creates the stream once NATS is reachable and re-checks it now and then,
 * so serve starts (and reports not ready) while NATS is still down; and
 * subscribes to the control broadcasts then if serve could not at start. */
static void *stream_keeper(void *arg)
{
    tly_server_t *srv = arg;
    tly_bus_t *bus = tly_publisher_bus(srv->publisher);
    while (!atomic_load(&srv->stopping)) {
        bool ready = tly_bus_connected(bus) && subscribe_control(srv) &&
                     tly_bus_ensure_stream(bus, srv->cfg);
        if (ready && !atomic_load(&srv->stream_ready))
            TLY_INFO(NULL, "JetStream stream %s ready", srv->cfg->stream_name);
        atomic_store(&srv->stream_ready, ready);
        tly_sleep_unless(ready ? 30000 : 1000, &srv->stopping);
    }
    nats_ReleaseThreadMemory();
    return NULL;
}

static void wait_for_suspended(tly_server_t *srv, int64_t grace_ms)
{
    int64_t deadline = tly_now_monotonic_ns() + grace_ms * 1000000;
    while (atomic_load(&srv->suspended) > 0 && tly_now_monotonic_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&srv->suspended);
    if (left > 0)
        TLY_ERROR(NULL, "%d requests still in flight after the %lld ms grace period", left,
                  (long long)grace_ms);
}

int tly_serve_main(const tly_config_t *cfg)
{
    tly_server_t srv = {.cfg = cfg};
    tly_ops_t *ops = NULL;
    pthread_t keeper;
    bool keeper_started = false;
    int rc = 1;

    char err[256];
    if (!tly_schema_compile(tly_batch_schema_json, tly_batch_schema_json_len, &srv.batch_schema,
                            err, sizeof err)) {
        TLY_ERROR(NULL, "batch schema: %s", err);
        goto failed;
    }
    srv.keys = tly_keycache_create((size_t)cfg->auth_cache_max, cfg->auth_cache_ttl_s * 1000,
                                   cfg->auth_negative_ttl_s * 1000);
    srv.unknown_keys = tly_keycache_create(
        (size_t)cfg->auth_cache_max, cfg->auth_cache_ttl_s * 1000, cfg->auth_negative_ttl_s * 1000);
    srv.limits = tly_ratelimit_create((size_t)cfg->auth_cache_max);
    int nroutes;
    const char *const *route_names = tly_http_route_names(&nroutes);
    srv.metrics = tly_metrics_create(route_names, nroutes);
    if (!tly_publisher_create(cfg, srv.metrics, &srv.publisher))
        goto failed;
    subscribe_control(&srv); /* or, NATS not up yet, the stream keeper once it is */
    if (!tly_jobs_create((int)cfg->db_workers, (int)cfg->db_queue_len, cfg->database_url,
                         &srv.jobs))
        goto failed;
    if (pthread_create(&keeper, NULL, stream_keeper, &srv) != 0)
        goto failed;
    keeper_started = true;
    if (cfg->metrics_port > 0 && (ops = tly_ops_start(cfg->metrics_addr, cfg->metrics_port,
                                                      tly_server_metrics_text, &srv)) == NULL)
        goto failed;
    if (!tly_http_start(&srv))
        goto failed;
    TLY_INFO(NULL, "listening on http://%s:%lld", cfg->http_addr, (long long)cfg->http_port);

    int sig = tly_signals_wait();
    TLY_INFO(NULL, "%s received, draining", strsignal(sig));
    atomic_store(&srv.stopping, true);
    /* Stop accepting, let suspended requests get their answers, then stop. */
    MHD_quiesce_daemon(srv.daemon);
    wait_for_suspended(&srv, cfg->shutdown_grace_ms);
    rc = 0;
failed:
    atomic_store(&srv.stopping, true);
    tly_http_stop(&srv);
    tly_ops_stop(ops);
    tly_jobs_destroy(srv.jobs);
    if (keeper_started)
        pthread_join(keeper, NULL);
    if (srv.control_sub != NULL)
        tly_bus_unsubscribe(tly_publisher_bus(srv.publisher)->nc, srv.control_sub);
    tly_publisher_destroy(srv.publisher, cfg->shutdown_grace_ms);
    tly_schema_destroy(srv.batch_schema);
    tly_keycache_destroy(srv.keys);
    tly_keycache_destroy(srv.unknown_keys);
    tly_ratelimit_destroy(srv.limits);
    tly_metrics_destroy(srv.metrics);
    TLY_INFO(NULL, "stopped");
    return rc;
}
