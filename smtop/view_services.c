/* view_services.c: systemd services and containers, busiest first: CPU, memory, IO rates
 * and task counts. Local mode: this machine's cgroup v2 tree (lib/collect/cgroup.h), its
 * reader started when the view is first opened. Server mode: the cgroups of the selected
 * agent's latest sample (source_remote_depth). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/cgroup.h"
#include "collect/depth.h"
#include "format.h"
#include "source_remote.h"
#include "views.h"
#include "xmalloc.h"

const struct key_binding services_keys[] = {
    {KEY_UP, "Up", 0, "select the group above"},
    {KEY_DOWN, "Down", 0, "select the group below"},
    {KEY_PPAGE, "PgUp", 0, "move the selection a page up"},
    {KEY_NPAGE, "PgDn", 0, "move the selection a page down"},
    {KEY_HOME, "Home", 0, "select the first group"},
    {KEY_END, "End", 0, "select the last group"},
    {0, NULL, 0, NULL},
};

static const struct table_col cols[] = {
    {"Name", 32, 0},  {"Kind", 10, 0},   {"CPU%", 6, 1},  {"Memory", 7, 1},
    {"Read/s", 9, 1}, {"Write/s", 9, 1}, {"Tasks", 5, 1}, {"Cgroup", 0, 0},
};
#define NCOLS (sizeof cols / sizeof cols[0])

struct services_view {
    struct widget w;
    struct table *table;
    const struct sm_cgroup_list *list; /* for the cells, during one draw */
    size_t *order;
    size_t cap;
};

static const struct sm_cgroup_list *sort_list;

static int
cmp_busiest(const void *x, const void *y)
{
    const struct sm_cgroup *a = &sort_list->v[*(const size_t *)x];
    const struct sm_cgroup *b = &sort_list->v[*(const size_t *)y];
    if (a->cpu_percent != b->cpu_percent)
        return a->cpu_percent < b->cpu_percent ? 1 : -1;
    if (a->mem_bytes != b->mem_bytes)
        return a->mem_bytes < b->mem_bytes ? 1 : -1;
    int c = strcmp(a->path, b->path); /* a remote host's groups have no path */
    return c ? c : strcmp(a->name, b->name);
}

static void
cell(void *arg, size_t row, size_t col, char *buf, size_t len, attr_t *attr)
{
    const struct services_view *v = arg;
    const struct sm_cgroup *g = &v->list->v[v->order[row]];
    (void)attr;
    switch (col) {
    case 0:
        fmt_plain(buf, len, g->name);
        break;
    case 1:
        snprintf(buf, len, "%s", sm_cgroup_kind_name(g->kind));
        break;
    case 2:
        snprintf(buf, len, "%.1f", g->cpu_percent);
        break;
    case 3:
        if (g->have_mem)
            fmt_bytes(buf, len, (double)g->mem_bytes);
        else
            snprintf(buf, len, "%s", fmt_absent());
        break;
    case 4:
    case 5:
        if (g->have_io)
            fmt_rate(buf, len, col == 4 ? g->read_bps : g->write_bps);
        else
            snprintf(buf, len, "%s", fmt_absent());
        break;
    case 6:
        if (g->have_pids)
            snprintf(buf, len, "%llu", (unsigned long long)g->pids);
        else
            snprintf(buf, len, "%s", fmt_absent());
        break;
    default:
        fmt_plain(buf, len, g->path);
    }
}

static void
services_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct services_view *v = (struct services_view *)w;
    const struct theme *th = &ui->theme;
    const struct sm_cgroup_list *l = ui->cgroups;
    if (ui->remote != NULL) {
        const struct model_host *h = model_host_find(ui->model, ui->host_id);
        const struct sm_depth_sample *d = source_remote_depth(ui->remote, ui->host_id, NULL);
        l = d != NULL && (d->have & (1u << SM_DEPTH_CGROUPS)) ? &d->cgroups : NULL;
        if (l == NULL) {
            int x = w->x + put_text(win, w->y, w->x, w->w, th->title, "Services and containers");
            if (h != NULL)
                put_fmt(win, w->y, x, w->x + w->w - x, th->normal, "  %s", h->name);
            put_text(win, w->y + 1, w->x, w->w, th->dim,
                     h == NULL       ? "no agent selected (pick one in the fleet view)"
                     : !h->have_last ? "waiting for the agent's first sample..."
                                     : "this agent sends no services or containers");
            return;
        }
    } else if (l == NULL) {
        put_text(win, w->y, w->x, w->w, th->title, "Services and containers");
        put_text(win, w->y + 1, w->x, w->w, th->dim,
                 ui->cgroups_unavailable ? "no cgroup v2 tree on this machine"
                                         : "reading the cgroup tree...");
        return;
    }
    v->order = sm_xgrow(v->order, &v->cap, l->n, sizeof *v->order);
    for (size_t i = 0; i < l->n; i++)
        v->order[i] = i;
    sort_list = l;
    qsort(v->order, l->n, sizeof *v->order, cmp_busiest);
    v->list = l;
    int x = w->x + put_text(win, w->y, w->x, w->w, th->title, "Services and containers");
    if (ui->remote != NULL) {
        const struct model_host *h = model_host_find(ui->model, ui->host_id);
        x += put_fmt(win, w->y, x, w->x + w->w - x, th->normal, "  %s", h ? h->name : "?");
    }
    x += put_fmt(win, w->y, x, w->x + w->w - x, th->dim, "  %zu groups, busiest first", l->n);
    if (l->ntruncated)
        put_fmt(win, w->y, x, w->x + w->w - x, th->warn, "  (%zu more not shown)", l->ntruncated);
    v->table->nrows = l->n;
    widget_resize(&v->table->w, w->y + 1, w->x, w->h - 1, w->w);
    widget_draw(&v->table->w, win, ui);
}

static int
services_key(struct widget *w, int key, struct ui *ui)
{
    struct services_view *v = (struct services_view *)w;
    if (key_lookup(services_keys, key) < 0)
        return 0;
    const struct sm_cgroup_list *l = ui->cgroups;
    if (ui->remote != NULL) {
        const struct sm_depth_sample *d = source_remote_depth(ui->remote, ui->host_id, NULL);
        l = d != NULL && (d->have & (1u << SM_DEPTH_CGROUPS)) ? &d->cgroups : NULL;
    }
    v->table->nrows = l ? l->n : 0;
    return widget_key(&v->table->w, key, ui) | HANDLED;
}

static void
services_free(struct widget *w)
{
    struct services_view *v = (struct services_view *)w;
    widget_free(&v->table->w);
    free(v->order);
    free(v);
}

static const struct widget_class services_class = {
    .name = "services", .draw = services_draw, .key = services_key, .free = services_free};

struct widget *
view_services_new(struct ui *ui)
{
    struct services_view *v = sm_xcalloc(1, sizeof *v);
    v->w.cls = &services_class;
    v->table = table_new(cols, NCOLS, cell, v);
    ui->want_cgroups = ui->remote == NULL;
    return &v->w;
}
