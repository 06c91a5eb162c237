/* proc.h: the process list (/proc/PID/{stat,cmdline,io}).
 *
 * One reader keeps, per process it has seen, the open stat file (re-read with pread:
 * a kept fd of a process that exited fails, so a reused pid is never mistaken for the
 * old one) and the counters of the previous read. CPU percentages are of one core,
 * htop's convention: a process using two cores fully shows 200. On the first read of
 * a process (a new reader, or a process born since the last read) its CPU percentage
 * is its average since it started, as ps shows it; afterwards it is the rate between
 * two reads. A process that exits while it is read, or whose files cannot be read
 * (hidepid, permissions), is skipped and never is an error. Names are sanitized for
 * display: no control bytes, valid UTF-8 only. Not thread safe: one reader per thread. */
#ifndef SM_LIB_COLLECT_PROC_H
#define SM_LIB_COLLECT_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "../rc.h"

#define SM_PROC_COMM_LEN 64 /* the kernel's comm is 16 bytes; kernel threads up to 64 */
#define SM_PROC_CMD_LEN 512 /* command line kept per process, bytes with the NUL */
#define SM_PROC_USER_LEN 33 /* user names as useradd allows them, or the decimal uid */
#define SM_PROC_MAX 32768   /* processes listed per read; more are counted in nskipped */

/* What sm_procs_read reads besides stat (each costs a read per process). Files are
 * kept open within a budget of 3/4 of RLIMIT_NOFILE (see sm_procs_new). */
enum sm_procs_flag {
    SM_PROCS_CMDLINE = 1 << 0,   /* /proc/PID/cmdline (opened at each read) */
    SM_PROCS_IO = 1 << 1,        /* /proc/PID/io (readable for one's own processes, or as root) */
    SM_PROCS_EXACT_RSS = 1 << 2, /* /proc/PID/statm (kept open): RSS as ps shows it; without
                                  * it, stat's field, which recent kernels keep per CPU and
                                  * may be some pages off */
    SM_PROCS_LAZY = 1 << 3,      /* /proc/PID/schedstat first (kept open): a single-threaded
                                  * process that has not run since the last read keeps
                                  * that read's stat fields unread (its CPU % is 0); a
                                  * process (of any number of threads) found without a
                                  * CPU tick at 2 reads in a row is then looked at every
                                  * 4th read only (it shows within 4 reads of waking, its
                                  * CPU % over the time since it was last looked at). For a
                                  * caller that completes what it keeps (sm_procs_complete),
                                  * as its parent and RSS may have moved meanwhile */
};

struct sm_proc {
    int32_t pid, ppid;
    uint32_t uid; /* owner of /proc/PID, as ps and htop show it */
    char user[SM_PROC_USER_LEN];
    char state;        /* R S D Z T t X I ..., as in /proc/PID/stat */
    int kernel_thread; /* PF_KTHREAD: no command line, not killable */
    int nice;
    char comm[SM_PROC_COMM_LEN];
    char cmdline[SM_PROC_CMD_LEN]; /* arguments joined by spaces; "" when not read or empty */
    int have_cmdline;              /* the command line was read (it may still be empty) */
    int cmdline_truncated;         /* longer than SM_PROC_CMD_LEN - 1 bytes */
    double cpu_percent;            /* of one core */
    double cpu_seconds;            /* user + system time since start */
    uint64_t rss;                  /* resident bytes */
    int rss_exact;                 /* rss is statm's (ps's) count, not stat's estimate */
    uint32_t threads;
    int have_io;                /* /proc/PID/io was readable */
    double read_bps, write_bps; /* storage bytes per second (read_bytes, write_bytes) */
    double start_time;          /* unix seconds; 0 when the boot time is unknown */
};

/* A list of processes; embedded: sm_proc_list_init / sm_proc_list_done. */
struct sm_proc_list {
    struct sm_proc *v;
    size_t n, cap;
    size_t nskipped; /* listed in /proc but not reported: vanished, unreadable, over the cap */
};

void sm_proc_list_init(struct sm_proc_list *l);
void sm_proc_list_done(struct sm_proc_list *l);

struct sm_procs;

/* A reader of proc_root (NULL means "/proc"). Never returns NULL; a root that cannot be
 * listed makes every read fail with SM_EUNAVAIL. */
struct sm_procs *sm_procs_new(const char *proc_root);
void sm_procs_free(struct sm_procs *p);

/* List every process into out (cleared first, capacity reused), in pid order. mono is a
 * monotonic time in seconds for the rates. flags: enum sm_procs_flag. SM_OK, or
 * SM_EUNAVAIL when proc_root cannot be listed. */
enum sm_rc sm_procs_read_at(struct sm_procs *p, double mono, unsigned flags,
                            struct sm_proc_list *out) SM_MUST_CHECK;
/* The same with the real monotonic clock. */
enum sm_rc sm_procs_read(struct sm_procs *p, unsigned flags,
                         struct sm_proc_list *out) SM_MUST_CHECK;

/* The agent's selection: the union of the top n by CPU and the top n by RSS of all,
 * copied into out (cleared first), highest CPU first. n == 0 gives an empty list. */
void sm_procs_select(const struct sm_proc_list *all, size_t n, struct sm_proc_list *out);

/* Read what a cheap read left out, for the entries of l only, taken from the last
 * read: stat again when SM_PROCS_LAZY left it unread, the command line (when not read
 * yet; cached as with SM_PROCS_CMDLINE), the exact RSS (when not exact yet), and the
 * io rates (when not read yet) where /proc/PID/io is readable, since the last
 * complete or read that read them: the first read of a process's io gives no rate and
 * leaves have_io 0. For the agent: read every process with SM_PROCS_LAZY,
 * sm_procs_select a few, complete those. An entry whose process is gone meanwhile
 * keeps what it has. */
void sm_procs_complete(struct sm_procs *p, struct sm_proc_list *l);

/* The name for uid from the passwd database, cached per reader; the decimal uid when
 * there is none. The string lives as long as p. */
const char *sm_procs_user(struct sm_procs *p, uint32_t uid);

#endif
