/* test_smtop_model.c: smtop's model: hosts, series naming, rings sized by time. */
#include "config.h"

#include <string.h>

#include "smtop/model.h"
#include "tap.h"

/* A two-core sample at time t with recognisable values. */
static void
fill(struct sm_sample *s, double t, double usage)
{
    sm_sample_clear(s);
    s->timestamp = t;
    s->have = SM_HAVE_CPU | SM_HAVE_CPU_BREAKDOWN | SM_HAVE_LOAD | SM_HAVE_MEM | SM_HAVE_SWAP |
              SM_HAVE_NET | SM_HAVE_DISK_IO;
    s->cpu.usage = usage;
    s->cpu.user = usage / 2;
    struct sm_core *c = sm_sample_cores(s, 2);
    c[0] = (struct sm_core){.usage = usage, .freq_mhz = 2400, .online = 1};
    c[1] = (struct sm_core){.usage = usage + 1, .freq_mhz = -1, .online = 1};
    s->cpu.load[0] = 1.5;
    s->mem.used_percent = 40;
    struct sm_fs *f = sm_sample_add_fs(s);
    snprintf(f->mount, sizeof f->mount, "/");
    f->percent = 55;
    struct sm_disk *d = sm_sample_add_disk(s);
    snprintf(d->name, sizeof d->name, "vda");
    d->busy_percent = 7;
    struct sm_iface *i = sm_sample_add_iface(s);
    snprintf(i->name, sizeof i->name, "eth0");
    i->rx_bps = 1000;
}

static double
last_of(const struct model_host *h, const char *name)
{
    const struct model_series *s = model_series_find(h, name);
    double t, v;
    if (s == NULL || !ring_last(&s->ring, &t, &v))
        return -12345;
    return v;
}

static void
test_series(void)
{
    struct model *m = model_new(600);
    struct sm_sample s;
    sm_sample_init(&s);
    fill(&s, 1000, 20);
    unsigned long g = m->generation;
    model_add_sample(m, 0, &s);
    ok(m->generation != g, "adding a sample bumps the generation");
    const struct model_host *h = model_host_find(m, 0);
    ok(h != NULL && m->nhosts == 1, "host 0 created by its first sample");
    ok(h->online && h->last_seen == 1000, "host online, last seen at the sample time");
    ok(h->have_last && h->last.cpu.ncores == 2 && h->last.nfs == 1, "latest sample copied");
    ok(h->last.cpu.cores != s.cpu.cores, "copy owns its arrays");
    ok_near(last_of(h, "cpu.usage"), 20, 1e-6, "cpu.usage");
    ok_near(last_of(h, "cpu.core.usage{core=1}"), 21, 1e-6, "per-core usage named by core");
    ok_near(last_of(h, "cpu.core.freq_mhz{core=0}"), 2400, 1e-3, "per-core frequency");
    ok(model_series_find(h, "cpu.core.freq_mhz{core=1}") == NULL,
       "unknown frequency (-1) makes no series");
    ok_near(last_of(h, "cpu.user"), 10, 1e-6, "breakdown");
    ok_near(last_of(h, "load.1"), 1.5, 1e-6, "load.1");
    ok_near(last_of(h, "mem.used_percent"), 40, 1e-6, "memory");
    ok_near(last_of(h, "fs.used_percent{mount=/}"), 55, 1e-6, "filesystem by mount");
    ok_near(last_of(h, "disk.busy_percent{dev=vda}"), 7, 1e-6, "disk busy by device");
    ok_near(last_of(h, "net.rx_bytes_per_s{iface=eth0}"), 1000, 1e-6, "interface rx");
    ok(model_series_find(h, "cpu.freq_mhz") == NULL, "no SM_HAVE_FREQ, no cpu.freq_mhz");

    /* An older sample is not appended and does not replace last. */
    fill(&s, 999, 90);
    model_add_sample(m, 0, &s);
    const struct model_series *u = model_series_find(h, "cpu.usage");
    ok(ring_len(&u->ring) == 1, "older sample not appended");
    ok_near(h->last.cpu.usage, 20, 1e-6, "older sample does not replace the latest");

    /* A second host, and status messages. */
    fill(&s, 1002, 30);
    model_add_sample(m, 7, &s);
    ok(m->nhosts == 2 && model_host_find(m, 7) != NULL, "second host by id");
    model_set_status(m, 7, 0, 1500);
    h = model_host_find(m, 7);
    ok(!h->online && h->last_seen == 1500, "status: offline, last seen");
    model_set_name(m, 7, "web1");
    ok(strcmp(h->name, "web1") == 0, "name set");
    struct sm_host facts = {.cores = 2};
    snprintf(facts.hostname, sizeof facts.hostname, "other");
    model_set_facts(m, 7, &facts);
    ok(strcmp(h->name, "web1") == 0 && h->have_facts, "facts do not override an agent name");
    model_set_facts(m, 3, &facts);
    ok(strcmp(model_host_find(m, 3)->name, "other") == 0, "facts name a host without a name");

    /* Backfill points. */
    ok(model_add_point(m, 7, "cpu.usage", 1003, 50) == 1, "point appended");
    ok(model_add_point(m, 7, "cpu.usage", 1003, 51) == 0, "same time refused");
    sm_sample_done(&s);
    model_free(m);
    model_free(NULL);
}

