/* source_remote.c: the server client's events applied to the model (server mode). */
#include "config.h"

#include "source_remote.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "timerange.h"
#include "xmalloc.h"

#define REMOTE_HIST_MAX 64      /* cached history series */
#define REMOTE_SERIES_MAX 10000 /* stored series of one host taken from the server */

struct hist_slot {
    int host_id;
    char series[MODEL_SERIES_LEN];
    double range, offset;
    size_t points;
    uint64_t req_id; /* pending request, 0 when none */
    double asked;    /* monotonic time of the request */
    double used;     /* last asked for by a view (for eviction) */
    struct remote_history h;
};

struct source_remote {
    struct model *m;
    struct client *c;
    int ready;
    enum client_state state;
    double retry_at; /* monotonic */
    char *state_text;
    char *error;
    int in_snapshot;
    char *url;
    int history_news;
    int alerts_fetched; /* a CLIENT_EV_ALERTS arrived (whatever its outcome) */
    int alerts_status;  /* its status: 200, 404 (a server without alerts), 0 no reply */
    int *seen;          /* agent ids in the snapshot being read */
    size_t nseen, seen_cap;
    struct hist_slot hist[REMOTE_HIST_MAX];
    /* The stored series of one host (GET /history/{id}/series), for the history list. */
    struct {
        int host_id;
        uint64_t req_id; /* pending, 0 when none */
        double asked, fetched;
    } list;
};

struct pw_from {
    const char *file, *user;
};

static char *
ask_password(void *arg, char **cause)
{
    const struct pw_from *p = arg;
    return client_password(p->file, p->user, cause);
}

struct source_remote *
source_remote_new(struct model *m, const struct smtop_opts *o, struct lws_context *ctx,
                  int *exit_code, char **cause)
{
    struct client_options co = {.url = o->server, .user = o->user, .ctx = ctx};
    struct client *c = NULL;
    enum sm_rc rc = client_new(&co, &c, cause);
    if (rc != SM_OK) {
        *exit_code = 2;
        return NULL;
    }
    int used_password;
    struct pw_from pf = {o->password_file, o->user};
    rc = client_login(c, ask_password, &pf, &used_password, cause);
    if (rc == SM_EIO && !used_password) {
        /* A stored session and the server away: start anyway and keep trying, as after a
         * restart of the server. */
        free(*cause);
        *cause = NULL;
        rc = SM_OK;
    }
    if (rc == SM_OK)
        rc = client_start(c, cause);
    if (rc != SM_OK) {
        client_free(c);
        *exit_code = 1;
        return NULL;
    }
    struct source_remote *src = sm_xcalloc(1, sizeof *src);
    src->m = m;
    src->c = c;
    src->state = CLIENT_CONNECTING;
    src->url = sm_xstrdup(o->server);
    return src;
}

void
source_remote_free(struct source_remote *src)
{
    if (src == NULL)
        return;
    client_free(src->c);
    for (size_t i = 0; i < REMOTE_HIST_MAX; i++) {
        struct remote_history *h = &src->hist[i].h;
        free(h->ring.t);
        free(h->ring.v);
    }
    free(src->seen);
    free(src->url);
    free(src->state_text);
    free(src->error);
    free(src);
}

int
source_remote_ready(const struct source_remote *src)
{
    return src->ready;
}

int
source_remote_take_history_news(struct source_remote *src)
{
    int n = src->history_news;
    src->history_news = 0;
    return n;
}

int
source_remote_live(const struct source_remote *src)
{
    return src->state == CLIENT_LIVE;
}

const char *
source_remote_error(const struct source_remote *src)
{
    return src->error;
}

const char *
source_remote_status(const struct source_remote *src, double now, char *buf, size_t len)
{
    const char *why = src->state_text ? src->state_text : "";
    switch (src->state) {
    case CLIENT_CONNECTING:
        snprintf(buf, len, "connecting");
        break;
    case CLIENT_LIVE:
        snprintf(buf, len, "live");
        break;
    case CLIENT_RECONNECTING: {
        double left = src->retry_at - now;
        if (src->ready)
            snprintf(buf, len, "reconnecting in %.0fs: %s", left > 0 ? left + 0.5 : 0, why);
        else {
            /* The client's reasons often start with the URL already. */
            size_t ul = strlen(src->url);
            if (strncmp(why, src->url, ul) == 0 && why[ul] == ':' && why[ul + 1] == ' ')
                why += ul + 2;
            snprintf(buf, len, "connecting to %s: %s; retrying in %.0fs", src->url, why,
                     left > 0 ? left + 0.5 : 0);
        }
        break;
    }
    case CLIENT_AUTH_FAILED:
        snprintf(buf, len, "%s", why);
        break;
    }
    return buf;
}

