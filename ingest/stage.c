#include "ingest/stage.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *json_key;
    size_t json_len;
    const char *column;
    tly_bin_kind_t kind;
} column_t;

/* An array section of the batch document and its table. */
typedef struct {
    const char *section;
    const char *table;
    const column_t *cols;
    size_t ncols;
} spec_t;

static const column_t patch_cols[] = {
    {TLY_JSON_KEY("hotfix_id"), "hotfix_id", TLY_BIN_TEXT},
    {TLY_JSON_KEY("description"), "description", TLY_BIN_TEXT},
    {TLY_JSON_KEY("installed_on"), "installed_on", TLY_BIN_TEXT},
};
static const column_t process_cols[] = {
    {TLY_JSON_KEY("ts"), "ts", TLY_BIN_TS},
    {TLY_JSON_KEY("op"), "op", TLY_BIN_TEXT},
    {TLY_JSON_KEY("pid"), "pid", TLY_BIN_INT8},
    {TLY_JSON_KEY("ppid"), "ppid", TLY_BIN_INT8},
    {TLY_JSON_KEY("name"), "name", TLY_BIN_TEXT},
    {TLY_JSON_KEY("path"), "path", TLY_BIN_TEXT},
    {TLY_JSON_KEY("cmdline"), "cmdline", TLY_BIN_TEXT},
    {TLY_JSON_KEY("user"), "user_name", TLY_BIN_TEXT},
    {TLY_JSON_KEY("sha256"), "sha256", TLY_BIN_TEXT},
};
static const column_t network_cols[] = {
    {TLY_JSON_KEY("ts"), "ts", TLY_BIN_TS},
    {TLY_JSON_KEY("protocol"), "protocol", TLY_BIN_TEXT},
    {TLY_JSON_KEY("local_ip"), "local_ip", TLY_BIN_INET},
    {TLY_JSON_KEY("local_port"), "local_port", TLY_BIN_INT4},
    {TLY_JSON_KEY("remote_ip"), "remote_ip", TLY_BIN_INET},
    {TLY_JSON_KEY("remote_port"), "remote_port", TLY_BIN_INT4},
    {TLY_JSON_KEY("state"), "state", TLY_BIN_TEXT},
    {TLY_JSON_KEY("pid"), "pid", TLY_BIN_INT8},
    {TLY_JSON_KEY("process_name"), "process_name", TLY_BIN_TEXT},
};
static const column_t file_cols[] = {
    {TLY_JSON_KEY("ts"), "ts", TLY_BIN_TS},
    {TLY_JSON_KEY("op"), "op", TLY_BIN_TEXT},
    {TLY_JSON_KEY("path"), "path", TLY_BIN_TEXT},
    {TLY_JSON_KEY("old_path"), "old_path", TLY_BIN_TEXT},
    {TLY_JSON_KEY("size_bytes"), "size_bytes", TLY_BIN_INT8},
    {TLY_JSON_KEY("sha256"), "sha256", TLY_BIN_TEXT},
    {TLY_JSON_KEY("pid"), "pid", TLY_BIN_INT8},
};
static const column_t metric_cols[] = {
    {TLY_JSON_KEY("ts"), "ts", TLY_BIN_TS},
    {TLY_JSON_KEY("cpu_pct"), "cpu_pct", TLY_BIN_FLOAT4},
    {TLY_JSON_KEY("mem_used_bytes"), "mem_used_bytes", TLY_BIN_INT8},
    {TLY_JSON_KEY("disk_used_pct"), "disk_used_pct", TLY_BIN_FLOAT4},
    {TLY_JSON_KEY("net_rx_bytes"), "net_rx_bytes", TLY_BIN_INT8},
    {TLY_JSON_KEY("net_tx_bytes"), "net_tx_bytes", TLY_BIN_INT8},
};

/* Patch lists, staged for tally_ingest_devices(). */
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

