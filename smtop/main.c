/* main.c: smtop entry point (placeholder until the dashboard lands). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"

static void
usage(void)
{
    printf("usage: smtop [-d SECONDS] [--server URL]\n"
           "\n"
           "  -h, --help       show this help and exit\n"
           "  -V, --version    show the version and exit\n");
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    sm_log_init(argv[0]);
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            usage();
            return SM_EXIT_OK;
        case 'V':
            sm_print_version();
        default:
            sm_usage_error("unknown option");
        }
    }
    sm_die(SM_EXIT_FAIL, "the dashboard is not built yet");
}
