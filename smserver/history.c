/* history.c: rollups, retention and range queries on SQLite (see history.h). */
#include "config.h"

#include "history.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "minute_pack.h"
#include "xmalloc.h"

#define MINUTE_MS 60000LL
#define HOUR_MS 3600000LL
/* Roll up at most this much raw time per step, so a step stays a small transaction. */
#define ROLLUP_WINDOW_MS (6 * HOUR_MS)
/* Re-rolling dirty minutes (samples that arrived behind the watermark) waits for a
 * quiet period: no late sample for HISTORY_DIRTY_QUIET_MS (rollup_state 'dirty_seen',
 * set by the writer). A herd of replaying agents marks minutes as fast as it writes, and
 * re-rolling them meanwhile took the write lock from ingest (halving it) and re-rolled a
 * minute again each time more of it came in; after the herd each minute is re-rolled
 * once. Queries read dirty minutes raw, so answers are exact while a minute waits. Under
 * late data that never stops, no minute waits more than HISTORY_DIRTY_WAIT_MS
 * (rollup_state 'dirty_wait': when the wait began). Either way a step re-rolls an
 * agent's dirty minutes of one hour together (one raw range read, one hour recompute),
 * and stops taking more after HISTORY_DIRTY_STEP_S (seconds) so the ingest writer gets the lock
 * back soon; the next step goes on. */
#define HISTORY_DIRTY_STEP_S 0.1
/* Delete at most this many raw samples per retention pass. */
#define RETAIN_RAW_BUDGET 50000

const char history_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS rollup_1m(series_id INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " n INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,"
    " PRIMARY KEY(series_id, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_1h(series_id INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " n INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,"
    " PRIMARY KEY(series_id, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_dirty(agent_id INTEGER NOT NULL, bucket INTEGER NOT NULL,"
    " PRIMARY KEY(agent_id, bucket)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollup_state(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO rollup_state VALUES('minute_done', 0), ('retain_cursor', 0);";

const char history_minutes_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS rollup_1m_hours(series_id INTEGER NOT NULL,"
    " hour INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY(series_id, hour)) WITHOUT ROWID;";

/* ------------------------------------------------------------------ small helpers */

/* Prepare sql, bind int64 arguments (count n), step to completion. */
static enum sm_rc
exec_i64(sqlite3 *db, const char *sql, int n, const int64_t *args)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        sm_log(SM_LOG_ERROR, "history: %s", sqlite3_errmsg(db));
        return SM_EINTERNAL;
    }
    for (int i = 0; i < n; i++)
        sqlite3_bind_int64(s, i + 1, args[i]);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        sm_log(SM_LOG_WARN, "history: %s", sqlite3_errmsg(db));
        return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? SM_EBUSY : SM_EIO;
    }
    return SM_OK;
}

static enum sm_rc
state_get(sqlite3 *db, const char *k, int64_t *v)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT v FROM rollup_state WHERE k = ?1", -1, &s, NULL) !=
        SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    enum sm_rc rc = SM_ENOTFOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *v = sqlite3_column_int64(s, 0);
        rc = SM_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

static enum sm_rc
state_set(sqlite3 *db, const char *k, int64_t v)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "UPDATE rollup_state SET v = ?2 WHERE k = ?1", -1, &s, NULL) !=
        SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SM_OK : SM_EIO;
}

/* state_set for keys that older databases may lack: insert or replace. */
static enum sm_rc
state_put(sqlite3 *db, const char *k, int64_t v)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO rollup_state(k, v) VALUES (?1, ?2)", -1, &s,
                           NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SM_OK : rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? SM_EBUSY : SM_EIO;
}

int64_t
history_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The next agent after `after` that has sample rows (a seek in samples' key, so no
 * table of agents is needed): SM_OK, or SM_ENOTFOUND after the last. */
static enum sm_rc
next_agent(sqlite3 *db, int64_t after, int64_t *id)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT agent_id FROM samples WHERE agent_id > ?1"
                           " ORDER BY agent_id LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, after);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? SM_OK : rc == SQLITE_DONE ? SM_ENOTFOUND : SM_EIO;
}

/* ------------------------------------------------------------------ point blobs */

size_t
history_blob_bound(size_t n)
{
    if (n > HISTORY_BLOB_POINTS_MAX)
        n = HISTORY_BLOB_POINTS_MAX;
    return 1 + 10 + n * (10 + 10);
}

static size_t
put_varint(uint8_t *out, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        out[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[i++] = (uint8_t)v;
    return i;
}

/* Read a varint at *pos; 0 when truncated, longer than 10 bytes, over 64 bits or with a
 * redundant trailing zero byte. */
static int
get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= len)
            return 0;
        uint8_t b = p[(*pos)++];
        if (i == 9 && b > 1)
            return 0;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0)
                return 0;
            *v = r;
            return 1;
        }
    }
    return 0;
}

static void
put_double(uint8_t *out, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(u >> (8 * i));
}

