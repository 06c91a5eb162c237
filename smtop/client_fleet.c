/* client_fleet.c: the server's word on the fleet decoded into events (see
 * client_fleet.h). */
#include "config.h"

#include "client_fleet.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_events.h"
#include "client_impl.h"
#include "client_rest.h"
#include "clock.h"
#include "json.h"
#include "xmalloc.h"

/* GET /agents' list as CLIENT_EV_AGENT events. */
void
fleet_agents(struct client *c, const cJSON *list)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "name"));
        if (!cJSON_IsNumber(id) || id->valuedouble < 1 || name == NULL)
            continue;
        struct ev_node *n = event_new(CLIENT_EV_AGENT);
        n->ev.agent_id = (int64_t)id->valuedouble;
        n->ev.name = sm_xstrndup(name, 255);
        const cJSON *on = cJSON_GetObjectItemCaseSensitive(a, "online");
        n->ev.online = cJSON_IsBool(on) ? cJSON_IsTrue(on) : -1;
        const char *ls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "last_seen"));
        struct tm tm = {0};
        if (ls && strptime(ls, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
            n->ev.last_seen = (double)timegm(&tm);
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(a, "host");
        char *cause = NULL;
        if (cJSON_IsObject(host) && sm_host_from_json(host, &n->ev.host, &cause) == SM_OK)
            n->ev.have_host = 1;
        free(cause);
        event_push(c, n);
    }
}

static int
known_has(const struct client *c, int64_t id)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (c->known[i] == id)
            return 1;
    return 0;
}

static void
known_add(struct client *c, int64_t id)
{
    if (known_has(c, id))
        return;
    c->known = sm_xgrow(c->known, &c->known_cap, c->nknown + 1, sizeof *c->known);
    c->known[c->nknown++] = id;
}

static void
known_remove(struct client *c, int64_t id)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (c->known[i] == id) {
            c->known[i] = c->known[--c->nknown];
            return;
        }
}

/* An agent id of a message: a whole number >= 1, else -1. */
static int64_t
agent_id_of(const cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9e15 ||
        id->valuedouble != (double)(int64_t)id->valuedouble)
        return -1;
    return (int64_t)id->valuedouble;
}

/* Decode a sample object into a new sample; NULL (and an error event) when bad. */
static struct sm_sample *
decode_sample(struct client *c, int64_t id, const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    struct sm_sample *s = sm_xmalloc(sizeof *s);
    sm_sample_init(s);
    char *cause = NULL;
    if (sm_sample_from_json(obj, sm_wall_now(), s, &cause) != SM_OK) {
        event_error(c, "agent %lld: bad sample: %s", (long long)id, cause ? cause : "?");
        free(cause);
        sm_sample_done(s);
        free(s);
        return NULL;
    }
    return s;
}

static void
on_snapshot(struct client *c, const cJSON *msg)
{
    const cJSON *agents = cJSON_GetObjectItemCaseSensitive(msg, "agents");
    if (!cJSON_IsArray(agents)) {
        event_error(c, "stream: snapshot without an agents list");
        return;
    }
    c->nknown = 0;
    event_push(c, event_new(CLIENT_EV_SNAPSHOT_BEGIN));
    const cJSON *a;
    cJSON_ArrayForEach(a, agents)
    {
        int64_t id = agent_id_of(a);
        if (id < 0)
            continue;
        struct ev_node *n = event_new(CLIENT_EV_AGENT);
        n->ev.agent_id = id;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "name"));
        n->ev.name = sm_xstrndup(name ? name : "", 255);
        n->ev.online = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "online"));
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(a, "last_seen");
        n->ev.last_seen = cJSON_IsNumber(ls) ? ls->valuedouble : 0;
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(a, "host");
        char *cause = NULL;
        if (cJSON_IsObject(host) && sm_host_from_json(host, &n->ev.host, &cause) == SM_OK)
            n->ev.have_host = 1;
        free(cause);
        n->ev.sample = decode_sample(c, id, cJSON_GetObjectItemCaseSensitive(a, "sample"));
        known_add(c, id);
        event_push(c, n);
    }
    event_push(c, event_new(CLIENT_EV_SNAPSHOT_END));
    /* At every (re)connection: the alerts as they are now, then the live changes. */
    c->stream_live = 1;
    c->alerts_at = 0;
    rest_soon(c);
    c->attempts = 0;
    event_state(c, CLIENT_LIVE, 0, NULL);
}

/* Handle one complete stream message (stream). */
void
fleet_message(struct client *c, const char *text, size_t len)
{
    cJSON *msg = NULL;
    char *cause = NULL;
    if (sm_json_parse(text, len, 64, &msg, &cause) != SM_OK || !cJSON_IsObject(msg)) {
        event_error(c, "stream: bad message: %s", cause ? cause : "not a JSON object");
        goto out;
    }
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "type"));
    int64_t id = agent_id_of(msg);
    if (type == NULL) {
        event_error(c, "stream: message without a type");
    } else if (strcmp(type, "snapshot") == 0) {
        on_snapshot(c, msg);
    } else if (strcmp(type, "sample") == 0 && id > 0) {
        struct sm_sample *s = decode_sample(c, id, cJSON_GetObjectItemCaseSensitive(msg, "sample"));
        if (s) {
            struct ev_node *n = event_new(CLIENT_EV_SAMPLE);
            n->ev.agent_id = id;
            n->ev.sample = s;
            event_push(c, n);
        }
        if (!known_has(c, id)) {
            known_add(c, id);
            rest_fetch_agents(c); /* a new agent: fetch its name */
        }
    } else if (strcmp(type, "status") == 0 && id > 0) {
        struct ev_node *n = event_new(CLIENT_EV_STATUS);
        n->ev.agent_id = id;
        n->ev.online = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "online"));
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(msg, "last_seen");
        n->ev.last_seen = cJSON_IsNumber(ls) ? ls->valuedouble : 0;
        event_push(c, n);
    } else if (strcmp(type, "removed") == 0 && id > 0) {
        known_remove(c, id);
        struct ev_node *n = event_new(CLIENT_EV_REMOVED);
        n->ev.agent_id = id;
        event_push(c, n);
    } else if (strcmp(type, "alert") == 0 && id > 0) {
        struct ev_node *n = event_new(CLIENT_EV_ALERT);
        n->ev.agent_id = id;
        n->ev.body = msg;
        msg = NULL;
        event_push(c, n);
    } else if (strcmp(type, "lag") == 0) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "dropped");
        struct ev_node *n = event_new(CLIENT_EV_LAG);
        n->ev.dropped = cJSON_IsNumber(d) && d->valuedouble > 0 ? (uint64_t)d->valuedouble : 0;
        event_push(c, n);
    } else if (strcmp(type, "error") == 0) {
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "detail"));
        event_error(c, "server: %s", d ? d : "error");
    } else if (strcmp(type, "ready") != 0 && strcmp(type, "pong") != 0) {
        event_error(c, "stream: unknown message type or no agent_id: %.40s", type);
    }
out:
    free(cause);
    cJSON_Delete(msg);
}
