/* store_pg_auth.c: users, refresh tokens and agents of the PostgreSQL backend
 * (store_pg.h). Every value is a bound parameter. */
#include "config.h"

#include "store_pg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ users */

static void
read_user(const PGresult *r, int row, void *out)
{
    struct store_user *u = out;
    u->id = pq_get_int(r, row, 0);
    pq_get_text(u->name, sizeof u->name, r, row, 1);
    pq_get_text(u->pwhash, sizeof u->pwhash, r, row, 2);
    u->created = pq_get_int(r, row, 3);
}

enum sm_rc
store_pg_user_add(struct store *base, const char *name, const char *pwhash, int64_t now,
                  struct store_user *out)
{
    struct pq_args a = {0};
    pq_text(&a, name);
    pq_text(&a, pwhash);
    pq_int(&a, now);
    PGresult *r;
    enum sm_rc rc = pq_run(pg(base), "add user",
                           "INSERT INTO users(name, pwhash, created) VALUES ($1, $2, $3)"
                           " RETURNING id",
                           &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    out->id = pq_get_int(r, 0, 0);
    PQclear(r);
    sm_strlcpy(out->name, name, sizeof out->name);
    sm_strlcpy(out->pwhash, pwhash, sizeof out->pwhash);
    out->created = now;
    return SM_OK;
}

enum sm_rc
store_pg_user_by_name(struct store *base, const char *name, struct store_user *out)
{
    struct pq_args a = {0};
    pq_text(&a, name);
    return pg_one(pg(base), "find user", SM_ENOTFOUND,
                  "SELECT id, name, pwhash, created FROM users WHERE name = $1", &a, read_user,
                  out);
}

enum sm_rc
store_pg_user_by_id(struct store *base, int64_t id, struct store_user *out)
{
    struct pq_args a = {0};
    pq_int(&a, id);
    return pg_one(pg(base), "find user", SM_ENOTFOUND,
                  "SELECT id, name, pwhash, created FROM users WHERE id = $1", &a, read_user, out);
}

enum sm_rc
store_pg_user_list(struct store *base, store_user_fn fn, void *arg)
{
    PGresult *r;
    /* The password hashes stay in the database, as on SQLite. */
    enum sm_rc rc = pq_run(pg(base), "list users",
                           "SELECT id, name, '', created FROM users ORDER BY id", NULL, &r, NULL);
    if (rc != SM_OK)
        return rc;
    struct store_user u;
    for (int i = 0; i < PQntuples(r); i++) {
        read_user(r, i, &u);
        fn(&u, arg);
    }
    PQclear(r);
    return SM_OK;
}

/* ------------------------------------------------------------------ refresh tokens */

enum sm_rc
store_pg_refresh_add(struct store *base, const uint8_t hash[STORE_HASH_LEN], int64_t user_id,
                     const uint8_t family[STORE_FAMILY_LEN], int64_t expires, int64_t now)
{
    struct pq_args a = {0};
    pq_blob(&a, hash, STORE_HASH_LEN);
    pq_int(&a, user_id);
    pq_blob(&a, family, STORE_FAMILY_LEN);
    pq_int(&a, expires);
    pq_int(&a, now);
    return pq_run(pg(base), "add refresh token",
                  "INSERT INTO refresh_tokens(hash, user_id, family, expires, created)"
                  " VALUES ($1, $2, $3, $4, $5)",
                  &a, NULL, NULL);
}

/* Inside a transaction: look hash up and lock its row until the end of the transaction,
 * so that a second rotation or revocation of the same token waits for this one and then
 * sees it retired. SM_EAUTH when unknown. */
static enum sm_rc
refresh_lock(struct store_pg *st, const uint8_t hash[STORE_HASH_LEN], int64_t *user_id,
             uint8_t family[STORE_FAMILY_LEN], int64_t *expires, int *revoked)
{
    struct pq_args a = {0};
    pq_blob(&a, hash, STORE_HASH_LEN);
    PGresult *r;
    enum sm_rc rc = pq_run(st, "find refresh token",
                           "SELECT user_id, family, expires, revoked FROM refresh_tokens"
                           " WHERE hash = $1 FOR UPDATE",
                           &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(r) != 1 || !pq_get_blob(family, STORE_FAMILY_LEN, r, 0, 1)) {
        PQclear(r);
        return SM_EAUTH;
    }
    *user_id = pq_get_int(r, 0, 0);
    *expires = pq_get_int(r, 0, 2);
    *revoked = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    PQclear(r);
    return SM_OK;
}

static enum sm_rc
revoke_family(struct store_pg *st, const uint8_t family[STORE_FAMILY_LEN])
{
    struct pq_args a = {0};
    pq_blob(&a, family, STORE_FAMILY_LEN);
    return pq_run(st, "revoke token family",
                  "UPDATE refresh_tokens SET revoked = true WHERE family = $1", &a, NULL, NULL);
}

enum sm_rc
store_pg_refresh_rotate(struct store *base, const uint8_t old_hash[STORE_HASH_LEN],
                        const uint8_t new_hash[STORE_HASH_LEN], int64_t now, int64_t new_expires,
                        int64_t *user_id)
{
    struct store_pg *st = pg(base);
    uint8_t family[STORE_FAMILY_LEN];
    int64_t expires = 0;
    int revoked = 0;
    enum sm_rc rc = pq_begin(st);
    if (rc != SM_OK)
        return rc;
    if ((rc = refresh_lock(st, old_hash, user_id, family, &expires, &revoked)) != SM_OK)
        goto fail;
    if (revoked) {
        /* A retired token came back: someone holds a copy. End the whole session. */
        sm_log(SM_LOG_WARN, "refresh token reuse for user %" PRId64 ": revoking its session",
               *user_id);
        if ((rc = revoke_family(st, family)) != SM_OK || (rc = pq_commit(st)) != SM_OK)
            goto fail;
        return SM_EAUTH;
    }
    if (expires <= now) {
        rc = SM_EAUTH;
        goto fail;
    }
    struct pq_args a = {0};
    pq_blob(&a, old_hash, STORE_HASH_LEN);
    if ((rc = pq_run(st, "retire refresh token",
                     "UPDATE refresh_tokens SET revoked = true WHERE hash = $1", &a, NULL, NULL)) !=
        SM_OK)
        goto fail;
    if ((rc = store_pg_refresh_add(base, new_hash, *user_id, family, new_expires, now)) != SM_OK)
        goto fail;
    if ((rc = pq_commit(st)) != SM_OK)
        goto fail;
    return SM_OK;
fail:
    pq_rollback(st);
    return rc;
}

enum sm_rc
store_pg_refresh_revoke(struct store *base, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                        int64_t *user_id)
{
    struct store_pg *st = pg(base);
    uint8_t family[STORE_FAMILY_LEN];
    int64_t expires = 0;
    int revoked = 0;
    enum sm_rc rc = pq_begin(st);
    if (rc != SM_OK)
        return rc;
    if ((rc = refresh_lock(st, hash, user_id, family, &expires, &revoked)) != SM_OK)
        goto fail;
    if (revoked || expires <= now) {
        rc = SM_EAUTH;
        goto fail;
    }
    /* The other instances close this user's streams when the logout commits. */
    if ((rc = revoke_family(st, family)) != SM_OK ||
        (rc = store_pg_notify_event(st, "logout", *user_id, 0)) != SM_OK ||
        (rc = pq_commit(st)) != SM_OK)
        goto fail;
    return SM_OK;
fail:
    pq_rollback(st);
    return rc;
}

/* ------------------------------------------------------------------ agents */

static void
read_id(const PGresult *r, int row, void *out)
{
    *(int64_t *)out = pq_get_int(r, row, 0);
}

#define AGENT_COLS "id, user_id, name, created, COALESCE(last_seen, 0), host"

static void
read_agent(const PGresult *r, int row, void *out)
{
    struct store_agent *a = out;
    a->id = pq_get_int(r, row, 0);
    a->user_id = pq_get_int(r, row, 1);
    pq_get_text(a->name, sizeof a->name, r, row, 2);
    a->created = pq_get_int(r, row, 3);
    a->last_seen = pq_get_int(r, row, 4);
    a->host = PQgetisnull(r, row, 5) ? NULL : sm_xstrdup(PQgetvalue(r, row, 5));
}

enum sm_rc
store_pg_agent_add(struct store *base, int64_t user_id, const char *name,
                   const uint8_t token_hash[STORE_HASH_LEN], int64_t now, struct store_agent *out)
{
    struct pq_args a = {0};
    pq_int(&a, user_id);
    pq_text(&a, name);
    pq_blob(&a, token_hash, STORE_HASH_LEN);
    pq_int(&a, now);
    PGresult *r;
    enum sm_rc rc = pq_run(pg(base), "add agent",
                           "INSERT INTO agents(user_id, name, token_hash, created)"
                           " VALUES ($1, $2, $3, $4) RETURNING id",
                           &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = pq_get_int(r, 0, 0);
    PQclear(r);
    out->user_id = user_id;
    sm_strlcpy(out->name, name, sizeof out->name);
    out->created = now;
    return SM_OK;
}

enum sm_rc
store_pg_agent_get(struct store *base, int64_t user_id, int64_t id, struct store_agent *out)
{
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    return pg_one(pg(base), "find agent", SM_ENOTFOUND,
                  "SELECT " AGENT_COLS " FROM agents WHERE id = $1 AND user_id = $2", &a,
                  read_agent, out);
}

enum sm_rc
store_pg_agent_by_token(struct store *base, const uint8_t hash[STORE_HASH_LEN],
                        struct store_agent *out)
{
    struct pq_args a = {0};
    pq_blob(&a, hash, STORE_HASH_LEN);
    return pg_one(pg(base), "find agent", SM_EAUTH,
                  "SELECT " AGENT_COLS " FROM agents WHERE token_hash = $1", &a, read_agent, out);
}

enum sm_rc
store_pg_agent_list(struct store *base, int64_t user_id, store_agent_fn fn, void *arg)
{
    struct pq_args a = {0};
    pq_int(&a, user_id);
    PGresult *r;
    /* $1 = 0 lists every user's agents. */
    enum sm_rc rc = pq_run(pg(base), "list agents",
                           "SELECT " AGENT_COLS " FROM agents WHERE $1::bigint = 0 OR user_id = $1"
                           " ORDER BY id",
                           &a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    struct store_agent ag;
    for (int i = 0; i < PQntuples(r); i++) {
        read_agent(r, i, &ag);
        fn(&ag, arg);
        store_agent_done(&ag);
    }
    PQclear(r);
    return SM_OK;
}

/* The agent with its samples (no foreign key: store_pg_ingest.c), rollup rows and
 * dirty marks, in one transaction; series and the newest sample go with the agent row
 * (ON DELETE CASCADE). */
enum sm_rc
store_pg_agent_delete(struct store *base, int64_t user_id, int64_t id)
{
    struct store_pg *st = pg(base);
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    struct pq_args one = {0};
    pq_int(&one, id);
    enum sm_rc rc = pq_begin(st);
    if (rc != SM_OK)
        return rc;
    int64_t found = 0;
    if ((rc = pg_one(st, "find agent", SM_ENOTFOUND,
                     "SELECT id FROM agents WHERE id = $1 AND user_id = $2 FOR UPDATE", &a, read_id,
                     &found)) != SM_OK ||
        (rc = pq_run(st, "delete samples", "DELETE FROM samples WHERE agent_id = $1", &one, NULL,
                     NULL)) != SM_OK ||
        (rc = pq_run(st, "delete rollups",
                     "DELETE FROM rollup_1m WHERE series_id IN"
                     " (SELECT id FROM series WHERE agent_id = $1)",
                     &one, NULL, NULL)) != SM_OK ||
        (rc = pq_run(st, "delete rollups",
                     "DELETE FROM rollup_1h WHERE series_id IN"
                     " (SELECT id FROM series WHERE agent_id = $1)",
                     &one, NULL, NULL)) != SM_OK ||
        (rc = pq_run(st, "delete dirty minutes", "DELETE FROM rollup_dirty WHERE agent_id = $1",
                     &one, NULL, NULL)) != SM_OK ||
        /* alert_events has no foreign key to agents (as in SQLite): an agent's alerts
         * end with it, or they stay active for an agent that is gone. */
        (rc = pq_run(st, "delete alert events", "DELETE FROM alert_events WHERE agent_id = $1",
                     &one, NULL, NULL)) != SM_OK ||
        (rc = pq_change(st, "delete agent", "DELETE FROM agents WHERE id = $1 AND user_id = $2",
                        &a)) != SM_OK ||
        /* The other instances' viewers and alert leader forget it at the commit. */
        (rc = store_pg_notify_event(st, "agent-removed", user_id, id)) != SM_OK)
        goto fail;
    return pq_commit(st);
fail:
    pq_rollback(st);
    return rc;
}

enum sm_rc
store_pg_agent_set_token(struct store *base, int64_t user_id, int64_t id,
                         const uint8_t token_hash[STORE_HASH_LEN])
{
    struct pq_args a = {0};
    pq_int(&a, id);
    pq_int(&a, user_id);
    pq_blob(&a, token_hash, STORE_HASH_LEN);
    return pq_change(pg(base), "set agent token",
                     "UPDATE agents SET token_hash = $3 WHERE id = $1 AND user_id = $2", &a);
}
