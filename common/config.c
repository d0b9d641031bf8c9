#include "common/config.h"
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { PARAM_STRING, PARAM_INT, PARAM_INT_LIST } param_type_t;

enum { TLY_CONF_SECRET = 1u << 0, TLY_CONF_REQUIRED = 1u << 1 };

/* One row per environment variable. For strings, min/max bound the length;
 * for lists, each item. */
typedef struct {
    const char *name;
    param_type_t type;
    size_t offset;
    const char *def; /* NULL: no default */
    int64_t min, max;
    unsigned cmds;
    unsigned flags;
    const char *help;
} param_t;

#define ALL    (TLY_CMD_SERVE | TLY_CMD_INGEST | TLY_CMD_MIGRATE | TLY_CMD_ADMIN)
#define SI     (TLY_CMD_SERVE | TLY_CMD_INGEST)
#define SRV    TLY_CMD_SERVE
#define ING    TLY_CMD_INGEST
#define OWN    (TLY_CMD_MIGRATE | TLY_CMD_ADMIN)
#define OFF(f) offsetof(tly_config_t, f)
#define DAY_S  (24 * 3600)

static const param_t params[] = {
    {"TALLY_LOG_LEVEL", PARAM_STRING, OFF(log_level), "info", 4, 5, ALL, 0,
     "minimum log level: debug, info, warn or error"},
    {"TALLY_DATABASE_URL", PARAM_STRING, OFF(database_url), NULL, 1, 4096, SRV,
     TLY_CONF_SECRET | TLY_CONF_REQUIRED,
     "libpq connection string of the application role (row-level security applies)"},
    {"TALLY_INGEST_DATABASE_URL", PARAM_STRING, OFF(ingest_database_url), NULL, 1, 4096, ING,
     TLY_CONF_SECRET | TLY_CONF_REQUIRED,
     "libpq connection string of the ingest role (BYPASSRLS: COPY into the event tables)"},
    {"TALLY_OWNER_DATABASE_URL", PARAM_STRING, OFF(owner_database_url), NULL, 1, 4096, OWN,
     TLY_CONF_SECRET | TLY_CONF_REQUIRED,
     "libpq connection string of the schema owner role (migrations, admin)"},
    {"TALLY_NATS_URL", PARAM_STRING, OFF(nats_url), "nats://127.0.0.1:4222", 1, 4096,
     SI | TLY_CMD_ADMIN, TLY_CONF_SECRET, "NATS server URL(s), comma-separated"},
    {"TALLY_STREAM_NAME", PARAM_STRING, OFF(stream_name), "TALLY_INVENTORY", 1, 64, SI, 0,
     "JetStream stream holding accepted agent batches"},
    {"TALLY_SUBJECT_PREFIX", PARAM_STRING, OFF(subject_prefix), "tally.inventory", 1, 64,
     SI | TLY_CMD_ADMIN, 0, "subject prefix; batches go to <prefix>.<tenant id>"},
    {"TALLY_STREAM_REPLICAS", PARAM_INT, OFF(stream_replicas), "1", 1, 5, SI, 0,
     "stream replicas (3 in a production NATS cluster)"},
    {"TALLY_STREAM_DEDUP_WINDOW_S", PARAM_INT, OFF(stream_dedup_window_s), "900", 60, DAY_S, SI, 0,
     "JetStream duplicate-detection window, seconds"},
    {"TALLY_STREAM_MAX_AGE_S", PARAM_INT, OFF(stream_max_age_s), "604800", 3600, 90 * DAY_S, SI, 0,
     "how long the stream buffers batches (covers a PostgreSQL outage), seconds"},

    {"TALLY_HTTP_ADDR", PARAM_STRING, OFF(http_addr), "0.0.0.0", 1, 64, SRV, 0,
     "IPv4 address to listen on"},
    {"TALLY_HTTP_PORT", PARAM_INT, OFF(http_port), "8080", 1, 65535, SRV, 0, "HTTP port"},
    {"TALLY_METRICS_ADDR", PARAM_STRING, OFF(metrics_addr), "0.0.0.0", 1, 64, SRV, 0,
     "IPv4 address of serve's own /metrics listener (with TALLY_METRICS_PORT)"},
    {"TALLY_METRICS_PORT", PARAM_INT, OFF(metrics_port), "0", 0, 65535, SRV, 0,
     "a port for serve's /metrics and /healthz apart from the API; 0 keeps /metrics on the API"
     " port"},
    {"TALLY_HTTP_THREADS", PARAM_INT, OFF(http_threads), "2", 1, 256, SRV, 0,
     "HTTP poll threads (epoll, never block)"},
    {"TALLY_HTTP_CONNECTION_LIMIT", PARAM_INT, OFF(http_connection_limit), "10000", 16, 1000000,
     SRV, 0, "maximum concurrent HTTP connections"},
    {"TALLY_HTTP_TIMEOUT_S", PARAM_INT, OFF(http_timeout_s), "30", 1, 3600, SRV, 0,
     "idle connection timeout, seconds"},
    {"TALLY_DB_WORKERS", PARAM_INT, OFF(db_workers), "4", 1, 256, SRV, 0,
     "worker threads (one PostgreSQL connection each) for work off the poll threads"},
    {"TALLY_DB_QUEUE_LEN", PARAM_INT, OFF(db_queue_len), "4096", 16, 1000000, SRV, 0,
     "jobs waiting for a worker before requests get 503"},
    {"TALLY_MAX_BODY_BYTES", PARAM_INT, OFF(max_body_bytes), "1048576", 1024, 64 << 20, SRV, 0,
     "largest accepted request body, bytes"},
    {"TALLY_MAX_DECOMPRESSED_BYTES", PARAM_INT, OFF(max_decompressed_bytes), "4194304", 1024,
     256 << 20, SRV, 0, "largest body after gzip decompression, bytes"},
    {"TALLY_MAX_COMPRESSION_RATIO", PARAM_INT, OFF(max_compression_ratio), "100", 2, 100000, SRV, 0,
     "largest decompressed/compressed ratio once a body passes 64 KiB (gzip bombs)"},
    {"TALLY_MAX_JSON_DEPTH", PARAM_INT, OFF(max_json_depth), "16", 4, 256, SRV | ING, 0,
     "deepest nesting of JSON arrays/objects accepted in a body (serve) or a stream message "
     "(ingest)"},
    {"TALLY_API_KEY_PEPPER", PARAM_STRING, OFF(api_key_pepper), NULL, 32, 4096, SRV | TLY_CMD_ADMIN,
     TLY_CONF_SECRET | TLY_CONF_REQUIRED,
     "server secret keying the HMAC-SHA256 of API key secrets (>= 32 bytes)"},
    {"TALLY_AUTH_CACHE_TTL_S", PARAM_INT, OFF(auth_cache_ttl_s), "30", 1, 3600, SRV, 0,
     "how long a looked-up API key is trusted without asking PostgreSQL again, seconds"},
    {"TALLY_AUTH_NEGATIVE_TTL_S", PARAM_INT, OFF(auth_negative_ttl_s), "5", 1, 3600, SRV, 0,
     "how long an unknown API key id is remembered as unknown, seconds"},
    {"TALLY_AUTH_CACHE_MAX", PARAM_INT, OFF(auth_cache_max), "100000", 16, 10000000, SRV, 0,
     "API keys cached per serve process"},
    {"TALLY_AUTH_LOOKUPS_PER_S", PARAM_INT, OFF(auth_lookups_per_s), "1000", 1, 1000000, SRV, 0,
     "API key lookups in PostgreSQL per second (cache misses) before 429; burst twice that"},
    {"TALLY_RATE_KEY_PER_S", PARAM_INT, OFF(rate_key_per_s), "2000", 1, 10000000, SRV, 0,
     "agent requests per second per API key, per serve process (token bucket)"},
    {"TALLY_RATE_KEY_BURST", PARAM_INT, OFF(rate_key_burst), "4000", 1, 10000000, SRV, 0,
     "burst size of the per-key bucket"},
    {"TALLY_RATE_TENANT_PER_S", PARAM_INT, OFF(rate_tenant_per_s), "5000", 1, 10000000, SRV, 0,
     "agent requests per second per tenant, per serve process, so one tenant cannot starve others"},
    {"TALLY_RATE_TENANT_BURST", PARAM_INT, OFF(rate_tenant_burst), "10000", 1, 10000000, SRV, 0,
     "burst size of the per-tenant bucket"},
    {"TALLY_POLICY_CHECKIN_S", PARAM_INT, OFF(policy_checkin_s), "300", 10, 86400, SRV, 0,
     "mean interval between an agent's check-ins (upload and policy fetch), seconds"},
    {"TALLY_POLICY_JITTER_PCT", PARAM_INT, OFF(policy_jitter_pct), "20", 0, 90, SRV, 0,
     "check-in interval spread, +/- percent, so a fleet never calls in step"},
    {"TALLY_PUBLISH_MAX_INFLIGHT", PARAM_INT, OFF(publish_max_inflight), "8192", 1, 1 << 20, SRV, 0,
     "JetStream publishes awaiting PubAck before requests get 503"},
    {"TALLY_PUBLISH_TIMEOUT_MS", PARAM_INT, OFF(publish_timeout_ms), "5000", 100, 60000, SRV, 0,
     "how long to wait for a PubAck before answering 503, milliseconds"},
    {"TALLY_SHUTDOWN_GRACE_MS", PARAM_INT, OFF(shutdown_grace_ms), "10000", 0, 600000, SI, 0,
     "on SIGTERM, how long in-flight work may take to finish, milliseconds"},

    {"TALLY_INGEST_WORKERS", PARAM_INT, OFF(ingest_workers), "2", 1, 256, ING, 0,
     "ingest worker threads, each with its own pull subscription and connection"},
    {"TALLY_INGEST_FETCH_BATCH", PARAM_INT, OFF(ingest_fetch_batch), "2048", 1, 10000, ING, 0,
     "messages fetched (and committed in one transaction) per round"},
    {"TALLY_INGEST_FETCH_MAX_BYTES", PARAM_INT, OFF(ingest_fetch_max_bytes), "16777216", 65536,
     1 << 30, ING, 0,
     "bytes of messages a fetch holds at most (a message larger than this comes alone)"},
    {"TALLY_INGEST_SOFTWARE_CACHE_MB", PARAM_INT, OFF(ingest_software_cache_mb), "256", 0, 1 << 20,
     ING, 0,
     "memory for the software sets ingest compares lists with, MiB (0: read each from PostgreSQL)"},
    {"TALLY_INGEST_FETCH_WAIT_MS", PARAM_INT, OFF(ingest_fetch_wait_ms), "500", 10, 60000, ING, 0,
     "how long a fetch of an empty stream waits for the first message, milliseconds"},
    {"TALLY_INGEST_FETCH_LINGER_MS", PARAM_INT, OFF(ingest_fetch_linger_ms), "10", 0, 10000, ING, 0,
     "how long a worker lets batches gather before its next fetch when the last one brought"
     " some and left the stream empty, milliseconds (0: fetch at once)"},
    {"TALLY_INGEST_ACK_WAIT_S", PARAM_INT, OFF(ingest_ack_wait_s), "60", 1, 3600, ING, 0,
     "redeliver a message not acknowledged within this many seconds"},
    {"TALLY_INGEST_MAX_DELIVER", PARAM_INT, OFF(ingest_max_deliver), "1000", 1, 1000000, ING, 0,
     "deliveries after which JetStream stops redelivering a message (only crash loops reach it:"
     " database outages hold messages without redelivery)"},
    {"TALLY_INGEST_REDELIVERY_BACKOFF_S", PARAM_INT_LIST, OFF(ingest_redelivery_backoff_s),
     "120,600,1800", 1, DAY_S, ING, 0,
     "seconds a message waits for its 2nd, 3rd, ... delivery when the one before was not"
     " acknowledged (the last repeats; each at least TALLY_INGEST_ACK_WAIT_S, which the 1st"
     " delivery waits), so a message that crashes ingest comes back ever more slowly;"
     " empty: TALLY_INGEST_ACK_WAIT_S every time"},
    {"TALLY_INGEST_MAX_ACK_PENDING", PARAM_INT, OFF(ingest_max_ack_pending), "16384", 1, 1000000,
     ING, 0,
     "messages delivered and not yet acknowledged, across all ingest processes (the shared"
     " consumer's limit; at least processes x workers x 2 x fetch batch: a worker holds the"
     " fetch it stores and the next, pulled ahead)"},
    {"TALLY_INGEST_METRICS_ADDR", PARAM_STRING, OFF(ingest_metrics_addr), "0.0.0.0", 1, 64, ING, 0,
     "IPv4 address of ingest's /metrics and /healthz"},
    {"TALLY_INGEST_METRICS_PORT", PARAM_INT, OFF(ingest_metrics_port), "8081", 0, 65535, ING, 0,
     "port of ingest's /metrics and /healthz; 0 turns them off"},
    {"TALLY_PARTITION_DAYS_AHEAD", PARAM_INT, OFF(partition_days_ahead), "7", 1, 365,
     ING | TLY_CMD_MIGRATE, 0, "daily partitions created ahead of today"},
    {"TALLY_PARTITION_RETENTION_DAYS", PARAM_INT, OFF(partition_retention_days), "30", 1, 3650,
     ING | TLY_CMD_MIGRATE, 0, "daily partitions older than this are dropped"},
    {"TALLY_LEDGER_RETENTION_DAYS", PARAM_INT, OFF(ledger_retention_days), "30", 2, 3650, ING, 0,
     "ingested-batch ledger rows older than this are pruned (keep it longer than the stream's max"
     " age plus how long agents keep unsent batches: a batch back after that is stored again)"},
    {"TALLY_DEAD_LETTER_RETENTION_DAYS", PARAM_INT, OFF(dead_letter_retention_days), "90", 1, 3650,
     ING, 0, "dead_letters rows older than this are pruned"},
};

