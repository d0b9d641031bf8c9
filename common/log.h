/* Structured JSON-lines logging.
 *
 * Every line is one JSON object written with a single write(2) to stderr, so
 * lines from different threads never interleave. Fields: ts (RFC 3339 UTC,
 * milliseconds), level, component, msg, and request_id / tenant / route when
 * the caller has them. Secrets must never be passed in.
 *
 * Thread-safety: tly_log_init() once at start-up, before threads; everything
 * else may be called from any thread. */
#ifndef TLY_COMMON_LOG_H
#define TLY_COMMON_LOG_H

#include <stdarg.h>

typedef enum { TLY_LOG_DEBUG = 0, TLY_LOG_INFO, TLY_LOG_WARN, TLY_LOG_ERROR } tly_log_level_t;

/* Request-scoped identity carried on a log line; any field may be NULL.
 * Borrowed: the strings must outlive the call only. */
typedef struct {
    const char *request_id;
    const char *tenant;
    const char *route;
} tly_log_ctx_t;

/* Sets the component name (borrowed, must be static) and minimum level. */
void tly_log_init(const char *component, tly_log_level_t min_level);

/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int tly_log_level_parse(const char *s);

void tly_log(tly_log_level_t level, const tly_log_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Usage: TLY_WARN(ctx_or_NULL, "fmt", ...). Variadic throughout so that a
 * compound-literal context with commas passes through the macro intact. */
#define TLY_DEBUG(...) tly_log(TLY_LOG_DEBUG, __VA_ARGS__)
#define TLY_INFO(...)  tly_log(TLY_LOG_INFO, __VA_ARGS__)
#define TLY_WARN(...)  tly_log(TLY_LOG_WARN, __VA_ARGS__)
#define TLY_ERROR(...) tly_log(TLY_LOG_ERROR, __VA_ARGS__)

#endif
