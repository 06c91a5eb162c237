/* store_backend.h: what a storage backend implements (for store.c and the backends
 * only; the rest of the server sees store.h). A backend is one const table of
 * functions; store_open picks the first table in store.c's list whose claims() accepts
 * the database string and opens the connection with it. Each member does what the
 * store_* function of the same name in store.h says and keeps the contract written
 * there; store.c only dispatches.
 *
 * A backend's connection starts with a struct store (its first member), so that the
 * dispatchers can find the table from the handle; the backend converts the handle back
 * to its own struct (as SQLite's VFS does with sqlite3_file). */
#ifndef SM_SMSERVER_STORE_BACKEND_H
#define SM_SMSERVER_STORE_BACKEND_H

#include "store.h"

struct store {
    const struct store_backend *backend;
};

struct store_backend {
    const char *name;
    /* Nonzero when this backend takes the database string db (store_open's argument). */
    int (*claims)(const char *db);
    /* Process-wide set-up (store_init), or NULL. */
    void (*init)(void);
    /* Open a connection; on success *out's backend is this table. A backend whose
     * strings can carry a password keeps db out of *cause and of the log. */
    enum sm_rc (*open)(const char *db, struct store **out, char **cause);
    void (*free)(struct store *st);
    enum sm_rc (*ping)(struct store *st);
    enum sm_rc (*check)(struct store *st, char **cause);
    enum sm_rc (*user_add)(struct store *st, const char *name, const char *pwhash, int64_t now,
                           struct store_user *out);
    enum sm_rc (*user_by_name)(struct store *st, const char *name, struct store_user *out);
    enum sm_rc (*user_by_id)(struct store *st, int64_t id, struct store_user *out);
    enum sm_rc (*user_list)(struct store *st, store_user_fn fn, void *arg);
    enum sm_rc (*refresh_add)(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t user_id,
                              const uint8_t family[STORE_FAMILY_LEN], int64_t expires, int64_t now);
    enum sm_rc (*refresh_rotate)(struct store *st, const uint8_t old_hash[STORE_HASH_LEN],
                                 const uint8_t new_hash[STORE_HASH_LEN], int64_t now,
                                 int64_t new_expires, int64_t *user_id);
    enum sm_rc (*refresh_revoke)(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                                 int64_t *user_id);
    enum sm_rc (*agent_add)(struct store *st, int64_t user_id, const char *name,
                            const uint8_t token_hash[STORE_HASH_LEN], int64_t now,
                            struct store_agent *out);
    enum sm_rc (*agent_get)(struct store *st, int64_t user_id, int64_t id, struct store_agent *out);
    enum sm_rc (*agent_list)(struct store *st, int64_t user_id, store_agent_fn fn, void *arg);
    enum sm_rc (*agent_delete)(struct store *st, int64_t user_id, int64_t id);
    enum sm_rc (*agent_set_token)(struct store *st, int64_t user_id, int64_t id,
                                  const uint8_t token_hash[STORE_HASH_LEN]);
    enum sm_rc (*agent_by_token)(struct store *st, const uint8_t hash[STORE_HASH_LEN],
                                 struct store_agent *out);
    enum sm_rc (*prepare)(struct store *st, const struct store_batch *b); /* may be NULL */
    enum sm_rc (*begin)(struct store *st);
    enum sm_rc (*commit)(struct store *st);
    void (*rollback)(struct store *st);
    enum sm_rc (*batch_write)(struct store *st, const struct store_batch *b, size_t *stored,
                              size_t *duplicates, char **cause);
    enum sm_rc (*history_query)(struct store *st, int64_t agent_id, const char *name,
                                const char *labels, int64_t start_ms, int64_t stop_ms,
                                size_t points, struct history_result *out);
    enum sm_rc (*series_list)(struct store *st, int64_t agent_id, store_series_fn fn, void *arg);
    enum sm_rc (*latest)(struct store *st, int64_t agent_id, char **json);
    enum sm_rc (*rollup)(struct store *st, int64_t now_ms, size_t budget, size_t *work);
    enum sm_rc (*retain)(struct store *st, int64_t now_ms, const struct history_retention *r,
                         size_t batch, size_t *deleted);
    enum sm_rc (*latest_points)(struct store *st, store_point_fn fn, void *arg);
    enum sm_rc (*rule_add)(struct store *st, struct store_rule *r);
    enum sm_rc (*rule_update)(struct store *st, const struct store_rule *r);
    enum sm_rc (*rule_get)(struct store *st, int64_t user_id, int64_t id, struct store_rule *out);
    enum sm_rc (*rule_list)(struct store *st, int64_t user_id, store_rule_fn fn, void *arg);
    enum sm_rc (*rule_delete)(struct store *st, int64_t user_id, int64_t id);
    enum sm_rc (*rule_count)(struct store *st, int64_t user_id, int64_t *n);
    enum sm_rc (*channel_add)(struct store *st, struct store_channel *c);
    enum sm_rc (*channel_get)(struct store *st, int64_t user_id, int64_t id,
                              struct store_channel *out);
    enum sm_rc (*channel_list)(struct store *st, int64_t user_id, store_channel_fn fn, void *arg);
    enum sm_rc (*channel_delete)(struct store *st, int64_t user_id, int64_t id);
    enum sm_rc (*channel_set_secret)(struct store *st, int64_t user_id, int64_t id,
                                     const uint8_t *secret, size_t len);
    enum sm_rc (*channel_count)(struct store *st, int64_t user_id, int64_t *n);
    enum sm_rc (*alert_event_add)(struct store *st, const struct store_alert_event *e);
    enum sm_rc (*alert_events_prune)(struct store *st, int64_t before, int64_t rule_id,
                                     int64_t keep);
    enum sm_rc (*alert_events)(struct store *st, int64_t rule_id, size_t limit, store_event_fn fn,
                               void *arg);
    enum sm_rc (*alert_active)(struct store *st, int64_t user_id, store_event_fn fn, void *arg);
    enum sm_rc (*count)(struct store *st, int64_t *samples, int64_t *points);
    enum sm_rc (*size)(struct store *st, double *db_bytes, double *wal_bytes);
    /* Process snapshots; NULL in a backend that does not keep them. */
    enum sm_rc (*procs_at)(struct store *st, int64_t user_id, int64_t agent_id, int64_t at_ms,
                           int64_t window_s, struct store_procs *out, char **cause);
    enum sm_rc (*procs_retain)(struct store *st, int64_t now_ms, int64_t keep_s, int64_t max_bytes,
                               size_t batch, size_t *deleted, char **cause);
    enum sm_rc (*procs_usage)(struct store *st, int64_t *count, int64_t *bytes, char **cause);
    int (*leader)(struct store *st, enum store_role role);
    /* NULL when one instance only ever uses the database (store_listen). */
    enum sm_rc (*listen)(struct store *st, int timeout_ms, int points, store_remote_fn fn,
                         void *arg);
    /* NULL when the backend keeps no shared rate limits (store_limit_check). */
    enum sm_rc (*limit_check)(struct store *st, const char *kind, const char *key, int limit,
                              double window, double now, int *wait);
    enum sm_rc (*limit_fail)(struct store *st, const char *kind, const char *key, double window,
                             double now);
    enum sm_rc (*limit_reset)(struct store *st, const char *kind, const char *key);
};

/* The leader member of a backend that serves one instance only: always 1. */
int store_leader_always(struct store *st, enum store_role role);

/* The embedded default (store_sqlite.c): claims every string, as a file path. */
extern const struct store_backend store_sqlite_backend;
/* PostgreSQL on libpq (store_pg.c): postgresql:// URIs and libpq connection strings. */
extern const struct store_backend store_pg_backend;

#endif
