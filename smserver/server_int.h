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
    STAILQ_ENTRY(job) link; /* in a pool's queue, a writer group or the done queue */
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

/* server_jobs.c: the worker hand-off. */
/* Free a job and what it holds; NULL is a no-op. Any thread. */
void job_free(struct job *j);
/* Hand a finished job back to the event loop (drain_done). Any thread. */
void done_push(struct server *srv, struct job *j);
/* Queue j on p; SM_EBUSY when the queue is full or stopping. Any thread. */
enum sm_rc pool_push(struct pool *p, struct job *j);
/* Queue depth of a pool. Any thread. */
size_t pool_depth(struct pool *p);
/* handler_env's queue_depths (arg is the server). Any thread. */
void queue_depths(void *arg, struct handler_queues *out);
/* Open this thread's database connection, or log why not and return NULL. */
struct store *thread_store(struct server *srv, const char *who);
/* Thread bodies: a worker or hasher pool thread; the writer (arg is the pool). */
void *worker_main(void *arg);
void *writer_main(void *arg);
/* Start n threads running fn on p; -1 when one could not start (those that did run
 * until pool_stop). */
int pool_start(struct pool *p, struct server *srv, const char *name, int n, size_t cap,
               void *(*fn)(void *));
/* Let p's threads finish what is queued, then join them. */
void pool_stop(struct pool *p);

/* server_loop.c: the libwebsockets HTTP callback. Event loop thread, all of it. */
/* Queue the request pss holds as a job for r's pool, or reply 503 when it is full. */
void dispatch(struct server *srv, struct lws *wsi, struct pss *pss, const struct route *r);
/* Mark a kept-alive connection "close" until its next request is parsed (Pipelining). */
void close_until_next_request(struct lws *wsi);
/* Take the finished jobs, apply their events and write their replies. */
void drain_done(struct server *srv);
/* Forget the request and reply of pss; a job in flight becomes an orphan. */
void pss_cleanup(struct pss *pss);
/* Count an HTTP connection opening (+1) or closing (-1) for /metrics. */
void stats_http_open(struct server *srv, int d);
/* The "http" protocol's callback. */
int callback_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len);

/* server_request.c: a request's headers have arrived. Event loop thread. */
/* Read them into pss->req and dispatch it, serve a file, or leave a reply in pss;
 * non-zero closes the connection. */
int on_http(struct server *srv, struct lws *wsi, struct pss *pss);

/* server_reply.c: event loop thread. */
/* Put the error reply {"detail": detail} with rc's status in pss. */
void reply_now(struct lws *wsi, struct pss *pss, enum sm_rc rc, const char *detail);
/* Write pss's reply; -1 when the connection is to close. */
int write_reply(struct lws *wsi, struct pss *pss);

/* server_events.c: alerts and live stream side of the server. */
/* alerts.h callbacks (arg is the server): an agent's owner, name and state; a note. */
int events_agent_info(int64_t agent_id, int64_t *user_id, const char **name, int *online,
                      double *last_seen, void *arg);
void events_alert_note(const struct alert_note *n, void *arg);
/* hub.h status hook and agent walker (arg is the server). */
void events_agent_status(int64_t agent_id, int64_t user_id, int online, double last_seen,
                         void *arg);
void events_offline_at_start(int64_t agent_id, int64_t user_id, int online, double last_seen,
                             void *arg);
/* store.h walkers at the start (arg is the struct alerts). */
void events_load_rule(const struct store_rule *r, void *arg);
void events_restore_state(const struct store_alert_event *e, void *arg);
/* Tell the live stream and the alerts what a finished job changed. Event loop thread. */
void events_apply(struct server *srv, const struct job *j);
/* Read every rule and queue them for the event loop. Maintenance thread. */
void events_rules_read(struct server *srv, struct store *st);
/* Ask lead whether this instance leads the alerts; on a change, tell the event loop
 * (with the active alerts, read through st, when it now leads). Maintenance thread. */
void events_leader_check(struct server *srv, struct store *lead, struct store *st);

/* server_listen.c: the thread that receives the batches the other instances commit
 * (store_listen) and hands them to the event loop as internal jobs. */
void *listen_main(void *arg);

#endif