const char *tly_stage_event_section(size_t t)
{
    return event_specs[t].section;
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

/* A value of a text column in COPY text format (the patch lists). */
static void copy_value(tly_strbuf_t *b, const tly_json_t *v)
{
    if (v == NULL || v->type == TLY_JSON_NULL) {
        tly_strbuf_append(b, "\\N", 2);
    } else if (v->type == TLY_JSON_STRING) {
        tly_stage_text(b, v->u.s, v->len);
    } else if (v->type == TLY_JSON_INTEGER) {
        tly_strbuf_append_int(b, v->u.i);
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
        copy_value(b,
                   tly_json_get_from(item, spec->cols[c].json_key, spec->cols[c].json_len, &hint));
    }
    tly_strbuf_append(b, "\n", 1);
}

/* Renders spec's rows of every document into b; returns the row count. */
static int64_t render(const spec_t *spec, const tly_stage_doc_t *docs, int n, tly_strbuf_t *b)
{
    int64_t rows = 0;
    for (int i = 0; i < n; i++) {
        const tly_json_t *items = docs[i].items;
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
     * what the database holds. A device already there under another id:
     * the id ingest cached is not its own (ingest/devids.h). */
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    bool stale_row =
        constraint != NULL && (strcmp(constraint, "device_software_pkey") == 0 ||
                               strcmp(constraint, "devices_tenant_id_agent_id_key") == 0);
    if (state != NULL && (strcmp(state, "TLY01") == 0 || stale_row))
        return TLY_STAGE_STALE;
    bool data = state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
    return data ? TLY_STAGE_DATA_ERROR : TLY_STAGE_FAILED;
}

bool tly_stage_copy_result(PGconn *conn, const char *target, bool binary, const tly_strbuf_t *rows,
                           PGresult **failed)
{
    *failed = NULL;
    char sql[1024];
    snprintf(sql, sizeof sql, "COPY %s FROM STDIN%s", target, binary ? " (FORMAT binary)" : "");
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        *failed = res;
        return false;
    }
    PQclear(res);
    bool sent = PQputCopyData(conn, rows->data, (int)rows->len) == 1;
    if (PQputCopyEnd(conn, sent ? NULL : "client could not send the rows") != 1)
        sent = false;
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && *failed == NULL)
            *failed = res;
        else
            PQclear(res);
    }
    return sent && *failed == NULL;
}

tly_stage_status_t tly_stage_copy(PGconn *conn, const char *target, bool binary,
                                  const tly_strbuf_t *rows, char *why, size_t why_len)
{
    if (rows->truncated) { /* too much for one COPY: a data error, so the fetch is isolated */
        snprintf(why, why_len, "%.*s: rows exceed the COPY buffer", (int)strcspn(target, " ("),
                 target);
        return TLY_STAGE_DATA_ERROR;
    }
    PGresult *failed = NULL;
    if (tly_stage_copy_result(conn, target, binary, rows, &failed))
        return TLY_STAGE_OK;
    tly_stage_status_t st = tly_stage_failed(failed, conn, target, why, why_len);
    PQclear(failed);
    return st;
}

/* COPYs rows (count of them; none: nothing to do) into spec's table with
 * the leading columns lead, then spec's own. */
static tly_stage_status_t copy_rows(PGconn *conn, const spec_t *spec, const char *lead, bool binary,
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
    return tly_stage_copy(conn, target, binary, rows, why, why_len);
}

tly_stage_status_t tly_stage_patches(PGconn *conn, const tly_stage_doc_t *docs, int n, char *why,
                                     size_t why_len)
{
    tly_strbuf_t rows;
    tly_strbuf_init(&rows, (size_t)1 << 30);
    int64_t count = render(&patch_spec, docs, n, &rows);
    tly_stage_status_t st = copy_rows(conn, &patch_spec, "idx", false, &rows, count, why, why_len);
    tly_strbuf_free(&rows);
    return st;
}

/* PostgreSQL's binary COPY format ("COPY", File Formats, Binary Format):
 * a signature, a flags word and a header extension length; per row a field
 * count, then each field's byte length (-1: NULL) and bytes; -1 as the
 * trailer. Integers are in network byte order. */
static const char copy_signature[11] = "PGCOPY\n\377\r\n";

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PG_EPOCH_US INT64_C(946684800000000)

/* The type OID (pg_type.dat) a text array's header names. */
#define TEXTOID 25

static void put_be(tly_strbuf_t *b, uint64_t v, int bytes)
{
    char out[8];
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        out[i] = (char)(v & 0xff);
    tly_strbuf_append(b, out, (size_t)bytes);
}

static void put_field(tly_strbuf_t *b, const void *data, size_t n)
{
    put_be(b, n, 4);
    tly_strbuf_append(b, data, n);
}

