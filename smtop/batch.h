/* batch.h: the frames of batch mode (-b, plain text like top -b) and --json (JSON lines).
 * Both print what the model holds for one host; server mode prints one per host. */
#ifndef SM_SMTOP_BATCH_H
#define SM_SMTOP_BATCH_H

#include <stdio.h>

#include "collect/proc.h"
#include "model.h"

/* Processes a batch frame lists (the busiest by CPU). */
#define BATCH_PROCS 20

/* Print one plain-text frame for host h (its facts and latest sample) to out, ending
 * with an empty line. now is the unix time shown in the header. Returns 0, or -1 if
 * writing failed. */
int batch_text_frame(FILE *out, const struct model_host *h, double now);

/* Print the n busiest of the processes at v (by CPU percent, then CPU time) like
 * top -b: a header line and one line each, then an empty line. Returns 0, or -1. */
int batch_procs_section(FILE *out, const struct sm_proc *v, size_t count, size_t n);

/* Print host h's latest sample as one line of JSON (docs/DESIGN.md section 3 shape, with the
 * facts under "host", and "host_id" when id_field is set). Returns 0, or -1. */
int batch_json_frame(FILE *out, const struct model_host *h, int id_field);

#endif
