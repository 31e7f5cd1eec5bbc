/* conn.c - the client connection state machine. */
#include "http/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "core/ofile.h"
#include "event/reactor.h"
#include "event/transport.h"
#include "http/alog.h"
#include "http/body.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/errlog.h"
#include "http/handle.h"
#include "http/req.h"
#include "http/req_check.h"
#include "http/resp.h"
#include "http/ssl_conf.h"

#define CONN_LINGER_MS 5000
#define CONN_DISCARD_CHUNK 4096

static struct conn *conn_of_io(ev_io *io)
{
    return (struct conn *)((char *)io - offsetof(struct conn, sk.io));
}

static const struct loc_conf *conn_loc(const struct conn *c)
{
    if (c->req != NULL)
        return resp_loc(c->req);
    return c->addr->default_srv->loc;
}

static void conn_watch(struct conn *c, int events)
{
    sock_watch(&c->sk, events);
}

static void conn_arm(struct conn *c, long ms)
{
    sock_arm(&c->sk, ms);
}

static void conn_free(struct sock *s)
{
    struct conn *c = conn_of_sock(s);
    if (c->req != NULL) {
        conn_out_reset(c);
        req_free(c->req);
    }
    free(c->buf);
    free(c->pp);
    free(c);
}

/* The handler answering a request hears exactly once how it ended. */
static void conn_gen_done(struct req *r, bool complete)
{
    if (r->gen == NULL || r->gen_done)
        return;
    r->gen_done = true;
    r->gen->done(r, complete);
}

