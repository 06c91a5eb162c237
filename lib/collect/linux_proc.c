/* linux_proc.c: the process list reader (see proc.h).
 *
 * Each read lists proc_root, sorts the pids, and merges them with the sorted state
 * of the previous read: a process seen before keeps its open stat fd and counters,
 * a new one gets them, a gone one is closed. Steady state allocates nothing. */
#include "config.h"

#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../clock.h"
#include "../xmalloc.h"
#include "util.h"

#define PF_KTHREAD_FLAG 0x00200000u
#define USER_CACHE_MAX 256
#define CMDLINE_READ (SM_PROC_CMD_LEN * 2) /* bytes read of a command line, at most */
/* The owner of /proc/PID is looked up at first sight and then every UID_EVERY reads (a
 * path lookup costs as much as the statm read): a daemon that drops privileges after
 * it was first seen shows its new user within UID_EVERY reads. */
#define UID_EVERY 8
/* SM_PROCS_LAZY: a process found not to have run at IDLE_AFTER reads in a row is then
 * looked at (schedstat) every IDLE_EVERY reads only, spread over the reads by pid. */
#define IDLE_AFTER 2
#define IDLE_EVERY 4

/* The fields of /proc/PID/stat this reader uses. */
struct statline {
    char state;
    int32_t ppid;
    unsigned flags;
    uint64_t ticks, starttime, rss_pages;
    int64_t nice;
    uint32_t threads;
    char comm[SM_PROC_COMM_LEN];
};

/* What is kept of a process between reads. */
struct pstate {
    int32_t pid;
    int fd;             /* /proc/PID/stat, or -1 when over the open-file budget */
    int mfd;            /* /proc/PID/statm, the same */
    int iofd;           /* /proc/PID/io, the same */
    int sfd;            /* /proc/PID/schedstat (SM_PROCS_LAZY), the same */
    int io_denied;      /* io cannot be opened (another user's process): not retried */
    uint64_t starttime; /* clock ticks after boot: with the pid, the process identity */
    uint64_t ticks;     /* utime + stime at the last read */
    uint64_t rd, wr;    /* io counters at the last read */
    int have_prev, have_io_prev;
    double when, io_when;
    uint64_t sched_ns;    /* schedstat's run time at the last read (SM_PROCS_LAZY) */
    int have_sched;       /* sched_ns is set */
    struct statline last; /* the stat fields of the last read */
    int stale;            /* this read took last without reading stat (SM_PROCS_LAZY) */
    int unchecked;        /* ... nor schedstat: when and ticks are of the last check */
    unsigned idle;        /* lazy reads in a row that found it had not run */
    uint64_t statm_pages; /* statm's resident pages at the last complete */
    int have_statm;
    char *cmd; /* command line as last read (sanitized), or NULL */
    int cmd_trunc;
    char cmd_comm[SM_PROC_COMM_LEN]; /* comm when cmd was read: an exec changes both */
    uint32_t uid;                    /* owner of /proc/PID at the last look */
    unsigned uid_age;                /* reads since that look */
};

struct user_entry {
    uint32_t uid;
    char name[SM_PROC_USER_LEN];
};

struct sm_procs {
    char root[4096];
    int rootfd;   /* proc_root, for openat */
    int uptimefd; /* proc_root/uptime */
    double btime; /* boot time, unix seconds; 0 unknown */
    double hz;
    uint64_t pagesize;
    size_t fd_budget; /* files kept open at most */
    double mono;      /* of the last read, for sm_procs_complete's rates */
    unsigned nreads;
    size_t nopen;

    struct pstate *st, *next; /* sorted by pid; next is the scratch of the merge */
    size_t nst, capst, capnext;
    int32_t *pids;
    size_t npids, cappids;

    struct user_entry users[USER_CACHE_MAX];
    size_t nusers;
};

void
sm_proc_list_init(struct sm_proc_list *l)
{
    memset(l, 0, sizeof *l);
}

