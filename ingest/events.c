#include "ingest/events.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { COL_TEXT, COL_INT, COL_REAL } col_kind_t;

typedef struct {
    const char *json_key;
    const char *column;
    col_kind_t kind;
} column_t;

typedef struct {
    const char *table;   /* partitioned table */
    const char *section; /* array in the batch document */
    const column_t *cols;
    size_t ncols;
} spec_t;

static const column_t process_cols[] = {
    {"ts", "ts", COL_TEXT},           {"op", "op", COL_TEXT},
    {"pid", "pid", COL_INT},          {"ppid", "ppid", COL_INT},
    {"name", "name", COL_TEXT},       {"path", "path", COL_TEXT},
    {"cmdline", "cmdline", COL_TEXT}, {"user", "user_name", COL_TEXT},
    {"sha256", "sha256", COL_TEXT},
};
static const column_t network_cols[] = {
    {"ts", "ts", COL_TEXT},
    {"protocol", "protocol", COL_TEXT},
    {"local_ip", "local_ip", COL_TEXT},
    {"local_port", "local_port", COL_INT},
    {"remote_ip", "remote_ip", COL_TEXT},
    {"remote_port", "remote_port", COL_INT},
    {"state", "state", COL_TEXT},
    {"pid", "pid", COL_INT},
    {"process_name", "process_name", COL_TEXT},
};
static const column_t file_cols[] = {
    {"ts", "ts", COL_TEXT},
    {"op", "op", COL_TEXT},
    {"path", "path", COL_TEXT},
    {"old_path", "old_path", COL_TEXT},
    {"size_bytes", "size_bytes", COL_INT},
    {"sha256", "sha256", COL_TEXT},
    {"pid", "pid", COL_INT},
};
static const column_t metric_cols[] = {
    {"ts", "ts", COL_TEXT},
    {"cpu_pct", "cpu_pct", COL_REAL},
    {"mem_used_bytes", "mem_used_bytes", COL_INT},
    {"disk_used_pct", "disk_used_pct", COL_REAL},
    {"net_rx_bytes", "net_rx_bytes", COL_INT},
    {"net_tx_bytes", "net_tx_bytes", COL_INT},
};

static const spec_t specs[] = {
    {"process_events", "process_events", process_cols, TLY_ARRAY_LEN(process_cols)},
    {"network_events", "network_events", network_cols, TLY_ARRAY_LEN(network_cols)},
    {"file_events", "file_events", file_cols, TLY_ARRAY_LEN(file_cols)},
    {"device_metrics", "metrics", metric_cols, TLY_ARRAY_LEN(metric_cols)},
};

/* COPY text format: backslash, tab, newline and carriage return escaped;
 * \N is NULL. jansson never yields NUL bytes inside strings. */
static void copy_text(tly_strbuf_t *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '\\'   ? "\\\\"
                          : s[i] == '\t' ? "\\t"
                          : s[i] == '\n' ? "\\n"
                          : s[i] == '\r' ? "\\r"
                                         : NULL;
        if (esc == NULL)
            continue;
        tly_strbuf_append(b, s + run, i - run);
        tly_strbuf_append(b, esc, 2);
        run = i + 1;
    }
    tly_strbuf_append(b, s + run, n - run);
}

static void copy_value(tly_strbuf_t *b, const json_t *v, col_kind_t kind)
{
    if (v == NULL || json_is_null(v)) {
        tly_strbuf_append(b, "\\N", 2);
    } else if (json_is_string(v)) {
        copy_text(b, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        tly_strbuf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v) && kind == COL_INT) {
        /* The schema admits 4.0 as an integer. */
        tly_strbuf_printf(b, "%.0f", json_real_value(v));
    } else if (json_is_real(v)) {
        tly_strbuf_printf(b, "%.17g", json_real_value(v));
    } else {
        tly_strbuf_append(b, "\\N", 2);
    }
}

