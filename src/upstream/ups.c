/* ups.c - backend addresses and the group list. */
#include "upstream/ups.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct ups_group *ups_group_find(const struct ups_groups *gs, const char *name)
{
    for (size_t i = 0; i < gs->n; i++)
        if (strcasecmp(gs->list[i]->name, name) == 0)
            return gs->list[i];
    return NULL;
}

void ups_addr_name(struct ups_addr *a)
{
    char host[INET6_ADDRSTRLEN];
    switch (a->u.sa.sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &a->u.sin.sin_addr, host, sizeof(host));
        snprintf(a->name, sizeof(a->name), "%s:%u", host, ntohs(a->u.sin.sin_port));
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &a->u.sin6.sin6_addr, host, sizeof(host));
        snprintf(a->name, sizeof(a->name), "[%s]:%u", host, ntohs(a->u.sin6.sin6_port));
        break;
    default:
        snprintf(a->name, sizeof(a->name), "unix:%s", a->u.sun.sun_path);
        break;
    }
}

void ups_addr_inet(struct ups_addr *a, const struct sockaddr *sa, unsigned port)
{
    memset(a, 0, sizeof(*a));
    if (sa->sa_family == AF_INET6) {
        memcpy(&a->u.sin6, sa, sizeof(a->u.sin6));
        a->u.sin6.sin6_port = htons((uint16_t)port);
        a->len = sizeof(a->u.sin6);
    } else {
        memcpy(&a->u.sin, sa, sizeof(a->u.sin));
        a->u.sin.sin_port = htons((uint16_t)port);
        a->len = sizeof(a->u.sin);
    }
    ups_addr_name(a);
}

int ups_addr_unix(struct ups_addr *a, const char *path)
{
    size_t len = strlen(path);
    memset(a, 0, sizeof(*a));
    if (len == 0 || len >= sizeof(a->u.sun.sun_path))
        return -1;
    a->u.sun.sun_family = AF_UNIX;
    memcpy(a->u.sun.sun_path, path, len + 1);
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    ups_addr_name(a);
    return 0;
}

bool ups_addr_equal(const struct ups_addr *a, const struct ups_addr *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return false;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        return a->u.sin.sin_port == b->u.sin.sin_port &&
               a->u.sin.sin_addr.s_addr == b->u.sin.sin_addr.s_addr;
    case AF_INET6:
        return a->u.sin6.sin6_port == b->u.sin6.sin6_port &&
               memcmp(&a->u.sin6.sin6_addr, &b->u.sin6.sin6_addr, sizeof(struct in6_addr)) == 0;
    default:
        return strcmp(a->u.sun.sun_path, b->u.sun.sun_path) == 0;
    }
}
