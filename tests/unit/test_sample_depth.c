/* test_sample_depth.c: the host depth sections of a sample (lib/sample_depth.c): round
 * trip, every cap, every bad type naming its field, and their series (lib/series.c). */
#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sample.h"
#include "series.h"
#include "tap.h"
#include "xmalloc.h"

#define NOW 1764064800.0
#include "sample_util.h" /* after NOW: its decode() uses it */

static void
fill(struct sm_sample *s)
{
    s->timestamp = NOW - 1;
    s->have = SM_HAVE_CPU;
    s->cpu.usage = 5;
    s->have |= SM_HAVE_PROCS;
    struct sm_sample_proc *p = sm_sample_add_proc(s);
    p->pid = 4242;
    p->ppid = 1;
    snprintf(p->user, sizeof p->user, "www-data");
    p->state[0] = 'R';
    snprintf(p->name, sizeof p->name, "nginx: worker");
    snprintf(p->cmdline, sizeof p->cmdline, "nginx: worker process \xc3\xa9t\xc3\xa9");
    p->cpu_percent = 150.25;
    p->rss = 12345678;
    p->threads = 4;
    p->read_bps = 1000;
    p->write_bps = 0;
    p->start_time = 1764000000.5;
    p = sm_sample_add_proc(s); /* only what is required */
    p->pid = 7;
    snprintf(p->name, sizeof p->name, "kthreadd");
    struct sm_sample_sensor *t = sm_sample_add_sensor(s);
    snprintf(t->kind, sizeof t->kind, "temp");
    snprintf(t->chip, sizeof t->chip, "coretemp-isa-0000");
    snprintf(t->label, sizeof t->label, "Package id 0");
    t->celsius = 54;
    t->high = 80;
    t->crit = 100;
    t = sm_sample_add_sensor(s);
    snprintf(t->kind, sizeof t->kind, "fan");
    snprintf(t->chip, sizeof t->chip, "nct6775-isa-0290");
    snprintf(t->label, sizeof t->label, "fan2");
    t->rpm = 1200;
    sm_sample_psi_init(s);
    s->psi[0][SM_PSI_SOME] = 1.5;
    s->psi[1][SM_PSI_SOME] = 0.25;
    s->psi[1][SM_PSI_FULL] = 0.75;
    struct sm_sample_cgroup *c = sm_sample_add_cgroup(s);
    snprintf(c->kind, sizeof c->kind, "service");
    snprintf(c->name, sizeof c->name, "nginx.service");
    c->cpu_percent = 12.5;
    c->mem_bytes = 1 << 20;
    c->pids = 5;
    c = sm_sample_add_cgroup(s);
    snprintf(c->kind, sizeof c->kind, "docker");
    snprintf(c->name, sizeof c->name, "web");
    c->cpu_percent = 0;
    struct sm_sample_gpu *g = sm_sample_add_gpu(s);
    snprintf(g->vendor, sizeof g->vendor, "amd");
    snprintf(g->name, sizeof g->name, "Radeon RX 6600");
    snprintf(g->id, sizeof g->id, "0000:03:00.0");
    g->busy_percent = 40;
    g->mem_used = 1 << 30;
    g->mem_total = 8LL << 30;
    g->temp_c = 61;
    g->power_w = 75.5;
}

