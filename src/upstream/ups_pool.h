/* ups_pool.h - idle keep-alive connections of one group, per worker
 * (nginx's `keepalive N`).
 *
 * A connection its user is done with goes back with ups_pool_put; the
 * pool keeps at most N of them, closing the least recently used when
 * full, and closes one that has served keepalive_requests requests or
 * lived keepalive_time.  An idle connection is watched: the backend
 * closing it, or sending anything, closes it here, and keepalive_timeout
 * closes it too.  ups_pool_get finds one to the chosen backend's address,
 * and probes it through its transport before handing it over, since the
 * backend may have closed it in the same loop iteration. */
#ifndef TP_UPSTREAM_UPS_POOL_H
#define TP_UPSTREAM_UPS_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "upstream/ups_conn.h"

struct ups_group;

struct ups_pool {
    struct ups_conn *head; /* idle connections, most recently used first */
    struct ups_conn *tail; /* the least recently used */
    size_t n;              /* how many */
    size_t max;            /* keepalive N; 0 keeps none */
    long timeout;          /* keepalive_timeout, ms */
    long time;             /* keepalive_time, ms */
    long requests;         /* keepalive_requests */
};

void ups_pool_init(struct ups_pool *p, const struct ups_group *g);

/* Takes back a connection whose user is done and whose last response was
 * read to its end.  true if kept; false if it was closed instead (no
 * room for keep-alive, limits reached, or the worker is draining). */
bool ups_pool_put(struct ups_pool *p, struct ups_conn *uc);

/* An idle connection to addr, still open, handed to user; or NULL. */
struct ups_conn *ups_pool_get(struct ups_pool *p, const struct ups_addr *addr,
                              const struct ups_conn_user *user, void *data);

/* The same for a connection under TLS with configuration tls (NULL: a
 * plain one): one pool may hold both when http:// and https:// name the
 * same group, and a connection is only reused as it was made. */
struct ups_conn *ups_pool_get_tls(struct ups_pool *p, const struct ups_addr *addr,
                                  const struct tls_client *tls, const struct ups_conn_user *user,
                                  void *data);

/* Closes every idle connection (the worker drains or stops). */
void ups_pool_close_all(struct ups_pool *p);

/* For ups_conn.c: an idle connection's readiness (the backend closed it,
 * or sent what it should not have), and its leaving the pool. */
void ups_pool_idle_event(struct ups_conn *uc);
void ups_pool_forget(struct ups_conn *uc);

#endif
