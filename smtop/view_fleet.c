/* view_fleet.c: server mode's first view: one row per agent (name, state, CPU with a
 * per-core strip, load, memory, fullest filesystem, hottest temperature and busiest GPU
 * when some host has them, network, last seen), sortable by any column shown, filtered
 * with /, problem hosts standing out; Enter opens the host view. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fleet.h"
#include "source_remote.h"
#include "views.h"
#include "xmalloc.h"

#define FILTER_MAX 64
#define STRIP_MAX 16

enum fleet_action {
    F_UP,
    F_DOWN,
    F_PGUP,
    F_PGDN,
    F_HOME,
    F_END,
    F_OPEN,
    F_FILTER,
    F_SORT_NEXT,
    F_SORT_PREV,
    F_INVERT,
    F_SORT_CPU,
    F_SORT_MEM,
    F_SORT_DISK,
    F_SORT_NAME,
    F_SORT_SEEN,
    F_CLICK,
};

const struct key_binding fleet_keys[] = {
    {KEY_UP, "Up", F_UP, "select the agent above"},
    {KEY_DOWN, "Down", F_DOWN, "select the agent below"},
    {KEY_PPAGE, "PgUp", F_PGUP, "a page of agents up"},
    {KEY_NPAGE, "PgDn", F_PGDN, "a page of agents down"},
    {KEY_HOME, "Home", F_HOME, "first agent"},
    {KEY_END, "End", F_END, "last agent"},
    {'\r', "Enter", F_OPEN, "open the host view of the selected agent"},
    {'\n', "Enter", F_OPEN, NULL},
    {KEY_ENTER, "Enter", F_OPEN, NULL},
    {'/', "/", F_FILTER, "filter agents by name (Enter keeps it, Esc clears it)"},
    {KEY_F(6), "F6", F_SORT_NEXT, "sort by the next column"},
    {'>', ">", F_SORT_NEXT, "sort by the next column"},
    {'<', "<", F_SORT_PREV, "sort by the previous column"},
    {'I', "I", F_INVERT, "invert the sort order"},
    {'P', "P", F_SORT_CPU, "sort by CPU"},
    {'M', "M", F_SORT_MEM, "sort by memory"},
    {'D', "D", F_SORT_DISK, "sort by the fullest filesystem"},
    {'N', "N", F_SORT_NAME, "sort by name"},
    {'T', "T", F_SORT_SEEN, "sort by last seen"},
    {KEY_MOUSE, "click", F_CLICK, "select an agent; on a column title, sort by it"},
    {0, NULL, 0, NULL},
};

struct fleet_view {
    struct widget w;
    enum fleet_col sort;
    int desc;
    char filter[FILTER_MAX];
    int editing;
    size_t sel, top;
    int sel_id; /* the selected agent, kept selected when rows move */
    int page;
    int col_x[FLEET_NCOLS]; /* header x of each shown column (-1: hidden) */
    int any[FLEET_NCOLS];   /* the column has something to show (fleet_col_any) */
    struct fleet_row *rows;
    size_t nrows, rows_cap;
};

/* Fill v->rows from the model (also called by the key handler, so moves see the rows
 * on screen). */
static void
refresh_rows(struct fleet_view *v, const struct ui *ui)
{
    v->rows = sm_xgrow(v->rows, &v->rows_cap, ui->model->nhosts, sizeof *v->rows);
    v->nrows = fleet_rows(ui->model, v->filter, v->sort, v->desc, ui->now, v->rows, v->rows_cap);
    for (size_t i = 0; i < v->nrows; i++)
        if (v->rows[i].h->id == v->sel_id)
            v->sel = i;
    if (v->sel >= v->nrows)
        v->sel = v->nrows ? v->nrows - 1 : 0;
}

/* One character per core (or per group of cores): its height is the usage. */
static void
draw_strip(WINDOW *win, int y, int x, int width, const struct model_host *h, const struct theme *th)
{
    static const char *const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = " .:-=+*#@";
    const struct sm_sample *s = &h->last;
    size_t n = h->have_last ? s->cpu.ncores : 0;
    if (n == 0)
        return;
    size_t per = (n + (size_t)width - 1) / (size_t)width;
    for (int i = 0; i < width && (size_t)i * per < n; i++) {
        double u = 0;
        for (size_t k = (size_t)i * per; k < n && k < (size_t)(i + 1) * per; k++)
            if (s->cpu.cores[k].online && s->cpu.cores[k].usage > u)
                u = s->cpu.cores[k].usage;
        int level = (int)lround(u / 100.0 * 8);
        level = level < 0 ? 0 : level > 8 ? 8 : level;
        attr_t a = theme_level(th, u);
        if (th->graph == GRAPH_ASCII)
            mvwaddch(win, y, x + i, (chtype)ascii[level] | a);
        else {
            wattrset(win, a);
            mvwaddstr(win, y, x + i, blocks[level]);
            wattrset(win, A_NORMAL);
        }
    }
}

