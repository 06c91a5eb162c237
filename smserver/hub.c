/* hub.c: live-stream fan-out with bounded per-client queues (see hub.h). */
#include "config.h"

#include "hub.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct hub_agent {
    int64_t id, user_id;
    char *name;
    char *host;   /* JSON object text or NULL */
    char *latest; /* JSON object text or NULL */
    double last_seen;
    double interval; /* estimated seconds between samples */
    int online;
};

struct hub_client {
    struct hub *hub;
    struct hub_client *prev, *next;
    void *conn;
    int authed;
    int64_t user_id, only_agent;
    double expires;
    int sub_all;
    int64_t *subs;
    size_t nsubs;
    struct hub_msg **ring; /* queue_max slots */
    size_t head, count;
    uint64_t dropped;        /* not yet reported in a lag notice */
    uint64_t dropped_unread; /* since the client last read anything */
    struct hub_msg *lag;     /* lag notice being written */
    enum hub_close close;
};

struct hub {
    struct hub_limits lim;
    struct hub_agent *agents;
    size_t nagents, agents_cap;
    struct hub_client *clients;
    size_t nclients;
    uint64_t published, delivered, dropped;
    hub_status_fn status_fn;
    void *status_arg;
};

/* ------------------------------------------------------------------ messages */

static struct hub_msg *
msg_new(const struct hub *h, const char *text, size_t len)
{
    struct hub_msg *m = sm_xmalloc(sizeof *m + h->lim.pre + len + 1);
    m->refs = 0;
    m->len = len;
    memcpy(m->data + h->lim.pre, text, len);
    m->data[h->lim.pre + len] = '\0';
    return m;
}

static void
msg_unref(struct hub_msg *m)
{
    if (m != NULL && --m->refs == 0)
        free(m);
}

/* Free m if no queue took it. */
static void
msg_release_if_unused(struct hub_msg *m)
{
    if (m->refs == 0)
        free(m);
}

static struct hub_msg *msg_printf(const struct hub *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct hub_msg *
msg_printf(const struct hub *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = sm_xvasprintf(fmt, ap);
    va_end(ap);
    struct hub_msg *m = msg_new(h, text, strlen(text));
    free(text);
    return m;
}

/* ------------------------------------------------------------------ queues */

static void
queue_push(struct hub_client *c, struct hub_msg *m)
{
    struct hub *h = c->hub;
    size_t cap = h->lim.queue_max;
    if (c->close != HUB_OPEN)
        return;
    if (c->count == cap) {
        /* Full: the oldest message goes, and the client will be told. */
        msg_unref(c->ring[c->head]);
        c->head = (c->head + 1) % cap;
        c->count--;
        c->dropped++;
        c->dropped_unread++;
        h->dropped++;
        if (c->dropped_unread >= h->lim.drop_close)
            c->close = HUB_CLOSE_LAGGING;
    }
    m->refs++;
    c->ring[(c->head + c->count) % cap] = m;
    c->count++;
}

struct hub_msg *
hub_client_peek(struct hub_client *c)
{
    if (c->lag != NULL)
        return c->lag;
    if (c->dropped > 0) {
        c->lag = msg_printf(c->hub, "{\"type\":\"lag\",\"dropped\":%" PRIu64 "}", c->dropped);
        c->lag->refs = 1;
        c->dropped = 0;
        return c->lag;
    }
    return c->count ? c->ring[c->head] : NULL;
}

void
hub_client_pop(struct hub_client *c)
{
    c->dropped_unread = 0;
    if (c->lag != NULL) {
        msg_unref(c->lag);
        c->lag = NULL;
        return;
    }
    if (c->count == 0)
        return;
    msg_unref(c->ring[c->head]);
    c->head = (c->head + 1) % c->hub->lim.queue_max;
    c->count--;
    c->hub->delivered++;
}

size_t
hub_client_queued(const struct hub_client *c)
{
    return c->count + (c->lag != NULL || c->dropped > 0);
}

enum hub_close
hub_client_close_reason(const struct hub_client *c)
{
    return c->close;
}

void
hub_client_send_text(struct hub_client *c, const char *text)
{
    struct hub_msg *m = msg_new(c->hub, text, strlen(text));
    queue_push(c, m);
    msg_release_if_unused(m);
}

/* ------------------------------------------------------------------ hub and agents */

struct hub *
hub_new(const struct hub_limits *lim)
{
    struct hub *h = sm_xcalloc(1, sizeof *h);
    h->lim = *lim;
    if (h->lim.queue_max == 0)
        h->lim.queue_max = 1;
    if (h->lim.drop_close == 0)
        h->lim.drop_close = SIZE_MAX;
    return h;
}

static void
agent_done(struct hub_agent *a)
{
    free(a->name);
    free(a->host);
    free(a->latest);
}

void
hub_free(struct hub *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nagents; i++)
        agent_done(&h->agents[i]);
    free(h->agents);
    free(h);
}

