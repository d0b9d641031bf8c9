/* ingest/stage.c's pure parts: COPY text escaping, the version key
 * (integration.software_diff checks the key against tally_version_key on
 * every stored row) and dates in COPY's binary format, read back through
 * tests/unit/copybin.h; and the date-time parser that routes each event into
 * its partitioned table or out_of_window_events, which must read a ts as
 * PostgreSQL does (integration.events checks rows on both sides). */
#include "ingest/stage.h"
#include "tests/unit/check.h"
#include "tests/unit/copybin.h"

#include <math.h>
#include <stdlib.h>

/* The version key of version as ingest COPYs it, read back as "{1,2}". */
static const char *key_of(const char *version)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 1 << 10);
    tly_bin_row(&b, 1);
    tly_bin_version_key(&b, version, strlen(version));
    static char out[256];
    snprintf(out, sizeof out, "%s", copybin_text(&b, "k"));
    out[strcspn(out, "\n")] = '\0';
    tly_strbuf_free(&b);
    return out;
}

/* A date as ingest COPYs it, read back; NULL when refused. */
static const char *date_of(const char *date)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 1 << 10);
    tly_bin_row(&b, 1);
    static char out[64];
    bool ok = tly_bin_date(&b, date);
    if (ok) {
        snprintf(out, sizeof out, "%s", copybin_text(&b, "d"));
        out[strcspn(out, "\n")] = '\0';
    }
    tly_strbuf_free(&b);
    return ok ? out : NULL;
}

static const char *escaped(const char *s)
{
    static char out[256];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, out, sizeof out);
    tly_stage_text(&b, s, strlen(s));
    return out;
}

/* The µs of an RFC 3339 date-time, or INT64_MIN when it is refused. */
static int64_t at(const char *s)
{
    int64_t us = 0;
    return tly_parse_rfc3339_us(s, strlen(s), &us) ? us : INT64_MIN;
}

static void test_rfc3339(void)
{
    CHECK(at("1970-01-01T00:00:00Z") == 0);
    CHECK(at("1969-12-31T23:59:59Z") == -1000000);
    CHECK(at("2026-11-22T04:55:08.345Z") == 1795323308345000);
    CHECK(at("2026-11-22t04:55:08.345z") == 1795323308345000);
    CHECK(at("2026-11-22 04:55:08.345Z") == 1795323308345000);
    CHECK(at("2026-11-22T04:55:08+01:00") == 1795319708000000);
    CHECK(at("2026-11-22T04:55:08-05:30") == 1795343108000000);
    CHECK(at("0001-01-01T00:00:00Z") == -62135596800000000);
    CHECK(at("9999-12-31T23:59:59Z") == 253402300799000000);
    CHECK(at("2024-02-29T00:00:00Z") == at("2024-03-01T00:00:00Z") - 86400000000);
    CHECK(at("2000-02-29T00:00:00Z") == at("2000-03-01T00:00:00Z") - 86400000000);
    /* A leap second is the next minute's first, as in PostgreSQL. */
    CHECK(at("2016-12-31T23:59:60Z") == at("2017-01-01T00:00:00Z"));
    /* Fractions round to the microsecond: into the next day at midnight. */
    CHECK(at("1970-01-01T00:00:00.1234567Z") == 123457);
    CHECK(at("1970-01-01T00:00:00.0000004Z") == 0);
    CHECK(at("2026-11-21T23:59:59.9999999Z") == at("2026-11-22T00:00:00Z"));
    CHECK(at("1970-01-01T00:00:00.000001000000000000000000000000009Z") == 1);
    CHECK(at("1969-12-31T23:59:59.5Z") == -500000);
    /* Up to 6 digits the fraction is read exactly, as PostgreSQL's rint()
     * of the double reads it: every width, a spread of values. */
    int wrong = 0;
    for (int width = 1; width <= 6; width++) {
        int top = 1;
        for (int k = 0; k < width; k++)
            top *= 10;
        for (int v = 0; v < top; v += width < 4 ? 1 : 7) {
            char text[40], frac[16];
            snprintf(frac, sizeof frac, "0.%0*d", width, v);
            snprintf(text, sizeof text, "1970-01-01T00:00:00.%0*dZ", width, v);
            wrong += at(text) != (int64_t)rint(strtod(frac, NULL) * 1e6);
        }
    }
    CHECK(wrong == 0);

    static const char *const refused[] = {
        "",
        "2026-11-22T04:55:08",       /* no zone */
        "2026-11-22T04:55:08ZZ",     /* trailing bytes */
        "2026-11-22T04:55:08.Z",     /* an empty fraction */
        "2026-11-22T04:55:08+0100",  /* offset without a colon */
        "2026-13-01T00:00:00Z",      /* month 13 */
        "2026-02-29T00:00:00Z",      /* not a leap year */
        "2100-02-29T00:00:00Z",      /* nor is 2100 */
        "2026-04-31T00:00:00Z",      /* April has 30 days */
        "2026-11-22T24:00:00Z",      /* hour 24 */
        "2026-11-22T04:60:00Z",      /* minute 60 */
        "2026-11-22T04:55:61Z",      /* second 61 */
        "0000-01-01T00:00:00Z",      /* year 0 */
        "2026-11-22X04:55:08Z",      /* separator */
        "2026-11-2204:55:08Z",       /* shape */
        "2026-11-22T04:55:08+24:00", /* offset hours */
        "+2026-11-22T04:55:08Z",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK(at(refused[i]) == INT64_MIN);
}

static const char *int_text(int64_t v)
{
    static char out[32];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, out, sizeof out);
    tly_strbuf_append_int(&b, v);
    return out;
}

