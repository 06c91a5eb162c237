/* conf.h: the one parser for configuration files: "key = value" lines, '#' comments,
 * blank lines. Values may be quoted with double quotes. Unknown keys are errors.
 * (Named conf.h so it never shadows autoconf's config.h.) */
#ifndef SM_LIB_CONF_H
#define SM_LIB_CONF_H

#include <stddef.h>

#include "rc.h"

enum sm_conf_type { SM_CONF_STRING, SM_CONF_LONG, SM_CONF_DOUBLE, SM_CONF_BOOL };

/* One accepted key. dest points to: char * (string, allocated, previous value freed),
 * long, double or int (bool). min and max bound numbers. set, when non-NULL, is set
 * to 1 when the key appeared (so command-line options can take precedence). */
struct sm_conf_key {
    const char *name;
    enum sm_conf_type type;
    void *dest;
    double min, max;
    int *set;
};

#define SM_CONF_MAX_SIZE (1 << 20)
#define SM_CONF_MAX_LINE 4096

/* Load path and apply each line to the matching key. Errors name the file, line and
 * key ("/etc/statusmonitor/smagent.conf:12: interval: must be a number from 1 to 3600")
 * in an allocated *cause. Returns SM_ENOTFOUND when the file does not exist (callers
 * decide whether that matters), SM_EINVAL/SM_EPARSE/SM_ETOOBIG on bad content. */
enum sm_rc sm_conf_load(const char *path, const struct sm_conf_key *keys, size_t nkeys,
                        char **cause) SM_MUST_CHECK;
/* The same on a buffer; name is used in messages. */
enum sm_rc sm_conf_parse(const char *name, const char *buf, size_t len,
                         const struct sm_conf_key *keys, size_t nkeys, char **cause) SM_MUST_CHECK;

#endif
