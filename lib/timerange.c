/* timerange.c: the time grammar of history queries and sample timestamps.
 *
 * Everything is computed here with integer calendar arithmetic (days from the civil
 * date), so nothing depends on the locale, TZ or the C library's time functions. */
#include "config.h"

#include "timerange.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xmalloc.h"

#define YEAR_SECONDS (365.2425 * 86400.0)
#define MAX_AHEAD (100.0 * YEAR_SECONDS)

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : mdays[m - 1];
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Read exactly n digits at *p into *v; advance *p. 0 on success. */
static int
digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return -1;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

/* Read 1 to 9 fraction digits after a '.' at *p (when there is one) into *frac. */
static int
fraction(const char **p, double *frac)
{
    *frac = 0;
    if (**p != '.')
        return 0;
    (*p)++;
    double scale = 0.1;
    int n = 0;
    while (is_digit(**p)) {
        if (++n > 9)
            return -1;
        *frac += (**p - '0') * scale;
        scale /= 10;
        (*p)++;
    }
    return n > 0 ? 0 : -1;
}

enum sm_rc
sm_time_parse_iso(const char *s, int naive_utc, double *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    double frac;
    const char *p = s;

    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return SM_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return SM_EINVAL;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec) || fraction(&p, &frac))
        return SM_EINVAL;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            return SM_EINVAL;
    } else if (!naive_utc) {
        return SM_EINVAL;
    }
    if (*p != '\0')
        return SM_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 ||
        oh > 23 || om > 59)
        return SM_EINVAL;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    *out = (double)secs + frac;
    return SM_OK;
}

/* Unix seconds: 1 to 12 digits, optionally '.' and 1 to 9 digits. */
static int
parse_unix(const char *s, double *out)
{
    const char *p = s;
    double v = 0;
    int n = 0;
    while (is_digit(*p)) {
        if (++n > 12)
            return -1;
        v = v * 10 + (*p - '0');
        p++;
    }
    double frac;
    if (n == 0 || fraction(&p, &frac) || *p != '\0')
        return -1;
    *out = v + frac;
    return 0;
}

/* -N{s,m,h,d,w}: N is 1 to 9 digits and not 0. */
static int
parse_relative(const char *s, double now, double *out)
{
    static const struct {
        char unit;
        double seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    const char *p = s + 1;
    double n = 0;
    int nd = 0;

    if (s[0] != '-')
        return -1;
    while (is_digit(*p)) {
        if (++nd > 9)
            return -1;
        n = n * 10 + (*p - '0');
        p++;
    }
    if (nd == 0 || n == 0 || p[0] == '\0' || p[1] != '\0')
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].unit == p[0]) {
            *out = now - n * units[i].seconds;
            return 0;
        }
    }
    return -1;
}

enum sm_rc
sm_time_parse(const char *s, double now, const char *param, double *out, char **cause)
{
    double t;

    if (param == NULL)
        param = "time";
    if (s == NULL || *s == '\0') {
        *cause =
            sm_xasprintf("%s: empty; expected now, -N{s,m,h,d,w}, ISO 8601 or unix seconds", param);
        return SM_EINVAL;
    }
    if (strcmp(s, "now") == 0)
        t = now;
    else if (s[0] == '-' && parse_relative(s, now, &t) == 0)
        ;
    else if (parse_unix(s, &t) == 0)
        ;
    else if (sm_time_parse_iso(s, 0, &t) == SM_OK)
        ;
    else {
        *cause = sm_xasprintf("%s: must be now, -N{s,m,h,d,w} (N from 1 to 999999999), "
                              "ISO 8601 with Z or an offset, or unix seconds",
                              param);
        return SM_EINVAL;
    }
    if (!isfinite(t) || t < 0) {
        *cause = sm_xasprintf("%s: before 1970", param);
        return SM_EINVAL;
    }
    if (t > now + MAX_AHEAD) {
        *cause = sm_xasprintf("%s: more than 100 years from now", param);
        return SM_EINVAL;
    }
    *out = t;
    return SM_OK;
}

void
sm_time_format(double t, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    /* Clamp to years 0000..9999 so the output keeps its shape. */
    if (!isfinite(t) || t < -62167219200.0)
        t = -62167219200.0; /* 0000-01-01T00:00:00Z */
    if (t > 253402300799.999)
        t = 253402300799.999; /* 9999-12-31T23:59:59.999Z */
    int64_t ms = (int64_t)llround(t * 1000.0);
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int msec = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), msec);
}
