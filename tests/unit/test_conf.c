/* test_conf.c: the configuration file parser (sm_conf_parse, sm_conf_load). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"
#include "xmalloc.h"

/* The destinations every case parses into. */
static char *s_server;
static long l_interval;
static double d_ratio;
static int b_flag, set_server, set_interval;

static const struct sm_conf_key keys[] = {
    {"server", SM_CONF_STRING, &s_server, 0, 0, &set_server},
    {"interval", SM_CONF_LONG, &l_interval, 1, 3600, &set_interval},
    {"ratio", SM_CONF_DOUBLE, &d_ratio, -1, 1.5, NULL},
    {"log.color", SM_CONF_BOOL, &b_flag, 0, 0, NULL},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static void
reset(void)
{
    free(s_server);
    s_server = sm_xstrdup("default");
    l_interval = 10;
    d_ratio = 0.5;
    b_flag = -1;
    set_server = set_interval = 0;
}

struct tcase {
    const char *in;
    enum sm_rc want;
    const char *cause;  /* exact, when not OK */
    const char *server; /* expected afterwards */
    long interval;
    double ratio;
    int flag;
};

static const struct tcase cases[] = {
    /* accepted */
    {"", SM_OK, NULL, "default", 10, 0.5, -1},
    {"\n\n   \n\t\n", SM_OK, NULL, "default", 10, 0.5, -1},
    {"# only a comment\n   # indented comment\n", SM_OK, NULL, "default", 10, 0.5, -1},
    {"server = http://h:8001\n", SM_OK, NULL, "http://h:8001", 10, 0.5, -1},
    {"server=x", SM_OK, NULL, "x", 10, 0.5, -1},
    {"  server\t=\t  x y  \t\n", SM_OK, NULL, "x y", 10, 0.5, -1},
    {"server = x # comment\n", SM_OK, NULL, "x", 10, 0.5, -1},
    {"server = x\t# comment\n", SM_OK, NULL, "x", 10, 0.5, -1},
    {"server = a#b\n", SM_OK, NULL, "a#b", 10, 0.5, -1},
    {"server = # comment\n", SM_OK, NULL, "", 10, 0.5, -1},
    {"server =\n", SM_OK, NULL, "", 10, 0.5, -1},
    {"server = \"  a # b  \"\n", SM_OK, NULL, "  a # b  ", 10, 0.5, -1},
    {"server = \"q\\\"x\\\\y\" # c\n", SM_OK, NULL, "q\"x\\y", 10, 0.5, -1},
    {"server = \"\"\n", SM_OK, NULL, "", 10, 0.5, -1},
    {"server = caf\xc3\xa9\r\ninterval = 5\r\n", SM_OK, NULL, "caf\xc3\xa9", 5, 0.5, -1},
    {"interval = 1\n", SM_OK, NULL, "default", 1, 0.5, -1},
    {"interval = 3600", SM_OK, NULL, "default", 3600, 0.5, -1},
    {"interval = \"60\"", SM_OK, NULL, "default", 60, 0.5, -1},
    {"ratio = -1\n", SM_OK, NULL, "default", 10, -1, -1},
    {"ratio = 1.25\n", SM_OK, NULL, "default", 10, 1.25, -1},
    {"ratio = 15e-1\n", SM_OK, NULL, "default", 10, 1.5, -1},
    {"ratio = +0.5\n", SM_OK, NULL, "default", 10, 0.5, -1},
    {"log.color = yes", SM_OK, NULL, "default", 10, 0.5, 1},
    {"log.color = No", SM_OK, NULL, "default", 10, 0.5, 0},
    {"log.color = TRUE", SM_OK, NULL, "default", 10, 0.5, 1},
    {"log.color = false", SM_OK, NULL, "default", 10, 0.5, 0},
    {"log.color = on", SM_OK, NULL, "default", 10, 0.5, 1},
    {"log.color = off", SM_OK, NULL, "default", 10, 0.5, 0},
    {"log.color = 1", SM_OK, NULL, "default", 10, 0.5, 1},
    {"log.color = 0", SM_OK, NULL, "default", 10, 0.5, 0},
    {"server = a\ninterval = 7\nratio = 0\nlog.color = on\n", SM_OK, NULL, "a", 7, 0, 1},
    /* rejected; nothing is applied */
    {"bogus = 1\n", SM_EINVAL, "t.conf:1: bogus: unknown key", "default", 10, 0.5, -1},
    {"Server = x\n", SM_EINVAL, "t.conf:1: Server: unknown key", "default", 10, 0.5, -1},
    {"server = a\n\n# c\ninterval = 0\n", SM_EINVAL,
     "t.conf:4: interval: must be a whole number from 1 to 3600", "default", 10, 0.5, -1},
    {"interval = 3601", SM_EINVAL, "t.conf:1: interval: must be a whole number from 1 to 3600",
     "default", 10, 0.5, -1},
    {"interval = 1.5", SM_EINVAL, "t.conf:1: interval: must be a whole number from 1 to 3600",
     "default", 10, 0.5, -1},
    {"interval = 0x10", SM_EINVAL, "t.conf:1: interval: must be a whole number from 1 to 3600",
     "default", 10, 0.5, -1},
    {"interval = 10 s", SM_EINVAL, "t.conf:1: interval: must be a whole number from 1 to 3600",
     "default", 10, 0.5, -1},
    {"interval =", SM_EINVAL, "t.conf:1: interval: must be a whole number from 1 to 3600",
     "default", 10, 0.5, -1},
    {"interval = 99999999999999999999999", SM_EINVAL,
     "t.conf:1: interval: must be a whole number from 1 to 3600", "default", 10, 0.5, -1},
    {"interval = +5", SM_EINVAL, "t.conf:1: interval: must be a whole number from 1 to 3600",
     "default", 10, 0.5, -1},
    {"ratio = 2", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10, 0.5,
     -1},
    {"ratio = nan", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"ratio = inf", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"ratio = 1e999", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"ratio = .5", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"ratio = 1.", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"ratio = 1e", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"ratio = 0x1p-1", SM_EINVAL, "t.conf:1: ratio: must be a number from -1 to 1.5", "default", 10,
     0.5, -1},
    {"log.color = maybe", SM_EINVAL,
     "t.conf:1: log.color: must be yes or no (or true/false, on/off, 1/0)", "default", 10, 0.5, -1},
    {"log.color = ", SM_EINVAL,
     "t.conf:1: log.color: must be yes or no (or true/false, on/off, 1/0)", "default", 10, 0.5, -1},
    {"server = a\nserver = b\n", SM_EINVAL, "t.conf:2: server: set twice (first on line 1)",
     "default", 10, 0.5, -1},
    {"server\n", SM_EPARSE, "t.conf:1: expected key = value", "default", 10, 0.5, -1},
    {"= x\n", SM_EPARSE, "t.conf:1: expected key = value", "default", 10, 0.5, -1},
    {"ser ver = x\n", SM_EPARSE, "t.conf:1: expected key = value", "default", 10, 0.5, -1},
    {"server: x\n", SM_EPARSE, "t.conf:1: expected key = value", "default", 10, 0.5, -1},
    {"[section]\n", SM_EPARSE, "t.conf:1: expected key = value", "default", 10, 0.5, -1},
    {"server = \"abc\n", SM_EPARSE, "t.conf:1: server: missing closing quote", "default", 10, 0.5,
     -1},
    {"server = \"abc\\\"\n", SM_EPARSE, "t.conf:1: server: missing closing quote", "default", 10,
     0.5, -1},
    {"server = \"a\" b\n", SM_EPARSE, "t.conf:1: server: text after the closing quote", "default",
     10, 0.5, -1},
    {"server = \"a\\n\"\n", SM_EPARSE,
     "t.conf:1: server: only \\\" and \\\\ may follow a backslash in quotes", "default", 10, 0.5,
     -1},
    {"server = a\x01\n", SM_EPARSE, "t.conf:1: control character (byte 0x01)", "default", 10, 0.5,
     -1},
    {"server = a\x7f\n", SM_EPARSE, "t.conf:1: control character (byte 0x7f)", "default", 10, 0.5,
     -1},
    {"server = a\rb\n", SM_EPARSE, "t.conf:1: control character (byte 0x0d)", "default", 10, 0.5,
     -1},
};

/* Build a buffer of n bytes of 'x' lines, for the size caps. */
static char *
filler(size_t n, const char *head)
{
    char *b = sm_xmalloc(n + 1);
    size_t h = strlen(head);
    memcpy(b, head, h);
    memset(b + h, 'x', n - h);
    b[n] = '\0';
    return b;
}

int
main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        char *cause = NULL;
        reset();
        enum sm_rc rc = sm_conf_parse("t.conf", c->in, strlen(c->in), keys, NKEYS, &cause);
        int good = rc == c->want &&
                   (rc == SM_OK ? cause == NULL : cause != NULL && strcmp(cause, c->cause) == 0);
        good = good && strcmp(s_server, c->server) == 0 && l_interval == c->interval &&
               d_ratio == c->ratio && b_flag == c->flag;
        if (!ok(good, "case %zu: %s", i, c->cause ? c->cause : "accepted"))
            diag("    input '%s'\n#     got %s '%s', server '%s' interval %ld ratio %g flag %d",
                 c->in, sm_rc_str(rc), cause ? cause : "(null)", s_server, l_interval, d_ratio,
                 b_flag);
        free(cause);
    }

    /* The set flags say which keys appeared. */
    char *cause = NULL;
    reset();
    enum sm_rc rc = sm_conf_parse("t", "interval = 5\n", 13, keys, NKEYS, &cause);
    ok(rc == SM_OK && set_interval == 1 && set_server == 0, "set flags");
    free(cause);

    /* Embedded NUL, and the length (not a NUL) ends the buffer. */
    cause = NULL;
    rc = sm_conf_parse("t", "server = a\0b\n", 13, keys, NKEYS, &cause);
    ok(rc == SM_EPARSE && cause && strcmp(cause, "t:1: NUL byte") == 0, "NUL byte rejected");
    free(cause);
    cause = NULL;
    reset();
    rc = sm_conf_parse("t", "server = abc", 10, keys, NKEYS, &cause);
    ok(rc == SM_OK && strcmp(s_server, "a") == 0, "len bounds the buffer");
    free(cause);

    /* Line and file caps. */
    char *line = filler(SM_CONF_MAX_LINE, "server = ");
    cause = NULL;
    reset();
    rc = sm_conf_parse("t", line, strlen(line), keys, NKEYS, &cause);
    ok(rc == SM_OK && strlen(s_server) == SM_CONF_MAX_LINE - 9, "line of exactly the cap");
    free(cause);
    free(line);
    line = filler(SM_CONF_MAX_LINE + 1, "server = ");
    cause = NULL;
    rc = sm_conf_parse("t", line, strlen(line), keys, NKEYS, &cause);
    ok(rc == SM_ETOOBIG && cause && strcmp(cause, "t:1: line longer than 4096 bytes") == 0,
       "line over the cap");
    free(cause);
    free(line);
    char *big = sm_xmalloc(SM_CONF_MAX_SIZE + 1);
    memset(big, '\n', SM_CONF_MAX_SIZE + 1);
    cause = NULL;
    rc = sm_conf_parse("t", big, SM_CONF_MAX_SIZE, keys, NKEYS, &cause);
    ok(rc == SM_OK, "file of exactly the cap");
    free(cause);
    cause = NULL;
    rc = sm_conf_parse("t", big, SM_CONF_MAX_SIZE + 1, keys, NKEYS, &cause);
    ok(rc == SM_ETOOBIG && cause && strstr(cause, "larger than"), "buffer over the cap");
    free(cause);

    /* Files. */
    char dir[] = "/tmp/test_conf.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return tap_done();
    }
    char *path = sm_xasprintf("%s/smagent.conf", dir);
    cause = NULL;
    rc = sm_conf_load(path, keys, NKEYS, &cause);
    ok(rc == SM_ENOTFOUND && cause && strstr(cause, path), "missing file: not found, named");
    free(cause);

    FILE *f = fopen(path, "w");
    fputs("# agent\nserver = \"http://127.0.0.1:8001\"\ninterval = 15 # seconds\n", f);
    fclose(f);
    cause = NULL;
    reset();
    rc = sm_conf_load(path, keys, NKEYS, &cause);
    ok(rc == SM_OK && strcmp(s_server, "http://127.0.0.1:8001") == 0 && l_interval == 15,
       "file loaded");
    ok_near(d_ratio, 0.5, 0, "file loaded: other keys keep their defaults");
    free(cause);

    f = fopen(path, "w");
    fputs("server = a\ninterval = 0\n", f);
    fclose(f);
    cause = NULL;
    rc = sm_conf_load(path, keys, NKEYS, &cause);
    char *want = sm_xasprintf("%s:2: interval: must be a whole number from 1 to 3600", path);
    ok_str(cause, want, "file error names file and line");
    free(want);
    free(cause);

    f = fopen(path, "w");
    for (size_t i = 0; i < SM_CONF_MAX_SIZE / 32; i++)
        fputs("# padding padding padding padding padding padding padding pad\n", f);
    fclose(f);
    cause = NULL;
    rc = sm_conf_load(path, keys, NKEYS, &cause);
    ok(rc == SM_ETOOBIG && cause && strstr(cause, "larger than 1048576 bytes"),
       "file over the cap");
    free(cause);

    cause = NULL;
    rc = sm_conf_load(dir, keys, NKEYS, &cause);
    ok(rc == SM_EIO && cause != NULL, "a directory: I/O error");
    free(cause);

    unlink(path);
    rmdir(dir);
    free(path);
    free(big);
    free(s_server);
    return tap_done();
}
