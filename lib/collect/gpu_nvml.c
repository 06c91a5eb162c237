/* gpu_nvml.c: NVIDIA GPUs through NVML, loaded with dlopen (see gpu.h).
 *
 * Only the few NVML entry points used here are declared, with the types of NVML's
 * public C API (nvml.h is not needed to build). A missing optional entry point (an old
 * driver) leaves its values out; a missing required one means no NVML. */
#include "config.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "../xmalloc.h"
#include "gpu_impl.h"
#include "util.h"

typedef int nvml_return;   /* nvmlReturn_t: 0 is NVML_SUCCESS */
typedef void *nvml_device; /* nvmlDevice_t */
#define NVML_OK 0
#define NVML_TEMPERATURE_GPU 0
#define NVML_CLOCK_GRAPHICS 0
#define NVML_CLOCK_MEM 2
#define NVML_VALUE_NOT_AVAILABLE_ULL (~0ULL)
#define PROC_BUF 64

struct nvml_util {
    unsigned gpu, memory;
};
struct nvml_memory {
    unsigned long long total, free, used;
};
/* nvmlProcessInfo_t of the _v2 and _v3 calls. */
struct nvml_proc {
    unsigned pid;
    unsigned long long used_gpu_memory;
    unsigned gpu_instance_id, compute_instance_id;
};

typedef nvml_return (*fn_void)(void);
typedef nvml_return (*fn_count)(unsigned *);
typedef nvml_return (*fn_handle)(unsigned, nvml_device *);
typedef nvml_return (*fn_string)(nvml_device, char *, unsigned);
typedef nvml_return (*fn_util)(nvml_device, struct nvml_util *);
typedef nvml_return (*fn_memory)(nvml_device, struct nvml_memory *);
typedef nvml_return (*fn_uint_arg)(nvml_device, int, unsigned *);
typedef nvml_return (*fn_uint)(nvml_device, unsigned *);
typedef nvml_return (*fn_procs)(nvml_device, unsigned *, struct nvml_proc *);

struct sm_gpu_nvml {
    void *dl;
    fn_void shutdown;
    fn_util util;
    fn_memory memory;
    fn_uint_arg temperature, clock;
    fn_uint power;
    fn_procs compute_procs, graphics_procs;
    size_t n;
    nvml_device dev[SM_GPU_MAX];
    char name[SM_GPU_MAX][SM_GPU_NAME_LEN];
    char id[SM_GPU_MAX][SM_GPU_ID_LEN];
};

/* dlsym into a function pointer (POSIX allows the conversion through memcpy). */
static int
sym(void *dl, const char *name, void *fnptr, size_t size)
{
    void *p = dlsym(dl, name);
    if (p == NULL)
        return -1;
    memcpy(fnptr, &p, size);
    return 0;
}

struct sm_gpu_nvml *
sm_gpu_nvml_new(const char *lib)
{
    void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL)
        return NULL; /* no NVIDIA driver: the normal case, not worth a log line */
    struct sm_gpu_nvml *n = sm_xcalloc(1, sizeof *n);
    n->dl = dl;
    fn_void init = NULL;
    fn_count count = NULL;
    fn_handle handle = NULL;
    fn_string name = NULL, uuid = NULL;
    if ((sym(dl, "nvmlInit_v2", &init, sizeof init) != 0 &&
         sym(dl, "nvmlInit", &init, sizeof init) != 0) ||
        sym(dl, "nvmlShutdown", &n->shutdown, sizeof n->shutdown) != 0 ||
        (sym(dl, "nvmlDeviceGetCount_v2", &count, sizeof count) != 0 &&
         sym(dl, "nvmlDeviceGetCount", &count, sizeof count) != 0) ||
        (sym(dl, "nvmlDeviceGetHandleByIndex_v2", &handle, sizeof handle) != 0 &&
         sym(dl, "nvmlDeviceGetHandleByIndex", &handle, sizeof handle) != 0)) {
        sm_log(SM_LOG_WARN, "gpu: %s lacks NVML's basic calls; NVIDIA GPUs not read", lib);
        dlclose(dl);
        free(n);
        return NULL;
    }
    if (init() != NVML_OK) {
        sm_log(SM_LOG_INFO, "gpu: NVML did not initialise (no NVIDIA GPU or driver)");
        dlclose(dl);
        free(n);
        return NULL;
    }
    (void)sym(dl, "nvmlDeviceGetName", &name, sizeof name);
    (void)sym(dl, "nvmlDeviceGetUUID", &uuid, sizeof uuid);
    (void)sym(dl, "nvmlDeviceGetUtilizationRates", &n->util, sizeof n->util);
    (void)sym(dl, "nvmlDeviceGetMemoryInfo", &n->memory, sizeof n->memory);
    (void)sym(dl, "nvmlDeviceGetTemperature", &n->temperature, sizeof n->temperature);
    (void)sym(dl, "nvmlDeviceGetClockInfo", &n->clock, sizeof n->clock);
    (void)sym(dl, "nvmlDeviceGetPowerUsage", &n->power, sizeof n->power);
    if (sym(dl, "nvmlDeviceGetComputeRunningProcesses_v3", &n->compute_procs,
            sizeof n->compute_procs) != 0)
        (void)sym(dl, "nvmlDeviceGetComputeRunningProcesses_v2", &n->compute_procs,
                  sizeof n->compute_procs);
    if (sym(dl, "nvmlDeviceGetGraphicsRunningProcesses_v3", &n->graphics_procs,
            sizeof n->graphics_procs) != 0)
        (void)sym(dl, "nvmlDeviceGetGraphicsRunningProcesses_v2", &n->graphics_procs,
                  sizeof n->graphics_procs);

    unsigned cnt = 0;
    if (count(&cnt) != NVML_OK)
        cnt = 0;
    for (unsigned i = 0; i < cnt && n->n < SM_GPU_MAX; i++) {
        nvml_device d = NULL;
        if (handle(i, &d) != NVML_OK)
            continue;
        char raw[SM_GPU_ID_LEN];
        size_t k = n->n++;
        n->dev[k] = d;
        memset(raw, 0, sizeof raw);
        if (name && name(d, raw, (unsigned)sizeof raw - 1) == NVML_OK && raw[0])
            sm_cu_sanitize(n->name[k], sizeof n->name[k], raw, strnlen(raw, sizeof raw));
        else
            snprintf(n->name[k], sizeof n->name[k], "NVIDIA GPU %u", i);
        memset(raw, 0, sizeof raw);
        if (uuid && uuid(d, raw, (unsigned)sizeof raw - 1) == NVML_OK && raw[0])
            sm_cu_sanitize(n->id[k], sizeof n->id[k], raw, strnlen(raw, sizeof raw));
        else
            snprintf(n->id[k], sizeof n->id[k], "nvidia%u", i);
    }
    return n;
}

