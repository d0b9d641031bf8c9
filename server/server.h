/* tally serve: the REST API process.
 *
 * Threading model (docs/architecture.md): libmicrohttpd runs
 * TALLY_HTTP_THREADS epoll poll threads that never block. A request that
 * needs PostgreSQL is suspended and handed to the job pool (server/jobs.h);
 * a request that publishes is resumed from the PubAck callback
 * (server/publisher.h). Whoever finishes a request stores the response in
 * the request and calls tly_request_finish(), which resumes the connection;
 * the poll thread then sends it.
 *
 * Ownership: a tly_request_t is allocated on the first callback for a
 * request and freed by MHD's request-completed callback. A suspended request
 * is never completed by MHD, so a job or publish completion may use it until
 * it calls tly_request_finish(), and must not touch it afterwards. */
#ifndef TLY_SERVER_SERVER_H
#define TLY_SERVER_SERVER_H

#include "auth/apikey.h"
#include "common/config.h"
#include "common/jsonschema.h"
#include "common/problem.h"
#include "server/jobs.h"
#include "server/keycache.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/publisher.h"

#include <microhttpd.h>
#include <stdatomic.h>

typedef struct tly_server tly_server_t;
typedef struct tly_request tly_request_t;

/* Agent authentication (server/agent_auth.c). Continues an authenticated,
 * admitted agent request; runs on the poll thread (request not suspended)
 * or on a worker (suspended). Returns true while the request is still the
 * caller's (a response stored, or none yet), false once an async completion
 * owns it (e.g. a publish in flight): the caller must not touch it then. */
typedef bool (*tly_agent_next_fn)(tly_request_t *req);

/* A handler runs on a poll thread when the whole body is in. It either
 * stores a response (tly_request_respond / _problem) or suspends the request
 * with tly_request_suspend() and arranges for tly_request_finish() later. */
typedef void (*tly_handler_fn)(tly_server_t *srv, tly_request_t *req);

typedef struct {
    const char *method;
    const char *path;
    const char *name; /* route label for logs and metrics */
    bool wants_body;
    tly_handler_fn handler;
} tly_route_t;

struct tly_server {
    const tly_config_t *cfg; /* borrowed, read-only */
    struct MHD_Daemon *daemon;
    tly_jobs_t *jobs;
    tly_publisher_t *publisher;
    tly_schema_t *batch_schema;   /* read-only after start-up */
    tly_keycache_t *keys;         /* API keys that exist */
    tly_keycache_t *unknown_keys; /* key ids PostgreSQL did not know */
    tly_ratelimit_t *limits;
    tly_metrics_t *metrics;
    natsSubscription *control_sub; /* revocations and tenant changes */
    atomic_bool stream_ready;      /* set by the stream keeper thread */
    atomic_bool stopping;
    atomic_int suspended; /* requests suspended once and not yet completed */
};

struct tly_request {
    tly_server_t *srv;
    struct MHD_Connection *conn;
    const tly_route_t *route;
    char path[128];
    char request_id[65];
    char tenant_id[37];
    int64_t start_ns;

    /* Body, capped at TALLY_MAX_BODY_BYTES while it streams in. */
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;

    /* Response, written by whoever finishes the request. */
    bool responded;
    bool suspended;
    int status;
    char *resp_body; /* heap, owned */
    size_t resp_len;
    const char *resp_type; /* static */
    int retry_after_s;
    char etag[40];     /* sent when non-empty */
    int64_t max_age_s; /* Cache-Control: max-age when > 0, else no-store */

    /* Agent requests: the presented key, and the batch's identity. */
    tly_apikey_t api_key;
    tly_agent_next_fn agent_next;
    char agent_id[37];
    char batch_id[37];
};

/* Stores a JSON response; takes ownership of body (heap). */
void tly_request_respond(tly_request_t *req, int status, char *body, size_t len);
/* Stores a problem+json response: tly_problem_set + tly_request_problem. */
void tly_request_fail(tly_request_t *req, int status, const char *slug, const char *title,
                      int retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Stores a problem+json response rendered from p. */
void tly_request_problem(tly_request_t *req, const tly_problem_t *p);
/* Suspends the connection (poll thread only, inside a handler). */
void tly_request_suspend(tly_request_t *req);
/* After respond/problem from another thread: resumes the connection. */
void tly_request_finish(tly_request_t *req);

/* Checks "Authorization: Bearer tly_..." (cache, else PostgreSQL on a
 * worker), the key's scope and tenant, and the per-key and per-tenant rate
 * limits; then calls next. Poll thread, inside a handler. */
void tly_agent_authenticate(tly_server_t *srv, tly_request_t *req, tly_agent_next_fn next);

/* Route handlers, one file each. */
void tly_handle_healthz(tly_server_t *srv, tly_request_t *req);
void tly_handle_readyz(tly_server_t *srv, tly_request_t *req);
void tly_handle_metrics(tly_server_t *srv, tly_request_t *req);
/* serve's metrics as Prometheus text (heap; free()): the API's /metrics and
 * the TALLY_METRICS_PORT listener (common/ops.h) both answer with it. */
char *tly_server_metrics_text(void *srv, size_t *len);
void tly_handle_agent_inventory(tly_server_t *srv, tly_request_t *req);
void tly_handle_agent_policy(tly_server_t *srv, tly_request_t *req);

/* HTTP plumbing (server/http.c). */
bool tly_http_start(tly_server_t *srv) TLY_MUSTCHECK;
/* The routes' labels, in the order metrics index them. */
const char *const *tly_http_route_names(int *count);
void tly_http_stop(tly_server_t *srv);

/* Entry point of `tally serve`; returns the process exit code. */
int tly_serve_main(const tly_config_t *cfg);

#endif
