#include "ingest/store.h"
#include "common/bus.h"
#include "common/db.h"
#include "common/log.h"
#include "ingest/events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Facts of the batch's device section, mapped to columns by jsonb_to_record
 * (JSON arrays become PostgreSQL arrays). A late, older batch never
 * overwrites newer facts. */
static const char SQL_DEVICE_UPSERT[] =
    "INSERT INTO devices AS d (tenant_id, agent_id, agent_version, hostname, domain, os_name,"
    " os_version, os_build, arch, serial, manufacturer, model, cpu_model, cpu_cores, memory_bytes,"
    " disks, ip_addresses, mac_addresses, boot_time, logged_in_users, first_seen, last_seen,"
    " last_inventory_at)"
    " SELECT $1::uuid, $2::uuid, $3, r.hostname, r.domain, r.os_name, r.os_version, r.os_build,"
    " r.arch, r.serial, r.manufacturer, r.model, r.cpu_model, r.cpu_cores, r.memory_bytes,"
    " coalesce(r.disks, '[]'), coalesce(r.ip_addresses, '{}'), coalesce(r.mac_addresses, '{}'),"
    " r.boot_time, coalesce(r.logged_in_users, '{}'), $5::timestamptz, $5::timestamptz,"
    " $5::timestamptz"
    " FROM jsonb_to_record($4::jsonb) AS r(hostname text, domain text, os_name text,"
    " os_version text, os_build text, arch text, serial text, manufacturer text, model text,"
    " cpu_model text, cpu_cores int, memory_bytes bigint, disks jsonb, ip_addresses text[],"
    " mac_addresses text[], boot_time timestamptz, logged_in_users text[])"
    " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET agent_version = EXCLUDED.agent_version,"
    " hostname = EXCLUDED.hostname, domain = EXCLUDED.domain, os_name = EXCLUDED.os_name,"
    " os_version = EXCLUDED.os_version, os_build = EXCLUDED.os_build, arch = EXCLUDED.arch,"
    " serial = EXCLUDED.serial, manufacturer = EXCLUDED.manufacturer, model = EXCLUDED.model,"
    " cpu_model = EXCLUDED.cpu_model, cpu_cores = EXCLUDED.cpu_cores,"
    " memory_bytes = EXCLUDED.memory_bytes, disks = EXCLUDED.disks,"
    " ip_addresses = EXCLUDED.ip_addresses, mac_addresses = EXCLUDED.mac_addresses,"
    " boot_time = EXCLUDED.boot_time, logged_in_users = EXCLUDED.logged_in_users,"
    " last_seen = EXCLUDED.last_seen, last_inventory_at = EXCLUDED.last_inventory_at"
    " WHERE d.last_inventory_at <= EXCLUDED.last_inventory_at"
    " RETURNING id";

static const char SQL_DEVICE_ID[] =
    "SELECT id FROM devices WHERE tenant_id = $1::uuid AND agent_id = $2::uuid";

static const char SQL_LEDGER[] =
    "INSERT INTO ingested_batches (tenant_id, agent_id, batch_id) VALUES ($1, $2, $3)"
    " ON CONFLICT DO NOTHING RETURNING 1";

static const char SQL_REPORT[] =
    "INSERT INTO inventory_reports (tenant_id, received_at, device_id, batch_id, sent_at,"
    " agent_version, request_id, body_bytes, software_count, patch_count, process_event_count,"
    " network_event_count, file_event_count, metric_count)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/* Replaces a device's installed software with the batch's list and records
 * the differences. $1 tenant, $2 device, $3 the software array, $4 received
 * at. "gate" skips a report older than the last one applied; a device's
 * first list is the baseline and records no changes. */
