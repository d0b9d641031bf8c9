/* Deterministic inventory batch generator for the fleet simulator.
 *
 * Each simulated device is a gen_device_t: hardware, OS, people and an
 * installed-software set drawn from catalog.h with its own random stream.
 * gen_device_report() writes the device's next batch document (schema
 * inventory-batch v1): a delta (device facts, process/network/file events,
 * metrics) or a full inventory (plus software and patches): the first
 * report, then every `full_every`th at a phase of the device's own, so that
 * a fleet's full inventories spread over `full_every` intervals instead of
 * all falling into the same one (gen_device_is_full). Between full reports the software set drifts:
 * upgrades, uninstalls, new installs, and monthly cumulative updates.
 *
 * Determinism: the bytes depend only on the config, the device index, the
 * order of that device's reports and the report times passed in. Devices
 * are independent of each other, so any interleaving of devices gives the
 * same per-device documents. Agent ids depend on the seed only; batch ids
 * on the seed and the run id (so reruns against one server are not
 * duplicates unless asked for).
 *
 * Every value stays inside the schema's caps (see GEN_MAX_* below).
 * Not thread-safe per device; different devices may be used from different
 * threads. */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include "buf.h"

#include <stdbool.h>
#include <stdint.h>

/* Caps of schema/inventory-batch.v1.schema.json that the generator could
 * reach with extreme options; it clamps to them. */
#define GEN_MAX_SOFTWARE 5000
#define GEN_MAX_PATCHES  2000
#define GEN_MAX_EVENTS   10000
#define GEN_MAX_METRICS  1440

typedef struct {
    uint64_t seed;           /* fleet identity: agent ids, hardware, software */
    uint64_t run_id;         /* mixed into batch ids only */
    uint32_t tenants;        /* >= 1; device i belongs to tenant i % tenants */
    uint32_t interval_s;     /* the span a report covers (events, metrics) */
    uint32_t full_every;     /* >= 1: report 0 and every Kth carry software and patches */
    uint32_t events;         /* mean process events per report; network ~0.8x, file ~0.4x */
    uint32_t clone_permille; /* devices that are re-images of another (same serial/MAC) */
} gen_config_t;

/* Defaults: seed 1, tenants 1, interval 60 s, full every 12th report, 7 events
 * (a delta is then about 2 KiB gzipped), 5 per mille clones. */
void gen_config_init(gen_config_t *cfg);

typedef struct gen_device gen_device_t;

/* Creates device `index`. cfg is borrowed and must outlive the device.
 * NULL on allocation failure. */
gen_device_t *gen_device_create(const gen_config_t *cfg, uint32_t index);
/* Frees d; NULL is a no-op. */
void gen_device_destroy(gen_device_t *d);

/* Appends the device's next batch document (compact JSON, one line, no
 * trailing newline) for a report made at unix_ms (Unix time, ms) to out,
 * and writes its batch id (36 chars + NUL). Returns false if out ran out of
 * memory (out->oom). */
bool gen_device_report(gen_device_t *d, int64_t unix_ms, buf_t *out, char batch_id[37]);

/* The number of reports generated so far. */
uint32_t gen_device_reports(const gen_device_t *d);
/* Whether the device's report number seq (from 0) is a full inventory:
 * report 0 (a start), then those where seq plus the device's own phase in
 * [0, full_every) is a multiple of full_every. */
bool gen_device_is_full(const gen_device_t *d, uint32_t seq);
/* The persistent agent id (36 chars, NUL-terminated); borrowed. */
const char *gen_device_agent_id(const gen_device_t *d);
/* A per-device value in [0, n) that does not depend on the report stream:
 * for phases and jitter that must not disturb the documents. */
uint32_t gen_device_phase(const gen_device_t *d, uint32_t n);

/* gzip-compresses in[0..len) at `level` (1..9) and appends it to out.
 * Deterministic (no timestamp or name in the header). False on failure. */
bool gen_gzip(const void *in, size_t len, int level, buf_t *out);

#endif
