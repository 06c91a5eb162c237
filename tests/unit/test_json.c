/* test_json.c: sm_json_parse accepts exactly one valid JSON value and nothing else. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

struct tcase {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    int depth;  /* 0: SM_JSON_MAX_DEPTH */
    enum sm_rc want;
    const char *cause; /* substring expected in the cause, when not NULL */
};

static const struct tcase cases[] = {
    /* accepted */
    {"object", "{\"a\":1}", 0, 0, SM_OK, NULL},
    {"array", "[1,2,3]", 0, 0, SM_OK, NULL},
    {"scalar number", "42", 0, 0, SM_OK, NULL},
    {"scalar string", "\"x\"", 0, 0, SM_OK, NULL},
    {"literals", "[true,false,null]", 0, 0, SM_OK, NULL},
    {"surrounding whitespace", " \t\r\n{} \n\t ", 0, 0, SM_OK, NULL},
    {"utf-8 2, 3, 4 bytes", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", 0, 0, SM_OK, NULL},
    {"escaped surrogate pair", "\"\\ud83d\\ude00\"", 0, 0, SM_OK, NULL},
    {"escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"", 0, 0, SM_OK, NULL},
    {"escaped backslash before u0000 text", "\"\\\\u0000\"", 0, 0, SM_OK, NULL},
    {"depth exactly 3", "[[[1]]]", 0, 3, SM_OK, NULL},
    {"brackets inside strings do not count", "[\"[[[[{{{{\"]", 0, 2, SM_OK, NULL},
    {"same key in different objects", "{\"a\":{\"a\":1},\"b\":{\"a\":2}}", 0, 0, SM_OK, NULL},
    {"length bounds the input", "{}garbage", 2, 0, SM_OK, NULL},
    /* rejected */
    {"empty", "", 0, 0, SM_EPARSE, "empty input"},
    {"only whitespace", "   ", 0, 0, SM_EPARSE, "invalid JSON at offset 3"},
    {"trailing garbage", "{\"a\":1} x", 0, 0, SM_EPARSE, "invalid JSON at offset 8"},
    {"two values", "{} {}", 0, 0, SM_EPARSE, "invalid JSON at offset 3"},
    {"trailing comma in array", "[1,2,]", 0, 0, SM_EPARSE, "invalid JSON"},
    {"trailing comma in object", "{\"a\":1,}", 0, 0, SM_EPARSE, "invalid JSON"},
    {"unterminated object", "{\"a\":1", 0, 0, SM_EPARSE, "unexpected end"},
    {"unterminated string", "\"abc", 0, 0, SM_EPARSE, "invalid JSON"},
    {"single quotes", "{'a':1}", 0, 0, SM_EPARSE, "invalid JSON"},
    {"bare word", "hello", 0, 0, SM_EPARSE, "invalid JSON at offset 0"},
    {"NaN", "NaN", 0, 0, SM_EPARSE, "invalid JSON"},
    {"Infinity", "[Infinity]", 0, 0, SM_EPARSE, "invalid JSON"},
    {"plus sign", "+1", 0, 0, SM_EPARSE, "invalid JSON"},
    {"hex number", "0x10", 0, 0, SM_EPARSE, "invalid JSON"},
    {"unquoted key", "{a:1}", 0, 0, SM_EPARSE, "invalid JSON"},
    {"comment", "{} // c", 0, 0, SM_EPARSE, "invalid JSON"},
    {"NUL byte after value", "{}\0", 3, 0, SM_EPARSE, "NUL byte at offset 2"},
    {"NUL byte in string", "\"a\0b\"", 5, 0, SM_EPARSE, "NUL byte at offset 2"},
    {"escaped NUL", "\"a\\u0000b\"", 0, 0, SM_EPARSE, "escaped NUL"},
    {"raw newline in string", "\"a\nb\"", 0, 0, SM_EPARSE, "control character at offset 2"},
    {"raw tab in string", "\"a\tb\"", 0, 0, SM_EPARSE, "control character"},
    {"control char as whitespace", "\x01{}", 0, 0, SM_EPARSE, "control character at offset 0"},
    {"form feed as whitespace", "{}\x0c", 0, 0, SM_EPARSE, "control character"},
    {"invalid utf-8 continuation", "\"\x80\"", 0, 0, SM_EPARSE, "invalid UTF-8 at offset 1"},
    {"invalid utf-8 lead 0xff", "\"\xff\"", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"overlong 2 bytes", "\"\xc0\xaf\"", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"overlong 3 bytes", "\"\xe0\x80\xaf\"", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"encoded surrogate", "\"\xed\xa0\x80\"", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"above U+10FFFF", "\"\xf4\x90\x80\x80\"", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"truncated sequence", "\"\xe2\x82\"", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"truncated at end", "\"\xe2", 0, 0, SM_EPARSE, "invalid UTF-8"},
    {"escaped lone surrogate", "\"\\ud800\"", 0, 0, SM_EPARSE, "invalid JSON"},
    {"bad escape", "\"\\x41\"", 0, 0, SM_EPARSE, "invalid JSON"},
    {"too deep", "[[[[1]]]]", 0, 3, SM_ETOOBIG, "nesting deeper than 3 at offset 3"},
    {"too deep objects", "{\"a\":{\"b\":{}}}", 0, 2, SM_ETOOBIG, "nesting deeper than 2"},
    {"deep even when unbalanced", "[[[[[[[[[[[[[[[[[[[[", 0, 0, SM_ETOOBIG, "nesting deeper"},
    {"duplicate key", "{\"a\":1,\"b\":2,\"a\":3}", 0, 0, SM_EPARSE, "duplicate key \"a\""},
    {"nested duplicate key", "[{\"x\":{\"k\":1,\"k\":2}}]", 0, 0, SM_EPARSE, "duplicate key"},
};

int
main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        cJSON *v = NULL;
        char *cause = NULL;
        enum sm_rc rc =
            sm_json_parse(c->in, len, c->depth ? c->depth : SM_JSON_MAX_DEPTH, &v, &cause);
        ok(rc == c->want, "%s: rc %s", c->name, sm_rc_str(rc));
        if (rc == SM_OK) {
            ok(v != NULL && cause == NULL, "%s: tree, no cause", c->name);
        } else {
            ok(v == NULL && cause != NULL, "%s: no tree, a cause", c->name);
            if (c->cause != NULL && !ok(cause && strstr(cause, c->cause), "%s: cause", c->name))
                diag("    cause '%s', want '%s'", cause ? cause : "(null)", c->cause);
        }
        cJSON_Delete(v);
        free(cause);
    }

    /* A document nested far beyond cJSON's own limit is refused by the pre-scan. */
    size_t n = 100000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    cJSON *v = NULL;
    char *cause = NULL;
    ok(sm_json_parse(deep, n, SM_JSON_MAX_DEPTH, &v, &cause) == SM_ETOOBIG,
       "100000 nested arrays: too big");
    free(cause);
    free(deep);

    /* Values come through intact. */
    const char *doc = "{\"s\":\"caf\xc3\xa9\",\"n\":-1.5e3,\"a\":[1]}";
    cause = NULL;
    if (ok(sm_json_parse(doc, strlen(doc), 4, &v, &cause) == SM_OK, "values: parsed")) {
        ok_str(cJSON_GetObjectItem(v, "s")->valuestring, "caf\xc3\xa9", "values: string");
        ok_near(cJSON_GetObjectItem(v, "n")->valuedouble, -1500, 0, "values: number");
        cJSON_Delete(v);
    }
    free(cause);
    return tap_done();
}
