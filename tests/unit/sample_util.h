/* sample_util.h: what the sample tests share: decode JSON text as the server does (when
 * NOW, the decoder's "now", is defined first), and collect a sample's series as text. */
#ifndef SM_TESTS_SAMPLE_UTIL_H
#define SM_TESTS_SAMPLE_UTIL_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "sample.h"
#include "series.h"
#include "tap.h"

#ifdef NOW
/* Parse text strictly and decode it as a sample; returns the decoder's rc
 * (SM_EINTERNAL, said, when the test's own text is not JSON). */
static inline enum sm_rc
decode(const char *text, struct sm_sample *s, char **cause)
{
    cJSON *v = NULL;
    *cause = NULL;
    enum sm_rc rc = sm_json_parse(text, strlen(text), SM_JSON_MAX_DEPTH, &v, cause);
    if (rc != SM_OK) {
        diag("test input does not parse: %s", *cause);
        return SM_EINTERNAL;
    }
    rc = sm_sample_from_json(v, NOW, s, cause);
    cJSON_Delete(v);
    return rc;
}
#endif

/* What a walk produced: "name{k=v}=value" lines. */
struct got {
    char text[8192];
    size_t n;
};

/* sm_series_walk's callback: append one line to the struct got at arg. */
static inline void
collect(void *arg, const struct sm_series_def *def, const char *lval, double v)
{
    struct got *g = arg;
    char name[256];
    sm_series_format(name, sizeof name, def, lval);
    int w = snprintf(g->text + g->n, sizeof g->text - g->n, "%s=%g\n", name, v);
    if (w > 0 && (size_t)w < sizeof g->text - g->n)
        g->n += (size_t)w;
}

#endif
