/* psi.h: pressure stall information (/proc/pressure/{cpu,memory,io}).
 *
 * The kernel's own running averages, so one read is meaningful alone: no deltas.
 * A kernel without PSI (before 4.20, or booted with psi=0) has no files; the reader
 * then reports nothing and no error. Not thread safe: one reader per thread. */
#ifndef SM_LIB_COLLECT_PSI_H
#define SM_LIB_COLLECT_PSI_H

#include <stdint.h>

#include "../rc.h"

enum sm_psi_resource { SM_PSI_CPU, SM_PSI_MEMORY, SM_PSI_IO, SM_PSI_COUNT };

/* One "some" or "full" line: percentages of wall time over 10 s, 60 s, 300 s,
 * and the total stall time in microseconds. */
struct sm_psi_line {
    double avg10, avg60, avg300;
    uint64_t total_us;
};

struct sm_psi_res {
    int have_some, have_full; /* cpu "full" is absent before Linux 5.13 */
    struct sm_psi_line some, full;
};

struct sm_psi {
    int have[SM_PSI_COUNT]; /* this resource was read */
    struct sm_psi_res res[SM_PSI_COUNT];
};

struct sm_psi_reader;

/* Open the three files under proc_root (NULL means "/proc"). Never returns NULL. */
struct sm_psi_reader *sm_psi_new(const char *proc_root);
void sm_psi_free(struct sm_psi_reader *r);

/* Names as the kernel spells them: "cpu", "memory", "io". */
const char *sm_psi_name(enum sm_psi_resource res);

/* 1 when at least one of the files is there. */
int sm_psi_available(const struct sm_psi_reader *r);

/* Read the files into out (cleared first). SM_OK when at least one resource was read,
 * SM_EUNAVAIL when none is (no PSI on this kernel: not an error to log). */
enum sm_rc sm_psi_read(struct sm_psi_reader *r, struct sm_psi *out) SM_MUST_CHECK;

#endif
