/* json.h: strict JSON parsing of input from outside (bodies, messages, files). */
#ifndef SM_LIB_JSON_H
#define SM_LIB_JSON_H

#include <stddef.h>

#include "rc.h"

struct cJSON;

#define SM_JSON_MAX_DEPTH 16

/* Parse exactly one JSON value from buf[0..len): no trailing garbage (whitespace is
 * fine), nesting at most max_depth, valid UTF-8. On success *out owns the tree (free
 * with cJSON_Delete). On error returns SM_EPARSE (or SM_ETOOBIG for depth) and sets
 * *cause to an allocated message. Any thread. */
enum sm_rc sm_json_parse(const char *buf, size_t len, int max_depth, struct cJSON **out,
                         char **cause) SM_MUST_CHECK;

#endif
