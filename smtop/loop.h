/* loop.h: smtop's event loop: the libwebsockets service loop, with descriptors adopted
 * into it, timers on its scheduler, and signals read from a signalfd.
 *
 * One thread owns the loop and everything on it: the terminal (stdin adopted as a raw
 * descriptor), the refresh tick and the reconnect backoff (lws_sul timers), SIGWINCH,
 * SIGINT and SIGTERM (a signalfd adopted the same way) and, in server mode, the
 * connections of the client in client.h (the WebSocket stream and the REST requests), which are
 * libwebsockets client connections of the same context. Callbacks are short and never
 * block; drawing happens in the "after" hook, once per wakeup, so many events coalesce
 * into one frame.
 *
 * Adding a data source: a source that talks to the network uses the loop's context
 * (loop_context) and passes its lws protocols to loop_new; its events are applied to the
 * model in the "after" hook. A source that reads a descriptor registers it with
 * loop_add_fd; a periodic one adds a timer with loop_add_timer. */
#ifndef SM_SMTOP_LOOP_H
#define SM_SMTOP_LOOP_H

#include <poll.h>
#include <signal.h>

#define LOOP_MAX_FDS 16
#define LOOP_MAX_TIMERS 16

struct loop;
struct lws_context;
struct lws_protocols;

/* Called with POLLIN when fd is readable, POLLHUP when it was hung up or failed (the
 * loop then stops watching it). */
typedef void (*loop_fd_cb)(int fd, short revents, void *arg);
/* Called when a timer is due; a periodic timer is already re-armed. */
typedef void (*loop_timer_cb)(void *arg);
/* Called after every wakeup (fd events, timers, signals, network), before waiting. */
typedef void (*loop_after_cb)(void *arg);

/* Create a loop: one libwebsockets context without a listening port. extra: the
 * protocols of the network clients that will run on it (an array ended by an entry
 * with a NULL name), or NULL; tls: initialise TLS for https:// clients, which verify the
 * server with the CA certificates in the PEM file ca_file, or the system's when it is
 * NULL. Dies when the context cannot be made or the CA file cannot be read. */
struct loop *loop_new(const struct lws_protocols *extra, int tls, const char *ca_file);
/* Free the loop and its context (closes the connections still open on it); NULL is a
 * no-op. Registered fds are not closed (the loop watches duplicates). */
void loop_free(struct loop *l);

/* The libwebsockets context, for the clients that run on the loop. */
struct lws_context *loop_context(const struct loop *l);
/* Did OpenSSL refuse a server certificate since the last call, on ctx (a loop's
 * context)? Then 1, and its reason ("certificate has expired", "hostname mismatch"...)
 * in buf; else 0. */
int loop_tls_failure(struct lws_context *ctx, char *buf, size_t size);

/* Take SIGINT, SIGTERM and SIGWINCH through the loop from now on: they are blocked and
 * read from a signalfd (loop_take_signals tells which came). 0, or -1 on failure. */
int loop_catch_signals(struct loop *l);

/* Watch fd for readability. The loop adopts a duplicate of fd, so the caller keeps
 * its own. Returns 0, or -1 when LOOP_MAX_FDS are registered or adoption failed. */
int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);

/* Add a timer due after `first` seconds, then every `period` seconds on an absolute
 * schedule (period 0: one-shot). Returns a timer id >= 0, or -1 when full. */
int loop_add_timer(struct loop *l, double first, double period, loop_timer_cb cb, void *arg);
/* Re-arm timer id: due after `first` seconds, then every `period` (0: one-shot). */
void loop_timer_set(struct loop *l, int id, double first, double period);
/* Disarm timer id (it keeps its slot and may be set again). */
void loop_timer_cancel(struct loop *l, int id);

/* Set the hook run after every wakeup. */
void loop_set_after(struct loop *l, loop_after_cb cb, void *arg);

/* Run until loop_stop. Returns 0, or -1 if the service failed. */
int loop_run(struct loop *l);
/* Service the loop once: wait at most max_wait seconds for something to happen, handle
 * it, run the after hook. Returns 0, or -1 if the service failed. */
int loop_once(struct loop *l, double max_wait);
/* Make loop_run return after the current wakeup. */
void loop_stop(struct loop *l);

/* Signals seen since the last call (bit 1 << signo for SIGINT, SIGTERM, SIGWINCH);
 * reading clears them. */
unsigned loop_take_signals(struct loop *l);

#endif
