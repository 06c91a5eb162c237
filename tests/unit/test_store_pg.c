/* test_store_pg.c: one table of cases for users, refresh tokens, agents, ingest and history, run
 * through store.h against every backend: SQLite always (a file in a temporary directory), and
 * PostgreSQL when SM_TEST_PG holds a libpq connection string (tests/integration/
 * store_pg.sh starts a private cluster and sets it); then samples (batch writes,
 * duplicates, newest values, counts), history (tiers, rollups, late samples) and
 * retention, with the same expectations on both. Also: PostgreSQL strings are the
 * PostgreSQL backend's (never taken as SQLite file paths) and open with no switch, a
 * connection error names no password, a database of a newer schema is refused, and
 * schema 4's rollup keys migrate to covering keys with the same answers. Alert rules,
 * channels and events; leadership and shared rate limits (PostgreSQL only; SQLite has one
 * instance). */
#include "config.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_pg.h"
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

/* ------------------------------------------------------------------ ingest */

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define T0 (NOW * 1000) /* an hour boundary */

static int64_t
agent(struct store *st, int64_t uid, const char *name, int seed) /* seed: unique in the file */
{
    uint8_t t[STORE_HASH_LEN];
    fill(t, sizeof t, seed);
    struct store_agent a;
    if (store_agent_add(st, uid, name, t, NOW, &a) != SM_OK)
        return 0;
    return a.id;
}

/* One group commit of one batch; stored and dups out. */
static enum sm_rc
write1(struct store *st, const struct store_batch *b, size_t *stored, size_t *dups)
{
    char *cause = NULL;
    enum sm_rc rc = store_begin(st);
    if (rc != SM_OK)
        return rc;
    rc = store_batch_write(st, b, stored, dups, &cause);
    if (cause)
        diag("%s: batch: %s", backend, cause);
    free(cause);
    if (rc != SM_OK) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st);
}

struct series_seen {
    int n;
    char names[8][64];
};

static void
on_series(const char *name, const char *labels, void *arg)
{
    struct series_seen *s = arg;
    if (s->n < 8)
        snprintf(s->names[s->n], sizeof s->names[0], "%s{%s}", name, labels);
    s->n++;
}

struct points_seen {
    int64_t agent;
    int n, right;
    char order[160];
};

static void
on_point(int64_t agent_id, const char *agent, const char *user, const char *name,
         const char *labels, double value, void *arg)
{
    struct points_seen *s = arg;
    if (agent_id != s->agent)
        return;
    s->n++;
    s->right += strcmp(agent, "i_web") == 0 && strcmp(user, "i_gina") == 0;
    size_t len = strlen(s->order);
    snprintf(s->order + len, sizeof s->order - len, "%s%s{%s}=%g", len ? " " : "", name, labels,
             value);
}

static void
case_ingest(struct store *st, struct store *other)
{
    int64_t uid = user(st, "i_gina"), aid = agent(st, uid, "i_web", 51);
    int64_t s0 = 0, p0 = 0, s1 = 0, p1 = 0;
    ok(aid > 0 && store_count(st, &s0, &p0) == SM_OK, "%s: ingest: an agent, counts read", backend);
    /* Points out of name order, a repeated series (the first is kept), a non-finite value
     * (left out). */
    struct store_point pa[] = {{"mem.used_percent", "", 50},
                               {"cpu.usage", "", 10},
                               {"cpu.core.usage", "core=1", 11},
                               {"cpu.core.usage", "core=0", 12},
                               {"cpu.usage", "", 99}};
    struct store_point pb[] = {{"cpu.usage", "", 20}, {"mem.used_percent", "", 60}};
    struct store_point pc[] = {{"cpu.usage", "", 30}, {"mem.used_percent", "", 1.0 / 0.0}};
    struct store_sample smp[] = {{T0, 5, pa},
                                 {T0 + 1000, 2, pb},
                                 {T0 + 2000, 2, pc},
                                 /* three days before: its own day partition */
                                 {T0 - 3 * DAY_MS, 2, pb}};
    struct store_batch b = {.agent_id = aid,
                            .now = NOW + 5,
                            .host_json = "{\"hostname\":\"web\"}",
                            .latest_json = "{\"timestamp\":1800000002}",
                            .latest_ts_ms = T0 + 2000,
                            .nsamples = 4,
                            .samples = smp};
    size_t stored = 9, dups = 9;
    ok(write1(st, &b, &stored, &dups) == SM_OK && stored == 4 && dups == 0,
       "%s: a batch of 4 samples is stored (stored %zu, duplicates %zu)", backend, stored, dups);
    ok(store_count(st, &s1, &p1) == SM_OK && s1 - s0 == 4 && p1 - p0 == 4 + 2 + 1 + 2,
       "%s: count: 4 samples, 9 points (one repeated, one not finite) (%lld, %lld)", backend,
       (long long)(s1 - s0), (long long)(p1 - p0));
    /* The agent resends (a lost reply), on another connection: stored once. */
    b.latest_json = "{\"timestamp\":1800000001}";
    b.latest_ts_ms = T0 + 1000;
    ok(write1(other, &b, &stored, &dups) == SM_OK && stored == 0 && dups == 4,
       "%s: the same batch again: 4 duplicates (stored %zu)", backend, stored);
    int64_t s2 = 0, p2 = 0;
    ok(store_count(st, &s2, &p2) == SM_OK && s2 == s1 && p2 == p1,
       "%s: and the counts did not change", backend);
    char *json = NULL;
    ok(store_latest(st, aid, &json) == SM_OK && json &&
           strcmp(json, "{\"timestamp\":1800000002}") == 0,
       "%s: latest is the newest sample, not the older one sent last", backend);
    free(json);
    /* The same ts twice in one batch: once stored, once a duplicate. A resent sample
     * with a new series is a duplicate and makes no series. */
    struct store_point pd[] = {{"cpu.usage", "", 40}, {"new.series", "", 1}};
    struct store_sample twice[] = {{T0 + 3000, 1, pd}, {T0 + 3000, 1, pb}, {T0, 2, pd}};
    struct store_batch b2 = {.agent_id = aid, .now = NOW + 6, .nsamples = 3, .samples = twice};
    ok(write1(st, &b2, &stored, &dups) == SM_OK && stored == 1 && dups == 2,
       "%s: one ts twice in a batch, and an old one: 1 stored, 2 duplicates (%zu, %zu)", backend,
       stored, dups);
    struct series_seen ss = {0};
    ok(store_series_list(st, aid, on_series, &ss) == SM_OK && ss.n == 4 &&
           strcmp(ss.names[0], "cpu.core.usage{core=0}") == 0 &&
           strcmp(ss.names[1], "cpu.core.usage{core=1}") == 0 &&
           strcmp(ss.names[2], "cpu.usage{}") == 0 &&
           strcmp(ss.names[3], "mem.used_percent{}") == 0,
       "%s: series by name then labels, none for a duplicate (%d: %s %s %s %s)", backend, ss.n,
       ss.names[0], ss.names[1], ss.names[2], ss.names[3]);
    struct store_agent got = {0};
    ok(store_agent_get(st, uid, aid, &got) == SM_OK && got.last_seen == NOW + 6 && got.host &&
           strcmp(got.host, "{\"hostname\":\"web\"}") == 0,
       "%s: last_seen from the last batch, host facts kept when a batch has none", backend);
    store_agent_done(&got);
    struct points_seen ps = {.agent = aid};
    ok(store_latest_points(st, on_point, &ps) == SM_OK && ps.n == 1 && ps.right == 1 &&
           strcmp(ps.order, "cpu.usage{}=40") == 0,
       "%s: latest points: the newest sample's values with agent and user names (%s)", backend,
       ps.order);

    /* A batch of a deleted agent fails alone: the group's other batch commits. */
    int64_t gone = agent(st, uid, "i_gone", 52);
    ok(gone > 0 && store_agent_delete(st, uid, gone) == SM_OK, "%s: an agent deleted", backend);
    struct store_sample one[] = {{T0 + 4000, 2, pb}};
    struct store_batch bg = {.agent_id = gone, .now = NOW, .nsamples = 1, .samples = one};
    struct store_batch bo = {.agent_id = aid, .now = NOW + 7, .nsamples = 1, .samples = one};
    char *cause = NULL;
    size_t st2 = 0, du2 = 0;
    enum sm_rc r1 = store_begin(st);
    enum sm_rc r2 = store_batch_write(st, &bg, &stored, &dups, &cause);
    enum sm_rc r3 = store_batch_write(st, &bo, &st2, &du2, NULL);
    enum sm_rc r4 = store_commit(st);
    ok(r1 == SM_OK && r2 != SM_OK && cause && r3 == SM_OK && st2 == 1 && r4 == SM_OK,
       "%s: a deleted agent's batch fails (%s), the next batch still commits", backend,
       cause ? cause : "no cause");
    free(cause);
    int64_t s3 = 0, p3 = 0;
    ok(store_count(st, &s3, &p3) == SM_OK && s3 - s0 == 6, "%s: 6 samples stored in all (%lld)",
       backend, (long long)(s3 - s0));
    /* Deleting the agent deletes its samples. */
    int64_t tmp = agent(st, uid, "i_tmp", 53);
    struct store_batch bt = {.agent_id = tmp, .now = NOW, .nsamples = 2, .samples = smp};
    ok(tmp > 0 && write1(st, &bt, &stored, &dups) == SM_OK && stored == 2 &&
           store_agent_delete(st, uid, tmp) == SM_OK && store_count(st, &s2, &p2) == SM_OK &&
           s2 == s3 && store_latest(st, tmp, &json) == SM_ENOTFOUND,
       "%s: deleting an agent deletes its samples", backend);
    ok(store_series_list(st, tmp, on_series, &(struct series_seen){0}) == SM_OK,
       "%s: and a deleted agent has no series", backend);
}

