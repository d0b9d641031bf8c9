#include "server/body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static bool too_large(tly_problem_t *p, size_t max_out)
{
    tly_problem_set(p, 413, "decompressed-too-large", "Decompressed body too large",
                    "the body inflates to more than %zu bytes", max_out);
    snprintf(p->rule, sizeof p->rule, "max_decompressed_bytes");
    return false;
}

static bool malformed(tly_problem_t *p, const char *why)
{
    tly_problem_set(p, 400, "malformed-gzip", "Malformed gzip body", "the gzip body is %s", why);
    return false;
}

bool tly_body_gunzip(const char *in, size_t in_len, size_t max_out, int64_t max_ratio, char **out,
                     size_t *out_len, tly_problem_t *p)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (in_len > UINT32_MAX || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) /* 16: gzip only */
        return malformed(p, "not decodable");
    char *buf = NULL;
    size_t cap = 0, len = 0;
    bool ok = false;
    int rc = Z_OK;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len;
    while (rc != Z_STREAM_END) {
        if (len == cap) {
            if (cap > max_out) {
                too_large(p, max_out);
                goto done;
            }
            /* Grow geometrically but never past max_out + 1: one byte more
             * than allowed is enough to know the body is too large. */
            size_t next = cap ? cap * 2 : (in_len * 4 > 16384 ? in_len * 4 : 16384);
            if (next > max_out + 1)
                next = max_out + 1;
            char *b = realloc(buf, next + 1);
            if (b == NULL) {
                too_large(p, max_out);
                goto done;
            }
            buf = b;
            cap = next;
        }
        zs.next_out = (Bytef *)buf + len;
        zs.avail_out = (uInt)(cap - len);
        rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_MEM_ERROR) {
            malformed(p, "corrupt");
            goto done;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && len < cap) {
            malformed(p, "truncated");
            goto done;
        }
        if (len > max_out) {
            too_large(p, max_out);
            goto done;
        }
        if (len > TLY_BODY_RATIO_FLOOR_BYTES && max_ratio > 0 &&
            len / (in_len - zs.avail_in + 1) > (size_t)max_ratio) {
            tly_problem_set(p, 413, "compression-ratio-too-high", "Compression ratio too high",
                            "the body inflates more than %lld times its compressed size",
                            (long long)max_ratio);
            snprintf(p->rule, sizeof p->rule, "max_compression_ratio");
            goto done;
        }
    }
    if (zs.avail_in != 0) {
        malformed(p, "followed by extra bytes");
        goto done;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    ok = true;
done:
    inflateEnd(&zs);
    free(buf);
    return ok;
}
