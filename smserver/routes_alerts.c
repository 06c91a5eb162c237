/* routes_alerts.c: alert rules, their history and notification channels, under /alerts.
 * Every lookup is scoped to the caller: another user's rule or channel is 404. A change
 * to a rule is handed to the event loop (call_event) where rules are evaluated. */
#include "config.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "auth.h"
#include "ratelimit_db.h"
#include "cli.h"
#include "http.h"
#include "notify.h"
#include "handler.h"
#include "store.h"
#include "xmalloc.h"

#define ALERT_RULES_MAX 100   /* per user */
#define ALERT_CHANNELS_MAX 20 /* per user */
#define ALERT_FOR_MAX 86400   /* for_seconds and resolve_seconds */
#define ALERT_EVENTS_DEFAULT 100
#define ALERT_EVENTS_MAX 1000
#define ALERT_TESTS_PER_WINDOW 10 /* test notifications per user per login-limiter window */

static const char *const severities[] = {"info", "warning", "critical"};

cJSON *
alert_rule_json(const struct store_rule *r)
{
    char when[32], op[2] = {r->op, '\0'};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "name", r->name);
    char *metric =
        r->labels[0] ? sm_xasprintf("%s{%s}", r->metric, r->labels) : sm_xstrdup(r->metric);
    cJSON_AddStringToObject(o, "metric", metric);
    free(metric);
    if (strcmp(r->metric, ALERTS_OFFLINE) == 0) {
        cJSON_AddNullToObject(o, "op");
        cJSON_AddNullToObject(o, "threshold");
    } else {
        cJSON_AddStringToObject(o, "op", op);
        cJSON_AddNumberToObject(o, "threshold", r->threshold);
    }
    cJSON_AddNumberToObject(o, "for_seconds", (double)r->for_seconds);
    cJSON_AddNumberToObject(o, "resolve_seconds", (double)r->resolve_seconds);
    if (r->agent_id)
        cJSON_AddNumberToObject(o, "agent_id", (double)r->agent_id);
    else
        cJSON_AddNullToObject(o, "agent_id");
    cJSON_AddStringToObject(o, "severity", r->severity);
    if (r->channel_id)
        cJSON_AddNumberToObject(o, "channel_id", (double)r->channel_id);
    else
        cJSON_AddNullToObject(o, "channel_id");
    http_time_iso(r->created, when);
    cJSON_AddStringToObject(o, "created_at", when);
    http_time_iso(r->updated, when);
    cJSON_AddStringToObject(o, "updated_at", when);
    return o;
}

static enum sm_rc
rule_missing(enum sm_rc rc, char **cause)
{
    if (rc == SM_ENOTFOUND)
        *cause = sm_xstrdup("Alert rule not found");
    return rc;
}

static enum sm_rc
bad(char **cause, const char *msg)
{
    *cause = sm_xstrdup(msg);
    return SM_EINVAL;
}

/* An optional whole number member in [min, max]; *set = 0 when absent or null. */
static enum sm_rc
get_int(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out, int *set,
        char **cause)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *set = 0;
    if (!v || cJSON_IsNull(v))
        return SM_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)min ||
        v->valuedouble > (double)max) {
        *cause =
            sm_xasprintf("%s: must be a whole number from %" PRId64 " to %" PRId64, name, min, max);
        return SM_EINVAL;
    }
    *out = (int64_t)v->valuedouble;
    *set = 1;
    return SM_OK;
}

