/* agent.c: smagent's main loop. One thread: sample on an absolute schedule, post the
 * live sample, replay the spool in batches in between, spool what the server did not
 * acknowledge, and act on the reply codes (see the man page). */
#include "config.h"

#include "agent.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "collect/collect.h"
#include "collect/depth.h"
#include "collect/depth_fill.h"
#include "log.h"
#include "notify.h"
#include "sample.h"
#include "sender.h"
#include "settings.h"
#include "spool.h"
#include "xmalloc.h"

#define BATCH_MAX_SAMPLES 200        /* the server takes up to 1000 per request */
#define BATCH_MAX_BYTES (512 * 1024) /* the server takes bodies up to 1 MiB */
#define BACKOFF_FIRST 1.0            /* seconds after the first failure */
#define BACKOFF_CAP 60.0             /* the longest wait between retries */
#define RETRY_AFTER_CAP 3600.0       /* the longest Retry-After honoured */
#define AUTH_RETRY 60.0              /* retry period while the token is refused */
#define FAIL_LOG_PERIOD 600.0        /* a long outage is logged again every 10 minutes */
#define DROP_LOG_PERIOD 60.0         /* at most one "dropped N" line per minute */
#define SLEEP_CHUNK 5.0              /* re-check the stop flag at least this often */
#define STOP_GRACE 2.0               /* seconds a post in flight may take after SIGTERM */

static volatile sig_atomic_t got_stop, got_hup;
static int wake_pipe[2] = {-1, -1};

enum inflight { IDLE, LIVE, SPOOLED };

struct agent {
    const struct settings_cli *cli;
    const char *proc_root, *sys_root;
    struct settings set;
    struct sm_collector *col;
    struct sm_depth *depth; /* NULL when every host depth family is off */
    struct sm_depth_sample dsample;
    long depth_processes; /* what depth was made for */
    unsigned depth_families;
    struct sm_sample sample;
    uint64_t seq;
    char *host_json;
    struct spool *spool;
    struct sender *sender;
    struct spool_batch batch;
    enum inflight inflight;
    char *live;        /* the newest sample, not yet posted (JSON) */
    char *sending;     /* the live sample in flight, spooled if it fails */
    size_t inflight_n; /* spooled records in flight */
    size_t batch_max;  /* lowered by 413 replies until the spool is empty */
    double next_try;   /* no transfer starts before this monotonic time */
    double backoff;    /* current back-off in seconds; 0 while the server answers */
    int auth_refused;  /* the server said 401 or 403 */
    int bad_logged;    /* a 400 was logged */
    uint64_t dropped;  /* dropped samples not logged yet */
    double drop_logged_at;
    double fail_logged_at;
    unsigned rng;
};

static void
on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGHUP)
        got_hup = 1;
    else
        got_stop = 1;
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
        /* The pipe is full: a wake-up is pending anyway. */
    }
    errno = saved;
}

static void
drain_wake(void)
{
    char buf[64];
    while (read(wake_pipe[0], buf, sizeof buf) > 0)
        ;
}

static int
setup_signals(void)
{
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the sleep returns at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* A uniform random number in [0, 1) (jitter only; not for secrets). */
static double
jitter(struct agent *a)
{
    a->rng = a->rng * 1103515245u + 12345u;
    return (double)((a->rng >> 8) & 0xFFFF) / 65536.0;
}

static void
log_drops(struct agent *a, int force)
{
    a->dropped += spool_take_dropped(a->spool);
    uint64_t bad = spool_take_corrupt(a->spool);
    if (bad)
        sm_log(SM_LOG_WARN, "spool: skipped %llu damaged record%s", (unsigned long long)bad,
               bad == 1 ? "" : "s");
    double now = sm_mono_now();
    if (a->dropped && (force || now - a->drop_logged_at >= DROP_LOG_PERIOD)) {
        sm_log(SM_LOG_WARN, "spool full (%llu bytes): dropped the %llu oldest sample%s",
               (unsigned long long)a->set.spool_max, (unsigned long long)a->dropped,
               a->dropped == 1 ? "" : "s");
        a->dropped = 0;
        a->drop_logged_at = now;
    }
}

/* Keep one sample (JSON, taken) in the spool. */
static void
spool_keep(struct agent *a, char *json)
{
    enum sm_rc rc = spool_append(a->spool, json, strlen(json));
    if (rc == SM_OK && sm_log_get_level() >= SM_LOG_DEBUG) {
        const char *t = strstr(json, "\"timestamp\":");
        sm_log(SM_LOG_DEBUG, "spooled the sample of %.3f", t ? strtod(t + 12, NULL) : 0.0);
    }
    if (rc != SM_OK)
        sm_log(SM_LOG_ERROR, "spool %s: cannot keep a sample: %s", a->set.spool,
               rc == SM_ETOOBIG ? "larger than the spool" : strerror(errno));
    free(json);
    log_drops(a, 0);
}

static void
refresh_host(struct agent *a)
{
    struct sm_host h;
    sm_collector_host(a->col, &h);
    cJSON *j = sm_host_to_json(&h);
    free(a->host_json);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!t)
        abort();
    a->host_json = sm_xstrdup(t);
    cJSON_free(t);
}