/* ------------------------------------------------------------------ history */

#define H0 (T0 + 2 * HOUR_MS) /* the history case's first sample */
#define NPOINTS 1080          /* 3 hours at 10 s */

/* The expected aggregate of the case's points in [lo, hi): value i at H0 + 10 s * i. */
static void
expect(int64_t lo, int64_t hi, int64_t *n, double *avg, double *mn, double *mx)
{
    double sum = 0;
    *n = 0;
    for (int64_t i = 0; i < NPOINTS; i++) {
        int64_t t = H0 + i * 10000;
        if (t < lo || t >= hi)
            continue;
        if (*n == 0 || i < *mn)
            *mn = (double)i;
        if (*n == 0 || i > *mx)
            *mx = (double)i;
        sum += (double)i;
        (*n)++;
    }
    *avg = *n ? sum / (double)*n : 0;
}

/* Every bucket of r says what the points of its span say; returns the points seen. */
static int64_t
buckets_right(const struct history_result *r, int64_t start, int64_t stop, int *wrong)
{
    int64_t total = 0;
    *wrong = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct history_bucket *b = &r->b[i];
        int64_t w = r->width_ms;
        int64_t origin = r->tier == HISTORY_RAW ? start : start / w * w;
        int64_t lo = origin + (b->t - origin) / w * w, hi = lo + w;
        if (lo < start)
            lo = start;
        if (hi > stop)
            hi = stop;
        int64_t n;
        double avg, mn, mx;
        expect(lo, hi, &n, &avg, &mn, &mx);
        if (n != b->n || avg != b->avg || mn != b->min || mx != b->max) {
            if (*wrong < 3)
                diag("bucket %zu at %lld: n %lld avg %g min %g max %g, want %lld %g %g %g", i,
                     (long long)b->t, (long long)b->n, b->avg, b->min, b->max, (long long)n, avg,
                     mn, mx);
            (*wrong)++;
        }
        total += b->n;
    }
    return total;
}

