/* The JSON Schema interpreter against schema/inventory-batch.v1.schema.json
 * and its examples (every valid file passes, every invalid file fails with
 * the keyword and pointer of expected.tsv), plus targeted cases: unsupported
 * schemas, code-point lengths, integral reals, pointer escaping, ajv's check
 * order and a document nested far deeper than the schema.
 * Usage: test_jsonschema REPO_ROOT */
#include "common/jsonschema.h"
#include "tests/unit/read_text.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>

static const char *repo_root;

static tly_schema_t *compile_text(const char *text, char *err, size_t err_len)
{
    tly_schema_t *s = NULL;
    if (!tly_schema_compile(text, strlen(text), &s, err, err_len))
        return NULL;
    return s;
}

static tly_schema_t *load_inventory_schema(void)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/schema/inventory-batch.v1.schema.json", repo_root);
    size_t len = 0;
    char *text = read_text(path, &len);
    tly_schema_t *s = NULL;
    CHECK(text != NULL);
    if (text != NULL && !tly_schema_compile(text, len, &s, err, sizeof err))
        fprintf(stderr, "compile failed: %s\n", err);
    CHECK(s != NULL);
    free(text);
    return s;
}

/* An example parsed as the server parses bodies. */
static tly_json_doc_t *load_example(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/schema/examples/%s/%s", repo_root, dir, name);
    size_t len = 0;
    char *text = read_text(path, &len);
    tly_json_error_t jerr;
    tly_json_doc_t *doc = text ? tly_json_parse(text, len, 0, NULL, &jerr) : NULL;
    if (text != NULL && doc == NULL)
        fprintf(stderr, "%s: %s\n", path, jerr.text);
    free(text);
    return doc;
}

static bool is_json_file(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0;
}

static void test_valid_examples(const tly_schema_t *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/schema/examples/valid", repo_root);
    DIR *d = opendir(path);
    CHECK(d != NULL);
    int passed = 0, files = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (!is_json_file(e->d_name))
            continue;
        files++;
        tly_json_doc_t *doc = load_example("valid", e->d_name);
        tly_problem_t p;
        bool ok = doc != NULL && tly_schema_validate(s, tly_json_root(doc), &p);
        if (!ok && doc != NULL)
            fprintf(stderr, "valid/%s rejected: %s\n", e->d_name, p.detail);
        CHECK(ok);
        passed += ok;
        tly_json_free(doc);
    }
    if (d != NULL)
        closedir(d);
    CHECK(files >= 8);
    printf("valid examples: %d of %d pass\n", passed, files);
}

static size_t count_values(const tly_json_t *v)
{
    size_t n = 1;
    for (uint32_t i = 0; v->type == TLY_JSON_ARRAY && i < v->len; i++)
        n += count_values(&v->u.items[i]);
    for (uint32_t i = 0; v->type == TLY_JSON_OBJECT && i < v->len; i++)
        n += count_values(&v->u.members[i].value);
    return n;
}

/* tly_schema_max_values: exact on small schemas; on the batch schema
 * bounded, and above every valid example (so serve's parse bound never
 * refuses a valid batch). */
