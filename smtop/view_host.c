/* view_host.c: one host: every core with its frequency and history, memory, filesystems,
 * disks, interfaces, facts and uptime; temperatures, fans, pressure, GPUs and the process
 * panel where the host has them (this machine's in local mode, the agent's latest sample's
 * in server mode). Lines scroll when the terminal is short; the selected line's metric
 * opens in the history view with Enter. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/depth.h"
#include "format.h"
#include "procs_panel.h"
#include "source_remote.h"
#include "views.h"
#include "xmalloc.h"

/* Narrowest cell for one core: "cpu12 [||||  100.0% 3600MHz] sparkline". */
#define CORE_CELL_MIN 38
/* A cell wide enough for a 14-column sparkline. */
#define CORE_CELL_WIDE 56
#define CORES_PER_ROW_MAX 4

enum line_kind {
    L_FACTS,
    L_CPU,
    L_CORES,
    L_LOAD,
    L_MEM,
    L_SWAP,
    L_BLANK,
    L_FS_HEAD,
    L_FS,
    L_DISK_HEAD,
    L_DISK,
    L_NET_HEAD,
    L_NET,
    L_TEMP,
    L_FAN,
    L_PSI,
    L_GPU,
};

struct line {
    enum line_kind kind;
    size_t idx; /* core (first of the row), filesystem, disk or interface */
};

enum host_action { H_UP, H_DOWN, H_PGUP, H_PGDN, H_HOME, H_END, H_OPEN };

const struct key_binding host_keys[] = {
    {KEY_UP, "Up", H_UP, "select the line above"},
    {KEY_DOWN, "Down", H_DOWN, "select the line below"},
    {KEY_PPAGE, "PgUp", H_PGUP, "scroll up a page"},
    {KEY_NPAGE, "PgDn", H_PGDN, "scroll down a page"},
    {KEY_HOME, "Home", H_HOME, "go to the top"},
    {KEY_END, "End", H_END, "go to the bottom"},
    {'\n', "Enter", H_OPEN, "show the history of the selected metric"},
    {KEY_ENTER, "Enter", H_OPEN, NULL},
    {'\r', "Enter", H_OPEN, NULL},
    {0, NULL, 0, NULL},
};

static const struct table_col fs_cols[] = {
    {"Filesystem", 18, 0}, {"Device", 14, 0}, {"Type", 6, 0}, {"Size", 6, 1},
    {"Used", 6, 1},        {"Use%", 6, 1},    {"", 0, 0},
};
static const struct table_col disk_cols[] = {
    {"Disk", 12, 0}, {"Read/s", 9, 1}, {"Write/s", 9, 1}, {"Busy%", 6, 1}, {"", 0, 0},
};
static const struct table_col net_cols[] = {
    {"Interface", 14, 0},
    {"Rx/s", 9, 1},
    {"Tx/s", 9, 1},
    {"", 0, 0},
};

struct host_view {
    struct widget w;
    struct line *lines;
    size_t nlines, cap;
    size_t sel; /* index into lines (a selectable one) */
    size_t top; /* first line shown */
    size_t per_row;
    const struct model_host *cur; /* the host being drawn (for the table callbacks) */
    struct meter *meter;
    struct graph *spark;
    struct graph *graph; /* total CPU under the lines when there is room */
    struct table *fs, *disks, *nets;
    struct procs_panel *procs; /* the process panel under the lines (no signals remotely) */
    unsigned long depth_gen;   /* the depth generation the panel was fed at */
    /* This frame's host depth: this machine's latest read (local mode) or the agent's
     * latest sample's (server mode); NULL when there is none. */
    const struct sm_depth_sample *depth;
    unsigned long depth_now; /* its generation */
    int show_procs;          /* the panel is shown: local mode, or the sample lists processes */
    int remote;              /* server mode */
    int lines_h;             /* rows of the lines (the rest is the panel's) */
    int side_w;              /* columns right of the meters taken by the CPU graph (0: none) */
};

/* Rows the process panel keeps at least, when the screen has them. */
#define PANEL_MIN_ROWS 10

/* Lines that open a history graph with Enter; the host depth ones in server mode only
 * (the server stores their series, local mode keeps none). */
static int
selectable(const struct host_view *v, enum line_kind k)
{
    if (k == L_TEMP || k == L_FAN || k == L_PSI || k == L_GPU)
        return v->remote;
    return k == L_CPU || k == L_CORES || k == L_LOAD || k == L_MEM || k == L_SWAP || k == L_FS ||
           k == L_DISK || k == L_NET;
}

static void
add_line(struct host_view *v, enum line_kind kind, size_t idx)
{
    v->lines = sm_xgrow(v->lines, &v->cap, v->nlines + 1, sizeof *v->lines);
    v->lines[v->nlines++] = (struct line){kind, idx};
}

/* This frame's host depth into v->depth, and whether the process panel shows. An
 * agent of the original system sends none: its host view has the lines only. */
