/* view_history.c: a graph of one metric of the host over 5m / 1h / 24h / 7d, from the
 * model's rings (in local mode: since smtop started), with min/avg/max of the visible
 * range; a list of every series to pick from when the terminal is wide enough. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "source_remote.h"
#include "view_history_procs.h"
#include "views.h"
#include "xmalloc.h"

#define LIST_WIDTH 34
#define LIST_WIDE 48 /* the list on a screen of LIST_WIDE_SCREEN columns or more */
#define LIST_WIDE_SCREEN 140
#define LIST_MIN_SCREEN 90

static const struct {
    double seconds;
    const char *name;
} windows[] = {{300, "5m"}, {3600, "1h"}, {86400, "24h"}, {7 * 86400, "7d"}};
#define NWINDOWS (sizeof windows / sizeof windows[0])

enum history_action {
    Y_UP,
    Y_DOWN,
    Y_PGUP,
    Y_PGDN,
    Y_BACK,
    Y_FWD,
    Y_LIVE,
    Y_W1,
    Y_W2,
    Y_W3,
    Y_W4,
    /* The time cursor and its processes (view_history_procs.c), in the order of enum
     * history_procs_action. */
    Y_PROCS,
    Y_CUR_BACK,
    Y_CUR_FWD,
    Y_CUR_BACK10,
    Y_CUR_FWD10,
};

const struct key_binding history_keys[] = {
    {KEY_UP, "Up", Y_UP, "previous metric"},
    {KEY_DOWN, "Down", Y_DOWN, "next metric"},
    {KEY_PPAGE, "PgUp", Y_PGUP, "a page of metrics up"},
    {KEY_NPAGE, "PgDn", Y_PGDN, "a page of metrics down"},
    {KEY_LEFT, "Left", Y_BACK, "scroll back in time by half the range"},
    {KEY_RIGHT, "Right", Y_FWD, "scroll forward in time by half the range"},
    {KEY_END, "End", Y_LIVE, "back to now (live)"},
    {'1', "1", Y_W1, "show the last 5 minutes"},
    {'2', "2", Y_W2, "show the last hour"},
    {'3', "3", Y_W3, "show the last 24 hours"},
    {'4', "4", Y_W4, "show the last 7 days"},
    {'p', "p", Y_PROCS, "a time cursor and the top processes of its minute (server mode)"},
    {'[', "[", Y_CUR_BACK, "the time cursor a minute back"},
    {']', "]", Y_CUR_FWD, "the time cursor a minute forward"},
    {'{', "{", Y_CUR_BACK10, "the time cursor ten minutes back"},
    {'}', "}", Y_CUR_FWD10, "the time cursor ten minutes forward"},
    {0, NULL, 0, NULL},
};

static const struct table_col list_cols[] = {{"Metric", 0, 0}};

struct history_view {
    struct widget w;
    size_t window; /* index into windows[] */
    double offset; /* seconds before now at the right edge (0: live) */
    struct table *list;
    struct graph *graph;
    struct history_procs *procs; /* the time cursor and its processes */
    const struct model_host *cur;
    char applied[MODEL_SERIES_LEN]; /* the last ui->history_series acted on */
    int list_w;                     /* columns of the list this frame */
};

/* A series name in at most width columns: whole when it fits; else, for a labelled one,
 * its label key dropped and its value cut on the left, since the end of a label tells
 * series apart ("temp.celsius{...0000/Package id 0}", "cgroup.cpu_percent{...er.service}").
 * Bytes, not columns: labels are sanitized UTF-8, and a cut never splits a character. */
static void
short_name(char *buf, size_t len, const char *name, size_t width)
{
    size_t n = strlen(name);
    const char *brace = strchr(name, '{'), *eq = brace ? strchr(brace, '=') : NULL;
    if (n <= width || eq == NULL || name[n - 1] != '}') {
        snprintf(buf, len, "%s", name);
        return;
    }
    const char *dots = fmt_utf8() ? "\xe2\x80\xa6" : "~"; /* U+2026 HORIZONTAL ELLIPSIS */
    size_t head = (size_t)(brace - name) + 1, room = head + 2 < width ? width - head - 2 : 0;
    const char *val = eq + 1, *end = name + n - 1;
    const char *from = (size_t)(end - val) > room ? end - room : val;
    while (from < end && ((unsigned char)*from & 0xc0) == 0x80)
        from++;
    snprintf(buf, len, "%.*s%s%.*s}", (int)head, name, from > val ? dots : "", (int)(end - from),
             from);
}

