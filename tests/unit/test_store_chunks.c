/* test_store_chunks.c: raw points sealed into compressed chunks (history.h, "Chunks")
 * through store.h on SQLite: queries across sealed chunks and open rows, duplicates of
 * sealed samples, late samples merged into a sealed window, a reopen, retention, an
 * agent's removal, and damaged chunks (an error, never a crash). */
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

#define STEP_MS 5000LL
#define HOURS 7
/* The end of the data: a round time plus 13 min 21 s, so windows are not aligned. */
#define END_MS (1795000000000LL / 7200000 * 7200000 + 801000LL)
#define START_MS (END_MS - HOURS * 3600000LL)
#define NSER 4

static const char *const names[NSER] = {"cpu.usage", "mem.used_percent", "net.rx_bytes_per_s",
                                        "cpu.load1"};

static double
gen(int k, int64_t t)
{
    if (k == 0)
        return round(500.0 + 400.0 * sin((double)t / 900000.0)) / 10.0; /* percent to 0.1 */
    if (k == 1)
        return 42.25;
    if (k == 3)
        return 1.0 + sin((double)t / 777777.0); /* no short decimal: XOR */
    return (double)((t / STEP_MS) % 1000) * 1024.0;
}

/* Extra points (late samples) added to the truth. */
struct extra {
    int64_t t;
    double v[NSER];
};
static struct extra extras[8];
static size_t nextras;

static char dbpath[256];

static struct store *
open_store(void)
{
    struct store *st = NULL;
    char *cause = NULL;
    if (store_open(dbpath, &st, &cause) != SM_OK) {
        fprintf(stderr, "open: %s\n", cause ? cause : "?");
        exit(1);
    }
    return st;
}

static enum sm_rc
write_samples(struct store *st, int64_t agent, const int64_t *ts, size_t n, size_t *stored,
              size_t *dups)
{
    struct store_sample *smp = calloc(n, sizeof *smp);
    struct store_point *p = calloc(n * NSER, sizeof *p);
    if (!smp || !p)
        abort();
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < NSER; k++)
            p[i * NSER + k] = (struct store_point){names[k], "", gen(k, ts[i])};
        smp[i] = (struct store_sample){ts[i], NSER, p + i * NSER};
    }
    for (size_t e = 0; e < nextras; e++)
        for (size_t i = 0; i < n; i++)
            if (extras[e].t == ts[i])
                for (int k = 0; k < NSER; k++)
                    p[i * NSER + k].value = extras[e].v[k];
    struct store_batch b = {
        .agent_id = agent, .now = ts[n - 1] / 1000, .nsamples = n, .samples = smp};
    char *cause = NULL;
    enum sm_rc rc = store_begin(st);
    if (rc == SM_OK)
        rc = store_batch_write(st, &b, stored, dups, &cause);
    if (rc != SM_OK)
        diag("write at %lld: %d", (long long)ts[0], (int)rc);
    if (rc == SM_OK)
        rc = store_commit(st);
    else
        store_rollback(st);
    if (cause)
        diag("write: %s", cause);
    free(cause);
    free(smp);
    free(p);
    return rc;
}

/* The true points of series k in [a, b) from keep_from on: the grid and the late ones. */
static size_t
expected(int k, int64_t a, int64_t b, int64_t keep_from, int64_t *t, double *v, size_t cap)
{
    size_t n = 0;
    int64_t lo = a > keep_from ? a : keep_from;
    int64_t g =
        lo <= START_MS ? START_MS : START_MS + (lo - START_MS + STEP_MS - 1) / STEP_MS * STEP_MS;
    for (; g < b && g < END_MS && n < cap; g += STEP_MS) {
        t[n] = g;
        v[n++] = gen(k, g);
        for (size_t e = 0; e < nextras; e++)
            if (extras[e].t == g)
                v[n - 1] = extras[e].v[k];
    }
    for (size_t e = 0; e < nextras && n < cap; e++)
        if (extras[e].t >= lo && extras[e].t < b && (extras[e].t - START_MS) % STEP_MS != 0) {
            t[n] = extras[e].t;
            v[n++] = extras[e].v[k];
        }
    return n;
}

#define XCAP 8192
static int64_t xt[XCAP];
static double xv[XCAP];

/* A raw-tier query of series k over [a, b) (a on a whole second) against the truth,
 * point by point: each point alone in its one-second bucket. */