static void
fetch_depth(struct host_view *v, const struct ui *ui)
{
    if (ui->remote == NULL) {
        v->depth = ui->depth;
        v->depth_now = ui->depth_gen;
        v->show_procs = v->procs != NULL;
        return;
    }
    v->depth = source_remote_depth(ui->remote, ui->host_id, &v->depth_now);
    v->show_procs =
        v->procs != NULL && v->depth != NULL && (v->depth->have & (1u << SM_DEPTH_PROCS));
}

/* The lines of host h at the view's width. */
static void
build(struct host_view *v, const struct model_host *h, const struct ui *ui)
{
    v->nlines = 0;
    add_line(v, L_FACTS, 0);
    if (h == NULL || !h->have_last)
        return;
    const struct sm_sample *s = &h->last;
    if (s->have & SM_HAVE_CPU) {
        add_line(v, L_CPU, 0);
        /* Wide cells (with a sparkline) unless that makes the cores taller than the
         * screen; never more cells per row than cores. */
        size_t n0 = s->cpu.ncores ? s->cpu.ncores : 1;
        size_t per = (size_t)(v->w.w / CORE_CELL_WIDE);
        if (per < 1)
            per = 1;
        size_t most = (size_t)(v->w.w / CORE_CELL_MIN);
        if (most < 1)
            most = 1;
        size_t room = v->w.h > 12 ? (size_t)v->w.h - 12 : 1;
        while (per < most && (n0 + per - 1) / per > room)
            per++;
        if (per > CORES_PER_ROW_MAX)
            per = CORES_PER_ROW_MAX;
        if (per > n0)
            per = n0;
        v->per_row = per;
        size_t n = s->cpu.ncores;
        size_t rows = (n + per - 1) / per;
        for (size_t r = 0; r < rows; r++)
            add_line(v, L_CORES, r);
    }
    /* Load and swap have a line whenever CPU and memory do: an absent value reads "–". */
    if (s->have & (SM_HAVE_LOAD | SM_HAVE_CPU))
        add_line(v, L_LOAD, 0);
    if (s->have & SM_HAVE_MEM)
        add_line(v, L_MEM, 0);
    if (s->have & (SM_HAVE_SWAP | SM_HAVE_MEM))
        add_line(v, L_SWAP, 0);
    /* Temperatures, fans, pressure and GPUs where the host has them. */
    const struct sm_depth_sample *d = v->depth;
    (void)ui;
    if (d != NULL) {
        for (size_t i = 0; i < d->sensors.n; i++)
            if (d->sensors.v[i].kind == SM_SENSOR_TEMP) {
                add_line(v, L_TEMP, 0);
                break;
            }
        for (size_t i = 0; i < d->sensors.n; i++)
            if (d->sensors.v[i].kind == SM_SENSOR_FAN) {
                add_line(v, L_FAN, 0);
                break;
            }
        if (d->have & (1u << SM_DEPTH_PSI))
            add_line(v, L_PSI, 0);
        for (size_t i = 0; i < d->gpus.n; i++)
            add_line(v, L_GPU, i);
    }
    if (s->nfs > 0) {
        add_line(v, L_BLANK, 0);
        add_line(v, L_FS_HEAD, 0);
        for (size_t i = 0; i < s->nfs; i++)
            add_line(v, L_FS, i);
    }
    if (s->ndisks > 0) {
        add_line(v, L_BLANK, 0);
        add_line(v, L_DISK_HEAD, 0);
        for (size_t i = 0; i < s->ndisks; i++)
            add_line(v, L_DISK, i);
    }
    if (s->net.nifaces > 0) {
        add_line(v, L_BLANK, 0);
        add_line(v, L_NET_HEAD, 0);
        for (size_t i = 0; i < s->net.nifaces; i++)
            add_line(v, L_NET, i);
    }
}

/* Keep the selection on a selectable line and on screen. */
static void
fix_selection(struct host_view *v, int dir)
{
    if (v->nlines == 0) {
        v->sel = v->top = 0;
        return;
    }
    if (v->sel >= v->nlines)
        v->sel = v->nlines - 1;
    while (!selectable(v, v->lines[v->sel].kind)) {
        if (dir >= 0 && v->sel + 1 < v->nlines)
            v->sel++;
        else if (v->sel > 0) {
            v->sel--;
            dir = -1;
        } else
            break;
    }
    int h = v->lines_h > 0 ? v->lines_h : v->w.h;
    size_t rows = h > 0 ? (size_t)h : 1;
    if (v->sel < v->top)
        v->top = v->sel;
    /* Show a section's header with its first row. */
    if (v->sel == v->top && v->top > 0 && !selectable(v, v->lines[v->top - 1].kind) &&
        v->lines[v->top - 1].kind != L_FACTS)
        v->top--;
    if (v->top > 0 && v->sel <= 1)
        v->top = 0;
    if (v->sel >= v->top + rows)
        v->top = v->sel - rows + 1;
    if (v->top + rows > v->nlines)
        v->top = v->nlines > rows ? v->nlines - rows : 0;
}

