/* store_sqlite_procs.c: process snapshots of the SQLite backend (store.h, "Process
 * snapshots"): one row per agent and minute holding the process list of the minute's
 * busiest sample, its schema, its write in the ingest savepoint, the at-or-before lookup
 * and retention by age and by size. Its statements are its own (prepared on first use)
 * so that the file stands alone. */
#include "config.h"

#include "store_sqlite.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* The schema migration that adds the table. bytes is length(data), kept in the age
 * index so that the size cap sums an index and never reads the snapshots. */
const char sq_procs_schema_sql[] =
    "CREATE TABLE proc_snapshots("
    " agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    " minute INTEGER NOT NULL, ts INTEGER NOT NULL, cpu REAL NOT NULL,"
    " bytes INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(agent_id, minute));"
    "CREATE INDEX proc_snapshots_age ON proc_snapshots(minute, bytes);";

enum { P_WRITE, P_AT, P_OLD, P_OLDEST, P_DEL, P_SUM, P_COUNT_ };

static const char *const procs_sql[] = {
    /* The minute's busiest sample wins; a tie (and a resent sample) keeps what is there. */
    [P_WRITE] = "INSERT INTO proc_snapshots(agent_id, minute, ts, cpu, bytes, data)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(agent_id, minute) DO UPDATE"
                " SET ts = excluded.ts, cpu = excluded.cpu, bytes = excluded.bytes,"
                " data = excluded.data WHERE excluded.cpu > proc_snapshots.cpu",
    [P_AT] = "SELECT p.ts, p.data FROM proc_snapshots p JOIN agents a ON a.id = p.agent_id"
             " WHERE p.agent_id = ?1 AND a.user_id = ?2 AND p.minute <= ?3 AND p.minute >= ?4"
             " ORDER BY p.minute DESC LIMIT 1",
    [P_OLD] = "SELECT rowid, bytes FROM proc_snapshots WHERE minute < ?1 ORDER BY minute LIMIT ?2",
    [P_OLDEST] = "SELECT rowid, bytes FROM proc_snapshots ORDER BY minute LIMIT ?1",
    [P_DEL] = "DELETE FROM proc_snapshots WHERE rowid = ?1",
    [P_SUM] = "SELECT count(*), coalesce(sum(bytes), 0) FROM proc_snapshots",
};

/* Statement i of this file, prepared on first use and kept with the connection. */
static sqlite3_stmt *
stmt(struct store_sqlite *st, int i, char **cause, enum sm_rc *rc)
{
    if (!st->procs_stmt[i] &&
        sqlite3_prepare_v3(st->db, procs_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->procs_stmt[i],
                           NULL) != SQLITE_OK) {
        *rc = sq_error(st, "process snapshots", cause);
        return NULL;
    }
    sqlite3_reset(st->procs_stmt[i]);
    sqlite3_clear_bindings(st->procs_stmt[i]);
    *rc = SM_OK;
    return st->procs_stmt[i];
}

/* Floor of ms / 60000 for any sign. */
static int64_t
minute_of(int64_t ms)
{
    return ms >= 0 ? ms / 60000 : -((-(ms + 1)) / 60000) - 1;
}

void
sq_procs_done(struct store_sqlite *st)
{
    for (int i = 0; i < SQ_PROCS_STMTS; i++) {
        sqlite3_finalize(st->procs_stmt[i]);
        st->procs_stmt[i] = NULL;
    }
}

enum sm_rc
sq_procs_write(struct store_sqlite *st, int64_t agent_id, const struct store_sample *smp,
               char **cause)
{
    enum sm_rc rc;
    if (!smp->procs_json)
        return SM_OK;
    sqlite3_stmt *s = stmt(st, P_WRITE, cause, &rc);
    if (!s)
        return rc;
    size_t len = strlen(smp->procs_json);
    int64_t minute = minute_of(smp->ts_ms);
    sqlite3_bind_int64(s, 1, agent_id);
    sqlite3_bind_int64(s, 2, minute);
    sqlite3_bind_int64(s, 3, smp->ts_ms);
    sqlite3_bind_double(s, 4, smp->procs_cpu);
    sqlite3_bind_int64(s, 5, (int64_t)len);
    sqlite3_bind_blob(s, 6, smp->procs_json, (int)len, SQLITE_STATIC);
    int step = sqlite3_step(s);
    rc = step == SQLITE_DONE ? SM_OK : sq_error(st, "write process snapshot", cause);
    sqlite3_reset(s);
    return rc;
}

