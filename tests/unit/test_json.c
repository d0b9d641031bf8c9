/* common/json.c: what it accepts, what it refuses and why, and the tree it
 * builds. (tests/fuzz compares it with jansson on random input.) */
#include "common/json.h"
#include "tests/unit/check.h"

#include <math.h>
#include <stdlib.h>

static tly_json_code_t code_of(const char *text)
{
    tly_json_error_t err;
    tly_json_doc_t *doc = tly_json_parse(text, strlen(text), 0, NULL, &err);
    tly_json_free(doc);
    return doc != NULL ? TLY_JSON_OK : err.code;
}

static void test_refusals(void)
{
    static const char *const syntax[] = {
        "",
        " ",
        "42",
        "\"s\"",
        "null",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[-]",
        "[+1]",
        "[NaN]",
        "[Infinity]",
        "[tru]",
        "{} x",
        "[] []",
        "[\"a\\x\"]",
        "[\"\\u12\"]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]",
        "[\"\\u0000\"]",
        "[\"tab\there\"]",
        "[9223372036854775808]",
        "[-9223372036854775809]",
        "[1e400]",
        "[-1e400]",
        "{1:2}",
        "['a']",
    };
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        tly_json_code_t c = code_of(syntax[i]);
        if (c != TLY_JSON_E_SYNTAX)
            fprintf(stderr, "[%s]: code %d\n", syntax[i], (int)c);
        CHECK(c == TLY_JSON_E_SYNTAX);
    }
    static const char *const utf8[] = {
        "[\"\xff\"]",
        "[\"\xc0\xaf\"]",
        "[\"\xe0\x80\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xc3\"]",
        "\xfe[]",
        "[] \xff",
    };
    for (size_t i = 0; i < sizeof utf8 / sizeof utf8[0]; i++)
        CHECK(code_of(utf8[i]) == TLY_JSON_E_UTF8);
    CHECK(code_of("{\"a\":1,\"a\":2}") == TLY_JSON_E_DUPLICATE);
    CHECK(code_of("{\"a\":{\"b\":1},\"c\":{\"b\":2}}") == TLY_JSON_OK); /* per object */
    /* 40 keys, the last repeating the 20th: the sorted path of the check. */
    for (int last = 19; last <= 99; last += 80) {
        char big[1024] = "{";
        for (int i = 0; i < 40; i++)
            snprintf(big + strlen(big), sizeof big - strlen(big), "%s\"k%d\":%d", i ? "," : "",
                     i == 39 ? last : i, i);
        strcat(big, "}");
        CHECK(code_of(big) == (last == 19 ? TLY_JSON_E_DUPLICATE : TLY_JSON_OK));
    }

    char deep[2 * TLY_JSON_MAX_DEPTH + 8];
    memset(deep, '[', TLY_JSON_MAX_DEPTH + 1);
    memset(deep + TLY_JSON_MAX_DEPTH + 1, ']', TLY_JSON_MAX_DEPTH + 1);
    deep[2 * TLY_JSON_MAX_DEPTH + 2] = '\0';
    CHECK(code_of(deep) == TLY_JSON_E_DEPTH);
}

/* max_depth counts arrays and objects open at once (serve passes
 * TALLY_MAX_JSON_DEPTH); brackets inside strings do not count. */
/* Strings are scanned eight bytes at a time: a special byte after any
 * number of plain ones, at every alignment, is still seen. */
