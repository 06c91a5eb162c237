/* test_sample_json.c: decoding samples and host facts (sm_sample_from_json, sm_host_from_json). */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sample.h"
#include "tap.h"
#include "xmalloc.h"

#define NOW 1764064800.0 /* 2025-11-25T10:00:00Z */
#include "sample_util.h" /* after NOW: its decode() uses it */

/*---------------------------------------------------------------- round trip */

static void
fill(struct sm_sample *s)
{
    s->timestamp = NOW - 1.25;
    s->seq = 1042;
    s->have = SM_HAVE_CPU | SM_HAVE_CPU_BREAKDOWN | SM_HAVE_LOAD | SM_HAVE_FREQ | SM_HAVE_MEM |
              SM_HAVE_SWAP | SM_HAVE_DISK_IO | SM_HAVE_NET;
    struct sm_cpu *c = &s->cpu;
    c->usage = 12.5;
    c->user = 8;
    c->system = 3.25;
    c->iowait = 0.5;
    c->steal = 0.75;
    c->freq_cur = 3000;
    c->freq_min = 800;
    c->freq_max = 4500;
    c->load[0] = 0.5;
    c->load[1] = 0.25;
    c->load[2] = 1.75;
    struct sm_core *k = sm_sample_cores(s, 4);
    for (int i = 0; i < 4; i++) {
        k[i].usage = 10.5 * i;
        k[i].freq_mhz = i == 2 ? -1 : 2400 + 100 * i;
        k[i].online = 1;
    }
    s->mem = (struct sm_mem){.total = 16ULL << 30,
                             .available = 8ULL << 30,
                             .used = 7ULL << 30,
                             .free = 1ULL << 30,
                             .used_percent = 50,
                             .swap_total = 2ULL << 30,
                             .swap_used = 1ULL << 20,
                             .swap_percent = 0.05};
    struct sm_fs *f = sm_sample_add_fs(s);
    sm_strlcpy(f->device, "/dev/vda1", sizeof f->device);
    sm_strlcpy(f->mount, "/", sizeof f->mount);
    sm_strlcpy(f->fstype, "ext4", sizeof f->fstype);
    f->total = 100ULL << 30;
    f->used = 40ULL << 30;
    f->free = 55ULL << 30;
    f->percent = 42.11;
    f = sm_sample_add_fs(s);
    sm_strlcpy(f->device, "tmpfs", sizeof f->device);
    sm_strlcpy(f->mount, "/run/user/1000 with space", sizeof f->mount);
    sm_strlcpy(f->fstype, "tmpfs", sizeof f->fstype);
    f->total = 1000;
    f->percent = 100;
    s->read_bps = 4096;
    s->write_bps = 123456789;
    struct sm_disk *d = sm_sample_add_disk(s);
    sm_strlcpy(d->name, "vda", sizeof d->name);
    d->read_bps = 4096;
    d->write_bps = 8192;
    d->busy_percent = 3.5;
    s->net = (struct sm_net){.bytes_sent = 1ULL << 40,
                             .bytes_recv = 123456789012345ULL, /* cJSON prints 15 digits */
                             .packets_sent = 5,
                             .packets_recv = 6,
                             .errin = 1,
                             .errout = 2,
                             .dropin = 3,
                             .dropout = 4,
                             .rx_bps = 1000,
                             .tx_bps = 2000};
    struct sm_iface *n = sm_sample_add_iface(s);
    sm_strlcpy(n->name, "eth0", sizeof n->name);
    n->rx_bps = 1000;
    n->tx_bps = 2000;
    n->rx_bytes = 123;
    n->tx_bytes = 456;
    n = sm_sample_add_iface(s);
    sm_strlcpy(n->name, "wl\xc3\xa9", sizeof n->name);
}

/* Compare two samples field by field; say the first difference. */
static int
same(const struct sm_sample *a, const struct sm_sample *b)
{
#define CHK(cond)                                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            diag("    differs: %s", #cond);                                                        \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)
    CHK(a->timestamp == b->timestamp && a->seq == b->seq && a->have == b->have);
    CHK(memcmp(&a->mem, &b->mem, sizeof a->mem) == 0);
    CHK(a->cpu.usage == b->cpu.usage && a->cpu.user == b->cpu.user);
    CHK(a->cpu.system == b->cpu.system && a->cpu.iowait == b->cpu.iowait);
    CHK(a->cpu.steal == b->cpu.steal && a->cpu.freq_cur == b->cpu.freq_cur);
    CHK(a->cpu.freq_min == b->cpu.freq_min && a->cpu.freq_max == b->cpu.freq_max);
    CHK(memcmp(a->cpu.load, b->cpu.load, sizeof a->cpu.load) == 0);
    CHK(a->cpu.ncores == b->cpu.ncores);
    CHK(memcmp(a->cpu.cores, b->cpu.cores, a->cpu.ncores * sizeof *a->cpu.cores) == 0);
    CHK(a->nfs == b->nfs && memcmp(a->fs, b->fs, a->nfs * sizeof *a->fs) == 0);
    CHK(a->read_bps == b->read_bps && a->write_bps == b->write_bps);
    CHK(a->ndisks == b->ndisks && memcmp(a->disks, b->disks, a->ndisks * sizeof *a->disks) == 0);
    CHK(a->net.nifaces == b->net.nifaces);
    CHK(memcmp(a->net.ifaces, b->net.ifaces, a->net.nifaces * sizeof *a->net.ifaces) == 0);
    CHK(a->net.bytes_sent == b->net.bytes_sent && a->net.bytes_recv == b->net.bytes_recv);
    CHK(a->net.packets_sent == b->net.packets_sent && a->net.packets_recv == b->net.packets_recv);
    CHK(a->net.errin == b->net.errin && a->net.errout == b->net.errout);
    CHK(a->net.dropin == b->net.dropin && a->net.dropout == b->net.dropout);
    CHK(a->net.rx_bps == b->net.rx_bps && a->net.tx_bps == b->net.tx_bps);
#undef CHK
    return 1;
}

