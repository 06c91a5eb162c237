/* test_procs_panel.c: the process panel's order, tree, filter, search, caps and signal
 * refusals, driven through its key handler (no terminal: nothing is drawn). */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procs_panel.h"
#include "tap.h"

/* ui.c's lookup (the panel's key tables go through it); ui.c itself needs a terminal. */
int
key_lookup(const struct key_binding *table, int key)
{
    for (const struct key_binding *k = table; k && k->name; k++)
        if (k->key == key)
            return k->action;
    return -1;
}

static struct sm_proc
proc(int32_t pid, int32_t ppid, const char *comm, double cpu, uint64_t rss, double secs)
{
    struct sm_proc p;
    memset(&p, 0, sizeof p);
    p.pid = pid;
    p.ppid = ppid;
    snprintf(p.comm, sizeof p.comm, "%s", comm);
    snprintf(p.cmdline, sizeof p.cmdline, "/usr/bin/%s --flag", comm);
    snprintf(p.user, sizeof p.user, "root");
    p.state = 'S';
    p.cpu_percent = cpu;
    p.rss = rss;
    p.cpu_seconds = secs;
    p.threads = 1;
    p.start_time = 1000 + pid;
    return p;
}

static size_t
shown(struct procs_panel *p, int32_t *pids, int *depth)
{
    return procs_panel_shown(p, pids, depth, 64);
}

static void
type(struct procs_panel *p, const char *s)
{
    for (; *s; s++)
        widget_key(procs_panel_widget(p), (unsigned char)*s, NULL);
}

