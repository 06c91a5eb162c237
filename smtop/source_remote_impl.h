/* source_remote_impl.h: the state that source_remote*.c share (source_remote.h is what
 * the rest of smtop sees). */
#ifndef SM_SMTOP_SOURCE_REMOTE_IMPL_H
#define SM_SMTOP_SOURCE_REMOTE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "collect/depth.h"
#include "model.h"
#include "source_remote.h"

#define REMOTE_HIST_MAX 64 /* cached history series */

struct hist_slot {
    int host_id;
    char series[MODEL_SERIES_LEN];
    double range, offset;
    size_t points;
    uint64_t req_id; /* pending request, 0 when none */
    double asked;    /* monotonic time of the request */
    double used;     /* last asked for by a view (for eviction) */
    struct remote_history h;
};

/* The host depth of the host a view last asked for, converted once per sample. */
struct remote_depth {
    int valid, host_id;
    double timestamp; /* of the sample converted */
    uint64_t seq;
    unsigned long gen; /* bumped at each conversion */
    struct sm_depth_sample d;
};

struct source_remote {
    struct model *m;
    struct client *c;
    int ready;
    enum client_state state;
    double retry_at; /* monotonic */
    char *state_text;
    char *error;
    int in_snapshot;
    char *url;
    int history_news;
    int alerts_fetched; /* a CLIENT_EV_ALERTS arrived (whatever its outcome) */
    int alerts_status;  /* its status: 200, 404 (a server without alerts), 0 no reply */
    int *seen;          /* agent ids in the snapshot being read */
    size_t nseen, seen_cap;
    struct hist_slot hist[REMOTE_HIST_MAX];
    /* The stored series of one host (GET /history/{id}/series), for the history list. */
    struct {
        int host_id;
        uint64_t req_id; /* pending, 0 when none */
        double asked, fetched;
    } list;
    struct remote_depth depth;
    /* The process snapshot of one past minute (GET /history/{id}/processes). */
    struct {
        struct remote_procs p;
        uint64_t req_id; /* pending, 0 when none */
        double asked, fetched;
    } procs;
};

/* Free the history cache's points (source_remote_free). */
void remote_history_free(struct source_remote *src);
/* A reply to GET /history/{id}/series?... applied to its cache slot. */
void remote_history_reply(struct source_remote *src, struct client_event *ev);
/* A reply to GET /history/{id}/series: the host's stored series declared in the model. */
void remote_series_reply(struct source_remote *src, struct client_event *ev);
/* A reply to GET /history/{id}/processes: the snapshot replaces the cached one. */
void remote_procs_reply(struct source_remote *src, struct client_event *ev);
/* GET /alerts and /alerts/active answered: they replace the alerts known. */
void remote_alerts_reply(struct source_remote *src, struct client_event *ev);
/* One {"type":"alert",...} from the stream applied to the model. */
void remote_alert_message(struct source_remote *src, struct client_event *ev);

#endif
