/* netaddr.c: address classes and allow lists (see netaddr.h). */
#include "config.h"

#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

/* One network of a class table. */
struct net_class {
    uint8_t net[16];
    unsigned prefix;
    enum sm_netaddr_class cls;
};

/* IPv4, first match wins. */
static const struct net_class v4_classes[] = {
    {{0}, 8, SM_NETADDR_UNSPECIFIED},       {{127}, 8, SM_NETADDR_LOOPBACK},
    {{169, 254}, 16, SM_NETADDR_LINKLOCAL}, {{10}, 8, SM_NETADDR_PRIVATE},
    {{172, 16}, 12, SM_NETADDR_PRIVATE},    {{192, 168}, 16, SM_NETADDR_PRIVATE},
    {{100, 64}, 10, SM_NETADDR_SHARED},     {{224}, 4, SM_NETADDR_MULTICAST},
    {{240}, 4, SM_NETADDR_RESERVED}, /* holds 255.255.255.255 */
};

/* IPv6 (an embedded IPv4 address was taken out before). */
static const struct net_class v6_classes[] = {
    {{0}, 128, SM_NETADDR_UNSPECIFIED},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, SM_NETADDR_LOOPBACK},
    {{0xfe, 0x80}, 10, SM_NETADDR_LINKLOCAL},
    {{0xfe, 0xc0}, 10, SM_NETADDR_PRIVATE}, /* the old site-local */
    {{0xfc}, 7, SM_NETADDR_PRIVATE},
    {{0xff}, 8, SM_NETADDR_MULTICAST},
};

/* IPv6 prefixes whose last 32 bits are an IPv4 address. */
static const struct net_class v6_embed[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, SM_NETADDR_PUBLIC}, /* mapped */
    {{0x00, 0x64, 0xff, 0x9b}, 96, SM_NETADDR_PUBLIC},                   /* NAT64 */
    {{0}, 96, SM_NETADDR_PUBLIC}, /* IPv4-compatible (:: and ::1 are not) */
};

/* 1 when the first prefix bits of a and net agree. */
static int
in_prefix(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
    unsigned whole = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

/* The address of sa as (family, bytes), with an IPv4 address embedded in IPv6 taken
 * out. 0 when sa is neither IPv4 nor IPv6. */
static int
normalize(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    static const uint8_t zero[16];
    int short_one = memcmp(a, zero, 15) == 0 && a[15] <= 1; /* :: and ::1 */
    for (size_t i = 0; i < sizeof v6_embed / sizeof v6_embed[0] && !short_one; i++) {
        if (in_prefix(a, v6_embed[i].net, v6_embed[i].prefix)) {
            memcpy(out, a + 12, 4);
            return AF_INET;
        }
    }
    memcpy(out, a, 16);
    return AF_INET6;
}

enum sm_netaddr_class
sm_netaddr_classify(const struct sockaddr *sa)
{
    uint8_t a[16];
    int family = normalize(sa, a);
    if (!family)
        return SM_NETADDR_RESERVED;
    const struct net_class *t = family == AF_INET ? v4_classes : v6_classes;
    size_t n = family == AF_INET ? sizeof v4_classes / sizeof v4_classes[0]
                                 : sizeof v6_classes / sizeof v6_classes[0];
    for (size_t i = 0; i < n; i++)
        if (in_prefix(a, t[i].net, t[i].prefix))
            return t[i].cls;
    return SM_NETADDR_PUBLIC;
}

const char *
sm_netaddr_class_name(enum sm_netaddr_class c)
{
    switch (c) {
    case SM_NETADDR_PUBLIC:
        return "public";
    case SM_NETADDR_UNSPECIFIED:
        return "unspecified";
    case SM_NETADDR_LOOPBACK:
        return "loopback";
    case SM_NETADDR_LINKLOCAL:
        return "link-local";
    case SM_NETADDR_PRIVATE:
        return "private";
    case SM_NETADDR_SHARED:
        return "shared (100.64.0.0/10)";
    case SM_NETADDR_MULTICAST:
        return "multicast";
    case SM_NETADDR_RESERVED:
        break;
    }
    return "reserved";
}

void
sm_netaddr_format(const struct sockaddr *sa, char *out, size_t outsz)
{
    const void *a = NULL;
    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)outsz))
        sm_strlcpy(out, "?", outsz);
}

/* ------------------------------------------------------------------ allow lists */

