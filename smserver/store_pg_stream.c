/* store_pg_stream.c: the live stream across instances of the PostgreSQL backend
 * (store.h's store_listen): LISTEN/NOTIFY, no broker of our own.
 *
 * A batch write that stored new samples sends, inside its savepoint, one NOTIFY on the
 * channel sm_samples with a small payload: "<process> <agent> <oldest ts> <newest ts>
 * <latest ts>" (the process's random 64-bit id in hex; milliseconds; latest ts 0 when
 * the batch did not carry the agent's newest sample). PostgreSQL delivers it only when
 * the group commit's transaction commits, and drops it with the savepoint when the
 * batch is rolled back. A listener (its own connection, one thread) skips its own
 * process's payloads and reads each other one back: the agent's owner, name and host
 * facts, its newest sample when it is still that batch's, and the points of the batch's
 * samples (at most STREAM_MAX_SAMPLES, the newest). The payload never carries a sample,
 * so NOTIFY's 8000-byte limit and the sample's size are unrelated. */
#include "config.h"

#include "store_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

/* The samples of one announced batch that are read back: a spooled backlog sent at once
 * is announced as one batch, and the alerts judge only recent samples anyway. */
#define STREAM_MAX_SAMPLES 64

static pthread_once_t origin_once = PTHREAD_ONCE_INIT;
static char origin[17];

static void
origin_make(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        /* Only has to differ between the instances on one database. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec;
    }
    snprintf(origin, sizeof origin, "%016" PRIx64, v);
}

const char *
store_pg_origin(void)
{
    pthread_once(&origin_once, origin_make);
    return origin;
}

enum sm_rc
store_pg_notify(struct store_pg *st, const struct store_batch *b, char **cause)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < b->nsamples; i++) {
        if (b->samples[i].ts_ms < lo)
            lo = b->samples[i].ts_ms;
        if (b->samples[i].ts_ms > hi)
            hi = b->samples[i].ts_ms;
    }
    if (b->nsamples == 0)
        return SM_OK;
    char payload[128];
    snprintf(payload, sizeof payload, "%s %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64,
             store_pg_origin(), b->agent_id, lo, hi, b->latest_json ? b->latest_ts_ms : 0);
    struct pq_args a = {0};
    pq_text(&a, payload);
    return pq_run(st, "notify", "SELECT pg_notify('sm_samples', $1)", &a, NULL, cause);
}

enum sm_rc
store_pg_notify_event(struct store_pg *st, const char *what, int64_t user_id, int64_t agent_id)
{
    char payload[128];
    snprintf(payload, sizeof payload, "%s %s %" PRId64 " %" PRId64, store_pg_origin(), what,
             user_id, agent_id);
    struct pq_args a = {0};
    pq_text(&a, payload);
    return pq_run(st, "notify", "SELECT pg_notify('sm_events', $1)", &a, NULL, NULL);
}

/* ------------------------------------------------------------------ listening */

/* Read back what one payload announces, the samples' points only when asked; NULL when
 * it names nothing (an agent deleted meanwhile) or the read failed (logged by pq_run). */
static struct store_remote *
remote_read(struct store_pg *st, int64_t agent, int64_t lo, int64_t hi, int64_t latest_ts,
            int points)
{
    struct pq_args a = {0};
    pq_int(&a, agent);
    pq_int(&a, latest_ts);
    PGresult *r;
    if (pq_run(st, "stream agent",
               "SELECT a.user_id, a.name, a.host, a.last_seen, l.sample FROM agents a"
               " LEFT JOIN latest l ON l.agent_id = a.id AND l.ts = $2 AND $2 <> 0"
               " WHERE a.id = $1",
               &a, &r, NULL) != SM_OK)
        return NULL;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return NULL;
    }
    struct store_remote *x = sm_xcalloc(1, sizeof *x);
    struct store_batch *b = x->batch = sm_xcalloc(1, sizeof *b);
    b->agent_id = agent;
    x->user_id = pq_get_int(r, 0, 0);
    pq_get_text(x->name, sizeof x->name, r, 0, 1);
    if (!PQgetisnull(r, 0, 2))
        b->host_json = sm_xstrdup(PQgetvalue(r, 0, 2));
    b->now = PQgetisnull(r, 0, 3) ? 0 : pq_get_int(r, 0, 3);
    if (!PQgetisnull(r, 0, 4)) {
        b->latest_json = sm_xstrdup(PQgetvalue(r, 0, 4));
        b->latest_ts_ms = latest_ts;
    }
    PQclear(r);
    if (!points)
        return x;

    struct pq_args q = {0};
    pq_int(&q, agent);
    pq_int(&q, lo);
    pq_int(&q, hi);
    pq_int(&q, STREAM_MAX_SAMPLES);
    if (pq_run(st, "stream samples",
               "SELECT n.ts, s.name, s.labels, x.v FROM (SELECT ts, sids, vals FROM samples"
               " WHERE agent_id = $1 AND ts BETWEEN $2 AND $3 ORDER BY ts DESC LIMIT $4) n"
               " CROSS JOIN LATERAL unnest(n.sids, n.vals) AS x(sid, v)"
               " JOIN series s ON s.id = x.sid ORDER BY n.ts",
               &q, &r, NULL) != SM_OK) {
        store_remote_free(x);
        return NULL;
    }
    int rows = PQntuples(r);
    size_t cap = 0;
    for (int i = 0; i < rows;) {
        int64_t ts = pq_get_int(r, i, 0);
        int end = i;
        while (end < rows && pq_get_int(r, end, 0) == ts)
            end++;
        b->samples = sm_xgrow(b->samples, &cap, b->nsamples + 1, sizeof *b->samples);
        struct store_sample *smp = &b->samples[b->nsamples++];
        memset(smp, 0, sizeof *smp);
        smp->ts_ms = ts;
        smp->npoints = (size_t)(end - i);
        smp->points = sm_xreallocarray(NULL, smp->npoints, sizeof *smp->points);
        for (int k = i; k < end; k++) {
            struct store_point *p = &smp->points[k - i];
            p->name = sm_xstrdup(PQgetvalue(r, k, 1));
            p->labels = sm_xstrdup(PQgetvalue(r, k, 2));
            p->value = strtod(PQgetvalue(r, k, 3), NULL);
        }
        i = end;
    }
    PQclear(r);
    return x;
}

