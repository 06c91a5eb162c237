/* client.c: smtop's network side in server mode (see client.h for the thread contract). */
#include "config.h"

#include "client.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <pthread.h>
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
#define CLIENT_ALERTS_POLL                                                                         \
    15.0 /* fetch the active alerts again (a deleted rule sends                                    \
          * no stream message) */

struct ev_node {
    struct client_event ev;
    struct ev_node *next;
};

struct req {
    uint64_t id;
    char *path;
    int agents_list; /* internal: turn the reply into CLIENT_EV_AGENT events */
    struct req *next;
};

struct client {
    /* Fixed after client_new. */
    char *base; /* URL without a trailing slash */
    char *user;
    char *token_path; /* NULL: the refresh token is not kept */
    char *host;       /* for the stream */
    int port;
    int tls;
    char *ws_path;
    char *host_header;

    /* Events for the UI. */
    pthread_mutex_t ev_mu;
    struct ev_node *ev_head, *ev_tail;
    size_t ev_count;
    uint64_t ev_dropped;
    int pipe_rd, pipe_wr;

    /* Tokens; tok_mu. */
    pthread_mutex_t tok_mu;
    char *access;
    uint64_t access_gen;
    double refresh_at; /* monotonic time to refresh the access token */
    int refresh_wanted;
    int auth_dead;   /* the server refused the refresh token */
    char *login_why; /* why the last refresh failed (no session yet), else NULL */

    /* REST requests; tok_mu and rest_cv. */
    pthread_cond_t rest_cv;
    struct req *req_head, *req_tail;
    uint64_t next_id;
    int agents_pending;
    int stream_live;  /* subscribed: the alerts are worth fetching */
    double alerts_at; /* monotonic time of the next alerts fetch */
    volatile int stop;

    /* Threads. */
    int started;
    pthread_t rest_thread, ws_thread;

    /* Stream thread only. */
    struct lws_context *ctx;
    struct lws *wsi;
    lws_sorted_usec_list_t sul_retry;
    unsigned attempts;
    uint64_t sent_gen;
    int send_auth, send_subscribe;
    int waiting_token; /* no access token yet: connect when the REST thread has one */
    char *rx;
    size_t rx_len, rx_cap;
    int rx_toobig;
    char close_why[128];
    int64_t *known;
    size_t nknown, known_cap;
    unsigned seed;
};

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
    free(prefix);
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

