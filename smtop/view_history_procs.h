/* view_history_procs.h: the history view's time cursor and the panel of the top
 * processes of the minute under it ("what was hot at 03:12"), from the server's stored
 * process snapshots (GET /history/{id}/processes). Server mode only; in local mode the
 * panel says so. view_history.c owns one and calls these. */
#ifndef SM_SMTOP_VIEW_HISTORY_PROCS_H
#define SM_SMTOP_VIEW_HISTORY_PROCS_H

#include "views.h"

struct history_procs;

/* What the history view's keys ask of the cursor. */
enum history_procs_action {
    HP_TOGGLE, /* show or hide the cursor and the panel */
    HP_BACK,   /* the cursor a minute back */
    HP_FWD,    /* a minute forward */
    HP_BACK10, /* ten minutes back */
    HP_FWD10,  /* ten minutes forward */
};

struct history_procs *history_procs_new(void);
void history_procs_free(struct history_procs *hp);
/* Rows the panel takes out of the view's h (0 when hidden). */
int history_procs_height(const struct history_procs *hp, int h);
/* Draw the cursor over the graph plot (rows gy to gy + gh - 1, columns gx to
 * gx + gw - 1, times t0 to t1) and the panel in rows y to y + h - 1 of columns x to
 * x + w - 1; queues the snapshot's request when the minute changed (no I/O). Nothing
 * when hidden. */
void history_procs_draw(struct history_procs *hp, WINDOW *win, const struct ui *ui, double t0,
                        double t1, int gy, int gx, int gh, int gw, int y, int x, int h, int w);
/* Act on a; returns HANDLED | REDRAW, or 0 when hidden and a is not HP_TOGGLE. t0, t1:
 * the graph's range, which the cursor stays in. */
int history_procs_key(struct history_procs *hp, enum history_procs_action a, const struct ui *ui,
                      double t0, double t1);

#endif
