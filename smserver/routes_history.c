/* routes_history.c: GET /history/{id}/{cpu,memory,disk,network,summary} in the original
 * system's shape, and GET /history/{id}/series for any stored series. Every parameter is
 * parsed by a grammar and bounded; values reach SQL only as bound parameters. */
#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "history_types.h"
#include "http.h"
#include "store.h"
#include "timerange.h"
#include "xmalloc.h"

#define LABEL_MAX 160

/* A query: the range, the bucket count and at most one label filter. */
struct hq {
    int64_t start_ms, stop_ms;
    size_t points;
    const char *name;
    char labels[LABEL_MAX];
};

/* The arguments this route accepts besides label filters. */
static int
known_arg(const char *key, size_t klen, int with_name)
{
    static const char *const keys[] = {"start", "stop", "points", "name"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] - (with_name ? 0 : 1); i++)
        if (strlen(keys[i]) == klen && strncmp(keys[i], key, klen) == 0)
            return 1;
    return 0;
}

/* Label keys and values: letters, digits and . _ / - (mountpoints, devices, cores). */
static int
label_text_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '/' || *s == '-'))
            return 0;
    return 1;
}

/* A label value: label text, and the space, ':', '@' and '+' that sensor labels
 * ("Package id 0"), GPU ids ("0000:03:00.0") and units ("user@1000.service") hold. */
static int
label_value_ok(const char *s)
{
    char buf[256];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf)
        return 0;
    for (size_t i = 0; i <= n; i++)
        buf[i] = (s[i] == ' ' || s[i] == ':' || s[i] == '@' || s[i] == '+') ? '_' : s[i];
    return label_text_ok(buf);
}

static enum sm_rc
parse_query(const struct call *c, int with_name, struct hq *q, char **cause)
{
    const struct req *r = c->req;
    const char *start = "-1h", *stop = "now", *points = NULL;
    int seen_start = 0, seen_stop = 0, seen_points = 0, nlabels = 0;
    memset(q, 0, sizeof *q);
    if (r->query_bad) {
        *cause = sm_xasprintf("query: at most %d arguments of %d bytes in all", HTTP_QUERY_ARGS,
                              HTTP_QUERY_MAX);
        return SM_EINVAL;
    }
    for (int i = 0; i < r->nargs; i++) {
        const char *a = r->args[i], *eq = strchr(a, '=');
        if (eq == NULL) {
            *cause = sm_xasprintf("query: argument %d has no value", i + 1);
            return SM_EINVAL;
        }
        size_t klen = (size_t)(eq - a);
        const char *v = eq + 1;
        int *seen = NULL;
        if (klen == 5 && strncmp(a, "start", 5) == 0) {
            start = v;
            seen = &seen_start;
        } else if (klen == 4 && strncmp(a, "stop", 4) == 0) {
            stop = v;
            seen = &seen_stop;
        } else if (klen == 6 && strncmp(a, "points", 6) == 0) {
            points = v;
            seen = &seen_points;
        } else if (with_name && klen == 4 && strncmp(a, "name", 4) == 0) {
            if (q->name) {
                *cause = sm_xstrdup("name: given twice");
                return SM_EINVAL;
            }
            if (!label_text_ok(v) || strlen(v) > 64) {
                *cause = sm_xstrdup("name: must be a series name such as cpu.core.usage");
                return SM_EINVAL;
            }
            q->name = v;
            continue;
        } else if (with_name && !known_arg(a, klen, 1)) {
            /* Anything else on /series is a label filter (core=3, mount=/, iface=eth0). */
            char key[64];
            if (klen == 0 || klen >= sizeof key) {
                *cause = sm_xstrdup("labels: a label name of 1 to 63 bytes");
                return SM_EINVAL;
            }
            memcpy(key, a, klen);
            key[klen] = '\0';
            if (++nlabels > 1) {
                *cause = sm_xstrdup("labels: at most one label filter");
                return SM_EINVAL;
            }
            if (!label_text_ok(key) || !label_value_ok(v) ||
                (size_t)snprintf(q->labels, sizeof q->labels, "%s=%s", key, v) >=
                    sizeof q->labels) {
                *cause = sm_xasprintf("%s: not a label value", key);
                return SM_EINVAL;
            }
            continue;
        } else {
            *cause = sm_xasprintf("%.*s: unknown parameter (start, stop, points)",
                                  (int)(klen > 32 ? 32 : klen), a);
            return SM_EINVAL;
        }
        if ((*seen)++) {
            *cause = sm_xasprintf("%.*s: given twice", (int)klen, a);
            return SM_EINVAL;
        }
    }
    double s_start, s_stop;
    enum sm_rc rc = sm_time_parse(start, c->now, "start", &s_start, cause);
    if (rc == SM_OK)
        rc = sm_time_parse(stop, c->now, "stop", &s_stop, cause);
    if (rc != SM_OK)
        return SM_EINVAL;
    if (s_start >= s_stop) {
        *cause = sm_xstrdup("start: must be before stop");
        return SM_EINVAL;
    }
    if (s_stop - s_start > HISTORY_RANGE_MAX_S) {
        *cause = sm_xstrdup("start: the range may span at most 5 years");
        return SM_EINVAL;
    }
    long pts = HISTORY_POINTS_DEFAULT;
    if (points && sm_parse_long(points, 1, HISTORY_POINTS_MAX, &pts) != 0) {
        *cause = sm_xasprintf("points: must be a number from 1 to %d", HISTORY_POINTS_MAX);
        return SM_EINVAL;
    }
    q->start_ms = (int64_t)(s_start * 1000);
    q->stop_ms = (int64_t)(s_stop * 1000);
    q->points = (size_t)pts;
    return SM_OK;
}

