/* sender.h: posts batches to the server's /ingest: one connection kept alive, connect
 * and total time-outs, no redirects, http and https only. http:// goes through the small
 * client of lib/http_client.h; https:// through libcurl (TLS verification on), which is
 * loaded with dlopen only then, so that a plain-http agent maps neither libcurl nor any
 * TLS library (about 6 MiB of RSS). One transfer at a time, driven by sender_wait so that
 * the caller's loop keeps its schedule while the server is slow. Main thread only. */
#ifndef SM_SMAGENT_SENDER_H
#define SM_SMAGENT_SENDER_H

#include <stddef.h>

#include "rc.h"

#define SENDER_CONNECT_TIMEOUT_MS 5000L
#define SENDER_TOTAL_TIMEOUT_MS 30000L

struct sender;

/* The end of a transfer. */
struct sender_reply {
    long status;        /* HTTP status; 0 when no reply came (refused, time-out, reset) */
    double retry_after; /* seconds from a Retry-After header; < 0 when absent */
    char detail[256];   /* the start of the reply body, or the error for status 0 */
};

/* Create a sender for url, sending token in X-Agent-Token; ca_file (may be NULL) adds
 * trusted CAs (https). Copies what it needs. Returns NULL with *cause when the URL is
 * bad or, for https, libcurl cannot be loaded or set up. */
struct sender *sender_new(const char *url, const char *token, const char *ca_file, char **cause);
/* Abort any transfer and free; NULL is a no-op. */
void sender_free(struct sender *s);
/* At exit: libcurl's global clean-up when an https sender loaded it. */
void sender_global_done(void);

/* 1 while a transfer is in flight. */
int sender_busy(const struct sender *s);
/* Start posting body (taken: freed by the sender). The sender must not be busy. */
void sender_start(struct sender *s, char *body, size_t len);
/* Drive the transfer for up to timeout_ms, returning early when wake_fd (>= 0) becomes
 * readable. Returns 1 and fills *r when the transfer ended, 0 otherwise. */
int sender_wait(struct sender *s, long timeout_ms, int wake_fd, struct sender_reply *r);
/* Abandon the transfer in flight (the server may have stored it; a resend is harmless). */
void sender_abort(struct sender *s);

#endif