static struct hub_agent *
agent_find(struct hub *h, int64_t id)
{
    for (size_t i = 0; i < h->nagents; i++)
        if (h->agents[i].id == id)
            return &h->agents[i];
    return NULL;
}

static void
replace(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? sm_xstrdup(src) : NULL;
}

void
hub_agent_upsert(struct hub *h, int64_t agent_id, int64_t user_id, const char *name,
                 const char *host_json, const char *latest_json, double last_seen)
{
    struct hub_agent *a = agent_find(h, agent_id);
    if (a == NULL) {
        h->agents = sm_xgrow(h->agents, &h->agents_cap, h->nagents + 1, sizeof *h->agents);
        a = &h->agents[h->nagents++];
        memset(a, 0, sizeof *a);
        a->id = agent_id;
        a->interval = 5;
    }
    a->user_id = user_id;
    replace(&a->name, name);
    if (host_json)
        replace(&a->host, host_json);
    if (latest_json)
        replace(&a->latest, latest_json);
    if (last_seen > a->last_seen)
        a->last_seen = last_seen;
}

/* May client c see agent a, given its subscription? */
static int
wants(const struct hub_client *c, const struct hub_agent *a)
{
    if (!c->authed || c->close != HUB_OPEN || a->user_id != c->user_id)
        return 0;
    if (c->only_agent && c->only_agent != a->id)
        return 0;
    if (c->sub_all)
        return 1;
    for (size_t i = 0; i < c->nsubs; i++)
        if (c->subs[i] == a->id)
            return 1;
    return 0;
}

/* Queue m for every client that wants agent a; frees m if nobody took it. */
static void
fan_out(struct hub *h, const struct hub_agent *a, struct hub_msg *m)
{
    for (struct hub_client *c = h->clients; c; c = c->next)
        if (wants(c, a))
            queue_push(c, m);
    msg_release_if_unused(m);
}

static void
send_status(struct hub *h, const struct hub_agent *a)
{
    if (h->status_fn)
        h->status_fn(a->id, a->user_id, a->online, a->last_seen, h->status_arg);
    fan_out(h, a,
            msg_printf(h,
                       "{\"type\":\"status\",\"agent_id\":%" PRId64
                       ",\"online\":%s,\"last_seen\":%.3f}",
                       a->id, a->online ? "true" : "false", a->last_seen));
}

void
hub_agent_remove(struct hub *h, int64_t agent_id)
{
    struct hub_agent *a = agent_find(h, agent_id);
    if (a == NULL)
        return;
    fan_out(h, a, msg_printf(h, "{\"type\":\"removed\",\"agent_id\":%" PRId64 "}", agent_id));
    for (struct hub_client *c = h->clients; c; c = c->next) {
        for (size_t i = 0; i < c->nsubs; i++)
            if (c->subs[i] == agent_id)
                c->subs[i] = c->subs[--c->nsubs];
        if (c->only_agent == agent_id)
            c->close = HUB_CLOSE_REVOKED;
    }
    agent_done(a);
    *a = h->agents[--h->nagents];
}

void
hub_publish(struct hub *h, int64_t agent_id, const char *sample_json, const char *host_json,
            double now)
{
    struct hub_agent *a = agent_find(h, agent_id);
    if (a == NULL)
        return;
    h->published++;
    if (a->last_seen > 0) {
        double dt = now - a->last_seen;
        if (dt > 0.2 && dt < 3600)
            a->interval = 0.7 * a->interval + 0.3 * dt;
    }
    a->last_seen = now;
    replace(&a->latest, sample_json);
    if (host_json)
        replace(&a->host, host_json);
    if (!a->online) {
        a->online = 1;
        send_status(h, a);
    }
    fan_out(h, a,
            msg_printf(h, "{\"type\":\"sample\",\"agent_id\":%" PRId64 ",\"sample\":%s}", a->id,
                       sample_json));
}

void
hub_agent_event(struct hub *h, int64_t agent_id, const char *json_text)
{
    struct hub_agent *a = agent_find(h, agent_id);
    if (a == NULL)
        return;
    fan_out(h, a, msg_new(h, json_text, strlen(json_text)));
}

void
hub_tick(struct hub *h, double now)
{
    for (size_t i = 0; i < h->nagents; i++) {
        struct hub_agent *a = &h->agents[i];
        double limit = h->lim.offline_factor * a->interval;
        if (limit < h->lim.min_offline)
            limit = h->lim.min_offline;
        if (a->online && now - a->last_seen > limit) {
            a->online = 0;
            send_status(h, a);
        }
    }
    for (struct hub_client *c = h->clients; c; c = c->next)
        if (c->authed && c->close == HUB_OPEN && now >= c->expires)
            c->close = HUB_CLOSE_EXPIRED;
}

/* ------------------------------------------------------------------ clients */

struct hub_client *
hub_client_new(struct hub *h, void *conn)
{
    struct hub_client *c = sm_xcalloc(1, sizeof *c);
    c->hub = h;
    c->conn = conn;
    c->ring = sm_xcalloc(h->lim.queue_max, sizeof *c->ring);
    c->next = h->clients;
    if (h->clients)
        h->clients->prev = c;
    h->clients = c;
    h->nclients++;
    return c;
}