/* Rings keep span seconds, growing while they must and reusing space once points age. */
static void
test_ring_by_time(void)
{
    struct model *m = model_new(100);
    for (int i = 0; i < 1000; i++)
        model_add_point(m, 0, "x", 1000 + i, i);
    const struct model_host *h = model_host_find(m, 0);
    const struct ring *r = &model_series_find(h, "x")->ring;
    double t, v;
    ring_get(r, 0, &t, &v);
    ok(t >= 1999 - 100 - 1 && t <= 1999 - 100 + 64, "oldest point within the span (t=%g)", t);
    ok(r->cap <= 256 && r->older == NULL, "ring did not grow past what 100 s needs (cap %zu)",
       r->cap);
    ring_last(r, &t, &v);
    ok(t == 1999 && v == 999, "newest point last");
    double lo, avg, hi;
    size_t n = ring_stats(r, 1990, 1999, &lo, &avg, &hi);
    ok(n == 10 && lo == 990 && hi == 999, "stats over a window (n=%zu)", n);
    ok_near(avg, 994.5, 1e-6, "average over the window");
    ok(ring_stats(r, 0, 10, &lo, &avg, &hi) == 0, "empty window");

    /* A fast source: 10 points a second for 100 s all fit (the ring grows). */
    for (int i = 0; i < 1000; i++)
        model_add_point(m, 0, "fast", 5000 + i * 0.1, i);
    r = &model_series_find(h, "fast")->ring;
    ok(ring_len(r) == 1000, "fast series holds its whole span (%zu)", ring_len(r));
    /* After a gap longer than the span only the new point remains. */
    model_add_point(m, 0, "fast", 9000, 1);
    ok(ring_len(r) == 1, "gap: stale points dropped");
    model_free(m);

    struct model *c = model_new(1);
    ok(c->span == 60, "span clamped to at least 60 s");
    model_free(c);
}

/* A long run: a series keeps MODEL_RING_MAX points at full resolution and folds older
 * minutes into mean points; readers see one time-ordered series over the whole span. */
