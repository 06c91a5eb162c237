/* series.c: the series table (what a sample's metric series are) and its walker. */
#include "config.h"

#include "series.h"

#include <math.h>
#include <string.h>

/*---------------------------------------------------------------- readers */

static double
cpu_usage(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.usage;
}

static double
core_usage(const struct sm_sample *s, size_t i)
{
    const struct sm_core *c = &s->cpu.cores[i];
    return c->online ? c->usage : (double)NAN;
}

static double
core_freq(const struct sm_sample *s, size_t i)
{
    const struct sm_core *c = &s->cpu.cores[i];
    return c->online && c->freq_mhz >= 0 ? c->freq_mhz : (double)NAN;
}

static double
cpu_user(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.user;
}

static double
cpu_system(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.system;
}

static double
cpu_iowait(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.iowait;
}

static double
cpu_steal(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.steal;
}

static double
cpu_freq(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.freq_cur;
}

static double
load1(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.load[0];
}

static double
load5(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.load[1];
}

static double
load15(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->cpu.load[2];
}

static double
mem_used_percent(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->mem.used_percent;
}

static double
mem_used(const struct sm_sample *s, size_t i)
{
    (void)i;
    return (double)s->mem.used;
}

static double
mem_available(const struct sm_sample *s, size_t i)
{
    (void)i;
    return (double)s->mem.available;
}

static double
mem_total(const struct sm_sample *s, size_t i)
{
    (void)i;
    return (double)s->mem.total;
}

static double
swap_used_percent(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->mem.swap_percent;
}

static double
swap_used(const struct sm_sample *s, size_t i)
{
    (void)i;
    return (double)s->mem.swap_used;
}

static double
fs_used_percent(const struct sm_sample *s, size_t i)
{
    return s->fs[i].percent;
}

static double
fs_used(const struct sm_sample *s, size_t i)
{
    return (double)s->fs[i].used;
}

static double
fs_total(const struct sm_sample *s, size_t i)
{
    return (double)s->fs[i].total;
}

static double
disks_read(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->read_bps;
}

static double
disks_write(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->write_bps;
}

static double
disk_read(const struct sm_sample *s, size_t i)
{
    return s->disks[i].read_bps;
}

static double
disk_write(const struct sm_sample *s, size_t i)
{
    return s->disks[i].write_bps;
}

static double
disk_busy(const struct sm_sample *s, size_t i)
{
    return s->disks[i].busy_percent;
}

static double
net_sent(const struct sm_sample *s, size_t i)
{
    (void)i;
    return (double)s->net.bytes_sent;
}

static double
net_recv(const struct sm_sample *s, size_t i)
{
    (void)i;
    return (double)s->net.bytes_recv;
}

static double
net_rx(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->net.rx_bps;
}

static double
net_tx(const struct sm_sample *s, size_t i)
{
    (void)i;
    return s->net.tx_bps;
}

static double
iface_rx(const struct sm_sample *s, size_t i)
{
    return s->net.ifaces[i].rx_bps;
}

static double
iface_tx(const struct sm_sample *s, size_t i)
{
    return s->net.ifaces[i].tx_bps;
}

/*---------------------------------------------------------------- the table */

#define LIVE SM_SERIES_LIVE

const struct sm_series_def sm_series_table[] = {
    {"cpu.usage", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU, LIVE, cpu_usage},
    {"cpu.core.usage", SM_OVER_CORE, SM_UNIT_PERCENT, SM_HAVE_CPU, LIVE, core_usage},
    {"cpu.core.freq_mhz", SM_OVER_CORE, SM_UNIT_MHZ, SM_HAVE_CPU, LIVE, core_freq},
    {"cpu.user", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, LIVE, cpu_user},
    {"cpu.system", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, LIVE, cpu_system},
    {"cpu.iowait", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, LIVE, cpu_iowait},
    {"cpu.steal", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_CPU_BREAKDOWN, LIVE, cpu_steal},
    {"cpu.freq_mhz", SM_OVER_HOST, SM_UNIT_MHZ, SM_HAVE_FREQ, LIVE, cpu_freq},
    {"load.1", SM_OVER_HOST, SM_UNIT_NONE, SM_HAVE_LOAD, LIVE, load1},
    {"load.5", SM_OVER_HOST, SM_UNIT_NONE, SM_HAVE_LOAD, LIVE, load5},
    {"load.15", SM_OVER_HOST, SM_UNIT_NONE, SM_HAVE_LOAD, LIVE, load15},
    {"mem.used_percent", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_MEM, LIVE, mem_used_percent},
    {"mem.used", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_MEM, LIVE, mem_used},
    {"mem.available", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_MEM, 0, mem_available},
    {"mem.total", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_MEM, 0, mem_total},
    {"swap.used_percent", SM_OVER_HOST, SM_UNIT_PERCENT, SM_HAVE_SWAP, LIVE, swap_used_percent},
    {"swap.used", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_SWAP, LIVE, swap_used},
    {"fs.used_percent", SM_OVER_FS, SM_UNIT_PERCENT, 0, LIVE, fs_used_percent},
    {"fs.used", SM_OVER_FS, SM_UNIT_BYTES, 0, 0, fs_used},
    {"fs.total", SM_OVER_FS, SM_UNIT_BYTES, 0, 0, fs_total},
    {"disk.read_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_DISK_IO, LIVE, disks_read},
    {"disk.write_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_DISK_IO, LIVE,
     disks_write},
    {"disk.read_bytes_per_s", SM_OVER_DISK, SM_UNIT_BYTES_PER_S, 0, LIVE, disk_read},
    {"disk.write_bytes_per_s", SM_OVER_DISK, SM_UNIT_BYTES_PER_S, 0, LIVE, disk_write},
    {"disk.busy_percent", SM_OVER_DISK, SM_UNIT_PERCENT, 0, LIVE, disk_busy},
    {"net.bytes_sent", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_NET, 0, net_sent},
    {"net.bytes_recv", SM_OVER_HOST, SM_UNIT_BYTES, SM_HAVE_NET, 0, net_recv},
    {"net.rx_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_NET, LIVE, net_rx},
    {"net.tx_bytes_per_s", SM_OVER_HOST, SM_UNIT_BYTES_PER_S, SM_HAVE_NET, LIVE, net_tx},
    {"net.rx_bytes_per_s", SM_OVER_IFACE, SM_UNIT_BYTES_PER_S, 0, LIVE, iface_rx},
    {"net.tx_bytes_per_s", SM_OVER_IFACE, SM_UNIT_BYTES_PER_S, 0, LIVE, iface_tx},
};

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
    case SM_OVER_HOST:
        break;
    }
    return 1;
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
    case SM_OVER_HOST:
        break;
    }
    return NULL;
}

void
sm_series_each(const struct sm_sample *s, unsigned want, sm_series_fn fn, void *arg)
{
    char num[24];
    size_t r = 0;
    while (r < sm_series_count) {
        enum sm_series_over over = sm_series_table[r].over;
        size_t end = r + 1;
        while (end < sm_series_count && sm_series_table[end].over == over)
            end++;
        size_t n = list_len(s, over);
        for (size_t i = 0; i < n; i++) {
            const char *lval = label_value(s, over, i, num, sizeof num);
            for (size_t k = r; k < end; k++) {
                const struct sm_series_def *d = &sm_series_table[k];
                if ((d->flags & want) != want || (s->have & d->need) != d->need)
                    continue;
                double v = d->value(s, i);
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
