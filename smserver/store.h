/* store.h: the one storage interface of smserver. Routes, the writer, maintenance,
 * alerts and the admin CLI see this header only, and no database type: which database
 * answers is chosen once, by store_open, from the database string.
 *
 * Backends. store.c hands every call to the backend that store_open chose: a const
 * table of functions (store_backend.h), one per backend file. store_sqlite.c is the
 * embedded default and takes every string as a file path. store_pg.c (PostgreSQL, for
 * postgresql:// URIs and libpq connection strings) goes before it in store.c's list
 * and implements every member, for several instances sharing one database (store_pg.c
 * says how). Nothing that calls these functions changes.
 *
 * What every backend keeps, whatever its database:
 *  - Durable at commit. When store_commit returns SM_OK, every batch written since
 *    store_begin survives a crash of smserver or of the machine (SQLite: WAL with
 *    synchronous=FULL). The writer answers an /ingest only after that commit, so a 200
 *    is a promise; when the commit fails nothing of the group is kept and every request
 *    in it is answered with an error, so its agent sends again.
 *  - One sample per (agent, ts_ms). A sample whose (agent, ts_ms) is already stored,
 *    by this connection or any other, is counted in *duplicates and changes nothing;
 *    an agent may therefore resend after a lost reply.
 *  - One savepoint per batch. store_batch_write undoes a failed batch alone (its
 *    samples, its new series, its dirty minutes); the other batches of the same
 *    begin/commit still commit. The agent's last_seen, host facts and newest sample
 *    change with the batch that brings them.
 *  - Series. A series is (agent, name, labels); an agent has at most STORE_SERIES_CAP,
 *    and points of further series are dropped, which is not an error.
 *  - Rollups are exact. Per series, minute and hour buckets hold count, sum, min and
 *    max of the raw points. store_rollup rolls up minutes that ended at least
 *    HISTORY_LATE_GRACE_MS ago, and again any minute a later sample fell into (once
 *    late samples have stopped for HISTORY_DIRTY_QUIET_MS, or after at most
 *    HISTORY_DIRTY_WAIT_MS), so a bucket ends up saying what its raw points say.
 *    store_history_query answers from raw points for what is not rolled up yet (a
 *    minute waiting for its re-roll included) and from the coarsest tier whose bucket
 *    fits the asked width otherwise; the buckets it returns do not depend on the backend.
 *  - Retention in small steps. store_retain deletes raw samples and each rollup tier
 *    older than that tier's retention, a bounded amount per call, and nothing younger.
 *  - Ownership. Agents, rules and channels are looked up with their user's id: another
 *    user's is SM_ENOTFOUND. Tokens are stored only as hashes; channel secrets arrive
 *    sealed and are kept as given.
 *  - Errors. SM_EBUSY when the database stays locked past its timeout, SM_EFULL when its
 *    disk is full, SM_EUNAVAIL when it cannot be reached (a password refused on a
 *    reconnect too), SM_ECONFLICT for a name or key that exists,
 *    SM_EIO for the rest; a schema newer than this smserver is SM_EINVAL at open.
 *
 * Threads: one struct store is one connection and belongs to one thread at a time.
 * Every thread that needs storage opens its own (workers, the writer, the admin CLI).
 * Every function returns SM_OK or an error code; when cause is non-NULL an error sets
 * *cause to an allocated message the caller frees. */
#ifndef SM_SMSERVER_STORE_H
#define SM_SMSERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "history_types.h"
#include "rc.h"

#define STORE_NAME_MAX 64     /* user and agent names, bytes */
#define STORE_PWHASH_MAX 256  /* encoded Argon2id string */
#define STORE_HASH_LEN 32     /* token hashes (crypto_generichash) */
#define STORE_FAMILY_LEN 16   /* refresh token family id */
#define STORE_SERIES_CAP 4096 /* series per agent; points of further series are dropped */

/* A connection; opaque (store_backend.h defines it for the backends). */
struct store;

struct store_user {
    int64_t id;
    char name[STORE_NAME_MAX + 1];
    char pwhash[STORE_PWHASH_MAX];
    int64_t created; /* unix seconds */
};

struct store_agent {
    int64_t id, user_id;
    char name[STORE_NAME_MAX + 1];
    int64_t created, last_seen; /* unix seconds; last_seen 0 = never */
    char *host;                 /* host facts as JSON text, or NULL; owned */
};

/* One value of one series in one sample. name and labels are borrowed. labels is
 * "key=value" or "" (one label at most in this version). */
struct store_point {
    const char *name;
    const char *labels;
    double value;
};

