/* depth.c: the host-depth registry (see depth.h). */
#include "config.h"

#include "depth.h"

#include <stdlib.h>
#include <string.h>

#include "../clock.h"
#include "../log.h"
#include "../xmalloc.h"

static const char *const names[SM_DEPTH_COUNT] = {
    [SM_DEPTH_PROCS] = "processes", [SM_DEPTH_SENSORS] = "sensors", [SM_DEPTH_PSI] = "pressure",
    [SM_DEPTH_CGROUPS] = "cgroups", [SM_DEPTH_GPUS] = "gpus",
};

struct sm_depth {
    struct sm_depth_opts opts;
    int ok[SM_DEPTH_COUNT];
    int logged[SM_DEPTH_COUNT];
    int worked[SM_DEPTH_COUNT]; /* read once at least */
    struct sm_procs *procs;
    struct sm_sensors *sensors;
    struct sm_psi_reader *psi;
    struct sm_cgroups *cgroups;
    struct sm_gpus *gpus;
    struct sm_proc_list all; /* the full list the agent's selection is taken from */
};

void
sm_depth_sample_init(struct sm_depth_sample *s)
{
    memset(s, 0, sizeof *s);
}

void
sm_depth_sample_done(struct sm_depth_sample *s)
{
    sm_proc_list_done(&s->procs);
    sm_sensor_list_done(&s->sensors);
    sm_cgroup_list_done(&s->cgroups);
    memset(s, 0, sizeof *s);
}

const char *
sm_depth_reader_name(enum sm_depth_reader r)
{
    return (unsigned)r < SM_DEPTH_COUNT ? names[r] : NULL;
}

int
sm_depth_reader_ok(const struct sm_depth *d, enum sm_depth_reader r)
{
    return (unsigned)r < SM_DEPTH_COUNT && d->ok[r];
}

static int
wanted(const struct sm_depth *d, enum sm_depth_reader r)
{
    return d->opts.readers == 0 || (d->opts.readers & (1u << r));
}

/* Mark r unavailable and say so once: at debug level when the machine simply has none
 * (no GPU is normal), as a warning when it worked before. */
static void
unavailable(struct sm_depth *d, enum sm_depth_reader r, int worked)
{
    d->ok[r] = 0;
    if (d->logged[r])
        return;
    d->logged[r] = 1;
    sm_log(worked ? SM_LOG_WARN : SM_LOG_DEBUG, "collector: %s unavailable%s", names[r],
           worked ? " (it worked before)" : " on this machine");
}

struct sm_depth *
sm_depth_new(const char *proc_root, const char *sys_root, const struct sm_depth_opts *opts)
{
    struct sm_depth *d = sm_xcalloc(1, sizeof *d);
    if (opts)
        d->opts = *opts;
    sm_proc_list_init(&d->all);
    if (wanted(d, SM_DEPTH_PROCS)) {
        d->procs = sm_procs_new(proc_root);
        d->ok[SM_DEPTH_PROCS] = 1; /* known at the first read */
    }
    if (wanted(d, SM_DEPTH_SENSORS)) {
        d->sensors = sm_sensors_new(sys_root);
        d->ok[SM_DEPTH_SENSORS] = sm_sensors_count(d->sensors) > 0;
    }
    if (wanted(d, SM_DEPTH_PSI)) {
        d->psi = sm_psi_new(proc_root);
        d->ok[SM_DEPTH_PSI] = sm_psi_available(d->psi);
    }
    if (wanted(d, SM_DEPTH_CGROUPS)) {
        d->cgroups = sm_cgroups_new(sys_root);
        if (d->opts.docker_root || d->opts.podman_root)
            sm_cgroups_set_name_roots(d->cgroups, d->opts.docker_root, d->opts.podman_root);
        d->ok[SM_DEPTH_CGROUPS] = sm_cgroups_available(d->cgroups);
    }
    if (wanted(d, SM_DEPTH_GPUS)) {
        d->gpus = sm_gpus_new(sys_root, d->opts.nvml_lib);
        d->ok[SM_DEPTH_GPUS] = sm_gpus_count(d->gpus) > 0;
    }
    for (int r = 0; r < SM_DEPTH_COUNT; r++)
        if (wanted(d, (enum sm_depth_reader)r) && !d->ok[r])
            unavailable(d, (enum sm_depth_reader)r, 0);
    d->opts.nvml_lib = d->opts.docker_root = d->opts.podman_root = NULL; /* borrowed */
    return d;
}

void
sm_depth_free(struct sm_depth *d)
{
    if (d == NULL)
        return;
    sm_procs_free(d->procs);
    sm_sensors_free(d->sensors);
    sm_psi_free(d->psi);
    sm_cgroups_free(d->cgroups);
    sm_gpus_free(d->gpus);
    sm_proc_list_done(&d->all);
    free(d);
}

static enum sm_rc
read_procs(struct sm_depth *d, double mono, struct sm_depth_sample *out)
{
    if (d->opts.top_n == 0)
        return sm_procs_read_at(d->procs, mono, d->opts.proc_flags, &out->procs);
    enum sm_rc rc = sm_procs_read_at(d->procs, mono, d->opts.proc_flags | SM_PROCS_LAZY, &d->all);
    if (rc != SM_OK)
        return rc;
    sm_procs_select(&d->all, d->opts.top_n, &out->procs);
    out->procs.nskipped = d->all.nskipped;
    sm_procs_complete(d->procs, &out->procs);
    return SM_OK;
}

enum sm_rc
sm_depth_read_at(struct sm_depth *d, double mono, struct sm_depth_sample *out)
{
    out->have = 0;
    out->procs.n = out->sensors.n = out->cgroups.n = out->gpus.n = 0;
    memset(&out->psi, 0, sizeof out->psi);
    for (int r = 0; r < SM_DEPTH_COUNT; r++) {
        if (!d->ok[r])
            continue;
        enum sm_rc rc = SM_EUNAVAIL;
        switch ((enum sm_depth_reader)r) {
        case SM_DEPTH_PROCS:
            rc = read_procs(d, mono, out);
            break;
        case SM_DEPTH_SENSORS:
            rc = sm_sensors_read(d->sensors, &out->sensors);
            break;
        case SM_DEPTH_PSI:
            rc = sm_psi_read(d->psi, &out->psi);
            break;
        case SM_DEPTH_CGROUPS:
            rc = sm_cgroups_read_at(d->cgroups, mono, &out->cgroups);
            break;
        case SM_DEPTH_GPUS:
            rc = sm_gpus_read(d->gpus, &out->gpus);
            break;
        case SM_DEPTH_COUNT:
            break;
        }
        if (rc == SM_OK) {
            out->have |= 1u << r;
            d->worked[r] = 1;
        } else {
            unavailable(d, (enum sm_depth_reader)r, d->worked[r]);
        }
    }
    return out->have ? SM_OK : SM_EUNAVAIL;
}

enum sm_rc
sm_depth_read(struct sm_depth *d, struct sm_depth_sample *out)
{
    return sm_depth_read_at(d, sm_mono_now(), out);
}
