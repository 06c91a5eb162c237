/* procs_panel.c: the process panel (see procs_panel.h). */
#include "config.h"

#include "procs_panel.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "format.h"
#include "xmalloc.h"

#define PROMPT_LEN 64
#define TREE_DEPTH_MAX 32 /* deeper levels are drawn at this depth */

enum procs_action {
    PA_UP,
    PA_DOWN,
    PA_PGUP,
    PA_PGDN,
    PA_HOME,
    PA_END,
    PA_SORT_CPU,
    PA_SORT_MEM,
    PA_SORT_TIME,
    PA_SORT_LEFT,
    PA_SORT_RIGHT,
    PA_SORT_MENU,
    PA_INVERT,
    PA_SEARCH,
    PA_FILTER,
    PA_TREE,
    PA_FOLLOW,
    PA_KILL,
    PA_FOCUS,
};

const struct key_binding procs_keys[] = {
    {'\t', "Tab", PA_FOCUS, "move the arrow keys between the meters and the process list"},
    {'P', "P", PA_SORT_CPU, "sort processes by CPU%"},
    {'M', "M", PA_SORT_MEM, "sort processes by resident memory"},
    {'T', "T", PA_SORT_TIME, "sort processes by CPU time"},
    {'<', "<", PA_SORT_LEFT, "sort by the column on the left"},
    {',', "<", PA_SORT_LEFT, NULL},
    {'>', ">", PA_SORT_RIGHT, "sort by the column on the right"},
    {'.', ">", PA_SORT_RIGHT, NULL},
    {KEY_F(6), "F6", PA_SORT_MENU, "choose the sort column from a menu"},
    {'I', "I", PA_INVERT, "invert the sort order"},
    {'/', "/", PA_SEARCH, "search a process by name (F3 in the prompt: next match)"},
    {KEY_F(3), "F3", PA_SEARCH, "search a process by name (F3 again: next match)"},
    {'\\', "Backslash", PA_FILTER, "filter processes by name (Esc in the prompt clears it)"},
    {KEY_F(4), "F4", PA_FILTER, "filter processes by name"},
    {'t', "t", PA_TREE, "show processes as a tree (again: a flat list)"},
    {KEY_F(5), "F5", PA_TREE, "show processes as a tree"},
    {'F', "F", PA_FOLLOW, "follow the selected process wherever it moves (again: stop)"},
    {'k', "k", PA_KILL, "send a signal to the selected process (menu, then y to confirm)"},
    {KEY_F(9), "F9", PA_KILL, "send a signal to the selected process"},
    {0, NULL, 0, NULL},
};

static const struct table_col cols[PS_NCOLS] = {
    {"PID", 7, 1}, {"USER", 9, 0},  {"S", 1, 0},     {"CPU%", 5, 1},    {"RES", 6, 1},
    {"THR", 4, 1}, {"TIME+", 9, 1}, {"START", 6, 1}, {"Command", 0, 0},
};

static const struct {
    int sig;
    const char *name;
} signals[] = {
    {SIGTERM, "SIGTERM"}, {SIGKILL, "SIGKILL"}, {SIGHUP, "SIGHUP"},
    {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGUSR1, "SIGUSR1"},
    {SIGUSR2, "SIGUSR2"}, {SIGSTOP, "SIGSTOP"}, {SIGCONT, "SIGCONT"},
};
#define NSIGNALS (sizeof signals / sizeof signals[0])

enum mode { M_NONE, M_SEARCH, M_FILTER, M_SIGNAL, M_CONFIRM, M_SORT };

struct procs_panel {
    struct widget w;
    struct table *table;
    int can_signal, focus;
    struct sm_proc *rows;
    size_t n, cap;
    size_t *order; /* rows shown, in order */
    int *depth;    /* tree depth of each shown row */
    size_t norder, order_cap, depth_cap;
    enum procs_sort sort;
    int ascending, tree;
    int32_t sel_pid, follow_pid;
    char search[PROMPT_LEN], filter[PROMPT_LEN];
    enum mode mode;
    size_t menu_sel;
    /* The process a confirmation is about, as it was when k was pressed. */
    struct sm_proc target;
    int target_sig;
    char msg[160];
    attr_t msg_attr;
    int ascii;
    double now; /* unix time of the frame (for START) */
};

/* ---------------------------------------------------------------- order */

