/* server_listen.c: the live stream across instances: the thread that receives, through
 * the database (store_listen), the batches (and logouts and agent deletions) other
 * instances committed, and hands each to
 * the event loop as if this instance had written it: the hub streams its newest sample
 * to this instance's viewers and, while this instance leads them, the alert rules judge
 * its samples (events_apply). Only on a backend several instances share. */
#include "config.h"

#include "server_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define LISTEN_WAIT_MS 200 /* how long a wait lasts before the stop flag is looked at */
#define LISTEN_RETRY_S 1   /* after a lost connection */

/* One batch of another instance: an internal job that events_apply treats as a durable
 * ingest of this agent; a logout or an agent's deletion there: the job that would have
 * told this instance's stream and alerts had it been made here. Listener thread. */
static void
on_remote(struct store_remote *r, void *arg)
{
    struct server *srv = arg;
    struct job *j = sm_xcalloc(1, sizeof *j);
    j->internal = 1;
    if (r->kind != STORE_REMOTE_BATCH) {
        j->ev.kind = r->kind == STORE_REMOTE_LOGOUT ? CALL_EV_LOGOUT : CALL_EV_AGENT_REMOVED;
        j->ev.user_id = r->user_id;
        j->ev.agent_id = r->agent_id;
        store_remote_free(r);
        done_push(srv, j);
        return;
    }
    j->batch = r->batch;
    j->batch_free = store_remote_batch_free;
    r->batch = NULL;
    j->fresh = 1;
    j->resp.status = 200;
    j->ev.kind = CALL_EV_AGENT_SEEN;
    j->ev.agent_id = j->batch->agent_id;
    j->ev.user_id = r->user_id;
    memcpy(j->ev.name, r->name, sizeof j->ev.name);
    store_remote_free(r);
    done_push(srv, j);
}

static void
nap(struct server *srv, int seconds)
{
    for (int i = 0; i < seconds * 10 && !atomic_load(&srv->listen_stop); i++)
        nanosleep(&(struct timespec){0, 100000000L}, NULL);
}

void *
listen_main(void *arg)
{
    struct server *srv = arg;
    struct store *st = NULL;
    int lost = 0;
    while (!atomic_load(&srv->listen_stop)) {
        if (!st && !(st = thread_store(srv, "stream listener"))) {
            nap(srv, LISTEN_RETRY_S);
            continue;
        }
        /* The points of the batches feed the alert rules alone (the live stream sends
         * the newest sample, read back either way): only their leader reads them. */
        enum sm_rc rc =
            store_listen(st, LISTEN_WAIT_MS, atomic_load(&srv->lead_alerts_seen), on_remote, srv);
        if (rc == SM_OK) {
            if (lost)
                sm_log(SM_LOG_INFO, "live stream: listening to the other instances again");
            lost = 0;
            continue;
        }
        if (!lost)
            sm_log(SM_LOG_WARN, "live stream: cannot listen to the other instances (%s); retrying",
                   sm_rc_str(rc));
        lost = 1;
        nap(srv, LISTEN_RETRY_S);
    }
    store_free(st);
    return NULL;
}
