/* store_sqlite_ingest.c: group commit, the writer's series cache and batch writes of the SQLite
 * backend (store_sqlite.h). */
#include "config.h"

#include "store_sqlite.h"

#include <stdio.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chunk.h"
#include "history.h"
#include "log.h"
#include "xmalloc.h"

static void
recent_clear(struct store_sqlite *st)
{
    for (size_t i = 0; i < st->nrecent; i++) {
        free(st->recent[i].name);
        free(st->recent[i].labels);
    }
    free(st->recent);
    st->recent = NULL;
    st->nrecent = st->recent_cap = 0;
    st->recent_agent = 0;
}

void
sq_cache_clear(struct store_sqlite *st)
{
    recent_clear(st);
    series_cache_clear(&st->cache);
}

/* ------------------------------------------------------------------ ingest */

enum sm_rc
store_sqlite_begin(struct store *base)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_BEGIN);
    if (rc != SM_OK)
        return rc;
    /* Samples older than the history watermark mark their minute for a re-rollup. */
    st->watermark = 0;
    if (sq_one(st, NULL, SM_OK, sq_read_i64, &st->watermark, S_WATERMARK) != SM_OK)
        st->watermark = 0;
    st->noted_agent = 0;
    return SM_OK;
}

enum sm_rc
store_sqlite_commit(struct store *base)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_COMMIT);
    if (rc != SM_OK)
        store_sqlite_rollback(&st->base);
    return rc;
}

void
store_sqlite_rollback(struct store *base)
{
    struct store_sqlite *st = sq(base);
    sq_cache_clear(st); /* series ids created in the transaction are gone */
    if (sqlite3_get_autocommit(st->db))
        return;
    if (sq_exec(st, NULL, S_ROLLBACK) != SM_OK)
        sm_log(SM_LOG_WARN, "database: rollback failed: %s", sqlite3_errmsg(st->db));
}

/* The id of series (agent, name, labels), created when new. *id = 0 when the agent is
 * at its series cap. */
static enum sm_rc
series_id(struct store_sqlite *st, int64_t agent_id, const char *name, const char *labels,
          int64_t *id, char **cause)
{
    if (series_cache_get(&st->cache, agent_id, name, labels, id))
        return SM_OK;
    enum sm_rc rc =
        sq_one(st, cause, SM_ENOTFOUND, sq_read_i64, id, S_SERIES_GET, agent_id, name, labels);
    if (rc == SM_OK) {
        series_cache_put(&st->cache, agent_id, name, labels, *id);
        return SM_OK;
    }
    if (rc != SM_ENOTFOUND)
        return rc;
    int64_t *count = series_cache_count(&st->cache, agent_id);
    if (*count < 0) {
        int64_t n = 0;
        if ((rc = sq_one(st, cause, SM_EIO, sq_read_i64, &n, S_SERIES_COUNT, agent_id)) != SM_OK)
            return rc;
        *count = n;
    }
    if (*count >= STORE_SERIES_CAP) {
        if (!st->warned_cap)
            sm_log(SM_LOG_WARN, "agent %lld reached %d series: new series are dropped",
                   (long long)agent_id, STORE_SERIES_CAP);
        st->warned_cap = 1;
        *id = 0;
        return SM_OK;
    }
    if ((rc = sq_exec(st, cause, S_SERIES_ADD, agent_id, name, labels)) != SM_OK)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    (*count)++;
    series_cache_put(&st->cache, agent_id, name, labels, *id);
    return SM_OK;
}

/* Remember series id at position j (names are copied: the batch will be freed). */
static void
recent_set(struct store_sqlite *st, size_t j, const struct store_point *p, int64_t id)
{
    if (j > st->nrecent || j >= STORE_SERIES_CAP)
        return;
    if (j == st->nrecent) {
        if (st->nrecent == st->recent_cap) {
            st->recent_cap = st->recent_cap ? st->recent_cap * 2 : 64;
            st->recent = sm_xreallocarray(st->recent, st->recent_cap, sizeof *st->recent);
        }
        st->recent[st->nrecent++] = (struct recent_series){NULL, NULL, 0};
    }
    struct recent_series *r = &st->recent[j];
    free(r->name);
    free(r->labels);
    r->name = sm_xstrdup(p->name);
    r->labels = sm_xstrdup(p->labels);
    r->id = id;
}

