/* test_depth.c: the host-depth registry on fixture trees and on this host. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/depth.h"
#include "tap.h"

int
main(void)
{
    const char *src = getenv("top_srcdir"), *build = getenv("top_builddir");
    char proc[1024], sys[1024], fake[1024];
    snprintf(proc, sizeof proc, "%s/tests/fixtures/procs/t0/proc", src ? src : ".");
    snprintf(sys, sizeof sys, "%s/tests/fixtures/depth/t0/sys", src ? src : ".");
    snprintf(fake, sizeof fake, "%s/tests/unit/libfake_nvml.so", build ? build : ".");

    /* The agent's configuration: top 2, NVML from the fake library. */
    struct sm_depth_opts o = {.top_n = 2, .nvml_lib = fake, .docker_root = "/nonexistent"};
    struct sm_depth *d = sm_depth_new(proc, sys, &o);
    struct sm_depth_sample s;
    sm_depth_sample_init(&s);
    ok(sm_depth_reader_ok(d, SM_DEPTH_SENSORS) && sm_depth_reader_ok(d, SM_DEPTH_CGROUPS) &&
           sm_depth_reader_ok(d, SM_DEPTH_GPUS),
       "fixture: sensors, cgroups and GPUs available");
    ok(!sm_depth_reader_ok(d, SM_DEPTH_PSI), "fixture: no /proc/pressure there: unavailable");
    ok(sm_depth_read_at(d, 5.0, &s) == SM_OK, "fixture: read");
    ok(s.have == ((1u << SM_DEPTH_PROCS) | (1u << SM_DEPTH_SENSORS) | (1u << SM_DEPTH_CGROUPS) |
                  (1u << SM_DEPTH_GPUS)),
       "fixture: every available family read (have %#x)", s.have);
    ok(s.procs.n >= 2 && s.procs.n <= 4 && s.procs.nskipped == 3,
       "agent: top 2 by CPU and RSS (%zu), skipped counted", s.procs.n);
    int complete = 1;
    for (size_t i = 0; i < s.procs.n; i++)
        if (!s.procs.v[i].have_cmdline)
            complete = 0;
    ok(complete, "agent: the selected processes have their command lines");
    ok(s.sensors.n == 10 && s.cgroups.n == 13 && s.gpus.n == 4,
       "fixture: 10 sensors, 13 cgroups, 2 AMD + 2 NVIDIA GPUs (%zu %zu %zu)", s.sensors.n,
       s.cgroups.n, s.gpus.n);
    int named = 0;
    for (size_t i = 0; i < s.cgroups.n; i++)
        if (s.cgroups.v[i].kind == SM_CGROUP_DOCKER && s.cgroups.v[i].named)
            named = 1;
    ok(!named, "options reach the cgroup reader (Docker root off: no names)");
    sm_depth_free(d);

    /* smtop's configuration: every process, only processes and pressure. */
    struct sm_depth_opts all = {.readers = (1u << SM_DEPTH_PROCS) | (1u << SM_DEPTH_PSI),
                                .proc_flags = SM_PROCS_CMDLINE};
    d = sm_depth_new(proc, sys, &all);
    ok(sm_depth_read_at(d, 5.0, &s) == SM_OK && s.procs.n == 10 && s.have == 1u,
       "smtop: every process; unwanted families not read");
    sm_depth_free(d);

    d = sm_depth_new("/nonexistent", "/nonexistent", &(struct sm_depth_opts){.nvml_lib = ""});
    ok(sm_depth_read(d, &s) == SM_EUNAVAIL && s.have == 0, "nothing there: SM_EUNAVAIL");
    ok(!sm_depth_reader_ok(d, SM_DEPTH_PROCS), "a process root that cannot be listed: off");
    sm_depth_free(d);
    sm_depth_free(NULL);

    d = sm_depth_new(NULL, NULL, NULL);
    ok(sm_depth_read(d, &s) == SM_OK && (s.have & (1u << SM_DEPTH_PROCS)) && s.procs.n > 1,
       "host: read (%zu processes, have %#x)", s.procs.n, s.have);
    sm_depth_free(d);
    ok_str(sm_depth_reader_name(SM_DEPTH_PSI), "pressure", "registry names");
    ok(sm_depth_reader_name(SM_DEPTH_COUNT) == NULL, "no name past the table");
    sm_depth_sample_done(&s);
    return tap_done();
}
