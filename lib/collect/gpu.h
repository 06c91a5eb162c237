/* gpu.h: GPUs. AMD through amdgpu's sysfs files; NVIDIA through NVML, loaded with
 * dlopen only when libnvidia-ml.so.1 is there (nothing links against it).
 *
 * No GPU and no NVML: an empty list and no error. Devices are found when the reader
 * is created. Each value a GPU does not give is left out (see the have bits), never
 * made up. Not thread safe: one reader per thread. */
#ifndef SM_LIB_COLLECT_GPU_H
#define SM_LIB_COLLECT_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "../rc.h"

#define SM_GPU_NAME_LEN 96
#define SM_GPU_ID_LEN 96
#define SM_GPU_MAX 16       /* GPUs per reader */
#define SM_GPU_MAX_PROCS 32 /* processes reported per GPU (NVML only) */

enum sm_gpu_have {
    SM_GPU_HAVE_BUSY = 1 << 0,   /* busy_percent */
    SM_GPU_HAVE_MEM = 1 << 1,    /* mem_used, mem_total */
    SM_GPU_HAVE_TEMP = 1 << 2,   /* temp_c */
    SM_GPU_HAVE_POWER = 1 << 3,  /* power_w */
    SM_GPU_HAVE_CLOCKS = 1 << 4, /* clock_core_mhz, clock_mem_mhz */
    SM_GPU_HAVE_PROCS = 1 << 5,  /* procs[] (possibly empty: no process uses the GPU) */
};

struct sm_gpu_proc {
    int32_t pid;
    int64_t mem_bytes; /* GPU memory used, -1 when NVML does not say (MIG, some drivers) */
};

struct sm_gpu {
    char vendor[8];             /* "amd" or "nvidia" */
    char name[SM_GPU_NAME_LEN]; /* product name, sanitized; the card when unknown */
    char id[SM_GPU_ID_LEN];     /* PCI address (amd) or UUID (nvidia) */
    unsigned have;              /* enum sm_gpu_have */
    double busy_percent;
    uint64_t mem_used, mem_total; /* bytes of VRAM */
    double temp_c;
    double power_w;
    double clock_core_mhz, clock_mem_mhz;
    size_t nprocs;
    struct sm_gpu_proc procs[SM_GPU_MAX_PROCS];
};

struct sm_gpu_list {
    size_t n;
    struct sm_gpu v[SM_GPU_MAX];
};

struct sm_gpus;

/* Find the GPUs: amdgpu cards under sys_root/class/drm (sys_root NULL means "/sys"),
 * and NVIDIA ones through nvml_lib (NULL means "libnvidia-ml.so.1"; "" turns NVML off).
 * Never returns NULL. */
struct sm_gpus *sm_gpus_new(const char *sys_root, const char *nvml_lib);
void sm_gpus_free(struct sm_gpus *g);

/* GPUs found, and whether NVML was loaded and initialised. */
size_t sm_gpus_count(const struct sm_gpus *g);
int sm_gpus_nvml_loaded(const struct sm_gpus *g);

/* Read every GPU into out (cleared first). SM_OK, or SM_EUNAVAIL when there is none. */
enum sm_rc sm_gpus_read(struct sm_gpus *g, struct sm_gpu_list *out) SM_MUST_CHECK;

#endif
