/* test_gpu.c: amdgpu cards on a fixture tree, NVML through a fake library loaded with
 * the real dlopen path (tests/unit/fake_nvml.c), and a host without either. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/gpu.h"
#include "tap.h"

static char sys[1024], fake[1024];

static const struct sm_gpu *
find(const struct sm_gpu_list *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    return NULL;
}

static void
test_amd(void)
{
    struct sm_gpus *g = sm_gpus_new(sys, "");
    struct sm_gpu_list l;
    ok(sm_gpus_count(g) == 2 && !sm_gpus_nvml_loaded(g),
       "amd: two amdgpu cards, the i915 one and the connector ignored; NVML off");
    ok(sm_gpus_read(g, &l) == SM_OK && l.n == 2, "amd: read");
    const struct sm_gpu *c = find(&l, "0000:03:00.0");
    ok(c && strcmp(c->vendor, "amd") == 0 && strcmp(c->name, "Navi 21 [Radeon RX 6800]") == 0,
       "amd: PCI address and product name");
    unsigned all = SM_GPU_HAVE_BUSY | SM_GPU_HAVE_MEM | SM_GPU_HAVE_TEMP | SM_GPU_HAVE_POWER |
                   SM_GPU_HAVE_CLOCKS;
    ok(c && c->have == all, "amd: every value of a discrete card");
    ok(c && c->busy_percent == 37 && c->mem_used == 1ULL << 30 && c->mem_total == 8ULL << 30,
       "amd: busy and VRAM");
    ok(c && c->temp_c == 52.0 && c->power_w == 45.0, "amd: edge temperature, average power");
    ok(c && c->clock_core_mhz == 2100 && c->clock_mem_mhz == 1000, "amd: clocks from Hz");
    c = find(&l, "0000:05:00.0");
    ok(c && c->have == SM_GPU_HAVE_BUSY && strcmp(c->name, "AMD GPU card2") == 0,
       "amd: a card without VRAM total or hwmon: busy only, nothing made up");
    sm_gpus_free(g);
}

static void
test_nvml(void)
{
    struct sm_gpus *g = sm_gpus_new("/nonexistent", fake);
    struct sm_gpu_list l;
    /* The fake counts init and shutdown; a handle of our own keeps it loaded after the
     * reader's dlclose, so the counts can be read then. */
    void *h = dlopen(fake, RTLD_NOW | RTLD_NOLOAD);
    int *inits = h ? dlsym(h, "fake_nvml_inits") : NULL;
    int *downs = h ? dlsym(h, "fake_nvml_shutdowns") : NULL;
    ok(h != NULL, "nvml: the reader loaded the library with dlopen");
    ok(sm_gpus_nvml_loaded(g) && sm_gpus_count(g) == 2, "nvml: fake library loaded, two GPUs");
    ok(sm_gpus_read(g, &l) == SM_OK && l.n == 2, "nvml: read");
    const struct sm_gpu *a = find(&l, "GPU-11111111-2222-3333-4444-555555555555");
    ok(a && strcmp(a->vendor, "nvidia") == 0, "nvml: UUID as the id");
    ok(a && strcmp(a->name, "NVIDIA A100?[31m-SXM4") == 0, "nvml: name sanitized");
    ok(a && a->busy_percent == 87 && a->mem_used == 10ULL << 30 && a->mem_total == 40ULL << 30,
       "nvml: utilisation and memory");
    ok(a && a->temp_c == 64 && a->power_w == 250.5, "nvml: temperature, power from mW");
    ok(a && a->clock_core_mhz == 1410 && a->clock_mem_mhz == 1215, "nvml: clocks");
    ok(a && (a->have & SM_GPU_HAVE_PROCS) && a->nprocs == 3, "nvml: 3 processes (got %zu)",
       a ? a->nprocs : 0);
    int merged = 0, unknown = 0;
    for (size_t i = 0; a && i < a->nprocs; i++) {
        if (a->procs[i].pid == 4242 && a->procs[i].mem_bytes == 8LL << 30)
            merged = 1;
        if (a->procs[i].pid == 99 && a->procs[i].mem_bytes == -1)
            unknown = 1;
    }
    ok(merged, "nvml: a pid in both lists counted once");
    ok(unknown, "nvml: memory NVML does not know is -1, not 16 EiB");
    const struct sm_gpu *t = find(&l, "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    ok(t && !(t->have & SM_GPU_HAVE_POWER) && (t->have & SM_GPU_HAVE_TEMP) && t->nprocs == 0,
       "nvml: an unsupported reading left out");
    sm_gpus_free(g);
    ok(inits && downs && *inits == 1 && *downs == 1, "nvml: one init, one shutdown");
    if (h)
        dlclose(h);

    setenv("FAKE_NVML_FAIL_INIT", "1", 1);
    g = sm_gpus_new("/nonexistent", fake);
    ok(!sm_gpus_nvml_loaded(g) && sm_gpus_count(g) == 0 && sm_gpus_read(g, &l) == SM_EUNAVAIL,
       "nvml: library without a driver: nothing, no error");
    sm_gpus_free(g);
    unsetenv("FAKE_NVML_FAIL_INIT");
}

static void
test_none(void)
{
    struct sm_gpu_list l;
    struct sm_gpus *g = sm_gpus_new("/nonexistent", "/nonexistent/libnvidia-ml.so.1");
    ok(sm_gpus_count(g) == 0 && sm_gpus_read(g, &l) == SM_EUNAVAIL && l.n == 0,
       "no GPU, no NVML: nothing");
    sm_gpus_free(g);
    /* This host, with the real library name: whatever it has, no crash, no error. */
    g = sm_gpus_new(NULL, NULL);
    enum sm_rc rc = sm_gpus_read(g, &l);
    ok((rc == SM_OK && l.n > 0) || (rc == SM_EUNAVAIL && l.n == 0), "host: %zu GPUs (NVML %s)", l.n,
       sm_gpus_nvml_loaded(g) ? "loaded" : "absent");
    sm_gpus_free(g);
    sm_gpus_free(NULL);
}

int
main(void)
{
    const char *src = getenv("top_srcdir"), *build = getenv("top_builddir");
    snprintf(sys, sizeof sys, "%s/tests/fixtures/depth/t0/sys", src ? src : ".");
    snprintf(fake, sizeof fake, "%s/tests/unit/libfake_nvml.so", build ? build : ".");
    test_amd();
    test_nvml();
    test_none();
    return tap_done();
}
