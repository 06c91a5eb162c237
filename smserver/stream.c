/* stream.c: the WebSocket transport of the live stream; the fan-out itself is hub.c. */
#include "config.h"

#include "stream.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <errno.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

/* Per connection. */
struct stream_pss {
    struct hub_client *client;
    int64_t only_agent; /* /ws/{id} */
    double deadline;    /* unauthenticated until this time, then closed */
    int pre_authed;     /* authenticated by subprotocol at the handshake */
    int64_t pre_user;
    double pre_expires;
    enum lws_close_status close_code; /* non-zero: close at the next writable */
    const char *close_why;
    double rate_window;
    int rate_count;
    size_t rx_len;
    char *rx; /* message being assembled, up to STREAM_MSG_MAX */
};

/* The environment stream_protocol_init put in the protocol entry wsi is bound to. */
static const struct stream_env *
env_of(struct lws *wsi)
{
    return lws_get_protocol(wsi)->user;
}

static void
close_later(struct lws *wsi, struct stream_pss *p, enum lws_close_status code, const char *why)
{
    if (p->close_code == 0) {
        p->close_code = code;
        p->close_why = why;
    }
    lws_callback_on_writable(wsi);
}

static void
send_error(struct stream_pss *p, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "detail", detail);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text == NULL)
        abort();
    hub_client_send_text(p->client, text);
    free(text);
}

/* "/ws" -> 0, "/ws/N" -> N (N >= 1); -1 for any other path. */
static int64_t
parse_path(const char *uri)
{
    if (strcmp(uri, "/ws") == 0 || strcmp(uri, "/ws/") == 0)
        return 0;
    if (strncmp(uri, "/ws/", 4) != 0)
        return -1;
    const char *s = uri + 4;
    int64_t v = 0;
    if (*s < '1' || *s > '9')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* Is origin (from the Origin header) this server's own, or configured? */
static int
origin_allowed(struct lws *wsi, const struct stream_env *env, const char *origin)
{
    char host[256], own[300];
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) > 0) {
        snprintf(own, sizeof own, "http://%s", host);
        if (strcasecmp(origin, own) == 0)
            return 1;
        snprintf(own, sizeof own, "https://%s", host);
        if (strcasecmp(origin, own) == 0)
            return 1;
    }
    if (env->origins == NULL)
        return 0;
    size_t olen = strlen(origin);
    for (const char *p = env->origins; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n > 0 && n == olen && strncasecmp(p, origin, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* Find "bearer.TOKEN" in a Sec-WebSocket-Protocol list; copies TOKEN into out. */
static int
bearer_from_protocols(const char *list, char *out, size_t outsz)
{
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n > 7 && strncmp(p, "bearer.", 7) == 0 && n - 7 < outsz) {
            memcpy(out, p + 7, n - 7);
            out[n - 7] = '\0';
            return 1;
        }
        p += n;
    }
    return 0;
}

/* Check path, query string, Origin and an optional bearer subprotocol before the
 * handshake. Returns 0 to accept. */
static int
filter(struct lws *wsi, struct stream_pss *p)
{
    const struct stream_env *env = env_of(wsi);
    char uri[128], buf[1024];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return -1;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0) {
        sm_log(SM_LOG_INFO, "stream: refused a connection with a query string");
        return -1;
    }
    p->only_agent = parse_path(uri);
    if (p->only_agent < 0)
        return -1;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
        if (lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_ORIGIN) <= 0 ||
            !origin_allowed(wsi, env, buf)) {
            sm_log(SM_LOG_INFO, "stream: refused a connection from another origin");
            return -1;
        }
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 &&
        lws_hdr_copy(wsi, buf, sizeof buf, WSI_TOKEN_PROTOCOL) > 0) {
        char token[1024];
        if (bearer_from_protocols(buf, token, sizeof token)) {
            int ok = env->verify(env->verify_arg, token, &p->pre_user, &p->pre_expires) == SM_OK;
            sodium_memzero(token, sizeof token);
            if (!ok)
                return -1;
            p->pre_authed = 1;
        }
    }
    return 0;
}

/* Handle one complete client message. */
static void
handle_message(struct lws *wsi, struct stream_pss *p)
{
    const struct stream_env *env = env_of(wsi);
    cJSON *msg = NULL;
    char *cause = NULL;
    int authed = hub_client_authed(p->client);
    if (sm_json_parse(p->rx, p->rx_len, 4, &msg, &cause) != SM_OK || !cJSON_IsObject(msg)) {
        if (!authed)
            close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "authenticate first");
        else
            send_error(p, "message: must be a JSON object");
        goto out;
    }
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "type"));
    if (type != NULL && strcmp(type, "auth") == 0) {
        const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "token"));
        int64_t user;
        double expires;
        if (token == NULL || env->verify(env->verify_arg, token, &user, &expires) != SM_OK) {
            close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "invalid token");
            goto out;
        }
        hub_client_auth(p->client, user, p->only_agent, expires);
        if (hub_client_close_reason(p->client) != HUB_OPEN) {
            close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "token of another user");
            goto out;
        }
        hub_client_send_text(p->client, "{\"type\":\"ready\"}");
        goto out;
    }
    if (!authed) {
        close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "authenticate first");
        goto out;
    }
    if (type != NULL && strcmp(type, "subscribe") == 0) {
        const cJSON *agents = cJSON_GetObjectItemCaseSensitive(msg, "agents");
        int64_t ids[256];
        size_t n = 0;
        int all = cJSON_IsString(agents) && strcmp(agents->valuestring, "all") == 0;
        if (!all) {
            if (!cJSON_IsArray(agents) || cJSON_GetArraySize(agents) > 256) {
                send_error(p, "agents: must be \"all\" or a list of at most 256 agent ids");
                goto out;
            }
            const cJSON *id;
            cJSON_ArrayForEach(id, agents)
            {
                if (!cJSON_IsNumber(id) || id->valuedouble < 1 || id->valuedouble > 9e15 ||
                    id->valuedouble != (double)(int64_t)id->valuedouble) {
                    send_error(p, "agents: must be \"all\" or a list of agent ids");
                    goto out;
                }
                ids[n++] = (int64_t)id->valuedouble;
            }
        }
        if (hub_client_subscribe(p->client, all, ids, n, &cause) != SM_OK)
            send_error(p, cause);
        goto out;
    }
    if (type != NULL && strcmp(type, "ping") == 0) {
        hub_client_send_text(p->client, "{\"type\":\"pong\"}");
        goto out;
    }
    send_error(p, "type: must be auth, subscribe or ping");
