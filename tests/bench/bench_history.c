/* bench_history.c: history query latency at -1h, -24h and -7d on 7 days of
 * samples through the real store (rollups as the server keeps them), beside one plain
 * pass over the raw rows as the baseline (SQLite only). Also reports bytes on disk per
 * stored point.
 * Sizes from the environment: BENCH_HISTORY_AGENTS (default 1), BENCH_HISTORY_SERIES
 * per agent (default 24), BENCH_HISTORY_STEP_S between samples (default 10). The data
 * goes in through the backend's own write code (store_batch_write, one transaction per
 * agent and day) and store_rollup fills the minute and hour tiers as the server's
 * maintenance does; the queries then ask each agent in turn. BENCH_HISTORY_DB names the
 * database (a PostgreSQL URI or libpq string, which must be empty: the data is written
 * into it); without it, a new SQLite file in a temporary directory.
 * BENCH_HISTORY_SETTLE is a shell command run between the rollups and the queries (the
 * PostgreSQL script's VACUUM ANALYZE, which a week of autovacuum would have done). Lines
 * "result RANGE p50 MS p95 MS" are for scripts (tests/bench/bench_history_pg.sh).
 * Ranges: -1h, -24h and -7d at points=500 (/history's default), and -7d/150 (-7d at
 * points=150: buckets over an hour wide, from the hour tier).
 * Usage: bench_history [REPEATS] */
#include "config.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "collect/collect.h"
#include "log.h"
#include "smserver/history.h"
#include "smserver/store.h"

#define DAYS 7
#define MAX_SERIES 256
/* A realistic agent has 24: cpu, cores, memory, filesystems, disks, interfaces. */
#define DEFAULT_SERIES 24

/* A size from the environment variable name, within [lo, hi]; def when unset. */
static long
env_size(const char *name, long lo, long hi, long def)
{
    const char *v = getenv(name);
    long n = def;
    if (v && *v && sm_parse_long(v, lo, hi, &n) != 0)
        sm_die(2, "%s must be a number from %ld to %ld", name, lo, hi);
    return n;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i];
}

/* The baseline: one pass over the raw rows (the agent's samples in the range, each
 * blob searched for the series) into the same number of buckets. */
static size_t
baseline(sqlite3 *db, int64_t agent, int64_t series, int64_t start, int64_t stop, int points)
{
    int64_t width = (stop - start + points - 1) / points;
    struct {
        int64_t n;
        double sum, min, max;
    } *b = calloc((size_t)points + 1, sizeof *b);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db,
                       "SELECT ts, data FROM samples WHERE agent_id = ?1 AND ts >= ?2 AND ts < ?3",
                       -1, &s, NULL);
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, start);
    sqlite3_bind_int64(s, 3, stop);
    while (sqlite3_step(s) == SQLITE_ROW) {
        double v;
        if (history_blob_find(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), series,
                              &v) != SM_OK)
            continue;
        int64_t i = (sqlite3_column_int64(s, 0) - start) / width;
        b[i].min = b[i].n == 0 || v < b[i].min ? v : b[i].min;
        b[i].max = b[i].n == 0 || v > b[i].max ? v : b[i].max;
        b[i].sum += v;
        b[i].n++;
    }
    sqlite3_finalize(s);
    size_t n = 0;
    for (int i = 0; i <= points; i++)
        n += b[i].n > 0;
    free(b);
    return n;
}

