/* ups_peer.h - a group as one worker runs it, and the balancers.
 *
 * Every worker builds its own struct ups_rt for each group of its
 * generation's configuration: the peers (one per address of a server)
 * with nginx's mutable state - current and effective weights, failure
 * counts, active connections - the consistent-hash ring, and the idle
 * connections.  The configuration stays untouched, so a reload's new
 * workers start from a fresh state while the old ones finish their
 * requests with theirs.
 *
 * A request picks through struct ups_pick, the port of nginx's
 * round-robin peer data: ups_pick_next chooses a peer by the group's
 * method, ups_pick_done reports how the attempt went (a failure counts
 * towards max_fails), and the tries left say when to give up. */
#ifndef TP_UPSTREAM_UPS_PEER_H
#define TP_UPSTREAM_UPS_PEER_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sockaddr.h"
#include "core/str.h"
#include "upstream/ups.h"
#include "upstream/ups_pool.h"

struct mpool;

#define UPS_FAILED 1u /* ups_pick_done: the attempt failed */

/* One address of one server, in one worker. */
struct ups_peer {
    const struct ups_server *srv; /* its `server` line */
    struct ups_addr addr;         /* where to connect ($upstream_addr) */
    int weight;                   /* srv->weight */
    int current_weight;           /* smooth round-robin's running weight */
    int effective_weight;         /* lowered by failures, back by 1 per round */
    unsigned conns;               /* picks not yet done: active connections */
    unsigned fails;               /* failures counted towards max_fails */
    ev_tstamp accessed;           /* last failure */
    ev_tstamp checked;            /* last pick, or failure, while failures count */
    bool listed;                  /* still one of the group's (DNS may remove it) */
};

/* The primary servers' peers, or the backup servers'. */
struct ups_tier {
    struct ups_peer **peers; /* in config order (malloc) */
    size_t n;                /* how many */
    long total_weight;       /* sum of their weights */
};

/* A point of the consistent-hash ring. */
struct ups_point {
    uint32_t hash;      /* position on the ring */
    const char *server; /* the `server` line text it belongs to */
};

/* A group in one worker. */
struct ups_rt {
    const struct ups_group *g; /* the configuration */
    struct ups_peer ***by_srv; /* each server's peers (malloc), parallel to g->servers */
    size_t *nby_srv;           /* how many each */
    struct ups_tier primary;   /* non-backup peers */
    struct ups_tier backup;    /* backup peers */
    struct ups_point *points;  /* hash ... consistent: the ring (malloc) */
    size_t npoints;            /* its length */
    unsigned version;          /* bumped when the peers change (DNS) */
    struct ups_pool pool;      /* idle keep-alive connections */
};

/* One request's way through a group (nginx's peer data). */
struct ups_pick {
    struct ups_rt *rt;        /* the group */
    struct ups_tier *tier;    /* primary, or backup once the primary failed */
    uint64_t *tried;          /* a bit per peer of the tier already tried */
    size_t ntried;            /* words in tried */
    uint64_t tried_small;     /* tried's storage for up to 64 peers */
    struct mpool *pool;       /* where a larger tried comes from */
    struct ups_peer *current; /* picked, not yet done */
    unsigned tries;           /* peers left to try (nginx's pc->tries) */
    unsigned version;         /* rt->version tried is for */
    uint32_t hash;            /* hash methods: the running hash, or ring index */
    unsigned rehash;          /* hash: rounds so far */
    unsigned hash_tries;      /* hash methods: misses, 20 then round-robin */
    uint8_t addr[16];         /* ip_hash: the client address bytes */
    size_t addrlen;           /* 3 for IPv4, 16 for IPv6 */
    struct str key;           /* hash: the key's value for this request */
};

/* Builds a worker's state of g; NULL when out of memory. */
struct ups_rt *ups_rt_create(const struct ups_group *g);

/* Frees it; idle connections are closed. */
void ups_rt_destroy(struct ups_rt *rt);

/* Gives server srv (one of g->servers, marked resolve) the addresses
 * found by DNS: peers at addresses it keeps keep their state, the others
 * go (freed once no pick holds them).  -1 when out of memory (then the
 * old peers stay). */
int ups_rt_set_addrs(struct ups_rt *rt, size_t srv, const union sockaddr_any *addrs, size_t naddrs);

/* Starts a request's picks: client is the client's address (ip_hash),
 * key the hash key's value (hash); tried comes from pool when large.
 * -1 when out of memory. */
int ups_pick_init(struct ups_pick *p, struct ups_rt *rt, struct mpool *pool,
                  const union sockaddr_any *client, struct str key);

/* Picks a peer by the group's method into p->current (its conns counted).
 * -1 when none is available: nginx's "no live upstreams". */
int ups_pick_next(struct ups_pick *p, ev_tstamp now);

/* Ends the attempt on p->current: UPS_FAILED counts a failure, 0 a
 * success.  true when this failure took the server out for fail_timeout
 * (the caller logs nginx's "upstream server temporarily disabled"). */
bool ups_pick_done(struct ups_pick *p, unsigned state, ev_tstamp now);

/* For the balancers: frees a peer DNS removed once no pick holds it. */
void ups_peer_release(struct ups_peer *peer);

#endif
