/* http_client.c: the small HTTP/1.1 client of http_client.h: URL parsing, the reply
 * parser (pure) and one connection driven by poll. */
#include "config.h"

#include "http_client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "xmalloc.h"

/* ---------------------------------------------------------------- URL */

static int
is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '%';
}

enum sm_rc
sm_http_url_parse(const char *url, struct sm_http_url *u, char **cause)
{
    memset(u, 0, sizeof *u);
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            *cause = sm_xstrdup("must not contain blanks or control characters");
            return SM_EINVAL;
        }
    }
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        u->https = 1;
        p = url + 8;
    } else if (strstr(url, "://")) {
        *cause = sm_xasprintf("'%s': only http and https are accepted", url);
        return SM_EINVAL;
    } else {
        *cause = sm_xasprintf("'%s' is not a URL (http://host:port or https://...)", url);
        return SM_EINVAL;
    }
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen)) {
        *cause = sm_xstrdup("must not contain a user or password (use the token file)");
        return SM_EINVAL;
    }
    const char *hend, *h = p;
    if (*p == '[') {
        h = p + 1;
        hend = memchr(h, ']', alen);
        if (!hend || hend == h) {
            *cause = sm_xasprintf("'%s': bad IPv6 address", url);
            return SM_EINVAL;
        }
        for (const char *q = h; q < hend; q++) {
            if (!(*q == ':' || *q == '.' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F'))) {
                *cause = sm_xasprintf("'%s': bad IPv6 address", url);
                return SM_EINVAL;
            }
        }
        p = hend + 1;
    } else {
        hend = p;
        while (hend < p + alen && *hend != ':')
            hend++;
        for (const char *q = h; q < hend; q++) {
            if (!is_host_char(*q)) {
                *cause = sm_xasprintf("'%s': bad host name", url);
                return SM_EINVAL;
            }
        }
        p = hend;
    }
    if (hend == h) {
        *cause = sm_xasprintf("'%s' has no host", url);
        return SM_EINVAL;
    }
    const char *aend = p + strcspn(p, "/?#");
    unsigned long port = 0;
    if (*p == ':') {
        p++;
        size_t nd = 0;
        for (; p < aend; p++, nd++) {
            if (*p < '0' || *p > '9' || nd >= 5) {
                *cause = sm_xasprintf("'%s': bad port", url);
                return SM_EINVAL;
            }
            port = port * 10 + (unsigned long)(*p - '0');
        }
        if (nd == 0 || port == 0 || port > 65535) {
            *cause = sm_xasprintf("'%s': bad port", url);
            return SM_EINVAL;
        }
        u->port_given = 1;
    } else if (p != aend) {
        *cause = sm_xasprintf("'%s': bad host name", url);
        return SM_EINVAL;
    }
    u->host = sm_xstrndup(h, (size_t)(hend - h));
    u->port = port ? sm_xasprintf("%lu", port) : sm_xstrdup(u->https ? "443" : "80");
    u->path = sm_xstrndup(aend, strcspn(aend, "#"));
    return SM_OK;
}

void
sm_http_url_done(struct sm_http_url *u)
{
    free(u->host);
    free(u->port);
    free(u->path);
    memset(u, 0, sizeof *u);
}

/* ---------------------------------------------------------------- reply parser */

/* A line of buf starting at pos: its end (the CR) in *eol. 1 found, 0 incomplete, -1
 * a bare LF or a CR not followed by LF. Lines are looked for only below lim. */
static int
find_line(const char *buf, size_t len, size_t pos, size_t *eol, const char **cause)
{
    for (size_t i = pos; i < len; i++) {
        if (buf[i] == '\n') {
            *cause = "a line ends without CRLF";
            return -1;
        }
        if (buf[i] == '\r') {
            if (i + 1 == len)
                return 0;
            if (buf[i + 1] != '\n') {
                *cause = "a CR is not followed by LF";
                return -1;
            }
            *eol = i;
            return 1;
        }
    }
    return 0;
}

/* find_line for a line that must end below lim (a cap): incomplete while more bytes lie
 * beyond lim is the error too_long. */
