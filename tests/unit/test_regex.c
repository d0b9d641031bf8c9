/* common/regex against glibc's POSIX regexec as the oracle: every pattern of
 * the batch schema and a set of tricky ones (anchors inside groups, empty
 * alternatives, nested and counted repeats) must give the same answer on
 * thousands of strings — mutations of strings that match and random ones —
 * and each pattern must have seen both answers. Then the syntax the
 * compiler refuses, and its caps.
 * Usage: test_regex REPO_ROOT */
#include "common/regex.h"
#include "common/util.h"
#include "tests/unit/check.h"
#include "tests/unit/read_text.h"

#include <jansson.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned next_rand(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Strings that match one pattern or another, to mutate. */
static const char *const SEEDS[] = {
    "192.168.10.254",
    "0.0.0.0",
    "fe80::1c2d:3e4f:5a6b:7c8d",
    "2001:db8:85a3::8a2e:370:7334",
    "::ffff:10.0.0.1",
    "1:2:3:4:5:6:7:8",
    "::",
    "00:1A:2B:3C:4D:5E",
    "00-1a-2b-3c-4d-5e",
    "KB5031356",
    "3f2a6c1e-9b7d-4e8f-a1c2-5d6e7f809a1b",
    "2026-11-22",
    "2026-11-22T06:45:12.123456Z",
    "2026-02-29T23:59:60+05:30",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "aaaaab",
    "abcabc",
    "abc",
    "xyz",
    "xxxy",
    "",
};

/* Bytes that mutations insert: what the patterns are made of, and some
 * that match nothing (a UTF-8 lead and continuation byte). */
static const char ALPHABET[] = "0123456789abcdefABCDEFKBTZ:-.+xyz\xc3\xa9 ";

static void mutate(char *s, size_t *len, size_t cap)
{
    unsigned op = next_rand(4);
    char c = ALPHABET[next_rand(sizeof ALPHABET - 1)];
    if (op == 0 && *len > 0) {
        s[next_rand((unsigned)*len)] = c;
    } else if (op == 1 && *len > 0) {
        size_t at = next_rand((unsigned)*len);
        memmove(s + at, s + at + 1, *len - at - 1);
        (*len)--;
    } else if (*len + 1 < cap) {
        size_t at = next_rand((unsigned)*len + 1);
        memmove(s + at + 1, s + at, *len - at);
        s[at] = c;
        (*len)++;
    }
}

enum { BOTH, ALWAYS, NEVER }; /* the answers a pattern's strings must give */

/* Compares tly_regex_search with regexec on many strings for one pattern;
 * fails on a disagreement, or when the answers were not as expected: both
 * for most patterns (all alike would show little), one for the few that
 * match every string or none. */
static void agree(const char *pattern, int expect)
{
    char err[256];
    tly_regex_t *re = NULL;
    regex_t posix;
    if (!tly_regex_compile(pattern, &re, err, sizeof err)) {
        fprintf(stderr, "pattern %s: %s\n", pattern, err);
        CHECK(0);
        return;
    }
    CHECK(regcomp(&posix, pattern, REG_EXTENDED | REG_NOSUB) == 0);
    unsigned yes = 0, no = 0, bad = 0;
    for (unsigned n = 0; n < 20000; n++) {
        char s[96];
        size_t len;
        if (n % 5 == 4) { /* random bytes of the alphabet */
            len = next_rand(24);
            for (size_t i = 0; i < len; i++)
                s[i] = ALPHABET[next_rand(sizeof ALPHABET - 1)];
        } else {
            const char *seed = SEEDS[next_rand(TLY_ARRAY_LEN(SEEDS))];
            len = strlen(seed);
            memcpy(s, seed, len);
            for (unsigned m = next_rand(3); m > 0; m--)
                mutate(s, &len, sizeof s - 1);
        }
        s[len] = '\0';
        regmatch_t range = {.rm_so = 0, .rm_eo = (regoff_t)len};
        bool want = regexec(&posix, s, 1, &range, REG_STARTEND) == 0;
        bool got = tly_regex_search(re, s, len);
        if (want != got && bad++ < 5)
            fprintf(stderr, "pattern %s on \"%s\": regexec %d, tly_regex %d\n", pattern, s, want,
                    got);
        if (want)
            yes++;
        else
            no++;
    }
    CHECK(bad == 0);
    bool as_expected = expect == ALWAYS ? no == 0 : expect == NEVER ? yes == 0 : yes > 0 && no > 0;
    if (!as_expected)
        fprintf(stderr, "pattern %s: %u matches, %u misses\n", pattern, yes, no);
    CHECK(as_expected);
    regfree(&posix);
    tly_regex_free(re);
}

