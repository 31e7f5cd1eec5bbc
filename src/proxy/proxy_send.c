/* proxy_send.c - the request to the upstream: its head, and its body,
 * read whole first (memory, or a temporary file that goes by sendfile) or
 * passed on piece by piece as it arrives (proxy_request_buffering off),
 * re-framed by turnpike either way. */
#include <errno.h>
#include <stdio.h>

#include "core/fmt.h"
#include "event/proxy_proto.h"
#include "http/body.h"
#include "http/conn.h"
#include "proxy/proxy_int.h"
#include "tls/tls_conn.h"
#include "upstream/ups_conn.h"
#include "upstream/ups_pp.h"

#define PROXY_PIECES_PER_EVENT 16 /* body pieces passed on before the loop runs again */

/* ---- the PROXY header ------------------------------------------------------------- */

int proxy_send_preface(struct proxy_ctx *ctx)
{
    const struct proxy_loc *pl = ctx->pl;
    struct conn *c = ctx->r->c;
    struct ups_pp_opts o = {.version = (int)pl->pp_version,
                            .crc32c = pl->pp_crc32c == 1,
                            .unique_id = pl->pp_unique_id == 1};
    union sockaddr_any local;
    uint8_t buf[PP_MAX];
    if (conn_local_addr(c, &local) < 0) {
        proxy_log_err(ctx, LL_ALERT, errno, "getsockname() failed", "making the PROXY header");
        return -1;
    }
    /* c->peer is the client realip found, as $remote_addr. */
    size_t len = ups_pp_header(buf, sizeof(buf), &o, &c->peer, &local, tls_conn_of(&c->sk));
    if (len == 0 || ups_conn_preface(ctx->uc, buf, len) < 0) {
        proxy_log_err(ctx, LL_ALERT, 0, "cannot make the PROXY header", "connecting to upstream");
        return -1;
    }
    return 0;
}

/* ---- the body read first ------------------------------------------------------------ */

static void proxy_body_read(struct req *r, int status)
{
    struct proxy_ctx *ctx = proxy_ctx_of(r);
    if (ctx == NULL || proxy_over(ctx))
        return;
    proxy_hold(ctx);
    if (status != 0) {
        proxy_answer_error(ctx, status); /* logged by the reader */
    } else {
        ctx->framing = PF_LENGTH;
        ctx->body_len = body_chain(r)->len;
        proxy_go(ctx);
    }
    proxy_drop(ctx);
}

bool proxy_read_body(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    const struct proxy_loc *pl = ctx->pl;
    /* A Content-Length: 0 goes on as one. */
    ctx->framing = pl->pass_request_body && r->content_length == 0 ? PF_LENGTH : PF_NONE;
    if (!pl->pass_request_body || !body_expected(r))
        return false;
    /* HTTP/1.0 has no chunked framing: such a body must be counted first. */
    if (!pl->request_buffering && (pl->http_version == 11 || !r->chunked)) {
        ctx->stream_body = true;
        ctx->framing = r->chunked ? PF_CHUNKED : PF_LENGTH;
        ctx->body_len = r->chunked ? 0 : (uint64_t)r->content_length;
        return false;
    }
    ctx->phase = PX_READ_BODY;
    if (body_read_whole(r, proxy_body_read) < 0)
        proxy_answer_error(ctx, 500);
    return true;
}

/* ---- the head ------------------------------------------------------------------------ */

int proxy_make_head(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    const struct proxy_loc *pl = ctx->pl;
    struct proxy_head_in in = {
        .uri = ctx->tg.uri,
        .http11 = pl->http_version == 11,
        .nset = pl->nset,
        .host = ctx->log->host,
        .client = pl->pass_request_headers ? r->hdrs : NULL,
        .nclient = pl->pass_request_headers ? r->nhdrs : 0,
        .framing = ctx->framing,
        .length = ctx->body_len,
    };
    struct proxy_hdr *set = mpool_alloc(&r->pool, sizeof(*set) * (pl->nset + 1));
    if (set == NULL)
        return -1;
    for (size_t i = 0; i < pl->nset; i++) {
        set[i].name = pl->set[i].name;
        if (cval_eval(&pl->set[i].value, r, &set[i].value) < 0)
            return -1;
    }
    in.set = set;
    if (pl->method != NULL) {
        if (cval_eval(pl->method, r, &in.method) < 0)
            return -1;
    } else {
        const char *m = http_method_str(r->method);
        in.method = str_make(m, strlen(m));
    }
    ctx->head_method = str_eq(in.method, "HEAD");
    return proxy_head_build(&r->pool, &in, &ctx->head);
}

