/* Small shared helpers: string buffers, JSON string escaping, randomness,
 * UUIDs and clocks. All functions are thread-safe unless stated. */
#ifndef TLY_COMMON_UTIL_H
#define TLY_COMMON_UTIL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLY_MUSTCHECK    __attribute__((warn_unused_result))
#define TLY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A byte buffer that either grows on the heap (up to max_len) or writes into
 * caller memory. On overflow it stops appending and sets `truncated`; callers
 * check that once at the end instead of after every append. data is always
 * NUL-terminated. Not thread-safe (one owner). */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t max_len;
    bool heap;
    bool truncated;
} tly_strbuf_t;

/* Caller-owned storage of `cap` bytes (>= 1). */
void tly_strbuf_init_fixed(tly_strbuf_t *b, char *storage, size_t cap);
/* Heap storage growing up to max_len bytes of content; free with tly_strbuf_free. */
void tly_strbuf_init(tly_strbuf_t *b, size_t max_len);
void tly_strbuf_free(tly_strbuf_t *b);
void tly_strbuf_append(tly_strbuf_t *b, const char *s, size_t n);
void tly_strbuf_puts(tly_strbuf_t *b, const char *s);
void tly_strbuf_printf(tly_strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends v in decimal (what "%lld" prints, without printf's cost). */
void tly_strbuf_append_int(tly_strbuf_t *b, int64_t v);
/* Appends s as a quoted JSON string; bytes are copied as-is except the ones
 * JSON requires escaped (quote, backslash, control characters). */
void tly_strbuf_json_string(tly_strbuf_t *b, const char *s, size_t n);
/* Transfers the heap buffer to the caller (free() it); the strbuf is reset. */
char *tly_strbuf_steal(tly_strbuf_t *b);

/* Abort-on-OOM allocation for tiny internal objects (logs a line first). */
void *tly_xcalloc(size_t n, size_t size);
/* realloc (malloc when p is NULL) that aborts on failure. */
void *tly_xrealloc(void *p, size_t size);
char *tly_xstrdup(const char *s);

/* FNV-1a, 64-bit: h folded with the n bytes at data. Start from
 * TLY_FNV1A_INIT; chain calls to hash several spans. For hash tables over
 * keys an attacker cannot choose to collide on purpose. */
#define TLY_FNV1A_INIT 14695981039346656037ULL
uint64_t tly_fnv1a(uint64_t h, const void *data, size_t n);

/* Cryptographically secure random bytes (OpenSSL RAND_bytes). */
bool tly_random_bytes(void *buf, size_t n) TLY_MUSTCHECK;
/* Writes a random lowercase UUIDv4 (36 chars + NUL) into out: unique, not
 * secret (a fast per-thread generator seeded from the CSPRNG; request ids,
 * where RAND_bytes cost ~3 % of serve's CPU). Never use it for secrets. */
void tly_uuid_v4(char out[37]);
/* True when s is exactly a UUID in 8-4-4-4-12 hex form (either case). */
bool tly_is_uuid(const char *s);
/* Lowercases a valid UUID into out (37 bytes). */
void tly_uuid_lower(const char *s, char out[37]);

/* Hex-encodes n bytes into out (2n+1 bytes). */
void tly_hex_encode(const unsigned char *in, size_t n, char *out);

/* Clocks: wall time for timestamps, monotonic for durations. */
int64_t tly_now_realtime_us(void);
int64_t tly_now_monotonic_ns(void);
/* Formats microseconds since the epoch as RFC 3339 UTC with microseconds. */
void tly_format_rfc3339_us(int64_t us, char out[32]);

/* Parses s[0..n), an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.fraction]
 * then Z or +HH:MM / -HH:MM; 't', 'z' and a space separator accepted), into
 * microseconds since the epoch, as PostgreSQL's timestamptz input does:
 * the fraction rounded to the nearest microsecond (half to even), second 60
 * counted as the first second of the next minute. False for anything else
 * or a year outside 0001..9999 or a day its month does not have (30
 * February), which PostgreSQL refuses too. */
bool tly_parse_rfc3339_us(const char *s, size_t n, int64_t *us);

/* The days from 1970-01-01 of the "YYYY-MM-DD" that starts s[0..n) (n >=
 * 10; the caller checks what follows), a day of the years 0001-9999 of the
 * proleptic Gregorian calendar; false for anything else. */
bool tly_parse_date(const char *s, size_t n, int64_t *days);

/* Whether y-m-d is a day of the proleptic Gregorian calendar (m 1..12, d
 * within its month). */
bool tly_calendar_day_ok(int y, int m, int d);

/* The value of the n decimal digits at s, or -1 if any is not a digit. */
int tly_fixed_digits(const char *s, int n);

/* Sleeps up to ms milliseconds, waking early when *stop becomes true
 * (checked every 50 ms). */
void tly_sleep_unless(int64_t ms, const atomic_bool *stop);

/* Blocks SIGINT and SIGTERM in the calling thread and every thread it
 * creates afterwards; call first thing in main. tly_signals_wait() then
 * returns the signal number once one arrives (sigwait), so shutdown runs
 * in ordinary code, not in a handler. */
void tly_signals_block(void);
int tly_signals_wait(void);
/* Like tly_signals_wait but gives up after timeout_ms: returns 0 then. */
int tly_signals_wait_ms(int64_t timeout_ms);

#endif
