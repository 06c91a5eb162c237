/* sample_json.c: decoding samples and host facts from JSON (docs/DESIGN.md section 3).
 *
 * The input is untrusted (POST /ingest), so every field is type- and range-checked and
 * every error names the field by a JSON path ("disk.partitions[2].mountpoint"). Three
 * shapes are accepted: this project's (what sm_sample_to_json emits), the original
 * Python agent's, and the original README's minimal one; see sample.h. */
#include "config.h"

#include "sample.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timerange.h"
#include "xmalloc.h"

/* Byte counts and rates: whole (counts) numbers from 0 to below 2^63. */
#define U63 9223372036854775808.0
#define MAX_FREQ_MHZ 1e6
/* A frequency that rounds to 0 MHz (as it is encoded) is psutil's "not known". */
#define FREQ_KNOWN 0.5
#define MAX_LOAD 1e6
#define MAX_FUTURE 300.0

/* The decoding context: where errors go. */
struct dec {
    char **cause;
};

enum sm_rc
sm_sample_fail(char **cause, enum sm_rc rc, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sm_xvasprintf(fmt, ap);
    va_end(ap);
    *cause = sm_xasprintf("%s: %s", path, msg);
    free(msg);
    return rc;
}

/* Build "parent.key" (or "key" at the root) into buf, truncated to sz - 1 bytes. Runs
 * for every member of every sample (copied, not formatted: snprintf here was a tenth
 * of the server's ingest time). */
static const char *
join(char *buf, size_t sz, const char *parent, const char *key)
{
    size_t n = 0;
    if (sz == 0)
        return buf;
    if (parent != NULL && *parent != '\0') {
        size_t pl = strlen(parent);
        n = pl < sz - 1 ? pl : sz - 1;
        memcpy(buf, parent, n);
        if (n < sz - 1)
            buf[n++] = '.';
    }
    size_t kl = strlen(key);
    if (kl > sz - 1 - n)
        kl = sz - 1 - n;
    memcpy(buf + n, key, kl);
    buf[n + kl] = '\0';
    return buf;
}

/* Member key of obj, or NULL when absent or JSON null (null means unknown). */
static const cJSON *
member(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(it) ? NULL : it;
}

enum num_kind { NUM_REAL, NUM_WHOLE };

/* Check a number item against [min, max]; path names it in errors. */
static enum sm_rc
num_item(struct dec *d, const cJSON *it, const char *path, double min, double max,
         enum num_kind kind, double *out)
{
    double v = cJSON_IsNumber(it) ? it->valuedouble : (double)NAN;
    if (kind == NUM_WHOLE) {
        if (!isfinite(v) || v < min || v >= max || floor(v) != v)
            return sm_sample_fail(d->cause, SM_EINVAL, path,
                                  "must be a whole number from %.0f to %" PRIu64, min,
                                  (uint64_t)max - 1);
    } else if (!isfinite(v) || v < min || v > max) {
        return sm_sample_fail(d->cause, SM_EINVAL, path, "must be a number from %g to %g", min,
                              max);
    }
    *out = v;
    return SM_OK;
}

/* Optional number member: *present says whether it was there. */
static enum sm_rc
num(struct dec *d, const cJSON *obj, const char *parent, const char *key, double min, double max,
    double *out, int *present)
{
    char path[192];
    const cJSON *it = member(obj, key);
    if (present != NULL)
        *present = it != NULL;
    if (it == NULL)
        return SM_OK;
    return num_item(d, it, join(path, sizeof path, parent, key), min, max, NUM_REAL, out);
}

/* Percent values: 0 to 100. Agents compute them in floating point, so an excess of up
 * to SM_PERCENT_SLACK on either side is clamped rather than rejected. */
#define SM_PERCENT_SLACK 0.01

static enum sm_rc
pct_item(struct dec *d, const cJSON *it, const char *path, double *out)
{
    double v = cJSON_IsNumber(it) ? it->valuedouble : (double)NAN;
    if (!isfinite(v) || v < -SM_PERCENT_SLACK || v > 100.0 + SM_PERCENT_SLACK)
        return sm_sample_fail(d->cause, SM_EINVAL, path, "must be a number from 0 to 100");
    *out = v < 0 ? 0 : v > 100 ? 100 : v;
    return SM_OK;
}

