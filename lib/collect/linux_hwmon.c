/* linux_hwmon.c: hwmon and thermal-zone reader (see sensors.h). */
#include "config.h"

#include "sensors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../xmalloc.h"
#include "util.h"

struct input {
    struct sm_sensor meta; /* everything but value */
    int fd;
    double div; /* raw to unit: 1000 for millidegrees, 1 for RPM */
};

struct sm_sensors {
    struct input *in;
    size_t n, cap;
};

void
sm_sensor_list_init(struct sm_sensor_list *l)
{
    memset(l, 0, sizeof *l);
}

void
sm_sensor_list_done(struct sm_sensor_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Basename of the symlink dirfd/rel into out; 0 or -1. */
static int
link_base(int dirfd, const char *rel, char *out, size_t outsz)
{
    char target[1024];
    ssize_t n = readlinkat(dirfd, rel, target, sizeof target - 1);
    if (n <= 0)
        return -1;
    target[n] = '\0';
    const char *b = strrchr(target, '/');
    sm_strlcpy(out, b ? b + 1 : target, outsz);
    return 0;
}

static unsigned
hexnum(const char *s, int base)
{
    return (unsigned)strtoul(s, NULL, base);
}

/* The bus part of a sensors(1) chip name for the device behind hwmon directory hfd,
 * following one more "device" link for class devices (nvme0 -> its PCI function). */
static void
bus_name(int hfd, char *out, size_t outsz)
{
    static const char *const devs[] = {"device", "device/device"};
    for (size_t i = 0; i < 2; i++) {
        char dev[256], sub[64], rel[64];
        snprintf(rel, sizeof rel, "%s/subsystem", devs[i]);
        if (link_base(hfd, devs[i], dev, sizeof dev) != 0 ||
            link_base(hfd, rel, sub, sizeof sub) != 0)
            break;
        unsigned dom, bus, slot, fn, ibus, iaddr;
        if (strcmp(sub, "pci") == 0 && sscanf(dev, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) == 4) {
            snprintf(out, outsz, "pci-%04x", (dom << 16) + (bus << 8) + (slot << 3) + fn);
            return;
        }
        if (strcmp(sub, "i2c") == 0 && sscanf(dev, "%u-%x", &ibus, &iaddr) == 2) {
            snprintf(out, outsz, "i2c-%u-%02x", ibus, iaddr);
            return;
        }
        if (strcmp(sub, "platform") == 0 || strcmp(sub, "isa") == 0) {
            const char *dot = strrchr(dev, '.');
            snprintf(out, outsz, "isa-%04x", dot ? hexnum(dot + 1, 10) : 0);
            return;
        }
        if (strcmp(sub, "acpi") == 0) {
            const char *colon = strrchr(dev, ':');
            snprintf(out, outsz, "acpi-%x", colon ? hexnum(colon + 1, 16) : 0);
            return;
        }
    }
    sm_strlcpy(out, "virtual-0", outsz);
}

static void
add_input(struct sm_sensors *r, const struct sm_sensor *meta, int fd, double div)
{
    if (r->n >= SM_SENSOR_MAX) {
        close(fd);
        return;
    }
    r->in = sm_xgrow(r->in, &r->cap, r->n + 1, sizeof *r->in);
    r->in[r->n].meta = *meta;
    r->in[r->n].fd = fd;
    r->in[r->n].div = div;
    r->n++;
}

/* A sanitized copy of dirfd/rel (a name or label file); -1 when absent or empty. */
static int
read_name(int dirfd, const char *rel, char *out, size_t outsz)
{
    char raw[256];
    if (sm_cu_read_at(dirfd, rel, raw, sizeof raw) != 0 || raw[0] == '\0')
        return -1;
    sm_cu_sanitize(out, outsz, raw, strlen(raw));
    return 0;
}

static int
cmp_input_name(const void *a, const void *b)
{
    /* temp2 before temp10: by kind, then by the number after the prefix */
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int kx = x[0] == 'f', ky = y[0] == 'f';
    if (kx != ky)
        return kx - ky;
    long nx = strtol(x + (kx ? 3 : 4), NULL, 10), ny = strtol(y + (ky ? 3 : 4), NULL, 10);
    return (nx > ny) - (nx < ny);
}

static void
scan_hwmon_dir(struct sm_sensors *r, int hfd)
{
    char name[SM_SENSOR_NAME_LEN], bus[24];
    /* Old drivers keep their files under device/. */
    int dfd = hfd;
    if (read_name(hfd, "name", name, sizeof name) != 0) {
        dfd = openat(hfd, "device", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || read_name(dfd, "name", name, sizeof name) != 0) {
            if (dfd >= 0)
                close(dfd);
            return;
        }
    }
    bus_name(hfd, bus, sizeof bus);
    struct sm_sensor meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.chip, sizeof meta.chip, "%.38s-%.23s", name, bus);

    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d == NULL) {
        if (lfd >= 0)
            close(lfd);
        if (dfd != hfd)
            close(dfd);
        return;
    }
    char *names[SM_SENSOR_MAX];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nn < SM_SENSOR_MAX) {
        const char *s = de->d_name, *us = strchr(s, '_');
        if (us == NULL || strcmp(us, "_input") != 0)
            continue;
        if ((strncmp(s, "temp", 4) == 0 && s[4] >= '0' && s[4] <= '9') ||
            (strncmp(s, "fan", 3) == 0 && s[3] >= '0' && s[3] <= '9'))
            names[nn++] = sm_xstrndup(s, (size_t)(us - s));
    }
    closedir(d);
    qsort(names, nn, sizeof names[0], cmp_input_name);
    for (size_t i = 0; i < nn; i++) {
        char rel[64];
        int fan = names[i][0] == 'f';
        meta.kind = fan ? SM_SENSOR_FAN : SM_SENSOR_TEMP;
        snprintf(rel, sizeof rel, "%s_label", names[i]);
        if (read_name(dfd, rel, meta.label, sizeof meta.label) != 0)
            sm_strlcpy(meta.label, names[i], sizeof meta.label);
        double div = fan ? 1.0 : 1000.0;
        int64_t v;
        snprintf(rel, sizeof rel, "%s_max", names[i]);
        meta.have_high = !fan && sm_cu_read_i64_at(dfd, rel, &v) == 0;
        meta.high = meta.have_high ? (double)v / div : 0;
        snprintf(rel, sizeof rel, "%s_crit", names[i]);
        meta.have_crit = !fan && sm_cu_read_i64_at(dfd, rel, &v) == 0;
        meta.crit = meta.have_crit ? (double)v / div : 0;
        snprintf(rel, sizeof rel, "%s_input", names[i]);
        int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            add_input(r, &meta, fd, div);
        free(names[i]);
    }
    if (dfd != hfd)
        close(dfd);
}

