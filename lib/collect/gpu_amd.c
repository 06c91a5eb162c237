/* gpu_amd.c: AMD GPUs through amdgpu's sysfs files, and the gpu.h front (both back ends).
 *
 * For each card (class/drm/cardN whose device's driver is amdgpu) the changing files are
 * kept open: gpu_busy_percent, mem_info_vram_used, and in the card's hwmon directory
 * temp1_input (edge, millidegrees), power1_average or power1_input (microwatts),
 * freq1_input and freq2_input (shader and memory clocks, Hz). */
#include "config.h"

#include "gpu.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../xmalloc.h"
#include "gpu_impl.h"
#include "util.h"

enum amd_file { F_BUSY, F_VRAM_USED, F_TEMP, F_POWER, F_SCLK, F_MCLK, F_COUNT };

struct card {
    char name[SM_GPU_NAME_LEN];
    char id[SM_GPU_ID_LEN];
    uint64_t vram_total;
    int have_total;
    int fd[F_COUNT];
};

struct sm_gpu_amd {
    struct card cards[SM_GPU_MAX];
    size_t n;
};

/* Number of hwmonN under dirfd/hwmon, or -1. */
static int
first_hwmon(int dfd, char *rel, size_t relsz)
{
    for (int i = 0; i < 64; i++) {
        snprintf(rel, relsz, "hwmon/hwmon%d", i);
        int fd = openat(dfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            return i;
        }
    }
    return -1;
}

static void
open_card(struct sm_gpu_amd *a, const char *sys, unsigned n)
{
    char rel[64], link[512];
    snprintf(rel, sizeof rel, "class/drm/card%u/device", n);
    int dfd = sm_cu_open(sys, rel);
    if (dfd < 0)
        return;
    ssize_t ln = readlinkat(dfd, "driver", link, sizeof link - 1);
    if (ln <= 0) {
        close(dfd);
        return;
    }
    link[ln] = '\0';
    const char *drv = strrchr(link, '/');
    if (strcmp(drv ? drv + 1 : link, "amdgpu") != 0 || a->n >= SM_GPU_MAX) {
        close(dfd);
        return;
    }
    struct card *c = &a->cards[a->n++];
    memset(c, 0, sizeof *c);
    for (int i = 0; i < F_COUNT; i++)
        c->fd[i] = -1;
    /* The PCI address: the device link of the card. */
    char cardrel[64];
    snprintf(cardrel, sizeof cardrel, "class/drm/card%u", n);
    int cfd = sm_cu_open(sys, cardrel);
    ln = cfd >= 0 ? readlinkat(cfd, "device", link, sizeof link - 1) : -1;
    if (cfd >= 0)
        close(cfd);
    if (ln > 0) {
        link[ln] = '\0';
        const char *b = strrchr(link, '/');
        b = b ? b + 1 : link;
        sm_cu_sanitize(c->id, sizeof c->id, b, strlen(b));
    } else {
        snprintf(c->id, sizeof c->id, "card%u", n);
    }
    char raw[256];
    if (sm_cu_read_at(dfd, "product_name", raw, sizeof raw) == 0 && raw[0])
        sm_cu_sanitize(c->name, sizeof c->name, raw, strlen(raw));
    else
        snprintf(c->name, sizeof c->name, "AMD GPU card%u", n);
    int64_t v;
    if (sm_cu_read_i64_at(dfd, "mem_info_vram_total", &v) == 0 && v > 0) {
        c->vram_total = (uint64_t)v;
        c->have_total = 1;
    }
    c->fd[F_BUSY] = openat(dfd, "gpu_busy_percent", O_RDONLY | O_CLOEXEC);
    c->fd[F_VRAM_USED] = openat(dfd, "mem_info_vram_used", O_RDONLY | O_CLOEXEC);
    char hw[64];
    if (first_hwmon(dfd, hw, sizeof hw) >= 0) {
        static const struct {
            enum amd_file f;
            const char *name;
        } files[] = {
            {F_TEMP, "temp1_input"}, {F_POWER, "power1_average"}, {F_POWER, "power1_input"},
            {F_SCLK, "freq1_input"}, {F_MCLK, "freq2_input"},
        };
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            if (c->fd[files[i].f] >= 0)
                continue;
            char frel[128];
            snprintf(frel, sizeof frel, "%s/%s", hw, files[i].name);
            c->fd[files[i].f] = openat(dfd, frel, O_RDONLY | O_CLOEXEC);
        }
    }
    close(dfd);
}

