/* history.h: rollups, retention and range queries over the SQLite series store
 * (docs/DESIGN.md section 5; part of the SQLite backend, so it takes the sqlite3 handle).
 *
 * Raw points are stored packed, one row per sample: samples(agent_id, ts ms, data) where
 * data is a point blob (below) of the sample's (series id, value) pairs. A raw query for
 * one series scans the agent's sample rows in the range and picks that series' value.
 * Two rollup tiers hold, per series and bucket, count/sum/min/max: rollup_1m (bucket =
 * ts / 60000) and rollup_1h (bucket = ts / 3600000). A watermark W says that every
 * minute before W is rolled up; the writer marks the minutes of samples that arrive
 * later than W (late or back-filled) dirty, and the next rollup step recomputes them
 * from the raw samples, so rollups stay exact.
 * Queries answer [W, stop) from raw points and [start, W) from the coarsest tier whose
 * bucket fits the requested width, so a 7-day query reads thousands of rows.
 *
 * Chunks (history_chunk.c): once a two-hour window of an agent is rolled up and the agent
 * has a newer sample, the maintenance step history_seal moves the window's sample rows
 * into compressed chunks (chunk.h), one per series: chunks(series_id, t0, t1, n, ix,
 * data) with t0/t1 the first and last point's time and n the count; and the sample times
 * into chunk_samples(agent_id, t0, t1, n, data), which is what finds a resent sample once
 * its row is gone. With ix = 1 (a window's times fit one chunk) a series chunk holds the
 * positions of its points in the window's sample times instead of timestamps: the
 * agent's series share one column of times (about 0.4 bytes a point less). A sample that comes in
 * late for a sealed window is a row again until the next seal merges it in. Raw reads (queries,
 * re-rolls) read the chunks and the rows.
 *
 * Threads: functions take a connection; the rollup and retention steps run on the
 * writer thread (they write), queries on workers (read-only connections are fine). */
#ifndef SM_SMSERVER_HISTORY_H
#define SM_SMSERVER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "history_types.h"
#include "rc.h"

struct sqlite3;

/* Point blob: the raw points of one sample.
 *   byte 0       version: 2 (HISTORY_BLOB_VERSION), or 1 (written before, and still
 *                when an id delta exceeds HISTORY_BLOB_DELTA_MAX)
 *   varint       count n (at most HISTORY_BLOB_POINTS_MAX)
 *   n times, version 1: varint series id (the first one absolute and >= 1, then the
 *                delta from the previous id, >= 1: ids strictly increase), then the value
 *                as an 8-byte IEEE 754 double, little-endian, finite
 *   n times, version 2: varint delta * HISTORY_BLOB_KINDS + kind (the delta as in
 *                version 1), then by kind: 0, the 8-byte double as in version 1; k in
 *                1..7, a zigzag varint m (|m| < 2^53) and the value is m / 10^(k - 1)
 *                computed in double (the encoder picks the first kind that gives the
 *                value back bit for bit, so -0.0 and values like 1/3 stay doubles)
 * Varints are unsigned LEB128 (7 bits a byte, low first), at most 10 bytes, no
 * redundant trailing zero byte. The blob ends exactly after the last value. Version 2
 * takes 2 to 4 bytes a point for the agent's usual values (counters, values with a few
 * decimals) where version 1 takes 9. */
#define HISTORY_BLOB_VERSION 2
#define HISTORY_BLOB_KINDS 8
#define HISTORY_BLOB_DELTA_MAX (UINT64_MAX / HISTORY_BLOB_KINDS - 1)
#define HISTORY_BLOB_POINTS_MAX 65536

struct history_pair {
    int64_t series;
    double value;
};

/* Bytes that encoding n pairs can take at most. */
size_t history_blob_bound(size_t n);
/* Encode pairs into out (history_blob_bound(n) bytes); returns the length. Sorts pairs
 * by series id in place; of pairs with the same id the first one given is kept; ids < 1
 * and non-finite values are left out, and pairs past HISTORY_BLOB_POINTS_MAX. */
size_t history_blob_encode(struct history_pair *pairs, size_t n, uint8_t *out);
/* Check a whole blob and return its count in *n; SM_EINVAL when malformed. */
enum sm_rc history_blob_check(const uint8_t *blob, size_t len, size_t *n) SM_MUST_CHECK;
/* Decode a blob into at most cap pairs (*n set to the count); SM_EINVAL when malformed
 * or when it holds more than cap pairs. */
