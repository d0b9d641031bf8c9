#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- arena ---- */

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    _Alignas(max_align_t) char data[];
} chunk_t;

struct tly_json_doc {
    chunk_t *chunks;
    size_t next_cap; /* the next chunk's size: doubles, from a guess by input size */
    tly_json_t root;
};

static inline void *arena_alloc(tly_json_doc_t *doc, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    chunk_t *c = doc->chunks;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = doc->next_cap > size ? doc->next_cap : size;
        doc->next_cap = 2 * cap;
        chunk_t *fresh = tly_xrealloc(NULL, sizeof *fresh + cap);
        fresh->next = c;
        fresh->cap = cap;
        fresh->used = 0;
        doc->chunks = fresh;
        c = fresh;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

void tly_json_free(tly_json_doc_t *doc)
{
    if (doc == NULL)
        return;
    chunk_t *c = doc->chunks;
    while (c != NULL) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

const tly_json_t *tly_json_root(const tly_json_doc_t *doc)
{
    return &doc->root;
}

/* ---- parser ---- */

typedef struct {
    const unsigned char *text;
    size_t len, pos;
    tly_json_doc_t *doc;
    /* A copy of text in the arena, where each string's value is written
     * over its own bytes (never longer unescaped) and ends with a NUL on or
     * before its closing quote: no allocation or copy per string. */
    char *strings;
    tly_json_error_t *err;
    unsigned max_depth; /* containers open at once, at most */
    size_t values_left; /* values the document may still have */
    /* Children of the containers being parsed, copied into the arena when
     * each closes. */
    tly_json_t *vals;
    size_t nvals, capvals;
    tly_json_member_t *mems;
    size_t nmems, capmems;
} parser_t;

static bool fail_at(parser_t *p, size_t at, tly_json_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fail_at(parser_t *p, size_t at, tly_json_code_t code, const char *fmt, ...)
{
    tly_json_error_t *e = p->err;
    e->code = code;
    e->line = 1;
    e->column = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->text[i] == '\n') {
            e->line++;
            e->column = 1;
        } else {
            e->column++;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return false;
}

static inline void skip_ws(parser_t *p)
{
    /* Agents send compact JSON: most calls find a token at once. */
    if (p->pos < p->len && p->text[p->pos] > ' ')
        return;
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

/* Length of the valid UTF-8 sequence at s[0..n) (n >= 1, s[0] >= 0x80),
 * or 0: overlong forms, surrogates and code points past U+10FFFF are
 * invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The end of the run of plain bytes (ASCII, not a control character, '"'
 * or '\\') that starts at text[i], or len. */
static inline size_t plain_run(const unsigned char *text, size_t i, size_t len)
{
#ifdef __SSE2__
    /* Sixteen bytes at a time; a signed compare flags bytes below 0x20 and
     * those of 0x80 and above (non-ASCII, checked by the caller) alike. */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(' ');
    while (i + 16 <= len) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                         _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask != 0)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#else
    /* Eight bytes at a time. A byte below 0x20 or equal to '"' or '\\'
     * (after the XOR: 0) sets its high bit when subtracted from, as one of
     * 0x80 and above has it already; the check may flag a plain byte next
     * to a special one, never miss a special one. */
    const uint64_t ones = 0x0101010101010101ull;
    while (i + 8 <= len) {
        uint64_t x;
        memcpy(&x, text + i, 8);
        if ((x | (x - ones * 0x20) | ((x ^ ones * '"') - ones) | ((x ^ ones * '\\') - ones)) &
            ones * 0x80)
            break;
        i += 8;
    }
#endif
    while (i < len && text[i] >= 0x20 && text[i] < 0x80 && text[i] != '"' && text[i] != '\\')
        i++;
    return i;
}

/* A string at p->pos (the opening quote); its unescaped value goes to
 * p->strings, at the same offset. */
static bool parse_string(parser_t *p, const char **out, uint32_t *out_len)
{
    size_t start = ++p->pos;
    /* First pass: find the end, check the bytes, note whether anything is
     * escaped. */
    bool escaped = false;
    size_t i = start;
    for (;;) {
        i = plain_run(p->text, i, p->len);
        if (i >= p->len)
            return fail_at(p, i, TLY_JSON_E_SYNTAX, "premature end of input in a string");
        unsigned char c = p->text[i];
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = true;
            i += 2;
            continue;
        }
        if (c < 0x20)
            return fail_at(p, i, TLY_JSON_E_SYNTAX, "control character 0x%02x in a string", c);
        size_t n = utf8_seq(p->text + i, p->len - i);
        if (n == 0)
            return fail_at(p, i, TLY_JSON_E_UTF8, "invalid UTF-8 byte 0x%02x in a string", c);
        i += n;
    }
    size_t raw = i - start;
    if (raw > UINT32_MAX - 1)
        return fail_at(p, start, TLY_JSON_E_SIZE, "string too long");
    char *s = p->strings + start;
    size_t n = 0;
    if (!escaped) {
        n = raw;
    } else {
        for (size_t k = start; k < i;) {
            /* The run up to the next escape in one copy (Windows paths
             * escape every separator). */
            const unsigned char *bs = memchr(p->text + k, '\\', i - k);
            size_t run = bs != NULL ? (size_t)(bs - (p->text + k)) : i - k;
            memcpy(s + n, p->text + k, run);
            n += run;
            k += run;
            if (k == i)
                break;
            unsigned char e = p->text[k + 1];
            k += 2;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                s[n++] = (char)e;
                continue;
            case 'b':
                s[n++] = '\b';
                continue;
            case 'f':
                s[n++] = '\f';
                continue;
            case 'n':
                s[n++] = '\n';
                continue;
            case 'r':
                s[n++] = '\r';
                continue;
            case 't':
                s[n++] = '\t';
                continue;
            case 'u':
                break;
            default:
                return fail_at(p, k - 2, TLY_JSON_E_SYNTAX, "invalid escape in a string");
            }
            int cp = k + 4 <= i ? hex4(p->text + k) : -1;
            if (cp < 0)
                return fail_at(p, k - 2, TLY_JSON_E_SYNTAX, "invalid \\u escape in a string");
            k += 4;
            uint32_t code = (uint32_t)cp;
            if (code >= 0xDC00 && code <= 0xDFFF)
                return fail_at(p, k - 6, TLY_JSON_E_SYNTAX, "lone low surrogate \\u%04X", code);
            if (code >= 0xD800 && code <= 0xDBFF) {
                int low = k + 6 <= i && p->text[k] == '\\' && p->text[k + 1] == 'u'
                              ? hex4(p->text + k + 2)
                              : -1;
                if (low < 0xDC00 || low > 0xDFFF)
                    return fail_at(p, k - 6, TLY_JSON_E_SYNTAX, "lone high surrogate \\u%04X",
                                   code);
                code = 0x10000 + ((code - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
                k += 6;
            }
            if (code == 0)
                return fail_at(p, k - 6, TLY_JSON_E_SYNTAX, "\\u0000 is not allowed");
            n += put_utf8(s + n, code);
        }
    }
    s[n] = '\0';
    p->pos = i + 1;
    *out = s;
    *out_len = (uint32_t)n;
    return true;
}

static bool parse_number(parser_t *p, tly_json_t *out)
{
    size_t start = p->pos, i = start;
    const unsigned char *t = p->text;
    bool integer = true;
    if (i < p->len && t[i] == '-')
        i++;
    if (i < p->len && t[i] == '0') {
        i++;
    } else if (i < p->len && t[i] >= '1' && t[i] <= '9') {
        while (i < p->len && t[i] >= '0' && t[i] <= '9')
            i++;
    } else {
        return fail_at(p, start, TLY_JSON_E_SYNTAX, "invalid number");
    }
    if (i < p->len && t[i] == '.') {
        integer = false;
        i++;
        if (i >= p->len || t[i] < '0' || t[i] > '9')
            return fail_at(p, start, TLY_JSON_E_SYNTAX, "invalid number");
        while (i < p->len && t[i] >= '0' && t[i] <= '9')
            i++;
    }
    if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
        integer = false;
        i++;
        if (i < p->len && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i >= p->len || t[i] < '0' || t[i] > '9')
            return fail_at(p, start, TLY_JSON_E_SYNTAX, "invalid number");
        while (i < p->len && t[i] >= '0' && t[i] <= '9')
            i++;
    }
    size_t n = i - start;
    if (integer && n - (t[start] == '-') <= 18) {
        /* Eighteen digits never overflow: no strtoll, no copy. */
        int64_t v = 0;
        for (size_t k = start + (t[start] == '-'); k < i; k++)
            v = v * 10 + (t[k] - '0');
        out->type = TLY_JSON_INTEGER;
        out->u.i = t[start] == '-' ? -v : v;
        p->pos = i;
        return true;
    }
    char small[64];
    char *copy = n < sizeof small ? small : tly_xcalloc(n + 1, 1);
    memcpy(copy, t + start, n);
    copy[n] = '\0';
    errno = 0;
    bool ok = true;
    if (integer) {
        out->type = TLY_JSON_INTEGER;
        out->u.i = strtoll(copy, NULL, 10);
        ok = errno != ERANGE;
    } else {
        out->type = TLY_JSON_REAL;
        out->u.d = strtod(copy, NULL);
        ok = !(errno == ERANGE && (out->u.d == HUGE_VAL || out->u.d == -HUGE_VAL));
    }
    if (copy != small)
        free(copy);
    if (!ok)
        return fail_at(p, start, TLY_JSON_E_SYNTAX, "number out of range");
    p->pos = i;
    return true;
}

static bool literal(parser_t *p, const char *word, tly_json_type_t type, tly_json_t *out)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0)
        return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "invalid token");
    p->pos += n;
    out->type = type;
    return true;
}

