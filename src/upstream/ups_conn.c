/* ups_conn.c - connecting to a backend, and the socket's events by state. */
#include "upstream/ups_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "event/reactor.h"
#include "event/transport.h"
#include "tls/tls_client.h"
#include "upstream/ups_pool.h"

static struct ups_conn *ups_conn_of(struct sock *s)
{
    return (struct ups_conn *)s;
}

/* nginx logs these at "error" (ngx_event_connect_peer): the backend's
 * side, not ours; anything else is "crit". */
static enum log_level ups_err_level(int err)
{
    switch (err) {
    case ECONNREFUSED:
    case EAGAIN: /* a unix socket whose listen queue is full */
    case ECONNRESET:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ETIMEDOUT:
        return LL_ERR;
    default:
        return LL_CRIT;
    }
}

void ups_err_connect(struct ups_err *e, int err, const struct ups_addr *addr, bool at_once)
{
    e->level = ups_err_level(err);
    e->err = err;
    e->local = false;
    e->handshake = false;
    if (err == ETIMEDOUT)
        snprintf(e->text, sizeof(e->text), "upstream timed out (%d: %s)", err, strerror(err));
    else if (at_once)
        snprintf(e->text, sizeof(e->text), "connect() to %s failed (%d: %s)", addr->name, err,
                 strerror(err));
    else
        snprintf(e->text, sizeof(e->text), "connect() failed (%d: %s)", err, strerror(err));
}

static void ups_err_local(struct ups_err *e, int err, const char *text)
{
    e->level = LL_ALERT;
    e->err = err;
    e->local = true;
    e->handshake = false;
    if (err != 0)
        snprintf(e->text, sizeof(e->text), "%s (%d: %s)", text, err, strerror(err));
    else
        snprintf(e->text, sizeof(e->text), "%s", text);
}

/* ---- the socket's side ------------------------------------------------------ */

static void ups_conn_drain(struct sock *s)
{
    /* A connection in use finishes its request (or tunnel); only an idle
     * one has nothing left to do. */
    if (ups_conn_of(s)->state == UC_IDLE)
        ups_conn_close(ups_conn_of(s));
}

static void ups_conn_abort(struct sock *s)
{
    struct ups_conn *uc = ups_conn_of(s);
    if (uc->state != UC_IDLE && uc->user != NULL && uc->user->abort != NULL)
        uc->user->abort(uc);
    ups_conn_close(uc);
}

static void ups_conn_free(struct sock *s)
{
    struct ups_conn *uc = ups_conn_of(s);
    free(uc->preface);
    free(uc);
}

static const struct sock_ops ups_conn_ops = {
    .drain = ups_conn_drain,
    .close = ups_conn_abort,
    .free = ups_conn_free,
};

void ups_conn_close(struct ups_conn *uc)
{
    if (uc->pool != NULL)
        ups_pool_forget(uc);
    sock_close(&uc->sock);
}

/* The connection is ready for its user. */
static void ups_conn_up(struct ups_conn *uc)
{
    timer_disarm(&uc->sock.timer);
    sock_watch(&uc->sock, 0);
    uc->state = UC_BUSY;
    uc->start = ev_now(uc->sock.rx->loop);
    uc->user->connected(uc, NULL);
}

/* The TLS handshake's next steps; the user hears when it is over. */
static void ups_conn_shake(struct ups_conn *uc)
{
    struct ups_err e = {.level = LL_ERR, .err = EPROTO, .handshake = true};
    if (tls_client_handshake(&uc->sock) == 0) {
        ups_conn_up(uc);
        return;
    }
    if (errno == EAGAIN)
        return; /* the transport watches for what it needs */
    tls_client_error(&uc->sock, e.text, sizeof(e.text));
    ups_conn_close(uc);
    uc->user->connected(uc, &e);
}

/* Connected (and the preface sent): the handshake, or the user. */
static void ups_conn_established(struct ups_conn *uc)
{
    if (uc->tls != NULL) {
        uc->state = UC_HANDSHAKE;
        ups_conn_shake(uc);
        return;
    }
    ups_conn_up(uc);
}

/* The preface as far as the socket takes it now; the next write
 * readiness goes on with it. */
static void ups_conn_send_preface(struct ups_conn *uc)
{
    while (uc->preface_off < uc->preface_len) {
        ssize_t n = send(sock_fd(&uc->sock), uc->preface + uc->preface_off,
                         uc->preface_len - uc->preface_off, MSG_NOSIGNAL);
        if (n > 0) {
            uc->preface_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            sock_watch(&uc->sock, EV_WRITE);
            return;
        }
        struct ups_err e;
        ups_err_connect(&e, n < 0 ? errno : EPIPE, &uc->addr, false);
        snprintf(e.text, sizeof(e.text), "send() failed (%d: %s)", e.err, strerror(e.err));
        ups_conn_close(uc);
        uc->user->connected(uc, &e);
        return;
    }
    free(uc->preface);
    uc->preface = NULL;
    ups_conn_established(uc);
}

