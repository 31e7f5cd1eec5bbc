/* dns_lookup.c - one blocking lookup, on a pool thread: the questions go
 * over UDP to one server after another (nginx's resend), a truncated
 * answer is asked again over TCP, and a CNAME without addresses is
 * followed.  Every wait also watches the cancel descriptor, so a worker
 * that stops never waits for a DNS server that does not answer. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/dns.h"

#define DNS_MAX_SERVERS 16 /* sockets one lookup keeps open */
#define DNS_QUERY_MAX 300  /* header, longest name, type and class */
#define DNS_TCP_MAX 65535  /* a TCP answer's largest length */

/* One question of the lookup (A or AAAA) and, once done, its answer. */
struct dns_query {
    uint16_t qtype;             /* DNS_TYPE_A or DNS_TYPE_AAAA */
    uint16_t id;                /* random, matched against the answer */
    bool done;                  /* answered */
    uint8_t msg[DNS_QUERY_MAX]; /* the query as sent */
    size_t len;                 /* its length */
    struct dns_answer ans;      /* the answer once done */
};

/* One exchange: the questions for one name, and a socket per server. */
struct dns_round {
    const struct dns_lookup *q; /* the lookup it is part of */
    const char *name;           /* the name asked for in this round */
    long deadline;              /* monotonic ms when the lookup gives up */
    struct dns_query qs[2];     /* A and/or AAAA */
    size_t nq;                  /* how many */
    int fd[DNS_MAX_SERVERS];    /* connected UDP sockets, -1 until used */
};

static long dns_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ids are random, so an off-path sender must guess them (with the port,
 * which the kernel picks at random too). */
static uint16_t dns_random_id(void)
{
    uint16_t id;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
        id = (uint16_t)((unsigned long)dns_now_ms() * 2654435761u >> 11);
    return id;
}

static size_t dns_round_servers(const struct dns_round *rd)
{
    return rd->q->nservers < DNS_MAX_SERVERS ? rd->q->nservers : DNS_MAX_SERVERS;
}

static int dns_round_init(struct dns_round *rd, const struct dns_lookup *q, const char *name,
                          long deadline)
{
    static const uint16_t types[2] = {DNS_TYPE_A, DNS_TYPE_AAAA};
    const bool want[2] = {q->ipv4, q->ipv6};
    rd->q = q;
    rd->name = name;
    rd->deadline = deadline;
    rd->nq = 0;
    for (size_t i = 0; i < DNS_MAX_SERVERS; i++)
        rd->fd[i] = -1;
    for (size_t i = 0; i < 2; i++) {
        struct dns_query *qq = &rd->qs[rd->nq];
        if (!want[i])
            continue;
        qq->qtype = types[i];
        qq->id = dns_random_id();
        qq->done = false;
        qq->len = dns_query_build(qq->msg, sizeof(qq->msg), qq->id, name, qq->qtype);
        if (qq->len == 0)
            return -1;
        rd->nq++;
    }
    return 0;
}

static void dns_round_close(struct dns_round *rd)
{
    for (size_t i = 0; i < DNS_MAX_SERVERS; i++)
        if (rd->fd[i] >= 0)
            close(rd->fd[i]);
}

static bool dns_round_done(const struct dns_round *rd)
{
    for (size_t i = 0; i < rd->nq; i++)
        if (!rd->qs[i].done)
            return false;
    return true;
}

/* ---- TCP, for truncated answers ----------------------------------------- */

/* Waits until fd is ready for `events`; -1 on the deadline or a cancel. */
static int dns_poll_one(int fd, short events, long deadline, int cancel_fd)
{
    for (;;) {
        long left = deadline - dns_now_ms();
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = cancel_fd, .events = POLLIN}};
        if (left <= 0)
            return -1;
        int n = poll(p, cancel_fd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0 && cancel_fd >= 0 && p[1].revents != 0)
            return -1;
        if (n > 0 && p[0].revents != 0)
            return 0;
    }
}

static int dns_tcp_io(int fd, uint8_t *buf, size_t len, bool writing, const struct dns_round *rd)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = writing ? send(fd, buf + done, len - done, MSG_NOSIGNAL)
                            : recv(fd, buf + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
        if (dns_poll_one(fd, writing ? POLLOUT : POLLIN, rd->deadline, rd->q->cancel_fd) < 0)
            return -1;
    }
    return 0;
}

