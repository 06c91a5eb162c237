/* stream.h: the WebSocket live stream (/ws, /ws/{id}) on the libwebsockets loop.
 *
 * Authentication: the access token as the first message ({"type":"auth","token":...})
 * or offered as a subprotocol beside ours: "Sec-WebSocket-Protocol: sm, bearer.TOKEN".
 * libwebsockets 4.1 copies that header into 128 bytes and refuses protocol names over
 * 63 bytes, so "sm" must come first and the header must stay under 127 bytes (our access
 * tokens are compact for this); a longer header is refused at the handshake. A token in
 * the query string is refused. No valid authentication within STREAM_AUTH_TIMEOUT_S, or
 * any other first message, closes with 1008 before any data is sent.
 *
 * Threads: everything here runs on the event loop. */
#ifndef SM_SMSERVER_STREAM_H
#define SM_SMSERVER_STREAM_H

#include <stdint.h>

#include "hub.h"
#include "rc.h"

#define STREAM_PROTOCOL "sm"
#define STREAM_AUTH_TIMEOUT_S 5
#define STREAM_MSG_MAX 16384       /* a client message larger than this closes with 1009 */
#define STREAM_RATE_MAX 20         /* client messages per second before closing (flood) */
#define STREAM_QUEUE_MAX 256       /* per-client queue before the oldest is dropped */
#define STREAM_DROP_CLOSE 4096     /* unread drops after which a stuck client is closed */
#define STREAM_SNDBUF (128 * 1024) /* kernel send buffer per stream connection */

struct lws;
struct lws_context;
struct lws_protocols;

/* What the stream needs, given to it when its protocol entry is made
 * (stream_protocol_init); owned by the caller. */
struct stream_env {
    struct hub *hub;
    /* Verify an access token: SM_OK with the user and the expiry (unix seconds), or
     * SM_EAUTH. Event loop thread; must not block. */
    enum sm_rc (*verify)(void *arg, const char *token, int64_t *user_id, double *expires);
    void *verify_arg;
    /* Extra allowed Origins, comma separated ("https://ops.example.com"), or NULL.
     * The server's own origin (scheme + Host) is always allowed. */
    const char *origins;
};

/* Fill *out with the stream's entry for a vhost's protocol list. The entry carries env
 * (libwebsockets' per-protocol user pointer), which must outlive the lws context; the
 * stream reads nothing else of its caller. Main thread, before the context is made. */
void stream_protocol_init(struct lws_protocols *out, const struct stream_env *env);

/* Ask for a write on every client that has something queued or must be closed. Call
 * after hub_publish/hub_agent_remove/hub_revoke_user and after hub_tick. */
void stream_kick(struct hub *h);

#endif
