/* ui.h: the interactive dashboard (ncurses): views, key table, event loop. */
#ifndef SM_SMTOP_UI_H
#define SM_SMTOP_UI_H

#include <stdio.h>

#include "smtop.h"

/* Run the dashboard in local mode until the user quits, -n refreshes have been drawn,
 * or SIGINT/SIGTERM. The terminal is restored in every case. Returns an exit code. */
int ui_run(const struct smtop_opts *o);

/* Print the key table, one "KEY<TAB>VIEW<TAB>WHAT" line per binding (--list-keys). */
void ui_print_keys(FILE *out);

#endif
