/* store_pg_ingest.c: the samples schema, group commit, batch writes, newest values and
 * counts of the PostgreSQL backend (store_pg.h).
 *
 * The model is SQLite's (history.h): series(agent, name, labels) get ids; a sample is
 * one row of samples(agent_id, ts ms) holding its points as two arrays of the same
 * length, series ids (ascending, each once) and values, so an ingest writes one row per
 * sample and rollups unnest them in SQL. samples is partitioned by range of ts, one
 * partition per UTC day (samples_d<day>, day = ts / 86400000), made ahead of time by
 * maintenance (store_pg_rollup) and by the writer for a day it has not seen made yet;
 * retention drops whole partitions. The newest sample of each agent in full is kept in
 * latest, as on SQLite. Samples that arrive behind the rollup watermark mark their
 * minute in rollup_dirty, as on SQLite; the advisory lock STORE_PG_ROLLUP_LOCK keeps
 * that watermark true for a whole group commit, across instances.
 *
 * Every value is a bound parameter; the only SQL made at run time is made inside the
 * database by sm_samples_day() from an integer, with format()'s quoting. */
#include "config.h"

#include "store_pg.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pg_array.h"
#include "series_cache.h"
#include "xmalloc.h"

/* Migration of the samples schema: self-contained, so that it can take any number in
 * store_pg.c's list. */
const char store_pg_ingest_schema[] =
    /* Floor division (ts may in principle be negative; / truncates toward zero). */
    "CREATE FUNCTION sm_fdiv(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE"
    " PARALLEL SAFE AS 'SELECT CASE WHEN a >= 0 THEN a / b ELSE -((b - 1 - a) / b) END';"
    "CREATE TABLE series(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " agent_id bigint NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    " name text NOT NULL, labels text NOT NULL, UNIQUE(agent_id, name, labels));"
    /* No foreign key on samples (a check per row costs ingest; partitions make it
     * dearer): agent_delete removes them. */
    "CREATE TABLE samples(agent_id bigint NOT NULL, ts bigint NOT NULL,"
    " sids bigint[] NOT NULL, vals double precision[] NOT NULL,"
    " PRIMARY KEY(agent_id, ts)) PARTITION BY RANGE (ts);"
    "CREATE TABLE latest(agent_id bigint PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,"
    " ts bigint NOT NULL, sample text NOT NULL);"
    "CREATE TABLE rollup_1m(series_id bigint NOT NULL, bucket bigint NOT NULL, n bigint NOT NULL,"
    " sum double precision NOT NULL, min double precision NOT NULL,"
    " max double precision NOT NULL, PRIMARY KEY(series_id, bucket));"
    "CREATE INDEX rollup_1m_bucket ON rollup_1m(bucket);"
    "CREATE TABLE rollup_1h(series_id bigint NOT NULL, bucket bigint NOT NULL, n bigint NOT NULL,"
    " sum double precision NOT NULL, min double precision NOT NULL,"
    " max double precision NOT NULL, PRIMARY KEY(series_id, bucket));"
    "CREATE INDEX rollup_1h_bucket ON rollup_1h(bucket);"
    "CREATE TABLE rollup_dirty(agent_id bigint NOT NULL, bucket bigint NOT NULL,"
    " PRIMARY KEY(agent_id, bucket));"
    "CREATE TABLE rollup_state(k text PRIMARY KEY, v bigint NOT NULL);"
    "INSERT INTO rollup_state VALUES ('minute_done', 0), ('dirty_seen', 0), ('dirty_wait', 0);"
    /* The partition of one day, made when missing; two instances making it at once
     * both succeed. */
    "CREATE FUNCTION sm_samples_day(day bigint) RETURNS void LANGUAGE plpgsql AS $f$"
    " BEGIN"
    "  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF samples"
    " FOR VALUES FROM (%L) TO (%L)', 'samples_d' || day, day * 86400000, (day + 1) * 86400000);"
    " EXCEPTION WHEN duplicate_table OR unique_violation THEN NULL;"
    " END $f$;"
    /* Drop the partitions that end at or before cut, oldest first, at most most of them;
     * returns how many samples they held. */
    "CREATE FUNCTION sm_samples_drop(cut bigint, most int) RETURNS bigint LANGUAGE plpgsql"
    " AS $f$ DECLARE p record; n bigint := 0; k bigint;"
    " BEGIN"
    "  FOR p IN SELECT c.relname AS rel,"
    "   substring(c.relname from '^samples_d(-?[0-9]+)$')::bigint AS day"
    "   FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    "   WHERE i.inhparent = 'samples'::regclass ORDER BY 2 LIMIT most LOOP"
    "   EXIT WHEN p.day IS NULL OR (p.day + 1) * 86400000 > cut;"
    "   EXECUTE format('SELECT count(*) FROM %I', p.rel) INTO k;"
    "   EXECUTE format('DROP TABLE %I', p.rel);"
    "   n := n + k;"
    "  END LOOP;"
    "  RETURN n;"
    " END $f$;";

