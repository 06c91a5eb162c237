/* client_http.c: one REST request on the loop (see client_http.h). */
#include "config.h"

#include "client_http.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_events.h"
#include "client_impl.h"
#include "client_rest.h"
#include "json.h"
#include "xmalloc.h"

#define CLIENT_BODY_MAX (16u << 20) /* largest REST reply accepted */
#define CLIENT_HTTP_TIMEOUT 60.0    /* longest wait for a whole REST reply, seconds */

/* The "detail" of an error reply, or a generic text. */
const char *
http_detail(const cJSON *json)
{
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "detail"));
    return d ? d : "no detail";
}

struct req *
req_new(struct client *c, enum req_kind kind, const char *method, const char *path, char *body,
        int authed)
{
    struct req *r = sm_xcalloc(1, sizeof *r);
    sm_buf_init(&r->rx, CLIENT_BODY_MAX, SM_BUF_WIPE);
    r->c = c;
    r->kind = kind;
    r->method = method;
    r->path = sm_xstrdup(path);
    r->body = body;
    r->authed = authed;
    r->lock_fd = -1;
    return r;
}

void
req_free(struct req *r)
{
    if (r == NULL)
        return;
    if (r->wsi) {
        /* Still connected: let the connection go without us. */
        lws_set_opaque_user_data(r->wsi, NULL);
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    lws_sul_cancel(&r->sul_timeout);
    if (r->body)
        explicit_bzero(r->body, strlen(r->body));
    free(r->body);
    sm_buf_done(&r->rx); /* the reply of /token and /refresh holds tokens: wiped */
    free(r->fail);
    free(r->path);
    if (r->alerts) {
        event_done(&r->alerts->ev);
        free(r->alerts);
    }
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* releases the flock */
    free(r);
}

/* The request is over (fail: why there is no reply, else NULL). Its result is handled
 * from the scheduler, never inside a libwebsockets callback. */
static void
req_finish(struct req *r, const char *fail)
{
    if (r->done)
        return;
    r->done = 1;
    if (fail)
        r->fail = sm_xasprintf("%s: %s", r->c->base, fail);
    if (r->wsi) {
        lws_set_opaque_user_data(r->wsi, NULL);
        r->wsi = NULL;
    }
    lws_sul_cancel(&r->sul_timeout);
    if (r->kind == REQ_SYNC)
        return; /* client_login is waiting for it */
    struct client *c = r->c;
    if (c->cur == r)
        c->cur = NULL;
    STAILQ_INSERT_TAIL(&c->done, r, link);
    lws_sul_schedule(c->ctx, 0, &c->sul_done, rest_done, 1);
}

static void
on_req_timeout(lws_sorted_usec_list_t *sul)
{
    struct req *r = lws_container_of(sul, struct req, sul_timeout);
    struct lws *wsi = r->wsi;
    char why[64];
    snprintf(why, sizeof why, "no reply within %.0f seconds", CLIENT_HTTP_TIMEOUT);
    req_finish(r, why);
    if (wsi)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Open the connection for r. A failure finishes r (handled later, as any reply). */
void
req_start(struct req *r)
{
    struct client *c = r->c;
    char *path = sm_xasprintf("%s%s", c->path_prefix, r->path);
    struct lws_client_connect_info ci;
    client_connect_info(c, &ci, CLIENT_PROTO_HTTP);
    ci.path = path;
    ci.origin = c->host_header;
    ci.method = r->method;
    ci.opaque_user_data = r;
    r->status = 0;
    sm_buf_reset(&r->rx);
    lws_sul_schedule(c->ctx, 0, &r->sul_timeout, on_req_timeout,
                     (lws_usec_t)(CLIENT_HTTP_TIMEOUT * 1e6));
    struct lws *wsi = lws_client_connect_via_info(&ci);
    free(path);
    if (r->done) /* failed inside the call */
        return;
    if (wsi == NULL)
        req_finish(r, "cannot start a connection");
    else
        r->wsi = wsi;
}

/* Add the request's headers (Authorization, Content-Type and -Length for a body). */
static int
req_headers(struct req *r, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    static const char json[] = "application/json";
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ACCEPT, (const unsigned char *)json,
                                     (int)strlen(json), p, end))
        return -1;
    if (r->authed && r->c->access) {
        char *auth = sm_xasprintf("Bearer %s", r->c->access);
        int bad =
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                         (const unsigned char *)auth, (int)strlen(auth), p, end);
        client_wipe_free(auth);
        if (bad)
            return -1;
    }
    if (r->body) {
        char clen[24];
        snprintf(clen, sizeof clen, "%zu", strlen(r->body));
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                         (const unsigned char *)json, (int)strlen(json), p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                         (const unsigned char *)clen, (int)strlen(clen), p, end))
            return -1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

int
http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct req *r = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (r == NULL)
            return -1;
        return req_headers(r, wsi, (unsigned char **)in, *(unsigned char **)in + len);
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
        if (r == NULL || r->body == NULL)
            return 0;
        size_t n = strlen(r->body);
        unsigned char *buf = sm_xmalloc(LWS_PRE + n);
        memcpy(buf + LWS_PRE, r->body, n);
        int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
        explicit_bzero(buf, LWS_PRE + n);
        free(buf);
        lws_client_http_body_pending(wsi, 0);
        return w < (int)n ? -1 : 0;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        if (r) {
            r->status = (int)lws_http_client_http_response(wsi);
            client_learn_address(r->c, wsi);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 8192];
        char *p = buf + LWS_PRE;
        int n = (int)sizeof buf - LWS_PRE;
        return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (r == NULL)
            return -1;
        if (sm_buf_add(&r->rx, in, len) != SM_OK) { /* copies, never realloc: wiped */
            char why[96];
            snprintf(why, sizeof why, "%s: reply larger than %u bytes", r->path, CLIENT_BODY_MAX);
            req_finish(r, why);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (r)
            req_finish(r, NULL);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (r) {
            char why[240];
            client_connect_why(wsi, in, why, sizeof why);
            req_finish(r, why);
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (r)
            req_finish(r, r->status ? "the connection closed before the whole reply"
                                    : "the connection closed without a reply");
        return 0;
    default:
        return 0;
    }
}

/* The outcome of a finished request: SM_OK when the server answered (any status, in
 * *status; *json the parsed body or NULL); SM_EIO with *cause when it could not be
 * reached or the reply was bad. */
enum sm_rc
req_result(struct req *r, long *status, cJSON **json, char **cause)
{
    *status = 0;
    *json = NULL;
    if (r->fail) {
        *cause = sm_xstrdup(r->fail);
        return SM_EIO;
    }
    *status = r->status;
    if (r->rx.len > 0) {
        char *perr = NULL;
        if (sm_json_parse(r->rx.data, r->rx.len, SM_JSON_MAX_DEPTH, json, &perr) != SM_OK) {
            *json = NULL;
            if (*status == 200) {
                *cause = sm_xasprintf("%s: reply is not JSON: %s", r->path, perr);
                free(perr);
                return SM_EIO;
            }
        }
        free(perr);
    }
    return SM_OK;
}

/* One request before the loop runs (login): service the context until it is over. */
enum sm_rc
http_sync(struct client *c, const char *method, const char *path, char *body, long *status,
          cJSON **json, char **cause)
{
    struct req *r = req_new(c, REQ_SYNC, method, path, body, 0);
    req_start(r);
    while (!r->done)
        if (lws_service(c->ctx, 0) < 0)
            req_finish(r, "the event loop failed");
    enum sm_rc rc = req_result(r, status, json, cause);
    req_free(r);
    return rc;
}
