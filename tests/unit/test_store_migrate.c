/* test_store_migrate.c: a database of schema 3 (one points row per point) is upgraded by
 * store_open to schema 4 (points packed in their sample's row), and its history answers
 * are the true ones, before and after the rollups run on the packed samples. */
#include "config.h"

#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "log.h"
#include "store.h"
#include "tap.h"

#define STEP_MS 10000LL
#define HOURS 3
/* The end of the data: a round time plus 4 min 13 s, so ranges are not aligned. */
#define END_MS (1795000000000LL / 3600000 * 3600000 + 253000LL)
#define START_MS (END_MS - HOURS * 3600000LL)
#define OLD_MS (START_MS - 400 * 86400000LL)
#define NSERIES 5 /* ids 1-3 belong to agent 1, 4-5 to agent 2 */

/* Schema 3 as smserver created it before schema 4 (migrations 1 and 3 of
 * store_sqlite.c; 2 is history_schema_sql). */
static const char schema1[] =
    "CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
    " pwhash TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE refresh_tokens(hash BLOB PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " family BLOB NOT NULL, expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE TABLE agents(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"
    " token_hash BLOB NOT NULL UNIQUE, created INTEGER NOT NULL, last_seen INTEGER,"
    " host TEXT, UNIQUE(user_id, name));"
    "CREATE TABLE series(id INTEGER PRIMARY KEY,"
    " agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, labels TEXT NOT NULL, UNIQUE(agent_id, name, labels));"
    "CREATE TABLE samples(agent_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
    "CREATE TABLE points(series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,"
    " PRIMARY KEY(series_id, ts)) WITHOUT ROWID;"
    "CREATE TABLE latest(agent_id INTEGER PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,"
    " ts INTEGER NOT NULL, sample TEXT NOT NULL);";
static const char schema3[] =
    "CREATE TABLE alert_channels(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"
    " kind TEXT NOT NULL, url TEXT NOT NULL, chat_id TEXT NOT NULL, secret BLOB NOT NULL,"
    " created INTEGER NOT NULL, UNIQUE(user_id, name));"
    "CREATE TABLE alert_rules(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, name TEXT NOT NULL,"
    " metric TEXT NOT NULL, labels TEXT NOT NULL, op TEXT NOT NULL, threshold REAL NOT NULL,"
    " for_seconds INTEGER NOT NULL, resolve_seconds INTEGER NOT NULL,"
    " agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE, severity TEXT NOT NULL,"
    " channel_id INTEGER REFERENCES alert_channels(id) ON DELETE SET NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE INDEX alert_rules_user ON alert_rules(user_id);"
    "CREATE TABLE alert_events(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " rule_id INTEGER NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,"
    " agent_id INTEGER NOT NULL, labels TEXT NOT NULL, state TEXT NOT NULL, value REAL,"
    " ts INTEGER NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX alert_events_rule ON alert_events(rule_id, id);";

static const struct {
    int64_t agent;
    const char *name, *labels;
} series[NSERIES] = {
    {1, "cpu.usage", ""}, {1, "cpu.core.usage", "core=0"},   {1, "mem.used_percent", ""},
    {2, "cpu.usage", ""}, {2, "fs.used_percent", "mount=/"},
};

/* Every point written to the old database, to compute the true answers. */
struct pt {
    int series;
    int64_t ts;
    double v;
};
static struct pt *pts;
static size_t npts, ncap;
static int64_t nsamples;

static double
gen(int k, int64_t t)
{
    return 10.0 * k + 5.0 * sin((double)t / 600000.0 + k) + (double)(t % 7);
}

static void
exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static void
add_point(sqlite3_stmt *p, int k, int64_t t, double v)
{
    sqlite3_reset(p);
    sqlite3_bind_int64(p, 1, k);
    sqlite3_bind_int64(p, 2, t);
    sqlite3_bind_double(p, 3, v);
    if (sqlite3_step(p) != SQLITE_DONE)
        exit(1);
    if (npts == ncap) {
        ncap = ncap ? ncap * 2 : 4096;
        pts = realloc(pts, ncap * sizeof *pts);
        if (!pts)
            exit(1);
    }
    pts[npts++] = (struct pt){k, t, v};
}

static void
add_sample(sqlite3_stmt *s, int64_t agent, int64_t t)
{
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, t);
    if (sqlite3_step(s) != SQLITE_DONE)
        exit(1);
    nsamples++;
}

/* A schema-3 database as the old server left it: two agents, 3 hours of 10 s samples,
 * some with a series missing, one with no points, one point without its sample row. */
