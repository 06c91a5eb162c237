/* migrate.c: smserver migrate --from PATH.db --to POSTGRESQL (migrate.h): copy a SQLite
 * database into a PostgreSQL database, one table step at a time: users, agents, refresh
 * token hashes, alert channels, rules and events, series, the newest sample of each
 * agent, process snapshots, both rollup tiers with the dirty minutes and the watermark,
 * then every raw sample. Rows keep their ids (and samples their series ids), so the
 * references between them hold and history answers the same on both sides; a row whose
 * key is already there is kept, so a run interrupted part way is simply run again.
 * After each step the rows of both sides are counted and hashed in the same canonical
 * form, and any difference is an error that names the table. Every value is a bound
 * parameter: each table's rows go as binary arrays (pg_array.h), many rows a statement.
 *
 * Samples: on SQLite a sample is a row (a point blob, history.h) or, once its two-hour
 * window is sealed, a time in chunk_samples with its points in the series' chunks; on
 * PostgreSQL it is one row of arrays in a day partition (store_pg_ingest.c). The copy
 * reads an agent's windows in time order, merges rows and chunks into whole samples,
 * makes the day partitions they need through the backend's own sm_samples_day(), and
 * writes batches of samples, each INSERT its own transaction, sent while the next batch
 * is read. The rollups are copied as they are, not recomputed: raw retention (7 days by
 * default) has dropped the points under older rollups. */
#include "config.h"

#include "migrate.h"

#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chunk.h"
#include "cli.h"
#include "clock.h"
#include "history.h"
#include "log.h"
#include "pg_array.h"
#include "store.h"
#include "store_pg.h"
#include "xmalloc.h"

#define MIGRATE_COLS 16
/* Rows of a table per INSERT. */
#define BATCH_ROWS 2000
/* Samples per INSERT: at most this many (--batch), and at most this many points. */
#define SAMPLE_BATCH_DEFAULT 5000
#define SAMPLE_BATCH_MAX 100000
#define SAMPLE_BATCH_POINTS 200000
/* Seconds between two progress lines of the sample copy. */
#define PROGRESS_S 2.0

/* One table. types has one letter per column: i integer, t text, b bytes, d double,
 * B boolean. src and dst select the same columns in the same key order; ins writes the
 * rows of a batch, one array parameter per column ($1 ...), and keeps a row whose key
 * exists; seq, when set, moves the identity sequence past the copied ids, so rows made
 * on PostgreSQL later get new ones. */
struct step {
    const char *table;
    const char *types;
    const char *src;
    const char *ins;
    const char *dst;
    const char *seq;
};

#define SETVAL(t)                                                                                  \
    "SELECT setval(pg_get_serial_sequence('" t "', 'id'),"                                         \
    " (SELECT coalesce(max(id), 0) + 1 FROM " t "), false)"

