/* auth.c: passwords, JWTs, random tokens and the login rate limiter. Nothing here
 * logs a password, a token or the secret. */
#include "config.h"

#include "auth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define SECRET_FILE "secret.key"
#define SECRET_FILE_LEN 32

/* Compact on purpose: a WebSocket client may offer the token as a subprotocol, and
 * libwebsockets 4.1 reads that header into 128 bytes (stream.h). */
static const char jwt_header[] = "{\"alg\":\"HS256\"}";

static long
env_long(const char *name, long def, long min, long max, char **cause)
{
    const char *v = getenv(name);
    long out;
    if (!v || !*v)
        return def;
    if (sm_parse_long(v, min, max, &out) != 0) {
        *cause = sm_xasprintf("%s: must be a whole number from %ld to %ld", name, min, max);
        return -1;
    }
    return out;
}

/* Sync DIR so that the name of a file just created in it survives a power cut (syncing
 * the file keeps its bytes, not its name). A filesystem that cannot sync a directory
 * (EINVAL) is let be, as SQLite does. Returns 0 or -1 with errno set. */
static int
sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -1;
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

/* Read or create state_dir/secret.key. */
static enum sm_rc
secret_file(struct auth *a, const char *state_dir, char **cause)
{
    char *path = sm_xasprintf("%s/%s", state_dir, SECRET_FILE);
    enum sm_rc rc = SM_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        uint8_t key[SECRET_FILE_LEN];
        randombytes_buf(key, sizeof key);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || write(fd, key, sizeof key) != (ssize_t)sizeof key || fsync(fd) != 0 ||
            sync_dir(state_dir) != 0) {
            *cause = sm_xasprintf("%s: %s", path, strerror(errno));
            rc = SM_EIO;
        } else {
            memcpy(a->secret, key, sizeof key);
            a->secret_len = sizeof key;
            sm_log(SM_LOG_INFO, "created a new signing secret in %s", path);
        }
        sodium_memzero(key, sizeof key);
        goto out;
    }
    if (fd < 0) {
        *cause = sm_xasprintf("%s: %s", path, strerror(errno));
        rc = SM_EIO;
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (sb.st_mode & 077)) {
        *cause = sm_xasprintf("%s: must not be readable by group or others (chmod 600)", path);
        rc = SM_EFORBIDDEN;
        goto out;
    }
    ssize_t n = read(fd, a->secret, sizeof a->secret);
    if (n < AUTH_SECRET_MIN) {
        *cause = sm_xasprintf("%s: shorter than %d bytes", path, AUTH_SECRET_MIN);
        rc = SM_EINVAL;
        goto out;
    }
    a->secret_len = (size_t)n;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

enum sm_rc
auth_init(struct auth *a, const char *state_dir, char **cause)
{
    memset(a, 0, sizeof *a);
    if (sodium_init() < 0) {
        *cause = sm_xstrdup("libsodium failed to initialise");
        return SM_EINTERNAL;
    }
    if ((a->access_minutes = env_long("ACCESS_TOKEN_EXPIRE_MINUTES", 30, 1, 7 * 24 * 60, cause)) <
            0 ||
        (a->refresh_days = env_long("REFRESH_TOKEN_EXPIRE_DAYS", 7, 1, 365, cause)) < 0)
        return SM_EINVAL;
    const char *env = getenv("SECRET_KEY");
    if (env && *env) {
        size_t len = strlen(env);
        if (len < AUTH_SECRET_MIN || len > AUTH_SECRET_MAX) {
            *cause = sm_xasprintf("SECRET_KEY: must be %d to %d bytes long", AUTH_SECRET_MIN,
                                  AUTH_SECRET_MAX);
            return SM_EINVAL;
        }
        memcpy(a->secret, env, len);
        a->secret_len = len;
    } else {
        enum sm_rc rc = secret_file(a, state_dir, cause);
        if (rc != SM_OK)
            return rc;
    }
    /* Unknown users are verified against this, so they cost what a real user costs. */
    char pw[AUTH_TOKEN_LEN + 1];
    uint8_t h[STORE_HASH_LEN];
    auth_token_new(pw, h);
    enum sm_rc rc = auth_password_hash(pw, a->dummy_hash);
    sodium_memzero(pw, sizeof pw);
    if (rc != SM_OK)
        *cause = sm_xstrdup("Argon2id: not enough memory for a password hash");
    return rc;
}

void
auth_done(struct auth *a)
{
    sodium_memzero(a->secret, sizeof a->secret);
}

enum sm_rc
auth_password_hash(const char *password, char out[AUTH_PWHASH_LEN])
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return SM_ENOMEM;
    return SM_OK;
}