static void
make_old(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(1);
    exec(db, schema1);
    exec(db, history_schema_sql);
    exec(db, schema3);
    exec(db, "PRAGMA user_version = 3;"
             "INSERT INTO users VALUES(1, 'alice', 'x', 0);"
             "INSERT INTO agents VALUES(1, 1, 'web', x'01', 0, 0, NULL),"
             " (2, 1, 'db', x'02', 0, 0, NULL);");
    sqlite3_stmt *se, *s, *p;
    sqlite3_prepare_v2(db, "INSERT INTO series VALUES(?1, ?2, ?3, ?4)", -1, &se, NULL);
    for (int k = 0; k < NSERIES; k++) {
        sqlite3_reset(se);
        sqlite3_bind_int64(se, 1, k + 1);
        sqlite3_bind_int64(se, 2, series[k].agent);
        sqlite3_bind_text(se, 3, series[k].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(se, 4, series[k].labels, -1, SQLITE_STATIC);
        if (sqlite3_step(se) != SQLITE_DONE)
            exit(1);
    }
    sqlite3_finalize(se);
    sqlite3_prepare_v2(db, "INSERT INTO samples VALUES(?1, ?2)", -1, &s, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO points VALUES(?1, ?2, ?3)", -1, &p, NULL);
    exec(db, "BEGIN");
    int j = 0;
    for (int64_t t = START_MS; t < END_MS; t += STEP_MS, j++) {
        add_sample(s, 1, t);
        add_sample(s, 2, t + 3000);
        if (j == 5)
            continue; /* a sample without points */
        for (int k = 1; k <= 3; k++)
            if (!(k == 2 && j % 7 == 3)) /* a core that was offline */
                add_point(p, k, t, gen(k, t));
        for (int k = 4; k <= 5; k++)
            add_point(p, k, t + 3000, gen(k, t + 3000));
    }
    add_point(p, 4, START_MS + 5005, 77.0); /* its sample row is missing */
    /* A year-old back-filled sample: the copy skips the gap. */
    add_sample(s, 1, OLD_MS);
    add_point(p, 1, OLD_MS, 5.0);
    add_point(p, 3, OLD_MS, 6.0);
    exec(db, "COMMIT");
    sqlite3_finalize(s);
    sqlite3_finalize(p);
    sqlite3_close(db);
}

/* Compare every bucket of a query of series k with the true aggregates over the
 * bucket's window. */
static void
check(struct store *st, const char *label, int k, int64_t start, int64_t stop, size_t points,
      enum history_tier want)
{
    struct history_result r;
    if (store_history_query(st, series[k - 1].agent, series[k - 1].name, series[k - 1].labels,
                            start, stop, points, &r) != SM_OK) {
        ok(0, "%s: query", label);
        return;
    }
    ok(r.tier == want, "%s: tier %d (want %d)", label, r.tier, want);
    int bad = 0;
    int64_t total = 0, want_total = 0;
    for (size_t i = 0; i < r.n; i++) {
        const struct history_bucket *b = &r.b[i];
        int64_t lo = b->t, hi;
        if (r.tier == HISTORY_RAW)
            hi = start + ((lo - start) / r.width_ms + 1) * r.width_ms;
        else
            hi = (lo / r.width_ms + 1) * r.width_ms;
        hi = hi > stop ? stop : hi;
        double sum = 0, mn = HUGE_VAL, mx = -HUGE_VAL;
        int64_t n = 0;
        for (size_t j = 0; j < npts; j++)
            if (pts[j].series == k && pts[j].ts >= lo && pts[j].ts < hi) {
                sum += pts[j].v;
                mn = fmin(mn, pts[j].v);
                mx = fmax(mx, pts[j].v);
                n++;
            }
        total += b->n;
        if (n != b->n || fabs(b->avg - sum / (double)n) > 1e-9 || b->min != mn || b->max != mx) {
            if (bad++ == 0)
                diag("%s: bucket at %lld: n %lld avg %g min %g max %g, want %lld %g %g %g", label,
                     (long long)lo, (long long)b->n, b->avg, b->min, b->max, (long long)n,
                     sum / (double)n, mn, mx);
        }
    }
    for (size_t j = 0; j < npts; j++)
        want_total += pts[j].series == k && pts[j].ts >= start && pts[j].ts < stop;
    ok(bad == 0 && total == want_total && want_total > 0,
       "%s: %zu buckets equal the true ones, %lld points (want %lld)", label, r.n, (long long)total,
       (long long)want_total);
    history_result_done(&r);
}

static void
check_all(struct store *st, const char *when)
{
    char label[128];
    for (int k = 1; k <= NSERIES; k++) {
        snprintf(label, sizeof label, "%s: series %d -1h", when, k);
        check(st, label, k, END_MS - 3600000, END_MS, 500, HISTORY_RAW);
        snprintf(label, sizeof label, "%s: series %d all, 100 points", when, k);
        check(st, label, k, START_MS - 60000, END_MS, 100, HISTORY_MINUTE);
    }
}

static void
latest_fn(int64_t agent_id, const char *agent, const char *user, const char *name,
          const char *labels, double value, void *arg)
{
    (void)agent;
    (void)user;
    double *v = arg;
    for (int k = 0; k < NSERIES; k++)
        if (series[k].agent == agent_id && strcmp(series[k].name, name) == 0 &&
            strcmp(series[k].labels, labels) == 0)
            v[k] = value;
}

int
main(void)
{
    sm_log_init("test_store_migrate");
    sm_log_set_level(SM_LOG_ERROR);
    char dir[] = "/tmp/smmigrate.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/statusmonitor.db", dir);
    make_old(path);
    size_t old_points = npts;

    struct store *st;
    char *cause = NULL;
    ok(store_open(path, &st, &cause) == SM_OK, "schema 3 opened and migrated (%s)",
       cause ? cause : "ok");
    if (!st)
        return tap_done();
    sqlite3 *db;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db,
                       "SELECT (SELECT user_version FROM pragma_user_version),"
                       " (SELECT count(*) FROM sqlite_master WHERE name = 'points')",
                       -1, &q, NULL);
    ok(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) >= 6 &&
           sqlite3_column_int(q, 1) == 0,
       "schema version 6 or later, no points table");
    sqlite3_finalize(q);
    sqlite3_close(db);
    ok(store_check(st, &cause) == SM_OK, "integrity_check ok");
    int64_t ns = 0, np = 0;
    enum sm_rc crc = store_count(st, &ns, &np);
    ok(crc == SM_OK && ns == nsamples + 1 && np == (int64_t)old_points,
       "%lld samples (want %lld with the one added for a lone point), %lld points (want %zu)",
       (long long)ns, (long long)nsamples + 1, (long long)np, old_points);

    check_all(st, "migrated, raw");
    check(st, "the year-old sample", 1, OLD_MS - 5000, OLD_MS + 5000, 10, HISTORY_RAW);
    check(st, "the year-old sample", 3, OLD_MS - 5000, OLD_MS + 5000, 10, HISTORY_RAW);
    size_t work = 1;
    for (int i = 0; i < 5000 && work > 0; i++)
        if (store_rollup(st, END_MS + 5 * 60000, 1000, &work) != SM_OK)
            break;
    ok(work == 0, "rollups done");
    check_all(st, "migrated, rolled up");

    double latest[NSERIES];
    for (int k = 0; k < NSERIES; k++)
        latest[k] = (double)NAN;
    ok(store_latest_points(st, latest_fn, latest) == SM_OK, "latest points");
    int64_t t1 = END_MS - STEP_MS, t2 = t1 + 3000;
    ok(latest[0] == gen(1, t1) && latest[2] == gen(3, t1) && latest[3] == gen(4, t2) &&
           latest[4] == gen(5, t2),
       "latest points are the newest sample's values");

    /* The writer on the migrated database: a resent sample is a duplicate, a new one is
     * stored and answered. */
    struct store_point p[] = {{"cpu.usage", "", 99.5}, {"cpu.core.usage", "core=0", 1.0}};
    struct store_sample smp[] = {{END_MS - STEP_MS, 2, p}, {END_MS, 2, p}};
    struct store_batch b = {.agent_id = 1, .now = END_MS / 1000, .nsamples = 2, .samples = smp};
    size_t stored = 0, dups = 0;
    ok(store_begin(st) == SM_OK && store_batch_write(st, &b, &stored, &dups, &cause) == SM_OK &&
           store_commit(st) == SM_OK && stored == 1 && dups == 1,
       "after migration: 1 stored, 1 duplicate (%zu, %zu)", stored, dups);
    struct history_result r;
    ok(store_history_query(st, 1, "cpu.usage", "", END_MS, END_MS + 1000, 10, &r) == SM_OK &&
           r.n == 1 && r.b[0].avg == 99.5,
       "the new sample is answered");
    history_result_done(&r);
    store_free(st);

    /* Opening again migrates nothing more. */
    ok(store_open(path, &st, &cause) == SM_OK, "reopened");
    crc = store_count(st, &ns, &np);
    ok(crc == SM_OK && np == (int64_t)old_points + 2, "points kept across a reopen (%lld)",
       (long long)np);
    store_free(st);
    free(pts);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("cannot remove %s", dir);
    return tap_done();
}
