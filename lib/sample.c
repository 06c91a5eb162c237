/* sample.c: the sample model's storage and its JSON encoding. */
#include "config.h"

#include "sample.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void
sm_sample_init(struct sm_sample *s)
{
    memset(s, 0, sizeof *s);
}

void
sm_sample_done(struct sm_sample *s)
{
    free(s->cpu.cores);
    free(s->fs);
    free(s->disks);
    free(s->net.ifaces);
    sm_sample_init(s);
}

void
sm_sample_clear(struct sm_sample *s)
{
    struct sm_sample keep = *s;
    memset(s, 0, sizeof *s);
    s->cpu.cores = keep.cpu.cores;
    s->fs = keep.fs;
    s->disks = keep.disks;
    s->net.ifaces = keep.net.ifaces;
    s->cores_cap = keep.cores_cap;
    s->fs_cap = keep.fs_cap;
    s->disks_cap = keep.disks_cap;
    s->ifaces_cap = keep.ifaces_cap;
}

struct sm_core *
sm_sample_cores(struct sm_sample *s, size_t n)
{
    s->cpu.cores = sm_xgrow(s->cpu.cores, &s->cores_cap, n, sizeof *s->cpu.cores);
    if (n) /* no cores: cores may still be NULL, and memset(NULL, ...) is undefined */
        memset(s->cpu.cores, 0, n * sizeof *s->cpu.cores);
    s->cpu.ncores = n;
    return s->cpu.cores;
}

struct sm_fs *
sm_sample_add_fs(struct sm_sample *s)
{
    s->fs = sm_xgrow(s->fs, &s->fs_cap, s->nfs + 1, sizeof *s->fs);
    struct sm_fs *f = &s->fs[s->nfs++];
    memset(f, 0, sizeof *f);
    return f;
}

struct sm_disk *
sm_sample_add_disk(struct sm_sample *s)
{
    s->disks = sm_xgrow(s->disks, &s->disks_cap, s->ndisks + 1, sizeof *s->disks);
    struct sm_disk *d = &s->disks[s->ndisks++];
    memset(d, 0, sizeof *d);
    return d;
}

struct sm_iface *
sm_sample_add_iface(struct sm_sample *s)
{
    s->net.ifaces =
        sm_xgrow(s->net.ifaces, &s->ifaces_cap, s->net.nifaces + 1, sizeof *s->net.ifaces);
    struct sm_iface *i = &s->net.ifaces[s->net.nifaces++];
    memset(i, 0, sizeof *i);
    return i;
}

/* Round to 2 decimals so the JSON stays short and stable. */
static double
r2(double v)
{
    if (!isfinite(v))
        return 0;
    return round(v * 100.0) / 100.0;
}

/* Add item under k (to an array when k is NULL); when cJSON cannot (out of memory,
 * or a NULL container) the item is deleted instead of leaked. */
static void
put(cJSON *o, const char *k, cJSON *item)
{
    if (!(k ? cJSON_AddItemToObject(o, k, item) : cJSON_AddItemToArray(o, item)))
        cJSON_Delete(item);
}

static void
add_num(cJSON *o, const char *k, double v)
{
    put(o, k, cJSON_CreateNumber(v));
}

static void
add_u64(cJSON *o, const char *k, uint64_t v)
{
    /* JSON numbers are doubles: exact up to 2^53, far above any byte count we see. */
    put(o, k, cJSON_CreateNumber((double)v));
}

static cJSON *
cpu_to_json(const struct sm_sample *s)
{
    const struct sm_cpu *c = &s->cpu;
    cJSON *o = cJSON_CreateObject();
    add_num(o, "usage_percent", r2(c->usage));
    if (s->have & SM_HAVE_CPU_BREAKDOWN) {
        add_num(o, "user", r2(c->user));
        add_num(o, "system", r2(c->system));
        add_num(o, "iowait", r2(c->iowait));
        add_num(o, "steal", r2(c->steal));
    }
    cJSON *pcu = cJSON_AddArrayToObject(o, "per_core_usage");
    int have_core_freq = 0;
    for (size_t i = 0; i < c->ncores; i++) {
        put(pcu, NULL, cJSON_CreateNumber(r2(c->cores[i].usage)));
        if (c->cores[i].freq_mhz >= 0)
            have_core_freq = 1;
    }
    if (have_core_freq) {
        cJSON *pcf = cJSON_AddArrayToObject(o, "per_core_freq");
        for (size_t i = 0; i < c->ncores; i++)
            put(pcf, NULL,
                c->cores[i].freq_mhz >= 0 ? cJSON_CreateNumber(round(c->cores[i].freq_mhz))
                                          : cJSON_CreateNull());
    }
    if (s->have & SM_HAVE_FREQ) {
        cJSON *f = cJSON_AddObjectToObject(o, "freq");
        add_num(f, "current", round(c->freq_cur));
        add_num(f, "min", round(c->freq_min));
        add_num(f, "max", round(c->freq_max));
    }
    if (s->have & SM_HAVE_LOAD) {
        cJSON *l = cJSON_AddArrayToObject(o, "load_avg");
        for (int i = 0; i < 3; i++)
            put(l, NULL, cJSON_CreateNumber(r2(c->load[i])));
    }
    return o;
}

