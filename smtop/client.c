/* client.c: smtop's network side in server mode, on the libwebsockets loop of smtop's
 * one thread (see client.h). */
#include "config.h"

#include "client.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define CLIENT_BODY_MAX (16u << 20) /* largest REST reply accepted */
#define CLIENT_MSG_MAX (32u << 20)  /* largest stream message accepted (a snapshot) */
#define CLIENT_QUEUE_MAX 20000      /* events waiting for the UI before samples drop */
#define CLIENT_TOKEN_MAX 512        /* longest token accepted from the server or a file */
#define CLIENT_PASSWORD_MAX 1024    /* longest password read */
#define CLIENT_PATH_MAX 1024        /* longest REST path */
#define CLIENT_BACKOFF_BASE 0.5     /* first reconnect delay, seconds */
#define CLIENT_BACKOFF_CAP 30.0     /* longest reconnect delay, seconds */
#define CLIENT_REFRESH_RETRY 5.0    /* retry a refresh that met a network error */
#define CLIENT_LOCK_RETRY 1.0       /* retry a refresh while another smtop holds the lock */
#define CLIENT_HTTP_TIMEOUT 60.0    /* longest wait for a whole REST reply, seconds */
#define CLIENT_ALERTS_POLL                                                                         \
    15.0 /* fetch the active alerts again (a deleted rule sends                                    \
          * no stream message) */

#define CLIENT_PROTO_STREAM "sm"
#define CLIENT_PROTO_HTTP "sm-http"

struct ev_node {
    struct client_event ev;
    struct ev_node *next;
};

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
    int status; /* HTTP status, 0 until the headers came */
    char *rx;
    size_t rx_len, rx_cap;
    int done;
    char *fail;             /* why there is no reply, or NULL */
    struct ev_node *alerts; /* REQ_ALERTS*: the event being built */
    struct req *next;
};

struct client {
    /* Fixed after client_new. */
    struct lws_context *ctx; /* the loop's */
    char *base;              /* URL without a trailing slash */
    char *user;
    char *token_path; /* NULL: the refresh token is not kept */
    char *host;       /* for the stream */
    /* The numeric address of the first connection that worked: later connections go
     * there without a name lookup, which would block the loop (libwebsockets resolves
     * names synchronously). Empty until then. */
    char addr[64];
    int port;
    int tls;
    char *path_prefix;
    char *ws_path;
    char *host_header;

    /* Events for the UI. */
    struct ev_node *ev_head, *ev_tail;
    size_t ev_count;
    uint64_t ev_dropped;

    /* Tokens. */
    char *access;
    uint64_t access_gen;
    double refresh_at; /* monotonic time to refresh the access token */
    int refresh_wanted;
    int auth_dead;   /* the server refused the refresh token */
    char *login_why; /* why the last refresh failed (no session yet), else NULL */

    /* REST: one request in flight at a time; the others wait in the queue. */
    struct req *cur;
    struct req *req_head, *req_tail;
    struct req *done_head; /* finished, handled at the next sul_done */
    lws_sorted_usec_list_t sul_done, sul_rest;
    uint64_t next_id;
    int agents_pending;
    int stream_live;  /* subscribed: the alerts are worth fetching */
    double alerts_at; /* monotonic time of the next alerts fetch */
    int stop;
    int started;

    /* The stream. */
    struct lws *wsi;
    int in_connect, connect_failed;
    char connect_why[160];
    lws_sorted_usec_list_t sul_retry;
    unsigned attempts;
    uint64_t sent_gen;
    int send_auth, send_subscribe;
    int waiting_token; /* no access token yet: connect when the refresh brings one */
    char *rx;
    size_t rx_len, rx_cap;
    int rx_toobig;
    char close_why[128];
    int64_t *known;
    size_t nknown, known_cap;
    unsigned seed;
};

static void rest_kick(struct client *c);

/* Where to connect: the learnt address, else the name from the URL. */
static const char *
connect_address(const struct client *c)
{
    return c->addr[0] ? c->addr : c->host;
}

/* The connect info every connection to the server shares (REST and the stream), for
 * protocol proto; the caller adds path, method and opaque data. */
static void
connect_info(const struct client *c, struct lws_client_connect_info *ci, const char *proto)
{
    memset(ci, 0, sizeof *ci);
    ci->context = c->ctx;
    ci->address = connect_address(c);
    ci->port = c->port;
    ci->host = c->host_header;
    ci->protocol = proto;
    ci->local_protocol_name = proto;
    ci->ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
}

/* Learn the server's numeric address from a connection that worked. */
static void
learn_address(struct client *c, struct lws *wsi)
{
    char a[sizeof c->addr];
    if (c->addr[0] == '\0' && lws_get_peer_simple(wsi, a, sizeof a) != NULL && a[0])
        snprintf(c->addr, sizeof c->addr, "%s", a);
}
static void rest_soon(struct client *c);
static void req_push(struct client *c, struct req *r, int at_head);
static struct req *req_new(struct client *c, enum req_kind kind, const char *method,
                           const char *path, char *body, int authed);
static void connect_stream(lws_sorted_usec_list_t *sul);

/* ------------------------------------------------------------------ small helpers */

static void
wipe_free(char *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

double
client_backoff(unsigned n, double base, double cap, double rnd01)
{
    double d = base;
    for (unsigned i = 0; i < n && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    return d * (0.5 + 0.5 * rnd01);
}

/* Split http[s]://HOST[:PORT][/PREFIX] into c's fields. */
static enum sm_rc
parse_url(struct client *c, const char *url, char **cause)
{
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
        c->port = 80;
    } else if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        c->port = 443;
        c->tls = 1;
    } else {
        *cause = sm_xasprintf("--server: must start with http:// or https://");
        return SM_EINVAL;
    }
    if (strlen(url) > 512) {
        *cause = sm_xasprintf("--server: longer than 512 characters");
        return SM_EINVAL;
    }
    const char *host_end;
    const char *host = p;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (host_end == NULL) {
            *cause = sm_xasprintf("--server: unterminated [IPv6 address]");
            return SM_EINVAL;
        }
        host = p + 1;
        p = host_end + 1;
    } else {
        p += strcspn(p, ":/?#@");
        host_end = p;
    }
    if (host_end == host) {
        *cause = sm_xasprintf("--server: no host name");
        return SM_EINVAL;
    }
    if (*p == '@' || *p == '?' || *p == '#') {
        *cause = sm_xasprintf("--server: user info, query and fragment are not allowed");
        return SM_EINVAL;
    }
    c->host = sm_xstrndup(host, (size_t)(host_end - host));
    if (*p == ':') {
        long port = 0;
        p++;
        const char *q = p;
        while (*q >= '0' && *q <= '9' && port <= 65535)
            port = port * 10 + (*q++ - '0');
        if (q == p || port < 1 || port > 65535 || (*q != '\0' && *q != '/')) {
            *cause = sm_xasprintf("--server: port must be a number from 1 to 65535");
            return SM_EINVAL;
        }
        c->port = (int)port;
        p = q;
    }
    if (strpbrk(p, "?#@ \t\r\n") != NULL) {
        *cause = sm_xasprintf("--server: user info, query and fragment are not allowed");
        return SM_EINVAL;
    }
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    char *prefix = sm_xstrndup(p, plen);
    size_t blen = strlen(url);
    while (blen > 0 && url[blen - 1] == '/')
        blen--;
    c->base = sm_xstrndup(url, blen);
    c->ws_path = sm_xasprintf("%s/ws", prefix);
    c->host_header = sm_xasprintf("%s:%d", c->host, c->port);
    c->path_prefix = prefix;
    return SM_OK;
}

