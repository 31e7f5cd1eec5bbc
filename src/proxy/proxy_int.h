/* proxy_int.h - the proxied request's state, shared by the proxy's files
 * (proxy.c: the request and its upstream attempts; proxy_send.c: the
 * request to the upstream; proxy_recv.c: the response back; proxy_hdrs.c:
 * its headers; proxy_tunnel.c: upgraded connections).
 *
 * A proxied request moves through these phases:
 *
 *   [READ_BODY] -> [RESOLVE] -> CONNECT -> SEND -> HEAD -> BODY -> OVER
 *                                 ^                  |  \-> TUNNEL -> OVER
 *                                 +-- next upstream -+
 *
 * Until the response's head goes to the client, a failure may move on to
 * the next server (proxy_next_upstream); after it, only cutting the
 * response is left.
 *
 * The state is one malloc'd struct proxy_ctx, owned by the request (a
 * cleanup lets go of it) and reference counted: every callback into the
 * proxy holds it while it runs, because writing to the client can end
 * the request, and free its arena, before the write returns.  After any
 * call that can end the request (resp_write, resp_start, resp_error,
 * body_resume, conn_close), the caller checks proxy_over() and touches
 * nothing of the request when it is. */
#ifndef TP_PROXY_INT_H
#define TP_PROXY_INT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/owner.h"
#include "core/resolver.h"
#include "core/str.h"
#include "event/relay.h"
#include "event/sendq.h"
#include "http/req.h"
#include "proxy/proxy_conf.h"
#include "proxy/proxy_head.h"
#include "proxy/proxy_parse.h"
#include "proxy/proxy_uri.h"
#include "upstream/ups_conn.h"
#include "upstream/ups_peer.h"

enum proxy_phase {
    PX_READ_BODY, /* reading the client's body before anything (proxy_request_buffering) */
    PX_RESOLVE,   /* waiting for the address of a name (proxy_pass with variables) */
    PX_CONNECT,   /* connecting to a server */
    PX_SEND,      /* sending the request (an early answer is read meanwhile) */
    PX_HEAD,      /* reading the response head */
    PX_BODY,      /* passing the response body on */
    PX_TUNNEL,    /* an upgraded connection (WebSocket) */
    PX_OVER,      /* the request ended: nothing more happens */
};

/* One server tried, for the $upstream_* variables. */
struct proxy_attempt {
    char addr[UPS_ADDR_TEXT];   /* $upstream_addr */
    int status;                 /* its status, or the one its failure gave (502, 504) */
    ev_tstamp start;            /* when the connect began */
    double connect;             /* seconds to connect, -1 if it never did */
    double header;              /* seconds to the response head, -1 */
    double response;            /* seconds to the end of the response, -1 */
    uint64_t received;          /* bytes read from it */
    uint64_t sent;              /* bytes written to it */
    struct proxy_attempt *next; /* the one tried after */
};

/* What the $upstream_* and $proxy_* variables read.  It lives in the
 * request's arena and survives internal redirects (error_page after
 * proxy_intercept_errors, X-Accel-Redirect), as nginx's upstream states
 * do. */
struct proxy_log {
    struct proxy_attempt *first;  /* every server tried, in order */
    struct proxy_attempt *last;   /* the current one */
    const struct proxy_hdr *hdrs; /* the last response's headers ($upstream_http_) */
    size_t nhdrs;                 /* how many */
    uint64_t body_len; /* payload bytes of the last response ($upstream_response_length) */
    struct str host;   /* $proxy_host */
    struct str port;   /* $proxy_port */
};

/* Where the request goes. */
struct proxy_target {
    const struct ups_group *group; /* an upstream group, or NULL */
    struct ups_addr *addrs;        /* else these addresses (literal or looked up) */
    size_t naddrs;                 /* how many */
    struct str name;               /* a name still to look up, else empty */
    unsigned port;                 /* ... and the port to use with its addresses */
    struct str uri;                /* the URI to send */
    bool https;                    /* TLS to the upstream (proxy_ssl.h) */
};

/* How the next server is chosen: the group's balancer, or the addresses
 * in order. */
struct proxy_peers {
    struct ups_pick pick;        /* a group's picks */
    struct ups_rt *rt;           /* the group in this worker, or NULL */
    unsigned next;               /* addresses: the next one to try */
    unsigned tries;              /* addresses: tries left */
    const struct ups_addr *addr; /* the address being tried */
    bool picked;                 /* pick.current is held (ups_pick_done due) */
};