static const struct procs_panel *cmp_ctx; /* qsort has no argument; one thread */

static int
cmp_rows(const struct sm_proc *a, const struct sm_proc *b, enum procs_sort s)
{
    int c = 0;
    switch (s) {
    case PS_PID:
        c = (a->pid > b->pid) - (a->pid < b->pid);
        break;
    case PS_USER:
        c = strcmp(a->user, b->user);
        break;
    case PS_STATE:
        c = (a->state > b->state) - (a->state < b->state);
        break;
    case PS_CPU:
        c = (a->cpu_percent > b->cpu_percent) - (a->cpu_percent < b->cpu_percent);
        break;
    case PS_RSS:
        c = (a->rss > b->rss) - (a->rss < b->rss);
        break;
    case PS_THREADS:
        c = (a->threads > b->threads) - (a->threads < b->threads);
        break;
    case PS_TIME:
        c = (a->cpu_seconds > b->cpu_seconds) - (a->cpu_seconds < b->cpu_seconds);
        break;
    case PS_START:
        c = (a->start_time > b->start_time) - (a->start_time < b->start_time);
        break;
    case PS_COMMAND:
        c = strcmp(a->comm, b->comm);
        break;
    default:
        break;
    }
    return c;
}

static int
cmp_index(const void *x, const void *y)
{
    const struct procs_panel *p = cmp_ctx;
    const struct sm_proc *a = &p->rows[*(const size_t *)x], *b = &p->rows[*(const size_t *)y];
    int c = cmp_rows(a, b, p->sort);
    if (!p->ascending)
        c = -c;
    if (c == 0) /* a stable order between refreshes: by pid */
        c = (a->pid > b->pid) - (a->pid < b->pid);
    return c;
}

static int
cmp_parent(const void *x, const void *y)
{
    const struct procs_panel *p = cmp_ctx;
    const struct sm_proc *a = &p->rows[*(const size_t *)x], *b = &p->rows[*(const size_t *)y];
    if (a->ppid != b->ppid)
        return (a->ppid > b->ppid) - (a->ppid < b->ppid);
    return cmp_index(x, y);
}

static int
cmp_pid(const void *x, const void *y)
{
    const struct procs_panel *p = cmp_ctx;
    int32_t a = p->rows[*(const size_t *)x].pid, b = p->rows[*(const size_t *)y].pid;
    return (a > b) - (a < b);
}

/* The text a process is searched and filtered by: its command line, else its name. */
static const char *
proc_text(const struct sm_proc *r)
{
    return r->cmdline[0] ? r->cmdline : r->comm;
}

static int
matches(const struct sm_proc *r, const char *needle)
{
    if (needle[0] == '\0')
        return 1;
    return strcasestr(proc_text(r), needle) != NULL || strcasestr(r->comm, needle) != NULL;
}

