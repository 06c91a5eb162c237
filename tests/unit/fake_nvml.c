/* fake_nvml.c: a stand-in for libnvidia-ml.so.1, built by the test suite and loaded by
 * lib/collect/gpu_nvml.c through the real dlopen path. Two GPUs with fixed values; the
 * first has processes (one listed by both the compute and the graphics call, one whose
 * memory NVML does not know). FAKE_NVML_FAIL_INIT=1 makes nvmlInit fail, as on a host
 * with the library but no driver loaded. */
#include <stdlib.h>
#include <string.h>

struct fake_dev {
    const char *name, *uuid;
    unsigned util, temp, power_mw, sclk, mclk;
    unsigned long long total, used;
};

static struct fake_dev devs[2] = {
    {"NVIDIA A100\x1b[31m-SXM4", "GPU-11111111-2222-3333-4444-555555555555", 87, 64, 250500, 1410,
     1215, 40ULL << 30, 10ULL << 30},
    {"NVIDIA T4", "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 0, 35, 27000, 300, 5000, 16ULL << 30,
     0},
};

int fake_nvml_inits, fake_nvml_shutdowns;

struct proc_info {
    unsigned pid;
    unsigned long long mem;
    unsigned gi, ci;
};

int
nvmlInit_v2(void)
{
    const char *f = getenv("FAKE_NVML_FAIL_INIT");
    if (f && strcmp(f, "1") == 0)
        return 9; /* NVML_ERROR_DRIVER_NOT_LOADED */
    fake_nvml_inits++;
    return 0;
}

int
nvmlShutdown(void)
{
    fake_nvml_shutdowns++;
    return 0;
}

int
nvmlDeviceGetCount_v2(unsigned *n)
{
    *n = 2;
    return 0;
}

int
nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d)
{
    if (i >= 2)
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *d = &devs[i];
    return 0;
}

static int
copy(char *out, unsigned len, const char *s)
{
    if (strlen(s) + 1 > len)
        return 7; /* NVML_ERROR_INSUFFICIENT_SIZE */
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int
nvmlDeviceGetName(void *d, char *out, unsigned len)
{
    return copy(out, len, ((struct fake_dev *)d)->name);
}

int
nvmlDeviceGetUUID(void *d, char *out, unsigned len)
{
    return copy(out, len, ((struct fake_dev *)d)->uuid);
}

int
nvmlDeviceGetUtilizationRates(void *d, unsigned *u)
{
    u[0] = ((struct fake_dev *)d)->util;
    u[1] = 10;
    return 0;
}

int
nvmlDeviceGetMemoryInfo(void *d, unsigned long long *m)
{
    struct fake_dev *f = d;
    m[0] = f->total;
    m[1] = f->total - f->used;
    m[2] = f->used;
    return 0;
}

int
nvmlDeviceGetTemperature(void *d, int sensor, unsigned *t)
{
    if (sensor != 0)
        return 2;
    *t = ((struct fake_dev *)d)->temp;
    return 0;
}

int
nvmlDeviceGetPowerUsage(void *d, unsigned *mw)
{
    /* The second GPU does not support power readings. */
    if (d == &devs[1])
        return 3; /* NVML_ERROR_NOT_SUPPORTED */
    *mw = ((struct fake_dev *)d)->power_mw;
    return 0;
}

int
nvmlDeviceGetClockInfo(void *d, int type, unsigned *mhz)
{
    struct fake_dev *f = d;
    if (type == 0)
        *mhz = f->sclk;
    else if (type == 2)
        *mhz = f->mclk;
    else
        return 2;
    return 0;
}

static int
procs(void *d, unsigned *count, struct proc_info *out, int graphics)
{
    static const struct proc_info compute[] = {{4242, 8ULL << 30, 0, 0}, {99, ~0ULL, 0, 0}};
    static const struct proc_info gfx[] = {{4242, 100ULL << 20, 0, 0}, {777, 64ULL << 20, 0, 0}};
    const struct proc_info *src = graphics ? gfx : compute;
    unsigned n = d == &devs[0] ? 2 : 0;
    if (*count < n) {
        *count = n;
        return 7;
    }
    memcpy(out, src, n * sizeof *src);
    *count = n;
    return 0;
}

int
nvmlDeviceGetComputeRunningProcesses_v3(void *d, unsigned *count, struct proc_info *out)
{
    return procs(d, count, out, 0);
}

int
nvmlDeviceGetGraphicsRunningProcesses_v3(void *d, unsigned *count, struct proc_info *out)
{
    return procs(d, count, out, 1);
}
