/* alerts.c: alert rule evaluation on the event loop (see alerts.h). */
#include "config.h"

#include "alerts.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct alert_st {
    struct alert_st *next; /* in its hash bucket */
    uint64_t hash;
    int64_t rule_id, agent_id;
    char *labels;
    enum alert_state state;
    double since;       /* when the condition started holding (pending, firing) */
    double clear_since; /* firing: when it stopped holding; 0 = it holds */
    double last_ts;     /* the newest sample judged */
    double value;
};

struct alerts {
    alerts_emit_fn emit;
    alerts_agent_fn agent;
    void *arg;
    struct store_rule *rules;
    size_t nrules, rules_cap;
    /* States by (rule, agent, labels): a chained hash table, so judging a sample costs
     * the same with one agent or thousands. */
    struct alert_st **buckets;
    size_t nbuckets, nstates;
    uint64_t evaluations, transitions;
};

struct alerts *
alerts_new(alerts_emit_fn emit, alerts_agent_fn agent, void *arg)
{
    struct alerts *a = sm_xcalloc(1, sizeof *a);
    a->emit = emit;
    a->agent = agent;
    a->arg = arg;
    a->nbuckets = 64;
    a->buckets = sm_xcalloc(a->nbuckets, sizeof *a->buckets);
    return a;
}

