/* libmicrohttpd glue: routing, body buffering with limits, suspend/resume,
 * response queueing and the access log. */
#include "server/server.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tly_route_t routes[] = {
    {"GET", "/healthz", "healthz", false, tly_handle_healthz},
    {"GET", "/readyz", "readyz", false, tly_handle_readyz},
    {"GET", "/metrics", "metrics", false, tly_handle_metrics},
    {"POST", "/v1/agent/inventory", "agent_inventory", true, tly_handle_agent_inventory},
    {"GET", "/v1/agent/policy", "agent_policy", false, tly_handle_agent_policy},
};

static const char *const route_names[] = {"healthz", "readyz", "metrics", "agent_inventory",
                                          "agent_policy"};
_Static_assert(TLY_ARRAY_LEN(route_names) == TLY_ARRAY_LEN(routes), "one name per route");

const char *const *tly_http_route_names(int *count)
{
    *count = (int)TLY_ARRAY_LEN(route_names);
    return route_names;
}

void tly_request_respond(tly_request_t *req, int status, char *body, size_t len)
{
    free(req->resp_body);
    req->status = status;
    req->resp_body = body;
    req->resp_len = len;
    req->resp_type = body != NULL ? "application/json" : NULL;
    req->responded = true;
}

void tly_request_problem(tly_request_t *req, const tly_problem_t *p)
{
    size_t len;
    char *body = tly_problem_json(p, req->path, req->request_id, &len);
    tly_request_respond(req, p->status, body, len);
    req->resp_type = "application/problem+json";
    tly_metrics_rejection(req->srv->metrics, p->slug);
    req->retry_after_s = p->retry_after_s;
}

void tly_request_fail(tly_request_t *req, int status, const char *slug, const char *title,
                      int retry_after_s, const char *fmt, ...)
{
    tly_problem_t p;
    tly_problem_set(&p, status, slug, title, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p.detail, sizeof p.detail, fmt, ap);
    va_end(ap);
    p.retry_after_s = retry_after_s;
    tly_request_problem(req, &p);
}

void tly_request_suspend(tly_request_t *req)
{
    req->suspended = true;
    atomic_fetch_add(&req->srv->suspended, 1);
    MHD_suspend_connection(req->conn);
}

void tly_request_finish(tly_request_t *req)
{
    /* MHD_resume_connection locks inside MHD, so the response fields written
     * before it are visible to the poll thread that sends them. */
    MHD_resume_connection(req->conn);
}

static bool valid_request_id(const char *s)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok || n >= 64)
            return false;
    }
    return n > 0;
}

static tly_request_t *request_new(tly_server_t *srv, struct MHD_Connection *conn, const char *url)
{
    tly_request_t *req = tly_xcalloc(1, sizeof *req);
    req->srv = srv;
    req->conn = conn;
    req->start_ns = tly_now_monotonic_ns();
    snprintf(req->path, sizeof req->path, "%s", url);
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid != NULL && valid_request_id(rid))
        snprintf(req->request_id, sizeof req->request_id, "%s", rid);
    else
        tly_uuid_v4(req->request_id);
    return req;
}

/* Picks the route; on a miss stores 404 or 405 on req and returns NULL. */
static const tly_route_t *route_find(tly_request_t *req, const char *method, const char *url)
{
    bool path_known = false;
    for (size_t i = 0; i < TLY_ARRAY_LEN(routes); i++) {
        if (strcmp(routes[i].path, url) != 0)
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
    }
    tly_problem_t p;
    if (path_known)
        tly_problem_set(&p, 405, "method-not-allowed", "Method not allowed",
                        "%s is not allowed on %s", method, req->path);
    else
        tly_problem_set(&p, 404, "not-found", "Not found", "no resource at %s", req->path);
    tly_request_problem(req, &p);
    return NULL;
}

static void body_too_large(tly_request_t *req)
{
    tly_problem_t p;
    tly_problem_set(&p, 413, "body-too-large", "Request body too large",
                    "the request body exceeds %lld bytes",
                    (long long)req->srv->cfg->max_body_bytes);
    snprintf(p.rule, sizeof p.rule, "max_body_bytes");
    tly_request_problem(req, &p);
}