/* The series name of line l (for Enter). */
static void
line_series(const struct host_view *v, const struct line *l, char *buf, size_t len)
{
    const struct sm_sample *s = &v->cur->last;
    switch (l->kind) {
    case L_CPU:
        snprintf(buf, len, "cpu.usage");
        break;
    case L_CORES:
        snprintf(buf, len, "cpu.core.usage{core=%zu}", l->idx * v->per_row);
        break;
    case L_LOAD:
        snprintf(buf, len, "load.1");
        break;
    case L_MEM:
        snprintf(buf, len, "mem.used_percent");
        break;
    case L_SWAP:
        snprintf(buf, len, "swap.used_percent");
        break;
    case L_FS:
        snprintf(buf, len, "fs.used_percent{mount=%s}",
                 s->fs[l->idx].mount[0] ? s->fs[l->idx].mount : s->fs[l->idx].device);
        break;
    case L_DISK:
        snprintf(buf, len, "disk.busy_percent{dev=%s}", s->disks[l->idx].name);
        break;
    case L_NET:
        snprintf(buf, len, "net.rx_bytes_per_s{iface=%s}", s->net.ifaces[l->idx].name);
        break;
    case L_TEMP:
    case L_FAN: {
        /* The hottest temperature (as the meter shows it), the first fan. */
        const struct sm_sample_sensor *pick = NULL;
        const char *kind = l->kind == L_TEMP ? "temp" : "fan";
        for (size_t i = 0; i < s->nsensors; i++) {
            const struct sm_sample_sensor *e = &s->sensors[i];
            if (strcmp(e->kind, kind) == 0 &&
                (pick == NULL || (l->kind == L_TEMP && e->celsius > pick->celsius)))
                pick = e;
        }
        if (pick != NULL)
            snprintf(buf, len, "%s{sensor=%s/%s}", l->kind == L_TEMP ? "temp.celsius" : "fan.rpm",
                     pick->chip, pick->label);
        else
            buf[0] = '\0';
        break;
    }
    case L_PSI:
        snprintf(buf, len, "psi.cpu.some_avg10");
        break;
    case L_GPU:
        if (l->idx < s->ngpus)
            snprintf(buf, len, "gpu.busy_percent{gpu=%s}",
                     s->gpus[l->idx].id[0] ? s->gpus[l->idx].id : s->gpus[l->idx].name);
        else
            buf[0] = '\0';
        break;
    default:
        buf[0] = '\0';
    }
}

static void
bar_text(char *buf, size_t len, double percent, int width)
{
    int n = (int)lround(percent / 100.0 * width);
    if (n < 0)
        n = 0;
    if (n > width)
        n = width;
    if ((size_t)n >= len)
        n = (int)len - 1;
    memset(buf, '|', (size_t)n);
    buf[n] = '\0';
}

static void
fs_cell(void *arg, size_t row, size_t col, char *buf, size_t len, attr_t *attr)
{
    const struct host_view *v = arg;
    const struct sm_fs *f = &v->cur->last.fs[row];
    (void)attr;
    switch (col) {
    case 0:
        snprintf(buf, len, "%s", f->mount);
        break;
    case 1:
        snprintf(buf, len, "%s", f->device);
        break;
    case 2:
        snprintf(buf, len, "%s", f->fstype);
        break;
    case 3:
        fmt_bytes(buf, len, (double)f->total);
        break;
    case 4:
        fmt_bytes(buf, len, (double)f->used);
        break;
    case 5:
        snprintf(buf, len, "%.1f", f->percent);
        break;
    default:
        bar_text(buf, len, f->percent, 20);
        *attr = f->percent >= 90 ? A_BOLD : 0;
    }
}

static void
disk_cell(void *arg, size_t row, size_t col, char *buf, size_t len, attr_t *attr)
{
    const struct host_view *v = arg;
    const struct sm_disk *d = &v->cur->last.disks[row];
    (void)attr;
    switch (col) {
    case 0:
        snprintf(buf, len, "%s", d->name);
        break;
    case 1:
        fmt_rate(buf, len, d->read_bps);
        break;
    case 2:
        fmt_rate(buf, len, d->write_bps);
        break;
    case 3:
        snprintf(buf, len, "%.1f", d->busy_percent);
        break;
    default:
        bar_text(buf, len, d->busy_percent, 20);
    }
}

static void
net_cell(void *arg, size_t row, size_t col, char *buf, size_t len, attr_t *attr)
{
    const struct host_view *v = arg;
    const struct sm_iface *f = &v->cur->last.net.ifaces[row];
    (void)attr;
    switch (col) {
    case 0:
        snprintf(buf, len, "%s", f->name);
        break;
    case 1:
        fmt_rate(buf, len, f->rx_bps);
        break;
    case 2:
        fmt_rate(buf, len, f->tx_bps);
        break;
    default:
        buf[0] = '\0';
    }
}

