/* model.h: what smtop knows about hosts, apart from how it is shown.
 *
 * The model holds hosts keyed by an integer id (local mode has one host, id 0;
 * server mode uses the agent id). Each host has its facts, the latest sample
 * (for the "now" figures), online/last-seen state and one ring buffer per
 * metric series. Series are named as the server names them (docs/DESIGN.md section 5):
 * "cpu.usage", "cpu.core.usage{core=3}", "cpu.core.freq_mhz{core=3}",
 * "load.1", "mem.used_percent", "swap.used_percent", "fs.used_percent{mount=/}",
 * "disk.read_bytes_per_s{dev=sda}", "disk.busy_percent{dev=sda}",
 * "net.rx_bytes_per_s{iface=eth0}", ...
 *
 * Rings are sized by time, not by count: a ring keeps every point younger than
 * the model's span (it grows while it must and overwrites its oldest point once that
 * point is older than the span). Memory stays bounded however long smtop runs: past
 * MODEL_RING_MAX points a series' oldest minute is folded into one mean point of a
 * coarser ring (ring->older) that readers see through ring_len/ring_get as the
 * series' older points, so recent points keep full resolution and days fit in
 * MODEL_COARSE_MAX minutes.
 *
 * Data sources (source_local.c, the server client) feed the model; views only
 * read it. Not thread safe: the model belongs to smtop's one event-loop thread.
 * Every change bumps model->generation so the main loop knows to redraw. */
#ifndef SM_SMTOP_MODEL_H
#define SM_SMTOP_MODEL_H

#include <stddef.h>

#include "sample.h"

/* Full-resolution points of a series at most (48 KiB): 2.3 hours at the default 2 s. */
#define MODEL_RING_MAX 4096
/* The coarse ring: one point per MODEL_COARSE_STEP seconds, 8 days at most. */
#define MODEL_COARSE_STEP 60.0
#define MODEL_COARSE_MAX 11600
/* Longest series name: "fs.used_percent{mount=" + a path + "}". */
#define MODEL_SERIES_LEN (SM_PATH_LEN + 40)

/* A ring of (time, value) points, oldest first through ring_get. */
struct ring {
    double *t;
    float *v;
    size_t cap;         /* allocated points */
    size_t head;        /* index of the oldest point */
    size_t len;         /* points held */
    struct ring *older; /* coarser points before this ring's own (NULL: none); owned */
};

struct model_series {
    char name[MODEL_SERIES_LEN];
    struct ring ring;
};

struct model_host {
    int id;
    char name[SM_TEXT_LEN]; /* agent name in server mode; hostname otherwise */
    struct sm_host facts;
    int have_facts;
    struct sm_sample last; /* latest sample (have_last says whether there is one) */
    int have_last;
    int online;
    double last_seen; /* unix time of the latest sample or status; 0 = never */
    size_t nseries, series_cap;
    struct model_series *series;
    size_t cursor; /* where the next series lookup starts (samples repeat their order) */
};

/* Longest alert text fields kept (longer ones are cut). */
#define MODEL_ALERT_TEXT 128
/* Most alerts kept (server mode); more are dropped, oldest rule first. */
#define MODEL_ALERTS_MAX 4096

/* One pending or firing alert of an agent (server mode): rule, agent, series labels. */
struct model_alert {
    long long rule_id;
    int agent_id;
    char labels[MODEL_ALERT_TEXT]; /* the series' labels ("mount=/"), "" when none */
    char name[MODEL_ALERT_TEXT];   /* the rule's name */
    char metric[MODEL_ALERT_TEXT]; /* the rule's metric ("cpu.usage", "agent.offline") */
    char severity[16];             /* info, warning, critical */
    int firing;                    /* 1 firing, 0 pending */
    double value;                  /* the value that changed the state */
    double since;                  /* unix time of the change */
    double set_at;                 /* monotonic time a live message set it (0: REST) */
};

struct model {
    double span; /* seconds of history kept per series */
    size_t nalerts, alerts_cap;
    struct model_alert *alerts; /* firing first, then by severity, then since */
    size_t nhosts, hosts_cap;
    struct model_host **hosts; /* in order of first appearance */
    unsigned long generation;  /* bumped by every change */
};

/* Create an empty model keeping span seconds of history (clamped to 60 s .. 8 days).
 * Never returns NULL. */
struct model *model_new(double span);
/* Free the model and everything in it; NULL is a no-op. */
void model_free(struct model *m);

/* The host with this id, created (offline, no facts, no sample) if it is new. */
struct model_host *model_host_get(struct model *m, int id);
/* The host with this id, or NULL. */
const struct model_host *model_host_find(const struct model *m, int id);
/* Forget the host with this id (an agent the server removed); no-op when absent. The
 * order of the other hosts is kept. */
void model_host_remove(struct model *m, int id);

/* Copy host facts in (also sets the display name when none was set). */
void model_set_facts(struct model *m, int host_id, const struct sm_host *facts);
/* Set the display name (agent name); copied, truncated to SM_TEXT_LEN - 1. */
void model_set_name(struct model *m, int host_id, const char *name);
/* Record a status message: online flag and last-seen unix time (0 leaves it). */
void model_set_status(struct model *m, int host_id, int online, double last_seen);

/* Add one sample: copied into host->last (the caller keeps s), each of its values
 * appended to its series at s->timestamp, host marked online with last_seen =
 * timestamp. A sample older than the newest point of a series is not appended to
 * that series (rings stay in time order) but still updates last if it is newer. */
void model_add_sample(struct model *m, int host_id, const struct sm_sample *s);

/* Append one point to a named series (history backfill from the server): appended
 * only if t is newer than the series' newest point. Returns 1 if appended. */
int model_add_point(struct model *m, int host_id, const char *series, double t, double v);

/* Apply one alert state change: state "pending" or "firing" adds or updates the alert
 * (a copy of a), anything else ("resolved", "inactive") removes it. Keeps the list
 * sorted (firing, critical first). */
void model_alert_apply(struct model *m, const struct model_alert *a, const char *state);
/* Replace every alert with the n in list (a fresh GET /alerts/active), except those set
 * by a live message at or after keep_after (monotonic; the REST answer may predate
 * them). */
void model_alerts_replace(struct model *m, const struct model_alert *list, size_t n,
                          double keep_after);
/* Firing alerts (pending too when with_pending) of agent host_id: the count; *worst
 * gets the most severe one (NULL when none). */
size_t model_alerts_of(const struct model *m, int host_id, int with_pending,
                       const struct model_alert **worst);

/* Make an empty series of an existing host (one the server stores that no sample of
 * this run has carried yet). Returns 1 if it was new, 0 when it existed, the host is
 * unknown or the name is empty or too long. */
int model_series_declare(struct model *m, int host_id, const char *name);

/* The series with this exact name, or NULL. */
const struct model_series *model_series_find(const struct model_host *h, const char *name);

/* Number of points in r (its older, coarser points included). */
size_t ring_len(const struct ring *r);
/* Point i of r (0 = oldest, through r->older first); i must be < ring_len(r). */
void ring_get(const struct ring *r, size_t i, double *t, double *v);
/* The newest point; returns 0 (and leaves *t, *v) when r is empty. */
int ring_last(const struct ring *r, double *t, double *v);
/* Index of the first point at or after time t (ring_len(r) when none); binary search. */
size_t ring_lower_bound(const struct ring *r, double t);
/* Minimum, average and maximum of the points with t0 <= t <= t1. Returns the number of
 * such points (the outputs are left alone when it is 0). */
size_t ring_stats(const struct ring *r, double t0, double t1, double *min, double *avg,
                  double *max);

#endif
