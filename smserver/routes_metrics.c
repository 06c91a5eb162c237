/* routes_metrics.c: GET /metrics in the Prometheus text exposition format (0.0.4): the
 * server's own health and, with metrics_agent_series = true, the newest value of every
 * agent's series.
 *
 * Who may scrape: with metrics_token_file set, a client that sends
 * "Authorization: Bearer TOKEN" (compared as hashes, in constant time), from anywhere;
 * without it, clients on the loopback interface only. The agent series carry every
 * user's data, so they are off unless the configuration turns them on. */
#include "config.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "http.h"
#include "handler.h"
#include "store.h"
#include "xmalloc.h"

#define METRICS_MAX (64 * 1024 * 1024) /* a reply larger than this is cut (and says so) */
#define PFX "statusmonitor_"

struct out {
    struct sm_buf b; /* capped at METRICS_MAX with its NUL */
    int cut;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
out_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (sm_buf_vaddf(&o->b, fmt, ap) != SM_OK)
        o->cut = 1; /* the line is left out; shorter ones after it may still fit */
    va_end(ap);
}

/* A family header: # HELP and # TYPE. */
static void
family(struct out *o, const char *name, const char *type, const char *help)
{
    out_printf(o, "# HELP " PFX "%s %s\n# TYPE " PFX "%s %s\n", name, help, name, type);
}

/* A family with one unlabelled sample of a whole number. */
static void
single(struct out *o, const char *name, const char *type, const char *help, uint64_t v)
{
    family(o, name, type, help);
    out_printf(o, PFX "%s %" PRIu64 "\n", name, v);
}

/* Append v to o as a label value: \, " and newline escaped. */
static void
label_value(struct out *o, const char *v)
{
    char buf[512];
    size_t n = 0;
    for (; *v && n + 3 < sizeof buf; v++) {
        if (*v == '\\' || *v == '"') {
            buf[n++] = '\\';
            buf[n++] = *v;
        } else if (*v == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *v;
        }
    }
    buf[n] = '\0';
    out_printf(o, "\"%s\"", buf);
}

/* A metric or label name from a series name: [a-zA-Z0-9_], never starting with a digit. */
static void
metric_name(char *out, size_t outsz, const char *name)
{
    size_t n = 0;
    if (*name >= '0' && *name <= '9' && n + 1 < outsz)
        out[n++] = '_';
    for (; *name && n + 1 < outsz; name++) {
        char ch = *name;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        out[n++] = ok ? ch : '_';
    }
    out[n] = '\0';
}

/* A value: Prometheus spells the non-finite ones +Inf, -Inf and NaN. */
static void
value(struct out *o, double v)
{
    if (v != v)
        out_printf(o, " NaN\n");
    else if (v > 1.7976931348623157e308)
        out_printf(o, " +Inf\n");
    else if (v < -1.7976931348623157e308)
        out_printf(o, " -Inf\n");
    else
        out_printf(o, " %.17g\n", v);
}

/* The metric name of an agent series: dots become underscores, and the suffixes that
 * Prometheus' naming rules refuse for a gauge are spelled out: "_per_s" becomes
 * "_per_second", a final "_total" (a counter's suffix) becomes "_size". */
static void
series_metric_name(char *out, size_t outsz, const char *name)
{
    metric_name(out, outsz, name);
    size_t n = strlen(out);
    if (n >= 6 && strcmp(out + n - 6, "_per_s") == 0 && n + 5 < outsz)
        memcpy(out + n, "econd", 6);
    else if (n >= 6 && strcmp(out + n - 6, "_total") == 0)
        memcpy(out + n - 6, "_size", 6);
}

struct series_ctx {
    struct out *o;
    char last[160];
};

