/* dns.c - the DNS wire format: queries for A and AAAA, and their answers
 * (RFC 1035, with name compression). */
#include "core/dns.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DNS_HEADER 12
#define DNS_CLASS_IN 1
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_MAX_JUMPS 32 /* compression pointers followed in one name */

const char *dns_strerror(int status)
{
    static const char *const errors[] = {
        "Format error", "Server failure", "Host not found", "Unimplemented", "Operation refused",
    };
    if (status > 0 && status < 6)
        return errors[status - 1];
    if (status == DNS_TIMEDOUT)
        return "Operation timed out";
    return "Unknown error";
}

bool dns_name_normalize(const char *name, size_t len, char *out, size_t cap)
{
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253 || len >= cap)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (++label > 63 || c <= ' ' || c == 0x7f) {
            return false;
        }
        out[i] = (char)tolower(c);
    }
    out[len] = '\0';
    return label > 0;
}

static void dns_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t dns_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t dns_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t dns_query_build(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
    size_t n = strlen(name);
    /* header, one length byte per label plus the root, type and class */
    if (cap < DNS_HEADER + n + 2 + 4)
        return 0;
    memset(buf, 0, DNS_HEADER);
    dns_put16(buf, id);
    dns_put16(buf + 2, DNS_FLAG_RD);
    dns_put16(buf + 4, 1);
    size_t off = DNS_HEADER;
    for (const char *p = name; *p != '\0';) {
        const char *dot = strchr(p, '.');
        size_t label = dot != NULL ? (size_t)(dot - p) : strlen(p);
        buf[off++] = (uint8_t)label;
        memcpy(buf + off, p, label);
        off += label;
        p += label + (dot != NULL);
    }
    buf[off++] = 0;
    dns_put16(buf + off, qtype);
    dns_put16(buf + off + 2, DNS_CLASS_IN);
    return off + 4;
}

/* Reads the (possibly compressed) name at *off as lower-case text and
 * moves *off past it. */
static int dns_name_read(const uint8_t *m, size_t len, size_t *off, char *out, size_t cap)
{
    size_t p = *off, n = 0;
    unsigned jumps = 0;
    for (;;) {
        if (p >= len)
            return -1;
        uint8_t c = m[p];
        if ((c & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++jumps > DNS_MAX_JUMPS)
                return -1;
            if (jumps == 1)
                *off = p + 2;
            p = (size_t)(c & 0x3f) << 8 | m[p + 1];
            continue;
        }
        if (c == 0)
            break;
        if ((c & 0xc0) != 0 || p + 1 + c > len || n + c + 2 > cap)
            return -1;
        if (n > 0)
            out[n++] = '.';
        for (size_t i = 0; i < c; i++)
            out[n++] = (char)tolower(m[p + 1 + i]);
        p += 1 + (size_t)c;
    }
    if (jumps == 0)
        *off = p + 1;
    out[n] = '\0';
    return 0;
}

/* The question must be the one asked: an answer to anything else is not
 * ours, whatever its id. */
static int dns_question_check(const uint8_t *m, size_t len, size_t *off, const char *name,
                              uint16_t qtype)
{
    char qname[DNS_NAME_MAX];
    if (dns_name_read(m, len, off, qname, sizeof(qname)) < 0 || *off + 4 > len)
        return -1;
    if (strcmp(qname, name) != 0 || dns_get16(m + *off) != qtype ||
        dns_get16(m + *off + 2) != DNS_CLASS_IN)
        return -1;
    *off += 4;
    return 0;
}

/* The names an address may be recorded under: the name asked for, then
 * each CNAME target in turn. */
struct dns_chain {
    char names[DNS_MAX_CNAMES + 1][DNS_NAME_MAX]; /* [0] is the name asked for */
    size_t n;                                     /* how many */
};

static bool dns_chain_has(const struct dns_chain *c, const char *owner)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->names[i], owner) == 0)
            return true;
    return false;
}

/* One resource record, as far as an A/AAAA lookup cares. */
struct dns_rr {
    char owner[DNS_NAME_MAX]; /* its name */
    uint16_t type;            /* A, AAAA, CNAME, ... */
    uint16_t class;           /* IN */
    uint32_t ttl;             /* seconds */
    size_t rdata;             /* offset of its data */
    uint16_t rdlen;           /* length of its data */
};

