/* Software sets, compared in ingest (migrations/0013).
 *
 * A device's software set is what its last applied list said. Ingest keeps
 * the sets it wrote or read in a cache shared by its workers, each tagged
 * with the device's software_rev at the time; a worker trusts a cached set
 * only when the device row holds that revision (tally_ingest_device_rows()
 * reads it, tally_ingest_devices() checks it under the row's lock), and
 * otherwise reads the set from device_software. It then
 * compares the fetch's lists of the device with the set here and hands
 * PostgreSQL only what differs.
 *
 * The rules are those of docs/architecture.md section 11: the first list
 * of a device (no set reported before) is the baseline and records no
 * events; a list older than the last one applied is ignored; later lists
 * record per program "installed" (no old version), "uninstalled" (no new
 * version) or "version_changed" (the versions that went and came, each
 * ", "-joined in byte order, or NULL when none), and rows whose install
 * date, location or source changed are updated in place without an event.
 *
 * Thread-safety: a tly_swset_t is immutable once made and reference
 * counted (atomically), so workers share them freely; the cache locks
 * itself. Times are µs since the Unix epoch. */
#ifndef TLY_INGEST_SOFTSET_H
#define TLY_INGEST_SOFTSET_H

#include "common/util.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One (program, version) of a set; strings NUL-terminated. */
typedef struct {
    int64_t software_id;          /* catalog id, >= 1 */
    const char *version;          /* "" when the item has none */
    const char *install_date;     /* YYYY-MM-DD, or NULL */
    const char *install_location; /* or NULL */
    const char *source;           /* or NULL */
} tly_sw_item_t;

/* Items sorted by (software_id, version in byte order), one per pair; the
 * set owns the strings. */
typedef struct tly_swset tly_swset_t;
struct tly_swset {
    atomic_int refs; /* the set is freed when it drops to 0 */
    size_t bytes;    /* its allocation */
    size_t n;
    tly_sw_item_t items[];
};

/* A set of items[0..n) (their strings copied), with one reference. Of
 * items with the same (software_id, version), the first is kept: a program
 * listed twice in one list is one row, with its first occurrence's
 * attributes. */
tly_swset_t *tly_swset_new(const tly_sw_item_t *items, size_t n);
tly_swset_t *tly_swset_ref(tly_swset_t *s);
void tly_swset_unref(tly_swset_t *s); /* NULL is a no-op */

/* One list of a device: its set and its report's receive time. */
typedef struct {
    tly_swset_t *set; /* borrowed */
    int64_t at_us;
} tly_sw_list_t;

/* What a comparison found, as COPY rows (tly_stage_copy), appended: in
 * COPY's binary format (tly_bin_row on: the caller writes the header and
 * trailer; every install_date of the lists must be a date tly_bin_date
 * takes), device_software rows that come (tenant_id, device_id,
 * software_id, version, version_key, install_date, install_location,
 * source, first_seen) and software_changes rows (tenant_id, device_id, ts,
 * software_id, change, old_version, new_version); in COPY's text format,
 * stage_software_ops rows (device_id, software_id, version, moved,
 * install_date, install_location, source) for the rows that go (moved
 * false, no attributes) or change attributes (moved true, the new ones). */
typedef struct {
    tly_strbuf_t came, ops, changes;
    int64_t came_n, ops_n, changes_n;
} tly_sw_out_t;

/* Compares lists[0..n) of one device (tenant and device: lower-case UUIDs),
 * in receive order (ties in fetch order), with its set: base (NULL for
 * none) as reported at *reported_at_us, or never reported when !*reported
 * (then base must be NULL or empty). Appends to out what turns the set into
 * the last list that applies, and that list's index + 1 (0: none applies:
 * each is older than the set). Advances *reported and *reported_at_us. */
size_t tly_sw_compare(const char *tenant, const char *device, const tly_swset_t *base,
                      bool *reported, int64_t *reported_at_us, const tly_sw_list_t *lists, size_t n,
                      tly_sw_out_t *out);

/* The sets of devices, by device id, each with the software_rev it was
 * cached at; at most max_bytes of sets (the cache drops entries at random
 * to stay under it). */
typedef struct tly_swcache tly_swcache_t;

tly_swcache_t *tly_swcache_new(size_t max_bytes);
void tly_swcache_free(tly_swcache_t *c);
/* Forgets device's set, whatever its revision. */
void tly_swcache_drop(tly_swcache_t *c, const char *device);
size_t tly_swcache_bytes(tly_swcache_t *c);

/* device's set, with a reference for the caller, if it is cached at
 * revision rev; NULL otherwise. */
tly_swset_t *tly_swcache_get(tly_swcache_t *c, const char *device, int64_t rev);

/* Caches set (taking a reference of its own) as device's at revision rev,
 * unless the cache holds a later revision of it. */
void tly_swcache_put(tly_swcache_t *c, const char *device, int64_t rev, tly_swset_t *set);

#endif
