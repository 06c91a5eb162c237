/* client_rest.c: the REST requests on the loop and their replies (see client_rest.h). */
#include "config.h"

#include "client_rest.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "client_events.h"
#include "client_fleet.h"
#include "client_http.h"
#include "client_impl.h"
#include "client_login.h"
#include "client_token.h"
#include "clock.h"
#include "xmalloc.h"

#define CLIENT_PATH_MAX 1024  /* longest REST path */
#define CLIENT_LOCK_RETRY 1.0 /* retry a refresh while another smtop holds the lock */
/* Fetch the active alerts again this often (a deleted rule sends no stream message). */
#define CLIENT_ALERTS_POLL 15.0

/* Queue r (at the head: it runs next). */
static void
req_push(struct client *c, struct req *r, int at_head)
{
    if (at_head)
        STAILQ_INSERT_HEAD(&c->reqs, r, link);
    else
        STAILQ_INSERT_TAIL(&c->reqs, r, link);
    rest_soon(c);
}

/* The alert rules, then the active alerts: one CLIENT_EV_ALERTS with both. */
static void
alerts_done(struct client *c, struct req *r, long status, cJSON *json, enum sm_rc rc, char *cause)
{
    struct ev_node *n = r->alerts;
    r->alerts = NULL;
    n->ev.status = rc == SM_OK ? (int)status : 0;
    if (rc != SM_OK || status != 200 || !cJSON_IsArray(json)) {
        n->ev.text = rc != SM_OK ? sm_xstrdup(cause)
                                 : sm_xasprintf("GET %s: %s", r->path,
                                                status == 200 ? "not a list" : http_detail(json));
        if (n->ev.status == 200)
            n->ev.status = 0;
        cJSON_Delete(json);
        event_push(c, n);
        return;
    }
    cJSON_AddItemToObject(n->ev.body, r->kind == REQ_ALERTS ? "rules" : "active", json);
    if (r->kind == REQ_ALERTS) {
        struct req *next = req_new(c, REQ_ALERTS_ACTIVE, "GET", "/alerts/active", NULL, 1);
        next->alerts = n;
        req_push(c, next, 1);
        return;
    }
    event_push(c, n);
}

/* A finished request: its reply to the UI (or a retry after a refresh). */
static void
req_done(struct client *c, struct req *r)
{
    if (r->kind == REQ_REFRESH) {
        login_refresh_done(c, r);
        return;
    }
    long status = 0;
    cJSON *json = NULL;
    char *cause = NULL;
    enum sm_rc rc = req_result(r, &status, &json, &cause);
    if (rc == SM_OK && status == 401 && !r->retried && !c->auth_dead) {
        /* The access token expired under us: refresh, then ask again once. */
        cJSON_Delete(json);
        struct req *again = req_new(c, r->kind, r->method, r->path, NULL, 1);
        again->id = r->id;
        again->retried = 1;
        again->alerts = r->alerts;
        r->alerts = NULL;
        c->refresh_wanted = 1;
        req_push(c, again, 1);
        return;
    }
    switch (r->kind) {
    case REQ_AGENTS:
        c->agents_pending = 0;
        if (rc == SM_OK && status == 200 && cJSON_IsArray(json))
            fleet_agents(c, json);
        else
            event_error(c, "GET /agents: %s", cause ? cause : http_detail(json));
        cJSON_Delete(json);
        break;
    case REQ_ALERTS:
    case REQ_ALERTS_ACTIVE:
        alerts_done(c, r, status, json, rc, cause);
        break;
    default: {
        struct ev_node *n = event_new(CLIENT_EV_REPLY);
        n->ev.req_id = r->id;
        n->ev.status = rc == SM_OK ? (int)status : 0;
        n->ev.body = json;
        if (rc != SM_OK)
            n->ev.text = cause ? sm_xstrdup(cause) : sm_xstrdup("request failed");
        else if (status != 200)
            n->ev.text = sm_xstrdup(http_detail(json));
        event_push(c, n);
        break;
    }
    }
    free(cause);
}

