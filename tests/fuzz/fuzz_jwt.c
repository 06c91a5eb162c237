/* fuzz_jwt.c: libFuzzer harness for the access-token verifier (smserver/auth.c).
 *
 * The first byte picks a mode:
 *   even: the rest is a token as a client would send it. Nobody but the server holds
 *         the secret, so no such input may ever verify (that would be a forgery).
 *   odd:  the rest is "HEADER\nPAYLOAD" (raw JSON text, any bytes); the harness signs
 *         it with the server's secret, so the parser behind the signature check is
 *         reached. A token that verifies must carry a positive user id and an expiry
 *         in the future. An issued token for an id taken from the input must verify
 *         back to that id. */
#include "config.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "xmalloc.h"

#define NOW 1764064800

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct auth the_auth;
static int ready;

static void
setup(void)
{
    if (ready)
        return;
    if (sodium_init() < 0)
        abort();
    memset(&the_auth, 0, sizeof the_auth);
    memset(the_auth.secret, 0x5a, 32);
    the_auth.secret_len = 32;
    the_auth.access_minutes = 30;
    the_auth.refresh_days = 7;
    ready = 1;
}

static char *
b64(const void *bin, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = sm_xmalloc(n);
    sodium_bin2base64(out, n, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Sign "b64(header).b64(payload)" with the server's secret. */
static char *
sign(const uint8_t *hdr, size_t hlen, const uint8_t *pl, size_t plen)
{
    char *h = b64(hdr, hlen), *p = b64(pl, plen);
    char *signing = sm_xasprintf("%s.%s", h, p);
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, the_auth.secret, the_auth.secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
    crypto_auth_hmacsha256_final(&st, mac);
    char *s = b64(mac, sizeof mac);
    char *token = sm_xasprintf("%s.%s", signing, s);
    free(h);
    free(p);
    free(signing);
    free(s);
    return token;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t uid = 0;
    double expires = 0;

    setup();
    if (size < 1 || size > 4096)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    if ((mode & 1) == 0) {
        char *token = sm_xstrndup((const char *)data, size);
        if (auth_jwt_check(&the_auth, token, NOW, &uid, &expires) == SM_OK)
            abort(); /* verified without the secret */
        free(token);
        return 0;
    }
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    const uint8_t *pl = nl ? nl + 1 : data + size;
    size_t plen = nl ? size - hlen - 1 : 0;
    char *token = sign(data, hlen, pl, plen);
    if (auth_jwt_check(&the_auth, token, NOW, &uid, &expires) == SM_OK &&
        (uid < 1 || !(expires > NOW)))
        abort();
    free(token);
    /* Issue and verify round trip for an id taken from the input. */
    if (size >= 8) {
        uint64_t raw;
        memcpy(&raw, data, sizeof raw);
        int64_t id = (int64_t)(raw % 1000000000000000ULL) + 1;
        char *t = auth_jwt_issue(&the_auth, id, NOW);
        if (auth_jwt_check(&the_auth, t, NOW, &uid, &expires) != SM_OK || uid != id)
            abort();
        if (auth_jwt_check(&the_auth, t, NOW + 31 * 60, &uid, &expires) == SM_OK)
            abort(); /* expired */
        free(t);
    }
    return 0;
}
