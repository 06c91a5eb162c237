/* server.c: the event loop (libwebsockets), the worker pools and the writer.
 *
 * The event loop only parses requests, queues jobs and writes replies. A job goes to
 * a pool (route->pool); its thread authenticates the caller and runs the handler with
 * its own database connection. Ingest handlers hand a batch on to the writer, which
 * commits many batches in one transaction and only then completes their jobs. Completed
 * jobs come back through the done queue and lws_cancel_service(); the loop then finds
 * the connection again. A connection that closed meanwhile marks its job orphaned
 * (pss and job point at each other, and only the loop thread reads or writes those
 * links), so a late result is dropped instead of touching a dead wsi. */
#include "config.h"

#include "server.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "xmalloc.h"

#define WORK_THREADS 2
#define HASH_THREADS 2 /* Argon2id: 64 MiB each while hashing */
#define WORK_QUEUE_CAP 512
#define HASH_QUEUE_CAP 64
#define WRITER_QUEUE_CAP 1024
#define WRITER_GROUP_MAX 256 /* jobs per transaction */
#define SHUTDOWN_GRACE_S 4.0
#define TICK_US (1000 * 1000) /* live stream: offline agents, expired tokens */
#define MAINT_INTERVAL_S 10   /* history rollups */
#define RETAIN_EVERY 6        /* retention every this many rollup rounds */
#define RETAIN_BATCH 64       /* series per retention transaction */
#define ALERTS_GRACE_S 30.0   /* after a start, agents silent this long are offline */
/* Largest single send() of a reply. libwebsockets' default is 4 KiB, the rest held in
 * its buffer and sent a piece per writable event: most history replies went out so. */
#define HTTP_SEND_MAX (8 * 1024 * 1024)

volatile sig_atomic_t server_stop;

struct pss;

struct job {
    struct job *next;
    const struct route *route;
    struct req *req;
    struct resp resp;
    struct store_batch *batch;
    void (*batch_free)(struct store_batch *b);
    /* For the live stream, applied when the job comes back to the event loop. */
    struct call_event ev;
    int fresh; /* a committed ingest stored new samples: stream the newest */
    /* Event loop thread only. */
    struct lws *wsi;
    struct pss *pss;
    int orphan;
    int internal; /* from the maintenance thread: no connection, not in inflight */
};

/* Per connection (one request at a time on HTTP/1.1). */
struct pss {
    struct req *req;  /* being received */
    struct job *job;  /* in a pool */
    struct resp resp; /* ready to write */
    int have_resp;
    int discard;   /* body past the cap: reply 413 and close */
    int counted;   /* in srv->http_open */
    int rx_held;   /* reading paused while a job makes the reply (hold_rx) */
    int body_done; /* LWS_CALLBACK_HTTP_BODY_COMPLETION seen for this request */
    int body_sent; /* the request announced a body (Content-Length > 0) */
    /* For the access log line (debug level): never the query, headers or body. */
    char method[8];
    char path[96];
    double started;
};

static void
job_free(struct job *j)
{
    if (!j)
        return;
    req_free(j->req);
    resp_done(&j->resp);
    if (j->batch && j->batch_free)
        j->batch_free(j->batch);
    free(j->ev.data);
    free(j);
}

/* ------------------------------------------------------------------ queues */

/* Hand a finished job back to the event loop. Any thread. */
static void
done_push(struct server *srv, struct job *j)
{
    pthread_mutex_lock(&srv->done_mu);
    j->next = NULL;
    if (srv->done_tail)
        srv->done_tail->next = j;
    else
        srv->done_head = j;
    srv->done_tail = j;
    pthread_mutex_unlock(&srv->done_mu);
    lws_cancel_service(srv->ctx);
}

/* Queue j on p; SM_EBUSY when the queue is full. Any thread. */
static enum sm_rc
pool_push(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->mu);
    if (p->len >= p->cap || p->stop) {
        pthread_mutex_unlock(&p->mu);
        return SM_EBUSY;
    }
    j->next = NULL;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->len++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return SM_OK;
}