/* Checks Content-Length before any byte of the body is read. */
static void check_declared_length(tly_request_t *req)
{
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL && strtoull(cl, NULL, 10) > (unsigned long long)req->srv->cfg->max_body_bytes)
        body_too_large(req);
}

static void body_append(tly_request_t *req, const char *data, size_t n)
{
    size_t max = (size_t)req->srv->cfg->max_body_bytes;
    if (req->body_too_large)
        return;
    if (n > max - req->body_len) {
        req->body_too_large = true; /* keep draining; answer when the body ends */
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return;
    }
    if (req->body_len + n + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 16384;
        while (cap < req->body_len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *b = realloc(req->body, cap);
        if (b == NULL) {
            req->body_too_large = true;
            return;
        }
        req->body = b;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

static enum MHD_Result queue_response(tly_request_t *req)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        req->resp_len, req->resp_body,
        req->resp_body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    req->resp_body = NULL; /* MHD frees it now */
    if (req->resp_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->resp_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    if (req->etag[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, req->etag);
    if (req->max_age_s > 0) {
        char cc[48];
        snprintf(cc, sizeof cc, "private, max-age=%lld", (long long)req->max_age_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
    } else {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    if (req->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tally\"");
    if (req->retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", req->retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    tly_server_t *srv = cls;
    tly_request_t *req = *con_cls;
    if (req == NULL) {
        req = request_new(srv, conn, url);
        *con_cls = req;
        req->route = route_find(req, method, url);
        if (req->route != NULL && req->route->wants_body)
            check_declared_length(req);
        /* Errors known from the headers alone are answered before the body
         * is read; MHD then discards the body and closes the connection. */
        return req->responded ? queue_response(req) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (req->route->wants_body)
            body_append(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!req->suspended) {
        if (req->body_too_large)
            body_too_large(req);
        else
            req->route->handler(srv, req);
        if (req->suspended)
            return MHD_YES;
    }
    return queue_response(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    tly_request_t *req = *con_cls;
    if (req == NULL)
        return;
    /* Here, not when MHD hands the resumed request back: when the client has
     * gone meanwhile, MHD closes the connection without doing that. */
    if (req->suspended)
        atomic_fetch_sub(&req->srv->suspended, 1);
    int64_t ns = tly_now_monotonic_ns() - req->start_ns;
    double ms = (double)ns / 1e6;
    tly_metrics_request(req->srv->metrics, req->route ? (int)(req->route - routes) : -1,
                        req->status, ns);
    tly_log_ctx_t lc = {req->request_id, req->tenant_id,
                        req->route ? req->route->name : "unmatched"};
    tly_log_level_t level = req->status >= 500 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK
                                ? TLY_LOG_WARN
                            : req->status >= 400 ? TLY_LOG_INFO
                                                 : TLY_LOG_DEBUG;
    tly_log(level, &lc, "%s -> %d in %.2f ms%s", req->path, req->status, ms,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
    free(req->body);
    free(req->resp_body);
    free(req);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    TLY_WARN(NULL, "libmicrohttpd: %s", msg);
}

static void on_mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    TLY_ERROR(NULL, "libmicrohttpd panic at %s:%u: %s", file ? file : "?", line,
              reason ? reason : "");
    abort();
}

bool tly_http_start(tly_server_t *srv)
{
    const tly_config_t *cfg = srv->cfg;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->http_port)};
    if (inet_pton(AF_INET, cfg->http_addr, &addr.sin_addr) != 1) {
        TLY_ERROR(NULL, "TALLY_HTTP_ADDR %s is not an IPv4 address", cfg->http_addr);
        return false;
    }
    MHD_set_panic_func(on_mhd_panic, NULL);
    /* MHD_OPTION_ARRAY keeps every option's type explicit (varargs would
     * silently misread an int passed where size_t is expected). */
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->http_threads, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->http_connection_limit, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->http_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)(64 * 1024), NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &addr},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_ARRAY, opts,
                                   MHD_OPTION_END);
    if (srv->daemon == NULL) {
        TLY_ERROR(NULL, "cannot listen on %s:%lld", cfg->http_addr, (long long)cfg->http_port);
        return false;
    }
    return true;
}

void tly_http_stop(tly_server_t *srv)
{
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
