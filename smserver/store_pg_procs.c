/* store_pg_procs.c: process snapshots of the PostgreSQL backend (store.h, "Process
 * snapshots"), as on SQLite (store_sqlite_procs.c): one row per agent and minute holding
 * the process list of the minute's busiest sample, written in the batch's savepoint, the
 * at-or-before lookup, and retention by age and by size in bounded batches. */
#include "config.h"

#include "store_pg.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* The migration that adds the table. bytes is the JSON's length, kept in the age index
 * so that the size cap sums an index and never reads the snapshots. */
const char store_pg_procs_schema[] =
    "CREATE TABLE proc_snapshots("
    " agent_id bigint NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    " minute bigint NOT NULL, ts bigint NOT NULL, cpu double precision NOT NULL,"
    " bytes bigint NOT NULL, data text NOT NULL, PRIMARY KEY(agent_id, minute));"
    "CREATE INDEX proc_snapshots_age ON proc_snapshots(minute, bytes);";

/* Floor of ms / 60000 for any sign. */
static int64_t
minute_of(int64_t ms)
{
    return ms >= 0 ? ms / 60000 : -((-(ms + 1)) / 60000) - 1;
}

enum sm_rc
store_pg_procs_write(struct store_pg *st, const struct store_batch *b, char **cause)
{
    for (size_t i = 0; i < b->nsamples; i++) {
        const struct store_sample *smp = &b->samples[i];
        if (!smp->procs_json)
            continue;
        struct pq_args a = {0};
        pq_int(&a, b->agent_id);
        pq_int(&a, minute_of(smp->ts_ms));
        pq_int(&a, smp->ts_ms);
        char cpu[32];
        snprintf(cpu, sizeof cpu, "%.17g", smp->procs_cpu);
        pq_text(&a, cpu);
        pq_int(&a, (int64_t)strlen(smp->procs_json));
        pq_text(&a, smp->procs_json);
        /* Run before the batch's samples are written, so that a resent sample (stored
         * already) is told from a new one and changes nothing. The minute's busiest
         * sample wins; a tie keeps what is there. */
        enum sm_rc rc = pq_run(
            st, "write process snapshot",
            "INSERT INTO proc_snapshots(agent_id, minute, ts, cpu, bytes, data)"
            " SELECT $1, $2, $3, $4::double precision, $5, $6 WHERE NOT EXISTS"
            " (SELECT 1 FROM samples WHERE agent_id = $1 AND ts = $3)"
            " ON CONFLICT (agent_id, minute) DO UPDATE SET ts = excluded.ts, cpu = excluded.cpu,"
            " bytes = excluded.bytes, data = excluded.data"
            " WHERE excluded.cpu > proc_snapshots.cpu",
            &a, NULL, cause);
        if (rc != SM_OK)
            return rc;
    }
    return SM_OK;
}

static void
read_at(const PGresult *r, int row, void *arg)
{
    struct store_procs *out = arg;
    out->ts_ms = pq_get_int(r, row, 0);
    out->json = sm_xstrdup(PQgetvalue(r, row, 1));
}

enum sm_rc
store_pg_procs_at(struct store *base, int64_t user_id, int64_t agent_id, int64_t at_ms,
                  int64_t window_s, struct store_procs *out, char **cause)
{
    memset(out, 0, sizeof *out);
    if (window_s < 0)
        window_s = 0;
    if (window_s > STORE_PROCS_WINDOW_MAX_S)
        window_s = STORE_PROCS_WINDOW_MAX_S;
    struct pq_args a = {0};
    pq_int(&a, agent_id);
    pq_int(&a, user_id);
    pq_int(&a, minute_of(at_ms));
    pq_int(&a, minute_of(at_ms - window_s * 1000));
    PGresult *r;
    enum sm_rc rc = pq_run(pg(base), "read process snapshot",
                           "SELECT p.ts, p.data FROM proc_snapshots p JOIN agents a"
                           " ON a.id = p.agent_id WHERE p.agent_id = $1 AND a.user_id = $2"
                           " AND p.minute <= $3 AND p.minute >= $4"
                           " ORDER BY p.minute DESC LIMIT 1",
                           &a, &r, cause);
    if (rc != SM_OK)
        return rc;
    rc = SM_ENOTFOUND;
    if (PQntuples(r) == 1) {
        read_at(r, 0, out);
        rc = SM_OK;
    }
    PQclear(r);
    return rc;
}

