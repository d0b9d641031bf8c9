#include "cmd/admin.h"
#include "auth/apikey.h"
#include "auth/password.h"
#include "common/bus.h"
#include "common/db.h"
#include "common/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *const *options; /* NULL-terminated list of allowed --options */
    int (*run)(PGconn *conn, const tly_config_t *cfg, int argc, char **argv);
    const char *usage;
} command_t;

/* Returns the value after --name, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    }
    return NULL;
}

static bool opts_valid(int argc, char **argv, const char *const *allowed)
{
    for (int i = 1; i < argc; i += 2) {
        bool known = false;
        for (const char *const *a = allowed; *a != NULL; a++)
            known = known || strcmp(argv[i], *a) == 0;
        if (!known || i + 1 >= argc) {
            fprintf(stderr, "admin: %s %s\n", argv[i],
                    known ? "needs a value" : "is not an option here");
            return false;
        }
    }
    return true;
}

/* Tells every serve replica at once (core NATS publish, flushed). On
 * failure the replicas still catch up within TALLY_AUTH_CACHE_TTL_S.
 * Returns whether the broadcast left this process. */
static bool broadcast(const tly_config_t *cfg, const char *what, const char *payload)
{
    char subject[TLY_SUBJECT_MAX];
    tly_bus_control_subject(cfg, what, subject);
    tly_bus_t *bus = NULL;
    bool ok = tly_bus_connect(cfg->nats_url, "tally-admin", NULL, &bus) && tly_bus_up(bus) &&
              natsConnection_PublishString(bus->nc, subject, payload) == NATS_OK &&
              natsConnection_FlushTimeout(bus->nc, 3000) == NATS_OK;
    tly_bus_destroy(bus, 0);
    if (!ok)
        fprintf(stderr,
                "admin: broadcast on %s failed; serve replicas will notice within "
                "TALLY_AUTH_CACHE_TTL_S\n",
                subject);
    return ok;
}

static int print_json(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (s == NULL)
        return 1;
    puts(s);
    free(s);
    return 0;
}

/* Runs a parameterised statement returning one row; NULL on error. */
static PGresult *one_row(PGconn *conn, const char *sql, int n, const char *const *params)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            fprintf(stderr, "admin: %s", PQresultErrorMessage(res));
        else
            fprintf(stderr, "admin: nothing matched\n");
        PQclear(res);
        return NULL;
    }
    return res;
}

static int create_tenant(PGconn *conn, const tly_config_t *cfg, int argc, char **argv)
{
    const char *name = opt(argc, argv, "--name");
    if (name == NULL) {
        fprintf(stderr, "admin: create-tenant needs --name\n");
        return 2;
    }
    PGresult *res = one_row(conn, "INSERT INTO tenants (name) VALUES ($1) RETURNING id, status", 1,
                            (const char *[]){name});
    if (res == NULL)
        return 1;
    int rc = print_json(json_pack("{s:s, s:s, s:s}", "tenant_id", PQgetvalue(res, 0, 0), "name",
                                  name, "status", PQgetvalue(res, 0, 1)));
    PQclear(res);
    return rc;
}

static int set_tenant_status(PGconn *conn, const tly_config_t *cfg, int argc, char **argv)
{
    const char *tenant = opt(argc, argv, "--tenant"), *status = opt(argc, argv, "--status");
    if (tenant == NULL || status == NULL) {
        fprintf(stderr, "admin: set-tenant-status needs --tenant and --status\n");
        return 2;
    }
    PGresult *res = one_row(conn, "UPDATE tenants SET status = $2 WHERE id = $1 RETURNING id", 2,
                            (const char *[]){tenant, status});
    if (res == NULL)
        return 1;
    PQclear(res);
    bool sent = broadcast(cfg, "tenant.changed", tenant);
    return print_json(
        json_pack("{s:s, s:s, s:b}", "tenant_id", tenant, "status", status, "broadcast", sent));
}

/* Reads one line from stdin as the password (no echo handling: for scripts). */
static bool read_password(char *out, size_t cap)
{
    if (fgets(out, (int)cap, stdin) == NULL)
        return false;
    out[strcspn(out, "\r\n")] = '\0';
    return true;
}