static enum sm_rc
pct(struct dec *d, const cJSON *obj, const char *parent, const char *key, double *out, int *present)
{
    char path[192];
    const cJSON *it = member(obj, key);
    if (present != NULL)
        *present = it != NULL;
    if (it == NULL)
        return SM_OK;
    return pct_item(d, it, join(path, sizeof path, parent, key), out);
}

/* Optional byte count (or other counter) member. */
static enum sm_rc
u64(struct dec *d, const cJSON *obj, const char *parent, const char *key, uint64_t *out,
    int *present)
{
    char path[192];
    const cJSON *it = member(obj, key);
    double v;
    if (present != NULL)
        *present = it != NULL;
    if (it == NULL)
        return SM_OK;
    enum sm_rc rc = num_item(d, it, join(path, sizeof path, parent, key), 0, U63, NUM_WHOLE, &v);
    if (rc == SM_OK)
        *out = (uint64_t)v;
    return rc;
}

/* Optional rate member (bytes per second): 0 to below 2^63. */
static enum sm_rc
rate(struct dec *d, const cJSON *obj, const char *parent, const char *key, double *out,
     int *present)
{
    return num(d, obj, parent, key, 0, U63, out, present);
}

/* Optional string member copied into dst[dstsz]: at most dstsz - 1 bytes, no control
 * characters (they would reach terminals and logs); never truncated. With nonempty,
 * an empty string is an error; with required, absence is too. */
static enum sm_rc
str(struct dec *d, const cJSON *obj, const char *parent, const char *key, char *dst, size_t dstsz,
    int required, int nonempty)
{
    char path[192];
    const cJSON *it = member(obj, key);
    join(path, sizeof path, parent, key);
    if (it == NULL) {
        if (required)
            return sm_sample_fail(d->cause, SM_EINVAL, path, "missing (must be a string)");
        return SM_OK;
    }
    const char *v = cJSON_IsString(it) ? it->valuestring : NULL;
    size_t len = v != NULL ? strlen(v) : 0;
    int ctl = 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            ctl = 1;
    if (v == NULL || len >= dstsz || ctl || (nonempty && len == 0))
        return sm_sample_fail(
            d->cause, SM_EINVAL, path, "must be a %sstring of at most %zu bytes%s",
            nonempty ? "non-empty " : "", dstsz - 1, ctl ? " without control characters" : "");
    memcpy(dst, v, len + 1);
    return SM_OK;
}

/* Optional object member: *out is NULL when absent or null. */
static enum sm_rc
obj_member(struct dec *d, const cJSON *obj, const char *parent, const char *key, const cJSON **out)
{
    char path[192];
    const cJSON *it = member(obj, key);
    *out = NULL;
    if (it == NULL)
        return SM_OK;
    if (!cJSON_IsObject(it))
        return sm_sample_fail(d->cause, SM_EINVAL, join(path, sizeof path, parent, key),
                              "must be an object");
    *out = it;
    return SM_OK;
}

/* Optional array member with at most cap entries: *out is NULL when absent or null. */
static enum sm_rc
arr_member(struct dec *d, const cJSON *obj, const char *parent, const char *key, size_t cap,
           const cJSON **out, size_t *n)
{
    char path[192];
    const cJSON *it = member(obj, key);
    *out = NULL;
    *n = 0;
    if (it == NULL)
        return SM_OK;
    join(path, sizeof path, parent, key);
    if (!cJSON_IsArray(it))
        return sm_sample_fail(d->cause, SM_EINVAL, path, "must be an array");
    size_t count = 0;
    for (const cJSON *c = it->child; c != NULL; c = c->next)
        if (++count > cap)
            return sm_sample_fail(d->cause, SM_ETOOBIG, path, "more than %zu entries", cap);
    *out = it;
    *n = count;
    return SM_OK;
}

/*---------------------------------------------------------------- cpu */

