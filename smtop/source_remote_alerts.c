/* source_remote_alerts.c: alerts from the server (GET /alerts, /alerts/active and the
 * stream's alert messages) applied to the model. */
#include "config.h"

#include "source_remote.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "source_remote_impl.h"
#include "xmalloc.h"

/* Copy a JSON string field into dst (cut to len - 1; control characters become '?'). */
static void
copy_field(char *dst, size_t len, const cJSON *obj, const char *key, const char *dflt)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    snprintf(dst, len, "%s", v ? v : dflt);
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

/* A whole number >= 1 field, else -1. */
static long long
id_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9e15 ||
        v->valuedouble != floor(v->valuedouble))
        return -1;
    return (long long)v->valuedouble;
}

/* An alert from a stream message or an entry of GET /alerts/active; the rule's name,
 * metric and severity from the message itself or else from rules (GET /alerts). *state
 * points into obj. Returns 0, or -1 when obj is not an alert. */
static int
alert_from_json(const cJSON *obj, const cJSON *rules, struct model_alert *a, const char **state)
{
    memset(a, 0, sizeof *a);
    long long rule = id_field(obj, "rule_id"), agent = id_field(obj, "agent_id");
    *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "state"));
    if (rule < 0 || agent < 0 || agent > 0x7fffffff || *state == NULL)
        return -1;
    a->rule_id = rule;
    a->agent_id = (int)agent;
    copy_field(a->labels, sizeof a->labels, obj, "labels", "");
    const cJSON *r = NULL, *x;
    cJSON_ArrayForEach(x, rules)
    {
        if (id_field(x, "id") == rule) {
            r = x;
            break;
        }
    }
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(obj, "name") ? obj : r;
    char id[32];
    snprintf(id, sizeof id, "rule %lld", rule);
    copy_field(a->name, sizeof a->name, from, "name", id);
    copy_field(a->metric, sizeof a->metric, from, "metric", "?");
    copy_field(a->severity, sizeof a->severity, from, "severity", "warning");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "value");
    a->value = cJSON_IsNumber(v) ? v->valuedouble : (double)NAN;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "timestamp");
    a->since = cJSON_IsNumber(t) ? t->valuedouble : 0;
    a->firing = strcmp(*state, "firing") == 0;
    return 0;
}

/* GET /alerts and /alerts/active answered: they replace the alerts known. */
void
remote_alerts_reply(struct source_remote *src, struct client_event *ev)
{
    src->alerts_fetched = 1;
    src->alerts_status = ev->status;
    if (ev->status != 200) {
        /* 404: a server without alerts; nothing to show, nothing to complain about. */
        if (ev->status != 404) {
            free(src->error);
            src->error = sm_xasprintf("alerts: %s", ev->text ? ev->text : "no reply");
            src->m->generation++;
        }
        return;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(ev->body, "rules");
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(ev->body, "active");
    size_t n = (size_t)cJSON_GetArraySize(active), k = 0;
    if (n > MODEL_ALERTS_MAX)
        n = MODEL_ALERTS_MAX;
    struct model_alert *list = sm_xcalloc(n ? n : 1, sizeof *list);
    const cJSON *x;
    cJSON_ArrayForEach(x, active)
    {
        const char *state;
        if (k == n)
            break;
        if (alert_from_json(x, rules, &list[k], &state) == 0 &&
            (strcmp(state, "firing") == 0 || strcmp(state, "pending") == 0))
            k++;
    }
    /* A live change that came while the request ran is newer than its answer. */
    model_alerts_replace(src->m, list, k, ev->asked - 1);
    free(list);
}

/* One {"type":"alert",...} from the stream. */
void
remote_alert_message(struct source_remote *src, struct client_event *ev)
{
    struct model_alert a;
    const char *state;
    if (alert_from_json(ev->body, NULL, &a, &state) != 0) {
        free(src->error);
        src->error = sm_xstrdup("stream: an alert message without rule_id, agent_id or state");
        src->m->generation++;
        return;
    }
    a.set_at = sm_mono_now();
    model_alert_apply(src->m, &a, state);
}

int
source_remote_alerts_fetched(const struct source_remote *src)
{
    return src->alerts_fetched;
}