static double
get_double(const uint8_t *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* A pair with its position, so that sorting keeps the first of equal ids. */
struct tagged_pair {
    struct history_pair p;
    size_t pos;
};

static int
tagged_cmp(const void *a, const void *b)
{
    const struct tagged_pair *x = a, *y = b;
    if (x->p.series != y->p.series)
        return (x->p.series > y->p.series) - (x->p.series < y->p.series);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Powers of ten for the decimal kinds of a version 2 value (kind k: k - 1 decimals). */
static const double pow10_kind[HISTORY_BLOB_KINDS] = {0, 1, 10, 100, 1e3, 1e4, 1e5, 1e6};

/* The kind a version 2 blob stores v in (history.h) and, for a decimal kind, *m: the
 * first number of decimals that gives v back bit for bit, else 0 (the 8-byte double). */
static unsigned
value_kind(double v, int64_t *m)
{
    for (unsigned k = 1; k < HISTORY_BLOB_KINDS; k++) {
        double x = v * pow10_kind[k];
        if (!(fabs(x) < 9007199254740992.0)) /* 2^53: also refuses NaN */
            return 0;
        int64_t i = (int64_t)nearbyint(x);
        double back = (double)i / pow10_kind[k];
        if (memcmp(&back, &v, sizeof v) == 0) {
            *m = i;
            return k;
        }
    }
    return 0;
}

static uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

size_t
history_blob_encode(struct history_pair *pairs, size_t n, uint8_t *out)
{
    /* Series ids usually follow the order of a sample's points already. */
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = pairs[i - 1].series <= pairs[i].series;
    if (!sorted) {
        struct tagged_pair *t = sm_xreallocarray(NULL, n, sizeof *t);
        for (size_t i = 0; i < n; i++)
            t[i] = (struct tagged_pair){pairs[i], i};
        qsort(t, n, sizeof *t, tagged_cmp);
        for (size_t i = 0; i < n; i++)
            pairs[i] = t[i].p;
        free(t);
    }
    size_t count = 0, len = 1;
    int64_t prev = 0;
    /* Version 2 unless an id delta is too large to share its varint with the kind. */
    int version = HISTORY_BLOB_VERSION;
    for (size_t i = 0; i < n && count < HISTORY_BLOB_POINTS_MAX; i++)
        if (pairs[i].series >= 1 && pairs[i].series != prev && isfinite(pairs[i].value)) {
            if ((uint64_t)(pairs[i].series - prev) > HISTORY_BLOB_DELTA_MAX)
                version = 1;
            prev = pairs[i].series;
            count++;
        }
    out[0] = (uint8_t)version;
    len += put_varint(out + len, count);
    prev = 0;
    for (size_t i = 0, k = 0; i < n && k < count; i++) {
        if (pairs[i].series < 1 || pairs[i].series == prev || !isfinite(pairs[i].value))
            continue;
        uint64_t delta = (uint64_t)(pairs[i].series - prev);
        if (version == 1) {
            len += put_varint(out + len, delta);
            put_double(out + len, pairs[i].value);
            len += 8;
        } else {
            int64_t m = 0;
            unsigned kind = value_kind(pairs[i].value, &m);
            len += put_varint(out + len, delta * HISTORY_BLOB_KINDS + kind);
            if (kind == 0) {
                put_double(out + len, pairs[i].value);
                len += 8;
            } else {
                len += put_varint(out + len, zigzag(m));
            }
        }
        prev = pairs[i].series;
        k++;
    }
    return len;
}

/* Walk a blob: the header, then one pair per call of next. */
struct blob_reader {
    const uint8_t *p;
    size_t len, pos, left;
    int64_t id;
    int version;
};

static int
blob_open(struct blob_reader *r, const uint8_t *blob, size_t len)
{
    *r = (struct blob_reader){.p = blob, .len = len, .pos = 1};
    uint64_t n;
    if (blob == NULL || len < 2 || (blob[0] != 1 && blob[0] != HISTORY_BLOB_VERSION))
        return 0;
    r->version = blob[0];
    /* A pair takes at least 9 bytes in version 1, 2 in version 2. */
    if (!get_varint(blob, len, &r->pos, &n) || n > HISTORY_BLOB_POINTS_MAX ||
        n > (len - r->pos) / (r->version == 1 ? 9 : 2))
        return 0;
    r->left = (size_t)n;
    return 1;
}

/* 1 with the next pair, 0 at the end, -1 when malformed. */
static int
blob_next(struct blob_reader *r, struct history_pair *out)
{
    if (r->left == 0)
        return r->pos == r->len ? 0 : -1;
    uint64_t d;
    if (!get_varint(r->p, r->len, &r->pos, &d))
        return -1;
    unsigned kind = 0;
    if (r->version != 1) {
        kind = (unsigned)(d % HISTORY_BLOB_KINDS);
        d /= HISTORY_BLOB_KINDS;
    }
    if (d == 0 || d > (uint64_t)(INT64_MAX - r->id))
        return -1;
    if (kind == 0) {
        if (r->len - r->pos < 8)
            return -1;
        out->value = get_double(r->p + r->pos);
        r->pos += 8;
    } else {
        uint64_t u;
        if (!get_varint(r->p, r->len, &r->pos, &u))
            return -1;
        int64_t m = unzigzag(u);
        /* Only what the encoder writes: an integer under 2^53 in magnitude. */
        if (m <= -9007199254740992LL || m >= 9007199254740992LL)
            return -1;
        out->value = (double)m / pow10_kind[kind];
    }
    r->id += (int64_t)d;
    out->series = r->id;
    r->left--;
    return isfinite(out->value) ? 1 : -1;
}

enum sm_rc
history_blob_check(const uint8_t *blob, size_t len, size_t *n)
{
    struct blob_reader r;
    if (!blob_open(&r, blob, len))
        return SM_EINVAL;
    size_t count = r.left;
    struct history_pair p;
    int k;
    while ((k = blob_next(&r, &p)) == 1)
        ;
    if (k < 0)
        return SM_EINVAL;
    *n = count;
    return SM_OK;
}

enum sm_rc
history_blob_decode(const uint8_t *blob, size_t len, struct history_pair *out, size_t cap,
                    size_t *n)
{
    struct blob_reader r;
    *n = 0;
    if (!blob_open(&r, blob, len) || r.left > cap)
        return SM_EINVAL;
    size_t i = 0;
    int k;
    while ((k = blob_next(&r, &out[i])) == 1)
        i++;
    if (k < 0)
        return SM_EINVAL;
    *n = i;
    return SM_OK;
}

enum sm_rc
history_blob_find(const uint8_t *blob, size_t len, int64_t series, double *value)
{
    struct blob_reader r;
    if (!blob_open(&r, blob, len))
        return SM_EINVAL;
    struct history_pair p;
    int k;
    while ((k = blob_next(&r, &p)) == 1) {
        if (p.series == series) {
            *value = p.value;
            return SM_OK;
        }
        if (p.series > series)
            return SM_ENOTFOUND;
    }
    return k < 0 ? SM_EINVAL : SM_ENOTFOUND;
}

/* ------------------------------------------------------------------ writing */

enum sm_rc
history_note_sample(sqlite3 *db, int64_t agent_id, int64_t ts_ms)
{
    const int64_t args[] = {agent_id, ts_ms};
    return exec_i64(db,
                    "INSERT OR IGNORE INTO rollup_dirty(agent_id, bucket) SELECT ?1, ?2 / 60000"
                    " WHERE ?2 < (SELECT v FROM rollup_state WHERE k = 'minute_done')",
                    2, args);
}

enum sm_rc
history_note_sample_at(sqlite3 *db, int64_t agent_id, int64_t ts_ms, int64_t now_ms)
{
    enum sm_rc rc = history_note_sample(db, agent_id, ts_ms);
    if (rc == SM_OK)
        rc = state_put(db, "dirty_seen", now_ms);
    return rc;
}

/* ------------------------------------------------------------------ packed minutes */

/* The statements that read and write packed hours (minute_pack.h) and hour rows. */
struct minute_io {
    sqlite3 *db;
    sqlite3_stmt *get, *put, *del, *hput, *hdel;
    int bad; /* damaged packed hours met (read as empty) */
};

static void
minute_io_done(struct minute_io *io)
{
    sqlite3_finalize(io->get);
    sqlite3_finalize(io->put);
    sqlite3_finalize(io->del);
    sqlite3_finalize(io->hput);
    sqlite3_finalize(io->hdel);
    if (io->bad)
        sm_log(SM_LOG_WARN, "history: %d damaged packed minute hours rewritten", io->bad);
}

static enum sm_rc
minute_io_init(struct minute_io *io, sqlite3 *db)
{
    *io = (struct minute_io){.db = db};
    if (sqlite3_prepare_v2(db,
                           "SELECT data FROM rollup_1m_hours WHERE series_id = ?1 AND hour = ?2",
                           -1, &io->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO rollup_1m_hours VALUES (?1, ?2, ?3)", -1,
                           &io->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM rollup_1m_hours WHERE series_id = ?1 AND hour = ?2", -1,
                           &io->del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO rollup_1h VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &io->hput, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM rollup_1h WHERE series_id = ?1 AND bucket = ?2", -1,
                           &io->hdel, NULL) != SQLITE_OK) {
        sm_log(SM_LOG_ERROR, "history: %s", sqlite3_errmsg(db));
        minute_io_done(io);
        return SM_EINTERNAL;
    }
    return SM_OK;
}

static enum sm_rc
step_done(sqlite3 *db, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return SM_OK;
    sm_log(SM_LOG_WARN, "history: %s", sqlite3_errmsg(db));
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? SM_EBUSY : SM_EIO;
}

/* The minutes of series in hour (hours since the epoch) into m; all empty when there is
 * no row, or when it is damaged (counted in io->bad: the caller writes it anew). */
static enum sm_rc
minutes_load(struct minute_io *io, int64_t series, int64_t hour, struct minute_agg m[60])
{
    sqlite3_bind_int64(io->get, 1, series);
    sqlite3_bind_int64(io->get, 2, hour);
    int rc = sqlite3_step(io->get);
    memset(m, 0, 60 * sizeof *m);
    if (rc == SQLITE_ROW &&
        minute_pack_decode(sqlite3_column_blob(io->get, 0),
                           (size_t)sqlite3_column_bytes(io->get, 0), m) != SM_OK)
        io->bad++;
    sqlite3_reset(io->get);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return SM_OK;
    sm_log(SM_LOG_WARN, "history: %s", sqlite3_errmsg(io->db));
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? SM_EBUSY : SM_EIO;
}

/* Write m as the packed hour of series (deleted when no minute has a point); with
 * with_hour, the hour tier's row of that hour too (made from m, or deleted). */
static enum sm_rc
minutes_store(struct minute_io *io, int64_t series, int64_t hour, const struct minute_agg m[60],
              int with_hour)
{
    struct minute_agg h;
    minute_pack_hour(m, &h);
    enum sm_rc rc;
    if (h.n == 0) {
        sqlite3_bind_int64(io->del, 1, series);
        sqlite3_bind_int64(io->del, 2, hour);
        rc = step_done(io->db, io->del);
    } else {
        uint8_t *blob;
        size_t len;
        if ((rc = minute_pack_encode(m, &blob, &len)) != SM_OK)
            return SM_EINTERNAL; /* not reached: counts come from whole minutes */
        sqlite3_bind_int64(io->put, 1, series);
        sqlite3_bind_int64(io->put, 2, hour);
        sqlite3_bind_blob(io->put, 3, blob, (int)len, SQLITE_TRANSIENT);
        rc = step_done(io->db, io->put);
        free(blob);
    }
    if (rc != SM_OK || !with_hour)
        return rc;
    sqlite3_stmt *s = h.n == 0 ? io->hdel : io->hput;
    sqlite3_bind_int64(s, 1, series);
    sqlite3_bind_int64(s, 2, hour);
    if (h.n != 0) {
        sqlite3_bind_int64(s, 3, h.n);
        sqlite3_bind_double(s, 4, h.sum);
        sqlite3_bind_double(s, 5, h.min);
        sqlite3_bind_double(s, 6, h.max);
    }
    return step_done(io->db, s);
}

/* The minutes of one hour of one agent being rolled up from rows and chunks. */
struct hour_acc {
    int64_t *ids; /* the agent's series ids, ascending */
    size_t nids;
    int64_t hour0;          /* the hour's first millisecond */
    struct minute_agg *acc; /* nids * 60: [series index * 60 + minute of the hour] */
};

static void
hour_add(void *arg, int64_t series, int64_t t, double v)
{
    struct hour_acc *h = arg;
    size_t a = 0, b = h->nids;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (h->ids[m] < series)
            a = m + 1;
        else
            b = m;
    }
    int64_t off = history_floor_div(t - h->hour0, MINUTE_MS);
    if (a == h->nids || h->ids[a] != series || off < 0 || off >= 60)
        return;
    struct minute_agg *x = &h->acc[a * 60 + (size_t)off];
    if (x->n == 0) {
        *x = (struct minute_agg){1, v, v, v};
        return;
    }
    x->n++;
    x->sum += v;
    x->min = v < x->min ? v : x->min;
    x->max = v > x->max ? v : x->max;
}

/* The sum of a minute's n points (min and max among them) as the nearest decimal of at
 * most 9 places, when that is within the float error the adding could have made: the
 * points are decimals as agents send them, so their true sum is one, and it then packs as
 * a scaled integer instead of 64 XOR bits (minute_pack.h). The sum never moves by more
 * than that error bound, and only to a grid fine enough that the nearest point is the
 * only one within it. */
static double
sum_snap(int64_t n, double sum, double mn, double mx)
{
    double big = fabs(mn) > fabs(mx) ? fabs(mn) : fabs(mx);
    double bound = (double)(n - 1) * DBL_EPSILON * (double)n * big;
    double p = 1;
    for (int k = 0; k <= 9; k++, p *= 10) {
        if (!(bound < 0.5 / p))
            break;
        double x = rint(sum * p);
        if (!(fabs(x) <= 9007199254740992.0))
            break;
        double s2 = x / p;
        if (fabs(s2 - sum) <= bound)
            return s2;
    }
    return sum;
}

/* Roll up one agent's raw samples of [lo, hi) (whole minutes): an hour at a time, the
 * sample rows and the sealed chunks into a table of the agent's series by minute; then
 * in each series' packed hour the minutes of [lo, hi) are replaced by what was found
 * (a minute with no point left is emptied), and its hour row made again. An hour that
 * comes out the same is not written. */
static enum sm_rc
rollup_raw(sqlite3 *db, int64_t agent_id, int64_t lo, int64_t hi)
{
    sqlite3_stmt *ids = NULL, *sel = NULL;
    struct minute_io io;
    if (minute_io_init(&io, db) != SM_OK)
        return SM_EINTERNAL;
    if (sqlite3_prepare_v2(db, "SELECT id FROM series WHERE agent_id = ?1 ORDER BY id", -1, &ids,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT ts, data FROM samples WHERE agent_id = ?1 AND ts >= ?2"
                           " AND ts < ?3",
                           -1, &sel, NULL) != SQLITE_OK) {
        sm_log(SM_LOG_ERROR, "history: %s", sqlite3_errmsg(db));
        sqlite3_finalize(ids);
        minute_io_done(&io);
        return SM_EINTERNAL;
    }
    struct hour_acc h = {0};
    size_t cap = 0;
    sqlite3_bind_int64(ids, 1, agent_id);
    while (sqlite3_step(ids) == SQLITE_ROW) {
        h.ids = sm_xgrow(h.ids, &cap, h.nids + 1, sizeof *h.ids);
        h.ids[h.nids++] = sqlite3_column_int64(ids, 0);
    }
    sqlite3_finalize(ids);
    h.acc = sm_xcalloc(h.nids ? h.nids * 60 : 1, sizeof *h.acc);
    int sealed = history_agent_sealed(db, agent_id, lo, hi);
    enum sm_rc rc = SM_OK;
    int bad = 0;
    for (int64_t hour = history_floor_div(lo, HOUR_MS) * HOUR_MS; hour < hi && rc == SM_OK;
         hour += HOUR_MS) {
        int64_t a = lo > hour ? lo : hour, b = hi < hour + HOUR_MS ? hi : hour + HOUR_MS;
        h.hour0 = hour;
        memset(h.acc, 0, (h.nids ? h.nids * 60 : 1) * sizeof *h.acc);
        sqlite3_reset(sel);
        sqlite3_bind_int64(sel, 1, agent_id);
        sqlite3_bind_int64(sel, 2, a);
        sqlite3_bind_int64(sel, 3, b);
        int step;
        while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
            int64_t ts = sqlite3_column_int64(sel, 0);
            const uint8_t *blob = sqlite3_column_blob(sel, 1);
            size_t len = (size_t)sqlite3_column_bytes(sel, 1), count;
            struct blob_reader r;
            struct history_pair p;
            /* Check first: a malformed blob adds nothing. */
            if (history_blob_check(blob, len, &count) != SM_OK || !blob_open(&r, blob, len)) {
                bad++;
                continue;
            }
            while (blob_next(&r, &p) == 1)
                hour_add(&h, p.series, ts, p.value);
        }
        if (step != SQLITE_DONE) {
            sm_log(SM_LOG_WARN, "history: %s", sqlite3_errmsg(db));
            rc = step == SQLITE_BUSY || step == SQLITE_LOCKED ? SM_EBUSY : SM_EIO;
        }
        if (rc == SM_OK && sealed)
            rc = history_agent_chunks_read(db, agent_id, a, b, hour_add, &h);
        int64_t m0 = (a - hour) / MINUTE_MS, m1 = (b - hour + MINUTE_MS - 1) / MINUTE_MS;
        for (size_t i = 0; i < h.nids && rc == SM_OK; i++) {
            struct minute_agg m[60];
            int was_bad = io.bad;
            rc = minutes_load(&io, h.ids[i], hour / HOUR_MS, m);
            int changed = io.bad != was_bad;
            for (int64_t k = m0; k < m1 && rc == SM_OK; k++) {
                struct minute_agg *x = &h.acc[i * 60 + (size_t)k];
                if (x->n > 1)
                    x->sum = sum_snap(x->n, x->sum, x->min, x->max);
                if (memcmp(&m[k], x, sizeof *x) != 0) {
                    m[k] = *x;
                    changed = 1;
                }
            }
            if (rc == SM_OK && changed)
                rc = minutes_store(&io, h.ids[i], hour / HOUR_MS, m, 1);
        }
    }
    if (bad)
        sm_log(SM_LOG_WARN, "history: %d malformed sample blobs of agent %lld skipped", bad,
               (long long)agent_id);
    free(h.ids);
    free(h.acc);
    sqlite3_finalize(sel);
    minute_io_done(&io);
    return rc;
}

