/* gzip bodies: round trip, bombs refused at the cap, corrupt and truncated
 * input, bytes after the gzip member. */
#include "server/body.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <zlib.h>

/* gzip-compresses n bytes of `in` into a heap buffer. */
static unsigned char *gzip(const void *in, size_t n, size_t *out_len)
{
    z_stream zs = {0};
    CHECK(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&zs, n) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void test_roundtrip(void)
{
    const char doc[] = "{\"schema_version\":\"1\",\"device\":{\"hostname\":\"FIN-LT-0423\"}}";
    size_t zlen, len = 0;
    unsigned char *z = gzip(doc, sizeof doc - 1, &zlen);
    char *out = NULL;
    tly_problem_t p;
    CHECK(tly_body_gunzip((char *)z, zlen, 1 << 20, 100, &out, &len, &p));
    CHECK(len == sizeof doc - 1);
    CHECK_STR(out, doc);
    free(out);
    free(z);
}

static void test_bomb(void)
{
    size_t n = 64u << 20; /* 64 MiB of zeros -> about 64 KiB of gzip */
    char *zeros = calloc(1, n);
    size_t zlen, len = 0;
    unsigned char *z = gzip(zeros, n, &zlen);
    free(zeros);
    CHECK(zlen < 100 * 1024);
    char *out = NULL;
    tly_problem_t p;
    /* With a generous ratio the size cap refuses it... */
    CHECK(!tly_body_gunzip((char *)z, zlen, 4u << 20, 100000, &out, &len, &p));
    CHECK(p.status == 413);
    CHECK_STR(p.slug, "decompressed-too-large");
    CHECK(out == NULL);
    /* ...and with the default ratio the ratio cap refuses it sooner. */
    CHECK(!tly_body_gunzip((char *)z, zlen, 4u << 20, 100, &out, &len, &p));
    CHECK(p.status == 413);
    CHECK_STR(p.slug, "compression-ratio-too-high");
    free(z);
}

static void test_small_but_compressible_passes(void)
{
    /* 60 KiB of one byte compresses > 100x but stays under the ratio floor. */
    size_t n = 60 * 1024, zlen, len = 0;
    char *a = malloc(n);
    memset(a, 'a', n);
    unsigned char *z = gzip(a, n, &zlen);
    char *out = NULL;
    tly_problem_t p;
    CHECK(tly_body_gunzip((char *)z, zlen, 1 << 20, 100, &out, &len, &p));
    CHECK(len == n);
    free(out);
    free(z);
    free(a);
}

static void test_malformed(void)
{
    const char doc[] = "{\"a\": \"some text that compresses\"}";
    size_t zlen, len = 0;
    unsigned char *z = gzip(doc, sizeof doc - 1, &zlen);
    char *out = NULL;
    tly_problem_t p;

    CHECK(!tly_body_gunzip((char *)z, zlen / 2, 1 << 20, 100, &out, &len, &p));
    CHECK(p.status == 400);
    CHECK_STR(p.slug, "malformed-gzip");
    CHECK(strstr(p.detail, "truncated") != NULL);

    unsigned char *extra = malloc(zlen + 3);
    memcpy(extra, z, zlen);
    memcpy(extra + zlen, "xyz", 3);
    CHECK(!tly_body_gunzip((char *)extra, zlen + 3, 1 << 20, 100, &out, &len, &p));
    CHECK(strstr(p.detail, "extra bytes") != NULL);

    CHECK(!tly_body_gunzip(doc, sizeof doc - 1, 1 << 20, 100, &out, &len, &p)); /* not gzip */
    CHECK(p.status == 400);
    CHECK(!tly_body_gunzip("", 0, 1 << 20, 100, &out, &len, &p));
    CHECK(p.status == 400);
    CHECK(out == NULL);
    free(extra);
    free(z);
}

int main(void)
{
    test_roundtrip();
    test_bomb();
    test_small_but_compressible_passes();
    test_malformed();
    CHECK_DONE();
}