static int
find_line_capped(const char *buf, size_t len, size_t lim, size_t pos, size_t *eol,
                 const char **cause, const char *too_long)
{
    int rc = find_line(buf, lim, pos, eol, cause);
    if (rc == 0 && lim < len) {
        *cause = too_long;
        return -1;
    }
    return rc;
}

static int
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Whether the comma-separated list v[0..n) holds token tok (any case). */
static int
list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int
two_digits(const char *s, unsigned *v)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    *v = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    return 0;
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", the form servers must send) as
 * seconds since the epoch; -1 when it is not one. */
static long long
imf_fixdate(const char *v, size_t n)
{
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (n != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':' || v[25] != ' ' || memcmp(v + 26, "GMT", 3) != 0)
        return -1;
    int wd = -1, mon = -1;
    for (int i = 0; i < 7; i++)
        if (memcmp(v, days + 3 * i, 3) == 0)
            wd = i;
    for (int i = 0; i < 12; i++)
        if (memcmp(v + 8, months + 3 * i, 3) == 0)
            mon = i + 1;
    unsigned d, yh, yl, hh, mm, ss;
    if (wd < 0 || mon < 0 || two_digits(v + 5, &d) || two_digits(v + 12, &yh) ||
        two_digits(v + 14, &yl) || two_digits(v + 17, &hh) || two_digits(v + 20, &mm) ||
        two_digits(v + 23, &ss))
        return -1;
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    long long days_n = days_from_civil((long long)(yh * 100 + yl), (unsigned)mon, d);
    return days_n * 86400 + (long long)(hh * 3600 + mm * 60 + ss);
}

/* Retry-After: delay-seconds or an HTTP-date; -1 when neither. */
static double
retry_after(const char *v, size_t n, time_t now)
{
    if (n > 0 && v[0] >= '0' && v[0] <= '9') {
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -1;
            if (s < SM_HTTP_RETRY_AFTER_MAX)
                s = s * 10 + (v[i] - '0');
        }
        return s > SM_HTTP_RETRY_AFTER_MAX ? SM_HTTP_RETRY_AFTER_MAX : s;
    }
    long long t = imf_fixdate(v, n);
    if (t < 0)
        return -1;
    double d = (double)(t - (long long)now);
    if (d < 0)
        d = 0;
    return d > SM_HTTP_RETRY_AFTER_MAX ? SM_HTTP_RETRY_AFTER_MAX : d;
}

struct head {
    int status, keep_alive, chunked, has_len;
    size_t content_len;
    double retry_after;
};

/* One header field: name[0..nl), value[0..vl) without surrounding blanks. */
static int
header(struct head *h, const char *name, size_t nl, const char *v, size_t vl, size_t body_max,
       time_t now, const char **cause)
{
#define IS(s) (nl == sizeof s - 1 && strncasecmp(name, s, nl) == 0)
    if (IS("content-length")) {
        size_t n = 0;
        if (vl == 0) {
            *cause = "an empty Content-Length";
            return -1;
        }
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9') {
                *cause = "a Content-Length that is not a number";
                return -1;
            }
            size_t d = (size_t)(v[i] - '0');
            /* Checked before it grows, so that it never wraps. */
            if (n > (SIZE_MAX - d) / 10 || n * 10 + d > body_max) {
                *cause = "the reply body is larger than the cap";
                return -1;
            }
            n = n * 10 + d;
        }
        if (h->has_len && h->content_len != n) {
            *cause = "two different Content-Length headers";
            return -1;
        }
        h->has_len = 1;
        h->content_len = n;
    } else if (IS("transfer-encoding")) {
        if (!(vl == 7 && strncasecmp(v, "chunked", 7) == 0) || h->chunked) {
            *cause = "a Transfer-Encoding other than chunked";
            return -1;
        }
        h->chunked = 1;
    } else if (IS("connection")) {
        if (list_has(v, vl, "close"))
            h->keep_alive = 0;
        else if (list_has(v, vl, "keep-alive"))
            h->keep_alive = 1;
    } else if (IS("retry-after")) {
        h->retry_after = retry_after(v, vl, now);
    }
#undef IS
    return 0;
}

/* The status line and headers of one reply at buf[pos..len). Sets *end past the empty
 * line. Same returns as sm_http_reply_parse. */