/* Fill r from a rule body (POST and PUT take the same, complete, body). */
enum sm_rc
alert_rule_parse(struct store *st, int64_t user_id, const cJSON *body, struct store_rule *r,
                 char **cause)
{
    static const char *const known[] = {"name",      "metric",      "op",
                                        "threshold", "for_seconds", "resolve_seconds",
                                        "agent_id",  "severity",    "channel_id"};
    for (const cJSON *f = body->child; f; f = f->next) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(f->string, known[k]) != 0)
            k++;
        if (k == sizeof known / sizeof known[0]) {
            char shown[40];
            sm_strlcpy(shown, f->string, sizeof shown);
            for (char *p = shown; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    *p = '?';
            *cause = sm_xasprintf("%s: unknown field", shown);
            return SM_EINVAL;
        }
    }
    const char *s;
    enum sm_rc rc;
    if ((rc = http_get_string(body, "name", 1, STORE_NAME_MAX, &s, cause)) != SM_OK)
        return rc;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return bad(cause, "name: control characters are not allowed");
    sm_strlcpy(r->name, s, sizeof r->name);
    if ((rc = http_get_string(body, "metric", 1, STORE_METRIC_MAX + STORE_LABELS_MAX + 2, &s,
                              cause)) != SM_OK)
        return rc;
    if ((rc = alerts_parse_metric(s, r->metric, r->labels, cause)) != SM_OK)
        return rc;
    int offline = strcmp(r->metric, ALERTS_OFFLINE) == 0;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(body, "op");
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(body, "threshold");
    r->op = '>';
    r->threshold = 0;
    if (!offline || (op && !cJSON_IsNull(op))) {
        if (!op || cJSON_IsNull(op))
            return bad(cause, "op: field required");
        if (!cJSON_IsString(op) ||
            (strcmp(op->valuestring, ">") != 0 && strcmp(op->valuestring, "<") != 0))
            return bad(cause, "op: must be \">\" or \"<\"");
        r->op = op->valuestring[0];
    }
    if (!offline || (th && !cJSON_IsNull(th))) {
        if (!th || cJSON_IsNull(th))
            return bad(cause, "threshold: field required");
        if (!cJSON_IsNumber(th) || !isfinite(th->valuedouble) || fabs(th->valuedouble) > 1e300)
            return bad(cause, "threshold: must be a finite number");
        r->threshold = th->valuedouble;
    }
    int set;
    r->for_seconds = 0;
    if ((rc = get_int(body, "for_seconds", 0, ALERT_FOR_MAX, &r->for_seconds, &set, cause)) !=
        SM_OK)
        return rc;
    r->resolve_seconds = r->for_seconds;
    if ((rc = get_int(body, "resolve_seconds", 0, ALERT_FOR_MAX, &r->resolve_seconds, &set,
                      cause)) != SM_OK)
        return rc;
    if (!set)
        r->resolve_seconds = r->for_seconds;
    r->agent_id = 0;
    if ((rc = get_int(body, "agent_id", 1, INT64_C(999999999999999), &r->agent_id, &set, cause)) !=
        SM_OK)
        return rc;
    if (set) {
        struct store_agent a;
        rc = store_agent_get(st, user_id, r->agent_id, &a);
        if (rc == SM_ENOTFOUND)
            return bad(cause, "agent_id: no such agent");
        if (rc != SM_OK)
            return rc;
        store_agent_done(&a);
    }
    const cJSON *sev = cJSON_GetObjectItemCaseSensitive(body, "severity");
    sm_strlcpy(r->severity, "warning", sizeof r->severity);
    if (sev && !cJSON_IsNull(sev)) {
        size_t k = 0;
        while (cJSON_IsString(sev) && k < 3 && strcmp(sev->valuestring, severities[k]) != 0)
            k++;
        if (!cJSON_IsString(sev) || k == 3)
            return bad(cause, "severity: must be \"info\", \"warning\" or \"critical\"");
        sm_strlcpy(r->severity, severities[k], sizeof r->severity);
    }
    r->channel_id = 0;
    if ((rc = get_int(body, "channel_id", 1, INT64_C(999999999999999), &r->channel_id, &set,
                      cause)) != SM_OK)
        return rc;
    if (set) {
        struct store_channel ch;
        rc = store_channel_get(st, user_id, r->channel_id, &ch);
        sodium_memzero(ch.secret, sizeof ch.secret);
        if (rc == SM_ENOTFOUND)
            return bad(cause, "channel_id: no such channel");
        if (rc != SM_OK)
            return rc;
    }
    return SM_OK;
}

/* Tell the event loop about a new or changed rule. */
static void
rule_event(struct call *c, const struct store_rule *r)
{
    struct store_rule *copy = sm_xmalloc(sizeof *copy);
    *copy = *r;
    c->ev.kind = CALL_EV_RULE_PUT;
    c->ev.user_id = c->user_id;
    c->ev.data = copy;
}