/* "<origin> logout <user> 0" or "<origin> agent-removed <user> <agent>" of another
 * process: the store_remote it stands for; NULL for this process's own or a payload
 * that is not ours. */
static struct store_remote *
event_parse(const char *s)
{
    char who[17], what[16];
    int64_t user = 0, agent = 0;
    int used = 0;
    if (sscanf(s, "%16s %15s %" SCNd64 " %" SCNd64 "%n", who, what, &user, &agent, &used) != 4 ||
        s[used] != '\0' || strcmp(who, store_pg_origin()) == 0)
        return NULL;
    enum store_remote_kind kind;
    if (strcmp(what, "logout") == 0)
        kind = STORE_REMOTE_LOGOUT;
    else if (strcmp(what, "agent-removed") == 0)
        kind = STORE_REMOTE_AGENT_REMOVED;
    else
        return NULL;
    struct store_remote *x = sm_xcalloc(1, sizeof *x);
    x->kind = kind;
    x->user_id = user;
    x->agent_id = agent;
    return x;
}

/* "<origin> <agent> <lo> <hi> <latest>" of another process: 0 and the numbers; -1 for
 * this process's own or a payload that is not ours. */
static int
payload_parse(const char *s, int64_t v[4])
{
    char who[17];
    int used = 0;
    if (sscanf(s, "%16s %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 "%n", who, &v[0], &v[1],
               &v[2], &v[3], &used) != 5 ||
        s[used] != '\0')
        return -1;
    return strcmp(who, store_pg_origin()) == 0 ? -1 : 0;
}

enum sm_rc
store_pg_listen(struct store *base, int timeout_ms, int points, store_remote_fn fn, void *arg)
{
    struct store_pg *st = pg(base);
    /* LISTEN belongs to a session: after a reconnect (here or inside any pq_run, which
     * makes a lost connection again) the backend differs and it is said again. */
    if (PQstatus(st->conn) != CONNECTION_OK || PQbackendPID(st->conn) != st->listening)
        st->listening = 0;
    if (!st->listening) {
        enum sm_rc rc = pq_run(st, "listen", "LISTEN sm_samples", NULL, NULL, NULL);
        if (rc == SM_OK)
            rc = pq_run(st, "listen", "LISTEN sm_events", NULL, NULL, NULL);
        if (rc != SM_OK)
            return rc;
        st->listening = PQbackendPID(st->conn);
    }
    if (!PQconsumeInput(st->conn)) {
        st->listening = 0;
        return SM_EUNAVAIL;
    }
    PGnotify *n = PQnotifies(st->conn);
    if (!n) {
        struct pollfd p = {.fd = PQsocket(st->conn), .events = POLLIN};
        if (p.fd < 0) {
            st->listening = 0;
            return SM_EUNAVAIL;
        }
        int k = poll(&p, 1, timeout_ms);
        if (k < 0 && errno != EINTR)
            return SM_EIO;
        if (k <= 0)
            return SM_OK;
        if (!PQconsumeInput(st->conn)) {
            st->listening = 0;
            return SM_EUNAVAIL;
        }
        n = PQnotifies(st->conn);
    }
    /* The reads below run on this connection: take every pending notice first. */
    size_t count = 0, cap = 0;
    int64_t(*todo)[4] = NULL;
    for (; n; n = PQnotifies(st->conn)) {
        int64_t v[4];
        struct store_remote *ev;
        if (strcmp(n->relname, "sm_samples") == 0 && payload_parse(n->extra, v) == 0) {
            todo = sm_xgrow(todo, &cap, count + 1, sizeof *todo);
            memcpy(todo[count++], v, sizeof v);
        } else if (strcmp(n->relname, "sm_events") == 0 && (ev = event_parse(n->extra))) {
            /* Nothing to read back from the database. */
            fn(ev, arg);
        }
        PQfreemem(n);
    }
    for (size_t i = 0; i < count; i++) {
        struct store_remote *x =
            remote_read(st, todo[i][0], todo[i][1], todo[i][2], todo[i][3], points);
        if (x)
            fn(x, arg);
    }
    free(todo);
    return SM_OK;
}
