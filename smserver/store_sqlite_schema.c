/* store_sqlite_schema.c: schema migrations by user_version, for the SQLite backend
 * (store_sqlite.h). */
#include "config.h"

#include "store_sqlite.h"

#include <stdio.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "xmalloc.h"

static enum sm_rc pack_points(struct store_sqlite *st, char **cause);
static enum sm_rc pack_minutes(struct store_sqlite *st, char **cause);

/* Schema migrations: entry i brings user_version from i to i + 1 (its SQL, then its C
 * step when it has one, in one transaction). */
static const struct migration {
    const char *sql;
    enum sm_rc (*step)(struct store_sqlite *st, char **cause);
} migrations[] = {
    {"CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
     " pwhash TEXT NOT NULL, created INTEGER NOT NULL);"
     "CREATE TABLE refresh_tokens(hash BLOB PRIMARY KEY,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     " family BLOB NOT NULL, expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
     " created INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
     "CREATE TABLE agents(id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"
     " token_hash BLOB NOT NULL UNIQUE, created INTEGER NOT NULL, last_seen INTEGER,"
     " host TEXT, UNIQUE(user_id, name));"
     "CREATE TABLE series(id INTEGER PRIMARY KEY,"
     " agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
     " name TEXT NOT NULL, labels TEXT NOT NULL, UNIQUE(agent_id, name, labels));"
     /* samples and points carry no foreign key (a check per point costs ~30% of the
      * ingest rate); store_agent_delete removes them explicitly. */
     "CREATE TABLE samples(agent_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
     " PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
     "CREATE TABLE points(series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,"
     " PRIMARY KEY(series_id, ts)) WITHOUT ROWID;"
     "CREATE TABLE latest(agent_id INTEGER PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,"
     " ts INTEGER NOT NULL, sample TEXT NOT NULL);",
     NULL},
    /* 2: rollup tiers for history (history.c). */
    {history_schema_sql, NULL},
    /* 3: alert rules, notification channels and the history of alert states. */
    {"CREATE TABLE alert_channels(id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"
     " kind TEXT NOT NULL, url TEXT NOT NULL, chat_id TEXT NOT NULL, secret BLOB NOT NULL,"
     " created INTEGER NOT NULL, UNIQUE(user_id, name));"
     "CREATE TABLE alert_rules(id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"
     " metric TEXT NOT NULL, labels TEXT NOT NULL, op TEXT NOT NULL, threshold REAL NOT NULL,"
     " for_seconds INTEGER NOT NULL, resolve_seconds INTEGER NOT NULL,"
     " agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE, severity TEXT NOT NULL,"
     " channel_id INTEGER REFERENCES alert_channels(id) ON DELETE SET NULL,"
     " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
     "CREATE INDEX alert_rules_user ON alert_rules(user_id);"
     "CREATE TABLE alert_events(id INTEGER PRIMARY KEY AUTOINCREMENT,"
     " rule_id INTEGER NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,"
     " agent_id INTEGER NOT NULL, labels TEXT NOT NULL, state TEXT NOT NULL, value REAL,"
     " ts INTEGER NOT NULL, at INTEGER NOT NULL);"
     "CREATE INDEX alert_events_rule ON alert_events(rule_id, id);",
     NULL},
    /* 4: raw points packed into their sample's row (history.h, point blob): one row per
     * sample instead of one per point. pack_points copies the points rows into the
     * blobs, then points goes. */
    {"ALTER TABLE samples ADD COLUMN data BLOB NOT NULL DEFAULT x'0100';", pack_points},
    /* 5: process snapshots, one per agent and minute (store_sqlite_procs.c). */
    {sq_procs_schema_sql, NULL},
    /* 6: sealed chunks of raw points (history.h, "Chunks"; the SQL is history_chunk.c's
     * history_chunk_schema_sql). Only the tables are made here: the sample rows of an
     * existing database are sealed later by the maintenance job, a window at a time
     * (history_seal), never at open. */
    {history_chunk_schema_sql, NULL},
    /* 7: the minute tier packed, one row per series and hour instead of one per minute
     * (history.h, minute_pack.h): pack_minutes moves the rows, checks the counts and
     * drops rollup_1m, in this migration's one transaction. */
    {history_minutes_schema_sql, pack_minutes},
};
#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

/* Migration 4: copy the points rows of every agent into the blobs of their samples, an
 * hour of one agent at a time (bounded memory), then drop the points table. */