out:
    free(cause);
    cJSON_Delete(msg);
    lws_callback_on_writable(wsi);
}

static int
receive(struct lws *wsi, struct stream_pss *p, const void *in, size_t len)
{
    if (lws_frame_is_binary(wsi)) {
        close_later(wsi, p, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text messages only");
        return 0;
    }
    if (p->close_code)
        return 0;
    if (p->rx_len + len > STREAM_MSG_MAX) {
        close_later(wsi, p, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
        return 0;
    }
    if (p->rx == NULL)
        p->rx = sm_xmalloc(STREAM_MSG_MAX + 1);
    memcpy(p->rx + p->rx_len, in, len);
    p->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return 0;
    /* Floods are throttled: past the rate the client is closed. */
    double now = sm_wall_now();
    if (now - p->rate_window >= 1.0) {
        p->rate_window = now;
        p->rate_count = 0;
    }
    if (++p->rate_count > STREAM_RATE_MAX) {
        close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many messages");
        return 0;
    }
    p->rx[p->rx_len] = '\0';
    handle_message(wsi, p);
    p->rx_len = 0;
    return 0;
}

static const char *
close_text(enum hub_close why)
{
    switch (why) {
    case HUB_CLOSE_LAGGING:
        return "client too slow";
    case HUB_CLOSE_EXPIRED:
        return "token expired";
    case HUB_CLOSE_REVOKED:
        return "access revoked";
    case HUB_OPEN:
        break;
    }
    return "";
}

static int
writeable(struct lws *wsi, struct stream_pss *p)
{
    if (p->close_code == 0 && p->client && hub_client_close_reason(p->client) != HUB_OPEN)
        close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                    close_text(hub_client_close_reason(p->client)));
    if (p->close_code) {
        unsigned char why[64];
        size_t n = sm_strlcpy((char *)why, p->close_why, sizeof why);
        lws_close_reason(wsi, p->close_code, why, n < sizeof why ? n : sizeof why - 1);
        return -1;
    }
    struct hub_msg *m = hub_client_peek(p->client);
    if (m == NULL)
        return 0;
    /* The hub left LWS_PRE bytes of headroom before each message. */
    if (lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
        return -1;
    hub_client_pop(p->client);
    if (hub_client_peek(p->client) != NULL)
        lws_callback_on_writable(wsi);
    return 0;
}

static int
callback_stream(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct stream_pss *p = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* Every connection starts on the default protocol, this one, so the upgrade check
         * lands here: only websocket; h2c would bypass the API's request handling. */
        if (in && strcasecmp((const char *)in, "websocket") == 0)
            return 0;
        if (lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, "upgrade refused"))
            return -1;
        return 1;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter(wsi, p);
    case LWS_CALLBACK_ESTABLISHED: {
        const struct stream_env *env = env_of(wsi);
        /* Bound what the kernel holds for a slow reader, so that the per-client queue
         * (and its lag notices) is what absorbs a stall, not megabytes of socket buffer. */
        int sndbuf = STREAM_SNDBUF;
        if (setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) != 0)
            sm_log(SM_LOG_DEBUG, "stream: SO_SNDBUF: %s", strerror(errno));
        p->client = hub_client_new(env->hub, wsi);
        p->deadline = sm_wall_now() + STREAM_AUTH_TIMEOUT_S;
        if (p->pre_authed) {
            hub_client_auth(p->client, p->pre_user, p->only_agent, p->pre_expires);
            hub_client_send_text(p->client, "{\"type\":\"ready\"}");
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        return receive(wsi, p, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return writeable(wsi, p);
    case LWS_CALLBACK_CLOSED:
        hub_client_free(p->client);
        p->client = NULL;
        free(p->rx);
        p->rx = NULL;
        return 0;
    default:
        return 0;
    }
}

void
stream_protocol_init(struct lws_protocols *out, const struct stream_env *env)
{
    *out = (struct lws_protocols){
        .name = STREAM_PROTOCOL,
        .callback = callback_stream,
        .per_session_data_size = sizeof(struct stream_pss),
        .rx_buffer_size = 4096,
        .user = (void *)(uintptr_t)env, /* read back as const (env_of) */
    };
}

static void
kick_one(struct hub_client *c, void *arg)
{
    struct lws *wsi = hub_client_conn(c);
    struct stream_pss *p = lws_wsi_user(wsi);
    double now = *(const double *)arg;
    if (!hub_client_authed(c) && now > p->deadline)
        close_later(wsi, p, LWS_CLOSE_STATUS_POLICY_VIOLATION, "authentication timed out");
    else if (hub_client_queued(c) > 0 || hub_client_close_reason(c) != HUB_OPEN)
        lws_callback_on_writable(wsi);
}

void
stream_kick(struct hub *h)
{
    double now = sm_wall_now();
    hub_each_client(h, kick_one, &now);
}