static const char SQL_SOFTWARE[] =
    "WITH prev AS (SELECT software_reported_at AS at FROM devices"
    "              WHERE tenant_id = $1::uuid AND id = $2::uuid),"
    " gate AS (SELECT (SELECT at FROM prev) IS NULL AS baseline"
    "          WHERE coalesce((SELECT at FROM prev), '-infinity') <= $4::timestamptz),"
    " mark AS (UPDATE devices SET software_reported_at = $4::timestamptz"
    "          WHERE tenant_id = $1::uuid AND id = $2::uuid AND EXISTS (SELECT 1 FROM gate)),"
    " incoming AS (SELECT DISTINCT ON (name, publisher, version) btrim(r.name) AS name,"
    "                coalesce(btrim(r.publisher), '') AS publisher, coalesce(r.version, '') AS "
    "version,"
    "                r.install_date, r.install_location, r.source"
    "              FROM jsonb_to_recordset($3::jsonb) AS r(name text, publisher text, version text,"
    "                install_date date, install_location text, source text)"
    "              WHERE EXISTS (SELECT 1 FROM gate) ORDER BY name, publisher, version),"
    " new_cat AS (INSERT INTO software_catalog (tenant_id, name, publisher)"
    "             SELECT DISTINCT $1::uuid, name, publisher FROM incoming ORDER BY 2, 3"
    "             ON CONFLICT (tenant_id, name, publisher) DO NOTHING RETURNING id, name, "
    "publisher),"
    " cat AS (SELECT id, name, publisher FROM new_cat UNION ALL"
    "         SELECT c.id, c.name, c.publisher FROM software_catalog c WHERE c.tenant_id = $1::uuid"
    "         AND (c.name, c.publisher) IN (SELECT name, publisher FROM incoming)),"
    " new_set AS (SELECT cat.id AS software_id, i.version, i.install_date, i.install_location,"
    "               i.source FROM incoming i JOIN cat ON cat.name = i.name"
    "               AND cat.publisher = i.publisher),"
    " old_set AS (SELECT software_id, version FROM device_software WHERE tenant_id = $1::uuid"
    "             AND device_id = $2::uuid AND EXISTS (SELECT 1 FROM gate)),"
    " changes AS ("
    "   SELECT n.software_id, 'installed' AS change, NULL AS old_version, n.version AS new_version"
    "     FROM new_set n WHERE NOT EXISTS (SELECT 1 FROM old_set o"
    "                                      WHERE o.software_id = n.software_id)"
    "   UNION ALL SELECT o.software_id, 'uninstalled', o.version, NULL FROM old_set o"
    "     WHERE NOT EXISTS (SELECT 1 FROM new_set n WHERE n.software_id = o.software_id)"
    "   UNION ALL SELECT b.software_id, 'version_changed',"
    "     (SELECT string_agg(o.version, ', ' ORDER BY o.version) FROM old_set o"
    "       WHERE o.software_id = b.software_id AND NOT EXISTS (SELECT 1 FROM new_set n"
    "       WHERE n.software_id = o.software_id AND n.version = o.version)),"
    "     (SELECT string_agg(n.version, ', ' ORDER BY n.version) FROM new_set n"
    "       WHERE n.software_id = b.software_id AND NOT EXISTS (SELECT 1 FROM old_set o"
    "       WHERE o.software_id = n.software_id AND o.version = n.version))"
    "     FROM (SELECT software_id FROM old_set INTERSECT SELECT software_id FROM new_set) b),"
    " logged AS (INSERT INTO software_changes (tenant_id, device_id, ts, software_id, change,"
    "              old_version, new_version)"
    "            SELECT $1::uuid, $2::uuid, $4::timestamptz, software_id, change, old_version,"
    "              new_version FROM changes"
    "            WHERE NOT (SELECT baseline FROM gate)"
    "              AND (old_version IS NOT NULL OR new_version IS NOT NULL) RETURNING 1),"
    " removed AS (DELETE FROM device_software d WHERE d.tenant_id = $1::uuid"
    "             AND d.device_id = $2::uuid AND EXISTS (SELECT 1 FROM gate)"
    "             AND NOT EXISTS (SELECT 1 FROM new_set n WHERE n.software_id = d.software_id"
    "             AND n.version = d.version) RETURNING 1),"
    " upserted AS (INSERT INTO device_software (tenant_id, device_id, software_id, version,"
    "                version_key, install_date, install_location, source, first_seen, last_seen)"
    "              SELECT $1::uuid, $2::uuid, software_id, version, tally_version_key(version),"
    "                install_date, install_location, source, $4::timestamptz, $4::timestamptz"
    "              FROM new_set"
    "              ON CONFLICT (tenant_id, device_id, software_id, version) DO UPDATE SET"
    "                install_date = EXCLUDED.install_date,"
    "                install_location = EXCLUDED.install_location, source = EXCLUDED.source,"
    "                last_seen = EXCLUDED.last_seen RETURNING 1)"
    " SELECT (SELECT count(*) FROM logged), (SELECT count(*) FROM upserted),"
    "        (SELECT count(*) FROM removed)";