static const struct step steps[] = {
    {"users", "itti", "SELECT id, name, pwhash, created FROM users ORDER BY id",
     "INSERT INTO users(id, name, pwhash, created) OVERRIDING SYSTEM VALUE SELECT * FROM"
     " unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) ON CONFLICT DO NOTHING",
     "SELECT id, name, pwhash, created FROM users ORDER BY id", SETVAL("users")},
    {"agents", "iitbiit",
     "SELECT id, user_id, name, token_hash, created, last_seen, host FROM agents ORDER BY id",
     "INSERT INTO agents(id, user_id, name, token_hash, created, last_seen, host)"
     " OVERRIDING SYSTEM VALUE SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
     " $4::bytea[], $5::bigint[], $6::bigint[], $7::text[]) ON CONFLICT DO NOTHING",
     "SELECT id, user_id, name, token_hash, created, last_seen, host FROM agents ORDER BY id",
     SETVAL("agents")},
    {"refresh_tokens", "bibiBi",
     "SELECT hash, user_id, family, expires, revoked, created FROM refresh_tokens"
     " ORDER BY hash",
     "INSERT INTO refresh_tokens(hash, user_id, family, expires, revoked, created)"
     " SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bigint[],"
     " $5::boolean[], $6::bigint[]) ON CONFLICT DO NOTHING",
     "SELECT hash, user_id, family, expires, revoked, created FROM refresh_tokens"
     " ORDER BY hash",
     NULL},
    {"alert_channels", "iittttbi",
     "SELECT id, user_id, name, kind, url, chat_id, secret, created FROM alert_channels"
     " ORDER BY id",
     "INSERT INTO alert_channels(id, user_id, name, kind, url, chat_id, secret, created)"
     " OVERRIDING SYSTEM VALUE SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
     " $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bigint[]) ON CONFLICT DO NOTHING",
     "SELECT id, user_id, name, kind, url, chat_id, secret, created FROM alert_channels"
     " ORDER BY id",
     SETVAL("alert_channels")},
    {"alert_rules", "iittttdiiitiii",
     "SELECT id, user_id, name, metric, labels, op, threshold, for_seconds, resolve_seconds,"
     " agent_id, severity, channel_id, created, updated FROM alert_rules ORDER BY id",
     "INSERT INTO alert_rules(id, user_id, name, metric, labels, op, threshold, for_seconds,"
     " resolve_seconds, agent_id, severity, channel_id, created, updated)"
     " OVERRIDING SYSTEM VALUE SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
     " $4::text[], $5::text[], $6::text[], $7::double precision[], $8::bigint[], $9::bigint[],"
     " $10::bigint[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[])"
     " ON CONFLICT DO NOTHING",
     "SELECT id, user_id, name, metric, labels, op, threshold, for_seconds, resolve_seconds,"
     " agent_id, severity, channel_id, created, updated FROM alert_rules ORDER BY id",
     SETVAL("alert_rules")},
    {"alert_events", "iiittdii",
     "SELECT id, rule_id, agent_id, labels, state, value, ts, at FROM alert_events ORDER BY id",
     "INSERT INTO alert_events(id, rule_id, agent_id, labels, state, value, ts, at)"
     " OVERRIDING SYSTEM VALUE SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[],"
     " $4::text[], $5::text[], $6::double precision[], $7::bigint[], $8::bigint[])"
     " ON CONFLICT DO NOTHING",
     "SELECT id, rule_id, agent_id, labels, state, value, ts, at FROM alert_events ORDER BY id",
     SETVAL("alert_events")},
    {"series", "iitt", "SELECT id, agent_id, name, labels FROM series ORDER BY id",
     "INSERT INTO series(id, agent_id, name, labels) OVERRIDING SYSTEM VALUE SELECT * FROM"
     " unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
     "SELECT id, agent_id, name, labels FROM series ORDER BY id", SETVAL("series")},
    {"latest", "iit", "SELECT agent_id, ts, sample FROM latest ORDER BY agent_id",
     "INSERT INTO latest(agent_id, ts, sample) SELECT * FROM unnest($1::bigint[], $2::bigint[],"
     " $3::text[]) ON CONFLICT DO NOTHING",
     "SELECT agent_id, ts, sample FROM latest ORDER BY agent_id", NULL},
    /* The snapshot is JSON: a BLOB on SQLite, text on PostgreSQL. */
    {"proc_snapshots", "iiidit",
     "SELECT agent_id, minute, ts, cpu, bytes, data FROM proc_snapshots"
     " ORDER BY agent_id, minute",
     "INSERT INTO proc_snapshots(agent_id, minute, ts, cpu, bytes, data) SELECT * FROM"
     " unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::double precision[], $5::bigint[],"
     " $6::text[]) ON CONFLICT DO NOTHING",
     "SELECT agent_id, minute, ts, cpu, bytes, data FROM proc_snapshots"
     " ORDER BY agent_id, minute",
     NULL},
    {"rollup_1m", "iiiddd",
     "SELECT series_id, bucket, n, sum, min, max FROM rollup_1m ORDER BY series_id, bucket",
     "INSERT INTO rollup_1m(series_id, bucket, n, sum, min, max) SELECT * FROM"
     " unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::double precision[],"
     " $5::double precision[], $6::double precision[]) ON CONFLICT DO NOTHING",
     "SELECT series_id, bucket, n, sum, min, max FROM rollup_1m ORDER BY series_id, bucket", NULL},
    {"rollup_1h", "iiiddd",
     "SELECT series_id, bucket, n, sum, min, max FROM rollup_1h ORDER BY series_id, bucket",
     "INSERT INTO rollup_1h(series_id, bucket, n, sum, min, max) SELECT * FROM"
     " unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::double precision[],"
     " $5::double precision[], $6::double precision[]) ON CONFLICT DO NOTHING",
     "SELECT series_id, bucket, n, sum, min, max FROM rollup_1h ORDER BY series_id, bucket", NULL},
    {"rollup_dirty", "ii", "SELECT agent_id, bucket FROM rollup_dirty ORDER BY agent_id, bucket",
     "INSERT INTO rollup_dirty(agent_id, bucket) SELECT * FROM unnest($1::bigint[],"
     " $2::bigint[]) ON CONFLICT DO NOTHING",
     "SELECT agent_id, bucket FROM rollup_dirty ORDER BY agent_id, bucket", NULL},
    /* The watermark (every minute before it is rolled up) and the quiet-period clock of
     * the dirty minutes, which both backends keep alike. They describe the rollups just
     * copied, so they replace what PostgreSQL has (a server started on the empty
     * database moved its watermark already; one moved back only rolls minutes up again
     * from the raw samples). */
    {"rollup_state", "ti",
     "SELECT k, coalesce((SELECT v FROM rollup_state r WHERE r.k = x.k), 0) FROM"
     " (SELECT 'dirty_seen' AS k UNION ALL SELECT 'dirty_wait' UNION ALL SELECT 'minute_done')"
     " AS x ORDER BY k",
     "INSERT INTO rollup_state(k, v) SELECT * FROM unnest($1::text[], $2::bigint[])"
     " ON CONFLICT (k) DO UPDATE SET v = excluded.v"
     " WHERE rollup_state.v IS DISTINCT FROM excluded.v",
     "SELECT k, v FROM rollup_state WHERE k IN ('dirty_seen', 'dirty_wait', 'minute_done')"
     " ORDER BY k COLLATE \"C\"",
     NULL},
};

static const char usage_text[] =
    "usage: smserver migrate --from PATH.db --to POSTGRESQL [--batch SAMPLES]";

