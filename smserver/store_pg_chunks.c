/* store_pg_chunks.c: sealed raw points of the PostgreSQL backend (store_pg.h), the chunks
 * of SQLite's history_chunk.c in tables of the same shape and with the same codec
 * (history_chunk_encode, history_chunk_feed; chunk.h):
 *  - chunks(series_id, t0, t1, n, ix, data): one compressed chunk per series and
 *    two-hour window (HISTORY_CHUNK_WINDOW_MS); with ix, the points' times are positions
 *    in the window's sample times;
 *  - chunk_samples(agent_id, t0, t1, n, data): the window's sample times, each with its
 *    point count as value: what tells a resent sample once its row is gone.
 *
 * Sealing (store_pg_seal, after each rollup step): an agent's oldest window of sample rows is
 * sealed once it is wholly rolled up, none of its minutes is dirty, and the agent has a
 * newer row (its newest sample stays a row: latest_points reads it), each window in a
 * transaction of its own that holds the rollup lock shared and the agent's lock
 * (STORE_PG_AGENT_LOCK) exclusively: no rollup step runs and none of that agent's
 * batches is written meanwhile, while the other agents' are. The window's rows
 * and what was sealed of it before (late samples) become new chunks, checked by counts,
 * and the rows are deleted; the day partition they leave empty is truncated once the
 * whole day is sealed (store_pg_seal_trim), which gives its pages back.
 *
 * Everything else reads rows as before: a window is unsealed (its chunks turned back into
 * rows) before its dirty minutes are re-rolled in SQL and before retention cuts through
 * it, and sealed again by a later step. Queries read chunks beside rows, in one snapshot
 * (store_pg_history.c). The writer holds its batch's agent lock shared and checks
 * chunk_samples for samples behind the watermark only: no window ahead of it is sealed.
 *
 * Every value is a bound parameter; chunks are read in binary form (pq_run_binary). */
#include "config.h"

#include "store_pg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "clock.h"
#include "history.h"
#include "log.h"
#include "pg_array.h"
#include "xmalloc.h"

#define WINDOW_MS HISTORY_CHUNK_WINDOW_MS
/* Stop sealing more windows after this much work (seconds) in one step: writers wait on
 * the step's lock. */
#define SEAL_STEP_S 0.1
/* Chunk rows retention deletes per table and call. */
#define RETAIN_CHUNKS 20000

/* Migration 6. The data is compressed already: EXTERNAL keeps PostgreSQL from trying
 * again when it moves a long one out of line. */
const char store_pg_chunks_schema[] =
    "CREATE TABLE chunks(series_id bigint NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
    " t0 bigint NOT NULL, t1 bigint NOT NULL, n int NOT NULL, ix boolean NOT NULL,"
    " data bytea NOT NULL, PRIMARY KEY(series_id, t0));"
    "ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL;"
    "CREATE INDEX chunks_t0 ON chunks(t0);"
    "CREATE TABLE chunk_samples(agent_id bigint NOT NULL REFERENCES agents(id)"
    " ON DELETE CASCADE, t0 bigint NOT NULL, t1 bigint NOT NULL, n int NOT NULL,"
    " data bytea NOT NULL, PRIMARY KEY(agent_id, t0));"
    "ALTER TABLE chunk_samples ALTER COLUMN data SET STORAGE EXTERNAL;"
    "CREATE INDEX chunk_samples_t0 ON chunk_samples(t0);"
    /* Truncate the day partitions that end at or before cut, hold no row, and still
     * have pages. Each under a short lock wait: one that is busy (autovacuum is at it,
     * or a query reads it) is left to the next step, or to autovacuum, which truncates
     * a table's empty end itself. */
    "CREATE FUNCTION sm_samples_trim(cut bigint) RETURNS int LANGUAGE plpgsql AS $f$"
    " DECLARE p record; n int := 0; e boolean;"
    " BEGIN"
    "  PERFORM set_config('lock_timeout', '200', true);"
    "  FOR p IN SELECT c.oid AS id, c.relname AS rel,"
    "   substring(c.relname from '^samples_d(-?[0-9]+)$')::bigint AS day"
    "   FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    "   WHERE i.inhparent = 'samples'::regclass ORDER BY 3 LOOP"
    "   EXIT WHEN p.day IS NULL OR (p.day + 1) * 86400000 > cut;"
    "   CONTINUE WHEN pg_relation_size(p.id) = 0;"
    "   BEGIN"
    "    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', p.rel);"
    "    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', p.rel) INTO e;"
    "    IF e THEN EXECUTE format('TRUNCATE %I', p.rel); n := n + 1; END IF;"
    "   EXCEPTION WHEN lock_not_available THEN NULL;"
    "   END;"
    "  END LOOP;"
    "  RETURN n;"
    " END $f$;";

