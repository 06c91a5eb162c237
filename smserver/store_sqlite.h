/* store_sqlite.h: what the files of the SQLite backend share (store_sqlite*.c only;
 * the rest of the server sees store.h). One connection is a struct store_sqlite; its
 * statements are the table in store_sqlite.c, prepared once at open, each named by an
 * enum stmt_id and bound by the sq_* helpers from the parameter types the table lists.
 *
 * The files: store_sqlite.c (statement table, helpers, open and close, the backend
 * table), store_sqlite_schema.c (migrations), store_sqlite_auth.c (users and refresh
 * tokens), store_sqlite_agents.c, store_sqlite_ingest.c (group commit and the series
 * cache), store_sqlite_history.c (queries, rollups, retention, latest values) and
 * store_sqlite_alerts.c (rules, channels, events), store_sqlite_procs.c (process
 * snapshots). */
#ifndef SM_SMSERVER_STORE_SQLITE_H
#define SM_SMSERVER_STORE_SQLITE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "series_cache.h"
#include "store.h"
#include "store_backend.h"

enum stmt_id {
    S_USER_ADD,
    S_USER_BY_NAME,
    S_USER_BY_ID,
    S_USER_LIST,
    S_REFRESH_ADD,
    S_REFRESH_GET,
    S_REFRESH_RETIRE,
    S_REFRESH_REVOKE_FAMILY,
    S_AGENT_ADD,
    S_AGENT_GET,
    S_AGENT_LIST_USER,
    S_AGENT_LIST_ALL,
    S_AGENT_DEL_SAMPLES,
    S_AGENT_DEL_EVENTS,
    S_AGENT_DEL,
    S_AGENT_SET_TOKEN,
    S_AGENT_BY_TOKEN,
    S_AGENT_SEEN,
    S_AGENT_SEEN_HOST,
    S_SAMPLE_EXISTS,
    S_SAMPLE_ADD,
    S_SERIES_GET,
    S_SERIES_ADD,
    S_SERIES_COUNT,
    S_LATEST_SET,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_COUNT_SAMPLES,
    S_COUNT_POINTS,
    S_COUNT_CHUNK_POINTS,
    S_SEALED_FIND,
    S_WATERMARK,
    S_LATEST_GET,
    S_SERIES_LIST,
    S_LATEST_POINTS,
    S_NEWEST_SAMPLES,
    S_RULE_ADD,
    S_RULE_UPDATE,
    S_RULE_GET,
    S_RULE_LIST_USER,
    S_RULE_LIST_ALL,
    S_RULE_DEL,
    S_RULE_COUNT,
    S_CHANNEL_ADD,
    S_CHANNEL_GET,
    S_CHANNEL_LIST,
    S_CHANNEL_DEL,
    S_CHANNEL_COUNT,
    S_CHANNEL_SECRET,
    S_EVENT_ADD,
    S_EVENT_LIST,
    S_EVENT_ACTIVE,
    S_EVENT_PRUNE_AGE,
    S_EVENT_PRUNE_RULE,
    S_COUNT
};

/* The series of the previous sample written, by position: consecutive samples of one
 * agent usually list the same series in the same order, which skips the hash lookup. */
struct recent_series {
    char *name, *labels;
    int64_t id;
};

#define SQ_PROCS_STMTS 6 /* statements of store_sqlite_procs.c */

struct store_sqlite {
    struct store base; /* first: the backend table (store_backend.h) */
    sqlite3 *db;
    int64_t recent_agent;
    struct recent_series *recent;
    size_t nrecent, recent_cap;
    sqlite3_stmt *stmt[S_COUNT];
    struct series_cache cache; /* the writer's series ids and counts */
    int warned_cap;
    int64_t watermark; /* history: minutes before this are rolled up (read at begin) */
    int64_t noted_agent, noted_minute; /* the dirty minute marked last in this transaction */
    struct history_pair *pairs;        /* the writer's point blob being built */
    size_t pairs_cap;
    uint8_t *blob;
    size_t blob_cap;
    sqlite3_stmt *procs_stmt[SQ_PROCS_STMTS]; /* store_sqlite_procs.c's, prepared on first use */
    /* The sealed sample times last read for duplicate checks (history.h, "Chunks"):
     * agent, window key and count, so a re-sealed window is read again. */
    int64_t sealed_agent, sealed_t0, sealed_n;
    int64_t *sealed_ts;
    size_t sealed_len, sealed_cap;
};

/* The SQLite connection behind a store handle of this backend. */
static inline struct store_sqlite *
sq(struct store *base)
{
    return (struct store_sqlite *)base;
}

