/* HTTP/1.1 response parsing for tally-fleet's client: pure functions over a
 * byte buffer, no I/O, no allocation. */
#ifndef BENCH_HTTPC_H
#define BENCH_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

/* The largest response head (status line + headers) accepted. */
#define HTTPC_MAX_HEAD 16384

typedef struct {
    int status;
    int retry_after_s; /* -1: no (integer) Retry-After */
    bool close;        /* the server will close the connection after this */
    char etag[128];    /* "" when absent (or longer than fits) */
    const char *body;  /* points into the parsed buffer; not NUL-terminated */
    size_t body_len;
    size_t consumed; /* bytes of the buffer this response used */
} httpc_response_t;

/* Parses one response from buf[0..len). Returns 1 when it is complete (r
 * filled; a chunked body is decoded in place, so buf is modified), 0 when
 * more bytes are needed, -1 when it is malformed. eof says the peer closed
 * the connection, which completes a body delimited by the close. */
int httpc_parse_response(char *buf, size_t len, bool eof, httpc_response_t *r);

#endif