/* ------------------------------------------------------------------ points in memory */

/* Points by time, then series: the order of sample rows. */
static int
by_time_key(const void *a, const void *b)
{
    const struct history_wpoint *x = a, *y = b;
    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    return (x->key > y->key) - (x->key < y->key);
}

static int64_t
bin_i64(const PGresult *r, int row, int col)
{
    return PQgetlength(r, row, col) == 8
               ? (int64_t)pg_get_be((const uint8_t *)PQgetvalue(r, row, col), 8)
               : 0;
}

/* The times of an encoded chunk of sample times; SM_EIO when damaged. */
static enum sm_rc
times_decode(const PGresult *r, int row, int col, int64_t **t, size_t *n)
{
    struct chunk_point *pts = NULL;
    size_t np = 0;
    *t = NULL;
    *n = 0;
    if (PQgetisnull(r, row, col) ||
        chunk_decode((const uint8_t *)PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col),
                     &pts, &np) != SM_OK) {
        free(pts);
        return SM_EIO;
    }
    *t = sm_xreallocarray(NULL, np ? np : 1, sizeof **t);
    for (size_t i = 0; i < np; i++)
        (*t)[i] = pts[i].t;
    *n = np;
    free(pts);
    return SM_OK;
}

/* ------------------------------------------------------------------ reading chunks */

/* The chunks of one series (or, series 0, of every series of agent) whose window starts
 * in [window_of(lo), hi) and that end at or after lo, each with its window's sample times
 * when it is an ix chunk: series_id, t0, ix, data, times (binary columns). */
const char store_pg_chunks_sql[] =
    "SELECT c.series_id, c.t0, c.ix, c.data, t.data FROM series s"
    " JOIN chunks c ON c.series_id = s.id AND c.t0 >= $3 AND c.t0 < $4"
    " AND c.t1 >= $5 LEFT JOIN chunk_samples t ON c.ix"
    " AND t.agent_id = s.agent_id AND t.t0 >= sm_fdiv(c.t0, 7200000) * 7200000"
    " AND t.t0 < sm_fdiv(c.t0, 7200000) * 7200000 + 7200000"
    " WHERE s.agent_id = $1 AND ($2::bigint = 0 OR s.id = $2)"
    " ORDER BY c.series_id, c.t0";

void
store_pg_chunks_args(struct pq_args *a, int64_t agent, int64_t series, int64_t lo, int64_t hi)
{
    *a = (struct pq_args){0};
    pq_int(a, agent);
    pq_int(a, series);
    pq_int(a, history_window_of(lo));
    pq_int(a, hi);
    pq_int(a, lo);
}

enum sm_rc
store_pg_chunks_feed(const PGresult *r, int64_t lo, int64_t hi, history_point_fn fn, void *arg)
{
    enum sm_rc rc = SM_OK;
    for (int row = 0; row < PQntuples(r) && rc == SM_OK; row++) {
        int64_t series = bin_i64(r, row, 0), t0 = bin_i64(r, row, 1);
        int ix = PQgetlength(r, row, 2) == 1 && PQgetvalue(r, row, 2)[0] != 0;
        int64_t *times = NULL;
        size_t ntimes = 0;
        if (ix && times_decode(r, row, 4, &times, &ntimes) != SM_OK) {
            sm_log(SM_LOG_WARN,
                   "history: no readable sample times for series %" PRId64 " at %" PRId64, series,
                   t0);
            return SM_EIO;
        }
        rc = history_chunk_feed(PQgetvalue(r, row, 3), (size_t)PQgetlength(r, row, 3), series, t0,
                                lo, hi, times, ntimes, fn, arg);
        free(times);
    }
    return rc;
}