/* ------------------------------------------------------------------ event queue */

static void
event_done(struct client_event *ev)
{
    free(ev->text);
    free(ev->name);
    if (ev->sample) {
        sm_sample_done(ev->sample);
        free(ev->sample);
    }
    cJSON_Delete(ev->body);
}

static struct ev_node *
ev_new(enum client_event_type type)
{
    struct ev_node *n = sm_xcalloc(1, sizeof *n);
    n->ev.type = type;
    return n;
}

/* Queue n for the UI; past the cap, samples are dropped and counted. */
static void
ev_push(struct client *c, struct ev_node *n)
{
    if (c->ev_count >= CLIENT_QUEUE_MAX && n->ev.type == CLIENT_EV_SAMPLE) {
        c->ev_dropped++;
        event_done(&n->ev);
        free(n);
        return;
    }
    if (c->ev_tail)
        c->ev_tail->next = n;
    else
        c->ev_head = n;
    c->ev_tail = n;
    c->ev_count++;
}

static void
ev_state(struct client *c, enum client_state st, double retry_in, const char *text)
{
    struct ev_node *n = ev_new(CLIENT_EV_STATE);
    n->ev.state = st;
    n->ev.retry_in = retry_in;
    n->ev.text = text ? sm_xstrdup(text) : NULL;
    ev_push(c, n);
}

static void ev_error(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
ev_error(struct client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct ev_node *n = ev_new(CLIENT_EV_ERROR);
    n->ev.text = sm_xvasprintf(fmt, ap);
    va_end(ap);
    ev_push(c, n);
}

size_t
client_drain(struct client *c, client_event_fn cb, void *arg)
{
    struct ev_node *n = c->ev_head;
    c->ev_head = c->ev_tail = NULL;
    c->ev_count = 0;
    uint64_t dropped = c->ev_dropped;
    c->ev_dropped = 0;
    size_t count = 0;
    if (dropped) {
        struct client_event lag = {.type = CLIENT_EV_LAG, .dropped = dropped};
        cb(arg, &lag);
        count++;
    }
    while (n) {
        struct ev_node *next = n->next;
        cb(arg, &n->ev);
        event_done(&n->ev);
        free(n);
        n = next;
        count++;
    }
    return count;
}

/* ------------------------------------------------------------------ refresh token file */

/* Make dir and its missing parents; the ones made here are 0700. */
static int
mkdir_p(const char *dir)
{
    char *d = sm_xstrdup(dir);
    int rc = 0;
    for (char *p = d + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char save = *p;
        *p = '\0';
        if (mkdir(d, 0700) != 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *p = save;
        if (save == '\0')
            break;
    }
    free(d);
    return rc;
}

char *
client_token_path(const struct client_options *opt)
{
    char *dir;
    if (opt->state_dir) {
        dir = sm_xstrdup(opt->state_dir);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");
        if (xdg && xdg[0] == '/') {
            dir = sm_xasprintf("%s/statusmonitor", xdg);
        } else {
            if (home == NULL || home[0] != '/') {
                struct passwd *pw = getpwuid(getuid());
                home = pw ? pw->pw_dir : NULL;
            }
            if (home == NULL)
                return NULL;
            dir = sm_xasprintf("%s/.local/state/statusmonitor", home);
        }
    }
    /* USER@URL with anything but [A-Za-z0-9.-] turned into '_'. */
    char *name = sm_xasprintf("%s@%s", opt->user, opt->url);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '@'))
            *p = '_';
    char *path = sm_xasprintf("%s/%s.refresh", dir, name);
    free(dir);
    free(name);
    return path;
}

/* The directory part of path (allocated). */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return sm_xstrndup(path, slash && slash != path ? (size_t)(slash - path) : 1);
}

/* Read the stored refresh token, or NULL when there is none (or it is unusable). */
static char *
token_read(const char *path)
{
    if (path == NULL)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    char buf[CLIENT_TOKEN_MAX + 2];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid()) {
        if (st.st_mode & 077) {
            sm_log(SM_LOG_WARN, "%s: readable by others; tightened to 0600", path);
            if (fchmod(fd, 0600) != 0)
                sm_log(SM_LOG_WARN, "%s: chmod: %s", path, strerror(errno));
        }
        n = read(fd, buf, sizeof buf - 1);
    }
    close(fd);
    if (n <= 0 || (size_t)n > CLIENT_TOKEN_MAX) {
        explicit_bzero(buf, sizeof buf);
        return NULL;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    char *t = buf[0] ? sm_xstrdup(buf) : NULL;
    explicit_bzero(buf, sizeof buf);
    return t;
}

