/* dns.h - a small DNS client for A and AAAA lookups: the wire format, and
 * one blocking exchange with the servers a `resolver` directive names.
 *
 * getaddrinfo cannot be pointed at a particular server, and nginx's
 * `resolver` names one, so turnpike asks it itself.  dns_lookup blocks: it
 * runs on a pool thread (core/resolver.c), never on the loop.  It follows
 * nginx's resolver: a query goes to one server, and if no answer comes
 * within DNS_RESEND_MS it is sent again to the next one, until the lookup's
 * timeout; an answer with an error code is final; A and AAAA are asked
 * together; a CNAME without addresses is followed; a truncated answer is
 * asked again over TCP. */
#ifndef TP_DNS_H
#define TP_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sockaddr.h"

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_MAX_ADDRS 32   /* addresses kept from one answer */
#define DNS_NAME_MAX 255   /* longest name in text form, with the final NUL */
#define DNS_RESEND_MS 5000 /* nginx's resend timeout: then the next server */
#define DNS_MAX_CNAMES 8   /* CNAME chains followed this deep */
#define DNS_UDP_MAX 512    /* a UDP answer without EDNS */

/* Outcomes, with nginx's numbers (ngx_resolver_strerror). */
enum dns_status {
    DNS_ERROR = -1,    /* a local failure: no socket, canceled */
    DNS_OK = 0,        /* addresses found */
    DNS_FORMERR = 1,   /* "Format error" */
    DNS_SERVFAIL = 2,  /* "Server failure" */
    DNS_NXDOMAIN = 3,  /* "Host not found" (also: a name with no address) */
    DNS_NOTIMP = 4,    /* "Unimplemented" */
    DNS_REFUSED = 5,   /* "Operation refused" */
    DNS_TIMEDOUT = 110 /* "Operation timed out" (ETIMEDOUT) */
};

/* What one answer (or one whole lookup) found. */
struct dns_answer {
    int status;                              /* enum dns_status */
    union sockaddr_any addrs[DNS_MAX_ADDRS]; /* addresses, port 0 */
    size_t naddrs;                           /* how many */
    uint32_t ttl;                            /* smallest TTL of the records used */
    char cname[DNS_NAME_MAX];                /* CNAME target without addresses, or "" */
    bool truncated;                          /* TC: ask again over TCP */
};

/* One lookup, as the pool thread runs it. */
struct dns_lookup {
    const union sockaddr_any *servers; /* where to ask, with their ports */
    size_t nservers;                   /* how many (at least 1) */
    unsigned first;                    /* the server to ask first */
    const char *name;                  /* the name, in text form */
    bool ipv4;                         /* ask for A records */
    bool ipv6;                         /* ask for AAAA records */
    long timeout_ms;                   /* the whole lookup's limit */
    long resend_ms;                    /* each server's turn; 0: DNS_RESEND_MS */
    int cancel_fd;                     /* readable means give up, or -1 */
};

/* The message for a status, nginx's words. */
const char *dns_strerror(int status);

/* Checks and normalizes a name to lower case without a final dot; false
 * if it cannot be looked up (empty label, label over 63, over 253). */
bool dns_name_normalize(const char *name, size_t len, char *out, size_t cap);

/* Writes a query for name (normalized) and qtype; returns its length, or 0
 * if it does not fit. */
size_t dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype);

/* Reads the answer to query (id, name, qtype).  0 with out filled; -1 if
 * the message is not that answer or is malformed (then it is ignored). */
int dns_answer_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name, uint16_t qtype,
                     struct dns_answer *out);

/* Runs the lookup (blocking); fills out and returns out->status. */
int dns_lookup_run(const struct dns_lookup *q, struct dns_answer *out);

#endif