/* A meter at (y, x, width) with its label drawn selected when sel is set. */
static void
draw_meter(struct host_view *v, WINDOW *win, const struct ui *ui, int y, int x, int wd,
           const char *label, double pct, const char *text, int sel)
{
    meter_set(v->meter, "", pct, text);
    int lw = (int)strlen(label);
    put_text(win, y, x, wd, sel ? ui->theme.select : ui->theme.label, label);
    widget_resize(&v->meter->w, y, x + lw, 1, wd - lw);
    widget_draw(&v->meter->w, win, ui);
}

static void
draw_facts(const struct host_view *v, WINDOW *win, const struct ui *ui, int y)
{
    const struct model_host *h = v->cur;
    const struct theme *th = &ui->theme;
    int x = v->w.x, end = v->w.x + v->w.w;
    if (h == NULL) {
        put_text(win, y, x, end - x, th->dim, "no such host");
        return;
    }
    char up[32] = "?";
    if (h->have_facts && h->facts.boot_time > 0)
        fmt_duration(up, sizeof up, ui->now - (double)h->facts.boot_time);
    x += put_text(win, y, x, end - x, th->title, h->name[0] ? h->name : "?");
    /* Server mode: an agent that stopped reporting says so, with when it was last seen. */
    if (ui->remote && !h->online) {
        char ago[32] = "never";
        if (h->last_seen > 0)
            fmt_duration(ago, sizeof ago, ui->now - h->last_seen);
        x += put_fmt(win, y, x, end - x, th->offline, "  OFFLINE, last seen %s%s", ago,
                     h->last_seen > 0 ? " ago" : "");
    }
    /* Server mode: the host's firing alerts, the worst named. */
    const struct model_alert *worst;
    size_t nal = ui->remote ? model_alerts_of(ui->model, h->id, 0, &worst) : 0;
    if (nal) {
        attr_t a = strcmp(worst->severity, "critical") == 0 ? th->crit | A_BOLD : th->warn | A_BOLD;
        x += put_fmt(win, y, x, end - x, a, "  ALERT %s: %s (%s%s%s%s)", worst->severity,
                     worst->name, worst->metric, worst->labels[0] ? "{" : "", worst->labels,
                     worst->labels[0] ? "}" : "");
        if (nal > 1)
            x += put_fmt(win, y, x, end - x, a, " +%zu more", nal - 1);
    }
    if (h->have_facts)
        x += put_fmt(win, y, x, end - x, th->normal, "  %s  %s  %s  %d cores  %s", h->facts.os,
                     h->facts.kernel, h->facts.arch, h->facts.cores, h->facts.cpu_model);
    char right[64];
    snprintf(right, sizeof right, " up %s ", up);
    int rl = (int)strlen(right);
    if (end - rl > v->w.x + 20)
        put_text(win, y, end - rl, rl, th->title, right);
    if (!h->have_last)
        put_text(win, y + 1 < v->w.y + v->w.h ? y + 1 : y, v->w.x, v->w.w, th->dim,
                 "waiting for the first sample...");
}

static void
draw_cores(struct host_view *v, WINDOW *win, const struct ui *ui, int y, size_t row, int sel)
{
    const struct sm_cpu *c = &v->cur->last.cpu;
    int cellw = v->w.w / (int)v->per_row;
    /* Sparkline: one braille dot column (or cell) per refresh. */
    int sw = cellw >= 52 ? 14 : cellw >= 44 ? 8 : 0;
    for (size_t k = 0; k < v->per_row; k++) {
        size_t i = row * v->per_row + k;
        if (i >= c->ncores)
            break;
        int x = v->w.x + (int)k * cellw;
        int wd = cellw - 1 - (sw ? sw + 1 : 0);
        char label[32], text[64], f[32];
        snprintf(label, sizeof label, "cpu%-3zu", i);
        const struct sm_core *core = &c->cores[i];
        if (!core->online) {
            put_text(win, y, x, wd, ui->theme.label, label);
            put_text(win, y, x + 6, wd - 6, ui->theme.dim, "offline");
            continue;
        }
        if (core->freq_mhz >= 0)
            snprintf(text, sizeof text, "%.1f%% %s", core->usage,
                     fmt_mhz(f, sizeof f, core->freq_mhz));
        else
            snprintf(text, sizeof text, "%.1f%%", core->usage);
        draw_meter(v, win, ui, y, x, wd, label, core->usage, text, sel && k == 0);
        if (sw) {
            char name[64];
            snprintf(name, sizeof name, "cpu.core.usage{core=%zu}", i);
            const struct model_series *ser = model_series_find(v->cur, name);
            struct graph *g = v->spark;
            g->ring = ser ? &ser->ring : NULL;
            snprintf(g->series, sizeof g->series, "%s", name);
            int sub = ui->theme.graph == GRAPH_BRAILLE ? 2 : 1;
            g->t1 = ui->now;
            g->t0 = ui->now - ui->delay * sw * sub;
            g->ymax = 100;
            g->step = ui->delay;
            widget_resize(&g->w, y, x + wd + 1, 1, sw);
            widget_draw(&g->w, win, ui);
        }
    }
}