static void test_max_values(const tly_schema_t *s)
{
    static const struct {
        const char *schema;
        size_t want;
    } cases[] = {
        {"{\"type\":\"string\"}", 1},
        {"{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
         "\"a\":{\"type\":\"array\",\"maxItems\":3,\"items\":{\"type\":\"integer\"}},"
         "\"b\":{\"type\":\"string\"}}}",
         6},
        {"{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"string\"}}}", SIZE_MAX},
        {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", SIZE_MAX},
        {"{\"type\":[\"array\",\"string\"],\"maxItems\":2,\"items\":{\"type\":\"array\","
         "\"maxItems\":4,\"items\":{\"type\":\"null\"}}}",
         11},
        {"{\"$defs\":{\"p\":{\"type\":\"array\",\"maxItems\":5,\"items\":{\"type\":\"integer\"}}},"
         "\"$ref\":\"#/$defs/p\"}",
         6},
        {"{\"enum\":[1,2,3]}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        tly_schema_t *c = compile_text(cases[i].schema, err, sizeof err);
        CHECK(c != NULL);
        if (c == NULL) {
            fprintf(stderr, "%s: %s\n", cases[i].schema, err);
            continue;
        }
        size_t got = tly_schema_max_values(c);
        if (got != cases[i].want)
            fprintf(stderr, "%s: max values %zu, want %zu\n", cases[i].schema, got, cases[i].want);
        CHECK(got == cases[i].want);
        tly_schema_destroy(c);
    }
    size_t bound = tly_schema_max_values(s);
    CHECK(bound < SIZE_MAX);
    char path[4096];
    snprintf(path, sizeof path, "%s/schema/examples/valid", repo_root);
    DIR *d = opendir(path);
    size_t most = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (!is_json_file(e->d_name))
            continue;
        tly_json_doc_t *doc = load_example("valid", e->d_name);
        size_t n = doc != NULL ? count_values(tly_json_root(doc)) : 0;
        most = n > most ? n : most;
        tly_json_free(doc);
    }
    if (d != NULL)
        closedir(d);
    CHECK(most > 0 && most <= bound);
    printf("batch schema: at most %zu values; the largest valid example has %zu\n", bound, most);
}

static int count_json_files(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/schema/examples/%s", repo_root, dir);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        n += is_json_file(e->d_name);
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_invalid_examples(const tly_schema_t *s)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/schema/examples/invalid/expected.tsv", repo_root);
    size_t len = 0;
    char *tsv = read_text(path, &len);
    CHECK(tsv != NULL);
    int rows = 0, matched = 0;
    char *save = NULL;
    /* Header line first; columns file, keyword, pointer (may be empty). */
    char *line = tsv ? strtok_r(tsv, "\n", &save) : NULL;
    CHECK(line != NULL && strncmp(line, "file\t", 5) == 0);
    while (line != NULL && (line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        CHECK(tab2 != NULL);
        if (tab2 == NULL)
            continue;
        *tab1 = *tab2 = '\0';
        const char *file = line, *keyword = tab1 + 1, *pointer = tab2 + 1;
        rows++;
        tly_json_doc_t *doc = load_example("invalid", file);
        CHECK(doc != NULL);
        tly_problem_t p;
        if (doc == NULL || tly_schema_validate(s, tly_json_root(doc), &p)) {
            fprintf(stderr, "invalid/%s was accepted\n", file);
            check_failures++;
            tly_json_free(doc);
            continue;
        }
        bool ok = strcmp(p.rule, keyword) == 0 && strcmp(p.pointer, pointer) == 0 &&
                  p.detail[0] != '\0' && p.status == 422 &&
                  strcmp(p.slug, "validation-failed") == 0;
        if (!ok)
            fprintf(stderr, "invalid/%s: got %s at \"%s\" (%s), want %s at \"%s\"\n", file, p.rule,
                    p.pointer, p.detail, keyword, pointer);
        CHECK(ok);
        matched += ok;
        tly_json_free(doc);
    }
    free(tsv);
    CHECK(rows == count_json_files("invalid")); /* every file has its row */
    CHECK(rows >= 86);
    printf("invalid examples: %d of %d fail with the expected keyword and pointer\n", matched,
           rows);
}

/* Details name the pointer, the rule's limit and the actual value. */
static void test_details(const tly_schema_t *s)
{
    tly_problem_t p;
    tly_json_doc_t *doc = load_example("invalid", "maxLength--hostname-too-long.json");
    CHECK(doc != NULL && !tly_schema_validate(s, tly_json_root(doc), &p));
    CHECK(strncmp(p.detail, "/device/hostname is ", 20) == 0);
    CHECK(strstr(p.detail, "at most 255 are allowed") != NULL);
    tly_json_free(doc);

    doc = load_example("invalid", "additionalProperties--unknown-device-field.json");
    CHECK(doc != NULL && !tly_schema_validate(s, tly_json_root(doc), &p));
    CHECK(strstr(p.detail, "/device has the unknown member \"") == p.detail);
    tly_json_free(doc);

    doc = load_example("invalid", "required--missing-batch-id.json");
    CHECK(doc != NULL && !tly_schema_validate(s, tly_json_root(doc), &p));
    CHECK_STR(p.detail, "The document lacks the required member \"batch_id\"");
    tly_json_free(doc);
}

static void test_unsupported_schemas(void)
{
    static const struct {
        const char *schema;
        const char *reason; /* expected in the error */
    } cases[] = {
        {"{\"type\":\"string\",\"format\":\"email\",\"pattern\":\"^a$\"}",
         "format must be \"date\" or \"date-time\""},
        {"{\"type\":\"string\",\"format\":\"date\"}", "format needs a pattern"},
        {"{\"type\":\"array\",\"uniqueItems\":true}", "unsupported keyword \"uniqueItems\""},
        {"{\"type\":\"object\",\"properties\":{\"a\":{\"minimum\":1,\"exclusiveMaximum\":2}}}",
         "#/properties/a: unsupported keyword \"exclusiveMaximum\""},
        {"{\"properties\":{\"a\":true}}", "boolean schemas"},
        {"{\"additionalProperties\":true}", "additionalProperties"},
        {"{\"$ref\":\"#/$defs/missing\",\"$defs\":{}}", "does not name"},
        {"{\"$ref\":\"other.json#/x\"}", "\"#/$defs/<name>\""},
        {"{\"$ref\":\"#/$defs/a%20b\",\"$defs\":{\"a b\":{}}}", "only \"#/$defs/<name>\""},
        {"{\"$ref\":\"#/$defs/a\",\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},"
         "\"b\":{\"items\":{\"$ref\":\"#/$defs/a\"}}}}",
         "recursive $ref"},
        {"{\"type\":\"string\",\"pattern\":\"^\\\\d+$\"}", "portable subset"},
        {"{\"type\":\"string\",\"pattern\":\"^a.b$\"}", "portable subset"},
        {"{\"type\":\"string\",\"pattern\":\"^[^a]$\"}", "portable subset"},
        {"{\"type\":\"string\",\"pattern\":\"^[[:alpha:]]$\"}", "portable subset"},
        {"{\"type\":\"string\",\"pattern\":\"^(a$\"}", "does not compile"},
        {"{\"type\":\"text\"}", "unknown type"},
        {"{\"maxLength\":-1}", "non-negative integer"},
        {"{\"items\":{\"$id\":\"x\"}}", "only supported at the root"},
        {"{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}", "$schema"},
        {"{\"a\":1,\"a\":2}", "not valid JSON"},
    };
    for (size_t i = 0; i < TLY_ARRAY_LEN(cases); i++) {
        char err[512] = "";
        tly_schema_t *s = compile_text(cases[i].schema, err, sizeof err);
        CHECK(s == NULL);
        if (strstr(err, cases[i].reason) == NULL) {
            fprintf(stderr, "schema %s: error \"%s\" lacks \"%s\"\n", cases[i].schema, err,
                    cases[i].reason);
            check_failures++;
        }
        tly_schema_destroy(s);
    }
    /* More than 32 levels of instance nesting is refused. */
    char deep[4096] = "";
    for (int i = 0; i < 33; i++)
        strcat(deep, "{\"items\":");
    strcat(deep, "{}");
    for (int i = 0; i < 33; i++)
        strcat(deep, "}");
    char err[512];
    tly_schema_t *s = compile_text(deep, err, sizeof err);
    CHECK(s == NULL && strstr(err, "levels of nesting") != NULL);
    tly_schema_destroy(s);
    tly_schema_destroy(NULL);
}

/* Validates a JSON text against a schema text; returns the rule broken
 * ("" when valid) and fills *p. */
static const char *check_text(const char *schema, const char *doc_text, tly_problem_t *p)
{
    static char rule[64];
    char err[512];
    tly_schema_t *s = compile_text(schema, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "compile failed: %s\n", err);
        return "(compile failed)";
    }
    tly_json_doc_t *doc = tly_json_parse(doc_text, strlen(doc_text), TLY_JSON_ANY_TOP, NULL, NULL);
    snprintf(rule, sizeof rule, "%s", "(bad document)");
    if (doc != NULL)
        snprintf(rule, sizeof rule, "%s",
                 tly_schema_validate(s, tly_json_root(doc), p) ? "" : p->rule);
    tly_json_free(doc);
    tly_schema_destroy(s);
    return rule;
}

static void test_code_point_lengths(void)
{
    tly_problem_t p;
    const char *schema = "{\"type\":\"string\",\"maxLength\":255}";
    /* U+00E9 (2 bytes) and U+1F600 (4 bytes, a surrogate pair in UTF-16). */
    const char *chars[] = {"\xC3\xA9", "\xF0\x9F\x98\x80"};
    for (size_t c = 0; c < TLY_ARRAY_LEN(chars); c++) {
        char doc[2048] = "\"";
        for (int i = 0; i < 255; i++)
            strcat(doc, chars[c]);
        strcat(doc, "\"");
        CHECK_STR(check_text(schema, doc, &p), "");
        doc[strlen(doc) - 1] = '\0';
        strcat(doc, chars[c]);
        strcat(doc, "\"");
        CHECK_STR(check_text(schema, doc, &p), "maxLength");
        CHECK_STR(p.pointer, "");
        CHECK_STR(p.detail, "The document is 256 characters long; at most 255 are allowed");
    }
    CHECK_STR(check_text("{\"minLength\":2}", "\"\xF0\x9F\x98\x80\"", &p), "minLength");
    CHECK_STR(p.detail, "The document is 1 character long; at least 2 are required");
}

static void test_integers(void)
{
    tly_problem_t p;
    const char *schema = "{\"type\":\"integer\",\"minimum\":0,\"maximum\":9007199254740991}";
    CHECK_STR(check_text(schema, "4", &p), "");
    CHECK_STR(check_text(schema, "4.0", &p), "");
    CHECK_STR(check_text(schema, "4.5", &p), "type");
    CHECK_STR(p.detail, "The document is the number 4.5; an integer is required");
    CHECK_STR(check_text(schema, "-0.0", &p), "");
    CHECK_STR(check_text(schema, "9007199254740991", &p), "");
    CHECK_STR(check_text(schema, "9007199254740992", &p), "maximum");
    CHECK_STR(check_text(schema, "9007199254740991.0", &p), ""); /* rounds to 2^53 - 1 */
    CHECK_STR(check_text(schema, "1e300", &p), "maximum");       /* integral, as in ajv */
    CHECK_STR(check_text(schema, "-1", &p), "minimum");
    CHECK_STR(check_text(schema, "\"4\"", &p), "type");
    /* Mixed integer/real limits compare exactly. */
    CHECK_STR(check_text("{\"maximum\":0.5}", "0", &p), "");
    CHECK_STR(check_text("{\"maximum\":0.5}", "1", &p), "maximum");
    CHECK_STR(check_text("{\"minimum\":-0.5}", "-1", &p), "minimum");
    CHECK_STR(check_text("{\"maximum\":9223372036854775807}", "9223372036854775807", &p), "");
    CHECK_STR(check_text("{\"maximum\":100}", "100.000001", &p), "maximum");
    /* const/enum compare numbers by value, like JavaScript. */
    CHECK_STR(check_text("{\"const\":1}", "1.0", &p), "");
    CHECK_STR(check_text("{\"const\":\"1\"}", "1", &p), "const");
    CHECK_STR(check_text("{\"enum\":[1,null,true]}", "true", &p), "");
    CHECK_STR(check_text("{\"enum\":[1,null,true]}", "false", &p), "enum");
}

static void test_pointer_escaping(void)
{
    tly_problem_t p;
    const char *schema = "{\"type\":\"object\",\"properties\":{\"a/b\":{\"type\":\"array\","
                         "\"items\":{\"type\":\"object\",\"properties\":{\"c~d\":{\"type\":"
                         "\"string\"}}}}}}";
    CHECK_STR(check_text(schema, "{\"a/b\":[{},{\"c~d\":5}]}", &p), "type");
    CHECK_STR(p.pointer, "/a~1b/1/c~0d");
    CHECK(strncmp(p.detail, "/a~1b/1/c~0d is the number 5; a string is required", 60) == 0);
}

/* Where ajv puts the type check, and which unknown member it names. */
static void test_ajv_order(void)
{
    tly_problem_t p;
    /* A string schema with string keywords checks enum before the type. */
    CHECK_STR(check_text("{\"type\":\"string\",\"maxLength\":5,\"enum\":[\"a\"]}", "5", &p),
              "enum");
    CHECK_STR(check_text("{\"type\":\"string\",\"maxLength\":1,\"enum\":[\"ab\"]}", "\"ab\"", &p),
              "maxLength");
    /* Without keywords of its own group, the type comes first. */
    CHECK_STR(check_text("{\"type\":\"string\",\"enum\":[\"a\"]}", "5", &p), "type");
    CHECK_STR(check_text("{\"type\":\"integer\",\"minimum\":1,\"enum\":[2]}", "\"x\"", &p), "type");
    CHECK_STR(check_text("{\"type\":[\"string\",\"null\"],\"maxLength\":1}", "null", &p), "");
    CHECK_STR(check_text("{\"type\":[\"string\",\"null\"],\"maxLength\":1}", "1", &p), "type");
    CHECK_STR(p.detail, "The document is the number 1; null or a string is required");
    /* Objects: required, then additionalProperties, then properties. */
    const char *obj = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
                      "\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"string\"}}}";
    CHECK_STR(check_text(obj, "{\"b\":1,\"x\":1}", &p), "required");
    CHECK_STR(p.detail, "The document lacks the required member \"a\"");
    CHECK_STR(check_text(obj, "{\"a\":1,\"x\":1}", &p), "additionalProperties");
    CHECK_STR(check_text(obj, "{\"b\":1,\"a\":2}", &p), "type");
    CHECK_STR(p.pointer, "/a"); /* schema order, not document order */
    CHECK_STR(check_text(obj, "[]", &p), "type");
    /* JavaScript lists array-index keys first, in numeric order. */
    CHECK_STR(check_text(obj, "{\"a\":\"\",\"zz\":1,\"10\":1,\"3\":1}", &p),
              "additionalProperties");
    CHECK(strstr(p.detail, "unknown member \"3\"") != NULL);
    CHECK_STR(check_text(obj, "{\"a\":\"\",\"zz\":1,\"yy\":1}", &p), "additionalProperties");
    CHECK(strstr(p.detail, "unknown member \"zz\"") != NULL);
    /* Arrays: maxItems before items. */
    CHECK_STR(check_text("{\"maxItems\":1,\"items\":{\"type\":\"string\"}}", "[1,2]", &p),
              "maxItems");
    CHECK_STR(check_text("{\"minItems\":2,\"items\":{\"type\":\"string\"}}", "[\"a\"]", &p),
              "minItems");
    /* $ref is applied at the same instance location. */
    const char *ref = "{\"$defs\":{\"s\":{\"type\":\"string\",\"pattern\":\"^a+$\"}},"
                      "\"properties\":{\"x\":{\"$ref\":\"#/$defs/s\"}}}";
    CHECK_STR(check_text(ref, "{\"x\":\"aab\"}", &p), "pattern");
    CHECK_STR(p.pointer, "/x");
    CHECK_STR(p.detail, "/x does not match the pattern ^a+$");
    CHECK_STR(check_text(ref, "{\"x\":\"aaa\"}", &p), "");
}

typedef struct {
    const tly_schema_t *s;
    const tly_json_t *doc;
    tly_problem_t p;
    bool valid;
} job_t;

static void *validate_job(void *arg)
{
    job_t *job = arg;
    job->valid = tly_schema_validate(job->s, job->doc, &job->p);
    return NULL;
}

/* Runs a validation on a thread with a 256 KiB stack: a walk that recursed
 * into the document would overflow it. */
static bool validate_small_stack(job_t *job)
{
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 256 * 1024) != 0 ||
        pthread_create(&t, &attr, validate_job, job) != 0)
        return false;
    pthread_attr_destroy(&attr);
    return pthread_join(t, NULL) == 0;
}

