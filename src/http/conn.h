/* conn.h - a client connection and its state machine.
 *
 * IDLE -> HEAD -> (handler) -> WRITE -> [DISCARD] -> IDLE or close.
 * A connection holds its read buffer and request only while it is busy, so
 * an idle keep-alive connection costs little more than this struct. */
#ifndef TP_CONN_H
#define TP_CONN_H

#include <ev.h>
#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/log.h"
#include "core/out.h"
#include "core/sockaddr.h"
#include "core/str.h"
#include "event/sock.h"

struct reactor;
struct req;
struct conf_addr;
struct conf_port;

enum conn_state {
    CS_IDLE,    /* between requests: no buffer, keep-alive timer */
    CS_HEAD,    /* reading a request head: header timer */
    CS_HANDLE,  /* a handler owns the request */
    CS_WRITE,   /* sending the response: send timer */
    CS_DISCARD, /* response sent; reading and dropping the rest of the body */
    CS_LINGER,  /* error sent, writes shut: draining input briefly */
    CS_CLOSED,  /* closed; memory goes with the last reference */
};

struct conn {
    struct sock sk;               /* the socket: registry, watcher, timer, transport */
    const struct conf_port *port; /* the listening socket it came from */
    const struct conf_addr *addr; /* listen address: its servers */
    union sockaddr_any peer;      /* client address */
    uint64_t id;                  /* connection number ("*42") */
    char *buf;                    /* read buffer, NULL while idle */
    uint32_t buf_cap;             /* its size */
    uint32_t buf_len;             /* bytes held */
    uint32_t parsed;              /* bytes handed to the parser */
    uint32_t nrequests;           /* requests started, this one included */
    http_parser parser;           /* kept across pipelined requests */
    struct req *req;              /* request in progress, or NULL */
    struct str out_head;          /* response head not yet sent */
    struct out_seg *out_seg;      /* body segment being sent, or NULL */
    size_t out_off;               /* bytes of out_seg already sent */
    uint16_t local_port;          /* port the client connected to */
    uint8_t state;                /* enum conn_state */
    bool nopush;                  /* tcp_nopush: MSG_MORE before file data */
    bool nodelay;                 /* TCP_NODELAY was set */
};

/* Takes over a socket accepted on a listen address of the http context
 * (data is its struct conf_port): conf_accept_cb's shape. */
void conn_accept(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data);

/* Closes now (sock_close).  Safe from inside the connection's callbacks. */
void conn_close(struct conn *c);

static inline struct conn *conn_of_sock(struct sock *s)
{
    return (struct conn *)s;
}

/* Sends a response head and body chain: what it can now, the rest when
 * the socket allows.  Both must live in the request's arena. */
void conn_send(struct conn *c, struct str head, struct out_seg *body);

/* For log lines: ", client: 1.2.3.4, server: x, request: "GET / HTTP/1.1"". */
int conn_log_context(const struct conn *c, char *buf, size_t cap);

/* Logs "message (errno: text), client: ..., request: ..." as nginx does. */
void conn_logf(const struct conn *c, enum log_level level, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