static void
test_round_trip(void)
{
    struct sm_sample a, b;
    char *cause = NULL;
    sm_sample_init(&a);
    sm_sample_init(&b);
    fill(&a);
    char *text = sm_sample_encode(&a);
    enum sm_rc rc = decode(text, &b, &cause);
    ok(rc == SM_OK, "the encoded sample decodes (%s)", cause ? cause : "ok");
    free(cause);
    ok(b.have & SM_HAVE_PROCS, "processes section there");
    ok(b.nprocs == 2, "2 processes");
    ok(b.procs[0].pid == 4242 && b.procs[0].ppid == 1 && b.procs[0].rss == 12345678 &&
           b.procs[0].threads == 4,
       "whole numbers kept");
    ok_str(b.procs[0].cmdline, a.procs[0].cmdline, "command line with UTF-8 kept");
    ok_str(b.procs[0].state, "R", "state kept");
    ok_near(b.procs[0].cpu_percent, 150.25, 1e-9, "cpu percent of one core above 100 kept");
    ok_near(b.procs[0].start_time, 1764000000.5, 1e-6, "start time kept");
    ok(b.procs[1].ppid == -1 && b.procs[1].rss == -1 && isnan(b.procs[1].cpu_percent) &&
           b.procs[1].user[0] == '\0',
       "absent members stay absent");
    ok(b.nsensors == 2 && b.sensors[0].celsius == 54 && b.sensors[0].crit == 100 &&
           isnan(b.sensors[0].rpm),
       "temperature kept");
    ok(b.sensors[1].rpm == 1200 && isnan(b.sensors[1].celsius) && isnan(b.sensors[1].high),
       "fan kept");
    ok((b.have & SM_HAVE_PSI) && b.psi[0][SM_PSI_SOME] == 1.5 && isnan(b.psi[0][SM_PSI_FULL]) &&
           b.psi[1][SM_PSI_FULL] == 0.75 && isnan(b.psi[2][SM_PSI_SOME]),
       "pressure kept, absent lines absent");
    ok(b.ncgroups == 2 && b.cgroups[0].mem_bytes == 1 << 20 && b.cgroups[0].pids == 5 &&
           b.cgroups[1].mem_bytes == -1,
       "cgroups kept");
    ok(b.ngpus == 1 && b.gpus[0].mem_total == 8LL << 30 && b.gpus[0].power_w == 75.5 &&
           isnan(b.gpus[0].clock_core_mhz),
       "GPU kept");
    char *again = sm_sample_encode(&b);
    ok_str(again, text, "encode(decode(encode(s))) == encode(s)");
    free(again);
    free(text);

    /* A sample of the original agents: none of this, and nothing made up. */
    rc = decode("{\"cpu\":{\"usage_percent\":1},\"memory\":{\"percent\":2}}", &b, &cause);
    ok(rc == SM_OK && b.nprocs == 0 && !(b.have & (SM_HAVE_PROCS | SM_HAVE_PSI)) &&
           b.nsensors == 0 && b.ncgroups == 0 && b.ngpus == 0,
       "an original agent's sample has no depth");
    text = sm_sample_encode(&b);
    ok(strstr(text, "processes") == NULL && strstr(text, "pressure") == NULL,
       "and none is encoded");
    free(text);
    free(cause);
    /* An empty process list is there (the agent read, nothing was selected). */
    rc = decode("{\"processes\":[]}", &b, &cause);
    ok(rc == SM_OK && (b.have & SM_HAVE_PROCS) && b.nprocs == 0, "empty processes list is there");
    free(cause);
    sm_sample_done(&a);
    sm_sample_done(&b);
}

/* A list of n copies of entry under key. */
static char *
list_of(const char *key, const char *entry_fmt, size_t n)
{
    size_t cap = 64 + n * (strlen(entry_fmt) + 16);
    char *b = sm_xmalloc(cap);
    size_t o = (size_t)snprintf(b, cap, "{\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            b[o++] = ',';
        /* entry_fmt holds "%u" once: the entry's number (keeps names unique) */
        const char *at = strstr(entry_fmt, "%u");
        o += (size_t)snprintf(b + o, cap - o, "%.*s%zu%s", (int)(at - entry_fmt), entry_fmt, i + 1,
                              at + 2);
    }
    snprintf(b + o, cap - o, "]}");
    return b;
}

