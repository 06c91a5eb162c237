/* test_store_pg.c: one table of cases for users, refresh tokens and agents, run through
 * store.h against every backend: SQLite always (a file in a temporary directory), and
 * PostgreSQL when SM_TEST_PG holds a libpq connection string (tests/integration/
 * store_pg.sh starts a private cluster and sets it). Also: PostgreSQL strings are
 * refused by store_open until the backend is complete, a connection error names no
 * password, and a database of a newer schema is refused. Alert rules, channels and
 * events; leadership and shared rate limits (PostgreSQL only; SQLite has one
 * instance). */
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
    {"users", case_users},   {"refresh", case_refresh}, {"refresh race", case_refresh_race},
    {"agents", case_agents}, {"rules", case_rules},     {"channels", case_channels},
    {"events", case_events}, {"leader", case_leader},   {"limits", case_limits},
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
        pg_leader_handover(conninfo);
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
