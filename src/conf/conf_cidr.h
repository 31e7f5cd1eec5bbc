/* conf_cidr.h - addresses and networks in directives (nginx's
 * ngx_ptocidr and ngx_cidr_match): allow/deny, set_real_ip_from in http
 * and in stream.
 *
 * A network is its address bytes already masked, so a match is one AND
 * and compare per byte.  "10.1.2.3/8" keeps 10.0.0.0/8 with nginx's
 * warning about the host bits the mask drops. */
#ifndef TP_CONF_CONF_CIDR_H
#define TP_CONF_CONF_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sockaddr.h"

struct conf_loader;
struct conf_node;

/* An address or network. */
struct cidr {
    int family;       /* AF_INET or AF_INET6 (callers may keep others of their own) */
    uint8_t addr[16]; /* the network, in network order (4 bytes for IPv4) */
    uint8_t mask[16]; /* its mask */
};

/* "addr" or "addr/bits" into c, warning at n about dropped host bits;
 * -1 when text is neither (nothing said). */
int conf_cidr_parse(const struct conf_node *n, const char *text, struct cidr *c);

/* Whether the len address bytes a of family are in c. */
bool cidr_match_bytes(const struct cidr *c, int family, const uint8_t *a, size_t len);

/* Whether an IPv4 or IPv6 address is in c (a mapped IPv4 address is
 * IPv6 here, as in nginx's ngx_cidr_match); a unix socket's peer is in
 * an AF_UNIX c. */
bool cidr_match(const struct cidr *c, const union sockaddr_any *a);

/* Whether a is in any of the n networks of list. */
bool cidr_list_match(const struct cidr *list, size_t n, const union sockaddr_any *a);

/* set_real_ip_from's argument at n, appended to *list: an address, a
 * network, "unix:" (every unix-socket connection, family AF_UNIX), or a
 * name standing for each of its addresses (looked up now, as nginx does).
 * -1 after a file:line error. */
int conf_cidr_trust(struct conf_loader *cl, const struct conf_node *n, struct cidr **list,
                    size_t *nlist);

#endif