static void
case_history(struct store *st, struct store *other)
{
    int64_t uid = user(st, "h_hank"), aid = agent(st, uid, "h_db", 61);
    struct store_sample *smp = calloc(NPOINTS, sizeof *smp);
    struct store_point *pts = calloc(NPOINTS, sizeof *pts);
    for (int i = 0; i < NPOINTS; i++) {
        pts[i] = (struct store_point){"cpu.usage", "", (double)i};
        smp[i] = (struct store_sample){H0 + (int64_t)i * 10000, 1, &pts[i]};
    }
    struct store_batch b = {
        .agent_id = aid, .now = (H0 + 3 * HOUR_MS) / 1000, .nsamples = NPOINTS, .samples = smp};
    size_t stored = 0, dups = 0;
    ok(aid > 0 && write1(st, &b, &stored, &dups) == SM_OK && stored == NPOINTS,
       "%s: history: 3 hours of samples stored", backend);
    struct history_result r;
    int wrong;
    int64_t stop = H0 + 3 * HOUR_MS;
    ok(store_history_query(st, aid, "no.such", "", H0, stop, 100, &r) == SM_ENOTFOUND,
       "%s: an unknown series is SM_ENOTFOUND", backend);
    ok(store_history_query(st, aid, "cpu.usage", "", H0, H0, 100, &r) == SM_EINVAL &&
           store_history_query(st, aid, "cpu.usage", "", H0, stop, 0, &r) == SM_EINVAL,
       "%s: an empty range or 0 points is SM_EINVAL", backend);
    /* Before any rollup: every tier is answered from raw points. */
    enum sm_rc rc = store_history_query(other, aid, "cpu.usage", "", H0, stop, 500, &r);
    ok(rc == SM_OK && r.tier == HISTORY_RAW && buckets_right(&r, H0, stop, &wrong) == NPOINTS &&
           !wrong && r.rows_read == NPOINTS,
       "%s: raw tier, 500 buckets, every one exact (%zu buckets of %lld ms)", backend, r.n,
       (long long)r.width_ms);
    history_result_done(&r);
    rc = store_history_query(st, aid, "cpu.usage", "", H0 + 1234, stop + 30 * MIN_MS, 3, &r);
    ok(rc == SM_OK && r.tier == HISTORY_HOUR && r.n == 2 && r.rows_read >= NPOINTS - 1,
       "%s: an hour tier query before rollups reads raw rows (%zu)", backend, r.rows_read);
    int64_t total = buckets_right(&r, H0 + 1234, stop + 30 * MIN_MS, &wrong);
    int64_t n;
    double avg, mn, mx;
    expect(H0 + 1234, stop + 30 * MIN_MS, &n, &avg, &mn, &mx);
    ok(total == n && !wrong, "%s: and its buckets are exact (%lld of %lld points)", backend,
       (long long)total, (long long)n);
    history_result_done(&r);

    /* Roll up (steps until nothing is left), then the same answers from the tiers. */
    int64_t now = stop + 10 * MIN_MS;
    size_t work = 0, steps = 0, all = 0;
    while (steps < 400 && store_rollup(st, now, 256, &work) == SM_OK && work > 0) {
        steps++;
        all += work;
    }
    ok(steps > 0 && work == 0, "%s: rollup: %zu steps, %zu buckets", backend, steps, all);
    ok(store_history_query(other, aid, "cpu.usage", "", H0, stop, 3, &r) == SM_OK &&
           r.tier == HISTORY_HOUR && r.n == 3 && r.rows_read == 3 &&
           buckets_right(&r, H0, stop, &wrong) == NPOINTS && !wrong,
       "%s: 3 hour buckets from 3 hour rows, exact (%zu rows)", backend, r.rows_read);
    history_result_done(&r);
    ok(store_history_query(st, aid, "cpu.usage", "", H0, stop, 100, &r) == SM_OK &&
           r.tier == HISTORY_MINUTE && r.width_ms == 2 * MIN_MS && r.rows_read == 180 &&
           buckets_right(&r, H0, stop, &wrong) == NPOINTS && !wrong,
       "%s: 2-minute buckets from 180 minute rows, exact (%zu rows)", backend, r.rows_read);
    history_result_done(&r);
    /* Edges finer than the tier come from finer tiers. */
    ok(store_history_query(st, aid, "cpu.usage", "", H0 + 90000, stop - 30000, 2, &r) == SM_OK &&
           r.tier == HISTORY_HOUR,
       "%s: an unaligned range: hour tier", backend);
    total = buckets_right(&r, H0 + 90000, stop - 30000, &wrong);
    expect(H0 + 90000, stop - 30000, &n, &avg, &mn, &mx);
    ok(total == n && !wrong && r.rows_read < 400,
       "%s: its edges from minutes and raw points, exact (%lld points, %zu rows)", backend,
       (long long)total, r.rows_read);
    history_result_done(&r);

    /* A late sample behind the watermark: answered at once (read raw), then re-rolled. */
    struct store_point late_p = {"cpu.usage", "", 5000};
    struct store_sample late = {H0 + 5001, 1, &late_p};
    struct store_batch bl = {.agent_id = aid, .now = stop / 1000, .nsamples = 1, .samples = &late};
    ok(write1(st, &bl, &stored, &dups) == SM_OK && stored == 1, "%s: a late sample stored",
       backend);
    ok(write1(st, &bl, &stored, &dups) == SM_OK && stored == 0 && dups == 1,
       "%s: sent again on the same connection: a duplicate", backend);
    rc = store_history_query(st, aid, "cpu.usage", "", H0, stop, 3, &r);
    ok(rc == SM_OK && r.n == 3 && r.b[0].n == 361 && r.b[0].max == 5000 && r.b[1].n == 360,
       "%s: the query sees it before the re-roll (n %lld, max %g)", backend,
       (long long)(r.n ? r.b[0].n : 0), r.n ? r.b[0].max : 0);
    history_result_done(&r);
    work = 0;
    rc = store_rollup(st, now, 256, &work);
    ok(rc == SM_OK && work >= 1, "%s: the rollup re-rolls the dirty minute (%zu)", backend, work);
    ok(store_history_query(st, aid, "cpu.usage", "", H0, stop, 3, &r) == SM_OK && r.n == 3 &&
           r.b[0].n == 361 && r.b[0].max == 5000 && r.rows_read == 3,
       "%s: and then answers it from 3 hour rows (%zu)", backend, r.rows_read);
    history_result_done(&r);

    /* Retention: raw samples before the cut go (the day three days back whole), nothing
     * after; rollups stay. */
    int64_t s0 = 0, p0 = 0, s1 = 0, p1 = 0;
    const struct history_retention keep = {(double)(now - (H0 + 30 * MIN_MS)) / 1000, 400 * 86400.0,
                                           4000 * 86400.0};
    size_t deleted = 0, more = 0;
    ok(store_count(st, &s0, &p0) == SM_OK && store_retain(st, now, &keep, 64, &deleted) == SM_OK &&
           deleted > 0,
       "%s: retention deleted %zu samples", backend, deleted);
    /* Everything older than H0 + 30 min: the ingest case's 6 samples of agent i_web, and
     * 180 + 1 of this case. */
    ok(store_count(st, &s1, &p1) == SM_OK && s0 - s1 == (int64_t)deleted && deleted == 6 + 181,
       "%s: the count fell by as many (%lld)", backend, (long long)(s0 - s1));
    ok(store_retain(st, now, &keep, 64, &more) == SM_OK && more == 0,
       "%s: a second pass finds nothing", backend);
    ok(store_history_query(st, aid, "cpu.usage", "", H0, H0 + 30 * MIN_MS, 500, &r) == SM_OK &&
           r.n == 0,
       "%s: the raw points before the cut are gone", backend);
    history_result_done(&r);
    ok(store_history_query(st, aid, "cpu.usage", "", H0 + 30 * MIN_MS, stop, 500, &r) == SM_OK &&
           buckets_right(&r, H0 + 30 * MIN_MS, stop, &wrong) == NPOINTS - 180 && !wrong,
       "%s: those after it are all there", backend);
    history_result_done(&r);
    ok(store_history_query(st, aid, "cpu.usage", "", H0, stop, 3, &r) == SM_OK && r.n == 3 &&
           r.b[0].n == 361,
       "%s: the hour rollups outlive the raw points", backend);
    history_result_done(&r);
    /* A sample of the day that retention dropped, on the connection that had made its
     * partition: stored all the same. */
    struct store_sample past = {T0 - 3 * DAY_MS + 1000, 1, &late_p};
    struct store_batch bp = {.agent_id = aid, .now = stop / 1000, .nsamples = 1, .samples = &past};
    ok(write1(st, &bp, &stored, &dups) == SM_OK && stored == 1,
       "%s: a sample of a day past retention is stored", backend);
    free(smp);
    free(pts);
}

/* ------------------------------------------------------------------ alerts */

struct rule_seen {
    int n, mine, others;
    int64_t user_id, last_id, ordered;
};

static void
on_rule(const struct store_rule *r, void *arg)
{
    struct rule_seen *s = arg;
    s->n++;
    s->mine += r->user_id == s->user_id;
    s->others += r->user_id != s->user_id;
    s->ordered += r->id > s->last_id;
    s->last_id = r->id;
}

struct channel_seen {
    int n;
    struct store_channel last;
};

static void
on_channel(const struct store_channel *c, void *arg)
{
    struct channel_seen *s = arg;
    s->n++;
    s->last = *c;
}

struct event_seen {
    int n;
    int64_t ids[16];
    char states[16][16];
};

static void
on_event(const struct store_alert_event *e, void *arg)
{
    struct event_seen *s = arg;
    if (s->n < 16) {
        s->ids[s->n] = e->id;
        snprintf(s->states[s->n], sizeof s->states[0], "%s", e->state);
    }
    s->n++;
}

static struct store_rule
a_rule(int64_t user_id, const char *name, int64_t agent_id, int64_t channel_id)
{
    struct store_rule r = {0};
    r.user_id = user_id;
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.metric, sizeof r.metric, "cpu.usage");
    snprintf(r.labels, sizeof r.labels, "core=3");
    r.op = '<';
    r.threshold = 12.345678901234567;
    r.for_seconds = 60;
    r.resolve_seconds = 30;
    r.agent_id = agent_id;
    snprintf(r.severity, sizeof r.severity, "critical");
    r.channel_id = channel_id;
    r.created = NOW;
    r.updated = NOW;
    return r;
}

