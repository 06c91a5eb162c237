/* notify.c: the notifier thread (see notify.h). */
#include "config.h"

#include "notify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "netaddr.h"
#include "stats.h"
#include "xmalloc.h"

/* A queued item: a state change to record (and maybe send), or a test. */
struct item {
    STAILQ_ENTRY(item) link;
    struct alert_note note;
    int test;
    int64_t user_id, channel_id;
};

/* A notification waiting for its next attempt. */
struct delivery {
    struct delivery *next;
    int64_t user_id, channel_id;
    char *payload; /* the webhook body (JSON) */
    char *text;    /* the chat message */
    int attempts;
    double due; /* monotonic seconds */
};

struct notifier {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    STAILQ_HEAD(, item) items; /* state changes to record, oldest first */
    size_t len;
    int stop;
    atomic_int quit;     /* set by notifier_stop: abort a transfer in flight */
    atomic_int checking; /* a channel's address check is running (notify_target_check) */
    /* Notifications to send, oldest first (notifier thread only). */
    struct delivery *outbox;
    size_t outbox_len;
    char *db_path;
    const struct auth *auth;
    char *telegram_base;
    const struct sm_netallow *allow; /* non-public receivers allowed anyway; may be NULL */
    struct server_stats *stats;
    struct store *st;
    double keep_s;
    unsigned recorded;
};

/* ------------------------------------------------------------------ secrets */

/* The sealing key: derived from the server's signing secret, for this use only. */
static void
seal_key(const struct auth *auth, uint8_t key[crypto_secretbox_KEYBYTES])
{
    uint8_t k0[crypto_generichash_BYTES_MAX];
    crypto_generichash(k0, sizeof k0, auth->secret, auth->secret_len, NULL, 0);
    static const char label[] = "statusmonitor alert channel secrets v1";
    crypto_generichash(key, crypto_secretbox_KEYBYTES, (const uint8_t *)label, sizeof label - 1, k0,
                       sizeof k0);
    sodium_memzero(k0, sizeof k0);
}

enum sm_rc
notify_seal(const struct auth *auth, const char *secret, uint8_t *out, size_t *outlen)
{
    size_t n = strlen(secret);
    if (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n > STORE_SECRET_MAX)
        return SM_ETOOBIG;
    uint8_t key[crypto_secretbox_KEYBYTES];
    seal_key(auth, key);
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, (const uint8_t *)secret, n, out, key);
    sodium_memzero(key, sizeof key);
    *outlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    return SM_OK;
}