/* Index (into a pid-sorted array idx of k) of the row with this pid, or k. */
static size_t
find_pid(const struct procs_panel *p, const size_t *idx, size_t k, int32_t pid)
{
    size_t lo = 0, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int32_t m = p->rows[idx[mid]].pid;
        if (m == pid)
            return mid;
        if (m < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return k;
}

/* First index in byparent (k entries, sorted by ppid) of a child of pid. */
static size_t
first_child(const struct procs_panel *p, const size_t *byparent, size_t k, int32_t pid)
{
    size_t lo = 0, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->rows[byparent[mid]].ppid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct frame {
    size_t i; /* next candidate child in byparent */
    int32_t pid;
    int d;
};

/* Append the subtree under pid (children of pid in byparent, k entries) from depth d,
 * depth first, without recursion (a chain of thousands of processes must not exhaust
 * the stack): st has room for k + 1 frames, one per process appended plus the root. */
static void
add_children(struct procs_panel *p, const size_t *byparent, size_t k, int32_t pid, int d,
             unsigned char *done, struct frame *st)
{
    size_t top = 0;
    st[top++] = (struct frame){first_child(p, byparent, k, pid), pid, d};
    while (top > 0) {
        struct frame *f = &st[top - 1];
        if (f->i >= k || p->rows[byparent[f->i]].ppid != f->pid) {
            top--;
            continue;
        }
        size_t r = byparent[f->i++];
        if (done[r])
            continue;
        done[r] = 1;
        p->order[p->norder] = r;
        p->depth[p->norder++] = f->d < TREE_DEPTH_MAX ? f->d : TREE_DEPTH_MAX;
        int32_t c = p->rows[r].pid;
        st[top++] = (struct frame){first_child(p, byparent, k, c), c, f->d + 1};
    }
}

/* Rebuild the shown rows from the rows, the filter, the sort and the tree flag, and put
 * the selection back on its process. */
static void
rebuild(struct procs_panel *p)
{
    /* At least one: never NULL, as memcpy(NULL, ..., 0) is undefined. */
    p->order = sm_xgrow(p->order, &p->order_cap, p->n ? p->n : 1, sizeof *p->order);
    p->depth = sm_xgrow(p->depth, &p->depth_cap, p->n ? p->n : 1, sizeof *p->depth);
    size_t old_sel = p->table->sel;
    p->norder = 0;
    size_t k = 0;
    size_t *vis = sm_xreallocarray(NULL, p->n ? p->n : 1, sizeof *vis);
    for (size_t i = 0; i < p->n; i++)
        if (matches(&p->rows[i], p->filter))
            vis[k++] = i;
    cmp_ctx = p;
    if (!p->tree) {
        qsort(vis, k, sizeof *vis, cmp_index);
        memcpy(p->order, vis, k * sizeof *vis);
        memset(p->depth, 0, k * sizeof *p->depth);
        p->norder = k;
    } else {
        /* Roots: processes whose parent is not shown (or is themselves), in sort order. */
        size_t *bypid = sm_xreallocarray(NULL, k ? k : 1, sizeof *bypid);
        memcpy(bypid, vis, k * sizeof *vis);
        qsort(bypid, k, sizeof *bypid, cmp_pid);
        size_t *byparent = vis;
        qsort(byparent, k, sizeof *byparent, cmp_parent);
        size_t *roots = sm_xreallocarray(NULL, k ? k : 1, sizeof *roots);
        size_t nroots = 0;
        for (size_t i = 0; i < k; i++) {
            const struct sm_proc *r = &p->rows[byparent[i]];
            if (r->ppid == r->pid || r->ppid <= 0 || find_pid(p, bypid, k, r->ppid) == k)
                roots[nroots++] = byparent[i];
        }
        qsort(roots, nroots, sizeof *roots, cmp_index);
        unsigned char *done = sm_xcalloc(p->n ? p->n : 1, 1);
        struct frame *st = sm_xreallocarray(NULL, k + 1, sizeof *st);
        for (size_t i = 0; i < nroots; i++) {
            size_t r = roots[i];
            if (done[r])
                continue;
            done[r] = 1;
            p->order[p->norder] = r;
            p->depth[p->norder++] = 0;
            add_children(p, byparent, k, p->rows[r].pid, 1, done, st);
        }
        /* A cycle of parents (a pid reused mid-read) has no root: list it flat. */
        for (size_t i = 0; i < k; i++)
            if (!done[byparent[i]]) {
                p->order[p->norder] = byparent[i];
                p->depth[p->norder++] = 0;
            }
        free(st);
        free(done);
        free(roots);
        free(bypid);
    }
    free(vis);
    p->table->nrows = p->norder;
    /* The selection stays on its process; if that one is gone, on the same line. */
    int32_t want = p->follow_pid ? p->follow_pid : p->sel_pid;
    size_t at = p->norder;
    if (want > 0)
        for (size_t i = 0; i < p->norder; i++)
            if (p->rows[p->order[i]].pid == want) {
                at = i;
                break;
            }
    if (at == p->norder) {
        if (p->follow_pid) {
            snprintf(p->msg, sizeof p->msg, "the followed process %d is gone", (int)p->follow_pid);
            p->follow_pid = 0;
        }
        at = old_sel < p->norder ? old_sel : (p->norder ? p->norder - 1 : 0);
    }
    p->table->sel = at;
    p->sel_pid = p->norder ? p->rows[p->order[at]].pid : 0;
}

/* ---------------------------------------------------------------- cells */

static void
fmt_time(char *buf, size_t len, double secs)
{
    if (secs < 0)
        secs = 0;
    unsigned long cs = (unsigned long)(secs * 100);
    unsigned long m = cs / 6000, h = m / 60;
    if (h > 0)
        snprintf(buf, len, "%luh%02lu:%02lu", h, m % 60, cs / 100 % 60);
    else
        snprintf(buf, len, "%lu:%02lu.%02lu", m, cs / 100 % 60, cs % 100);
}

/* A start time as htop shows it: "14:05" within the last day, "Dec07" within the year,
 * "2024" before; fmt_absent() when unknown (0). */
static void
fmt_start(char *buf, size_t len, double start, double now)
{
    if (!(start > 0)) {
        snprintf(buf, len, "%s", fmt_absent());
        return;
    }
    time_t t = (time_t)start;
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL) {
        snprintf(buf, len, "%s", fmt_absent());
        return;
    }
    size_t n;
    if (now - start < 86400)
        n = strftime(buf, len, "%H:%M", &tm);
    else if (now - start < 365 * 86400.0)
        n = strftime(buf, len, "%b%d", &tm);
    else
        n = strftime(buf, len, "%Y", &tm);
    if (n == 0)
        snprintf(buf, len, "%s", fmt_absent());
}

static void
proc_cell(void *arg, size_t row, size_t col, char *buf, size_t len, attr_t *attr)
{
    const struct procs_panel *p = arg;
    const struct sm_proc *r = &p->rows[p->order[row]];
    switch (col) {
    case PS_PID:
        snprintf(buf, len, "%d", (int)r->pid);
        break;
    case PS_USER:
        fmt_plain(buf, len, r->user);
        break;
    case PS_STATE:
        snprintf(buf, len, "%c", r->state >= 0x21 && r->state < 0x7f ? r->state : '?');
        if (r->state == 'R')
            *attr = A_BOLD;
        break;
    case PS_CPU:
        snprintf(buf, len, "%.1f", r->cpu_percent);
        break;
    case PS_RSS:
        fmt_bytes(buf, len, (double)r->rss);
        break;
    case PS_THREADS:
        snprintf(buf, len, "%u", (unsigned)r->threads);
        break;
    case PS_TIME:
        if (r->cpu_seconds < 0) /* not known: a remote host's sample does not carry it */
            snprintf(buf, len, "%s", fmt_absent());
        else
            fmt_time(buf, len, r->cpu_seconds);
        break;
    case PS_START:
        fmt_start(buf, len, r->start_time, p->now);
        break;
    default: {
        size_t o = 0;
        int d = p->depth[row];
        if (p->tree && d > 0 && len > 8) {
            for (int i = 1; i < d && o + 3 < len / 2; i++) {
                buf[o++] = ' ';
                buf[o++] = ' ';
            }
            const char *mark = p->ascii ? "`- " : "\u2514\u2500 ";
            size_t ml = strlen(mark);
            if (o + ml < len / 2) {
                memcpy(buf + o, mark, ml);
                o += ml;
            }
        }
        char text[SM_PROC_CMD_LEN + 4];
        if (r->kernel_thread || r->cmdline[0] == '\0')
            snprintf(text, sizeof text, r->kernel_thread ? "[%s]" : "%s", r->comm);
        else
            snprintf(text, sizeof text, "%s", r->cmdline);
        fmt_plain(buf + o, len - o, text);
        if (r->kernel_thread)
            *attr = A_DIM;
        if (p->follow_pid == r->pid)
            *attr |= A_BOLD;
    }
    }
}

/* ---------------------------------------------------------------- drawing */

static void
draw_header(const struct procs_panel *p, WINDOW *win, int y, const struct theme *th)
{
    const struct table *t = p->table;
    table_draw_header(t, win, y, th);
    /* Mark the sort column: its title in reverse with an arrow. */
    int x = 0;
    for (size_t c = 0; c < PS_NCOLS; c++) {
        int wd = c + 1 == PS_NCOLS ? t->w.w - x : cols[c].width;
        if (x + wd > t->w.w)
            wd = t->w.w - x;
        if (wd <= 0)
            break;
        if (c == (size_t)p->sort) {
            char title[32];
            snprintf(title, sizeof title, "%s%s", cols[c].title,
                     p->ascii ? (p->ascending ? "^" : "v") : (p->ascending ? "\u25b2" : "\u25bc"));
            int tl = (int)strlen(cols[c].title) + 1;
            int tx = cols[c].right && wd > tl ? x + wd - tl : x;
            put_text(win, y, t->w.x + tx, wd, th->header | A_BOLD | A_REVERSE, title);
        }
        x += wd + 1;
    }
}

/* A small menu of lines at the left of the rows. */
static void
draw_menu(const struct procs_panel *p, WINDOW *win, const struct theme *th, const char *title,
          const char *const *items, size_t n, size_t sel)
{
    int y = p->w.y + 1, x = p->w.x, wd = 24;
    if (wd > p->w.w)
        wd = p->w.w;
    int room = p->w.h - 2;
    put_fmt(win, y, x, wd, th->header, "%-*s", wd, title);
    for (size_t i = 0; i < n && (int)i + 1 < room; i++) {
        wattrset(win, i == sel ? th->select : th->normal);
        mvwhline(win, y + 1 + (int)i, x, ' ', wd);
        put_fmt(win, y + 1 + (int)i, x, wd, i == sel ? th->select : th->normal, " %-*s", wd - 1,
                items[i]);
    }
}

static void
panel_draw(struct widget *w, WINDOW *win, const struct ui *ui)
{
    struct procs_panel *p = (struct procs_panel *)w;
    const struct theme *th = &ui->theme;
    p->ascii = th->graph == GRAPH_ASCII;
    p->now = ui->now;
    /* Rows between the header and the prompt line. */
    int rows = w->h - 2;
    if (rows < 1)
        rows = 1;
    widget_resize(&p->table->w, w->y, w->x, rows + 1, w->w);
    draw_header(p, win, w->y, th);
    struct table *t = p->table;
    if (t->sel < t->top)
        t->top = t->sel;
    if (t->sel >= t->top + (size_t)rows)
        t->top = t->sel - (size_t)rows + 1;
    if (t->top + (size_t)rows > t->nrows)
        t->top = t->nrows > (size_t)rows ? t->nrows - (size_t)rows : 0;
    for (int r = 0; r < rows && t->top + (size_t)r < t->nrows; r++) {
        size_t i = t->top + (size_t)r;
        table_draw_row(t, win, w->y + 1 + r, i, p->focus && i == t->sel, th);
        if (!p->focus && i == t->sel)
            put_text(win, w->y + 1 + r, w->x, 1, th->select, " ");
    }
    /* The bottom line: a prompt, a message, or what the list shows. */
    int y = w->y + w->h - 1;
    if (w->h < 3)
        return;
    wattrset(win, th->normal);
    mvwhline(win, y, w->x, ' ', w->w);
    char line[256];
    attr_t a = th->dim;
    if (p->mode == M_SEARCH) {
        snprintf(line, sizeof line, "Search: %s_   (F3 next, Enter done, Esc cancel)", p->search);
        a = th->title;
    } else if (p->mode == M_FILTER) {
        snprintf(line, sizeof line, "Filter: %s_   (Enter done, Esc clear)", p->filter);
        a = th->title;
    } else if (p->mode == M_CONFIRM) {
        char name[SM_PROC_COMM_LEN];
        fmt_plain(name, sizeof name, p->target.comm);
        snprintf(line, sizeof line, "Send %s to process %d (%s)? y to confirm, any key cancels",
                 signals[p->target_sig].name, (int)p->target.pid, name);
        a = th->warn | A_BOLD;
    } else if (p->msg[0]) {
        snprintf(line, sizeof line, "%s", p->msg);
        a = p->msg_attr ? p->msg_attr : th->warn | A_BOLD;
    } else {
        int n = snprintf(line, sizeof line, "%zu processes", p->norder);
        if (p->filter[0] && n > 0 && (size_t)n < sizeof line)
            n += snprintf(line + n, sizeof line - (size_t)n, "  filter \"%s\" (of %zu)", p->filter,
                          p->n);
        if (p->tree && n > 0 && (size_t)n < sizeof line)
            n += snprintf(line + n, sizeof line - (size_t)n, "  tree");
        if (p->follow_pid && n > 0 && (size_t)n < sizeof line)
            snprintf(line + n, sizeof line - (size_t)n, "  following %d", (int)p->follow_pid);
    }
    put_text(win, y, w->x, w->w, a, line);
    if (p->mode == M_SIGNAL) {
        const char *items[NSIGNALS];
        char text[NSIGNALS][24];
        for (size_t i = 0; i < NSIGNALS; i++) {
            snprintf(text[i], sizeof text[i], "%2d %s", signals[i].sig, signals[i].name);
            items[i] = text[i];
        }
        draw_menu(p, win, th, "Send signal:", items, NSIGNALS, p->menu_sel);
    } else if (p->mode == M_SORT) {
        const char *items[PS_NCOLS];
        for (size_t i = 0; i < PS_NCOLS; i++)
            items[i] = cols[i].title;
        draw_menu(p, win, th, "Sort by:", items, PS_NCOLS, p->menu_sel);
    }
}

/* ---------------------------------------------------------------- keys */

static void
select_row(struct procs_panel *p, size_t i)
{
    if (p->norder == 0)
        return;
    if (i >= p->norder)
        i = p->norder - 1;
    p->table->sel = i;
    p->sel_pid = p->rows[p->order[i]].pid;
    if (p->follow_pid)
        p->follow_pid = p->sel_pid;
}

/* Select the first row matching the search at or after from (wrapping). */
static int
search_from(struct procs_panel *p, size_t from)
{
    for (size_t k = 0; k < p->norder; k++) {
        size_t i = (from + k) % p->norder;
        if (matches(&p->rows[p->order[i]], p->search)) {
            select_row(p, i);
            return 1;
        }
    }
    return 0;
}

static void
send_signal(struct procs_panel *p)
{
    const struct sm_proc *t = &p->target;
    const char *sname = signals[p->target_sig].name;
    char name[SM_PROC_COMM_LEN];
    fmt_plain(name, sizeof name, t->comm);
    /* The process must still be the one confirmed: same pid and same start time in the
     * latest read (a pid reused since would have another start time). */
    int same = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->rows[i].pid == t->pid) {
            same = p->rows[i].start_time == t->start_time;
            break;
        }
    if (!same) {
        snprintf(p->msg, sizeof p->msg, "process %d (%s) is gone: no signal sent", (int)t->pid,
                 name);
        return;
    }
    if (kill(t->pid, signals[p->target_sig].sig) == 0) {
        snprintf(p->msg, sizeof p->msg, "sent %s to process %d (%s)", sname, (int)t->pid, name);
        return;
    }
    if (errno == EPERM)
        snprintf(p->msg, sizeof p->msg,
                 "cannot signal process %d (%s): permission denied, it belongs to %s", (int)t->pid,
                 name, t->user);
    else if (errno == ESRCH)
        snprintf(p->msg, sizeof p->msg, "process %d (%s) is gone: no signal sent", (int)t->pid,
                 name);
    else
        snprintf(p->msg, sizeof p->msg, "cannot signal process %d (%s): %s", (int)t->pid, name,
                 strerror(errno));
}

