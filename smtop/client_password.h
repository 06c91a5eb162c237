/* client_password.h: the password for login (client_login asks for it through a
 * client_password_fn), read before the loop runs and the terminal is taken over. */
#ifndef SM_SMTOP_CLIENT_PASSWORD_H
#define SM_SMTOP_CLIENT_PASSWORD_H

/* Read a password for user: from file when not NULL (first line), else from the
 * environment variable SMTOP_PASSWORD, else from the terminal with echo off (prompt on
 * /dev/tty). NULL with *cause when none can be had. Used before the loop runs. */
char *client_password(const char *file, const char *user, char **cause);

#endif