static void
list_cell(void *arg, size_t row, size_t col, char *buf, size_t len, attr_t *attr)
{
    const struct history_view *v = arg;
    (void)col;
    (void)attr;
    short_name(buf, len, v->cur->series[row].name, (size_t)(v->list_w > 1 ? v->list_w - 1 : 1));
}

/* Point the list's selection at ui->history_series (when it names a series). */
static void
select_requested(struct history_view *v, const struct ui *ui)
{
    if (v->cur == NULL || strcmp(v->applied, ui->history_series) == 0)
        return;
    for (size_t i = 0; i < v->cur->nseries; i++) {
        if (strcmp(v->cur->series[i].name, ui->history_series) == 0) {
            v->list->sel = i;
            snprintf(v->applied, sizeof v->applied, "%s", ui->history_series);
            break;
        }
    }
}

static void
history_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct history_view *v = (struct history_view *)w;
    const struct theme *th = &ui->theme;
    v->cur = model_host_find(ui->model, ui->host_id);
    if (ui->remote && v->cur)
        source_remote_series_list(ui->remote, ui->host_id);
    select_requested(v, ui);
    if (v->cur == NULL || v->cur->nseries == 0) {
        put_text(win, w->y, w->x, w->w, th->dim, "no data yet");
        return;
    }
    v->list->nrows = v->cur->nseries;
    if (v->list->sel >= v->list->nrows)
        v->list->sel = v->list->nrows - 1;
    int gx = w->x, gw = w->w;
    v->list_w = w->w >= LIST_WIDE_SCREEN ? LIST_WIDE : LIST_WIDTH;
    int ph = history_procs_height(v->procs, w->h), gh = w->h - ph; /* the panel's rows */
    if (w->w >= LIST_MIN_SCREEN) {
        widget_resize(&v->list->w, w->y, w->x, gh, v->list_w);
        widget_draw(&v->list->w, win, ui);
        gx += v->list_w + 1;
        gw -= v->list_w + 1;
    }
    const struct model_series *s = &v->cur->series[v->list->sel];
    double span = windows[v->window].seconds;
    double t1 = ui->now - v->offset, t0 = t1 - span;
    char when[48], a[32], b[32], c[32], d[32];
    if (v->offset < 1)
        snprintf(when, sizeof when, "live");
    else
        snprintf(when, sizeof when, "ending %s ago", fmt_duration(a, sizeof a, v->offset));
    int x = gx;
    x += put_text(win, w->y, x, gx + gw - x, th->title, s->name);
    put_fmt(win, w->y, x, gx + gw - x, th->normal, "  last %s, %s  (%s:%s)",
            windows[v->window].name, when, v->cur->name,
            th->graph == GRAPH_BRAILLE  ? "braille"
            : th->graph == GRAPH_BLOCKS ? "blocks"
                                        : "ascii");
    /* Server mode: the server's rollups for this window, sized to the graph (braille
     * has two dots per cell); local mode: the model's rings. */
    const struct ring *ring = &s->ring;
    double step = ui->delay;
    if (ui->remote) {
        size_t pts = (size_t)(gw > 8 ? gw : 8) * 2;
        double age = span / (double)pts;
        const struct remote_history *rh = source_remote_history(
            ui->remote, ui->host_id, s->name, span, v->offset, pts, age < 5 ? 5 : age);
        ring = &rh->ring;
        step = span / (double)pts;
    }
    double lo, avg, hi, lt, lv;
    size_t n = ring_stats(ring, t0, t1, &lo, &avg, &hi);
    if (n > 0) {
        x = gx;
        x += put_fmt(win, w->y + 1, x, gx + gw - x, th->normal, "min %s  avg %s  max %s",
                     fmt_series_value(a, sizeof a, s->name, lo),
                     fmt_series_value(b, sizeof b, s->name, avg),
                     fmt_series_value(c, sizeof c, s->name, hi));
        if (ring_last(ring, &lt, &lv))
            put_fmt(win, w->y + 1, x, gx + gw - x, th->dim, "  now %s  (%zu points)",
                    fmt_series_value(d, sizeof d, s->name, lv), n);
    } else {
        put_text(win, w->y + 1, gx, gw, th->dim, "no points in this range");
    }
    struct graph *g = v->graph;
    g->ring = ring;
    snprintf(g->series, sizeof g->series, "%s", s->name);
    g->t0 = t0;
    g->t1 = t1;
    g->ymax = 0;
    g->step = step;
    widget_resize(&g->w, w->y + 2, gx, gh - 2, gw);
    widget_draw(&g->w, win, ui);
    /* The plot is right of the graph's 9 columns of labels, above its time axis. */
    history_procs_draw(v->procs, win, ui, t0, t1, w->y + 2, gx + 9, gh - 3, gw - 9, w->y + gh, w->x,
                       ph, w->w);
}

