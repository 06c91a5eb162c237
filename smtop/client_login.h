/* client_login.h: the tokens: login before the loop (client_login, client.h) and the
 * refresh of the access token while it runs. */
#ifndef SM_SMTOP_CLIENT_LOGIN_H
#define SM_SMTOP_CLIENT_LOGIN_H

#include "client.h"

struct req;

/* The body of POST /refresh for the stored token (allocated, to be wiped), or NULL with
 * *cause when no token is stored. */
char *login_refresh_body(struct client *c, char **cause);
/* A POST /refresh while running is over: take the tokens, or say why not. */
void login_refresh_done(struct client *c, struct req *r);

#endif