/* Re-roll at most budget dirty minutes, in key order (agent, minute), one agent's hour at
 * a time: each run of consecutive minutes from the raw rows in one range read, then the
 * hour once. Stops starting hours after HISTORY_DIRTY_STEP_S. */
static enum sm_rc
rollup_dirty(sqlite3 *db, size_t budget, size_t *work)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT agent_id, bucket FROM rollup_dirty ORDER BY agent_id, bucket"
                           " LIMIT ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)budget);
    enum sm_rc rc = SM_OK;
    size_t n = 0, cap = 0;
    int64_t(*todo)[2] = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            todo = sm_xreallocarray(todo, cap, sizeof *todo);
        }
        todo[n][0] = sqlite3_column_int64(s, 0);
        todo[n][1] = sqlite3_column_int64(s, 1);
        n++;
    }
    sqlite3_finalize(s);
    double t0 = sm_mono_now();
    size_t i = 0;
    while (i < n && rc == SM_OK && (i == 0 || sm_mono_now() - t0 < HISTORY_DIRTY_STEP_S)) {
        int64_t agent = todo[i][0], hour = history_floor_div(todo[i][1], 60);
        size_t g = i; /* this agent's dirty minutes of this hour: todo[i, e) */
        size_t e = i;
        while (e < n && todo[e][0] == agent && history_floor_div(todo[e][1], 60) == hour)
            e++;
        for (size_t j = g; j < e && rc == SM_OK;) {
            size_t k = j + 1; /* a run of consecutive minutes: todo[j, k) */
            while (k < e && todo[k][1] == todo[k - 1][1] + 1)
                k++;
            /* The run's minutes are replaced, and the hour row made again. */
            rc = rollup_raw(db, agent, todo[j][1] * MINUTE_MS, (todo[k - 1][1] + 1) * MINUTE_MS);
            j = k;
        }
        /* The selection is a prefix in key order: every dirty row of the agent between
         * the group's first and last minute is in it. */
        const int64_t d[] = {agent, todo[g][1], todo[e - 1][1]};
        if (rc == SM_OK)
            rc = exec_i64(db,
                          "DELETE FROM rollup_dirty WHERE agent_id = ?1 AND bucket >= ?2"
                          " AND bucket <= ?3",
                          3, d);
        *work += e - g;
        i = e;
    }
    free(todo);
    return rc;
}

