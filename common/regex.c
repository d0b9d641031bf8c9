/* Pattern → syntax tree → Thompson NFA → DFA by subset construction, all at
 * compile time; a search is then a walk of the DFA's transition table.
 *
 * Anchors are assertions on NFA edges: a '^' edge is followed only in the
 * closure at the string's start, a '$' edge only when the string has ended.
 * A DFA state is the set of NFA states a closure stops at: the byte-reading
 * states, MATCH, and the '$' states (so that whether the end of the string
 * completes a match is a function of the state). Searching anywhere in the
 * string is the NFA's start added to every step's closure. */
#include "common/regex.h"
#include "common/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATTERN 4096  /* bytes of a pattern */
#define MAX_GROUPS  64    /* nesting of (...) */
#define MAX_REPEAT  1000  /* n of {m,n} */
#define MAX_NFA     50000 /* NFA states, after {m,n} copies */
#define MAX_DFA     10000 /* DFA states */

enum { F_ACCEPT = 1, F_ACCEPT_END = 2, F_DEAD = 4 };

struct tly_regex {
    uint8_t cls[256]; /* byte → class; bytes of one class behave alike */
    uint32_t nclasses;
    bool empty_match; /* the empty string matches */
    uint8_t *flags;   /* F_* per state; state 0 is the start */
    uint32_t *next;   /* states × nclasses */
};

typedef struct {
    char *buf;
    size_t len;
} err_t;

static bool failf(err_t *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool failf(err_t *e, const char *fmt, ...)
{
    if (e->len == 0)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->buf, e->len, fmt, ap);
    va_end(ap);
    return false;
}

/* ---- syntax tree ---- */

typedef enum { A_EMPTY, A_SET, A_BOL, A_EOL, A_CAT, A_ALT, A_REP } ast_kind_t;

typedef struct {
    ast_kind_t kind;
    int a, b;        /* A_CAT, A_ALT: operands; A_REP: a is the operand */
    int min, max;    /* A_REP; max -1: unbounded */
    uint64_t set[4]; /* A_SET: bytes matched */
} ast_t;

typedef struct {
    const char *p0, *p; /* pattern, cursor */
    ast_t *nodes;
    int n, cap;
    int depth;
    err_t *err;
} parser_t;

static int add_node(parser_t *ps, ast_kind_t kind, int a, int b)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 64;
        ps->nodes = tly_xrealloc(ps->nodes, (size_t)ps->cap * sizeof *ps->nodes);
    }
    ps->nodes[ps->n] = (ast_t){.kind = kind, .a = a, .b = b};
    return ps->n++;
}

static size_t offset(const parser_t *ps)
{
    return (size_t)(ps->p - ps->p0);
}

static int outside_subset(parser_t *ps)
{
    failf(ps->err,
          "outside the portable subset at offset %zu (allowed: ASCII literals, [...] without ^, "
          "(...), |, ?, *, +, {m,n}, ^, $)",
          offset(ps));
    return -1;
}

static int malformed(parser_t *ps, const char *what)
{
    failf(ps->err, "does not compile: %s at offset %zu", what, offset(ps));
    return -1;
}

/* A byte that may stand for itself: printable ASCII but the backslash. */
static bool plain_byte(char c)
{
    return c >= 0x20 && c < 0x7F && c != '\\';
}

static void set_add(uint64_t set[4], unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi; c++)
        set[c >> 6] |= (uint64_t)1 << (c & 63);
}

static int parse_alt(parser_t *ps);

static int parse_class(parser_t *ps)
{
    int n = add_node(ps, A_SET, -1, -1);
    ps->p++; /* '[' */
    /* "[^" negates (a byte in POSIX, a code point in ECMAScript); "[]" is a
     * literal ']' in POSIX but an empty class in ECMAScript. */
    if (*ps->p == '^' || *ps->p == ']')
        return outside_subset(ps);
    while (*ps->p != ']') {
        char lo = *ps->p;
        if (lo == '\0')
            return malformed(ps, "'[' without its ']'");
        /* '[' opens POSIX-only syntax ("[:alpha:]") inside a class. */
        if (!plain_byte(lo) || lo == '[')
            return outside_subset(ps);
        char hi = lo;
        if (ps->p[1] == '-' && ps->p[2] != ']' && ps->p[2] != '\0') {
            ps->p += 2;
            hi = *ps->p;
            if (!plain_byte(hi) || hi == '[')
                return outside_subset(ps);
            if (hi < lo)
                return malformed(ps, "a range out of order");
        }
        set_add(ps->nodes[n].set, (unsigned char)lo, (unsigned char)hi);
        ps->p++;
    }
    ps->p++;
    return n;
}

