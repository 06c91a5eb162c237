/* client.c: smtop's network side in server mode, on the libwebsockets loop of smtop's
 * one thread (see client.h): the client object, the server's URL and address, the
 * protocols, and the life cycle. */
#include "config.h"

#include "client.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_events.h"
#include "client_http.h"
#include "client_impl.h"
#include "client_rest.h"
#include "client_ws.h"
#include "clock.h"
#include "loop.h"
#include "xmalloc.h"

/* Where to connect: the learnt address, else the name from the URL. */
static const char *
connect_address(const struct client *c)
{
    return c->addr[0] ? c->addr : c->host;
}

/* The connect info every connection to the server shares (REST and the stream), for
 * protocol proto; the caller adds path, method and opaque data. */
void
client_connect_info(const struct client *c, struct lws_client_connect_info *ci, const char *proto)
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

void
client_connect_why(struct lws *wsi, const void *in, char *why, size_t size)
{
    char tls[128];
    if (loop_tls_failure(lws_get_context(wsi), tls, sizeof tls)) {
        /* An unknown issuer is most often a private CA the user has not named. */
        int ca = strstr(tls, "issuer") != NULL || strstr(tls, "self-signed") != NULL ||
                 strstr(tls, "self signed") != NULL;
        snprintf(why, size, "cannot connect: TLS: the server's certificate is refused: %s%s", tls,
                 ca ? " (a private CA needs --ca-file)" : "");
    } else
        snprintf(why, size, "cannot connect: %.120s", in ? (const char *)in : "error");
}

/* Learn the server's numeric address from a connection that worked. */
void
client_learn_address(struct client *c, struct lws *wsi)
{
    char a[sizeof c->addr];
    if (c->addr[0] == '\0' && lws_get_peer_simple(wsi, a, sizeof a) != NULL && a[0])
        snprintf(c->addr, sizeof c->addr, "%s", a);
}

void
client_wipe_free(char *s)
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

static const struct lws_protocols client_protocol_list[] = {
    {.name = CLIENT_PROTO_STREAM, .callback = ws_callback, .rx_buffer_size = 65536},
    {.name = CLIENT_PROTO_HTTP, .callback = http_callback},
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
    STAILQ_INIT(&c->events);
    STAILQ_INIT(&c->reqs);
    STAILQ_INIT(&c->done);
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
    lws_sul_schedule(c->ctx, 0, &c->sul_retry, ws_connect, 1);
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
    struct req *r;
    while ((r = STAILQ_FIRST(&c->reqs)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->reqs, link);
        req_free(r);
    }
    while ((r = STAILQ_FIRST(&c->done)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->done, link);
        req_free(r);
    }
    struct ev_node *n;
    while ((n = STAILQ_FIRST(&c->events)) != NULL) {
        STAILQ_REMOVE_HEAD(&c->events, link);
        event_done(&n->ev);
        free(n);
    }
    client_wipe_free(c->access);
    free(c->login_why);
    sm_buf_done(&c->rx);
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
