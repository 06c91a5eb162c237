/* test_server_auth.c: smserver's token and rate-limit code (smserver/auth.c): JWT
 * round trip and every way a token must be refused, token hashing, the limiter window. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smserver/auth.h"
#include "tap.h"

/* Replace the character at i of a copy of tok. */
static char *
flip(const char *tok, size_t i)
{
    char *t = strdup(tok);
    t[i] = t[i] == 'A' ? 'B' : 'A';
    return t;
}

int
main(void)
{
    struct auth a, b;
    char *cause = NULL;
    setenv("SECRET_KEY", "unit-test-secret-0123456789abcdef0123", 1);
    ok(auth_init(&a, "/nonexistent", &cause) == SM_OK, "auth_init with SECRET_KEY");
    ok(a.access_minutes == 30 && a.refresh_days == 7, "default lifetimes 30 min / 7 days");
    setenv("SECRET_KEY", "another-secret-0123456789abcdef01234567", 1);
    ok(auth_init(&b, "/nonexistent", &cause) == SM_OK, "a second key");
    setenv("SECRET_KEY", "short", 1);
    struct auth c;
    ok(auth_init(&c, "/nonexistent", &cause) == SM_EINVAL, "SECRET_KEY under 32 bytes refused");
    free(cause);
    cause = NULL;
    unsetenv("SECRET_KEY");
    setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "0", 1);
    ok(auth_init(&c, "/nonexistent", &cause) == SM_EINVAL, "ACCESS_TOKEN_EXPIRE_MINUTES=0 refused");
    free(cause);
    cause = NULL;
    unsetenv("ACCESS_TOKEN_EXPIRE_MINUTES");

    int64_t now = 1800000000, uid = 0;
    char *tok = auth_jwt_issue(&a, 42, now);
    ok(auth_jwt_verify(&a, tok, now, &uid) == SM_OK && uid == 42, "round trip gives sub 42");
    ok(auth_jwt_verify(&a, tok, now + 30 * 60 - 1, &uid) == SM_OK, "valid until exp");
    ok(auth_jwt_verify(&a, tok, now + 30 * 60, &uid) == SM_EAUTH, "refused at exp");
    ok(auth_jwt_verify(&b, tok, now, &uid) == SM_EAUTH, "refused under another key");
    size_t len = strlen(tok);
    const char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
    char *t1 = flip(tok, 2), *t2 = flip(tok, (size_t)(dot1 - tok) + 3), *t3 = flip(tok, len - 2);
    ok(auth_jwt_verify(&a, t1, now, &uid) == SM_EAUTH, "tampered header refused");
    ok(auth_jwt_verify(&a, t2, now, &uid) == SM_EAUTH, "tampered payload refused");
    ok(auth_jwt_verify(&a, t3, now, &uid) == SM_EAUTH, "tampered signature refused");
    free(t1);
    free(t2);
    free(t3);
    char *nosig = strndup(tok, (size_t)(dot2 - tok) + 1);
    ok(auth_jwt_verify(&a, nosig, now, &uid) == SM_EAUTH, "empty signature refused");
    free(nosig);
    /* alg none: header {"alg":"none","typ":"JWT"}, same payload, no signature */
    char *none = NULL;
    if (asprintf(&none, "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0%.*s.", (int)(dot2 - dot1), dot1) > 0)
        ok(auth_jwt_verify(&a, none, now, &uid) == SM_EAUTH, "alg none refused");
    free(none);
    static const char *const junk[] = {"", ".", "..", "a.b.c", "a.b.c.d", "%%%.%%%.%%%"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        ok(auth_jwt_verify(&a, junk[i], now, &uid) == SM_EAUTH, "junk token %zu refused", i);
    char longtok[AUTH_JWT_MAX + 10];
    memset(longtok, 'a', sizeof longtok - 1);
    longtok[sizeof longtok - 1] = '\0';
    ok(auth_jwt_verify(&a, longtok, now, &uid) == SM_EAUTH, "over-long token refused");
    free(tok);

    char t[AUTH_TOKEN_LEN + 1], t2b[AUTH_TOKEN_LEN + 1];
    uint8_t h[STORE_HASH_LEN], h2[STORE_HASH_LEN], h3[STORE_HASH_LEN];
    auth_token_new(t, h);
    auth_token_new(t2b, h2);
    auth_token_hash(t, h3);
    ok(strlen(t) == AUTH_TOKEN_LEN && strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                                                "wxyz0123456789-_") == AUTH_TOKEN_LEN,
       "token is 43 base64url characters");
    ok(strcmp(t, t2b) != 0, "two tokens differ");
    ok(memcmp(h, h3, sizeof h) == 0, "hash of a token is stable");
    ok(memcmp(h, h2, sizeof h) != 0, "hashes of two tokens differ");

    char hash[AUTH_PWHASH_LEN];
    ok(auth_password_hash("correct horse", hash) == SM_OK && strncmp(hash, "$argon2id$", 10) == 0,
       "password hash is Argon2id");
    ok(auth_password_verify(hash, "correct horse") == 1, "right password verifies");
    ok(auth_password_verify(hash, "correct horsE") == 0, "wrong password does not");
    ok(auth_password_verify(a.dummy_hash, "") == 0, "dummy hash matches nothing");

    struct ratelimit rl;
    ratelimit_init(&rl, 60);
    double t0 = 1000;
    for (int i = 0; i < 5; i++) {
        ok(ratelimit_check(&rl, "user", "carol", 5, t0 + i) == 0, "attempt %d allowed", i + 1);
        ratelimit_fail(&rl, "user", "carol", t0 + i);
    }
    int wait = ratelimit_check(&rl, "user", "carol", 5, t0 + 5);
    ok(wait >= 50 && wait <= 61, "sixth attempt waits about a minute (%d s)", wait);
    ok(ratelimit_check(&rl, "user", "dave", 5, t0 + 5) == 0, "another user is not limited");
    ok(ratelimit_check(&rl, "addr", "carol", 5, t0 + 5) == 0, "kinds are separate");
    ok(ratelimit_check(&rl, "user", "carol", 5, t0 + 61) == 0, "the window ends: not forever");
    ratelimit_fail(&rl, "user", "carol", t0 + 62);
    ratelimit_reset(&rl, "user", "carol");
    ok(ratelimit_check(&rl, "user", "carol", 1, t0 + 62) == 0, "reset clears the failures");
    ratelimit_done(&rl);
    auth_done(&a);
    auth_done(&b);
    return tap_done();
}