static const char *const yes_words[] = {"yes", "true", "on", "1"};
static const char *const no_words[] = {"no", "false", "off", "0", ""};

static int
word_in(const char *s, const char *const *words, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(s, words[i]) == 0)
            return 1;
    return 0;
}

/* Parse one "ADDR[/PREFIX]" item (NUL-terminated, no blanks). */
static enum sm_rc
parse_net(const char *item, struct sm_netallow_net *net, char **cause)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(item, '/');
    size_t alen = slash ? (size_t)(slash - item) : strlen(item);
    memset(net, 0, sizeof *net);
    if (alen == 0 || alen >= sizeof addr)
        goto bad_addr;
    memcpy(addr, item, alen);
    addr[alen] = '\0';
    net->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(net->family, addr, net->addr) != 1)
        goto bad_addr;
    unsigned max = net->family == AF_INET ? 32 : 128;
    if (net->family == AF_INET6 && in_prefix(net->addr, v6_embed[0].net, 96)) {
        *cause = sm_xasprintf("%s: write an IPv4-mapped address as IPv4", item);
        return SM_EINVAL;
    }
    net->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        size_t digits = strspn(p, "0123456789");
        unsigned v = 0;
        if (digits == 0 || digits > 3 || p[digits] != '\0') {
            *cause = sm_xasprintf("%s: the prefix length must be a number from 0 to %u", item, max);
            return SM_EINVAL;
        }
        for (size_t i = 0; i < digits; i++)
            v = v * 10 + (unsigned)(p[i] - '0');
        if (v > max) {
            *cause = sm_xasprintf("%s: the prefix length must be a number from 0 to %u", item, max);
            return SM_EINVAL;
        }
        net->prefix = v;
    }
    for (unsigned bit = net->prefix; bit < max; bit++) {
        if (net->addr[bit / 8] & (0x80 >> (bit % 8))) {
            *cause = sm_xasprintf("%s: bits are set after the /%u prefix", item, net->prefix);
            return SM_EINVAL;
        }
    }
    return SM_OK;
bad_addr:
    *cause = sm_xasprintf("%.*s: not a numeric IPv4 or IPv6 address", 64, item);
    return SM_EINVAL;
}

enum sm_rc
sm_netallow_parse(const char *text, struct sm_netallow *out, char **cause)
{
    static const char seps[] = ", \t";
    memset(out, 0, sizeof *out);
    if (word_in(text, yes_words, sizeof yes_words / sizeof yes_words[0])) {
        out->all = 1;
        return SM_OK;
    }
    if (word_in(text, no_words, sizeof no_words / sizeof no_words[0]))
        return SM_OK;
    const char *p = text;
    for (;;) {
        p += strspn(p, seps);
        if (!*p)
            break;
        size_t len = strcspn(p, seps);
        char item[INET6_ADDRSTRLEN + 8];
        if (len >= sizeof item) {
            *cause = sm_xasprintf("%.*s...: not a network", 32, p);
            goto fail;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (out->n == SM_NETALLOW_MAX) {
            *cause = sm_xasprintf("at most %d networks", SM_NETALLOW_MAX);
            goto fail;
        }
        if (parse_net(item, &out->nets[out->n], cause) != SM_OK)
            goto fail;
        out->n++;
        p += len;
    }
    if (out->n == 0) {
        *cause = sm_xstrdup("expected yes, no or a list of networks such as 10.0.0.0/8");
        goto fail;
    }
    return SM_OK;
fail:
    memset(out, 0, sizeof *out);
    return SM_EINVAL;
}

int
sm_netallow_contains(const struct sm_netallow *list, const struct sockaddr *sa)
{
    if (!list)
        return 0;
    if (list->all)
        return 1;
    uint8_t a[16];
    int family = normalize(sa, a);
    for (size_t i = 0; i < list->n; i++)
        if (list->nets[i].family == family &&
            in_prefix(a, list->nets[i].addr, list->nets[i].prefix))
            return 1;
    return 0;
}

int
sm_netallow_permits(const struct sm_netallow *allow, const struct sockaddr *sa)
{
    return sm_netaddr_classify(sa) == SM_NETADDR_PUBLIC || sm_netallow_contains(allow, sa);
}

enum sm_rc
sm_netaddr_parse(const char *text, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return SM_OK;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return SM_OK;
    }
    return SM_EINVAL;
}