int
main(int argc, char **argv)
{
    sm_log_init(argv[0]);
    sm_log_set_level(SM_LOG_WARN);
    long reps = 40;
    if (argc > 1 && sm_parse_long(argv[1], 1, 100000, &reps) != 0)
        sm_usage_error("REPEATS must be a number from 1 to 100000");
    long nagents = env_size("BENCH_HISTORY_AGENTS", 1, 10000, 1);
    long nseries = env_size("BENCH_HISTORY_SERIES", 1, MAX_SERIES, DEFAULT_SERIES);
    int64_t step_ms = env_size("BENCH_HISTORY_STEP_S", 1, 3600, 10) * 1000LL;
    const char *dbstr = getenv("BENCH_HISTORY_DB");
    char dir[] = "/tmp/smbench.XXXXXX";
    char path[64] = "";
    if (dbstr == NULL || *dbstr == '\0') {
        if (mkdtemp(dir) == NULL)
            sm_die(1, "mkdtemp failed");
        snprintf(path, sizeof path, "%s/bench.db", dir);
        dbstr = path;
    }
    int sqlite = strcmp(store_backend_of(dbstr), "sqlite") == 0;
    store_init();
    struct store *st;
    char *cause = NULL;
    if (store_open(dbstr, &st, &cause) != SM_OK)
        sm_die(1, "%s", cause);
    /* One user, nagents agents of nseries series each, 7 days of points every step_ms,
     * one transaction per agent and day. */
    uint8_t hash[STORE_HASH_LEN] = {1};
    struct store_user u;
    if (store_user_add(st, "bench", "x", 0, &u) != SM_OK)
        sm_die(1, "cannot create the user (BENCH_HISTORY_DB must be an empty database)");
    int64_t *agents = calloc((size_t)nagents, sizeof *agents);
    for (long k = 0; k < nagents; k++) {
        struct store_agent a;
        char name[32];
        snprintf(name, sizeof name, "bench%ld", k);
        hash[1] = (uint8_t)k;
        hash[2] = (uint8_t)(k >> 8);
        if (store_agent_add(st, u.id, name, hash, 0, &a) != SM_OK)
            sm_die(1, "cannot create agent %s", name);
        agents[k] = a.id;
        store_agent_done(&a);
    }
    int64_t now = (int64_t)(sm_wall_now() * 1000), start = now - DAYS * 86400000LL;
    char names[MAX_SERIES][32];
    struct store_point pts[MAX_SERIES];
    for (int i = 0; i < nseries; i++) {
        snprintf(names[i], sizeof names[i], i == 0 ? "cpu.usage" : "bench.s%d", i);
        pts[i] = (struct store_point){.name = names[i], .labels = ""};
    }
    double t0 = sm_mono_now();
    int64_t npoints = 0;
    size_t cap = (size_t)(86400000LL / step_ms) + 1;
    struct store_sample *samples = calloc(cap, sizeof *samples);
    for (size_t i = 0; i < cap; i++)
        samples[i].points = calloc((size_t)nseries, sizeof *pts);
    for (long k = 0; k < nagents; k++) {
        for (int64_t day = start; day < now; day += 86400000LL) {
            size_t n = 0;
            for (int64_t t = day; t < day + 86400000LL && t < now; t += step_ms) {
                samples[n].ts_ms = t;
                samples[n].npoints = (size_t)nseries;
                memcpy(samples[n].points, pts, (size_t)nseries * sizeof *pts);
                for (int i = 0; i < nseries; i++)
                    samples[n].points[i].value = 50 + 40 * sin((double)t / 3.6e6 + i + k);
                n++;
            }
            struct store_batch b = {
                .agent_id = agents[k], .now = now / 1000, .nsamples = n, .samples = samples};
            size_t stored, dups;
            if (store_begin(st) != SM_OK ||
                store_batch_write(st, &b, &stored, &dups, &cause) != SM_OK ||
                store_commit(st) != SM_OK)
                sm_die(1, "insert failed: %s", cause ? cause : "");
            npoints += (int64_t)stored * nseries;
        }
    }
    for (size_t i = 0; i < cap; i++)
        free(samples[i].points);
    free(samples);
    double t_insert = sm_mono_now() - t0;
    t0 = sm_mono_now();
    size_t work = 1;
    while (work > 0)
        if (store_rollup(st, now, 100000, &work) != SM_OK)
            sm_die(1, "rollup failed");
    double t_rollup = sm_mono_now() - t0;
    /* What a week of running would have done meanwhile (PostgreSQL: autovacuum), when the
     * script says. */
    const char *settle = getenv("BENCH_HISTORY_SETTLE");
    double t_settle = 0;
    if (settle && *settle) {
        t0 = sm_mono_now();
        if (system(settle) != 0)
            sm_die(1, "BENCH_HISTORY_SETTLE failed: %s", settle);
        t_settle = sm_mono_now() - t0;
    }

    /* Another connection for the baseline, as a query worker would have. */
    sqlite3 *raw = NULL;
    if (sqlite && sqlite3_open_v2(dbstr, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        sm_die(1, "cannot open %s", dbstr);
    /* points=500 is /history's default (so -7d reads the minute tier); -7d/150 asks
     * buckets wider than an hour, which the hour tier answers. */
    static const struct {
        const char *name;
        int64_t span;
        size_t points;
    } ranges[] = {{"-1h", 3600000LL, 500},
                  {"-24h", 86400000LL, 500},
                  {"-7d", 7 * 86400000LL, 500},
                  {"-7d/150", 7 * 86400000LL, 150}};
    printf("bench history on %s: %ld agent%s, %ld series each, %d days of %lld s samples = "
           "%lld points (insert %.1f s, rollup %.1f s, settle %.1f s)\n",
           store_backend_of(dbstr), nagents, nagents == 1 ? "" : "s", nseries, DAYS,
           (long long)(step_ms / 1000), (long long)npoints, t_insert, t_rollup, t_settle);
    printf("  %-7s %12s %12s %14s %14s %10s %s\n", "range", "p50 ms", "p95 ms", "baseline p50",
           "baseline p95", "ratio", "rows read / tier");
    double *tq = calloc((size_t)reps, sizeof *tq), *tb = calloc((size_t)reps, sizeof *tb);
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        size_t rows = 0;
        enum history_tier tier = HISTORY_RAW;
        for (long i = 0; i < reps; i++) {
            struct history_result res;
            int64_t agent = agents[i % nagents];
            double q0 = sm_mono_now();
            if (store_history_query(st, agent, "cpu.usage", "", now - ranges[r].span, now,
                                    ranges[r].points, &res) != SM_OK)
                sm_die(1, "query failed");
            tq[i] = (sm_mono_now() - q0) * 1000;
            rows = res.rows_read;
            tier = res.tier;
            history_result_done(&res);
            if (raw) {
                q0 = sm_mono_now();
                baseline(raw, agent, 1, now - ranges[r].span, now, (int)ranges[r].points);
                tb[i] = (sm_mono_now() - q0) * 1000;
            }
        }
        double p50 = pct(tq, (int)reps, 50), p95 = pct(tq, (int)reps, 95);
        static const char *const tiers[] = {"raw", "minute", "hour"};
        if (raw) {
            double b50 = pct(tb, (int)reps, 50), b95 = pct(tb, (int)reps, 95);
            printf("  %-7s %12.3f %12.3f %14.3f %14.3f %9.2fx %zu / %s\n", ranges[r].name, p50, p95,
                   b50, b95, b50 / p50, rows, tiers[tier]);
        } else {
            printf("  %-7s %12.3f %12.3f %14s %14s %10s %zu / %s\n", ranges[r].name, p50, p95, "-",
                   "-", "-", rows, tiers[tier]);
        }
        printf("result %s p50 %.3f p95 %.3f\n", ranges[r].name, p50, p95);
    }
    printf("  targets: -7d p50 <= 20 ms, -1h p50 <= 2 ms (ratio = baseline / ours)\n");
    if (raw)
        sqlite3_close(raw);
    if (!sqlite) {
        /* The whole database: samples, series, both rollup tiers, indexes. */
        double dbb = 0, walb = 0;
        if (store_size(st, &dbb, &walb) == SM_OK)
            printf("  disk: %.1f MiB, %.1f bytes per raw point (rollups included)\n",
                   dbb / 1048576.0, dbb / (double)npoints);
    }
    store_free(st);
    free(agents);
    free(tq);
    free(tb);
    if (!sqlite)
        return 0;
    /* Bytes on disk per stored point, after a checkpoint folded the WAL in. */
    sqlite3 *db;
    if (sqlite3_open(dbstr, &db) == SQLITE_OK) {
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    struct stat sb;
    if (stat(dbstr, &sb) == 0)
        printf("  disk: %.1f MiB, %.1f bytes per raw point (rollups included)\n",
               (double)sb.st_size / 1048576.0, (double)sb.st_size / (double)npoints);
    if (path[0] == '\0')
        return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return 0;
}