static enum sm_rc
pack_points(struct store_sqlite *st, char **cause)
{
    static const char *const sql[] = {
        "SELECT DISTINCT agent_id FROM series ORDER BY agent_id",
        /* The agent's next point at or after ?2: a seek in each of its series. */
        "SELECT min((SELECT min(ts) FROM points WHERE series_id = s.id AND ts >= ?2))"
        " FROM series s WHERE s.agent_id = ?1",
        "SELECT p.ts, p.series_id, p.value FROM series s CROSS JOIN points p"
        " ON p.series_id = s.id AND p.ts >= ?2 AND p.ts < ?3 WHERE s.agent_id = ?1"
        " ORDER BY p.ts, p.series_id",
        "INSERT INTO samples(agent_id, ts, data) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(agent_id, ts) DO UPDATE SET data = excluded.data",
    };
    sqlite3_stmt *q[4] = {NULL, NULL, NULL, NULL};
    struct history_pair *pairs = NULL;
    uint8_t *blob = NULL;
    size_t pcap = 0, bcap = 0, np = 0;
    int64_t nsamples = 0, npoints = 0;
    enum sm_rc rc = SM_OK;
    for (int i = 0; i < 4; i++)
        if (sqlite3_prepare_v2(st->db, sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            rc = sq_error(st, "migration 4", cause);
            goto out;
        }
    int step = SQLITE_DONE;
    while (rc == SM_OK && (step = sqlite3_step(q[0])) == SQLITE_ROW) {
        int64_t agent = sqlite3_column_int64(q[0], 0);
        /* An hour from each next point on, so long gaps cost one seek each. */
        for (int64_t t = INT64_MIN; rc == SM_OK;) {
            sq_bindf(q[1], "ii", agent, t);
            if (sqlite3_step(q[1]) != SQLITE_ROW) {
                rc = sq_error(st, "migration 4: find points", cause);
                break;
            }
            if (sqlite3_column_type(q[1], 0) == SQLITE_NULL)
                break;
            t = sqlite3_column_int64(q[1], 0);
            sq_bindf(q[2], "iii", agent, t, t > INT64_MAX - 3600000 ? INT64_MAX : t + 3600000);
            int64_t ts = 0;
            np = 0;
            for (;;) {
                step = sqlite3_step(q[2]);
                if (step != SQLITE_ROW && step != SQLITE_DONE) {
                    rc = sq_error(st, "migration 4: read points", cause);
                    break;
                }
                int64_t rts = step == SQLITE_ROW ? sqlite3_column_int64(q[2], 0) : 0;
                if (np > 0 && (step == SQLITE_DONE || rts != ts)) {
                    /* The sample at ts is complete: write its blob. */
                    blob = sm_xgrow(blob, &bcap, history_blob_bound(np), 1);
                    size_t len = history_blob_encode(pairs, np, blob);
                    sq_bindf(q[3], "iib", agent, ts, (const void *)blob, len);
                    if (sqlite3_step(q[3]) != SQLITE_DONE) {
                        rc = sq_error(st, "migration 4: write sample", cause);
                        break;
                    }
                    nsamples++;
                    npoints += (int64_t)np;
                    np = 0;
                }
                if (step == SQLITE_DONE)
                    break;
                ts = rts;
                pairs = sm_xgrow(pairs, &pcap, np + 1, sizeof *pairs);
                pairs[np++] = (struct history_pair){sqlite3_column_int64(q[2], 1),
                                                    sqlite3_column_double(q[2], 2)};
            }
            if (t > INT64_MAX - 3600000)
                break;
            t += 3600000;
        }
    }
    if (rc == SM_OK && step != SQLITE_DONE)
        rc = sq_error(st, "migration 4: list agents", cause);
out:
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(q[i]);
    free(pairs);
    free(blob);
    if (rc == SM_OK)
        rc = sq_exec_sql(st, "DROP TABLE points", cause);
    if (rc == SM_OK)
        sm_log(SM_LOG_INFO, "database: %lld points packed into %lld samples", (long long)npoints,
               (long long)nsamples);
    return rc;
}

/* Migration 7: the minute rows into packed hours (history_minutes_pack). */
static enum sm_rc
pack_minutes(struct store_sqlite *st, char **cause)
{
    int64_t minutes;
    enum sm_rc rc = history_minutes_pack(st->db, &minutes);
    if (rc != SM_OK)
        return sq_error(st, "migration 7: packing the minute rollups", cause);
    sm_log(SM_LOG_INFO, "database: %lld minute rollups packed by the hour", (long long)minutes);
    return SM_OK;
}

/* Run a one-row PRAGMA and read its first column (0 when it answers no row). */
static enum sm_rc
pragma_int(struct store_sqlite *st, const char *sql, int *v, char **cause)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sq_error(st, sql, cause);
    if (sqlite3_step(s) == SQLITE_ROW)
        *v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return SM_OK;
}

enum sm_rc
sq_migrate(struct store_sqlite *st, char **cause)
{
    int version = 0;
    enum sm_rc rc = pragma_int(st, "PRAGMA user_version", &version, cause);
    if (rc != SM_OK)
        return rc;
    if (version > (int)NMIGRATIONS) {
        *cause = sm_xasprintf("database schema version %d is newer than this smserver (%d)",
                              version, (int)NMIGRATIONS);
        return SM_EINVAL;
    }
    while (version < (int)NMIGRATIONS) {
        if ((rc = sq_exec_sql(st, "BEGIN IMMEDIATE", cause)) != SM_OK)
            return rc;
        /* Re-read inside the write lock: another process may have migrated. */
        if ((rc = pragma_int(st, "PRAGMA user_version", &version, cause)) != SM_OK)
            goto fail;
        if (version >= (int)NMIGRATIONS) {
            if ((rc = sq_exec_sql(st, "COMMIT", cause)) != SM_OK)
                goto fail;
            break;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
        if ((rc = sq_exec_sql(st, migrations[version].sql, cause)) != SM_OK ||
            (migrations[version].step && (rc = migrations[version].step(st, cause)) != SM_OK) ||
            (rc = sq_exec_sql(st, pragma, cause)) != SM_OK ||
            (rc = sq_exec_sql(st, "COMMIT", cause)) != SM_OK)
            goto fail;
        sm_log(SM_LOG_INFO, "database migrated to schema version %d", version + 1);
        version++;
    }
    return SM_OK;
fail:
    if (sq_exec_sql(st, "ROLLBACK", NULL) != SM_OK)
        sm_log(SM_LOG_DEBUG, "rollback after a failed migration failed");
    return rc;
}
