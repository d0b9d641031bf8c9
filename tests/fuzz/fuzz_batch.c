/* libFuzzer driver: an agent's body through everything serve does to it on
 * the poll thread: JSON parse under the depth limit, schema validation; and the same
 * bytes as a gzip body. The schema is read from $TALLY_SCHEMA once.
 *
 * The parser (common/json.c) is also checked against jansson, the reference
 * it replaced: both accept or both refuse every input, and what both
 * accept is the same tree. */
#include "common/json.h"
#include "common/jsonschema.h"
#include "server/body.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tly_schema_t *schema;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("TALLY_SCHEMA");
    FILE *f = path ? fopen(path, "rb") : NULL;
    static char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof text, f) : 0;
    char err[256];
    if (f == NULL || !tly_schema_compile(text, n, &schema, err, sizeof err)) {
        fprintf(stderr, "fuzz_batch: set TALLY_SCHEMA to the batch schema file\n");
        abort();
    }
    fclose(f);
    return 0;
}

static bool same_tree(const tly_json_t *a, const json_t *b)
{
    switch (a->type) {
    case TLY_JSON_NULL:
        return json_is_null(b);
    case TLY_JSON_TRUE:
        return json_is_true(b);
    case TLY_JSON_FALSE:
        return json_is_false(b);
    case TLY_JSON_INTEGER:
        return json_is_integer(b) && json_integer_value(b) == a->u.i;
    case TLY_JSON_REAL:
        return json_is_real(b) &&
               memcmp(&a->u.d, &(double){json_real_value(b)}, sizeof a->u.d) == 0;
    case TLY_JSON_STRING:
        return json_is_string(b) && json_string_length(b) == a->len &&
               memcmp(json_string_value(b), a->u.s, a->len) == 0 && a->u.s[a->len] == '\0';
    case TLY_JSON_ARRAY:
        if (!json_is_array(b) || json_array_size(b) != a->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++)
            if (!same_tree(&a->u.items[i], json_array_get(b, i)))
                return false;
        return true;
    case TLY_JSON_OBJECT:
        if (!json_is_object(b) || json_object_size(b) != a->len)
            return false;
        for (uint32_t i = 0; i < a->len; i++) {
            const tly_json_member_t *m = &a->u.members[i];
            const json_t *v = json_object_getn(b, m->key, m->key_len);
            if (v == NULL || !same_tree(&m->value, v))
                return false;
        }
        return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    /* jansson's own depth limit is 2048, ours 512: compare below both. */
    tly_json_error_t err;
    tly_json_doc_t *mine = tly_json_parse(text, size, 0, NULL, &err);
    if (mine != NULL || err.code != TLY_JSON_E_DEPTH) {
        json_t *ref = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        /* A NUL byte is never JSON; jansson skips some (after a number,
         * for one), so for those inputs only ours is held to the rule. */
        bool nul = memchr(text, '\0', size) != NULL;
        if (nul ? mine != NULL : (mine == NULL) != (ref == NULL))
            abort(); /* one parser accepts what the other refuses */
        if (mine != NULL && ref != NULL && !same_tree(tly_json_root(mine), ref))
            abort();
        json_decref(ref);
    }
    tly_json_free(mine);
    /* Then as serve does: its depth limit, and the schema. */
    tly_json_doc_t *doc =
        tly_json_parse(text, size, 0, &(tly_json_limits_t){.max_depth = 16}, NULL);
    if (doc != NULL) {
        tly_problem_t p;
        if (!tly_schema_validate(schema, tly_json_root(doc), &p) &&
            (p.status != 422 || p.rule[0] == '\0'))
            abort(); /* every refusal must name its rule */
        tly_json_free(doc);
    }
    char *out = NULL;
    size_t out_len = 0;
    tly_problem_t p;
    if (tly_body_gunzip(text, size, 1 << 20, 100, &out, &out_len, &p)) {
        if (out_len > (1 << 20) || out[out_len] != '\0')
            abort(); /* the cap and the NUL terminator are promises */
        free(out);
    } else if (p.status != 400 && p.status != 413) {
        abort();
    }
    return 0;
}