/* ---- writing ------------------------------------------------------------------------- */

void proxy_send_watch(struct proxy_ctx *ctx)
{
    int ev = EV_READ; /* an early answer, or a close */
    if (ctx->want_write)
        ev |= ctx->uc->sock.want;
    if (ctx->resume)
        ev |= EV_WRITE; /* come back from the loop to read on */
    sock_watch(&ctx->uc->sock, ev);
}

static void proxy_send_failed(struct proxy_ctx *ctx)
{
    char msg[64];
    if (proxy_retry_fresh(ctx))
        return;
    snprintf(msg, sizeof(msg), "%s failed", ctx->q.failed);
    proxy_log_err(ctx, LL_ERR, ctx->q.err, msg, "sending request to upstream");
    proxy_next(ctx, PX_FT_ERROR);
}

/* Everything went: now the response. */
static void proxy_request_sent(struct proxy_ctx *ctx)
{
    ctx->sending = false;
    if (ctx->phase != PX_SEND)
        return;
    ctx->phase = PX_HEAD;
    sock_watch(&ctx->uc->sock, EV_READ);
    sock_arm(&ctx->uc->sock, ctx->pl->read_timeout);
}

static void proxy_pump(struct proxy_ctx *ctx);
static void proxy_stream_start(struct proxy_ctx *ctx);

/* What was queued has gone. */
static void proxy_sent(struct proxy_ctx *ctx)
{
    timer_disarm(&ctx->uc->sock.timer);
    if (ctx->stream_body && !ctx->body_started) {
        proxy_stream_start(ctx);
        return;
    }
    if (!ctx->stream_body || ctx->piece_last) {
        proxy_request_sent(ctx);
        return;
    }
    ctx->piece = false;
    ctx->resume = true;
    if (ctx->pumping)
        return; /* its loop goes on */
    if (ctx->in_piece)
        proxy_send_watch(ctx); /* the body reader is below us: from the loop */
    else
        proxy_pump(ctx);
}

static void proxy_send_more(struct proxy_ctx *ctx)
{
    struct ups_conn *uc = ctx->uc;
    ctx->want_write = false;
    switch (sendq_write(&ctx->q, &uc->sock, &ctx->log->last->sent)) {
    case SENDQ_DONE:
        proxy_sent(ctx);
        break;
    case SENDQ_AGAIN:
        ctx->want_write = true;
        proxy_send_watch(ctx);
        sock_arm(&uc->sock, ctx->pl->send_timeout);
        break;
    case SENDQ_POOL:
        ctx->file_wait = true;
        proxy_hold(ctx); /* for the job's end (proxy_filled) */
        proxy_send_watch(ctx);
        break;
    case SENDQ_ERROR:
        proxy_send_failed(ctx);
        break;
    }
}

/* A pool job read the temporary file's next bytes. */
static void proxy_filled(struct sendq *q, void *data)
{
    struct proxy_ctx *ctx = data;
    (void)q;
    ctx->file_wait = false;
    if (proxy_over(ctx))
        sendq_free(&ctx->q);
    else if (ctx->send_again)
        proxy_send_start(ctx);
    else if (ctx->uc != NULL)
        proxy_send_more(ctx);
    proxy_drop(ctx);
}

