/* test_series.c: the series table and its walker (lib/series.c). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"
#include "sample_util.h"
#include "series.h"
#include "tap.h"

static void
fill(struct sm_sample *s)
{
    s->timestamp = 1732412345;
    s->have = SM_HAVE_CPU | SM_HAVE_LOAD | SM_HAVE_MEM | SM_HAVE_NET;
    s->cpu.usage = 12.5;
    struct sm_core *c = sm_sample_cores(s, 3);
    c[0].usage = 10;
    c[0].online = 1;
    c[0].freq_mhz = 2400;
    c[1].online = 0; /* offline: no point at all */
    c[1].freq_mhz = 1000;
    c[2].usage = 30;
    c[2].online = 1;
    c[2].freq_mhz = -1; /* no cpufreq: usage only */
    s->cpu.load[0] = 0.5;
    s->cpu.load[1] = 0.25;
    s->cpu.load[2] = 0.125;
    s->mem.used_percent = 50;
    s->mem.used = 4;
    s->mem.available = 4;
    s->mem.total = 8;
    struct sm_fs *f = sm_sample_add_fs(s);
    snprintf(f->mount, sizeof f->mount, "/");
    f->percent = 40;
    f->used = 40;
    f->total = 100;
    f = sm_sample_add_fs(s); /* no mountpoint: labelled by its device */
    snprintf(f->device, sizeof f->device, "/dev/vdb");
    f->percent = 1;
    s->net.bytes_sent = 1000;
    s->net.bytes_recv = 2000;
    s->net.rx_bps = 3;
    s->net.tx_bps = 4;
    struct sm_iface *i = sm_sample_add_iface(s);
    snprintf(i->name, sizeof i->name, "eth0");
    i->rx_bps = 5;
    i->tx_bps = (double)NAN; /* not finite: skipped */
}

static const char want_all[] = "cpu.usage=12.5\n"
                               "cpu.core.usage{core=0}=10\n"
                               "cpu.core.freq_mhz{core=0}=2400\n"
                               "cpu.core.usage{core=2}=30\n"
                               "load.1=0.5\n"
                               "load.5=0.25\n"
                               "load.15=0.125\n"
                               "mem.used_percent=50\n"
                               "mem.used=4\n"
                               "mem.available=4\n"
                               "mem.total=8\n"
                               "fs.used_percent{mount=/}=40\n"
                               "fs.used{mount=/}=40\n"
                               "fs.total{mount=/}=100\n"
                               "fs.used_percent{mount=/dev/vdb}=1\n"
                               "fs.used{mount=/dev/vdb}=0\n"
                               "fs.total{mount=/dev/vdb}=0\n"
                               "net.bytes_sent=1000\n"
                               "net.bytes_recv=2000\n"
                               "net.rx_bytes_per_s=3\n"
                               "net.tx_bytes_per_s=4\n"
                               "net.rx_bytes_per_s{iface=eth0}=5\n";

static const char want_live[] = "cpu.usage=12.5\n"
                                "cpu.core.usage{core=0}=10\n"
                                "cpu.core.freq_mhz{core=0}=2400\n"
                                "cpu.core.usage{core=2}=30\n"
                                "load.1=0.5\n"
                                "load.5=0.25\n"
                                "load.15=0.125\n"
                                "mem.used_percent=50\n"
                                "mem.used=4\n"
                                "fs.used_percent{mount=/}=40\n"
                                "fs.used_percent{mount=/dev/vdb}=1\n"
                                "net.rx_bytes_per_s=3\n"
                                "net.tx_bytes_per_s=4\n"
                                "net.rx_bytes_per_s{iface=eth0}=5\n";