static int
is_text_key(int key)
{
    return key >= 0x20 && key < 0x7f;
}

static int
is_backspace(int key)
{
    return key == KEY_BACKSPACE || key == 127 || key == 8;
}

static int
is_enter(int key)
{
    return key == '\n' || key == '\r' || key == KEY_ENTER;
}

/* A key while a prompt or menu is open: always HANDLED. */
static int
modal_key(struct procs_panel *p, int key)
{
    size_t len;
    switch (p->mode) {
    case M_SEARCH:
        len = strlen(p->search);
        if (key == 27 || is_enter(key)) {
            p->mode = M_NONE;
        } else if (key == KEY_F(3)) {
            if (!search_from(p, p->table->sel + 1))
                snprintf(p->msg, sizeof p->msg, "no process matches \"%s\"", p->search);
        } else if (is_backspace(key)) {
            if (len > 0)
                p->search[len - 1] = '\0';
        } else if (is_text_key(key) && len + 1 < sizeof p->search) {
            p->search[len] = (char)key;
            p->search[len + 1] = '\0';
            p->msg[0] = '\0';
            if (!search_from(p, p->table->sel))
                snprintf(p->msg, sizeof p->msg, "no process matches \"%s\"", p->search);
        } else if (key == KEY_UP || key == KEY_DOWN) {
            select_row(p,
                       key == KEY_UP ? (p->table->sel ? p->table->sel - 1 : 0) : p->table->sel + 1);
        }
        break;
    case M_FILTER:
        len = strlen(p->filter);
        if (is_enter(key)) {
            p->mode = M_NONE;
        } else if (key == 27) {
            p->filter[0] = '\0';
            p->mode = M_NONE;
            rebuild(p);
        } else if (is_backspace(key)) {
            if (len > 0)
                p->filter[len - 1] = '\0';
            rebuild(p);
        } else if (is_text_key(key) && len + 1 < sizeof p->filter) {
            p->filter[len] = (char)key;
            p->filter[len + 1] = '\0';
            rebuild(p);
        }
        break;
    case M_SIGNAL:
    case M_SORT: {
        size_t n = p->mode == M_SIGNAL ? NSIGNALS : PS_NCOLS;
        if (key == KEY_UP && p->menu_sel > 0)
            p->menu_sel--;
        else if (key == KEY_DOWN && p->menu_sel + 1 < n)
            p->menu_sel++;
        else if (key == KEY_HOME)
            p->menu_sel = 0;
        else if (key == KEY_END)
            p->menu_sel = n - 1;
        else if (is_enter(key)) {
            if (p->mode == M_SORT) {
                p->sort = (enum procs_sort)p->menu_sel;
                p->ascending = p->sort == PS_PID || p->sort == PS_USER || p->sort == PS_COMMAND;
                p->mode = M_NONE;
                rebuild(p);
            } else {
                p->target_sig = (int)p->menu_sel;
                p->mode = M_CONFIRM;
            }
        } else if (key == 27 || key == 'q')
            p->mode = M_NONE;
        break;
    }
    case M_CONFIRM:
        p->mode = M_NONE;
        if (key == 'y' || key == 'Y')
            send_signal(p);
        else
            snprintf(p->msg, sizeof p->msg, "no signal sent");
        break;
    case M_NONE:
        break;
    }
    return HANDLED | REDRAW;
}

