/* store_sqlite_history.c: history queries, rollups, retention and newest values of the SQLite
 * backend (store_sqlite.h). */
#include "config.h"

#include "store_sqlite.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ history */

enum sm_rc
store_sqlite_history_query(struct store *base, int64_t agent_id, const char *name,
                           const char *labels, int64_t start_ms, int64_t stop_ms, size_t points,
                           struct history_result *out)
{
    struct store_sqlite *st = sq(base);
    int64_t sid;
    enum sm_rc rc = history_series_find(st->db, agent_id, name, labels, &sid);
    if (rc != SM_OK)
        return rc;
    return history_query(st->db, sid, start_ms, stop_ms, points, out);
}

enum sm_rc
store_sqlite_series_list(struct store *base, int64_t agent_id, store_series_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    sqlite3_stmt *s = sq_bind(st, S_SERIES_LIST, agent_id);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1), arg);
    return sq_done(st, S_SERIES_LIST, step, NULL);
}

/* Row reader of a text column that must be there: an allocated copy. */
static void
read_strdup(sqlite3_stmt *s, void *out)
{
    const char *t = (const char *)sqlite3_column_text(s, 0);
    *(char **)out = sm_xstrdup(t ? t : "");
}

enum sm_rc
store_sqlite_latest(struct store *base, int64_t agent_id, char **json)
{
    struct store_sqlite *st = sq(base);
    /* Any failure reads as "none", as a missing row does. */
    if (sq_one(st, NULL, SM_ENOTFOUND, read_strdup, json, S_LATEST_GET, agent_id) != SM_OK)
        return SM_ENOTFOUND;
    return SM_OK;
}

enum sm_rc
store_sqlite_rollup(struct store *base, int64_t now_ms, size_t budget, size_t *work)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = history_rollup(st->db, now_ms, budget, work);
    if (rc != SM_OK)
        return rc;
    /* Then seal closed windows into chunks (its own transaction; the work counts, so
     * the maintenance loop goes on while a backlog, such as a migrated database's, is
     * left). A failed seal leaves the rows as they were and is not a rollup failure. */
    size_t sealed = 0;
    if (history_seal(st->db, now_ms, 16, &sealed) != SM_OK)
        sm_log(SM_LOG_WARN, "history: sealing chunks failed; rows kept, tried again later");
    *work += sealed;
    return SM_OK;
}

enum sm_rc
store_sqlite_retain(struct store *base, int64_t now_ms, const struct history_retention *r,
                    size_t batch, size_t *deleted)
{
    struct store_sqlite *st = sq(base);
    return history_retain(st->db, now_ms, r, batch, deleted);
}

static int
pair_by_series(const void *a, const void *b)
{
    const struct history_pair *x = a, *y = b;
    return (x->series > y->series) - (x->series < y->series);
}

enum sm_rc
store_sqlite_latest_points(struct store *base, store_point_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    /* The points of every agent's newest sample, by series id; then the series in
     * output order, each with its value when the newest sample has one. */
    struct history_pair *all = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *s = sq_bind(st, S_NEWEST_SAMPLES);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const uint8_t *blob = sqlite3_column_blob(s, 0);
        size_t len = (size_t)sqlite3_column_bytes(s, 0), k;
        if (sqlite3_column_type(s, 0) == SQLITE_NULL)
            continue;
        if (history_blob_check(blob, len, &k) != SM_OK) {
            sm_log(SM_LOG_WARN, "database: a malformed sample blob skipped");
            continue;
        }
        all = sm_xgrow(all, &cap, n + k, sizeof *all);
        if (history_blob_decode(blob, len, all + n, k, &k) == SM_OK)
            n += k;
    }
    enum sm_rc rc = sq_done(st, S_NEWEST_SAMPLES, step, NULL);
    if (rc != SM_OK) {
        free(all);
        return rc;
    }
    if (n > 0)
        qsort(all, n, sizeof *all, pair_by_series);
    s = sq_bind(st, S_LATEST_POINTS);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct history_pair key = {sqlite3_column_int64(s, 5), 0};
        const struct history_pair *p =
            n ? bsearch(&key, all, n, sizeof *all, pair_by_series) : NULL;
        if (p)
            fn(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
               (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
               (const char *)sqlite3_column_text(s, 4), p->value, arg);
    }
    free(all);
    return sq_done(st, S_LATEST_POINTS, step, NULL);
}
