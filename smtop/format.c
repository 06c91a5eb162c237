/* format.c: human figures (bytes, rates, durations, frequencies). */
#include "config.h"

#include "format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

char *
fmt_mhz(char *buf, size_t len, double mhz)
{
    if (!(mhz >= 0))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.0fMHz", mhz);
    return buf;
}

char *
fmt_series_value(char *buf, size_t len, const char *series, double v)
{
    if (strstr(series, "percent") || strcmp(series, "cpu.usage") == 0 ||
        strncmp(series, "cpu.core.usage", 14) == 0 || strcmp(series, "cpu.user") == 0 ||
        strcmp(series, "cpu.system") == 0 || strcmp(series, "cpu.iowait") == 0 ||
        strcmp(series, "cpu.steal") == 0)
        snprintf(buf, len, "%.1f%%", v);
    else if (strstr(series, "bytes_per_s"))
        fmt_rate(buf, len, v);
    else if (strstr(series, "freq_mhz"))
        fmt_mhz(buf, len, v);
    else if (strncmp(series, "load.", 5) == 0)
        snprintf(buf, len, "%.2f", v);
    else if (strncmp(series, "mem.", 4) == 0 || strncmp(series, "swap.", 5) == 0 ||
             strncmp(series, "fs.", 3) == 0)
        fmt_bytes(buf, len, v);
    else
        snprintf(buf, len, "%.3g", v);
    return buf;
}
