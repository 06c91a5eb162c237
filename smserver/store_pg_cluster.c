/* store_pg_cluster.c: what several smserver instances on one PostgreSQL database share
 * beyond the data (store.h, "several instances"): which instance leads each job, and
 * the login rate limiter's counts. Every value is a bound parameter. */
#include "config.h"

#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The two-key advisory locks of leadership: (LEAD_LOCK, 1 + role). The migration lock
 * (store_pg.c) is a one-key lock, which PostgreSQL keeps apart from two-key ones. */
#define LEAD_LOCK "1936552822"

int
store_pg_leader(struct store *base, enum store_role role)
{
    struct pq_args a = {0};
    pq_int(&a, 1 + (int64_t)role);
    PGresult *res;
    /* A session-level lock: held until this session ends, so the leader asks again
     * without stacking a second hold (the lock would then need two unlocks), and a dead
     * instance's lock goes with its session. After a reconnect (pq_run) the lock is
     * taken again when it is free. */
    enum sm_rc rc = pq_run(pg(base), "leadership",
                           "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks"
                           " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                           " AND classid = " LEAD_LOCK " AND objid = $1::int::oid"
                           " AND objsubid = 2 AND granted)"
                           " THEN true ELSE pg_try_advisory_lock(" LEAD_LOCK ", $1::int) END",
                           &a, &res, NULL);
    if (rc != SM_OK)
        return 0;
    int lead = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return lead;
}

/* The row's key: a hash of kind and key, so that no name or address is stored. */
#define LIMIT_KEY "sha256(convert_to($1::text || chr(31) || $2::text, 'UTF8'))"

static void
dbl(struct pq_args *a, char buf[32], double v)
{
    snprintf(buf, 32, "%.17g", v);
    pq_text(a, buf);
}

enum sm_rc
store_pg_limit_check(struct store *base, const char *kind, const char *key, int limit,
                     double window, double now, int *wait)
{
    struct pq_args a = {0};
    pq_text(&a, kind);
    pq_text(&a, key);
    PGresult *res;
    *wait = 0;
    enum sm_rc rc = pq_run(pg(base), "rate limit",
                           "SELECT failures, window_start FROM rate_limits WHERE key = " LIMIT_KEY,
                           &a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(res) == 1) {
        int64_t failures = pq_get_int(res, 0, 0);
        double start = strtod(PQgetvalue(res, 0, 1), NULL);
        if (now - start < window && failures >= limit)
            *wait = (int)(window - (now - start)) + 1;
    }
    PQclear(res);
    return SM_OK;
}

enum sm_rc
store_pg_limit_fail(struct store *base, const char *kind, const char *key, double window,
                    double now)
{
    char b1[32], b2[32];
    struct pq_args a = {0};
    pq_text(&a, kind);
    pq_text(&a, key);
    dbl(&a, b1, now);
    dbl(&a, b2, window);
    /* One statement: two instances counting the same key at once both count. */
    enum sm_rc rc = pq_run(
        pg(base), "rate limit",
        "INSERT INTO rate_limits(key, failures, window_start) VALUES (" LIMIT_KEY ", 1, $3::float8)"
        " ON CONFLICT (key) DO UPDATE SET"
        " failures = CASE WHEN $3::float8 - rate_limits.window_start >= $4::float8 THEN 1"
        " ELSE rate_limits.failures + 1 END,"
        " window_start = CASE WHEN $3::float8 - rate_limits.window_start >= $4::float8"
        " THEN $3::float8 ELSE rate_limits.window_start END",
        &a, NULL, NULL);
    if (rc != SM_OK)
        return rc;
    /* Windows long over count nothing: forget them, so many keys cannot grow the table. */
    struct pq_args p = {0};
    dbl(&p, b1, now - 2 * window);
    return pq_run(pg(base), "rate limit", "DELETE FROM rate_limits WHERE window_start < $1::float8",
                  &p, NULL, NULL);
}

enum sm_rc
store_pg_limit_reset(struct store *base, const char *kind, const char *key)
{
    struct pq_args a = {0};
    pq_text(&a, kind);
    pq_text(&a, key);
    return pq_run(pg(base), "rate limit", "DELETE FROM rate_limits WHERE key = " LIMIT_KEY, &a,
                  NULL, NULL);
}
