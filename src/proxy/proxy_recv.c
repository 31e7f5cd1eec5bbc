/* proxy_recv.c - the upstream's response: its head read and judged (the
 * next server, an intercepted error, X-Accel-Redirect, an upgrade), then
 * its body passed on to the client through bounded buffers.
 *
 * Payload is decoded in place into one buffer at a time; a buffer that is
 * full waits in a queue; whenever the client has taken the last piece,
 * what is queued (up to proxy_busy_buffers_size, at least one buffer) and
 * then the partial buffer go as the next piece.  When no buffer is left
 * to read into, reading the upstream stops until the client takes a
 * piece: memory stays at proxy_buffer_size plus proxy_buffers, whatever
 * the client's pace (nginx with proxy_max_temp_file_size 0). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event/reactor.h"
#include "event/transport.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/handle.h"
#include "http/resp.h"
#include "proxy/proxy_int.h"

#define PROXY_READS_PER_EVENT 8 /* reads of one upstream before the loop runs again */
#define PROXY_READ_IOV 16       /* buffers one read may fill */

static ev_tstamp proxy_since(const struct proxy_ctx *ctx)
{
    return ev_now(ctx->r->c->sk.rx->loop) - ctx->log->last->start;
}

/* ---- buffers ------------------------------------------------------------------------- */

void proxy_bufs_free(struct proxy_bufs *b)
{
    for (size_t i = 0; b->slots != NULL && i < b->made; i++)
        free(b->slots[i].data);
    free(b->slots);
    memset(b, 0, sizeof(*b));
}

/* The head buffer (proxy_buffer_size), made with room for every other. */
static struct proxy_buf *proxy_head_buf(struct proxy_ctx *ctx)
{
    struct proxy_bufs *b = &ctx->bufs;
    size_t n = 1 + (size_t)ctx->pl->buffers_num;
    if (b->slots == NULL && (b->slots = calloc(n, sizeof(*b->slots))) == NULL)
        return NULL;
    b->nslots = n;
    struct proxy_buf *hb = &b->slots[0];
    if (hb->data == NULL) {
        hb->cap = (size_t)ctx->pl->buffer_size;
        if ((hb->data = malloc(hb->cap)) == NULL)
            return NULL;
        b->made = 1;
    }
    return hb;
}

static void proxy_enqueue(struct proxy_bufs *b, struct proxy_buf *buf)
{
    buf->next = NULL;
    *b->qend = buf;
    b->qend = &buf->next;
}

static struct proxy_buf *proxy_dequeue(struct proxy_bufs *b)
{
    struct proxy_buf *buf = b->queue;
    b->queue = buf->next;
    if (b->queue == NULL)
        b->qend = &b->queue;
    return buf;
}

/* An empty buffer: a free one, or a new one while the limit allows;
 * NULL when every one is taken. */
static struct proxy_buf *proxy_spare_buf(struct proxy_ctx *ctx)
{
    struct proxy_bufs *b = &ctx->bufs;
    struct proxy_buf *buf = b->free;
    if (buf != NULL) {
        b->free = buf->next;
    } else if (b->made < b->nslots) {
        buf = &b->slots[b->made];
        buf->cap = (size_t)ctx->pl->buffers_size;
        if ((buf->data = malloc(buf->cap)) == NULL)
            return NULL;
        b->made++;
    }
    if (buf != NULL)
        buf->len = 0;
    return buf;
}

static void proxy_unspare_buf(struct proxy_bufs *b, struct proxy_buf *buf)
{
    buf->next = b->free;
    b->free = buf;
}

/* A buffer with room to read into: the current one, or a spare one;
 * NULL when every one is taken. */
static struct proxy_buf *proxy_fill_buf(struct proxy_ctx *ctx)
{
    struct proxy_bufs *b = &ctx->bufs;
    if (b->cur != NULL && b->cur->len < b->cur->cap)
        return b->cur;
    if (b->cur != NULL)
        proxy_enqueue(b, b->cur);
    b->cur = proxy_spare_buf(ctx);
    return b->cur;
}