/* Replace the stored refresh token atomically (write a 0600 temporary, fsync, rename). */
static enum sm_rc
token_write(const char *path, const char *token)
{
    if (path == NULL)
        return SM_OK;
    char *dir = dir_of(path);
    char *tmp = sm_xasprintf("%s.tmp%ld", path, (long)getpid());
    enum sm_rc rc = SM_EIO;
    int fd = -1;
    if (mkdir_p(dir) != 0) {
        sm_log(SM_LOG_WARN, "%s: cannot create: %s", dir, strerror(errno));
        goto out;
    }
    (void)chmod(dir, 0700);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    size_t len = strlen(token);
    if (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    rc = SM_OK;
    goto out;
fail:
    sm_log(SM_LOG_WARN, "%s: cannot store the refresh token: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(dir);
    free(tmp);
    return rc;
}

/* Hold an exclusive lock on PATH.lock so that two smtops never rotate the same refresh
 * token at once (a reused refresh token revokes its whole family). -1 when not kept.
 * nonblock (inside the loop, which must not wait on another process): -2 when another
 * smtop holds the lock. */
static int
token_lock(const char *path, int nonblock)
{
    if (path == NULL)
        return -1;
    char *dir = dir_of(path);
    int ok = mkdir_p(dir) == 0;
    if (ok)
        (void)chmod(dir, 0700);
    free(dir);
    if (!ok)
        return -1;
    char *lp = sm_xasprintf("%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(lp);
    if (fd >= 0 && flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(fd);
        fd = busy ? -2 : -1;
    }
    return fd;
}

static void
token_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* The "detail" of an error reply, or a generic text. */
static const char *
detail_of(const cJSON *json)
{
    const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "detail"));
    return d ? d : "no detail";
}

/* Seconds until the access token expires: the JWT's exp against our clock, bounded by
 * the server's expires_in (which does not depend on the clocks agreeing). */
static double
token_lifetime(const char *jwt, double expires_in)
{
    double life = expires_in > 0 ? expires_in : 0;
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (dot2 == NULL || dot2 - dot1 - 1 > 2048)
        return life > 0 ? life : 60;
    /* base64url payload -> JSON. */
    size_t n = (size_t)(dot2 - dot1 - 1);
    char *out = sm_xmalloc(n + 1);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0, bad = 0;
    for (const char *p = dot1 + 1; p < dot2; p++) {
        int v;
        if (*p >= 'A' && *p <= 'Z')
            v = *p - 'A';
        else if (*p >= 'a' && *p <= 'z')
            v = *p - 'a' + 26;
        else if (*p >= '0' && *p <= '9')
            v = *p - '0' + 52;
        else if (*p == '-')
            v = 62;
        else if (*p == '_')
            v = 63;
        else if (*p == '=')
            break;
        else {
            bad = 1;
            break;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    cJSON *pj = NULL;
    char *cause = NULL;
    if (!bad && sm_json_parse(out, o, 4, &pj, &cause) == SM_OK) {
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(pj, "exp");
        if (cJSON_IsNumber(exp)) {
            double left = exp->valuedouble - sm_wall_now();
            if (left > 0 && (life <= 0 || left < life))
                life = left;
        }
    }
    free(cause);
    cJSON_Delete(pj);
    free(out);
    return life > 0 ? life : 60;
}

/* Take the tokens of a 200 reply from /token or /refresh: keep the access token in
 * memory, store the refresh token. */
/* ------------------------------------------------------------------ HTTP (lws client) */

static void
req_free(struct req *r)
{
    if (r == NULL)
        return;
    if (r->wsi) {
        /* Still connected: let the connection go without us. */
        lws_set_opaque_user_data(r->wsi, NULL);
        lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    lws_sul_cancel(&r->sul_timeout);
    if (r->body)
        explicit_bzero(r->body, strlen(r->body));
    free(r->body);
    if (r->rx) /* the reply of /token and /refresh holds tokens: wipe it */
        explicit_bzero(r->rx, r->rx_len);
    free(r->rx);
    free(r->fail);
    free(r->path);
    if (r->alerts) {
        event_done(&r->alerts->ev);
        free(r->alerts);
    }
    if (r->lock_fd >= 0)
        close(r->lock_fd); /* releases the flock */
    free(r);
}

static void on_done(lws_sorted_usec_list_t *sul);

/* The request is over (fail: why there is no reply, else NULL). Its result is handled
 * from the scheduler, never inside a libwebsockets callback. */
static void
req_finish(struct req *r, const char *fail)
{
    if (r->done)
        return;
    r->done = 1;
    if (fail)
        r->fail = sm_xasprintf("%s: %s", r->c->base, fail);
    if (r->wsi) {
        lws_set_opaque_user_data(r->wsi, NULL);
        r->wsi = NULL;
    }
    lws_sul_cancel(&r->sul_timeout);
    if (r->kind == REQ_SYNC)
        return; /* client_login is waiting for it */
    struct client *c = r->c;
    if (c->cur == r)
        c->cur = NULL;
    r->next = c->done_head;
    c->done_head = r;
    lws_sul_schedule(c->ctx, 0, &c->sul_done, on_done, 1);
}

static void
on_req_timeout(lws_sorted_usec_list_t *sul)
{
    struct req *r = lws_container_of(sul, struct req, sul_timeout);
    struct lws *wsi = r->wsi;
    char why[64];
    snprintf(why, sizeof why, "no reply within %.0f seconds", CLIENT_HTTP_TIMEOUT);
    req_finish(r, why);
    if (wsi)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Open the connection for r. A failure finishes r (handled later, as any reply). */
static void
req_start(struct req *r)
{
    struct client *c = r->c;
    char *path = sm_xasprintf("%s%s", c->path_prefix, r->path);
    struct lws_client_connect_info ci;
    connect_info(c, &ci, CLIENT_PROTO_HTTP);
    ci.path = path;
    ci.origin = c->host_header;
    ci.method = r->method;
    ci.opaque_user_data = r;
    r->status = 0;
    r->rx_len = 0;
    lws_sul_schedule(c->ctx, 0, &r->sul_timeout, on_req_timeout,
                     (lws_usec_t)(CLIENT_HTTP_TIMEOUT * 1e6));
    struct lws *wsi = lws_client_connect_via_info(&ci);
    free(path);
    if (r->done) /* failed inside the call */
        return;
    if (wsi == NULL)
        req_finish(r, "cannot start a connection");
    else
        r->wsi = wsi;
}

/* Add the request's headers (Authorization, Content-Type and -Length for a body). */
static int
req_headers(struct req *r, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    static const char json[] = "application/json";
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ACCEPT, (const unsigned char *)json,
                                     (int)strlen(json), p, end))
        return -1;
    if (r->authed && r->c->access) {
        char *auth = sm_xasprintf("Bearer %s", r->c->access);
        int bad =
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                         (const unsigned char *)auth, (int)strlen(auth), p, end);
        wipe_free(auth);
        if (bad)
            return -1;
    }
    if (r->body) {
        char clen[24];
        snprintf(clen, sizeof clen, "%zu", strlen(r->body));
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                         (const unsigned char *)json, (int)strlen(json), p, end) ||
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                         (const unsigned char *)clen, (int)strlen(clen), p, end))
            return -1;
        lws_client_http_body_pending(wsi, 1);
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int
http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct req *r = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (r == NULL)
            return -1;
        return req_headers(r, wsi, (unsigned char **)in, *(unsigned char **)in + len);
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
        if (r == NULL || r->body == NULL)
            return 0;
        size_t n = strlen(r->body);
        unsigned char *buf = sm_xmalloc(LWS_PRE + n);
        memcpy(buf + LWS_PRE, r->body, n);
        int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
        explicit_bzero(buf, LWS_PRE + n);
        free(buf);
        lws_client_http_body_pending(wsi, 0);
        return w < (int)n ? -1 : 0;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        if (r) {
            r->status = (int)lws_http_client_http_response(wsi);
            learn_address(r->c, wsi);
        }
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 8192];
        char *p = buf + LWS_PRE;
        int n = (int)sizeof buf - LWS_PRE;
        return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (r == NULL)
            return -1;
        if (r->rx_len + len > CLIENT_BODY_MAX) {
            char why[96];
            snprintf(why, sizeof why, "%s: reply larger than %u bytes", r->path, CLIENT_BODY_MAX);
            req_finish(r, why);
            return -1;
        }
        if (r->rx_len + len + 1 > r->rx_cap) { /* grow by doubling: replies come in pieces */
            size_t cap = r->rx_cap ? r->rx_cap : 16384;
            while (cap < r->rx_len + len + 1)
                cap *= 2;
            char *grown = sm_xmalloc(cap);
            if (r->rx_len) /* copied, not realloc'd: the old buffer may hold tokens */
                memcpy(grown, r->rx, r->rx_len);
            if (r->rx)
                explicit_bzero(r->rx, r->rx_cap);
            free(r->rx);
            r->rx = grown;
            r->rx_cap = cap;
        }
        memcpy(r->rx + r->rx_len, in, len);
        r->rx_len += len;
        r->rx[r->rx_len] = '\0';
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (r)
            req_finish(r, NULL);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (r) {
            char why[160];
            snprintf(why, sizeof why, "cannot connect: %.120s", in ? (const char *)in : "error");
            req_finish(r, why);
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (r)
            req_finish(r, r->status ? "the connection closed before the whole reply"
                                    : "the connection closed without a reply");
        return 0;
    default:
        return 0;
    }
}

