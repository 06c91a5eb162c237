/* test_cgroups.c: services and containers from a cgroup v2 fixture tree
 * (tests/fixtures/make_cgroups.py), read twice 2 s apart, and from this host. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/cgroup.h"
#include "tap.h"

static const char *srcdir;
static char tmpdir[256];

static void
run(const char *cmd)
{
    if (system(cmd) != 0)
        abort();
}

static const struct sm_cgroup *
find(const struct sm_cgroup_list *l, enum sm_cgroup_kind kind, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].kind == kind && strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    return NULL;
}

static void
test_fixture(void)
{
    char cmd[2048], sys[512], docker[1024], podman[1024];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/smcgroup.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        abort();
    snprintf(cmd, sizeof cmd, "cp -R '%s/tests/fixtures/depth/t0/sys' '%s/'", srcdir, tmpdir);
    run(cmd);
    snprintf(sys, sizeof sys, "%s/sys", tmpdir);
    snprintf(docker, sizeof docker, "%s/tests/fixtures/depth/t0/var/lib/docker", srcdir);
    snprintf(podman, sizeof podman, "%s/tests/fixtures/depth/t0/var/lib/containers/storage",
             srcdir);
    struct sm_cgroups *r = sm_cgroups_new(sys);
    sm_cgroups_set_name_roots(r, docker, podman);
    struct sm_cgroup_list l;
    sm_cgroup_list_init(&l);
    ok(sm_cgroups_available(r), "fixture: a v2 tree");
    ok(sm_cgroups_read_at(r, 10.0, &l) == SM_OK, "t0: read");
    ok(l.n == 13, "t0: 6 services and 7 containers (got %zu)", l.n);
    for (size_t i = 0; i < l.n; i++)
        diag("%-10s %-24s %s", sm_cgroup_kind_name(l.v[i].kind), l.v[i].name, l.v[i].path);
    const struct sm_cgroup *g = find(&l, SM_CGROUP_SERVICE, "sshd.service");
    ok(g && g->cpu_percent == 0 && g->read_bps == 0, "first read: no rates");
    ok(g && g->have_mem && g->mem_bytes == 4 << 20 && g->have_pids && g->pids == 3,
       "service memory and pids");

    snprintf(cmd, sizeof cmd, "cp -R '%s/tests/fixtures/depth/t1/sys/.' '%s/sys/'", srcdir, tmpdir);
    run(cmd);
    ok(sm_cgroups_read_at(r, 12.0, &l) == SM_OK, "t1: read");
    g = find(&l, SM_CGROUP_SERVICE, "sshd.service");
    ok_near(g ? g->cpu_percent : -1, 25.0, 1e-6, "service CPU: a quarter of one core");
    ok_near(g ? g->read_bps : -1, 524288.0, 1e-6, "service io read bytes/s over two devices");
    ok_near(g ? g->write_bps : -1, 1048576.0, 1e-6, "service io write bytes/s");
    ok(g && strcmp(g->path, "system.slice/sshd.service") == 0 && g->named && g->id[0] == '\0',
       "service path and name");
    g = find(&l, SM_CGROUP_SERVICE, "cron.service");
    ok(g && !g->have_mem && !g->have_pids && !g->have_io, "controllers off: nothing made up");
    g = find(&l, SM_CGROUP_SERVICE, "restart.service");
    ok(g && g->cpu_percent == 0, "a counter that went back gives 0, not a huge rate");
    g = find(&l, SM_CGROUP_DOCKER, "web");
    ok(g && g->named && g->id[0] == 'a' && strlen(g->id) == 64, "Docker named from config.v2.json");
    ok_near(g ? g->cpu_percent : -1, 150.0, 1e-6, "container CPU over one core");
    ok(g && g->mem_bytes == 256 << 20 && g->pids == 12 && g->write_bps == 4096 * 2 / 2.0,
       "container memory, pids, io");
    g = find(&l, SM_CGROUP_DOCKER, "bbbbbbbbbbbb");
    ok(g && !g->named, "Docker without a config file: its short id");
    g = find(&l, SM_CGROUP_DOCKER, "ffffffffffff");
    ok(g && strncmp(g->path, "docker/", 7) == 0, "Docker with the cgroupfs driver");
    g = find(&l, SM_CGROUP_PODMAN, "db");
    ok(g && g->named && g->cpu_percent > 49.9 && g->cpu_percent < 50.1,
       "Podman named from containers.json");
    g = find(&l, SM_CGROUP_PODMAN, "dddddddddddd");
    ok(g && strstr(g->path, "user@1000.service") != NULL, "rootless Podman under user@1000");
    g = find(&l, SM_CGROUP_CONTAINERD, "eeeeeeeeeeee");
    ok(g && strstr(g->path, "kubepods") != NULL, "containerd under kubepods");
    g = find(&l, SM_CGROUP_LXC, "mybox");
    ok(g && g->named && g->mem_bytes == 128 << 20, "LXC named by its path");
    ok(find(&l, SM_CGROUP_SERVICE, "inner.service") == NULL,
       "a container's own services are not the host's");
    ok(find(&l, SM_CGROUP_SERVICE, "pipewire.service") != NULL &&
           find(&l, SM_CGROUP_SERVICE, "user@1000.service") != NULL,
       "user services found");
    int conmon = 0;
    for (size_t i = 0; i < l.n; i++)
        if (strstr(l.v[i].path, "conmon") || strstr(l.v[i].path, "lxc.monitor"))
            conmon = 1;
    ok(!conmon, "conmon and the LXC monitor are not containers");

    /* Names are not looked up when the roots are off. */
    sm_cgroups_set_name_roots(r, NULL, NULL);
    ok(sm_cgroups_read_at(r, 14.0, &l) == SM_OK &&
           find(&l, SM_CGROUP_DOCKER, "aaaaaaaaaaaa") != NULL,
       "no name roots: ids");
    sm_cgroup_list_done(&l);
    sm_cgroups_free(r);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    run(cmd);

    r = sm_cgroups_new("/nonexistent");
    sm_cgroup_list_init(&l);
    ok(!sm_cgroups_available(r) && sm_cgroups_read(r, &l) == SM_EUNAVAIL,
       "no cgroup v2: SM_EUNAVAIL");
    sm_cgroup_list_done(&l);
    sm_cgroups_free(r);
    sm_cgroups_free(NULL);
    ok_str(sm_cgroup_kind_name(SM_CGROUP_CONTAINERD), "containerd", "kind names");
}

static void
test_host(void)
{
    struct sm_cgroups *r = sm_cgroups_new(NULL);
    struct sm_cgroup_list l;
    sm_cgroup_list_init(&l);
    if (!sm_cgroups_available(r)) {
        ok(1, "# SKIP no cgroup v2 tree on this host");
    } else {
        ok(sm_cgroups_read(r, &l) == SM_OK && sm_cgroups_read(r, &l) == SM_OK,
           "host: two reads (%zu groups)", l.n);
        int sane = 1;
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].cpu_percent < 0 || l.v[i].read_bps < 0)
                sane = 0;
        ok(sane, "host: no negative rate");
    }
    sm_cgroup_list_done(&l);
    sm_cgroups_free(r);
}

int
main(void)
{
    srcdir = getenv("top_srcdir");
    if (srcdir == NULL)
        srcdir = ".";
    test_fixture();
    test_host();
    return tap_done();
}