/* ---- to the client ------------------------------------------------------------------- */

static void proxy_link(struct proxy_bufs *b, struct proxy_buf *buf, struct out_seg ***tail)
{
    buf->seg = (struct out_seg){.kind = OUT_MEM, .p = buf->data, .len = buf->len};
    **tail = &buf->seg;
    *tail = &buf->seg.next;
    buf->next = b->out;
    b->out = buf;
}

/* The next piece: what is queued, then what is being filled.  Up to
 * proxy_busy_buffers_size while the client lags; all of it while the
 * client's socket takes each piece at once (nginx's busy buffers are
 * those the socket has not taken: none then). */
static struct out_seg *proxy_piece_chain(struct proxy_ctx *ctx)
{
    struct proxy_bufs *b = &ctx->bufs;
    struct out_seg *chain = NULL, **tail = &chain;
    size_t total = 0, busy = ctx->keeping_up ? SIZE_MAX : b->busy;
    while (b->queue != NULL && (total == 0 || total + b->queue->len <= busy)) {
        total += b->queue->len;
        proxy_link(b, proxy_dequeue(b), &tail);
    }
    if (b->queue == NULL && b->cur != NULL && b->cur->len > 0 &&
        (total == 0 || total + b->cur->len <= busy)) {
        proxy_link(b, b->cur, &tail);
        b->cur = NULL;
    }
    return chain;
}

/* Sends the next piece if the client is ready for one (the head goes with
 * the first, even an empty one).  May end the request. */
static void proxy_flush(struct proxy_ctx *ctx)
{
    if (proxy_over(ctx) || !ctx->client_ready)
        return;
    struct proxy_bufs *b = &ctx->bufs;
    struct out_seg *chain = proxy_piece_chain(ctx);
    bool last = ctx->ups_done && b->queue == NULL && (b->cur == NULL || b->cur->len == 0);
    if (chain == NULL && !last && ctx->head_out)
        return;
    ctx->client_ready = false;
    ctx->head_out = true;
    ctx->writing = true;
    resp_write(ctx->r, chain, last);
    ctx->writing = false; /* ctx outlives the request: the caller holds it */
}

void proxy_proceed(struct req *r)
{
    struct proxy_ctx *ctx = proxy_ctx_of(r);
    if (ctx == NULL || proxy_over(ctx))
        return;
    proxy_hold(ctx);
    if (ctx->phase == PX_TUNNEL) {
        proxy_tunnel_start(ctx);
        proxy_drop(ctx);
        return;
    }
    struct proxy_bufs *b = &ctx->bufs;
    while (b->out != NULL) {
        struct proxy_buf *buf = b->out;
        b->out = buf->next;
        buf->len = 0;
        proxy_unspare_buf(b, buf);
    }
    ctx->client_ready = true;
    ctx->keeping_up = ctx->writing;
    /* Reading goes on from the loop, never from inside the writer. */
    if (ctx->read_stopped && ctx->uc != NULL) {
        ctx->read_stopped = false;
        sock_watch(&ctx->uc->sock, EV_READ);
        sock_arm(&ctx->uc->sock, ctx->pl->read_timeout);
    }
    proxy_flush(ctx);
    proxy_drop(ctx);
}

/* ---- the body ------------------------------------------------------------------------- */

/* n raw bytes read at the end of buf's payload: decoded; the end of the
 * message ends the upstream's part.  beyond: bytes read after these (in
 * the next buffers of the same read).  -1 when the response was cut. */
static int proxy_take(struct proxy_ctx *ctx, struct proxy_buf *buf, size_t n, size_t beyond)
{
    size_t out, extra;
    enum proxy_parse_rc rc = proxy_parse_body(&ctx->pp, buf->data + buf->len, n, &out, &extra);
    extra += beyond;
    buf->len += out;
    ctx->log->body_len += out;
    if (rc == PP_ERROR) {
        proxy_log_err(ctx, LL_ERR, 0, ctx->pp.err, "reading upstream");
        proxy_cut(ctx);
        return -1;
    }
    if (rc != PP_DONE)
        return 0;
    if (extra > 0)
        proxy_log_err(ctx, LL_WARN, 0,
                      ctx->pp.chunked ? "upstream sent data after final chunk"
                                      : "upstream sent more data than specified in "
                                        "\"Content-Length\" header",
                      "reading upstream");
    ctx->ups_keepalive = ctx->pp.keepalive && extra == 0;
    proxy_upstream_done(ctx);
    return 0;
}