/* The outcome of a finished request: SM_OK when the server answered (any status, in
 * *status; *json the parsed body or NULL); SM_EIO with *cause when it could not be
 * reached or the reply was bad. */
static enum sm_rc
req_result(struct req *r, long *status, cJSON **json, char **cause)
{
    *status = 0;
    *json = NULL;
    if (r->fail) {
        *cause = sm_xstrdup(r->fail);
        return SM_EIO;
    }
    *status = r->status;
    if (r->rx_len > 0) {
        char *perr = NULL;
        if (sm_json_parse(r->rx, r->rx_len, SM_JSON_MAX_DEPTH, json, &perr) != SM_OK) {
            *json = NULL;
            if (*status == 200) {
                *cause = sm_xasprintf("%s: reply is not JSON: %s", r->path, perr);
                free(perr);
                return SM_EIO;
            }
        }
        free(perr);
    }
    return SM_OK;
}

/* One request before the loop runs (login): service the context until it is over. */
static enum sm_rc
http_sync(struct client *c, const char *method, const char *path, char *body, long *status,
          cJSON **json, char **cause)
{
    struct req *r = req_new(c, REQ_SYNC, method, path, body, 0);
    req_start(r);
    while (!r->done)
        if (lws_service(c->ctx, 0) < 0)
            req_finish(r, "the event loop failed");
    enum sm_rc rc = req_result(r, status, json, cause);
    req_free(r);
    return rc;
}

/* Take the tokens of a 200 reply from /token or /refresh: keep the access token in
 * memory, store the refresh token. */
static enum sm_rc
take_tokens(struct client *c, const cJSON *json, char **cause)
{
    const char *access =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "access_token"));
    const char *refresh =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "refresh_token"));
    const cJSON *ein = cJSON_GetObjectItemCaseSensitive(json, "expires_in");
    if (access == NULL || refresh == NULL || strlen(access) > CLIENT_TOKEN_MAX ||
        strlen(refresh) > CLIENT_TOKEN_MAX || access[0] == '\0' || refresh[0] == '\0' ||
        strpbrk(refresh, "\r\n") != NULL) {
        *cause = sm_xasprintf("%s: the token reply lacks access_token or refresh_token", c->base);
        return SM_EPARSE;
    }
    double life = token_lifetime(access, cJSON_IsNumber(ein) ? ein->valuedouble : 0);
    if (token_write(c->token_path, refresh) != SM_OK)
        sm_log(SM_LOG_WARN, "the next start will ask for the password again");
    wipe_free(c->access);
    c->access = sm_xstrdup(access);
    c->access_gen++;
    /* Refresh when three quarters of the lifetime have passed. */
    c->refresh_at = sm_mono_now() + 0.75 * life;
    c->refresh_wanted = 0;
    return SM_OK;
}

/* The body of POST /refresh for the stored token (allocated, to be wiped), or NULL with
 * *cause when no token is stored. */
static char *
refresh_body(struct client *c, char **cause)
{
    char *tok = token_read(c->token_path);
    if (tok == NULL) {
        *cause = sm_xasprintf("no stored session for %s at %s", c->user, c->base);
        return NULL;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "refresh_token", tok);
    char *text = cJSON_PrintUnformatted(req);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "refresh_token");
    explicit_bzero(t->valuestring, strlen(t->valuestring));
    cJSON_Delete(req);
    wipe_free(tok);
    if (text == NULL)
        abort();
    return text;
}

/* What a POST /refresh reply means: SM_OK (tokens taken), SM_EAUTH when the server
 * refused the token (the file is then removed), else SM_EIO / SM_EBUSY. */
static enum sm_rc
refresh_outcome(struct client *c, enum sm_rc rc, long status, const cJSON *json, char **cause)
{
    if (rc != SM_OK)
        return rc;
    if (status == 200)
        return take_tokens(c, json, cause);
    if (status == 401 || status == 403) {
        *cause = sm_xasprintf("the server refused the stored session: %s", detail_of(json));
        if (c->token_path && unlink(c->token_path) != 0 && errno != ENOENT)
            sm_log(SM_LOG_WARN, "%s: %s", c->token_path, strerror(errno));
        return SM_EAUTH;
    }
    *cause = sm_xasprintf("POST /refresh: HTTP %ld: %s", status, detail_of(json));
    return status == 429 ? SM_EBUSY : SM_EIO;
}

/* POST /refresh with the stored refresh token, under the file lock, before the loop
 * runs. SM_ENOTFOUND when no token is stored. */
static enum sm_rc
do_refresh_sync(struct client *c, char **cause)
{
    int lock = token_lock(c->token_path, 0);
    char *text = refresh_body(c, cause);
    enum sm_rc rc = SM_ENOTFOUND;
    if (text) {
        long status;
        cJSON *json = NULL;
        rc = http_sync(c, "POST", "/refresh", text, &status, &json, cause);
        rc = refresh_outcome(c, rc, status, json, cause);
        cJSON_Delete(json);
    }
    token_unlock(lock);
    return rc;
}

/* POST /token with user and password. */
static enum sm_rc
do_password_login(struct client *c, const char *password, char **cause)
{
    cJSON *req = cJSON_CreateObject(), *json = NULL;
    cJSON_AddStringToObject(req, "username", c->user);
    cJSON_AddStringToObject(req, "password", password);
    char *text = cJSON_PrintUnformatted(req);
    cJSON *pw = cJSON_GetObjectItemCaseSensitive(req, "password");
    explicit_bzero(pw->valuestring, strlen(pw->valuestring));
    cJSON_Delete(req);
    if (text == NULL)
        abort();
    long status;
    int lock = token_lock(c->token_path, 0);
    enum sm_rc rc = http_sync(c, "POST", "/token", text, &status, &json, cause);
    if (rc != SM_OK)
        goto out;
    if (status == 200) {
        rc = take_tokens(c, json, cause);
    } else if (status == 401 || status == 400) {
        *cause = sm_xasprintf("login refused for %s at %s: %s", c->user, c->base, detail_of(json));
        rc = SM_EAUTH;
    } else if (status == 429) {
        *cause = sm_xasprintf("login refused for %s at %s: too many attempts, try later", c->user,
                              c->base);
        rc = SM_EBUSY;
    } else {
        *cause = sm_xasprintf("POST /token: HTTP %ld: %s", status, detail_of(json));
        rc = SM_EIO;
    }
out:
    token_unlock(lock);
    cJSON_Delete(json);
    return rc;
}

enum sm_rc
client_login(struct client *c, client_password_fn get_password, void *arg, int *used_password,
             char **cause)
{
    char *why = NULL;
    *used_password = 0;
    enum sm_rc rc = do_refresh_sync(c, &why);
    if (rc == SM_OK || rc == SM_EIO || rc == SM_EBUSY) {
        if (rc != SM_OK)
            *cause = why;
        else
            free(why);
        return rc;
    }
    if (rc == SM_EAUTH)
        sm_log(SM_LOG_INFO, "%s; logging in with the password", why);
    free(why);
    char *password = get_password(arg, cause);
    if (password == NULL)
        return SM_EAUTH;
    *used_password = 1;
    rc = do_password_login(c, password, cause);
    wipe_free(password);
    return rc;
}

