/* source_remote_history.c: history fetched from the server for the views (GET
 * /history/{id}/series?...), cached per series, the list of stored series per host, and
 * the process snapshot of one past minute (GET /history/{id}/processes). */
#include "config.h"

#include "source_remote.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "source_remote_impl.h"
#include "timerange.h"
#include "xmalloc.h"

#define REMOTE_SERIES_MAX 10000 /* stored series of one host taken from the server */

void
remote_history_free(struct source_remote *src)
{
    for (size_t i = 0; i < REMOTE_HIST_MAX; i++) {
        struct remote_history *h = &src->hist[i].h;
        free(h->ring.t);
        free(h->ring.v);
    }
    free(src->procs.p.v);
    src->procs.p.v = NULL;
}

int
source_remote_take_history_news(struct source_remote *src)
{
    int n = src->history_news;
    src->history_news = 0;
    return n;
}

/* Apply one history reply to its slot. */
void
remote_history_reply(struct source_remote *src, struct client_event *ev)
{
    struct hist_slot *s = NULL;
    for (size_t i = 0; i < REMOTE_HIST_MAX; i++)
        if (src->hist[i].req_id == ev->req_id && ev->req_id != 0)
            s = &src->hist[i];
    if (s == NULL)
        return; /* evicted meanwhile */
    s->req_id = 0;
    struct remote_history *h = &s->h;
    h->status = ev->status;
    h->fetched = sm_mono_now();
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev->body, "data");
    if (ev->status != 200 || !cJSON_IsArray(data)) {
        h->ring.len = 0;
        if (ev->status != 200) {
            free(src->error);
            src->error =
                sm_xasprintf("history of %s: %s", s->series, ev->text ? ev->text : "no reply");
        }
        src->m->generation++;
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(data);
    if (n > REMOTE_HIST_POINTS_MAX)
        n = REMOTE_HIST_POINTS_MAX;
    if (h->ring.cap < n || h->ring.cap == 0) {
        h->ring.cap = n ? n : 1;
        h->ring.t = sm_xreallocarray(h->ring.t, h->ring.cap, sizeof *h->ring.t);
        h->ring.v = sm_xreallocarray(h->ring.v, h->ring.cap, sizeof *h->ring.v);
    }
    h->ring.head = 0;
    size_t k = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, data)
    {
        if (k == n)
            break;
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "time"));
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "value");
        double tt;
        if (t == NULL || sm_time_parse_iso(t, 0, &tt) != SM_OK || !cJSON_IsNumber(v) ||
            (k > 0 && !(tt > h->ring.t[k - 1])))
            continue;
        h->ring.t[k] = tt;
        h->ring.v[k] = (float)v->valuedouble;
        k++;
    }
    h->ring.len = k;
    src->history_news = 1;
    src->m->generation++;
}

/* GET /history/{id}/series answered: every stored series becomes a (maybe empty) series
 * of the host, so the history view lists it. */
void
remote_series_reply(struct source_remote *src, struct client_event *ev)
{
    src->list.req_id = 0;
    src->list.fetched = sm_mono_now();
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ev->body, "series");
    if (ev->status != 200 || !cJSON_IsArray(list)) {
        if (ev->status != 404) {
            free(src->error);
            src->error = sm_xasprintf("series of agent %d: %s", src->list.host_id,
                                      ev->text ? ev->text : "no reply");
            src->m->generation++;
        }
        return;
    }
    size_t n = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, list)
    {
        if (n++ == REMOTE_SERIES_MAX)
            break;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "name"));
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(x, "labels");
        if (name == NULL)
            continue;
        char full[MODEL_SERIES_LEN];
        int len;
        const cJSON *l = cJSON_IsObject(labels) ? labels->child : NULL;
        if (l == NULL)
            len = snprintf(full, sizeof full, "%s", name);
        else if (l->next == NULL && cJSON_IsString(l))
            len = snprintf(full, sizeof full, "%s{%s=%s}", name, l->string, l->valuestring);
        else
            continue; /* several labels: not a series smtop can ask for */
        if (len < 0 || (size_t)len >= sizeof full)
            continue;
        model_series_declare(src->m, src->list.host_id, full);
    }
}

