/* http_client.h: a small HTTP/1.1 client for http:// URLs (smagent's sender; smtop may use it).
 *
 * Why it exists: libcurl maps ~35 shared libraries (OpenSSL, GnuTLS, krb5, ldap, ssh2...)
 * that cost an agent posting one small JSON document a second about 6 MiB of RSS. This
 * client speaks just what an agent and a dashboard need: one request at a time over one
 * kept-alive connection (reopened once when the server has closed an idle one), connect
 * and total time-outs, Content-Length and chunked replies, Retry-After, no redirects (a
 * 3xx is a reply like any other), IPv4 and IPv6, host names looked up on glibc's resolver
 * thread (getaddrinfo_a) so that a slow DNS server never stalls the caller's loop, the
 * lookup counting against the connect time-out. TLS is not here: https stays with
 * libcurl, loaded only when asked for (see smagent/sender.c).
 *
 * The reply parser is a pure function over bytes (sm_http_reply_parse) so that the unit
 * tests and the fuzzer drive it without sockets. Every size from the peer is capped. */
#ifndef SM_LIB_HTTP_CLIENT_H
#define SM_LIB_HTTP_CLIENT_H

#include <stddef.h>
#include <time.h>

#include "rc.h"

#define SM_HTTP_HEAD_MAX 16384          /* status line + headers (and chunked trailers) */
#define SM_HTTP_RETRY_AFTER_MAX 86400.0 /* a longer Retry-After is clamped to this */

/* The value of the hex digit c, or -1 (chunk sizes here, %XX in smserver's URLs). */
int sm_http_hexval(char c);

/* A parsed http:// or https:// URL. */
struct sm_http_url {
    int https;
    char *host; /* without the brackets of an IPv6 literal */
    char *port; /* digits; "80" or "443" when the URL has none */
    int port_given;
    char *path; /* path and query, "" when the URL has none; never the fragment */
};

/* Parse url (scheme http or https in any case, host, optional port, path). A user or
 * password, blanks, control characters, a bad port or any other scheme are refused with
 * an allocated *cause. sm_http_url_done frees the parts (safe on a zeroed struct). */
enum sm_rc sm_http_url_parse(const char *url, struct sm_http_url *u, char **cause) SM_MUST_CHECK;
void sm_http_url_done(struct sm_http_url *u);

/* A reply. */
struct sm_http_reply {
    int status;         /* 100..599; 0 when no reply came */
    double retry_after; /* seconds from Retry-After (delay or HTTP-date); < 0 when absent */
    int keep_alive;     /* the connection may carry another request */
    char *body;         /* NUL-terminated, owned; NULL when empty */
    size_t body_len;
    char error[160]; /* status 0: why (connect, time-out, reset, malformed reply) */
};

/* Parse the reply at the start of buf[0..len) (interim 1xx replies are skipped). eof:
 * the peer has closed, nothing more will come. now: the clock that an HTTP-date
 * Retry-After is measured against. A body longer than body_max is refused.
 * Returns 1 when a whole reply is there (*r filled, its body allocated; *used = bytes it
 * took), 0 when more bytes are needed (never when eof), -1 when the bytes are not a
 * valid reply or exceed a cap (*cause: a static string). Touches *r only on 1. */
int sm_http_reply_parse(const char *buf, size_t len, int eof, size_t body_max, time_t now,
                        struct sm_http_reply *r, size_t *used, const char **cause);
/* Free the body of r and zero it. */
void sm_http_reply_done(struct sm_http_reply *r);

struct sm_http_client;

/* A client for an http:// URL (https is refused: *cause). connect_ms caps the connect
 * phase, total_ms a whole request; body_max caps a reply body. */
struct sm_http_client *sm_http_client_new(const char *url, long connect_ms, long total_ms,
                                          size_t body_max, char **cause);
/* Close the connection and free; the request buffer (it may hold a token) is wiped. NULL
 * is a no-op. */
void sm_http_client_free(struct sm_http_client *c);

/* Start a request: method, the URL's path, Host, Content-Length (when body_len > 0 or
 * method is POST), then headers (borrowed; zero or more "Name: value\r\n" lines, may be
 * NULL) and body (copied). Nothing is sent before sm_http_wait. Must not be busy. */
void sm_http_start(struct sm_http_client *c, const char *method, const char *headers,
                   const char *body, size_t body_len);
/* 1 while a request is in flight. */
int sm_http_busy(const struct sm_http_client *c);
/* Drive the request for up to timeout_ms (0: only what can be done now), returning early
 * when wake_fd (>= 0) becomes readable or a signal arrives. Returns 1 when the request
 * ended and fills *r (status 0 with r->error when no valid reply came; the caller frees
 * it with sm_http_reply_done), 0 otherwise. */
int sm_http_wait(struct sm_http_client *c, long timeout_ms, int wake_fd, struct sm_http_reply *r);
/* Abandon the request in flight and close the connection. */
void sm_http_abort(struct sm_http_client *c);
/* Blocking: start a request and wait for its end (time-outs apply). */
void sm_http_request(struct sm_http_client *c, const char *method, const char *headers,
                     const char *body, size_t body_len, struct sm_http_reply *r);

#endif