/* Renders spec's rows of every source into b; returns the row count. */
static int64_t render(const spec_t *spec, const tly_event_source_t *src, int n, tly_strbuf_t *b)
{
    int64_t rows = 0;
    for (int i = 0; i < n; i++) {
        const json_t *items = json_object_get(src[i].doc, spec->section);
        size_t k;
        const json_t *item;
        json_array_foreach(items, k, item)
        {
            tly_strbuf_printf(b, "%s\t%s", src[i].tenant_id, src[i].device_id);
            for (size_t c = 0; c < spec->ncols; c++) {
                tly_strbuf_append(b, "\t", 1);
                copy_value(b, json_object_get(item, spec->cols[c].json_key), spec->cols[c].kind);
            }
            tly_strbuf_append(b, "\n", 1);
            rows++;
        }
    }
    return rows;
}

/* Classifies a failed result; keeps the server's message in why. */
static tly_events_status_t failed(const PGresult *res, PGconn *conn, const char *what, char *why,
                                  size_t why_len)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    snprintf(why, why_len, "%s: %s", what, msg);
    why[strcspn(why, "\n")] = '\0';
    TLY_WARN(NULL, "%s", why);
    bool data = state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
    return data ? TLY_EVENTS_DATA_ERROR : TLY_EVENTS_FAILED;
}

static tly_events_status_t copy_in(PGconn *conn, const spec_t *spec, const tly_strbuf_t *rows,
                                   char *why, size_t why_len)
{
    tly_strbuf_t sql;
    tly_strbuf_init(&sql, 4096);
    tly_strbuf_printf(&sql, "COPY stage_%s (tenant_id, device_id", spec->table);
    for (size_t c = 0; c < spec->ncols; c++)
        tly_strbuf_printf(&sql, ", %s", spec->cols[c].column);
    tly_strbuf_puts(&sql, ") FROM STDIN");
    PGresult *res = PQexec(conn, sql.data);
    tly_strbuf_free(&sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        tly_events_status_t st = failed(res, conn, "COPY start", why, why_len);
        PQclear(res);
        return st;
    }
    PQclear(res);
    bool sent = PQputCopyData(conn, rows->data, (int)rows->len) == 1;
    if (PQputCopyEnd(conn, sent ? NULL : "client could not send the rows") != 1)
        sent = false;
    tly_events_status_t st = TLY_EVENTS_OK;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == TLY_EVENTS_OK)
            st = failed(res, conn, spec->table, why, why_len);
        PQclear(res);
    }
    return sent || st != TLY_EVENTS_OK ? st : TLY_EVENTS_FAILED;
}

/* Moves one tenant's staged rows of one table into place; counts them. */
static tly_events_status_t move_rows(PGconn *conn, const spec_t *spec, const char *tenant,
                                     const char *lower, const char *upper,
                                     tly_event_counts_t *counts, char *why, size_t why_len)
{
    char in_window[1024], outside[1024];
    const char *window = "ts >= $2::timestamptz AND ts < $3::timestamptz";
    snprintf(in_window, sizeof in_window,
             "INSERT INTO %s SELECT * FROM stage_%s WHERE tenant_id = $1 AND %s", spec->table,
             spec->table, window);
    snprintf(outside, sizeof outside,
             "INSERT INTO out_of_window_events (tenant_id, device_id, kind, ts, row_data)"
             " SELECT tenant_id, device_id, '%s', ts, to_jsonb(s) - 'tenant_id' - 'device_id'"
             " FROM stage_%s s WHERE tenant_id = $1 AND NOT coalesce(%s, false)",
             spec->table, spec->table, window);
    const char *params[] = {tenant, lower, upper};
    const char *sqls[] = {in_window, outside};
    int64_t *targets[] = {&counts->rows, &counts->out_of_window};
    for (int i = 0; i < 2; i++) {
        PGresult *res = PQexecParams(conn, sqls[i], 3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            tly_events_status_t st = failed(res, conn, spec->table, why, why_len);
            PQclear(res);
            return st;
        }
        *targets[i] += strtoll(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    return TLY_EVENTS_OK;
}

static tly_events_status_t exec(PGconn *conn, const char *sql, PGresult **out, char *why,
                                size_t why_len)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out != NULL)
            *out = res;
        else
            PQclear(res);
        return TLY_EVENTS_OK;
    }
    tly_events_status_t r = failed(res, conn, "events", why, why_len);
    PQclear(res);
    return r;
}