static void push_val(parser_t *p, const tly_json_t *v)
{
    if (p->nvals == p->capvals) {
        p->capvals = p->capvals ? 2 * p->capvals : 64;
        p->vals = tly_xrealloc(p->vals, p->capvals * sizeof *p->vals);
    }
    p->vals[p->nvals++] = *v;
}

static tly_json_member_t *push_mem(parser_t *p)
{
    if (p->nmems == p->capmems) {
        p->capmems = p->capmems ? 2 * p->capmems : 64;
        p->mems = tly_xrealloc(p->mems, p->capmems * sizeof *p->mems);
    }
    return &p->mems[p->nmems++];
}

static int by_key(const void *a, const void *b)
{
    const tly_json_member_t *x = *(const tly_json_member_t *const *)a;
    const tly_json_member_t *y = *(const tly_json_member_t *const *)b;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return memcmp(x->key, y->key, x->key_len);
}

/* The first key that appears twice among m[0..n), or NULL. */
static const tly_json_member_t *duplicate_key(const tly_json_member_t *m, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (m[i].key_len == m[j].key_len && memcmp(m[i].key, m[j].key, m[i].key_len) == 0)
                    return &m[i];
        return NULL;
    }
    const tly_json_member_t **sorted = tly_xcalloc(n, sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &m[i];
    qsort(sorted, n, sizeof *sorted, by_key);
    const tly_json_member_t *dup = NULL;
    for (size_t i = 1; dup == NULL && i < n; i++)
        if (by_key(&sorted[i - 1], &sorted[i]) == 0)
            dup = sorted[i];
    free(sorted);
    return dup;
}

