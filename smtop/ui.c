/* ui.c: the dashboard: terminal set-up and restore, the view table, global keys, the
 * function bar, and the loop that samples, reads keys and draws. */
#include "config.h"

#include "ui.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "loop.h"
#include "collect/depth.h"
#include "model.h"
#include "procs_panel.h"
#include "source_local.h"
#include "source_remote.h"
#include "views.h"

/* History kept in memory in local mode (rings are sized by this, not by count). */
#define UI_LOCAL_SPAN (7 * 86400.0)
/* In server mode: live points kept per agent and series (for the host view's
 * sparklines); longer history comes from the server's /history. */
#define UI_REMOTE_SPAN 600.0
/* Smallest screen drawn at all; smaller shows a one-line note. */
#define UI_MIN_COLS 20
#define UI_MIN_ROWS 4

const struct view_entry views[] = {
    {"help", "Help", 1, help_keys, view_help_new, 0, 0},
    {"host", "Host", 2, host_keys, view_host_new, 0, 0},
    {"history", "History", 3, history_keys, view_history_new, 0, 0},
    {"processes", "Processes (host view)", 0, procs_keys, NULL, 0, 0},
    {"fleet", "Fleet", 4, fleet_keys, view_fleet_new, 1, 0},
    {"services", "Services", 7, services_keys, view_services_new, 0, 0},
};
const size_t nviews = sizeof views / sizeof views[0];

enum global_action { G_QUIT, G_HELP, G_HISTORY, G_BACK, G_REDRAW };

const struct key_binding global_keys[] = {
    {'q', "q", G_QUIT, "quit"},
    {KEY_F(10), "F10", G_QUIT, "quit"},
    {'?', "?", G_HELP, "show the keys (help view)"},
    {'h', "h", G_HELP, "show the keys (help view)"},
    {'g', "g", G_HISTORY, "show the history graphs (history view)"},
    {27, "Esc", G_BACK, "go back to the previous view"},
    {KEY_BACKSPACE, "Backspace", G_BACK, "go back to the previous view"},
    {127, "Backspace", G_BACK, NULL},
    {8, "Backspace", G_BACK, NULL},
    {12, "Ctrl-L", G_REDRAW, "redraw the screen"},
    {0, NULL, 0, NULL},
};

int
key_lookup(const struct key_binding *table, int key)
{
    for (const struct key_binding *k = table; k && k->name; k++)
        if (k->key == key)
            return k->action;
    return -1;
}

void
ui_print_keys(FILE *out)
{
    for (size_t v = 0; v < nviews; v++)
        if (views[v].fkey > 0)
            fprintf(out, "F%d\t*\topen the %s view\n", views[v].fkey, views[v].name);
    for (const struct key_binding *k = global_keys; k->name; k++)
        if (k->help)
            fprintf(out, "%s\t*\t%s\n", k->name, k->help);
    for (size_t v = 0; v < nviews; v++)
        for (const struct key_binding *k = views[v].keys; k && k->name; k++)
            if (k->help)
                fprintf(out, "%s\t%s\t%s\n", k->name, views[v].name, k->help);
}

static size_t
view_index(const char *name)
{
    for (size_t i = 0; i < nviews; i++)
        if (strcmp(views[i].name, name) == 0)
            return i;
    return nviews;
}

static struct widget *
current(struct ui *ui)
{
    if (ui->views[ui->view] == NULL)
        ui->views[ui->view] = views[ui->view].create(ui);
    return ui->views[ui->view];
}

int
ui_open_view(struct ui *ui, const char *name)
{
    size_t i = view_index(name);
    if (i == nviews || views[i].create == NULL || (views[i].server_only && ui->remote == NULL) ||
        (views[i].local_only && ui->remote != NULL))
        return -1;
    if (i != ui->view) {
        ui->prev_view = ui->view;
        ui->view = i;
    }
    ui->dirty = 1;
    return 0;
}

void
ui_back(struct ui *ui)
{
    size_t to = ui->prev_view;
    if (to == ui->view)
        to = view_index(ui->remote ? "fleet" : "host");
    /* Server mode goes up the hierarchy: history -> host -> fleet. */
    if (ui->remote && ui->view == view_index("host"))
        to = view_index("fleet");
    else if (ui->remote && ui->view == view_index("history"))
        to = view_index("host");
    ui->prev_view = ui->view;
    ui->view = to;
    ui->dirty = 1;
}