/* Mark in dup[] the samples of b whose times are sealed: only those behind before can
 * be (no window at or after the watermark is sealed). */
enum sm_rc
store_pg_chunks_dups(struct store_pg *st, const struct store_batch *b, int64_t before, char *dup)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < b->nsamples; i++)
        if (b->samples[i].ts_ms < before) {
            lo = b->samples[i].ts_ms < lo ? b->samples[i].ts_ms : lo;
            hi = b->samples[i].ts_ms > hi ? b->samples[i].ts_ms : hi;
        }
    if (lo > hi)
        return SM_OK;
    struct pq_args a = {0};
    pq_int(&a, b->agent_id);
    pq_int(&a, history_window_of(lo));
    pq_int(&a, hi);
    pq_int(&a, lo);
    PGresult *r;
    enum sm_rc rc = pq_run_binary(st, "find sealed samples",
                                  "SELECT data FROM chunk_samples WHERE agent_id = $1"
                                  " AND t0 >= $2 AND t0 <= $3 AND t1 >= $4",
                                  &a, &r);
    if (rc != SM_OK)
        return rc;
    for (int row = 0; row < PQntuples(r) && rc == SM_OK; row++) {
        int64_t *t;
        size_t n;
        if (times_decode(r, row, 0, &t, &n) != SM_OK) {
            /* Cannot tell: refuse the batch rather than store a sample twice. */
            sm_log(SM_LOG_WARN, "postgresql: damaged sample times of agent %" PRId64, b->agent_id);
            rc = SM_EIO;
            break;
        }
        for (size_t i = 0; i < b->nsamples; i++)
            if (history_time_index(t, n, b->samples[i].ts_ms) >= 0)
                dup[i] = 1;
        free(t);
    }
    PQclear(r);
    return rc;
}

/* ------------------------------------------------------------------ unsealing */

/* What is sealed of agent's window w0: its points into pts, its sample times (key the
 * agent, value the point count) into times. SM_EIO when a chunk is damaged. */
static enum sm_rc
window_load(struct store_pg *st, int64_t agent, int64_t w0, struct history_wset *pts,
            struct history_wset *times)
{
    PGresult *r;
    struct pq_args ca = {0};
    pq_int(&ca, agent);
    pq_int(&ca, 0);
    pq_int(&ca, w0);
    pq_int(&ca, w0 + WINDOW_MS);
    pq_int(&ca, INT64_MIN);
    enum sm_rc rc = pq_run_binary(st, "read chunks", store_pg_chunks_sql, &ca, &r);
    if (rc != SM_OK)
        return rc;
    rc = store_pg_chunks_feed(r, INT64_MIN, INT64_MAX, history_wset_add, pts);
    PQclear(r);
    if (rc != SM_OK)
        return rc;
    struct pq_args a = {0};
    pq_int(&a, agent);
    pq_int(&a, w0);
    pq_int(&a, w0 + WINDOW_MS);
    if ((rc = pq_run_binary(st, "read sample times",
                            "SELECT t0, data FROM chunk_samples WHERE agent_id = $1 AND t0 >= $2"
                            " AND t0 < $3",
                            &a, &r)) != SM_OK)
        return rc;
    for (int row = 0; row < PQntuples(r) && rc == SM_OK; row++)
        rc = history_chunk_feed(PQgetvalue(r, row, 1), (size_t)PQgetlength(r, row, 1), agent,
                                bin_i64(r, row, 0), INT64_MIN, INT64_MAX, NULL, 0, history_wset_add,
                                times);
    PQclear(r);
    return rc;
}

/* Write the points of pts as sample rows of agent (one row a time, its series ascending)
 * for the times of times; a row that exists stays. */