/* ------------------------------------------------------------------ the writer's caches */

struct tagged {
    int64_t series;
    double value;
    size_t pos;
};

#define DAYS_KNOWN 8

struct pg_ingest {
    struct series_cache cache; /* series ids and counts */
    int64_t days[DAYS_KNOWN];  /* day partitions known to exist (a ring) */
    size_t ndays, day_next;
    int64_t watermark;  /* minute_done at store_pg_begin */
    int savepoint_open; /* the last batch's savepoint, released by the next batch or COMMIT */
    int sp;             /* which of the two savepoint names is the newest */
    int warned_cap;
    /* scratch, kept between batches */
    struct tagged *pairs;
    size_t pairs_cap;
    struct pg_array tss, sids, vals, offs, cnts;
};

static struct pg_ingest *
ingest(struct store_pg *st)
{
    if (!st->ing)
        st->ing = sm_xcalloc(1, sizeof *st->ing);
    return st->ing;
}

/* Forget what a rollback undid: series ids, counts and partitions made in it. */
static void
ingest_forget(struct store_pg *st)
{
    struct pg_ingest *g = st->ing;
    if (!g)
        return;
    series_cache_clear(&g->cache);
    g->ndays = g->day_next = 0;
}

void
store_pg_ingest_free(struct store_pg *st)
{
    if (!st->ing)
        return;
    ingest_forget(st);
    free(st->ing->pairs);
    pg_array_free(&st->ing->tss);
    pg_array_free(&st->ing->sids);
    pg_array_free(&st->ing->vals);
    pg_array_free(&st->ing->offs);
    pg_array_free(&st->ing->cnts);
    free(st->ing);
    st->ing = NULL;
}

static void
read_i64(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = pq_get_int(r, row, 0);
}

/* The id of series (agent, name, labels), made when new; *id = 0 when the agent is at
 * STORE_SERIES_CAP. */