static enum sm_rc
cpu_cores(struct dec *d, const cJSON *cpu, struct sm_sample *s)
{
    const cJSON *usage, *freq;
    size_t nu, nf;
    char path[64];
    enum sm_rc rc;

    if ((rc = arr_member(d, cpu, "cpu", "per_core_usage", SM_MAX_CORES, &usage, &nu)) ||
        (rc = arr_member(d, cpu, "cpu", "per_core_freq", SM_MAX_CORES, &freq, &nf)))
        return rc;
    if (nf > nu)
        return sm_sample_fail(d->cause, SM_EINVAL, "cpu.per_core_freq",
                              "has %zu entries but cpu.per_core_usage has %zu", nf, nu);
    if (usage == NULL)
        return SM_OK;
    struct sm_core *cores = sm_sample_cores(s, nu);
    size_t i = 0;
    for (const cJSON *c = usage->child; c != NULL; c = c->next, i++) {
        cores[i].freq_mhz = -1;
        if (cJSON_IsNull(c))
            continue; /* offline or unknown */
        snprintf(path, sizeof path, "cpu.per_core_usage[%zu]", i);
        if ((rc = pct_item(d, c, path, &cores[i].usage)))
            return rc;
        cores[i].online = 1;
    }
    i = 0;
    for (const cJSON *c = freq ? freq->child : NULL; c != NULL; c = c->next, i++) {
        if (cJSON_IsNull(c))
            continue;
        snprintf(path, sizeof path, "cpu.per_core_freq[%zu]", i);
        if ((rc = num_item(d, c, path, 0, MAX_FREQ_MHZ, NUM_REAL, &cores[i].freq_mhz)))
            return rc;
        if (cores[i].freq_mhz < FREQ_KNOWN) /* psutil's 0: not known */
            cores[i].freq_mhz = -1;
    }
    return SM_OK;
}

/* cpu.freq: {current, min, max} or psutil's tuple [current, min, max]. psutil gives
 * None, {} or zeros where the host has no cpufreq (many VMs and containers): a member
 * that is missing, null or 0 is unknown (SM_MISS_FREQ_*), and with none known there
 * is no frequency at all. */
static enum sm_rc
cpu_freq(struct dec *d, const cJSON *cpu, struct sm_sample *s)
{
    static const char *const keys[3] = {"current", "min", "max"};
    double *dst[3] = {&s->cpu.freq_cur, &s->cpu.freq_min, &s->cpu.freq_max};
    const cJSON *f = member(cpu, "freq");
    char path[64];
    enum sm_rc rc;

    if (f == NULL)
        return SM_OK;
    if (cJSON_IsObject(f)) {
        for (int i = 0; i < 3; i++)
            if ((rc = num(d, f, "cpu.freq", keys[i], 0, MAX_FREQ_MHZ, dst[i], NULL)))
                return rc;
    } else if (cJSON_IsArray(f) && cJSON_GetArraySize(f) == 3) {
        int i = 0;
        for (const cJSON *c = f->child; c != NULL; c = c->next, i++) {
            snprintf(path, sizeof path, "cpu.freq[%d]", i);
            if (!cJSON_IsNull(c) && (rc = num_item(d, c, path, 0, MAX_FREQ_MHZ, NUM_REAL, dst[i])))
                return rc;
        }
    } else {
        return sm_sample_fail(d->cause, SM_EINVAL, "cpu.freq",
                              "must be an object {current, min, max} or an array of 3 numbers");
    }
    int cur = s->cpu.freq_cur >= FREQ_KNOWN;
    int range = s->cpu.freq_min >= FREQ_KNOWN && s->cpu.freq_max >= FREQ_KNOWN;
    if (!cur && !range)
        return SM_OK;
    s->have |= SM_HAVE_FREQ;
    if (!cur)
        s->missing |= SM_MISS_FREQ_CUR;
    if (!range)
        s->missing |= SM_MISS_FREQ_RANGE;
    return SM_OK;
}

