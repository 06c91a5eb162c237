/* store_sqlite.c: the SQLite backend of store.h. WAL, synchronous=FULL, every statement
 * prepared once per connection with bound parameters, migrations by user_version. */
#include "config.h"

#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "log.h"
#include "store_backend.h"
#include "store_sqlite.h"
#include "xmalloc.h"

#define BUSY_TIMEOUT_MS 5000
#define JOURNAL_SIZE_LIMIT (64 * 1024 * 1024)

static enum sm_rc pack_points(struct store_sqlite *st, char **cause);

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
};
#define NMIGRATIONS (sizeof migrations / sizeof migrations[0])

#define AGENT_COLS "id, user_id, name, created, coalesce(last_seen, 0), host"
#define RULE_COLS                                                                                  \
    "id, user_id, name, metric, labels, op, threshold, for_seconds, resolve_seconds,"              \
    " coalesce(agent_id, 0), severity, coalesce(channel_id, 0), created, updated"
#define CHANNEL_COLS "id, user_id, name, kind, url, chat_id, secret, created"
#define EVENT_COLS "e.id, e.rule_id, e.agent_id, e.labels, e.state, e.value, e.ts, e.at"

/* The statements of a connection, prepared once at open. what names the statement in
 * error messages; args lists the types of its parameters ?1, ?2, ... in order, which is
 * what the bind helpers below take after the statement id:
 *   i int64_t   d double   t const char * (text, NULL binds NULL)
 *   h const uint8_t * of STORE_HASH_LEN bytes   f of STORE_FAMILY_LEN bytes
 *   b const void *, size_t (a blob and its length)
 * store_open checks that each statement has as many parameters as args lists. */
struct stmt_def {
    const char *what, *args, *sql;
};

