/* fuzz_conf.c: libFuzzer harness for the config file parser, with one key of each
 * type. Oracle: every error has a cause, and a failed parse changes nothing. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *str = NULL;
    long l = 7;
    double d = 0.5;
    int b = -1, set = 0;
    const struct sm_conf_key keys[] = {
        {"server", SM_CONF_STRING, &str, 0, 0, &set},
        {"interval", SM_CONF_LONG, &l, 1, 3600, NULL},
        {"ratio", SM_CONF_DOUBLE, &d, -1e9, 1e9, NULL},
        {"color", SM_CONF_BOOL, &b, 0, 0, NULL},
        {"a.b-c_d", SM_CONF_STRING, &str, 0, 0, NULL},
    };
    char *cause = NULL;

    if (sm_conf_parse("fuzz.conf", (const char *)data, size, keys, 5, &cause) != SM_OK) {
        if (cause == NULL || str != NULL || l != 7 || d != 0.5 || b != -1 || set != 0)
            abort();
        free(cause);
    } else if (cause != NULL || l < 1 || l > 3600 || d < -1e9 || d > 1e9 || b < -1 || b > 1) {
        abort();
    }
    free(str);
    return 0;
}