size_t
pool_depth(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->len;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Take up to max jobs (waiting for one); NULL when stopped and empty. */
static struct job *
pool_take(struct pool *p, size_t max)
{
    pthread_mutex_lock(&p->mu);
    while (!p->head && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    struct job *first = p->head, *last = NULL;
    size_t n = 0;
    for (struct job *j = p->head; j && n < max; j = j->next, n++)
        last = j;
    if (last) {
        p->head = last->next;
        if (!p->head)
            p->tail = NULL;
        last->next = NULL;
        p->len -= n;
    }
    pthread_mutex_unlock(&p->mu);
    return first;
}

static struct store *
thread_store(struct server *srv, const char *who)
{
    struct store *st = NULL;
    char *cause = NULL;
    if (store_open(srv->cfg->db_path, &st, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "%s: %s", who, cause);
        free(cause);
    }
    return st;
}

/* Authenticate the caller of c per route->auth. */
static enum sm_rc
call_auth(struct call *c, const struct route *r, char **cause)
{
    if (r->auth == ROUTE_USER) {
        const char *h = c->req->authorization;
        if (strncasecmp(h, "Bearer ", 7) != 0) {
            *cause = sm_xstrdup("Not authenticated");
            return SM_EAUTH;
        }
        if (auth_jwt_verify(&c->srv->auth, h + 7, (int64_t)c->now, &c->user_id) != SM_OK) {
            *cause = sm_xstrdup("Could not validate credentials");
            return SM_EAUTH;
        }
        struct store_user u;
        enum sm_rc rc = store_user_by_id(c->st, c->user_id, &u);
        sodium_memzero(u.pwhash, sizeof u.pwhash);
        if (rc == SM_ENOTFOUND) {
            *cause = sm_xstrdup("Could not validate credentials");
            return SM_EAUTH;
        }
        return rc;
    }
    if (r->auth == ROUTE_AGENT) {
        if (!c->req->agent_token[0]) {
            *cause = sm_xstrdup("X-Agent-Token: header required");
            return SM_EAUTH;
        }
        uint8_t hash[STORE_HASH_LEN];
        auth_token_hash(c->req->agent_token, hash);
        enum sm_rc rc = store_agent_by_token(c->st, hash, &c->agent);
        if (rc == SM_EAUTH)
            *cause = sm_xstrdup("Invalid agent token");
        return rc;
    }
    return SM_OK;
}

/* Run one job on a pool thread: auth, handler, then reply or hand to the writer. */
static void
run_job(struct server *srv, struct store *st, struct job *j)
{
    struct call c = {.srv = srv, .st = st, .req = j->req, .resp = &j->resp, .now = sm_wall_now()};
    char *cause = NULL;
    enum sm_rc rc;
    if (!st) {
        rc = SM_EUNAVAIL;
        cause = sm_xstrdup("database unavailable");
    } else if ((rc = call_auth(&c, j->route, &cause)) == SM_OK) {
        rc = j->route->handler(&c, &cause);
    }
    store_agent_done(&c.agent);
    j->ev = c.ev;
    if (rc != SM_OK) {
        if (rc == SM_EIO || rc == SM_EINTERNAL)
            sm_log(SM_LOG_ERROR, "%s: %s", j->req->path, cause ? cause : sm_rc_str(rc));
        http_reply_error(&j->resp, rc, cause);
        free(cause);
        if (c.batch && c.batch_free)
            c.batch_free(c.batch);
        done_push(srv, j);
        return;
    }
    if (c.batch) {
        j->batch = c.batch;
        j->batch_free = c.batch_free;
        if (pool_push(&srv->writer, j) == SM_OK)
            return;
        http_reply_error(&j->resp, SM_EBUSY, "server busy, try again later");
        j->resp.retry_after = 1;
    }
    done_push(srv, j);
}

static void *
worker_main(void *arg)
{
    struct pool *p = arg;
    struct store *st = thread_store(p->srv, p->name);
    struct job *j;
    while ((j = pool_take(p, 1)))
        run_job(p->srv, st, j);
    store_free(st);
    return NULL;
}

/* Write a group of ingest jobs in one transaction, then complete them all. */
const double stats_commit_bounds[STATS_COMMIT_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,  0.1,    0.25,  0.5,  1.0};

/* Count one group commit for /metrics. Writer thread. */
static void
stats_commit(struct server *srv, double seconds, size_t njobs, size_t failed, size_t stored,
             size_t dups, enum sm_rc store_rc)
{
    struct server_stats *s = &srv->stats;
    size_t b = 0;
    while (b < STATS_COMMIT_BUCKETS && seconds > stats_commit_bounds[b])
        b++;
    pthread_mutex_lock(&s->mu);
    s->ingest_store_rc = store_rc;
    s->ingest_requests += njobs;
    s->ingest_failed += failed;
    s->samples += stored;
    s->duplicates += dups;
    s->commits++;
    s->commit_buckets[b]++;
    s->commit_sum += seconds;
    pthread_mutex_unlock(&s->mu);
}

static void
writer_group(struct server *srv, struct store *st, struct job *group)
{
    double t0 = sm_mono_now();
    size_t ndups = 0, nfailed = 0;
    enum sm_rc rc = st ? store_begin(st) : SM_EUNAVAIL;
    enum sm_rc store_rc = rc; /* the storage's own failure, for /health */
    size_t nsamples = 0, njobs = 0;
    for (struct job *j = group; j; j = j->next) {
        size_t stored = 0, dups = 0;
        char *cause = NULL;
        enum sm_rc brc = rc;
        if (rc == SM_OK)
            brc = store_batch_write(st, j->batch, &stored, &dups, &cause);
        if (brc == SM_OK) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "status", "ok");
            cJSON_AddNumberToObject(o, "stored", (double)stored);
            cJSON_AddNumberToObject(o, "duplicates", (double)dups);
            http_reply_json(&j->resp, 200, o);
            nsamples += stored;
            ndups += dups;
            j->fresh = stored > 0;
        } else {
            if (brc != SM_EAUTH)
                sm_log(SM_LOG_ERROR, "ingest: %s", cause ? cause : sm_rc_str(brc));
            if ((brc == SM_EUNAVAIL || brc == SM_EBUSY || brc == SM_EIO) && store_rc == SM_OK)
                store_rc = brc;
            http_reply_error(&j->resp, brc == SM_EAUTH ? SM_EAUTH : SM_EUNAVAIL,
                             brc == SM_EAUTH ? "Invalid agent token" : "storage unavailable");
            if (brc != SM_EAUTH)
                j->resp.retry_after = 1; /* locked or failing storage: the agent retries */
            nfailed++;
        }
        free(cause);
        njobs++;
    }
    if (rc == SM_OK && (rc = store_commit(st)) != SM_OK) {
        sm_log(SM_LOG_ERROR, "ingest: commit failed: %s", sm_rc_str(rc));
        store_rc = rc;
        for (struct job *j = group; j; j = j->next) {
            http_reply_error(&j->resp, SM_EUNAVAIL, "storage unavailable");
            j->resp.retry_after = 1;
            j->fresh = 0; /* nothing was stored: nothing to stream */
        }
        nfailed = njobs;
        nsamples = ndups = 0;
    }
    stats_commit(srv, sm_mono_now() - t0, njobs, nfailed, nsamples, ndups, store_rc);
    sm_log(SM_LOG_DEBUG, "committed %zu samples from %zu requests", nsamples, njobs);
    /* The batches go back with their jobs: the event loop publishes committed samples
     * (apply_events) and frees them. */
    while (group) {
        struct job *next = group->next;
        done_push(srv, group);
        group = next;
    }
}

static void *
writer_main(void *arg)
{
    struct pool *p = arg;
    struct store *st = thread_store(p->srv, "writer");
    struct job *group;
    while ((group = pool_take(p, WRITER_GROUP_MAX)))
        writer_group(p->srv, st, group);
    store_free(st);
    return NULL;
}