/* Replaces a device's patch set with the batch's ($1..$4 as above). */
static const char SQL_PATCHES[] =
    "WITH prev AS (SELECT patches_reported_at AS at FROM devices"
    "              WHERE tenant_id = $1::uuid AND id = $2::uuid),"
    " gate AS (SELECT 1 WHERE coalesce((SELECT at FROM prev), '-infinity') <= $4::timestamptz),"
    " mark AS (UPDATE devices SET patches_reported_at = $4::timestamptz"
    "          WHERE tenant_id = $1::uuid AND id = $2::uuid AND EXISTS (SELECT 1 FROM gate)),"
    " incoming AS (SELECT DISTINCT ON (hotfix_id) r.hotfix_id, r.description, r.installed_on"
    "              FROM jsonb_to_recordset($3::jsonb) AS r(hotfix_id text, description text,"
    "                installed_on date)"
    "              WHERE EXISTS (SELECT 1 FROM gate) ORDER BY hotfix_id),"
    " removed AS (DELETE FROM device_patches d WHERE d.tenant_id = $1::uuid"
    "             AND d.device_id = $2::uuid AND EXISTS (SELECT 1 FROM gate)"
    "             AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.hotfix_id = d.hotfix_id)"
    "             RETURNING 1),"
    " upserted AS (INSERT INTO device_patches (tenant_id, device_id, hotfix_id, description,"
    "                installed_on, first_seen, last_seen)"
    "              SELECT $1::uuid, $2::uuid, hotfix_id, description, installed_on,"
    "                $4::timestamptz, $4::timestamptz FROM incoming"
    "              ON CONFLICT (tenant_id, device_id, hotfix_id) DO UPDATE SET"
    "                description = EXCLUDED.description, installed_on = EXCLUDED.installed_on,"
    "                last_seen = EXCLUDED.last_seen RETURNING 1)"
    " SELECT (SELECT count(*) FROM upserted), (SELECT count(*) FROM removed)";

/* What one message carries, decoded; strings borrow from doc or the msg. */
typedef struct {
    char tenant_id[37];
    char agent_id[37];
    char batch_id[37];
    char received_at[32];
    const char *request_id;
    const char *agent_version;
    const char *sent_at;
    json_t *doc;
    char *device_json;
    int body_bytes;
    int index; /* position in the fetched list */
    char device_id[37];
    char reason[300]; /* why it is poison, when it is */
} batch_t;

static void batch_free(batch_t *b)
{
    json_decref(b->doc);
    free(b->device_json);
}

static const char *string_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int count_of(json_t *doc, const char *key)
{
    return (int)json_array_size(json_object_get(doc, key));
}

