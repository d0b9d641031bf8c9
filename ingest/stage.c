#include "ingest/stage.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    COL_TEXT,
    COL_INT,
    COL_REAL,
} col_kind_t;

typedef struct {
    const char *json_key;
    const char *column;
    col_kind_t kind;
} column_t;

/* An array section of the batch document and its staging table. */
typedef struct {
    const char *section;
    const char *table;
    const column_t *cols;
    size_t ncols;
} spec_t;

static const column_t patch_cols[] = {
    {"hotfix_id", "hotfix_id", COL_TEXT},
    {"description", "description", COL_TEXT},
    {"installed_on", "installed_on", COL_TEXT},
};
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

/* Patch lists, staged for tally_ingest_batches(). */
static const spec_t patch_spec = {"patches", "stage_patches", patch_cols,
                                  TLY_ARRAY_LEN(patch_cols)};

/* Events and metrics, COPYed into their own tables (tly_stage_event_table
 * gives their names), each with ts first. */
static const spec_t event_specs[TLY_STAGE_EVENT_TABLES] = {
    {"process_events", "process_events", process_cols, TLY_ARRAY_LEN(process_cols)},
    {"network_events", "network_events", network_cols, TLY_ARRAY_LEN(network_cols)},
    {"file_events", "file_events", file_cols, TLY_ARRAY_LEN(file_cols)},
    {"metrics", "device_metrics", metric_cols, TLY_ARRAY_LEN(metric_cols)},
};

const char *tly_stage_event_table(size_t t)
{
    return event_specs[t].table;
}

/* COPY text format: backslash, tab, newline and carriage return escaped;
 * \N is NULL. Parsed strings never hold a NUL byte (common/json.h). */
void tly_stage_text(tly_strbuf_t *b, const char *s, size_t n)
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

void tly_stage_version_key(const char *s, size_t n, tly_strbuf_t *b)
{
    tly_strbuf_append(b, "{", 1);
    bool first = true;
    for (size_t i = 0; i < n;) {
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        long v = 0;
        for (size_t digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
            if (digits < 9) /* a run's first 9 digits count */
                v = v * 10 + (s[i] - '0');
        if (!first)
            tly_strbuf_append(b, ",", 1);
        tly_strbuf_append_int(b, v);
        first = false;
    }
    tly_strbuf_append(b, "}", 1);
}

void tly_stage_name(const tly_json_t *v, const char **s, size_t *n)
{
    bool text = v != NULL && v->type == TLY_JSON_STRING;
    size_t start = 0, end = text ? v->len : 0;
    while (start < end && v->u.s[start] == ' ')
        start++;
    while (end > start && v->u.s[end - 1] == ' ')
        end--;
    *s = text ? v->u.s + start : "";
    *n = end - start;
}

static void copy_value(tly_strbuf_t *b, const tly_json_t *v, col_kind_t kind)
{
    if (v == NULL || v->type == TLY_JSON_NULL) {
        tly_strbuf_append(b, "\\N", 2);
    } else if (v->type == TLY_JSON_STRING) {
        tly_stage_text(b, v->u.s, v->len);
    } else if (v->type == TLY_JSON_INTEGER) {
        tly_strbuf_append_int(b, v->u.i);
    } else if (v->type == TLY_JSON_REAL && kind == COL_INT) {
        /* The schema admits 4.0 as an integer. */
        tly_strbuf_printf(b, "%.0f", v->u.d);
    } else if (v->type == TLY_JSON_REAL) {
        tly_strbuf_printf(b, "%.17g", v->u.d);
    } else {
        tly_strbuf_append(b, "\\N", 2);
    }
}

/* Appends item's columns of spec, each after a tab, and the newline. */
static void render_item(const spec_t *spec, const tly_json_t *item, tly_strbuf_t *b)
{
    uint32_t hint = 0; /* agents send members in the schema's order, as the columns are */
    for (size_t c = 0; c < spec->ncols; c++) {
        tly_strbuf_append(b, "\t", 1);
        copy_value(b, tly_json_get_from(item, spec->cols[c].json_key, &hint), spec->cols[c].kind);
    }
    tly_strbuf_append(b, "\n", 1);
}

/* Renders spec's rows of every document into b; returns the row count. */
static int64_t render(const spec_t *spec, const tly_stage_doc_t *docs, int n, tly_strbuf_t *b)
{
    int64_t rows = 0;
    for (int i = 0; i < n; i++) {
        const tly_json_t *items = tly_json_get(docs[i].doc, spec->section);
        for (size_t k = 0; k < tly_json_size(items); k++) {
            tly_strbuf_append_int(b, docs[i].idx);
            render_item(spec, &items->u.items[k], b);
            rows++;
        }
    }
    return rows;
}

tly_stage_status_t tly_stage_failed(const PGresult *res, PGconn *conn, const char *what, char *why,
                                    size_t why_len)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    snprintf(why, why_len, "%s: %s", what, msg);
    why[strcspn(why, "\n")] = '\0';
    TLY_WARN(NULL, "%s", why);
    /* A row already in the device's set: ingest's copy of the set was not
     * what the database holds. */
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    bool stale_row = constraint != NULL && strcmp(constraint, "device_software_pkey") == 0;
    if (state != NULL && (strcmp(state, "TLY01") == 0 || stale_row))
        return TLY_STAGE_STALE;
    bool data = state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
    return data ? TLY_STAGE_DATA_ERROR : TLY_STAGE_FAILED;
}

