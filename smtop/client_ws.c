/* client_ws.c: the live stream's WebSocket (see client_ws.h). */
#include "config.h"

#include "client_ws.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_events.h"
#include "client_fleet.h"
#include "client_impl.h"
#include "client_rest.h"
#include "xmalloc.h"

#define CLIENT_MSG_MAX (32u << 20) /* largest stream message accepted (a snapshot) */
#define CLIENT_BACKOFF_BASE 0.5    /* first reconnect delay, seconds */
#define CLIENT_BACKOFF_CAP 30.0    /* longest reconnect delay, seconds */

/* Schedule the next connection attempt and tell the UI. */
static void
schedule_retry(struct client *c, const char *why)
{
    c->stream_live = 0;
    if (c->stop || c->auth_dead)
        return;
    double r = (double)rand_r(&c->seed) / RAND_MAX;
    double delay = client_backoff(c->attempts++, CLIENT_BACKOFF_BASE, CLIENT_BACKOFF_CAP, r);
    event_state(c, CLIENT_RECONNECTING, delay, why);
    lws_sul_schedule(c->ctx, 0, &c->sul_retry, ws_connect, (lws_usec_t)(delay * 1e6));
}

void
ws_connect(lws_sorted_usec_list_t *sul)
{
    struct client *c = lws_container_of(sul, struct client, sul_retry);
    if (c->stop || c->wsi)
        return;
    struct lws_client_connect_info ci;
    static const lws_retry_bo_t idle = {
        .secs_since_valid_ping = 20,   /* quiet for this long: ping */
        .secs_since_valid_hangup = 45, /* and no pong: the network is gone, reconnect */
    };
    client_connect_info(c, &ci, CLIENT_PROTO_STREAM);
    ci.path = c->ws_path;
    ci.retry_and_idle_policy = &idle;
    ci.opaque_user_data = c;
    /* Started without a session (the server was away at start): wait for the refresh
     * to bring a token (token_renewed connects then). */
    if (c->access == NULL) {
        c->waiting_token = 1;
        schedule_retry(c, c->login_why ? c->login_why : "logging in");
        return;
    }
    c->waiting_token = 0;
    c->close_why[0] = '\0';
    sm_buf_done(&c->rx); /* zeroed by client_new, or a connection before */
    sm_buf_init(&c->rx, CLIENT_MSG_MAX, 0);
    c->rx_toobig = 0;
    event_state(c, CLIENT_CONNECTING, 0, NULL);
    c->in_connect = 1;
    c->connect_failed = 0;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    c->in_connect = 0;
    if (c->connect_failed || wsi == NULL) {
        if (wsi && !c->connect_failed)
            lws_set_opaque_user_data(wsi, NULL);
        c->wsi = NULL;
        schedule_retry(c, c->connect_failed ? c->connect_why : "cannot start a connection");
        return;
    }
    c->wsi = wsi;
}

/* Send the auth message or the subscription (one per writeable callback). */
static int
stream_write(struct client *c, struct lws *wsi)
{
    char *text = NULL;
    if (c->send_auth) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "auth");
        cJSON_AddStringToObject(o, "token", c->access ? c->access : "");
        c->sent_gen = c->access_gen;
        text = cJSON_PrintUnformatted(o);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "token");
        explicit_bzero(t->valuestring, strlen(t->valuestring));
        cJSON_Delete(o);
        c->send_auth = 0;
    } else if (c->send_subscribe) {
        text = sm_xstrdup("{\"type\":\"subscribe\",\"agents\":\"all\"}");
        c->send_subscribe = 0;
    } else {
        return 0;
    }
    if (text == NULL)
        abort();
    size_t len = strlen(text);
    unsigned char *buf = sm_xmalloc(LWS_PRE + len);
    memcpy(buf + LWS_PRE, text, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    explicit_bzero(buf, LWS_PRE + len);
    free(buf);
    client_wipe_free(text);
    if (n < (int)len)
        return -1;
    if (c->send_auth || c->send_subscribe)
        lws_callback_on_writable(wsi);
    return 0;
}

static int
stream_receive(struct client *c, struct lws *wsi, const void *in, size_t len)
{
    if (!c->rx_toobig && sm_buf_add(&c->rx, in, len) != SM_OK)
        c->rx_toobig = 1;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    if (c->rx_toobig)
        event_error(c, "stream: a message larger than %u bytes was skipped", CLIENT_MSG_MAX);
    else
        fleet_message(c, c->rx.data, c->rx.len);
    sm_buf_reset(&c->rx);
    c->rx_toobig = 0;
    return 0;
}

int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    struct client *c = lws_get_opaque_user_data(wsi);
    if (c == NULL) /* the client is gone (smtop is exiting) */
        return reason == LWS_CALLBACK_CLIENT_RECEIVE || reason == LWS_CALLBACK_CLIENT_WRITEABLE ? -1
                                                                                                : 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        client_learn_address(c, wsi);
        c->send_auth = 1;
        c->send_subscribe = 1;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return stream_write(c, wsi);
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return stream_receive(c, wsi, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* 2 bytes of close code, then the reason. */
        if (len > 2) {
            size_t n = len - 2 < sizeof c->close_why - 1 ? len - 2 : sizeof c->close_why - 1;
            memcpy(c->close_why, (const char *)in + 2, n);
            c->close_why[n] = '\0';
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)c->close_why[i] < 0x20)
                    c->close_why[i] = '?';
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[240];
        client_connect_why(wsi, in, why, sizeof why);
        lws_set_opaque_user_data(wsi, NULL);
        if (c->in_connect) { /* ws_connect schedules the retry */
            c->connect_failed = 1;
            snprintf(c->connect_why, sizeof c->connect_why, "%s", why);
        } else if (wsi == c->wsi) {
            c->wsi = NULL;
            schedule_retry(c, why);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED: {
        lws_set_opaque_user_data(wsi, NULL);
        if (wsi != c->wsi)
            return 0;
        char why[200];
        if (c->close_why[0])
            snprintf(why, sizeof why, "the server closed the stream: %s", c->close_why);
        else
            snprintf(why, sizeof why, "the connection was lost");
        c->wsi = NULL;
        /* A refused or expired token: get a fresh one before the next attempt. */
        if (strstr(c->close_why, "token") != NULL) {
            c->refresh_wanted = 1;
            rest_soon(c);
        }
        schedule_retry(c, why);
        return 0;
    }
    default:
        return 0;
    }
}