static int
parse_head(const char *buf, size_t len, size_t pos, size_t body_max, time_t now, struct head *h,
           size_t *end, const char **cause)
{
    size_t lim = len - pos > SM_HTTP_HEAD_MAX ? pos + SM_HTTP_HEAD_MAX : len;
    size_t eol;
    int rc = find_line(buf, lim, pos, &eol, cause);
    if (rc <= 0)
        goto incomplete;
    const char *l = buf + pos;
    size_t ll = eol - pos;
    if (ll < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
        l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' || l[11] < '0' || l[11] > '9' ||
        (ll > 12 && l[12] != ' ')) {
        *cause = "not an HTTP/1.x status line";
        return -1;
    }
    for (size_t i = 12; i < ll; i++) {
        if (((unsigned char)l[i] < ' ' && l[i] != '\t') || l[i] == 0x7f) {
            *cause = "a control character in the status line";
            return -1;
        }
    }
    memset(h, 0, sizeof *h);
    h->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    h->keep_alive = l[7] == '1';
    h->retry_after = -1;
    pos = eol + 2;
    for (;;) {
        rc = find_line(buf, lim, pos, &eol, cause);
        if (rc <= 0)
            goto incomplete;
        if (eol == pos) {
            *end = eol + 2;
            return 1;
        }
        const char *n = buf + pos;
        size_t nl = 0;
        while (pos + nl < eol && is_tchar(n[nl]))
            nl++;
        if (nl == 0 || pos + nl == eol || n[nl] != ':') {
            *cause = nl == 0 && (n[0] == ' ' || n[0] == '\t') ? "a folded header line"
                                                              : "a malformed header line";
            return -1;
        }
        const char *v = n + nl + 1;
        const char *ve = buf + eol;
        for (const char *q = v; q < ve; q++) {
            if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f) {
                *cause = "a control character in a header";
                return -1;
            }
        }
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if (header(h, n, nl, v, (size_t)(ve - v), body_max, now, cause) < 0)
            return -1;
        pos = eol + 2;
    }
incomplete:
    if (rc < 0)
        return -1;
    if (lim < len || len - pos >= SM_HTTP_HEAD_MAX) {
        *cause = "the header block is larger than the cap";
        return -1;
    }
    return 0;
}

int
sm_http_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#define CHUNK_LINE_MAX 1024 /* a chunk-size line with its extensions */

/* A chunked body at buf[pos..len): its decoded length in *blen, copied to out when not
 * NULL, *end past the trailers. Same returns as sm_http_reply_parse. */
