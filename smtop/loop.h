/* loop.h: smtop's event loop: file descriptors and timers on one poll(2).
 *
 * One thread owns the loop. Callbacks are short and never block; drawing happens
 * in the "after" hook, once per wakeup, so many events coalesce into one frame.
 *
 * Adding a data source: a source that does its own I/O elsewhere (the server
 * client's libwebsockets service, a worker thread) exposes one pollable fd that
 * becomes readable when it has queued events (an eventfd or a pipe), and
 * registers it with loop_add_fd(loop, fd, POLLIN, cb, arg). The callback drains
 * the fd, applies the queued events to the model (model_add_sample,
 * model_set_status) and returns; the loop redraws afterwards if the model's
 * generation changed. A source that needs a periodic wakeup (reconnect backoff,
 * lws timers) adds a timer with loop_add_timer and re-arms it with
 * loop_timer_set. Signals (SIGINT, SIGTERM, SIGWINCH) are blocked except while
 * the loop waits in ppoll, so they are never lost between checks. */
#ifndef SM_SMTOP_LOOP_H
#define SM_SMTOP_LOOP_H

#include <poll.h>
#include <signal.h>

#define LOOP_MAX_FDS 16
#define LOOP_MAX_TIMERS 16

struct loop;

/* Called with the fd's returned poll events (POLLIN, POLLHUP, ...). */
typedef void (*loop_fd_cb)(int fd, short revents, void *arg);
/* Called when a timer is due; a periodic timer is already re-armed. */
typedef void (*loop_timer_cb)(void *arg);
/* Called after every wakeup (fd events, timers, signals), before waiting again. */
typedef void (*loop_after_cb)(void *arg);

/* Create a loop. Blocks SIGINT, SIGTERM and SIGWINCH in the calling thread (they are
 * delivered only inside loop_run's wait). Never returns NULL. */
struct loop *loop_new(void);
/* Free the loop (does not close registered fds); NULL is a no-op. */
void loop_free(struct loop *l);

/* Watch fd for events (POLLIN and/or POLLOUT). Returns 0, or -1 when LOOP_MAX_FDS are
 * registered. Registering an fd again replaces its events, callback and argument. */
int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);
/* Stop watching fd (safe inside any callback, including fd's own). */
void loop_del_fd(struct loop *l, int fd);

/* Add a timer due after `first` seconds, then every `period` seconds on an absolute
 * schedule (period 0: one-shot). Returns a timer id >= 0, or -1 when full. */
int loop_add_timer(struct loop *l, double first, double period, loop_timer_cb cb, void *arg);
/* Re-arm timer id: due after `first` seconds, then every `period` (0: one-shot). */
void loop_timer_set(struct loop *l, int id, double first, double period);
/* Disarm timer id (it keeps its slot and may be set again). */
void loop_timer_cancel(struct loop *l, int id);

/* Set the hook run after every wakeup. */
void loop_set_after(struct loop *l, loop_after_cb cb, void *arg);

/* Run until loop_stop. Returns 0, or -1 if ppoll failed for a reason other than EINTR. */
int loop_run(struct loop *l);
/* Make loop_run return after the current wakeup. */
void loop_stop(struct loop *l);

/* Signals seen since the last call (bit 1 << signo for SIGINT, SIGTERM, SIGWINCH);
 * reading clears them. */
unsigned loop_take_signals(void);

#endif
