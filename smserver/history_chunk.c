/* history_chunk.c: sealed raw points, one compressed chunk per series and window
 * (history.h, "Chunks"; the codec is chunk.c). */
#include "config.h"

#include "history.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "clock.h"
#include "log.h"
#include "xmalloc.h"

/* Stop sealing more windows after this much work (seconds) in one step. */
#define SEAL_STEP_S 0.1

const char history_chunk_schema_sql[] =
    /* A rowid table: its leaves take up to a page of a chunk and the rest goes to full
     * overflow pages, where an index b-tree (WITHOUT ROWID) keeps under a quarter of a
     * page in the leaf and left a fifth of the pages empty. */
    "CREATE TABLE chunks(series_id INTEGER NOT NULL, t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,"
    " n INTEGER NOT NULL, ix INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(series_id, t0));"
    "CREATE TABLE chunk_samples(agent_id INTEGER NOT NULL, t0 INTEGER NOT NULL,"
    " t1 INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(agent_id, t0)) WITHOUT ROWID;";

int64_t
history_window_of(int64_t t)
{
    return history_floor_div(t, HISTORY_CHUNK_WINDOW_MS) * HISTORY_CHUNK_WINDOW_MS;
}

static enum sm_rc
step_rc(sqlite3 *db, int rc)
{
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return SM_OK;
    sm_log(SM_LOG_WARN, "history: %s", sqlite3_errmsg(db));
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? SM_EBUSY : SM_EIO;
}

static enum sm_rc
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK) {
        sm_log(SM_LOG_ERROR, "history: %s", sqlite3_errmsg(db));
        *s = NULL;
        return SM_EINTERNAL;
    }
    return SM_OK;
}

/* ------------------------------------------------------------------ reading */

/* The sample times of an agent's windows, decoded once per call: what the points of an
 * index chunk (chunks.ix = 1) are positions in. */
struct times_cache {
    int64_t agent;
    struct window_times {
        int64_t w0;
        int64_t *t; /* NULL: the window has no single chunk of times (damaged) */
        size_t n;
    } * w;
    size_t nw, cap;
};

static void
times_done(struct times_cache *c)
{
    for (size_t i = 0; i < c->nw; i++)
        free(c->w[i].t);
    free(c->w);
    memset(c, 0, sizeof *c);
}

/* The sample times of agent's window w0 (its one chunk_samples row); SM_EIO when there
 * is not exactly one or it is damaged. */
static enum sm_rc
times_get(sqlite3 *db, struct times_cache *c, int64_t agent, int64_t w0, const int64_t **t,
          size_t *n)
{
    if (c->agent != agent) {
        times_done(c);
        c->agent = agent;
    }
    for (size_t i = 0; i < c->nw; i++)
        if (c->w[i].w0 == w0) {
            *t = c->w[i].t;
            *n = c->w[i].n;
            return c->w[i].t ? SM_OK : SM_EIO;
        }
    c->w = sm_xgrow(c->w, &c->cap, c->nw + 1, sizeof *c->w);
    struct window_times *w = &c->w[c->nw++];
    *w = (struct window_times){w0, NULL, 0};
    sqlite3_stmt *s;
    enum sm_rc rc = prepare(db,
                            "SELECT data FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2"
                            " AND t0 < ?3 LIMIT 2",
                            &s);
    if (rc != SM_OK)
        return rc;
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, w0);
    sqlite3_bind_int64(s, 3, w0 + HISTORY_CHUNK_WINDOW_MS);
    struct chunk_point *pts = NULL;
    size_t np = 0;
    rc = SM_EIO;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(s, 0);
        int len = sqlite3_column_bytes(s, 0);
        if (blob && len > 0 && chunk_decode(blob, (size_t)len, &pts, &np) == SM_OK &&
            sqlite3_step(s) == SQLITE_DONE)
            rc = SM_OK;
    }
    sqlite3_finalize(s);
    if (rc == SM_OK) {
        w->t = sm_xreallocarray(NULL, np ? np : 1, sizeof *w->t);
        for (size_t i = 0; i < np; i++)
            w->t[i] = pts[i].t;
        w->n = np;
    } else {
        sm_log(SM_LOG_WARN, "history: no readable sample times of agent %lld at %lld",
               (long long)agent, (long long)w0);
    }
    free(pts);
    *t = w->t;
    *n = w->n;
    return rc;
}

