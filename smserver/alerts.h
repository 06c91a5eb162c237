/* alerts.h: evaluation of alert rules as committed samples arrive (no polling of the
 * database).
 *
 * Each rule has one state per (agent, series) it matches: ok -> pending (the condition
 * holds) -> firing (it held for for_seconds) -> resolved (it did not hold for
 * resolve_seconds) -> ok. A pending state whose condition stops holding goes back to
 * ok ("inactive"). Time is the samples' own timestamps, so a burst of old samples is
 * judged by when they were taken; samples older than ALERTS_STALE_S or older than the
 * last one judged are ignored. "agent.offline" rules follow the hub's status changes
 * and are timed by the tick.
 *
 * Every state change is handed to the emit callback (which queues it for the notifier
 * thread: the history table and the notifications are written there).
 *
 * Threads: everything here belongs to one thread (smserver's event loop). Time is
 * passed in (unix seconds) so tests control the clock. */
#ifndef SM_SMSERVER_ALERTS_H
#define SM_SMSERVER_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define ALERTS_STALE_S 600.0 /* samples older than this (vs now) are not judged */
#define ALERTS_OFFLINE "agent.offline"

enum alert_state { ALERT_OK, ALERT_PENDING, ALERT_FIRING };

/* One state change, with what a notification needs. Strings are copies. */
struct alert_note {
    struct store_rule rule; /* as it was when the change happened */
    int64_t agent_id;
    char agent_name[STORE_NAME_MAX + 1];
    char labels[STORE_LABELS_MAX + 1]; /* the series' labels */
    char state[16];                    /* pending, firing, resolved, inactive */
    double value;
    int64_t ts_ms;
    int notify; /* firing or resolved, and the rule has a channel */
};

typedef void (*alerts_emit_fn)(const struct alert_note *n, void *arg);
/* The owner and name of an agent, and whether it is online: SM_ENOTFOUND when unknown. */
typedef int (*alerts_agent_fn)(int64_t agent_id, int64_t *user_id, const char **name, int *online,
                               double *last_seen, void *arg);

struct alerts;

struct alerts *alerts_new(alerts_emit_fn emit, alerts_agent_fn agent, void *arg);
void alerts_free(struct alerts *a);

/* Add or replace a rule. A replaced rule's alerts end first (firing ones resolve, with
 * their notification, pending ones go inactive) and its states start again from ok. */
void alerts_rule_put(struct alerts *a, const struct store_rule *r, double now);
/* Restore a state recorded before a restart (pending or firing). */
void alerts_restore(struct alerts *a, const struct store_alert_event *e);
/* Forget every state (the rules stay), before restoring what another instance, which
 * led the alerts until now, recorded. */
void alerts_states_reset(struct alerts *a);
/* Remove a rule. Its alerts end as when it changes (firing ones resolve, with their
 * notification; pending ones go inactive), so subscribers hear of it at once. */
void alerts_rule_remove(struct alerts *a, int64_t rule_id, double now);
/* The agent is gone: its states and the rules scoped to it go. */
void alerts_agent_removed(struct alerts *a, int64_t agent_id, double now);
/* Make the rules those of list[n] (all the database holds, read by another thread:
 * `smserver alert add` and `delete` write there directly), sorted by id. Rules missing
 * from list are removed; each new or changed one is handed to put, which calls
 * alerts_rule_put (and may call nothing else here). */
void alerts_rules_sync(struct alerts *a, const struct store_rule *list, size_t n, double now,
                       void (*put)(const struct store_rule *r, void *arg), void *arg);

/* Judge a committed batch of agent_id. */
void alerts_batch(struct alerts *a, const struct store_batch *b, double now);
/* An agent went offline (online = 0) or came back. */
void alerts_status(struct alerts *a, int64_t agent_id, int64_t user_id, int online,
                   double last_seen, double now);
/* Periodic: offline rules whose for_seconds have passed fire. */
void alerts_tick(struct alerts *a, double now);

struct alerts_stats {
    size_t rules, pending, firing;
    uint64_t evaluations, transitions;
};
void alerts_stats(const struct alerts *a, struct alerts_stats *out);

/* Parse "name" or "name{key=value}" (the value may be quoted) into name and labels.
 * Errors name the field "metric". Any thread. */
enum sm_rc alerts_parse_metric(const char *s, char name[STORE_METRIC_MAX + 1],
                               char labels[STORE_LABELS_MAX + 1], char **cause) SM_MUST_CHECK;

/* Rule bodies, as POST /alerts takes and answers them (routes_alerts.c); the admin CLI
 * uses the same. Any thread, with that thread's store. */
struct cJSON;
/* Check body and fill r; agent_id and channel_id must be user_id's. */
enum sm_rc alert_rule_parse(struct store *st, int64_t user_id, const struct cJSON *body,
                            struct store_rule *r, char **cause) SM_MUST_CHECK;
/* alert_rule_parse, the per-user cap, then store the rule (r gets its id). */
enum sm_rc alert_rule_create(struct store *st, int64_t user_id, const struct cJSON *body,
                             int64_t now, struct store_rule *r, char **cause) SM_MUST_CHECK;
struct cJSON *alert_rule_json(const struct store_rule *r);

#endif
