/* test_alerts.c: the alert engine (smserver/alerts.c) with a controlled clock: state
 * transitions, scope, label matching, order and staleness of samples, offline rules,
 * and the metric parser. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "tap.h"
#include "xmalloc.h"

#define NOW 1800000000.0

static char log_buf[4096]; /* "state@ts agent labels;" per change */
static int log_notify;

static void
emit(const struct alert_note *n, void *arg)
{
    (void)arg;
    char one[256];
    snprintf(one, sizeof one, "%s@%lld/%lld%s%s;", n->state, (long long)(n->ts_ms / 1000),
             (long long)n->agent_id, n->labels[0] ? "/" : "", n->labels);
    strncat(log_buf, one, sizeof log_buf - strlen(log_buf) - 1);
    log_notify += n->notify;
}

/* Agents 1 and 2 belong to user 10, agent 3 to user 20. */
static int
agent(int64_t id, int64_t *user_id, const char **name, int *online, double *last_seen, void *arg)
{
    (void)arg;
    if (id < 1 || id > 3)
        return -1;
    *user_id = id == 3 ? 20 : 10;
    *name = "host";
    *online = 1;
    *last_seen = NOW;
    return 0;
}

static struct store_rule
rule(int64_t id, int64_t user, const char *metric, char op, double thr, int64_t for_s)
{
    struct store_rule r;
    memset(&r, 0, sizeof r);
    r.id = id;
    r.user_id = user;
    char *cause = NULL;
    if (alerts_parse_metric(metric, r.metric, r.labels, &cause) != SM_OK)
        abort();
    r.op = op;
    r.threshold = thr;
    r.for_seconds = r.resolve_seconds = for_s;
    sm_strlcpy(r.severity, "warning", sizeof r.severity);
    return r;
}

/* Post one sample of agent with one point name{labels}=v at NOW + t. */
static void
post(struct alerts *a, int64_t agent_id, double t, const char *name, const char *labels, double v)
{
    struct store_point p = {name, labels, v};
    struct store_sample s = {(int64_t)((NOW + t) * 1000), 1, &p};
    struct store_batch b = {.agent_id = agent_id, .nsamples = 1, .samples = &s};
    alerts_batch(a, &b, NOW + t);
}

static void
reset(void)
{
    log_buf[0] = '\0';
    log_notify = 0;
}

static void
transitions(void)
{
    struct alerts *a = alerts_new(emit, agent, NULL);
    struct store_rule r = rule(1, 10, "cpu.usage", '>', 50, 5);
    r.channel_id = 7;
    alerts_rule_put(a, &r, NOW);
    reset();
    for (int t = 0; t <= 4; t++)
        post(a, 1, t, "cpu.usage", "", 80);
    ok_str(log_buf, "pending@1800000000/1;", "pending at the first sample over the threshold");
    post(a, 1, 5, "cpu.usage", "", 80);
    ok_str(log_buf, "pending@1800000000/1;firing@1800000005/1;", "firing after for_seconds");
    ok(log_notify == 1, "firing notifies (a rule with a channel)");
    post(a, 1, 6, "cpu.usage", "", 10);
    post(a, 1, 7, "cpu.usage", "", 80);
    post(a, 1, 8, "cpu.usage", "", 10);
    post(a, 1, 12, "cpu.usage", "", 10);
    ok(strstr(log_buf, "resolved") == NULL, "a dip shorter than resolve_seconds keeps firing");
    post(a, 1, 13, "cpu.usage", "", 10);
    ok(strstr(log_buf, "resolved@1800000013/1;") != NULL, "resolved after resolve_seconds");
    ok(log_notify == 2, "resolve notifies");
    reset();
    post(a, 1, 20, "cpu.usage", "", 90);
    post(a, 1, 21, "cpu.usage", "", 10);
    ok_str(log_buf, "pending@1800000020/1;inactive@1800000021/1;", "pending then inactive");
    ok(log_notify == 0, "pending and inactive do not notify");
    reset();
    post(a, 1, 15, "cpu.usage", "", 99);
    post(a, 1, -700, "cpu.usage", "", 99);
    ok_str(log_buf, "", "older samples are not judged");
    struct alerts_stats st;
    alerts_stats(a, &st);
    ok(st.rules == 1 && st.firing == 0 && st.evaluations == 13, "stats: 1 rule, 13 evaluations");
    reset();
    for (int t = 30; t <= 35; t++)
        post(a, 1, t, "cpu.usage", "", 80);
    r.threshold = 95;
    alerts_rule_put(a, &r, NOW + 36);
    ok_str(log_buf, "pending@1800000030/1;firing@1800000035/1;resolved@1800000036/1;",
           "changing a firing rule resolves it");
    ok(log_notify == 2, "and notifies the resolve");
    post(a, 1, 37, "cpu.usage", "", 80);
    ok(strstr(log_buf, "@1800000037") == NULL, "the changed rule judges afresh");
    alerts_free(a);
}

