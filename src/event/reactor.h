/* reactor.h - what a worker's sockets share: the loop, the thread pool,
 * the timers and the registry of open sockets of every kind.
 *
 * The worker process (proc/worker.c) owns one and runs its loop; the
 * protocols (http, later stream) open their sockets in it and never see
 * the process around it. */
#ifndef TP_EVENT_REACTOR_H
#define TP_EVENT_REACTOR_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/timer.h"

struct conf;
struct sock;
struct tpool;

struct reactor {
    struct ev_loop *loop;                 /* the worker's loop */
    const struct conf *conf;              /* its generation's configuration */
    struct tpool *pool;                   /* blocking work */
    struct timers timers;                 /* timeouts of every socket */
    struct sock *socks;                   /* open sockets of every kind */
    unsigned nsocks;                      /* how many: worker_connections counts them all */
    struct sock *dead;                    /* closed and unreferenced: freed by the sweep */
    ev_prepare sweep;                     /* frees dead sockets each iteration */
    uint64_t seq;                         /* connection numbers */
    bool draining;                        /* graceful stop in progress */
    void (*on_close)(struct reactor *rx); /* a socket closed (accepting resumes, a drain ends) */
    time_t date_sec;                      /* second the cached Date is for */
    char date[40];                        /* "Thu, 26 Nov 2026 14:00:00 GMT" */
};

/* Sets up the loop's shared parts for conf.  -1 with errno on failure
 * (then reactor_destroy cleans up what was made). */
int reactor_init(struct reactor *rx, struct ev_loop *loop, const struct conf *conf);
void reactor_destroy(struct reactor *rx);

/* The cached Date header value for this loop iteration. */
const char *reactor_date(struct reactor *rx);

/* Asks every socket to close once idle (graceful stop). */
void reactor_drain(struct reactor *rx);

/* Closes every socket now (fast stop). */
void reactor_close_all(struct reactor *rx);

/* Frees what the sweep would (for teardown). */
void reactor_sweep(struct reactor *rx);

#endif
