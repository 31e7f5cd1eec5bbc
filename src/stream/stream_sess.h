/* stream_sess.h - one TCP session of the stream context.
 *
 * An accepted connection (after its PROXY header, when the listen asks
 * for one) goes through TLS when the listen says `ssl`, then connects to
 * a server of its upstream group (nginx's next-upstream rules on a failed
 * connect), sends the PROXY header when `proxy_protocol` is on (in plain,
 * before the TLS handshake of `proxy_ssl on`, as nginx does), and
 * relays both ways (event/relay.h: splice between plain sockets) until
 * both directions end, one side fails, or nothing moves for
 * proxy_timeout.  Then the access log gets its line.  A draining worker
 * keeps its sessions until they end (worker_shutdown_timeout closes what
 * is left). */
#ifndef TP_STREAM_STREAM_SESS_H
#define TP_STREAM_STREAM_SESS_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/mpool.h"
#include "core/sockaddr.h"
#include "event/relay.h"
#include "event/sock.h"
#include "upstream/ups_peer.h"

struct pp_hdr;
struct reactor;
struct stream_port;
struct stream_srv;
struct ups_conn;

enum stream_state {
    SS_HANDSHAKE,  /* TLS handshake in progress */
    SS_CONNECTING, /* connecting to an upstream server */
    SS_RELAY,      /* relaying */
    SS_DONE,       /* finished, logged, closing */
};

struct stream_sess {
    struct sock sk;                 /* first: the client's socket */
    const struct stream_port *port; /* where it was accepted */
    const struct stream_srv *srv;   /* its server */
    union sockaddr_any peer;        /* the client ($remote_addr): the PROXY header's source
                                       when set_real_ip_from trusts the connection's peer */
    union sockaddr_any conn_peer;   /* the connection's peer ($realip_remote_addr) */
    union sockaddr_any local;       /* the address it connected to ($server_addr) */
    struct pp_hdr *pp;              /* the PROXY header it came with, or NULL */
    struct ups_conn *up;            /* the upstream connection, or NULL */
    struct ups_pick pick;           /* the group's picks */
    struct mpool pool;              /* the picks' larger tried bits */
    struct relay relay;             /* both directions once connected */
    char *early;                    /* client bytes read with the end of the handshake */
    size_t early_len;               /* how many */
    ev_tstamp start;                /* accepted */
    ev_tstamp try_start;            /* the first connect began (next_upstream_timeout) */
    ev_tstamp connect_start;        /* the current connect began */
    char up_addrs[256];             /* $upstream_addr: every server tried, ", " between */
    char up_times[128];             /* $upstream_connect_time, likewise */
    uint64_t up_sent;               /* bytes sent to the upstream (PROXY header included) */
    uint32_t pp_out_len;            /* the PROXY header sent upstream, bytes */
    uint64_t up_received;           /* bytes received from it */
    uint64_t sent;                  /* bytes sent to the client */
    uint64_t received;              /* bytes received from the client */
    int status;                     /* nginx's session status: 200, 400, 403, 500, 502, 503 */
    unsigned char state;            /* enum stream_state */
    bool picking;                   /* pick holds a peer not yet done */
    bool relaying;                  /* relay was started */
    bool tls_ready;                 /* the handshake ended */
};

/* The accept callback of every stream listen address (conf_listen). */
void stream_accept(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data);

/* The session's address for the PROXY header and $remote_addr's
 * neighbours: the PROXY header's source when one came with addresses,
 * else the connection's. */
const union sockaddr_any *stream_client_addr(const struct stream_sess *s);
const union sockaddr_any *stream_server_addr(const struct stream_sess *s);

#endif
