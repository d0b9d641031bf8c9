/* Request body decoding with limits: gzip (RFC 1952) inflated under a cap
 * on the decompressed size and on the compression ratio, so a gzip bomb is
 * refused after at most max_out bytes of work and memory.
 *
 * Pure and thread-safe. */
#ifndef TLY_SERVER_BODY_H
#define TLY_SERVER_BODY_H

#include "common/problem.h"

/* The ratio cap applies once the output exceeds this many bytes: small
 * bodies may compress very well and are harmless anyway. */
#define TLY_BODY_RATIO_FLOOR_BYTES (64 * 1024)

/* Inflates one gzip member from in[0..in_len). On success *out is a heap
 * buffer (free()) of *out_len bytes plus a NUL. On failure returns false with
 * *p filled: 413 decompressed-too-large / compression-ratio-too-high, or 400
 * malformed-gzip (corrupt, truncated, or bytes after the member). */
bool tly_body_gunzip(const char *in, size_t in_len, size_t max_out, int64_t max_ratio, char **out,
                     size_t *out_len, tly_problem_t *p) TLY_MUSTCHECK;

#endif