static bool parse_value(parser_t *p, tly_json_t *out, unsigned depth);

static bool parse_array(parser_t *p, tly_json_t *out, unsigned depth)
{
    size_t base = p->nvals;
    p->pos++; /* [ */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
    } else {
        for (;;) {
            tly_json_t v;
            if (!parse_value(p, &v, depth))
                return false;
            push_val(p, &v);
            skip_ws(p);
            if (p->pos < p->len && p->text[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                continue;
            }
            if (p->pos < p->len && p->text[p->pos] == ']') {
                p->pos++;
                break;
            }
            return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "',' or ']' expected");
        }
    }
    size_t n = p->nvals - base;
    tly_json_t *items = NULL;
    if (n > 0) {
        items = arena_alloc(p->doc, n * sizeof *items);
        memcpy(items, p->vals + base, n * sizeof *items);
    }
    p->nvals = base;
    out->type = TLY_JSON_ARRAY;
    out->len = (uint32_t)n;
    out->u.items = items;
    return true;
}

static bool parse_object(parser_t *p, tly_json_t *out, unsigned depth)
{
    size_t base = p->nmems, open = p->pos;
    p->pos++; /* { */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
    } else {
        for (;;) {
            if (p->pos >= p->len || p->text[p->pos] != '"')
                return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "string or '}' expected");
            const char *key;
            uint32_t key_len;
            if (!parse_string(p, &key, &key_len))
                return false;
            skip_ws(p);
            if (p->pos >= p->len || p->text[p->pos] != ':')
                return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "':' expected");
            p->pos++;
            skip_ws(p);
            tly_json_t v;
            if (!parse_value(p, &v, depth))
                return false;
            /* push after the value: its own members used the stack above us */
            tly_json_member_t *m = push_mem(p);
            m->key = key;
            m->key_len = key_len;
            m->value = v;
            skip_ws(p);
            if (p->pos < p->len && p->text[p->pos] == ',') {
                p->pos++;
                skip_ws(p);
                continue;
            }
            if (p->pos < p->len && p->text[p->pos] == '}') {
                p->pos++;
                break;
            }
            return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "',' or '}' expected");
        }
    }
    size_t n = p->nmems - base;
    const tly_json_member_t *dup = n > 1 ? duplicate_key(p->mems + base, n) : NULL;
    if (dup != NULL)
        return fail_at(p, open, TLY_JSON_E_DUPLICATE, "duplicate object key \"%.*s\"",
                       dup->key_len > 64 ? 64 : (int)dup->key_len, dup->key);
    tly_json_member_t *members = NULL;
    if (n > 0) {
        members = arena_alloc(p->doc, n * sizeof *members);
        memcpy(members, p->mems + base, n * sizeof *members);
    }
    p->nmems = base;
    out->type = TLY_JSON_OBJECT;
    out->len = (uint32_t)n;
    out->u.members = members;
    return true;
}