/* ---------------------------------------------------------------- drawing */

/* The function bar: F-key labels from the view table, then F10 Quit, then the status
 * (or the refresh delay and the clock) at the right. */
static void
draw_fbar(struct ui *ui, int y, int w)
{
    const struct theme *th = &ui->theme;
    wattrset(stdscr, th->fbar);
    mvwhline(stdscr, y, 0, ' ', w);
    int x = 0;
    for (size_t i = 0; i < nviews && x < w; i++) {
        if (views[i].fkey <= 0 || (views[i].server_only && ui->remote == NULL) ||
            (views[i].local_only && ui->remote != NULL))
            continue;
        const char *own = widget_fkey_label(ui->views[ui->view], views[i].fkey);
        x += put_fmt(stdscr, y, x, w - x, th->fkey, "F%d", views[i].fkey);
        x += put_fmt(stdscr, y, x, w - x, i == ui->view ? th->fbar | A_BOLD : th->fbar, "%-8s",
                     own ? own : views[i].label);
    }
    x += put_text(stdscr, y, x, w - x, th->fkey, "F10");
    x += put_text(stdscr, y, x, w - x, th->fbar, "Quit ");
    char right[200];
    if (ui->status[0])
        snprintf(right, sizeof right, " %s ", ui->status);
    else {
        time_t t = (time_t)ui->now;
        struct tm tm;
        localtime_r(&t, &tm);
        char clock[16];
        strftime(clock, sizeof clock, "%H:%M:%S", &tm);
        snprintf(right, sizeof right, " every %gs  %s ", ui->delay, clock);
    }
    int rl = (int)strlen(right);
    if (w - x >= rl)
        put_text(stdscr, y, w - rl, rl, ui->status[0] ? th->crit | A_REVERSE : th->fbar, right);
}

static void
draw(struct ui *ui)
{
    ui->now = sm_wall_now();
    werase(stdscr);
    int h = LINES, w = COLS;
    if (w < UI_MIN_COLS || h < UI_MIN_ROWS) {
        put_fmt(stdscr, 0, 0, w, A_BOLD, "smtop: %dx%d is too small", w, h);
    } else {
        struct widget *v = current(ui);
        widget_resize(v, 0, 0, h - 1, w);
        widget_draw(v, stdscr, ui);
        draw_fbar(ui, h - 1, w);
    }
    wnoutrefresh(stdscr);
    doupdate();
    ui->dirty = 0;
}

/* ---------------------------------------------------------------- keys and events */

struct app {
    struct ui ui;
    struct loop *loop;
    struct source_local *src;
    unsigned long drawn_generation;
    long ticks;
    int stop_after_draw;
};

/* A click on the function bar is its key; elsewhere the view gets KEY_MOUSE. */
static int
mouse_key(struct ui *ui)
{
    MEVENT ev;
    if (getmouse(&ev) != OK)
        return 0;
    if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED)))
        return 0;
    if (ev.bstate & BUTTON1_RELEASED)
        return 0;
    ui->mouse_y = ev.y;
    ui->mouse_x = ev.x;
    if (ev.y == LINES - 1) {
        /* Walk the bar as draw_fbar lays it out. */
        int x = 0;
        for (size_t i = 0; i < nviews; i++) {
            if (views[i].fkey <= 0 || (views[i].server_only && ui->remote == NULL) ||
                (views[i].local_only && ui->remote != NULL))
                continue;
            int wd = (views[i].fkey >= 10 ? 3 : 2) + 8;
            if (ev.x >= x && ev.x < x + wd)
                return KEY_F(views[i].fkey);
            x += wd;
        }
        if (ev.x >= x && ev.x < x + 8)
            return KEY_F(10);
        return 0;
    }
    return KEY_MOUSE;
}