static void
read_sealed_row(sqlite3_stmt *s, void *out)
{
    struct store_sqlite *st = out;
    int64_t t0 = sqlite3_column_int64(s, 0), n = sqlite3_column_int64(s, 2);
    st->sealed_len = 0;
    st->sealed_t0 = t0;
    st->sealed_n = n;
    struct chunk_point *pts = NULL;
    size_t np = 0;
    const void *blob = sqlite3_column_blob(s, 3);
    int len = sqlite3_column_bytes(s, 3);
    if (!blob || len <= 0 || chunk_decode(blob, (size_t)len, &pts, &np) != SM_OK) {
        st->sealed_n = -1; /* damaged: the caller refuses the sample */
        return;
    }
    st->sealed_ts = sm_xgrow(st->sealed_ts, &st->sealed_cap, np ? np : 1, sizeof *st->sealed_ts);
    for (size_t i = 0; i < np; i++)
        st->sealed_ts[i] = pts[i].t;
    st->sealed_len = np;
    free(pts);
}

/* Whether a sample of agent at ts is in its sealed chunks (history.h, "Chunks"): SM_OK
 * when it is, SM_ENOTFOUND when not, SM_EIO when the chunk that would hold it is damaged.
 * One seek per sample; the decoded times are kept while the chunk stays the same. */
static enum sm_rc
sealed_has(struct store_sqlite *st, int64_t agent, int64_t ts, char **cause)
{
    sqlite3_stmt *s = sq_bind(st, S_SEALED_FIND, agent, ts);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        enum sm_rc rc = sq_done(st, S_SEALED_FIND, step, cause);
        return rc == SM_OK ? SM_ENOTFOUND : rc;
    }
    int64_t t0 = sqlite3_column_int64(s, 0), t1 = sqlite3_column_int64(s, 1),
            n = sqlite3_column_int64(s, 2);
    if (ts > t1) {
        sqlite3_reset(s);
        return SM_ENOTFOUND;
    }
    if (st->sealed_agent != agent || st->sealed_t0 != t0 || st->sealed_n != n) {
        st->sealed_agent = agent;
        read_sealed_row(s, st);
    }
    sqlite3_reset(s);
    if (st->sealed_n < 0) {
        st->sealed_agent = 0;
        *cause = sm_xstrdup("damaged sealed chunk of sample times");
        return SM_EIO;
    }
    return history_time_index(st->sealed_ts, st->sealed_len, ts) >= 0 ? SM_OK : SM_ENOTFOUND;
}