static void
test_round_trip(void)
{
    struct sm_sample a, b;
    sm_sample_init(&a);
    sm_sample_init(&b);
    fill(&a);
    char *text = sm_sample_encode(&a);
    char *cause = NULL;
    enum sm_rc rc = decode(text, &b, &cause);
    if (!ok(rc == SM_OK, "round trip: decodes"))
        diag("    %s", cause);
    ok(same(&a, &b), "round trip: same sample");
    free(cause);

    /* Decoding into a used sample replaces everything. */
    rc = decode("{\"timestamp\": 5, \"memory\": {\"percent\": 1}}", &b, &cause);
    ok(rc == SM_OK && b.nfs == 0 && b.cpu.ncores == 0 && b.net.nifaces == 0 &&
           b.have == SM_HAVE_MEM && b.timestamp == 5 && b.seq == 0,
       "decoding again clears the previous sample");
    free(cause);

    /* And re-encoding the decoded sample gives the same text. */
    rc = decode(text, &b, &cause);
    char *text2 = sm_sample_encode(&b);
    ok(rc == SM_OK && strcmp(text, text2) == 0, "round trip: same JSON text");
    free(text2);
    free(text);
    free(cause);

    /* A sample with only some sections round-trips too. */
    sm_sample_clear(&a);
    a.timestamp = NOW;
    a.have = SM_HAVE_MEM;
    a.mem.total = 1000;
    a.mem.used_percent = 10;
    text = sm_sample_encode(&a);
    rc = decode(text, &b, &cause);
    ok(rc == SM_OK && same(&a, &b), "round trip: memory only");
    free(text);
    free(cause);
    sm_sample_done(&a);
    sm_sample_done(&b);
}

/*---------------------------------------------------------------- the three shapes */

/* What the original Python agent sent (psutil-based). */
static const char python_agent[] =
    "{\"timestamp\": \"2025-11-25T09:59:30.123456\","
    " \"hostname\": \"web1\","
    " \"cpu\": {\"usage_percent\": 23.4, \"per_core_usage\": [20.0, 26.8],"
    "         \"freq\": {\"current\": 2893.2, \"min\": 0.0, \"max\": 0.0},"
    "         \"load_avg\": [0.52, 0.58, 0.59], \"count\": 2},"
    " \"memory\": {\"total\": 8254390272, \"available\": 4127195136, \"used\": 3698581504,"
    "            \"percent\": 50.0, \"free\": 1000},"
    " \"disk\": {\"partitions\": [{\"device\": \"/dev/sda1\", \"mountpoint\": \"/\","
    "           \"fstype\": \"ext4\", \"total\": 100, \"used\": 60, \"free\": 40,"
    "           \"percent\": 60.0, \"opts\": \"rw\"}]},"
    " \"network\": {\"bytes_sent\": 1000, \"bytes_recv\": 2000, \"packets_sent\": 10,"
    "             \"packets_recv\": 20}}";

/* The original README's example (no timestamp, flat disk). */
static const char readme[] = "{\"cpu\": {\"percent\": 12.5},"
                             " \"memory\": {\"percent\": 40.1, \"used\": 4000, \"total\": 10000},"
                             " \"disk\": {\"percent\": 55.0, \"used\": 550, \"total\": 1000,"
                             "            \"free\": 450}}";