/* Split the view: the lines on top, the process panel (local mode) under them with at
 * least PANEL_MIN_ROWS rows when the screen has twice that. */
static void
layout(struct host_view *v, const struct ui *ui)
{
    int h = v->w.h;
    v->lines_h = h;
    (void)ui;
    if (!v->show_procs)
        return;
    int pmin = h >= 2 * PANEL_MIN_ROWS ? PANEL_MIN_ROWS : h / 2;
    int lh = (int)v->nlines < h - pmin ? (int)v->nlines : h - pmin;
    v->lines_h = lh > 1 ? lh : 1;
}

/* Temperatures: the hottest input as a meter of its critical limit (100 C when the
 * kernel gives none), then the others as text. */
static void
draw_temp(struct host_view *v, WINDOW *win, const struct ui *ui, int y, int sel)
{
    const struct sm_sensor_list *l = &v->depth->sensors;
    const struct sm_sensor *hot = NULL;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].kind == SM_SENSOR_TEMP && (hot == NULL || l->v[i].value > hot->value))
            hot = &l->v[i];
    if (hot == NULL)
        return;
    double lim = hot->have_crit && hot->crit > 0 ? hot->crit : 100.0;
    char text[96];
    snprintf(text, sizeof text, "%.0f\u00b0C %s", hot->value, hot->label);
    int mw = v->w.w > 70 ? v->w.w / 2 : v->w.w;
    draw_meter(v, win, ui, y, v->w.x, mw - 1, "Temp  ", hot->value * 100.0 / lim, text, sel);
    int x = v->w.x + mw + 1, end = v->side_w ? x : v->w.x + v->w.w;
    for (size_t i = 0; i < l->n && x < end - 8; i++) {
        const struct sm_sensor *s = &l->v[i];
        if (s->kind != SM_SENSOR_TEMP || s == hot)
            continue;
        x += put_fmt(win, y, x, end - x,
                     s->have_high && s->value >= s->high ? ui->theme.warn : ui->theme.normal,
                     "%s %.0f\u00b0C  ", s->label, s->value);
    }
}

/* Fans: each as "label RPM", in the order of the sample. */
static void
draw_fans(const struct host_view *v, WINDOW *win, const struct ui *ui, int y, int x, int wd,
          int sel)
{
    const struct sm_sensor_list *l = &v->depth->sensors;
    int end = x + wd;
    x += put_text(win, y, x, wd, sel ? ui->theme.select : ui->theme.label, "Fans  ");
    for (size_t i = 0; i < l->n && x < end - 8; i++)
        if (l->v[i].kind == SM_SENSOR_FAN)
            x += put_fmt(win, y, x, end - x, ui->theme.normal, " %s %.0f RPM ", l->v[i].label,
                         l->v[i].value);
}

/* Pressure: the share of the last 10 s some task waited for CPU, memory or IO. */
static void
draw_psi(const struct host_view *v, WINDOW *win, const struct ui *ui, int y, int x, int wd, int sel)
{
    const struct sm_psi *p = &v->depth->psi;
    const struct theme *th = &ui->theme;
    int end = x + wd;
    x += put_text(win, y, x, wd, sel ? th->select : th->label, "PSI   ");
    for (int r = 0; r < SM_PSI_COUNT; r++) {
        if (!p->have[r] || !p->res[r].have_some)
            continue;
        double a = p->res[r].some.avg10;
        x += put_fmt(win, y, x, end - x, th->normal, " %s ", sm_psi_name((enum sm_psi_resource)r));
        x += put_fmt(win, y, x, end - x,
                     a >= 10  ? th->crit
                     : a >= 1 ? th->warn
                              : th->good,
                     "%.1f%%", a);
        if (p->res[r].have_full && wd > 90)
            x += put_fmt(win, y, x, end - x, th->dim, " (full %.1f%%)", p->res[r].full.avg10);
        x += put_text(win, y, x, end - x, th->normal, " ");
    }
    if (wd > 90)
        put_text(win, y, x, end - x, th->dim, "  some, avg10");
}

