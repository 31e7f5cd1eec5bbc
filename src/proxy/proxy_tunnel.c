/* proxy_tunnel.c - an upgraded connection (WebSocket): after the
 * upstream's 101 reaches the client, bytes go both ways through
 * event/relay.c until both sides end.  proxy_read_timeout is the idle
 * limit of the tunnel, proxy_send_timeout the limit for an upstream that
 * takes nothing.  The response buffers are freed first: an idle tunnel
 * holds no buffer. */
#include <errno.h>

#include "event/reactor.h"
#include "http/conn.h"
#include "http/resp.h"
#include "proxy/proxy_int.h"

static struct proxy_ctx *proxy_of_relay(struct relay *rl)
{
    return (struct proxy_ctx *)((char *)rl - offsetof(struct proxy_ctx, relay));
}

void proxy_upgrade(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n, struct str reason)
{
    struct req *r = ctx->r;
    r->status = 101;
    r->status_line = reason;
    r->keepalive = false;
    r->resp_length = -1;
    if (proxy_hdrs_out(ctx, h, n, true) < 0) {
        proxy_answer_error(ctx, 500);
        return;
    }
    if (resp_start(r, proxy_resp_gen()) < 0)
        return;
    ctx->phase = PX_TUNNEL;
    ctx->head_out = true;
    sock_watch(&ctx->uc->sock, 0);
    timer_disarm(&ctx->uc->sock.timer);
    resp_write(r, NULL, false); /* the head; proxy_proceed starts the relay */
}

/* Bytes moved, or a side is ready: the upstream's timer follows what the
 * relay holds for it. */
static void proxy_tunnel_pump(struct proxy_ctx *ctx, struct sock *s)
{
    relay_ready(&ctx->relay, s);
    if (proxy_over(ctx) || !ctx->relaying)
        return;
    if (ctx->relay.up.held != NULL)
        sock_arm(&ctx->uc->sock, ctx->pl->send_timeout);
    else
        timer_disarm(&ctx->uc->sock.timer);
}

static void proxy_tunnel_done(struct relay *rl, int err)
{
    struct proxy_ctx *ctx = proxy_of_relay(rl);
    struct req *r = ctx->r;
    if (err == ETIMEDOUT)
        proxy_log_err(ctx, LL_ERR, err, "upstream timed out", "proxying upgraded connection");
    else if (err != 0)
        proxy_log_err(ctx, LL_INFO, err, "relay failed", "proxying upgraded connection");
    ctx->log->last->response = ev_now(r->c->sk.rx->loop) - ctx->log->last->start;
    ctx->log->last->received += rl->down.bytes;
    ctx->log->last->sent += rl->up.bytes;
    proxy_finish(ctx);
    resp_write(r, NULL, true); /* ends the response, which closes the client */
}

static void proxy_tunnel_ready(void *data)
{
    struct proxy_ctx *ctx = data;
    proxy_hold(ctx);
    if (!proxy_over(ctx) && ctx->relaying)
        proxy_tunnel_pump(ctx, &ctx->r->c->sk);
    proxy_drop(ctx);
}

static void proxy_tunnel_client_timeout(void *data)
{
    proxy_tunnel_timeout(data);
}

void proxy_tunnel_io(struct proxy_ctx *ctx)
{
    if (ctx->relaying)
        proxy_tunnel_pump(ctx, &ctx->uc->sock);
}

void proxy_tunnel_timeout(struct proxy_ctx *ctx)
{
    proxy_hold(ctx);
    if (!proxy_over(ctx) && ctx->relaying)
        relay_timeout(&ctx->relay);
    proxy_drop(ctx);
}

/* What either side sent before the relay began goes first: the upstream's
 * bytes after its 101, the client's after its request. */
static int proxy_tunnel_push(struct proxy_ctx *ctx)
{
    struct conn *c = ctx->r->c;
    const char *up = ctx->bufs.slots[0].data + ctx->pp.head_len;
    /* The parser stopped short of the head's last byte: head_len counts it. */
    uint32_t from = ctx->r->head_len > c->parsed ? ctx->r->head_len : c->parsed;
    if (relay_push(&ctx->relay, &c->sk, up, ctx->head_len - ctx->pp.head_len) < 0 ||
        (from < c->buf_len &&
         relay_push(&ctx->relay, &ctx->uc->sock, c->buf + from, c->buf_len - from) < 0))
        return -1;
    c->parsed = c->buf_len;
    return 0;
}

void proxy_tunnel_start(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    struct conn *c = r->c;
    conn_hand_over(c, proxy_tunnel_ready, proxy_tunnel_client_timeout, ctx);
    relay_init(&ctx->relay, &c->sk, &ctx->uc->sock, (size_t)ctx->pl->buffer_size,
               ctx->pl->read_timeout, proxy_tunnel_done);
    ctx->relaying = true;
    if (proxy_tunnel_push(ctx) < 0) {
        proxy_log_err(ctx, LL_ALERT, ENOMEM, "out of memory", "proxying upgraded connection");
        proxy_finish(ctx);
        resp_write(r, NULL, true);
        return;
    }
    proxy_bufs_free(&ctx->bufs);
    proxy_parse_free(&ctx->pp);
    proxy_tunnel_pump(ctx, &c->sk);
}