static int
parse_chunked(const char *buf, size_t len, size_t pos, size_t body_max, char *out, size_t *blen,
              size_t *end, const char **cause)
{
    size_t total = 0, eol;
    for (;;) {
        size_t lim = len - pos > CHUNK_LINE_MAX ? pos + CHUNK_LINE_MAX : len;
        int rc = find_line_capped(buf, len, lim, pos, &eol, cause, "a chunk-size line is too long");
        if (rc <= 0)
            return rc;
        size_t size = 0, i = pos;
        int v;
        while (i < eol && (v = sm_http_hexval(buf[i])) >= 0) {
            /* Another digit would take it past what is left of the cap. */
            if (size > ((body_max - total) >> 4)) {
                *cause = "a chunk is larger than the cap";
                return -1;
            }
            size = size * 16 + (size_t)v;
            i++;
        }
        if (i == pos) {
            *cause = "a chunk size is not a hexadecimal number";
            return -1;
        }
        while (i < eol && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        if (i < eol && buf[i] != ';') {
            *cause = "a chunk size is followed by garbage";
            return -1;
        }
        if (size > body_max - total) {
            *cause = "the reply body is larger than the cap";
            return -1;
        }
        pos = eol + 2;
        if (size == 0)
            break;
        if (len - pos < size || len - pos - size < 2) {
            if (len - pos > size && buf[pos + size] != '\r') {
                *cause = "a chunk is not followed by CRLF";
                return -1;
            }
            return 0;
        }
        if (buf[pos + size] != '\r' || buf[pos + size + 1] != '\n') {
            *cause = "a chunk is not followed by CRLF";
            return -1;
        }
        if (out)
            memcpy(out + total, buf + pos, size);
        total += size;
        pos += size + 2;
    }
    /* Trailers: header lines, ignored, up to an empty line. */
    size_t start = pos;
    for (;;) {
        size_t lim = len - start > SM_HTTP_HEAD_MAX ? start + SM_HTTP_HEAD_MAX : len;
        int rc = find_line_capped(buf, len, lim, pos, &eol, cause,
                                  "the trailers are larger than the cap");
        if (rc <= 0)
            return rc;
        if (eol == pos)
            break;
        if (!is_tchar(buf[pos]) || !memchr(buf + pos, ':', eol - pos)) {
            *cause = "a malformed trailer line";
            return -1;
        }
        pos = eol + 2;
    }
    *blen = total;
    *end = eol + 2;
    return 1;
}

static void
set_body(struct sm_http_reply *r, const char *src, size_t n)
{
    r->body = NULL;
    r->body_len = n;
    if (n == 0)
        return;
    r->body = sm_xmalloc(n + 1);
    if (src)
        memcpy(r->body, src, n);
    r->body[n] = '\0';
}

int
sm_http_reply_parse(const char *buf, size_t len, int eof, size_t body_max, time_t now,
                    struct sm_http_reply *r, size_t *used, const char **cause)
{
    struct head h;
    size_t pos = 0, end;
    int rc;
    /* Interim replies (100 Continue, 103 Early Hints) come before the real one. */
    for (int interim = 0;; interim++) {
        rc = parse_head(buf, len, pos, body_max, now, &h, &end, cause);
        if (rc <= 0)
            goto short_or_bad;
        if (h.status >= 200)
            break;
        if (h.status == 101 || interim >= 8) {
            *cause = h.status == 101 ? "an unrequested protocol switch" : "too many 1xx replies";
            return -1;
        }
        pos = end;
    }
    pos = end;
    if (h.chunked && h.has_len) {
        *cause = "both Content-Length and Transfer-Encoding";
        return -1;
    }
    struct sm_http_reply out;
    memset(&out, 0, sizeof out);
    if (h.status == 204 || h.status == 304) {
        end = pos;
    } else if (h.chunked) {
        size_t blen = 0;
        rc = parse_chunked(buf, len, pos, body_max, NULL, &blen, &end, cause);
        if (rc <= 0)
            goto short_or_bad;
        set_body(&out, NULL, blen);
        if (blen)
            (void)parse_chunked(buf, len, pos, body_max, out.body, &blen, &end, cause);
    } else if (h.has_len) {
        if (len - pos < h.content_len) {
            rc = 0;
            *cause = "the body is cut short";
            goto short_or_bad;
        }
        end = pos + h.content_len;
        set_body(&out, buf + pos, h.content_len);
    } else {
        /* No length: the body runs to the end of the connection. */
        if (len - pos > body_max) {
            *cause = "the reply body is larger than the cap";
            return -1;
        }
        if (!eof)
            return 0;
        h.keep_alive = 0;
        end = len;
        set_body(&out, buf + pos, len - pos);
    }
    out.status = h.status;
    out.retry_after = h.retry_after;
    out.keep_alive = h.keep_alive;
    *r = out;
    *used = end;
    return 1;
short_or_bad:
    if (rc == 0 && eof) {
        *cause = "the connection closed before the reply was complete";
        return -1;
    }
    return rc;
}

void
sm_http_reply_done(struct sm_http_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- client */

/* One getaddrinfo_a request with everything it points to, in one allocation. */
struct lookup {
    struct gaicb cb;
    struct addrinfo hints;
    char port[8];
    char host[]; /* the URL's host */
};

enum conn_state { C_IDLE, C_RESOLVING, C_CONNECTING, C_SENDING, C_RECEIVING, C_DONE };

#define RESOLVE_POLL_MS 20 /* how often a name lookup in progress is looked at */

struct sm_http_client {
    struct sm_http_url url;
    char *host_header;
    long connect_ms, total_ms;
    size_t body_max;
    int fd;
    int reused;  /* fd was kept from a previous request */
    int retried; /* the request was already resent once on a new connection */
    enum conn_state state;
    struct addrinfo *ai, *ai_next;
    /* A name lookup runs on glibc's resolver thread (getaddrinfo_a), so a slow DNS
     * server never stalls the caller's loop (smagent's schedule). Allocated: a lookup
     * that cannot be cancelled still writes to it, and is then left to finish. */
    struct lookup *look;
    struct sm_buf req; /* request head + body; may hold a token: wiped */
    size_t req_off;
    struct sm_buf in; /* the reply, capped at the head and a chunked body_max, twice */
    double deadline, connect_deadline;
    char error[160];
};

static void
wipe_req(struct sm_http_client *c)
{
    sm_buf_reset(&c->req); /* wiped; the memory is kept for the next request */
    c->req_off = 0;
}

/* Drop the lookup in progress, if any. */
static void
resolve_drop(struct sm_http_client *c)
{
    if (!c->look)
        return;
    if (gai_cancel(&c->look->cb) == EAI_NOTCANCELED) {
        /* glibc's thread still owns it: leave it (a few bytes per stuck lookup). */
        c->look = NULL;
        return;
    }
    if (gai_error(&c->look->cb) == 0 && c->look->cb.ar_result)
        freeaddrinfo(c->look->cb.ar_result);
    free(c->look);
    c->look = NULL;
}

static void
close_conn(struct sm_http_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->reused = 0;
}

struct sm_http_client *
sm_http_client_new(const char *url, long connect_ms, long total_ms, size_t body_max, char **cause)
{
    struct sm_http_client *c = sm_xcalloc(1, sizeof *c);
    sm_buf_init(&c->req, SIZE_MAX, SM_BUF_WIPE);
    if (sm_http_url_parse(url, &c->url, cause) != SM_OK) {
        free(c);
        return NULL;
    }
    if (c->url.https) {
        sm_http_url_done(&c->url);
        free(c);
        *cause = sm_xstrdup("https is not handled by the plain HTTP client");
        return NULL;
    }
    int v6 = strchr(c->url.host, ':') != NULL;
    c->host_header =
        sm_xasprintf("%s%s%s%s%s", v6 ? "[" : "", c->url.host, v6 ? "]" : "",
                     c->url.port_given ? ":" : "", c->url.port_given ? c->url.port : "");
    c->connect_ms = connect_ms;
    c->total_ms = total_ms;
    c->body_max = body_max;
    /* Room for the head and a chunked body's framing. */
    sm_buf_init(&c->in,
                SM_HTTP_HEAD_MAX * 2 + (body_max > SIZE_MAX / 4 ? SIZE_MAX / 4 : body_max) * 2, 0);
    c->fd = -1;
    return c;
}

void
sm_http_client_free(struct sm_http_client *c)
{
    if (!c)
        return;
    close_conn(c);
    resolve_drop(c);
    sm_buf_done(&c->req); /* wiped */
    if (c->ai)
        freeaddrinfo(c->ai);
    sm_buf_done(&c->in);
    free(c->host_header);
    sm_http_url_done(&c->url);
    free(c);
}

int
sm_http_busy(const struct sm_http_client *c)
{
    return c->state != C_IDLE;
}

__attribute__((format(printf, 2, 3))) static void
fail(struct sm_http_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    close_conn(c);
    resolve_drop(c);
    c->state = C_DONE;
}

/* Connect to the next address of c->ai (non-blocking); on the last failure, fail. */
static void
connect_next(struct sm_http_client *c, int err)
{
    while (c->ai_next) {
        struct addrinfo *a = c->ai_next;
        c->ai_next = a->ai_next;
        int fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->fd = fd;
            c->state = C_CONNECTING;
            return;
        }
        err = errno;
        close(fd);
    }
    fail(c, "cannot connect to %s port %s: %s", c->url.host, c->url.port,
         strerror(err ? err : ECONNREFUSED));
}

/* Addresses in hand (c->ai): start connecting to the first. */
static void
connect_first(struct sm_http_client *c)
{
    c->ai_next = c->ai;
    connect_next(c, 0);
}

/* Open a new connection: an address is used at once; a name is looked up in the
 * background (C_RESOLVING, finished by step_resolve). The lookup counts against the
 * connect time-out. */
static void
open_conn(struct sm_http_client *c)
{
    close_conn(c);
    resolve_drop(c);
    if (c->ai)
        freeaddrinfo(c->ai);
    c->ai = NULL;
    c->connect_deadline = sm_mono_now() + (double)c->connect_ms / 1000;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST};
    if (getaddrinfo(c->url.host, c->url.port, &hints, &c->ai) == 0) {
        connect_first(c);
        return;
    }
    c->ai = NULL;
    size_t hl = strlen(c->url.host);
    struct lookup *l = sm_xcalloc(1, sizeof *l + hl + 1);
    memcpy(l->host, c->url.host, hl + 1);
    sm_strlcpy(l->port, c->url.port, sizeof l->port);
    l->hints.ai_socktype = SOCK_STREAM;
    l->hints.ai_flags = AI_NUMERICSERV;
    l->cb.ar_name = l->host;
    l->cb.ar_service = l->port;
    l->cb.ar_request = &l->hints;
    struct gaicb *list[1] = {&l->cb};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (rc != 0) {
        free(l);
        fail(c, "cannot resolve %s: %s", c->url.host, gai_strerror(rc));
        return;
    }
    c->look = l;
    c->state = C_RESOLVING;
}

