/* bench_host.c: frame time of smtop's host view for a 64-core host with an hour of
 * history (per-core sparklines and the CPU graph drawn from the rings), beside a
 * baseline measured in the same run: the same screen's text put with plain curses calls.
 * Both go through ncurses to /dev/null on a 160x50 xterm; every frame has a new sample. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_curses.h"
#include "clock.h"
#include "model.h"
#include "views.h"
#include "widget.h"

#define CORES 64
#define FRAMES 400
#define HISTORY 3600

/* The host view opens the history view through these (ui.c); the bench needs neither. */
int
key_lookup(const struct key_binding *table, int key)
{
    for (const struct key_binding *k = table; k && k->name; k++)
        if (k->key == key)
            return k->action;
    return -1;
}

int
ui_open_view(struct ui *ui, const char *name)
{
    (void)ui;
    (void)name;
    return 0;
}

static void
feed(struct model *m, struct sm_sample *s, int i)
{
    sm_sample_clear(s);
    s->timestamp = 1.8e9 + i;
    s->have = SM_HAVE_CPU | SM_HAVE_CPU_BREAKDOWN | SM_HAVE_LOAD | SM_HAVE_FREQ | SM_HAVE_MEM |
              SM_HAVE_SWAP | SM_HAVE_DISK_IO | SM_HAVE_NET;
    s->cpu.usage = (i * 7) % 100;
    s->cpu.user = s->cpu.usage * 0.7;
    s->cpu.system = s->cpu.usage * 0.3;
    s->cpu.freq_cur = 3000;
    struct sm_core *c = sm_sample_cores(s, CORES);
    for (int k = 0; k < CORES; k++)
        c[k] = (struct sm_core){
            .usage = (double)((i + k * 11) % 100), .freq_mhz = 2000 + (i + k) % 1500, .online = 1};
    s->cpu.load[0] = 3.5;
    s->mem.total = 64ULL << 30;
    s->mem.used = (uint64_t)(i % 64) << 30;
    s->mem.used_percent = (double)(i % 64) / 64 * 100;
    for (int f = 0; f < 4; f++) {
        struct sm_fs *fs = sm_sample_add_fs(s);
        snprintf(fs->mount, sizeof fs->mount, "/data%d", f);
        snprintf(fs->device, sizeof fs->device, "/dev/nvme%dn1", f);
        snprintf(fs->fstype, sizeof fs->fstype, "ext4");
        fs->total = 1ULL << 40;
        fs->percent = (double)((i + f * 20) % 100);
    }
    for (int d = 0; d < 4; d++) {
        struct sm_disk *dk = sm_sample_add_disk(s);
        snprintf(dk->name, sizeof dk->name, "nvme%dn1", d);
        dk->read_bps = i * 1000.0;
        dk->busy_percent = (double)((i + d) % 100);
    }
    for (int n = 0; n < 3; n++) {
        struct sm_iface *f = sm_sample_add_iface(s);
        snprintf(f->name, sizeof f->name, "eth%d", n);
        f->rx_bps = i * 100.0;
    }
    model_add_sample(m, 0, s);
}

int
main(void)
{
    struct bench_term term;
    if (bench_term_start(&term, "bench_host") != 0)
        return 0;
    struct smtop_opts opts = {.delay = 1};
    struct ui ui;
    memset(&ui, 0, sizeof ui);
    ui.opts = &opts;
    ui.delay = 1;
    ui.model = model_new(7 * 86400);
    theme_init(&ui.theme, GRAPH_AUTO);
    struct sm_sample s;
    sm_sample_init(&s);
    for (int i = 0; i < HISTORY; i++)
        feed(ui.model, &s, i);
    struct widget *v = view_host_new(&ui);

    double t0 = sm_mono_now();
    for (int f = 0; f < FRAMES; f++) {
        feed(ui.model, &s, HISTORY + f);
        ui.now = 1.8e9 + HISTORY + f;
        werase(stdscr);
        widget_resize(v, 0, 0, LINES - 1, COLS);
        widget_draw(v, stdscr, &ui);
        wnoutrefresh(stdscr);
        doupdate();
    }
    double host = (sm_mono_now() - t0) / FRAMES * 1e3;
    /* Feeding the model is the source's work, not the frame's: time it alone. */
    t0 = sm_mono_now();
    for (int f = 0; f < FRAMES; f++)
        feed(ui.model, &s, HISTORY + FRAMES + f);
    double feeding = (sm_mono_now() - t0) / FRAMES * 1e3;
    host -= feeding;

    /* Baseline: a full screen of rows of the same width, the text already made. */
    char line[256];
    t0 = sm_mono_now();
    for (int f = 0; f < FRAMES; f++) {
        werase(stdscr);
        for (int y = 0; y < LINES - 1; y++) {
            snprintf(line, sizeof line,
                     "cpu%-3d [||||||||||||||||||||        %5.1f%% %4dMHz]  cpu%-3d [|||||||||| "
                     "          %5.1f%% %4dMHz]",
                     y, (double)((f + y * 11) % 100), 2000 + (f + y) % 1500, y + 32,
                     (double)((f + y * 7) % 100), 2000 + (f + y * 3) % 1500);
            mvaddnstr(y, 0, line, COLS);
        }
        wnoutrefresh(stdscr);
        doupdate();
    }
    double base = (sm_mono_now() - t0) / FRAMES * 1e3;
    bench_term_stop(&term);
    widget_free(v);
    sm_sample_done(&s);
    model_free(ui.model);
    printf("bench_host: host view, %d cores with %d s of history, 160x50: %.3f ms/frame "
           "(model feed %.3f ms/sample apart); plain curses text of the same screen: "
           "%.3f ms/frame; ratio %.2fx\n",
           CORES, HISTORY, host, feeding, base, host / base);
    return 0;
}