/* ------------------------------------------------------------------ REST on the loop */

static struct req *
req_new(struct client *c, enum req_kind kind, const char *method, const char *path, char *body,
        int authed)
{
    struct req *r = sm_xcalloc(1, sizeof *r);
    r->c = c;
    r->kind = kind;
    r->method = method;
    r->path = sm_xstrdup(path);
    r->body = body;
    r->authed = authed;
    r->lock_fd = -1;
    return r;
}

/* Queue r (at the head: it runs next). */
static void
req_push(struct client *c, struct req *r, int at_head)
{
    if (at_head) {
        r->next = c->req_head;
        c->req_head = r;
        if (c->req_tail == NULL)
            c->req_tail = r;
    } else {
        r->next = NULL;
        if (c->req_tail)
            c->req_tail->next = r;
        else
            c->req_head = r;
        c->req_tail = r;
    }
    rest_soon(c);
}

static void agents_to_events(struct client *c, const cJSON *list);

/* The stream and the REST requests after a new access token. */
static void
token_renewed(struct client *c)
{
    /* The first token after a start without the server: connect now. */
    if (c->wsi == NULL && c->waiting_token && !c->stop) {
        c->attempts = 0;
        lws_sul_schedule(c->ctx, 0, &c->sul_retry, connect_stream, 1);
    }
    /* Authenticate the open stream again, so that the server extends its expiry
     * instead of closing at the old one. */
    if (c->wsi && c->access_gen != c->sent_gen && !c->auth_dead) {
        c->send_auth = 1;
        lws_callback_on_writable(c->wsi);
    }
}

/* A POST /refresh while running is over. */
static void
refresh_done(struct client *c, struct req *r)
{
    long status;
    cJSON *json = NULL;
    char *why = NULL;
    enum sm_rc rc = req_result(r, &status, &json, &why);
    rc = refresh_outcome(c, rc, status, json, &why);
    cJSON_Delete(json);
    if (rc == SM_OK) {
        free(c->login_why);
        c->login_why = NULL;
        token_renewed(c);
    } else if (rc == SM_EAUTH) {
        c->auth_dead = 1;
        char *text = sm_xasprintf("%s; run smtop again to log in", why);
        ev_state(c, CLIENT_AUTH_FAILED, 0, text);
        free(text);
    } else {
        sm_log(SM_LOG_DEBUG, "token refresh: %s", why);
        c->refresh_at = sm_mono_now() + CLIENT_REFRESH_RETRY;
        free(c->login_why);
        c->login_why = c->access ? NULL : sm_xstrdup(why);
    }
    free(why);
}

/* The alert rules, then the active alerts: one CLIENT_EV_ALERTS with both. */
static void
alerts_done(struct client *c, struct req *r, long status, cJSON *json, enum sm_rc rc, char *cause)
{
    struct ev_node *n = r->alerts;
    r->alerts = NULL;
    n->ev.status = rc == SM_OK ? (int)status : 0;
    if (rc != SM_OK || status != 200 || !cJSON_IsArray(json)) {
        n->ev.text = rc != SM_OK ? sm_xstrdup(cause)
                                 : sm_xasprintf("GET %s: %s", r->path,
                                                status == 200 ? "not a list" : detail_of(json));
        if (n->ev.status == 200)
            n->ev.status = 0;
        cJSON_Delete(json);
        ev_push(c, n);
        return;
    }
    cJSON_AddItemToObject(n->ev.body, r->kind == REQ_ALERTS ? "rules" : "active", json);
    if (r->kind == REQ_ALERTS) {
        struct req *next = req_new(c, REQ_ALERTS_ACTIVE, "GET", "/alerts/active", NULL, 1);
        next->alerts = n;
        req_push(c, next, 1);
        return;
    }
    ev_push(c, n);
}

/* A finished request: its reply to the UI (or a retry after a refresh). */
static void
req_done(struct client *c, struct req *r)
{
    if (r->kind == REQ_REFRESH) {
        refresh_done(c, r);
        return;
    }
    long status = 0;
    cJSON *json = NULL;
    char *cause = NULL;
    enum sm_rc rc = req_result(r, &status, &json, &cause);
    if (rc == SM_OK && status == 401 && !r->retried && !c->auth_dead) {
        /* The access token expired under us: refresh, then ask again once. */
        cJSON_Delete(json);
        struct req *again = req_new(c, r->kind, r->method, r->path, NULL, 1);
        again->id = r->id;
        again->retried = 1;
        again->alerts = r->alerts;
        r->alerts = NULL;
        c->refresh_wanted = 1;
        req_push(c, again, 1);
        return;
    }
    switch (r->kind) {
    case REQ_AGENTS:
        c->agents_pending = 0;
        if (rc == SM_OK && status == 200 && cJSON_IsArray(json))
            agents_to_events(c, json);
        else
            ev_error(c, "GET /agents: %s", cause ? cause : detail_of(json));
        cJSON_Delete(json);
        break;
    case REQ_ALERTS:
    case REQ_ALERTS_ACTIVE:
        alerts_done(c, r, status, json, rc, cause);
        break;
    default: {
        struct ev_node *n = ev_new(CLIENT_EV_REPLY);
        n->ev.req_id = r->id;
        n->ev.status = rc == SM_OK ? (int)status : 0;
        n->ev.body = json;
        if (rc != SM_OK)
            n->ev.text = cause ? sm_xstrdup(cause) : sm_xstrdup("request failed");
        else if (status != 200)
            n->ev.text = sm_xstrdup(detail_of(json));
        ev_push(c, n);
        break;
    }
    }
    free(cause);
}

static void
on_done(lws_sorted_usec_list_t *sul)
{
    struct client *c = lws_container_of(sul, struct client, sul_done);
    /* Oldest first (the list is pushed at its head). */
    struct req *list = NULL;
    while (c->done_head) {
        struct req *r = c->done_head;
        c->done_head = r->next;
        r->next = list;
        list = r;
    }
    while (list) {
        struct req *r = list;
        list = r->next;
        req_done(c, r);
        req_free(r);
    }
    rest_kick(c);
}

static void
on_rest_timer(lws_sorted_usec_list_t *sul)
{
    rest_kick(lws_container_of(sul, struct client, sul_rest));
}

/* Run rest_kick from the loop, not from the caller (a draw queues requests and must
 * do no I/O). */
static void
rest_soon(struct client *c)
{
    if (c->ctx && !c->stop)
        lws_sul_schedule(c->ctx, 0, &c->sul_rest, on_rest_timer, 1);
}

/* Start the next request when none is in flight: a due token refresh first, then the
 * alerts, then the queue; and wake up again when the next refresh or alerts are due. */
