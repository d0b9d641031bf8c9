#include "common/problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tly_problem_set(tly_problem_t *p, int status, const char *slug, const char *title,
                     const char *fmt, ...)
{
    memset(p, 0, sizeof *p);
    p->status = status;
    p->slug = slug;
    p->title = title;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
}

static void field(tly_strbuf_t *b, const char *key, const char *value)
{
    if (value == NULL)
        return;
    tly_strbuf_printf(b, ",\"%s\":", key);
    tly_strbuf_json_string(b, value, strlen(value));
}

char *tly_problem_json(const tly_problem_t *p, const char *instance, const char *request_id,
                       size_t *len_out)
{
    tly_strbuf_t b;
    tly_strbuf_init(&b, 16384);
    tly_strbuf_printf(&b, "{\"type\":\"urn:tally:problem:%s\",\"status\":%d", p->slug, p->status);
    field(&b, "title", p->title);
    field(&b, "detail", p->detail);
    field(&b, "instance", instance);
    /* A 422 always names an instance location, even the root (""). */
    if (p->status == 422)
        field(&b, "pointer", p->pointer);
    if (p->rule[0] != '\0')
        field(&b, "rule", p->rule);
    field(&b, "request_id", request_id);
    tly_strbuf_append(&b, "}", 1);
    *len_out = b.len;
    return tly_strbuf_steal(&b);
}
