/* store.c: store.h's functions, dispatched to the backend that store_open chose
 * (store_backend.h). Nothing here knows a database; what is common to every backend
 * (store_agent_done) lives here too. */
#include "config.h"

#include "store.h"

#include <stdint.h>
#include <stdlib.h>

#include "store_backend.h"
#include "xmalloc.h"

/* The backends, tried in order; the last claims every string. PostgreSQL goes before
 * SQLite and claims postgresql:// URIs and libpq connection strings (it still refuses
 * them at open: store_pg.c says why). */
static const struct store_backend *const backends[] = {
    &store_pg_backend,
    &store_sqlite_backend,
};
#define NBACKENDS (sizeof backends / sizeof backends[0])

void
store_init(void)
{
    for (size_t i = 0; i < NBACKENDS; i++)
        if (backends[i]->init)
            backends[i]->init();
}

enum sm_rc
store_open(const char *db, struct store **out, char **cause)
{
    for (size_t i = 0; i < NBACKENDS; i++)
        if (backends[i]->claims(db))
            return backends[i]->open(db, out, cause);
    (void)db; /* not in the message: a connection string may hold a password */
    *cause = sm_xstrdup("no storage backend takes this database string");
    return SM_EINVAL;
}

const char *
store_backend_of(const char *db)
{
    for (size_t i = 0; i < NBACKENDS; i++)
        if (backends[i]->claims(db))
            return backends[i]->name;
    return "";
}

void
store_agent_done(struct store_agent *a)
{
    free(a->host);
    a->host = NULL;
}

void
store_free(struct store *st)
{
    if (st)
        st->backend->free(st);
}

enum sm_rc
store_ping(struct store *st)
{
    return st->backend->ping(st);
}

enum sm_rc
store_check(struct store *st, char **cause)
{
    return st->backend->check(st, cause);
}

enum sm_rc
store_user_add(struct store *st, const char *name, const char *pwhash, int64_t now,
               struct store_user *out)
{
    return st->backend->user_add(st, name, pwhash, now, out);
}

enum sm_rc
store_user_by_name(struct store *st, const char *name, struct store_user *out)
{
    return st->backend->user_by_name(st, name, out);
}

enum sm_rc
store_user_by_id(struct store *st, int64_t id, struct store_user *out)
{
    return st->backend->user_by_id(st, id, out);
}

enum sm_rc
store_user_list(struct store *st, store_user_fn fn, void *arg)
{
    return st->backend->user_list(st, fn, arg);
}

enum sm_rc
store_refresh_add(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t user_id,
                  const uint8_t family[STORE_FAMILY_LEN], int64_t expires, int64_t now)
{
    return st->backend->refresh_add(st, hash, user_id, family, expires, now);
}

enum sm_rc
store_refresh_rotate(struct store *st, const uint8_t old_hash[STORE_HASH_LEN],
                     const uint8_t new_hash[STORE_HASH_LEN], int64_t now, int64_t new_expires,
                     int64_t *user_id)
{
    return st->backend->refresh_rotate(st, old_hash, new_hash, now, new_expires, user_id);
}

enum sm_rc
store_refresh_revoke(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                     int64_t *user_id)
{
    return st->backend->refresh_revoke(st, hash, now, user_id);
}

enum sm_rc
store_agent_add(struct store *st, int64_t user_id, const char *name,
                const uint8_t token_hash[STORE_HASH_LEN], int64_t now, struct store_agent *out)
{
    return st->backend->agent_add(st, user_id, name, token_hash, now, out);
}

enum sm_rc
store_agent_get(struct store *st, int64_t user_id, int64_t id, struct store_agent *out)
{
    return st->backend->agent_get(st, user_id, id, out);
}

enum sm_rc
store_agent_list(struct store *st, int64_t user_id, store_agent_fn fn, void *arg)
{
    return st->backend->agent_list(st, user_id, fn, arg);
}

enum sm_rc
store_agent_delete(struct store *st, int64_t user_id, int64_t id)
{
    return st->backend->agent_delete(st, user_id, id);
}

enum sm_rc
store_agent_set_token(struct store *st, int64_t user_id, int64_t id,
                      const uint8_t token_hash[STORE_HASH_LEN])
{
    return st->backend->agent_set_token(st, user_id, id, token_hash);
}