static enum sm_rc
rows_write(struct store_pg *st, int64_t agent, struct history_wset *pts, struct history_wset *times)
{
    history_wset_sort(pts);
    history_wset_sort(times);
    qsort(pts->p, pts->n, sizeof *pts->p, by_time_key);
    struct pg_array tss = {0}, sids = {0}, vals = {0}, offs = {0}, cnts = {0};
    pg_array_start(&tss, PG_OID_INT8);
    pg_array_start(&sids, PG_OID_INT8);
    pg_array_start(&vals, PG_OID_FLOAT8);
    pg_array_start(&offs, PG_OID_INT4);
    pg_array_start(&cnts, PG_OID_INT4);
    size_t j = 0;
    for (size_t i = 0; i < times->n; i++) {
        int64_t ts = times->p[i].t;
        uint32_t first = sids.n;
        while (j < pts->n && pts->p[j].t < ts)
            j++; /* a point off the sample times cannot be placed (never written so) */
        for (; j < pts->n && pts->p[j].t == ts; j++) {
            pg_array_add(&sids, (uint64_t)pts->p[j].key, 8);
            pg_array_add_f64(&vals, pts->p[j].v);
        }
        pg_array_add(&tss, (uint64_t)ts, 8);
        pg_array_add(&offs, first, 4);
        pg_array_add(&cnts, sids.n - first, 4);
    }
    pg_array_finish(&tss);
    pg_array_finish(&sids);
    pg_array_finish(&vals);
    pg_array_finish(&offs);
    pg_array_finish(&cnts);
    struct pq_args a = {0};
    pq_int(&a, agent);
    pq_blob(&a, tss.p, tss.len);
    pq_blob(&a, sids.p, sids.len);
    pq_blob(&a, vals.p, vals.len);
    pq_blob(&a, offs.p, offs.len);
    pq_blob(&a, cnts.p, cnts.len);
    enum sm_rc rc = pq_run(st, "unseal samples",
                           "INSERT INTO samples(agent_id, ts, sids, vals) SELECT $1, u.ts,"
                           " ($3::bigint[])[u.o + 1 : u.o + u.c],"
                           " ($4::double precision[])[u.o + 1 : u.o + u.c] FROM"
                           " unnest($2::bigint[], $5::int[], $6::int[]) AS u(ts, o, c)"
                           " ON CONFLICT DO NOTHING",
                           &a, NULL, NULL);
    pg_array_free(&tss);
    pg_array_free(&sids);
    pg_array_free(&vals);
    pg_array_free(&offs);
    pg_array_free(&cnts);
    return rc;
}

static enum sm_rc
window_drop(struct store_pg *st, int64_t agent, int64_t w0)
{
    struct pq_args a = {0};
    pq_int(&a, agent);
    pq_int(&a, w0);
    pq_int(&a, w0 + WINDOW_MS);
    enum sm_rc rc = pq_run(st, "delete chunks",
                           "DELETE FROM chunks WHERE series_id IN (SELECT id FROM series"
                           " WHERE agent_id = $1) AND t0 >= $2 AND t0 < $3",
                           &a, NULL, NULL);
    if (rc == SM_OK)
        rc = pq_run(st, "delete sample times",
                    "DELETE FROM chunk_samples WHERE agent_id = $1 AND t0 >= $2 AND t0 < $3", &a,
                    NULL, NULL);
    return rc;
}

enum sm_rc
store_pg_unseal(struct store_pg *st, int64_t agent, int64_t w0)
{
    struct history_wset pts = {0}, times = {0};
    enum sm_rc rc = window_load(st, agent, w0, &pts, &times);
    /* A damaged chunk (the statements went well: the transaction is sound) stays as it
     * is: SM_EPARSE, which the callers pass over so that one bad chunk does not stop
     * every rollup. */
    if (rc == SM_EIO && PQtransactionStatus(st->conn) == PQTRANS_INTRANS) {
        sm_log(SM_LOG_WARN,
               "postgresql: agent %" PRId64 "'s window at %" PRId64 " is damaged: kept sealed",
               agent, w0);
        rc = SM_EPARSE;
    }
    if (rc == SM_OK && times.n > 0 &&
        (rc = store_pg_day(st, history_floor_div(w0, STORE_PG_DAY_MS))) == SM_OK &&
        (rc = rows_write(st, agent, &pts, &times)) == SM_OK)
        rc = window_drop(st, agent, w0);
    free(pts.p);
    free(times.p);
    return rc;
}

