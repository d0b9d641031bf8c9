#include "auth/apikey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <string.h>

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool is_base62(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

bool tly_apikey_parse(const char *text, size_t len, tly_apikey_t *out)
{
    const char *id = text + 4;
    const char *secret = id + TLY_APIKEY_ID_LEN + 1;
    if (len != TLY_APIKEY_LEN || memcmp(text, "tly_", 4) != 0 || id[TLY_APIKEY_ID_LEN] != '_' ||
        !is_base62(id, TLY_APIKEY_ID_LEN) || !is_base62(secret, TLY_APIKEY_SECRET_LEN))
        return false;
    memcpy(out->id, id, TLY_APIKEY_ID_LEN);
    out->id[TLY_APIKEY_ID_LEN] = '\0';
    memcpy(out->secret, secret, TLY_APIKEY_SECRET_LEN);
    out->secret[TLY_APIKEY_SECRET_LEN] = '\0';
    return true;
}

/* Fills n base62 characters without modulo bias (bytes >= 248 are redrawn). */
static bool random_base62(char *out, size_t n)
{
    size_t filled = 0;
    while (filled < n) {
        unsigned char r[64];
        if (!tly_random_bytes(r, sizeof r))
            return false;
        for (size_t i = 0; i < sizeof r && filled < n; i++) {
            if (r[i] < 248)
                out[filled++] = base62[r[i] % 62];
        }
    }
    out[n] = '\0';
    return true;
}

bool tly_apikey_generate(tly_apikey_t *out)
{
    return random_base62(out->id, TLY_APIKEY_ID_LEN) &&
           random_base62(out->secret, TLY_APIKEY_SECRET_LEN);
}

void tly_apikey_format(const tly_apikey_t *key, char out[TLY_APIKEY_LEN + 1])
{
    snprintf(out, TLY_APIKEY_LEN + 1, "tly_%s_%s", key->id, key->secret);
}

bool tly_apikey_hash(const char *pepper, size_t pepper_len, const char *secret,
                     unsigned char out[TLY_APIKEY_HASH_LEN])
{
    size_t out_len = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pepper, pepper_len,
                     (const unsigned char *)secret, strlen(secret), out, TLY_APIKEY_HASH_LEN,
                     &out_len) != NULL &&
           out_len == TLY_APIKEY_HASH_LEN;
}

bool tly_apikey_verify(const char *pepper, size_t pepper_len, const char *secret,
                       const unsigned char *stored_hash, size_t stored_len)
{
    unsigned char h[TLY_APIKEY_HASH_LEN];
    if (stored_len != TLY_APIKEY_HASH_LEN || !tly_apikey_hash(pepper, pepper_len, secret, h))
        return false;
    return CRYPTO_memcmp(h, stored_hash, TLY_APIKEY_HASH_LEN) == 0;
}