static int parse_atom(parser_t *ps)
{
    char c = *ps->p;
    switch (c) {
    case '(': {
        if (ps->p[1] == '?')
            return outside_subset(ps);
        if (++ps->depth > MAX_GROUPS)
            return malformed(ps, "groups nested too deeply");
        const char *open = ps->p++;
        int x = parse_alt(ps);
        if (x < 0)
            return -1;
        if (*ps->p != ')') {
            ps->p = open;
            return malformed(ps, "'(' without its ')'");
        }
        ps->p++;
        ps->depth--;
        return x;
    }
    case '[':
        return parse_class(ps);
    case '^':
    case '$':
        ps->p++;
        return add_node(ps, c == '^' ? A_BOL : A_EOL, -1, -1);
    case '?':
    case '*':
    case '+':
    case '{':
        return malformed(ps, "a quantifier with nothing to repeat");
    case '.':
    case ']':
    case '}':
        /* '.' is a byte in POSIX, a code point in ECMAScript; a lone ']' or
         * '}' is a syntax error for ECMAScript's "u" flag. */
        return outside_subset(ps);
    default:
        if (!plain_byte(c))
            return outside_subset(ps);
        ps->p++;
        int n = add_node(ps, A_SET, -1, -1);
        set_add(ps->nodes[n].set, (unsigned char)c, (unsigned char)c);
        return n;
    }
}

/* Reads a decimal number, MAX_REPEAT + 1 for any larger one; -1 when
 * there is none. */
static int parse_count(parser_t *ps)
{
    if (*ps->p < '0' || *ps->p > '9')
        return -1;
    int v = 0;
    for (; *ps->p >= '0' && *ps->p <= '9'; ps->p++)
        v = v > MAX_REPEAT ? v : v * 10 + (*ps->p - '0');
    return v > MAX_REPEAT ? MAX_REPEAT + 1 : v;
}

static int parse_repeat(parser_t *ps)
{
    bool anchor = *ps->p == '^' || *ps->p == '$';
    int x = parse_atom(ps);
    if (x < 0 || *ps->p == '\0' || !strchr("?*+{", *ps->p))
        return x;
    if (anchor)
        return malformed(ps, "a quantifier on an anchor");
    int min = 0, max = -1;
    char q = *ps->p++;
    if (q == '?')
        max = 1;
    else if (q == '+')
        min = 1;
    else if (q == '{') {
        min = parse_count(ps);
        max = min;
        if (min >= 0 && *ps->p == ',') {
            ps->p++;
            max = *ps->p == '}' ? -1 : parse_count(ps);
            if (max == -1 && *ps->p != '}')
                return malformed(ps, "a malformed {m,n}");
        }
        if (min < 0 || *ps->p != '}')
            return malformed(ps, "a malformed {m,n}");
        if (min > MAX_REPEAT || max > MAX_REPEAT)
            return malformed(ps, "a repeat count above 1000");
        if (max >= 0 && max < min)
            return malformed(ps, "{m,n} with n below m");
        ps->p++;
    }
    /* "a**" is an error in ECMAScript; "a*?" is lazy there. */
    if (*ps->p != '\0' && strchr("?*+{", *ps->p))
        return outside_subset(ps);
    int r = add_node(ps, A_REP, x, -1);
    ps->nodes[r].min = min;
    ps->nodes[r].max = max;
    return r;
}

static int parse_cat(parser_t *ps)
{
    int r = -1;
    while (*ps->p != '\0' && *ps->p != '|' && *ps->p != ')') {
        int x = parse_repeat(ps);
        if (x < 0)
            return -1;
        r = r < 0 ? x : add_node(ps, A_CAT, r, x);
    }
    return r < 0 ? add_node(ps, A_EMPTY, -1, -1) : r;
}

static int parse_alt(parser_t *ps)
{
    int r = parse_cat(ps);
    while (r >= 0 && *ps->p == '|') {
        ps->p++;
        int x = parse_cat(ps);
        r = x < 0 ? -1 : add_node(ps, A_ALT, r, x);
    }
    return r;
}

/* ---- NFA ---- */