static void schema_patterns(const json_t *v, unsigned *count)
{
    const char *key;
    json_t *child;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child)
        {
            if (strcmp(key, "pattern") == 0 && json_is_string(child)) {
                agree(json_string_value(child), BOTH);
                (*count)++;
            } else {
                schema_patterns(child, count);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child) schema_patterns(child, count);
    }
}

static void refused(const char *pattern, const char *reason)
{
    char err[256] = "";
    tly_regex_t *re = NULL;
    CHECK(!tly_regex_compile(pattern, &re, err, sizeof err));
    CHECK(re == NULL);
    if (strstr(err, reason) == NULL) {
        fprintf(stderr, "pattern %s: \"%s\" lacks \"%s\"\n", pattern, err, reason);
        CHECK(0);
    }
}

static bool search(const char *pattern, const char *s, size_t len)
{
    char err[256];
    tly_regex_t *re = NULL;
    if (!tly_regex_compile(pattern, &re, err, sizeof err)) {
        fprintf(stderr, "pattern %s: %s\n", pattern, err);
        CHECK(0);
        return false;
    }
    bool r = tly_regex_search(re, s, len);
    tly_regex_free(re);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_regex REPO_ROOT\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/schema/inventory-batch.v1.schema.json", argv[1]);
    size_t len = 0;
    char *text = read_text(path, &len);
    json_error_t jerr;
    json_t *schema = text ? json_loadb(text, len, 0, &jerr) : NULL;
    CHECK(schema != NULL);
    unsigned count = 0;
    schema_patterns(schema, &count);
    CHECK(count >= 7); /* the schema's patterns were all compared */
    json_decref(schema);
    free(text);

    static const char *const TRICKY[] = {
        "a",
        "^a",
        "a$",
        "^$",
        "$^",
        "(a|)b",
        "(|b)c$",
        "()x",
        "(a*)*b",
        "^(a|b)*c",
        "^(ab|a)(bc|c)$",
        "y{0}z",
        "^x{2,}y",
        "(ab){1,3}$",
        "^[a-c-]{2,4}$",
        "^[-z]+$",
        "a+b?c*$",
        "^((a|b)|(c|x)){3}$",
        "^(a?){5}a{5}$",
        "b|^a",
        "a$|^b",
        "(^a|b)c",
        "^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4}){0,2}$",
    };
    for (size_t i = 0; i < TLY_ARRAY_LEN(TRICKY); i++)
        agree(TRICKY[i], BOTH);
    agree("", ALWAYS);
    agree("a^b", NEVER);
    agree("a$b", NEVER);

    /* NUL is an ordinary byte that matches nothing. */
    CHECK(!search("^a+$", "a\0a", 3));
    CHECK(search("a$", "\0a", 2));
    CHECK(search("^$", "", 0));
    CHECK(!search("^$", "\0", 1));

    refused("a**", "portable subset");
    refused("a*?", "portable subset");
    refused("a.b", "portable subset");
    refused("\\d", "portable subset");
    refused("(?:a)", "portable subset");
    refused("[^a]", "portable subset");
    refused("[]a]", "portable subset");
    refused("[[:alpha:]]", "portable subset");
    refused("\xc3\xa9", "portable subset");
    refused("a]", "portable subset");
    refused("a}", "portable subset");
    refused("(a", "'(' without its ')' at offset 0");
    refused("a)", "')' without its '(' at offset 1");
    refused("[ab", "'[' without its ']'");
    refused("[z-a]", "range out of order");
    refused("*a", "nothing to repeat at offset 0");
    refused("^*", "quantifier on an anchor");
    refused("a{2,1}", "n below m");
    refused("a{,3}", "malformed {m,n}");
    refused("a{1001}", "above 1000");
    refused("a{99999999999}", "above 1000");
    refused("(a{1000}){1000}", "automaton states after repeats");
    refused("(a|b)*a(a|b){14}", "more than 10000 automaton states");
    char deep[200] = "";
    for (int i = 0; i < 65; i++)
        strcat(deep, "(");
    refused(deep, "nested too deeply");
    CHECK_DONE();
}
