/* server_events.c: what finished jobs change beyond their reply: the live stream's
 * agents and samples, the alert rules and their states; the alerts' and the hub's
 * callbacks into the server. Event loop thread unless a function says otherwise. */
#include "config.h"

#include "server_int.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "clock.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ alerts */

/* alerts.h callbacks: the hub knows the agents; state changes go to the notifier. */
int
events_agent_info(int64_t agent_id, int64_t *user_id, const char **name, int *online,
                  double *last_seen, void *arg)
{
    struct server *srv = arg;
    return hub_agent_info(srv->hub, agent_id, user_id, online, last_seen, name) == SM_OK ? 0 : -1;
}

void
events_alert_note(const struct alert_note *n, void *arg)
{
    struct server *srv = arg;
    if (srv->notifier)
        notifier_push(srv->notifier, n);
    /* The live stream tells the agent's subscribers (smtop's and the page's markers). */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "alert");
    cJSON_AddNumberToObject(o, "agent_id", (double)n->agent_id);
    cJSON_AddNumberToObject(o, "rule_id", (double)n->rule.id);
    cJSON_AddStringToObject(o, "name", n->rule.name);
    cJSON_AddStringToObject(o, "metric", n->rule.metric);
    cJSON_AddStringToObject(o, "labels", n->labels);
    cJSON_AddStringToObject(o, "severity", n->rule.severity);
    cJSON_AddStringToObject(o, "state", n->state);
    cJSON_AddNumberToObject(o, "value", n->value);
    cJSON_AddNumberToObject(o, "timestamp", (double)n->ts_ms / 1000.0);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    hub_agent_event(srv->hub, n->agent_id, text);
    free(text);
}

void
events_agent_status(int64_t agent_id, int64_t user_id, int online, double last_seen, void *arg)
{
    struct server *srv = arg;
    if (srv->alerts && srv->lead_alerts)
        alerts_status(srv->alerts, agent_id, user_id, online, last_seen, sm_wall_now());
}

struct offline_ctx {
    struct server *srv;
    const struct store_rule *r;
};

static void
offline_one(int64_t agent_id, int64_t user_id, int online, double last_seen, void *arg)
{
    struct offline_ctx *x = arg;
    /* Agents that reported once and are offline now: the rule starts pending for them. */
    if (!online && last_seen > 0 && user_id == x->r->user_id &&
        (x->r->agent_id == 0 || x->r->agent_id == agent_id))
        alerts_status(x->srv->alerts, agent_id, user_id, 0, last_seen, sm_wall_now());
}

void
events_offline_at_start(int64_t agent_id, int64_t user_id, int online, double last_seen, void *arg)
{
    struct server *srv = arg;
    if (!online && last_seen > 0 && srv->lead_alerts)
        alerts_status(srv->alerts, agent_id, user_id, 0, last_seen, sm_wall_now());
}

/* Add or replace a rule on the event loop. */
static void
rule_put(struct server *srv, const struct store_rule *r)
{
    alerts_rule_put(srv->alerts, r, sm_wall_now());
    if (strcmp(r->metric, ALERTS_OFFLINE) == 0 && srv->lead_alerts) {
        struct offline_ctx x = {srv, r};
        hub_each_agent(srv->hub, offline_one, &x);
    }
}

/* Every rule in the database, read by the maintenance thread. */
struct rules_snapshot {
    uint64_t epoch; /* srv->rules_epoch before the read */
    size_t n;
    struct store_rule rules[]; /* one allocation: freed with the job */
};

static void
sync_put(const struct store_rule *r, void *arg)
{
    rule_put(arg, r);
}

/* The admin CLI writes rules to the database directly: apply what the maintenance
 * thread read, unless a change through the API came in meanwhile (the next read will
 * hold it). Event loop thread. */
static void
rules_sync(struct server *srv, const struct rules_snapshot *x)
{
    if (x->epoch == atomic_load(&srv->rules_epoch))
        alerts_rules_sync(srv->alerts, x->rules, x->n, sm_wall_now(), sync_put, srv);
}

void
events_load_rule(const struct store_rule *r, void *arg)
{
    alerts_rule_put(arg, r, sm_wall_now());
}

void
events_restore_state(const struct store_alert_event *e, void *arg)
{
    alerts_restore(arg, e);
}

/* The alerts active when this instance took the lead of the alerts. */
struct events_snapshot {
    size_t n;
    struct store_alert_event events[]; /* one allocation: freed with the job */
};

/* Start or stop evaluating. A new leader starts from what the previous one recorded, so
 * that an alert it already notified is not notified again. Event loop thread. */
static void
lead_apply(struct server *srv, int lead, const struct events_snapshot *x)
{
    srv->lead_alerts = lead;
    if (!lead)
        return;
    alerts_states_reset(srv->alerts);
    for (size_t i = 0; x && i < x->n; i++)
        alerts_restore(srv->alerts, &x->events[i]);
}