/* The upstream closed: the end of a body delimited by the close, else a
 * response cut short. */
static int proxy_body_eof(struct proxy_ctx *ctx)
{
    if (proxy_parse_eof(&ctx->pp) == PP_DONE) {
        ctx->ups_keepalive = false;
        proxy_upstream_done(ctx);
        return 0;
    }
    proxy_log_err(ctx, LL_ERR, 0, "upstream prematurely closed connection", "reading upstream");
    proxy_cut(ctx);
    return -1;
}

/* The buffers one read fills: the current one, then spare ones when the
 * transport can scatter (nginx reads into every free buffer at once). */
static int proxy_read_iov(struct proxy_ctx *ctx, struct proxy_buf *cur, struct iovec *iov,
                          struct proxy_buf **bufs)
{
    bufs[0] = cur;
    iov[0] = (struct iovec){cur->data + cur->len, cur->cap - cur->len};
    int k = 1;
    struct proxy_buf *spare;
    while (ctx->uc->sock.tp->readv != NULL && k < PROXY_READ_IOV &&
           (spare = proxy_spare_buf(ctx)) != NULL) {
        bufs[k] = spare;
        iov[k++] = (struct iovec){spare->data, spare->cap};
    }
    return k;
}

/* n > 0 bytes arrived over bufs: each buffer's share decoded in turn, a
 * spare buffer with none given back.  A cut frees every buffer. */
static int proxy_took(struct proxy_ctx *ctx, const struct iovec *iov, struct proxy_buf **bufs,
                      int k, size_t n)
{
    struct proxy_bufs *b = &ctx->bufs;
    for (int i = 0; i < k; i++) {
        size_t take = n < iov[i].iov_len ? n : iov[i].iov_len;
        n -= take;
        if (i > 0 && (take == 0 || ctx->ups_done)) {
            proxy_unspare_buf(b, bufs[i]);
            continue;
        }
        if (i > 0) {
            proxy_enqueue(b, b->cur);
            b->cur = bufs[i];
        }
        if (proxy_take(ctx, bufs[i], take, n) < 0)
            return -1;
    }
    return 0;
}

/* One read into the buffers: 1 to read on, 0 to wait, -1 when cut. */
static int proxy_read_once(struct proxy_ctx *ctx)
{
    struct ups_conn *uc = ctx->uc;
    struct proxy_buf *buf = proxy_fill_buf(ctx);
    if (buf == NULL && ctx->bufs.out == NULL && ctx->bufs.queue == NULL) {
        proxy_log_err(ctx, LL_ALERT, ENOMEM, "malloc() failed", "reading upstream");
        proxy_cut(ctx); /* nothing is with the client to wait for */
        return -1;
    }
    if (buf == NULL) {
        ctx->read_stopped = true; /* backpressure: the client's turn */
        sock_watch(&uc->sock, 0);
        timer_disarm(&uc->sock.timer);
        return 0;
    }
    struct iovec iov[PROXY_READ_IOV];
    struct proxy_buf *bufs[PROXY_READ_IOV];
    int k = proxy_read_iov(ctx, buf, iov, bufs);
    ssize_t n = k > 1 ? uc->sock.tp->readv(&uc->sock, iov, k)
                      : uc->sock.tp->read(&uc->sock, iov[0].iov_base, iov[0].iov_len);
    for (int i = 1; n <= 0 && i < k; i++)
        proxy_unspare_buf(&ctx->bufs, bufs[i]);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0 && errno == EAGAIN) {
        sock_watch(&uc->sock, EV_READ);
        sock_arm(&uc->sock, ctx->pl->read_timeout);
        return 0;
    }
    if (n == 0)
        return proxy_body_eof(ctx);
    if (n < 0) {
        proxy_log_err(ctx, LL_ERR, errno, "recv() failed", "reading upstream");
        proxy_cut(ctx);
        return -1;
    }
    ctx->log->last->received += (uint64_t)n;
    return proxy_took(ctx, iov, bufs, k, (size_t)n) < 0 ? -1 : 1;
}