enum sm_rc
alert_rule_create(struct store *st, int64_t user_id, const cJSON *body, int64_t now,
                  struct store_rule *r, char **cause)
{
    enum sm_rc rc = alert_rule_parse(st, user_id, body, r, cause);
    if (rc != SM_OK)
        return rc;
    int64_t n = 0;
    if ((rc = store_rule_count(st, user_id, &n)) != SM_OK)
        return rc;
    if (n >= ALERT_RULES_MAX) {
        *cause = sm_xasprintf("alert rules: at most %d per user", ALERT_RULES_MAX);
        return SM_ECONFLICT;
    }
    r->user_id = user_id;
    r->created = r->updated = now;
    return store_rule_add(st, r);
}

static enum sm_rc
alerts_create(struct call *c, char **cause)
{
    cJSON *body = NULL;
    struct store_rule r;
    memset(&r, 0, sizeof r);
    enum sm_rc rc = http_body_object(c->req, &body, cause);
    if (rc != SM_OK)
        return rc;
    if ((rc = alert_rule_create(c->st, c->user_id, body, (int64_t)c->now, &r, cause)) != SM_OK)
        goto out;
    http_reply_json(c->resp, 201, alert_rule_json(&r));
    rule_event(c, &r);
out:
    cJSON_Delete(body);
    return rc;
}

static enum sm_rc
alerts_update(struct call *c, char **cause)
{
    cJSON *body = NULL;
    struct store_rule old, r;
    enum sm_rc rc = store_rule_get(c->st, c->user_id, c->req->id, &old);
    if (rc != SM_OK)
        return rule_missing(rc, cause);
    if ((rc = http_body_object(c->req, &body, cause)) != SM_OK)
        return rc;
    memset(&r, 0, sizeof r);
    if ((rc = alert_rule_parse(c->st, c->user_id, body, &r, cause)) != SM_OK)
        goto out;
    r.id = old.id;
    r.user_id = c->user_id;
    r.created = old.created;
    r.updated = (int64_t)c->now;
    if ((rc = store_rule_update(c->st, &r)) != SM_OK) {
        rc = rule_missing(rc, cause);
        goto out;
    }
    http_reply_json(c->resp, 200, alert_rule_json(&r));
    rule_event(c, &r);
out:
    cJSON_Delete(body);
    return rc;
}

/* Reply 200 with arr when rc is SM_OK (the store filled it); else drop it and pass rc on. */
static enum sm_rc
reply_array(struct call *c, enum sm_rc rc, cJSON *arr)
{
    if (rc != SM_OK) {
        cJSON_Delete(arr);
        return rc;
    }
    http_reply_json(c->resp, 200, arr);
    return SM_OK;
}

static void
list_rule(const struct store_rule *r, void *arg)
{
    cJSON_AddItemToArray(arg, alert_rule_json(r));
}

static enum sm_rc
alerts_list(struct call *c, char **cause)
{
    (void)cause;
    cJSON *arr = cJSON_CreateArray();
    return reply_array(c, store_rule_list(c->st, c->user_id, list_rule, arr), arr);
}

static cJSON *
event_json(const struct store_alert_event *e)
{
    char when[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)e->id);
    cJSON_AddNumberToObject(o, "rule_id", (double)e->rule_id);
    cJSON_AddNumberToObject(o, "agent_id", (double)e->agent_id);
    cJSON_AddStringToObject(o, "labels", e->labels);
    cJSON_AddStringToObject(o, "state", e->state);
    cJSON_AddNumberToObject(o, "value", e->value);
    cJSON_AddNumberToObject(o, "timestamp", (double)e->ts_ms / 1000.0);
    http_time_iso(e->at, when);
    cJSON_AddStringToObject(o, "recorded_at", when);
    return o;
}

static void
list_event(const struct store_alert_event *e, void *arg)
{
    cJSON_AddItemToArray(arg, event_json(e));
}