static int dns_tcp_connect(const union sockaddr_any *srv, const struct dns_round *rd)
{
    int fd = socket(srv->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int err = 0;
    socklen_t elen = sizeof(err);
    if (fd < 0)
        return -1;
    if (connect(fd, &srv->sa, sockaddr_len(srv)) == 0)
        return fd;
    if (errno == EINPROGRESS && dns_poll_one(fd, POLLOUT, rd->deadline, rd->q->cancel_fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
        return fd;
    close(fd);
    return -1;
}

/* Asks qq again over TCP (two length bytes, then the message); the query
 * stays unanswered if that fails, and the UDP resends go on. */
static void dns_tcp_ask(struct dns_round *rd, size_t server, struct dns_query *qq)
{
    uint8_t len[2] = {(uint8_t)(qq->len >> 8), (uint8_t)qq->len};
    uint8_t *buf = malloc(DNS_TCP_MAX);
    int fd = buf != NULL ? dns_tcp_connect(&rd->q->servers[server], rd) : -1;
    struct dns_answer ans;
    if (fd >= 0 && dns_tcp_io(fd, len, 2, true, rd) == 0 &&
        dns_tcp_io(fd, qq->msg, qq->len, true, rd) == 0 && dns_tcp_io(fd, len, 2, false, rd) == 0) {
        size_t n = (size_t)len[0] << 8 | len[1];
        if (dns_tcp_io(fd, buf, n, false, rd) == 0 &&
            dns_answer_parse(buf, n, qq->id, rd->name, qq->qtype, &ans) == 0) {
            qq->ans = ans;
            qq->done = true;
        }
    }
    if (fd >= 0)
        close(fd);
    free(buf);
}

/* ---- UDP ------------------------------------------------------------------- */

static void dns_send_all(struct dns_round *rd, size_t server)
{
    if (rd->fd[server] < 0) {
        const union sockaddr_any *srv = &rd->q->servers[server];
        int fd = socket(srv->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        /* Connected: the kernel drops datagrams from anyone else, and a
         * port that is closed shows as ECONNREFUSED. */
        if (fd >= 0 && connect(fd, &srv->sa, sockaddr_len(srv)) < 0) {
            close(fd);
            fd = -1;
        }
        rd->fd[server] = fd;
    }
    for (size_t i = 0; rd->fd[server] >= 0 && i < rd->nq; i++)
        if (!rd->qs[i].done)
            (void)send(rd->fd[server], rd->qs[i].msg, rd->qs[i].len, MSG_NOSIGNAL);
}

static void dns_take(struct dns_round *rd, size_t server, const uint8_t *msg, size_t len)
{
    for (size_t i = 0; i < rd->nq; i++) {
        struct dns_query *qq = &rd->qs[i];
        struct dns_answer ans;
        if (qq->done || dns_answer_parse(msg, len, qq->id, rd->name, qq->qtype, &ans) < 0)
            continue;
        if (ans.truncated) {
            dns_tcp_ask(rd, server, qq);
            return;
        }
        qq->ans = ans;
        qq->done = true;
        return;
    }
}

/* Reads every datagram waiting on a server's socket. */
static void dns_receive(struct dns_round *rd, size_t server)
{
    uint8_t buf[DNS_UDP_MAX * 2];
    for (;;) {
        ssize_t n = recv(rd->fd[server], buf, sizeof(buf), 0);
        if (n >= 0) {
            dns_take(rd, server, buf, (size_t)n);
            continue;
        }
        if (errno != EAGAIN && errno != EINTR) {
            /* Nobody listens there (ICMP): try it again on its next turn. */
            close(rd->fd[server]);
            rd->fd[server] = -1;
        }
        return;
    }
}

/* Waits for answers on every socket opened so far until `until`.  1 when
 * no socket is left open (every server asked refused), -1 if canceled. */
static int dns_wait(struct dns_round *rd, long until)
{
    size_t nsrv = dns_round_servers(rd);
    while (!dns_round_done(rd)) {
        struct pollfd p[DNS_MAX_SERVERS + 1];
        size_t map[DNS_MAX_SERVERS], np = 0;
        long left = until - dns_now_ms();
        if (left <= 0)
            return 0;
        for (size_t i = 0; i < nsrv; i++)
            if (rd->fd[i] >= 0) {
                map[np] = i;
                p[np++] = (struct pollfd){.fd = rd->fd[i], .events = POLLIN};
            }
        if (np == 0)
            return 1;
        p[np] = (struct pollfd){.fd = rd->q->cancel_fd, .events = POLLIN};
        int n = poll(p, np + (rd->q->cancel_fd >= 0), (int)left);
        if (n < 0 && errno != EINTR)
            return 0;
        if (n > 0 && rd->q->cancel_fd >= 0 && p[np].revents != 0)
            return -1;
        for (size_t i = 0; n > 0 && i < np; i++)
            if (p[i].revents != 0)
                dns_receive(rd, map[i]);
    }
    return 0;
}

/* Sits out a turn (every server refused): only a cancel ends it early. */
static int dns_pause(struct dns_round *rd, long until)
{
    long left = until - dns_now_ms();
    struct pollfd p = {.fd = rd->q->cancel_fd, .events = POLLIN};
    if (left > 0 && poll(&p, rd->q->cancel_fd >= 0, (int)left) > 0)
        return -1;
    return 0;
}

/* Asks one server after another, a turn each, until every question has
 * its answer or the deadline passes.  Sockets stay open, so a late answer
 * from an earlier server still counts; a server that refuses (ICMP) ends
 * its turn at once, and when all have, the next turn is waited out. */
static int dns_exchange(struct dns_round *rd)
{
    size_t nsrv = dns_round_servers(rd), refused = 0;
    size_t server = rd->q->first % nsrv;
    long turn = rd->q->resend_ms > 0 ? rd->q->resend_ms : DNS_RESEND_MS;
    while (!dns_round_done(rd)) {
        long now = dns_now_ms();
        if (now >= rd->deadline)
            return DNS_TIMEDOUT;
        long until = now + turn < rd->deadline ? now + turn : rd->deadline;
        int rc;
        if (refused >= nsrv) {
            rc = dns_pause(rd, until);
            refused = 0;
        } else {
            dns_send_all(rd, server);
            rc = dns_wait(rd, until);
            refused = rc == 1 ? refused + 1 : 0;
        }
        if (rc < 0)
            return DNS_ERROR;
        server = (server + 1) % nsrv;
    }
    return DNS_OK;
}

/* ---- the lookup ----------------------------------------------------------- */

/* Both questions' answers as one: addresses from either; else the first
 * error; else a CNAME to follow; else nginx's "Host not found". */
static void dns_combine(const struct dns_round *rd, struct dns_answer *out)
{
    int err = DNS_OK;
    bool ttl_set = false;
    out->naddrs = 0;
    out->cname[0] = '\0';
    for (size_t i = 0; i < rd->nq; i++) {
        const struct dns_answer *a = &rd->qs[i].ans;
        if (!rd->qs[i].done)
            continue;
        if (a->status != DNS_OK && err == DNS_OK)
            err = a->status;
        for (size_t j = 0; j < a->naddrs && out->naddrs < DNS_MAX_ADDRS; j++)
            out->addrs[out->naddrs++] = a->addrs[j];
        if (a->status == DNS_OK && (!ttl_set || a->ttl < out->ttl) && (a->naddrs || a->cname[0])) {
            out->ttl = a->ttl;
            ttl_set = true;
        }
        if (a->naddrs == 0 && a->cname[0] != '\0')
            snprintf(out->cname, sizeof(out->cname), "%s", a->cname);
    }
    if (out->naddrs > 0)
        out->status = DNS_OK;
    else if (err != DNS_OK)
        out->status = err;
    else
        out->status = out->cname[0] != '\0' ? DNS_OK : DNS_NXDOMAIN;
}

int dns_lookup_run(const struct dns_lookup *q, struct dns_answer *out)
{
    char name[DNS_NAME_MAX];
    long deadline = dns_now_ms() + q->timeout_ms;
    uint32_t ttl = UINT32_MAX;
    snprintf(name, sizeof(name), "%s", q->name);
    for (unsigned depth = 0;; depth++) {
        struct dns_round rd;
        int rc = dns_round_init(&rd, q, name, deadline) < 0 ? DNS_FORMERR : dns_exchange(&rd);
        dns_round_close(&rd);
        if (rc != DNS_OK && rc != DNS_TIMEDOUT) {
            out->status = rc;
            out->naddrs = 0;
            return rc;
        }
        dns_combine(&rd, out);
        if (rc == DNS_TIMEDOUT && out->naddrs == 0)
            out->status = DNS_TIMEDOUT;
        if (out->status == DNS_OK && out->ttl < ttl)
            ttl = out->ttl;
        if (out->status != DNS_OK || out->naddrs > 0)
            break;
        /* Only a CNAME: ask for its target, as nginx does (to a limit). */
        if (depth == DNS_MAX_CNAMES) {
            out->status = DNS_NXDOMAIN;
            break;
        }
        snprintf(name, sizeof(name), "%s", out->cname);
    }
    out->ttl = out->status == DNS_OK ? ttl : 0;
    return out->status;
}