static void
draw_gpu(struct host_view *v, WINDOW *win, const struct ui *ui, int y, size_t i, int sel)
{
    if (i >= v->depth->gpus.n)
        return;
    const struct sm_gpu *g = &v->depth->gpus.v[i];
    char label[32], text[96], a[32], b[32];
    snprintf(label, sizeof label, "GPU%-2zu ", i);
    int n = 0;
    text[0] = '\0';
    if (g->have & SM_GPU_HAVE_BUSY)
        n += snprintf(text + n, sizeof text - (size_t)n, "%.0f%% ", g->busy_percent);
    if ((g->have & SM_GPU_HAVE_MEM) && n >= 0 && (size_t)n < sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, "%s/%s ",
                      fmt_bytes(a, sizeof a, (double)g->mem_used),
                      fmt_bytes(b, sizeof b, (double)g->mem_total));
    if ((g->have & SM_GPU_HAVE_TEMP) && n >= 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n, "%.0f\u00b0C", g->temp_c);
    int mw = v->w.w > 70 ? v->w.w / 2 : v->w.w;
    draw_meter(v, win, ui, y, v->w.x, mw - 1, label,
               (g->have & SM_GPU_HAVE_BUSY) ? g->busy_percent : 0, text, sel);
    if (mw < v->w.w && v->side_w == 0)
        put_fmt(win, y, v->w.x + mw + 1, v->w.w - mw - 1, ui->theme.normal, "%s %s", g->vendor,
                g->name);
}