static void
one_point(int64_t agent_id, const char *agent, const char *user, const char *name,
          const char *labels, double v, void *arg)
{
    struct series_ctx *x = arg;
    struct out *o = x->o;
    char mname[160];
    series_metric_name(mname, sizeof mname, name);
    if (strcmp(mname, x->last) != 0) {
        out_printf(o, "# HELP " PFX "agent_%s The newest value of the agent series %s.\n", mname,
                   name);
        out_printf(o, "# TYPE " PFX "agent_%s gauge\n", mname);
        sm_strlcpy(x->last, mname, sizeof x->last);
    }
    out_printf(o, PFX "agent_%s{agent_id=\"%" PRId64 "\",agent=", mname, agent_id);
    label_value(o, agent ? agent : "");
    out_printf(o, ",user=");
    label_value(o, user ? user : "");
    const char *eq = labels ? strchr(labels, '=') : NULL;
    if (eq) {
        char key[64], lname[80];
        size_t kl = (size_t)(eq - labels);
        if (kl >= sizeof key)
            kl = sizeof key - 1;
        memcpy(key, labels, kl);
        key[kl] = '\0';
        metric_name(lname, sizeof lname, key);
        /* A series label never takes the place of ours. */
        if (!lname[0] || strcmp(lname, "agent") == 0 || strcmp(lname, "agent_id") == 0 ||
            strcmp(lname, "user") == 0 || strncmp(lname, "__", 2) == 0)
            out_printf(o, ",series_%s=", lname[0] ? lname : "label");
        else
            out_printf(o, ",%s=", lname);
        label_value(o, eq + 1);
    }
    out_printf(o, "}");
    value(o, v);
}

/* May this request read /metrics? */
static enum sm_rc
metrics_allowed(struct call *c, char **cause)
{
    const struct handler_env *env = c->env;
    if (env->metrics_token_set) {
        const char *h = c->req->authorization;
        uint8_t got[32];
        if (strncasecmp(h, "Bearer ", 7) != 0) {
            *cause = sm_xstrdup("Not authenticated");
            return SM_EAUTH;
        }
        crypto_generichash(got, sizeof got, (const uint8_t *)h + 7, strlen(h + 7), NULL, 0);
        if (sodium_memcmp(got, env->metrics_token_hash, sizeof got) != 0) {
            *cause = sm_xstrdup("Could not validate credentials");
            return SM_EAUTH;
        }
        return SM_OK;
    }
    if (http_peer_is_loopback(c->req->peer))
        return SM_OK;
    *cause = sm_xstrdup("/metrics: only from the loopback interface unless metrics_token_file "
                        "is set");
    return SM_EFORBIDDEN;
}

