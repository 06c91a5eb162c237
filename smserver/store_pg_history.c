/* store_pg_history.c: history queries, rollups and retention of the PostgreSQL backend
 * (store_pg.h), with the semantics of SQLite's history.c: the same tier choice, bucket
 * width and origin, the watermark and dirty minutes, so that a query answers the same
 * buckets on both backends. The aggregates are computed in SQL: a rollup step is an
 * INSERT .. SELECT over the unnested points of the samples, and a query groups rows by
 * output bucket in the database and reads one row per bucket and tier.
 *
 * Threads: the maintenance thread (rollup, retain) and the history workers (query),
 * each with its own connection. Several instances may run rollup at once: the exclusive
 * advisory lock STORE_PG_ROLLUP_LOCK makes their steps one after another. */
#include "config.h"

#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "history.h"
#include "log.h"
#include "xmalloc.h"

#define MINUTE_MS 60000LL
#define HOUR_MS 3600000LL
/* As history.c: raw time rolled up per step, and the time a step may spend re-rolling
 * dirty minutes. */
#define ROLLUP_WINDOW_MS (6 * HOUR_MS)
#define DIRTY_STEP_S 0.1
/* Rows retention deletes per tier and call, and day partitions it drops per call. */
#define RETAIN_ROWS 50000
#define RETAIN_PARTITIONS 4
/* Day partitions made ahead of the clock. */
#define DAYS_AHEAD 2

/* Migration 5: each rollup tier's key index carries the bucket's aggregates, so that a
 * query reads one series' buckets from the index alone (an index-only scan over
 * adjacent leaf pages) instead of one heap page per bucket: the rollup steps write the
 * buckets of every series side by side, so a series' rows are scattered over the heap.
 * Index-only scans need the visibility map, so autovacuum visits these tables after 2 %
 * new rows instead of 20 %. */
const char store_pg_history_covering[] =
    "ALTER TABLE rollup_1m DROP CONSTRAINT rollup_1m_pkey,"
    " ADD CONSTRAINT rollup_1m_pkey PRIMARY KEY (series_id, bucket) INCLUDE (n, sum, min, max);"
    "ALTER TABLE rollup_1h DROP CONSTRAINT rollup_1h_pkey,"
    " ADD CONSTRAINT rollup_1h_pkey PRIMARY KEY (series_id, bucket) INCLUDE (n, sum, min, max);"
    "ALTER TABLE rollup_1m SET (autovacuum_vacuum_insert_scale_factor = 0.02,"
    " autovacuum_vacuum_scale_factor = 0.02);"
    "ALTER TABLE rollup_1h SET (autovacuum_vacuum_insert_scale_factor = 0.02,"
    " autovacuum_vacuum_scale_factor = 0.02);";

static void
read_i64(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = pq_get_int(r, row, 0);
}

static enum sm_rc
state_get(struct store_pg *st, const char *k, int64_t *v)
{
    struct pq_args a = {0};
    pq_text(&a, k);
    *v = 0;
    return pg_one(st, "read rollup state", SM_ENOTFOUND, "SELECT v FROM rollup_state WHERE k = $1",
                  &a, read_i64, v);
}