static void
host_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct host_view *v = (struct host_view *)w;
    const struct theme *th = &ui->theme;
    v->cur = model_host_find(ui->model, ui->host_id);
    fetch_depth(v, ui);
    build(v, v->cur, ui);
    layout(v, ui);
    fix_selection(v, 1);
    if (v->show_procs && v->depth != NULL && v->depth_now != v->depth_gen) {
        v->depth_gen = v->depth_now;
        procs_panel_set(v->procs, v->depth->procs.v, v->depth->procs.n);
    }
    if (v->show_procs) {
        widget_resize(procs_panel_widget(v->procs), w->y + v->lines_h, w->x, w->h - v->lines_h,
                      w->w);
        widget_draw(procs_panel_widget(v->procs), win, ui);
    }
    if (v->cur == NULL) {
        draw_facts(v, win, ui, w->y);
        return;
    }
    const struct sm_sample *s = &v->cur->last;
    char a[32], b[32], text[96];
    /* With the process panel, the CPU history goes right of the meters from Load down
     * (the panel takes the room under the lines). */
    int side = v->show_procs && w->w > 90;
    v->side_w = side ? w->w / 2 : 0;
    int gy0 = -1, gy1 = -1;
    for (int r = 0; r < v->lines_h && v->top + (size_t)r < v->nlines; r++) {
        size_t li = v->top + (size_t)r;
        const struct line *l = &v->lines[li];
        int y = w->y + r, sel = li == v->sel;
        if (l->kind == L_LOAD || (gy0 >= 0 && gy1 == y - 1 &&
                                  (l->kind == L_MEM || l->kind == L_SWAP || l->kind == L_TEMP ||
                                   l->kind == L_FAN || l->kind == L_PSI || l->kind == L_GPU))) {
            if (gy0 < 0)
                gy0 = y;
            gy1 = y;
        }
        switch (l->kind) {
        case L_FACTS:
            draw_facts(v, win, ui, y);
            break;
        case L_CPU: {
            int mw = w->w > 70 ? w->w / 2 : w->w;
            snprintf(
                text, sizeof text, "%.1f%% %s", s->cpu.usage,
                fmt_mhz(a, sizeof a,
                        sm_sample_has(s, SM_HAVE_FREQ, SM_MISS_FREQ_CUR) ? s->cpu.freq_cur : -1));
            draw_meter(v, win, ui, y, w->x, mw - 1, "CPU   ", s->cpu.usage, text, sel);
            if (mw < w->w && (s->have & SM_HAVE_CPU_BREAKDOWN))
                put_fmt(win, y, w->x + mw + 1, w->w - mw - 1, th->normal,
                        "usr %.1f  sys %.1f  iowait %.1f  steal %.1f", s->cpu.user, s->cpu.system,
                        s->cpu.iowait, s->cpu.steal);
            break;
        }
        case L_CORES:
            draw_cores(v, win, ui, y, l->idx, sel);
            break;
        case L_LOAD: {
            int x = w->x;
            x += put_text(win, y, x, w->w, sel ? th->select : th->label, "Load  ");
            if (s->have & SM_HAVE_LOAD)
                x += put_fmt(win, y, x, w->x + w->w - x, th->normal, " %.2f %.2f %.2f",
                             s->cpu.load[0], s->cpu.load[1], s->cpu.load[2]);
            else
                x += put_fmt(win, y, x, w->x + w->w - x, th->dim, " %s", fmt_absent());
            if ((s->have & SM_HAVE_CPU_BREAKDOWN) && w->w <= 70)
                put_fmt(win, y, x, w->x + w->w - x, th->dim, "   usr %.0f sys %.0f io %.0f st %.0f",
                        s->cpu.user, s->cpu.system, s->cpu.iowait, s->cpu.steal);
            break;
        }
        case L_MEM:
            snprintf(
                text, sizeof text, "%s/%s",
                fmt_bytes_if(a, sizeof a, !(s->missing & SM_MISS_MEM_USED), (double)s->mem.used),
                fmt_bytes_if(b, sizeof b, !(s->missing & SM_MISS_MEM_TOTAL), (double)s->mem.total));
            draw_meter(v, win, ui, y, w->x, w->w > 90 ? w->w / 2 : w->w, "Mem   ",
                       s->mem.used_percent, text, sel);
            break;
        case L_SWAP:
            if (sm_sample_has(s, SM_HAVE_SWAP, SM_MISS_SWAP_PERCENT))
                snprintf(text, sizeof text, "%s/%s",
                         fmt_bytes(a, sizeof a, (double)s->mem.swap_used),
                         fmt_bytes(b, sizeof b, (double)s->mem.swap_total));
            else /* no swap, or not reported */
                snprintf(text, sizeof text, "%s", fmt_absent());
            draw_meter(v, win, ui, y, w->x, w->w > 90 ? w->w / 2 : w->w, "Swap  ",
                       sm_sample_has(s, SM_HAVE_SWAP, SM_MISS_SWAP_PERCENT) ? s->mem.swap_percent
                                                                            : 0,
                       text, sel);
            break;
        case L_TEMP:
            draw_temp(v, win, ui, y, sel);
            break;
        case L_FAN:
            draw_fans(v, win, ui, y, w->x, v->side_w ? v->side_w : w->w, sel);
            break;
        case L_PSI:
            draw_psi(v, win, ui, y, w->x, v->side_w ? v->side_w : w->w, sel);
            break;
        case L_GPU:
            draw_gpu(v, win, ui, y, l->idx, sel);
            break;
        case L_BLANK:
            break;
        case L_FS_HEAD:
            v->fs->nrows = s->nfs;
            widget_resize(&v->fs->w, y, w->x, 1, w->w);
            table_draw_header(v->fs, win, y, th);
            break;
        case L_FS:
            widget_resize(&v->fs->w, y, w->x, 1, w->w);
            table_draw_row(v->fs, win, y, l->idx, sel, th);
            break;
        case L_DISK_HEAD:
            widget_resize(&v->disks->w, y, w->x, 1, w->w);
            table_draw_header(v->disks, win, y, th);
            break;
        case L_DISK:
            widget_resize(&v->disks->w, y, w->x, 1, w->w);
            table_draw_row(v->disks, win, y, l->idx, sel, th);
            break;
        case L_NET_HEAD:
            widget_resize(&v->nets->w, y, w->x, 1, w->w);
            table_draw_header(v->nets, win, y, th);
            break;
        case L_NET:
            widget_resize(&v->nets->w, y, w->x, 1, w->w);
            table_draw_row(v->nets, win, y, l->idx, sel, th);
            break;
        }
    }
    /* Room left under the lines: the total CPU over the last refreshes. */
    if (side && gy0 >= 0 && gy1 - gy0 >= 3) {
        const struct model_series *cpu = model_series_find(v->cur, "cpu.usage");
        struct graph *g = v->graph;
        int gx = w->x + w->w / 2 + 1, gw = w->w - w->w / 2 - 1;
        int sub = th->graph == GRAPH_BRAILLE ? 2 : 1;
        g->ring = cpu ? &cpu->ring : NULL;
        snprintf(g->series, sizeof g->series, "cpu.usage");
        g->t1 = ui->now;
        g->t0 = ui->now - ui->delay * (gw - 9) * sub;
        g->ymax = 100;
        g->step = ui->delay;
        put_text(win, gy0, gx, gw, th->title, "CPU history");
        widget_resize(&g->w, gy0 + 1, gx, gy1 - gy0, gw);
        widget_draw(&g->w, win, ui);
    }
    int used = (int)(v->nlines - v->top);
    if (!v->show_procs && used < w->h - 6 && w->w >= 30) {
        const struct model_series *cpu = model_series_find(v->cur, "cpu.usage");
        struct graph *g = v->graph;
        int sub = th->graph == GRAPH_BRAILLE ? 2 : 1;
        g->ring = cpu ? &cpu->ring : NULL;
        snprintf(g->series, sizeof g->series, "cpu.usage");
        g->t1 = ui->now;
        g->t0 = ui->now - ui->delay * (w->w - 9) * sub;
        g->ymax = 100;
        g->step = ui->delay;
        put_text(win, w->y + used + 1, w->x, w->w, th->title, "CPU history");
        widget_resize(&g->w, w->y + used + 2, w->x, w->h - used - 2, w->w);
        widget_draw(&g->w, win, ui);
    }
    if (v->top + (size_t)v->lines_h < v->nlines && w->w > 12)
        put_fmt(win, w->y + v->lines_h - 1, w->x + w->w - 9, 9, th->dim, " more %s ",
                th->graph == GRAPH_ASCII ? "v" : "\u2193");
}

