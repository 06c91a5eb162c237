/* series.c: the series table (what a sample's metric series are) and its walker. */
#include "config.h"

#include "series.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*---------------------------------------------------------------- the table */

#define LIVE SM_SERIES_LIVE
#define D SM_SERIES_DOUBLE
#define U SM_SERIES_U64
#define I SM_SERIES_I64
#define HOST(f) offsetof(struct sm_sample, f)

const struct sm_series_def sm_series_table[] = {
    {"cpu.usage", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU, 0, LIVE, HOST(cpu.usage), D},
    {"cpu.core.usage", SM_OVER_CORE, SM_UNIT_PERCENT, SM_HAVE_CPU, 0, LIVE,
     offsetof(struct sm_core, usage), D},
    {"cpu.core.freq_mhz", SM_OVER_CORE, SM_UNIT_MHZ, SM_HAVE_CPU, 0, LIVE | SM_SERIES_NEG_ABSENT,
     offsetof(struct sm_core, freq_mhz), D},
    {"cpu.user", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, 0, LIVE, HOST(cpu.user), D},
    {"cpu.system", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, 0, LIVE, HOST(cpu.system),
     D},
    {"cpu.iowait", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, 0, LIVE, HOST(cpu.iowait),
     D},
    {"cpu.steal", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, 0, LIVE, HOST(cpu.steal),
     D},
    {"cpu.freq_mhz", SM_OVER_HOST, SM_UNIT_MHZ, SM_HAVE_FREQ, SM_MISS_FREQ_CUR, LIVE,
     HOST(cpu.freq_cur), D},
    {"load.1", SM_OVER_HOST, SM_UNIT_NONE, SM_HAVE_LOAD, 0, LIVE, HOST(cpu.load[0]), D},
    {"load.5", SM_OVER_HOST, SM_UNIT_NONE, SM_HAVE_LOAD, 0, LIVE, HOST(cpu.load[1]), D},
    {"load.15", SM_OVER_HOST, SM_UNIT_NONE, SM_HAVE_LOAD, 0, LIVE, HOST(cpu.load[2]), D},
    {"mem.used_percent", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_MEM, SM_MISS_MEM_PERCENT, LIVE,
     HOST(mem.used_percent), D},
    {"mem.used", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_MEM, SM_MISS_MEM_USED, LIVE, HOST(mem.used),
     U},
    {"mem.available", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_MEM, SM_MISS_MEM_AVAILABLE, 0,
     HOST(mem.available), U},
    {"mem.total", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_MEM, SM_MISS_MEM_TOTAL, 0, HOST(mem.total),
     U},
    {"swap.used_percent", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_SWAP, SM_MISS_SWAP_PERCENT, LIVE,
     HOST(mem.swap_percent), D},
    {"swap.used", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_SWAP, SM_MISS_SWAP_USED, LIVE,
     HOST(mem.swap_used), U},
    {"fs.used_percent", SM_OVER_FS, SM_UNIT_PERCENT, 0, 0, LIVE, offsetof(struct sm_fs, percent),
     D},
    {"fs.used", SM_OVER_FS, SM_UNIT_BYTES, 0, 0, 0, offsetof(struct sm_fs, used), U},
    {"fs.total", SM_OVER_FS, SM_UNIT_BYTES, 0, 0, 0, offsetof(struct sm_fs, total), U},
    {"disk.read_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_DISK_IO, SM_MISS_DISK_READ,
     LIVE, HOST(read_bps), D},
    {"disk.write_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_DISK_IO,
     SM_MISS_DISK_WRITE, LIVE, HOST(write_bps), D},
    {"disk.read_bytes_per_s", SM_OVER_DISK, SM_UNIT_BYTES_PER_S, 0, 0, LIVE,
     offsetof(struct sm_disk, read_bps), D},
    {"disk.write_bytes_per_s", SM_OVER_DISK, SM_UNIT_BYTES_PER_S, 0, 0, LIVE,
     offsetof(struct sm_disk, write_bps), D},
    {"disk.busy_percent", SM_OVER_DISK, SM_UNIT_PERCENT, 0, 0, LIVE,
     offsetof(struct sm_disk, busy_percent), D},
    {"net.bytes_sent", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_NET, SM_MISS_NET_BYTES_SENT, 0,
     HOST(net.bytes_sent), U},
    {"net.bytes_recv", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_NET, SM_MISS_NET_BYTES_RECV, 0,
     HOST(net.bytes_recv), U},
    {"net.rx_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_NET, SM_MISS_NET_RX_RATE,
     LIVE, HOST(net.rx_bps), D},
    {"net.tx_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_NET, SM_MISS_NET_TX_RATE,
     LIVE, HOST(net.tx_bps), D},
    {"net.rx_bytes_per_s", SM_OVER_IFACE, SM_UNIT_BYTES_PER_S, 0, 0, LIVE,
     offsetof(struct sm_iface, rx_bps), D},
    {"net.tx_bytes_per_s", SM_OVER_IFACE, SM_UNIT_BYTES_PER_S, 0, 0, LIVE,
     offsetof(struct sm_iface, tx_bps), D},
    /* Host depth (issue 20). Not LIVE: smtop reads these from the sample itself. A
     * sensor has either celsius or rpm (the other is NAN); a cgroup list is capped at
     * SM_MAX_CGROUPS, so with 2 rows each a sample stays far under STORE_SERIES_CAP. */
    {"psi.cpu.some_avg10", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_PSI, 0, 0,
     HOST(psi[0][SM_PSI_SOME]), D},
    {"psi.cpu.full_avg10", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_PSI, 0, 0,
     HOST(psi[0][SM_PSI_FULL]), D},
    {"psi.memory.some_avg10", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_PSI, 0, 0,
     HOST(psi[1][SM_PSI_SOME]), D},
    {"psi.memory.full_avg10", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_PSI, 0, 0,
     HOST(psi[1][SM_PSI_FULL]), D},
    {"psi.io.some_avg10", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_PSI, 0, 0,
     HOST(psi[2][SM_PSI_SOME]), D},
    {"psi.io.full_avg10", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_PSI, 0, 0,
     HOST(psi[2][SM_PSI_FULL]), D},
    {"temp.celsius", SM_OVER_SENSOR, SM_UNIT_NONE, 0, 0, 0,
     offsetof(struct sm_sample_sensor, celsius), D},
    {"fan.rpm", SM_OVER_SENSOR, SM_UNIT_NONE, 0, 0, 0, offsetof(struct sm_sample_sensor, rpm), D},
    {"cgroup.cpu_percent", SM_OVER_CGROUP, SM_UNIT_PERCENT, 0, 0, 0,
     offsetof(struct sm_sample_cgroup, cpu_percent), D},
    {"cgroup.memory_bytes", SM_OVER_CGROUP, SM_UNIT_BYTES, 0, 0, 0,
     offsetof(struct sm_sample_cgroup, mem_bytes), I},
    {"gpu.busy_percent", SM_OVER_GPU, SM_UNIT_PERCENT, 0, 0, 0,
     offsetof(struct sm_sample_gpu, busy_percent), D},
    {"gpu.memory_used_bytes", SM_OVER_GPU, SM_UNIT_BYTES, 0, 0, 0,
     offsetof(struct sm_sample_gpu, mem_used), I},
    {"gpu.celsius", SM_OVER_GPU, SM_UNIT_NONE, 0, 0, 0, offsetof(struct sm_sample_gpu, temp_c), D},
    {"gpu.power_watts", SM_OVER_GPU, SM_UNIT_NONE, 0, 0, 0, offsetof(struct sm_sample_gpu, power_w),
     D},
};