static enum sm_rc
cpu_load(struct dec *d, const cJSON *cpu, struct sm_sample *s)
{
    const cJSON *l = member(cpu, "load_avg");
    char path[64];
    enum sm_rc rc;

    /* psutil has no load average on some hosts (Windows before its emulation starts):
     * the original agent then sends [] or leaves it out. */
    if (l == NULL || (cJSON_IsArray(l) && l->child == NULL))
        return SM_OK;
    if (!cJSON_IsArray(l) || cJSON_GetArraySize(l) != 3)
        return sm_sample_fail(d->cause, SM_EINVAL, "cpu.load_avg", "must be an array of 3 numbers");
    int i = 0;
    for (const cJSON *c = l->child; c != NULL; c = c->next, i++) {
        snprintf(path, sizeof path, "cpu.load_avg[%d]", i);
        if ((rc = num_item(d, c, path, 0, MAX_LOAD, NUM_REAL, &s->cpu.load[i])))
            return rc;
    }
    s->have |= SM_HAVE_LOAD;
    return SM_OK;
}

static enum sm_rc
cpu_decode(struct dec *d, const cJSON *root, struct sm_sample *s)
{
    static const char *const parts[4] = {"user", "system", "iowait", "steal"};
    const cJSON *cpu;
    enum sm_rc rc;
    int have;

    if ((rc = obj_member(d, root, NULL, "cpu", &cpu)) || cpu == NULL)
        return rc;
    struct sm_cpu *c = &s->cpu;
    double *part[4] = {&c->user, &c->system, &c->iowait, &c->steal};
    /* usage_percent (ours, the original agent's) or percent (the original README's). */
    if ((rc = pct(d, cpu, "cpu", "usage_percent", &c->usage, &have)))
        return rc;
    if (!have && (rc = pct(d, cpu, "cpu", "percent", &c->usage, &have)))
        return rc;
    if (have)
        s->have |= SM_HAVE_CPU;
    for (int i = 0; i < 4; i++) {
        if ((rc = pct(d, cpu, "cpu", parts[i], part[i], &have)))
            return rc;
        if (have)
            s->have |= SM_HAVE_CPU_BREAKDOWN;
    }
    if ((rc = cpu_cores(d, cpu, s)) || (rc = cpu_freq(d, cpu, s)) || (rc = cpu_load(d, cpu, s)))
        return rc;
    return SM_OK;
}

/*---------------------------------------------------------------- memory */

static enum sm_rc
mem_decode(struct dec *d, const cJSON *root, struct sm_sample *s)
{
    const cJSON *m;
    enum sm_rc rc;
    int have_pct, have_total, have_avail, have_used, have_free, h1, h2, h3;

    if ((rc = obj_member(d, root, NULL, "memory", &m)) || m == NULL)
        return rc;
    struct sm_mem *mem = &s->mem;
    s->have |= SM_HAVE_MEM;
    if ((rc = u64(d, m, "memory", "total", &mem->total, &have_total)) ||
        (rc = u64(d, m, "memory", "available", &mem->available, &have_avail)) ||
        (rc = u64(d, m, "memory", "used", &mem->used, &have_used)) ||
        (rc = u64(d, m, "memory", "free", &mem->free, &have_free)))
        return rc;
    /* used_percent (ours) or percent (psutil's virtual_memory(), the original README). */
    if ((rc = pct(d, m, "memory", "used_percent", &mem->used_percent, &have_pct)))
        return rc;
    if (!have_pct && (rc = pct(d, m, "memory", "percent", &mem->used_percent, &have_pct)))
        return rc;
    int derive = have_total && have_avail && mem->total > 0 && mem->available <= mem->total;
    if (!have_pct && derive) {
        mem->used_percent = 100.0 * (double)(mem->total - mem->available) / (double)mem->total;
        have_pct = 1;
    }
    /* The original agent sends total, available and a percentage, no used: used is
     * total - available, as this project's collector counts it. */
    if (!have_used && derive) {
        mem->used = mem->total - mem->available;
        have_used = 1;
    }
    s->missing |= (have_total ? 0 : SM_MISS_MEM_TOTAL) | (have_avail ? 0 : SM_MISS_MEM_AVAILABLE) |
                  (have_used ? 0 : SM_MISS_MEM_USED) | (have_free ? 0 : SM_MISS_MEM_FREE) |
                  (have_pct ? 0 : SM_MISS_MEM_PERCENT);
    if ((rc = u64(d, m, "memory", "swap_total", &mem->swap_total, &h1)) ||
        (rc = u64(d, m, "memory", "swap_used", &mem->swap_used, &h2)) ||
        (rc = pct(d, m, "memory", "swap_percent", &mem->swap_percent, &h3)))
        return rc;
    if (!(h1 || h2 || h3))
        return SM_OK;
    s->have |= SM_HAVE_SWAP;
    if (!h3 && h1 && h2 && mem->swap_total > 0 && mem->swap_used <= mem->swap_total) {
        mem->swap_percent = 100.0 * (double)mem->swap_used / (double)mem->swap_total;
        h3 = 1;
    }
    /* psutil reports a host without swap as total 0, percent 0: no percentage. */
    if (h1 && mem->swap_total == 0) {
        mem->swap_percent = 0;
        h3 = 0;
    }
    s->missing |= (h1 ? 0 : SM_MISS_SWAP_TOTAL) | (h2 ? 0 : SM_MISS_SWAP_USED) |
                  (h3 ? 0 : SM_MISS_SWAP_PERCENT);
    return SM_OK;
}