static const struct stmt_def stmt_defs[S_COUNT] = {
    [S_USER_ADD] = {"add user", "tti",
                    "INSERT INTO users(name, pwhash, created) VALUES (?1, ?2, ?3)"},
    [S_USER_BY_NAME] = {"find user", "t",
                        "SELECT id, name, pwhash, created FROM users WHERE name = ?1"},
    [S_USER_BY_ID] = {"find user", "i",
                      "SELECT id, name, pwhash, created FROM users WHERE id = ?1"},
    [S_USER_LIST] = {"list users", "", "SELECT id, name, '', created FROM users ORDER BY id"},
    [S_REFRESH_ADD] = {"add refresh token", "hifii",
                       "INSERT INTO refresh_tokens(hash, user_id, family, expires, created)"
                       " VALUES (?1, ?2, ?3, ?4, ?5)"},
    [S_REFRESH_GET] =
        {"find refresh token", "h",
         "SELECT user_id, family, expires, revoked FROM refresh_tokens WHERE hash = ?1"},
    [S_REFRESH_RETIRE] = {"retire refresh token", "h",
                          "UPDATE refresh_tokens SET revoked = 1 WHERE hash = ?1"},
    [S_REFRESH_REVOKE_FAMILY] = {"revoke token family", "f",
                                 "UPDATE refresh_tokens SET revoked = 1 WHERE family = ?1"},
    [S_AGENT_ADD] =
        {"add agent", "ithi",
         "INSERT INTO agents(user_id, name, token_hash, created) VALUES (?1, ?2, ?3, ?4)"},
    [S_AGENT_GET] = {"find agent", "ii",
                     "SELECT " AGENT_COLS " FROM agents WHERE id = ?1 AND user_id = ?2"},
    [S_AGENT_LIST_USER] = {"list agents", "i",
                           "SELECT " AGENT_COLS " FROM agents WHERE user_id = ?1 ORDER BY id"},
    [S_AGENT_LIST_ALL] = {"list agents", "", "SELECT " AGENT_COLS " FROM agents ORDER BY id"},
    [S_AGENT_DEL_SAMPLES] = {"delete samples", "i", "DELETE FROM samples WHERE agent_id = ?1"},
    [S_AGENT_DEL_EVENTS] = {"delete alert events", "i",
                            "DELETE FROM alert_events WHERE agent_id = ?1"},
    [S_AGENT_DEL] = {"delete agent", "ii", "DELETE FROM agents WHERE id = ?1 AND user_id = ?2"},
    [S_AGENT_SET_TOKEN] = {"set agent token", "iih",
                           "UPDATE agents SET token_hash = ?3 WHERE id = ?1 AND user_id = ?2"},
    [S_AGENT_BY_TOKEN] = {"find agent", "h",
                          "SELECT " AGENT_COLS " FROM agents WHERE token_hash = ?1"},
    [S_AGENT_SEEN] = {"update agent", "ii", "UPDATE agents SET last_seen = ?2 WHERE id = ?1"},
    [S_AGENT_SEEN_HOST] = {"update agent", "iit",
                           "UPDATE agents SET last_seen = ?2, host = ?3 WHERE id = ?1"},
    [S_SAMPLE_EXISTS] = {"find sample", "ii",
                         "SELECT 1 FROM samples WHERE agent_id = ?1 AND ts = ?2"},
    [S_SAMPLE_ADD] = {"add sample", "iib",
                      "INSERT OR IGNORE INTO samples(agent_id, ts, data) VALUES (?1, ?2, ?3)"},
    [S_SERIES_GET] = {"find series", "itt",
                      "SELECT id FROM series WHERE agent_id = ?1 AND name = ?2 AND labels = ?3"},
    [S_SERIES_ADD] = {"add series", "itt",
                      "INSERT INTO series(agent_id, name, labels) VALUES (?1, ?2, ?3)"},
    [S_SERIES_COUNT] = {"count series", "i", "SELECT count(*) FROM series WHERE agent_id = ?1"},
    [S_LATEST_SET] = {"set latest sample", "iit",
                      "INSERT INTO latest(agent_id, ts, sample) VALUES (?1, ?2, ?3)"
                      " ON CONFLICT(agent_id) DO UPDATE SET ts = excluded.ts,"
                      " sample = excluded.sample WHERE excluded.ts >= latest.ts"},
    [S_BEGIN] = {"begin", "", "BEGIN IMMEDIATE"},
    [S_COMMIT] = {"commit", "", "COMMIT"},
    [S_ROLLBACK] = {"rollback", "", "ROLLBACK"},
    [S_SAVEPOINT] = {"savepoint", "", "SAVEPOINT batch"},
    [S_RELEASE] = {"release", "", "RELEASE batch"},
    [S_ROLLBACK_TO] = {"rollback to", "", "ROLLBACK TO batch"},
    [S_COUNT_SAMPLES] = {"count", "", "SELECT count(*) FROM samples"},
    [S_COUNT_POINTS] = {"count", "", "SELECT data FROM samples"},
    [S_WATERMARK] = {"watermark", "", "SELECT v FROM rollup_state WHERE k = 'minute_done'"},
    [S_LATEST_GET] = {"latest sample", "i", "SELECT sample FROM latest WHERE agent_id = ?1"},
    [S_SERIES_LIST] = {"list series", "i",
                       "SELECT name, labels FROM series WHERE agent_id = ?1 ORDER BY name, labels"},
    [S_LATEST_POINTS] = {"latest points", "",
                         "SELECT a.id, a.name, u.name, s.name, s.labels, s.id FROM series s"
                         " JOIN agents a ON a.id = s.agent_id JOIN users u ON u.id = a.user_id"
                         " ORDER BY s.name, a.id, s.labels"},
    [S_NEWEST_SAMPLES] = {"latest points", "",
                          "SELECT (SELECT data FROM samples WHERE agent_id = a.id"
                          " ORDER BY ts DESC LIMIT 1) FROM agents a"},
    [S_RULE_ADD] = {"add alert rule", "ittttdiiitiii",
                    "INSERT INTO alert_rules(user_id, name, metric, labels, op, threshold,"
                    " for_seconds, resolve_seconds, agent_id, severity, channel_id, created,"
                    " updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0), ?10,"
                    " nullif(?11, 0), ?12, ?13)"},
    [S_RULE_UPDATE] = {"update alert rule", "ittttdiiitiiii",
                       "UPDATE alert_rules SET name = ?2, metric = ?3, labels = ?4, op = ?5,"
                       " threshold = ?6, for_seconds = ?7, resolve_seconds = ?8,"
                       " agent_id = nullif(?9, 0), severity = ?10, channel_id = nullif(?11, 0),"
                       " updated = ?13 WHERE id = ?14 AND user_id = ?1"},
    [S_RULE_GET] = {"find alert rule", "ii",
                    "SELECT " RULE_COLS " FROM alert_rules WHERE id = ?1 AND user_id = ?2"},
    [S_RULE_LIST_USER] = {"list alert rules", "i",
                          "SELECT " RULE_COLS " FROM alert_rules WHERE user_id = ?1 ORDER BY id"},
    [S_RULE_LIST_ALL] = {"list alert rules", "",
                         "SELECT " RULE_COLS " FROM alert_rules ORDER BY id"},
    [S_RULE_DEL] = {"delete", "ii", "DELETE FROM alert_rules WHERE id = ?1 AND user_id = ?2"},
    [S_RULE_COUNT] = {"count", "i", "SELECT count(*) FROM alert_rules WHERE user_id = ?1"},
    [S_CHANNEL_ADD] = {"add channel", "ittttbi",
                       "INSERT INTO alert_channels(user_id, name, kind, url, chat_id, secret,"
                       " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
    [S_CHANNEL_GET] = {"find channel", "ii",
                       "SELECT " CHANNEL_COLS
                       " FROM alert_channels WHERE id = ?1 AND user_id = ?2"},
    [S_CHANNEL_LIST] = {"list channels", "i",
                        "SELECT " CHANNEL_COLS
                        " FROM alert_channels WHERE user_id = ?1 ORDER BY id"},
    [S_CHANNEL_DEL] = {"delete", "ii", "DELETE FROM alert_channels WHERE id = ?1 AND user_id = ?2"},
    [S_CHANNEL_COUNT] = {"count", "i", "SELECT count(*) FROM alert_channels WHERE user_id = ?1"},
    [S_CHANNEL_SECRET] = {"set channel secret", "iib",
                          "UPDATE alert_channels SET secret = ?3 WHERE id = ?1 AND user_id = ?2"},
    [S_EVENT_ADD] = {"add alert event", "iittdii",
                     "INSERT INTO alert_events(rule_id, agent_id, labels, state, value, ts, at)"
                     " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS"
                     " (SELECT 1 FROM alert_rules WHERE id = ?1)"
                     " AND EXISTS (SELECT 1 FROM agents WHERE id = ?2)"},
    [S_EVENT_PRUNE_AGE] = {"prune alert events", "i", "DELETE FROM alert_events WHERE at < ?1"},
    [S_EVENT_PRUNE_RULE] = {"prune alert events", "ii",
                            "DELETE FROM alert_events WHERE rule_id = ?1 AND id <"
                            " (SELECT id FROM alert_events WHERE rule_id = ?1"
                            " ORDER BY id DESC LIMIT 1 OFFSET ?2)"},
    [S_EVENT_LIST] = {"list alert events", "ii",
                      "SELECT " EVENT_COLS " FROM alert_events e WHERE e.rule_id = ?1"
                      " ORDER BY e.id DESC LIMIT ?2"},
    [S_EVENT_ACTIVE] = {"list alert events", "i",
                        "SELECT " EVENT_COLS " FROM alert_events e JOIN alert_rules r"
                        " ON r.id = e.rule_id WHERE (?1 = 0 OR r.user_id = ?1) AND e.id IN"
                        " (SELECT max(id) FROM alert_events GROUP BY rule_id, agent_id, labels)"
                        " AND e.state IN ('pending', 'firing') ORDER BY e.rule_id, e.agent_id"},
};

enum sm_rc
sq_error(struct store_sqlite *st, const char *what, char **cause)
{
    int code = sqlite3_errcode(st->db);
    if (cause)
        *cause = sm_xasprintf("database: %s: %s", what, sqlite3_errmsg(st->db));
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return SM_EBUSY;
    if (code == SQLITE_FULL)
        return SM_EUNAVAIL;
    if (code == SQLITE_CONSTRAINT)
        return SM_ECONFLICT;
    return SM_EIO;
}

/* Bind the parameters of s from ap, of the types args lists (see stmt_defs). */
static void
bind_va(sqlite3_stmt *s, const char *args, va_list ap)
{
    for (int i = 0; args[i]; i++) {
        const void *blob;
        size_t len;
        switch (args[i]) {
        case 'i':
            sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
            break;
        case 'd':
            sqlite3_bind_double(s, i + 1, va_arg(ap, double));
            break;
        case 't':
            sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
            break;
        case 'h':
        case 'f':
            blob = va_arg(ap, const uint8_t *);
            len = args[i] == 'h' ? STORE_HASH_LEN : STORE_FAMILY_LEN;
            sqlite3_bind_blob(s, i + 1, blob, (int)len, SQLITE_STATIC);
            break;
        case 'b':
            blob = va_arg(ap, const void *);
            len = va_arg(ap, size_t);
            sqlite3_bind_blob(s, i + 1, blob, (int)len, SQLITE_STATIC);
            break;
        default:
            abort(); /* a typo in a table: store_open's check cannot see it */
        }
    }
}

/* Reset an ad-hoc statement and bind its parameters as bind_va does. */
void
sq_bindf(sqlite3_stmt *s, const char *args, ...)
{
    va_list ap;
    sqlite3_reset(s);
    va_start(ap, args);
    bind_va(s, args, ap);
    va_end(ap);
}

static sqlite3_stmt *
vbind(struct store_sqlite *st, enum stmt_id id, va_list ap)
{
    sqlite3_stmt *s = st->stmt[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    bind_va(s, stmt_defs[id].args, ap);
    return s;
}

/* The prepared statement id, reset, with its parameters bound from the arguments that
 * follow (types as stmt_defs[id].args says). Borrowed: valid until the next use of id. */
sqlite3_stmt *
sq_bind(struct store_sqlite *st, enum stmt_id id, ...)
{
    va_list ap;
    va_start(ap, id);
    sqlite3_stmt *s = vbind(st, id, ap);
    va_end(ap);
    return s;
}

/* Reset statement id after its last step returned step: SM_OK when that was a row or the
 * end, else the error (named by the table, in *cause when cause is non-NULL). */
enum sm_rc
sq_done(struct store_sqlite *st, enum stmt_id id, int step, char **cause)
{
    sqlite3_reset(st->stmt[id]);
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        return sq_error(st, stmt_defs[id].what, cause);
    return SM_OK;
}

static enum sm_rc
vexec(struct store_sqlite *st, char **cause, enum stmt_id id, va_list ap)
{
    return sq_done(st, id, sqlite3_step(vbind(st, id, ap)), cause);
}

/* Bind and run statement id for its effect (no rows are read). */
enum sm_rc
sq_exec(struct store_sqlite *st, char **cause, enum stmt_id id, ...)
{
    va_list ap;
    va_start(ap, id);
    enum sm_rc rc = vexec(st, cause, id, ap);
    va_end(ap);
    return rc;
}

/* sq_exec, and SM_ENOTFOUND when it changed no row. */
enum sm_rc
sq_change(struct store_sqlite *st, char **cause, enum stmt_id id, ...)
{
    va_list ap;
    va_start(ap, id);
    enum sm_rc rc = vexec(st, cause, id, ap);
    va_end(ap);
    if (rc == SM_OK && sqlite3_changes(st->db) == 0)
        rc = SM_ENOTFOUND;
    return rc;
}

/* Bind statement id and read its first row into out with read: SM_OK, none when it has
 * no row, or the error. */
enum sm_rc
sq_one(struct store_sqlite *st, char **cause, enum sm_rc none, row_fn read, void *out,
       enum stmt_id id, ...)
{
    va_list ap;
    va_start(ap, id);
    sqlite3_stmt *s = vbind(st, id, ap);
    va_end(ap);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        read(s, out);
    enum sm_rc rc = sq_done(st, id, step, cause);
    return rc == SM_OK && step == SQLITE_DONE ? none : rc;
}

/* Row reader of a single integer column. */
void
sq_read_i64(sqlite3_stmt *s, void *out)
{
    *(int64_t *)out = sqlite3_column_int64(s, 0);
}

enum sm_rc
sq_exec_sql(struct store_sqlite *st, const char *sql, char **cause)
{
    char *err = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        if (cause)
            *cause = sm_xasprintf("database: %s", err ? err : sqlite3_errmsg(st->db));
        sqlite3_free(err);
        return SM_EIO;
    }
    return SM_OK;
}

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

enum sm_rc
store_sqlite_open(const char *path, struct store **out, char **cause)
{
    struct store_sqlite *st = sm_xcalloc(1, sizeof *st);
    enum sm_rc rc = SM_OK;
    st->base.backend = &store_sqlite_backend;
    /* Create a new file ourselves so that it is 0600 whatever the umask. Never open and
     * close an existing one: closing any descriptor of a file drops every POSIX lock this
     * process holds on it, including those of other connections (another process could
     * then checkpoint and delete the WAL under them). */
    struct stat sb;
    if (stat(path, &sb) != 0) {
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            *cause = sm_xasprintf("%s: %s", path, strerror(errno));
            free(st);
            return SM_EIO;
        }
        if (fd >= 0)
            close(fd);
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = sq_error(st, path, cause);
        goto fail;
    }
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(st->db, 0);
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
             " PRAGMA journal_size_limit = %d; PRAGMA temp_store = MEMORY;",
             JOURNAL_SIZE_LIMIT);
    if ((rc = sq_exec_sql(st, pragmas, cause)) != SM_OK)
        goto fail;
    if ((rc = sq_migrate(st, cause)) != SM_OK)
        goto fail;
    for (int i = 0; i < S_COUNT; i++) {
        const struct stmt_def *d = &stmt_defs[i];
        if (sqlite3_prepare_v3(st->db, d->sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
            SQLITE_OK) {
            rc = sq_error(st, d->sql, cause);
            goto fail;
        }
        if (sqlite3_bind_parameter_count(st->stmt[i]) != (int)strlen(d->args)) {
            *cause = sm_xasprintf("statement table: \"%s\" has %d parameters, not %zu", d->what,
                                  sqlite3_bind_parameter_count(st->stmt[i]), strlen(d->args));
            rc = SM_EINVAL;
            goto fail;
        }
    }
    *out = &st->base;
    return SM_OK;
fail:
    store_sqlite_free(&st->base);
    return rc;
}

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
    for (size_t i = 0; i < st->cache_cap; i++)
        free(st->cache[i].key);
    free(st->cache);
    st->cache = NULL;
    st->cache_cap = st->cache_len = 0;
    free(st->counts);
    st->counts = NULL;
    st->counts_cap = st->counts_len = 0;
}

