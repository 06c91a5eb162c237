/* depth_fill.c: a host depth read into a sample (see depth_fill.h). */
#include "config.h"

#include "depth_fill.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../xmalloc.h"

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned min;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Copy src into dst[size] as valid UTF-8 without control bytes (the server refuses a
 * sample holding either): each invalid byte becomes '?', and the copy is cut at a
 * character boundary. The readers sanitize already; this keeps one bad name from
 * costing the whole sample. */
static void
copy_utf8(char *dst, size_t size, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    while (*s != '\0') {
        size_t n = utf8_len(s);
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
            if (o + 1 >= size)
                break;
            dst[o++] = '?';
            s++;
            continue;
        }
        if (o + n >= size)
            break;
        memcpy(dst + o, s, n);
        o += n;
        s += n;
    }
    dst[o] = '\0';
}

static void
fill_procs(const struct sm_proc_list *l, struct sm_sample *s, size_t *dropped)
{
    s->have |= SM_HAVE_PROCS;
    for (size_t i = 0; i < l->n; i++) {
        const struct sm_proc *p = &l->v[i];
        if (s->nprocs == SM_MAX_PROCS) {
            *dropped += l->n - i;
            return;
        }
        struct sm_sample_proc *e = sm_sample_add_proc(s);
        e->pid = p->pid;
        e->ppid = p->ppid;
        copy_utf8(e->user, sizeof e->user, p->user);
        e->state[0] = (p->state > 0x20 && p->state < 0x7f) ? p->state : '?';
        copy_utf8(e->name, sizeof e->name, p->comm[0] ? p->comm : "?");
        copy_utf8(e->cmdline, sizeof e->cmdline, p->cmdline);
        e->cpu_percent = p->cpu_percent;
        e->rss = (int64_t)(p->rss > INT64_MAX ? INT64_MAX : p->rss);
        e->threads = p->threads;
        if (p->have_io) {
            e->read_bps = p->read_bps;
            e->write_bps = p->write_bps;
        }
        if (p->start_time > 0)
            e->start_time = p->start_time;
    }
}

static void
fill_sensors(const struct sm_sensor_list *l, struct sm_sample *s, size_t *dropped)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct sm_sensor *p = &l->v[i];
        int dup = s->nsensors == SM_MAX_SENSORS || p->chip[0] == '\0' || p->label[0] == '\0' ||
                  strchr(p->chip, '/') != NULL;
        for (size_t j = 0; !dup && j < s->nsensors; j++)
            dup = strcmp(s->sensors[j].chip, p->chip) == 0 &&
                  strcmp(s->sensors[j].label, p->label) == 0;
        if (dup || !isfinite(p->value)) {
            (*dropped)++;
            continue;
        }
        struct sm_sample_sensor *e = sm_sample_add_sensor(s);
        int temp = p->kind == SM_SENSOR_TEMP;
        sm_strlcpy(e->kind, temp ? "temp" : "fan", sizeof e->kind);
        copy_utf8(e->chip, sizeof e->chip, p->chip);
        copy_utf8(e->label, sizeof e->label, p->label);
        if (temp) {
            e->celsius = p->value;
            if (p->have_high)
                e->high = p->high;
            if (p->have_crit)
                e->crit = p->crit;
        } else {
            e->rpm = p->value;
        }
    }
}

/* The busiest first, for the cut at SM_MAX_CGROUPS. */
static int
by_cpu(const void *a, const void *b)
{
    double x = (*(const struct sm_cgroup *const *)a)->cpu_percent;
    double y = (*(const struct sm_cgroup *const *)b)->cpu_percent;
    return (y > x) - (y < x);
}

static int
cgroup_named(const struct sm_sample *s, const char *name)
{
    for (size_t j = 0; j < s->ncgroups; j++)
        if (strcmp(s->cgroups[j].name, name) == 0)
            return 1;
    return 0;
}