static int by_tenant(const void *a, const void *b)
{
    return strcmp(((const tly_event_source_t *)a)->tenant_id,
                  ((const tly_event_source_t *)b)->tenant_id);
}

tly_events_status_t tly_events_store(PGconn *conn, const tly_event_source_t *src, int n,
                                     tly_event_counts_t *counts, char *why, size_t why_len)
{
    tly_events_status_t st = TLY_EVENTS_OK;
    tly_strbuf_t rows;
    PGresult *window = NULL;
    bool staged[TLY_ARRAY_LEN(specs)] = {false};
    bool any = false;
    tly_event_source_t *sorted = tly_xcalloc((size_t)n + 1, sizeof *sorted);
    memcpy(sorted, src, (size_t)n * sizeof *src);
    qsort(sorted, (size_t)n, sizeof *sorted, by_tenant);

    /* Session-local staging tables, emptied at every commit. */
    st = exec(conn,
              "SET LOCAL client_min_messages = warning;"
              " CREATE TEMP TABLE IF NOT EXISTS stage_process_events (LIKE process_events)"
              " ON COMMIT DELETE ROWS;"
              " CREATE TEMP TABLE IF NOT EXISTS stage_network_events (LIKE network_events)"
              " ON COMMIT DELETE ROWS;"
              " CREATE TEMP TABLE IF NOT EXISTS stage_file_events (LIKE file_events)"
              " ON COMMIT DELETE ROWS;"
              " CREATE TEMP TABLE IF NOT EXISTS stage_device_metrics (LIKE device_metrics)"
              " ON COMMIT DELETE ROWS",
              NULL, why, why_len);
    for (size_t t = 0; st == TLY_EVENTS_OK && t < TLY_ARRAY_LEN(specs); t++) {
        tly_strbuf_init(&rows, (size_t)1 << 30);
        int64_t count = render(&specs[t], sorted, n, &rows);
        if (rows.truncated) {
            snprintf(why, why_len, "%s: rows exceed the COPY buffer", specs[t].table);
            st = TLY_EVENTS_FAILED;
        } else if (count > 0) {
            st = copy_in(conn, &specs[t], &rows, why, why_len);
            staged[t] = true;
            any = true;
        }
        tly_strbuf_free(&rows);
    }
    if (st != TLY_EVENTS_OK || !any)
        goto done;
    if ((st = exec(conn, "SELECT lower_bound, upper_bound FROM tally_event_window()", &window, why,
                   why_len)) != TLY_EVENTS_OK)
        goto done;
    const char *lower = PQgetisnull(window, 0, 0) ? NULL : PQgetvalue(window, 0, 0);
    const char *upper = PQgetisnull(window, 0, 1) ? NULL : PQgetvalue(window, 0, 1);
    for (int i = 0; st == TLY_EVENTS_OK && i < n; i++) {
        if (i > 0 && strcmp(sorted[i].tenant_id, sorted[i - 1].tenant_id) == 0)
            continue; /* one pass per tenant */
        const char *params[] = {sorted[i].tenant_id};
        PGresult *res = PQexecParams(conn, "SELECT set_config('app.tenant_id', $1, true)", 1, NULL,
                                     params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            st = failed(res, conn, "set tenant", why, why_len);
        PQclear(res);
        for (size_t t = 0; st == TLY_EVENTS_OK && t < TLY_ARRAY_LEN(specs); t++) {
            if (staged[t])
                st = move_rows(conn, &specs[t], sorted[i].tenant_id, lower, upper, counts, why,
                               why_len);
        }
    }
done:
    PQclear(window);
    free(sorted);
    return st;
}
