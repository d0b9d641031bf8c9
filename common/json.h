/* A strict, fast JSON (RFC 8259) parser into a read-only tree.
 *
 * Why not jansson: parsing an agent batch with jansson took about 130 us
 * (270 us with duplicate-key rejection) for 5 KB, most of serve's CPU per
 * request; this parser builds the tree in a per-document arena in one pass.
 * It accepts exactly what jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * accepts (tests/fuzz checks the two side by side): an object or an array
 * at the top, nothing after it but whitespace, strings in valid UTF-8 (no
 * overlong forms, no surrogates) without control characters and without
 * \u0000, integers that fit int64_t, reals that do not overflow a double,
 * and no object with the same key twice.
 *
 * Ownership: the document owns every node and string; they live until
 * tly_json_free. Strings are NUL-terminated (they contain no NUL). Nodes
 * also remember their bytes in the parsed text (src_off, src_len), so a
 * section can be passed on verbatim. Thread-safety: a document is immutable
 * once parsed; any number of threads may read it. */
#ifndef TLY_COMMON_JSON_H
#define TLY_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    TLY_JSON_NULL,
    TLY_JSON_FALSE,
    TLY_JSON_TRUE,
    TLY_JSON_INTEGER, /* a number literal without fraction or exponent */
    TLY_JSON_REAL,
    TLY_JSON_STRING,
    TLY_JSON_ARRAY,
    TLY_JSON_OBJECT,
} tly_json_type_t;

typedef struct tly_json tly_json_t;
typedef struct tly_json_member tly_json_member_t;

struct tly_json {
    tly_json_type_t type;
    uint32_t len;     /* string: bytes; array: items; object: members */
    uint32_t src_off; /* the value's text is [src_off, src_off + src_len) of the input */
    uint32_t src_len;
    union {
        int64_t i;
        double d;
        const char *s;
        const tly_json_t *items;
        const tly_json_member_t *members; /* in document order */
    } u;
};

struct tly_json_member {
    const char *key;
    uint32_t key_len;
    tly_json_t value;
};

typedef enum {
    TLY_JSON_OK = 0,
    TLY_JSON_E_SYNTAX,    /* not JSON, or a number out of range */
    TLY_JSON_E_UTF8,      /* bytes that are not UTF-8 */
    TLY_JSON_E_DUPLICATE, /* an object with the same key twice */
    TLY_JSON_E_DEPTH,     /* arrays/objects nested deeper than asked */
    TLY_JSON_E_SIZE,      /* input of 4 GiB or more */
    TLY_JSON_E_VALUES,    /* more values than asked */
} tly_json_code_t;

typedef struct {
    tly_json_code_t code;
    int line;   /* 1-based */
    int column; /* 1-based, in bytes */
    char text[160];
} tly_json_error_t;

/* Recursion bound of the parser: the deepest nesting it ever accepts. */
#define TLY_JSON_MAX_DEPTH 512

typedef struct tly_json_doc tly_json_doc_t;

/* Flags of tly_json_parse. */
enum {
    TLY_JSON_ANY_TOP = 1u << 0, /* any value at the top, as JSON.parse (tools, tests) */
};

/* Bounds of one parse. A tree costs up to 24 bytes per value however short
 * its text ("[0,0,...]": 12 bytes per input byte), so a caller that knows
 * how many values a valid document can have (tly_schema_max_values) says so,
 * and the parse stops there before allocating more. */
typedef struct {
    unsigned max_depth; /* arrays/objects open at once; 0 (or above
                           TLY_JSON_MAX_DEPTH): TLY_JSON_MAX_DEPTH */
    size_t max_values;  /* values in the document, containers included;
                           0: no bound */
} tly_json_limits_t;

/* Parses text[0..len) (borrowed; no NUL needed) within limits (NULL: the
 * parser's own). NULL on failure, with *err filled (err may be NULL); else
 * the caller owns the result (tly_json_free). */
tly_json_doc_t *tly_json_parse(const char *text, size_t len, unsigned flags,
                               const tly_json_limits_t *limits, tly_json_error_t *err);
void tly_json_free(tly_json_doc_t *doc);
const tly_json_t *tly_json_root(const tly_json_doc_t *doc);

/* The member named key (key_len bytes) of an object; NULL if v is not an
 * object or has no such member. Linear in the object's size. */
const tly_json_t *tly_json_getn(const tly_json_t *v, const char *key, size_t key_len);
const tly_json_t *tly_json_get(const tly_json_t *v, const char *key);
/* The same, for reading several members in a row: the search starts at
 * member *hint (start with 0) and sets *hint to the one after the match, so
 * asking in the document's order finds each member at once, and a member
 * that is not there costs a length compare per member. */
const tly_json_t *tly_json_get_from(const tly_json_t *v, const char *key, size_t key_len,
                                    uint32_t *hint);
/* A string literal as the key and key_len arguments of the functions above. */
#define TLY_JSON_KEY(literal) ("" literal), (sizeof(literal) - 1)

/* v's string, or NULL if v is NULL or not a string. */
static inline const char *tly_json_string(const tly_json_t *v)
{
    return v != NULL && v->type == TLY_JSON_STRING ? v->u.s : NULL;
}
/* Items of an array (0 for NULL or anything else). */
static inline size_t tly_json_size(const tly_json_t *v)
{
    return v != NULL && v->type == TLY_JSON_ARRAY ? v->len : 0;
}
static inline bool tly_json_is(const tly_json_t *v, tly_json_type_t t)
{
    return v != NULL && v->type == t;
}

#endif