/* ------------------------------------------------------------------ sealing */

/* The window's rows of agent into pts and times; *rows counts them. */
static enum sm_rc
rows_load(struct store_pg *st, int64_t agent, int64_t w0, struct history_wset *pts,
          struct history_wset *times, size_t *rows)
{
    struct pq_args a = {0};
    pq_int(&a, agent);
    pq_int(&a, w0);
    pq_int(&a, w0 + WINDOW_MS);
    PGresult *r;
    enum sm_rc rc = pq_run_binary(st, "read samples to seal",
                                  "SELECT ts, sids, vals FROM samples WHERE agent_id = $1"
                                  " AND ts >= $2 AND ts < $3",
                                  &a, &r);
    if (rc != SM_OK)
        return rc;
    uint64_t *sid = NULL, *val = NULL;
    size_t scap = 0, vcap = 0, ns = 0, nv = 0;
    *rows = (size_t)PQntuples(r);
    for (int row = 0; row < PQntuples(r) && rc == SM_OK; row++) {
        int64_t ts = bin_i64(r, row, 0);
        if (pg_array_read8((const uint8_t *)PQgetvalue(r, row, 1), (size_t)PQgetlength(r, row, 1),
                           &sid, &scap, &ns) != 0 ||
            pg_array_read8((const uint8_t *)PQgetvalue(r, row, 2), (size_t)PQgetlength(r, row, 2),
                           &val, &vcap, &nv) != 0 ||
            ns != nv) {
            sm_log(SM_LOG_WARN,
                   "postgresql: agent %" PRId64 "'s sample at %" PRId64
                   " is not two arrays of one length; its window stays rows",
                   agent, ts);
            rc = SM_EIO;
            break;
        }
        for (size_t i = 0; i < ns; i++) {
            double v;
            memcpy(&v, &val[i], sizeof v);
            history_wset_add(pts, (int64_t)sid[i], ts, v);
        }
        history_wset_add(times, agent, ts, (double)ns);
    }
    free(sid);
    free(val);
    PQclear(r);
    return rc;
}

/* A history_chunk_out: one chunk appended to the arrays of one INSERT (key, t0, t1, n,
 * data, and ix when there is an array for it). */
struct chunk_cols {
    struct pg_array *cols, *ixs;
};

static enum sm_rc
chunk_add(void *arg, const struct history_wpoint *p, size_t k, const uint8_t *buf, size_t len,
          int ix)
{
    struct chunk_cols *c = arg;
    pg_array_add(&c->cols[0], (uint64_t)p[0].key, 8);
    pg_array_add(&c->cols[1], (uint64_t)p[0].t, 8);
    pg_array_add(&c->cols[2], (uint64_t)p[k - 1].t, 8);
    pg_array_add(&c->cols[3], (uint64_t)k, 4);
    pg_array_add_bytes(&c->cols[4], buf, len);
    if (c->ixs)
        pg_array_add(c->ixs, (uint64_t)ix, 1);
    return SM_OK;
}

/* Insert the chunks of pts (sorted by key and time; with times, ix chunks where they fit)
 * or of times (ixs 0) into table. */
