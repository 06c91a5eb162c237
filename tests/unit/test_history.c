/* test_history.c: rollups, queries at every range, late data and retention, on known
 * synthetic series (a constant and a sine wave) checked against true bucket averages. */
#include "config.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smserver/history.h"
#include "tap.h"

#define STEP_MS 10000LL
#define DAY_MS 86400000LL
#define DAYS 8
/* The end of the data: a round time plus 7 min 17 s, so ranges are not aligned. */
#define END_MS (1795000000000LL / DAY_MS * DAY_MS + 437000LL)
#define START_MS (END_MS - DAYS * DAY_MS)

static double
sine(int64_t t)
{
    return 50.0 + 40.0 * sin(2.0 * M_PI * (double)t / (double)DAY_MS);
}

/* The first sample time at or after t (samples are START_MS + k * STEP_MS). */
static int64_t
first_at(int64_t t)
{
    if (t <= START_MS)
        return START_MS;
    return START_MS + (t - START_MS + STEP_MS - 1) / STEP_MS * STEP_MS;
}

/* A sample row of agent at t with the given points, packed as the store packs them. */
static void
add_sample(sqlite3 *db, int64_t agent, int64_t t, struct history_pair *p, size_t n)
{
    uint8_t blob[256];
    size_t len = history_blob_encode(p, n, blob);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "INSERT INTO samples VALUES(?1, ?2, ?3)", -1, &s, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_int64(s, 1, agent);
    sqlite3_bind_int64(s, 2, t);
    sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE)
        abort();
    sqlite3_finalize(s);
}

static sqlite3 *
setup(void)
{
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        abort();
    /* The store's tables that history reads (same definitions as store_sqlite.c). */
    const char *schema =
        "CREATE TABLE series(id INTEGER PRIMARY KEY, agent_id INTEGER NOT NULL, name TEXT NOT NULL,"
        " labels TEXT NOT NULL, UNIQUE(agent_id, name, labels));"
        "CREATE TABLE samples(agent_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
        " data BLOB NOT NULL DEFAULT x'0100', PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
        "INSERT INTO series VALUES(1, 7, 'const', ''), (2, 7, 'sine', ''),"
        " (3, 8, 'other', 'core=0');";
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, history_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, history_chunk_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, history_minutes_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "DROP TABLE rollup_1m", NULL, NULL, NULL) != SQLITE_OK)
        abort();
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int64_t t = START_MS; t < END_MS; t += STEP_MS) {
        /* Agent 7 has series 1 and 2 (given in reverse order), agent 8 series 3. */
        struct history_pair p7[] = {{2, sine(t)}, {1, 42.0}}, p8[] = {{3, 1.0}};
        add_sample(db, 7, t, p7, 2);
        add_sample(db, 8, t, p8, 1);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return db;
}

/* The first column of sql's first row (-1 when none). The minute tier is packed by the
 * hour; a query of rollup_1m reads it unpacked (history_minutes_expand: a TEMP table made
 * from what is stored now). */
