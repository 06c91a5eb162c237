/* ui.h: the interactive dashboard (ncurses): views, key table, event loop. */
#ifndef SM_SMTOP_UI_H
#define SM_SMTOP_UI_H

#include <stdio.h>

#include "smtop.h"

struct ui;
struct loop;

/* Where the dashboard's data comes from. start() runs once the model and the loop
 * exist, before the first frame: it registers its fds and timers with the loop
 * (loop_add_fd, loop_add_timer), feeds ui->model from their callbacks, counts each
 * refresh in ui->refreshes (for -n), may set ui->host_id, ui->status (shown on the
 * function bar; set ui->dirty after changing it) and returns its own state, which
 * stop() frees after the loop ends. start() runs with curses active: whatever needs
 * the terminal itself (a password prompt) happens before ui_run. Local mode is
 * ui_source_local; server mode (smtop/client.c) supplies its own, with first_view
 * "fleet". */
struct ui_source {
    const char *name;
    const char *first_view; /* a name from the view table */
    void *(*start)(struct ui *ui, struct loop *loop);
    void (*stop)(void *state);
};
extern const struct ui_source ui_source_local;

/* Run the dashboard on source (NULL: ui_source_local) until the user quits, -n
 * refreshes have been drawn, or SIGINT/SIGTERM. The terminal is restored in every
 * case. Returns an exit code. */
int ui_run(const struct smtop_opts *o, const struct ui_source *source);

/* Print the key table, one "KEY<TAB>VIEW<TAB>WHAT" line per binding (--list-keys). */
void ui_print_keys(FILE *out);

#endif
