/* sockaddr.h - compact socket addresses and their text form. */
#ifndef TP_SOCKADDR_H
#define TP_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* IPv4 or IPv6: 28 bytes instead of sockaddr_storage's 128, which matters
 * in a per-connection struct.  A unix socket's address is only its family
 * here (a client of one has no name); the listening path is kept beside
 * it where it matters (listen addresses). */
union sockaddr_any {
    struct sockaddr sa;       /* family */
    struct sockaddr_in sin;   /* AF_INET */
    struct sockaddr_in6 sin6; /* AF_INET6 */
};

/* "127.0.0.1:8080" or "[::1]:8080" or "*:80" (wildcard), "unix:" for a
 * unix socket; returns length. */
size_t sockaddr_text(const union sockaddr_any *a, bool with_port, char *buf, size_t cap);
socklen_t sockaddr_len(const union sockaddr_any *a);
unsigned sockaddr_port(const union sockaddr_any *a);
bool sockaddr_is_wildcard(const union sockaddr_any *a);
/* Same family, address and port; never for unix sockets (compare their
 * paths). */
bool sockaddr_equal(const union sockaddr_any *a, const union sockaddr_any *b);

#endif
