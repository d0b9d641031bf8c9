/* GET /v1/agent/policy: the calling device's effective policy with a weak
 * ETag (the policy without the per-response check-in time); If-None-Match
 * answers 304. Both carry Cache-Control: max-age=<next_checkin_s>. */
#include "server/policy.h"
#include "server/server.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* W/"<first 128 bits of SHA-256 of the canonical policy JSON, hex>" */
static void etag_of(const char *canonical, char out[40])
{
    unsigned char md[32];
    unsigned int len = 0;
    char hex[33];
    EVP_Digest(canonical, strlen(canonical), md, &len, EVP_sha256(), NULL);
    tly_hex_encode(md, 16, hex);
    snprintf(out, 40, "W/\"%s\"", hex);
}

/* RFC 9110 weak comparison against a comma-separated If-None-Match list. */
static bool etag_matches(const char *if_none_match, const char *etag)
{
    if (if_none_match == NULL)
        return false;
    const char *opaque = etag + 2; /* skip W/ */
    for (const char *p = if_none_match; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == strlen(opaque) && strncmp(p, opaque, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static bool send_policy(tly_request_t *req)
{
    const tly_config_t *cfg = req->srv->cfg;
    const char *agent_id =
        MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "agent_id");
    if (agent_id != NULL && !tly_is_uuid(agent_id)) {
        tly_problem_t p;
        tly_problem_set(&p, 400, "invalid-parameter", "Invalid query parameter",
                        "agent_id must be a UUID");
        snprintf(p.rule, sizeof p.rule, "pattern");
        tly_request_problem(req, &p);
        return true;
    }
    json_t *policy = tly_policy_effective(cfg, req->tenant_id, agent_id);
    char *canonical = policy ? json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (canonical == NULL) {
        json_decref(policy);
        tly_request_fail(req, 500, "internal", "Internal error", 0, "cannot render the policy");
        return true;
    }
    etag_of(canonical, req->etag);
    free(canonical);
    req->max_age_s = tly_policy_next_checkin_s(cfg);
    const char *inm =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (etag_matches(inm, req->etag)) {
        tly_request_respond(req, 304, NULL, 0);
    } else {
        json_object_set_new(policy, "next_checkin_s", json_integer(req->max_age_s));
        char *body = json_dumps(policy, JSON_COMPACT | JSON_SORT_KEYS);
        tly_request_respond(req, 200, body, body ? strlen(body) : 0);
    }
    json_decref(policy);
    return true;
}

void tly_handle_agent_policy(tly_server_t *srv, tly_request_t *req)
{
    tly_agent_authenticate(srv, req, send_policy);
}
