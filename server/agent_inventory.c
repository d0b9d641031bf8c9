/* POST /v1/agent/inventory: authenticate the agent's API key, check the
 * batch, publish it to JetStream and answer 202 once the PubAck is in.
 *
 * Poll thread: content type, key format, gzip, JSON parse and validation
 * against the embedded batch schema (CPU only, no I/O). Worker thread: the key lookup in
 * PostgreSQL, then an async publish. nats.c thread: the PubAck, which finishes the request. */
#include "auth/apikey.h"
#include "common/bus.h"
#include "common/json.h"
#include "common/log.h"
#include "server/body.h"
#include "server/server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char T_UNAVAILABLE[] = "Service unavailable";

/* Parses and validates the batch; on success fills req->batch_id and
 * req->agent_id, else stores the problem. Runs on the poll thread: CPU only. */
static bool parse_batch(tly_server_t *srv, tly_request_t *req)
{
    const char *body = req->body ? req->body : "";
    /* No more values than a valid batch can have: a tree takes up to 12
     * bytes per byte of short values, and this bounds it (common/json.h). */
    tly_json_limits_t limits =
        tly_schema_json_limits(srv->batch_schema, (unsigned)srv->cfg->max_json_depth);
    tly_json_error_t jerr;
    tly_json_doc_t *doc = tly_json_parse(body, req->body_len, 0, &limits, &jerr);
    if (doc == NULL && jerr.code == TLY_JSON_E_VALUES) {
        tly_problem_t p;
        tly_problem_set(&p, 413, "too-many-values", "Too many values",
                        "the document has more than %zu values (arrays and objects included), more "
                        "than any valid batch can hold under the schema's maxItems",
                        limits.max_values);
        snprintf(p.rule, sizeof p.rule, "max_values");
        tly_request_problem(req, &p);
        return false;
    }
    if (doc == NULL && jerr.code == TLY_JSON_E_DEPTH) {
        tly_problem_t p;
        tly_problem_set(&p, 400, "nesting-too-deep", "JSON nested too deeply",
                        "JSON nesting deeper than %u levels", limits.max_depth);
        snprintf(p.rule, sizeof p.rule, "max_json_depth");
        tly_request_problem(req, &p);
        return false;
    }
    if (doc == NULL) {
        const char *slug = jerr.code == TLY_JSON_E_UTF8        ? "invalid-utf8"
                           : jerr.code == TLY_JSON_E_DUPLICATE ? "duplicate-key"
                                                               : "malformed-json";
        const char *title = jerr.code == TLY_JSON_E_UTF8        ? "Invalid UTF-8"
                            : jerr.code == TLY_JSON_E_DUPLICATE ? "Duplicate object key"
                                                                : "Malformed JSON";
        tly_request_fail(req, 400, slug, title, 0, "invalid JSON at line %d, column %d: %s",
                         jerr.line, jerr.column, jerr.text);
        return false;
    }
    const tly_json_t *root = tly_json_root(doc);
    tly_problem_t p;
    bool ok = tly_schema_validate(srv->batch_schema, root, &p);
    if (ok) {
        /* The schema guarantees both are UUID strings. */
        tly_uuid_lower(tly_json_string(tly_json_get(root, "batch_id")), req->batch_id);
        tly_uuid_lower(tly_json_string(tly_json_get(tly_json_get(root, "agent"), "id")),
                       req->agent_id);
    } else {
        tly_request_problem(req, &p);
    }
    tly_json_free(doc);
    return ok;
}

static void publish_done(void *arg, const tly_publish_result_t *r)
{
    tly_request_t *req = arg;
    if (r->ok) {
        char body[128];
        int n = snprintf(body, sizeof body, "{\"batch_id\":\"%s\",\"duplicate\":%s}", req->batch_id,
                         r->duplicate ? "true" : "false");
        tly_request_respond(req, 202, tly_xstrdup(body), (size_t)n);
    } else {
        TLY_WARN(&(tly_log_ctx_t){req->request_id, req->tenant_id, "agent_inventory"},
                 "publish not acknowledged: %s", r->error);
        tly_request_fail(req, 503, "queue-unavailable", T_UNAVAILABLE, 2, "%s",
                         r->timeout ? "the message queue did not acknowledge the batch in time"
                                    : "the message queue refused the batch");
    }
    tly_request_finish(req);
}

/* Publishes the authorised batch; suspends the request first if it is not
 * yet. Returns false once the publish is in flight (publish_done owns the
 * request), true with a 503 stored if it could not start. */
static bool publish(tly_request_t *req)
{
    char subject[TLY_SUBJECT_MAX], msg_id[128];
    tly_bus_subject(req->srv->cfg, req->tenant_id, subject);
    snprintf(msg_id, sizeof msg_id, "%s:%s:%s", req->tenant_id, req->agent_id, req->batch_id);
    if (!req->suspended)
        tly_request_suspend(req);
    tly_publish_status_t s =
        tly_publisher_publish(req->srv->publisher, subject, msg_id, req->request_id,
                              tly_now_realtime_us(), req->body, req->body_len, publish_done, req);
    if (s == TLY_PUBLISH_SENT)
        return false;
    if (s == TLY_PUBLISH_BUSY)
        tly_request_fail(req, 503, "overloaded", T_UNAVAILABLE, 1,
                         "too many batches are waiting for the message queue");
    else
        tly_request_fail(req, 503, "queue-unavailable", T_UNAVAILABLE, 2,
                         "the message queue is unavailable");
    return true;
}

static bool is_json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    if (ct == NULL || strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* After authentication (poll thread or worker): decode, validate, publish. */
static bool accept_batch(tly_request_t *req)
{
    tly_server_t *srv = req->srv;
    const char *ct =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *ce =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (!is_json_content_type(ct)) {
        tly_request_fail(req, 415, "unsupported-media-type", "Unsupported media type", 0,
                         "Content-Type must be application/json");
        return true;
    }
    bool gzip = ce != NULL && strcasecmp(ce, "gzip") == 0;
    if (ce != NULL && !gzip && strcasecmp(ce, "identity") != 0) {
        tly_request_fail(req, 415, "unsupported-encoding", "Unsupported content encoding", 0,
                         "Content-Encoding must be gzip or identity");
        return true;
    }
    if (gzip) {
        char *plain = NULL;
        size_t plain_len = 0;
        tly_problem_t p;
        if (!tly_body_gunzip(req->body ? req->body : "", req->body_len,
                             (size_t)srv->cfg->max_decompressed_bytes,
                             srv->cfg->max_compression_ratio, &plain, &plain_len, &p)) {
            tly_request_problem(req, &p);
            return true;
        }
        free(req->body);
        req->body = plain;
        req->body_len = plain_len;
    }
    if (!parse_batch(srv, req))
        return true;
    return publish(req);
}

void tly_handle_agent_inventory(tly_server_t *srv, tly_request_t *req)
{
    tly_agent_authenticate(srv, req, accept_batch);
}