static void
fill_cgroups(const struct sm_cgroup_list *l, struct sm_sample *s, size_t *dropped)
{
    if (l->n == 0)
        return;
    const struct sm_cgroup **v = sm_xreallocarray(NULL, l->n, sizeof *v);
    for (size_t i = 0; i < l->n; i++)
        v[i] = &l->v[i];
    if (l->n > SM_MAX_CGROUPS)
        qsort(v, l->n, sizeof *v, by_cpu);
    *dropped += l->ntruncated;
    for (size_t i = 0; i < l->n; i++) {
        const struct sm_cgroup *p = v[i];
        const char *name = p->name;
        if (cgroup_named(s, name)) /* a unit of the same name in another slice */
            name = p->path;
        if (s->ncgroups == SM_MAX_CGROUPS || name[0] == '\0' || strlen(name) >= SM_DEPTH_NAME_LEN ||
            cgroup_named(s, name)) {
            (*dropped)++;
            continue;
        }
        struct sm_sample_cgroup *e = sm_sample_add_cgroup(s);
        sm_strlcpy(e->kind, sm_cgroup_kind_name(p->kind), sizeof e->kind);
        copy_utf8(e->name, sizeof e->name, name);
        e->cpu_percent = p->cpu_percent;
        if (p->have_mem)
            e->mem_bytes = (int64_t)(p->mem_bytes > INT64_MAX ? INT64_MAX : p->mem_bytes);
        if (p->have_io) {
            e->read_bps = p->read_bps;
            e->write_bps = p->write_bps;
        }
        if (p->have_pids)
            e->pids = (int64_t)p->pids;
    }
    free(v);
}

static void
fill_gpus(const struct sm_gpu_list *l, struct sm_sample *s, size_t *dropped)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct sm_gpu *p = &l->v[i];
        if (s->ngpus == SM_MAX_GPUS || p->name[0] == '\0') {
            (*dropped)++;
            continue;
        }
        struct sm_sample_gpu *e = sm_sample_add_gpu(s);
        copy_utf8(e->vendor, sizeof e->vendor, p->vendor);
        copy_utf8(e->name, sizeof e->name, p->name);
        copy_utf8(e->id, sizeof e->id, p->id);
        if (p->have & SM_GPU_HAVE_BUSY)
            e->busy_percent = p->busy_percent < 0     ? 0
                              : p->busy_percent > 100 ? 100
                                                      : p->busy_percent;
        if (p->have & SM_GPU_HAVE_MEM) {
            e->mem_used = (int64_t)(p->mem_used > INT64_MAX ? INT64_MAX : p->mem_used);
            e->mem_total = (int64_t)(p->mem_total > INT64_MAX ? INT64_MAX : p->mem_total);
        }
        if (p->have & SM_GPU_HAVE_TEMP)
            e->temp_c = p->temp_c;
        if (p->have & SM_GPU_HAVE_POWER)
            e->power_w = p->power_w;
        if (p->have & SM_GPU_HAVE_CLOCKS) {
            e->clock_core_mhz = p->clock_core_mhz;
            e->clock_mem_mhz = p->clock_mem_mhz;
        }
    }
}

size_t
sm_depth_fill(const struct sm_depth_sample *d, struct sm_sample *s)
{
    size_t dropped = 0;
    if (d->have & (1u << SM_DEPTH_PROCS))
        fill_procs(&d->procs, s, &dropped);
    if (d->have & (1u << SM_DEPTH_SENSORS))
        fill_sensors(&d->sensors, s, &dropped);
    if (d->have & (1u << SM_DEPTH_PSI)) {
        sm_sample_psi_init(s);
        for (int r = 0; r < SM_PSI_COUNT && r < 3; r++) {
            const struct sm_psi_res *p = &d->psi.res[r];
            if (!d->psi.have[r])
                continue;
            if (p->have_some)
                s->psi[r][SM_PSI_SOME] = p->some.avg10;
            if (p->have_full)
                s->psi[r][SM_PSI_FULL] = p->full.avg10;
        }
    }
    if (d->have & (1u << SM_DEPTH_CGROUPS))
        fill_cgroups(&d->cgroups, s, &dropped);
    if (d->have & (1u << SM_DEPTH_GPUS))
        fill_gpus(&d->gpus, s, &dropped);
    return dropped;
}