void
store_sqlite_free(struct store *base)
{
    struct store_sqlite *st = sq(base);
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db && sqlite3_close(st->db) != SQLITE_OK)
        sm_log(SM_LOG_WARN, "database: close: %s", sqlite3_errmsg(st->db));
    sq_cache_clear(st);
    free(st->pairs);
    free(st->blob);
    free(st);
}

enum sm_rc
store_sqlite_ping(struct store *base)
{
    struct store_sqlite *st = sq(base);
    return sq_exec(st, NULL, S_USER_BY_ID, (int64_t)0) == SM_OK ? SM_OK : SM_EUNAVAIL;
}

enum sm_rc
store_sqlite_check(struct store *base, char **cause)
{
    struct store_sqlite *st = sq(base);
    sqlite3_stmt *s = NULL;
    enum sm_rc rc = SM_OK;
    if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK)
        return sq_error(st, "integrity_check", cause);
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = sq_error(st, "integrity_check", cause);
    } else {
        const char *r = (const char *)sqlite3_column_text(s, 0);
        if (!r || strcmp(r, "ok") != 0) {
            *cause = sm_xasprintf("database: integrity_check: %s", r ? r : "no answer");
            rc = SM_EIO;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* ------------------------------------------------------------------ users */

void
sq_copy_text(char *dst, size_t dstsz, sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    sm_strlcpy(dst, t ? t : "", dstsz);
}

static void
read_user(sqlite3_stmt *s, void *out)
{
    struct store_user *u = out;
    u->id = sqlite3_column_int64(s, 0);
    sq_copy_text(u->name, sizeof u->name, s, 1);
    sq_copy_text(u->pwhash, sizeof u->pwhash, s, 2);
    u->created = sqlite3_column_int64(s, 3);
}

enum sm_rc
store_sqlite_user_add(struct store *base, const char *name, const char *pwhash, int64_t now,
                      struct store_user *out)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_USER_ADD, name, pwhash, now);
    if (rc != SM_OK)
        return rc;
    out->id = sqlite3_last_insert_rowid(st->db);
    sm_strlcpy(out->name, name, sizeof out->name);
    sm_strlcpy(out->pwhash, pwhash, sizeof out->pwhash);
    out->created = now;
    return SM_OK;
}