static int64_t
count(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t n = -1;
    if (strstr(sql, "rollup_1m ") && history_minutes_expand(db) != SM_OK)
        return -2;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void
rollup_all(sqlite3 *db, int64_t now)
{
    size_t work = 1;
    int rounds = 0;
    while (work > 0 && rounds++ < 1000)
        if (history_rollup(db, now, 1000, &work) != SM_OK)
            break;
}

/* Query and compare every bucket with the true average/min/max of the generator over
 * the bucket's window (the part inside [start, stop)). */
static void
check_range(sqlite3 *db, const char *label, int64_t start, int64_t stop, size_t points,
            enum history_tier want_tier)
{
    struct history_result r;
    if (history_query(db, 2, start, stop, points, &r) != SM_OK) {
        ok(0, "%s: query", label);
        return;
    }
    ok(r.n > 0 && r.n <= points, "%s: %zu buckets (at most %zu)", label, r.n, points);
    ok(r.tier == want_tier, "%s: tier %d (want %d), %zu rows read", label, r.tier, want_tier,
       r.rows_read);
    double worst = 0, worst_mm = 0;
    int64_t total = 0;
    for (size_t i = 0; i < r.n; i++) {
        const struct history_bucket *b = &r.b[i];
        /* The bucket covers [b->t, next boundary) clipped to [start, stop). */
        int64_t lo = b->t, hi;
        if (r.tier == HISTORY_RAW)
            hi = start + ((lo - start) / r.width_ms + 1) * r.width_ms;
        else
            hi = (lo / r.width_ms + 1) * r.width_ms;
        if (hi > stop)
            hi = stop;
        double sum = 0, mn = HUGE_VAL, mx = -HUGE_VAL;
        int64_t n = 0;
        for (int64_t t = first_at(lo); t < hi; t += STEP_MS) {
            if (t < START_MS || t >= END_MS)
                continue;
            double v = sine(t);
            sum += v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            n++;
        }
        total += b->n;
        if (n != b->n) {
            diag("%s: bucket %zu at %lld has %lld points, want %lld", label, i, (long long)b->t,
                 (long long)b->n, (long long)n);
            worst = HUGE_VAL;
            break;
        }
        double d = fabs(b->avg - sum / (double)n);
        worst = d > worst ? d : worst;
        d = fabs(b->min - mn) + fabs(b->max - mx);
        worst_mm = d > worst_mm ? d : worst_mm;
    }
    ok(worst < 1e-9, "%s: bucket averages equal the true averages (worst error %g)", label, worst);
    ok(worst_mm < 1e-9, "%s: bucket min/max equal the true ones (worst error %g)", label, worst_mm);
    int64_t want_total = 0;
    for (int64_t t = first_at(start); t < stop; t += STEP_MS)
        if (t >= START_MS && t < END_MS)
            want_total++;
    ok(total == want_total, "%s: every point counted once (%lld of %lld)", label, (long long)total,
       (long long)want_total);
    history_result_done(&r);
}

/* The point blob: round trips, the encoder's rules, and malformed blobs refused. */
static void
test_blob(void)
{
    uint8_t buf[512];
    struct history_pair in[] = {{5, 1.5}, {2, -3.25},       {9, 1e300},       {5, 99.0},
                                {0, 7.0}, {3, (double)NAN}, {INT64_MAX, 0.0}, {1, 0.0}};
    size_t len = history_blob_encode(in, sizeof in / sizeof in[0], buf);
    ok(len <= history_blob_bound(8), "encoded length %zu within the bound %zu", len,
       history_blob_bound(8));
    struct history_pair out[16];
    size_t n = 0;
    enum sm_rc drc = history_blob_decode(buf, len, out, 16, &n);
    ok(drc == SM_OK && n == 5,
       "round trip: 5 pairs (id 0, NaN and the second id 5 left out), got %zu", n);
    ok(n == 5 && out[0].series == 1 && out[1].series == 2 && out[1].value == -3.25 &&
           out[2].series == 5 && out[2].value == 1.5 && out[3].series == 9 &&
           out[3].value == 1e300 && out[4].series == INT64_MAX,
       "pairs sorted by id, the first of equal ids kept, values exact");
    size_t cnt = 0;
    ok(history_blob_check(buf, len, &cnt) == SM_OK && cnt == 5, "check counts 5");
    double v = 0;
    ok(history_blob_find(buf, len, 5, &v) == SM_OK && v == 1.5, "find id 5");
    ok(history_blob_find(buf, len, INT64_MAX, &v) == SM_OK && v == 0.0, "find the largest id");
    ok(history_blob_find(buf, len, 4, &v) == SM_ENOTFOUND, "id between two is not found");
    ok(history_blob_find(buf, len, 10, &v) == SM_ENOTFOUND, "id past the last is not found");
    ok(history_blob_decode(buf, len, out, 4, &n) == SM_EINVAL, "more pairs than cap refused");

    /* Version 2: the agent's usual values in a few bytes, every value back bit for bit;
     * a blob of version 1 (the INT64_MAX id above needs it) still reads. */
    ok(buf[0] == 1, "a delta over HISTORY_BLOB_DELTA_MAX is written as version 1 (%d)", buf[0]);
    struct history_pair typ[] = {{1, 12.34},       {2, 0.0},      {3, -0.0},
                                 {4, 1.0 / 3.0},   {5, 1e300},    {6, -7.5},
                                 {7, 123456789.0}, {8, 0.000001}, {9, 3.14159}};
    size_t nt = sizeof typ / sizeof typ[0];
    uint8_t b2[256];
    size_t l2 = history_blob_encode(typ, nt, b2);
    ok(b2[0] == 2 && l2 <= history_blob_bound(nt), "version 2 written, %zu bytes", l2);
    ok(l2 < 2 + 9 * nt, "version 2 smaller than version 1 (%zu < %zu bytes)", l2, 2 + 9 * nt);
    struct history_pair back[16];
    int same = history_blob_decode(b2, l2, back, 16, &n) == SM_OK && n == nt;
    for (size_t i = 0; same && i < nt; i++)
        same = back[i].series == typ[i].series &&
               memcmp(&back[i].value, &typ[i].value, sizeof(double)) == 0;
    ok(same, "version 2 round trip bit for bit (-0.0, 1/3 and 1e300 as doubles)");
    ok(history_blob_find(b2, l2, 4, &v) == SM_OK && v == 1.0 / 3.0, "version 2 find");
    /* The same points in version 1, as an older smserver wrote them. */
    uint8_t b1[256] = {1, (uint8_t)nt};
    size_t l1 = 2;
    for (size_t i = 0; i < nt; i++) {
        uint64_t u;
        memcpy(&u, &typ[i].value, sizeof u);
        b1[l1++] = 1;
        for (int k = 0; k < 8; k++)
            b1[l1++] = (uint8_t)(u >> (8 * k));
    }
    same = history_blob_decode(b1, l1, back, 16, &n) == SM_OK && n == nt;
    for (size_t i = 0; same && i < nt; i++)
        same = back[i].series == typ[i].series &&
               memcmp(&back[i].value, &typ[i].value, sizeof(double)) == 0;
    ok(same, "a version 1 blob still decodes");
    /* A small decimal takes two bytes: the id delta with its kind, and the number. */
    struct history_pair one = {1, 1.5};
    ok(history_blob_encode(&one, 1, b2) == 4 && b2[2] == (1 * HISTORY_BLOB_KINDS + 2) &&
           b2[3] == 30,
       "1.5 as kind 2 (one decimal), m 15");

    /* A sample without points. */
    size_t elen = history_blob_encode(NULL, 0, buf + 256);
    ok(elen == 2 && history_blob_check(buf + 256, elen, &cnt) == SM_OK && cnt == 0,
       "empty blob: 2 bytes, 0 pairs");

    /* Every strict prefix and every extension of a valid blob is refused. */
    int bad = 0;
    for (size_t i = 0; i < len; i++)
        bad += history_blob_check(buf, i, &cnt) != SM_EINVAL;
    ok(bad == 0, "every truncation refused (%d accepted)", bad);
    buf[len] = 0;
    ok(history_blob_check(buf, len + 1, &cnt) == SM_EINVAL, "a trailing byte refused");
    ok(history_blob_check(NULL, 0, &cnt) == SM_EINVAL, "NULL blob refused");

    /* Hand-made malformed blobs. */
    static const struct {
        const char *what;
        uint8_t b[24];
        size_t len;
    } cases[] = {
        {"version 0", {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 11},
        {"version 3", {3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 11},
        {"version 2, id delta 0", {2, 1, 1, 2}, 4},
        {"version 2, decimal cut short", {2, 1, 0x0b, 0x80}, 4},
        {"version 2, decimal over 2^53",
         {2, 1, 0x09, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
         12},
        {"version 2, double cut short", {2, 1, 0x08, 0, 0, 0, 0, 0, 0, 0}, 10},
        {"version 2, NaN double", {2, 1, 0x08, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 11},
        {"first id 0", {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 11},
        {"repeated id (delta 0)", {1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 20},
        {"count larger than the pairs", {1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 11},
        {"count over the cap", {1, 0x81, 0x80, 0x04, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 13},
        {"truncated count varint", {1, 0x80}, 2},
        {"redundant zero varint byte", {1, 0x81, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 12},
        {"varint over 10 bytes",
         {1,    1,    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
          0x80, 0x01, 0,    0,    0,    0,    0,    0,    0,    0},
         21},
        {"id over 64 bits",
         {1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0},
         20},
        {"id over INT64_MAX",
         {1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0},
         20},
        {"NaN value", {1, 1, 1, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 11},
        {"infinite value", {1, 1, 1, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, 11},
        {"value cut short", {1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ok(history_blob_check(cases[i].b, cases[i].len, &cnt) == SM_EINVAL &&
               history_blob_decode(cases[i].b, cases[i].len, out, 16, &n) == SM_EINVAL,
           "malformed: %s", cases[i].what);
    }
    /* find stops early but never reads past a malformed part it reaches. */
    ok(history_blob_find(cases[8].b, cases[8].len, 7, &v) == SM_EINVAL,
       "find reaching a repeated id reports it malformed");
    ok(history_blob_find(cases[18].b, cases[18].len, 1, &v) == SM_EINVAL,
       "find on a cut value reports it malformed");

    /* Random damage: never a crash (ASan), and decode agrees with check. */
    srand(7);
    struct history_pair many[40];
    for (int i = 0; i < 40; i++)
        many[i] = (struct history_pair){1 + i * 3, i * 1.25};
    len = history_blob_encode(many, 40, buf);
    int disagree = 0;
    for (int round = 0; round < 20000; round++) {
        uint8_t m[512];
        memcpy(m, buf, len);
        for (int k = 0; k < 1 + round % 3; k++)
            m[(size_t)rand() % len] = (uint8_t)rand();
        size_t ml = len - (size_t)(round % 5 == 0 ? rand() % 4 : 0);
        struct history_pair big[64];
        enum sm_rc a = history_blob_check(m, ml, &cnt), b = history_blob_decode(m, ml, big, 64, &n);
        disagree += a != b || (a == SM_OK && n != cnt);
        /* A blob that checks finds what it decodes. */
        if (a == SM_OK && n > 0)
            disagree += history_blob_find(m, ml, big[n / 2].series, &v) != SM_OK ||
                        memcmp(&v, &big[n / 2].value, sizeof v) != 0;
    }
    ok(disagree == 0, "random damage: decode and check agree (%d differ)", disagree);
}

/* Replay: samples back-filled into rolled-up minutes (spanning an hour) in two waves, as
 * a replaying agent sends them. Their minutes wait while late samples keep coming
 * (queries read them raw meanwhile), then are re-rolled exactly once it is quiet. */
static void
test_replay(void)
{
    sqlite3 *db = setup();
    int64_t now = END_MS + 5 * 60000;
    rollup_all(db, now);
    int64_t hour = (START_MS + 2 * DAY_MS) / 3600000 * 3600000, m0 = hour / 60000 - 2;
    for (int wave = 0; wave < 2; wave++) {
        for (int64_t m = m0; m < m0 + 4; m++)
            for (int j = 0; j < 3; j++) {
                int64_t t = m * 60000 + 2000 + (wave * 3 + j) * 10000;
                struct history_pair p[] = {{1, 1000.0}};
                add_sample(db, 7, t, p, 1);
                if (history_note_sample_at(db, 7, t, now + wave * 10000) != SM_OK)
                    abort();
            }
        rollup_all(db, now + wave * 10000 + HISTORY_DIRTY_QUIET_MS - 5000);
        ok(count(db, "SELECT count(*) FROM rollup_dirty") == 4,
           "wave %d: the replayed minutes wait while late samples keep coming", wave + 1);
    }
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT max(max) FROM rollup_1m WHERE series_id = 1 AND bucket >= %lld",
             (long long)m0);
    ok(count(db, sql) == 42, "their minute rows are not re-rolled yet");
    struct history_result r;
    ok(history_query(db, 1, m0 * 60000, (m0 + 4) * 60000, 4, &r) == SM_OK && r.n == 4 &&
           r.b[0].max == 1000 && r.b[3].max == 1000 && r.b[1].avg == (6 * 42.0 + 6 * 1000.0) / 12,
       "a query meanwhile is exact (from the raw rows)");
    history_result_done(&r);

    rollup_all(db, now + 10000 + HISTORY_DIRTY_QUIET_MS);
    ok(count(db, "SELECT count(*) FROM rollup_dirty") == 0, "re-rolled after the quiet period");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM rollup_1m WHERE series_id = 1 AND bucket >= %lld AND"
             " bucket < %lld AND n = 12 AND max = 1000 AND min = 42 AND sum = %f",
             (long long)m0, (long long)m0 + 4, 6 * 42.0 + 6 * 1000.0);
    ok(count(db, sql) == 4, "each replayed minute exact: 6 + 6 points, min, max, sum");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM rollup_1m WHERE series_id = 2 AND bucket >= %lld AND"
             " bucket < %lld AND n = 6",
             (long long)m0, (long long)m0 + 4);
    ok(count(db, sql) == 4, "the agent's other series unchanged");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM rollup_1h WHERE series_id = 1 AND bucket IN (%lld, %lld)"
             " AND n = 372 AND max = 1000",
             (long long)(hour / 3600000 - 1), (long long)(hour / 3600000));
    ok(count(db, sql) == 2, "both hours exact (360 + 12 points each)");

    /* Late samples that never stop: a minute still waits no longer than the longest wait. */
    int64_t t = now + 100000, late = m0 * 60000 + 1000;
    struct history_pair p[] = {{1, 2000.0}};
    add_sample(db, 7, late, p, 1);
    if (history_note_sample_at(db, 7, late, t) != SM_OK)
        abort();
    int waited = 1, rerolled = 0;
    for (int64_t at = t; at <= t + HISTORY_DIRTY_WAIT_MS + 20000; at += 10000) {
        if (history_note_sample_at(db, 8, late, at) != SM_OK) /* agent 8: keeps it busy */
            abort();
        rollup_all(db, at + 1000);
        int left = count(db, "SELECT count(*) FROM rollup_dirty WHERE agent_id = 7") != 0;
        if (!left && !rerolled) {
            rerolled = 1;
            waited = at - t >= HISTORY_DIRTY_WAIT_MS - 10000;
        }
    }
    ok(rerolled && waited, "re-rolled after the longest wait, not before (%d, %d)", rerolled,
       waited);
    snprintf(sql, sizeof sql, "SELECT max FROM rollup_1m WHERE series_id = 1 AND bucket = %lld",
             (long long)m0);
    ok(count(db, sql) == 2000, "with the point that came in during the wait");

    /* A writer clock ahead of the rollup's (the clock went back) does not hold re-rolls. */
    add_sample(db, 7, late + 500, p, 1);
    if (history_note_sample_at(db, 7, late + 500, t + 3600000) != SM_OK)
        abort();
    rollup_all(db, t + HISTORY_DIRTY_WAIT_MS + 40000);
    ok(count(db, "SELECT count(*) FROM rollup_dirty") == 0, "a clock that went back re-rolls");
    sqlite3_close(db);
}

/* Schema 7's step: minute rows of schema 6 packed by the hour, the counts checked, the
 * rows dropped; every minute comes back bit for bit, and a row no rollup wrote (n 0) is
 * left behind. Then a damaged packed hour fails a minute-tier query. */
static void
test_pack_migration(void)
{
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "CREATE TABLE series(id INTEGER PRIMARY KEY, agent_id INTEGER NOT NULL,"
                     " name TEXT NOT NULL, labels TEXT NOT NULL);"
                     "CREATE TABLE samples(agent_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
                     " data BLOB NOT NULL, PRIMARY KEY(agent_id, ts)) WITHOUT ROWID;"
                     "INSERT INTO series VALUES(1, 7, 'a', ''), (2, 7, 'b', '');",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, history_schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, history_chunk_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        abort();
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO rollup_1m VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &ins,
                           NULL) != SQLITE_OK)
        abort();
    int64_t m0 = START_MS / 60000 / 60 * 60, rows = 0;
    for (int64_t k = 0; k < 5 * 60; k++)
        for (int64_t sid = 1; sid <= 2; sid++) {
            if (sid == 2 && k % 7 == 3)
                continue; /* gaps */
            sqlite3_reset(ins);
            sqlite3_bind_int64(ins, 1, sid);
            sqlite3_bind_int64(ins, 2, m0 + k * (sid == 1 ? 1 : 3)); /* series 2 spans 15 h */
            sqlite3_bind_int64(ins, 3, 6 + k % 3);
            sqlite3_bind_double(ins, 4, sine(k * 60000) * 6 + 0.1 * (double)k);
            sqlite3_bind_double(ins, 5, -1.0 / (double)(k + 3));
            sqlite3_bind_double(ins, 6, 1e6 + (double)k / 7);
            if (sqlite3_step(ins) != SQLITE_DONE)
                abort();
            rows++;
        }
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, 1);
    sqlite3_bind_int64(ins, 2, m0 + 9000);
    sqlite3_bind_int64(ins, 3, 0);
    sqlite3_bind_double(ins, 4, 0);
    sqlite3_bind_double(ins, 5, 0);
    sqlite3_bind_double(ins, 6, 0);
    if (sqlite3_step(ins) != SQLITE_DONE)
        abort();
    sqlite3_finalize(ins);
    if (sqlite3_exec(db, "CREATE TABLE orig AS SELECT * FROM rollup_1m WHERE n > 0", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_exec(db, history_minutes_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
        abort();
    int64_t packed = -1;
    enum sm_rc prc = history_minutes_pack(db, &packed);
    ok(prc == SM_OK && packed == rows,
       "pack: %lld minute rows packed (want %lld)", (long long)packed, (long long)rows);
    ok(count(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'rollup_1m'") == 0,
       "pack: rollup_1m dropped");
    ok(count(db, "SELECT count(*) FROM rollup_1m_hours") == 5 + 15,
       "pack: one row per series and hour (%lld)",
       (long long)count(db, "SELECT count(*) FROM rollup_1m_hours"));
    ok(count(db, "SELECT count(*) FROM rollup_1m ") == rows &&
           count(db, "SELECT count(*) FROM (SELECT * FROM orig EXCEPT SELECT * FROM rollup_1m )") ==
               0,
       "pack: every minute unpacks bit for bit (sum, min, max, n)");

    /* A damaged packed hour: the minute tier's answer fails, nothing made up. */
    sqlite3_exec(db,
                 "INSERT INTO rollup_state VALUES('minute_done', 9e15) ON CONFLICT(k) DO UPDATE"
                 " SET v = excluded.v;"
                 "UPDATE rollup_1m_hours SET data = substr(data, 1, 20) WHERE series_id = 1"
                 " AND hour = (SELECT min(hour) FROM rollup_1m_hours)",
                 NULL, NULL, NULL);
    struct history_result r;
    ok(history_query(db, 1, m0 * 60000, (m0 + 300) * 60000, 100, &r) == SM_EIO,
       "pack: a damaged packed hour fails the query");
    ok(history_query(db, 1, (m0 + 60) * 60000, (m0 + 300) * 60000, 100, &r) == SM_OK &&
           r.tier == HISTORY_MINUTE && r.n == 80,
       "pack: the hours after it answer (%zu buckets)", r.n);
    history_result_done(&r);
    sqlite3_close(db);
}

int
main(void)
{
    test_blob();
    test_replay();
    test_pack_migration();
    sqlite3 *db = setup();
    int64_t now = END_MS + 5 * 60000;
    struct history_result r;

    /* Before any rollup, queries still answer from the raw points. */
    ok(history_query(db, 1, END_MS - 3600000, END_MS, 500, &r) == SM_OK && r.n > 0 &&
           r.b[0].avg == 42.0,
       "raw answer before rollups");
    history_result_done(&r);

    rollup_all(db, now);
    int64_t w = count(db, "SELECT v FROM rollup_state WHERE k = 'minute_done'");
    ok(w == (now - HISTORY_LATE_GRACE_MS) / 60000 * 60000, "watermark at now - grace (%lld)",
       (long long)w);
    int64_t minutes = (END_MS - 1) / 60000 - START_MS / 60000 + 1;
    ok(count(db, "SELECT count(*) FROM rollup_1m WHERE series_id = 2") == minutes,
       "one minute row per minute with data (%lld, want %lld)",
       (long long)count(db, "SELECT count(*) FROM rollup_1m WHERE series_id = 2"),
       (long long)minutes);
    ok(count(db, "SELECT sum(n) FROM rollup_1h WHERE series_id = 2") ==
           count(db, "SELECT count(*) FROM samples WHERE agent_id = 7 AND ts < (SELECT v FROM "
                     "rollup_state WHERE k = 'minute_done')"),
       "hour rows count every rolled point once");

    check_range(db, "-5m", END_MS - 300000, END_MS, 500, HISTORY_RAW);
    check_range(db, "-1h", END_MS - 3600000, END_MS, 500, HISTORY_RAW);
    check_range(db, "-24h", END_MS - DAY_MS, END_MS, 500, HISTORY_MINUTE);
    check_range(db, "-7d", END_MS - 7 * DAY_MS, END_MS, 500, HISTORY_MINUTE);
    check_range(db, "-7d points=100", END_MS - 7 * DAY_MS, END_MS, 100, HISTORY_HOUR);
    check_range(db, "unaligned edges", START_MS + 17000, END_MS - 13000, 300, HISTORY_MINUTE);
    check_range(db, "before the data", START_MS - DAY_MS, START_MS + 3600000, 50, HISTORY_MINUTE);
    check_range(db, "points=1", END_MS - 2 * DAY_MS, END_MS - DAY_MS, 1, HISTORY_HOUR);

    if (history_query(db, 2, END_MS - 7 * DAY_MS, END_MS, 500, &r) == SM_OK)
        ok(r.rows_read < 12000, "-7d reads thousands of rows, not %lld (%zu)",
           (long long)(7 * DAY_MS / STEP_MS), r.rows_read);
    history_result_done(&r);
    ok(history_query(db, 2, END_MS, END_MS - 1, 10, &r) == SM_EINVAL, "stop before start refused");
    ok(history_query(db, 2, END_MS - 1000, END_MS, 0, &r) == SM_EINVAL, "points=0 refused");
    ok(history_query(db, 2, END_MS - 1000, END_MS, HISTORY_POINTS_MAX + 1, &r) == SM_EINVAL,
       "points over the cap refused");

    /* A late sample behind the watermark: its minute is recomputed exactly. */
    int64_t late = START_MS + 3 * DAY_MS + 25000; /* inside an already rolled minute */
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    char sql[256];
    struct history_pair lp[] = {{1, 1000}};
    add_sample(db, 7, late, lp, 1);
    ok(history_note_sample(db, 7, late) == SM_OK, "late sample noted");
    ok(history_note_sample(db, 7, now) == SM_OK, "sample ahead of the watermark noted");
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    ok(count(db, "SELECT count(*) FROM rollup_dirty") == 1, "only the late minute is dirty (%lld)",
       (long long)count(db, "SELECT count(*) FROM rollup_dirty"));
    ok(history_query(db, 1, START_MS, END_MS, 100, &r) == SM_OK, "query with a dirty minute");
    double dirty_max = 0;
    for (size_t i = 0; i < r.n; i++)
        dirty_max = r.b[i].max > dirty_max ? r.b[i].max : dirty_max;
    ok(dirty_max == 1000, "a dirty minute is answered from raw points before its re-rollup");
    history_result_done(&r);
    rollup_all(db, now);
    ok(count(db, "SELECT count(*) FROM rollup_dirty") == 0, "dirty minute processed");
    snprintf(sql, sizeof sql, "SELECT max FROM rollup_1m WHERE series_id = 1 AND bucket = %lld",
             (long long)(late / 60000));
    ok(count(db, sql) == 1000, "minute rollup includes the late point");
    snprintf(sql, sizeof sql, "SELECT n FROM rollup_1h WHERE series_id = 1 AND bucket = %lld",
             (long long)(late / 3600000));
    ok(count(db, sql) == 361, "hour rollup includes the late point (360 + 1)");
    ok(history_query(db, 1, START_MS, END_MS, 100, &r) == SM_OK, "query after late data");
    double mx = 0;
    for (size_t i = 0; i < r.n; i++)
        mx = r.b[i].max > mx ? r.b[i].max : mx;
    ok(mx == 1000, "hour-tier query sees the late maximum");
    history_result_done(&r);

    /* A damaged sample row: queries and rollups skip it and count the others. */
    int64_t dmg = END_MS - 30 * 60000 + 5000;
    snprintf(sql, sizeof sql, "INSERT INTO samples VALUES(8, %lld, x'01029999')", (long long)dmg);
    ok(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "a malformed blob stored");
    ok(history_query(db, 3, END_MS - 3600000, END_MS, 500, &r) == SM_OK,
       "raw query over a malformed blob answers");
    int64_t seen = 0;
    for (size_t i = 0; i < r.n; i++)
        seen += r.b[i].n;
    ok(seen == 3600000 / STEP_MS, "it counts every good sample (%lld)", (long long)seen);
    history_result_done(&r);
    ok(history_note_sample(db, 8, dmg) == SM_OK, "the damaged minute marked dirty");
    rollup_all(db, now);
    snprintf(sql, sizeof sql, "SELECT n FROM rollup_1m WHERE series_id = 3 AND bucket = %lld",
             (long long)(dmg / 60000));
    ok(count(db, sql) == 6, "its minute re-rolled from the good samples (%lld)",
       (long long)count(db, sql));

    /* Series lookup. */
    int64_t id = 0;
    ok(history_series_find(db, 8, "other", "core=0", &id) == SM_OK && id == 3, "series found");
    ok(history_series_find(db, 7, "other", "core=0", &id) == SM_ENOTFOUND,
       "another agent's series is not found");
    ok(history_series_find(db, 7, "x' OR 1=1 --", "", &id) == SM_ENOTFOUND,
       "injection in a name is just a name");

    /* Retention: raw 1 day, minute 3 days, hour 7 days; nothing newer is touched. */
    struct history_retention ret = {.raw_s = 86400, .minute_s = 3 * 86400, .hour_s = 7 * 86400};
    size_t deleted = 0, total_deleted = 0;
    /* A pass over the 3 series (batch 2: two calls) deletes at most 50000 raw samples,
     * the oldest first; the next passes take the rest. */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts < %lld",
             (long long)(END_MS - DAY_MS));
    int64_t old_before = count(db, sql);
    for (int i = 0; i < 2; i++) {
        if (history_retain(db, END_MS, &ret, 2, &deleted) != SM_OK)
            break;
        total_deleted += deleted;
    }
    ok(old_before - count(db, sql) == 50000, "one pass deleted 50000 of %lld old samples (%lld)",
       (long long)old_before, (long long)(old_before - count(db, sql)));
    ok(count(db, "SELECT min(ts) FROM samples WHERE agent_id = 7") == START_MS + 49999 * STEP_MS,
       "the oldest ones (the late sample among them)");
    for (int i = 0; i < 10; i++) {
        if (history_retain(db, END_MS, &ret, 2, &deleted) != SM_OK)
            break;
        total_deleted += deleted;
    }
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts < %lld",
             (long long)(END_MS - DAY_MS));
    ok(count(db, sql) == 0, "raw samples older than 1 day deleted (%zu rows in all)",
       total_deleted);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts >= %lld AND agent_id = 7",
             (long long)(END_MS - DAY_MS));
    ok(count(db, sql) == DAY_MS / STEP_MS, "the last day of raw samples kept");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE ts >= %lld AND agent_id = 8",
             (long long)(END_MS - DAY_MS));
    ok(count(db, sql) == DAY_MS / STEP_MS + 1, "and of the other agent's (with its damaged one)");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM rollup_1m WHERE bucket < %lld",
             (long long)((END_MS - 3 * DAY_MS) / 60000));
    ok(count(db, sql) == 0, "minute rows older than 3 days deleted");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM rollup_1m WHERE bucket >= %lld AND series_id = 2",
             (long long)((END_MS - 3 * DAY_MS) / 60000));
    ok(count(db, sql) > 3 * 1439, "three days of minute rows kept");
    ok(count(db, "SELECT count(*) FROM rollup_1h WHERE series_id = 2") >= 7 * 24,
       "hour rows within 7 days kept");
    /* Long ranges still answer from the hour tier after raw data is gone. */
    check_range(db, "-7d after retention (hour tier)",
                (END_MS - 7 * DAY_MS) / 3600000 * 3600000 + 3600000,
                (END_MS - 4 * DAY_MS) / 3600000 * 3600000, 60, HISTORY_HOUR);
    sqlite3_close(db);
    return tap_done();
}
