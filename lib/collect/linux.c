/* linux.c: the Linux collector. One reader per kernel file, each kept open and re-read
 * with pread. Rates come from counter deltas; a counter that goes backwards (a reset,
 * a wrap, a core that went offline) gives a zero delta, never a negative or absurd rate. */
#include "config.h"

#include "collect.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../log.h"
#include "../xmalloc.h"
#include "util.h"

enum reader_id {
    R_STAT,
    R_LOADAVG,
    R_MEMINFO,
    R_MOUNTS,
    R_DISKSTATS,
    R_NETDEV,
    R_CPUFREQ,
    R_COUNT
};

static const char *const reader_names[R_COUNT] = {
    [R_STAT] = "stat",        [R_LOADAVG] = "loadavg",     [R_MEMINFO] = "meminfo",
    [R_MOUNTS] = "mountinfo", [R_DISKSTATS] = "diskstats", [R_NETDEV] = "net/dev",
    [R_CPUFREQ] = "cpufreq",
};

/* Jiffy counters of one CPU line of /proc/stat. */
struct jiffies {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

struct core_state {
    struct jiffies prev;
    int have_prev;
    int freq_fd; /* scaling_cur_freq, -1 when absent */
    double freq_min, freq_max;
};

struct disk_state {
    char name[SM_NAME_LEN];
    int whole; /* 1 whole disk, 0 partition or skipped */
    uint64_t rd_sectors, wr_sectors, io_ticks;
    double when;
    int have_prev;
};

struct iface_state {
    char name[SM_NAME_LEN];
    uint64_t rx, tx;
    double when;
    int have_prev;
};

struct mount_entry {
    char device[SM_PATH_LEN];
    char mount[SM_PATH_LEN];
    char fstype[SM_NAME_LEN];
};

struct sm_collector {
    char proc[SM_PATH_LEN];
    char sys[SM_PATH_LEN];
    int fd[R_COUNT];
    int ok[R_COUNT];
    int logged[R_COUNT];
    sm_statvfs_fn statvfs_fn;

    char *buf; /* read buffer, grown to the largest file seen */
    size_t bufcap;

    struct jiffies total_prev;
    int have_total_prev;
    size_t ncore_states;
    struct core_state *cores;
    size_t present; /* number of possible CPU slots, from sys/devices/system/cpu/present */

    size_t ndisks, disks_cap;
    struct disk_state *disks;
    size_t nifaces, ifaces_cap;
    struct iface_state *ifaces;