/* A field whose length is known at its end: field_open leaves room for the
 * length and says where; field_close writes it there (not into a truncated
 * buffer, which tly_stage_copy refuses anyway). */
static size_t field_open(tly_strbuf_t *b)
{
    size_t at = b->len;
    put_be(b, 0, 4);
    return at;
}

static void field_close(tly_strbuf_t *b, size_t at)
{
    if (b->truncated)
        return;
    uint32_t len = (uint32_t)(b->len - at - 4);
    for (int i = 0; i < 4; i++)
        b->data[at + (size_t)i] = (char)(len >> (24 - 8 * i));
}

void tly_bin_start(tly_strbuf_t *b)
{
    tly_strbuf_append(b, copy_signature, sizeof copy_signature);
    put_be(b, 0, 4); /* flags */
    put_be(b, 0, 4); /* header extension length */
}

void tly_bin_row(tly_strbuf_t *b, int fields)
{
    put_be(b, (uint64_t)fields, 2);
}

void tly_bin_end(tly_strbuf_t *b)
{
    put_be(b, UINT16_MAX, 2);
}

void tly_bin_null(tly_strbuf_t *b)
{
    put_be(b, UINT32_MAX, 4);
}

void tly_bin_text(tly_strbuf_t *b, const char *s, size_t n)
{
    if (s == NULL)
        tly_bin_null(b);
    else
        put_field(b, s, n);
}

void tly_bin_str(tly_strbuf_t *b, const char *s)
{
    tly_bin_text(b, s, s != NULL ? strlen(s) : 0);
}

void tly_bin_uuid(tly_strbuf_t *b, const char *uuid)
{
    /* The value of each lower-case hex digit; where each byte's two digits
     * start in the 36-character form. */
    static const unsigned char hex[256] = {
        ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,
        ['6'] = 6,  ['7'] = 7,  ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11,
        ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    };
    static const unsigned char at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    unsigned char out[4 + 16] = {0, 0, 0, 16}; /* the field's length, then the bytes */
    for (int k = 0; k < 16; k++)
        out[4 + k] = (unsigned char)(hex[(unsigned char)uuid[at[k]]] << 4 |
                                     hex[(unsigned char)uuid[at[k] + 1]]);
    tly_strbuf_append(b, (const char *)out, sizeof out);
}

void tly_bin_ids(char out[TLY_BIN_IDS], const char *tenant, const char *device)
{
    char data[TLY_BIN_IDS + 1]; /* a fixed strbuf keeps a NUL after its bytes */
    tly_strbuf_t ids;
    tly_strbuf_init_fixed(&ids, data, sizeof data);
    tly_bin_uuid(&ids, tenant);
    tly_bin_uuid(&ids, device);
    memcpy(out, data, TLY_BIN_IDS);
}

void tly_bin_int4(tly_strbuf_t *b, int32_t v)
{
    put_be(b, 4, 4);
    put_be(b, (uint64_t)(int64_t)v, 4);
}

void tly_bin_int8(tly_strbuf_t *b, int64_t v)
{
    put_be(b, 8, 4);
    put_be(b, (uint64_t)v, 8);
}

void tly_bin_ts(tly_strbuf_t *b, int64_t us)
{
    tly_bin_int8(b, us - PG_EPOCH_US);
}

/* The next run of ASCII digits in s[*i..n): the value of its first 9
 * digits; false when none is left. */
static bool next_run(const char *s, size_t n, size_t *i, int32_t *v)
{
    while (*i < n && (s[*i] < '0' || s[*i] > '9'))
        (*i)++;
    if (*i == n)
        return false;
    *v = 0;
    for (size_t digits = 0; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++, digits++)
        if (digits < 9) /* a run's first 9 digits count */
            *v = *v * 10 + (s[*i] - '0');
    return true;
}

void tly_bin_version_key(tly_strbuf_t *b, const char *s, size_t n)
{
    size_t at = field_open(b);
    int32_t v;
    for (size_t i = 0; next_run(s, n, &i, &v);)
        put_be(b, (uint64_t)v, 4);
    field_close(b, at);
}

/* The days from 2000-01-01 (PostgreSQL's epoch) of "YYYY-MM-DD", a
 * calendar day of the years 0001-9999 as the date-time parser checks it. */
static bool date_days(const char *s, int64_t *days)
{
    size_t n = strlen(s);
    if (n != 10 || !tly_parse_date(s, n, days))
        return false;
    *days -= PG_EPOCH_US / INT64_C(86400000000);
    return true;
}

