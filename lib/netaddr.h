/* netaddr.h: what kind of network an IP address belongs to, and an operator's list of
 * networks allowed anyway. smserver uses it so a webhook cannot be pointed at the
 * server's own loopback, the cloud metadata service (169.254.169.254) or the private
 * networks behind it (server-side request forgery).
 *
 * An IPv6 address that carries an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, the old
 * IPv4-compatible ::a.b.c.d, the NAT64 prefix 64:ff9b::/96) is judged by that IPv4
 * address, so ::ffff:127.0.0.1 is loopback. */
#ifndef SM_LIB_NETADDR_H
#define SM_LIB_NETADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rc.h"

enum sm_netaddr_class {
    SM_NETADDR_PUBLIC = 0,
    SM_NETADDR_UNSPECIFIED, /* 0.0.0.0/8, :: (Linux connects 0.0.0.0 to itself) */
    SM_NETADDR_LOOPBACK,    /* 127.0.0.0/8, ::1 */
    SM_NETADDR_LINKLOCAL,   /* 169.254.0.0/16 (cloud metadata), fe80::/10 */
    SM_NETADDR_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 */
    SM_NETADDR_SHARED,      /* 100.64.0.0/10, carrier-grade NAT and VPN overlays */
    SM_NETADDR_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
    SM_NETADDR_RESERVED,    /* 240.0.0.0/4 and the broadcast address; an unknown family */
};

/* Classify the address in sa (AF_INET or AF_INET6; anything else is RESERVED). */
enum sm_netaddr_class sm_netaddr_classify(const struct sockaddr *sa);
/* "public", "loopback", "link-local", ... (static). */
const char *sm_netaddr_class_name(enum sm_netaddr_class c);
/* The numeric form of sa's address into out ("127.0.0.1", "::1"); "?" if unknown. */
void sm_netaddr_format(const struct sockaddr *sa, char *out, size_t outsz);

#define SM_NETALLOW_MAX 32 /* networks in one list */

struct sm_netallow_net {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
};

/* Which non-public addresses may be reached: all of them, or those in nets. A zeroed
 * struct allows none. */
struct sm_netallow {
    int all;
    size_t n;
    struct sm_netallow_net nets[SM_NETALLOW_MAX];
};

/* Parse text into out: "yes"/"true"/"on"/"1" allows everything, "no"/"false"/"off"/"0"
 * or "" nothing, otherwise a list of networks in CIDR form ("10.0.0.0/8, fd00::/8";
 * a bare address is one host) separated by commas and/or blanks. Addresses must be in
 * the plain numeric form (no octal, no IPv4-mapped IPv6), the prefix in range, and no
 * bit set after it. SM_EINVAL with an allocated *cause naming the bad item. Any thread. */
enum sm_rc sm_netallow_parse(const char *text, struct sm_netallow *out, char **cause) SM_MUST_CHECK;
/* 1 when sa may be reached: its address is public, or allow (may be NULL) lets it. */
int sm_netallow_permits(const struct sm_netallow *allow, const struct sockaddr *sa);
/* 1 when list (may be NULL: an empty list) holds sa's address, whatever its class. */
int sm_netallow_contains(const struct sm_netallow *list, const struct sockaddr *sa);
/* Parse a numeric IPv4 or IPv6 address ("10.0.0.1", "::1", "::ffff:10.0.0.1": the way
 * libwebsockets and proxies write peers) into out. SM_EINVAL for anything else. */
enum sm_rc sm_netaddr_parse(const char *text, struct sockaddr_storage *out) SM_MUST_CHECK;

#endif