/*---------------------------------------------------------------- disk */

static enum sm_rc
fs_decode(struct dec *d, const cJSON *p, const char *path, struct sm_fs *f)
{
    enum sm_rc rc;
    if (!cJSON_IsObject(p))
        return sm_sample_fail(d->cause, SM_EINVAL, path, "must be an object");
    if ((rc = str(d, p, path, "device", f->device, sizeof f->device, 0, 0)) ||
        (rc = str(d, p, path, "mountpoint", f->mount, sizeof f->mount, 1, 1)) ||
        (rc = str(d, p, path, "fstype", f->fstype, sizeof f->fstype, 0, 0)) ||
        (rc = u64(d, p, path, "total", &f->total, NULL)) ||
        (rc = u64(d, p, path, "used", &f->used, NULL)) ||
        (rc = u64(d, p, path, "free", &f->free, NULL)) ||
        (rc = pct(d, p, path, "percent", &f->percent, NULL)))
        return rc;
    return SM_OK;
}

static enum sm_rc
disk_decode(struct dec *d, const cJSON *root, struct sm_sample *s)
{
    const cJSON *disk, *parts, *devs, *io;
    size_t n;
    char path[64];
    enum sm_rc rc;

    if ((rc = obj_member(d, root, NULL, "disk", &disk)) || disk == NULL)
        return rc;
    if ((rc = arr_member(d, disk, "disk", "partitions", SM_MAX_FS, &parts, &n)))
        return rc;
    if (parts != NULL) {
        size_t i = 0;
        for (const cJSON *p = parts->child; p != NULL; p = p->next, i++) {
            snprintf(path, sizeof path, "disk.partitions[%zu]", i);
            struct sm_fs *f = sm_sample_add_fs(s);
            if ((rc = fs_decode(d, p, path, f)))
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(s->fs[j].mount, f->mount) == 0)
                    return sm_sample_fail(d->cause, SM_EINVAL, path,
                                          "mountpoint \"%s\" appears twice", f->mount);
        }
    } else if (member(disk, "percent") != NULL || member(disk, "total") != NULL) {
        /* The original README's flat disk: one filesystem, taken to be "/". */
        struct sm_fs *f = sm_sample_add_fs(s);
        sm_strlcpy(f->mount, "/", sizeof f->mount);
        if ((rc = u64(d, disk, "disk", "total", &f->total, NULL)) ||
            (rc = u64(d, disk, "disk", "used", &f->used, NULL)) ||
            (rc = u64(d, disk, "disk", "free", &f->free, NULL)) ||
            (rc = pct(d, disk, "disk", "percent", &f->percent, NULL)))
            return rc;
    }

    if ((rc = obj_member(d, disk, "disk", "io", &io)))
        return rc;
    /* The original agent sends psutil's disk_io_counters() here (counters, no rates) or
     * {}: a rate that is not there is absent. */
    int have_read = 0, have_write = 0;
    if (io != NULL) {
        if ((rc = rate(d, io, "disk.io", "read_bytes_per_s", &s->read_bps, &have_read)) ||
            (rc = rate(d, io, "disk.io", "write_bytes_per_s", &s->write_bps, &have_write)))
            return rc;
        if (have_read || have_write)
            s->have |= SM_HAVE_DISK_IO;
    }
    if ((rc = arr_member(d, disk, "disk", "devices", SM_MAX_DISKS, &devs, &n)))
        return rc;
    if (devs != NULL) {
        s->have |= SM_HAVE_DISK_IO;
        size_t i = 0;
        for (const cJSON *p = devs->child; p != NULL; p = p->next, i++) {
            snprintf(path, sizeof path, "disk.devices[%zu]", i);
            if (!cJSON_IsObject(p))
                return sm_sample_fail(d->cause, SM_EINVAL, path, "must be an object");
            struct sm_disk *k = sm_sample_add_disk(s);
            if ((rc = str(d, p, path, "name", k->name, sizeof k->name, 1, 1)) ||
                (rc = rate(d, p, path, "read_bytes_per_s", &k->read_bps, NULL)) ||
                (rc = rate(d, p, path, "write_bytes_per_s", &k->write_bps, NULL)) ||
                (rc = pct(d, p, path, "busy_percent", &k->busy_percent, NULL)))
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(s->disks[j].name, k->name) == 0)
                    return sm_sample_fail(d->cause, SM_EINVAL, path, "name \"%s\" appears twice",
                                          k->name);
        }
    }
    if ((s->have & SM_HAVE_DISK_IO) && !have_read)
        s->missing |= SM_MISS_DISK_READ;
    if ((s->have & SM_HAVE_DISK_IO) && !have_write)
        s->missing |= SM_MISS_DISK_WRITE;
    return SM_OK;
}