/* Decodes msg into *b; false with *why set when it never could be stored. */
/* Fills *b (index already set); b is freeable whatever the outcome. */
static bool decode(const tly_config_t *cfg, natsMsg *msg, batch_t *b, const char **why)
{
    if (!tly_bus_subject_tenant(cfg, natsMsg_GetSubject(msg), b->tenant_id)) {
        *why = "subject does not name a tenant";
        return false;
    }

    const char *received = NULL;
    int64_t received_us = 0;
    if (natsMsgHeader_Get(msg, TLY_HDR_RECEIVED_AT, &received) == NATS_OK)
        received_us = strtoll(received, NULL, 10);
    if (received_us <= 0)
        received_us = tly_now_realtime_us();
    tly_format_rfc3339_us(received_us, b->received_at);
    if (natsMsgHeader_Get(msg, TLY_HDR_REQUEST_ID, &b->request_id) != NATS_OK)
        b->request_id = NULL;

    b->body_bytes = natsMsg_GetDataLength(msg);
    b->doc = json_loadb(natsMsg_GetData(msg), (size_t)b->body_bytes, JSON_REJECT_DUPLICATES, NULL);
    json_t *agent = json_object_get(b->doc, "agent");
    json_t *device = json_object_get(b->doc, "device");
    const char *batch_id = string_at(b->doc, "batch_id");
    const char *agent_id = string_at(agent, "id");
    if (b->doc == NULL || !json_is_object(device) || batch_id == NULL || !tly_is_uuid(batch_id) ||
        agent_id == NULL || !tly_is_uuid(agent_id)) {
        *why = "payload is not a batch document";
        return false;
    }
    tly_uuid_lower(batch_id, b->batch_id);
    tly_uuid_lower(agent_id, b->agent_id);
    b->agent_version = string_at(agent, "version");
    b->sent_at = string_at(b->doc, "sent_at");
    b->device_json = json_dumps(device, JSON_COMPACT);
    if (b->device_json == NULL) {
        *why = "device section cannot be re-encoded";
        return false;
    }
    return true;
}

/* Errors in the data itself (class 22 data exception, 23 integrity) will
 * fail the same way on every delivery; anything else may be transient. */
static bool is_data_error(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return state != NULL && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

typedef enum { STEP_OK, STEP_DATA_ERROR, STEP_FAILED } step_t;

/* Runs one statement of a message's writes. A data error's message is kept
 * in *why (the dead letter's reason). */
static step_t exec_step(PGconn *conn, const char *sql, int n, const char *const *params,
                        PGresult **out, const char *what, char *why, size_t why_len)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (out != NULL)
            *out = res;
        else
            PQclear(res);
        return STEP_OK;
    }
    step_t r = is_data_error(res) ? STEP_DATA_ERROR : STEP_FAILED;
    TLY_WARN(NULL, "%s failed: %s", what, PQresultErrorMessage(res));
    if (why != NULL) {
        snprintf(why, why_len, "%s: %s", what, PQresultErrorMessage(res));
        why[strcspn(why, "\n")] = '\0';
    }
    PQclear(res);
    return r;
}

/* Applies a current-state section (software, patches) when the batch
 * carries it: the section's array is the whole set. */
static step_t apply_set(PGconn *conn, batch_t *b, const char *section, const char *sql)
{
    const json_t *items = json_object_get(b->doc, section);
    if (!json_is_array(items))
        return STEP_OK;
    char *json = json_dumps(items, JSON_COMPACT);
    if (json == NULL) {
        snprintf(b->reason, sizeof b->reason, "%s: cannot re-encode", section);
        return STEP_DATA_ERROR;
    }
    const char *params[] = {b->tenant_id, b->device_id, json, b->received_at};
    step_t s = exec_step(conn, sql, 4, params, NULL, section, b->reason, sizeof b->reason);
    free(json);
    return s;
}

