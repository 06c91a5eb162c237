/* sample.h: the sample model (one host at one instant) and its JSON form (docs/DESIGN.md
 * section 3). */
#ifndef SM_LIB_SAMPLE_H
#define SM_LIB_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

struct cJSON;

/* Caps on everything that can come from outside (a sample decoded from JSON). */
#define SM_MAX_CORES 1024
#define SM_MAX_FS 256
#define SM_MAX_DISKS 256
#define SM_MAX_IFACES 256
#define SM_NAME_LEN 64  /* interface, disk, fstype names */
#define SM_PATH_LEN 256 /* mountpoints, devices */
#define SM_TEXT_LEN 256 /* host facts */
/* Host depth (issue 20), per sample. */
#define SM_MAX_PROCS 64    /* processes (the agent sends at most 2 x 32) */
#define SM_CMDLINE_LEN 512 /* process command line, bytes with the NUL */
#define SM_MAX_SENSORS 128 /* temperatures and fans */
#define SM_MAX_CGROUPS 128 /* services and containers */
#define SM_MAX_GPUS 16
#define SM_DEPTH_NAME_LEN 128 /* cgroup names, GPU names and ids */
#define SM_SENSOR_LEN 64      /* sensor chip and label */

/* Which sections of a sample are present (a legacy sample may carry only some). */
enum {
    SM_HAVE_CPU = 1 << 0,
    SM_HAVE_CPU_BREAKDOWN = 1 << 1, /* user/system/iowait/steal */
    SM_HAVE_LOAD = 1 << 2,
    SM_HAVE_FREQ = 1 << 3, /* cpu.freq current/min/max */
    SM_HAVE_MEM = 1 << 4,
    SM_HAVE_SWAP = 1 << 5,
    SM_HAVE_DISK_IO = 1 << 6,
    SM_HAVE_NET = 1 << 7,
    SM_HAVE_PROCS = 1 << 8, /* a "processes" array (possibly empty) */
    SM_HAVE_PSI = 1 << 9,   /* a "pressure" object */
};

/* Members of a section that is there (its SM_HAVE_* bit set) that the sample does not
 * carry: the original agent's psutil leaves them out, null, empty or 0 on many hosts (no
 * cpufreq on a VM, no swap, no network counters). Such a value is absent: it makes no
 * point, it is not encoded, and it is shown as "–", never as 0. A sample from this
 * project's collector has none of these bits set except SM_MISS_SWAP_PERCENT. */
enum {
    SM_MISS_FREQ_CUR = 1 << 0,       /* cpu.freq.current missing, null or 0 */
    SM_MISS_FREQ_RANGE = 1 << 1,     /* cpu.freq.min or max missing, null or 0 */
    SM_MISS_SWAP_PERCENT = 1 << 2,   /* not sent, or swap_total 0 (no swap): no percentage */
    SM_MISS_NET_BYTES_SENT = 1 << 3, /* network.* members, one bit each */
    SM_MISS_NET_BYTES_RECV = 1 << 4,
    SM_MISS_NET_PACKETS_SENT = 1 << 5,
    SM_MISS_NET_PACKETS_RECV = 1 << 6,
    SM_MISS_NET_ERRIN = 1 << 7,
    SM_MISS_NET_ERROUT = 1 << 8,
    SM_MISS_NET_DROPIN = 1 << 9,
    SM_MISS_NET_DROPOUT = 1 << 10,
    SM_MISS_NET_RX_RATE = 1 << 11, /* network.rx_bytes_per_s */
    SM_MISS_NET_TX_RATE = 1 << 12, /* network.tx_bytes_per_s */
    SM_MISS_DISK_READ = 1 << 13,   /* disk.io.read_bytes_per_s (psutil sends counters) */
    SM_MISS_DISK_WRITE = 1 << 14,  /* disk.io.write_bytes_per_s */
    SM_MISS_MEM_TOTAL = 1 << 15,   /* memory.* members (the README's shape has only percent) */
    SM_MISS_MEM_AVAILABLE = 1 << 16,
    SM_MISS_MEM_USED = 1 << 17, /* neither used nor total and available to derive it */
    SM_MISS_MEM_FREE = 1 << 18,
    SM_MISS_MEM_PERCENT = 1 << 19,
    SM_MISS_SWAP_TOTAL = 1 << 20,
    SM_MISS_SWAP_USED = 1 << 21,
};

