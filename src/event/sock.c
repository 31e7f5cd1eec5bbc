/* sock.c - registering, watching and closing a worker's sockets. */
#include "event/sock.h"

#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event/reactor.h"
#include "event/transport.h"

/* The last reference went: the descriptor can close now, since nothing can
 * use it any more; the memory waits for the sweep, so a caller still on
 * the stack never sees it freed. */
static void sock_last_ref(struct owner *o)
{
    struct sock *s = (struct sock *)((char *)o - offsetof(struct sock, own));
    s->tp->free(s);
    if (!s->keep_fd)
        close(s->io.fd);
    s->next = s->rx->dead;
    s->rx->dead = s;
}

void sock_open(struct sock *s, struct reactor *rx, int fd, enum sock_kind kind,
               const struct sock_ops *ops, void (*cb)(struct ev_loop *, ev_io *, int),
               timer_expire_cb expire)
{
    owner_init(&s->own, sock_last_ref);
    s->rx = rx;
    s->ops = ops;
    s->tp = &transport_plain;
    s->kind = (uint8_t)kind;
    s->id = ++rx->seq;
    s->timer.expire = expire;
    ev_io_init(&s->io, cb, fd, EV_READ);
    s->prev = NULL;
    s->next = rx->socks;
    if (rx->socks != NULL)
        rx->socks->prev = s;
    rx->socks = s;
    rx->nsocks++;
}

/* One watcher per socket, switched between directions.  ev_io_modify (not
 * ev_io_set) lets libev skip the epoll_ctl when a stop and a start within
 * one iteration leave the mask as it was: the keep-alive cycle. */
void sock_watch(struct sock *s, int events)
{
    struct ev_loop *loop = s->rx->loop;
    if (events == 0) {
        ev_io_stop(loop, &s->io);
        return;
    }
    if ((events & EV_READ) && s->tp->pending != NULL && s->tp->pending(s))
        ev_feed_event(loop, &s->io, EV_READ);
    if (ev_is_active(&s->io) && (s->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(loop, &s->io);
    ev_io_modify(&s->io, events);
    ev_io_start(loop, &s->io);
}

int sock_arm(struct sock *s, long ms)
{
    if (timer_arm(&s->rx->timers, &s->timer, ms) == 0)
        return 0;
    s->ops->close(s);
    return -1;
}

static void sock_unlist(struct sock *s)
{
    struct reactor *rx = s->rx;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        rx->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    rx->nsocks--;
}

void sock_close(struct sock *s)
{
    struct reactor *rx = s->rx;
    if (s->closed)
        return;
    s->closed = true;
    ev_io_stop(rx->loop, &s->io);
    timer_disarm(&s->timer);
    sock_unlist(s);
    /* Someone else still holds it (a pool job): the descriptor stays until
     * they are done, but the peer must see the end now. */
    if (s->own.refs > 1)
        shutdown(s->io.fd, SHUT_RDWR);
    owner_close(&s->own);
    if (rx->on_close != NULL)
        rx->on_close(rx);
}

int sock_take_fd(struct sock *s)
{
    s->keep_fd = true;
    sock_close(s);
    return s->io.fd;
}
