/* server_jobs.c: the worker hand-off. Jobs queue on a pool (general, Argon2id or the
 * writer); a pool thread authenticates the caller and runs the handler, the writer
 * commits ingest batches in groups, and every finished job goes back to the event loop
 * through the done queue. See server.c for the whole path. */
#include "config.h"

#include "server_int.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define WRITER_GROUP_MAX 256 /* jobs per transaction */
/* The detail of a 503 from the storage, on every route (README, smserver(8)): what a
 * client can wait for, never the database's own words (those are in the log). */
static const char *
store_detail(enum sm_rc rc)
{
    if (rc == SM_EFULL)
        return "storage unavailable: the database disk is full";
    if (rc == SM_EUNAVAIL)
        return "storage unavailable: the database cannot be reached";
    return "storage unavailable";
}

void
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
void
done_push(struct server *srv, struct job *j)
{
    pthread_mutex_lock(&srv->done_mu);
    STAILQ_INSERT_TAIL(&srv->done, j, link);
    pthread_mutex_unlock(&srv->done_mu);
    lws_cancel_service(srv->ctx);
}

/* Queue j on p; SM_EBUSY when the queue is full. Any thread. */
enum sm_rc
pool_push(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->mu);
    if (p->len >= p->cap || p->stop) {
        pthread_mutex_unlock(&p->mu);
        return SM_EBUSY;
    }
    STAILQ_INSERT_TAIL(&p->jobs, j, link);
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

/* handler_env's queue_depths. Any thread. */
void
queue_depths(void *arg, struct handler_queues *out)
{
    struct server *srv = arg;
    out->writer = pool_depth(&srv->writer);
    out->work = pool_depth(&srv->work);
    out->hash = pool_depth(&srv->hash);
}

/* Move up to max jobs (waiting for one) to the end of out; 0 when stopped and empty. */
static size_t
pool_take(struct pool *p, size_t max, struct job_queue *out)
{
    pthread_mutex_lock(&p->mu);
    while (STAILQ_EMPTY(&p->jobs) && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    size_t n = 0;
    struct job *j;
    while (n < max && (j = STAILQ_FIRST(&p->jobs)) != NULL) {
        STAILQ_REMOVE_HEAD(&p->jobs, link);
        STAILQ_INSERT_TAIL(out, j, link);
        n++;
    }
    p->len -= n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

struct store *
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
        if (auth_jwt_verify(c->env->auth, h + 7, (int64_t)c->now, &c->user_id) != SM_OK) {
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
    struct call c = {
        .env = &srv->env, .st = st, .req = j->req, .resp = &j->resp, .now = sm_wall_now()};
    char *cause = NULL;
    enum sm_rc rc;
    if (!st) {
        rc = SM_EUNAVAIL; /* its detail below */
    } else if ((rc = call_auth(&c, j->route, &cause)) == SM_OK) {
        rc = j->route->handler(&c, &cause);
    }
    /* The database's own words (its user, socket, file names) are in the log; a client
     * learns only what to wait for. */
    if ((rc == SM_EUNAVAIL || rc == SM_EFULL) &&
        (!cause || strncmp(cause, "postgresql: ", 12) == 0 ||
         strncmp(cause, "database: ", 10) == 0)) {
        free(cause);
        cause = sm_xstrdup(store_detail(rc));
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

void *
worker_main(void *arg)
{
    struct pool *p = arg;
    struct store *st = thread_store(p->srv, p->name);
    struct job_queue q = STAILQ_HEAD_INITIALIZER(q);
    while (pool_take(p, 1, &q)) {
        struct job *j = STAILQ_FIRST(&q);
        STAILQ_REMOVE_HEAD(&q, link);
        run_job(p->srv, st, j);
    }
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

/* The reply to an ingest the storage refused with rc (never a 500: the agent keeps the
 * sample and sends it again after Retry-After). The detail says why when the client can
 * act on it or wait for it; the log has the database's own words. */
static void
refuse_ingest(struct resp *resp, enum sm_rc rc)
{
    if (rc == SM_EAUTH)
        http_reply_error(resp, SM_EAUTH, "Invalid agent token");
    else
        http_reply_error(resp, rc == SM_EFULL ? SM_EFULL : SM_EUNAVAIL, store_detail(rc));
}

static void
writer_group(struct server *srv, struct store *st, struct job_queue *group)
{
    double t0 = sm_mono_now();
    size_t ndups = 0, nfailed = 0;
    struct job *j;
    enum sm_rc rc = st ? SM_OK : SM_EUNAVAIL;
    /* Outside the group transaction first. A database that cannot be reached refuses the
     * group, as the begin would (after another connect); other failures are the batch
     * write's to meet. */
    STAILQ_FOREACH(j, group, link)
    {
        if (rc == SM_OK && store_prepare(st, j->batch) == SM_EUNAVAIL)
            rc = SM_EUNAVAIL;
    }
    if (rc == SM_OK)
        rc = store_begin(st);
    enum sm_rc store_rc = rc; /* the storage's own failure, for /health */
    size_t nsamples = 0, njobs = 0;
    STAILQ_FOREACH(j, group, link)
    {
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
            if ((brc == SM_EUNAVAIL || brc == SM_EFULL || brc == SM_EBUSY || brc == SM_EIO) &&
                store_rc == SM_OK)
                store_rc = brc;
            refuse_ingest(&j->resp, brc);
            nfailed++;
        }
        free(cause);
        njobs++;
    }
    if (rc == SM_OK && (rc = store_commit(st)) != SM_OK) {
        sm_log(SM_LOG_ERROR, "ingest: commit failed: %s", sm_rc_str(rc));
        store_rc = rc;
        STAILQ_FOREACH(j, group, link)
        {
            refuse_ingest(&j->resp, rc == SM_EAUTH ? SM_EIO : rc);
            j->fresh = 0; /* nothing was stored: nothing to stream */
        }
        nfailed = njobs;
        nsamples = ndups = 0;
    }
    stats_commit(srv, sm_mono_now() - t0, njobs, nfailed, nsamples, ndups, store_rc);
    sm_log(SM_LOG_DEBUG, "committed %zu samples from %zu requests", nsamples, njobs);
    /* The batches go back with their jobs: the event loop publishes committed samples
     * (events_apply) and frees them. */
    while ((j = STAILQ_FIRST(group)) != NULL) {
        STAILQ_REMOVE_HEAD(group, link);
        done_push(srv, j);
    }
}

void *
writer_main(void *arg)
{
    struct pool *p = arg;
    struct store *st = thread_store(p->srv, "writer");
    struct job_queue group = STAILQ_HEAD_INITIALIZER(group);
    while (pool_take(p, WRITER_GROUP_MAX, &group))
        writer_group(p->srv, st, &group); /* empties group */
    store_free(st);
    return NULL;
}

int
pool_start(struct pool *p, struct server *srv, const char *name, int n, size_t cap,
           void *(*fn)(void *))
{
    memset(p, 0, sizeof *p);
    STAILQ_INIT(&p->jobs);
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
void
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
