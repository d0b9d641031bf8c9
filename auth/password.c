#include "auth/password.h"

#include <argon2.h>
#include <string.h>

enum { T_COST = 2, M_COST_KIB = 19456, PARALLELISM = 1, SALT_LEN = 16, HASH_LEN = 32 };

bool tly_password_hash(const char *password, char out[TLY_PASSWORD_HASH_MAX])
{
    unsigned char salt[SALT_LEN];
    size_t len = strlen(password);
    if (len > TLY_PASSWORD_MAX_LEN || !tly_random_bytes(salt, sizeof salt))
        return false;
    return argon2id_hash_encoded(T_COST, M_COST_KIB, PARALLELISM, password, len, salt, SALT_LEN,
                                 HASH_LEN, out, TLY_PASSWORD_HASH_MAX) == ARGON2_OK;
}

bool tly_password_verify(const char *encoded, const char *password)
{
    size_t len = strlen(password);
    return len <= TLY_PASSWORD_MAX_LEN && argon2id_verify(encoded, password, len) == ARGON2_OK;
}