static enum sm_rc
chunks_insert(struct store_pg *st, const struct history_wset *s, const int64_t *times,
              size_t ntimes, int ixs)
{
    struct pg_array cols[5] = {{0}}, ix = {0};
    static const uint32_t oids[5] = {PG_OID_INT8, PG_OID_INT8, PG_OID_INT8, PG_OID_INT4,
                                     PG_OID_BYTEA};
    for (int c = 0; c < 5; c++)
        pg_array_start(&cols[c], oids[c]);
    pg_array_start(&ix, PG_OID_BOOL);
    enum sm_rc rc = SM_OK;
    for (size_t i = 0; i < s->n && rc == SM_OK;) {
        size_t e = i + 1;
        while (e < s->n && s->p[e].key == s->p[i].key)
            e++;
        struct chunk_cols cc = {cols, ixs ? &ix : NULL};
        rc = history_chunks_encode(s->p + i, e - i, ixs ? times : NULL, ntimes, chunk_add, &cc);
        i = e;
    }
    for (int c = 0; c < 5; c++)
        pg_array_finish(&cols[c]);
    pg_array_finish(&ix);
    struct pq_args a = {0};
    for (int c = 0; c < 5; c++)
        pq_blob(&a, cols[c].p, cols[c].len);
    if (rc == SM_OK && ixs) {
        pq_blob(&a, ix.p, ix.len);
        rc = pq_run(st, "write chunks",
                    "INSERT INTO chunks(series_id, t0, t1, n, data, ix) SELECT * FROM"
                    " unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::bytea[],"
                    " $6::boolean[])",
                    &a, NULL, NULL);
    } else if (rc == SM_OK) {
        rc = pq_run(st, "write sample times",
                    "INSERT INTO chunk_samples(agent_id, t0, t1, n, data) SELECT * FROM"
                    " unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::bytea[])",
                    &a, NULL, NULL);
    }
    for (int c = 0; c < 5; c++)
        pg_array_free(&cols[c]);
    pg_array_free(&ix);
    return rc;
}

static void
read_two(const PGresult *r, int row, void *out)
{
    int64_t *v = out;
    v[0] = pq_get_int(r, row, 0);
    v[1] = pq_get_int(r, row, 1);
}

/* Seal agent's window w0 (its rows and what was sealed of it before) inside the caller's
 * transaction; the counts are checked before the rows go. */
static enum sm_rc
seal_window(struct store_pg *st, int64_t agent, int64_t w0, size_t *samples, size_t *points)
{
    struct history_wset pts = {0}, times = {0};
    size_t rows = 0;
    int64_t *tarr = NULL;
    enum sm_rc rc = window_load(st, agent, w0, &pts, &times);
    if (rc == SM_OK)
        rc = rows_load(st, agent, w0, &pts, &times, &rows);
    if (rc != SM_OK)
        goto out;
    size_t from_rows = pts.n;
    history_wset_sort(&pts);
    history_wset_sort(&times);
    /* The series keep positions in the window's sample times when those fit one chunk. */
    if (times.n > 0 && times.n <= CHUNK_MAX_POINTS) {
        tarr = sm_xreallocarray(NULL, times.n, sizeof *tarr);
        for (size_t i = 0; i < times.n; i++)
            tarr[i] = times.p[i].t;
    }
    if ((rc = window_drop(st, agent, w0)) != SM_OK ||
        (pts.n && (rc = chunks_insert(st, &pts, tarr, tarr ? times.n : 0, 1)) != SM_OK) ||
        (times.n && (rc = chunks_insert(st, &times, NULL, 0, 0)) != SM_OK))
        goto out;
    struct pq_args a = {0};
    pq_int(&a, agent);
    pq_int(&a, w0);
    pq_int(&a, w0 + WINDOW_MS);
    int64_t got[2] = {-1, -1};
    if ((rc = pg_one(st, "count sealed", SM_EIO,
                     "SELECT (SELECT coalesce(sum(c.n), 0) FROM series s JOIN chunks c"
                     " ON c.series_id = s.id AND c.t0 >= $2 AND c.t0 < $3 WHERE s.agent_id = $1),"
                     " (SELECT coalesce(sum(n), 0) FROM chunk_samples WHERE agent_id = $1"
                     " AND t0 >= $2 AND t0 < $3)",
                     &a, read_two, got)) != SM_OK)
        goto out;
    if (got[0] != (int64_t)pts.n || got[1] != (int64_t)times.n) {
        sm_log(SM_LOG_ERROR,
               "postgresql: sealing agent %" PRId64 " at %" PRId64 ": %" PRId64 " of %zu points"
               " and %" PRId64 " of %zu samples in chunks; left as rows",
               agent, w0, got[0], pts.n, got[1], times.n);
        rc = SM_EIO;
        goto out;
    }
    PGresult *r;
    if ((rc = pq_run(st, "delete sealed rows",
                     "DELETE FROM samples WHERE agent_id = $1 AND ts >= $2 AND ts < $3", &a, &r,
                     NULL)) != SM_OK)
        goto out;
    size_t deleted = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (deleted != rows) {
        rc = SM_EIO; /* cannot happen under the step's lock; refuse rather than guess */
        goto out;
    }
    *samples += rows;
    *points += from_rows;
out:
    free(pts.p);
    free(times.p);
    free(tarr);
    return rc;
}

