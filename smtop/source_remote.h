/* source_remote.h: server mode's data source: the client's events (client.h) applied to the
 * model (agents as hosts keyed by agent id), the connection state for the screen, and
 * history fetched from /history for the views.
 *
 * Everything here runs on smtop's one thread; the client's connections are on the same
 * libwebsockets loop, and source_remote_drain applies what they brought after each turn
 * of it.
 *
 * source_remote.c holds the samples, agents and connection state; the history cache and
 * the stored series list are in source_remote_history.c, the alerts in
 * source_remote_alerts.c (source_remote_impl.h: the state they share). */
#ifndef SM_SMTOP_SOURCE_REMOTE_H
#define SM_SMTOP_SOURCE_REMOTE_H

#include <stddef.h>

#include "client.h"
#include "collect/proc.h"
#include "model.h"
#include "smtop.h"

struct lws_context;

/* Most buckets asked of one history query. */
#define REMOTE_HIST_POINTS_MAX 2000

struct source_remote;

/* One history series as the server answered it: bucket averages as a ring (oldest
 * first, the shape the graph widget draws). */
struct remote_history {
    struct ring ring;
    double fetched; /* monotonic time of the reply; 0 while none */
    int status;     /* HTTP status of the last reply, 0 when the server was not reached */
};

/* Log in (asking for the password when no stored session works) and start the client
 * on ctx, the loop's context (made with client_protocols()).
 * NULL with *cause and *exit_code (2 for a bad URL or --user, 1 otherwise) on failure.
 * Call before the terminal is taken over: the password prompt uses /dev/tty. */
struct source_remote *source_remote_new(struct model *m, const struct smtop_opts *o,
                                        struct lws_context *ctx, int *exit_code, char **cause);
/* Stop the client and free; NULL is a no-op. */
void source_remote_free(struct source_remote *src);

/* Apply waiting events to the model (after each turn of the loop); returns how many. */
size_t source_remote_drain(struct source_remote *src);

/* Has the first snapshot arrived (the model lists every agent)? */
int source_remote_ready(const struct source_remote *src);
/* The connection as one short line for the screen ("live", "reconnecting in 4s: ...",
 * "session expired: ..."), into buf; returns buf. now is monotonic time. */
const char *source_remote_status(const struct source_remote *src, double now, char *buf,
                                 size_t len);
/* Did a history reply arrive since the last call (the view showing it should be drawn
 * now rather than at the next refresh)? Clears the flag. */
int source_remote_take_history_news(struct source_remote *src);
/* Has the first answer about alerts (GET /alerts/active) arrived, whatever it was? The
 * alerts themselves are in the model (model->alerts). */
int source_remote_alerts_fetched(const struct source_remote *src);
/* Is the stream live? */
int source_remote_live(const struct source_remote *src);
/* The last error line (a bad message, a refused request), or NULL. */
const char *source_remote_error(const struct source_remote *src);

/* History of series (a model series name, "cpu.core.usage{core=3}") of host over range
 * seconds ending offset seconds ago, in about points buckets: the cached answer
 * (possibly empty), and a request queued (no I/O here) when the cache is older than
 * max_age seconds or is for another window. The reply lands in a later drain (the
 * model's generation is bumped). No I/O: callable from a draw. */
const struct remote_history *source_remote_history(struct source_remote *src, int host_id,
                                                   const char *series, double range, double offset,
                                                   size_t points, double max_age);

/* Make sure the model lists every series the server stores for host_id (per-core,
 * per-filesystem, per-interface ...): GET /history/{id}/series is queued (no I/O here)
 * when not asked for this host in the last minute; the reply adds the missing series
 * (empty: their points come from source_remote_history). No I/O: callable from a
 * draw. */
void source_remote_series_list(struct source_remote *src, int host_id);

struct sm_sample;
struct sm_depth_sample;
/* The host depth sections of s (processes, sensors, pressure, cgroups, GPUs) into d
 * (initialised; its lists are reused), in the collector's types: d->have has a bit for
 * each family the sample carries. What the wire does not carry is left unknown: a
 * process's CPU time is -1, a cgroup's path is "". */
void source_remote_depth_from_sample(const struct sm_sample *s, struct sm_depth_sample *d);
/* The host depth of host_id's latest sample, converted when that sample changed (then
 * *gen, when not NULL, gets a new value); NULL when the host has no sample or its sample
 * carries none of it (an agent of the original system). Valid until the next call. No
 * I/O: callable from a draw. */
const struct sm_depth_sample *source_remote_depth(struct source_remote *src, int host_id,
                                                  unsigned long *gen);

/* The stored process snapshot of a past minute (GET /history/{id}/processes), for the
 * history view's cursor. */
#define REMOTE_PROCS_MAX 64 /* processes taken from one snapshot */
struct remote_procs {
    int host_id;
    int64_t minute;    /* the minute asked for: unix seconds / 60 */
    int status;        /* 200, 404 (no snapshot in that span), other: an error; 0 asking */
    double ts;         /* unix seconds of the sample the snapshot comes from */
    unsigned gen;      /* bumped by every reply applied */
    size_t n;          /* processes in v */
    struct sm_proc *v; /* REMOTE_PROCS_MAX entries */
};

/* The snapshot of host for the minute holding unix time at (or the newest before it,
 * within the server's window): the cached answer, and a request queued (no I/O here)
 * when it is for another host or minute. The reply lands in a later drain. No I/O:
 * callable from a draw. */
const struct remote_procs *source_remote_procs(struct source_remote *src, int host_id, double at);

#endif
