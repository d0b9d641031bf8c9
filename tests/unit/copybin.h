/* Reads rows in PostgreSQL's binary COPY format (ingest/stage.h, tly_bin_*)
 * back as COPY text rows, so that unit tests state what a row holds in the
 * form a person reads (and the text format ingest wrote before). kinds
 * names each field's type: u uuid, 8 bigint, 4 integer, t text (escaped as
 * COPY text), k a version key (bytea, as "{1,2}"), d date, T timestamptz (RFC 3339 UTC,
 * µs). The rows are read from data's first byte (no header); a field count
 * or length that does not fit the kinds fails the test. Header-only; not
 * thread-safe (a static buffer). */
#ifndef TLY_TESTS_UNIT_COPYBIN_H
#define TLY_TESTS_UNIT_COPYBIN_H

#include "ingest/stage.h"
#include "tests/unit/check.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t copybin_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static const char *copybin_text(const tly_strbuf_t *rows, const char *kinds)
{
    static char out[4096];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, out, sizeof out);
    const unsigned char *p = (const unsigned char *)rows->data, *end = p + rows->len;
    size_t nk = strlen(kinds);
    while (p + 2 <= end) {
        CHECK(copybin_be(p, 2) == nk);
        p += 2;
        for (size_t f = 0; f < nk; f++) {
            if (f > 0)
                tly_strbuf_append(&b, "\t", 1);
            CHECK(p + 4 <= end);
            int32_t len = (int32_t)copybin_be(p, 4);
            p += 4;
            if (len < 0) {
                tly_strbuf_append(&b, "\\N", 2);
                continue;
            }
            CHECK(p + len <= end);
            const unsigned char *v = p;
            p += len;
            switch (kinds[f]) {
            case 'u':
                CHECK(len == 16);
                for (int i = 0; i < 16; i++)
                    tly_strbuf_printf(&b, "%s%02x",
                                      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", v[i]);
                break;
            case '8':
                CHECK(len == 8);
                tly_strbuf_append_int(&b, (int64_t)copybin_be(v, 8));
                break;
            case '4':
                CHECK(len == 4);
                tly_strbuf_append_int(&b, (int32_t)copybin_be(v, 4));
                break;
            case 't':
                tly_stage_text(&b, (const char *)v, (size_t)len);
                break;
            case 'k': /* a version key: 4 big-endian bytes a number */
                CHECK(len % 4 == 0);
                tly_strbuf_append(&b, "{", 1);
                for (int32_t i = 0; i + 4 <= len; i += 4)
                    tly_strbuf_printf(&b, "%s%d", i ? "," : "", (int32_t)copybin_be(v + i, 4));
                tly_strbuf_append(&b, "}", 1);
                break;
            case 'd': {
                CHECK(len == 4);
                time_t secs = ((time_t)(int32_t)copybin_be(v, 4) + 10957) * 86400;
                struct tm tm;
                gmtime_r(&secs, &tm);
                tly_strbuf_printf(&b, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                                  tm.tm_mday);
                break;
            }
            case 'T': {
                CHECK(len == 8);
                char t[32];
                tly_format_rfc3339_us((int64_t)copybin_be(v, 8) + 946684800000000LL, t);
                tly_strbuf_puts(&b, t);
                break;
            }
            default:
                CHECK(!"a kind copybin_text knows");
            }
        }
        tly_strbuf_append(&b, "\n", 1);
    }
    CHECK(p == end && !b.truncated);
    return out;
}

#endif