static void
check_raw(struct store *st, int64_t agent, int k, int64_t a, int64_t b, int64_t keep_from,
          const char *label)
{
    struct history_result r;
    size_t points = (size_t)((b - a) / 1000);
    enum sm_rc rc = store_history_query(st, agent, names[k], "", a, b, points, &r);
    if (rc != SM_OK) {
        ok(0, "%s: query (%d)", label, (int)rc);
        return;
    }
    size_t want = expected(k, a, b, keep_from, xt, xv, XCAP), bad = 0;
    for (size_t j = 0; j < want; j++) {
        int64_t bt = a + (xt[j] - a) / 1000 * 1000;
        int found = 0;
        for (size_t i = 0; i < r.n; i++)
            if (r.b[i].t == bt && r.b[i].n == 1 && r.b[i].avg == xv[j])
                found = 1;
        bad += !found;
    }
    ok(r.tier == HISTORY_RAW && r.n == want && bad == 0, "%s: %zu points (want %zu), %zu wrong",
       label, r.n, want, bad);
    history_result_done(&r);
}

/* A minute-tier query of series k over [a, b) (whole minutes) against the true averages. */
static void
check_minutes(struct store *st, int64_t agent, int k, int64_t a, int64_t b, const char *label)
{
    struct history_result r;
    enum sm_rc rc =
        store_history_query(st, agent, names[k], "", a, b, (size_t)((b - a) / 60000), &r);
    if (rc != SM_OK) {
        ok(0, "%s: query (%d)", label, (int)rc);
        return;
    }
    size_t bad = 0, want = 0;
    for (int64_t m = a; m < b; m += 60000) {
        size_t np = expected(k, m, m + 60000, INT64_MIN, xt, xv, XCAP);
        double sum = 0;
        for (size_t j = 0; j < np; j++)
            sum += xv[j];
        if (np == 0)
            continue;
        want++;
        int found = 0;
        for (size_t i = 0; i < r.n; i++)
            if (r.b[i].t == m && r.b[i].n == (int64_t)np &&
                fabs(r.b[i].avg - sum / (double)np) < 1e-9)
                found = 1;
        bad += !found;
    }
    ok(r.tier == HISTORY_MINUTE && r.n == want && bad == 0, "%s: %zu minutes (want %zu), %zu wrong",
       label, r.n, want, bad);
    history_result_done(&r);
}

static int64_t
sql_count(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t n = -1;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void
sql_exec(const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open(dbpath, &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        abort();
    sqlite3_close(db);
}

/* Rewrite every other sample row (by agent and time) in point blob version 1, as an
 * smserver before version 2 wrote it, with the same points; returns the rows rewritten
 * and sets *v1 and *v2 to the rows of each version after it (-1 on an error). */
static int64_t
rows_to_v1(int64_t *v1, int64_t *v2)
{
    sqlite3 *db;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int64_t done = -1, i = 0;
    struct history_pair pairs[NSER + 1];
    uint8_t old[1 + 10 + (NSER + 1) * 18];
    if (sqlite3_open(dbpath, &db) != SQLITE_OK)
        abort();
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT agent_id, ts, data FROM samples ORDER BY agent_id, ts", -1,
                           &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE samples SET data = ?3 WHERE agent_id = ?1 AND ts = ?2", -1,
                           &upd, NULL) != SQLITE_OK)
        goto out;
    done = 0;
    while (sqlite3_step(sel) == SQLITE_ROW) {
        if (i++ % 2)
            continue;
        size_t n = 0, len = 0;
        if (history_blob_decode(sqlite3_column_blob(sel, 2), (size_t)sqlite3_column_bytes(sel, 2),
                                pairs, NSER + 1, &n) != SM_OK) {
            done = -1;
            break;
        }
        /* Version 1: the count, then each id delta and its 8-byte little-endian double. */
        old[len++] = 1;
        old[len++] = (uint8_t)n;
        for (size_t j = 0; j < n; j++) {
            uint64_t u;
            old[len++] = (uint8_t)(pairs[j].series - (j ? pairs[j - 1].series : 0));
            memcpy(&u, &pairs[j].value, sizeof u);
            for (int b = 0; b < 8; b++)
                old[len++] = (uint8_t)(u >> (8 * b));
        }
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 1));
        sqlite3_bind_blob(upd, 3, old, (int)len, SQLITE_TRANSIENT);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            done = -1;
            break;
        }
        sqlite3_reset(upd);
        done++;
    }
    if (done >= 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        done = -1;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_close(db);
    *v1 = sql_count("SELECT count(*) FROM samples WHERE substr(data, 1, 1) = x'01'");
    *v2 = sql_count("SELECT count(*) FROM samples WHERE substr(data, 1, 1) = x'02'");
    return done;
}