static void
hex(char *dst, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[b[i] >> 4];
        dst[2 * i + 1] = digits[b[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* One value into the table's hash: its type, its canonical text, a separator. */
static void
hash_value(crypto_generichash_state *h, char type, const char *v, size_t n)
{
    uint8_t sep = 0x1f;
    crypto_generichash_update(h, (const uint8_t *)&type, 1);
    if (v)
        crypto_generichash_update(h, (const uint8_t *)v, n);
    else
        crypto_generichash_update(h, (const uint8_t *)"\\N", 2);
    crypto_generichash_update(h, &sep, 1);
}

static uint32_t
type_oid(char type)
{
    switch (type) {
    case 'i':
        return PG_OID_INT8;
    case 'd':
        return PG_OID_FLOAT8;
    case 'B':
        return PG_OID_BOOL;
    case 'b':
        return PG_OID_BYTEA;
    default:
        return PG_OID_TEXT;
    }
}

/* The canonical text of column c of a SQLite row (allocated; NULL for SQL NULL), its
 * value appended to the column's array. */
static char *
sqlite_value(sqlite3_stmt *s, int c, char type, struct pg_array *arr)
{
    if (sqlite3_column_type(s, c) == SQLITE_NULL) {
        pg_array_add_null(arr);
        return NULL;
    }
    switch (type) {
    case 'i': {
        int64_t v = (int64_t)sqlite3_column_int64(s, c);
        pg_array_add(arr, (uint64_t)v, 8);
        return sm_xasprintf("%" PRId64, v);
    }
    case 'd': {
        double v = sqlite3_column_double(s, c);
        pg_array_add_f64(arr, v);
        return sm_xasprintf("%.17g", v);
    }
    case 'B': {
        int v = sqlite3_column_int64(s, c) != 0;
        pg_array_add(arr, (uint64_t)v, 1);
        return sm_xstrdup(v ? "1" : "0");
    }
    case 'b': {
        const uint8_t *b = sqlite3_column_blob(s, c);
        int n = sqlite3_column_bytes(s, c);
        pg_array_add_bytes(arr, b, (size_t)n);
        char *t = sm_xmalloc(2 * (size_t)n + 1);
        hex(t, b, (size_t)n);
        return t;
    }
    default: { /* 't' (a BLOB column read as its bytes) */
        const char *t = (const char *)sqlite3_column_text(s, c);
        int n = sqlite3_column_bytes(s, c);
        pg_array_add_bytes(arr, t ? t : "", (size_t)n);
        char *v = sm_xmalloc((size_t)n + 1);
        if (n)
            memcpy(v, t, (size_t)n);
        v[n] = '\0';
        return v;
    }
    }
}

/* The canonical text of a PostgreSQL value (text form), as sqlite_value makes it. */
static char *
pg_value(const PGresult *r, int row, int c, char type)
{
    if (PQgetisnull(r, row, c))
        return NULL;
    const char *v = PQgetvalue(r, row, c);
    switch (type) {
    case 'd':
        return sm_xasprintf("%.17g", strtod(v, NULL));
    case 'B':
        return sm_xstrdup(v[0] == 't' ? "1" : "0");
    case 'b':
        return sm_xstrdup(strncmp(v, "\\x", 2) == 0 ? v + 2 : v);
    default:
        return sm_xstrdup(v);
    }
}

struct tally {
    int64_t rows, added, points;
    uint8_t sum[16];
};

/* Run sql with the n binary parameters of arr (each finished first); 0 with *added
 * increased by the rows it wrote, or -1 with *cause set. */
static int
write_arrays(PGconn *dst, const char *table, const char *sql, struct pg_array *arr, int n,
             int64_t *added, char **cause)
{
    const char *val[MIGRATE_COLS];
    int len[MIGRATE_COLS], fmt[MIGRATE_COLS];
    for (int c = 0; c < n; c++) {
        pg_array_finish(&arr[c]);
        val[c] = (const char *)arr[c].p;
        len[c] = (int)arr[c].len;
        fmt[c] = 1;
    }
    PGresult *r = PQexecParams(dst, sql, n, NULL, val, len, fmt, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (ok)
        *added += strtoll(PQcmdTuples(r), NULL, 10);
    else
        *cause = sm_xasprintf("%s: writing to PostgreSQL: %s", table, PQresultErrorMessage(r));
    PQclear(r);
    for (int c = 0; c < n; c++)
        pg_array_start(&arr[c], arr[c].oid);
    return ok ? 0 : -1;
}

/* Copy one table in batches of BATCH_ROWS, in one transaction, and hash its source rows;
 * 0, or -1 with *cause set. */
static int
copy_step(sqlite3 *src, PGconn *dst, const struct step *st, struct tally *t, char **cause)
{
    int ncol = (int)strlen(st->types);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(src, st->src, -1, &s, NULL) != SQLITE_OK) {
        *cause =
            sm_xasprintf("%s: reading the SQLite database: %s", st->table, sqlite3_errmsg(src));
        return -1;
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof t->sum);
    struct pg_array arr[MIGRATE_COLS];
    memset(arr, 0, sizeof arr);
    for (int c = 0; c < ncol; c++)
        pg_array_start(&arr[c], type_oid(st->types[c]));
    PGresult *r = PQexec(dst, "BEGIN");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        *cause = sm_xasprintf("%s: begin: %s", st->table, PQresultErrorMessage(r));
    PQclear(r);
    int step = SQLITE_DONE, pending = 0;
    while (ok && (step = sqlite3_step(s)) == SQLITE_ROW) {
        for (int c = 0; c < ncol; c++) {
            char *canon = sqlite_value(s, c, st->types[c], &arr[c]);
            hash_value(&h, st->types[c], canon, canon ? strlen(canon) : 0);
            free(canon);
        }
        t->rows++;
        if (++pending == BATCH_ROWS) {
            ok = write_arrays(dst, st->table, st->ins, arr, ncol, &t->added, cause) == 0;
            pending = 0;
        }
    }
    if (ok && step != SQLITE_DONE) {
        *cause =
            sm_xasprintf("%s: reading the SQLite database: %s", st->table, sqlite3_errmsg(src));
        ok = 0;
    }
    if (ok && pending)
        ok = write_arrays(dst, st->table, st->ins, arr, ncol, &t->added, cause) == 0;
    sqlite3_finalize(s);
    for (int c = 0; c < ncol; c++)
        pg_array_free(&arr[c]);
    if (ok && st->seq) {
        r = PQexec(dst, st->seq);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            *cause = sm_xasprintf("%s: identity: %s", st->table, PQresultErrorMessage(r));
            ok = 0;
        }
        PQclear(r);
    }
    r = PQexec(dst, ok ? "COMMIT" : "ROLLBACK");
    if (ok && PQresultStatus(r) != PGRES_COMMAND_OK) {
        *cause = sm_xasprintf("%s: commit: %s", st->table, PQresultErrorMessage(r));
        ok = 0;
    }
    PQclear(r);
    crypto_generichash_final(&h, t->sum, sizeof t->sum);
    return ok ? 0 : -1;
}

/* Send sql (text results) and read its rows one at a time (a large table is never held
 * in memory whole): row(r, arg) for each; 0, or -1 with *cause set. */
static int
read_rows(PGconn *dst, const char *table, const char *sql, int binary,
          void (*row)(const PGresult *r, void *arg), void *arg, char **cause)
{
    if (!PQsendQueryParams(dst, sql, 0, NULL, NULL, NULL, NULL, binary) ||
        !PQsetSingleRowMode(dst)) {
        *cause = sm_xasprintf("%s: reading PostgreSQL: %s", table, PQerrorMessage(dst));
        while (PQgetResult(dst) != NULL)
            ;
        return -1;
    }
    int ok = 1;
    PGresult *r;
    while ((r = PQgetResult(dst)) != NULL) {
        ExecStatusType k = PQresultStatus(r);
        if (k == PGRES_SINGLE_TUPLE) {
            if (ok)
                row(r, arg);
        } else if (k != PGRES_TUPLES_OK && ok) {
            *cause = sm_xasprintf("%s: reading PostgreSQL: %s", table, PQresultErrorMessage(r));
            ok = 0;
        }
        PQclear(r);
    }
    return ok ? 0 : -1;
}

struct check {
    const struct step *st;
    int ncol;
    crypto_generichash_state h;
    struct tally *t;
};

static void
check_row(const PGresult *r, void *arg)
{
    struct check *k = arg;
    for (int c = 0; c < k->ncol; c++) {
        char *canon = pg_value(r, 0, c, k->st->types[c]);
        hash_value(&k->h, k->st->types[c], canon, canon ? strlen(canon) : 0);
        free(canon);
    }
    k->t->rows++;
}

/* Count and hash the table's rows on PostgreSQL, as copy_step did the source's. */
static int
check_step(PGconn *dst, const struct step *st, struct tally *t, char **cause)
{
    struct check k = {.st = st, .ncol = (int)strlen(st->types), .t = t};
    crypto_generichash_init(&k.h, NULL, 0, sizeof t->sum);
    int rc = read_rows(dst, st->table, st->dst, 0, check_row, &k, cause);
    crypto_generichash_final(&k.h, t->sum, sizeof t->sum);
    return rc;
}

/* ------------------------------------------------------------------ samples */

/* The canonical form of the samples, hashed on both sides in (agent, ts) order: for
 * each sample its agent id, its time (ms) and its point count, then for each point in
 * ascending series id the series id and the value's IEEE 754 bits, each eight bytes
 * little-endian. */
#define HASH_BUF 65536

struct canon {
    crypto_generichash_state h;
    uint8_t buf[HASH_BUF];
    size_t len;
};

static void
canon_u64(struct canon *k, uint64_t v)
{
    if (k->len + 8 > sizeof k->buf) {
        crypto_generichash_update(&k->h, k->buf, k->len);
        k->len = 0;
    }
    for (int i = 0; i < 8; i++)
        k->buf[k->len++] = (uint8_t)(v >> (8 * i));
}

static void
canon_f64(struct canon *k, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    canon_u64(k, v);
}

static void
canon_final(struct canon *k, uint8_t *sum, size_t n)
{
    crypto_generichash_update(&k->h, k->buf, k->len);
    k->len = 0;
    crypto_generichash_final(&k->h, sum, n);
}

/* One point of a window being merged; pos keeps the first of equal (t, series). */
struct wpoint {
    int64_t t, series;
    double v;
    size_t pos;
};

enum {
    Q_NEXT_ROW_AGENT,
    Q_NEXT_CHUNK_AGENT,
    Q_NEXT_ROW_TS,
    Q_NEXT_CHUNK_TS,
    Q_ROWS,
    Q_TIMES,
    Q_COUNT_
};

static const char *const samples_sql[Q_COUNT_] = {
    /* Each a seek in a primary key. */
    [Q_NEXT_ROW_AGENT] = "SELECT min(agent_id) FROM samples WHERE agent_id > ?1",
    [Q_NEXT_CHUNK_AGENT] = "SELECT min(agent_id) FROM chunk_samples WHERE agent_id > ?1",
    [Q_NEXT_ROW_TS] = "SELECT min(ts) FROM samples WHERE agent_id = ?1 AND ts >= ?2",
    [Q_NEXT_CHUNK_TS] = "SELECT min(t0) FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2",
    [Q_ROWS] = "SELECT ts, data FROM samples WHERE agent_id = ?1 AND ts >= ?2 AND ts < ?3",
    [Q_TIMES] = "SELECT t0, data FROM chunk_samples WHERE agent_id = ?1 AND t0 >= ?2 AND t0 < ?3",
};

/* The columns of a samples batch: agent, time, where its points start in the flat
 * arrays and how many, then the flat series ids and values. */
enum { A_AGENT, A_TS, A_OFF, A_CNT, A_SIDS, A_VALS, A_COUNT_ };

static const char samples_ins[] =
    "INSERT INTO samples(agent_id, ts, sids, vals) SELECT u.a, u.ts,"
    " ($5::bigint[])[u.o + 1 : u.o + u.c], ($6::double precision[])[u.o + 1 : u.o + u.c]"
    " FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[]) AS u(a, ts, o, c)"
    " ON CONFLICT DO NOTHING";

struct samples_copy {
    sqlite3 *src;
    PGconn *dst;
    sqlite3_stmt *q[Q_COUNT_];
    struct tally *t;
    struct canon canon;
    /* the window being merged */
    struct wpoint *pts;
    size_t np, pcap;
    int64_t *times;
    size_t nt, tcap;
    struct history_pair *pairs;
    size_t paircap;
    /* the batch being filled, and the one PostgreSQL is writing (pending) */
    struct pg_array arr[A_COUNT_];
    size_t batch_max; /* samples per INSERT */
    size_t batch_samples, batch_points;
    int pending;
    int64_t pending_points;
    /* day partitions made, and those the batch needs that are not */
    int64_t *days, *new_days;
    size_t ndays, dcap, nnew, ncap;
    int64_t last_day;
    int have_last_day;
    /* progress */
    int64_t copied_points;
    double t0, last_report;
};

/* Wait for the batch PostgreSQL is writing; 0, or -1 with *cause set. */
static int
finish_pending(struct samples_copy *c, char **cause)
{
    if (!c->pending)
        return 0;
    c->pending = 0;
    int ok = 1;
    PGresult *r;
    while ((r = PQgetResult(c->dst)) != NULL) {
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            c->t->added += strtoll(PQcmdTuples(r), NULL, 10);
        } else if (ok) {
            *cause = sm_xasprintf("samples: writing to PostgreSQL: %s", PQresultErrorMessage(r));
            ok = 0;
        }
        PQclear(r);
    }
    if (!ok)
        return -1;
    c->copied_points += c->pending_points;
    double now = sm_mono_now();
    if (now - c->last_report >= PROGRESS_S) {
        c->last_report = now;
        fprintf(stderr, "smserver: migrate: samples: %" PRId64 " points copied (%.0f points/s)\n",
                c->copied_points, (double)c->copied_points / (now - c->t0));
    }
    return 0;
}

/* Make the day partitions the batch needs (the backend's sm_samples_day, which makes a
 * missing one and leaves one that is there). */
static int
make_days(struct samples_copy *c, char **cause)
{
    if (!c->nnew)
        return 0;
    struct pg_array d = {0};
    pg_array_start(&d, PG_OID_INT8);
    for (size_t i = 0; i < c->nnew; i++)
        pg_array_add(&d, (uint64_t)c->new_days[i], 8);
    pg_array_finish(&d);
    const char *val[1] = {(const char *)d.p};
    int len[1] = {(int)d.len}, fmt[1] = {1};
    PGresult *r = PQexecParams(c->dst, "SELECT sm_samples_day(d) FROM unnest($1::bigint[]) AS d", 1,
                               NULL, val, len, fmt, 0);
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        *cause = sm_xasprintf("samples: making day partitions: %s", PQresultErrorMessage(r));
    PQclear(r);
    pg_array_free(&d);
    if (!ok)
        return -1;
    for (size_t i = 0; i < c->nnew; i++) {
        c->days = sm_xgrow(c->days, &c->dcap, c->ndays + 1, sizeof *c->days);
        c->days[c->ndays++] = c->new_days[i];
    }
    c->nnew = 0;
    return 0;
}

/* Send the batch: the previous one finished first, then its partitions, then its INSERT
 * (its own transaction), left running while the next batch is read. */
static int
flush_batch(struct samples_copy *c, char **cause)
{
    if (!c->batch_samples)
        return 0;
    if (finish_pending(c, cause) != 0 || make_days(c, cause) != 0)
        return -1;
    const char *val[A_COUNT_];
    int len[A_COUNT_], fmt[A_COUNT_];
    for (int i = 0; i < A_COUNT_; i++) {
        pg_array_finish(&c->arr[i]);
        val[i] = (const char *)c->arr[i].p;
        len[i] = (int)c->arr[i].len;
        fmt[i] = 1;
    }
    /* libpq copies the parameters into its buffer: the arrays are free for the next
     * batch at once. */
    if (!PQsendQueryParams(c->dst, samples_ins, A_COUNT_, NULL, val, len, fmt, 0)) {
        *cause = sm_xasprintf("samples: writing to PostgreSQL: %s", PQerrorMessage(c->dst));
        return -1;
    }
    c->pending = 1;
    c->pending_points = (int64_t)c->batch_points;
    c->batch_samples = c->batch_points = 0;
    for (int i = 0; i < A_COUNT_; i++)
        pg_array_start(&c->arr[i], c->arr[i].oid);
    return 0;
}

/* Note the day of ts as needed by the batch when it has no partition yet. */
static void
need_day(struct samples_copy *c, int64_t ts)
{
    int64_t day = history_floor_div(ts, STORE_PG_DAY_MS);
    if (c->have_last_day && day == c->last_day)
        return;
    c->have_last_day = 1;
    c->last_day = day;
    for (size_t i = 0; i < c->ndays; i++)
        if (c->days[i] == day)
            return;
    for (size_t i = 0; i < c->nnew; i++)
        if (c->new_days[i] == day)
            return;
    c->new_days = sm_xgrow(c->new_days, &c->ncap, c->nnew + 1, sizeof *c->new_days);
    c->new_days[c->nnew++] = day;
}

/* Add one whole sample (its points sorted by series, each once) to the batch and to the
 * hash. */
static int
add_sample(struct samples_copy *c, int64_t agent, int64_t ts, const struct wpoint *p, size_t n,
           char **cause)
{
    need_day(c, ts);
    pg_array_add(&c->arr[A_AGENT], (uint64_t)agent, 8);
    pg_array_add(&c->arr[A_TS], (uint64_t)ts, 8);
    pg_array_add(&c->arr[A_OFF], c->arr[A_SIDS].n, 4);
    pg_array_add(&c->arr[A_CNT], (uint64_t)n, 4);
    canon_u64(&c->canon, (uint64_t)agent);
    canon_u64(&c->canon, (uint64_t)ts);
    canon_u64(&c->canon, (uint64_t)n);
    for (size_t i = 0; i < n; i++) {
        pg_array_add(&c->arr[A_SIDS], (uint64_t)p[i].series, 8);
        pg_array_add_f64(&c->arr[A_VALS], p[i].v);
        canon_u64(&c->canon, (uint64_t)p[i].series);
        canon_f64(&c->canon, p[i].v);
    }
    c->t->rows++;
    c->t->points += (int64_t)n;
    c->batch_samples++;
    c->batch_points += n;
    if (c->batch_samples >= c->batch_max || c->batch_points >= SAMPLE_BATCH_POINTS)
        return flush_batch(c, cause);
    return 0;
}

static void
window_point(void *arg, int64_t series, int64_t t, double v)
{
    struct samples_copy *c = arg;
    c->pts = sm_xgrow(c->pts, &c->pcap, c->np + 1, sizeof *c->pts);
    c->pts[c->np] = (struct wpoint){t, series, v, c->np};
    c->np++;
}

static void
window_time(struct samples_copy *c, int64_t t)
{
    c->times = sm_xgrow(c->times, &c->tcap, c->nt + 1, sizeof *c->times);
    c->times[c->nt++] = t;
}

static int
wpoint_cmp(const void *a, const void *b)
{
    const struct wpoint *x = a, *y = b;
    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    if (x->series != y->series)
        return (x->series > y->series) - (x->series < y->series);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static int
i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void
bind3(sqlite3_stmt *s, int64_t a, int64_t b, int64_t c)
{
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    sqlite3_bind_int64(s, 3, c);
}

/* One agent's window [w0, w0 + HISTORY_CHUNK_WINDOW_MS): its sealed sample times and
 * points and its sample rows, merged into whole samples in time order. A damaged chunk
 * or a malformed row is an error that names the agent and the time. */
static int
copy_window(struct samples_copy *c, int64_t agent, int64_t w0, char **cause)
{
    int64_t w1 = w0 + HISTORY_CHUNK_WINDOW_MS;
    c->np = c->nt = 0;
    sqlite3_stmt *s = c->q[Q_TIMES];
    bind3(s, agent, w0, w1);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        struct chunk_point *tp = NULL;
        size_t n = 0;
        const void *blob = sqlite3_column_blob(s, 1);
        int len = sqlite3_column_bytes(s, 1);
        if (!blob || len <= 0 || chunk_decode(blob, (size_t)len, &tp, &n) != SM_OK) {
            *cause = sm_xasprintf("samples: agent %" PRId64
                                  ": the sample times sealed from %" PRId64 " ms are damaged",
                                  agent, (int64_t)sqlite3_column_int64(s, 0));
            free(tp);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            window_time(c, tp[i].t);
        free(tp);
    }
    if (step != SQLITE_DONE)
        goto sqlite_fail;
    if (history_agent_chunks_read(c->src, agent, w0, w1, window_point, c) != SM_OK) {
        *cause = sm_xasprintf("samples: agent %" PRId64 ": a chunk of the window from %" PRId64
                              " ms cannot be read (damaged)",
                              agent, w0);
        return -1;
    }
    s = c->q[Q_ROWS];
    bind3(s, agent, w0, w1);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(s, 0);
        const uint8_t *blob = sqlite3_column_blob(s, 1);
        size_t len = (size_t)sqlite3_column_bytes(s, 1), n = 0;
        enum sm_rc rc = history_blob_check(blob, len, &n);
        if (rc == SM_OK) {
            c->pairs = sm_xgrow(c->pairs, &c->paircap, n ? n : 1, sizeof *c->pairs);
            rc = history_blob_decode(blob, len, c->pairs, n, &n);
        }
        if (rc != SM_OK) {
            *cause = sm_xasprintf("samples: agent %" PRId64 ": the points of the sample at %" PRId64
                                  " ms are malformed",
                                  agent, ts);
            return -1;
        }
        window_time(c, ts);
        for (size_t i = 0; i < n; i++)
            window_point(c, c->pairs[i].series, ts, c->pairs[i].value);
    }
    if (step != SQLITE_DONE)
        goto sqlite_fail;
    qsort(c->times, c->nt, sizeof *c->times, i64_cmp);
    qsort(c->pts, c->np, sizeof *c->pts, wpoint_cmp);
    /* Every time that has a sample, with the points at that time (the first of a series
     * given twice kept, as the writer does). */
    size_t i = 0, j = 0;
    while (i < c->nt || j < c->np) {
        int64_t t =
            i < c->nt && (j == c->np || c->times[i] <= c->pts[j].t) ? c->times[i] : c->pts[j].t;
        while (i < c->nt && c->times[i] == t)
            i++;
        size_t first = j, n = 0;
        for (; j < c->np && c->pts[j].t == t; j++)
            if (n == 0 || c->pts[first + n - 1].series != c->pts[j].series)
                c->pts[first + n++] = c->pts[j];
        if (add_sample(c, agent, t, c->pts + first, n, cause) != 0)
            return -1;
    }
    return 0;
sqlite_fail:
    *cause = sm_xasprintf("samples: reading the SQLite database: %s", sqlite3_errmsg(c->src));
    return -1;
}

/* The smallest value of a one-value query (SQL NULL: none), in *v; 1 when there is one,
 * 0 when none, -1 on error. */
static int
query_min(sqlite3_stmt *s, int64_t a, int64_t b, int64_t *v)
{
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, a);
    if (sqlite3_bind_parameter_count(s) > 1)
        sqlite3_bind_int64(s, 2, b);
    if (sqlite3_step(s) != SQLITE_ROW)
        return -1;
    if (sqlite3_column_type(s, 0) == SQLITE_NULL)
        return 0;
    *v = sqlite3_column_int64(s, 0);
    return 1;
}

