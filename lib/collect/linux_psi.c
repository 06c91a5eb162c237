/* linux_psi.c: /proc/pressure reader (see psi.h). The three files stay open and are
 * re-read with pread; each holds two short lines. */
#include "config.h"

#include "psi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../xmalloc.h"
#include "util.h"

static const char *const psi_names[SM_PSI_COUNT] = {
    [SM_PSI_CPU] = "cpu", [SM_PSI_MEMORY] = "memory", [SM_PSI_IO] = "io"};

struct sm_psi_reader {
    int fd[SM_PSI_COUNT];
};

struct sm_psi_reader *
sm_psi_new(const char *proc_root)
{
    struct sm_psi_reader *r = sm_xcalloc(1, sizeof *r);
    for (int i = 0; i < SM_PSI_COUNT; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "pressure/%s", psi_names[i]);
        r->fd[i] = sm_cu_open(proc_root ? proc_root : "/proc", rel);
    }
    return r;
}

void
sm_psi_free(struct sm_psi_reader *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < SM_PSI_COUNT; i++)
        if (r->fd[i] >= 0)
            close(r->fd[i]);
    free(r);
}

const char *
sm_psi_name(enum sm_psi_resource res)
{
    return (unsigned)res < SM_PSI_COUNT ? psi_names[res] : NULL;
}

int
sm_psi_available(const struct sm_psi_reader *r)
{
    for (int i = 0; i < SM_PSI_COUNT; i++)
        if (r->fd[i] >= 0)
            return 1;
    return 0;
}

/* Value of key= in the line starting at p (up to the newline); -1 when absent. */
static int
field(const char *p, const char *key, double *out)
{
    size_t klen = strlen(key);
    const char *eol = strchr(p, '\n');
    for (const char *q = p; (q = strstr(q, key)) != NULL && (eol == NULL || q < eol); q++) {
        if (q != p && q[-1] != ' ')
            continue;
        char *end;
        double v = strtod(q + klen, &end);
        if (end == q + klen)
            return -1;
        *out = v;
        return 0;
    }
    return -1;
}

/* Parse one line ("some avg10=0.12 avg60=... avg300=... total=123"); 0 or -1. */
static int
parse_line(const char *p, struct sm_psi_line *l)
{
    double total = 0;
    if (field(p, "avg10=", &l->avg10) != 0 || field(p, "avg60=", &l->avg60) != 0 ||
        field(p, "avg300=", &l->avg300) != 0 || field(p, "total=", &total) != 0)
        return -1;
    /* Percentages from the kernel are 0..100; anything else is a corrupt file. */
    if (!(l->avg10 >= 0 && l->avg10 <= 100 && l->avg60 >= 0 && l->avg60 <= 100 && l->avg300 >= 0 &&
          l->avg300 <= 100 && total >= 0))
        return -1;
    l->total_us = total >= 1.8e19 ? UINT64_MAX : (uint64_t)total;
    return 0;
}

enum sm_rc
sm_psi_read(struct sm_psi_reader *r, struct sm_psi *out)
{
    memset(out, 0, sizeof *out);
    int any = 0;
    for (int i = 0; i < SM_PSI_COUNT; i++) {
        char buf[512];
        if (r->fd[i] < 0 || sm_cu_pread(r->fd[i], buf, sizeof buf) <= 0)
            continue;
        struct sm_psi_res *res = &out->res[i];
        for (const char *p = buf; *p;) {
            if (strncmp(p, "some ", 5) == 0)
                res->have_some = parse_line(p, &res->some) == 0;
            else if (strncmp(p, "full ", 5) == 0)
                res->have_full = parse_line(p, &res->full) == 0;
            const char *nl = strchr(p, '\n');
            p = nl ? nl + 1 : p + strlen(p);
        }
        if (res->have_some || res->have_full) {
            out->have[i] = 1;
            any = 1;
        }
    }
    return any ? SM_OK : SM_EUNAVAIL;
}
