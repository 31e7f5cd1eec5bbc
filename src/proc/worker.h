/* worker.h - a worker process: its reactor (loop, thread pool, sockets),
 * the listening sockets of its slot, signals and draining. */
#ifndef TP_PROC_WORKER_H
#define TP_PROC_WORKER_H

#include <ev.h>
#include <stdbool.h>

#include "event/reactor.h"

struct conf;
struct conf_listen;

/* The master's message for a real stop: drain, and let the listening
 * sockets go (SIGQUIT alone drains and keeps them). */
#define WORKER_MSG_QUIT "Q"

/* Accepting on one listening socket. */
struct worker_listener {
    ev_io io;                         /* readable: connections are waiting */
    struct worker *w;                 /* owner */
    const struct conf_listen *listen; /* the address, and who opens its connections */
};

struct worker {
    struct reactor rx;           /* loop, pool, timers and every socket */
    const struct conf *conf;     /* its generation's configuration */
    unsigned slot;               /* worker slot: which sockets it accepts on */
    unsigned gen;                /* generation number */
    struct worker_listener *lsn; /* accept watchers */
    unsigned nlsn;               /* how many */
    ev_timer accept_retry;       /* restarts accepting after EMFILE */
    int sigfd;                   /* signals */
    ev_io sig_io;                /* its watcher */
    int chan;                    /* socket to the master, or -1 */
    bool accepting;              /* accept watchers are started */
    bool limit_logged;           /* worker_connections warning was logged */
    ev_timer drain_grace;        /* closes connections still idle */
    ev_timer hard_stop;          /* worker_shutdown_timeout */
    bool started;                /* the modules' worker_start hooks ran */
    bool single;                 /* master_process off: also the master */
};

/* Runs a worker until it exits; returns the exit status. */
int worker_run(const struct conf *conf, unsigned slot, unsigned gen, int chan, bool single);

#endif
