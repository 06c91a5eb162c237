/* store_pg.c: the PostgreSQL backend of store.h, on libpq (store_pg.h): every member,
 * for one or several smserver instances sharing one database (issue 21):
 *  - claims: "postgresql://" and "postgres://" URIs, and libpq connection strings
 *    ("host=... dbname=...", "service=..."), which libpq itself must parse.
 *  - open: connects, then migrates the schema by version (table schema_version, one
 *    transaction under an advisory lock, so several instances opening at once migrate
 *    once); a database of a newer schema is SM_EINVAL. free, ping, check.
 *  - users (add, by_name, by_id, list), refresh tokens (add; rotate and revoke in one
 *    transaction each, the token's row locked FOR UPDATE, so rotation and reuse
 *    detection stay exact when several connections or instances race), agents (add,
 *    get, list, delete, set_token, by_token), scoped by user as store.h says.
 *  - samples (store_pg_ingest.c): schema version 2, series and samples in day
 *    partitions of a table partitioned by time; group commit (a transaction, a
 *    savepoint per batch, acknowledged after COMMIT); a resent sample is stored once;
 *    latest, latest_points, series_list, count.
 *  - history (store_pg_history.c): queries with SQLite's tiers and bucket shapes,
 *    rollups to 1 min and 1 h computed in SQL, retention that drops whole day
 *    partitions and deletes rollup rows.
 *  - alert rules, channels and events (store_pg_alerts.c); leadership of the jobs one
 *    instance runs and the shared rate limiter (store_pg_cluster.c).
 *  - process snapshots (store_pg_procs.c, schema version 4).
 *  - raw points sealed into compressed chunks, SQLite's (store_pg_chunks.c, schema 6).
 *  - the live stream across instances (store_pg_stream.c): each batch announced by
 *    NOTIFY at commit, read back by the other instances' listeners.
 *
 * Every value reaches PostgreSQL as a bound parameter (PQexecParams); no SQL text is
 * ever built from data. Passwords: the database string is never logged nor put in an
 * error message (libpq's own messages name the host and the user, not the password).
 * Keep the password out of smserver.conf altogether: libpq reads it from ~/.pgpass or
 * the file PGPASSFILE names (mode 0600), or from a service file (PGSERVICEFILE,
 * "service=NAME" in the database string). TLS follows the string's sslmode. */
#include "config.h"

#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ messages */

#define PQ_SECRETS 8

/* Add [s, s + n) to the secrets to mask, when there is room and it is not empty. */
static void
secret_add(char **sec, size_t *k, const char *s, size_t n)
{
    if (n > 0 && *k < PQ_SECRETS)
        sec[(*k)++] = sm_xstrndup(s, n);
}

/* The value after "password=" at p (quoted or not), as written and unescaped. */
static void
secret_keyword(char **sec, size_t *k, const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\'') {
        const char *e = ++p;
        char *plain = sm_xmalloc(strlen(p) + 1);
        size_t n = 0;
        while (*e && *e != '\'') {
            if (e[0] == '\\' && e[1])
                e++;
            plain[n++] = *e++;
        }
        secret_add(sec, k, p, (size_t)(e - p));
        secret_add(sec, k, plain, n);
        for (volatile char *w = plain; w < plain + n; w++)
            *w = 0;
        free(plain);
    } else {
        secret_add(sec, k, p, strcspn(p, " \t\n"));
    }
}

/* The passwords db holds, as libpq reads them and as written: what a message may echo. */
static size_t
secrets_of(const char *db, char **sec)
{
    size_t k = 0;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(db, &err);
    PQfreemem(err);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val)
            secret_add(sec, &k, o->val, strlen(o->val));
    PQconninfoFree(opts);
    const char *p = strstr(db, "://");
    if (p) {
        /* postgresql://user:password@host...: the user part ends at the first '@' or '/'. */
        p += 3;
        size_t n = strcspn(p, "@/?");
        const char *colon = memchr(p, ':', n);
        if (p[n] == '@' && colon)
            secret_add(sec, &k, colon + 1, (size_t)(p + n - colon - 1));
        for (const char *q = strchr(p, '?'); q; q = strchr(q + 1, '&'))
            if (strncmp(q + 1, "password=", 9) == 0)
                secret_add(sec, &k, q + 10, strcspn(q + 10, "&"));
    } else {
        for (const char *q = strstr(db, "password"); q; q = strstr(q + 8, "password")) {
            const char *e = q + 8;
            while (*e == ' ' || *e == '\t')
                e++;
            if ((q == db || q[-1] == ' ' || q[-1] == '\t') && *e == '=')
                secret_keyword(sec, &k, e + 1);
        }
    }
    return k;
}