static void test_string_scan(void)
{
    static const struct {
        const char *special; /* placed after k plain bytes */
        tly_json_code_t code;
        const char *value; /* the string's value when code is OK, after the k bytes */
    } cases[] = {
        {"\t", TLY_JSON_E_SYNTAX, NULL},   /* a raw tab */
        {"\x01", TLY_JSON_E_SYNTAX, NULL}, /* a raw control byte */
        {"\xff", TLY_JSON_E_UTF8, NULL},   /* never valid UTF-8 */
        {"\xc3\xa9z", TLY_JSON_OK, "\xc3\xa9z"}, {"\\\"q", TLY_JSON_OK, "\"q"},
        {"\\u0041", TLY_JSON_OK, "A"},           {"", TLY_JSON_OK, ""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t k = 0; k <= 40; k++) {
            char text[128], want[64];
            size_t n = 0;
            n += (size_t)snprintf(text + n, sizeof text - n, "[\"");
            for (size_t j = 0; j < k; j++)
                text[n++] = (char)('a' + j % 26);
            n += (size_t)snprintf(text + n, sizeof text - n, "%s\"]", cases[c].special);
            tly_json_error_t err;
            tly_json_doc_t *doc = tly_json_parse(text, n, 0, NULL, &err);
            tly_json_code_t got = doc != NULL ? TLY_JSON_OK : err.code;
            if (got != cases[c].code)
                fprintf(stderr, "case %zu after %zu bytes: code %d\n", c, k, (int)got);
            CHECK(got == cases[c].code);
            if (doc != NULL && cases[c].value != NULL) {
                memcpy(want, text + 2, k);
                snprintf(want + k, sizeof want - k, "%s", cases[c].value);
                CHECK_STR(tly_json_string(&tly_json_root(doc)->u.items[0]), want);
            }
            /* The error names the special byte's column (1-based, after "[\""). */
            if (doc == NULL)
                CHECK(err.column == (int)k + 3);
            tly_json_free(doc);
        }
    }
}

static tly_json_code_t code_at_depth(const char *text, unsigned max_depth)
{
    tly_json_error_t err;
    tly_json_doc_t *doc =
        tly_json_parse(text, strlen(text), 0, &(tly_json_limits_t){.max_depth = max_depth}, &err);
    tly_json_free(doc);
    return doc != NULL ? TLY_JSON_OK : err.code;
}

/* Escapes anywhere in a string: first, last, back to back, alone. */
static void test_escapes(void)
{
    static const struct {
        const char *json, *value;
    } cases[] = {
        {"[\"\\n\"]", "\n"},
        {"[\"\\\\\\\\\"]", "\\\\"},
        {"[\"C:\\\\Windows\\\\System32\\\\svchost.exe\"]", "C:\\Windows\\System32\\svchost.exe"},
        {"[\"\\tx\"]", "\tx"},
        {"[\"x\\t\"]", "x\t"},
        {"[\"\\u00e9\\u00E9\\ud83d\\ude00.\"]", "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80."},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tly_json_doc_t *doc = tly_json_parse(cases[c].json, strlen(cases[c].json), 0, NULL, NULL);
        CHECK(doc != NULL);
        if (doc != NULL)
            CHECK_STR(tly_json_string(&tly_json_root(doc)->u.items[0]), cases[c].value);
        tly_json_free(doc);
    }
}

/* tly_json_get_from finds members in any order, keeps its hint past the
 * match, and tells a key from its prefixes and extensions. */
