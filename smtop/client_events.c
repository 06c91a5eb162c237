/* client_events.c: the client's queue of events for the UI (see client_events.h). */
#include "config.h"

#include "client_events.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>

#include "client_impl.h"
#include "xmalloc.h"

#define CLIENT_QUEUE_MAX 20000 /* events waiting for the UI before samples drop */

void
event_done(struct client_event *ev)
{
    free(ev->text);
    free(ev->name);
    if (ev->sample) {
        sm_sample_done(ev->sample);
        free(ev->sample);
    }
    cJSON_Delete(ev->body);
}

struct ev_node *
event_new(enum client_event_type type)
{
    struct ev_node *n = sm_xcalloc(1, sizeof *n);
    n->ev.type = type;
    return n;
}

/* Queue n for the UI; past the cap, samples are dropped and counted. */
void
event_push(struct client *c, struct ev_node *n)
{
    if (c->ev_count >= CLIENT_QUEUE_MAX && n->ev.type == CLIENT_EV_SAMPLE) {
        c->ev_dropped++;
        event_done(&n->ev);
        free(n);
        return;
    }
    STAILQ_INSERT_TAIL(&c->events, n, link);
    c->ev_count++;
}

void
event_state(struct client *c, enum client_state st, double retry_in, const char *text)
{
    struct ev_node *n = event_new(CLIENT_EV_STATE);
    n->ev.state = st;
    n->ev.retry_in = retry_in;
    n->ev.text = text ? sm_xstrdup(text) : NULL;
    event_push(c, n);
}

void
event_error(struct client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct ev_node *n = event_new(CLIENT_EV_ERROR);
    n->ev.text = sm_xvasprintf(fmt, ap);
    va_end(ap);
    event_push(c, n);
}

size_t
client_drain(struct client *c, client_event_fn cb, void *arg)
{
    /* Take the queue: events the callbacks cause wait for the next drain. */
    struct ev_queue q = STAILQ_HEAD_INITIALIZER(q);
    STAILQ_CONCAT(&q, &c->events);
    c->ev_count = 0;
    uint64_t dropped = c->ev_dropped;
    c->ev_dropped = 0;
    size_t count = 0;
    if (dropped) {
        struct client_event lag = {.type = CLIENT_EV_LAG, .dropped = dropped};
        cb(arg, &lag);
        count++;
    }
    struct ev_node *n;
    while ((n = STAILQ_FIRST(&q)) != NULL) {
        STAILQ_REMOVE_HEAD(&q, link);
        cb(arg, &n->ev);
        event_done(&n->ev);
        free(n);
        count++;
    }
    return count;
}
