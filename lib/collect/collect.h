/* collect.h: the collector, a small registry of readers, one per kernel file.
 *
 * A collector keeps its files open and re-reads them with pread; it allocates
 * while it learns the machine (first samples, a new interface or disk) and not
 * in steady state. A reader that fails is marked unavailable, logged once, and
 * the others still report. The /proc and /sys roots are parameters so tests
 * run on captured trees. Not thread safe: one collector per thread. */
#ifndef SM_LIB_COLLECT_COLLECT_H
#define SM_LIB_COLLECT_COLLECT_H

#include <stddef.h>

#include "../clock.h"
#include "../rc.h"
#include "../sample.h"

struct sm_collector;
struct statvfs;

typedef int (*sm_statvfs_fn)(const char *path, struct statvfs *out);

/* Create a collector reading under proc_root and sys_root (NULL means "/proc" and "/sys").
 * Never returns NULL; readers whose files are missing are marked unavailable. */
struct sm_collector *sm_collector_new(const char *proc_root, const char *sys_root);
void sm_collector_free(struct sm_collector *c);

/* Replace statvfs (tests on fixture trees map mountpoints to fixture data). */
void sm_collector_set_statvfs(struct sm_collector *c, sm_statvfs_fn fn);

/* Take one sample into out (cleared first, capacity reused). mono is a monotonic
 * time in seconds used for rates, wall the unix time stamped on the sample.
 * The first sample has CPU percentages since boot and zero rates. Returns SM_OK
 * when at least one reader worked. */
enum sm_rc sm_collector_sample_at(struct sm_collector *c, double mono, double wall,
                                  struct sm_sample *out) SM_MUST_CHECK;
/* The same with the real clocks. */
enum sm_rc sm_collector_sample(struct sm_collector *c, struct sm_sample *out) SM_MUST_CHECK;

/* Fill host facts (hostname, OS, kernel, arch, CPU model, cores, boot time). */
void sm_collector_host(struct sm_collector *c, struct sm_host *h);

/* Reader registry, for --help output, logs and tests. */
size_t sm_collector_nreaders(const struct sm_collector *c);
const char *sm_collector_reader_name(const struct sm_collector *c, size_t i);
int sm_collector_reader_ok(const struct sm_collector *c, size_t i);


#endif
