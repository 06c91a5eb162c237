/* server_int.h: what the server's own files (server.c, server_*.c) share and nothing
 * else sees: a job, a connection's state, and the functions that pass them between the
 * event loop, the request reader, the reply writer, the worker pools and the alert and
 * stream side. */
#ifndef SM_SMSERVER_SERVER_INT_H
#define SM_SMSERVER_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "alerts.h"
#include "http.h"
#include "server.h"
#include "store.h"

struct pss;

struct job {
    struct job *next;
    const struct route *route;
    struct req *req;
    struct resp resp;
    struct store_batch *batch;
    void (*batch_free)(struct store_batch *b);
    /* For the live stream, applied when the job comes back to the event loop. */
    struct call_event ev;
    int fresh; /* a committed ingest stored new samples: stream the newest */
    /* Event loop thread only. */
    struct lws *wsi;
    struct pss *pss;
    int orphan;
    int internal; /* from the maintenance thread: no connection, not in inflight */
};

/* Per connection (one request at a time on HTTP/1.1). */
struct pss {
    struct req *req;  /* being received */
    struct job *job;  /* in a pool */
    struct resp resp; /* ready to write */
    int have_resp;
    int discard;   /* body past the cap: reply 413 and close */
    int counted;   /* in srv->http_open */
    int rx_held;   /* reading paused while a job makes the reply (hold_rx) */
    int body_done; /* LWS_CALLBACK_HTTP_BODY_COMPLETION seen for this request */
    int body_sent; /* the request announced a body (Content-Length > 0) */
    /* For the access log line (debug level): never the query, headers or body. */
    char method[8];
    char path[96];
    double started;
};

/* server_jobs.c */
void job_free(struct job *j);
void done_push(struct server *srv, struct job *j);
enum sm_rc pool_push(struct pool *p, struct job *j);
void queue_depths(void *arg, struct handler_queues *out);
struct store *thread_store(struct server *srv, const char *who);
void *worker_main(void *arg);
void *writer_main(void *arg);
int pool_start(struct pool *p, struct server *srv, const char *name, int n, size_t cap,
               void *(*fn)(void *));
void pool_stop(struct pool *p);

/* server_loop.c */
void dispatch(struct server *srv, struct lws *wsi, struct pss *pss, const struct route *r);
void close_until_next_request(struct lws *wsi);
void drain_done(struct server *srv);
void pss_cleanup(struct pss *pss);
void stats_http_open(struct server *srv, int d);
int callback_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);

/* server_request.c */
int on_http(struct server *srv, struct lws *wsi, struct pss *pss);

/* server_reply.c */
void reply_now(struct lws *wsi, struct pss *pss, enum sm_rc rc, const char *detail);
int write_reply(struct lws *wsi, struct pss *pss);

/* server_events.c */
int events_agent_info(int64_t agent_id, int64_t *user_id, const char **name, int *online,
                      double *last_seen, void *arg);
void events_alert_note(const struct alert_note *n, void *arg);
void events_agent_status(int64_t agent_id, int64_t user_id, int online, double last_seen,
                         void *arg);
void events_offline_at_start(int64_t agent_id, int64_t user_id, int online, double last_seen,
                             void *arg);
void events_load_rule(const struct store_rule *r, void *arg);
void events_restore_state(const struct store_alert_event *e, void *arg);
void events_apply(struct server *srv, const struct job *j);
void events_rules_read(struct server *srv, struct store *st);

#endif
