/* ui_fleet.c: smtop --server: the fleet view, the host view with history from /history,
 * and help, on the poll loop; the network runs on the client's threads (client.h). */
#include "config.h"

#include "ui_fleet.h"

#include <curses.h>
#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fleet.h"
#include "format.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "source_remote.h"

#define FILTER_MAX 64
#define MAX_ROWS 4096

enum view { V_FLEET = 1, V_HOST = 2, V_HELP = 4 };

enum action {
    A_UP,
    A_DOWN,
    A_PGUP,
    A_PGDN,
    A_HOME,
    A_END,
    A_OPEN,
    A_BACK,
    A_QUIT,
    A_HELP,
    A_FILTER,
    A_SORT_NEXT,
    A_SORT_PREV,
    A_INVERT,
    A_SORT_CPU,
    A_SORT_MEM,
    A_SORT_DISK,
    A_SORT_NAME,
    A_SORT_SEEN,
    A_RANGE_5M,
    A_RANGE_1H,
    A_RANGE_24H,
    A_RANGE_7D,
};

struct key {
    int key;
    const char *name;
    unsigned views;
    enum action action;
    const char *what;
};

/* The key table: what --list-keys prints and what the help view shows. */
static const struct key keys[] = {
    {KEY_UP, "Up", V_FLEET | V_HELP, A_UP, "select the previous agent"},
    {KEY_DOWN, "Down", V_FLEET | V_HELP, A_DOWN, "select the next agent"},
    {KEY_PPAGE, "PgUp", V_FLEET | V_HELP, A_PGUP, "one page up"},
    {KEY_NPAGE, "PgDn", V_FLEET | V_HELP, A_PGDN, "one page down"},
    {KEY_HOME, "Home", V_FLEET, A_HOME, "first agent"},
    {KEY_END, "End", V_FLEET, A_END, "last agent"},
    {'\r', "Enter", V_FLEET, A_OPEN, "open the host view of the selected agent"},
    {'\n', "Enter", V_FLEET, A_OPEN, "open the host view of the selected agent"},
    {KEY_ENTER, "Enter", V_FLEET, A_OPEN, "open the host view of the selected agent"},
    {27, "Esc", V_HOST | V_HELP, A_BACK, "back to the previous view"},
    {KEY_BACKSPACE, "Backspace", V_HOST | V_HELP, A_BACK, "back to the previous view"},
    {127, "Backspace", V_HOST | V_HELP, A_BACK, "back to the previous view"},
    {'q', "q", V_FLEET | V_HOST | V_HELP, A_QUIT, "quit"},
    {KEY_F(10), "F10", V_FLEET | V_HOST | V_HELP, A_QUIT, "quit"},
    {'?', "?", V_FLEET | V_HOST, A_HELP, "this help"},
    {KEY_F(1), "F1", V_FLEET | V_HOST, A_HELP, "this help"},
    {'/', "/", V_FLEET, A_FILTER, "filter agents by name (Enter keeps, Esc clears)"},
    {KEY_F(3), "F3", V_FLEET, A_FILTER, "filter agents by name"},
    {KEY_F(6), "F6", V_FLEET, A_SORT_NEXT, "sort by the next column"},
    {'>', ">", V_FLEET, A_SORT_NEXT, "sort by the next column"},
    {'<', "<", V_FLEET, A_SORT_PREV, "sort by the previous column"},
    {'I', "I", V_FLEET, A_INVERT, "invert the sort order"},
    {'P', "P", V_FLEET, A_SORT_CPU, "sort by CPU"},
    {'M', "M", V_FLEET, A_SORT_MEM, "sort by memory"},
    {'D', "D", V_FLEET, A_SORT_DISK, "sort by the fullest filesystem"},
    {'N', "N", V_FLEET, A_SORT_NAME, "sort by name"},
    {'T', "T", V_FLEET, A_SORT_SEEN, "sort by last seen"},
    {'1', "1", V_HOST, A_RANGE_5M, "history of the last 5 minutes"},
    {'2', "2", V_HOST, A_RANGE_1H, "history of the last hour"},
    {'3', "3", V_HOST, A_RANGE_24H, "history of the last 24 hours"},
    {'4', "4", V_HOST, A_RANGE_7D, "history of the last 7 days"},
};

