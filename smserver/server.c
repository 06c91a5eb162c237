/* server.c: the smserver process: start (database, hub, alerts, listener, threads),
 * the one-second tick, the maintenance thread, and the shutdown.
 *
 * The event loop only parses requests, queues jobs and writes replies. A job goes to
 * a pool (route->pool); its thread authenticates the caller and runs the handler with
 * its own database connection. Ingest handlers hand a batch on to the writer, which
 * commits many batches in one transaction and only then completes their jobs. Completed
 * jobs come back through the done queue and lws_cancel_service(); the loop then finds
 * the connection again. A connection that closed meanwhile marks its job orphaned
 * (pss and job point at each other, and only the loop thread reads or writes those
 * links), so a late result is dropped instead of touching a dead wsi.
 *
 * The path of a request through the files: server_loop.c (the libwebsockets callback,
 * one request at a time: "Pipelining"), server_request.c (method, path, headers, body),
 * server_jobs.c (pools, handlers, the writer, the done queue), server_events.c (what a
 * finished job changes in the live stream and the alerts), server_reply.c (the reply
 * written). server_int.h is what they share. */
#include "config.h"

#include "server.h"
#include "server_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "clock.h"
#include "fault.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "store.h"
#include "tls.h"
#include "xmalloc.h"

#define WORK_THREADS 2
#define HASH_THREADS 2 /* Argon2id: 64 MiB each while hashing */
#define WORK_QUEUE_CAP 512
#define HASH_QUEUE_CAP 64
#define WRITER_QUEUE_CAP 1024
#define SHUTDOWN_GRACE_S 4.0
#define TICK_US (1000 * 1000) /* live stream: offline agents, expired tokens */
#define MAINT_INTERVAL_S 10   /* history rollups */
#define LEAD_POLL_S 3         /* leadership asked for: a dead leader's jobs move within it */
#define RETAIN_EVERY 6        /* retention every this many rollup rounds */
#define RETAIN_BATCH 64       /* series per retention transaction */
#define PROCS_BATCH 256       /* process snapshots per retention transaction */
#define PROCS_ROUNDS 16       /* and transactions per retention round */
#define ALERTS_GRACE_S 30.0   /* after a start, agents silent this long are offline */
/* Largest single send() of a reply. libwebsockets' default is 4 KiB, the rest held in
 * its buffer and sent a piece per writable event: most history replies went out so. */
#define HTTP_SEND_MAX (8 * 1024 * 1024)

volatile sig_atomic_t server_stop;
volatile sig_atomic_t server_reload;

/* HTTP requests go to the "http" protocol through a callback mount; a WebSocket client
 * that names no subprotocol gets the vhost's default one, the live stream. (Connections
 * bind to the default protocol when accepted, hence the mount for plain HTTP.) */
static const struct lws_http_mount api_mount = {
    .mountpoint = "/",
    .mountpoint_len = 1,
    .origin = "http",
    .origin_protocol = LWSMPRO_CALLBACK,
};
static const struct lws_protocol_vhost_options stream_default = {NULL, NULL, "default", ""};
static const struct lws_protocol_vhost_options stream_pvo = {NULL, &stream_default, STREAM_PROTOCOL,
                                                             ""};
/* Ping idle WebSocket connections after 30 s; drop them when silent for 45 s more. */
static const lws_retry_bo_t ws_validity = {.secs_since_valid_ping = 30,
                                           .secs_since_valid_hangup = 75};

static enum sm_rc
stream_verify(void *arg, const char *token, int64_t *user_id, double *expires)
{
    struct server *srv = arg;
    return auth_jwt_check(&srv->auth, token, (int64_t)sm_wall_now(), user_id, expires);
}

/* Copy what the event loop knows into the /metrics counters; the ingest rate over the
 * last STATS_RATE_WINDOW ticks. Event loop thread. */
static void
stats_tick(struct server *srv)
{
    struct hub_stats hs;
    hub_stats(srv->hub, &hs);
    struct server_stats *s = &srv->stats;
    double now = sm_mono_now();
    pthread_mutex_lock(&s->mu);
    unsigned cur = srv->rate_pos % STATS_RATE_WINDOW;
    srv->rate_total[cur] = s->samples;
    srv->rate_time[cur] = now;
    srv->rate_pos++;
    /* The oldest slot: the next one once the ring is full, the first before. */
    unsigned old = srv->rate_pos >= STATS_RATE_WINDOW ? srv->rate_pos % STATS_RATE_WINDOW : 0;
    if (now > srv->rate_time[old])
        s->samples_rate = (double)(s->samples - srv->rate_total[old]) / (now - srv->rate_time[old]);
    s->ws_clients = hs.clients;
    s->agents = hs.agents;
    s->agents_online = hub_online_count(srv->hub);
    s->published = hs.published;
    s->delivered = hs.delivered;
    s->dropped = hs.dropped;
    if (srv->alerts) {
        struct alerts_stats as;
        alerts_stats(srv->alerts, &as);
        s->alerts_pending = as.pending;
        s->alerts_firing = as.firing;
        s->alert_evaluations = as.evaluations;
        s->alert_transitions = as.transitions;
    }
    pthread_mutex_unlock(&s->mu);
}

