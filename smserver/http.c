/* http.c: route lookup, request bodies with a cap, JSON replies and field helpers. */
#include "config.h"

#include "http.h"

#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_client.h"
#include "json.h"
#include "netaddr.h"
#include "xmalloc.h"

static const struct route *const route_tables[] = {routes_auth,   routes_agents,  routes_ingest,
                                                   routes_health, routes_history, routes_metrics,
                                                   routes_alerts, routes_procs};

/* Match one path against a pattern; {id} takes a positive decimal number. */
static int
path_match(const char *pattern, const char *path, int64_t *id)
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{id}", 4) == 0) {
            int64_t v = 0;
            int digits = 0;
            while (*path >= '0' && *path <= '9') {
                if (digits++ >= 15)
                    return 0;
                v = v * 10 + (*path++ - '0');
            }
            if (!digits || v <= 0)
                return 0;
            *id = v;
            pattern += 4;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

const struct route *
http_route_find(enum http_method method, const char *path, int64_t *id, int *wrong_method)
{
    *wrong_method = 0;
    for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
        for (const struct route *r = route_tables[t]; r->path; r++) {
            int64_t v = 0;
            if (!path_match(r->path, path, &v))
                continue;
            if (r->method != method) {
                *wrong_method = 1;
                continue;
            }
            *id = v;
            return r;
        }
    }
    return NULL;
}

void
req_free(struct req *r)
{
    if (!r)
        return;
    sm_buf_done(&r->body); /* wiped: it may hold a password */
    sodium_memzero(r, sizeof *r);
    free(r);
}

enum sm_rc
req_append(struct req *r, const void *data, size_t len)
{
    if (len == 0)
        return SM_OK; /* libwebsockets may pass NULL, 0 (fuzz_http) */
    return sm_buf_add(&r->body, data, len);
}

void
resp_done(struct resp *r)
{
    if (r->body) {
        sodium_memzero(r->body, r->len); /* it may hold a token */
        free(r->body);
    }
    memset(r, 0, sizeof *r);
}

void
http_reply_json(struct resp *r, int status, cJSON *body)
{
    resp_done(r);
    r->status = status;
    if (body) {
        r->body = cJSON_PrintUnformatted(body);
        if (!r->body)
            abort(); /* cJSON only fails on out-of-memory */
        r->len = strlen(r->body);
        cJSON_Delete(body);
    }
}

void
http_reply_error(struct resp *r, enum sm_rc rc, const char *detail)
{
    int retry_after = r->retry_after; /* set by the handler that refused */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", detail ? detail : sm_rc_str(rc));
    http_reply_json(r, sm_rc_http(rc), o);
    /* A 503 (storage locked or gone, PostgreSQL stopped, shutting down) may be retried,
     * whatever route it was: say so to agents and proxies unless the handler said when. */
    if (r->status == 503 && retry_after <= 0)
        retry_after = 1;
    r->retry_after = retry_after;
    if (rc == SM_EAUTH)
        r->www_authenticate = 1;
}

enum sm_rc
http_body_object(const struct req *req, cJSON **out, char **cause)
{
    if (req->body.len == 0) {
        *cause = sm_xstrdup("body: a JSON object is required");
        return SM_EPARSE;
    }
    char *why = NULL;
    enum sm_rc rc = sm_json_parse(req->body.data, req->body.len, HTTP_JSON_DEPTH, out, &why);
    if (rc != SM_OK) {
        *cause = sm_xasprintf("body: %s", why ? why : "invalid JSON");
        free(why);
        return rc;
    }
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        *cause = sm_xstrdup("body: must be a JSON object");
        return SM_EINVAL;
    }
    return SM_OK;
}

enum sm_rc
http_get_string(const cJSON *obj, const char *name, size_t min, size_t max, const char **out,
                char **cause)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) {
        *cause = sm_xasprintf("%s: field required", name);
        return SM_EINVAL;
    }
    if (!cJSON_IsString(v)) {
        *cause = sm_xasprintf("%s: must be a string", name);
        return SM_EINVAL;
    }
    size_t len = strlen(v->valuestring);
    if (len < min || len > max) {
        *cause = sm_xasprintf("%s: must be %zu to %zu characters long", name, min, max);
        return SM_EINVAL;
    }
    *out = v->valuestring;
    return SM_OK;
}