static void
case_rules(struct store *st, struct store *other)
{
    int64_t gil = user(st, "al_gil"), hal = user(st, "al_hal");
    uint8_t t[STORE_HASH_LEN];
    fill(t, sizeof t, 31);
    struct store_agent ag;
    ok(gil > 0 && hal > 0 && store_agent_add(st, gil, "db1", t, NOW, &ag) == SM_OK,
       "%s: rule owners and an agent", backend);
    struct store_rule r = a_rule(gil, "hot core", ag.id, 0), got;
    ok(store_rule_add(st, &r) == SM_OK && r.id > 0, "%s: rule added", backend);
    struct store_rule any = a_rule(gil, "any agent", 0, 0);
    any.op = '>';
    ok(store_rule_add(st, &any) == SM_OK && any.id > r.id, "%s: a rule for every agent", backend);
    memset(&got, 0, sizeof got);
    ok(store_rule_get(other, gil, r.id, &got) == SM_OK && got.id == r.id && got.user_id == gil &&
           strcmp(got.name, "hot core") == 0 && strcmp(got.metric, "cpu.usage") == 0 &&
           strcmp(got.labels, "core=3") == 0 && got.op == '<' &&
           got.threshold == 12.345678901234567 && got.for_seconds == 60 &&
           got.resolve_seconds == 30 && got.agent_id == ag.id &&
           strcmp(got.severity, "critical") == 0 && got.channel_id == 0 && got.created == NOW &&
           got.updated == NOW,
       "%s: get returns every field, the threshold exactly, on another connection", backend);
    ok(store_rule_get(st, gil, any.id, &got) == SM_OK && got.agent_id == 0 && got.op == '>',
       "%s: agent 0 (every agent) and '>' come back", backend);
    ok(store_rule_get(st, hal, r.id, &got) == SM_ENOTFOUND,
       "%s: another user's rule is SM_ENOTFOUND", backend);
    struct store_rule bad = a_rule(gil, "no such agent", 987654321, 0);
    ok(store_rule_add(st, &bad) != SM_OK, "%s: a rule for an unknown agent is refused", backend);
    r.threshold = -0.5;
    r.op = '>';
    snprintf(r.name, sizeof r.name, "x'); DROP TABLE alert_rules; --");
    r.updated = NOW + 5;
    r.created = NOW + 99; /* update keeps created */
    ok(store_rule_update(st, &r) == SM_OK && store_rule_get(st, gil, r.id, &got) == SM_OK &&
           got.threshold == -0.5 && got.op == '>' && got.updated == NOW + 5 && got.created == NOW &&
           strcmp(got.name, r.name) == 0,
       "%s: update replaces the fields but created; a name that is SQL is a name", backend);
    struct store_rule hals = r;
    hals.user_id = hal;
    ok(store_rule_update(st, &hals) == SM_ENOTFOUND, "%s: another user cannot update it", backend);
    struct store_rule theirs = a_rule(hal, "hal's", 0, 0);
    ok(store_rule_add(st, &theirs) == SM_OK, "%s: another user's rule", backend);
    struct rule_seen s = {.user_id = gil};
    ok(store_rule_list(st, gil, on_rule, &s) == SM_OK && s.mine == 2 && s.others == 0 &&
           s.ordered == 2,
       "%s: list of a user has its rules, by id", backend);
    struct rule_seen all = {.user_id = gil};
    ok(store_rule_list(st, 0, on_rule, &all) == SM_OK && all.mine == 2 && all.others >= 1 &&
           all.ordered == all.n,
       "%s: list of user 0 has everyone's, by id", backend);
    int64_t n = -1;
    ok(store_rule_count(st, gil, &n) == SM_OK && n == 2, "%s: count", backend);
    ok(store_rule_delete(st, hal, r.id) == SM_ENOTFOUND, "%s: another user cannot delete the rule",
       backend);
    ok(store_rule_delete(st, gil, r.id) == SM_OK &&
           store_rule_get(st, gil, r.id, &got) == SM_ENOTFOUND,
       "%s: delete", backend);
    ok(store_rule_delete(st, gil, r.id) == SM_ENOTFOUND, "%s: deleting it again is SM_ENOTFOUND",
       backend);
    ok(store_agent_delete(st, gil, ag.id) == SM_OK && store_rule_count(st, gil, &n) == SM_OK &&
           n == 1,
       "%s: deleting the agent deletes its rules, not the every-agent one", backend);
}

static void
case_channels(struct store *st, struct store *other)
{
    int64_t ida = user(st, "ch_ida"), jon = user(st, "ch_jon");
    struct store_channel c = {0}, got;
    c.user_id = ida;
    snprintf(c.name, sizeof c.name, "ops");
    snprintf(c.kind, sizeof c.kind, "webhook");
    snprintf(c.url, sizeof c.url, "https://hooks.example/a?b=c");
    snprintf(c.chat_id, sizeof c.chat_id, "-100123");
    for (size_t i = 0; i < 40; i++)
        c.secret[i] = (uint8_t)(i * 7); /* a zero byte first: binary, not text */
    c.secret_len = 40;
    c.created = NOW;
    ok(ida > 0 && jon > 0 && store_channel_add(st, &c) == SM_OK && c.id > 0, "%s: channel added",
       backend);
    struct store_channel dup = c;
    ok(store_channel_add(st, &dup) == SM_ECONFLICT,
       "%s: the user's channel name again is SM_ECONFLICT", backend);
    dup.user_id = jon;
    dup.secret_len = 0;
    ok(store_channel_add(st, &dup) == SM_OK && dup.id != c.id,
       "%s: another user may use the name, with an empty secret", backend);
    memset(&got, 0, sizeof got);
    ok(store_channel_get(other, ida, c.id, &got) == SM_OK && got.user_id == ida &&
           strcmp(got.name, "ops") == 0 && strcmp(got.kind, "webhook") == 0 &&
           strcmp(got.url, c.url) == 0 && strcmp(got.chat_id, "-100123") == 0 &&
           got.secret_len == 40 && memcmp(got.secret, c.secret, 40) == 0 && got.created == NOW,
       "%s: get returns every field, the secret byte for byte", backend);
    ok(store_channel_get(st, jon, c.id, &got) == SM_ENOTFOUND,
       "%s: another user's channel is SM_ENOTFOUND", backend);
    ok(store_channel_get(st, jon, dup.id, &got) == SM_OK && got.secret_len == 0,
       "%s: the empty secret stays empty", backend);
    uint8_t sealed[STORE_SECRET_MAX];
    memset(sealed, 0xab, sizeof sealed);
    ok(store_channel_set_secret(st, jon, c.id, sealed, 10) == SM_ENOTFOUND,
       "%s: another user cannot set the secret", backend);
    ok(store_channel_set_secret(st, ida, c.id, sealed, sizeof sealed) == SM_OK &&
           store_channel_get(st, ida, c.id, &got) == SM_OK && got.secret_len == sizeof sealed &&
           memcmp(got.secret, sealed, sizeof sealed) == 0,
       "%s: set_secret replaces it, the largest size too", backend);
    struct channel_seen s = {0};
    ok(store_channel_list(st, ida, on_channel, &s) == SM_OK && s.n == 1 && s.last.id == c.id,
       "%s: list has only the user's channels", backend);
    int64_t n = -1;
    ok(store_channel_count(st, ida, &n) == SM_OK && n == 1, "%s: count", backend);
    /* A rule that sends to the channel loses it when the channel goes. */
    struct store_rule r = a_rule(ida, "via ops", 0, c.id);
    ok(store_rule_add(st, &r) == SM_OK && store_rule_get(st, ida, r.id, &r) == SM_OK &&
           r.channel_id == c.id,
       "%s: a rule with a channel", backend);
    ok(store_channel_delete(st, jon, c.id) == SM_ENOTFOUND,
       "%s: another user cannot delete the channel", backend);
    ok(store_channel_delete(st, ida, c.id) == SM_OK &&
           store_channel_get(st, ida, c.id, &got) == SM_ENOTFOUND,
       "%s: delete", backend);
    ok(store_rule_get(st, ida, r.id, &r) == SM_OK && r.channel_id == 0,
       "%s: the rule stays, without a channel", backend);
    ok(store_channel_delete(st, ida, c.id) == SM_ENOTFOUND, "%s: deleting it again is SM_ENOTFOUND",
       backend);
}

static struct store_alert_event
an_event(int64_t rule_id, int64_t agent_id, const char *labels, const char *state, int64_t at)
{
    struct store_alert_event e = {0};
    e.rule_id = rule_id;
    e.agent_id = agent_id;
    snprintf(e.labels, sizeof e.labels, "%s", labels);
    snprintf(e.state, sizeof e.state, "%s", state);
    e.value = 97.25;
    e.ts_ms = at * 1000 + 250;
    e.at = at;
    return e;
}