static void
test_ring_coarse(void)
{
    struct model *m = model_new(7 * 86400);
    size_t n = 3 * MODEL_RING_MAX + 5;
    /* One point every 2 s, values 0..29 repeating (a minute of points averages 14.5). */
    for (size_t i = 0; i < n; i++)
        model_add_point(m, 0, "x", 6000 + 2.0 * (double)i, (double)(i % 30));
    const struct ring *r = &model_series_find(model_host_find(m, 0), "x")->ring;
    ok(r->len <= MODEL_RING_MAX && r->cap <= MODEL_RING_MAX, "full-resolution points bounded");
    ok(r->older != NULL && r->older->len > 0, "older minutes folded (%zu coarse points)",
       r->older ? r->older->len : 0);
    double t, v, pt = 0, pv;
    int ordered = 1;
    size_t len = ring_len(r);
    for (size_t i = 0; i < len; i++) {
        ring_get(r, i, &t, &v);
        if (i > 0 && !(t > pt))
            ordered = 0;
        pt = t;
    }
    ok(ordered, "one series in time order across both rings (%zu points)", len);
    ring_get(r, 0, &t, &v);
    ok(t == 6000, "the oldest point is the start (t=%g)", t);
    ok_near(v, 14.5, 1e-3, "a coarse point is its minute's mean");
    ring_last(r, &t, &v);
    ring_get(r, len - 2, &pt, &pv);
    ok(t == 6000 + 2.0 * (double)(n - 1) && pt == t - 2, "newest points at full resolution");
    ok(ring_len(r) < MODEL_RING_MAX + MODEL_COARSE_MAX, "bounded in all");
    double lo, avg, hi;
    ok(ring_stats(r, 6000, 6059, &lo, &avg, &hi) == 1, "stats reach the coarse points");
    ok(ring_lower_bound(r, 0) == 0 && ring_lower_bound(r, 1e12) == len, "lower bound: ends");
    size_t lb = ring_lower_bound(r, t - 3);
    ring_get(r, lb, &pt, &pv);
    ok(lb == len - 2 && pt == t - 2, "lower bound: first point at or after a time");
    lb = ring_lower_bound(r, 6001);
    ring_get(r, lb, &pt, &pv);
    ok(lb == 1 && pt >= 6001, "lower bound across the coarse ring");
    /* Nothing is appended out of order through the coarse ring either. */
    ok(model_add_point(m, 0, "x", 6001, 1) == 0, "an old time is refused");
    model_free(m);
}

/* Many series: lookups stay correct when series appear and disappear. */
static void
test_many(void)
{
    struct model *m = model_new(3600);
    struct sm_sample s;
    sm_sample_init(&s);
    for (int k = 0; k < 5; k++) {
        sm_sample_clear(&s);
        s.timestamp = 100 + k;
        s.have = SM_HAVE_CPU;
        size_t n = (size_t)(64 + k);
        struct sm_core *c = sm_sample_cores(&s, n);
        for (size_t i = 0; i < n; i++)
            c[i] = (struct sm_core){.usage = (double)i, .freq_mhz = -1, .online = (i % 7) != 3};
        model_add_sample(m, 0, &s);
    }
    const struct model_host *h = model_host_find(m, 0);
    ok(model_series_find(h, "cpu.core.usage{core=3}") == NULL, "offline core has no series");
    ok_near(last_of(h, "cpu.core.usage{core=67}"), 67, 1e-6, "core 67 found after growth");
    const struct model_series *c0 = model_series_find(h, "cpu.core.usage{core=0}");
    ok(c0 && ring_len(&c0->ring) == 5, "core 0 has all 5 points");
    sm_sample_done(&s);
    model_free(m);
}

static struct model_alert
alert(long long rule, int agent, const char *labels, const char *severity, int firing, double since)
{
    struct model_alert a;
    memset(&a, 0, sizeof a);
    a.rule_id = rule;
    a.agent_id = agent;
    snprintf(a.labels, sizeof a.labels, "%s", labels);
    snprintf(a.name, sizeof a.name, "rule%lld", rule);
    snprintf(a.metric, sizeof a.metric, "cpu.usage");
    snprintf(a.severity, sizeof a.severity, "%s", severity);
    a.firing = firing;
    a.since = since;
    return a;
}