struct store_sample {
    int64_t ts_ms; /* unix milliseconds: (agent, ts_ms) identifies the sample */
    size_t npoints;
    struct store_point *points;
    /* The sample's process list as JSON array text (borrowed), or NULL: none, or process
     * snapshots are off. procs_cpu: the list's CPU percent summed, which picks the
     * minute's snapshot (see store_procs_at). */
    const char *procs_json;
    double procs_cpu;
};

/* What one /ingest request writes for one agent. */
struct store_batch {
    int64_t agent_id;
    int64_t now;             /* unix seconds: the agent's last_seen */
    const char *host_json;   /* host facts, or NULL to keep the stored ones */
    const char *latest_json; /* the newest sample in full, or NULL */
    int64_t latest_ts_ms;
    size_t nsamples;
    struct store_sample *samples;
};

typedef void (*store_user_fn)(const struct store_user *u, void *arg);
typedef void (*store_agent_fn)(const struct store_agent *a, void *arg);

/* Once per process, before any connection is opened or any thread started: each
 * backend's process-wide set-up (SQLite: its own log, which reports a WAL recovered
 * after an unclean stop, and corruption). */
void store_init(void);
/* Open a connection to the database that db names, migrating its schema when needed.
 * SQLite: db is a file path, created with mode 0600; WAL, synchronous=FULL,
 * busy_timeout, foreign_keys and journal_size_limit are set. */
enum sm_rc store_open(const char *db, struct store **out, char **cause) SM_MUST_CHECK;
/* The name of the backend store_open would use for db ("postgresql", "sqlite"),
 * without opening anything. */
const char *store_backend_of(const char *db);
/* Close; NULL is a no-op. */
void store_free(struct store *st);
/* "ok" when the database answers, for /health: SM_OK or SM_EUNAVAIL. */
enum sm_rc store_ping(struct store *st) SM_MUST_CHECK;
/* The database's own consistency check (SQLite: PRAGMA integrity_check); SM_OK when it
 * finds nothing wrong. */
enum sm_rc store_check(struct store *st, char **cause) SM_MUST_CHECK;

/* Users. add: SM_ECONFLICT when the name exists. by_name/by_id: SM_ENOTFOUND. */
enum sm_rc store_user_add(struct store *st, const char *name, const char *pwhash, int64_t now,
                          struct store_user *out) SM_MUST_CHECK;
enum sm_rc store_user_by_name(struct store *st, const char *name,
                              struct store_user *out) SM_MUST_CHECK;
enum sm_rc store_user_by_id(struct store *st, int64_t id, struct store_user *out) SM_MUST_CHECK;
enum sm_rc store_user_list(struct store *st, store_user_fn fn, void *arg) SM_MUST_CHECK;

/* Refresh tokens, known only by their hash. */
enum sm_rc store_refresh_add(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t user_id,
                             const uint8_t family[STORE_FAMILY_LEN], int64_t expires,
                             int64_t now) SM_MUST_CHECK;
/* Atomically retire old_hash and add new_hash in the same family. SM_EAUTH when
 * old_hash is unknown, expired or already retired; a retired token's reuse revokes its
 * whole family first. On success *user_id is the owner. */
enum sm_rc store_refresh_rotate(struct store *st, const uint8_t old_hash[STORE_HASH_LEN],
                                const uint8_t new_hash[STORE_HASH_LEN], int64_t now,
                                int64_t new_expires, int64_t *user_id) SM_MUST_CHECK;
/* Revoke the family of hash (logout); *user_id is its owner. SM_EAUTH when unknown,
 * expired or revoked. */
enum sm_rc store_refresh_revoke(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                                int64_t *user_id) SM_MUST_CHECK;

/* Agents. user_id scopes every lookup: another user's agent is SM_ENOTFOUND.
 * add: SM_ECONFLICT when the user already has an agent of that name. */
enum sm_rc store_agent_add(struct store *st, int64_t user_id, const char *name,
                           const uint8_t token_hash[STORE_HASH_LEN], int64_t now,
                           struct store_agent *out) SM_MUST_CHECK;
enum sm_rc store_agent_get(struct store *st, int64_t user_id, int64_t id,
                           struct store_agent *out) SM_MUST_CHECK;
/* user_id 0 lists every user's agents. */
enum sm_rc store_agent_list(struct store *st, int64_t user_id, store_agent_fn fn,
                            void *arg) SM_MUST_CHECK;
/* Delete the agent with its series, points and samples. */
enum sm_rc store_agent_delete(struct store *st, int64_t user_id, int64_t id) SM_MUST_CHECK;
enum sm_rc store_agent_set_token(struct store *st, int64_t user_id, int64_t id,
                                 const uint8_t token_hash[STORE_HASH_LEN]) SM_MUST_CHECK;