void
hub_client_free(struct hub_client *c)
{
    if (c == NULL)
        return;
    struct hub *h = c->hub;
    while (c->count)
        hub_client_pop(c);
    msg_unref(c->lag);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nclients--;
    free(c->ring);
    free(c->subs);
    free(c);
}

void *
hub_client_conn(const struct hub_client *c)
{
    return c->conn;
}

void
hub_client_auth(struct hub_client *c, int64_t user_id, int64_t only_agent, double expires)
{
    /* A token of another user cannot take over an authenticated connection. */
    if (c->authed && c->user_id != user_id) {
        c->close = HUB_CLOSE_REVOKED;
        return;
    }
    c->authed = 1;
    c->user_id = user_id;
    c->only_agent = only_agent;
    c->expires = expires;
}

int
hub_client_authed(const struct hub_client *c)
{
    return c->authed;
}

/* Parse trusted JSON text made by this server; NULL text gives JSON null. */
static cJSON *
json_or_null(const char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    return j ? j : cJSON_CreateNull();
}

static void
queue_snapshot(struct hub_client *c)
{
    struct hub *h = c->hub;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "type", "snapshot");
    cJSON *list = cJSON_AddArrayToObject(root, "agents");
    for (size_t i = 0; i < h->nagents; i++) {
        const struct hub_agent *a = &h->agents[i];
        if (!wants(c, a))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "agent_id", (double)a->id);
        cJSON_AddStringToObject(o, "name", a->name ? a->name : "");
        cJSON_AddBoolToObject(o, "online", a->online);
        cJSON_AddNumberToObject(o, "last_seen", a->last_seen);
        cJSON_AddItemToObject(o, "host", json_or_null(a->host));
        cJSON_AddItemToObject(o, "sample", json_or_null(a->latest));
        cJSON_AddItemToArray(list, o);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (text == NULL)
        abort();
    hub_client_send_text(c, text);
    free(text);
}

enum sm_rc
hub_client_subscribe(struct hub_client *c, int all, const int64_t *ids, size_t n, char **cause)
{
    if (!c->authed) {
        *cause = sm_xstrdup("not authenticated");
        return SM_EAUTH;
    }
    if (!all) {
        for (size_t i = 0; i < n; i++) {
            const struct hub_agent *a = agent_find(c->hub, ids[i]);
            if (a == NULL || a->user_id != c->user_id ||
                (c->only_agent && c->only_agent != ids[i])) {
                *cause = sm_xasprintf("agents[%zu]: no agent %" PRId64, i, ids[i]);
                return SM_ENOTFOUND;
            }
        }
    }
    c->sub_all = all;
    free(c->subs);
    c->subs = NULL;
    c->nsubs = 0;
    if (!all && n > 0) {
        c->subs = sm_xreallocarray(NULL, n, sizeof *c->subs);
        memcpy(c->subs, ids, n * sizeof *ids);
        c->nsubs = n;
    }
    queue_snapshot(c);
    return SM_OK;
}

void
hub_revoke_user(struct hub *h, int64_t user_id)
{
    for (struct hub_client *c = h->clients; c; c = c->next)
        if (c->authed && c->user_id == user_id)
            c->close = HUB_CLOSE_REVOKED;
}

void
hub_each_client(struct hub *h, hub_client_fn fn, void *arg)
{
    struct hub_client *next;
    for (struct hub_client *c = h->clients; c; c = next) {
        next = c->next; /* fn may free c */
        fn(c, arg);
    }
}

void
hub_stats(const struct hub *h, struct hub_stats *out)
{
    out->clients = h->nclients;
    out->agents = h->nagents;
    out->published = h->published;
    out->delivered = h->delivered;
    out->dropped = h->dropped;
}

size_t
hub_online_count(const struct hub *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->nagents; i++)
        n += h->agents[i].online != 0;
    return n;
}

void
hub_set_status_hook(struct hub *h, hub_status_fn fn, void *arg)
{
    h->status_fn = fn;
    h->status_arg = arg;
}

enum sm_rc
hub_agent_info(struct hub *h, int64_t agent_id, int64_t *user_id, int *online, double *last_seen,
               const char **name)
{
    const struct hub_agent *a = agent_find(h, agent_id);
    if (a == NULL)
        return SM_ENOTFOUND;
    if (user_id)
        *user_id = a->user_id;
    if (online)
        *online = a->online;
    if (last_seen)
        *last_seen = a->last_seen;
    if (name)
        *name = a->name ? a->name : "";
    return SM_OK;
}

void
hub_each_agent(struct hub *h, hub_agent_fn fn, void *arg)
{
    for (size_t i = 0; i < h->nagents; i++)
        fn(h->agents[i].id, h->agents[i].user_id, h->agents[i].online, h->agents[i].last_seen, arg);
}
