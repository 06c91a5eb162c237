/* bench_collect.c: microseconds per sample of the collector, beside a floor program that
 * only reads the same kernel files (pread of the same open files, statvfs of the same
 * filesystems) and parses nothing. Prints both and the ratio (target <= 1.5).
 * Usage: bench_collect [ITERATIONS] */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cli.h"
#include "collect/collect.h"
#include "log.h"
#include "sample.h"

#define MAX_FILES 1100

struct floor_set {
    int fd[MAX_FILES];
    size_t nfd;
    char mounts[SM_MAX_FS][SM_PATH_LEN];
    size_t nmounts;
};

static void
floor_add(struct floor_set *f, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && f->nfd < MAX_FILES)
        f->fd[f->nfd++] = fd;
}

/* The files the collector reads each sample, and the filesystems it measures. */
static void
floor_init(struct floor_set *f, const struct sm_sample *s)
{
    static const char *const files[] = {"/proc/stat", "/proc/loadavg", "/proc/meminfo",
                                        "/proc/diskstats", "/proc/net/dev"};
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        floor_add(f, files[i]);
    for (size_t i = 0; i < s->cpu.ncores; i++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%zu/cpufreq/scaling_cur_freq", i);
        floor_add(f, path);
    }
    for (size_t i = 0; i < s->nfs && i < SM_MAX_FS; i++)
        snprintf(f->mounts[f->nmounts++], SM_PATH_LEN, "%s", s->fs[i].mount);
}

static void
floor_sample(const struct floor_set *f, char *buf, size_t bufsz)
{
    for (size_t i = 0; i < f->nfd; i++) {
        off_t off = 0;
        ssize_t n;
        while ((n = pread(f->fd[i], buf, bufsz, off)) > 0)
            off += n;
    }
    for (size_t i = 0; i < f->nmounts; i++) {
        struct statvfs v;
        if (statvfs(f->mounts[i], &v) != 0)
            buf[0] = 0;
    }
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    sm_log_init(argv[0]);
    long iters = 5000;
    if (argc > 1 && sm_parse_long(argv[1], 10, 10000000, &iters) != 0)
        sm_usage_error("ITERATIONS must be a number from 10 to 10000000");
    struct sm_collector *c = sm_collector_new(NULL, NULL);
    struct sm_sample s;
    sm_sample_init(&s);
    if (sm_collector_sample(c, &s) != SM_OK)
        sm_die(1, "cannot sample this machine");
    struct floor_set f;
    floor_init(&f, &s);
    static char buf[1 << 16];

    /* Alternate rounds so that both see the same machine state; report medians. */
    enum { ROUNDS = 7 };
    double tc[ROUNDS], tf[ROUNDS];
    long per = iters / ROUNDS > 0 ? iters / ROUNDS : 1;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = sm_mono_now();
        for (long i = 0; i < per; i++)
            if (sm_collector_sample(c, &s) != SM_OK)
                sm_die(1, "sampling failed");
        double t1 = sm_mono_now();
        for (long i = 0; i < per; i++)
            floor_sample(&f, buf, sizeof buf);
        double t2 = sm_mono_now();
        tc[r] = (t1 - t0) / (double)per * 1e6;
        tf[r] = (t2 - t1) / (double)per * 1e6;
    }
    qsort(tc, ROUNDS, sizeof tc[0], cmp_double);
    qsort(tf, ROUNDS, sizeof tf[0], cmp_double);
    double mc = tc[ROUNDS / 2], mf = tf[ROUNDS / 2];
    printf("bench collect: %zu cores, %zu filesystems, %zu disks, %zu interfaces, %ld samples\n",
           s.cpu.ncores, s.nfs, s.ndisks, s.net.nifaces, per * ROUNDS);
    printf("  collector  %8.1f us/sample (median of %d rounds)\n", mc, ROUNDS);
    printf("  floor      %8.1f us/sample (pread of the same files + statvfs, no parsing)\n", mf);
    printf("  ratio      %8.2f x floor (target <= 1.50)\n", mc / mf);
    sm_sample_done(&s);
    sm_collector_free(c);
    return 0;
}
