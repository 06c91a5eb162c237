/* smload.c: load generator for a running smserver.
 *
 *   smload --url URL --agents FILE [--token-file FILE] [--db PATH] [--pid PID]
 *          [--rate HZ] [--viewers V] [--queries Q] [--seconds S]
 *          [--burst S] [--burst-factor F] [--burst-offset MS] [--stuck N] [--strict]
 *          [--markdown FILE]
 *
 * FILE holds one line per agent as `smserver agent add` prints it ({"id":..,"token":..}).
 * Every agent POSTs one sample per 1/HZ s on its own keep-alive connection (libcurl
 * multi); Q clients loop GET /history/{id}/cpu over -5m, -1h, -24h, -7d; V viewers hold
 * a WebSocket (libwebsockets client), authenticate with the access token of
 * --token-file and subscribe to all agents. After S seconds an optional burst phase of
 * --burst seconds has every agent replaying outage samples (past timestamps) at F
 * times its rate. Then the agents stop, and every acknowledged sample is looked up in
 * the database (--db).
 *
 * Reported: ingest ack latency p50/p99, delivery latency (ingest ack -> viewer
 * receipt, matched by agent id and timestamp) p50/p99, history latency p95 per range,
 * the server's CPU and RSS over time (/proc/PID), reply codes, burst reply times,
 * missing acknowledged samples. Exit 0 when nothing acknowledged is missing, no
 * request timed out, every refusal was 429/503 with Retry-After and every burst reply
 * came within 10 s (with --strict: every reply was 2xx); 1 otherwise; 2 usage.
 *
 * --burst-offset MS moves the replayed timestamps MS earlier, so that several smload
 * processes can replay at once without posting the same samples.
 *
 * --stuck N opens N more WebSocket viewers that subscribe and never read (their
 * receive buffers fill); their deliveries are not counted. */
#include "config.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "cli.h"
#include "xmalloc.h"

#define BURST_REPLY_MAX_S 10.0
#define REQ_TIMEOUT_S 30L
#define NRANGES 4

static const char *const range_names[NRANGES] = {"-5m", "-1h", "-24h", "-7d"};

struct opts {
    const char *url, *agents_file, *token_file, *db, *markdown;
    long pid, viewers, queries, stuck;
    double rate, seconds, burst, burst_factor;
    long ts_offset_ms; /* shifts the burst's timestamps (several smload at once) */
    int strict;
};

/* One sample posted by an agent. */
struct rec {
    int agent;
    int burst;
    int64_t ts_ms;
    double t_send, t_ack;
    long status; /* 0: no reply (transport error or timeout) */
};

struct agent {
    int64_t id;
    char *token;
    CURL *easy;
    struct curl_slist *hdrs;
    char body[2048];
    int busy;
    long rec; /* in flight */
    double next_due;
    long k, kb;      /* samples scheduled: normal, burst */
    double phase_ms; /* spread of the agents over one period */
    int retry_after; /* the reply in flight carried Retry-After */
};

struct hclient {
    CURL *easy;
    struct curl_slist *hdrs;
    int busy, range;
    long n; /* queries sent */
    double t_send;
};

/* A sample seen by a viewer. */
struct seen {
    int64_t agent_id, ts_ms;
    double t;
};

struct viewer {
    struct lws *wsi;
    int stuck, state; /* 0 connecting, 1 send auth, 2 send subscribe, 3 reading */
    int closed, established;
    int snapshot; /* the subscription's snapshot has arrived */
    char *msg;
    size_t len, cap;
    struct seen *seen;
    size_t nseen, cseen;
    long samples, lags, dropped, other;
};

struct dist {
    double *v;
    size_t n, cap;
};

static struct opts o = {.rate = 1, .seconds = 10, .burst_factor = 20, .viewers = 0};
static struct agent *agents;
static long nagents;
static struct rec *recs;
static long nrecs, caprecs;
static struct hclient *hclients;
static struct viewer *viewers;
static long nviewers;
static char *access_token;
static char host[256];
static int port;
static volatile int ws_stop;
static struct lws_context *ws_ctx;
static struct dist hist_lat[NRANGES];
static long hist_codes_bad, hist_done;
static int64_t start_ms;
static double t_start;

static double
mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
dist_add(struct dist *d, double v)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 1024;
        d->v = sm_xreallocarray(d->v, d->cap, sizeof *d->v);
    }
    d->v[d->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) in ms; NAN when empty. Sorts d. */
static double
pct(struct dist *d, double p)
{
    if (!d->n)
        return (double)NAN;
    qsort(d->v, d->n, sizeof *d->v, cmp_double);
    size_t i = (size_t)ceil(p / 100.0 * (double)d->n);
    if (i > 0)
        i--;
    if (i >= d->n)
        i = d->n - 1;
    return d->v[i] * 1e3;
}

static double
dmax(const struct dist *d)
{
    double m = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i] > m)
            m = d->v[i];
    return m * 1e3;
}

/* ------------------------------------------------------------------ input */