static void
scope(void)
{
    struct alerts *a = alerts_new(emit, agent, NULL);
    struct store_rule r0 = rule(1, 10, "cpu.usage", '<', 5, 0);
    struct store_rule r1 = rule(2, 10, "fs.used_percent{mount=/}", '>', 90, 0);
    struct store_rule r2 = rule(3, 10, "fs.used_percent", '>', 90, 0);
    r2.agent_id = 2;
    alerts_rule_put(a, &r0, NOW);
    alerts_rule_put(a, &r1, NOW);
    alerts_rule_put(a, &r2, NOW);
    reset();
    post(a, 3, 1, "cpu.usage", "", 1);
    ok_str(log_buf, "", "another user's agent is never judged");
    post(a, 1, 1, "cpu.usage", "", 1);
    ok_str(log_buf, "pending@1800000001/1;firing@1800000001/1;", "for_seconds 0 fires at once");
    reset();
    post(a, 1, 2, "fs.used_percent", "mount=/boot", 99);
    ok_str(log_buf, "", "a label match judges that series only");
    post(a, 1, 3, "fs.used_percent", "mount=/", 99);
    ok_str(log_buf, "pending@1800000003/1/mount=/;firing@1800000003/1/mount=/;",
           "the matching series fires");
    reset();
    post(a, 2, 4, "fs.used_percent", "mount=/boot", 99);
    post(a, 2, 4, "fs.used_percent", "mount=/home", 99);
    ok(strstr(log_buf, "firing@1800000004/2/mount=/boot;") &&
           strstr(log_buf, "firing@1800000004/2/mount=/home;"),
       "without labels each series has its own state");
    reset();
    alerts_agent_removed(a, 2, NOW);
    post(a, 2, 5, "fs.used_percent", "mount=/var", 99);
    ok(strstr(log_buf, "/2/mount=/var") == NULL, "rules scoped to a removed agent go");
    reset();
    alerts_rule_remove(a, 1, NOW + 5);
    ok_str(log_buf, "resolved@1800000005/1;",
           "a removed rule's firing alert resolves, so subscribers drop it");
    reset();
    post(a, 1, 6, "cpu.usage", "", 10);
    post(a, 1, 7, "cpu.usage", "", 1);
    ok(strstr(log_buf, "/1;") == NULL, "a removed rule judges nothing");
    alerts_free(a);
}

static struct store_rule synced[4];
static int nsynced;
static double sync_now; /* the time the server's put callback passes on */

static void
sync_put(const struct store_rule *r, void *arg)
{
    synced[nsynced++] = *r;
    alerts_rule_put(arg, r, sync_now);
}

