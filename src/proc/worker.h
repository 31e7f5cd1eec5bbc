/* worker.h - a worker process: one libev loop, one thread pool, and the
 * listening sockets of its slot. */
#ifndef TP_WORKER_H
#define TP_WORKER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/timer.h"

struct conf;
struct conf_port;
struct conn;
struct tpool;

/* Accepting on one listening socket. */
struct worker_listener {
    ev_io io;                     /* readable: connections are waiting */
    struct worker *w;             /* owner */
    const struct conf_port *port; /* what it serves */
};

struct worker {
    struct ev_loop *loop;        /* this worker's loop */
    const struct conf *conf;     /* its generation's configuration */
    unsigned slot;               /* worker slot: which sockets it accepts on */
    unsigned gen;                /* generation number */
    struct tpool *pool;          /* blocking work */
    struct timers timers;        /* connection timeouts */
    struct worker_listener *lsn; /* accept watchers */
    unsigned nlsn;               /* how many */
    ev_timer accept_retry;       /* restarts accepting after EMFILE */
    int sigfd;                   /* signals */
    ev_io sig_io;                /* its watcher */
    int chan;                    /* socket to the master, or -1 */
    struct conn *conns;          /* open connections */
    unsigned nconns;             /* how many */
    struct conn *dead;           /* closed, freed by the sweep */
    ev_prepare sweep;            /* frees dead connections each iteration */
    uint64_t conn_seq;           /* connection numbers */
    bool accepting;              /* accept watchers are started */
    bool limit_logged;           /* worker_connections warning was logged */
    bool draining;               /* graceful stop in progress */
    ev_timer drain_grace;        /* closes connections still idle */
    ev_timer hard_stop;          /* worker_shutdown_timeout */
    time_t date_sec;             /* second the cached Date is for */
    char date[40];               /* "Thu, 26 Nov 2026 14:00:00 GMT" */
    bool single;                 /* master_process off: also the master */
};

/* Runs a worker until it exits; returns the exit status. */
int worker_run(const struct conf *conf, unsigned slot, unsigned gen, int chan, bool single);

/* Reports a connection gone, so accepting can resume and a drain can end. */
void worker_conn_closed(struct worker *w);

/* The cached Date header value for this loop iteration. */
const char *worker_date(struct worker *w);

#endif
