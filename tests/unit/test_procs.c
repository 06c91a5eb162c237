/* test_procs.c: the process list reader on fixture trees (tests/fixtures/make_procs.py)
 * and on this host, compared with ps(1) and psutil (the original agent's library,
 * python3-psutil) at the same moment. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/proc.h"
#include "clock.h"
#include "collect/util.h"
#include "tap.h"

static const char *srcdir;
static char tmpdir[256];

static void
run(const char *cmd)
{
    if (system(cmd) != 0)
        abort();
}

/* Copy fixture NAME/t0 into a fresh directory; returns its proc root. */
static const char *
stage(const char *name)
{
    static char proc[512];
    char cmd[1200];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smprocs.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        abort();
    snprintf(cmd, sizeof cmd, "cp -PR '%s/tests/fixtures/%s/t0/.' '%s/'", srcdir, name, tmpdir);
    run(cmd);
    snprintf(proc, sizeof proc, "%s/proc", tmpdir);
    return proc;
}

/* Overwrite in place with NAME/t1 (same inodes, so kept files see it) and remove the
 * pids t1 does not have. */
static void
advance(const char *name)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "cp -PR '%s/tests/fixtures/%s/t1/.' '%s/' && cd '%s/proc' && for d in [0-9]*; do "
             "[ -e '%s/tests/fixtures/%s/t1/proc/'$d ] || rm -rf $d; done",
             srcdir, name, tmpdir, tmpdir, srcdir, name);
    run(cmd);
}

static void
unstage(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    run(cmd);
}

static const struct sm_proc *
find(const struct sm_proc_list *l, int pid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].pid == pid)
            return &l->v[i];
    return NULL;
}

/* No control byte, and valid UTF-8 (checked by sanitizing again: a fixed point). */
static int
displayable(const char *s)
{
    char again[SM_PROC_CMD_LEN];
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    sm_cu_sanitize(again, sizeof again, s, strlen(s));
    return strcmp(again, s) == 0;
}

static void
test_sanitize(void)
{
    static const struct {
        const char *in, *out;
        size_t outsz;
    } cases[] = {
        {"plain", "plain", 64},
        {"tab\there\nnl", "tab here nl", 64},
        {"\x1b[2J\x07", "?[2J?", 64},
        {"\xff\xfe\xc0\xaf", "????", 64}, /* invalid bytes, overlong '/' */
        {"\xed\xa0\x80", "???", 64},      /* a UTF-16 surrogate */
        {"\xc2\x9b"
         "1m",
         "??1m", 64},                       /* C1 CSI */
        {"caf\xc3\xa9", "caf\xc3\xa9", 64}, /* é kept */
        {"ab\xe2\x98\x83", "ab", 4},        /* ☃ does not fit: not cut in half */
        {"\xe2\x98", "??", 64},             /* a truncated sequence */
        {"abcdef", "abc", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64], name[64];
        sm_cu_sanitize(out, cases[i].outsz, cases[i].in, strlen(cases[i].in));
        snprintf(name, sizeof name, "sanitize case %zu", i);
        ok_str(out, cases[i].out, name);
    }
}