/* Queue n for the UI (any thread); past the cap, samples are dropped and counted. */
static void
ev_push(struct client *c, struct ev_node *n)
{
    pthread_mutex_lock(&c->ev_mu);
    if (c->ev_count >= CLIENT_QUEUE_MAX && n->ev.type == CLIENT_EV_SAMPLE) {
        c->ev_dropped++;
        pthread_mutex_unlock(&c->ev_mu);
        event_done(&n->ev);
        free(n);
        return;
    }
    int was_empty = c->ev_head == NULL;
    if (c->ev_tail)
        c->ev_tail->next = n;
    else
        c->ev_head = n;
    c->ev_tail = n;
    c->ev_count++;
    pthread_mutex_unlock(&c->ev_mu);
    if (was_empty) {
        ssize_t w;
        do
            w = write(c->pipe_wr, "e", 1);
        while (w < 0 && errno == EINTR);
        /* EAGAIN: the pipe is already readable, which is all that matters. */
    }
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

int
client_fd(const struct client *c)
{
    return c->pipe_rd;
}

size_t
client_drain(struct client *c, client_event_fn cb, void *arg)
{
    char buf[64];
    while (read(c->pipe_rd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&c->ev_mu);
    struct ev_node *n = c->ev_head;
    c->ev_head = c->ev_tail = NULL;
    c->ev_count = 0;
    uint64_t dropped = c->ev_dropped;
    c->ev_dropped = 0;
    pthread_mutex_unlock(&c->ev_mu);
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
 * token at once (a reused refresh token revokes its whole family). -1 when not kept. */
static int
token_lock(const char *path)
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
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void
token_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

/* ------------------------------------------------------------------ HTTP (libcurl) */

struct body {
    char *p;
    size_t len;
    int toobig;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct body *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > CLIENT_BODY_MAX) {
        b->toobig = 1;
        return 0;
    }
    b->p = sm_xreallocarray(b->p, b->len + n + 1, 1);
    memcpy(b->p + b->len, ptr, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

/* One request. SM_OK when the server answered (any status, in *status; *json the parsed
 * body or NULL); SM_EIO with *cause when it could not be reached or the reply was bad. */
static enum sm_rc
http_call(CURL *h, const struct client *c, const char *method, const char *path,
          const char *json_body, const char *bearer, long *status, cJSON **json, char **cause)
{
    struct body b = {0};
    struct curl_slist *hdr = NULL;
    char *url = sm_xasprintf("%s%s", c->base, path);
    char *auth = NULL;
    enum sm_rc rc = SM_EIO;
    *status = 0;
    *json = NULL;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "smtop/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    if (bearer) {
        auth = sm_xasprintf("Authorization: Bearer %s", bearer);
        hdr = curl_slist_append(hdr, auth);
    }
    if (json_body) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    CURLcode cr = curl_easy_perform(h);
    if (cr != CURLE_OK) {
        *cause = b.toobig ? sm_xasprintf("%s: reply larger than %u bytes", path, CLIENT_BODY_MAX)
                          : sm_xasprintf("%s: %s", c->base, curl_easy_strerror(cr));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (b.len > 0) {
        char *perr = NULL;
        if (sm_json_parse(b.p, b.len, SM_JSON_MAX_DEPTH, json, &perr) != SM_OK) {
            *json = NULL;
            if (*status == 200) {
                *cause = sm_xasprintf("%s: reply is not JSON: %s", path, perr);
                free(perr);
                goto out;
            }
        }
        free(perr);
    }
    rc = SM_OK;
out:
    /* The reply of /token and /refresh holds tokens: wipe it. */
    if (b.p)
        explicit_bzero(b.p, b.len);
    free(b.p);
    curl_slist_free_all(hdr);
    wipe_free(auth);
    free(url);
    return rc;
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
    pthread_mutex_lock(&c->tok_mu);
    wipe_free(c->access);
    c->access = sm_xstrdup(access);
    c->access_gen++;
    /* Refresh when three quarters of the lifetime have passed. */
    c->refresh_at = sm_mono_now() + 0.75 * life;
    c->refresh_wanted = 0;
    pthread_mutex_unlock(&c->tok_mu);
    return SM_OK;
}

/* POST /refresh with the stored refresh token, under the file lock. SM_ENOTFOUND when no
 * token is stored, SM_EAUTH when the server refused it (the file is then removed). */
static enum sm_rc
do_refresh(struct client *c, CURL *h, char **cause)
{
    int lock = token_lock(c->token_path);
    char *tok = token_read(c->token_path);
    enum sm_rc rc = SM_ENOTFOUND;
    cJSON *req = NULL, *json = NULL;
    char *text = NULL;
    if (tok == NULL) {
        *cause = sm_xasprintf("no stored session for %s at %s", c->user, c->base);
        goto out;
    }
    req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "refresh_token", tok);
    text = cJSON_PrintUnformatted(req);
    long status;
    rc = http_call(h, c, "POST", "/refresh", text, NULL, &status, &json, cause);
    if (rc != SM_OK)
        goto out;
    if (status == 200) {
        rc = take_tokens(c, json, cause);
    } else if (status == 401 || status == 403) {
        *cause = sm_xasprintf("the server refused the stored session: %s", detail_of(json));
        if (c->token_path && unlink(c->token_path) != 0 && errno != ENOENT)
            sm_log(SM_LOG_WARN, "%s: %s", c->token_path, strerror(errno));
        rc = SM_EAUTH;
    } else {
        *cause = sm_xasprintf("POST /refresh: HTTP %ld: %s", status, detail_of(json));
        rc = status == 429 ? SM_EBUSY : SM_EIO;
    }
out:
    token_unlock(lock);
    if (text)
        explicit_bzero(text, strlen(text));
    free(text);
    cJSON_Delete(req);
    cJSON_Delete(json);
    wipe_free(tok);
    return rc;
}

/* POST /token with user and password. */
static enum sm_rc
do_password_login(struct client *c, CURL *h, const char *password, char **cause)
{
    cJSON *req = cJSON_CreateObject(), *json = NULL;
    cJSON_AddStringToObject(req, "username", c->user);
    cJSON_AddStringToObject(req, "password", password);
    char *text = cJSON_PrintUnformatted(req);
    cJSON *pw = cJSON_GetObjectItemCaseSensitive(req, "password");
    explicit_bzero(pw->valuestring, strlen(pw->valuestring));
    cJSON_Delete(req);
    long status;
    int lock = token_lock(c->token_path);
    enum sm_rc rc = http_call(h, c, "POST", "/token", text, NULL, &status, &json, cause);
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
    explicit_bzero(text, strlen(text));
    free(text);
    cJSON_Delete(json);
    return rc;
}

enum sm_rc
client_login(struct client *c, client_password_fn get_password, void *arg, int *used_password,
             char **cause)
{
    CURL *h = curl_easy_init();
    char *why = NULL;
    *used_password = 0;
    if (h == NULL) {
        *cause = sm_xstrdup("libcurl: cannot make a handle");
        return SM_ENOMEM;
    }
    enum sm_rc rc = do_refresh(c, h, &why);
    if (rc == SM_OK || rc == SM_EIO || rc == SM_EBUSY) {
        if (rc != SM_OK)
            *cause = why;
        else
            free(why);
        goto out;
    }
    if (rc == SM_EAUTH)
        sm_log(SM_LOG_INFO, "%s; logging in with the password", why);
    free(why);
    char *password = get_password(arg, cause);
    if (password == NULL) {
        rc = SM_EAUTH;
        goto out;
    }
    *used_password = 1;
    rc = do_password_login(c, h, password, cause);
    wipe_free(password);
out:
    curl_easy_cleanup(h);
    return rc;
}

/* ------------------------------------------------------------------ REST thread */

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

/* GET path with the current access token; a 401 triggers one refresh and a retry.
 * As http_call. REST thread. */
static enum sm_rc
authed_get(struct client *c, CURL *h, const char *path, long *status, cJSON **json, char **cause)
{
    enum sm_rc rc = SM_EIO;
    *json = NULL;
    *cause = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        pthread_mutex_lock(&c->tok_mu);
        char *tok = c->access ? sm_xstrdup(c->access) : NULL;
        pthread_mutex_unlock(&c->tok_mu);
        cJSON_Delete(*json);
        *json = NULL;
        free(*cause);
        *cause = NULL;
        rc = http_call(h, c, "GET", path, NULL, tok, status, json, cause);
        wipe_free(tok);
        if (rc != SM_OK || *status != 401 || attempt > 0)
            break;
        char *why = NULL;
        if (do_refresh(c, h, &why) != SM_OK) {
            free(why);
            break;
        }
        free(why);
    }
    return rc;
}

/* Fetch the alert rules and the active alerts (GET /alerts, GET /alerts/active) and hand
 * them to the UI as one CLIENT_EV_ALERTS. REST thread. */
static void
rest_alerts(struct client *c, CURL *h)
{
    struct ev_node *n = ev_new(CLIENT_EV_ALERTS);
    n->ev.asked = sm_mono_now();
    static const char *const paths[] = {"/alerts", "/alerts/active"};
    static const char *const keys[] = {"rules", "active"};
    cJSON *body = cJSON_CreateObject();
    for (int i = 0; i < 2; i++) {
        long status = 0;
        cJSON *json = NULL;
        char *cause = NULL;
        enum sm_rc rc = authed_get(c, h, paths[i], &status, &json, &cause);
        n->ev.status = rc == SM_OK ? (int)status : 0;
        if (rc != SM_OK || status != 200 || !cJSON_IsArray(json)) {
            n->ev.text = rc != SM_OK ? cause
                                     : sm_xasprintf("GET %s: %s", paths[i],
                                                    status == 200 ? "not a list" : detail_of(json));
            if (rc == SM_OK)
                free(cause);
            if (n->ev.status == 200)
                n->ev.status = 0;
            cJSON_Delete(json);
            break;
        }
        free(cause);
        cJSON_AddItemToObject(body, keys[i], json);
    }
    n->ev.body = body;
    ev_push(c, n);
}

/* Run one queued GET. */
static void
rest_one(struct client *c, CURL *h, struct req *r)
{
    long status = 0;
    cJSON *json = NULL;
    char *cause = NULL;
    enum sm_rc rc = authed_get(c, h, r->path, &status, &json, &cause);
    if (r->agents_list) {
        pthread_mutex_lock(&c->tok_mu);
        c->agents_pending = 0;
        pthread_mutex_unlock(&c->tok_mu);
        if (rc == SM_OK && status == 200 && cJSON_IsArray(json))
            agents_to_events(c, json);
        else
            ev_error(c, "GET /agents: %s", cause ? cause : detail_of(json));
        cJSON_Delete(json);
        free(cause);
        return;
    }
    struct ev_node *n = ev_new(CLIENT_EV_REPLY);
    n->ev.req_id = r->id;
    n->ev.status = rc == SM_OK ? (int)status : 0;
    n->ev.body = json;
    if (rc != SM_OK)
        n->ev.text = cause ? cause : sm_xstrdup("request failed");
    else {
        free(cause);
        if (status != 200)
            n->ev.text = sm_xstrdup(detail_of(json));
    }
    ev_push(c, n);
}

/* Refresh the access token (tok_mu not held); tell the UI when the session is gone. */
static void
rest_refresh(struct client *c, CURL *h)
{
    char *why = NULL;
    enum sm_rc rc = do_refresh(c, h, &why);
    if (rc == SM_OK) {
        if (c->ctx)
            lws_cancel_service(c->ctx); /* the stream re-authenticates with the new token */
    } else if (rc == SM_EAUTH || rc == SM_ENOTFOUND) {
        pthread_mutex_lock(&c->tok_mu);
        c->auth_dead = 1;
        pthread_mutex_unlock(&c->tok_mu);
        char *text = sm_xasprintf("%s; run smtop again to log in", why);
        ev_state(c, CLIENT_AUTH_FAILED, 0, text);
        free(text);
        if (c->ctx)
            lws_cancel_service(c->ctx);
    } else {
        sm_log(SM_LOG_DEBUG, "token refresh: %s", why);
        pthread_mutex_lock(&c->tok_mu);
        c->refresh_at = sm_mono_now() + CLIENT_REFRESH_RETRY;
        free(c->login_why);
        c->login_why = c->access ? NULL : sm_xstrdup(why);
        pthread_mutex_unlock(&c->tok_mu);
    }
    free(why);
}

static void *
rest_main(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    if (h == NULL)
        abort();
    pthread_mutex_lock(&c->tok_mu);
    while (!c->stop) {
        if (!c->auth_dead && (c->refresh_wanted || sm_mono_now() >= c->refresh_at)) {
            c->refresh_wanted = 0;
            pthread_mutex_unlock(&c->tok_mu);
            rest_refresh(c, h);
            pthread_mutex_lock(&c->tok_mu);
            continue;
        }
        if (c->stream_live && sm_mono_now() >= c->alerts_at) {
            c->alerts_at = sm_mono_now() + CLIENT_ALERTS_POLL;
            pthread_mutex_unlock(&c->tok_mu);
            rest_alerts(c, h);
            pthread_mutex_lock(&c->tok_mu);
            continue;
        }
        struct req *r = c->req_head;
        if (r) {
            c->req_head = r->next;
            if (c->req_head == NULL)
                c->req_tail = NULL;
            pthread_mutex_unlock(&c->tok_mu);
            rest_one(c, h, r);
            free(r->path);
            free(r);
            pthread_mutex_lock(&c->tok_mu);
            continue;
        }
        /* Sleep until a request, a stop, or the refresh time (CLOCK_MONOTONIC cond). */
        double wait = c->auth_dead ? 3600 : c->refresh_at - sm_mono_now();
        if (c->stream_live && c->alerts_at - sm_mono_now() < wait)
            wait = c->alerts_at - sm_mono_now();
        if (wait > 3600)
            wait = 3600;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double secs = (double)ts.tv_sec + ts.tv_nsec / 1e9 + (wait > 0 ? wait : 0);
        ts.tv_sec = (time_t)secs;
        ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&c->rest_cv, &c->tok_mu, &ts);
    }
    pthread_mutex_unlock(&c->tok_mu);
    curl_easy_cleanup(h);
    return NULL;
}

/* Queue a request (any thread). */
static uint64_t
req_push(struct client *c, const char *path, int agents_list)
{
    struct req *r = sm_xcalloc(1, sizeof *r);
    r->path = sm_xstrdup(path);
    r->agents_list = agents_list;
    pthread_mutex_lock(&c->tok_mu);
    if (agents_list) {
        if (c->agents_pending) {
            pthread_mutex_unlock(&c->tok_mu);
            free(r->path);
            free(r);
            return 0;
        }
        c->agents_pending = 1;
    }
    r->id = ++c->next_id;
    if (c->req_tail)
        c->req_tail->next = r;
    else
        c->req_head = r;
    c->req_tail = r;
    uint64_t id = r->id;
    pthread_cond_signal(&c->rest_cv);
    pthread_mutex_unlock(&c->tok_mu);
    return id;
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
    return req_push(c, path, 0);
}

/* ------------------------------------------------------------------ stream thread */

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
    pthread_mutex_lock(&c->tok_mu);
    c->stream_live = 1;
    c->alerts_at = 0;
    pthread_cond_signal(&c->rest_cv);
    pthread_mutex_unlock(&c->tok_mu);
    c->attempts = 0;
    ev_state(c, CLIENT_LIVE, 0, NULL);
}

