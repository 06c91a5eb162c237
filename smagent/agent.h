/* agent.h: smagent as a service: the main loop (sample, post, spool, retry). */
#ifndef SM_SMAGENT_AGENT_H
#define SM_SMAGENT_AGENT_H

#include "settings.h"

/* Run until SIGTERM or SIGINT; SIGHUP reloads the settings. cli is what the command
 * line said (kept for reloads); proc_root and sys_root may be NULL. Returns the exit
 * code: 0 after a signal (unsent samples stay in the spool), 1 when it cannot start. */
int agent_run(const struct settings_cli *cli, const char *proc_root, const char *sys_root);

#endif
