#include "cmd/migrate.h"
#include "common/db.h"
#include "common/log.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary constant naming Tally's migration lock in pg_advisory_lock. */
#define MIGRATION_LOCK_KEY "7311200201"

static void checksum(const char *sql, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(sql, strlen(sql), md, &len, EVP_sha256(), NULL);
    tly_hex_encode(md, 32, out);
}

static bool apply(PGconn *conn, const tly_migration_t *m, const char *sum)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = {version, m->name, sum};
    if (!tly_db_exec(conn, "BEGIN"))
        return false;
    if (!tly_db_exec(conn, m->sql)) {
        TLY_ERROR(NULL, "migration %s failed; rolled back", m->name);
        tly_db_rollback(conn);
        return false;
    }
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO tally_schema_migrations (version, name, checksum)"
                                 " VALUES ($1, $2, $3)",
                                 3, NULL, params, NULL, NULL, 0);
    bool ok = tly_db_result_ok(res, PGRES_COMMAND_OK, "record migration");
    PQclear(res);
    if (!ok || !tly_db_exec(conn, "COMMIT")) {
        tly_db_rollback(conn);
        return false;
    }
    TLY_INFO(NULL, "applied migration %s", m->name);
    return true;
}

/* Applied version -> checksum, or "" when not applied. */
static const char *applied_checksum(PGresult *applied, int version)
{
    for (int i = 0; i < PQntuples(applied); i++) {
        if (atoi(PQgetvalue(applied, i, 0)) == version)
            return PQgetvalue(applied, i, 1);
    }
    return "";
}

void tly_migrate_usage(FILE *out)
{
    fprintf(out,
            "Options:\n"
            "  --to N   apply the migrations up to N only (an upgrade in steps; none is undone)\n");
}

/* The version --to names (0: every migration); -1 for bad arguments. */
static int target(int argc, char **argv)
{
    if (argc == 0)
        return 0;
    char *end = NULL;
    long v = argc == 2 && strcmp(argv[0], "--to") == 0 ? strtol(argv[1], &end, 10) : -1;
    if (end == NULL || end == argv[1] || *end != '\0' || v < 1) {
        fprintf(stderr, "tally migrate: expected no arguments or --to N (a migration number)\n");
        return -1;
    }
    for (size_t i = 0; i < tly_migrations_count; i++) {
        if (tly_migrations[i].version == v)
            return (int)v;
    }
    fprintf(stderr, "tally migrate: this binary has no migration %ld (its last is %d)\n", v,
            tly_migrations[tly_migrations_count - 1].version);
    return -1;
}

int tly_migrate_main(const tly_config_t *cfg, int argc, char **argv)
{
    int rc = 1, applied_now = 0, to = target(argc, argv);
    if (to < 0)
        return 2;
    PGresult *applied = NULL;
    PGconn *conn = tly_db_connect(cfg->owner_database_url, "tally-migrate");
    if (conn == NULL)
        return 1;
    if (!tly_db_exec(conn, "SET client_min_messages = warning") ||
        !tly_db_exec(conn, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")"))
        goto failed;
    if (!tly_db_exec(conn, "CREATE TABLE IF NOT EXISTS tally_schema_migrations ("
                           " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now())"))
        goto failed;
    applied = PQexec(conn, "SELECT version, checksum FROM tally_schema_migrations");
    if (!tly_db_result_ok(applied, PGRES_TUPLES_OK, "read applied migrations"))
        goto failed;
    size_t upto = 0; /* the migrations this run brings the schema to */
    while (upto < tly_migrations_count && (to == 0 || tly_migrations[upto].version <= to))
        upto++;
    for (size_t i = 0; i < tly_migrations_count; i++) {
        const tly_migration_t *m = &tly_migrations[i];
        char sum[65];
        checksum(m->sql, sum);
        const char *have = applied_checksum(applied, m->version);
        if (have[0] != '\0') {
            if (strcmp(have, sum) != 0) {
                TLY_ERROR(NULL,
                          "migration %s was changed after it was applied; add a new "
                          "migration instead",
                          m->name);
                goto failed;
            }
            continue;
        }
        if (i >= upto)
            continue; /* past --to: the text of an applied one is still checked */
        if (!apply(conn, m, sum))
            goto failed;
        applied_now++;
    }
    if (!tly_db_maintain_partitions(conn, cfg->partition_days_ahead, cfg->partition_retention_days,
                                    NULL, NULL))
        goto failed;
    if (to == 0)
        TLY_INFO(NULL, "schema up to date: %d applied now, %zu in total", applied_now,
                 tly_migrations_count);
    else
        TLY_INFO(NULL, "schema at %04d or later: %d applied now, %zu of %zu known", to, applied_now,
                 upto, tly_migrations_count);
    rc = 0;
failed:
    PQclear(applied);
    /* Closing the session releases the advisory lock. */
    PQfinish(conn);
    return rc;
}