static enum sm_rc
metrics(struct call *c, char **cause)
{
    enum sm_rc rc = metrics_allowed(c, cause);
    if (rc != SM_OK)
        return rc;
    const struct handler_env *env = c->env;
    struct server_stats s;
    pthread_mutex_lock(&env->stats->mu);
    s = *env->stats;
    pthread_mutex_unlock(&env->stats->mu);
    struct handler_queues q;
    env->queue_depths(env->queue_arg, &q);
    struct out o = {.cut = 0};
    sm_buf_init(&o.b, METRICS_MAX - 1, 0);

    family(&o, "build_info", "gauge", "The version of this smserver.");
    out_printf(&o, PFX "build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    family(&o, "start_time_seconds", "gauge", "When the server started (unix seconds).");
    out_printf(&o, PFX "start_time_seconds %.3f\n", s.started);
    single(&o, "ingest_requests_total", "counter", "Ingest requests that reached the writer.",
           s.ingest_requests);
    single(&o, "ingest_failed_total", "counter", "Ingest requests whose write failed.",
           s.ingest_failed);
    single(&o, "ingest_samples_total", "counter", "Samples stored.", s.samples);
    single(&o, "ingest_duplicates_total", "counter", "Samples received again and not stored.",
           s.duplicates);
    family(&o, "ingest_samples_per_second", "gauge",
           "Samples stored per second over the last 10 seconds.");
    out_printf(&o, PFX "ingest_samples_per_second %.3f\n", s.samples_rate);
    family(&o, "queue_depth", "gauge", "Jobs waiting in each queue.");
    out_printf(&o, PFX "queue_depth{queue=\"writer\"} %zu\n", q.writer);
    out_printf(&o, PFX "queue_depth{queue=\"work\"} %zu\n", q.work);
    out_printf(&o, PFX "queue_depth{queue=\"hash\"} %zu\n", q.hash);
    out_printf(&o, PFX "queue_depth{queue=\"notify\"} %zu\n", s.notify_queued);
    family(&o, "commit_duration_seconds", "histogram",
           "Time to write and commit one group of ingest requests.");
    uint64_t cum = 0;
    for (size_t i = 0; i < STATS_COMMIT_BUCKETS; i++) {
        cum += s.commit_buckets[i];
        out_printf(&o, PFX "commit_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                   stats_commit_bounds[i], cum);
    }
    cum += s.commit_buckets[STATS_COMMIT_BUCKETS];
    out_printf(&o, PFX "commit_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    out_printf(&o, PFX "commit_duration_seconds_sum %.6f\n", s.commit_sum);
    out_printf(&o, PFX "commit_duration_seconds_count %" PRIu64 "\n", s.commits);
    family(&o, "http_connections", "gauge", "Open HTTP connections.");
    out_printf(&o, PFX "http_connections %" PRId64 "\n", s.http_open);
    single(&o, "websocket_connections", "gauge", "Open live-stream connections.", s.ws_clients);
    family(&o, "stream_messages_total", "counter", "Live-stream messages by outcome.");
    out_printf(&o, PFX "stream_messages_total{outcome=\"published\"} %" PRIu64 "\n", s.published);
    out_printf(&o, PFX "stream_messages_total{outcome=\"delivered\"} %" PRIu64 "\n", s.delivered);
    out_printf(&o, PFX "stream_messages_total{outcome=\"dropped\"} %" PRIu64 "\n", s.dropped);
    family(&o, "agents", "gauge", "Agents known, by state.");
    out_printf(&o, PFX "agents{state=\"online\"} %zu\n", s.agents_online);
    out_printf(&o, PFX "agents{state=\"offline\"} %zu\n", s.agents - s.agents_online);
    /* The backend says: a PostgreSQL string is no file to stat. */
    double db_bytes = 0, wal_bytes = -1;
    if (store_size(c->st, &db_bytes, &wal_bytes) == SM_OK) {
        family(&o, "database_size_bytes", "gauge",
               "Size of the database (SQLite: the file and its WAL).");
        out_printf(&o, PFX "database_size_bytes{file=\"db\"} %.0f\n", db_bytes);
        if (wal_bytes >= 0)
            out_printf(&o, PFX "database_size_bytes{file=\"wal\"} %.0f\n", wal_bytes);
    }
    family(&o, "alerts", "gauge", "Alert states now, over every rule and agent.");
    out_printf(&o, PFX "alerts{state=\"pending\"} %zu\n", s.alerts_pending);
    out_printf(&o, PFX "alerts{state=\"firing\"} %zu\n", s.alerts_firing);
    single(&o, "alert_evaluations_total", "counter", "Rule checks against committed values.",
           s.alert_evaluations);
    single(&o, "alert_transitions_total", "counter", "Alert state changes.", s.alert_transitions);
    family(&o, "notifications_total", "counter", "Notification attempts by outcome.");
    out_printf(&o, PFX "notifications_total{outcome=\"sent\"} %" PRIu64 "\n", s.notify_sent);
    out_printf(&o, PFX "notifications_total{outcome=\"retried\"} %" PRIu64 "\n", s.notify_retried);
    out_printf(&o, PFX "notifications_total{outcome=\"failed\"} %" PRIu64 "\n", s.notify_failed);

    if (env->metrics_agent_series) {
        struct series_ctx x = {.o = &o};
        if ((rc = store_latest_points(c->st, one_point, &x)) != SM_OK) {
            sm_buf_done(&o.b);
            *cause = sm_xstrdup("database unavailable");
            return rc;
        }
    }
    if (o.cut)
        out_printf(&o, "# cut: larger than %d bytes\n", METRICS_MAX);
    resp_done(c->resp);
    c->resp->status = 200;
    c->resp->len = o.b.len;
    c->resp->body = sm_buf_take(&o.b);
    c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return SM_OK;
}

const struct route routes_metrics[] = {
    {HTTP_GET, "/metrics", metrics, ROUTE_PUBLIC, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