/* A batch body around n records. */
static char *
batch_body(struct agent *a, const char *const *rec, const size_t *len, size_t n, size_t *out_len)
{
    size_t total = strlen(a->host_json) + 32;
    for (size_t i = 0; i < n; i++)
        total += len[i] + 1;
    char *b = sm_xmalloc(total);
    size_t o = (size_t)snprintf(b, total, "{\"host\":%s,\"samples\":[", a->host_json);
    for (size_t i = 0; i < n; i++) {
        if (i)
            b[o++] = ',';
        memcpy(b + o, rec[i], len[i]);
        o += len[i];
    }
    memcpy(b + o, "]}", 3);
    *out_len = o + 2;
    return b;
}

static void
start_live(struct agent *a)
{
    const char *rec = a->live;
    size_t len = strlen(rec), blen;
    char *body = batch_body(a, &rec, &len, 1, &blen);
    a->sending = a->live;
    a->live = NULL;
    a->inflight = LIVE;
    sender_start(a->sender, body, blen);
}

static void
start_spooled(struct agent *a)
{
    if (spool_peek(a->spool, a->batch_max, BATCH_MAX_BYTES, &a->batch) != SM_OK) {
        sm_log(SM_LOG_ERROR, "spool %s: read failed: %s", a->set.spool, strerror(errno));
        a->next_try = sm_mono_now() + BACKOFF_CAP;
        return;
    }
    log_drops(a, 0);
    if (a->batch.n == 0) {
        /* Only damaged records were left; never spin on a spool that reads empty. */
        if (!spool_empty(a->spool))
            a->next_try = sm_mono_now() + 1;
        return;
    }
    const char **rec = sm_xcalloc(a->batch.n, sizeof *rec);
    for (size_t i = 0; i < a->batch.n; i++)
        rec[i] = a->batch.buf.data + a->batch.off[i];
    size_t blen;
    char *body = batch_body(a, rec, a->batch.len, a->batch.n, &blen);
    free(rec);
    a->inflight = SPOOLED;
    a->inflight_n = a->batch.n;
    sm_log(SM_LOG_DEBUG, "replaying %zu spooled sample%s", a->batch.n, a->batch.n == 1 ? "" : "s");
    sender_start(a->sender, body, blen);
}

/* Start a transfer if one may start now: the live sample first, then the spool. */
static void
maybe_start(struct agent *a, double now)
{
    if (sender_busy(a->sender) || now < a->next_try)
        return;
    if (a->live)
        start_live(a);
    else if (!spool_empty(a->spool))
        start_spooled(a);
}

_Static_assert(SETTINGS_DEPTH_SENSORS == 1u << SM_DEPTH_SENSORS &&
                   SETTINGS_DEPTH_PSI == 1u << SM_DEPTH_PSI &&
                   SETTINGS_DEPTH_CGROUPS == 1u << SM_DEPTH_CGROUPS &&
                   SETTINGS_DEPTH_GPUS == 1u << SM_DEPTH_GPUS,
               "settings.h's family bits follow enum sm_depth_reader");

