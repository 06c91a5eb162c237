/* test_store_procs.c: process snapshots through store.h on SQLite, and on PostgreSQL
 * when SM_TEST_PG_PROCS names a fresh database (store_pg.sh): one per agent and
 * minute (the busiest sample's), written with its sample and undone with it, found at
 * or before a time within a window, only for the agent's owner, removed by age and by
 * size in bounded batches; and a backend without them says so. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_backend.h"
#include "tap.h"

#define NOW 1794999960LL /* unix seconds, a round minute */
#define MIN_MS(m) ((NOW + (m)*60LL) * 1000LL)

static int64_t
add_user(struct store *st, const char *name)
{
    struct store_user u;
    if (store_user_add(st, name, "$argon2id$fake", NOW, &u) != SM_OK)
        return 0;
    return u.id;
}

static int64_t
add_agent(struct store *st, int64_t user, const char *name)
{
    struct store_agent a;
    uint8_t hash[STORE_HASH_LEN];
    memset(hash, 0, sizeof hash);
    snprintf((char *)hash, sizeof hash, "%s", name);
    if (store_agent_add(st, user, name, hash, NOW, &a) != SM_OK)
        return 0;
    store_agent_done(&a);
    return a.id;
}

/* Write one sample of agent at ts_ms with a snapshot json (NULL: none) worth cpu. */
static enum sm_rc
write_one(struct store *st, int64_t agent, int64_t ts_ms, const char *json, double cpu,
          size_t *stored, size_t *dups)
{
    struct store_point p = {"cpu.usage", "", 1.0};
    struct store_sample s = {.ts_ms = ts_ms, .npoints = 1, .points = &p};
    s.procs_json = json;
    s.procs_cpu = cpu;
    struct store_batch b = {.agent_id = agent, .now = NOW, .nsamples = 1, .samples = &s};
    char *cause = NULL;
    enum sm_rc rc = store_begin(st);
    if (rc == SM_OK)
        rc = store_batch_write(st, &b, stored, dups, &cause);
    if (rc == SM_OK)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (cause)
        diag("write: %s", cause);
    free(cause);
    return rc;
}

static int
write_ok(struct store *st, int64_t agent, int64_t ts_ms, const char *json, double cpu)
{
    size_t stored = 0, dups = 0;
    return write_one(st, agent, ts_ms, json, cpu, &stored, &dups) == SM_OK && stored == 1;
}

/* The snapshot at at_ms: its json compared with want (NULL: expect SM_ENOTFOUND). */
static int
at_is(struct store *st, int64_t user, int64_t agent, int64_t at_ms, int64_t window_s,
      const char *want, int64_t want_ts)
{
    struct store_procs p;
    char *cause = NULL;
    enum sm_rc rc = store_procs_at(st, user, agent, at_ms, window_s, &p, &cause);
    free(cause);
    if (!want)
        return rc == SM_ENOTFOUND;
    int good = rc == SM_OK && strcmp(p.json, want) == 0 && (want_ts < 0 || p.ts_ms == want_ts);
    if (!good)
        diag("    rc %d, got %s at %" PRId64, rc, rc == SM_OK ? p.json : "-",
             rc == SM_OK ? p.ts_ms : 0);
    if (rc == SM_OK)
        free(p.json);
    return good;
}

static void
usage(struct store *st, int64_t *count, int64_t *bytes)
{
    char *cause = NULL;
    if (store_procs_usage(st, count, bytes, &cause) != SM_OK)
        *count = *bytes = -1;
    free(cause);
}

/* A backend that keeps no snapshots: its members are NULL. */
static const struct store_backend bare_backend = {.name = "bare"};