static int
id_ok(int64_t id)
{
    return id > 0 && id <= 0x7fffffff;
}

/* Apply one history reply to its slot. */
static void
hist_reply(struct source_remote *src, struct client_event *ev)
{
    struct hist_slot *s = NULL;
    for (size_t i = 0; i < REMOTE_HIST_MAX; i++)
        if (src->hist[i].req_id == ev->req_id && ev->req_id != 0)
            s = &src->hist[i];
    if (s == NULL)
        return; /* evicted meanwhile */
    s->req_id = 0;
    struct remote_history *h = &s->h;
    h->status = ev->status;
    h->fetched = sm_mono_now();
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev->body, "data");
    if (ev->status != 200 || !cJSON_IsArray(data)) {
        h->ring.len = 0;
        if (ev->status != 200) {
            free(src->error);
            src->error =
                sm_xasprintf("history of %s: %s", s->series, ev->text ? ev->text : "no reply");
        }
        src->m->generation++;
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(data);
    if (n > REMOTE_HIST_POINTS_MAX)
        n = REMOTE_HIST_POINTS_MAX;
    if (h->ring.cap < n || h->ring.cap == 0) {
        h->ring.cap = n ? n : 1;
        h->ring.t = sm_xreallocarray(h->ring.t, h->ring.cap, sizeof *h->ring.t);
        h->ring.v = sm_xreallocarray(h->ring.v, h->ring.cap, sizeof *h->ring.v);
    }
    h->ring.head = 0;
    size_t k = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, data)
    {
        if (k == n)
            break;
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "time"));
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "value");
        double tt;
        if (t == NULL || sm_time_parse_iso(t, 0, &tt) != SM_OK || !cJSON_IsNumber(v) ||
            (k > 0 && !(tt > h->ring.t[k - 1])))
            continue;
        h->ring.t[k] = tt;
        h->ring.v[k] = (float)v->valuedouble;
        k++;
    }
    h->ring.len = k;
    src->history_news = 1;
    src->m->generation++;
}

/* Copy a JSON string field into dst (cut to len - 1; control characters become '?'). */
static void
copy_field(char *dst, size_t len, const cJSON *obj, const char *key, const char *dflt)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    snprintf(dst, len, "%s", v ? v : dflt);
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* A whole number >= 1 field, else -1. */
static long long
id_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9e15 ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    return (long long)v->valuedouble;
}

/* An alert from a stream message or an entry of GET /alerts/active; the rule's name,
 * metric and severity from the message itself or else from rules (GET /alerts). *state
 * points into obj. Returns 0, or -1 when obj is not an alert. */
static int
alert_from_json(const cJSON *obj, const cJSON *rules, struct model_alert *a, const char **state)
{
    memset(a, 0, sizeof *a);
    long long rule = id_field(obj, "rule_id"), agent = id_field(obj, "agent_id");
    *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "state"));
    if (rule < 0 || agent < 0 || agent > 0x7fffffff || *state == NULL)
        return -1;
    a->rule_id = rule;
    a->agent_id = (int)agent;
    copy_field(a->labels, sizeof a->labels, obj, "labels", "");
    const cJSON *r = NULL, *x;
    cJSON_ArrayForEach(x, rules)
    {
        if (id_field(x, "id") == rule) {
            r = x;
            break;
        }
    }
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(obj, "name") ? obj : r;
    char id[32];
    snprintf(id, sizeof id, "rule %lld", rule);
    copy_field(a->name, sizeof a->name, from, "name", id);
    copy_field(a->metric, sizeof a->metric, from, "metric", "?");
    copy_field(a->severity, sizeof a->severity, from, "severity", "warning");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "value");
    a->value = cJSON_IsNumber(v) ? v->valuedouble : (double)NAN;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "timestamp");
    a->since = cJSON_IsNumber(t) ? t->valuedouble : 0;
    a->firing = strcmp(*state, "firing") == 0;
    return 0;
}

