/* server_reply.c: writing a reply (status, headers, body) on the event loop. */
#include "config.h"

#include "server_int.h"

#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

void
reply_now(struct lws *wsi, struct pss *pss, enum sm_rc rc, const char *detail)
{
    resp_done(&pss->resp);
    http_reply_error(&pss->resp, rc, detail);
    pss->have_resp = 1;
}

int
write_reply(struct lws *wsi, struct pss *pss)
{
    uint8_t hbuf[LWS_PRE + 2048];
    uint8_t *start = hbuf + LWS_PRE, *p = start, *end = hbuf + sizeof hbuf - 1;
    struct resp *r = &pss->resp;
    pss->have_resp = 0;
    /* A reply before the whole body came: libwebsockets would read and drop the rest
     * and complete the transaction itself, past the check for pipelined bytes
     * (drain_done); close instead. */
    if (pss->body_sent && !pss->body_done)
        r->close = 1;
    if (sm_log_get_level() >= SM_LOG_DEBUG)
        sm_log(SM_LOG_DEBUG, "%s %s %d (%.1f ms)", pss->method[0] ? pss->method : "-",
               pss->path[0] ? pss->path : "-", r->status, (sm_mono_now() - pss->started) * 1e3);
    if (lws_add_http_common_headers(wsi, (unsigned int)r->status,
                                    r->content_type ? r->content_type : "application/json",
                                    (lws_filepos_t)r->len, &p, end) ||
        lws_add_http_header_by_name(
            wsi, (const uint8_t *)"cache-control:", (const uint8_t *)"no-store", 8, &p, end))
        return -1;
    if (r->retry_after > 0) {
        char ra[16];
        int n = snprintf(ra, sizeof ra, "%d", r->retry_after);
        if (lws_add_http_header_by_name(wsi, (const uint8_t *)"retry-after:", (uint8_t *)ra, n, &p,
                                        end))
            return -1;
    }
    if (r->www_authenticate &&
        lws_add_http_header_by_name(
            wsi, (const uint8_t *)"www-authenticate:", (const uint8_t *)"Bearer", 6, &p, end))
        return -1;
    if (r->status == 405 && lws_add_http_header_by_name(wsi, (const uint8_t *)"allow:",
                                                        (const uint8_t *)"GET, HEAD", 9, &p, end))
        return -1;
    if (r->close && lws_add_http_header_by_name(
                        wsi, (const uint8_t *)"connection:", (const uint8_t *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (r->len) {
        uint8_t *body = sm_xmalloc(LWS_PRE + r->len);
        memcpy(body + LWS_PRE, r->body, r->len);
        int n = lws_write(wsi, body + LWS_PRE, r->len, LWS_WRITE_HTTP_FINAL);
        sodium_memzero(body, LWS_PRE + r->len);
        free(body);
        if (n < 0)
            return -1;
    }
    int close = r->close;
    resp_done(r);
    if (close)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    close_until_next_request(wsi);
    return 0;
}
