/* test_collect.c: the Linux collector on captured and synthetic /proc and /sys trees. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "collect/collect.h"
#include "log.h"
#include "sample.h"
#include "tap.h"

static char tmpdir[256];
static const char *srcdir;

/* Copy fixture NAME/t0 to a fresh temporary tree; returns its path. */
static const char *
stage(const char *name)
{
    char cmd[1024];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smcollect.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        abort();
    snprintf(cmd, sizeof cmd, "cp -R '%s/tests/fixtures/%s/t0/.' '%s/'", srcdir, name, tmpdir);
    if (system(cmd) != 0)
        abort();
    return tmpdir;
}

/* Overwrite the staged files in place with NAME/t1 (same inodes, so open files see it). */
static void
advance(const char *name)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp -R '%s/tests/fixtures/%s/t1/.' '%s/'", srcdir, name, tmpdir);
    if (system(cmd) != 0)
        abort();
}

static void
unstage(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        abort();
}

static struct sm_collector *
collector_at(const char *root)
{
    char proc[512], sys[512];
    snprintf(proc, sizeof proc, "%s/proc", root);
    snprintf(sys, sizeof sys, "%s/sys", root);
    return sm_collector_new(proc, sys);
}

/* statvfs for fixture mountpoints: 4 KiB blocks, 1000 blocks, 400 free, 300 available. */
static int
fake_statvfs(const char *path, struct statvfs *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(path, "/mnt/nfs") == 0)
        return -1;
    out->f_bsize = out->f_frsize = 4096;
    out->f_blocks = 1000;
    out->f_bfree = 400;
    out->f_bavail = 300;
    return 0;
}

static const struct sm_disk *
find_disk(const struct sm_sample *s, const char *name)
{
    for (size_t i = 0; i < s->ndisks; i++)
        if (strcmp(s->disks[i].name, name) == 0)
            return &s->disks[i];
    return NULL;
}

static const struct sm_iface *
find_iface(const struct sm_sample *s, const char *name)
{
    for (size_t i = 0; i < s->net.nifaces; i++)
        if (strcmp(s->net.ifaces[i].name, name) == 0)
            return &s->net.ifaces[i];
    return NULL;
}

static const struct sm_fs *
find_fs(const struct sm_sample *s, const char *mount)
{
    for (size_t i = 0; i < s->nfs; i++)
        if (strcmp(s->fs[i].mount, mount) == 0)
            return &s->fs[i];
    return NULL;
}

/* The captured 2-core Debian VM: no cpufreq, one real filesystem, vda and zram0. */
static void
test_debian_vm(void)
{
    const char *root = stage("debian12-vm");
    struct sm_collector *c = collector_at(root);
    sm_collector_set_statvfs(c, fake_statvfs);
    struct sm_sample s;
    sm_sample_init(&s);
    ok(sm_collector_sample_at(c, 100.0, 1.7e9, &s) == SM_OK, "vm: first sample ok");
    ok(s.cpu.ncores == 2, "vm: 2 cores (got %zu)", s.cpu.ncores);
    ok(!(s.have & SM_HAVE_FREQ), "vm: no cpufreq, no frequency reported");
    ok(s.cpu.cores[0].freq_mhz < 0 && s.cpu.cores[1].freq_mhz < 0, "vm: per-core freq unknown");
    /* cpu  5513 0 7877 2821461 426 0 178 0 : since boot, busy = user+system+softirq */
    double total = 5513 + 7877 + 2821461 + 426 + 178;
    ok_near(s.cpu.usage, 100.0 * (5513 + 7877 + 178) / total, 1e-9,
            "vm: first sample cpu since boot");
    ok(s.mem.total == 25276026880ULL || s.mem.total > 0, "vm: memory total read");
    ok(s.mem.used == s.mem.total - s.mem.available, "vm: used = total - available");
    ok(s.nfs == 1 && strcmp(s.fs[0].mount, "/") == 0 && strcmp(s.fs[0].fstype, "ext4") == 0,
       "vm: only / is a real filesystem (got %zu)", s.nfs);
    ok(find_disk(&s, "vda") && find_disk(&s, "zram0") && !find_disk(&s, "loop0"),
       "vm: whole disks vda and zram0, loop devices skipped");
    ok(find_iface(&s, "eth0") && find_iface(&s, "lo"), "vm: interfaces eth0 and lo");
    ok(s.net.rx_bps == 0 && s.read_bps == 0, "vm: first sample has zero rates");
    ok_near(s.cpu.load[0], 0.0, 100, "vm: load parsed");
    struct sm_host h;
    sm_collector_host(c, &h);
    ok(h.cores == 2, "vm: host cores 2");
    ok(h.boot_time == 1795587839, "vm: boot time from btime (got %lld)", (long long)h.boot_time);
    ok_str(h.cpu_model, "AMD EPYC", "vm: cpu model");
    ok(h.hostname[0] != '\0' && h.kernel[0] != '\0', "vm: hostname and kernel read");
    for (size_t i = 0; i < sm_collector_nreaders(c); i++) {
        const char *n = sm_collector_reader_name(c, i);
        int want = strcmp(n, "cpufreq") != 0;
        ok(sm_collector_reader_ok(c, i) == want, "vm: reader %s %s", n,
           want ? "ok" : "unavailable");
    }
    sm_sample_done(&s);
    sm_collector_free(c);
    unstage();
}