enum sm_rc
store_sqlite_user_by_name(struct store *base, const char *name, struct store_user *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_ENOTFOUND, read_user, out, S_USER_BY_NAME, name);
}

enum sm_rc
store_sqlite_user_by_id(struct store *base, int64_t id, struct store_user *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_ENOTFOUND, read_user, out, S_USER_BY_ID, id);
}

enum sm_rc
store_sqlite_user_list(struct store *base, store_user_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    sqlite3_stmt *s = sq_bind(st, S_USER_LIST);
    struct store_user u;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        read_user(s, &u);
        fn(&u, arg);
    }
    return sq_done(st, S_USER_LIST, step, NULL);
}

/* ------------------------------------------------------------------ refresh tokens */

enum sm_rc
store_sqlite_refresh_add(struct store *base, const uint8_t hash[STORE_HASH_LEN], int64_t user_id,
                         const uint8_t family[STORE_FAMILY_LEN], int64_t expires, int64_t now)
{
    struct store_sqlite *st = sq(base);
    return sq_exec(st, NULL, S_REFRESH_ADD, hash, user_id, family, expires, now);
}

/* A refresh token's row; ok = 0 when its family is malformed. */
struct refresh_row {
    int64_t user_id, expires;
    uint8_t family[STORE_FAMILY_LEN];
    int revoked, ok;
};

