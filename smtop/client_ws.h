/* client_ws.h: the live stream, a WebSocket to /ws: connect, authenticate, subscribe,
 * take messages whole (capped), reconnect with backoff. */
#ifndef SM_SMTOP_CLIENT_WS_H
#define SM_SMTOP_CLIENT_WS_H

#include <libwebsockets.h>

/* Connect the stream (the sul_retry timer); when there is no access token yet, wait
 * for one. */
void ws_connect(lws_sorted_usec_list_t *sul);
/* The callback of the stream protocol (client_protocols). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);

#endif