static void
test_shapes(void)
{
    struct sm_sample s;
    char *cause = NULL;
    sm_sample_init(&s);

    enum sm_rc rc = decode(python_agent, &s, &cause);
    if (!ok(rc == SM_OK, "python agent shape: decodes"))
        diag("    %s", cause);
    free(cause);
    ok_near(s.timestamp, NOW - 29.876544, 1e-6, "python: naive ISO timestamp is UTC");
    ok(s.have == (SM_HAVE_CPU | SM_HAVE_FREQ | SM_HAVE_LOAD | SM_HAVE_MEM | SM_HAVE_NET),
       "python: have bits (0x%x)", s.have);
    ok_near(s.cpu.usage, 23.4, 1e-9, "python: cpu.usage_percent");
    ok(s.cpu.ncores == 2 && s.cpu.cores[1].usage == 26.8 && s.cpu.cores[1].online &&
           s.cpu.cores[1].freq_mhz == -1,
       "python: per-core usage, frequency unknown");
    ok_near(s.cpu.freq_cur, 2893.2, 1e-9, "python: cpu.freq.current");
    ok_near(s.cpu.load[2], 0.59, 1e-9, "python: load_avg");
    ok(s.mem.total == 8254390272ULL && s.mem.available == 4127195136ULL && s.mem.free == 1000,
       "python: memory bytes");
    ok_near(s.mem.used_percent, 50, 0, "python: memory.percent");
    ok(s.nfs == 1 && s.fs[0].used == 60 && s.fs[0].percent == 60, "python: partition");
    ok_str(s.fs[0].mount, "/", "python: partition mountpoint");
    ok_str(s.fs[0].device, "/dev/sda1", "python: partition device");
    ok(s.net.bytes_sent == 1000 && s.net.packets_recv == 20 && s.net.nifaces == 0,
       "python: network counters");

    rc = decode(readme, &s, &cause);
    if (!ok(rc == SM_OK, "README shape: decodes"))
        diag("    %s", cause);
    free(cause);
    ok(s.timestamp == NOW, "README: no timestamp means now");
    ok(s.have == (SM_HAVE_CPU | SM_HAVE_MEM), "README: have bits (0x%x)", s.have);
    ok(s.cpu.usage == 12.5 && s.cpu.ncores == 0, "README: cpu.percent");
    ok(s.mem.used_percent == 40.1 && s.mem.used == 4000 && s.mem.total == 10000, "README: memory");
    ok(s.nfs == 1 && strcmp(s.fs[0].mount, "/") == 0 && s.fs[0].percent == 55 &&
           s.fs[0].total == 1000 && s.fs[0].free == 450 && s.fs[0].device[0] == '\0',
       "README: flat disk is one filesystem at /");

    /* Smaller variations of the legacy shapes. */
    rc = decode("{\"memory\": {\"total\": 1000, \"available\": 250}}", &s, &cause);
    ok(rc == SM_OK && s.mem.used_percent == 75, "memory percent computed from total/available");
    free(cause);
    rc =
        decode("{\"cpu\": {\"usage_percent\": 5, \"freq\": null, \"load_avg\": null}}", &s, &cause);
    ok(rc == SM_OK && s.have == SM_HAVE_CPU, "null freq and load_avg are absent");
    free(cause);
    rc = decode("{\"cpu\": {\"usage_percent\": 5, \"freq\": [3000, 800, null]}}", &s, &cause);
    ok(rc == SM_OK && (s.have & SM_HAVE_FREQ) && s.cpu.freq_cur == 3000 && s.cpu.freq_min == 800 &&
           s.cpu.freq_max == 0,
       "psutil freq tuple as an array");
    free(cause);
    rc = decode("{\"cpu\": {\"usage_percent\": 5, \"per_core_usage\": [1, null, 3],"
                " \"per_core_freq\": [null, 2000]}}",
                &s, &cause);
    ok(rc == SM_OK && s.cpu.ncores == 3 && s.cpu.cores[1].online == 0 &&
           s.cpu.cores[0].freq_mhz == -1 && s.cpu.cores[1].freq_mhz == 2000 &&
           s.cpu.cores[2].freq_mhz == -1 && s.cpu.cores[2].online == 1,
       "null per-core entries: offline core, unknown frequency");
    free(cause);
    rc = decode("{\"cpu\": {\"usage_percent\": 100.004, \"user\": -0.001}}", &s, &cause);
    ok(rc == SM_OK && s.cpu.usage == 100 && s.cpu.user == 0 && (s.have & SM_HAVE_CPU_BREAKDOWN),
       "tiny percent excess is clamped");
    free(cause);
    rc = decode("{\"timestamp\": 1764064800.5, \"seq\": 0}", &s, &cause);
    ok(rc == SM_OK && s.timestamp == NOW + 0.5 && s.have == 0, "empty sample with a timestamp");
    free(cause);
    rc = decode("{\"timestamp\": \"2025-11-25T11:00:00+01:00\"}", &s, &cause);
    ok(rc == SM_OK && s.timestamp == NOW, "ISO timestamp with an offset");
    free(cause);
    rc = decode("{\"timestamp\": 1764065100}", &s, &cause);
    ok(rc == SM_OK && s.timestamp == NOW + 300, "timestamp exactly 300 s ahead is accepted");
    free(cause);
    rc = decode("{\"CPU\": {\"percent\": \"x\"}, \"extra\": [1, {\"a\": null}]}", &s, &cause);
    ok(rc == SM_OK && s.have == 0, "unknown fields (keys are case-sensitive) are ignored");
    free(cause);
    sm_sample_done(&s);
}

/*---------------------------------------------------------------- bad input */

struct bad {
    const char *in;
    enum sm_rc want;
    const char *cause; /* exact */
};