static const struct {
    const char *label;
    double seconds;
} ranges[] = {{"5m", 300}, {"1h", 3600}, {"24h", 86400}, {"7d", 7 * 86400}};

enum { C_OK = 1, C_WARN, C_BAD, C_HEAD, C_DIM };

struct ui {
    const struct smtop_opts *o;
    struct model *m;
    struct source_remote *src;
    struct loop *loop;
    enum view view, prev_view;
    enum fleet_col sort;
    int desc;
    char filter[FILTER_MAX];
    int editing;
    int sel; /* selected row index */
    int top; /* first row shown */
    int sel_id;
    int range;
    int utf8, color;
    long frames;
    int col_x[FLEET_NCOLS + 1]; /* header x positions for mouse clicks; -1 hidden */
    int rows_y;                 /* screen row of the first fleet row */
    struct fleet_row *rows;
    size_t nrows;
};

static attr_t
pair(const struct ui *u, int p)
{
    return u->color ? COLOR_PAIR(p) : (p == C_BAD ? A_BOLD : p == C_DIM ? A_DIM : A_NORMAL);
}

/* ------------------------------------------------------------------ drawing */

static void
draw_title(struct ui *u)
{
    char st[256];
    size_t online = 0;
    for (size_t i = 0; i < u->m->nhosts; i++)
        online += u->m->hosts[i]->online != 0;
    source_remote_status(u->src, sm_mono_now(), st, sizeof st);
    attron(A_REVERSE);
    mvhline(0, 0, ' ', COLS);
    mvprintw(0, 0, " smtop  %s  %zu agents, %zu online  ", u->o->server, u->m->nhosts, online);
    attroff(A_REVERSE);
    int x = getcurx(stdscr);
    attr_t a = source_remote_live(u->src) ? pair(u, C_OK) : pair(u, C_BAD) | A_BOLD;
    attron(a | A_REVERSE);
    if (x < COLS)
        addnstr(st, COLS - x);
    attroff(a | A_REVERSE);
}

/* One character per core (or group of cores), its height the usage. */
static void
draw_strip(struct ui *u, const struct model_host *h, int width)
{
    static const char *const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = " .:-=+*#@";
    const struct sm_sample *s = &h->last;
    size_t n = h->have_last ? s->cpu.ncores : 0;
    for (int x = 0; x < width; x++) {
        if (n == 0 || (size_t)x >= n) {
            addch(' ');
            continue;
        }
        size_t per = (n + (size_t)width - 1) / (size_t)width;
        if ((size_t)x * per >= n) {
            addch(' ');
            continue;
        }
        double v = 0;
        for (size_t i = (size_t)x * per; i < n && i < (size_t)(x + 1) * per; i++)
            if (s->cpu.cores[i].online && s->cpu.cores[i].usage > v)
                v = s->cpu.cores[i].usage;
        int level = (int)lround(v / 100.0 * 8);
        level = level < 0 ? 0 : level > 8 ? 8 : level;
        attr_t a = v >= FLEET_CPU_HIGH ? pair(u, C_BAD) : pair(u, C_OK);
        attron(a);
        if (u->utf8)
            addstr(blocks[level]);
        else
            addch((chtype)ascii[level]);
        attroff(a);
    }
}