/* Entries of root/rel starting with prefix, sorted by the number after it. */
static size_t
list_numbered(const char *root, const char *rel, const char *prefix, unsigned *out, size_t max)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    size_t n = 0, plen = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        const char *q = de->d_name + plen;
        if (*q < '0' || *q > '9')
            continue;
        uint64_t v = sm_cu_parse_u64(&q);
        if (*q == '\0' && v < 100000)
            out[n++] = (unsigned)v;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of entries */
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            unsigned t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* Thermal zones without an hwmon twin (acpitz and friends already came from hwmon). */
static void
scan_thermal(struct sm_sensors *r, const char *sys)
{
    unsigned zones[128];
    size_t nz = list_numbered(sys, "class/thermal", "thermal_zone", zones, 128);
    for (size_t i = 0; i < nz; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "class/thermal/thermal_zone%u", zones[i]);
        unsigned hw[1];
        if (list_numbered(sys, rel, "hwmon", hw, 1) > 0)
            continue;
        int zfd = sm_cu_open(sys, rel);
        if (zfd < 0)
            continue;
        struct sm_sensor meta;
        memset(&meta, 0, sizeof meta);
        meta.kind = SM_SENSOR_TEMP;
        snprintf(meta.chip, sizeof meta.chip, "thermal_zone%u", zones[i]);
        if (read_name(zfd, "type", meta.label, sizeof meta.label) != 0)
            sm_strlcpy(meta.label, "temp", sizeof meta.label);
        for (unsigned t = 0; t < 32; t++) {
            char trel[64], type[32];
            int64_t v;
            snprintf(trel, sizeof trel, "trip_point_%u_type", t);
            if (sm_cu_read_at(zfd, trel, type, sizeof type) != 0)
                break;
            snprintf(trel, sizeof trel, "trip_point_%u_temp", t);
            if (sm_cu_read_i64_at(zfd, trel, &v) != 0 || v <= 0)
                continue;
            if (strcmp(type, "critical") == 0 && !meta.have_crit) {
                meta.have_crit = 1;
                meta.crit = (double)v / 1000.0;
            } else if (strcmp(type, "hot") == 0 && !meta.have_high) {
                meta.have_high = 1;
                meta.high = (double)v / 1000.0;
            }
        }
        int fd = openat(zfd, "temp", O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            add_input(r, &meta, fd, 1000.0);
        close(zfd);
    }
}

struct sm_sensors *
sm_sensors_new(const char *sys_root)
{
    const char *sys = sys_root ? sys_root : "/sys";
    struct sm_sensors *r = sm_xcalloc(1, sizeof *r);
    unsigned hw[128];
    size_t nh = list_numbered(sys, "class/hwmon", "hwmon", hw, 128);
    for (size_t i = 0; i < nh; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "class/hwmon/hwmon%u", hw[i]);
        int hfd = sm_cu_open(sys, rel);
        if (hfd < 0)
            continue;
        scan_hwmon_dir(r, hfd);
        close(hfd);
    }
    scan_thermal(r, sys);
    return r;
}

void
sm_sensors_free(struct sm_sensors *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        close(r->in[i].fd);
    free(r->in);
    free(r);
}

size_t
sm_sensors_count(const struct sm_sensors *r)
{
    return r->n;
}

enum sm_rc
sm_sensors_read(struct sm_sensors *r, struct sm_sensor_list *out)
{
    out->n = 0;
    if (r->n == 0)
        return SM_EUNAVAIL;
    for (size_t i = 0; i < r->n; i++) {
        char buf[64];
        if (sm_cu_pread(r->in[i].fd, buf, sizeof buf) <= 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(buf, &end, 10);
        if (end == buf || errno != 0 || (*end != '\n' && *end != '\0'))
            continue;
        out->v = sm_xgrow(out->v, &out->cap, out->n + 1, sizeof *out->v);
        struct sm_sensor *s = &out->v[out->n++];
        *s = r->in[i].meta;
        s->value = (double)v / r->in[i].div;
    }
    return SM_OK;
}
