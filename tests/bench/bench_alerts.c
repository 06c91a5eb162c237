/* bench_alerts.c: the event loop's cost of judging alert rules on a committed sample,
 * beside the cost of publishing the same sample to the live stream (hub_publish, which
 * the loop already pays per batch) measured in the same run. The sample is a realistic
 * 8-core host (about 60 points); the agent's user has 10 rules (cpu, memory, three
 * filesystems, network, load, an offline rule ...), one of them matching every series
 * of a name. The samples come from AGENTS agents in turn (each rule keeps a state per
 * agent and series). Prints nanoseconds per sample for both and the ratio.
 * Usage: bench_alerts [SAMPLES [AGENTS]] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "smserver/alerts.h"
#include "smserver/hub.h"
#include "xmalloc.h"

#define NPOINTS_MAX 128

static uint64_t notes;

static void
emit(const struct alert_note *n, void *arg)
{
    (void)n;
    (void)arg;
    notes++;
}

static int
agent(int64_t id, int64_t *user_id, const char **name, int *online, double *last_seen, void *arg)
{
    *user_id = 1;
    *name = "web1";
    *online = 1;
    *last_seen = 0;
    (void)id;
    (void)arg;
    return 0;
}

struct names {
    char name[NPOINTS_MAX][40], labels[NPOINTS_MAX][40];
};

static size_t
make_points(struct names *nm, struct store_point *p)
{
    size_t n = 0;
#define PT(N, L)                                                                                   \
    do {                                                                                           \
        snprintf(nm->name[n], sizeof nm->name[n], "%s", N);                                        \
        snprintf(nm->labels[n], sizeof nm->labels[n], "%s", L);                                    \
        n++;                                                                                       \
    } while (0)
    PT("cpu.usage", "");
    char l[40];
    for (int c = 0; c < 8; c++) {
        snprintf(l, sizeof l, "core=%d", c);
        PT("cpu.core.usage", l);
        PT("cpu.core.freq_mhz", l);
    }
    static const char *const simple[] = {"cpu.user",
                                         "cpu.system",
                                         "cpu.iowait",
                                         "cpu.steal",
                                         "cpu.freq_mhz",
                                         "load.1",
                                         "load.5",
                                         "load.15",
                                         "mem.used_percent",
                                         "mem.used",
                                         "mem.available",
                                         "mem.total",
                                         "swap.used_percent",
                                         "swap.used",
                                         "net.bytes_sent",
                                         "net.bytes_recv",
                                         "net.rx_bytes_per_s",
                                         "net.tx_bytes_per_s",
                                         "disk.read_bytes_per_s",
                                         "disk.write_bytes_per_s"};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        PT(simple[i], "");
    static const char *const mounts[] = {"mount=/", "mount=/boot", "mount=/home", "mount=/var"};
    for (size_t i = 0; i < 4; i++) {
        PT("fs.used_percent", mounts[i]);
        PT("fs.used", mounts[i]);
        PT("fs.total", mounts[i]);
    }
    PT("net.rx_bytes_per_s", "iface=eth0");
    PT("net.tx_bytes_per_s", "iface=eth0");
    PT("disk.busy_percent", "dev=vda");
#undef PT
    for (size_t i = 0; i < n; i++)
        p[i] = (struct store_point){nm->name[i], nm->labels[i], 1.0};
    return n;
}

int
main(int argc, char **argv)
{
    long nsamples = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    long nagents = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
    if (nsamples < 1000)
        nsamples = 1000;
    if (nagents < 1 || nagents > 100000)
        nagents = 1;
    static struct names nm;
    struct store_point pts[NPOINTS_MAX];
    size_t npts = make_points(&nm, pts);

    struct alerts *a = alerts_new(emit, agent, NULL);
    static const struct {
        const char *metric;
        char op;
        double thr;
    } rules[] = {
        {"cpu.usage", '>', 90},
        {"mem.used_percent", '>', 90},
        {"fs.used_percent{mount=/}", '>', 90},
        {"fs.used_percent", '>', 95},
        {"load.5", '>', 16},
        {"swap.used_percent", '>', 50},
        {"net.rx_bytes_per_s{iface=eth0}", '>', 1e9},
        {"disk.busy_percent", '>', 95},
        {"cpu.iowait", '>', 30},
        {"agent.offline", '>', 0},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct store_rule r;
        memset(&r, 0, sizeof r);
        r.id = (int64_t)i + 1;
        r.user_id = 1;
        char *cause = NULL;
        if (alerts_parse_metric(rules[i].metric, r.metric, r.labels, &cause) != SM_OK)
            return 1;
        r.op = rules[i].op;
        r.threshold = rules[i].thr;
        r.for_seconds = r.resolve_seconds = 60;
        alerts_rule_put(a, &r, 0);
    }

    /* The live stream's cost of the same sample: hub_publish of its JSON (about 2 KB, as
     * an 8-core smagent sample encodes), no subscribers. */
    const struct hub_limits lim = {16, 256, 4096, 3, 10};
    struct hub *h = hub_new(&lim);
    hub_agent_upsert(h, 1, 1, "web1", NULL, NULL, 0);
    char *json = sm_xmalloc(2200);
    memset(json, ' ', 2199);
    json[0] = '{';
    json[2197] = '}';
    json[2198] = '\0';

    double base_ts = 1800000000.0;
    struct store_sample s = {0, npts, pts};
    struct store_batch b = {.agent_id = 1, .nsamples = 1, .samples = &s};
    double t0 = sm_mono_now();
    for (long i = 0; i < nsamples; i++) {
        double t = base_ts + (double)(i / nagents);
        s.ts_ms = (int64_t)(t * 1000);
        b.agent_id = 1 + i % nagents;
        alerts_batch(a, &b, t);
    }
    double t_alerts = (sm_mono_now() - t0) / (double)nsamples;
    t0 = sm_mono_now();
    for (long i = 0; i < nsamples; i++)
        hub_publish(h, 1, json, NULL, base_ts + (double)i);
    double t_hub = (sm_mono_now() - t0) / (double)nsamples;

    struct alerts_stats st;
    alerts_stats(a, &st);
    printf("bench_alerts: %zu rules, %zu points per sample, %ld samples from %ld agents\n",
           st.rules, npts, nsamples, nagents);
    printf("  alert evaluation   %8.0f ns per sample (%llu rule checks per sample)\n",
           t_alerts * 1e9, (unsigned long long)(st.evaluations / (uint64_t)nsamples));
    printf("  baseline: publish  %8.0f ns per sample (hub_publish of the sample JSON)\n",
           t_hub * 1e9);
    printf("  ratio              %8.2f x the live stream's publish\n", t_alerts / t_hub);
    free(json);
    hub_free(h);
    alerts_free(a);
    return notes == 0 ? 0 : 1; /* nothing crosses a threshold: no state changes expected */
}