static void
handle_key(struct app *a, int ch)
{
    struct ui *ui = &a->ui;
    if (ch == KEY_RESIZE) {
        ui->dirty = 1;
        return;
    }
    if (ch == KEY_MOUSE) {
        ch = mouse_key(ui);
        if (ch == 0)
            return;
        /* A click on a label of the function bar does what the label says: the view's
         * own action where the view relabels that key (the host view's F3 "Search"),
         * else open the view the label names. */
        for (size_t i = 0; ch != KEY_MOUSE && i < nviews; i++)
            if (views[i].fkey > 0 && ch == KEY_F(views[i].fkey) &&
                widget_fkey_label(current(ui), views[i].fkey) == NULL) {
                ui_open_view(ui, views[i].name);
                return;
            }
    }
    int r = widget_key(current(ui), ch, ui);
    if (r & QUIT) {
        loop_stop(a->loop);
        return;
    }
    if (r & (REDRAW | RESIZE))
        ui->dirty = 1;
    if (r & HANDLED)
        return;
    for (size_t i = 0; i < nviews; i++) {
        if (views[i].fkey > 0 && ch == KEY_F(views[i].fkey)) {
            ui_open_view(ui, views[i].name);
            return;
        }
    }
    switch (key_lookup(global_keys, ch)) {
    case G_QUIT:
        loop_stop(a->loop);
        break;
    case G_HELP:
        ui_open_view(ui, "help");
        break;
    case G_HISTORY:
        ui_open_view(ui, "history");
        break;
    case G_BACK:
        ui_back(ui);
        break;
    case G_REDRAW:
        clearok(curscr, TRUE);
        ui->dirty = 1;
        break;
    default:
        break;
    }
}

static void
on_stdin(int fd, short revents, void *arg)
{
    struct app *a = arg;
    (void)fd;
    int ch;
    while ((ch = getch()) != ERR)
        handle_key(a, ch);
    /* The terminal went away (ssh dropped): nothing more will come. */
    if (revents & (POLLHUP | POLLERR | POLLNVAL))
        loop_stop(a->loop);
}

static void
on_tick(void *arg)
{
    struct app *a = arg;
    if (source_local_tick(a->src) != SM_OK) {
        snprintf(a->ui.status, sizeof a->ui.status, "sampling failed: no readable kernel file");
        a->ui.dirty = 1;
    } else if (a->ui.status[0]) {
        a->ui.status[0] = '\0';
    }
    a->ui.depth = source_local_depth(a->src);
    a->ui.depth_gen++;
    if (a->ui.want_cgroups)
        a->ui.cgroups_unavailable = source_local_enable_cgroups(a->src) != 0;
    a->ui.cgroups = source_local_cgroups(a->src);
    a->ticks++;
    if (a->ui.opts->count > 0 && a->ticks >= a->ui.opts->count)
        a->stop_after_draw = 1;
}

/* Server mode, after each turn of the loop: apply the client's events; the first
 * snapshot and connection changes are drawn at once, samples at the next tick. */
static void
apply_remote(struct app *a)
{
    int was_ready = source_remote_ready(a->ui.remote);
    int was_live = source_remote_live(a->ui.remote);
    source_remote_drain(a->ui.remote);
    if (source_remote_take_history_news(a->ui.remote) ||
        was_ready != source_remote_ready(a->ui.remote) ||
        was_live != source_remote_live(a->ui.remote))
        a->ui.dirty = 1;
}

/* Server mode: redraw every delay (figures, last-seen ages, the reconnect countdown). */
static void
on_remote_tick(void *arg)
{
    struct app *a = arg;
    a->ui.dirty = 1;
    a->ticks++;
    if (a->ui.opts->count > 0 && a->ticks >= a->ui.opts->count)
        a->stop_after_draw = 1;
}

static void
resize_from_tty(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
}

static void
after(void *arg)
{
    struct app *a = arg;
    if (a->ui.remote)
        apply_remote(a);
    unsigned sig = loop_take_signals(a->loop);
    if (sig & ((1u << SIGINT) | (1u << SIGTERM))) {
        loop_stop(a->loop);
        return;
    }
    if (sig & (1u << SIGWINCH)) {
        resize_from_tty();
        a->ui.dirty = 1;
    }
    if (a->ui.remote) {
        /* Server mode: the connection on the status line when it is not live; samples
         * are drawn at the refresh ticks, not one frame each. */
        char st[sizeof a->ui.status];
        if (source_remote_live(a->ui.remote))
            st[0] = '\0';
        else
            source_remote_status(a->ui.remote, sm_mono_now(), st, sizeof st);
        if (strcmp(st, a->ui.status) != 0) {
            snprintf(a->ui.status, sizeof a->ui.status, "%s", st);
            a->ui.dirty = 1;
        }
        if (a->ui.dirty) {
            a->drawn_generation = a->ui.model->generation;
            draw(&a->ui);
        }
    } else if (a->ui.dirty || a->ui.model->generation != a->drawn_generation) {
        a->drawn_generation = a->ui.model->generation;
        draw(&a->ui);
    }
    if (a->stop_after_draw)
        loop_stop(a->loop);
}