static uint64_t
state_hash(int64_t rule_id, int64_t agent_id, const char *labels)
{
    uint64_t h = 1469598103934665603ULL ^ ((uint64_t)rule_id * 0x9E3779B97F4A7C15ULL);
    h ^= (uint64_t)agent_id * 0xC2B2AE3D27D4EB4FULL;
    for (; *labels; labels++) {
        h ^= (unsigned char)*labels;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* Drop every state for which drop(s, key) says so. */
static void
states_drop_if(struct alerts *a, int (*drop)(const struct alert_st *s, int64_t key), int64_t key)
{
    for (size_t b = 0; b < a->nbuckets; b++) {
        struct alert_st **p = &a->buckets[b];
        while (*p) {
            struct alert_st *s = *p;
            if (drop(s, key)) {
                *p = s->next;
                free(s->labels);
                free(s);
                a->nstates--;
            } else {
                p = &s->next;
            }
        }
    }
}

static int
drop_all(const struct alert_st *s, int64_t key)
{
    (void)s;
    (void)key;
    return 1;
}

static int
drop_rule(const struct alert_st *s, int64_t key)
{
    return s->rule_id == key;
}

static int
drop_agent(const struct alert_st *s, int64_t key)
{
    return s->agent_id == key;
}

void
alerts_free(struct alerts *a)
{
    if (!a)
        return;
    states_drop_if(a, drop_all, 0);
    free(a->buckets);
    free(a->rules);
    free(a);
}

static struct store_rule *
rule_find(struct alerts *a, int64_t id)
{
    for (size_t i = 0; i < a->nrules; i++)
        if (a->rules[i].id == id)
            return &a->rules[i];
    return NULL;
}

static void
states_drop_rule(struct alerts *a, int64_t rule_id)
{
    states_drop_if(a, drop_rule, rule_id);
}

static void
states_grow(struct alerts *a)
{
    size_t nb = a->nbuckets * 2;
    struct alert_st **buckets = sm_xcalloc(nb, sizeof *buckets);
    for (size_t b = 0; b < a->nbuckets; b++) {
        struct alert_st *s = a->buckets[b], *next;
        for (; s; s = next) {
            next = s->next;
            s->next = buckets[s->hash & (nb - 1)];
            buckets[s->hash & (nb - 1)] = s;
        }
    }
    free(a->buckets);
    a->buckets = buckets;
    a->nbuckets = nb;
}

/* The state of (rule, agent, labels), created (ok) when new. */
static struct alert_st *
state_get(struct alerts *a, int64_t rule_id, int64_t agent_id, const char *labels)
{
    uint64_t h = state_hash(rule_id, agent_id, labels);
    for (struct alert_st *s = a->buckets[h & (a->nbuckets - 1)]; s; s = s->next)
        if (s->hash == h && s->rule_id == rule_id && s->agent_id == agent_id &&
            strcmp(s->labels, labels) == 0)
            return s;
    if (a->nstates >= a->nbuckets)
        states_grow(a);
    struct alert_st *s = sm_xcalloc(1, sizeof *s);
    s->hash = h;
    s->rule_id = rule_id;
    s->agent_id = agent_id;
    s->labels = sm_xstrdup(labels);
    s->next = a->buckets[h & (a->nbuckets - 1)];
    a->buckets[h & (a->nbuckets - 1)] = s;
    a->nstates++;
    return s;
}

/* Tell the owner about a state change of s. */
static void
note(struct alerts *a, const struct store_rule *r, const struct alert_st *s, const char *state,
     double value, double ts)
{
    struct alert_note n;
    memset(&n, 0, sizeof n);
    n.rule = *r;
    n.agent_id = s->agent_id;
    const char *name = NULL;
    int64_t uid;
    int online;
    double seen;
    if (a->agent(s->agent_id, &uid, &name, &online, &seen, a->arg) == 0 && name)
        sm_strlcpy(n.agent_name, name, sizeof n.agent_name);
    sm_strlcpy(n.labels, s->labels, sizeof n.labels);
    sm_strlcpy(n.state, state, sizeof n.state);
    n.value = value;
    n.ts_ms = (int64_t)(ts * 1000.0 + 0.5);
    n.notify =
        r->channel_id != 0 && (strcmp(state, "firing") == 0 || strcmp(state, "resolved") == 0);
    a->transitions++;
    a->emit(&n, a->arg);
}

/* Judge one value of s at time ts. */
static void
judge(struct alerts *a, const struct store_rule *r, struct alert_st *s, double v, double ts)
{
    int cond = r->op == '<' ? v < r->threshold : v > r->threshold;
    a->evaluations++;
    s->last_ts = ts;
    s->value = v;
    switch (s->state) {
    case ALERT_OK:
        if (!cond)
            return;
        s->state = ALERT_PENDING;
        s->since = ts;
        note(a, r, s, "pending", v, ts);
        __attribute__((fallthrough)); /* for_seconds 0 fires at once */
    case ALERT_PENDING:
        if (!cond) {
            s->state = ALERT_OK;
            note(a, r, s, "inactive", v, ts);
        } else if (ts - s->since >= (double)r->for_seconds) {
            s->state = ALERT_FIRING;
            s->clear_since = 0;
            note(a, r, s, "firing", v, ts);
        }
        return;
    case ALERT_FIRING:
        if (cond) {
            s->clear_since = 0;
            return;
        }
        if (s->clear_since == 0)
            s->clear_since = ts;
        if (ts - s->clear_since >= (double)r->resolve_seconds) {
            s->state = ALERT_OK;
            note(a, r, s, "resolved", v, ts);
        }
        return;
    }
}

/* May rule r judge agent_id (owned by user_id)? */
static int
in_scope(const struct store_rule *r, int64_t agent_id, int64_t user_id)
{
    return r->user_id == user_id && (r->agent_id == 0 || r->agent_id == agent_id);
}

/* Start an offline rule's state for an agent that is offline now. */
static void
offline_begin(struct alerts *a, const struct store_rule *r, int64_t agent_id, double since)
{
    struct alert_st *s = state_get(a, r->id, agent_id, "");
    if (s->state != ALERT_OK)
        return;
    s->state = ALERT_PENDING;
    s->since = since;
    s->value = 0;
    note(a, r, s, "pending", 0, since);
}

/* End the alerts of rule r, changed or deleted: a firing one is resolved (and notified,
 * so a receiver does not keep an incident open), a pending one goes inactive. The live
 * stream hears of each, so clients drop them at once. */
static void
rule_end(struct alerts *a, const struct store_rule *r, double now)
{
    for (size_t b = 0; b < a->nbuckets; b++) {
        for (struct alert_st *s = a->buckets[b]; s; s = s->next) {
            if (s->rule_id != r->id || s->state == ALERT_OK)
                continue;
            note(a, r, s, s->state == ALERT_FIRING ? "resolved" : "inactive", s->value, now);
            s->state = ALERT_OK;
        }
    }
    states_drop_rule(a, r->id);
}

void
alerts_rule_put(struct alerts *a, const struct store_rule *r, double now)
{
    /* A changed rule ends its alerts and judges afresh. */
    struct store_rule *old = rule_find(a, r->id);
    if (old)
        rule_end(a, old, now);
    if (!old) {
        a->rules = sm_xgrow(a->rules, &a->rules_cap, a->nrules + 1, sizeof *a->rules);
        old = &a->rules[a->nrules++];
    }
    *old = *r;
}

void
alerts_restore(struct alerts *a, const struct store_alert_event *e)
{
    struct store_rule *r = rule_find(a, e->rule_id);
    if (!r)
        return;
    struct alert_st *s = state_get(a, e->rule_id, e->agent_id, e->labels);
    s->state = strcmp(e->state, "firing") == 0 ? ALERT_FIRING : ALERT_PENDING;
    s->since = (double)e->ts_ms / 1000.0;
    s->last_ts = s->since;
    s->value = e->value;
}

void
alerts_states_reset(struct alerts *a)
{
    states_drop_if(a, drop_all, 0);
}

void
alerts_rule_remove(struct alerts *a, int64_t rule_id, double now)
{
    for (size_t i = 0; i < a->nrules; i++) {
        if (a->rules[i].id == rule_id) {
            rule_end(a, &a->rules[i], now);
            a->rules[i] = a->rules[--a->nrules];
            return;
        }
    }
    states_drop_rule(a, rule_id);
}

void
alerts_agent_removed(struct alerts *a, int64_t agent_id, double now)
{
    states_drop_if(a, drop_agent, agent_id);
    for (size_t i = a->nrules; i-- > 0;)
        if (a->rules[i].agent_id == agent_id)
            alerts_rule_remove(a, a->rules[i].id, now);
}

/* Whether two versions of a rule judge and notify alike. */
static int
rule_same(const struct store_rule *x, const struct store_rule *y)
{
    return x->id == y->id && x->user_id == y->user_id && strcmp(x->name, y->name) == 0 &&
           strcmp(x->metric, y->metric) == 0 && strcmp(x->labels, y->labels) == 0 &&
           x->op == y->op && x->threshold == y->threshold && x->for_seconds == y->for_seconds &&
           x->resolve_seconds == y->resolve_seconds && x->agent_id == y->agent_id &&
           strcmp(x->severity, y->severity) == 0 && x->channel_id == y->channel_id &&
           x->updated == y->updated;
}

static int
rule_id_cmp(const void *x, const void *y)
{
    int64_t a = ((const struct store_rule *)x)->id, b = ((const struct store_rule *)y)->id;
    return (a > b) - (a < b);
}

void
alerts_rules_sync(struct alerts *a, const struct store_rule *list, size_t n, double now,
                  void (*put)(const struct store_rule *r, void *arg), void *arg)
{
    /* Both sides sorted by id, so each lookup is a binary search: this runs on the
     * event loop every few seconds. Rule order means nothing to judging. */
    size_t n0 = a->nrules; /* put replaces in place or appends: [0, n0) stays sorted */
    if (n0 > 1) /* no rules: a->rules may be NULL, which qsort and bsearch must not get */
        qsort(a->rules, n0, sizeof *a->rules, rule_id_cmp);
    for (size_t k = 0; k < n; k++) {
        const struct store_rule *have =
            n0 ? bsearch(&list[k], a->rules, n0, sizeof *a->rules, rule_id_cmp) : NULL;
        if (!have || !rule_same(have, &list[k]))
            put(&list[k], arg);
    }
    for (size_t i = a->nrules; i-- > 0;)
        if (n == 0 || !bsearch(&a->rules[i], list, n, sizeof *list, rule_id_cmp))
            alerts_rule_remove(a, a->rules[i].id, now);
}

static int
sample_cmp(const void *x, const void *y)
{
    const struct store_sample *a = *(const struct store_sample *const *)x;
    const struct store_sample *b = *(const struct store_sample *const *)y;
    return (a->ts_ms > b->ts_ms) - (a->ts_ms < b->ts_ms);
}

void
alerts_batch(struct alerts *a, const struct store_batch *b, double now)
{
    int64_t user_id;
    const char *name;
    int online;
    double seen;
    if (a->nrules == 0 || b->nsamples == 0 ||
        a->agent(b->agent_id, &user_id, &name, &online, &seen, a->arg) != 0)
        return;
    size_t k = 0;
    while (k < a->nrules && (!in_scope(&a->rules[k], b->agent_id, user_id) ||
                             strcmp(a->rules[k].metric, ALERTS_OFFLINE) == 0))
        k++;
    if (k == a->nrules)
        return; /* no rule judges this agent's samples */
    /* Samples of a batch may come in any order: judge them oldest first. */
    const struct store_sample *one = b->samples, **order = &one;
    if (b->nsamples > 1) {
        order = sm_xreallocarray(NULL, b->nsamples, sizeof *order);
        for (size_t i = 0; i < b->nsamples; i++)
            order[i] = &b->samples[i];
        qsort(order, b->nsamples, sizeof *order, sample_cmp);
    }
    for (; k < a->nrules; k++) {
        const struct store_rule *r = &a->rules[k];
        if (!in_scope(r, b->agent_id, user_id) || strcmp(r->metric, ALERTS_OFFLINE) == 0)
            continue;
        for (size_t i = 0; i < b->nsamples; i++) {
            const struct store_sample *smp = order[i];
            double ts = (double)smp->ts_ms / 1000.0;
            if (ts < now - ALERTS_STALE_S)
                continue;
            for (size_t j = 0; j < smp->npoints; j++) {
                const struct store_point *p = &smp->points[j];
                if (strcmp(p->name, r->metric) != 0 ||
                    (r->labels[0] && strcmp(p->labels, r->labels) != 0))
                    continue;
                struct alert_st *s = state_get(a, r->id, b->agent_id, p->labels);
                if (ts <= s->last_ts)
                    continue;
                judge(a, r, s, p->value, ts);
            }
        }
    }
    if (order != &one)
        free(order);
}

void
alerts_status(struct alerts *a, int64_t agent_id, int64_t user_id, int online, double last_seen,
              double now)
{
    for (size_t k = 0; k < a->nrules; k++) {
        const struct store_rule *r = &a->rules[k];
        if (!in_scope(r, agent_id, user_id) || strcmp(r->metric, ALERTS_OFFLINE) != 0)
            continue;
        if (!online) {
            offline_begin(a, r, agent_id, now);
            continue;
        }
        struct alert_st *s = state_get(a, r->id, agent_id, "");
        double away = last_seen - s->since;
        if (s->state == ALERT_PENDING) {
            s->state = ALERT_OK;
            note(a, r, s, "inactive", away, now);
        } else if (s->state == ALERT_FIRING) {
            s->state = ALERT_OK;
            note(a, r, s, "resolved", away, now);
        }
    }
}

static void tick_one(struct alerts *a, struct alert_st *s, double now);

void
alerts_tick(struct alerts *a, double now)
{
    for (size_t b = 0; b < a->nbuckets; b++)
        for (struct alert_st *s = a->buckets[b]; s; s = s->next)
            tick_one(a, s, now);
}

/* An agent.offline state: fire once for_seconds have passed. */
static void
tick_one(struct alerts *a, struct alert_st *s, double now)
{
    if (s->state != ALERT_PENDING)
        return;
    const struct store_rule *r = rule_find(a, s->rule_id);
    if (!r || strcmp(r->metric, ALERTS_OFFLINE) != 0)
        return;
    if (now - s->since >= (double)r->for_seconds) {
        /* The value: seconds since the agent was last heard from. */
        int64_t uid;
        const char *name;
        int online;
        double seen = 0;
        if (a->agent(s->agent_id, &uid, &name, &online, &seen, a->arg) != 0 || seen <= 0)
            seen = s->since;
        s->state = ALERT_FIRING;
        s->value = now - seen;
        note(a, r, s, "firing", s->value, now);
    }
}

void
alerts_stats(const struct alerts *a, struct alerts_stats *out)
{
    memset(out, 0, sizeof *out);
    out->rules = a->nrules;
    for (size_t b = 0; b < a->nbuckets; b++) {
        for (const struct alert_st *s = a->buckets[b]; s; s = s->next) {
            out->pending += s->state == ALERT_PENDING;
            out->firing += s->state == ALERT_FIRING;
        }
    }
    out->evaluations = a->evaluations;
    out->transitions = a->transitions;
}

enum sm_rc
alerts_parse_metric(const char *s, char name[STORE_METRIC_MAX + 1],
                    char labels[STORE_LABELS_MAX + 1], char **cause)
{
    const char *brace = strchr(s, '{');
    size_t nl = brace ? (size_t)(brace - s) : strlen(s);
    if (nl == 0 || nl > STORE_METRIC_MAX) {
        *cause = sm_xasprintf("metric: a series name of 1 to %d characters is required",
                              STORE_METRIC_MAX);
        return SM_EINVAL;
    }
    for (size_t i = 0; i < nl; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            *cause = sm_xstrdup("metric: the series name takes letters, digits, '.', '_' and '-'");
            return SM_EINVAL;
        }
    }
    memcpy(name, s, nl);
    name[nl] = '\0';
    labels[0] = '\0';
    if (!brace)
        return SM_OK;
    if (strcmp(name, ALERTS_OFFLINE) == 0) {
        *cause = sm_xstrdup("metric: agent.offline takes no labels");
        return SM_EINVAL;
    }
    size_t len = strlen(brace);
    if (len < 2 || brace[len - 1] != '}') {
        *cause = sm_xstrdup("metric: expected name{key=value}");
        return SM_EINVAL;
    }
    const char *in = brace + 1, *end = brace + len - 1;
    const char *eq = memchr(in, '=', (size_t)(end - in));
    if (!eq || eq == in) {
        *cause = sm_xstrdup("metric: expected name{key=value}");
        return SM_EINVAL;
    }
    for (const char *p = in; p < eq; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_')) {
            *cause = sm_xstrdup("metric: a label key takes letters, digits and '_'");
            return SM_EINVAL;
        }
    }
    const char *v = eq + 1, *ve = end;
    if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
        v++;
        ve--;
    }
    if (ve == v || (size_t)(ve - in) > STORE_LABELS_MAX) {
        *cause = sm_xasprintf("metric: a label value of 1 to %d characters is required",
                              STORE_LABELS_MAX / 2);
        return SM_EINVAL;
    }
    for (const char *p = v; p < ve; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '{' || *p == '}' ||
            *p == ',') {
            *cause = sm_xstrdup("metric: one label only; its value may not hold control "
                                "characters, quotes, braces or commas");
            return SM_EINVAL;
        }
    }
    size_t kl = (size_t)(eq - in), vl = (size_t)(ve - v);
    memcpy(labels, in, kl);
    labels[kl] = '=';
    memcpy(labels + kl + 1, v, vl);
    labels[kl + 1 + vl] = '\0';
    return SM_OK;
}