#define STR255 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define STR64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const struct bad bads[] = {
    {"[]", SM_EINVAL, "sample: must be an object"},
    {"\"x\"", SM_EINVAL, "sample: must be an object"},
    {"{\"timestamp\": \"yesterday\"}", SM_EINVAL,
     "timestamp: must be unix seconds or an ISO 8601 string"},
    {"{\"timestamp\": true}", SM_EINVAL, "timestamp: must be unix seconds or an ISO 8601 string"},
    {"{\"timestamp\": 0}", SM_EINVAL, "timestamp: must be after 1970"},
    {"{\"timestamp\": -5}", SM_EINVAL, "timestamp: must be after 1970"},
    {"{\"timestamp\": \"1969-12-31T00:00:00Z\"}", SM_EINVAL, "timestamp: must be after 1970"},
    {"{\"timestamp\": 1e999}", SM_EINVAL, "timestamp: must be after 1970"},
    {"{\"timestamp\": 1764065100.5}", SM_EINVAL,
     "timestamp: in the future (more than 300 s after now)"},
    {"{\"timestamp\": \"2030-01-01T00:00:00Z\"}", SM_EINVAL,
     "timestamp: in the future (more than 300 s after now)"},
    {"{\"timestamp\": \"1764064800\"}", SM_EINVAL,
     "timestamp: must be unix seconds or an ISO 8601 string"},
    {"{\"seq\": -1}", SM_EINVAL, "seq: must be a whole number from 0 to 9223372036854775807"},
    {"{\"seq\": 1.5}", SM_EINVAL, "seq: must be a whole number from 0 to 9223372036854775807"},
    {"{\"seq\": 9223372036854775808}", SM_EINVAL,
     "seq: must be a whole number from 0 to 9223372036854775807"},
    {"{\"seq\": \"1\"}", SM_EINVAL, "seq: must be a whole number from 0 to 9223372036854775807"},
    {"{\"cpu\": 5}", SM_EINVAL, "cpu: must be an object"},
    {"{\"cpu\": []}", SM_EINVAL, "cpu: must be an object"},
    {"{\"cpu\": {\"usage_percent\": 100.5}}", SM_EINVAL,
     "cpu.usage_percent: must be a number from 0 to 100"},
    {"{\"cpu\": {\"usage_percent\": -1}}", SM_EINVAL,
     "cpu.usage_percent: must be a number from 0 to 100"},
    {"{\"cpu\": {\"usage_percent\": \"12\"}}", SM_EINVAL,
     "cpu.usage_percent: must be a number from 0 to 100"},
    {"{\"cpu\": {\"usage_percent\": 1e400}}", SM_EINVAL,
     "cpu.usage_percent: must be a number from 0 to 100"},
    {"{\"cpu\": {\"percent\": true}}", SM_EINVAL, "cpu.percent: must be a number from 0 to 100"},
    {"{\"cpu\": {\"steal\": 101}}", SM_EINVAL, "cpu.steal: must be a number from 0 to 100"},
    {"{\"cpu\": {\"per_core_usage\": {}}}", SM_EINVAL, "cpu.per_core_usage: must be an array"},
    {"{\"cpu\": {\"per_core_usage\": [1, 2, 3, 400]}}", SM_EINVAL,
     "cpu.per_core_usage[3]: must be a number from 0 to 100"},
    {"{\"cpu\": {\"per_core_usage\": [1, [2]]}}", SM_EINVAL,
     "cpu.per_core_usage[1]: must be a number from 0 to 100"},
    {"{\"cpu\": {\"per_core_usage\": [1], \"per_core_freq\": [1, 2]}}", SM_EINVAL,
     "cpu.per_core_freq: has 2 entries but cpu.per_core_usage has 1"},
    {"{\"cpu\": {\"per_core_freq\": [1]}}", SM_EINVAL,
     "cpu.per_core_freq: has 1 entries but cpu.per_core_usage has 0"},
    {"{\"cpu\": {\"per_core_usage\": [1, 2], \"per_core_freq\": [1, -2]}}", SM_EINVAL,
     "cpu.per_core_freq[1]: must be a number from 0 to 1e+06"},
    {"{\"cpu\": {\"per_core_usage\": [1], \"per_core_freq\": \"x\"}}", SM_EINVAL,
     "cpu.per_core_freq: must be an array"},
    {"{\"cpu\": {\"freq\": 3000}}", SM_EINVAL,
     "cpu.freq: must be an object {current, min, max} or an array of 3 numbers"},
    {"{\"cpu\": {\"freq\": [1, 2]}}", SM_EINVAL,
     "cpu.freq: must be an object {current, min, max} or an array of 3 numbers"},
    {"{\"cpu\": {\"freq\": [1, 2, \"3\"]}}", SM_EINVAL,
     "cpu.freq[2]: must be a number from 0 to 1e+06"},
    {"{\"cpu\": {\"freq\": {\"current\": -1}}}", SM_EINVAL,
     "cpu.freq.current: must be a number from 0 to 1e+06"},
    {"{\"cpu\": {\"freq\": {\"max\": 2e6}}}", SM_EINVAL,
     "cpu.freq.max: must be a number from 0 to 1e+06"},
    {"{\"cpu\": {\"load_avg\": [1, 2]}}", SM_EINVAL, "cpu.load_avg: must be an array of 3 numbers"},
    {"{\"cpu\": {\"load_avg\": [1, 2, 3, 4]}}", SM_EINVAL,
     "cpu.load_avg: must be an array of 3 numbers"},
    {"{\"cpu\": {\"load_avg\": 1}}", SM_EINVAL, "cpu.load_avg: must be an array of 3 numbers"},
    {"{\"cpu\": {\"load_avg\": [1, -2, 3]}}", SM_EINVAL,
     "cpu.load_avg[1]: must be a number from 0 to 1e+06"},
    {"{\"cpu\": {\"load_avg\": [1, 2, null]}}", SM_EINVAL,
     "cpu.load_avg[2]: must be a number from 0 to 1e+06"},
    {"{\"memory\": \"x\"}", SM_EINVAL, "memory: must be an object"},
    {"{\"memory\": {\"total\": -1}}", SM_EINVAL,
     "memory.total: must be a whole number from 0 to 9223372036854775807"},
    {"{\"memory\": {\"used\": 1.5}}", SM_EINVAL,
     "memory.used: must be a whole number from 0 to 9223372036854775807"},
    {"{\"memory\": {\"available\": 1e19}}", SM_EINVAL,
     "memory.available: must be a whole number from 0 to 9223372036854775807"},
    {"{\"memory\": {\"free\": \"1\"}}", SM_EINVAL,
     "memory.free: must be a whole number from 0 to 9223372036854775807"},
    {"{\"memory\": {\"percent\": 101}}", SM_EINVAL,
     "memory.percent: must be a number from 0 to 100"},
    {"{\"memory\": {\"used_percent\": {}}}", SM_EINVAL,
     "memory.used_percent: must be a number from 0 to 100"},
    {"{\"memory\": {\"swap_total\": false}}", SM_EINVAL,
     "memory.swap_total: must be a whole number from 0 to 9223372036854775807"},
    {"{\"memory\": {\"swap_percent\": 200}}", SM_EINVAL,
     "memory.swap_percent: must be a number from 0 to 100"},
    {"{\"disk\": 1}", SM_EINVAL, "disk: must be an object"},
    {"{\"disk\": {\"partitions\": {}}}", SM_EINVAL, "disk.partitions: must be an array"},
    {"{\"disk\": {\"partitions\": [1]}}", SM_EINVAL, "disk.partitions[0]: must be an object"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\"}, {\"total\": 5}]}}", SM_EINVAL,
     "disk.partitions[1].mountpoint: missing (must be a string)"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"\"}]}}", SM_EINVAL,
     "disk.partitions[0].mountpoint: must be a non-empty string of at most 255 bytes"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": 5}]}}", SM_EINVAL,
     "disk.partitions[0].mountpoint: must be a non-empty string of at most 255 bytes"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/" STR255 STR255 STR255 STR255 "\"}]}}",
     SM_EINVAL, "disk.partitions[0].mountpoint: must be a non-empty string of at most 255 bytes"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\\u001b[2J\"}]}}", SM_EINVAL,
     "disk.partitions[0].mountpoint: must be a non-empty string of at most 255 bytes without "
     "control characters"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\\u007f\"}]}}", SM_EINVAL,
     "disk.partitions[0].mountpoint: must be a non-empty string of at most 255 bytes without "
     "control characters"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\", \"fstype\": \"" STR64 "\"}]}}",
     SM_EINVAL, "disk.partitions[0].fstype: must be a string of at most 63 bytes"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\", \"device\": [\"sda\"]}]}}", SM_EINVAL,
     "disk.partitions[0].device: must be a string of at most 255 bytes"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\", \"total\": -5}]}}", SM_EINVAL,
     "disk.partitions[0].total: must be a whole number from 0 to 9223372036854775807"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/\", \"percent\": 100.02}]}}", SM_EINVAL,
     "disk.partitions[0].percent: must be a number from 0 to 100"},
    {"{\"disk\": {\"partitions\": [{\"mountpoint\": \"/a\"}, {\"mountpoint\": \"/a\"}]}}",
     SM_EINVAL, "disk.partitions[1]: mountpoint \"/a\" appears twice"},
    {"{\"disk\": {\"percent\": 155, \"total\": 1}}", SM_EINVAL,
     "disk.percent: must be a number from 0 to 100"},
    {"{\"disk\": {\"percent\": 15, \"used\": \"1\"}}", SM_EINVAL,
     "disk.used: must be a whole number from 0 to 9223372036854775807"},
    {"{\"disk\": {\"io\": []}}", SM_EINVAL, "disk.io: must be an object"},
    {"{\"disk\": {\"io\": {\"read_bytes_per_s\": -1}}}", SM_EINVAL,
     "disk.io.read_bytes_per_s: must be a number from 0 to 9.22337e+18"},
    {"{\"disk\": {\"devices\": [{\"name\": \"sda\", \"busy_percent\": 101}]}}", SM_EINVAL,
     "disk.devices[0].busy_percent: must be a number from 0 to 100"},
    {"{\"disk\": {\"devices\": [{\"read_bytes_per_s\": 1}]}}", SM_EINVAL,
     "disk.devices[0].name: missing (must be a string)"},
    {"{\"disk\": {\"devices\": [null]}}", SM_EINVAL, "disk.devices[0]: must be an object"},
    {"{\"disk\": {\"devices\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}}", SM_EINVAL,
     "disk.devices[1]: name \"a\" appears twice"},
    {"{\"disk\": {\"devices\": [{\"name\": \"a\", \"write_bytes_per_s\": \"x\"}]}}", SM_EINVAL,
     "disk.devices[0].write_bytes_per_s: must be a number from 0 to 9.22337e+18"},
    {"{\"network\": []}", SM_EINVAL, "network: must be an object"},
    {"{\"network\": {\"bytes_sent\": -1}}", SM_EINVAL,
     "network.bytes_sent: must be a whole number from 0 to 9223372036854775807"},
    {"{\"network\": {\"dropout\": 0.5}}", SM_EINVAL,
     "network.dropout: must be a whole number from 0 to 9223372036854775807"},
    {"{\"network\": {\"tx_bytes_per_s\": \"fast\"}}", SM_EINVAL,
     "network.tx_bytes_per_s: must be a number from 0 to 9.22337e+18"},
    {"{\"network\": {\"interfaces\": 3}}", SM_EINVAL, "network.interfaces: must be an array"},
    {"{\"network\": {\"interfaces\": [\"eth0\"]}}", SM_EINVAL,
     "network.interfaces[0]: must be an object"},
    {"{\"network\": {\"interfaces\": [{\"name\": \"" STR64 "\"}]}}", SM_EINVAL,
     "network.interfaces[0].name: must be a non-empty string of at most 63 bytes"},
    {"{\"network\": {\"interfaces\": [{\"name\": \"e\", \"rx_bytes\": -1}]}}", SM_EINVAL,
     "network.interfaces[0].rx_bytes: must be a whole number from 0 to 9223372036854775807"},
    {"{\"network\": {\"interfaces\": [{\"name\": \"e\"}, {\"name\": \"e\"}]}}", SM_EINVAL,
     "network.interfaces[1]: name \"e\" appears twice"},
};