static void
draw_fleet(struct ui *u)
{
    /* Column widths; the per-core strip sits after CPU% when there is room. */
    int w[FLEET_NCOLS] = {0, 7, 5, 5, 5, 5, 7, 7, 5};
    int show[FLEET_NCOLS];
    for (int c = 0; c < FLEET_NCOLS; c++)
        show[c] = 1;
    /* Drop columns from the least important until the minimal line fits. */
    static const enum fleet_col drop[] = {FLEET_TX,    FLEET_RX,   FLEET_LOAD,
                                          FLEET_STATE, FLEET_SEEN, FLEET_DISK};
    int strip = 0, fixed = 0;
    for (size_t d = 0;; d++) {
        fixed = 0;
        for (int c = 1; c < FLEET_NCOLS; c++)
            if (show[c])
                fixed += w[c] + 1;
        if (COLS - fixed >= 8 || d == sizeof drop / sizeof drop[0])
            break;
        show[drop[d]] = 0;
    }
    int namew = COLS - fixed;
    if (namew > 24) {
        strip = namew - 24 - 1;
        if (strip > 16)
            strip = 16;
        if (strip < 4)
            strip = 0;
        namew -= strip ? strip + 1 : 0;
    }
    if (namew < 4)
        namew = 4;
    w[FLEET_NAME] = namew;
    /* Header. */
    attron(pair(u, C_HEAD) | A_BOLD);
    mvhline(1, 0, ' ', COLS);
    int x = 0;
    for (int c = 0; c < FLEET_NCOLS; c++) {
        u->col_x[c] = -1;
        if (!show[c])
            continue;
        u->col_x[c] = x;
        char t[32];
        snprintf(t, sizeof t, "%s%s", fleet_col_title((enum fleet_col)c),
                 (int)u->sort == c ? (u->desc ? (u->utf8 ? "▼" : "v") : (u->utf8 ? "▲" : "^"))
                                   : "");
        if ((int)u->sort == c)
            attron(A_REVERSE);
        if (c == FLEET_NAME)
            mvprintw(1, x, "%-*.*s", w[c], w[c], t);
        else
            mvprintw(1, x, "%*s", w[c] + ((int)u->sort == c && u->utf8 ? 2 : 0), t);
        if ((int)u->sort == c)
            attroff(A_REVERSE);
        x += w[c] + 1;
        if (c == FLEET_CPU && strip) {
            mvprintw(1, x, "%-*s", strip, "CORES");
            x += strip + 1;
        }
    }
    u->col_x[FLEET_NCOLS] = x;
    attroff(pair(u, C_HEAD) | A_BOLD);
    /* Rows. */
    if (u->rows == NULL)
        u->rows = calloc(MAX_ROWS, sizeof *u->rows);
    if (u->rows == NULL)
        return;
    u->nrows = fleet_rows(u->m, u->filter, u->sort, u->desc, sm_wall_now(), u->rows, MAX_ROWS);
    /* Keep the selected agent selected when rows move. */
    for (size_t i = 0; i < u->nrows; i++)
        if (u->rows[i].h->id == u->sel_id)
            u->sel = (int)i;
    if (u->sel >= (int)u->nrows)
        u->sel = (int)u->nrows - 1;
    if (u->sel < 0)
        u->sel = 0;
    int height = LINES - 4; /* title, header, message line, function bar */
    if (height < 1)
        height = 1;
    if (u->sel < u->top)
        u->top = u->sel;
    if (u->sel >= u->top + height)
        u->top = u->sel - height + 1;
    if (u->top > (int)u->nrows - height)
        u->top = (int)u->nrows - height;
    if (u->top < 0)
        u->top = 0;
    u->rows_y = 2;
    if (u->nrows == 0) {
        mvprintw(2, 0, "%.*s", COLS,
                 u->filter[0]                  ? "no agent matches the filter"
                 : source_remote_ready(u->src) ? "no agents yet: add one with smserver agent add"
                                               : "waiting for the server...");
    }
    for (int i = 0; i < height && u->top + i < (int)u->nrows; i++) {
        const struct fleet_row *r = &u->rows[u->top + i];
        int y = 2 + i;
        int selected = u->top + i == u->sel;
        if (selected) {
            u->sel_id = r->h->id;
            attron(A_REVERSE);
            mvhline(y, 0, ' ', COLS);
        }
        x = 0;
        for (int c = 0; c < FLEET_NCOLS; c++) {
            if (!show[c])
                continue;
            char cell[64];
            fleet_cell(r, (enum fleet_col)c, cell, sizeof cell);
            attr_t a = A_NORMAL;
            if ((c == FLEET_STATE || c == FLEET_SEEN || c == FLEET_NAME) &&
                (r->problems & FLEET_P_OFFLINE))
                a = pair(u, C_BAD) | A_BOLD;
            else if ((c == FLEET_CPU && (r->problems & FLEET_P_CPU)) ||
                     (c == FLEET_MEM && (r->problems & FLEET_P_MEM)) ||
                     (c == FLEET_DISK && (r->problems & FLEET_P_DISK)))
                a = pair(u, C_BAD) | A_BOLD;
            else if (c == FLEET_NAME && r->problems)
                a = A_BOLD;
            else if (c == FLEET_STATE)
                a = pair(u, C_OK);
            attron(a);
            if (c == FLEET_NAME)
                mvprintw(y, x, "%-*.*s", w[c], w[c], cell);
            else
                mvprintw(y, x, "%*.*s", w[c], w[c], cell);
            attroff(a);
            x += w[c] + 1;
            if (c == FLEET_CPU && strip) {
                move(y, x);
                draw_strip(u, r->h, strip);
                x += strip + 1;
            }
        }
        if (selected)
            attroff(A_REVERSE);
    }
}

