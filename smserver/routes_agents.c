/* routes_agents.c: a user's agents. Every lookup is scoped to the caller, so another
 * user's agent is 404. An agent token is shown once (create, regenerate) and only its
 * hash is stored. */
#include "config.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "store.h"
#include "xmalloc.h"

#define AGENT_ONLINE_S 60 /* seen within this many seconds = online */

static cJSON *
agent_json(const struct store_agent *a, double now, const char *token)
{
    char when[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)a->id);
    cJSON_AddStringToObject(o, "name", a->name);
    http_time_iso(a->created, when);
    cJSON_AddStringToObject(o, "created_at", when);
    if (a->last_seen) {
        http_time_iso(a->last_seen, when);
        cJSON_AddStringToObject(o, "last_seen", when);
    } else {
        cJSON_AddNullToObject(o, "last_seen");
    }
    cJSON_AddBoolToObject(o, "online", a->last_seen && now - (double)a->last_seen < AGENT_ONLINE_S);
    cJSON *host = a->host ? cJSON_Parse(a->host) : NULL;
    cJSON_AddItemToObject(o, "host", host ? host : cJSON_CreateNull());
    if (token)
        cJSON_AddStringToObject(o, "token", token);
    return o;
}

struct list_ctx {
    cJSON *arr;
    double now;
};

static void
list_one(const struct store_agent *a, void *arg)
{
    struct list_ctx *l = arg;
    cJSON_AddItemToArray(l->arr, agent_json(a, l->now, NULL));
}

static enum sm_rc
agents_list(struct call *c, char **cause)
{
    struct list_ctx l = {cJSON_CreateArray(), c->now};
    enum sm_rc rc = store_agent_list(c->st, c->user_id, list_one, &l);
    if (rc != SM_OK) {
        cJSON_Delete(l.arr);
        return rc;
    }
    http_reply_json(c->resp, 200, l.arr);
    return SM_OK;
}

static enum sm_rc
agents_create(struct call *c, char **cause)
{
    cJSON *body = NULL;
    const char *name;
    enum sm_rc rc = http_body_object(c->req, &body, cause);
    if (rc != SM_OK)
        return rc;
    if ((rc = http_get_string(body, "name", 1, STORE_NAME_MAX, &name, cause)) != SM_OK)
        goto out;
    for (const char *p = name; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *cause = sm_xstrdup("name: control characters are not allowed");
            rc = SM_EINVAL;
            goto out;
        }
    }
    char token[AUTH_TOKEN_LEN + 1];
    uint8_t hash[STORE_HASH_LEN];
    auth_token_new(token, hash);
    struct store_agent a;
    rc = store_agent_add(c->st, c->user_id, name, hash, (int64_t)c->now, &a);
    if (rc == SM_ECONFLICT)
        *cause = sm_xstrdup("name: you already have an agent with this name");
    else if (rc == SM_OK) {
        http_reply_json(c->resp, 200, agent_json(&a, c->now, token));
        c->ev.kind = CALL_EV_AGENT_ADDED; /* the live stream learns the agent */
        c->ev.agent_id = a.id;
        c->ev.user_id = c->user_id;
        sm_strlcpy(c->ev.name, a.name, sizeof c->ev.name);
        store_agent_done(&a);
    }
    sodium_memzero(token, sizeof token);
out:
    cJSON_Delete(body);
    return rc;
}

static enum sm_rc
not_found(enum sm_rc rc, char **cause)
{
    if (rc == SM_ENOTFOUND)
        *cause = sm_xstrdup("Agent not found");
    return rc;
}

static enum sm_rc
agents_get(struct call *c, char **cause)
{
    struct store_agent a;
    enum sm_rc rc = store_agent_get(c->st, c->user_id, c->req->id, &a);
    if (rc != SM_OK)
        return not_found(rc, cause);
    http_reply_json(c->resp, 200, agent_json(&a, c->now, NULL));
    store_agent_done(&a);
    return SM_OK;
}

static enum sm_rc
agents_delete(struct call *c, char **cause)
{
    enum sm_rc rc = store_agent_delete(c->st, c->user_id, c->req->id);
    if (rc != SM_OK)
        return not_found(rc, cause);
    c->ev.kind = CALL_EV_AGENT_REMOVED; /* its subscriptions end */
    c->ev.agent_id = c->req->id;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", "Agent deleted");
    http_reply_json(c->resp, 200, o);
    return SM_OK;
}

static enum sm_rc
agents_regenerate(struct call *c, char **cause)
{
    char token[AUTH_TOKEN_LEN + 1];
    uint8_t hash[STORE_HASH_LEN];
    struct store_agent a;
    auth_token_new(token, hash);
    enum sm_rc rc = store_agent_set_token(c->st, c->user_id, c->req->id, hash);
    if (rc == SM_OK)
        rc = store_agent_get(c->st, c->user_id, c->req->id, &a);
    if (rc == SM_OK) {
        http_reply_json(c->resp, 200, agent_json(&a, c->now, token));
        store_agent_done(&a);
    }
    sodium_memzero(token, sizeof token);
    return not_found(rc, cause);
}

const struct route routes_agents[] = {
    {HTTP_GET, "/agents", agents_list, ROUTE_USER, POOL_WORK},
    {HTTP_POST, "/agents", agents_create, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/agents/{id}", agents_get, ROUTE_USER, POOL_WORK},
    {HTTP_DELETE, "/agents/{id}", agents_delete, ROUTE_USER, POOL_WORK},
    {HTTP_POST, "/agents/{id}/regenerate-token", agents_regenerate, ROUTE_USER, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