enum sm_rc
notify_open(const struct auth *auth, const uint8_t *in, size_t inlen, char *out, size_t outsz)
{
    if (inlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return SM_EAUTH;
    size_t n = inlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    if (n + 1 > outsz)
        return SM_ETOOBIG;
    uint8_t key[crypto_secretbox_KEYBYTES];
    seal_key(auth, key);
    int rc = crypto_secretbox_open_easy((uint8_t *)out, in + crypto_secretbox_NONCEBYTES,
                                        inlen - crypto_secretbox_NONCEBYTES, in, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0)
        return SM_EAUTH;
    out[n] = '\0';
    return SM_OK;
}

void
notify_sign(const char *key, const char *body, size_t len, char out[65])
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state h;
    crypto_auth_hmacsha256_init(&h, (const uint8_t *)key, strlen(key));
    crypto_auth_hmacsha256_update(&h, (const uint8_t *)body, len);
    crypto_auth_hmacsha256_final(&h, mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
    sodium_memzero(&h, sizeof h);
}

/* ------------------------------------------------------------------ messages */

static void
count(struct notifier *n, int sent, int retried, int failed)
{
    pthread_mutex_lock(&n->stats->mu);
    n->stats->notify_sent += (uint64_t)sent;
    n->stats->notify_retried += (uint64_t)retried;
    n->stats->notify_failed += (uint64_t)failed;
    pthread_mutex_unlock(&n->stats->mu);
}

static void
set_queued(struct notifier *n, size_t queued)
{
    pthread_mutex_lock(&n->stats->mu);
    n->stats->notify_queued = queued;
    pthread_mutex_unlock(&n->stats->mu);
}

/* The webhook body of a state change (or of a test, when note is NULL). */
static char *
payload_json(const struct alert_note *note, double now)
{
    cJSON *o = cJSON_CreateObject();
    if (!note) {
        cJSON_AddStringToObject(o, "state", "test");
        cJSON_AddBoolToObject(o, "test", 1);
        cJSON_AddStringToObject(o, "message", "StatusMonitor test notification");
    } else {
        const struct store_rule *r = &note->rule;
        char op[2] = {r->op, '\0'};
        char *key = sm_xasprintf("%" PRId64 "-%" PRId64 "-%s-%" PRId64 "-%s", r->id, note->agent_id,
                                 note->labels, note->ts_ms, note->state);
        cJSON_AddStringToObject(o, "id", key); /* the same on every retry: dedupe on it */
        free(key);
        cJSON_AddStringToObject(o, "state", note->state);
        cJSON_AddBoolToObject(o, "test", 0);
        cJSON *rj = cJSON_AddObjectToObject(o, "rule");
        cJSON_AddNumberToObject(rj, "id", (double)r->id);
        cJSON_AddStringToObject(rj, "name", r->name);
        cJSON_AddStringToObject(rj, "metric", r->metric);
        cJSON_AddStringToObject(rj, "labels", r->labels);
        cJSON_AddStringToObject(rj, "op", op);
        cJSON_AddNumberToObject(rj, "threshold", r->threshold);
        cJSON_AddNumberToObject(rj, "for_seconds", (double)r->for_seconds);
        cJSON_AddStringToObject(rj, "severity", r->severity);
        cJSON *aj = cJSON_AddObjectToObject(o, "agent");
        cJSON_AddNumberToObject(aj, "id", (double)note->agent_id);
        cJSON_AddStringToObject(aj, "name", note->agent_name);
        cJSON_AddStringToObject(o, "series_labels", note->labels);
        cJSON_AddNumberToObject(o, "value", note->value);
        cJSON_AddNumberToObject(o, "timestamp", (double)note->ts_ms / 1000.0);
    }
    cJSON_AddNumberToObject(o, "sent_at", now);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    return text;
}

static char *
message_text(const struct alert_note *note)
{
    if (!note)
        return sm_xstrdup("StatusMonitor: test notification");
    const struct store_rule *r = &note->rule;
    char up[16];
    size_t i = 0;
    for (; note->state[i] && i + 1 < sizeof up; i++)
        up[i] = (char)(note->state[i] >= 'a' && note->state[i] <= 'z' ? note->state[i] - 32
                                                                      : note->state[i]);
    up[i] = '\0';
    if (strcmp(r->metric, ALERTS_OFFLINE) == 0)
        return sm_xasprintf("[%s] %s: %s (%s): agent %s offline for %.0f s", up, r->severity,
                            r->name, r->metric, note->agent_name, note->value);
    return sm_xasprintf("[%s] %s: %s: %s %s%s%s%s = %g (%c %g for %" PRId64 " s)", up, r->severity,
                        r->name, note->agent_name, r->metric, note->labels[0] ? "{" : "",
                        note->labels, note->labels[0] ? "}" : "", note->value, r->op, r->threshold,
                        r->for_seconds);
}

static size_t
discard(void *p, size_t size, size_t nmemb, void *arg)
{
    (void)p;
    (void)arg;
    return size * nmemb;
}

/* libcurl's progress callback: abort when the server stops. */
static int
progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&((struct notifier *)arg)->quit) ? 1 : 0;
}

/* ------------------------------------------------------------------ address checks */

/* What the open-socket callback saw: the first address it refused, how many it was
 * offered. probe: refuse every socket (only the addresses are wanted). */
struct guard {
    const struct sm_netallow *allow;
    int probe;
    int offered, refused;
    enum sm_netaddr_class cls;
    char addr[64];
};