static enum sm_rc
series_id(struct store_pg *st, int64_t agent_id, const char *name, const char *labels, int64_t *id,
          char **cause)
{
    struct pg_ingest *g = st->ing;
    if (series_cache_get(&g->cache, agent_id, name, labels, id))
        return SM_OK;
    struct pq_args a = {0};
    pq_int(&a, agent_id);
    pq_text(&a, name);
    pq_text(&a, labels);
    static const char find[] =
        "SELECT id FROM series WHERE agent_id = $1 AND name = $2 AND labels = $3";
    enum sm_rc rc = pg_one(st, "find series", SM_ENOTFOUND, find, &a, read_i64, id);
    if (rc == SM_ENOTFOUND) {
        int64_t *count = series_cache_count(&g->cache, agent_id);
        if (*count < 0) {
            struct pq_args ca = {0};
            pq_int(&ca, agent_id);
            if ((rc = pg_one(st, "count series", SM_EIO,
                             "SELECT count(*) FROM series WHERE agent_id = $1", &ca, read_i64,
                             count)) != SM_OK)
                return rc;
        }
        if (*count >= STORE_SERIES_CAP) {
            if (!g->warned_cap)
                sm_log(SM_LOG_WARN, "agent %" PRId64 " reached %d series: new series are dropped",
                       agent_id, STORE_SERIES_CAP);
            g->warned_cap = 1;
            *id = 0;
            return SM_OK;
        }
        /* Another instance may make the same series at once: then its id is read. */
        rc = pg_one(st, "add series", SM_ENOTFOUND,
                    "INSERT INTO series(agent_id, name, labels) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING RETURNING id",
                    &a, read_i64, id);
        if (rc == SM_ENOTFOUND)
            rc = pg_one(st, "find series", SM_EIO, find, &a, read_i64, id);
        if (rc == SM_OK)
            (*count)++;
    }
    if (rc != SM_OK) {
        if (cause)
            *cause = sm_xstrdup("postgresql: cannot resolve a series");
        return rc;
    }
    series_cache_put(&g->cache, agent_id, name, labels, *id);
    return SM_OK;
}

enum sm_rc
store_pg_day(struct store_pg *st, int64_t day)
{
    struct pg_ingest *g = ingest(st);
    for (size_t i = 0; i < g->ndays; i++)
        if (g->days[i] == day)
            return SM_OK;
    struct pq_args a = {0};
    pq_int(&a, day);
    enum sm_rc rc = pq_run(st, "make day partition", "SELECT sm_samples_day($1)", &a, NULL, NULL);
    if (rc != SM_OK)
        return rc;
    g->days[g->day_next] = day;
    g->day_next = (g->day_next + 1) % DAYS_KNOWN;
    if (g->ndays < DAYS_KNOWN)
        g->ndays++;
    return SM_OK;
}

/* ------------------------------------------------------------------ group commit */

static void
read_begin(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = pq_get_int(r, row, 1);
}

enum sm_rc
store_pg_begin(struct store *base)
{
    struct store_pg *st = pg(base);
    struct pg_ingest *g = ingest(st);
    /* Shared: group commits of every instance run side by side, rollup steps between.
     * BEGIN and the lock in one round trip. */
    g->watermark = 0;
    g->savepoint_open = 0;
    struct pq_stmt s[] = {
        {.what = "begin", .sql = "BEGIN"},
        {.what = "begin",
         .sql = "SELECT pg_advisory_xact_lock_shared(" STORE_PG_ROLLUP_LOCK "),"
                " (SELECT v FROM rollup_state WHERE k = 'minute_done')"},
    };
    enum sm_rc rc = pq_pipeline(st, s, 2, NULL);
    st->in_tx = 1; /* until the rollback below, or the group's commit */
    if (rc == SM_OK && PQntuples(s[1].res) == 1)
        read_begin(s[1].res, 0, &g->watermark);
    else if (rc == SM_OK)
        rc = SM_EIO;
    PQclear(s[0].res);
    PQclear(s[1].res);
    if (rc != SM_OK) {
        store_pg_rollback(base);
        return rc;
    }
    return SM_OK;
}

enum sm_rc
store_pg_commit(struct store *base)
{
    struct store_pg *st = pg(base);
    enum sm_rc rc = pq_commit(st);
    if (rc != SM_OK) {
        ingest_forget(st);
        pq_rollback(st);
    }
    return rc;
}

void
store_pg_rollback(struct store *base)
{
    struct store_pg *st = pg(base);
    ingest_forget(st);
    pq_rollback(st);
}

/* ------------------------------------------------------------------ batch writes */

/* A growing text buffer for array literals. */
struct text {
    char *s;
    size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[64];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    t->s = sm_xgrow(t->s, &t->cap, t->len + (size_t)n + 1, 1);
    memcpy(t->s + t->len, tmp, (size_t)n + 1);
    t->len += (size_t)n;
}

