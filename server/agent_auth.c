/* Agent API key authentication and admission, shared by every /v1/agent
 * route. A key found in the cache is decided on the poll thread with one
 * HMAC; a miss is looked up once on a worker and cached (found or not).
 * Then the per-key and per-tenant token buckets admit the request or
 * answer 429 with Retry-After. */
#include "common/db.h"
#include "common/log.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char T_UNAUTHORIZED[] = "Unauthorized";

static void unauthorized(tly_request_t *req, const char *detail)
{
    tly_request_fail(req, 401, "unauthorized", T_UNAUTHORIZED, 0, "%s", detail);
}

/* Decides on a key record; on refusal stores the problem. No I/O. */
static bool check_key(tly_request_t *req, const tly_keyrec_t *rec)
{
    const char *pepper = req->srv->cfg->api_key_pepper;
    if (!rec->found || !tly_apikey_verify(pepper, strlen(pepper), req->api_key.secret,
                                          rec->secret_hash, sizeof rec->secret_hash)) {
        unauthorized(req, "the API key is not valid");
        return false;
    }
    if (rec->revoked) {
        unauthorized(req, "the API key has been revoked");
        return false;
    }
    if (rec->expires_at_us != 0 && tly_now_realtime_us() >= rec->expires_at_us) {
        unauthorized(req, "the API key has expired");
        return false;
    }
    if (!rec->agent_scope) {
        tly_request_fail(req, 403, "forbidden", "Forbidden", 0,
                         "the API key lacks the agent scope");
        return false;
    }
    if (!rec->tenant_active) {
        tly_request_fail(req, 403, "tenant-suspended", "Forbidden", 0, "the tenant is suspended");
        return false;
    }
    memcpy(req->tenant_id, rec->tenant_id, sizeof req->tenant_id);
    return true;
}

/* Spends a token from the key's and the tenant's buckets. */
static bool admit(tly_request_t *req)
{
    const tly_config_t *cfg = req->srv->cfg;
    int retry = 0;
    const char *what = NULL;
    if (!tly_ratelimit_take(req->srv->limits, req->api_key.id, (double)cfg->rate_key_per_s,
                            (double)cfg->rate_key_burst, &retry))
        what = "this API key";
    else if (!tly_ratelimit_take(req->srv->limits, req->tenant_id, (double)cfg->rate_tenant_per_s,
                                 (double)cfg->rate_tenant_burst, &retry))
        what = "this tenant";
    if (what == NULL)
        return true;
    tly_request_fail(req, 429, "rate-limited", "Too many requests", retry,
                     "%s sends faster than allowed; retry after %d s", what, retry);
    return false;
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

static bool cache_get(tly_server_t *srv, const char *key_id, tly_keyrec_t *rec)
{
    return tly_keycache_get(srv->keys, key_id, rec) ||
           tly_keycache_get(srv->unknown_keys, key_id, rec);
}

/* Cache miss, on a worker: look the key up, remember the answer, go on. */
static void lookup_job(PGconn *conn, void *arg)
{
    tly_request_t *req = arg;
    tly_server_t *srv = req->srv;
    tly_keyrec_t rec;
    /* Read before the lookup: a revocation that lands during it wins. */
    uint64_t gen_known = tly_keycache_generation(srv->keys);
    uint64_t gen_unknown = tly_keycache_generation(srv->unknown_keys);
    if (conn == NULL || !load_key(conn, req->api_key.id, &rec)) {
        tly_request_fail(req, 503, "database-unavailable", "Service unavailable", 5,
                         "cannot check the API key right now");
        tly_request_finish(req);
        return;
    }
    if (rec.found)
        tly_keycache_put(srv->keys, req->api_key.id, &rec, gen_known);
    else
        tly_keycache_put(srv->unknown_keys, req->api_key.id, &rec, gen_unknown);
    if (check_key(req, &rec) && admit(req) && !req->agent_next(req))
        return; /* an async completion owns the request now */
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

void tly_agent_authenticate(tly_server_t *srv, tly_request_t *req, tly_agent_next_fn next)
{
    char token[128];
    if (!bearer_token(req, token, sizeof token)) {
        unauthorized(req, "send the agent API key as \"Authorization: Bearer tly_...\"");
        return;
    }
    if (!tly_apikey_parse(token, strlen(token), &req->api_key)) {
        unauthorized(req, "the API key is malformed");
        return;
    }
    req->agent_next = next;
    tly_keyrec_t rec;
    if (cache_get(srv, req->api_key.id, &rec)) {
        /* Poll thread: a response next stores is sent when the handler
         * returns, or, if next suspended the request, once it is resumed. */
        if (check_key(req, &rec) && admit(req) && next(req) && req->suspended)
            tly_request_finish(req);
        return;
    }
    /* Lookups in PostgreSQL are rationed, so a flood of made-up key ids
     * cannot swamp the database or the job queue. */
    int retry = 0;
    if (!tly_ratelimit_take(srv->limits, "\x01auth-lookups", (double)srv->cfg->auth_lookups_per_s,
                            2.0 * (double)srv->cfg->auth_lookups_per_s, &retry)) {
        tly_request_fail(req, 429, "rate-limited", "Too many requests", retry,
                         "too many unrecognised API keys right now; retry after %d s", retry);
        return;
    }
    tly_request_suspend(req);
    if (!tly_jobs_submit(srv->jobs, lookup_job, req)) {
        tly_request_fail(req, 503, "overloaded", "Service unavailable", 1, "the server is busy");
        tly_request_finish(req);
    }
}
