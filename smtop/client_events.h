/* client_events.h: the queue of events that the client fills for the UI and
 * client_drain() empties; errors reach the screen through it as CLIENT_EV_ERROR. */
#ifndef SM_SMTOP_CLIENT_EVENTS_H
#define SM_SMTOP_CLIENT_EVENTS_H

#include <sys/queue.h>

#include "client.h"

struct ev_node {
    struct client_event ev;
    STAILQ_ENTRY(ev_node) link;
};

/* Free what an event holds (not the event itself). */
void event_done(struct client_event *ev);
/* A new, empty event of type. */
struct ev_node *event_new(enum client_event_type type);
/* Queue n for the UI (the queue owns it); past the cap, samples are dropped and counted. */
void event_push(struct client *c, struct ev_node *n);
/* Queue a CLIENT_EV_STATE (text copied, may be NULL). */
void event_state(struct client *c, enum client_state st, double retry_in, const char *text);
/* Queue a CLIENT_EV_ERROR with a formatted text. */
void event_error(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
