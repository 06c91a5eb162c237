/* test_http_peer.c: who counts as the loopback interface for GET /metrics
 * (http_peer_is_loopback): a table of peers as libwebsockets spells them. */
#include "config.h"

#include "http.h"
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
    return tap_done();
}
