/* The config table: defaults, bounds, required values, *_FILE secrets, and
 * that every problem is reported at once. */
#include "common/config.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <unistd.h>

typedef struct {
    const char *pairs[32]; /* name, value, name, value, ..., NULL */
} env_t;

static const char *lookup(const char *name, void *ctx)
{
    env_t *env = ctx;
    for (int i = 0; env->pairs[i] != NULL; i += 2) {
        if (strcmp(env->pairs[i], name) == 0)
            return env->pairs[i + 1];
    }
    return NULL;
}

static bool load(env_t *env, unsigned cmd, tly_config_t *cfg, tly_strbuf_t *errors)
{
    tly_strbuf_init(errors, 8192);
    return tly_config_load(cfg, cmd, lookup, env, errors);
}

static const char PEPPER[] = "0123456789abcdef0123456789abcdef";

static void test_defaults(void)
{
    env_t env = {{"TALLY_DATABASE_URL", "postgresql://x/y", "TALLY_API_KEY_PEPPER", PEPPER, NULL}};
    tly_config_t cfg;
    tly_strbuf_t errors;
    CHECK(load(&env, TLY_CMD_SERVE, &cfg, &errors));
    CHECK(errors.len == 0);
    CHECK(cfg.http_port == 8080);
    CHECK(cfg.max_body_bytes == 1048576);
    CHECK_STR(cfg.log_level, "info");
    CHECK_STR(cfg.database_url, "postgresql://x/y");
    /* serve does not read ingest parameters */
    CHECK(cfg.ingest_workers == 0);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

static void test_all_errors_reported(void)
{
    env_t env = {{"TALLY_HTTP_PORT", "70000", "TALLY_HTTP_THREADS", "two", "TALLY_API_KEY_PEPPER",
                  "short", "TALLY_LOG_LEVEL", "loud", NULL}};
    tly_config_t cfg;
    tly_strbuf_t errors;
    CHECK(!load(&env, TLY_CMD_SERVE, &cfg, &errors));
    CHECK(strstr(errors.data, "TALLY_HTTP_PORT: 70000 is outside 1..65535") != NULL);
    CHECK(strstr(errors.data, "TALLY_HTTP_THREADS: \"two\" is not an integer") != NULL);
    CHECK(strstr(errors.data, "TALLY_API_KEY_PEPPER: length 5 is outside 32..4096") != NULL);
    CHECK(strstr(errors.data, "TALLY_DATABASE_URL is required") != NULL);
    CHECK(strstr(errors.data, "TALLY_LOG_LEVEL") != NULL);
    /* A weak secret's value is never echoed back. */
    CHECK(strstr(errors.data, "short") == NULL);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

static void test_secret_file(void)
{
    char path[] = "/tmp/tally-test-secret-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "postgresql://from/file\n", 23) == 23);
    close(fd);

    env_t env = {{"TALLY_DATABASE_URL_FILE", path, "TALLY_API_KEY_PEPPER", PEPPER, NULL}};
    tly_config_t cfg;
    tly_strbuf_t errors;
    CHECK(load(&env, TLY_CMD_SERVE, &cfg, &errors));
    CHECK_STR(cfg.database_url, "postgresql://from/file"); /* newline trimmed */
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    env_t both = {{"TALLY_DATABASE_URL_FILE", path, "TALLY_DATABASE_URL", "x",
                   "TALLY_API_KEY_PEPPER", PEPPER, NULL}};
    CHECK(!load(&both, TLY_CMD_SERVE, &cfg, &errors));
    CHECK(strstr(errors.data, "both set") != NULL);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    unlink(path);
    env_t missing = {{"TALLY_DATABASE_URL_FILE", path, "TALLY_API_KEY_PEPPER", PEPPER, NULL}};
    CHECK(!load(&missing, TLY_CMD_SERVE, &cfg, &errors));
    CHECK(strstr(errors.data, "cannot read") != NULL);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

static void test_non_secret_has_no_file_variant(void)
{
    env_t env = {{"TALLY_DATABASE_URL", "x", "TALLY_API_KEY_PEPPER", PEPPER, "TALLY_HTTP_PORT_FILE",
                  "/nonexistent", NULL}};
    tly_config_t cfg;
    tly_strbuf_t errors;
    CHECK(load(&env, TLY_CMD_SERVE, &cfg, &errors));
    CHECK(cfg.http_port == 8080);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

/* Each role connects as its own database role: serve under row-level
 * security, ingest as the BYPASSRLS role that may COPY. */
static void test_database_url_per_command(void)
{
    env_t env = {{"TALLY_DATABASE_URL", "postgresql://app/y", NULL}};
    tly_config_t cfg;
    tly_strbuf_t errors;
    CHECK(!load(&env, TLY_CMD_INGEST, &cfg, &errors));
    CHECK(strstr(errors.data, "TALLY_INGEST_DATABASE_URL is required") != NULL);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    env_t ingest = {{"TALLY_INGEST_DATABASE_URL", "postgresql://ingest/y", NULL}};
    CHECK(load(&ingest, TLY_CMD_INGEST, &cfg, &errors));
    CHECK_STR(cfg.ingest_database_url, "postgresql://ingest/y");
    CHECK(cfg.database_url == NULL);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

static void test_help_lists_command_params(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    tly_config_print_help(f, TLY_CMD_INGEST);
    fclose(f);
    CHECK(strstr(text, "TALLY_INGEST_WORKERS") != NULL);
    CHECK(strstr(text, "TALLY_INGEST_DATABASE_URL") != NULL);
    CHECK(strstr(text, "secret (or TALLY_INGEST_DATABASE_URL_FILE)") != NULL);
    CHECK(strstr(text, "TALLY_HTTP_PORT") == NULL); /* a serve-only parameter */
    free(text);
}

static void test_redelivery_backoff(void)
{
    tly_config_t cfg;
    tly_strbuf_t errors;
    env_t dflt = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y", NULL}};
    CHECK(load(&dflt, TLY_CMD_INGEST, &cfg, &errors));
    CHECK(cfg.ingest_redelivery_backoff_s.n == 3);
    CHECK(cfg.ingest_redelivery_backoff_s.v[0] == 120 &&
          cfg.ingest_redelivery_backoff_s.v[2] == 1800);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    env_t off = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y",
                  "TALLY_INGEST_REDELIVERY_BACKOFF_S", "", NULL}};
    CHECK(load(&off, TLY_CMD_INGEST, &cfg, &errors));
    CHECK(cfg.ingest_redelivery_backoff_s.n == 0);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    static const struct {
        const char *backoff, *max_deliver, *error;
    } bad[] = {
        {"5,,9", "1000", "TALLY_INGEST_REDELIVERY_BACKOFF_S: \"5,,9\": item 2 is not an integer"},
        {"5,x", "1000", "\"x\" is not an integer"},
        {"5,", "1000", "item 2 is not an integer"},
        {"0", "1000", "0 is outside 1..86400"},
        {"90000", "1000", "90000 is outside 1..86400"},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "1000", "more than 16 items"},
        {"90,30", "1000", "30 is shorter than TALLY_INGEST_ACK_WAIT_S (60)"},
        {"60,120", "3", "TALLY_INGEST_MAX_DELIVER: 3 must exceed the 3 waits"},
    };
    for (size_t i = 0; i < TLY_ARRAY_LEN(bad); i++) {
        env_t env = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y",
                      "TALLY_INGEST_REDELIVERY_BACKOFF_S", bad[i].backoff,
                      "TALLY_INGEST_MAX_DELIVER", bad[i].max_deliver, NULL}};
        CHECK(!load(&env, TLY_CMD_INGEST, &cfg, &errors));
        CHECK(strstr(errors.data, bad[i].error) != NULL);
        tly_config_free(&cfg);
        tly_strbuf_free(&errors);
    }

    env_t four = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y",
                   "TALLY_INGEST_REDELIVERY_BACKOFF_S", "60,120", "TALLY_INGEST_MAX_DELIVER", "4",
                   NULL}};
    CHECK(load(&four, TLY_CMD_INGEST, &cfg, &errors)); /* 3 waits, 4 deliveries */
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