/* A buffer of response payload. */
struct proxy_buf {
    struct out_seg seg;     /* its payload as a link of the piece sent to the client */
    char *data;             /* the bytes (malloc'd on first use) */
    size_t cap;             /* room */
    size_t len;             /* payload held */
    struct proxy_buf *next; /* the list it is on */
};

/* The response's buffers: nginx's proxy_buffer_size one (the head, and
 * all of an unbuffered body) and proxy_buffers more when buffering.
 * Reading stops when every buffer is full or with the client. */
struct proxy_bufs {
    struct proxy_buf *slots; /* every buffer: [0] is the head buffer (malloc) */
    size_t nslots;           /* how many may exist */
    struct proxy_buf *free;  /* empty and allocated */
    size_t made;             /* slots used so far */
    struct proxy_buf *cur;   /* being filled */
    struct proxy_buf *queue; /* full, waiting for the client, oldest first */
    struct proxy_buf **qend; /* where the next full one goes */
    struct proxy_buf *out;   /* the piece with the client */
    size_t busy;             /* the most payload one piece carries */
};

struct proxy_ctx {
    struct owner own;           /* the request's reference, and each running callback's */
    struct req *r;              /* the request; NULL once it ended */
    const struct proxy_loc *pl; /* its location's settings */
    enum proxy_phase phase;     /* where it is */
    struct proxy_log *log;      /* the variables' side */
    struct proxy_target tg;     /* where to */
    struct proxy_peers peers;   /* which server */
    struct ups_conn *uc;        /* the connection in use, or NULL */
    struct resolver_wait dns;   /* a lookup waited for */
    ev_tstamp first_start;      /* the first connect (proxy_next_upstream_timeout) */
    /* the request upstream */
    struct str head;            /* its head (arena) */
    struct sendq q;             /* what is being sent */
    enum proxy_framing framing; /* how the body goes */
    uint64_t body_len;          /* PF_LENGTH: its length */
    bool head_method;           /* the request goes as HEAD: no response body follows */
    bool want_write;            /* the queue waits for the upstream to take more */
    bool send_again;            /* a new attempt waits for a pool job of the last one */
    bool request_sent;          /* sending began (nginx's request_sent, for non_idempotent) */
    bool stream_body;           /* the body goes as it arrives (proxy_request_buffering off) */
    bool body_started;          /* ... and some of it was taken from the client */
    bool piece;                 /* a body piece is waiting to be sent */
    bool piece_last;            /* ... the last one */
    bool pumping;               /* inside the body pump (no recursion) */
    bool in_piece;              /* inside the body reader's piece callback */
    bool resume;                /* the body reader is due to be resumed */
    bool sending;               /* the request is not all sent */
    bool file_wait;             /* a pool job fills q's buffer: the ctx is held for it */
    struct out_seg piece_seg;   /* the piece's bytes */
    char chunk_line[24];        /* its chunk size line */
    /* the response */
    struct proxy_parse pp;  /* its parser */
    struct proxy_bufs bufs; /* its buffers */
    size_t head_len;        /* bytes of the head buffer holding head bytes */
    bool reused;            /* the connection came from the keep-alive pool */
    bool fresh_retry;       /* a failure on a reused one was retried on a new one */
    bool ups_keepalive;     /* the connection may go back to the pool */
    bool ups_done;          /* the upstream's response ended */
    bool client_ready;      /* the client took the last piece: the next may go */
    bool writing;           /* inside resp_write: a proceed now means the socket took it all */
    bool keeping_up;        /* the client took the last piece at once: the next may be bigger */
    bool head_out;          /* the response head went to the client */
    bool read_stopped;      /* reading stopped: every buffer is taken */
    bool buffering;         /* proxy_buffering, or X-Accel-Buffering */
    /* the tunnel */
    struct relay relay; /* bytes both ways after a 101 */
    bool relaying;      /* the relay runs */
};

/* ---- proxy.c: the request, the servers, failures ---- */

/* Holding the ctx across a callback; proxy_over says the request ended. */
void proxy_hold(struct proxy_ctx *ctx);
void proxy_drop(struct proxy_ctx *ctx);
static inline bool proxy_over(const struct proxy_ctx *ctx)
{
    return ctx->phase == PX_OVER;
}

/* The request's ctx (NULL after an internal redirect). */
struct proxy_ctx *proxy_ctx_of(const struct req *r);

