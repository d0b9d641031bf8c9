/* Device ids for ingest: (tenant, agent) -> the device's id.
 *
 * A device's id never changes: only ingest writes devices, and it never
 * updates an id; a device new to Tally gets the id tally_ingest_device_rows()
 * (migrations/0017, 0018) derives from tenant and agent, which its row will have.
 * So each worker keeps the ids it has learned and asks PostgreSQL only for
 * devices it has not seen. An id that is not the device's (its row deleted
 * and its agent back under another id) makes tally_ingest_devices() fail on
 * devices_tenant_id_agent_id_key; the worker then clears its caches and
 * retries (TLY_STAGE_STALE).
 *
 * Ids are 36-character lower-case UUIDs. Thread-safety: none; one cache per
 * worker. */
#ifndef TLY_INGEST_DEVIDS_H
#define TLY_INGEST_DEVIDS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tly_devids tly_devids_t;

/* Entries in a worker's cache at most (a slot takes 120 bytes, and the
 * table keeps at least two slots an entry); when full, it starts over. */
#define TLY_INGEST_DEVICE_CACHE 1000000

tly_devids_t *tly_devids_new(size_t max_entries);
void tly_devids_free(tly_devids_t *c);
void tly_devids_clear(tly_devids_t *c);
size_t tly_devids_size(const tly_devids_t *c);

/* Copies the id of (tenant, agent) into id; false when not cached. */
bool tly_devids_get(const tly_devids_t *c, const char *tenant, const char *agent, char id[37]);
/* Adds or replaces the id of (tenant, agent). */
void tly_devids_put(tly_devids_t *c, const char *tenant, const char *agent, const char *id);

#endif
