/* test_sample.c: the sample model and its JSON encoding. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "tap.h"

static const cJSON *
path(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static void
fill(struct sm_sample *s)
{
    s->timestamp = 1732412345.25;
    s->seq = 7;
    s->have = SM_HAVE_CPU | SM_HAVE_CPU_BREAKDOWN | SM_HAVE_LOAD | SM_HAVE_MEM | SM_HAVE_SWAP |
              SM_HAVE_DISK_IO | SM_HAVE_NET;
    s->cpu.usage = 12.345;
    s->cpu.user = 8;
    struct sm_core *c = sm_sample_cores(s, 2);
    c[0].usage = 10;
    c[1].usage = 15.555;
    c[0].freq_mhz = c[1].freq_mhz = -1;
    s->cpu.load[0] = 0.5;
    s->mem.total = 8ULL << 30;
    s->mem.available = 6ULL << 30;
    s->mem.used = 2ULL << 30;
    s->mem.used_percent = 25;
    struct sm_fs *f = sm_sample_add_fs(s);
    snprintf(f->mount, sizeof f->mount, "/");
    snprintf(f->device, sizeof f->device, "/dev/vda1");
    f->total = 100;
    f->percent = 42.5;
    struct sm_disk *d = sm_sample_add_disk(s);
    snprintf(d->name, sizeof d->name, "vda");
    d->busy_percent = 3;
    struct sm_iface *i = sm_sample_add_iface(s);
    snprintf(i->name, sizeof i->name, "eth0");
    i->rx_bps = 1234.4;
    s->net.bytes_recv = 1ULL << 40;
}

int
main(void)
{
    struct sm_sample s;
    sm_sample_init(&s);
    fill(&s);
    cJSON *j = sm_sample_to_json(&s);
    ok(j != NULL, "encode returns an object");
    ok_near(cJSON_GetNumberValue(path(j, "timestamp", NULL)), 1732412345.25, 1e-9, "timestamp");
    ok_near(cJSON_GetNumberValue(path(j, "cpu", "usage_percent")), 12.35, 1e-9,
            "usage rounded to 2 decimals");
    const cJSON *pcu = path(j, "cpu", "per_core_usage");
    ok(cJSON_GetArraySize(pcu) == 2, "per_core_usage has one entry per core");
    ok_near(cJSON_GetNumberValue(cJSON_GetArrayItem(pcu, 1)), 15.56, 1e-9, "core 1 usage");
    ok(path(j, "cpu", "per_core_freq") == NULL, "no per_core_freq without cpufreq");
    ok(path(j, "cpu", "freq") == NULL, "no freq object without cpufreq");
    ok(cJSON_GetArraySize(path(j, "cpu", "load_avg")) == 3, "load_avg has 3 values");
    ok_near(cJSON_GetNumberValue(path(j, "memory", "total")), (double)(8ULL << 30), 0,
            "memory total");
    ok_near(cJSON_GetNumberValue(path(j, "network", "bytes_recv")), (double)(1ULL << 40), 0,
            "64-bit counter exact");
    const cJSON *parts = path(j, "disk", "partitions");
    ok(cJSON_GetArraySize(parts) == 1, "one partition");
    ok_str(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "mountpoint")),
           "/", "partition mountpoint");
    ok(cJSON_GetArraySize(path(j, "disk", "devices")) == 1, "one disk device");
    ok(cJSON_GetArraySize(path(j, "network", "interfaces")) == 1, "one interface");
    cJSON_Delete(j);

    /* With frequencies: per_core_freq present, null for a core that has none. */
    s.have |= SM_HAVE_FREQ;
    s.cpu.freq_cur = 3000;
    s.cpu.cores[0].freq_mhz = 3600;
    j = sm_sample_to_json(&s);
    const cJSON *pcf = path(j, "cpu", "per_core_freq");
    ok(cJSON_GetArraySize(pcf) == 2, "per_core_freq present");
    ok(cJSON_IsNull(cJSON_GetArrayItem(pcf, 1)), "unknown core frequency is null");
    ok_near(cJSON_GetNumberValue(path(j, "cpu", "freq")
                                     ? cJSON_GetObjectItem(path(j, "cpu", "freq"), "current")
                                     : NULL),
            3000, 0, "freq.current");
    cJSON_Delete(j);

    /* clear keeps capacity, empties content. */
    void *cores = s.cpu.cores;
    sm_sample_clear(&s);
    ok(s.cpu.ncores == 0 && s.nfs == 0 && s.have == 0, "clear empties the sample");
    ok(s.cpu.cores == cores && s.cores_cap >= 2, "clear keeps the arrays");
    char *text = sm_sample_encode(&s);
    ok(text && strstr(text, "\"timestamp\"") != NULL && strstr(text, "\"cpu\"") == NULL,
       "empty sample encodes without sections");
    free(text);

    /* Growth past the initial capacity keeps earlier entries. */
    for (int n = 0; n < 100; n++)
        snprintf(sm_sample_add_iface(&s)->name, SM_NAME_LEN, "if%d", n);
    ok(s.net.nifaces == 100 && strcmp(s.net.ifaces[0].name, "if0") == 0 &&
           strcmp(s.net.ifaces[99].name, "if99") == 0,
       "interfaces grow and keep order");
    sm_sample_done(&s);
    sm_sample_done(&s);
    ok(1, "done twice is harmless");
    return tap_done();
}