static void
on_tick(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, tick);
    hub_tick(srv->hub, sm_wall_now());
    if (srv->alerts && !srv->alerts_started &&
        sm_wall_now() - srv->stats.started > ALERTS_GRACE_S) {
        /* Agents that have not reported since the start are offline, but the hub only
         * says so for agents it saw go away: start their agent.offline rules now. */
        srv->alerts_started = 1;
        hub_each_agent(srv->hub, events_offline_at_start, srv);
    }
    if (srv->alerts && srv->lead_alerts)
        alerts_tick(srv->alerts, sm_wall_now());
    stats_tick(srv);
    stream_kick(srv->hub);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick, TICK_US);
}

static void
add_agent(const struct store_agent *a, void *arg)
{
    struct store *st = ((void **)arg)[0];
    struct hub *h = ((void **)arg)[1];
    char *latest = NULL;
    if (store_latest(st, a->id, &latest) != SM_OK)
        latest = NULL;
    hub_agent_upsert(h, a->id, a->user_id, a->name, a->host, latest, (double)a->last_seen);
    free(latest);
}

/* Process snapshots past their retention or over their size cap go, PROCS_BATCH rows
 * per transaction and at most PROCS_ROUNDS transactions per call (store.h). A backend
 * without snapshots says so once. */
static void
procs_retain(struct server *srv, struct store *st, int64_t now, int *warned)
{
    size_t total = 0;
    for (int i = 0; i < PROCS_ROUNDS; i++) {
        size_t deleted = 0;
        char *cause = NULL;
        enum sm_rc rc =
            store_procs_retain(st, now, srv->cfg->procs_keep_s, srv->cfg->procs_max_bytes,
                               PROCS_BATCH, &deleted, &cause);
        if (rc != SM_OK) {
            if (!*warned || rc != SM_EUNAVAIL)
                sm_log(SM_LOG_WARN, "process snapshots: retention: %s",
                       cause ? cause : sm_rc_str(rc));
            *warned = 1;
            free(cause);
            break;
        }
        total += deleted;
        if (deleted < PROCS_BATCH)
            break;
    }
    if (total > 0)
        sm_log(SM_LOG_DEBUG, "process snapshots: retention removed %zu", total);
}

/* Roll up and enforce retention off the event loop and off the ingest writer; pick up
 * the alert rules the admin CLI (or another instance) changed. With several instances
 * on one database, only the one that leads maintenance rolls up and deletes, and only
 * the one that leads the alerts evaluates them (store_leader, asked every LEAD_POLL_S on
 * a connection of its own, so a dead instance's jobs move within that). */
