/* source_local.c: this machine, sampled directly, as one host of the model. */
#include "config.h"

#include "source_local.h"

#include <stdlib.h>

#include "collect/collect.h"
#include "collect/cgroup.h"
#include "collect/depth.h"
#include "xmalloc.h"

struct source_local {
    struct model *model;
    struct sm_collector *collector;
    struct sm_sample sample;
    struct sm_host facts;
    const char *proc_root, *sys_root; /* borrowed */
    struct sm_depth *depth;           /* NULL until source_local_enable_depth */
    struct sm_depth_sample dsample;
    int have_depth;
    struct sm_cgroups *cgroups; /* NULL until source_local_enable_cgroups */
    struct sm_cgroup_list cglist;
    int have_cgroups;
};

struct source_local *
source_local_new(struct model *m, const char *proc_root, const char *sys_root)
{
    struct source_local *src = sm_xcalloc(1, sizeof *src);
    src->model = m;
    src->proc_root = proc_root;
    src->sys_root = sys_root;
    sm_depth_sample_init(&src->dsample);
    sm_cgroup_list_init(&src->cglist);
    src->collector = sm_collector_new(proc_root, sys_root);
    sm_sample_init(&src->sample);
    sm_collector_host(src->collector, &src->facts);
    model_set_facts(m, SOURCE_LOCAL_HOST, &src->facts);
    /* Priming: counters since boot; not shown. A failure shows up at the first tick. */
    if (sm_collector_sample(src->collector, &src->sample) != SM_OK)
        sm_sample_clear(&src->sample);
    return src;
}

void
source_local_free(struct source_local *src)
{
    if (src == NULL)
        return;
    sm_collector_free(src->collector);
    sm_sample_done(&src->sample);
    sm_depth_free(src->depth);
    sm_cgroups_free(src->cgroups);
    sm_cgroup_list_done(&src->cglist);
    sm_depth_sample_done(&src->dsample);
    free(src);
}

enum sm_rc
source_local_tick(struct source_local *src)
{
    enum sm_rc rc = sm_collector_sample(src->collector, &src->sample);
    if (rc != SM_OK)
        return rc;
    model_add_sample(src->model, SOURCE_LOCAL_HOST, &src->sample);
    if (src->depth != NULL)
        src->have_depth = sm_depth_read(src->depth, &src->dsample) == SM_OK;
    if (src->cgroups != NULL)
        src->have_cgroups = sm_cgroups_read(src->cgroups, &src->cglist) == SM_OK;
    return SM_OK;
}

const struct sm_sample *
source_local_sample(const struct source_local *src)
{
    return &src->sample;
}

const struct sm_host *
source_local_facts(const struct source_local *src)
{
    return &src->facts;
}

void
source_local_enable_depth(struct source_local *src, unsigned readers)
{
    if (src->depth != NULL)
        return;
    /* Every process with its command line, as htop lists them. */
    struct sm_depth_opts o = {.readers = readers, .proc_flags = SM_PROCS_CMDLINE};
    src->depth = sm_depth_new(src->proc_root, src->sys_root, &o);
    /* Priming: CPU percentages are rates between two reads. */
    src->have_depth = sm_depth_read(src->depth, &src->dsample) == SM_OK;
}

const struct sm_depth_sample *
source_local_depth(const struct source_local *src)
{
    return src->have_depth ? &src->dsample : NULL;
}

int
source_local_enable_cgroups(struct source_local *src)
{
    if (src->cgroups == NULL) {
        src->cgroups = sm_cgroups_new(src->sys_root);
        /* Priming: rates are deltas between two reads. */
        src->have_cgroups = sm_cgroups_read(src->cgroups, &src->cglist) == SM_OK;
    }
    return sm_cgroups_available(src->cgroups) ? 0 : -1;
}

const struct sm_cgroup_list *
source_local_cgroups(const struct source_local *src)
{
    return src->have_cgroups ? &src->cglist : NULL;
}