/* libcurl's open-socket callback: it gets each address libcurl is about to connect to,
 * after its own resolution (so the check is on the address used, never on a second
 * lookup that could answer differently). A refused address is not connected to;
 * libcurl goes on to the next one, if any. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct guard *g = arg;
    const struct sockaddr *sa = &a->addr;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    g->offered++;
    if (!sm_netallow_permits(g->allow, sa)) {
        if (!g->refused++) {
            g->cls = sm_netaddr_classify(sa);
            sm_netaddr_format(sa, g->addr, sizeof g->addr);
        }
        return CURL_SOCKET_BAD;
    }
    if (g->probe)
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

/* The options every request to a receiver gets: no proxy from the environment (the
 * proxy's address would be the one checked), no redirect, http(s) only, the guard.
 * -1 when one could not be set (libcurl copies strings: out of memory); the handle must
 * then not be used, or it would go out with the guard missing a part (a proxy from the
 * environment, any protocol, no URL). */
static int
guard_setopt(CURL *h, const char *url, struct guard *g)
{
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
            CURLE_OK ||
#endif
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, g) != CURLE_OK)
        return -1;
    return 0;
}

static enum sm_rc check_target(const struct sm_netallow *allow, const char *url, const char *field,
                               char **cause);

enum sm_rc
notify_target_check(struct notifier *n, const struct sm_netallow *allow, const char *url,
                    const char *field, char **cause)
{
    if (allow && allow->all)
        return SM_OK;
    int expected = 0;
    if (n && !atomic_compare_exchange_strong(&n->checking, &expected, 1)) {
        *cause = sm_xasprintf("%s: another channel's address is being checked, try again in a "
                              "few seconds",
                              field);
        return SM_EBUSY;
    }
    enum sm_rc rc = check_target(allow, url, field, cause);
    if (n)
        atomic_store(&n->checking, 0);
    return rc;
}

static enum sm_rc
check_target(const struct sm_netallow *allow, const char *url, const char *field, char **cause)
{
    /* libcurl out of memory is the server's trouble, not the URL's: 503, try again. */
    CURL *h = curl_easy_init();
    struct guard g;
    memset(&g, 0, sizeof g);
    g.allow = allow;
    g.probe = 1;
    if (!h || guard_setopt(h, url, &g) != 0 ||
        curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)NOTIFY_CHECK_TIMEOUT_S) != CURLE_OK) {
        curl_easy_cleanup(h);
        *cause = sm_xasprintf("%s: cannot check the address now, try again later", field);
        return SM_ENOMEM;
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (rc == CURLE_OUT_OF_MEMORY && !g.refused) {
        *cause = sm_xasprintf("%s: cannot check the address now, try again later", field);
        return SM_ENOMEM;
    }
    if (g.refused) {
        *cause = sm_xasprintf("%s: the host resolves to %s (%s), an address smserver does not "
                              "send to unless webhook_allow_private in smserver.conf allows it",
                              field, g.addr, sm_netaddr_class_name(g.cls));
        return SM_EINVAL;
    }
    if (g.offered)
        return SM_OK;
    if (rc == CURLE_COULDNT_RESOLVE_HOST)
        *cause = sm_xasprintf("%s: the host name does not resolve", field);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        *cause = sm_xasprintf("%s: resolving the host name timed out", field);
    else
        *cause = sm_xasprintf("%s: not a usable URL (%s)", field, curl_easy_strerror(rc));
    return SM_EINVAL;
}

/* ------------------------------------------------------------------ delivery */

/* POST body to url; 0 when delivered (2xx), 1 when worth retrying, -1 when not (also
 * when every address of the receiver was refused: g says which). */