/* 16 cores with cpufreq: per-core rates, frequencies, disks and interfaces over 2 s. */
static void
test_workstation(void)
{
    const char *root = stage("workstation-16core");
    struct sm_collector *c = collector_at(root);
    sm_collector_set_statvfs(c, fake_statvfs);
    struct sm_sample s;
    sm_sample_init(&s);
    ok(sm_collector_sample_at(c, 10.0, 1.7e9, &s) == SM_OK, "ws: first sample");
    ok(s.cpu.ncores == 16, "ws: 16 cores");
    ok(s.have & SM_HAVE_FREQ, "ws: cpufreq present");
    ok_near(s.cpu.cores[5].freq_mhz, 1700, 1e-9, "ws: core 5 at 1700 MHz");
    ok_near(s.cpu.freq_min, 800, 1e-9, "ws: min freq 800 MHz");
    ok_near(s.cpu.freq_max, 5000, 1e-9, "ws: max freq 5000 MHz");
    ok_near(s.cpu.freq_cur, 1200 + 750, 1e-9, "ws: current freq is the mean of the cores");

    /* Filesystems: /, /boot/efi, /home, "/mnt/my disk"; not the bind mount of /home's
     * device, tmpfs, proc, overlay, nfs. */
    ok(s.nfs == 4, "ws: 4 real filesystems (got %zu)", s.nfs);
    ok(find_fs(&s, "/") && find_fs(&s, "/boot/efi") && find_fs(&s, "/home"),
       "ws: /, /boot/efi, /home");
    ok(find_fs(&s, "/mnt/my disk") != NULL, "ws: octal escape in mountpoint decoded");
    ok(find_fs(&s, "/srv/data") == NULL, "ws: second mount of the same device skipped");
    ok(find_fs(&s, "/run") == NULL && find_fs(&s, "/mnt/nfs") == NULL, "ws: tmpfs and nfs skipped");
    const struct sm_fs *f = find_fs(&s, "/home");
    ok(f && f->total == 4096000 && f->free == 300 * 4096 && f->used == 600 * 4096,
       "ws: sizes as df (total, available, used)");
    ok_near(f ? f->percent : -1, 100.0 * 600 / 900, 1e-9, "ws: percent as df (reserved excluded)");
    ok_str(f ? f->device : "", "/dev/sda1", "ws: device");

    ok(find_disk(&s, "nvme0n1") && find_disk(&s, "sda") && find_disk(&s, "dm-0"),
       "ws: whole disks");
    ok(!find_disk(&s, "nvme0n1p1") && !find_disk(&s, "sda1") && !find_disk(&s, "loop0"),
       "ws: partitions and loop devices skipped");

    advance("workstation-16core");
    ok(sm_collector_sample_at(c, 12.0, 1.7e9 + 2, &s) == SM_OK, "ws: second sample");
    for (int n = 0; n < 16; n += 5) {
        char name[64];
        snprintf(name, sizeof name, "ws: core %d busy (n+1)*10/200", n);
        ok_near(s.cpu.cores[n].usage, 100.0 * (n + 1) * 10 / 200, 1e-9, name);
    }
    ok_near(s.cpu.cores[15].user, 100.0 * 80 / 200, 1e-9, "ws: core 15 user share");
    ok_near(s.cpu.cores[15].system, 100.0 * 80 / 200, 1e-9, "ws: core 15 system share");
    ok_near(s.cpu.usage, 100.0 * 1360 / 3200, 1e-9, "ws: total usage over the interval");
    ok_near(s.cpu.cores[3].freq_mhz, 4700, 1e-9, "ws: core 3 frequency changed");
    const struct sm_disk *d = find_disk(&s, "nvme0n1");
    ok_near(d ? d->read_bps : -1, 4096 * 512 / 2.0, 1e-6, "ws: nvme read bytes/s");
    ok_near(d ? d->write_bps : -1, 8192 * 512 / 2.0, 1e-6, "ws: nvme write bytes/s");
    ok_near(d ? d->busy_percent : -1, 500 / 20.0, 1e-9, "ws: nvme busy 500 ms of 2 s");
    d = find_disk(&s, "sda");
    ok_near(d ? d->busy_percent : -1, 100, 1e-9, "ws: busy capped at 100%%");
    ok_near(s.read_bps, 4096 * 512 / 2.0, 1e-6, "ws: total read is whole disks only");
    const struct sm_iface *i = find_iface(&s, "enp3s0");
    ok_near(i ? i->rx_bps : -1, 1e6, 1e-6, "ws: enp3s0 rx 1 MB/s");
    ok_near(i ? i->tx_bps : -1, 1e5, 1e-6, "ws: enp3s0 tx 100 kB/s");
    ok(find_iface(&s, "wlp2s0") == NULL, "ws: vanished interface gone");
    i = find_iface(&s, "wg0");
    ok(i && i->rx_bps == 0 && i->tx_bps == 0, "ws: new interface starts with zero rate");
    ok(s.net.bytes_recv == 1000 + 2500000 + 200 + 7000, "ws: bytes_recv sums interfaces");
    ok(s.net.errin == 4 && s.net.dropout == 16, "ws: error and drop totals");
    sm_sample_done(&s);
    sm_collector_free(c);
    unstage();
}