static void
read_refresh(sqlite3_stmt *s, void *out)
{
    struct refresh_row *r = out;
    r->ok = sqlite3_column_bytes(s, 1) == STORE_FAMILY_LEN;
    if (!r->ok)
        return;
    r->user_id = sqlite3_column_int64(s, 0);
    memcpy(r->family, sqlite3_column_blob(s, 1), STORE_FAMILY_LEN);
    r->expires = sqlite3_column_int64(s, 2);
    r->revoked = sqlite3_column_int(s, 3);
}

/* Look hash up. SM_EAUTH when unknown; *revoked and *expires say the rest. */
static enum sm_rc
refresh_get(struct store_sqlite *st, const uint8_t hash[STORE_HASH_LEN], int64_t *user_id,
            uint8_t family[STORE_FAMILY_LEN], int64_t *expires, int *revoked)
{
    struct refresh_row r = {0};
    enum sm_rc rc = sq_one(st, NULL, SM_EAUTH, read_refresh, &r, S_REFRESH_GET, hash);
    if (rc != SM_OK)
        return rc;
    if (!r.ok)
        return SM_EAUTH;
    *user_id = r.user_id;
    memcpy(family, r.family, STORE_FAMILY_LEN);
    *expires = r.expires;
    *revoked = r.revoked;
    return SM_OK;
}

enum sm_rc
store_sqlite_refresh_rotate(struct store *base, const uint8_t old_hash[STORE_HASH_LEN],
                            const uint8_t new_hash[STORE_HASH_LEN], int64_t now,
                            int64_t new_expires, int64_t *user_id)
{
    struct store_sqlite *st = sq(base);
    uint8_t family[STORE_FAMILY_LEN];
    int64_t expires = 0;
    int revoked = 0;
    enum sm_rc rc = sq_exec(st, NULL, S_BEGIN);
    if (rc != SM_OK)
        return rc;
    if ((rc = refresh_get(st, old_hash, user_id, family, &expires, &revoked)) != SM_OK)
        goto fail;
    if (revoked) {
        /* A retired token came back: someone holds a copy. End the whole session. */
        sm_log(SM_LOG_WARN, "refresh token reuse for user %lld: revoking its session",
               (long long)*user_id);
        if ((rc = sq_exec(st, NULL, S_REFRESH_REVOKE_FAMILY, family)) != SM_OK)
            goto fail;
        if ((rc = sq_exec(st, NULL, S_COMMIT)) != SM_OK)
            goto fail;
        return SM_EAUTH;
    }
    if (expires <= now) {
        rc = SM_EAUTH;
        goto fail;
    }
    if ((rc = sq_exec(st, NULL, S_REFRESH_RETIRE, old_hash)) != SM_OK)
        goto fail;
    if ((rc = store_sqlite_refresh_add(&st->base, new_hash, *user_id, family, new_expires, now)) !=
        SM_OK)
        goto fail;
    return sq_exec(st, NULL, S_COMMIT);
fail:
    store_sqlite_rollback(&st->base);
    return rc;
}

enum sm_rc
store_sqlite_refresh_revoke(struct store *base, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                            int64_t *user_id)
{
    struct store_sqlite *st = sq(base);
    uint8_t family[STORE_FAMILY_LEN];
    int64_t expires = 0;
    int revoked = 0;
    enum sm_rc rc = refresh_get(st, hash, user_id, family, &expires, &revoked);
    if (rc != SM_OK)
        return rc;
    if (revoked || expires <= now)
        return SM_EAUTH;
    return sq_exec(st, NULL, S_REFRESH_REVOKE_FAMILY, family);
}

/* ------------------------------------------------------------------ agents */

static void
read_agent(sqlite3_stmt *s, void *out)
{
    struct store_agent *a = out;
    a->id = sqlite3_column_int64(s, 0);
    a->user_id = sqlite3_column_int64(s, 1);
    sq_copy_text(a->name, sizeof a->name, s, 2);
    a->created = sqlite3_column_int64(s, 3);
    a->last_seen = sqlite3_column_int64(s, 4);
    const char *host = (const char *)sqlite3_column_text(s, 5);
    a->host = host ? sm_xstrdup(host) : NULL;
}

enum sm_rc
store_sqlite_agent_add(struct store *base, int64_t user_id, const char *name,
                       const uint8_t token_hash[STORE_HASH_LEN], int64_t now,
                       struct store_agent *out)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_AGENT_ADD, user_id, name, token_hash, now);
    if (rc != SM_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_last_insert_rowid(st->db);
    out->user_id = user_id;
    sm_strlcpy(out->name, name, sizeof out->name);
    out->created = now;
    return SM_OK;
}

enum sm_rc
store_sqlite_agent_get(struct store *base, int64_t user_id, int64_t id, struct store_agent *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_ENOTFOUND, read_agent, out, S_AGENT_GET, id, user_id);
}

