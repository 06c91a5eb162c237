/* test_store_pg.c: one table of cases for users, refresh tokens and agents, run through
 * store.h against every backend: SQLite always (a file in a temporary directory), and
 * PostgreSQL when SM_TEST_PG holds a libpq connection string (tests/integration/
 * store_pg.sh starts a private cluster and sets it). Also: PostgreSQL strings are
 * refused by store_open until the backend is complete, a connection error names no
 * password, and a database of a newer schema is refused. */
#include "config.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "tap.h"

#define NOW 1800000000LL

static const char *backend; /* name of the backend under test, for the messages */

/* A hash or family that only seed makes: distinct for distinct seeds below 65536. */
static void
fill(uint8_t *b, size_t n, int seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 31 + (int)i);
    b[0] = (uint8_t)(seed >> 8);
    b[1] = (uint8_t)seed;
}

static int64_t
user(struct store *st, const char *name)
{
    struct store_user u;
    if (store_user_add(st, name, "$argon2id$fake", NOW, &u) != SM_OK)
        return 0;
    return u.id;
}

/* ------------------------------------------------------------------ users */

struct user_seen {
    int n, alice, bob, pw_hidden;
    int64_t last_id, ordered;
};

static void
on_user(const struct store_user *u, void *arg)
{
    struct user_seen *s = arg;
    s->n++;
    s->alice += strcmp(u->name, "u_alice") == 0;
    s->bob += strcmp(u->name, "u_bob") == 0;
    s->pw_hidden += u->pwhash[0] == '\0';
    s->ordered += u->id > s->last_id;
    s->last_id = u->id;
}

static void
case_users(struct store *st, struct store *other)
{
    struct store_user u, v;
    ok(store_user_add(st, "u_alice", "$argon2id$a", NOW, &u) == SM_OK && u.id > 0, "%s: user added",
       backend);
    ok(store_user_add(st, "u_alice", "$argon2id$b", NOW, &v) == SM_ECONFLICT,
       "%s: the same name again is SM_ECONFLICT", backend);
    ok(store_user_add(st, "u_bob", "$argon2id$c", NOW + 1, &v) == SM_OK && v.id != u.id,
       "%s: a second user", backend);
    struct store_user got = {0};
    ok(store_user_by_name(st, "u_alice", &got) == SM_OK && got.id == u.id &&
           strcmp(got.pwhash, "$argon2id$a") == 0 && got.created == NOW,
       "%s: by_name finds the user with its hash", backend);
    memset(&got, 0, sizeof got);
    ok(store_user_by_id(st, v.id, &got) == SM_OK && strcmp(got.name, "u_bob") == 0,
       "%s: by_id finds the user", backend);
    ok(store_user_by_name(st, "u_nobody", &got) == SM_ENOTFOUND,
       "%s: an unknown name is SM_ENOTFOUND", backend);
    ok(store_user_by_id(st, 987654321, &got) == SM_ENOTFOUND, "%s: an unknown id is SM_ENOTFOUND",
       backend);
    /* A name that is SQL: bound, so it is only a name. */
    ok(store_user_add(st, "x'); DROP TABLE users; --", "h", NOW, &got) == SM_OK &&
           store_user_by_name(st, "x'); DROP TABLE users; --", &got) == SM_OK,
       "%s: a name that looks like SQL is stored as a name", backend);
    struct user_seen s = {0};
    ok(store_user_list(st, on_user, &s) == SM_OK && s.alice == 1 && s.bob == 1 &&
           s.pw_hidden == s.n && s.ordered == s.n,
       "%s: list has both users in id order, without password hashes", backend);
    diag("%d users listed", s.n);
}

/* ------------------------------------------------------------------ refresh tokens */

