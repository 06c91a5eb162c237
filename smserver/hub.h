/* hub.h: the live stream's fan-out (docs/DESIGN.md section 6), apart from the transport.
 *
 * The hub knows agents (owner, latest sample, host facts, online state) and clients
 * (one per WebSocket: its user, what it subscribed to, a bounded queue of messages).
 * A published sample becomes one reference-counted message shared by every queue
 * that takes it, so fan-out costs a pointer per subscriber, not a copy. A queue that
 * is full drops its oldest message and counts it; the next thing the client reads is
 * {"type":"lag","dropped":N}. A client that has dropped more than the hard cap since
 * it last read anything is marked for closing.
 *
 * Threads: a hub and everything in it belong to one thread (smserver's event loop).
 * Time is passed in (unix seconds) so tests control the clock. */
#ifndef SM_SMSERVER_HUB_H
#define SM_SMSERVER_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

struct hub;
struct hub_client;

struct hub_limits {
    size_t pre;            /* bytes of headroom before each message (LWS_PRE) */
    size_t queue_max;      /* messages queued per client before the oldest is dropped */
    size_t drop_close;     /* dropped messages, unread, after which the client is closed */
    double offline_factor; /* an agent is offline after this many missed intervals */
    double min_offline;    /* ... and never sooner than this many seconds */
};

/* A message ready to send: text at data + pre, len bytes. Owned by the hub. */
struct hub_msg {
    unsigned refs;
    size_t len;
    unsigned char data[]; /* pre bytes of headroom, then len bytes of JSON, then NUL */
};

/* Why a client should be closed (hub_client_close_reason). */
enum hub_close { HUB_OPEN = 0, HUB_CLOSE_LAGGING, HUB_CLOSE_EXPIRED, HUB_CLOSE_REVOKED };

struct hub *hub_new(const struct hub_limits *lim);
/* Free the hub, its agents and messages. Clients must have been freed first. */
void hub_free(struct hub *h);

/* Agents. upsert adds or renames an agent owned by user_id (at start-up from the store,
 * and when the API creates one). host_json and latest_json may be NULL; they are copied.
 * last_seen 0 means never. */
void hub_agent_upsert(struct hub *h, int64_t agent_id, int64_t user_id, const char *name,
                      const char *host_json, const char *latest_json, double last_seen);
/* The agent is gone: subscribers are told ({"type":"removed"}) and stop receiving it. */
void hub_agent_remove(struct hub *h, int64_t agent_id);

/* A committed sample of agent_id (sample_json is its JSON object text, host_json the
 * host facts or NULL). Queues {"type":"sample",...} for every subscriber (preceded by
 * an online status when the agent was offline). Unknown agents are ignored. */
void hub_publish(struct hub *h, int64_t agent_id, const char *sample_json, const char *host_json,
                 double now);

/* Queue json_text (a JSON object, copied) for every subscriber of agent_id: the alert
 * state changes of the agent. Unknown agents are ignored. */
void hub_agent_event(struct hub *h, int64_t agent_id, const char *json_text);

/* Periodic work: agents that stopped reporting go offline (status messages), clients
 * whose token expired are marked for closing. The caller then visits the clients
 * (hub_each_client) to ask for writes or close them. */
void hub_tick(struct hub *h, double now);

/* Clients. A new client is unauthenticated and receives nothing. conn is the caller's
 * cookie (returned by hub_client_conn). */
struct hub_client *hub_client_new(struct hub *h, void *conn);
void hub_client_free(struct hub_client *c);
void *hub_client_conn(const struct hub_client *c);

/* Authenticate: user_id owns what it may see; only_agent restricts to one agent (0 =
 * all); expires is when the access token ends. May be called again with a fresh token
 * of the same user to extend; another user's token closes the client. */
void hub_client_auth(struct hub_client *c, int64_t user_id, int64_t only_agent, double expires);
int hub_client_authed(const struct hub_client *c);

/* Subscribe to all of the user's agents (all = 1, present and future) or to a list.
 * Agents that do not exist or are not the user's are SM_ENOTFOUND with *cause naming
 * the first one; nothing is subscribed then. On success queues the snapshot: one
 * {"type":"snapshot","agents":[{agent_id,name,online,last_seen,host,sample}...]}. */
enum sm_rc hub_client_subscribe(struct hub_client *c, int all, const int64_t *ids, size_t n,
                                char **cause) SM_MUST_CHECK;

/* Queue a message for this client only (replies such as errors); text is copied. */
void hub_client_send_text(struct hub_client *c, const char *text);

/* The next message to write, or NULL when the queue is empty. A lag notice comes
 * first when messages were dropped. The message stays valid until hub_client_pop. It is
 * shared by every client it was queued for: a writer may use the headroom before the
 * text (libwebsockets writes its frame header there) but not change the text. */
struct hub_msg *hub_client_peek(struct hub_client *c);
void hub_client_pop(struct hub_client *c);
size_t hub_client_queued(const struct hub_client *c);
enum hub_close hub_client_close_reason(const struct hub_client *c);

/* Close every stream of this user (a logout). Other sessions of the user reconnect with
 * their own tokens; the logged-out one cannot. */
void hub_revoke_user(struct hub *h, int64_t user_id);

/* Visit every client (to ask for writable callbacks or close them). */
typedef void (*hub_client_fn)(struct hub_client *c, void *arg);
void hub_each_client(struct hub *h, hub_client_fn fn, void *arg);

/* Counters for /metrics and tests. */
struct hub_stats {
    size_t clients, agents;
    uint64_t published, delivered, dropped;
};
void hub_stats(const struct hub *h, struct hub_stats *out);
/* Agents online now. */
size_t hub_online_count(const struct hub *h);

/* Called when an agent goes online or offline (alert rules on "agent.offline"). */
typedef void (*hub_status_fn)(int64_t agent_id, int64_t user_id, int online, double last_seen,
                              void *arg);
void hub_set_status_hook(struct hub *h, hub_status_fn fn, void *arg);
/* What the hub knows of an agent: SM_ENOTFOUND when none. name is borrowed (valid until
 * the agent changes). Any pointer may be NULL. */
enum sm_rc hub_agent_info(struct hub *h, int64_t agent_id, int64_t *user_id, int *online,
                          double *last_seen, const char **name) SM_MUST_CHECK;
/* Visit every agent. */
typedef void (*hub_agent_fn)(int64_t agent_id, int64_t user_id, int online, double last_seen,
                             void *arg);
void hub_each_agent(struct hub *h, hub_agent_fn fn, void *arg);

#endif
