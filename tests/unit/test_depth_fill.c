/* test_depth_fill.c: a host depth read put into a sample (lib/collect/depth_fill.c):
 * the caps, unique labels, cut command lines, absent values, and that whatever the
 * agent builds the server's decoder accepts. */
#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/depth_fill.h"
#include "json.h"
#include "sample.h"
#include "tap.h"
#include "xmalloc.h"

static void
add_proc(struct sm_proc_list *l, int pid, double cpu)
{
    l->v = sm_xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    struct sm_proc *p = &l->v[l->n++];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->ppid = 1;
    snprintf(p->user, sizeof p->user, "root");
    p->state = 'S';
    snprintf(p->comm, sizeof p->comm, "p%d", pid);
    p->cpu_percent = cpu;
    p->rss = 4096u * (unsigned)pid;
    p->threads = 1;
    p->start_time = 1764000000;
}

static void
add_sensor(struct sm_sensor_list *l, enum sm_sensor_kind k, const char *chip, const char *label,
           double v)
{
    l->v = sm_xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    struct sm_sensor *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    s->kind = k;
    snprintf(s->chip, sizeof s->chip, "%s", chip);
    snprintf(s->label, sizeof s->label, "%s", label);
    s->value = v;
}

static struct sm_cgroup *
add_cgroup(struct sm_cgroup_list *l, const char *name, const char *path, double cpu)
{
    l->v = sm_xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    struct sm_cgroup *c = &l->v[l->n++];
    memset(c, 0, sizeof *c);
    c->kind = SM_CGROUP_SERVICE;
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->cpu_percent = cpu;
    return c;
}

/* Encode s and decode it as the server does: SM_OK. */
static int
server_takes(const struct sm_sample *s)
{
    char *text = sm_sample_encode(s), *cause = NULL;
    cJSON *v = NULL;
    struct sm_sample t;
    sm_sample_init(&t);
    enum sm_rc rc = sm_json_parse(text, strlen(text), SM_JSON_MAX_DEPTH, &v, &cause);
    if (rc == SM_OK)
        rc = sm_sample_from_json(v, s->timestamp + 1, &t, &cause);
    if (rc != SM_OK)
        diag("refused: %s", cause ? cause : "?");
    free(cause);
    cJSON_Delete(v);
    free(text);
    sm_sample_done(&t);
    return rc == SM_OK;
}