static void
fleet_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct fleet_view *v = (struct fleet_view *)w;
    const struct theme *th = &ui->theme;
    attr_t bad = th->crit | (th->color ? 0 : A_BOLD);
    refresh_rows(v, ui);
    /* Title: the server, counts and the connection. */
    size_t online = 0;
    for (size_t i = 0; i < ui->model->nhosts; i++)
        online += ui->model->hosts[i]->online != 0;
    char st[200];
    int x = w->x;
    x += put_fmt(win, w->y, x, w->w, th->title, "%s", ui->opts->server);
    x += put_fmt(win, w->y, x, w->x + w->w - x, th->normal, "  %zu agents, %zu online  ",
                 ui->model->nhosts, online);
    if (ui->remote) {
        source_remote_status(ui->remote, sm_mono_now(), st, sizeof st);
        put_text(win, w->y, x, w->x + w->w - x, source_remote_live(ui->remote) ? th->good : bad,
                 st);
    }
    /* Columns: drop the least important until a name of 8 fits; a strip of the cores
     * after CPU% when there is room to spare. */
    int wd[FLEET_NCOLS] = {0, 7, 5, 5, 5, 5, 4, 5, 7, 7, 5};
    int show[FLEET_NCOLS];
    for (int c = 0; c < FLEET_NCOLS; c++)
        show[c] = v->any[c] = fleet_col_any(ui->model, (enum fleet_col)c);
    static const enum fleet_col drop[] = {FLEET_TX,   FLEET_RX,    FLEET_LOAD, FLEET_GPU,
                                          FLEET_TEMP, FLEET_STATE, FLEET_SEEN, FLEET_DISK};
    int fixed = 0;
    for (size_t d = 0;; d++) {
        fixed = 0;
        for (int c = 1; c < FLEET_NCOLS; c++)
            if (show[c])
                fixed += wd[c] + 1;
        if (w->w - fixed >= 8 || d == sizeof drop / sizeof drop[0])
            break;
        show[drop[d]] = 0;
    }
    int namew = w->w - fixed, strip = 0;
    if (namew > 24 + 5) {
        strip = namew - 24 - 1;
        strip = strip > STRIP_MAX ? STRIP_MAX : strip;
        namew -= strip + 1;
    }
    wd[FLEET_NAME] = namew < 4 ? 4 : namew;
    int hy = w->y + 1;
    wattrset(win, th->header);
    mvwhline(win, hy, w->x, ' ', w->w);
    x = w->x;
    for (int c = 0; c < FLEET_NCOLS; c++) {
        v->col_x[c] = -1;
        if (!show[c])
            continue;
        v->col_x[c] = x;
        const char *title = fleet_col_title((enum fleet_col)c);
        int mine = (int)v->sort == c;
        attr_t a = th->header | (mine ? A_BOLD | A_REVERSE : 0);
        if (c == FLEET_NAME)
            put_fmt(win, hy, x, wd[c], a, "%s", title);
        else
            put_fmt(win, hy, x, wd[c], a, "%*s", wd[c], title);
        if (mine)
            put_text(win, hy, c == FLEET_NAME ? x + (int)strlen(title) : x + wd[c], 1,
                     th->header | A_BOLD,
                     th->graph == GRAPH_ASCII ? (v->desc ? "v" : "^") : (v->desc ? "▼" : "▲"));
        x += wd[c] + 1;
        if (c == FLEET_CPU && strip) {
            put_text(win, hy, x, strip, th->header, "CORES");
            x += strip + 1;
        }
    }
    wattrset(win, A_NORMAL);
    /* The alerts strip above the bottom line: a title and the worst alerts, at most a
     * third of the screen. */
    const struct model *m = ui->model;
    int nal = (int)(m->nalerts < 8 ? m->nalerts : 8);
    if (nal > (w->h - 3) / 3)
        nal = (w->h - 3) / 3;
    int alert_h = m->nalerts && (w->h - 3) / 3 >= 2 ? (nal < 1 ? 1 : nal) + 1 : 0;
    if (alert_h) {
        int ay = w->y + w->h - 1 - alert_h;
        size_t firing = 0;
        for (size_t i = 0; i < m->nalerts; i++)
            firing += m->alerts[i].firing != 0;
        wattrset(win, th->header);
        mvwhline(win, ay, w->x, ' ', w->w);
        put_fmt(win, ay, w->x, w->w, th->header | A_BOLD, "ALERTS  %zu firing, %zu pending%s",
                firing, m->nalerts - firing,
                m->nalerts > (size_t)(alert_h - 1) ? "  (the worst first)" : "");
        wattrset(win, A_NORMAL);
        for (int i = 0; i < alert_h - 1 && (size_t)i < m->nalerts; i++) {
            const struct model_alert *a = &m->alerts[i];
            char line[600];
            attr_t at = !a->firing                             ? th->dim
                        : strcmp(a->severity, "critical") == 0 ? bad
                        : strcmp(a->severity, "warning") == 0  ? th->warn
                                                               : th->normal;
            put_text(win, ay + 1 + i, w->x, w->w, at,
                     fleet_alert_text(m, a, ui->now, line, sizeof line));
        }
    }
    /* Rows, scrolled to keep the selection in sight; the last line is for the filter. */
    int height = w->h - 3 - alert_h;
    v->page = height > 1 ? height : 1;
    if (v->sel < v->top)
        v->top = v->sel;
    if (height > 0 && v->sel >= v->top + (size_t)height)
        v->top = v->sel - (size_t)height + 1;
    if (v->nrows == 0) {
        const char *why = v->filter[0] ? "no agent matches the filter"
                          : ui->remote && source_remote_ready(ui->remote)
                              ? "no agents yet (smserver agent add --user NAME AGENT)"
                              : "waiting for the server...";
        put_text(win, hy + 1, w->x, w->w, th->dim, why);
    }
    for (int i = 0; i < height && v->top + (size_t)i < v->nrows; i++) {
        const struct fleet_row *r = &v->rows[v->top + (size_t)i];
        int y = hy + 1 + i;
        int sel = v->top + (size_t)i == v->sel;
        if (sel) {
            v->sel_id = r->h->id;
            wattrset(win, th->select);
            mvwhline(win, y, w->x, ' ', w->w);
        }
        x = w->x;
        for (int c = 0; c < FLEET_NCOLS; c++) {
            if (!show[c])
                continue;
            char cell[64];
            fleet_cell(r, (enum fleet_col)c, cell, sizeof cell);
            attr_t a = th->normal;
            if ((c == FLEET_NAME || c == FLEET_STATE || c == FLEET_SEEN) &&
                (r->problems & FLEET_P_OFFLINE))
                a = th->offline;
            else if ((c == FLEET_CPU && (r->problems & FLEET_P_CPU)) ||
                     (c == FLEET_MEM && (r->problems & FLEET_P_MEM)) ||
                     (c == FLEET_DISK && (r->problems & FLEET_P_DISK)))
                a = bad;
            else if (c == FLEET_NAME && (r->problems & FLEET_P_ALERT))
                a = strcmp(r->alert->severity, "critical") == 0 ? bad : th->warn | A_BOLD;
            else if (c == FLEET_NAME && r->problems)
                a = A_BOLD;
            else if (c == FLEET_STATE)
                a = th->good;
            if (sel)
                a |= th->select;
            if (c == FLEET_NAME)
                put_fmt(win, y, x, wd[c], a, "%s", cell);
            else
                put_fmt(win, y, x, wd[c], a, "%*s", wd[c], cell);
            x += wd[c] + 1;
            if (c == FLEET_CPU && strip) {
                draw_strip(win, y, x, strip, r->h, th);
                x += strip + 1;
            }
        }
        wattrset(win, A_NORMAL);
    }
    /* The bottom line: the filter being typed, or the last error. */
    int by = w->y + w->h - 1;
    const char *err = ui->remote ? source_remote_error(ui->remote) : NULL;
    if (v->editing || v->filter[0])
        put_fmt(win, by, w->x, w->w, th->normal, "Filter: %s%s", v->filter, v->editing ? "_" : "");
    else if (err)
        put_text(win, by, w->x, w->w, th->warn, err);
}

