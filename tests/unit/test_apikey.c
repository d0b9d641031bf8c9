/* API key format, generation, hashing and constant-time verification. */
#include "auth/apikey.h"
#include "tests/unit/check.h"

static const char PEPPER[] = "0123456789abcdef0123456789abcdef";

static void test_roundtrip(void)
{
    tly_apikey_t key, parsed;
    char text[TLY_APIKEY_LEN + 1];
    CHECK(tly_apikey_generate(&key));
    tly_apikey_format(&key, text);
    CHECK(strlen(text) == TLY_APIKEY_LEN);
    CHECK(strncmp(text, "tly_", 4) == 0);
    CHECK(tly_apikey_parse(text, strlen(text), &parsed));
    CHECK_STR(parsed.id, key.id);
    CHECK_STR(parsed.secret, key.secret);

    tly_apikey_t other;
    CHECK(tly_apikey_generate(&other));
    CHECK(strcmp(other.secret, key.secret) != 0);
}

static void test_parse_rejects(void)
{
    tly_apikey_t key;
    char good[TLY_APIKEY_LEN + 1];
    CHECK(tly_apikey_generate(&key));
    tly_apikey_format(&key, good);

    const char *bad[] = {"", "tly_", "Bearer x", "tly_short_secret"};
    for (size_t i = 0; i < TLY_ARRAY_LEN(bad); i++)
        CHECK(!tly_apikey_parse(bad[i], strlen(bad[i]), &key));

    char t[TLY_APIKEY_LEN + 2];
    memcpy(t, good, sizeof good);
    t[0] = 'T'; /* prefix */
    CHECK(!tly_apikey_parse(t, TLY_APIKEY_LEN, &key));
    memcpy(t, good, sizeof good);
    t[4 + TLY_APIKEY_ID_LEN] = '-'; /* separator */
    CHECK(!tly_apikey_parse(t, TLY_APIKEY_LEN, &key));
    memcpy(t, good, sizeof good);
    t[TLY_APIKEY_LEN - 1] = '/'; /* non-base62 in the secret */
    CHECK(!tly_apikey_parse(t, TLY_APIKEY_LEN, &key));
    memcpy(t, good, sizeof good);
    t[TLY_APIKEY_LEN] = 'x'; /* one character too long */
    t[TLY_APIKEY_LEN + 1] = '\0';
    CHECK(!tly_apikey_parse(t, TLY_APIKEY_LEN + 1, &key));
}

static void test_hash_and_verify(void)
{
    unsigned char h1[TLY_APIKEY_HASH_LEN], h2[TLY_APIKEY_HASH_LEN];
    const char *secret = "Zk3pQ9vX2mN8bR4tY7wL1cF6hJ0dS5gA3eK9uP2qV8x";
    CHECK(tly_apikey_hash(PEPPER, strlen(PEPPER), secret, h1));
    CHECK(tly_apikey_hash(PEPPER, strlen(PEPPER), secret, h2));
    CHECK(memcmp(h1, h2, sizeof h1) == 0); /* deterministic */
    CHECK(tly_apikey_verify(PEPPER, strlen(PEPPER), secret, h1, sizeof h1));

    /* Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"). */
    unsigned char kat[TLY_APIKEY_HASH_LEN];
    char hex[2 * TLY_APIKEY_HASH_LEN + 1];
    CHECK(tly_apikey_hash("key", 3, "The quick brown fox jumps over the lazy dog", kat));
    tly_hex_encode(kat, sizeof kat, hex);
    CHECK_STR(hex, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");

    /* Wrong secret, wrong pepper, truncated stored hash: all refused. */
    CHECK(!tly_apikey_verify(PEPPER, strlen(PEPPER), "Zk3pQ9vX2mN8bR4tY7wL1cF6hJ0dS5gA3eK9uP2qV8y",
                             h1, sizeof h1));
    CHECK(!tly_apikey_verify("another-pepper-another-pepper-xx", 32, secret, h1, sizeof h1));
    CHECK(!tly_apikey_verify(PEPPER, strlen(PEPPER), secret, h1, sizeof h1 - 1));
}

int main(void)
{
    test_roundtrip();
    test_parse_rejects();
    test_hash_and_verify();
    CHECK_DONE();
}