static void
test_fixture(void)
{
    const char *proc = stage("procs");
    struct sm_procs *p = sm_procs_new(proc);
    struct sm_proc_list l, sel;
    sm_proc_list_init(&l);
    sm_proc_list_init(&sel);
    long page = sysconf(_SC_PAGESIZE);

    ok(sm_procs_read_at(p, 100.0, SM_PROCS_CMDLINE | SM_PROCS_IO | SM_PROCS_EXACT_RSS, &l) == SM_OK,
       "t0: read");
    ok(l.n == 10, "t0: 10 processes listed (got %zu)", l.n);
    ok(l.nskipped == 3, "t0: vanished, unreadable and truncated pids skipped (got %zu)",
       l.nskipped);
    int sorted = 1, clean = 1;
    for (size_t i = 0; i < l.n; i++) {
        if (i > 0 && l.v[i - 1].pid >= l.v[i].pid)
            sorted = 0;
        if (!displayable(l.v[i].comm) || !displayable(l.v[i].cmdline) || !displayable(l.v[i].user))
            clean = 0;
    }
    ok(sorted, "t0: in pid order");
    ok(clean, "t0: every name displayable (no control bytes, valid UTF-8)");

    const struct sm_proc *pr = find(&l, 1);
    ok(pr != NULL, "pid 1 listed");
    if (pr) {
        ok_str(pr->comm, "systemd", "pid 1 comm");
        ok_str(pr->cmdline, "/sbin/init splash", "pid 1 cmdline, arguments joined");
        ok(pr->ppid == 0 && pr->state == 'S' && pr->threads == 1, "pid 1 ppid, state, threads");
        ok_near(pr->cpu_percent, 100.0 * 8.0 / (1000.0 - 0.1), 1e-6,
                "pid 1: first read is the average since start, as ps");
        ok(pr->rss == 3000 * (uint64_t)page, "pid 1 rss in bytes");
        ok_near(pr->start_time, 1700000000.1, 1e-6, "pid 1 start time from btime");
        ok(pr->uid == (uint32_t)getuid(), "uid from the owner of the pid directory");
        ok_str(pr->user, sm_procs_user(p, pr->uid), "user name from the cache");
        ok(!pr->kernel_thread && !pr->have_io, "pid 1: not a kernel thread, no io file");
    }
    pr = find(&l, 2);
    ok(pr && pr->kernel_thread && pr->have_cmdline && pr->cmdline[0] == '\0',
       "kthreadd: a kernel thread with an empty command line");
    pr = find(&l, 100);
    ok(pr && strcmp(pr->comm, "evil) name (x") == 0 && pr->threads == 4 && pr->state == 'S',
       "a comm with spaces and ')' parsed up to the last ')'");
    ok(pr && strcmp(pr->cmdline, "evil --flag=a b") == 0, "cmdline with spaces inside");
    pr = find(&l, 101);
    ok_str(pr ? pr->comm : NULL, "bad name?[31m???", "hostile comm sanitized");
    ok_str(pr ? pr->cmdline : NULL, "sh -c echo ?]0;pwned???", "hostile cmdline sanitized");
    ok(pr && pr->state == 'R', "state after a name with a newline");
    pr = find(&l, 102);
    ok(pr && strlen(pr->cmdline) == SM_PROC_CMD_LEN - 1 && pr->cmdline_truncated &&
           strncmp(pr->cmdline, "bigcmd xxx", 10) == 0,
       "128 KiB cmdline capped at %d bytes and marked truncated", SM_PROC_CMD_LEN - 1);
    pr = find(&l, 106);
    ok(pr && pr->have_io && pr->read_bps == 0 && pr->write_bps == 0,
       "io readable, no rate at the first read");
    ok(pr && pr->rss == 350 * (uint64_t)page, "rss from statm when it is there");
    pr = find(&l, 108);
    ok(pr && pr->state == 'Z', "zombie listed with state Z");
    pr = find(&l, 110);
    ok_str(pr ? pr->comm : NULL, "caf\xc3\xa9 \xe2\x98\x83", "valid UTF-8 comm kept");
    ok(pr && pr->nice == -5, "negative nice");
    ok(find(&l, 103) == NULL && find(&l, 104) == NULL && find(&l, 109) == NULL,
       "vanished, unreadable, truncated: not listed");

    advance("procs");
    ok(sm_procs_read_at(p, 102.0, SM_PROCS_IO, &l) == SM_OK, "t1: read");
    pr = find(&l, 1);
    ok_near(pr ? pr->cpu_percent : -1, 100.0, 1e-6, "pid 1: 2 s of CPU in 2 s is 100 %");
    ok(pr && !pr->have_cmdline, "no command line read without SM_PROCS_CMDLINE");
    pr = find(&l, 106);
    ok(pr && !pr->rss_exact && pr->rss == 300 * (uint64_t)page,
       "without SM_PROCS_EXACT_RSS: stat's estimate, marked as such");
    pr = find(&l, 100);
    ok_near(pr ? pr->cpu_percent : -1, 150.0, 1e-6, "pid 100: percent of one core, above 100");
    pr = find(&l, 105);
    ok(pr && strcmp(pr->comm, "newjob") == 0, "reused pid: the new process");
    ok_near(pr ? pr->cpu_percent : -1, 100.0 * 0.1 / (1002.0 - 999.5), 1e-6,
            "reused pid: rate from its own start, not from the old process's counters");
    pr = find(&l, 106);
    ok_near(pr ? pr->read_bps : -1, 524288.0, 1e-6, "io read bytes/s");
    ok_near(pr ? pr->write_bps : -1, 1048576.0, 1e-6, "io write bytes/s");
    ok(find(&l, 107) == NULL, "an exited process is gone");
    pr = find(&l, 200);
    ok_near(pr ? pr->cpu_percent : -1, 50.0, 1e-6, "a process born between reads");

    sm_procs_select(&l, 3, &sel);
    ok(sel.n == 4 && sel.v[0].pid == 100 && sel.v[1].pid == 1 && sel.v[2].pid == 200 &&
           sel.v[3].pid == 106,
       "select 3: top CPU and top RSS joined, by CPU (got %zu)", sel.n);
    sm_procs_complete(p, &sel);
    ok(sel.v[1].have_cmdline && strcmp(sel.v[1].cmdline, "/sbin/init splash") == 0,
       "complete reads the command lines of the selected few");
    ok(sel.v[3].pid == 106 && sel.v[3].rss_exact && sel.v[3].rss == 350 * (uint64_t)page,
       "complete reads their exact RSS");
    sm_procs_select(&l, 0, &sel);
    ok(sel.n == 0, "select 0: nothing");
    sm_procs_select(&l, 100, &sel);
    ok(sel.n == l.n, "select more than there are: all");

    /* The command line is cached: re-read only when comm changes (an exec). Files are
     * rewritten in place (same inode), as /proc would show them to a kept fd. */
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "cd '%s/proc' && printf 'changed\\0' > 1/cmdline && c=$(sed 's/(defunct)/(respawn)/' "
             "108/stat) && "
             "printf '%%s\\n' \"$c\" > 108/stat && printf 'respawn\\0--x\\0' > 108/cmdline",
             tmpdir);
    run(cmd);
    ok(sm_procs_read_at(p, 104.0, SM_PROCS_CMDLINE, &l) == SM_OK, "t2: read");
    pr = find(&l, 1);
    ok(pr && pr->have_cmdline && strcmp(pr->cmdline, "/sbin/init splash") == 0,
       "same comm: the cached command line");
    pr = find(&l, 108);
    ok(pr && strcmp(pr->comm, "respawn") == 0 && strcmp(pr->cmdline, "respawn --x") == 0,
       "comm changed (exec): the command line read again");
    pr = find(&l, 102);
    ok(pr && pr->cmdline_truncated, "cached command line keeps its truncation mark");

    sm_proc_list_done(&sel);
    sm_proc_list_done(&l);
    sm_procs_free(p);
    unstage();
}