static int dns_rr_read(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr)
{
    if (dns_name_read(m, len, off, rr->owner, sizeof(rr->owner)) < 0 || *off + 10 > len)
        return -1;
    rr->type = dns_get16(m + *off);
    rr->class = dns_get16(m + *off + 2);
    rr->ttl = dns_get32(m + *off + 4);
    if (rr->ttl > 0x7fffffffu) /* RFC 2181: treat as zero */
        rr->ttl = 0;
    rr->rdlen = dns_get16(m + *off + 8);
    rr->rdata = *off + 10;
    if (rr->rdata + rr->rdlen > len)
        return -1;
    *off = rr->rdata + rr->rdlen;
    return 0;
}

static void dns_add_addr(struct dns_answer *out, const struct dns_rr *rr, const uint8_t *m)
{
    union sockaddr_any *a = &out->addrs[out->naddrs];
    if (out->naddrs == DNS_MAX_ADDRS)
        return;
    memset(a, 0, sizeof(*a));
    if (rr->type == DNS_TYPE_A && rr->rdlen == 4) {
        a->sin.sin_family = AF_INET;
        memcpy(&a->sin.sin_addr, m + rr->rdata, 4);
    } else if (rr->type == DNS_TYPE_AAAA && rr->rdlen == 16) {
        a->sin6.sin6_family = AF_INET6;
        memcpy(&a->sin6.sin6_addr, m + rr->rdata, 16);
    } else {
        return;
    }
    out->naddrs++;
}

static void dns_ttl_use(struct dns_answer *out, uint32_t ttl, bool *first)
{
    if (*first || ttl < out->ttl)
        out->ttl = ttl;
    *first = false;
}

/* Walks the answer section: CNAMEs extend the chain, addresses of the
 * asked type recorded under a name of the chain are kept. */
static int dns_answers_read(const uint8_t *m, size_t len, size_t off, unsigned count,
                            const char *name, uint16_t qtype, struct dns_answer *out)
{
    struct dns_chain chain;
    bool first = true;
    snprintf(chain.names[0], sizeof(chain.names[0]), "%s", name);
    chain.n = 1;
    for (unsigned i = 0; i < count; i++) {
        struct dns_rr rr;
        if (dns_rr_read(m, len, &off, &rr) < 0)
            return -1;
        if (rr.class != DNS_CLASS_IN || !dns_chain_has(&chain, rr.owner))
            continue;
        if (rr.type == DNS_TYPE_CNAME && chain.n <= DNS_MAX_CNAMES) {
            size_t at = rr.rdata;
            if (dns_name_read(m, len, &at, chain.names[chain.n], DNS_NAME_MAX) < 0)
                return -1;
            chain.n++;
            dns_ttl_use(out, rr.ttl, &first);
        } else if (rr.type == qtype) {
            dns_add_addr(out, &rr, m);
            dns_ttl_use(out, rr.ttl, &first);
        }
    }
    if (out->naddrs == 0 && chain.n > 1)
        snprintf(out->cname, sizeof(out->cname), "%s", chain.names[chain.n - 1]);
    return 0;
}

int dns_answer_parse(const uint8_t *msg, size_t len, uint16_t id, const char *name, uint16_t qtype,
                     struct dns_answer *out)
{
    if (len < DNS_HEADER || dns_get16(msg) != id)
        return -1;
    uint16_t flags = dns_get16(msg + 2);
    unsigned qd = dns_get16(msg + 4), an = dns_get16(msg + 6);
    if (!(flags & DNS_FLAG_QR))
        return -1;
    out->naddrs = 0;
    out->ttl = 0;
    out->cname[0] = '\0';
    out->status = flags & 0xf;
    out->truncated = (flags & DNS_FLAG_TC) != 0;
    /* A server refusing a query may leave the question out. */
    if (qd == 0 && out->status != DNS_OK)
        return 0;
    size_t off = DNS_HEADER;
    if (qd != 1 || dns_question_check(msg, len, &off, name, qtype) < 0)
        return -1;
    if (out->status != DNS_OK || out->truncated)
        return 0;
    return dns_answers_read(msg, len, off, an, name, qtype, out);
}