/* The consumer's limit must cover what this process's workers hold: the
 * fetch each stores and the one it pulls ahead. */
static void test_max_ack_pending(void)
{
    tly_config_t cfg;
    tly_strbuf_t errors;
    env_t dflt = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y", NULL}};
    CHECK(load(&dflt, TLY_CMD_INGEST, &cfg, &errors));
    CHECK(cfg.ingest_max_ack_pending >= cfg.ingest_workers * 2 * cfg.ingest_fetch_batch);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    env_t equal = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y", "TALLY_INGEST_WORKERS", "3",
                    "TALLY_INGEST_FETCH_BATCH", "100", "TALLY_INGEST_MAX_ACK_PENDING", "600",
                    NULL}};
    CHECK(load(&equal, TLY_CMD_INGEST, &cfg, &errors));
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);

    env_t less = {{"TALLY_INGEST_DATABASE_URL", "postgresql://i/y", "TALLY_INGEST_WORKERS", "3",
                   "TALLY_INGEST_FETCH_BATCH", "100", "TALLY_INGEST_MAX_ACK_PENDING", "599", NULL}};
    CHECK(!load(&less, TLY_CMD_INGEST, &cfg, &errors));
    CHECK(strstr(errors.data,
                 "TALLY_INGEST_MAX_ACK_PENDING: 599 is less than"
                 " TALLY_INGEST_WORKERS x 2 x TALLY_INGEST_FETCH_BATCH (600)") != NULL);
    tly_config_free(&cfg);
    tly_strbuf_free(&errors);
}

int main(void)
{
    test_redelivery_backoff();
    test_max_ack_pending();
    test_defaults();
    test_database_url_per_command();
    test_all_errors_reported();
    test_secret_file();
    test_non_secret_has_no_file_variant();
    test_help_lists_command_params();
    CHECK_DONE();
}
