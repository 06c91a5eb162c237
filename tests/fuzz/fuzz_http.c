/* fuzz_http.c: libFuzzer harness for smserver's HTTP request path.
 *
 * smserver never sees request bytes itself: libwebsockets parses the request line and
 * headers and hands the server fields and body pieces (server.c, on_http and the body
 * callbacks), so the smallest seam that takes bytes is a connected socket. The harness
 * starts the real server in-process (server_start: database in a private state
 * directory, worker pools, writer, maintenance and notifier threads) and runs its event
 * loop itself, on the fuzzing thread. For each input it makes a TCP connection over
 * loopback to a socket of its own and hands the accepted end to the server's vhost
 * (lws_adopt_socket_vhost, as the listening socket would), so the server sees a real
 * peer address. It then writes the request in fragments whose sizes come from the
 * input's first byte, and after each fragment runs the loop until the server has
 * settled: it has read everything sent, no job of its is in flight, and nothing moved
 * for a few non-blocking rounds. No step waits on a clock, which is what makes it fast;
 * the old harness ran the server on a thread and waited up to 50 ms per input.
 *
 * An even first byte then shuts the write side (the server drops the connection, and
 * any job in flight is orphaned), an odd one keeps it open. Either way the harness then
 * closes its end and runs the loop until the server has closed its end too. "@A@" in
 * the input becomes a valid access token and "@T@" the agent's token, so the handlers
 * behind authentication are reached. ASan/UBSan watch the server's threads; a server
 * that never settles is a hang (-timeout). */
#define _GNU_SOURCE 1
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "server.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* The server keeps allocations across inputs (its caches, the stream hub, the login
 * counters): no per-input leak check. */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
    return 1;
}

static struct server_config cfg;
static struct server *srv;
static struct lws_vhost *vhost;
static int listen_fd = -1;
static struct sockaddr_in listen_sa;
static int64_t user_id;
static char access_token[1024], agent_token[128];
static double access_made; /* when access_token was issued (monotonic) */
static char state_dir[64];
static char db_path[128];
static unsigned long lingered; /* connections the server had not closed after 2 s */

/* One connection: the harness's end, the end the server adopted, and what came back. */
struct conn {
    int c, s;
    ino_t s_ino; /* s's inode: the fd number is reused once the server closes it */
    int closed;  /* the server closed its end (the harness read EOF or a reset) */
    char *out;
    size_t got, outsz;
};

/* Whether the server still holds its end of k. */
static int
server_holds(const struct conn *k)
{
    struct stat sb;
    return fstat(k->s, &sb) == 0 && sb.st_ino == k->s_ino;
}

/* Read what the server wrote so far (non-blocking); keeps at most outsz - 1 bytes. */
static void
drain(struct conn *k)
{
    char buf[8192];
    for (;;) {
        ssize_t n = recv(k->c, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            k->closed = 1;
            return;
        }
        if (n < 0)
            return;
        size_t keep = (size_t)n < k->outsz - 1 - k->got ? (size_t)n : k->outsz - 1 - k->got;
        memcpy(k->out + k->got, buf, keep);
        k->got += keep;
    }
}

/* Run the server's loop until it has settled on k: it closed k, or it has read all of
 * what was sent, has no job in flight, and three non-blocking rounds changed nothing. */
static void
settle(struct conn *k)
{
    int quiet = 0;
    size_t last_got = (size_t)-1;
    int last_inq = -1;
    while (quiet < 3) {
        if (srv->inflight > 0)
            lws_service(srv->ctx, 0); /* sleeps until a job comes back (or a timer) */
        else
            lws_service(srv->ctx, -1); /* what is ready now, without waiting */
        drain(k);
        if (k->closed || !server_holds(k))
            return;
        int inq = 0;
        if (ioctl(k->s, SIOCINQ, &inq) != 0)
            inq = -2;
        if (srv->inflight == 0 && inq == 0 && inq == last_inq && k->got == last_got)
            quiet++;
        else
            quiet = 0;
        last_inq = inq;
        last_got = k->got;
    }
}