/* The lookup of open_conn: connect when it has answered. */
static void
step_resolve(struct sm_http_client *c)
{
    int rc = gai_error(&c->look->cb);
    if (rc == EAI_INPROGRESS)
        return;
    if (rc != 0) {
        fail(c, "cannot resolve %s: %s", c->url.host, gai_strerror(rc));
        return;
    }
    c->ai = c->look->cb.ar_result;
    c->look->cb.ar_result = NULL;
    resolve_drop(c);
    connect_first(c);
}

/* Whether an idle kept-alive connection is still usable (nothing to read, no hang-up). */
static int
idle_alive(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

void
sm_http_start(struct sm_http_client *c, const char *method, const char *headers, const char *body,
              size_t body_len)
{
    wipe_req(c);
    const char *path = c->url.path;
    /* Room for a usual head and the body at once: one allocation, no wiped copies. */
    enum sm_rc rc = sm_buf_reserve(&c->req, body_len + 1024);
    if (rc == SM_OK)
        rc = sm_buf_addf(&c->req, "%s %s%s HTTP/1.1\r\nHost: %s\r\n%s", method,
                         path[0] == '/' ? "" : "/", path, c->host_header, headers ? headers : "");
    if (rc == SM_OK && (body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0))
        rc = sm_buf_addf(&c->req, "Content-Length: %zu\r\n", body_len);
    if (rc == SM_OK)
        rc = sm_buf_add(&c->req, "\r\n", 2);
    if (rc == SM_OK)
        rc = sm_buf_add(&c->req, body, body_len);
    if (rc != SM_OK)
        abort(); /* not reached: the request buffer has no cap */
    c->req_off = 0;
    sm_buf_reset(&c->in);
    c->retried = 0;
    c->error[0] = '\0';
    c->deadline = sm_mono_now() + (double)c->total_ms / 1000;
    if (c->fd >= 0 && !idle_alive(c->fd))
        close_conn(c);
    if (c->fd >= 0) {
        c->reused = 1;
        c->state = C_SENDING;
    } else {
        open_conn(c);
    }
}

/* The kept-alive connection failed before any reply byte: the server closed it while it
 * was idle. Send the request once more on a new connection. Returns 1 when it did. */
static int
retry_fresh(struct sm_http_client *c)
{
    if (!c->reused || c->retried || c->in.len > 0)
        return 0;
    c->retried = 1;
    c->req_off = 0;
    open_conn(c);
    return 1;
}

static void
step_connect(struct sm_http_client *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err) {
        close_conn(c);
        connect_next(c, err);
        return;
    }
    c->state = C_SENDING;
}