enum sm_rc
store_agent_by_token(struct store *st, const uint8_t hash[STORE_HASH_LEN], struct store_agent *out)
{
    return st->backend->agent_by_token(st, hash, out);
}

enum sm_rc
store_begin(struct store *st)
{
    return st->backend->begin(st);
}

enum sm_rc
store_prepare(struct store *st, const struct store_batch *b)
{
    return st->backend->prepare ? st->backend->prepare(st, b) : SM_OK;
}

enum sm_rc
store_commit(struct store *st)
{
    return st->backend->commit(st);
}

void
store_rollback(struct store *st)
{
    st->backend->rollback(st);
}

enum sm_rc
store_batch_write(struct store *st, const struct store_batch *b, size_t *stored, size_t *duplicates,
                  char **cause)
{
    return st->backend->batch_write(st, b, stored, duplicates, cause);
}

enum sm_rc
store_history_query(struct store *st, int64_t agent_id, const char *name, const char *labels,
                    int64_t start_ms, int64_t stop_ms, size_t points, struct history_result *out)
{
    return st->backend->history_query(st, agent_id, name, labels, start_ms, stop_ms, points, out);
}

enum sm_rc
store_series_list(struct store *st, int64_t agent_id, store_series_fn fn, void *arg)
{
    return st->backend->series_list(st, agent_id, fn, arg);
}

enum sm_rc
store_latest(struct store *st, int64_t agent_id, char **json)
{
    return st->backend->latest(st, agent_id, json);
}

enum sm_rc
store_rollup(struct store *st, int64_t now_ms, size_t budget, size_t *work)
{
    return st->backend->rollup(st, now_ms, budget, work);
}

enum sm_rc
store_retain(struct store *st, int64_t now_ms, const struct history_retention *r, size_t batch,
             size_t *deleted)
{
    return st->backend->retain(st, now_ms, r, batch, deleted);
}

enum sm_rc
store_latest_points(struct store *st, store_point_fn fn, void *arg)
{
    return st->backend->latest_points(st, fn, arg);
}

enum sm_rc
store_rule_add(struct store *st, struct store_rule *r)
{
    return st->backend->rule_add(st, r);
}

enum sm_rc
store_rule_update(struct store *st, const struct store_rule *r)
{
    return st->backend->rule_update(st, r);
}

enum sm_rc
store_rule_get(struct store *st, int64_t user_id, int64_t id, struct store_rule *out)
{
    return st->backend->rule_get(st, user_id, id, out);
}

enum sm_rc
store_rule_list(struct store *st, int64_t user_id, store_rule_fn fn, void *arg)
{
    return st->backend->rule_list(st, user_id, fn, arg);
}

enum sm_rc
store_rule_delete(struct store *st, int64_t user_id, int64_t id)
{
    return st->backend->rule_delete(st, user_id, id);
}

enum sm_rc
store_rule_count(struct store *st, int64_t user_id, int64_t *n)
{
    return st->backend->rule_count(st, user_id, n);
}

enum sm_rc
store_channel_add(struct store *st, struct store_channel *c)
{
    return st->backend->channel_add(st, c);
}

enum sm_rc
store_channel_get(struct store *st, int64_t user_id, int64_t id, struct store_channel *out)
{
    return st->backend->channel_get(st, user_id, id, out);
}

enum sm_rc
store_channel_list(struct store *st, int64_t user_id, store_channel_fn fn, void *arg)
{
    return st->backend->channel_list(st, user_id, fn, arg);
}

enum sm_rc
store_channel_delete(struct store *st, int64_t user_id, int64_t id)
{
    return st->backend->channel_delete(st, user_id, id);
}

enum sm_rc
store_channel_set_secret(struct store *st, int64_t user_id, int64_t id, const uint8_t *secret,
                         size_t len)
{
    return st->backend->channel_set_secret(st, user_id, id, secret, len);
}

enum sm_rc
store_channel_count(struct store *st, int64_t user_id, int64_t *n)
{
    return st->backend->channel_count(st, user_id, n);
}

enum sm_rc
store_alert_event_add(struct store *st, const struct store_alert_event *e)
{
    return st->backend->alert_event_add(st, e);
}

enum sm_rc
store_alert_events_prune(struct store *st, int64_t before, int64_t rule_id, int64_t keep)
{
    return st->backend->alert_events_prune(st, before, rule_id, keep);
}