/* The agent whose token hashes to hash; SM_EAUTH when none. */
enum sm_rc store_agent_by_token(struct store *st, const uint8_t hash[STORE_HASH_LEN],
                                struct store_agent *out) SM_MUST_CHECK;
/* Free what an agent record owns (host). */
void store_agent_done(struct store_agent *a);

/* Ingest (the writer thread). Group commit: begin, any number of batch writes, commit.
 * A failed batch write is rolled back alone (savepoint) and the others still commit.
 * stored/duplicates count samples: a sample whose (agent, ts_ms) exists is a
 * duplicate and is not written again. */
enum sm_rc store_begin(struct store *st) SM_MUST_CHECK;
/* Before store_begin, for each batch of the group: make what the batch will need that must
 * not be made inside a group transaction. On PostgreSQL that is a missing day partition:
 * its DDL locks samples against every open group commit, and two instances making one
 * inside theirs deadlock. Nothing on SQLite. A failure costs nothing but the time: the
 * batch write makes what is still missing itself, or fails as the batch. */
enum sm_rc store_prepare(struct store *st, const struct store_batch *b);
enum sm_rc store_commit(struct store *st) SM_MUST_CHECK;
void store_rollback(struct store *st);
enum sm_rc store_batch_write(struct store *st, const struct store_batch *b, size_t *stored,
                             size_t *duplicates, char **cause) SM_MUST_CHECK;

/* History (history_types.h). query: one series of the agent over [start_ms, stop_ms) in at most
 * points buckets; SM_ENOTFOUND when the agent has no such series. Any thread with its
 * own connection. */
enum sm_rc store_history_query(struct store *st, int64_t agent_id, const char *name,
                               const char *labels, int64_t start_ms, int64_t stop_ms, size_t points,
                               struct history_result *out) SM_MUST_CHECK;
typedef void (*store_series_fn)(const char *name, const char *labels, void *arg);
/* Every series of the agent, by name then labels. */
enum sm_rc store_series_list(struct store *st, int64_t agent_id, store_series_fn fn,
                             void *arg) SM_MUST_CHECK;
/* The newest stored sample of the agent as JSON text (allocated); SM_ENOTFOUND when none. */
enum sm_rc store_latest(struct store *st, int64_t agent_id, char **json) SM_MUST_CHECK;
/* Maintenance (one thread): roll up and enforce retention in small transactions. */
enum sm_rc store_rollup(struct store *st, int64_t now_ms, size_t budget,
                        size_t *work) SM_MUST_CHECK;
enum sm_rc store_retain(struct store *st, int64_t now_ms, const struct history_retention *r,
                        size_t batch, size_t *deleted) SM_MUST_CHECK;

/* Process snapshots (issue 20, "time travel"). store_batch_write keeps, per agent and
 * minute, the process list of the minute's busiest sample (the highest procs_cpu; the
 * earlier on a tie), in the same savepoint as its sample. A backend without them leaves
 * the member NULL and these calls are SM_EUNAVAIL with a cause that says so (the batch
 * write ignores procs_json). */
#define STORE_PROCS_WINDOW_MAX_S 3600 /* how far back store_procs_at may look */

struct store_procs {
    int64_t ts_ms; /* the sample the snapshot comes from */
    char *json;    /* the "processes" array as JSON text; owned, free() it */
};

/* The snapshot of the user's agent for the newest minute at or before at_ms, and no
 * older than window_s seconds before at_ms; SM_ENOTFOUND when there is none or the agent
 * is not the user's. Any thread with its own connection. */
enum sm_rc store_procs_at(struct store *st, int64_t user_id, int64_t agent_id, int64_t at_ms,
                          int64_t window_s, struct store_procs *out, char **cause) SM_MUST_CHECK;
/* Maintenance: delete snapshots older than keep_s seconds before now_ms, then the oldest
 * while all of them hold more than max_bytes of JSON; at most batch rows per call, in one
 * transaction. *deleted counts them. */
enum sm_rc store_procs_retain(struct store *st, int64_t now_ms, int64_t keep_s, int64_t max_bytes,
                              size_t batch, size_t *deleted, char **cause) SM_MUST_CHECK;
/* The database's size in bytes (GET /metrics): SQLite's file and its WAL; a
 * PostgreSQL database's pg_database_size, *wal_bytes -1 (its WAL is the cluster's, not
 * this database's). */
