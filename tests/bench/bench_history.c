/* bench_history.c: history query latency at -1h, -24h and -7d (points=500) on 7 days of
 * 10-second samples of one agent, through the real store (rollups as the server keeps
 * them), beside one plain pass over the raw rows as the baseline. Also reports
 * bytes on disk per stored point.
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

#define STEP_MS 10000LL
#define DAYS 7
#define NSERIES 24 /* a realistic agent: cpu, cores, memory, filesystems, disks, interfaces */

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
    char dir[] = "/tmp/smbench.XXXXXX";
    if (mkdtemp(dir) == NULL)
        sm_die(1, "mkdtemp failed");
    char path[64];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    struct store *st;
    char *cause = NULL;
    if (store_open(path, &st, &cause) != SM_OK)
        sm_die(1, "%s", cause);
    /* One user, one agent, NSERIES series, 7 days of 10 s points, in daily transactions. */
    uint8_t hash[STORE_HASH_LEN] = {1};
    struct store_user u;
    struct store_agent a;
    if (store_user_add(st, "bench", "x", 0, &u) != SM_OK ||
        store_agent_add(st, u.id, "bench", hash, 0, &a) != SM_OK)
        sm_die(1, "cannot create the agent");
    int64_t now = (int64_t)(sm_wall_now() * 1000), start = now - DAYS * 86400000LL;
    char names[NSERIES][32];
    struct store_point pts[NSERIES];
    for (int i = 0; i < NSERIES; i++) {
        snprintf(names[i], sizeof names[i], i == 0 ? "cpu.usage" : "bench.s%d", i);
        pts[i] = (struct store_point){.name = names[i], .labels = ""};
    }
    double t0 = sm_mono_now();
    int64_t npoints = 0;
    for (int64_t day = start; day < now; day += 86400000LL) {
        size_t n = 0, cap = 8640;
        struct store_sample *samples = calloc(cap, sizeof *samples);
        for (int64_t t = day; t < day + 86400000LL && t < now; t += STEP_MS) {
            samples[n].ts_ms = t;
            samples[n].npoints = NSERIES;
            samples[n].points = malloc(sizeof pts);
            memcpy(samples[n].points, pts, sizeof pts);
            for (int i = 0; i < NSERIES; i++)
                samples[n].points[i].value = 50 + 40 * sin((double)t / 3.6e6 + i);
            n++;
        }
        struct store_batch b = {
            .agent_id = a.id, .now = now / 1000, .nsamples = n, .samples = samples};
        size_t stored, dups;
        if (store_begin(st) != SM_OK ||
            store_batch_write(st, &b, &stored, &dups, &cause) != SM_OK || store_commit(st) != SM_OK)
            sm_die(1, "insert failed: %s", cause ? cause : "");
        npoints += (int64_t)stored * NSERIES;
        for (size_t i = 0; i < n; i++)
            free(samples[i].points);
        free(samples);
    }
    double t_insert = sm_mono_now() - t0;
    t0 = sm_mono_now();
    size_t work = 1;
    while (work > 0)
        if (store_rollup(st, now, 100000, &work) != SM_OK)
            sm_die(1, "rollup failed");
    double t_rollup = sm_mono_now() - t0;

    /* Another connection for the baseline, as a query worker would have. */
    sqlite3 *raw;
    if (sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        sm_die(1, "cannot open %s", path);
    static const struct {
        const char *name;
        int64_t span;
    } ranges[] = {{"-1h", 3600000LL}, {"-24h", 86400000LL}, {"-7d", 7 * 86400000LL}};
    printf("bench history: 1 agent, %d series, %d days of 10 s samples = %lld points "
           "(insert %.1f s, rollup %.1f s)\n",
           NSERIES, DAYS, (long long)npoints, t_insert, t_rollup);
    printf("  %-5s %12s %12s %14s %14s %10s %s\n", "range", "p50 ms", "p95 ms", "baseline p50",
           "baseline p95", "ratio", "rows read / tier");
    double *tq = calloc((size_t)reps, sizeof *tq), *tb = calloc((size_t)reps, sizeof *tb);
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        size_t rows = 0;
        enum history_tier tier = HISTORY_RAW;
        for (long i = 0; i < reps; i++) {
            struct history_result res;
            double q0 = sm_mono_now();
            if (store_history_query(st, a.id, "cpu.usage", "", now - ranges[r].span, now, 500,
                                    &res) != SM_OK)
                sm_die(1, "query failed");
            tq[i] = (sm_mono_now() - q0) * 1000;
            rows = res.rows_read;
            tier = res.tier;
            history_result_done(&res);
            q0 = sm_mono_now();
            baseline(raw, a.id, 1, now - ranges[r].span, now, 500);
            tb[i] = (sm_mono_now() - q0) * 1000;
        }
        double p50 = pct(tq, (int)reps, 50), p95 = pct(tq, (int)reps, 95);
        double b50 = pct(tb, (int)reps, 50), b95 = pct(tb, (int)reps, 95);
        static const char *const tiers[] = {"raw", "minute", "hour"};
        printf("  %-5s %12.3f %12.3f %14.3f %14.3f %9.2fx %zu / %s\n", ranges[r].name, p50, p95,
               b50, b95, b50 / p50, rows, tiers[tier]);
    }
    printf("  targets: -7d p50 <= 20 ms, -1h p50 <= 2 ms (ratio = baseline / ours)\n");
    sqlite3_close(raw);
    store_free(st);
    /* Bytes on disk per stored point, after a checkpoint folded the WAL in. */
    sqlite3 *db;
    if (sqlite3_open(path, &db) == SQLITE_OK) {
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    struct stat sb;
    if (stat(path, &sb) == 0)
        printf("  disk: %.1f MiB, %.1f bytes per raw point (rollups included)\n",
               (double)sb.st_size / 1048576.0, (double)sb.st_size / (double)npoints);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    free(tq);
    free(tb);
    return 0;
}
