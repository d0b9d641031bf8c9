/* The regular expressions of JSON Schema's "pattern" keyword, compiled once
 * into a deterministic automaton so that checking a string costs one table
 * step per byte (glibc's regexec allocated and reset state on every call,
 * about a tenth of serve's CPU per batch).
 *
 * The accepted syntax is the portable subset: what a POSIX ERE and an
 * ECMAScript regular expression with the "u" flag (ajv's) read the same way,
 * one ASCII byte per code point — ASCII literals, bracket classes of literals
 * and ranges (no "[^", no "[]"), groups, '|', '?', '*', '+', {m}, {m,} and
 * {m,n} (n at most 1000), '^' and '$'. No '.', no backslash, no "(?".
 * Matching is a search, as in both: the pattern may match anywhere in the
 * string unless anchored; '^' holds only at the start and '$' only at the
 * end of the whole string. Bytes outside ASCII never match a literal or a
 * class, so byte-wise matching of UTF-8 agrees with code-point matching.
 *
 * Ownership: tly_regex_compile's *out belongs to the caller
 * (tly_regex_free). Threads: a compiled expression is immutable; any number
 * of threads may search it at once. */
#ifndef TLY_COMMON_REGEX_H
#define TLY_COMMON_REGEX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tly_regex tly_regex_t;

/* Compiles pattern (NUL-terminated). On failure writes the reason, with the
 * byte offset where it applies, into err (err_len bytes, NUL-terminated)
 * and leaves *out NULL: syntax outside the portable subset ("outside the
 * portable subset at offset N"), malformed syntax ("does not compile: ...")
 * or an automaton over its size caps. */
bool tly_regex_compile(const char *pattern, tly_regex_t **out, char *err, size_t err_len);

/* True when the expression matches somewhere in s (len bytes; NULs are
 * ordinary bytes that match nothing). */
bool tly_regex_search(const tly_regex_t *re, const char *s, size_t len);

/* NULL is a no-op. */
void tly_regex_free(tly_regex_t *re);

#endif
