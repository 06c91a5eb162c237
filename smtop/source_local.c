/* source_local.c: this machine, sampled directly, as one host of the model. */
#include "config.h"

#include "source_local.h"

#include <stdlib.h>

#include "collect/collect.h"
#include "xmalloc.h"

struct source_local {
    struct model *model;
    struct sm_collector *collector;
    struct sm_sample sample;
    struct sm_host facts;
};

struct source_local *
source_local_new(struct model *m, const char *proc_root, const char *sys_root)
{
    struct source_local *src = sm_xcalloc(1, sizeof *src);
    src->model = m;
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
    free(src);
}

enum sm_rc
source_local_tick(struct source_local *src)
{
    enum sm_rc rc = sm_collector_sample(src->collector, &src->sample);
    if (rc != SM_OK)
        return rc;
    model_add_sample(src->model, SOURCE_LOCAL_HOST, &src->sample);
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