static void
rest_kick(struct client *c)
{
    if (c->stop || !c->started)
        return;
    double now = sm_mono_now();
    if (c->cur == NULL && !c->auth_dead && (c->refresh_wanted || now >= c->refresh_at)) {
        int lock = token_lock(c->token_path, 1);
        char *why = NULL;
        char *text = lock == -2 ? NULL : refresh_body(c, &why);
        if (lock == -2) {
            token_unlock(lock);
            c->refresh_at = now + CLIENT_LOCK_RETRY; /* another smtop is refreshing */
        } else if (text == NULL) {
            token_unlock(lock);
            c->auth_dead = 1;
            char *msg = sm_xasprintf("%s; run smtop again to log in", why);
            ev_state(c, CLIENT_AUTH_FAILED, 0, msg);
            free(msg);
        } else {
            c->refresh_wanted = 0;
            struct req *r = req_new(c, REQ_REFRESH, "POST", "/refresh", text, 0);
            r->lock_fd = lock;
            c->cur = r;
            req_start(r);
        }
        free(why);
    }
    if (c->cur == NULL && c->stream_live && now >= c->alerts_at) {
        c->alerts_at = now + CLIENT_ALERTS_POLL;
        struct req *r = req_new(c, REQ_ALERTS, "GET", "/alerts", NULL, 1);
        r->alerts = ev_new(CLIENT_EV_ALERTS);
        r->alerts->ev.asked = now;
        r->alerts->ev.body = cJSON_CreateObject();
        c->cur = r;
        req_start(r);
    }
    if (c->cur == NULL && c->req_head) {
        struct req *r = c->req_head;
        c->req_head = r->next;
        if (c->req_head == NULL)
            c->req_tail = NULL;
        r->next = NULL;
        c->cur = r;
        req_start(r);
    }
    /* The next time something is due. */
    double wait = c->auth_dead ? 3600 : c->refresh_at - now;
    if (c->stream_live && c->alerts_at - now < wait)
        wait = c->alerts_at - now;
    if (wait > 3600)
        wait = 3600;
    if (wait < 0.001)
        wait = 0.001;
    lws_sul_schedule(c->ctx, 0, &c->sul_rest, on_rest_timer, (lws_usec_t)(wait * 1e6));
}

/* Queue a GET /agents (at most one waiting). */
static void
fetch_agents(struct client *c)
{
    if (c->agents_pending)
        return;
    c->agents_pending = 1;
    req_push(c, req_new(c, REQ_AGENTS, "GET", "/agents", NULL, 1), 0);
}

uint64_t
client_get(struct client *c, const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n > CLIENT_PATH_MAX || path[0] != '/')
        return 0;
    for (const char *p = path; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/_.~=&?%:+,-", *p)))
            return 0;
    struct req *r = req_new(c, REQ_GET, "GET", path, NULL, 1);
    r->id = ++c->next_id;
    req_push(c, r, 0);
    return r->id;
}

/* GET /agents' list as CLIENT_EV_AGENT events. */
static void
agents_to_events(struct client *c, const cJSON *list)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "name"));
        if (!cJSON_IsNumber(id) || id->valuedouble < 1 || name == NULL)
            continue;
        struct ev_node *n = ev_new(CLIENT_EV_AGENT);
        n->ev.agent_id = (int64_t)id->valuedouble;
        n->ev.name = sm_xstrndup(name, 255);
        const cJSON *on = cJSON_GetObjectItemCaseSensitive(a, "online");
        n->ev.online = cJSON_IsBool(on) ? cJSON_IsTrue(on) : -1;
        const char *ls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "last_seen"));
        struct tm tm = {0};
        if (ls && strptime(ls, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
            n->ev.last_seen = (double)timegm(&tm);
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(a, "host");
        char *cause = NULL;
        if (cJSON_IsObject(host) && sm_host_from_json(host, &n->ev.host, &cause) == SM_OK)
            n->ev.have_host = 1;
        free(cause);
        ev_push(c, n);
    }
}

/* ------------------------------------------------------------------ stream */

static int
known_has(const struct client *c, int64_t id)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (c->known[i] == id)
            return 1;
    return 0;
}

static void
known_add(struct client *c, int64_t id)
{
    if (known_has(c, id))
        return;
    if (c->nknown == c->known_cap) {
        c->known_cap = c->known_cap ? 2 * c->known_cap : 64;
        c->known = sm_xreallocarray(c->known, c->known_cap, sizeof *c->known);
    }
    c->known[c->nknown++] = id;
}

static void
known_remove(struct client *c, int64_t id)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (c->known[i] == id) {
            c->known[i] = c->known[--c->nknown];
            return;
        }
}

/* An agent id of a message: a whole number >= 1, else -1. */
static int64_t
agent_id_of(const cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9e15 ||
        id->valuedouble != (double)(int64_t)id->valuedouble)
        return -1;
    return (int64_t)id->valuedouble;
}

/* Decode a sample object into a new sample; NULL (and an error event) when bad. */
static struct sm_sample *
decode_sample(struct client *c, int64_t id, const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return NULL;
    struct sm_sample *s = sm_xmalloc(sizeof *s);
    sm_sample_init(s);
    char *cause = NULL;
    if (sm_sample_from_json(obj, sm_wall_now(), s, &cause) != SM_OK) {
        ev_error(c, "agent %lld: bad sample: %s", (long long)id, cause ? cause : "?");
        free(cause);
        sm_sample_done(s);
        free(s);
        return NULL;
    }
    return s;
}

static void
on_snapshot(struct client *c, const cJSON *msg)
{
    const cJSON *agents = cJSON_GetObjectItemCaseSensitive(msg, "agents");
    if (!cJSON_IsArray(agents)) {
        ev_error(c, "stream: snapshot without an agents list");
        return;
    }
    c->nknown = 0;
    ev_push(c, ev_new(CLIENT_EV_SNAPSHOT_BEGIN));
    const cJSON *a;
    cJSON_ArrayForEach(a, agents)
    {
        int64_t id = agent_id_of(a);
        if (id < 0)
            continue;
        struct ev_node *n = ev_new(CLIENT_EV_AGENT);
        n->ev.agent_id = id;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "name"));
        n->ev.name = sm_xstrndup(name ? name : "", 255);
        n->ev.online = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "online"));
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(a, "last_seen");
        n->ev.last_seen = cJSON_IsNumber(ls) ? ls->valuedouble : 0;
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(a, "host");
        char *cause = NULL;
        if (cJSON_IsObject(host) && sm_host_from_json(host, &n->ev.host, &cause) == SM_OK)
            n->ev.have_host = 1;
        free(cause);
        n->ev.sample = decode_sample(c, id, cJSON_GetObjectItemCaseSensitive(a, "sample"));
        known_add(c, id);
        ev_push(c, n);
    }
    ev_push(c, ev_new(CLIENT_EV_SNAPSHOT_END));
    /* At every (re)connection: the alerts as they are now, then the live changes. */
    c->stream_live = 1;
    c->alerts_at = 0;
    rest_soon(c);
    c->attempts = 0;
    ev_state(c, CLIENT_LIVE, 0, NULL);
}

