/* procs_panel.h: the process panel, with htop's habits.
 *
 * A widget over an array of struct sm_proc (every process of this machine in local
 * mode; an agent's sample's top processes in server mode): columns PID USER S CPU% RES
 * THR TIME+ START COMMAND, sorted by a column (P, M, T, < and >, F6 for a menu, I to invert),
 * filtered (F4 or \), searched incrementally (F3 or /, F3 again for the next match),
 * shown as a tree (F5 or t), following one process (F), and signalled (F9 or k: a
 * signal menu, then a confirmation; only when made with can_signal, i.e. local mode).
 *
 * The panel keeps its own copy of the rows (procs_panel_set), so the source may reuse
 * its list. Text from the processes is drawn through a filter that replaces every
 * control byte, whatever the source did. While a prompt or menu is open the panel
 * takes every key (procs_panel_modal). */
#ifndef SM_SMTOP_PROCS_PANEL_H
#define SM_SMTOP_PROCS_PANEL_H

#include <stddef.h>

#include "collect/proc.h"
#include "views.h"
#include "widget.h"

enum procs_sort {
    PS_PID,
    PS_USER,
    PS_STATE,
    PS_CPU,
    PS_RSS,
    PS_THREADS,
    PS_TIME,
    PS_START, /* start time: newest first */
    PS_COMMAND,
    PS_NCOLS
};

struct procs_panel;

/* A panel (free with widget_free). can_signal: offer the kill menu (local mode only). */
struct procs_panel *procs_panel_new(int can_signal);
/* The widget of the panel, for widget_resize, widget_draw and widget_key. */
struct widget *procs_panel_widget(struct procs_panel *p);
/* Replace the rows with a copy of the n processes at v (n capped at SM_PROC_MAX). */
void procs_panel_set(struct procs_panel *p, const struct sm_proc *v, size_t n);
/* Whether the panel has the keyboard focus (arrows move its selection), and set it. */
int procs_panel_focused(const struct procs_panel *p);
void procs_panel_focus(struct procs_panel *p, int on);
/* A prompt or menu is open: every key should go to the panel first. */
int procs_panel_modal(const struct procs_panel *p);
/* The sort column, and whether it is ascending (for tests and the header). */
enum procs_sort procs_panel_sort(const struct procs_panel *p, int *ascending);

/* A click at screen (y, x): on the header sorts by that column, on a row selects it
 * (and gives the panel the focus). 0 when the click is not on the panel. */
int procs_panel_click(struct procs_panel *p, int y, int x);
/* The rows shown, in order: up to max pids (and tree depths, when depth is not NULL)
 * copied out; returns how many rows are shown. For tests. */
size_t procs_panel_shown(const struct procs_panel *p, int32_t *pids, int *depth, size_t max);
/* The message on the panel's bottom line ("" when none). */
const char *procs_panel_message(const struct procs_panel *p);

/* The keys, for the help view, --list-keys and the man page. */
extern const struct key_binding procs_keys[];

#endif
