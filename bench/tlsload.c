/* tlsload.c - a TLS load client for bench/run (OpenSSL, one thread, epoll).
 *
 * wrk speaks TLS but cannot force TLS 1.2, resume sessions or open a new
 * connection per request on purpose, and Python is too slow to load a
 * server with handshakes.  This client keeps -c connections busy in one of
 * three modes and reports requests/s and latency percentiles:
 *
 *   ka      keep-alive: requests one after another on each connection
 *   new     a full handshake per request (Connection: close)
 *   resume  a new connection per request resuming the last session
 *           (tickets, or session IDs with -T)
 *
 *   tlsload -p PORT [-c CONNS] [-d SECONDS] [-m ka|new|resume] [-v 1.2|1.3]
 *           [-u PATH] [-w GAP_US] [-T] [-s SNI] [-e BYTES]
 *
 * -e BYTES speaks to a TCP echo service instead of HTTP (the stream
 * benchmark): a "request" is BYTES bytes (at most 512), its response the
 * same bytes back.
 *
 * -w makes each connection wait GAP_US between a response and its next
 * request (a light probe beside a flood).  Output is one line of
 * key=value pairs: requests, rps, p50_ms, p99_ms, max_ms, errors,
 * resumed (handshakes that resumed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum mode { M_KA, M_NEW, M_RESUME };

enum step { ST_CONNECT, ST_HANDSHAKE, ST_WRITE, ST_READ, ST_WAIT };

struct conn {
    int fd;              /* the socket, -1 between connections */
    SSL *ssl;            /* its TLS */
    enum step step;      /* where it is */
    double sent;         /* when the request went */
    double wake;         /* ST_WAIT: when to send again */
    char buf[16384];     /* the response so far */
    size_t have;         /* bytes in buf */
    size_t want;         /* head + Content-Length, once known */
    SSL_SESSION *sess;   /* the session to resume */
};

static struct {
    int port;                  /* the server's */
    int nconns;                /* -c */
    double duration;           /* -d */
    enum mode mode;            /* -m */
    int version;               /* TLS1_2_VERSION or TLS1_3_VERSION, 0 = any */
    const char *path;          /* -u */
    const char *sni;           /* -s */
    long gap_us;               /* -w */
    bool no_tickets;           /* -T */
    SSL_CTX *ctx;              /* the client's */
    int ep;                    /* epoll */
    char req[512];             /* the request */
    size_t echo;               /* -e: bytes of an echo round trip, 0 = HTTP */
    size_t reqlen;             /* its length */
    double *lat;               /* latencies, ms */
    size_t nlat, caplat;       /* how many, room */
    long errors;               /* failed connections or requests */
    long resumed;              /* handshakes that resumed */
} L = {.nconns = 16, .duration = 10, .path = "/1k.bin", .sni = "bench.test"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record(double ms)
{
    if (L.nlat == L.caplat) {
        L.caplat = L.caplat ? L.caplat * 2 : 1 << 16;
        L.lat = realloc(L.lat, L.caplat * sizeof(*L.lat));
        if (L.lat == NULL)
            abort();
    }
    L.lat[L.nlat++] = ms;
}

static void watch(struct conn *c, unsigned events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(L.ep, op, c->fd, &ev);
}

static void drop(struct conn *c, bool failed)
{
    if (failed)
        L.errors++;
    if (c->ssl != NULL) {
        if (L.mode == M_RESUME && !failed) {
            SSL_SESSION *s = SSL_get1_session(c->ssl);
            if (s != NULL) {
                SSL_SESSION_free(c->sess);
                c->sess = s;
            }
        }
        /* A connection freed without a shutdown makes OpenSSL mark its
         * session unresumable; a quiet one sends nothing. */
        SSL_set_quiet_shutdown(c->ssl, 1);
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd); /* epoll forgets it */
    c->fd = -1;
}

static void open_conn(struct conn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)L.port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->ssl = SSL_new(L.ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, L.sni);
    if (L.mode == M_RESUME && c->sess != NULL)
        SSL_set_session(c->ssl, c->sess);
    c->step = ST_CONNECT;
    c->sent = now();
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        drop(c, true);
        return;
    }
    watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* A response is whole once its head and Content-Length bytes are in. */
static bool response_done(struct conn *c)
{
    if (L.echo > 0)
        return c->have >= L.echo;
    if (c->want == 0) {
        char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
        if (end == NULL)
            return false;
        char *cl = memmem(c->buf, (size_t)(end - c->buf), "Content-Length: ", 16);
        c->want = (size_t)(end + 4 - c->buf) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
    }
    return c->have >= c->want;
}

