/* conn.h - a client connection and its state machine.
 *
 * IDLE -> HEAD -> HANDLE [<-> BODY] -> WRITE -> [DISCARD] -> IDLE or close.
 * A connection holds its read buffer and request only while it is busy, so
 * an idle keep-alive connection costs little more than this struct.
 *
 * While a handler has the request (HANDLE, and WRITE between streamed
 * pieces) the connection keeps watching the client: a close ends the
 * request (the handler hears it through its resp_gen), and a timeout the
 * handler asked for (req_wait) runs. */
#ifndef TP_HTTP_CONN_H
#define TP_HTTP_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/log.h"
#include "core/out.h"
#include "core/sockaddr.h"
#include "core/str.h"
#include "event/sock.h"

struct pp_hdr;
struct reactor;
struct req;
struct conf_addr;
struct conf_port;
struct loc_conf;

enum conn_state {
    CS_IDLE,    /* between requests: no buffer, keep-alive timer */
    CS_HEAD,    /* reading a request head: header timer */
    CS_HANDLE,  /* a handler has the request: watching for the client to go */
    CS_BODY,    /* reading the request body for the handler: body timer */
    CS_WRITE,   /* sending the response: send timer */
    CS_DISCARD, /* response sent; reading and dropping the rest of the body */
    CS_LINGER,  /* error sent, writes shut: draining input briefly */
    CS_TUNNEL,  /* no longer HTTP (after a 101): a handler moves the bytes */
    CS_CLOSED,  /* closed; memory goes with the last reference */
};

struct conn {
    struct sock sk;               /* the socket: registry, watcher, timer, transport */
    const struct conf_port *port; /* the listening socket it came from */
    const struct conf_addr *addr; /* listen address: its servers */
    union sockaddr_any peer;      /* client address */
    uint32_t start_ms;            /* ev_now in ms at accept, wrapping ($connection_time) */
    char *buf;                    /* read buffer, NULL while idle */
    uint32_t buf_cap;             /* its size */
    uint32_t buf_len;             /* bytes held */
    uint32_t parsed;              /* bytes handed to the parser */
    uint32_t nrequests;           /* requests started, this one included */
    struct req *req;              /* request in progress, or NULL */
    uint16_t local_port;          /* port the client connected to */
    uint8_t state;                /* enum conn_state */
    bool nodelay;                 /* TCP_NODELAY was set */
    struct pp_hdr *pp;            /* its PROXY header (listen ... proxy_protocol), or NULL */
};

/* Takes over a socket accepted on a listen address of the http context
 * (data is its struct conf_port): conf_accept_cb's shape. */
void conn_accept(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data);

/* conn_accept for a connection whose PROXY header came first (pp, which
 * the connection frees; http/conn_pp.c). */
void conn_open(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data,
               struct pp_hdr *pp);

/* Closes now (sock_close); a handler still answering hears it through
 * gen->done(r, false).  Safe from inside the connection's callbacks. */
void conn_close(struct conn *c);

/* Closes a connection that is given up on (timed out in a request, or
 * `return 444`): with reset_timedout_connection on, with a reset. */
void conn_abort(struct conn *c);

static inline struct conn *conn_of_sock(struct sock *s)
{
    return (struct conn *)s;
}

/* Queues one piece of the response: head, then chain, then tail (each may
 * be empty), which must stay valid until it is sent.  When it has gone,
 * the response is done (last) or the handler is asked for the next piece
 * (resp_proceed). */
void conn_send(struct conn *c, struct str head, struct out_seg *chain, struct str tail, bool last);

/* The writer's readiness (conn_write.c), and its state after a response. */
void conn_write(struct conn *c);
void conn_out_reset(struct conn *c);

/* The timer of a limit_rate pause ran out (conn_write.c). */
void conn_write_wake(struct conn *c);

/* The piece queued last has gone (conn_write.c to conn.c). */
void conn_sent(struct conn *c);

/* Sets TCP_NODELAY on the connection once, if loc's tcp_nodelay is on. */
void conn_nodelay(struct conn *c, const struct loc_conf *loc);

/* The address the client connected to: the listen address when it is a
 * specific one (or a unix socket's), else asked of the socket, as nginx
 * does.  -1 with errno when the socket cannot say. */
int conn_local_addr(const struct conn *c, union sockaddr_any *out);

/* The handler answers later: watch for the client, and time out after ms
 * (0: no timeout) (req_wait). */
void conn_wait(struct conn *c, long ms);

/* After a 101 Switching Protocols has gone out, the connection stops being
 * HTTP: its readiness and timer go to ready(data) and timeout(data) until
 * the handler ends the response (resp_write(r, NULL, true)), which closes
 * it.  A draining worker keeps it open until then (or
 * worker_shutdown_timeout); the client's own socket is c->sk. */
void conn_hand_over(struct conn *c, void (*ready)(void *data), void (*timeout)(void *data),
                    void *data);

/* The body reader's states (body.c): reading (body timer), writing the
 * interim "100 Continue", paused for the handler or the pool, and done. */
void conn_body_read(struct conn *c);
void conn_body_write(struct conn *c);
void conn_body_pause(struct conn *c);
void conn_body_end(struct conn *c);

/* Appends bytes to the read buffer (bytes read past the request's body);
 * -1 when out of memory. */
int conn_append(struct conn *c, const char *p, size_t len);

/* For log lines: ", client: 1.2.3.4, server: x, request: "GET / HTTP/1.1"". */
int conn_log_context(const struct conn *c, char *buf, size_t cap);

/* Logs "message (errno: text), client: ..., request: ..." as nginx does. */
void conn_logf(const struct conn *c, enum log_level level, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