void proxy_send_start(struct proxy_ctx *ctx)
{
    const struct out *body = body_chain(ctx->r);
    ctx->phase = PX_SEND;
    ctx->request_sent = ctx->sending = true;
    ctx->piece = ctx->piece_last = ctx->resume = false;
    /* A pool job still fills the buffer for an earlier attempt. */
    ctx->send_again = ctx->file_wait;
    if (ctx->file_wait)
        return;
    /* The reader's chain is read, never changed, by the queue. */
    struct out_seg *chain =
        !ctx->stream_body && ctx->framing == PF_LENGTH ? (struct out_seg *)body->head : NULL;
    sendq_set(&ctx->q, ctx->head, chain, STR_LIT(""));
    ctx->q.sendfile = ctx->r->loc->sendfile != 0;
    ctx->q.nopush = false;
    ctx->q.filled = proxy_filled;
    ctx->q.data = ctx;
    proxy_send_more(ctx);
}

/* ---- the body as it arrives ----------------------------------------------------------- */

/* One piece in turnpike's own framing. */
static void proxy_queue_piece(struct proxy_ctx *ctx, const char *p, size_t len, bool last)
{
    struct str head = STR_LIT(""), tail = STR_LIT("");
    ctx->piece = true;
    ctx->piece_last = last;
    ctx->piece_seg = (struct out_seg){.kind = OUT_MEM, .p = p, .len = len};
    if (ctx->framing == PF_CHUNKED && len > 0) {
        char *e = fmt_lit(fmt_hex(ctx->chunk_line, len), "\r\n");
        head = str_make(ctx->chunk_line, (size_t)(e - ctx->chunk_line));
        tail = last ? STR_LIT("\r\n0\r\n\r\n") : STR_LIT("\r\n");
    } else if (ctx->framing == PF_CHUNKED && last) {
        tail = STR_LIT("0\r\n\r\n");
    }
    sendq_set(&ctx->q, head, len > 0 ? &ctx->piece_seg : NULL, tail);
}

static void proxy_piece(struct req *r, const char *p, size_t len, bool last)
{
    struct proxy_ctx *ctx = proxy_ctx_of(r);
    /* An answer that came early ends the sending: the rest is dropped. */
    if (ctx == NULL || ctx->phase != PX_SEND)
        return;
    proxy_hold(ctx);
    ctx->in_piece = true;
    proxy_queue_piece(ctx, p, len, last);
    proxy_send_more(ctx);
    ctx->in_piece = false;
    proxy_drop(ctx);
}

static void proxy_body_failed(struct req *r, int status)
{
    struct proxy_ctx *ctx = proxy_ctx_of(r);
    if (ctx == NULL || proxy_over(ctx))
        return;
    proxy_hold(ctx);
    if (ctx->head_out)
        proxy_cut(ctx);
    else
        proxy_answer_error(ctx, status);
    proxy_drop(ctx);
}

/* Resumes the body reader, which hands the next piece, sent at once when
 * the upstream takes it: a loop, not recursion, and a bounded one, so a
 * fast client and upstream cannot hold the worker. */
static void proxy_pump(struct proxy_ctx *ctx)
{
    int budget = PROXY_PIECES_PER_EVENT;
    ctx->pumping = true;
    while (ctx->resume && !proxy_over(ctx) && ctx->phase == PX_SEND) {
        if (budget-- == 0) {
            proxy_send_watch(ctx);
            break;
        }
        ctx->resume = false;
        body_resume(ctx->r);
    }
    ctx->pumping = false;
    if (!proxy_over(ctx) && ctx->phase == PX_SEND && !ctx->resume && !ctx->want_write)
        proxy_send_watch(ctx);
}

static void proxy_stream_start(struct proxy_ctx *ctx)
{
    ctx->body_started = true;
    proxy_send_watch(ctx);
    if (body_read_stream(ctx->r, proxy_piece, proxy_body_failed) < 0) {
        proxy_answer_error(ctx, 500);
        return;
    }
    if (!proxy_over(ctx) && ctx->resume && !ctx->pumping)
        proxy_pump(ctx);
}

void proxy_send_io(struct proxy_ctx *ctx, int revents)
{
    if (revents & EV_READ) {
        proxy_recv_head(ctx);
        if (proxy_over(ctx) || ctx->phase != PX_SEND)
            return;
    }
    if (ctx->resume)
        proxy_pump(ctx);
    else if (ctx->want_write && (revents & EV_WRITE))
        proxy_send_more(ctx);
}
