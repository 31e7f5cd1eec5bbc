/* pp_wait.c - a connection's PROXY header, read before its protocol. */
#include "event/pp_wait.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "event/reactor.h"
#include "event/sock.h"

/* A connection waiting for its header. */
struct pp_wait {
    struct sock sk;          /* first: the reactor's socket */
    union sockaddr_any peer; /* the balancer's address */
    const char *server;      /* the listen address, for log lines */
    pp_wait_cb done;         /* who takes the connection over */
    const void *data;        /* theirs */
    size_t have;             /* header bytes consumed so far */
    uint8_t buf[PP_MAX];     /* those bytes */
};

static struct pp_wait *pp_wait_of(struct sock *s)
{
    return (struct pp_wait *)s;
}

static void pp_wait_fail(struct pp_wait *w, int err, const char *what)
{
    char client[64];
    sockaddr_text(&w->peer, false, client, sizeof(client));
    log_msg(LL_ERR, w->sk.id, err, "%s while reading PROXY protocol, client: %s, server: %s", what,
            client, w->server);
    sock_close(&w->sk);
}

/* The whole header is in buf: the protocol gets the descriptor. */
static void pp_wait_finish(struct pp_wait *w, size_t len)
{
    struct pp_hdr *h = malloc(sizeof(*h) + len);
    struct pp_info info;
    size_t check;
    const char *why;
    if (h == NULL) {
        pp_wait_fail(w, ENOMEM, "out of memory");
        return;
    }
    memcpy(h->bytes, w->buf, len);
    h->len = len;
    (void)pp_parse(h->bytes, len, &info, &check, &why); /* again: tlvs now point into h */
    h->info = info;
    struct reactor *rx = w->sk.rx;
    union sockaddr_any peer = w->peer;
    pp_wait_cb done = w->done;
    const void *data = w->data;
    int fd = sock_take_fd(&w->sk);
    done(rx, fd, &peer, h, data);
}

/* Consumes n bytes already peeked: they all belong to the header. */
static int pp_wait_consume(struct pp_wait *w, size_t n)
{
    ssize_t got;
    do
        got = recv(sock_fd(&w->sk), w->buf + w->have, n, 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)n)
        return -1;
    w->have += n;
    return 0;
}

static void pp_wait_read(struct pp_wait *w)
{
    struct pp_info info;
    size_t len;
    const char *why = "broken header";
    ssize_t n;
    do
        n = recv(sock_fd(&w->sk), w->buf + w->have, sizeof(w->buf) - w->have, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        pp_wait_fail(w, n < 0 ? errno : 0, n < 0 ? "recv() failed" : "client closed connection");
        return;
    }
    enum pp_rc rc = pp_parse(w->buf, w->have + (size_t)n, &info, &len, &why);
    if (rc == PP_BAD) {
        char what[160];
        snprintf(what, sizeof(what), "broken header: %s", why);
        pp_wait_fail(w, 0, what);
        return;
    }
    /* Incomplete: every byte seen so far is the header's. */
    size_t take = rc == PP_OK ? len - w->have : (size_t)n;
    if (pp_wait_consume(w, take) < 0) {
        pp_wait_fail(w, errno, "recv() failed");
        return;
    }
    if (rc == PP_OK)
        pp_wait_finish(w, len);
    else if (w->have == sizeof(w->buf))
        pp_wait_fail(w, 0, "broken header: too long");
}

static void pp_wait_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    pp_wait_read((struct pp_wait *)((char *)io - offsetof(struct sock, io)));
}

static void pp_wait_expire(struct timer_node *node)
{
    struct pp_wait *w = (struct pp_wait *)((char *)node - offsetof(struct sock, timer));
    pp_wait_fail(w, ETIMEDOUT, "client timed out");
}

/* A draining worker lets the header come (or time out): the client is
 * already connected, and the protocol finishes what it starts. */
static void pp_wait_drain(struct sock *s)
{
    (void)s;
}

static void pp_wait_close(struct sock *s)
{
    sock_close(s);
}

static void pp_wait_free(struct sock *s)
{
    free(pp_wait_of(s));
}

static const struct sock_ops pp_wait_ops = {
    .drain = pp_wait_drain,
    .close = pp_wait_close,
    .free = pp_wait_free,
};

int pp_wait_start(struct reactor *rx, int fd, const union sockaddr_any *peer, long timeout_ms,
                  const char *server, pp_wait_cb done, const void *data)
{
    struct pp_wait *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -1;
    sock_open(&w->sk, rx, fd, SOCK_CLIENT, &pp_wait_ops, pp_wait_io, pp_wait_expire);
    w->peer = *peer;
    w->server = server;
    w->done = done;
    w->data = data;
    sock_watch(&w->sk, EV_READ);
    if (sock_arm(&w->sk, timeout_ms) < 0)
        return 0; /* closed, with the descriptor */
    return 0;
}

/* ---- $proxy_protocol_tlv_NAME ------------------------------------------------ */

/* nginx 1.23.2's names (ngx_proxy_protocol.c). */
static const struct {
    const char *name; /* after proxy_protocol_tlv_ */
    uint8_t type;     /* the TLV or SSL sub-TLV type */
} pp_tlv_names[] = {
    {"alpn", PP2_TYPE_ALPN},
    {"authority", PP2_TYPE_AUTHORITY},
    {"unique_id", PP2_TYPE_UNIQUE_ID},
    {"ssl", PP2_TYPE_SSL},
    {"netns", PP2_TYPE_NETNS},
    {"ssl_version", PP2_SUBTYPE_SSL_VERSION},
    {"ssl_cn", PP2_SUBTYPE_SSL_CN},
    {"ssl_cipher", PP2_SUBTYPE_SSL_CIPHER},
    {"ssl_sig_alg", PP2_SUBTYPE_SSL_SIG_ALG},
    {"ssl_key_alg", PP2_SUBTYPE_SSL_KEY_ALG},
};

static int pp_tlv_hex(struct str name)
{
    unsigned v = 0;
    if (name.len < 3 || name.len > 4 || name.p[0] != '0' || (name.p[1] | 0x20) != 'x')
        return -1;
    for (size_t i = 2; i < name.len; i++) {
        char c = (char)(name.p[i] | 0x20);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return (int)v;
}

bool pp_tlv_named(const struct pp_info *info, struct str name, char *buf, struct str *out)
{
    const uint8_t *v;
    size_t len;
    int type = pp_tlv_hex(name);
    if (str_eq(name, "ssl_verify")) {
        uint8_t client;
        uint32_t verify;
        if (!pp_tlv_ssl(info, &client, &verify))
            return false;
        *out = str_make(buf, (size_t)snprintf(buf, 16, "%u", verify));
        return true;
    }
    for (size_t i = 0; type < 0 && i < sizeof(pp_tlv_names) / sizeof(pp_tlv_names[0]); i++)
        if (str_eq(name, pp_tlv_names[i].name))
            type = pp_tlv_names[i].type;
    if (type < 0 || !pp_tlv(info, (uint8_t)type, &v, &len))
        return false;
    *out = str_make((const char *)v, len);
    return true;
}