    char **nodev_fs; /* filesystem types marked nodev in /proc/filesystems */
    size_t nnodev, nodev_cap;
    size_t nmounts, mounts_cap;
    struct mount_entry *mounts;
    int mounts_loaded;
};

/* Mark reader r unavailable and say so once. */
static void
reader_fail(struct sm_collector *c, enum reader_id r, const char *why)
{
    c->ok[r] = 0;
    if (!c->logged[r]) {
        c->logged[r] = 1;
        sm_log(r == R_CPUFREQ ? SM_LOG_DEBUG : SM_LOG_WARN, "collector: %s unavailable: %s",
               reader_names[r], why);
    }
}

static int
open_under(const char *root, const char *rel)
{
    char path[SM_PATH_LEN * 2];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Read all of fd from offset 0 into c->buf (NUL-terminated). Returns length or -1. */
static ssize_t
read_all(struct sm_collector *c, int fd)
{
    for (;;) {
        size_t len = 0;
        for (;;) {
            ssize_t n = pread(fd, c->buf + len, c->bufcap - 1 - len, (off_t)len);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            if (n == 0)
                break;
            len += (size_t)n;
            if (len == c->bufcap - 1)
                break;
        }
        if (len < c->bufcap - 1) {
            c->buf[len] = '\0';
            return (ssize_t)len;
        }
        /* Filled the buffer: grow (only while learning the machine) and read again. */
        if (c->bufcap >= (size_t)16 << 20)
            return -1;
        c->bufcap *= 2;
        c->buf = sm_xreallocarray(c->buf, c->bufcap, 1);
    }
}

/* Read a small file under root into out; returns 0 or -1. */
static int
read_small(const char *root, const char *rel, char *out, size_t outsz)
{
    int fd = open_under(root, rel);
    if (fd < 0)
        return -1;
    ssize_t n = pread(fd, out, outsz - 1, 0);
    close(fd);
    if (n < 0)
        return -1;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return 0;
}

static const char *
skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *
skip_word(const char *p)
{
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    return p;
}

static const char *
next_line(const char *p)
{
    const char *nl = strchr(p, '\n');
    return nl ? nl + 1 : p + strlen(p);
}

/* Parse a decimal like "0.52" at *p; advances *p. */
static double
parse_dec(const char **p)
{
    const char *s = skip_space(*p);
    char *end;
    double v = strtod(s, &end);
    *p = end;
    return v;
}

/* Counter delta that treats a decrease (reset, wrap, offline core) as zero. */
static uint64_t
delta(uint64_t cur, uint64_t prev)
{
    return cur >= prev ? cur - prev : 0;
}

static double
rate(uint64_t cur, uint64_t prev, double dt)
{
    if (dt <= 0)
        return 0;
    return (double)delta(cur, prev) / dt;
}

/* Copy a word of at most len bytes into dst (dstsz), decoding mountinfo's octal escapes. */
static void
copy_field(char *dst, size_t dstsz, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < dstsz; i++) {
        if (src[i] == '\\' && i + 3 < len + 1 && i + 3 <= len && src[i + 1] >= '0' &&
            src[i + 1] <= '3' && src[i + 2] >= '0' && src[i + 2] <= '7' && src[i + 3] >= '0' &&
            src[i + 3] <= '7') {
            dst[o++] =
                (char)((src[i + 1] - '0') * 64 + (src[i + 2] - '0') * 8 + (src[i + 3] - '0'));
            i += 3;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = '\0';
}

/* ------------------------------------------------------------------ setup */

/* Highest CPU number in a list like "0-3,5,7-8", plus one; 0 when unparseable. */
static size_t
cpu_list_count(const char *s)
{
    size_t max = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        uint64_t a = sm_cu_parse_u64(&p), b = a;
        if (*p == '-') {
            p++;
            b = sm_cu_parse_u64(&p);
        }
        if (b + 1 > max && b < SM_MAX_CORES)
            max = (size_t)b + 1;
        if (*p != ',')
            break;
        p++;
    }
    return max;
}

static void
load_nodev(struct sm_collector *c)
{
    int fd = open_under(c->proc, "filesystems");
    if (fd < 0)
        return;
    ssize_t n = read_all(c, fd);
    close(fd);
    if (n < 0)
        return;
    for (const char *p = c->buf; *p; p = next_line(p)) {
        if (strncmp(p, "nodev", 5) != 0)
            continue;
        const char *name = skip_space(p + 5);
        const char *end = skip_word(name);
        c->nodev_fs = sm_xgrow(c->nodev_fs, &c->nodev_cap, c->nnodev + 1, sizeof *c->nodev_fs);
        c->nodev_fs[c->nnodev++] = sm_xstrndup(name, (size_t)(end - name));
    }
}

static void
ensure_cores(struct sm_collector *c, size_t n)
{
    if (n <= c->ncore_states)
        return;
    c->cores = sm_xreallocarray(c->cores, n, sizeof *c->cores);
    for (size_t i = c->ncore_states; i < n; i++) {
        struct core_state *cs = &c->cores[i];
        memset(cs, 0, sizeof *cs);
        cs->freq_fd = -1;
        cs->freq_min = cs->freq_max = -1;
        if (!c->ok[R_CPUFREQ])
            continue;
        char rel[128], val[64];
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%zu/cpufreq/scaling_cur_freq", i);
        cs->freq_fd = open_under(c->sys, rel);
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%zu/cpufreq/cpuinfo_min_freq", i);
        if (read_small(c->sys, rel, val, sizeof val) == 0)
            cs->freq_min = strtod(val, NULL) / 1000.0;
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%zu/cpufreq/cpuinfo_max_freq", i);
        if (read_small(c->sys, rel, val, sizeof val) == 0)
            cs->freq_max = strtod(val, NULL) / 1000.0;
    }
    c->ncore_states = n;
}

struct sm_collector *
sm_collector_new(const char *proc_root, const char *sys_root)
{
    static const char *const files[R_COUNT] = {
        [R_STAT] = "stat",           [R_LOADAVG] = "loadavg",
        [R_MEMINFO] = "meminfo",     [R_MOUNTS] = "self/mountinfo",
        [R_DISKSTATS] = "diskstats", [R_NETDEV] = "net/dev",
    };
    struct sm_collector *c = sm_xcalloc(1, sizeof *c);
    sm_strlcpy(c->proc, proc_root ? proc_root : "/proc", sizeof c->proc);
    sm_strlcpy(c->sys, sys_root ? sys_root : "/sys", sizeof c->sys);
    c->statvfs_fn = statvfs;
    c->bufcap = 16384;
    c->buf = sm_xmalloc(c->bufcap);
    for (int r = 0; r < R_COUNT; r++) {
        c->fd[r] = -1;
        c->ok[r] = 1;
        if (files[r] == NULL)
            continue;
        c->fd[r] = open_under(c->proc, files[r]);
        if (c->fd[r] < 0)
            reader_fail(c, (enum reader_id)r, strerror(errno));
    }

    char val[256], rel[SM_PATH_LEN + 64];
    c->present = 0;
    if (read_small(c->sys, "devices/system/cpu/present", val, sizeof val) == 0)
        c->present = cpu_list_count(val);
    struct stat st;
    snprintf(rel, sizeof rel, "%s/devices/system/cpu/cpu0/cpufreq", c->sys);
    if (stat(rel, &st) != 0)
        reader_fail(c, R_CPUFREQ, "no cpufreq in this kernel (frequencies are not reported)");
    ensure_cores(c, c->present);
    load_nodev(c);
    return c;
}

void
sm_collector_free(struct sm_collector *c)
{
    if (c == NULL)
        return;
    for (int r = 0; r < R_COUNT; r++)
        if (c->fd[r] >= 0)
            close(c->fd[r]);
    for (size_t i = 0; i < c->ncore_states; i++)
        if (c->cores[i].freq_fd >= 0)
            close(c->cores[i].freq_fd);
    for (size_t i = 0; i < c->nnodev; i++)
        free(c->nodev_fs[i]);
    free(c->nodev_fs);
    free(c->cores);
    free(c->disks);
    free(c->ifaces);
    free(c->mounts);
    free(c->buf);
    free(c);
}

void
sm_collector_set_statvfs(struct sm_collector *c, sm_statvfs_fn fn)
{
    c->statvfs_fn = fn;
}

size_t
sm_collector_nreaders(const struct sm_collector *c)
{
    return R_COUNT;
}

const char *
sm_collector_reader_name(const struct sm_collector *c, size_t i)
{
    return i < R_COUNT ? reader_names[i] : NULL;
}

int
sm_collector_reader_ok(const struct sm_collector *c, size_t i)
{
    return i < R_COUNT && c->ok[i];
}

/* ------------------------------------------------------------------ /proc/stat */

static void
parse_jiffies(const char **p, struct jiffies *j)
{
    j->user = sm_cu_parse_u64(p);
    j->nice = sm_cu_parse_u64(p);
    j->system = sm_cu_parse_u64(p);
    j->idle = sm_cu_parse_u64(p);
    j->iowait = sm_cu_parse_u64(p);
    j->irq = sm_cu_parse_u64(p);
    j->softirq = sm_cu_parse_u64(p);
    j->steal = sm_cu_parse_u64(p);
}

/* Percentages of the interval between prev and cur, written into the five outputs. */
static void
cpu_percent(const struct jiffies *cur, const struct jiffies *prev, double *usage, double *user,
            double *sys, double *iowait, double *steal)
{
    uint64_t du = delta(cur->user, prev->user) + delta(cur->nice, prev->nice);
    uint64_t ds = delta(cur->system, prev->system) + delta(cur->irq, prev->irq) +
                  delta(cur->softirq, prev->softirq);
    uint64_t di = delta(cur->idle, prev->idle);
    uint64_t dw = delta(cur->iowait, prev->iowait);
    uint64_t dst = delta(cur->steal, prev->steal);
    uint64_t total = du + ds + di + dw + dst;
    if (total == 0) {
        *usage = *user = *sys = *iowait = *steal = 0;
        return;
    }
    double t = (double)total;
    *user = 100.0 * (double)du / t;
    *sys = 100.0 * (double)ds / t;
    *iowait = 100.0 * (double)dw / t;
    *steal = 100.0 * (double)dst / t;
    *usage = 100.0 * (double)(du + ds + dst) / t;
}

static int
read_stat(struct sm_collector *c, struct sm_sample *s, double mono)
{
    if (read_all(c, c->fd[R_STAT]) < 0)
        return -1;
    static const struct jiffies zero;
    size_t ncores = c->present;
    /* First pass: the highest CPU number tells how many slots to report. */
    for (const char *p = c->buf; strncmp(p, "cpu", 3) == 0; p = next_line(p)) {
        if (p[3] >= '0' && p[3] <= '9') {
            const char *q = p + 3;
            uint64_t n = sm_cu_parse_u64(&q);
            if (n < SM_MAX_CORES && n + 1 > ncores)
                ncores = (size_t)n + 1;
        }
    }
    ensure_cores(c, ncores);
    struct sm_core *cores = sm_sample_cores(s, ncores);
    for (size_t i = 0; i < ncores; i++)
        cores[i].freq_mhz = -1;

    int saw_total = 0;
    for (const char *p = c->buf; strncmp(p, "cpu", 3) == 0; p = next_line(p)) {
        struct jiffies j;
        if (p[3] == ' ') {
            const char *q = p + 3;
            parse_jiffies(&q, &j);
            const struct jiffies *prev = c->have_total_prev ? &c->total_prev : &zero;
            cpu_percent(&j, prev, &s->cpu.usage, &s->cpu.user, &s->cpu.system, &s->cpu.iowait,
                        &s->cpu.steal);
            c->total_prev = j;
            c->have_total_prev = 1;
            saw_total = 1;
            continue;
        }
        const char *q = p + 3;
        uint64_t n = sm_cu_parse_u64(&q);
        if (n >= ncores)
            continue;
        parse_jiffies(&q, &j);
        struct core_state *cs = &c->cores[n];
        struct sm_core *core = &cores[n];
        core->online = 1;
        cpu_percent(&j, cs->have_prev ? &cs->prev : &zero, &core->usage, &core->user, &core->system,
                    &core->iowait, &core->steal);
        cs->prev = j;
        cs->have_prev = 1;
    }
    /* A core missing from /proc/stat is offline: forget its counters so that when it
     * returns its first interval is measured from its return, not from before. */
    for (size_t i = 0; i < ncores; i++)
        if (!cores[i].online)
            c->cores[i].have_prev = 0;
    if (!saw_total) {
        s->cpu.ncores = 0;
        return -1;
    }
    s->have |= SM_HAVE_CPU | SM_HAVE_CPU_BREAKDOWN;
    return 0;
}

/* ------------------------------------------------------------------ cpufreq */

static int
read_cpufreq(struct sm_collector *c, struct sm_sample *s, double mono)
{
    double sum = 0, fmin = -1, fmax = -1;
    int n = 0;
    char val[32];
    for (size_t i = 0; i < s->cpu.ncores && i < c->ncore_states; i++) {
        struct core_state *cs = &c->cores[i];
        if (cs->freq_fd < 0 || !s->cpu.cores[i].online)
            continue;
        ssize_t len = pread(cs->freq_fd, val, sizeof val - 1, 0);
        if (len <= 0)
            continue;
        val[len] = '\0';
        const char *p = val;
        double mhz = (double)sm_cu_parse_u64(&p) / 1000.0;
        s->cpu.cores[i].freq_mhz = mhz;
        sum += mhz;
        n++;
        if (cs->freq_min >= 0 && (fmin < 0 || cs->freq_min < fmin))
            fmin = cs->freq_min;
        if (cs->freq_max > fmax)
            fmax = cs->freq_max;
    }
    if (n == 0)
        return -1;
    s->cpu.freq_cur = sum / n;
    s->cpu.freq_min = fmin >= 0 ? fmin : 0;
    s->cpu.freq_max = fmax >= 0 ? fmax : 0;
    s->have |= SM_HAVE_FREQ;
    return 0;
}

/* ------------------------------------------------------------------ loadavg, meminfo */

static int
read_loadavg(struct sm_collector *c, struct sm_sample *s, double mono)
{
    if (read_all(c, c->fd[R_LOADAVG]) < 0)
        return -1;
    const char *p = c->buf;
    for (int i = 0; i < 3; i++)
        s->cpu.load[i] = parse_dec(&p);
    s->have |= SM_HAVE_LOAD;
    return 0;
}

static int
read_meminfo(struct sm_collector *c, struct sm_sample *s, double mono)
{
    if (read_all(c, c->fd[R_MEMINFO]) < 0)
        return -1;
    uint64_t total = 0, mfree = 0, avail = 0, buffers = 0, cached = 0, sreclaim = 0;
    uint64_t swap_total = 0, swap_free = 0;
    int have_avail = 0, have_total = 0;
    static const struct {
        const char *key;
        size_t len;
    } keys[] = {
        {"MemTotal:", 9}, {"MemFree:", 8},       {"MemAvailable:", 13}, {"Buffers:", 8},
        {"Cached:", 7},   {"SReclaimable:", 13}, {"SwapTotal:", 10},    {"SwapFree:", 9},
    };
    uint64_t *vals[] = {&total,  &mfree,    &avail,      &buffers,
                        &cached, &sreclaim, &swap_total, &swap_free};
    for (const char *p = c->buf; *p; p = next_line(p)) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            if (strncmp(p, keys[k].key, keys[k].len) != 0)
                continue;
            const char *q = p + keys[k].len;
            uint64_t v = sm_cu_parse_u64(&q);
            *vals[k] = v > UINT64_MAX / 1024 ? UINT64_MAX : v * 1024;
            if (k == 0)
                have_total = 1;
            if (k == 2)
                have_avail = 1;
            break;
        }
    }
    if (!have_total || total == 0)
        return -1;
    /* Kernels before 3.14 have no MemAvailable: estimate it as free does. */
    if (!have_avail)
        avail = mfree + buffers + cached + sreclaim;
    if (avail > total)
        avail = total;
    struct sm_mem *m = &s->mem;
    m->total = total;
    m->available = avail;
    m->used = total - avail; /* as free(1) from procps 4: total - available */
    m->free = mfree;
    m->used_percent = 100.0 * (double)m->used / (double)total;
    m->swap_total = swap_total;
    m->swap_used = swap_total >= swap_free ? swap_total - swap_free : 0;
    m->swap_percent = swap_total ? 100.0 * (double)m->swap_used / (double)swap_total : 0;
    s->have |= SM_HAVE_MEM | SM_HAVE_SWAP;
    if (swap_total == 0) /* no swap: used and total are 0, a percentage means nothing */
        s->missing |= SM_MISS_SWAP_PERCENT;
    return 0;
}