enum sm_rc
history_chunk_feed(const void *blob, size_t len, int64_t key, int64_t t0, int64_t lo, int64_t hi,
                   const int64_t *times, size_t ntimes, history_point_fn fn, void *arg)
{
    struct chunk_iter it;
    struct chunk_point p;
    int k = -1;
    if (blob && len > 0 && chunk_iter_init(&it, blob, len) == SM_OK) {
        while ((k = chunk_iter_next(&it, &p)) == 1) {
            if (times) {
                if (p.t < 0 || p.t >= (int64_t)ntimes) {
                    k = -1;
                    break;
                }
                p.t = times[p.t];
            }
            if (p.t >= lo && p.t < hi)
                fn(arg, key, p.t, p.v);
        }
    }
    if (k != 0) {
        sm_log(SM_LOG_WARN, "history: damaged chunk (series or agent %lld, from %lld)",
               (long long)key, (long long)t0);
        return SM_EIO;
    }
    return SM_OK;
}

static enum sm_rc
chunk_feed(const void *blob, int len, int64_t key, int64_t t0, int64_t lo, int64_t hi,
           const int64_t *times, size_t ntimes, history_point_fn fn, void *arg)
{
    return history_chunk_feed(blob, len > 0 ? (size_t)len : 0, key, t0, lo, hi, times, ntimes, fn,
                              arg);
}

/* One row of chunks (series_id, t0, ix, data from column col) fed to fn. */
static enum sm_rc
chunk_row(sqlite3 *db, sqlite3_stmt *s, int col, int64_t agent, struct times_cache *c, int64_t lo,
          int64_t hi, history_point_fn fn, void *arg)
{
    int64_t series = sqlite3_column_int64(s, col), t0 = sqlite3_column_int64(s, col + 1);
    const int64_t *times = NULL;
    size_t ntimes = 0;
    if (sqlite3_column_int64(s, col + 2) != 0) {
        enum sm_rc rc = times_get(db, c, agent, history_window_of(t0), &times, &ntimes);
        if (rc != SM_OK)
            return rc;
    }
    return chunk_feed(sqlite3_column_blob(s, col + 3), sqlite3_column_bytes(s, col + 3), series, t0,
                      lo, hi, times, ntimes, fn, arg);
}

enum sm_rc
history_chunks_read(sqlite3 *db, int64_t series, int64_t lo, int64_t hi, history_point_fn fn,
                    void *arg, size_t *chunks)
{
    if (lo >= hi)
        return SM_OK;
    sqlite3_stmt *s;
    enum sm_rc rc = prepare(db,
                            "SELECT c.series_id, c.t0, c.ix, c.data, s.agent_id FROM chunks c"
                            " JOIN series s ON s.id = c.series_id WHERE c.series_id = ?1"
                            " AND c.t0 >= ?2 AND c.t0 < ?3 AND c.t1 >= ?4",
                            &s);
    if (rc != SM_OK)
        return rc;
    sqlite3_bind_int64(s, 1, series);
    sqlite3_bind_int64(s, 2, history_window_of(lo));
    sqlite3_bind_int64(s, 3, hi);
    sqlite3_bind_int64(s, 4, lo);
    struct times_cache c = {0};
    int step;
    while (rc == SM_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (chunks)
            (*chunks)++;
        rc = chunk_row(db, s, 0, sqlite3_column_int64(s, 4), &c, lo, hi, fn, arg);
    }
    if (rc == SM_OK)
        rc = step_rc(db, step);
    sqlite3_finalize(s);
    times_done(&c);
    return rc;
}