static void
set_sort(struct fleet_view *v, enum fleet_col c)
{
    if (v->sort == c)
        v->desc = !v->desc;
    else {
        v->sort = c;
        v->desc = c != FLEET_NAME && c != FLEET_STATE;
    }
}

/* Move the selection to index i (clamped). */
static void
select_row(struct fleet_view *v, long i)
{
    if (v->nrows == 0)
        return;
    if (i < 0)
        i = 0;
    if (i >= (long)v->nrows)
        i = (long)v->nrows - 1;
    v->sel = (size_t)i;
    v->sel_id = v->rows[v->sel].h->id;
}

/* The host and history views (F2, F3, g) show the selected agent. */
static void
follow(struct fleet_view *v, struct ui *ui)
{
    if (v->nrows > 0 && v->sel < v->nrows)
        ui->host_id = v->rows[v->sel].h->id;
}

static int
filter_key(struct fleet_view *v, int key)
{
    size_t n = strlen(v->filter);
    if (key == '\r' || key == '\n' || key == KEY_ENTER)
        v->editing = 0;
    else if (key == 27) {
        v->editing = 0;
        v->filter[0] = '\0';
    } else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && n > 0)
        v->filter[n - 1] = '\0';
    else if (key >= 0x20 && key < 0x7f && n + 1 < sizeof v->filter) {
        v->filter[n] = (char)key;
        v->filter[n + 1] = '\0';
    }
    v->sel = 0;
    v->top = 0;
    v->sel_id = -1;
    return HANDLED | REDRAW;
}

