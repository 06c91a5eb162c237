/* store_pg_alerts.c: alert rules, notification channels and alert events for the
 * PostgreSQL backend (store_pg.h), and their schema (migration 3). Each function keeps
 * the contract of the store.h function of the same name and answers what the SQLite
 * backend (store_sqlite_alerts.c) answers; tests/unit/test_store_pg.c runs one case
 * table on both. Every value is a bound parameter. */
#include "config.h"

#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Migration 3: the tables of store_sqlite_schema.c's migration 3, in PostgreSQL types,
 * and the shared login rate limiter (store_pg_cluster.c). */
const char store_pg_alerts_schema[] =
    "CREATE TABLE alert_channels(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE, name text NOT NULL,"
    " kind text NOT NULL, url text NOT NULL, chat_id text NOT NULL, secret bytea NOT NULL,"
    " created bigint NOT NULL, UNIQUE(user_id, name));"
    "CREATE TABLE alert_rules(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE, name text NOT NULL,"
    " metric text NOT NULL, labels text NOT NULL, op text NOT NULL CHECK (op IN ('<', '>')),"
    " threshold double precision NOT NULL, for_seconds bigint NOT NULL,"
    " resolve_seconds bigint NOT NULL,"
    " agent_id bigint REFERENCES agents(id) ON DELETE CASCADE, severity text NOT NULL,"
    " channel_id bigint REFERENCES alert_channels(id) ON DELETE SET NULL,"
    " created bigint NOT NULL, updated bigint NOT NULL);"
    "CREATE INDEX alert_rules_user ON alert_rules(user_id);"
    "CREATE TABLE alert_events(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " rule_id bigint NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,"
    " agent_id bigint NOT NULL, labels text NOT NULL, state text NOT NULL,"
    " value double precision, ts bigint NOT NULL, at bigint NOT NULL);"
    "CREATE INDEX alert_events_rule ON alert_events(rule_id, id);"
    "CREATE TABLE rate_limits(key bytea PRIMARY KEY, failures integer NOT NULL,"
    " window_start double precision NOT NULL);"
    "CREATE INDEX rate_limits_start ON rate_limits(window_start);";

#define RULE_COLS                                                                                  \
    "id, user_id, name, metric, labels, op, threshold, for_seconds, resolve_seconds,"              \
    " coalesce(agent_id, 0), severity, coalesce(channel_id, 0), created, updated"
#define CHANNEL_COLS "id, user_id, name, kind, url, chat_id, secret, created"
#define EVENT_COLS "e.id, e.rule_id, e.agent_id, e.labels, e.state, e.value, e.ts, e.at"

/* A double as a text parameter, round-trip exact; buf lives as long as the call. */
static void
pq_double(struct pq_args *a, char buf[32], double v)
{
    snprintf(buf, 32, "%.17g", v);
    pq_text(a, buf);
}

static double
get_double(const PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) ? 0.0 : strtod(PQgetvalue(r, row, c), NULL);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A bytea column of any length up to cap into dst; the length, or 0 when it is NULL,
 * too long or malformed. */
static size_t
get_bytes(uint8_t *dst, size_t cap, const PGresult *r, int row, int c)
{
    if (PQgetisnull(r, row, c))
        return 0;
    const char *v = PQgetvalue(r, row, c);
    size_t len = (size_t)PQgetlength(r, row, c);
    if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2 || (len - 2) / 2 > cap)
        return 0;
    size_t n = (len - 2) / 2;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

/* ------------------------------------------------------------------ rules */

static void
read_rule(const PGresult *res, int i, struct store_rule *r)
{
    memset(r, 0, sizeof *r);
    r->id = pq_get_int(res, i, 0);
    r->user_id = pq_get_int(res, i, 1);
    pq_get_text(r->name, sizeof r->name, res, i, 2);
    pq_get_text(r->metric, sizeof r->metric, res, i, 3);
    pq_get_text(r->labels, sizeof r->labels, res, i, 4);
    r->op = PQgetvalue(res, i, 5)[0] == '<' ? '<' : '>';
    r->threshold = get_double(res, i, 6);
    r->for_seconds = pq_get_int(res, i, 7);
    r->resolve_seconds = pq_get_int(res, i, 8);
    r->agent_id = pq_get_int(res, i, 9);
    pq_get_text(r->severity, sizeof r->severity, res, i, 10);
    r->channel_id = pq_get_int(res, i, 11);
    r->created = pq_get_int(res, i, 12);
    r->updated = pq_get_int(res, i, 13);
}