static void
case_events(struct store *st, struct store *other)
{
    int64_t kim = user(st, "ev_kim"), lea = user(st, "ev_lea");
    uint8_t t1[STORE_HASH_LEN], t2[STORE_HASH_LEN];
    fill(t1, sizeof t1, 41);
    fill(t2, sizeof t2, 42);
    struct store_agent a1, a2;
    ok(kim > 0 && lea > 0 && store_agent_add(st, kim, "ev1", t1, NOW, &a1) == SM_OK &&
           store_agent_add(st, lea, "ev2", t2, NOW, &a2) == SM_OK,
       "%s: two users with an agent each", backend);
    struct store_rule rk = a_rule(kim, "kim's", 0, 0), rl = a_rule(lea, "lea's", 0, 0);
    ok(store_rule_add(st, &rk) == SM_OK && store_rule_add(st, &rl) == SM_OK, "%s: a rule each",
       backend);
    struct store_alert_event e = an_event(rk.id, a1.id, "core=1", "pending", NOW);
    ok(store_alert_event_add(st, &e) == SM_OK, "%s: event added", backend);
    e = an_event(rk.id, a1.id, "core=1", "firing", NOW + 1);
    ok(store_alert_event_add(st, &e) == SM_OK, "%s: the next state", backend);
    e = an_event(rk.id, a1.id, "core=2", "firing", NOW + 2);
    ok(store_alert_event_add(st, &e) == SM_OK, "%s: another series of the same rule", backend);
    e = an_event(rk.id, a1.id, "core=2", "resolved", NOW + 3);
    ok(store_alert_event_add(st, &e) == SM_OK, "%s: which resolves", backend);
    e = an_event(rl.id, a2.id, "", "pending", NOW + 4);
    ok(store_alert_event_add(st, &e) == SM_OK, "%s: the other user's event", backend);
    e = an_event(987654321, a1.id, "", "firing", NOW);
    ok(store_alert_event_add(st, &e) == SM_ENOTFOUND, "%s: an unknown rule is SM_ENOTFOUND",
       backend);
    e = an_event(rk.id, 987654321, "", "firing", NOW);
    ok(store_alert_event_add(st, &e) == SM_ENOTFOUND, "%s: an unknown agent is SM_ENOTFOUND",
       backend);

    struct event_seen s = {0};
    ok(store_alert_events(other, rk.id, 3, on_event, &s) == SM_OK && s.n == 3 &&
           s.ids[0] > s.ids[1] && s.ids[1] > s.ids[2] && strcmp(s.states[0], "resolved") == 0,
       "%s: events of a rule, newest first, at most limit", backend);
    struct event_seen act = {0};
    ok(store_alert_active(st, kim, on_event, &act) == SM_OK && act.n == 1 &&
           strcmp(act.states[0], "firing") == 0,
       "%s: active: the newest state of each series when pending or firing, the user's", backend);
    struct event_seen every = {0};
    ok(store_alert_active(st, 0, on_event, &every) == SM_OK && every.n >= 2,
       "%s: active of user 0 has everyone's", backend);
    /* Prune: older than NOW + 1 goes; of the rule, the newest 2 stay. */
    ok(store_alert_events_prune(st, NOW + 1, rk.id, 2) == SM_OK, "%s: prune", backend);
    struct event_seen left = {0};
    ok(store_alert_events(st, rk.id, 10, on_event, &left) == SM_OK && left.n == 2 &&
           strcmp(left.states[0], "resolved") == 0 && strcmp(left.states[1], "firing") == 0,
       "%s: prune kept the newest events of the rule", backend);
    struct event_seen theirs = {0};
    ok(store_alert_events(st, rl.id, 10, on_event, &theirs) == SM_OK && theirs.n == 1,
       "%s: and did not touch another rule's younger events", backend);
    ok(store_alert_events_prune(st, 0, rk.id, 0) == SM_OK &&
           store_alert_events(st, rk.id, 10, on_event, &(struct event_seen){0}) == SM_OK,
       "%s: prune keeping 0 is not an error", backend);
    ok(store_rule_delete(st, kim, rk.id) == SM_OK, "%s: the rule goes", backend);
    struct event_seen gone = {0};
    ok(store_alert_events(st, rk.id, 10, on_event, &gone) == SM_OK && gone.n == 0,
       "%s: with its events", backend);
}

/* ------------------------------------------------------------------ several instances */

static void
case_leader(struct store *st, struct store *other)
{
    int first = store_leader(st, STORE_LEAD_ALERTS);
    ok(first == 1, "%s: the first to ask leads", backend);
    ok(store_leader(st, STORE_LEAD_ALERTS) == 1, "%s: and keeps leading when it asks again",
       backend);
    if (strcmp(backend, "sqlite") == 0) {
        ok(store_leader(other, STORE_LEAD_ALERTS) == 1, "sqlite: one instance: always the leader");
        return;
    }
    ok(store_leader(other, STORE_LEAD_ALERTS) == 0,
       "%s: another connection does not lead the same job", backend);
    ok(store_leader(other, STORE_LEAD_MAINTENANCE) == 1, "%s: but may lead another job", backend);
    ok(store_leader(st, STORE_LEAD_MAINTENANCE) == 0, "%s: which the first then does not", backend);
}

static void
case_limits(struct store *st, struct store *other)
{
    int wait = -1;
    enum sm_rc rc = store_limit_check(st, "user", "lim_mo", 3, 60, NOW, &wait);
    if (strcmp(backend, "sqlite") == 0) {
        ok(rc == SM_ENOTFOUND && wait == 0 &&
               store_limit_fail(st, "user", "lim_mo", 60, NOW) == SM_ENOTFOUND,
           "sqlite: no shared rate limits (the process counts)");
        return;
    }
    ok(rc == SM_OK && wait == 0, "%s: a key never seen may try", backend);
    /* Failures counted on both connections add up. */
    ok(store_limit_fail(st, "user", "lim_mo", 60, NOW) == SM_OK &&
           store_limit_fail(other, "user", "lim_mo", 60, NOW + 1) == SM_OK &&
           store_limit_check(st, "user", "lim_mo", 3, 60, NOW + 2, &wait) == SM_OK && wait == 0,
       "%s: two failures of three allowed: may try", backend);
    ok(store_limit_fail(other, "user", "lim_mo", 60, NOW + 2) == SM_OK &&
           store_limit_check(st, "user", "lim_mo", 3, 60, NOW + 10, &wait) == SM_OK && wait == 51,
       "%s: the third, on the other connection: wait until the window ends (%d s)", backend, wait);
    ok(store_limit_check(st, "addr", "lim_mo", 3, 60, NOW + 10, &wait) == SM_OK && wait == 0,
       "%s: the same key of another kind is apart", backend);
    ok(store_limit_check(other, "user", "lim_mo", 3, 60, NOW + 60, &wait) == SM_OK && wait == 0,
       "%s: after the window, may try again", backend);
    ok(store_limit_fail(st, "user", "lim_mo", 60, NOW + 61) == SM_OK &&
           store_limit_check(st, "user", "lim_mo", 1, 60, NOW + 62, &wait) == SM_OK && wait > 0 &&
           store_limit_check(st, "user", "lim_mo", 2, 60, NOW + 62, &wait) == SM_OK && wait == 0,
       "%s: a failure after the window starts a new count", backend);
    ok(store_limit_reset(other, "user", "lim_mo") == SM_OK &&
           store_limit_check(st, "user", "lim_mo", 1, 60, NOW + 62, &wait) == SM_OK && wait == 0,
       "%s: reset clears the count", backend);
}

/* ------------------------------------------------------------------ the table */

/* Every case runs on every backend, in order, on one database: names are unique per
 * case. other is a second connection to the same database. */
static const struct {
    const char *name;
    void (*run)(struct store *st, struct store *other);
} cases[] = {
    {"users", case_users},   {"refresh", case_refresh},   {"refresh race", case_refresh_race},
    {"agents", case_agents}, {"ingest", case_ingest},     {"history", case_history},
    {"rules", case_rules},   {"channels", case_channels}, {"events", case_events},
    {"leader", case_leader}, {"limits", case_limits},
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

/* PostgreSQL strings are the PostgreSQL backend's: with no server behind them the error
 * is PostgreSQL's, never a SQLite file made under that name. The former test-only switch
 * (SM_STORE_PG_TEST, gone) changes nothing: it is unset here. */
static void
pg_claimed(void)
{
    static const char *const strings[] = {
        "postgresql:///sm?host=/nonexistent/dir",
        "postgres://u@/sm?host=/nonexistent/dir",
        "host=/nonexistent/dir dbname=sm",
        "service=sm_no_such_service",
        /* libpq cannot parse these: still its to refuse, not a file name for SQLite. */
        "host=/nonexistent/dir password=s3cretpw dbname",
        "host=/nonexistent/dir password='s3cretpw dbname=sm",
        "  user = u host=/nonexistent/dir nosuchkeyword=1",
    };
    unsetenv("SM_STORE_PG_TEST");
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        struct store *st = NULL;
        char *cause = NULL;
        enum sm_rc rc = store_open(strings[i], &st, &cause);
        ok(rc != SM_OK && st == NULL && contains(cause, "postgresql") &&
               !contains(cause, "not available") && access(strings[i], F_OK) != 0,
           "the PostgreSQL backend's, not a file: %s", strings[i]);
        diag("cause: %s", cause ? cause : "none");
        free(cause);
        store_free(st);
    }
}

