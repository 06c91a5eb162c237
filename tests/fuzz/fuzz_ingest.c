/* fuzz_ingest.c: libFuzzer harness for what POST /ingest does with a body: strict JSON
 * parse, then the batch walk (host facts, each sample) or one bare sample.
 *
 * Oracles beyond "no crash, no sanitizer report": a parsed document printed by cJSON
 * parses again, and a decoded sample encoded by sm_sample_encode decodes again to the
 * same JSON text (whatever we accept, we can store and send back out). */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sample.h"

#define NOW 2000000000.0 /* 2033: seed samples carry real timestamps */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode one sample and check that its encoding round-trips. */
static void
one_sample(const cJSON *obj, struct sm_sample *s, struct sm_sample *s2)
{
    char *cause = NULL;
    if (sm_sample_from_json(obj, NOW, s, &cause) != SM_OK) {
        if (cause == NULL)
            abort(); /* every error has a cause */
        free(cause);
        return;
    }
    if (cause != NULL)
        abort();
    char *text = sm_sample_encode(s);
    cJSON *again = NULL;
    if (sm_json_parse(text, strlen(text), SM_JSON_MAX_DEPTH, &again, &cause) != SM_OK)
        abort(); /* we emitted something we cannot parse */
    /* The timestamp may round up by half a millisecond: allow for it. */
    if (sm_sample_from_json(again, NOW + 1, s2, &cause) != SM_OK)
        abort(); /* we emitted something we do not accept */
    char *text2 = sm_sample_encode(s2);
    if (strcmp(text, text2) != 0)
        abort(); /* decode(encode(x)) is not a fixed point */
    free(text2);
    cJSON_Delete(again);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = NULL;
    char *cause = NULL;
    struct sm_sample s, s2;

    if (sm_json_parse((const char *)data, size, SM_JSON_MAX_DEPTH, &doc, &cause) != SM_OK) {
        if (cause == NULL || doc != NULL)
            abort();
        free(cause);
        return 0;
    }
    /* cJSON's own output of an accepted document must be accepted too. */
    char *printed = cJSON_PrintUnformatted(doc);
    if (printed != NULL) {
        cJSON *re = NULL;
        if (sm_json_parse(printed, strlen(printed), SM_JSON_MAX_DEPTH, &re, &cause) != SM_OK)
            abort();
        cJSON_Delete(re);
        free(printed);
    }

    sm_sample_init(&s);
    sm_sample_init(&s2);
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(doc, "samples");
    if (cJSON_IsObject(doc) && cJSON_IsArray(samples)) {
        const cJSON *host = cJSON_GetObjectItemCaseSensitive(doc, "host");
        if (host != NULL) {
            struct sm_host h;
            if (sm_host_from_json(host, &h, &cause) != SM_OK)
                free(cause);
            cause = NULL;
        }
        for (const cJSON *it = samples->child; it != NULL; it = it->next)
            one_sample(it, &s, &s2);
    } else {
        one_sample(doc, &s, &s2);
    }
    sm_sample_done(&s);
    sm_sample_done(&s2);
    cJSON_Delete(doc);
    return 0;
}