char *
store_pg_message(const char *msg, const char *db)
{
    size_t len = strlen(msg), o = 0;
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    char *out = sm_xmalloc(2 * len + 1); /* each '\n' becomes at most two bytes */
    for (size_t i = 0; i < len; i++) {
        if (msg[i] != '\n') {
            out[o++] = msg[i];
            continue;
        }
        int indented = msg[i + 1] == '\t' || msg[i + 1] == ' ';
        while (i + 1 < len && (msg[i + 1] == '\t' || msg[i + 1] == ' '))
            i++;
        if (!indented)
            out[o++] = ';';
        out[o++] = ' ';
    }
    out[o] = '\0';
    char *sec[PQ_SECRETS];
    size_t k = db ? secrets_of(db, sec) : 0;
    for (size_t s = 0; s < k; s++) {
        size_t n = strlen(sec[s]);
        char *hit;
        while ((hit = strstr(out, sec[s])) != NULL) {
            char *m = sm_xasprintf("%.*s***%s", (int)(hit - out), out, hit + n);
            free(out);
            out = m;
        }
        for (volatile char *w = sec[s]; *w; w++) /* a copy of a password: wiped */
            *w = 0;
        free(sec[s]);
    }
    return out;
}

/* A notice: a server WARNING, or the FATAL a server sends before it closes an idle
 * session (pg_terminate_backend, a shutdown), which libpq hands here. */
static void
pq_notice(void *db, const char *msg)
{
    char *m = store_pg_message(msg, (const char *)db);
    sm_log(SM_LOG_WARN, "postgresql: %s", m);
    free(m);
}

void
store_pg_notices(PGconn *conn, const char *db)
{
    if (conn)
        PQsetNoticeProcessor(conn, pq_notice, (void *)(uintptr_t)db); /* read only */
}

char *
store_pg_connect_error(const PGconn *conn, const char *db)
{
    if (!conn)
        return sm_xstrdup("postgresql: cannot connect: out of memory");
    const char *raw = PQerrorMessage(conn);
    char *msg = store_pg_message(raw, db);
    const char *hint = strstr(raw, "no password supplied")
                           ? " (no password found: put it in the file PGPASSFILE names, mode "
                             "0600, or in ~/.pgpass)"
                           : "";
    const char *user = PQuser(conn), *dbname = PQdb(conn);
    char *out;
    if (user && *user && dbname && *dbname)
        out = sm_xasprintf("postgresql: cannot connect as user %s to database %s: %s%s", user,
                           dbname, msg, hint);
    else
        out = sm_xasprintf("postgresql: cannot connect: %s%s", msg, hint);
    free(msg);
    return out;
}

/* ------------------------------------------------------------------ bound queries */

static void
pq_add(struct pq_args *a, const char *v, int len, int fmt)
{
    if (a->n >= PQ_MAXARGS) {
        /* A programming error, caught by the tests: the arrays are sized for the SQL here. */
        sm_log(SM_LOG_ERROR, "store_pg: more than %d parameters", PQ_MAXARGS);
        abort();
    }
    a->val[a->n] = v;
    a->len[a->n] = len;
    a->fmt[a->n] = fmt;
    a->n++;
}

void
pq_int(struct pq_args *a, int64_t v)
{
    char *buf = a->num[a->n < PQ_MAXARGS ? a->n : 0];
    snprintf(buf, sizeof a->num[0], "%" PRId64, v);
    pq_add(a, buf, 0, 0);
}

void
pq_text(struct pq_args *a, const char *s)
{
    pq_add(a, s, 0, 0);
}

void
pq_blob(struct pq_args *a, const uint8_t *b, size_t n)
{
    pq_add(a, (const char *)b, (int)n, 1);
}