/* ------------------------------------------------------------------ filesystems */

static int
is_nodev(const struct sm_collector *c, const char *fstype)
{
    for (size_t i = 0; i < c->nnodev; i++)
        if (strcmp(c->nodev_fs[i], fstype) == 0)
            return 1;
    return 0;
}

/* Has mountinfo changed since we last parsed it? procfs signals a change with POLLPRI. */
static int
mounts_changed(struct sm_collector *c)
{
    if (!c->mounts_loaded)
        return 1;
    struct pollfd pfd = {.fd = c->fd[R_MOUNTS], .events = POLLPRI};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLPRI | POLLERR));
}

/* Parse mountinfo into the list of real filesystems: no pseudo filesystems, one mount
 * per device (the first, as df shows it). */
static int
load_mounts(struct sm_collector *c)
{
    if (read_all(c, c->fd[R_MOUNTS]) < 0)
        return -1;
    c->nmounts = 0;
    char devids[SM_MAX_FS][32];
    for (const char *p = c->buf; *p; p = next_line(p)) {
        /* id parent major:minor root mountpoint options [optional...] - fstype source super */
        const char *f[5];
        const char *q = p;
        for (int i = 0; i < 5; i++) {
            q = skip_space(q);
            f[i] = q;
            q = skip_word(q);
        }
        const char *sep = strstr(q, " - ");
        const char *eol = strchr(p, '\n');
        if (sep == NULL || (eol && sep > eol))
            continue;
        const char *fst = sep + 3, *fst_end = skip_word(fst);
        const char *src = skip_space(fst_end), *src_end = skip_word(src);
        struct mount_entry m;
        copy_field(m.fstype, sizeof m.fstype, fst, (size_t)(fst_end - fst));
        if (is_nodev(c, m.fstype) || c->nmounts >= SM_MAX_FS)
            continue;
        char devid[32];
        copy_field(devid, sizeof devid, f[2], (size_t)(skip_word(f[2]) - f[2]));
        int dup = 0;
        for (size_t i = 0; i < c->nmounts; i++)
            if (strcmp(devids[i], devid) == 0)
                dup = 1;
        if (dup)
            continue;
        copy_field(m.mount, sizeof m.mount, f[4], (size_t)(skip_word(f[4]) - f[4]));
        copy_field(m.device, sizeof m.device, src, (size_t)(src_end - src));
        c->mounts = sm_xgrow(c->mounts, &c->mounts_cap, c->nmounts + 1, sizeof *c->mounts);
        sm_strlcpy(devids[c->nmounts], devid, sizeof devids[0]);
        c->mounts[c->nmounts++] = m;
    }
    c->mounts_loaded = 1;
    return 0;
}