static void
test_caps(void)
{
    static const struct {
        const char *key, *entry;
        size_t cap;
    } cases[] = {
        {"processes", "{\"pid\":%u,\"name\":\"x\"}", SM_MAX_PROCS},
        {"sensors", "{\"kind\":\"temp\",\"chip\":\"c\",\"label\":\"t%u\",\"celsius\":1}",
         SM_MAX_SENSORS},
        {"cgroups", "{\"kind\":\"service\",\"name\":\"u%u.service\"}", SM_MAX_CGROUPS},
        {"gpus", "{\"name\":\"g\",\"id\":\"%u\"}", SM_MAX_GPUS},
    };
    struct sm_sample s;
    sm_sample_init(&s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *cause = NULL;
        char *t = list_of(cases[i].key, cases[i].entry, cases[i].cap);
        enum sm_rc rc = decode(t, &s, &cause);
        ok(rc == SM_OK, "%s: %zu entries (the cap) pass (%s)", cases[i].key, cases[i].cap,
           cause ? cause : "ok");
        free(cause);
        free(t);
        t = list_of(cases[i].key, cases[i].entry, cases[i].cap + 1);
        rc = decode(t, &s, &cause);
        ok(rc == SM_EINVAL && cause && strncmp(cause, cases[i].key, strlen(cases[i].key)) == 0 &&
               strstr(cause, "more than"),
           "%s: one more is a 400 naming the list (%s)", cases[i].key, cause ? cause : "-");
        free(cause);
        free(t);
    }
    /* The command line cap. */
    char *cmd = sm_xmalloc(SM_CMDLINE_LEN + 64);
    for (size_t len = SM_CMDLINE_LEN - 1; len <= SM_CMDLINE_LEN; len++) {
        char *cause = NULL;
        int o = snprintf(cmd, SM_CMDLINE_LEN + 64, "{\"processes\":[{\"pid\":1,\"name\":\"a\",");
        o += snprintf(cmd + o, SM_CMDLINE_LEN + 64 - (size_t)o, "\"cmdline\":\"");
        memset(cmd + o, 'x', len);
        snprintf(cmd + o + len, 8, "\"}]}");
        enum sm_rc rc = decode(cmd, &s, &cause);
        if (len < SM_CMDLINE_LEN)
            ok(rc == SM_OK, "a command line of %zu bytes passes", len);
        else
            ok(rc == SM_EINVAL && cause &&
                   strcmp(cause, "processes[0].cmdline: longer than 511 "
                                 "bytes") == 0,
               "a command line of %zu bytes is refused naming it (%s)", len, cause ? cause : "-");
        free(cause);
    }
    free(cmd);
    sm_sample_done(&s);
}