struct sm_core {
    double usage; /* percent busy since the previous sample */
    double user, system, iowait, steal;
    double freq_mhz; /* current frequency; < 0 when unknown (no cpufreq) */
    int online;      /* 0 when the core was offline in this sample */
};

struct sm_cpu {
    double usage, user, system, iowait, steal;
    double freq_cur, freq_min, freq_max; /* MHz; valid with SM_HAVE_FREQ */
    double load[3];
    size_t ncores; /* cores[0..ncores) indexed by CPU number */
    struct sm_core *cores;
};

struct sm_mem {
    uint64_t total, available, used, free;
    double used_percent;
    uint64_t swap_total, swap_used;
    double swap_percent;
};

struct sm_fs {
    char device[SM_PATH_LEN];
    char mount[SM_PATH_LEN];
    char fstype[SM_NAME_LEN];
    uint64_t total, used, free; /* free = available to unprivileged users, as df */
    double percent;             /* used / (used + free), as df */
};

struct sm_disk {
    char name[SM_NAME_LEN];
    double read_bps, write_bps, busy_percent;
};

struct sm_iface {
    char name[SM_NAME_LEN];
    double rx_bps, tx_bps;
    uint64_t rx_bytes, tx_bytes;
};

struct sm_net {
    uint64_t bytes_sent, bytes_recv, packets_sent, packets_recv;
    uint64_t errin, errout, dropin, dropout;
    double rx_bps, tx_bps;
    size_t nifaces;
    struct sm_iface *ifaces;
};

struct sm_host {
    char hostname[SM_TEXT_LEN];
    char os[SM_TEXT_LEN];
    char kernel[SM_TEXT_LEN];
    char arch[SM_NAME_LEN];
    char cpu_model[SM_TEXT_LEN];
    int cores;
    int64_t boot_time;
    char agent_version[SM_NAME_LEN];
};

/* Host depth. A number the sample does not carry is NAN (doubles) or -1 (whole numbers):
 * it is not encoded and makes no series point. */
struct sm_sample_proc {
    int64_t pid, ppid;
    char user[33];
    char state[2]; /* one letter, as in /proc/PID/stat */
    char name[64]; /* comm */
    char cmdline[SM_CMDLINE_LEN];
    double cpu_percent; /* of one core */
    int64_t rss;        /* bytes */
    int64_t threads;
    double read_bps, write_bps;
    double start_time; /* unix seconds */
};

struct sm_sample_sensor {
    char kind[8]; /* "temp" or "fan" */
    char chip[SM_SENSOR_LEN], label[SM_SENSOR_LEN];
    double celsius, rpm; /* the one of its kind; the other is NAN */
    double high, crit;   /* limits (temperatures) */
};

struct sm_sample_cgroup {
    char kind[16]; /* "service", "docker", "podman", "containerd", "lxc" */
    char name[SM_DEPTH_NAME_LEN];
    double cpu_percent; /* of one core */
    int64_t mem_bytes;
    double read_bps, write_bps;
    int64_t pids;
};

struct sm_sample_gpu {
    char vendor[8];
    char name[SM_DEPTH_NAME_LEN];
    char id[SM_DEPTH_NAME_LEN]; /* PCI address or UUID; the series label (name when "") */
    double busy_percent;
    int64_t mem_used, mem_total;
    double temp_c, power_w, clock_core_mhz, clock_mem_mhz;
};

/* PSI "some"/"full" avg10 (percent) per resource: cpu, memory, io. */
enum { SM_PSI_SOME, SM_PSI_FULL };

struct sm_sample {
    double timestamp; /* unix seconds */
    uint64_t seq;
    unsigned have;    /* SM_HAVE_* bits */
    unsigned missing; /* SM_MISS_* bits */
    struct sm_cpu cpu;
    struct sm_mem mem;
    size_t nfs;
    struct sm_fs *fs;
    double read_bps, write_bps; /* all whole disks together */
    size_t ndisks;
    struct sm_disk *disks;
    struct sm_net net;
    /* Host depth: with SM_HAVE_PROCS, SM_HAVE_PSI; the other lists when not empty. */
    size_t nprocs, nsensors, ncgroups, ngpus;
    struct sm_sample_proc *procs;
    struct sm_sample_sensor *sensors;
    struct sm_sample_cgroup *cgroups;
    struct sm_sample_gpu *gpus;
    double psi[3][2]; /* [cpu, memory, io][SM_PSI_SOME, SM_PSI_FULL]; NAN when absent */
    /* Capacities of the arrays above; owned by the sample, reused between samples. */
    size_t cores_cap, fs_cap, disks_cap, ifaces_cap;
    size_t procs_cap, sensors_cap, cgroups_cap, gpus_cap;
};

