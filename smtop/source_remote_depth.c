/* source_remote_depth.c: an agent's latest sample's host depth sections (processes,
 * sensors, pressure, cgroups, GPUs) in the collector's types (collect/depth.h), so the
 * host and services views draw a remote host as they draw this machine. */
#include "config.h"

#include "source_remote.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "source_remote_impl.h"
#include "xmalloc.h"

/* A finite value, or def. */
static double
num(double v, double def)
{
    return isfinite(v) ? v : def;
}

static void
procs_from(const struct sm_sample *s, struct sm_proc_list *l)
{
    l->n = 0;
    l->nskipped = 0;
    if (s->nprocs == 0)
        return;
    l->v = sm_xgrow(l->v, &l->cap, s->nprocs, sizeof *l->v);
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct sm_sample_proc *e = &s->procs[i];
        struct sm_proc *p = &l->v[l->n++];
        memset(p, 0, sizeof *p);
        p->pid = (int32_t)e->pid;
        p->ppid = e->ppid > 0 ? (int32_t)e->ppid : 0;
        sm_strlcpy(p->user, e->user[0] ? e->user : "?", sizeof p->user);
        p->state = e->state[0] ? e->state[0] : '?';
        sm_strlcpy(p->comm, e->name, sizeof p->comm);
        sm_strlcpy(p->cmdline, e->cmdline, sizeof p->cmdline);
        p->have_cmdline = e->cmdline[0] != '\0';
        p->cpu_percent = num(e->cpu_percent, 0);
        p->cpu_seconds = -1; /* not on the wire: the TIME+ column shows "–" */
        p->rss = e->rss > 0 ? (uint64_t)e->rss : 0;
        p->rss_exact = 1;
        p->threads = e->threads > 0 ? (uint32_t)e->threads : 0;
        p->have_io = isfinite(e->read_bps) || isfinite(e->write_bps);
        p->read_bps = num(e->read_bps, 0);
        p->write_bps = num(e->write_bps, 0);
        p->start_time = num(e->start_time, 0);
    }
}

static void
sensors_from(const struct sm_sample *s, struct sm_sensor_list *l)
{
    l->n = 0;
    if (s->nsensors == 0)
        return;
    l->v = sm_xgrow(l->v, &l->cap, s->nsensors, sizeof *l->v);
    for (size_t i = 0; i < s->nsensors; i++) {
        const struct sm_sample_sensor *e = &s->sensors[i];
        int temp = strcmp(e->kind, "temp") == 0;
        double v = temp ? e->celsius : e->rpm;
        if (!isfinite(v) || (!temp && strcmp(e->kind, "fan") != 0))
            continue;
        struct sm_sensor *p = &l->v[l->n++];
        memset(p, 0, sizeof *p);
        p->kind = temp ? SM_SENSOR_TEMP : SM_SENSOR_FAN;
        sm_strlcpy(p->chip, e->chip, sizeof p->chip);
        sm_strlcpy(p->label, e->label, sizeof p->label);
        p->value = v;
        p->have_high = temp && isfinite(e->high);
        p->high = p->have_high ? e->high : 0;
        p->have_crit = temp && isfinite(e->crit);
        p->crit = p->have_crit ? e->crit : 0;
    }
}

static void
psi_from(const struct sm_sample *s, struct sm_psi *p)
{
    memset(p, 0, sizeof *p);
    for (int r = 0; r < SM_PSI_COUNT && r < 3; r++) {
        struct sm_psi_res *x = &p->res[r];
        x->have_some = isfinite(s->psi[r][SM_PSI_SOME]);
        x->have_full = isfinite(s->psi[r][SM_PSI_FULL]);
        if (x->have_some)
            x->some.avg10 = s->psi[r][SM_PSI_SOME];
        if (x->have_full)
            x->full.avg10 = s->psi[r][SM_PSI_FULL];
        p->have[r] = x->have_some || x->have_full;
    }
}

static enum sm_cgroup_kind
cgroup_kind(const char *name)
{
    static const enum sm_cgroup_kind kinds[] = {
        SM_CGROUP_SERVICE, SM_CGROUP_DOCKER, SM_CGROUP_PODMAN, SM_CGROUP_CONTAINERD, SM_CGROUP_LXC};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(sm_cgroup_kind_name(kinds[i]), name) == 0)
            return kinds[i];
    return SM_CGROUP_SERVICE;
}

