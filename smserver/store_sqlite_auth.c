/* store_sqlite_auth.c: users and refresh tokens of the SQLite backend (store_sqlite.h). */
#include "config.h"

#include "store_sqlite.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ users */

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
