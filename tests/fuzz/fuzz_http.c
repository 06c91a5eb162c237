/* fuzz_http.c: libFuzzer harness for smserver's HTTP request path.
 *
 * smserver never sees request bytes itself: libwebsockets parses the request line and
 * headers and hands the server fields and body pieces (server.c, on_http and the body
 * callbacks), so the smallest seam that takes bytes is the listening socket. The
 * harness runs the real server (server_run) on a thread, on 127.0.0.1 port 0 with a
 * private state directory, with one user and one agent made at start; each input is
 * sent on a new connection in fragments whose sizes come from the input's first byte
 * (one send() each, TCP_NODELAY); an even first byte then shuts the write side (the
 * server drops the connection, and any job in flight is orphaned), an odd one waits for
 * the reply. "@A@" in the input becomes the user's access token and "@T@" the
 * agent's token, so the handlers behind authentication are reached. ASan/UBSan watch
 * the server's threads; a server that stops answering is a hang (-timeout). */
#define _GNU_SOURCE 1
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* The server's threads keep allocations across inputs: no per-input leak check. */
int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
    return 1;
}

static struct server_config cfg;
static int port;
static char access_token[1024], agent_token[128];
static char state_dir[64];
static char db_path[128], port_file[128];

static volatile int server_exited = -1; /* server_run's return once it has returned */

static void *
server_thread(void *arg)
{
    (void)arg;
    server_exited = server_run(&cfg);
    return NULL;
}

/* 1 when buf holds a whole reply: headers and Content-Length bytes of body. */
static int
reply_complete(const char *buf, size_t len)
{
    const char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return 0;
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (!cl || cl > end)
        return 0;
    unsigned long n = strtoul(cl + 17, NULL, 10);
    return (size_t)(end + 4 - buf) + n <= len;
}

/* Send the pieces of req on a new connection; fragment sizes from seed. With
 * first_ms < 0, shut the write side and read until the server closes; otherwise wait up
 * to first_ms for the reply to start, and read until the server closes or is quiet for
 * 20 ms. At most outsz - 1 bytes are kept in out (NUL-terminated). */
static size_t
exchange(const uint8_t *req, size_t len, unsigned seed, int first_ms, char *out, size_t outsz)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        abort();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        /* The server is gone: say whether its loop returned (and how) or it is stuck. */
        fprintf(stderr, "fuzz_http: connect: %s; server_run %s %d\n", strerror(errno),
                server_exited >= 0 ? "returned" : "still running", server_exited);
        abort();
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t off = 0;
    while (off < len) {
        seed = seed * 1103515245u + 12345u;
        size_t n = seed ? 1 + (seed >> 16) % 97 : len;
        if (n > len - off)
            n = len - off;
        if (send(fd, req + off, n, MSG_NOSIGNAL) < 0)
            break;
        off += n;
    }
    if (first_ms < 0)
        shutdown(fd, SHUT_WR);
    size_t got = 0;
    char buf[4096];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int wait = first_ms < 0 ? 5000 : first_ms;
    while (poll(&pfd, 1, wait) > 0) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        size_t keep = (size_t)n < outsz - 1 - got ? (size_t)n : outsz - 1 - got;
        memcpy(out + got, buf, keep);
        got += keep;
        if (first_ms >= 0) {
            wait = 20;
            out[got] = '\0';
            if (reply_complete(out, got))
                break;
        }
    }
    out[got] = '\0';
    close(fd);
    return got;
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
    snprintf(db_path, sizeof db_path, "%s/statusmonitor.db", state_dir);
    snprintf(port_file, sizeof port_file, "%s/port", state_dir);
    sm_strlcpy(cfg.listen_addr, "127.0.0.1", sizeof cfg.listen_addr);
    cfg.state_dir = state_dir;
    cfg.db_path = db_path;
    cfg.www_dir = SM_SRCDIR "/share/www";
    cfg.port_file = port_file;
    cfg.lws_log_level = 0;
    cfg.telegram_api_base = "http://127.0.0.1:9"; /* never reached: no rule is made */
    cfg.retain_raw_s = 30 * 86400.0;
    cfg.retain_minute_s = 90 * 86400.0;
    cfg.retain_hour_s = 730 * 86400.0;
    pthread_t t;
    if (pthread_create(&t, NULL, server_thread, NULL) != 0)
        abort();
    for (int i = 0; i < 400 && !port; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        usleep(50000);
    }
    if (!port)
        abort();
    static const char reg_body[] = "{\"username\":\"fuzz\",\"password\":\"fuzz-pass1\"}";
    char *reg = sm_xasprintf("POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             "application/json\r\nContent-Length: %zu\r\n\r\n%s",
                             strlen(reg_body), reg_body);
    exchange((const uint8_t *)reg, strlen(reg), 0, 20000, reply, sizeof reply);
    free(reg);
    static const char tok_body[] = "username=fuzz&password=fuzz-pass1";
    char *tok = sm_xasprintf("POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                             strlen(tok_body), tok_body);
    exchange((const uint8_t *)tok, strlen(tok), 0, 20000, reply, sizeof reply);
    free(tok);
    grab(reply, "access_token", access_token, sizeof access_token);
    char *ag = sm_xasprintf("POST /agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n"
                            "{\"name\":\"fz\"}",
                            access_token);
    exchange((const uint8_t *)ag, strlen(ag), 0, 20000, reply, sizeof reply);
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
    static int ready;
    if (!ready) {
        setup();
        ready = 1;
    }
    if (size < 1 || size > 65536)
        return 0;
    /* Each placeholder grows by at most the longest token. */
    uint8_t *req = sm_xmalloc(size * (sizeof access_token / 3 + 1));
    size_t n = expand(data + 1, size - 1, req);
    /* Odd first byte: wait for the reply (write path covered); even: hang up at once. */
    exchange(req, n, data[0] ? data[0] * 2654435761u : 0, data[0] & 1 ? 50 : -1, reply,
             sizeof reply);
    free(req);
    return 0;
}