/* The catalog key of a name member: trimmed of spaces only (as SQL btrim). */
static const char *name_of(const char *json)
{
    static char out[64];
    tly_json_doc_t *doc = tly_json_parse(json, strlen(json), 0, NULL, NULL);
    const char *s;
    size_t n;
    tly_stage_name(tly_json_get(tly_json_root(doc), "name"), &s, &n);
    snprintf(out, sizeof out, "[%.*s]", (int)n, s);
    tly_json_free(doc);
    return out;
}

int main(void)
{
    test_rfc3339();
    CHECK_STR(name_of("{\"name\": \"  Google Chrome \"}"), "[Google Chrome]");
    CHECK_STR(name_of("{\"name\": \"\\tTab\\t\"}"), "[\tTab\t]"); /* only spaces go */
    CHECK_STR(name_of("{\"name\": \"   \"}"), "[]");
    CHECK_STR(name_of("{\"name\": null}"), "[]");
    CHECK_STR(name_of("{}"), "[]");
    CHECK_STR(int_text(0), "0");
    CHECK_STR(int_text(-1), "-1");
    CHECK_STR(int_text(4294967296), "4294967296");
    CHECK_STR(int_text(INT64_MAX), "9223372036854775807");
    CHECK_STR(int_text(INT64_MIN), "-9223372036854775808");
    CHECK_STR(date_of("2026-11-01"), "2026-11-01");
    CHECK_STR(date_of("2000-01-01"), "2000-01-01"); /* PostgreSQL's day 0 */
    CHECK_STR(date_of("1999-12-31"), "1999-12-31");
    CHECK_STR(date_of("0001-01-01"), "0001-01-01");
    CHECK_STR(date_of("9999-12-31"), "9999-12-31");
    CHECK_STR(date_of("2024-02-29"), "2024-02-29");
    CHECK_STR(date_of(NULL), "\\N");
    static const char *const not_dates[] = {"2026-02-29",           "2026-04-31", "2026-13-01",
                                            "0000-01-01",           "2026-1-01",  "20261101",
                                            "2026-11-01T00:00:00Z", "",           "2026-11-0x"};
    for (size_t i = 0; i < sizeof not_dates / sizeof *not_dates; i++)
        CHECK(!tly_stage_is_date(not_dates[i]) && date_of(not_dates[i]) == NULL);
    CHECK_STR(key_of("131.0.6778.86"), "{131,0,6778,86}");
    /* The bytes themselves: a field of 16, each number in 4, big-endian. */
    tly_strbuf_t raw;
    tly_strbuf_init(&raw, 64);
    tly_bin_version_key(&raw, "131.0.6778.86", 13);
    CHECK(raw.len == 20 && memcmp(raw.data,
                                  "\0\0\0\x10"
                                  "\0\0\0\x83\0\0\0\0\0\0\x1a\x7a\0\0\0\x56",
                                  20) == 0);
    tly_strbuf_free(&raw);
    /* A uuid: a field of 16, each pair of hex digits a byte, in order. */
    tly_strbuf_init(&raw, 64);
    tly_bin_uuid(&raw, "0123abcd-ef45-4678-89ab-cdef01234567");
    tly_bin_uuid(&raw, "ffffffff-0000-4000-8000-000000000009");
    CHECK(raw.len == 40 && memcmp(raw.data,
                                  "\0\0\0\x10"
                                  "\x01\x23\xab\xcd\xef\x45\x46\x78\x89\xab\xcd\xef\x01\x23\x45\x67"
                                  "\0\0\0\x10"
                                  "\xff\xff\xff\xff\0\0\x40\0\x80\0\0\0\0\0\0\x09",
                                  40) == 0);
    tly_strbuf_free(&raw);
    CHECK_STR(key_of(""), "{}");
    CHECK_STR(key_of("beta"), "{}");
    CHECK_STR(key_of("9.10"), "{9,10}");
    CHECK_STR(key_of("007"), "{7}");
    CHECK_STR(key_of("a1234567890123.b.7-x9"), "{123456789,7,9}"); /* runs cut to 9 digits */
    CHECK_STR(key_of("2024.1 (build 17)"), "{2024,1,17}");
    CHECK_STR(key_of("\xd9\xa1\xd9\xa2 3"), "{3}"); /* only ASCII digits count */

    CHECK_STR(escaped("plain"), "plain");
    CHECK_STR(escaped("a\tb\\c\nd\re"), "a\\tb\\\\c\\nd\\re");
    CHECK_STR(escaped("C:\\Program Files\\"), "C:\\\\Program Files\\\\");
    CHECK_DONE();
}
