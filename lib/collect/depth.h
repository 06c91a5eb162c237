/* depth.h: the host-depth readers (issue 20) as one small registry beside the sample
 * collector of collect.h: processes, temperatures and fans, pressure, cgroups, GPUs.
 *
 * One object owns a reader per family, created on the same /proc and /sys roots. A
 * family the machine does not have (no GPU, no PSI, cgroup v1 only) is marked
 * unavailable when the object is created and costs nothing afterwards; a family that
 * worked and then fails is logged once. Not thread safe: one object per thread. */
#ifndef SM_LIB_COLLECT_DEPTH_H
#define SM_LIB_COLLECT_DEPTH_H

#include <stddef.h>

#include "../rc.h"
#include "cgroup.h"
#include "gpu.h"
#include "proc.h"
#include "psi.h"
#include "sensors.h"

enum sm_depth_reader {
    SM_DEPTH_PROCS,
    SM_DEPTH_SENSORS,
    SM_DEPTH_PSI,
    SM_DEPTH_CGROUPS,
    SM_DEPTH_GPUS,
    SM_DEPTH_COUNT
};

struct sm_depth_opts {
    unsigned readers;     /* bit 1 << enum sm_depth_reader for each wanted; 0 means all */
    unsigned proc_flags;  /* enum sm_procs_flag for the full read */
    size_t top_n;         /* 0: every process (smtop); n: the agent's top n by CPU and by
                           * RSS from a lazy read (SM_PROCS_LAZY), completed with
                           * command line, exact RSS and io rates (sm_procs_complete) */
    const char *nvml_lib; /* NULL: libnvidia-ml.so.1; "": no NVML */
    const char *docker_root, *podman_root; /* NULL: the defaults of cgroup.h */
};

/* One read of every available family; embedded: _init / _done. */
struct sm_depth_sample {
    unsigned have; /* bit 1 << enum sm_depth_reader for each family read */
    struct sm_proc_list procs;
    struct sm_sensor_list sensors;
    struct sm_psi psi;
    struct sm_cgroup_list cgroups;
    struct sm_gpu_list gpus;
};

void sm_depth_sample_init(struct sm_depth_sample *s);
void sm_depth_sample_done(struct sm_depth_sample *s);

struct sm_depth;

/* Readers on proc_root and sys_root (NULL: "/proc", "/sys"); opts NULL means all
 * families, every process, defaults. Never returns NULL. */
struct sm_depth *sm_depth_new(const char *proc_root, const char *sys_root,
                              const struct sm_depth_opts *opts);
void sm_depth_free(struct sm_depth *d);

/* Read every available family into out (each list cleared, capacity reused). mono:
 * monotonic seconds for the rates. SM_OK when at least one family was read. */
enum sm_rc sm_depth_read_at(struct sm_depth *d, double mono,
                            struct sm_depth_sample *out) SM_MUST_CHECK;
enum sm_rc sm_depth_read(struct sm_depth *d, struct sm_depth_sample *out) SM_MUST_CHECK;

/* The registry, for --help output, logs and tests: "processes", "sensors",
 * "pressure", "cgroups", "gpus". */
const char *sm_depth_reader_name(enum sm_depth_reader r);
int sm_depth_reader_ok(const struct sm_depth *d, enum sm_depth_reader r);

#endif
