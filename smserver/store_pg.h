/* store_pg.h: what the files of the PostgreSQL backend share (store_pg*.c only; the
 * rest of the server sees store.h). store_pg.c holds the connection, the bound-query
 * helpers, the schema migrations and the backend table; store_pg_auth.c users, refresh
 * tokens and agents; store_pg_ingest.c the samples schema, batch writes, newest values
 * and counts; store_pg_history.c history queries, rollups and retention; store_pg_alerts.c
 * alert rules, channels and events; store_pg_cluster.c leadership and shared rate limits. */
#ifndef SM_SMSERVER_STORE_PG_H
#define SM_SMSERVER_STORE_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "store_backend.h"

struct pg_ingest; /* the writer's caches (store_pg_ingest.c) */

struct store_pg {
    struct store base; /* first: store.c finds the table through it */
    PGconn *conn;
    char *conninfo;        /* the database string, to connect again (it may hold a password) */
    char *down;            /* why the last attempt to connect again failed, as logged; NULL
                            * while connected */
    int in_tx;             /* between pq_begin and pq_commit/pq_rollback: never reconnect there */
    struct pg_ingest *ing; /* NULL until the first batch write */
    char sqlstate[6];      /* of the last failed statement, "" when none */
    int listening;         /* the backend PID that LISTENs to sm_samples, 0 when none
                            * (store_pg_stream.c) */
    /* The statements prepared on this connection (pq_stmt.name), forgotten with it. */
    const char *prepared[8];
    size_t nprepared;
};

/* libpq's message msg (a connection's or a parse error's) on one line, for the log and
 * causes: an indented continuation line joins with a space, another line with "; ", and
 * any password that the database string db holds (as keyword, in a URI's user part or
 * query, parsed or not) is masked as "***": libpq echoes the bad part of a string it
 * cannot parse, which may be the password. Allocated; the caller frees it. */
char *store_pg_message(const char *msg, const char *db);
/* Send conn's notices to smserver's log (a warning, masked as above) instead of libpq's
 * bare lines on stderr. db must outlive conn. */
void store_pg_notices(PGconn *conn, const char *db);

/* Why connecting to db failed, for the log and causes: "postgresql: cannot connect as user
 * U to database D: <libpq's message>" (user and database as libpq resolved them, when it
 * got that far), with a hint when no password was found. conn is the failed connection
 * (NULL: out of memory). Allocated; the caller frees it. Any thread. */
char *store_pg_connect_error(const PGconn *conn, const char *db);

/* The parameters of one bound statement: every value travels apart from the SQL text
 * (PQexecParams), never pasted into it. Integers go as text, hashes and the ingest
 * writer's arrays as binary. */
#define PQ_MAXARGS 16
struct pq_args {
    int n;
    const char *val[PQ_MAXARGS];
    int len[PQ_MAXARGS];
    int fmt[PQ_MAXARGS];
    char num[PQ_MAXARGS][24];
};

static inline struct store_pg *
pg(struct store *base)
{
    return (struct store_pg *)base;
}

void pq_int(struct pq_args *a, int64_t v);
void pq_text(struct pq_args *a, const char *s);
void pq_blob(struct pq_args *a, const uint8_t *b, size_t n);

/* Run sql with a's parameters (a may be NULL); what names the statement in the log
 * (never a parameter: those may be secrets). On success *res (when res is non-NULL) is
 * the result, which the caller PQclear()s. The error code follows store.h: SQLSTATE
 * 23505 is SM_ECONFLICT, lock and serialization failures SM_EBUSY, a full disk (53100)
 * SM_EFULL, a lost connection or another lack of resources SM_EUNAVAIL, the rest SM_EIO. */
enum sm_rc pq_run(struct store_pg *st, const char *what, const char *sql, const struct pq_args *a,
                  PGresult **res, char **cause);
/* pq_run with every result column in binary form (an int8 is 8 bytes big-endian, an
 * array as pg_array.h reads it, a bytea its bytes): the chunk code's reads. */
enum sm_rc pq_run_binary(struct store_pg *st, const char *what, const char *sql,
                         const struct pq_args *a, PGresult **res);
