/* history_types.h: what a history query asks and answers, and how long each tier is
 * kept: the part of history that the store's interface (store.h) and the routes share,
 * whatever backend answers. The SQLite implementation is history.h. */
#ifndef SM_SMSERVER_HISTORY_TYPES_H
#define SM_SMSERVER_HISTORY_TYPES_H

#include <stddef.h>
#include <stdint.h>

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

#endif