enum sm_rc
http_form_get(const char *body, size_t len, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        if (eq && (size_t)(eq - p) == klen && memcmp(p, key, klen) == 0) {
            size_t n = 0;
            for (const char *q = eq + 1; q < pend; q++) {
                int c = (unsigned char)*q;
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    if (pend - q < 3 || sm_http_hexval(q[1]) < 0 || sm_http_hexval(q[2]) < 0)
                        return SM_EPARSE;
                    c = sm_http_hexval(q[1]) * 16 + sm_http_hexval(q[2]);
                    q += 2;
                }
                if (c == 0)
                    return SM_EPARSE;
                if (n + 1 >= outsz)
                    return SM_ETOOBIG;
                out[n++] = (char)c;
            }
            out[n] = '\0';
            return SM_OK;
        }
        p = pend + 1;
    }
    return SM_ENOTFOUND;
}

void
http_time_iso(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        sm_strlcpy(out, "1970-01-01T00:00:00Z", 32);
}

int
http_peer_is_loopback(const char *peer)
{
    const char *v4 = NULL;
    if (strncmp(peer, "127.", 4) == 0)
        v4 = peer;
    else if (strncasecmp(peer, "::ffff:127.", 11) == 0)
        v4 = peer + 7;
    if (v4) {
        /* Exactly four decimal parts, the first 127. */
        int parts = 0;
        for (const char *p = v4; *p;) {
            int digits = 0, val = 0;
            while (*p >= '0' && *p <= '9' && digits < 4) {
                val = val * 10 + (*p++ - '0');
                digits++;
            }
            if (!digits || val > 255)
                return 0;
            parts++;
            if (*p == '.' && parts < 4)
                p++;
            else if (*p)
                return 0;
        }
        return parts == 4;
    }
    return strcmp(peer, "::1") == 0 || strcmp(peer, "0:0:0:0:0:0:0:1") == 0;
}

/* Parse addr once: into out in one spelling, an IPv4-mapped IPv6 address as IPv4
 * (libwebsockets writes a direct peer as ::ffff:a.b.c.d, a proxy writes a.b.c.d, and
 * the login limiter must count a client under one key however it arrives); and 1 when
 * trusted holds it, 0 when not, -1 when addr is not a numeric address (out untouched). */
static int
judge_addr(const char *addr, const struct sm_netallow *trusted, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    if (sm_netaddr_parse(addr, &ss) != SM_OK)
        return -1;
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ss;
    if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
        struct sockaddr_in v4 = {.sin_family = AF_INET};
        memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
        memset(&ss, 0, sizeof ss);
        memcpy(&ss, &v4, sizeof v4);
    }
    sm_netaddr_format((const struct sockaddr *)&ss, out, outsz);
    return sm_netallow_contains(trusted, (const struct sockaddr *)&ss);
}

enum sm_rc
http_forwarded_client(const char *peer, const char *xff, const struct sm_netallow *trusted,
                      char *out, size_t outsz)
{
    int t = judge_addr(peer, trusted, out, outsz);
    if (t < 0)
        sm_strlcpy(out, peer, outsz);
    if (t != 1 || !xff || !*xff)
        return SM_OK;
    char list[HTTP_XFF_MAX];
    if (sm_strlcpy(list, xff, sizeof list) >= sizeof list)
        return SM_EINVAL;
    /* From the right: the entry our proxy appended first. */
    char *end = list + strlen(list);
    for (;;) {
        char *comma = end;
        while (comma > list && comma[-1] != ',')
            comma--;
        char *item = comma;
        *end = '\0';
        item += strspn(item, " \t");
        size_t len = strlen(item);
        while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            item[--len] = '\0';
        char spelled[INET6_ADDRSTRLEN];
        t = judge_addr(item, trusted, spelled, sizeof spelled);
        if (t < 0 || len >= outsz)
            return SM_EINVAL;
        if (t == 0 || comma == list) {
            sm_strlcpy(out, spelled, outsz);
            return SM_OK;
        }
        end = comma - 1;
    }
}
