/* The event and metric sections of stored batches, bulk-loaded with COPY.
 *
 * Rows are COPYed into per-session staging tables (temporary, so row-level
 * security does not apply to the COPY itself), then moved into the
 * partitioned tables with one INSERT ... SELECT per tenant and table under
 * that tenant's app.tenant_id, so RLS checks every row on the way in. Rows
 * whose ts has no partition go to out_of_window_events instead.
 *
 * Thread-safety: one call per connection at a time. */
#ifndef TLY_INGEST_EVENTS_H
#define TLY_INGEST_EVENTS_H

#include "common/util.h"

#include <jansson.h>
#include <libpq-fe.h>

/* One stored batch whose sections are to be loaded (all borrowed). */
typedef struct {
    const char *tenant_id;
    const char *device_id;
    const json_t *doc;
} tly_event_source_t;

typedef struct {
    int64_t rows;          /* rows written to the partitioned tables */
    int64_t out_of_window; /* rows written to out_of_window_events */
} tly_event_counts_t;

typedef enum {
    TLY_EVENTS_OK = 0,
    TLY_EVENTS_DATA_ERROR, /* the data itself was refused; *why says how */
    TLY_EVENTS_FAILED,     /* connection or server trouble */
} tly_events_status_t;

/* Loads every section of src[0..n) inside the caller's open transaction.
 * On an error the transaction is aborted (the caller rolls back). */
tly_events_status_t tly_events_store(PGconn *conn, const tly_event_source_t *src, int n,
                                     tly_event_counts_t *counts, char *why, size_t why_len);

#endif
