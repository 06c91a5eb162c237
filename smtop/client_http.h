/* client_http.h: one REST request as one libwebsockets HTTP client connection on the
 * loop: its headers, its reply (capped), its timeout and its outcome. Which requests run
 * when is client_rest's business. */
#ifndef SM_SMTOP_CLIENT_HTTP_H
#define SM_SMTOP_CLIENT_HTTP_H

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdint.h>
#include <sys/queue.h>

#include "buf.h"
#include "client.h"
#include "rc.h"

enum req_kind {
    REQ_GET,           /* client_get: the reply becomes CLIENT_EV_REPLY */
    REQ_AGENTS,        /* GET /agents: the reply becomes CLIENT_EV_AGENT events */
    REQ_ALERTS,        /* GET /alerts, then GET /alerts/active: one CLIENT_EV_ALERTS */
    REQ_ALERTS_ACTIVE, /* the second half of REQ_ALERTS */
    REQ_REFRESH,       /* POST /refresh while running */
    REQ_SYNC,          /* client_login's requests: the caller waits for them */
};

/* One REST request: one HTTP client connection on the loop. */
struct req {
    struct client *c;
    enum req_kind kind;
    uint64_t id;
    char *path;
    const char *method;
    char *body;  /* JSON to POST (wiped), or NULL */
    int authed;  /* send the access token */
    int retried; /* already retried after a 401 */
    int lock_fd; /* REQ_REFRESH: the token file lock, held until the reply */
    struct lws *wsi;
    lws_sorted_usec_list_t sul_timeout;
    int status;       /* HTTP status, 0 until the headers came */
    struct sm_buf rx; /* the reply body; wiped (the replies of /token and /refresh hold tokens) */
    int done;
    char *fail;             /* why there is no reply, or NULL */
    struct ev_node *alerts; /* REQ_ALERTS*: the event being built */
    STAILQ_ENTRY(req) link; /* in the client's queue, or its finished list */
};

/* The "detail" of an error reply, or a generic text. */
const char *http_detail(const cJSON *json);
/* A new request (path copied; body, JSON or NULL, is taken and wiped when freed); authed:
 * send the access token. Nothing starts until req_start. */
struct req *req_new(struct client *c, enum req_kind kind, const char *method, const char *path,
                    char *body, int authed);
/* Free r; a connection still open is let go. NULL is a no-op. */
void req_free(struct req *r);
/* Open the connection for r. A failure finishes r (handled later, as any reply). */
void req_start(struct req *r);
/* The outcome of a finished request: SM_OK when the server answered (any status, in
 * *status; *json the parsed body or NULL); SM_EIO with *cause when it could not be
 * reached or the reply was bad. */
enum sm_rc req_result(struct req *r, long *status, cJSON **json, char **cause);
/* One request before the loop runs (login): service the context until it is over. */
enum sm_rc http_sync(struct client *c, const char *method, const char *path, char *body,
                     long *status, cJSON **json, char **cause);
/* The callback of the HTTP protocol (client_protocols). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

#endif
