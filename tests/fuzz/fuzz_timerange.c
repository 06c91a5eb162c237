/* fuzz_timerange.c: libFuzzer harness for the time grammar (sm_time_parse and
 * sm_time_format). Oracle: an accepted time, formatted, parses back to the same
 * millisecond. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timerange.h"

#define NOW 1764064800.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256], buf[32];
    double t, t2;
    char *cause = NULL;

    if (size >= sizeof s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (sm_time_parse(s, NOW, "start", &t, &cause) != SM_OK) {
        if (cause == NULL || strncmp(cause, "start: ", 7) != 0)
            abort();
        free(cause);
    } else {
        if (cause != NULL || !isfinite(t) || t < 0 || t > NOW + 101.0 * 366 * 86400)
            abort();
        sm_time_format(t, buf, sizeof buf);
        /* (Right at the 100-year limit, rounding to the millisecond may cross it.) */
        if (t < NOW + 99.0 * 365 * 86400) {
            /* Half a millisecond of rounding, plus the doubles' own error (an ulp at 1.7e9
             * s is 2.4e-7 s): ".9815" rounds to ".982" and lands 0.5002 ms away. */
            if (sm_time_parse(buf, NOW, "start", &t2, &cause) != SM_OK || fabs(t2 - t) > 0.000501)
                abort();
        }
    }
    (void)sm_time_parse_iso(s, 1, &t);
    /* Formatting any double must not crash and must give the fixed shape. */
    if (size == sizeof(double)) {
        memcpy(&t, data, sizeof t);
        sm_time_format(t, buf, sizeof buf);
        if (strlen(buf) != 24)
            abort();
    }
    return 0;
}