/* The error of the connection's last call as an sm_rc (SM_EBUSY, SM_EUNAVAIL when the
 * disk is full, SM_ECONFLICT, SM_EIO); what names the operation in *cause. */
enum sm_rc sq_error(struct store_sqlite *st, const char *what, char **cause);
/* Run SQL text that binds nothing (pragmas, schema). */
enum sm_rc sq_exec_sql(struct store_sqlite *st, const char *sql, char **cause) SM_MUST_CHECK;
/* Reset an ad-hoc statement and bind its parameters: args as in the statement table. */
void sq_bindf(sqlite3_stmt *s, const char *args, ...);

/* Statement id of the table, reset, bound from the arguments that follow (of the types
 * its row lists: i int64_t, d double, t text, h hash, f family, b pointer and size_t).
 * Borrowed: valid until the next use of id. */
sqlite3_stmt *sq_bind(struct store_sqlite *st, enum stmt_id id, ...);
/* Reset statement id after its last step returned step: SM_OK for a row or the end. */
enum sm_rc sq_done(struct store_sqlite *st, enum stmt_id id, int step, char **cause);
/* Bind and run id for its effect. */
enum sm_rc sq_exec(struct store_sqlite *st, char **cause, enum stmt_id id, ...);
/* sq_exec, and SM_ENOTFOUND when it changed no row. */
enum sm_rc sq_change(struct store_sqlite *st, char **cause, enum stmt_id id, ...);
/* Reads the current row of s into out. */
typedef void (*row_fn)(sqlite3_stmt *s, void *out);
/* Bind id and read its first row into out with read: SM_OK, none when no row, or the
 * error. */
enum sm_rc sq_one(struct store_sqlite *st, char **cause, enum sm_rc none, row_fn read, void *out,
                  enum stmt_id id, ...);
/* Row readers: column 0 as an integer; column col as text into a buffer (truncated,
 * "" for NULL). */
void sq_read_i64(sqlite3_stmt *s, void *out);
void sq_copy_text(char *dst, size_t dstsz, sqlite3_stmt *s, int col);

/* Bring the schema to this version (store_sqlite_schema.c). */
enum sm_rc sq_migrate(struct store_sqlite *st, char **cause) SM_MUST_CHECK;
/* Process snapshots (store_sqlite_procs.c): the migration that adds their table; write
 * the sample's snapshot (none when smp->procs_json is NULL) in the current transaction;
 * finalize the file's statements (before the connection closes). */
extern const char sq_procs_schema_sql[];
enum sm_rc sq_procs_write(struct store_sqlite *st, int64_t agent_id, const struct store_sample *smp,
                          char **cause) SM_MUST_CHECK;
void sq_procs_done(struct store_sqlite *st);

/* Forget the writer's series ids (after a rollback they may be gone). */
void sq_cache_clear(struct store_sqlite *st);

