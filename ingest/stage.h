/* COPY of a fetch's batches into PostgreSQL.
 *
 * The events and metrics of the batches new to the ledger are COPYed
 * straight into their partitioned tables, with their tenant and device ids,
 * as are their report rows (ingest/store.c) and the software rows ingest
 * compared (ingest/softset.h). What tally_ingest_devices() applies
 * (migrations/0017) is staged: each device's facts, and the patch lists,
 * each item prefixed by its batch's position in the fetch (idx).
 *
 * The events and metrics, the report rows, the device facts, the software
 * rows that come and the change events are in COPY's binary format
 * (tly_bin_*): PostgreSQL
 * then converts no text (a third less of its CPU per event row than the
 * text format), and ingest checks each value against its column first, as
 * the text input would. The rest (patch lists, out-of-window rows, software
 * rows that go or change: about one percent of the rows) is in the text
 * format.
 *
 * Thread-safety: one call per connection at a time (libpq's rule). */
#ifndef TLY_INGEST_STAGE_H
#define TLY_INGEST_STAGE_H

#include "common/json.h"
#include "common/util.h"

#include <libpq-fe.h>

/* A section of a decoded batch document (borrowed; NULL when absent) and
 * the batch's position in the fetch. */
typedef struct {
    int idx;
    const tly_json_t *items;
} tly_stage_doc_t;

typedef enum {
    TLY_STAGE_OK = 0,
    TLY_STAGE_DATA_ERROR, /* the data itself was refused (SQLSTATE class 22 or 23) */
    TLY_STAGE_FAILED,     /* connection or server trouble */
    TLY_STAGE_STALE,      /* a cache of ingest's differs from the database (SQLSTATE TLY01,
                             or device_software refused a row as already there): clear
                             the caches, retry */
} tly_stage_status_t;

/* Appends s[0..n) to b in COPY text format (backslash, tab, newline and
 * carriage return escaped). */
void tly_stage_text(tly_strbuf_t *b, const char *s, size_t n);

/* The program name or publisher of a software item's member v as the
 * catalog keys it: trimmed of spaces; absent or not a string is "". */
void tly_stage_name(const tly_json_t *v, const char **s, size_t *n);

/* Classifies a failed result (NULL: the connection's error); keeps the
 * server's message, first line, in why. */
tly_stage_status_t tly_stage_failed(const PGresult *res, PGconn *conn, const char *what, char *why,
                                    size_t why_len);

/* COPY's binary format, written into a strbuf: tly_bin_start, then per
 * row tly_bin_row with its field count and the fields in the target's
 * column order, then tly_bin_end. The field writers append one value in
 * its type's binary form (the type's receive function reads it). */
void tly_bin_start(tly_strbuf_t *b);
void tly_bin_row(tly_strbuf_t *b, int fields);
void tly_bin_end(tly_strbuf_t *b);
void tly_bin_null(tly_strbuf_t *b);
void tly_bin_text(tly_strbuf_t *b, const char *s, size_t n); /* text; s NULL: NULL */
void tly_bin_str(tly_strbuf_t *b, const char *s);            /* the same, NUL-terminated */
void tly_bin_uuid(tly_strbuf_t *b, const char *uuid);        /* from its lower-case text */
/* The two fields, tenant then device (lower-case UUIDs), that start a
 * device's rows of the event and software tables, ready to append. */
#define TLY_BIN_IDS (2 * (4 + 16))
void tly_bin_ids(char out[TLY_BIN_IDS], const char *tenant, const char *device);
void tly_bin_int4(tly_strbuf_t *b, int32_t v);
void tly_bin_int8(tly_strbuf_t *b, int64_t v);
void tly_bin_ts(tly_strbuf_t *b, int64_t us); /* timestamptz, µs since the Unix epoch */
/* The header of a one-dimensional array of n elements of the type whose
 * OID is elem_oid, none NULL; its elements follow, each written as a field
 * (tly_bin_uuid, ...). Without a field length of its own: as a query
 * parameter in binary format, the array is the whole value. */
void tly_bin_array_start(tly_strbuf_t *b, uint32_t elem_oid, size_t n);
#define TLY_UUID_OID 2950 /* pg_type.dat */
/* The version key of s[0..n) as a bytea: its runs of ASCII digits, each
 * cut to its first 9 digits, in order, 4 big-endian bytes each
 * ("131.0.6778.86" -> 00000083 00000000 00001a7a 00000056; no digits -> no
 * bytes), so that keys compare as the versions' numbers do. The same rule
 * as the SQL function tally_version_key, which queries use. */
