/* test_remote_depth.c: an agent's sample's host depth sections in the collector's types
 * (source_remote_depth_from_sample), absent values left absent, and the per-sample cache
 * of source_remote_depth (a host without a sample or without depth: NULL). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "source_remote_impl.h"
#include "tap.h"
#include "xmalloc.h"

/* A sample as sm_sample_from_json leaves it: two processes (one with every number
 * absent), a temperature, a fan, a sensor of an unknown kind, pressure for memory only,
 * two cgroups (one of a kind this smtop does not know), a GPU without memory figures. */
static void
fill(struct sm_sample *s)
{
    s->timestamp = 1000;
    s->seq = 1;
    s->have |= SM_HAVE_PROCS;
    struct sm_sample_proc *p = sm_sample_add_proc(s);
    p->pid = 42;
    p->ppid = 1;
    snprintf(p->user, sizeof p->user, "www");
    p->state[0] = 'R';
    snprintf(p->name, sizeof p->name, "nginx");
    snprintf(p->cmdline, sizeof p->cmdline, "nginx: worker process");
    p->cpu_percent = 12.5;
    p->rss = 4096;
    p->threads = 3;
    p->start_time = 1700000000;
    p = sm_sample_add_proc(s);
    p->pid = 7;
    snprintf(p->name, sizeof p->name, "bare");
    struct sm_sample_sensor *t = sm_sample_add_sensor(s);
    snprintf(t->kind, sizeof t->kind, "temp");
    snprintf(t->chip, sizeof t->chip, "coretemp-isa-0000");
    snprintf(t->label, sizeof t->label, "Package id 0");
    t->celsius = 54;
    t->crit = 100;
    t = sm_sample_add_sensor(s);
    snprintf(t->kind, sizeof t->kind, "fan");
    snprintf(t->chip, sizeof t->chip, "nct6775-isa-0290");
    snprintf(t->label, sizeof t->label, "fan2");
    t->rpm = 1200;
    t = sm_sample_add_sensor(s);
    snprintf(t->kind, sizeof t->kind, "volt");
    snprintf(t->chip, sizeof t->chip, "x");
    snprintf(t->label, sizeof t->label, "in0");
    t->celsius = 1;
    sm_sample_psi_init(s);
    s->psi[1][SM_PSI_SOME] = 3.5;
    struct sm_sample_cgroup *g = sm_sample_add_cgroup(s);
    snprintf(g->kind, sizeof g->kind, "docker");
    snprintf(g->name, sizeof g->name, "web");
    g->cpu_percent = 5;
    g->mem_bytes = 1 << 20;
    g = sm_sample_add_cgroup(s);
    snprintf(g->kind, sizeof g->kind, "nspawn");
    snprintf(g->name, sizeof g->name, "odd");
    struct sm_sample_gpu *u = sm_sample_add_gpu(s);
    snprintf(u->vendor, sizeof u->vendor, "amd");
    snprintf(u->name, sizeof u->name, "Radeon");
    u->busy_percent = 37;
    u->mem_used = 1024; /* without mem_total: no memory figures */
    u->temp_c = 52;
}