/* $1 to $11 of both the add and the update: user_id, name, metric, labels, op,
 * threshold, for_seconds, resolve_seconds, agent_id, severity, channel_id. */
static void
rule_args(struct pq_args *a, char dbl[32], const struct store_rule *r)
{
    pq_int(a, r->user_id);
    pq_text(a, r->name);
    pq_text(a, r->metric);
    pq_text(a, r->labels);
    pq_text(a, r->op == '<' ? "<" : ">");
    pq_double(a, dbl, r->threshold);
    pq_int(a, r->for_seconds);
    pq_int(a, r->resolve_seconds);
    pq_int(a, r->agent_id);
    pq_text(a, r->severity);
    pq_int(a, r->channel_id);
}

/* A rule or channel that points at an agent or channel that does not exist (or was
 * deleted meanwhile): the caller's row is what is missing. SQLite says SM_EIO for a
 * foreign key failure too; keep the same code. */
enum sm_rc
store_pg_rule_add(struct store *base, struct store_rule *r)
{
    struct pq_args a = {0};
    char dbl[32];
    rule_args(&a, dbl, r);
    pq_int(&a, r->created);
    pq_int(&a, r->updated);
    PGresult *res;
    enum sm_rc rc =
        pq_run(pg(base), "add alert rule",
               "INSERT INTO alert_rules(user_id, name, metric, labels, op, threshold,"
               " for_seconds, resolve_seconds, agent_id, severity, channel_id, created, updated)"
               " VALUES ($1, $2, $3, $4, $5, $6::float8, $7, $8, nullif($9::bigint, 0), $10,"
               " nullif($11::bigint, 0), $12, $13) RETURNING id",
               &a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    r->id = pq_get_int(res, 0, 0);
    PQclear(res);
    return SM_OK;
}

enum sm_rc
store_pg_rule_update(struct store *base, const struct store_rule *r)
{
    struct pq_args a = {0};
    char dbl[32];
    rule_args(&a, dbl, r);
    pq_int(&a, r->updated);
    pq_int(&a, r->id);
    return pq_change(pg(base), "update alert rule",
                     "UPDATE alert_rules SET name = $2, metric = $3, labels = $4, op = $5,"
                     " threshold = $6::float8, for_seconds = $7, resolve_seconds = $8,"
                     " agent_id = nullif($9::bigint, 0), severity = $10,"
                     " channel_id = nullif($11::bigint, 0), updated = $12"
                     " WHERE id = $13 AND user_id = $1",
                     &a);
}

enum sm_rc
store_pg_rule_get(struct store *base, int64_t user_id, int64_t id, struct store_rule *out)
{
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    PGresult *res;
    enum sm_rc rc = pq_run(pg(base), "find alert rule",
                           "SELECT " RULE_COLS " FROM alert_rules WHERE id = $1 AND user_id = $2",
                           &a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(res) == 1)
        read_rule(res, 0, out);
    else
        rc = SM_ENOTFOUND;
    PQclear(res);
    return rc;
}

enum sm_rc
store_pg_rule_list(struct store *base, int64_t user_id, store_rule_fn fn, void *arg)
{
    struct pq_args a = {0};
    pq_int(&a, user_id);
    PGresult *res;
    enum sm_rc rc = pq_run(pg(base), "list alert rules",
                           "SELECT " RULE_COLS " FROM alert_rules"
                           " WHERE $1::bigint = 0 OR user_id = $1 ORDER BY id",
                           &a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    struct store_rule r;
    for (int i = 0; i < PQntuples(res); i++) {
        read_rule(res, i, &r);
        fn(&r, arg);
    }
    PQclear(res);
    return SM_OK;
}

/* DELETE by id and user: SM_ENOTFOUND when no such row is the user's. */
static enum sm_rc
delete_owned(struct store *base, const char *sql, int64_t user_id, int64_t id)
{
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    return pq_change(pg(base), "delete", sql, &a);
}

/* SELECT count(*) with the user id as $1. */
static enum sm_rc
count_owned(struct store *base, const char *sql, int64_t user_id, int64_t *n)
{
    struct pq_args a = {0};
    pq_int(&a, user_id);
    PGresult *res;
    enum sm_rc rc = pq_run(pg(base), "count", sql, &a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    *n = pq_get_int(res, 0, 0);
    PQclear(res);
    return SM_OK;
}

enum sm_rc
store_pg_rule_delete(struct store *base, int64_t user_id, int64_t id)
{
    return delete_owned(base, "DELETE FROM alert_rules WHERE id = $1 AND user_id = $2", user_id,
                        id);
}

enum sm_rc
store_pg_rule_count(struct store *base, int64_t user_id, int64_t *n)
{
    return count_owned(base, "SELECT count(*) FROM alert_rules WHERE user_id = $1", user_id, n);
}

/* ------------------------------------------------------------------ channels */

static void
read_channel(const PGresult *res, int i, struct store_channel *c)
{
    memset(c, 0, sizeof *c);
    c->id = pq_get_int(res, i, 0);
    c->user_id = pq_get_int(res, i, 1);
    pq_get_text(c->name, sizeof c->name, res, i, 2);
    pq_get_text(c->kind, sizeof c->kind, res, i, 3);
    pq_get_text(c->url, sizeof c->url, res, i, 4);
    pq_get_text(c->chat_id, sizeof c->chat_id, res, i, 5);
    c->secret_len = get_bytes(c->secret, sizeof c->secret, res, i, 6);
    c->created = pq_get_int(res, i, 7);
}

enum sm_rc
store_pg_channel_add(struct store *base, struct store_channel *c)
{
    if (c->secret_len > sizeof c->secret)
        return SM_ETOOBIG;
    struct pq_args a = {0};
    pq_int(&a, c->user_id);
    pq_text(&a, c->name);
    pq_text(&a, c->kind);
    pq_text(&a, c->url);
    pq_text(&a, c->chat_id);
    pq_blob(&a, c->secret, c->secret_len);
    pq_int(&a, c->created);
    PGresult *res;
    enum sm_rc rc = pq_run(pg(base), "add channel",
                           "INSERT INTO alert_channels(user_id, name, kind, url, chat_id, secret,"
                           " created) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                           &a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    c->id = pq_get_int(res, 0, 0);
    PQclear(res);
    return SM_OK;
}

enum sm_rc
store_pg_channel_get(struct store *base, int64_t user_id, int64_t id, struct store_channel *out)
{
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    PGresult *res;
    enum sm_rc rc =
        pq_run(pg(base), "find channel",
               "SELECT " CHANNEL_COLS " FROM alert_channels WHERE id = $1 AND user_id = $2", &a,
               &res, NULL);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(res) == 1)
        read_channel(res, 0, out);
    else
        rc = SM_ENOTFOUND;
    PQclear(res);
    return rc;
}

enum sm_rc
store_pg_channel_list(struct store *base, int64_t user_id, store_channel_fn fn, void *arg)
{
    struct pq_args a = {0};
    pq_int(&a, user_id);
    PGresult *res;
    enum sm_rc rc =
        pq_run(pg(base), "list channels",
               "SELECT " CHANNEL_COLS " FROM alert_channels WHERE user_id = $1 ORDER BY id", &a,
               &res, NULL);
    if (rc != SM_OK)
        return rc;
    struct store_channel c;
    for (int i = 0; i < PQntuples(res); i++) {
        read_channel(res, i, &c);
        fn(&c, arg);
    }
    PQclear(res);
    return SM_OK;
}

enum sm_rc
store_pg_channel_delete(struct store *base, int64_t user_id, int64_t id)
{
    return delete_owned(base, "DELETE FROM alert_channels WHERE id = $1 AND user_id = $2", user_id,
                        id);
}

enum sm_rc
store_pg_channel_set_secret(struct store *base, int64_t user_id, int64_t id, const uint8_t *secret,
                            size_t len)
{
    if (len > STORE_SECRET_MAX)
        return SM_ETOOBIG;
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    pq_blob(&a, secret, len);
    return pq_change(pg(base), "set channel secret",
                     "UPDATE alert_channels SET secret = $3 WHERE id = $1 AND user_id = $2", &a);
}

enum sm_rc
store_pg_channel_count(struct store *base, int64_t user_id, int64_t *n)
{
    return count_owned(base, "SELECT count(*) FROM alert_channels WHERE user_id = $1", user_id, n);
}

/* ------------------------------------------------------------------ events */

enum sm_rc
store_pg_alert_event_add(struct store *base, const struct store_alert_event *e)
{
    struct pq_args a = {0};
    char dbl[32];
    pq_int(&a, e->rule_id);
    pq_int(&a, e->agent_id);
    pq_text(&a, e->labels);
    pq_text(&a, e->state);
    pq_double(&a, dbl, e->value);
    pq_int(&a, e->ts_ms);
    pq_int(&a, e->at);
    return pq_change(pg(base), "add alert event",
                     "INSERT INTO alert_events(rule_id, agent_id, labels, state, value, ts, at)"
                     " SELECT $1::bigint, $2::bigint, $3::text, $4::text, $5::float8,"
                     " $6::bigint, $7::bigint WHERE EXISTS"
                     " (SELECT 1 FROM alert_rules WHERE id = $1::bigint)"
                     " AND EXISTS (SELECT 1 FROM agents WHERE id = $2::bigint)",
                     &a);
}

static enum sm_rc
each_event(struct store *base, const char *sql, const struct pq_args *a, store_event_fn fn,
           void *arg)
{
    PGresult *res;
    enum sm_rc rc = pq_run(pg(base), "list alert events", sql, a, &res, NULL);
    if (rc != SM_OK)
        return rc;
    struct store_alert_event e;
    for (int i = 0; i < PQntuples(res); i++) {
        memset(&e, 0, sizeof e);
        e.id = pq_get_int(res, i, 0);
        e.rule_id = pq_get_int(res, i, 1);
        e.agent_id = pq_get_int(res, i, 2);
        pq_get_text(e.labels, sizeof e.labels, res, i, 3);
        pq_get_text(e.state, sizeof e.state, res, i, 4);
        e.value = get_double(res, i, 5);
        e.ts_ms = pq_get_int(res, i, 6);
        e.at = pq_get_int(res, i, 7);
        fn(&e, arg);
    }
    PQclear(res);
    return SM_OK;
}

enum sm_rc
store_pg_alert_events(struct store *base, int64_t rule_id, size_t limit, store_event_fn fn,
                      void *arg)
{
    struct pq_args a = {0};
    pq_int(&a, rule_id);
    pq_int(&a, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return each_event(base,
                      "SELECT " EVENT_COLS " FROM alert_events e WHERE e.rule_id = $1"
                      " ORDER BY e.id DESC LIMIT $2",
                      &a, fn, arg);
}

enum sm_rc
store_pg_alert_active(struct store *base, int64_t user_id, store_event_fn fn, void *arg)
{
    struct pq_args a = {0};
    pq_int(&a, user_id);
    return each_event(base,
                      "SELECT " EVENT_COLS " FROM alert_events e JOIN alert_rules r"
                      " ON r.id = e.rule_id WHERE ($1::bigint = 0 OR r.user_id = $1) AND e.id IN"
                      " (SELECT max(id) FROM alert_events GROUP BY rule_id, agent_id, labels)"
                      " AND e.state IN ('pending', 'firing') ORDER BY e.rule_id, e.agent_id",
                      &a, fn, arg);
}

enum sm_rc
store_pg_alert_events_prune(struct store *base, int64_t before, int64_t rule_id, int64_t keep)
{
    struct pq_args a = {0};
    pq_int(&a, before);
    enum sm_rc rc = pq_run(pg(base), "prune alert events", "DELETE FROM alert_events WHERE at < $1",
                           &a, NULL, NULL);
    if (rc != SM_OK)
        return rc;
    struct pq_args b = {0};
    pq_int(&b, rule_id);
    pq_int(&b, keep > 1 ? keep - 1 : 0); /* OFFSET may not be negative; SQLite reads it as 0 */
    return pq_run(pg(base), "prune alert events",
                  "DELETE FROM alert_events WHERE rule_id = $1 AND id <"
                  " (SELECT id FROM alert_events WHERE rule_id = $1"
                  " ORDER BY id DESC LIMIT 1 OFFSET $2)",
                  &b, NULL, NULL);
}
