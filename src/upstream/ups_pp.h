/* ups_pp.h - the PROXY protocol header a connection to a backend starts
 * with (haproxy's proxy-protocol.txt), for the stream proxy and the http
 * proxy alike: version 1's line, or version 2 with the client's TLS facts
 * as haproxy sends them (ALPN, AUTHORITY, SSL with VERSION, CIPHER and CN)
 * and the optional CRC32C and UNIQUE_ID TLVs. */
#ifndef TP_UPSTREAM_UPS_PP_H
#define TP_UPSTREAM_UPS_PP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sockaddr.h"

struct tls_conn;

/* What the header carries besides the addresses. */
struct ups_pp_opts {
    int version;    /* 1 or 2 */
    bool crc32c;    /* version 2: a CRC32C TLV */
    bool unique_id; /* version 2: a random UNIQUE_ID TLV */
};

/* The header for a client at src that reached dst, over TLS connection t
 * (NULL for plain), into buf (PP_MAX bytes); its length, 0 on failure.
 * IPv4 and IPv6 mixed go as IPv6 (the IPv4 side mapped); an IP client
 * that reached a unix socket goes with the unspecified address (port 0)
 * as dst; a src that is not IPv4 or IPv6 (a unix socket's client) is sent
 * as UNKNOWN in version 1 and as LOCAL in version 2. */
size_t ups_pp_header(uint8_t *buf, size_t cap, const struct ups_pp_opts *o,
                     const union sockaddr_any *src, const union sockaddr_any *dst,
                     struct tls_conn *t);

#endif
