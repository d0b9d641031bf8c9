/* HTTP/1.1 response parser; see httpc.h. */
#include "httpc.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

/* Parses a non-negative decimal or hex number of at most 18 digits. */
static bool parse_number(const char *p, const char *end, int base, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    for (; p < end; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        if (++digits > 18)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    *out = v;
    return digits > 0;
}

static bool header_is(const char *name, size_t name_len, const char *want)
{
    return strlen(want) == name_len && strncasecmp(name, want, name_len) == 0;
}

static bool value_has_token(const char *v, size_t n, const char *token)
{
    size_t t = strlen(token);
    for (size_t i = 0; i + t <= n; i++)
        if (strncasecmp(v + i, token, t) == 0)
            return true;
    return false;
}

/* Walks a chunked body starting at p. Returns the end of the message (after
 * the trailer) or NULL when incomplete; *bad on a malformed body. With
 * decode, moves the chunk data to `dst` and sets *decoded_len. */
static const char *walk_chunks(char *p, const char *end, bool decode, char *dst,
                               size_t *decoded_len, bool *bad)
{
    size_t out = 0;
    for (;;) {
        const char *eol = find_crlf(p, end);
        if (eol == NULL)
            return NULL;
        uint64_t size;
        if (!parse_number(p, eol, 16, &size)) {
            *bad = true;
            return NULL;
        }
        p = (char *)eol + 2;
        if (size == 0) {
            /* Trailer fields, then an empty line. */
            for (;;) {
                eol = find_crlf(p, end);
                if (eol == NULL)
                    return NULL;
                bool empty = eol == p;
                p = (char *)eol + 2;
                if (empty) {
                    if (decode)
                        *decoded_len = out;
                    return p;
                }
            }
        }
        if (size > (uint64_t)(end - p) || (size_t)(end - p) - (size_t)size < 2)
            return NULL;
        if (decode)
            memmove(dst + out, p, (size_t)size);
        out += (size_t)size;
        p += size;
        if (p[0] != '\r' || p[1] != '\n') {
            *bad = true;
            return NULL;
        }
        p += 2;
    }
}

int httpc_parse_response(char *buf, size_t len, bool eof, httpc_response_t *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after_s = -1;
    const char *end = buf + len;
    const char *head_end = NULL;
    for (const char *p = buf; p + 3 < end; p++)
        if (memcmp(p, "\r\n\r\n", 4) == 0) {
            head_end = p;
            break;
        }
    if (head_end == NULL)
        return len > HTTPC_MAX_HEAD ? -1 : 0;

    /* Status line: HTTP/1.x SP 3DIGIT SP reason */
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
        !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
        !isdigit((unsigned char)buf[11]))
        return -1;
    bool http10 = buf[7] == '0';
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    bool keep_alive = false, chunked = false, have_length = false;
    uint64_t content_length = 0;

    const char *line = find_crlf(buf, head_end + 2) + 2;
    while (line < head_end + 2) {
        const char *eol = find_crlf(line, head_end + 2);
        if (eol == NULL)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon == NULL)
            return -1;
        size_t name_len = (size_t)(colon - line);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(eol - v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (header_is(line, name_len, "content-length")) {
            if (!parse_number(v, v + vlen, 10, &content_length))
                return -1;
            have_length = true;
        } else if (header_is(line, name_len, "transfer-encoding")) {
            chunked = value_has_token(v, vlen, "chunked");
        } else if (header_is(line, name_len, "connection")) {
            if (value_has_token(v, vlen, "close"))
                r->close = true;
            if (value_has_token(v, vlen, "keep-alive"))
                keep_alive = true;
        } else if (header_is(line, name_len, "retry-after")) {
            uint64_t s;
            if (parse_number(v, v + vlen, 10, &s))
                r->retry_after_s = s > 86400 ? 86400 : (int)s;
        } else if (header_is(line, name_len, "etag")) {
            if (vlen < sizeof r->etag) {
                memcpy(r->etag, v, vlen);
                r->etag[vlen] = '\0';
            }
        }
        line = eol + 2;
    }
    if (http10 && !keep_alive)
        r->close = true;

    char *body = (char *)head_end + 4;
    size_t avail = (size_t)(end - body);
    r->body = body;
    if (r->status < 200 || r->status == 204 || r->status == 304) {
        r->consumed = (size_t)(body - buf);
        return 1;
    }
    if (chunked) {
        bool bad = false;
        const char *msg_end = walk_chunks(body, end, false, NULL, NULL, &bad);
        if (bad)
            return -1;
        if (msg_end == NULL)
            return eof ? -1 : 0;
        walk_chunks(body, end, true, body, &r->body_len, &bad);
        r->consumed = (size_t)(msg_end - buf);
        return 1;
    }
    if (have_length) {
        if (content_length > avail)
            return eof ? -1 : 0;
        r->body_len = (size_t)content_length;
        r->consumed = (size_t)(body - buf) + r->body_len;
        return 1;
    }
    /* Delimited by the close. */
    if (!eof)
        return 0;
    r->close = true;
    r->body_len = avail;
    r->consumed = len;
    return 1;
}