/* libpq's messages on one line, and any password the string holds masked, even where
 * libpq echoes the part of a string it could not parse. */
static void
pg_messages(void)
{
    static const struct {
        const char *msg, *db, *want;
    } msgs[] = {
        {"server closed the connection unexpectedly\n\tThis probably means\n", "dbname=x",
         "server closed the connection unexpectedly This probably means"},
        {"FATAL:  password authentication failed for user \"u\"\npassword retrieved from file "
         "\"/p\"\n",
         "dbname=x",
         "FATAL:  password authentication failed for user \"u\"; password retrieved "
         "from file \"/p\""},
        {"invalid percent-encoded token: \"s3c%zzret\"\n", "postgresql://u:s3c%zzret@/db",
         "invalid percent-encoded token: \"***\""},
        {"IPv6 host address in URI: \"postgresql://u:s3cret@[::1/db\"\n",
         "postgresql://u:s3cret@[::1/db",
         "IPv6 host address in URI: \"postgresql://u:***@[::1/db\""},
        {"bad: s3cret", "postgresql://u@/db?host=/x&password=s3cret", "bad: ***"},
        {"bad: s3cret", "host=/x password = s3cret dbname=db", "bad: ***"},
        {"bad: s3 'cret", "host=/x password='s3 \\'cret' dbname", "bad: ***"},
        {"user u, db mypassword", "host=/x user=u dbname=mypassword", "user u, db mypassword"},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char *got = store_pg_message(msgs[i].msg, msgs[i].db);
        ok(strcmp(got, msgs[i].want) == 0, "message %zu: %s", i, got);
        free(got);
    }
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

/* Migration 5 on a database that has rollups: schema 4's plain keys on the rollup
 * tiers (made here by hand from schema 5) become covering keys, and the same queries
 * answer the same buckets after it as before. */
static int
same_answer(const struct history_result *a, const struct history_result *b)
{
    if (a->n != b->n || a->tier != b->tier || a->width_ms != b->width_ms)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->b[i].t != b->b[i].t || a->b[i].n != b->b[i].n || a->b[i].min != b->b[i].min ||
            a->b[i].max != b->b[i].max || a->b[i].avg != b->b[i].avg)
            return 0;
    return 1;
}

static void
pg_covering_upgrade(const char *conninfo)
{
    struct store *st = NULL;
    char *cause = NULL;
    if (!ok(store_open(conninfo, &st, &cause) == SM_OK, "open for the rollup key migration")) {
        free(cause);
        return;
    }
    uint8_t h[STORE_HASH_LEN];
    fill(h, sizeof h, 4242);
    struct store_user u;
    struct store_agent a;
    ok(store_user_add(st, "u_covering", "x", NOW, &u) == SM_OK &&
           store_agent_add(st, u.id, "covering", h, NOW, &a) == SM_OK,
       "an agent for the rollup key migration");
    /* Three hours of 10 s samples, 2 series, rolled up. */
    int64_t t0 = (NOW - 4 * 3600) * 1000, t1 = t0 + 3 * 3600 * 1000;
    size_t ns = (size_t)((t1 - t0) / 10000);
    struct store_sample *smp = calloc(ns, sizeof *smp);
    struct store_point *pts = calloc(ns * 2, sizeof *pts);
    for (size_t i = 0; i < ns; i++) {
        pts[2 * i] = (struct store_point){"cpu.usage", "", (double)(i % 97)};
        pts[2 * i + 1] = (struct store_point){"mem.used_percent", "", (double)(i % 13)};
        smp[i] = (struct store_sample){
            .ts_ms = t0 + (int64_t)i * 10000, .npoints = 2, .points = &pts[2 * i]};
    }
    struct store_batch b = {.agent_id = a.id, .now = NOW, .nsamples = ns, .samples = smp};
    size_t stored = 0, dups = 0, work = 1;
    ok(store_begin(st) == SM_OK && store_batch_write(st, &b, &stored, &dups, &cause) == SM_OK &&
           store_commit(st) == SM_OK && stored == ns,
       "%zu samples written", ns);
    enum sm_rc rc = SM_OK;
    for (int i = 0; i < 100 && work > 0 && rc == SM_OK; i++)
        rc = store_rollup(st, NOW * 1000, 100000, &work);
    ok(rc == SM_OK && work == 0, "rolled up");
    struct history_result m0 = {0}, h0 = {0}, m1 = {0}, h1 = {0};
    ok(store_history_query(st, a.id, "cpu.usage", "", t0, t1, 100, &m0) == SM_OK &&
           m0.tier == HISTORY_MINUTE &&
           store_history_query(st, a.id, "cpu.usage", "", t0, t1, 2, &h0) == SM_OK &&
           h0.tier == HISTORY_HOUR,
       "minute and hour answers before");
    store_free(st);
    st = NULL;

    /* Back to schema 4's keys, as a database made by an older smserver has them; schema
     * 6's chunk tables go too (the answers compared come from the rollup tiers). */
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, "BEGIN;"
                            "DROP TABLE chunks, chunk_samples;"
                            "DROP FUNCTION sm_samples_trim(bigint);"
                            "ALTER TABLE rollup_1m DROP CONSTRAINT rollup_1m_pkey,"
                            " ADD PRIMARY KEY (series_id, bucket);"
                            "ALTER TABLE rollup_1h DROP CONSTRAINT rollup_1h_pkey,"
                            " ADD PRIMARY KEY (series_id, bucket);"
                            "ALTER TABLE rollup_1m RESET (autovacuum_vacuum_insert_scale_factor,"
                            " autovacuum_vacuum_scale_factor);"
                            "UPDATE schema_version SET version = 4; COMMIT");
    ok(PQresultStatus(r) == PGRES_COMMAND_OK, "schema 4's rollup keys restored");
    PQclear(r);
    ok(store_open(conninfo, &st, &cause) == SM_OK, "schema 4 opens and migrates");
    free(cause);
    cause = NULL;
    r = PQexec(c, "SELECT (SELECT version FROM schema_version),"
                  " (SELECT count(*) FROM pg_indexes WHERE indexname IN"
                  " ('rollup_1m_pkey', 'rollup_1h_pkey')"
                  " AND indexdef LIKE '%INCLUDE (n, sum, min, max)%'),"
                  " (SELECT count(*) FROM pg_class WHERE relname = 'rollup_1m'"
                  " AND 'autovacuum_vacuum_insert_scale_factor=0.02' = ANY(reloptions))");
    ok(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "6") == 0 &&
           strcmp(PQgetvalue(r, 0, 1), "2") == 0 && strcmp(PQgetvalue(r, 0, 2), "1") == 0,
       "schemas 5 and 6: both rollup keys cover the aggregates, autovacuum set");
    PQclear(r);
    r = PQexec(c, "SELECT count(*) FROM pg_class WHERE relname IN ('chunks', 'chunk_samples')");
    ok(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "2") == 0,
       "schema 6: the chunk tables are made again");
    PQclear(r);
    PQfinish(c);
    ok(st && store_history_query(st, a.id, "cpu.usage", "", t0, t1, 100, &m1) == SM_OK &&
           store_history_query(st, a.id, "cpu.usage", "", t0, t1, 2, &h1) == SM_OK &&
           same_answer(&m0, &m1) && same_answer(&h0, &h1) && m1.n >= 80 && h1.n >= 2,
       "the same %zu minute and %zu hour buckets after the migration", m1.n, h1.n);
    history_result_done(&m0);
    history_result_done(&h0);
    history_result_done(&m1);
    history_result_done(&h1);
    store_agent_done(&a);
    free(smp);
    free(pts);
    store_free(st);
}

/* ------------------------------------------------------------------ chunks */

/* Sealed chunks on PostgreSQL (store_pg_chunks.c), on a database of their own (its
 * watermark starts at the samples): 9 hours of 10 s samples across a day boundary, two
 * series (one on every other sample only), rolled up and sealed; the answers before and
 * after, resent and late samples, retention through a sealed window, damage. */
#define CK_N 3240 /* 9 hours at 10 s */

