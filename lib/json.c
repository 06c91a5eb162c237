/* json.c: strict JSON parsing of untrusted bytes on top of cJSON.
 *
 * cJSON alone is lenient in ways that matter for input from outside: it treats every
 * byte <= 0x20 as whitespace, accepts raw control characters and invalid UTF-8 inside
 * strings, silently truncates strings at an escaped \u0000, keeps duplicate keys, and
 * limits nesting only at 1000 levels (recursively). So one linear pre-scan checks the
 * bytes first (UTF-8, control characters, NUL, nesting depth), then cJSON parses the
 * text with require_null_terminated semantics (nothing but whitespace after the
 * value), then duplicate keys are rejected. */
#include "config.h"

#include "json.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Length of the valid UTF-8 sequence at p[0..n) (n > 0, p[0] >= 0x80), or 0 when it is
 * invalid: overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

static int
is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Check the raw bytes: valid UTF-8, no NUL, no control characters (outside strings
 * only JSON whitespace), no \u0000 escape, nesting at most max_depth. */
static enum sm_rc
prescan(const unsigned char *p, size_t len, int max_depth, char **cause)
{
    int depth = 0, in_str = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c == 0) {
            *cause = sm_xasprintf("NUL byte at offset %zu", i);
            return SM_EPARSE;
        }
        if (c >= 0x80) {
            size_t n = utf8_len(p + i, len - i);
            if (n == 0) {
                *cause = sm_xasprintf("invalid UTF-8 at offset %zu", i);
                return SM_EPARSE;
            }
            i += n - 1;
            continue;
        }
        if (c < 0x20 && (in_str || !is_ws(c))) {
            *cause = sm_xasprintf("control character at offset %zu", i);
            return SM_EPARSE;
        }
        if (in_str) {
            if (c == '"') {
                in_str = 0;
            } else if (c == '\\' && i + 1 < len) {
                i++;
                if (p[i] == 'u' && len - i > 4 && memcmp(p + i + 1, "0000", 4) == 0) {
                    *cause = sm_xasprintf("escaped NUL (\\u0000) at offset %zu", i - 1);
                    return SM_EPARSE;
                }
                /* Anything else after the backslash is checked by cJSON; the escaped
                 * character itself must still be re-examined when it is not ASCII. */
                if (p[i] >= 0x80 || p[i] < 0x20)
                    i--;
            }
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                *cause = sm_xasprintf("nesting deeper than %d at offset %zu", max_depth, i);
                return SM_ETOOBIG;
            }
        } else if (c == ']' || c == '}') {
            depth--; /* unbalanced input is cJSON's to report */
        }
    }
    return SM_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reject an object with two equal keys anywhere in the tree (parsers disagree on which
 * one wins, so accepting them invites confusion). O(n log n) per object. */
static enum sm_rc
check_dups(const cJSON *item, char **cause)
{
    for (; item != NULL; item = item->next) {
        if (cJSON_IsObject(item) && item->child != NULL) {
            size_t n = 0;
            for (const cJSON *c = item->child; c != NULL; c = c->next)
                n++;
            if (n > 1) {
                char **keys = sm_xreallocarray(NULL, n, sizeof *keys);
                size_t k = 0;
                for (const cJSON *c = item->child; c != NULL; c = c->next)
                    keys[k++] = c->string;
                qsort(keys, n, sizeof *keys, cmp_str);
                for (k = 1; k < n; k++) {
                    if (strcmp(keys[k - 1], keys[k]) == 0) {
                        *cause = sm_xasprintf("duplicate key \"%.64s\"", keys[k]);
                        free(keys);
                        return SM_EPARSE;
                    }
                }
                free(keys);
            }
        }
        if (item->child != NULL) {
            enum sm_rc rc = check_dups(item->child, cause);
            if (rc != SM_OK)
                return rc;
        }
    }
    return SM_OK;
}

enum sm_rc
sm_json_parse(const char *buf, size_t len, int max_depth, cJSON **out, char **cause)
{
    enum sm_rc rc;
    char *copy = NULL;
    cJSON *tree = NULL;

    *out = NULL;
    if (buf == NULL || len == 0) {
        *cause = sm_xstrdup("empty input, expected a JSON value");
        return SM_EPARSE;
    }
    rc = prescan((const unsigned char *)buf, len, max_depth, cause);
    if (rc != SM_OK)
        goto out;

    /* cJSON's require_null_terminated wants a NUL right after the value and its
     * trailing whitespace, inside the length it is given: parse a terminated copy. */
    copy = sm_xmalloc(len + 1);
    memcpy(copy, buf, len);
    copy[len] = '\0';
    const char *end = NULL;
    tree = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    if (tree == NULL) {
        size_t off = (end != NULL && end >= copy && end <= copy + len) ? (size_t)(end - copy) : 0;
        if (off >= len)
            *cause = sm_xasprintf("invalid JSON at offset %zu (unexpected end)", len);
        else
            *cause = sm_xasprintf("invalid JSON at offset %zu", off);
        rc = SM_EPARSE;
        goto out;
    }
    rc = check_dups(tree, cause);
    if (rc != SM_OK)
        goto out;
    *out = tree;
    tree = NULL;
out:
    cJSON_Delete(tree);
    free(copy);
    return rc;
}