/* (Re)make the host depth readers for the settings when they changed. */
static void
setup_depth(struct agent *a)
{
    unsigned readers = a->set.depth | (a->set.processes > 0 ? 1u << SM_DEPTH_PROCS : 0);
    if (a->depth && a->depth_processes == a->set.processes && a->depth_families == readers)
        return;
    sm_depth_free(a->depth);
    a->depth = NULL;
    a->depth_processes = a->set.processes;
    a->depth_families = readers;
    if (readers == 0)
        return; /* 0 would mean every family to sm_depth_new */
    struct sm_depth_opts o = {.readers = readers, .top_n = (size_t)a->set.processes};
    a->depth = sm_depth_new(a->proc_root, a->sys_root, &o);
    /* The first read only sets the counters that rates are computed from. */
    if (sm_depth_read(a->depth, &a->dsample) != SM_OK)
        sm_log(SM_LOG_DEBUG, "host depth: nothing to read on this machine");
}

/* Add the host depth families to the sample just taken. */
static void
add_depth(struct agent *a)
{
    if (a->depth == NULL || sm_depth_read(a->depth, &a->dsample) != SM_OK)
        return;
    size_t left = sm_depth_fill(&a->dsample, &a->sample);
    if (left > 0)
        sm_log(SM_LOG_DEBUG, "host depth: %zu entries over the sample's caps left out", left);
}

/* Take a sample and queue it. */
static void
take_sample(struct agent *a, double now)
{
    if (sm_collector_sample(a->col, &a->sample) != SM_OK) {
        sm_log(SM_LOG_ERROR, "sampling failed: no readable kernel file");
        return;
    }
    add_depth(a);
    a->sample.seq = ++a->seq;
    /* The server keeps milliseconds and the wire sends round(t * 1000) / 1000; rounding
     * here too makes the log's "%.3f" name the very millisecond that is stored (the
     * decimal rounding of an unrounded time can differ from it by one). */
    a->sample.timestamp = round(a->sample.timestamp * 1000.0) / 1000.0;
    sm_log(SM_LOG_DEBUG, "sample %llu taken at %.3f", (unsigned long long)a->seq,
           a->sample.timestamp);
    char *json = sm_sample_encode(&a->sample);
    if (a->live)
        spool_keep(a, a->live); /* the previous one never got a turn */
    a->live = NULL;
    if (now < a->next_try)
        spool_keep(a, json); /* backing off: straight to the spool */
    else
        a->live = json;
}

/* The in-flight work failed in a way that a later retry may fix. */
static void
keep_inflight(struct agent *a)
{
    if (a->sending) {
        spool_keep(a, a->sending);
        a->sending = NULL;
    }
    if (a->live && a->next_try > sm_mono_now()) {
        spool_keep(a, a->live);
        a->live = NULL;
    }
}

static void
consume(struct agent *a, size_t n)
{
    if (spool_consume(a->spool, &a->batch, n) != SM_OK)
        sm_log(SM_LOG_ERROR, "spool %s: cannot move the cursor", a->set.spool);
}

