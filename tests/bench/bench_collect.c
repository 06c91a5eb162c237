/* bench_collect.c: microseconds per sample of the collector, beside a floor program that
 * only reads the same kernel files (pread of the same open files, statvfs of the same
 * filesystems) and parses nothing. Prints both and the ratio (target <= 1.5).
 * Then the process-list reader (lib/collect/proc.h) with about 200 processes (sleeping
 * children are started to get there): one full read, the agent's read (no command lines,
 * top 10 by CPU and RSS, their command lines), beside a floor that opens, reads and
 * closes the same stat and statm files at each read, as ps does.
 * Usage: bench_collect [ITERATIONS] */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "collect/collect.h"
#include "collect/proc.h"
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

/* Read every /proc/PID/stat and statm, opening each at every read; returns the count. */
static size_t
floor_procs(char *buf, size_t bufsz)
{
    DIR *d = opendir("/proc");
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        static const char *const files[] = {"stat", "statm"};
        for (int i = 0; i < 2; i++) {
            char path[300];
            snprintf(path, sizeof path, "/proc/%s/%s", de->d_name, files[i]);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            if (pread(fd, buf, bufsz, 0) > 0 && i == 0)
                n++;
            close(fd);
        }
    }
    if (d)
        closedir(d);
    return n;
}

static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}

static void
bench_procs(long iters)
{
    enum { TARGET = 200, ROUNDS = 7, MAXKIDS = 400 };
    static pid_t kids[MAXKIDS];
    int nkids = 0;
    static char buf[4096];
    size_t have = floor_procs(buf, sizeof buf);
    while (have + (size_t)nkids < TARGET && nkids < MAXKIDS) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0)
            break;
        kids[nkids++] = p;
    }
    struct sm_procs *pr = sm_procs_new(NULL);
    struct sm_proc_list all, top;
    sm_proc_list_init(&all);
    sm_proc_list_init(&top);
    if (sm_procs_read(pr, SM_PROCS_CMDLINE | SM_PROCS_IO, &all) != SM_OK)
        sm_die(1, "cannot list processes");
    long per = iters / 20 / ROUNDS > 0 ? iters / 20 / ROUNDS : 1;
    /* CPU time of this process (the kernel's work on /proc is charged to it): on a shared
     * machine wall time mostly measures the neighbours. */
    double tfull[ROUNDS], tagent[ROUNDS], tlazy[ROUNDS], tfloor[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = cpu_now();
        for (long i = 0; i < per; i++)
            if (sm_procs_read(pr, SM_PROCS_CMDLINE | SM_PROCS_IO | SM_PROCS_EXACT_RSS, &all) !=
                SM_OK)
                sm_die(1, "process read failed");
        double t1 = cpu_now();
        for (long i = 0; i < per; i++) {
            if (sm_procs_read(pr, 0, &all) != SM_OK)
                sm_die(1, "process read failed");
            sm_procs_select(&all, 10, &top);
            sm_procs_complete(pr, &top);
        }
        double t2 = cpu_now();
        for (long i = 0; i < per; i++)
            floor_procs(buf, sizeof buf);
        double t3 = cpu_now();
        for (long i = 0; i < per; i++) {
            if (sm_procs_read(pr, SM_PROCS_LAZY, &all) != SM_OK)
                sm_die(1, "process read failed");
            sm_procs_select(&all, 10, &top);
            sm_procs_complete(pr, &top);
        }
        double t4 = cpu_now();
        tfull[r] = (t1 - t0) / (double)per * 1e6;
        tagent[r] = (t2 - t1) / (double)per * 1e6;
        tfloor[r] = (t3 - t2) / (double)per * 1e6;
        tlazy[r] = (t4 - t3) / (double)per * 1e6;
    }
    double mfull = median(tfull, ROUNDS), magent = median(tagent, ROUNDS),
           mfloor = median(tfloor, ROUNDS), mlazy = median(tlazy, ROUNDS);
    printf("bench procs: %zu processes (%d sleeping children started), %ld reads per kind\n", all.n,
           nkids, per * ROUNDS);
    printf("  full list  %8.1f CPU us/read (stat, statm, cmdline, io of every process)\n", mfull);
    printf(
        "  every stat %8.1f CPU us/read (stat; top 10 by CPU and RSS: cmdline, statm, io; %zu)\n",
        magent, top.n);
    printf("  agent      %8.1f CPU us/read (the same, SM_PROCS_LAZY: schedstat, stat of those that "
           "ran)\n",
           mlazy);
    printf(
        "  floor      %8.1f CPU us/read (open+pread+close of every stat and statm, no parsing)\n",
        mfloor);
    printf("  ratio      %8.2f x floor (agent), %.2f x floor (every stat), %.2f x floor (full); "
           "agent %.2f x every stat\n",
           mlazy / mfloor, magent / mfloor, mfull / mfloor, mlazy / magent);
    printf("  per minute %8.3f CPU s at 1 Hz (agent read alone), %.3f (every stat)\n",
           mlazy * 60 / 1e6, magent * 60 / 1e6);
    sm_proc_list_done(&all);
    sm_proc_list_done(&top);
    sm_procs_free(pr);
    for (int i = 0; i < nkids; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < nkids; i++)
        waitpid(kids[i], NULL, 0);
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
    bench_procs(iters);
    return 0;
}
