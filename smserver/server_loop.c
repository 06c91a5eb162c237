/* server_loop.c: the HTTP side of the event loop: the libwebsockets callback, one
 * request at a time per connection (no pipelining, below), jobs out to the pools and
 * their replies back from the done queue. */
#include "config.h"

#include "server_int.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ event loop */

/* Pipelining. HTTP/1.1 lets a client send its next request before the reply to this
 * one; bytes read past the end of a request wait in libwebsockets' buffer, and 4.1
 * mishandles them: it hands them back on every turn of the loop until the transaction
 * completes (the loop spun at full CPU, deaf to signals, while a job made the reply),
 * parsing them replaces the connection's pss (a reply was lost), and a request with a
 * body parsed from there gets freed memory as its body. So smserver does not pipeline:
 *  - from the moment a request is complete until its reply is written, reading is
 *    paused (hold_rx), whether a job makes the reply or the callback did (flush_reply);
 *  - every reply is written from the done queue (drain_done): if bytes then wait in
 *    the buffer, the reply says "Connection: close" and the connection is ended at
 *    once (close_after_reply), so they are never parsed; otherwise the transaction
 *    completes and the connection is kept alive. 4.1 gives a paused HTTP/1 connection
 *    no writable callback, so the reply is written there and then.
 * Event loop thread. */
static void
hold_rx(struct lws *wsi, struct pss *pss)
{
    if (!pss->rx_held) {
        pss->rx_held = 1;
        lws_rx_flow_control(wsi, 0);
    }
}

static void
release_rx(struct lws *wsi, struct pss *pss)
{
    if (pss->rx_held) {
        pss->rx_held = 0;
        lws_rx_flow_control(wsi, 1);
    }
}

/* Queue the request held by pss. */
void
dispatch(struct server *srv, struct lws *wsi, struct pss *pss, const struct route *r)
{
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->route = r;
    j->req = pss->req;
    pss->req = NULL;
    j->wsi = wsi;
    j->pss = pss;
    if (pool_push(r->pool == POOL_HASH ? &srv->hash : &srv->work, j) != SM_OK) {
        job_free(j);
        reply_now(wsi, pss, SM_EBUSY, "server busy, try again later");
        pss->resp.retry_after = 1;
        return;
    }
    pss->job = j;
    srv->inflight++;
    hold_rx(wsi, pss);
}

/* After a transaction is completed and the connection kept alive: until libwebsockets
 * has parsed the next request's headers (it then decides keep-alive anew), the
 * connection counts as "close", so that a reply libwebsockets makes by itself before
 * that (a refused Upgrade) ends the connection instead of going on to parse what
 * follows from its buffer (pipelining, above; fuzz_http). 4.1 offers no setter: writing
 * a header block without a length, into a scratch buffer, has this side effect. */
void
close_until_next_request(struct lws *wsi)
{
    uint8_t buf[LWS_PRE + 2048], *p = buf + LWS_PRE;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, NULL, LWS_ILLEGAL_HTTP_CONTENT_LEN, &p,
                                    buf + sizeof buf))
        sm_log(SM_LOG_WARN, "http: could not mark a kept-alive connection");
}

/* Whether a connection has bytes libwebsockets read but has not parsed, waiting for it
 * to serve them without a network event ("forced service"). */
static int
leftovers_waiting(struct server *srv)
{
    return lws_service_adjust_timeout(srv->ctx, 1, 0) == 0;
}

/* End a connection whose reply has been written, here and now: nothing behind the
 * request gets parsed. A reply the socket did not take whole waits in libwebsockets'
 * buffer; the connection then stays, reading ignored, until that is sent (or for 5 s)
 * and closes after it. Reading must not be paused for that wait: 4.1 serves a paused
 * HTTP/1 connection no POLLOUT, so the rest of the reply was never sent, and a client
 * that reset such a connection kept it open for the 5 s (fuzz_http). Do not use wsi
 * afterwards. */
static void
close_after_reply(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
}