#undef HOST
#undef I
#undef U
#undef D
#undef LIVE

const size_t sm_series_count = sizeof sm_series_table / sizeof sm_series_table[0];

/*---------------------------------------------------------------- walking */

const char *
sm_series_label_key(enum sm_series_over over)
{
    switch (over) {
    case SM_OVER_CORE:
        return "core";
    case SM_OVER_FS:
        return "mount";
    case SM_OVER_DISK:
        return "dev";
    case SM_OVER_IFACE:
        return "iface";
    case SM_OVER_SENSOR:
        return "sensor";
    case SM_OVER_CGROUP:
        return "cgroup";
    case SM_OVER_GPU:
        return "gpu";
    case SM_OVER_HOST:
        break;
    }
    return NULL;
}

/* Entries of the list over in s (1 for SM_OVER_HOST). */
static size_t
list_len(const struct sm_sample *s, enum sm_series_over over)
{
    switch (over) {
    case SM_OVER_CORE:
        return s->cpu.ncores;
    case SM_OVER_FS:
        return s->nfs;
    case SM_OVER_DISK:
        return s->ndisks;
    case SM_OVER_IFACE:
        return s->net.nifaces;
    case SM_OVER_SENSOR:
        return s->nsensors;
    case SM_OVER_CGROUP:
        return s->ncgroups;
    case SM_OVER_GPU:
        return s->ngpus;
    case SM_OVER_HOST:
        break;
    }
    return 1;
}

/* Entry i of the list over in s: what a row's offset is from. */
static const void *
entry(const struct sm_sample *s, enum sm_series_over over, size_t i)
{
    switch (over) {
    case SM_OVER_CORE:
        return &s->cpu.cores[i];
    case SM_OVER_FS:
        return &s->fs[i];
    case SM_OVER_DISK:
        return &s->disks[i];
    case SM_OVER_IFACE:
        return &s->net.ifaces[i];
    case SM_OVER_SENSOR:
        return &s->sensors[i];
    case SM_OVER_CGROUP:
        return &s->cgroups[i];
    case SM_OVER_GPU:
        return &s->gpus[i];
    case SM_OVER_HOST:
        break;
    }
    return s;
}