/* Every case on one backend's fresh database. */
static void
run_cases(const char *name, const char *db)
{
    struct store *st = NULL;
    char *cause = NULL;
    diag("%s", name);
    if (!ok(store_open(db, &st, &cause) == SM_OK, "%s: store opened (%s)", name,
            cause ? cause : "ok")) {
        free(cause);
        return;
    }
    int64_t alice = add_user(st, "alice"), bob = add_user(st, "bob");
    int64_t a1 = add_agent(st, alice, "web1"), b1 = add_agent(st, bob, "db1");
    ok(alice && bob && a1 && b1, "two users with an agent each");

    /* One minute, three samples: the busiest is kept, a tie keeps the earlier. */
    ok(write_ok(st, a1, MIN_MS(0) + 1000, "[{\"pid\":1,\"name\":\"calm\"}]", 5), "sample 1");
    ok(write_ok(st, a1, MIN_MS(0) + 11000, "[{\"pid\":2,\"name\":\"hot\"}]", 90), "sample 2");
    ok(write_ok(st, a1, MIN_MS(0) + 21000, "[{\"pid\":3,\"name\":\"tie\"}]", 90), "sample 3");
    ok(write_ok(st, a1, MIN_MS(0) + 31000, NULL, 0), "a sample with no process list");
    ok(at_is(st, alice, a1, MIN_MS(0) + 59000, 0, "[{\"pid\":2,\"name\":\"hot\"}]",
             MIN_MS(0) + 11000),
       "the minute's busiest sample answers; a tie keeps the earlier");
    int64_t count, bytes;
    usage(st, &count, &bytes);
    ok(count == 1 && bytes == (int64_t)strlen("[{\"pid\":2,\"name\":\"hot\"}]"),
       "one snapshot per agent and minute (%" PRId64 ", %" PRId64 " bytes)", count, bytes);

    /* A resent sample is a duplicate and changes nothing, even with more CPU. */
    size_t stored = 9, dups = 9;
    ok(write_one(st, a1, MIN_MS(0) + 1000, "[{\"pid\":9,\"name\":\"resent\"}]", 500, &stored,
                 &dups) == SM_OK &&
           stored == 0 && dups == 1,
       "a resent sample is a duplicate");
    ok(at_is(st, alice, a1, MIN_MS(0), 0, "[{\"pid\":2,\"name\":\"hot\"}]", -1),
       "a duplicate does not replace the snapshot");

    /* At or before, within the window. */
    ok(write_ok(st, a1, MIN_MS(5) + 2000, "[{\"pid\":5,\"name\":\"five\"}]", 1), "minute 5");
    ok(at_is(st, alice, a1, MIN_MS(5), 0, "[{\"pid\":5,\"name\":\"five\"}]", -1),
       "at the minute's start: that minute (its sample came 2 s later)");
    ok(at_is(st, alice, a1, MIN_MS(8) + 30000, 300, "[{\"pid\":5,\"name\":\"five\"}]", -1),
       "3.5 minutes later, window 300 s: the minute before");
    ok(at_is(st, alice, a1, MIN_MS(8) + 30000, 60, NULL, 0),
       "3.5 minutes later, window 60 s: none");
    ok(at_is(st, alice, a1, MIN_MS(4) + 59999, 120, NULL, 0),
       "before minute 5 and after minute 0 + 2: none");
    ok(at_is(st, alice, a1, MIN_MS(4) + 59999, 300, "[{\"pid\":2,\"name\":\"hot\"}]", -1),
       "before minute 5, window 300 s: minute 0");
    ok(at_is(st, alice, a1, MIN_MS(-1), STORE_PROCS_WINDOW_MAX_S, NULL, 0),
       "before the first snapshot: none");
    ok(at_is(st, alice, a1, MIN_MS(70), 1000000000, NULL, 0),
       "a window over the cap is held to STORE_PROCS_WINDOW_MAX_S");

    /* Owner: another user's agent does not exist for them. */
    ok(at_is(st, bob, a1, MIN_MS(5), 0, NULL, 0), "bob does not see alice's snapshots");
    ok(at_is(st, alice, b1, MIN_MS(5), 0, NULL, 0), "alice's id on bob's agent: none");
    ok(write_ok(st, b1, MIN_MS(5) + 3000, "[{\"pid\":7,\"name\":\"bobs\"}]", 1), "bob's agent");
    ok(at_is(st, bob, b1, MIN_MS(5), 0, "[{\"pid\":7,\"name\":\"bobs\"}]", -1), "bob sees his own");
    ok(at_is(st, alice, a1, MIN_MS(5), 0, "[{\"pid\":5,\"name\":\"five\"}]", -1),
       "agents do not share minutes");

    /* A failed batch takes its snapshot with it (one savepoint). */
    struct store_point p = {"cpu.usage", "", 1.0};
    struct store_sample ss[2] = {
        {.ts_ms = MIN_MS(6), .npoints = 1, .points = &p, .procs_json = "[{\"pid\":6}]"},
        {.ts_ms = MIN_MS(6) + 1000, .npoints = 1, .points = &p},
    };
    struct store_batch gone = {.agent_id = 999999, .now = NOW, .nsamples = 2, .samples = ss};
    ok(store_begin(st) == SM_OK, "begin");
    enum sm_rc rc = store_batch_write(st, &gone, &stored, &dups, &cause);
    free(cause);
    cause = NULL;
    ok(rc != SM_OK, "a batch of an agent that does not exist fails");
    ok(store_commit(st) == SM_OK, "commit");
    usage(st, &count, &bytes);
    ok(count == 3, "its snapshot is not kept (%" PRId64 " snapshots)", count);

    /* Retention by age, in batches. */
    for (int m = 10; m < 40; m++)
        write_ok(st, a1, MIN_MS(m) + 500, "[{\"pid\":10,\"name\":\"filler\"}]", 1);
    usage(st, &count, &bytes);
    ok(count == 33, "33 snapshots (%" PRId64 ")", count);
    size_t deleted = 0;
    /* Keep 20 minutes back from minute 40: minutes 0, 5 (both agents) and 10-19 go. */
    rc = store_procs_retain(st, MIN_MS(40), 20 * 60, INT64_MAX, 5, &deleted, &cause);
    ok(rc == SM_OK && deleted == 5, "age: a batch of 5 deletes 5 (%zu)", deleted);
    size_t total = deleted;
    while (store_procs_retain(st, MIN_MS(40), 20 * 60, INT64_MAX, 5, &deleted, &cause) == SM_OK &&
           deleted > 0)
        total += deleted;
    ok(total == 13, "age: minutes before 20 go, 13 in all (%zu)", total);
    ok(at_is(st, alice, a1, MIN_MS(19), STORE_PROCS_WINDOW_MAX_S, NULL, 0),
       "nothing before minute 20 remains");
    ok(at_is(st, alice, a1, MIN_MS(20), 0, "[{\"pid\":10,\"name\":\"filler\"}]", -1),
       "minute 20 remains");
    usage(st, &count, &bytes);
    ok(count == 20, "20 left (%" PRId64 ")", count);

    /* Retention by size: the oldest go until the rest fits. */
    int64_t one = (int64_t)strlen("[{\"pid\":10,\"name\":\"filler\"}]");
    rc = store_procs_retain(st, MIN_MS(40), 20 * 60, one * 12, 3, &deleted, &cause);
    ok(rc == SM_OK && deleted == 3, "size: a batch of 3 deletes 3 (%zu)", deleted);
    total = deleted;
    while (store_procs_retain(st, MIN_MS(40), 20 * 60, one * 12, 3, &deleted, &cause) == SM_OK &&
           deleted > 0)
        total += deleted;
    usage(st, &count, &bytes);
    ok(total == 8 && count == 12 && bytes <= one * 12,
       "size: down to the cap, 8 deleted, 12 left (%zu, %" PRId64 ", %" PRId64 " bytes)", total,
       count, bytes);
    ok(at_is(st, alice, a1, MIN_MS(27), 0, NULL, 0) &&
           at_is(st, alice, a1, MIN_MS(28), 0, "[{\"pid\":10,\"name\":\"filler\"}]", -1),
       "size: the oldest went first");
    ok(store_procs_retain(st, MIN_MS(40), 20 * 60, one * 12, 3, &deleted, &cause) == SM_OK &&
           deleted == 0,
       "under both limits: nothing to do");

    /* Deleting the agent deletes its snapshots. */
    ok(store_agent_delete(st, alice, a1) == SM_OK, "alice's agent deleted");
    usage(st, &count, &bytes);
    ok(count == 0, "%s: its snapshots went with it (%" PRId64 " left)", name, count);
    store_free(st);
}