static void
read_flag(const PGresult *r, int row, void *out)
{
    *(int *)out = PQgetvalue(r, row, 0)[0] == 't';
}

/* Seal agent's window w0 in a transaction of its own that holds the rollup lock shared
 * (as a group commit does: no rollup step runs meanwhile) and the agent's lock
 * exclusively (none of the agent's batches is being written meanwhile; the writers of
 * other agents go on). The window is checked again under the locks. *sealed is 1 when
 * it was sealed. */
static enum sm_rc
seal_one(struct store_pg *st, int64_t agent, int64_t w0, size_t *samples, size_t *points,
         int *sealed)
{
    *sealed = 0;
    enum sm_rc rc = pq_begin(st);
    if (rc != SM_OK)
        return rc;
    struct pq_args la = {0}, a = {0};
    pq_int(&la, agent);
    pq_int(&a, agent);
    pq_int(&a, w0);
    int due = 0;
    if ((rc = pq_run(st, "lock agent",
                     "SELECT pg_advisory_xact_lock_shared(" STORE_PG_ROLLUP_LOCK "),"
                     " pg_advisory_xact_lock(" STORE_PG_AGENT_LOCK ", " STORE_PG_AGENT_KEY ")",
                     &la, NULL, NULL)) != SM_OK ||
        (rc = pg_one(st, "check window", SM_EIO,
                     "SELECT (SELECT v FROM rollup_state WHERE k = 'minute_done')"
                     " >= $2::bigint + 7200000"
                     " AND EXISTS (SELECT 1 FROM samples WHERE agent_id = $1"
                     " AND ts >= $2::bigint AND ts < $2::bigint + 7200000)"
                     " AND EXISTS (SELECT 1 FROM samples WHERE agent_id = $1"
                     " AND ts >= $2::bigint + 7200000)"
                     " AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE agent_id = $1"
                     " AND bucket >= $2::bigint / 60000"
                     " AND bucket < ($2::bigint + 7200000) / 60000)",
                     &a, read_flag, &due)) != SM_OK) {
        pq_rollback(st);
        return rc;
    }
    if (!due) {
        pq_rollback(st);
        return SM_OK;
    }
    if ((rc = seal_window(st, agent, w0, samples, points)) == SM_OK &&
        (rc = pq_commit(st)) == SM_OK) {
        *sealed = 1;
        return SM_OK;
    }
    pq_rollback(st);
    return rc;
}