/*---------------------------------------------------------------- network */

static enum sm_rc
net_decode(struct dec *d, const cJSON *root, struct sm_sample *s)
{
    static const char *const counters[8] = {"bytes_sent",   "bytes_recv", "packets_sent",
                                            "packets_recv", "errin",      "errout",
                                            "dropin",       "dropout"};
    static const unsigned miss[8] = {SM_MISS_NET_BYTES_SENT,   SM_MISS_NET_BYTES_RECV,
                                     SM_MISS_NET_PACKETS_SENT, SM_MISS_NET_PACKETS_RECV,
                                     SM_MISS_NET_ERRIN,        SM_MISS_NET_ERROUT,
                                     SM_MISS_NET_DROPIN,       SM_MISS_NET_DROPOUT};
    const cJSON *net, *ifs;
    size_t n;
    char path[64];
    enum sm_rc rc;

    if ((rc = obj_member(d, root, NULL, "network", &net)) || net == NULL)
        return rc;
    struct sm_net *nt = &s->net;
    uint64_t *dst[8] = {&nt->bytes_sent, &nt->bytes_recv, &nt->packets_sent, &nt->packets_recv,
                        &nt->errin,      &nt->errout,     &nt->dropin,       &nt->dropout};
    int have;
    s->have |= SM_HAVE_NET;
    /* Each counter may be missing (psutil's net_io_counters() can be None, and the
     * original agent sends no rates): absent, not 0. */
    for (int i = 0; i < 8; i++) {
        if ((rc = u64(d, net, "network", counters[i], dst[i], &have)))
            return rc;
        if (!have)
            s->missing |= miss[i];
    }
    if ((rc = rate(d, net, "network", "rx_bytes_per_s", &nt->rx_bps, &have)))
        return rc;
    if (!have)
        s->missing |= SM_MISS_NET_RX_RATE;
    if ((rc = rate(d, net, "network", "tx_bytes_per_s", &nt->tx_bps, &have)))
        return rc;
    if (!have)
        s->missing |= SM_MISS_NET_TX_RATE;
    if ((rc = arr_member(d, net, "network", "interfaces", SM_MAX_IFACES, &ifs, &n)) || ifs == NULL)
        return rc;
    size_t i = 0;
    for (const cJSON *p = ifs->child; p != NULL; p = p->next, i++) {
        snprintf(path, sizeof path, "network.interfaces[%zu]", i);
        if (!cJSON_IsObject(p))
            return sm_sample_fail(d->cause, SM_EINVAL, path, "must be an object");
        struct sm_iface *f = sm_sample_add_iface(s);
        if ((rc = str(d, p, path, "name", f->name, sizeof f->name, 1, 1)) ||
            (rc = rate(d, p, path, "rx_bytes_per_s", &f->rx_bps, NULL)) ||
            (rc = rate(d, p, path, "tx_bytes_per_s", &f->tx_bps, NULL)) ||
            (rc = u64(d, p, path, "rx_bytes", &f->rx_bytes, NULL)) ||
            (rc = u64(d, p, path, "tx_bytes", &f->tx_bytes, NULL)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(nt->ifaces[j].name, f->name) == 0)
                return sm_sample_fail(d->cause, SM_EINVAL, path, "name \"%s\" appears twice",
                                      f->name);
    }
    return SM_OK;
}

/*---------------------------------------------------------------- sample */

static enum sm_rc
timestamp_decode(struct dec *d, const cJSON *root, double now, struct sm_sample *s)
{
    const cJSON *t = member(root, "timestamp");
    double v;

    if (t == NULL) {
        s->timestamp = now;
        return SM_OK;
    }
    if (cJSON_IsNumber(t)) {
        v = t->valuedouble;
    } else if (cJSON_IsString(t) && strlen(t->valuestring) <= 64 &&
               sm_time_parse_iso(t->valuestring, 1, &v) == SM_OK) {
        ;
    } else {
        return sm_sample_fail(d->cause, SM_EINVAL, "timestamp",
                              "must be unix seconds or an ISO 8601 string");
    }
    /* Stored to the millisecond: a value that rounds to 0 ms is 1970 itself. */
    if (!isfinite(v) || round(v * 1000.0) < 1.0)
        return sm_sample_fail(d->cause, SM_EINVAL, "timestamp", "must be after 1970");
    if (v > now + MAX_FUTURE)
        return sm_sample_fail(d->cause, SM_EINVAL, "timestamp",
                              "in the future (more than %.0f s after now)", MAX_FUTURE);
    s->timestamp = v;
    return SM_OK;
}

enum sm_rc
sm_sample_from_json(const cJSON *obj, double now, struct sm_sample *s, char **cause)
{
    struct dec d = {.cause = cause};
    enum sm_rc rc;

    sm_sample_clear(s);
    if (!cJSON_IsObject(obj))
        return sm_sample_fail(d.cause, SM_EINVAL, "sample", "must be an object");
    if ((rc = timestamp_decode(&d, obj, now, s)) ||
        (rc = u64(&d, obj, NULL, "seq", &s->seq, NULL)) || (rc = cpu_decode(&d, obj, s)) ||
        (rc = mem_decode(&d, obj, s)) || (rc = disk_decode(&d, obj, s)) ||
        (rc = net_decode(&d, obj, s)) || (rc = sm_sample_depth_from_json(obj, s, cause)))
        return rc;
    return SM_OK;
}

enum sm_rc
sm_host_from_json(const cJSON *obj, struct sm_host *h, char **cause)
{
    static const struct {
        const char *key;
        size_t off, size;
    } strs[] = {
        {"hostname", offsetof(struct sm_host, hostname), sizeof h->hostname},
        {"os", offsetof(struct sm_host, os), sizeof h->os},
        {"kernel", offsetof(struct sm_host, kernel), sizeof h->kernel},
        {"arch", offsetof(struct sm_host, arch), sizeof h->arch},
        {"cpu_model", offsetof(struct sm_host, cpu_model), sizeof h->cpu_model},
        {"agent_version", offsetof(struct sm_host, agent_version), sizeof h->agent_version},
    };
    struct dec d = {.cause = cause};
    enum sm_rc rc;
    double v;

    memset(h, 0, sizeof *h);
    if (!cJSON_IsObject(obj))
        return sm_sample_fail(d.cause, SM_EINVAL, "host", "must be an object");
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if ((rc = str(&d, obj, "host", strs[i].key, (char *)h + strs[i].off, strs[i].size, 0, 0)))
            return rc;
    const cJSON *it = member(obj, "cores");
    if (it != NULL) {
        if ((rc = num_item(&d, it, "host.cores", 0, SM_MAX_CORES + 1, NUM_WHOLE, &v)))
            return rc;
        h->cores = (int)v;
    }
    it = member(obj, "boot_time");
    if (it != NULL) {
        if ((rc = num_item(&d, it, "host.boot_time", 0, U63, NUM_WHOLE, &v)))
            return rc;
        h->boot_time = (int64_t)v;
    }
    return SM_OK;
}