int
main(void)
{
    char dir[] = "/tmp/test_store_procs.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/db", dir);
    sm_log_set_level(SM_LOG_ERROR);
    store_init();
    run_cases("sqlite", path);
    /* PostgreSQL: a database of its own (tests/integration/store_pg.sh). */
    const char *conninfo = getenv("SM_TEST_PG_PROCS");
    if (conninfo && *conninfo) {
        run_cases("postgresql", conninfo);
    } else {
        diag("SM_TEST_PG_PROCS not set: PostgreSQL cases skipped (tests/integration/store_pg.sh "
             "runs them)");
    }

    /* A backend without snapshots: a clear error, no crash. */
    char *cause = NULL;
    size_t deleted = 0;
    struct store bare = {&bare_backend};
    struct store_procs sp;
    enum sm_rc rc = store_procs_at(&bare, 1, 1, 0, 0, &sp, &cause);
    ok(rc == SM_EUNAVAIL && cause && strstr(cause, "not supported by the bare backend"),
       "a NULL member: \"%s\"", cause ? cause : "");
    free(cause);
    cause = NULL;
    ok(store_procs_retain(&bare, 0, 1, 1, 1, &deleted, &cause) == SM_EUNAVAIL && deleted == 0,
       "retain on a backend without snapshots");
    free(cause);

    unlink(path);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    return tap_done();
}