/* The error code of a failed result (store.h's mapping), from its SQLSTATE. */
static enum sm_rc
pq_code(struct store_pg *st, const PGresult *r)
{
    if (PQstatus(st->conn) != CONNECTION_OK)
        return SM_EUNAVAIL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return SM_EIO;
    if (strcmp(state, "23505") == 0) /* unique_violation */
        return SM_ECONFLICT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || /* serialization, deadlock */
        strcmp(state, "55P03") == 0)                                  /* lock_not_available */
        return SM_EBUSY;
    if (strcmp(state, "53100") == 0) /* disk_full: "could not extend file", ENOSPC */
        return SM_EFULL;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 || /* connection, resources */
        strncmp(state, "57P", 3) == 0)                                  /* shutdown */
        return SM_EUNAVAIL;
    return SM_EIO;
}

/* The code of failed result r (NULL: the connection's error) of statement what, its
 * SQLSTATE kept in st->sqlstate, logged and put in *cause; r is cleared. */
static enum sm_rc
pq_fail(struct store_pg *st, const char *what, PGresult *r, char **cause)
{
    enum sm_rc rc = pq_code(st, r);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    sm_strlcpy(st->sqlstate, state ? state : "", sizeof st->sqlstate);
    char *msg =
        store_pg_message(r ? PQresultErrorMessage(r) : PQerrorMessage(st->conn), st->conninfo);
    /* The message names the statement and what PostgreSQL said; never a parameter. */
    if (rc != SM_ECONFLICT)
        sm_log(SM_LOG_WARN, "postgresql: %s: %s", what, msg);
    if (cause)
        *cause = sm_xasprintf("postgresql: %s: %s", what, msg);
    free(msg);
    PQclear(r);
    return rc;
}

/* The settings of every session of ours, at open and after each reconnect. */
#define PQ_SESSION_SQL "SET client_min_messages = warning"

/* Make the lost connection of st again: a new one, not PQreset, which would send the
 * password libpq read from PGPASSFILE or ~/.pgpass when the connection was first made,
 * so that a password changed since (ALTER ROLE, and the file with it) would be refused
 * until a restart. The reason of a failure (a password refused, the server stopped) is
 * logged once per connection until it changes, and so is the connection coming back; it
 * is also *cause. SM_EUNAVAIL when it fails (the old connection is kept, still lost). */
static enum sm_rc
pq_reconnect(struct store_pg *st, char **cause)
{
    PGconn *c = PQconnectdb(st->conninfo);
    if (c && PQstatus(c) == CONNECTION_OK) {
        PQfinish(st->conn);
        st->conn = c;
        st->nprepared = 0; /* a new session has none */
        store_pg_notices(c, st->conninfo);
        PQclear(PQexec(c, PQ_SESSION_SQL));
        if (st->down) {
            sm_log(SM_LOG_INFO, "postgresql: connected again as user %s to database %s", PQuser(c),
                   PQdb(c));
            free(st->down);
            st->down = NULL;
        }
        return SM_OK;
    }
    char *why = store_pg_connect_error(c, st->conninfo);
    PQfinish(c);
    if (!st->down || strcmp(st->down, why) != 0) {
        sm_log(SM_LOG_WARN, "%s", why);
        free(st->down);
        st->down = sm_xstrdup(why);
    }
    if (cause)
        *cause = why;
    else
        free(why);
    return SM_EUNAVAIL;
}

static enum sm_rc
run_fmt(struct store_pg *st, const char *what, const char *sql, const struct pq_args *a,
        PGresult **res, char **cause, int binary)
{
    if (res)
        *res = NULL;
    /* A lost connection is made again between transactions only: inside one, the
     * statements that remain would run outside it (each alone, without its locks), so
     * the transaction fails instead and its caller rolls back. */
    if (PQstatus(st->conn) != CONNECTION_OK && !st->in_tx && pq_reconnect(st, cause) != SM_OK)
        return SM_EUNAVAIL;
    PGresult *r = PQexecParams(st->conn, sql, a ? a->n : 0, NULL, a ? a->val : NULL,
                               a ? a->len : NULL, a ? a->fmt : NULL, binary);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return SM_OK;
    }
    return pq_fail(st, what, r, cause);
}