void
sm_proc_list_done(struct sm_proc_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

static struct sm_proc *
list_add(struct sm_proc_list *l)
{
    l->v = sm_xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    struct sm_proc *pr = &l->v[l->n++];
    memset(pr, 0, sizeof *pr);
    return pr;
}

static double
read_btime(const char *root)
{
    int fd = sm_cu_open(root, "stat");
    if (fd < 0)
        return 0;
    char *buf = NULL;
    size_t cap = 0;
    double bt = 0;
    if (sm_cu_pread_grow(fd, &buf, &cap, (size_t)4 << 20) > 0) {
        const char *p = strstr(buf, "\nbtime ");
        if (p) {
            p += 7;
            bt = (double)sm_cu_parse_u64(&p);
        }
    }
    free(buf);
    close(fd);
    return bt;
}

struct sm_procs *
sm_procs_new(const char *proc_root)
{
    struct sm_procs *p = sm_xcalloc(1, sizeof *p);
    sm_strlcpy(p->root, proc_root ? proc_root : "/proc", sizeof p->root);
    p->rootfd = open(p->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    p->uptimefd = sm_cu_open(p->root, "uptime");
    p->btime = read_btime(p->root);
    long hz = sysconf(_SC_CLK_TCK);
    p->hz = hz > 0 ? (double)hz : 100.0;
    long ps = sysconf(_SC_PAGESIZE);
    p->pagesize = ps > 0 ? (uint64_t)ps : 4096;
    /* Keep files open (stat, and statm and io when asked for) for at most three quarters
     * of the descriptors this process may have, and never more than 16384; the files of
     * processes over the budget are opened at each read. A program that lists every
     * process may raise its RLIMIT_NOFILE soft limit first. */
    struct rlimit rl;
    p->fd_budget = 16384;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        p->fd_budget = (size_t)rl.rlim_cur / 4 * 3;
    if (p->fd_budget > 16384)
        p->fd_budget = 16384;
    return p;
}

/* Close the files kept for s and drop its cached command line. */
static void
forget(struct sm_procs *p, struct pstate *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
        p->nopen--;
    }
    if (s->mfd >= 0) {
        close(s->mfd);
        s->mfd = -1;
        p->nopen--;
    }
    if (s->iofd >= 0) {
        close(s->iofd);
        s->iofd = -1;
        p->nopen--;
    }
    if (s->sfd >= 0) {
        close(s->sfd);
        s->sfd = -1;
        p->nopen--;
    }
    s->have_sched = 0;
    s->have_statm = 0;
    s->io_denied = 0;
    free(s->cmd);
    s->cmd = NULL;
}

void
sm_procs_free(struct sm_procs *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nst; i++)
        forget(p, &p->st[i]);
    if (p->rootfd >= 0)
        close(p->rootfd);
    if (p->uptimefd >= 0)
        close(p->uptimefd);
    free(p->st);
    free(p->next);
    free(p->pids);
    free(p);
}

const char *
sm_procs_user(struct sm_procs *p, uint32_t uid)
{
    for (size_t i = 0; i < p->nusers; i++)
        if (p->users[i].uid == uid)
            return p->users[i].name;
    /* A full cache forgets its oldest half: users are few, this is for odd hosts. */
    if (p->nusers == USER_CACHE_MAX) {
        memmove(p->users, p->users + USER_CACHE_MAX / 2, (USER_CACHE_MAX / 2) * sizeof p->users[0]);
        p->nusers = USER_CACHE_MAX / 2;
    }
    struct user_entry *e = &p->users[p->nusers++];
    e->uid = uid;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL &&
        res->pw_name != NULL && strlen(res->pw_name) < sizeof e->name && res->pw_name[0])
        sm_cu_sanitize(e->name, sizeof e->name, res->pw_name, strlen(res->pw_name));
    else
        snprintf(e->name, sizeof e->name, "%u", uid);
    return e->name;
}

static int
cmp_pid(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Numeric entries of proc_root into p->pids, sorted. -1 when the root cannot be listed. */
static int
list_pids(struct sm_procs *p, size_t *over)
{
    if (p->rootfd < 0)
        return -1;
    int dfd = dup(p->rootfd);
    if (dfd < 0)
        return -1;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return -1;
    }
    rewinddir(d);
    p->npids = 0;
    *over = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *s = de->d_name;
        if (*s < '1' || *s > '9')
            continue;
        const char *q = s;
        uint64_t v = sm_cu_parse_u64(&q);
        if (*q != '\0' || v > INT32_MAX)
            continue;
        if (p->npids >= SM_PROC_MAX) {
            (*over)++;
            continue;
        }
        p->pids = sm_xgrow(p->pids, &p->cappids, p->npids + 1, sizeof *p->pids);
        p->pids[p->npids++] = (int32_t)v;
    }
    closedir(d);
    /* /proc lists pids in order: sort only when this one did not. */
    size_t i = 1;
    while (i < p->npids && p->pids[i - 1] < p->pids[i])
        i++;
    if (i < p->npids)
        qsort(p->pids, p->npids, sizeof *p->pids, cmp_pid);
    return 0;
}