static int create_user(PGconn *conn, const tly_config_t *cfg, int argc, char **argv)
{
    const char *email = opt(argc, argv, "--email"), *tenant = opt(argc, argv, "--tenant");
    const char *role = opt(argc, argv, "--role"), *from = opt(argc, argv, "--password-from");
    char password[TLY_PASSWORD_MAX_LEN + 2] = "", hash[TLY_PASSWORD_HASH_MAX];
    bool generated = false;
    if (email == NULL || (tenant == NULL) != (role == NULL)) {
        fprintf(stderr, "admin: create-user needs --email, and --tenant with --role together\n");
        return 2;
    }
    if (from != NULL && strcmp(from, "stdin") == 0) {
        if (!read_password(password, sizeof password)) {
            fprintf(stderr, "admin: no password on stdin\n");
            return 2;
        }
    } else if (from != NULL) {
        fprintf(stderr, "admin: --password-from takes only \"stdin\"\n");
        return 2;
    } else {
        unsigned char r[18];
        if (!tly_random_bytes(r, sizeof r))
            return 1;
        tly_hex_encode(r, sizeof r, password);
        generated = true;
    }
    if (strlen(password) < TLY_PASSWORD_MIN_LEN || strlen(password) > TLY_PASSWORD_MAX_LEN) {
        fprintf(stderr, "admin: the password must be %d to %d bytes\n", TLY_PASSWORD_MIN_LEN,
                TLY_PASSWORD_MAX_LEN);
        return 2;
    }
    if (!tly_password_hash(password, hash))
        return 1;
    if (!tly_db_exec(conn, "BEGIN"))
        return 1;
    PGresult *res = one_row(conn,
                            "INSERT INTO users (email, password_hash) VALUES (lower($1), $2)"
                            " RETURNING id",
                            2, (const char *[]){email, hash});
    if (res != NULL && tenant != NULL) {
        PGresult *m = one_row(conn,
                              "INSERT INTO memberships (tenant_id, user_id, role)"
                              " VALUES ($1, $2, $3) RETURNING role",
                              3, (const char *[]){tenant, PQgetvalue(res, 0, 0), role});
        if (m == NULL) {
            PQclear(res);
            res = NULL;
        }
        PQclear(m);
    }
    if (res == NULL || !tly_db_exec(conn, "COMMIT")) {
        tly_db_rollback(conn);
        PQclear(res);
        return 1;
    }
    json_t *out = json_pack("{s:s, s:s}", "user_id", PQgetvalue(res, 0, 0), "email", email);
    if (tenant != NULL) {
        json_object_set_new(out, "tenant_id", json_string(tenant));
        json_object_set_new(out, "role", json_string(role));
    }
    if (generated)
        json_object_set_new(out, "password", json_string(password));
    PQclear(res);
    return print_json(out);
}

static int create_api_key(PGconn *conn, const tly_config_t *cfg, int argc, char **argv)
{
    const char *tenant = opt(argc, argv, "--tenant"), *name = opt(argc, argv, "--name");
    const char *scopes = opt(argc, argv, "--scopes"), *days = opt(argc, argv, "--expires-days");
    if (tenant == NULL) {
        fprintf(stderr, "admin: create-api-key needs --tenant\n");
        return 2;
    }
    tly_apikey_t key;
    unsigned char hash[TLY_APIKEY_HASH_LEN];
    char hash_hex[2 * TLY_APIKEY_HASH_LEN + 3] = "\\x", text[TLY_APIKEY_LEN + 1];
    if (!tly_apikey_generate(&key) ||
        !tly_apikey_hash(cfg->api_key_pepper, strlen(cfg->api_key_pepper), key.secret, hash))
        return 1;
    tly_hex_encode(hash, sizeof hash, hash_hex + 2);
    tly_apikey_format(&key, text);
    const char *params[] = {key.id, tenant, name ? name : "", hash_hex, scopes ? scopes : "agent",
                            days};
    PGresult *res = one_row(conn,
                            "INSERT INTO api_keys (id, tenant_id, name, secret_hash, scopes,"
                            " expires_at) VALUES ($1, $2, $3, $4::bytea,"
                            " string_to_array($5, ','), now() + make_interval(days => $6::int))"
                            " RETURNING array_to_string(scopes, ','), expires_at",
                            6, params);
    if (res == NULL)
        return 1;
    json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "key_id", key.id, "key", text, "tenant_id",
                            tenant, "scopes", PQgetvalue(res, 0, 0));
    if (!PQgetisnull(res, 0, 1))
        json_object_set_new(out, "expires_at", json_string(PQgetvalue(res, 0, 1)));
    PQclear(res);
    return print_json(out);
}