static int
post(struct notifier *n, const char *url, const char *body, struct curl_slist *hdrs, long *status,
     struct guard *g)
{
    /* An option libcurl could not take (out of memory): try again later. */
    CURL *h = curl_easy_init();
    if (!h || guard_setopt(h, url, g) != 0 ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)NOTIFY_TIMEOUT_S) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, "smserver/" PACKAGE_VERSION) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, n) != CURLE_OK) {
        curl_easy_cleanup(h);
        return 1;
    }
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK && g->refused && rc == CURLE_COULDNT_CONNECT)
        return -1; /* refused addresses only (or refused ones and unreachable ones) */
    if (rc != CURLE_OK)
        return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ? -1 : 1;
    if (*status >= 200 && *status < 300)
        return 0;
    return *status == 429 || *status >= 500 || *status == 408 ? 1 : -1;
}

/* One attempt to deliver d. 0 delivered, 1 retry, -1 give up. Never logs a secret or a
 * URL (a Telegram URL holds the bot token; a webhook URL may hold credentials). */
static int
attempt(struct notifier *n, struct delivery *d)
{
    struct store_channel ch;
    char secret[STORE_SECRET_MAX];
    if (!n->st || store_channel_get(n->st, d->user_id, d->channel_id, &ch) != SM_OK) {
        sm_log(SM_LOG_WARN, "notify: channel %" PRId64 " is gone", d->channel_id);
        return -1;
    }
    if (notify_open(n->auth, ch.secret, ch.secret_len, secret, sizeof secret) != SM_OK) {
        sm_log(SM_LOG_WARN,
               "notify: channel %" PRId64 ": its secret does not open "
               "(was the server's SECRET_KEY changed?)",
               ch.id);
        return -1;
    }
    /* A header libcurl could not add (out of memory) is retried later, never sent
     * without: curl_slist_append returns NULL and leaves the list as it was. */
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (!hdrs) {
        sodium_memzero(secret, sizeof secret);
        d->attempts++;
        return 1;
    }
    char *url = NULL, *body = NULL;
    if (strcmp(ch.kind, "webhook") == 0) {
        char sig[65];
        notify_sign(secret, d->payload, strlen(d->payload), sig);
        char *hdr = sm_xasprintf(NOTIFY_SIGNATURE_HEADER ": sha256=%s", sig);
        struct curl_slist *more = curl_slist_append(hdrs, hdr);
        free(hdr);
        if (!more) {
            curl_slist_free_all(hdrs);
            sodium_memzero(secret, sizeof secret);
            d->attempts++;
            return 1;
        }
        hdrs = more;
        url = sm_xstrdup(ch.url);
        body = sm_xstrdup(d->payload);
    } else {
        url = sm_xasprintf("%s/bot%s/sendMessage", n->telegram_base, secret);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "chat_id", ch.chat_id);
        cJSON_AddStringToObject(o, "text", d->text);
        body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    sodium_memzero(secret, sizeof secret);
    long status = 0;
    struct guard g;
    memset(&g, 0, sizeof g);
    g.allow = n->allow;
    int rc = post(n, url, body, hdrs, &status, &g);
    sodium_memzero(url, strlen(url));
    free(url);
    free(body);
    curl_slist_free_all(hdrs);
    d->attempts++;
    if (rc == 0)
        sm_log(SM_LOG_DEBUG, "notify: channel %" PRId64 ": delivered", ch.id);
    else if (rc < 0 && g.refused)
        sm_log(SM_LOG_WARN,
               "notify: channel %" PRId64 ": not sent: the receiver's address %s is %s "
               "(webhook_allow_private in smserver.conf allows it)",
               ch.id, g.addr, sm_netaddr_class_name(g.cls));
    else
        sm_log(SM_LOG_INFO, "notify: channel %" PRId64 ": attempt %d failed (status %ld)", ch.id,
               d->attempts, status);
    return rc;
}

static void
delivery_free(struct delivery *d)
{
    if (!d)
        return;
    free(d->payload);
    free(d->text);
    free(d);
}

/* The delivery to try next: of each channel only the oldest (one channel's
 * notifications go out in order, so a resolve never overtakes its firing), and among
 * those the one due first. NULL when the outbox is empty. */