static int
host_key(struct widget *w, int key, struct ui *ui)
{
    struct host_view *v = (struct host_view *)w;
    fetch_depth(v, ui);
    if (v->show_procs) {
        /* The panel takes its own keys, every key while a prompt or menu is open, and
         * the arrows while it has the focus. */
        int nav = key == KEY_UP || key == KEY_DOWN || key == KEY_PPAGE || key == KEY_NPAGE ||
                  key == KEY_HOME || key == KEY_END;
        if (procs_panel_modal(v->procs) || (!nav && key_lookup(procs_keys, key) >= 0) ||
            (nav && procs_panel_focused(v->procs))) {
            int r = widget_key(procs_panel_widget(v->procs), key, ui);
            if (r)
                return r;
        }
        if (procs_panel_focused(v->procs) && key_lookup(host_keys, key) == H_OPEN)
            return HANDLED;
    }
    int action = key_lookup(host_keys, key);
    if (action < 0 && key != KEY_MOUSE)
        return 0;
    v->cur = model_host_find(ui->model, ui->host_id);
    build(v, v->cur, ui);
    if (key == KEY_MOUSE) {
        /* A click selects a line; a click on the selected line opens it. */
        if (v->show_procs) {
            int r = procs_panel_click(v->procs, ui->mouse_y, ui->mouse_x);
            if (r)
                return r;
        }
        if (ui->mouse_y < w->y || ui->mouse_y >= w->y + (v->lines_h > 0 ? v->lines_h : w->h))
            return 0;
        if (v->show_procs)
            procs_panel_focus(v->procs, 0);
        size_t li = v->top + (size_t)(ui->mouse_y - w->y);
        if (li >= v->nlines || !selectable(v, v->lines[li].kind))
            return HANDLED;
        if (li != v->sel) {
            v->sel = li;
            return HANDLED | REDRAW;
        }
        action = H_OPEN;
    }
    size_t page = w->h > 1 ? (size_t)w->h - 1 : 1;
    int dir = 1;
    switch (action) {
    case H_UP:
        /* Step over headers and blanks upwards. */
        while (v->sel > 0) {
            v->sel--;
            if (selectable(v, v->lines[v->sel].kind))
                break;
        }
        dir = -1;
        break;
    case H_DOWN:
        for (size_t i = v->sel + 1; i < v->nlines; i++) {
            if (selectable(v, v->lines[i].kind)) {
                v->sel = i;
                break;
            }
        }
        break;
    case H_PGUP:
        v->sel = v->sel > page ? v->sel - page : 0;
        dir = -1;
        break;
    case H_PGDN:
        v->sel += page;
        break;
    case H_HOME:
        v->sel = 0;
        break;
    case H_END:
        v->sel = v->nlines ? v->nlines - 1 : 0;
        dir = -1;
        break;
    case H_OPEN:
        if (v->cur == NULL || v->sel >= v->nlines)
            return HANDLED;
        line_series(v, &v->lines[v->sel], ui->history_series, sizeof ui->history_series);
        ui_open_view(ui, "history");
        return HANDLED | REDRAW;
    }
    fix_selection(v, dir);
    return HANDLED | REDRAW;
}

static void
host_free(struct widget *w)
{
    struct host_view *v = (struct host_view *)w;
    widget_free(&v->meter->w);
    widget_free(&v->spark->w);
    widget_free(&v->graph->w);
    widget_free(&v->fs->w);
    widget_free(&v->disks->w);
    widget_free(&v->nets->w);
    if (v->procs != NULL)
        widget_free(procs_panel_widget(v->procs));
    free(v->lines);
    free(v);
}

/* With the process panel on screen F3 searches it (host_key hands the panel the key
 * before the view table sees it), so the bar says so; 'g' still opens the history. */
static const char *
host_fkey_label(const struct widget *w, int n)
{
    const struct host_view *v = (const struct host_view *)w;
    return n == 3 && v->show_procs ? "Search" : NULL;
}

static const struct widget_class host_class = {.name = "host",
                                               .draw = host_draw,
                                               .key = host_key,
                                               .free = host_free,
                                               .fkey_label = host_fkey_label};

struct widget *
view_host_new(struct ui *ui)
{
    struct host_view *v = sm_xcalloc(1, sizeof *v);
    /* The processes under the meters: this machine's, signals allowed; in server mode the
     * agent's top processes, no signals (smtop does not reach into remote hosts). */
    v->procs = procs_panel_new(ui->remote == NULL);
    v->remote = ui->remote != NULL;
    v->w.cls = &host_class;
    v->per_row = 1;
    v->meter = meter_new();
    v->spark = graph_new(0);
    v->graph = graph_new(1);
    v->fs = table_new(fs_cols, sizeof fs_cols / sizeof fs_cols[0], fs_cell, v);
    v->disks = table_new(disk_cols, sizeof disk_cols / sizeof disk_cols[0], disk_cell, v);
    v->nets = table_new(net_cols, sizeof net_cols / sizeof net_cols[0], net_cell, v);
    v->sel = 1;
    return &v->w;
}
