/* sample.c: the sample model's storage and its JSON encoding. */
#include "config.h"

#include "sample.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stddef.h>
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
    free(s->procs);
    free(s->sensors);
    free(s->cgroups);
    free(s->gpus);
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
    s->procs = keep.procs;
    s->sensors = keep.sensors;
    s->cgroups = keep.cgroups;
    s->gpus = keep.gpus;
    s->procs_cap = keep.procs_cap;
    s->sensors_cap = keep.sensors_cap;
    s->cgroups_cap = keep.cgroups_cap;
    s->gpus_cap = keep.gpus_cap;
}

/* Copy n entries of size bytes from src into arr (capacity *cap), growing it. */
static void *
copy_list(void *arr, size_t *cap, const void *src, size_t n, size_t size)
{
    if (n == 0)
        return arr;
    arr = sm_xgrow(arr, cap, n, size);
    memcpy(arr, src, n * size);
    return arr;
}

void
sm_sample_copy(struct sm_sample *dst, const struct sm_sample *src)
{
    struct sm_sample keep = *dst; /* dst's arrays, reused */
    *dst = *src;
    dst->cpu.cores = copy_list(keep.cpu.cores, &keep.cores_cap, src->cpu.cores, src->cpu.ncores,
                               sizeof *src->cpu.cores);
    dst->fs = copy_list(keep.fs, &keep.fs_cap, src->fs, src->nfs, sizeof *src->fs);
    dst->disks =
        copy_list(keep.disks, &keep.disks_cap, src->disks, src->ndisks, sizeof *src->disks);
    dst->net.ifaces = copy_list(keep.net.ifaces, &keep.ifaces_cap, src->net.ifaces,
                                src->net.nifaces, sizeof *src->net.ifaces);
    dst->procs =
        copy_list(keep.procs, &keep.procs_cap, src->procs, src->nprocs, sizeof *src->procs);
    dst->sensors = copy_list(keep.sensors, &keep.sensors_cap, src->sensors, src->nsensors,
                             sizeof *src->sensors);
    dst->cgroups = copy_list(keep.cgroups, &keep.cgroups_cap, src->cgroups, src->ncgroups,
                             sizeof *src->cgroups);
    dst->gpus = copy_list(keep.gpus, &keep.gpus_cap, src->gpus, src->ngpus, sizeof *src->gpus);
    dst->cores_cap = keep.cores_cap;
    dst->fs_cap = keep.fs_cap;
    dst->disks_cap = keep.disks_cap;
    dst->ifaces_cap = keep.ifaces_cap;
    dst->procs_cap = keep.procs_cap;
    dst->sensors_cap = keep.sensors_cap;
    dst->cgroups_cap = keep.cgroups_cap;
    dst->gpus_cap = keep.gpus_cap;
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

struct sm_sample_proc *
sm_sample_add_proc(struct sm_sample *s)
{
    s->procs = sm_xgrow(s->procs, &s->procs_cap, s->nprocs + 1, sizeof *s->procs);
    struct sm_sample_proc *p = &s->procs[s->nprocs++];
    memset(p, 0, sizeof *p);
    p->pid = p->ppid = p->rss = p->threads = -1;
    p->cpu_percent = p->read_bps = p->write_bps = p->start_time = (double)NAN;
    return p;
}

struct sm_sample_sensor *
sm_sample_add_sensor(struct sm_sample *s)
{
    s->sensors = sm_xgrow(s->sensors, &s->sensors_cap, s->nsensors + 1, sizeof *s->sensors);
    struct sm_sample_sensor *p = &s->sensors[s->nsensors++];
    memset(p, 0, sizeof *p);
    p->celsius = p->rpm = p->high = p->crit = (double)NAN;
    return p;
}

struct sm_sample_cgroup *
sm_sample_add_cgroup(struct sm_sample *s)
{
    s->cgroups = sm_xgrow(s->cgroups, &s->cgroups_cap, s->ncgroups + 1, sizeof *s->cgroups);
    struct sm_sample_cgroup *p = &s->cgroups[s->ncgroups++];
    memset(p, 0, sizeof *p);
    p->mem_bytes = p->pids = -1;
    p->cpu_percent = p->read_bps = p->write_bps = (double)NAN;
    return p;
}

struct sm_sample_gpu *
sm_sample_add_gpu(struct sm_sample *s)
{
    s->gpus = sm_xgrow(s->gpus, &s->gpus_cap, s->ngpus + 1, sizeof *s->gpus);
    struct sm_sample_gpu *p = &s->gpus[s->ngpus++];
    memset(p, 0, sizeof *p);
    p->mem_used = p->mem_total = -1;
    p->busy_percent = p->temp_c = p->power_w = p->clock_core_mhz = p->clock_mem_mhz = (double)NAN;
    return p;
}

void
sm_sample_psi_init(struct sm_sample *s)
{
    s->have |= SM_HAVE_PSI;
    for (int r = 0; r < 3; r++)
        s->psi[r][SM_PSI_SOME] = s->psi[r][SM_PSI_FULL] = (double)NAN;
}

int
sm_sample_has(const struct sm_sample *s, unsigned have, unsigned miss)
{
    return (s->have & have) == have && (s->missing & miss) == 0;
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
        if (!(s->missing & SM_MISS_FREQ_CUR))
            add_num(f, "current", round(c->freq_cur));
        if (!(s->missing & SM_MISS_FREQ_RANGE)) {
            add_num(f, "min", round(c->freq_min));
            add_num(f, "max", round(c->freq_max));
        }
    }
    if (s->have & SM_HAVE_LOAD) {
        cJSON *l = cJSON_AddArrayToObject(o, "load_avg");
        for (int i = 0; i < 3; i++)
            put(l, NULL, cJSON_CreateNumber(r2(c->load[i])));
    }
    return o;
}