/* pq_run for a statement that changes rows: SM_ENOTFOUND when it changed none. */
enum sm_rc pq_change(struct store_pg *st, const char *what, const char *sql,
                     const struct pq_args *a);
/* One statement of a pipeline: res is its result when it ran (the caller PQclear()s it). */
struct pq_stmt {
    const char *what, *sql;
    const struct pq_args *a;
    PGresult *res;
    /* Non-NULL: a name (a string constant) to prepare sql under, once per connection, and
     * run it by: the statements of every ingest batch, which PostgreSQL would otherwise
     * parse and plan each time (about a quarter of its CPU in bench_ingest_pg.sh). */
    const char *name;
    int binary; /* its result columns in binary form, as pq_run_binary's */
};
/* Run the n statements of s in one round trip (libpq's pipeline mode), in order, each as
 * pq_run would. SM_OK when all succeeded, each s[i].res then set; otherwise the code of
 * the first that failed (logged and in *cause as pq_run does), the statements after it
 * not run, and no result kept. Inside a transaction, a failure aborts it as in pq_run. */
enum sm_rc pq_pipeline(struct store_pg *st, struct pq_stmt *s, size_t n,
                       char **cause) SM_MUST_CHECK;
/* Fills out from row `row` of a result (a pg_one reader). */
typedef void (*pq_row_fn)(const PGresult *r, int row, void *out);
/* pq_run for a query of at most one row: SM_OK with read(result, 0, out) called when it
 * answers one row, `none` when it answers none (or more than one). what as in pq_run. */
enum sm_rc pg_one(struct store_pg *st, const char *what, enum sm_rc none, const char *sql,
                  const struct pq_args *a, pq_row_fn read, void *out);
/* BEGIN / COMMIT / ROLLBACK of a transaction of one function. */
enum sm_rc pq_begin(struct store_pg *st);
enum sm_rc pq_commit(struct store_pg *st);
void pq_rollback(struct store_pg *st);

/* Column c of row r as an integer, or as text copied into dst of size n. */
int64_t pq_get_int(const PGresult *r, int row, int c);
void pq_get_text(char *dst, size_t n, const PGresult *r, int row, int c);
/* A bytea column (text form "\x..") decoded into dst of exactly n bytes; 0 when its
 * length differs or it is malformed. */
int pq_get_blob(uint8_t *dst, size_t n, const PGresult *r, int row, int c);

/* store_pg_auth.c */
enum sm_rc store_pg_user_add(struct store *base, const char *name, const char *pwhash, int64_t now,
                             struct store_user *out);
enum sm_rc store_pg_user_by_name(struct store *base, const char *name, struct store_user *out);
enum sm_rc store_pg_user_by_id(struct store *base, int64_t id, struct store_user *out);
enum sm_rc store_pg_user_list(struct store *base, store_user_fn fn, void *arg);
enum sm_rc store_pg_refresh_add(struct store *base, const uint8_t hash[STORE_HASH_LEN],
                                int64_t user_id, const uint8_t family[STORE_FAMILY_LEN],
                                int64_t expires, int64_t now);
enum sm_rc store_pg_refresh_rotate(struct store *base, const uint8_t old_hash[STORE_HASH_LEN],
                                   const uint8_t new_hash[STORE_HASH_LEN], int64_t now,
                                   int64_t new_expires, int64_t *user_id);
enum sm_rc store_pg_refresh_revoke(struct store *base, const uint8_t hash[STORE_HASH_LEN],
                                   int64_t now, int64_t *user_id);
enum sm_rc store_pg_agent_add(struct store *base, int64_t user_id, const char *name,
                              const uint8_t token_hash[STORE_HASH_LEN], int64_t now,
                              struct store_agent *out);
enum sm_rc store_pg_agent_get(struct store *base, int64_t user_id, int64_t id,
                              struct store_agent *out);
enum sm_rc store_pg_agent_list(struct store *base, int64_t user_id, store_agent_fn fn, void *arg);
enum sm_rc store_pg_agent_delete(struct store *base, int64_t user_id, int64_t id);
enum sm_rc store_pg_agent_set_token(struct store *base, int64_t user_id, int64_t id,
                                    const uint8_t token_hash[STORE_HASH_LEN]);
