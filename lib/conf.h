/* conf.h: the one parser for configuration files: "key = value" lines, '#' comments,
 * blank lines. Values may be quoted with double quotes. Unknown keys are errors.
 * (Named conf.h so it never shadows autoconf's config.h.)
 *
 * The grammar, exactly:
 *  - Lines end with LF (a CR before it is dropped); blanks are spaces and tabs and are
 *    trimmed around keys and values. Other control characters and NUL are errors.
 *  - A line that is empty or whose first non-blank character is '#' is ignored.
 *  - A key is letters, digits, '_', '-', '.'; case-sensitive; followed by '='.
 *  - An unquoted value runs to the end of the line; a '#' preceded by a blank (or right
 *    after "= ") starts a comment; "a#b" is a value with a '#' in it.
 *  - A quoted value is "...", where \" and \\ are the only escapes; after the closing
 *    quote only blanks and a comment may follow. Quote to keep blanks or a " #".
 *  - A key may appear only once: a second one is an error naming both lines (a
 *    silently overridden setting is a common cause of "my change has no effect").
 *  - An empty value is an empty string (numbers and booleans reject it).
 *  - Booleans: yes/no, true/false, on/off, 1/0, in any case.
 *  - Numbers are plain decimal (no hex, inf, nan or blanks); longs are whole numbers.
 * Nothing is stored unless the whole file is good. */
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