/* "PID" or "PID/name" into rel[64] (snprintf costs more than the openat here). */
static void
pid_path(char *rel, int32_t pid, const char *name)
{
    char digits[12];
    size_t n = 0, o = 0;
    uint32_t v = pid < 0 ? 0 : (uint32_t)pid;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        rel[o++] = digits[--n];
    if (name != NULL) {
        rel[o++] = '/';
        size_t len = strlen(name);
        if (len > 64 - 1 - o)
            len = 64 - 1 - o;
        memcpy(rel + o, name, len);
        o += len;
    }
    rel[o] = '\0';
}

static int
open_pid_file(struct sm_procs *p, int32_t pid, const char *name)
{
    char rel[64];
    pid_path(rel, pid, name);
    return openat(p->rootfd, rel, O_RDONLY | O_CLOEXEC);
}

/* Parse "pid (comm) state ppid ...". The comm may hold spaces, parentheses and
 * newlines: it ends at the last ')' of the line. 0 or -1. */
static int
parse_stat(const char *buf, size_t len, struct statline *out)
{
    const char *open = memchr(buf, '(', len);
    const char *close = memrchr(buf, ')', len);
    if (open == NULL || close == NULL || close < open || close + 2 >= buf + len)
        return -1;
    sm_cu_sanitize(out->comm, sizeof out->comm, open + 1, (size_t)(close - open - 1));
    const char *p = close + 2;
    out->state = (*p >= 'A' && *p <= 'z') ? *p : '?';
    p++;
    /* Fields 4.. (ppid onwards); field numbers as in proc(5). */
    uint64_t f[22];
    for (int i = 0; i < 22; i++) {
        while (*p == ' ')
            p++;
        int neg = *p == '-';
        if (neg)
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        f[i] = sm_cu_parse_u64(&p);
        if (neg)
            f[i] = (uint64_t)(-(int64_t)(f[i] > INT64_MAX ? INT64_MAX : f[i]));
    }
    /* f[0] = field 4 (ppid) ... f[20] = field 24 (rss) */
    out->ppid = (int32_t)f[0];
    out->flags = (unsigned)f[5];
    out->ticks = f[10] + f[11];
    out->nice = (int64_t)f[15];
    out->threads = (uint32_t)(f[16] > UINT32_MAX ? UINT32_MAX : f[16]);
    out->starttime = f[18];
    out->rss_pages = (int64_t)f[20] < 0 ? 0 : f[20];
    return 0;
}

static double
read_uptime(struct sm_procs *p)
{
    char buf[128];
    if (p->uptimefd < 0 || sm_cu_pread(p->uptimefd, buf, sizeof buf) <= 0)
        return -1;
    return strtod(buf, NULL);
}

static void
read_io(struct sm_procs *p, struct pstate *s, struct sm_proc *out, double mono)
{
    if (s->io_denied)
        return;
    if (s->iofd < 0) {
        s->iofd = open_pid_file(p, s->pid, "io");
        if (s->iofd < 0) {
            s->io_denied = errno == EACCES || errno == EPERM;
            s->have_io_prev = 0;
            return;
        }
        p->nopen++;
    }
    char buf[1024];
    ssize_t n = sm_cu_pread(s->iofd, buf, sizeof buf);
    if (n <= 0) {
        /* The process turned non-dumpable (setuid), or exited: stop keeping the file. */
        s->io_denied = n < 0 && (errno == EACCES || errno == EPERM);
        close(s->iofd);
        s->iofd = -1;
        p->nopen--;
        s->have_io_prev = 0;
        return;
    }
    const char *r = n > 0 ? strstr(buf, "read_bytes:") : NULL;
    const char *w = n > 0 ? strstr(buf, "\nwrite_bytes:") : NULL;
    if (r == NULL || w == NULL || (r != buf && r[-1] != '\n')) {
        s->have_io_prev = 0;
        return;
    }
    r += 11;
    w += 13;
    uint64_t rd = sm_cu_parse_u64(&r), wr = sm_cu_parse_u64(&w);
    out->have_io = 1;
    double dt = mono - s->io_when;
    if (s->have_io_prev && dt > 0) {
        out->read_bps = rd >= s->rd ? (double)(rd - s->rd) / dt : 0;
        out->write_bps = wr >= s->wr ? (double)(wr - s->wr) / dt : 0;
    }
    s->rd = rd;
    s->wr = wr;
    s->io_when = mono;
    s->have_io_prev = 1;
}