/* A byte that starts no token: invalid UTF-8 says so, anything else is a
 * syntax error (what was expected instead). */
static bool bad_byte(parser_t *p, const char *expected)
{
    unsigned char c = p->text[p->pos];
    if (c >= 0x80 && utf8_seq(p->text + p->pos, p->len - p->pos) == 0)
        return fail_at(p, p->pos, TLY_JSON_E_UTF8, "invalid UTF-8 byte 0x%02x", c);
    return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "%s", expected);
}

/* depth: the containers open around this value. */
static bool parse_value(parser_t *p, tly_json_t *out, unsigned depth)
{
    memset(out, 0, sizeof *out);
    size_t start = p->pos;
    if (p->pos >= p->len)
        return fail_at(p, p->pos, TLY_JSON_E_SYNTAX, "premature end of input");
    if (p->values_left == 0)
        return fail_at(p, p->pos, TLY_JSON_E_VALUES, "more values than a valid document has");
    p->values_left--;
    unsigned char c = p->text[p->pos];
    bool ok;
    if ((c == '{' || c == '[') && depth + 1 > p->max_depth)
        return fail_at(p, p->pos, TLY_JSON_E_DEPTH, "nesting deeper than %u levels", p->max_depth);
    switch (c) {
    case '{':
        ok = parse_object(p, out, depth + 1);
        break;
    case '[':
        ok = parse_array(p, out, depth + 1);
        break;
    case '"':
        out->type = TLY_JSON_STRING;
        ok = parse_string(p, &out->u.s, &out->len);
        break;
    case 't':
        ok = literal(p, "true", TLY_JSON_TRUE, out);
        break;
    case 'f':
        ok = literal(p, "false", TLY_JSON_FALSE, out);
        break;
    case 'n':
        ok = literal(p, "null", TLY_JSON_NULL, out);
        break;
    default:
        ok = c == '-' || (c >= '0' && c <= '9') ? parse_number(p, out)
                                                : bad_byte(p, "invalid token");
    }
    out->src_off = (uint32_t)start;
    out->src_len = (uint32_t)(p->pos - start);
    return ok;
}

