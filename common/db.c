#include "common/db.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

PGconn *tly_db_connect(const char *url, const char *application_name)
{
    /* A later keyword overrides an earlier one, and the URL is expanded in
     * dbname's place: the TCP settings before it are defaults the URL may
     * override; the name and the connect timeout after it are ours. */
    const char *keys[] = {"keepalives",       "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", "dbname",
                          "application_name", "connect_timeout",  NULL};
    const char *values[] = {"1", "10", "5", "3", "30000", url, application_name, "5", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        /* PQerrorMessage never contains the password. */
        TLY_ERROR(NULL, "PostgreSQL connection failed: %s",
                  conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

bool tly_db_result_ok(const PGresult *res, ExecStatusType want, const char *what)
{
    if (res != NULL && PQresultStatus(res) == want)
        return true;
    TLY_ERROR(NULL, "%s failed: %s", what, res ? PQresultErrorMessage(res) : "no result");
    return false;
}

bool tly_db_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = res != NULL &&
              (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
    if (!ok)
        TLY_ERROR(NULL, "SQL failed (%.60s): %s", sql,
                  res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    PQclear(res);
    return ok;
}

void tly_db_rollback(PGconn *conn)
{
    PGresult *res = PQexec(conn, "ROLLBACK");
    PQclear(res);
}

bool tly_db_ensure(PGconn *conn)
{
    if (PQstatus(conn) == CONNECTION_OK)
        return true;
    PQreset(conn);
    return PQstatus(conn) == CONNECTION_OK;
}

bool tly_db_maintain_partitions(PGconn *conn, int64_t days_ahead, int64_t retention_days,
                                int *created, int *dropped)
{
    char ahead[24], keep[24];
    snprintf(ahead, sizeof ahead, "%lld", (long long)days_ahead);
    snprintf(keep, sizeof keep, "%lld", (long long)retention_days);
    const char *params[] = {ahead, keep};
    PGresult *res = PQexecParams(conn, "SELECT tally_maintain_partitions($1::int, $2::int)", 2,
                                 NULL, params, NULL, NULL, 0);
    bool ok = tly_db_result_ok(res, PGRES_TUPLES_OK, "partition maintenance");
    for (int i = 0; ok && i < PQntuples(res); i++) {
        const char *what = PQgetvalue(res, i, 0);
        TLY_INFO(NULL, "partition %s", what);
        int *count = strncmp(what, "created ", 8) == 0 ? created : dropped;
        if (count != NULL)
            (*count)++;
    }
    PQclear(res);
    return ok;
}