/* The run time of s's main thread from schedstat, in ns. 0, or -1 (no schedstat, or
 * the process is gone: the caller reads stat, which tells which). */
static int
read_sched(struct sm_procs *p, struct pstate *s, uint64_t *ns)
{
    char buf[128];
    if (s->sfd < 0) {
        s->sfd = open_pid_file(p, s->pid, "schedstat");
        if (s->sfd < 0)
            return -1;
        p->nopen++;
    }
    ssize_t n = sm_cu_pread(s->sfd, buf, sizeof buf);
    const char *q = buf;
    if (n > 0 && *q >= '0' && *q <= '9') {
        *ns = sm_cu_parse_u64(&q);
        if (*q == ' ')
            return 0;
    }
    close(s->sfd);
    s->sfd = -1;
    p->nopen--;
    return -1;
}

/* Read the command line of pid into out: arguments joined with spaces, sanitized. */
static void
read_cmdline(struct sm_procs *p, int32_t pid, struct sm_proc *out)
{
    char buf[CMDLINE_READ];
    int fd = open_pid_file(p, pid, "cmdline");
    if (fd < 0)
        return;
    /* One pread of a bounded size: a 128 KiB command line costs what a short one does. */
    ssize_t n;
    do
        n = pread(fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return;
    out->have_cmdline = 1;
    size_t len = (size_t)n;
    int cut = len == sizeof buf;
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    size_t w = sm_cu_sanitize(out->cmdline, sizeof out->cmdline, buf, len);
    out->cmdline_truncated = cut || w + 1 >= sizeof out->cmdline;
}

/* The command line of s into pr: read at first sight and again when comm changes (an
 * exec changes both; htop also reads it once by default), else from the cache. Saves
 * an open, a read and a close per process and read. */
static void
cmdline_cached(struct sm_procs *p, struct pstate *s, struct sm_proc *pr)
{
    if (s->cmd != NULL && strcmp(s->cmd_comm, pr->comm) == 0) {
        sm_strlcpy(pr->cmdline, s->cmd, sizeof pr->cmdline);
        pr->cmdline_truncated = s->cmd_trunc;
        pr->have_cmdline = 1;
        return;
    }
    free(s->cmd);
    s->cmd = NULL;
    read_cmdline(p, s->pid, pr);
    if (pr->have_cmdline) {
        s->cmd = sm_xstrdup(pr->cmdline);
        s->cmd_trunc = pr->cmdline_truncated;
        memcpy(s->cmd_comm, pr->comm, sizeof s->cmd_comm);
    }
}

/* Read the stat line of s (reopening once if its kept fd went stale). 0, or -1 when
 * the process is gone or unreadable. */
static int
read_statline(struct sm_procs *p, struct pstate *s, struct statline *sl)
{
    char buf[1024];
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s->fd < 0) {
            s->fd = open_pid_file(p, s->pid, "stat");
            if (s->fd < 0)
                return -1;
            p->nopen++;
        }
        ssize_t n = sm_cu_pread(s->fd, buf, sizeof buf);
        if (n > 0 && parse_stat(buf, (size_t)n, sl) == 0)
            return 0;
        /* ESRCH: the process these files were opened for has exited; the pid may now be
         * another process's, which the second attempt opens afresh. */
        forget(p, s);
        s->have_prev = 0;
        if (n >= 0)
            return -1; /* read but unparseable: not worth a second try */
    }
    return -1;
}

/* Resident pages from statm, the precise counter ps and top show (stat's rss field is
 * a per-CPU approximation on recent kernels). 0 or -1. */