/* A core offline in /proc/stat is reported offline, and measured afresh when back. */
static void
test_offline_core(void)
{
    const char *root = stage("offline-core");
    struct sm_collector *c = collector_at(root);
    struct sm_sample s;
    sm_sample_init(&s);
    ok(sm_collector_sample_at(c, 1.0, 1.7e9, &s) == SM_OK, "hotplug: first sample");
    ok(s.cpu.ncores == 4, "hotplug: 4 slots from sys present (got %zu)", s.cpu.ncores);
    ok(s.cpu.cores[2].online == 0 && s.cpu.cores[2].usage == 0, "hotplug: cpu2 offline");
    ok(s.cpu.cores[3].online == 1, "hotplug: cpu3 online");
    advance("offline-core");
    ok(sm_collector_sample_at(c, 2.0, 1.7e9 + 1, &s) == SM_OK, "hotplug: second sample");
    ok(s.cpu.cores[3].online == 0 && s.cpu.cores[3].usage == 0, "hotplug: cpu3 went offline");
    ok(s.cpu.cores[2].online == 1, "hotplug: cpu2 back");
    ok(s.cpu.cores[2].usage >= 0 && s.cpu.cores[2].usage <= 100, "hotplug: cpu2 usage sane (%.1f)",
       s.cpu.cores[2].usage);
    ok_near(s.cpu.cores[0].usage, 100.0 * 100 / 200, 1e-9, "hotplug: cpu0 interval usage");
    ok(s.cpu.usage >= 0 && s.cpu.usage <= 100, "hotplug: total usage within 0..100 (%.1f)",
       s.cpu.usage);
    ok(s.nfs == 0 && s.ndisks == 0, "hotplug: empty mount and disk lists are fine");
    sm_sample_done(&s);
    sm_collector_free(c);
    unstage();
}

