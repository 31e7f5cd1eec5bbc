/* conf_cidr.c - addresses and networks in directives (see conf_cidr.h). */
#include "conf/conf_cidr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <string.h>

#include "conf/conf_table.h"

static void cidr_mask(uint8_t *mask, size_t bytes, long bits)
{
    memset(mask, 0, 16);
    for (size_t i = 0; i < bytes; i++, bits -= 8)
        mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
}

int conf_cidr_parse(const struct conf_node *n, const char *text, struct cidr *c)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    if (alen >= sizeof(buf))
        return -1;
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    c->family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
    size_t bytes = c->family == AF_INET6 ? 16 : 4;
    if (inet_pton(c->family, buf, c->addr) != 1)
        return -1;
    long bits = (long)bytes * 8;
    if (slash != NULL && (conf_parse_num(slash + 1, &bits) < 0 || bits > (long)bytes * 8))
        return -1;
    cidr_mask(c->mask, bytes, bits);
    bool low = false;
    for (size_t i = 0; i < bytes; i++) {
        low |= (c->addr[i] & ~c->mask[i]) != 0;
        c->addr[i] &= c->mask[i];
    }
    if (low)
        conf_warn(n, "low address bits of %s are meaningless", text);
    return 0;
}

bool cidr_match_bytes(const struct cidr *c, int family, const uint8_t *a, size_t len)
{
    if (c->family != family)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((a[i] & c->mask[i]) != c->addr[i])
            return false;
    return true;
}

bool cidr_match(const struct cidr *c, const union sockaddr_any *a)
{
    if (a->sa.sa_family == AF_UNIX)
        return c->family == AF_UNIX;
    if (a->sa.sa_family == AF_INET)
        return cidr_match_bytes(c, AF_INET, (const uint8_t *)&a->sin.sin_addr, 4);
    if (a->sa.sa_family == AF_INET6)
        return cidr_match_bytes(c, AF_INET6, a->sin6.sin6_addr.s6_addr, 16);
    return false;
}

bool cidr_list_match(const struct cidr *list, size_t n, const union sockaddr_any *a)
{
    for (size_t i = 0; i < n; i++)
        if (cidr_match(&list[i], a))
            return true;
    return false;
}

static int cidr_push(struct conf_loader *cl, const struct conf_node *n, struct cidr **list,
                     size_t *nlist, const struct cidr *c)
{
    struct cidr *slot = conf_push(cl->pool, list, nlist, sizeof(*slot));
    if (slot == NULL)
        return conf_err_nomem(cl, n);
    *slot = *c;
    return 0;
}

/* A name: each of its addresses. */
static int cidr_host(struct conf_loader *cl, const struct conf_node *n, struct cidr **list,
                     size_t *nlist)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(n->args[1].s, NULL, &hints, &res) != 0)
        return conf_err(cl, n, "host not found in %s \"%s\"", n->args[0].s, n->args[1].s);
    int rc = 0;
    for (struct addrinfo *ai = res; ai != NULL && rc == 0; ai = ai->ai_next) {
        const union sockaddr_any *a = (const union sockaddr_any *)ai->ai_addr;
        struct cidr c = {.family = ai->ai_family};
        if (ai->ai_family == AF_INET)
            memcpy(c.addr, &a->sin.sin_addr, 4);
        else if (ai->ai_family == AF_INET6)
            memcpy(c.addr, a->sin6.sin6_addr.s6_addr, 16);
        else
            continue;
        memset(c.mask, 0xff, ai->ai_family == AF_INET ? 4 : 16);
        rc = cidr_push(cl, n, list, nlist, &c);
    }
    freeaddrinfo(res);
    return rc;
}

int conf_cidr_trust(struct conf_loader *cl, const struct conf_node *n, struct cidr **list,
                    size_t *nlist)
{
    const char *a = n->args[1].s;
    struct cidr c = {0};
    if (strcmp(a, "unix:") == 0) {
        c.family = AF_UNIX; /* every connection on a unix socket, as nginx */
        return cidr_push(cl, n, list, nlist, &c);
    }
    if (conf_cidr_parse(n, a, &c) == 0)
        return cidr_push(cl, n, list, nlist, &c);
    if (strchr(a, '/') != NULL || strchr(a, ':') != NULL)
        return conf_err_param(cl, n, a);
    return cidr_host(cl, n, list, nlist);
}
