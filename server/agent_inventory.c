/* POST /v1/agent/inventory: authenticate the agent's API key, check the
 * batch, publish it to JetStream and answer 202 once the PubAck is in.
 *
 * Poll thread: content type, key format, gzip, JSON parse and validation
 * against the embedded batch schema (CPU only, no I/O). Worker thread: the key lookup in
 * PostgreSQL, then an async publish. nats.c thread: the PubAck, which finishes the request. */
#include "auth/apikey.h"
#include "common/bus.h"
#include "common/db.h"
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

/* Decides on a key record (cached or fresh); on refusal stores the problem.
 * Any thread: one HMAC, no I/O. */
static bool check_key(tly_request_t *req, const tly_keyrec_t *rec)
{
    const char *pepper = req->srv->cfg->api_key_pepper;
    if (!rec->found || !tly_apikey_verify(pepper, strlen(pepper), req->api_key.secret,
                                          rec->secret_hash, sizeof rec->secret_hash)) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key is not valid", NULL, NULL, 0);
        return false;
    }
    if (rec->revoked) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key has been revoked", NULL, NULL,
             0);
        return false;
    }
    if (rec->expires_at_us != 0 && tly_now_realtime_us() >= rec->expires_at_us) {
        fail(req, 401, "unauthorized", T_UNAUTHORIZED, "the API key has expired", NULL, NULL, 0);
        return false;
    }
    if (!rec->agent_scope) {
        fail(req, 403, "forbidden", "Forbidden", "the API key lacks the agent scope", NULL, NULL,
             0);
        return false;
    }
    if (!rec->tenant_active) {
        fail(req, 403, "tenant-suspended", "Forbidden", "the tenant is suspended", NULL, NULL, 0);
        return false;
    }
    memcpy(req->tenant_id, rec->tenant_id, sizeof req->tenant_id);
    return true;
}

/* Reads the key's record from PostgreSQL; false on a database error. */
static bool load_key(PGconn *conn, const char *key_id, tly_keyrec_t *rec)
{
    const char *params[] = {key_id};
    PGresult *res = PQexecParams(conn,
                                 "SELECT tenant_id, encode(secret_hash, 'hex'),"
                                 " 'agent' = ANY(scopes), revoked_at IS NOT NULL,"
                                 " tenant_status = 'active',"
                                 " coalesce((extract(epoch FROM expires_at) * 1000000)::int8, 0)"
                                 " FROM tally_api_key_lookup($1)",
                                 1, NULL, params, NULL, NULL, 0);
    bool ok = tly_db_result_ok(res, PGRES_TUPLES_OK, "API key lookup");
    memset(rec, 0, sizeof *rec);
    if (ok && PQntuples(res) == 1) {
        const char *hex = PQgetvalue(res, 0, 1);
        rec->found = strlen(hex) == 2 * TLY_APIKEY_HASH_LEN;
        for (size_t i = 0; rec->found && i < TLY_APIKEY_HASH_LEN; i++)
            sscanf(hex + 2 * i, "%2hhx", &rec->secret_hash[i]);
        snprintf(rec->tenant_id, sizeof rec->tenant_id, "%s", PQgetvalue(res, 0, 0));
        rec->agent_scope = *PQgetvalue(res, 0, 2) == 't';
        rec->revoked = *PQgetvalue(res, 0, 3) == 't';
        rec->tenant_active = *PQgetvalue(res, 0, 4) == 't';
        rec->expires_at_us = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    }
    PQclear(res);
    return ok;
}

/* Publishes an authorised batch; the request is suspended. If the publish
 * cannot even start, answers 503 and finishes the request here. */
static void publish(tly_request_t *req)
{
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
    tly_request_finish(req);
}

/* Cache miss: look the key up on a worker thread, remember the answer. */
static void lookup_and_publish_job(PGconn *conn, void *arg)
{
    tly_request_t *req = arg;
    tly_keyrec_t rec;
    if (conn == NULL || !load_key(conn, req->api_key.id, &rec)) {
        fail(req, 503, "database-unavailable", T_UNAVAILABLE, "cannot check the API key right now",
             NULL, NULL, 5);
        tly_request_finish(req);
        return;
    }
    tly_keycache_put(req->srv->keys, req->api_key.id, &rec);
    if (check_key(req, &rec))
        publish(req);
    else
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

    /* A cached key is decided right here, without a thread hop. */
    tly_keyrec_t rec;
    if (tly_keycache_get(srv->keys, req->api_key.id, &rec)) {
        if (!check_key(req, &rec))
            return;
        tly_request_suspend(req);
        publish(req);
        return;
    }
    tly_request_suspend(req);
    if (!tly_jobs_submit(srv->jobs, lookup_and_publish_job, req)) {
        fail(req, 503, "overloaded", T_UNAVAILABLE, "the server is busy", NULL, NULL, 1);
        tly_request_finish(req);
    }
}
