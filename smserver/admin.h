/* admin.h: the admin sub-commands (smserver user add|list, smserver agent add|list, smserver alert
 * list). */
#ifndef SM_SMSERVER_ADMIN_H
#define SM_SMSERVER_ADMIN_H

/* 1 when argv[1] names an admin sub-command. */
int admin_is_command(int argc, char **argv);

/* Run the admin sub-command in argv[1..]; returns the exit code. default_state is the
 * state directory when --state-dir is not given. Main thread. */
int admin_main(int argc, char **argv, const char *default_state);

#endif