/* Initialise an embedded sample (empty, no arrays). */
void sm_sample_init(struct sm_sample *s);
/* Free the arrays of an embedded sample; it may be initialised again. */
void sm_sample_done(struct sm_sample *s);
/* Empty the sample, keeping array capacity for reuse. */
void sm_sample_clear(struct sm_sample *s);
/* Make room for n entries; return a pointer to entry 0. Never fails (aborts on OOM). */
struct sm_core *sm_sample_cores(struct sm_sample *s, size_t n);
struct sm_fs *sm_sample_add_fs(struct sm_sample *s);
struct sm_disk *sm_sample_add_disk(struct sm_sample *s);
struct sm_iface *sm_sample_add_iface(struct sm_sample *s);
/* Host depth entries, every number absent (NAN or -1) and every string empty. */
struct sm_sample_proc *sm_sample_add_proc(struct sm_sample *s);
struct sm_sample_sensor *sm_sample_add_sensor(struct sm_sample *s);
struct sm_sample_cgroup *sm_sample_add_cgroup(struct sm_sample *s);
struct sm_sample_gpu *sm_sample_add_gpu(struct sm_sample *s);
/* Make dst (initialised) a deep copy of src, reusing dst's arrays: afterwards the two
 * share no memory, and either may be cleared or freed alone. */
void sm_sample_copy(struct sm_sample *dst, const struct sm_sample *src);
/* Mark the pressure section there, every value NAN. */
void sm_sample_psi_init(struct sm_sample *s);

/* The host depth sections (lib/sample_depth.c): add them to the object o, and decode
 * them from obj into s (same error contract as sm_sample_from_json; a list over its
 * cap is SM_EINVAL naming the list). */
void sm_sample_depth_to_json(const struct sm_sample *s, struct cJSON *o);
enum sm_rc sm_sample_depth_from_json(const struct cJSON *obj, struct sm_sample *s,
                                     char **cause) SM_MUST_CHECK;
/* The "processes" array alone as compact JSON text, the members and values that
 * sm_sample_depth_to_json writes (allocated: free() it), or NULL when the sample has no
 * process list. Written directly, about ten times faster than through cJSON. */
char *sm_sample_procs_json(const struct sm_sample *s);
/* The decoders' one error shape (sample_json.c, sample_depth.c): set *cause
 * (allocated) to "PATH: message" and return rc. */
enum sm_rc sm_sample_fail(char **cause, enum sm_rc rc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether s has a value: all the SM_HAVE_* bits in have and none of the SM_MISS_* bits
 * in miss (sm_sample_has(s, SM_HAVE_FREQ, SM_MISS_FREQ_CUR): the current frequency). */
int sm_sample_has(const struct sm_sample *s, unsigned have, unsigned miss);

/* Encode a sample as a JSON object in the docs/DESIGN.md section 3 shape (cJSON *, owned by
 * caller). An absent value (a section not there, an SM_MISS_* member) is left out. */
struct cJSON *sm_sample_to_json(const struct sm_sample *s);
/* Encode host facts as a JSON object. */
struct cJSON *sm_host_to_json(const struct sm_host *h);

/* Encode sample as compact JSON text; the caller frees it. */
char *sm_sample_encode(const struct sm_sample *s);

/* Decode one sample object into s (cleared first; array capacity reused). Accepts the
 * three shapes of docs/DESIGN.md section 3: this project's, the original agent's
 * (cpu.usage_percent, memory.total/available/used_percent, disk.partitions[],
 * network.bytes_*), and the original README's (cpu.percent, memory.percent, flat
 * disk.percent/used/total/free). Unknown fields are ignored. A sample without a
 * timestamp gets now. Timestamps are unix seconds or ISO 8601 and may not be more
 * than 5 minutes after now. Wrong types and out-of-range values return SM_EINVAL
 * (SM_ETOOBIG past a cap) with *cause set to an allocated message that names the
 * field ("cpu.per_core_usage[3]: must be a number from 0 to 100"). Any thread. */
enum sm_rc sm_sample_from_json(const struct cJSON *obj, double now, struct sm_sample *s,
                               char **cause) SM_MUST_CHECK;
/* Decode host facts ({"hostname": ..., ...}); same error contract. */
enum sm_rc sm_host_from_json(const struct cJSON *obj, struct sm_host *h,
                             char **cause) SM_MUST_CHECK;

#endif
