/* ui_fleet.h: the interactive dashboard in server mode: the fleet view (one row per
 * agent), the host view of an agent with history graphs from /history, and help. */
#ifndef SM_SMTOP_UI_FLEET_H
#define SM_SMTOP_UI_FLEET_H

#include <stdio.h>

#include "smtop.h"

/* Log in (the password is asked before the screen is taken), then run the dashboard
 * until the user quits, -n refreshes have been drawn, or SIGINT/SIGTERM. The terminal is
 * restored in every case. Returns an exit code (1 when the login failed). */
int ui_run_server(const struct smtop_opts *o);

/* Print the server-mode key table, one "KEY<TAB>VIEW<TAB>WHAT" line per binding. */
void ui_fleet_print_keys(FILE *out);

#endif
