/* Software catalog ids for ingest: (tenant, name, publisher) -> id.
 *
 * Each worker keeps the ids it has seen in a cache of its own and asks
 * PostgreSQL only for names it has not (tally_catalog_ids(), migration
 * 0010), in a statement of its own before the fetch's transaction: a new
 * name is committed at once, so concurrent workers never wait for each
 * other's transaction over it, and the transaction stages ids, not names.
 * Catalog entries are never deleted by Tally; tally_ingest_software()
 * (migrations/0013) still checks every id of a fetch's lists against the
 * tenant's catalog and refuses the fetch with SQLSTATE TLY01 if one is
 * missing, upon which the worker clears its caches and retries.
 *
 * Names and publishers are keys as stored: trimmed of spaces, a missing
 * publisher as "". Thread-safety: none; one cache per worker. */
#ifndef TLY_INGEST_CATALOG_H
#define TLY_INGEST_CATALOG_H

#include "ingest/stage.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tly_catalog tly_catalog_t;

/* Entries in a worker's cache at most: about 100 bytes each plus the
 * names; the table grows as it fills. */
#define TLY_INGEST_CATALOG_CACHE 1000000

/* A cache of at most max_entries ids (when full, it starts over). */
tly_catalog_t *tly_catalog_new(size_t max_entries);
void tly_catalog_free(tly_catalog_t *c);
void tly_catalog_clear(tly_catalog_t *c);
size_t tly_catalog_size(const tly_catalog_t *c);

/* The id of (tenant, name, publisher), or 0 when not cached (ids are >= 1).
 * tenant is a 36-character UUID; name and publisher are byte spans. */
int64_t tly_catalog_get(const tly_catalog_t *c, const char *tenant, const char *name,
                        size_t name_len, const char *publisher, size_t publisher_len);
void tly_catalog_put(tly_catalog_t *c, const char *tenant, const char *name, size_t name_len,
                     const char *publisher, size_t publisher_len, int64_t id);

/* Adds the missing (tenant, name, publisher) entries to the catalog and all
 * n to the cache: names[i] / publishers[i], i < n, all of one tenant
 * (NUL-terminated, borrowed), in one statement outside any transaction.
 * *created counts the entries this call inserted. The cache starts over
 * first if they would not all fit beside what it holds; more than it can
 * hold at all is a TLY_STAGE_DATA_ERROR (the caller isolates the fetch). On
 * failure otherwise the status of tly_stage_failed, with why set. */
tly_stage_status_t tly_catalog_resolve(tly_catalog_t *c, PGconn *conn, const char *tenant,
                                       const char *const *names, const char *const *publishers,
                                       size_t n, int64_t *created, char *why, size_t why_len);

#endif
