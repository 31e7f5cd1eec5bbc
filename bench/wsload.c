/* wsload.c - WebSocket load for bench/run's proxy scenarios (epoll, one
 * thread, no library).
 *
 *   wsload echo PORT             an upstream: answers an upgrade request
 *                                with a 101, then echoes every byte
 *   wsload load PORT CONNS SECS  CONNS tunnels through PORT/ws, each
 *                                sending a 64-byte masked text frame and
 *                                waiting for its echo, again and again;
 *                                prints tlsload's key=value line
 *   wsload idle PORT CONNS       CONNS tunnels, one round trip each, then
 *                                "ready N" and idle until stdin closes
 *                                or a line arrives
 *
 * The echo side returns the client's frames as they came (masked): the
 * proxy relays bytes after the 101 and never looks at frames, so this
 * measures the relay, not a WebSocket library.  The key is the RFC's
 * sample; its accept value is fixed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define FRAME (2 + 4 + MSG)

static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
static const char upgrade_resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

struct wconn {
    int fd;          /* the socket */
    int state;       /* 0 head not yet complete, 1 tunnel */
    size_t got;      /* bytes of the head or of the echo read so far */
    char head[1024]; /* the head being read */
    double sent_at;  /* when the frame went (load) */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct sockaddr_in addr_of(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int head_end(struct wconn *c)
{
    c->head[c->got < sizeof(c->head) ? c->got : sizeof(c->head) - 1] = 0;
    char *e = strstr(c->head, "\r\n\r\n");
    return e ? (int)(e - c->head) + 4 : -1;
}

/* ---- echo ------------------------------------------------------------------- */

static void echo_io(int ep, struct wconn *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            free(c);
            return;
        }
        if (n < 0)
            return;
        if (c->state == 0) {
            size_t k = (size_t)n;
            if (c->got + k > sizeof(c->head) - 1)
                k = sizeof(c->head) - 1 - c->got;
            memcpy(c->head + c->got, buf, k);
            c->got += k;
            if (head_end(c) < 0)
                continue;
            c->state = 1;
            if (write(c->fd, upgrade_resp, sizeof(upgrade_resp) - 1) < 0)
                return;
            continue;
        }
        /* Small frames on an unloaded socket: a short write is not
         * expected; the benchmark counts errors if it happens. */
        if (write(c->fd, buf, (size_t)n) != n)
            fprintf(stderr, "wsload echo: short write\n");
    }
}

static int run_echo(int port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = addr_of(port);
    if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0) {
        perror("wsload echo: bind");
        return 1;
    }
    nonblock(l);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    printf("listening\n");
    fflush(stdout);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr != NULL) {
                echo_io(ep, evs[i].data.ptr);
                continue;
            }
            int fd;
            while ((fd = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                struct wconn *c = calloc(1, sizeof(*c));
                c->fd = fd;
                nonblock(fd);
                struct epoll_event cev = {.events = EPOLLIN | EPOLLET, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
            }
        }
    }
}

/* ---- clients ------------------------------------------------------------------ */

static char frame[FRAME];

static void make_frame(void)
{
    frame[0] = (char)0x81;
    frame[1] = (char)(0x80 | MSG);
    memcpy(frame + 2, "\x12\x34\x56\x78", 4);
    for (int i = 0; i < MSG; i++)
        frame[6 + i] = (char)('a' ^ frame[2 + i % 4]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double *lat;   /* latencies, ms */
    size_t n, cap; /* how many, room */
    long errors;   /* failed connections */
};

static void record(struct stats *st, double ms)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 1 << 16;
        st->lat = realloc(st->lat, st->cap * sizeof(double));
    }
    st->lat[st->n++] = ms;
}

/* Reads what arrived; returns 1 when a round trip completed (the frame
 * is sent again unless stop), -1 on failure. */
static int client_io(struct wconn *c, int stop, struct stats *st)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN))
            return -1;
        if (n < 0)
            return 0;
        size_t off = 0;
        if (c->state == 0) {
            size_t k =
                (size_t)n < sizeof(c->head) - 1 - c->got ? (size_t)n : sizeof(c->head) - 1 - c->got;
            memcpy(c->head + c->got, buf, k);
            c->got += k;
            int end = head_end(c);
            if (end < 0)
                continue;
            if (strncmp(c->head, "HTTP/1.1 101", 12) != 0)
                return -1;
            off = (size_t)n - (c->got - (size_t)end);
            c->state = 1;
            c->got = 0;
            c->sent_at = now();
            if (write(c->fd, frame, FRAME) != FRAME)
                return -1;
        }
        c->got += (size_t)n - off;
        if (c->got >= FRAME) {
            if (st != NULL)
                record(st, (now() - c->sent_at) * 1000.0);
            c->got -= FRAME;
            if (stop)
                return 1;
            c->sent_at = now();
            if (write(c->fd, frame, FRAME) != FRAME)
                return -1;
            return 1;
        }
    }
}

static struct wconn *client_open(int ep, int port)
{
    struct wconn *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = addr_of(port);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("wsload: connect");
        exit(1);
    }
    nonblock(c->fd);
    if (write(c->fd, upgrade_req, sizeof(upgrade_req) - 1) < 0) {
        perror("wsload: write");
        exit(1);
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return c;
}

static int run_load(int port, int conns, double secs)
{
    int ep = epoll_create1(0);
    for (int i = 0; i < conns; i++)
        client_open(ep, port);
    struct stats st = {0};
    struct epoll_event evs[256];
    double start = now(), end = start + secs;
    long done = 0;
    while (now() < end) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct wconn *c = evs[i].data.ptr;
            int rc = client_io(c, 0, &st);
            if (rc < 0) {
                st.errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
            }
            done += rc > 0;
        }
    }
    double el = now() - start;
    qsort(st.lat, st.n, sizeof(double), cmp_double);
    double p50 = st.n ? st.lat[st.n / 2] : 0, p99 = st.n ? st.lat[st.n * 99 / 100] : 0;
    double max = st.n ? st.lat[st.n - 1] : 0;
    printf("requests=%zu rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%ld resumed=0\n", st.n,
           st.n / el, p50, p99, max, st.errors);
    return 0;
}

static int run_idle(int port, int conns)
{
    int ep = epoll_create1(0);
    int ready = 0, failed = 0;
    struct epoll_event evs[256];
    for (int i = 0; i < conns; i += 100) {
        int batch = conns - i < 100 ? conns - i : 100, left = batch;
        for (int k = 0; k < batch; k++)
            client_open(ep, port);
        while (left > 0) {
            int n = epoll_wait(ep, evs, 256, 10000);
            if (n <= 0) {
                fprintf(stderr, "wsload idle: no progress\n");
                return 1;
            }
            for (int j = 0; j < n; j++) {
                int rc = client_io(evs[j].data.ptr, 1, NULL);
                if (rc != 0) {
                    left--;
                    ready += rc > 0;
                    failed += rc < 0;
                }
            }
        }
    }
    printf("ready %d %d\n", ready, failed);
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof(line), stdin) == NULL)
        return 0;
    return 0;
}

int main(int argc, char **argv)
{
    make_frame();
    if (argc == 3 && strcmp(argv[1], "echo") == 0)
        return run_echo(atoi(argv[2]));
    if (argc == 5 && strcmp(argv[1], "load") == 0)
        return run_load(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
    if (argc == 4 && strcmp(argv[1], "idle") == 0)
        return run_idle(atoi(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: wsload echo PORT | load PORT CONNS SECS | idle PORT CONNS\n");
    return 2;
}
