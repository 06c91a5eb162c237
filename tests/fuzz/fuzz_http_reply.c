/* fuzz_http_reply.c: libFuzzer harness for lib/http_client's reply parser (and its URL
 * parser). Oracles: an accepted reply has a sane status, a body within the cap that is
 * NUL-terminated, used within the input; a shorter prefix of it without eof only asks for
 * more bytes; the same input with eof never asks for more. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

#define BODY_MAX 4096
#define NOW ((time_t)1764064800)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct sm_http_reply r;
    size_t used = 0;
    const char *cause = NULL;
    int rc = sm_http_reply_parse(buf, size, 0, BODY_MAX, NOW, &r, &used, &cause);
    if (rc == 1) {
        if (r.status < 200 || r.status > 599 || used > size || r.body_len > BODY_MAX ||
            (r.body_len > 0 && (!r.body || r.body[r.body_len] != '\0')) ||
            (r.body_len == 0 && r.body) || r.retry_after > SM_HTTP_RETRY_AFTER_MAX)
            abort();
        sm_http_reply_done(&r);
        struct sm_http_reply r2;
        size_t used2;
        if (used > 0 &&
            sm_http_reply_parse(buf, used - 1, 0, BODY_MAX, NOW, &r2, &used2, &cause) != 0)
            abort();
    } else if (rc == -1) {
        if (!cause)
            abort();
    } else if (rc != 0) {
        abort();
    }
    rc = sm_http_reply_parse(buf, size, 1, BODY_MAX, NOW, &r, &used, &cause);
    if (rc == 0)
        abort();
    if (rc == 1)
        sm_http_reply_done(&r);
    /* The URL parser on the same bytes as a string. */
    if (size < 1024) {
        char s[1024];
        memcpy(s, data, size);
        s[size] = '\0';
        struct sm_http_url u;
        char *ucause = NULL;
        if (sm_http_url_parse(s, &u, &ucause) == SM_OK) {
            if (!u.host[0] || !u.port[0])
                abort();
            sm_http_url_done(&u);
        } else {
            if (!ucause)
                abort();
            free(ucause);
        }
    }
    return 0;
}
