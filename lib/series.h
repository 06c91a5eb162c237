/* series.h: the one table that turns a sample into metric series.
 *
 * A series is a name, at most one label and a value (docs/DESIGN.md section 5 names:
 * "cpu.usage", "cpu.core.usage{core=3}", "fs.used_percent{mount=/}"). Each row of
 * sm_series_table says how to read one series from a struct sm_sample: its name, which
 * list of the sample it runs over (none, cores, filesystems, disks, interfaces; the list
 * gives the label), its unit, the SM_HAVE_* bits it needs and where its value sits
 * (the offset and type of a field). The server
 * stores what the table yields (routes_ingest.c) and smtop keeps the rows marked
 * SM_SERIES_LIVE in its rings (model.c), so a new metric family is new rows here.
 *
 * A value the sample does not have (its section's bit is clear, its SM_MISS_* bit is
 * set, the core is offline, a frequency the host does not report) makes no point, never
 * a 0. */
#ifndef SM_LIB_SERIES_H
#define SM_LIB_SERIES_H

#include <stddef.h>

#include "sample.h"

/* The list of a sample a row runs over; it gives the row's label key. */
enum sm_series_over {
    SM_OVER_HOST,   /* one value per sample, no label */
    SM_OVER_CORE,   /* per core: core=N (cpu.cores, by CPU number) */
    SM_OVER_FS,     /* per filesystem: mount=MOUNTPOINT (the device when it has none) */
    SM_OVER_DISK,   /* per whole disk: dev=NAME */
    SM_OVER_IFACE,  /* per interface: iface=NAME */
    SM_OVER_SENSOR, /* per temperature or fan: sensor=CHIP/LABEL */
    SM_OVER_CGROUP, /* per service or container: cgroup=NAME */
    SM_OVER_GPU,    /* per GPU: gpu=ID (its name when it has no id) */
};

/* How a value reads: smtop formats it by its unit. */
enum sm_series_unit {
    SM_UNIT_NONE,    /* a plain number (load average, degrees Celsius, RPM, watts) */
    SM_UNIT_PERCENT, /* 0 to 100 */
    SM_UNIT_BYTES,
    SM_UNIT_BYTES_PER_S,
    SM_UNIT_MHZ,
};

/* Row flags. */
enum {
    SM_SERIES_LIVE = 1 << 0,       /* smtop keeps a ring of it for each host */
    SM_SERIES_NEG_ABSENT = 1 << 1, /* a negative value means unknown (no cpufreq) */
};

/* The C type of the field a row reads. */
enum sm_series_type {
    SM_SERIES_DOUBLE, /* NAN is absent */
    SM_SERIES_U64,
    SM_SERIES_I64, /* negative is absent (the host depth lists' whole numbers) */
};

struct sm_series_def {
    const char *name;
    enum sm_series_over over;
    enum sm_series_unit unit;
    unsigned need;  /* SM_HAVE_* bits the sample must have (all of them) */
    unsigned miss;  /* SM_MISS_* bits that make it absent (any of them) */
    unsigned flags; /* SM_SERIES_* */
    /* Where the value is: offset of a field of type in struct sm_sample (SM_OVER_HOST)
     * or in one entry of the list (struct sm_core, sm_fs, sm_disk, sm_iface,
     * sm_sample_sensor, sm_sample_cgroup, sm_sample_gpu). */
    size_t off;
    enum sm_series_type type;
};

/* The rows, in the order a sample's series are produced. */
extern const struct sm_series_def sm_series_table[];
extern const size_t sm_series_count;

/* Label key of a list ("core", "mount", "dev", "iface", "sensor", "cgroup", "gpu");
 * NULL for SM_OVER_HOST. */
const char *sm_series_label_key(enum sm_series_over over);

/* Called once per present value: def is the row, lval the label value (NULL for a
 * SM_OVER_HOST row; valid only during the call), v is finite. */
typedef void (*sm_series_fn)(void *arg, const struct sm_series_def *def, const char *lval,
                             double v);

/* Call fn for every present value of s, over the rows whose flags include all of
 * want (0: every row). Consecutive rows over the same list run entry by entry (core 0's
 * rows, then core 1's), so a sample yields its series in the same order every time.
 * Any thread; s is only read. */
void sm_series_each(const struct sm_sample *s, unsigned want, sm_series_fn fn, void *arg);

/* Write "name" or "name{key=lval}" into buf (truncated to len - 1 bytes, always
 * terminated); returns buf. */
char *sm_series_format(char *buf, size_t len, const struct sm_series_def *def, const char *lval);

/* The row of a series name, with or without its "{labels}" part ("cpu.core.usage{core=3}"
 * finds cpu.core.usage); NULL when no row has that name. */
const struct sm_series_def *sm_series_lookup(const char *name);

#endif
