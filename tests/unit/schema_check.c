/* schema_check SCHEMA FILE...: validates each FILE with the C interpreter
 * and prints "<file>\tvalid" or "<file>\t<keyword>\t<pointer>" (a file that
 * is not JSON prints "<file>\tinvalid-json\t"). Exit 0 once every file is
 * checked; 2 on usage errors or a schema that does not compile. Used by
 * tests/schema/agreement.sh to compare with ajv. */
#include "common/jsonschema.h"
#include "tests/unit/read_text.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SCHEMA FILE...\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    char *text = read_text(argv[1], &len);
    if (text == NULL)
        return 2; /* read_text said why */
    tly_schema_t *s = NULL;
    char err[512];
    bool ok = tly_schema_compile(text, len, &s, err, sizeof err);
    free(text);
    if (!ok) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        json_error_t jerr;
        /* The server's flags, plus any top-level value, as JSON.parse. */
        json_t *doc = json_load_file(argv[i], JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        tly_problem_t p;
        if (doc == NULL)
            printf("%s\tinvalid-json\t\n", argv[i]);
        else if (tly_schema_validate(s, doc, &p))
            printf("%s\tvalid\n", argv[i]);
        else
            printf("%s\t%s\t%s\n", argv[i], p.rule, p.pointer);
        json_decref(doc);
    }
    tly_schema_destroy(s);
    return 0;
}