enum sm_rc
pq_run(struct store_pg *st, const char *what, const char *sql, const struct pq_args *a,
       PGresult **res, char **cause)
{
    return run_fmt(st, what, sql, a, res, cause, 0);
}

enum sm_rc
pq_run_binary(struct store_pg *st, const char *what, const char *sql, const struct pq_args *a,
              PGresult **res)
{
    return run_fmt(st, what, sql, a, res, NULL, 1);
}

enum sm_rc
pq_change(struct store_pg *st, const char *what, const char *sql, const struct pq_args *a)
{
    PGresult *r;
    enum sm_rc rc = pq_run(st, what, sql, a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    const char *n = PQcmdTuples(r);
    if (n[0] == '0' && n[1] == '\0')
        rc = SM_ENOTFOUND;
    PQclear(r);
    return rc;
}

static int
is_prepared(const struct store_pg *st, const char *name)
{
    for (size_t i = 0; i < st->nprepared; i++)
        if (strcmp(st->prepared[i], name) == 0)
            return 1;
    return 0;
}

/* Prepare s on this connection unless it is already. A statement that cannot be
 * prepared (the table of names full, or PostgreSQL refused) is sent unprepared, and
 * fails there as it would have. */
static void
prepare(struct store_pg *st, const struct pq_stmt *s)
{
    if (!s->name || is_prepared(st, s->name) ||
        st->nprepared == sizeof st->prepared / sizeof st->prepared[0])
        return;
    PGresult *r = PQprepare(st->conn, s->name, s->sql, s->a ? s->a->n : 0, NULL);
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
        st->prepared[st->nprepared++] = s->name;
    PQclear(r);
}

enum sm_rc
pq_pipeline(struct store_pg *st, struct pq_stmt *s, size_t n, char **cause)
{
    for (size_t i = 0; i < n; i++)
        s[i].res = NULL;
    if (PQstatus(st->conn) != CONNECTION_OK && !st->in_tx && pq_reconnect(st, cause) != SM_OK)
        return SM_EUNAVAIL;
    for (size_t i = 0; i < n; i++)
        prepare(st, &s[i]);
    if (PQenterPipelineMode(st->conn) != 1)
        return pq_fail(st, n ? s[0].what : "pipeline", NULL, cause);
    enum sm_rc rc = SM_OK;
    size_t sent = 0;
    for (; sent < n; sent++) {
        const struct pq_args *a = s[sent].a;
        int ok =
            s[sent].name && is_prepared(st, s[sent].name)
                ? PQsendQueryPrepared(st->conn, s[sent].name, a ? a->n : 0, a ? a->val : NULL,
                                      a ? a->len : NULL, a ? a->fmt : NULL, s[sent].binary)
                : PQsendQueryParams(st->conn, s[sent].sql, a ? a->n : 0, NULL, a ? a->val : NULL,
                                    a ? a->len : NULL, a ? a->fmt : NULL, s[sent].binary);
        if (!ok)
            break;
    }
    int synced = PQpipelineSync(st->conn);
    /* A statement that could not be sent fails the pipeline (the connection is broken,
     * or libpq is out of memory); what was sent is still read back to the sync. */
    if (sent < n)
        rc = pq_fail(st, s[sent].what, NULL, cause);
    else if (!synced)
        rc = pq_fail(st, "pipeline", NULL, cause);
    /* One result (then NULL) per statement, in order; after a failure the rest are
     * PGRES_PIPELINE_ABORTED; then the sync. */
    for (size_t i = 0; synced && i <= sent; i++) {
        PGresult *r = PQgetResult(st->conn);
        ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (i == sent) {
            if (t != PGRES_PIPELINE_SYNC && rc == SM_OK)
                rc = pq_fail(st, "pipeline", r, cause);
            else
                PQclear(r);
            break;
        }
        if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK) {
            s[i].res = r;
        } else if (t == PGRES_PIPELINE_ABORTED) {
            PQclear(r);
        } else {
            if (rc == SM_OK)
                rc = pq_fail(st, s[i].what, r, cause);
            else
                PQclear(r);
            if (!r)
                break; /* the connection is gone: nothing more comes */
        }
        PGresult *end = PQgetResult(st->conn); /* the NULL after each statement's result */
        if (end)
            PQclear(end);
    }
    (void)PQexitPipelineMode(st->conn);
    if (rc != SM_OK)
        for (size_t i = 0; i < n; i++) {
            PQclear(s[i].res);
            s[i].res = NULL;
        }
    return rc;
}