typedef enum { N_SET, N_SPLIT, N_EPS, N_BOL, N_EOL, N_MATCH } nfa_kind_t;

typedef struct {
    uint8_t kind;
    uint32_t set;  /* N_SET: index into nfa_t.sets */
    int out, out1; /* N_SPLIT follows both */
} nfa_state_t;

typedef struct {
    nfa_state_t *s;
    int n, cap;
    uint64_t (*sets)[4]; /* distinct byte sets */
    uint32_t nsets;
    bool too_big;
} nfa_t;

typedef struct {
    int first, last; /* last: an N_EPS whose out is still to be set */
} frag_t;

static int add_state(nfa_t *f, nfa_kind_t kind, int out, int out1)
{
    if (f->n >= MAX_NFA) {
        f->too_big = true;
        return 0;
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 256;
        f->s = tly_xrealloc(f->s, (size_t)f->cap * sizeof *f->s);
    }
    f->s[f->n] = (nfa_state_t){.kind = (uint8_t)kind, .out = out, .out1 = out1};
    return f->n++;
}

static uint32_t intern_set(nfa_t *f, const uint64_t set[4])
{
    for (uint32_t i = 0; i < f->nsets; i++) {
        if (memcmp(f->sets[i], set, sizeof f->sets[i]) == 0)
            return i;
    }
    f->sets = tly_xrealloc(f->sets, (f->nsets + 1) * sizeof *f->sets);
    memcpy(f->sets[f->nsets], set, sizeof f->sets[0]);
    return f->nsets++;
}

static frag_t gen(nfa_t *f, const ast_t *t, int i);

/* Appends y after x. */
static frag_t then(nfa_t *f, frag_t x, frag_t y)
{
    f->s[x.last].out = y.first;
    return (frag_t){x.first, y.last};
}

static frag_t gen_repeat(nfa_t *f, const ast_t *t, const ast_t *r)
{
    int e = add_state(f, N_EPS, -1, -1);
    frag_t cur = {e, e};
    for (int k = 0; k < r->min && !f->too_big; k++)
        cur = then(f, cur, gen(f, t, r->a));
    int optional = r->max < 0 ? 1 : r->max - r->min;
    for (int k = 0; k < optional && !f->too_big; k++) {
        frag_t x = gen(f, t, r->a);
        int end = add_state(f, N_EPS, -1, -1);
        int split = add_state(f, N_SPLIT, x.first, end);
        f->s[x.last].out = r->max < 0 ? split : end;
        cur = then(f, cur, (frag_t){split, end});
    }
    return cur;
}

static frag_t gen(nfa_t *f, const ast_t *t, int i)
{
    const ast_t *a = &t[i];
    if (f->too_big)
        return (frag_t){0, 0};
    switch (a->kind) {
    case A_CAT:
        return then(f, gen(f, t, a->a), gen(f, t, a->b));
    case A_ALT: {
        frag_t x = gen(f, t, a->a), y = gen(f, t, a->b);
        int e = add_state(f, N_EPS, -1, -1);
        f->s[x.last].out = e;
        f->s[y.last].out = e;
        return (frag_t){add_state(f, N_SPLIT, x.first, y.first), e};
    }
    case A_REP:
        return gen_repeat(f, t, a);
    default: {
        int e = add_state(f, N_EPS, -1, -1);
        if (a->kind == A_EMPTY)
            return (frag_t){e, e};
        nfa_kind_t k = a->kind == A_SET ? N_SET : a->kind == A_BOL ? N_BOL : N_EOL;
        int s = add_state(f, k, e, -1);
        if (a->kind == A_SET && !f->too_big)
            f->s[s].set = intern_set(f, a->set);
        return (frag_t){s, e};
    }
    }
}

/* ---- DFA by subset construction ---- */

typedef struct {
    const nfa_t *f;
    uint32_t *mark; /* per NFA state: stamp of the last closure that saw it */
    uint32_t stamp;
    int *stack;
    int *set; /* the closure being built */
    int nset;
} closure_t;

/* Adds to c->set every state that seed reaches without reading a byte and
 * where the walk stops: a byte-reading state, MATCH, or a '$' state unless
 * through_eol. '^' edges are followed only at_start, '$' edges only
 * through_eol (the string has ended). */