static void
read_agents(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        sm_die(1, "%s: cannot open", path);
    char line[1024];
    long cap = 0;
    while (fgets(line, sizeof line, f)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(tok))
            sm_die(1, "%s: a line is not {\"id\":N,\"token\":\"...\"}", path);
        if (nagents == cap) {
            cap = cap ? cap * 2 : 64;
            agents = sm_xreallocarray(agents, (size_t)cap, sizeof *agents);
        }
        memset(&agents[nagents], 0, sizeof agents[nagents]);
        agents[nagents].id = (int64_t)id->valuedouble;
        agents[nagents].token = sm_xstrdup(tok->valuestring);
        nagents++;
        cJSON_Delete(j);
    }
    fclose(f);
    if (!nagents)
        sm_die(1, "%s: no agents", path);
}

static char *
read_token(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        sm_die(1, "%s: cannot open", path);
    char buf[2048];
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0])
        sm_die(1, "%s: empty token", path);
    return sm_xstrdup(buf);
}

/* ------------------------------------------------------------------ server stats */

struct procstat {
    double t, cpu_s;
    long rss_kb;
};

static struct procstat *pstats;
static size_t npstats, cpstats;

static int
proc_read(long pid, struct procstat *ps)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    /* After ") ": state(3) ... utime(14) stime(15). */
    unsigned long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    ps->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    f = fopen(path, "r");
    ps->rss_kb = 0;
    if (f) {
        while (fgets(buf, sizeof buf, f))
            if (strncmp(buf, "VmRSS:", 6) == 0)
                ps->rss_kb = strtol(buf + 6, NULL, 10);
        fclose(f);
    }
    ps->t = mono();
    return 0;
}

static void
proc_sample(void)
{
    if (o.pid <= 0)
        return;
    struct procstat ps;
    if (proc_read(o.pid, &ps) != 0)
        return;
    if (npstats == cpstats) {
        cpstats = cpstats ? cpstats * 2 : 256;
        pstats = sm_xreallocarray(pstats, cpstats, sizeof *pstats);
    }
    pstats[npstats++] = ps;
}

/* ------------------------------------------------------------------ agents (curl) */

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static size_t
agent_header(char *p, size_t size, size_t n, void *arg)
{
    struct agent *a = arg;
    if (size * n >= 12 && strncasecmp(p, "retry-after:", 12) == 0)
        a->retry_after = 1;
    return size * n;
}

static void
agent_body(struct agent *a, int64_t ts_ms, long k)
{
    double u = (double)(k % 100);
    snprintf(a->body, sizeof a->body,
             "{\"host\":{\"hostname\":\"load%" PRId64 "\",\"cores\":2},\"samples\":[{"
             "\"timestamp\":%" PRId64 ".%03d,\"seq\":%ld,"
             "\"cpu\":{\"usage_percent\":%.1f,\"user\":8.0,\"system\":3.1,\"iowait\":0.4,"
             "\"steal\":0.0,\"per_core_usage\":[%.1f,15.0],\"per_core_freq\":[3600,2400],"
             "\"freq\":{\"current\":3000,\"min\":800,\"max\":4500},\"load_avg\":[0.5,0.4,0.3]},"
             "\"memory\":{\"total\":16777216000,\"available\":8388608000,\"used\":8388608000,"
             "\"used_percent\":50.0,\"swap_total\":2147483648,\"swap_used\":1048576},"
             "\"disk\":{\"partitions\":[{\"device\":\"/dev/vda1\",\"mountpoint\":\"/\","
             "\"fstype\":\"ext4\",\"total\":100000000000,\"used\":40000000000,"
             "\"free\":60000000000,\"percent\":40.0}],"
             "\"io\":{\"read_bytes_per_s\":1048576,\"write_bytes_per_s\":524288},"
             "\"devices\":[{\"name\":\"vda\",\"read_bytes_per_s\":1048576,"
             "\"write_bytes_per_s\":524288,\"busy_percent\":12.5}]},"
             "\"network\":{\"bytes_sent\":123456789,\"bytes_recv\":987654321,"
             "\"packets_sent\":1000,\"packets_recv\":2000,\"interfaces\":[{\"name\":\"eth0\","
             "\"rx_bytes_per_s\":125000,\"tx_bytes_per_s\":64000}]}}]}",
             a->id, ts_ms / 1000, (int)(ts_ms % 1000), k, u, u);
}

static void
agent_send(CURLM *multi, int i, int burst)
{
    struct agent *a = &agents[i];
    int64_t ts_ms;
    if (!burst) {
        ts_ms = start_ms + (int64_t)a->phase_ms + (int64_t)llround((double)a->k * 1000.0 / o.rate);
        agent_body(a, ts_ms, a->k);
        a->k++;
    } else {
        /* Samples spooled during an outage two hours ago, 1/rate apart. */
        ts_ms = start_ms - 7200 * 1000 - o.ts_offset_ms + (int64_t)a->phase_ms +
                (int64_t)llround((double)a->kb * 1000.0 / o.rate);
        agent_body(a, ts_ms, a->kb);
        a->kb++;
    }
    if (nrecs == caprecs) {
        caprecs = caprecs ? caprecs * 2 : 65536;
        recs = sm_xreallocarray(recs, (size_t)caprecs, sizeof *recs);
    }
    recs[nrecs] = (struct rec){.agent = i, .burst = burst, .ts_ms = ts_ms, .t_send = mono()};
    a->rec = nrecs++;
    a->retry_after = 0;
    curl_easy_setopt(a->easy, CURLOPT_POSTFIELDS, a->body);
    curl_easy_setopt(a->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(a->body));
    curl_multi_add_handle(multi, a->easy);
    a->busy = 1;
}

