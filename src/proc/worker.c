/* worker.c - a worker's loop: accepting, signals, draining, exiting. */
#include "proc/worker.h"
#include "proc/process_conf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/module.h"
#include "core/log.h"
#include "core/signals.h"
#include "proc/daemon.h"
#include "proc/listen.h"
#include "proc/proctitle.h"

#define WORKER_ACCEPT_BATCH 64
#define WORKER_ACCEPT_RETRY 0.5 /* seconds after EMFILE and friends */
/* Idle keep-alive connections get this long to send one more request
 * (answered with "Connection: close") before a draining worker closes them.
 * Closing them at once is what makes clients fail requests on reload. */
#define WORKER_DRAIN_GRACE 2.0

static struct worker worker; /* this process's worker */

/* ---- accepting -------------------------------------------------------- */

static void worker_accept_stop(struct worker *w)
{
    for (unsigned i = 0; i < w->nlsn; i++)
        ev_io_stop(w->rx.loop, &w->lsn[i].io);
    w->accepting = false;
}

static void worker_accept_start(struct worker *w)
{
    if (w->rx.draining || w->accepting)
        return;
    for (unsigned i = 0; i < w->nlsn; i++)
        ev_io_start(w->rx.loop, &w->lsn[i].io);
    w->accepting = true;
}

/* Out of descriptors: stop accepting and retry on a timer, so the loop
 * never spins on a listening socket it cannot serve. */
static void worker_accept_backoff(struct worker *w, int err)
{
    bool expected = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
    log_msg(expected ? LL_CRIT : LL_ALERT, 0, err, "accept4() failed");
    worker_accept_stop(w);
    ev_timer_set(&w->accept_retry, WORKER_ACCEPT_RETRY, 0.);
    ev_timer_start(w->rx.loop, &w->accept_retry);
}

static bool worker_at_limit(struct worker *w)
{
    if (w->rx.nsocks < (unsigned)w->conf->worker_connections)
        return false;
    if (!w->limit_logged) {
        log_msg(LL_WARN, 0, 0, "%ld worker_connections are not enough",
                w->conf->worker_connections);
        w->limit_logged = true;
    }
    worker_accept_stop(w);
    return true;
}

static void worker_accept_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct worker_listener *wl = (struct worker_listener *)io;
    struct worker *w = wl->w;
    (void)loop;
    (void)revents;
    for (int i = 0; i < WORKER_ACCEPT_BATCH && !worker_at_limit(w); i++) {
        union sockaddr_any peer;
        socklen_t len = sizeof(peer);
        int fd = accept4(io->fd, &peer.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            wl->listen->accept(&w->rx, fd, &peer, wl->listen->data);
            continue;
        }
        if (errno == EAGAIN)
            return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
            continue;
        /* Out of descriptors or memory, or anything unexpected: back off
         * on a timer rather than spin on a socket that stays readable. */
        worker_accept_backoff(w, errno);
        return;
    }
}

static void worker_accept_retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    worker_accept_start(&worker);
}

/* A socket of any kind closed: a drain may be over, or accepting may
 * resume below worker_connections. */
static void worker_sock_closed(struct reactor *rx)
{
    struct worker *w = &worker;
    if (rx->draining) {
        if (rx->nsocks == 0)
            ev_break(rx->loop, EVBREAK_ALL);
        return;
    }
    if (!w->accepting && !ev_is_active(&w->accept_retry) &&
        rx->nsocks < (unsigned)w->conf->worker_connections) {
        w->limit_logged = false;
        worker_accept_start(w);
    }
}

/* ---- stopping ------------------------------------------------------------ */

static void worker_drain_grace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    reactor_drain(&worker.rx);
}

static void worker_hard_stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    log_msg(LL_NOTICE, 0, 0, "worker_shutdown_timeout: closing %u connections", worker.rx.nsocks);
    reactor_close_all(&worker.rx);
    ev_break(loop, EVBREAK_ALL);
}

/* On a real stop the master has closed its copies of these sockets and
 * ours are the last: closed, the kernel refuses new clients at once
 * instead of queueing them to hang until reset.  The accept watchers must
 * be stopped first. */
static void worker_close_listeners(struct worker *w)
{
    for (unsigned i = 0; i < w->nlsn; i++)
        listen_close_slot(w->lsn[i].listen->listener, w->slot);
}

static void worker_drain(struct worker *w)
{
    struct reactor *rx = &w->rx;
    if (rx->draining)
        return;
    rx->draining = true;
    worker_accept_stop(w);
    ev_timer_stop(rx->loop, &w->accept_retry);
    log_msg(LL_NOTICE, 0, 0, "gracefully shutting down");
    if (!w->single)
        proctitle_set("worker process is shutting down");
    if (w->chan >= 0)
        (void)!write(w->chan, "D", 1); /* no longer accepting: tell the master */
    MODULES_WORKER(rx, worker_drain);
    if (rx->nsocks == 0) {
        ev_break(rx->loop, EVBREAK_ALL);
        return;
    }
    double grace = WORKER_DRAIN_GRACE;
    long hard = w->conf->worker_shutdown_timeout;
    if (hard > 0 && hard / 1000.0 < grace)
        grace = hard / 1000.0;
    ev_timer_set(&w->drain_grace, grace, 0.);
    ev_timer_start(rx->loop, &w->drain_grace);
    if (hard > 0) {
        ev_timer_set(&w->hard_stop, hard / 1000.0, 0.);
        ev_timer_start(rx->loop, &w->hard_stop);
    }
}

