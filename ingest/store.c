#include "ingest/store.h"
#include "common/bus.h"
#include "common/db.h"
#include "common/json.h"
#include "common/log.h"
#include "ingest/catalog.h"
#include "ingest/devids.h"
#include "ingest/softset.h"
#include "ingest/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tly_store_tables[TLY_STORE_TABLES] = {
    "devices",          "ingested_batches", "inventory_reports", "process_events",
    "network_events",   "file_events",      "device_metrics",    "out_of_window_events",
    "software_catalog", "device_software",  "software_changes",  "device_patches",
};

/* What one message carries, decoded; strings borrow from doc or the msg. */
typedef struct {
    char tenant_id[37];
    char agent_id[37];
    char batch_id[37];
    char device_id[37]; /* from the cache or tally_ingest_device_rows() */
    int64_t received_us;
    const char *request_id;
    const char *agent_version;
    tly_json_doc_t *doc;
    const char *text; /* the message's text, which doc's spans index */
    /* The document's members that ingest reads (NULL when absent), found
     * in one pass: a fetch's documents are too many to stay in the CPU's
     * caches between lookups by name, each of which passes over them. */
    const tly_json_t *device, *sent_at, *software, *patches;
    const tly_json_t *events[TLY_STAGE_EVENT_TABLES]; /* tly_stage_event_section(t) */
    int body_bytes;
    int64_t *software_ids; /* per software item (tly_stage_doc_t), or NULL */
    int index;             /* position in the fetched list */
    char reason[300];      /* why it is poison, when it is */
} batch_t;

static void batch_free(batch_t *b)
{
    tly_json_free(b->doc);
    free(b->software_ids);
}

static const char *string_at(const tly_json_t *obj, const char *key)
{
    return tly_json_string(tly_json_get(obj, key));
}

static bool key_is(const tly_json_member_t *m, const char *key)
{
    size_t n = strlen(key);
    return m->key_len == n && memcmp(m->key, key, n) == 0;
}

/* Points b's members at those of root (an object), and answers its agent
 * and batch_id. */
static void find_members(batch_t *b, const tly_json_t *root, const tly_json_t **agent,
                         const tly_json_t **batch_id)
{
    for (uint32_t i = 0; i < root->len; i++) {
        const tly_json_member_t *m = &root->u.members[i];
        const tly_json_t *v = &m->value;
        if (key_is(m, "agent"))
            *agent = v;
        else if (key_is(m, "batch_id"))
            *batch_id = v;
        else if (key_is(m, "device"))
            b->device = v;
        else if (key_is(m, "sent_at"))
            b->sent_at = v;
        else if (key_is(m, "software"))
            b->software = v;
        else if (key_is(m, "patches"))
            b->patches = v;
        else
            for (size_t t = 0; t < TLY_STAGE_EVENT_TABLES; t++)
                if (key_is(m, tly_stage_event_section(t)))
                    b->events[t] = v;
    }
}

/* Decodes msg into *b (index already set), parsing within limits; false,
 * with b->reason set, when it never could be stored. b is freeable whatever
 * the outcome. */
static bool decode(const tly_config_t *cfg, const tly_json_limits_t *limits, natsMsg *msg,
                   batch_t *b)
{
    if (!tly_bus_subject_tenant(cfg, natsMsg_GetSubject(msg), b->tenant_id)) {
        snprintf(b->reason, sizeof b->reason, "undecodable: subject does not name a tenant");
        return false;
    }

    const char *received = NULL;
    if (natsMsgHeader_Get(msg, TLY_HDR_RECEIVED_AT, &received) == NATS_OK)
        b->received_us = strtoll(received, NULL, 10);
    if (b->received_us <= 0)
        b->received_us = tly_now_realtime_us();
    if (natsMsgHeader_Get(msg, TLY_HDR_REQUEST_ID, &b->request_id) != NATS_OK)
        b->request_id = NULL;

    b->body_bytes = natsMsg_GetDataLength(msg);
    const char *data = natsMsg_GetData(msg);
    tly_json_error_t jerr;
    b->doc = tly_json_parse(data, (size_t)b->body_bytes, 0, limits, &jerr);
    if (b->doc == NULL) {
        snprintf(b->reason, sizeof b->reason, "undecodable: not JSON within serve's bounds: %s",
                 jerr.text);
        return false;
    }
    const tly_json_t *root = tly_json_root(b->doc), *agent = NULL, *batch = NULL;
    if (tly_json_is(root, TLY_JSON_OBJECT))
        find_members(b, root, &agent, &batch);
    const char *batch_id = tly_json_string(batch);
    const char *agent_id = string_at(agent, "id");
    if (!tly_json_is(b->device, TLY_JSON_OBJECT) || batch_id == NULL || !tly_is_uuid(batch_id) ||
        agent_id == NULL || !tly_is_uuid(agent_id)) {
        snprintf(b->reason, sizeof b->reason, "undecodable: payload is not a batch document");
        return false;
    }
    tly_uuid_lower(batch_id, b->batch_id);
    tly_uuid_lower(agent_id, b->agent_id);
    b->agent_version = string_at(agent, "version");
    b->text = data;
    return true;
}

/* Records msg in dead_letters (inside the open transaction). */
static bool dead_letter(PGconn *conn, natsMsg *msg, const batch_t *b)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)tly_bus_stream_seq(msg));
    const char *params[] = {b->tenant_id[0] ? b->tenant_id : NULL,
                            natsMsg_GetSubject(msg),
                            seq,
                            b->reason,
                            b->request_id,
                            natsMsg_GetData(msg)};
    int lengths[] = {0, 0, 0, 0, 0, natsMsg_GetDataLength(msg)};
    int formats[] = {0, 0, 0, 0, 0, 1};
    PGresult *res = PQexecParams(conn, "SELECT tally_dead_letter($1, $2, $3, $4, $5, $6)", 6, NULL,
                                 params, lengths, formats, 0);
    bool ok = tly_db_result_ok(res, PGRES_TUPLES_OK, "dead letter insert");
    PQclear(res);
    if (ok)
        TLY_ERROR(&(tly_log_ctx_t){b->request_id, b->tenant_id, "ingest"},
                  "dead letter (stream seq %s): %s", seq, b->reason);
    return ok;
}

/* Orders decoded batches by key, so a batch repeated within the fetch
 * (a re-send racing its redelivery) follows its first copy. */
static int by_key(const void *a, const void *b)
{
    const batch_t *x = *(batch_t *const *)a, *y = *(batch_t *const *)b;
    int c = strcmp(x->tenant_id, y->tenant_id);
    if (c == 0)
        c = strcmp(x->agent_id, y->agent_id);
    if (c == 0)
        c = strcmp(x->batch_id, y->batch_id);
    return c != 0 ? c : x->index - y->index;
}

/* Whether two batches come from one device. */
static bool same_device(const batch_t *a, const batch_t *b)
{
    return strcmp(a->tenant_id, b->tenant_id) == 0 && strcmp(a->agent_id, b->agent_id) == 0;
}

/* The device object's members, in stage_devices' column order
 * (migrations/0017_ingest_lean_transaction.sql). */