static void test_get_from(void)
{
    static const char text[] = "{\"ab\":1,\"a\":2,\"abc\":3,\"b\":4}";
    tly_json_doc_t *doc = tly_json_parse(text, strlen(text), 0, NULL, NULL);
    CHECK(doc != NULL);
    if (doc == NULL)
        return;
    const tly_json_t *root = tly_json_root(doc);
    uint32_t hint = 0;
    const tly_json_t *v = tly_json_get_from(root, TLY_JSON_KEY("ab"), &hint);
    CHECK(v != NULL && v->u.i == 1 && hint == 1);
    v = tly_json_get_from(root, TLY_JSON_KEY("abc"), &hint); /* skips "a" */
    CHECK(v != NULL && v->u.i == 3 && hint == 3);
    v = tly_json_get_from(root, TLY_JSON_KEY("a"), &hint); /* wraps around */
    CHECK(v != NULL && v->u.i == 2 && hint == 2);
    CHECK(tly_json_get_from(root, TLY_JSON_KEY("abcd"), &hint) == NULL && hint == 2);
    CHECK(tly_json_get_from(root, TLY_JSON_KEY(""), &hint) == NULL);
    CHECK(tly_json_get_from(&root->u.members[0].value, TLY_JSON_KEY("ab"), &hint) ==
          NULL); /* not an object */
    hint = 99;   /* past the end: from the first member */
    v = tly_json_get_from(root, TLY_JSON_KEY("ab"), &hint);
    CHECK(v != NULL && v->u.i == 1 && hint == 1);
    /* By length and bytes, the empty key included. */
    CHECK(tly_json_get(root, "b")->u.i == 4 && tly_json_getn(root, "abx", 2)->u.i == 1);
    CHECK(tly_json_get(root, "") == NULL && tly_json_get(root, "c") == NULL);
    tly_json_free(doc);
    static const char empty[] = "{\"x\":1,\"\":2}";
    doc = tly_json_parse(empty, strlen(empty), 0, NULL, NULL);
    CHECK(doc != NULL && tly_json_get(tly_json_root(doc), "")->u.i == 2);
    hint = 0;
    CHECK(doc != NULL && tly_json_get_from(tly_json_root(doc), TLY_JSON_KEY(""), &hint)->u.i == 2 &&
          hint == 2);
    tly_json_free(doc);
}

/* The value bound counts every value, containers included, and stops the
 * parse at the first value past it. */
static void test_max_values(void)
{
    static const char text[] = "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}"; /* 7 values */
    tly_json_error_t err;
    tly_json_doc_t *doc =
        tly_json_parse(text, strlen(text), 0, &(tly_json_limits_t){.max_values = 7}, &err);
    CHECK(doc != NULL);
    tly_json_free(doc);
    doc = tly_json_parse(text, strlen(text), 0, &(tly_json_limits_t){.max_values = 6}, &err);
    CHECK(doc == NULL && err.code == TLY_JSON_E_VALUES);
    CHECK(err.column == 27); /* the 7th value, "x" */
    doc = tly_json_parse(text, strlen(text), 0, &(tly_json_limits_t){.max_values = 0}, &err);
    CHECK(doc != NULL); /* 0: no bound */
    tly_json_free(doc);
}

static void test_depth(void)
{
    const char four[] = "{\"a\":[{\"b\":[1,2]}]}";
    CHECK(code_at_depth(four, 4) == TLY_JSON_OK);
    CHECK(code_at_depth(four, 3) == TLY_JSON_E_DEPTH);
    CHECK(code_at_depth("{\"a\":\"[[[[{{{{\\\"[[[[\"}", 1) == TLY_JSON_OK);
    char deep[2001];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    CHECK(code_at_depth(deep, 16) == TLY_JSON_E_DEPTH);
    CHECK(code_at_depth(deep, 0) == TLY_JSON_E_DEPTH); /* 0: the parser's own bound, 512 */
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[600] = '\0';
    CHECK(code_at_depth(deep, 300) == TLY_JSON_OK);
    CHECK(code_at_depth(deep, 299) == TLY_JSON_E_DEPTH);

    tly_json_error_t err;
    CHECK(tly_json_parse("{\n  \"a\": tru }", 14, 0, NULL, &err) == NULL);
    CHECK(err.line == 2 && err.column == 8);
    CHECK(strstr(err.text, "invalid token") != NULL);
}

/* Integers on both sides of 18 digits (read directly up to there, by
 * strtoll above): their values, and what is refused. */