/* Tell the live stream what a finished job changed. Event loop thread. */
void
events_apply(struct server *srv, const struct job *j)
{
    if (!srv->hub)
        return;
    /* A durable batch (its reply says 200) with new samples: stream the newest, then
     * judge the alert rules on it. */
    if (j->ev.kind == CALL_EV_AGENT_SEEN &&
        hub_agent_info(srv->hub, j->ev.agent_id, NULL, NULL, NULL, NULL) == SM_ENOTFOUND)
        hub_agent_upsert(srv->hub, j->ev.agent_id, j->ev.user_id, j->ev.name, NULL, NULL, 0);
    if (j->batch && j->fresh && j->resp.status == 200 && j->batch->latest_json)
        hub_publish(srv->hub, j->batch->agent_id, j->batch->latest_json, j->batch->host_json,
                    sm_wall_now());
    if (j->batch && j->fresh && j->resp.status == 200 && srv->alerts && srv->lead_alerts)
        alerts_batch(srv->alerts, j->batch, sm_wall_now());
    switch (j->ev.kind) {
    case CALL_EV_AGENT_ADDED:
        hub_agent_upsert(srv->hub, j->ev.agent_id, j->ev.user_id, j->ev.name, NULL, NULL, 0);
        break;
    case CALL_EV_AGENT_REMOVED:
        hub_agent_remove(srv->hub, j->ev.agent_id);
        if (srv->alerts)
            alerts_agent_removed(srv->alerts, j->ev.agent_id, sm_wall_now());
        break;
    case CALL_EV_RULE_PUT:
        atomic_fetch_add(&srv->rules_epoch, 1);
        if (srv->alerts && j->ev.data)
            rule_put(srv, j->ev.data);
        break;
    case CALL_EV_RULE_DEL:
        atomic_fetch_add(&srv->rules_epoch, 1);
        if (srv->alerts)
            alerts_rule_remove(srv->alerts, j->ev.agent_id, sm_wall_now());
        break;
    case CALL_EV_RULES_SYNC:
        if (srv->alerts && j->ev.data)
            rules_sync(srv, j->ev.data);
        break;
    case CALL_EV_LEAD_ALERTS:
        if (srv->alerts)
            lead_apply(srv, j->ev.agent_id != 0, j->ev.data);
        break;
    case CALL_EV_LOGOUT:
        hub_revoke_user(srv->hub, j->ev.user_id);
        break;
    case CALL_EV_AGENT_SEEN: /* above, before the sample is published */
    case CALL_EV_NONE:
        break;
    }
}

struct rule_list {
    size_t n, cap;
    struct store_rule *rules;
};

static void
list_rule(const struct store_rule *r, void *arg)
{
    struct rule_list *l = arg;
    l->rules = sm_xgrow(l->rules, &l->cap, l->n + 1, sizeof *l->rules);
    l->rules[l->n++] = *r;
}

/* Read every rule (by id, as store_rule_list gives them and alerts_rules_sync needs) and
 * hand the list to the event loop (rules_sync). Maintenance thread. */
void
events_rules_read(struct server *srv, struct store *st)
{
    struct rule_list l = {0};
    uint64_t epoch = atomic_load(&srv->rules_epoch);
    if (store_rule_list(st, 0, list_rule, &l) != SM_OK) {
        free(l.rules);
        return;
    }
    struct rules_snapshot *x = sm_xmalloc(sizeof *x + l.n * sizeof x->rules[0]);
    x->epoch = epoch;
    x->n = l.n;
    if (l.n)
        memcpy(x->rules, l.rules, l.n * sizeof x->rules[0]);
    free(l.rules);
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->internal = 1;
    j->ev.kind = CALL_EV_RULES_SYNC;
    j->ev.data = x;
    done_push(srv, j);
}

struct event_list {
    size_t n, cap;
    struct store_alert_event *events;
};

static void
list_event(const struct store_alert_event *e, void *arg)
{
    struct event_list *l = arg;
    l->events = sm_xgrow(l->events, &l->cap, l->n + 1, sizeof *l->events);
    l->events[l->n++] = *e;
}

void
events_leader_check(struct server *srv, struct store *lead, struct store *st)
{
    int now_lead = store_leader(lead, STORE_LEAD_ALERTS);
    if (now_lead == atomic_load(&srv->lead_alerts_seen))
        return;
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->internal = 1;
    j->ev.kind = CALL_EV_LEAD_ALERTS;
    j->ev.agent_id = now_lead;
    if (now_lead) {
        struct event_list l = {0};
        if (store_alert_active(st, 0, list_event, &l) != SM_OK) {
            /* Not without the states: the next round tries again. */
            free(l.events);
            free(j);
            return;
        }
        struct events_snapshot *x = sm_xmalloc(sizeof *x + l.n * sizeof x->events[0]);
        x->n = l.n;
        if (l.n)
            memcpy(x->events, l.events, l.n * sizeof x->events[0]);
        free(l.events);
        j->ev.data = x;
    }
    atomic_store(&srv->lead_alerts_seen, now_lead);
    sm_log(SM_LOG_INFO, "leadership: %s",
           now_lead ? "this instance evaluates the alert rules"
                    : "another instance evaluates the alert rules");
    done_push(srv, j);
}
