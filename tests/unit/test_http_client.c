/* test_http_client.c: lib/http_client: URLs, the reply parser (good replies, every bad
 * case, each reply fed byte by byte as well as whole) and the client against a scripted server in a
 * child process (keep-alive reuse, an idle connection closed by the server, refused
 * connections, time-outs). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_client.h"
#include "tap.h"

#define NOW ((time_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */

static void
test_urls(void)
{
    static const struct {
        const char *in, *host, *port, *path;
        int https;
    } good[] = {
        {"http://h:8001", "h", "8001", "", 0},
        {"HTTP://h", "h", "80", "", 0},
        {"https://Example.org/a/b?x=1#frag", "Example.org", "443", "/a/b?x=1", 1},
        {"http://[::1]:8001/ingest", "::1", "8001", "/ingest", 0},
        {"http://10.0.0.1:65535?q", "10.0.0.1", "65535", "?q", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct sm_http_url u;
        char *cause = NULL;
        int rc = sm_http_url_parse(good[i].in, &u, &cause);
        ok(rc == SM_OK && strcmp(u.host, good[i].host) == 0 && strcmp(u.port, good[i].port) == 0 &&
               strcmp(u.path, good[i].path) == 0 && u.https == good[i].https,
           "url %s", good[i].in);
        if (rc != SM_OK)
            diag("    %s", cause);
        free(cause);
        sm_http_url_done(&u);
    }
    static const char *const bad[] = {"ftp://h",        "file:///etc/passwd", "http://user:pw@h:1",
                                      "h:8001",         "http://h :1",        "",
                                      "http://",        "http://:80",         "http://h:0",
                                      "http://h:65536", "http://h:123456",    "http://h:x",
                                      "http://[::1",    "http://[]:1",        "http://[zz]:1",
                                      "http://h\x01",   "http://a/b\tc",      "http://h!x/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sm_http_url u;
        char *cause = NULL;
        int rc = sm_http_url_parse(bad[i], &u, &cause);
        ok(rc != SM_OK && cause, "url '%s' refused (%s)", bad[i], cause ? cause : "-");
        free(cause);
        if (rc == SM_OK)
            sm_http_url_done(&u);
    }
}

struct good_case {
    const char *name, *in;
    int status, keep_alive;
    const char *body;
    double retry_after;
    size_t extra; /* bytes left after the reply */
};

static const struct good_case goods[] = {
    {"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, 1, "hello", -1, 0},
    {"empty body", "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202, 1, "", -1, 0},
    {"no reason phrase", "HTTP/1.1 204\r\n\r\n", 204, 1, "", -1, 0},
    {"chunked",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
     "7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
     200, 1, "hello, world", -1, 0},
    {"chunked, upper-case hex",
     "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
     "A\r\n0123456789\r\n0\r\n\r\n",
     200, 1, "0123456789", -1, 0},
    {"connection close", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
     500, 0, "no", -1, 0},
    {"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, 0, "x", -1, 0},
    {"HTTP/1.0 keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", 200, 1, "x", -1, 0},
    {"body to the end", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, 0, "all of it", -1, 0},
    {"retry-after seconds", "HTTP/1.1 429 Slow\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", 429,
     1, "", 7, 0},
    {"retry-after date",
     "HTTP/1.1 503 X\r\nRetry-After: Sun, 06 Nov 1994 08:50:07 GMT\r\n"
     "Content-Length: 0\r\n\r\n",
     503, 1, "", 30, 0},
    {"retry-after past date",
     "HTTP/1.1 503 X\r\nRetry-After: Sat, 05 Nov 1994 08:50:07 GMT\r\n"
     "Content-Length: 0\r\n\r\n",
     503, 1, "", 0, 0},
    {"retry-after huge",
     "HTTP/1.1 503 X\r\nRetry-After: 99999999999999999999999\r\n"
     "Content-Length: 0\r\n\r\n",
     503, 1, "", SM_HTTP_RETRY_AFTER_MAX, 0},
    {"retry-after garbage ignored",
     "HTTP/1.1 503 X\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n", 503, 1, "", -1, 0},
    {"interim 100 skipped",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
     "Content-Length: 2\r\n\r\nok",
     201, 1, "ok", -1, 0},
    {"redirect is a reply",
     "HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\n"
     "Content-Length: 0\r\n\r\n",
     307, 1, "", -1, 0},
    {"blanks around values", "HTTP/1.1 200 OK\r\nContent-Length: \t3 \r\n\r\nabc", 200, 1, "abc",
     -1, 0},
    {"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
     200, 1, "abc", -1, 0},
    {"leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000000000003\r\n\r\nabc",
     200, 1, "abc", -1, 0},
    {"bytes after the reply", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1", 200, 1, "x",
     -1, 8},
};

static const struct {
    const char *name, *in;
} bads[] = {
    {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n"},
    {"HTTP/2 status line", "HTTP/2 200 OK\r\n\r\n"},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n"},
    {"status 600", "HTTP/1.1 600 OK\r\n\r\n"},
    {"status followed by garbage", "HTTP/1.1 200OK\r\n\r\n"},
    {"bare LF in status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"},
    {"bare LF in headers", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\n"},
    {"CR without LF", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"},
    {"control character in value", "HTTP/1.1 200 OK\r\nX: a\x01"
                                   "b\r\n\r\n"},
    {"no colon", "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n"},
    {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"},
    {"folded header", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"},
    {"empty header name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n"},
    {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
    {"length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx"},
    {"length list", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx"},
    {"empty length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"},
    {"length over the cap", "HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n"},
    {"length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551617\r\n\r\n"},
    {"length far overflow",
     "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999999999999\r\n\r\n"},
    {"two different lengths",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"},
    {"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"
                           "\r\n1\r\nx\r\n0\r\n\r\n"},
    {"gzip transfer coding",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
    {"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
                      "\r\n\r\n0\r\n\r\n"},
    {"chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n"},
    {"empty chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nx\r\n0\r\n\r\n"},
    {"negative chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n"},
    {"chunk size garbage",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1x\r\nx\r\n0\r\n\r\n"},
    {"chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "10000000000000001\r\nx\r\n0\r\n\r\n"},
    {"chunk over the cap", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n"},
    {"chunk without CRLF",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n"},
    {"chunk with bare LF",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n"},
    {"bad trailer",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a trailer\r\n\r\n"},
    {"protocol switch", "HTTP/1.1 101 Switching Protocols\r\n\r\n"},
    {"truncated head", "HTTP/1.1 200 OK\r\nContent-Len"},
    {"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"},
    {"truncated chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe"},
    {"no last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n"},
    {"nothing", ""},
};

#define BODY_MAX 65536

static void
test_parser(void)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        const struct good_case *g = &goods[i];
        size_t len = strlen(g->in), used = 0;
        struct sm_http_reply r;
        const char *cause = "";
        /* Whole, with eof (the connection closed after it). */
        int rc = sm_http_reply_parse(g->in, len, 1, BODY_MAX, NOW, &r, &used, &cause);
        int good = rc == 1 && r.status == g->status && r.keep_alive == g->keep_alive &&
                   r.body_len == strlen(g->body) &&
                   (r.body_len == 0 || memcmp(r.body, g->body, r.body_len) == 0) &&
                   r.retry_after == g->retry_after && used == len - g->extra;
        ok(good, "%s", g->name);
        if (!good)
            diag("    rc %d (%s) status %d keep %d body '%s' retry %g used %zu", rc, cause,
                 r.status, r.keep_alive, r.body ? r.body : "", r.retry_after, used);
        if (rc == 1)
            sm_http_reply_done(&r);
        /* Byte by byte without eof: "more" up to the last byte (a body read to the end of
         * the connection never completes without eof). */
        int more = 1, whole = 0;
        for (size_t n = 0; n <= len - g->extra; n++) {
            rc = sm_http_reply_parse(g->in, n, 0, BODY_MAX, NOW, &r, &used, &cause);
            if (rc == 1) {
                whole =
                    n == len - g->extra && r.status == g->status && r.keep_alive == g->keep_alive;
                sm_http_reply_done(&r);
                break;
            }
            if (rc != 0) {
                more = 0;
                diag("    at %zu bytes: %s", n, cause);
                break;
            }
        }
        if (strstr(g->name, "body to the end"))
            ok(more && !whole, "%s: incomplete until the connection closes", g->name);
        else
            ok(more && whole, "%s: byte by byte", g->name);
    }
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const char *in = bads[i].in;
        size_t len = strlen(in), used = 0;
        struct sm_http_reply r;
        const char *cause = NULL;
        /* With eof: a truncated reply is an error then. */
        int rc = sm_http_reply_parse(in, len, 1, BODY_MAX, NOW, &r, &used, &cause);
        ok(rc == -1 && cause, "refused: %s (%s)", bads[i].name, cause ? cause : "-");
        if (rc == 1)
            sm_http_reply_done(&r);
    }
    /* Incomplete without eof. */
    {
        struct sm_http_reply r;
        size_t used;
        const char *cause;
        const char *in = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
        ok(sm_http_reply_parse(in, strlen(in), 0, BODY_MAX, NOW, &r, &used, &cause) == 0,
           "a short body waits for more");
        ok(sm_http_reply_parse("HTTP/1.1 200 OK\r", 16, 0, BODY_MAX, NOW, &r, &used, &cause) == 0,
           "a CR at the end waits for its LF");
    }
    /* The header block cap: just under is fine, over is refused even before it ends. */
    {
        size_t cap = SM_HTTP_HEAD_MAX;
        char *big = malloc(cap + 64);
        const char *pre = "HTTP/1.1 200 OK\r\nX: ";
        size_t pl = strlen(pre);
        memcpy(big, pre, pl);
        size_t fill = cap - pl - 4 - strlen("\r\nContent-Length: 0");
        memset(big + pl, 'a', fill);
        memcpy(big + pl + fill, "\r\nContent-Length: 0\r\n\r\n", 23);
        struct sm_http_reply r;
        size_t used;
        const char *cause = "";
        int rc = sm_http_reply_parse(big, pl + fill + 23, 0, BODY_MAX, NOW, &r, &used, &cause);
        ok(rc == 1, "a header block of %zu bytes is accepted (%s)", pl + fill + 23, cause);
        if (rc == 1)
            sm_http_reply_done(&r);
        memset(big + pl, 'a', cap + 10);
        rc = sm_http_reply_parse(big, pl + cap + 10, 0, BODY_MAX, NOW, &r, &used, &cause);
        ok(rc == -1, "an endless header block is refused (%s)", cause);
        free(big);
    }
    /* A chunk-size line and the trailers never ending within their caps are refused
     * before the reply ends; a chunk extension within the cap is fine. */
    {
        const char *pre = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        size_t pl = strlen(pre), n = pl + SM_HTTP_HEAD_MAX + 64;
        char *big = malloc(n);
        struct sm_http_reply r;
        size_t used;
        const char *cause = "";
        memcpy(big, pre, pl);
        memcpy(big + pl, "1;", 2);
        memset(big + pl + 2, 'e', 1100);
        int rc = sm_http_reply_parse(big, pl + 1102, 0, BODY_MAX, NOW, &r, &used, &cause);
        ok(rc == -1 && strstr(cause, "chunk-size line is too long"),
           "an endless chunk-size line is refused (%s)", cause);
        const char *ext = "1;ext=1\r\nx\r\n0\r\n\r\n";
        memcpy(big + pl, ext, strlen(ext));
        cause = "";
        rc = sm_http_reply_parse(big, pl + strlen(ext), 0, BODY_MAX, NOW, &r, &used, &cause);
        ok(rc == 1 && r.body_len == 1, "a chunk extension is accepted (%s)", cause);
        if (rc == 1)
            sm_http_reply_done(&r);
        memcpy(big + pl, "0\r\nX: ", 7);
        memset(big + pl + 7, 't', SM_HTTP_HEAD_MAX + 10);
        rc = sm_http_reply_parse(big, pl + 7 + SM_HTTP_HEAD_MAX + 10, 0, BODY_MAX, NOW, &r, &used,
                                 &cause);
        ok(rc == -1 && strstr(cause, "trailers are larger"), "endless trailers are refused (%s)",
           cause);
        free(big);
    }
    /* Many tiny chunks and a cap of exactly the body. */
    {
        char buf[4096];
        size_t o = (size_t)snprintf(buf, sizeof buf,
                                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 100; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "1\r\n%c\r\n", 'a' + i % 26);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "0\r\n\r\n");
        struct sm_http_reply r;
        size_t used;
        const char *cause = "";
        int rc = sm_http_reply_parse(buf, o, 0, 100, NOW, &r, &used, &cause);
        ok(rc == 1 && r.body_len == 100 && r.body[25] == 'z' && used == o,
           "100 one-byte chunks with a cap of 100");
        if (rc == 1)
            sm_http_reply_done(&r);
        rc = sm_http_reply_parse(buf, o, 0, 99, NOW, &r, &used, &cause);
        ok(rc == -1, "100 one-byte chunks with a cap of 99 (%s)", cause);
        if (rc == 1)
            sm_http_reply_done(&r);
    }
}

/* ---------------------------------------------------------------- client */

/* A scripted server in a child: for each connection accepted, reads requests and answers
 * each with the next reply of the script. "CLOSE" closes the connection; "DROP" reads a
 * request and closes without a reply; "SILENT" reads a request and never answers. */
static pid_t
serve(int lfd, const char *const *script)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    size_t k = 0;
    while (script[k]) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            _exit(1);
        while (script[k]) {
            const char *step = script[k++];
            if (strcmp(step, "CLOSE") == 0)
                break;
            char buf[8192];
            size_t got = 0;
            /* One request: its head and a Content-Length body. */
            for (;;) {
                ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
                if (n <= 0)
                    _exit(2);
                got += (size_t)n;
                buf[got] = '\0';
                char *e = strstr(buf, "\r\n\r\n");
                const char *cl = strstr(buf, "Content-Length: ");
                if (e && (!cl || got >= (size_t)(e + 4 - buf) + strtoul(cl + 16, NULL, 10)))
                    break;
            }
            if (strcmp(step, "SILENT") == 0) {
                pause();
                _exit(0);
            }
            if (strcmp(step, "DROP") == 0)
                break;
            if (write(fd, step, strlen(step)) < 0)
                _exit(3);
        }
        close(fd);
    }
    _exit(0);
}

static int
listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static void
test_client(void)
{
    int port;
    int lfd = listener(&port);
    if (lfd < 0) {
        ok(0, "a loopback listener");
        return;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ingest", port);
    /* Keep-alive: two requests, one connection; then the server drops the third request
     * (as a server closing an idle connection while it is sent): it is resent on a new
     * connection. Then a closed idle connection is noticed before sending. */
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 429 Slow\r\nRetry-After: 3\r\nContent-Length: 4\r\n\r\nslow",
        "DROP",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew",
        "CLOSE",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nnew\r\n0\r\n\r\n",
        "CLOSE",
        "DROP",
        NULL};
    pid_t pid = serve(lfd, script);
    char *cause = NULL;
    struct sm_http_client *c = sm_http_client_new(url, 2000, 5000, 1024, &cause);
    ok(c != NULL, "client for %s", url);
    if (!c)
        return;
    struct sm_http_reply r;
    sm_http_request(c, "POST", "X-Agent-Token: secret\r\n", "{}", 2, &r);
    ok(r.status == 200 && r.body_len == 2 && strcmp(r.body, "ok") == 0, "first reply (%d %s)",
       r.status, r.error);
    sm_http_reply_done(&r);
    sm_http_request(c, "POST", NULL, "{}", 2, &r);
    ok(r.status == 429 && r.retry_after == 3 && strcmp(r.body, "slow") == 0,
       "second reply on the kept connection (%d %s)", r.status, r.error);
    sm_http_reply_done(&r);
    sm_http_request(c, "POST", NULL, "{}", 2, &r);
    ok(r.status == 200 && strcmp(r.body, "new") == 0,
       "a request dropped on a kept connection is resent once on a new one (%d %s)", r.status,
       r.error);
    sm_http_reply_done(&r);
    sm_http_request(c, "POST", NULL, "{}", 2, &r);
    ok(r.status == 200 && strcmp(r.body, "new") == 0,
       "an idle connection closed by the server is reopened (%d %s)", r.status, r.error);
    sm_http_reply_done(&r);
    /* A drop on a fresh connection is not retried. */
    sm_http_request(c, "POST", NULL, "{}", 2, &r);
    ok(r.status == 0 && strstr(r.error, "without a reply"),
       "a drop on a new connection is an error (%s)", r.error);
    sm_http_reply_done(&r);
    int st;
    waitpid(pid, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the scripted server saw the script through");
    sm_http_client_free(c);

    /* A server that never answers: the total time-out ends the request. */
    static const char *const silent[] = {"SILENT", NULL};
    pid = serve(lfd, silent);
    c = sm_http_client_new(url, 2000, 300, 1024, &cause);
    sm_http_request(c, "GET", NULL, NULL, 0, &r);
    ok(r.status == 0 && strstr(r.error, "timed out"), "a silent server times out (%s)", r.error);
    sm_http_reply_done(&r);
    sm_http_client_free(c);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);

    /* A malformed reply is an error with status 0. */
    static const char *const junk[] = {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", NULL};
    pid = serve(lfd, junk);
    c = sm_http_client_new(url, 2000, 5000, 1024, &cause);
    sm_http_request(c, "GET", NULL, NULL, 0, &r);
    ok(r.status == 0 && strstr(r.error, "malformed"), "a malformed reply (%s)", r.error);
    sm_http_reply_done(&r);
    sm_http_client_free(c);
    waitpid(pid, &st, 0);

    /* A name: looked up on glibc's resolver thread (getaddrinfo_a), then connected;
     * localhost may give ::1 first, where nobody listens: the next address is tried. */
    static const char *const named[] = {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nname", NULL};
    pid = serve(lfd, named);
    char named_url[64];
    snprintf(named_url, sizeof named_url, "http://localhost:%d/ingest", port);
    c = sm_http_client_new(named_url, 2000, 5000, 1024, &cause);
    sm_http_request(c, "GET", NULL, NULL, 0, &r);
    ok(r.status == 200 && r.body && strcmp(r.body, "name") == 0, "a host name is looked up (%d %s)",
       r.status, r.error);
    sm_http_reply_done(&r);
    sm_http_client_free(c);
    waitpid(pid, &st, 0);
    /* A name that does not resolve (or whose lookup outlasts the connect time-out, where
     * DNS is unreachable) is an error, not a hang. */
    c = sm_http_client_new("http://no-such-host.invalid/", 1500, 5000, 1024, &cause);
    sm_http_request(c, "GET", NULL, NULL, 0, &r);
    ok(r.status == 0 && (strstr(r.error, "cannot resolve") || strstr(r.error, "looking up")),
       "an unknown host name is an error (%s)", r.error);
    sm_http_reply_done(&r);
    sm_http_client_free(c);

    /* Nobody listening: refused. */
    close(lfd);
    c = sm_http_client_new(url, 2000, 5000, 1024, &cause);
    sm_http_request(c, "GET", NULL, NULL, 0, &r);
    ok(r.status == 0 && strstr(r.error, "cannot connect"), "a refused connection (%s)", r.error);
    sm_http_reply_done(&r);
    sm_http_client_free(c);

    c = sm_http_client_new("https://127.0.0.1/", 1000, 1000, 1024, &cause);
    ok(c == NULL && cause, "https is not the plain client's");
    free(cause);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_urls();
    test_parser();
    test_client();
    return tap_done();
}
