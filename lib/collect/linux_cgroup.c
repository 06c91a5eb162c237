/* linux_cgroup.c: cgroup v2 reader for services and containers (see cgroup.h). */
#include "config.h"

#include "cgroup.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../clock.h"
#include "../json.h"
#include "../xmalloc.h"
#include "util.h"

#define MAX_DEPTH 12
#define MAX_VISIT 8192 /* directories walked per read */
#define NAME_CACHE_MAX 1024
#define NAME_RETRY_S 30.0           /* a container without a name file is retried after */
#define DOCKER_CONFIG_MAX (1 << 20) /* bytes of config.v2.json read */
#define PODMAN_LIST_MAX (8 << 20)   /* bytes of containers.json read */

/* Counters of one group at the last read, for rates. */
struct gstate {
    char path[SM_CGROUP_PATH_LEN];
    ino_t ino;
    uint64_t usage_usec, rbytes, wbytes;
    int have_io;
    double when;
};

struct name_entry {
    enum sm_cgroup_kind kind;
    char id[SM_CGROUP_ID_LEN];
    char name[SM_CGROUP_NAME_LEN];
    int found;
    double when;
};

struct sm_cgroups {
    char root[4096];
    int ok;
    char *docker_root, *podman_root;
    struct gstate *st, *cur;
    size_t nst, capst, ncur, capcur;
    struct name_entry names[NAME_CACHE_MAX];
    size_t nnames;
    char *buf;
    size_t bufcap;
    size_t visited;
};

static const char *const kind_names[] = {
    [SM_CGROUP_SERVICE] = "service", [SM_CGROUP_DOCKER] = "docker",
    [SM_CGROUP_PODMAN] = "podman",   [SM_CGROUP_CONTAINERD] = "containerd",
    [SM_CGROUP_LXC] = "lxc",
};

void
sm_cgroup_list_init(struct sm_cgroup_list *l)
{
    memset(l, 0, sizeof *l);
}

void
sm_cgroup_list_done(struct sm_cgroup_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

const char *
sm_cgroup_kind_name(enum sm_cgroup_kind kind)
{
    return (unsigned)kind <= SM_CGROUP_LXC ? kind_names[kind] : NULL;
}

static int
is_v2_root(const char *path)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/cgroup.controllers", path);
    return stat(p, &st) == 0;
}

struct sm_cgroups *
sm_cgroups_new(const char *sys_root)
{
    struct sm_cgroups *r = sm_xcalloc(1, sizeof *r);
    const char *sys = sys_root ? sys_root : "/sys";
    snprintf(r->root, sizeof r->root, "%s/fs/cgroup", sys);
    if (is_v2_root(r->root)) {
        r->ok = 1;
    } else {
        snprintf(r->root, sizeof r->root, "%s/fs/cgroup/unified", sys);
        r->ok = is_v2_root(r->root);
    }
    sm_cgroups_set_name_roots(r, "/var/lib/docker", "/var/lib/containers/storage");
    return r;
}

void
sm_cgroups_set_name_roots(struct sm_cgroups *r, const char *docker_root, const char *podman_root)
{
    free(r->docker_root);
    free(r->podman_root);
    r->docker_root = docker_root ? sm_xstrdup(docker_root) : NULL;
    r->podman_root = podman_root ? sm_xstrdup(podman_root) : NULL;
    r->nnames = 0;
}

void
sm_cgroups_free(struct sm_cgroups *r)
{
    if (r == NULL)
        return;
    free(r->docker_root);
    free(r->podman_root);
    free(r->st);
    free(r->cur);
    free(r->buf);
    free(r);
}

int
sm_cgroups_available(const struct sm_cgroups *r)
{
    return r->ok;
}

/* ------------------------------------------------------------------ names */

