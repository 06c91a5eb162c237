/* widget.c: theme, text helpers and the meter, graph and table widgets. */
#include "config.h"

#include "widget.h"

#include <langinfo.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format.h"
#include "views.h"
#include "xmalloc.h"

enum { PAIR_GOOD = 1, PAIR_WARN, PAIR_CRIT, PAIR_TITLE, PAIR_HEADER, PAIR_FKEY, PAIR_DIM };

enum graph_mode
theme_graph_mode(enum graph_mode want)
{
    if (want != GRAPH_AUTO)
        return want;
    const char *cs = nl_langinfo(CODESET);
    if (cs == NULL || (strcasecmp(cs, "UTF-8") != 0 && strcasecmp(cs, "utf8") != 0))
        return GRAPH_ASCII;
    const char *term = getenv("TERM");
    /* The Linux console's font has block elements but no braille. */
    if (term != NULL && strcmp(term, "linux") == 0)
        return GRAPH_BLOCKS;
    return GRAPH_BRAILLE;
}

void
theme_init(struct theme *th, enum graph_mode want)
{
    memset(th, 0, sizeof *th);
    th->graph = theme_graph_mode(want);
    const char *nc = getenv("NO_COLOR");
    th->color = (nc == NULL || nc[0] == '\0') && has_colors();
    th->normal = A_NORMAL;
    th->select = A_REVERSE;
    if (!th->color) {
        th->title = A_BOLD;
        th->label = A_BOLD;
        th->header = A_BOLD;
        th->fkey = A_REVERSE;
        th->offline = A_BOLD;
        return;
    }
    start_color();
    use_default_colors(); /* the terminal's own background: fine on light and dark */
    init_pair(PAIR_GOOD, COLOR_GREEN, -1);
    init_pair(PAIR_WARN, COLOR_YELLOW, -1);
    init_pair(PAIR_CRIT, COLOR_RED, -1);
    init_pair(PAIR_TITLE, COLOR_CYAN, -1);
    init_pair(PAIR_HEADER, COLOR_BLACK, COLOR_GREEN);
    init_pair(PAIR_FKEY, COLOR_BLACK, COLOR_CYAN);
    init_pair(PAIR_DIM, COLOR_BLUE, -1);
    th->good = COLOR_PAIR(PAIR_GOOD);
    th->warn = COLOR_PAIR(PAIR_WARN);
    th->crit = COLOR_PAIR(PAIR_CRIT) | A_BOLD;
    th->title = COLOR_PAIR(PAIR_TITLE) | A_BOLD;
    th->label = COLOR_PAIR(PAIR_TITLE);
    th->header = COLOR_PAIR(PAIR_HEADER);
    th->fkey = A_BOLD;
    th->fbar = COLOR_PAIR(PAIR_FKEY);
    th->dim = COLOR_PAIR(PAIR_DIM) | A_BOLD;
    th->offline = COLOR_PAIR(PAIR_CRIT) | A_BOLD;
}

attr_t
theme_level(const struct theme *th, double percent)
{
    if (percent >= 85)
        return th->crit;
    if (percent >= 60)
        return th->warn;
    return th->good;
}

void
widget_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    if (w != NULL && w->cls->draw != NULL && w->h > 0 && w->w > 0)
        w->cls->draw(w, win, ui);
}

int
widget_key(struct widget *w, int key, struct ui *ui)
{
    if (w == NULL || w->cls->key == NULL)
        return 0;
    return w->cls->key(w, key, ui);
}

const char *
widget_fkey_label(const struct widget *w, int n)
{
    if (w == NULL || w->cls->fkey_label == NULL)
        return NULL;
    return w->cls->fkey_label(w, n);
}

void
widget_resize(struct widget *w, int y, int x, int h, int wd)
{
    if (w == NULL)
        return;
    if (w->cls->resize != NULL) {
        w->cls->resize(w, y, x, h, wd);
        return;
    }
    w->y = y;
    w->x = x;
    w->h = h > 0 ? h : 0;
    w->w = wd > 0 ? wd : 0;
}

void
widget_free(struct widget *w)
{
    if (w == NULL)
        return;
    if (w->cls->free != NULL)
        w->cls->free(w);
    else
        free(w);
}

int
put_text(WINDOW *win, int y, int x, int maxw, attr_t attr, const char *text)
{
    if (maxw <= 0 || y < 0 || x < 0)
        return 0;
    /* Count columns as characters: a UTF-8 continuation byte adds none. */
    int cols = 0;
    size_t bytes = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p & 0xC0) != 0x80) {
            if (cols == maxw)
                break;
            cols++;
        }
        bytes++;
    }
    wattrset(win, attr);
    mvwaddnstr(win, y, x, text, (int)bytes);
    wattrset(win, A_NORMAL);
    return cols;
}