static void
hist_send(CURLM *multi, struct hclient *h)
{
    char url[1024];
    int64_t id = agents[(size_t)rand() % (size_t)nagents].id;
    h->range = (int)(h->n++ % NRANGES);
    snprintf(url, sizeof url, "%s/history/%" PRId64 "/cpu?start=%s", o.url, id,
             range_names[h->range]);
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    h->t_send = mono();
    curl_multi_add_handle(multi, h->easy);
    h->busy = 1;
}

static CURL *
easy_new(const char *url, struct curl_slist *hdrs)
{
    CURL *e = curl_easy_init();
    if (!e)
        sm_die(1, "curl_easy_init failed");
    if (url)
        curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, REQ_TIMEOUT_S);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    return e;
}

/* ------------------------------------------------------------------ viewers (lws) */

static void
viewer_seen(struct viewer *v, const char *msg, size_t len, double t)
{
    static const char kind[] = "{\"type\":\"sample\",\"agent_id\":";
    if (len > sizeof kind && memcmp(msg, kind, sizeof kind - 1) == 0) {
        v->samples++;
        int64_t aid = strtoll(msg + sizeof kind - 1, NULL, 10);
        const char *p = strstr(msg, "\"timestamp\":");
        if (!p)
            return;
        double ts = strtod(p + 12, NULL);
        int64_t ts_ms = llround(ts * 1000.0);
        if (ts_ms < start_ms - 60000)
            return; /* a replayed (burst) sample: counted, not timed */
        if (v->nseen == v->cseen) {
            v->cseen = v->cseen ? v->cseen * 2 : 4096;
            v->seen = sm_xreallocarray(v->seen, v->cseen, sizeof *v->seen);
        }
        v->seen[v->nseen++] = (struct seen){aid, ts_ms, t};
        return;
    }
    static const char snap[] = "{\"type\":\"snapshot\"";
    if (len >= sizeof snap - 1 && memcmp(msg, snap, sizeof snap - 1) == 0) {
        v->snapshot = 1;
        return;
    }
    const char *lag = "{\"type\":\"lag\",\"dropped\":";
    if (len > strlen(lag) && memcmp(msg, lag, strlen(lag)) == 0) {
        v->lags++;
        v->dropped += strtol(msg + strlen(lag), NULL, 10);
        return;
    }
    v->other++;
}

