/* Growable buffer and JSON writer; see buf.h. */
#include "buf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void buf_free(buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

bool buf_reserve(buf_t *b, size_t n)
{
    if (b->oom)
        return false;
    /* Room for n bytes and the terminating NUL: len + n + 1 <= cap. */
    if (b->cap > b->len && n < b->cap - b->len)
        return true;
    if (n > SIZE_MAX / 2 - b->len - 1) {
        b->oom = true;
        return false;
    }
    size_t want = b->len + n + 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void buf_append(buf_t *b, const void *p, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(buf_t *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_json_escape(buf_t *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        default:
            buf_printf(b, "\\u%04x", c);
            break;
        }
    }
    buf_append(b, s + run, n - run);
}

void jw_init(jw_t *w, buf_t *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->first[0] = true;
}

static void pre_value(jw_t *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        buf_putc(w->b, ',');
    w->first[w->depth] = false;
}

static void open_container(jw_t *w, char c)
{
    pre_value(w);
    assert(w->depth + 1 < JW_MAX_DEPTH);
    buf_putc(w->b, c);
    w->depth++;
    w->first[w->depth] = true;
}

static void close_container(jw_t *w, char c)
{
    assert(w->depth > 0);
    buf_putc(w->b, c);
    w->depth--;
}

void jw_obj(jw_t *w)
{
    open_container(w, '{');
}

void jw_obj_end(jw_t *w)
{
    close_container(w, '}');
}

void jw_arr(jw_t *w)
{
    open_container(w, '[');
}

void jw_arr_end(jw_t *w)
{
    close_container(w, ']');
}

void jw_key(jw_t *w, const char *key)
{
    pre_value(w);
    buf_putc(w->b, '"');
    buf_json_escape(w->b, key, strlen(key));
    buf_puts(w->b, "\":");
    w->after_key = true;
}

void jw_strn(jw_t *w, const char *s, size_t n)
{
    pre_value(w);
    buf_putc(w->b, '"');
    buf_json_escape(w->b, s, n);
    buf_putc(w->b, '"');
}

void jw_str(jw_t *w, const char *s)
{
    jw_strn(w, s, strlen(s));
}

void jw_str_open(jw_t *w)
{
    pre_value(w);
    buf_putc(w->b, '"');
}

void jw_str_close(jw_t *w)
{
    buf_putc(w->b, '"');
}

void jw_int(jw_t *w, int64_t v)
{
    pre_value(w);
    buf_printf(w->b, "%lld", (long long)v);
}

void jw_uint(jw_t *w, uint64_t v)
{
    pre_value(w);
    buf_printf(w->b, "%llu", (unsigned long long)v);
}

void jw_bool(jw_t *w, bool v)
{
    pre_value(w);
    buf_puts(w->b, v ? "true" : "false");
}

void jw_null(jw_t *w)
{
    pre_value(w);
    buf_puts(w->b, "null");
}

void jw_fixed(jw_t *w, double v, int decimals)
{
    pre_value(w);
    buf_printf(w->b, "%.*f", decimals, v);
}