bool tly_stage_is_date(const char *s)
{
    int64_t days;
    return date_days(s, &days);
}

bool tly_bin_date(tly_strbuf_t *b, const char *s)
{
    int64_t days = 0;
    if (s == NULL)
        tly_bin_null(b);
    else if (!date_days(s, &days))
        return false;
    else
        tly_bin_int4(b, (int32_t)days);
    return true;
}

/* A JSON number as an integer in [lo, hi] (a real only when integral, as
 * the schema's "integer" admits 4.0). */
static bool as_integer(const tly_json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v->type == TLY_JSON_INTEGER)
        *out = v->u.i;
    else if (v->type == TLY_JSON_REAL && v->u.d == nearbyint(v->u.d) && v->u.d >= -0x1p63 &&
             v->u.d < 0x1p63)
        *out = (int64_t)v->u.d;
    else
        return false;
    return *out >= lo && *out <= hi;
}

/* An inet in its binary form: family (PostgreSQL's own numbers: 2 for
 * IPv4, 3 for IPv6), prefix bits, is_cidr, address length, address. Takes
 * what the schema's "ip" admits: an address without a prefix length. */
static bool put_inet(tly_strbuf_t *b, const char *s, size_t n)
{
    char text[64];
    unsigned char out[4 + 16];
    if (n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    bool v6 = memchr(text, ':', n) != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, text, out + 4) != 1)
        return false;
    size_t len = v6 ? 16 : 4;
    out[0] = v6 ? 3 : 2;
    out[1] = (unsigned char)(len * 8);
    out[2] = 0;
    out[3] = (unsigned char)len;
    put_field(b, out, 4 + len);
    return true;
}

void tly_bin_array_start(tly_strbuf_t *b, uint32_t elem_oid, size_t n)
{
    put_be(b, n > 0, 4); /* dimensions: an empty array has none */
    put_be(b, 0, 4);     /* no NULL elements */
    put_be(b, elem_oid, 4);
    if (n > 0) {
        put_be(b, n, 4);
        put_be(b, 1, 4); /* lower bound */
    }
}

/* A one-dimensional text[] of the strings of array v (an empty one has no
 * dimension); false if an element is not a string. */
static bool put_text_array(tly_strbuf_t *b, const tly_json_t *v)
{
    if (v->type != TLY_JSON_ARRAY)
        return false;
    size_t at = field_open(b), n = v->len;
    tly_bin_array_start(b, TEXTOID, n);
    for (size_t i = 0; i < n; i++) {
        const tly_json_t *e = &v->u.items[i];
        if (e->type != TLY_JSON_STRING)
            return false;
        put_field(b, e->u.s, e->len);
    }
    field_close(b, at);
    return true;
}

bool tly_bin_json(tly_strbuf_t *b, tly_bin_kind_t kind, const tly_json_t *v, const char *text,
                  const char *table, const char *column, char *why, size_t why_len)
{
    const char *wrong = NULL;
    int64_t i = 0;
    if (v == NULL || v->type == TLY_JSON_NULL) {
        tly_bin_null(b);
    } else if (kind == TLY_BIN_TEXT) {
        if (v->type == TLY_JSON_STRING)
            put_field(b, v->u.s, v->len);
        else
            wrong = "not a string";
    } else if (kind == TLY_BIN_INT4) {
        if (as_integer(v, INT32_MIN, INT32_MAX, &i))
            tly_bin_int4(b, (int32_t)i);
        else
            wrong = "not an integer within integer's range";
    } else if (kind == TLY_BIN_INT8) {
        if (as_integer(v, INT64_MIN, INT64_MAX, &i))
            tly_bin_int8(b, i);
        else
            wrong = "not an integer within bigint's range";
    } else if (kind == TLY_BIN_FLOAT4) {
        double d = v->type == TLY_JSON_INTEGER ? (double)v->u.i : v->u.d;
        float f = (float)d;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        /* Out of real's range either way, as float4in says. */
        if ((v->type == TLY_JSON_INTEGER || v->type == TLY_JSON_REAL) && !isinf(f) &&
            !(f == 0 && d != 0)) {
            put_be(b, 4, 4);
            put_be(b, bits, 4);
        } else {
            wrong = "not a number within real's range";
        }
    } else if (kind == TLY_BIN_INET) {
        if (v->type != TLY_JSON_STRING || !put_inet(b, v->u.s, v->len))
            wrong = "not an IPv4 or IPv6 address";
    } else if (kind == TLY_BIN_TS) {
        if (v->type == TLY_JSON_STRING && tly_parse_rfc3339_us(v->u.s, v->len, &i))
            tly_bin_ts(b, i);
        else
            wrong = "not an RFC 3339 date-time of the years 0001-9999";
    } else if (kind == TLY_BIN_JSONB) {
        put_be(b, (uint64_t)v->src_len + 1, 4);
        tly_strbuf_append(b, "\1", 1); /* jsonb's binary form: version 1, then the text */
        tly_strbuf_append(b, text + v->src_off, v->src_len);
    } else if (kind == TLY_BIN_TEXT_ARRAY) {
        if (!put_text_array(b, v))
            wrong = "not an array of strings";
    }
    if (wrong != NULL)
        snprintf(why, why_len, "%s.%s: %s", table, column, wrong);
    return wrong == NULL;
}

