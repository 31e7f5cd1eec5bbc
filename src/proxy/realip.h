/* realip.h - the client's address as a balancer in front tells it
 * (nginx's ngx_http_realip_module): set_real_ip_from, real_ip_header,
 * real_ip_recursive.
 *
 * When the connection comes from a trusted address, the address in the
 * header (X-Real-IP by default, or the last of X-Forwarded-For, or with
 * real_ip_recursive the last one not trusted) becomes the request's
 * client address: $remote_addr, the error log's "client:", ip_hash and
 * $proxy_add_x_forwarded_for see it.  The connection's own address comes
 * back when the request ends; $realip_remote_addr and $realip_remote_port
 * keep it meanwhile.  It runs first in the server's rewrite phase, or the
 * location's when the server level sets nothing, once per request. */
#ifndef TP_PROXY_REALIP_H
#define TP_PROXY_REALIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf_cidr.h"
#include "conf/module.h"
#include "core/sockaddr.h"
#include "core/str.h"

extern struct module mod_realip;

/* The module's part of each http level. */
struct realip_loc {
    struct cidr *from;        /* set_real_ip_from, inherited whole */
    size_t nfrom;             /* how many; 0 = inherit */
    char *header;             /* real_ip_header */
    int recursive;            /* real_ip_recursive */
};

/* The address of one value ("1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1");
 * -1 if it is none. */
int realip_parse_addr(const char *p, size_t len, union sockaddr_any *out);

/* nginx's ngx_http_get_forwarded_addr over the values of a header, first
 * to last (several X-Forwarded-For lines): *addr, trusted, becomes the
 * address they name.  true if it changed. */
bool realip_forwarded(const struct realip_loc *rl, union sockaddr_any *addr,
                      const struct str *values, size_t n);

#endif
