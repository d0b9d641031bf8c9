/* Log-bucket latency histogram; see hist.h. */
#include "hist.h"

#include <string.h>

#define SUB_BITS 4 /* 16 buckets per power of two */

static unsigned bucket_of(uint64_t v)
{
    if (v < (2U << SUB_BITS))
        return (unsigned)v;
    unsigned msb = 63U - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - SUB_BITS;
    return shift * (1U << SUB_BITS) + (unsigned)(v >> shift);
}

/* Lowest and highest value of bucket i. */
static void bucket_range(unsigned i, uint64_t *lo, uint64_t *hi)
{
    if (i < (2U << SUB_BITS)) {
        *lo = *hi = i;
        return;
    }
    unsigned shift = i / (1U << SUB_BITS) - 1;
    uint64_t sub = i - shift * (1U << SUB_BITS);
    *lo = sub << shift;
    *hi = ((sub + 1) << shift) - 1;
}

void hist_reset(hist_t *h)
{
    memset(h, 0, sizeof *h);
}

void hist_record(hist_t *h, uint64_t v)
{
    unsigned b = bucket_of(v);
    if (b >= HIST_BUCKETS)
        b = HIST_BUCKETS - 1;
    h->counts[b]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

uint64_t hist_percentile(const hist_t *h, double p)
{
    if (h->n == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->n + 0.999999);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            bucket_range(i, &lo, &hi);
            uint64_t mid = lo + (hi - lo) / 2;
            return mid < h->max ? mid : h->max;
        }
    }
    return h->max;
}