static int revoke_api_key(PGconn *conn, const tly_config_t *cfg, int argc, char **argv)
{
    const char *id = opt(argc, argv, "--key-id");
    if (id == NULL) {
        fprintf(stderr, "admin: revoke-api-key needs --key-id\n");
        return 2;
    }
    PGresult *res = one_row(conn,
                            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                            " WHERE id = $1 RETURNING revoked_at",
                            1, (const char *[]){id});
    if (res == NULL)
        return 1;
    bool sent = broadcast(cfg, "apikey.revoked", id);
    int rc = print_json(json_pack("{s:s, s:s, s:b}", "key_id", id, "revoked_at",
                                  PQgetvalue(res, 0, 0), "broadcast", sent));
    PQclear(res);
    return rc;
}

/* Per-table retention of daily partitions; "default" goes back to
 * TALLY_PARTITION_RETENTION_DAYS. Applied by the next maintenance run
 * (ingest start-up, then hourly; or tally migrate). */
static int set_retention(PGconn *conn, const tly_config_t *cfg, int argc, char **argv)
{
    const char *table = opt(argc, argv, "--table"), *days = opt(argc, argv, "--days");
    if (table == NULL || days == NULL) {
        fprintf(stderr, "admin: set-retention needs --table and --days\n");
        return 2;
    }
    bool reset = strcmp(days, "default") == 0;
    PGresult *res = one_row(conn,
                            "UPDATE tally_partitioned_tables SET retention_days = $2::int"
                            " WHERE parent_table = $1"
                            " RETURNING parent_table, coalesce(retention_days::text, 'default')",
                            2, (const char *[]){table, reset ? NULL : days});
    if (res == NULL)
        return 1; /* one_row said why: no such partitioned table, or not a number of days */
    int rc = print_json(json_pack("{s:s, s:s}", "table", PQgetvalue(res, 0, 0), "retention_days",
                                  PQgetvalue(res, 0, 1)));
    PQclear(res);
    return rc;
}

static const command_t commands[] = {
    {"create-tenant", (const char *const[]){"--name", NULL}, create_tenant, "--name NAME"},
    {"set-tenant-status", (const char *const[]){"--tenant", "--status", NULL}, set_tenant_status,
     "--tenant ID --status active|suspended"},
    {"create-user", (const char *const[]){"--email", "--tenant", "--role", "--password-from", NULL},
     create_user,
     "--email EMAIL [--tenant ID --role viewer|operator|admin] [--password-from stdin]\n"
     "      (without --password-from a random password is generated and printed once)"},
    {"create-api-key",
     (const char *const[]){"--tenant", "--name", "--scopes", "--expires-days", NULL},
     create_api_key,
     "--tenant ID [--name NAME] [--scopes agent,...] [--expires-days N]\n"
     "      (prints the key once; only its HMAC is stored)"},
    {"revoke-api-key", (const char *const[]){"--key-id", NULL}, revoke_api_key, "--key-id ID"},
    {"set-retention", (const char *const[]){"--table", "--days", NULL}, set_retention,
     "--table PARTITIONED_TABLE --days N|default\n"
     "      (daily partitions older than N days are dropped at the next maintenance)"},
};

void tly_admin_usage(FILE *out)
{
    fprintf(out, "Usage: tally admin COMMAND [OPTIONS]   (prints JSON on stdout)\n\nCommands:\n");
    for (size_t i = 0; i < TLY_ARRAY_LEN(commands); i++)
        fprintf(out, "  %s %s\n", commands[i].name, commands[i].usage);
}

int tly_admin_main(const tly_config_t *cfg, int argc, char **argv)
{
    const command_t *cmd = NULL;
    for (size_t i = 0; argc > 0 && i < TLY_ARRAY_LEN(commands); i++) {
        if (strcmp(argv[0], commands[i].name) == 0)
            cmd = &commands[i];
    }
    if (cmd == NULL) {
        tly_admin_usage(stderr);
        return 2;
    }
    if (!opts_valid(argc, argv, cmd->options))
        return 2;
    PGconn *conn = tly_db_connect(cfg->owner_database_url, "tally-admin");
    if (conn == NULL)
        return 1;
    int rc = cmd->run(conn, cfg, argc, argv);
    PQfinish(conn);
    return rc;
}