/* SM_PROCS_LAZY, as the agent reads: stat only for processes whose schedstat moved
 * (or that have several threads), and sm_procs_complete re-reading stat and reading
 * the io rates of the selected few. */
static void
test_lazy(void)
{
    const char *proc = stage("procs");
    char cmd[1400];
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && printf '5000 0 1\\n' > 1/schedstat && printf '9000 0 1\\n' > 100/schedstat "
        "&& printf '7000 0 1\\n' > 106/schedstat && printf '1 0 1\\n' > 110/schedstat && "
        "mkdir 110/io",
        proc);
    run(cmd);
    struct sm_procs *p = sm_procs_new(proc);
    struct sm_proc_list l, sel;
    sm_proc_list_init(&l);
    sm_proc_list_init(&sel);
    ok(sm_procs_read_at(p, 100.0, SM_PROCS_LAZY, &l) == SM_OK, "lazy t0: read");
    ok(l.n == 10, "lazy t0: 10 processes listed (got %zu)", l.n);
    const struct sm_proc *pr = find(&l, 1);
    ok_near(pr ? pr->cpu_percent : -1, 100.0 * 8.0 / (1000.0 - 0.1), 1e-6,
            "lazy t0: first read is stat's, the average since start");
    sm_procs_select(&l, 100, &sel);
    sm_procs_complete(p, &sel);
    pr = find(&sel, 106);
    ok(pr && !pr->have_io, "complete: the first io read of a process gives no rate yet");

    advance("procs");
    /* pid 1 has run (its stat says so) but its schedstat has not moved: the lazy read
     * believes schedstat. Its state changed too, which complete sees. */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf '7100 0 2\\n' > 106/schedstat && c=$(sed 's/) S /) D /' 1/stat) "
             "&& printf '%%s\\n' \"$c\" > 1/stat",
             proc);
    run(cmd);
    ok(sm_procs_read_at(p, 102.0, SM_PROCS_LAZY, &l) == SM_OK, "lazy t1: read");
    pr = find(&l, 1);
    ok(pr && pr->cpu_percent == 0 && pr->cpu_seconds == 8.0 && pr->state == 'S',
       "schedstat unmoved: stat not read, the last read's fields");
    pr = find(&l, 100);
    ok_near(pr ? pr->cpu_percent : -1, 150.0, 1e-6,
            "several threads: stat read whatever the main thread's schedstat says");
    pr = find(&l, 106);
    ok(pr && pr->rss == 300 * (uint64_t)sysconf(_SC_PAGESIZE), "schedstat moved: stat read");
    pr = find(&l, 105);
    ok(pr && strcmp(pr->comm, "newjob") == 0, "lazy: a reused pid is the new process");
    pr = find(&l, 200);
    ok_near(pr ? pr->cpu_percent : -1, 50.0, 1e-6, "lazy: a process born between reads");
    ok(find(&l, 107) == NULL, "lazy: an exited process is gone");

    sm_procs_select(&l, 100, &sel);
    sm_procs_complete(p, &sel);
    pr = find(&sel, 1);
    ok(pr && pr->state == 'D', "complete re-reads stat when the lazy read did not");
    ok(pr && !pr->have_io, "complete: no io file, no io rates");
    ok(pr && strcmp(pr->cmdline, "/sbin/init splash") == 0, "complete: the command line");
    pr = find(&sel, 110);
    ok(pr && !pr->have_io, "complete: an unreadable io file, no io rates");
    pr = find(&sel, 106);
    ok(pr && pr->have_io, "complete: io rates where io is readable");
    ok_near(pr ? pr->read_bps : -1, 524288.0, 1e-6, "complete: io read bytes/s since the last");
    ok_near(pr ? pr->write_bps : -1, 1048576.0, 1e-6, "complete: io write bytes/s since the last");
    ok(pr && pr->rss_exact, "complete: the exact RSS");

    /* Idle at every read from here: after 2 such reads, pid 1 (by schedstat) and pid
     * 100 (4 threads, by stat's CPU ticks) are looked at every 4th read only. Then pid
     * 1 runs 1 s of CPU and pid 100 4 s: a read within 4 sees each, its rate over the
     * 4 s since it was last looked at (25 % and 100 %; a look at every read would give
     * 100 % and 400 %). */
    double t = 102.0;
    for (int i = 0; i < 6; i++) {
        t += 1.0;
        ok(sm_procs_read_at(p, t, SM_PROCS_LAZY, &l) == SM_OK, "idle read %d", i);
    }
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && printf '6000 0 3\\n' > 1/schedstat && c=$(sed 's/ 650 350 / 750 350 /' "
        "1/stat) && printf '%%s\\n' \"$c\" > 1/stat && c=$(sed 's/ 400 0 0 0 20 / 800 0 0 0 20 /' "
        "100/stat) && printf '%%s\\n' \"$c\" > 100/stat",
        proc);
    run(cmd);
    double pct1 = 0, pct100 = 0;
    for (int i = 0; i < 4; i++) {
        t += 1.0;
        ok(sm_procs_read_at(p, t, SM_PROCS_LAZY, &l) == SM_OK, "waking read %d", i);
        pr = find(&l, 1);
        if (pr && pr->cpu_percent > 0 && pct1 == 0)
            pct1 = pr->cpu_percent;
        pr = find(&l, 100);
        if (pr && pr->cpu_percent > 0 && pct100 == 0)
            pct100 = pr->cpu_percent;
    }
    ok_near(pct1, 25.0, 1e-6, "long idle, one thread: seen within 4 reads, rate over 4 s");
    ok_near(pct100, 100.0, 1e-6, "long idle, 4 threads: seen within 4 reads, rate over 4 s");

    /* pid 106 has not run since t1: as a pick, complete keeps its last exact RSS and
     * gives io rates of 0 without reading, and reads it all again within 4 reads. */
    snprintf(cmd, sizeof cmd, "cd '%s' && printf '1000 400 10 1 0 100 0\\n' > 106/statm", proc);
    run(cmd);
    int old_rss = 0, new_rss = 0, io_zero = 1;
    for (int i = 0; i < 4; i++) {
        t += 1.0;
        ok(sm_procs_read_at(p, t, SM_PROCS_LAZY, &l) == SM_OK, "quiet read %d", i);
        sm_procs_select(&l, 100, &sel);
        sm_procs_complete(p, &sel);
        pr = find(&sel, 106);
        uint64_t pg = pr ? pr->rss / (uint64_t)sysconf(_SC_PAGESIZE) : 0;
        old_rss += pg == 350;
        new_rss += pg == 400;
        io_zero = io_zero && pr && pr->have_io && pr->read_bps == 0 && pr->write_bps == 0;
    }
    ok(old_rss > 0 && new_rss > 0 && old_rss + new_rss == 4,
       "a quiet pick: its last RSS kept (%d reads), read again within 4 (%d)", old_rss, new_rss);
    ok(io_zero, "a quiet pick: io rates 0 (no IO without running)");

    sm_proc_list_done(&sel);
    sm_proc_list_done(&l);
    sm_procs_free(p);
    unstage();
}

