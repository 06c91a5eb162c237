/* views.h: the dashboard's shared state, its view table and its key tables.
 *
 * A view is a widget that fills the screen above the function bar. The view table
 * (views[] in ui.c) lists each view with its name, the function key that opens it
 * and its key bindings; the fleet view is added there (server mode) with a
 * constructor like view_host_new. Views read ui->model and ui->host_id; a view
 * opens another by calling ui_open_view. */
#ifndef SM_SMTOP_VIEWS_H
#define SM_SMTOP_VIEWS_H

#include "model.h"
#include "smtop.h"
#include "widget.h"

/* One key binding. Views look keys up in their table and switch on action. */
struct key_binding {
    int key;          /* curses key code */
    const char *name; /* as the help, --list-keys and the man page spell it */
    int action;       /* view-specific action code */
    const char *help;
};

/* Look key up in table (terminated by a zero key); returns its action or -1. */
int key_lookup(const struct key_binding *table, int key);

struct view_entry {
    const char *name;  /* "host", "history", "help" (and "fleet") */
    const char *label; /* function bar label */
    int fkey;          /* function key number that opens it (0: none) */
    const struct key_binding *keys;
    struct widget *(*create)(struct ui *ui);
    int server_only; /* only with --server (the fleet view) */
    int local_only;  /* only without --server (the services view) */
    /* create NULL: not a view but a panel of another one, listed for its keys only */
};

#define UI_MAX_VIEWS 8

struct source_remote;

struct ui {
    struct model *model;
    struct source_remote *remote; /* server mode's data source; NULL in local mode */
    const struct smtop_opts *opts;
    struct theme theme;
    int host_id;                           /* host shown by the host and history views */
    size_t view, prev_view;                /* indices into views[] */
    struct widget *views[UI_MAX_VIEWS];    /* created on first use */
    char history_series[MODEL_SERIES_LEN]; /* series the history view opens on */
    char status[160];                      /* message on the bottom line ("" none) */
    int dirty;                             /* redraw needed */
    double delay;                          /* refresh interval shown in the header */
    double now;                            /* unix time of this frame (set before drawing) */
    int mouse_y, mouse_x;                  /* the click a KEY_MOUSE refers to */
    /* Local mode: the latest read of processes, sensors, pressure and GPUs (NULL: none,
     * and always in server mode), and a count bumped at each new read. */
    const struct sm_depth_sample *depth;
    unsigned long depth_gen;
    /* Local mode: services and containers (the services view sets want_cgroups when it
     * is created; the tick then starts the reader). NULL until the first read. */
    int want_cgroups, cgroups_unavailable;
    const struct sm_cgroup_list *cgroups;
};

/* The view table and its length. */
extern const struct view_entry views[];
extern const size_t nviews;
/* Keys every view honours. */
extern const struct key_binding global_keys[];

/* Switch to the view named name (created on first use). Returns 0, or -1 if unknown. */
int ui_open_view(struct ui *ui, const char *name);
/* Back to the previous view. */
void ui_back(struct ui *ui);

/* View constructors. */
struct widget *view_host_new(struct ui *ui);
struct widget *view_history_new(struct ui *ui);
struct widget *view_help_new(struct ui *ui);
struct widget *view_fleet_new(struct ui *ui);
struct widget *view_services_new(struct ui *ui);
extern const struct key_binding host_keys[], history_keys[], help_keys[], fleet_keys[],
    services_keys[];

#endif