enum sm_rc store_pg_agent_by_token(struct store *base, const uint8_t hash[STORE_HASH_LEN],
                                   struct store_agent *out);

/* store_pg_ingest.c. The SQL of the samples schema (a migration of store_pg.c). */
extern const char store_pg_ingest_schema[];
/* store_pg_history.c. The rollup tiers' covering key indexes (a migration). */
extern const char store_pg_history_covering[];
/* The advisory lock that orders group commits (shared) and rollup steps (exclusive): a
 * rollup step sees every sample committed before it and no group commit straddles it,
 * so the watermark a group reads at its begin stays true until its commit. */
#define STORE_PG_ROLLUP_LOCK "1936552823"
#define STORE_PG_DAY_MS 86400000LL
/* One agent's lock (two-key advisory: this, then STORE_PG_AGENT_KEY of the agent id in
 * $1): shared by each batch of the agent for its group commit, exclusive while one of
 * its windows is sealed (store_pg_chunks.c). Two agents may share a key: they then wait
 * for each other, nothing worse. */
#define STORE_PG_AGENT_LOCK "1936552824"
#define STORE_PG_AGENT_KEY "($1::bigint % 2147483647)::int"
enum sm_rc store_pg_begin(struct store *base);
enum sm_rc store_pg_commit(struct store *base);
void store_pg_rollback(struct store *base);
/* Forget the writer's caches (after a rollback, and at close). */
void store_pg_ingest_free(struct store_pg *st);
/* Make the day partition of samples that holds day (unix ms / STORE_PG_DAY_MS). */
enum sm_rc store_pg_day(struct store_pg *st, int64_t day);
enum sm_rc store_pg_prepare(struct store *base, const struct store_batch *b);
enum sm_rc store_pg_batch_write(struct store *base, const struct store_batch *b, size_t *stored,
                                size_t *duplicates, char **cause);
enum sm_rc store_pg_series_list(struct store *base, int64_t agent_id, store_series_fn fn,
                                void *arg);
enum sm_rc store_pg_latest(struct store *base, int64_t agent_id, char **json);
enum sm_rc store_pg_latest_points(struct store *base, store_point_fn fn, void *arg);
enum sm_rc store_pg_count(struct store *base, int64_t *samples, int64_t *points);
enum sm_rc store_pg_size(struct store *base, double *db_bytes, double *wal_bytes);

/* store_pg_history.c */
enum sm_rc store_pg_history_query(struct store *base, int64_t agent_id, const char *name,
                                  const char *labels, int64_t start_ms, int64_t stop_ms,
                                  size_t points, struct history_result *out);
enum sm_rc store_pg_rollup(struct store *base, int64_t now_ms, size_t budget, size_t *work);
enum sm_rc store_pg_retain(struct store *base, int64_t now_ms, const struct history_retention *r,
                           size_t batch, size_t *deleted);
/* store_pg_alerts.c */
extern const char store_pg_alerts_schema[];
enum sm_rc store_pg_rule_add(struct store *base, struct store_rule *r);
enum sm_rc store_pg_rule_update(struct store *base, const struct store_rule *r);
enum sm_rc store_pg_rule_get(struct store *base, int64_t user_id, int64_t id,
                             struct store_rule *out);
enum sm_rc store_pg_rule_list(struct store *base, int64_t user_id, store_rule_fn fn, void *arg);
enum sm_rc store_pg_rule_delete(struct store *base, int64_t user_id, int64_t id);
enum sm_rc store_pg_rule_count(struct store *base, int64_t user_id, int64_t *n);
enum sm_rc store_pg_channel_add(struct store *base, struct store_channel *c);
enum sm_rc store_pg_channel_get(struct store *base, int64_t user_id, int64_t id,
                                struct store_channel *out);
enum sm_rc store_pg_channel_list(struct store *base, int64_t user_id, store_channel_fn fn,
                                 void *arg);
enum sm_rc store_pg_channel_delete(struct store *base, int64_t user_id, int64_t id);
enum sm_rc store_pg_channel_set_secret(struct store *base, int64_t user_id, int64_t id,
                                       const uint8_t *secret, size_t len);