enum sm_rc
history_agent_chunks_read(sqlite3 *db, int64_t agent, int64_t lo, int64_t hi, history_point_fn fn,
                          void *arg)
{
    if (lo >= hi)
        return SM_OK;
    /* Series first, then a range of each one's chunks (CROSS JOIN fixes the loop order). */
    sqlite3_stmt *s;
    enum sm_rc rc = prepare(db,
                            "SELECT c.series_id, c.t0, c.ix, c.data FROM series s CROSS JOIN"
                            " chunks c ON c.series_id = s.id AND c.t0 >= ?2 AND c.t0 < ?3"
                            " AND c.t1 >= ?4 WHERE s.agent_id = ?1",
                            &s);
    if (rc != SM_OK)
        return rc;
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, history_window_of(lo));
    sqlite3_bind_int64(s, 3, hi);
    sqlite3_bind_int64(s, 4, lo);
    struct times_cache c = {0};
    int step;
    while (rc == SM_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
        rc = chunk_row(db, s, 0, agent, &c, lo, hi, fn, arg);
    if (rc == SM_OK)
        rc = step_rc(db, step);
    sqlite3_finalize(s);
    times_done(&c);
    return rc;
}

int
history_agent_sealed(sqlite3 *db, int64_t agent, int64_t lo, int64_t hi)
{
    sqlite3_stmt *s;
    if (lo >= hi || prepare(db,
                            "SELECT 1 FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2"
                            " AND t0 < ?3 AND t1 >= ?4 LIMIT 1",
                            &s) != SM_OK)
        return lo < hi; /* cannot tell: take the careful path */
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, history_window_of(lo));
    sqlite3_bind_int64(s, 3, hi);
    sqlite3_bind_int64(s, 4, lo);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc != SQLITE_DONE;
}

/* ------------------------------------------------------------------ sealing */

void
history_wset_add(void *arg, int64_t key, int64_t t, double v)
{
    struct history_wset *b = arg;
    b->p = sm_xgrow(b->p, &b->cap, b->n + 1, sizeof *b->p);
    b->p[b->n++] = (struct history_wpoint){key, t, v};
}

static int
wpoint_cmp(const void *a, const void *b)
{
    const struct history_wpoint *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->t > y->t) - (x->t < y->t);
}

void
history_wset_sort(struct history_wset *s)
{
    if (s->n == 0)
        return;
    qsort(s->p, s->n, sizeof *s->p, wpoint_cmp);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->p[i].key != s->p[k - 1].key || s->p[i].t != s->p[k - 1].t)
            s->p[k++] = s->p[i];
    s->n = k;
}

int64_t
history_time_index(const int64_t *times, size_t n, int64_t t)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (times[m] < t)
            a = m + 1;
        else
            b = m;
    }
    return a < n && times[a] == t ? (int64_t)a : -1;
}

/* One chunk of k <= CHUNK_MAX_POINTS points, with positions in times when all are there. */
static enum sm_rc
chunk_one(const struct chunk_point *p, size_t k, const int64_t *times, size_t ntimes, uint8_t **buf,
          size_t *len, int *ix)
{
    *buf = NULL;
    *len = 0;
    *ix = times != NULL;
    struct chunk_builder b;
    chunk_builder_init(&b);
    enum sm_rc rc = SM_OK;
    for (size_t j = 0; j < k && *ix; j++)
        *ix = history_time_index(times, ntimes, p[j].t) >= 0;
    for (size_t j = 0; j < k && rc == SM_OK; j++)
        rc = chunk_append(&b, *ix ? history_time_index(times, ntimes, p[j].t) : p[j].t, p[j].v);
    /* chunk_seal keeps the smaller of the two value encodings. */
    if (rc == SM_OK)
        rc = chunk_seal(&b, buf, len);
    chunk_builder_done(&b);
    return rc;
}

