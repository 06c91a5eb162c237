/* sender.c: POST /ingest. http:// goes through lib/http_client; https:// through one
 * libcurl easy handle in a multi handle, libcurl being loaded only then (curl_dl.h), so
 * that a plain-http agent never maps libcurl or any TLS library. */
#include "config.h"

#include "sender.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_dl.h"
#include "http_client.h"
#include "xmalloc.h"

/* The start of a reply body is all the agent logs; a larger body is a bad reply. */
#define REPLY_BODY_MAX (64 * 1024)

struct sender {
    /* http:// */
    struct sm_http_client *http;
    char *head; /* the request's header lines, with the token: wiped on free */
    /* https:// */
    const struct curl_dl *C;
    CURLM *multi;
    CURL *easy;
    struct curl_slist *headers; /* holds the token: wiped on free */
    char *body;
    size_t body_len;
    int busy;
    double retry_after;
    char detail[256];
    size_t detail_len;
    char errbuf[CURL_ERROR_SIZE];
};

static void
wipe(char *s)
{
    if (!s)
        return;
    volatile char *c = s;
    while (*c)
        *c++ = '\0';
}

static void
wipe_slist(const struct curl_dl *C, struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        wipe(p->data);
    if (l)
        C->slist_free_all(l);
}

/* Keep the start of the reply body (the server's {"detail": ...}); drop the rest. */
static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
    struct sender *s = arg;
    size_t len = size * n;
    size_t room = sizeof s->detail - 1 - s->detail_len;
    size_t take = len < room ? len : room;
    memcpy(s->detail + s->detail_len, data, take);
    s->detail_len += take;
    s->detail[s->detail_len] = '\0';
    return len;
}

/* Retry-After in seconds (the HTTP-date form is treated as absent). */
static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
    struct sender *s = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && len < 64 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char buf[64];
        memcpy(buf, data + sizeof name - 1, len - (sizeof name - 1));
        buf[len - (sizeof name - 1)] = '\0';
        char *end;
        long v = strtol(buf, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t')
            end++;
        if (end != buf && *end == '\0' && v >= 0 && v <= 86400)
            s->retry_after = (double)v;
    }
    return len;
}

/* The https sender: libcurl, loaded now if it is not yet. */
static int
tls_new(struct sender *s, const char *url, const char *token, const char *ca_file, char **cause)
{
    const struct curl_dl *C = curl_dl_get(cause);
    if (!C)
        return -1;
    s->C = C;
    s->multi = C->multi_init();
    s->easy = C->easy_init();
    if (!s->multi || !s->easy) {
        *cause = sm_xstrdup("libcurl could not be initialised");
        return -1;
    }
    char *tok = sm_xasprintf("X-Agent-Token: %s", token);
    /* No "Expect: 100-continue" round trip. A header libcurl could not add (out of
     * memory: curl_slist_append returns NULL and leaves the list as it was) fails the
     * set-up, rather than losing the list or sending without the header. */
    const char *const hdrs[] = {"Content-Type: application/json", tok, "Expect:"};
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        struct curl_slist *l = C->slist_append(s->headers, hdrs[i]);
        if (!l) {
            wipe(tok);
            free(tok);
            *cause = sm_xstrdup("libcurl: out of memory");
            return -1;
        }
        s->headers = l;
    }
    wipe(tok);
    free(tok);
    CURL *e = s->easy;
    CURLcode rc = CURLE_OK;
    /* Each option in turn until one fails. */
    rc = C->easy_setopt(e, CURLOPT_URL, url);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, SENDER_CONNECT_TIMEOUT_MS);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_TIMEOUT_MS, SENDER_TOTAL_TIMEOUT_MS);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_VERBOSE, 0L);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    /* No TLS session cache: the agent keeps one connection open, so resumption saves a
     * handshake only after a reconnect, and Debian's libcurl 7.88.1 frees twice when an
     * allocation fails while it stores the server's TLS 1.3 session ticket
     * (tests/integration/fault_libs.py, the agent case). */
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_WRITEDATA, s);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_HEADERDATA, s);
    if (!rc)
        rc = C->easy_setopt(e, CURLOPT_USERAGENT, "smagent/" PACKAGE_VERSION);
    if (!rc && ca_file)
        rc = C->easy_setopt(e, CURLOPT_CAINFO, ca_file);
    if (rc != CURLE_OK) {
        *cause = sm_xasprintf("libcurl: %s", C->easy_strerror(rc));
        return -1;
    }
    return 0;
}