static void
test_alerts(void)
{
    struct model *m = model_new(600);
    const struct model_alert *w;
    struct model_alert a = alert(1, 5, "", "warning", 0, 100);
    model_alert_apply(m, &a, "pending");
    ok(m->nalerts == 1 && !m->alerts[0].firing, "pending alert kept");
    ok(model_alerts_of(m, 5, 0, &w) == 0 && w == NULL, "pending is not firing");
    ok(model_alerts_of(m, 5, 1, &w) == 1 && w != NULL, "pending counted with_pending");
    model_alert_apply(m, &a, "firing");
    ok(m->nalerts == 1 && m->alerts[0].firing, "same rule, agent, labels: updated in place");
    struct model_alert b = alert(2, 5, "mount=/", "critical", 1, 200);
    model_alert_apply(m, &b, "firing");
    struct model_alert c = alert(1, 5, "mount=/var", "warning", 0, 50);
    model_alert_apply(m, &c, "pending");
    ok(m->nalerts == 3, "other labels: another alert");
    ok(m->alerts[0].rule_id == 2 && m->alerts[1].rule_id == 1 && m->alerts[1].firing &&
           !m->alerts[2].firing,
       "sorted: firing critical, firing warning, pending");
    ok(model_alerts_of(m, 5, 0, &w) == 2 && w && w->rule_id == 2, "worst firing is critical");
    model_alert_apply(m, &b, "resolved");
    ok(m->nalerts == 2 && model_alerts_of(m, 5, 0, &w) == 1, "resolved removes");
    model_alert_apply(m, &c, "inactive");
    ok(m->nalerts == 1, "inactive removes");
    model_alert_apply(m, &c, "resolved");
    ok(m->nalerts == 1, "resolving an unknown alert is a no-op");
    /* Replace: a live alert newer than the request survives, older ones go. */
    struct model_alert live = alert(3, 6, "", "info", 1, 300);
    live.set_at = 1000;
    model_alert_apply(m, &live, "firing");
    struct model_alert rest[2] = {alert(4, 5, "", "warning", 1, 10), alert(3, 6, "", "info", 1, 1)};
    model_alerts_replace(m, rest, 2, 999);
    ok(m->nalerts == 2, "replace: REST list plus the newer live one (%zu)", m->nalerts);
    ok(model_alerts_of(m, 6, 0, &w) == 1 && w->since == 300, "the live one kept its state");
    model_alerts_replace(m, NULL, 0, 2000);
    ok(m->nalerts == 0, "replace with nothing after the live change: empty");
    /* A removed host takes its alerts along. */
    model_host_get(m, 7);
    struct model_alert d = alert(5, 7, "", "critical", 1, 1);
    model_alert_apply(m, &d, "firing");
    model_host_remove(m, 7);
    ok(m->nalerts == 0, "host removed: its alerts too");
    model_free(m);
}

static void
test_declare(void)
{
    struct model *m = model_new(600);
    ok(model_series_declare(m, 1, "fs.used_percent{mount=/old}") == 0, "unknown host: no series");
    model_host_get(m, 1);
    ok(model_series_declare(m, 1, "fs.used_percent{mount=/old}") == 1, "declared");
    ok(model_series_declare(m, 1, "fs.used_percent{mount=/old}") == 0, "declared once");
    ok(model_series_declare(m, 1, "") == 0, "empty name refused");
    char longname[MODEL_SERIES_LEN + 10];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ok(model_series_declare(m, 1, longname) == 0, "overlong name refused");
    const struct model_series *s =
        model_series_find(model_host_find(m, 1), "fs.used_percent{mount=/old}");
    ok(s && ring_len(&s->ring) == 0, "an empty series");
    ok(model_add_point(m, 1, "fs.used_percent{mount=/old}", 5, 42) == 1, "points go into it");
    model_free(m);
}

int
main(void)
{
    test_alerts();
    test_declare();
    test_series();
    test_ring_by_time();
    test_ring_coarse();
    test_many();
    return tap_done();
}
