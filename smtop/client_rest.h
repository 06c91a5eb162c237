/* client_rest.h: the REST requests on the loop, one at a time: a due token refresh
 * first, then the alerts, then the queue (GET /agents, client_get); replies become
 * events. */
#ifndef SM_SMTOP_CLIENT_REST_H
#define SM_SMTOP_CLIENT_REST_H

#include <libwebsockets.h>

#include "client.h"

/* Handle the finished requests (the sul_done timer, set by a finished request). */
void rest_done(lws_sorted_usec_list_t *sul);
/* Run rest_kick from the loop, not from the caller (a draw queues requests and must
 * do no I/O). */
void rest_soon(struct client *c);
/* Start the next request when none is in flight, and wake up again when the next
 * refresh or alerts are due. */
void rest_kick(struct client *c);
/* Queue a GET /agents (at most one waiting). */
void rest_fetch_agents(struct client *c);

#endif