/* The database's rules (written by the admin CLI) replace the engine's. */
static void
sync(void)
{
    struct alerts *a = alerts_new(emit, agent, NULL);
    /* No rules on either side (nothing allocated yet): nothing happens. */
    alerts_rules_sync(a, NULL, 0, NOW, sync_put, a);
    ok(nsynced == 0, "sync: nothing to nothing");
    struct store_rule r1 = rule(1, 10, "cpu.usage", '>', 90, 0);
    struct store_rule r2 = rule(2, 10, "mem.used_percent", '>', 90, 30);
    alerts_rule_put(a, &r1, NOW);
    alerts_rule_put(a, &r2, NOW);
    reset();
    post(a, 1, 1, "cpu.usage", "", 99);
    post(a, 1, 1, "mem.used_percent", "", 99);
    ok_str(log_buf, "pending@1800000001/1;firing@1800000001/1;pending@1800000001/1;",
           "sync: rule 1 firing, rule 2 pending");
    reset();
    struct store_rule list[2] = {r1, rule(3, 10, "cpu.usage", '<', 1, 0)};
    sync_now = NOW + 2;
    alerts_rules_sync(a, list, 2, NOW + 2, sync_put, a);
    ok_str(log_buf, "inactive@1800000002/1;", "sync: a rule gone from the database ends");
    ok(nsynced == 1 && synced[0].id == 3, "sync: only the new rule is put (unchanged ones stay)");
    reset();
    post(a, 1, 3, "cpu.usage", "", 0.5);
    ok_str(log_buf, "resolved@1800000003/1;pending@1800000003/1;firing@1800000003/1;",
           "sync: the new rule judges (and the kept one resolves)");
    reset();
    list[1].threshold = 2;
    list[1].updated = 7;
    sync_now = NOW + 4;
    alerts_rules_sync(a, list, 2, NOW + 4, sync_put, a);
    ok(nsynced == 2 && synced[1].id == 3 && synced[1].threshold == 2,
       "sync: a changed rule is put again");
    ok_str(log_buf, "resolved@1800000004/1;", "sync: the changed rule's firing alert resolves");
    alerts_free(a);
}

static void
offline(void)
{
    struct alerts *a = alerts_new(emit, agent, NULL);
    struct store_rule r = rule(1, 10, "agent.offline", '>', 0, 30);
    alerts_rule_put(a, &r, NOW);
    reset();
    alerts_status(a, 3, 20, 0, NOW - 60, NOW);
    ok_str(log_buf, "", "another user's agent going offline is ignored");
    alerts_status(a, 1, 10, 0, NOW - 15, NOW);
    ok_str(log_buf, "pending@1800000000/1;", "offline: pending");
    alerts_tick(a, NOW + 29);
    ok(strstr(log_buf, "firing") == NULL, "not firing before for_seconds");
    alerts_tick(a, NOW + 30);
    ok(strstr(log_buf, "firing@1800000030/1;") != NULL, "firing after for_seconds");
    alerts_status(a, 1, 10, 1, NOW + 40, NOW + 40);
    ok(strstr(log_buf, "resolved@1800000040/1;") != NULL, "back online: resolved");
    reset();
    alerts_status(a, 1, 10, 0, NOW + 50, NOW + 60);
    alerts_status(a, 1, 10, 1, NOW + 61, NOW + 61);
    ok_str(log_buf, "pending@1800000060/1;inactive@1800000061/1;", "short outage: inactive");
    alerts_free(a);
}

static void
parse(void)
{
    static const struct {
        const char *in, *name, *labels;
    } good[] = {
        {"cpu.usage", "cpu.usage", ""},
        {"fs.used_percent{mount=/}", "fs.used_percent", "mount=/"},
        {"fs.used_percent{mount=\"/var/lib\"}", "fs.used_percent", "mount=/var/lib"},
        {"net.rx_bytes_per_s{iface=eth0}", "net.rx_bytes_per_s", "iface=eth0"},
        {"agent.offline", "agent.offline", ""},
    };
    static const char *const bad[] = {"",         "{a=b}",   "cpu usage",  "a{b=c",
                                      "a{=c}",    "a{b=}",   "a{b=c,d=e}", "agent.offline{a=b}",
                                      "a{b c=d}", "a{b=\"}", "a{b=c\nd}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char name[STORE_METRIC_MAX + 1], labels[STORE_LABELS_MAX + 1], *cause = NULL;
        int okay = alerts_parse_metric(good[i].in, name, labels, &cause) == SM_OK &&
                   strcmp(name, good[i].name) == 0 && strcmp(labels, good[i].labels) == 0;
        ok(okay, "metric '%s'", good[i].in);
        free(cause);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char name[STORE_METRIC_MAX + 1], labels[STORE_LABELS_MAX + 1], *cause = NULL;
        enum sm_rc rc = alerts_parse_metric(bad[i], name, labels, &cause);
        ok(rc == SM_EINVAL && cause && strncmp(cause, "metric: ", 8) == 0,
           "bad metric #%zu refused naming the field", i);
        free(cause);
    }
}

int
main(void)
{
    transitions();
    scope();
    sync();
    offline();
    parse();
    return tap_done();
}
