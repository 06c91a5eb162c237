/* server.h: the smserver process: one libwebsockets event loop, worker pools (general
 * and Argon2id), one group-committing writer (docs/DESIGN.md section 7). */
#ifndef SM_SMSERVER_SERVER_H
#define SM_SMSERVER_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <libwebsockets.h>

#include "auth.h"
#include "history_types.h"
#include "handler.h"
#include "hub.h"
#include "stats.h"
#include "stream.h"
#include "rc.h"

struct sm_netallow;

/* Process snapshots (store.h): how long they are kept and how much of them. */
#define PROCS_RETENTION_HOURS_DEFAULT 24
#define PROCS_RETENTION_HOURS_MAX 8784 /* a leap year */
#define PROCS_MAX_MB_DEFAULT 256
#define PROCS_MAX_MB_MAX 1048576

/* Read-only configuration, filled by main. */
struct server_config {
    char listen_addr[64]; /* numeric IPv4/IPv6 address */
    int port;             /* 0 = any free port */
    const char *state_dir;
    const char *db_path;
    const char *www_dir;
    const char *port_file;
    int lws_log_level;
    const char *ws_origins; /* extra allowed WebSocket origins, comma separated, or NULL */
    double retain_raw_s;    /* history retention per tier */
    double retain_minute_s;
    double retain_hour_s;
    int64_t procs_keep_s;           /* process snapshots: retention */
    int64_t procs_max_bytes;        /* and size cap; 0: none are stored */
    int metrics_agent_series;       /* /metrics also gives each agent's latest values */
    const char *metrics_token_file; /* /metrics needs this bearer token (else loopback) */
    const char *telegram_api_base;  /* alert channels: the Telegram Bot API base URL */
    /* Non-public receivers (webhook, Telegram) allowed anyway; NULL: none. */
    const struct sm_netallow *webhook_allow;
    /* Load balancers whose X-Forwarded-For names the client; NULL: none. */
    const struct sm_netallow *trusted_proxies;
    const char *tls_cert; /* HTTPS and WSS: PEM certificate (chain) and key, */
    const char *tls_key;  /* both checked by tls_check, or both NULL */
};

struct job;
struct alerts;
struct notifier;

struct job;
STAILQ_HEAD(job_queue, job); /* oldest first */

/* A queue served by threads (a worker pool or the writer). */
struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job_queue jobs;
    size_t len, cap;
    int stop;
    int nthreads;
    pthread_t *threads;
    struct server *srv;
    const char *name;
};

struct server {
    const struct server_config *cfg;
    struct auth auth;
    struct ratelimit rl;
    struct lws_context *ctx;
    struct lws_protocols protocols[3]; /* http, the stream, the end mark */
    struct pool work, hash, writer;
    pthread_mutex_t done_mu;
    struct job_queue done;
    int inflight; /* jobs out of the event loop, and replies queued for drain_done;
                   * event loop thread only */
    char www_real[PATH_MAX];
    /* The live stream (event loop thread only). */
    struct hub *hub;
    struct stream_env stream;
    lws_sorted_usec_list_t tick;
    /* History maintenance: rollups and retention on their own thread. */
    pthread_t maint;
    int maint_started;
    pthread_mutex_t maint_mu;
    pthread_cond_t maint_cv;
    int maint_stop;
    /* The live stream across instances (server_listen.c), on a shared database only. */
    pthread_t listener;
    int listener_started;
    _Atomic int listen_stop;
    /* GET /metrics. */
    struct server_stats stats;
    uint64_t rate_total[STATS_RATE_WINDOW]; /* samples committed, one slot per tick */
    double rate_time[STATS_RATE_WINDOW];
    unsigned rate_pos;
    /* Alerts: the rules and their states (event loop), the notifier thread. */
    struct alerts *alerts;
    int alerts_started; /* agent.offline rules started for agents silent since the start */
    /* Bumped on the event loop by every rule change made through the API; a rule list
     * read by the maintenance thread before a change is stale and not applied. */
    _Atomic uint64_t rules_epoch;
    /* Several instances on one database: this one evaluates the alert rules (and sends
     * their notifications) only while it leads them (store_leader). Event loop thread;
     * the maintenance thread tells it of a change (events_leader_check). */
    int lead_alerts;
    /* maintenance thread: the last leadership it reported; read by the listener, which
     * reads back the points of other instances' batches only for the leader */
    _Atomic int lead_alerts_seen;
    struct notifier *notifier;
    /* What handlers see of all this (struct call's env). */
    struct handler_env env;
};

/* Set by SIGTERM/SIGINT. */
extern volatile sig_atomic_t server_stop;
/* Set by SIGHUP: load the TLS certificate and key again. */
extern volatile sig_atomic_t server_reload;

/* Run the server until SIGTERM/SIGINT (SIGHUP reloads the TLS certificate). Returns a process exit
 * code. Main thread. */
int server_run(const struct server_config *cfg);

/* server_run in parts, for a caller that runs the event loop itself (the HTTP fuzzer):
 * server_start opens the database, listens and starts the threads, or logs why not and
 * returns NULL; the caller then calls lws_service(srv->ctx, ...) on this thread only;
 * server_finish waits up to the shutdown grace for jobs in flight, then stops and frees
 * everything. */
struct server *server_start(const struct server_config *cfg);
void server_finish(struct server *srv);

/* Check the configured certificate and key again and, when they pass, have new TLS
 * handshakes use them; open connections keep theirs. Logs the outcome. Returns 0, or
 * -1 when the files were refused (the old pair stays in use). Event loop thread. */
int server_reload_tls(struct server *srv);

#endif