static const struct {
    const char *key;
    size_t key_len;
    tly_bin_kind_t kind;
} device_cols[] = {
    {TLY_JSON_KEY("hostname"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("domain"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("os_name"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("os_version"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("os_build"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("arch"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("serial"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("manufacturer"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("model"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("cpu_model"), TLY_BIN_TEXT},
    {TLY_JSON_KEY("cpu_cores"), TLY_BIN_INT4},
    {TLY_JSON_KEY("memory_bytes"), TLY_BIN_INT8},
    {TLY_JSON_KEY("disks"), TLY_BIN_JSONB},
    {TLY_JSON_KEY("ip_addresses"), TLY_BIN_TEXT_ARRAY},
    {TLY_JSON_KEY("mac_addresses"), TLY_BIN_TEXT_ARRAY},
    {TLY_JSON_KEY("boot_time"), TLY_BIN_TS},
    {TLY_JSON_KEY("logged_in_users"), TLY_BIN_TEXT_ARRAY},
};

/* Runs a statement of the store; classifies its failure. */
static tly_stage_status_t run(PGconn *conn, const char *sql, PGresult **out, char *why,
                              size_t why_len)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out != NULL)
            *out = res;
        else
            PQclear(res);
        return TLY_STAGE_OK;
    }
    tly_stage_status_t r = tly_stage_failed(res, conn, sql, why, why_len);
    PQclear(res);
    return r;
}

/* Query parameters of n uuid[] arrays (n <= 3) of rows elements each, in
 * binary format: started here, their elements appended by the caller
 * (tly_bin_uuid), sent and freed by query_uuids. */
static void uuid_arrays(tly_strbuf_t *arrays, int n, size_t rows)
{
    for (int a = 0; a < n; a++) {
        tly_strbuf_init(&arrays[a], (size_t)1 << 30);
        tly_bin_array_start(&arrays[a], TLY_UUID_OID, rows);
    }
}

static tly_stage_status_t query_uuids(PGconn *conn, const char *sql, tly_strbuf_t *arrays, int n,
                                      PGresult **out, char *why, size_t why_len)
{
    const char *values[3];
    int lengths[3], formats[3];
    if (n > 3)
        abort();
    for (int a = 0; a < n; a++) {
        values[a] = arrays[a].data;
        lengths[a] = (int)arrays[a].len;
        formats[a] = 1;
    }
    PGresult *res = PQexecParams(conn, sql, n, NULL, values, lengths, formats, 0);
    for (int a = 0; a < n; a++)
        tly_strbuf_free(&arrays[a]);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        *out = res;
        return TLY_STAGE_OK;
    }
    tly_stage_status_t st = tly_stage_failed(res, conn, sql, why, why_len);
    PQclear(res);
    return st;
}

/* The index of table in tly_store_tables. */
static size_t table_index(const char *table)
{
    size_t t = 0;
    while (t < TLY_STORE_TABLES - 1 && strcmp(tly_store_tables[t], table) != 0)
        t++;
    return t;
}

/* A device with software lists among the fetch's batches, as
 * tally_ingest_device_rows() found its row (committed; revision 0 and never
 * reported for a device new to Tally). */
typedef struct {
    char device_id[37];
    int64_t rev;
    bool reported; /* a list was applied before; then reported_at_us is its time */
    int64_t reported_at_us;
} sw_device_t;

static int by_device(const void *a, const void *b)
{
    return strcmp(((const sw_device_t *)a)->device_id, ((const sw_device_t *)b)->device_id);
}

/* One device of the fetch: staged[start..end) are its batches. */
typedef struct {
    int start, end;
    bool lists; /* one of them carries a software list */
} device_group_t;

/* Each staged batch's device id (staged is sorted by key, so a device's
 * batches are adjacent): from the cache, or for the devices it lacks and
 * those with software lists, from tally_ingest_device_rows(), whose
 * software revisions go to *devs (sorted by device id; the caller frees).
 * Before the fetch's transaction: the revisions are checked again under
 * lock by tally_ingest_devices(). */
static tly_stage_status_t device_rows(tly_devids_t *ids, PGconn *conn, batch_t **staged, int n,
                                      sw_device_t **devs, size_t *ndevs, char *why, size_t why_len)
{
    device_group_t *ask = tly_xcalloc((size_t)n + 1, sizeof *ask);
    size_t m = 0, with_lists = 0;
    for (int g = 0, end; g < n; g = end) {
        device_group_t d = {g, g, false};
        for (end = g; end < n && same_device(staged[end], staged[g]); end++)
            d.lists |= tly_json_is(staged[end]->software, TLY_JSON_ARRAY);
        d.end = end;
        bool known =
            tly_devids_get(ids, staged[g]->tenant_id, staged[g]->agent_id, staged[g]->device_id);
        for (int k = g + 1; known && k < end; k++)
            memcpy(staged[k]->device_id, staged[g]->device_id, sizeof staged[k]->device_id);
        if (!known || d.lists)
            ask[m++] = d;
        with_lists += d.lists;
    }
    *devs = tly_xcalloc(with_lists + 1, sizeof **devs);
    *ndevs = 0;
    tly_stage_status_t st = TLY_STAGE_OK;
    PGresult *res = NULL;
    if (m > 0) {
        tly_strbuf_t keys[2];
        uuid_arrays(keys, 2, m);
        for (size_t i = 0; i < m; i++) {
            tly_bin_uuid(&keys[0], staged[ask[i].start]->tenant_id);
            tly_bin_uuid(&keys[1], staged[ask[i].start]->agent_id);
        }
        st = query_uuids(conn,
                         "SELECT i, device_id, software_rev, software_reported_us"
                         " FROM tally_ingest_device_rows($1, $2)",
                         keys, 2, &res, why, why_len);
    }
    for (int r = 0; st == TLY_STAGE_OK && r < PQntuples(res); r++) {
        long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
        const char *id = PQgetvalue(res, r, 1);
        if (i < 1 || (size_t)i > m || !tly_is_uuid(id)) {
            snprintf(why, why_len, "tally_ingest_device_rows answered what ingest does not ask");
            st = TLY_STAGE_FAILED;
            break;
        }
        const device_group_t *d = &ask[i - 1];
        tly_devids_put(ids, staged[d->start]->tenant_id, staged[d->start]->agent_id, id);
        for (int k = d->start; k < d->end; k++)
            memcpy(staged[k]->device_id, id, sizeof staged[k]->device_id);
        if (!d->lists)
            continue;
        sw_device_t *s = &(*devs)[(*ndevs)++];
        memcpy(s->device_id, id, sizeof s->device_id);
        s->rev = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        s->reported = !PQgetisnull(res, r, 3);
        s->reported_at_us = s->reported ? strtoll(PQgetvalue(res, r, 3), NULL, 10) : 0;
    }
    for (int k = 0; st == TLY_STAGE_OK && k < n; k++) {
        if (staged[k]->device_id[0] == '\0') {
            snprintf(why, why_len, "tally_ingest_device_rows did not answer for agent %s",
                     staged[k]->agent_id);
            st = TLY_STAGE_FAILED;
        }
    }
    PQclear(res);
    free(ask);
    qsort(*devs, *ndevs, sizeof **devs, by_device);
    return st;
}

/* Adds an answer's "rows" ({table: n}) to counts. */
static void add_rows(const tly_json_t *rows, tly_store_counts_t *counts)
{
    for (size_t t = 0; t < TLY_STORE_TABLES; t++) {
        const tly_json_t *v = tly_json_get(rows, tly_store_tables[t]);
        counts->rows[t] += tly_json_is(v, TLY_JSON_INTEGER) ? v->u.i : 0;
    }
}

/* Reads the answer of tally_ingest_devices(): rows per table. */
static bool read_devices(const char *answer, tly_store_counts_t *counts)
{
    tly_json_doc_t *j = tly_json_parse(answer, strlen(answer), 0, NULL, NULL);
    const tly_json_t *rows = tly_json_get(j ? tly_json_root(j) : NULL, "rows");
    bool ok = tly_json_is(rows, TLY_JSON_OBJECT);
    if (ok)
        add_rows(rows, counts);
    tly_json_free(j);
    return ok;
}

/* Starts the fetch's writes (tally_ingest_begin()): the staging tables, and
 * the event tables' windows (no partitions: every row is outside). */
static tly_stage_status_t begin(PGconn *conn, tly_stage_window_t windows[TLY_STAGE_EVENT_TABLES],
                                char *why, size_t why_len)
{
    PGresult *res = NULL;
    tly_stage_status_t st =
        run(conn, "SELECT event_table, lower_us, upper_us FROM tally_ingest_begin()", &res, why,
            why_len);
    for (size_t t = 0; t < TLY_STAGE_EVENT_TABLES; t++)
        windows[t] = (tly_stage_window_t){0, 0};
    for (int r = 0; st == TLY_STAGE_OK && r < PQntuples(res); r++) {
        for (size_t t = 0; t < TLY_STAGE_EVENT_TABLES; t++) {
            if (strcmp(PQgetvalue(res, r, 0), tly_stage_event_table(t)) == 0 &&
                !PQgetisnull(res, r, 1) && !PQgetisnull(res, r, 2))
                windows[t] = (tly_stage_window_t){strtoll(PQgetvalue(res, r, 1), NULL, 10),
                                                  strtoll(PQgetvalue(res, r, 2), NULL, 10)};
        }
    }
    PQclear(res);
    return st;
}

/* The ledger's common case, in a savepoint: every staged batch is new to
 * it, and a binary COPY of their keys (in staged's order, which is the
 * key's, as tally_ingest_ledger() inserts them) enters them at the cost of a
 * raw COPY. *all_new is false, the savepoint rolled back, when a key was
 * there already: a redelivery of a committed batch, or an agent's re-send
 * past serve's dedup window. */
static tly_stage_status_t ledger_copy(PGconn *conn, batch_t **staged, int n, bool *all_new,
                                      char *why, size_t why_len)
{
    *all_new = false;
    PGresult *res = NULL;
    tly_stage_status_t st = run(conn, "SAVEPOINT ledger", NULL, why, why_len);
    if (st != TLY_STAGE_OK)
        return st;
    tly_strbuf_t rows;
    tly_strbuf_init(&rows, (size_t)1 << 30);
    tly_bin_start(&rows);
    for (int k = 0; k < n; k++) {
        tly_bin_row(&rows, 3);
        tly_bin_uuid(&rows, staged[k]->tenant_id);
        tly_bin_uuid(&rows, staged[k]->agent_id);
        tly_bin_uuid(&rows, staged[k]->batch_id);
    }
    tly_bin_end(&rows);
    bool copied = tly_stage_copy_result(conn, "ingested_batches (tenant_id, agent_id, batch_id)",
                                        true, &rows, &res);
    tly_strbuf_free(&rows);
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (copied) {
        *all_new = true;
        st = run(conn, "RELEASE SAVEPOINT ledger", NULL, why, why_len);
    } else if (state != NULL && strcmp(state, "23505") == 0) { /* unique_violation */
        st = run(conn, "ROLLBACK TO SAVEPOINT ledger", NULL, why, why_len);
    } else {
        st = tly_stage_failed(res, conn, "ingested_batches", why, why_len);
    }
    PQclear(res);
    return st;
}

/* Enters the staged batches into the ledger (ledger_copy(), or when some
 * were there, tally_ingest_ledger()): stored[0..*stored_n) are those new to
 * it, in staged's order, the others duplicates. */
static tly_stage_status_t ledger(PGconn *conn, batch_t **staged, int n, tly_msg_outcome_t *outcomes,
                                 batch_t **stored, int *stored_n, char *why, size_t why_len)
{
    bool all_new = false;
    tly_stage_status_t st = ledger_copy(conn, staged, n, &all_new, why, why_len);
    if (st != TLY_STAGE_OK || all_new) {
        *stored_n = st == TLY_STAGE_OK ? n : 0;
        memcpy(stored, staged, (size_t)*stored_n * sizeof *stored);
        return st; /* outcomes stay TLY_MSG_STORED */
    }
    tly_strbuf_t keys[3];
    uuid_arrays(keys, 3, (size_t)n);
    for (int k = 0; k < n; k++) {
        tly_bin_uuid(&keys[0], staged[k]->tenant_id);
        tly_bin_uuid(&keys[1], staged[k]->agent_id);
        tly_bin_uuid(&keys[2], staged[k]->batch_id);
    }
    PGresult *res = NULL;
    st = query_uuids(conn, "SELECT i FROM tally_ingest_ledger($1, $2, $3) AS i ORDER BY i", keys, 3,
                     &res, why, why_len);
    *stored_n = 0;
    for (int k = 0; k < n; k++)
        outcomes[staged[k]->index] = TLY_MSG_DUPLICATE;
    for (int r = 0; st == TLY_STAGE_OK && r < PQntuples(res); r++) {
        long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (i < 1 || i > n || (*stored_n > 0 && stored[*stored_n - 1] == staged[i - 1])) {
            snprintf(why, why_len, "tally_ingest_ledger answered what ingest does not ask");
            st = TLY_STAGE_FAILED;
            break;
        }
        outcomes[staged[i - 1]->index] = TLY_MSG_STORED;
        stored[(*stored_n)++] = staged[i - 1];
    }
    PQclear(res);
    return st;
}

/* One inventory_reports row per stored batch, in COPY's binary format. */
static tly_stage_status_t store_reports(PGconn *conn, batch_t **stored, int n, char *why,
                                        size_t why_len)
{
    tly_strbuf_t rows;
    tly_strbuf_init(&rows, (size_t)1 << 30);
    tly_bin_start(&rows);
    bool ok = true;
    for (int k = 0; ok && k < n; k++) {
        const batch_t *b = stored[k];
        tly_bin_row(&rows, 10 + TLY_STAGE_EVENT_TABLES);
        tly_bin_uuid(&rows, b->tenant_id);
        tly_bin_ts(&rows, b->received_us);
        tly_bin_uuid(&rows, b->device_id);
        tly_bin_uuid(&rows, b->batch_id);
        ok = tly_bin_json(&rows, TLY_BIN_TS, b->sent_at, b->text, "batch", "sent_at", why, why_len);
        tly_bin_str(&rows, b->agent_version);
        tly_bin_str(&rows, b->request_id);
        tly_bin_int4(&rows, b->body_bytes);
        tly_bin_int4(&rows, (int32_t)tly_json_size(b->software));
        tly_bin_int4(&rows, (int32_t)tly_json_size(b->patches));
        for (size_t t = 0; t < TLY_STAGE_EVENT_TABLES; t++)
            tly_bin_int4(&rows, (int32_t)tly_json_size(b->events[t]));
    }
    tly_bin_end(&rows);
    tly_stage_status_t st =
        !ok ? TLY_STAGE_DATA_ERROR
            : tly_stage_copy(conn,
                             "inventory_reports (tenant_id, received_at, device_id, batch_id,"
                             " sent_at, agent_version, request_id, body_bytes, software_count,"
                             " patch_count, process_event_count, network_event_count,"
                             " file_event_count, metric_count)",
                             true, &rows, why, why_len);
    tly_strbuf_free(&rows);
    return st;
}

/* Orders batches by device, then receive time, then position in the
 * fetch: each device's lists in the order they apply, its newest last. */
static int by_device_time(const void *a, const void *b)
{
    const batch_t *x = *(batch_t *const *)a, *y = *(batch_t *const *)b;
    int c = strcmp(x->device_id, y->device_id);
    if (c != 0)
        return c;
    if (x->received_us != y->received_us)
        return x->received_us < y->received_us ? -1 : 1;
    return x->index - y->index;
}

/* Writes b's device facts as a stage_devices row; false, with why, for a
 * value its column cannot hold. */
static bool device_row(tly_strbuf_t *rows, const batch_t *b, char *why, size_t why_len)
{
    tly_bin_row(rows, 5 + (int)TLY_ARRAY_LEN(device_cols));
    tly_bin_uuid(rows, b->device_id);
    tly_bin_uuid(rows, b->tenant_id);
    tly_bin_uuid(rows, b->agent_id);
    tly_bin_str(rows, b->agent_version);
    bool ok = true;
    uint32_t hint = 0; /* agents send members in the schema's order, as the columns are */
    for (size_t c = 0; ok && c < TLY_ARRAY_LEN(device_cols); c++)
        ok = tly_bin_json(
            rows, device_cols[c].kind,
            tly_json_get_from(b->device, device_cols[c].key, device_cols[c].key_len, &hint),
            b->text, "device", device_cols[c].key, why, why_len);
    tly_bin_ts(rows, b->received_us);
    return ok;
}

/* Stages what tally_ingest_devices() applies of the stored batches: one
 * stage_devices row per device, the facts of its newest batch (every
 * batch's facts are checked against their columns all the same), and the
 * patch lists, each with its round (a device's lists numbered from 1 in
 * the order they apply) and its items. */
static tly_stage_status_t stage_devices(PGconn *conn, batch_t **stored, int n, char *why,
                                        size_t why_len)
{
    batch_t **by = tly_xcalloc((size_t)n + 1, sizeof *by);
    memcpy(by, stored, (size_t)n * sizeof *by);
    qsort(by, (size_t)n, sizeof *by, by_device_time);
    tly_strbuf_t rows, older, lists;
    tly_strbuf_init(&rows, (size_t)1 << 30);
    tly_strbuf_init(&older, (size_t)1 << 30);
    tly_strbuf_init(&lists, (size_t)1 << 30);
    tly_bin_start(&rows);
    tly_bin_start(&lists);
    tly_stage_doc_t *patched = tly_xcalloc((size_t)n + 1, sizeof *patched);
    int npatched = 0;
    bool ok = true;
    for (int g = 0, end; ok && g < n; g = end) {
        int round = 0;
        for (end = g; ok && end < n && strcmp(by[end]->device_id, by[g]->device_id) == 0; end++) {
            const batch_t *b = by[end];
            bool newest = end + 1 == n || strcmp(by[end + 1]->device_id, b->device_id) != 0;
            older.len = 0; /* an older batch's row is only checked */
            ok = device_row(newest ? &rows : &older, b, why, why_len);
            if (!tly_json_is(b->patches, TLY_JSON_ARRAY))
                continue;
            tly_bin_row(&lists, 5);
            tly_bin_int4(&lists, b->index);
            tly_bin_uuid(&lists, b->tenant_id);
            tly_bin_uuid(&lists, b->device_id);
            tly_bin_ts(&lists, b->received_us);
            tly_bin_int4(&lists, ++round);
            patched[npatched++] = (tly_stage_doc_t){b->index, b->patches};
        }
    }
    tly_bin_end(&rows);
    tly_bin_end(&lists);
    tly_stage_status_t st = ok ? TLY_STAGE_OK : TLY_STAGE_DATA_ERROR;
    if (st == TLY_STAGE_OK)
        st = tly_stage_copy(conn,
                            "stage_devices (id, tenant_id, agent_id, agent_version, hostname,"
                            " domain, os_name, os_version, os_build, arch, serial, manufacturer,"
                            " model, cpu_model, cpu_cores, memory_bytes, disks, ip_addresses,"
                            " mac_addresses, boot_time, logged_in_users, seen)",
                            true, &rows, why, why_len);
    if (st == TLY_STAGE_OK && npatched > 0)
        st = tly_stage_copy(conn, "stage_patch_lists (idx, tenant_id, device_id, at, round)", true,
                            &lists, why, why_len);
    if (st == TLY_STAGE_OK && npatched > 0)
        st = tly_stage_patches(conn, patched, npatched, why, why_len);
    free(patched);
    free(by);
    tly_strbuf_free(&rows);
    tly_strbuf_free(&older);
    tly_strbuf_free(&lists);
    return st;
}

/* COPYs the events and metrics of the batches apply stored. */
static tly_stage_status_t store_events(PGconn *conn, batch_t **stored, int n,
                                       const tly_stage_window_t windows[TLY_STAGE_EVENT_TABLES],
                                       tly_store_counts_t *counts, char *why, size_t why_len)
{
    tly_stage_event_doc_t *docs = tly_xcalloc((size_t)n + 1, sizeof *docs);
    for (int k = 0; k < n; k++) {
        docs[k] = (tly_stage_event_doc_t){.tenant_id = stored[k]->tenant_id,
                                          .device_id = stored[k]->device_id,
                                          .text = stored[k]->text};
        memcpy(docs[k].items, stored[k]->events, sizeof docs[k].items);
    }
    int64_t rows[TLY_STAGE_EVENT_TABLES] = {0}, outside = 0;
    tly_stage_status_t st = tly_stage_events(conn, docs, n, windows, rows, &outside, why, why_len);
    for (size_t t = 0; st == TLY_STAGE_OK && t < TLY_STAGE_EVENT_TABLES; t++)
        counts->rows[table_index(tly_stage_event_table(t))] += rows[t];
    if (st == TLY_STAGE_OK)
        counts->rows[table_index("out_of_window_events")] += outside;
    free(docs);
    return st;
}

static char *dup_span(const char *s, size_t n)
{
    char *d = tly_xcalloc(1, n + 1);
    memcpy(d, s, n);
    return d;
}

/* A software item's catalog key. */
static void software_key(const tly_json_t *item, const char **name, size_t *name_len,
                         const char **publisher, size_t *publisher_len)
{
    uint32_t hint = 0; /* agents send members in the schema's order */
    tly_stage_name(tly_json_get_from(item, TLY_JSON_KEY("name"), &hint), name, name_len);
    tly_stage_name(tly_json_get_from(item, TLY_JSON_KEY("publisher"), &hint), publisher,
                   publisher_len);
}

/* The catalog ids of the software items of batches[0..n) (one tenant):
 * from the cache, the missing ones through tally_catalog_ids(). */
static tly_stage_status_t tenant_software_ids(tly_catalog_t *cat, PGconn *conn, batch_t **batches,
                                              int n, int64_t *created, char *why, size_t why_len)
{
    const char *tenant = batches[0]->tenant_id;
    size_t cap = 0;
    for (int k = 0; k < n; k++)
        cap += tly_json_size(batches[k]->software);
    if (cap == 0)
        return TLY_STAGE_OK;
    tly_catalog_t *asked = tly_catalog_new(cap); /* the misses, each once */
    char **names = tly_xcalloc(cap, sizeof *names), **publishers = tly_xcalloc(cap, sizeof *names);
    size_t missing = 0;
    const char *name, *publisher;
    size_t nl, pl;
    for (int k = 0; k < n; k++) {
        const tly_json_t *items = batches[k]->software;
        if (!tly_json_is(items, TLY_JSON_ARRAY))
            continue;
        batches[k]->software_ids = tly_xcalloc(items->len + 1, sizeof(int64_t));
        for (size_t i = 0; i < items->len; i++) {
            software_key(&items->u.items[i], &name, &nl, &publisher, &pl);
            int64_t id = tly_catalog_get(cat, tenant, name, nl, publisher, pl);
            batches[k]->software_ids[i] = id;
            if (id != 0 || tly_catalog_get(asked, tenant, name, nl, publisher, pl) != 0)
                continue;
            tly_catalog_put(asked, tenant, name, nl, publisher, pl, 1);
            names[missing] = dup_span(name, nl);
            publishers[missing++] = dup_span(publisher, pl);
        }
    }
    tly_stage_status_t st = TLY_STAGE_OK;
    if (missing > 0)
        st = tly_catalog_resolve(cat, conn, tenant, (const char *const *)names,
                                 (const char *const *)publishers, missing, created, why, why_len);
    /* Every id is cached now (tly_catalog_resolve keeps all it was given). */
    for (int k = 0; st == TLY_STAGE_OK && k < n; k++) {
        const tly_json_t *items = batches[k]->software;
        for (size_t i = 0; i < tly_json_size(items); i++) {
            int64_t *id = &batches[k]->software_ids[i];
            if (*id != 0)
                continue;
            software_key(&items->u.items[i], &name, &nl, &publisher, &pl);
            *id = tly_catalog_get(cat, tenant, name, nl, publisher, pl);
            if (*id == 0) {
                snprintf(why, why_len, "no catalog id for \"%.*s\" after tally_catalog_ids",
                         (int)(nl < 100 ? nl : 100), name);
                st = TLY_STAGE_FAILED;
            }
        }
    }
    for (size_t i = 0; i < missing; i++) {
        free(names[i]);
        free(publishers[i]);
    }
    free(names);
    free(publishers);
    tly_catalog_free(asked);
    return st;
}

/* The catalog ids of every staged batch's software list (staged is sorted
 * by tenant), before the fetch's transaction. */
static tly_stage_status_t software_ids(tly_catalog_t *cat, PGconn *conn, batch_t **staged, int n,
                                       int64_t *created, char *why, size_t why_len)
{
    tly_stage_status_t st = TLY_STAGE_OK;
    for (int g = 0, end; st == TLY_STAGE_OK && g < n; g = end) {
        for (end = g; end < n && strcmp(staged[end]->tenant_id, staged[g]->tenant_id) == 0; end++)
            ;
        st = tenant_software_ids(cat, conn, &staged[g], end - g, created, why, why_len);
    }
    return st;
}

/* A cached set to keep once the transaction commits. */
typedef struct {
    char device_id[37];
    int64_t rev;
    tly_swset_t *set; /* a reference */
} sw_pending_t;

typedef struct {
    sw_pending_t *items;
    size_t n;
} sw_pendings_t;

static void pendings_free(sw_pendings_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        tly_swset_unref(p->items[i].set);
    free(p->items);
    *p = (sw_pendings_t){0};
}

/* The software list of b as a set: its items with their catalog ids (a
 * repeat of a program and version is left out by tly_swset_new). */
static tly_swset_t *list_set(const batch_t *b)
{
    const tly_json_t *items = b->software;
    tly_sw_item_t *l = tly_xcalloc(tly_json_size(items) + 1, sizeof *l);
    size_t n = 0;
    for (size_t i = 0; i < tly_json_size(items); i++) {
        const tly_json_t *it = &items->u.items[i];
        uint32_t hint = 1; /* name, version, publisher, ...: the schema's order */
        const char *version =
            tly_json_string(tly_json_get_from(it, TLY_JSON_KEY("version"), &hint));
        const char *date =
            tly_json_string(tly_json_get_from(it, TLY_JSON_KEY("install_date"), &hint));
        const char *location =
            tly_json_string(tly_json_get_from(it, TLY_JSON_KEY("install_location"), &hint));
        const char *source = tly_json_string(tly_json_get_from(it, TLY_JSON_KEY("source"), &hint));
        l[n++] = (tly_sw_item_t){b->software_ids[i], version != NULL ? version : "", date, location,
                                 source};
    }
    tly_swset_t *s = tly_swset_new(l, n);
    free(l);
    return s;
}

/* Reads the sets of devs[i] for which want[i] from device_software into
 * sets[i], and caches them at the revision the device row holds. */
static tly_stage_status_t load_sets(PGconn *conn, tly_swcache_t *cache, const sw_device_t *devs,
                                    size_t n, const bool *want, tly_swset_t **sets, char *why,
                                    size_t why_len)
{
    tly_strbuf_t ids;
    tly_strbuf_init(&ids, (size_t)1 << 30);
    tly_strbuf_puts(&ids, "{");
    for (size_t i = 0; i < n; i++)
        if (want[i])
            tly_strbuf_printf(&ids, "%s%s", ids.len > 1 ? "," : "", devs[i].device_id);
    tly_strbuf_puts(&ids, "}");
    const char *params[] = {ids.data};
    PGresult *res = PQexecParams(conn, "SELECT * FROM tally_ingest_software_sets($1)", 1, NULL,
                                 params, NULL, NULL, 0);
    tly_strbuf_free(&ids);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        tly_stage_status_t st = tly_stage_failed(res, conn, "software sets", why, why_len);
        PQclear(res);
        return st;
    }
    /* Rows come ordered by device id, as devs is. */
    int rows = PQntuples(res), r = 0;
    tly_sw_item_t *items = tly_xcalloc((size_t)rows + 1, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        if (!want[i])
            continue;
        size_t k = 0;
        for (; r < rows && strcmp(PQgetvalue(res, r, 0), devs[i].device_id) == 0; r++, k++) {
            const char *v[6];
            for (int c = 0; c < 6; c++)
                v[c] = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
            items[k] = (tly_sw_item_t){strtoll(v[1], NULL, 10), v[2], v[3], v[4], v[5]};
        }
        sets[i] = tly_swset_new(items, k);
        tly_swcache_put(cache, devs[i].device_id, devs[i].rev, sets[i]);
    }
    free(items);
    PQclear(res);
    return TLY_STAGE_OK;
}

typedef struct {
    const char *tenant;
    int64_t id;
} tenant_id_t;

/* By id, then tenant: ids are unique across tenants, so the tenants'
 * texts are compared only for the repeats of an id. */
static int by_tenant_id(const void *a, const void *b)
{
    const tenant_id_t *x = a, *y = b;
    return x->id != y->id ? (x->id > y->id) - (x->id < y->id) : strcmp(x->tenant, y->tenant);
}

/* SELECT tally_ingest_software(tenants, ids): the staged rows applied, and
 * every catalog id of the fetch's lists, pairs[0..m) (sorted here), checked
 * against its tenant's catalog. */
static tly_stage_status_t apply_software(PGconn *conn, tenant_id_t *pairs, size_t m, char *why,
                                         size_t why_len)
{
    qsort(pairs, m, sizeof *pairs, by_tenant_id);
    tly_strbuf_t tenants, ids;
    tly_strbuf_init(&tenants, (size_t)1 << 30);
    tly_strbuf_init(&ids, (size_t)1 << 30);
    tly_strbuf_puts(&tenants, "{");
    tly_strbuf_puts(&ids, "{");
    for (size_t i = 0; i < m; i++) {
        if (i > 0 && by_tenant_id(&pairs[i - 1], &pairs[i]) == 0)
            continue;
        tly_strbuf_printf(&tenants, "%s%s", tenants.len > 1 ? "," : "", pairs[i].tenant);
        tly_strbuf_printf(&ids, "%s%lld", ids.len > 1 ? "," : "", (long long)pairs[i].id);
    }
    tly_strbuf_puts(&tenants, "}");
    tly_strbuf_puts(&ids, "}");
    const char *params[] = {tenants.data, ids.data};
    PGresult *res =
        PQexecParams(conn, "SELECT tally_ingest_software($1, $2)", 2, NULL, params, NULL, NULL, 0);
    tly_stage_status_t st = TLY_STAGE_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        st = tly_stage_failed(res, conn, "tally_ingest_software", why, why_len);
    PQclear(res);
    tly_strbuf_free(&tenants);
    tly_strbuf_free(&ids);
    return st;
}

/* Compares the software lists of the stored batches with their devices'
 * sets (devs: from device_rows()) and writes what differs (the
 * revisions are advanced by tally_ingest_devices(), which checks them); the
 * sets to cache after COMMIT go to pending. */
static tly_stage_status_t store_software(PGconn *conn, tly_swcache_t *cache, batch_t **stored,
                                         int n, const sw_device_t *devs, size_t ndevs,
                                         sw_pendings_t *pending, tly_store_counts_t *counts,
                                         char *why, size_t why_len)
{
    if (ndevs == 0)
        return TLY_STAGE_OK;
    batch_t **lists = tly_xcalloc((size_t)n + 1, sizeof *lists);
    int nlists = 0;
    size_t items = 0;
    for (int k = 0; k < n; k++) {
        const tly_json_t *list = stored[k]->software;
        if (tly_json_is(list, TLY_JSON_ARRAY)) {
            lists[nlists++] = stored[k]; /* software_ids is NULL for an empty list */
            items += list->len;
        }
    }
    qsort(lists, (size_t)nlists, sizeof *lists, by_device_time);

    /* Each device's set: cached at the row's revision, or read. */
    tly_swset_t **bases = tly_xcalloc(ndevs, sizeof *bases);
    bool *want = tly_xcalloc(ndevs, sizeof *want);
    size_t missing = 0;
    for (size_t i = 0; i < ndevs; i++) {
        if (!devs[i].reported)
            continue; /* no set yet */
        bases[i] = tly_swcache_get(cache, devs[i].device_id, devs[i].rev);
        want[i] = bases[i] == NULL;
        missing += want[i];
    }
    tly_stage_status_t st = TLY_STAGE_OK;
    if (missing > 0)
        st = load_sets(conn, cache, devs, ndevs, want, bases, why, why_len);

    tly_sw_out_t out = {0};
    tly_strbuf_init(&out.came, (size_t)1 << 30);
    tly_bin_start(&out.came);
    tly_strbuf_init(&out.ops, (size_t)1 << 30);
    tly_strbuf_init(&out.changes, (size_t)1 << 30);
    tly_bin_start(&out.changes);
    tly_strbuf_t applied;
    tly_strbuf_init(&applied, (size_t)1 << 30);
    pending->items = tly_xcalloc(ndevs, sizeof *pending->items);
    tly_sw_list_t *sets = tly_xcalloc((size_t)nlists + 1, sizeof *sets);
    tenant_id_t *ids = tly_xcalloc(items + 1, sizeof *ids); /* every catalog id of the lists */
    size_t nids = 0;
    for (int g = 0, end; st == TLY_STAGE_OK && g < nlists; g = end) {
        for (end = g; end < nlists && strcmp(lists[end]->device_id, lists[g]->device_id) == 0;
             end++) {
            tly_swset_t *set = list_set(lists[end]);
            for (size_t i = 0; i < set->n; i++) {
                const char *date = set->items[i].install_date;
                if (date != NULL && !tly_stage_is_date(date)) {
                    snprintf(why, why_len, "software.install_date: not a date (YYYY-MM-DD): %.40s",
                             date);
                    st = TLY_STAGE_DATA_ERROR;
                }
                ids[nids++] = (tenant_id_t){lists[end]->tenant_id, set->items[i].software_id};
            }
            sets[end - g] = (tly_sw_list_t){set, lists[end]->received_us};
        }
        sw_device_t key = {0};
        memcpy(key.device_id, lists[g]->device_id, sizeof key.device_id);
        const sw_device_t *d = bsearch(&key, devs, ndevs, sizeof *devs, by_device);
        if (d == NULL && st == TLY_STAGE_OK) {
            snprintf(why, why_len, "tally_ingest_device_rows did not answer for device %s",
                     key.device_id);
            st = TLY_STAGE_FAILED;
        }
        /* Compared only when every list of the device can be written (its
         * dates checked above): the fetch is refused otherwise. */
        bool reported = d != NULL && d->reported;
        int64_t at = d != NULL ? d->reported_at_us : 0;
        size_t last = st != TLY_STAGE_OK
                          ? 0
                          : tly_sw_compare(lists[g]->tenant_id, d->device_id, bases[d - devs],
                                           &reported, &at, sets, (size_t)(end - g), &out);
        if (last > 0) {
            char text[32];
            tly_format_rfc3339_us(at, text);
            tly_strbuf_printf(&applied, "%s\t%s\t%lld\t%s\n", lists[g]->tenant_id, d->device_id,
                              (long long)d->rev, text);
            sw_pending_t *p = &pending->items[pending->n++];
            memcpy(p->device_id, d->device_id, sizeof p->device_id);
            p->rev = d->rev + 1;
            p->set = tly_swset_ref(sets[last - 1].set);
        }
        for (int k = 0; k < end - g; k++)
            tly_swset_unref(sets[k].set);
    }
    if (st == TLY_STAGE_OK && out.ops_n > 0)
        st = tly_stage_copy(conn,
                            "stage_software_ops (device_id, software_id, version, moved,"
                            " install_date, install_location, source)",
                            false, &out.ops, why, why_len);
    if (st == TLY_STAGE_OK && pending->n > 0)
        st = tly_stage_copy(conn, "stage_software_devices (tenant_id, device_id, rev, reported_at)",
                            false, &applied, why, why_len);
    if (st == TLY_STAGE_OK && pending->n > 0)
        st = apply_software(conn, ids, nids, why, why_len);
    tly_bin_end(&out.came);
    tly_bin_end(&out.changes);
    if (st == TLY_STAGE_OK && out.came_n > 0)
        st = tly_stage_copy(conn,
                            "device_software (tenant_id, device_id, software_id, version,"
                            " version_key, install_date, install_location, source, first_seen)",
                            true, &out.came, why, why_len);
    if (st == TLY_STAGE_OK && out.changes_n > 0)
        st = tly_stage_copy(conn,
                            "software_changes (tenant_id, device_id, ts, software_id, change,"
                            " old_version, new_version)",
                            true, &out.changes, why, why_len);
    if (st == TLY_STAGE_OK) {
        for (size_t i = 0; i < ndevs; i++) {
            counts->sets_cached += devs[i].reported && !want[i];
            counts->sets_read += want[i];
        }
        counts->rows[table_index("device_software")] += out.came_n;
        counts->rows[table_index("software_changes")] += out.changes_n;
    }
    for (size_t i = 0; i < ndevs; i++)
        tly_swset_unref(bases[i]);
    free(bases);
    free(want);
    free(sets);
    free(ids);
    free(lists);
    tly_strbuf_free(&out.came);
    tly_strbuf_free(&out.ops);
    tly_strbuf_free(&out.changes);
    tly_strbuf_free(&applied);
    return st;
}

/* Writes the good batches inside the open transaction: the ledger, then
 * the new ones' software rows, events and report rows, then their devices
 * (locked from there to COMMIT). devs: from device_rows(). */
static tly_stage_status_t apply(PGconn *conn, tly_swcache_t *cache, batch_t **staged, int n,
                                const sw_device_t *devs, size_t ndevs, tly_msg_outcome_t *outcomes,
                                sw_pendings_t *pending, tly_store_counts_t *counts, char *why,
                                size_t why_len)
{
    batch_t **stored = tly_xcalloc((size_t)n, sizeof *stored);
    int stored_n = 0;
    tly_stage_window_t windows[TLY_STAGE_EVENT_TABLES];
    tly_stage_status_t st = begin(conn, windows, why, why_len);
    if (st == TLY_STAGE_OK)
        st = ledger(conn, staged, n, outcomes, stored, &stored_n, why, why_len);
    if (st == TLY_STAGE_OK && stored_n == 0) { /* all duplicates: nothing more to write */
        free(stored);
        return st;
    }
    if (st == TLY_STAGE_OK)
        st = store_software(conn, cache, stored, stored_n, devs, ndevs, pending, counts, why,
                            why_len);
    if (st == TLY_STAGE_OK)
        st = store_events(conn, stored, stored_n, windows, counts, why, why_len);
    if (st == TLY_STAGE_OK)
        st = store_reports(conn, stored, stored_n, why, why_len);
    if (st == TLY_STAGE_OK)
        st = stage_devices(conn, stored, stored_n, why, why_len);
    PGresult *res = NULL;
    if (st == TLY_STAGE_OK)
        st = run(conn, "SELECT tally_ingest_devices()", &res, why, why_len);
    if (st == TLY_STAGE_OK && !read_devices(PQgetvalue(res, 0, 0), counts)) {
        snprintf(why, why_len, "tally_ingest_devices answered what ingest does not understand");
        st = TLY_STAGE_FAILED;
    }
    if (st == TLY_STAGE_OK) {
        counts->batches += stored_n;
        counts->rows[table_index("ingested_batches")] += stored_n;
        counts->rows[table_index("inventory_reports")] += stored_n;
    }
    PQclear(res);
    free(stored);
    return st;
}

static void add_counts(tly_store_counts_t *to, const tly_store_counts_t *from)
{
    to->batches += from->batches;
    to->dead_letters += from->dead_letters;
    to->sets_cached += from->sets_cached;
    to->sets_read += from->sets_read;
    to->deferred += from->deferred;
    for (size_t t = 0; t < TLY_STORE_TABLES; t++)
        to->rows[t] += from->rows[t];
}

/* One transaction of a fetch: staged[0..n) (sorted by key, whole devices),
 * and the poison messages among msgs[0..nmsgs) (outcomes[i] POISON) as
 * dead letters. New catalog names are committed on their own, first. Once
 * committed, marks what it stored or dead-lettered in committed[] and adds
 * what it wrote to counts (a dead letter an earlier try of the fetch
 * committed is not counted again); any failure leaves nothing of the
 * transaction behind. */
static tly_stage_status_t store_part(PGconn *conn, const tly_store_ctx_t *ctx, batch_t **staged,
                                     int n, natsMsg **msgs, const batch_t *batches, int nmsgs,
                                     tly_msg_outcome_t *outcomes, bool *committed,
                                     tly_store_counts_t *counts, char *why, size_t why_len)
{
    tly_store_counts_t now = {0};
    sw_pendings_t pending = {0};
    sw_device_t *devs = NULL;
    size_t ndevs = 0;
    int64_t created = 0;
    tly_stage_status_t st = software_ids(ctx->catalog, conn, staged, n, &created, why, why_len);
    counts->rows[table_index("software_catalog")] += created;
    if (st == TLY_STAGE_OK)
        st = device_rows(ctx->devices, conn, staged, n, &devs, &ndevs, why, why_len);
    if (st == TLY_STAGE_OK && !tly_db_exec(conn, "BEGIN"))
        st = TLY_STAGE_FAILED;
    else if (st == TLY_STAGE_OK) {
        for (int i = 0; st == TLY_STAGE_OK && i < nmsgs; i++) {
            if (outcomes[i] != TLY_MSG_POISON)
                continue;
            if (!dead_letter(conn, msgs[i], &batches[i]))
                st = TLY_STAGE_FAILED;
            now.dead_letters += !committed[i];
        }
        if (st == TLY_STAGE_OK && n > 0)
            st = apply(conn, ctx->sets, staged, n, devs, ndevs, outcomes, &pending, &now, why,
                       why_len);
        if (st == TLY_STAGE_OK && !tly_db_exec(conn, "COMMIT"))
            st = TLY_STAGE_FAILED;
        if (st != TLY_STAGE_OK)
            tly_db_rollback(conn);
    }
    if (st == TLY_STAGE_OK) {
        for (int k = 0; k < n; k++)
            committed[staged[k]->index] |= outcomes[staged[k]->index] == TLY_MSG_STORED;
        for (int i = 0; i < nmsgs; i++)
            committed[i] |= outcomes[i] == TLY_MSG_POISON;
        for (size_t i = 0; i < pending.n; i++)
            tly_swcache_put(ctx->sets, pending.items[i].device_id, pending.items[i].rev,
                            pending.items[i].set);
        add_counts(counts, &now);
    }
    pendings_free(&pending);
    free(devs);
    return st;
}

/* tly_store_batch once; *stale when a cache was stale (it is cleared then,
 * and RETRY returned). */
static tly_store_status_t store_once(const tly_config_t *cfg, PGconn *conn,
                                     const tly_store_ctx_t *ctx, natsMsg **msgs, int n,
                                     tly_msg_outcome_t *outcomes, bool *committed,
                                     tly_store_counts_t *counts, bool *stale)
{
    batch_t *batches = tly_xcalloc((size_t)n, sizeof *batches);
    batch_t **staged = tly_xcalloc((size_t)n, sizeof *staged);
    int good = 0;
    tly_store_status_t result = TLY_STORE_RETRY;
    for (int i = 0; i < n; i++) {
        batches[i].index = i;
        outcomes[i] = TLY_MSG_STORED; /* the caller's array may hold an earlier fetch's */
        if (decode(cfg, &ctx->limits, msgs[i], &batches[i])) {
            staged[good++] = &batches[i];
            continue;
        }
        outcomes[i] = TLY_MSG_POISON;
    }
    qsort(staged, (size_t)good, sizeof *staged, by_key);
    int unique = 0;
    for (int k = 0; k < good; k++) {
        const batch_t *prev = unique > 0 ? staged[unique - 1] : NULL;
        if (prev != NULL && same_device(prev, staged[k]) &&
            strcmp(prev->batch_id, staged[k]->batch_id) == 0)
            outcomes[staged[k]->index] = TLY_MSG_DUPLICATE;
        else
            staged[unique++] = staged[k];
    }

    /* The devices of the fetch's software lists, claimed from here to the
     * fetch's end (ingest/claims.h). A device an earlier claim holds goes,
     * with all its batches, into a second transaction, stored once that
     * claim is released: the rest need not wait for it. */
    tly_claim_key_t *keys = tly_xcalloc((size_t)unique + 1, sizeof *keys);
    size_t nkeys = 0;
    for (int k = 0; k < unique; k++) {
        if (!tly_json_is(staged[k]->software, TLY_JSON_ARRAY))
            continue;
        tly_claim_key_t *key = &keys[nkeys++];
        memcpy(key->tenant, staged[k]->tenant_id, sizeof key->tenant);
        memcpy(key->agent, staged[k]->agent_id, sizeof key->agent);
    }
    bool *held = tly_xcalloc(nkeys + 1, sizeof *held);
    uint64_t ticket = tly_claims_take(ctx->claims, keys, nkeys, held);
    batch_t **later = tly_xcalloc((size_t)unique + 1, sizeof *later);
    int nnow = 0, nlater = 0;
    for (int g = 0, end, k = 0; g < unique; g = end) {
        bool wait = false;
        for (end = g; end < unique && same_device(staged[end], staged[g]); end++)
            if (tly_json_is(staged[end]->software, TLY_JSON_ARRAY))
                wait |= held[k++];
        for (int i = g; i < end; i++) {
            if (wait)
                later[nlater++] = staged[i];
            else
                staged[nnow++] = staged[i]; /* nnow <= i: in place, in order */
        }
    }
    memcpy(staged + nnow, later, (size_t)nlater * sizeof *later);
    free(later);
    free(held);
    free(keys);

    /* The dead letters go with the last transaction: a failure of an
     * earlier one retries the whole fetch, whose committed batches the
     * ledger then skips. */
    char why[300] = "";
    tly_stage_status_t st = TLY_STAGE_OK;
    if (nnow > 0 || nlater == 0)
        st = store_part(conn, ctx, staged, nnow, msgs, batches, nlater == 0 ? n : 0, outcomes,
                        committed, counts, why, sizeof why);
    if (st == TLY_STAGE_OK && nlater > 0) {
        tly_claims_wait(ctx->claims, ticket);
        st = store_part(conn, ctx, staged + nnow, nlater, msgs, batches, n, outcomes, committed,
                        counts, why, sizeof why);
        if (st == TLY_STAGE_OK)
            counts->deferred += nlater;
    }
    if (st == TLY_STAGE_OK) {
        result = TLY_STORE_COMMITTED;
    } else if (st == TLY_STAGE_STALE) {
        /* The catalog and device ids are cheap to learn again (a query a
         * fetch); of the software sets, only this fetch's devices' can have
         * been the cause. */
        TLY_WARN(NULL,
                 "a cache was stale (%s); cleared (%zu catalog ids, %zu device ids, the software"
                 " sets of the fetch's devices)",
                 why, tly_catalog_size(ctx->catalog), tly_devids_size(ctx->devices));
        for (int k = 0; k < unique; k++)
            if (staged[k]->device_id[0] != '\0')
                tly_swcache_drop(ctx->sets, staged[k]->device_id);
        tly_catalog_clear(ctx->catalog);
        tly_devids_clear(ctx->devices);
        *stale = true;
    } else if (st == TLY_STAGE_DATA_ERROR && n > 1) {
        result = TLY_STORE_ISOLATE; /* find the culprit one message at a time */
    } else if (st == TLY_STAGE_DATA_ERROR && unique == 1) {
        /* This message can never be stored: dead-letter it, in a
         * transaction of its own. */
        snprintf(staged[0]->reason, sizeof staged[0]->reason, "%s", why);
        outcomes[0] = TLY_MSG_POISON;
        if (store_part(conn, ctx, staged, 0, msgs, batches, 1, outcomes, committed, counts, why,
                       sizeof why) == TLY_STAGE_OK)
            result = TLY_STORE_COMMITTED;
    }
    /* A batch an earlier try of this fetch committed is in the ledger now:
     * this worker stored it all the same. */
    for (int i = 0; i < n; i++)
        if (outcomes[i] == TLY_MSG_DUPLICATE && committed[i])
            outcomes[i] = TLY_MSG_STORED;
    tly_claims_release(ctx->claims, ticket);
    for (int i = 0; i < n; i++)
        batch_free(&batches[i]);
    free(batches);
    free(staged);
    return result;
}

tly_store_status_t tly_store_batch(const tly_config_t *cfg, PGconn *conn,
                                   const tly_store_ctx_t *ctx, natsMsg **msgs, int n,
                                   tly_msg_outcome_t *outcomes, bool *committed,
                                   tly_store_counts_t *counts)
{
    bool stale = false;
    tly_store_status_t st =
        store_once(cfg, conn, ctx, msgs, n, outcomes, committed, counts, &stale);
    if (stale) /* at once, with ids and sets looked up afresh */
        st = store_once(cfg, conn, ctx, msgs, n, outcomes, committed, counts, &stale);
    return st;
}