static void send_request(struct conn *c)
{
    c->step = ST_WRITE;
    c->have = c->want = 0;
    if (c->ssl == NULL)
        return;
    int n = SSL_write(c->ssl, L.req, (int)L.reqlen);
    if (n > 0) {
        c->step = ST_READ;
        watch(c, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        watch(c, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    else
        drop(c, true);
}

static void handshake(struct conn *c)
{
    int n = SSL_connect(c->ssl);
    if (n == 1) {
        if (SSL_session_reused(c->ssl))
            L.resumed++;
        /* A keep-alive request's latency leaves the handshake out; a new
         * connection's counts from connect() (set in open_conn). */
        if (L.mode == M_KA)
            c->sent = now();
        send_request(c);
        return;
    }
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        watch(c, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    else
        drop(c, true);
}

static void next(struct conn *c, double t)
{
    record((t - c->sent) * 1000.0);
    if (L.mode != M_KA) {
        drop(c, false);
        open_conn(c);
        return;
    }
    if (L.gap_us > 0) {
        c->step = ST_WAIT;
        c->wake = t + (double)L.gap_us / 1e6;
        watch(c, 0, EPOLL_CTL_MOD);
        return;
    }
    c->sent = t;
    send_request(c);
}

static void read_response(struct conn *c)
{
    for (;;) {
        int n = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof(c->buf) - c->have));
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                return;
            drop(c, true);
            open_conn(c);
            return;
        }
        c->have += (size_t)n;
        if (response_done(c)) {
            next(c, now());
            return;
        }
        if (c->have == sizeof(c->buf)) /* big bodies: count, do not keep */
            c->want -= c->have, c->have = 0;
    }
}

static void on_event(struct conn *c)
{
    if (c->fd < 0)
        return;
    switch (c->step) {
    case ST_CONNECT:
        c->step = ST_HANDSHAKE;
        /* fall through */
    case ST_HANDSHAKE:
        handshake(c);
        break;
    case ST_WRITE:
        send_request(c);
        break;
    case ST_READ:
        read_response(c);
        break;
    case ST_WAIT:
        break;
    }
}

static void wake_waiting(struct conn *cs, double t)
{
    for (int i = 0; i < L.nconns; i++)
        if (cs[i].step == ST_WAIT && cs[i].wake <= t) {
            cs[i].sent = t;
            send_request(&cs[i]);
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(double elapsed)
{
    qsort(L.lat, L.nlat, sizeof(*L.lat), cmp_double);
    double p50 = L.nlat ? L.lat[L.nlat / 2] : 0, p99 = L.nlat ? L.lat[L.nlat * 99 / 100] : 0;
    double max = L.nlat ? L.lat[L.nlat - 1] : 0;
    printf("requests=%zu rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%ld resumed=%ld\n",
           L.nlat, (double)L.nlat / elapsed, p50, p99, max, L.errors, L.resumed);
}

static void setup_ctx(void)
{
    L.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(L.ctx, SSL_VERIFY_NONE, NULL);
    if (L.version) {
        SSL_CTX_set_min_proto_version(L.ctx, L.version);
        SSL_CTX_set_max_proto_version(L.ctx, L.version);
    }
    if (L.no_tickets)
        SSL_CTX_set_options(L.ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(L.ctx, SSL_SESS_CACHE_CLIENT);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(L.ctx, alpn, sizeof(alpn) - 1);
    L.reqlen = (size_t)snprintf(L.req, sizeof(L.req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                                L.path, L.sni, L.mode == M_KA ? "" : "Connection: close\r\n");
    if (L.echo > 0) {
        memset(L.req, 'x', L.echo);
        L.reqlen = L.echo;
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: tlsload -p PORT [-c CONNS] [-d SECONDS] [-m ka|new|resume] "
                    "[-v 1.2|1.3] [-u PATH] [-w GAP_US] [-T] [-s SNI]\n");
    return 2;
}

static int parse(int argc, char **argv)
{
    int o;
    while ((o = getopt(argc, argv, "p:c:d:m:v:u:w:Ts:e:")) != -1) {
        switch (o) {
        case 'p': L.port = atoi(optarg); break;
        case 'c': L.nconns = atoi(optarg); break;
        case 'd': L.duration = atof(optarg); break;
        case 'm': L.mode = !strcmp(optarg, "new") ? M_NEW : !strcmp(optarg, "resume") ? M_RESUME : M_KA; break;
        case 'v': L.version = !strcmp(optarg, "1.2") ? TLS1_2_VERSION : TLS1_3_VERSION; break;
        case 'u': L.path = optarg; break;
        case 'w': L.gap_us = atol(optarg); break;
        case 'T': L.no_tickets = true; break;
        case 's': L.sni = optarg; break;
        case 'e': L.echo = (size_t)atol(optarg); L.echo = L.echo > 512 ? 512 : L.echo; break;
        default: return -1;
        }
    }
    return L.port > 0 && L.nconns > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (parse(argc, argv) < 0)
        return usage();
    setup_ctx();
    L.ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)L.nconns, sizeof(*cs));
    for (int i = 0; i < L.nconns; i++)
        open_conn(&cs[i]);
    double start = now(), end = start + L.duration;
    struct epoll_event evs[256];
    for (double t = start; t < end; t = now()) {
        int n = epoll_wait(L.ep, evs, 256, L.gap_us > 0 ? 1 : 100);
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr);
        if (L.gap_us > 0)
            wake_waiting(cs, now());
    }
    report(now() - start);
    return 0;
}