static enum sm_rc
alerts_get(struct call *c, char **cause)
{
    struct store_rule r;
    enum sm_rc rc = store_rule_get(c->st, c->user_id, c->req->id, &r);
    if (rc != SM_OK)
        return rule_missing(rc, cause);
    cJSON *o = alert_rule_json(&r);
    /* The states active now, from the newest recorded change of each. */
    cJSON *active = cJSON_AddArrayToObject(o, "active");
    cJSON *all = cJSON_CreateArray();
    if ((rc = store_alert_active(c->st, c->user_id, list_event, all)) != SM_OK) {
        cJSON_Delete(all);
        cJSON_Delete(o);
        return rc;
    }
    cJSON *e, *next;
    for (e = all->child; e; e = next) {
        next = e->next;
        if (cJSON_GetObjectItemCaseSensitive(e, "rule_id")->valuedouble == (double)r.id)
            cJSON_AddItemToArray(active, cJSON_DetachItemViaPointer(all, e));
    }
    cJSON_Delete(all);
    http_reply_json(c->resp, 200, o);
    return SM_OK;
}

static enum sm_rc
alerts_delete(struct call *c, char **cause)
{
    enum sm_rc rc = store_rule_delete(c->st, c->user_id, c->req->id);
    if (rc != SM_OK)
        return rule_missing(rc, cause);
    c->ev.kind = CALL_EV_RULE_DEL;
    c->ev.user_id = c->user_id;
    c->ev.agent_id = c->req->id; /* the rule's id */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", "Alert rule deleted");
    http_reply_json(c->resp, 200, o);
    return SM_OK;
}

/* The value of query argument name, or NULL. */
static const char *
query_arg(const struct req *req, const char *name)
{
    size_t nl = strlen(name);
    for (int i = 0; i < req->nargs; i++)
        if (strncmp(req->args[i], name, nl) == 0 && req->args[i][nl] == '=')
            return req->args[i] + nl + 1;
    return NULL;
}

static enum sm_rc
alerts_events(struct call *c, char **cause)
{
    struct store_rule r;
    if (c->req->query_bad)
        return bad(cause, "query: too long or too many arguments");
    long limit = ALERT_EVENTS_DEFAULT;
    const char *l = query_arg(c->req, "limit");
    if (l) {
        if (sm_parse_long(l, 1, ALERT_EVENTS_MAX, &limit) != 0) {
            *cause = sm_xasprintf("limit: must be a whole number from 1 to %d", ALERT_EVENTS_MAX);
            return SM_EINVAL;
        }
    }
    enum sm_rc rc = store_rule_get(c->st, c->user_id, c->req->id, &r);
    if (rc != SM_OK)
        return rule_missing(rc, cause);
    cJSON *arr = cJSON_CreateArray();
    return reply_array(c, store_alert_events(c->st, r.id, (size_t)limit, list_event, arr), arr);
}

static enum sm_rc
alerts_active(struct call *c, char **cause)
{
    (void)cause;
    cJSON *arr = cJSON_CreateArray();
    return reply_array(c, store_alert_active(c->st, c->user_id, list_event, arr), arr);
}

/* ------------------------------------------------------------------ channels */

static cJSON *
channel_json(const struct store_channel *ch)
{
    char when[32];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)ch->id);
    cJSON_AddStringToObject(o, "name", ch->name);
    cJSON_AddStringToObject(o, "type", ch->kind);
    if (strcmp(ch->kind, "webhook") == 0)
        cJSON_AddStringToObject(o, "url", ch->url);
    else
        cJSON_AddStringToObject(o, "chat_id", ch->chat_id);
    http_time_iso(ch->created, when);
    cJSON_AddStringToObject(o, "created_at", when);
    return o;
}

static enum sm_rc
channel_missing(enum sm_rc rc, char **cause)
{
    if (rc == SM_ENOTFOUND)
        *cause = sm_xstrdup("Channel not found");
    return rc;
}

