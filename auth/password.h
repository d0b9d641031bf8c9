/* User passwords: Argon2id (libargon2), OWASP parameters m=19 MiB, t=2, p=1,
 * stored in the PHC encoded form ("$argon2id$v=19$m=19456,t=2,p=1$..."),
 * which carries its own salt and parameters.
 *
 * Each call costs ~19 MiB and tens of milliseconds: never run it on an HTTP
 * poll thread. Thread-safe. */
#ifndef TLY_AUTH_PASSWORD_H
#define TLY_AUTH_PASSWORD_H

#include "common/util.h"

#define TLY_PASSWORD_HASH_MAX 128
#define TLY_PASSWORD_MIN_LEN  12
#define TLY_PASSWORD_MAX_LEN  1024

/* Hashes password into out (NUL-terminated). */
bool tly_password_hash(const char *password, char out[TLY_PASSWORD_HASH_MAX]) TLY_MUSTCHECK;

/* True when password matches the encoded hash (constant time in libargon2). */
bool tly_password_verify(const char *encoded, const char *password);

#endif