static void
set_sort(struct procs_panel *p, enum procs_sort s)
{
    if (p->sort == s)
        p->ascending = !p->ascending;
    else {
        p->sort = s;
        /* Text and ids read best ascending, figures biggest first. */
        p->ascending = s == PS_PID || s == PS_USER || s == PS_COMMAND;
    }
    rebuild(p);
}

static int
panel_key(struct widget *w, int key, struct ui *ui)
{
    struct procs_panel *p = (struct procs_panel *)w;
    if (p->mode != M_NONE)
        return modal_key(p, key);
    static const struct key_binding nav[] = {
        {KEY_UP, "Up", PA_UP, NULL},
        {KEY_DOWN, "Down", PA_DOWN, NULL},
        {KEY_PPAGE, "PgUp", PA_PGUP, NULL},
        {KEY_NPAGE, "PgDn", PA_PGDN, NULL},
        {KEY_HOME, "Home", PA_HOME, NULL},
        {KEY_END, "End", PA_END, NULL},
        {0, NULL, 0, NULL},
    };
    int action = key_lookup(nav, key);
    if (action < 0)
        action = key_lookup(procs_keys, key);
    if (action < 0)
        return 0;
    if (action <= PA_END && !p->focus)
        return 0;
    p->msg[0] = '\0';
    size_t page = w->h > 3 ? (size_t)w->h - 3 : 1;
    size_t sel = p->table->sel;
    switch (action) {
    case PA_UP:
        select_row(p, sel ? sel - 1 : 0);
        break;
    case PA_DOWN:
        select_row(p, sel + 1);
        break;
    case PA_PGUP:
        select_row(p, sel > page ? sel - page : 0);
        break;
    case PA_PGDN:
        select_row(p, sel + page);
        break;
    case PA_HOME:
        select_row(p, 0);
        break;
    case PA_END:
        select_row(p, p->norder ? p->norder - 1 : 0);
        break;
    case PA_SORT_CPU:
        p->sort = PS_CPU;
        p->ascending = 0;
        rebuild(p);
        break;
    case PA_SORT_MEM:
        p->sort = PS_RSS;
        p->ascending = 0;
        rebuild(p);
        break;
    case PA_SORT_TIME:
        p->sort = PS_TIME;
        p->ascending = 0;
        rebuild(p);
        break;
    case PA_SORT_LEFT:
        set_sort(p, p->sort > 0 ? p->sort - 1 : PS_NCOLS - 1);
        break;
    case PA_SORT_RIGHT:
        set_sort(p, p->sort + 1 < PS_NCOLS ? p->sort + 1 : 0);
        break;
    case PA_SORT_MENU:
        p->mode = M_SORT;
        p->menu_sel = (size_t)p->sort;
        break;
    case PA_INVERT:
        p->ascending = !p->ascending;
        rebuild(p);
        break;
    case PA_SEARCH:
        p->mode = M_SEARCH;
        p->search[0] = '\0';
        p->focus = 1;
        break;
    case PA_FILTER:
        p->mode = M_FILTER;
        p->focus = 1;
        break;
    case PA_TREE:
        p->tree = !p->tree;
        rebuild(p);
        break;
    case PA_FOLLOW:
        p->follow_pid = p->follow_pid ? 0 : p->sel_pid;
        p->focus = 1;
        break;
    case PA_KILL:
        if (!p->can_signal) {
            snprintf(p->msg, sizeof p->msg,
                     "no signals to remote hosts: smtop sends signals in local mode only");
            break;
        }
        if (p->norder == 0)
            break;
        p->target = p->rows[p->order[p->table->sel]];
        if (p->target.kernel_thread) {
            snprintf(p->msg, sizeof p->msg, "process %d is a kernel thread: it takes no signal",
                     (int)p->target.pid);
            break;
        }
        p->focus = 1;
        p->mode = M_SIGNAL;
        p->menu_sel = 0;
        break;
    case PA_FOCUS:
        p->focus = !p->focus;
        break;
    }
    (void)ui;
    return HANDLED | REDRAW;
}