static int
read_mounts(struct sm_collector *c, struct sm_sample *s, double mono)
{
    if (mounts_changed(c) && load_mounts(c) < 0)
        return -1;
    for (size_t i = 0; i < c->nmounts; i++) {
        const struct mount_entry *m = &c->mounts[i];
        struct statvfs vfs;
        if (c->statvfs_fn(m->mount, &vfs) != 0 || vfs.f_blocks == 0)
            continue;
        struct sm_fs *f = sm_sample_add_fs(s);
        memcpy(f->device, m->device, sizeof f->device);
        memcpy(f->mount, m->mount, sizeof f->mount);
        memcpy(f->fstype, m->fstype, sizeof f->fstype);
        uint64_t bs = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
        f->total = (uint64_t)vfs.f_blocks * bs;
        f->free = (uint64_t)vfs.f_bavail * bs;
        uint64_t bfree = vfs.f_bfree < vfs.f_blocks ? vfs.f_bfree : vfs.f_blocks;
        f->used = ((uint64_t)vfs.f_blocks - bfree) * bs;
        /* df's percentage: used over what an unprivileged user could have (reserved excluded). */
        uint64_t denom = f->used + f->free;
        f->percent = denom ? 100.0 * (double)f->used / (double)denom : 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ diskstats */

static struct disk_state *
disk_lookup(struct sm_collector *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->ndisks; i++)
        if (strncmp(c->disks[i].name, name, len) == 0 && c->disks[i].name[len] == '\0')
            return &c->disks[i];
    if (c->ndisks >= SM_MAX_DISKS * 4 || len >= SM_NAME_LEN)
        return NULL;
    c->disks = sm_xgrow(c->disks, &c->disks_cap, c->ndisks + 1, sizeof *c->disks);
    struct disk_state *d = &c->disks[c->ndisks++];
    memset(d, 0, sizeof *d);
    memcpy(d->name, name, len);
    d->name[len] = '\0';
    /* Whole disks have a directory in /sys/block; partitions do not. Loop and RAM disks
     * are not storage anyone watches. */
    char path[SM_PATH_LEN * 2];
    struct stat st;
    snprintf(path, sizeof path, "%s/block/%s", c->sys, d->name);
    d->whole =
        stat(path, &st) == 0 && strncmp(d->name, "loop", 4) != 0 && strncmp(d->name, "ram", 3) != 0;
    return d;
}

static int
read_diskstats(struct sm_collector *c, struct sm_sample *s, double mono)
{
    if (read_all(c, c->fd[R_DISKSTATS]) < 0)
        return -1;
    for (const char *p = c->buf; *p; p = next_line(p)) {
        const char *q = p;
        sm_cu_parse_u64(&q); /* major */
        sm_cu_parse_u64(&q); /* minor */
        const char *name = skip_space(q);
        q = skip_word(name);
        struct disk_state *d = disk_lookup(c, name, (size_t)(q - name));
        if (d == NULL || !d->whole || s->ndisks >= SM_MAX_DISKS)
            continue;
        uint64_t v[10];
        for (int i = 0; i < 10; i++)
            v[i] = sm_cu_parse_u64(&q);
        /* reads merged sectors ms writes merged sectors ms in_flight io_ms */
        uint64_t rd = v[2], wr = v[6], ticks = v[9];
        struct sm_disk *out = sm_sample_add_disk(s);
        memcpy(out->name, d->name, sizeof out->name);
        if (d->have_prev) {
            double dt = mono - d->when;
            out->read_bps = rate(rd, d->rd_sectors, dt) * 512.0;
            out->write_bps = rate(wr, d->wr_sectors, dt) * 512.0;
            out->busy_percent = dt > 0 ? (double)delta(ticks, d->io_ticks) / (dt * 10.0) : 0;
            if (out->busy_percent > 100)
                out->busy_percent = 100;
        }
        s->read_bps += out->read_bps;
        s->write_bps += out->write_bps;
        d->rd_sectors = rd;
        d->wr_sectors = wr;
        d->io_ticks = ticks;
        d->when = mono;
        d->have_prev = 1;
    }
    s->have |= SM_HAVE_DISK_IO;
    return 0;
}

/* ------------------------------------------------------------------ net/dev */

static struct iface_state *
iface_lookup(struct sm_collector *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nifaces; i++)
        if (strncmp(c->ifaces[i].name, name, len) == 0 && c->ifaces[i].name[len] == '\0')
            return &c->ifaces[i];
    if (c->nifaces >= SM_MAX_IFACES * 4 || len >= SM_NAME_LEN)
        return NULL;
    c->ifaces = sm_xgrow(c->ifaces, &c->ifaces_cap, c->nifaces + 1, sizeof *c->ifaces);
    struct iface_state *f = &c->ifaces[c->nifaces++];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, len);
    f->name[len] = '\0';
    return f;
}