static int64_t ck_b; /* the day boundary; samples from ck_b - 6 h */

static int64_t
ck_t(size_t i)
{
    return ck_b - 6 * HOUR_MS + (int64_t)i * 10000;
}

static int
ck_query(struct store *st, int64_t aid, const char *name, int64_t lo, int64_t hi, size_t points,
         struct history_result *r)
{
    memset(r, 0, sizeof *r);
    return store_history_query(st, aid, name, "", lo, hi, points, r) == SM_OK;
}

static int64_t
ck_total(const struct history_result *r, double *mx)
{
    int64_t n = 0;
    *mx = 0;
    for (size_t i = 0; i < r->n; i++) {
        n += r->b[i].n;
        if (r->b[i].max > *mx)
            *mx = r->b[i].max;
    }
    return n;
}

static int64_t
ck_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                    ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                    : -1;
    if (v < 0)
        diag("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return v;
}

static size_t
ck_roll(struct store *st, int64_t now)
{
    size_t work = 1, steps = 0;
    while (steps < 2000 && work > 0 && store_rollup(st, now, 256, &work) == SM_OK)
        steps++;
    return work == 0 ? steps : 0;
}

/* A batch written on a connection of its own (the agent's lock test below). */
struct ck_writer {
    struct store *st;
    const struct store_batch *b;
    size_t stored;
    _Atomic int done;
};

static void *
ck_write(void *arg)
{
    struct ck_writer *w = arg;
    size_t dups = 0;
    if (write1(w->st, w->b, &w->stored, &dups) != SM_OK)
        w->stored = 0;
    atomic_store(&w->done, 1);
    return NULL;
}

static void
pg_chunks(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQexec(c, "DROP DATABASE IF EXISTS smchunks");
    PQclear(r);
    r = PQexec(c, "CREATE DATABASE smchunks");
    int made = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    char info[512];
    snprintf(info, sizeof info, "%s dbname=smchunks", conninfo);
    struct store *st = NULL;
    char *cause = NULL;
    if (!ok(made && store_open(info, &st, &cause) == SM_OK, "chunks: a database of their own")) {
        free(cause);
        return;
    }
    c = PQconnectdb(info);
    ck_b = NOW * 1000 / DAY_MS * DAY_MS;
    int64_t uid = user(st, "c_cora"), aid = agent(st, uid, "c_host", 71);
    struct store_sample *smp = calloc(CK_N, sizeof *smp);
    struct store_point *pts = calloc(2 * CK_N, sizeof *pts);
    for (size_t i = 0; i < CK_N; i++) {
        pts[2 * i] = (struct store_point){"cpu.usage", "", (double)(i % 97) * 0.25};
        pts[2 * i + 1] = (struct store_point){"net.rx", "", (double)i * 1.5};
        smp[i] = (struct store_sample){ck_t(i), i % 2 ? 1 : 2, &pts[2 * i]};
    }
    int64_t now = ck_t(CK_N - 1) + 10 * MIN_MS;
    struct store_batch b = {.agent_id = aid, .now = now / 1000, .nsamples = CK_N, .samples = smp};
    size_t stored = 0, dups = 0;
    ok(aid > 0 && write1(st, &b, &stored, &dups) == SM_OK && stored == CK_N,
       "chunks: %d samples over 9 hours stored", CK_N);
    /* The answers from rows: raw, minute and hour shapes, across the day boundary. */
    struct {
        const char *name;
        int64_t lo, hi;
        size_t points;
    } q[] = {
        {"cpu.usage", ck_b - 5 * HOUR_MS - 1234, ck_b - 4 * HOUR_MS + 30 * MIN_MS, 1000},
        {"net.rx", ck_b - HOUR_MS, ck_b + HOUR_MS, 2000},
        {"cpu.usage", ck_b - 6 * HOUR_MS, ck_b, 120},
        {"net.rx", ck_b - 6 * HOUR_MS, ck_b + 3 * HOUR_MS, 9},
    };
    enum { NQ = sizeof q / sizeof q[0] };
    struct history_result before[NQ], after;
    int okq = 1;
    for (int i = 0; i < NQ; i++)
        okq &= ck_query(st, aid, q[i].name, q[i].lo, q[i].hi, q[i].points, &before[i]);
    ok(okq && before[0].tier == HISTORY_RAW && before[1].tier == HISTORY_RAW,
       "chunks: four answers from rows (two raw)");
    int64_t s0 = -1, p0 = -1, s1 = -1, p1 = -1;
    enum sm_rc crc = store_count(st, &s0, &p0);
    ok(crc == SM_OK && s0 == CK_N && p0 == CK_N + CK_N / 2, "chunks: %lld samples, %lld points",
       (long long)s0, (long long)p0);

    /* Rolled up and sealed: every window but the newest. */
    ok(ck_roll(st, now) > 0, "chunks: rollup steps until nothing is left");
    ok(ck_sql(c, "SELECT count(*) FROM chunk_samples") == 4 &&
           ck_sql(c, "SELECT count(*) FROM chunks") == 8 &&
           ck_sql(c, "SELECT count(*) FROM chunks WHERE ix") == 8,
       "chunks: 4 windows sealed, one chunk a series, positions in the sample times");
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts < %lld",
             (long long)(ck_b + 2 * HOUR_MS));
    ok(ck_sql(c, sql) == 0, "chunks: no row left in the sealed windows");
    snprintf(sql, sizeof sql, "SELECT pg_relation_size('samples_d%lld')",
             (long long)(ck_b / DAY_MS - 1));
    ok(ck_sql(c, sql) == 0, "chunks: the sealed day's partition gave its pages back");
    crc = store_count(st, &s1, &p1);
    ok(crc == SM_OK && s1 == s0 && p1 == p0,
       "chunks: the counts are the same (%lld samples, %lld points)", (long long)s1, (long long)p1);
    for (int i = 0; i < NQ; i++) {
        int got = ck_query(st, aid, q[i].name, q[i].lo, q[i].hi, q[i].points, &after);
        ok(got && same_answer(&before[i], &after) && after.n > 0,
           "chunks: answer %d is the same after sealing (%zu buckets, tier %d)", i, after.n,
           (int)after.tier);
        history_result_done(&after);
    }
    /* Sealed points are each read once, a chunk counting as one row. */
    int got = ck_query(st, aid, q[0].name, q[0].lo, q[0].hi, q[0].points, &after);
    ok(got && after.rows_read <= 2, "chunks: the raw answer read %zu chunks, not hundreds of rows",
       after.rows_read);
    history_result_done(&after);

    /* A sealed sample sent again is a duplicate; a late one is stored and seen at once. */
    struct store_batch one = {
        .agent_id = aid, .now = now / 1000, .nsamples = 1, .samples = &smp[400]};
    ok(write1(st, &one, &stored, &dups) == SM_OK && stored == 0 && dups == 1,
       "chunks: a sealed sample sent again is a duplicate");
    struct store_point lp = {"cpu.usage", "", 1000};
    struct store_sample late = {ck_t(400) + 5001, 1, &lp};
    struct store_batch bl = {.agent_id = aid, .now = now / 1000, .nsamples = 1, .samples = &late};
    ok(write1(st, &bl, &stored, &dups) == SM_OK && stored == 1, "chunks: a late sample stored");
    double mx;
    int64_t n0 = ck_total(&before[0], &mx);
    ok(ck_query(st, aid, q[0].name, q[0].lo, q[0].hi, q[0].points, &after) &&
           ck_total(&after, &mx) == n0 + 1 && mx == 1000,
       "chunks: the query sees it beside the chunks at once");
    history_result_done(&after);
    /* Re-rolled (its window rows again first), then sealed again. */
    ok(ck_roll(st, now + 60000) > 0, "chunks: the dirty minute re-rolled");
    ok(ck_sql(c, sql) == 0 && ck_sql(c, "SELECT count(*) FROM chunk_samples") == 4,
       "chunks: its window is sealed again");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts < %lld",
             (long long)(ck_b + 2 * HOUR_MS));
    ok(ck_sql(c, sql) == 0, "chunks: and holds no row");
    double mx0;
    int64_t m0 = ck_total(&before[2], &mx0);
    ok(ck_query(st, aid, "cpu.usage", ck_b - 6 * HOUR_MS, ck_b, 120, &after) &&
           ck_total(&after, &mx) == m0 + 1 && mx == 1000,
       "chunks: the minute tier counts it");
    history_result_done(&after);
    ok(write1(st, &bl, &stored, &dups) == SM_OK && stored == 0 && dups == 1,
       "chunks: sent again once sealed: a duplicate");
    ok(store_count(st, &s1, &p1) == SM_OK && s1 == s0 + 1 && p1 == p0 + 1,
       "chunks: one sample more in the counts");

    /* Retention through a sealed window, then past a whole one and into the next. */
    const struct history_retention keep1 = {(double)(now - (ck_b - 5 * HOUR_MS)) / 1000,
                                            4000 * 86400.0, 4000 * 86400.0};
    size_t deleted = 0;
    crc = store_retain(st, now, &keep1, 64, &deleted);
    ok(crc == SM_OK && deleted == 360,
       "chunks: retention inside a sealed window deleted %zu samples (360)", deleted);
    const struct history_retention keep2 = {(double)(now - (ck_b - 3 * HOUR_MS)) / 1000,
                                            4000 * 86400.0, 4000 * 86400.0};
    deleted = 0;
    crc = store_retain(st, now, &keep2, 64, &deleted);
    ok(crc == SM_OK && deleted == 720 + 1,
       "chunks: and past a whole window %zu samples (721, the late one too)", deleted);
    crc = store_count(st, &s1, &p1);
    ok(crc == SM_OK && s1 == s0 - 1080, "chunks: the counts fell by as many (%lld samples left)",
       (long long)s1);
    ok(ck_query(st, aid, "net.rx", ck_b - 3 * HOUR_MS, ck_b + HOUR_MS, 2000, &after) &&
           ck_total(&after, &mx) == 4 * 180 && mx == 1.5 * (double)(7 * 360 - 2),
       "chunks: the points after the cut are all there");
    history_result_done(&after);
    ok(ck_roll(st, now + 120000) > 0 && ck_sql(c, "SELECT count(*) FROM chunk_samples") == 3,
       "chunks: the cut window is sealed again");

    /* Damage in the newest sealed window's series chunks: the query that reads them
     * fails; a late sample there is still stored (its sample times are sound), and the
     * rollup goes on past the window it cannot turn back into rows. */
    r = PQexec(c, "UPDATE chunks SET data = '\\x01ff' WHERE t0 = (SELECT max(t0) FROM chunks)");
    PQclear(r);
    memset(&after, 0, sizeof after);
    ok(store_history_query(st, aid, "cpu.usage", "", ck_b, ck_b + HOUR_MS, 2000, &after) == SM_EIO,
       "chunks: a damaged chunk fails the query (SM_EIO)");
    history_result_done(&after);
    struct store_sample dl = {ck_b + 5001, 1, &lp};
    struct store_batch bd = {
        .agent_id = aid, .now = (now + 150000) / 1000, .nsamples = 1, .samples = &dl};
    ok(write1(st, &bd, &stored, &dups) == SM_OK && stored == 1,
       "chunks: a late sample of that window stored");
    ok(ck_roll(st, now + 240000) > 0 && ck_sql(c, "SELECT count(*) FROM rollup_dirty") == 0 &&
           ck_sql(c, "SELECT count(*) FROM chunk_samples") == 3,
       "chunks: the rollup re-rolls its minute and goes on; the damaged window stays sealed");
    /* Damaged sample times: a late sample of that window is refused, nothing written. */
    r = PQexec(c, "UPDATE chunk_samples SET data = '\\x01' WHERE t0 = (SELECT max(t0) FROM"
                  " chunk_samples)");
    PQclear(r);
    struct store_sample dl2 = {ck_b + 6001, 1, &lp};
    bd.samples = &dl2;
    int64_t s2 = -1, p2 = -1, s3 = -1, p3 = -1;
    crc = store_count(st, &s2, &p2);
    enum sm_rc wrc = write1(st, &bd, &stored, &dups);
    ok(crc == SM_OK && wrc != SM_OK && store_count(st, &s3, &p3) == SM_OK && s3 == s2,
       "chunks: a late sample of a window with damaged sample times is refused, not stored");
    /* The agent's lock (as a seal holds it, exclusively) holds back that agent's batches
     * only: another agent's is written meanwhile. */
    struct store *w2 = NULL;
    int64_t aid2 = agent(st, uid, "c_other", 72);
    ok(aid2 > 0 && store_open(info, &w2, &cause) == SM_OK, "chunks: a second writer");
    char lock[160];
    snprintf(lock, sizeof lock, "BEGIN; SELECT pg_advisory_xact_lock(%s, %lld)",
             STORE_PG_AGENT_LOCK, (long long)aid);
    r = PQexec(c, lock);
    ok(PQresultStatus(r) == PGRES_TUPLES_OK, "chunks: the agent's lock taken");
    PQclear(r);
    struct store_sample n1 = {now + 1000, 1, &lp}, n2 = {now + 1000, 1, &lp};
    struct store_batch b1 = {.agent_id = aid, .now = now / 1000, .nsamples = 1, .samples = &n1};
    struct store_batch b2 = {.agent_id = aid2, .now = now / 1000, .nsamples = 1, .samples = &n2};
    struct ck_writer held = {.st = w2, .b = &b1};
    pthread_t th;
    int started = w2 && pthread_create(&th, NULL, ck_write, &held) == 0;
    ok(write1(st, &b2, &stored, &dups) == SM_OK && stored == 1,
       "chunks: another agent's batch is written while it is held");
    usleep(300000);
    ok(started && !atomic_load(&held.done), "chunks: the agent's own batch waits (300 ms)");
    r = PQexec(c, "COMMIT");
    PQclear(r);
    if (started)
        pthread_join(th, NULL);
    ok(started && held.stored == 1, "chunks: and is written once the lock is let go");
    store_free(w2);
    for (int i = 0; i < NQ; i++)
        history_result_done(&before[i]);
    free(smp);
    free(pts);
    PQfinish(c);
    store_free(st);
}