static void
handle_reply(struct agent *a, const struct sender_reply *r)
{
    double now = sm_mono_now();
    enum inflight what = a->inflight;
    size_t n = what == LIVE ? 1 : a->inflight_n;
    a->inflight = IDLE;
    if (r->status >= 200 && r->status < 300) {
        if (a->backoff > 0 || a->auth_refused)
            sm_log(SM_LOG_INFO,
                   "the server accepts samples again; %llu bytes in the spool to replay",
                   (unsigned long long)spool_bytes(a->spool));
        a->backoff = 0;
        a->auth_refused = 0;
        a->next_try = 0;
        if (what == SPOOLED) {
            consume(a, n);
            /* A size lowered by 413 holds until the spool is replayed. */
            if (spool_empty(a->spool))
                a->batch_max = BATCH_MAX_SAMPLES;
        }
        free(a->sending);
        a->sending = NULL;
        return;
    }
    if (r->status == 400) {
        sm_log(a->bad_logged ? SM_LOG_DEBUG : SM_LOG_WARN,
               "the server rejected %zu sample%s (HTTP 400: %s); dropped", n, n == 1 ? "" : "s",
               r->detail);
        a->bad_logged = 1;
        if (what == SPOOLED)
            consume(a, n);
        free(a->sending);
        a->sending = NULL;
        return;
    }
    if (r->status == 413) {
        if (what == SPOOLED && n > 1) {
            a->batch_max = n / 2;
            sm_log(SM_LOG_INFO,
                   "the server found %zu samples too large (HTTP 413); sending %zu at a time", n,
                   a->batch_max);
            return;
        }
        sm_log(SM_LOG_WARN, "the server refused a sample as too large (HTTP 413); dropped");
        if (what == SPOOLED)
            consume(a, n);
        free(a->sending);
        a->sending = NULL;
        return;
    }
    if (r->status == 401 || r->status == 403) {
        if (!a->auth_refused)
            sm_log(SM_LOG_ERROR,
                   "the server refused the agent token (HTTP %ld) from %s; samples are kept in "
                   "the spool and sent when it is accepted; retrying every %.0f s",
                   r->status, a->set.origin ? a->set.origin : "?", AUTH_RETRY);
        a->auth_refused = 1;
        a->next_try = now + AUTH_RETRY;
        keep_inflight(a);
        return;
    }
    /* 5xx, 429, other codes, refused connections, time-outs: back off and retry. */
    a->backoff = a->backoff > 0 ? fmin(a->backoff * 2, BACKOFF_CAP) : BACKOFF_FIRST;
    double wait = a->backoff / 2 + jitter(a) * a->backoff / 2;
    if (r->retry_after >= 0)
        wait = fmin(r->retry_after, RETRY_AFTER_CAP);
    a->next_try = now + wait;
    /* Say it when the outage starts, then every FAIL_LOG_PERIOD while it lasts. */
    int first = a->backoff == BACKOFF_FIRST || now - a->fail_logged_at >= FAIL_LOG_PERIOD;
    if (first)
        a->fail_logged_at = now;
    if (r->status)
        sm_log(first ? SM_LOG_WARN : SM_LOG_DEBUG,
               "the server answered HTTP %ld; keeping samples in the spool (%llu bytes); "
               "retrying in %.1f s",
               r->status, (unsigned long long)spool_bytes(a->spool), wait);
    else
        sm_log(first ? SM_LOG_WARN : SM_LOG_DEBUG,
               "cannot reach %s: %s; keeping samples in the spool (%llu bytes); retrying in %.1f s",
               a->set.url, r->detail, (unsigned long long)spool_bytes(a->spool), wait);
    keep_inflight(a);
}

