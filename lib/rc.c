/* rc.c: one table maps each error code to a word, an HTTP status and an exit code. */
#include "config.h"

#include "rc.h"

static const struct {
    const char *str;
    int http;
    int exit;
} rc_table[SM_RC_COUNT] = {
    [SM_OK] = {"ok", 200, 0},
    [SM_EIO] = {"input/output error", 500, 74},      /* EX_IOERR */
    [SM_EPARSE] = {"malformed input", 400, 65},      /* EX_DATAERR */
    [SM_EINVAL] = {"invalid value", 400, 65},        /* EX_DATAERR */
    [SM_ETOOBIG] = {"too large", 413, 65},           /* EX_DATAERR */
    [SM_ENOTFOUND] = {"not found", 404, 66},         /* EX_NOINPUT */
    [SM_EAUTH] = {"not authenticated", 401, 77},     /* EX_NOPERM */
    [SM_EFORBIDDEN] = {"forbidden", 403, 77},        /* EX_NOPERM */
    [SM_ECONFLICT] = {"already exists", 409, 65},    /* EX_DATAERR */
    [SM_EBUSY] = {"busy, try again later", 429, 75}, /* EX_TEMPFAIL */
    [SM_EUNAVAIL] = {"unavailable", 503, 69},        /* EX_UNAVAILABLE */
    [SM_ENOMEM] = {"out of memory", 503, 71},        /* EX_OSERR */
    [SM_EINTERNAL] = {"internal error", 500, 70},    /* EX_SOFTWARE */
    [SM_EFULL] = {"disk full", 503, 74},             /* EX_IOERR */
};

const char *
sm_rc_str(enum sm_rc rc)
{
    if ((unsigned)rc >= SM_RC_COUNT)
        return "unknown error";
    return rc_table[rc].str;
}

int
sm_rc_http(enum sm_rc rc)
{
    if ((unsigned)rc >= SM_RC_COUNT)
        return 500;
    return rc_table[rc].http;
}

int
sm_rc_exit(enum sm_rc rc)
{
    if ((unsigned)rc >= SM_RC_COUNT)
        return 1;
    return rc_table[rc].exit;
}
