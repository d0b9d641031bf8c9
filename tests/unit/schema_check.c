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
        /* The server's parser, plus any top-level value, as JSON.parse. */
        size_t doc_len = 0;
        char *doc_text = read_text(argv[i], &doc_len);
        tly_json_doc_t *doc =
            doc_text ? tly_json_parse(doc_text, doc_len, TLY_JSON_ANY_TOP, NULL, NULL) : NULL;
        tly_problem_t p;
        if (doc == NULL)
            printf("%s\tinvalid-json\t\n", argv[i]);
        else if (tly_schema_validate(s, tly_json_root(doc), &p))
            printf("%s\tvalid\n", argv[i]);
        else
            printf("%s\t%s\t%s\n", argv[i], p.rule, p.pointer);
        tly_json_free(doc);
        free(doc_text);
    }
    tly_schema_destroy(s);
    return 0;
}
