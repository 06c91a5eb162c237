/* main.c: smtop entry point: options, batch and JSON modes, the dashboard. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <pwd.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "collect/depth.h"
#include "fleet.h"
#include "cli.h"
#include "clock.h"
#include "log.h"
#include "loop.h"
#include "settings.h"
#include "model.h"
#include "smtop.h"
#include "source_local.h"
#include "source_remote.h"
#include "ui.h"

/* History kept in memory in local mode. */
#define LOCAL_SPAN (24 * 3600.0)

static void
usage(void)
{
    printf("usage: smtop [-d SECONDS] [-n COUNT] [--ascii]\n"
           "       smtop -b [-n COUNT] [-d SECONDS]\n"
           "       smtop --json [-n COUNT] [-d SECONDS]\n"
           "       smtop --server URL [--user NAME] [--password-file FILE] [--ca-file FILE]\n"
           "             [-b | --json]\n"
           "\n"
           "Show this machine's CPU (every core, with its frequency), memory, filesystems,\n"
           "disks and network, with history graphs since start; or, with --server, every\n"
           "agent of a StatusMonitor server, live.\n"
           "\n"
           "  -d, --delay SECONDS    seconds between refreshes, 0.1 to 3600 (default 2)\n"
           "  -n, --iterations N     stop after N frames or refreshes (default: no limit)\n"
           "  -b, --batch            print plain-text frames on stdout instead of the dashboard\n"
           "  -j, --json             print frames as JSON lines on stdout (one sample each)\n"
           "  -a, --ascii            draw graphs with ASCII characters only\n"
           "      --config FILE      settings file (default\n"
           "                         ~/.config/statusmonitor/smtop.conf)\n"
           "      --proc-root DIR    read /proc from DIR (default /proc)\n"
           "      --sys-root DIR     read /sys from DIR (default /sys)\n"
           "      --list-keys        print the key bindings and exit\n"
           "  -s, --server URL       show the agents of the server at URL (http://HOST:PORT or\n"
           "                         https://HOST:PORT)\n"
           "  -u, --user NAME        log in to the server as NAME (default: $USER)\n"
           "      --password-file FILE\n"
           "                         read the password from FILE (else SMTOP_PASSWORD, else\n"
           "                         asked on the terminal); only when no stored session works\n"
           "      --ca-file FILE     verify an https:// server with the CA certificates in\n"
           "                         the PEM FILE (default: the system's)\n"
           "  -h, --help             show this help and exit\n"
           "  -V, --version          show the version and exit\n");
}