static int
read_netdev(struct sm_collector *c, struct sm_sample *s, double mono)
{
    if (read_all(c, c->fd[R_NETDEV]) < 0)
        return -1;
    struct sm_net *n = &s->net;
    const char *p = next_line(next_line(c->buf)); /* two header lines */
    for (; *p; p = next_line(p)) {
        const char *name = skip_space(p);
        const char *colon = strchr(name, ':');
        const char *eol = strchr(name, '\n');
        if (colon == NULL || (eol && colon > eol))
            continue;
        const char *q = colon + 1;
        uint64_t v[16];
        for (int i = 0; i < 16; i++)
            v[i] = sm_cu_parse_u64(&q);
        /* rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop
         * ... */
        n->bytes_recv += v[0];
        n->packets_recv += v[1];
        n->errin += v[2];
        n->dropin += v[3];
        n->bytes_sent += v[8];
        n->packets_sent += v[9];
        n->errout += v[10];
        n->dropout += v[11];
        struct iface_state *st = iface_lookup(c, name, (size_t)(colon - name));
        if (st == NULL || n->nifaces >= SM_MAX_IFACES)
            continue;
        struct sm_iface *f = sm_sample_add_iface(s);
        memcpy(f->name, st->name, sizeof f->name);
        f->rx_bytes = v[0];
        f->tx_bytes = v[8];
        if (st->have_prev) {
            f->rx_bps = rate(v[0], st->rx, mono - st->when);
            f->tx_bps = rate(v[8], st->tx, mono - st->when);
        }
        if (strcmp(f->name, "lo") != 0) {
            n->rx_bps += f->rx_bps;
            n->tx_bps += f->tx_bps;
        }
        st->rx = v[0];
        st->tx = v[8];
        st->when = mono;
        st->have_prev = 1;
    }
    /* Forget interfaces that disappeared, so a new one of the same name starts afresh. */
    for (size_t i = 0; i < c->nifaces; i++)
        if (c->ifaces[i].when != mono)
            c->ifaces[i].have_prev = 0;
    s->have |= SM_HAVE_NET;
    return 0;
}