static void
test_bad(void)
{
    static const struct {
        const char *json, *cause;
    } cases[] = {
        {"{\"processes\":{}}", "processes: must be an array"},
        {"{\"processes\":[1]}", "processes[0]: must be an object"},
        {"{\"processes\":[{\"name\":\"a\"}]}", "processes[0].pid: missing"},
        {"{\"processes\":[{\"pid\":0,\"name\":\"a\"}]}", "processes[0].pid: must be a whole "},
        {"{\"processes\":[{\"pid\":1.5,\"name\":\"a\"}]}", "processes[0].pid: must be a whole "},
        {"{\"processes\":[{\"pid\":\"1\",\"name\":\"a\"}]}", "processes[0].pid: must be a whole "},
        {"{\"processes\":[{\"pid\":1}]}", "processes[0].name: missing"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"\"}]}", "processes[0].name: must be a non-empty"},
        {"{\"processes\":[{\"pid\":1,\"name\":7}]}", "processes[0].name: must be a non-empty"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\\u001b[2J\"}]}", "processes[0].name: must be a"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\",\"cpu_percent\":-1}]}",
         "processes[0].cpu_percent: must be a number from 0 to 102400"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\",\"rss_bytes\":-5}]}",
         "processes[0].rss_bytes: must be a whole"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\",\"user\":[]}]}", "processes[0].user: must be "},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\",\"state\":\"RS\"}]}",
         "processes[0].state: longer than 1 bytes"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\",\"threads\":true}]}",
         "processes[0].threads: must be a whole"},
        {"{\"processes\":[{\"pid\":1,\"name\":\"a\",\"start_time\":\"x\"}]}",
         "processes[0].start_time: must be a number"},
        {"{\"sensors\":[{\"kind\":\"volt\",\"chip\":\"c\",\"label\":\"l\",\"celsius\":1}]}",
         "sensors[0]: kind must be \"temp\" or \"fan\""},
        {"{\"sensors\":[{\"kind\":\"temp\",\"chip\":\"c\",\"label\":\"l\"}]}",
         "sensors[0]: a temp needs celsius"},
        {"{\"sensors\":[{\"kind\":\"fan\",\"chip\":\"c\",\"label\":\"l\",\"celsius\":3}]}",
         "sensors[0]: a fan needs rpm"},
        {"{\"sensors\":[{\"kind\":\"temp\",\"label\":\"l\",\"celsius\":1}]}",
         "sensors[0].chip: missing"},
        {"{\"sensors\":[{\"kind\":\"temp\",\"chip\":\"c\",\"label\":\"l\",\"celsius\":5000}]}",
         "sensors[0].celsius: must be a number"},
        {"{\"sensors\":[{\"kind\":\"temp\",\"chip\":\"c\",\"label\":\"l\",\"celsius\":1},"
         "{\"kind\":\"temp\",\"chip\":\"c\",\"label\":\"l\",\"celsius\":2}]}",
         "sensors[1]: sensor \"c/l\" appears twice"},
        {"{\"sensors\":[{\"kind\":\"temp\",\"chip\":\"a/b\",\"label\":\"l\",\"celsius\":1}]}",
         "sensors[0]: chip must not contain '/'"},
        {"{\"pressure\":[]}", "pressure: must be an object"},
        {"{\"pressure\":{\"cpu\":1}}", "pressure.cpu: must be an object"},
        {"{\"pressure\":{\"io\":{\"some_avg10\":101}}}",
         "pressure.io.some_avg10: must be a number from 0 to 100"},
        {"{\"pressure\":{\"memory\":{\"full_avg10\":\"0\"}}}",
         "pressure.memory.full_avg10: must be a number"},
        {"{\"cgroups\":[{\"kind\":\"vm\",\"name\":\"x\"}]}", "cgroups[0]: kind must be service"},
        {"{\"cgroups\":[{\"kind\":\"docker\"}]}", "cgroups[0].name: missing"},
        {"{\"cgroups\":[{\"kind\":\"docker\",\"name\":\"a\",\"memory_bytes\":\"1\"}]}",
         "cgroups[0].memory_bytes: must be a whole"},
        {"{\"cgroups\":[{\"kind\":\"docker\",\"name\":\"a\",\"pids\":-1}]}",
         "cgroups[0].pids: must be a whole"},
        {"{\"cgroups\":[{\"kind\":\"docker\",\"name\":\"a\"},{\"kind\":\"lxc\",\"name\":\"a\"}]}",
         "cgroups[1]: name \"a\" appears twice"},
        {"{\"gpus\":7}", "gpus: must be an array"},
        {"{\"gpus\":[{\"id\":\"x\"}]}", "gpus[0].name: missing"},
        {"{\"gpus\":[{\"name\":\"g\",\"busy_percent\":150}]}",
         "gpus[0].busy_percent: must be a number from 0 to 100"},
        {"{\"gpus\":[{\"name\":\"g\",\"memory_used_bytes\":1e300}]}",
         "gpus[0].memory_used_bytes: must be a whole"},
        {"{\"gpus\":[{\"name\":\"g\",\"power_watts\":false}]}", "gpus[0].power_watts: must be"},
        {"{\"gpus\":[{\"name\":\"g\",\"id\":\"1\"},{\"name\":\"h\",\"id\":\"1\"}]}",
         "gpus[1]: GPU \"1\" appears twice"},
    };
    struct sm_sample s;
    sm_sample_init(&s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *cause = NULL;
        enum sm_rc rc = decode(cases[i].json, &s, &cause);
        ok(rc == SM_EINVAL && cause && strncmp(cause, cases[i].cause, strlen(cases[i].cause)) == 0,
           "%s -> %s (got %s)", cases[i].json, cases[i].cause, cause ? cause : "OK");
        free(cause);
    }
    sm_sample_done(&s);
}