enum sm_rc
history_chunks_encode(const struct history_wpoint *p, size_t n, const int64_t *times, size_t ntimes,
                      history_chunk_out out, void *arg)
{
    struct chunk_point *pts =
        sm_xreallocarray(NULL, n < CHUNK_MAX_POINTS ? n : CHUNK_MAX_POINTS, sizeof *pts);
    enum sm_rc rc = SM_OK;
    for (size_t i = 0; i < n && rc == SM_OK;) {
        size_t k = n - i < CHUNK_MAX_POINTS ? n - i : CHUNK_MAX_POINTS;
        for (size_t j = 0; j < k; j++)
            pts[j] = (struct chunk_point){p[i + j].t, p[i + j].v};
        uint8_t *buf;
        size_t len;
        int ix;
        rc = chunk_one(pts, k, k == n ? times : NULL, ntimes, &buf, &len, &ix);
        if (rc == SM_OK)
            rc = out(arg, p + i, k, buf, len, ix);
        else
            sm_log(SM_LOG_WARN, "history: points of %lld cannot be sealed", (long long)p[i].key);
        free(buf);
        i += k;
    }
    free(pts);
    return rc;
}

/* A history_chunk_out: one chunk into the statement ins (key, t0, t1, n, data[, ix]). */
struct chunk_ins {
    sqlite3 *db;
    sqlite3_stmt *ins;
    int ix_col;
};

static enum sm_rc
chunk_insert(void *arg, const struct history_wpoint *p, size_t k, const uint8_t *buf, size_t len,
             int ix)
{
    struct chunk_ins *c = arg;
    sqlite3_reset(c->ins);
    sqlite3_bind_int64(c->ins, 1, p[0].key);
    sqlite3_bind_int64(c->ins, 2, p[0].t);
    sqlite3_bind_int64(c->ins, 3, p[k - 1].t);
    sqlite3_bind_int64(c->ins, 4, (sqlite3_int64)k);
    sqlite3_bind_blob(c->ins, 5, buf, (int)len, SQLITE_STATIC);
    if (c->ix_col)
        sqlite3_bind_int64(c->ins, 6, ix);
    enum sm_rc rc = step_rc(c->db, sqlite3_step(c->ins));
    sqlite3_clear_bindings(c->ins);
    return rc;
}

/* Write the points p[0..n) of one key (sorted by time, no duplicate time) as chunks into
 * ins (key, t0, t1, n, data[, ix]); with times and ix_col, positions where they fit. */
static enum sm_rc
write_chunks(sqlite3 *db, sqlite3_stmt *ins, const struct history_wpoint *p, size_t n,
             const int64_t *times, size_t ntimes, int ix_col)
{
    struct chunk_ins c = {db, ins, ix_col};
    return history_chunks_encode(p, n, ix_col ? times : NULL, ntimes, chunk_insert, &c);
}