tly_stage_status_t tly_stage_copy(PGconn *conn, const char *target, const tly_strbuf_t *rows,
                                  char *why, size_t why_len)
{
    if (rows->truncated) { /* too much for one COPY: a data error, so the fetch is isolated */
        snprintf(why, why_len, "%.*s: rows exceed the COPY buffer", (int)strcspn(target, " ("),
                 target);
        return TLY_STAGE_DATA_ERROR;
    }
    char sql[1024];
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN", target);
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        tly_stage_status_t st = tly_stage_failed(res, conn, "COPY start", why, why_len);
        PQclear(res);
        return st;
    }
    PQclear(res);
    bool sent = PQputCopyData(conn, rows->data, (int)rows->len) == 1;
    if (PQputCopyEnd(conn, sent ? NULL : "client could not send the rows") != 1)
        sent = false;
    tly_stage_status_t st = TLY_STAGE_OK;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && st == TLY_STAGE_OK)
            st = tly_stage_failed(res, conn, target, why, why_len);
        PQclear(res);
    }
    return sent || st != TLY_STAGE_OK ? st : TLY_STAGE_FAILED;
}

/* COPYs rows (count of them; none: nothing to do) into spec's table with
 * the leading columns lead, then spec's own. */
static tly_stage_status_t copy_rows(PGconn *conn, const spec_t *spec, const char *lead,
                                    const tly_strbuf_t *rows, int64_t count, char *why,
                                    size_t why_len)
{
    if (count == 0)
        return TLY_STAGE_OK;
    char target[512];
    tly_strbuf_t t_buf;
    tly_strbuf_init_fixed(&t_buf, target, sizeof target);
    tly_strbuf_printf(&t_buf, "%s (%s", spec->table, lead);
    for (size_t c = 0; c < spec->ncols; c++)
        tly_strbuf_printf(&t_buf, ", %s", spec->cols[c].column);
    tly_strbuf_puts(&t_buf, ")");
    return tly_stage_copy(conn, target, rows, why, why_len);
}

tly_stage_status_t tly_stage_patches(PGconn *conn, const tly_stage_doc_t *docs, int n, char *why,
                                     size_t why_len)
{
    tly_strbuf_t rows;
    tly_strbuf_init(&rows, (size_t)1 << 30);
    int64_t count = render(&patch_spec, docs, n, &rows);
    tly_stage_status_t st = copy_rows(conn, &patch_spec, "idx", &rows, count, why, why_len);
    tly_strbuf_free(&rows);
    return st;
}