/* ---------------------------------------------------------------- terminal */

static int saved_stderr = -1;

/* Put the terminal back (atexit, and on every way out of ui_run). */
static void
restore_terminal(void)
{
    if (!isendwin()) {
        curs_set(1);
        endwin();
    }
    if (saved_stderr >= 0) {
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
    }
}

int
ui_run(const struct smtop_opts *o)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        sm_die(SM_EXIT_USAGE, "the dashboard needs a terminal; use -b or --json for a pipe");
    struct app a;
    memset(&a, 0, sizeof a);
    a.ui.opts = o;
    a.ui.delay = o->delay;
    a.ui.host_id = SOURCE_LOCAL_HOST;
    /* One loop for both modes: in server mode its context also carries the client's
     * connections. */
    a.loop =
        loop_new(o->server ? client_protocols() : NULL, client_url_is_tls(o->server), o->ca_file);
    if (o->server) {
        /* Log in first: the password prompt needs the plain terminal and stderr. */
        int code = SM_EXIT_FAIL;
        char *cause = NULL;
        a.ui.model = model_new(UI_REMOTE_SPAN);
        a.ui.remote = source_remote_new(a.ui.model, o, loop_context(a.loop), &code, &cause);
        if (a.ui.remote == NULL) {
            fprintf(stderr, "%s: %s\n", sm_log_progname(), cause);
            free(cause);
            model_free(a.ui.model);
            loop_free(a.loop);
            return code;
        }
        a.ui.host_id = -1;
    } else {
        a.ui.model = model_new(UI_LOCAL_SPAN);
        a.src = source_local_new(a.ui.model, o->proc_root, o->sys_root);
        source_local_enable_depth(a.src, 1u << SM_DEPTH_PROCS | 1u << SM_DEPTH_SENSORS |
                                             1u << SM_DEPTH_PSI | 1u << SM_DEPTH_GPUS);
    }
    /* Signals through the loop before curses starts: SIGWINCH stays blocked, so the
     * handler ncurses installs never runs; the loop reads it from its signalfd. */
    if (loop_catch_signals(a.loop) != 0)
        sm_die(SM_EXIT_FAIL, "cannot watch signals: %s", strerror(errno));

    /* Log lines would scribble over the screen; keep them away while curses runs. */
    if (isatty(STDERR_FILENO)) {
        saved_stderr = dup(STDERR_FILENO);
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, STDERR_FILENO);
            close(devnull);
        }
    }
    atexit(restore_terminal);
    if (initscr() == NULL)
        sm_die(SM_EXIT_FAIL, "cannot set up the terminal");
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(100); /* Esc alone vs. the start of a key sequence on a slow link */
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED, NULL);
    mouseinterval(0);
    theme_init(&a.ui.theme, o->graph);
    a.ui.view = a.ui.prev_view = view_index(a.ui.remote ? "fleet" : "host");
    a.ui.dirty = 1;

    loop_add_fd(a.loop, STDIN_FILENO, POLLIN, on_stdin, &a);
    if (a.ui.remote) {
        loop_add_timer(a.loop, o->delay, o->delay, on_remote_tick, &a);
    } else {
        /* The first sample after the priming interval, then every delay on an absolute
         * schedule (a slow frame does not make the refresh drift). */
        double first = o->delay < SOURCE_LOCAL_PRIME ? o->delay : SOURCE_LOCAL_PRIME;
        loop_add_timer(a.loop, first, o->delay, on_tick, &a);
    }
    loop_set_after(a.loop, after, &a);
    int ret = loop_run(a.loop) == 0 ? SM_EXIT_OK : SM_EXIT_FAIL;
    restore_terminal();
    for (size_t i = 0; i < UI_MAX_VIEWS; i++)
        widget_free(a.ui.views[i]);
    /* The client before the loop: its connections close with the context. */
    source_remote_free(a.ui.remote);
    loop_free(a.loop);
    source_local_free(a.src);
    model_free(a.ui.model);
    return ret;
}
