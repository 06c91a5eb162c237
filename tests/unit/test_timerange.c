/* test_timerange.c: the time grammar (sm_time_parse, sm_time_parse_iso, sm_time_format). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "timerange.h"

#define NOW 1764064800.0 /* 2025-11-25T10:00:00Z */

struct tcase {
    const char *in;
    enum sm_rc want;
    double t; /* expected when SM_OK */
};

static const struct tcase cases[] = {
    {"now", SM_OK, NOW},
    {"-5s", SM_OK, NOW - 5},
    {"-5m", SM_OK, NOW - 300},
    {"-1h", SM_OK, NOW - 3600},
    {"-24h", SM_OK, NOW - 86400},
    {"-7d", SM_OK, NOW - 7 * 86400},
    {"-2w", SM_OK, NOW - 14 * 86400},
    {"-999999999s", SM_OK, NOW - 999999999},
    {"1764064800", SM_OK, NOW},
    {"1764064800.25", SM_OK, NOW + 0.25},
    {"0", SM_OK, 0},
    {"2025-11-25T10:00:00Z", SM_OK, NOW},
    {"2025-11-25t10:00:00z", SM_OK, NOW},
    {"2025-11-25 10:00:00Z", SM_OK, NOW},
    {"2025-11-25T10:00:00.5Z", SM_OK, NOW + 0.5},
    {"2025-11-25T10:00:00.123456789Z", SM_OK, NOW + 0.123456789},
    {"2025-11-25T12:30:00+02:30", SM_OK, NOW},
    {"2025-11-25T05:00:00-05:00", SM_OK, NOW},
    {"1970-01-01T00:00:00Z", SM_OK, 0},
    {"2024-02-29T00:00:00Z", SM_OK, 1709164800},
    {"2000-02-29T00:00:00Z", SM_OK, 951782400},
    {"2100-12-31T23:59:59Z", SM_OK, 4133980799.0},
    /* rejected */
    {"", SM_EINVAL, 0},
    {"NOW", SM_EINVAL, 0},
    {" now", SM_EINVAL, 0},
    {"now ", SM_EINVAL, 0},
    {"-5", SM_EINVAL, 0},
    {"-0s", SM_EINVAL, 0},
    {"-5x", SM_EINVAL, 0},
    {"-5mm", SM_EINVAL, 0},
    {"-5M", SM_EINVAL, 0},
    {"--5m", SM_EINVAL, 0},
    {"- 5m", SM_EINVAL, 0},
    {"+5m", SM_EINVAL, 0},
    {"5m", SM_EINVAL, 0},
    {"-1000000000s", SM_EINVAL, 0},
    {"-99999999999999999999w", SM_EINVAL, 0},
    {"-9999999w", SM_EINVAL, 0}, /* before 1970 */
    {"-1.5h", SM_EINVAL, 0},
    {"-1h ", SM_EINVAL, 0},
    {"1764064800.", SM_EINVAL, 0},
    {".5", SM_EINVAL, 0},
    {"1e9", SM_EINVAL, 0},
    {"0x10", SM_EINVAL, 0},
    {"-1764064800", SM_EINVAL, 0},
    {"1764064800.1234567891", SM_EINVAL, 0},
    {"9999999999999", SM_EINVAL, 0},
    {"999999999999", SM_EINVAL, 0}, /* 12 digits but more than 100 years ahead */
    {"inf", SM_EINVAL, 0},
    {"nan", SM_EINVAL, 0},
    {"2025-11-25T10:00:00", SM_EINVAL, 0}, /* no zone */
    {"2025-11-25", SM_EINVAL, 0},
    {"2025-11-25T10:00Z", SM_EINVAL, 0},
    {"2025-11-25T10:00:00ZZ", SM_EINVAL, 0},
    {"2025-11-25T10:00:00Z ", SM_EINVAL, 0},
    {"2025-11-25T10:00:00.Z", SM_EINVAL, 0},
    {"2025-11-25T10:00:00.1234567890Z", SM_EINVAL, 0},
    {"2025-11-25T10:00:00+0200", SM_EINVAL, 0},
    {"2025-11-25T10:00:00+02", SM_EINVAL, 0},
    {"2025-11-25T10:00:00+24:00", SM_EINVAL, 0},
    {"2025-11-25T10:00:00+02:60", SM_EINVAL, 0},
    {"2025-13-01T00:00:00Z", SM_EINVAL, 0},
    {"2025-00-01T00:00:00Z", SM_EINVAL, 0},
    {"2025-11-00T00:00:00Z", SM_EINVAL, 0},
    {"2025-11-31T00:00:00Z", SM_EINVAL, 0},
    {"2025-02-29T00:00:00Z", SM_EINVAL, 0},
    {"1900-02-29T00:00:00Z", SM_EINVAL, 0},
    {"2025-11-25T24:00:00Z", SM_EINVAL, 0},
    {"2025-11-25T10:60:00Z", SM_EINVAL, 0},
    {"2025-11-25T10:00:60Z", SM_EINVAL, 0},
    {"2025-11-25X10:00:00Z", SM_EINVAL, 0},
    {"25-11-25T10:00:00Z", SM_EINVAL, 0},
    {"+2025-11-25T10:00:00Z", SM_EINVAL, 0},
    {"2025-1-25T10:00:00Z", SM_EINVAL, 0},
    {"1969-12-31T23:59:59Z", SM_EINVAL, 0},
    {"1970-01-01T00:00:00+00:01", SM_EINVAL, 0}, /* 1969 in UTC */
    {"2200-01-01T00:00:00Z", SM_EINVAL, 0},
    {"9999-12-31T23:59:59Z", SM_EINVAL, 0},
    {"\xc3\xa9", SM_EINVAL, 0},
};

