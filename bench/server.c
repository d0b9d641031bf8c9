#include "server.h"
#include "cli.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool proc_cpu_s(int pid, double *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which may hold spaces: ") S ppid ..." */
    const char *p = strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return false;
    *out = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

static double proc_hwm_mib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    double kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %lf", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib / 1024.0;
}

bool server_watch_pid(server_figures_t *s, int pid)
{
    if (s->nprocs == SERVER_MAX_PIDS)
        return false;
    server_proc_t *p = &s->procs[s->nprocs];
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(p->name, 1, sizeof p->name - 1, f);
    fclose(f);
    p->name[n] = '\0';
    for (size_t i = 0; i + 1 < n; i++) /* arguments are NUL-separated */
        if (p->name[i] == '\0')
            p->name[i] = ' ';
    const char *base = strrchr(p->name, '/');
    if (base != NULL)
        memmove(p->name, base + 1, strlen(base));
    p->pid = pid;
    s->nprocs++;
    return true;
}

/* One value of a one-row query; NULL (with pg_error set) on failure. */
static char *query_value(server_figures_t *s, PGconn *conn, const char *sql)
{
    const char *params[] = {s->start_ts};
    PGresult *res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
    char *v = NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    else
        snprintf(s->pg_error, sizeof s->pg_error, "%s", PQerrorMessage(conn));
    PQclear(res);
    return v;
}

static PGconn *connect_db(server_figures_t *s)
{
    PGconn *conn = PQconnectdb(s->database_url);
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(s->pg_error, sizeof s->pg_error, "%s", PQerrorMessage(conn));
        s->pg_error[strcspn(s->pg_error, "\n")] = '\0';
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

void server_start(server_figures_t *s)
{
    for (int i = 0; i < s->nprocs; i++)
        s->procs[i].gone = !proc_cpu_s(s->procs[i].pid, &s->procs[i].cpu0_s);
    if (s->database_url == NULL)
        return;
    PGconn *conn = connect_db(s);
    if (conn == NULL)
        return;
    PGresult *res = PQexec(conn, "SELECT now()::text");
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        snprintf(s->start_ts, sizeof s->start_ts, "%s", PQgetvalue(res, 0, 0));
        s->pg_ok = true;
    } else {
        snprintf(s->pg_error, sizeof s->pg_error, "%s", PQerrorMessage(conn));
    }
    PQclear(res);
    PQfinish(conn);
}

/* Batches and rows (a report row with its event and metric rows) stored
 * since the run started. */
static const char SQL_STORED[] =
    "SELECT count(*) || ' ' || coalesce(sum(1 + process_event_count + network_event_count"
    " + file_event_count + metric_count), 0)"
    " FROM inventory_reports WHERE received_at >= $1::timestamptz";

void server_finish(server_figures_t *s, uint64_t expected, double run_s, double drain_max_s)
{
    s->window_s = run_s;
    PGconn *conn = s->pg_ok ? connect_db(s) : NULL;
    s->pg_ok = conn != NULL;
    if (conn != NULL) {
        /* Wait for ingest to store what was accepted. */
        int64_t t0 = cli_mono_ns(), last_change = t0;
        uint64_t last = UINT64_MAX;
        for (;;) {
            char *v = query_value(s, conn, SQL_STORED);
            if (v == NULL) {
                s->pg_ok = false;
                break;
            }
            unsigned long long b = 0, r = 0;
            sscanf(v, "%llu %llu", &b, &r);
            free(v);
            s->batches = b;
            s->rows = r;
            int64_t now = cli_mono_ns();
            if (b != last)
                last_change = now;
            last = b;
            s->drain_s = (double)(now - t0) / 1e9;
            s->drained = b >= expected;
            if (s->drained || s->drain_s >= drain_max_s || now - last_change > 5 * NS_PER_S)
                break;
            usleep(200 * 1000);
        }
    }
    if (s->pg_ok) {
        char *v =
            query_value(s, conn,
                        "SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), -1)"
                        " || ' ' || coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), -1)"
                        " FROM (SELECT extract(epoch FROM b.ingested_at - r.received_at) * 1000"
                        " AS ms FROM inventory_reports r JOIN ingested_batches b"
                        " ON b.tenant_id = r.tenant_id AND b.batch_id = r.batch_id"
                        " WHERE r.received_at >= $1::timestamptz) x");
        if (v != NULL) {
            sscanf(v, "%lf %lf", &s->freshness_p50_ms, &s->freshness_p99_ms);
            free(v);
        }
    }
    PQfinish(conn);
    for (int i = 0; i < s->nprocs; i++) {
        server_proc_t *p = &s->procs[i];
        double cpu = 0;
        if (p->gone || !proc_cpu_s(p->pid, &cpu)) {
            p->gone = true;
            continue;
        }
        p->cpu_s = cpu - p->cpu0_s;
        p->rss_mib = proc_hwm_mib(p->pid);
    }
}