static void
case_refresh(struct store *st, struct store *other)
{
    int64_t uid = user(st, "r_carol");
    uint8_t h1[STORE_HASH_LEN], h2[STORE_HASH_LEN], h3[STORE_HASH_LEN], h4[STORE_HASH_LEN];
    uint8_t fam[STORE_FAMILY_LEN], fam2[STORE_FAMILY_LEN];
    fill(h1, sizeof h1, 1);
    fill(h2, sizeof h2, 2);
    fill(h3, sizeof h3, 3);
    fill(h4, sizeof h4, 4);
    fill(fam, sizeof fam, 5);
    fill(fam2, sizeof fam2, 6);
    int64_t who = 0;
    ok(uid > 0 && store_refresh_add(st, h1, uid, fam, NOW + 100, NOW) == SM_OK,
       "%s: refresh token added", backend);
    ok(store_refresh_rotate(st, h1, h2, NOW + 1, NOW + 200, &who) == SM_OK && who == uid,
       "%s: rotate gives the owner", backend);
    ok(store_refresh_rotate(st, h2, h3, NOW + 2, NOW + 300, &who) == SM_OK,
       "%s: the new token rotates in turn", backend);
    /* Reuse of a retired token, on another connection: the family dies. */
    who = 0;
    ok(store_refresh_rotate(other, h1, h4, NOW + 3, NOW + 400, &who) == SM_EAUTH,
       "%s: a retired token is SM_EAUTH", backend);
    ok(store_refresh_rotate(st, h3, h4, NOW + 4, NOW + 400, &who) == SM_EAUTH,
       "%s: its reuse revoked the whole family, the newest token too", backend);
    ok(store_refresh_rotate(st, h4, h1, NOW + 4, NOW + 400, &who) == SM_EAUTH,
       "%s: the token the reuse tried to add does not exist", backend);
    uint8_t unknown[STORE_HASH_LEN];
    fill(unknown, sizeof unknown, 99);
    ok(store_refresh_rotate(st, unknown, h4, NOW, NOW + 100, &who) == SM_EAUTH,
       "%s: an unknown token is SM_EAUTH", backend);
    /* Expired. */
    fill(h1, sizeof h1, 11);
    fill(h2, sizeof h2, 12);
    ok(store_refresh_add(st, h1, uid, fam2, NOW + 10, NOW) == SM_OK &&
           store_refresh_rotate(st, h1, h2, NOW + 10, NOW + 100, &who) == SM_EAUTH,
       "%s: an expired token does not rotate", backend);
    ok(store_refresh_add(st, h1, uid, fam2, NOW + 10, NOW) == SM_ECONFLICT,
       "%s: the same hash twice is SM_ECONFLICT", backend);
    /* Revoke (logout). */
    uint8_t fam3[STORE_FAMILY_LEN];
    fill(fam3, sizeof fam3, 7);
    fill(h3, sizeof h3, 13);
    who = 0;
    ok(store_refresh_add(st, h3, uid, fam3, NOW + 100, NOW) == SM_OK &&
           store_refresh_revoke(st, h3, NOW + 1, &who) == SM_OK && who == uid,
       "%s: revoke gives the owner", backend);
    ok(store_refresh_revoke(st, h3, NOW + 2, &who) == SM_EAUTH,
       "%s: a revoked token does not revoke again", backend);
    ok(store_refresh_rotate(st, h3, h4, NOW + 2, NOW + 100, &who) == SM_EAUTH,
       "%s: a revoked token does not rotate", backend);
    ok(store_refresh_revoke(st, unknown, NOW, &who) == SM_EAUTH,
       "%s: revoking an unknown token is SM_EAUTH", backend);
    fill(h4, sizeof h4, 14);
    ok(store_refresh_add(st, h4, uid, fam3, NOW + 10, NOW) == SM_OK &&
           store_refresh_revoke(st, h4, NOW + 10, &who) == SM_EAUTH,
       "%s: revoking an expired token is SM_EAUTH", backend);
}

/* Two connections rotate the same token at the same moment, each on its own thread:
 * exactly one wins; the other is a reuse, which revokes the family, so the winner's new
 * token is dead too. Rounds make the overlap likely; the outcome must hold in each. */
struct racer {
    struct store *st;
    const uint8_t *old;
    uint8_t new_hash[STORE_HASH_LEN];
    pthread_barrier_t *go;
    enum sm_rc rc;
};

static void *
race_rotate(void *arg)
{
    struct racer *r = arg;
    int64_t who = 0;
    pthread_barrier_wait(r->go);
    r->rc = store_refresh_rotate(r->st, r->old, r->new_hash, NOW + 1, NOW + 200, &who);
    return NULL;
}