static void
test_walk(void)
{
    struct sm_sample s;
    sm_sample_init(&s);
    fill(&s);
    struct got g = {.n = 0};
    sm_series_each(&s, 0, collect, &g);
    if (!ok(strcmp(g.text, want_all) == 0, "every row, in table order, absent values skipped"))
        diag("got:\n%s", g.text);
    g.n = 0;
    g.text[0] = '\0';
    sm_series_each(&s, SM_SERIES_LIVE, collect, &g);
    if (!ok(strcmp(g.text, want_live) == 0, "the live rows only"))
        diag("got:\n%s", g.text);
    /* A section's bit gone: its rows give nothing. */
    s.have &= ~(unsigned)SM_HAVE_LOAD;
    g.n = 0;
    g.text[0] = '\0';
    sm_series_each(&s, 0, collect, &g);
    ok(strstr(g.text, "load.") == NULL, "no load bit: no load series");
    /* A member the sample misses: its row gives nothing, the others still do. */
    s.missing = SM_MISS_NET_RX_RATE | SM_MISS_MEM_TOTAL;
    g.n = 0;
    g.text[0] = '\0';
    sm_series_each(&s, 0, collect, &g);
    ok(strstr(g.text, "net.rx_bytes_per_s=") == NULL && strstr(g.text, "mem.total") == NULL &&
           strstr(g.text, "net.tx_bytes_per_s=4\n") != NULL &&
           strstr(g.text, "net.rx_bytes_per_s{iface=eth0}=5\n") != NULL &&
           strstr(g.text, "mem.used=4\n") != NULL,
       "a missing member has no series, its neighbours do");
    s.missing = 0;
    /* An empty sample: nothing, and no list is read. */
    sm_sample_clear(&s);
    g.n = 0;
    g.text[0] = '\0';
    sm_series_each(&s, 0, collect, &g);
    ok(g.n == 0, "an empty sample has no series");
    sm_sample_done(&s);
}

static void
test_table(void)
{
    int dup = 0, named = 1;
    for (size_t i = 0; i < sm_series_count; i++) {
        const struct sm_series_def *a = &sm_series_table[i];
        if (a->name == NULL || strlen(a->name) == 0)
            named = 0;
        for (size_t j = i + 1; j < sm_series_count; j++)
            if (strcmp(a->name, sm_series_table[j].name) == 0 && a->over == sm_series_table[j].over)
                dup = 1;
    }
    ok(named, "every row has a name");
    ok(!dup, "no (name, list) pair twice");
    /* Rows over one list are consecutive (the walker groups them). */
    int split = 0;
    for (size_t i = 0; i < sm_series_count; i++)
        for (size_t j = i + 2; j < sm_series_count; j++)
            if (sm_series_table[i].over != SM_OVER_HOST &&
                sm_series_table[j].over == sm_series_table[i].over &&
                sm_series_table[j - 1].over != sm_series_table[i].over)
                split = 1;
    ok(!split, "the rows of each list are together");
}

static void
test_format_lookup(void)
{
    char buf[64];
    const struct sm_series_def *d = sm_series_lookup("cpu.core.usage{core=3}");
    ok(d != NULL && strcmp(d->name, "cpu.core.usage") == 0 && d->over == SM_OVER_CORE,
       "lookup strips the labels");
    ok(d != NULL && d->unit == SM_UNIT_PERCENT, "cpu.core.usage is a percentage");
    ok(strcmp(sm_series_format(buf, sizeof buf, d, "3"), "cpu.core.usage{core=3}") == 0,
       "format with a label");
    d = sm_series_lookup("load.15");
    ok(d != NULL && d->unit == SM_UNIT_NONE && d->over == SM_OVER_HOST, "load.15");
    ok(strcmp(sm_series_format(buf, sizeof buf, d, NULL), "load.15") == 0, "format without one");
    d = sm_series_lookup("fs.used{mount=/}");
    ok(d != NULL && d->unit == SM_UNIT_BYTES, "fs.used is bytes");
    d = sm_series_lookup("net.rx_bytes_per_s{iface=eth0}");
    ok(d != NULL && d->unit == SM_UNIT_BYTES_PER_S, "net.rx_bytes_per_s is a rate");
    ok(sm_series_lookup("cpu") == NULL, "a prefix is not a name");
    ok(sm_series_lookup("cpu.usagex") == NULL, "nor is a longer name");
    ok(sm_series_lookup("") == NULL, "nor the empty name");
    d = sm_series_lookup("fs.used_percent");
    char small[12];
    sm_series_format(small, sizeof small, d, "/very/long/mount");
    ok(strcmp(small, "fs.used_per") == 0, "format truncates to the buffer");
    ok(strcmp(sm_series_label_key(SM_OVER_IFACE), "iface") == 0 &&
           sm_series_label_key(SM_OVER_HOST) == NULL,
       "label keys");
}

int
main(void)
{
    test_table();
    test_walk();
    test_format_lookup();
    return tap_done();
}