void
source_remote_series_list(struct source_remote *src, int host_id)
{
    double now = sm_mono_now();
    if (src->list.host_id == host_id) {
        if (src->list.req_id != 0 && now - src->list.asked < 30)
            return; /* asked; a lost reply is asked again after 30 s */
        if (src->list.req_id == 0 && src->list.fetched > 0 && now - src->list.fetched < 60)
            return;
    }
    char path[64];
    snprintf(path, sizeof path, "/history/%d/series", host_id);
    src->list.host_id = host_id;
    src->list.fetched = 0;
    src->list.req_id = client_get(src->c, path);
    src->list.asked = now;
}

/* Whether c may stand in a series query as it is (the server's label alphabet). */
static int
plain_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '/' || c == '-';
}

/* "cpu.core.usage{core=3}" -> "name=cpu.core.usage&core=3" (labels as the server filters
 * them); the space, ':', '@' and '+' of a label value (a sensor's "Package id 0", a GPU's
 * "0000:03:00.0", a unit's "user@1000.service") are percent-encoded. Any other character
 * outside the server's label alphabet makes the series unfetchable (-1). */
static int
series_query(const char *series, char *out, size_t len)
{
    const char *brace = strchr(series, '{');
    size_t nlen = brace ? (size_t)(brace - series) : strlen(series);
    const char *eq = brace ? strchr(brace, '=') : NULL;
    size_t blen = brace ? strlen(brace) : 0;
    if (brace && (eq == NULL || brace[blen - 1] != '}' || eq == brace + 1))
        return -1;
    size_t o = 0;
    int n = snprintf(out, len, "name=%.*s", (int)nlen, series);
    if (n < 0 || (size_t)n >= len)
        return -1;
    o = (size_t)n;
    for (size_t i = 0; i < nlen; i++)
        if (!plain_char(series[i]))
            return -1;
    if (brace == NULL)
        return 0;
    const char *key = brace + 1, *val = eq + 1, *vend = brace + blen - 1;
    if (val == vend || o + 1 + (size_t)(eq - key) + 1 >= len)
        return -1;
    out[o++] = '&';
    for (const char *p = key; p < eq; p++) {
        if (!plain_char(*p))
            return -1;
        out[o++] = *p;
    }
    out[o++] = '=';
    for (const char *p = val; p < vend; p++) {
        if (plain_char(*p)) {
            if (o + 1 >= len)
                return -1;
            out[o++] = *p;
        } else if (*p == ' ' || *p == ':' || *p == '@' || *p == '+') {
            if (o + 3 >= len)
                return -1;
            o += (size_t)snprintf(out + o, len - o, "%%%02X", (unsigned char)*p);
        } else {
            return -1;
        }
    }
    out[o] = '\0';
    return 0;
}

const struct remote_history *
source_remote_history(struct source_remote *src, int host_id, const char *series, double range,
                      double offset, size_t points, double max_age)
{
    double now = sm_mono_now();
    struct hist_slot *s = NULL, *lru = &src->hist[0];
    for (size_t i = 0; i < REMOTE_HIST_MAX; i++) {
        struct hist_slot *x = &src->hist[i];
        if (x->used > 0 && x->host_id == host_id && strcmp(x->series, series) == 0) {
            s = x;
            break;
        }
        if (x->used < lru->used)
            lru = x;
    }
    if (points < 2)
        points = 2;
    if (points > REMOTE_HIST_POINTS_MAX)
        points = REMOTE_HIST_POINTS_MAX;
    if (s == NULL) {
        s = lru;
        s->host_id = host_id;
        snprintf(s->series, sizeof s->series, "%s", series);
        s->h.ring.len = 0;
        s->h.fetched = 0;
        s->h.status = 0;
        s->req_id = 0;
        s->range = 0;
    }
    s->used = now;
    offset = offset < 1 ? 0 : floor(offset);
    int moved = s->range != range || s->offset != offset;
    int stale = s->h.fetched == 0 || now - s->h.fetched > max_age || moved || s->points != points;
    /* One request at a time per slot; a lost reply is asked again after 30 s. */
    if (stale && (s->req_id == 0 || now - s->asked > 30)) {
        char q[MODEL_SERIES_LEN + 32], path[MODEL_SERIES_LEN + 128];
        if (series_query(series, q, sizeof q) == 0) {
            char stop[32] = "now";
            if (offset > 0)
                snprintf(stop, sizeof stop, "-%.0fs", offset);
            snprintf(path, sizeof path, "/history/%d/series?%s&start=-%.0fs&stop=%s&points=%zu",
                     host_id, q, range + offset, stop, points);
            s->req_id = client_get(src->c, path);
            s->asked = now;
            if (moved)
                s->h.ring.len = 0; /* do not show another window's points meanwhile */
            s->range = range;
            s->offset = offset;
            s->points = points;
        }
    }
    return &s->h;
}