static size_t
maintain(struct store *st, int64_t now)
{
    size_t work = 1, total = 0;
    for (int i = 0; i < 1000 && work > 0; i++) {
        if (store_rollup(st, now, 1000, &work) != SM_OK)
            break;
        total += work;
    }
    return total;
}

int
main(void)
{
    sm_log_init("test_store_chunks");
    sm_log_set_level(SM_LOG_ERROR);
    store_init();
    char dir[] = "/tmp/test_store_chunks.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(dbpath, sizeof dbpath, "%s/sm.db", dir);
    struct store *st = open_store();
    struct store_user u;
    struct store_agent ag, ag2;
    uint8_t h1[STORE_HASH_LEN] = {1}, h2[STORE_HASH_LEN] = {2};
    if (store_user_add(st, "u", "$argon2id$x", END_MS / 1000, &u) != SM_OK ||
        store_agent_add(st, u.id, "a1", h1, END_MS / 1000, &ag) != SM_OK ||
        store_agent_add(st, u.id, "a2", h2, END_MS / 1000, &ag2) != SM_OK)
        return 1;
    store_agent_done(&ag);
    store_agent_done(&ag2);

    /* 7 hours of 5 s samples, in batches of 60. */
    size_t n = (size_t)((END_MS - START_MS) / STEP_MS), stored = 0, dups = 0, all = 0;
    int64_t *ts = malloc(n * sizeof *ts);
    for (size_t i = 0; i < n; i++)
        ts[i] = START_MS + (int64_t)i * (int64_t)STEP_MS;
    int wrote = 1;
    for (size_t i = 0; i < n; i += 60) {
        size_t k = n - i < 60 ? n - i : 60;
        wrote &= write_samples(st, ag.id, ts + i, k, &stored, &dups) == SM_OK && stored == k;
        wrote &= write_samples(st, ag2.id, ts + i, k, &stored, &dups) == SM_OK;
        all += k;
    }
    ok(wrote && all == n, "%zu samples written for each of two agents", n);

    int64_t ns = 0, np = 0;
    /* An older smserver's rows: half the samples in point blob version 1, read by this
     * one after a restart, so everything below (rollups, sealing, queries, retention)
     * runs over a database with both versions. */
    ok(sql_count("SELECT count(*) FROM samples WHERE substr(data, 1, 1) != x'02'") == 0,
       "every new sample row is written in blob version 2");
    store_free(st);
    int64_t v1 = 0, v2 = 0, conv = rows_to_v1(&v1, &v2);
    ok(conv > 0 && v1 == conv && v2 > 0 && v1 + v2 == 2 * (int64_t)n,
       "%lld rows rewritten in version 1, %lld left in version 2", (long long)v1, (long long)v2);
    st = open_store();
    enum sm_rc crc = store_count(st, &ns, &np);
    ok(crc == SM_OK && ns == 2 * (int64_t)n && np == 2 * NSER * (int64_t)n,
       "mixed versions: counts %lld samples, %lld points", (long long)ns, (long long)np);
    check_raw(st, ag.id, 0, START_MS, START_MS + 600000, INT64_MIN, "mixed versions: raw rows");

    /* Before sealing: everything is rows. */
    ok(sql_count("SELECT count(*) FROM chunks") == 0, "no chunks before maintenance");
    int64_t now = END_MS + 5 * 60000;
    size_t work = maintain(st, now);
    int64_t open_w = history_window_of(END_MS - STEP_MS);
    int64_t first_w = history_window_of(START_MS);
    int64_t nwin = (open_w - first_w) / HISTORY_CHUNK_WINDOW_MS;
    int64_t chunks = sql_count("SELECT count(*) FROM chunks");
    ok(work > 0 && chunks == nwin * NSER * 2, "%lld chunks sealed (want %lld: %lld windows)",
       (long long)chunks, (long long)(nwin * NSER * 2), (long long)nwin);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts < %lld", (long long)open_w);
    ok(sql_count(sql) == 0, "no rows left in sealed windows");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts >= %lld", (long long)open_w);
    size_t in_open = 0;
    for (size_t i = 0; i < n; i++)
        in_open += ts[i] >= open_w;
    ok(sql_count(sql) == 2 * (int64_t)in_open, "the open window stays rows (%lld)",
       (long long)sql_count(sql));
    ok(store_count(st, &ns, &np) == SM_OK && ns == 2 * (int64_t)n && np == 2 * NSER * (int64_t)n,
       "counts kept: %lld samples, %lld points", (long long)ns, (long long)np);
    int64_t bytes = sql_count("SELECT sum(length(data)) FROM chunks");
    int64_t sealed_pts = sql_count("SELECT sum(n) FROM chunks");
    /* Three short-decimal series and one of full doubles (XOR, ~6 bytes a point here). */
    ok(bytes > 0 && (double)bytes / (double)sealed_pts < 3.0, "sealed: %.3f bytes per point",
       (double)bytes / (double)sealed_pts);

    /* Queries across sealed chunks and open rows, raw and by minute. */
    for (int k = 0; k < NSER; k++) {
        char label[96];
        snprintf(label, sizeof label, "%s raw across the open window's start", names[k]);
        check_raw(st, ag.id, k, open_w - 600000, open_w + 600000, INT64_MIN, label);
        snprintf(label, sizeof label, "%s raw across two sealed windows", names[k]);
        check_raw(st, ag.id, k, first_w + HISTORY_CHUNK_WINDOW_MS - 300000,
                  first_w + HISTORY_CHUNK_WINDOW_MS + 300000, INT64_MIN, label);
        snprintf(label, sizeof label, "%s by minute, all of it", names[k]);
        check_minutes(st, ag.id, k, START_MS / 60000 * 60000, END_MS / 60000 * 60000 + 60000,
                      label);
    }
    check_raw(st, ag2.id, 0, START_MS, START_MS + 900000, INT64_MIN, "agent 2 raw, sealed");

    /* A resend of a sealed sample is a duplicate; a late new sample is stored. */
    int64_t sealed_t = first_w + HISTORY_CHUNK_WINDOW_MS + 36000; /* on the grid */
    ok(write_samples(st, ag.id, &sealed_t, 1, &stored, &dups) == SM_OK && stored == 0 && dups == 1,
       "a sealed sample sent again is a duplicate (%zu stored, %zu dups)", stored, dups);
    int64_t late_t = sealed_t + 2500;
    extras[nextras++] = (struct extra){late_t, {77.5, 1.0, 3.0, 0.125}};
    ok(write_samples(st, ag.id, &late_t, 1, &stored, &dups) == SM_OK && stored == 1 && dups == 0,
       "a late sample into a sealed window is stored");
    ok(write_samples(st, ag.id, &late_t, 1, &stored, &dups) == SM_OK && stored == 0 && dups == 1,
       "and is a duplicate while still a row");
    check_raw(st, ag.id, 0, sealed_t - 60000, sealed_t + 60000, INT64_MIN,
              "late row beside sealed points");
    /* The re-roll of its minute (after the quiet period) reads chunks and rows. */
    maintain(st, now + HISTORY_DIRTY_QUIET_MS + 1000);
    check_minutes(st, ag.id, 0, sealed_t / 60000 * 60000 - 120000,
                  sealed_t / 60000 * 60000 + 180000, "late minute re-rolled from chunks and rows");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts = %lld", (long long)late_t);
    ok(sql_count(sql) == 0, "the late row was merged into the window's chunks");
    ok(write_samples(st, ag.id, &late_t, 1, &stored, &dups) == SM_OK && stored == 0 && dups == 1,
       "the late sample sent again after its merge is a duplicate");
    check_raw(st, ag.id, 0, sealed_t - 60000, sealed_t + 60000, INT64_MIN,
              "late point inside the merged chunk");
    ok(store_count(st, &ns, &np) == SM_OK && ns == 2 * (int64_t)n + 1 &&
           np == 2 * NSER * (int64_t)n + NSER,
       "counts after the merge: %lld samples, %lld points", (long long)ns, (long long)np);

    /* TEST_STORE_CHUNKS_COPY=FILE keeps a copy of the database here (for smdb.py). */
    const char *copy = getenv("TEST_STORE_CHUNKS_COPY");
    if (copy && strlen(copy) < 200) {
        snprintf(sql, sizeof sql, "VACUUM INTO '%s'", copy);
        sql_exec(sql);
    }

    /* A restart: nothing is lost, the open window included. */
    store_free(st);
    st = open_store();
    ok(store_count(st, &ns, &np) == SM_OK && ns == 2 * (int64_t)n + 1, "reopened: %lld samples",
       (long long)ns);
    check_raw(st, ag.id, 1, open_w - 300000, END_MS, INT64_MIN, "reopened: raw across both");
    int64_t open_t = END_MS - STEP_MS;
    ok(write_samples(st, ag.id, &open_t, 1, &stored, &dups) == SM_OK && dups == 1,
       "reopened: an open-window resend is a duplicate");

    /* Damaged chunks: the query fails with an error, others still answer. */
    snprintf(sql, sizeof sql,
             "UPDATE chunks SET data = substr(data, 1, 6) WHERE series_id = (SELECT id FROM series"
             " WHERE agent_id = %lld AND name = 'cpu.usage') AND t0 >= %lld AND t0 < %lld",
             (long long)ag.id, (long long)first_w, (long long)(first_w + HISTORY_CHUNK_WINDOW_MS));
    sql_exec(sql);
    struct history_result r;
    ok(store_history_query(st, ag.id, "cpu.usage", "", START_MS, START_MS + 600000, 600, &r) ==
           SM_EIO,
       "a truncated chunk: the query is SM_EIO");
    history_result_done(&r);
    snprintf(sql, sizeof sql,
             "UPDATE chunks SET data = x'ff' || substr(data, 2) WHERE series_id = (SELECT id"
             " FROM series WHERE agent_id = %lld AND name = 'mem.used_percent')",
             (long long)ag.id);
    sql_exec(sql);
    ok(store_history_query(st, ag.id, "mem.used_percent", "", START_MS, START_MS + 600000, 600,
                           &r) == SM_EIO,
       "a chunk of an unknown version: SM_EIO");
    history_result_done(&r);
    check_raw(st, ag.id, 2, START_MS, START_MS + 600000, INT64_MIN,
              "an intact series still answers");
    snprintf(sql, sizeof sql,
             "UPDATE chunk_samples SET data = x'01' WHERE agent_id = %lld AND t0 < %lld",
             (long long)ag2.id, (long long)(first_w + HISTORY_CHUNK_WINDOW_MS));
    sql_exec(sql);
    int64_t t2 = START_MS + STEP_MS;
    ok(write_samples(st, ag2.id, &t2, 1, &stored, &dups) == SM_EIO,
       "a resend over damaged sample times is refused, not stored twice");

    /* Retention: the raw cut falls inside a sealed window of agent 2. */
    int64_t cut = first_w + HISTORY_CHUNK_WINDOW_MS + 1800000 + 2500;
    struct history_retention keep = {(double)(now - cut) / 1000.0, 1e9, 1e9};
    size_t deleted = 0, total_del = 0;
    for (int i = 0; i < 10; i++) {
        if (store_retain(st, now, &keep, 64, &deleted) != SM_OK)
            break;
        total_del += deleted;
    }
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM chunks c JOIN series s ON s.id = c.series_id WHERE"
             " s.agent_id = %lld AND c.t0 < %lld",
             (long long)ag2.id, (long long)cut);
    ok(total_del > 0 && sql_count(sql) == 0,
       "retention: no chunk of agent 2 starts before the cut");
    check_raw(st, ag2.id, 0, cut - 600000, cut + 600000, cut, "retention: raw across the cut");
    snprintf(sql, sizeof sql, "SELECT sum(n) FROM chunk_samples WHERE agent_id = %lld",
             (long long)ag.id);
    int64_t left = sql_count(sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE agent_id = %lld AND ts >= %lld",
             (long long)ag.id, (long long)cut);
    int64_t rows = sql_count(sql);
    /* Agent 1's window across the cut has a damaged chunk (above): kept whole. */
    int64_t wc = history_window_of(cut);
    int64_t want_left = late_t >= wc;
    for (size_t i = 0; i < n; i++)
        want_left += ts[i] >= wc && ts[i] < open_w;
    ok(left == want_left && rows > 0,
       "retention: agent 1 keeps %lld sealed sample times (want %lld: its damaged window whole)",
       (long long)left, (long long)want_left);

    /* An agent's removal takes its chunks. */
    ok(store_agent_delete(st, u.id, ag2.id) == SM_OK, "agent 2 deleted");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM chunk_samples WHERE agent_id = %lld",
             (long long)ag2.id);
    ok(sql_count(sql) == 0 &&
           sql_count(
               "SELECT count(*) FROM chunks WHERE series_id NOT IN (SELECT id FROM series)") == 0,
       "its chunks are gone");
    char *cause = NULL;
    ok(store_check(st, &cause) == SM_OK, "integrity check");
    free(cause);
    store_free(st);
    free(ts);
    snprintf(sql, sizeof sql, "rm -rf '%s'", dir);
    if (system(sql) != 0)
        diag("cannot remove %s", dir);
    return tap_done();
}