/* How one member of a struct is written: its key, where it is, its form, and the
 * SM_HAVE_* bits the sample needs for it to be written at all. */
enum enc_kind {
    ENC_STR,   /* char[] */
    ENC_U64,   /* uint64_t */
    ENC_R2,    /* double, rounded to 2 decimals */
    ENC_ROUND, /* double, rounded to a whole number (rates, MHz) */
};

struct enc_field {
    const char *key;
    size_t off;
    enum enc_kind kind;
    unsigned need; /* SM_HAVE_* bits */
    unsigned miss; /* SM_MISS_* bit that leaves it out */
};

/* Add the n members of fields, read from base, to o: those whose bits s has and which
 * s does not miss. */
static void
enc_fields(cJSON *o, const void *base, const struct enc_field *fields, size_t n,
           const struct sm_sample *s)
{
    for (size_t i = 0; i < n; i++) {
        const struct enc_field *f = &fields[i];
        const char *p = (const char *)base + f->off;
        if ((s->have & f->need) != f->need || (s->missing & f->miss))
            continue;
        switch (f->kind) {
        case ENC_STR:
            put(o, f->key, cJSON_CreateString(p));
            break;
        case ENC_U64:
            add_u64(o, f->key, *(const uint64_t *)(const void *)p);
            break;
        case ENC_R2:
            add_num(o, f->key, r2(*(const double *)(const void *)p));
            break;
        case ENC_ROUND:
            add_num(o, f->key, round(*(const double *)(const void *)p));
            break;
        }
    }
}

#define NFIELDS(a) (sizeof(a) / sizeof(a)[0])

static const struct enc_field mem_fields[] = {
    {"total", offsetof(struct sm_mem, total), ENC_U64, 0, SM_MISS_MEM_TOTAL},
    {"available", offsetof(struct sm_mem, available), ENC_U64, 0, SM_MISS_MEM_AVAILABLE},
    {"used", offsetof(struct sm_mem, used), ENC_U64, 0, SM_MISS_MEM_USED},
    {"free", offsetof(struct sm_mem, free), ENC_U64, 0, SM_MISS_MEM_FREE},
    {"used_percent", offsetof(struct sm_mem, used_percent), ENC_R2, 0, SM_MISS_MEM_PERCENT},
    {"swap_total", offsetof(struct sm_mem, swap_total), ENC_U64, SM_HAVE_SWAP, SM_MISS_SWAP_TOTAL},
    {"swap_used", offsetof(struct sm_mem, swap_used), ENC_U64, SM_HAVE_SWAP, SM_MISS_SWAP_USED},
    {"swap_percent", offsetof(struct sm_mem, swap_percent), ENC_R2, SM_HAVE_SWAP,
     SM_MISS_SWAP_PERCENT},
};

static const struct enc_field fs_fields[] = {
    {"device", offsetof(struct sm_fs, device), ENC_STR, 0, 0},
    {"mountpoint", offsetof(struct sm_fs, mount), ENC_STR, 0, 0},
    {"fstype", offsetof(struct sm_fs, fstype), ENC_STR, 0, 0},
    {"total", offsetof(struct sm_fs, total), ENC_U64, 0, 0},
    {"used", offsetof(struct sm_fs, used), ENC_U64, 0, 0},
    {"free", offsetof(struct sm_fs, free), ENC_U64, 0, 0},
    {"percent", offsetof(struct sm_fs, percent), ENC_R2, 0, 0},
};