static int
pool_start(struct pool *p, struct server *srv, const char *name, int n, size_t cap,
           void *(*fn)(void *))
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->srv = srv;
    p->name = name;
    p->cap = cap;
    p->threads = sm_xcalloc((size_t)n, sizeof *p->threads);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, fn, p) != 0)
            return -1;
        p->nthreads++;
    }
    return 0;
}

/* Let the threads finish what is queued, then join them. */
static void
pool_stop(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* ------------------------------------------------------------------ event loop */

static const struct {
    enum lws_token_indexes tok;
    enum http_method method;
} method_tokens[] = {
    {WSI_TOKEN_GET_URI, HTTP_GET},         {WSI_TOKEN_POST_URI, HTTP_POST},
    {WSI_TOKEN_PUT_URI, HTTP_PUT},         {WSI_TOKEN_PATCH_URI, HTTP_PATCH},
    {WSI_TOKEN_DELETE_URI, HTTP_DELETE},   {WSI_TOKEN_HEAD_URI, HTTP_HEAD},
    {WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS},
};

static const struct {
    const char *ext;
    const char *mime;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

/* Pipelining. HTTP/1.1 lets a client send its next request before the reply to this
 * one; bytes read past the end of a request wait in libwebsockets' buffer, and 4.1
 * mishandles them: it hands them back on every turn of the loop until the transaction
 * completes (the loop spun at full CPU, deaf to signals, while a job made the reply),
 * parsing them replaces the connection's pss (a reply was lost), and a request with a
 * body parsed from there gets freed memory as its body. So smserver does not pipeline:
 *  - from the moment a request is complete until its reply is written, reading is
 *    paused (hold_rx), whether a job makes the reply or the callback did (flush_reply);
 *  - every reply is written from the done queue (drain_done): if bytes then wait in
 *    the buffer, the reply says "Connection: close" and the connection is ended at
 *    once (close_after_reply), so they are never parsed; otherwise the transaction
 *    completes and the connection is kept alive. 4.1 gives a paused HTTP/1 connection
 *    no writable callback, so the reply is written there and then.
 * Event loop thread. */
static void
hold_rx(struct lws *wsi, struct pss *pss)
{
    if (!pss->rx_held) {
        pss->rx_held = 1;
        lws_rx_flow_control(wsi, 0);
    }
}

static void
release_rx(struct lws *wsi, struct pss *pss)
{
    if (pss->rx_held) {
        pss->rx_held = 0;
        lws_rx_flow_control(wsi, 1);
    }
}

static void
reply_now(struct lws *wsi, struct pss *pss, enum sm_rc rc, const char *detail)
{
    resp_done(&pss->resp);
    http_reply_error(&pss->resp, rc, detail);
    pss->have_resp = 1;
}

/* Queue the request held by pss. */
static void
dispatch(struct server *srv, struct lws *wsi, struct pss *pss, const struct route *r)
{
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->route = r;
    j->req = pss->req;
    pss->req = NULL;
    j->wsi = wsi;
    j->pss = pss;
    if (pool_push(r->pool == POOL_HASH ? &srv->hash : &srv->work, j) != SM_OK) {
        job_free(j);
        reply_now(wsi, pss, SM_EBUSY, "server busy, try again later");
        pss->resp.retry_after = 1;
        return;
    }
    pss->job = j;
    srv->inflight++;
    hold_rx(wsi, pss);
}

/* ------------------------------------------------------------------ alerts */

/* alerts.h callbacks: the hub knows the agents; state changes go to the notifier. */
static int
alerts_agent_cb(int64_t agent_id, int64_t *user_id, const char **name, int *online,
                double *last_seen, void *arg)
{
    struct server *srv = arg;
    return hub_agent_info(srv->hub, agent_id, user_id, online, last_seen, name) == SM_OK ? 0 : -1;
}

static void
alerts_emit_cb(const struct alert_note *n, void *arg)
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

static void
hub_status_cb(int64_t agent_id, int64_t user_id, int online, double last_seen, void *arg)
{
    struct server *srv = arg;
    if (srv->alerts)
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

static void
offline_at_start(int64_t agent_id, int64_t user_id, int online, double last_seen, void *arg)
{
    struct server *srv = arg;
    if (!online && last_seen > 0)
        alerts_status(srv->alerts, agent_id, user_id, 0, last_seen, sm_wall_now());
}

/* Add or replace a rule on the event loop. */
static void
rule_put(struct server *srv, const struct store_rule *r)
{
    alerts_rule_put(srv->alerts, r, sm_wall_now());
    if (strcmp(r->metric, ALERTS_OFFLINE) == 0) {
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

static void
load_rule(const struct store_rule *r, void *arg)
{
    alerts_rule_put(arg, r, sm_wall_now());
}

static void
restore_state(const struct store_alert_event *e, void *arg)
{
    alerts_restore(arg, e);
}

/* Tell the live stream what a finished job changed. Event loop thread. */
static void
apply_events(struct server *srv, const struct job *j)
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
    if (j->batch && j->fresh && j->resp.status == 200 && srv->alerts)
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
    case CALL_EV_LOGOUT:
        hub_revoke_user(srv->hub, j->ev.user_id);
        break;
    case CALL_EV_AGENT_SEEN: /* above, before the sample is published */
    case CALL_EV_NONE:
        break;
    }
}

static int write_reply(struct lws *wsi, struct pss *pss);

/* After a transaction is completed and the connection kept alive: until libwebsockets
 * has parsed the next request's headers (it then decides keep-alive anew), the
 * connection counts as "close", so that a reply libwebsockets makes by itself before
 * that (a refused Upgrade) ends the connection instead of going on to parse what
 * follows from its buffer (pipelining, above; fuzz_http). 4.1 offers no setter: writing
 * a header block without a length, into a scratch buffer, has this side effect. */
static void
close_until_next_request(struct lws *wsi)
{
    uint8_t buf[LWS_PRE + 2048], *p = buf + LWS_PRE;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, NULL, LWS_ILLEGAL_HTTP_CONTENT_LEN, &p,
                                    buf + sizeof buf))
        sm_log(SM_LOG_WARN, "http: could not mark a kept-alive connection");
}

/* Whether a connection has bytes libwebsockets read but has not parsed, waiting for it
 * to serve them without a network event ("forced service"). */
static int
leftovers_waiting(struct server *srv)
{
    return lws_service_adjust_timeout(srv->ctx, 1, 0) == 0;
}

/* End a connection whose reply has been written, here and now: nothing behind the
 * request gets parsed. A reply the socket did not take whole waits in libwebsockets'
 * buffer; the connection then stays, reading ignored, until that is sent (or for 5 s)
 * and closes after it. Reading must not be paused for that wait: 4.1 serves a paused
 * HTTP/1 connection no POLLOUT, so the rest of the reply was never sent, and a client
 * that reset such a connection kept it open for the 5 s (fuzz_http). Do not use wsi
 * afterwards. */
static void
close_after_reply(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
}

/* Take completed jobs and write their replies. Event loop thread. */
static void
drain_done(struct server *srv)
{
    pthread_mutex_lock(&srv->done_mu);
    struct job *j = srv->done_head;
    srv->done_head = srv->done_tail = NULL;
    pthread_mutex_unlock(&srv->done_mu);
    int any = j != NULL;
    while (j) {
        struct job *next = j->next;
        if (!j->internal)
            srv->inflight--;
        apply_events(srv, j);
        if (!j->orphan && !j->internal) {
            struct pss *pss = j->pss;
            pss->job = NULL;
            resp_done(&pss->resp);
            pss->resp = j->resp;
            memset(&j->resp, 0, sizeof j->resp);
            pss->have_resp = 1;
            /* Written now, before the next request is parsed (hold_rx). Reading
             * resumes first (it must, for the transaction to complete, and for the
             * rest of a large reply to be sent). Bytes sent behind this request
             * may wait in libwebsockets' buffer (pipelining): 4.1 cannot parse a
             * request with a body from there safely (its callback is handed freed
             * memory), so then the connection closes after this reply. Asked before
             * and after reading resumes, to tell this connection's bytes from
             * another's; another's closes this one too, which costs a reconnect. */
            int others = leftovers_waiting(srv);
            release_rx(j->wsi, pss);
            if (others || leftovers_waiting(srv))
                pss->resp.close = 1;
            if (write_reply(j->wsi, pss) < 0)
                close_after_reply(j->wsi);
        }
        job_free(j);
        j = next;
    }
    if (any && srv->hub)
        stream_kick(srv->hub);
}

static void
pss_cleanup(struct pss *pss)
{
    if (pss->job) {
        pss->job->orphan = 1;
        pss->job = NULL;
    }
    req_free(pss->req);
    pss->req = NULL;
    resp_done(&pss->resp);
    pss->have_resp = 0;
    pss->body_done = 0;
    pss->body_sent = 0;
    pss->method[0] = pss->path[0] = '\0';
    pss->started = sm_mono_now();
}

/* Serve a file under --www (GET and HEAD only). */
static int
serve_static(struct server *srv, struct lws *wsi, struct pss *pss, enum http_method m,
             const char *path)
{
    if (m != HTTP_GET && m != HTTP_HEAD) {
        reply_now(wsi, pss, SM_EINVAL, "Method Not Allowed");
        pss->resp.status = 405;
        pss->resp.close = 1; /* a body may follow; do not read it */
        return 0;
    }
    /* No dot segments, no hidden files, no backslashes: refuse before touching disk. */
    if (strstr(path, "/.") || strchr(path, '\\') || path[0] != '/') {
        reply_now(wsi, pss, SM_ENOTFOUND, "Not Found");
        return 0;
    }
    char want[PATH_MAX + HTTP_PATH_MAX + 16], real[PATH_MAX];
    int wn = snprintf(want, sizeof want, "%s%s%s", srv->www_real, path,
                      path[strlen(path) - 1] == '/' ? "index.html" : "");
    if (wn < 0 || (size_t)wn >= PATH_MAX) {
        reply_now(wsi, pss, SM_ENOTFOUND, "Not Found");
        return 0;
    }
    size_t wl = strlen(srv->www_real);
    struct stat sb;
    if (!realpath(want, real) || strncmp(real, srv->www_real, wl) != 0 || real[wl] != '/' ||
        stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        reply_now(wsi, pss, SM_ENOTFOUND, "Not Found");
        return 0;
    }
    const char *mime = "application/octet-stream";
    const char *dot = strrchr(real, '.');
    for (size_t i = 0; dot && i < sizeof mime_types / sizeof mime_types[0]; i++)
        if (strcmp(dot, mime_types[i].ext) == 0)
            mime = mime_types[i].mime;
    int n = lws_serve_http_file(wsi, real, mime, NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* Copy header tok into out (empty when absent or too long). */
static void
copy_hdr(struct lws *wsi, enum lws_token_indexes tok, char *out, size_t outsz)
{
    out[0] = '\0';
    int len = lws_hdr_total_length(wsi, tok);
    if (len <= 0 || (size_t)len >= outsz || lws_hdr_copy(wsi, out, (int)outsz, tok) < 0)
        out[0] = '\0';
}

/* Count an HTTP connection opening (+1) or closing (-1). Event loop thread. */
static void
stats_http_open(struct server *srv, int d)
{
    pthread_mutex_lock(&srv->stats.mu);
    srv->stats.http_open += d;
    pthread_mutex_unlock(&srv->stats.mu);
}

static int
on_http(struct server *srv, struct lws *wsi, struct pss *pss)
{
    pss_cleanup(pss);
    if (!pss->counted) {
        pss->counted = 1;
        stats_http_open(srv, 1);
    }
    if (server_stop) {
        /* Shutting down: finish what is in flight, take nothing new. */
        reply_now(wsi, pss, SM_EUNAVAIL, "server shutting down");
        pss->resp.close = 1;
        pss->resp.retry_after = 1;
        return 0;
    }
    /* Only websocket upgrades exist here; refuse h2c and anything else. */
    char up[64];
    copy_hdr(wsi, WSI_TOKEN_UPGRADE, up, sizeof up);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) > 0 && strcasecmp(up, "websocket") != 0) {
        reply_now(wsi, pss, SM_EINVAL, "Upgrade: only websocket is supported");
        pss->resp.close = 1;
        return 0;
    }
    struct req *req = sm_xcalloc(1, sizeof *req);
    req->method = HTTP_OTHER;
    req->content_length = -1;
    for (size_t i = 0; i < sizeof method_tokens / sizeof method_tokens[0]; i++) {
        if (lws_hdr_total_length(wsi, method_tokens[i].tok) > 0) {
            req->method = method_tokens[i].method;
            copy_hdr(wsi, method_tokens[i].tok, req->path, sizeof req->path);
            break;
        }
    }
    pss->req = req;
    /* Query arguments, each decoded by libwebsockets, kept NUL-separated. */
    size_t qlen = 0;
    for (int i = 0; lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0; i++) {
        int n = lws_hdr_copy_fragment(wsi, req->query + qlen, (int)(sizeof req->query - qlen),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0 && lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) <= 0)
            break;
        if (n < 0 || req->nargs == HTTP_QUERY_ARGS) {
            req->query_bad = 1;
            break;
        }
        req->args[req->nargs++] = req->query + qlen;
        qlen += (size_t)n + 1;
        if (qlen >= sizeof req->query) {
            req->query_bad = 1;
            break;
        }
    }
    static const char *const method_names[] = {"GET",    "POST", "PUT",     "PATCH",
                                               "DELETE", "HEAD", "OPTIONS", "OTHER"};
    sm_strlcpy(pss->method, method_names[req->method], sizeof pss->method);
    sm_strlcpy(pss->path, req->path, sizeof pss->path);
    pss->started = sm_mono_now();
    if (!req->path[0]) {
        reply_now(wsi, pss, SM_EPARSE, "bad request line");
        pss->resp.close = 1;
        return 0;
    }
    /* "/agents/" is "/agents". */
    size_t pl = strlen(req->path);
    char route_path[HTTP_PATH_MAX];
    sm_strlcpy(route_path, req->path, sizeof route_path);
    if (pl > 1 && route_path[pl - 1] == '/')
        route_path[pl - 1] = '\0';
    int wrong_method = 0;
    const struct route *r = http_route_find(req->method, route_path, &req->id, &wrong_method);
    if (!r) {
        if (wrong_method) {
            reply_now(wsi, pss, SM_EINVAL, "Method Not Allowed");
            pss->resp.status = 405;
            return 0;
        }
        return serve_static(srv, wsi, pss, req->method, req->path);
    }
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, req->content_type, sizeof req->content_type);
    copy_hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, req->authorization, sizeof req->authorization);
    int tl = lws_hdr_custom_length(wsi, "x-agent-token:", 14);
    if (tl > 0 && (size_t)tl < sizeof req->agent_token &&
        lws_hdr_custom_copy(wsi, req->agent_token, (int)sizeof req->agent_token,
                            "x-agent-token:", 14) < 0)
        req->agent_token[0] = '\0';
    lws_get_peer_simple(wsi, req->peer, sizeof req->peer);
    char cl[32];
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl);
    if (cl[0]) {
        char *end;
        errno = 0;
        long v = strtol(cl, &end, 10);
        if (*end || errno || v < 0) {
            reply_now(wsi, pss, SM_EPARSE, "Content-Length: invalid");
            pss->resp.close = 1;
            return 0;
        }
        req->content_length = v;
        pss->body_sent = v > 0;
        if (v > 0 && v <= HTTP_BODY_MAX) {
            /* One allocation for the announced body instead of doublings. */
            req->body = sm_xmalloc((size_t)v + 1);
            req->cap = (size_t)v + 1;
            req->body[0] = '\0';
        }
        if (v > HTTP_BODY_MAX) {
            reply_now(wsi, pss, SM_ETOOBIG, "body: larger than 1 MiB");
            pss->resp.close = 1;
            return 0;
        }
    }
    char te[32];
    copy_hdr(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof te);
    if (te[0]) {
        /* Request bodies need a Content-Length (the cap is checked before reading). */
        reply_now(wsi, pss, SM_EINVAL, "Content-Length required");
        pss->resp.status = 411;
        pss->resp.close = 1;
        return 0;
    }
    if ((req->method == HTTP_POST || req->method == HTTP_PUT) && req->content_length > 0)
        return 0; /* the body follows */
    dispatch(srv, wsi, pss, r);
    return 0;
}