/* A meter: "[|||||     ]" of width w for a percentage. */
static void
meter(struct ui *u, int y, int x, int w, double pct)
{
    if (w < 3)
        return;
    int inner = w - 2, fill = (int)lround(pct / 100.0 * inner);
    fill = fill < 0 ? 0 : fill > inner ? inner : fill;
    mvaddch(y, x, '[');
    attron(pct >= FLEET_CPU_HIGH ? pair(u, C_BAD) : pair(u, C_OK));
    for (int i = 0; i < inner; i++)
        addch(i < fill ? '|' : ' ');
    attroff(pct >= FLEET_CPU_HIGH ? pair(u, C_BAD) : pair(u, C_OK));
    addch(']');
}

/* A history graph of a percentage series from /history, h rows by the screen width. */
static int
draw_graph(struct ui *u, int y, int height, const struct model_host *host, const char *series,
           const char *title, double vmax)
{
    static const char *const eighths[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    int gx = 6, gw = COLS - gx - 1;
    if (gw < 10 || height < 2)
        return 0;
    double range = ranges[u->range].seconds;
    double age = range / gw;
    age = age < 2 ? 2 : age > 60 ? 60 : age;
    const struct remote_history *hist =
        source_remote_history(u->src, host->id, series, range, (size_t)gw, age);
    double lo = HUGE_VAL, hi = -HUGE_VAL, sum = 0;
    double now = sm_wall_now(), t0 = now - range;
    double *col = calloc((size_t)gw, sizeof *col);
    if (col == NULL)
        return 0;
    for (int x = 0; x < gw; x++)
        col[x] = -1;
    for (size_t i = 0; i < hist->n; i++) {
        int x = (int)((hist->t[i] - t0) / range * gw);
        if (x < 0 || x >= gw)
            continue;
        if (hist->avg[i] > col[x])
            col[x] = hist->avg[i];
        lo = fmin(lo, hist->min[i]);
        hi = fmax(hi, hist->max[i]);
        sum += hist->avg[i];
    }
    attron(A_BOLD);
    if (hist->n > 0)
        mvprintw(y, 0, "%s, last %s: min %.1f avg %.1f max %.1f", title, ranges[u->range].label, lo,
                 sum / (double)hist->n, hi);
    else
        mvprintw(y, 0, "%s, last %s: %s", title, ranges[u->range].label,
                 hist->fetched > 0 ? "no data" : "loading...");
    attroff(A_BOLD);
    for (int r = 0; r < height; r++) {
        int yy = y + 1 + r;
        if (r == 0)
            mvprintw(yy, 0, "%4.0f%%", vmax);
        else if (r == height - 1)
            mvprintw(yy, 0, "%4d%%", 0);
        for (int x = 0; x < gw; x++) {
            if (col[x] < 0)
                continue;
            /* Eighths of a row filled at this column, counted from the bottom. */
            double e = col[x] / vmax * height * 8;
            int below = (height - 1 - r) * 8;
            int level = (int)lround(e) - below;
            level = level < 0 ? 0 : level > 8 ? 8 : level;
            if (level == 0)
                continue;
            attron(pair(u, col[x] >= FLEET_CPU_HIGH ? C_BAD : C_OK));
            if (u->utf8)
                mvaddstr(yy, gx + x, eighths[level]);
            else
                mvaddch(yy, gx + x, level >= 4 ? '#' : '.');
            attroff(pair(u, col[x] >= FLEET_CPU_HIGH ? C_BAD : C_OK));
        }
    }
    mvprintw(y + 1 + height, gx, "-%s", ranges[u->range].label);
    mvaddstr(y + 1 + height, gx + gw - 3, "now");
    free(col);
    return height + 2;
}

static void
draw_host(struct ui *u)
{
    const struct model_host *h = model_host_find(u->m, u->sel_id);
    if (h == NULL) {
        mvprintw(2, 0, "this agent was removed");
        return;
    }
    char a[32], b[32], c[32];
    int y = 1;
    attron(A_BOLD);
    mvprintw(y, 0, "%s", h->name);
    attroff(A_BOLD);
    attron(h->online ? pair(u, C_OK) : pair(u, C_BAD) | A_BOLD);
    printw("  %s", h->online ? "online" : "offline");
    attroff(h->online ? pair(u, C_OK) : pair(u, C_BAD) | A_BOLD);
    if (h->last_seen > 0)
        printw("  last seen %s ago", fmt_duration(a, sizeof a, sm_wall_now() - h->last_seen));
    y++;
    if (h->have_facts) {
        double up = h->facts.boot_time > 0 ? sm_wall_now() - (double)h->facts.boot_time : 0;
        mvprintw(y++, 0, "%.*s", COLS, "");
        mvprintw(y - 1, 0, "%s  %s  %s  %s  %d cores  up %s", h->facts.hostname, h->facts.os,
                 h->facts.kernel, h->facts.arch, h->facts.cores, fmt_duration(a, sizeof a, up));
    }
    if (!h->have_last) {
        mvprintw(y + 1, 0, "no sample from this agent yet");
        return;
    }
    const struct sm_sample *s = &h->last;
    int mw = COLS / 3 > 10 ? COLS / 3 : 10;
    mvprintw(y, 0, "CPU ");
    meter(u, y, 4, mw, s->cpu.usage);
    printw(" %5.1f%%", s->cpu.usage);
    if (s->have & SM_HAVE_CPU_BREAKDOWN)
        printw("  usr %.1f sys %.1f iow %.1f st %.1f", s->cpu.user, s->cpu.system, s->cpu.iowait,
               s->cpu.steal);
    y++;
    if (s->have & SM_HAVE_LOAD)
        mvprintw(y++, 0, "Load %.2f %.2f %.2f", s->cpu.load[0], s->cpu.load[1], s->cpu.load[2]);
    /* Per-core meters in as many columns as fit, at most a third of the screen high. */
    int cw = 24, ncol = COLS / cw > 0 ? COLS / cw : 1;
    int maxrows = (LINES - 4) / 3 > 1 ? (LINES - 4) / 3 : 1;
    size_t shown = 0;
    for (size_t i = 0; i < s->cpu.ncores && shown < (size_t)(ncol * maxrows); i++, shown++) {
        int yy = y + (int)(shown / (size_t)ncol), xx = (int)(shown % (size_t)ncol) * cw;
        const struct sm_core *k = &s->cpu.cores[i];
        mvprintw(yy, xx, "%3zu", i);
        meter(u, yy, xx + 4, 10, k->online ? k->usage : 0);
        printw("%4.0f%% %s", k->online ? k->usage : 0, fmt_mhz(a, sizeof a, k->freq_mhz));
    }
    y += (int)((shown + (size_t)ncol - 1) / (size_t)ncol);
    if (s->have & SM_HAVE_MEM) {
        mvprintw(y, 0, "Mem ");
        meter(u, y, 4, mw, s->mem.used_percent);
        printw(" %s/%s", fmt_bytes(a, sizeof a, (double)s->mem.used),
               fmt_bytes(b, sizeof b, (double)s->mem.total));
        if (s->have & SM_HAVE_SWAP)
            printw("  swap %s/%s", fmt_bytes(a, sizeof a, (double)s->mem.swap_used),
                   fmt_bytes(c, sizeof c, (double)s->mem.swap_total));
        y++;
    }
    for (size_t i = 0; i < s->nfs && y < LINES / 2; i++, y++) {
        mvprintw(y, 0, "FS  ");
        meter(u, y, 4, mw, s->fs[i].percent);
        printw(" %5.1f%% %s", s->fs[i].percent, s->fs[i].mount);
    }
    if (y < LINES / 2 && (s->have & SM_HAVE_NET)) {
        mvprintw(y++, 0, "Net rx %s  tx %s", fmt_rate(a, sizeof a, s->net.rx_bps),
                 fmt_rate(b, sizeof b, s->net.tx_bps));
    }
    if (y < LINES / 2 && (s->have & SM_HAVE_DISK_IO)) {
        mvprintw(y++, 0, "Disk read %s  write %s", fmt_rate(a, sizeof a, s->read_bps),
                 fmt_rate(b, sizeof b, s->write_bps));
    }
    /* History graphs (from the server's rollups) in the rest of the screen. */
    int left = LINES - 2 - y - 1;
    if (left >= 5) {
        int gh = left >= 14 ? (left - 4) / 2 : left - 2;
        y += 1 + draw_graph(u, y + 1, gh, h, "cpu.usage", "CPU %", 100);
        left = LINES - 2 - y - 1;
        if (left >= 5)
            draw_graph(u, y, left - 2 > 8 ? 8 : left - 2, h, "mem.used_percent", "Memory %", 100);
    }
}

static void
draw_help(struct ui *u)
{
    (void)u;
    int y = 2;
    mvprintw(1, 0, "smtop keys (server mode); Esc goes back");
    const char *last = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && y < LINES - 2; i++) {
        if (last && strcmp(last, keys[i].what) == 0 && i > 0 && keys[i - 1].key != keys[i].key &&
            strcmp(keys[i - 1].name, keys[i].name) == 0)
            continue;
        last = keys[i].what;
        mvprintw(y++, 2, "%-10s %s", keys[i].name, keys[i].what);
    }
}