/* The one value of a query with three int64 arguments (-1 on failure). */
static int64_t
count2(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c)
{
    sqlite3_stmt *s;
    int64_t n = -1;
    if (prepare(db, sql, &s) != SM_OK)
        return -1;
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    sqlite3_bind_int64(s, 3, c);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Seal agent's window [w0, w0 + HISTORY_CHUNK_WINDOW_MS): its raw sample rows and the
 * chunks sealed before (late samples), merged into new chunks, checked by counts, then
 * the raw rows go. Inside the caller's transaction. */
static enum sm_rc
seal_window(sqlite3 *db, int64_t agent, int64_t w0, int64_t lo, size_t *samples_out,
            size_t *points_out)
{
    int64_t w1 = w0 + HISTORY_CHUNK_WINDOW_MS, from = lo > w0 ? lo : w0;
    int64_t *tarr = NULL;
    struct history_wset pts = {0}, times = {0};
    sqlite3_stmt *s = NULL, *ins = NULL;
    size_t bad = 0, raw_samples = 0;
    enum sm_rc rc = prepare(db,
                            "SELECT ts, data FROM samples WHERE agent_id = ?1 AND ts >= ?2"
                            " AND ts < ?3 ORDER BY ts",
                            &s);
    if (rc != SM_OK)
        return rc;
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, w1);
    struct history_pair *pairs = NULL;
    size_t pcap = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(s, 0);
        const uint8_t *blob = sqlite3_column_blob(s, 1);
        size_t len = (size_t)sqlite3_column_bytes(s, 1), np = 0;
        raw_samples++;
        if (history_blob_check(blob, len, &np) == SM_OK) {
            pairs = sm_xgrow(pairs, &pcap, np ? np : 1, sizeof *pairs);
            if (history_blob_decode(blob, len, pairs, np, &np) != SM_OK)
                np = 0;
            for (size_t i = 0; i < np; i++)
                history_wset_add(&pts, pairs[i].series, ts, pairs[i].value);
            history_wset_add(&times, agent, ts, (double)np);
        } else {
            /* Unreadable today too (readers skip it); the sample's time is kept. */
            bad++;
            history_wset_add(&times, agent, ts, 0.0);
        }
    }
    free(pairs);
    rc = step_rc(db, step);
    sqlite3_finalize(s);
    s = NULL;
    size_t from_raw = pts.n;
    /* What was sealed before in this window. */
    if (rc == SM_OK)
        rc = history_agent_chunks_read(db, agent, from, w1, history_wset_add, &pts);
    if (rc == SM_OK && (rc = prepare(db,
                                     "SELECT t0, data FROM chunk_samples WHERE agent_id = ?1"
                                     " AND t0 >= ?2 AND t0 < ?3",
                                     &s)) == SM_OK) {
        sqlite3_bind_int64(s, 1, agent);
        sqlite3_bind_int64(s, 2, w0);
        sqlite3_bind_int64(s, 3, w1);
        while (rc == SM_OK && (step = sqlite3_step(s)) == SQLITE_ROW)
            rc =
                chunk_feed(sqlite3_column_blob(s, 1), sqlite3_column_bytes(s, 1), agent,
                           sqlite3_column_int64(s, 0), from, w1, NULL, 0, history_wset_add, &times);
        if (rc == SM_OK)
            rc = step_rc(db, step);
        sqlite3_finalize(s);
    }
    if (rc != SM_OK)
        goto out;
    /* Sort and drop repeated times (a sample is stored once; keep the first seen). */
    /* The sample times all have the agent as key. */
    history_wset_sort(&pts);
    history_wset_sort(&times);
    size_t npts = pts.n, ntimes = times.n;
    if ((rc = prepare(db,
                      "DELETE FROM chunks WHERE series_id IN (SELECT id FROM series WHERE"
                      " agent_id = ?1) AND t0 >= ?2 AND t0 < ?3",
                      &s)) != SM_OK)
        goto out;
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, w0);
    sqlite3_bind_int64(s, 3, w1);
    rc = step_rc(db, sqlite3_step(s));
    sqlite3_finalize(s);
    if (rc == SM_OK &&
        (rc = prepare(db, "DELETE FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2 AND t0 < ?3",
                      &s)) == SM_OK) {
        sqlite3_bind_int64(s, 1, agent);
        sqlite3_bind_int64(s, 2, w0);
        sqlite3_bind_int64(s, 3, w1);
        rc = step_rc(db, sqlite3_step(s));
        sqlite3_finalize(s);
    }
    /* The series keep positions in the window's sample times when those fit one chunk. */
    if (ntimes > 0 && ntimes <= CHUNK_MAX_POINTS) {
        tarr = sm_xreallocarray(NULL, ntimes, sizeof *tarr);
        for (size_t i = 0; i < ntimes; i++)
            tarr[i] = times.p[i].t;
    }
    if (rc == SM_OK)
        rc = prepare(db,
                     "INSERT INTO chunks(series_id, t0, t1, n, data, ix)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     &ins);
    for (size_t i = 0; i < npts && rc == SM_OK;) {
        size_t e = i + 1;
        while (e < npts && pts.p[e].key == pts.p[i].key)
            e++;
        rc = write_chunks(db, ins, pts.p + i, e - i, tarr, tarr ? ntimes : 0, 1);
        i = e;
    }
    sqlite3_finalize(ins);
    ins = NULL;
    if (rc == SM_OK && ntimes)
        rc = prepare(db,
                     "INSERT INTO chunk_samples(agent_id, t0, t1, n, data)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
                     &ins);
    if (rc == SM_OK && ntimes)
        rc = write_chunks(db, ins, times.p, ntimes, NULL, 0, 0);
    sqlite3_finalize(ins);
    if (rc != SM_OK)
        goto out;
    /* Checked by counts before the raw rows go: every point and every sample time. */
    int64_t got_pts = count2(db,
                             "SELECT coalesce(sum(c.n), 0) FROM series s CROSS JOIN chunks c"
                             " ON c.series_id = s.id AND c.t0 >= ?2 AND c.t0 < ?3"
                             " WHERE s.agent_id = ?1",
                             agent, w0, w1);
    int64_t got_times = count2(db,
                               "SELECT coalesce(sum(n), 0) FROM chunk_samples WHERE agent_id = ?1"
                               " AND t0 >= ?2 AND t0 < ?3",
                               agent, w0, w1);
    if (got_pts != (int64_t)npts || got_times != (int64_t)ntimes) {
        sm_log(SM_LOG_ERROR,
               "history: sealing agent %lld at %lld: %lld of %zu points and %lld of %zu samples"
               " in chunks; left raw",
               (long long)agent, (long long)w0, (long long)got_pts, npts, (long long)got_times,
               ntimes);
        rc = SM_EIO;
        goto out;
    }
    if ((rc = prepare(db, "DELETE FROM samples WHERE agent_id = ?1 AND ts >= ?2 AND ts < ?3",
                      &s)) != SM_OK)
        goto out;
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, w1);
    rc = step_rc(db, sqlite3_step(s));
    if (rc == SM_OK && (size_t)sqlite3_changes(db) != raw_samples)
        rc = SM_EIO; /* cannot happen inside one transaction; refuse rather than guess */
    if (rc == SM_OK && from > w0) { /* retention: the rows before lo go unsealed */
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 2, w0);
        sqlite3_bind_int64(s, 3, from);
        rc = step_rc(db, sqlite3_step(s));
    }
    sqlite3_finalize(s);
    if (bad)
        sm_log(SM_LOG_WARN, "history: %zu malformed sample blobs of agent %lld sealed empty", bad,
               (long long)agent);
    *samples_out += raw_samples;
    *points_out += from_raw;
