/* reactor.c - the registry of sockets, the sweep, the Date cache. */
#include "event/reactor.h"

#include <errno.h>
#include <string.h>

#include "conf/conf.h"
#include "core/tpool.h"
#include "event/sock.h"

void reactor_sweep(struct reactor *rx)
{
    while (rx->dead != NULL) {
        struct sock *s = rx->dead;
        rx->dead = s->next;
        s->ops->free(s);
    }
}

static void reactor_sweep_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
    (void)loop;
    (void)revents;
    reactor_sweep(p->data);
}

int reactor_init(struct reactor *rx, struct ev_loop *loop, const struct conf *conf)
{
    memset(rx, 0, sizeof(*rx));
    rx->loop = loop;
    rx->conf = conf;
    timers_init(&rx->timers, loop);
    ev_prepare_init(&rx->sweep, reactor_sweep_cb);
    rx->sweep.data = rx;
    ev_prepare_start(loop, &rx->sweep);
    rx->pool = tpool_create(loop, (unsigned)conf->thread_pool_threads,
                            (unsigned)conf->thread_pool_max_queue);
    return rx->pool != NULL ? 0 : -1;
}

void reactor_destroy(struct reactor *rx)
{
    reactor_close_all(rx);
    if (rx->pool != NULL)
        tpool_destroy(rx->pool);
    rx->pool = NULL;
    reactor_sweep(rx);
    timers_destroy(&rx->timers);
    if (rx->loop != NULL)
        ev_prepare_stop(rx->loop, &rx->sweep);
}

const char *reactor_date(struct reactor *rx)
{
    time_t now = (time_t)ev_now(rx->loop);
    if (now != rx->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(rx->date, sizeof(rx->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        rx->date_sec = now;
    }
    return rx->date;
}

void reactor_drain(struct reactor *rx)
{
    struct sock *s = rx->socks;
    while (s != NULL) {
        struct sock *next = s->next;
        s->ops->drain(s);
        s = next;
    }
}

void reactor_close_all(struct reactor *rx)
{
    while (rx->socks != NULL)
        rx->socks->ops->close(rx->socks);
}
