/* pp_wait.h - reading a PROXY protocol header before a connection's
 * protocol starts (`listen ... proxy_protocol`, http and stream).
 *
 * An accepted connection waits here, as a socket of its own (counted,
 * drained and closed like any other), until its PROXY header has come:
 * bytes are peeked, and only the header's own bytes are consumed, so the
 * payload stays in the kernel for the protocol that takes the descriptor
 * over.  A malformed or truncated header, a bad CRC32C, or one that has
 * not come within the timeout closes the connection with a log line, and
 * nothing reaches the protocol. */
#ifndef TP_EVENT_PP_WAIT_H
#define TP_EVENT_PP_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sockaddr.h"
#include "core/str.h"
#include "event/proxy_proto.h"

struct reactor;

/* A header as received, with what it said (info.tlvs point into bytes). */
struct pp_hdr {
    struct pp_info info; /* the parsed header */
    size_t len;          /* its length */
    uint8_t bytes[];     /* the header itself */
};

/* The header came: the protocol takes fd over, and hdr (free() it). */
typedef void (*pp_wait_cb)(struct reactor *rx, int fd, const union sockaddr_any *peer,
                           struct pp_hdr *hdr, const void *data);

/* Waits for fd's PROXY header for at most timeout_ms; server names the
 * listen address in log lines.  -1 when out of memory (fd is the
 * caller's then). */
int pp_wait_start(struct reactor *rx, int fd, const union sockaddr_any *peer, long timeout_ms,
                  const char *server, pp_wait_cb done, const void *data);

/* $proxy_protocol_tlv_NAME (nginx's names): alpn, authority, unique_id,
 * ssl, netns, ssl_version, ssl_cn, ssl_cipher, ssl_sig_alg, ssl_key_alg,
 * ssl_verify (decimal), or a type as 0xNN.  buf (at least 16 bytes) holds
 * values that are not the TLV's own bytes.  false when there is none. */
bool pp_tlv_named(const struct pp_info *info, struct str name, char *buf, struct str *out);

#endif