static void
read_usage(const PGresult *r, int row, void *arg)
{
    int64_t *v = arg;
    v[0] = pq_get_int(r, row, 0);
    v[1] = pq_get_int(r, row, 1);
}

enum sm_rc
store_pg_procs_usage(struct store *base, int64_t *count, int64_t *bytes, char **cause)
{
    int64_t v[2] = {0, 0};
    PGresult *r;
    enum sm_rc rc =
        pq_run(pg(base), "size of process snapshots",
               "SELECT count(*), COALESCE(sum(bytes), 0) FROM proc_snapshots", NULL, &r, cause);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(r) == 1)
        read_usage(r, 0, v);
    PQclear(r);
    *count = v[0];
    *bytes = v[1];
    return SM_OK;
}

/* Run a "WITH d AS (DELETE ... RETURNING 1) SELECT count(*) FROM d" statement. */
static enum sm_rc
delete_count(struct store_pg *st, const char *what, const char *sql, const struct pq_args *a,
             size_t *n, char **cause)
{
    PGresult *r;
    *n = 0;
    enum sm_rc rc = pq_run(st, what, sql, a, &r, cause);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(r) == 1)
        *n = (size_t)pq_get_int(r, 0, 0);
    PQclear(r);
    return SM_OK;
}

enum sm_rc
store_pg_procs_retain(struct store *base, int64_t now_ms, int64_t keep_s, int64_t max_bytes,
                      size_t batch, size_t *deleted, char **cause)
{
    struct store_pg *st = pg(base);
    size_t n = 0, m = 0;
    *deleted = 0;
    if (batch == 0)
        return SM_OK;
    enum sm_rc rc = pq_begin(st);
    if (rc != SM_OK)
        return rc;
    /* Age first: every row of a minute that ended keep_s ago. */
    struct pq_args a = {0};
    pq_int(&a, minute_of(now_ms - keep_s * 1000));
    pq_int(&a, (int64_t)batch);
    rc = delete_count(st, "delete old process snapshots",
                      "WITH o AS (SELECT agent_id, minute FROM proc_snapshots WHERE minute < $1"
                      " ORDER BY minute LIMIT $2), d AS (DELETE FROM proc_snapshots p USING o"
                      " WHERE p.agent_id = o.agent_id AND p.minute = o.minute RETURNING 1)"
                      " SELECT count(*) FROM d",
                      &a, &n, cause);
    /* Then size: the oldest, while what was deleted so far leaves more than max_bytes. */
    int64_t count = 0, bytes = 0;
    if (rc == SM_OK && n < batch)
        rc = store_pg_procs_usage(base, &count, &bytes, cause);
    if (rc == SM_OK && n < batch && bytes > max_bytes) {
        struct pq_args s = {0};
        pq_int(&s, bytes - max_bytes);
        pq_int(&s, (int64_t)(batch - n));
        rc = delete_count(st, "delete the oldest process snapshots",
                          "WITH o AS (SELECT agent_id, minute, sum(bytes) OVER (ORDER BY minute,"
                          " agent_id ROWS UNBOUNDED PRECEDING) - bytes AS before"
                          " FROM proc_snapshots ORDER BY minute, agent_id LIMIT $2),"
                          " d AS (DELETE FROM proc_snapshots p USING o WHERE o.before < $1"
                          " AND p.agent_id = o.agent_id AND p.minute = o.minute RETURNING 1)"
                          " SELECT count(*) FROM d",
                          &s, &m, cause);
    }
    if (rc == SM_OK)
        rc = pq_commit(st);
    else
        pq_rollback(st);
    if (rc == SM_OK)
        *deleted = n + m;
    return rc;
}