/* The request's response callbacks (resp_start). */
const struct resp_gen *proxy_resp_gen(void);

/* The request and its $upstream_* record (made on first use). */
struct proxy_log *proxy_log_of(struct req *r, bool make);

/* Logs "msg while <doing>, client: ..., upstream: ..." at level. */
void proxy_log_err(struct proxy_ctx *ctx, enum log_level level, int err, const char *msg,
                   const char *doing);

/* Lets go of everything of the upstream side (connection, pick, lookup,
 * buffers): the request is over for the proxy (proxy_over). */
void proxy_finish(struct proxy_ctx *ctx);

/* Answers with status before anything went to the client (nothing of the
 * upstream is held any more). */
void proxy_answer_error(struct proxy_ctx *ctx, int status);

/* A failure of the current server (ft: PX_FT_*): the next one, or an
 * error to the client.  Logged already. */
void proxy_next(struct proxy_ctx *ctx, unsigned ft);

/* A failure ft may go on to the next server (current_done: the current
 * one's attempt was ended already). */
bool proxy_may_retry(struct proxy_ctx *ctx, unsigned ft, bool current_done);

/* The request is ready to go upstream: look the name up, or connect. */
void proxy_go(struct proxy_ctx *ctx);

/* The server closed a kept-alive connection before answering anything:
 * true if it was retried on a fresh connection (once, whatever
 * proxy_next_upstream says). */
bool proxy_retry_fresh(struct proxy_ctx *ctx);

/* The upstream's response ended: its connection goes back to the pool
 * when it can carry another request. */
void proxy_upstream_done(struct proxy_ctx *ctx);

/* The response's head has gone to the client, so an upstream failure can
 * only cut it: logged, and the client's connection closed (a reset for a
 * body delimited by the close, which would otherwise look complete). */
void proxy_cut(struct proxy_ctx *ctx);

/* The connection's user callbacks (ups_conn_user). */
extern const struct ups_conn_user proxy_ups_user;

/* ---- proxy_send.c: the request upstream ---- */

/* The request head, once the target and the body's framing are known;
 * -1 when out of memory. */
int proxy_make_head(struct proxy_ctx *ctx);

/* The connection is up (new or reused): send the request. */
void proxy_send_start(struct proxy_ctx *ctx);

/* Right after the connect starts (proxy_protocol on): the PROXY header
 * for the request's client goes out first.  -1 on failure. */
int proxy_send_preface(struct proxy_ctx *ctx);

/* What the upstream socket waits for while the request goes out. */
void proxy_send_watch(struct proxy_ctx *ctx);

/* The upstream's readiness while the request goes out. */
void proxy_send_io(struct proxy_ctx *ctx, int revents);

/* Reads the client's body first, whole, when it must (proxy_request_
 * buffering, or a chunked body to an HTTP/1.0 upstream): true if it
 * started (proxy_go follows once it is read, or the request is
 * answered); false if the body goes as it arrives, or there is none. */
bool proxy_read_body(struct proxy_ctx *ctx);

/* ---- proxy_recv.c: the response ---- */

/* The upstream is readable while the head is awaited. */
void proxy_recv_head(struct proxy_ctx *ctx);

/* The upstream is readable while the body passes on. */
void proxy_recv_body(struct proxy_ctx *ctx);

/* The client took the last piece. */
void proxy_proceed(struct req *r);

/* Frees the response's buffers. */
void proxy_bufs_free(struct proxy_bufs *b);

/* ---- proxy_hdrs.c: the response's headers ---- */

/* The upstream's headers become the client's (hop-by-hop, hidden and
 * framing headers dropped, Location and Refresh rewritten by
 * proxy_redirect).  -1 when out of memory. */
int proxy_hdrs_out(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n, bool upgrade);

/* The first value of header name, or NULL. */
const struct str *proxy_hdr_find(const struct proxy_hdr *h, size_t n, const char *name);

/* ---- proxy_tunnel.c: after a 101 ---- */

/* The upstream switched protocols for a client that asked: the 101 goes
 * to the client, then the tunnel starts. */
void proxy_upgrade(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n, struct str reason);

/* The 101 went to the client: relay both ways. */
void proxy_tunnel_start(struct proxy_ctx *ctx);

/* The upstream's readiness, or its timer, in the tunnel. */
void proxy_tunnel_io(struct proxy_ctx *ctx);
void proxy_tunnel_timeout(struct proxy_ctx *ctx);

#endif