/* The smaller of what two such queries find: 1 (in *v), 0 when neither finds one, -1 on
 * error. */
static int
next_of(sqlite3_stmt *x, sqlite3_stmt *y, int64_t a, int64_t b, int64_t *v)
{
    int64_t p = 0, q = 0;
    int k = query_min(x, a, b, &p), l = query_min(y, a, b, &q);
    if (k < 0 || l < 0)
        return -1;
    if (!k && !l)
        return 0;
    *v = !k ? q : !l ? p : p < q ? p : q;
    return 1;
}

/* Copy every sample, agent by agent and window by window, hashing them; 0, or -1 with
 * *cause set. Batches already written stay written when it fails. */
static int
copy_samples(sqlite3 *src, PGconn *dst, size_t batch, struct tally *t, char **cause)
{
    struct samples_copy *c = sm_xcalloc(1, sizeof *c);
    c->batch_max = batch;
    c->src = src;
    c->dst = dst;
    c->t = t;
    c->t0 = c->last_report = sm_mono_now();
    crypto_generichash_init(&c->canon.h, NULL, 0, sizeof t->sum);
    static const uint32_t oids[A_COUNT_] = {PG_OID_INT8, PG_OID_INT8, PG_OID_INT4,
                                            PG_OID_INT4, PG_OID_INT8, PG_OID_FLOAT8};
    for (int i = 0; i < A_COUNT_; i++)
        pg_array_start(&c->arr[i], oids[i]);
    int ok = 1;
    for (int i = 0; i < Q_COUNT_ && ok; i++)
        if (sqlite3_prepare_v2(src, samples_sql[i], -1, &c->q[i], NULL) != SQLITE_OK) {
            *cause = sm_xasprintf("samples: reading the SQLite database: %s", sqlite3_errmsg(src));
            ok = 0;
        }
    int64_t agent = INT64_MIN;
    int k = 0;
    while (ok &&
           (k = next_of(c->q[Q_NEXT_ROW_AGENT], c->q[Q_NEXT_CHUNK_AGENT], agent, 0, &agent)) != 0) {
        if (k < 0)
            break;
        /* The agent's windows that hold something, each found by a seek. */
        int64_t w = INT64_MIN, next;
        while (ok &&
               (k = next_of(c->q[Q_NEXT_ROW_TS], c->q[Q_NEXT_CHUNK_TS], agent, w, &next)) > 0) {
            int64_t w0 = history_window_of(next);
            ok = copy_window(c, agent, w0, cause) == 0;
            if (w0 > INT64_MAX - HISTORY_CHUNK_WINDOW_MS)
                break;
            w = w0 + HISTORY_CHUNK_WINDOW_MS;
        }
        if (k < 0)
            break;
    }
    if (ok && k < 0) {
        *cause = sm_xasprintf("samples: reading the SQLite database: %s", sqlite3_errmsg(src));
        ok = 0;
    }
    if (ok)
        ok = flush_batch(c, cause) == 0;
    /* A batch in flight is finished (or its failure read) either way. */
    char *late = NULL;
    if (finish_pending(c, ok ? cause : &late) != 0)
        ok = 0;
    free(late);
    double secs = sm_mono_now() - c->t0;
    if (ok && c->copied_points > 0)
        fprintf(stderr,
                "smserver: migrate: samples: %" PRId64 " points copied in %.1f s (%.0f points/s)\n",
                c->copied_points, secs, secs > 0 ? (double)c->copied_points / secs : 0.0);
    canon_final(&c->canon, t->sum, sizeof t->sum);
    for (int i = 0; i < Q_COUNT_; i++)
        sqlite3_finalize(c->q[i]);
    for (int i = 0; i < A_COUNT_; i++)
        pg_array_free(&c->arr[i]);
    free(c->pts);
    free(c->times);
    free(c->pairs);
    free(c->days);
    free(c->new_days);
    free(c);
    return ok ? 0 : -1;
}

