/* fuzz_minutes.c: libFuzzer harness for the packed minutes of an hour
 * (smserver/minute_pack.c). Oracles: any bytes decode to SM_EPARSE with every minute
 * empty, or to minutes that keep the rules (counts whole and in range), and those encode
 * again and decode to the same bits. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minute_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct minute_agg m[60], back[60];
    if (minute_pack_decode(data, size, m) != SM_OK) {
        for (int k = 0; k < 60; k++)
            if (m[k].n != 0)
                abort();
        return 0;
    }
    int any = 0;
    for (int k = 0; k < 60; k++) {
        if (m[k].n < 0 || m[k].n > MINUTE_PACK_N_MAX)
            abort();
        any |= m[k].n > 0;
    }
    uint8_t *buf;
    size_t len;
    if (!any || minute_pack_encode(m, &buf, &len) != SM_OK || len > MINUTE_PACK_MAX_BYTES)
        abort();
    if (minute_pack_decode(buf, len, back) != SM_OK || memcmp(m, back, sizeof m) != 0)
        abort();
    free(buf);
    return 0;
}