static struct delivery *
next_delivery(struct notifier *n)
{
    struct delivery *best = NULL;
    for (struct delivery *d = n->outbox; d; d = d->next) {
        struct delivery *q = n->outbox;
        while (q != d && !(q->channel_id == d->channel_id && q->user_id == d->user_id))
            q = q->next;
        if (q == d && (!best || d->due < best->due))
            best = d;
    }
    return best;
}

static void
outbox_remove(struct notifier *n, struct delivery *d)
{
    for (struct delivery **p = &n->outbox; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            n->outbox_len--;
            return;
        }
    }
}

/* Queue d to be sent now, after what is already queued for its channel. */
static void
outbox_add(struct notifier *n, struct delivery *d)
{
    if (n->outbox_len >= NOTIFY_OUTBOX_MAX) {
        sm_log(SM_LOG_WARN, "notify: channel %" PRId64 ": %d notifications waiting, one dropped",
               d->channel_id, NOTIFY_OUTBOX_MAX);
        count(n, 0, 0, 1);
        delivery_free(d);
        return;
    }
    struct delivery **p = &n->outbox;
    while (*p)
        p = &(*p)->next;
    d->next = NULL;
    d->due = sm_mono_now();
    *p = d;
    n->outbox_len++;
}

/* Try d (in the outbox) now; it stays for a later attempt or leaves. */
static void
try_delivery(struct notifier *n, struct delivery *d)
{
    int rc = attempt(n, d);
    if (rc == 0) {
        count(n, 1, 0, 0);
    } else if (rc > 0 && d->attempts < NOTIFY_ATTEMPTS) {
        double delay = (double)(1u << (d->attempts - 1));
        if (delay > NOTIFY_BACKOFF_MAX_S)
            delay = NOTIFY_BACKOFF_MAX_S;
        d->due = sm_mono_now() + delay;
        count(n, 0, 1, 0);
        return;
    } else {
        sm_log(SM_LOG_WARN, "notify: channel %" PRId64 ": giving up after %d attempts",
               d->channel_id, d->attempts);
        count(n, 0, 0, 1);
    }
    outbox_remove(n, d);
    delivery_free(d);
}

/* Record and maybe send one item. Notifier thread, unlocked. */
static void
handle(struct notifier *n, struct item *it, int stopping)
{
    if (!it->test) {
        struct store_alert_event e;
        memset(&e, 0, sizeof e);
        e.rule_id = it->note.rule.id;
        e.agent_id = it->note.agent_id;
        sm_strlcpy(e.labels, it->note.labels, sizeof e.labels);
        sm_strlcpy(e.state, it->note.state, sizeof e.state);
        e.value = it->note.value;
        e.ts_ms = it->note.ts_ms;
        e.at = (int64_t)sm_wall_now();
        enum sm_rc rc = n->st ? store_alert_event_add(n->st, &e) : SM_EUNAVAIL;
        if (rc != SM_OK && rc != SM_ENOTFOUND)
            sm_log(SM_LOG_ERROR, "alerts: recording a state change failed: %s", sm_rc_str(rc));
        if (rc == SM_OK && ++n->recorded % NOTIFY_PRUNE_EVERY == 0 &&
            store_alert_events_prune(n->st, e.at - (int64_t)n->keep_s, e.rule_id,
                                     NOTIFY_EVENTS_KEEP) != SM_OK)
            sm_log(SM_LOG_WARN, "alerts: pruning the state history failed");
        if (!it->note.notify || stopping)
            return;
    } else if (stopping) {
        return;
    }
    struct delivery *d = sm_xcalloc(1, sizeof *d);
    d->user_id = it->test ? it->user_id : it->note.rule.user_id;
    d->channel_id = it->test ? it->channel_id : it->note.rule.channel_id;
    d->payload = payload_json(it->test ? NULL : &it->note, sm_wall_now());
    d->text = message_text(it->test ? NULL : &it->note);
    outbox_add(n, d);
}