static void
test_hidepid(void)
{
    const char *proc = stage("procs-hidepid");
    struct sm_procs *p = sm_procs_new(proc);
    struct sm_proc_list l;
    sm_proc_list_init(&l);
    ok(sm_procs_read_at(p, 1.0, SM_PROCS_CMDLINE | SM_PROCS_IO, &l) == SM_OK, "hidepid: read");
    ok(l.n == 2 && l.nskipped == 1, "hidepid: own processes listed, the hidden one skipped");
    const struct sm_proc *pr = find(&l, 4001);
    ok(pr && !pr->have_io && !pr->have_cmdline, "hidepid: unreadable io and cmdline skipped");
    pr = find(&l, 4000);
    ok(pr && strcmp(pr->cmdline, "-bash") == 0, "hidepid: readable cmdline read");
    sm_proc_list_done(&l);
    sm_procs_free(p);
    unstage();

    p = sm_procs_new("/nonexistent");
    sm_proc_list_init(&l);
    ok(sm_procs_read(p, 0, &l) == SM_EUNAVAIL && l.n == 0, "no proc root: SM_EUNAVAIL");
    sm_proc_list_done(&l);
    sm_procs_free(p);
    sm_procs_free(NULL);
}

/* ps's RSS (KiB) and %CPU for pid, run now; 0 or -1. */
static int
ps_of(int pid, double *rss_kib, double *pcpu)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ps -o rss=,pcpu= -p %d", pid);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    int n = fscanf(f, "%lf %lf", rss_kib, pcpu);
    pclose(f);
    return n == 2 ? 0 : -1;
}