/* Sleep until the monotonic time t (or a signal). */
static void
sleep_until(double t)
{
    double now = sm_mono_now();
    if (t - now > SLEEP_CHUNK)
        t = now + SLEEP_CHUNK;
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static enum sm_rc
make_sender(struct agent *a)
{
    char *cause = NULL;
    struct sender *s = sender_new(a->set.url, a->set.token, a->set.ca_file, &cause);
    if (!s) {
        sm_log(SM_LOG_ERROR, "%s", cause);
        free(cause);
        return SM_EINTERNAL;
    }
    sender_free(a->sender);
    a->sender = s;
    return SM_OK;
}

/* SIGHUP: read the settings again; keep the old ones when the new ones are bad. */
static void
reload(struct agent *a, double *next_tick)
{
    struct settings s;
    char *cause = NULL;
    notify_send("RELOADING=1");
    if (settings_resolve(a->cli, 1, &s, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "reload: %s; keeping the running settings", cause);
        free(cause);
        notify_send("READY=1");
        return;
    }
    if (strcmp(s.spool, a->set.spool) != 0)
        sm_log(SM_LOG_WARN, "reload: the spool stays in %s until a restart", a->set.spool);
    free(s.spool);
    s.spool = sm_xstrdup(a->set.spool);
    if (s.interval != a->set.interval)
        *next_tick = sm_mono_now() + s.interval;
    settings_done(&a->set);
    a->set = s;
    sm_log_set_level((enum sm_log_level)a->set.log_level);
    spool_set_max(a->spool, a->set.spool_max);
    setup_depth(a);
    refresh_host(a);
    if (make_sender(a) == SM_OK) {
        /* New credentials or server: try at once. */
        a->auth_refused = 0;
        a->backoff = 0;
        a->next_try = 0;
    }
    sm_log(SM_LOG_INFO, "configuration reloaded: %s every %g s", a->set.url, a->set.interval);
    notify_send("READY=1");
}

int
agent_run(const struct settings_cli *cli, const char *proc_root, const char *sys_root)
{
    struct agent a;
    memset(&a, 0, sizeof a);
    a.cli = cli;
    a.proc_root = proc_root;
    a.sys_root = sys_root;
    a.batch_max = BATCH_MAX_SAMPLES;
    a.rng = (unsigned)getpid() ^ (unsigned)time(NULL);
    spool_batch_init(&a.batch);
    sm_sample_init(&a.sample);
    sm_depth_sample_init(&a.dsample);
    char *cause = NULL;
    int ret = SM_EXIT_FAIL;
    enum sm_rc rc = settings_resolve(cli, 1, &a.set, &cause);
    if (rc == SM_ENOTFOUND)
        sm_usage_error("%s", cause);
    if (rc != SM_OK)
        sm_die(SM_EXIT_FAIL, "%s", cause);
    sm_log_set_level((enum sm_log_level)a.set.log_level);
    a.spool = spool_open(a.set.spool, a.set.spool_max, &cause);
    if (!a.spool) {
        sm_log(SM_LOG_ERROR, "spool: %s", cause);
        free(cause);
        goto out;
    }
    if (make_sender(&a) != SM_OK || setup_signals() != 0)
        goto out;
    a.col = sm_collector_new(proc_root, sys_root);
    setup_depth(&a);
    refresh_host(&a);
    /* The first reading only sets the counters that rates are computed from. */
    if (sm_collector_sample(a.col, &a.sample) != SM_OK) {
        sm_log(SM_LOG_ERROR, "sampling failed: no readable kernel file under %s",
               proc_root ? proc_root : "/proc");
        goto out;
    }
    double next_tick = sm_mono_now() + a.set.interval;
    sm_log(SM_LOG_INFO, "sending to %s every %g s; spool %s (%llu bytes pending)", a.set.url,
           a.set.interval, a.set.spool, (unsigned long long)spool_bytes(a.spool));
    log_drops(&a, 1);
    notify_send("READY=1");
    while (!got_stop) {
        if (got_hup && !sender_busy(a.sender)) {
            got_hup = 0;
            reload(&a, &next_tick);
        }
        double now = sm_mono_now();
        if (now >= next_tick) {
            take_sample(&a, now);
            next_tick += a.set.interval;
            if (next_tick <= now) {
                /* Suspended or stalled: resume the schedule from now. */
                sm_log(SM_LOG_WARN, "fell behind the schedule by %.1f s", now - next_tick);
                next_tick = now + a.set.interval;
            }
        }
        maybe_start(&a, now);
        if (sender_busy(a.sender)) {
            struct sender_reply r;
            long ms = (long)ceil((next_tick - sm_mono_now()) * 1000);
            if (sender_wait(a.sender, ms, wake_pipe[0], &r))
                handle_reply(&a, &r);
        } else {
            double wake = next_tick;
            if ((a.live || !spool_empty(a.spool)) && a.next_try < wake)
                wake = a.next_try;
            if (wake > sm_mono_now() && !got_stop && !got_hup)
                sleep_until(wake);
        }
        drain_wake();
    }
    notify_send("STOPPING=1");
    /* Whatever was not acknowledged stays in the spool (a resend is harmless). */
    /* A post in flight gets a moment to finish (its reply is handled as usual). */
    double grace = sm_mono_now() + STOP_GRACE;
    while (sender_busy(a.sender) && sm_mono_now() < grace) {
        struct sender_reply r;
        if (sender_wait(a.sender, (long)((grace - sm_mono_now()) * 1000), -1, &r))
            handle_reply(&a, &r);
    }
    if (sender_busy(a.sender)) {
        sender_abort(a.sender);
        if (a.sending) {
            spool_keep(&a, a.sending);
            a.sending = NULL;
        }
    }
    if (a.live) {
        spool_keep(&a, a.live);
        a.live = NULL;
    }
    log_drops(&a, 1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    sm_log(SM_LOG_INFO,
           "stopping after %llu samples; %llu bytes in the spool; CPU %.3f s, peak RSS %ld KiB",
           (unsigned long long)a.seq, (unsigned long long)spool_bytes(a.spool),
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
           ru.ru_maxrss);
    ret = SM_EXIT_OK;
out:
    free(a.live);
    free(a.sending);
    free(a.host_json);
    sender_free(a.sender);
    spool_batch_done(&a.batch);
    spool_close(a.spool);
    sm_collector_free(a.col);
    sm_depth_free(a.depth);
    sm_depth_sample_done(&a.dsample);
    sm_sample_done(&a.sample);
    settings_done(&a.set);
    sender_global_done();
    return ret;
}