/* ---- the PostgreSQL side, read back in binary */

struct samples_check {
    struct canon canon;
    struct tally *t;
    uint64_t *sids, *vals;
    size_t scap, vcap;
    struct wpoint *pts;
    size_t pcap;
    int bad;
};

static void
check_sample(const PGresult *r, void *arg)
{
    struct samples_check *k = arg;
    size_t ns = 0, nv = 0;
    if (PQgetlength(r, 0, 0) != 8 || PQgetlength(r, 0, 1) != 8 ||
        pg_array_read8((const uint8_t *)PQgetvalue(r, 0, 2), (size_t)PQgetlength(r, 0, 2), &k->sids,
                       &k->scap, &ns) != 0 ||
        pg_array_read8((const uint8_t *)PQgetvalue(r, 0, 3), (size_t)PQgetlength(r, 0, 3), &k->vals,
                       &k->vcap, &nv) != 0 ||
        ns != nv) {
        k->bad++;
        return;
    }
    int64_t agent = (int64_t)pg_get_be((const uint8_t *)PQgetvalue(r, 0, 0), 8);
    int64_t ts = (int64_t)pg_get_be((const uint8_t *)PQgetvalue(r, 0, 1), 8);
    k->pts = sm_xgrow(k->pts, &k->pcap, ns ? ns : 1, sizeof *k->pts);
    int sorted = 1;
    for (size_t i = 0; i < ns; i++) {
        double v;
        memcpy(&v, &k->vals[i], sizeof v);
        k->pts[i] = (struct wpoint){ts, (int64_t)k->sids[i], v, i};
        sorted = sorted && (i == 0 || k->pts[i - 1].series < k->pts[i].series);
    }
    if (!sorted)
        qsort(k->pts, ns, sizeof *k->pts, wpoint_cmp);
    canon_u64(&k->canon, (uint64_t)agent);
    canon_u64(&k->canon, (uint64_t)ts);
    canon_u64(&k->canon, (uint64_t)ns);
    for (size_t i = 0; i < ns; i++) {
        canon_u64(&k->canon, (uint64_t)k->pts[i].series);
        canon_f64(&k->canon, k->pts[i].v);
    }
    k->t->rows++;
    k->t->points += (int64_t)ns;
}

