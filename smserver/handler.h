/* handler.h: what a route handler may use besides its request and its reply (http.h):
 * the server's settings, its shared services and its counters. The server owns all of
 * it and fills it in before it serves the first request; a handler only borrows it
 * (struct call's env). Nothing of the event loop, the pools or the threads is here. */
#ifndef SM_SMSERVER_HANDLER_H
#define SM_SMSERVER_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct auth;
struct ratelimit;
struct notifier;
struct sm_netallow;

/* Login limits (failures per window). A user's failures are counted per client
 * address, so guessing from one address does not lock the real user out elsewhere;
 * a looser count over all addresses slows guessing spread over many. */
#define LOGIN_WINDOW_S 60.0
#define LOGIN_FAILS_PER_USER 5
#define LOGIN_FAILS_PER_USER_ALL 100
#define LOGIN_FAILS_PER_ADDR 20

/* Jobs waiting in each of the server's queues (GET /metrics). */
struct handler_queues {
    size_t writer, work, hash;
};

struct handler_env {
    /* Settings: read-only once the server serves. */
    const char *db_path;
    int metrics_agent_series;                /* /metrics also gives each agent's latest values */
    int metrics_token_set;                   /* /metrics needs a bearer token (else loopback) */
    uint8_t metrics_token_hash[32];          /* crypto_generichash of that token */
    const char *telegram_api_base;           /* alert channels: the Telegram Bot API base URL */
    const struct sm_netallow *webhook_allow; /* private networks channels may reach */
    int process_snapshots;                   /* ingest keeps process snapshots (store.h) */
    /* Services, each safe on any thread. */
    struct auth *auth;         /* keys and token lifetimes, read-only once serving */
    struct ratelimit *rl;      /* login and test-message limits */
    struct notifier *notifier; /* alert messages; NULL when not running */
    /* Counters: read and written holding stats->mu. */
    struct server_stats *stats;
    /* Fill *out with the queue depths. Any thread. */
    void (*queue_depths)(void *arg, struct handler_queues *out);
    void *queue_arg;
};

#endif