const char *tly_config_getenv(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

/* Reads a secret file of at most 64 KiB into a heap string without the
 * trailing newline. NULL with errno-based text in *why on failure. */
static char *read_secret_file(const char *path, const char **why)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return NULL;
    }
    char *buf = tly_xcalloc(1, 65537);
    size_t n = fread(buf, 1, 65536, f);
    bool too_big = n == 65536 && fgetc(f) != EOF;
    fclose(f);
    if (too_big) {
        free(buf);
        *why = "file larger than 64 KiB";
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Comma-separated integers within [min, max] into out; false with a
 * reason in why. */
static bool parse_int_list(const char *s, int64_t min, int64_t max, tly_config_list_t *out,
                           char *why, size_t why_len)
{
    out->n = 0;
    if (*s == '\0')
        return true;
    for (const char *item = s;;) {
        const char *comma = strchr(item, ',');
        size_t len = comma != NULL ? (size_t)(comma - item) : strlen(item);
        char text[24];
        int64_t v;
        if (len == 0 || len >= sizeof text) {
            snprintf(why, why_len, "item %zu is not an integer", out->n + 1);
            return false;
        }
        memcpy(text, item, len);
        text[len] = '\0';
        if (!parse_int(text, &v)) {
            snprintf(why, why_len, "\"%s\" is not an integer", text);
            return false;
        }
        if (v < min || v > max) {
            snprintf(why, why_len, "%lld is outside %lld..%lld", (long long)v, (long long)min,
                     (long long)max);
            return false;
        }
        if (out->n == TLY_CONFIG_LIST_MAX) {
            snprintf(why, why_len, "more than %d items", TLY_CONFIG_LIST_MAX);
            return false;
        }
        out->v[out->n++] = v;
        if (comma == NULL)
            return true;
        item = comma + 1;
    }
}

/* Rules between parameters, once each has passed its own bounds. */
static void check_together(const tly_config_t *cfg, unsigned cmd, tly_strbuf_t *errors)
{
    if (!(cmd & TLY_CMD_INGEST))
        return;
    const tly_config_list_t *backoff = &cfg->ingest_redelivery_backoff_s;
    for (size_t i = 0; i < backoff->n; i++) {
        if (backoff->v[i] < cfg->ingest_ack_wait_s) {
            tly_strbuf_printf(errors,
                              "TALLY_INGEST_REDELIVERY_BACKOFF_S: %lld is shorter than"
                              " TALLY_INGEST_ACK_WAIT_S (%lld)\n",
                              (long long)backoff->v[i], (long long)cfg->ingest_ack_wait_s);
            break;
        }
    }
    /* JetStream's rule: more deliveries than back-off steps (the 1st
     * delivery's wait is a step of its own). */
    if (backoff->n > 0 && cfg->ingest_max_deliver <= (int64_t)backoff->n + 1)
        tly_strbuf_printf(errors,
                          "TALLY_INGEST_MAX_DELIVER: %lld must exceed the %zu waits of"
                          " TALLY_INGEST_ACK_WAIT_S and TALLY_INGEST_REDELIVERY_BACKOFF_S\n",
                          (long long)cfg->ingest_max_deliver, backoff->n + 1);
    /* Below this, JetStream holds back the fetch a worker pulls ahead until
     * the one it stores is acknowledged: each worker's connection idles
     * while its next fetch arrives (bench/README.md, seventeenth session). */
    int64_t held = cfg->ingest_workers * 2 * cfg->ingest_fetch_batch;
    if (cfg->ingest_max_ack_pending < held)
        tly_strbuf_printf(errors,
                          "TALLY_INGEST_MAX_ACK_PENDING: %lld is less than TALLY_INGEST_WORKERS x 2"
                          " x TALLY_INGEST_FETCH_BATCH (%lld), the messages this process's"
                          " workers hold\n",
                          (long long)cfg->ingest_max_ack_pending, (long long)held);
}

bool tly_config_load(tly_config_t *cfg, unsigned cmd, tly_config_lookup_fn lookup, void *lookup_ctx,
                     tly_strbuf_t *errors)
{
    memset(cfg, 0, sizeof *cfg);
    size_t errors_before = errors->len;
    for (size_t i = 0; i < TLY_ARRAY_LEN(params); i++) {
        const param_t *p = &params[i];
        if (!(p->cmds & cmd))
            continue;
        const char *value = lookup(p->name, lookup_ctx);
        char *from_file = NULL;
        if (p->flags & TLY_CONF_SECRET) {
            char file_var[128];
            snprintf(file_var, sizeof file_var, "%s_FILE", p->name);
            const char *path = lookup(file_var, lookup_ctx);
            if (path != NULL && value != NULL) {
                tly_strbuf_printf(errors, "%s and %s are both set; set one\n", p->name, file_var);
                continue;
            }
            if (path != NULL) {
                const char *why = NULL;
                from_file = read_secret_file(path, &why);
                if (from_file == NULL) {
                    tly_strbuf_printf(errors, "%s: cannot read %s: %s\n", file_var, path, why);
                    continue;
                }
                value = from_file;
            }
        }
        if (value == NULL)
            value = p->def;
        if (value == NULL) {
            if (p->flags & TLY_CONF_REQUIRED)
                tly_strbuf_printf(errors, "%s is required: %s\n", p->name, p->help);
            continue;
        }
        void *field = (char *)cfg + p->offset;
        if (p->type == PARAM_INT) {
            int64_t v;
            if (!parse_int(value, &v))
                tly_strbuf_printf(errors, "%s: \"%s\" is not an integer\n", p->name, value);
            else if (v < p->min || v > p->max)
                tly_strbuf_printf(errors, "%s: %lld is outside %lld..%lld\n", p->name, (long long)v,
                                  (long long)p->min, (long long)p->max);
            else
                *(int64_t *)field = v;
        } else if (p->type == PARAM_INT_LIST) {
            char why[96];
            if (!parse_int_list(value, p->min, p->max, field, why, sizeof why))
                tly_strbuf_printf(errors, "%s: \"%s\": %s\n", p->name, value, why);
        } else {
            size_t len = strlen(value);
            if ((int64_t)len < p->min || (int64_t)len > p->max)
                tly_strbuf_printf(errors, "%s: length %zu is outside %lld..%lld bytes%s\n", p->name,
                                  len, (long long)p->min, (long long)p->max,
                                  (p->flags & TLY_CONF_SECRET) ? " (too weak or too long)" : "");
            else
                *(char **)field = tly_xstrdup(value);
        }
        free(from_file);
    }
    if (errors->len == errors_before)
        check_together(cfg, cmd, errors);
    if (cfg->log_level != NULL && tly_log_level_parse(cfg->log_level) < 0)
        tly_strbuf_printf(errors, "TALLY_LOG_LEVEL: \"%s\" is not debug, info, warn or error\n",
                          cfg->log_level);
    return errors->len == errors_before && !errors->truncated;
}

void tly_config_free(tly_config_t *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < TLY_ARRAY_LEN(params); i++) {
        if (params[i].type == PARAM_STRING) {
            char **field = (char **)((char *)cfg + params[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}

void tly_config_print_help(FILE *out, unsigned cmd)
{
    fprintf(out, "Environment variables:\n");
    for (size_t i = 0; i < TLY_ARRAY_LEN(params); i++) {
        const param_t *p = &params[i];
        if (!(p->cmds & cmd))
            continue;
        fprintf(out, "  %-32s %s\n", p->name, p->help);
        if (p->type == PARAM_INT)
            fprintf(out, "  %-32s integer %lld..%lld", "", (long long)p->min, (long long)p->max);
        else if (p->type == PARAM_INT_LIST)
            fprintf(out, "  %-32s up to %d comma-separated integers %lld..%lld", "",
                    TLY_CONFIG_LIST_MAX, (long long)p->min, (long long)p->max);
        else
            fprintf(out, "  %-32s string of %lld..%lld bytes", "", (long long)p->min,
                    (long long)p->max);
        if (p->def != NULL)
            fprintf(out, ", default %s", p->def);
        if (p->flags & TLY_CONF_REQUIRED)
            fprintf(out, ", required");
        if (p->flags & TLY_CONF_SECRET)
            fprintf(out, ", secret (or %s_FILE)", p->name);
        fputc('\n', out);
    }
}