enum sm_rc history_blob_decode(const uint8_t *blob, size_t len, struct history_pair *out,
                               size_t cap, size_t *n) SM_MUST_CHECK;
/* The value of series in blob: SM_OK, SM_ENOTFOUND, or SM_EINVAL when the blob is
 * malformed up to where the search stopped. */
enum sm_rc history_blob_find(const uint8_t *blob, size_t len, int64_t series,
                             double *value) SM_MUST_CHECK;

/* The SQL that created the rollup tables (schema 2 of the store: minute rows in
 * rollup_1m, hour rows in rollup_1h, dirty minutes, the watermark). */
extern const char history_schema_sql[];

/* Schema 7: the minute tier as one row per series and hour, its minutes packed
 * (minute_pack.h) in rollup_1m_hours. history_minutes_pack is its step: every rollup_1m
 * row into its hour, the counts of minutes and points checked, then rollup_1m dropped;
 * *minutes is the number of minute rows packed. */
extern const char history_minutes_schema_sql[];
enum sm_rc history_minutes_pack(struct sqlite3 *db, int64_t *minutes) SM_MUST_CHECK;

/* (Re)make the TEMP table rollup_1m(series_id, bucket, n, sum, min, max) with a row per
 * stored minute, as schema 6 had them: what `smserver migrate` copies to PostgreSQL and
 * the tests read with SQL. SM_EPARSE when a packed hour is damaged. */
enum sm_rc history_minutes_expand(struct sqlite3 *db) SM_MUST_CHECK;

/* Writer: inside the ingest transaction, after a sample of agent_id at ts_ms was stored,
 * mark its minute dirty when it arrived behind the watermark. */
enum sm_rc history_note_sample(struct sqlite3 *db, int64_t agent_id, int64_t ts_ms) SM_MUST_CHECK;

/* history_note_sample, and note now_ms (the writer's clock) as the time a late sample
 * last came in: dirty minutes are re-rolled only after a quiet period without one (or
 * after a longest wait), so a herd of replaying agents is not slowed by re-rolls of
 * minutes it is still filling (history.c, HISTORY_DIRTY_QUIET_MS). */
#define HISTORY_DIRTY_QUIET_MS 30000LL /* no late sample for this long: re-roll */
#define HISTORY_DIRTY_WAIT_MS 600000LL /* or once the first deferred one waited this long */
enum sm_rc history_note_sample_at(struct sqlite3 *db, int64_t agent_id, int64_t ts_ms,
                                  int64_t now_ms) SM_MUST_CHECK;

/* Writer: roll up complete minutes up to now_ms - HISTORY_LATE_GRACE_MS and recompute
 * dirty minutes (at most budget of them, once late samples have been quiet for a while,
 * for about 0.1 s of work at most), then the hours they touch. Runs in its own
 * transaction. *work counts buckets written. */
enum sm_rc history_rollup(struct sqlite3 *db, int64_t now_ms, size_t budget,
                          size_t *work) SM_MUST_CHECK;

/* Writer: delete what is older than each tier's retention, at most batch series per tier
 * per call (small transactions). *deleted counts rows. */
enum sm_rc history_retain(struct sqlite3 *db, int64_t now_ms, const struct history_retention *r,
                          size_t batch, size_t *deleted) SM_MUST_CHECK;

/* Remove the agent's rollups and dirty marks (inside the caller's transaction, before
 * its series go). */
enum sm_rc history_forget_agent(struct sqlite3 *db, int64_t agent_id) SM_MUST_CHECK;

/* The series id of (agent_id, name, labels); SM_ENOTFOUND when none. */
enum sm_rc history_series_find(struct sqlite3 *db, int64_t agent_id, const char *name,
                               const char *labels, int64_t *id) SM_MUST_CHECK;

/* Query one series over [start_ms, stop_ms) in at most points buckets of equal width.
 * Buckets without data are left out. */
enum sm_rc history_query(struct sqlite3 *db, int64_t series_id, int64_t start_ms, int64_t stop_ms,
                         size_t points, struct history_result *out) SM_MUST_CHECK;

