/* test_netaddr.c: address classes and allow lists (lib/netaddr). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "tap.h"

/* A numeric address as a sockaddr (the form libcurl hands to its open-socket callback). */
static void
make_sa(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
            abort();
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
            abort();
    }
}

static const struct {
    const char *addr;
    enum sm_netaddr_class want;
} classes[] = {
    {"0.0.0.0", SM_NETADDR_UNSPECIFIED},
    {"0.1.2.3", SM_NETADDR_UNSPECIFIED},
    {"127.0.0.1", SM_NETADDR_LOOPBACK},
    {"127.255.255.254", SM_NETADDR_LOOPBACK},
    {"169.254.169.254", SM_NETADDR_LINKLOCAL},
    {"169.254.0.1", SM_NETADDR_LINKLOCAL},
    {"10.0.0.1", SM_NETADDR_PRIVATE},
    {"10.255.255.255", SM_NETADDR_PRIVATE},
    {"172.16.0.1", SM_NETADDR_PRIVATE},
    {"172.31.255.255", SM_NETADDR_PRIVATE},
    {"172.15.255.255", SM_NETADDR_PUBLIC},
    {"172.32.0.0", SM_NETADDR_PUBLIC},
    {"192.168.1.1", SM_NETADDR_PRIVATE},
    {"192.169.0.1", SM_NETADDR_PUBLIC},
    {"100.64.0.1", SM_NETADDR_SHARED},
    {"100.127.255.255", SM_NETADDR_SHARED},
    {"100.63.255.255", SM_NETADDR_PUBLIC},
    {"100.128.0.0", SM_NETADDR_PUBLIC},
    {"224.0.0.1", SM_NETADDR_MULTICAST},
    {"239.255.255.250", SM_NETADDR_MULTICAST},
    {"240.0.0.1", SM_NETADDR_RESERVED},
    {"255.255.255.255", SM_NETADDR_RESERVED},
    {"8.8.8.8", SM_NETADDR_PUBLIC},
    {"1.1.1.1", SM_NETADDR_PUBLIC},
    {"126.255.255.255", SM_NETADDR_PUBLIC},
    {"128.0.0.0", SM_NETADDR_PUBLIC},
    {"192.0.2.1", SM_NETADDR_PUBLIC}, /* documentation: routed nowhere, not refused */
    {"::", SM_NETADDR_UNSPECIFIED},
    {"::1", SM_NETADDR_LOOPBACK},
    {"::2", SM_NETADDR_UNSPECIFIED}, /* IPv4-compatible 0.0.0.2 */
    {"fe80::1", SM_NETADDR_LINKLOCAL},
    {"febf:ffff::1", SM_NETADDR_LINKLOCAL},
    {"fec0::1", SM_NETADDR_PRIVATE},
    {"fc00::1", SM_NETADDR_PRIVATE},
    {"fd12:3456::1", SM_NETADDR_PRIVATE},
    {"fe00::1", SM_NETADDR_PUBLIC},
    {"ff02::1", SM_NETADDR_MULTICAST},
    {"ff0e::1", SM_NETADDR_MULTICAST},
    {"2001:4860:4860::8888", SM_NETADDR_PUBLIC},
    {"2606:4700::1111", SM_NETADDR_PUBLIC},
    {"::ffff:127.0.0.1", SM_NETADDR_LOOPBACK},
    {"::ffff:169.254.169.254", SM_NETADDR_LINKLOCAL},
    {"::ffff:10.1.2.3", SM_NETADDR_PRIVATE},
    {"::ffff:0.0.0.0", SM_NETADDR_UNSPECIFIED},
    {"::ffff:8.8.8.8", SM_NETADDR_PUBLIC},
    {"::127.0.0.1", SM_NETADDR_LOOPBACK},
    {"::192.168.0.1", SM_NETADDR_PRIVATE},
    {"64:ff9b::7f00:1", SM_NETADDR_LOOPBACK},
    {"64:ff9b::a9fe:a9fe", SM_NETADDR_LINKLOCAL},
    {"64:ff9b::808:808", SM_NETADDR_PUBLIC},
    {"::fffe:127.0.0.1", SM_NETADDR_PUBLIC}, /* not a mapped form */
};