void conn_abort(struct conn *c)
{
    /* SO_LINGER 0: close() sends RST and frees the socket's buffers at
     * once instead of waiting out FIN_WAIT with unsent data. */
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    if (http_extra(conn_loc(c))->reset_timedout_connection)
        (void)setsockopt(sock_fd(&c->sk), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    conn_close(c);
}

void conn_close(struct conn *c)
{
    if (c->state == CS_CLOSED)
        return;
    c->state = CS_CLOSED;
    if (c->req != NULL)
        conn_gen_done(c->req, false);
    sock_close(&c->sk);
}

int conn_log_context(const struct conn *c, char *buf, size_t cap)
{
    char addr[64];
    sockaddr_text(&c->peer, false, addr, sizeof(addr));
    const struct req *r = c->req;
    int n = snprintf(buf, cap, ", client: %s", addr);
    if (r != NULL && r->srv != NULL && r->srv->nnames > 0 && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, ", server: %s", r->srv->names[0].text);
    struct str m = r != NULL ? req_method_sent(r) : str_make("", 0);
    if (r != NULL && r->head_done && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, ", request: \"%.*s %.*s HTTP/%u.%u\"", (int)m.len,
                      m.p, (int)r->target.len, r->target.p, r->http_major, r->http_minor);
    if (r != NULL && r->host.len > 0 && n >= 0 && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, ", host: \"%.*s\"", (int)r->host.len, r->host.p);
    return n;
}

/* The error logs of the level serving the connection's request, or of
 * its address's default server before there is one (nginx's). */
static const struct log_set *conn_log_set(const struct conn *c)
{
    if (c->req != NULL)
        return errlog_of(resp_loc(c->req));
    return c->addr != NULL ? errlog_of(c->addr->default_srv->loc) : NULL;
}

void conn_logf(const struct conn *c, enum log_level level, int err, const char *fmt, ...)
{
    char msg[1024], ctx[512], errtext[160] = "";
    const struct log_set *set = conn_log_set(c);
    va_list ap;
    if (!log_set_enabled(set, level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err != 0)
        snprintf(errtext, sizeof(errtext), " (%d: %s)", err, strerror(err));
    conn_log_context(c, ctx, sizeof(ctx));
    log_msg_set(set, level, c->sk.id, 0, "%s%s%s", msg, errtext, ctx);
}

static void conn_log(const struct conn *c, enum log_level level, int err, const char *msg)
{
    conn_logf(c, level, err, "%s", msg);
}

/* ---- closing with lingering -------------------------------------------- */

/* After an error response the client may still be sending; closing at once
 * would reset the connection and could destroy the response in flight. */
static void conn_linger(struct conn *c)
{
    if (c->sk.tp->shutdown(&c->sk) < 0) {
        conn_close(c);
        return;
    }
    c->state = CS_LINGER;
    conn_watch(c, EV_READ);
    conn_arm(c, CONN_LINGER_MS);
}

static void conn_linger_read(struct conn *c)
{
    char scratch[CONN_DISCARD_CHUNK];
    for (;;) {
        ssize_t n = c->sk.tp->read(&c->sk, scratch, sizeof(scratch));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        conn_close(c);
        return;
    }
}

/* ---- reading a request head ------------------------------------------- */

static void conn_dispatch(struct conn *c);
static void conn_request_done(struct conn *c);

static int conn_status_for(struct req *r, enum http_errno e)
{
    return r != NULL ? req_refuse_parse(r, e) : 400;
}

static void conn_bad_request(struct conn *c, int status)
{
    struct req *r = c->req;
    conn_log(c, LL_INFO, 0, req_refusal(r, status));
    c->state = CS_HANDLE;
    timer_disarm(&c->sk.timer);
    r->keepalive = false;
    resp_error(r, status);
}

static int conn_check_chunks_now(struct conn *c);

/* The strictness http-parser lacks, before anything acts on the request.
 * The parser pauses one byte short of the head's end, and that byte (after
 * the final CR) must be checked too. */
static int conn_check_head(struct conn *c)
{
    struct req *r = c->req;
    r->head_len = c->parsed + 1 <= c->buf_len ? c->parsed + 1 : c->parsed;
    req_set_views(r, c->buf);
    int status = req_check_head(c->buf, r->head_len, &r->refusal);
    if (status == 0)
        status = req_check_semantics(r, &r->refusal);
    if (status == 0 && r->chunked) {
        chunk_check_init(&r->chunk);
        r->chunk_fed = r->head_len;
        /* Body bytes already here are checked before anything answers, so
         * a request with bad framing gets its 400, as nginx's discarding
         * of what it has read gives. */
        if (conn_check_chunks_now(c) < 0)
            status = 400;
    }
    return status;
}

/* A request without a body is complete at the end of its head: let the
 * parser take the head's last byte now, so the response can tell that
 * nothing more belongs to this request.  A chunked body is decoded by the
 * chunk decoder, not the parser: it starts right after that byte. */
static int conn_finish_bodiless(struct conn *c)
{
    struct req *r = c->req;
    if (r->chunked && c->parsed < r->head_len) {
        r->request_length += r->head_len - c->parsed;
        c->parsed = r->head_len;
    }
    if (r->chunked || r->content_length > 0 || r->upgrade)
        return 0;
    http_parser_pause(&c->req->parser, 0);
    size_t n = http_parser_execute(&c->req->parser, &req_parser_settings, c->buf + c->parsed,
                                   c->buf_len - c->parsed);
    c->parsed += (uint32_t)n;
    r->request_length += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->req->parser);
    if (e == HPE_PAUSED && r->body_done)
        return 0;
    conn_bad_request(c, conn_status_for(r, e));
    return -1;
}

/* A chunked body's framing is checked before the parser sees it, since
 * http-parser accepts framing that other servers would split differently. */
static int conn_check_chunks_now(struct conn *c)
{
    struct req *r = c->req;
    if (!r->chunked || r->chunk.done || r->chunk_fed >= c->buf_len)
        return 0;
    ssize_t k = chunk_check_feed(&r->chunk, c->buf + r->chunk_fed, c->buf_len - r->chunk_fed);
    if (k < 0) {
        r->refusal = "client sent invalid chunked body";
        return -1;
    }
    r->chunk_fed += (uint32_t)k;
    return 0;
}

static int conn_check_chunks(struct conn *c)
{
    if (c->state == CS_HEAD || c->req == NULL || conn_check_chunks_now(c) == 0)
        return 0;
    conn_log(c, LL_INFO, 0, c->req->refusal);
    return -1;
}

/* Body bytes nobody reads (after the response): through the framing to
 * find where the next request starts. */
static void conn_parse_body(struct conn *c)
{
    ssize_t n = req_feed_body(c->req, c->buf + c->parsed, c->buf_len - c->parsed);
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->parsed += (uint32_t)n;
    if (c->req->body_done)
        conn_request_done(c);
}

/* Runs the parser over buffered bytes and acts on where it stopped. */
static void conn_parse(struct conn *c)
{
    if (conn_check_chunks(c) < 0) {
        conn_close(c);
        return;
    }
    if (c->state != CS_HEAD) {
        conn_parse_body(c);
        return;
    }
    enum http_errno e = req_parse_head(c->req, c->buf, c->buf_len, &c->parsed);
    if (e == HPE_PAUSED) {
        if (c->state != CS_HEAD) {
            conn_request_done(c);
            return;
        }
        int status = conn_check_head(c);
        if (status != 0) {
            conn_bad_request(c, status);
            return;
        }
        if (conn_finish_bodiless(c) == 0)
            conn_dispatch(c);
        return;
    }
    if (e != HPE_OK)
        conn_bad_request(c, conn_status_for(c->req, e));
}

/* Makes room for more head bytes, doubling up to the large buffers' total.
 * Returns 0, or the status that refuses a head too large to hold. */
static int conn_grow(struct conn *c)
{
    const struct loc_conf *loc = conn_loc(c);
    uint32_t first = (uint32_t)loc->client_header_buffer_size;
    uint32_t max = (uint32_t)(loc->large_header_buffers * loc->large_header_buffer_size);
    if (c->buf != NULL && c->buf_len < c->buf_cap)
        return 0;
    if (max < first)
        max = first;
    if (c->buf != NULL && c->buf_cap >= max)
        return c->req != NULL && c->req->nhdrs == 0 ? 414 : 431;
    uint32_t want = c->buf == NULL ? first : c->buf_cap * 2;
    want = want > max ? max : want;
    char *grown = realloc(c->buf, want);
    if (grown == NULL)
        return 500;
    c->buf = grown;
    c->buf_cap = want;
    return 0;
}

static int conn_start_request(struct conn *c)
{
    if (c->req != NULL)
        return 0;
    c->req = req_new(c);
    if (c->req == NULL)
        return -1;
    http_parser_init(&c->req->parser, HTTP_REQUEST);
    c->req->parser.data = c;
    c->req->start = ev_now(c->sk.rx->loop);
    c->req->line_max = (uint32_t)conn_loc(c)->large_header_buffer_size;
    c->nrequests++;
    if (c->state == CS_IDLE)
        conn_arm(c, conn_loc(c)->client_header_timeout);
    c->state = CS_HEAD;
    return 0;
}

/* An idle connection that woke without data goes back to holding nothing. */
static void conn_back_to_idle_memory(struct conn *c)
{
    if (c->req != NULL && c->buf_len == 0) {
        req_free(c->req);
        c->req = NULL;
        c->nrequests--;
        free(c->buf);
        c->buf = NULL;
        c->buf_cap = 0;
    }
}

static void conn_read_head(struct conn *c)
{
    if (c->parsed < c->buf_len) {
        /* Pipelined bytes are already here. */
        bool fresh = c->req == NULL;
        if (conn_start_request(c) < 0) {
            conn_close(c);
            return;
        }
        c->req->pipelined |= fresh && c->nrequests > 1;
        conn_parse(c);
        return;
    }
    if (conn_start_request(c) < 0) {
        conn_close(c);
        return;
    }
    int status = conn_grow(c);
    if (status != 0) {
        conn_bad_request(c, status);
        return;
    }
    ssize_t n = c->sk.tp->read(&c->sk, c->buf + c->buf_len, c->buf_cap - c->buf_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        conn_back_to_idle_memory(c);
        return;
    }
    if (n <= 0) {
        if (c->buf_len > 0)
            conn_log(c, LL_INFO, n < 0 ? errno : 0, "client prematurely closed connection");
        conn_close(c);
        return;
    }
    c->buf_len += (uint32_t)n;
    conn_parse(c);
}

/* ---- handling ------------------------------------------------------------ */

/* ---- a handler has the request ------------------------------------------ */

void conn_wait(struct conn *c, long ms)
{
    c->state = CS_HANDLE;
    conn_watch(c, EV_READ);
    if (ms > 0)
        conn_arm(c, ms);
    else
        timer_disarm(&c->sk.timer);
}

void req_wait(struct req *r, const struct resp_gen *gen, long timeout_ms)
{
    r->gen = gen;
    conn_wait(r->c, timeout_ms);
}

void req_wait_end(struct req *r)
{
    r->gen = NULL;
    conn_watch(r->c, 0);
    timer_disarm(&r->c->sk.timer);
}

/* The client's side while a handler that asked for it waits: a close ends
 * the request (nginx's "client prematurely closed connection"); data (a
 * pipelined request, an unread body) cannot be told from anything else,
 * so watching stops rather than spin on a readable socket. */
static void conn_watch_client(struct conn *c)
{
    switch (c->sk.tp->probe(&c->sk)) {
    case PROBE_CLOSED:
        conn_log(c, LL_INFO, 0, "client prematurely closed connection");
        conn_close(c);
        break;
    case PROBE_DATA:
        conn_watch(c, 0);
        break;
    case PROBE_NOTHING:
        break;
    }
}

void conn_hand_over(struct conn *c, void (*ready)(void *data), void (*timeout)(void *data),
                    void *data)
{
    struct req *r = c->req;
    r->tunnel_ready = ready;
    r->tunnel_timeout = timeout;
    r->tunnel_data = data;
    r->keepalive = false;
    c->state = CS_TUNNEL;
    timer_disarm(&c->sk.timer);
}

void conn_body_read(struct conn *c)
{
    c->state = CS_BODY;
    conn_watch(c, EV_READ);
    conn_arm(c, conn_loc(c)->client_body_timeout);
}

void conn_body_write(struct conn *c)
{
    c->state = CS_BODY;
    conn_watch(c, c->sk.want);
    conn_arm(c, conn_loc(c)->send_timeout);
}

void conn_body_pause(struct conn *c)
{
    c->state = CS_BODY;
    conn_watch(c, 0);
    timer_disarm(&c->sk.timer);
}

void conn_body_end(struct conn *c)
{
    if (c->req->gen != NULL) {
        conn_wait(c, 0);
        return;
    }
    c->state = CS_HANDLE;
    conn_watch(c, 0);
    timer_disarm(&c->sk.timer);
}

int conn_append(struct conn *c, const char *p, size_t len)
{
    if (c->buf_len + len > c->buf_cap) {
        char *grown = realloc(c->buf, c->buf_len + len);
        if (grown == NULL)
            return -1;
        c->buf = grown;
        c->buf_cap = c->buf_len + (uint32_t)len;
    }
    memcpy(c->buf + c->buf_len, p, len);
    c->buf_len += (uint32_t)len;
    return 0;
}

static void conn_dispatch(struct conn *c)
{
    struct req *r = c->req;
    c->state = CS_HANDLE;
    timer_disarm(&c->sk.timer);
    conn_watch(c, 0);
    /* As in nginx, the path is parsed before Host picks the server: the
     * address's default server says whether slashes merge. */
    int status = req_finish_head(r, http_extra(c->addr->default_srv->loc)->merge_slashes);
    if (status != 0) {
        conn_log(c, LL_INFO, 0, req_refusal(r, status));
        r->keepalive = false;
        resp_error(r, status);
        return;
    }
    handle_request(r);
}

/* ---- after the response ------------------------------------------------ */

static void conn_discard(struct conn *c)
{
    for (;;) {
        if (c->parsed < c->buf_len) {
            conn_parse(c);
            if (c->state != CS_DISCARD || c->req->body_done)
                return;
        }
        /* Body bytes already parsed are of no use: reuse the buffer. */
        c->buf_len = c->parsed = 0;
        c->req->chunk_fed = 0;
        ssize_t n = c->sk.tp->read(&c->sk, c->buf, c->buf_cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            conn_watch(c, EV_READ);
            conn_arm(c, conn_loc(c)->client_body_timeout);
            return;
        }
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->buf_len = (uint32_t)n;
    }
}

static void conn_response_done(struct conn *c);

/* A piece has gone: the response is done, or the handler may send the
 * next one. */
void conn_sent(struct conn *c)
{
    if (c->req->wout.last) {
        conn_response_done(c);
        return;
    }
    if (c->req->gen != NULL)
        conn_watch(c, EV_READ); /* a close while the handler produces */
    else
        conn_watch(c, 0);
    resp_proceed(c->req);
}

static void conn_response_done(struct conn *c)
{
    struct req *r = c->req;
    conn_out_reset(c);
    if (body_stop(r) < 0) {
        conn_close(c);
        return;
    }
    conn_gen_done(r, true);
    /* Logged now: the head the line refers to is still in the buffer,
     * which discarding the body or the next request reuses. */
    alog_request(r);
    if (!r->keepalive) {
        /* Nothing more to read means nothing to linger for. */
        if (r->body_done && c->parsed == c->buf_len)
            conn_close(c);
        else
            conn_linger(c);
        return;
    }
    if (r->body_done) {
        conn_request_done(c);
        return;
    }
    c->state = CS_DISCARD;
    http_parser_pause(&c->req->parser, 0);
    conn_discard(c);
}

void conn_nodelay(struct conn *c, const struct loc_conf *loc)
{
    if (!c->nodelay && loc->tcp_nodelay) {
        int one = 1;
        c->nodelay = setsockopt(sock_fd(&c->sk), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
    }
}

static void conn_go_idle(struct conn *c)
{
    /* nginx sets TCP_NODELAY when a connection first goes keep-alive: the
     * next response must not wait for the ACK of this one. */
    conn_nodelay(c, conn_loc(c));
    free(c->buf);
    c->buf = NULL;
    c->buf_cap = c->buf_len = c->parsed = 0;
    c->state = CS_IDLE;
    conn_watch(c, EV_READ);
    conn_arm(c, conn_loc(c)->keepalive_timeout);
}

/* The request was fully read and answered: on to the next one. */
static void conn_request_done(struct conn *c)
{
    struct req *r = c->req;
    if (!r->keepalive) {
        conn_linger(c);
        return;
    }
    req_free(r);
    c->req = NULL;
    memmove(c->buf, c->buf + c->parsed, c->buf_len - c->parsed);
    c->buf_len -= c->parsed;
    c->parsed = 0;
    if (c->buf_len == 0) {
        conn_go_idle(c);
        return;
    }
    /* Pipelined: parse the next request from the loop, not from this stack,
     * so a long pipeline cannot grow the stack. */
    c->state = CS_IDLE;
    conn_watch(c, EV_READ);
    ev_feed_event(c->sk.rx->loop, &c->sk.io, EV_READ);
}

/* ---- events ------------------------------------------------------------------ */

static void conn_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    struct conn *c = conn_of_io(io);
    (void)loop;
    (void)revents;
    switch (c->state) {
    case CS_IDLE:
    case CS_HEAD:
        conn_read_head(c);
        break;
    case CS_HANDLE:
        conn_watch_client(c);
        break;
    case CS_BODY:
        body_io(c->req);
        break;
    case CS_WRITE:
        if (c->req->wout.queued)
            conn_write(c);
        else
            conn_watch_client(c);
        break;
    case CS_DISCARD:
        conn_discard(c);
        break;
    case CS_LINGER:
        conn_linger_read(c);
        break;
    case CS_TUNNEL:
        c->req->tunnel_ready(c->req->tunnel_data);
        break;
    default:
        break;
    }
}

static void conn_timeout(struct timer_node *node)
{
    struct conn *c = (struct conn *)((char *)node - offsetof(struct conn, sk.timer));
    if (c->state == CS_WRITE && c->req->wout.delayed) {
        conn_write_wake(c);
        return;
    }
    if (c->state == CS_BODY) {
        body_timeout(c->req);
        return;
    }
    if (c->state == CS_TUNNEL) {
        c->req->tunnel_timeout(c->req->tunnel_data);
        return;
    }
    /* As in nginx, a connection that timed out in a request is reset
     * under reset_timedout_connection; an idle one just closes. */
    bool in_request =
        (c->state == CS_HEAD && c->buf_len > 0) || c->state == CS_WRITE || c->state == CS_DISCARD;
    if (c->state == CS_HEAD && c->buf_len > 0)
        conn_log(c, LL_INFO, ETIMEDOUT, "client timed out while reading request head");
    else if (c->state == CS_WRITE || c->state == CS_DISCARD)
        conn_log(c, LL_INFO, ETIMEDOUT, "client timed out");
    if (in_request)
        conn_abort(c);
    else
        conn_close(c);
}

/* The worker began draining: idle connections close after the grace
 * period; busy ones finish their request with "Connection: close". */
static void conn_drain(struct sock *s)
{
    struct conn *c = conn_of_sock(s);
    if (c->state == CS_IDLE || (c->state == CS_HEAD && c->buf_len == 0))
        conn_close(c);
}

static void conn_close_sock(struct sock *s)
{
    conn_close(conn_of_sock(s));
}

static const struct sock_ops conn_sock_ops = {
    .drain = conn_drain,
    .close = conn_close_sock,
    .free = conn_free,
};

int conn_local_addr(const struct conn *c, union sockaddr_any *out)
{
    socklen_t len = sizeof(*out);
    *out = c->addr->addr;
    if (c->port->path != NULL || !sockaddr_is_wildcard(out))
        return 0;
    return getsockname(sock_fd(&c->sk), &out->sa, &len);
}

/* A wildcard socket also serves the specific addresses of its port: the
 * connection's local address picks which. */
static const struct conf_addr *conn_addr_of(const struct conf_port *p, int fd)
{
    if (p->naddrs == 1)
        return &p->addrs[0];
    union sockaddr_any local;
    socklen_t len = sizeof(local);
    if (getsockname(fd, &local.sa, &len) == 0) {
        for (size_t i = 1; i < p->naddrs; i++)
            if (sockaddr_equal(&p->addrs[i].addr, &local))
                return &p->addrs[i];
    }
    return &p->addrs[0];
}

void conn_accept(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data)
{
    conn_open(rx, fd, peer, data, NULL);
}

void conn_open(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data,
               struct pp_hdr *pp)
{
    const struct conf_port *port = data;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        log_msg(LL_ALERT, 0, errno, "cannot allocate a connection");
        free(pp);
        close(fd);
        return;
    }
    c->pp = pp;
    sock_open(&c->sk, rx, fd, SOCK_CLIENT, &conn_sock_ops, conn_io_cb, conn_timeout);
    c->peer = *peer;
    /* 32 bits of milliseconds wrap after 49 days; a difference stays right
     * for connections younger than that (in the padding after peer). */
    c->start_ms = (uint32_t)(uint64_t)(ev_now(rx->loop) * 1000.0);
    c->port = port;
    c->addr = conn_addr_of(port, fd);
    c->local_port = (uint16_t)sockaddr_port(&port->addr);
    c->state = CS_HEAD;
    ev_io_start(rx->loop, &c->sk.io);
    conn_arm(c, c->addr->default_srv->loc->client_header_timeout);
    /* TLS: its handshake comes before the first read returns a byte. */
    if (c->addr->ssl && ssl_conn_start(c) < 0)
        conn_close(c);
}
