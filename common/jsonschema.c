#include "common/jsonschema.h"
#include "common/json.h"
#include "common/log.h"
#include "common/regex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Levels of instance nesting (properties/items steps) a schema may describe.
 * The validating walk recurses once per level, so this bounds its stack. */
#define MAX_DEPTH 32
/* Properties one object schema may list (the walk keeps one slot per
 * property on its stack). */
#define MAX_PROPS 64

static const char SLUG[] = "validation-failed";
static const char TITLE[] = "Batch does not match the schema";

/* Patterns longer than this are named by their schema location in details. */
#define MAX_SHOWN_PATTERN 120
/* Bytes of an unknown member's name quoted in a detail. */
#define MAX_SHOWN_MEMBER 64
/* Bytes of a const/enum rendering kept for details. */
#define MAX_SHOWN_VALUES 160

enum {
    TY_NULL = 1u << 0,
    TY_BOOLEAN = 1u << 1,
    TY_OBJECT = 1u << 2,
    TY_ARRAY = 1u << 3,
    TY_NUMBER = 1u << 4,
    TY_INTEGER = 1u << 5,
    TY_STRING = 1u << 6,
};

static const struct {
    const char *name;
    unsigned bit;
    const char *noun; /* for details: "an integer is required" */
} TYPES[] = {
    {"null", TY_NULL, "null"},          {"boolean", TY_BOOLEAN, "a boolean"},
    {"object", TY_OBJECT, "an object"}, {"array", TY_ARRAY, "an array"},
    {"number", TY_NUMBER, "a number"},  {"integer", TY_INTEGER, "an integer"},
    {"string", TY_STRING, "a string"},
};

/* Annotation keywords: accepted and ignored anywhere. */
static const char *const ANNOTATIONS[] = {"$comment", "title",   "description",
                                          "examples", "default", NULL};

typedef struct node node_t;

typedef struct {
    const char *name; /* borrowed from the schema document */
    size_t name_len;
    size_t pos; /* position in the schema file */
    node_t *schema;
} prop_t;

struct node {
    node_t *next_alloc; /* every node of a schema, for destroy */
    char *where;        /* schema location, e.g. "#/$defs/uuid" (owned) */

    unsigned types; /* TY_* bits; 0 = no type keyword */
    unsigned ntypes;
    node_t *ref;
    const json_t *const_value; /* borrowed from the schema document */
    const json_t *enum_values;
    char *values_text; /* const/enum rendered for details (owned) */

    const json_t *minimum, *maximum;

    bool has_min_length, has_max_length;
    json_int_t min_length, max_length;
    const char *pattern; /* non-NULL: re is compiled */
    tly_regex_t *re;
    int format; /* FORMAT_*; refines the pattern of the same node */

    bool has_min_items, has_max_items;
    json_int_t min_items, max_items;
    node_t *items;

    const json_t *required; /* array of strings */
    bool additional_false;
    bool has_properties;
    prop_t *props; /* in ajv's evaluation order */
    size_t nprops;
    const prop_t **by_name; /* sorted by compare_names, for find_prop */

    /* Filled by check_shape(). */
    int visit; /* 0 new, 1 on the current path, 2 done */
    unsigned depth;
    size_t pointer_len;
    size_t max_values; /* in a valid instance, itself included; SIZE_MAX: no bound */
};

struct tly_schema {
    json_t *doc; /* owned; nodes borrow strings and values from it */
    node_t *root;
    node_t *nodes; /* list of every node via next_alloc */
};

typedef struct {
    tly_schema_t *s;
    json_t *defs; /* the root's $defs object, or NULL */
    node_t **def_nodes;
    size_t ndefs;
    char *err;
    size_t err_len;
} compiler_t;

/* ---- helpers shared by compile and validate ---- */

/* True when key is a JavaScript array index ("0", "17"; no sign or leading
 * zero, at most 2^32 - 2). JavaScript enumerates such keys first, in numeric
 * order, which decides the member ajv reports and the order of properties. */