static void
draw_bottom(struct ui *u)
{
    const char *err = source_remote_error(u->src);
    move(LINES - 2, 0);
    clrtoeol();
    if (u->editing || u->filter[0]) {
        mvprintw(LINES - 2, 0, "Filter: %s%s", u->filter, u->editing ? "_" : "");
    } else if (err) {
        attron(pair(u, C_WARN));
        mvaddnstr(LINES - 2, 0, err, COLS);
        attroff(pair(u, C_WARN));
    }
    static const char *const fkeys[][2] = {{"F1", "Help"},    {"F3", "Filter"}, {"F6", "Sort"},
                                           {"Enter", "Open"}, {"Esc", "Back"},  {"F10", "Quit"}};
    move(LINES - 1, 0);
    clrtoeol();
    for (size_t i = 0; i < sizeof fkeys / sizeof fkeys[0]; i++) {
        addstr(fkeys[i][0]);
        attron(A_REVERSE);
        printw("%-7s", fkeys[i][1]);
        attroff(A_REVERSE);
    }
}

static void
draw(struct ui *u)
{
    erase();
    if (COLS < 20 || LINES < 5) {
        mvaddstr(0, 0, "too small");
        refresh();
        return;
    }
    draw_title(u);
    if (u->view == V_FLEET)
        draw_fleet(u);
    else if (u->view == V_HOST)
        draw_host(u);
    else
        draw_help(u);
    draw_bottom(u);
    refresh();
    u->frames++;
    if (u->o->count > 0 && u->frames >= u->o->count)
        loop_stop(u->loop);
}