static int
tagged_cmp(const void *a, const void *b)
{
    const struct tagged *x = a, *y = b;
    if (x->series != y->series)
        return (x->series > y->series) - (x->series < y->series);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

struct ts_pos {
    int64_t ts;
    size_t i;
};

static int
ts_cmp(const void *a, const void *b)
{
    const struct ts_pos *x = a, *y = b;
    if (x->ts != y->ts)
        return (x->ts > y->ts) - (x->ts < y->ts);
    return (x->i > y->i) - (x->i < y->i);
}

/* Mark in dup[] the samples of b that are already stored, or that repeat an earlier
 * sample of the same batch: they are duplicates and create nothing, not even series. */
static enum sm_rc
find_duplicates(struct store_pg *st, const struct store_batch *b, char *dup, int ask, char **cause)
{
    struct ts_pos *order = sm_xreallocarray(NULL, b->nsamples, sizeof *order);
    for (size_t i = 0; i < b->nsamples; i++)
        order[i] = (struct ts_pos){b->samples[i].ts_ms, i};
    qsort(order, b->nsamples, sizeof *order, ts_cmp);
    struct text list = {0};
    text_add(&list, "{");
    for (size_t i = 0; i < b->nsamples; i++) {
        if (i > 0 && order[i].ts == order[i - 1].ts) {
            dup[order[i].i] = 1;
            continue;
        }
        text_add(&list, "%s%" PRId64, list.len > 1 ? "," : "", order[i].ts);
    }
    text_add(&list, "}");
    if (!ask) {
        free(list.s);
        free(order);
        return SM_OK;
    }
    struct pq_args a = {0};
    pq_int(&a, b->agent_id);
    pq_text(&a, list.s);
    PGresult *r;
    enum sm_rc rc = pq_run(st, "find samples",
                           "SELECT ts FROM samples WHERE agent_id = $1 AND ts = ANY($2::bigint[])",
                           &a, &r, cause);
    free(list.s);
    if (rc == SM_OK) {
        for (int k = 0; k < PQntuples(r); k++) {
            struct ts_pos key = {pq_get_int(r, k, 0), 0};
            /* The first of that ts in order (i = 0 sorts first among equals). */
            size_t lo = 0, hi = b->nsamples;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (order[mid].ts < key.ts)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t j = lo; j < b->nsamples && order[j].ts == key.ts; j++)
                dup[order[j].i] = 1;
        }
        PQclear(r);
    }
    free(order);
    return rc;
}

/* Add the points of one sample that is not a duplicate to the batch's arrays: its
 * timestamp, its series ids (resolved, made when new) and values appended to the flat
 * arrays, and where they start and how many there are. */
static enum sm_rc
add_sample(struct store_pg *st, const struct store_batch *b, const struct store_sample *smp,
           char **cause)
{
    struct pg_ingest *g = st->ing;
    enum sm_rc rc = store_pg_day(st, history_floor_div(smp->ts_ms, STORE_PG_DAY_MS));
    if (rc != SM_OK)
        return rc;
    g->pairs = sm_xgrow(g->pairs, &g->pairs_cap, smp->npoints + 1, sizeof *g->pairs);
    size_t np = 0;
    for (size_t j = 0; j < smp->npoints; j++) {
        const struct store_point *p = &smp->points[j];
        int64_t sid;
        if ((rc = series_id(st, b->agent_id, p->name, p->labels, &sid, cause)) != SM_OK)
            return rc;
        if (sid > 0 && isfinite(p->value))
            g->pairs[np++] = (struct tagged){sid, p->value, j};
    }
    /* By series id, each once (the first given), as SQLite's point blob. */
    qsort(g->pairs, np, sizeof *g->pairs, tagged_cmp);
    uint32_t first = g->sids.n;
    for (size_t j = 0; j < np; j++) {
        if (j > 0 && g->pairs[j].series == g->pairs[j - 1].series)
            continue;
        pg_array_add(&g->sids, (uint64_t)g->pairs[j].series, 8);
        pg_array_add_f64(&g->vals, g->pairs[j].value);
    }
    pg_array_add(&g->tss, (uint64_t)smp->ts_ms, 8);
    pg_array_add(&g->offs, first, 4);
    pg_array_add(&g->cnts, g->sids.n - first, 4);
    return SM_OK;
}