/* A whole number member of o, or dflt when absent or not a number. */
static double
num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : dflt;
}

static void
str(char *dst, size_t len, const cJSON *o, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    snprintf(dst, len, "%s", v ? v : "");
}

/* One entry of a snapshot's "processes" (statusmonitor(7)) as a row of the panel;
 * 0 when it is not one (no pid or no name). The panel filters control bytes. */
static int
proc_from_json(const cJSON *o, struct sm_proc *p)
{
    memset(p, 0, sizeof *p);
    double pid = num(o, "pid", -1);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
    if (!cJSON_IsObject(o) || pid < 1 || pid > INT32_MAX || !name)
        return 0;
    p->pid = (int32_t)pid;
    double ppid = num(o, "ppid", 0);
    p->ppid = ppid >= 0 && ppid <= INT32_MAX ? (int32_t)ppid : 0;
    str(p->user, sizeof p->user, o, "user");
    char st[4];
    str(st, sizeof st, o, "state");
    p->state = st[0] ? st[0] : '?';
    snprintf(p->comm, sizeof p->comm, "%s", name);
    str(p->cmdline, sizeof p->cmdline, o, "cmdline");
    p->have_cmdline = p->cmdline[0] != '\0';
    p->cpu_percent = num(o, "cpu_percent", 0);
    double rss = num(o, "rss_bytes", 0), thr = num(o, "threads", 0);
    p->rss = rss > 0 && rss < 1.8e19 ? (uint64_t)rss : 0;
    p->rss_exact = 1;
    p->threads = thr > 0 && thr <= UINT32_MAX ? (uint32_t)thr : 0;
    p->read_bps = num(o, "read_bytes_per_s", 0);
    p->write_bps = num(o, "write_bytes_per_s", 0);
    p->have_io = cJSON_GetObjectItemCaseSensitive(o, "read_bytes_per_s") != NULL;
    p->start_time = num(o, "start_time", 0);
    p->nice = 0;
    return 1;
}

void
remote_procs_reply(struct source_remote *src, struct client_event *ev)
{
    struct remote_procs *p = &src->procs.p;
    src->procs.req_id = 0;
    src->procs.fetched = sm_mono_now();
    p->status = ev->status ? ev->status : -1;
    p->n = 0;
    p->ts = 0;
    p->gen++;
    src->m->generation++;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ev->body, "processes");
    if (ev->status != 200 || !cJSON_IsArray(list)) {
        if (ev->status == 200)
            p->status = -1; /* not the reply of a server that keeps snapshots */
        return;
    }
    p->ts = num(ev->body, "ts", 0);
    if (!p->v)
        p->v = sm_xcalloc(REMOTE_PROCS_MAX, sizeof *p->v);
    const cJSON *x;
    cJSON_ArrayForEach(x, list)
    {
        if (p->n == REMOTE_PROCS_MAX)
            break;
        if (proc_from_json(x, &p->v[p->n]))
            p->n++;
    }
}

const struct remote_procs *
source_remote_procs(struct source_remote *src, int host_id, double at)
{
    struct remote_procs *p = &src->procs.p;
    double now = sm_mono_now();
    int64_t minute = (int64_t)floor(at / 60.0);
    int same = p->host_id == host_id && p->minute == minute;
    /* A minute that may still be filling (this one or the last) is asked again every
     * 10 s; one request at a time, and a lost reply is asked again after 30 s. */
    int filling = (minute + 2) * 60.0 > sm_wall_now() && now - src->procs.fetched > 10;
    if (same && src->procs.req_id == 0 && !filling)
        return p;
    if (same && src->procs.req_id != 0 && now - src->procs.asked < 30)
        return p;
    char path[96];
    /* The end of the minute: the server answers that minute or the newest before it. */
    snprintf(path, sizeof path, "/history/%d/processes?at=%lld", host_id,
             (long long)(minute * 60 + 59));
    if (!same) {
        p->host_id = host_id;
        p->minute = minute;
        p->status = 0;
        p->n = 0;
        p->ts = 0;
        p->gen++;
    }
    src->procs.req_id = client_get(src->c, path);
    src->procs.asked = now;
    return p;
}
