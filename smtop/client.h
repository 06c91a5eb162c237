/* client.h: smtop's network side in server mode: login and token upkeep, the live stream
 * (WebSocket /ws) and REST requests (/agents, /history, /alerts, /refresh), all as
 * libwebsockets client connections on smtop's one loop (smtop/loop.c), so that the
 * terminal never waits on a socket and no thread is needed.
 *
 * The loop's context is made with client_protocols() (loop_new) and given to the client
 * in client_options.ctx. Everything here runs on that one thread: the stream connects,
 * authenticates, subscribes, decodes messages and reconnects with jittered exponential
 * backoff (an lws_sul timer); REST requests run one at a time, each on its own HTTP
 * connection, after a due refresh of the access token. Results wait as events in a queue
 * that the caller empties with client_drain() after each turn of the loop.
 *
 * Secrets: the password is used for one POST /token and wiped; the access token lives
 * only in memory (it is sent in request headers and the first stream message, never in
 * a URL or argv); the refresh token is kept in STATE/statusmonitor/USER@SERVER (0600, in
 * a 0700 directory) and replaced atomically when the server rotates it.
 *
 * The files, one seam each (client_impl.h holds the object they share):
 *   client.c           the client object, the server's URL and address, life cycle
 *   client_events.c    the events waiting for client_drain (errors reach the UI here)
 *   client_token.c     the refresh token file, its lock, the access token's lifetime
 *   client_http.c      one REST request as one HTTP connection, its reply and timeout
 *   client_login.c     login before the loop, the token refresh while it runs
 *   client_rest.c      which REST request runs when, and what its reply becomes
 *   client_fleet.c     the server's messages about agents decoded into events
 *   client_ws.c        the WebSocket stream: connect, auth, subscribe, receive, retry
 *   client_password.c  the password from a file, SMTOP_PASSWORD or the terminal */
#ifndef SM_SMTOP_CLIENT_H
#define SM_SMTOP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "client_password.h"
#include "rc.h"
#include "sample.h"

struct cJSON;
struct client;
struct lws_context;
struct lws_protocols;

/* Connection state, as the screen shows it. */
enum client_state {
    CLIENT_CONNECTING,   /* opening the stream */
    CLIENT_LIVE,         /* subscribed; samples flow */
    CLIENT_RECONNECTING, /* lost; retry_in seconds until the next attempt; text says why */
    CLIENT_AUTH_FAILED,  /* the server refused our tokens; text says so; no more retries */
};

enum client_event_type {
    CLIENT_EV_STATE,          /* state, retry_in, text */
    CLIENT_EV_SNAPSHOT_BEGIN, /* the agents that follow (until _END) are all there are */
    CLIENT_EV_AGENT,          /* agent_id, name, online, last_seen, host (have_host),
                               * sample (NULL when none); from a snapshot or GET /agents */
    CLIENT_EV_SNAPSHOT_END,
    CLIENT_EV_SAMPLE,  /* agent_id, sample */
    CLIENT_EV_STATUS,  /* agent_id, online, last_seen */
    CLIENT_EV_REMOVED, /* agent_id */
    CLIENT_EV_LAG,     /* dropped: messages the server or this client dropped */
    CLIENT_EV_ERROR,   /* text: an error message from the server or a bad message */
    CLIENT_EV_REPLY,   /* req_id, status (0: no reply), body (parsed JSON or NULL), text */
    CLIENT_EV_ALERT,   /* agent_id, body: the stream's {"type":"alert",...} message */
    CLIENT_EV_ALERTS,  /* at each (re)connection and every 15 s while live: status (200,
                        * else the failed request's, 0: no reply, text says why), asked,
                        * body {"rules": GET /alerts, "active": GET /alerts/active} */
};

/* One event. Owned by the client; valid only during the client_drain callback. */
struct client_event {
    enum client_event_type type;
    enum client_state state;
    double retry_in;
    char *text;
    int64_t agent_id;
    char *name;
    int online;
    double last_seen; /* unix seconds, 0 when never */
    int have_host;
    struct sm_host host;
    struct sm_sample *sample;
    uint64_t dropped;
    uint64_t req_id;
    int status;
    struct cJSON *body;
    double asked; /* monotonic time the request was sent */
};

struct client_options {
    const char *url;  /* http://HOST[:PORT][/PREFIX] or https://... */
    const char *user; /* account name */
    /* Where the refresh token is kept; NULL: $XDG_STATE_HOME/statusmonitor or
     * ~/.local/state/statusmonitor. */
    const char *state_dir;
    /* The loop's libwebsockets context, made with client_protocols(); needed by
     * client_login and client_start. */
    struct lws_context *ctx;
};

/* The protocols the client's connections use, for loop_new (ended by a NULL name). */
const struct lws_protocols *client_protocols(void);
/* Does url need TLS (https://)? Then the loop's context must initialise it. */
int client_url_is_tls(const char *url);

/* Check options and make a client (no I/O yet). SM_EINVAL with *cause for a bad URL.
 */
enum sm_rc client_new(const struct client_options *opt, struct client **out,
                      char **cause) SM_MUST_CHECK;

/* Password source for client_login: return an allocated password (client_login wipes and
 * frees it) or NULL with *cause set. Called at most once, on the calling thread. */
typedef char *(*client_password_fn)(void *arg, char **cause);

/* Log in before the loop runs (the requests are served by turning the loop here): with
 * the stored refresh token if there is one
 * (POST /refresh, no password asked), else - or when the server refuses it - with the
 * password from get_password (POST /token). Stores the new refresh token. Returns SM_OK,
 * SM_EAUTH (refused: *cause says so), SM_EBUSY (too many attempts) or SM_EIO (server not
 * reachable). *used_password tells whether the password was asked for.
 * SM_EIO without the password (a stored session, the server away) still allows
 * client_start: the client then keeps trying the stored session in the background and
 * reports CLIENT_RECONNECTING with the reason until the server answers. */
enum sm_rc client_login(struct client *c, client_password_fn get_password, void *arg,
                        int *used_password, char **cause) SM_MUST_CHECK;

/* Start the stream and the REST upkeep on the loop (after client_login). */
enum sm_rc client_start(struct client *c, char **cause) SM_MUST_CHECK;

/* The drain callback. It may take ev->sample or ev->body (set the field to NULL and own
 * it); everything else in ev is freed after it returns. */
typedef void (*client_event_fn)(void *arg, struct client_event *ev);

/* Run cb for every waiting event, in order; returns the number of events. Call after
 * each turn of the loop. */
size_t client_drain(struct client *c, client_event_fn cb, void *arg);

/* Queue GET PATH (PATH starts with "/", e.g. "/history/3/cpu?start=-1h&points=120");
 * the reply arrives as CLIENT_EV_REPLY with the returned id (never 0). The path is
 * checked for characters that need escaping (SM_EINVAL, id 0). No I/O here: the request
 * starts from the loop. */
uint64_t client_get(struct client *c, const char *path);

/* Stop, log out nothing (the refresh token stays for the next start), free everything;
 * connections still open are left to close with the loop. Call before the loop's
 * context is destroyed. NULL is a no-op. */
void client_free(struct client *c);

/* Backoff before reconnect attempt n (0-based): min(cap, base * 2^n) scaled by a random
 * factor in [0.5, 1]. */
double client_backoff(unsigned n, double base, double cap, double rnd01);

/* The refresh token file for opt (allocated). */
char *client_token_path(const struct client_options *opt);

#endif