static int
read_statm(struct sm_procs *p, struct pstate *s, uint64_t *pages)
{
    char buf[256];
    if (s->mfd < 0) {
        s->mfd = open_pid_file(p, s->pid, "statm");
        if (s->mfd < 0)
            return -1;
        p->nopen++;
    }
    ssize_t n = sm_cu_pread(s->mfd, buf, sizeof buf);
    const char *q = buf;
    if (n > 0) {
        sm_cu_parse_u64(&q); /* size */
        if (*q == ' ') {
            *pages = sm_cu_parse_u64(&q);
            return 0;
        }
    }
    close(s->mfd);
    s->mfd = -1;
    p->nopen--;
    return -1;
}

enum sm_rc
sm_procs_read_at(struct sm_procs *p, double mono, unsigned flags, struct sm_proc_list *out)
{
    out->n = 0;
    out->nskipped = 0;
    size_t over = 0;
    if (list_pids(p, &over) != 0)
        return SM_EUNAVAIL;
    out->nskipped = over;
    p->mono = mono;
    p->nreads++;
    double uptime = read_uptime(p);

    /* Merge the sorted pids with the sorted previous state into p->next. */
    p->next = sm_xgrow(p->next, &p->capnext, p->npids + 1, sizeof *p->next);
    size_t j = 0, nn = 0;
    for (size_t i = 0; i < p->npids; i++) {
        int32_t pid = p->pids[i];
        while (j < p->nst && p->st[j].pid < pid)
            forget(p, &p->st[j++]);
        struct pstate *s = &p->next[nn];
        if (j < p->nst && p->st[j].pid == pid) {
            *s = p->st[j++];
        } else {
            memset(s, 0, sizeof *s);
            s->pid = pid;
            s->fd = s->mfd = s->iofd = s->sfd = -1;
        }
        /* SM_PROCS_LAZY: a single-threaded process whose run time has not moved since
         * the last read has not run, so its stat fields are those of that read (its
         * CPU time, state, name, threads; its RSS and parent may have changed without
         * it running: the caller re-reads the few it keeps, see sm_procs_complete).
         * schedstat costs a third of stat. Its first read and a multi-threaded one
         * (schedstat is the main thread's only) read stat. */
        struct statline sl;
        s->stale = s->unchecked = 0;
        if ((flags & SM_PROCS_LAZY) && s->have_prev && (s->have_sched || s->last.threads > 1) &&
            s->idle >= IDLE_AFTER && (p->nreads + (unsigned)pid) % IDLE_EVERY != 0) {
            /* Long idle: not looked at this time. A process that wakes up shows within
             * IDLE_EVERY reads, its CPU % then over the time since it was last seen. */
            s->stale = s->unchecked = 1;
        } else if (flags & SM_PROCS_LAZY) {
            uint64_t ns;
            int had = s->have_sched;
            s->have_sched = 0;
            if ((!s->have_prev || s->last.threads == 1) && read_sched(p, s, &ns) == 0) {
                s->stale = had && s->have_prev && ns == s->sched_ns;
                s->sched_ns = ns;
                s->have_sched = 1;
            }
        }
        if (s->stale) {
            sl = s->last;
        } else if (read_statline(p, s, &sl) != 0) {
            forget(p, s);
            out->nskipped++;
            continue;
        }
        int fresh = !s->have_prev || sl.starttime != s->starttime;
        /* Idle: no CPU tick since the last look (schedstat's word, or stat's for a
         * process of several threads). */
        if ((flags & SM_PROCS_LAZY) && !s->unchecked)
            s->idle = !fresh && sl.ticks == s->ticks ? s->idle + 1 : 0;
        if (fresh || (!s->stale && ++s->uid_age >= UID_EVERY)) {
            struct stat dst;
            char rel[64];
            pid_path(rel, pid, NULL);
            if (fstatat(p->rootfd, rel, &dst, 0) != 0) {
                forget(p, s);
                out->nskipped++;
                continue;
            }
            s->uid = (uint32_t)dst.st_uid;
            /* Spread the looks over the reads rather than doing all at once. */
            s->uid_age = fresh ? (unsigned)pid % UID_EVERY : 0;
        }
        /* Same pid, another start time: a new process; forget the old one's counters. */
        if (s->have_prev && sl.starttime != s->starttime) {
            s->have_prev = 0;
            s->have_io_prev = 0;
            s->io_denied = 0;
            free(s->cmd);
            s->cmd = NULL;
        }
        uint64_t pages = sl.rss_pages;
        int exact = (flags & SM_PROCS_EXACT_RSS) && read_statm(p, s, &pages) == 0;
        if (!exact) {
            pages = sl.rss_pages;
            /* The lazy reader's caller keeps statm open for the few it completes. */
            if (s->mfd >= 0 && !(flags & SM_PROCS_LAZY)) {
                close(s->mfd);
                s->mfd = -1;
                p->nopen--;
            }
        }
        struct sm_proc *pr = list_add(out);
        pr->rss_exact = exact;
        pr->pid = pid;
        pr->ppid = sl.ppid;
        pr->uid = s->uid;
        sm_strlcpy(pr->user, sm_procs_user(p, pr->uid), sizeof pr->user);
        pr->state = sl.state;
        pr->kernel_thread = (sl.flags & PF_KTHREAD_FLAG) != 0;
        pr->nice = (int)sl.nice;
        memcpy(pr->comm, sl.comm, sizeof pr->comm);
        pr->cpu_seconds = (double)sl.ticks / p->hz;
        pr->rss = pages > UINT64_MAX / p->pagesize ? UINT64_MAX : pages * p->pagesize;
        pr->threads = sl.threads;
        pr->start_time = p->btime > 0 ? p->btime + (double)sl.starttime / p->hz : 0;
        double dt = mono - s->when;
        if (s->have_prev && dt > 0) {
            uint64_t d = sl.ticks >= s->ticks ? sl.ticks - s->ticks : 0;
            pr->cpu_percent = 100.0 * (double)d / p->hz / dt;
        } else if (uptime > 0) {
            /* First sight: the average since the process started, as ps computes it. */
            double age = uptime - (double)sl.starttime / p->hz;
            pr->cpu_percent = age > 0 ? 100.0 * pr->cpu_seconds / age : 0;
        }
        if (flags & SM_PROCS_IO)
            read_io(p, s, pr, mono);
        if (flags & SM_PROCS_CMDLINE)
            cmdline_cached(p, s, pr);
        s->starttime = sl.starttime;
        s->ticks = sl.ticks;
        s->last = sl;
        if (!s->unchecked)
            s->when = mono;
        s->have_prev = 1;
        /* Over the budget, do not keep this one's files open. */
        if (p->nopen > p->fd_budget)
            forget(p, s);
        nn++;
    }
    while (j < p->nst)
        forget(p, &p->st[j++]);
    struct pstate *tmp = p->st;
    size_t tcap = p->capst;
    p->st = p->next;
    p->capst = p->capnext;
    p->nst = nn;
    p->next = tmp;
    p->capnext = tcap;
    return SM_OK;
}