/* A copy of obj's members with one more, (name, value), at the end;
 * replacing the member of that name if there is one. free() it. */
static tly_json_member_t *with_member(const tly_json_t *obj, const char *name,
                                      const tly_json_t *value, uint32_t *len_out)
{
    tly_json_member_t *m = calloc(obj->len + 1, sizeof *m);
    uint32_t n = 0;
    for (uint32_t i = 0; i < obj->len; i++)
        if (strcmp(obj->u.members[i].key, name) != 0)
            m[n++] = obj->u.members[i];
    m[n++] = (tly_json_member_t){.key = name, .key_len = (uint32_t)strlen(name), .value = *value};
    *len_out = n;
    return m;
}

/* Validates minimal.json with device.<name> (or agent.<name>) set to value:
 * the tree is put together by hand, as the parser refuses such depth. */
static job_t validate_with(const tly_schema_t *s, const tly_json_t *root, const char *parent,
                           const char *name, const tly_json_t *value)
{
    tly_json_t child = *tly_json_get(root, parent), doc = *root;
    tly_json_member_t *child_members = with_member(&child, name, value, &child.len);
    child.u.members = child_members;
    tly_json_member_t *members = with_member(root, parent, &child, &doc.len);
    doc.u.members = members;
    job_t job = {.s = s, .doc = &doc};
    CHECK(validate_small_stack(&job));
    free(members);
    free(child_members);
    return job;
}

