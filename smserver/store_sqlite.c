/* store_sqlite.c: the SQLite backend of store.h. WAL, synchronous=FULL, every statement
 * prepared once per connection with bound parameters, migrations by user_version. This
 * file holds the statement table, the bind/step helpers, open and close and the backend
 * table; each other seam is a store_sqlite_*.c file (store_sqlite.h lists them). */
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
    [S_COUNT_SAMPLES] = {"count", "",
                         "SELECT (SELECT count(*) FROM samples) +"
                         " (SELECT coalesce(sum(n), 0) FROM chunk_samples)"},
    [S_COUNT_CHUNK_POINTS] = {"count", "", "SELECT coalesce(sum(n), 0) FROM chunks"},
    [S_SEALED_FIND] = {"find sealed sample", "ii",
                       "SELECT t0, t1, n, data FROM chunk_samples WHERE agent_id = ?1"
                       " AND t0 <= ?2 ORDER BY t0 DESC LIMIT 1"},
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
        return SM_EFULL;
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

void
sq_copy_text(char *dst, size_t dstsz, sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    sm_strlcpy(dst, t ? t : "", dstsz);
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

/* SQLite recovered a WAL after an unclean stop (msg: "recovered N frames from WAL file
 * PATH"): say so, and how much of the file after the last commit it ignored (a torn or
 * damaged tail, or frames left from before the last checkpoint). */
static void
log_wal_recovery(const char *msg)
{
    int frames = 0, at = 0;
    if (sscanf(msg, "recovered %d frames from WAL file %n", &frames, &at) != 1 || at == 0) {
        sm_log(SM_LOG_INFO, "database: %s", msg);
        return;
    }
    const char *path = msg + at;
    unsigned char h[32];
    struct stat st;
    /* The WAL carries no POSIX locks (SQLite locks the database and -shm files), so
     * opening and closing it here cannot drop one. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int ok = fd >= 0 && fstat(fd, &st) == 0 && read(fd, h, sizeof h) == (ssize_t)sizeof h;
    if (fd >= 0)
        close(fd);
    uint32_t page = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
    if (!ok || page < 512 || page > 65536 || st.st_size < 32) {
        sm_log(SM_LOG_INFO, "database: recovered %d frames from the WAL after an unclean stop",
               frames);
        return;
    }
    uint64_t body = (uint64_t)st.st_size - 32, frame = 24 + (uint64_t)page;
    uint64_t total = body / frame, rest = body % frame;
    uint64_t ignored = total > (uint64_t)frames ? total - (uint64_t)frames : 0;
    if (ignored == 0 && rest == 0)
        sm_log(SM_LOG_INFO, "database: recovered %d frames from the WAL after an unclean stop",
               frames);
    else
        sm_log(SM_LOG_WARN,
               "database: recovered %d frames from the WAL after an unclean stop; ignored "
               "%llu frames and %llu bytes after the last good commit (torn, damaged, or "
               "left from before a checkpoint)",
               frames, (unsigned long long)ignored, (unsigned long long)rest);
}

/* SQLite's own log (any thread; must not call SQLite): WAL recovery and corruption. */
static void
sqlite_log(void *arg, int code, const char *msg)
{
    (void)arg;
    if (code == SQLITE_NOTICE_RECOVER_WAL)
        log_wal_recovery(msg);
    else if ((code & 0xFF) == SQLITE_CORRUPT || (code & 0xFF) == SQLITE_NOTADB)
        sm_log(SM_LOG_WARN, "database: %s", msg);
}

void
store_sqlite_init(void)
{
    sqlite3_config(SQLITE_CONFIG_LOG, sqlite_log, NULL);
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
             /* Incremental vacuum gives back the pages of sealed rows (history_seal); it
              * takes effect only in a new database (an existing one reuses them). */
             "PRAGMA auto_vacuum = INCREMENTAL;"
             " PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
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

void
store_sqlite_free(struct store *base)
{
    struct store_sqlite *st = sq(base);
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sq_procs_done(st);
    if (st->db && sqlite3_close(st->db) != SQLITE_OK)
        sm_log(SM_LOG_WARN, "database: close: %s", sqlite3_errmsg(st->db));
    sq_cache_clear(st);
    free(st->pairs);
    free(st->blob);
    free(st->sealed_ts);
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
    .init = store_sqlite_init,
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
    .size = store_sqlite_size,
    .procs_at = store_sqlite_procs_at,
    .procs_retain = store_sqlite_procs_retain,
    .procs_usage = store_sqlite_procs_usage,
    .leader = store_leader_always,
};