/* The value of row d in entry e; NAN when absent. */
static double
value(const struct sm_series_def *d, const void *e)
{
    const char *p = (const char *)e + d->off;
    double v;
    if (d->type == SM_SERIES_U64)
        v = (double)*(const uint64_t *)(const void *)p;
    else if (d->type == SM_SERIES_I64)
        v = *(const int64_t *)(const void *)p < 0 ? (double)NAN
                                                  : (double)*(const int64_t *)(const void *)p;
    else
        v = *(const double *)(const void *)p;
    if ((d->flags & SM_SERIES_NEG_ABSENT) && v < 0)
        return (double)NAN;
    return v;
}

/* Label value of entry i; a core number is written into buf (decimal, no snprintf:
 * this runs for every core of every sample ingested). */
static const char *
label_value(const struct sm_sample *s, enum sm_series_over over, size_t i, char *buf, size_t len)
{
    switch (over) {
    case SM_OVER_CORE: {
        char *p = buf + len;
        *--p = '\0';
        do
            *--p = (char)('0' + i % 10);
        while ((i /= 10) != 0 && p > buf);
        return p;
    }
    case SM_OVER_FS:
        return s->fs[i].mount[0] ? s->fs[i].mount : s->fs[i].device;
    case SM_OVER_DISK:
        return s->disks[i].name;
    case SM_OVER_IFACE:
        return s->net.ifaces[i].name;
    case SM_OVER_SENSOR: {
        /* "chip/label" (buf holds both: see sm_series_each) */
        const struct sm_sample_sensor *e = &s->sensors[i];
        size_t c = strlen(e->chip), l = strlen(e->label);
        if (c + 1 + l >= len)
            return e->label;
        memcpy(buf, e->chip, c);
        buf[c] = '/';
        memcpy(buf + c + 1, e->label, l + 1);
        return buf;
    }
    case SM_OVER_CGROUP:
        return s->cgroups[i].name;
    case SM_OVER_GPU:
        return s->gpus[i].id[0] ? s->gpus[i].id : s->gpus[i].name;
    case SM_OVER_HOST:
        break;
    }
    return NULL;
}

void
sm_series_each(const struct sm_sample *s, unsigned want, sm_series_fn fn, void *arg)
{
    char num[2 * SM_SENSOR_LEN + 8]; /* a core number, or a sensor's "chip/label" */
    size_t r = 0;
    while (r < sm_series_count) {
        enum sm_series_over over = sm_series_table[r].over;
        size_t end = r + 1;
        while (end < sm_series_count && sm_series_table[end].over == over)
            end++;
        size_t n = list_len(s, over);
        int any = 0; /* a group with no wanted row is not walked at all */
        for (size_t k = r; k < end; k++)
            any |= (sm_series_table[k].flags & want) == want;
        if (!any)
            n = 0;
        for (size_t i = 0; i < n; i++) {
            if (over == SM_OVER_CORE && !s->cpu.cores[i].online)
                continue; /* an offline core has no values */
            const void *e = entry(s, over, i);
            const char *lval = label_value(s, over, i, num, sizeof num);
            for (size_t k = r; k < end; k++) {
                const struct sm_series_def *d = &sm_series_table[k];
                if ((d->flags & want) != want || (s->have & d->need) != d->need ||
                    (s->missing & d->miss))
                    continue;
                double v = value(d, e);
                if (isfinite(v))
                    fn(arg, d, lval, v);
            }
        }
        r = end;
    }
}

/* Append src to buf at *n, keeping room for the terminator (len > 0). */
static void
append(char *buf, size_t len, size_t *n, const char *src)
{
    size_t l = strlen(src);
    if (l > len - 1 - *n)
        l = len - 1 - *n;
    memcpy(buf + *n, src, l);
    *n += l;
}

char *
sm_series_format(char *buf, size_t len, const struct sm_series_def *def, const char *lval)
{
    const char *key = sm_series_label_key(def->over);
    size_t n = 0;
    if (len == 0)
        return buf;
    append(buf, len, &n, def->name);
    if (key != NULL && lval != NULL) {
        append(buf, len, &n, "{");
        append(buf, len, &n, key);
        append(buf, len, &n, "=");
        append(buf, len, &n, lval);
        append(buf, len, &n, "}");
    }
    buf[n] = '\0';
    return buf;
}

const struct sm_series_def *
sm_series_lookup(const char *name)
{
    size_t n = strcspn(name, "{");
    for (size_t i = 0; i < sm_series_count; i++) {
        const char *t = sm_series_table[i].name;
        if (strncmp(t, name, n) == 0 && t[n] == '\0')
            return &sm_series_table[i];
    }
    return NULL;
}
