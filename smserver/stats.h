/* stats.h: the server's own counters, as GET /metrics and /health give them. */
#ifndef SM_SMSERVER_STATS_H
#define SM_SMSERVER_STATS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "rc.h"

/* Commit latency histogram of GET /metrics: upper bounds in seconds (+Inf implied). */
#define STATS_COMMIT_BUCKETS 10
extern const double stats_commit_bounds[STATS_COMMIT_BUCKETS];
#define STATS_RATE_WINDOW 10 /* seconds of history behind the ingest rate */

/* The server's own counters (GET /metrics). Written by the writer, the event loop and
 * the notifier, read by a worker: every access holds mu. */
struct server_stats {
    pthread_mutex_t mu;
    double started; /* unix seconds */
    /* Writer thread. */
    uint64_t ingest_requests, ingest_failed, samples, duplicates, commits;
    uint64_t commit_buckets[STATS_COMMIT_BUCKETS + 1]; /* the last is +Inf */
    double commit_sum;
    /* Why the last group commit failed (SM_OK once one succeeds), for /health. */
    enum sm_rc ingest_store_rc;
    int64_t http_open; /* event loop, as connections come and go */
    /* Event loop, refreshed each tick. */
    size_t ws_clients, agents, agents_online;
    uint64_t published, delivered, dropped;
    double samples_rate;
    size_t alerts_firing, alerts_pending;
    uint64_t alert_evaluations, alert_transitions;
    /* Notifier thread. */
    uint64_t notify_sent, notify_failed, notify_retried;
    size_t notify_queued;
};

#endif