/* GET /alerts and /alerts/active answered: they replace the alerts known. */
static void
alerts_reply(struct source_remote *src, struct client_event *ev)
{
    src->alerts_fetched = 1;
    src->alerts_status = ev->status;
    if (ev->status != 200) {
        /* 404: a server without alerts; nothing to show, nothing to complain about. */
        if (ev->status != 404) {
            free(src->error);
            src->error = sm_xasprintf("alerts: %s", ev->text ? ev->text : "no reply");
            src->m->generation++;
        }
        return;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(ev->body, "rules");
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(ev->body, "active");
    size_t n = (size_t)cJSON_GetArraySize(active), k = 0;
    if (n > MODEL_ALERTS_MAX)
        n = MODEL_ALERTS_MAX;
    struct model_alert *list = sm_xcalloc(n ? n : 1, sizeof *list);
    const cJSON *x;
    cJSON_ArrayForEach(x, active)
    {
        const char *state;
        if (k == n)
            break;
        if (alert_from_json(x, rules, &list[k], &state) == 0 &&
            (strcmp(state, "firing") == 0 || strcmp(state, "pending") == 0))
            k++;
    }
    /* A live change that came while the request ran is newer than its answer. */
    model_alerts_replace(src->m, list, k, ev->asked - 1);
    free(list);
}

/* One {"type":"alert",...} from the stream. */
static void
alert_message(struct source_remote *src, struct client_event *ev)
{
    struct model_alert a;
    const char *state;
    if (alert_from_json(ev->body, NULL, &a, &state) != 0) {
        free(src->error);
        src->error = sm_xstrdup("stream: an alert message without rule_id, agent_id or state");
        src->m->generation++;
        return;
    }
    a.set_at = sm_mono_now();
    model_alert_apply(src->m, &a, state);
}

int
source_remote_alerts_fetched(const struct source_remote *src)
{
    return src->alerts_fetched;
}

/* GET /history/{id}/series answered: every stored series becomes a (maybe empty) series
 * of the host, so the history view lists it. */
static void
list_reply(struct source_remote *src, struct client_event *ev)
{
    src->list.req_id = 0;
    src->list.fetched = sm_mono_now();
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ev->body, "series");
    if (ev->status != 200 || !cJSON_IsArray(list)) {
        if (ev->status != 404) {
            free(src->error);
            src->error = sm_xasprintf("series of agent %d: %s", src->list.host_id,
                                      ev->text ? ev->text : "no reply");
            src->m->generation++;
        }
        return;
    }
    size_t n = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, list)
    {
        if (n++ == REMOTE_SERIES_MAX)
            break;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "name"));
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(x, "labels");
        if (name == NULL)
            continue;
        char full[MODEL_SERIES_LEN];
        int len;
        const cJSON *l = cJSON_IsObject(labels) ? labels->child : NULL;
        if (l == NULL)
            len = snprintf(full, sizeof full, "%s", name);
        else if (l->next == NULL && cJSON_IsString(l))
            len = snprintf(full, sizeof full, "%s{%s=%s}", name, l->string, l->valuestring);
        else
            continue; /* several labels: not a series smtop can ask for */
        if (len < 0 || (size_t)len >= sizeof full)
            continue;
        model_series_declare(src->m, src->list.host_id, full);
    }
}

void
source_remote_series_list(struct source_remote *src, int host_id)
{
    double now = sm_mono_now();
    if (src->list.host_id == host_id) {
        if (src->list.req_id != 0 && now - src->list.asked < 30)
            return; /* asked; a lost reply is asked again after 30 s */
        if (src->list.req_id == 0 && src->list.fetched > 0 && now - src->list.fetched < 60)
            return;
    }
    char path[64];
    snprintf(path, sizeof path, "/history/%d/series", host_id);
    src->list.host_id = host_id;
    src->list.fetched = 0;
    src->list.req_id = client_get(src->c, path);
    src->list.asked = now;
}

static void
snapshot_end(struct source_remote *src)
{
    /* Hosts the server no longer lists were removed while we were away. */
    for (size_t i = src->m->nhosts; i-- > 0;) {
        int id = src->m->hosts[i]->id;
        int keep = 0;
        for (size_t j = 0; j < src->nseen && !keep; j++)
            keep = src->seen[j] == id;
        if (!keep)
            model_host_remove(src->m, id);
    }
    src->in_snapshot = 0;
    src->ready = 1;
}

