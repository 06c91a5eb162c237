/* loop.c: poll(2)-based event loop with fds, absolute-schedule timers and signals. */
#include "config.h"

#include "loop.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "xmalloc.h"

struct loop_fd {
    int fd;
    short events;
    loop_fd_cb cb;
    void *arg;
};

struct loop_timer {
    int used, armed;
    double due, period;
    loop_timer_cb cb;
    void *arg;
};

struct loop {
    struct loop_fd fds[LOOP_MAX_FDS];
    size_t nfds;
    struct loop_timer timers[LOOP_MAX_TIMERS];
    loop_after_cb after;
    void *after_arg;
    int stop;
    sigset_t waitmask; /* the mask while waiting: the caller's, with our signals open */
};

static volatile sig_atomic_t got_int, got_term, got_winch;

static void
on_signal(int signo)
{
    if (signo == SIGINT)
        got_int = 1;
    else if (signo == SIGTERM)
        got_term = 1;
    else if (signo == SIGWINCH)
        got_winch = 1;
}

unsigned
loop_take_signals(void)
{
    unsigned r = 0;
    if (got_int)
        r |= 1u << SIGINT;
    if (got_term)
        r |= 1u << SIGTERM;
    if (got_winch)
        r |= 1u << SIGWINCH;
    got_int = got_term = got_winch = 0;
    return r;
}

struct loop *
loop_new(void)
{
    struct loop *l = sm_xcalloc(1, sizeof *l);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, &l->waitmask);
    sigdelset(&l->waitmask, SIGINT);
    sigdelset(&l->waitmask, SIGTERM);
    sigdelset(&l->waitmask, SIGWINCH);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    return l;
}

void
loop_free(struct loop *l)
{
    free(l);
}

int
loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
    for (size_t i = 0; i < l->nfds; i++) {
        if (l->fds[i].fd == fd) {
            l->fds[i] = (struct loop_fd){fd, events, cb, arg};
            return 0;
        }
    }
    if (l->nfds == LOOP_MAX_FDS)
        return -1;
    l->fds[l->nfds++] = (struct loop_fd){fd, events, cb, arg};
    return 0;
}

void
loop_del_fd(struct loop *l, int fd)
{
    for (size_t i = 0; i < l->nfds; i++) {
        if (l->fds[i].fd == fd) {
            /* Mark it dead; loop_run compacts between waits. */
            l->fds[i].fd = -1;
            l->fds[i].cb = NULL;
        }
    }
}

int
loop_add_timer(struct loop *l, double first, double period, loop_timer_cb cb, void *arg)
{
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        if (!l->timers[i].used) {
            l->timers[i] = (struct loop_timer){.used = 1, .cb = cb, .arg = arg};
            loop_timer_set(l, i, first, period);
            return i;
        }
    }
    return -1;
}

void
loop_timer_set(struct loop *l, int id, double first, double period)
{
    if (id < 0 || id >= LOOP_MAX_TIMERS || !l->timers[id].used)
        return;
    l->timers[id].armed = 1;
    l->timers[id].due = sm_mono_now() + (first > 0 ? first : 0);
    l->timers[id].period = period > 0 ? period : 0;
}

void
loop_timer_cancel(struct loop *l, int id)
{
    if (id >= 0 && id < LOOP_MAX_TIMERS)
        l->timers[id].armed = 0;
}

void
loop_set_after(struct loop *l, loop_after_cb cb, void *arg)
{
    l->after = cb;
    l->after_arg = arg;
}

void
loop_stop(struct loop *l)
{
    l->stop = 1;
}

/* Run the timers that are due; return the seconds until the next one (-1: none). */
static double
run_timers(struct loop *l)
{
    double now = sm_mono_now();
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        struct loop_timer *t = &l->timers[i];
        if (!t->used || !t->armed || t->due > now)
            continue;
        if (t->period > 0) {
            t->due += t->period;
            if (t->due <= now) /* we fell behind (suspend, slow draw): skip, don't burst */
                t->due = now + t->period;
        } else {
            t->armed = 0;
        }
        t->cb(t->arg);
    }
    double next = -1;
    now = sm_mono_now();
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        const struct loop_timer *t = &l->timers[i];
        if (t->used && t->armed) {
            double in = t->due - now;
            if (in < 0)
                in = 0;
            if (next < 0 || in < next)
                next = in;
        }
    }
    return next;
}

int
loop_run(struct loop *l)
{
    l->stop = 0;
    while (!l->stop) {
        double next = run_timers(l);
        if (l->after)
            l->after(l->after_arg);
        if (l->stop)
            break;
        /* Compact deleted fds. */
        size_t k = 0;
        for (size_t i = 0; i < l->nfds; i++)
            if (l->fds[i].fd >= 0)
                l->fds[k++] = l->fds[i];
        l->nfds = k;
        struct pollfd pfd[LOOP_MAX_FDS];
        for (size_t i = 0; i < l->nfds; i++)
            pfd[i] = (struct pollfd){.fd = l->fds[i].fd, .events = l->fds[i].events};
        struct timespec ts, *tsp = NULL;
        if (next >= 0) {
            ts.tv_sec = (time_t)next;
            ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_nsec = 999999999L;
            tsp = &ts;
        }
        int n = ppoll(pfd, l->nfds, tsp, &l->waitmask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        size_t nfds = l->nfds;
        for (size_t i = 0; i < nfds && n > 0; i++) {
            if (pfd[i].revents == 0)
                continue;
            n--;
            /* The entry may have been deleted by an earlier callback in this round. */
            if (l->fds[i].fd == pfd[i].fd && l->fds[i].cb)
                l->fds[i].cb(pfd[i].fd, pfd[i].revents, l->fds[i].arg);
        }
    }
    return 0;
}