static enum sm_rc
batch_write(struct store_sqlite *st, const struct store_batch *b, size_t *stored, size_t *dups,
            char **cause)
{
    enum sm_rc rc;
    for (size_t i = 0; i < b->nsamples; i++) {
        const struct store_sample *smp = &b->samples[i];
        /* A duplicate creates no series: look before resolving the sample's points. */
        int64_t one = 0;
        rc = sq_one(st, cause, SM_ENOTFOUND, sq_read_i64, &one, S_SAMPLE_EXISTS, b->agent_id,
                    smp->ts_ms);
        /* Its row may have been sealed into a chunk (history.h, "Chunks"). */
        if (rc == SM_ENOTFOUND)
            rc = sealed_has(st, b->agent_id, smp->ts_ms, cause);
        if (rc == SM_OK) {
            (*dups)++;
            continue;
        }
        if (rc != SM_ENOTFOUND)
            return rc;
        if (st->recent_agent != b->agent_id) {
            recent_clear(st);
            st->recent_agent = b->agent_id;
        }
        st->pairs = sm_xgrow(st->pairs, &st->pairs_cap, smp->npoints, sizeof *st->pairs);
        size_t np = 0;
        for (size_t j = 0; j < smp->npoints; j++) {
            const struct store_point *p = &smp->points[j];
            int64_t sid;
            struct recent_series *r = j < st->nrecent ? &st->recent[j] : NULL;
            if (r && strcmp(r->name, p->name) == 0 && strcmp(r->labels, p->labels) == 0) {
                sid = r->id;
            } else {
                if ((rc = series_id(st, b->agent_id, p->name, p->labels, &sid, cause)) != SM_OK)
                    return rc;
                recent_set(st, j, p, sid);
            }
            if (sid)
                st->pairs[np++] = (struct history_pair){sid, p->value};
        }
        st->blob = sm_xgrow(st->blob, &st->blob_cap, history_blob_bound(np), 1);
        size_t len = history_blob_encode(st->pairs, np, st->blob);
        rc = sq_change(st, cause, S_SAMPLE_ADD, b->agent_id, smp->ts_ms, (const void *)st->blob,
                       len);
        if (rc != SM_OK && rc != SM_ENOTFOUND)
            return rc;
        if (rc == SM_ENOTFOUND) {
            (*dups)++;
            continue;
        }
        (*stored)++;
        if ((rc = sq_procs_write(st, b->agent_id, smp, cause)) != SM_OK)
            return rc;
        /* Back-filled samples come in runs: mark each (agent, minute) once. */
        int64_t minute = smp->ts_ms / 60000;
        if (smp->ts_ms < st->watermark &&
            (st->noted_agent != b->agent_id || st->noted_minute != minute)) {
            if ((rc = history_note_sample_at(st->db, b->agent_id, smp->ts_ms, b->now * 1000)) !=
                SM_OK)
                return rc;
            st->noted_agent = b->agent_id;
            st->noted_minute = minute;
        }
    }
    /* S_AGENT_SEEN takes the first two arguments only. */
    rc = sq_change(st, cause, b->host_json ? S_AGENT_SEEN_HOST : S_AGENT_SEEN, b->agent_id, b->now,
                   b->host_json);
    if (rc == SM_ENOTFOUND) {
        *cause = sm_xstrdup("agent was deleted");
        return SM_EAUTH;
    }
    if (rc != SM_OK)
        return rc;
    if (b->latest_json && (rc = sq_exec(st, cause, S_LATEST_SET, b->agent_id, b->latest_ts_ms,
                                        b->latest_json)) != SM_OK)
        return rc;
    return SM_OK;
}

enum sm_rc
store_sqlite_batch_write(struct store *base, const struct store_batch *b, size_t *stored,
                         size_t *duplicates, char **cause)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, cause, S_SAVEPOINT);
    if (rc != SM_OK)
        return rc;
    *stored = *duplicates = 0;
    rc = batch_write(st, b, stored, duplicates, cause);
    if (rc != SM_OK) {
        /* Undo this batch alone; series ids it created are gone with it. */
        if (sq_exec(st, NULL, S_ROLLBACK_TO) != SM_OK || sq_exec(st, NULL, S_RELEASE) != SM_OK)
            sm_log(SM_LOG_WARN, "database: rollback to savepoint failed");
        sq_cache_clear(st);
        st->noted_agent = 0; /* its dirty marks are undone too */
        *stored = *duplicates = 0;
        return rc;
    }
    return sq_exec(st, cause, S_RELEASE);
}

static double
file_size(const char *path)
{
    struct stat sb;
    return path && stat(path, &sb) == 0 ? (double)sb.st_size : 0;
}

/* The database file and its WAL, as the connection names them. */
enum sm_rc
store_sqlite_size(struct store *base, double *db_bytes, double *wal_bytes)
{
    const char *path = sqlite3_db_filename(sq(base)->db, "main");
    *db_bytes = file_size(path);
    *wal_bytes = 0;
    if (path && *path) {
        char *wal = sm_xasprintf("%s-wal", path);
        *wal_bytes = file_size(wal);
        free(wal);
    }
    return SM_OK;
}

enum sm_rc
store_sqlite_count(struct store *base, int64_t *samples, int64_t *points)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_one(st, NULL, SM_EIO, sq_read_i64, samples, S_COUNT_SAMPLES);
    if (rc != SM_OK)
        return rc;
    /* Points: the counts of the samples' blobs (a malformed blob counts none). */
    sqlite3_stmt *s = sq_bind(st, S_COUNT_POINTS);
    int step;
    *points = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        size_t n;
        if (history_blob_check(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), &n) ==
            SM_OK)
            *points += (int64_t)n;
    }
    enum sm_rc rc2 = sq_done(st, S_COUNT_POINTS, step, NULL);
    if (rc2 != SM_OK)
        return rc2;
    /* And the sealed points. */
    int64_t sealed = 0;
    rc2 = sq_one(st, NULL, SM_EIO, sq_read_i64, &sealed, S_COUNT_CHUNK_POINTS);
    *points += sealed;
    return rc2;
}