enum sm_rc store_size(struct store *st, double *db_bytes, double *wal_bytes) SM_MUST_CHECK;

/* How many snapshots are stored and their JSON bytes (tests, the benchmark). */
enum sm_rc store_procs_usage(struct store *st, int64_t *count, int64_t *bytes,
                             char **cause) SM_MUST_CHECK;

/* The newest point of every series of every agent, ordered by series name, then agent,
 * then labels (GET /metrics). agent and user are the names. */
typedef void (*store_point_fn)(int64_t agent_id, const char *agent, const char *user,
                               const char *name, const char *labels, double value, void *arg);
enum sm_rc store_latest_points(struct store *st, store_point_fn fn, void *arg) SM_MUST_CHECK;

/* ------------------------------------------------------------------ alerts */

#define STORE_METRIC_MAX 64  /* series name of a rule */
#define STORE_LABELS_MAX 160 /* "key=value" of a rule or an event */
#define STORE_URL_MAX 512
#define STORE_SECRET_MAX 512 /* an encrypted channel secret */

/* An alert rule. agent_id 0 = every agent of the user; channel_id 0 = none. metric is a
 * series name or "agent.offline"; labels "" matches every series of that name. */
struct store_rule {
    int64_t id, user_id;
    char name[STORE_NAME_MAX + 1];
    char metric[STORE_METRIC_MAX + 1];
    char labels[STORE_LABELS_MAX + 1];
    char op; /* '>' or '<' */
    double threshold;
    int64_t for_seconds, resolve_seconds;
    int64_t agent_id;
    char severity[16];
    int64_t channel_id;
    int64_t created, updated; /* unix seconds */
};

/* A notification channel. secret is opaque to the store (the caller encrypts it). */
struct store_channel {
    int64_t id, user_id;
    char name[STORE_NAME_MAX + 1];
    char kind[16]; /* "webhook" or "telegram" */
    char url[STORE_URL_MAX + 1];
    char chat_id[STORE_NAME_MAX + 1];
    uint8_t secret[STORE_SECRET_MAX];
    size_t secret_len;
    int64_t created;
};

/* One state change of one rule for one agent's series. */
struct store_alert_event {
    int64_t id, rule_id, agent_id;
    char labels[STORE_LABELS_MAX + 1];
    char state[16]; /* pending, firing, resolved, inactive */
    double value;
    int64_t ts_ms; /* the sample that caused it (or the time, for agent.offline) */
    int64_t at;    /* unix seconds when it was recorded */
};

typedef void (*store_rule_fn)(const struct store_rule *r, void *arg);
typedef void (*store_channel_fn)(const struct store_channel *c, void *arg);
typedef void (*store_event_fn)(const struct store_alert_event *e, void *arg);

/* Rules and channels, scoped by user_id like agents (another user's is SM_ENOTFOUND).
 * add fills in r->id; update replaces every field of (r->id, r->user_id). list with
 * user_id 0 lists everyone's. count: how many the user has. */
enum sm_rc store_rule_add(struct store *st, struct store_rule *r) SM_MUST_CHECK;
enum sm_rc store_rule_update(struct store *st, const struct store_rule *r) SM_MUST_CHECK;
enum sm_rc store_rule_get(struct store *st, int64_t user_id, int64_t id,
                          struct store_rule *out) SM_MUST_CHECK;
enum sm_rc store_rule_list(struct store *st, int64_t user_id, store_rule_fn fn,
                           void *arg) SM_MUST_CHECK;
enum sm_rc store_rule_delete(struct store *st, int64_t user_id, int64_t id) SM_MUST_CHECK;
enum sm_rc store_rule_count(struct store *st, int64_t user_id, int64_t *n) SM_MUST_CHECK;
/* add: SM_ECONFLICT when the user has a channel of that name. */
enum sm_rc store_channel_add(struct store *st, struct store_channel *c) SM_MUST_CHECK;
enum sm_rc store_channel_get(struct store *st, int64_t user_id, int64_t id,
                             struct store_channel *out) SM_MUST_CHECK;
enum sm_rc store_channel_list(struct store *st, int64_t user_id, store_channel_fn fn,
                              void *arg) SM_MUST_CHECK;
enum sm_rc store_channel_delete(struct store *st, int64_t user_id, int64_t id) SM_MUST_CHECK;
/* Replace the (sealed) secret of the user's channel id. */
enum sm_rc store_channel_set_secret(struct store *st, int64_t user_id, int64_t id,
                                    const uint8_t *secret, size_t len) SM_MUST_CHECK;
