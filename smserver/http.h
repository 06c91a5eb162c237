/* http.h: requests, replies and route tables of the API (no libwebsockets in here, so
 * handlers run on worker threads and can be tested apart from the event loop). */
#ifndef SM_SMSERVER_HTTP_H
#define SM_SMSERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"
#include "store.h"

#define HTTP_BODY_MAX (1024 * 1024) /* larger request bodies get 413 */
#define HTTP_PATH_MAX 512
#define HTTP_HDR_MAX 1024 /* Authorization, X-Agent-Token, Content-Type values */
#define HTTP_JSON_DEPTH 16
#define HTTP_QUERY_MAX 1024 /* the query string, decoded arguments joined by '&' */
#define HTTP_QUERY_ARGS 16  /* more arguments than this: 400 */

enum http_method {
    HTTP_GET,
    HTTP_POST,
    HTTP_PUT,
    HTTP_PATCH,
    HTTP_DELETE,
    HTTP_HEAD,
    HTTP_OPTIONS,
    HTTP_OTHER
};

/* Who may call a route: anyone, a user with an access token, an agent with its token. */
enum route_auth { ROUTE_PUBLIC, ROUTE_USER, ROUTE_AGENT };
/* Which worker pool runs it: the general one, or the bounded Argon2id one. */
enum route_pool { POOL_WORK, POOL_HASH };

/* One request, as received by the event loop; owned by whoever holds the job. */
struct req {
    enum http_method method;
    char path[HTTP_PATH_MAX];
    int64_t id; /* the {id} of the path, when the route has one */
    char content_type[128];
    char authorization[HTTP_HDR_MAX]; /* secret: wiped on free, never logged */
    char agent_token[HTTP_HDR_MAX];   /* secret: wiped on free, never logged */
    char peer[64];
    /* Query arguments, URL-decoded by libwebsockets: nargs "name=value" strings. */
    char query[HTTP_QUERY_MAX];
    const char *args[HTTP_QUERY_ARGS];
    int nargs;
    int query_bad;       /* too long or too many arguments */
    struct sm_buf body;  /* capped at HTTP_BODY_MAX, wiped (it may hold a password) */
    long content_length; /* -1 when absent */
};

/* One reply. body is JSON text (or NULL for none). */
struct resp {
    int status;
    char *body;
    size_t len;
    int retry_after;          /* seconds, 0 for none */
    int www_authenticate;     /* add WWW-Authenticate: Bearer */
    int close;                /* close the connection after the reply */
    const char *content_type; /* static string; NULL = application/json */
};

struct handler_env;
struct cJSON;

/* What a finished call tells the live stream (applied on the event loop). */
enum call_ev {
    CALL_EV_NONE,
    CALL_EV_AGENT_ADDED,
    CALL_EV_AGENT_SEEN, /* an agent wrote samples: the stream learns it if it is new to it */
    CALL_EV_AGENT_REMOVED,
    CALL_EV_LOGOUT,
    CALL_EV_RULE_PUT,   /* data: the struct store_rule added or changed */
    CALL_EV_RULE_DEL,   /* agent_id: the rule's id */
    CALL_EV_RULES_SYNC, /* data: struct rules_snapshot, every rule in the database */
    /* agent_id 1: this instance leads the alerts from now on, data: struct
     * events_snapshot, the alerts active now; agent_id 0: it no longer does. */
    CALL_EV_LEAD_ALERTS
};
struct call_event {
    enum call_ev kind;
    int64_t agent_id, user_id;
    char name[STORE_NAME_MAX + 1];
    void *data; /* allocated; freed with the job */
};

