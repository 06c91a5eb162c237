/* fleet.c: the fleet table as data, sorted and filtered; and its batch-mode frame. */
#include "config.h"

#include "fleet.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format.h"

static const struct {
    const char *key, *title;
} cols[FLEET_NCOLS] = {
    [FLEET_NAME] = {"name", "NAME"}, [FLEET_STATE] = {"state", "STATE"},
    [FLEET_CPU] = {"cpu", "CPU%"},   [FLEET_LOAD] = {"load", "LOAD"},
    [FLEET_MEM] = {"mem", "MEM%"},   [FLEET_DISK] = {"disk", "DISK%"},
    [FLEET_TEMP] = {"temp", "TEMP"}, [FLEET_GPU] = {"gpu", "GPU%"},
    [FLEET_RX] = {"rx", "RX/s"},     [FLEET_TX] = {"tx", "TX/s"},
    [FLEET_SEEN] = {"seen", "SEEN"},
};

const char *
fleet_col_title(enum fleet_col col)
{
    return cols[col].title;
}

int
fleet_col_parse(const char *name)
{
    for (int i = 0; i < FLEET_NCOLS; i++)
        if (strcasecmp(name, cols[i].key) == 0)
            return i;
    return -1;
}

/* Case-insensitive substring. */
static int
contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

/* The hottest temperature sensor of s; -HUGE_VAL when it has none. */
static double
hottest(const struct sm_sample *s)
{
    double t = -HUGE_VAL;
    for (size_t i = 0; i < s->nsensors; i++)
        if (strcmp(s->sensors[i].kind, "temp") == 0 && isfinite(s->sensors[i].celsius) &&
            s->sensors[i].celsius > t)
            t = s->sensors[i].celsius;
    return t;
}

/* The busiest GPU's busy percentage in s; -1 when none gives one. */
static double
gpu_busiest(const struct sm_sample *s)
{
    double b = -1;
    for (size_t i = 0; i < s->ngpus; i++)
        if (isfinite(s->gpus[i].busy_percent) && s->gpus[i].busy_percent > b)
            b = s->gpus[i].busy_percent;
    return b;
}

int
fleet_col_any(const struct model *m, enum fleet_col col)
{
    if (col != FLEET_TEMP && col != FLEET_GPU)
        return col < FLEET_NCOLS;
    for (size_t i = 0; i < m->nhosts; i++) {
        const struct model_host *h = m->hosts[i];
        if (h->have_last &&
            (col == FLEET_TEMP ? isfinite(hottest(&h->last)) : gpu_busiest(&h->last) >= 0))
            return 1;
    }
    return 0;
}

static void
row_fill(struct fleet_row *r, const struct model_host *h, double now)
{
    memset(r, 0, sizeof *r);
    r->h = h;
    r->online = h->online;
    r->seen_ago = h->last_seen > 0 ? now - h->last_seen : -1;
    r->have = h->have_last;
    r->disk = -1;
    if (h->have_last) {
        const struct sm_sample *s = &h->last;
        r->cpu = s->have & SM_HAVE_CPU ? s->cpu.usage : -1;
        r->load = s->have & SM_HAVE_LOAD ? s->cpu.load[0] : -1;
        r->mem = sm_sample_has(s, SM_HAVE_MEM, SM_MISS_MEM_PERCENT) ? s->mem.used_percent : -1;
        for (size_t i = 0; i < s->nfs; i++)
            if (s->fs[i].percent > r->disk) {
                r->disk = s->fs[i].percent;
                r->disk_mount = s->fs[i].mount;
            }
        r->rx = sm_sample_has(s, SM_HAVE_NET, SM_MISS_NET_RX_RATE) ? s->net.rx_bps : -1;
        r->tx = sm_sample_has(s, SM_HAVE_NET, SM_MISS_NET_TX_RATE) ? s->net.tx_bps : -1;
        r->temp = hottest(s);
        r->gpu = gpu_busiest(s);
    } else {
        r->cpu = r->load = r->mem = r->rx = r->tx = r->gpu = -1;
        r->temp = -HUGE_VAL;
    }
    if (!r->online)
        r->problems |= FLEET_P_OFFLINE;
    if (r->cpu >= FLEET_CPU_HIGH)
        r->problems |= FLEET_P_CPU;
    if (r->mem >= FLEET_MEM_HIGH)
        r->problems |= FLEET_P_MEM;
    if (r->disk >= FLEET_DISK_HIGH)
        r->problems |= FLEET_P_DISK;
}