static void
panel_free(struct widget *w)
{
    struct procs_panel *p = (struct procs_panel *)w;
    widget_free(&p->table->w);
    free(p->rows);
    free(p->order);
    free(p->depth);
    free(p);
}

static const struct widget_class panel_class = {
    .name = "processes", .draw = panel_draw, .key = panel_key, .free = panel_free};

struct procs_panel *
procs_panel_new(int can_signal)
{
    struct procs_panel *p = sm_xcalloc(1, sizeof *p);
    p->w.cls = &panel_class;
    p->can_signal = can_signal;
    p->sort = PS_CPU;
    p->table = table_new(cols, PS_NCOLS, proc_cell, p);
    return p;
}

struct widget *
procs_panel_widget(struct procs_panel *p)
{
    return &p->w;
}

void
procs_panel_set(struct procs_panel *p, const struct sm_proc *v, size_t n)
{
    if (n > SM_PROC_MAX)
        n = SM_PROC_MAX;
    p->rows = sm_xgrow(p->rows, &p->cap, n, sizeof *p->rows);
    if (n > 0)
        memcpy(p->rows, v, n * sizeof *v);
    p->n = n;
    rebuild(p);
}

int
procs_panel_focused(const struct procs_panel *p)
{
    return p->focus;
}

void
procs_panel_focus(struct procs_panel *p, int on)
{
    p->focus = on != 0;
}

