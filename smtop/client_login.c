/* client_login.c: login and the access token's refresh (see client_login.h). */
#include "config.h"

#include "client_login.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_events.h"
#include "client_http.h"
#include "client_impl.h"
#include "client_token.h"
#include "client_ws.h"
#include "clock.h"
#include "log.h"
#include "xmalloc.h"

#define CLIENT_REFRESH_RETRY 5.0 /* retry a refresh that met a network error */

/* Take the tokens of a 200 reply from /token or /refresh: keep the access token in
 * memory, store the refresh token. */
static enum sm_rc
take_tokens(struct client *c, const cJSON *json, char **cause)
{
    const char *access =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "access_token"));
    const char *refresh =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "refresh_token"));
    const cJSON *ein = cJSON_GetObjectItemCaseSensitive(json, "expires_in");
    if (access == NULL || refresh == NULL || strlen(access) > CLIENT_TOKEN_MAX ||
        strlen(refresh) > CLIENT_TOKEN_MAX || access[0] == '\0' || refresh[0] == '\0' ||
        strpbrk(refresh, "\r\n") != NULL) {
        *cause = sm_xasprintf("%s: the token reply lacks access_token or refresh_token", c->base);
        return SM_EPARSE;
    }
    double life = token_lifetime(access, cJSON_IsNumber(ein) ? ein->valuedouble : 0);
    if (token_write(c->token_path, refresh) != SM_OK)
        sm_log(SM_LOG_WARN, "the next start will ask for the password again");
    client_wipe_free(c->access);
    c->access = sm_xstrdup(access);
    c->access_gen++;
    /* Refresh when three quarters of the lifetime have passed. */
    c->refresh_at = sm_mono_now() + 0.75 * life;
    c->refresh_wanted = 0;
    return SM_OK;
}

/* The body of POST /refresh for the stored token (allocated, to be wiped), or NULL with
 * *cause when no token is stored. */
char *
login_refresh_body(struct client *c, char **cause)
{
    char *tok = token_read(c->token_path);
    if (tok == NULL) {
        *cause = sm_xasprintf("no stored session for %s at %s", c->user, c->base);
        return NULL;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "refresh_token", tok);
    char *text = cJSON_PrintUnformatted(req);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "refresh_token");
    explicit_bzero(t->valuestring, strlen(t->valuestring));
    cJSON_Delete(req);
    client_wipe_free(tok);
    if (text == NULL)
        abort();
    return text;
}

/* What a POST /refresh reply means: SM_OK (tokens taken), SM_EAUTH when the server
 * refused the token (the file is then removed), else SM_EIO / SM_EBUSY. */
static enum sm_rc
refresh_outcome(struct client *c, enum sm_rc rc, long status, const cJSON *json, char **cause)
{
    if (rc != SM_OK)
        return rc;
    if (status == 200)
        return take_tokens(c, json, cause);
    if (status == 401 || status == 403) {
        *cause = sm_xasprintf("the server refused the stored session: %s", http_detail(json));
        if (c->token_path && unlink(c->token_path) != 0 && errno != ENOENT)
            sm_log(SM_LOG_WARN, "%s: %s", c->token_path, strerror(errno));
        return SM_EAUTH;
    }
    *cause = sm_xasprintf("POST /refresh: HTTP %ld: %s", status, http_detail(json));
    return status == 429 ? SM_EBUSY : SM_EIO;
}

/* POST /refresh with the stored refresh token, under the file lock, before the loop
 * runs. SM_ENOTFOUND when no token is stored. */
static enum sm_rc
do_refresh_sync(struct client *c, char **cause)
{
    int lock = token_lock(c->token_path, 0);
    char *text = login_refresh_body(c, cause);
    enum sm_rc rc = SM_ENOTFOUND;
    if (text) {
        long status;
        cJSON *json = NULL;
        rc = http_sync(c, "POST", "/refresh", text, &status, &json, cause);
        rc = refresh_outcome(c, rc, status, json, cause);
        cJSON_Delete(json);
    }
    token_unlock(lock);
    return rc;
}

