/* POST /v1/agent/inventory: authenticate the agent's API key, check the
 * batch, publish it to JetStream and answer 202 once the PubAck is in.
 *
 * Poll thread: content type, key format, gzip, JSON parse and validation
 * against the embedded batch schema (CPU only, no I/O). Worker thread: the key lookup in
 * PostgreSQL, then an async publish. nats.c thread: the PubAck, which finishes the request. */
#include "auth/apikey.h"
#include "common/bus.h"
#include "common/log.h"
#include "server/body.h"
#include "server/server.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char T_UNAUTHORIZED[] = "Unauthorized";
static const char T_UNAVAILABLE[] = "Service unavailable";

static void fail(tly_request_t *req, int status, const char *slug, const char *title,
                 const char *detail, const char *pointer, const char *rule, int retry_after_s)
{
    tly_problem_t p;
    tly_problem_set(&p, status, slug, title, "%s", detail);
    if (pointer != NULL)
        snprintf(p.pointer, sizeof p.pointer, "%s", pointer);
    if (rule != NULL)
        snprintf(p.rule, sizeof p.rule, "%s", rule);
    p.retry_after_s = retry_after_s;
    tly_request_problem(req, &p);
}

/* Parses and validates the batch; on success fills req->batch_id and
 * req->agent_id, else stores the problem. Runs on the poll thread: CPU only. */
static bool parse_batch(tly_server_t *srv, tly_request_t *req)
{
    const char *body = req->body ? req->body : "";
    int max_depth = (int)srv->cfg->max_json_depth;
    if (!tly_json_depth_within(body, req->body_len, max_depth)) {
        char detail[128];
        snprintf(detail, sizeof detail, "JSON nesting deeper than %d levels", max_depth);
        fail(req, 400, "nesting-too-deep", "JSON nested too deeply", detail, NULL, "max_json_depth",
             0);
        return false;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        char detail[300];
        snprintf(detail, sizeof detail, "invalid JSON at line %d, column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        switch (json_error_code(&jerr)) {
        case json_error_invalid_utf8:
            fail(req, 400, "invalid-utf8", "Invalid UTF-8", detail, NULL, NULL, 0);
            break;
        case json_error_duplicate_key:
            fail(req, 400, "duplicate-key", "Duplicate object key", detail, NULL, NULL, 0);
            break;
        default:
            fail(req, 400, "malformed-json", "Malformed JSON", detail, NULL, NULL, 0);
            break;
        }
        return false;
    }
    tly_problem_t p;
    bool ok = tly_schema_validate(srv->batch_schema, doc, &p);
    if (ok) {
        /* The schema guarantees both are UUID strings. */
        tly_uuid_lower(json_string_value(json_object_get(doc, "batch_id")), req->batch_id);
        tly_uuid_lower(json_string_value(json_object_get(json_object_get(doc, "agent"), "id")),
                       req->agent_id);
    } else {
        tly_request_problem(req, &p);
    }
    json_decref(doc);
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
        fail(req, 503, "queue-unavailable", T_UNAVAILABLE,
             r->timeout ? "the message queue did not acknowledge the batch in time"
                        : "the message queue refused the batch",
             NULL, NULL, 2);
    }
    tly_request_finish(req);
}

/* Looks the key up and checks it; on failure stores the problem. */
static bool authenticate(PGconn *conn, tly_request_t *req, const tly_apikey_t *key)
{
    const tly_config_t *cfg = req->srv->cfg;
    const char *params[] = {key->id};
    PGresult *res = PQexecParams(conn,
                                 "SELECT tenant_id, secret_hash, 'agent' = ANY(scopes),"
                                 " coalesce(expires_at <= now(), false), revoked_at IS NOT NULL,"
                                 " tenant_status"
                                 " FROM tally_api_key_lookup($1)",
                                 1, NULL, params, NULL, NULL, 1);
    bool ok = false;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        TLY_ERROR(&(tly_log_ctx_t){.request_id = req->request_id}, "API key lookup failed: %s",
                  PQresultErrorMessage(res));
        fail(req, 503, "database-unavailable", T_UNAVAILABLE, "cannot check the API key right now",
             NULL, NULL, 5);
        goto done;
    }
    /* Binary results: uuid is 16 bytes, bool 1 byte, text as is. */
    if (PQntuples(res) != 1 ||
        !tly_apikey_verify(cfg->api_key_pepper, strlen(cfg->api_key_pepper), key->secret,
                           (const unsigned char *)PQgetvalue(res, 0, 1),
                           (size_t)PQgetlength(res, 0, 1))) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key is not valid", NULL, NULL, 0);
        goto done;
    }
    if (*PQgetvalue(res, 0, 4)) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key has been revoked", NULL, NULL,
             0);
        goto done;
    }
    if (*PQgetvalue(res, 0, 3)) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key has expired", NULL, NULL, 0);
        goto done;
    }
    if (!*PQgetvalue(res, 0, 2)) {
        fail(req, 403, "forbidden", "Forbidden", "the API key lacks the agent scope", NULL, NULL,
             0);
        goto done;
    }
    if (strcmp(PQgetvalue(res, 0, 5), "active") != 0) {
        fail(req, 403, "tenant-suspended", "Forbidden", "the tenant is suspended", NULL, NULL, 0);
        goto done;
    }
    const unsigned char *u = (const unsigned char *)PQgetvalue(res, 0, 0);
    char hex[33];
    tly_hex_encode(u, 16, hex);
    snprintf(req->tenant_id, sizeof req->tenant_id, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
             hex + 12, hex + 16, hex + 20);
    ok = true;
