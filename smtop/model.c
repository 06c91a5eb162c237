/* model.c: hosts, their latest samples and their per-series rings. */
#include "config.h"

#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "series.h"
#include "xmalloc.h"

#define RING_MIN 64

struct model *
model_new(double span)
{
    struct model *m = sm_xcalloc(1, sizeof *m);
    if (!(span >= 60))
        span = 60;
    if (span > 8 * 86400)
        span = 8 * 86400;
    m->span = span;
    return m;
}

static void ring_free(struct ring *r);

static void
host_free(struct model_host *h)
{
    for (size_t i = 0; i < h->nseries; i++)
        ring_free(&h->series[i].ring);
    free(h->series);
    sm_sample_done(&h->last);
    free(h);
}

void
model_free(struct model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nhosts; i++)
        host_free(m->hosts[i]);
    free(m->hosts);
    free(m->alerts);
    free(m);
}

static int
severity_rank(const char *s)
{
    return strcmp(s, "critical") == 0 ? 0 : strcmp(s, "warning") == 0 ? 1 : 2;
}

static int
alert_cmp(const void *x, const void *y)
{
    const struct model_alert *a = x, *b = y;
    if (a->firing != b->firing)
        return b->firing - a->firing;
    int d = severity_rank(a->severity) - severity_rank(b->severity);
    if (d)
        return d;
    if (a->since != b->since)
        return a->since < b->since ? -1 : 1;
    if (a->rule_id != b->rule_id)
        return a->rule_id < b->rule_id ? -1 : 1;
    if (a->agent_id != b->agent_id)
        return a->agent_id < b->agent_id ? -1 : 1;
    return strcmp(a->labels, b->labels);
}

/* Keep the alerts in display order (qsort wants a non-NULL base even for none). */
static void
alerts_sort(struct model *m)
{
    if (m->nalerts > 1)
        qsort(m->alerts, m->nalerts, sizeof *m->alerts, alert_cmp);
}

static struct model_alert *
alert_find(struct model *m, const struct model_alert *a)
{
    for (size_t i = 0; i < m->nalerts; i++) {
        struct model_alert *x = &m->alerts[i];
        if (x->rule_id == a->rule_id && x->agent_id == a->agent_id &&
            strcmp(x->labels, a->labels) == 0)
            return x;
    }
    return NULL;
}

void
model_alert_apply(struct model *m, const struct model_alert *a, const char *state)
{
    struct model_alert *x = alert_find(m, a);
    int active = strcmp(state, "pending") == 0 || strcmp(state, "firing") == 0;
    if (!active) {
        if (x) {
            *x = m->alerts[--m->nalerts];
            alerts_sort(m);
        }
        m->generation++;
        return;
    }
    if (x == NULL) {
        if (m->nalerts == MODEL_ALERTS_MAX)
            return;
        m->alerts = sm_xgrow(m->alerts, &m->alerts_cap, m->nalerts + 1, sizeof *m->alerts);
        x = &m->alerts[m->nalerts++];
    }
    *x = *a;
    x->firing = strcmp(state, "firing") == 0;
    alerts_sort(m);
    m->generation++;
}

void
model_alerts_replace(struct model *m, const struct model_alert *list, size_t n, double keep_after)
{
    size_t k = 0;
    for (size_t i = 0; i < m->nalerts; i++)
        if (m->alerts[i].set_at > 0 && m->alerts[i].set_at >= keep_after)
            m->alerts[k++] = m->alerts[i];
    m->nalerts = k;
    for (size_t i = 0; i < n; i++)
        if (alert_find(m, &list[i]) == NULL)
            model_alert_apply(m, &list[i], list[i].firing ? "firing" : "pending");
    alerts_sort(m);
    m->generation++;
}

size_t
model_alerts_of(const struct model *m, int host_id, int with_pending,
                const struct model_alert **worst)
{
    size_t n = 0;
    if (worst)
        *worst = NULL;
    for (size_t i = 0; i < m->nalerts; i++) {
        const struct model_alert *a = &m->alerts[i];
        if (a->agent_id != host_id || (!a->firing && !with_pending))
            continue;
        if (n++ == 0 && worst)
            *worst = a; /* the list is sorted: the first is the worst */
    }
    return n;
}

const struct model_host *
model_host_find(const struct model *m, int id)
{
    for (size_t i = 0; i < m->nhosts; i++)
        if (m->hosts[i]->id == id)
            return m->hosts[i];
    return NULL;
}

