/* client_impl.h: the client object that the client_*.c files share (smtop/client.h is
 * what the rest of smtop sees), and the limits more than one of them keeps; a limit one
 * file keeps is defined there. */
#ifndef SM_SMTOP_CLIENT_IMPL_H
#define SM_SMTOP_CLIENT_IMPL_H

#include <libwebsockets.h>
#include <stdint.h>
#include <sys/queue.h>

#include "buf.h"
#include "client.h"

#define CLIENT_TOKEN_MAX 512 /* longest token accepted from the server or a file */

#define CLIENT_PROTO_STREAM "sm"
#define CLIENT_PROTO_HTTP "sm-http"

struct ev_node;
struct req;

struct client {
    /* Fixed after client_new. */
    struct lws_context *ctx; /* the loop's */
    char *base;              /* URL without a trailing slash */
    char *user;
    char *token_path; /* NULL: the refresh token is not kept */
    char *host;       /* for the stream */
    /* The numeric address of the first connection that worked: later connections go
     * there without a name lookup, which would block the loop (libwebsockets resolves
     * names synchronously). Empty until then. */
    char addr[64];
    int port;
    int tls;
    char *path_prefix;
    char *ws_path;
    char *host_header;

    /* Events for the UI. */
    STAILQ_HEAD(ev_queue, ev_node) events; /* oldest first */
    size_t ev_count;
    uint64_t ev_dropped;

    /* Tokens. */
    char *access;
    uint64_t access_gen;
    double refresh_at; /* monotonic time to refresh the access token */
    int refresh_wanted;
    int auth_dead;   /* the server refused the refresh token */
    char *login_why; /* why the last refresh failed (no session yet), else NULL */

    /* REST: one request in flight at a time; the others wait in the queue. */
    struct req *cur;
    STAILQ_HEAD(req_queue, req) reqs; /* waiting; the first runs next */
    struct req_queue done;            /* finished, handled (oldest first) at the next sul_done */
    lws_sorted_usec_list_t sul_done, sul_rest;
    uint64_t next_id;
    int agents_pending;
    int stream_live;  /* subscribed: the alerts are worth fetching */
    double alerts_at; /* monotonic time of the next alerts fetch */
    int stop;
    int started;

    /* The stream. */
    struct lws *wsi;
    int in_connect, connect_failed;
    char connect_why[240];
    lws_sorted_usec_list_t sul_retry;
    unsigned attempts;
    uint64_t sent_gen;
    int send_auth, send_subscribe;
    int waiting_token; /* no access token yet: connect when the refresh brings one */
    struct sm_buf rx;  /* a stream message, capped (client_ws.c) at each connect */
    int rx_toobig;
    char close_why[128];
    int64_t *known;
    size_t nknown, known_cap;
    unsigned seed;
};

/* Where to connect: the learnt address or the URL's host, with the port, the Host
 * header and TLS every connection to the server shares; proto names the protocol. */
void client_connect_info(const struct client *c, struct lws_client_connect_info *ci,
                         const char *proto);
/* Why the connection of wsi failed, from libwebsockets' reason in (may be NULL), as
 * "cannot connect: ..." in why; a refused server certificate says so and why. */
void client_connect_why(struct lws *wsi, const void *in, char *why, size_t size);
/* Learn the server's numeric address from a connection that worked. */
void client_learn_address(struct client *c, struct lws *wsi);
/* Wipe and free a string that may hold a secret; NULL is a no-op. */
void client_wipe_free(char *s);

#endif
