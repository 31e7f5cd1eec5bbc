/* resolver.h - a worker's run-time name lookups: a cache in front of the
 * DNS client, whose lookups run in the thread pool (TPOOL_DNS).
 *
 * The loop never waits on DNS.  A name found in the cache and still valid
 * is answered at once (resolver_cached); otherwise resolver_start queues a
 * lookup, and concurrent lookups of one name share it (the waiters are
 * told together).  Answers are kept for `valid=`, or for the records' TTL
 * when valid is not given, as nginx does; failures are not kept, so the
 * next lookup asks again.  Each waiter has its own timeout
 * (resolver_timeout). */
#ifndef TP_RESOLVER_H
#define TP_RESOLVER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/sockaddr.h"
#include "core/str.h"
#include "core/timer.h"

struct resolver;
struct resolver_entry;
struct resolver_wait;
struct tpool;

/* A `resolver` directive (immutable, part of a configuration). */
struct resolver_conf {
    union sockaddr_any *addrs; /* the DNS servers, with their ports */
    size_t naddrs;             /* how many */
    long valid;                /* ms answers are kept; 0: the records' TTL */
    bool ipv4;                 /* look up A records */
    bool ipv6;                 /* look up AAAA records */
};

/* A name's addresses (port 0), valid during the callback or until the
 * next call into the resolver. */
struct resolver_answer {
    const union sockaddr_any *addrs; /* addresses, A records first */
    size_t naddrs;                   /* how many (at least 1) */
    ev_tstamp valid_until;           /* ev_now time the answer expires */
};

/* status: 0 (DNS_OK) with the answer, else a dns_status (a->naddrs 0). */
typedef void (*resolver_cb)(struct resolver_wait *w, int status, const struct resolver_answer *a);

/* Embedded in whoever waits for a name (a request, an upstream server). */
struct resolver_wait {
    struct resolver_wait *prev; /* the entry's waiters */
    struct resolver_wait *next;
    struct resolver_entry *entry; /* the lookup waited for, NULL when not waiting */
    struct timer_node timer;      /* this waiter's timeout */
    resolver_cb cb;               /* called once: answer, failure or timeout */
};

/* The worker's resolver; timers is the reactor's.  NULL on no memory. */
struct resolver *resolver_create(struct ev_loop *loop, struct tpool *pool, struct timers *timers);

/* Waiters are dropped without a call; lookups in the pool are told to
 * give up, and their memory goes when the pool releases them. */
void resolver_destroy(struct resolver *rs);

/* The cached, still valid answer for name, or NULL. */
const struct resolver_answer *resolver_cached(struct resolver *rs, const struct resolver_conf *rc,
                                              struct str name);

/* Starts waiting for name: w->cb is called later (never from inside this
 * call), with the answer, an error, or DNS_TIMEDOUT after timeout_ms.
 * -1 if the name is invalid (status DNS_FORMERR is then reported) or out
 * of memory or the pool is full (*status DNS_ERROR); nothing is pending. */
int resolver_start(struct resolver *rs, const struct resolver_conf *rc, struct str name,
                   long timeout_ms, struct resolver_wait *w, resolver_cb cb, int *status);

/* Stops waiting (the lookup goes on and fills the cache). */
void resolver_cancel(struct resolver_wait *w);

static inline bool resolver_waiting(const struct resolver_wait *w)
{
    return w->entry != NULL;
}

#endif