enum sm_rc
sm_procs_read(struct sm_procs *p, unsigned flags, struct sm_proc_list *out)
{
    return sm_procs_read_at(p, sm_mono_now(), flags, out);
}

/* Orders of the selection: 1 when a comes before b. Ties go by pid, so both orders
 * are total and the selection does not depend on the list's order. */
static int
before_cpu(const struct sm_proc *a, const struct sm_proc *b)
{
    if (a->cpu_percent != b->cpu_percent)
        return a->cpu_percent > b->cpu_percent;
    return a->pid < b->pid;
}

static int
before_rss(const struct sm_proc *a, const struct sm_proc *b)
{
    if (a->rss != b->rss)
        return a->rss > b->rss;
    return a->pid < b->pid;
}

/* The k first of all by before() into top[] (indices), in order: one pass keeping a
 * sorted array of k, cheaper than sorting the whole list for a k of 10. */
static size_t
top_k(const struct sm_proc_list *all, size_t k,
      int (*before)(const struct sm_proc *, const struct sm_proc *), size_t *top)
{
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++) {
        const struct sm_proc *pr = &all->v[i];
        if (n == k && !before(pr, &all->v[top[k - 1]]))
            continue;
        size_t j = n < k ? n++ : k - 1;
        while (j > 0 && before(pr, &all->v[top[j - 1]])) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    return n;
}

