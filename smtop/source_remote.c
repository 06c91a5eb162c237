/* source_remote.c: where remote samples come from (server mode): the client started
 * after login, and its events applied to the model - agents, samples, status - and to
 * the connection line on the screen. History and alerts: source_remote_history.c and
 * source_remote_alerts.c. */
#include "config.h"

#include "source_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "source_remote_impl.h"
#include "xmalloc.h"

struct pw_from {
    const char *file, *user;
};

static char *
ask_password(void *arg, char **cause)
{
    const struct pw_from *p = arg;
    return client_password(p->file, p->user, cause);
}

struct source_remote *
source_remote_new(struct model *m, const struct smtop_opts *o, struct lws_context *ctx,
                  int *exit_code, char **cause)
{
    struct client_options co = {.url = o->server, .user = o->user, .ctx = ctx};
    struct client *c = NULL;
    enum sm_rc rc = client_new(&co, &c, cause);
    if (rc != SM_OK) {
        *exit_code = 2;
        return NULL;
    }
    int used_password;
    struct pw_from pf = {o->password_file, o->user};
    rc = client_login(c, ask_password, &pf, &used_password, cause);
    if (rc == SM_EIO && !used_password) {
        /* A stored session and the server away: start anyway and keep trying, as after a
         * restart of the server. */
        free(*cause);
        *cause = NULL;
        rc = SM_OK;
    }
    if (rc == SM_OK)
        rc = client_start(c, cause);
    if (rc != SM_OK) {
        client_free(c);
        *exit_code = 1;
        return NULL;
    }
    struct source_remote *src = sm_xcalloc(1, sizeof *src);
    src->m = m;
    src->c = c;
    src->state = CLIENT_CONNECTING;
    src->url = sm_xstrdup(o->server);
    sm_depth_sample_init(&src->depth.d);
    return src;
}

void
source_remote_free(struct source_remote *src)
{
    if (src == NULL)
        return;
    client_free(src->c);
    remote_history_free(src);
    sm_depth_sample_done(&src->depth.d);
    free(src->seen);
    free(src->url);
    free(src->state_text);
    free(src->error);
    free(src);
}

int
source_remote_ready(const struct source_remote *src)
{
    return src->ready;
}

int
source_remote_live(const struct source_remote *src)
{
    return src->state == CLIENT_LIVE;
}

const char *
source_remote_error(const struct source_remote *src)
{
    return src->error;
}

const char *
source_remote_status(const struct source_remote *src, double now, char *buf, size_t len)
{
    const char *why = src->state_text ? src->state_text : "";
    switch (src->state) {
    case CLIENT_CONNECTING:
        snprintf(buf, len, "connecting");
        break;
    case CLIENT_LIVE:
        snprintf(buf, len, "live");
        break;
    case CLIENT_RECONNECTING: {
        double left = src->retry_at - now;
        if (src->ready)
            snprintf(buf, len, "reconnecting in %.0fs: %s", left > 0 ? left + 0.5 : 0, why);
        else {
            /* The client's reasons often start with the URL already. */
            size_t ul = strlen(src->url);
            if (strncmp(why, src->url, ul) == 0 && why[ul] == ':' && why[ul + 1] == ' ')
                why += ul + 2;
            snprintf(buf, len, "connecting to %s: %s; retrying in %.0fs", src->url, why,
                     left > 0 ? left + 0.5 : 0);
        }
        break;
    }
    case CLIENT_AUTH_FAILED:
        snprintf(buf, len, "%s", why);
        break;
    }
    return buf;
}

static int
id_ok(int64_t id)
{
    return id > 0 && id <= 0x7fffffff;
}

static void
snapshot_end(struct source_remote *src)
{
    /* Hosts the server no longer lists were removed while we were away. */
    for (size_t i = src->m->nhosts; i-- > 0;) {
        int id = src->m->hosts[i]->id;
        int keep = 0;
        for (size_t j = 0; j < src->nseen && !keep; j++)
            keep = src->seen[j] == id;
        if (!keep)
            model_host_remove(src->m, id);
    }
    src->in_snapshot = 0;
    src->ready = 1;
}

static void
on_event(void *arg, struct client_event *ev)
{
    struct source_remote *src = arg;
    struct model *m = src->m;
    int id = id_ok(ev->agent_id) ? (int)ev->agent_id : 0;
    switch (ev->type) {
    case CLIENT_EV_STATE:
        src->state = ev->state;
        src->retry_at = sm_mono_now() + ev->retry_in;
        free(src->state_text);
        src->state_text = ev->text ? sm_xstrdup(ev->text) : NULL;
        if (ev->state == CLIENT_LIVE) {
            free(src->error);
            src->error = NULL;
        }
        m->generation++;
        break;
    case CLIENT_EV_SNAPSHOT_BEGIN:
        src->in_snapshot = 1;
        src->nseen = 0;
        break;
    case CLIENT_EV_SNAPSHOT_END:
        snapshot_end(src);
        m->generation++;
        break;
    case CLIENT_EV_AGENT:
        if (!id)
            break;
        if (src->in_snapshot) {
            src->seen = sm_xgrow(src->seen, &src->seen_cap, src->nseen + 1, sizeof *src->seen);
            src->seen[src->nseen++] = id;
        }
        if (ev->sample)
            model_add_sample(m, id, ev->sample);
        if (ev->have_host)
            model_set_facts(m, id, &ev->host);
        model_set_name(m, id, ev->name);
        /* After the sample, which marks the host online: the server knows better. */
        if (ev->online >= 0)
            model_set_status(m, id, ev->online, ev->last_seen);
        break;
    case CLIENT_EV_SAMPLE:
        if (id)
            model_add_sample(m, id, ev->sample);
        break;
    case CLIENT_EV_STATUS:
        if (id)
            model_set_status(m, id, ev->online, ev->last_seen);
        break;
    case CLIENT_EV_REMOVED:
        if (id)
            model_host_remove(m, id);
        break;
    case CLIENT_EV_LAG:
        free(src->error);
        src->error = sm_xasprintf("%llu live messages dropped (this terminal fell behind)",
                                  (unsigned long long)ev->dropped);
        m->generation++;
        break;
    case CLIENT_EV_ERROR:
        free(src->error);
        src->error = sm_xstrdup(ev->text ? ev->text : "error");
        m->generation++;
        break;
    case CLIENT_EV_REPLY:
        if (ev->req_id != 0 && ev->req_id == src->list.req_id)
            remote_series_reply(src, ev);
        else if (ev->req_id != 0 && ev->req_id == src->procs.req_id)
            remote_procs_reply(src, ev);
        else
            remote_history_reply(src, ev);
        break;
    case CLIENT_EV_ALERT:
        remote_alert_message(src, ev);
        break;
    case CLIENT_EV_ALERTS:
        remote_alerts_reply(src, ev);
        break;
    }
}

size_t
source_remote_drain(struct source_remote *src)
{
    return client_drain(src->c, on_event, src);
}