#define RACE_ROUNDS 40

static void
case_refresh_race(struct store *st, struct store *other)
{
    int64_t uid = user(st, "race_frank");
    int exact = 0, one_won = 0;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        uint8_t h[STORE_HASH_LEN], fam[STORE_FAMILY_LEN];
        fill(h, sizeof h, 1000 + round * 3);
        fill(fam, sizeof fam, 1000 + round);
        if (store_refresh_add(st, h, uid, fam, NOW + 100, NOW) != SM_OK)
            break;
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        struct racer a = {.st = st, .old = h, .go = &go};
        struct racer b = {.st = other, .old = h, .go = &go};
        fill(a.new_hash, sizeof a.new_hash, 1001 + round * 3);
        fill(b.new_hash, sizeof b.new_hash, 1002 + round * 3);
        pthread_t ta, tb;
        pthread_create(&ta, NULL, race_rotate, &a);
        pthread_create(&tb, NULL, race_rotate, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        int won = (a.rc == SM_OK) + (b.rc == SM_OK);
        int lost = (a.rc == SM_EAUTH) + (b.rc == SM_EAUTH);
        one_won += won == 1 && lost == 1;
        /* Whichever won, its new token was revoked with the family by the loser's reuse. */
        const uint8_t *winner = a.rc == SM_OK ? a.new_hash : b.new_hash;
        uint8_t next[STORE_HASH_LEN];
        fill(next, sizeof next, 5000 + round);
        int64_t who = 0;
        exact += won == 1 &&
                 store_refresh_rotate(st, winner, next, NOW + 2, NOW + 300, &who) == SM_EAUTH;
        if (won != 1 || lost != 1)
            diag("round %d: rotations returned %d and %d", round, (int)a.rc, (int)b.rc);
    }
    ok(uid > 0 && one_won == RACE_ROUNDS,
       "%s: a token rotated on two connections at once: one wins, one is reuse (%d of %d)", backend,
       one_won, RACE_ROUNDS);
    ok(exact == RACE_ROUNDS, "%s: and the reuse revoked the winner's new token (%d of %d)", backend,
       exact, RACE_ROUNDS);
}

/* ------------------------------------------------------------------ agents */

struct agent_seen {
    int n, mine, others;
    int64_t user_id;
};

static void
on_agent(const struct store_agent *a, void *arg)
{
    struct agent_seen *s = arg;
    s->n++;
    if (a->user_id == s->user_id)
        s->mine++;
    else
        s->others++;
}