/* Whether a dirty minute is left (a failed read counts as one: it is looked at again). */
static int
any_dirty(sqlite3 *db)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM rollup_dirty LIMIT 1", -1, &s, NULL) != SQLITE_OK)
        return 1;
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc != SQLITE_DONE;
}

/* Whether this step may re-roll dirty minutes (see HISTORY_DIRTY_QUIET_MS): late samples
 * have stopped for the quiet period, or the first deferred minute has waited long enough.
 * A clock that went back counts as quiet. */
static enum sm_rc
dirty_due(sqlite3 *db, int64_t now_ms, int *due)
{
    int64_t seen = 0, wait = 0;
    *due = 0;
    if (state_get(db, "dirty_seen", &seen) != SM_OK)
        seen = 0;
    if (now_ms - seen >= HISTORY_DIRTY_QUIET_MS || seen - now_ms > HISTORY_DIRTY_QUIET_MS) {
        *due = 1;
        return SM_OK;
    }
    if (!any_dirty(db))
        return SM_OK;
    if (state_get(db, "dirty_wait", &wait) != SM_OK || wait == 0 || wait > now_ms)
        return state_put(db, "dirty_wait", now_ms); /* the wait begins */
    *due = now_ms - wait >= HISTORY_DIRTY_WAIT_MS;
    return SM_OK;
}

