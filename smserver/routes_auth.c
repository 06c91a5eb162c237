/* routes_auth.c: accounts and sessions: /register, /token, /refresh, /logout,
 * /users/me. Passwords and tokens never reach a log line. */
#include "config.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "ratelimit_db.h"
#include "http.h"
#include "handler.h"
#include "store.h"
#include "xmalloc.h"

/* Names: letters, digits and . _ @ - (no spaces, no control characters). */
static enum sm_rc
check_name(const char *field, const char *name, char **cause)
{
    for (const char *p = name; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '@' || ch == '-')) {
            *cause = sm_xasprintf("%s: only letters, digits and . _ @ - are allowed", field);
            return SM_EINVAL;
        }
    }
    return SM_OK;
}

static cJSON *
user_json(const struct store_user *u)
{
    char when[32];
    http_time_iso(u->created, when);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)u->id);
    cJSON_AddStringToObject(o, "username", u->name);
    cJSON_AddStringToObject(o, "created_at", when);
    return o;
}

static enum sm_rc
do_register(struct call *c, char **cause)
{
    cJSON *body = NULL;
    const char *name, *password;
    struct store_user u;
    enum sm_rc rc = http_body_object(c->req, &body, cause);
    if (rc != SM_OK)
        return rc;
    if ((rc = http_get_string(body, "username", 1, STORE_NAME_MAX, &name, cause)) != SM_OK ||
        (rc = check_name("username", name, cause)) != SM_OK ||
        (rc = http_get_string(body, "password", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, &password,
                              cause)) != SM_OK)
        goto out;
    char hash[AUTH_PWHASH_LEN];
    if ((rc = auth_password_hash(password, hash)) != SM_OK) {
        *cause = sm_xstrdup("password hashing: out of memory");
        goto out;
    }
    rc = store_user_add(c->st, name, hash, (int64_t)c->now, &u);
    if (rc == SM_ECONFLICT)
        *cause = sm_xstrdup("username: already registered");
    else if (rc == SM_OK)
        http_reply_json(c->resp, 200, user_json(&u));
out:
    cJSON_Delete(body);
    return rc;
}

/* Issue an access token and a refresh token of a new family for user_id. */
static enum sm_rc
issue_tokens(struct call *c, int64_t user_id, const uint8_t *family_or_null,
             const char *refresh_or_null)
{
    char refresh[AUTH_TOKEN_LEN + 1];
    uint8_t hash[STORE_HASH_LEN], family[STORE_FAMILY_LEN];
    int64_t now = (int64_t)c->now;
    if (refresh_or_null) {
        sm_strlcpy(refresh, refresh_or_null, sizeof refresh);
    } else {
        auth_token_new(refresh, hash);
        if (family_or_null)
            memcpy(family, family_or_null, sizeof family);
        else
            auth_random(family, sizeof family);
        enum sm_rc rc = store_refresh_add(c->st, hash, user_id, family,
                                          now + c->env->auth->refresh_days * 86400, now);
        if (rc != SM_OK) {
            sodium_memzero(refresh, sizeof refresh);
            return rc;
        }
    }
    char *access = auth_jwt_issue(c->env->auth, user_id, now);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "access_token", access);
    cJSON_AddStringToObject(o, "refresh_token", refresh);
    cJSON_AddStringToObject(o, "token_type", "bearer");
    cJSON_AddNumberToObject(o, "expires_in", (double)(c->env->auth->access_minutes * 60));
    sodium_memzero(access, strlen(access));
    free(access);
    sodium_memzero(refresh, sizeof refresh);
    http_reply_json(c->resp, 200, o);
    return SM_OK;
}

/* A form body (OAuth2 password flow). curl-style clients label JSON as a form too, so
 * a body that starts with '{' is JSON whatever its Content-Type. */
static int
is_form(const struct req *r)
{
    size_t i = 0;
    while (i < r->body.len && (r->body.data[i] == ' ' || r->body.data[i] == '\n'))
        i++;
    if (i < r->body.len && r->body.data[i] == '{')
        return 0;
    return strncasecmp(r->content_type, "application/x-www-form-urlencoded", 33) == 0;
}