static void closure_add(closure_t *c, int seed, bool at_start, bool through_eol)
{
    int top = 0;
    c->stack[top++] = seed;
    while (top > 0) {
        int i = c->stack[--top];
        if (c->mark[i] == c->stamp)
            continue;
        c->mark[i] = c->stamp;
        const nfa_state_t *s = &c->f->s[i];
        bool follow = s->kind == N_SPLIT || s->kind == N_EPS || (s->kind == N_BOL && at_start) ||
                      (s->kind == N_EOL && through_eol);
        if (s->kind == N_SPLIT)
            c->stack[top++] = s->out1;
        if (follow)
            c->stack[top++] = s->out;
        else if (s->kind != N_BOL)
            c->set[c->nset++] = i;
    }
}

/* True when the string's end, reached in a state holding these NFA states,
 * completes a match: MATCH is among them or a '$' edge leads to it. Uses
 * c->set. */
static bool matches_at_end(closure_t *c, const int *set, int n, bool at_start)
{
    c->stamp++;
    c->nset = 0;
    for (int k = 0; k < n; k++)
        closure_add(c, set[k], at_start, true);
    for (int k = 0; k < c->nset; k++) {
        if (c->f->s[c->set[k]].kind == N_MATCH)
            return true;
    }
    return false;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int *keys; /* every state's sorted NFA set, back to back */
    size_t nkeys, keys_cap;
    size_t *key_at;  /* per DFA state: offset into keys; one more for the end */
    uint32_t *table; /* open addressing: DFA state + 1, 0 empty */
    size_t table_size;
    uint32_t n;
} dfa_index_t;

/* The DFA state of this NFA set (sorted), added if new. */
static uint32_t intern_state(dfa_index_t *d, const int *k, int n)
{
    uint64_t h = tly_fnv1a(TLY_FNV1A_INIT, k, (size_t)n * sizeof *k);
    size_t slot = h & (d->table_size - 1);
    for (;; slot = (slot + 1) & (d->table_size - 1)) {
        uint32_t e = d->table[slot];
        if (e == 0)
            break;
        size_t at = d->key_at[e - 1], len = d->key_at[e] - at;
        if (len == (size_t)n && memcmp(d->keys + at, k, (size_t)n * sizeof *k) == 0) {
            return e - 1;
        }
    }
    if (d->nkeys + (size_t)n > d->keys_cap) {
        d->keys_cap = 2 * (d->nkeys + (size_t)n);
        d->keys = tly_xrealloc(d->keys, d->keys_cap * sizeof *d->keys);
    }
    memcpy(d->keys + d->nkeys, k, (size_t)n * sizeof *k);
    d->nkeys += (size_t)n;
    d->key_at[d->n + 1] = d->nkeys;
    d->table[slot] = d->n + 1;
    return d->n++;
}

static bool in_set(const uint64_t set[4], unsigned c)
{
    return (set[c >> 6] >> (c & 63)) & 1;
}

/* Bytes fall into the same class when every byte set treats them alike. */
static uint32_t byte_classes(const nfa_t *f, uint8_t cls[256], unsigned rep[256])
{
    uint32_t n = 0;
    for (unsigned b = 0; b < 256; b++) {
        uint32_t c = 0;
        for (; c < n; c++) {
            uint32_t k = 0;
            while (k < f->nsets && in_set(f->sets[k], b) == in_set(f->sets[k], rep[c]))
                k++;
            if (k == f->nsets)
                break;
        }
        if (c == n)
            rep[n++] = b;
        cls[b] = (uint8_t)c;
    }
    return n;
}