enum sm_rc
history_rollup(sqlite3 *db, int64_t now_ms, size_t budget, size_t *work)
{
    *work = 0;
    enum sm_rc rc = exec_i64(db, "BEGIN IMMEDIATE", 0, NULL);
    if (rc != SM_OK)
        return rc;
    int64_t w;
    if ((rc = state_get(db, "minute_done", &w)) != SM_OK)
        goto fail;
    int64_t target = history_floor_div(now_ms - HISTORY_LATE_GRACE_MS, MINUTE_MS) * MINUTE_MS;
    if (w == 0) {
        /* First run: start at the oldest raw sample instead of 1970. */
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "SELECT min(ts) FROM samples WHERE agent_id = ?1", -1, &s,
                               NULL) != SQLITE_OK) {
            rc = SM_EINTERNAL;
            goto fail;
        }
        int64_t oldest = INT64_MAX;
        for (int64_t agent = 0; (rc = next_agent(db, agent, &agent)) == SM_OK;) {
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, agent);
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
                sqlite3_column_int64(s, 0) < oldest)
                oldest = sqlite3_column_int64(s, 0);
        }
        sqlite3_finalize(s);
        if (rc != SM_ENOTFOUND)
            goto fail;
        rc = SM_OK;
        w = oldest == INT64_MAX ? target : history_floor_div(oldest, MINUTE_MS) * MINUTE_MS;
    }
    if (target > w) {
        int64_t end = target - w > ROLLUP_WINDOW_MS ? w + ROLLUP_WINDOW_MS : target;
        /* Agent by agent: each one's sample rows of the window are one range of samples'
         * key. */
        int64_t agent = 0;
        while ((rc = next_agent(db, agent, &agent)) == SM_OK)
            if ((rc = rollup_raw(db, agent, w, end)) != SM_OK)
                break;
        if (rc == SM_ENOTFOUND)
            rc = SM_OK;
        if (rc == SM_OK)
            rc = state_set(db, "minute_done", end);
        if (rc != SM_OK)
            goto fail;
        *work += (size_t)((end - w) / MINUTE_MS);
    } else if (w != 0) {
        if ((rc = state_set(db, "minute_done", w)) != SM_OK)
            goto fail;
    }
    int due;
    if ((rc = dirty_due(db, now_ms, &due)) != SM_OK)
        goto fail;
    if (due) {
        if ((rc = rollup_dirty(db, budget, work)) != SM_OK)
            goto fail;
        /* All re-rolled: the next deferral waits afresh. */
        if (!any_dirty(db) && (rc = state_put(db, "dirty_wait", 0)) != SM_OK)
            goto fail;
    }
    return exec_i64(db, "COMMIT", 0, NULL);
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* The minute tier's retention for one series: its packed hours wholly before the minute
 * cut deleted, and the minutes before the cut taken out of the hour across it (the hour
 * tier's rows are left: they are kept longer). *deleted counts the minutes. */
static enum sm_rc
minutes_retain(sqlite3 *db, int64_t series, int64_t cut, size_t *deleted)
{
    int64_t hour = history_floor_div(cut, 60);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT data FROM rollup_1m_hours WHERE series_id = ?1 AND hour < ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, series);
    sqlite3_bind_int64(s, 2, hour);
    while (sqlite3_step(s) == SQLITE_ROW) {
        struct minute_agg m[60];
        if (minute_pack_decode(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), m) !=
            SM_OK)
            continue;
        for (int k = 0; k < 60; k++)
            *deleted += m[k].n > 0;
    }
    sqlite3_finalize(s);
    const int64_t a[] = {series, hour};
    enum sm_rc rc =
        exec_i64(db, "DELETE FROM rollup_1m_hours WHERE series_id = ?1 AND hour < ?2", 2, a);
    if (rc != SM_OK || cut - hour * 60 == 0)
        return rc;
    struct minute_io io;
    struct minute_agg m[60];
    if (minute_io_init(&io, db) != SM_OK)
        return SM_EINTERNAL;
    rc = minutes_load(&io, series, hour, m);
    int changed = 0;
    for (int64_t k = 0; k < cut - hour * 60 && rc == SM_OK; k++)
        if (m[k].n > 0) {
            m[k] = (struct minute_agg){0};
            changed = 1;
            (*deleted)++;
        }
    if (rc == SM_OK && changed)
        rc = minutes_store(&io, series, hour, m, 0);
    minute_io_done(&io);
    return rc;
}