static int
history_key(struct widget *w, int key, struct ui *ui)
{
    struct history_view *v = (struct history_view *)w;
    int action = key_lookup(history_keys, key);
    v->cur = model_host_find(ui->model, ui->host_id);
    v->list->nrows = v->cur ? v->cur->nseries : 0;
    if (key == KEY_MOUSE && w->w >= LIST_MIN_SCREEN &&
        ui->mouse_x < w->x + (w->w >= LIST_WIDE_SCREEN ? LIST_WIDE : LIST_WIDTH)) {
        /* A click in the list picks that metric (row 0 is the header). */
        int row = ui->mouse_y - w->y - 1;
        if (row >= 0 && v->list->top + (size_t)row < v->list->nrows)
            v->list->sel = v->list->top + (size_t)row;
        return HANDLED | REDRAW;
    }
    if (action < 0)
        return 0;
    double span = windows[v->window].seconds;
    if (action >= Y_PROCS) {
        double t1 = ui->now - v->offset;
        return history_procs_key(v->procs, (enum history_procs_action)(action - Y_PROCS), ui,
                                 t1 - span, t1);
    }
    switch (action) {
    case Y_UP:
        return widget_key(&v->list->w, KEY_UP, ui) | HANDLED | REDRAW;
    case Y_DOWN:
        return widget_key(&v->list->w, KEY_DOWN, ui) | HANDLED | REDRAW;
    case Y_PGUP:
        return widget_key(&v->list->w, KEY_PPAGE, ui) | HANDLED | REDRAW;
    case Y_PGDN:
        return widget_key(&v->list->w, KEY_NPAGE, ui) | HANDLED | REDRAW;
    case Y_BACK:
        /* No further back than the model keeps (the server keeps 30 days). */
        if (v->offset + span / 2 <= (ui->remote ? 30 * 86400.0 : ui->model->span))
            v->offset += span / 2;
        break;
    case Y_FWD:
        v->offset = v->offset > span / 2 ? v->offset - span / 2 : 0;
        break;
    case Y_LIVE:
        v->offset = 0;
        break;
    default:
        v->window = (size_t)(action - Y_W1);
        if (v->window >= NWINDOWS)
            v->window = 0;
        v->offset = 0;
        break;
    }
    return HANDLED | REDRAW;
}

static void
history_free(struct widget *w)
{
    struct history_view *v = (struct history_view *)w;
    widget_free(&v->list->w);
    widget_free(&v->graph->w);
    history_procs_free(v->procs);
    free(v);
}

static const struct widget_class history_class = {
    .name = "history", .draw = history_draw, .key = history_key, .free = history_free};

struct widget *
view_history_new(struct ui *ui)
{
    (void)ui;
    struct history_view *v = sm_xcalloc(1, sizeof *v);
    v->w.cls = &history_class;
    v->list = table_new(list_cols, 1, list_cell, v);
    v->graph = graph_new(1);
    v->procs = history_procs_new();
    return &v->w;
}