/* Renders event table t's rows of every document: into rows (binary
 * format, from its header on) when ts lies in the window, else into out
 * (out_of_window_events, text format, the item's JSON as row_data). Counts
 * each. False, with why, for a ts that is not a date-time or a value its
 * column cannot hold. */
static bool render_events(size_t t, const tly_stage_event_doc_t *docs, int n,
                          tly_stage_window_t window, tly_strbuf_t *rows, int64_t *count,
                          tly_strbuf_t *out, int64_t *out_count, char *why, size_t why_len)
{
    const spec_t *spec = &event_specs[t];
    tly_bin_start(rows);
    for (int i = 0; i < n; i++) {
        const tly_json_t *items = docs[i].items[t];
        char ids[TLY_BIN_IDS]; /* every row of the document starts with them */
        tly_bin_ids(ids, docs[i].tenant_id, docs[i].device_id);
        for (size_t k = 0; k < tly_json_size(items); k++) {
            const tly_json_t *item = &items->u.items[k];
            uint32_t hint = 0; /* agents send members in the schema's order, as the columns are */
            const tly_json_t *ts =
                tly_json_get_from(item, spec->cols[0].json_key, spec->cols[0].json_len, &hint);
            int64_t at = 0;
            if (!tly_json_is(ts, TLY_JSON_STRING) || !tly_parse_rfc3339_us(ts->u.s, ts->len, &at)) {
                snprintf(why, why_len, "%s: an item's ts is not an RFC 3339 date-time",
                         spec->section);
                return false;
            }
            if (at >= window.from_us && at < window.to_us) {
                tly_bin_row(rows, 2 + (int)spec->ncols);
                tly_strbuf_append(rows, ids, TLY_BIN_IDS);
                tly_bin_ts(rows, at);
                for (size_t c = 1; c < spec->ncols; c++) {
                    const column_t *col = &spec->cols[c];
                    if (!tly_bin_json(rows, col->kind,
                                      tly_json_get_from(item, col->json_key, col->json_len, &hint),
                                      docs[i].text, spec->table, col->column, why, why_len))
                        return false;
                }
                (*count)++;
                continue;
            }
            tly_strbuf_printf(out, "%s\t%s\t%s\t", docs[i].tenant_id, docs[i].device_id,
                              spec->table);
            tly_stage_text(out, ts->u.s, ts->len);
            tly_strbuf_append(out, "\t", 1);
            tly_stage_text(out, docs[i].text + item->src_off, item->src_len);
            tly_strbuf_append(out, "\n", 1);
            (*out_count)++;
        }
    }
    tly_bin_end(rows);
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
        if (!render_events(t, docs, n, windows[t], &rows, &count, &out, &out_count, why, why_len))
            st = TLY_STAGE_DATA_ERROR;
        else
            st = copy_rows(conn, &event_specs[t], "tenant_id, device_id", true, &rows, count, why,
                           why_len);
        if (st == TLY_STAGE_OK)
            rows_written[t] += count;
        tly_strbuf_free(&rows);
    }
    if (st == TLY_STAGE_OK)
        st = copy_rows(conn, &out_spec, "tenant_id, device_id, kind, ts, row_data", false, &out,
                       out_count, why, why_len);
    if (st == TLY_STAGE_OK)
        *out_of_window += out_count;
    tly_strbuf_free(&out);
    return st;
}