static double
key_of(const struct fleet_row *r, enum fleet_col col)
{
    switch (col) {
    case FLEET_STATE:
        return r->online ? 1 : 0;
    case FLEET_CPU:
        return r->cpu;
    case FLEET_LOAD:
        return r->load;
    case FLEET_MEM:
        return r->mem;
    case FLEET_DISK:
        return r->disk;
    case FLEET_TEMP:
        return r->temp;
    case FLEET_GPU:
        return r->gpu;
    case FLEET_RX:
        return r->rx;
    case FLEET_TX:
        return r->tx;
    case FLEET_SEEN:
        return r->seen_ago < 0 ? HUGE_VAL : r->seen_ago;
    case FLEET_NAME:
    case FLEET_NCOLS:
        break;
    }
    return 0;
}

struct sort_ctx {
    enum fleet_col col;
    int desc;
};
static struct sort_ctx sort_by; /* qsort has no argument; the UI thread only */

static int
row_cmp(const void *a, const void *b)
{
    const struct fleet_row *x = a, *y = b;
    if (sort_by.col != FLEET_NAME) {
        double kx = key_of(x, sort_by.col), ky = key_of(y, sort_by.col);
        if (kx != ky)
            return (kx < ky ? -1 : 1) * (sort_by.desc ? -1 : 1);
    }
    int c = strcasecmp(x->h->name, y->h->name);
    if (sort_by.col == FLEET_NAME && sort_by.desc)
        c = -c;
    return c ? c : (x->h->id < y->h->id ? -1 : x->h->id > y->h->id);
}

size_t
fleet_rows(const struct model *m, const char *filter, enum fleet_col col, int desc, double now,
           struct fleet_row *rows, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nhosts && n < cap; i++) {
        const struct model_host *h = m->hosts[i];
        if (filter && filter[0] && !contains(h->name, filter))
            continue;
        row_fill(&rows[n], h, now);
        rows[n].alerts = model_alerts_of(m, h->id, 0, &rows[n].alert);
        if (rows[n].alerts)
            rows[n].problems |= FLEET_P_ALERT;
        n++;
    }
    sort_by.col = col;
    sort_by.desc = desc;
    if (n > 1)
        qsort(rows, n, sizeof *rows, row_cmp);
    return n;
}

/* "12s", "5m", "3h", "2d"; "never". */
static char *
fmt_ago(char *buf, size_t len, double s)
{
    if (s < 0)
        snprintf(buf, len, "never");
    else if (s < 90)
        snprintf(buf, len, "%.0fs", s < 0.5 ? 0 : s);
    else if (s < 90 * 60)
        snprintf(buf, len, "%.0fm", s / 60);
    else if (s < 36 * 3600)
        snprintf(buf, len, "%.0fh", s / 3600);
    else
        snprintf(buf, len, "%.0fd", s / 86400);
    return buf;
}

char *
fleet_cell(const struct fleet_row *r, enum fleet_col col, char *buf, size_t len)
{
    double v = key_of(r, col);
    switch (col) {
    case FLEET_NAME:
        /* A host with a firing alert is marked with a leading "!". */
        snprintf(buf, len, "%s%s", r->alerts ? "!" : "", r->h->name[0] ? r->h->name : "?");
        break;
    case FLEET_STATE:
        snprintf(buf, len, "%s", r->online ? "online" : "offline");
        break;
    case FLEET_TEMP:
        if (!isfinite(v))
            snprintf(buf, len, "-");
        else
            snprintf(buf, len, "%.0f", v);
        break;
    case FLEET_CPU:
    case FLEET_MEM:
    case FLEET_DISK:
    case FLEET_GPU:
        if (v < 0)
            snprintf(buf, len, "-");
        else
            snprintf(buf, len, "%.1f", v);
        break;
    case FLEET_LOAD:
        if (v < 0)
            snprintf(buf, len, "-");
        else
            snprintf(buf, len, "%.2f", v);
        break;
    case FLEET_RX:
    case FLEET_TX:
        if (v < 0)
            snprintf(buf, len, "-");
        else
            fmt_bytes(buf, len, v);
        break;
    case FLEET_SEEN:
        fmt_ago(buf, len, r->seen_ago);
        break;
    case FLEET_NCOLS:
        buf[0] = '\0';
        break;
    }
    return buf;
}