/* Handle one complete stream message (stream thread). */
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
            req_push(c, "/agents", 1); /* a new agent: fetch its name */
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

static void connect_stream(lws_sorted_usec_list_t *sul);

/* Schedule the next connection attempt and tell the UI. */
static void
schedule_retry(struct client *c, const char *why)
{
    pthread_mutex_lock(&c->tok_mu);
    c->stream_live = 0;
    int dead = c->auth_dead;
    pthread_mutex_unlock(&c->tok_mu);
    if (c->stop || dead)
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
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = c->host;
    ci.port = c->port;
    ci.path = c->ws_path;
    ci.host = c->host_header;
    ci.protocol = "sm";
    ci.ssl_connection = c->tls ? LCCSCF_USE_SSL : 0;
    ci.retry_and_idle_policy = &idle;
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    /* Started without a session (the server was away at start): wait for the REST
     * thread's refresh; it wakes this thread when it has a token. */
    pthread_mutex_lock(&c->tok_mu);
    int have_token = c->access != NULL;
    char *why = have_token ? NULL : sm_xstrdup(c->login_why ? c->login_why : "logging in");
    pthread_mutex_unlock(&c->tok_mu);
    if (!have_token) {
        c->waiting_token = 1;
        schedule_retry(c, why);
        free(why);
        return;
    }
    c->waiting_token = 0;
    c->close_why[0] = '\0';
    c->rx_len = 0;
    c->rx_toobig = 0;
    ev_state(c, CLIENT_CONNECTING, 0, NULL);
    if (lws_client_connect_via_info(&ci) == NULL) {
        c->wsi = NULL;
        schedule_retry(c, "cannot start a connection");
    }
}

