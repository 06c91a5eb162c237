/* loop.c: the libwebsockets service loop with adopted descriptors, lws_sul timers on an
 * absolute schedule, and signals through a signalfd. */
#include "config.h"

#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "xmalloc.h"

#define LOOP_PROTOCOL "smtop-loop"
#define LOOP_MAX_PROTOCOLS 8

struct loop;

struct loop_fd {
    struct loop *l;
    int fd;     /* the caller's fd (given to the callback) */
    int dup_fd; /* the duplicate the loop adopted */
    struct lws *wsi;
    loop_fd_cb cb;
    void *arg;
    int is_signal;
};

struct loop_timer {
    lws_sorted_usec_list_t sul; /* first: container_of */
    struct loop *l;
    int used, armed;
    double due, period;
    loop_timer_cb cb;
    void *arg;
};

struct loop {
    struct lws_context *ctx;
    struct lws_protocols protocols[LOOP_MAX_PROTOCOLS + 2];
    struct loop_fd fds[LOOP_MAX_FDS + 1]; /* + the signalfd */
    size_t nfds;
    struct loop_timer timers[LOOP_MAX_TIMERS];
    lws_sorted_usec_list_t sul_wake; /* loop_once's limit */
    loop_after_cb after;
    void *after_arg;
    int stop, freeing, failed;
    int sigfd;
    unsigned sigs;
    char tls_why[128]; /* why OpenSSL refused the last server certificate, or "" */
};

static void
on_signals(struct loop *l)
{
    struct signalfd_siginfo si;
    while (read(l->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo < 32)
            l->sigs |= 1u << si.ssi_signo;
}

static int
raw_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)in;
    struct loop_fd *f = lws_get_opaque_user_data(wsi);
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: {
        /* Every certificate of the server's chain, with OpenSSL's verdict in len: keep
         * the reason of a refusal for loop_tls_failure, and never overrule it. */
        struct loop *l = lws_context_user(lws_get_context(wsi));
        if (len == 0 && l != NULL) {
            int err = X509_STORE_CTX_get_error((X509_STORE_CTX *)user);
            snprintf(l->tls_why, sizeof l->tls_why, "%s", X509_verify_cert_error_string(err));
        }
        return 0;
    }
    case LWS_CALLBACK_RAW_RX_FILE:
        if (f == NULL || f->l->freeing)
            return 0;
        if (f->is_signal)
            on_signals(f->l);
        else if (f->cb)
            f->cb(f->fd, POLLIN, f->arg);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (f == NULL)
            return 0;
        f->wsi = NULL;
        f->dup_fd = -1; /* lws closed it */
        if (!f->l->freeing && f->cb)
            f->cb(f->fd, POLLHUP, f->arg);
        return 0;
    default:
        return 0;
    }
}

static void
lws_log_quiet(int level, const char *line)
{
    (void)level;
    /* libwebsockets' own lines would scribble over the screen; keep them for debugging. */
    if (sm_log_get_level() >= SM_LOG_DEBUG) {
        size_t n = strlen(line);
        sm_log(SM_LOG_DEBUG, "lws: %.*s", (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
    }
}

/* The CA bundle that verifies servers when no ca_file is given: the system's, as
 * OpenSSL names it (SSL_CERT_FILE overrides it, as for other OpenSSL programs).
 * libwebsockets' own default is a path fixed when it was built, often not the system's. */
static const char *
system_ca_file(void)
{
    const char *env = getenv(X509_get_default_cert_file_env());
    return env && env[0] ? env : X509_get_default_cert_file();
}

struct loop *
loop_new(const struct lws_protocols *extra, int tls, const char *ca_file)
{
    struct loop *l = sm_xcalloc(1, sizeof *l);
    l->sigfd = -1;
    size_t n = 0;
    l->protocols[n++] = (struct lws_protocols){.name = LOOP_PROTOCOL, .callback = raw_cb};
    for (size_t i = 0; extra && extra[i].name && n < LOOP_MAX_PROTOCOLS + 1; i++)
        l->protocols[n++] = extra[i];
    /* protocols[n] stays zero: the terminator. */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_quiet);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = l->protocols;
    info.gid = -1;
    info.uid = -1;
    info.timeout_secs = 10; /* connecting and handshakes */
    info.user = l;
    if (tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        /* Servers are verified (name and chain) against these CAs only. */
        info.client_ssl_ca_filepath = ca_file ? ca_file : system_ca_file();
        if (access(info.client_ssl_ca_filepath, R_OK) != 0)
            sm_die(SM_EXIT_FAIL, "%s: %s (the CA certificates to verify the server with)",
                   info.client_ssl_ca_filepath, strerror(errno));
    }
    l->ctx = lws_create_context(&info);
    if (l->ctx == NULL)
        sm_die(SM_EXIT_FAIL, "libwebsockets: cannot create a context");
    return l;
}

struct lws_context *
loop_context(const struct loop *l)
{
    return l->ctx;
}

int
loop_tls_failure(struct lws_context *ctx, char *buf, size_t size)
{
    struct loop *l = lws_context_user(ctx);
    if (l == NULL || l->tls_why[0] == '\0')
        return 0;
    snprintf(buf, size, "%s", l->tls_why);
    l->tls_why[0] = '\0';
    return 1;
}

void
loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    l->freeing = 1;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++)
        if (l->timers[i].used)
            lws_sul_cancel(&l->timers[i].sul);
    lws_sul_cancel(&l->sul_wake);
    lws_context_destroy(l->ctx);
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i].dup_fd >= 0 && l->fds[i].wsi == NULL)
            close(l->fds[i].dup_fd);
    if (l->sigfd >= 0)
        close(l->sigfd);
    free(l);
}