static void
test_bad(void)
{
    struct sm_sample s;
    sm_sample_init(&s);
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        char *cause = NULL;
        enum sm_rc rc = decode(bads[i].in, &s, &cause);
        if (!ok(rc == bads[i].want && cause != NULL && strcmp(cause, bads[i].cause) == 0,
                "bad %zu: %s", i, bads[i].cause))
            diag("    input %s\n#     got %s '%s'", bads[i].in, sm_rc_str(rc),
                 cause ? cause : "(null)");
        free(cause);
    }

    /* Caps: one entry past each array cap is SM_ETOOBIG, the cap itself is fine. */
    static const struct {
        const char *head, *item_pre, *item_post, *tail, *cause;
        size_t cap;
    } caps[] = {
        {"{\"cpu\": {\"per_core_usage\": [", "", "", "]}}",
         "cpu.per_core_usage: more than 1024 entries", SM_MAX_CORES},
        {"{\"cpu\": {\"per_core_usage\": [], \"per_core_freq\": [", "", "", "]}}",
         "cpu.per_core_freq: more than 1024 entries", SM_MAX_CORES},
        {"{\"disk\": {\"partitions\": [", "{\"mountpoint\": \"/m", "\"}", "]}}",
         "disk.partitions: more than 256 entries", SM_MAX_FS},
        {"{\"disk\": {\"devices\": [", "{\"name\": \"d", "\"}", "]}}",
         "disk.devices: more than 256 entries", SM_MAX_DISKS},
        {"{\"network\": {\"interfaces\": [", "{\"name\": \"i", "\"}", "]}}",
         "network.interfaces: more than 256 entries", SM_MAX_IFACES},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        for (size_t extra = 0; extra < 2; extra++) {
            size_t n = caps[i].cap + extra;
            size_t sz = strlen(caps[i].head) + strlen(caps[i].tail) + n * 32 + 1;
            char *text = sm_xmalloc(sz);
            size_t off = (size_t)snprintf(text, sz, "%s", caps[i].head);
            for (size_t k = 0; k < n; k++)
                off += (size_t)snprintf(text + off, sz - off, "%s%s%zu%s", k ? "," : "",
                                        caps[i].item_pre, i < 2 ? k % 100 : k, caps[i].item_post);
            snprintf(text + off, sz - off, "%s", caps[i].tail);
            char *cause = NULL;
            enum sm_rc rc = decode(text, &s, &cause);
            if (extra == 0)
                ok(rc == SM_OK || (i == 1 && rc == SM_EINVAL), "cap %s: %zu entries accepted",
                   caps[i].cause, n);
            else
                ok(rc == SM_ETOOBIG && cause && strcmp(cause, caps[i].cause) == 0, "cap %s",
                   caps[i].cause);
            free(cause);
            free(text);
        }
    }
    sm_sample_done(&s);
}