/* Appends "tenant<TAB>device". */
static void append_ids(tly_strbuf_t *b, const tly_stage_event_doc_t *doc)
{
    tly_strbuf_puts(b, doc->tenant_id);
    tly_strbuf_append(b, "\t", 1);
    tly_strbuf_puts(b, doc->device_id);
}

/* Renders one event table's rows of every document: into rows when ts lies
 * in the window, else into out (out_of_window_events, the item's JSON as
 * row_data). Counts each. False, with why, for a ts that is not a date-time. */
static bool render_events(const spec_t *spec, const tly_stage_event_doc_t *docs, int n,
                          tly_stage_window_t window, tly_strbuf_t *rows, int64_t *count,
                          tly_strbuf_t *out, int64_t *out_count, char *why, size_t why_len)
{
    for (int i = 0; i < n; i++) {
        const tly_json_t *items = tly_json_get(docs[i].doc, spec->section);
        for (size_t k = 0; k < tly_json_size(items); k++) {
            const tly_json_t *item = &items->u.items[k];
            const tly_json_t *ts = tly_json_get(item, spec->cols[0].json_key);
            int64_t at = 0;
            if (!tly_json_is(ts, TLY_JSON_STRING) || !tly_parse_rfc3339_us(ts->u.s, ts->len, &at)) {
                snprintf(why, why_len, "%s: an item's ts is not an RFC 3339 date-time",
                         spec->section);
                return false;
            }
            if (at >= window.from_us && at < window.to_us) {
                append_ids(rows, &docs[i]);
                render_item(spec, item, rows);
                (*count)++;
                continue;
            }
            append_ids(out, &docs[i]);
            tly_strbuf_printf(out, "\t%s\t", spec->table);
            tly_stage_text(out, ts->u.s, ts->len);
            tly_strbuf_append(out, "\t", 1);
            tly_stage_text(out, docs[i].text + item->src_off, item->src_len);
            tly_strbuf_append(out, "\n", 1);
            (*out_count)++;
        }
    }
    return true;
}

tly_stage_status_t tly_stage_events(PGconn *conn, const tly_stage_event_doc_t *docs, int n,
                                    const tly_stage_window_t windows[TLY_STAGE_EVENT_TABLES],
                                    int64_t rows_written[TLY_STAGE_EVENT_TABLES],
                                    int64_t *out_of_window, char *why, size_t why_len)
{
    static const spec_t out_spec = {"", "out_of_window_events", NULL, 0};
    tly_strbuf_t out;
    tly_strbuf_init(&out, (size_t)1 << 30);
    int64_t out_count = 0;
    tly_stage_status_t st = TLY_STAGE_OK;
    for (size_t t = 0; st == TLY_STAGE_OK && t < TLY_STAGE_EVENT_TABLES; t++) {
        tly_strbuf_t rows;
        tly_strbuf_init(&rows, (size_t)1 << 30);
        int64_t count = 0;
        if (!render_events(&event_specs[t], docs, n, windows[t], &rows, &count, &out, &out_count,
                           why, why_len))
            st = TLY_STAGE_DATA_ERROR;
        else
            st = copy_rows(conn, &event_specs[t], "tenant_id, device_id", &rows, count, why,
                           why_len);
        if (st == TLY_STAGE_OK)
            rows_written[t] += count;
        tly_strbuf_free(&rows);
    }
    if (st == TLY_STAGE_OK)
        st = copy_rows(conn, &out_spec, "tenant_id, device_id, kind, ts, row_data", &out, out_count,
                       why, why_len);
    if (st == TLY_STAGE_OK)
        *out_of_window += out_count;
    tly_strbuf_free(&out);
    return st;
}
