/* routes_ingest.c: POST /ingest. A worker authenticates the agent, decodes one sample
 * (any of the three shapes) or a batch {"host":{...},"samples":[...]}, and turns each
 * sample into series points; the writer commits them and only then replies. */
#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "handler.h"
#include "http.h"
#include "json.h"
#include "sample.h"
#include "series.h"
#include "store.h"
#include "xmalloc.h"

#define INGEST_BATCH_MAX 1000 /* samples per request */

/* A store_batch with the memory it points into. */
struct ingest {
    struct store_batch b; /* first: the writer frees through it */
    struct store_point *points;
    size_t npoints, pcap;
    size_t *label_off;    /* per point: offset into labels, fixed up at the end */
    size_t lcap;          /* of label_off (sm_xgrow, as pcap of points) */
    struct sm_buf labels; /* "key=value" strings, each with its NUL */
    char *host_json, *latest_json;
    char **procs; /* per sample: its process snapshot (JSON), or NULL */
};

/* The sample of the batch whose snapshot stands for the current run's minute. */
struct procs_best {
    int have;
    int64_t minute;
    double cpu;
    size_t i;
};

static void
ingest_free(struct store_batch *b)
{
    struct ingest *in = (struct ingest *)b;
    if (!in)
        return;
    for (size_t i = 0; in->procs && i < in->b.nsamples; i++)
        free(in->procs[i]);
    free(in->procs);
    free(in->b.samples);
    free(in->points);
    free(in->label_off);
    sm_buf_done(&in->labels);
    cJSON_free(in->host_json);
    free(in->latest_json);
    free(in);
}

/* Append a point with at most one label, lkey=lval (lkey NULL: none). */
static void
point(struct ingest *in, const char *name, double value, const char *lkey, const char *lval)
{
    if (!isfinite(value))
        return;
    size_t klen = lkey ? strlen(lkey) : 0, vlen = lkey ? strlen(lval) : 0;
    size_t need = (lkey ? klen + 1 + vlen : 0) + 1;
    if (sm_buf_reserve(&in->labels, need) != SM_OK)
        return; /* not reached: the labels come from a sample within the body cap */
    in->points = sm_xgrow(in->points, &in->pcap, in->npoints + 1, sizeof *in->points);
    in->label_off = sm_xgrow(in->label_off, &in->lcap, in->npoints + 1, sizeof *in->label_off);
    in->label_off[in->npoints] = in->labels.len;
    /* "key=value" (formatting with snprintf here was a visible share of ingest time). */
    char *l = in->labels.data + in->labels.len;
    if (lkey) {
        memcpy(l, lkey, klen);
        l[klen] = '=';
        memcpy(l + klen + 1, lval, vlen);
    }
    l[need - 1] = '\0';
    sm_buf_added(&in->labels, need);
    in->points[in->npoints++] = (struct store_point){.name = name, .value = value};
}

/* One value of the series table: a point of this request. */
static void
table_point(void *arg, const struct sm_series_def *def, const char *lval, double v)
{
    point(arg, def->name, v, sm_series_label_key(def->over), lval);
}

/* The series of one sample (lib/series.c, docs/DESIGN.md section 5 names). */
static void
sample_points(struct ingest *in, const struct sm_sample *s)
{
    sm_series_each(s, 0, table_point, in);
}

/* The sample's process list as the snapshot the store keeps for its minute (store.h,
 * "Process snapshots"): none when it has no process. Only a sample that can win its
 * minute is encoded (encoding is most of a snapshot's cost): of a run of samples of one
 * minute in the batch, one busier than the run's best so far, whose own snapshot is then
 * dropped. The store still keeps the busiest over every batch. */
static void
sample_procs(struct ingest *in, size_t i, const struct sm_sample *s, struct procs_best *best)
{
    if (!(s->have & SM_HAVE_PROCS) || s->nprocs == 0)
        return;
    double cpu = 0;
    for (size_t k = 0; k < s->nprocs; k++)
        if (isfinite(s->procs[k].cpu_percent))
            cpu += s->procs[k].cpu_percent;
    int64_t ms = in->b.samples[i].ts_ms;
    int64_t minute = ms >= 0 ? ms / 60000 : -((-(ms + 1)) / 60000) - 1;
    if (best->have && best->minute == minute) {
        if (cpu <= best->cpu)
            return;
        free(in->procs[best->i]);
        in->procs[best->i] = NULL;
        in->b.samples[best->i].procs_json = NULL;
    }
    in->procs[i] = sm_sample_procs_json(s);
    in->b.samples[i].procs_json = in->procs[i];
    in->b.samples[i].procs_cpu = cpu;
    *best = (struct procs_best){1, minute, cpu, i};
}

/* Decode item i (-1: the single sample) into s; cause names the field. */
static enum sm_rc
decode(const cJSON *item, long i, double now, struct sm_sample *s, char **cause)
{
    char *why = NULL;
    enum sm_rc rc = sm_sample_from_json(item, now, s, &why);
    if (rc != SM_OK) {
        if (i >= 0)
            *cause = sm_xasprintf("samples[%ld]: %s", i, why ? why : sm_rc_str(rc));
        else
            *cause = why ? sm_xstrdup(why) : sm_xstrdup(sm_rc_str(rc));
    }
    free(why);
    return rc;
}

