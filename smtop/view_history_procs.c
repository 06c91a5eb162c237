/* view_history_procs.c: the history view's time cursor and the top processes of the
 * minute under it, from the server's process snapshots (view_history_procs.h). The
 * panel is procs_panel without signals; its rows are the snapshot's. */
#include "config.h"

#include "view_history_procs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "procs_panel.h"
#include "source_remote.h"
#include "xmalloc.h"

struct history_procs {
    int on;
    double cursor; /* unix seconds, the start of a minute; 0 until placed */
    struct procs_panel *panel;
    int host_id;
    unsigned gen; /* of the snapshot shown */
};

struct history_procs *
history_procs_new(void)
{
    struct history_procs *hp = sm_xcalloc(1, sizeof *hp);
    hp->panel = procs_panel_new(0);
    return hp;
}

void
history_procs_free(struct history_procs *hp)
{
    if (!hp)
        return;
    widget_free(procs_panel_widget(hp->panel));
    free(hp);
}

int
history_procs_height(const struct history_procs *hp, int h)
{
    return hp->on && h >= 12 ? h / 2 : 0;
}

/* The cursor kept on a minute inside [t0, t1). */
static void
clamp(struct history_procs *hp, double t0, double t1)
{
    double first = ceil(t0 / 60) * 60, last = floor((t1 - 1) / 60) * 60;
    if (last < first)
        last = first;
    if (hp->cursor < first)
        hp->cursor = first;
    if (hp->cursor > last)
        hp->cursor = last;
}

int
history_procs_key(struct history_procs *hp, enum history_procs_action a, const struct ui *ui,
                  double t0, double t1)
{
    (void)ui;
    if (a == HP_TOGGLE) {
        hp->on = !hp->on;
        if (hp->on && hp->cursor == 0)
            hp->cursor = floor((t1 - 60) / 60) * 60; /* the last whole minute */
        if (hp->on)
            clamp(hp, t0, t1);
        return HANDLED | REDRAW;
    }
    if (!hp->on)
        return 0;
    static const int step[] = {[HP_BACK] = -1, [HP_FWD] = 1, [HP_BACK10] = -10, [HP_FWD10] = 10};
    hp->cursor += step[a] * 60.0;
    clamp(hp, t0, t1);
    return HANDLED | REDRAW;
}

static const char *
hhmm(double t, char *buf, size_t len, int seconds)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm) || !strftime(buf, len, seconds ? "%H:%M:%S" : "%H:%M", &tm))
        snprintf(buf, len, "?");
    return buf;
}

void
history_procs_draw(struct history_procs *hp, WINDOW *win, const struct ui *ui, double t0, double t1,
                   int gy, int gx, int gh, int gw, int y, int x, int h, int w)
{
    const struct theme *th = &ui->theme;
    if (!hp->on || h < 3)
        return;
    clamp(hp, t0, t1);
    /* The cursor: the minute's column of the plot in reverse video. */
    if (t1 > t0 && gw > 0) {
        int cx = gx + (int)((hp->cursor + 30 - t0) / (t1 - t0) * gw);
        if (cx >= gx + gw)
            cx = gx + gw - 1;
        for (int r = gy; r < gy + gh; r++)
            mvwchgat(win, r, cx, 1, A_REVERSE, 0, NULL);
    }
    char a[16], b[16];
    hhmm(hp->cursor, a, sizeof a, 0);
    if (!ui->remote) {
        put_fmt(win, y, x, w, th->dim, "Processes at %s: stored process snapshots need --server",
                a);
        return;
    }
    if (hp->host_id != ui->host_id) {
        procs_panel_set(hp->panel, NULL, 0);
        hp->host_id = ui->host_id;
    }
    const struct remote_procs *rp = source_remote_procs(ui->remote, ui->host_id, hp->cursor);
    if (rp->gen != hp->gen) {
        procs_panel_set(hp->panel, rp->v, rp->status == 200 ? rp->n : 0);
        hp->gen = rp->gen;
    }
    int cx = x;
    cx += put_fmt(win, y, cx, w, th->title, "Processes at %s", a);
    if (rp->status == 200)
        put_fmt(win, y, cx, x + w - cx, th->normal,
                "  (snapshot of %s, %zu processes)  [ ] a minute  { } ten  p hide",
                hhmm(rp->ts, b, sizeof b, 1), rp->n);
    else if (rp->status == 404)
        put_fmt(win, y, cx, x + w - cx, th->dim,
                "  no process snapshot at or before this minute  [ ] a minute  p hide");
    else if (rp->status == 0)
        put_text(win, y, cx, x + w - cx, th->dim, "  asking the server...");
    else
        put_fmt(win, y, cx, x + w - cx, th->warn,
                "  the server gave no snapshot (status %d: an older smserver?)", rp->status);
    if (rp->status != 200)
        return;
    struct widget *pw = procs_panel_widget(hp->panel);
    widget_resize(pw, y + 1, x, h - 1, w);
    widget_draw(pw, win, ui);
}