enum sm_rc
store_sqlite_agent_by_token(struct store *base, const uint8_t hash[STORE_HASH_LEN],
                            struct store_agent *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_EAUTH, read_agent, out, S_AGENT_BY_TOKEN, hash);
}

enum sm_rc
store_sqlite_agent_list(struct store *base, int64_t user_id, store_agent_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    enum stmt_id id = user_id ? S_AGENT_LIST_USER : S_AGENT_LIST_ALL;
    sqlite3_stmt *s = sq_bind(st, id, user_id); /* S_AGENT_LIST_ALL takes no argument */
    struct store_agent a;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        read_agent(s, &a);
        fn(&a, arg);
        store_agent_done(&a);
    }
    return sq_done(st, id, step, NULL);
}

enum sm_rc
store_sqlite_agent_delete(struct store *base, int64_t user_id, int64_t id)
{
    struct store_sqlite *st = sq(base);
    struct store_agent a;
    enum sm_rc rc = sq_exec(st, NULL, S_BEGIN);
    if (rc != SM_OK)
        return rc;
    if ((rc = store_sqlite_agent_get(&st->base, user_id, id, &a)) != SM_OK)
        goto fail;
    store_agent_done(&a);
    /* The samples carry the raw points. */
    if ((rc = sq_exec(st, NULL, S_AGENT_DEL_SAMPLES, id)) != SM_OK)
        goto fail;
    /* Its alert history goes too: no alert stays active for an agent that is gone. */
    if ((rc = sq_exec(st, NULL, S_AGENT_DEL_EVENTS, id)) != SM_OK)
        goto fail;
    if ((rc = history_forget_agent(st->db, id)) != SM_OK)
        goto fail;
    if ((rc = sq_exec(st, NULL, S_AGENT_DEL, id, user_id)) != SM_OK)
        goto fail;
    return sq_exec(st, NULL, S_COMMIT);
fail:
    store_sqlite_rollback(&st->base);
    return rc;
}

enum sm_rc
store_sqlite_agent_set_token(struct store *base, int64_t user_id, int64_t id,
                             const uint8_t token_hash[STORE_HASH_LEN])
{
    struct store_sqlite *st = sq(base);
    return sq_change(st, NULL, S_AGENT_SET_TOKEN, id, user_id, token_hash);
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

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static struct series_entry *
cache_slot(struct store_sqlite *st, const char *key)
{
    size_t mask = st->cache_cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask)
        if (!st->cache[i].key || strcmp(st->cache[i].key, key) == 0)
            return &st->cache[i];
}

static void
cache_put(struct store_sqlite *st, char *key, int64_t id)
{
    if ((st->cache_len + 1) * 2 > st->cache_cap) {
        struct series_entry *old = st->cache;
        size_t oldcap = st->cache_cap;
        st->cache_cap = oldcap ? oldcap * 2 : 256;
        st->cache = sm_xcalloc(st->cache_cap, sizeof *st->cache);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].key)
                *cache_slot(st, old[i].key) = old[i];
        free(old);
    }
    struct series_entry *e = cache_slot(st, key);
    if (e->key) {
        free(key);
    } else {
        e->key = key;
        st->cache_len++;
    }
    e->id = id;
}

/* The series count slot of agent (created with count -1 = unknown). */
static struct agent_count *
count_slot(struct store_sqlite *st, int64_t agent_id)
{
    if ((st->counts_len + 1) * 2 > st->counts_cap) {
        struct agent_count *old = st->counts;
        size_t oldcap = st->counts_cap;
        st->counts_cap = oldcap ? oldcap * 2 : 64;
        st->counts = sm_xcalloc(st->counts_cap, sizeof *st->counts);
        st->counts_len = 0;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].agent_id)
                *count_slot(st, old[i].agent_id) = old[i];
        free(old);
    }
    size_t mask = st->counts_cap - 1;
    for (size_t i = ((uint64_t)agent_id * 11400714819323198485ULL >> 7) & mask;;
         i = (i + 1) & mask) {
        if (st->counts[i].agent_id == agent_id)
            return &st->counts[i];
        if (!st->counts[i].agent_id) {
            st->counts[i].agent_id = agent_id;
            st->counts[i].count = -1;
            st->counts_len++;
            return &st->counts[i];
        }
    }
}

/* The id of series (agent, name, labels), created when new. *id = 0 when the agent is
 * at its series cap. */