int
fleet_text_frame(FILE *out, const struct model *m, double now, const char *status)
{
    time_t tt = (time_t)now;
    struct tm tm;
    char when[32], cell[64];
    localtime_r(&tt, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    size_t online = 0;
    for (size_t i = 0; i < m->nhosts; i++)
        online += m->hosts[i]->online != 0;
    fprintf(out, "smtop fleet - %s  %zu agents, %zu online  %s\n", when, m->nhosts, online, status);
    static const int width[FLEET_NCOLS] = {-20, -7, 6, 6, 6, 6, 5, 6, 7, 7, 6};
    int show[FLEET_NCOLS];
    for (int c = 0; c < FLEET_NCOLS; c++)
        show[c] = fleet_col_any(m, (enum fleet_col)c);
    for (int c = 0; c < FLEET_NCOLS; c++)
        if (show[c])
            fprintf(out, "%s%*s", c ? " " : "", width[c], fleet_col_title((enum fleet_col)c));
    fputc('\n', out);
    struct fleet_row *rows = calloc(m->nhosts ? m->nhosts : 1, sizeof *rows);
    if (rows == NULL)
        return -1;
    size_t n = fleet_rows(m, NULL, FLEET_NAME, 0, now, rows, m->nhosts);
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < FLEET_NCOLS; c++)
            if (show[c])
                fprintf(out, "%s%*.*s", c ? " " : "", width[c], abs(width[c]),
                        fleet_cell(&rows[i], (enum fleet_col)c, cell, sizeof cell));
        fputc('\n', out);
    }
    free(rows);
    fleet_alert_lines(out, m, now);
    fputc('\n', out);
    return ferror(out) ? -1 : 0;
}

/* The name of agent id, or "agent N". */
static const char *
agent_name(const struct model *m, int id, char *buf, size_t len)
{
    const struct model_host *h = model_host_find(m, id);
    if (h && h->name[0])
        return h->name;
    snprintf(buf, len, "agent %d", id);
    return buf;
}

char *
fleet_alert_text(const struct model *m, const struct model_alert *a, double now, char *buf,
                 size_t len)
{
    char who[32], since[32], val[32] = "";
    fmt_ago(since, sizeof since, a->since > 0 ? now - a->since : -1);
    if (isfinite(a->value) && strcmp(a->metric, "agent.offline") != 0)
        snprintf(val, sizeof val, " = %.4g", a->value);
    snprintf(buf, len, "%-8s %-7s %s  %s  %s%s%s%s%s  since %s", a->severity,
             a->firing ? "firing" : "pending", a->name, agent_name(m, a->agent_id, who, sizeof who),
             a->metric, a->labels[0] ? "{" : "", a->labels, a->labels[0] ? "}" : "", val, since);
    return buf;
}

void
fleet_alert_lines(FILE *out, const struct model *m, double now)
{
    char line[600];
    for (size_t i = 0; i < m->nalerts; i++)
        fprintf(out, "ALERT %s\n", fleet_alert_text(m, &m->alerts[i], now, line, sizeof line));
}

cJSON *
fleet_alert_json(const struct model *m, const struct model_alert *a)
{
    (void)m;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rule_id", (double)a->rule_id);
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "metric", a->metric);
    cJSON_AddStringToObject(o, "labels", a->labels);
    cJSON_AddStringToObject(o, "severity", a->severity);
    cJSON_AddStringToObject(o, "state", a->firing ? "firing" : "pending");
    if (isfinite(a->value))
        cJSON_AddNumberToObject(o, "value", a->value);
    cJSON_AddNumberToObject(o, "since", a->since);
    return o;
}

int
fleet_json_frame(FILE *out, const struct model *m)
{
    for (size_t i = 0; i < m->nhosts; i++) {
        const struct model_host *h = m->hosts[i];
        cJSON *j = h->have_last ? sm_sample_to_json(&h->last) : cJSON_CreateObject();
        if (j == NULL)
            abort();
        cJSON_AddNumberToObject(j, "agent_id", h->id);
        cJSON_AddStringToObject(j, "name", h->name);
        cJSON_AddBoolToObject(j, "online", h->online);
        cJSON_AddNumberToObject(j, "last_seen", h->last_seen);
        if (h->have_last && isfinite(hottest(&h->last)))
            cJSON_AddNumberToObject(j, "hottest_celsius", hottest(&h->last));
        if (h->have_last && gpu_busiest(&h->last) >= 0)
            cJSON_AddNumberToObject(j, "gpu_busy_percent", gpu_busiest(&h->last));
        if (h->have_facts)
            cJSON_AddItemToObject(j, "host", sm_host_to_json(&h->facts));
        cJSON *al = cJSON_AddArrayToObject(j, "alerts");
        for (size_t k = 0; k < m->nalerts; k++)
            if (m->alerts[k].agent_id == h->id)
                cJSON_AddItemToArray(al, fleet_alert_json(m, &m->alerts[k]));
        char *text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (text == NULL)
            abort();
        fputs(text, out);
        fputc('\n', out);
        free(text);
    }
    return ferror(out) ? -1 : 0;
}