static enum sm_rc
do_token(struct call *c, char **cause)
{
    char name[STORE_NAME_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
    cJSON *body = NULL;
    enum sm_rc rc = SM_OK;
    if (is_form(c->req)) {
        static const struct {
            const char *key;
            size_t off, size;
        } fields[] = {{"username", 0, sizeof name}, {"password", 1, sizeof password}};
        char *dst[] = {name, password};
        for (size_t i = 0; i < 2; i++) {
            rc = http_form_get(c->req->body.len ? c->req->body.data : "", c->req->body.len,
                               fields[i].key, dst[fields[i].off], fields[i].size);
            if (rc != SM_OK) {
                *cause = sm_xasprintf("%s: %s", fields[i].key,
                                      rc == SM_ENOTFOUND ? "field required"
                                      : rc == SM_ETOOBIG ? "too long"
                                                         : "invalid encoding");
                rc = rc == SM_ETOOBIG ? SM_EINVAL : rc == SM_ENOTFOUND ? SM_EINVAL : rc;
                goto out;
            }
        }
    } else {
        const char *n, *p;
        if ((rc = http_body_object(c->req, &body, cause)) != SM_OK ||
            (rc = http_get_string(body, "username", 1, STORE_NAME_MAX, &n, cause)) != SM_OK ||
            (rc = http_get_string(body, "password", 1, AUTH_PASSWORD_MAX, &p, cause)) != SM_OK)
            goto out;
        sm_strlcpy(name, n, sizeof name);
        sm_strlcpy(password, p, sizeof password);
    }
    if (!name[0]) {
        *cause = sm_xstrdup("username: field required");
        rc = SM_EINVAL;
        goto out;
    }
    /* The user's failures from this address (the name cannot hold a newline). */
    char user_addr[STORE_NAME_MAX + sizeof c->req->peer + 2];
    snprintf(user_addr, sizeof user_addr, "%s\n%s", name, c->req->peer);
    int wait =
        ratelimit_check_st(c->env->rl, c->st, "user", user_addr, LOGIN_FAILS_PER_USER, c->now);
    int wait_all =
        ratelimit_check_st(c->env->rl, c->st, "user-all", name, LOGIN_FAILS_PER_USER_ALL, c->now);
    int wait_addr =
        ratelimit_check_st(c->env->rl, c->st, "addr", c->req->peer, LOGIN_FAILS_PER_ADDR, c->now);
    if (wait_all > wait)
        wait = wait_all;
    if (wait_addr > wait)
        wait = wait_addr;
    if (wait > 0) {
        *cause = sm_xasprintf("Too many failed logins; try again in %d seconds", wait);
        c->resp->retry_after = wait;
        rc = SM_EBUSY;
        goto out;
    }
    struct store_user u;
    rc = store_user_by_name(c->st, name, &u);
    if (rc != SM_OK && rc != SM_ENOTFOUND)
        goto out;
    /* Unknown users are verified against a dummy hash: the same cost either way. */
    int good = auth_password_verify(rc == SM_OK ? u.pwhash : c->env->auth->dummy_hash, password);
    if (rc != SM_OK || !good) {
        ratelimit_fail_st(c->env->rl, c->st, "user", user_addr, c->now);
        ratelimit_fail_st(c->env->rl, c->st, "user-all", name, c->now);
        ratelimit_fail_st(c->env->rl, c->st, "addr", c->req->peer, c->now);
        *cause = sm_xstrdup("Incorrect username or password");
        rc = SM_EAUTH;
        goto out;
    }
    ratelimit_reset_st(c->env->rl, c->st, "user", user_addr);
    rc = issue_tokens(c, u.id, NULL, NULL);
out:
    sodium_memzero(password, sizeof password);
    cJSON_Delete(body);
    return rc;
}

/* The refresh_token of a JSON (or form) body. */
static enum sm_rc
get_refresh(struct call *c, char out[AUTH_TOKEN_LEN + 1], cJSON **body, char **cause)
{
    const char *t;
    enum sm_rc rc;
    if (is_form(c->req)) {
        char buf[256];
        rc = http_form_get(c->req->body.len ? c->req->body.data : "", c->req->body.len,
                           "refresh_token", buf, sizeof buf);
        if (rc != SM_OK) {
            *cause = sm_xstrdup(rc == SM_ENOTFOUND ? "refresh_token: field required"
                                                   : "refresh_token: invalid");
            return SM_EINVAL;
        }
        t = buf;
        if (strlen(t) != AUTH_TOKEN_LEN)
            goto bad;
        sm_strlcpy(out, t, AUTH_TOKEN_LEN + 1);
        sodium_memzero(buf, sizeof buf);
        return SM_OK;
    }
    if ((rc = http_body_object(c->req, body, cause)) != SM_OK ||
        (rc = http_get_string(*body, "refresh_token", 1, 256, &t, cause)) != SM_OK)
        return rc;
    if (strlen(t) != AUTH_TOKEN_LEN)
        goto bad;
    sm_strlcpy(out, t, AUTH_TOKEN_LEN + 1);
    return SM_OK;
bad:
    *cause = sm_xstrdup("Invalid refresh token");
    return SM_EAUTH;
}

static enum sm_rc
do_refresh(struct call *c, char **cause)
{
    char old[AUTH_TOKEN_LEN + 1], fresh[AUTH_TOKEN_LEN + 1];
    uint8_t old_hash[STORE_HASH_LEN], new_hash[STORE_HASH_LEN];
    cJSON *body = NULL;
    int64_t user_id = 0;
    enum sm_rc rc = get_refresh(c, old, &body, cause);
    if (rc != SM_OK)
        goto out;
    auth_token_hash(old, old_hash);
    auth_token_new(fresh, new_hash);
    int64_t now = (int64_t)c->now;
    rc = store_refresh_rotate(c->st, old_hash, new_hash, now,
                              now + c->env->auth->refresh_days * 86400, &user_id);
    if (rc == SM_EAUTH) {
        *cause = sm_xstrdup("Invalid refresh token");
        goto out;
    }
    if (rc == SM_OK)
        rc = issue_tokens(c, user_id, NULL, fresh);
out:
    sodium_memzero(old, sizeof old);
    sodium_memzero(fresh, sizeof fresh);
    cJSON_Delete(body);
    return rc;
}

static enum sm_rc
do_logout(struct call *c, char **cause)
{
    char tok[AUTH_TOKEN_LEN + 1];
    uint8_t hash[STORE_HASH_LEN];
    cJSON *body = NULL;
    enum sm_rc rc = get_refresh(c, tok, &body, cause);
    if (rc != SM_OK)
        goto out;
    auth_token_hash(tok, hash);
    int64_t user_id = 0;
    rc = store_refresh_revoke(c->st, hash, (int64_t)c->now, &user_id);
    if (rc == SM_EAUTH) {
        *cause = sm_xstrdup("Invalid refresh token");
    } else if (rc == SM_OK) {
        c->ev.kind = CALL_EV_LOGOUT; /* the user's live streams end */
        c->ev.user_id = user_id;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "detail", "Logged out");
        http_reply_json(c->resp, 200, o);
    }
out:
    sodium_memzero(tok, sizeof tok);
    cJSON_Delete(body);
    return rc;
}

static enum sm_rc
do_me(struct call *c, char **cause)
{
    struct store_user u;
    enum sm_rc rc = store_user_by_id(c->st, c->user_id, &u);
    if (rc == SM_ENOTFOUND) {
        *cause = sm_xstrdup("Could not validate credentials");
        return SM_EAUTH;
    }
    if (rc == SM_OK)
        http_reply_json(c->resp, 200, user_json(&u));
    return rc;
}

const struct route routes_auth[] = {
    {HTTP_POST, "/register", do_register, ROUTE_PUBLIC, POOL_HASH},
    {HTTP_POST, "/token", do_token, ROUTE_PUBLIC, POOL_HASH},
    {HTTP_POST, "/refresh", do_refresh, ROUTE_PUBLIC, POOL_WORK},
    {HTTP_POST, "/logout", do_logout, ROUTE_PUBLIC, POOL_WORK},
    {HTTP_GET, "/users/me", do_me, ROUTE_USER, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