static bool array_index(const char *key, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10 || (len > 1 && key[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (key[i] < '0' || key[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(key[i] - '0');
    }
    if (v > UINT32_MAX - 1)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Appends a JSON pointer reference token (RFC 6901: ~ -> ~0, / -> ~1). */
static void append_token(tly_strbuf_t *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '~' && s[i] != '/')
            continue;
        tly_strbuf_append(b, s + run, i - run);
        tly_strbuf_append(b, s[i] == '~' ? "~0" : "~1", 2);
        run = i + 1;
    }
    tly_strbuf_append(b, s + run, n - run);
}

static size_t token_len(const char *s, size_t n)
{
    size_t len = n;
    for (size_t i = 0; i < n; i++)
        len += s[i] == '~' || s[i] == '/';
    return len;
}

/* Exact comparison of an integer with a double (no rounding of i). */
static int cmp_int_real(json_int_t i, double d)
{
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    json_int_t t = (json_int_t)d; /* truncates toward zero; in range */
    if (i != t)
        return i < t ? -1 : 1;
    double frac = d - (double)t; /* exact: t is d's integral part */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

/* A number of either tree: the schema's (jansson) or a document's. */
typedef struct {
    bool integer;
    json_int_t i;
    double d;
} num_t;

static num_t schema_num(const json_t *v)
{
    return json_is_integer(v) ? (num_t){true, json_integer_value(v), 0}
                              : (num_t){false, 0, json_real_value(v)};
}

static num_t doc_num(const tly_json_t *v)
{
    return v->type == TLY_JSON_INTEGER ? (num_t){true, v->u.i, 0} : (num_t){false, 0, v->u.d};
}

/* Compares two JSON numbers by value (1 == 1.0, as in JavaScript). */
static int num_cmp(num_t a, num_t b)
{
    if (a.integer && b.integer)
        return a.i < b.i ? -1 : a.i > b.i;
    if (a.integer)
        return cmp_int_real(a.i, b.d);
    if (b.integer)
        return -cmp_int_real(b.i, a.d);
    return a.d < b.d ? -1 : a.d > b.d;
}

/* JSON Schema's "integer" is a value property: 4.0 is one, as in ajv. Every
 * double of magnitude 2^53 or more is integral. */
static bool real_is_integral(double d)
{
    if (d >= 9007199254740992.0 || d <= -9007199254740992.0)
        return true;
    return (double)(json_int_t)d == d;
}

static bool is_scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

static bool doc_is_number(const tly_json_t *v)
{
    return v->type == TLY_JSON_INTEGER || v->type == TLY_JSON_REAL;
}

/* const/enum equality of a document value with a schema value; schema
 * values are scalars, so no recursion. */
static bool scalar_equal(const tly_json_t *v, const json_t *want)
{
    if (doc_is_number(v) && json_is_number(want))
        return num_cmp(doc_num(v), schema_num(want)) == 0;
    switch (v->type) {
    case TLY_JSON_STRING:
        return json_is_string(want) && v->len == json_string_length(want) &&
               memcmp(v->u.s, json_string_value(want), v->len) == 0;
    case TLY_JSON_NULL:
        return json_is_null(want);
    case TLY_JSON_TRUE:
        return json_is_true(want);
    case TLY_JSON_FALSE:
        return json_is_false(want);
    default:
        return false;
    }
}

/* Shortest rendering of a number that reads back as the same value. */
static void format_number(num_t v, char *out, size_t cap)
{
    if (v.integer) {
        snprintf(out, cap, "%" JSON_INTEGER_FORMAT, v.i);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v.d);
        if (strtod(out, NULL) == v.d)
            return;
    }
}

/* The longest prefix of s[0..len) that does not end inside a UTF-8
 * sequence: for text that may have been cut at len bytes. */
static size_t utf8_complete(const char *s, size_t len)
{
    size_t i = len, back = 0;
    while (i > 0 && back < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return len;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (i - 1) >= need ? len : i - 1;
}

/* The lookup order of by_name: length first, so that most steps of a
 * search compare two integers and not two strings. */
static int cmp_name(const char *x, size_t xlen, const char *y, size_t ylen)
{
    if (xlen != ylen)
        return xlen < ylen ? -1 : 1;
    return memcmp(x, y, xlen);
}

static int compare_names(const void *a, const void *b)
{
    const prop_t *x = *(const prop_t *const *)a, *y = *(const prop_t *const *)b;
    return cmp_name(x->name, x->name_len, y->name, y->name_len);
}

static const prop_t *find_prop(const node_t *n, const char *name, size_t len)
{
    size_t lo = 0, hi = n->nprops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const prop_t *p = n->by_name[mid];
        int c = cmp_name(name, len, p->name, p->name_len);
        if (c == 0)
            return p;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- compile ---- */

static bool fail(compiler_t *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(compiler_t *c, const char *where, const char *fmt, ...)
{
    if (c->err_len == 0)
        return false;
    int n = snprintf(c->err, c->err_len, "%s: ", where);
    if (n < 0 || (size_t)n >= c->err_len)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* "<base>/<keyword>[/<name>]" with name escaped as a pointer token. */
static char *location(const char *base, const char *keyword, const char *name, size_t name_len)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 1 << 16);
    tly_strbuf_printf(&b, "%s/%s", base, keyword);
    if (name != NULL) {
        tly_strbuf_append(&b, "/", 1);
        append_token(&b, name, name_len);
    }
    if (b.truncated) {
        TLY_ERROR(NULL, "out of memory building a schema location");
        abort();
    }
    return tly_strbuf_steal(&b);
}

static node_t *new_node(compiler_t *c, char *where)
{
    node_t *n = tly_xcalloc(1, sizeof *n);
    n->where = where;
    n->next_alloc = c->s->nodes;
    c->s->nodes = n;
    return n;
}

static bool compile_node(compiler_t *c, node_t *n, const json_t *js, bool is_root);

static bool compile_type(compiler_t *c, node_t *n, const json_t *v)
{
    size_t count = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_string(v) && !(json_is_array(v) && count > 0))
        return fail(c, n->where, "type must be a type name or a non-empty array of them");
    for (size_t i = 0; i < count; i++) {
        const json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
        const char *name = json_string_value(t);
        unsigned bit = 0;
        for (size_t k = 0; name != NULL && k < TLY_ARRAY_LEN(TYPES); k++) {
            if (strcmp(name, TYPES[k].name) == 0)
                bit = TYPES[k].bit;
        }
        if (bit == 0)
            return fail(c, n->where, "type: unknown type name");
        if (n->types & bit)
            return fail(c, n->where, "type: \"%s\" is listed twice", name);
        n->types |= bit;
        n->ntypes++;
    }
    return true;
}

static bool non_negative_int(compiler_t *c, node_t *n, const char *key, const json_t *v,
                             json_int_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fail(c, n->where, "%s must be a non-negative integer", key);
    *out = json_integer_value(v);
    return true;
}

/* common/regex.h keeps patterns to the portable subset, where ajv and a
 * byte-wise automaton agree on any UTF-8 input. */
static bool compile_pattern(compiler_t *c, node_t *n, const json_t *v)
{
    if (!json_is_string(v))
        return fail(c, n->where, "pattern must be a string");
    char why[256];
    if (!tly_regex_compile(json_string_value(v), &n->re, why, sizeof why))
        return fail(c, n->where, "pattern %s", why);
    n->pattern = json_string_value(v);
    return true;
}

/* Renders const/enum values as JSON for details, cut after MAX_SHOWN_VALUES
 * bytes. */
static void render_values(node_t *n)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 1 << 16);
    const json_t *one = n->const_value;
    size_t count = one ? 1 : json_array_size(n->enum_values);
    for (size_t i = 0; i < count && b.len <= MAX_SHOWN_VALUES; i++) {
        const json_t *v = one ? one : json_array_get(n->enum_values, i);
        char num[40];
        if (i > 0)
            tly_strbuf_puts(&b, ", ");
        if (json_is_string(v)) {
            tly_strbuf_json_string(&b, json_string_value(v), json_string_length(v));
        } else if (json_is_number(v)) {
            format_number(schema_num(v), num, sizeof num);
            tly_strbuf_puts(&b, num);
        } else {
            tly_strbuf_puts(&b, json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false");
        }
    }
    if (b.len > MAX_SHOWN_VALUES) {
        b.len = utf8_complete(b.data, MAX_SHOWN_VALUES);
        b.data[b.len] = '\0';
        tly_strbuf_puts(&b, "...");
    }
    if (b.truncated) {
        TLY_ERROR(NULL, "out of memory rendering a schema value");
        abort();
    }
    n->values_text = tly_strbuf_steal(&b);
}

static bool compile_ref(compiler_t *c, node_t *n, const json_t *v)
{
    static const char PREFIX[] = "#/$defs/";
    const char *ref = json_string_value(v);
    if (ref == NULL || strncmp(ref, PREFIX, sizeof PREFIX - 1) != 0)
        return fail(c, n->where, "$ref must be a string \"#/$defs/<name>\"");
    /* Unescape the one reference token (~1 -> /, ~0 -> ~). */
    const char *tok = ref + sizeof PREFIX - 1;
    size_t tok_len = strlen(tok);
    char *name = tly_xcalloc(tok_len + 1, 1);
    size_t len = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < tok_len; i++) {
        if (tok[i] == '~' && (tok[i + 1] == '0' || tok[i + 1] == '1')) {
            name[len++] = tok[i + 1] == '0' ? '~' : '/';
            i++;
        } else if (tok[i] == '~' || tok[i] == '/' || tok[i] == '%') {
            ok = false; /* bad escape, deeper pointer, or percent-encoding */
        } else {
            name[len++] = tok[i];
        }
    }
    size_t i = 0;
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach(c->defs, key, key_len, value)
    {
        if (ok && key_len == len && memcmp(key, name, len) == 0)
            n->ref = c->def_nodes[i];
        i++;
    }
    free(name);
    if (!ok)
        return fail(c, n->where, "$ref \"%s\": only \"#/$defs/<name>\" is supported", ref);
    if (n->ref == NULL)
        return fail(c, n->where, "$ref \"%s\" does not name an entry of the root's $defs", ref);
    return true;
}

/* The order in which ajv evaluates properties: Object.keys() of the schema's
 * properties, i.e. array-index names first in numeric order, then the rest
 * in file order. */
static int js_key_order(const void *a, const void *b)
{
    const prop_t *x = a, *y = b;
    uint32_t xi = 0, yi = 0;
    bool xn = array_index(x->name, x->name_len, &xi);
    bool yn = array_index(y->name, y->name_len, &yi);
    if (xn && yn)
        return xi < yi ? -1 : xi > yi;
    if (xn != yn)
        return xn ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool compile_properties(compiler_t *c, node_t *n, json_t *v)
{
    if (!json_is_object(v))
        return fail(c, n->where, "properties must be an object");
    n->has_properties = true;
    n->nprops = json_object_size(v);
    if (n->nprops > MAX_PROPS)
        return fail(c, n->where, "more than %d properties", MAX_PROPS);
    n->props = tly_xcalloc(n->nprops ? n->nprops : 1, sizeof *n->props);
    n->by_name = tly_xcalloc(n->nprops ? n->nprops : 1, sizeof *n->by_name);
    size_t i = 0;
    const char *key;
    size_t key_len;
    json_t *sub;
    json_object_keylen_foreach(v, key, key_len, sub)
    {
        prop_t *p = &n->props[i];
        p->name = key;
        p->name_len = key_len;
        p->pos = i++;
        p->schema = new_node(c, location(n->where, "properties", key, key_len));
        if (!compile_node(c, p->schema, sub, false))
            return false;
    }
    qsort(n->props, n->nprops, sizeof *n->props, js_key_order);
    for (i = 0; i < n->nprops; i++)
        n->by_name[i] = &n->props[i];
    qsort(n->by_name, n->nprops, sizeof *n->by_name, compare_names);
    return true;
}

/* `format` refines a pattern: the pattern fixes the shape and the digits'
 * ranges; the format adds what a regular expression cannot say, as
 * ajv-formats does: real calendar days (no 30 February) and, for
 * date-time, a leap second only at 23:59:60 UTC. */
enum { FORMAT_NONE = 0, FORMAT_DATE, FORMAT_DATE_TIME };

static bool calendar_day_ok(const char *s)
{
    return tly_calendar_day_ok(tly_fixed_digits(s, 4), tly_fixed_digits(s + 5, 2),
                               tly_fixed_digits(s + 8, 2));
}

/* s matched the date-time pattern: YYYY-MM-DDTHH:MM:SS[.f](Z|+HH:MM). */
static bool leap_second_ok(const char *s, size_t len)
{
    if (tly_fixed_digits(s + 17, 2) < 60)
        return true;
    int hr = tly_fixed_digits(s + 11, 2), min = tly_fixed_digits(s + 14, 2), tz_h = 0, tz_m = 0,
        sign = 1;
    if (s[len - 1] != 'Z') {
        sign = s[len - 6] == '-' ? -1 : 1;
        tz_h = tly_fixed_digits(s + len - 5, 2);
        tz_m = tly_fixed_digits(s + len - 2, 2);
    }
    int utc_min = min - tz_m * sign;
    int utc_hr = hr - tz_h * sign - (utc_min < 0 ? 1 : 0);
    return (utc_hr == 23 || utc_hr == -1) && (utc_min == 59 || utc_min == -1);
}

static bool is_annotation(const char *key)
{
    for (size_t i = 0; ANNOTATIONS[i] != NULL; i++) {
        if (strcmp(key, ANNOTATIONS[i]) == 0)
            return true;
    }
    return false;
}

static bool compile_node(compiler_t *c, node_t *n, const json_t *js, bool is_root)
{
    if (!json_is_object(js))
        return fail(c, n->where, "a schema must be an object (boolean schemas are not supported)");
    const char *key;
    json_t *v;
    /* json_object_foreach takes a non-const object; iteration reads only. */
    json_object_foreach((json_t *)js, key, v)
    {
        bool ok = true;
        if (is_annotation(key)) {
            continue;
        } else if (strcmp(key, "$schema") == 0 || strcmp(key, "$id") == 0 ||
                   strcmp(key, "$defs") == 0) {
            /* Handled by tly_schema_compile; elsewhere they would change how
             * $ref resolves or which dialect applies. */
            if (!is_root)
                ok = fail(c, n->where, "%s is only supported at the root", key);
        } else if (strcmp(key, "type") == 0) {
            ok = compile_type(c, n, v);
        } else if (strcmp(key, "properties") == 0) {
            ok = compile_properties(c, n, v);
        } else if (strcmp(key, "required") == 0) {
            for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
                ok = json_is_string(json_array_get(v, i));
            if (!ok || !json_is_array(v))
                ok = fail(c, n->where, "required must be an array of strings");
            n->required = v;
        } else if (strcmp(key, "additionalProperties") == 0) {
            if (!json_is_false(v))
                ok = fail(c, n->where, "only \"additionalProperties\": false is supported");
            n->additional_false = true;
        } else if (strcmp(key, "const") == 0) {
            if (!is_scalar(v))
                ok = fail(c, n->where, "const must be a string, number, boolean or null");
            n->const_value = v;
        } else if (strcmp(key, "enum") == 0) {
            for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
                ok = is_scalar(json_array_get(v, i));
            if (!ok || !json_is_array(v) || json_array_size(v) == 0)
                ok = fail(c, n->where,
                          "enum must be a non-empty array of strings, numbers, booleans or null");
            n->enum_values = v;
        } else if (strcmp(key, "pattern") == 0) {
            ok = compile_pattern(c, n, v);
        } else if (strcmp(key, "format") == 0) {
            const char *f = json_string_value(v);
            n->format = f == NULL                     ? FORMAT_NONE
                        : strcmp(f, "date") == 0      ? FORMAT_DATE
                        : strcmp(f, "date-time") == 0 ? FORMAT_DATE_TIME
                                                      : FORMAT_NONE;
            if (n->format == FORMAT_NONE)
                ok = fail(c, n->where, "format must be \"date\" or \"date-time\"");
        } else if (strcmp(key, "minLength") == 0) {
            ok = non_negative_int(c, n, key, v, &n->min_length);
            n->has_min_length = true;
        } else if (strcmp(key, "maxLength") == 0) {
            ok = non_negative_int(c, n, key, v, &n->max_length);
            n->has_max_length = true;
        } else if (strcmp(key, "minItems") == 0) {
            ok = non_negative_int(c, n, key, v, &n->min_items);
            n->has_min_items = true;
        } else if (strcmp(key, "maxItems") == 0) {
            ok = non_negative_int(c, n, key, v, &n->max_items);
            n->has_max_items = true;
        } else if (strcmp(key, "minimum") == 0 || strcmp(key, "maximum") == 0) {
            if (!json_is_number(v))
                ok = fail(c, n->where, "%s must be a number", key);
            if (strcmp(key, "minimum") == 0)
                n->minimum = v;
            else
                n->maximum = v;
        } else if (strcmp(key, "items") == 0) {
            n->items = new_node(c, location(n->where, "items", NULL, 0));
            ok = compile_node(c, n->items, v, false);
        } else if (strcmp(key, "$ref") == 0) {
            ok = compile_ref(c, n, v);
        } else {
            ok = fail(c, n->where, "unsupported keyword \"%s\"", key);
        }
        if (!ok)
            return false;
    }
    if (n->format != FORMAT_NONE && n->pattern == NULL)
        return fail(c, n->where, "format needs a pattern in the same schema (it only refines one)");
    if (n->const_value != NULL || n->enum_values != NULL) {
        if (n->const_value != NULL && n->enum_values != NULL)
            return fail(c, n->where, "const and enum together are not supported");
        render_values(n);
    }
    return true;
}

static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t mul_sat(size_t a, size_t b)
{
    return a != 0 && b > SIZE_MAX / a ? SIZE_MAX : a * b;
}

/* How many values a valid instance of n can hold, once its children's
 * bounds are known: one for a scalar; for an object without other members,
 * one plus its properties'; for an array, one plus maxItems items'. */
static size_t max_values(const node_t *n)
{
    size_t own;
    bool containers = n->types == 0 || (n->types & (TY_OBJECT | TY_ARRAY));
    if (n->const_value != NULL || n->enum_values != NULL || !containers) {
        own = 1; /* const and enum take scalars only */
    } else {
        size_t obj = 0, arr = 0;
        if (n->types == 0 || (n->types & TY_OBJECT)) {
            obj = n->additional_false ? 1 : SIZE_MAX;
            for (size_t i = 0; i < n->nprops && obj != SIZE_MAX; i++)
                obj = add_sat(obj, n->props[i].schema->max_values);
        }
        if (n->types == 0 || (n->types & TY_ARRAY))
            arr = n->has_max_items && n->items != NULL
                      ? add_sat(1, mul_sat((size_t)n->max_items, n->items->max_values))
                      : SIZE_MAX;
        own = obj > arr ? obj : arr;
    }
    /* A $ref's rules apply as well as n's own: the tighter bound holds. */
    if (n->ref != NULL && n->ref->max_values < own)
        own = n->ref->max_values;
    return own;
}

/* Rejects $ref cycles (the walk would not terminate) and computes, per node,
 * the instance depth, the longest JSON pointer it can produce and
 * max_values. */
static bool check_shape(compiler_t *c, node_t *n)
{
    if (n->visit == 2)
        return true;
    if (n->visit == 1)
        return fail(c, n->where, "recursive $ref is not supported");
    n->visit = 1;
    unsigned depth = 0;
    size_t plen = 0;
    if (n->ref != NULL) {
        if (!check_shape(c, n->ref))
            return false;
        depth = n->ref->depth;
        plen = n->ref->pointer_len;
    }
    for (size_t i = 0; i < n->nprops; i++) {
        const prop_t *p = &n->props[i];
        if (!check_shape(c, p->schema))
            return false;
        if (p->schema->depth + 1 > depth)
            depth = p->schema->depth + 1;
        size_t len = 1 + token_len(p->name, p->name_len) + p->schema->pointer_len;
        if (len > plen)
            plen = len;
    }
    if (n->items != NULL) {
        if (!check_shape(c, n->items))
            return false;
        if (n->items->depth + 1 > depth)
            depth = n->items->depth + 1;
        size_t len = 1 + 20 + n->items->pointer_len; /* 20 digits hold any index */
        if (len > plen)
            plen = len;
    }
    if (depth > MAX_DEPTH)
        return fail(c, n->where, "describes more than %d levels of nesting", MAX_DEPTH);
    n->depth = depth;
    n->pointer_len = plen;
    n->max_values = max_values(n);
    n->visit = 2;
    return true;
}

bool tly_schema_compile(const char *json_text, size_t len, tly_schema_t **out, char *err,
                        size_t err_len)
{
    compiler_t c = {.err = err, .err_len = err_len};
    tly_schema_t *s = tly_xcalloc(1, sizeof *s);
    c.s = s;
    *out = NULL;
    if (err_len > 0)
        err[0] = '\0';

    json_error_t jerr;
    s->doc = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (s->doc == NULL) {
        snprintf(err, err_len, "schema is not valid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        goto failed;
    }
    if (!json_is_object(s->doc)) {
        snprintf(err, err_len, "#: the schema document must be an object");
        goto failed;
    }
    const json_t *dialect = json_object_get(s->doc, "$schema");
    if (dialect != NULL &&
        (!json_is_string(dialect) ||
         strcmp(json_string_value(dialect), "https://json-schema.org/draft/2020-12/schema") != 0)) {
        fail(&c, "#", "$schema must be \"https://json-schema.org/draft/2020-12/schema\"");
        goto failed;
    }

    /* Every $defs entry gets its node before any body is compiled, so a $ref
     * resolves to a node pointer wherever it appears. */
    c.defs = json_object_get(s->doc, "$defs");
    if (c.defs != NULL && !json_is_object(c.defs)) {
        fail(&c, "#", "$defs must be an object");
        goto failed;
    }
    c.ndefs = json_object_size(c.defs);
    c.def_nodes = tly_xcalloc(c.ndefs ? c.ndefs : 1, sizeof *c.def_nodes);
    const char *key;
    size_t key_len;
    json_t *def;
    size_t i = 0;
    json_object_keylen_foreach(c.defs, key, key_len, def)
    {
        c.def_nodes[i++] = new_node(&c, location("#", "$defs", key, key_len));
    }
    i = 0;
    json_object_foreach(c.defs, key, def)
    {
        if (!compile_node(&c, c.def_nodes[i++], def, false))
            goto failed;
    }
    s->root = new_node(&c, tly_xstrdup("#"));
    if (!compile_node(&c, s->root, s->doc, true))
        goto failed;

    for (i = 0; i < c.ndefs; i++) {
        if (!check_shape(&c, c.def_nodes[i]))
            goto failed;
    }
    if (!check_shape(&c, s->root))
        goto failed;
    /* The walk fills tly_problem_t.pointer; it must never be cut short. */
    if (s->root->pointer_len >= sizeof(((tly_problem_t *)NULL)->pointer)) {
        fail(&c, "#", "property names are too long: a JSON pointer could exceed %zu bytes",
             sizeof(((tly_problem_t *)NULL)->pointer) - 1);
        goto failed;
    }
    free(c.def_nodes);
    *out = s;
    return true;

failed:
    free(c.def_nodes);
    tly_schema_destroy(s);
    return false;
}

size_t tly_schema_max_values(const tly_schema_t *s)
{
    return s->root->max_values;
}

tly_json_limits_t tly_schema_json_limits(const tly_schema_t *s, unsigned max_depth)
{
    size_t max_values = tly_schema_max_values(s);
    return (tly_json_limits_t){max_depth, max_values == SIZE_MAX ? 0 : max_values};
}

void tly_schema_destroy(tly_schema_t *s)
{
    if (s == NULL)
        return;
    node_t *n = s->nodes;
    while (n != NULL) {
        node_t *next = n->next_alloc;
        tly_regex_free(n->re);
        free(n->where);
        free(n->values_text);
        free(n->props);
        free(n->by_name);
        free(n);
        n = next;
    }
    json_decref(s->doc);
    free(s);
}

/* ---- validate ---- */

typedef struct {
    const char *key; /* NULL: an array index */
    size_t key_len;
    size_t index;
} segment_t;

typedef struct {
    tly_problem_t *p;
    unsigned depth;
    segment_t path[MAX_DEPTH];
} walk_t;

static void render_pointer(const walk_t *w, char *out, size_t cap)
{
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, out, cap);
    for (unsigned i = 0; i < w->depth; i++) {
        const segment_t *seg = &w->path[i];
        tly_strbuf_append(&b, "/", 1);
        if (seg->key != NULL)
            append_token(&b, seg->key, seg->key_len);
        else
            tly_strbuf_printf(&b, "%zu", seg->index);
    }
}

/* Fills the problem; `rest` continues a sentence whose subject is the
 * instance location. Always returns false. */
static bool violation(walk_t *w, const char *rule, const char *rest_fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool violation(walk_t *w, const char *rule, const char *rest_fmt, ...)
{
    char pointer[sizeof w->p->pointer];
    char rest[sizeof w->p->detail];
    render_pointer(w, pointer, sizeof pointer);
    va_list ap;
    va_start(ap, rest_fmt);
    vsnprintf(rest, sizeof rest, rest_fmt, ap);
    va_end(ap);
    tly_problem_set(w->p, 422, SLUG, TITLE, "%s%s", pointer[0] ? pointer : "The document", rest);
    /* A detail cut by the buffer must still be valid UTF-8. */
    size_t len = strlen(w->p->detail);
    w->p->detail[utf8_complete(w->p->detail, len)] = '\0';
    memcpy(w->p->pointer, pointer, sizeof pointer);
    snprintf(w->p->rule, sizeof w->p->rule, "%s", rule);
    return false;
}

static unsigned value_types(const tly_json_t *v)
{
    switch (v->type) {
    case TLY_JSON_OBJECT:
        return TY_OBJECT;
    case TLY_JSON_ARRAY:
        return TY_ARRAY;
    case TLY_JSON_STRING:
        return TY_STRING;
    case TLY_JSON_INTEGER:
        return TY_NUMBER | TY_INTEGER;
    case TLY_JSON_REAL:
        return TY_NUMBER | (real_is_integral(v->u.d) ? TY_INTEGER : 0);
    case TLY_JSON_TRUE:
    case TLY_JSON_FALSE:
        return TY_BOOLEAN;
    case TLY_JSON_NULL:
        break;
    }
    return TY_NULL;
}

static bool type_violation(walk_t *w, const node_t *n, const tly_json_t *v)
{
    char got[64];
    if (doc_is_number(v)) {
        char num[40];
        format_number(doc_num(v), num, sizeof num);
        snprintf(got, sizeof got, "the number %s", num);
    } else if (v->type == TLY_JSON_TRUE || v->type == TLY_JSON_FALSE) {
        snprintf(got, sizeof got, "%s", v->type == TLY_JSON_TRUE ? "true" : "false");
    } else {
        unsigned t = value_types(v);
        for (size_t k = 0; k < TLY_ARRAY_LEN(TYPES); k++) {
            if (TYPES[k].bit == t)
                snprintf(got, sizeof got, "%s", TYPES[k].noun);
        }
    }
    char want[128];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, want, sizeof want);
    unsigned listed = 0;
    for (size_t k = 0; k < TLY_ARRAY_LEN(TYPES); k++) {
        if (!(n->types & TYPES[k].bit))
            continue;
        if (listed > 0)
            tly_strbuf_puts(&b, listed + 1 == n->ntypes ? " or " : ", ");
        tly_strbuf_puts(&b, TYPES[k].noun);
        listed++;
    }
    return violation(w, "type", " is %s; %s is required", got, want);
}

static bool validate_node(walk_t *w, const node_t *n, const tly_json_t *v);

static bool descend(walk_t *w, const node_t *n, const tly_json_t *v, const char *key,
                    size_t key_len, size_t index)
{
    /* check_shape() bounded the schema's nesting to MAX_DEPTH, and the walk
     * only descends where the schema does. */
    w->path[w->depth++] = (segment_t){.key = key, .key_len = key_len, .index = index};
    bool ok = validate_node(w, n, v);
    w->depth--;
    return ok;
}

/* Whether the schema has a keyword of ajv's rule group for type bit t. */
static bool group_used(const node_t *n, unsigned t)
{
    switch (t) {
    case TY_NUMBER:
        return n->minimum || n->maximum;
    case TY_STRING:
        return n->has_min_length || n->has_max_length || n->pattern || n->format;
    case TY_ARRAY:
        return n->has_min_items || n->has_max_items || n->items;
    case TY_OBJECT:
        return n->required || n->additional_false || n->has_properties;
    }
    return false;
}

static bool validate_number(walk_t *w, const node_t *n, const tly_json_t *v)
{
    char got[40], limit[40];
    if (n->maximum != NULL && num_cmp(doc_num(v), schema_num(n->maximum)) > 0) {
        format_number(doc_num(v), got, sizeof got);
        format_number(schema_num(n->maximum), limit, sizeof limit);
        return violation(w, "maximum", " is %s; the maximum is %s", got, limit);
    }
    if (n->minimum != NULL && num_cmp(doc_num(v), schema_num(n->minimum)) < 0) {
        format_number(doc_num(v), got, sizeof got);
        format_number(schema_num(n->minimum), limit, sizeof limit);
        return violation(w, "minimum", " is %s; the minimum is %s", got, limit);
    }
    return true;
}

static bool validate_string(walk_t *w, const node_t *n, const tly_json_t *v)
{
    const char *s = v->u.s;
    size_t len = v->len;
    if (n->has_min_length || n->has_max_length) {
        size_t chars = 0; /* code points: UTF-8 bytes that do not continue one */
        for (size_t i = 0; i < len; i++)
            chars += ((unsigned char)s[i] & 0xC0) != 0x80;
        if (n->has_max_length && chars > (size_t)n->max_length)
            return violation(w, "maxLength",
                             " is %zu characters long; at most %" JSON_INTEGER_FORMAT " %s allowed",
                             chars, n->max_length, n->max_length == 1 ? "is" : "are");
        if (n->has_min_length && chars < (size_t)n->min_length)
            return violation(
                w, "minLength",
                " is %zu character%s long; at least %" JSON_INTEGER_FORMAT " %s required", chars,
                chars == 1 ? "" : "s", n->min_length, n->min_length == 1 ? "is" : "are");
    }
    if (n->pattern != NULL) {
        if (!tly_regex_search(n->re, s, len)) {
            if (strlen(n->pattern) <= MAX_SHOWN_PATTERN)
                return violation(w, "pattern", " does not match the pattern %s", n->pattern);
            return violation(w, "pattern", " does not match the pattern at %s/pattern", n->where);
        }
    }
    if (n->format != FORMAT_NONE && !calendar_day_ok(s))
        return violation(w, "format", " is not a real calendar day");
    if (n->format == FORMAT_DATE_TIME && !leap_second_ok(s, len))
        return violation(w, "format", " has a leap second other than at 23:59:60 UTC");
    return true;
}

/* One pass over v's members: each known member's value goes to
 * child[property index]; the unknown member ajv would report goes to *key_out
 * (JavaScript enumerates array-index keys first, numerically, then the
 * others in document order). False when every member is known. */
static bool sort_members(const node_t *n, const tly_json_t *v, const tly_json_t **child,
                         const char **key_out, size_t *len_out)
{
    const char *best = NULL;
    size_t best_len = 0;
    bool best_is_index = false;
    uint32_t best_index = 0;
    for (uint32_t i = 0; i < v->len; i++) {
        const char *key = v->u.members[i].key;
        size_t len = v->u.members[i].key_len;
        const prop_t *p = find_prop(n, key, len);
        if (p != NULL) {
            child[p - n->props] = &v->u.members[i].value;
            continue;
        }
        uint32_t index = 0;
        bool is_index = array_index(key, len, &index);
        if (best == NULL || (is_index && (!best_is_index || index < best_index))) {
            best = key;
            best_len = len;
            best_is_index = is_index;
            best_index = index;
        }
    }
    *key_out = best;
    *len_out = best_len;
    return best != NULL;
}

static bool validate_object(walk_t *w, const node_t *n, const tly_json_t *v)
{
    const tly_json_t *child[MAX_PROPS] = {NULL};
    const char *key;
    size_t key_len;
    bool unknown = sort_members(n, v, child, &key, &key_len);
    for (size_t i = 0; n->required != NULL && i < json_array_size(n->required); i++) {
        const json_t *name = json_array_get(n->required, i);
        const char *name_s = json_string_value(name);
        size_t name_len = json_string_length(name);
        const prop_t *p = find_prop(n, name_s, name_len);
        if (p != NULL ? child[p - n->props] == NULL : tly_json_getn(v, name_s, name_len) == NULL)
            return violation(w, "required", " lacks the required member \"%s\"", name_s);
    }
    if (n->additional_false && unknown) {
        /* Quote at most MAX_SHOWN_MEMBER bytes, cut at a UTF-8 boundary. */
        size_t shown = key_len > MAX_SHOWN_MEMBER ? utf8_complete(key, MAX_SHOWN_MEMBER) : key_len;
        char quoted[6 * MAX_SHOWN_MEMBER + 8];
        tly_strbuf_t b;
        tly_strbuf_init_fixed(&b, quoted, sizeof quoted);
        tly_strbuf_json_string(&b, key, shown);
        if (shown < key_len)
            tly_strbuf_puts(&b, "...");
        return violation(
            w, "additionalProperties",
            " has the unknown member %s; only the members the schema lists are allowed", quoted);
    }
    for (size_t i = 0; i < n->nprops; i++) {
        const prop_t *p = &n->props[i];
        if (child[i] != NULL && !descend(w, p->schema, child[i], p->name, p->name_len, 0))
            return false;
    }
    return true;
}

static bool validate_array(walk_t *w, const node_t *n, const tly_json_t *v)
{
    size_t size = v->len;
    if (n->has_max_items && size > (size_t)n->max_items)
        return violation(w, "maxItems",
                         " has %zu items; at most %" JSON_INTEGER_FORMAT " %s allowed", size,
                         n->max_items, n->max_items == 1 ? "is" : "are");
    if (n->has_min_items && size < (size_t)n->min_items)
        return violation(w, "minItems",
                         " has %zu item%s; at least %" JSON_INTEGER_FORMAT " %s required", size,
                         size == 1 ? "" : "s", n->min_items, n->min_items == 1 ? "is" : "are");
    for (size_t i = 0; n->items != NULL && i < size; i++) {
        if (!descend(w, n->items, &v->u.items[i], NULL, 0, i))
            return false;
    }
    return true;
}

/* One schema node against one instance, in ajv 8's order (lib/compile/
 * validate): the type check comes first unless the schema has keywords of
 * its single type's group (then it is that group's "else"); then $ref,
 * const, enum; then the number, string, array and object groups. */
static bool validate_node(walk_t *w, const node_t *n, const tly_json_t *v)
{
    unsigned have = value_types(v);
    bool type_first = n->types != 0 && !(n->ntypes == 1 && group_used(n, n->types));
    if (type_first && !(have & n->types))
        return type_violation(w, n, v);
    if (n->ref != NULL && !validate_node(w, n->ref, v))
        return false;
    if (n->const_value != NULL && !scalar_equal(v, n->const_value))
        return violation(w, "const", " must be exactly %s", n->values_text);
    if (n->enum_values != NULL) {
        bool found = false;
        for (size_t i = 0; !found && i < json_array_size(n->enum_values); i++)
            found = scalar_equal(v, json_array_get(n->enum_values, i));
        if (!found)
            return violation(w, "enum", " is not one of the allowed values: %s", n->values_text);
    }
    static const unsigned GROUPS[] = {TY_NUMBER, TY_STRING, TY_ARRAY, TY_OBJECT};
    for (size_t g = 0; g < TLY_ARRAY_LEN(GROUPS); g++) {
        unsigned t = GROUPS[g];
        if (!group_used(n, t))
            continue;
        if (have & t) {
            bool ok = t == TY_NUMBER   ? validate_number(w, n, v)
                      : t == TY_STRING ? validate_string(w, n, v)
                      : t == TY_ARRAY  ? validate_array(w, n, v)
                                       : validate_object(w, n, v);
            if (!ok)
                return false;
        } else if (!type_first && n->types == t) {
            return type_violation(w, n, v);
        }
    }
    return true;
}

bool tly_schema_validate(const tly_schema_t *s, const tly_json_t *doc, tly_problem_t *p)
{
    walk_t w = {.p = p};
    memset(p, 0, sizeof *p);
    return validate_node(&w, s->root, doc);
}