struct model_host *
model_host_get(struct model *m, int id)
{
    for (size_t i = 0; i < m->nhosts; i++)
        if (m->hosts[i]->id == id)
            return m->hosts[i];
    m->hosts = sm_xgrow(m->hosts, &m->hosts_cap, m->nhosts + 1, sizeof *m->hosts);
    struct model_host *h = sm_xcalloc(1, sizeof *h);
    h->id = id;
    sm_sample_init(&h->last);
    m->hosts[m->nhosts++] = h;
    m->generation++;
    return h;
}

void
model_host_remove(struct model *m, int id)
{
    for (size_t i = 0; i < m->nhosts; i++)
        if (m->hosts[i]->id == id) {
            host_free(m->hosts[i]);
            memmove(&m->hosts[i], &m->hosts[i + 1], (m->nhosts - i - 1) * sizeof *m->hosts);
            m->nhosts--;
            size_t k = 0;
            for (size_t j = 0; j < m->nalerts; j++)
                if (m->alerts[j].agent_id != id)
                    m->alerts[k++] = m->alerts[j];
            m->nalerts = k;
            m->generation++;
            return;
        }
}

void
model_set_facts(struct model *m, int host_id, const struct sm_host *facts)
{
    struct model_host *h = model_host_get(m, host_id);
    h->facts = *facts;
    h->have_facts = 1;
    if (h->name[0] == '\0')
        snprintf(h->name, sizeof h->name, "%s", facts->hostname);
    m->generation++;
}

void
model_set_name(struct model *m, int host_id, const char *name)
{
    struct model_host *h = model_host_get(m, host_id);
    snprintf(h->name, sizeof h->name, "%s", name);
    m->generation++;
}

void
model_set_status(struct model *m, int host_id, int online, double last_seen)
{
    struct model_host *h = model_host_get(m, host_id);
    h->online = online != 0;
    if (last_seen > 0)
        h->last_seen = last_seen;
    m->generation++;
}

/* Make room for one more point at the tail of r (at most max points), whose newest
 * point is at time now: overwrite the oldest point if it has aged out or r is at max,
 * else grow. */
static void
ring_make_room(struct ring *r, double now, double span, size_t max)
{
    if (r->len < r->cap)
        return;
    if (r->cap > 0 && (r->cap >= max || r->t[r->head] < now - span)) {
        r->head = (r->head + 1) % r->cap;
        r->len--;
        return;
    }
    size_t ncap = r->cap ? r->cap * 2 : RING_MIN;
    if (ncap > max)
        ncap = max;
    double *t = sm_xreallocarray(NULL, ncap, sizeof *t);
    float *v = sm_xreallocarray(NULL, ncap, sizeof *v);
    for (size_t i = 0; i < r->len; i++) {
        t[i] = r->t[(r->head + i) % r->cap];
        v[i] = r->v[(r->head + i) % r->cap];
    }
    free(r->t);
    free(r->v);
    r->t = t;
    r->v = v;
    r->cap = ncap;
    r->head = 0;
}

/* Append (t, v) to r's own points if t is newer than its newest; drop points older than
 * the span first. */