/* Handle one complete stream message (stream). */
static void
on_message(struct client *c, const char *text, size_t len)
{
    cJSON *msg = NULL;
    char *cause = NULL;
    if (sm_json_parse(text, len, 64, &msg, &cause) != SM_OK || !cJSON_IsObject(msg)) {
        ev_error(c, "stream: bad message: %s", cause ? cause : "not a JSON object");
        goto out;
    }
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "type"));
    int64_t id = agent_id_of(msg);
    if (type == NULL) {
        ev_error(c, "stream: message without a type");
    } else if (strcmp(type, "snapshot") == 0) {
        on_snapshot(c, msg);
    } else if (strcmp(type, "sample") == 0 && id > 0) {
        struct sm_sample *s = decode_sample(c, id, cJSON_GetObjectItemCaseSensitive(msg, "sample"));
        if (s) {
            struct ev_node *n = ev_new(CLIENT_EV_SAMPLE);
            n->ev.agent_id = id;
            n->ev.sample = s;
            ev_push(c, n);
        }
        if (!known_has(c, id)) {
            known_add(c, id);
            fetch_agents(c); /* a new agent: fetch its name */
        }
    } else if (strcmp(type, "status") == 0 && id > 0) {
        struct ev_node *n = ev_new(CLIENT_EV_STATUS);
        n->ev.agent_id = id;
        n->ev.online = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "online"));
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(msg, "last_seen");
        n->ev.last_seen = cJSON_IsNumber(ls) ? ls->valuedouble : 0;
        ev_push(c, n);
    } else if (strcmp(type, "removed") == 0 && id > 0) {
        known_remove(c, id);
        struct ev_node *n = ev_new(CLIENT_EV_REMOVED);
        n->ev.agent_id = id;
        ev_push(c, n);
    } else if (strcmp(type, "alert") == 0 && id > 0) {
        struct ev_node *n = ev_new(CLIENT_EV_ALERT);
        n->ev.agent_id = id;
        n->ev.body = msg;
        msg = NULL;
        ev_push(c, n);
    } else if (strcmp(type, "lag") == 0) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "dropped");
        struct ev_node *n = ev_new(CLIENT_EV_LAG);
        n->ev.dropped = cJSON_IsNumber(d) && d->valuedouble > 0 ? (uint64_t)d->valuedouble : 0;
        ev_push(c, n);
    } else if (strcmp(type, "error") == 0) {
        const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "detail"));
        ev_error(c, "server: %s", d ? d : "error");
    } else if (strcmp(type, "ready") != 0 && strcmp(type, "pong") != 0) {
        ev_error(c, "stream: unknown message type or no agent_id: %.40s", type);
    }
out:
    free(cause);
    cJSON_Delete(msg);
}

/* Schedule the next connection attempt and tell the UI. */
static void
schedule_retry(struct client *c, const char *why)
{
    c->stream_live = 0;
    if (c->stop || c->auth_dead)
        return;
    double r = (double)rand_r(&c->seed) / RAND_MAX;
    double delay = client_backoff(c->attempts++, CLIENT_BACKOFF_BASE, CLIENT_BACKOFF_CAP, r);
    ev_state(c, CLIENT_RECONNECTING, delay, why);
    lws_sul_schedule(c->ctx, 0, &c->sul_retry, connect_stream, (lws_usec_t)(delay * 1e6));
}

static void
connect_stream(lws_sorted_usec_list_t *sul)
{
    struct client *c = lws_container_of(sul, struct client, sul_retry);
    if (c->stop || c->wsi)
        return;
    struct lws_client_connect_info ci;
    static const lws_retry_bo_t idle = {
        .secs_since_valid_ping = 20,   /* quiet for this long: ping */
        .secs_since_valid_hangup = 45, /* and no pong: the network is gone, reconnect */
    };
    connect_info(c, &ci, CLIENT_PROTO_STREAM);
    ci.path = c->ws_path;
    ci.retry_and_idle_policy = &idle;
    ci.opaque_user_data = c;
    /* Started without a session (the server was away at start): wait for the refresh
     * to bring a token (token_renewed connects then). */
    if (c->access == NULL) {
        c->waiting_token = 1;
        schedule_retry(c, c->login_why ? c->login_why : "logging in");
        return;
    }
    c->waiting_token = 0;
    c->close_why[0] = '\0';
    c->rx_len = 0;
    c->rx_toobig = 0;
    ev_state(c, CLIENT_CONNECTING, 0, NULL);
    c->in_connect = 1;
    c->connect_failed = 0;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    c->in_connect = 0;
    if (c->connect_failed || wsi == NULL) {
        if (wsi && !c->connect_failed)
            lws_set_opaque_user_data(wsi, NULL);
        c->wsi = NULL;
        schedule_retry(c, c->connect_failed ? c->connect_why : "cannot start a connection");
        return;
    }
    c->wsi = wsi;
}

/* Send the auth message or the subscription (one per writeable callback). */
static int
stream_write(struct client *c, struct lws *wsi)
{
    char *text = NULL;
    if (c->send_auth) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "auth");
        cJSON_AddStringToObject(o, "token", c->access ? c->access : "");
        c->sent_gen = c->access_gen;
        text = cJSON_PrintUnformatted(o);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "token");
        explicit_bzero(t->valuestring, strlen(t->valuestring));
        cJSON_Delete(o);
        c->send_auth = 0;
    } else if (c->send_subscribe) {
        text = sm_xstrdup("{\"type\":\"subscribe\",\"agents\":\"all\"}");
        c->send_subscribe = 0;
    } else {
        return 0;
    }
    if (text == NULL)
        abort();
    size_t len = strlen(text);
    unsigned char *buf = sm_xmalloc(LWS_PRE + len);
    memcpy(buf + LWS_PRE, text, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    explicit_bzero(buf, LWS_PRE + len);
    free(buf);
    wipe_free(text);
    if (n < (int)len)
        return -1;
    if (c->send_auth || c->send_subscribe)
        lws_callback_on_writable(wsi);
    return 0;
}