/* Take completed jobs and write their replies. Event loop thread. */
void
drain_done(struct server *srv)
{
    struct job_queue q = STAILQ_HEAD_INITIALIZER(q);
    pthread_mutex_lock(&srv->done_mu);
    STAILQ_CONCAT(&q, &srv->done);
    pthread_mutex_unlock(&srv->done_mu);
    int any = !STAILQ_EMPTY(&q);
    struct job *j;
    while ((j = STAILQ_FIRST(&q)) != NULL) {
        STAILQ_REMOVE_HEAD(&q, link);
        if (!j->internal)
            srv->inflight--;
        events_apply(srv, j);
        if (!j->orphan && !j->internal) {
            struct pss *pss = j->pss;
            pss->job = NULL;
            resp_done(&pss->resp);
            pss->resp = j->resp;
            memset(&j->resp, 0, sizeof j->resp);
            pss->have_resp = 1;
            /* Written now, before the next request is parsed (hold_rx). Reading
             * resumes first (it must, for the transaction to complete, and for the
             * rest of a large reply to be sent). Bytes sent behind this request
             * may wait in libwebsockets' buffer (pipelining): 4.1 cannot parse a
             * request with a body from there safely (its callback is handed freed
             * memory), so then the connection closes after this reply. Asked before
             * and after reading resumes, to tell this connection's bytes from
             * another's; another's closes this one too, which costs a reconnect. */
            int others = leftovers_waiting(srv);
            release_rx(j->wsi, pss);
            if (others || leftovers_waiting(srv))
                pss->resp.close = 1;
            if (write_reply(j->wsi, pss) < 0)
                close_after_reply(j->wsi);
        }
        job_free(j);
    }
    if (any && srv->hub)
        stream_kick(srv->hub);
}

void
pss_cleanup(struct pss *pss)
{
    if (pss->job) {
        pss->job->orphan = 1;
        pss->job = NULL;
    }
    req_free(pss->req);
    pss->req = NULL;
    resp_done(&pss->resp);
    pss->have_resp = 0;
    pss->body_done = 0;
    pss->body_sent = 0;
    pss->method[0] = pss->path[0] = '\0';
    pss->started = sm_mono_now();
}

/* Count an HTTP connection opening (+1) or closing (-1). Event loop thread. */
void
stats_http_open(struct server *srv, int d)
{
    pthread_mutex_lock(&srv->stats.mu);
    srv->stats.http_open += d;
    pthread_mutex_unlock(&srv->stats.mu);
}

/* A reply made during a callback goes out through the done queue, as a job's does, so
 * that it gets the same check for pipelined bytes (drain_done). */
static void
flush_reply(struct server *srv, struct lws *wsi, struct pss *pss)
{
    if (!pss->have_resp || pss->job)
        return;
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->resp = pss->resp;
    memset(&pss->resp, 0, sizeof pss->resp);
    pss->have_resp = 0;
    j->wsi = wsi;
    j->pss = pss;
    pss->job = j;
    srv->inflight++;
    hold_rx(wsi, pss);
    done_push(srv, j);
}

int
callback_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct pss *pss = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct server *srv = ctx ? lws_context_user(ctx) : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        /* The reply before this request has not all gone out (libwebsockets still
         * holds some, or the socket is full): the client sent this request without
         * reading it, which is pipelining. Close once that reply is sent (4.1 then
         * ignores what it reads), rather than parse requests while one is sending:
         * its rest was stuck while their jobs ran, the loop spinning (fuzz_http). */
        if (lws_send_pipe_choked(wsi))
            return -1;
        if (on_http(srv, wsi, pss))
            return -1;
        flush_reply(srv, wsi, pss);
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        if (!pss->req || pss->discard || pss->have_resp || pss->job)
            return 0;
        if (req_append(pss->req, in, len) != SM_OK) {
            pss->discard = 1;
            reply_now(wsi, pss, SM_ETOOBIG, "body: larger than 1 MiB");
            pss->resp.close = 1;
            flush_reply(srv, wsi, pss);
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
        /* libwebsockets 4.1 calls again when bytes follow a body it has delivered
         * and the transaction is not completed (a pipelined request after a body
         * parsed from its buffer, or after an HTTP/1.0 request), and would do so
         * forever, inside one lws_service. The only way out is to drop the
         * connection (hold_rx). */
        if (pss->body_done)
            return -1;
        pss->body_done = 1;
        if (!pss->req || pss->discard || pss->have_resp || pss->job)
            return 0;
        int wrong = 0;
        char route_path[HTTP_PATH_MAX];
        sm_strlcpy(route_path, pss->req->path, sizeof route_path);
        size_t pl = strlen(route_path);
        if (pl > 1 && route_path[pl - 1] == '/')
            route_path[pl - 1] = '\0';
        const struct route *r =
            http_route_find(pss->req->method, route_path, &pss->req->id, &wrong);
        if (r)
            dispatch(srv, wsi, pss, r);
        flush_reply(srv, wsi, pss);
        return 0;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return 0; /* replies are written from drain_done, never on a writable callback */
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        /* Pipelined bytes behind a file: close rather than parse them (drain_done). */
        if (!srv || leftovers_waiting(srv) || lws_http_transaction_completed(wsi))
            return -1;
        close_until_next_request(wsi);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss) {
            pss_cleanup(pss);
            if (pss->counted && srv) {
                pss->counted = 0;
                stats_http_open(srv, -1);
            }
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv)
            drain_done(srv);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