static int
fleet_key(struct widget *w, int key, struct ui *ui)
{
    struct fleet_view *v = (struct fleet_view *)w;
    if (v->editing)
        return filter_key(v, key);
    if (key == 27 && v->filter[0]) {
        v->filter[0] = '\0';
        return HANDLED | REDRAW;
    }
    int action = key_lookup(fleet_keys, key);
    if (action < 0)
        return 0;
    refresh_rows(v, ui);
    for (int c = 0; c < FLEET_NCOLS; c++)
        v->any[c] = fleet_col_any(ui->model, (enum fleet_col)c);
    switch (action) {
    case F_UP:
        select_row(v, (long)v->sel - 1);
        break;
    case F_DOWN:
        select_row(v, (long)v->sel + 1);
        break;
    case F_PGUP:
        select_row(v, (long)v->sel - v->page);
        break;
    case F_PGDN:
        select_row(v, (long)v->sel + v->page);
        break;
    case F_HOME:
        select_row(v, 0);
        break;
    case F_END:
        select_row(v, (long)v->nrows - 1);
        break;
    case F_OPEN:
        if (v->nrows == 0)
            break;
        ui->host_id = v->rows[v->sel].h->id;
        ui_open_view(ui, "host");
        break;
    case F_FILTER:
        v->editing = 1;
        break;
    case F_SORT_NEXT:
    case F_SORT_PREV:
        /* The next column shown (TEMP and GPU% are skipped when no host has them). */
        for (int k = 0; k < FLEET_NCOLS; k++) {
            v->sort = (enum fleet_col)((v->sort + (action == F_SORT_NEXT ? 1 : FLEET_NCOLS - 1)) %
                                       FLEET_NCOLS);
            if (v->any[v->sort])
                break;
        }
        break;
    case F_INVERT:
        v->desc = !v->desc;
        break;
    case F_SORT_CPU:
        set_sort(v, FLEET_CPU);
        break;
    case F_SORT_MEM:
        set_sort(v, FLEET_MEM);
        break;
    case F_SORT_DISK:
        set_sort(v, FLEET_DISK);
        break;
    case F_SORT_NAME:
        set_sort(v, FLEET_NAME);
        break;
    case F_SORT_SEEN:
        set_sort(v, FLEET_SEEN);
        break;
    case F_CLICK:
        if (ui->mouse_y == v->w.y + 1) {
            for (int c = FLEET_NCOLS - 1; c >= 0; c--)
                if (v->col_x[c] >= 0 && ui->mouse_x >= v->col_x[c]) {
                    set_sort(v, (enum fleet_col)c);
                    break;
                }
        } else if (ui->mouse_y >= v->w.y + 2) {
            size_t i = v->top + (size_t)(ui->mouse_y - v->w.y - 2);
            if (i < v->nrows) {
                /* A click on the selected agent opens it. */
                if (i == v->sel) {
                    ui->host_id = v->rows[i].h->id;
                    ui_open_view(ui, "host");
                } else {
                    select_row(v, (long)i);
                }
            }
        }
        break;
    }
    follow(v, ui);
    return HANDLED | REDRAW;
}

static void
fleet_free(struct widget *w)
{
    struct fleet_view *v = (struct fleet_view *)w;
    free(v->rows);
    free(v);
}

static const struct widget_class fleet_class = {
    .name = "fleet", .draw = fleet_draw, .key = fleet_key, .free = fleet_free};

struct widget *
view_fleet_new(struct ui *ui)
{
    (void)ui;
    struct fleet_view *v = sm_xcalloc(1, sizeof *v);
    v->w.cls = &fleet_class;
    v->sort = FLEET_NAME;
    v->sel_id = -1;
    return &v->w;
}