/* Wrapped and reset counters give zero, never a negative or absurd rate. */
static void
test_counter_wrap(void)
{
    const char *root = stage("counter-wrap");
    struct sm_collector *c = collector_at(root);
    struct sm_sample s;
    sm_sample_init(&s);
    ok(sm_collector_sample_at(c, 1.0, 1.7e9, &s) == SM_OK, "wrap: first sample");
    advance("counter-wrap");
    ok(sm_collector_sample_at(c, 2.0, 1.7e9 + 1, &s) == SM_OK, "wrap: second sample");
    const struct sm_iface *i = find_iface(&s, "eth0");
    ok(i && i->rx_bps == 0 && i->tx_bps == 0, "wrap: wrapped net counters give 0");
    const struct sm_disk *d = find_disk(&s, "vda");
    ok(d && d->read_bps == 0 && d->write_bps == 0 && d->busy_percent == 0,
       "wrap: reset disk counters give 0");
    ok(s.cpu.iowait == 0, "wrap: iowait going backwards counts as 0");
    ok(s.cpu.usage > 0 && s.cpu.usage <= 100, "wrap: usage still sane (%.2f)", s.cpu.usage);
    ok_near(s.cpu.cores[0].usage, 100.0 * 150 / 200, 1e-9,
            "wrap: core usage from the other fields");
    sm_sample_done(&s);
    sm_collector_free(c);
    unstage();
}

/* An unreadable file marks its reader unavailable; the others still report. */
static void
test_missing_files(void)
{
    const char *root = stage("workstation-16core");
    char path[512];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    unlink(path);
    snprintf(path, sizeof path, "%s/proc/net/dev", root);
    unlink(path);
    struct sm_collector *c = collector_at(root);
    sm_collector_set_statvfs(c, fake_statvfs);
    struct sm_sample s;
    sm_sample_init(&s);
    ok(sm_collector_sample_at(c, 1.0, 1.7e9, &s) == SM_OK, "missing: sample still ok");
    ok(!(s.have & SM_HAVE_MEM) && !(s.have & SM_HAVE_NET), "missing: no memory, no network");
    ok((s.have & SM_HAVE_CPU) && s.nfs == 4, "missing: cpu and filesystems still reported");
    int unavailable = 0;
    for (size_t i = 0; i < sm_collector_nreaders(c); i++)
        if (!sm_collector_reader_ok(c, i))
            unavailable++;
    ok(unavailable == 2, "missing: two readers unavailable (got %d)", unavailable);
    sm_collector_free(c);

    /* Content that is not what the kernel writes: the reader fails, no crash. */
    snprintf(path, sizeof path, "%s/proc/stat", root);
    FILE *fp = fopen(path, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    c = collector_at(root);
    sm_collector_set_statvfs(c, fake_statvfs);
    ok(sm_collector_sample_at(c, 1.0, 1.7e9, &s) == SM_OK && !(s.have & SM_HAVE_CPU),
       "missing: malformed /proc/stat leaves cpu out");
    sm_collector_free(c);

    c = sm_collector_new("/nonexistent/proc", "/nonexistent/sys");
    ok(sm_collector_sample_at(c, 1.0, 1.7e9, &s) == SM_EUNAVAIL, "missing: nothing readable");
    sm_collector_free(c);
    sm_sample_done(&s);
    unstage();
}

/* Steady state reuses the sample's arrays: no allocation per sample. */
static void
test_no_realloc(void)
{
    struct sm_collector *c = sm_collector_new(NULL, NULL);
    struct sm_sample s;
    sm_sample_init(&s);
    if (sm_collector_sample(c, &s) != SM_OK || sm_collector_sample(c, &s) != SM_OK) {
        ok(0, "live: sampling this machine");
        return;
    }
    void *cores = s.cpu.cores, *fs = s.fs, *disks = s.disks, *ifaces = s.net.ifaces;
    int same = 1;
    for (int i = 0; i < 50; i++) {
        if (sm_collector_sample(c, &s) != SM_OK)
            same = 0;
        same &= s.cpu.cores == cores && s.fs == fs && s.disks == disks && s.net.ifaces == ifaces;
    }
    ok(same, "live: 50 samples reuse the same arrays");
    ok(s.cpu.ncores == (size_t)sysconf(_SC_NPROCESSORS_CONF), "live: core count matches sysconf");
    sm_sample_done(&s);
    sm_collector_free(c);
}

int
main(void)
{
    srcdir = getenv("top_srcdir");
    if (srcdir == NULL)
        srcdir = ".";
    sm_log_init("test_collect");
    sm_log_set_level(SM_LOG_ERROR);
    test_debian_vm();
    test_workstation();
    test_offline_core();
    test_counter_wrap();
    test_missing_files();
    test_no_realloc();
    return tap_done();
}