out:
    free(pts.p);
    free(times.p);
    free(tarr);
    return rc;
}

/* The oldest raw sample of agent (SM_ENOTFOUND when none) and whether one is newer than
 * its window. */
static enum sm_rc
oldest_raw(sqlite3 *db, int64_t agent, int64_t *ts, int *later)
{
    sqlite3_stmt *s;
    enum sm_rc rc =
        prepare(db,
                "SELECT (SELECT ts FROM samples WHERE agent_id = ?1 ORDER BY ts LIMIT 1),"
                " (SELECT ts FROM samples WHERE agent_id = ?1 ORDER BY ts DESC LIMIT 1)",
                &s);
    if (rc != SM_OK)
        return rc;
    sqlite3_bind_int64(s, 1, agent);
    rc = SM_ENOTFOUND;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *ts = sqlite3_column_int64(s, 0);
        *later = sqlite3_column_int64(s, 1) >= history_window_of(*ts) + HISTORY_CHUNK_WINDOW_MS;
        rc = SM_OK;
    } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = step_rc(db, step);
    }
    sqlite3_finalize(s);
    return rc;
}

static int64_t
pragma_i64(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (prepare(db, sql, &s) != SM_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* With incremental auto-vacuum (new databases), give the free pages that sealed rows left
 * back to the file system, keeping a sixteenth of the file free for the open windows'
 * rows to grow into; at most SEAL_VACUUM_PAGES a step. */
#define SEAL_VACUUM_PAGES 2048
static void
give_back_pages(sqlite3 *db)
{
    if (pragma_i64(db, "PRAGMA auto_vacuum") != 2)
        return;
    int64_t free_pages = pragma_i64(db, "PRAGMA freelist_count");
    int64_t pages = pragma_i64(db, "PRAGMA page_count");
    int64_t extra = free_pages - pages / 16;
    if (free_pages < 0 || pages < 0 || extra <= 0)
        return;
    if (extra > SEAL_VACUUM_PAGES)
        extra = SEAL_VACUUM_PAGES;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)extra);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        sm_log(SM_LOG_DEBUG, "history: incremental vacuum: %s", sqlite3_errmsg(db));
}

