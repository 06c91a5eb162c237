/* main.c: smagent entry point: options, --once, and the service loop (agent.c). */
#include "config.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "cli.h"
#include "collect/collect.h"
#include "collect/depth.h"
#include "collect/depth_fill.h"
#include "log.h"
#include "sample.h"
#include "settings.h"
#include "xmalloc.h"

/* How long --once measures, so that rates and per-core usage are real. */
#define ONCE_INTERVAL_MS 250

struct agent_opts {
    struct settings_cli cli;
    const char *proc_root;
    const char *sys_root;
    int once;
};

static void
usage(void)
{
    printf("usage: smagent [-s URL] [-t FILE] [-i SECONDS] [--spool DIR] [--spool-max SIZE]\n"
           "               [--ca-file FILE] [-c FILE] [--proc-root DIR] [--sys-root DIR] [-f]\n"
           "               [-v LEVEL]\n"
           "       smagent -1 [--proc-root DIR] [--sys-root DIR]\n"
           "\n"
           "Sample this machine (CPU, memory, filesystems, disks, network) and send the\n"
           "samples to smserver, keeping unsent ones in an on-disk spool.\n"
           "\n"
           "  -s, --server URL        server base URL (http://host:8001) or its full /ingest URL\n"
           "  -t, --token-file FILE   read the agent token from FILE (or set AGENT_TOKEN)\n"
           "  -i, --interval SECONDS  seconds between samples, 1 to 3600 (default 5)\n"
           "      --spool DIR         keep unsent samples here (default\n"
           "                          $STATE_DIRECTORY/spool or " SM_LOCALSTATEDIR "/spool)\n"
           "      --spool-max SIZE    cap the spool at SIZE bytes, K/M/G suffix (default 64M)\n"
           "      --ca-file FILE      trust the CA certificates in FILE for https\n"
           "  -c, --config FILE       read settings from FILE (default\n"
           "                          " SM_SYSCONFDIR "/smagent.conf)\n"
           "      --proc-root DIR     read /proc from DIR (default /proc)\n"
           "      --sys-root DIR      read /sys from DIR (default /sys)\n"
           "  -1, --once              print one sample as JSON on stdout and exit\n"
           "  -f, --foreground        stay in the foreground (smagent never forks)\n"
           "  -v, --log-level LEVEL   error, warn, info or debug (default info)\n"
           "  -h, --help              show this help and exit\n"
           "  -V, --version           show the version and exit\n"
           "\n"
           "Environment: INGESTION_URL, AGENT_TOKEN, COLLECTION_INTERVAL, INTERVAL.\n");
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Print one sample, measured over ONCE_INTERVAL_MS, with the host facts in it. */
static int
run_once(const struct agent_opts *o)
{
    struct settings set;
    char *cause = NULL;
    enum sm_rc rc = settings_resolve(&o->cli, 0, &set, &cause);
    if (rc == SM_ENOTFOUND)
        sm_usage_error("%s", cause);
    if (rc != SM_OK)
        sm_die(SM_EXIT_FAIL, "%s", cause);
    struct sm_collector *c = sm_collector_new(o->proc_root, o->sys_root);
    unsigned readers = set.depth | (set.processes > 0 ? 1u << SM_DEPTH_PROCS : 0);
    struct sm_depth_opts dopts = {.readers = readers, .top_n = (size_t)set.processes};
    struct sm_depth *depth = readers ? sm_depth_new(o->proc_root, o->sys_root, &dopts) : NULL;
    struct sm_depth_sample ds;
    struct sm_sample s;
    struct sm_host h;
    sm_sample_init(&s);
    sm_depth_sample_init(&ds);
    int ret = SM_EXIT_FAIL;
    if (sm_collector_sample(c, &s) != SM_OK) {
        fprintf(stderr, "%s: sampling failed: no readable kernel file under %s\n",
                sm_log_progname(), o->proc_root ? o->proc_root : "/proc");
        goto out;
    }
    if (depth && sm_depth_read(depth, &ds) != SM_OK) { /* nothing on this machine */
        sm_depth_free(depth);
        depth = NULL;
    }
    sleep_ms(ONCE_INTERVAL_MS);
    if (sm_collector_sample(c, &s) != SM_OK)
        goto out;
    if (depth && sm_depth_read(depth, &ds) == SM_OK)
        (void)sm_depth_fill(&ds, &s);
    sm_collector_host(c, &h);
    cJSON *j = sm_sample_to_json(&s);
    cJSON_AddItemToObject(j, "host", sm_host_to_json(&h));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    if (text == NULL)
        abort();
    puts(text);
    free(text);
    ret = fflush(stdout) == 0 ? SM_EXIT_OK : SM_EXIT_FAIL;
out:
    sm_sample_done(&s);
    sm_depth_sample_done(&ds);
    sm_depth_free(depth);
    sm_collector_free(c);
    settings_done(&set);
    return ret;
}

int
main(int argc, char **argv)
{
    enum { OPT_SPOOL = 256, OPT_SPOOL_MAX, OPT_CA, OPT_PROC, OPT_SYS };
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"token-file", required_argument, NULL, 't'},
        {"interval", required_argument, NULL, 'i'},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"spool-max", required_argument, NULL, OPT_SPOOL_MAX},
        {"ca-file", required_argument, NULL, OPT_CA},
        {"config", required_argument, NULL, 'c'},
        {"proc-root", required_argument, NULL, OPT_PROC},
        {"sys-root", required_argument, NULL, OPT_SYS},
        {"once", no_argument, NULL, '1'},
        {"foreground", no_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct agent_opts o = {.cli = {.log_level = -1}};
    sm_log_init(argv[0]);
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":s:t:i:c:1fv:hV", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': {
            char *url = NULL, *why = NULL;
            if (settings_ingest_url(optarg, &url, &why) != SM_OK)
                sm_usage_error("--server: %s", why);
            free(url);
            o.cli.server = optarg;
            break;
        }
        case 't':
            o.cli.token_file = optarg;
            break;
        case 'i':
            if (sm_parse_double(optarg, 1, 3600, &o.cli.interval) != 0)
                sm_usage_error("--interval: '%s' is not a number of seconds from 1 to 3600",
                               optarg);
            break;
        case OPT_SPOOL:
            o.cli.spool = optarg;
            break;
        case OPT_SPOOL_MAX:
            if (settings_parse_size(optarg, &o.cli.spool_max) != 0 ||
                o.cli.spool_max < SETTINGS_SPOOL_MAX_MIN)
                sm_usage_error("--spool-max: '%s' is not a size of at least 64K", optarg);
            break;
        case OPT_CA:
            o.cli.ca_file = optarg;
            break;
        case 'c':
            o.cli.config = optarg;
            break;
        case OPT_PROC:
            o.proc_root = optarg;
            break;
        case OPT_SYS:
            o.sys_root = optarg;
            break;
        case '1':
            o.once = 1;
            break;
        case 'f':
            break;
        case 'v': {
            int lvl = sm_log_parse_level(optarg);
            if (lvl < 0)
                sm_usage_error("--log-level: '%s' is not error, warn, info or debug", optarg);
            sm_log_set_level((enum sm_log_level)lvl);
            o.cli.log_level = lvl;
            break;
        }
        case 'h':
            usage();
            return SM_EXIT_OK;
        case 'V':
            sm_print_version();
        default:
            sm_usage_bad_option(ch, argv);
        }
    }
    sm_usage_no_operands(argc, argv);
    if (o.once)
        return run_once(&o);
    return agent_run(&o.cli, o.proc_root, o.sys_root);
}