/* Writes one decoded batch inside the open transaction. */
static step_t store_one(PGconn *conn, batch_t *b, tly_msg_outcome_t *outcome)
{
    PGresult *res = NULL;
    const char *tenant[] = {b->tenant_id};
    step_t s = exec_step(conn, "SELECT set_config('app.tenant_id', $1, true)", 1, tenant, NULL,
                         "set tenant", b->reason, sizeof b->reason);
    if (s != STEP_OK)
        return s;

    const char *ledger[] = {b->tenant_id, b->agent_id, b->batch_id};
    if ((s = exec_step(conn, SQL_LEDGER, 3, ledger, &res, "ledger insert", b->reason,
                       sizeof b->reason)) != STEP_OK)
        return s;
    bool fresh = PQntuples(res) == 1;
    PQclear(res);
    if (!fresh) {
        *outcome = TLY_MSG_DUPLICATE;
        return STEP_OK;
    }

    const char *dev[] = {b->tenant_id, b->agent_id, b->agent_version, b->device_json,
                         b->received_at};
    if ((s = exec_step(conn, SQL_DEVICE_UPSERT, 5, dev, &res, "device upsert", b->reason,
                       sizeof b->reason)) != STEP_OK)
        return s;
    if (PQntuples(res) == 0) { /* an older batch: facts kept, id still needed */
        PQclear(res);
        if ((s = exec_step(conn, SQL_DEVICE_ID, 2, dev, &res, "device lookup", b->reason,
                           sizeof b->reason)) != STEP_OK)
            return s;
    }
    snprintf(b->device_id, sizeof b->device_id, "%s",
             PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
    const char *device_id = b->device_id;
    PQclear(res);

    char counts[7][16];
    snprintf(counts[0], 16, "%d", b->body_bytes);
    snprintf(counts[1], 16, "%d", count_of(b->doc, "software"));
    snprintf(counts[2], 16, "%d", count_of(b->doc, "patches"));
    snprintf(counts[3], 16, "%d", count_of(b->doc, "process_events"));
    snprintf(counts[4], 16, "%d", count_of(b->doc, "network_events"));
    snprintf(counts[5], 16, "%d", count_of(b->doc, "file_events"));
    snprintf(counts[6], 16, "%d", count_of(b->doc, "metrics"));
    const char *report[] = {b->tenant_id,     b->received_at, device_id, b->batch_id, b->sent_at,
                            b->agent_version, b->request_id,  counts[0], counts[1],   counts[2],
                            counts[3],        counts[4],      counts[5], counts[6]};
    if ((s = exec_step(conn, SQL_REPORT, 14, report, NULL, "report insert", b->reason,
                       sizeof b->reason)) != STEP_OK)
        return s;
    if ((s = apply_set(conn, b, "software", SQL_SOFTWARE)) != STEP_OK ||
        (s = apply_set(conn, b, "patches", SQL_PATCHES)) != STEP_OK)
        return s;
    *outcome = TLY_MSG_STORED;
    return STEP_OK;
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

/* Orders decoded batches by (tenant, agent): concurrent workers then lock
 * device rows in the same order and cannot deadlock each other. */
static int by_device(const void *a, const void *b)
{
    const batch_t *x = *(batch_t *const *)a, *y = *(batch_t *const *)b;
    int c = strcmp(x->tenant_id, y->tenant_id);
    return c != 0 ? c : strcmp(x->agent_id, y->agent_id);
}

/* Loads the event sections of the batches stored now, under a savepoint. */
static tly_events_status_t store_events(PGconn *conn, batch_t **order, int good,
                                        const tly_msg_outcome_t *outcomes, char *why,
                                        size_t why_len, tly_event_counts_t *counts)
{
    tly_event_source_t *src = tly_xcalloc((size_t)good + 1, sizeof *src);
    int n = 0;
    for (int k = 0; k < good; k++) {
        if (outcomes[order[k]->index] == TLY_MSG_STORED)
            src[n++] =
                (tly_event_source_t){order[k]->tenant_id, order[k]->device_id, order[k]->doc};
    }
    tly_events_status_t st = TLY_EVENTS_OK;
    if (n > 0) {
        st = tly_db_exec(conn, "SAVEPOINT events") ? TLY_EVENTS_OK : TLY_EVENTS_FAILED;
        if (st == TLY_EVENTS_OK)
            st = tly_events_store(conn, src, n, counts, why, why_len);
        if (st == TLY_EVENTS_OK && !tly_db_exec(conn, "RELEASE SAVEPOINT events"))
            st = TLY_EVENTS_FAILED;
    }
    free(src);
    return st;
}

/* One message's dead letter in a transaction of its own. */
static bool dead_letter_alone(PGconn *conn, natsMsg *msg, const batch_t *b)
{
    if (!tly_db_exec(conn, "BEGIN"))
        return false;
    if (dead_letter(conn, msg, b) && tly_db_exec(conn, "COMMIT"))
        return true;
    tly_db_rollback(conn);
    return false;
}

tly_store_status_t tly_store_batch(const tly_config_t *cfg, PGconn *conn, natsMsg **msgs, int n,
                                   tly_msg_outcome_t *outcomes, tly_store_counts_t *counts)
{
    batch_t *batches = tly_xcalloc((size_t)n, sizeof *batches);
    batch_t **order = tly_xcalloc((size_t)n, sizeof *order);
    int good = 0;
    tly_store_status_t result = TLY_STORE_RETRY;
    tly_event_counts_t events = {0};
    for (int i = 0; i < n; i++) {
        const char *why = NULL;
        batches[i].index = i;
        if (decode(cfg, msgs[i], &batches[i], &why)) {
            order[good++] = &batches[i];
            continue;
        }
        snprintf(batches[i].reason, sizeof batches[i].reason, "undecodable: %s", why);
        outcomes[i] = TLY_MSG_POISON;
    }
    qsort(order, (size_t)good, sizeof *order, by_device);

    if (!tly_db_exec(conn, "BEGIN"))
        goto done;
    for (int i = 0; i < n; i++) {
        if (outcomes[i] == TLY_MSG_POISON && !dead_letter(conn, msgs[i], &batches[i])) {
            tly_db_rollback(conn);
            goto done;
        }
    }
    for (int k = 0; k < good; k++) {
        batch_t *b = order[k];
        step_t s = STEP_FAILED;
        if (tly_db_exec(conn, "SAVEPOINT msg")) {
            s = store_one(conn, b, &outcomes[b->index]);
            if (s == STEP_OK)
                s = tly_db_exec(conn, "RELEASE SAVEPOINT msg") ? STEP_OK : STEP_FAILED;
            else if (s == STEP_DATA_ERROR && !tly_db_exec(conn, "ROLLBACK TO SAVEPOINT msg"))
                s = STEP_FAILED;
        }
        if (s == STEP_DATA_ERROR && !dead_letter(conn, msgs[b->index], b))
            s = STEP_FAILED;
        if (s == STEP_DATA_ERROR) {
            outcomes[b->index] = TLY_MSG_POISON;
        } else if (s == STEP_FAILED) {
            tly_db_rollback(conn);
            goto done;
        }
    }
    char why[300];
    tly_events_status_t es = store_events(conn, order, good, outcomes, why, sizeof why, &events);
    if (es != TLY_EVENTS_OK) {
        tly_db_rollback(conn);
        if (es == TLY_EVENTS_DATA_ERROR && n > 1) {
            result = TLY_STORE_ISOLATE; /* find the culprit one message at a time */
        } else if (es == TLY_EVENTS_DATA_ERROR && good == 1) {
            /* This message's events can never be stored: dead-letter it. */
            snprintf(order[0]->reason, sizeof order[0]->reason, "%s", why);
            if (dead_letter_alone(conn, msgs[0], order[0])) {
                outcomes[0] = TLY_MSG_POISON;
                result = TLY_STORE_COMMITTED;
            }
        }
        goto done;
    }
    if (!tly_db_exec(conn, "COMMIT")) {
        tly_db_rollback(conn);
        goto done;
    }
    result = TLY_STORE_COMMITTED;
    if (counts != NULL) {
        for (int i = 0; i < n; i++)
            counts->batches += outcomes[i] == TLY_MSG_STORED;
        counts->event_rows += events.rows;
        counts->out_of_window += events.out_of_window;
    }
done:
    for (int i = 0; i < n; i++)
        batch_free(&batches[i]);
    free(batches);
    free(order);
    return result;
}