done:
    PQclear(res);
    return ok;
}

static void auth_and_publish_job(PGconn *conn, void *arg)
{
    tly_request_t *req = arg;
    if (conn == NULL) {
        fail(req, 503, "database-unavailable", T_UNAVAILABLE, "cannot check the API key right now",
             NULL, NULL, 5);
        goto finish;
    }
    if (!authenticate(conn, req, &req->api_key))
        goto finish;

    char subject[TLY_SUBJECT_MAX], msg_id[128];
    tly_bus_subject(req->srv->cfg, req->tenant_id, subject);
    snprintf(msg_id, sizeof msg_id, "%s:%s:%s", req->tenant_id, req->agent_id, req->batch_id);
    tly_publish_status_t s =
        tly_publisher_publish(req->srv->publisher, subject, msg_id, req->request_id,
                              tly_now_realtime_us(), req->body, req->body_len, publish_done, req);
    if (s == TLY_PUBLISH_SENT)
        return; /* publish_done finishes the request */
    fail(req, 503, s == TLY_PUBLISH_BUSY ? "overloaded" : "queue-unavailable", T_UNAVAILABLE,
         s == TLY_PUBLISH_BUSY ? "too many batches are waiting for the message queue"
                               : "the message queue is unavailable",
         NULL, NULL, s == TLY_PUBLISH_BUSY ? 1 : 2);
finish:
    tly_request_finish(req);
}

/* Copies the token of "Authorization: Bearer <token>"; false if absent. */
static bool bearer_token(tly_request_t *req, char *out, size_t cap)
{
    const char *h =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    if (n == 0 || n >= cap)
        return false;
    memcpy(out, h, n + 1);
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

void tly_handle_agent_inventory(tly_server_t *srv, tly_request_t *req)
{
    const char *ct =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *ce =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    char token[128];
    if (!bearer_token(req, token, sizeof token)) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED,
             "send the agent API key as \"Authorization: Bearer tly_...\"", NULL, NULL, 0);
        return;
    }
    if (!tly_apikey_parse(token, strlen(token), &req->api_key)) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key is malformed", NULL, NULL, 0);
        return;
    }
    if (!is_json_content_type(ct)) {
        fail(req, 415, "unsupported-media-type", "Unsupported media type",
             "Content-Type must be application/json", NULL, NULL, 0);
        return;
    }
    bool gzip = ce != NULL && strcasecmp(ce, "gzip") == 0;
    if (ce != NULL && !gzip && strcasecmp(ce, "identity") != 0) {
        fail(req, 415, "unsupported-encoding", "Unsupported content encoding",
             "Content-Encoding must be gzip or identity", NULL, NULL, 0);
        return;
    }
    if (gzip) {
        char *plain = NULL;
        size_t plain_len = 0;
        tly_problem_t p;
        if (!tly_body_gunzip(req->body ? req->body : "", req->body_len,
                             (size_t)srv->cfg->max_decompressed_bytes,
                             srv->cfg->max_compression_ratio, &plain, &plain_len, &p)) {
            tly_request_problem(req, &p);
            return;
        }
        free(req->body);
        req->body = plain;
        req->body_len = plain_len;
    }
    if (!parse_batch(srv, req))
        return;

    tly_request_suspend(req);
    if (!tly_jobs_submit(srv->jobs, auth_and_publish_job, req)) {
        fail(req, 503, "overloaded", T_UNAVAILABLE, "the server is busy", NULL, NULL, 1);
        tly_request_finish(req);
    }
}