/* POST /token with user and password. */
static enum sm_rc
do_password_login(struct client *c, const char *password, char **cause)
{
    cJSON *req = cJSON_CreateObject(), *json = NULL;
    cJSON_AddStringToObject(req, "username", c->user);
    cJSON_AddStringToObject(req, "password", password);
    char *text = cJSON_PrintUnformatted(req);
    cJSON *pw = cJSON_GetObjectItemCaseSensitive(req, "password");
    explicit_bzero(pw->valuestring, strlen(pw->valuestring));
    cJSON_Delete(req);
    if (text == NULL)
        abort();
    long status;
    int lock = token_lock(c->token_path, 0);
    enum sm_rc rc = http_sync(c, "POST", "/token", text, &status, &json, cause);
    if (rc != SM_OK)
        goto out;
    if (status == 200) {
        rc = take_tokens(c, json, cause);
    } else if (status == 401 || status == 400) {
        *cause =
            sm_xasprintf("login refused for %s at %s: %s", c->user, c->base, http_detail(json));
        rc = SM_EAUTH;
    } else if (status == 429) {
        *cause = sm_xasprintf("login refused for %s at %s: too many attempts, try later", c->user,
                              c->base);
        rc = SM_EBUSY;
    } else {
        *cause = sm_xasprintf("POST /token: HTTP %ld: %s", status, http_detail(json));
        rc = SM_EIO;
    }
out:
    token_unlock(lock);
    cJSON_Delete(json);
    return rc;
}

enum sm_rc
client_login(struct client *c, client_password_fn get_password, void *arg, int *used_password,
             char **cause)
{
    char *why = NULL;
    *used_password = 0;
    enum sm_rc rc = do_refresh_sync(c, &why);
    if (rc == SM_OK || rc == SM_EIO || rc == SM_EBUSY) {
        if (rc != SM_OK)
            *cause = why;
        else
            free(why);
        return rc;
    }
    if (rc == SM_EAUTH)
        sm_log(SM_LOG_INFO, "%s; logging in with the password", why);
    free(why);
    char *password = get_password(arg, cause);
    if (password == NULL)
        return SM_EAUTH;
    *used_password = 1;
    rc = do_password_login(c, password, cause);
    client_wipe_free(password);
    return rc;
}

/* The stream and the REST requests after a new access token. */
static void
token_renewed(struct client *c)
{
    /* The first token after a start without the server: connect now. */
    if (c->wsi == NULL && c->waiting_token && !c->stop) {
        c->attempts = 0;
        lws_sul_schedule(c->ctx, 0, &c->sul_retry, ws_connect, 1);
    }
    /* Authenticate the open stream again, so that the server extends its expiry
     * instead of closing at the old one. */
    if (c->wsi && c->access_gen != c->sent_gen && !c->auth_dead) {
        c->send_auth = 1;
        lws_callback_on_writable(c->wsi);
    }
}

/* A POST /refresh while running is over. */
void
login_refresh_done(struct client *c, struct req *r)
{
    long status;
    cJSON *json = NULL;
    char *why = NULL;
    enum sm_rc rc = req_result(r, &status, &json, &why);
    rc = refresh_outcome(c, rc, status, json, &why);
    cJSON_Delete(json);
    if (rc == SM_OK) {
        free(c->login_why);
        c->login_why = NULL;
        token_renewed(c);
    } else if (rc == SM_EAUTH) {
        c->auth_dead = 1;
        char *text = sm_xasprintf("%s; run smtop again to log in", why);
        event_state(c, CLIENT_AUTH_FAILED, 0, text);
        free(text);
    } else {
        sm_log(SM_LOG_DEBUG, "token refresh: %s", why);
        c->refresh_at = sm_mono_now() + CLIENT_REFRESH_RETRY;
        free(c->login_why);
        c->login_why = c->access ? NULL : sm_xstrdup(why);
    }
    free(why);
}