static void test_integers(void)
{
    static const struct {
        const char *text;
        int64_t value;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"7", 7},
        {"-12", -12},
        {"999999999999999999", 999999999999999999},
        {"-999999999999999999", -999999999999999999},
        {"1000000000000000000", 1000000000000000000},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
    };
    for (size_t c = 0; c < sizeof ok / sizeof ok[0]; c++) {
        char text[64];
        snprintf(text, sizeof text, "[%s]", ok[c].text);
        tly_json_doc_t *doc = tly_json_parse(text, strlen(text), 0, NULL, NULL);
        const tly_json_t *v = doc != NULL ? &tly_json_root(doc)->u.items[0] : NULL;
        CHECK(v != NULL && v->type == TLY_JSON_INTEGER && v->u.i == ok[c].value);
        tly_json_free(doc);
    }
    CHECK(code_of("[000]") == TLY_JSON_E_SYNTAX);
    CHECK(code_of("[9223372036854775808]") == TLY_JSON_E_SYNTAX);
    CHECK(code_of("[-9223372036854775809]") == TLY_JSON_E_SYNTAX);
    CHECK(code_of("[99999999999999999999]") == TLY_JSON_E_SYNTAX);
}

static void test_tree(void)
{
    const char text[] = " {\"s\":\"a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00\", \"i\":-0, \"big\":"
                        "9223372036854775807, \"r\":1.5e3, \"tiny\":1e-400, \"t\":true, "
                        "\"f\":false, \"n\":null, \"a\":[1,[2,{}],[]], \"e\":{}} ";
    tly_json_doc_t *doc = tly_json_parse(text, strlen(text), 0, NULL, NULL);
    CHECK(doc != NULL);
    if (doc == NULL)
        return;
    const tly_json_t *root = tly_json_root(doc);
    CHECK(root->type == TLY_JSON_OBJECT && root->len == 10);
    CHECK_STR(tly_json_string(tly_json_get(root, "s")), "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(tly_json_get(root, "s")->len == 13);
    const tly_json_t *i = tly_json_get(root, "i");
    CHECK(i->type == TLY_JSON_INTEGER && i->u.i == 0);
    CHECK(tly_json_get(root, "big")->u.i == INT64_MAX);
    const tly_json_t *r = tly_json_get(root, "r");
    CHECK(r->type == TLY_JSON_REAL && r->u.d == 1500.0);
    CHECK(tly_json_get(root, "tiny")->u.d == 0.0); /* underflow is not an error */
    CHECK(tly_json_is(tly_json_get(root, "t"), TLY_JSON_TRUE));
    CHECK(tly_json_is(tly_json_get(root, "f"), TLY_JSON_FALSE));
    CHECK(tly_json_is(tly_json_get(root, "n"), TLY_JSON_NULL));
    CHECK(tly_json_get(root, "missing") == NULL && tly_json_get(i, "x") == NULL);
    const tly_json_t *a = tly_json_get(root, "a");
    CHECK(tly_json_size(a) == 3 && tly_json_size(i) == 0);
    CHECK(a->u.items[1].u.items[1].type == TLY_JSON_OBJECT && a->u.items[2].len == 0);
    /* Source spans: the text of each value, as sent. */
    CHECK(a->src_len == 13 && strncmp(text + a->src_off, "[1,[2,{}],[]]", 13) == 0);
    CHECK(root->src_off == 1 && root->src_len == strlen(text) - 2);
    /* Member order is the document's. */
    CHECK_STR(root->u.members[0].key, "s");
    CHECK_STR(root->u.members[9].key, "e");
    tly_json_free(doc);

    /* Any value at the top only when asked (tools, JSON.parse semantics). */
    CHECK(code_of("42") == TLY_JSON_E_SYNTAX);
    doc = tly_json_parse(" 42 ", 4, TLY_JSON_ANY_TOP, NULL, NULL);
    CHECK(doc != NULL && tly_json_root(doc)->u.i == 42);
    tly_json_free(doc);
    tly_json_free(NULL);
}

int main(void)
{
    test_refusals();
    test_string_scan();
    test_max_values();
    test_escapes();
    test_get_from();
    test_depth();
    test_integers();
    test_tree();
    CHECK_DONE();
}
