/* sender.c: one libcurl easy handle in a multi handle, for a non-blocking POST /ingest. */
#include "config.h"

#include "sender.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

struct sender {
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
wipe_slist(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next) {
        volatile char *c = p->data;
        while (*c)
            *c++ = '\0';
    }
    curl_slist_free_all(l);
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

struct sender *
sender_new(const char *url, const char *token, const char *ca_file, char **cause)
{
    struct sender *s = sm_xcalloc(1, sizeof *s);
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    if (!s->multi || !s->easy) {
        *cause = sm_xstrdup("libcurl could not be initialised");
        sender_free(s);
        return NULL;
    }
    char *tok = sm_xasprintf("X-Agent-Token: %s", token);
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    s->headers = curl_slist_append(s->headers, tok);
    /* No "Expect: 100-continue" round trip. */
    s->headers = curl_slist_append(s->headers, "Expect:");
    volatile char *c = tok;
    while (*c)
        *c++ = '\0';
    free(tok);
    CURL *e = s->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPHEADER, s->headers);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, SENDER_CONNECT_TIMEOUT_MS);
    SET(CURLOPT_TIMEOUT_MS, SENDER_TOTAL_TIMEOUT_MS);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_VERBOSE, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ERRORBUFFER, s->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, s);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, s);
    SET(CURLOPT_USERAGENT, "smagent/" PACKAGE_VERSION);
    if (ca_file)
        SET(CURLOPT_CAINFO, ca_file);
#undef SET
    if (rc != CURLE_OK) {
        *cause = sm_xasprintf("libcurl: %s", curl_easy_strerror(rc));
        sender_free(s);
        return NULL;
    }
    return s;
}

void
sender_free(struct sender *s)
{
    if (!s)
        return;
    if (s->busy)
        sender_abort(s);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    wipe_slist(s->headers);
    free(s->body);
    free(s);
}

int
sender_busy(const struct sender *s)
{
    return s->busy;
}

void
sender_start(struct sender *s, char *body, size_t len)
{
    free(s->body);
    s->body = body;
    s->body_len = len;
    s->retry_after = -1;
    s->detail_len = 0;
    s->detail[0] = '\0';
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_multi_add_handle(s->multi, s->easy);
    s->busy = 1;
}

void
sender_abort(struct sender *s)
{
    if (!s->busy)
        return;
    curl_multi_remove_handle(s->multi, s->easy);
    s->busy = 0;
    free(s->body);
    s->body = NULL;
}

int
sender_wait(struct sender *s, long timeout_ms, int wake_fd, struct sender_reply *r)
{
    int running = 0;
    if (!s->busy)
        return 0;
    curl_multi_perform(s->multi, &running);
    if (running) {
        struct curl_waitfd extra = {.fd = wake_fd, .events = CURL_WAIT_POLLIN};
        int n = 0;
        if (timeout_ms < 0)
            timeout_ms = 0;
        curl_multi_poll(s->multi, wake_fd >= 0 ? &extra : NULL, wake_fd >= 0 ? 1 : 0,
                        (int)(timeout_ms > 60000 ? 60000 : timeout_ms), &n);
        curl_multi_perform(s->multi, &running);
    }
    int left;
    CURLMsg *m;
    int done = 0;
    while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE || m->easy_handle != s->easy)
            continue;
        done = 1;
        r->status = 0;
        r->retry_after = s->retry_after;
        if (m->data.result == CURLE_OK) {
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &r->status);
            snprintf(r->detail, sizeof r->detail, "%s", s->detail);
        } else {
            snprintf(r->detail, sizeof r->detail, "%s",
                     s->errbuf[0] ? s->errbuf : curl_easy_strerror(m->data.result));
        }
    }
    if (done) {
        curl_multi_remove_handle(s->multi, s->easy);
        s->busy = 0;
        free(s->body);
        s->body = NULL;
    }
    return done;
}