static void *
maint_main(void *arg)
{
    struct server *srv = arg;
    struct store *st = thread_store(srv, "history");
    struct store *lead = st ? thread_store(srv, "leadership") : NULL;
    const struct history_retention ret = {srv->cfg->retain_raw_s, srv->cfg->retain_minute_s,
                                          srv->cfg->retain_hour_s};
    unsigned round = 0;
    int procs_warned = 0;
    int lead_maint = -1; /* unknown: the first answer is logged */
    double next_maint = 0;
    pthread_mutex_lock(&srv->maint_mu);
    while (!srv->maint_stop && st && lead) {
        pthread_mutex_unlock(&srv->maint_mu);
        if (srv->alerts)
            events_leader_check(srv, lead, st);
        int now_maint = store_leader(lead, STORE_LEAD_MAINTENANCE);
        if (now_maint != lead_maint)
            sm_log(SM_LOG_INFO, "leadership: %s",
                   now_maint ? "this instance runs rollups and retention"
                             : "another instance runs rollups and retention");
        lead_maint = now_maint;
        if (sm_mono_now() >= next_maint) {
            next_maint = sm_mono_now() + MAINT_INTERVAL_S;
            size_t work = 0, deleted = 0;
            int64_t now = (int64_t)(sm_wall_now() * 1000);
            /* A few steps at most per round so a long catch-up never holds the lock long. */
            for (int i = 0; lead_maint && i < 8; i++)
                if (store_rollup(st, now, 256, &work) != SM_OK || work == 0)
                    break;
            if (srv->alerts)
                events_rules_read(srv, st);
            if (lead_maint && round++ % RETAIN_EVERY == 0) {
                if (store_retain(st, now, &ret, RETAIN_BATCH, &deleted) == SM_OK && deleted > 0)
                    sm_log(SM_LOG_DEBUG, "history: retention removed %zu rows", deleted);
                procs_retain(srv, st, now, &procs_warned);
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LEAD_POLL_S;
        pthread_mutex_lock(&srv->maint_mu);
        if (!srv->maint_stop)
            pthread_cond_timedwait(&srv->maint_cv, &srv->maint_mu, &until);
    }
    pthread_mutex_unlock(&srv->maint_mu);
    store_free(lead);
    store_free(st);
    return NULL;
}

/* Security headers on every reply. No CORS headers: the page comes from this origin. */
static const struct lws_protocol_vhost_options hdr_referrer = {NULL, NULL,
                                                               "referrer-policy:", "no-referrer"};
static const struct lws_protocol_vhost_options hdr_frame = {&hdr_referrer, NULL,
                                                            "x-frame-options:", "DENY"};
static const struct lws_protocol_vhost_options hdr_nosniff = {&hdr_frame, NULL,
                                                              "x-content-type-options:", "nosniff"};
static const struct lws_protocol_vhost_options security_headers = {
    &hdr_nosniff, NULL, "content-security-policy:",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"};
/* With TLS on, browsers are also told to come back over HTTPS only (a year). */
static const struct lws_protocol_vhost_options security_headers_tls = {
    &security_headers, NULL, "strict-transport-security:", "max-age=31536000"};

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        server_reload = 1;
    else
        server_stop = 1;
}

static void
lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    sm_log(level & LLL_ERR    ? SM_LOG_ERROR
           : level & LLL_WARN ? SM_LOG_WARN
                              : SM_LOG_DEBUG,
           "lws: %.*s", (int)n, line);
}

static int
write_port_file(const char *path, int port)
{
    char *tmp = sm_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%d\n", port) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

/* Read the /metrics bearer token: one line, 16 to 256 bytes, in a file nobody else may
 * read. Only its hash is kept. Main thread. */
static int
load_metrics_token(struct server *srv, const char *path)
{
    char buf[AUTH_SECRET_MAX + 2];
    struct stat sb;
    FILE *f = fopen(path, "r");
    if (!f) {
        sm_log(SM_LOG_ERROR, "metrics_token_file: %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &sb) != 0 || (sb.st_mode & 077) != 0) {
        sm_log(SM_LOG_ERROR, "metrics_token_file: %s: must not be readable by group or others",
               path);
        fclose(f);
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n < 16 || n > AUTH_SECRET_MAX || strchr(buf, '\n')) {
        sodium_memzero(buf, sizeof buf);
        sm_log(SM_LOG_ERROR, "metrics_token_file: %s: one line of 16 to %d characters", path,
               AUTH_SECRET_MAX);
        return -1;
    }
    crypto_generichash(srv->env.metrics_token_hash, sizeof srv->env.metrics_token_hash,
                       (uint8_t *)buf, n, NULL, 0);
    sodium_memzero(buf, sizeof buf);
    srv->env.metrics_token_set = 1;
    return 0;
}

/* Stop the threads and free everything server_start made; safe on a half-made server. */
static void
server_free(struct server *srv)
{
    if (srv->maint_started) {
        pthread_mutex_lock(&srv->maint_mu);
        srv->maint_stop = 1;
        pthread_cond_signal(&srv->maint_cv);
        pthread_mutex_unlock(&srv->maint_mu);
        pthread_join(srv->maint, NULL);
    }
    if (srv->listener_started) {
        atomic_store(&srv->listen_stop, 1);
        pthread_join(srv->listener, NULL);
    }
    if (srv->ctx) {
        lws_sul_cancel(&srv->tick);
        pool_stop(&srv->work);
        pool_stop(&srv->hash);
        pool_stop(&srv->writer);
        drain_done(srv);
        lws_context_destroy(srv->ctx);
        drain_done(srv);
    }
    /* Last: the jobs drained above may have queued alert state changes. */
    notifier_stop(srv->notifier);
    srv->notifier = NULL;
    auth_done(&srv->auth);
    ratelimit_done(&srv->rl);
    alerts_free(srv->alerts);
    hub_free(srv->hub);
    pthread_mutex_destroy(&srv->maint_mu);
    pthread_cond_destroy(&srv->maint_cv);
    pthread_mutex_destroy(&srv->done_mu);
    pthread_mutex_destroy(&srv->stats.mu);
    sodium_memzero(srv->env.metrics_token_hash, sizeof srv->env.metrics_token_hash);
    free(srv);
    curl_global_cleanup();
    fault_report();
}

struct server *
server_start(const struct server_config *cfg)
{
    struct server *srv = sm_xcalloc(1, sizeof *srv);
    /* curl_global_init, or its test-only stand-in with counting allocators (fault.h). */
    if (fault_init() != 0) {
        free(srv);
        return NULL;
    }
    char *cause = NULL;
    srv->cfg = cfg;
    pthread_mutex_init(&srv->done_mu, NULL);
    STAILQ_INIT(&srv->done);
    pthread_mutex_init(&srv->stats.mu, NULL);
    pthread_mutex_init(&srv->maint_mu, NULL);
    pthread_cond_init(&srv->maint_cv, NULL);
    srv->stats.started = sm_wall_now();
    srv->env = (struct handler_env){.db_path = cfg->db_path,
                                    .metrics_agent_series = cfg->metrics_agent_series,
                                    .telegram_api_base = cfg->telegram_api_base,
                                    .webhook_allow = cfg->webhook_allow,
                                    .process_snapshots = cfg->procs_max_bytes > 0,
                                    .auth = &srv->auth,
                                    .rl = &srv->rl,
                                    .stats = &srv->stats,
                                    .queue_depths = queue_depths,
                                    .queue_arg = srv};
    ratelimit_init(&srv->rl, LOGIN_WINDOW_S);
    if (auth_init(&srv->auth, cfg->state_dir, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "%s", cause);
        goto fail;
    }
    if (cfg->metrics_token_file && load_metrics_token(srv, cfg->metrics_token_file) != 0)
        goto fail;
    /* Open once here so that a bad database fails the start, not the first request. */
    struct store *st = NULL;
    if (store_open(cfg->db_path, &st, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "%s", cause);
        goto fail;
    }
    const struct hub_limits limits = {.pre = LWS_PRE,
                                      .queue_max = STREAM_QUEUE_MAX,
                                      .drop_close = STREAM_DROP_CLOSE,
                                      .offline_factor = 3,
                                      .min_offline = 10};
    srv->hub = hub_new(&limits);
    void *agent_arg[] = {st, srv->hub};
    if (store_agent_list(st, 0, add_agent, agent_arg) != SM_OK)
        sm_log(SM_LOG_WARN, "live stream: could not load the agents");
    /* Alert rules, and the states they were in when the server stopped. */
    srv->alerts = alerts_new(events_alert_note, events_agent_info, srv);
    hub_set_status_hook(srv->hub, events_agent_status, srv);
    if (store_rule_list(st, 0, events_load_rule, srv->alerts) != SM_OK ||
        store_alert_active(st, 0, events_restore_state, srv->alerts) != SM_OK)
        sm_log(SM_LOG_WARN, "alerts: could not load the rules");
    /* One instance (SQLite) always leads. With several, this says whether another one
     * leads now; the maintenance thread keeps asking on a connection of its own. */
    srv->lead_alerts = store_leader(st, STORE_LEAD_ALERTS);
    atomic_store(&srv->lead_alerts_seen, srv->lead_alerts);
    sm_log(SM_LOG_INFO, "leadership: %s",
           srv->lead_alerts ? "this instance evaluates the alert rules"
                            : "another instance evaluates the alert rules");
    int listen = store_can_listen(st);
    store_free(st);
    srv->stream = (struct stream_env){
        .hub = srv->hub, .verify = stream_verify, .verify_arg = srv, .origins = cfg->ws_origins};
    if (!realpath(cfg->www_dir, srv->www_real)) {
        sm_log(SM_LOG_WARN, "%s: %s (no web page)", cfg->www_dir, strerror(errno));
        sm_strlcpy(srv->www_real, "/nonexistent", sizeof srv->www_real);
    }

    lws_set_log_level(cfg->lws_log_level, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port; /* 0: the kernel picks a free port */
    info.iface = cfg->listen_addr;
    /* lws keeps pointing at the protocols: they live as long as srv. */
    srv->protocols[0] =
        (struct lws_protocols){"http", callback_api, sizeof(struct pss), 0, 0, NULL, HTTP_SEND_MAX};
    stream_protocol_init(&srv->protocols[1], &srv->stream);
    info.protocols = srv->protocols;
    info.mounts = &api_mount;
    info.pvo = &stream_pvo;
    info.retry_and_idle_policy = &ws_validity;
    info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.headers = &security_headers;
    info.user = srv;
    info.max_http_header_data = 4096;
    info.max_http_header_pool = 64;
    info.timeout_secs = 30;
    info.keepalive_timeout = 60;
    if (cfg->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        /* A plain-HTTP request to the TLS port gets a redirect to https://, never the
         * API or the page (libwebsockets answers it before any callback of ours). */
        info.options |=
            LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT | LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* TLS 1.2 at least, no compression; the cipher lists stay OpenSSL's defaults. */
        info.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                               SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION;
        info.headers = &security_headers_tls;
        /* HTTP/1.1 only, as over plain HTTP: the request code and its limits (one request
         * at a time per connection) are written and tested for it, not for HTTP/2. */
        info.alpn = "http/1.1";
    }

    /* Threads inherit the mask: keep SIGTERM/SIGINT for the loop thread. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        sm_log(SM_LOG_ERROR, "cannot listen on %s:%d", cfg->listen_addr, cfg->port);
        goto fail;
    }
    if (pool_start(&srv->work, srv, "worker", WORK_THREADS, WORK_QUEUE_CAP, worker_main) ||
        pool_start(&srv->hash, srv, "hasher", HASH_THREADS, HASH_QUEUE_CAP, worker_main) ||
        pool_start(&srv->writer, srv, "writer", 1, WRITER_QUEUE_CAP, writer_main) ||
        !(srv->notifier = notifier_start(cfg->db_path, &srv->auth, cfg->telegram_api_base,
                                         cfg->webhook_allow, cfg->retain_minute_s, &srv->stats)) ||
        pthread_create(&srv->maint, NULL, maint_main, srv) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        sm_log(SM_LOG_ERROR, "cannot start threads");
        goto fail;
    }
    srv->maint_started = 1;
    /* Several instances on one database: the batches the others commit. */
    if (listen) {
        if (pthread_create(&srv->listener, NULL, listen_main, srv) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            sm_log(SM_LOG_ERROR, "cannot start threads");
            goto fail;
        }
        srv->listener_started = 1;
    }
    srv->env.notifier = srv->notifier;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick, TICK_US);
    signal(SIGPIPE, SIG_IGN);

    struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "default");
    int port = vh ? lws_get_vhost_listen_port(vh) : cfg->port;
    if (cfg->port_file && write_port_file(cfg->port_file, port) != 0) {
        sm_log(SM_LOG_ERROR, "%s: %s", cfg->port_file, strerror(errno));
        goto fail;
    }
    sm_log(SM_LOG_INFO, "listening on %s://%s:%d", cfg->tls_cert ? "https" : "http",
           cfg->listen_addr, port);
    fault_arm();
    return srv;
fail:
    free(cause);
    server_free(srv);
    return NULL;
}

void
server_finish(struct server *srv)
{
    sm_log(SM_LOG_INFO, "shutting down");
    /* Let in-flight requests (and their commits) finish and get their replies. */
    double deadline = sm_mono_now() + SHUTDOWN_GRACE_S;
    while (srv->inflight > 0 && sm_mono_now() < deadline)
        lws_service(srv->ctx, 0);
    server_free(srv);
}

int
server_run(const struct server_config *cfg)
{
    struct server *srv = server_start(cfg);
    if (!srv)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    while (!server_stop) {
        if (server_reload) {
            server_reload = 0;
            server_reload_tls(srv);
        }
        if (lws_service(srv->ctx, 0) < 0)
            break;
    }
    server_finish(srv);
    return 0;
}

int
server_reload_tls(struct server *srv)
{
    const struct server_config *cfg = srv->cfg;
    if (!cfg->tls_cert) {
        sm_log(SM_LOG_INFO, "SIGHUP: no TLS configured, nothing to reload");
        return 0;
    }
    char *cause = NULL;
    /* libwebsockets loads the pair into the vhost's SSL_CTX in place: a bad pair would
     * leave it half changed, so it only sees files that passed the same checks as at
     * the start. */
    if (tls_check(cfg->tls_cert, cfg->tls_key, &cause) != 0) {
        sm_log(SM_LOG_ERROR, "SIGHUP: %s; still serving the previous certificate", cause);
        free(cause);
        return -1;
    }
    if (lws_tls_cert_updated(srv->ctx, cfg->tls_cert, cfg->tls_key, NULL, 0, NULL, 0) != 0) {
        sm_log(SM_LOG_ERROR, "SIGHUP: libwebsockets could not load %s", cfg->tls_cert);
        return -1;
    }
    sm_log(SM_LOG_INFO, "SIGHUP: reloaded the TLS certificate %s", cfg->tls_cert);
    return 0;
}
