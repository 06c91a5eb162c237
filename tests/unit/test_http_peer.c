/* test_http_peer.c: who counts as the loopback interface for GET /metrics
 * (http_peer_is_loopback): a table of peers as libwebsockets spells them; and which
 * client a request behind a trusted load balancer comes from (http_forwarded_client). */
#include "config.h"

#include "http.h"
#include "netaddr.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include "tap.h"

/* http.c's route tables; this test needs none of them. */
#define NO_ROUTES                                                                                  \
    {                                                                                              \
        {                                                                                          \
            0, NULL, NULL, 0, 0                                                                    \
        }                                                                                          \
    }
const struct route routes_auth[] = NO_ROUTES;
const struct route routes_agents[] = NO_ROUTES;
const struct route routes_ingest[] = NO_ROUTES;
const struct route routes_health[] = NO_ROUTES;
const struct route routes_history[] = NO_ROUTES;
const struct route routes_metrics[] = NO_ROUTES;
const struct route routes_alerts[] = NO_ROUTES;
const struct route routes_procs[] = NO_ROUTES;

int
main(void)
{
    static const struct {
        const char *peer;
        int loopback;
    } cases[] = {
        {"127.0.0.1", 1},
        {"127.1.2.3", 1},
        {"::1", 1},
        {"::ffff:127.0.0.1", 1},
        {"::FFFF:127.0.0.9", 1},
        {"0:0:0:0:0:0:0:1", 1},
        {"10.0.0.1", 0},
        {"192.168.1.20", 0},
        {"172.17.0.1", 0},
        {"1.127.0.0", 0},
        {"127.0.0.1.evil", 0},
        {"127.0.0", 0},
        {"127.0.0.256", 0},
        {"127..0.1", 0},
        {"::ffff:10.0.0.1", 0},
        {"::2", 0},
        {"fe80::1", 0},
        {"", 0},
        {"127.0.0.1 ", 0},
        {"1270.0.0.1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ok(http_peer_is_loopback(cases[i].peer) == cases[i].loopback, "'%s' is %s", cases[i].peer,
           cases[i].loopback ? "loopback" : "not loopback");

    /* Behind balancers at 127.0.0.1 and 10.1.0.0/16. */
    struct sm_netallow trusted;
    char *cause = NULL;
    if (!ok(sm_netallow_parse("127.0.0.1, 10.1.0.0/16", &trusted, &cause) == SM_OK,
            "the trusted list parses"))
        return tap_done();
    static const struct {
        const char *peer, *xff, *client; /* client NULL: refused */
    } fwd[] = {
        {"127.0.0.1", "203.0.113.7", "203.0.113.7"},
        {"::ffff:127.0.0.1", "203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", NULL, "127.0.0.1"},
        {"127.0.0.1", "", "127.0.0.1"},
        /* what the client sent first is not believed: the proxy's entry is the last */
        {"127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", "198.51.100.1,203.0.113.7", "203.0.113.7"},
        /* a chain of trusted proxies: the first untrusted entry from the right */
        {"127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"},
        {"127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"},
        {"127.0.0.1", "10.1.0.9, 10.1.2.3", "10.1.0.9"},
        {"127.0.0.1", "2001:db8::7", "2001:db8::7"},
        {"127.0.0.1", " \t203.0.113.7 \t", "203.0.113.7"},
        /* a peer that is not a trusted proxy: its header is ignored */
        {"127.0.0.2", "203.0.113.7", "127.0.0.2"},
        /* one spelling of a client, however it arrives */
        {"::ffff:127.0.0.2", NULL, "127.0.0.2"},
        {"::ffff:127.0.0.2", "203.0.113.7", "127.0.0.2"},
        {"127.0.0.1", "::ffff:203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", "2001:DB8:0:0::7", "2001:db8::7"},
        {"192.0.2.1", "127.0.0.1", "192.0.2.1"},
        {"192.0.2.1", "junk", "192.0.2.1"},
        /* a trusted proxy with a header that is not a list of addresses: refused */
        {"127.0.0.1", "junk", NULL},
        {"127.0.0.1", "203.0.113.7, junk", NULL},
        {"127.0.0.1", "junk, 203.0.113.7", "203.0.113.7"},
        {"127.0.0.1", "203.0.113.7:4000", NULL},
        {"127.0.0.1", "[2001:db8::7]", NULL},
        {"127.0.0.1", "203.0.113.7,", NULL},
        {"127.0.0.1", ",", NULL},
        {"127.0.0.1", " ", NULL},
        {"127.0.0.1", "10.1.2.3, , 10.1.2.4", NULL},
    };
    for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++) {
        char out[64];
        memset(out, 'x', sizeof out);
        enum sm_rc rc = http_forwarded_client(fwd[i].peer, fwd[i].xff, &trusted, out, sizeof out);
        if (fwd[i].client)
            ok(rc == SM_OK && strcmp(out, fwd[i].client) == 0, "from %s with '%s': %s (got %s)",
               fwd[i].peer, fwd[i].xff ? fwd[i].xff : "(none)", fwd[i].client,
               rc == SM_OK ? out : "refused");
        else
            ok(rc == SM_EINVAL, "from %s with '%s': refused", fwd[i].peer, fwd[i].xff);
    }
    /* No list: nobody's header is believed. */
    char out[64];
    ok(http_forwarded_client("127.0.0.1", "203.0.113.7", NULL, out, sizeof out) == SM_OK &&
           strcmp(out, "127.0.0.1") == 0,
       "no trusted proxies: the peer");
    /* The header's size is capped. */
    char *big = sm_xmalloc(HTTP_XFF_MAX + 16);
    memset(big, ' ', HTTP_XFF_MAX + 15);
    memcpy(big + HTTP_XFF_MAX, "1.2.3.4", 8);
    ok(http_forwarded_client("127.0.0.1", big, &trusted, out, sizeof out) == SM_EINVAL,
       "a header over %d bytes: refused", HTTP_XFF_MAX);
    free(big);
    return tap_done();
}
