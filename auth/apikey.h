/* Agent API keys: "tly_<key id>_<secret>".
 *
 * The key id (12 base62 characters) is public and indexes the api_keys row
 * for an O(1) lookup; the secret (43 base62 characters, 256 bits) is shown
 * once at creation and stored only as HMAC-SHA256(pepper, secret). A keyed
 * fast hash is right for high-entropy secrets: a slow password hash here
 * would turn every agent request into a CPU denial-of-service vector.
 *
 * All functions are pure and thread-safe. */
#ifndef TLY_AUTH_APIKEY_H
#define TLY_AUTH_APIKEY_H

#include "common/util.h"

#define TLY_APIKEY_ID_LEN     12
#define TLY_APIKEY_SECRET_LEN 43
#define TLY_APIKEY_HASH_LEN   32
/* "tly_" + id + "_" + secret */
#define TLY_APIKEY_LEN (4 + TLY_APIKEY_ID_LEN + 1 + TLY_APIKEY_SECRET_LEN)

typedef struct {
    char id[TLY_APIKEY_ID_LEN + 1];
    char secret[TLY_APIKEY_SECRET_LEN + 1];
} tly_apikey_t;

/* Splits a presented key; false if it is not exactly the format above. */
bool tly_apikey_parse(const char *text, size_t len, tly_apikey_t *out) TLY_MUSTCHECK;

/* Generates a new random key. */
bool tly_apikey_generate(tly_apikey_t *out) TLY_MUSTCHECK;

/* Writes the full key text ("tly_..."), TLY_APIKEY_LEN + 1 bytes. */
void tly_apikey_format(const tly_apikey_t *key, char out[TLY_APIKEY_LEN + 1]);

/* out = HMAC-SHA256(pepper, secret). */
bool tly_apikey_hash(const char *pepper, size_t pepper_len, const char *secret,
                     unsigned char out[TLY_APIKEY_HASH_LEN]) TLY_MUSTCHECK;

/* Constant-time check of a presented secret against a stored hash. */
bool tly_apikey_verify(const char *pepper, size_t pepper_len, const char *secret,
                       const unsigned char *stored_hash, size_t stored_len);

#endif