void proxy_recv_body(struct proxy_ctx *ctx)
{
    for (int i = 0; i < PROXY_READS_PER_EVENT && !ctx->ups_done; i++) {
        int rc = proxy_read_once(ctx);
        if (rc < 0)
            return;
        if (rc == 0)
            break;
    }
    proxy_flush(ctx);
}

/* ---- the head -------------------------------------------------------------------------- */

static void proxy_head_invalid(struct proxy_ctx *ctx, const char *msg)
{
    proxy_log_err(ctx, LL_ERR, 0, msg, "reading response header from upstream");
    proxy_next(ctx, PX_FT_INVALID);
}

static void proxy_head_closed(struct proxy_ctx *ctx, int err)
{
    if (proxy_retry_fresh(ctx))
        return;
    proxy_log_err(ctx, LL_ERR, err,
                  err ? "recv() failed" : "upstream prematurely closed connection",
                  "reading response header from upstream");
    proxy_next(ctx, PX_FT_ERROR);
}

/* Waiting for more of the head; while the request still goes out, its
 * watcher and timer are the sending side's. */
static void proxy_head_wait(struct proxy_ctx *ctx)
{
    if (ctx->phase == PX_SEND) {
        proxy_send_watch(ctx);
        return;
    }
    sock_watch(&ctx->uc->sock, EV_READ);
    sock_arm(&ctx->uc->sock, ctx->pl->read_timeout);
}

static unsigned proxy_status_ft(int status)
{
    switch (status) {
    case 500:
        return PX_FT_500;
    case 502:
        return PX_FT_502;
    case 503:
        return PX_FT_503;
    case 504:
        return PX_FT_504;
    case 403:
        return PX_FT_403;
    case 404:
        return PX_FT_404;
    case 429:
        return PX_FT_429;
    default:
        return 0;
    }
}

/* proxy_intercept_errors: an error_page for the status answers instead. */
static bool proxy_intercepted(struct proxy_ctx *ctx)
{
    const struct loc_conf *loc = ctx->r->loc;
    int status = ctx->pp.status;
    if (status < 300 || !ctx->pl->intercept_errors)
        return false;
    for (size_t i = 0; i < loc->nerror_pages; i++) {
        if (loc->error_pages[i].code == status) {
            proxy_answer_error(ctx, status);
            return true;
        }
    }
    return false;
}

/* X-Accel-Redirect: an internal redirect instead of this response. */
static bool proxy_accel_redirect(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n)
{
    const struct str *uri = proxy_hdr_find(h, n, "x-accel-redirect");
    struct req *r = ctx->r;
    if ((ctx->pl->ignore & PX_IGN_XA_REDIRECT) || uri == NULL || uri->len == 0)
        return false;
    proxy_finish(ctx);
    r->gen = NULL;
    if (r->method != HTTP_HEAD)
        r->method = HTTP_GET;
    handle_redirect(r, *uri);
    return true;
}

static void proxy_x_accel_buffering(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n)
{
    const struct str *v = proxy_hdr_find(h, n, "x-accel-buffering");
    if (v == NULL || (ctx->pl->ignore & PX_IGN_XA_BUFFERING))
        return;
    if (str_case_eq(*v, "yes"))
        ctx->buffering = true;
    else if (str_case_eq(*v, "no"))
        ctx->buffering = false;
}

/* The buffers for the body: the head buffer, with the bytes after the
 * head moved to its start, is the first. */