/* The caller's agent, or 404: another user's agent does not exist for them. */
static enum sm_rc
own_agent(struct call *c, char **cause)
{
    struct store_agent a;
    enum sm_rc rc = store_agent_get(c->st, c->user_id, c->req->id, &a);
    if (rc == SM_ENOTFOUND)
        *cause = sm_xstrdup("Agent not found");
    else if (rc == SM_OK)
        store_agent_done(&a);
    return rc;
}

/* Every handler starts here: the agent must be the caller's, the query well formed. */
static enum sm_rc
begin(struct call *c, int with_name, struct hq *q, char **cause)
{
    enum sm_rc rc = own_agent(c, cause);
    return rc == SM_OK ? parse_query(c, with_name, q, cause) : rc;
}

static const char *const tier_names[] = {"raw", "minute", "hour"};

/* v as a JSON number: an integer or a decimal of up to six places written directly when
 * it is exactly m / 10^k for the first such k (then strtod gives v back: both are the
 * double nearest that fraction), else cJSON's own printing (a printf and an sscanf
 * round trip a number, which was most of a 480-bucket reply's time). */
static cJSON *
json_number(double v)
{
    static const double p10[7] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    for (int k = 0; k < 7; k++) {
        double x = v * p10[k];
        if (!(fabs(x) < 9007199254740992.0)) /* 2^53; also NaN and infinities */
            break;
        int64_t m = (int64_t)nearbyint(x);
        double back = (double)m / p10[k];
        if (memcmp(&back, &v, sizeof v) != 0)
            continue;
        /* Digits from the right: k of them after the point, at least one before it. */
        char buf[32];
        size_t o = sizeof buf;
        uint64_t a = m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
        buf[--o] = '\0';
        for (int i = 0; i < k || a > 0 || i == k; i++) {
            if (i == k && k > 0)
                buf[--o] = '.';
            buf[--o] = (char)('0' + a % 10);
            a /= 10;
            if (i >= k && a == 0)
                break;
        }
        if (m < 0)
            buf[--o] = '-';
        return cJSON_CreateRaw(buf + o);
    }
    return cJSON_CreateNumber(v);
}