enum sm_rc
store_pg_seal(struct store_pg *st, int64_t done, size_t *work)
{
    /* Each agent's oldest row, when its window looks sealable (module comment); each is
     * checked again under its locks. */
    struct pq_args a = {0};
    pq_int(&a, done);
    PGresult *r;
    enum sm_rc rc = pq_run(st, "find windows to seal",
                           "SELECT a.id, o.w FROM agents a CROSS JOIN LATERAL"
                           " (SELECT sm_fdiv(min(ts), 7200000) * 7200000 AS w FROM samples"
                           " WHERE agent_id = a.id) o"
                           " WHERE o.w IS NOT NULL AND o.w + 7200000 <= $1"
                           " AND EXISTS (SELECT 1 FROM samples s WHERE s.agent_id = a.id"
                           " AND s.ts >= o.w + 7200000)"
                           " AND NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.agent_id = a.id"
                           " AND d.bucket >= o.w / 60000 AND d.bucket < (o.w + 7200000) / 60000)"
                           " ORDER BY a.id",
                           &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    double t0 = sm_mono_now();
    size_t samples = 0, points = 0;
    for (int row = 0; row < PQntuples(r) && rc == SM_OK && sm_mono_now() - t0 < SEAL_STEP_S;
         row++) {
        int64_t agent = pq_get_int(r, row, 0), w0 = pq_get_int(r, row, 1);
        int sealed;
        enum sm_rc s = seal_one(st, agent, w0, &samples, &points, &sealed);
        /* One that cannot be sealed (a damaged chunk, a failed count) stays as it was;
         * the other agents go on. */
        if (s == SM_EUNAVAIL)
            rc = s;
        else if (s != SM_OK)
            sm_log(SM_LOG_WARN,
                   "postgresql: agent %" PRId64 "'s window at %" PRId64 " left unsealed", agent,
                   w0);
        *work += (size_t)sealed;
    }
    PQclear(r);
    if (*work)
        sm_log(SM_LOG_DEBUG, "postgresql: sealed %zu windows in %.0f ms: %zu samples, %zu points",
               *work, (sm_mono_now() - t0) * 1000, samples, points);
    return rc;
}

static void
read_one(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = pq_get_int(r, row, 0);
}

void
store_pg_seal_trim(struct store_pg *st, int64_t done)
{
    /* The days before the oldest row of any agent are all sealed (or empty). Its own
     * statement first: TRUNCATE refuses a table that a query of the session still
     * reads. */
    int64_t oldest = done;
    if (pg_one(st, "oldest row", SM_EIO,
               "SELECT min(o.ts) FROM agents x CROSS JOIN LATERAL"
               " (SELECT min(ts) AS ts FROM samples WHERE agent_id = x.id) o"
               " HAVING min(o.ts) IS NOT NULL",
               NULL, read_one, &oldest) != SM_OK &&
        oldest != done)
        return;
    struct pq_args a = {0};
    pq_int(&a, oldest < done ? oldest : done);
    PGresult *r;
    if (pq_run(st, "give back sealed days", "SELECT sm_samples_trim($1)", &a, &r, NULL) == SM_OK)
        PQclear(r);
}

/* ------------------------------------------------------------------ retention */

enum sm_rc
store_pg_chunks_retain(struct store_pg *st, int64_t cut, size_t *deleted)
{
    /* Windows wholly before the cut go whole, counted in samples. */
    int64_t wc = history_window_of(cut), n = 0;
    struct pq_args a = {0};
    pq_int(&a, wc);
    pq_int(&a, RETAIN_CHUNKS);
    enum sm_rc rc = pg_one(st, "delete old sample times", SM_EIO,
                           "WITH d AS (DELETE FROM chunk_samples WHERE ctid = ANY(ARRAY("
                           "SELECT ctid FROM chunk_samples WHERE t0 < $1 LIMIT $2)) RETURNING n)"
                           " SELECT coalesce(sum(n), 0) FROM d",
                           &a, read_one, &n);
    if (rc != SM_OK)
        return rc;
    *deleted += (size_t)n;
    if ((rc = pq_run(st, "delete old chunks",
                     "DELETE FROM chunks WHERE ctid = ANY(ARRAY(SELECT ctid FROM chunks"
                     " WHERE t0 < $1 LIMIT $2))",
                     &a, NULL, NULL)) != SM_OK)
        return rc;
    /* The window across the cut: back to rows, which retention then cuts as any rows;
     * a later step seals what is left. */
    struct pq_args w = {0};
    pq_int(&w, wc);
    pq_int(&w, cut);
    PGresult *r;
    if ((rc = pq_run(st, "find windows across the cut",
                     "SELECT agent_id FROM chunk_samples WHERE t0 >= $1 AND t0 < $2"
                     " ORDER BY agent_id",
                     &w, &r, NULL)) != SM_OK)
        return rc;
    for (int row = 0; row < PQntuples(r) && rc == SM_OK; row++) {
        if ((rc = pq_begin(st)) != SM_OK)
            break;
        rc = pq_run(st, "lock rollup", "SELECT pg_advisory_xact_lock(" STORE_PG_ROLLUP_LOCK ")",
                    NULL, NULL, NULL);
        if (rc == SM_OK)
            rc = store_pg_unseal(st, pq_get_int(r, row, 0), wc);
        if (rc == SM_OK || rc == SM_EPARSE) /* damaged: kept whole until all past the cut */
            rc = pq_commit(st);
        else
            pq_rollback(st);
    }
    PQclear(r);
    return rc;
}