/* ------------------------------------------------------------------ input */

static void
set_sort(struct ui *u, enum fleet_col c)
{
    if (u->sort == c)
        u->desc = !u->desc;
    else {
        u->sort = c;
        u->desc = c != FLEET_NAME && c != FLEET_STATE;
    }
}

static void
do_action(struct ui *u, enum action a)
{
    int page = LINES - 4 > 1 ? LINES - 4 : 1;
    switch (a) {
    case A_UP:
        u->sel--;
        break;
    case A_DOWN:
        u->sel++;
        break;
    case A_PGUP:
        u->sel -= page;
        break;
    case A_PGDN:
        u->sel += page;
        break;
    case A_HOME:
        u->sel = 0;
        break;
    case A_END:
        u->sel = (int)u->nrows - 1;
        break;
    case A_OPEN:
        if (u->nrows > 0) {
            u->view = V_HOST;
            u->prev_view = V_FLEET;
        }
        return;
    case A_BACK:
        u->view = u->view == V_HELP ? u->prev_view : V_FLEET;
        return;
    case A_QUIT:
        loop_stop(u->loop);
        return;
    case A_HELP:
        u->prev_view = u->view;
        u->view = V_HELP;
        return;
    case A_FILTER:
        u->editing = 1;
        return;
    case A_SORT_NEXT:
        u->sort = (enum fleet_col)((u->sort + 1) % FLEET_NCOLS);
        return;
    case A_SORT_PREV:
        u->sort = (enum fleet_col)((u->sort + FLEET_NCOLS - 1) % FLEET_NCOLS);
        return;
    case A_INVERT:
        u->desc = !u->desc;
        return;
    case A_SORT_CPU:
        set_sort(u, FLEET_CPU);
        return;
    case A_SORT_MEM:
        set_sort(u, FLEET_MEM);
        return;
    case A_SORT_DISK:
        set_sort(u, FLEET_DISK);
        return;
    case A_SORT_NAME:
        set_sort(u, FLEET_NAME);
        return;
    case A_SORT_SEEN:
        set_sort(u, FLEET_SEEN);
        return;
    case A_RANGE_5M:
    case A_RANGE_1H:
    case A_RANGE_24H:
    case A_RANGE_7D:
        u->range = (int)(a - A_RANGE_5M);
        return;
    }
    /* A move: forget the remembered agent so that the index wins. */
    if (u->sel < 0)
        u->sel = 0;
    if (u->sel >= (int)u->nrows)
        u->sel = (int)u->nrows - 1;
    if (u->sel >= 0 && (size_t)u->sel < u->nrows)
        u->sel_id = u->rows[u->sel].h->id;
}