enum sm_rc
store_sqlite_procs_at(struct store *base, int64_t user_id, int64_t agent_id, int64_t at_ms,
                      int64_t window_s, struct store_procs *out, char **cause)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc;
    memset(out, 0, sizeof *out);
    if (window_s < 0)
        window_s = 0;
    if (window_s > STORE_PROCS_WINDOW_MAX_S)
        window_s = STORE_PROCS_WINDOW_MAX_S;
    sqlite3_stmt *s = stmt(st, P_AT, cause, &rc);
    if (!s)
        return rc;
    sqlite3_bind_int64(s, 1, agent_id);
    sqlite3_bind_int64(s, 2, user_id);
    sqlite3_bind_int64(s, 3, minute_of(at_ms));
    sqlite3_bind_int64(s, 4, minute_of(at_ms - window_s * 1000));
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        int n = sqlite3_column_bytes(s, 1);
        const void *d = sqlite3_column_blob(s, 1);
        out->ts_ms = sqlite3_column_int64(s, 0);
        out->json = sm_xmalloc((size_t)n + 1);
        if (n > 0)
            memcpy(out->json, d, (size_t)n);
        out->json[n] = '\0';
        rc = SM_OK;
    } else if (step == SQLITE_DONE) {
        rc = SM_ENOTFOUND;
    } else {
        rc = sq_error(st, "read process snapshot", cause);
    }
    sqlite3_reset(s);
    return rc;
}

/* Collect up to batch rowids of statement s (bound) into ids; *bytes sums them, and
 * reading stops once that sum reaches need (need < 0: no such stop). */
static enum sm_rc
collect(struct store_sqlite *st, sqlite3_stmt *s, int64_t *ids, size_t batch, size_t *n,
        int64_t need, char **cause)
{
    int64_t sum = 0;
    *n = 0;
    while (*n < batch && (need < 0 || sum < need)) {
        int step = sqlite3_step(s);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            enum sm_rc rc = sq_error(st, "list old process snapshots", cause);
            sqlite3_reset(s);
            return rc;
        }
        ids[(*n)++] = sqlite3_column_int64(s, 0);
        sum += sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    return SM_OK;
}

static enum sm_rc
delete_ids(struct store_sqlite *st, const int64_t *ids, size_t n, char **cause)
{
    enum sm_rc rc;
    sqlite3_stmt *s = stmt(st, P_DEL, cause, &rc);
    for (size_t i = 0; s && i < n && rc == SM_OK; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, ids[i]);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = sq_error(st, "delete process snapshot", cause);
    }
    if (s)
        sqlite3_reset(s);
    return rc;
}

enum sm_rc
store_sqlite_procs_usage(struct store *base, int64_t *count, int64_t *bytes, char **cause)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc;
    sqlite3_stmt *s = stmt(st, P_SUM, cause, &rc);
    if (!s)
        return rc;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *count = sqlite3_column_int64(s, 0);
        *bytes = sqlite3_column_int64(s, 1);
    } else {
        rc = sq_error(st, "size of process snapshots", cause);
    }
    sqlite3_reset(s);
    return rc;
}

enum sm_rc
store_sqlite_procs_retain(struct store *base, int64_t now_ms, int64_t keep_s, int64_t max_bytes,
                          size_t batch, size_t *deleted, char **cause)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc;
    size_t n = 0, m = 0;
    *deleted = 0;
    if (batch == 0)
        return SM_OK;
    int64_t *ids = sm_xreallocarray(NULL, batch, sizeof *ids);
    if ((rc = sq_exec_sql(st, "BEGIN IMMEDIATE", cause)) != SM_OK)
        goto out;
    /* Age first: every row of a minute that ended keep_s ago. */
    sqlite3_stmt *s = stmt(st, P_OLD, cause, &rc);
    if (!s)
        goto fail;
    sqlite3_bind_int64(s, 1, minute_of(now_ms - keep_s * 1000));
    sqlite3_bind_int64(s, 2, (int64_t)batch);
    if ((rc = collect(st, s, ids, batch, &n, -1, cause)) != SM_OK ||
        (rc = delete_ids(st, ids, n, cause)) != SM_OK)
        goto fail;
    /* Then size: the oldest until what is left fits under max_bytes. */
    int64_t count = 0, bytes = 0;
    if (n < batch && (rc = store_sqlite_procs_usage(base, &count, &bytes, cause)) != SM_OK)
        goto fail;
    if (n < batch && bytes > max_bytes) {
        if (!(s = stmt(st, P_OLDEST, cause, &rc)))
            goto fail;
        sqlite3_bind_int64(s, 1, (int64_t)(batch - n));
        if ((rc = collect(st, s, ids, batch - n, &m, bytes - max_bytes, cause)) != SM_OK ||
            (rc = delete_ids(st, ids, m, cause)) != SM_OK)
            goto fail;
    }
    if ((rc = sq_exec_sql(st, "COMMIT", cause)) != SM_OK)
        goto fail;
    *deleted = n + m;
    goto out;
fail:
    if (sq_exec_sql(st, "ROLLBACK", NULL) != SM_OK)
        sm_log(SM_LOG_WARN, "database: rollback of process snapshot retention failed");
out:
    free(ids);
    return rc;
}