int
main(void)
{
    struct sm_depth_sample d;
    struct sm_sample s;
    sm_depth_sample_init(&d);
    sm_sample_init(&s);
    s.timestamp = 1764064800;
    d.have = 0x1f;

    for (int i = 0; i < SM_MAX_PROCS + 6; i++)
        add_proc(&d.procs, i + 1, 100.0 - i);
    struct sm_proc *p = &d.procs.v[0];
    /* 509 ASCII bytes and the first 2 bytes of a 3-byte character (a reader that cut
     * it badly): the broken tail becomes "??", never invalid UTF-8. */
    memset(p->cmdline, 'a', 509);
    memcpy(p->cmdline + 509, "\xe2\x82", 3);
    snprintf(d.procs.v[2].comm, sizeof d.procs.v[2].comm, "bad\xff\x01name");
    p->state = '\x1b';
    d.procs.v[1].have_io = 1;
    d.procs.v[1].read_bps = 2048;

    add_sensor(&d.sensors, SM_SENSOR_TEMP, "coretemp-isa-0000", "Core 0", 50);
    d.sensors.v[0].have_crit = 1;
    d.sensors.v[0].crit = 100;
    add_sensor(&d.sensors, SM_SENSOR_TEMP, "coretemp-isa-0000", "Core 0", 51); /* twin */
    add_sensor(&d.sensors, SM_SENSOR_TEMP, "odd/chip", "t", 40);               /* '/' */
    add_sensor(&d.sensors, SM_SENSOR_FAN, "nct-isa-0290", "fan1", 900);

    d.psi.have[SM_PSI_CPU] = 1;
    d.psi.res[SM_PSI_CPU].have_some = 1;
    d.psi.res[SM_PSI_CPU].some.avg10 = 2.5;

    struct sm_cgroup *c = add_cgroup(&d.cgroups, "dbus.service", "system.slice/dbus.service", 1);
    c->have_mem = 1;
    c->mem_bytes = 1 << 20;
    add_cgroup(&d.cgroups, "dbus.service",
               "user.slice/user-1000.slice/user@1000.service/dbus.service", 0.5);
    for (int i = 0; i < SM_MAX_CGROUPS; i++) {
        char n[32];
        snprintf(n, sizeof n, "u%d.service", i);
        add_cgroup(&d.cgroups, n, n, 0.001 * i);
    }

    d.gpus.n = 1;
    memset(&d.gpus.v[0], 0, sizeof d.gpus.v[0]);
    snprintf(d.gpus.v[0].vendor, sizeof d.gpus.v[0].vendor, "amd");
    snprintf(d.gpus.v[0].name, sizeof d.gpus.v[0].name, "Radeon");
    snprintf(d.gpus.v[0].id, sizeof d.gpus.v[0].id, "0000:03:00.0");
    d.gpus.v[0].have = SM_GPU_HAVE_BUSY | SM_GPU_HAVE_TEMP;
    d.gpus.v[0].busy_percent = 30;
    d.gpus.v[0].temp_c = 55;
    d.gpus.v[0].mem_total = 999; /* not had: not sent */

    size_t left = sm_depth_fill(&d, &s);
    ok(s.nprocs == SM_MAX_PROCS, "processes capped at %d (got %zu)", SM_MAX_PROCS, s.nprocs);
    ok(strlen(s.procs[0].cmdline) == 511 && strcmp(s.procs[0].cmdline + 509, "??") == 0,
       "a broken character in a command line becomes ? (%zu)", strlen(s.procs[0].cmdline));
    ok_str(s.procs[2].name, "bad??name", "invalid UTF-8 and control bytes in a name become ?");
    ok_str(s.procs[0].state, "?", "a control byte as state becomes ?");
    ok(isnan(s.procs[0].read_bps) && s.procs[1].read_bps == 2048, "IO rates only where read");
    ok(s.nsensors == 2 && s.sensors[0].crit == 100 && isnan(s.sensors[0].high) &&
           s.sensors[1].rpm == 900 && isnan(s.sensors[1].celsius),
       "sensor twin and '/' chip left out; limits only where given");
    ok((s.have & SM_HAVE_PSI) && s.psi[SM_PSI_CPU][SM_PSI_SOME] == 2.5 &&
           isnan(s.psi[SM_PSI_CPU][SM_PSI_FULL]) && isnan(s.psi[SM_PSI_IO][SM_PSI_SOME]),
       "pressure: what was read, the rest absent");
    ok(s.ncgroups == SM_MAX_CGROUPS, "cgroups capped at %d (got %zu)", SM_MAX_CGROUPS, s.ncgroups);
    int by_path = 0, low = 0;
    for (size_t i = 0; i < s.ncgroups; i++) {
        if (strcmp(s.cgroups[i].name, "user.slice/user-1000.slice/user@1000.service/"
                                      "dbus.service") == 0)
            by_path = 1;
        if (strcmp(s.cgroups[i].name, "u0.service") == 0 ||
            strcmp(s.cgroups[i].name, "u1.service") == 0)
            low++;
    }
    ok(by_path, "a second dbus.service is named by its path");
    ok(low == 0, "over the cap, the idlest cgroups are the ones left out");
    ok(s.cgroups[0].mem_bytes == 1 << 20 && s.cgroups[1].mem_bytes == -1,
       "cgroup memory only where the controller is on");
    ok(s.ngpus == 1 && s.gpus[0].busy_percent == 30 && s.gpus[0].mem_total == -1 &&
           isnan(s.gpus[0].power_w),
       "GPU values only where had");
    ok(left == 6 + 2 + 2, "left out counted: 6 processes, 2 sensors, 2 cgroups (got %zu)", left);
    ok(server_takes(&s), "the server's decoder takes what the agent built");

    /* Nothing read: no section at all. */
    sm_sample_clear(&s);
    s.timestamp = 1764064800;
    d.have = 0;
    ok(sm_depth_fill(&d, &s) == 0 && !(s.have & (SM_HAVE_PROCS | SM_HAVE_PSI)) && s.nsensors == 0 &&
           s.ncgroups == 0 && s.ngpus == 0,
       "nothing read: no depth section");
    sm_sample_done(&s);
    sm_depth_sample_done(&d);
    return tap_done();
}