static int
stream_receive(struct client *c, struct lws *wsi, const void *in, size_t len)
{
    if (c->rx_len + len > CLIENT_MSG_MAX)
        c->rx_toobig = 1;
    if (!c->rx_toobig) {
        /* Grow by doubling up to the cap: most messages are a few kilobytes. */
        if (c->rx_len + len + 1 > c->rx_cap) {
            size_t cap = c->rx_cap ? c->rx_cap : 65536;
            while (cap < c->rx_len + len + 1)
                cap *= 2;
            c->rx = sm_xreallocarray(c->rx, cap, 1);
            c->rx_cap = cap;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    if (c->rx_toobig)
        ev_error(c, "stream: a message larger than %u bytes was skipped", CLIENT_MSG_MAX);
    else
        on_message(c, c->rx, c->rx_len);
    c->rx_len = 0;
    c->rx_toobig = 0;
    return 0;
}

static int
stream_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct client *c = lws_get_opaque_user_data(wsi);
    if (c == NULL) /* the client is gone (smtop is exiting) */
        return reason == LWS_CALLBACK_CLIENT_RECEIVE || reason == LWS_CALLBACK_CLIENT_WRITEABLE ? -1
                                                                                                : 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        learn_address(c, wsi);
        c->send_auth = 1;
        c->send_subscribe = 1;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return stream_write(c, wsi);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return stream_receive(c, wsi, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* 2 bytes of close code, then the reason. */
        if (len > 2) {
            size_t n = len - 2 < sizeof c->close_why - 1 ? len - 2 : sizeof c->close_why - 1;
            memcpy(c->close_why, (const char *)in + 2, n);
            c->close_why[n] = '\0';
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)c->close_why[i] < 0x20)
                    c->close_why[i] = '?';
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[160];
        snprintf(why, sizeof why, "cannot connect: %.120s", in ? (const char *)in : "error");
        lws_set_opaque_user_data(wsi, NULL);
        if (c->in_connect) { /* connect_stream schedules the retry */
            c->connect_failed = 1;
            snprintf(c->connect_why, sizeof c->connect_why, "%s", why);
        } else if (wsi == c->wsi) {
            c->wsi = NULL;
            schedule_retry(c, why);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED: {
        lws_set_opaque_user_data(wsi, NULL);
        if (wsi != c->wsi)
            return 0;
        char why[200];
        if (c->close_why[0])
            snprintf(why, sizeof why, "the server closed the stream: %s", c->close_why);
        else
            snprintf(why, sizeof why, "the connection was lost");
        c->wsi = NULL;
        /* A refused or expired token: get a fresh one before the next attempt. */
        if (strstr(c->close_why, "token") != NULL) {
            c->refresh_wanted = 1;
            rest_soon(c);
        }
        schedule_retry(c, why);
        return 0;
    }
    default:
        return 0;
    }
}

static const struct lws_protocols client_protocol_list[] = {
    {.name = CLIENT_PROTO_STREAM, .callback = stream_cb, .rx_buffer_size = 65536},
    {.name = CLIENT_PROTO_HTTP, .callback = http_cb},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

const struct lws_protocols *
client_protocols(void)
{
    return client_protocol_list;
}

int
client_url_is_tls(const char *url)
{
    return url != NULL && strncmp(url, "https://", 8) == 0;
}

/* ------------------------------------------------------------------ life cycle */

enum sm_rc
client_new(const struct client_options *opt, struct client **out, char **cause)
{
    struct client *c = sm_xcalloc(1, sizeof *c);
    *out = NULL;
    if (opt->user == NULL || opt->user[0] == '\0' || strlen(opt->user) > 128) {
        *cause = sm_xstrdup("--user: must be 1 to 128 characters");
        free(c);
        return SM_EINVAL;
    }
    enum sm_rc rc = parse_url(c, opt->url, cause);
    if (rc != SM_OK) {
        client_free(c);
        return rc;
    }
    c->ctx = opt->ctx;
    c->user = sm_xstrdup(opt->user);
    c->token_path = client_token_path(opt);
    c->seed = (unsigned)getpid() ^ (unsigned)(sm_wall_now() * 1000);
    *out = c;
    return SM_OK;
}

enum sm_rc
client_start(struct client *c, char **cause)
{
    if (c->ctx == NULL) {
        *cause = sm_xstrdup("no event loop to run on");
        return SM_EINTERNAL;
    }
    c->started = 1;
    lws_sul_schedule(c->ctx, 0, &c->sul_retry, connect_stream, 1);
    rest_kick(c);
    return SM_OK;
}

void
client_free(struct client *c)
{
    if (c == NULL)
        return;
    c->stop = 1;
    if (c->ctx) {
        lws_sul_cancel(&c->sul_retry);
        lws_sul_cancel(&c->sul_done);
        lws_sul_cancel(&c->sul_rest);
    }
    /* Connections still open close with the loop, without us. */
    if (c->wsi) {
        lws_set_opaque_user_data(c->wsi, NULL);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    req_free(c->cur);
    while (c->req_head) {
        struct req *r = c->req_head;
        c->req_head = r->next;
        req_free(r);
    }
    while (c->done_head) {
        struct req *r = c->done_head;
        c->done_head = r->next;
        req_free(r);
    }
    struct ev_node *n = c->ev_head;
    while (n) {
        struct ev_node *next = n->next;
        event_done(&n->ev);
        free(n);
        n = next;
    }
    wipe_free(c->access);
    free(c->login_why);
    free(c->rx);
    free(c->known);
    free(c->base);
    free(c->user);
    free(c->token_path);
    free(c->host);
    free(c->path_prefix);
    free(c->ws_path);
    free(c->host_header);
    free(c);
}

/* ------------------------------------------------------------------ password */

/* Read one line from fd into buf (at most cap - 1 bytes); -1 when too long or on error. */
static ssize_t
read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        if (n + 1 >= cap)
            return -1;
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return (ssize_t)n;
}

/* The terminal while the password is read with echo off, for the signal handler. */
static volatile sig_atomic_t prompt_fd = -1;
static struct termios prompt_saved;

/* SIGINT/SIGTERM/SIGHUP at the prompt: echo back on, then die of the signal as usual. */
static void
prompt_signal(int sig)
{
    if (prompt_fd >= 0)
        (void)tcsetattr(prompt_fd, TCSAFLUSH, &prompt_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

char *
client_password(const char *file, const char *user, char **cause)
{
    char buf[CLIENT_PASSWORD_MAX + 1];
    char *pw = NULL;
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            *cause = sm_xasprintf("--password-file: %s: %s", file, strerror(errno));
            return NULL;
        }
        ssize_t n = read_line(fd, buf, sizeof buf);
        close(fd);
        if (n <= 0)
            *cause = sm_xasprintf("--password-file: %s: %s", file,
                                  n == 0 ? "empty" : "first line longer than 1024 bytes");
        else
            pw = sm_xstrdup(buf);
        explicit_bzero(buf, sizeof buf);
        return pw;
    }
    const char *env = getenv("SMTOP_PASSWORD");
    if (env && env[0]) {
        if (strlen(env) > CLIENT_PASSWORD_MAX) {
            *cause = sm_xstrdup("SMTOP_PASSWORD: longer than 1024 bytes");
            return NULL;
        }
        return sm_xstrdup(env);
    }
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    struct termios old, quiet;
    if (tty < 0 || tcgetattr(tty, &old) != 0) {
        if (tty >= 0)
            close(tty);
        *cause = sm_xstrdup("no terminal to ask for the password on; use --password-file or "
                            "SMTOP_PASSWORD");
        return NULL;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    char *prompt = sm_xasprintf("Password for %s: ", user);
    ssize_t n = -1;
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prompt_signal;
    sigemptyset(&sa.sa_mask);
    prompt_saved = old;
    prompt_fd = tty;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    if (write(tty, prompt, strlen(prompt)) >= 0 && tcsetattr(tty, TCSAFLUSH, &quiet) == 0) {
        n = read_line(tty, buf, sizeof buf);
        (void)tcsetattr(tty, TCSAFLUSH, &old);
        if (write(tty, "\n", 1) < 0)
            n = -1;
    }
    prompt_fd = -1;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    free(prompt);
    close(tty);
    if (n <= 0)
        *cause = sm_xstrdup(n == 0 ? "empty password" : "cannot read the password");
    else
        pw = sm_xstrdup(buf);
    explicit_bzero(buf, sizeof buf);
    return pw;
}