int
auth_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* base64url without padding of len bytes; allocated. */
static char *
b64url(const void *bin, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = sm_xmalloc(n);
    sodium_bin2base64(out, n, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static void
hmac(const struct auth *a, const char *msg, size_t len, uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, a->secret, a->secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

char *
auth_jwt_issue(const struct auth *a, int64_t user_id, int64_t now)
{
    char payload[160];
    snprintf(payload, sizeof payload, "{\"sub\":\"%" PRId64 "\",\"exp\":%" PRId64 "}", user_id,
             now + (int64_t)a->access_minutes * 60);
    char *h = b64url(jwt_header, strlen(jwt_header));
    char *p = b64url(payload, strlen(payload));
    char *signing = sm_xasprintf("%s.%s", h, p);
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    hmac(a, signing, strlen(signing), mac);
    char *s = b64url(mac, sizeof mac);
    char *token = sm_xasprintf("%s.%s", signing, s);
    free(h);
    free(p);
    free(signing);
    free(s);
    return token;
}

/* Decode one base64url part (no padding) into an allocated, NUL-terminated buffer. */
static enum sm_rc
unb64(const char *s, size_t len, char **out, size_t *outlen)
{
    char *buf = sm_xmalloc(len + 1);
    size_t n = 0;
    if (sodium_base642bin((unsigned char *)buf, len, s, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(buf);
        return SM_EAUTH;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return SM_OK;
}

enum sm_rc
auth_jwt_verify(const struct auth *a, const char *token, int64_t now, int64_t *user_id)
{
    double expires;
    return auth_jwt_check(a, token, now, user_id, &expires);
}

enum sm_rc
auth_jwt_check(const struct auth *a, const char *token, int64_t now, int64_t *user_id,
               double *expires)
{
    size_t len = strnlen(token, AUTH_JWT_MAX + 1);
    if (len > AUTH_JWT_MAX)
        return SM_EAUTH;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return SM_EAUTH;
    char *hdr = NULL, *pl = NULL, *sig = NULL, *cause = NULL;
    size_t hdrlen, pllen, siglen;
    cJSON *hj = NULL, *pj = NULL;
    enum sm_rc rc = SM_EAUTH;
    /* Signature first, in constant time; nothing of an unsigned token is parsed. */
    if (unb64(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &siglen) != SM_OK ||
        siglen != crypto_auth_hmacsha256_BYTES)
        goto out;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    hmac(a, token, (size_t)(dot2 - token), mac);
    if (sodium_memcmp(mac, sig, sizeof mac) != 0)
        goto out;
    if (unb64(token, (size_t)(dot1 - token), &hdr, &hdrlen) != SM_OK ||
        unb64(dot1 + 1, (size_t)(dot2 - dot1 - 1), &pl, &pllen) != SM_OK)
        goto out;
    if (sm_json_parse(hdr, hdrlen, 4, &hj, &cause) != SM_OK ||
        sm_json_parse(pl, pllen, 4, &pj, &cause) != SM_OK)
        goto out;
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(hj, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "HS256") != 0)
        goto out;
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(pj, "exp");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(pj, "sub");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pj, "type");
    if (!cJSON_IsNumber(exp) || exp->valuedouble <= (double)now || !cJSON_IsString(sub) ||
        (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "access") != 0)))
        goto out;
    long id;
    if (sm_parse_long(sub->valuestring, 1, LONG_MAX, &id) != 0)
        goto out;
    *user_id = id;
    *expires = exp->valuedouble;
    rc = SM_OK;
out:
    free(hdr);
    free(pl);
    free(sig);
    free(cause);
    cJSON_Delete(hj);
    cJSON_Delete(pj);
    return rc;
}

void
auth_token_hash(const char *token, uint8_t hash[STORE_HASH_LEN])
{
    crypto_generichash(hash, STORE_HASH_LEN, (const unsigned char *)token, strlen(token), NULL, 0);
}

void
auth_token_new(char out[AUTH_TOKEN_LEN + 1], uint8_t hash[STORE_HASH_LEN])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    auth_token_hash(out, hash);
}

void
auth_random(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}

/* ------------------------------------------------------------------ rate limiter */

void
ratelimit_init(struct ratelimit *r, double window)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    randombytes_buf(r->hkey, sizeof r->hkey);
    r->window = window;
}

void
ratelimit_done(struct ratelimit *r)
{
    pthread_mutex_destroy(&r->mu);
}

/* Keyed hash of kind + key, so nobody can aim collisions at another user's slot. */
static uint64_t
rl_key(const struct ratelimit *r, const char *kind, const char *key)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s\x1f%s", kind, key);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof buf ? sizeof buf - 1 : (size_t)n;
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)buf, len, r->hkey);
    uint64_t k;
    memcpy(&k, h, sizeof k);
    return k ? k : 1;
}

/* The slot of k (locked): its own, or a free or expired one nearby, or the oldest. */
static struct ratelimit_slot *
rl_slot(struct ratelimit *r, uint64_t k, double now, int create)
{
    struct ratelimit_slot *oldest = NULL;
    for (int i = 0; i < 8; i++) {
        struct ratelimit_slot *s = &r->slots[(k + (uint64_t)i) % RATELIMIT_SLOTS];
        if (s->key == k)
            return s;
        if (!oldest || s->window_start < oldest->window_start)
            oldest = s;
    }
    if (!create)
        return NULL;
    oldest->key = k;
    oldest->failures = 0;
    oldest->window_start = now;
    return oldest;
}

int
ratelimit_check(struct ratelimit *r, const char *kind, const char *key, int limit, double now)
{
    uint64_t k = rl_key(r, kind, key);
    int wait = 0;
    pthread_mutex_lock(&r->mu);
    struct ratelimit_slot *s = rl_slot(r, k, now, 0);
    if (s && now - s->window_start < r->window && s->failures >= limit)
        wait = (int)(r->window - (now - s->window_start)) + 1;
    pthread_mutex_unlock(&r->mu);
    return wait;
}

void
ratelimit_fail(struct ratelimit *r, const char *kind, const char *key, double now)
{
    uint64_t k = rl_key(r, kind, key);
    pthread_mutex_lock(&r->mu);
    struct ratelimit_slot *s = rl_slot(r, k, now, 1);
    if (now - s->window_start >= r->window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->failures++;
    pthread_mutex_unlock(&r->mu);
}

void
ratelimit_reset(struct ratelimit *r, const char *kind, const char *key)
{
    uint64_t k = rl_key(r, kind, key);
    pthread_mutex_lock(&r->mu);
    struct ratelimit_slot *s = rl_slot(r, k, 0, 0);
    if (s)
        s->failures = 0;
    pthread_mutex_unlock(&r->mu);
}