static void
cgroups_from(const struct sm_sample *s, struct sm_cgroup_list *l)
{
    l->n = 0;
    l->ntruncated = 0;
    if (s->ncgroups == 0)
        return;
    l->v = sm_xgrow(l->v, &l->cap, s->ncgroups, sizeof *l->v);
    for (size_t i = 0; i < s->ncgroups; i++) {
        const struct sm_sample_cgroup *e = &s->cgroups[i];
        struct sm_cgroup *g = &l->v[l->n++];
        memset(g, 0, sizeof *g);
        g->kind = cgroup_kind(e->kind);
        sm_strlcpy(g->name, e->name, sizeof g->name);
        g->named = 1;
        /* The agent sends no path: the services view's Cgroup column stays empty. */
        g->cpu_percent = num(e->cpu_percent, 0);
        g->have_mem = e->mem_bytes >= 0;
        g->mem_bytes = g->have_mem ? (uint64_t)e->mem_bytes : 0;
        g->have_io = isfinite(e->read_bps) || isfinite(e->write_bps);
        g->read_bps = num(e->read_bps, 0);
        g->write_bps = num(e->write_bps, 0);
        g->have_pids = e->pids >= 0;
        g->pids = g->have_pids ? (uint64_t)e->pids : 0;
    }
}

static void
gpus_from(const struct sm_sample *s, struct sm_gpu_list *l)
{
    l->n = 0;
    for (size_t i = 0; i < s->ngpus && l->n < SM_GPU_MAX; i++) {
        const struct sm_sample_gpu *e = &s->gpus[i];
        struct sm_gpu *g = &l->v[l->n++];
        memset(g, 0, sizeof *g);
        sm_strlcpy(g->vendor, e->vendor, sizeof g->vendor);
        sm_strlcpy(g->name, e->name, sizeof g->name);
        sm_strlcpy(g->id, e->id, sizeof g->id);
        if (isfinite(e->busy_percent)) {
            g->have |= SM_GPU_HAVE_BUSY;
            g->busy_percent = e->busy_percent;
        }
        if (e->mem_used >= 0 && e->mem_total >= 0) {
            g->have |= SM_GPU_HAVE_MEM;
            g->mem_used = (uint64_t)e->mem_used;
            g->mem_total = (uint64_t)e->mem_total;
        }
        if (isfinite(e->temp_c)) {
            g->have |= SM_GPU_HAVE_TEMP;
            g->temp_c = e->temp_c;
        }
        if (isfinite(e->power_w)) {
            g->have |= SM_GPU_HAVE_POWER;
            g->power_w = e->power_w;
        }
        if (isfinite(e->clock_core_mhz) && isfinite(e->clock_mem_mhz)) {
            g->have |= SM_GPU_HAVE_CLOCKS;
            g->clock_core_mhz = e->clock_core_mhz;
            g->clock_mem_mhz = e->clock_mem_mhz;
        }
    }
}

void
source_remote_depth_from_sample(const struct sm_sample *s, struct sm_depth_sample *d)
{
    d->have = 0;
    procs_from(s, &d->procs);
    if (s->have & SM_HAVE_PROCS)
        d->have |= 1u << SM_DEPTH_PROCS;
    sensors_from(s, &d->sensors);
    if (d->sensors.n > 0)
        d->have |= 1u << SM_DEPTH_SENSORS;
    psi_from(s, &d->psi);
    if ((s->have & SM_HAVE_PSI) &&
        (d->psi.have[SM_PSI_CPU] || d->psi.have[SM_PSI_MEMORY] || d->psi.have[SM_PSI_IO]))
        d->have |= 1u << SM_DEPTH_PSI;
    cgroups_from(s, &d->cgroups);
    if (d->cgroups.n > 0)
        d->have |= 1u << SM_DEPTH_CGROUPS;
    gpus_from(s, &d->gpus);
    if (d->gpus.n > 0)
        d->have |= 1u << SM_DEPTH_GPUS;
}

const struct sm_depth_sample *
source_remote_depth(struct source_remote *src, int host_id, unsigned long *gen)
{
    struct remote_depth *rd = &src->depth;
    const struct model_host *h = model_host_find(src->m, host_id);
    if (h == NULL || !h->have_last) {
        rd->valid = 0;
        return NULL;
    }
    if (!rd->valid || rd->host_id != host_id || rd->timestamp != h->last.timestamp ||
        rd->seq != h->last.seq) {
        source_remote_depth_from_sample(&h->last, &rd->d);
        rd->valid = 1;
        rd->host_id = host_id;
        rd->timestamp = h->last.timestamp;
        rd->seq = h->last.seq;
        rd->gen++;
    }
    if (gen)
        *gen = rd->gen;
    return rd->d.have ? &rd->d : NULL;
}
