/* test_psi.c: the /proc/pressure reader on fixture trees and on this host. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/psi.h"
#include "tap.h"

static const char *srcdir;

static struct sm_psi_reader *
reader_at(const char *fixture)
{
    char proc[1024];
    snprintf(proc, sizeof proc, "%s/tests/fixtures/%s/t0/proc", srcdir, fixture);
    return sm_psi_new(proc);
}

static void
test_full_kernel(void)
{
    struct sm_psi_reader *r = reader_at("depth");
    struct sm_psi p;
    ok(sm_psi_available(r), "depth: PSI available");
    ok(sm_psi_read(r, &p) == SM_OK, "depth: read");
    ok(p.have[SM_PSI_CPU] && p.res[SM_PSI_CPU].have_some && p.res[SM_PSI_CPU].have_full,
       "cpu some and full");
    ok_near(p.res[SM_PSI_CPU].some.avg10, 1.5, 1e-9, "cpu some avg10");
    ok_near(p.res[SM_PSI_CPU].some.avg60, 0.75, 1e-9, "cpu some avg60");
    ok(p.res[SM_PSI_CPU].some.total_us == 123456789, "cpu some total");
    ok_near(p.res[SM_PSI_MEMORY].some.avg10, 12.34, 1e-9, "memory some avg10");
    ok_near(p.res[SM_PSI_MEMORY].full.avg10, 10.01, 1e-9, "memory full avg10");
    ok(p.res[SM_PSI_IO].have_some && !p.res[SM_PSI_IO].have_full,
       "io: a corrupt full line is dropped, some kept");
    ok_near(p.res[SM_PSI_IO].some.avg300, 0.3, 1e-9, "io some avg300");
    ok_str(sm_psi_name(SM_PSI_MEMORY), "memory", "names as the kernel's files");
    ok(sm_psi_name(SM_PSI_COUNT) == NULL, "no name past the table");
    sm_psi_free(r);
}

static void
test_old_kernel(void)
{
    struct sm_psi_reader *r = reader_at("depth-old");
    struct sm_psi p;
    ok(sm_psi_read(r, &p) == SM_OK, "old kernel: cpu alone is read");
    ok(p.have[SM_PSI_CPU] && !p.res[SM_PSI_CPU].have_full, "old kernel: no cpu full line");
    ok(!p.have[SM_PSI_MEMORY] && !p.have[SM_PSI_IO], "old kernel: missing files not reported");
    sm_psi_free(r);

    r = sm_psi_new("/nonexistent");
    ok(!sm_psi_available(r), "no PSI: unavailable");
    ok(sm_psi_read(r, &p) == SM_EUNAVAIL, "no PSI: SM_EUNAVAIL, nothing else");
    sm_psi_free(r);
    sm_psi_free(NULL);
}

/* On this host, when it has PSI: values are percentages and totals only grow. */
static void
test_host(void)
{
    struct sm_psi_reader *r = sm_psi_new(NULL);
    struct sm_psi a, b;
    if (!sm_psi_available(r)) {
        ok(1, "# SKIP host has no /proc/pressure");
        sm_psi_free(r);
        return;
    }
    ok(sm_psi_read(r, &a) == SM_OK && sm_psi_read(r, &b) == SM_OK, "host: two reads");
    int good = 1;
    for (int i = 0; i < SM_PSI_COUNT; i++)
        if (a.have[i] && b.have[i] && b.res[i].some.total_us < a.res[i].some.total_us)
            good = 0;
    ok(good && a.have[SM_PSI_CPU], "host: cpu read, totals never go back");
    sm_psi_free(r);
}

int
main(void)
{
    srcdir = getenv("top_srcdir");
    if (srcdir == NULL)
        srcdir = ".";
    test_full_kernel();
    test_old_kernel();
    test_host();
    return tap_done();
}