enum sm_rc
history_seal(sqlite3 *db, int64_t now_ms, size_t budget, size_t *work)
{
    (void)now_ms;
    *work = 0;
    sqlite3_stmt *s;
    enum sm_rc rc = SM_OK;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return step_rc(db, sqlite3_errcode(db) == SQLITE_OK ? SQLITE_ERROR : sqlite3_errcode(db));
    int64_t done = 0;
    if ((rc = prepare(db, "SELECT v FROM rollup_state WHERE k = 'minute_done'", &s)) != SM_OK)
        goto fail;
    if (sqlite3_step(s) == SQLITE_ROW)
        done = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if ((rc = prepare(db,
                      "SELECT agent_id FROM samples WHERE agent_id > ?1 ORDER BY agent_id LIMIT 1",
                      &s)) != SM_OK)
        goto fail;
    double t0 = sm_mono_now();
    size_t samples = 0, points = 0;
    int64_t agent = 0;
    /* Windows wholly rolled up (so the ordinary rollup never reads chunks), and never an
     * agent's newest window (the newest sample stays a row: newest values read it). */
    while (*work < budget && sm_mono_now() - t0 < SEAL_STEP_S) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, agent);
        int step = sqlite3_step(s);
        if (step != SQLITE_ROW) {
            rc = step_rc(db, step);
            break;
        }
        agent = sqlite3_column_int64(s, 0);
        for (;;) {
            int64_t ts;
            int later;
            if ((rc = oldest_raw(db, agent, &ts, &later)) != SM_OK)
                break;
            int64_t w0 = history_window_of(ts);
            if (!later || w0 < 0 || w0 + HISTORY_CHUNK_WINDOW_MS > done || *work >= budget ||
                sm_mono_now() - t0 >= SEAL_STEP_S)
                break;
            /* One savepoint a window: a window that cannot be sealed (a damaged chunk
             * from before, a failed count) is left as it was, and so is the rest of
             * its agent until the next step; other agents go on. */
            if (sqlite3_exec(db, "SAVEPOINT seal", NULL, NULL, NULL) != SQLITE_OK) {
                rc = step_rc(db, sqlite3_errcode(db));
                break;
            }
            rc = seal_window(db, agent, w0, INT64_MIN, &samples, &points);
            if (rc == SM_EBUSY || rc == SM_EINTERNAL)
                break;
            if (rc != SM_OK) {
                sqlite3_exec(db, "ROLLBACK TO seal", NULL, NULL, NULL);
                sqlite3_exec(db, "RELEASE seal", NULL, NULL, NULL);
                sm_log(SM_LOG_WARN, "history: agent %lld's window at %lld left unsealed",
                       (long long)agent, (long long)w0);
                rc = SM_OK;
                break;
            }
            sqlite3_exec(db, "RELEASE seal", NULL, NULL, NULL);
            (*work)++;
        }
        if (rc == SM_ENOTFOUND)
            rc = SM_OK;
        if (rc != SM_OK)
            break;
    }
    sqlite3_finalize(s);
    if (rc != SM_OK)
        goto fail;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = step_rc(db, sqlite3_errcode(db));
        goto fail;
    }
    if (*work) {
        sm_log(SM_LOG_DEBUG, "history: sealed %zu windows: %zu samples, %zu points", *work, samples,
               points);
        give_back_pages(db);
    }
    return SM_OK;
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    *work = 0;
    return rc;
}