/* One series as [{"time","value","min","max","count"}...]; no data is []. */
static enum sm_rc
series_data(struct call *c, const struct hq *q, const char *name, const char *labels, cJSON **out,
            const char **tier)
{
    struct history_result r;
    enum sm_rc rc = store_history_query(c->st, c->req->id, name, labels, q->start_ms, q->stop_ms,
                                        q->points, &r);
    *out = cJSON_CreateArray();
    if (rc == SM_ENOTFOUND)
        return SM_OK;
    if (rc != SM_OK)
        return rc;
    for (size_t i = 0; i < r.n; i++) {
        const struct history_bucket *b = &r.b[i];
        char t[40];
        sm_time_format((double)b->t / 1000.0, t, sizeof t);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "time", t);
        cJSON_AddItemToObject(o, "value", json_number(b->avg));
        cJSON_AddItemToObject(o, "min", json_number(b->min));
        cJSON_AddItemToObject(o, "max", json_number(b->max));
        cJSON_AddItemToObject(o, "count", json_number((double)b->n));
        cJSON_AddItemToArray(*out, o);
    }
    if (tier)
        *tier = tier_names[r.tier];
    history_result_done(&r);
    return SM_OK;
}

static cJSON *
envelope(const struct call *c, const struct hq *q, const char *metric)
{
    char t[40];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "metric", metric);
    cJSON_AddNumberToObject(o, "agent_id", (double)c->req->id);
    sm_time_format((double)q->start_ms / 1000.0, t, sizeof t);
    cJSON_AddStringToObject(o, "start", t);
    sm_time_format((double)q->stop_ms / 1000.0, t, sizeof t);
    cJSON_AddStringToObject(o, "stop", t);
    return o;
}

/* A handler's end: reply o when rc is SM_OK, else drop o and fail with rc. Takes o. */
static enum sm_rc
finish(struct call *c, cJSON *o, enum sm_rc rc, char **cause)
{
    if (rc != SM_OK) {
        cJSON_Delete(o);
        *cause = sm_xstrdup("history: query failed");
        return rc;
    }
    http_reply_json(c->resp, 200, o);
    return SM_OK;
}

/* The original endpoints: metric name -> series. */
static const struct {
    const char *metric, *series, *labels;
} metric_series[] = {
    {"cpu", "cpu.usage", ""},
    {"memory", "mem.used_percent", ""},
    {"disk", "fs.used_percent", "mount=/"},
};

static enum sm_rc
one_metric(struct call *c, const char *metric, char **cause)
{
    struct hq q;
    enum sm_rc rc = begin(c, 0, &q, cause);
    if (rc != SM_OK)
        return rc;
    cJSON *o = envelope(c, &q, metric), *data = NULL;
    const char *tier = "raw";
    for (size_t i = 0; i < sizeof metric_series / sizeof metric_series[0]; i++)
        if (strcmp(metric_series[i].metric, metric) == 0)
            rc = series_data(c, &q, metric_series[i].series, metric_series[i].labels, &data, &tier);
    if (rc == SM_OK) {
        cJSON_AddStringToObject(o, "tier", tier);
        cJSON_AddItemToObject(o, "data", data);
    } else {
        cJSON_Delete(data);
    }
    return finish(c, o, rc, cause);
}

static enum sm_rc
h_cpu(struct call *c, char **cause)
{
    return one_metric(c, "cpu", cause);
}

static enum sm_rc
h_memory(struct call *c, char **cause)
{
    return one_metric(c, "memory", cause);
}

static enum sm_rc
h_disk(struct call *c, char **cause)
{
    return one_metric(c, "disk", cause);
}

static enum sm_rc
h_network(struct call *c, char **cause)
{
    struct hq q;
    enum sm_rc rc = begin(c, 0, &q, cause);
    if (rc != SM_OK)
        return rc;
    cJSON *o = envelope(c, &q, "network"), *sent = NULL, *recv = NULL;
    rc = series_data(c, &q, "net.bytes_sent", "", &sent, NULL);
    if (rc == SM_OK)
        rc = series_data(c, &q, "net.bytes_recv", "", &recv, NULL);
    cJSON *data = cJSON_AddObjectToObject(o, "data");
    cJSON_AddItemToObject(data, "bytes_sent", sent);
    cJSON_AddItemToObject(data, "bytes_recv", recv ? recv : cJSON_CreateArray());
    return finish(c, o, rc, cause);
}