static const struct enc_field disk_fields[] = {
    {"name", offsetof(struct sm_disk, name), ENC_STR, 0, 0},
    {"read_bytes_per_s", offsetof(struct sm_disk, read_bps), ENC_ROUND, 0, 0},
    {"write_bytes_per_s", offsetof(struct sm_disk, write_bps), ENC_ROUND, 0, 0},
    {"busy_percent", offsetof(struct sm_disk, busy_percent), ENC_R2, 0, 0},
};

static const struct enc_field net_fields[] = {
    {"bytes_sent", offsetof(struct sm_net, bytes_sent), ENC_U64, 0, SM_MISS_NET_BYTES_SENT},
    {"bytes_recv", offsetof(struct sm_net, bytes_recv), ENC_U64, 0, SM_MISS_NET_BYTES_RECV},
    {"packets_sent", offsetof(struct sm_net, packets_sent), ENC_U64, 0, SM_MISS_NET_PACKETS_SENT},
    {"packets_recv", offsetof(struct sm_net, packets_recv), ENC_U64, 0, SM_MISS_NET_PACKETS_RECV},
    {"errin", offsetof(struct sm_net, errin), ENC_U64, 0, SM_MISS_NET_ERRIN},
    {"errout", offsetof(struct sm_net, errout), ENC_U64, 0, SM_MISS_NET_ERROUT},
    {"dropin", offsetof(struct sm_net, dropin), ENC_U64, 0, SM_MISS_NET_DROPIN},
    {"dropout", offsetof(struct sm_net, dropout), ENC_U64, 0, SM_MISS_NET_DROPOUT},
    {"rx_bytes_per_s", offsetof(struct sm_net, rx_bps), ENC_ROUND, 0, SM_MISS_NET_RX_RATE},
    {"tx_bytes_per_s", offsetof(struct sm_net, tx_bps), ENC_ROUND, 0, SM_MISS_NET_TX_RATE},
};

static const struct enc_field iface_fields[] = {
    {"name", offsetof(struct sm_iface, name), ENC_STR, 0, 0},
    {"rx_bytes_per_s", offsetof(struct sm_iface, rx_bps), ENC_ROUND, 0, 0},
    {"tx_bytes_per_s", offsetof(struct sm_iface, tx_bps), ENC_ROUND, 0, 0},
    {"rx_bytes", offsetof(struct sm_iface, rx_bytes), ENC_U64, 0, 0},
    {"tx_bytes", offsetof(struct sm_iface, tx_bytes), ENC_U64, 0, 0},
};

/* An array under key of n objects, entry i at base + i * size. */
static void
enc_array(cJSON *o, const char *key, const void *base, size_t n, size_t size,
          const struct enc_field *fields, size_t nfields, const struct sm_sample *s)
{
    cJSON *arr = cJSON_AddArrayToObject(o, key);
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        enc_fields(p, (const char *)base + i * size, fields, nfields, s);
        put(arr, NULL, p);
    }
}

static cJSON *
mem_to_json(const struct sm_sample *s)
{
    cJSON *o = cJSON_CreateObject();
    enc_fields(o, &s->mem, mem_fields, NFIELDS(mem_fields), s);
    return o;
}

static cJSON *
disk_to_json(const struct sm_sample *s)
{
    cJSON *o = cJSON_CreateObject();
    enc_array(o, "partitions", s->fs, s->nfs, sizeof *s->fs, fs_fields, NFIELDS(fs_fields), s);
    if (s->have & SM_HAVE_DISK_IO) {
        cJSON *io = cJSON_AddObjectToObject(o, "io");
        if (!(s->missing & SM_MISS_DISK_READ))
            add_num(io, "read_bytes_per_s", round(s->read_bps));
        if (!(s->missing & SM_MISS_DISK_WRITE))
            add_num(io, "write_bytes_per_s", round(s->write_bps));
        enc_array(o, "devices", s->disks, s->ndisks, sizeof *s->disks, disk_fields,
                  NFIELDS(disk_fields), s);
    }
    return o;
}

static cJSON *
net_to_json(const struct sm_sample *s)
{
    cJSON *o = cJSON_CreateObject();
    enc_fields(o, &s->net, net_fields, NFIELDS(net_fields), s);
    enc_array(o, "interfaces", s->net.ifaces, s->net.nifaces, sizeof *s->net.ifaces, iface_fields,
              NFIELDS(iface_fields), s);
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
    sm_sample_depth_to_json(s, o);
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