static int
ring_push(struct ring *r, double t, double v, double span, size_t max)
{
    if (r->len > 0 && !(t > r->t[(r->head + r->len - 1) % r->cap]))
        return 0;
    /* Age out old points so a ring does not keep a stale tail after a gap. */
    while (r->len > 0 && r->t[r->head] < t - span) {
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    ring_make_room(r, t, span, max);
    size_t i = (r->head + r->len) % r->cap;
    r->t[i] = t;
    r->v[i] = (float)v;
    r->len++;
    return 1;
}

/* r is full: move the points of its oldest minute into one mean point of r->older. */
static void
ring_evict_minute(struct ring *r, double span)
{
    double bucket = floor(r->t[r->head] / MODEL_COARSE_STEP);
    double sum = 0;
    size_t n = 0;
    while (r->len > 0 && floor(r->t[r->head] / MODEL_COARSE_STEP) == bucket) {
        sum += (double)r->v[r->head];
        n++;
        r->head = (r->head + 1) % r->cap;
        r->len--;
    }
    if (r->older == NULL)
        r->older = sm_xcalloc(1, sizeof *r->older);
    ring_push(r->older, bucket * MODEL_COARSE_STEP, sum / (double)n, span, MODEL_COARSE_MAX);
}

/* Append (t, v) to a series' ring if t is newer than its newest point. */
static int
series_push(struct ring *r, double t, double v, double span)
{
    if (r->len > 0 && !(t > r->t[(r->head + r->len - 1) % r->cap]))
        return 0;
    struct ring *o = r->older;
    while (o != NULL && o->len > 0 && o->t[o->head] < t - span) {
        o->head = (o->head + 1) % o->cap;
        o->len--;
    }
    if (r->len == MODEL_RING_MAX && !(r->t[r->head] < t - span))
        ring_evict_minute(r, span);
    return ring_push(r, t, v, span, MODEL_RING_MAX);
}

static void
ring_free(struct ring *r)
{
    if (r->older != NULL) {
        ring_free(r->older);
        free(r->older);
    }
    free(r->t);
    free(r->v);
}

size_t
ring_len(const struct ring *r)
{
    return (r->older ? r->older->len : 0) + r->len;
}

void
ring_get(const struct ring *r, size_t i, double *t, double *v)
{
    if (r->older != NULL) {
        if (i < r->older->len) {
            ring_get(r->older, i, t, v);
            return;
        }
        i -= r->older->len;
    }
    size_t k = (r->head + i) % r->cap;
    *t = r->t[k];
    *v = (double)r->v[k];
}

int
ring_last(const struct ring *r, double *t, double *v)
{
    size_t n = ring_len(r);
    if (n == 0)
        return 0;
    ring_get(r, n - 1, t, v);
    return 1;
}

size_t
ring_lower_bound(const struct ring *r, double t)
{
    size_t lo = 0, hi = ring_len(r);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        double mt, mv;
        ring_get(r, mid, &mt, &mv);
        if (mt < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t
ring_stats(const struct ring *r, double t0, double t1, double *min, double *avg, double *max)
{
    size_t n = 0;
    double lo = 0, hi = 0, sum = 0;
    size_t len = ring_len(r);
    for (size_t i = ring_lower_bound(r, t0); i < len; i++) {
        double t, v;
        ring_get(r, i, &t, &v);
        if (t > t1)
            break;
        if (t < t0)
            continue;
        if (n == 0 || v < lo)
            lo = v;
        if (n == 0 || v > hi)
            hi = v;
        sum += v;
        n++;
    }
    if (n > 0) {
        *min = lo;
        *avg = sum / (double)n;
        *max = hi;
    }
    return n;
}

const struct model_series *
model_series_find(const struct model_host *h, const char *name)
{
    for (size_t i = 0; i < h->nseries; i++)
        if (strcmp(h->series[i].name, name) == 0)
            return &h->series[i];
    return NULL;
}

/* The series named name, created if new. Lookups start at the cursor: a source sends
 * the same series in the same order each time, so this is one comparison per value. */
static struct model_series *
series_get(struct model_host *h, const char *name)
{
    for (size_t k = 0; k < h->nseries; k++) {
        size_t i = (h->cursor + k) % h->nseries;
        if (strcmp(h->series[i].name, name) == 0) {
            h->cursor = i + 1;
            return &h->series[i];
        }
    }
    h->series = sm_xgrow(h->series, &h->series_cap, h->nseries + 1, sizeof *h->series);
    struct model_series *s = &h->series[h->nseries++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    h->cursor = h->nseries;
    return s;
}

int
model_add_point(struct model *m, int host_id, const char *series, double t, double v)
{
    struct model_host *h = model_host_get(m, host_id);
    int added = series_push(&series_get(h, series)->ring, t, v, m->span);
    if (added)
        m->generation++;
    return added;
}

int
model_series_declare(struct model *m, int host_id, const char *name)
{
    struct model_host *h = NULL;
    for (size_t i = 0; i < m->nhosts && h == NULL; i++)
        if (m->hosts[i]->id == host_id)
            h = m->hosts[i];
    if (h == NULL || name[0] == '\0' || strlen(name) >= MODEL_SERIES_LEN ||
        model_series_find(h, name) != NULL)
        return 0;
    (void)series_get(h, name);
    m->generation++;
    return 1;
}

/* Where model_add_sample's table walk appends. */
struct put_ctx {
    struct model *m;
    struct model_host *h;
    double t;
};

/* One live value of the series table: appended to its series' ring. */
static void
put(void *arg, const struct sm_series_def *def, const char *lval, double v)
{
    struct put_ctx *p = arg;
    char name[MODEL_SERIES_LEN];
    sm_series_format(name, sizeof name, def, lval);
    series_push(&series_get(p->h, name)->ring, p->t, v, p->m->span);
}

void
model_add_sample(struct model *m, int host_id, const struct sm_sample *s)
{
    struct model_host *h = model_host_get(m, host_id);
    double t = s->timestamp;
    struct put_ctx p = {.m = m, .h = h, .t = t};
    sm_series_each(s, SM_SERIES_LIVE, put, &p);
    if (!h->have_last || t >= h->last.timestamp) {
        sm_sample_copy(&h->last, s);
        h->have_last = 1;
    }
    h->online = 1;
    if (t > h->last_seen)
        h->last_seen = t;
    m->generation++;
}
