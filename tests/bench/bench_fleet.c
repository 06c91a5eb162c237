/* bench_fleet.c: frame time of smtop's fleet view with 200 agents (target <= 5 ms),
 * beside a baseline measured in the same run: the same screen's text put with plain
 * curses calls (no model, no sorting, no formatting). Both go through ncurses to
 * /dev/null on a 160x50 xterm, and every frame changes every agent's figures. Frames
 * are timed in CPU time of this thread (the machine is shared), feeding the model is
 * outside the timed part, and the figure is the median of 5 runs of 100 frames. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_curses.h"
#include "clock.h"
#include "model.h"
#include "views.h"
#include "widget.h"

#define HOSTS 200
#define FRAMES 100
#define RUNS 5
#define TARGET_MS 5.0

static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void
feed(struct model *m, int frame)
{
    struct sm_sample s;
    sm_sample_init(&s);
    for (int h = 1; h <= HOSTS; h++) {
        sm_sample_clear(&s);
        s.timestamp = 1.8e9 + frame;
        s.have = SM_HAVE_CPU | SM_HAVE_LOAD | SM_HAVE_MEM | SM_HAVE_NET;
        s.cpu.usage = (h * 7 + frame * 3) % 100;
        struct sm_core *c = sm_sample_cores(&s, 8);
        s.cpu.ncores = 8;
        for (int k = 0; k < 8; k++) {
            memset(&c[k], 0, sizeof c[k]);
            c[k].online = 1;
            c[k].usage = (h + k * 11 + frame) % 100;
            c[k].freq_mhz = 2000 + k;
        }
        s.cpu.load[0] = (h % 13) / 3.0;
        s.mem.used_percent = (h * 5 + frame) % 100;
        for (int f = 0; f < 3; f++) {
            struct sm_fs *fs = sm_sample_add_fs(&s);
            memset(fs, 0, sizeof *fs);
            snprintf(fs->mount, sizeof fs->mount, "/data%d", f);
            fs->percent = (h * 3 + f * 20 + frame) % 100;
        }
        s.net.rx_bps = h * 1000.0 + frame;
        s.net.tx_bps = h * 500.0 + frame;
        model_add_sample(m, h, &s);
        if (frame == 0) {
            char name[32];
            snprintf(name, sizeof name, "host-%03d.example.net", h);
            model_set_name(m, h, name);
        }
    }
    sm_sample_done(&s);
}

int
main(void)
{
    struct bench_term term;
    if (bench_term_start(&term, "bench_fleet") != 0)
        return 0;
    struct smtop_opts opts = {.delay = 1, .server = "http://bench:8001"};
    struct ui ui;
    memset(&ui, 0, sizeof ui);
    ui.opts = &opts;
    ui.model = model_new(600);
    ui.host_id = -1;
    theme_init(&ui.theme, GRAPH_AUTO);
    struct widget *v = view_fleet_new(&ui);
    widget_resize(v, 0, 0, LINES - 1, COLS);
    feed(ui.model, 0);

    /* The fleet view: model -> rows -> sort -> format -> curses -> terminal. */
    double fleet_runs[RUNS], base_runs[RUNS];
    int frame = 1;
    for (int r = 0; r < RUNS; r++) {
        double spent = 0;
        for (int f = 0; f < FRAMES; f++, frame++) {
            feed(ui.model, frame);
            ui.now = 1.8e9 + frame;
            double t0 = cpu_now();
            werase(stdscr);
            widget_draw(v, stdscr, &ui);
            wnoutrefresh(stdscr);
            doupdate();
            spent += cpu_now() - t0;
        }
        fleet_runs[r] = spent / FRAMES * 1e3;
    }
    /* Baseline: the same number of rows of the same width, text already made. */
    static char lines[60][256];
    for (int r = 0; r < RUNS; r++) {
        double spent = 0;
        for (int f = 0; f < FRAMES; f++, frame++) {
            for (int y = 0; y < LINES - 1 && y < 60; y++)
                snprintf(lines[y], sizeof lines[y],
                         "host-%03d.example.net  online %5.1f %5.2f %5.1f %5.1f %7d", y,
                         (double)((y * 7 + frame * 3) % 100), (y % 13) / 3.0,
                         (double)((y * 5 + frame) % 100), (double)((y * 3 + frame) % 100),
                         y * 1000 + frame);
            double t0 = cpu_now();
            werase(stdscr);
            for (int y = 0; y < LINES - 1 && y < 60; y++)
                mvaddnstr(y, 0, lines[y], COLS);
            wnoutrefresh(stdscr);
            doupdate();
            spent += cpu_now() - t0;
        }
        base_runs[r] = spent / FRAMES * 1e3;
    }
    double fleet = median(fleet_runs, RUNS), base = median(base_runs, RUNS);
    bench_term_stop(&term);
    widget_free(v);
    model_free(ui.model);
    printf("bench_fleet: fleet view, %d agents, 160x50: %.3f ms/frame (target <= %.1f ms); "
           "plain curses text of the same screen: %.3f ms/frame; ratio %.2fx%s\n",
           HOSTS, fleet, TARGET_MS, base, fleet / base, fleet <= TARGET_MS ? "" : "  OVER TARGET");
    return 0;
}