/* The backend's entries (store_backend.h), one per store.h function. */
void store_sqlite_init(void);
enum sm_rc store_sqlite_open(const char *db, struct store **out, char **cause) SM_MUST_CHECK;
void store_sqlite_free(struct store *st);
enum sm_rc store_sqlite_ping(struct store *st) SM_MUST_CHECK;
enum sm_rc store_sqlite_check(struct store *st, char **cause) SM_MUST_CHECK;
enum sm_rc store_sqlite_user_add(struct store *st, const char *name, const char *pwhash,
                                 int64_t now, struct store_user *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_user_by_name(struct store *st, const char *name,
                                     struct store_user *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_user_by_id(struct store *st, int64_t id,
                                   struct store_user *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_user_list(struct store *st, store_user_fn fn, void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_refresh_add(struct store *st, const uint8_t hash[STORE_HASH_LEN],
                                    int64_t user_id, const uint8_t family[STORE_FAMILY_LEN],
                                    int64_t expires, int64_t now) SM_MUST_CHECK;
enum sm_rc store_sqlite_refresh_rotate(struct store *st, const uint8_t old_hash[STORE_HASH_LEN],
                                       const uint8_t new_hash[STORE_HASH_LEN], int64_t now,
                                       int64_t new_expires, int64_t *user_id) SM_MUST_CHECK;
enum sm_rc store_sqlite_refresh_revoke(struct store *st, const uint8_t hash[STORE_HASH_LEN],
                                       int64_t now, int64_t *user_id) SM_MUST_CHECK;
enum sm_rc store_sqlite_agent_add(struct store *st, int64_t user_id, const char *name,
                                  const uint8_t token_hash[STORE_HASH_LEN], int64_t now,
                                  struct store_agent *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_agent_get(struct store *st, int64_t user_id, int64_t id,
                                  struct store_agent *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_agent_list(struct store *st, int64_t user_id, store_agent_fn fn,
                                   void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_agent_delete(struct store *st, int64_t user_id, int64_t id) SM_MUST_CHECK;
enum sm_rc store_sqlite_agent_set_token(struct store *st, int64_t user_id, int64_t id,
                                        const uint8_t token_hash[STORE_HASH_LEN]) SM_MUST_CHECK;
enum sm_rc store_sqlite_agent_by_token(struct store *st, const uint8_t hash[STORE_HASH_LEN],
                                       struct store_agent *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_begin(struct store *st) SM_MUST_CHECK;
enum sm_rc store_sqlite_commit(struct store *st) SM_MUST_CHECK;
void store_sqlite_rollback(struct store *st);
enum sm_rc store_sqlite_batch_write(struct store *st, const struct store_batch *b, size_t *stored,
                                    size_t *duplicates, char **cause) SM_MUST_CHECK;
enum sm_rc store_sqlite_history_query(struct store *st, int64_t agent_id, const char *name,
                                      const char *labels, int64_t start_ms, int64_t stop_ms,
                                      size_t points, struct history_result *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_series_list(struct store *st, int64_t agent_id, store_series_fn fn,
                                    void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_latest(struct store *st, int64_t agent_id, char **json) SM_MUST_CHECK;
enum sm_rc store_sqlite_rollup(struct store *st, int64_t now_ms, size_t budget,
                               size_t *work) SM_MUST_CHECK;
enum sm_rc store_sqlite_retain(struct store *st, int64_t now_ms, const struct history_retention *r,
                               size_t batch, size_t *deleted) SM_MUST_CHECK;
enum sm_rc store_sqlite_latest_points(struct store *st, store_point_fn fn, void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_rule_add(struct store *st, struct store_rule *r) SM_MUST_CHECK;
enum sm_rc store_sqlite_rule_update(struct store *st, const struct store_rule *r) SM_MUST_CHECK;
enum sm_rc store_sqlite_rule_get(struct store *st, int64_t user_id, int64_t id,
                                 struct store_rule *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_rule_list(struct store *st, int64_t user_id, store_rule_fn fn,
                                  void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_rule_delete(struct store *st, int64_t user_id, int64_t id) SM_MUST_CHECK;
enum sm_rc store_sqlite_rule_count(struct store *st, int64_t user_id, int64_t *n) SM_MUST_CHECK;
enum sm_rc store_sqlite_channel_add(struct store *st, struct store_channel *c) SM_MUST_CHECK;
enum sm_rc store_sqlite_channel_get(struct store *st, int64_t user_id, int64_t id,
                                    struct store_channel *out) SM_MUST_CHECK;
enum sm_rc store_sqlite_channel_list(struct store *st, int64_t user_id, store_channel_fn fn,
                                     void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_channel_delete(struct store *st, int64_t user_id, int64_t id) SM_MUST_CHECK;
enum sm_rc store_sqlite_channel_set_secret(struct store *st, int64_t user_id, int64_t id,
                                           const uint8_t *secret, size_t len) SM_MUST_CHECK;
enum sm_rc store_sqlite_channel_count(struct store *st, int64_t user_id, int64_t *n) SM_MUST_CHECK;
enum sm_rc store_sqlite_alert_event_add(struct store *st,
                                        const struct store_alert_event *e) SM_MUST_CHECK;
enum sm_rc store_sqlite_alert_events_prune(struct store *st, int64_t before, int64_t rule_id,
                                           int64_t keep) SM_MUST_CHECK;
enum sm_rc store_sqlite_alert_events(struct store *st, int64_t rule_id, size_t limit,
                                     store_event_fn fn, void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_alert_active(struct store *st, int64_t user_id, store_event_fn fn,
                                     void *arg) SM_MUST_CHECK;
enum sm_rc store_sqlite_count(struct store *st, int64_t *samples, int64_t *points) SM_MUST_CHECK;
enum sm_rc store_sqlite_size(struct store *st, double *db_bytes, double *wal_bytes) SM_MUST_CHECK;
enum sm_rc store_sqlite_procs_at(struct store *st, int64_t user_id, int64_t agent_id, int64_t at_ms,
                                 int64_t window_s, struct store_procs *out,
                                 char **cause) SM_MUST_CHECK;
enum sm_rc store_sqlite_procs_retain(struct store *st, int64_t now_ms, int64_t keep_s,
                                     int64_t max_bytes, size_t batch, size_t *deleted,
                                     char **cause) SM_MUST_CHECK;
enum sm_rc store_sqlite_procs_usage(struct store *st, int64_t *count, int64_t *bytes,
                                    char **cause) SM_MUST_CHECK;

#endif
