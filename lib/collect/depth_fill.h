/* depth_fill.h: a host depth read (depth.h) put into a sample (sample.h), as the agent
 * sends it. */
#ifndef SM_LIB_COLLECT_DEPTH_FILL_H
#define SM_LIB_COLLECT_DEPTH_FILL_H

#include "../sample.h"
#include "depth.h"

/* Copy what d read into s, within the sample's caps: at most SM_MAX_PROCS processes
 * (d's selection is already the top n by CPU and by RSS), SM_MAX_SENSORS sensors,
 * SM_MAX_CGROUPS cgroups (by CPU, the busiest first, when there are more), SM_MAX_GPUS
 * GPUs; command lines cut to SM_CMDLINE_LEN - 1 bytes at a character boundary. A
 * sensor or cgroup whose name another one already has is renamed (a cgroup by its
 * path) or left out, so the series labels stay unique. Returns the number of entries
 * left out. The processes section is there when d read processes. */
size_t sm_depth_fill(const struct sm_depth_sample *d, struct sm_sample *s);

#endif