int
put_fmt(WINDOW *win, int y, int x, int maxw, attr_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put_text(win, y, x, maxw, attr, buf);
}

/* ---------------------------------------------------------------- meter */

static void
meter_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct meter *m = (struct meter *)w;
    const struct theme *th = &ui->theme;
    int x = w->x, end = w->x + w->w;
    x += put_text(win, w->y, x, end - x, th->label, m->label);
    if (end - x < 3)
        return;
    int inner = end - x - 2;
    put_text(win, w->y, x, 1, th->normal | A_BOLD, "[");
    put_text(win, w->y, end - 1, 1, th->normal | A_BOLD, "]");
    double p = m->percent;
    if (!(p >= 0))
        p = 0;
    if (p > 100)
        p = 100;
    int fill = (int)lround(p / 100.0 * inner);
    int tlen = (int)strlen(m->text);
    if (tlen > inner)
        tlen = inner;
    int tstart = inner - tlen;
    char bar[512];
    if (inner >= (int)sizeof bar)
        inner = (int)sizeof bar - 1;
    for (int i = 0; i < inner; i++)
        bar[i] = i < fill ? '|' : ' ';
    bar[inner] = '\0';
    /* The bar, then the text over its right end (the text is left out of the fill). */
    int filled = fill < tstart ? fill : tstart;
    put_text(win, w->y, x + 1, filled, theme_level(th, p), bar);
    if (tstart > filled)
        put_text(win, w->y, x + 1 + filled, tstart - filled, th->normal, bar + filled);
    put_text(win, w->y, x + 1 + tstart, tlen, th->dim | A_BOLD, m->text);
}

const struct widget_class meter_class = {.name = "meter", .draw = meter_draw};

struct meter *
meter_new(void)
{
    struct meter *m = sm_xcalloc(1, sizeof *m);
    m->w.cls = &meter_class;
    return m;
}

void
meter_set(struct meter *m, const char *label, double percent, const char *text)
{
    snprintf(m->label, sizeof m->label, "%s", label);
    m->percent = percent;
    snprintf(m->text, sizeof m->text, "%s", text);
}

/* ---------------------------------------------------------------- graph */

/* Encode code point cp (< 0x10000) as UTF-8 into out (4 bytes). */
static void
utf8(unsigned cp, char *out)
{
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    out[3] = '\0';
}

/* Column of time t among n over [t0, t0 + span), clamped to -1 .. n. */
static long
column(double t, double t0, double span, int n)
{
    double c = floor((t - t0) / span * n);
    if (c < -1)
        return -1;
    if (c > n)
        return n;
    return (long)c;
}

/* Bucket the ring over [t0, t1] into n columns (max of each); NAN where empty. Columns
 * narrower than the sampling fall between points: the columns between two neighbouring
 * points (less than 2.5 steps apart; a folded minute's step for the ring's older points)
 * carry the earlier value, so a steady series draws as an area and a real gap shows. */
static void
bucket(const struct ring *r, double t0, double t1, double step, double *col, int n)
{
    for (int i = 0; i < n; i++)
        col[i] = (double)NAN;
    if (r == NULL || n <= 0 || !(t1 > t0))
        return;
    double span = t1 - t0, pt = (double)NAN, pv = 0;
    long pc = -1;
    size_t len = ring_len(r), nolder = r->older ? r->older->len : 0;
    /* From the last point before the window (it may bridge into it) to the first after. */
    size_t first = ring_lower_bound(r, t0);
    for (size_t i = first > 0 ? first - 1 : 0; i < len; i++) {
        double t, v;
        ring_get(r, i, &t, &v);
        if (t > t1 && !isnan(pt) && pt > t1)
            break;
        long c = column(t, t0, span, n);
        if (t >= t0 && t <= t1) {
            if (c >= n)
                c = n - 1;
            if (isnan(col[c]) || v > col[c])
                col[c] = v;
        }
        double s = nolder > 0 && i <= nolder ? MODEL_COARSE_STEP : step;
        if (!isnan(pt) && s > 0 && t - pt < 2.5 * s) {
            for (long k = pc + 1 > 0 ? pc + 1 : 0; k < c && k < n; k++)
                if (isnan(col[k]))
                    col[k] = pv;
        }
        pt = t;
        pv = v;
        pc = c;
    }
}

/* A rounded-up scale for the data: 1, 2, 5 x 10^k. */
static double
nice_max(double v)
{
    if (!(v > 0))
        return 1;
    double p = pow(10, floor(log10(v)));
    for (double m = 1; m <= 10; m *= 2) {
        if (v <= m * p)
            return m * p;
        if (m == 2 && v <= 5 * p)
            return 5 * p;
    }
    return 10 * p;
}

