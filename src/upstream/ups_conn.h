/* ups_conn.h - a connection to a backend.
 *
 * It is a struct sock of kind SOCK_UPSTREAM, so worker_connections counts
 * it, and the drain and the fast stop reach it.  ups_conn_open starts a
 * non-blocking connect (TCP or a unix socket) with a timeout; the user is
 * told how it went, never from inside the call.  While in use, the
 * connection's events go to its user; while idle it belongs to a
 * keep-alive pool (ups_pool.h).  Errors come with the text nginx logs
 * ("connect() failed (111: Connection refused)", "upstream timed out
 * (110: Connection timed out)"), to which the user adds its context
 * (" while connecting to upstream, client: ...").
 *
 * TLS to the backend: ups_conn_secure, right after ups_conn_open, puts the
 * connection under client TLS; the handshake follows the connect, under
 * the same timeout (nginx's proxy_connect_timeout covers both), and
 * `connected` comes once it is over.  Its failures say so (e->handshake:
 * " while SSL handshaking to upstream").  A kept-alive TLS connection
 * stays under TLS in its pool and is reused without a new handshake.
 *
 * A preface (ups_conn_preface: a PROXY protocol header) goes out in plain
 * once connected, before the TLS handshake when there is one, as nginx's
 * stream proxy sends it; the connect timeout covers it too. */
#ifndef TP_UPSTREAM_UPS_CONN_H
#define TP_UPSTREAM_UPS_CONN_H

#include <ev.h>
#include <stdbool.h>

#include "core/log.h"
#include "event/sock.h"
#include "upstream/ups.h"

struct reactor;
struct tls_client;
struct ups_conn;
struct ups_pool;

/* Why a connection could not be made. */
struct ups_err {
    enum log_level level; /* nginx's: error for refused, unreachable, timed out; else crit */
    int err;              /* errno, 0 for a limit */
    bool local;           /* our side failed (no socket, no connection slot): nginx's 500 */
    bool handshake;       /* it failed in the TLS handshake, after the connect */
    char text[192];       /* the log text, errno included */
};

/* What the user of a connection (a proxied request) does with it. */
struct ups_conn_user {
    /* The connect ended: e is NULL on success; on failure the connection
     * is already closed and must not be used again. */
    void (*connected)(struct ups_conn *uc, const struct ups_err *e);
    void (*io)(struct ups_conn *uc, int revents); /* readiness while in use */
    void (*timeout)(struct ups_conn *uc);         /* its timer fired while in use */
    /* The worker closes it (fast stop, worker_shutdown_timeout): the user
     * lets go; the connection closes right after. */
    void (*abort)(struct ups_conn *uc);
};

enum ups_conn_state {
    UC_CONNECTING, /* connect in progress */
    UC_PREFACE,    /* connected, the preface going out */
    UC_HANDSHAKE,  /* connected, TLS handshake in progress */
    UC_BUSY,       /* in use by its user */
    UC_IDLE,       /* in a keep-alive pool */
};

struct ups_conn {
    struct sock sock;                 /* first: the reactor's socket */
    struct ups_addr addr;             /* where it is connected */
    const struct ups_conn_user *user; /* its user, NULL while idle */
    void *data;                       /* the user's pointer */
    struct ups_pool *pool;            /* the pool it is idle in, or NULL */
    struct ups_conn *prev;            /* the pool's list, most recent first */
    struct ups_conn *next;
    ev_tstamp start;              /* when it connected (keepalive_time) */
    unsigned requests;            /* requests it carried (keepalive_requests) */
    const struct tls_client *tls; /* the TLS configuration it is under, NULL for plain */
    char *preface;                /* bytes to send first (malloc), or NULL */
    size_t preface_len;           /* how many */
    size_t preface_off;           /* of those, sent */
    unsigned char state;          /* enum ups_conn_state */
};

/* Starts connecting to addr; `connected` follows within timeout_ms.
 * NULL with e filled when it fails at once (then nothing follows). */
struct ups_conn *ups_conn_open(struct reactor *rx, const struct ups_addr *addr, long timeout_ms,
                               const struct ups_conn_user *user, void *data, struct ups_err *e);

/* Right after ups_conn_open: TLS with configuration c once connected,
 * name verified (and sent as SNI when sni).  -1 when out of memory (the
 * connection is left as it was). */
int ups_conn_secure(struct ups_conn *uc, const struct tls_client *c, const char *name, bool sni);

/* Right after ups_conn_open: len bytes of p (copied) go out first, in
 * plain, before any TLS.  -1 when out of memory. */
int ups_conn_preface(struct ups_conn *uc, const void *p, size_t len);

/* Hands a connection (from a pool) to a user. */
void ups_conn_attach(struct ups_conn *uc, const struct ups_conn_user *user, void *data);

/* Closes it (the memory goes in the reactor's sweep). */
void ups_conn_close(struct ups_conn *uc);

/* Fills e for errno err the way nginx words it: "connect() to ADDR
 * failed" when connect() itself failed, "connect() failed" when the
 * failure came later, "upstream timed out" for ETIMEDOUT. */
void ups_err_connect(struct ups_err *e, int err, const struct ups_addr *addr, bool at_once);

#endif