static int
ws_send(struct lws *wsi, const char *text)
{
    size_t n = strlen(text);
    unsigned char *buf = sm_xmalloc(LWS_PRE + n);
    memcpy(buf + LWS_PRE, text, n);
    int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
    free(buf);
    return w < (int)n ? -1 : 0;
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct viewer *v = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        v->established = 1;
        v->state = 1;
        if (v->stuck) {
            /* Stop reading at once: a tiny receive buffer fills and the server's
             * queue for this client grows. */
            int fd = lws_get_socket_fd(wsi);
            int sz = 2048;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        }
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (v->state == 1) {
            char *auth = sm_xasprintf("{\"type\":\"auth\",\"token\":\"%s\"}", access_token);
            int r = ws_send(wsi, auth);
            free(auth);
            if (r)
                return -1;
            v->state = 2;
            lws_callback_on_writable(wsi);
        } else if (v->state == 2) {
            if (ws_send(wsi, "{\"type\":\"subscribe\",\"agents\":\"all\"}"))
                return -1;
            v->state = 3;
            if (v->stuck)
                lws_rx_flow_control(wsi, 0);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        double t = mono();
        if (v->len + len + 1 > v->cap) {
            v->cap = (v->len + len + 1) * 2;
            v->msg = realloc(v->msg, v->cap);
            if (!v->msg)
                abort();
        }
        memcpy(v->msg + v->len, in, len);
        v->len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            v->msg[v->len] = '\0';
            if (!v->stuck)
                viewer_seen(v, v->msg, v->len, t);
            v->len = 0;
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        v->closed = 1;
        v->wsi = NULL;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols ws_protocols[] = {
    {"smload", ws_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *
ws_main(void *arg)
{
    (void)arg;
    for (long i = 0; i < nviewers; i++) {
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = ws_ctx;
        ci.address = host;
        ci.port = port;
        ci.path = "/ws";
        ci.host = host;
        ci.local_protocol_name = "smload";
        ci.userdata = &viewers[i];
        ci.pwsi = &viewers[i].wsi;
        if (!lws_client_connect_via_info(&ci))
            viewers[i].closed = 1;
    }
    while (!ws_stop)
        if (lws_service(ws_ctx, 0) < 0)
            break;
    return NULL;
}

/* ------------------------------------------------------------------ checks */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void
add_ts(int64_t **ts, size_t *n, size_t *cap, int64_t t)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *ts = sm_xreallocarray(*ts, *cap, sizeof **ts);
    }
    (*ts)[(*n)++] = t;
}

/* Acknowledged samples absent from the database, as rows (the open window) or sealed
 * into a window's column of sample times (chunk_samples: replayed samples of closed
 * windows are sealed within seconds); -1 when it cannot be read. */
static long
missing_acked(void)
{
    sqlite3 *db;
    sqlite3_stmt *s, *c;
    if (sqlite3_open_v2(o.db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT ts FROM samples WHERE agent_id = ?1", -1, &s, NULL) !=
            SQLITE_OK) {
        fprintf(stderr, "smload: %s: %s\n", o.db, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    if (sqlite3_prepare_v2(db, "SELECT data FROM chunk_samples WHERE agent_id = ?1", -1, &c,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "smload: %s: %s\n", o.db, sqlite3_errmsg(db));
        sqlite3_finalize(s);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    long missing = 0, damaged = 0;
    /* One read transaction: a window sealed between the two reads is seen once. */
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (long i = 0; i < nagents; i++) {
        int64_t *ts = NULL;
        size_t n = 0, cap = 0;
        sqlite3_bind_int64(s, 1, agents[i].id);
        while (sqlite3_step(s) == SQLITE_ROW)
            add_ts(&ts, &n, &cap, sqlite3_column_int64(s, 0));
        sqlite3_reset(s);
        sqlite3_bind_int64(c, 1, agents[i].id);
        while (sqlite3_step(c) == SQLITE_ROW) {
            struct chunk_point *pts = NULL;
            size_t np = 0;
            const void *blob = sqlite3_column_blob(c, 0);
            int len = sqlite3_column_bytes(c, 0);
            if (!blob || len <= 0 || chunk_decode(blob, (size_t)len, &pts, &np) != SM_OK) {
                damaged++;
                continue;
            }
            for (size_t k = 0; k < np; k++)
                add_ts(&ts, &n, &cap, pts[k].t);
            free(pts);
        }
        sqlite3_reset(c);
        qsort(ts, n, sizeof *ts, cmp_i64);
        for (long r = 0; r < nrecs; r++) {
            if (recs[r].agent != i || recs[r].status < 200 || recs[r].status > 299)
                continue;
            if (!n || !bsearch(&recs[r].ts_ms, ts, n, sizeof *ts, cmp_i64)) {
                if (missing < 5)
                    fprintf(stderr,
                            "smload: acknowledged but missing: agent %" PRId64 " ts %" PRId64 "\n",
                            agents[i].id, recs[r].ts_ms);
                missing++;
            }
        }
        free(ts);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(s);
    sqlite3_finalize(c);
    sqlite3_close(db);
    if (damaged) {
        fprintf(stderr, "smload: %ld damaged columns of sample times\n", damaged);
        return -1;
    }
    return missing;
}

static int
cmp_rec(const void *a, const void *b)
{
    const struct rec *x = *(const struct rec *const *)a, *y = *(const struct rec *const *)b;
    int64_t ax = agents[x->agent].id, ay = agents[y->agent].id;
    if (ax != ay)
        return ax < ay ? -1 : 1;
    return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

/* ------------------------------------------------------------------ main */

static void
usage(int code)
{
    fprintf(code ? stderr : stdout,
            "usage: smload --url URL --agents FILE [--token-file FILE] [--db PATH] [--pid PID]\n"
            "              [--rate HZ] [--viewers V] [--queries Q] [--seconds S] [--burst S]\n"
            "              [--burst-factor F] [--burst-offset MS] [--stuck N] [--strict]\n"
            "              [--markdown FILE]\n");
    exit(code);
}

static void
parse_args(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"agents", required_argument, NULL, 'a'},
        {"token-file", required_argument, NULL, 't'},
        {"db", required_argument, NULL, 'd'},
        {"pid", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"viewers", required_argument, NULL, 'v'},
        {"queries", required_argument, NULL, 'q'},
        {"seconds", required_argument, NULL, 's'},
        {"burst", required_argument, NULL, 'b'},
        {"burst-factor", required_argument, NULL, 'f'},
        {"stuck", required_argument, NULL, 'k'},
        {"strict", no_argument, NULL, 'S'},
        {"burst-offset", required_argument, NULL, 'O'},
        {"markdown", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o.url = optarg;
            break;
        case 'a':
            o.agents_file = optarg;
            break;
        case 't':
            o.token_file = optarg;
            break;
        case 'd':
            o.db = optarg;
            break;
        case 'm':
            o.markdown = optarg;
            break;
        case 'p':
            if (sm_parse_long(optarg, 1, 1L << 30, &o.pid))
                sm_usage_error("--pid: a process id");
            break;
        case 'r':
            if (sm_parse_double(optarg, 0.01, 100, &o.rate))
                sm_usage_error("--rate: 0.01 to 100 Hz");
            break;
        case 'v':
            if (sm_parse_long(optarg, 0, 1000, &o.viewers))
                sm_usage_error("--viewers: 0 to 1000");
            break;
        case 'q':
            if (sm_parse_long(optarg, 0, 200, &o.queries))
                sm_usage_error("--queries: 0 to 200");
            break;
        case 'k':
            if (sm_parse_long(optarg, 0, 100, &o.stuck))
                sm_usage_error("--stuck: 0 to 100");
            break;
        case 's':
            if (sm_parse_double(optarg, 1, 86400, &o.seconds))
                sm_usage_error("--seconds: 1 to 86400");
            break;
        case 'b':
            if (sm_parse_double(optarg, 0, 3600, &o.burst))
                sm_usage_error("--burst: 0 to 3600 seconds");
            break;
        case 'f':
            if (sm_parse_double(optarg, 1, 1000, &o.burst_factor))
                sm_usage_error("--burst-factor: 1 to 1000");
            break;
        case 'S':
            o.strict = 1;
            break;
        case 'O':
            if (sm_parse_long(optarg, 0, 86400000, &o.ts_offset_ms))
                sm_usage_error("--burst-offset: 0 to 86400000 ms");
            break;
        case 'h':
            usage(0);
            break;
        default:
            usage(2);
        }
    }
    if (optind != argc || !o.url || !o.agents_file)
        usage(2);
    if ((o.viewers || o.queries || o.stuck) && !o.token_file)
        sm_usage_error("--viewers, --stuck and --queries need --token-file");
    if (sscanf(o.url, "http://%255[^:/]:%d", host, &port) != 2)
        sm_usage_error("--url: http://HOST:PORT");
}

int
main(int argc, char **argv)
{
    parse_args(argc, argv);
    read_agents(o.agents_file);
    if (o.token_file)
        access_token = read_token(o.token_file);
    srand(1);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* Viewers first, so that they are subscribed before the agents start. */
    nviewers = o.viewers + o.stuck;
    viewers = sm_xcalloc((size_t)(nviewers ? nviewers : 1), sizeof *viewers);
    for (long i = o.viewers; i < nviewers; i++)
        viewers[i].stuck = 1;
    pthread_t ws_thread;
    if (nviewers) {
        lws_set_log_level(LLL_ERR, NULL);
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = ws_protocols;
        info.fd_limit_per_thread = (unsigned int)(nviewers + 16);
        ws_ctx = lws_create_context(&info);
        if (!ws_ctx)
            sm_die(1, "lws_create_context failed");
        if (pthread_create(&ws_thread, NULL, ws_main, NULL) != 0)
            sm_die(1, "pthread_create failed");
        /* Start the agents only when every viewer has its snapshot (the latest sample of
         * every agent: 100 viewers x 200 agents is ~30 MB for the server to send), so
         * that the snapshots do not count as delivery latency. */
        double until = mono() + 30;
        for (;;) {
            long ready = 0, closed = 0, snaps = 0;
            for (long i = 0; i < nviewers; i++) {
                ready += viewers[i].state == 3;
                closed += viewers[i].closed;
                snaps += viewers[i].snapshot || viewers[i].stuck;
            }
            if ((ready + closed >= nviewers && snaps + closed >= nviewers) || mono() > until) {
                printf("viewers subscribed %ld of %ld, snapshots %ld (closed %ld)\n", ready,
                       nviewers, snaps, closed);
                break;
            }
            usleep(100000);
        }
        usleep(500000);
    }

    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)(nagents + o.queries + 16));
    char *ingest_url = sm_xasprintf("%s/ingest", o.url);
    for (long i = 0; i < nagents; i++) {
        struct agent *a = &agents[i];
        char *h = sm_xasprintf("X-Agent-Token: %s", a->token);
        a->hdrs = curl_slist_append(NULL, h);
        free(h);
        a->hdrs = curl_slist_append(a->hdrs, "Content-Type: application/json");
        a->hdrs = curl_slist_append(a->hdrs, "Expect:");
        a->easy = easy_new(ingest_url, a->hdrs);
        curl_easy_setopt(a->easy, CURLOPT_PRIVATE, (char *)a);
        curl_easy_setopt(a->easy, CURLOPT_HEADERFUNCTION, agent_header);
        curl_easy_setopt(a->easy, CURLOPT_HEADERDATA, a);
        a->phase_ms = 1000.0 / o.rate * (double)i / (double)nagents;
    }
    hclients = sm_xcalloc((size_t)(o.queries ? o.queries : 1), sizeof *hclients);
    for (long i = 0; i < o.queries; i++) {
        char *h = sm_xasprintf("Authorization: Bearer %s", access_token);
        hclients[i].hdrs = curl_slist_append(NULL, h);
        free(h);
        hclients[i].easy = easy_new(NULL, hclients[i].hdrs);
        curl_easy_setopt(hclients[i].easy, CURLOPT_PRIVATE, (char *)&hclients[i]);
    }

    long codes_2xx = 0, codes_busy = 0, busy_no_retry = 0, codes_other = 0, timeouts = 0;
    long burst_2xx = 0, burst_busy = 0, burst_other = 0, burst_timeouts = 0;
    struct dist ack = {0}, burst_reply = {0}, late = {0};
    start_ms = wall_ms();
    t_start = mono();
    double t_end_normal = t_start + o.seconds, t_end = t_end_normal + o.burst;
    for (long i = 0; i < nagents; i++)
        agents[i].next_due = t_start + agents[i].phase_ms / 1000.0;
    proc_sample();
    double next_stat = t_start + 1, next_print = t_start + 10;
    int stopping = 0;
    double stop_deadline = 0;
    for (;;) {
        double now = mono();
        if (!stopping && now >= t_end) {
            stopping = 1;
            stop_deadline = now + REQ_TIMEOUT_S + 5;
        }
        int inflight = 0;
        for (long i = 0; i < nagents; i++) {
            struct agent *a = &agents[i];
            if (!a->busy && !stopping && now >= a->next_due) {
                int burst = now >= t_end_normal;
                /* How late this process woke for a due post: the machine's scheduling
                 * noise, a baseline for the latencies measured through the server. */
                if (!burst)
                    dist_add(&late, now - a->next_due);
                agent_send(multi, (int)i, burst);
                double period = 1.0 / (o.rate * (burst ? o.burst_factor : 1));
                if (burst && a->next_due < t_end_normal)
                    a->next_due = t_end_normal;
                a->next_due += period;
                if (a->next_due < now - 1.0)
                    a->next_due = now; /* far behind: do not queue a backlog of sends */
            }
            inflight += a->busy;
        }
        for (long i = 0; i < o.queries; i++) {
            if (!hclients[i].busy && !stopping)
                hist_send(multi, &hclients[i]);
            inflight += hclients[i].busy;
        }
        if (stopping && (!inflight || now > stop_deadline))
            break;
        int running;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
            long code = 0;
            if (m->data.result == CURLE_OK)
                curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            double t = mono();
            curl_multi_remove_handle(multi, m->easy_handle);
            if (priv >= (char *)agents && priv < (char *)(agents + nagents)) {
                struct agent *a = (struct agent *)(void *)priv;
                struct rec *r = &recs[a->rec];
                a->busy = 0;
                r->status = code;
                r->t_ack = t;
                int ok = code >= 200 && code <= 299, busy = code == 429 || code == 503;
                if (!code)
                    timeouts++;
                else if (ok)
                    codes_2xx++;
                else if (busy)
                    codes_busy++;
                else
                    codes_other++;
                if (busy && !a->retry_after)
                    busy_no_retry++;
                if (r->burst) {
                    dist_add(&burst_reply, t - r->t_send);
                    burst_2xx += ok;
                    burst_busy += busy;
                    burst_other += code && !ok && !busy;
                    burst_timeouts += !code;
                } else if (ok) {
                    dist_add(&ack, t - r->t_send);
                }
                if (busy && !stopping) {
                    /* Honour Retry-After (1 s here) by waiting before the next send. */
                    if (a->next_due < t + 1.0)
                        a->next_due = t + 1.0;
                }
            } else {
                struct hclient *h = (struct hclient *)(void *)priv;
                h->busy = 0;
                hist_done++;
                if (code == 200)
                    dist_add(&hist_lat[h->range], t - h->t_send);
                else
                    hist_codes_bad++;
            }
        }
        /* Wake for the next due agent (or 10 ms at most). */
        double next = now + 0.01;
        for (long i = 0; i < nagents && !stopping; i++)
            if (!agents[i].busy && agents[i].next_due < next)
                next = agents[i].next_due;
        int wait_ms = (int)((next - mono()) * 1000);
        if (wait_ms > 0)
            curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
        now = mono();
        if (now >= next_stat) {
            proc_sample();
            next_stat += 1;
        }
        if (now >= next_print) {
            next_print += 10;
            struct procstat *p = npstats ? &pstats[npstats - 1] : NULL;
            double cpu = 0;
            if (npstats > 10)
                cpu = (p->cpu_s - pstats[npstats - 11].cpu_s) / (p->t - pstats[npstats - 11].t);
            printf("t=%3.0fs acked=%ld busy=%ld other=%ld timeouts=%ld history=%ld server "
                   "cpu=%.0f%% rss=%ldMiB\n",
                   now - t_start, codes_2xx, codes_busy, codes_other, timeouts, hist_done,
                   cpu * 100, p ? p->rss_kb / 1024 : 0);
            fflush(stdout);
        }
    }
    proc_sample();
    double t_agents_done = mono();
    /* Let the last deliveries arrive. */
    usleep(1500000);
    if (nviewers) {
        ws_stop = 1;
        lws_cancel_service(ws_ctx);
        pthread_join(ws_thread, NULL);
    }

    /* Delivery: match every sample a viewer saw to the ack of its post. */
    struct rec **byid = sm_xcalloc((size_t)(nrecs ? nrecs : 1), sizeof *byid);
    long nby = 0;
    for (long r = 0; r < nrecs; r++)
        if (!recs[r].burst && recs[r].status >= 200 && recs[r].status <= 299)
            byid[nby++] = &recs[r];
    qsort(byid, (size_t)nby, sizeof *byid, cmp_rec);
    struct dist deliv = {0}, deliv_post = {0};
    long seen_total = 0, seen_before_ack = 0, unmatched = 0, lags = 0, dropped = 0;
    long vclosed = 0, vnever = 0;
    for (long i = 0; i < o.viewers; i++) {
        struct viewer *v = &viewers[i];
        vclosed += v->closed;
        vnever += !v->established;
        lags += v->lags;
        dropped += v->dropped;
        for (size_t s = 0; s < v->nseen; s++) {
            /* Binary search on (agent id, ts). */
            long lo = 0, hi = nby - 1, found = -1;
            while (lo <= hi) {
                long mid = (lo + hi) / 2;
                int64_t aid = agents[byid[mid]->agent].id;
                int c = aid < v->seen[s].agent_id             ? -1
                        : aid > v->seen[s].agent_id           ? 1
                        : byid[mid]->ts_ms < v->seen[s].ts_ms ? -1
                                                              : byid[mid]->ts_ms > v->seen[s].ts_ms;
                if (c == 0) {
                    found = mid;
                    break;
                }
                if (c < 0)
                    lo = mid + 1;
                else
                    hi = mid - 1;
            }
            if (found < 0) {
                unmatched++;
                continue;
            }
            seen_total++;
            dist_add(&deliv_post, v->seen[s].t - byid[found]->t_send);
            double d = v->seen[s].t - byid[found]->t_ack;
            if (d < 0) {
                seen_before_ack++; /* the server streams as it replies */
                d = 0;
            }
            dist_add(&deliv, d);
        }
    }
    long expected = nby * o.viewers;

    long missing = o.db ? missing_acked() : -2;
    double cpu_avg = 0, cpu_max = 0;
    long rss_max = 0, rss_first = npstats ? pstats[0].rss_kb : 0,
         rss_last = npstats ? pstats[npstats - 1].rss_kb : 0;
    for (size_t i = 1; i < npstats; i++) {
        double c = (pstats[i].cpu_s - pstats[i - 1].cpu_s) / (pstats[i].t - pstats[i - 1].t);
        if (c > cpu_max)
            cpu_max = c;
        if (pstats[i].rss_kb > rss_max)
            rss_max = pstats[i].rss_kb;
    }
    if (npstats > 1)
        cpu_avg =
            (pstats[npstats - 1].cpu_s - pstats[0].cpu_s) / (pstats[npstats - 1].t - pstats[0].t);

    double elapsed = t_agents_done - t_start;
    printf("agents %ld rate %.2f Hz viewers %ld stuck %ld history clients %ld seconds %.1f "
           "burst %.1f s at %.0fx\n",
           nagents, o.rate, o.viewers, o.stuck, o.queries, o.seconds, o.burst, o.burst_factor);
    printf("ingest posts %ld 2xx %ld 429/503 %ld (without Retry-After %ld) other %ld "
           "timeouts %ld in %.1f s\n",
           nrecs, codes_2xx, codes_busy, busy_no_retry, codes_other, timeouts, elapsed);
    printf("ingest_ack_ms p50 %.1f p99 %.1f max %.1f (n %zu)\n", pct(&ack, 50), pct(&ack, 99),
           dmax(&ack), ack.n);
    printf("delivery_ms p50 %.1f p99 %.1f max %.1f (n %zu, before ack %ld, of %ld expected; "
           "unmatched %ld, lag notices %ld dropped %ld, viewers closed %ld never connected %ld)\n",
           pct(&deliv, 50), pct(&deliv, 99), dmax(&deliv), deliv.n, seen_before_ack, expected,
           unmatched, lags, dropped, vclosed, vnever);
    printf("client_wakeup_late_ms p50 %.1f p99 %.1f max %.1f (this process, a baseline)\n",
           pct(&late, 50), pct(&late, 99), dmax(&late));
    printf("post_to_viewer_ms p50 %.1f p99 %.1f max %.1f\n", pct(&deliv_post, 50),
           pct(&deliv_post, 99), dmax(&deliv_post));
    for (int r = 0; r < NRANGES; r++)
        printf("history_ms %s p50 %.1f p95 %.1f (n %zu)\n", range_names[r], pct(&hist_lat[r], 50),
               pct(&hist_lat[r], 95), hist_lat[r].n);
    printf("history non-200 %ld\n", hist_codes_bad);
    if (o.burst > 0)
        printf("burst replies %zu 2xx %ld 429/503 %ld other %ld timeouts %ld reply_ms p50 %.1f "
               "p99 %.1f max %.1f\n",
               burst_reply.n, burst_2xx, burst_busy, burst_other, burst_timeouts,
               pct(&burst_reply, 50), pct(&burst_reply, 99), dmax(&burst_reply));
    if (o.pid > 0)
        printf("server cpu avg %.0f%% max %.0f%% (of one core) rss start %ld KiB end %ld KiB max "
               "%ld KiB\n",
               cpu_avg * 100, cpu_max * 100, rss_first, rss_last, rss_max);
    if (missing >= 0)
        printf("acknowledged samples missing from the database: %ld\n", missing);

    int fail = 0;
    if (missing != 0 && missing != -2)
        fail = 1, fprintf(stderr, "smload: FAIL: acknowledged samples missing (%ld)\n", missing);
    if (timeouts)
        fail = 1, fprintf(stderr, "smload: FAIL: %ld requests got no reply\n", timeouts);
    if (codes_other)
        fail = 1,
        fprintf(stderr, "smload: FAIL: %ld replies neither 2xx nor 429/503\n", codes_other);
    if (busy_no_retry)
        fail = 1,
        fprintf(stderr, "smload: FAIL: %ld refusals without Retry-After\n", busy_no_retry);
    if (burst_reply.n && dmax(&burst_reply) > BURST_REPLY_MAX_S * 1e3)
        fail = 1, fprintf(stderr, "smload: FAIL: a burst reply took %.1f s (> %.0f s)\n",
                          dmax(&burst_reply) / 1e3, BURST_REPLY_MAX_S);
    if (o.strict && (codes_busy || codes_2xx != nrecs || hist_codes_bad))
        fail = 1, fprintf(stderr, "smload: FAIL: --strict and not every reply was 2xx\n");
    if (o.strict && o.viewers && (vnever || !deliv.n))
        fail = 1, fprintf(stderr, "smload: FAIL: --strict and viewers saw nothing\n");

    if (o.markdown) {
        FILE *f = fopen(o.markdown, "w");
        if (f) {
            fprintf(f, "| what | figure |\n|---|---|\n");
            fprintf(f,
                    "| load | %ld agents at %.2f Hz, %ld viewers, %ld history clients, %.0f s |\n",
                    nagents, o.rate, o.viewers, o.queries, o.seconds);
            fprintf(f, "| ingest ack p50 / p99 | %.1f / %.1f ms (%zu posts) |\n", pct(&ack, 50),
                    pct(&ack, 99), ack.n);
            fprintf(f, "| delivery ack->viewer p50 / p99 | %.1f / %.1f ms (%zu of %ld) |\n",
                    pct(&deliv, 50), pct(&deliv, 99), deliv.n, expected);
            fprintf(f, "| delivery post->viewer p50 / p99 | %.1f / %.1f ms |\n",
                    pct(&deliv_post, 50), pct(&deliv_post, 99));
            fprintf(f, "| baseline: load generator wake-up lateness p50 / p99 | %.1f / %.1f ms |\n",
                    pct(&late, 50), pct(&late, 99));
            for (int r = 0; r < NRANGES; r++)
                fprintf(f, "| history %s p95 | %.1f ms (%zu queries) |\n", range_names[r],
                        pct(&hist_lat[r], 95), hist_lat[r].n);
            if (o.pid > 0)
                fprintf(f,
                        "| server CPU avg / max | %.0f%% / %.0f%% of one core |\n"
                        "| server RSS start / end / max | %ld / %ld / %ld MiB |\n",
                        cpu_avg * 100, cpu_max * 100, rss_first / 1024, rss_last / 1024,
                        rss_max / 1024);
            if (o.burst > 0)
                fprintf(f,
                        "| burst %.0fx for %.0f s | %zu replies: %ld 2xx, %ld 429/503, %ld "
                        "timeouts; p99 %.0f ms, max %.0f ms |\n",
                        o.burst_factor, o.burst, burst_reply.n, burst_2xx, burst_busy,
                        burst_timeouts, pct(&burst_reply, 99), dmax(&burst_reply));
            fprintf(f, "| acknowledged samples missing | %ld |\n", missing);
            fprintf(f, "| verdict | %s |\n", fail ? "FAIL" : "pass");
            fclose(f);
        }
    }

    for (long i = 0; i < nagents; i++) {
        curl_easy_cleanup(agents[i].easy);
        curl_slist_free_all(agents[i].hdrs);
        free(agents[i].token);
    }
    for (long i = 0; i < o.queries; i++) {
        curl_easy_cleanup(hclients[i].easy);
        curl_slist_free_all(hclients[i].hdrs);
    }
    curl_multi_cleanup(multi);
    if (ws_ctx)
        lws_context_destroy(ws_ctx);
    for (long i = 0; i < nviewers; i++) {
        free(viewers[i].msg);
        free(viewers[i].seen);
    }
    curl_global_cleanup();
    free(viewers);
    free(hclients);
    free(agents);
    free(recs);
    free(byid);
    free(ack.v);
    free(deliv.v);
    free(deliv_post.v);
    free(burst_reply.v);
    free(late.v);
    for (int r = 0; r < NRANGES; r++)
        free(hist_lat[r].v);
    free(pstats);
    free(ingest_url);
    free(access_token);
    return fail;
}
