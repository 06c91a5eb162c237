/* store_sqlite_agents.c: agents of the SQLite backend (store_sqlite.h). */
#include "config.h"

#include "store_sqlite.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ agents */

static void
read_agent(sqlite3_stmt *s, void *out)
{
    struct store_agent *a = out;
    a->id = sqlite3_column_int64(s, 0);
    a->user_id = sqlite3_column_int64(s, 1);
    sq_copy_text(a->name, sizeof a->name, s, 2);
    a->created = sqlite3_column_int64(s, 3);
    a->last_seen = sqlite3_column_int64(s, 4);
    const char *host = (const char *)sqlite3_column_text(s, 5);
    a->host = host ? sm_xstrdup(host) : NULL;
}

enum sm_rc
store_sqlite_agent_add(struct store *base, int64_t user_id, const char *name,
                       const uint8_t token_hash[STORE_HASH_LEN], int64_t now,
                       struct store_agent *out)
{
    struct store_sqlite *st = sq(base);
    enum sm_rc rc = sq_exec(st, NULL, S_AGENT_ADD, user_id, name, token_hash, now);
    if (rc != SM_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_last_insert_rowid(st->db);
    out->user_id = user_id;
    sm_strlcpy(out->name, name, sizeof out->name);
    out->created = now;
    return SM_OK;
}

enum sm_rc
store_sqlite_agent_get(struct store *base, int64_t user_id, int64_t id, struct store_agent *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_ENOTFOUND, read_agent, out, S_AGENT_GET, id, user_id);
}

enum sm_rc
store_sqlite_agent_by_token(struct store *base, const uint8_t hash[STORE_HASH_LEN],
                            struct store_agent *out)
{
    struct store_sqlite *st = sq(base);
    return sq_one(st, NULL, SM_EAUTH, read_agent, out, S_AGENT_BY_TOKEN, hash);
}

enum sm_rc
store_sqlite_agent_list(struct store *base, int64_t user_id, store_agent_fn fn, void *arg)
{
    struct store_sqlite *st = sq(base);
    enum stmt_id id = user_id ? S_AGENT_LIST_USER : S_AGENT_LIST_ALL;
    sqlite3_stmt *s = sq_bind(st, id, user_id); /* S_AGENT_LIST_ALL takes no argument */
    struct store_agent a;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        read_agent(s, &a);
        fn(&a, arg);
        store_agent_done(&a);
    }
    return sq_done(st, id, step, NULL);
}

enum sm_rc
store_sqlite_agent_delete(struct store *base, int64_t user_id, int64_t id)
{
    struct store_sqlite *st = sq(base);
    struct store_agent a;
    enum sm_rc rc = sq_exec(st, NULL, S_BEGIN);
    if (rc != SM_OK)
        return rc;
    if ((rc = store_sqlite_agent_get(&st->base, user_id, id, &a)) != SM_OK)
        goto fail;
    store_agent_done(&a);
    /* The samples carry the raw points. */
    if ((rc = sq_exec(st, NULL, S_AGENT_DEL_SAMPLES, id)) != SM_OK)
        goto fail;
    /* Its alert history goes too: no alert stays active for an agent that is gone. */
    if ((rc = sq_exec(st, NULL, S_AGENT_DEL_EVENTS, id)) != SM_OK)
        goto fail;
    if ((rc = history_forget_agent(st->db, id)) != SM_OK)
        goto fail;
    if ((rc = sq_exec(st, NULL, S_AGENT_DEL, id, user_id)) != SM_OK)
        goto fail;
    return sq_exec(st, NULL, S_COMMIT);
fail:
    store_sqlite_rollback(&st->base);
    return rc;
}

enum sm_rc
store_sqlite_agent_set_token(struct store *base, int64_t user_id, int64_t id,
                             const uint8_t token_hash[STORE_HASH_LEN])
{
    struct store_sqlite *st = sq(base);
    return sq_change(st, NULL, S_AGENT_SET_TOKEN, id, user_id, token_hash);
}