enum sm_rc
pg_one(struct store_pg *st, const char *what, enum sm_rc none, const char *sql,
       const struct pq_args *a, pq_row_fn read, void *out)
{
    PGresult *r;
    enum sm_rc rc = pq_run(st, what, sql, a, &r, NULL);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(r) == 1)
        read(r, 0, out);
    else
        rc = none;
    PQclear(r);
    return rc;
}

enum sm_rc
pq_begin(struct store_pg *st)
{
    enum sm_rc rc = pq_run(st, "begin", "BEGIN", NULL, NULL, NULL);
    st->in_tx = rc == SM_OK;
    return rc;
}

enum sm_rc
pq_commit(struct store_pg *st)
{
    enum sm_rc rc = pq_run(st, "commit", "COMMIT", NULL, NULL, NULL);
    st->in_tx = 0;
    return rc;
}

void
pq_rollback(struct store_pg *st)
{
    if (PQstatus(st->conn) == CONNECTION_OK && PQtransactionStatus(st->conn) != PQTRANS_IDLE)
        (void)pq_run(st, "rollback", "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = 0;
}

int64_t
pq_get_int(const PGresult *r, int row, int c)
{
    if (PQgetisnull(r, row, c))
        return 0;
    return strtoll(PQgetvalue(r, row, c), NULL, 10);
}

void
pq_get_text(char *dst, size_t n, const PGresult *r, int row, int c)
{
    sm_strlcpy(dst, PQgetisnull(r, row, c) ? "" : PQgetvalue(r, row, c), n);
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

int
pq_get_blob(uint8_t *dst, size_t n, const PGresult *r, int row, int c)
{
    if (PQgetisnull(r, row, c))
        return 0;
    const char *v = PQgetvalue(r, row, c);
    size_t len = (size_t)PQgetlength(r, row, c);
    if (len != 2 + 2 * n || v[0] != '\\' || v[1] != 'x')
        return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* ------------------------------------------------------------------ schema */

/* Entry i brings schema_version from i to i + 1, in the transaction of the migration. */
static const char *const migrations[] = {
    "CREATE TABLE users(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name text NOT NULL UNIQUE, pwhash text NOT NULL, created bigint NOT NULL);"
    "CREATE TABLE refresh_tokens(hash bytea PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " family bytea NOT NULL, expires bigint NOT NULL, revoked boolean NOT NULL DEFAULT false,"
    " created bigint NOT NULL);"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE TABLE agents(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE, name text NOT NULL,"
    " token_hash bytea NOT NULL UNIQUE, created bigint NOT NULL, last_seen bigint,"
    " host text, UNIQUE(user_id, name));",
    /* 2: series, samples partitioned by day, newest samples, rollup tiers
     * (store_pg_ingest.c). */
    store_pg_ingest_schema,
    /* 3: alert rules, channels, events; the shared rate limiter (store_pg_alerts.c). */
    store_pg_alerts_schema,
    /* 4: process snapshots, one per agent and minute (store_pg_procs.c). */
    store_pg_procs_schema,
    /* 5: the rollup tiers' aggregates in their key index (store_pg_history.c). */
    store_pg_history_covering,
    /* 6: raw points sealed into chunks (store_pg_chunks.c). */
    store_pg_chunks_schema,
};
#define NMIGRATIONS ((int64_t)(sizeof migrations / sizeof migrations[0]))
/* The advisory lock every migrating connection takes (any constant; "smsv"). */
#define MIGRATE_LOCK "1936552822"

static enum sm_rc
migrate(struct store_pg *st, char **cause)
{
    PGresult *r = NULL;
    enum sm_rc rc = pq_begin(st);
    if (rc != SM_OK)
        goto fail;
    /* Instances opening at once wait for each other here; the one that migrates commits
     * before the next reads the version. */
    if ((rc = pq_run(st, "lock schema", "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL,
                     NULL, cause)) != SM_OK ||
        (rc = pq_run(st, "create schema_version",
                     "CREATE TABLE IF NOT EXISTS schema_version(version bigint NOT NULL)", NULL,
                     NULL, cause)) != SM_OK ||
        (rc = pq_run(st, "read schema_version", "SELECT version FROM schema_version", NULL, &r,
                     cause)) != SM_OK)
        goto fail;
    int64_t version = 0;
    if (PQntuples(r) == 0) {
        if ((rc = pq_run(st, "init schema_version", "INSERT INTO schema_version VALUES (0)", NULL,
                         NULL, cause)) != SM_OK)
            goto fail;
    } else if (PQntuples(r) == 1) {
        version = pq_get_int(r, 0, 0);
    } else {
        rc = SM_EIO;
        *cause = sm_xstrdup("postgresql: schema_version has more than one row");
        goto fail;
    }
    PQclear(r);
    r = NULL;
    if (version > NMIGRATIONS || version < 0) {
        rc = SM_EINVAL;
        *cause = sm_xasprintf("postgresql: the database has schema version %" PRId64
                              ", newer than this smserver's %" PRId64 ": upgrade smserver",
                              version, NMIGRATIONS);
        goto fail;
    }
    for (int64_t v = version; v < NMIGRATIONS; v++) {
        char what[40];
        snprintf(what, sizeof what, "migration %" PRId64, v + 1);
        /* No parameters: PQexecParams takes one statement, so the script goes alone. */
        PGresult *m = PQexec(st->conn, migrations[v]);
        if (PQresultStatus(m) != PGRES_COMMAND_OK) {
            rc = pq_code(st, m);
            *cause = sm_xasprintf("postgresql: %s: %s", what, PQresultErrorMessage(m));
            PQclear(m);
            goto fail;
        }
        PQclear(m);
    }
    if (version < NMIGRATIONS) {
        struct pq_args a = {0};
        pq_int(&a, NMIGRATIONS);
        if ((rc = pq_run(st, "set schema_version", "UPDATE schema_version SET version = $1", &a,
                         NULL, cause)) != SM_OK)
            goto fail;
        sm_log(SM_LOG_INFO, "postgresql: schema migrated from version %" PRId64 " to %" PRId64,
               version, NMIGRATIONS);
    }
    rc = pq_run(st, "commit migration", "COMMIT", NULL, NULL, cause);
    st->in_tx = 0;
    return rc;
fail:
    PQclear(r);
    pq_rollback(st);
    return rc;
}

/* ------------------------------------------------------------------ connection */

static int
pg_claims(const char *db)
{
    if (strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0)
        return 1;
    /* A keyword=value string, even one libpq cannot parse (an unclosed quote, a bad
     * keyword later on): its first word is a libpq keyword before '='. It is libpq's to
     * refuse, naming what is wrong, rather than SQLite's to take for a file name (and to
     * print, password and all). A file path with no '=' stays SQLite's. */
    if (!strchr(db, '='))
        return 0;
    const char *p = db + strspn(db, " \t");
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
    const char *eq = p + n + strspn(p + n, " \t");
    if (n == 0 || *eq != '=')
        return 0;
    PQconninfoOption *defs = PQconndefaults();
    int known = 0;
    for (PQconninfoOption *o = defs; o && o->keyword && !known; o++)
        known = strlen(o->keyword) == n && strncmp(o->keyword, p, n) == 0;
    PQconninfoFree(defs);
    return known;
}

static void
pg_free(struct store *base)
{
    struct store_pg *st = pg(base);
    store_pg_ingest_free(st);
    PQfinish(st->conn);
    if (st->conninfo) {
        for (volatile char *w = st->conninfo; *w; w++) /* it may hold a password */
            *w = 0;
        free(st->conninfo);
    }
    free(st->down);
    free(st);
}

static enum sm_rc
pg_open(const char *db, struct store **out, char **cause)
{
    struct store_pg *st = sm_xcalloc(1, sizeof *st);
    st->base.backend = &store_pg_backend;
    st->conn = PQconnectdb(db);
    if (!st->conn) {
        free(st);
        *cause = sm_xstrdup("postgresql: out of memory");
        return SM_ENOMEM;
    }
    st->conninfo = sm_xstrdup(db);
    store_pg_notices(st->conn, st->conninfo);
    if (PQstatus(st->conn) != CONNECTION_OK) {
        /* libpq's message names the socket or host, the user and the database; the
         * password, wherever db holds it, is masked (store_pg_message). */
        *cause = store_pg_connect_error(st->conn, db);
        pg_free(&st->base);
        return SM_EUNAVAIL;
    }
    enum sm_rc rc = pq_run(st, "session settings", PQ_SESSION_SQL, NULL, NULL, cause);
    if (rc == SM_OK)
        rc = migrate(st, cause);
    if (rc != SM_OK) {
        pg_free(&st->base);
        return rc;
    }
    *out = &st->base;
    return SM_OK;
}

static enum sm_rc
pg_ping(struct store *base)
{
    return pq_run(pg(base), "ping", "SELECT 1", NULL, NULL, NULL) == SM_OK ? SM_OK : SM_EUNAVAIL;
}

/* PostgreSQL checks its pages itself (checksums, amcheck is an operator's tool); this
 * checks what is ours: the schema version is the one this smserver wrote. */
static enum sm_rc
pg_check(struct store *base, char **cause)
{
    struct store_pg *st = pg(base);
    PGresult *r;
    enum sm_rc rc = pq_run(st, "check", "SELECT version FROM schema_version", NULL, &r, cause);
    if (rc != SM_OK)
        return rc;
    if (PQntuples(r) != 1 || pq_get_int(r, 0, 0) != NMIGRATIONS) {
        rc = SM_EIO;
        *cause = sm_xstrdup("postgresql: schema_version is not this smserver's");
    }
    PQclear(r);
    return rc;
}

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .claims = pg_claims,
    .init = NULL,
    .open = pg_open,
    .free = pg_free,
    .ping = pg_ping,
    .check = pg_check,
    .user_add = store_pg_user_add,
    .user_by_name = store_pg_user_by_name,
    .user_by_id = store_pg_user_by_id,
    .user_list = store_pg_user_list,
    .refresh_add = store_pg_refresh_add,
    .refresh_rotate = store_pg_refresh_rotate,
    .refresh_revoke = store_pg_refresh_revoke,
    .agent_add = store_pg_agent_add,
    .agent_get = store_pg_agent_get,
    .agent_list = store_pg_agent_list,
    .agent_delete = store_pg_agent_delete,
    .agent_set_token = store_pg_agent_set_token,
    .agent_by_token = store_pg_agent_by_token,
    .prepare = store_pg_prepare,
    .begin = store_pg_begin,
    .commit = store_pg_commit,
    .rollback = store_pg_rollback,
    .batch_write = store_pg_batch_write,
    .history_query = store_pg_history_query,
    .series_list = store_pg_series_list,
    .latest = store_pg_latest,
    .rollup = store_pg_rollup,
    .retain = store_pg_retain,
    .latest_points = store_pg_latest_points,
    .rule_add = store_pg_rule_add,
    .rule_update = store_pg_rule_update,
    .rule_get = store_pg_rule_get,
    .rule_list = store_pg_rule_list,
    .rule_delete = store_pg_rule_delete,
    .rule_count = store_pg_rule_count,
    .channel_add = store_pg_channel_add,
    .channel_get = store_pg_channel_get,
    .channel_list = store_pg_channel_list,
    .channel_delete = store_pg_channel_delete,
    .channel_set_secret = store_pg_channel_set_secret,
    .channel_count = store_pg_channel_count,
    .alert_event_add = store_pg_alert_event_add,
    .alert_events_prune = store_pg_alert_events_prune,
    .alert_events = store_pg_alert_events,
    .alert_active = store_pg_alert_active,
    .count = store_pg_count,
    .size = store_pg_size,
    .procs_at = store_pg_procs_at,
    .procs_retain = store_pg_procs_retain,
    .procs_usage = store_pg_procs_usage,
    .leader = store_pg_leader,
    .listen = store_pg_listen,
    .limit_check = store_pg_limit_check,
    .limit_fail = store_pg_limit_fail,
    .limit_reset = store_pg_limit_reset,
};