void
rest_done(lws_sorted_usec_list_t *sul)
{
    struct client *c = lws_container_of(sul, struct client, sul_done);
    /* Oldest first; requests finished meanwhile wait for the next round. */
    struct req_queue list = STAILQ_HEAD_INITIALIZER(list);
    STAILQ_CONCAT(&list, &c->done);
    struct req *r;
    while ((r = STAILQ_FIRST(&list)) != NULL) {
        STAILQ_REMOVE_HEAD(&list, link);
        req_done(c, r);
        req_free(r);
    }
    rest_kick(c);
}

static void
on_rest_timer(lws_sorted_usec_list_t *sul)
{
    rest_kick(lws_container_of(sul, struct client, sul_rest));
}

/* Run rest_kick from the loop, not from the caller (a draw queues requests and must
 * do no I/O). */
void
rest_soon(struct client *c)
{
    if (c->ctx && !c->stop)
        lws_sul_schedule(c->ctx, 0, &c->sul_rest, on_rest_timer, 1);
}

/* Start the next request when none is in flight: a due token refresh first, then the
 * alerts, then the queue; and wake up again when the next refresh or alerts are due. */
void
rest_kick(struct client *c)
{
    if (c->stop || !c->started)
        return;
    double now = sm_mono_now();
    if (c->cur == NULL && !c->auth_dead && (c->refresh_wanted || now >= c->refresh_at)) {
        int lock = token_lock(c->token_path, 1);
        char *why = NULL;
        char *text = lock == -2 ? NULL : login_refresh_body(c, &why);
        if (lock == -2) {
            token_unlock(lock);
            c->refresh_at = now + CLIENT_LOCK_RETRY; /* another smtop is refreshing */
        } else if (text == NULL) {
            token_unlock(lock);
            c->auth_dead = 1;
            char *msg = sm_xasprintf("%s; run smtop again to log in", why);
            event_state(c, CLIENT_AUTH_FAILED, 0, msg);
            free(msg);
        } else {
            c->refresh_wanted = 0;
            struct req *r = req_new(c, REQ_REFRESH, "POST", "/refresh", text, 0);
            r->lock_fd = lock;
            c->cur = r;
            req_start(r);
        }
        free(why);
    }
    if (c->cur == NULL && c->stream_live && now >= c->alerts_at) {
        c->alerts_at = now + CLIENT_ALERTS_POLL;
        struct req *r = req_new(c, REQ_ALERTS, "GET", "/alerts", NULL, 1);
        r->alerts = event_new(CLIENT_EV_ALERTS);
        r->alerts->ev.asked = now;
        r->alerts->ev.body = cJSON_CreateObject();
        c->cur = r;
        req_start(r);
    }
    if (c->cur == NULL && !STAILQ_EMPTY(&c->reqs)) {
        struct req *r = STAILQ_FIRST(&c->reqs);
        STAILQ_REMOVE_HEAD(&c->reqs, link);
        c->cur = r;
        req_start(r);
    }
    /* The next time something is due. */
    double wait = c->auth_dead ? 3600 : c->refresh_at - now;
    if (c->stream_live && c->alerts_at - now < wait)
        wait = c->alerts_at - now;
    if (wait > 3600)
        wait = 3600;
    if (wait < 0.001)
        wait = 0.001;
    lws_sul_schedule(c->ctx, 0, &c->sul_rest, on_rest_timer, (lws_usec_t)(wait * 1e6));
}

/* Queue a GET /agents (at most one waiting). */
void
rest_fetch_agents(struct client *c)
{
    if (c->agents_pending)
        return;
    c->agents_pending = 1;
    req_push(c, req_new(c, REQ_AGENTS, "GET", "/agents", NULL, 1), 0);
}

uint64_t
client_get(struct client *c, const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n > CLIENT_PATH_MAX || path[0] != '/')
        return 0;
    for (const char *p = path; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/_.~=&?%:+,-", *p)))
            return 0;
    struct req *r = req_new(c, REQ_GET, "GET", path, NULL, 1);
    r->id = ++c->next_id;
    req_push(c, r, 0);
    return r->id;
}
