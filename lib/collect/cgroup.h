/* cgroup.h: per-service and per-container resource use from the cgroup v2 tree.
 *
 * Services (systemd units "*.service") and containers (Docker, Podman, containerd,
 * LXC) are recognised from their cgroup paths alone, with no call to any daemon:
 *   system.slice/docker-ID.scope, docker/ID                  Docker (systemd, cgroupfs)
 *   machine.slice/libpod-ID.scope, .../user@UID.service/.../libpod-ID.scope   Podman
 *   kubepods*.../cri-containerd-ID.scope, kubepods/.../ID       containerd (CRI)
 *   lxc.payload.NAME, lxc/NAME                                 LXC and LXD
 * A container is named by its name where a file on disk gives it (LXC: the path;
 * Docker: DOCKER_ROOT/containers/ID/config.v2.json; Podman:
 * PODMAN_ROOT/overlay-containers/containers.json), and by its short id otherwise.
 * The tree is walked at every read (containers come and go), to depth 12 and at most
 * SM_CGROUP_MAX groups. Rates come from deltas between two reads; the first read of a
 * group has none. Hybrid hosts (v1 controllers, v2 at fs/cgroup/unified) are read
 * from the unified tree. Not thread safe: one reader per thread. */
#ifndef SM_LIB_COLLECT_CGROUP_H
#define SM_LIB_COLLECT_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "../rc.h"

#define SM_CGROUP_NAME_LEN 128
#define SM_CGROUP_PATH_LEN 512
#define SM_CGROUP_ID_LEN 65 /* 64 hex digits */
#define SM_CGROUP_MAX 512   /* groups reported per read; more are counted in ntruncated */

enum sm_cgroup_kind {
    SM_CGROUP_SERVICE,
    SM_CGROUP_DOCKER,
    SM_CGROUP_PODMAN,
    SM_CGROUP_CONTAINERD,
    SM_CGROUP_LXC,
};

struct sm_cgroup {
    enum sm_cgroup_kind kind;
    char name[SM_CGROUP_NAME_LEN];    /* unit, container name, or the first 12 digits of id */
    int named;                        /* name is a real name, not the id */
    char id[SM_CGROUP_ID_LEN];        /* container id; "" for services and LXC */
    char path[SM_CGROUP_PATH_LEN];    /* under the cgroup root, sanitized */
    double cpu_percent;               /* of one core, from cpu.stat usage_usec */
    int have_mem, have_io, have_pids; /* the controller is enabled for this group */
    uint64_t mem_bytes;               /* memory.current */
    double read_bps, write_bps;       /* io.stat rbytes, wbytes over every device */
    uint64_t pids;                    /* pids.current */
};

struct sm_cgroup_list {
    struct sm_cgroup *v;
    size_t n, cap;
    size_t ntruncated; /* groups left out over SM_CGROUP_MAX */
};

void sm_cgroup_list_init(struct sm_cgroup_list *l);
void sm_cgroup_list_done(struct sm_cgroup_list *l);

struct sm_cgroups;

/* A reader of sys_root/fs/cgroup (sys_root NULL means "/sys"). Never returns NULL;
 * without a v2 tree every read gives SM_EUNAVAIL. */
struct sm_cgroups *sm_cgroups_new(const char *sys_root);
void sm_cgroups_free(struct sm_cgroups *r);

/* Where container names are looked up (defaults "/var/lib/docker" and
 * "/var/lib/containers/storage"); NULL turns the lookup off. Tests point them at
 * fixtures. */
void sm_cgroups_set_name_roots(struct sm_cgroups *r, const char *docker_root,
                               const char *podman_root);

/* 1 when a cgroup v2 tree was found. */
int sm_cgroups_available(const struct sm_cgroups *r);

/* Name of a kind: "service", "docker", "podman", "containerd", "lxc". */
const char *sm_cgroup_kind_name(enum sm_cgroup_kind kind);

/* Walk the tree into out (cleared first, capacity reused), sorted by path. mono: monotonic seconds
 * for the rates. SM_OK, or SM_EUNAVAIL without a v2 tree. */
enum sm_rc sm_cgroups_read_at(struct sm_cgroups *r, double mono,
                              struct sm_cgroup_list *out) SM_MUST_CHECK;
enum sm_rc sm_cgroups_read(struct sm_cgroups *r, struct sm_cgroup_list *out) SM_MUST_CHECK;

#endif
