/* Growable byte buffer and a compact JSON writer for the fleet simulator.
 *
 * A buf_t that fails to grow sets `oom`, stops appending and keeps what it
 * has, so a caller writes a whole document and checks once at the end. Not
 * thread-safe (one owner). */
#ifndef BENCH_BUF_H
#define BENCH_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data; /* owned; NUL-terminated when len < cap */
    size_t len;
    size_t cap;
    bool oom;
} buf_t;

/* Zeroes b; the first append allocates. */
void buf_init(buf_t *b);
/* Frees the storage; b may be reused after buf_init. Accepts a zeroed b. */
void buf_free(buf_t *b);
/* Empties b and clears `oom`, keeping the storage. */
void buf_reset(buf_t *b);
/* Makes room for n more bytes; false (and `oom`) when that fails. */
bool buf_reserve(buf_t *b, size_t n);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_putc(buf_t *b, char c);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) JSON-escaped, without quotes. UTF-8 passes through. */
void buf_json_escape(buf_t *b, const char *s, size_t n);

/* JSON writer: keeps track of commas. Depth is bounded by JW_MAX_DEPTH;
 * deeper nesting is a programming error (asserted). */
#define JW_MAX_DEPTH 8

typedef struct {
    buf_t *b; /* borrowed */
    int depth;
    bool after_key;
    bool first[JW_MAX_DEPTH];
} jw_t;

void jw_init(jw_t *w, buf_t *b);
void jw_obj(jw_t *w);
void jw_obj_end(jw_t *w);
void jw_arr(jw_t *w);
void jw_arr_end(jw_t *w);
/* Writes `"key":`; the next value call completes the member. */
void jw_key(jw_t *w, const char *key);
void jw_str(jw_t *w, const char *s);
void jw_strn(jw_t *w, const char *s, size_t n);
void jw_int(jw_t *w, int64_t v);
void jw_uint(jw_t *w, uint64_t v);
void jw_bool(jw_t *w, bool v);
void jw_null(jw_t *w);
/* A number printed with `decimals` fraction digits (deterministic text). */
void jw_fixed(jw_t *w, double v, int decimals);
/* Starts a string value and leaves it open for buf_json_escape calls;
 * jw_str_close ends it. */
void jw_str_open(jw_t *w);
void jw_str_close(jw_t *w);

#endif