/* Adopt fd (owned by the loop from now on) into the loop. */
static struct loop_fd *
adopt(struct loop *l, int fd, int caller_fd, loop_fd_cb cb, void *arg)
{
    if (l->nfds == LOOP_MAX_FDS + 1)
        return NULL;
    struct loop_fd *f = &l->fds[l->nfds];
    *f = (struct loop_fd){.l = l, .fd = caller_fd, .dup_fd = fd, .cb = cb, .arg = arg};
    lws_adopt_desc_t ad;
    memset(&ad, 0, sizeof ad);
    ad.vh = lws_get_vhost_by_name(l->ctx, "default");
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    ad.fd.filefd = fd;
    ad.vh_prot_name = LOOP_PROTOCOL;
    ad.opaque = f;
    if (ad.vh == NULL)
        return NULL;
    f->wsi = lws_adopt_descriptor_vhost_via_info(&ad);
    if (f->wsi == NULL)
        return NULL; /* lws closed fd */
    l->nfds++;
    return f;
}

int
loop_catch_signals(struct loop *l)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGWINCH);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    l->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (l->sigfd < 0)
        return -1;
    int fd = dup(l->sigfd);
    if (fd < 0)
        return -1;
    struct loop_fd *f = adopt(l, fd, l->sigfd, NULL, NULL);
    if (f == NULL)
        return -1;
    f->is_signal = 1;
    return 0;
}

int
loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
    (void)events; /* readability is all the loop watches */
    if (l->nfds >= LOOP_MAX_FDS)
        return -1;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (d < 0)
        return -1;
    return adopt(l, d, fd, cb, arg) ? 0 : -1;
}

static void on_timer(lws_sorted_usec_list_t *sul);

/* Schedule t's sul for its due time. */
static void
timer_arm(struct loop_timer *t)
{
    double in = t->due - sm_mono_now();
    lws_usec_t us = in > 0 ? (lws_usec_t)(in * 1e6) : 1;
    lws_sul_schedule(t->l->ctx, 0, &t->sul, on_timer, us);
}

static void
on_timer(lws_sorted_usec_list_t *sul)
{
    struct loop_timer *t = lws_container_of(sul, struct loop_timer, sul);
    if (!t->armed)
        return;
    if (t->period > 0) {
        double now = sm_mono_now();
        t->due += t->period;
        if (t->due <= now) /* we fell behind (suspend, slow draw): skip, don't burst */
            t->due = now + t->period;
        timer_arm(t);
    } else {
        t->armed = 0;
    }
    t->cb(t->arg);
}

int
loop_add_timer(struct loop *l, double first, double period, loop_timer_cb cb, void *arg)
{
    for (int i = 0; i < LOOP_MAX_TIMERS; i++) {
        if (!l->timers[i].used) {
            l->timers[i] = (struct loop_timer){.l = l, .used = 1, .cb = cb, .arg = arg};
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
    struct loop_timer *t = &l->timers[id];
    t->armed = 1;
    t->due = sm_mono_now() + (first > 0 ? first : 0);
    t->period = period > 0 ? period : 0;
    timer_arm(t);
}

void
loop_timer_cancel(struct loop *l, int id)
{
    if (id >= 0 && id < LOOP_MAX_TIMERS && l->timers[id].used) {
        l->timers[id].armed = 0;
        lws_sul_cancel(&l->timers[id].sul);
    }
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

unsigned
loop_take_signals(struct loop *l)
{
    unsigned r = l->sigs;
    l->sigs = 0;
    return r;
}

static void
on_wake(lws_sorted_usec_list_t *sul)
{
    (void)sul;
}

int
loop_once(struct loop *l, double max_wait)
{
    if (max_wait >= 0)
        lws_sul_schedule(l->ctx, 0, &l->sul_wake, on_wake,
                         max_wait > 0 ? (lws_usec_t)(max_wait * 1e6) : 1);
    int n = lws_service(l->ctx, 0);
    lws_sul_cancel(&l->sul_wake);
    if (l->after)
        l->after(l->after_arg);
    return n < 0 ? -1 : 0;
}

int
loop_run(struct loop *l)
{
    l->stop = 0;
    /* The first frame before the first wait. */
    if (l->after)
        l->after(l->after_arg);
    while (!l->stop) {
        if (lws_service(l->ctx, 0) < 0)
            return -1;
        if (l->after)
            l->after(l->after_arg);
    }
    return 0;
}