static void
on_mouse(struct ui *u)
{
    MEVENT me;
    if (getmouse(&me) != OK || u->view != V_FLEET)
        return;
    if (me.y == 1) {
        for (int c = FLEET_NCOLS - 1; c >= 0; c--)
            if (u->col_x[c] >= 0 && me.x >= u->col_x[c]) {
                set_sort(u, (enum fleet_col)c);
                return;
            }
        return;
    }
    int row = u->top + me.y - u->rows_y;
    if (me.y >= u->rows_y && row >= 0 && row < (int)u->nrows) {
        u->sel = row;
        u->sel_id = u->rows[row].h->id;
        if (me.bstate & (BUTTON1_DOUBLE_CLICKED | BUTTON3_CLICKED))
            do_action(u, A_OPEN);
    }
}

static void
on_key(struct ui *u, int ch)
{
    if (u->editing) {
        size_t n = strlen(u->filter);
        if (ch == '\r' || ch == '\n' || ch == KEY_ENTER)
            u->editing = 0;
        else if (ch == 27) {
            u->editing = 0;
            u->filter[0] = '\0';
        } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0)
            u->filter[n - 1] = '\0';
        else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof u->filter) {
            u->filter[n] = (char)ch;
            u->filter[n + 1] = '\0';
        }
        u->sel = 0;
        return;
    }
    if (ch == KEY_MOUSE) {
        on_mouse(u);
        return;
    }
    if (ch == 27 && u->view == V_FLEET && u->filter[0]) {
        u->filter[0] = '\0';
        return;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].key == ch && (keys[i].views & u->view)) {
            do_action(u, keys[i].action);
            return;
        }
}