/* ------------------------------------------------------------------ sample */

/* The readers in the order they run: cpufreq after stat (it needs the online cores). */
static const struct {
    enum reader_id id;
    int (*read)(struct sm_collector *c, struct sm_sample *s, double mono);
} readers[] = {
    {R_STAT, read_stat},       {R_CPUFREQ, read_cpufreq}, {R_LOADAVG, read_loadavg},
    {R_MEMINFO, read_meminfo}, {R_MOUNTS, read_mounts},   {R_DISKSTATS, read_diskstats},
    {R_NETDEV, read_netdev},
};

enum sm_rc
sm_collector_sample_at(struct sm_collector *c, double mono, double wall, struct sm_sample *out)
{
    sm_sample_clear(out);
    out->timestamp = wall;
    int any = 0;
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
        enum reader_id r = readers[i].id;
        if (!c->ok[r] || (r == R_CPUFREQ && !(out->have & SM_HAVE_CPU)))
            continue;
        errno = 0;
        if (readers[i].read(c, out, mono) == 0)
            any = 1;
        else if (r != R_CPUFREQ) /* a core without cpufreq is normal; no reader failure */
            reader_fail(c, r, errno ? strerror(errno) : "unexpected content");
    }
    return any ? SM_OK : SM_EUNAVAIL;
}

