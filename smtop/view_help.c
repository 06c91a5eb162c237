/* view_help.c: every key binding, global and per view, from the key tables. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "views.h"
#include "xmalloc.h"

enum help_action { P_UP, P_DOWN, P_PGUP, P_PGDN, P_HOME, P_END };

const struct key_binding help_keys[] = {
    {KEY_UP, "Up", P_UP, "scroll up"},
    {KEY_DOWN, "Down", P_DOWN, "scroll down"},
    {KEY_PPAGE, "PgUp", P_PGUP, "scroll up a page"},
    {KEY_NPAGE, "PgDn", P_PGDN, "scroll down a page"},
    {KEY_HOME, "Home", P_HOME, "go to the top"},
    {KEY_END, "End", P_END, "go to the bottom"},
    {0, NULL, 0, NULL},
};

struct help_view {
    struct widget w;
    size_t top;
};

/* Call fn for each help line: a section title (key NULL) or a binding. Returns the count. */
static size_t
each_line(void (*fn)(void *arg, size_t i, const char *section, const struct key_binding *k),
          void *arg)
{
    size_t n = 0;
    if (fn)
        fn(arg, n, "Everywhere", NULL);
    n++;
    static struct key_binding fkeys[UI_MAX_VIEWS];
    static char names[UI_MAX_VIEWS][16], helps[UI_MAX_VIEWS][48];
    for (size_t v = 0; v < nviews && v < UI_MAX_VIEWS; v++) {
        if (views[v].fkey <= 0)
            continue;
        snprintf(names[v], sizeof names[v], "F%d", views[v].fkey);
        snprintf(helps[v], sizeof helps[v], "open the %s view", views[v].name);
        fkeys[v] = (struct key_binding){KEY_F(views[v].fkey), names[v], 0, helps[v]};
        if (fn)
            fn(arg, n, NULL, &fkeys[v]);
        n++;
    }
    for (const struct key_binding *k = global_keys; k->name; k++) {
        if (k->help == NULL)
            continue;
        if (fn)
            fn(arg, n, NULL, k);
        n++;
    }
    for (size_t v = 0; v < nviews; v++) {
        if (fn)
            fn(arg, n, NULL, NULL);
        n++;
        if (fn)
            fn(arg, n, views[v].label, NULL);
        n++;
        for (const struct key_binding *k = views[v].keys; k && k->name; k++) {
            if (k->help == NULL)
                continue;
            if (fn)
                fn(arg, n, NULL, k);
            n++;
        }
    }
    /* Not keys: what the marks on the screen mean. */
    static const struct key_binding marks[] = {
        {0, "!NAME", 0, "fleet view: an alert of this agent is firing"},
        {0, "ALERTS", 0, "fleet view: pending and firing alerts, worst first"},
        {0, "ALERT", 0, "host view, beside the name: the agent's worst firing alert"},
    };
    if (fn)
        fn(arg, n, NULL, NULL);
    n++;
    if (fn)
        fn(arg, n, "Marks (server mode)", NULL);
    n++;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        if (fn)
            fn(arg, n, NULL, &marks[i]);
        n++;
    }
    return n;
}

struct draw_arg {
    const struct help_view *v;
    WINDOW *win;
    const struct ui *ui;
};

static void
draw_line(void *arg, size_t i, const char *section, const struct key_binding *k)
{
    const struct draw_arg *d = arg;
    const struct help_view *v = d->v;
    if (i < v->top || i >= v->top + (size_t)v->w.h - 1)
        return;
    int y = v->w.y + 1 + (int)(i - v->top);
    if (section)
        put_fmt(d->win, y, v->w.x, v->w.w, d->ui->theme.title, "%s view", section);
    else if (k)
        put_fmt(d->win, y, v->w.x, v->w.w, d->ui->theme.normal, "  %-10s %s", k->name, k->help);
}

static void
help_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct help_view *v = (struct help_view *)w;
    size_t n = each_line(NULL, NULL);
    size_t rows = w->h > 1 ? (size_t)w->h - 1 : 1;
    if (v->top + rows > n)
        v->top = n > rows ? n - rows : 0;
    put_fmt(win, w->y, w->x, w->w, ui->theme.header, "%-*s", w->w,
            "smtop keys (Esc or Backspace to go back, q to quit)");
    struct draw_arg d = {v, win, ui};
    each_line(draw_line, &d);
}

static int
help_key(struct widget *w, int key, struct ui *ui)
{
    (void)ui;
    struct help_view *v = (struct help_view *)w;
    size_t page = w->h > 2 ? (size_t)w->h - 2 : 1;
    switch (key_lookup(help_keys, key)) {
    case P_UP:
        if (v->top > 0)
            v->top--;
        break;
    case P_DOWN:
        v->top++;
        break;
    case P_PGUP:
        v->top = v->top > page ? v->top - page : 0;
        break;
    case P_PGDN:
        v->top += page;
        break;
    case P_HOME:
        v->top = 0;
        break;
    case P_END:
        v->top = each_line(NULL, NULL);
        break;
    default:
        return 0;
    }
    return HANDLED | REDRAW;
}

static const struct widget_class help_class = {.name = "help", .draw = help_draw, .key = help_key};

struct widget *
view_help_new(struct ui *ui)
{
    (void)ui;
    struct help_view *v = sm_xcalloc(1, sizeof *v);
    v->w.cls = &help_class;
    return &v->w;
}
