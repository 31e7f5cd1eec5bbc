/* sock.h - a socket of the worker, of any kind: a client connection, an
 * upstream connection, a stream session's ends.
 *
 * Every socket is in its reactor's registry (for worker_connections, the
 * drain and the fast stop), has one watcher, one timer node and a
 * transport, and is reference counted: pool jobs hold references, and the
 * descriptor is closed only when the last one goes, so no job can ever
 * reach a reused descriptor number.  Memory goes in the reactor's sweep,
 * never under a caller. */
#ifndef TP_EVENT_SOCK_H
#define TP_EVENT_SOCK_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/owner.h"
#include "core/timer.h"

struct reactor;
struct sock;
struct transport;

enum sock_kind {
    SOCK_CLIENT,   /* accepted from a listener */
    SOCK_UPSTREAM, /* connected to a backend */
};

/* What the owner of a socket does on the reactor's behalf. */
struct sock_ops {
    void (*drain)(struct sock *s); /* graceful stop: close if idle, else finish */
    void (*close)(struct sock *s); /* fast stop or shutdown timeout: close now */
    void (*free)(struct sock *s);  /* the last reference went: free the memory */
};

struct sock {
    struct owner own;           /* references: the socket's own + pool jobs */
    struct reactor *rx;         /* the worker it belongs to */
    const struct sock_ops *ops; /* its owner's side */
    const struct transport *tp; /* how bytes move (plain, TLS) */
    void *tp_state;             /* the transport's state, or NULL */
    struct sock *prev;          /* the reactor's list of open sockets */
    struct sock *next;          /* (also the sweep's list once dead) */
    ev_io io;                   /* readiness, one direction at a time */
    struct timer_node timer;    /* the timeout of the current state */
    uint64_t id;                /* connection number ("*42") */
    uint8_t kind;               /* enum sock_kind */
    uint8_t want;               /* EV_READ or EV_WRITE: what the last EAGAIN waits for */
    bool closed;                /* sock_close ran */
    bool keep_fd;               /* sock_take_fd: the descriptor outlives the socket */
};

/* Registers s (zeroed by the caller) for descriptor fd: numbered, in the
 * registry, with cb for readiness (not started) and expire for timeouts. */
void sock_open(struct sock *s, struct reactor *rx, int fd, enum sock_kind kind,
               const struct sock_ops *ops, void (*cb)(struct ev_loop *, ev_io *, int),
               timer_expire_cb expire);

/* Watches for events (EV_READ, EV_WRITE, both, or 0 for none). */
void sock_watch(struct sock *s, int events);

/* Arms the socket's timer; closes it when out of memory.  Returns -1 then. */
int sock_arm(struct sock *s, long ms);

/* Closes: stops the watcher and timer, leaves the registry and drops the
 * socket's own reference.  The peer sees the close at once; the
 * descriptor goes with the last reference.  Safe in the socket's own
 * callbacks, and a second call does nothing. */
void sock_close(struct sock *s);

/* Closes s but leaves its descriptor open and returns it: a socket that
 * only waited for a first step (a PROXY header) hands the connection to
 * its protocol.  s must hold no other reference. */
int sock_take_fd(struct sock *s);

/* Holds the socket across asynchronous work (a pool job takes one). */
static inline void sock_hold(struct sock *s)
{
    owner_get(&s->own);
}

static inline void sock_release(struct sock *s)
{
    owner_put(&s->own);
}

static inline int sock_fd(const struct sock *s)
{
    return s->io.fd;
}

#endif