int
main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        double t = -1;
        char *cause = NULL;
        enum sm_rc rc = sm_time_parse(c->in, NOW, "start", &t, &cause);
        ok(rc == c->want, "'%s': %s", c->in, sm_rc_str(rc));
        if (c->want == SM_OK && rc == SM_OK)
            ok_near(t, c->t, 1e-6, "  value");
        else if (rc != SM_OK)
            ok(cause != NULL && strncmp(cause, "start: ", 7) == 0 && t == -1,
               "  cause names the parameter, output untouched (%s)", cause ? cause : "(null)");
        free(cause);
    }

    /* NULL input and NULL param. */
    double t;
    char *cause = NULL;
    ok(sm_time_parse(NULL, NOW, NULL, &t, &cause) == SM_EINVAL && cause &&
           strncmp(cause, "time: ", 6) == 0,
       "NULL: rejected, default parameter name");
    free(cause);

    /* Naive ISO (no zone) is UTC only when asked for. */
    ok(sm_time_parse_iso("2025-11-25T10:00:00.5", 1, &t) == SM_OK && t == NOW + 0.5,
       "naive ISO as UTC");
    ok(sm_time_parse_iso("2025-11-25T10:00:00", 0, &t) == SM_EINVAL, "naive ISO refused");
    ok(sm_time_parse_iso("2025-11-25T10:00:00Z", 1, &t) == SM_OK && t == NOW,
       "zone still accepted in naive mode");

    /* Formatting. */
    static const struct {
        double t;
        const char *want;
    } fmts[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {NOW, "2025-11-25T10:00:00.000Z"},
        {NOW + 0.25, "2025-11-25T10:00:00.250Z"},
        {NOW + 0.9996, "2025-11-25T10:00:01.000Z"},
        {951782400.001, "2000-02-29T00:00:00.001Z"},
        {4133980799.0, "2100-12-31T23:59:59.000Z"},
        {-1, "1969-12-31T23:59:59.000Z"},
        {-0.5, "1969-12-31T23:59:59.500Z"},
        {1e300, "9999-12-31T23:59:59.999Z"},
        {-1e300, "0000-01-01T00:00:00.000Z"},
        {(double)NAN, "0000-01-01T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        char buf[32];
        sm_time_format(fmts[i].t, buf, sizeof buf);
        ok_str(buf, fmts[i].want, "sm_time_format");
    }
    char small[8];
    sm_time_format(NOW, small, sizeof small);
    ok(strlen(small) == 7, "format truncates to the buffer");

    /* Round trip: format then parse gives the time back (to the millisecond). */
    int bad = 0, n = 0;
    for (double x = 0; x < 4e9; x += 123456789.123, n++) {
        char buf[32];
        sm_time_format(x, buf, sizeof buf);
        cause = NULL;
        int good = sm_time_parse(buf, NOW, "t", &t, &cause) == SM_OK && fabs(t - x) < 0.0006;
        free(cause);
        if (!good && bad++ == 0)
            diag("round trip failed at %f (%s)", x, buf);
    }
    ok(bad == 0 && n > 30, "format then parse: %d round trips, %d bad", n, bad);
    return tap_done();
}