/* Count and hash the samples on PostgreSQL as copy_samples did the source's. */
static int
check_samples(PGconn *dst, struct tally *t, char **cause)
{
    struct samples_check *k = sm_xcalloc(1, sizeof *k);
    k->t = t;
    crypto_generichash_init(&k->canon.h, NULL, 0, sizeof t->sum);
    int rc = read_rows(dst, "samples",
                       "SELECT agent_id, ts, sids, vals FROM samples ORDER BY agent_id, ts", 1,
                       check_sample, k, cause);
    if (rc == 0 && k->bad) {
        *cause = sm_xasprintf("samples: %d rows on PostgreSQL are not arrays of the same length",
                              k->bad);
        rc = -1;
    }
    canon_final(&k->canon, t->sum, sizeof t->sum);
    free(k->sids);
    free(k->vals);
    free(k->pts);
    free(k);
    return rc;
}

static int
is_postgresql(const char *db)
{
    return strcmp(store_backend_of(db), "postgresql") == 0;
}

int
migrate_main(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    long batch = SAMPLE_BATCH_DEFAULT;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'b':
            if (sm_parse_long(optarg, 1, SAMPLE_BATCH_MAX, &batch) != 0)
                sm_usage_error("--batch: expected a number of samples from 1 to %d",
                               SAMPLE_BATCH_MAX);
            break;
        case 'h':
            printf("%s\n", usage_text);
            return SM_EXIT_OK;
        default:
            sm_usage_error("%s", usage_text);
        }
    }
    if (optind != argc || !from || !to)
        sm_usage_error("%s", usage_text);
    if (is_postgresql(from))
        sm_usage_error("--from: expected the path of a SQLite database");
    if (!is_postgresql(to))
        sm_usage_error("--to: expected a postgresql:// URI or a libpq connection string");
    struct stat sb;
    if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode))
        sm_die(SM_EXIT_FAIL, "migrate: %s: no such database file", from);
    if (sodium_init() < 0)
        sm_die(SM_EXIT_FAIL, "libsodium failed to initialise");

    /* The target first: a refused password or a wrong string changes neither side (the
     * source's schema would be brought up to date by its open below). */
    PGconn *dst = PQconnectdb(to);
    store_pg_notices(dst, to);
    if (PQstatus(dst) != CONNECTION_OK) {
        /* The user and database named, the password masked (store_pg_connect_error). */
        char *why = store_pg_connect_error(dst, to);
        fprintf(stderr, "smserver: migrate: %s\n", why);
        free(why);
        PQfinish(dst);
        return SM_EXIT_FAIL;
    }
    /* Both schemas brought to this smserver's version (or refused as newer), as a start
     * of the server would. */
    struct store *st = NULL;
    char *cause = NULL;
    if (store_open(from, &st, &cause) != SM_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s: %s", from, cause);
    store_free(st);
    if (store_open(to, &st, &cause) != SM_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s", cause);
    store_free(st);

    sqlite3 *src = NULL;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s: %s", from, src ? sqlite3_errmsg(src) : "cannot open");
    sqlite3_busy_timeout(src, 5000);
    PQclear(PQexec(dst, "SET client_min_messages = warning"));
    /* One snapshot of the source for the whole run. */
    sqlite3_exec(src, "BEGIN", NULL, NULL, NULL);
    /* SQLite packs the minute tier by the hour; PostgreSQL keeps a row a minute. The
     * copy and its check read the minutes unpacked, from a TEMP table of that snapshot. */
    if (history_minutes_expand(src) != SM_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s: the minute rollups cannot be read: %s", from,
               sqlite3_errmsg(src));
    int ret = SM_EXIT_OK;
    size_t nsteps = sizeof steps / sizeof steps[0];
    for (size_t i = 0; i <= nsteps && ret == SM_EXIT_OK; i++) {
        struct tally a = {0}, b = {0};
        const char *table = i < nsteps ? steps[i].table : "samples";
        int failed = i < nsteps ? copy_step(src, dst, &steps[i], &a, &cause) != 0 ||
                                      check_step(dst, &steps[i], &b, &cause) != 0
                                : copy_samples(src, dst, (size_t)batch, &a, &cause) != 0 ||
                                      check_samples(dst, &b, &cause) != 0;
        if (failed) {
            fprintf(stderr, "smserver: migrate: %s\n", cause);
            free(cause);
            cause = NULL;
            ret = SM_EXIT_FAIL;
            break;
        }
        char ha[33], hb[33], pa[48] = "", pb[48] = "";
        hex(ha, a.sum, sizeof a.sum);
        hex(hb, b.sum, sizeof b.sum);
        if (i == nsteps) {
            snprintf(pa, sizeof pa, " (%" PRId64 " points)", a.points);
            snprintf(pb, sizeof pb, "%" PRId64 " points, ", b.points);
        }
        int same = a.rows == b.rows && a.points == b.points &&
                   sodium_memcmp(a.sum, b.sum, sizeof a.sum) == 0;
        printf("%s: %" PRId64 " rows%s, %" PRId64 " copied, %" PRId64
               " already there; checksum %s %s\n",
               table, a.rows, pa, a.added, a.rows - a.added, ha, same ? "matches" : "DIFFERS");
        fflush(stdout);
        if (!same) {
            fprintf(stderr,
                    "smserver: migrate: %s: PostgreSQL holds %" PRId64
                    " rows (%schecksum %s), the SQLite database %" PRId64
                    "%s: the target has other or changed rows; migrate into an empty database\n",
                    table, b.rows, pb, hb, a.rows, pa);
            ret = SM_EXIT_FAIL;
        }
    }
    sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    PQfinish(dst);
    sqlite3_close(src);
    if (ret == SM_EXIT_OK)
        printf("migrate: done; every table matches\n");
    return ret;
}