tly_json_doc_t *tly_json_parse(const char *text, size_t len, unsigned flags,
                               const tly_json_limits_t *limits, tly_json_error_t *err)
{
    tly_json_error_t scratch;
    if (err == NULL)
        err = &scratch;
    memset(err, 0, sizeof *err);
    unsigned max_depth = limits != NULL ? limits->max_depth : 0;
    parser_t p = {.text = (const unsigned char *)text,
                  .len = len,
                  .err = err,
                  .max_depth = max_depth == 0 || max_depth > TLY_JSON_MAX_DEPTH ? TLY_JSON_MAX_DEPTH
                                                                                : max_depth,
                  .values_left =
                      limits != NULL && limits->max_values > 0 ? limits->max_values : SIZE_MAX};
    if (len >= UINT32_MAX) {
        fail_at(&p, 0, TLY_JSON_E_SIZE, "input of 4 GiB or more");
        return NULL;
    }
    p.doc = tly_xcalloc(1, sizeof *p.doc);
    /* Trees take about twice their text, and the strings' copy once more;
     * start there, double after. */
    p.doc->next_cap = 3 * len + 1024;
    p.strings = arena_alloc(p.doc, len + 1);
    memcpy(p.strings, text, len);
    skip_ws(&p);
    bool ok;
    if (p.pos < len && ((flags & TLY_JSON_ANY_TOP) || text[p.pos] == '{' || text[p.pos] == '['))
        ok = parse_value(&p, &p.doc->root, 0);
    else if (p.pos < len)
        ok = bad_byte(&p, "'[' or '{' expected");
    else
        ok = fail_at(&p, p.pos, TLY_JSON_E_SYNTAX, "'[' or '{' expected");
    if (ok) {
        skip_ws(&p);
        if (p.pos < len)
            ok = bad_byte(&p, "end of input expected");
    }
    free(p.vals);
    free(p.mems);
    if (!ok) {
        tly_json_free(p.doc);
        return NULL;
    }
    return p.doc;
}

/* ---- access ---- */

/* The first byte tells most keys of one length apart without a call. */
static inline bool key_is(const tly_json_member_t *m, const char *key, size_t key_len)
{
    return m->key_len == key_len &&
           (key_len == 0 || (m->key[0] == key[0] && memcmp(m->key, key, key_len) == 0));
}

const tly_json_t *tly_json_getn(const tly_json_t *v, const char *key, size_t key_len)
{
    if (v == NULL || v->type != TLY_JSON_OBJECT)
        return NULL;
    for (uint32_t i = 0; i < v->len; i++) {
        const tly_json_member_t *m = &v->u.members[i];
        if (key_is(m, key, key_len))
            return &m->value;
    }
    return NULL;
}

const tly_json_t *tly_json_get(const tly_json_t *v, const char *key)
{
    return tly_json_getn(v, key, strlen(key));
}

const tly_json_t *tly_json_get_from(const tly_json_t *v, const char *key, size_t key_len,
                                    uint32_t *hint)
{
    if (v == NULL || v->type != TLY_JSON_OBJECT)
        return NULL;
    uint32_t i = *hint < v->len ? *hint : 0;
    for (uint32_t k = 0; k < v->len; k++) {
        const tly_json_member_t *m = &v->u.members[i];
        if (key_is(m, key, key_len)) {
            *hint = i + 1;
            return &m->value;
        }
        i = i + 1 < v->len ? i + 1 : 0;
    }
    return NULL;
}