/* Send req on a new connection in fragments (sizes from seed), settling after each;
 * hang_up shuts the write side after the last one. Then close and wait for the server
 * to close its end. The reply (at most outsz - 1 bytes) is left in out, NUL-terminated. */
static size_t
exchange(const uint8_t *req, size_t len, unsigned seed, int hang_up, char *out, size_t outsz)
{
    struct conn k = {.out = out, .outsz = outsz};
    k.c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* Close with a reset, not a FIN: thousands of connections a second would otherwise
     * fill the ephemeral ports with TIME_WAIT within a minute. */
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    int one = 1;
    if (k.c < 0 || setsockopt(k.c, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) != 0)
        abort();
    setsockopt(k.c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Non-blocking, and every wait retried: libFuzzer's timer signal interrupts calls. */
    if (connect(k.c, (struct sockaddr *)&listen_sa, sizeof listen_sa) != 0) {
        struct pollfd pfd = {.fd = k.c, .events = POLLOUT};
        int err = errno;
        socklen_t elen = sizeof err;
        while (err == EINPROGRESS && poll(&pfd, 1, -1) < 0 && errno == EINTR)
            ;
        if (err == EINPROGRESS && getsockopt(k.c, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
            err = errno;
        if (err != EINPROGRESS && err != 0) {
            fprintf(stderr, "fuzz_http: connect: %s\n", strerror(err));
            abort();
        }
    }
    do
        k.s = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (k.s < 0 && errno == EINTR);
    struct stat sb;
    if (k.s < 0 || fstat(k.s, &sb) != 0) {
        fprintf(stderr, "fuzz_http: accept: %s\n", strerror(errno));
        abort();
    }
    k.s_ino = sb.st_ino;
    if (!lws_adopt_socket_vhost(vhost, k.s)) {
        fprintf(stderr, "fuzz_http: the server refused a connection\n");
        abort();
    }
    size_t off = 0;
    while (off < len && !k.closed) {
        seed = seed * 1103515245u + 12345u;
        size_t n = seed ? 1 + (seed >> 16) % 97 : len;
        if (n > len - off)
            n = len - off;
        ssize_t w = send(k.c, req + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break; /* the server hung up */
        if (w > 0)
            off += (size_t)w;
        settle(&k);
    }
    if (hang_up && !k.closed) {
        shutdown(k.c, SHUT_WR);
        settle(&k);
    }
    close(k.c);
    /* The server notices the close on its next read; let it, so that connections do
     * not pile up from input to input. */
    double deadline = sm_mono_now() + 2.0;
    while (server_holds(&k) && sm_mono_now() < deadline)
        lws_service(srv->ctx, srv->inflight > 0 ? 0 : -1);
    if (server_holds(&k) && ++lingered > 100) {
        fprintf(stderr, "fuzz_http: %lu connections left open by the server\n", lingered);
        abort();
    }
    out[k.got] = '\0';
    return k.got;
}

/* The string value of "key":"..." in a reply, into out. */
static void
grab(const char *reply, const char *key, char *out, size_t outsz)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(reply, pat);
    if (!p) {
        fprintf(stderr, "fuzz_http: set-up reply without %s: %s\n", key, reply);
        abort();
    }
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    if (n >= outsz)
        abort();
    memcpy(out, p, n);
    out[n] = '\0';
}

/* A fresh access token: tokens expire, and a long run outlives one. */
static void
renew_access(void)
{
    char *t = auth_jwt_issue(&srv->auth, user_id, (int64_t)time(NULL));
    sm_strlcpy(access_token, t, sizeof access_token);
    free(t);
    access_made = sm_mono_now();
}

/* At exit: the state directory goes (it is one level deep). */
static void
remove_state(void)
{
    DIR *d = opendir(state_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(state_dir);
}

static void
setup(void)
{
    static char reply[65536];
    sm_log_init("fuzz_http");
    sm_log_set_level(SM_LOG_ERROR);
    /* On tmpfs when there is one: every ingest commit is fsynced. */
    snprintf(state_dir, sizeof state_dir, "%s/fuzzhttp.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(state_dir))
        abort();
    atexit(remove_state);
    snprintf(db_path, sizeof db_path, "%s/statusmonitor.db", state_dir);
    sm_strlcpy(cfg.listen_addr, "127.0.0.1", sizeof cfg.listen_addr);
    cfg.state_dir = state_dir;
    cfg.db_path = db_path;
    cfg.www_dir = SM_SRCDIR "/share/www";
    cfg.lws_log_level = 0;
    cfg.telegram_api_base = "http://127.0.0.1:9"; /* never reached: no rule is made */
    cfg.retain_raw_s = 30 * 86400.0;
    cfg.retain_minute_s = 90 * 86400.0;
    cfg.retain_hour_s = 730 * 86400.0;
    srv = server_start(&cfg);
    if (!srv || !(vhost = lws_get_vhost_by_name(srv->ctx, "default")))
        abort();
    /* The harness's own listening socket: its accepted ends go to the server. */
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    listen_sa = (struct sockaddr_in){.sin_family = AF_INET};
    listen_sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof listen_sa;
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&listen_sa, sizeof listen_sa) != 0 ||
        listen(listen_fd, 16) != 0 ||
        getsockname(listen_fd, (struct sockaddr *)&listen_sa, &salen) != 0)
        abort();

    static const char reg_body[] = "{\"username\":\"fuzz\",\"password\":\"fuzz-pass1\"}";
    char *reg = sm_xasprintf("POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                             strlen(reg_body), reg_body);
    exchange((const uint8_t *)reg, strlen(reg), 0, 0, reply, sizeof reply);
    free(reg);
    static const char tok_body[] = "username=fuzz&password=fuzz-pass1";
    char *tok = sm_xasprintf("POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                             strlen(tok_body), tok_body);
    exchange((const uint8_t *)tok, strlen(tok), 0, 0, reply, sizeof reply);
    free(tok);
    grab(reply, "access_token", access_token, sizeof access_token);
    if (auth_jwt_verify(&srv->auth, access_token, (int64_t)time(NULL), &user_id) != SM_OK)
        abort();
    access_made = sm_mono_now();
    char *ag = sm_xasprintf("POST /agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n"
                            "{\"name\":\"fz\"}",
                            access_token);
    exchange((const uint8_t *)ag, strlen(ag), 0, 0, reply, sizeof reply);
    free(ag);
    grab(reply, "token", agent_token, sizeof agent_token);
}

/* Copy in to out replacing @A@ and @T@; returns the length. */
static size_t
expand(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (i + 3 <= len && in[i] == '@' && in[i + 2] == '@' &&
            (in[i + 1] == 'A' || in[i + 1] == 'T')) {
            const char *s = in[i + 1] == 'A' ? access_token : agent_token;
            memcpy(out + n, s, strlen(s));
            n += strlen(s);
            i += 2;
            continue;
        }
        out[n++] = in[i];
    }
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char reply[65536];
    static int show;
    if (!srv) {
        setup();
        show = getenv("FUZZ_HTTP_SHOW") != NULL;
    }
    if (size < 1 || size > 65536)
        return 0;
    if (sm_mono_now() - access_made > 60)
        renew_access();
    /* Each placeholder grows by at most the longest token. */
    uint8_t *req = sm_xmalloc(size * (sizeof access_token / 3 + 1));
    size_t n = expand(data + 1, size - 1, req);
    /* Odd first byte: keep the write side open (write path covered); even: hang up. */
    size_t got =
        exchange(req, n, data[0] ? data[0] * 2654435761u : 0, !(data[0] & 1), reply, sizeof reply);
    free(req);
    if (show) /* FUZZ_HTTP_SHOW=1: each reply's status line, to see what the inputs reach */
        fprintf(stderr, "fuzz_http: %zu bytes in, %zu back: %.*s\n", n, got,
                (int)strcspn(reply, "\r\n"), reply);
    return 0;
}
