/* A JSON Schema (draft 2020-12) interpreter for exactly the subset that
 * schema/inventory-batch.v1.schema.json uses, so the server validates agent
 * batches against the very file that documents them (one definition of the
 * document).
 *
 * Supported keywords: type (a name or an array of names), properties,
 * required, additionalProperties (false only), const and enum (scalar
 * values), pattern, minLength, maxLength, minimum, maximum, items (one
 * schema), minItems, maxItems, $ref ("#/$defs/<name>" only) and $defs (at the
 * root). Ignored annotations: $comment, title, description, examples,
 * default, and $schema / $id at the root. Anything else fails compilation,
 * so the schema cannot grow a rule that this code would silently skip.
 *
 * Semantics are those of ajv 8, the reference (tests/schema/agreement.sh):
 * lengths count Unicode code points; "integer" accepts 4.0; validation stops
 * at the first violation, found in the order ajv checks keywords. Patterns
 * must stay in the subset where POSIX EREs and ECMAScript agree (ASCII only,
 * no backslash, no '.', no "[^", no "(?"); common/regex.h compiles them into
 * automata. */
#ifndef TLY_COMMON_JSONSCHEMA_H
#define TLY_COMMON_JSONSCHEMA_H

#include "common/json.h"
#include "common/problem.h"
#include "common/util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct tly_schema tly_schema_t;

/* schema/inventory-batch.v1.schema.json, embedded at build time. */
extern const char tly_batch_schema_json[];
extern const size_t tly_batch_schema_json_len;

/* Compiles a schema document given as JSON text of len bytes (borrowed; no
 * NUL needed). Unsupported keywords, recursive $refs, schemas that
 * describe more than 32 levels of nesting and objects with more than 64
 * properties are errors. On failure writes a
 * reason naming the schema location into err (err_len bytes, NUL-terminated)
 * and leaves *out NULL. On success the caller owns *out (tly_schema_destroy).
 * Allocation failure aborts with a log line (start-up only). Not meant for
 * untrusted schemas. */
bool tly_schema_compile(const char *json_text, size_t len, tly_schema_t **out, char *err,
                        size_t err_len) TLY_MUSTCHECK;

/* The most values (containers included) a valid document can hold, from
 * the schema's maxItems and closed objects; SIZE_MAX when it sets no bound.
 * The parse of an untrusted document can stop there (tly_json_limits_t). */
size_t tly_schema_max_values(const tly_schema_t *s);
/* The bounds to parse an untrusted document within: max_depth, and no more
 * values than a valid one can hold (max_values 0, no bound, when the schema
 * sets none). */
tly_json_limits_t tly_schema_json_limits(const tly_schema_t *s, unsigned max_depth);

/* Frees a compiled schema; NULL is a no-op. No validation may be running. */
void tly_schema_destroy(tly_schema_t *s);

/* Validates doc (borrowed, not modified). Returns true if it is valid;
 * otherwise fills *p with the first violation: status 422, slug
 * "validation-failed", rule = the failing keyword, pointer = the RFC 6901
 * pointer of the failing instance location (the object itself for required
 * and additionalProperties), detail = a sentence naming the pointer, the rule
 * and the limit. On success *p is zeroed. Thread-safe: any number of threads
 * may validate with one compiled schema at once (nothing is modified).
 * Allocates nothing itself;
 * recursion is bounded by the schema's nesting, never by the document's. */
bool tly_schema_validate(const tly_schema_t *s, const tly_json_t *doc, tly_problem_t *p);

#endif