static int
write_reply(struct lws *wsi, struct pss *pss)
{
    uint8_t hbuf[LWS_PRE + 2048];
    uint8_t *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof hbuf - 1;
    struct resp *r = &pss->resp;
    pss->have_resp = 0;
    /* A reply before the whole body came: libwebsockets would read and drop the rest
     * and complete the transaction itself, past the check for pipelined bytes
     * (drain_done); close instead. */
    if (pss->body_sent && !pss->body_done)
        r->close = 1;
    if (sm_log_get_level() >= SM_LOG_DEBUG)
        sm_log(SM_LOG_DEBUG, "%s %s %d (%.1f ms)", pss->method[0] ? pss->method : "-",
               pss->path[0] ? pss->path : "-", r->status, (sm_mono_now() - pss->started) * 1e3);
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status,
                                    r->content_type ? r->content_type : "application/json",
                                    (lws_filepos_t)r->len, &p, end) ||
        lws_add_http_header_by_name(
            wsi, (const uint8_t *)"cache-control:", (const uint8_t *)"no-store", 8, &p, end))
        return -1;
    if (r->retry_after > 0) {
        char ra[16];
        int n = snprintf(ra, sizeof ra, "%d", r->retry_after);
        if (lws_add_http_header_by_name(wsi, (const uint8_t *)"retry-after:", (uint8_t *)ra, n, &p,
                                        end))
            return -1;
    }
    if (r->www_authenticate &&
        lws_add_http_header_by_name(
            wsi, (const uint8_t *)"www-authenticate:", (const uint8_t *)"Bearer", 6, &p, end))
        return -1;
    if (r->status == 405 && lws_add_http_header_by_name(wsi, (const uint8_t *)"allow:",
                                                        (const uint8_t *)"GET, HEAD", 9, &p, end))
        return -1;
    if (r->close && lws_add_http_header_by_name(
                        wsi, (const uint8_t *)"connection:", (const uint8_t *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (r->len) {
        uint8_t *body = sm_xmalloc(LWS_PRE + r->len);
        memcpy(body + LWS_PRE, r->body, r->len);
        int n = lws_write(wsi, body + LWS_PRE, r->len, LWS_WRITE_HTTP_FINAL);
        sodium_memzero(body, LWS_PRE + r->len);
        free(body);
        if (n < 0)
            return -1;
    }
    int close = r->close;
    resp_done(r);
    if (close)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    close_until_next_request(wsi);
    return 0;
}

/* A reply made during a callback goes out through the done queue, as a job's does, so
 * that it gets the same check for pipelined bytes (drain_done). */
static void
flush_reply(struct server *srv, struct lws *wsi, struct pss *pss)
{
    if (!pss->have_resp || pss->job)
        return;
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->resp = pss->resp;
    memset(&pss->resp, 0, sizeof pss->resp);
    pss->have_resp = 0;
    j->wsi = wsi;
    j->pss = pss;
    pss->job = j;
    srv->inflight++;
    hold_rx(wsi, pss);
    done_push(srv, j);
}

static int
callback_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *pss = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct server *srv = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        /* The reply before this request has not all gone out (libwebsockets still
         * holds some, or the socket is full): the client sent this request without
         * reading it, which is pipelining. Close once that reply is sent (4.1 then
         * ignores what it reads), rather than parse requests while one is sending:
         * its rest was stuck while their jobs ran, the loop spinning (fuzz_http). */
        if (lws_send_pipe_choked(wsi))
            return -1;
        if (on_http(srv, wsi, pss))
            return -1;
        flush_reply(srv, wsi, pss);
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        if (!pss->req || pss->discard || pss->have_resp || pss->job)
            return 0;
        if (req_append(pss->req, in, len) != SM_OK) {
            pss->discard = 1;
            reply_now(wsi, pss, SM_ETOOBIG, "body: larger than 1 MiB");
            pss->resp.close = 1;
            flush_reply(srv, wsi, pss);
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        /* libwebsockets 4.1 calls again when bytes follow a body it has delivered
         * and the transaction is not completed (a pipelined request after a body
         * parsed from its buffer, or after an HTTP/1.0 request), and would do so
         * forever, inside one lws_service. The only way out is to drop the
         * connection (hold_rx). */
        if (pss->body_done)
            return -1;
        pss->body_done = 1;
        if (!pss->req || pss->discard || pss->have_resp || pss->job)
            return 0;
        int wrong = 0;
        char route_path[HTTP_PATH_MAX];
        sm_strlcpy(route_path, pss->req->path, sizeof route_path);
        size_t pl = strlen(route_path);
        if (pl > 1 && route_path[pl - 1] == '/')
            route_path[pl - 1] = '\0';
        const struct route *r =
            http_route_find(pss->req->method, route_path, &pss->req->id, &wrong);
        if (r)
            dispatch(srv, wsi, pss, r);
        flush_reply(srv, wsi, pss);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return 0; /* replies are written from drain_done, never on a writable callback */
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        /* Pipelined bytes behind a file: close rather than parse them (drain_done). */
        if (!srv || leftovers_waiting(srv) || lws_http_transaction_completed(wsi))
            return -1;
        close_until_next_request(wsi);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss) {
            pss_cleanup(pss);
            if (pss->counted && srv) {
                pss->counted = 0;
                stats_http_open(srv, -1);
            }
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv)
            drain_done(srv);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* HTTP requests go to the "http" protocol through a callback mount; a WebSocket client
 * that names no subprotocol gets the vhost's default one, the live stream. (Connections
 * bind to the default protocol when accepted, hence the mount for plain HTTP.) */
static const struct lws_http_mount api_mount = {
    .mountpoint = "/",
    .mountpoint_len = 1,
    .origin = "http",
    .origin_protocol = LWSMPRO_CALLBACK,
};
static const struct lws_protocol_vhost_options stream_default = {NULL, NULL, "default", ""};
static const struct lws_protocol_vhost_options stream_pvo = {NULL, &stream_default, STREAM_PROTOCOL,
                                                             ""};
/* Ping idle WebSocket connections after 30 s; drop them when silent for 45 s more. */
static const lws_retry_bo_t ws_validity = {.secs_since_valid_ping = 30,
                                           .secs_since_valid_hangup = 75};

struct stream_env *
stream_env_of(struct lws *wsi)
{
    struct server *srv = lws_context_user(lws_get_context(wsi));
    return &srv->stream;
}

static enum sm_rc
stream_verify(void *arg, const char *token, int64_t *user_id, double *expires)
{
    struct server *srv = arg;
    return auth_jwt_check(&srv->auth, token, (int64_t)sm_wall_now(), user_id, expires);
}

/* Copy what the event loop knows into the /metrics counters; the ingest rate over the
 * last STATS_RATE_WINDOW ticks. Event loop thread. */
static void
stats_tick(struct server *srv)
{
    struct hub_stats hs;
    hub_stats(srv->hub, &hs);
    struct server_stats *s = &srv->stats;
    double now = sm_mono_now();
    pthread_mutex_lock(&s->mu);
    unsigned cur = srv->rate_pos % STATS_RATE_WINDOW;
    srv->rate_total[cur] = s->samples;
    srv->rate_time[cur] = now;
    srv->rate_pos++;
    /* The oldest slot: the next one once the ring is full, the first before. */
    unsigned old = srv->rate_pos >= STATS_RATE_WINDOW ? srv->rate_pos % STATS_RATE_WINDOW : 0;
    if (now > srv->rate_time[old])
        s->samples_rate = (double)(s->samples - srv->rate_total[old]) / (now - srv->rate_time[old]);
    s->ws_clients = hs.clients;
    s->agents = hs.agents;
    s->agents_online = hub_online_count(srv->hub);
    s->published = hs.published;
    s->delivered = hs.delivered;
    s->dropped = hs.dropped;
    if (srv->alerts) {
        struct alerts_stats as;
        alerts_stats(srv->alerts, &as);
        s->alerts_pending = as.pending;
        s->alerts_firing = as.firing;
        s->alert_evaluations = as.evaluations;
        s->alert_transitions = as.transitions;
    }
    pthread_mutex_unlock(&s->mu);
}

static void
on_tick(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, tick);
    hub_tick(srv->hub, sm_wall_now());
    if (srv->alerts && !srv->alerts_started &&
        sm_wall_now() - srv->stats.started > ALERTS_GRACE_S) {
        /* Agents that have not reported since the start are offline, but the hub only
         * says so for agents it saw go away: start their agent.offline rules now. */
        srv->alerts_started = 1;
        hub_each_agent(srv->hub, offline_at_start, srv);
    }
    if (srv->alerts)
        alerts_tick(srv->alerts, sm_wall_now());
    stats_tick(srv);
    stream_kick(srv->hub);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick, TICK_US);
}