static void
on_event(void *arg, struct client_event *ev)
{
    struct source_remote *src = arg;
    struct model *m = src->m;
    int id = id_ok(ev->agent_id) ? (int)ev->agent_id : 0;
    switch (ev->type) {
    case CLIENT_EV_STATE:
        src->state = ev->state;
        src->retry_at = sm_mono_now() + ev->retry_in;
        free(src->state_text);
        src->state_text = ev->text ? sm_xstrdup(ev->text) : NULL;
        if (ev->state == CLIENT_LIVE) {
            free(src->error);
            src->error = NULL;
        }
        m->generation++;
        break;
    case CLIENT_EV_SNAPSHOT_BEGIN:
        src->in_snapshot = 1;
        src->nseen = 0;
        break;
    case CLIENT_EV_SNAPSHOT_END:
        snapshot_end(src);
        m->generation++;
        break;
    case CLIENT_EV_AGENT:
        if (!id)
            break;
        if (src->in_snapshot) {
            if (src->nseen == src->seen_cap) {
                src->seen_cap = src->seen_cap ? 2 * src->seen_cap : 64;
                src->seen = sm_xreallocarray(src->seen, src->seen_cap, sizeof *src->seen);
            }
            src->seen[src->nseen++] = id;
        }
        if (ev->sample)
            model_add_sample(m, id, ev->sample);
        if (ev->have_host)
            model_set_facts(m, id, &ev->host);
        model_set_name(m, id, ev->name);
        /* After the sample, which marks the host online: the server knows better. */
        if (ev->online >= 0)
            model_set_status(m, id, ev->online, ev->last_seen);
        break;
    case CLIENT_EV_SAMPLE:
        if (id)
            model_add_sample(m, id, ev->sample);
        break;
    case CLIENT_EV_STATUS:
        if (id)
            model_set_status(m, id, ev->online, ev->last_seen);
        break;
    case CLIENT_EV_REMOVED:
        if (id)
            model_host_remove(m, id);
        break;
    case CLIENT_EV_LAG:
        free(src->error);
        src->error = sm_xasprintf("%llu live messages dropped (this terminal fell behind)",
                                  (unsigned long long)ev->dropped);
        m->generation++;
        break;
    case CLIENT_EV_ERROR:
        free(src->error);
        src->error = sm_xstrdup(ev->text ? ev->text : "error");
        m->generation++;
        break;
    case CLIENT_EV_REPLY:
        if (ev->req_id != 0 && ev->req_id == src->list.req_id)
            list_reply(src, ev);
        else
            hist_reply(src, ev);
        break;
    case CLIENT_EV_ALERT:
        alert_message(src, ev);
        break;
    case CLIENT_EV_ALERTS:
        alerts_reply(src, ev);
        break;
    }
}

size_t
source_remote_drain(struct source_remote *src)
{
    return client_drain(src->c, on_event, src);
}

/* "cpu.core.usage{core=3}" -> "name=cpu.core.usage&core=3" (labels as the server filters
 * them). Characters outside the server's label alphabet make the series unfetchable. */
static int
series_query(const char *series, char *out, size_t len)
{
    const char *brace = strchr(series, '{');
    int n;
    if (brace == NULL) {
        n = snprintf(out, len, "name=%s", series);
    } else {
        const char *eq = strchr(brace, '=');
        size_t blen = strlen(brace);
        if (eq == NULL || brace[blen - 1] != '}')
            return -1;
        n = snprintf(out, len, "name=%.*s&%.*s=%.*s", (int)(brace - series), series,
                     (int)(eq - brace - 1), brace + 1, (int)(brace + blen - 1 - eq - 1), eq + 1);
    }
    if (n < 0 || (size_t)n >= len)
        return -1;
    for (const char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._/-=&", *p)))
            return -1;
    return 0;
}

const struct remote_history *
source_remote_history(struct source_remote *src, int host_id, const char *series, double range,
                      double offset, size_t points, double max_age)
{
    double now = sm_mono_now();
    struct hist_slot *s = NULL, *lru = &src->hist[0];
    for (size_t i = 0; i < REMOTE_HIST_MAX; i++) {
        struct hist_slot *x = &src->hist[i];
        if (x->used > 0 && x->host_id == host_id && strcmp(x->series, series) == 0) {
            s = x;
            break;
        }
        if (x->used < lru->used)
            lru = x;
    }
    if (points < 2)
        points = 2;
    if (points > REMOTE_HIST_POINTS_MAX)
        points = REMOTE_HIST_POINTS_MAX;
    if (s == NULL) {
        s = lru;
        s->host_id = host_id;
        snprintf(s->series, sizeof s->series, "%s", series);
        s->h.ring.len = 0;
        s->h.fetched = 0;
        s->h.status = 0;
        s->req_id = 0;
        s->range = 0;
    }
    s->used = now;
    offset = offset < 1 ? 0 : floor(offset);
    int moved = s->range != range || s->offset != offset;
    int stale = s->h.fetched == 0 || now - s->h.fetched > max_age || moved || s->points != points;
    /* One request at a time per slot; a lost reply is asked again after 30 s. */
    if (stale && (s->req_id == 0 || now - s->asked > 30)) {
        char q[MODEL_SERIES_LEN + 32], path[MODEL_SERIES_LEN + 128];
        if (series_query(series, q, sizeof q) == 0) {
            char stop[32] = "now";
            if (offset > 0)
                snprintf(stop, sizeof stop, "-%.0fs", offset);
            snprintf(path, sizeof path, "/history/%d/series?%s&start=-%.0fs&stop=%s&points=%zu",
                     host_id, q, range + offset, stop, points);
            s->req_id = client_get(src->c, path);
            s->asked = now;
            if (moved)
                s->h.ring.len = 0; /* do not show another window's points meanwhile */
            s->range = range;
            s->offset = offset;
            s->points = points;
        }
    }
    return &s->h;
}
