/* history_types.h: what a history query asks and answers, and how long each tier is
 * kept: the part of history that the store's interface (store.h) and the routes share,
 * whatever backend answers. The SQLite implementation is history.h. */
#ifndef SM_SMSERVER_HISTORY_TYPES_H
#define SM_SMSERVER_HISTORY_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define HISTORY_POINTS_DEFAULT 500
#define HISTORY_POINTS_MAX 5000
#define HISTORY_RANGE_MAX_S (5 * 366 * 86400.0) /* longest range a query may ask for */
#define HISTORY_LATE_GRACE_MS 120000            /* minutes roll up this long after they end */

enum history_tier { HISTORY_RAW, HISTORY_MINUTE, HISTORY_HOUR };

struct history_retention {
    double raw_s, minute_s, hour_s; /* defaults 7 days, 90 days, 2 years */
};

/* One bucket of a query answer. t is the bucket's start (unix ms). */
struct history_bucket {
    int64_t t;
    int64_t n;
    double avg, min, max;
};

struct history_result {
    size_t n;
    struct history_bucket *b; /* owned; free with history_result_done */
    enum history_tier tier;   /* coarsest tier read */
    int64_t width_ms;
    size_t rows_read; /* rows the query read, for tests and the benchmark */
};

/* Free the buckets of a result; its fields are zeroed. */
void history_result_done(struct history_result *r);

/* ---- The shape of an answer, the same on every backend (history.c). */

/* a / b rounded toward minus infinity (b > 0), for the buckets of times before 1970. */
int64_t history_floor_div(int64_t a, int64_t b);

/* The buckets of one answer while a query fills them: nb buckets of width ms from
 * origin; a bucket with n == 0 is empty. */
struct history_acc {
    int64_t origin, width;
    size_t nb;
    struct history_bucket *b; /* owned */
    double *sum;              /* owned: the sum of each bucket's values */
};

/* Shape the answer of a query over [start_ms, stop_ms) in at most points buckets: the
 * coarsest tier whose bucket fits the width (out->tier), the width (out->width_ms: whole
 * tier buckets, boundaries aligned to it so that a rollup row falls inside one output
 * bucket) and empty buckets in acc. out is zeroed first. SM_EINVAL when points is 0 or
 * over HISTORY_POINTS_MAX or the range is empty; acc then holds nothing. */
enum sm_rc history_acc_init(struct history_acc *acc, int64_t start_ms, int64_t stop_ms,
                            size_t points, struct history_result *out) SM_MUST_CHECK;
/* Add n points (their sum, min and max) to bucket i; nothing when i is out of range or
 * n <= 0. */
void history_acc_add(struct history_acc *acc, int64_t i, int64_t n, double sum, double mn,
                     double mx);
/* Move the non-empty buckets into out->b (the first one's start clamped to start_ms) and
 * free acc's buffers. */
void history_acc_finish(struct history_acc *acc, int64_t start_ms, struct history_result *out);
/* Free acc's buffers without an answer. */
void history_acc_done(struct history_acc *acc);

/* Reads the rows of tier (HISTORY_RAW: raw points) in [lo, hi) ms into the caller's
 * accumulators. */
typedef enum sm_rc (*history_read_fn)(void *arg, enum history_tier tier, int64_t lo, int64_t hi);
/* Answer [start_ms, stop_ms) of a query of tier: [start_ms, raw_from) (clamped to the
 * range) from whole buckets of tier with the edges from finer tiers, the rest raw; a
 * HISTORY_RAW query reads all of it raw. raw_from is where rollups stop being complete:
 * the watermark, or the agent's oldest dirty minute when that is earlier. Stops at the
 * first read that fails and returns its code. */
enum sm_rc history_read_range(enum history_tier tier, int64_t start_ms, int64_t stop_ms,
                              int64_t raw_from, history_read_fn read, void *arg) SM_MUST_CHECK;

#endif
