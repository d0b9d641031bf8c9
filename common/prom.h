/* Prometheus text exposition (format 0.0.4): the pieces every component's
 * /metrics shares.
 *
 * A histogram is a fixed array of atomic counters: observing is lock-free
 * and allocation-free, from any thread. Durations are observed in
 * nanoseconds and exposed in seconds. Rendering appends to a strbuf. */
#ifndef TLY_COMMON_PROM_H
#define TLY_COMMON_PROM_H

#include "common/util.h"

#include <stdatomic.h>

/* Upper bounds (seconds) of every histogram's buckets; +Inf is implied. */
#define TLY_PROM_NBOUNDS 15
extern const double tly_prom_bounds_s[TLY_PROM_NBOUNDS];

typedef struct {
    _Atomic uint64_t buckets[TLY_PROM_NBOUNDS + 1]; /* non-cumulative; the last is +Inf */
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
} tly_histogram_t;

void tly_histogram_observe(tly_histogram_t *h, int64_t ns);

/* "# HELP" and "# TYPE" lines. */
void tly_prom_header(tly_strbuf_t *b, const char *name, const char *type, const char *help);

/* One histogram's series; labels is "" or `key="value",` (trailing comma). */
void tly_prom_histogram(tly_strbuf_t *b, const char *name, const char *labels, tly_histogram_t *h);

/* One sample: name{labels} value; labels may be NULL. */
void tly_prom_sample(tly_strbuf_t *b, const char *name, const char *labels, uint64_t value);

#endif
