/* source_local.h: samples this machine through lib/collect into the model (local mode). */
#ifndef SM_SMTOP_SOURCE_LOCAL_H
#define SM_SMTOP_SOURCE_LOCAL_H

#include "model.h"
#include "rc.h"

/* The host id local mode uses in the model. */
#define SOURCE_LOCAL_HOST 0
/* Refresh delay bounds (-d), in seconds. */
#define SOURCE_LOCAL_MIN_DELAY 0.1
#define SOURCE_LOCAL_MAX_DELAY 3600.0
/* How long the first measured interval lasts: the first sample the collector takes
 * counts since boot, so smtop primes it and shows a sample measured over this. */
#define SOURCE_LOCAL_PRIME 0.25

struct source_local;

/* Create a source feeding host SOURCE_LOCAL_HOST of m (borrowed; it must outlive the
 * source), reading /proc and /sys under the given roots (NULL: the real ones).
 * Takes the priming sample and sets the host facts. Never returns NULL. */
struct source_local *source_local_new(struct model *m, const char *proc_root, const char *sys_root);
/* Free; NULL is a no-op. */
void source_local_free(struct source_local *src);

/* Take one sample and add it to the model. SM_OK, or SM_EIO when no kernel file could
 * be read (the model is left alone). */
enum sm_rc source_local_tick(struct source_local *src) SM_MUST_CHECK;

/* The latest sample taken (valid after a successful tick, until the next one). */
const struct sm_sample *source_local_sample(const struct source_local *src);
/* The host facts read at creation. */
const struct sm_host *source_local_facts(const struct source_local *src);

struct sm_depth_sample;
/* Also read the host-depth families of lib/collect/depth.h (readers: a mask of
 * 1 << enum sm_depth_reader, 0 for all) at every tick from now on; every process is
 * listed with its command line. Takes a priming read. */
void source_local_enable_depth(struct source_local *src, unsigned readers);
/* The latest depth read, or NULL (not enabled, or nothing could be read). */
const struct sm_depth_sample *source_local_depth(const struct source_local *src);

struct sm_cgroup_list;
/* Also read the cgroup v2 tree (services and containers) at every tick from now on;
 * takes a priming read the first time. 0, or -1 when the machine has no v2 tree. */
int source_local_enable_cgroups(struct source_local *src);
/* The latest cgroup read, or NULL (not enabled, or nothing read). */
const struct sm_cgroup_list *source_local_cgroups(const struct source_local *src);

#endif