static void
stdin_ready(int fd, short revents, void *arg)
{
    (void)fd;
    struct ui *u = arg;
    if (revents & (POLLHUP | POLLERR)) {
        loop_stop(u->loop);
        return;
    }
    int ch;
    while ((ch = getch()) != ERR)
        on_key(u, ch);
    draw(u);
}

static void
remote_ready(int fd, short revents, void *arg)
{
    (void)fd;
    (void)revents;
    struct ui *u = arg;
    int was_ready = source_remote_ready(u->src), was_live = source_remote_live(u->src);
    source_remote_drain(u->src);
    /* The first snapshot and connection changes show at once; samples wait for the tick. */
    if (was_ready != source_remote_ready(u->src) || was_live != source_remote_live(u->src))
        draw(u);
}

static void
tick(void *arg)
{
    draw(arg);
}

static void
after(void *arg)
{
    struct ui *u = arg;
    unsigned sig = loop_take_signals();
    if (sig & ((1u << SIGINT) | (1u << SIGTERM)))
        loop_stop(u->loop);
    if (sig & (1u << SIGWINCH)) {
        endwin();
        refresh();
        draw(u);
    }
}

int
ui_run_server(const struct smtop_opts *o)
{
    struct ui u = {.o = o, .view = V_FLEET, .sort = FLEET_NAME, .range = 1, .sel_id = -1};
    u.m = model_new(3600);
    int code = 1;
    char *cause = NULL;
    /* Before the screen is taken: the password prompt needs the plain terminal. */
    u.src = source_remote_new(u.m, o, &code, &cause);
    if (u.src == NULL) {
        fprintf(stderr, "%s: %s\n", sm_log_progname(), cause);
        free(cause);
        model_free(u.m);
        return code;
    }
    const char *cs = nl_langinfo(CODESET);
    u.utf8 = o->graph != GRAPH_ASCII && cs && strcmp(cs, "UTF-8") == 0;
    u.loop = loop_new();
    if (initscr() == NULL) {
        fprintf(stderr, "%s: cannot start the terminal screen\n", sm_log_progname());
        source_remote_free(u.src);
        model_free(u.m);
        loop_free(u.loop);
        return 1;
    }
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON3_CLICKED, NULL);
    const char *nc = getenv("NO_COLOR");
    u.color = has_colors() && !(nc && nc[0]);
    if (u.color) {
        start_color();
        use_default_colors();
        init_pair(C_OK, COLOR_GREEN, -1);
        init_pair(C_WARN, COLOR_YELLOW, -1);
        init_pair(C_BAD, COLOR_RED, -1);
        init_pair(C_HEAD, COLOR_CYAN, -1);
        init_pair(C_DIM, COLOR_BLUE, -1);
    }
    loop_add_fd(u.loop, STDIN_FILENO, POLLIN, stdin_ready, &u);
    loop_add_fd(u.loop, source_remote_fd(u.src), POLLIN, remote_ready, &u);
    loop_add_timer(u.loop, o->delay, o->delay, tick, &u);
    loop_set_after(u.loop, after, &u);
    draw(&u);
    int rc = loop_run(u.loop);
    endwin();
    free(u.rows);
    source_remote_free(u.src);
    model_free(u.m);
    loop_free(u.loop);
    return rc == 0 ? 0 : 1;
}

void
ui_fleet_print_keys(FILE *out)
{
    static const char *const vn[] = {"", "fleet", "host", "fleet,host", "help"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (i > 0 && strcmp(keys[i - 1].name, keys[i].name) == 0)
            continue;
        unsigned v = keys[i].views & (V_FLEET | V_HOST);
        fprintf(out, "%s\t%s\t%s\n", keys[i].name, v < 5 ? vn[v] : "all", keys[i].what);
    }
}