static void test_deep_document(const tly_schema_t *s)
{
    tly_json_doc_t *doc = load_example("valid", "minimal.json");
    CHECK(doc != NULL);
    if (doc == NULL)
        return;
    const tly_json_t *root = tly_json_root(doc);
    /* 20000 nested arrays around a string. */
    enum { DEPTH = 20000 };
    tly_json_t *chain = calloc(DEPTH + 1, sizeof *chain);
    for (int i = 0; i < DEPTH; i++)
        chain[i] = (tly_json_t){.type = TLY_JSON_ARRAY, .len = 1, .u.items = &chain[i + 1]};
    chain[DEPTH] = (tly_json_t){.type = TLY_JSON_STRING, .len = 6, .u.s = "bottom"};

    job_t job = validate_with(s, root, "device", "bios", chain); /* unknown: not descended into */
    CHECK(!job.valid);
    CHECK_STR(job.p.rule, "additionalProperties");
    CHECK_STR(job.p.pointer, "/device");
    CHECK(strstr(job.p.detail, "\"bios\"") != NULL);

    job = validate_with(s, root, "device", "hostname", chain); /* known member, string schema */
    CHECK(!job.valid);
    CHECK_STR(job.p.rule, "type");
    CHECK_STR(job.p.pointer, "/device/hostname");

    /* Long and odd unknown member names are quoted, cut, and escaped. */
    char name[300];
    memset(name, 'k', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memcpy(name, "a\"b", 3);
    const tly_json_t yes = {.type = TLY_JSON_TRUE};
    job = validate_with(s, root, "agent", name, &yes);
    CHECK(!job.valid && strcmp(job.p.pointer, "/agent") == 0);
    CHECK(strstr(job.p.detail, "\"a\\\"bkkk") != NULL);
    CHECK(strstr(job.p.detail, "kkk\"...;") != NULL);
    CHECK(strlen(job.p.detail) < 200);

    free(chain);
    tly_json_free(doc);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s REPO_ROOT\n", argv[0]);
        return 2;
    }
    repo_root = argv[1];
    tly_schema_t *s = load_inventory_schema();
    if (s != NULL) {
        test_valid_examples(s);
        test_invalid_examples(s);
        test_details(s);
        test_deep_document(s);
        test_max_values(s);
    }
    test_unsupported_schemas();
    test_code_point_lengths();
    test_integers();
    test_pointer_escaping();
    test_ajv_order();
    tly_schema_destroy(s);
    CHECK_DONE();
}