/* Leadership ends with the leader's session: the next connection to ask takes it
 * (a dead instance's session ends the same way). */
static void
pg_leader_handover(const char *conninfo)
{
    struct store *a = NULL, *b = NULL;
    char *cause = NULL;
    if (!ok(store_open(conninfo, &a, &cause) == SM_OK && store_open(conninfo, &b, &cause) == SM_OK,
            "two connections for the handover")) {
        free(cause);
        store_free(a);
        return;
    }
    /* The case table's connections are closed: nobody leads. */
    ok(store_leader(a, STORE_LEAD_MAINTENANCE) == 1 && store_leader(b, STORE_LEAD_MAINTENANCE) == 0,
       "one of two connections leads");
    for (int i = 0; i < 3; i++)
        (void)store_leader(a, STORE_LEAD_MAINTENANCE);
    store_free(a);
    /* The server ends the session (and frees the lock) just after the client leaves:
     * ask a few times, as the instances do every few seconds. */
    int tries = 0, lead = 0;
    while (!(lead = store_leader(b, STORE_LEAD_MAINTENANCE)) && ++tries < 100)
        usleep(20000);
    ok(lead == 1, "when the leader's session ends, the other takes over (%d retries of 20 ms)",
       tries);
    store_free(b);
}

int
main(void)
{
    sm_log_init("test_store_pg");
    sm_log_set_level(getenv("SM_TEST_LOG") ? SM_LOG_DEBUG : SM_LOG_ERROR);
    char dir[] = "/tmp/smstorepg.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/statusmonitor.db", dir);
    store_init();

    run_cases("sqlite", path);

    pg_claimed();
    pg_messages();
    const char *conninfo = getenv("SM_TEST_PG");
    if (conninfo && *conninfo) {
        run_cases("postgresql", conninfo);
        pg_leader_handover(conninfo);
        pg_bad_input(conninfo);
        pg_covering_upgrade(conninfo);
        pg_chunks(conninfo);
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