static void
test_series(void)
{
    struct sm_sample s;
    struct got g = {.n = 0};
    sm_sample_init(&s);
    fill(&s);
    sm_series_each(&s, 0, collect, &g);
    ok_str(g.text,
           "cpu.usage=5\n"
           "psi.cpu.some_avg10=1.5\n"
           "psi.memory.some_avg10=0.25\n"
           "psi.memory.full_avg10=0.75\n"
           "temp.celsius{sensor=coretemp-isa-0000/Package id 0}=54\n"
           "fan.rpm{sensor=nct6775-isa-0290/fan2}=1200\n"
           "cgroup.cpu_percent{cgroup=nginx.service}=12.5\n"
           "cgroup.memory_bytes{cgroup=nginx.service}=1.04858e+06\n"
           "cgroup.cpu_percent{cgroup=web}=0\n"
           "gpu.busy_percent{gpu=0000:03:00.0}=40\n"
           "gpu.memory_used_bytes{gpu=0000:03:00.0}=1.07374e+09\n"
           "gpu.celsius{gpu=0000:03:00.0}=61\n"
           "gpu.power_watts{gpu=0000:03:00.0}=75.5\n",
           "depth series: absent values make no point, processes make none");
    g.n = 0;
    g.text[0] = '\0';
    sm_series_each(&s, SM_SERIES_LIVE, collect, &g);
    ok(strstr(g.text, "psi.") == NULL && strstr(g.text, "temp.") == NULL,
       "no depth series is LIVE (smtop reads the sample)");
    ok(sm_series_lookup("temp.celsius{sensor=a/b}") != NULL &&
           sm_series_lookup("cgroup.memory_bytes") != NULL,
       "depth series are found by name");
    /* The longest sensor names still make one label "chip/label". */
    struct sm_sample_sensor *t = &s.sensors[0];
    memset(t->chip, 'c', sizeof t->chip - 1);
    memset(t->label, 'l', sizeof t->label - 1);
    g.n = 0;
    g.text[0] = '\0';
    sm_series_each(&s, 0, collect, &g);
    char want[2 * SM_SENSOR_LEN + 32];
    snprintf(want, sizeof want, "{sensor=%.63s/%.63s}=54", t->chip, t->label);
    ok(strstr(g.text, want) != NULL, "longest sensor label kept whole");
    sm_sample_done(&s);
}

/* sm_sample_copy (smtop's model keeps each host's latest sample so): a deep copy that
 * shares no memory with its source, whatever either holds before. */
static void
test_copy(void)
{
    struct sm_sample a, b;
    sm_sample_init(&a);
    sm_sample_init(&b);
    fill(&a);
    sm_sample_add_proc(&b)->pid = 1; /* b's own list, reused by the copy */
    sm_sample_copy(&b, &a);
    ok(b.nprocs == a.nprocs && b.procs != a.procs && b.procs[1].pid == 7,
       "the copy has the processes in memory of its own");
    ok(b.nsensors == a.nsensors && (a.nsensors == 0 || b.sensors != a.sensors), "and the sensors");
    char *ta = sm_sample_encode(&a), *tb = sm_sample_encode(&b);
    ok(strcmp(ta, tb) == 0, "the copy encodes as the original");
    free(ta);
    free(tb);
    sm_sample_clear(&b);
    sm_sample_add_proc(&b)->pid = 9;
    ok(a.nprocs == 2 && a.procs[0].pid == 4242, "changing the copy leaves the original");
    sm_sample_done(&b); /* ASan catches a double free or a leak */
    ok(a.nprocs == 2 && a.procs[1].pid == 7, "the original is intact");
    sm_sample_done(&a);
}

/* sm_sample_procs_json writes what sm_sample_depth_to_json writes for "processes", as
 * valid JSON whatever the strings hold (quotes, backslashes, control bytes, UTF-8). */