static enum sm_rc
state_put(struct store_pg *st, const char *k, int64_t v)
{
    struct pq_args a = {0};
    pq_text(&a, k);
    pq_int(&a, v);
    return pq_run(st, "write rollup state",
                  "INSERT INTO rollup_state(k, v) VALUES ($1, $2)"
                  " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                  &a, NULL, NULL);
}

/* ------------------------------------------------------------------ rollups */

/* The minute rows of the raw samples in [lo, hi) ms: every agent's (agent_id 0) or one
 * agent's, each agent's rows one range of the samples key. */
static enum sm_rc
rollup_raw(struct store_pg *st, int64_t agent_id, int64_t lo, int64_t hi)
{
    struct pq_args a = {0};
    pq_int(&a, lo);
    pq_int(&a, hi);
    pq_int(&a, agent_id);
    return pq_run(st, "roll up minutes",
                  "INSERT INTO rollup_1m(series_id, bucket, n, sum, min, max)"
                  " SELECT x.sid, sm_fdiv(s.ts, 60000), count(*), sum(x.v), min(x.v), max(x.v)"
                  " FROM agents a CROSS JOIN LATERAL (SELECT ts, sids, vals FROM samples"
                  " WHERE agent_id = a.id AND ts >= $1 AND ts < $2) s"
                  " CROSS JOIN LATERAL unnest(s.sids, s.vals) AS x(sid, v)"
                  " WHERE $3::bigint = 0 OR a.id = $3 GROUP BY 1, 2"
                  " ON CONFLICT (series_id, bucket) DO UPDATE SET n = excluded.n,"
                  " sum = excluded.sum, min = excluded.min, max = excluded.max",
                  &a, NULL, NULL);
}

/* Recompute the hour rows of hours [h0, h1) for every series (agent_id 0) or one
 * agent's, from the minute rows. */
static enum sm_rc
rollup_hours(struct store_pg *st, int64_t agent_id, int64_t h0, int64_t h1)
{
    struct pq_args a = {0};
    pq_int(&a, h0 * 60);
    pq_int(&a, h1 * 60);
    if (agent_id == 0)
        return pq_run(st, "roll up hours",
                      "INSERT INTO rollup_1h(series_id, bucket, n, sum, min, max)"
                      " SELECT series_id, sm_fdiv(bucket, 60), sum(n), sum(sum), min(min),"
                      " max(max) FROM rollup_1m WHERE bucket >= $1 AND bucket < $2"
                      " GROUP BY 1, 2 ON CONFLICT (series_id, bucket) DO UPDATE SET"
                      " n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max",
                      &a, NULL, NULL);
    pq_int(&a, agent_id);
    return pq_run(st, "roll up hours",
                  "INSERT INTO rollup_1h(series_id, bucket, n, sum, min, max)"
                  " SELECT r.series_id, sm_fdiv(r.bucket, 60), sum(r.n), sum(r.sum), min(r.min),"
                  " max(r.max) FROM series s JOIN rollup_1m r ON r.series_id = s.id"
                  " AND r.bucket >= $1 AND r.bucket < $2 WHERE s.agent_id = $3 GROUP BY 1, 2"
                  " ON CONFLICT (series_id, bucket) DO UPDATE SET n = excluded.n,"
                  " sum = excluded.sum, min = excluded.min, max = excluded.max",
                  &a, NULL, NULL);
}

static int
any_dirty(struct store_pg *st)
{
    int64_t one = 0;
    /* A failed read counts as one: it is looked at again. */
    return pg_one(st, "find dirty minutes", SM_ENOTFOUND, "SELECT 1 FROM rollup_dirty LIMIT 1",
                  NULL, read_i64, &one) != SM_ENOTFOUND;
}

/* Whether this step may re-roll dirty minutes (history.c's dirty_due). */
static enum sm_rc
dirty_due(struct store_pg *st, int64_t now_ms, int *due)
{
    int64_t seen = 0, wait = 0;
    *due = 0;
    if (state_get(st, "dirty_seen", &seen) != SM_OK)
        seen = 0;
    if (now_ms - seen >= HISTORY_DIRTY_QUIET_MS || seen - now_ms > HISTORY_DIRTY_QUIET_MS) {
        *due = 1;
        return SM_OK;
    }
    if (!any_dirty(st))
        return SM_OK;
    if (state_get(st, "dirty_wait", &wait) != SM_OK || wait == 0 || wait > now_ms)
        return state_put(st, "dirty_wait", now_ms);
    *due = now_ms - wait >= HISTORY_DIRTY_WAIT_MS;
    return SM_OK;
}

/* Re-roll at most budget dirty minutes in key order, an agent's hour at a time: each
 * run of consecutive minutes from the raw rows, then the hour (history.c's
 * rollup_dirty). */
static enum sm_rc
rollup_dirty(struct store_pg *st, size_t budget, size_t *work)
{
    struct pq_args la = {0};
    pq_int(&la, (int64_t)budget);
    PGresult *r;
    enum sm_rc rc = pq_run(st, "list dirty minutes",
                           "SELECT agent_id, bucket FROM rollup_dirty ORDER BY agent_id, bucket"
                           " LIMIT $1",
                           &la, &r, NULL);
    if (rc != SM_OK)
        return rc;
    size_t n = (size_t)PQntuples(r);
    int64_t(*todo)[2] = sm_xreallocarray(NULL, n ? n : 1, sizeof *todo);
    for (size_t i = 0; i < n; i++) {
        todo[i][0] = pq_get_int(r, (int)i, 0);
        todo[i][1] = pq_get_int(r, (int)i, 1);
    }
    PQclear(r);
    double t0 = sm_mono_now();
    size_t i = 0;
    while (i < n && rc == SM_OK && (i == 0 || sm_mono_now() - t0 < DIRTY_STEP_S)) {
        int64_t agent = todo[i][0], hour = history_floor_div(todo[i][1], 60);
        size_t g = i, e = i;
        while (e < n && todo[e][0] == agent && history_floor_div(todo[e][1], 60) == hour)
            e++;
        /* The minutes are re-rolled from rows: a sealed window is rows again first (an
         * hour lies in one window); a later step seals it again. */
        rc = store_pg_unseal(st, agent, history_window_of(hour * HOUR_MS));
        if (rc == SM_EPARSE) /* damaged: re-rolled from the rows there are */
            rc = SM_OK;
        for (size_t j = g; j < e && rc == SM_OK;) {
            size_t k = j + 1;
            while (k < e && todo[k][1] == todo[k - 1][1] + 1)
                k++;
            struct pq_args a = {0};
            pq_int(&a, agent);
            pq_int(&a, todo[j][1]);
            pq_int(&a, todo[k - 1][1]);
            rc = pq_run(st, "re-roll minutes",
                        "DELETE FROM rollup_1m WHERE bucket >= $2 AND bucket <= $3 AND"
                        " series_id IN (SELECT id FROM series WHERE agent_id = $1)",
                        &a, NULL, NULL);
            if (rc == SM_OK)
                rc =
                    rollup_raw(st, agent, todo[j][1] * MINUTE_MS, (todo[k - 1][1] + 1) * MINUTE_MS);
            j = k;
        }
        if (rc == SM_OK)
            rc = rollup_hours(st, agent, hour, hour + 1);
        if (rc == SM_OK) {
            struct pq_args d = {0};
            pq_int(&d, agent);
            pq_int(&d, todo[g][1]);
            pq_int(&d, todo[e - 1][1]);
            rc = pq_run(st, "clear dirty minutes",
                        "DELETE FROM rollup_dirty WHERE agent_id = $1 AND bucket >= $2"
                        " AND bucket <= $3",
                        &d, NULL, NULL);
        }
        *work += e - g;
        i = e;
    }
    free(todo);
    return rc;
}

static void
read_oldest(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = PQgetisnull(r, row, 0) ? INT64_MAX : pq_get_int(r, row, 0);
}

enum sm_rc
store_pg_rollup(struct store *base, int64_t now_ms, size_t budget, size_t *work)
{
    struct store_pg *st = pg(base);
    *work = 0;
    /* Partitions ahead of the clock (maintenance makes them; the writer only when one is
     * missing), each outside the step's lock. */
    int64_t today = history_floor_div(now_ms, STORE_PG_DAY_MS);
    enum sm_rc rc = SM_OK;
    for (int64_t d = today; d <= today + DAYS_AHEAD && rc == SM_OK; d++)
        rc = store_pg_day(st, d);
    if (rc != SM_OK || (rc = pq_begin(st)) != SM_OK)
        return rc;
    /* Exclusive: every group commit before this step has committed and is seen; none
     * runs during it. */
    if ((rc = pq_run(st, "lock rollup", "SELECT pg_advisory_xact_lock(" STORE_PG_ROLLUP_LOCK ")",
                     NULL, NULL, NULL)) != SM_OK)
        goto fail;
    int64_t w;
    if ((rc = state_get(st, "minute_done", &w)) != SM_OK)
        goto fail;
    int64_t target = history_floor_div(now_ms - HISTORY_LATE_GRACE_MS, MINUTE_MS) * MINUTE_MS;
    if (w == 0) {
        /* First run: start at the oldest raw sample instead of 1970. */
        int64_t oldest = INT64_MAX;
        if ((rc = pg_one(st, "oldest sample", SM_EIO, "SELECT min(ts) FROM samples", NULL,
                         read_oldest, &oldest)) != SM_OK)
            goto fail;
        w = oldest == INT64_MAX ? target : history_floor_div(oldest, MINUTE_MS) * MINUTE_MS;
    }
    if (target > w) {
        int64_t end = target - w > ROLLUP_WINDOW_MS ? w + ROLLUP_WINDOW_MS : target;
        if ((rc = rollup_raw(st, 0, w, end)) != SM_OK ||
            (rc = rollup_hours(st, 0, history_floor_div(w, HOUR_MS),
                               history_floor_div(end - 1, HOUR_MS) + 1)) != SM_OK ||
            (rc = state_put(st, "minute_done", end)) != SM_OK)
            goto fail;
        *work += (size_t)((end - w) / MINUTE_MS);
    } else if ((rc = state_put(st, "minute_done", w)) != SM_OK) {
        goto fail;
    }
    int due;
    if ((rc = dirty_due(st, now_ms, &due)) != SM_OK)
        goto fail;
    if (due) {
        if ((rc = rollup_dirty(st, budget, work)) != SM_OK)
            goto fail;
        if (!any_dirty(st) && (rc = state_put(st, "dirty_wait", 0)) != SM_OK)
            goto fail;
    }
    if ((rc = state_get(st, "minute_done", &w)) != SM_OK || (rc = pq_commit(st)) != SM_OK)
        goto fail;
    /* Then seal the windows wholly behind the watermark (store_pg_chunks.c), outside
     * this step's lock: the writers of the other agents go on meanwhile. */
    size_t sealed = 0;
    rc = store_pg_seal(st, w, &sealed);
    *work += sealed;
    if (sealed)
        store_pg_seal_trim(st, w);
    return rc;
fail:
    pq_rollback(st);
    return rc;
}

/* ------------------------------------------------------------------ retention */

static enum sm_rc
delete_rows(struct store_pg *st, const char *what, const char *sql, int64_t cut, size_t *deleted)
{
    struct pq_args a = {0};
    pq_int(&a, cut);
    pq_int(&a, RETAIN_ROWS);
    PGresult *r;
    enum sm_rc rc = pq_run(st, what, sql, &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    *deleted += (size_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return SM_OK;
}

enum sm_rc
store_pg_retain(struct store *base, int64_t now_ms, const struct history_retention *r, size_t batch,
                size_t *deleted)
{
    struct store_pg *st = pg(base);
    (void)batch; /* the budget is rows per tier (RETAIN_ROWS), not series */
    *deleted = 0;
    int64_t raw_cut = now_ms - (int64_t)(r->raw_s * 1000);
    int64_t min_cut = history_floor_div(now_ms - (int64_t)(r->minute_s * 1000), MINUTE_MS);
    int64_t hour_cut = history_floor_div(now_ms - (int64_t)(r->hour_s * 1000), HOUR_MS);
    /* Whole days first: a partition that ends at or before the cut is dropped. */
    struct pq_args a = {0};
    pq_int(&a, raw_cut);
    pq_int(&a, RETAIN_PARTITIONS);
    int64_t dropped = 0;
    enum sm_rc rc = pg_one(st, "drop old partitions", SM_EIO, "SELECT sm_samples_drop($1, $2)", &a,
                           read_i64, &dropped);
    if (rc != SM_OK)
        return rc;
    *deleted += (size_t)dropped;
    /* Sealed windows before the cut; the one across it is rows again. */
    if ((rc = store_pg_chunks_retain(st, raw_cut, deleted)) != SM_OK)
        return rc;
    /* Then the older part of the day the cut falls in, agent by agent along the key. */
    if ((rc = delete_rows(st, "delete old samples",
                          "DELETE FROM samples WHERE ts < $1 AND (agent_id, ts) IN"
                          " (SELECT o.agent_id, o.ts FROM agents a CROSS JOIN LATERAL"
                          " (SELECT agent_id, ts FROM samples WHERE agent_id = a.id AND ts < $1"
                          " ORDER BY ts LIMIT $2) o LIMIT $2)",
                          raw_cut, deleted)) != SM_OK ||
        (rc = delete_rows(st, "delete old minutes",
                          "DELETE FROM rollup_1m WHERE ctid = ANY(ARRAY(SELECT ctid FROM"
                          " rollup_1m WHERE bucket < $1 LIMIT $2))",
                          min_cut, deleted)) != SM_OK ||
        (rc = delete_rows(st, "delete old hours",
                          "DELETE FROM rollup_1h WHERE ctid = ANY(ARRAY(SELECT ctid FROM"
                          " rollup_1h WHERE bucket < $1 LIMIT $2))",
                          hour_cut, deleted)) != SM_OK)
        return rc;
    return SM_OK;
}

/* ------------------------------------------------------------------ queries */

struct query {
    struct store_pg *st;
    int64_t series, agent;
    int64_t sealed_end; /* the end of the agent's newest sealed window (INT64_MIN: none) */
    struct history_result *out;
    struct history_acc acc;
};

/* A history_point_fn: one sealed point into its output bucket. */
static void
sealed_point(void *arg, int64_t key, int64_t t, double v)
{
    (void)key;
    struct query *q = arg;
    history_acc_add(&q->acc, (t - q->acc.origin) / q->acc.width, 1, v, v, v);
}

/* Merge the rows of a grouped read: (bucket index, n, sum, min, max, rows read). */
static void
merge_groups(struct query *q, const PGresult *r)
{
    for (int row = 0; row < PQntuples(r); row++) {
        q->out->rows_read += (size_t)pq_get_int(r, row, 5);
        history_acc_add(&q->acc, pq_get_int(r, row, 0), pq_get_int(r, row, 1),
                        strtod(PQgetvalue(r, row, 2), NULL), strtod(PQgetvalue(r, row, 3), NULL),
                        strtod(PQgetvalue(r, row, 4), NULL));
    }
}

static enum sm_rc
read_groups(struct query *q, const char *what, const char *sql, const struct pq_args *a)
{
    PGresult *r;
    enum sm_rc rc = pq_run(q->st, what, sql, a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    merge_groups(q, r);
    PQclear(r);
    return SM_OK;
}

/* Raw points of the series in [lo, hi): the agent's sample rows, each one's value of the
 * series when it has one, grouped by output bucket; and, when the range reaches back to a
 * sealed window, its chunks (store_pg_chunks.c), read in the same snapshot as the rows
 * (a window sealed or unsealed meanwhile is seen once), each chunk a row read. */
static enum sm_rc
read_raw(struct query *q, int64_t lo, int64_t hi)
{
    if (lo >= hi || q->agent == 0)
        return SM_OK;
    static const char rows_sql[] =
        "SELECT (ts - $5) / $6, count(v), sum(v), min(v), max(v), count(*)"
        " FROM (SELECT ts, vals[array_position(sids, $2::bigint)] AS v"
        " FROM samples WHERE agent_id = $1 AND ts >= $3 AND ts < $4) x GROUP BY 1";
    struct pq_args a = {0}, ca;
    pq_int(&a, q->agent);
    pq_int(&a, q->series);
    pq_int(&a, lo);
    pq_int(&a, hi);
    pq_int(&a, q->acc.origin);
    pq_int(&a, q->acc.width);
    if (lo >= q->sealed_end)
        return read_groups(q, "history raw", rows_sql, &a);
    store_pg_chunks_args(&ca, q->agent, q->series, lo, hi);
    struct pq_stmt s[] = {
        {.what = "history raw", .sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"},
        {.what = "history raw", .sql = rows_sql, .a = &a},
        {.what = "history chunks", .sql = store_pg_chunks_sql, .a = &ca, .binary = 1},
        {.what = "history raw", .sql = "COMMIT"},
    };
    enum sm_rc rc = pq_pipeline(q->st, s, 4, NULL);
    if (rc != SM_OK) {
        /* The transaction the pipeline began is left aborted. */
        PGresult *r;
        if (pq_run(q->st, "history raw", "ROLLBACK", NULL, &r, NULL) == SM_OK)
            PQclear(r);
        return rc;
    }
    merge_groups(q, s[1].res);
    q->out->rows_read += (size_t)PQntuples(s[2].res);
    rc = store_pg_chunks_feed(s[2].res, lo, hi, sealed_point, q);
    for (size_t i = 0; i < 4; i++)
        PQclear(s[i].res);
    return rc;
}

/* A history_read_fn: the rows of one tier in [lo, hi), grouped by output bucket. */
static enum sm_rc
read_tier(void *arg, enum history_tier tier, int64_t lo, int64_t hi)
{
    struct query *q = arg;
    if (tier == HISTORY_RAW)
        return read_raw(q, lo, hi);
    int64_t size = tier == HISTORY_HOUR ? HOUR_MS : MINUTE_MS;
    struct pq_args a = {0};
    pq_int(&a, q->series);
    pq_int(&a, lo / size);
    pq_int(&a, hi / size);
    pq_int(&a, size);
    pq_int(&a, q->acc.origin);
    pq_int(&a, q->acc.width);
    if (tier == HISTORY_HOUR)
        return read_groups(q, "history hours",
                           "SELECT (bucket * $4 - $5) / $6, sum(n), sum(sum), min(min), max(max),"
                           " count(*) FROM rollup_1h WHERE series_id = $1 AND bucket >= $2"
                           " AND bucket < $3 GROUP BY 1",
                           &a);
    return read_groups(q, "history minutes",
                       "SELECT (bucket * $4 - $5) / $6, sum(n), sum(sum), min(min), max(max),"
                       " count(*) FROM rollup_1m WHERE series_id = $1 AND bucket >= $2"
                       " AND bucket < $3 GROUP BY 1",
                       &a);
}

/* What a query starts from: the series, its agent, the watermark, the agent's oldest
 * dirty minute (INT64_MAX when none) and where its newest sealed window ends. */
struct series_state {
    int64_t id, agent, watermark, dirty, sealed_end;
};

static void
read_series_state(const PGresult *r, int row, void *out)
{
    struct series_state *s = out;
    s->id = pq_get_int(r, row, 0);
    s->agent = pq_get_int(r, row, 1);
    s->watermark = pq_get_int(r, row, 2);
    s->dirty = PQgetisnull(r, row, 3) ? INT64_MAX : pq_get_int(r, row, 3);
    s->sealed_end = PQgetisnull(r, row, 4) ? INT64_MIN : pq_get_int(r, row, 4);
}

enum sm_rc
store_pg_history_query(struct store *base, int64_t agent_id, const char *name, const char *labels,
                       int64_t start_ms, int64_t stop_ms, size_t points, struct history_result *out)
{
    struct store_pg *st = pg(base);
    memset(out, 0, sizeof *out);
    struct pq_args a = {0};
    pq_int(&a, agent_id);
    pq_text(&a, name);
    pq_text(&a, labels ? labels : "");
    struct series_state ss;
    enum sm_rc rc = pg_one(st, "find series", SM_ENOTFOUND,
                           "SELECT s.id, s.agent_id,"
                           " (SELECT v FROM rollup_state WHERE k = 'minute_done'),"
                           " (SELECT min(bucket) FROM rollup_dirty WHERE agent_id = s.agent_id),"
                           " (SELECT sm_fdiv(max(t0), 7200000) * 7200000 + 7200000"
                           " FROM chunk_samples WHERE agent_id = s.agent_id)"
                           " FROM series s WHERE s.agent_id = $1 AND s.name = $2 AND s.labels = $3",
                           &a, read_series_state, &ss);
    if (rc != SM_OK)
        return rc;
    /* The answer's shape and the reads, exactly as history.c's history_query. */
    struct query q = {
        .st = st, .series = ss.id, .agent = ss.agent, .sealed_end = ss.sealed_end, .out = out};
    if ((rc = history_acc_init(&q.acc, start_ms, stop_ms, points, out)) != SM_OK)
        return rc;
    /* Dirty minutes are read raw until they are re-rolled. */
    int64_t w = ss.watermark;
    if (ss.dirty != INT64_MAX && ss.dirty * MINUTE_MS < w)
        w = ss.dirty * MINUTE_MS;
    rc = history_read_range(out->tier, start_ms, stop_ms, w, read_tier, &q);
    if (rc == SM_OK)
        history_acc_finish(&q.acc, start_ms, out);
    else
        history_acc_done(&q.acc);
    return rc;
}
