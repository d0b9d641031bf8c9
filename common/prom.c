#include "common/prom.h"

#include <stdio.h>
#include <string.h>

const double tly_prom_bounds_s[TLY_PROM_NBOUNDS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};

void tly_histogram_observe(tly_histogram_t *h, int64_t ns)
{
    double s = (double)ns / 1e9;
    int i = 0;
    while (i < TLY_PROM_NBOUNDS && s > tly_prom_bounds_s[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void tly_prom_header(tly_strbuf_t *b, const char *name, const char *type, const char *help)
{
    tly_strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void tly_prom_histogram(tly_strbuf_t *b, const char *name, const char *labels, tly_histogram_t *h)
{
    uint64_t cumulative = 0;
    for (int i = 0; i <= TLY_PROM_NBOUNDS; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < TLY_PROM_NBOUNDS)
            tly_strbuf_printf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels,
                              tly_prom_bounds_s[i], (unsigned long long)cumulative);
        else
            tly_strbuf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
                              (unsigned long long)cumulative);
    }
    size_t n = strlen(labels);
    char bare[128]; /* the labels without the trailing comma, for _sum/_count */
    snprintf(bare, sizeof bare, "%.*s", n > 0 ? (int)n - 1 : 0, labels);
    const char *open = n > 0 ? "{" : "", *close = n > 0 ? "}" : "";
    tly_strbuf_printf(b, "%s_sum%s%s%s %.6f\n", name, open, bare, close,
                      (double)atomic_load(&h->sum_ns) / 1e9);
    tly_strbuf_printf(b, "%s_count%s%s%s %llu\n", name, open, bare, close,
                      (unsigned long long)atomic_load(&h->count));
}

void tly_prom_sample(tly_strbuf_t *b, const char *name, const char *labels, uint64_t value)
{
    if (labels != NULL)
        tly_strbuf_printf(b, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
    else
        tly_strbuf_printf(b, "%s %llu\n", name, (unsigned long long)value);
}