enum sm_rc
history_retain(sqlite3 *db, int64_t now_ms, const struct history_retention *r, size_t batch,
               size_t *deleted)
{
    *deleted = 0;
    int64_t cursor;
    enum sm_rc rc = state_get(db, "retain_cursor", &cursor);
    if (rc != SM_OK)
        return rc;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT id FROM series WHERE id > ?1 ORDER BY id LIMIT ?2", -1, &s,
                           NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, cursor);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)batch);
    int64_t *ids = sm_xreallocarray(NULL, batch ? batch : 1, sizeof *ids);
    size_t n = 0;
    while (n < batch && sqlite3_step(s) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    int64_t raw_cut = now_ms - (int64_t)(r->raw_s * 1000);
    int64_t min_cut = history_floor_div(now_ms - (int64_t)(r->minute_s * 1000), MINUTE_MS);
    int64_t hour_cut = history_floor_div(now_ms - (int64_t)(r->hour_s * 1000), HOUR_MS);
    if ((rc = exec_i64(db, "BEGIN IMMEDIATE", 0, NULL)) != SM_OK)
        goto out;
    for (size_t i = 0; i < n && rc == SM_OK; i++) {
        const int64_t a2[] = {ids[i], min_cut}, a3[] = {ids[i], hour_cut};
        rc = minutes_retain(db, a2[0], a2[1], deleted);
        if (rc == SM_OK)
            rc = exec_i64(db, "DELETE FROM rollup_1h WHERE series_id = ?1 AND bucket < ?2", 2, a3);
        *deleted += (size_t)sqlite3_changes(db);
    }
    /* The sealed raw points, agent by agent (a window's series and sample times
     * together), at the end of a pass. */
    if (rc == SM_OK && n < batch) {
        sqlite3_stmt *ag;
        if (sqlite3_prepare_v2(db,
                               "SELECT agent_id FROM chunk_samples WHERE agent_id > ?1"
                               " ORDER BY agent_id LIMIT 1",
                               -1, &ag, NULL) != SQLITE_OK) {
            rc = SM_EINTERNAL;
        } else {
            for (int64_t agent = 0; rc == SM_OK;) {
                sqlite3_reset(ag);
                sqlite3_bind_int64(ag, 1, agent);
                if (sqlite3_step(ag) != SQLITE_ROW)
                    break;
                agent = sqlite3_column_int64(ag, 0);
                rc = history_chunks_retain_agent(db, agent, raw_cut, deleted);
            }
            sqlite3_finalize(ag);
        }
    }
    /* The raw tier (the samples, with their points) at the end of a pass over the
     * series, agent by agent: each a range of samples' key. */
    if (rc == SM_OK && n < batch) {
        /* At most RETAIN_RAW_BUDGET samples a pass (the oldest of each agent in turn), so
         * a large backlog never holds the write lock long; the next passes take the rest. */
        int64_t agent = 0, left = RETAIN_RAW_BUDGET;
        while (rc == SM_OK && left > 0 && (rc = next_agent(db, agent, &agent)) == SM_OK) {
            const int64_t a[] = {agent, raw_cut, left};
            rc = exec_i64(db,
                          "DELETE FROM samples WHERE agent_id = ?1 AND ts < ?2 AND ts <"
                          " coalesce((SELECT ts FROM samples WHERE agent_id = ?1 AND ts < ?2"
                          " ORDER BY ts LIMIT 1 OFFSET ?3), ?2)",
                          3, a);
            *deleted += (size_t)sqlite3_changes(db);
            left -= sqlite3_changes(db);
        }
        if (rc == SM_ENOTFOUND)
            rc = SM_OK;
    }
    if (rc == SM_OK)
        rc = state_set(db, "retain_cursor", n < batch ? 0 : ids[n - 1]);
    if (rc == SM_OK)
        rc = exec_i64(db, "COMMIT", 0, NULL);
    else
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    free(ids);
    return rc;
}

enum sm_rc
history_forget_agent(sqlite3 *db, int64_t agent_id)
{
    const int64_t a[] = {agent_id};
    enum sm_rc rc = exec_i64(db,
                             "DELETE FROM rollup_1m_hours WHERE series_id IN"
                             " (SELECT id FROM series WHERE agent_id = ?1)",
                             1, a);
    if (rc == SM_OK)
        rc = exec_i64(db,
                      "DELETE FROM rollup_1h WHERE series_id IN"
                      " (SELECT id FROM series WHERE agent_id = ?1)",
                      1, a);
    if (rc == SM_OK)
        rc = exec_i64(db, "DELETE FROM rollup_dirty WHERE agent_id = ?1", 1, a);
    if (rc == SM_OK)
        rc = exec_i64(db,
                      "DELETE FROM chunks WHERE series_id IN"
                      " (SELECT id FROM series WHERE agent_id = ?1)",
                      1, a);
    if (rc == SM_OK)
        rc = exec_i64(db, "DELETE FROM chunk_samples WHERE agent_id = ?1", 1, a);
    return rc;
}

/* Read the packed hours of every series in key order and give each minute to fn. A
 * damaged hour is SM_EPARSE. */
static enum sm_rc
minutes_each(sqlite3 *db, enum sm_rc (*fn)(void *, int64_t, int64_t, const struct minute_agg *),
             void *arg)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT series_id, hour, data FROM main.rollup_1m_hours"
                           " ORDER BY series_id, hour",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    int step;
    enum sm_rc rc = SM_OK;
    while (rc == SM_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct minute_agg m[60];
        int64_t series = sqlite3_column_int64(s, 0), hour = sqlite3_column_int64(s, 1);
        if (minute_pack_decode(sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2), m) !=
            SM_OK) {
            sm_log(SM_LOG_WARN, "history: series %lld: damaged minute rollups of hour %lld",
                   (long long)series, (long long)hour);
            rc = SM_EPARSE;
            break;
        }
        for (int k = 0; k < 60 && rc == SM_OK; k++)
            if (m[k].n > 0)
                rc = fn(arg, series, hour * 60 + k, &m[k]);
    }
    if (rc == SM_OK && step != SQLITE_DONE)
        rc = SM_EIO;
    sqlite3_finalize(s);
    return rc;
}

static enum sm_rc
expand_one(void *arg, int64_t series, int64_t minute, const struct minute_agg *m)
{
    sqlite3_stmt *ins = arg;
    sqlite3_bind_int64(ins, 1, series);
    sqlite3_bind_int64(ins, 2, minute);
    sqlite3_bind_int64(ins, 3, m->n);
    sqlite3_bind_double(ins, 4, m->sum);
    sqlite3_bind_double(ins, 5, m->min);
    sqlite3_bind_double(ins, 6, m->max);
    return step_done(sqlite3_db_handle(ins), ins);
}

enum sm_rc
history_minutes_expand(sqlite3 *db)
{
    enum sm_rc rc = exec_i64(db, "DROP TABLE IF EXISTS temp.rollup_1m", 0, NULL);
    if (rc == SM_OK)
        rc = exec_i64(db,
                      "CREATE TEMP TABLE rollup_1m(series_id INTEGER NOT NULL,"
                      " bucket INTEGER NOT NULL, n INTEGER NOT NULL, sum REAL NOT NULL,"
                      " min REAL NOT NULL, max REAL NOT NULL,"
                      " PRIMARY KEY(series_id, bucket)) WITHOUT ROWID",
                      0, NULL);
    if (rc != SM_OK)
        return rc;
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db, "INSERT INTO temp.rollup_1m VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1,
                           &ins, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    rc = minutes_each(db, expand_one, ins);
    sqlite3_finalize(ins);
    return rc;
}

/* Migration: one series' hour being packed from minute rows. */
struct pack_state {
    struct minute_io io;
    int64_t series, hour, rows, n, packed_n;
    struct minute_agg m[60];
    int any;
};

static enum sm_rc
pack_flush(struct pack_state *p)
{
    if (!p->any)
        return SM_OK;
    p->any = 0;
    return minutes_store(&p->io, p->series, p->hour, p->m, 0);
}

static enum sm_rc
count_one(void *arg, int64_t series, int64_t minute, const struct minute_agg *m)
{
    (void)series;
    (void)minute;
    struct pack_state *p = arg;
    p->packed_n += m->n;
    p->rows--;
    return SM_OK;
}

