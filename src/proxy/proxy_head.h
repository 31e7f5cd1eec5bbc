/* proxy_head.h - the request head that goes upstream, in canonical form:
 * CRLF line ends, one space after each colon, and the body's framing
 * (Content-Length or chunked) chosen here, never the client's bytes.
 *
 * nginx's order and rules: the request line; the proxy_set_header
 * headers in their order (an empty value sends nothing); nginx's defaults
 * that they do not name (Host: $proxy_host, Connection: close); the
 * framing; then the client's headers, unless proxy_pass_request_headers
 * is off, without those proxy_set_header names, without nginx's defaults
 * (Host, Connection, Content-Length, Transfer-Encoding, TE, Keep-Alive,
 * Expect, Upgrade) and without any other hop-by-hop header: Proxy-
 * Connection, Trailer, and what the client's Connection header lists. */
#ifndef TP_PROXY_HEAD_H
#define TP_PROXY_HEAD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mpool.h"
#include "core/str.h"
#include "http/req.h"
#include "proxy/proxy_parse.h"

/* How the request body goes upstream. */
enum proxy_framing {
    PF_NONE,    /* no body */
    PF_LENGTH,  /* Content-Length */
    PF_CHUNKED, /* Transfer-Encoding: chunked (HTTP/1.1, streamed) */
};

/* What the head is made of. */
struct proxy_head_in {
    struct str method;            /* proxy_method or the request's */
    struct str uri;               /* proxy_uri_make's */
    bool http11;                  /* proxy_http_version 1.1 */
    const struct proxy_hdr *set;  /* proxy_set_header, evaluated, in order */
    size_t nset;                  /* how many */
    struct str host;              /* the default Host ($proxy_host) */
    const struct req_hdr *client; /* the client's headers, NULL when not passed */
    size_t nclient;               /* how many */
    enum proxy_framing framing;   /* the body's framing */
    uint64_t length;              /* PF_LENGTH: its length */
};

/* Writes the head into p; -1 when out of memory. */
int proxy_head_build(struct mpool *p, const struct proxy_head_in *in, struct str *out);

/* A hop-by-hop header of either direction (not Upgrade, which a 101
 * passes on): Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
 * Transfer-Encoding. */
bool proxy_hop_by_hop(struct str name);

/* name is one of the comma-separated tokens of a Connection value. */
bool proxy_conn_lists(struct str connection, struct str name);

#endif