/* psutil's view of pid (Debian's python3-psutil, under /usr/bin/python3: the PATH's
 * python3 may be another): RSS in KiB and the CPU seconds since start (psutil's start
 * time comes from a boot time in whole seconds, too coarse for a percentage of a
 * 4-second-old process); 0 or -1 when psutil is missing or the process is gone. */
static int
psutil_of(int pid, double *rss_kib, double *cpu_s)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import psutil; p = psutil.Process(%d); "
             "t = p.cpu_times(); print(p.memory_info().rss // 1024, t.user + t.system)' "
             "2>/dev/null",
             pid);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    int n = fscanf(f, "%lf %lf", rss_kib, cpu_s);
    pclose(f);
    return n == 2 ? 0 : -1;
}

static void
test_host(void)
{
    if (system("ps -p 1 >/dev/null 2>&1") != 0) {
        ok(1, "# SKIP no ps(1)");
        return;
    }
    double born = sm_mono_now();
    pid_t busy = fork();
    if (busy == 0) {
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    pid_t idle = fork();
    if (idle == 0) {
        /* 8 MiB touched page by page through a volatile pointer (not optimised away). */
        volatile char *big = malloc(8 << 20);
        for (size_t k = 0; big && k < (8u << 20); k += 4096)
            big[k] = 1;
        pause();
        _exit(0);
    }
    struct timespec ts = {4, 0}, ts1 = {1, 0};
    nanosleep(&ts, NULL);

    struct sm_procs *p = sm_procs_new(NULL);
    struct sm_proc_list l;
    sm_proc_list_init(&l);
    /* ps just before and just after the read. The machine is shared, so the busy child's
     * average since start (what ps shows) moves between ps's look and ours: by at most
     * 100 * dt / age points for dt seconds apart at an age of age seconds (one thread
     * gains at most dt of CPU). The reader must agree with one ps within 1 point plus
     * that drift, or lie between the two. */
    double rss0 = -1, pcpu0 = -1, rss1 = -1, pcpu1 = -1, idle_kib = -1, idle_cpu = -1;
    double t0 = sm_mono_now();
    int got = ps_of(busy, &rss0, &pcpu0) == 0;
    double tr0 = sm_mono_now();
    ok(sm_procs_read(p, SM_PROCS_IO | SM_PROCS_CMDLINE | SM_PROCS_EXACT_RSS, &l) == SM_OK,
       "host: read");
    double tr1 = sm_mono_now();
    got = got && ps_of(busy, &rss1, &pcpu1) == 0;
    double t3 = sm_mono_now();
    got = got && ps_of(idle, &idle_kib, &idle_cpu) == 0;
    /* And psutil, the original agent's library, right after. */
    double pu_rss = -1, pu_cpu = -1, pu_idle_kib = -1, pu_idle_cpu = -1;
    int pu = psutil_of(busy, &pu_rss, &pu_cpu) == 0;
    double t4 = sm_mono_now();
    pu = pu && psutil_of(idle, &pu_idle_kib, &pu_idle_cpu) == 0;
    double age = tr0 - born, drift0 = 100.0 * (tr1 - t0) / age, drift1 = 100.0 * (t3 - tr0) / age;
    double gain_pu = t4 - tr0; /* CPU seconds one thread can gain meanwhile */
    const struct sm_proc *b = find(&l, busy), *i = find(&l, idle);
    ok(got && b && i, "host: both children seen by the reader and by ps");
    if (got && b && i) {
        ok(b->rss == (uint64_t)rss1 * 1024, "host: busy child RSS equals ps (%llu vs %.0f KiB)",
           (unsigned long long)b->rss / 1024, rss1);
        ok(i->rss == (uint64_t)idle_kib * 1024,
           "host: 8 MiB child RSS equals ps (%llu vs %.0f KiB)", (unsigned long long)i->rss / 1024,
           idle_kib);
        double lo = pcpu0 < pcpu1 ? pcpu0 : pcpu1, hi = pcpu0 < pcpu1 ? pcpu1 : pcpu0;
        double c = b->cpu_percent;
        ok(fabs(c - pcpu0) <= 1.0 + drift0 || fabs(c - pcpu1) <= 1.0 + drift1 ||
               (c >= lo && c <= hi),
           "host: busy CPU %% within 1 point of ps (%.1f; ps %.1f before, %.1f after; "
           "drift bounds %.2f, %.2f)",
           c, pcpu0, pcpu1, drift0, drift1);
        ok(pu, "host: psutil sees both children (python3-psutil)");
        ok(pu && i->rss == (uint64_t)pu_idle_kib * 1024 && b->rss == (uint64_t)pu_rss * 1024,
           "host: RSS equals psutil's (%llu vs %.0f KiB; busy %llu vs %.0f)",
           (unsigned long long)i->rss / 1024, pu_idle_kib, (unsigned long long)b->rss / 1024,
           pu_rss);
        ok(pu && pu_cpu >= b->cpu_seconds - 0.02 && pu_cpu <= b->cpu_seconds + gain_pu + 0.02,
           "host: busy CPU time agrees with psutil's (%.2f s; psutil %.2f s a moment later, "
           "at most %.2f s on)",
           b->cpu_seconds, pu_cpu, gain_pu);
        ok(b->state == 'R' || b->state == 'S', "host: busy child running");
        ok(b->ppid == getpid() && b->have_io && b->uid == (uint32_t)geteuid(),
           "host: ppid, io readable for one's own child, uid");
        ok(b->threads == 1 && b->start_time > 1e9, "host: threads and start time");
    }
    nanosleep(&ts1, NULL);
    ok(sm_procs_read(p, 0, &l) == SM_OK, "host: second read");
    b = find(&l, busy);
    ok(b && b->cpu_percent > 5 && b->cpu_percent <= 101, "host: busy child's rate %.1f %%",
       b ? b->cpu_percent : -1);
    /* A child killed and reaped between two reads is gone, and nothing breaks. */
    kill(idle, SIGKILL);
    waitpid(idle, NULL, 0);
    ok(sm_procs_read(p, 0, &l) == SM_OK && find(&l, idle) == NULL, "host: exited child gone");
    kill(busy, SIGKILL);
    waitpid(busy, NULL, 0);
    sm_proc_list_done(&l);
    sm_procs_free(p);
}

int
main(void)
{
    srcdir = getenv("top_srcdir");
    if (srcdir == NULL)
        srcdir = ".";
    test_sanitize();
    test_fixture();
    test_lazy();
    test_hidepid();
    test_host();
    return tap_done();
}