static void
step_send(struct sm_http_client *c)
{
    while (c->req_off < c->req.len) {
        ssize_t n = send(c->fd, c->req.data + c->req_off, c->req.len - c->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            int err = errno;
            if (!retry_fresh(c))
                fail(c, "sending the request failed: %s", strerror(err));
            return;
        }
        c->req_off += (size_t)n;
    }
    c->state = C_RECEIVING;
}

static void
step_recv(struct sm_http_client *c, struct sm_http_reply *r)
{
    for (;;) {
        /* Read at least 4 KiB at a time; fewer than that left under the cap is too big. */
        if (sm_buf_reserve(&c->in, 4096) != SM_OK) {
            fail(c, "%s", "the reply is larger than the cap");
            return;
        }
        ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.alloc - c->in.len - 1, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n < 0) {
            int err = errno;
            if (!retry_fresh(c))
                fail(c, "receiving the reply failed: %s", strerror(err));
            return;
        }
        if (n == 0 && retry_fresh(c))
            return;
        if (n == 0 && c->in.len == 0) {
            fail(c, "the server closed the connection without a reply");
            return;
        }
        sm_buf_added(&c->in, (size_t)n);
        const char *why = "";
        size_t used = 0;
        int rc = sm_http_reply_parse(c->in.data, c->in.len, n == 0, c->body_max, time(NULL), r,
                                     &used, &why);
        if (rc == 0)
            continue;
        if (rc < 0) {
            fail(c, "malformed reply: %s", why);
            return;
        }
        /* No pipelining: bytes after the reply mean the connection is out of step. */
        if (!r->keep_alive || n == 0 || used != c->in.len)
            close_conn(c);
        c->reused = 0;
        c->state = C_DONE;
        return;
    }
}

