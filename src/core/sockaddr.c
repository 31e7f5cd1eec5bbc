/* sockaddr.c - socket address helpers. */
#include "core/sockaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

socklen_t sockaddr_len(const union sockaddr_any *a)
{
    return a->sa.sa_family == AF_INET6 ? sizeof(a->sin6) : sizeof(a->sin);
}

unsigned sockaddr_port(const union sockaddr_any *a)
{
    if (a->sa.sa_family == AF_UNIX)
        return 0;
    return ntohs(a->sa.sa_family == AF_INET6 ? a->sin6.sin6_port : a->sin.sin_port);
}

bool sockaddr_is_wildcard(const union sockaddr_any *a)
{
    if (a->sa.sa_family == AF_UNIX)
        return false;
    if (a->sa.sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&a->sin6.sin6_addr);
    return a->sin.sin_addr.s_addr == htonl(INADDR_ANY);
}

bool sockaddr_equal(const union sockaddr_any *a, const union sockaddr_any *b)
{
    /* A unix address's path is not in the union: its owner compares it. */
    if (a->sa.sa_family != b->sa.sa_family || sockaddr_port(a) != sockaddr_port(b) ||
        a->sa.sa_family == AF_UNIX)
        return false;
    if (a->sa.sa_family == AF_INET6)
        return memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, sizeof(struct in6_addr)) == 0;
    return a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
}

size_t sockaddr_text(const union sockaddr_any *a, bool with_port, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "*";
    bool v6 = a->sa.sa_family == AF_INET6;
    int n;

    if (v6)
        inet_ntop(AF_INET6, &a->sin6.sin6_addr, host, sizeof(host));
    else if (a->sa.sa_family != AF_UNIX && (!with_port || !sockaddr_is_wildcard(a)))
        inet_ntop(AF_INET, &a->sin.sin_addr, host, sizeof(host));
    if (a->sa.sa_family == AF_UNIX)
        n = snprintf(buf, cap, "unix:"); /* nginx's $remote_addr of a unix client */
    else if (!with_port)
        n = snprintf(buf, cap, "%s", host);
    else if (v6)
        n = snprintf(buf, cap, "[%s]:%u", host, sockaddr_port(a));
    else
        n = snprintf(buf, cap, "%s:%u", host, sockaddr_port(a));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
