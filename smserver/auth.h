/* auth.h: passwords (Argon2id), access tokens (HS256 JWT), random refresh and agent
 * tokens (stored only as hashes), and the login rate limiter. */
#ifndef SM_SMSERVER_AUTH_H
#define SM_SMSERVER_AUTH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"
#include "store.h"

#define AUTH_SECRET_MIN 32
#define AUTH_SECRET_MAX 256
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 1024
#define AUTH_TOKEN_LEN 43   /* 32 random bytes, base64url without padding */
#define AUTH_JWT_MAX 1024   /* longest access token accepted */
#define AUTH_PWHASH_LEN 128 /* crypto_pwhash_STRBYTES */

struct auth {
    uint8_t secret[AUTH_SECRET_MAX];
    size_t secret_len;
    long access_minutes;              /* ACCESS_TOKEN_EXPIRE_MINUTES, default 30 */
    long refresh_days;                /* REFRESH_TOKEN_EXPIRE_DAYS, default 7 */
    char dummy_hash[AUTH_PWHASH_LEN]; /* verified against for unknown users */
};

/* Initialise libsodium and a: the signing secret from SECRET_KEY (at least 32 bytes)
 * or from state_dir/secret.key (32 random bytes, created 0600 on first start), the
 * token lifetimes from the environment, and the dummy hash. Main thread, at start. */
enum sm_rc auth_init(struct auth *a, const char *state_dir, char **cause) SM_MUST_CHECK;
/* Wipe the secret. */
void auth_done(struct auth *a);

/* Argon2id (interactive limits: 2 passes, 64 MiB per hash in flight). Slow on purpose:
 * call from a hashing worker, never from the event loop. */
enum sm_rc auth_password_hash(const char *password, char out[AUTH_PWHASH_LEN]) SM_MUST_CHECK;
/* 1 when password matches hash, 0 otherwise. Same cost either way. */
int auth_password_verify(const char *hash, const char *password);

/* Issue an access token for user_id valid from now; *out allocated. Any thread. */
char *auth_jwt_issue(const struct auth *a, int64_t user_id, int64_t now);
/* Verify an access token: exactly HS256, signature (constant time), exp > now, sub.
 * SM_OK with *user_id, or SM_EAUTH. Any thread. */
enum sm_rc auth_jwt_verify(const struct auth *a, const char *token, int64_t now,
                           int64_t *user_id) SM_MUST_CHECK;
/* The same, also giving the token's expiry (unix seconds). */
enum sm_rc auth_jwt_check(const struct auth *a, const char *token, int64_t now, int64_t *user_id,
                          double *expires) SM_MUST_CHECK;

/* A new random token (NUL-terminated in out) and its hash. Any thread. */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[STORE_HASH_LEN]);
/* The hash under which a token is stored. */
void auth_token_hash(const char *token, uint8_t hash[STORE_HASH_LEN]);
/* Random bytes (refresh token families). */
void auth_random(void *buf, size_t len);

/* Login rate limiter: failures per key (user name, peer address) in a sliding window.
 * Thread safe. */
#define RATELIMIT_SLOTS 4096
struct ratelimit_slot {
    uint64_t key;
    int failures;
    double window_start;
};
struct ratelimit {
    pthread_mutex_t mu;
    uint8_t hkey[16];
    double window; /* seconds */
    struct ratelimit_slot slots[RATELIMIT_SLOTS];
};
void ratelimit_init(struct ratelimit *r, double window);
void ratelimit_done(struct ratelimit *r);
/* 0 when key may try again; otherwise the seconds to wait (>= 1). limit is the number
 * of failures allowed per window. */
int ratelimit_check(struct ratelimit *r, const char *kind, const char *key, int limit, double now);
void ratelimit_fail(struct ratelimit *r, const char *kind, const char *key, double now);
void ratelimit_reset(struct ratelimit *r, const char *kind, const char *key);

#endif
