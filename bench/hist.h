/* Latency histogram with logarithmic buckets (HDR style): values below 32
 * are exact, above that each power of two is split into 16 buckets, so a
 * reported percentile is within ~3% of the true value. Fixed size, no
 * allocation; not thread-safe. Units are the caller's (tally-fleet records
 * microseconds). */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 1024

typedef struct {
    uint64_t counts[HIST_BUCKETS];
    uint64_t n;
    uint64_t max;
    uint64_t sum;
} hist_t;

void hist_reset(hist_t *h);
void hist_record(hist_t *h, uint64_t v);
/* The value at percentile p (0..100): the midpoint of the bucket holding
 * it; 0 when empty. p = 100 gives the exact maximum. */
uint64_t hist_percentile(const hist_t *h, double p);

#endif
