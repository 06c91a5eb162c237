/* conf.c: the configuration file parser ("key = value" lines).
 *
 * The whole buffer is checked first and applied only when every line is good, so a
 * bad file never leaves the destinations half-updated. */
#include "config.h"

#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xmalloc.h"

/* Where errors go, and the line being parsed. */
struct cp {
    const char *name;
    size_t line;
    char **cause;
};

__attribute__((format(printf, 3, 4))) static enum sm_rc
fail(struct cp *p, enum sm_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = sm_xvasprintf(fmt, ap);
    va_end(ap);
    *p->cause = sm_xasprintf("%s:%zu: %s", p->name, p->line, msg);
    free(msg);
    return rc;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int
is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* A strict decimal number: [-]digits[.digits][(e|E)[+-]digits], or digits only when
 * whole. (strtod alone would take hex, inf, nan and leading blanks.) */
static int
number_syntax(const char *s, int whole)
{
    const char *p = s;
    if (*p == '-' || (*p == '+' && !whole))
        p++;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (!whole && *p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (!whole && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* strtod in the C locale's notation whatever LC_NUMERIC is (smtop sets the locale):
 * replace '.' by the locale's decimal point first, as cJSON does. */
static double
c_strtod(const char *s, int *bad)
{
    char buf[128];
    size_t n = sm_strlcpy(buf, s, sizeof buf);
    if (n >= sizeof buf) {
        *bad = 1;
        return 0;
    }
    const char *dp = localeconv()->decimal_point;
    char *dot = strchr(buf, '.');
    if (dot != NULL && dp != NULL && dp[0] != '\0' && dp[1] == '\0')
        *dot = dp[0];
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    *bad = *end != '\0' || errno == ERANGE;
    return v;
}

static const struct {
    const char *word;
    int value;
} bools[] = {{"yes", 1}, {"true", 1},  {"on", 1},  {"1", 1},
             {"no", 0},  {"false", 0}, {"off", 0}, {"0", 0}};

/* Check value for key and, with apply, store it. */
static enum sm_rc
set_value(struct cp *p, const struct sm_conf_key *k, const char *value, int apply)
{
    int bad = 0;
    double v;

    switch (k->type) {
    case SM_CONF_STRING:
        if (apply) {
            char **dst = k->dest;
            free(*dst);
            *dst = sm_xstrdup(value);
        }
        break;
    case SM_CONF_LONG:
        if (!number_syntax(value, 1) || strlen(value) > 20)
            bad = 1;
        v = bad ? 0 : c_strtod(value, &bad);
        if (bad || v < k->min || v > k->max)
            return fail(p, SM_EINVAL, "%s: must be a whole number from %.0f to %.0f", k->name,
                        k->min, k->max);
        if (apply)
            *(long *)k->dest = strtol(value, NULL, 10);
        break;
    case SM_CONF_DOUBLE:
        if (!number_syntax(value, 0))
            bad = 1;
        v = bad ? 0 : c_strtod(value, &bad);
        if (bad || v < k->min || v > k->max)
            return fail(p, SM_EINVAL, "%s: must be a number from %g to %g", k->name, k->min,
                        k->max);
        if (apply)
            *(double *)k->dest = v;
        break;
    case SM_CONF_BOOL:
        for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
            if (strcasecmp(value, bools[i].word) == 0) {
                if (apply)
                    *(int *)k->dest = bools[i].value;
                goto done;
            }
        }
        return fail(p, SM_EINVAL, "%s: must be yes or no (or true/false, on/off, 1/0)", k->name);
    }
done:
    if (apply && k->set != NULL)
        *k->set = 1;
    return SM_OK;
}

/* Parse the value part of a line (after '=' and blanks) into out (at least as long as
 * s). Handles double quotes with \" and \\, and '#' comments after blanks. */
static enum sm_rc
parse_value(struct cp *p, const char *key, const char *s, char *out)
{
    size_t o = 0;
    if (*s == '"') {
        for (s++;; s++) {
            if (*s == '\0')
                return fail(p, SM_EPARSE, "%s: missing closing quote", key);
            if (*s == '"')
                break;
            if (*s == '\\') {
                s++;
                if (*s != '"' && *s != '\\')
                    return fail(p, SM_EPARSE,
                                "%s: only \\\" and \\\\ may follow a backslash in quotes", key);
            }
            out[o++] = *s;
        }
        s++;
        while (is_space(*s))
            s++;
        if (*s != '\0' && *s != '#')
            return fail(p, SM_EPARSE, "%s: text after the closing quote", key);
        out[o] = '\0';
        return SM_OK;
    }
    for (; *s != '\0'; s++) {
        if (*s == '#' && o > 0 && is_space(out[o - 1]))
            break;
        if (*s == '#' && o == 0)
            break; /* "key = # comment": the blanks after '=' were skipped already */
        out[o++] = *s;
    }
    while (o > 0 && is_space(out[o - 1]))
        o--;
    out[o] = '\0';
    return SM_OK;
}

/* One pass over buf: check every line, and with apply store the values. seen[i] holds
 * the line where keys[i] was first set (0: not yet). */
static enum sm_rc
run(struct cp *p, const char *buf, size_t len, const struct sm_conf_key *keys, size_t nkeys,
    size_t *seen, int apply)
{
    char line[SM_CONF_MAX_LINE + 1], value[SM_CONF_MAX_LINE + 1];
    size_t pos = 0;
    enum sm_rc rc;

    p->line = 0;
    while (pos < len) {
        p->line++;
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        if (n > 0 && buf[pos + n - 1] == '\r')
            n--;
        if (n > SM_CONF_MAX_LINE)
            return fail(p, SM_ETOOBIG, "line longer than %d bytes", SM_CONF_MAX_LINE);
        memcpy(line, buf + pos, n);
        line[n] = '\0';
        pos += nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;

        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            if (c == '\0')
                return fail(p, SM_EPARSE, "NUL byte");
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(p, SM_EPARSE, "control character (byte 0x%02x)", c);
        }
        char *s = line;
        while (is_space(*s))
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *key = s;
        while (is_key_char(*s))
            s++;
        char *kend = s;
        while (is_space(*s))
            s++;
        if (kend == key || *s != '=')
            return fail(p, SM_EPARSE, "expected key = value");
        *kend = '\0';
        s++;
        while (is_space(*s))
            s++;
        if ((rc = parse_value(p, key, s, value)) != SM_OK)
            return rc;

        size_t i;
        for (i = 0; i < nkeys; i++)
            if (strcmp(keys[i].name, key) == 0)
                break;
        if (i == nkeys)
            return fail(p, SM_EINVAL, "%s: unknown key", key);
        if (!apply) {
            if (seen[i] != 0)
                return fail(p, SM_EINVAL, "%s: set twice (first on line %zu)", key, seen[i]);
            seen[i] = p->line;
        }
        if ((rc = set_value(p, &keys[i], value, apply)) != SM_OK)
            return rc;
    }
    return SM_OK;
}

enum sm_rc
sm_conf_parse(const char *name, const char *buf, size_t len, const struct sm_conf_key *keys,
              size_t nkeys, char **cause)
{
    struct cp p = {.name = name ? name : "(config)", .cause = cause};
    enum sm_rc rc;

    if (len > SM_CONF_MAX_SIZE) {
        *cause = sm_xasprintf("%s: larger than %d bytes", p.name, SM_CONF_MAX_SIZE);
        return SM_ETOOBIG;
    }
    size_t *seen = sm_xcalloc(nkeys ? nkeys : 1, sizeof *seen);
    rc = run(&p, buf, len, keys, nkeys, seen, 0);
    if (rc == SM_OK)
        rc = run(&p, buf, len, keys, nkeys, seen, 1);
    free(seen);
    return rc;
}

enum sm_rc
sm_conf_load(const char *path, const struct sm_conf_key *keys, size_t nkeys, char **cause)
{
    enum sm_rc rc;
    char *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0) {
        *cause = sm_xasprintf("%s: %s", path, strerror(errno));
        return errno == ENOENT ? SM_ENOTFOUND : SM_EIO;
    }
    buf = sm_xmalloc(SM_CONF_MAX_SIZE + 1);
    for (;;) {
        ssize_t n = read(fd, buf + len, SM_CONF_MAX_SIZE + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *cause = sm_xasprintf("%s: %s", path, strerror(errno));
            rc = SM_EIO;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > SM_CONF_MAX_SIZE) {
            *cause = sm_xasprintf("%s: larger than %d bytes", path, SM_CONF_MAX_SIZE);
            rc = SM_ETOOBIG;
            goto out;
        }
    }
    rc = sm_conf_parse(path, buf, len, keys, nkeys, cause);
out:
    free(buf);
    close(fd);
    return rc;
}