static int
is_percent(const char *series)
{
    char buf[32];
    fmt_series_value(buf, sizeof buf, series, 1);
    return strchr(buf, '%') != NULL;
}

/* Plot cols x rows cells at (y, x) from bucketed values (sub columns per cell: sub). */
static void
plot(WINDOW *win, int y, int x, int rows, int cols, const double *val, int sub, double ymax,
     enum graph_mode mode, attr_t attr)
{
    static const char *ascii = " .:|#";
    wattrset(win, attr);
    for (int c = 0; c < cols; c++) {
        for (int r = 0; r < rows; r++) {
            int from_bottom = rows - 1 - r;
            char ch[8] = " ";
            if (mode == GRAPH_BRAILLE) {
                unsigned bits = 0;
                static const unsigned left[4] = {0x40, 0x04, 0x02, 0x01};
                static const unsigned right[4] = {0x80, 0x20, 0x10, 0x08};
                for (int s = 0; s < 2; s++) {
                    double v = val[c * 2 + s];
                    if (isnan(v))
                        continue;
                    long dots = lround(v / ymax * rows * 4);
                    if (dots < 1 && v > 0)
                        dots = 1;
                    long here = dots - from_bottom * 4;
                    for (long k = 0; k < here && k < 4; k++)
                        bits |= s == 0 ? left[k] : right[k];
                }
                if (bits)
                    utf8(0x2800 + bits, ch);
            } else {
                double v = val[c * sub];
                if (!isnan(v)) {
                    int levels = mode == GRAPH_BLOCKS ? 8 : 4;
                    long n = lround(v / ymax * rows * levels);
                    if (n < 1 && v > 0)
                        n = 1;
                    long here = n - from_bottom * levels;
                    if (here > levels)
                        here = levels;
                    if (here > 0) {
                        if (mode == GRAPH_BLOCKS)
                            utf8(0x2580 + (unsigned)here, ch);
                        else
                            ch[0] = ascii[here];
                    }
                }
            }
            mvwaddstr(win, y + r, x + c, ch);
        }
    }
    wattrset(win, A_NORMAL);
}

static void
graph_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct graph *g = (struct graph *)w;
    const struct theme *th = &ui->theme;
    int sub = th->graph == GRAPH_BRAILLE ? 2 : 1;
    int lw = g->axes ? 9 : 0; /* value labels */
    int rows = g->axes ? w->h - 1 : w->h;
    int cols = w->w - lw;
    if (rows < 1 || cols < 1)
        return;
    double *val = sm_xreallocarray(NULL, (size_t)(cols * sub), sizeof *val);
    bucket(g->ring, g->t0, g->t1, g->step, val, cols * sub);
    double top = g->ymax;
    double latest = (double)NAN;
    for (int i = 0; i < cols * sub; i++) {
        if (isnan(val[i]))
            continue;
        latest = val[i];
        if (g->ymax <= 0 && val[i] > top)
            top = val[i];
    }
    if (g->ymax <= 0)
        top = is_percent(g->series) && top <= 100 ? 100 : nice_max(top);
    attr_t attr = g->attr ? g->attr : theme_level(th, is_percent(g->series) ? latest : 0);
    if (g->axes) {
        char a[32], b[32];
        fmt_series_value(a, sizeof a, g->series, top);
        fmt_series_value(b, sizeof b, g->series, top / 2);
        put_fmt(win, w->y, w->x, lw - 1, th->dim, "%8s", a);
        if (rows >= 3)
            put_fmt(win, w->y + rows / 2, w->x, lw - 1, th->dim, "%8s", b);
        fmt_series_value(a, sizeof a, g->series, 0);
        put_fmt(win, w->y + rows - 1, w->x, lw - 1, th->dim, "%8s", a);
        for (int r = 0; r < rows; r++)
            put_text(win, w->y + r, w->x + lw - 1, 1, th->dim,
                     th->graph == GRAPH_ASCII ? "|" : "\u2502");
        /* Time axis: the start, the middle and the end of the window, relative to now. */
        int ty = w->y + rows;
        char t0[32], t1[32], tm[32];
        double now = ui->now;
        fmt_duration(t0, sizeof t0, now - g->t0);
        fmt_duration(tm, sizeof tm, now - (g->t0 + g->t1) / 2);
        fmt_duration(t1, sizeof t1, now - g->t1);
        put_fmt(win, ty, w->x + lw, cols, th->dim, "-%s", t0);
        if (cols > 40)
            put_fmt(win, ty, w->x + lw + cols / 2 - 4, cols / 2, th->dim, "-%s", tm);
        char end[40];
        if (now - g->t1 < 1)
            snprintf(end, sizeof end, "now");
        else
            snprintf(end, sizeof end, "-%s", t1);
        int el = (int)strlen(end);
        if (cols > el + 12)
            put_text(win, ty, w->x + lw + cols - el, el, th->dim, end);
    }
    plot(win, w->y, w->x + lw, rows, cols, val, sub, top, th->graph, attr);
    free(val);
}