/* The context a handler runs in (a worker thread, or the writer for ingest). */
struct call {
    const struct handler_env *env; /* settings, services, counters */
    struct store *st;              /* this thread's connection */
    struct req *req;
    struct resp *resp;
    double now;
    int64_t user_id;          /* ROUTE_USER: the caller */
    struct store_agent agent; /* ROUTE_AGENT: the calling agent */
    /* Set by a handler that hands a write to the writer thread, which replies after the
     * commit. batch_free releases it (writer thread). */
    struct store_batch *batch;
    void (*batch_free)(struct store_batch *b);
    struct call_event ev;
};

/* A handler fills c->resp (http_reply_*) and returns SM_OK, or returns an error with an
 * allocated *cause that becomes {"detail": cause} with sm_rc_http(rc). */
typedef enum sm_rc (*route_fn)(struct call *c, char **cause);

struct route {
    enum http_method method;
    const char *path; /* "/agents/{id}" */
    route_fn handler;
    enum route_auth auth;
    enum route_pool pool;
};

/* Every route table ends with an entry whose path is NULL. */
extern const struct route routes_auth[];
extern const struct route routes_agents[];
extern const struct route routes_ingest[];
extern const struct route routes_health[];
extern const struct route routes_history[];
extern const struct route routes_metrics[];
extern const struct route routes_alerts[];
extern const struct route routes_procs[];

/* Find the route for (method, path); NULL when none. *wrong_method is set when the path
 * is an API path but not for this method (405). *id receives {id}. */
const struct route *http_route_find(enum http_method method, const char *path, int64_t *id,
                                    int *wrong_method);

void req_free(struct req *r);
/* Append to the body; SM_ETOOBIG past HTTP_BODY_MAX. Event loop thread. */
enum sm_rc req_append(struct req *r, const void *data, size_t len) SM_MUST_CHECK;
void resp_done(struct resp *r);

/* Reply status with body (taken and deleted; NULL for no body). */
void http_reply_json(struct resp *r, int status, struct cJSON *body);
/* Reply {"detail": detail} with the status of rc; a 503 says Retry-After: 1 unless the
 * handler set its own. */
void http_reply_error(struct resp *r, enum sm_rc rc, const char *detail);

/* Parse the request body as one strict JSON object. */
enum sm_rc http_body_object(const struct req *req, struct cJSON **out, char **cause) SM_MUST_CHECK;
/* The string member name of obj, required, of min..max bytes. Errors name the field. */
enum sm_rc http_get_string(const struct cJSON *obj, const char *name, size_t min, size_t max,
                           const char **out, char **cause) SM_MUST_CHECK;
/* Value of key in an application/x-www-form-urlencoded body, decoded into out. SM_OK,
 * SM_ENOTFOUND, SM_ETOOBIG or SM_EPARSE (bad %XX). */
enum sm_rc http_form_get(const char *body, size_t len, const char *key, char *out,
                         size_t outsz) SM_MUST_CHECK;

/* 1 when peer (a numeric address as libwebsockets gives it) is on the loopback
 * interface: 127.0.0.0/8, ::1 or an IPv4-mapped 127.x. */
int http_peer_is_loopback(const char *peer);

struct sm_netallow;
#define HTTP_XFF_MAX 512 /* bytes of X-Forwarded-For read from a trusted proxy */
/* The client's address, into out (numeric, as peer is written), for a request from peer
 * that carried X-Forwarded-For xff (NULL or "" when absent). peer itself unless it is
 * one of the trusted proxies (NULL: none); then the rightmost address of xff that is
 * not a trusted proxy, since each proxy appends the address it saw and only the
 * trusted ones' entries can be believed, or the leftmost when all are. SM_EINVAL when
 * a trusted peer's header has an entry that is not a numeric address: the caller
 * refuses the request rather than count it against the proxy. */
enum sm_rc http_forwarded_client(const char *peer, const char *xff,
                                 const struct sm_netallow *trusted, char *out,
                                 size_t outsz) SM_MUST_CHECK;

/* Format unix seconds as ISO 8601 UTC ("2026-11-25T10:00:00Z") into out. */
void http_time_iso(int64_t t, char out[32]);

#endif