/* A real stop: the sockets go before the drain says so in the log. */
static void worker_quit(struct worker *w)
{
    worker_accept_stop(w);
    worker_close_listeners(w);
    worker_drain(w);
}

static void worker_signal_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct worker *w = &worker;
    int sig;
    (void)revents;
    while ((sig = signals_read(io->fd)) != 0) {
        switch (sig) {
        case SIGQUIT:
            /* Alone, a process is its own master: its stop is real. */
            if (w->single)
                worker_quit(w);
            else
                worker_drain(w);
            break;
        case SIGTERM:
        case SIGINT:
            log_msg(LL_NOTICE, 0, 0, "exiting");
            reactor_close_all(&w->rx);
            ev_break(loop, EVBREAK_ALL);
            break;
        case SIGUSR1:
            log_reopen((uid_t)-1, (gid_t)-1);
            MODULES_WORKER(&w->rx, worker_reopen);
            break;
        case SIGHUP:
            if (w->single)
                log_msg(LL_NOTICE, 0, 0, "reload needs the master process; restart instead");
            break;
        default:
            break;
        }
    }
}

/* The master stops for good, or went away (its end of the channel
 * closed): drain and let the ports go rather than linger holding them. */
static void worker_chan_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    char buf[16];
    (void)revents;
    ssize_t n = read(io->fd, buf, sizeof(buf));
    if (n > 0 && memchr(buf, WORKER_MSG_QUIT[0], (size_t)n) != NULL) {
        worker_quit(&worker);
    } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        ev_io_stop(loop, io);
        log_msg(LL_ALERT, 0, 0, "master process is gone, shutting down");
        worker_quit(&worker);
    }
}

/* ---- setup ------------------------------------------------------------- */

static int worker_listeners(struct worker *w)
{
    const struct conf *c = w->conf;
    w->lsn = calloc(c->nlistens ? c->nlistens : 1, sizeof(*w->lsn));
    if (w->lsn == NULL)
        return -1;
    for (size_t i = 0; i < c->nlistens; i++) {
        const struct conf_listen *l = &c->listens[i];
        w->lsn[i].w = w;
        w->lsn[i].listen = l;
        ev_io_init(&w->lsn[i].io, worker_accept_cb, l->listener->fds[w->slot], EV_READ);
    }
    w->nlsn = (unsigned)c->nlistens;
    return 0;
}

/* libev's default for a failed system call is abort(); a worker that
 * cannot set up (no descriptors left, say) should exit with a log line. */
static void worker_syserr(const char *msg)
{
    log_msg(LL_ALERT, 0, errno, "%s", msg);
    _exit(2);
}

/* timer_resolution: libev reads the clock once per loop iteration anyway
 * (nginx's reason for the directive, saving gettimeofday() calls, does not
 * arise); what it can do is collect timers, so that timeouts fire in
 * batches at most that far apart instead of waking the loop for each. */
static void worker_timer_resolution(struct worker *w, struct ev_loop *loop)
{
    long ms = process_conf(w->conf)->timer_resolution;
    if (ms > 0)
        ev_set_timeout_collect_interval(loop, (double)ms / 1000.0);
}

static int worker_setup(struct worker *w)
{
    ev_set_syserr_cb(worker_syserr);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
    if (loop == NULL)
        return -1;
    w->rx.loop = loop; /* for teardown, should reactor_init fail */
    worker_timer_resolution(w, loop);
    if (reactor_init(&w->rx, loop, w->conf) < 0)
        return -1;
    w->rx.on_close = worker_sock_closed;
    w->started = true;
    if (modules_worker_start(&w->rx) < 0 || worker_listeners(w) < 0)
        return -1;
    if ((w->sigfd = signals_fd()) < 0)
        return -1;
    ev_io_init(&w->sig_io, worker_signal_cb, w->sigfd, EV_READ);
    ev_io_start(loop, &w->sig_io);
    ev_init(&w->accept_retry, worker_accept_retry_cb);
    ev_init(&w->drain_grace, worker_drain_grace_cb);
    ev_init(&w->hard_stop, worker_hard_stop_cb);
    worker_accept_start(w);
    return 0;
}

static void worker_teardown(struct worker *w)
{
    struct ev_loop *loop = w->rx.loop;
    if (loop != NULL) {
        reactor_close_all(&w->rx);
        if (w->started)
            MODULES_WORKER(&w->rx, worker_stop);
        reactor_destroy(&w->rx);
        ev_loop_destroy(loop);
    }
    if (w->sigfd >= 0)
        close(w->sigfd);
    free(w->lsn);
}

int worker_run(const struct conf *conf, unsigned slot, unsigned gen, int chan, bool single)
{
    struct worker *w = &worker;
    ev_io chan_io;
    memset(w, 0, sizeof(*w));
    w->conf = conf;
    w->slot = slot;
    w->gen = gen;
    w->chan = chan;
    w->single = single;
    w->sigfd = -1;
    if (worker_setup(w) < 0) {
        log_msg(LL_EMERG, 0, errno, "worker %u could not start", slot);
        worker_teardown(w);
        return 2;
    }
    /* A daemon's processes leave the terminal once they serve. */
    if (single)
        daemon_ready();
    else if (conf->daemon)
        daemon_detach_stderr();
    if (chan >= 0) {
        ev_io_init(&chan_io, worker_chan_cb, chan, EV_READ);
        ev_io_start(w->rx.loop, &chan_io);
        (void)!write(chan, "R", 1); /* accepting: tell the master */
    }
    ev_run(w->rx.loop, 0);
    if (chan >= 0)
        ev_io_stop(w->rx.loop, &chan_io);
    worker_teardown(w);
    return 0;
}