void tly_bin_version_key(tly_strbuf_t *b, const char *s, size_t n);
/* A date from "YYYY-MM-DD" (s NULL: NULL); false, writing nothing, for
 * anything else or a day the calendar does not have. */
bool tly_bin_date(tly_strbuf_t *b, const char *s);
/* Whether tly_bin_date takes s. */
bool tly_stage_is_date(const char *s);

/* The column types tly_bin_json writes a JSON value as. */
typedef enum {
    TLY_BIN_TEXT,
    TLY_BIN_INT4,       /* integer */
    TLY_BIN_INT8,       /* bigint */
    TLY_BIN_FLOAT4,     /* real */
    TLY_BIN_INET,       /* an IPv4 or IPv6 address without a prefix length */
    TLY_BIN_TS,         /* timestamptz from an RFC 3339 string (tly_parse_rfc3339_us) */
    TLY_BIN_JSONB,      /* the value's JSON text, as sent */
    TLY_BIN_TEXT_ARRAY, /* text[] from an array of strings */
} tly_bin_kind_t;

/* Appends JSON value v as a column of kind (absent or null: NULL); text is
 * the message v was parsed from (a jsonb column takes v's span of it).
 * False, with why ("table.column: what is wrong"), for a value the column
 * cannot hold: what PostgreSQL's text input would refuse, or a JSON type
 * that is not the column's. */
bool tly_bin_json(tly_strbuf_t *b, tly_bin_kind_t kind, const tly_json_t *v, const char *text,
                  const char *table, const char *column, char *why, size_t why_len);

/* COPY target FROM STDIN with rows, in COPY text format or (binary) in
 * binary format; target is a table name with its column list. Rows a buffer
 * could not hold (truncated) are a TLY_STAGE_DATA_ERROR, so that the fetch
 * is stored a message at a time. */
tly_stage_status_t tly_stage_copy(PGconn *conn, const char *target, bool binary,
                                  const tly_strbuf_t *rows, char *why, size_t why_len);

/* The same COPY, its failure neither logged nor classified: false, with
 * the failed result in *failed (NULL: the connection's error, or rows that
 * could not be sent), which the caller clears. rows must not be truncated. */
bool tly_stage_copy_result(PGconn *conn, const char *target, bool binary, const tly_strbuf_t *rows,
                           PGresult **failed);

/* Stages the patch lists of docs[0..n), inside the caller's open
 * transaction. A document without the section contributes no rows. */
tly_stage_status_t tly_stage_patches(PGconn *conn, const tly_stage_doc_t *docs, int n, char *why,
                                     size_t why_len);

/* The event tables: t < TLY_STAGE_EVENT_TABLES indexes the arrays below,
 * and tly_stage_event_table(t) is the table's name. */
#define TLY_STAGE_EVENT_TABLES 4
const char *tly_stage_event_table(size_t t);
/* The batch document's member that carries table t's rows. */
const char *tly_stage_event_section(size_t t);

/* A stored batch whose events go to their tables; all borrowed. */
typedef struct {
    const char *tenant_id; /* lower-case UUIDs */
    const char *device_id;
    const tly_json_t *items[TLY_STAGE_EVENT_TABLES]; /* its sections; NULL when absent */
    const char *text; /* the text the document was parsed from (its items' spans) */
} tly_stage_event_doc_t;

/* The ts range a table's partitions cover, [from_us, to_us) in µs since
 * the epoch; from_us == to_us when it has none. */
typedef struct {
    int64_t from_us, to_us;
} tly_stage_window_t;

/* COPYs the events and metrics of docs[0..n) into their tables, inside the
 * caller's open transaction (its role must bypass row-level security): a
 * row whose ts lies in windows[t] into table t, any other into
 * out_of_window_events with its item's JSON as row_data. Adds the rows
 * written to rows_written[t] and *out_of_window. A ts that is not a
 * date-time is a TLY_STAGE_DATA_ERROR. */
tly_stage_status_t tly_stage_events(PGconn *conn, const tly_stage_event_doc_t *docs, int n,
                                    const tly_stage_window_t windows[TLY_STAGE_EVENT_TABLES],
                                    int64_t rows_written[TLY_STAGE_EVENT_TABLES],
                                    int64_t *out_of_window, char *why, size_t why_len);

#endif