/* Whether the batch's day partition is known to exist. */
static int
day_known(const struct pg_ingest *g, int64_t ts_ms)
{
    int64_t day = history_floor_div(ts_ms, STORE_PG_DAY_MS);
    for (size_t i = 0; i < g->ndays; i++)
        if (g->days[i] == day)
            return 1;
    return 0;
}

/* Savepoints take turns between two names, so that a batch's ROLLBACK TO never reaches
 * the savepoint of the batch before it: when this batch's savepoint was not made, the
 * name it would have had is already released, the ROLLBACK TO fails, and the whole
 * group transaction fails instead of losing a batch it would report stored. */
static const char *const sp_make[2] = {"SAVEPOINT batch_a", "SAVEPOINT batch_b"};
static const char *const sp_release[2] = {"RELEASE SAVEPOINT batch_a", "RELEASE SAVEPOINT batch_b"};
static const char *const sp_undo[2] = {"ROLLBACK TO SAVEPOINT batch_a",
                                       "ROLLBACK TO SAVEPOINT batch_b"};

/* The statements that open this batch's savepoint (after releasing the last batch's):
 * run before the batch's first statement, or in the pipeline of its writes. */
static size_t
savepoint_stmts(struct pg_ingest *g, struct pq_stmt *s)
{
    size_t n = 0;
    if (g->savepoint_open) {
        s[n++] = (struct pq_stmt){.what = "release", .sql = sp_release[g->sp]};
        g->sp ^= 1;
    }
    s[n++] = (struct pq_stmt){.what = "savepoint", .sql = sp_make[g->sp]};
    g->savepoint_open = 1;
    return n;
}

/* Write batch b inside the group transaction, under a savepoint of its own that the
 * caller rolls back to on failure. When every series and day partition of b is known
 * (the usual case), the whole batch is one round trip: savepoint, samples (with their
 * late minutes) and the agent's row in one pipeline. */