enum sm_rc store_pg_channel_count(struct store *base, int64_t user_id, int64_t *n);
enum sm_rc store_pg_alert_event_add(struct store *base, const struct store_alert_event *e);
enum sm_rc store_pg_alert_events_prune(struct store *base, int64_t before, int64_t rule_id,
                                       int64_t keep);
enum sm_rc store_pg_alert_events(struct store *base, int64_t rule_id, size_t limit,
                                 store_event_fn fn, void *arg);
enum sm_rc store_pg_alert_active(struct store *base, int64_t user_id, store_event_fn fn, void *arg);

/* store_pg_cluster.c */
int store_pg_leader(struct store *base, enum store_role role);
enum sm_rc store_pg_limit_check(struct store *base, const char *kind, const char *key, int limit,
                                double window, double now, int *wait);
enum sm_rc store_pg_limit_fail(struct store *base, const char *kind, const char *key, double window,
                               double now);
enum sm_rc store_pg_limit_reset(struct store *base, const char *kind, const char *key);

/* store_pg_procs.c. The SQL of the process snapshots' table (a migration of store_pg.c). */
extern const char store_pg_procs_schema[];
/* Keep the snapshots of b's new samples (the minute's busiest); before the samples
 * themselves are written, in the batch's savepoint. */
enum sm_rc store_pg_procs_write(struct store_pg *st, const struct store_batch *b, char **cause);
enum sm_rc store_pg_procs_at(struct store *base, int64_t user_id, int64_t agent_id, int64_t at_ms,
                             int64_t window_s, struct store_procs *out, char **cause);
enum sm_rc store_pg_procs_retain(struct store *base, int64_t now_ms, int64_t keep_s,
                                 int64_t max_bytes, size_t batch, size_t *deleted, char **cause);
/* store_pg_chunks.c (module comment there) */
extern const char store_pg_chunks_schema[];
/* The query of the chunks of series (0: every series of agent) of agent that hold points
 * in [lo, hi), its arguments (store_pg_chunks_args), and the feeding of a binary result
 * of it to fn: SM_EIO when a chunk is damaged. */
extern const char store_pg_chunks_sql[];
void store_pg_chunks_args(struct pq_args *a, int64_t agent, int64_t series, int64_t lo, int64_t hi);
enum sm_rc store_pg_chunks_feed(const PGresult *r, int64_t lo, int64_t hi, history_point_fn fn,
                                void *arg);
/* Mark in dup[] the samples of b older than before whose times are sealed. */
enum sm_rc store_pg_chunks_dups(struct store_pg *st, const struct store_batch *b, int64_t before,
                                char *dup);
/* Turn agent's sealed window w0 back into rows (nothing when none), in the caller's
 * transaction; SM_EPARSE (the transaction still sound) when one of its chunks is
 * damaged, and then nothing changed. */
enum sm_rc store_pg_unseal(struct store_pg *st, int64_t agent, int64_t w0);
/* Seal what is sealable behind the watermark done, each window in a transaction of its
 * own (outside any transaction of the caller's); *work counts the windows sealed. */
enum sm_rc store_pg_seal(struct store_pg *st, int64_t done, size_t *work);
/* After a commit that sealed: truncate the day partitions left without rows. */
void store_pg_seal_trim(struct store_pg *st, int64_t done);
/* Retention of the sealed points before cut; *deleted counts samples. */
enum sm_rc store_pg_chunks_retain(struct store_pg *st, int64_t cut, size_t *deleted);

enum sm_rc store_pg_procs_usage(struct store *base, int64_t *count, int64_t *bytes, char **cause);

/* store_pg_stream.c: the live stream across instances. This process's id in the
 * announcements (random, the same for all its connections). */
const char *store_pg_origin(void);
/* Announce b (a batch that stored new samples) to the other instances: a NOTIFY in
 * the current transaction, sent only if it commits. */
enum sm_rc store_pg_notify(struct store_pg *st, const struct store_batch *b, char **cause);
/* Announce "logout" (of user_id) or "agent-removed" (agent_id of user_id) the same way. */
enum sm_rc store_pg_notify_event(struct store_pg *st, const char *what, int64_t user_id,
                                 int64_t agent_id);
enum sm_rc store_pg_listen(struct store *base, int timeout_ms, int points, store_remote_fn fn,
                           void *arg);

#endif
