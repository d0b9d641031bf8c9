/* Configuration: every TALLY_* environment variable is declared once in the
 * table in config.c (name, type, default, bounds, which subcommands read it,
 * help). The same table validates at start-up and prints --help.
 *
 * Secrets (flag TLY_CONF_SECRET) may instead be given as NAME_FILE, a path
 * whose contents (trailing newline trimmed) are the value; giving both is an
 * error. Secret values are never printed.
 *
 * Ownership: tly_config_load fills a caller-owned tly_config_t whose strings
 * are heap copies owned by it; release with tly_config_free. A loaded config
 * is read-only and may be shared by all threads. */
#ifndef TLY_COMMON_CONFIG_H
#define TLY_COMMON_CONFIG_H

#include "common/util.h"

#include <stdint.h>
#include <stdio.h>

/* Subcommands, as a bit mask: a parameter lists the commands that read it. */
enum {
    TLY_CMD_SERVE = 1u << 0,
    TLY_CMD_INGEST = 1u << 1,
    TLY_CMD_MIGRATE = 1u << 2,
    TLY_CMD_ADMIN = 1u << 3,
};

/* A list parameter: comma-separated integers, each within the parameter's
 * bounds; "" is the empty list. */
#define TLY_CONFIG_LIST_MAX 16
typedef struct {
    int64_t v[TLY_CONFIG_LIST_MAX];
    size_t n;
} tly_config_list_t;

typedef struct {
    char *log_level;
    char *database_url;        /* serve: app role, subject to row-level security */
    char *ingest_database_url; /* ingest: its own role, BYPASSRLS */
    char *owner_database_url;  /* schema owner: migrate and admin */
    char *nats_url;
    char *stream_name;
    char *subject_prefix;
    int64_t stream_replicas;
    int64_t stream_dedup_window_s;
    int64_t stream_max_age_s;

    char *http_addr;
    int64_t http_port;
    char *metrics_addr;
    int64_t metrics_port;
    int64_t http_threads;
    int64_t http_connection_limit;
    int64_t http_timeout_s;
    int64_t db_workers;
    int64_t db_queue_len;
    int64_t max_body_bytes;
    int64_t max_decompressed_bytes;
    int64_t max_compression_ratio;
    int64_t max_json_depth;
    char *api_key_pepper;
    int64_t auth_cache_ttl_s;
    int64_t auth_negative_ttl_s;
    int64_t auth_cache_max;
    int64_t auth_lookups_per_s;
    int64_t rate_key_per_s;
    int64_t rate_key_burst;
    int64_t rate_tenant_per_s;
    int64_t rate_tenant_burst;
    int64_t policy_checkin_s;
    int64_t policy_jitter_pct;
    int64_t publish_max_inflight;
    int64_t publish_timeout_ms;
    int64_t shutdown_grace_ms;

    int64_t ingest_workers;
    int64_t ingest_fetch_batch;
    int64_t ingest_fetch_max_bytes;
    int64_t ingest_software_cache_mb;
    int64_t ingest_fetch_wait_ms;
    int64_t ingest_fetch_linger_ms;
    int64_t ingest_ack_wait_s;
    int64_t ingest_max_deliver;
    tly_config_list_t ingest_redelivery_backoff_s; /* waits after the 1st, 2nd, ... delivery */
    int64_t ingest_max_ack_pending;
    char *ingest_metrics_addr;
    int64_t ingest_metrics_port;
    int64_t partition_days_ahead;
    int64_t partition_retention_days;
    int64_t ledger_retention_days;
    int64_t dead_letter_retention_days;
} tly_config_t;

/* Returns the value of an environment-like variable, or NULL if unset. */
typedef const char *(*tly_config_lookup_fn)(const char *name, void *ctx);

/* Loads every parameter that `cmd` (one TLY_CMD_* bit) reads. On failure
 * returns false and appends one line per problem to *errors (all problems,
 * not just the first). The config is always left freeable. */
bool tly_config_load(tly_config_t *cfg, unsigned cmd, tly_config_lookup_fn lookup, void *lookup_ctx,
                     tly_strbuf_t *errors) TLY_MUSTCHECK;

/* Convenience lookup reading the process environment (getenv). */
const char *tly_config_getenv(const char *name, void *ctx);

void tly_config_free(tly_config_t *cfg);

/* Prints the parameters `cmd` reads, with type, bounds, default and help. */
void tly_config_print_help(FILE *out, unsigned cmd);

#endif