enum sm_rc
store_alert_events(struct store *st, int64_t rule_id, size_t limit, store_event_fn fn, void *arg)
{
    return st->backend->alert_events(st, rule_id, limit, fn, arg);
}

enum sm_rc
store_alert_active(struct store *st, int64_t user_id, store_event_fn fn, void *arg)
{
    return st->backend->alert_active(st, user_id, fn, arg);
}

enum sm_rc
store_count(struct store *st, int64_t *samples, int64_t *points)
{
    return st->backend->count(st, samples, points);
}

enum sm_rc
store_size(struct store *st, double *db_bytes, double *wal_bytes)
{
    return st->backend->size(st, db_bytes, wal_bytes);
}

/* A member this backend leaves NULL: say so rather than crash. */
static enum sm_rc
unsupported(const struct store *st, const char *what, char **cause)
{
    if (cause)
        *cause = sm_xasprintf("%s: not supported by the %s backend", what, st->backend->name);
    return SM_EUNAVAIL;
}

enum sm_rc
store_procs_at(struct store *st, int64_t user_id, int64_t agent_id, int64_t at_ms, int64_t window_s,
               struct store_procs *out, char **cause)
{
    if (!st->backend->procs_at)
        return unsupported(st, "process snapshots", cause);
    return st->backend->procs_at(st, user_id, agent_id, at_ms, window_s, out, cause);
}

enum sm_rc
store_procs_retain(struct store *st, int64_t now_ms, int64_t keep_s, int64_t max_bytes,
                   size_t batch, size_t *deleted, char **cause)
{
    *deleted = 0;
    if (!st->backend->procs_retain)
        return unsupported(st, "process snapshots", cause);
    return st->backend->procs_retain(st, now_ms, keep_s, max_bytes, batch, deleted, cause);
}

enum sm_rc
store_procs_usage(struct store *st, int64_t *count, int64_t *bytes, char **cause)
{
    *count = *bytes = 0;
    if (!st->backend->procs_usage)
        return unsupported(st, "process snapshots", cause);
    return st->backend->procs_usage(st, count, bytes, cause);
}

int
store_leader(struct store *st, enum store_role role)
{
    return st->backend->leader(st, role);
}

int
store_can_listen(struct store *st)
{
    return st->backend->listen != NULL;
}

enum sm_rc
store_listen(struct store *st, int timeout_ms, int points, store_remote_fn fn, void *arg)
{
    if (!st->backend->listen)
        return SM_EUNAVAIL;
    return st->backend->listen(st, timeout_ms, points, fn, arg);
}

/* The strings of a batch are const for its readers; store_listen allocated them. */
static void
free_const(const void *p)
{
    free((void *)(uintptr_t)p);
}

/* Every string and array of a store_remote is an allocation of its own. */
void
store_remote_batch_free(struct store_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nsamples; i++) {
        for (size_t j = 0; j < b->samples[i].npoints; j++) {
            free_const(b->samples[i].points[j].name);
            free_const(b->samples[i].points[j].labels);
        }
        free(b->samples[i].points);
    }
    free(b->samples);
    free_const(b->host_json);
    free_const(b->latest_json);
    free(b);
}

void
store_remote_free(struct store_remote *r)
{
    if (!r)
        return;
    store_remote_batch_free(r->batch);
    free(r);
}

enum sm_rc
store_limit_check(struct store *st, const char *kind, const char *key, int limit, double window,
                  double now, int *wait)
{
    *wait = 0;
    if (!st->backend->limit_check)
        return SM_ENOTFOUND;
    return st->backend->limit_check(st, kind, key, limit, window, now, wait);
}

enum sm_rc
store_limit_fail(struct store *st, const char *kind, const char *key, double window, double now)
{
    if (!st->backend->limit_fail)
        return SM_ENOTFOUND;
    return st->backend->limit_fail(st, kind, key, window, now);
}

enum sm_rc
store_limit_reset(struct store *st, const char *kind, const char *key)
{
    if (!st->backend->limit_reset)
        return SM_ENOTFOUND;
    return st->backend->limit_reset(st, kind, key);
}

int
store_leader_always(struct store *st, enum store_role role)
{
    (void)st;
    (void)role;
    return 1;
}
