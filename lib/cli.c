/* cli.c: usage errors, fatal errors and number parsing for the command line. */
#include "config.h"

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"

void
sm_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", sm_log_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", sm_log_progname());
    exit(SM_EXIT_USAGE);
}

void
sm_usage_bad_option(int ch, char *const argv[])
{
    if (ch == ':')
        sm_usage_error("option '%s' needs a value", argv[optind - 1]);
    sm_usage_error("unknown option '%s'", argv[optind - 1]);
}

void
sm_usage_no_operands(int argc, char *const argv[])
{
    if (optind < argc)
        sm_usage_error("unexpected argument '%s'", argv[optind]);
}

void
sm_die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", sm_log_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

void
sm_print_version(void)
{
    printf("%s %s\n", sm_log_progname(), PACKAGE_VERSION);
    exit(SM_EXIT_OK);
}

int
sm_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
sm_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    /* strtol skips leading white space: " 1" is not a number here. */
    if (isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
