/* gpu_impl.h: the two GPU back ends behind gpu.h (not a public API). */
#ifndef SM_LIB_COLLECT_GPU_IMPL_H
#define SM_LIB_COLLECT_GPU_IMPL_H

#include <stddef.h>

#include "gpu.h"

struct sm_gpu_amd;
struct sm_gpu_amd *sm_gpu_amd_new(const char *sys_root);
void sm_gpu_amd_free(struct sm_gpu_amd *a);
size_t sm_gpu_amd_count(const struct sm_gpu_amd *a);
/* Append the cards to out, while it has room. */
void sm_gpu_amd_read(struct sm_gpu_amd *a, struct sm_gpu_list *out);

struct sm_gpu_nvml;
/* NULL when the library cannot be loaded or NVML does not initialise. */
struct sm_gpu_nvml *sm_gpu_nvml_new(const char *lib);
void sm_gpu_nvml_free(struct sm_gpu_nvml *n);
size_t sm_gpu_nvml_count(const struct sm_gpu_nvml *n);
void sm_gpu_nvml_read(struct sm_gpu_nvml *n, struct sm_gpu_list *out);

#endif