int
main(void)
{
    struct sm_proc v[8];
    v[0] = proc(1, 0, "init", 0.5, 10 << 20, 50);
    v[1] = proc(20, 1, "sshd", 3.0, 5 << 20, 10);
    v[2] = proc(21, 20, "bash", 1.0, 30 << 20, 2);
    v[3] = proc(22, 21, "make", 90.0, 2 << 20, 1);
    v[4] = proc(30, 31, "loopA", 0.0, 1 << 20, 0); /* a cycle of parents: 30 <-> 31 */
    v[5] = proc(31, 30, "loopB", 0.0, 1 << 20, 0);
    v[6] = proc(40, 40, "selfish", 0.0, 1 << 20, 0); /* its own parent */
    v[7] = proc(2, 0, "kthreadd", 0.0, 0, 0);
    v[7].kernel_thread = 1;
    struct procs_panel *p = procs_panel_new(1);
    struct widget *w = procs_panel_widget(p);
    widget_resize(w, 0, 0, 20, 100);
    procs_panel_set(p, v, 8);
    int32_t pids[64];
    int depth[64];

    /* Default: CPU, busiest first. */
    ok(shown(p, pids, NULL) == 8, "every process shown");
    ok(pids[0] == 22 && pids[1] == 20 && pids[2] == 21, "by CPU: make, sshd, bash first");
    widget_key(w, 'M', NULL);
    shown(p, pids, NULL);
    ok(pids[0] == 21 && pids[1] == 1, "M: by resident memory");
    widget_key(w, 'T', NULL);
    shown(p, pids, NULL);
    ok(pids[0] == 1 && pids[1] == 20, "T: by CPU time");
    widget_key(w, 'I', NULL);
    shown(p, pids, NULL);
    ok(pids[7] == 1, "I inverts");
    /* < from TIME+ goes to THR, again to RES; > back. */
    widget_key(w, '<', NULL);
    int asc;
    ok(procs_panel_sort(p, &asc) == PS_THREADS && !asc, "<: the column on the left, descending");
    widget_key(w, '>', NULL);
    widget_key(w, '>', NULL);
    ok(procs_panel_sort(p, &asc) == PS_START && !asc, ">: START, newest first");
    widget_key(w, '>', NULL);
    ok(procs_panel_sort(p, &asc) == PS_COMMAND && asc, ">: Command, ascending");
    widget_key(w, '>', NULL);
    ok(procs_panel_sort(p, &asc) == PS_PID && asc, ">: wraps to PID");
    shown(p, pids, NULL);
    ok(pids[0] == 1 && pids[1] == 2 && pids[7] == 40, "by PID ascending");

    /* Tree: children under parents; the cycle and the self-parent shown once each. */
    widget_key(w, 't', NULL);
    size_t n = shown(p, pids, depth);
    ok(n == 8, "tree: every process once (%zu)", n);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen += pids[i] == 30 || pids[i] == 31;
    ok(seen == 2, "a cycle of parents is listed, once each");
    size_t at = n;
    for (size_t i = 0; i < n; i++)
        if (pids[i] == 20)
            at = i;
    ok(at + 2 < n && pids[at + 1] == 21 && pids[at + 2] == 22, "sshd > bash > make in order");
    ok(at + 2 < n && depth[at] == 1 && depth[at + 1] == 2 && depth[at + 2] == 3,
       "depths 1, 2, 3 under init");
    for (size_t i = 0; i < n; i++)
        if (pids[i] == 40)
            ok(depth[i] == 0, "its own parent: a root");
    widget_key(w, KEY_F(5), NULL);
    shown(p, pids, depth);
    ok(depth[2] == 0, "F5: flat again");

    /* Filter: case-insensitive on the name and command line; Esc clears. */
    widget_key(w, '\\', NULL);
    ok(procs_panel_modal(p), "the filter prompt takes the keys");
    type(p, "LOOP");
    ok(shown(p, pids, NULL) == 2, "filter LOOP: two processes");
    widget_key(w, '\n', NULL);
    ok(!procs_panel_modal(p) && shown(p, pids, NULL) == 2, "Enter keeps the filter");
    widget_key(w, KEY_F(4), NULL);
    widget_key(w, 27, NULL);
    ok(shown(p, pids, NULL) == 8, "Esc in the prompt clears it");
    widget_key(w, KEY_F(4), NULL);
    type(p, "no-such-thing");
    ok(shown(p, pids, NULL) == 0, "no match: empty, no crash");
    widget_key(w, KEY_DOWN, NULL);
    widget_key(w, 27, NULL);

    /* Search: selects the first match; F3 the next; the selection follows its pid
     * through a re-sort. */
    procs_panel_focus(p, 1);
    widget_key(w, '/', NULL);
    type(p, "/usr/bin/loop");
    widget_key(w, '\n', NULL);
    widget_key(w, 'k', NULL); /* the signal menu for the selected one */
    ok(procs_panel_modal(p), "k opens the signal menu");
    widget_key(w, 27, NULL);
    ok(!procs_panel_modal(p), "Esc closes it");

    /* Signals: to a process that is gone (a pid that exited); to a kernel thread. */
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    struct sm_proc w2[2] = {proc(child, 1, "victim", 99, 1, 1), v[7]};
    procs_panel_set(p, w2, 2);
    widget_key(w, 'P', NULL);
    widget_key(w, KEY_HOME, NULL);
    widget_key(w, 'k', NULL);
    widget_key(w, '\n', NULL); /* SIGTERM */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    widget_key(w, 'y', NULL);
    ok(strstr(procs_panel_message(p), "is gone") != NULL, "ESRCH: %s", procs_panel_message(p));
    /* A reused pid: same pid, another start time, in the latest read: refused. */
    widget_key(w, 'k', NULL);
    widget_key(w, '\n', NULL);
    w2[0].start_time += 5;
    procs_panel_set(p, w2, 2);
    widget_key(w, 'y', NULL);
    ok(strstr(procs_panel_message(p), "is gone") != NULL, "pid reused: refused");
    widget_key(w, KEY_END, NULL);
    widget_key(w, 'k', NULL);
    ok(!procs_panel_modal(p) && strstr(procs_panel_message(p), "kernel thread") != NULL,
       "kernel thread: refused (%s)", procs_panel_message(p));
    widget_free(w);

    /* Server mode's panel: no signals at all. */
    p = procs_panel_new(0);
    w = procs_panel_widget(p);
    procs_panel_set(p, v, 2);
    widget_key(w, 'k', NULL);
    ok(!procs_panel_modal(p) && strstr(procs_panel_message(p), "local mode only") != NULL,
       "can_signal 0: refused");

    /* More rows than SM_PROC_MAX: capped. */
    size_t big = SM_PROC_MAX + 10;
    struct sm_proc *many = calloc(big, sizeof *many);
    for (size_t i = 0; i < big; i++)
        many[i] = proc((int32_t)i + 100, 1, "x", 0, 0, 0);
    procs_panel_set(p, many, big);
    ok(procs_panel_shown(p, pids, NULL, 1) == SM_PROC_MAX, "capped at SM_PROC_MAX");
    widget_key(w, 't', NULL);
    ok(procs_panel_shown(p, pids, NULL, 1) == SM_PROC_MAX, "tree of all: capped too");
    /* A chain of 20000 processes, each the parent of the next: no recursion to blow
     * the stack; depths capped. */
    for (size_t i = 0; i < 20000; i++)
        many[i] = proc((int32_t)i + 100, (int32_t)i + 99, "chain", 0, 0, 0);
    procs_panel_set(p, many, 20000);
    int32_t *cp = calloc(20000, sizeof *cp);
    int *cd = calloc(20000, sizeof *cd);
    n = procs_panel_shown(p, cp, cd, 20000);
    ok(n == 20000 && cp[0] == 100 && cp[19999] == 20099, "a 20000-deep chain, in order");
    ok(cd[1] == 1 && cd[19999] == cd[100] && cd[100] < 100, "depths capped (%d)", cd[19999]);
    free(cp);
    free(cd);
    free(many);
    widget_free(w);
    return tap_done();
}