static void
case_agents(struct store *st, struct store *other)
{
    int64_t dave = user(st, "a_dave"), erin = user(st, "a_erin");
    uint8_t t1[STORE_HASH_LEN], t2[STORE_HASH_LEN], t3[STORE_HASH_LEN], t4[STORE_HASH_LEN];
    fill(t1, sizeof t1, 21);
    fill(t2, sizeof t2, 22);
    fill(t3, sizeof t3, 23);
    fill(t4, sizeof t4, 24);
    struct store_agent a, b, c, got;
    ok(dave > 0 && erin > 0 && store_agent_add(st, dave, "web1", t1, NOW, &a) == SM_OK && a.id > 0,
       "%s: agent added", backend);
    ok(store_agent_add(st, dave, "web1", t2, NOW, &b) == SM_ECONFLICT,
       "%s: the user's agent name again is SM_ECONFLICT", backend);
    ok(store_agent_add(st, erin, "web1", t2, NOW, &b) == SM_OK && b.id != a.id,
       "%s: another user may use the same name", backend);
    ok(store_agent_add(st, erin, "web2", t1, NOW, &c) == SM_ECONFLICT,
       "%s: a token hash in use is SM_ECONFLICT", backend);
    ok(store_agent_get(st, dave, a.id, &got) == SM_OK && got.id == a.id && got.user_id == dave &&
           strcmp(got.name, "web1") == 0 && got.created == NOW && got.last_seen == 0 &&
           got.host == NULL,
       "%s: get returns the agent, never seen, no host facts", backend);
    store_agent_done(&got);
    ok(store_agent_get(st, erin, a.id, &got) == SM_ENOTFOUND,
       "%s: another user's agent is SM_ENOTFOUND", backend);
    ok(store_agent_get(st, dave, 987654321, &got) == SM_ENOTFOUND,
       "%s: an unknown agent is SM_ENOTFOUND", backend);
    struct agent_seen s = {.user_id = dave};
    ok(store_agent_list(st, dave, on_agent, &s) == SM_OK && s.mine == 1 && s.others == 0,
       "%s: list of a user has only its agents", backend);
    struct agent_seen all = {.user_id = dave};
    ok(store_agent_list(st, 0, on_agent, &all) == SM_OK && all.mine == 1 && all.others >= 1,
       "%s: list of user 0 has everyone's", backend);
    ok(store_agent_by_token(st, t1, &got) == SM_OK && got.id == a.id && got.user_id == dave,
       "%s: by_token finds the agent", backend);
    store_agent_done(&got);
    ok(store_agent_by_token(st, t3, &got) == SM_EAUTH, "%s: an unknown token is SM_EAUTH", backend);
    ok(store_agent_set_token(st, erin, a.id, t3) == SM_ENOTFOUND,
       "%s: another user cannot set the token", backend);
    ok(store_agent_set_token(st, dave, a.id, t2) == SM_ECONFLICT,
       "%s: a token in use by another agent is SM_ECONFLICT", backend);
    ok(store_agent_set_token(st, dave, a.id, t3) == SM_OK, "%s: set_token", backend);
    ok(store_agent_by_token(st, t1, &got) == SM_EAUTH, "%s: the old token no longer works",
       backend);
    ok(store_agent_by_token(st, t3, &got) == SM_OK && got.id == a.id,
       "%s: the new token finds the agent", backend);
    store_agent_done(&got);
    ok(store_agent_delete(st, erin, a.id) == SM_ENOTFOUND,
       "%s: another user cannot delete the agent", backend);
    ok(store_agent_get(st, dave, a.id, &got) == SM_OK, "%s: so it is still there", backend);
    store_agent_done(&got);
    ok(store_agent_delete(st, dave, a.id) == SM_OK, "%s: delete", backend);
    ok(store_agent_get(st, dave, a.id, &got) == SM_ENOTFOUND &&
           store_agent_by_token(st, t3, &got) == SM_EAUTH,
       "%s: a deleted agent is gone, its token too", backend);
    ok(store_agent_delete(st, dave, a.id) == SM_ENOTFOUND, "%s: deleting it again is SM_ENOTFOUND",
       backend);
    ok(store_agent_add(st, dave, "web1", t4, NOW, &c) == SM_OK, "%s: its name is free again",
       backend);
}

/* ------------------------------------------------------------------ the table */

/* Every case runs on every backend, in order, on one database: names are unique per
 * case. other is a second connection to the same database. */
static const struct {
    const char *name;
    void (*run)(struct store *st, struct store *other);
} cases[] = {
    {"users", case_users},
    {"refresh", case_refresh},
    {"refresh race", case_refresh_race},
    {"agents", case_agents},
};

static void
run_cases(const char *name, const char *db)
{
    struct store *st = NULL, *other = NULL;
    char *cause = NULL;
    backend = name;
    enum sm_rc rc = store_open(db, &st, &cause);
    if (cause)
        diag("%s: %s", name, cause);
    if (!ok(rc == SM_OK, "%s: opened", name) ||
        !ok(store_open(db, &other, &cause) == SM_OK, "%s: a second connection", name)) {
        free(cause);
        store_free(st);
        return;
    }
    ok(store_ping(st) == SM_OK && store_check(st, &cause) == SM_OK, "%s: ping and check", name);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        diag("%s: %s", name, cases[i].name);
        cases[i].run(st, other);
    }
    store_free(other);
    store_free(st);
}

/* ------------------------------------------------------------------ PostgreSQL only */

static int
contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* PostgreSQL strings are the PostgreSQL backend's; until it is complete, store_open
 * refuses them unless the test-only variable is set. */