static void *
notifier_main(void *arg)
{
    struct notifier *n = arg;
    char *cause = NULL;
    if (store_open(n->db_path, &n->st, &cause) != SM_OK) {
        sm_log(SM_LOG_ERROR, "notifier: %s", cause);
        free(cause);
        n->st = NULL;
    }
    pthread_mutex_lock(&n->mu);
    for (;;) {
        struct item *it = STAILQ_FIRST(&n->items);
        if (it) {
            STAILQ_REMOVE_HEAD(&n->items, link);
            n->len--;
            size_t queued = n->len;
            int stopping = n->stop;
            pthread_mutex_unlock(&n->mu);
            set_queued(n, queued);
            handle(n, it, stopping);
            free(it);
            pthread_mutex_lock(&n->mu);
            continue;
        }
        if (n->stop)
            break;
        /* New state changes are recorded before anything is sent, so a slow receiver
         * never holds up the history. */
        struct delivery *d = next_delivery(n);
        double now = sm_mono_now();
        if (d && d->due <= now) {
            pthread_mutex_unlock(&n->mu);
            try_delivery(n, d);
            pthread_mutex_lock(&n->mu);
            continue;
        }
        if (d) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            double wait = d->due - now;
            until.tv_sec += (time_t)wait;
            until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&n->cv, &n->mu, &until);
        } else {
            pthread_cond_wait(&n->cv, &n->mu);
        }
    }
    size_t dropped = 0;
    while (n->outbox) {
        struct delivery *d = n->outbox;
        n->outbox = d->next;
        delivery_free(d);
        dropped++;
    }
    pthread_mutex_unlock(&n->mu);
    if (dropped)
        sm_log(SM_LOG_WARN, "notifier: %zu notifications not yet sent were dropped", dropped);
    store_free(n->st);
    n->st = NULL;
    return NULL;
}

struct notifier *
notifier_start(const char *db_path, const struct auth *auth, const char *telegram_base,
               const struct sm_netallow *allow, double keep_s, struct server_stats *stats)
{
    struct notifier *n = sm_xcalloc(1, sizeof *n);
    STAILQ_INIT(&n->items);
    n->allow = allow;
    n->keep_s = keep_s;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->db_path = sm_xstrdup(db_path);
    n->auth = auth;
    n->telegram_base = sm_xstrdup(telegram_base);
    size_t bl = strlen(n->telegram_base);
    while (bl > 0 && n->telegram_base[bl - 1] == '/')
        n->telegram_base[--bl] = '\0';
    n->stats = stats;
    if (pthread_create(&n->thread, NULL, notifier_main, n) != 0) {
        pthread_mutex_destroy(&n->mu);
        pthread_cond_destroy(&n->cv);
        free(n->db_path);
        free(n->telegram_base);
        free(n);
        return NULL;
    }
    return n;
}

void
notifier_stop(struct notifier *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->stop = 1;
    atomic_store(&n->quit, 1);
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n->db_path);
    free(n->telegram_base);
    free(n);
}

static int
enqueue(struct notifier *n, struct item *it)
{
    pthread_mutex_lock(&n->mu);
    if (n->len >= NOTIFY_QUEUE_MAX || n->stop) {
        pthread_mutex_unlock(&n->mu);
        free(it);
        return -1;
    }
    STAILQ_INSERT_TAIL(&n->items, it, link);
    n->len++;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return 0;
}

void
notifier_push(struct notifier *n, const struct alert_note *note)
{
    struct item *it = sm_xcalloc(1, sizeof *it);
    it->note = *note;
    if (enqueue(n, it) != 0) {
        sm_log(SM_LOG_WARN, "notifier: queue full, an alert state change was dropped");
        count(n, 0, 0, 1);
    }
}

enum sm_rc
notifier_push_test(struct notifier *n, int64_t user_id, int64_t channel_id)
{
    struct item *it = sm_xcalloc(1, sizeof *it);
    it->test = 1;
    it->user_id = user_id;
    it->channel_id = channel_id;
    return enqueue(n, it) == 0 ? SM_OK : SM_EBUSY;
}