/* The write readiness of a connect in progress: SO_ERROR says how it went. */
static void ups_conn_connect_done(struct ups_conn *uc)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(sock_fd(&uc->sock), SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        struct ups_err e;
        ups_err_connect(&e, err, &uc->addr, false);
        ups_conn_close(uc);
        uc->user->connected(uc, &e);
        return;
    }
    if (uc->preface != NULL) {
        uc->state = UC_PREFACE;
        ups_conn_send_preface(uc);
        return;
    }
    ups_conn_established(uc);
}

static void ups_conn_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct ups_conn *uc = (struct ups_conn *)((char *)io - offsetof(struct sock, io));
    (void)loop;
    if (uc->state == UC_CONNECTING)
        ups_conn_connect_done(uc);
    else if (uc->state == UC_PREFACE)
        ups_conn_send_preface(uc);
    else if (uc->state == UC_HANDSHAKE)
        ups_conn_shake(uc);
    else if (uc->state == UC_IDLE)
        ups_pool_idle_event(uc);
    else
        uc->user->io(uc, revents);
}

static void ups_conn_expire(struct timer_node *node)
{
    struct ups_conn *uc = (struct ups_conn *)((char *)node - offsetof(struct sock, timer));
    struct ups_err e;
    if (uc->state == UC_IDLE) {
        ups_conn_close(uc); /* keepalive_timeout */
    } else if (uc->state == UC_CONNECTING || uc->state == UC_PREFACE ||
               uc->state == UC_HANDSHAKE) {
        ups_err_connect(&e, ETIMEDOUT, &uc->addr, false);
        e.handshake = uc->state == UC_HANDSHAKE;
        ups_conn_close(uc);
        uc->user->connected(uc, &e);
    } else {
        uc->user->timeout(uc);
    }
}

/* ---- connecting ---------------------------------------------------------------- */

static int ups_conn_socket(const struct ups_addr *addr, struct ups_err *e)
{
    int fd = socket(addr->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ups_err_local(e, errno, "socket() failed");
        return -1;
    }
    /* Requests and their bodies go out as soon as written, as nginx has
     * its upstream connections do (tcp_nodelay). */
    if (addr->u.sa.sa_family != AF_UNIX)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    return fd;
}

struct ups_conn *ups_conn_open(struct reactor *rx, const struct ups_addr *addr, long timeout_ms,
                               const struct ups_conn_user *user, void *data, struct ups_err *e)
{
    char text[64];
    if (rx->nsocks >= (unsigned)rx->conf->worker_connections) {
        snprintf(text, sizeof(text), "%ld worker_connections are not enough",
                 rx->conf->worker_connections);
        ups_err_local(e, 0, text);
        return NULL;
    }
    struct ups_conn *uc = calloc(1, sizeof(*uc));
    if (uc == NULL) {
        ups_err_local(e, ENOMEM, "malloc() failed");
        return NULL;
    }
    int fd = ups_conn_socket(addr, e);
    if (fd < 0) {
        free(uc);
        return NULL;
    }
    if (connect(fd, &addr->u.sa, addr->len) < 0 && errno != EINPROGRESS) {
        ups_err_connect(e, errno, addr, true);
        close(fd);
        free(uc);
        return NULL;
    }
    sock_open(&uc->sock, rx, fd, SOCK_UPSTREAM, &ups_conn_ops, ups_conn_io, ups_conn_expire);
    uc->addr = *addr;
    uc->requests = 1;
    ups_conn_attach(uc, user, data);
    uc->state = UC_CONNECTING;
    /* Writable once connected, also when connect() finished at once (a
     * unix socket): the user hears back from the loop either way. */
    sock_watch(&uc->sock, EV_WRITE);
    if (timer_arm(&rx->timers, &uc->sock.timer, timeout_ms) < 0) {
        ups_err_local(e, ENOMEM, "out of memory");
        sock_close(&uc->sock);
        return NULL;
    }
    return uc;
}

int ups_conn_secure(struct ups_conn *uc, const struct tls_client *c, const char *name, bool sni)
{
    if (tls_client_start(&uc->sock, c, name, sni, uc->addr.name) < 0)
        return -1;
    uc->tls = c;
    return 0;
}

int ups_conn_preface(struct ups_conn *uc, const void *p, size_t len)
{
    if (len == 0)
        return 0;
    if ((uc->preface = malloc(len)) == NULL)
        return -1;
    memcpy(uc->preface, p, len);
    uc->preface_len = len;
    uc->preface_off = 0;
    return 0;
}

void ups_conn_attach(struct ups_conn *uc, const struct ups_conn_user *user, void *data)
{
    uc->user = user;
    uc->data = data;
    uc->state = UC_BUSY;
}