static bool build_dfa(const nfa_t *f, int start, tly_regex_t *re, err_t *err)
{
    unsigned rep[256];
    re->nclasses = byte_classes(f, re->cls, rep);
    closure_t c = {.f = f};
    c.mark = tly_xcalloc((size_t)f->n, sizeof *c.mark);
    /* A closure visits each NFA state at most once; each visit pushes at
     * most two. */
    c.stack = tly_xcalloc(2 * (size_t)f->n + 2, sizeof *c.stack);
    c.set = tly_xcalloc((size_t)f->n, sizeof *c.set);
    dfa_index_t d = {.table_size = 1};
    while (d.table_size < 2 * MAX_DFA)
        d.table_size <<= 1;
    d.table = tly_xcalloc(d.table_size, sizeof *d.table);
    d.key_at = tly_xcalloc(MAX_DFA + 2, sizeof *d.key_at);
    size_t cap = 64;
    re->flags = tly_xcalloc(cap, 1);
    re->next = tly_xcalloc(cap * re->nclasses, sizeof *re->next);

    bool ok = true;
    c.stamp++;
    c.nset = 0;
    closure_add(&c, start, true, false);
    qsort(c.set, (size_t)c.nset, sizeof *c.set, cmp_int);
    intern_state(&d, c.set, c.nset);
    re->empty_match = matches_at_end(&c, (int[]){start}, 1, true);

    for (uint32_t i = 0; i < d.n && ok; i++) {
        if (d.n > cap) {
            size_t old = cap;
            cap = 2 * d.n;
            re->flags = tly_xrealloc(re->flags, cap);
            memset(re->flags + old, 0, cap - old);
            re->next = tly_xrealloc(re->next, cap * re->nclasses * sizeof *re->next);
        }
        const int *key = d.keys + d.key_at[i];
        int nkey = (int)(d.key_at[i + 1] - d.key_at[i]);
        uint8_t fl = nkey == 0 ? F_DEAD : 0;
        for (int k = 0; k < nkey; k++)
            fl |= f->s[key[k]].kind == N_MATCH ? F_ACCEPT : 0;
        if (matches_at_end(&c, key, nkey, false))
            fl |= F_ACCEPT_END;
        re->flags[i] = fl;
        for (uint32_t cl = 0; cl < re->nclasses; cl++) {
            c.stamp++;
            c.nset = 0;
            /* key points into d.keys, which intern_state may move. */
            for (int k = 0; k < nkey; k++) {
                const nfa_state_t *s = &f->s[d.keys[d.key_at[i] + (size_t)k]];
                if (s->kind == N_SET && in_set(f->sets[s->set], rep[cl]))
                    closure_add(&c, s->out, false, false);
            }
            closure_add(&c, start, false, false); /* a match may start at any byte */
            qsort(c.set, (size_t)c.nset, sizeof *c.set, cmp_int);
            re->next[(size_t)i * re->nclasses + cl] = intern_state(&d, c.set, c.nset);
            if (d.n > MAX_DFA) {
                ok = failf(err, "does not compile: more than %d automaton states", MAX_DFA);
                break;
            }
        }
    }
    free(c.mark);
    free(c.stack);
    free(c.set);
    free(d.keys);
    free(d.key_at);
    free(d.table);
    return ok;
}

bool tly_regex_compile(const char *pattern, tly_regex_t **out, char *err_buf, size_t err_len)
{
    err_t err = {err_buf, err_len};
    *out = NULL;
    if (strlen(pattern) > MAX_PATTERN)
        return failf(&err, "does not compile: longer than %d bytes", MAX_PATTERN);
    parser_t ps = {.p0 = pattern, .p = pattern, .err = &err};
    int root = parse_alt(&ps);
    if (root >= 0 && *ps.p == ')')
        root = malformed(&ps, "')' without its '('");
    nfa_t f = {0};
    frag_t whole = {0, 0};
    if (root >= 0) {
        whole = gen(&f, ps.nodes, root);
        int match = add_state(&f, N_MATCH, -1, -1);
        if (!f.too_big)
            f.s[whole.last].out = match;
    }
    free(ps.nodes);
    bool ok = root >= 0;
    if (ok && f.too_big)
        ok = failf(&err, "does not compile: more than %d automaton states after repeats", MAX_NFA);
    tly_regex_t *re = NULL;
    if (ok) {
        re = tly_xcalloc(1, sizeof *re);
        ok = build_dfa(&f, whole.first, re, &err);
    }
    free(f.s);
    free(f.sets);
    if (!ok) {
        tly_regex_free(re);
        return false;
    }
    *out = re;
    return true;
}

bool tly_regex_search(const tly_regex_t *re, const char *s, size_t len)
{
    if (len == 0)
        return re->empty_match;
    const unsigned char *u = (const unsigned char *)s;
    uint32_t st = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t fl = re->flags[st];
        if (fl & (F_ACCEPT | F_DEAD))
            return fl & F_ACCEPT;
        st = re->next[(size_t)st * re->nclasses + re->cls[u[i]]];
    }
    return re->flags[st] & (F_ACCEPT | F_ACCEPT_END);
}

void tly_regex_free(tly_regex_t *re)
{
    if (re == NULL)
        return;
    free(re->flags);
    free(re->next);
    free(re);
}
