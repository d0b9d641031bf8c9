/* libFuzzer driver: an agent's body through everything serve does to it on
 * the poll thread: depth scan, JSON parse, schema validation; and the same
 * bytes as a gzip body. The schema is read from $TALLY_SCHEMA once. */
#include "common/jsonschema.h"
#include "server/body.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (tly_json_depth_within(text, size, 16)) {
        json_t *doc = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
        if (doc != NULL) {
            tly_problem_t p;
            if (!tly_schema_validate(schema, doc, &p) && (p.status != 422 || p.rule[0] == '\0'))
                abort(); /* every refusal must name its rule */
            json_decref(doc);
        }
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