/* ------------------------------------------------------------------ retention */

/* Delete agent's chunks (series and sample times) with t0 in [a, b). */
static enum sm_rc
drop_windows(sqlite3 *db, int64_t agent, int64_t a, int64_t b)
{
    static const char *const sql[] = {
        "DELETE FROM chunks WHERE series_id IN (SELECT id FROM series WHERE agent_id = ?1)"
        " AND t0 >= ?2 AND t0 < ?3",
        "DELETE FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2 AND t0 < ?3",
    };
    enum sm_rc rc = SM_OK;
    for (int i = 0; i < 2 && rc == SM_OK; i++) {
        sqlite3_stmt *s;
        if ((rc = prepare(db, sql[i], &s)) != SM_OK)
            break;
        sqlite3_bind_int64(s, 1, agent);
        sqlite3_bind_int64(s, 2, a);
        sqlite3_bind_int64(s, 3, b);
        rc = step_rc(db, sqlite3_step(s));
        sqlite3_finalize(s);
    }
    return rc;
}

static enum sm_rc trim_window(sqlite3 *db, int64_t agent, int64_t wc, int64_t cut);

enum sm_rc
history_chunks_retain_agent(sqlite3 *db, int64_t agent, int64_t cut, size_t *deleted)
{
    /* Windows wholly older than the cut go whole; the one across it is sealed again from
     * the cut on (the series' positions follow its trimmed sample times). */
    int64_t oldest = count2(db, "SELECT min(t0) FROM chunk_samples WHERE agent_id = ?1 AND ?2 = ?3",
                            agent, 0, 0);
    if (oldest < 0 || oldest >= cut)
        return SM_OK;
    /* *deleted counts samples, as the raw tier's retention does: the agent's samples
     * (rows and sealed) before and after, since a re-seal also moves the window's rows
     * from the cut on into its chunks. */
    static const char agent_samples[] =
        "SELECT (SELECT count(*) FROM samples WHERE agent_id = ?1) +"
        " (SELECT coalesce(sum(n), 0) FROM chunk_samples WHERE agent_id = ?1) WHERE ?2 = ?3";
    int64_t before = count2(db, agent_samples, agent, 0, 0);
    int64_t wc = history_window_of(cut);
    enum sm_rc rc = drop_windows(db, agent, INT64_MIN, wc);
    if (rc == SM_OK)
        rc = trim_window(db, agent, wc, cut);
    int64_t after = count2(db, agent_samples, agent, 0, 0);
    if (before >= 0 && after >= 0 && before > after)
        *deleted += (size_t)(before - after);
    return rc;
}

/* Seal the window at wc again from the cut on, when it holds sealed samples before it. */
static enum sm_rc
trim_window(sqlite3 *db, int64_t agent, int64_t wc, int64_t cut)
{
    enum sm_rc rc;
    int64_t in_cut = count2(db,
                            "SELECT count(*) FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2"
                            " AND t0 < ?3",
                            agent, wc, cut);
    if (in_cut <= 0)
        return SM_OK;
    size_t samples = 0, points = 0;
    if (sqlite3_exec(db, "SAVEPOINT trim", NULL, NULL, NULL) != SQLITE_OK)
        return step_rc(db, sqlite3_errcode(db));
    rc = seal_window(db, agent, wc, cut, &samples, &points);
    if (rc != SM_OK && rc != SM_EBUSY && rc != SM_EINTERNAL) {
        /* Damaged: kept as it is until all of it is older than the cut. */
        sqlite3_exec(db, "ROLLBACK TO trim", NULL, NULL, NULL);
        sm_log(SM_LOG_WARN, "history: agent %lld's window at %lld kept whole by retention",
               (long long)agent, (long long)wc);
        rc = SM_OK;
    }
    sqlite3_exec(db, "RELEASE trim", NULL, NULL, NULL);
    return rc;
}
