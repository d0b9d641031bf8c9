#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Written once by tly_log_init() before any thread starts; read-only after. */
static const char *log_component = "tally";
static tly_log_level_t log_min_level = TLY_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tly_log_init(const char *component, tly_log_level_t min_level)
{
    log_component = component;
    log_min_level = min_level;
}

int tly_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0)
            return i;
    }
    return -1;
}

static void append_field(tly_strbuf_t *b, const char *key, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return;
    tly_strbuf_printf(b, ",\"%s\":", key);
    tly_strbuf_json_string(b, value, strnlen(value, 256));
}

void tly_log(tly_log_level_t level, const tly_log_ctx_t *ctx, const char *fmt, ...)
{
    if (level < log_min_level)
        return;

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t msg_len = (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;

    char ts[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03ldZ", now.tv_nsec / 1000000);

    /* Large enough for the worst case: a 2047-byte message escaped 6x plus
     * three 256-byte fields, so a line is never cut. */
    char line[16384];
    tly_strbuf_t b;
    tly_strbuf_init_fixed(&b, line, sizeof line);
    tly_strbuf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":", ts,
                      level_names[level], log_component);
    tly_strbuf_json_string(&b, msg, msg_len);
    if (ctx != NULL) {
        append_field(&b, "request_id", ctx->request_id);
        append_field(&b, "tenant", ctx->tenant);
        append_field(&b, "route", ctx->route);
    }
    tly_strbuf_append(&b, "}\n", 2);
    ssize_t w = write(STDERR_FILENO, line, b.len);
    (void)w;
}