/* Sleep until the monotonic time `until` (seconds). */
static void
sleep_until(double until)
{
    struct timespec ts;
    ts.tv_sec = (time_t)until;
    ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Batch and JSON modes: N frames of this machine on stdout. */
static int
run_batch(const struct smtop_opts *o)
{
    struct model *m = model_new(60);
    struct source_local *src = source_local_new(m, o->proc_root, o->sys_root);
    /* Plain text lists the busiest processes, as top -b does; JSON keeps its shape. */
    if (!o->json)
        source_local_enable_depth(src, 1u << SM_DEPTH_PROCS);
    double next = sm_mono_now() + fmin(o->delay, SOURCE_LOCAL_PRIME);
    int ret = SM_EXIT_OK;
    for (long i = 0; o->count == 0 || i < o->count; i++) {
        sleep_until(next);
        next += o->delay;
        if (next < sm_mono_now())
            next = sm_mono_now() + o->delay;
        if (source_local_tick(src) != SM_OK) {
            fprintf(stderr, "%s: sampling failed: no readable kernel file under %s\n",
                    sm_log_progname(), o->proc_root ? o->proc_root : "/proc");
            ret = SM_EXIT_FAIL;
            break;
        }
        const struct model_host *h = model_host_find(m, SOURCE_LOCAL_HOST);
        int r =
            o->json ? batch_json_frame(stdout, h, 0) : batch_text_frame(stdout, h, sm_wall_now());
        const struct sm_depth_sample *d = o->json ? NULL : source_local_depth(src);
        if (r == 0 && d != NULL)
            r = batch_procs_section(stdout, d->procs.v, d->procs.n, BATCH_PROCS);
        if (r != 0 || fflush(stdout) != 0) {
            ret = SM_EXIT_FAIL;
            break;
        }
    }
    source_local_free(src);
    model_free(m);
    return ret;
}

/* Turn the loop for `seconds`, applying the client's events (server mode). */
static void
remote_wait(struct loop *loop, struct source_remote *src, double seconds)
{
    double end = sm_mono_now() + seconds;
    for (;;) {
        double left = end - sm_mono_now();
        if (left <= 0)
            break;
        if (loop_once(loop, left) != 0)
            break;
        source_remote_drain(src);
    }
}

/* Batch and JSON modes against a server: N frames of the whole fleet. */
static int
run_server_batch(const struct smtop_opts *o)
{
    struct model *m = model_new(600);
    int code = SM_EXIT_FAIL;
    char *cause = NULL;
    struct loop *loop = loop_new(client_protocols(), client_url_is_tls(o->server), o->ca_file);
    struct source_remote *src = source_remote_new(m, o, loop_context(loop), &code, &cause);
    char status[256];
    if (src == NULL) {
        fprintf(stderr, "%s: %s\n", sm_log_progname(), cause);
        free(cause);
        loop_free(loop);
        model_free(m);
        return code;
    }
    /* The first frame waits for the snapshot and the alerts (at most 30 s). */
    double give_up = sm_mono_now() + 30;
    while ((!source_remote_ready(src) || !source_remote_alerts_fetched(src)) &&
           sm_mono_now() < give_up) {
        remote_wait(loop, src, 0.1);
        source_remote_status(src, sm_mono_now(), status, sizeof status);
        if (strncmp(status, "session", 7) == 0 || strstr(status, "log in") != NULL)
            break;
    }
    int ret = SM_EXIT_OK;
    if (!source_remote_ready(src)) {
        fprintf(stderr, "%s: %s: no snapshot from the server: %s\n", sm_log_progname(), o->server,
                source_remote_status(src, sm_mono_now(), status, sizeof status));
        ret = SM_EXIT_FAIL;
        goto out;
    }
    for (long i = 0; o->count == 0 || i < o->count; i++) {
        if (i > 0)
            remote_wait(loop, src, o->delay);
        source_remote_status(src, sm_mono_now(), status, sizeof status);
        int r = o->json ? fleet_json_frame(stdout, m)
                        : fleet_text_frame(stdout, m, sm_wall_now(), status);
        if (r != 0 || fflush(stdout) != 0) {
            ret = SM_EXIT_FAIL;
            break;
        }
    }
out:
    source_remote_free(src);
    loop_free(loop);
    model_free(m);
    return ret;
}

int
main(int argc, char **argv)
{
    enum { OPT_PROC = 256, OPT_SYS, OPT_KEYS, OPT_PWFILE, OPT_CAFILE };
    static const struct option longopts[] = {
        {"delay", required_argument, NULL, 'd'},
        {"iterations", required_argument, NULL, 'n'},
        {"batch", no_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'j'},
        {"ascii", no_argument, NULL, 'a'},
        /* Long only: 'c' is not in the short options. */
        {"config", required_argument, NULL, 'c'},
        {"proc-root", required_argument, NULL, OPT_PROC},
        {"sys-root", required_argument, NULL, OPT_SYS},
        {"list-keys", no_argument, NULL, OPT_KEYS},
        {"server", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, OPT_PWFILE},
        {"ca-file", required_argument, NULL, OPT_CAFILE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* delay 0: not given (settings_load fills it); config: --config FILE. */
    struct smtop_opts o = {.delay = 0, .graph = GRAPH_AUTO};
    const char *config = NULL;
    sm_log_init(argv[0]);
    setlocale(LC_ALL, "");
    /* Numbers on the command line and in JSON use '.', whatever the locale. */
    setlocale(LC_NUMERIC, "C");
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":d:n:bjahVs:u:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            if (sm_parse_double(optarg, SOURCE_LOCAL_MIN_DELAY, SOURCE_LOCAL_MAX_DELAY, &o.delay) !=
                0)
                sm_usage_error("--delay: '%s' is not a number of seconds from 0.1 to 3600", optarg);
            break;
        case 'n':
            if (sm_parse_long(optarg, 1, 1000000000L, &o.count) != 0)
                sm_usage_error("--iterations: '%s' is not a whole number from 1 to 1000000000",
                               optarg);
            break;
        case 'b':
            o.batch = 1;
            break;
        case 'j':
            o.json = 1;
            break;
        case 'a':
            o.graph = GRAPH_ASCII;
            break;
        case 'c':
            config = optarg;
            break;
        case OPT_PROC:
            o.proc_root = optarg;
            break;
        case OPT_SYS:
            o.sys_root = optarg;
            break;
        case OPT_KEYS:
            ui_print_keys(stdout);
            return SM_EXIT_OK;
        case 's':
            o.server = optarg;
            break;
        case 'u':
            o.user = optarg;
            break;
        case OPT_PWFILE:
            o.password_file = optarg;
            break;
        case OPT_CAFILE:
            o.ca_file = optarg;
            break;
        case 'h':
            usage();
            return SM_EXIT_OK;
        case 'V':
            sm_print_version();
        default:
            sm_usage_bad_option(ch, argv);
        }
    }
    settings_load(&o, config);
    sm_usage_no_operands(argc, argv);
    if (o.server == NULL && (o.user != NULL || o.password_file != NULL))
        sm_usage_error("--user and --password-file need --server");
    if (o.server != NULL) {
        if (o.proc_root || o.sys_root)
            sm_usage_error("--proc-root and --sys-root are for local mode, not --server");
        if (o.user == NULL) {
            const char *u = getenv("USER");
            struct passwd *pw = u && u[0] ? NULL : getpwuid(getuid());
            o.user = u && u[0] ? u : pw ? pw->pw_name : NULL;
            if (o.user == NULL)
                sm_usage_error("--user: no $USER; name the account");
        }
        if (o.batch || o.json)
            return run_server_batch(&o);
        return ui_run(&o);
    }
    if (o.batch || o.json)
        return run_batch(&o);
    return ui_run(&o);
}
