/* dns_fake.h - a DNS server for the unit tests, on 127.0.0.1 (UDP and TCP
 * on one port), answering from a table the test controls, on a thread of
 * its own.  Header-only: test_dns and test_resolver include it. */
#ifndef TP_TEST_DNS_FAKE_H
#define TP_TEST_DNS_FAKE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/sockaddr.h"

#define FAKE_MAX_RECS 32

/* One record of the table: name TYPE value, or an rcode for the name. */
struct fake_rec {
    char name[64];  /* owner, lower case */
    uint16_t type;  /* 1 A, 5 CNAME, 28 AAAA; 0: answer rcode instead */
    char value[64]; /* address text or CNAME target */
    uint32_t ttl;   /* seconds */
    int rcode;      /* type 0: the rcode for every question on name */
};

struct fake_dns {
    int udp;                             /* bound UDP socket */
    int tcp;                             /* listening TCP socket, same port */
    unsigned port;                       /* the port both use */
    int stop[2];                         /* pipe: the thread exits when readable */
    pthread_t thread;                    /* serves both sockets */
    pthread_mutex_t lock;                /* guards recs, nrecs and the flags */
    struct fake_rec recs[FAKE_MAX_RECS]; /* the table */
    size_t nrecs;                        /* how many */
    bool silent;                         /* read queries, never answer */
    bool truncate;                       /* UDP answers carry TC and no records */
    atomic_uint udp_queries;             /* questions seen over UDP */
    atomic_uint tcp_queries;             /* questions seen over TCP */
};

static inline void fake_add(struct fake_dns *f, const char *name, uint16_t type, const char *value,
                            uint32_t ttl)
{
    pthread_mutex_lock(&f->lock);
    struct fake_rec *r = &f->recs[f->nrecs++];
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->type = type;
    snprintf(r->value, sizeof(r->value), "%s", value);
    r->ttl = ttl;
    r->rcode = 0;
    pthread_mutex_unlock(&f->lock);
}

static inline void fake_rcode(struct fake_dns *f, const char *name, int rcode)
{
    pthread_mutex_lock(&f->lock);
    struct fake_rec *r = &f->recs[f->nrecs++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->rcode = rcode;
    pthread_mutex_unlock(&f->lock);
}

static inline void fake_clear(struct fake_dns *f)
{
    pthread_mutex_lock(&f->lock);
    f->nrecs = 0;
    pthread_mutex_unlock(&f->lock);
}

static inline void fake_set(struct fake_dns *f, bool *flag, bool on)
{
    pthread_mutex_lock(&f->lock);
    *flag = on;
    pthread_mutex_unlock(&f->lock);
}

/* Writes a name uncompressed; returns the new offset. */
static size_t fake_put_name(uint8_t *out, size_t off, const char *name)
{
    for (const char *p = name; *p != '\0';) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        out[off++] = (uint8_t)n;
        memcpy(out + off, p, n);
        off += n;
        p += n + (dot != NULL);
    }
    out[off++] = 0;
    return off;
}

static size_t fake_put_rr(uint8_t *out, size_t off, const struct fake_rec *r, bool compress)
{
    if (compress) {
        out[off++] = 0xc0; /* the question's name, at offset 12 */
        out[off++] = 12;
    } else {
        off = fake_put_name(out, off, r->name);
    }
    uint8_t rd[64];
    size_t rdlen;
    if (r->type == 1)
        rdlen = inet_pton(AF_INET, r->value, rd) == 1 ? 4 : 0;
    else if (r->type == 28)
        rdlen = inet_pton(AF_INET6, r->value, rd) == 1 ? 16 : 0;
    else
        rdlen = fake_put_name(rd, 0, r->value);
    uint8_t fixed[10] = {0,
                         (uint8_t)r->type,
                         0,
                         1,
                         (uint8_t)(r->ttl >> 24),
                         (uint8_t)(r->ttl >> 16),
                         (uint8_t)(r->ttl >> 8),
                         (uint8_t)r->ttl,
                         0,
                         (uint8_t)rdlen};
    memcpy(out + off, fixed, 10);
    memcpy(out + off + 10, rd, rdlen);
    return off + 10 + rdlen;
}

/* Reads the question name (uncompressed, as clients send it). */
static size_t fake_qname(const uint8_t *q, size_t len, char *name, size_t cap)
{
    size_t off = 12, n = 0;
    while (off < len && q[off] != 0 && n + q[off] + 2 < cap) {
        if (n > 0)
            name[n++] = '.';
        memcpy(name + n, q + off + 1, q[off]);
        n += q[off];
        off += 1 + (size_t)q[off];
    }
    name[n] = '\0';
    return off + 1;
}

/* Follows the table's CNAMEs from the question as a recursive server
 * would, adding each record on the way. */
