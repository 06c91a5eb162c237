/* server_request.c: reading a request on the event loop: method, path, query,
 * headers and the announced body, checked against the caps; then a route's job, or a
 * file under --www. */
#include "config.h"

#include "server_int.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "clock.h"
#include "http.h"
#include "xmalloc.h"

static const struct {
    enum lws_token_indexes tok;
    enum http_method method;
} method_tokens[] = {
    {WSI_TOKEN_GET_URI, HTTP_GET},         {WSI_TOKEN_POST_URI, HTTP_POST},
    {WSI_TOKEN_PUT_URI, HTTP_PUT},         {WSI_TOKEN_PATCH_URI, HTTP_PATCH},
    {WSI_TOKEN_DELETE_URI, HTTP_DELETE},   {WSI_TOKEN_HEAD_URI, HTTP_HEAD},
    {WSI_TOKEN_OPTIONS_URI, HTTP_OPTIONS},
};

static const struct {
    const char *ext;
    const char *mime;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

/* Serve a file under --www (GET and HEAD only). */
static int
serve_static(struct server *srv, struct lws *wsi, struct pss *pss, enum http_method m,
             const char *path)
{
    if (m != HTTP_GET && m != HTTP_HEAD) {
        reply_now(wsi, pss, SM_EINVAL, "Method Not Allowed");
        pss->resp.status = 405;
        pss->resp.close = 1; /* a body may follow; do not read it */
        return 0;
    }
    /* No dot segments, no hidden files, no backslashes: refuse before touching disk. */
    if (strstr(path, "/.") || strchr(path, '\\') || path[0] != '/') {
        reply_now(wsi, pss, SM_ENOTFOUND, "Not Found");
        return 0;
    }
    char want[PATH_MAX + HTTP_PATH_MAX + 16], real[PATH_MAX];
    int wn = snprintf(want, sizeof want, "%s%s%s", srv->www_real, path,
                      path[strlen(path) - 1] == '/' ? "index.html" : "");
    if (wn < 0 || (size_t)wn >= PATH_MAX) {
        reply_now(wsi, pss, SM_ENOTFOUND, "Not Found");
        return 0;
    }
    size_t wl = strlen(srv->www_real);
    struct stat sb;
    if (!realpath(want, real) || strncmp(real, srv->www_real, wl) != 0 || real[wl] != '/' ||
        stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        reply_now(wsi, pss, SM_ENOTFOUND, "Not Found");
        return 0;
    }
    const char *mime = "application/octet-stream";
    const char *dot = strrchr(real, '.');
    for (size_t i = 0; dot && i < sizeof mime_types / sizeof mime_types[0]; i++)
        if (strcmp(dot, mime_types[i].ext) == 0)
            mime = mime_types[i].mime;
    int n = lws_serve_http_file(wsi, real, mime, NULL, 0);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* Copy header tok into out (empty when absent or too long). */
static void
copy_hdr(struct lws *wsi, enum lws_token_indexes tok, char *out, size_t outsz)
{
    out[0] = '\0';
    int len = lws_hdr_total_length(wsi, tok);
    if (len <= 0 || (size_t)len >= outsz || lws_hdr_copy(wsi, out, (int)outsz, tok) < 0)
        out[0] = '\0';
}

/* Behind a trusted load balancer the client is the one its X-Forwarded-For names. -1
 * when that header is too long or not a list of addresses. */
static int
forwarded_peer(struct lws *wsi, const struct sm_netallow *trusted, struct req *req)
{
    char xff[HTTP_XFF_MAX], peer[sizeof req->peer];
    xff[0] = '\0';
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if (len > 0 && ((size_t)len >= sizeof xff ||
                    lws_hdr_copy(wsi, xff, (int)sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) < 0))
        return -1;
    sm_strlcpy(peer, req->peer, sizeof peer);
    return http_forwarded_client(peer, xff, trusted, req->peer, sizeof req->peer) == SM_OK ? 0 : -1;
}

int
on_http(struct server *srv, struct lws *wsi, struct pss *pss)
{
    pss_cleanup(pss);
    if (!pss->counted) {
        pss->counted = 1;
        stats_http_open(srv, 1);
    }
    if (server_stop) {
        /* Shutting down: finish what is in flight, take nothing new. */
        reply_now(wsi, pss, SM_EUNAVAIL, "server shutting down");
        pss->resp.close = 1;
        return 0;
    }
    /* Only websocket upgrades exist here; refuse h2c and anything else. */
    char up[64];
    copy_hdr(wsi, WSI_TOKEN_UPGRADE, up, sizeof up);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) > 0 && strcasecmp(up, "websocket") != 0) {
        reply_now(wsi, pss, SM_EINVAL, "Upgrade: only websocket is supported");
        pss->resp.close = 1;
        return 0;
    }
    struct req *req = sm_xcalloc(1, sizeof *req);
    sm_buf_init(&req->body, HTTP_BODY_MAX, SM_BUF_WIPE);
    req->method = HTTP_OTHER;
    req->content_length = -1;
    for (size_t i = 0; i < sizeof method_tokens / sizeof method_tokens[0]; i++) {
        if (lws_hdr_total_length(wsi, method_tokens[i].tok) > 0) {
            req->method = method_tokens[i].method;
            copy_hdr(wsi, method_tokens[i].tok, req->path, sizeof req->path);
            break;
        }
    }
    pss->req = req;
    /* Query arguments, each decoded by libwebsockets, kept NUL-separated. */
    size_t qlen = 0;
    for (int i = 0; lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0; i++) {
        int n = lws_hdr_copy_fragment(wsi, req->query + qlen, (int)(sizeof req->query - qlen),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0 && lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) <= 0)
            break;
        if (n < 0 || req->nargs == HTTP_QUERY_ARGS) {
            req->query_bad = 1;
            break;
        }
        req->args[req->nargs++] = req->query + qlen;
        qlen += (size_t)n + 1;
        if (qlen >= sizeof req->query) {
            req->query_bad = 1;
            break;
        }
    }
    static const char *const method_names[] = {"GET",    "POST", "PUT",     "PATCH",
                                               "DELETE", "HEAD", "OPTIONS", "OTHER"};
    sm_strlcpy(pss->method, method_names[req->method], sizeof pss->method);
    sm_strlcpy(pss->path, req->path, sizeof pss->path);
    pss->started = sm_mono_now();
    if (!req->path[0]) {
        reply_now(wsi, pss, SM_EPARSE, "bad request line");
        pss->resp.close = 1;
        return 0;
    }
    /* "/agents/" is "/agents". */
    size_t pl = strlen(req->path);
    char route_path[HTTP_PATH_MAX];
    sm_strlcpy(route_path, req->path, sizeof route_path);
    if (pl > 1 && route_path[pl - 1] == '/')
        route_path[pl - 1] = '\0';
    int wrong_method = 0;
    const struct route *r = http_route_find(req->method, route_path, &req->id, &wrong_method);
    if (!r) {
        if (wrong_method) {
            reply_now(wsi, pss, SM_EINVAL, "Method Not Allowed");
            pss->resp.status = 405;
            return 0;
        }
        return serve_static(srv, wsi, pss, req->method, req->path);
    }
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, req->content_type, sizeof req->content_type);
    copy_hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, req->authorization, sizeof req->authorization);
    int tl = lws_hdr_custom_length(wsi, "x-agent-token:", 14);
    if (tl > 0 && (size_t)tl < sizeof req->agent_token &&
        lws_hdr_custom_copy(wsi, req->agent_token, (int)sizeof req->agent_token,
                            "x-agent-token:", 14) < 0)
        req->agent_token[0] = '\0';
    lws_get_peer_simple(wsi, req->peer, sizeof req->peer);
    if (srv->cfg->trusted_proxies && forwarded_peer(wsi, srv->cfg->trusted_proxies, req) != 0) {
        reply_now(wsi, pss, SM_EPARSE,
                  "X-Forwarded-For: expected numeric addresses separated by commas, at most "
                  "511 bytes");
        pss->resp.close = 1;
        return 0;
    }
    char cl[32];
    copy_hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl);
    if (cl[0]) {
        char *end;
        errno = 0;
        long v = strtol(cl, &end, 10);
        if (*end || errno || v < 0) {
            reply_now(wsi, pss, SM_EPARSE, "Content-Length: invalid");
            pss->resp.close = 1;
            return 0;
        }
        req->content_length = v;
        pss->body_sent = v > 0;
        /* One allocation for the announced body instead of doublings. */
        if (v > 0 && v <= HTTP_BODY_MAX && sm_buf_reserve(&req->body, (size_t)v) != SM_OK)
            abort(); /* not reached: v is within the cap */
        if (v > HTTP_BODY_MAX) {
            reply_now(wsi, pss, SM_ETOOBIG, "body: larger than 1 MiB");
            pss->resp.close = 1;
            return 0;
        }
    }
    char te[32];
    copy_hdr(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof te);
    if (te[0]) {
        /* Request bodies need a Content-Length (the cap is checked before reading). */
        reply_now(wsi, pss, SM_EINVAL, "Content-Length required");
        pss->resp.status = 411;
        pss->resp.close = 1;
        return 0;
    }
    if ((req->method == HTTP_POST || req->method == HTTP_PUT) && req->content_length > 0)
        return 0; /* the body follows */
    dispatch(srv, wsi, pss, r);
    return 0;
}