/* Allow lists: the text, whether it parses, and addresses it must and must not let. */
static const struct {
    const char *text;
    int good;
    const char *cause; /* prefix of the message when bad */
    const char *permits, *refuses;
} lists[] = {
    {"yes", 1, NULL, "127.0.0.1", NULL},
    {"ON", 1, NULL, "169.254.169.254", NULL},
    {"true", 1, NULL, "fe80::1", NULL},
    {"no", 1, NULL, "8.8.8.8", "127.0.0.1"},
    {"", 1, NULL, "2001:db8::1", "10.0.0.1"},
    {"off", 1, NULL, NULL, "::1"},
    {"127.0.0.0/8", 1, NULL, "127.0.0.1", "10.0.0.1"},
    {"127.0.0.0/8", 1, NULL, "::ffff:127.0.0.9", "::1"},
    {"10.1.2.3", 1, NULL, "10.1.2.3", "10.1.2.4"},
    {"10.0.0.0/8, 192.168.1.0/24", 1, NULL, "192.168.1.200", "192.168.2.1"},
    {"10.0.0.0/8,192.168.1.0/24", 1, NULL, "10.9.9.9", "172.16.0.1"},
    {"10.0.0.0/8 \t fd00::/8", 1, NULL, "fd00::5", "fc00::5"},
    {"::1", 1, NULL, "::1", "127.0.0.1"},
    {"fe80::/10", 1, NULL, "fe80::abcd", "169.254.1.1"},
    {"0.0.0.0/0", 1, NULL, "169.254.169.254", "fe80::1"},
    {"::/0", 1, NULL, "fd00::1", "10.0.0.1"},
    {"172.16.0.0/12", 1, NULL, "172.31.0.1", "192.168.0.1"},
    {"maybe", 0, "maybe: not a numeric", NULL, NULL},
    {"10.0.0.0/8, localhost", 0, "localhost: not a numeric", NULL, NULL},
    {"0177.0.0.1", 0, "0177.0.0.1: not a numeric", NULL, NULL},
    {"2130706433", 0, "2130706433: not a numeric", NULL, NULL},
    {"10.0.0.0/33", 0, "10.0.0.0/33: the prefix length", NULL, NULL},
    {"::/129", 0, "::/129: the prefix length", NULL, NULL},
    {"10.0.0.0/", 0, "10.0.0.0/: the prefix length", NULL, NULL},
    {"10.0.0.0/8x", 0, "10.0.0.0/8x: the prefix length", NULL, NULL},
    {"10.0.0.0/-8", 0, "10.0.0.0/-8: the prefix length", NULL, NULL},
    {"10.0.0.0/0008", 0, "10.0.0.0/0008: the prefix length", NULL, NULL},
    {"10.1.2.3/8", 0, "10.1.2.3/8: bits are set after the /8 prefix", NULL, NULL},
    {"fd00::1/8", 0, "fd00::1/8: bits are set", NULL, NULL},
    {"::ffff:10.0.0.0/104", 0, "::ffff:10.0.0.0/104: write an IPv4-mapped", NULL, NULL},
    {"/8", 0, "/8: not a numeric", NULL, NULL},
    {",", 0, "expected yes, no or a list", NULL, NULL},
    {"10.0.0.0/8/8", 0, "10.0.0.0/8/8: the prefix length", NULL, NULL},
    {"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18", 0, "1.2.3.4.5.6.7.8.9.10.11.12.13.14.1", NULL,
     NULL},
    {"10.0.0.0/8,abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", 0,
     "abcdefghijklmnopqrstuvwxyzabcdef...: not a network", NULL, NULL},
};

int
main(void)
{
    struct sockaddr_storage ss;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        make_sa(classes[i].addr, &ss);
        enum sm_netaddr_class got = sm_netaddr_classify((struct sockaddr *)&ss);
        ok(got == classes[i].want, "%s is %s", classes[i].addr,
           sm_netaddr_class_name(classes[i].want));
        if (got != classes[i].want)
            diag("    got %s", sm_netaddr_class_name(got));
        int pub = classes[i].want == SM_NETADDR_PUBLIC;
        ok(sm_netallow_permits(NULL, (struct sockaddr *)&ss) == pub, "%s %s without an allow list",
           classes[i].addr, pub ? "permitted" : "refused");
    }
    memset(&ss, 0, sizeof ss);
    ss.ss_family = AF_UNIX;
    ok(sm_netaddr_classify((struct sockaddr *)&ss) == SM_NETADDR_RESERVED,
       "another family is reserved");
    ok(!sm_netallow_permits(NULL, (struct sockaddr *)&ss), "another family is refused");

    char buf[64];
    make_sa("::ffff:127.0.0.1", &ss);
    sm_netaddr_format((struct sockaddr *)&ss, buf, sizeof buf);
    ok_str(buf, "::ffff:127.0.0.1", "format IPv6");
    make_sa("169.254.169.254", &ss);
    sm_netaddr_format((struct sockaddr *)&ss, buf, sizeof buf);
    ok_str(buf, "169.254.169.254", "format IPv4");

    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        struct sm_netallow allow;
        char *cause = NULL;
        enum sm_rc rc = sm_netallow_parse(lists[i].text, &allow, &cause);
        if (!lists[i].good) {
            ok(rc == SM_EINVAL && cause &&
                   strncmp(cause, lists[i].cause, strlen(lists[i].cause)) == 0,
               "'%s' is refused", lists[i].text);
            if (cause && strncmp(cause, lists[i].cause, strlen(lists[i].cause)) != 0)
                diag("    cause '%s'", cause);
            ok(allow.n == 0 && !allow.all, "'%s' leaves nothing allowed", lists[i].text);
            free(cause);
            continue;
        }
        ok(rc == SM_OK && !cause, "'%s' parses", lists[i].text);
        if (lists[i].permits) {
            make_sa(lists[i].permits, &ss);
            ok(sm_netallow_permits(&allow, (struct sockaddr *)&ss), "'%s' permits %s",
               lists[i].text, lists[i].permits);
        }
        if (lists[i].refuses) {
            make_sa(lists[i].refuses, &ss);
            ok(!sm_netallow_permits(&allow, (struct sockaddr *)&ss), "'%s' refuses %s",
               lists[i].text, lists[i].refuses);
        }
        free(cause);
    }

    /* The cap on the number of networks. */
    char big[SM_NETALLOW_MAX * 16 + 32] = "";
    size_t len = 0;
    for (int i = 0; i <= SM_NETALLOW_MAX; i++)
        len += (size_t)snprintf(big + len, sizeof big - len, "10.0.%d.0/24,", i);
    struct sm_netallow allow;
    char *cause = NULL;
    ok(sm_netallow_parse(big, &allow, &cause) == SM_EINVAL && cause &&
           strstr(cause, "at most 32 networks"),
       "%d networks are too many", SM_NETALLOW_MAX + 1);
    free(cause);
    cause = NULL;
    big[len - strlen("10.0.32.0/24,")] = '\0';
    ok(sm_netallow_parse(big, &allow, &cause) == SM_OK && allow.n == SM_NETALLOW_MAX,
       "%d networks are accepted", SM_NETALLOW_MAX);
    free(cause);
    return tap_done();
}
