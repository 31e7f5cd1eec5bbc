/* proxy_proto.h - the PROXY protocol, versions 1 and 2, as HAProxy's
 * proxy-protocol.txt specifies it: the header a balancer puts before a
 * connection's bytes to tell the real client's address (and, in version
 * 2, TLS facts as TLVs).
 *
 * Parsing takes bytes as they come (a peeked buffer) and says whether the
 * header is complete, incomplete or invalid, and how long it is, so the
 * caller reads exactly the header and leaves the payload in the socket.
 * Writing makes a version 1 line or a version 2 header with TLVs. */
#ifndef TP_EVENT_PROXY_PROTO_H
#define TP_EVENT_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sockaddr.h"

#define PP_V1_MAX 107              /* the longest version 1 line, CRLF included */
#define PP_V2_HEAD 16              /* signature, version/command, family, length */
#define PP_MAX (PP_V2_HEAD + 4096) /* the longest header turnpike accepts */

/* Version 2 TLV types. */
enum pp_tlv_type {
    PP2_TYPE_ALPN = 0x01,
    PP2_TYPE_AUTHORITY = 0x02,
    PP2_TYPE_CRC32C = 0x03,
    PP2_TYPE_NOOP = 0x04,
    PP2_TYPE_UNIQUE_ID = 0x05,
    PP2_TYPE_SSL = 0x20,
    PP2_SUBTYPE_SSL_VERSION = 0x21,
    PP2_SUBTYPE_SSL_CN = 0x22,
    PP2_SUBTYPE_SSL_CIPHER = 0x23,
    PP2_SUBTYPE_SSL_SIG_ALG = 0x24,
    PP2_SUBTYPE_SSL_KEY_ALG = 0x25,
    PP2_TYPE_NETNS = 0x30,
};

/* The SSL TLV's client field. */
enum pp_client_bits {
    PP2_CLIENT_SSL = 0x01,       /* the client connected over TLS */
    PP2_CLIENT_CERT_CONN = 0x02, /* it presented a certificate on this connection */
    PP2_CLIENT_CERT_SESS = 0x04, /* ... on this session (resumed) */
};

/* What a header said. */
struct pp_info {
    uint8_t version;        /* 1 or 2 */
    bool local;             /* LOCAL (v2) or UNKNOWN (v1): no addresses, use the connection's */
    union sockaddr_any src; /* the client, when !local */
    union sockaddr_any dst; /* the address it connected to, when !local */
    const uint8_t *tlvs;    /* version 2 TLVs (inside the parsed buffer) */
    size_t tlvs_len;        /* their length */
};

enum pp_rc {
    PP_INCOMPLETE, /* more bytes are needed */
    PP_OK,         /* a whole, valid header */
    PP_BAD,        /* not a valid header: why says what is wrong */
};

/* Parses the header at the start of buf.  On PP_OK, *len is its length
 * (the payload starts after it).  A version 2 header with a CRC32C TLV
 * is checked against it. */
enum pp_rc pp_parse(const uint8_t *buf, size_t n, struct pp_info *out, size_t *len,
                    const char **why);

/* The value of the first TLV of that type, looking inside the SSL TLV for
 * its subtypes; false if none. */
bool pp_tlv(const struct pp_info *info, uint8_t type, const uint8_t **val, size_t *len);

/* The SSL TLV's fixed part: the client bits and the verify result. */
bool pp_tlv_ssl(const struct pp_info *info, uint8_t *client, uint32_t *verify);

/* A version 1 line for src -> dst (TCP4/TCP6, or UNKNOWN for anything
 * else); returns its length.  buf has PP_V1_MAX bytes. */
size_t pp_write_v1(char *buf, const union sockaddr_any *src, const union sockaddr_any *dst);

/* What a version 2 header carries besides the addresses. */
struct pp_v2_out {
    const char *alpn;        /* ALPN, or NULL */
    const char *authority;   /* AUTHORITY (the SNI name), or NULL */
    const char *unique_id;   /* UNIQUE_ID (at most 128 bytes), or NULL */
    bool ssl;                /* add the SSL TLV */
    uint8_t ssl_client;      /* its client bits */
    uint32_t ssl_verify;     /* its verify result (0: verified) */
    const char *ssl_version; /* SSL_VERSION sub-TLV ("TLSv1.3"), or NULL */
    const char *ssl_cipher;  /* SSL_CIPHER sub-TLV, or NULL */
    const char *ssl_cn;      /* SSL_CN sub-TLV (the client certificate's CN), or NULL */
    bool crc32c;             /* add a CRC32C TLV over the whole header */
};

/* A version 2 PROXY header for src -> dst with out's TLVs (LOCAL when src
 * is NULL); returns its length, or 0 if it would not fit in cap. */
size_t pp_write_v2(uint8_t *buf, size_t cap, const union sockaddr_any *src,
                   const union sockaddr_any *dst, const struct pp_v2_out *out);

/* CRC-32C (Castagnoli), as the CRC32C TLV uses it. */
uint32_t pp_crc32c(const uint8_t *p, size_t n);

#endif