static enum sm_rc
series_id(struct store_sqlite *st, int64_t agent_id, const char *name, const char *labels,
          int64_t *id, char **cause)
{
    char key[STORE_NAME_MAX * 2 + 512];
    snprintf(key, sizeof key, "%lld\x1f%s\x1f%s", (long long)agent_id, name, labels);
    if (st->cache_cap) {
        struct series_entry *e = cache_slot(st, key);
        if (e->key) {
            *id = e->id;
            return SM_OK;
        }
    }
    enum sm_rc rc =
        sq_one(st, cause, SM_ENOTFOUND, sq_read_i64, id, S_SERIES_GET, agent_id, name, labels);
    if (rc == SM_OK) {
        cache_put(st, sm_xstrdup(key), *id);
        return SM_OK;
    }
    if (rc != SM_ENOTFOUND)
        return rc;
    struct agent_count *c = count_slot(st, agent_id);
    if (c->count < 0) {
        int64_t n = 0;
        if ((rc = sq_one(st, cause, SM_EIO, sq_read_i64, &n, S_SERIES_COUNT, agent_id)) != SM_OK)
            return rc;
        c->count = n;
    }
    if (c->count >= STORE_SERIES_CAP) {
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
    c->count++;
    cache_put(st, sm_xstrdup(key), *id);
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
        /* Back-filled samples come in runs: mark each (agent, minute) once. */
        int64_t minute = smp->ts_ms / 60000;
        if (smp->ts_ms < st->watermark &&
            (st->noted_agent != b->agent_id || st->noted_minute != minute)) {
            if ((rc = history_note_sample(st->db, b->agent_id, smp->ts_ms)) != SM_OK)
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
    return sq_done(st, S_COUNT_POINTS, step, NULL);
}

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
    return history_rollup(st->db, now_ms, budget, work);
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

/* ------------------------------------------------------------------ alerts */

static void
read_rule(sqlite3_stmt *s, void *out)
{
    struct store_rule *r = out;
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(s, 0);
    r->user_id = sqlite3_column_int64(s, 1);
    sq_copy_text(r->name, sizeof r->name, s, 2);
    sq_copy_text(r->metric, sizeof r->metric, s, 3);
    sq_copy_text(r->labels, sizeof r->labels, s, 4);
    const char *op = (const char *)sqlite3_column_text(s, 5);
    r->op = op && op[0] == '<' ? '<' : '>';
    r->threshold = sqlite3_column_double(s, 6);
    r->for_seconds = sqlite3_column_int64(s, 7);
    r->resolve_seconds = sqlite3_column_int64(s, 8);
    r->agent_id = sqlite3_column_int64(s, 9);
    sq_copy_text(r->severity, sizeof r->severity, s, 10);
    r->channel_id = sqlite3_column_int64(s, 11);
    r->created = sqlite3_column_int64(s, 12);
    r->updated = sqlite3_column_int64(s, 13);
}

/* Run S_RULE_ADD or S_RULE_UPDATE with the fields of r (?1 to ?13 the same in both; the
 * add takes the first 13 arguments, the update also ?14, the id). */
static enum sm_rc
rule_write(struct store_sqlite *st, enum stmt_id id, const struct store_rule *r)
{
    return sq_change(st, NULL, id, r->user_id, r->name, r->metric, r->labels,
                     r->op == '<' ? "<" : ">", r->threshold, r->for_seconds, r->resolve_seconds,
                     r->agent_id, r->severity, r->channel_id, r->created, r->updated, r->id);
}

enum sm_rc
store_sqlite_rule_add(struct store *base, struct store_rule *r)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = rule_write(st, S_RULE_ADD, r);
    if (rc == SM_OK)
        r->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

enum sm_rc
store_sqlite_rule_update(struct store *base, const struct store_rule *r)
{
    struct store_sqlite *st = sq(base);
    return rule_write(st, S_RULE_UPDATE, r);
}

enum sm_rc
store_sqlite_rule_get(struct store *base, int64_t user_id, int64_t id, struct store_rule *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_ENOTFOUND, read_rule, out, S_RULE_GET, id, user_id);
}

enum sm_rc
store_sqlite_rule_list(struct store *base, int64_t user_id, store_rule_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    enum stmt_id id = user_id ? S_RULE_LIST_USER : S_RULE_LIST_ALL;
    sqlite3_stmt *s = sq_bind(st, id, user_id); /* S_RULE_LIST_ALL takes no argument */
    struct store_rule r;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        read_rule(s, &r);
        fn(&r, arg);
    }
    return sq_done(st, id, step, NULL);
}

enum sm_rc
store_sqlite_rule_delete(struct store *base, int64_t user_id, int64_t id)
{
    struct store_sqlite *st = sq(base);
    return sq_change(st, NULL, S_RULE_DEL, id, user_id);
}

enum sm_rc
store_sqlite_rule_count(struct store *base, int64_t user_id, int64_t *n)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_EIO, sq_read_i64, n, S_RULE_COUNT, user_id);
}

static void
read_channel(sqlite3_stmt *s, void *out)
{
    struct store_channel *c = out;
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(s, 0);
    c->user_id = sqlite3_column_int64(s, 1);
    sq_copy_text(c->name, sizeof c->name, s, 2);
    sq_copy_text(c->kind, sizeof c->kind, s, 3);
    sq_copy_text(c->url, sizeof c->url, s, 4);
    sq_copy_text(c->chat_id, sizeof c->chat_id, s, 5);
    int n = sqlite3_column_bytes(s, 6);
    const void *b = sqlite3_column_blob(s, 6);
    if (b && n > 0 && (size_t)n <= sizeof c->secret) {
        memcpy(c->secret, b, (size_t)n);
        c->secret_len = (size_t)n;
    }
    c->created = sqlite3_column_int64(s, 7);
}

enum sm_rc
store_sqlite_channel_add(struct store *base, struct store_channel *c)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_CHANNEL_ADD, c->user_id, c->name, c->kind, c->url,
                            c->chat_id, (const void *)c->secret, c->secret_len, c->created);
    if (rc != SM_OK)
        return rc;
    c->id = sqlite3_last_insert_rowid(st->db);
    return SM_OK;
}

enum sm_rc
store_sqlite_channel_get(struct store *base, int64_t user_id, int64_t id, struct store_channel *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_ENOTFOUND, read_channel, out, S_CHANNEL_GET, id, user_id);
}

