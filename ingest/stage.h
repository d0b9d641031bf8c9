/* COPY into the staging tables of migrations/0008_ingest_bulk.sql.
 *
 * A fetch of batches is staged with one COPY per table: the batch rows
 * (rendered by ingest/store.c) and every array section of the documents
 * (software, patches, events, metrics), each row prefixed by its batch's
 * position in the fetch (idx). tally_ingest_apply() then moves them into
 * place under each tenant's row-level security.
 *
 * Thread-safety: one call per connection at a time (libpq's rule). */
#ifndef TLY_INGEST_STAGE_H
#define TLY_INGEST_STAGE_H

#include "common/json.h"
#include "common/util.h"

#include <libpq-fe.h>

/* One decoded batch document (borrowed) and its position in the fetch. */
typedef struct {
    int idx;
    const tly_json_t *doc;
} tly_stage_doc_t;

typedef enum {
    TLY_STAGE_OK = 0,
    TLY_STAGE_DATA_ERROR, /* the data itself was refused (SQLSTATE class 22 or 23) */
    TLY_STAGE_FAILED,     /* connection or server trouble */
} tly_stage_status_t;

/* Appends s[0..n) to b in COPY text format (backslash, tab, newline and
 * carriage return escaped). */
void tly_stage_text(tly_strbuf_t *b, const char *s, size_t n);

/* Appends the version key of s[0..n) as a PostgreSQL int[] literal: its runs
 * of ASCII digits, each cut to its first 9 digits, in order
 * ("131.0.6778.86" -> {131,0,6778,86}; no digits -> {}). The same rule as the
 * SQL function tally_version_key, which queries use. */
void tly_stage_version_key(const char *s, size_t n, tly_strbuf_t *b);

/* Classifies a failed result (NULL: the connection's error); keeps the
 * server's message, first line, in why. */
tly_stage_status_t tly_stage_failed(const PGresult *res, PGconn *conn, const char *what, char *why,
                                    size_t why_len);

/* COPY target FROM STDIN with rows (COPY text format); target is a table
 * name with its column list. */
tly_stage_status_t tly_stage_copy(PGconn *conn, const char *target, const tly_strbuf_t *rows,
                                  char *why, size_t why_len);

/* Stages the array sections of docs[0..n), inside the caller's open
 * transaction. Sections a document lacks contribute no rows. */
tly_stage_status_t tly_stage_sections(PGconn *conn, const tly_stage_doc_t *docs, int n, char *why,
                                      size_t why_len);

#endif