/* Send the auth message or the subscription (one per writeable callback). */
static int
stream_write(struct client *c, struct lws *wsi)
{
    char *text = NULL;
    if (c->send_auth) {
        pthread_mutex_lock(&c->tok_mu);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "auth");
        cJSON_AddStringToObject(o, "token", c->access ? c->access : "");
        c->sent_gen = c->access_gen;
        pthread_mutex_unlock(&c->tok_mu);
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
    struct lws_context *ctx = lws_get_context(wsi);
    struct client *c = lws_context_user(ctx);
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
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
        if (wsi == c->wsi || c->wsi == NULL) {
            c->wsi = NULL;
            schedule_retry(c, why);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED: {
        char why[200];
        if (c->close_why[0])
            snprintf(why, sizeof why, "the server closed the stream: %s", c->close_why);
        else
            snprintf(why, sizeof why, "the connection was lost");
        c->wsi = NULL;
        /* A refused or expired token: get a fresh one before the next attempt. */
        if (strstr(c->close_why, "token") != NULL) {
            pthread_mutex_lock(&c->tok_mu);
            c->refresh_wanted = 1;
            pthread_cond_signal(&c->rest_cv);
            pthread_mutex_unlock(&c->tok_mu);
        }
        schedule_retry(c, why);
        return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* The first token after a start without the server: connect now. */
        if (c->wsi == NULL && c->waiting_token && !c->stop) {
            pthread_mutex_lock(&c->tok_mu);
            int ready = c->access != NULL;
            pthread_mutex_unlock(&c->tok_mu);
            if (ready) {
                c->attempts = 0;
                lws_sul_schedule(c->ctx, 0, &c->sul_retry, connect_stream, 1);
            }
        }
        /* A new access token: authenticate the open stream again, so that the server
         * extends its expiry instead of closing at the old one. */
        if (c->wsi) {
            pthread_mutex_lock(&c->tok_mu);
            int renew = c->access_gen != c->sent_gen && !c->auth_dead;
            pthread_mutex_unlock(&c->tok_mu);
            if (renew) {
                c->send_auth = 1;
                lws_callback_on_writable(c->wsi);
            }
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols stream_protocols[] = {
    {.name = "sm", .callback = stream_cb, .rx_buffer_size = 65536},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void
lws_log_quiet(int level, const char *line)
{
    (void)level;
    /* libwebsockets' own lines would scribble over the screen; keep them for debugging. */
    if (sm_log_get_level() >= SM_LOG_DEBUG) {
        size_t n = strlen(line);
        sm_log(SM_LOG_DEBUG, "lws: %.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    }
}

static void *
ws_main(void *arg)
{
    struct client *c = arg;
    lws_sul_schedule(c->ctx, 0, &c->sul_retry, connect_stream, 1);
    while (!c->stop)
        if (lws_service(c->ctx, 0) < 0)
            break;
    return NULL;
}

/* ------------------------------------------------------------------ life cycle */

enum sm_rc
client_new(const struct client_options *opt, struct client **out, char **cause)
{
    struct client *c = sm_xcalloc(1, sizeof *c);
    c->pipe_rd = c->pipe_wr = -1;
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
    c->user = sm_xstrdup(opt->user);
    c->token_path = client_token_path(opt);
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        *cause = sm_xasprintf("pipe: %s", strerror(errno));
        client_free(c);
        return SM_EIO;
    }
    c->pipe_rd = fds[0];
    c->pipe_wr = fds[1];
    pthread_mutex_init(&c->ev_mu, NULL);
    pthread_mutex_init(&c->tok_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->rest_cv, &ca);
    pthread_condattr_destroy(&ca);
    c->seed = (unsigned)getpid() ^ (unsigned)(sm_wall_now() * 1000);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    *out = c;
    return SM_OK;
}

enum sm_rc
client_start(struct client *c, char **cause)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_quiet);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = stream_protocols;
    info.user = c;
    info.gid = -1;
    info.uid = -1;
    if (c->tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    c->ctx = lws_create_context(&info);
    if (c->ctx == NULL) {
        *cause = sm_xstrdup("libwebsockets: cannot create a context");
        return SM_EINTERNAL;
    }
    /* The threads take no signals: they stay with the UI thread, whose loop waits for
     * them (SIGWINCH, SIGINT, SIGTERM). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e1 = pthread_create(&c->rest_thread, NULL, rest_main, c);
    int e2 = e1 ? -1 : pthread_create(&c->ws_thread, NULL, ws_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e1 || e2) {
        if (!e1) {
            c->stop = 1;
            pthread_cond_signal(&c->rest_cv);
            pthread_join(c->rest_thread, NULL);
        }
        *cause = sm_xstrdup("cannot start a thread");
        return SM_EINTERNAL;
    }
    c->started = 1;
    return SM_OK;
}

void
client_free(struct client *c)
{
    if (c == NULL)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->tok_mu);
        c->stop = 1;
        pthread_cond_signal(&c->rest_cv);
        pthread_mutex_unlock(&c->tok_mu);
        lws_cancel_service(c->ctx);
        pthread_join(c->ws_thread, NULL);
        pthread_join(c->rest_thread, NULL);
    }
    if (c->ctx)
        lws_context_destroy(c->ctx);
    if (c->pipe_rd >= 0) {
        struct ev_node *n = c->ev_head;
        while (n) {
            struct ev_node *next = n->next;
            event_done(&n->ev);
            free(n);
            n = next;
        }
        while (c->req_head) {
            struct req *r = c->req_head;
            c->req_head = r->next;
            free(r->path);
            free(r);
        }
        close(c->pipe_rd);
        close(c->pipe_wr);
        pthread_mutex_destroy(&c->ev_mu);
        pthread_mutex_destroy(&c->tok_mu);
        pthread_cond_destroy(&c->rest_cv);
    }
    wipe_free(c->access);
    free(c->login_why);
    free(c->rx);
    free(c->known);
    free(c->base);
    free(c->user);
    free(c->token_path);
    free(c->host);
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
