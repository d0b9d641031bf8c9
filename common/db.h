/* PostgreSQL helpers shared by serve, ingest and the commands.
 *
 * A PGconn belongs to one thread at a time (libpq's rule); nothing here
 * shares connections. Tenant scoping: every transaction that touches tenant
 * data first runs SELECT set_config('app.tenant_id', <uuid>, true), the
 * transaction-local setting the row-level security policies read. */
#ifndef TLY_COMMON_DB_H
#define TLY_COMMON_DB_H

#include "common/util.h"

#include <libpq-fe.h>

/* Connects; application_name identifies the component in pg_stat_activity.
 * Returns NULL (and logs why, without the password) on failure. Caller owns
 * the result (PQfinish).
 *
 * Over TCP, a server that vanishes without a reset (its host down, a
 * partition) is noticed within about 25 s: TCP keepalives after 10 s idle,
 * every 5 s, 3 unanswered; and data unacknowledged for 30 s ends the
 * connection. Without them, a query
 * waiting for such a server waits for the kernel's defaults: over two
 * hours. A live server's kernel answers keepalives, so a long query is not
 * cut short. The URL may set other values (keepalives_idle=...). */
PGconn *tly_db_connect(const char *url, const char *application_name) TLY_MUSTCHECK;

/* Runs a statement without parameters expecting no rows; logs on failure. */
bool tly_db_exec(PGconn *conn, const char *sql) TLY_MUSTCHECK;

/* ROLLBACK, for cleanup paths (a failure is logged and otherwise moot). */
void tly_db_rollback(PGconn *conn);

/* Checks a result's status, logs the server message if it is not `want`,
 * and returns whether it matched. Does not clear the result. */
bool tly_db_result_ok(const PGresult *res, ExecStatusType want, const char *what);

/* Creates the daily partitions TALLY_PARTITION_DAYS_AHEAD ahead and drops
 * those older than their table's retention (tally_partitioned_tables.
 * retention_days, else TALLY_PARTITION_RETENTION_DAYS) with the SQL function
 * tally_maintain_partitions, serialised by an advisory lock; logs each and
 * adds them to *created / *dropped (either may be NULL). */
bool tly_db_maintain_partitions(PGconn *conn, int64_t days_ahead, int64_t retention_days,
                                int *created, int *dropped);

/* True when the connection is usable; tries one PQreset otherwise. */
bool tly_db_ensure(PGconn *conn);

#endif
