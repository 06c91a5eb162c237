/* notify.h: the notifier thread. It records alert state changes in the history table
 * and sends notifications (webhook, Telegram) with libcurl, retrying with backoff while
 * the receiver is down. The event loop only queues (a mutex, never I/O); a full queue
 * drops the newest change and counts it.
 *
 * Channel secrets (the webhook signing secret, the Telegram bot token) are stored
 * encrypted with a key derived from the server's signing secret (crypto_secretbox), are
 * never logged, and are returned by the API only once, when a webhook channel is made. */
#ifndef SM_SMSERVER_NOTIFY_H
#define SM_SMSERVER_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "auth.h"
#include "rc.h"
#include "store.h"

#define NOTIFY_QUEUE_MAX 1024
#define NOTIFY_OUTBOX_MAX 256    /* notifications waiting to be sent */
#define NOTIFY_CHECK_TIMEOUT_S 5 /* a channel's address check, resolution included */
#define NOTIFY_ATTEMPTS 8        /* tries per notification before giving up */
#define NOTIFY_BACKOFF_MAX_S 60  /* the delay doubles from 1 s up to this */
#define NOTIFY_TIMEOUT_S 10      /* per attempt */
#define NOTIFY_SIGNATURE_HEADER "X-StatusMonitor-Signature"
#define NOTIFY_EVENTS_KEEP 10000 /* state changes kept per rule */
#define NOTIFY_PRUNE_EVERY 256   /* recorded changes between two prunes */

struct notifier;
struct server_stats;
struct sm_netallow;

/* Start the thread; it opens its own connection to db_path. telegram_base is the Bot
 * API base URL. A receiver (webhook or Telegram) whose address is not public is not
 * connected to unless allow (NULL: none) lets it. State changes older than keep_s
 * seconds are forgotten (and all but the newest NOTIFY_EVENTS_KEEP of a rule). auth,
 * allow and stats must outlive the notifier. NULL when the thread cannot start. Main
 * thread. */
struct notifier *notifier_start(const char *db_path, const struct auth *auth,
                                const char *telegram_base, const struct sm_netallow *allow,
                                double keep_s, struct server_stats *stats);
/* Record what is queued, drop pending retries, join the thread. NULL is a no-op. */
void notifier_stop(struct notifier *n);

/* Queue a state change (copied). Any thread; never blocks on I/O. */
void notifier_push(struct notifier *n, const struct alert_note *note);
/* Queue a test notification to a channel of user_id. SM_EBUSY when the queue is full. */
enum sm_rc notifier_push_test(struct notifier *n, int64_t user_id,
                              int64_t channel_id) SM_MUST_CHECK;

/* Check a receiver's URL before a channel is made: libcurl resolves its host as it
 * would to send, and every address must be public or allowed by allow (NULL: none).
 * SM_EINVAL with an allocated *cause starting with "field: " when an address is refused,
 * the name does not resolve or the URL is unusable; SM_ENOMEM when libcurl ran out of
 * memory. Resolves (up to NOTIFY_CHECK_TIMEOUT_S): call it on a worker, never on the
 * event loop. One check at a time per notifier n (NULL: no limit), so that slow names
 * hold at most one worker: SM_EBUSY with a *cause while another runs. Any thread. */
enum sm_rc notify_target_check(struct notifier *n, const struct sm_netallow *allow, const char *url,
                               const char *field, char **cause) SM_MUST_CHECK;

/* Encrypt a channel secret for the store (out holds at least STORE_SECRET_MAX bytes).
 * SM_ETOOBIG when it does not fit. Any thread. */
enum sm_rc notify_seal(const struct auth *auth, const char *secret, uint8_t *out,
                       size_t *outlen) SM_MUST_CHECK;
/* Decrypt into out (NUL-terminated); SM_EAUTH when it does not open (another key). */
enum sm_rc notify_open(const struct auth *auth, const uint8_t *in, size_t inlen, char *out,
                       size_t outsz) SM_MUST_CHECK;

/* The hex HMAC-SHA256 of body under key (the signature header's value after
 * "sha256="). out holds 65 bytes. Any thread. */
void notify_sign(const char *key, const char *body, size_t len, char out[65]);

#endif