/* ------------------------------------------------------------------ chunks */

/* Raw points are sealed in windows of this length, aligned to the epoch. */
#define HISTORY_CHUNK_WINDOW_MS 7200000LL

/* The SQL that creates the chunk tables (one schema migration of the store). */
extern const char history_chunk_schema_sql[];

/* The start of the window that holds t. */
int64_t history_window_of(int64_t t);

/* Receives one sealed point: key is the series id (the agent id for sample times). */
typedef void (*history_point_fn)(void *arg, int64_t key, int64_t t, double v);

/* What both backends seal with (no database here). The points of a window being sealed:
 * key a series id, or the agent id for a sample time (its value then the sample's point
 * count). */
struct history_wpoint {
    int64_t key, t;
    double v;
};
struct history_wset {
    struct history_wpoint *p;
    size_t n, cap;
};
/* The position of t in the ascending times[0..n), or -1. */
int64_t history_time_index(const int64_t *times, size_t n, int64_t t);
/* A history_point_fn: append (key, t, v) to the history_wset arg. */
void history_wset_add(void *arg, int64_t key, int64_t t, double v);
/* Sort by key and time and keep the first of each (key, time). */
void history_wset_sort(struct history_wset *s);
/* Receives one encoded chunk of the points first[0..k) of one key: buf[0..len), ix as
 * history_chunks_encode says. */
typedef enum sm_rc (*history_chunk_out)(void *arg, const struct history_wpoint *first, size_t k,
                                        const uint8_t *buf, size_t len, int ix);
/* Encode the points p[0..n) of one key (times strictly increasing) as chunks of at most
 * CHUNK_MAX_POINTS, each given to out. With times[0..ntimes) (the window's sample times,
 * all in one chunk of times), a chunk that holds all n points and whose times are all
 * among them keeps their positions in times instead of timestamps (ix = 1). */
enum sm_rc history_chunks_encode(const struct history_wpoint *p, size_t n, const int64_t *times,
                                 size_t ntimes, history_chunk_out out, void *arg) SM_MUST_CHECK;
/* Feed fn(arg, key, t, v) the points of one encoded chunk that fall in [lo, hi); with
 * times (an ix chunk), its timestamps are positions in times[0..ntimes). SM_EIO when the
 * chunk is damaged (logged with key and t0), after the points before the damage. */
enum sm_rc history_chunk_feed(const void *blob, size_t len, int64_t key, int64_t t0, int64_t lo,
                              int64_t hi, const int64_t *times, size_t ntimes, history_point_fn fn,
                              void *arg) SM_MUST_CHECK;

/* Call fn for every sealed point of series in [lo, hi), chunk by chunk in time order;
 * *chunks (when not NULL) counts the chunks read. SM_EIO when a chunk is damaged. */
enum sm_rc history_chunks_read(struct sqlite3 *db, int64_t series, int64_t lo, int64_t hi,
                               history_point_fn fn, void *arg, size_t *chunks) SM_MUST_CHECK;
/* The same for every series of agent (series by series). */
enum sm_rc history_agent_chunks_read(struct sqlite3 *db, int64_t agent, int64_t lo, int64_t hi,
                                     history_point_fn fn, void *arg) SM_MUST_CHECK;
/* Whether agent has sealed samples in [lo, hi) (1 when that cannot be read). */
int history_agent_sealed(struct sqlite3 *db, int64_t agent, int64_t lo, int64_t hi);

/* Maintenance: seal at most budget windows (about 0.1 s of work at most) in one
 * transaction; each window's counts are checked before its rows go, and a failed check
 * leaves it raw (SM_EIO). Resumable: the rows left are the state. *work counts windows. */
enum sm_rc history_seal(struct sqlite3 *db, int64_t now_ms, size_t budget,
                        size_t *work) SM_MUST_CHECK;

/* Retention inside the caller's transaction: drop agent's sealed points and sample
 * times older than cut (whole windows; the window across the cut is sealed again
 * without them, or kept whole when it is damaged). *deleted counts chunks changed. */
enum sm_rc history_chunks_retain_agent(struct sqlite3 *db, int64_t agent, int64_t cut,
                                       size_t *deleted) SM_MUST_CHECK;

#endif