static void
test_procs_json(void)
{
    struct sm_sample s;
    sm_sample_init(&s);
    ok(sm_sample_procs_json(&s) == NULL, "procs json: no process list, no text");
    fill(&s);
    struct sm_sample_proc *p = sm_sample_add_proc(&s);
    p->pid = 99;
    snprintf(p->name, sizeof p->name, "a\"b\\c");
    snprintf(p->cmdline, sizeof p->cmdline, "x\ty\x01z \xe2\x9c\x93 \"q\"");
    p->cpu_percent = 0.1 + 0.2;
    p->rss = 9007199254740993LL; /* beyond a double's exact integers */
    char *text = sm_sample_procs_json(&s);
    cJSON *got = text ? cJSON_Parse(text) : NULL;
    cJSON *enc = cJSON_CreateObject();
    sm_sample_depth_to_json(&s, enc);
    /* Through text: the encoder's numbers are raw items, a parse gives numbers. */
    char *enc_text = cJSON_PrintUnformatted(enc);
    cJSON *o = cJSON_Parse(enc_text);
    free(enc_text);
    cJSON_Delete(enc);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(o, "processes");
    ok(got && cJSON_IsArray(got) && cJSON_GetArraySize(got) == 3, "procs json parses: %s",
       text ? text : "(null)");
    /* Compare all but the one whole number a double cannot hold. */
    cJSON *g2 = got ? cJSON_GetArrayItem(got, 2) : NULL;
    const cJSON *rss = g2 ? cJSON_GetObjectItemCaseSensitive(g2, "rss_bytes") : NULL;
    ok(text && strstr(text, "\"rss_bytes\":9007199254740993") != NULL && rss,
       "procs json: whole numbers are exact");
    if (g2)
        cJSON_DeleteItemFromObjectCaseSensitive(g2, "rss_bytes");
    cJSON *w2 = cJSON_GetArrayItem(want, 2);
    cJSON_DeleteItemFromObjectCaseSensitive(w2, "rss_bytes");
    ok(got && cJSON_Compare(got, want, 1), "procs json equals the cJSON encoding");
    const char *cmd =
        g2 ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g2, "cmdline")) : NULL;
    ok(cmd && strcmp(cmd, "x\ty\x01z \xe2\x9c\x93 \"q\"") == 0,
       "procs json: control bytes, quotes and UTF-8 come back as they were");
    cJSON_Delete(got);
    cJSON_Delete(o);
    free(text);
    sm_sample_done(&s);
}

/* The encoder writes numbers itself (not through cJSON's printf): the text of each
 * kind of value, and what decodes from it. */
static void
test_numbers(void)
{
    static const struct {
        double v;
        const char *text;
    } nums[] = {
        {71.7, "\"cpu_percent\":71.7,"},
        {150.25, "\"cpu_percent\":150.25,"},
        {0.004, "\"cpu_percent\":0,"},
        {12, "\"cpu_percent\":12,"},
        {0.05, "\"cpu_percent\":0.05,"},
        {99.999, "\"cpu_percent\":100,"},
        {1796609352.96, "\"start_time\":1796609352.96}"},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        struct sm_sample a, b;
        char *cause = NULL;
        sm_sample_init(&a);
        sm_sample_init(&b);
        a.timestamp = NOW;
        a.have |= SM_HAVE_PROCS;
        struct sm_sample_proc *p = sm_sample_add_proc(&a);
        p->pid = 1;
        snprintf(p->name, sizeof p->name, "x");
        if (strstr(nums[i].text, "start_time"))
            p->start_time = nums[i].v;
        else
            p->cpu_percent = nums[i].v;
        p->rss = 123456789012345678; /* past the 15 digits cJSON prints a double with */
        char *text = sm_sample_encode(&a);
        ok(strstr(text, nums[i].text) != NULL, "%g encodes as %s", nums[i].v, nums[i].text);
        ok(strstr(text, "\"rss_bytes\":123456789012345678") != NULL, "a large whole number exact");
        enum sm_rc rc = decode(text, &b, &cause);
        double back = b.nprocs != 1                        ? (double)NAN
                      : strstr(nums[i].text, "start_time") ? b.procs[0].start_time
                                                           : b.procs[0].cpu_percent;
        ok(rc == SM_OK && b.nprocs == 1 && fabs(back - nums[i].v) < 0.006,
           "%g decodes back within a cent (%s)", nums[i].v, cause ? cause : "ok");
        free(cause);
        free(text);
        sm_sample_done(&a);
        sm_sample_done(&b);
    }
    struct sm_sample a;
    sm_sample_init(&a);
    sm_sample_psi_init(&a);
    a.psi[0][SM_PSI_SOME] = 2.5;
    a.psi[0][SM_PSI_FULL] = 1e14; /* past 1e13: cJSON's own printing */
    char *text = sm_sample_encode(&a);
    ok(strstr(text, "\"some_avg10\":2.5") != NULL &&
           strstr(text, "\"full_avg10\":100000000000000") != NULL,
       "pressure lines; a huge value through cJSON (%s)", text);
    free(text);
    sm_sample_done(&a);
}

int
main(void)
{
    test_procs_json();
    test_numbers();
    test_copy();
    test_round_trip();
    test_caps();
    test_bad();
    test_series();
    return tap_done();
}