/*---------------------------------------------------------------- host */

static void
test_host(void)
{
    struct sm_host a = {.cores = 8, .boot_time = 1732400000}, b;
    sm_strlcpy(a.hostname, "web1", sizeof a.hostname);
    sm_strlcpy(a.os, "Debian GNU/Linux 12", sizeof a.os);
    sm_strlcpy(a.kernel, "6.1.0-28-amd64", sizeof a.kernel);
    sm_strlcpy(a.arch, "x86_64", sizeof a.arch);
    sm_strlcpy(a.cpu_model, "AMD EPYC 7B13", sizeof a.cpu_model);
    sm_strlcpy(a.agent_version, "0.1.0", sizeof a.agent_version);
    cJSON *j = sm_host_to_json(&a);
    char *cause = NULL;
    enum sm_rc rc = sm_host_from_json(j, &b, &cause);
    ok(rc == SM_OK && memcmp(&a, &b, sizeof a) == 0, "host: round trip");
    cJSON_Delete(j);
    free(cause);

    static const struct bad hbad[] = {
        {"[]", SM_EINVAL, "host: must be an object"},
        {"{\"hostname\": 5}", SM_EINVAL, "host.hostname: must be a string of at most 255 bytes"},
        {"{\"hostname\": \"a\\nb\"}", SM_EINVAL,
         "host.hostname: must be a string of at most 255 bytes without control characters"},
        {"{\"arch\": \"" STR64 "\"}", SM_EINVAL, "host.arch: must be a string of at most 63 bytes"},
        {"{\"cores\": -1}", SM_EINVAL, "host.cores: must be a whole number from 0 to 1024"},
        {"{\"cores\": 1025}", SM_EINVAL, "host.cores: must be a whole number from 0 to 1024"},
        {"{\"cores\": 2.5}", SM_EINVAL, "host.cores: must be a whole number from 0 to 1024"},
        {"{\"boot_time\": \"x\"}", SM_EINVAL,
         "host.boot_time: must be a whole number from 0 to 9223372036854775807"},
        {"{\"boot_time\": 9.3e18}", SM_EINVAL,
         "host.boot_time: must be a whole number from 0 to 9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof hbad / sizeof hbad[0]; i++) {
        cJSON *v = NULL;
        cause = NULL;
        if (sm_json_parse(hbad[i].in, strlen(hbad[i].in), 4, &v, &cause) != SM_OK) {
            ok(0, "host bad %zu parses", i);
            free(cause);
            continue;
        }
        rc = sm_host_from_json(v, &b, &cause);
        if (!ok(rc == hbad[i].want && cause && strcmp(cause, hbad[i].cause) == 0, "host bad: %s",
                hbad[i].cause))
            diag("    got %s '%s'", sm_rc_str(rc), cause ? cause : "(null)");
        cJSON_Delete(v);
        free(cause);
    }
    cJSON *v = NULL;
    cause = NULL;
    const char *partial = "{\"hostname\": \"h\", \"extra\": 1}";
    if (sm_json_parse(partial, strlen(partial), 4, &v, &cause) == SM_OK) {
        rc = sm_host_from_json(v, &b, &cause);
        ok(rc == SM_OK && strcmp(b.hostname, "h") == 0 && b.os[0] == '\0' && b.cores == 0,
           "host: partial facts, unknown keys ignored");
        cJSON_Delete(v);
    }
    free(cause);
}

/* What psutil leaves out or empty, in the original agent's shape: accepted, and the
 * value is absent (its SM_HAVE_* bit clear or its SM_MISS_* bit set), never a 0. One
 * case a line: the sample, bits that must be set in have, bits that must be clear in
 * have, bits that must be set in missing, and bits that must be clear in missing. */
static const struct absent_case {
    const char *json;
    unsigned have, no_have, missing, no_missing;
} absents[] = {
    {"{\"cpu\":{\"usage_percent\":5,\"freq\":{}}}", SM_HAVE_CPU, SM_HAVE_FREQ, 0, 0},
    {"{\"cpu\":{\"usage_percent\":5,\"freq\":null}}", SM_HAVE_CPU, SM_HAVE_FREQ, 0, 0},
    {"{\"cpu\":{\"usage_percent\":5}}", SM_HAVE_CPU, SM_HAVE_FREQ | SM_HAVE_LOAD, 0, 0},
    {"{\"cpu\":{\"freq\":{\"current\":0,\"min\":0,\"max\":0}}}", 0, SM_HAVE_FREQ, 0, 0},
    {"{\"cpu\":{\"freq\":[null,null,null]}}", 0, SM_HAVE_FREQ, 0, 0},
    {"{\"cpu\":{\"freq\":{\"current\":2400,\"min\":0,\"max\":0}}}", SM_HAVE_FREQ, 0,
     SM_MISS_FREQ_RANGE, SM_MISS_FREQ_CUR},
    {"{\"cpu\":{\"freq\":{\"min\":800,\"max\":4500}}}", SM_HAVE_FREQ, 0, SM_MISS_FREQ_CUR,
     SM_MISS_FREQ_RANGE},
    {"{\"cpu\":{\"freq\":{\"current\":0,\"min\":800,\"max\":4500}}}", SM_HAVE_FREQ, 0,
     SM_MISS_FREQ_CUR, SM_MISS_FREQ_RANGE},
    {"{\"cpu\":{\"freq\":[2400,800,4500]}}", SM_HAVE_FREQ, 0, 0,
     SM_MISS_FREQ_CUR | SM_MISS_FREQ_RANGE},
    {"{\"cpu\":{\"usage_percent\":5,\"load_avg\":[]}}", SM_HAVE_CPU, SM_HAVE_LOAD, 0, 0},
    {"{\"cpu\":{\"usage_percent\":5,\"load_avg\":null}}", SM_HAVE_CPU, SM_HAVE_LOAD, 0, 0},
    {"{\"cpu\":{\"load_avg\":[0,0,0]}}", SM_HAVE_LOAD, 0, 0, 0},
    {"{\"disk\":{\"partitions\":[]}}", 0, SM_HAVE_DISK_IO, 0, 0},
    {"{\"disk\":{\"io\":{}}}", 0, SM_HAVE_DISK_IO, 0, 0},
    {"{\"disk\":{\"io\":{\"read_bytes\":4096,\"write_bytes\":8192}}}", 0, SM_HAVE_DISK_IO, 0, 0},
    {"{\"disk\":{\"io\":{},\"devices\":[]}}", SM_HAVE_DISK_IO, 0,
     SM_MISS_DISK_READ | SM_MISS_DISK_WRITE, 0},
    {"{\"disk\":{\"io\":{\"read_bytes_per_s\":5}}}", SM_HAVE_DISK_IO, 0, SM_MISS_DISK_WRITE,
     SM_MISS_DISK_READ},
    {"{\"network\":{}}", SM_HAVE_NET, 0,
     SM_MISS_NET_BYTES_SENT | SM_MISS_NET_BYTES_RECV | SM_MISS_NET_PACKETS_SENT |
         SM_MISS_NET_PACKETS_RECV | SM_MISS_NET_ERRIN | SM_MISS_NET_ERROUT | SM_MISS_NET_DROPIN |
         SM_MISS_NET_DROPOUT | SM_MISS_NET_RX_RATE | SM_MISS_NET_TX_RATE,
     0},
    {"{\"network\":{\"bytes_sent\":1,\"bytes_recv\":2}}", SM_HAVE_NET, 0,
     SM_MISS_NET_PACKETS_SENT | SM_MISS_NET_RX_RATE,
     SM_MISS_NET_BYTES_SENT | SM_MISS_NET_BYTES_RECV},
    {"{\"network\":null}", 0, SM_HAVE_NET, 0, 0},
    {"{\"memory\":{\"total\":8,\"swap_total\":0,\"swap_used\":0,\"swap_percent\":0}}",
     SM_HAVE_MEM | SM_HAVE_SWAP, 0, SM_MISS_SWAP_PERCENT, 0},
    {"{\"memory\":{\"total\":8,\"swap_total\":4,\"swap_used\":1,\"swap_percent\":25}}",
     SM_HAVE_MEM | SM_HAVE_SWAP, 0, 0, SM_MISS_SWAP_PERCENT},
    {"{\"memory\":{\"total\":8,\"available\":4,\"used_percent\":50}}", SM_HAVE_MEM, SM_HAVE_SWAP,
     SM_MISS_MEM_FREE, SM_MISS_MEM_USED | SM_MISS_MEM_TOTAL | SM_MISS_MEM_PERCENT},
    {"{\"memory\":{\"swap_used\":1,\"swap_percent\":25}}", SM_HAVE_SWAP, 0, SM_MISS_SWAP_TOTAL,
     SM_MISS_SWAP_USED | SM_MISS_SWAP_PERCENT},
    {"{\"memory\":{\"swap_total\":4,\"swap_used\":1}}", SM_HAVE_SWAP, 0, 0,
     SM_MISS_SWAP_TOTAL | SM_MISS_SWAP_USED | SM_MISS_SWAP_PERCENT},
    {"{\"memory\":{\"swap_total\":4}}", SM_HAVE_SWAP, 0, SM_MISS_SWAP_USED | SM_MISS_SWAP_PERCENT,
     0},
    {"{\"memory\":{\"percent\":44}}", SM_HAVE_MEM, 0,
     SM_MISS_MEM_TOTAL | SM_MISS_MEM_AVAILABLE | SM_MISS_MEM_USED | SM_MISS_MEM_FREE,
     SM_MISS_MEM_PERCENT},
    {"{\"memory\":{\"total\":8}}", SM_HAVE_MEM, 0, SM_MISS_MEM_PERCENT | SM_MISS_MEM_USED, 0},
};

static void
test_absent(void)
{
    struct sm_sample s;
    sm_sample_init(&s);
    for (size_t i = 0; i < sizeof absents / sizeof absents[0]; i++) {
        const struct absent_case *c = &absents[i];
        char *cause = NULL;
        enum sm_rc rc = decode(c->json, &s, &cause);
        int good = rc == SM_OK && (s.have & c->have) == c->have && (s.have & c->no_have) == 0 &&
                   (s.missing & c->missing) == c->missing && (s.missing & c->no_missing) == 0;
        if (!ok(good, "absent %zu: %s", i, c->json))
            diag("    rc %d (%s), have 0x%x, missing 0x%x", rc, cause ? cause : "", s.have,
                 s.missing);
        free(cause);
    }
    /* A swap percentage not sent is used / total when both are there. */
    char *why = NULL;
    ok(decode("{\"memory\":{\"swap_total\":4,\"swap_used\":1}}", &s, &why) == SM_OK &&
           s.mem.swap_percent == 25,
       "swap percentage from used and total");
    free(why);
    /* A frequency that rounds to 0 MHz is unknown (it would be encoded as 0). */
    ok(decode("{\"cpu\":{\"freq\":{\"current\":0.4,\"min\":800,\"max\":900}}}", &s, &why) ==
               SM_OK &&
           (s.missing & SM_MISS_FREQ_CUR),
       "freq.current 0.4 is unknown");
    free(why);
    /* psutil's per-core 0 MHz and a shorter per_core_freq: unknown cores, not 0 MHz. */
    char *cause = NULL;
    enum sm_rc rc =
        decode("{\"cpu\":{\"per_core_usage\":[1,2,3],\"per_core_freq\":[0,1800]}}", &s, &cause);
    ok(rc == SM_OK && s.cpu.ncores == 3 && s.cpu.cores[0].freq_mhz < 0 &&
           s.cpu.cores[1].freq_mhz == 1800 && s.cpu.cores[2].freq_mhz < 0,
       "per_core_freq: 0 and past its end are unknown");
    free(cause);
    /* What is absent is not encoded: a bare sample goes out with none of it. */
    rc = decode("{\"timestamp\":5,\"cpu\":{\"usage_percent\":5,\"freq\":{\"current\":2400,"
                "\"min\":0,\"max\":0},\"load_avg\":[]},\"memory\":{\"total\":8,\"swap_total\":0},"
                "\"disk\":{\"io\":{}},\"network\":{\"bytes_sent\":3}}",
                &s, &cause);
    char *text = rc == SM_OK ? sm_sample_encode(&s) : NULL;
    ok(text != NULL && strstr(text, "\"freq\":{\"current\":2400}") != NULL &&
           strstr(text, "load_avg") == NULL && strstr(text, "swap_percent") == NULL &&
           strstr(text, "bytes_recv") == NULL && strstr(text, "\"bytes_sent\":3") != NULL &&
           strstr(text, "rx_bytes_per_s") == NULL && strstr(text, "read_bytes_per_s") == NULL,
       "absent values are left out of the JSON: %s", text ? text : "(none)");
    /* ... and the encoded sample decodes to the same absences. */
    struct sm_sample b;
    sm_sample_init(&b);
    char *cause2 = NULL;
    rc = text ? decode(text, &b, &cause2) : SM_EINVAL;
    ok(rc == SM_OK && b.have == s.have && b.missing == s.missing,
       "absences survive a round trip (have 0x%x/0x%x, missing 0x%x/0x%x)", b.have, s.have,
       b.missing, s.missing);
    free(cause2);
    free(text);
    free(cause);
    sm_sample_done(&b);
    sm_sample_done(&s);
}

int
main(void)
{
    test_round_trip();
    test_shapes();
    test_bad();
    test_host();
    test_absent();
    return tap_done();
}
