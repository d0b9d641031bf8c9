/* ingest/stage.c's pure parts: COPY text escaping and the version key
 * (integration.software_diff checks the key against tally_version_key on
 * every stored row). */
#include "ingest/stage.h"
#include "tests/unit/check.h"

static const char *key_of(const char *version)
{
    static char out[256];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, out, sizeof out);
    tly_stage_version_key(version, strlen(version), &b);
    return out;
}

static const char *escaped(const char *s)
{
    static char out[256];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, out, sizeof out);
    tly_stage_text(&b, s, strlen(s));
    return out;
}

int main(void)
{
    CHECK_STR(key_of("131.0.6778.86"), "{131,0,6778,86}");
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