enum sm_rc store_channel_count(struct store *st, int64_t user_id, int64_t *n) SM_MUST_CHECK;
/* Record a state change (SM_ENOTFOUND when the rule or the agent is gone). */
enum sm_rc store_alert_event_add(struct store *st, const struct store_alert_event *e) SM_MUST_CHECK;
/* Forget events recorded before `before` (unix seconds), and of rule_id all but the
 * newest keep. */
enum sm_rc store_alert_events_prune(struct store *st, int64_t before, int64_t rule_id,
                                    int64_t keep) SM_MUST_CHECK;
/* The newest limit events of a rule, newest first. */
enum sm_rc store_alert_events(struct store *st, int64_t rule_id, size_t limit, store_event_fn fn,
                              void *arg) SM_MUST_CHECK;
/* The newest event of every (rule, agent, labels) whose state is pending or firing, of
 * one user (0 = everyone): the alerts active now. */
enum sm_rc store_alert_active(struct store *st, int64_t user_id, store_event_fn fn,
                              void *arg) SM_MUST_CHECK;

/* ------------------------------------------------------------------ several instances */

/* The jobs that exactly one smserver instance runs when several share one database. */
enum store_role {
    STORE_LEAD_MAINTENANCE, /* rollups, retention */
    STORE_LEAD_ALERTS,      /* evaluating alert rules, sending their notifications */
};
/* 1 when this connection leads role now, 0 when another connection does (or the database
 * cannot be reached). Call it again at least every few seconds: it takes the leadership
 * when nobody holds it, and keeps it while this connection lives. PostgreSQL: a
 * session-level advisory lock, so a dead instance's leadership ends with its session;
 * use a connection of its own, which nothing else runs long transactions on. SQLite
 * (one instance): always 1. */
int store_leader(struct store *st, enum store_role role);

/* The live stream across instances. On a backend several instances share, every batch
 * write that stores new samples also announces the batch to the other instances; the
 * announcement is delivered only when its transaction commits. store_listen waits at
 * most timeout_ms, on a connection of its own used by nothing else (one thread), for
 * announcements, and calls fn on that thread once per batch committed by ANOTHER process
 * (never this process's own), with what the database holds of it: the agent's owner and
 * name, its host facts, its newest sample in full when that batch brought it
 * (latest_json, else NULL), and, when points is non-zero, the points of the batch's
 * samples (the newest 64 at most; only the alert rules read them, so an instance that
 * does not evaluate them asks for none and saves reading them back). fn owns r and frees it with
 * store_remote_free. SM_EUNAVAIL when the backend has no stream (store_can_listen 0: SQLite, one
 * instance) or the connection is lost; the next call connects again, and what was announced
 * meanwhile is not delivered. The same way, a logout and an agent's deletion committed by another
 * process are delivered (kind; batch NULL), so this process's viewers lose what they lost there. */
enum store_remote_kind {
    STORE_REMOTE_BATCH = 0,     /* batch: samples another process stored */
    STORE_REMOTE_LOGOUT,        /* user_id logged out a session */
    STORE_REMOTE_AGENT_REMOVED, /* agent_id (of user_id) was deleted */
};
struct store_remote {
    enum store_remote_kind kind;
    int64_t user_id;
    int64_t agent_id; /* STORE_REMOTE_AGENT_REMOVED */
    char name[STORE_NAME_MAX + 1];
    struct store_batch *batch;
};
typedef void (*store_remote_fn)(struct store_remote *r, void *arg);
int store_can_listen(struct store *st);
enum sm_rc store_listen(struct store *st, int timeout_ms, int points, store_remote_fn fn,
                        void *arg);
void store_remote_free(struct store_remote *r);
/* Free a store_remote's batch alone (the caller took it out of r). */
void store_remote_batch_free(struct store_batch *b);

/* Failure counts per (kind, key) in a fixed window of window seconds, kept in the
 * database so that every instance sees every instance's failures. SM_ENOTFOUND when
 * the backend keeps none (SQLite: one instance; the process's own limiter counts).
 * check: *wait is 0 when key may try again, else the seconds to wait (>= 1). */
enum sm_rc store_limit_check(struct store *st, const char *kind, const char *key, int limit,
                             double window, double now, int *wait) SM_MUST_CHECK;
enum sm_rc store_limit_fail(struct store *st, const char *kind, const char *key, double window,
                            double now) SM_MUST_CHECK;
enum sm_rc store_limit_reset(struct store *st, const char *kind, const char *key) SM_MUST_CHECK;

/* Counts for tests and /health: samples and points stored. */
enum sm_rc store_count(struct store *st, int64_t *samples, int64_t *points) SM_MUST_CHECK;

#endif