/* A printable string without blanks or control characters. */
static int
plain(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static enum sm_rc
channels_create(struct call *c, char **cause)
{
    cJSON *body = NULL;
    struct store_channel ch;
    char secret[AUTH_TOKEN_LEN + 1] = "";
    const char *s, *type, *bot = NULL;
    memset(&ch, 0, sizeof ch);
    enum sm_rc rc = http_body_object(c->req, &body, cause);
    if (rc != SM_OK)
        return rc;
    if ((rc = http_get_string(body, "name", 1, STORE_NAME_MAX, &s, cause)) != SM_OK)
        goto out;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            rc = bad(cause, "name: control characters are not allowed");
            goto out;
        }
    sm_strlcpy(ch.name, s, sizeof ch.name);
    if ((rc = http_get_string(body, "type", 1, 16, &type, cause)) != SM_OK)
        goto out;
    if (strcmp(type, "webhook") == 0) {
        if ((rc = http_get_string(body, "url", 1, STORE_URL_MAX, &s, cause)) != SM_OK)
            goto out;
        if ((strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) || !plain(s) ||
            strlen(s) < 10) {
            rc = bad(cause, "url: must be an http:// or https:// URL without blanks");
            goto out;
        }
        sm_strlcpy(ch.url, s, sizeof ch.url);
        /* Not the server's own loopback, the cloud metadata service or a private net
         * (this runs on a worker: it resolves the name). */
        if ((rc = notify_target_check(c->env->notifier, c->env->webhook_allow, ch.url, "url",
                                      cause)) != SM_OK)
            goto out;
        uint8_t unused[STORE_HASH_LEN];
        auth_token_new(secret, unused); /* the signing secret, shown once */
    } else if (strcmp(type, "telegram") == 0) {
        if ((rc = http_get_string(body, "chat_id", 1, STORE_NAME_MAX, &s, cause)) != SM_OK)
            goto out;
        if (!plain(s)) {
            rc = bad(cause, "chat_id: blanks and control characters are not allowed");
            goto out;
        }
        sm_strlcpy(ch.chat_id, s, sizeof ch.chat_id);
        if ((rc = http_get_string(body, "bot_token", 1, 256, &bot, cause)) != SM_OK)
            goto out;
        /* It goes into a URL path: letters, digits, ':', '_' and '-' only. */
        if (strspn(bot, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-") !=
            strlen(bot)) {
            rc = bad(cause, "bot_token: letters, digits, ':', '_' and '-' only");
            goto out;
        }
        if ((rc = notify_target_check(c->env->notifier, c->env->webhook_allow,
                                      c->env->telegram_api_base, "telegram_api_base", cause)) !=
            SM_OK)
            goto out;
    } else {
        rc = bad(cause, "type: must be \"webhook\" or \"telegram\"");
        goto out;
    }
    sm_strlcpy(ch.kind, type, sizeof ch.kind);
    int64_t n = 0;
    if ((rc = store_channel_count(c->st, c->user_id, &n)) != SM_OK)
        goto out;
    if (n >= ALERT_CHANNELS_MAX) {
        *cause = sm_xasprintf("channels: at most %d per user", ALERT_CHANNELS_MAX);
        rc = SM_ECONFLICT;
        goto out;
    }
    if ((rc = notify_seal(c->env->auth, bot ? bot : secret, ch.secret, &ch.secret_len)) != SM_OK) {
        rc = bad(cause, "bot_token: too long");
        goto out;
    }
    ch.user_id = c->user_id;
    ch.created = (int64_t)c->now;
    rc = store_channel_add(c->st, &ch);
    if (rc == SM_ECONFLICT) {
        *cause = sm_xstrdup("name: you already have a channel with this name");
        goto out;
    }
    if (rc != SM_OK)
        goto out;
    cJSON *o = channel_json(&ch);
    if (!bot)
        cJSON_AddStringToObject(o, "secret", secret); /* shown this once */
    http_reply_json(c->resp, 201, o);
out:
    if (rc == SM_EBUSY) /* another channel's address check is running */
        c->resp->retry_after = NOTIFY_CHECK_TIMEOUT_S;
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(ch.secret, sizeof ch.secret);
    if (bot) {
        /* The parsed body's copy of the bot token. */
        cJSON *bj = cJSON_GetObjectItemCaseSensitive(body, "bot_token");
        sodium_memzero(bj->valuestring, strlen(bj->valuestring));
    }
    cJSON_Delete(body);
    return rc;
}

/* A new signing secret for a webhook channel, shown this once; the old one stops
 * signing at once. */
static enum sm_rc
channels_regenerate(struct call *c, char **cause)
{
    struct store_channel ch;
    char secret[AUTH_TOKEN_LEN + 1];
    uint8_t unused[STORE_HASH_LEN], sealed[STORE_SECRET_MAX];
    size_t sealed_len = 0;
    enum sm_rc rc = store_channel_get(c->st, c->user_id, c->req->id, &ch);
    if (rc != SM_OK)
        return channel_missing(rc, cause);
    sodium_memzero(ch.secret, sizeof ch.secret);
    if (strcmp(ch.kind, "webhook") != 0)
        return bad(cause, "type: only a webhook channel has a signing secret (a Telegram "
                          "channel's token is its bot's: create the channel again)");
    auth_token_new(secret, unused);
    rc = notify_seal(c->env->auth, secret, sealed, &sealed_len);
    if (rc == SM_OK)
        rc = store_channel_set_secret(c->st, c->user_id, ch.id, sealed, sealed_len);
    if (rc == SM_OK) {
        cJSON *o = channel_json(&ch);
        cJSON_AddStringToObject(o, "secret", secret);
        http_reply_json(c->resp, 200, o);
    }
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(sealed, sizeof sealed);
    return channel_missing(rc, cause);
}

static void
list_channel(const struct store_channel *ch, void *arg)
{
    cJSON_AddItemToArray(arg, channel_json(ch));
}

static enum sm_rc
channels_list(struct call *c, char **cause)
{
    (void)cause;
    cJSON *arr = cJSON_CreateArray();
    return reply_array(c, store_channel_list(c->st, c->user_id, list_channel, arr), arr);
}

static enum sm_rc
channels_get(struct call *c, char **cause)
{
    struct store_channel ch;
    enum sm_rc rc = store_channel_get(c->st, c->user_id, c->req->id, &ch);
    if (rc != SM_OK)
        return channel_missing(rc, cause);
    sodium_memzero(ch.secret, sizeof ch.secret);
    http_reply_json(c->resp, 200, channel_json(&ch));
    return SM_OK;
}

static enum sm_rc
channels_delete(struct call *c, char **cause)
{
    enum sm_rc rc = store_channel_delete(c->st, c->user_id, c->req->id);
    if (rc != SM_OK)
        return channel_missing(rc, cause);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", "Channel deleted");
    http_reply_json(c->resp, 200, o);
    return SM_OK;
}

static enum sm_rc
channels_test(struct call *c, char **cause)
{
    struct store_channel ch;
    enum sm_rc rc = store_channel_get(c->st, c->user_id, c->req->id, &ch);
    if (rc != SM_OK)
        return channel_missing(rc, cause);
    sodium_memzero(ch.secret, sizeof ch.secret);
    /* A test sends to a URL of the user's choosing: not as fast as they can ask. */
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, c->user_id);
    int wait =
        ratelimit_check_st(c->env->rl, c->st, "notify-test", key, ALERT_TESTS_PER_WINDOW, c->now);
    if (wait > 0) {
        *cause = sm_xasprintf("Too many test notifications; try again in %d seconds", wait);
        c->resp->retry_after = wait;
        return SM_EBUSY;
    }
    ratelimit_fail_st(c->env->rl, c->st, "notify-test", key, c->now);
    if (!c->env->notifier || notifier_push_test(c->env->notifier, c->user_id, ch.id) != SM_OK) {
        *cause = sm_xstrdup("notifications are busy, try again later");
        return SM_EBUSY;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "queued");
    http_reply_json(c->resp, 202, o);
    return SM_OK;
}

const struct route routes_alerts[] = {
    {HTTP_GET, "/alerts", alerts_list, ROUTE_USER, POOL_WORK},
    {HTTP_POST, "/alerts", alerts_create, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/alerts/active", alerts_active, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/alerts/channels", channels_list, ROUTE_USER, POOL_WORK},
    {HTTP_POST, "/alerts/channels", channels_create, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/alerts/channels/{id}", channels_get, ROUTE_USER, POOL_WORK},
    {HTTP_DELETE, "/alerts/channels/{id}", channels_delete, ROUTE_USER, POOL_WORK},
    {HTTP_POST, "/alerts/channels/{id}/test", channels_test, ROUTE_USER, POOL_WORK},
    {HTTP_POST, "/alerts/channels/{id}/regenerate-secret", channels_regenerate, ROUTE_USER,
     POOL_WORK},
    {HTTP_GET, "/alerts/{id}", alerts_get, ROUTE_USER, POOL_WORK},
    {HTTP_PUT, "/alerts/{id}", alerts_update, ROUTE_USER, POOL_WORK},
    {HTTP_DELETE, "/alerts/{id}", alerts_delete, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/alerts/{id}/events", alerts_events, ROUTE_USER, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