enum sm_rc
history_minutes_pack(sqlite3 *db, int64_t *minutes)
{
    struct pack_state p = {0};
    *minutes = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT series_id, bucket, n, sum, min, max FROM main.rollup_1m"
                           " ORDER BY series_id, bucket",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    if (minute_io_init(&p.io, db) != SM_OK) {
        sqlite3_finalize(s);
        return SM_EINTERNAL;
    }
    enum sm_rc rc = SM_OK;
    int step;
    while (rc == SM_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t series = sqlite3_column_int64(s, 0), bucket = sqlite3_column_int64(s, 1);
        int64_t hour = history_floor_div(bucket, 60), n = sqlite3_column_int64(s, 2);
        if (p.any && (series != p.series || hour != p.hour))
            rc = pack_flush(&p);
        if (!p.any) {
            memset(p.m, 0, sizeof p.m);
            p.series = series;
            p.hour = hour;
        }
        if (n < 1 || n > MINUTE_PACK_N_MAX)
            continue; /* not a minute smserver wrote: there is nothing to keep */
        p.m[bucket - hour * 60] =
            (struct minute_agg){n, sqlite3_column_double(s, 3), sqlite3_column_double(s, 4),
                                sqlite3_column_double(s, 5)};
        p.any = 1;
        p.rows++;
        p.n += n;
    }
    if (rc == SM_OK && step != SQLITE_DONE)
        rc = SM_EIO;
    sqlite3_finalize(s);
    if (rc == SM_OK)
        rc = pack_flush(&p);
    int64_t rows = p.rows;
    /* Checked by counts: as many minutes and points packed as there were rows. */
    if (rc == SM_OK)
        rc = minutes_each(db, count_one, &p);
    if (rc == SM_OK && (p.rows != 0 || p.packed_n != p.n)) {
        sm_log(SM_LOG_ERROR,
               "history: packing minutes: %lld rows and %lld points became %lld"
               " and %lld",
               (long long)rows, (long long)p.n, (long long)(rows - p.rows), (long long)p.packed_n);
        rc = SM_EINTERNAL;
    }
    minute_io_done(&p.io);
    if (rc == SM_OK)
        rc = exec_i64(db, "DROP TABLE main.rollup_1m", 0, NULL);
    if (rc == SM_OK)
        *minutes = rows;
    return rc;
}

/* ------------------------------------------------------------------ queries */

enum sm_rc
history_series_find(sqlite3 *db, int64_t agent_id, const char *name, const char *labels,
                    int64_t *id)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(
            db, "SELECT id FROM series WHERE agent_id = ?1 AND name = ?2 AND labels = ?3", -1, &s,
            NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, agent_id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, labels ? labels : "", -1, SQLITE_STATIC);
    enum sm_rc rc = SM_ENOTFOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        rc = SM_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

struct query {
    sqlite3 *db;
    int64_t series, agent;
    struct history_result *out;
    struct history_acc acc;
};

static void
accumulate(struct query *q, int64_t t, int64_t n, double sum, double mn, double mx)
{
    history_acc_add(&q->acc, (t - q->acc.origin) / q->acc.width, n, sum, mn, mx);
}

static void
query_point(void *arg, int64_t series, int64_t t, double v)
{
    (void)series;
    accumulate(arg, t, 1, v, v, v);
}

/* Raw points of the series in [lo, hi): the agent's sample rows, each one's value of
 * the series when it has one. */
static enum sm_rc
read_raw(struct query *q, int64_t lo, int64_t hi)
{
    if (lo >= hi || q->agent == 0)
        return SM_OK;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(q->db,
                           "SELECT ts, data FROM samples WHERE agent_id = ?1 AND ts >= ?2"
                           " AND ts < ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, q->agent);
    sqlite3_bind_int64(s, 2, lo);
    sqlite3_bind_int64(s, 3, hi);
    int rc, bad = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        double v;
        enum sm_rc f = history_blob_find(sqlite3_column_blob(s, 1),
                                         (size_t)sqlite3_column_bytes(s, 1), q->series, &v);
        q->out->rows_read++;
        if (f == SM_OK)
            accumulate(q, sqlite3_column_int64(s, 0), 1, v, v, v);
        else if (f == SM_EINVAL)
            bad++;
    }
    sqlite3_finalize(s);
    if (bad)
        sm_log(SM_LOG_WARN, "history: %d malformed sample blobs skipped", bad);
    if (rc != SQLITE_DONE)
        return SM_EIO;
    /* Then the sealed points: a damaged chunk fails the query (SM_EIO). */
    size_t chunks = 0;
    enum sm_rc r = history_chunks_read(q->db, q->series, lo, hi, query_point, q, &chunks);
    q->out->rows_read += chunks;
    return r;
}

/* The minute tier in [lo, hi) (whole minutes): the series' packed hours across it.
 * rows_read counts the minutes read (60 to a row). A damaged hour fails the query. */
static enum sm_rc
read_minutes(struct query *q, int64_t lo, int64_t hi)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(q->db,
                           "SELECT hour, data FROM rollup_1m_hours WHERE series_id = ?1"
                           " AND hour >= ?2 AND hour <= ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, q->series);
    sqlite3_bind_int64(s, 2, history_floor_div(lo, HOUR_MS));
    sqlite3_bind_int64(s, 3, history_floor_div(hi - 1, HOUR_MS));
    int rc;
    enum sm_rc r = SM_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t h0 = sqlite3_column_int64(s, 0) * HOUR_MS;
        struct minute_agg m[60];
        if (minute_pack_decode(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), m) !=
            SM_OK) {
            sm_log(SM_LOG_WARN, "history: series %lld: damaged minute rollups of hour %lld",
                   (long long)q->series, (long long)(h0 / HOUR_MS));
            r = SM_EIO;
            break;
        }
        for (int k = 0; k < 60; k++) {
            int64_t t = h0 + k * MINUTE_MS;
            if (m[k].n == 0 || t < lo || t >= hi)
                continue;
            accumulate(q, t, m[k].n, m[k].sum, m[k].min, m[k].max);
            q->out->rows_read++;
        }
    }
    sqlite3_finalize(s);
    if (r == SM_OK && rc != SQLITE_DONE)
        r = SM_EIO;
    return r;
}

/* A history_read_fn: the rows of one tier in [lo, hi). */
static enum sm_rc
read_tier(void *arg, enum history_tier tier, int64_t lo, int64_t hi)
{
    struct query *q = arg;
    if (tier == HISTORY_RAW)
        return read_raw(q, lo, hi);
    if (tier == HISTORY_MINUTE)
        return read_minutes(q, lo, hi);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(q->db,
                           "SELECT bucket, n, sum, min, max FROM rollup_1h"
                           " WHERE series_id = ?1 AND bucket >= ?2 AND bucket < ?3",
                           -1, &s, NULL) != SQLITE_OK)
        return SM_EINTERNAL;
    sqlite3_bind_int64(s, 1, q->series);
    sqlite3_bind_int64(s, 2, lo / HOUR_MS);
    sqlite3_bind_int64(s, 3, hi / HOUR_MS);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        accumulate(q, sqlite3_column_int64(s, 0) * HOUR_MS, sqlite3_column_int64(s, 1),
                   sqlite3_column_double(s, 2), sqlite3_column_double(s, 3),
                   sqlite3_column_double(s, 4));
        q->out->rows_read++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SM_OK : SM_EIO;
}

