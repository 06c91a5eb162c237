/* format.c: human figures (bytes, rates, durations, frequencies). */
#include "config.h"

#include "format.h"

#include <langinfo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "series.h"

char *
fmt_bytes(char *buf, size_t len, double bytes)
{
    static const char units[] = "BKMGTPE";
    if (!(bytes >= 0) || !isfinite(bytes))
        bytes = 0;
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < sizeof units - 1) {
        bytes /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0fB", bytes);
    else if (bytes < 10)
        snprintf(buf, len, "%.1f%c", bytes, units[u]);
    else
        snprintf(buf, len, "%.0f%c", bytes, units[u]);
    return buf;
}

char *
fmt_bytes_if(char *buf, size_t len, int known, double bytes)
{
    if (known)
        return fmt_bytes(buf, len, bytes);
    snprintf(buf, len, "%s", fmt_absent());
    return buf;
}

char *
fmt_rate(char *buf, size_t len, double bytes_per_s)
{
    char b[16];
    snprintf(buf, len, "%s/s", fmt_bytes(b, sizeof b, bytes_per_s));
    return buf;
}

char *
fmt_duration(char *buf, size_t len, double seconds)
{
    if (!(seconds >= 0) || !isfinite(seconds))
        seconds = 0;
    long long s = (long long)seconds;
    long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    if (d > 0)
        snprintf(buf, len, "%lldd %02lld:%02lld", d, h, m);
    else if (h > 0)
        snprintf(buf, len, "%lld:%02lld:%02lld", h, m, sec);
    else
        snprintf(buf, len, "%lld:%02lld", m, sec);
    return buf;
}

int
fmt_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs != NULL && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

const char *
fmt_absent(void)
{
    if (fmt_utf8())
        return "\xe2\x80\x93"; /* U+2013 EN DASH */
    return "-";
}

char *
fmt_mhz(char *buf, size_t len, double mhz)
{
    if (!(mhz >= 0))
        snprintf(buf, len, "%s", fmt_absent());
    else
        snprintf(buf, len, "%.0fMHz", mhz);
    return buf;
}

char *
fmt_series_value(char *buf, size_t len, const char *series, double v)
{
    /* The unit from the series table; a name it lacks is judged by its words. */
    const struct sm_series_def *d = sm_series_lookup(series);
    switch (d ? d->unit : SM_UNIT_NONE) {
    case SM_UNIT_PERCENT:
        snprintf(buf, len, "%.1f%%", v);
        break;
    case SM_UNIT_BYTES_PER_S:
        fmt_rate(buf, len, v);
        break;
    case SM_UNIT_MHZ:
        fmt_mhz(buf, len, v);
        break;
    case SM_UNIT_BYTES:
        fmt_bytes(buf, len, v);
        break;
    case SM_UNIT_NONE:
        if (d != NULL && strstr(d->name, "celsius") != NULL) /* temp.celsius, gpu.celsius */
            snprintf(buf, len, "%.1f%s", v,
                     fmt_utf8() ? "\xc2\xb0"
                                  "C"
                                : "C");
        else if (d != NULL && strcmp(d->name, "fan.rpm") == 0)
            snprintf(buf, len, "%.0f RPM", v);
        else if (d != NULL && strstr(d->name, "watts") != NULL)
            snprintf(buf, len, "%.1f W", v);
        else if (d != NULL) /* load averages */
            snprintf(buf, len, "%.2f", v);
        else if (strstr(series, "percent")) /* a series of a newer server */
            snprintf(buf, len, "%.1f%%", v);
        else if (strstr(series, "bytes_per_s"))
            fmt_rate(buf, len, v);
        else
            snprintf(buf, len, "%.3g", v);
        break;
    }
    return buf;
}

char *
fmt_plain(char *dst, size_t len, const char *src)
{
    size_t o = 0;
    for (const unsigned char *s = (const unsigned char *)src; *s && o + 1 < len; s++)
        dst[o++] = (*s < 0x20 || *s == 0x7f) ? '?' : (char)*s;
    dst[o] = '\0';
    return dst;
}