const struct widget_class graph_class = {.name = "graph", .draw = graph_draw};

struct graph *
graph_new(int axes)
{
    struct graph *g = sm_xcalloc(1, sizeof *g);
    g->w.cls = &graph_class;
    g->axes = axes;
    return g;
}

/* ---------------------------------------------------------------- table */

/* Column c's start (relative) and width within a table of total width wd. */
static int
col_span(const struct table *t, size_t c, int wd, int *start)
{
    int x = 0;
    for (size_t i = 0; i < c; i++)
        x += t->cols[i].width + 1;
    *start = x;
    int width = c + 1 == t->ncols ? wd - x : t->cols[c].width;
    if (x + width > wd)
        width = wd - x;
    return width > 0 ? width : 0;
}

void
table_draw_header(const struct table *t, WINDOW *win, int y, const struct theme *th)
{
    wattrset(win, th->header);
    mvwhline(win, y, t->w.x, ' ', t->w.w);
    for (size_t c = 0; c < t->ncols; c++) {
        int x, wd = col_span(t, c, t->w.w, &x);
        if (wd == 0)
            break;
        put_fmt(win, y, t->w.x + x, wd, th->header, t->cols[c].right ? "%*s" : "%-*s", wd,
                t->cols[c].title);
    }
}

void
table_draw_row(const struct table *t, WINDOW *win, int y, size_t i, int sel, const struct theme *th)
{
    if (sel) {
        wattrset(win, th->select);
        mvwhline(win, y, t->w.x, ' ', t->w.w);
    }
    for (size_t c = 0; c < t->ncols; c++) {
        int x, wd = col_span(t, c, t->w.w, &x);
        if (wd == 0)
            break;
        char buf[256] = "";
        attr_t attr = th->normal;
        t->cell(t->arg, i, c, buf, sizeof buf, &attr);
        if (sel)
            attr = th->select;
        put_fmt(win, y, t->w.x + x, wd, attr, t->cols[c].right ? "%*s" : "%-*s", wd, buf);
    }
}

static void
table_fix_scroll(struct table *t, int rows)
{
    if (t->nrows == 0) {
        t->sel = t->top = 0;
        return;
    }
    if (t->sel >= t->nrows)
        t->sel = t->nrows - 1;
    if (rows < 1)
        rows = 1;
    if (t->sel < t->top)
        t->top = t->sel;
    if (t->sel >= t->top + (size_t)rows)
        t->top = t->sel - (size_t)rows + 1;
    if (t->top + (size_t)rows > t->nrows)
        t->top = t->nrows > (size_t)rows ? t->nrows - (size_t)rows : 0;
}

static void
table_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct table *t = (struct table *)w;
    table_draw_header(t, win, w->y, &ui->theme);
    int rows = w->h - 1;
    table_fix_scroll(t, rows);
    for (int r = 0; r < rows && t->top + (size_t)r < t->nrows; r++) {
        size_t i = t->top + (size_t)r;
        table_draw_row(t, win, w->y + 1 + r, i, t->selectable && i == t->sel, &ui->theme);
    }
}

static int
table_key(struct widget *w, int key, struct ui *ui)
{
    (void)ui;
    struct table *t = (struct table *)w;
    size_t page = w->h > 2 ? (size_t)w->h - 2 : 1;
    size_t before = t->sel;
    switch (key) {
    case KEY_UP:
        if (t->sel > 0)
            t->sel--;
        break;
    case KEY_DOWN:
        if (t->sel + 1 < t->nrows)
            t->sel++;
        break;
    case KEY_PPAGE:
        t->sel = t->sel > page ? t->sel - page : 0;
        break;
    case KEY_NPAGE:
        t->sel = t->sel + page < t->nrows ? t->sel + page : (t->nrows ? t->nrows - 1 : 0);
        break;
    case KEY_HOME:
        t->sel = 0;
        break;
    case KEY_END:
        t->sel = t->nrows ? t->nrows - 1 : 0;
        break;
    default:
        return 0;
    }
    table_fix_scroll(t, w->h - 1);
    return HANDLED | (t->sel != before ? REDRAW : 0);
}

const struct widget_class table_class = {.name = "table", .draw = table_draw, .key = table_key};

struct table *
table_new(const struct table_col *cols, size_t ncols, table_cell_fn cell, void *arg)
{
    struct table *t = sm_xcalloc(1, sizeof *t);
    t->w.cls = &table_class;
    t->cols = cols;
    t->ncols = ncols;
    t->cell = cell;
    t->arg = arg;
    t->selectable = 1;
    return t;
}