static cJSON *
mem_to_json(const struct sm_sample *s)
{
    const struct sm_mem *m = &s->mem;
    cJSON *o = cJSON_CreateObject();
    add_u64(o, "total", m->total);
    add_u64(o, "available", m->available);
    add_u64(o, "used", m->used);
    add_u64(o, "free", m->free);
    add_num(o, "used_percent", r2(m->used_percent));
    if (s->have & SM_HAVE_SWAP) {
        add_u64(o, "swap_total", m->swap_total);
        add_u64(o, "swap_used", m->swap_used);
        add_num(o, "swap_percent", r2(m->swap_percent));
    }
    return o;
}

static cJSON *
disk_to_json(const struct sm_sample *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *parts = cJSON_AddArrayToObject(o, "partitions");
    for (size_t i = 0; i < s->nfs; i++) {
        const struct sm_fs *f = &s->fs[i];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "device", f->device);
        cJSON_AddStringToObject(p, "mountpoint", f->mount);
        cJSON_AddStringToObject(p, "fstype", f->fstype);
        add_u64(p, "total", f->total);
        add_u64(p, "used", f->used);
        add_u64(p, "free", f->free);
        add_num(p, "percent", r2(f->percent));
        put(parts, NULL, p);
    }
    if (s->have & SM_HAVE_DISK_IO) {
        cJSON *io = cJSON_AddObjectToObject(o, "io");
        add_num(io, "read_bytes_per_s", round(s->read_bps));
        add_num(io, "write_bytes_per_s", round(s->write_bps));
        cJSON *devs = cJSON_AddArrayToObject(o, "devices");
        for (size_t i = 0; i < s->ndisks; i++) {
            const struct sm_disk *d = &s->disks[i];
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "name", d->name);
            add_num(p, "read_bytes_per_s", round(d->read_bps));
            add_num(p, "write_bytes_per_s", round(d->write_bps));
            add_num(p, "busy_percent", r2(d->busy_percent));
            put(devs, NULL, p);
        }
    }
    return o;
}

static cJSON *
net_to_json(const struct sm_sample *s)
{
    const struct sm_net *n = &s->net;
    cJSON *o = cJSON_CreateObject();
    add_u64(o, "bytes_sent", n->bytes_sent);
    add_u64(o, "bytes_recv", n->bytes_recv);
    add_u64(o, "packets_sent", n->packets_sent);
    add_u64(o, "packets_recv", n->packets_recv);
    add_u64(o, "errin", n->errin);
    add_u64(o, "errout", n->errout);
    add_u64(o, "dropin", n->dropin);
    add_u64(o, "dropout", n->dropout);
    add_num(o, "rx_bytes_per_s", round(n->rx_bps));
    add_num(o, "tx_bytes_per_s", round(n->tx_bps));
    cJSON *ifs = cJSON_AddArrayToObject(o, "interfaces");
    for (size_t i = 0; i < n->nifaces; i++) {
        const struct sm_iface *f = &n->ifaces[i];
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", f->name);
        add_num(p, "rx_bytes_per_s", round(f->rx_bps));
        add_num(p, "tx_bytes_per_s", round(f->tx_bps));
        add_u64(p, "rx_bytes", f->rx_bytes);
        add_u64(p, "tx_bytes", f->tx_bytes);
        put(ifs, NULL, p);
    }
    return o;
}

cJSON *
sm_sample_to_json(const struct sm_sample *s)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "timestamp", round(s->timestamp * 1000.0) / 1000.0);
    add_u64(o, "seq", s->seq);
    if (s->have & SM_HAVE_CPU)
        put(o, "cpu", cpu_to_json(s));
    if (s->have & SM_HAVE_MEM)
        put(o, "memory", mem_to_json(s));
    if (s->nfs > 0 || (s->have & SM_HAVE_DISK_IO))
        put(o, "disk", disk_to_json(s));
    if (s->have & SM_HAVE_NET)
        put(o, "network", net_to_json(s));
    return o;
}

cJSON *
sm_host_to_json(const struct sm_host *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "hostname", h->hostname);
    cJSON_AddStringToObject(o, "os", h->os);
    cJSON_AddStringToObject(o, "kernel", h->kernel);
    cJSON_AddStringToObject(o, "arch", h->arch);
    cJSON_AddStringToObject(o, "cpu_model", h->cpu_model);
    add_num(o, "cores", h->cores);
    add_num(o, "boot_time", (double)h->boot_time);
    cJSON_AddStringToObject(o, "agent_version", h->agent_version);
    return o;
}

char *
sm_sample_encode(const struct sm_sample *s)
{
    cJSON *o = sm_sample_to_json(s);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL)
        abort();
    return text;
}
