/* log.c: levelled logging. Thread safe: one fprintf per line on a locked stream. */
#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_progname = "statusmonitor";
static enum sm_log_level log_level = SM_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
sm_log_init(const char *progname)
{
    const char *slash = strrchr(progname, '/');
    log_progname = slash ? slash + 1 : progname;
}

void
sm_log_set_level(enum sm_log_level level)
{
    log_level = level;
}

enum sm_log_level
sm_log_get_level(void)
{
    return log_level;
}

const char *
sm_log_progname(void)
{
    return log_progname;
}

int
sm_log_parse_level(const char *s)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    if (strcmp(s, "warning") == 0)
        return SM_LOG_WARN;
    return -1;
}

void
sm_log(enum sm_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line keeps lines whole when several threads log. */
    fprintf(stderr, "%s: %s%s\n", log_progname, level == SM_LOG_WARN ? "warning: " : "", line);
}