static enum sm_rc
batch_write(struct store_pg *st, const struct store_batch *b, size_t *stored, size_t *dups,
            char **cause)
{
    struct pg_ingest *g = st->ing;
    char *dup = sm_xcalloc(b->nsamples ? b->nsamples : 1, 1);
    /* A duplicate makes no series: when a sample needs a series not known yet, the
     * stored ones are found first; otherwise the INSERT's ON CONFLICT tells. */
    int known = 1, days = 1;
    for (size_t i = 0; i < b->nsamples && known; i++) {
        days = days && day_known(g, b->samples[i].ts_ms);
        for (size_t j = 0; j < b->samples[i].npoints && known; j++)
            known = series_cache_get(&g->cache, b->agent_id, b->samples[i].points[j].name,
                                     b->samples[i].points[j].labels, NULL);
    }
    int procs = 0;
    for (size_t i = 0; i < b->nsamples && !procs; i++)
        procs = b->samples[i].procs_json != NULL;
    /* Only a sample behind the watermark can be in a sealed window (store_pg_chunks.c). */
    int late = 0;
    for (size_t i = 0; i < b->nsamples && !late; i++)
        late = b->samples[i].ts_ms < g->watermark;
    struct pq_stmt stmts[5];
    size_t nst = savepoint_stmts(g, stmts);
    /* The agent's lock, shared: none of its windows is sealed until the group commits. */
    struct pq_args la = {0};
    pq_int(&la, b->agent_id);
    stmts[nst++] =
        (struct pq_stmt){.what = "lock agent",
                         .name = "sm_lock_agent",
                         .sql = "SELECT pg_advisory_xact_lock_shared(" STORE_PG_AGENT_LOCK
                                ", " STORE_PG_AGENT_KEY ")",
                         .a = &la};
    enum sm_rc rc = SM_OK;
    if (!known || !days || procs || late) {
        /* Statements come before the writes: the savepoint first, alone. */
        rc = pq_pipeline(st, stmts, nst, cause);
        for (size_t i = 0; i < nst; i++)
            PQclear(stmts[i].res);
        nst = 0;
    }
    /* Process snapshots first, in the savepoint: they tell a resent sample (stored
     * already) from a new one by the samples not written yet. */
    if (rc == SM_OK && procs)
        rc = store_pg_procs_write(st, b, cause);
    if (rc == SM_OK && b->nsamples)
        rc = find_duplicates(st, b, dup, !known, cause);
    if (rc == SM_OK && late && (rc = store_pg_chunks_dups(st, b, g->watermark, dup)) != SM_OK &&
        cause)
        *cause = sm_xstrdup("postgresql: cannot read the sealed samples");
    pg_array_start(&g->tss, PG_OID_INT8);
    pg_array_start(&g->sids, PG_OID_INT8);
    pg_array_start(&g->vals, PG_OID_FLOAT8);
    pg_array_start(&g->offs, PG_OID_INT4);
    pg_array_start(&g->cnts, PG_OID_INT4);
    size_t nwrite = 0;
    for (size_t i = 0; i < b->nsamples && rc == SM_OK; i++) {
        if (dup[i]) {
            (*dups)++;
            continue;
        }
        rc = add_sample(st, b, &b->samples[i], cause);
        nwrite++;
    }
    pg_array_finish(&g->tss);
    pg_array_finish(&g->sids);
    pg_array_finish(&g->vals);
    pg_array_finish(&g->offs);
    pg_array_finish(&g->cnts);
    free(dup);
    /* All the batch's samples in one statement, each row's arrays a slice of the flat
     * ones; RETURNING names those stored (one that another connection stored meanwhile
     * is a duplicate). Those behind the watermark mark their minutes dirty in the same
     * statement. */
    struct pq_args ia = {0}, aa = {0};
    pq_int(&ia, b->agent_id);
    pq_blob(&ia, g->tss.p, g->tss.len);
    pq_blob(&ia, g->sids.p, g->sids.len);
    pq_blob(&ia, g->vals.p, g->vals.len);
    pq_int(&ia, g->watermark);
    pq_int(&ia, b->now * 1000);
    pq_blob(&ia, g->offs.p, g->offs.len);
    pq_blob(&ia, g->cnts.p, g->cnts.len);
    size_t ins = nst;
    if (nwrite > 0)
        stmts[nst++] = (struct pq_stmt){
            .what = "add samples",
            .name = "sm_add_samples",
            .sql = "WITH ins AS (INSERT INTO samples(agent_id, ts, sids, vals) SELECT $1, u.ts,"
                   " ($3::bigint[])[u.o + 1 : u.o + u.c],"
                   " ($4::double precision[])[u.o + 1 : u.o + u.c] FROM"
                   " unnest($2::bigint[], $7::int[], $8::int[]) AS u(ts, o, c)"
                   " ON CONFLICT DO NOTHING RETURNING ts),"
                   " d AS (INSERT INTO rollup_dirty(agent_id, bucket)"
                   " SELECT DISTINCT $1::bigint, sm_fdiv(ts, 60000) FROM ins WHERE ts < $5"
                   " ON CONFLICT DO NOTHING),"
                   " s AS (INSERT INTO rollup_state(k, v) SELECT 'dirty_seen', $6::bigint"
                   " WHERE EXISTS (SELECT 1 FROM ins WHERE ts < $5)"
                   " ON CONFLICT (k) DO UPDATE SET v = excluded.v)"
                   " SELECT ts FROM ins",
            .a = &ia};
    pq_int(&aa, b->agent_id);
    pq_int(&aa, b->now);
    pq_text(&aa, b->host_json);
    pq_int(&aa, b->latest_ts_ms);
    pq_text(&aa, b->latest_json);
    size_t upd = nst;
    stmts[nst++] = (struct pq_stmt){
        .what = "update agent",
        .name = "sm_update_agent",
        .sql = "WITH a AS (UPDATE agents SET last_seen = $2, host = COALESCE($3, host)"
               " WHERE id = $1 RETURNING id),"
               " l AS (INSERT INTO latest(agent_id, ts, sample) SELECT id, $4, $5 FROM a"
               " WHERE $5::text IS NOT NULL ON CONFLICT (agent_id) DO UPDATE"
               " SET ts = excluded.ts, sample = excluded.sample WHERE excluded.ts >= latest.ts)"
               " SELECT count(*) FROM a",
        .a = &aa};
    if (rc == SM_OK)
        rc = pq_pipeline(st, stmts, nst, cause);
    if (rc != SM_OK)
        return rc;
    if (nwrite > 0) {
        size_t n = (size_t)PQntuples(stmts[ins].res);
        *stored += n;
        *dups += nwrite - n;
    }
    int64_t seen = PQntuples(stmts[upd].res) == 1 ? pq_get_int(stmts[upd].res, 0, 0) : 0;
    for (size_t i = 0; i < nst; i++)
        PQclear(stmts[i].res);
    if (seen == 0) {
        if (cause)
            *cause = sm_xstrdup("agent was deleted");
        return SM_EAUTH;
    }
    return SM_OK;
}