void
sm_procs_select(const struct sm_proc_list *all, size_t n, struct sm_proc_list *out)
{
    out->n = 0;
    out->nskipped = 0;
    if (n == 0 || all->n == 0)
        return;
    size_t k = n < all->n ? n : all->n;
    size_t *idx = sm_xreallocarray(NULL, 2 * k, sizeof *idx);
    size_t ncpu = top_k(all, k, before_cpu, idx);
    size_t nrss = top_k(all, k, before_rss, idx + ncpu);
    /* The union, highest CPU first: the RSS picks not among the CPU ones, inserted by
     * CPU into the CPU order. */
    size_t m = ncpu;
    for (size_t r = ncpu; r < ncpu + nrss; r++) {
        size_t i = idx[r];
        int dup = 0;
        for (size_t c = 0; c < ncpu && !dup; c++)
            dup = idx[c] == i;
        if (dup)
            continue;
        size_t j = m++;
        while (j > 0 && before_cpu(&all->v[i], &all->v[idx[j - 1]])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    for (size_t i = 0; i < m; i++)
        *list_add(out) = all->v[idx[i]];
    free(idx);
}

/* The state kept for pid, or NULL (p->st is sorted by pid). */
static struct pstate *
find_state(struct sm_procs *p, int32_t pid)
{
    size_t lo = 0, hi = p->nst;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->st[mid].pid < pid)
            lo = mid + 1;
        else if (p->st[mid].pid > pid)
            hi = mid;
        else
            return &p->st[mid];
    }
    return NULL;
}

void
sm_procs_complete(struct sm_procs *p, struct sm_proc_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct sm_proc *pr = &l->v[i];
        struct pstate *s = find_state(p, pr->pid);
        if (s == NULL) {
            if (!pr->have_cmdline)
                read_cmdline(p, pr->pid, pr);
            continue;
        }
        /* Found by schedstat not to have run since its last look (by the read, or here
         * for one the read did not look at): it has done no IO, and its RSS moved only
         * if the kernel reclaimed, its parent only if that exited. Such a pick is read
         * again every IDLE_EVERY reads only (when the read looks at it). */
        int quiet = 0;
        if (s->stale && s->have_statm && s->have_sched && s->last.threads == 1 &&
            (p->nreads + (unsigned)pr->pid) % IDLE_EVERY != 0) {
            uint64_t ns;
            quiet = !s->unchecked || (read_sched(p, s, &ns) == 0 && ns == s->sched_ns);
        }
        if (quiet) {
            pr->rss = s->statm_pages > UINT64_MAX / p->pagesize ? UINT64_MAX
                                                                : s->statm_pages * p->pagesize;
            pr->rss_exact = 1;
            if (!pr->have_io && s->have_io_prev) {
                pr->have_io = 1;
                pr->read_bps = pr->write_bps = 0;
            }
        }
        if (s->stale && !quiet) {
            /* Taken from the last read: its parent, state and RSS may have moved. */
            struct statline sl;
            if (read_statline(p, s, &sl) == 0 && sl.starttime == s->starttime) {
                pr->ppid = sl.ppid;
                pr->state = sl.state;
                pr->nice = (int)sl.nice;
                pr->rss = sl.rss_pages > UINT64_MAX / p->pagesize ? UINT64_MAX
                                                                  : sl.rss_pages * p->pagesize;
                pr->threads = sl.threads;
                pr->cpu_seconds = (double)sl.ticks / p->hz;
                double dt = p->mono - s->when;
                if (sl.ticks > s->ticks && dt > 0) { /* it ran after all */
                    pr->cpu_percent = 100.0 * (double)(sl.ticks - s->ticks) / p->hz / dt;
                    s->idle = 0;
                }
                s->ticks = sl.ticks;
                s->when = p->mono;
                s->last = sl;
                s->stale = s->unchecked = 0;
            }
        }
        if (!pr->have_cmdline)
            cmdline_cached(p, s, pr);
        if (!pr->rss_exact) {
            uint64_t pages;
            if (read_statm(p, s, &pages) == 0) {
                pr->rss = pages > UINT64_MAX / p->pagesize ? UINT64_MAX : pages * p->pagesize;
                pr->rss_exact = 1;
                s->statm_pages = pages;
                s->have_statm = 1;
            }
        }
        if (!pr->have_io && !quiet) {
            /* The first read of a process's io gives no rate: the field stays absent. */
            int had = s->have_io_prev;
            read_io(p, s, pr, p->mono);
            if (!had)
                pr->have_io = 0;
        }
    }
}
