/* store_sqlite_alerts.c: alert rules, channels and events, for the SQLite backend
 * (store_sqlite.h). */
#include "config.h"

#include "store_sqlite.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "xmalloc.h"

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