/* The batch's missing day partitions, made before the group transaction (store.h), one
 * autocommitted statement each that holds no other lock while it waits for samples. */
enum sm_rc
store_pg_prepare(struct store *base, const struct store_batch *b)
{
    struct store_pg *st = pg(base);
    if (st->in_tx)
        return SM_OK;
    enum sm_rc rc = SM_OK;
    for (size_t i = 0; i < b->nsamples && rc == SM_OK; i++) /* known days: no statement */
        rc = store_pg_day(st, history_floor_div(b->samples[i].ts_ms, STORE_PG_DAY_MS));
    return rc;
}

enum sm_rc
store_pg_batch_write(struct store *base, const struct store_batch *b, size_t *stored,
                     size_t *duplicates, char **cause)
{
    struct store_pg *st = pg(base);
    ingest(st);
    for (int attempt = 0;; attempt++) {
        *stored = *duplicates = 0;
        /* The savepoint stays open after a success: the next batch or COMMIT releases it,
         * in the same round trip as its own work. */
        enum sm_rc rc = batch_write(st, b, stored, duplicates, cause);
        if (rc == SM_OK && *stored) /* the live stream of the other instances */
            rc = store_pg_notify(st, b, cause);
        if (rc == SM_OK)
            return SM_OK;
        /* Undo this batch alone; the series and partitions it made are gone with it. */
        int no_partition = strcmp(st->sqlstate, "23514") == 0;
        struct pq_stmt undo[] = {
            {.what = "rollback to", .sql = sp_undo[st->ing->sp]},
            {.what = "release", .sql = sp_release[st->ing->sp]},
        };
        if (pq_pipeline(st, undo, 2, NULL) != SM_OK)
            sm_log(SM_LOG_WARN, "postgresql: rollback to savepoint failed");
        PQclear(undo[0].res);
        PQclear(undo[1].res);
        st->ing->savepoint_open = 0;
        ingest_forget(st);
        *stored = *duplicates = 0;
        /* A day partition this connection knew was dropped by retention meanwhile (the
         * batch holds samples older than it): once more, making it again. */
        if (attempt == 0 && no_partition) {
            if (cause) {
                free(*cause);
                *cause = NULL;
            }
            continue;
        }
        return rc;
    }
}