/* ------------------------------------------------------------------ host facts */

static void
os_pretty_name(char *out, size_t outsz)
{
    static const char *const files[] = {"/etc/os-release", "/usr/lib/os-release"};
    sm_strlcpy(out, "Linux", outsz);
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "re");
        if (f == NULL)
            continue;
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "PRETTY_NAME=", 12) != 0)
                continue;
            char *v = line + 12, *e = v + strcspn(v, "\n");
            *e = '\0';
            if (*v == '"' || *v == '\'') {
                v++;
                if (e > v && (e[-1] == '"' || e[-1] == '\''))
                    e[-1] = '\0';
            }
            sm_strlcpy(out, v, outsz);
            break;
        }
        fclose(f);
        return;
    }
}

void
sm_collector_host(struct sm_collector *c, struct sm_host *h)
{
    memset(h, 0, sizeof *h);
    if (read_small(c->proc, "sys/kernel/hostname", h->hostname, sizeof h->hostname) != 0)
        gethostname(h->hostname, sizeof h->hostname - 1);
    if (read_small(c->proc, "sys/kernel/osrelease", h->kernel, sizeof h->kernel) != 0)
        sm_strlcpy(h->kernel, "unknown", sizeof h->kernel);
    struct utsname u;
    if (uname(&u) == 0)
        sm_strlcpy(h->arch, u.machine, sizeof h->arch);
    os_pretty_name(h->os, sizeof h->os);
    sm_strlcpy(h->agent_version, PACKAGE_VERSION, sizeof h->agent_version);
    sm_strlcpy(h->cpu_model, "unknown", sizeof h->cpu_model);

    int fd = open_under(c->proc, "cpuinfo");
    if (fd >= 0 && read_all(c, fd) >= 0) {
        static const char *const keys[] = {"model name", "Hardware", "cpu model", "Processor"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const char *p = strstr(c->buf, keys[k]);
            if (p == NULL || (p != c->buf && p[-1] != '\n'))
                continue;
            const char *colon = strchr(p, ':');
            if (colon == NULL)
                continue;
            const char *v = skip_space(colon + 1);
            copy_field(h->cpu_model, sizeof h->cpu_model, v, strcspn(v, "\n"));
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    if (c->fd[R_STAT] >= 0 && read_all(c, c->fd[R_STAT]) >= 0) {
        for (const char *p = c->buf; *p; p = next_line(p)) {
            if (strncmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9')
                h->cores++;
            if (strncmp(p, "btime ", 6) == 0) {
                const char *q = p + 6;
                h->boot_time = (int64_t)sm_cu_parse_u64(&q);
            }
        }
    }
}