static size_t proxy_bufs_start(struct proxy_ctx *ctx)
{
    struct proxy_bufs *b = &ctx->bufs;
    struct proxy_buf *hb = &b->slots[0];
    size_t rest = ctx->head_len - ctx->pp.head_len;
    b->nslots = ctx->buffering ? 1 + (size_t)ctx->pl->buffers_num : 1;
    b->busy = (size_t)(ctx->buffering ? ctx->pl->busy_buffers_size : ctx->pl->buffer_size);
    b->queue = b->free = b->out = NULL;
    b->qend = &b->queue;
    memmove(hb->data, hb->data + ctx->pp.head_len, rest);
    hb->len = 0;
    b->cur = hb;
    return rest;
}

static void proxy_respond(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n,
                          struct str reason)
{
    struct req *r = ctx->r;
    proxy_x_accel_buffering(ctx, h, n);
    r->status = ctx->pp.status;
    r->status_line = reason;
    r->resp_length = ctx->pp.chunked ? -1 : ctx->pp.content_length;
    if (proxy_hdrs_out(ctx, h, n, false) < 0) {
        proxy_answer_error(ctx, 500);
        return;
    }
    if (resp_start(r, proxy_resp_gen()) < 0)
        return; /* the connection closed: done has run */
    ctx->phase = PX_BODY;
    ctx->client_ready = true;
    size_t rest = proxy_bufs_start(ctx);
    if ((rest > 0 || ctx->pp.msg_done) && proxy_take(ctx, ctx->bufs.cur, rest, 0) < 0)
        return;
    if (!ctx->ups_done) {
        sock_watch(&ctx->uc->sock, EV_READ);
        sock_arm(&ctx->uc->sock, ctx->pl->read_timeout);
    }
    proxy_flush(ctx);
}

static void proxy_got_head(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    struct proxy_attempt *a = ctx->log->last;
    struct proxy_hdr *h;
    struct str reason;
    size_t n;
    a->header = proxy_since(ctx);
    a->status = ctx->pp.status;
    if (proxy_parse_headers(&ctx->pp, &r->pool, &h, &n, &reason) < 0) {
        proxy_answer_error(ctx, 500);
        return;
    }
    ctx->log->hdrs = h;
    ctx->log->nhdrs = n;
    if (ctx->pp.status == 101) {
        if (req_header(r, "Upgrade") == NULL)
            proxy_head_invalid(ctx, "upstream sent \"101 Switching Protocols\" to a request "
                                    "without \"Upgrade\"");
        else
            proxy_upgrade(ctx, h, n, reason);
        return;
    }
    unsigned ft = proxy_status_ft(ctx->pp.status);
    if (ft != 0 && proxy_may_retry(ctx, ft, false)) {
        proxy_next(ctx, ft);
        return;
    }
    if (!proxy_intercepted(ctx) && !proxy_accel_redirect(ctx, h, n))
        proxy_respond(ctx, h, n, reason);
}

void proxy_recv_head(struct proxy_ctx *ctx)
{
    struct proxy_buf *hb = proxy_head_buf(ctx);
    struct ups_conn *uc = ctx->uc;
    if (hb == NULL) {
        proxy_answer_error(ctx, 500);
        return;
    }
    for (;;) {
        ssize_t n = uc->sock.tp->read(&uc->sock, hb->data + ctx->head_len, hb->cap - ctx->head_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            proxy_head_wait(ctx);
            return;
        }
        if (n <= 0) {
            proxy_head_closed(ctx, n < 0 ? errno : 0);
            return;
        }
        ctx->log->last->received += (uint64_t)n;
        ctx->head_len += (size_t)n;
        enum proxy_parse_rc rc = proxy_parse_head(&ctx->pp, hb->data, &ctx->head_len);
        if (rc == PP_ERROR)
            proxy_head_invalid(ctx, ctx->pp.err);
        else if (rc == PP_HEAD)
            proxy_got_head(ctx);
        else if (ctx->head_len == hb->cap)
            proxy_head_invalid(ctx, "upstream sent too big header");
        else
            continue;
        return;
    }
}