enum sm_rc
store_sqlite_channel_list(struct store *base, int64_t user_id, store_channel_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    sqlite3_stmt *s = sq_bind(st, S_CHANNEL_LIST, user_id);
    struct store_channel c;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        read_channel(s, &c);
        fn(&c, arg);
    }
    return sq_done(st, S_CHANNEL_LIST, step, NULL);
}

enum sm_rc
store_sqlite_channel_delete(struct store *base, int64_t user_id, int64_t id)
{
    struct store_sqlite *st = sq(base);
    return sq_change(st, NULL, S_CHANNEL_DEL, id, user_id);
}

enum sm_rc
store_sqlite_channel_count(struct store *base, int64_t user_id, int64_t *n)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_EIO, sq_read_i64, n, S_CHANNEL_COUNT, user_id);
}

enum sm_rc
store_sqlite_alert_event_add(struct store *base, const struct store_alert_event *e)
{
    struct store_sqlite *st = sq(base);
    return sq_change(st, NULL, S_EVENT_ADD, e->rule_id, e->agent_id, e->labels, e->state, e->value,
                     e->ts_ms, e->at);
}

static enum sm_rc
each_event(struct store_sqlite *st, enum stmt_id id, sqlite3_stmt *s, store_event_fn fn, void *arg)
{
    struct store_alert_event e;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&e, 0, sizeof e);
        e.id = sqlite3_column_int64(s, 0);
        e.rule_id = sqlite3_column_int64(s, 1);
        e.agent_id = sqlite3_column_int64(s, 2);
        sq_copy_text(e.labels, sizeof e.labels, s, 3);
        sq_copy_text(e.state, sizeof e.state, s, 4);
        e.value = sqlite3_column_double(s, 5);
        e.ts_ms = sqlite3_column_int64(s, 6);
        e.at = sqlite3_column_int64(s, 7);
        fn(&e, arg);
    }
    return sq_done(st, id, step, NULL);
}

enum sm_rc
store_sqlite_alert_events(struct store *base, int64_t rule_id, size_t limit, store_event_fn fn,
                          void *arg)
{
    struct store_sqlite *st = sq(base);
    sqlite3_stmt *s = sq_bind(st, S_EVENT_LIST, rule_id, (int64_t)limit);
    return each_event(st, S_EVENT_LIST, s, fn, arg);
}

enum sm_rc
store_sqlite_alert_active(struct store *base, int64_t user_id, store_event_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    return each_event(st, S_EVENT_ACTIVE, sq_bind(st, S_EVENT_ACTIVE, user_id), fn, arg);
}

enum sm_rc
store_sqlite_alert_events_prune(struct store *base, int64_t before, int64_t rule_id, int64_t keep)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_EVENT_PRUNE_AGE, before);
    if (rc != SM_OK)
        return rc;
    return sq_exec(st, NULL, S_EVENT_PRUNE_RULE, rule_id, keep - 1);
}

enum sm_rc
store_sqlite_channel_set_secret(struct store *base, int64_t user_id, int64_t id,
                                const uint8_t *secret, size_t len)
{
    struct store_sqlite *st = sq(base);
    return sq_change(st, NULL, S_CHANNEL_SECRET, id, user_id, (const void *)secret, len);
}

/* ------------------------------------------------------------------ the backend table */

/* Every database string that no other backend claims is a file path. */
static int
store_sqlite_claims(const char *db)
{
    (void)db;
    return 1;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .claims = store_sqlite_claims,
    .open = store_sqlite_open,
    .free = store_sqlite_free,
    .ping = store_sqlite_ping,
    .check = store_sqlite_check,
    .user_add = store_sqlite_user_add,
    .user_by_name = store_sqlite_user_by_name,
    .user_by_id = store_sqlite_user_by_id,
    .user_list = store_sqlite_user_list,
    .refresh_add = store_sqlite_refresh_add,
    .refresh_rotate = store_sqlite_refresh_rotate,
    .refresh_revoke = store_sqlite_refresh_revoke,
    .agent_add = store_sqlite_agent_add,
    .agent_get = store_sqlite_agent_get,
    .agent_list = store_sqlite_agent_list,
    .agent_delete = store_sqlite_agent_delete,
    .agent_set_token = store_sqlite_agent_set_token,
    .agent_by_token = store_sqlite_agent_by_token,
    .begin = store_sqlite_begin,
    .commit = store_sqlite_commit,
    .rollback = store_sqlite_rollback,
    .batch_write = store_sqlite_batch_write,
    .history_query = store_sqlite_history_query,
    .series_list = store_sqlite_series_list,
    .latest = store_sqlite_latest,
    .rollup = store_sqlite_rollup,
    .retain = store_sqlite_retain,
    .latest_points = store_sqlite_latest_points,
    .rule_add = store_sqlite_rule_add,
    .rule_update = store_sqlite_rule_update,
    .rule_get = store_sqlite_rule_get,
    .rule_list = store_sqlite_rule_list,
    .rule_delete = store_sqlite_rule_delete,
    .rule_count = store_sqlite_rule_count,
    .channel_add = store_sqlite_channel_add,
    .channel_get = store_sqlite_channel_get,
    .channel_list = store_sqlite_channel_list,
    .channel_delete = store_sqlite_channel_delete,
    .channel_set_secret = store_sqlite_channel_set_secret,
    .channel_count = store_sqlite_channel_count,
    .alert_event_add = store_sqlite_alert_event_add,
    .alert_events_prune = store_sqlite_alert_events_prune,
    .alert_events = store_sqlite_alert_events,
    .alert_active = store_sqlite_alert_active,
    .count = store_sqlite_count,
};