static size_t fake_answer(struct fake_dns *f, const uint8_t *q, size_t qlen, uint8_t *out, bool udp)
{
    char name[256];
    size_t qend = fake_qname(q, qlen, name, sizeof(name));
    if (qend + 4 > qlen)
        return 0;
    uint16_t qtype = (uint16_t)(q[qend] << 8 | q[qend + 1]);
    memcpy(out, q, qend + 4);
    out[2] = 0x81; /* QR, RD */
    out[3] = 0x80; /* RA */
    out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
    size_t off = qend + 4;
    unsigned an = 0;
    pthread_mutex_lock(&f->lock);
    if (udp && f->truncate) {
        out[2] |= 0x02;
        pthread_mutex_unlock(&f->lock);
        return off;
    }
    char cur[256];
    snprintf(cur, sizeof(cur), "%s", name);
    for (int hops = 0; hops < 10; hops++) {
        bool moved = false;
        for (size_t i = 0; i < f->nrecs; i++) {
            const struct fake_rec *r = &f->recs[i];
            if (strcasecmp(r->name, cur) != 0)
                continue;
            if (r->type == 0) {
                out[3] |= (uint8_t)r->rcode;
                pthread_mutex_unlock(&f->lock);
                return off;
            }
            if (r->type != qtype && r->type != 5)
                continue;
            off = fake_put_rr(out, off, r, hops == 0);
            an++;
            if (r->type == 5) {
                snprintf(cur, sizeof(cur), "%s", r->value);
                moved = true;
                break;
            }
        }
        if (!moved)
            break;
    }
    pthread_mutex_unlock(&f->lock);
    out[7] = (uint8_t)an;
    return off;
}

static void fake_serve_udp(struct fake_dns *f)
{
    uint8_t q[512], out[2048];
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    ssize_t n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
    if (n < 12)
        return;
    atomic_fetch_add(&f->udp_queries, 1);
    pthread_mutex_lock(&f->lock);
    bool silent = f->silent;
    pthread_mutex_unlock(&f->lock);
    if (silent)
        return;
    size_t len = fake_answer(f, q, (size_t)n, out, true);
    if (len > 0)
        sendto(f->udp, out, len, 0, (struct sockaddr *)&from, flen);
}

static void fake_serve_tcp(struct fake_dns *f)
{
    uint8_t q[514], out[2050];
    int c = accept(f->tcp, NULL, NULL);
    if (c < 0)
        return;
    ssize_t n = recv(c, q, 2, MSG_WAITALL);
    size_t qlen = n == 2 ? (size_t)(q[0] << 8 | q[1]) : 0;
    if (n == 2 && qlen + 2 <= sizeof(q) && recv(c, q + 2, qlen, MSG_WAITALL) == (ssize_t)qlen) {
        atomic_fetch_add(&f->tcp_queries, 1);
        size_t len = fake_answer(f, q + 2, qlen, out + 2, false);
        out[0] = (uint8_t)(len >> 8);
        out[1] = (uint8_t)len;
        send(c, out, len + 2, MSG_NOSIGNAL);
    }
    close(c);
}

static void *fake_main(void *arg)
{
    struct fake_dns *f = arg;
    for (;;) {
        struct pollfd p[3] = {{f->udp, POLLIN, 0}, {f->tcp, POLLIN, 0}, {f->stop[0], POLLIN, 0}};
        if (poll(p, 3, -1) < 0)
            continue;
        if (p[2].revents)
            return NULL;
        if (p[0].revents)
            fake_serve_udp(f);
        if (p[1].revents)
            fake_serve_tcp(f);
    }
}

/* Binds UDP on a free port, then TCP on the same one (trying again when
 * something else holds that TCP port). */
static int fake_bind(struct fake_dns *f)
{
    for (int tries = 0; tries < 50; tries++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        f->udp = socket(AF_INET, SOCK_DGRAM, 0);
        f->tcp = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
        if (bind(f->udp, (struct sockaddr *)&a, sizeof(a)) == 0 &&
            getsockname(f->udp, (struct sockaddr *)&a, &alen) == 0 &&
            bind(f->tcp, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(f->tcp, 16) == 0) {
            f->port = ntohs(a.sin_port);
            return 0;
        }
        close(f->udp);
        close(f->tcp);
    }
    return -1;
}

static int fake_start(struct fake_dns *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    if (fake_bind(f) < 0 || pipe(f->stop) < 0)
        return -1;
    return pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(struct fake_dns *f)
{
    (void)!write(f->stop[1], "x", 1);
    pthread_join(f->thread, NULL);
    close(f->udp);
    close(f->tcp);
    close(f->stop[0]);
    close(f->stop[1]);
    pthread_mutex_destroy(&f->lock);
}

/* 127.0.0.1:port as a server address. */
static union sockaddr_any fake_addr(unsigned port)
{
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    a.sin.sin_family = AF_INET;
    a.sin.sin_port = htons((uint16_t)port);
    a.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

#endif