static enum sm_rc
h_summary(struct call *c, char **cause)
{
    struct hq q;
    enum sm_rc rc = begin(c, 0, &q, cause);
    if (rc != SM_OK)
        return rc;
    cJSON *o = envelope(c, &q, "summary");
    for (size_t i = 0; i < sizeof metric_series / sizeof metric_series[0] && rc == SM_OK; i++) {
        struct history_result r;
        rc = store_history_query(c->st, c->req->id, metric_series[i].series,
                                 metric_series[i].labels, q.start_ms, q.stop_ms, 1, &r);
        cJSON *m = cJSON_AddObjectToObject(o, metric_series[i].metric);
        if (rc == SM_ENOTFOUND || (rc == SM_OK && r.n == 0)) {
            cJSON_AddNullToObject(m, "avg");
            cJSON_AddNullToObject(m, "max");
            cJSON_AddNullToObject(m, "min");
            cJSON_AddNumberToObject(m, "data_points", 0);
            if (rc == SM_OK)
                history_result_done(&r);
            rc = SM_OK;
            continue;
        }
        if (rc != SM_OK)
            break;
        cJSON_AddNumberToObject(m, "avg", r.b[0].avg);
        cJSON_AddNumberToObject(m, "max", r.b[0].max);
        cJSON_AddNumberToObject(m, "min", r.b[0].min);
        cJSON_AddNumberToObject(m, "data_points", (double)r.b[0].n);
        history_result_done(&r);
    }
    return finish(c, o, rc, cause);
}

/* Add "labels": {"key": "value"} to o from the stored "key=value" form. */
static void
add_labels(cJSON *o, const char *labels)
{
    cJSON *l = cJSON_AddObjectToObject(o, "labels");
    const char *eq = strchr(labels, '=');
    if (eq) {
        char key[64];
        size_t n = (size_t)(eq - labels) < sizeof key - 1 ? (size_t)(eq - labels) : sizeof key - 1;
        memcpy(key, labels, n);
        key[n] = '\0';
        cJSON_AddStringToObject(l, key, eq + 1);
    }
}

static void
add_series(const char *name, const char *labels, void *arg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    add_labels(o, labels);
    cJSON_AddItemToArray(arg, o);
}

static enum sm_rc
h_series(struct call *c, char **cause)
{
    struct hq q;
    enum sm_rc rc = begin(c, 1, &q, cause);
    if (rc != SM_OK)
        return rc;
    if (q.name == NULL) {
        if (q.labels[0]) {
            *cause = sm_xstrdup("name: required with a label filter");
            return SM_EINVAL;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "agent_id", (double)c->req->id);
        cJSON *list = cJSON_AddArrayToObject(o, "series");
        return finish(c, o, store_series_list(c->st, c->req->id, add_series, list), cause);
    }
    cJSON *o = envelope(c, &q, q.name), *data = NULL;
    const char *tier = "raw";
    if ((rc = series_data(c, &q, q.name, q.labels, &data, &tier)) == SM_OK) {
        add_labels(o, q.labels);
        cJSON_AddStringToObject(o, "tier", tier);
        cJSON_AddItemToObject(o, "data", data);
    } else {
        cJSON_Delete(data); /* series_data makes the array before it can fail */
    }
    return finish(c, o, rc, cause);
}

const struct route routes_history[] = {
    {HTTP_GET, "/history/{id}/cpu", h_cpu, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/history/{id}/memory", h_memory, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/history/{id}/disk", h_disk, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/history/{id}/network", h_network, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/history/{id}/summary", h_summary, ROUTE_USER, POOL_WORK},
    {HTTP_GET, "/history/{id}/series", h_series, ROUTE_USER, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