static void
pg_gate(void)
{
    static const char *const strings[] = {
        "postgresql://localhost/sm",
        "postgres://u@db.example/sm",
        "host=/tmp dbname=sm",
        "service=sm",
    };
    unsetenv("SM_STORE_PG_TEST");
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        struct store *st = NULL;
        char *cause = NULL;
        ok(store_open(strings[i], &st, &cause) == SM_EINVAL && st == NULL &&
               contains(cause, "not available yet"),
           "refused without the test switch: %s", strings[i]);
        diag("cause: %s", cause ? cause : "none");
        free(cause);
    }
    setenv("SM_STORE_PG_TEST", "1", 1);
}

static void
pg_bad_input(const char *conninfo)
{
    struct store *st = NULL;
    char *cause = NULL;
    /* No server at that socket directory: unavailable, and the password in no message. */
    ok(store_open("postgresql://smuser:s3cretpw@/sm?host=/nonexistent/dir", &st, &cause) ==
               SM_EUNAVAIL &&
           cause && !contains(cause, "s3cretpw"),
       "no server: SM_EUNAVAIL, password not in the message");
    diag("cause: %s", cause ? cause : "none");
    free(cause);
    cause = NULL;
    ok(store_open("host=/nonexistent/dir password=s3cretpw dbname=sm", &st, &cause) ==
               SM_EUNAVAIL &&
           !contains(cause, "s3cretpw"),
       "no server (keyword string): SM_EUNAVAIL, no password in the message");
    free(cause);
    cause = NULL;
    /* A database that does not exist on the right server. */
    char *wrong = NULL;
    size_t n = strlen(conninfo) + 64;
    wrong = malloc(n);
    snprintf(wrong, n, "%s dbname=no_such_db", conninfo);
    ok(store_open(wrong, &st, &cause) == SM_EUNAVAIL && contains(cause, "no_such_db"),
       "a missing database is named");
    diag("cause: %s", cause ? cause : "none");
    free(cause);
    free(wrong);
    cause = NULL;

    /* A newer schema than this smserver's is refused and left alone. */
    PGconn *c = PQconnectdb(conninfo);
    ok(PQstatus(c) == CONNECTION_OK, "direct connection for the schema test");
    PGresult *r = PQexec(c, "UPDATE schema_version SET version = version + 100");
    ok(PQresultStatus(r) == PGRES_COMMAND_OK, "schema_version raised");
    PQclear(r);
    ok(store_open(conninfo, &st, &cause) == SM_EINVAL && contains(cause, "newer"),
       "a newer schema is SM_EINVAL");
    diag("cause: %s", cause ? cause : "none");
    free(cause);
    cause = NULL;
    r = PQexec(c, "UPDATE schema_version SET version = version - 100");
    PQclear(r);
    ok(store_open(conninfo, &st, &cause) == SM_OK, "the right schema opens again");
    free(cause);

    /* The server ends the session (a restart, a failover): the call that finds out
     * fails as unavailable, the next one connects again. */
    r = PQexec(c, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                  " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    ok(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1, "sessions ended");
    PQclear(r);
    struct store_user u;
    ok(store_user_by_name(st, "u_alice", &u) == SM_EUNAVAIL,
       "a lost session is SM_EUNAVAIL for the call that meets it");
    ok(store_user_by_name(st, "u_alice", &u) == SM_OK && strcmp(u.name, "u_alice") == 0,
       "the next call reconnects");
    store_free(st);
    PQfinish(c);
}

int
main(void)
{
    sm_log_init("test_store_pg");
    sm_log_set_level(SM_LOG_ERROR);
    char dir[] = "/tmp/smstorepg.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/statusmonitor.db", dir);
    store_init();

    run_cases("sqlite", path);

    pg_gate();
    const char *conninfo = getenv("SM_TEST_PG");
    if (conninfo && *conninfo) {
        run_cases("postgresql", conninfo);
        pg_bad_input(conninfo);
    } else {
        diag("SM_TEST_PG not set: PostgreSQL cases skipped (tests/integration/store_pg.sh runs "
             "them)");
    }

    unlink(path);
    char side[160];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(dir);
    return tap_done();
}