static enum sm_rc
ingest(struct call *c, char **cause)
{
    cJSON *root = NULL;
    struct ingest *in = sm_xcalloc(1, sizeof *in);
    sm_buf_init(&in->labels, SIZE_MAX, 0); /* bounded by the body cap through the decoder */
    struct sm_sample s;
    sm_sample_init(&s);
    enum sm_rc rc = http_body_object(c->req, &root, cause);
    if (rc != SM_OK)
        goto fail;
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(root, "samples");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(root, "host");
    size_t n = 1;
    if (samples) {
        if (!cJSON_IsArray(samples)) {
            *cause = sm_xstrdup("samples: must be an array of sample objects");
            rc = SM_EINVAL;
            goto fail;
        }
        n = (size_t)cJSON_GetArraySize(samples);
        if (n == 0) {
            *cause = sm_xstrdup("samples: must not be empty");
            rc = SM_EINVAL;
            goto fail;
        }
        if (n > INGEST_BATCH_MAX) {
            *cause = sm_xasprintf("samples: at most %d per request", INGEST_BATCH_MAX);
            rc = SM_ETOOBIG;
            goto fail;
        }
    }
    if (host && !cJSON_IsNull(host)) {
        struct sm_host h;
        char *why = NULL;
        memset(&h, 0, sizeof h);
        if (!cJSON_IsObject(host)) {
            *cause = sm_xstrdup("host: must be an object");
            rc = SM_EINVAL;
            goto fail;
        }
        if ((rc = sm_host_from_json(host, &h, &why)) != SM_OK) {
            *cause = sm_xasprintf("host: %s", why ? why : sm_rc_str(rc));
            free(why);
            goto fail;
        }
        cJSON *hj = sm_host_to_json(&h);
        in->host_json = cJSON_PrintUnformatted(hj);
        cJSON_Delete(hj);
    }
    in->b.samples = sm_xcalloc(n, sizeof *in->b.samples);
    in->b.nsamples = n;
    struct procs_best best = {0, 0, 0, 0};
    if (c->env->process_snapshots)
        in->procs = sm_xcalloc(n, sizeof *in->procs);
    size_t *first = sm_xcalloc(n, sizeof *first);
    const cJSON *item = samples ? samples->child : root;
    const cJSON *newest = NULL;
    double newest_ts = -HUGE_VAL;
    for (size_t i = 0; i < n; i++, item = item->next) {
        if (samples && !cJSON_IsObject(item)) {
            *cause = sm_xasprintf("samples[%zu]: must be an object", i);
            rc = SM_EINVAL;
            free(first);
            goto fail;
        }
        if ((rc = decode(item, samples ? (long)i : -1, c->now, &s, cause)) != SM_OK) {
            free(first);
            goto fail;
        }
        first[i] = in->npoints;
        sample_points(in, &s);
        in->b.samples[i].ts_ms = llround(s.timestamp * 1000.0);
        in->b.samples[i].npoints = in->npoints - first[i];
        if (in->procs)
            sample_procs(in, i, &s, &best);
        if (s.timestamp > newest_ts) {
            newest_ts = s.timestamp;
            newest = item;
        }
    }
    /* Arrays are final now: point into them (none when no sample had a metric). */
    for (size_t i = 0; i < n; i++)
        in->b.samples[i].points = in->points ? in->points + first[i] : NULL;
    for (size_t k = 0; k < in->npoints; k++)
        in->points[k].labels = in->labels.data + in->label_off[k];
    free(first);
    /* The newest sample in full, for the live stream's first snapshot. */
    char *ignored = NULL;
    if (newest && decode(newest, -1, c->now, &s, &ignored) == SM_OK) {
        in->latest_json = sm_sample_encode(&s);
        in->b.latest_json = in->latest_json;
        in->b.latest_ts_ms = llround(newest_ts * 1000.0);
    }
    free(ignored);
    in->b.agent_id = c->agent.id;
    /* The live stream may not know this agent yet: the admin CLI can create agents while
     * the server runs. */
    c->ev.kind = CALL_EV_AGENT_SEEN;
    c->ev.agent_id = c->agent.id;
    c->ev.user_id = c->agent.user_id;
    sm_strlcpy(c->ev.name, c->agent.name, sizeof c->ev.name);
    in->b.now = (int64_t)c->now;
    in->b.host_json = in->host_json;
    c->batch = &in->b;
    c->batch_free = ingest_free;
    in = NULL;
    rc = SM_OK;
fail:
    sm_sample_done(&s);
    cJSON_Delete(root);
    ingest_free(in ? &in->b : NULL);
    return rc;
}

const struct route routes_ingest[] = {
    {HTTP_POST, "/ingest", ingest, ROUTE_AGENT, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