int
procs_panel_modal(const struct procs_panel *p)
{
    return p->mode != M_NONE;
}

enum procs_sort
procs_panel_sort(const struct procs_panel *p, int *ascending)
{
    if (ascending)
        *ascending = p->ascending;
    return p->sort;
}

size_t
procs_panel_shown(const struct procs_panel *p, int32_t *pids, int *depth, size_t max)
{
    for (size_t i = 0; i < p->norder && i < max; i++) {
        pids[i] = p->rows[p->order[i]].pid;
        if (depth)
            depth[i] = p->depth[i];
    }
    return p->norder;
}

const char *
procs_panel_message(const struct procs_panel *p)
{
    return p->msg;
}

int
procs_panel_click(struct procs_panel *p, int y, int x)
{
    struct widget *w = &p->w;
    if (p->mode != M_NONE || y < w->y || y >= w->y + w->h - 1 || x < w->x)
        return 0;
    if (y == w->y) {
        /* The header: sort by the column clicked (again: the other way). */
        int cx = 0;
        for (size_t c = 0; c < PS_NCOLS; c++) {
            int wd = c + 1 == PS_NCOLS ? w->w - cx : cols[c].width;
            if (x - w->x < cx + wd + 1 || c + 1 == PS_NCOLS) {
                set_sort(p, (enum procs_sort)c);
                break;
            }
            cx += wd + 1;
        }
        return HANDLED | REDRAW;
    }
    size_t i = p->table->top + (size_t)(y - w->y - 1);
    p->focus = 1;
    if (i < p->norder)
        select_row(p, i);
    return HANDLED | REDRAW;
}