static int
is_hex_id(const char *s, size_t len)
{
    if (len != 64)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Parse the JSON file dir/rel (at most max bytes); NULL when absent or invalid. */
static cJSON *
load_json(struct sm_cgroups *r, const char *dir, const char *rel, size_t max)
{
    int fd = sm_cu_open(dir, rel);
    if (fd < 0)
        return NULL;
    ssize_t n = sm_cu_pread_grow(fd, &r->buf, &r->bufcap, max);
    close(fd);
    if (n <= 0)
        return NULL;
    cJSON *root = NULL;
    char *cause = NULL;
    if (sm_json_parse(r->buf, (size_t)n, SM_JSON_MAX_DEPTH, &root, &cause) != SM_OK) {
        free(cause);
        return NULL;
    }
    return root;
}

static int
docker_name(struct sm_cgroups *r, const char *id, char *out, size_t outsz)
{
    if (r->docker_root == NULL)
        return -1;
    char rel[128];
    snprintf(rel, sizeof rel, "containers/%s/config.v2.json", id);
    cJSON *root = load_json(r, r->docker_root, rel, DOCKER_CONFIG_MAX);
    const cJSON *name = root ? cJSON_GetObjectItemCaseSensitive(root, "Name") : NULL;
    int rc = -1;
    if (cJSON_IsString(name) && name->valuestring[0] != '\0') {
        const char *s = name->valuestring + (name->valuestring[0] == '/');
        if (*s) {
            sm_cu_sanitize(out, outsz, s, strlen(s));
            rc = 0;
        }
    }
    cJSON_Delete(root);
    return rc;
}

static int
podman_name(struct sm_cgroups *r, const char *id, char *out, size_t outsz)
{
    if (r->podman_root == NULL)
        return -1;
    cJSON *root =
        load_json(r, r->podman_root, "overlay-containers/containers.json", PODMAN_LIST_MAX);
    int rc = -1;
    const cJSON *c;
    cJSON_ArrayForEach(c, root)
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "names");
        const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
        if (cJSON_IsString(cid) && strcmp(cid->valuestring, id) == 0 && cJSON_IsString(first) &&
            first->valuestring[0] != '\0') {
            sm_cu_sanitize(out, outsz, first->valuestring, strlen(first->valuestring));
            rc = 0;
            break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* The container's name into g->name (and g->named), from the cache or the files. */
static void
container_name(struct sm_cgroups *r, struct sm_cgroup *g, double mono)
{
    struct name_entry *e = NULL;
    for (size_t i = 0; i < r->nnames; i++)
        if (r->names[i].kind == g->kind && strcmp(r->names[i].id, g->id) == 0) {
            e = &r->names[i];
            break;
        }
    if (e == NULL || (!e->found && mono - e->when >= NAME_RETRY_S)) {
        if (e == NULL) {
            if (r->nnames == NAME_CACHE_MAX)
                r->nnames = 0; /* a host with that many containers: start the cache over */
            e = &r->names[r->nnames++];
            e->kind = g->kind;
            sm_strlcpy(e->id, g->id, sizeof e->id);
        }
        e->when = mono;
        e->found = 0;
        if (g->kind == SM_CGROUP_DOCKER)
            e->found = docker_name(r, g->id, e->name, sizeof e->name) == 0;
        else if (g->kind == SM_CGROUP_PODMAN)
            e->found = podman_name(r, g->id, e->name, sizeof e->name) == 0;
    }
    if (e->found) {
        sm_strlcpy(g->name, e->name, sizeof g->name);
        g->named = 1;
    } else {
        snprintf(g->name, sizeof g->name, "%.12s", g->id);
    }
}

/* ------------------------------------------------------------------ classification */

enum what { W_NONE, W_SKIP, W_SERVICE, W_CONTAINER };

static int
has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* What the directory called name (under parent, inside kubepods or not) holds. */
static enum what
classify(const char *name, const char *parent, int in_kube, struct sm_cgroup *g)
{
    static const struct {
        const char *prefix;
        enum sm_cgroup_kind kind;
    } scopes[] = {
        {"docker-", SM_CGROUP_DOCKER},
        {"libpod-", SM_CGROUP_PODMAN},
        {"cri-containerd-", SM_CGROUP_CONTAINERD},
    };
    size_t len = strlen(name);
    if (strncmp(name, "libpod-conmon-", 14) == 0 || strncmp(name, "lxc.monitor.", 12) == 0)
        return W_SKIP; /* the containers' supervisors, not the containers */
    if (has_suffix(name, ".scope")) {
        for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
            size_t pl = strlen(scopes[i].prefix);
            if (strncmp(name, scopes[i].prefix, pl) == 0 && is_hex_id(name + pl, len - pl - 6)) {
                g->kind = scopes[i].kind;
                memcpy(g->id, name + pl, 64);
                g->id[64] = '\0';
                return W_CONTAINER;
            }
        }
        return W_NONE;
    }
    if (is_hex_id(name, len) && (strcmp(parent, "docker") == 0 || in_kube)) {
        g->kind = strcmp(parent, "docker") == 0 ? SM_CGROUP_DOCKER : SM_CGROUP_CONTAINERD;
        memcpy(g->id, name, 65);
        return W_CONTAINER;
    }
    if ((strncmp(name, "lxc.payload.", 12) == 0 && name[12] != '\0') ||
        (strcmp(parent, "lxc") == 0 && strcmp(parent, name) != 0)) {
        const char *n = strncmp(name, "lxc.payload.", 12) == 0 ? name + 12 : name;
        g->kind = SM_CGROUP_LXC;
        g->id[0] = '\0';
        sm_cu_sanitize(g->name, sizeof g->name, n, strlen(n));
        g->named = 1;
        return W_CONTAINER;
    }
    if (has_suffix(name, ".service") && len > 8) {
        g->kind = SM_CGROUP_SERVICE;
        g->id[0] = '\0';
        sm_cu_sanitize(g->name, sizeof g->name, name, len);
        g->named = 1;
        return W_SERVICE;
    }
    return W_NONE;
}

/* ------------------------------------------------------------------ reading */

static int
read_u64_at(struct sm_cgroups *r, int dfd, const char *rel, uint64_t *out)
{
    char val[64];
    if (sm_cu_read_at(dfd, rel, val, sizeof val) != 0 || val[0] < '0' || val[0] > '9')
        return -1;
    const char *p = val;
    *out = sm_cu_parse_u64(&p);
    return 0;
}

/* Sum of rbytes and wbytes over the devices of io.stat. 0 or -1. */
static int
read_io(struct sm_cgroups *r, int dfd, uint64_t *rd, uint64_t *wr)
{
    int fd = openat(dfd, "io.stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = sm_cu_pread_grow(fd, &r->buf, &r->bufcap, 1 << 20);
    close(fd);
    if (n < 0)
        return -1;
    *rd = *wr = 0;
    for (const char *p = r->buf; (p = strstr(p, "bytes=")) != NULL; p += 6) {
        const char *q = p + 6;
        uint64_t v = sm_cu_parse_u64(&q);
        if (p > r->buf && p[-1] == 'r' && (p - 1 == r->buf || p[-2] == ' '))
            *rd += v;
        else if (p > r->buf && p[-1] == 'w' && (p - 1 == r->buf || p[-2] == ' '))
            *wr += v;
    }
    return 0;
}

static struct gstate *
state_find(struct sm_cgroups *r, const char *path)
{
    size_t lo = 0, hi = r->nst;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->st[mid].path, path);
        if (c == 0)
            return &r->st[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Measure the group in dfd (path under the root) into g; record its counters. */
static void
measure(struct sm_cgroups *r, int dfd, const char *path, struct sm_cgroup *g, double mono)
{
    struct stat st;
    ino_t ino = fstat(dfd, &st) == 0 ? st.st_ino : 0;
    r->cur = sm_xgrow(r->cur, &r->capcur, r->ncur + 1, sizeof *r->cur);
    struct gstate *c = &r->cur[r->ncur++];
    memset(c, 0, sizeof *c);
    sm_strlcpy(c->path, path, sizeof c->path);
    c->ino = ino;
    c->when = mono;
    const struct gstate *prev = state_find(r, path);
    if (prev && prev->ino != ino)
        prev = NULL; /* the same path, a new group (a container restarted) */
    double dt = prev ? mono - prev->when : 0;

    int fd = openat(dfd, "cpu.stat", O_RDONLY | O_CLOEXEC);
    char buf[1024];
    if (fd >= 0 && sm_cu_pread(fd, buf, sizeof buf) > 0) {
        const char *p = strstr(buf, "usage_usec ");
        if (p == buf || (p && p[-1] == '\n')) {
            p += 11;
            c->usage_usec = sm_cu_parse_u64(&p);
            if (prev && dt > 0 && c->usage_usec >= prev->usage_usec)
                g->cpu_percent = (double)(c->usage_usec - prev->usage_usec) / (dt * 1e4);
        }
    }
    if (fd >= 0)
        close(fd);
    g->have_mem = read_u64_at(r, dfd, "memory.current", &g->mem_bytes) == 0;
    g->have_pids = read_u64_at(r, dfd, "pids.current", &g->pids) == 0;
    if (read_io(r, dfd, &c->rbytes, &c->wbytes) == 0) {
        c->have_io = 1;
        g->have_io = 1;
        if (prev && prev->have_io && dt > 0) {
            g->read_bps = c->rbytes >= prev->rbytes ? (double)(c->rbytes - prev->rbytes) / dt : 0;
            g->write_bps = c->wbytes >= prev->wbytes ? (double)(c->wbytes - prev->wbytes) / dt : 0;
        }
    }
}

static void
walk(struct sm_cgroups *r, int dfd, const char *path, const char *base, int depth, int in_kube,
     double mono, struct sm_cgroup_list *out)
{
    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d == NULL) {
        if (lfd >= 0)
            close(lfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        if (r->visited++ >= MAX_VISIT)
            break;
        int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0)
            continue;
        char cpath[SM_CGROUP_PATH_LEN];
        int n = snprintf(cpath, sizeof cpath, "%s%s%s", path, path[0] ? "/" : "", name);
        if (n < 0 || (size_t)n >= sizeof cpath) {
            close(cfd);
            continue;
        }
        struct sm_cgroup g;
        memset(&g, 0, sizeof g);
        int kube = in_kube || strncmp(name, "kubepods", 8) == 0;
        enum what w = classify(name, base, in_kube, &g);
        if (w == W_SERVICE || w == W_CONTAINER) {
            if (out->n >= SM_CGROUP_MAX) {
                out->ntruncated++;
            } else {
                sm_cu_sanitize(g.path, sizeof g.path, cpath, (size_t)n);
                if (w == W_CONTAINER && g.id[0])
                    container_name(r, &g, mono);
                measure(r, cfd, cpath, &g, mono);
                out->v = sm_xgrow(out->v, &out->cap, out->n + 1, sizeof *out->v);
                out->v[out->n++] = g;
            }
        }
        /* A container's inner groups are its own business; services may hold more. */
        if (w != W_CONTAINER && w != W_SKIP && depth + 1 < MAX_DEPTH)
            walk(r, cfd, cpath, name, depth + 1, kube, mono, out);
        close(cfd);
    }
    closedir(d);
}

static int
cmp_state(const void *a, const void *b)
{
    return strcmp(((const struct gstate *)a)->path, ((const struct gstate *)b)->path);
}

static int
cmp_group(const void *a, const void *b)
{
    return strcmp(((const struct sm_cgroup *)a)->path, ((const struct sm_cgroup *)b)->path);
}

enum sm_rc
sm_cgroups_read_at(struct sm_cgroups *r, double mono, struct sm_cgroup_list *out)
{
    out->n = 0;
    out->ntruncated = 0;
    if (!r->ok)
        return SM_EUNAVAIL;
    int dfd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return SM_EUNAVAIL;
    r->ncur = 0;
    r->visited = 0;
    walk(r, dfd, "", "", 0, 0, mono, out);
    close(dfd);
    if (out->n > 1) /* readdir order is no order */
        qsort(out->v, out->n, sizeof *out->v, cmp_group);
    if (r->ncur > 1)
        qsort(r->cur, r->ncur, sizeof *r->cur, cmp_state);
    struct gstate *t = r->st;
    size_t tc = r->capst;
    r->st = r->cur;
    r->capst = r->capcur;
    r->nst = r->ncur;
    r->cur = t;
    r->capcur = tc;
    return SM_OK;
}

enum sm_rc
sm_cgroups_read(struct sm_cgroups *r, struct sm_cgroup_list *out)
{
    return sm_cgroups_read_at(r, sm_mono_now(), out);
}
