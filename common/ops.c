#include "common/ops.h"
#include "common/log.h"
#include "common/problem.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct tly_ops {
    tly_ops_render_fn render;
    void *ctx;
    struct MHD_Daemon *daemon;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
    tly_ops_t *ops = cls;
    tly_problem_t p = {0};
    const char *type = "application/problem+json";
    char *body = NULL;
    size_t len = 0;
    if (strcmp(method, "GET") != 0) {
        tly_problem_set(&p, 405, "method-not-allowed", "Method not allowed",
                        "this endpoint answers GET only");
    } else if (strcmp(url, "/metrics") == 0) {
        type = "text/plain; version=0.0.4; charset=utf-8";
        body = ops->render(ops->ctx, &len);
    } else if (strcmp(url, "/healthz") == 0) {
        type = "application/json";
        body = tly_xstrdup(TLY_HEALTHZ_BODY);
        len = strlen(body);
    } else {
        tly_problem_set(&p, 404, "not-found", "Not found",
                        "this listener serves /metrics and /healthz");
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

tly_ops_t *tly_ops_start(const char *addr, int64_t port, tly_ops_render_fn render, void *ctx)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        TLY_ERROR(NULL, "%s is not an IPv4 address for /metrics", addr);
        return NULL;
    }
    tly_ops_t *ops = tly_xcalloc(1, sizeof *ops);
    *ops = (tly_ops_t){.render = render, .ctx = ctx};
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_CONNECTION_LIMIT, 64, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &sa},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    ops->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                                   on_request, ops, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (ops->daemon == NULL) {
        TLY_ERROR(NULL, "cannot listen on %s:%lld for /metrics", addr, (long long)port);
        free(ops);
        return NULL;
    }
    return ops;
}

void tly_ops_stop(tly_ops_t *ops)
{
    if (ops == NULL)
        return;
    MHD_stop_daemon(ops->daemon);
    free(ops);
}