void
sm_gpu_nvml_free(struct sm_gpu_nvml *n)
{
    if (n == NULL)
        return;
    n->shutdown();
    dlclose(n->dl);
    free(n);
}

size_t
sm_gpu_nvml_count(const struct sm_gpu_nvml *n)
{
    return n->n;
}

/* Add the processes of one NVML list to g, merging a pid listed by both calls. */
static int
add_procs(fn_procs fn, nvml_device d, struct sm_gpu *g)
{
    struct nvml_proc buf[PROC_BUF];
    unsigned cnt = PROC_BUF;
    if (fn == NULL || fn(d, &cnt, buf) != NVML_OK)
        return -1;
    for (unsigned i = 0; i < cnt && i < PROC_BUF; i++) {
        int64_t mem = buf[i].used_gpu_memory == NVML_VALUE_NOT_AVAILABLE_ULL ||
                              buf[i].used_gpu_memory > INT64_MAX
                          ? -1
                          : (int64_t)buf[i].used_gpu_memory;
        size_t j;
        for (j = 0; j < g->nprocs; j++)
            if (g->procs[j].pid == (int32_t)buf[i].pid)
                break;
        if (j < g->nprocs) {
            if (mem > g->procs[j].mem_bytes)
                g->procs[j].mem_bytes = mem;
            continue;
        }
        if (g->nprocs >= SM_GPU_MAX_PROCS || buf[i].pid > INT32_MAX)
            continue;
        g->procs[g->nprocs].pid = (int32_t)buf[i].pid;
        g->procs[g->nprocs].mem_bytes = mem;
        g->nprocs++;
    }
    return 0;
}

void
sm_gpu_nvml_read(struct sm_gpu_nvml *n, struct sm_gpu_list *out)
{
    for (size_t i = 0; i < n->n && out->n < SM_GPU_MAX; i++) {
        nvml_device d = n->dev[i];
        struct sm_gpu *g = &out->v[out->n++];
        memset(g, 0, sizeof *g);
        sm_strlcpy(g->vendor, "nvidia", sizeof g->vendor);
        memcpy(g->name, n->name[i], sizeof g->name);
        memcpy(g->id, n->id[i], sizeof g->id);
        struct nvml_util u;
        if (n->util && n->util(d, &u) == NVML_OK && u.gpu <= 100) {
            g->busy_percent = u.gpu;
            g->have |= SM_GPU_HAVE_BUSY;
        }
        struct nvml_memory m;
        if (n->memory && n->memory(d, &m) == NVML_OK && m.used <= m.total) {
            g->mem_used = m.used;
            g->mem_total = m.total;
            g->have |= SM_GPU_HAVE_MEM;
        }
        unsigned v, w;
        if (n->temperature && n->temperature(d, NVML_TEMPERATURE_GPU, &v) == NVML_OK) {
            g->temp_c = v;
            g->have |= SM_GPU_HAVE_TEMP;
        }
        if (n->power && n->power(d, &v) == NVML_OK) {
            g->power_w = v / 1000.0;
            g->have |= SM_GPU_HAVE_POWER;
        }
        if (n->clock && n->clock(d, NVML_CLOCK_GRAPHICS, &v) == NVML_OK &&
            n->clock(d, NVML_CLOCK_MEM, &w) == NVML_OK) {
            g->clock_core_mhz = v;
            g->clock_mem_mhz = w;
            g->have |= SM_GPU_HAVE_CLOCKS;
        }
        int a = add_procs(n->compute_procs, d, g);
        int b = add_procs(n->graphics_procs, d, g);
        if (a == 0 || b == 0)
            g->have |= SM_GPU_HAVE_PROCS;
    }
}