/* Cover [lo, hi) with whole buckets of tier and the edges with finer tiers. */
static enum sm_rc
cover(enum history_tier tier, int64_t lo, int64_t hi, history_read_fn read, void *arg)
{
    if (lo >= hi)
        return SM_OK;
    if (tier == HISTORY_RAW)
        return read(arg, HISTORY_RAW, lo, hi);
    int64_t size = tier == HISTORY_HOUR ? HOUR_MS : MINUTE_MS;
    int64_t a = history_floor_div(lo + size - 1, size) * size,
            b = history_floor_div(hi, size) * size;
    enum history_tier finer = tier == HISTORY_HOUR ? HISTORY_MINUTE : HISTORY_RAW;
    if (a >= b)
        return cover(finer, lo, hi, read, arg);
    enum sm_rc rc = cover(finer, lo, a, read, arg);
    if (rc == SM_OK)
        rc = read(arg, tier, a, b);
    if (rc == SM_OK)
        rc = cover(finer, b, hi, read, arg);
    return rc;
}

enum sm_rc
history_read_range(enum history_tier tier, int64_t start_ms, int64_t stop_ms, int64_t raw_from,
                   history_read_fn read, void *arg)
{
    int64_t split = raw_from < start_ms ? start_ms : raw_from > stop_ms ? stop_ms : raw_from;
    enum sm_rc rc = SM_OK;
    if (tier != HISTORY_RAW)
        rc = cover(tier, start_ms, split, read, arg);
    else
        split = start_ms;
    if (rc == SM_OK && split < stop_ms)
        rc = read(arg, HISTORY_RAW, split, stop_ms);
    return rc;
}

enum sm_rc
history_acc_init(struct history_acc *acc, int64_t start_ms, int64_t stop_ms, size_t points,
                 struct history_result *out)
{
    memset(out, 0, sizeof *out);
    memset(acc, 0, sizeof *acc);
    if (points == 0 || points > HISTORY_POINTS_MAX || stop_ms <= start_ms)
        return SM_EINVAL;
    int64_t span = stop_ms - start_ms;
    int64_t width = (span + (int64_t)points - 1) / (int64_t)points;
    if (width < 1000)
        width = 1000;
    out->tier = width >= HOUR_MS ? HISTORY_HOUR : width >= MINUTE_MS ? HISTORY_MINUTE : HISTORY_RAW;
    /* Rollup rows must fall wholly inside one output bucket: widths are whole tier
     * buckets and bucket boundaries are aligned to the width. */
    int64_t unit = out->tier == HISTORY_HOUR     ? HOUR_MS
                   : out->tier == HISTORY_MINUTE ? MINUTE_MS
                                                 : 1;
    width = (width + unit - 1) / unit * unit;
    int64_t origin;
    size_t nb;
    for (;;) {
        origin = unit > 1 ? history_floor_div(start_ms, width) * width : start_ms;
        nb = (size_t)((stop_ms - origin + width - 1) / width);
        if (nb <= points)
            break;
        width += unit > 1 ? unit : width / 16 + 1;
    }
    acc->origin = origin;
    acc->width = width;
    acc->nb = nb;
    acc->b = sm_xcalloc(nb, sizeof *acc->b);
    acc->sum = sm_xcalloc(nb, sizeof *acc->sum);
    out->width_ms = width;
    return SM_OK;
}

void
history_acc_add(struct history_acc *acc, int64_t i, int64_t n, double sum, double mn, double mx)
{
    if (i < 0 || (size_t)i >= acc->nb || n <= 0)
        return;
    struct history_bucket *b = &acc->b[i];
    if (b->n == 0 || mn < b->min)
        b->min = mn;
    if (b->n == 0 || mx > b->max)
        b->max = mx;
    b->n += n;
    acc->sum[i] += sum;
}

void
history_acc_finish(struct history_acc *acc, int64_t start_ms, struct history_result *out)
{
    out->b = sm_xcalloc(acc->nb ? acc->nb : 1, sizeof *out->b);
    for (size_t i = 0; i < acc->nb; i++) {
        if (acc->b[i].n == 0)
            continue;
        struct history_bucket *b = &out->b[out->n++];
        *b = acc->b[i];
        b->t = acc->origin + (int64_t)i * acc->width;
        if (b->t < start_ms)
            b->t = start_ms;
        b->avg = acc->sum[i] / (double)acc->b[i].n;
    }
    history_acc_done(acc);
}

void
history_acc_done(struct history_acc *acc)
{
    free(acc->b);
    free(acc->sum);
    acc->b = NULL;
    acc->sum = NULL;
    acc->nb = 0;
}

enum sm_rc
history_query(sqlite3 *db, int64_t series_id, int64_t start_ms, int64_t stop_ms, size_t points,
              struct history_result *out)
{
    struct query q = {.db = db, .series = series_id, .out = out};
    enum sm_rc rc = history_acc_init(&q.acc, start_ms, stop_ms, points, out);
    if (rc != SM_OK)
        return rc;
    /* One read transaction: rows and chunks from the same snapshot, so a seal that
     * commits meanwhile is seen wholly or not at all. */
    int own_txn =
        sqlite3_get_autocommit(db) && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    int64_t w = 0;
    rc = state_get(db, "minute_done", &w);
    if (rc == SM_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "SELECT agent_id FROM series WHERE id = ?1", -1, &s, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_int64(s, 1, series_id);
            if (sqlite3_step(s) == SQLITE_ROW)
                q.agent = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
        }
        /* Minutes marked dirty (late samples) are not re-rolled yet: read them raw, so an
         * answer is exact even in the seconds before the next rollup. */
        if (sqlite3_prepare_v2(db, "SELECT min(bucket) FROM rollup_dirty WHERE agent_id = ?1", -1,
                               &s, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, q.agent);
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL &&
                sqlite3_column_int64(s, 0) * MINUTE_MS < w)
                w = sqlite3_column_int64(s, 0) * MINUTE_MS;
            sqlite3_finalize(s);
        }
        rc = history_read_range(out->tier, start_ms, stop_ms, w, read_tier, &q);
    }
    if (rc == SM_OK)
        history_acc_finish(&q.acc, start_ms, out);
    else
        history_acc_done(&q.acc);
    if (own_txn)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SM_OK)
        history_result_done(out);
    return rc;
}

void
history_result_done(struct history_result *r)
{
    free(r->b);
    memset(r, 0, sizeof *r);
}