static void
add_agent(const struct store_agent *a, void *arg)
{
    struct store *st = ((void **)arg)[0];
    struct hub *h = ((void **)arg)[1];
    char *latest = NULL;
    if (store_latest(st, a->id, &latest) != SM_OK)
        latest = NULL;
    hub_agent_upsert(h, a->id, a->user_id, a->name, a->host, latest, (double)a->last_seen);
    free(latest);
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
static void
rules_read(struct server *srv, struct store *st)
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

/* Roll up and enforce retention off the event loop and off the ingest writer; pick up
 * the alert rules the admin CLI changed. */
static void *
maint_main(void *arg)
{
    struct server *srv = arg;
    struct store *st = thread_store(srv, "history");
    const struct history_retention ret = {srv->cfg->retain_raw_s, srv->cfg->retain_minute_s,
                                          srv->cfg->retain_hour_s};
    unsigned round = 0;
    pthread_mutex_lock(&srv->maint_mu);
    while (!srv->maint_stop && st) {
        pthread_mutex_unlock(&srv->maint_mu);
        size_t work = 0, deleted = 0;
        int64_t now = (int64_t)(sm_wall_now() * 1000);
        /* A few steps at most per round so a long catch-up never holds the lock long. */
        for (int i = 0; i < 8; i++)
            if (store_rollup(st, now, 256, &work) != SM_OK || work == 0)
                break;
        if (srv->alerts)
            rules_read(srv, st);
        if (round++ % RETAIN_EVERY == 0 &&
            store_retain(st, now, &ret, RETAIN_BATCH, &deleted) == SM_OK && deleted > 0)
            sm_log(SM_LOG_DEBUG, "history: retention removed %zu rows", deleted);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += MAINT_INTERVAL_S;
        pthread_mutex_lock(&srv->maint_mu);
        if (!srv->maint_stop)
            pthread_cond_timedwait(&srv->maint_cv, &srv->maint_mu, &until);
    }
    pthread_mutex_unlock(&srv->maint_mu);
    store_free(st);
    return NULL;
}

/* Security headers on every reply. No CORS headers: the page comes from this origin. */
static const struct lws_protocol_vhost_options hdr_referrer = {NULL, NULL,
                                                               "referrer-policy:", "no-referrer"};
static const struct lws_protocol_vhost_options hdr_frame = {&hdr_referrer, NULL,
                                                            "x-frame-options:", "DENY"};
static const struct lws_protocol_vhost_options hdr_nosniff = {&hdr_frame, NULL,
                                                              "x-content-type-options:", "nosniff"};
static const struct lws_protocol_vhost_options security_headers = {
    &hdr_nosniff, NULL, "content-security-policy:",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"};

static void
on_signal(int sig)
{
    (void)sig;
    server_stop = 1;
}

static void
lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    sm_log(level & LLL_ERR    ? SM_LOG_ERROR
           : level & LLL_WARN ? SM_LOG_WARN
                              : SM_LOG_DEBUG,
           "lws: %.*s", (int)n, line);
}

static int
write_port_file(const char *path, int port)
{
    char *tmp = sm_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%d\n", port) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

/* Read the /metrics bearer token: one line, 16 to 256 bytes, in a file nobody else may
 * read. Only its hash is kept. Main thread. */
static int
load_metrics_token(struct server *srv, const char *path)
{
    char buf[AUTH_SECRET_MAX + 2];
    struct stat sb;
    FILE *f = fopen(path, "r");
    if (!f) {
        sm_log(SM_LOG_ERROR, "metrics_token_file: %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 077) != 0) {
        sm_log(SM_LOG_ERROR, "metrics_token_file: %s: must not be readable by group or others",
               path);
        fclose(f);
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n < 16 || n > AUTH_SECRET_MAX || strchr(buf, '\n')) {
        sodium_memzero(buf, sizeof buf);
        sm_log(SM_LOG_ERROR, "metrics_token_file: %s: one line of 16 to %d characters", path,
               AUTH_SECRET_MAX);
        return -1;
    }
    crypto_generichash(srv->metrics_token_hash, sizeof srv->metrics_token_hash, (uint8_t *)buf, n,
                       NULL, 0);
    sodium_memzero(buf, sizeof buf);
    srv->metrics_token_set = 1;
    return 0;
}

/* Stop the threads and free everything server_start made; safe on a half-made server. */
static void
server_free(struct server *srv)
{
    if (srv->maint_started) {
        pthread_mutex_lock(&srv->maint_mu);
        srv->maint_stop = 1;
        pthread_cond_signal(&srv->maint_cv);
        pthread_mutex_unlock(&srv->maint_mu);
        pthread_join(srv->maint, NULL);
    }
    if (srv->ctx) {
        lws_sul_cancel(&srv->tick);
        pool_stop(&srv->work);
        pool_stop(&srv->hash);
        pool_stop(&srv->writer);
        drain_done(srv);
        lws_context_destroy(srv->ctx);
        drain_done(srv);
    }
    /* Last: the jobs drained above may have queued alert state changes. */
    notifier_stop(srv->notifier);
    srv->notifier = NULL;
    auth_done(&srv->auth);
    ratelimit_done(&srv->rl);
    alerts_free(srv->alerts);
    hub_free(srv->hub);
    pthread_mutex_destroy(&srv->maint_mu);
    pthread_cond_destroy(&srv->maint_cv);
    pthread_mutex_destroy(&srv->done_mu);
    pthread_mutex_destroy(&srv->stats.mu);
    sodium_memzero(srv->metrics_token_hash, sizeof srv->metrics_token_hash);
    free(srv);
    curl_global_cleanup();
}

struct server *
server_start(const struct server_config *cfg)
{
    struct server *srv = sm_xcalloc(1, sizeof *srv);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        sm_log(SM_LOG_ERROR, "libcurl failed to initialise");
        free(srv);
        return NULL;
    }
    char *cause = NULL;
    srv->cfg = cfg;
    pthread_mutex_init(&srv->done_mu, NULL);
    pthread_mutex_init(&srv->stats.mu, NULL);
    pthread_mutex_init(&srv->maint_mu, NULL);
    pthread_cond_init(&srv->maint_cv, NULL);
    srv->stats.started = sm_wall_now();
    ratelimit_init(&srv->rl, LOGIN_WINDOW_S);
    if (auth_init(&srv->auth, cfg->state_dir, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "%s", cause);
        goto fail;
    }
    if (cfg->metrics_token_file && load_metrics_token(srv, cfg->metrics_token_file) != 0)
        goto fail;
    /* Open once here so that a bad database fails the start, not the first request. */
    struct store *st = NULL;
    if (store_open(cfg->db_path, &st, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "%s", cause);
        goto fail;
    }
    const struct hub_limits limits = {.pre = LWS_PRE,
                                      .queue_max = STREAM_QUEUE_MAX,
                                      .drop_close = STREAM_DROP_CLOSE,
                                      .offline_factor = 3,
                                      .min_offline = 10};
    srv->hub = hub_new(&limits);
    void *agent_arg[] = {st, srv->hub};
    if (store_agent_list(st, 0, add_agent, agent_arg) != SM_OK)
        sm_log(SM_LOG_WARN, "live stream: could not load the agents");
    /* Alert rules, and the states they were in when the server stopped. */
    srv->alerts = alerts_new(alerts_emit_cb, alerts_agent_cb, srv);
    hub_set_status_hook(srv->hub, hub_status_cb, srv);
    if (store_rule_list(st, 0, load_rule, srv->alerts) != SM_OK ||
        store_alert_active(st, 0, restore_state, srv->alerts) != SM_OK)
        sm_log(SM_LOG_WARN, "alerts: could not load the rules");
    store_free(st);
    srv->stream = (struct stream_env){
        .hub = srv->hub, .verify = stream_verify, .verify_arg = srv, .origins = cfg->ws_origins};
    if (!realpath(cfg->www_dir, srv->www_real)) {
        sm_log(SM_LOG_WARN, "%s: %s (no web page)", cfg->www_dir, strerror(errno));
        sm_strlcpy(srv->www_real, "/nonexistent", sizeof srv->www_real);
    }

    lws_set_log_level(cfg->lws_log_level, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port; /* 0: the kernel picks a free port */
    info.iface = cfg->listen_addr;
    /* lws keeps pointing at the protocols: they live as long as srv. */
    srv->protocols[0] =
        (struct lws_protocols){"http", callback_api, sizeof(struct pss), 0, 0, NULL, HTTP_SEND_MAX};
    srv->protocols[1] = stream_protocol;
    info.protocols = srv->protocols;
    info.mounts = &api_mount;
    info.pvo = &stream_pvo;
    info.retry_and_idle_policy = &ws_validity;
    info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.headers = &security_headers;
    info.user = srv;
    info.max_http_header_data = 4096;
    info.max_http_header_pool = 64;
    info.timeout_secs = 30;
    info.keepalive_timeout = 60;

    /* Threads inherit the mask: keep SIGTERM/SIGINT for the loop thread. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        sm_log(SM_LOG_ERROR, "cannot listen on %s:%d", cfg->listen_addr, cfg->port);
        goto fail;
    }
    if (pool_start(&srv->work, srv, "worker", WORK_THREADS, WORK_QUEUE_CAP, worker_main) ||
        pool_start(&srv->hash, srv, "hasher", HASH_THREADS, HASH_QUEUE_CAP, worker_main) ||
        pool_start(&srv->writer, srv, "writer", 1, WRITER_QUEUE_CAP, writer_main) ||
        !(srv->notifier = notifier_start(cfg->db_path, &srv->auth, cfg->telegram_api_base,
                                         cfg->webhook_allow, cfg->retain_minute_s, &srv->stats)) ||
        pthread_create(&srv->maint, NULL, maint_main, srv) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        sm_log(SM_LOG_ERROR, "cannot start threads");
        goto fail;
    }
    srv->maint_started = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick, TICK_US);
    signal(SIGPIPE, SIG_IGN);

    struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "default");
    int port = vh ? lws_get_vhost_listen_port(vh) : cfg->port;
    if (cfg->port_file && write_port_file(cfg->port_file, port) != 0) {
        sm_log(SM_LOG_ERROR, "%s: %s", cfg->port_file, strerror(errno));
        goto fail;
    }
    sm_log(SM_LOG_INFO, "listening on http://%s:%d", cfg->listen_addr, port);
    return srv;
fail:
    free(cause);
    server_free(srv);
    return NULL;
}

void
server_finish(struct server *srv)
{
    sm_log(SM_LOG_INFO, "shutting down");
    /* Let in-flight requests (and their commits) finish and get their replies. */
    double deadline = sm_mono_now() + SHUTDOWN_GRACE_S;
    while (srv->inflight > 0 && sm_mono_now() < deadline)
        lws_service(srv->ctx, 0);
    server_free(srv);
}

int
server_run(const struct server_config *cfg)
{
    struct server *srv = server_start(cfg);
    if (!srv)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!server_stop)
        if (lws_service(srv->ctx, 0) < 0)
            break;
    server_finish(srv);
    return 0;
}