/* ------------------------------------------------------------------ reading */

enum sm_rc
store_pg_series_list(struct store *base, int64_t agent_id, store_series_fn fn, void *arg)
{
    struct pq_args a = {0};
    pq_int(&a, agent_id);
    PGresult *r;
    /* Byte order, as SQLite's. */
    enum sm_rc rc = pq_run(pg(base), "list series",
                           "SELECT name, labels FROM series WHERE agent_id = $1"
                           " ORDER BY name COLLATE \"C\", labels COLLATE \"C\"",
                           &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        fn(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), arg);
    PQclear(r);
    return SM_OK;
}

static void
read_strdup(const PGresult *r, int row, void *out)
{
    *(char **)out = sm_xstrdup(PQgetvalue(r, row, 0));
}

enum sm_rc
store_pg_latest(struct store *base, int64_t agent_id, char **json)
{
    struct pq_args a = {0};
    pq_int(&a, agent_id);
    /* Any failure reads as "none", as a missing row does (SQLite does the same). */
    if (pg_one(pg(base), "latest sample", SM_ENOTFOUND,
               "SELECT sample FROM latest WHERE agent_id = $1", &a, read_strdup, json) != SM_OK)
        return SM_ENOTFOUND;
    return SM_OK;
}

enum sm_rc
store_pg_latest_points(struct store *base, store_point_fn fn, void *arg)
{
    PGresult *r;
    /* The newest sample of each agent (one index seek per partition), its points
     * unnested, in the order of store.h. */
    enum sm_rc rc = pq_run(pg(base), "latest points",
                           "SELECT a.id, a.name, u.name, s.name, s.labels, x.v FROM agents a"
                           " JOIN users u ON u.id = a.user_id CROSS JOIN LATERAL"
                           " (SELECT sids, vals FROM samples WHERE agent_id = a.id"
                           " ORDER BY ts DESC LIMIT 1) n CROSS JOIN LATERAL"
                           " unnest(n.sids, n.vals) AS x(sid, v) JOIN series s ON s.id = x.sid"
                           " ORDER BY s.name COLLATE \"C\", a.id, s.labels COLLATE \"C\"",
                           NULL, &r, NULL);
    if (rc != SM_OK)
        return rc;
    for (int i = 0; i < PQntuples(r); i++)
        fn(pq_get_int(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
           PQgetvalue(r, i, 4), strtod(PQgetvalue(r, i, 5), NULL), arg);
    PQclear(r);
    return SM_OK;
}

static void
read_counts(const PGresult *r, int row, void *out)
{
    int64_t *v = out;
    v[0] = pq_get_int(r, row, 0);
    v[1] = pq_get_int(r, row, 1);
}

static void
read_size(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = pq_get_int(r, row, 0);
}

/* The database's size; its WAL belongs to the whole cluster, so none is given. */
enum sm_rc
store_pg_size(struct store *base, double *db_bytes, double *wal_bytes)
{
    int64_t v = 0;
    enum sm_rc rc = pg_one(pg(base), "size", SM_EIO, "SELECT pg_database_size(current_database())",
                           NULL, read_size, &v);
    *db_bytes = (double)v;
    *wal_bytes = -1;
    return rc;
}

enum sm_rc
store_pg_count(struct store *base, int64_t *samples, int64_t *points)
{
    int64_t v[2] = {0, 0};
    /* Rows and sealed samples (store_pg_chunks.c). */
    enum sm_rc rc = pg_one(pg(base), "count", SM_EIO,
                           "SELECT (SELECT count(*) FROM samples) +"
                           " (SELECT COALESCE(sum(n), 0) FROM chunk_samples),"
                           " (SELECT COALESCE(sum(cardinality(sids)), 0) FROM samples) +"
                           " (SELECT COALESCE(sum(n), 0) FROM chunks)",
                           NULL, read_counts, v);
    *samples = v[0];
    *points = v[1];
    return rc;
}