int
sm_http_wait(struct sm_http_client *c, long timeout_ms, int wake_fd, struct sm_http_reply *r)
{
    if (c->state == C_IDLE)
        return 0;
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
    double until = sm_mono_now() + (double)(timeout_ms > 0 ? timeout_ms : 0) / 1000;
    int polled = 0;
    while (c->state != C_DONE) {
        double now = sm_mono_now();
        int connecting = c->state == C_RESOLVING || c->state == C_CONNECTING;
        double limit =
            connecting && c->connect_deadline < c->deadline ? c->connect_deadline : c->deadline;
        if (now >= limit) {
            const char *what = c->state == C_RESOLVING    ? "looking up the name"
                               : c->state == C_CONNECTING ? "connecting"
                                                          : "waiting for the reply";
            char msg[sizeof c->error];
            snprintf(msg, sizeof msg, "timed out %s (%s port %s)", what, c->url.host, c->url.port);
            fail(c, "%s", msg);
            break;
        }
        if (c->state == C_RESOLVING) {
            step_resolve(c);
            if (c->state != C_RESOLVING)
                continue;
        }
        if (polled && now >= until)
            return 0;
        /* While the name is looked up there is no socket yet (fd -1: poll skips it):
         * wait for the wake descriptor, looking at the lookup every RESOLVE_POLL_MS. */
        struct pollfd p[2] = {{.fd = c->fd, .events = c->state == C_RECEIVING ? POLLIN : POLLOUT},
                              {.fd = wake_fd, .events = POLLIN}};
        double stop = until < limit ? until : limit;
        int ms = (int)((stop - now) * 1000 + 0.999);
        if (ms < 0)
            ms = 0;
        if (c->state == C_RESOLVING && ms > RESOLVE_POLL_MS)
            ms = RESOLVE_POLL_MS;
        int n = poll(p, wake_fd >= 0 ? 2 : 1, ms);
        polled = 1;
        if (n < 0 && errno == EINTR)
            return 0;
        if (n > 0 && p[0].revents) {
            if (c->state == C_CONNECTING)
                step_connect(c);
            if (c->state == C_SENDING)
                step_send(c);
            else if (c->state == C_RECEIVING)
                step_recv(c, r);
        }
        if (n > 0 && wake_fd >= 0 && p[1].revents && c->state != C_DONE)
            return 0;
    }
    wipe_req(c);
    if (r->status == 0)
        snprintf(r->error, sizeof r->error, "%s", c->error);
    c->state = C_IDLE;
    return 1;
}

void
sm_http_abort(struct sm_http_client *c)
{
    if (c->state == C_IDLE)
        return;
    close_conn(c);
    resolve_drop(c);
    wipe_req(c);
    c->state = C_IDLE;
}

void
sm_http_request(struct sm_http_client *c, const char *method, const char *headers, const char *body,
                size_t body_len, struct sm_http_reply *r)
{
    sm_http_start(c, method, headers, body, body_len);
    while (!sm_http_wait(c, c->total_ms + 1000, -1, r))
        ;
}