int
main(void)
{
    struct sm_sample s;
    sm_sample_init(&s);
    fill(&s);
    struct sm_depth_sample d;
    sm_depth_sample_init(&d);
    source_remote_depth_from_sample(&s, &d);
    unsigned all = 1u << SM_DEPTH_PROCS | 1u << SM_DEPTH_SENSORS | 1u << SM_DEPTH_PSI |
                   1u << SM_DEPTH_CGROUPS | 1u << SM_DEPTH_GPUS;
    ok(d.have == all, "every family carried is there (have %#x)", d.have);

    ok(d.procs.n == 2, "two processes");
    const struct sm_proc *p = &d.procs.v[0];
    ok(p->pid == 42 && p->ppid == 1 && strcmp(p->user, "www") == 0 && p->state == 'R' &&
           strcmp(p->comm, "nginx") == 0 && strcmp(p->cmdline, "nginx: worker process") == 0,
       "a process's names and ids");
    ok(p->cpu_percent == 12.5 && p->rss == 4096 && p->threads == 3 && p->start_time == 1700000000,
       "a process's figures");
    ok(p->cpu_seconds < 0, "CPU time unknown (not on the wire)");
    ok(!p->have_io, "no IO rates sent: none");
    p = &d.procs.v[1];
    ok(p->ppid == 0 && p->state == '?' && strcmp(p->user, "?") == 0 && p->cpu_percent == 0 &&
           p->rss == 0 && p->threads == 0 && p->start_time == 0 && !p->have_cmdline,
       "absent numbers of a process read as unknown, not garbage");

    ok(d.sensors.n == 2, "a sensor of an unknown kind is left out (%zu)", d.sensors.n);
    ok(d.sensors.v[0].kind == SM_SENSOR_TEMP && d.sensors.v[0].value == 54 &&
           !d.sensors.v[0].have_high && d.sensors.v[0].have_crit && d.sensors.v[0].crit == 100,
       "temperature with its critical limit only");
    ok(d.sensors.v[1].kind == SM_SENSOR_FAN && d.sensors.v[1].value == 1200 &&
           strcmp(d.sensors.v[1].label, "fan2") == 0,
       "fan in RPM");

    ok(!d.psi.have[SM_PSI_CPU] && d.psi.have[SM_PSI_MEMORY] && !d.psi.have[SM_PSI_IO] &&
           d.psi.res[SM_PSI_MEMORY].have_some && !d.psi.res[SM_PSI_MEMORY].have_full &&
           d.psi.res[SM_PSI_MEMORY].some.avg10 == 3.5,
       "pressure: memory some only");

    ok(d.cgroups.n == 2 && d.cgroups.v[0].kind == SM_CGROUP_DOCKER && d.cgroups.v[0].have_mem &&
           d.cgroups.v[0].mem_bytes == 1 << 20 && !d.cgroups.v[0].have_io &&
           !d.cgroups.v[0].have_pids && d.cgroups.v[0].path[0] == 0,
       "a container: its memory, no IO or task count sent, no path");
    ok(d.cgroups.v[1].kind == SM_CGROUP_SERVICE && strcmp(d.cgroups.v[1].name, "odd") == 0,
       "a cgroup kind this smtop does not know is kept, as a service");

    ok(d.gpus.n == 1 && (d.gpus.v[0].have & SM_GPU_HAVE_BUSY) &&
           (d.gpus.v[0].have & SM_GPU_HAVE_TEMP) && !(d.gpus.v[0].have & SM_GPU_HAVE_MEM) &&
           !(d.gpus.v[0].have & SM_GPU_HAVE_POWER),
       "GPU: busy and temperature, no memory without its total, no power");

    /* A sample of the original agent: nothing. Lists emptied, capacity kept. */
    struct sm_sample old;
    sm_sample_init(&old);
    old.have = SM_HAVE_CPU;
    source_remote_depth_from_sample(&old, &d);
    ok(d.have == 0 && d.procs.n == 0 && d.sensors.n == 0 && d.cgroups.n == 0 && d.gpus.n == 0,
       "a sample without depth: no family");

    /* The cache of the viewed host. */
    struct source_remote src;
    memset(&src, 0, sizeof src);
    src.m = model_new(600);
    sm_depth_sample_init(&src.depth.d);
    unsigned long g1 = 0, g2 = 0, g3 = 0;
    ok(source_remote_depth(&src, 5, &g1) == NULL, "an unknown host: NULL");
    model_add_sample(src.m, 5, &s);
    const struct sm_depth_sample *r = source_remote_depth(&src, 5, &g1);
    ok(r != NULL && r->procs.n == 2, "the host's latest sample, converted");
    ok(source_remote_depth(&src, 5, &g2) == r && g2 == g1, "the same sample: not again");
    s.timestamp = 1001;
    s.seq = 2;
    s.procs[0].cpu_percent = 99;
    model_add_sample(src.m, 5, &s);
    r = source_remote_depth(&src, 5, &g3);
    ok(r != NULL && g3 != g1 && r->procs.v[0].cpu_percent == 99,
       "a newer sample: a new generation");
    old.timestamp = 1000;
    model_add_sample(src.m, 6, &old);
    ok(source_remote_depth(&src, 6, NULL) == NULL, "a host whose sample has no depth: NULL");
    r = source_remote_depth(&src, 5, &g1);
    ok(r != NULL && r->procs.n == 2 && g1 != g3, "back to the first host: converted again");

    sm_depth_sample_done(&src.depth.d);
    model_free(src.m);
    sm_depth_sample_done(&d);
    sm_sample_done(&old);
    sm_sample_done(&s);
    return tap_done();
}