struct sender *
sender_new(const char *url, const char *token, const char *ca_file, char **cause)
{
    struct sender *s = sm_xcalloc(1, sizeof *s);
    if (strncasecmp(url, "https://", 8) == 0) {
        if (tls_new(s, url, token, ca_file, cause) != 0) {
            sender_free(s);
            return NULL;
        }
        return s;
    }
    s->http = sm_http_client_new(url, SENDER_CONNECT_TIMEOUT_MS, SENDER_TOTAL_TIMEOUT_MS,
                                 REPLY_BODY_MAX, cause);
    if (!s->http) {
        free(s);
        return NULL;
    }
    s->head = sm_xasprintf("User-Agent: smagent/%s\r\nContent-Type: application/json\r\n"
                           "X-Agent-Token: %s\r\n",
                           PACKAGE_VERSION, token);
    return s;
}

void
sender_free(struct sender *s)
{
    if (!s)
        return;
    if (s->busy)
        sender_abort(s);
    sm_http_client_free(s->http);
    wipe(s->head);
    free(s->head);
    if (s->easy)
        s->C->easy_cleanup(s->easy);
    if (s->multi)
        s->C->multi_cleanup(s->multi);
    if (s->C)
        wipe_slist(s->C, s->headers);
    free(s->body);
    free(s);
}

void
sender_global_done(void)
{
    curl_dl_done();
}

int
sender_busy(const struct sender *s)
{
    return s->busy;
}

void
sender_start(struct sender *s, char *body, size_t len)
{
    s->busy = 1;
    if (s->http) {
        sm_http_start(s->http, "POST", s->head, body, len);
        free(body);
        return;
    }
    const struct curl_dl *C = s->C;
    free(s->body);
    s->body = body;
    s->body_len = len;
    s->retry_after = -1;
    s->detail_len = 0;
    s->detail[0] = '\0';
    s->errbuf[0] = '\0';
    C->easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    C->easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    C->multi_add_handle(s->multi, s->easy);
}

void
sender_abort(struct sender *s)
{
    if (!s->busy)
        return;
    s->busy = 0;
    if (s->http) {
        sm_http_abort(s->http);
        return;
    }
    s->C->multi_remove_handle(s->multi, s->easy);
    free(s->body);
    s->body = NULL;
}

static int
http_wait(struct sender *s, long timeout_ms, int wake_fd, struct sender_reply *r)
{
    struct sm_http_reply hr;
    if (!sm_http_wait(s->http, timeout_ms, wake_fd, &hr))
        return 0;
    r->status = hr.status;
    r->retry_after = hr.retry_after;
    snprintf(r->detail, sizeof r->detail, "%s", hr.status ? (hr.body ? hr.body : "") : hr.error);
    sm_http_reply_done(&hr);
    s->busy = 0;
    return 1;
}

int
sender_wait(struct sender *s, long timeout_ms, int wake_fd, struct sender_reply *r)
{
    int running = 0;
    if (!s->busy)
        return 0;
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (timeout_ms > 60000)
        timeout_ms = 60000;
    if (s->http)
        return http_wait(s, timeout_ms, wake_fd, r);
    const struct curl_dl *C = s->C;
    C->multi_perform(s->multi, &running);
    if (running) {
        struct curl_waitfd extra = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
        int n = 0;
        C->multi_poll(s->multi, wake_fd >= 0 ? &extra : NULL, wake_fd >= 0 ? 1 : 0, (int)timeout_ms,
                      &n);
        C->multi_perform(s->multi, &running);
    }
    int left;
    CURLMsg *m;
    int done = 0;
    while ((m = C->multi_info_read(s->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE || m->easy_handle != s->easy)
            continue;
        done = 1;
        r->status = 0;
        r->retry_after = s->retry_after;
        if (m->data.result == CURLE_OK) {
            C->easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &r->status);
            snprintf(r->detail, sizeof r->detail, "%s", s->detail);
        } else {
            snprintf(r->detail, sizeof r->detail, "%s",
                     s->errbuf[0] ? s->errbuf : C->easy_strerror(m->data.result));
        }
    }
    if (done) {
        C->multi_remove_handle(s->multi, s->easy);
        s->busy = 0;
        free(s->body);
        s->body = NULL;
    }
    return done;
}