struct sm_gpu_amd *
sm_gpu_amd_new(const char *sys_root)
{
    struct sm_gpu_amd *a = sm_xcalloc(1, sizeof *a);
    const char *sys = sys_root ? sys_root : "/sys";
    /* card0..card63; connectors (card0-DP-1) and render nodes are not cards. */
    for (unsigned n = 0; n < 64; n++)
        open_card(a, sys, n);
    return a;
}

void
sm_gpu_amd_free(struct sm_gpu_amd *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        for (int f = 0; f < F_COUNT; f++)
            if (a->cards[i].fd[f] >= 0)
                close(a->cards[i].fd[f]);
    free(a);
}

size_t
sm_gpu_amd_count(const struct sm_gpu_amd *a)
{
    return a->n;
}

static int
read_num(int fd, int64_t *out)
{
    char buf[64];
    if (fd < 0 || sm_cu_pread(fd, buf, sizeof buf) <= 0)
        return -1;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || (*end != '\n' && *end != '\0'))
        return -1;
    *out = (int64_t)v;
    return 0;
}

void
sm_gpu_amd_read(struct sm_gpu_amd *a, struct sm_gpu_list *out)
{
    for (size_t i = 0; i < a->n && out->n < SM_GPU_MAX; i++) {
        struct card *c = &a->cards[i];
        struct sm_gpu *g = &out->v[out->n++];
        memset(g, 0, sizeof *g);
        sm_strlcpy(g->vendor, "amd", sizeof g->vendor);
        memcpy(g->name, c->name, sizeof g->name);
        memcpy(g->id, c->id, sizeof g->id);
        int64_t v, w;
        if (read_num(c->fd[F_BUSY], &v) == 0 && v >= 0 && v <= 100) {
            g->busy_percent = (double)v;
            g->have |= SM_GPU_HAVE_BUSY;
        }
        if (c->have_total && read_num(c->fd[F_VRAM_USED], &v) == 0 && v >= 0) {
            g->mem_used = (uint64_t)v;
            g->mem_total = c->vram_total;
            g->have |= SM_GPU_HAVE_MEM;
        }
        if (read_num(c->fd[F_TEMP], &v) == 0) {
            g->temp_c = (double)v / 1000.0;
            g->have |= SM_GPU_HAVE_TEMP;
        }
        if (read_num(c->fd[F_POWER], &v) == 0 && v >= 0) {
            g->power_w = (double)v / 1e6;
            g->have |= SM_GPU_HAVE_POWER;
        }
        if (read_num(c->fd[F_SCLK], &v) == 0 && read_num(c->fd[F_MCLK], &w) == 0) {
            g->clock_core_mhz = (double)v / 1e6;
            g->clock_mem_mhz = (double)w / 1e6;
            g->have |= SM_GPU_HAVE_CLOCKS;
        }
    }
}

/* ------------------------------------------------------------------ gpu.h front */

struct sm_gpus {
    struct sm_gpu_amd *amd;
    struct sm_gpu_nvml *nvml;
};

struct sm_gpus *
sm_gpus_new(const char *sys_root, const char *nvml_lib)
{
    struct sm_gpus *g = sm_xcalloc(1, sizeof *g);
    g->amd = sm_gpu_amd_new(sys_root);
    if (nvml_lib == NULL || nvml_lib[0] != '\0')
        g->nvml = sm_gpu_nvml_new(nvml_lib ? nvml_lib : "libnvidia-ml.so.1");
    return g;
}

void
sm_gpus_free(struct sm_gpus *g)
{
    if (g == NULL)
        return;
    sm_gpu_amd_free(g->amd);
    sm_gpu_nvml_free(g->nvml);
    free(g);
}

size_t
sm_gpus_count(const struct sm_gpus *g)
{
    size_t n = sm_gpu_amd_count(g->amd) + (g->nvml ? sm_gpu_nvml_count(g->nvml) : 0);
    return n > SM_GPU_MAX ? SM_GPU_MAX : n;
}

int
sm_gpus_nvml_loaded(const struct sm_gpus *g)
{
    return g->nvml != NULL;
}

enum sm_rc
sm_gpus_read(struct sm_gpus *g, struct sm_gpu_list *out)
{
    out->n = 0;
    sm_gpu_amd_read(g->amd, out);
    if (g->nvml)
        sm_gpu_nvml_read(g->nvml, out);
    return out->n ? SM_OK : SM_EUNAVAIL;
}
