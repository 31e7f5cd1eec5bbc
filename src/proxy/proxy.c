/* proxy.c - a proxied request: its state and its life, where it goes,
 * which server it tries, and where a failure leads (proxy_next_upstream,
 * max_fails, the kept-alive connection the server had closed). */
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/dns.h"
#include "event/reactor.h"
#include "http/body.h"
#include "http/alog.h"
#include "http/conn.h"
#include "http/resp.h"
#include "proxy/proxy_int.h"
#include "proxy/proxy_ssl.h"
#include "proxy/upstream.h"
#include "upstream/ups_pool.h"

static void proxy_done(struct req *r, bool complete);

static const struct resp_gen proxy_gen = {proxy_proceed, proxy_done};

static ev_tstamp proxy_now(const struct proxy_ctx *ctx)
{
    return ev_now(ctx->r->c->sk.rx->loop);
}

/* ---- the state ---------------------------------------------------------------- */

static void proxy_release(struct owner *o)
{
    free((struct proxy_ctx *)((char *)o - offsetof(struct proxy_ctx, own)));
}

void proxy_hold(struct proxy_ctx *ctx)
{
    owner_get(&ctx->own);
}

void proxy_drop(struct proxy_ctx *ctx)
{
    owner_put(&ctx->own);
}

struct proxy_ctx *proxy_ctx_of(const struct req *r)
{
    return req_ctx(r, &mod_proxy);
}

/* The $upstream_* record hangs off a cleanup of its own, which an
 * internal redirect leaves in place (the per-module state does not
 * survive one); this function marks it. */
static void proxy_log_anchor(void *data)
{
    (void)data;
}

struct proxy_log *proxy_log_of(struct req *r, bool make)
{
    for (const struct req_cleanup *cl = r->cleanups; cl != NULL; cl = cl->next)
        if (cl->fn == proxy_log_anchor)
            return cl->data;
    struct proxy_log *log = make ? mpool_calloc(&r->pool, sizeof(*log)) : NULL;
    if (log != NULL && req_cleanup_add(r, proxy_log_anchor, log) < 0)
        return NULL;
    return log;
}

static void proxy_peer_done(struct proxy_ctx *ctx, unsigned state);

/* Lets go of the upstream side: its connection, its pick, a lookup, the
 * buffers.  The request is over for the proxy. */
void proxy_finish(struct proxy_ctx *ctx)
{
    if (ctx->relaying) {
        relay_free(&ctx->relay);
        ctx->relaying = false;
    }
    if (ctx->uc != NULL) {
        ups_conn_close(ctx->uc);
        ctx->uc = NULL;
    }
    proxy_peer_done(ctx, 0);
    if (resolver_waiting(&ctx->dns))
        resolver_cancel(&ctx->dns);
    proxy_bufs_free(&ctx->bufs);
    proxy_parse_free(&ctx->pp);
    if (!ctx->file_wait)
        sendq_free(&ctx->q); /* else the pool job's end frees it */
    ctx->phase = PX_OVER;
}

/* The request is freed: the proxy lets go of it. */
static void proxy_cleanup(void *data)
{
    struct proxy_ctx *ctx = data;
    if (!proxy_over(ctx))
        proxy_finish(ctx);
    ctx->r = NULL;
    proxy_drop(ctx);
}

/* A request cut short (the client left, a timeout, a cut response) is
 * logged here, as nginx logs it: 499 when the client left before the
 * head went. */
static void proxy_done(struct req *r, bool complete)
{
    struct proxy_ctx *ctx = proxy_ctx_of(r);
    if (ctx != NULL && !proxy_over(ctx))
        proxy_finish(ctx);
    if (complete)
        return;
    if (!r->resp_started)
        r->status = 499;
    alog_request(r);
}

static struct proxy_ctx *proxy_ctx_new(struct req *r)
{
    struct proxy_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    owner_init(&ctx->own, proxy_release);
    ctx->r = r;
    ctx->pl = proxy_loc_of(r->loc);
    ctx->buffering = ctx->pl->buffering;
    proxy_parse_init(&ctx->pp, false);
    if ((ctx->log = proxy_log_of(r, true)) == NULL || req_set_ctx(r, &mod_proxy, ctx) < 0 ||
        req_cleanup_add(r, proxy_cleanup, ctx) < 0) {
        free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- log lines ------------------------------------------------------------------ */

/* nginx's context: client, server, request, upstream, host. */
static void proxy_context(struct proxy_ctx *ctx, char *buf, size_t cap)
{
    const struct req *r = ctx->r;
    char tail[300] = "";
    int n = conn_log_context(r->c, buf, cap);
    size_t host = r->host.len > 0 ? r->host.len + 10 : 0; /* `, host: "x"` */
    if (n < 0 || (size_t)n >= cap || (size_t)n < host)
        return;
    snprintf(tail, sizeof(tail), "%s", buf + (size_t)n - host);
    if (ctx->log->last != NULL)
        snprintf(buf + (size_t)n - host, cap - ((size_t)n - host), ", upstream: \"%s://%s%.*s\"%s",
                 ctx->tg.https ? "https" : "http", ctx->log->last->addr, (int)ctx->tg.uri.len,
                 ctx->tg.uri.p, tail);
}

void proxy_log_err(struct proxy_ctx *ctx, enum log_level level, int err, const char *msg,
                   const char *doing)
{
    char where[1024], errtext[160] = "";
    if (!log_enabled(level) || ctx->r == NULL)
        return;
    if (err != 0)
        snprintf(errtext, sizeof(errtext), " (%d: %s)", err, strerror(err));
    proxy_context(ctx, where, sizeof(where));
    log_msg(level, ctx->r->c->sk.id, 0, "%s%s while %s%s", msg, errtext, doing, where);
}

/* ---- answering ---------------------------------------------------------------------- */

void proxy_answer_error(struct proxy_ctx *ctx, int status)
{
    struct req *r = ctx->r;
    proxy_finish(ctx);
    r->gen = NULL; /* the error page is not the proxy's */
    resp_error(r, status);
}

void proxy_cut(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    /* A body delimited by the close would look complete after a plain
     * close: a reset says it is not. */
    if (!r->resp_chunked && r->resp_length < 0)
        (void)setsockopt(sock_fd(&r->c->sk), SOL_SOCKET, SO_LINGER,
                         &(struct linger){.l_onoff = 1, .l_linger = 0}, sizeof(struct linger));
    proxy_finish(ctx);
    resp_error(r, 502);
}

/* ---- where to ---------------------------------------------------------------------- */

/* proxy_pass with variables naming an upstream group (nginx: the name,
 * and no port for a block, the same port for an implicit group). */
static const struct ups_group *proxy_find_group(const struct proxy_ctx *ctx,
                                                const struct proxy_url *u)
{
    const struct ups_groups *gs = upstream_groups_of(ctx->r->c->sk.rx->conf);
    for (size_t i = 0; gs != NULL && !u->unix_sock && i < gs->n; i++) {
        const struct ups_group *g = gs->list[i];
        if (strlen(g->name) != u->host.len || strncasecmp(g->name, u->host.p, u->host.len) != 0)
            continue;
        if (g->defined ? !u->has_port : (g->port != 0 ? g->port : 80) == u->port)
            return g;
    }
    return NULL;
}

/* An address written in the URL itself: a unix socket or an IP. */
static int proxy_literal_addr(struct proxy_ctx *ctx, const struct proxy_url *u)
{
    struct req *r = ctx->r;
    char *host = mpool_strndup(&r->pool, u->host.p, u->host.len);
    union sockaddr_any sa = {0};
    struct ups_addr *a = mpool_calloc(&r->pool, sizeof(*a));
    if (host == NULL || a == NULL)
        return -1;
    if (u->unix_sock) {
        if (ups_addr_unix(a, host) < 0)
            return -1;
    } else if (inet_pton(AF_INET, host, &sa.sin.sin_addr) == 1) {
        sa.sa.sa_family = AF_INET;
        ups_addr_inet(a, &sa.sa, u->port);
    } else if (inet_pton(AF_INET6, host, &sa.sin6.sin6_addr) == 1) {
        sa.sa.sa_family = AF_INET6;
        ups_addr_inet(a, &sa.sa, u->port);
    } else {
        ctx->tg.name = u->host; /* to look up */
        ctx->tg.port = u->port;
        return 0;
    }
    ctx->tg.addrs = a;
    ctx->tg.naddrs = 1;
    return 0;
}

/* proxy_pass with variables: the URL evaluated and parsed now. */
static int proxy_eval_url(struct proxy_ctx *ctx, struct proxy_url *u)
{
    struct req *r = ctx->r;
    struct str text;
    const char *err;
    if (cval_eval(&ctx->pl->pass->url, r, &text) < 0)
        return -1;
    if (proxy_url_parse(&r->pool, text, u, &err) < 0) {
        conn_logf(r->c, LL_ERR, 0, "%s in \"%.*s\"", err, (int)text.len, text.p);
        return -1;
    }
    ctx->log->host = proxy_url_host_header(&r->pool, u);
    char *port = u->unix_sock ? "" : mpool_printf(&r->pool, "%u", u->port);
    if (ctx->log->host.p == NULL || port == NULL)
        return -1;
    ctx->log->port = str_make(port, strlen(port));
    ctx->tg.group = proxy_find_group(ctx, u);
    return ctx->tg.group != NULL ? 0 : proxy_literal_addr(ctx, u);
}

/* Where the request goes and with which URI; -1 when it was answered. */
static int proxy_target(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    const struct proxy_pass *pp = ctx->pl->pass;
    struct proxy_url evaluated;
    const struct proxy_url *u = &pp->u;
    if (pp->vars) {
        if (proxy_eval_url(ctx, &evaluated) < 0)
            return proxy_answer_error(ctx, 500), -1;
        u = &evaluated;
        ctx->tg.https = evaluated.https;
    } else {
        ctx->tg.https = pp->u.https;
        ctx->tg.group = pp->group;
        ctx->log->host = pp->host;
        ctx->log->port = pp->port;
    }
    struct proxy_uri_req in = {
        .target = r->target,
        .target_valid = r->redirects == 0,
        .path = r->path,
        .args = r->args,
        .loc = pp->loc,
        .loc_matches = pp->loc.len == 0 || (r->path.len >= pp->loc.len &&
                                            memcmp(r->path.p, pp->loc.p, pp->loc.len) == 0),
        .pass_vars = pp->vars,
        .uri = u->uri,
        .has_uri = u->has_uri,
    };
    if (proxy_uri_make(&r->pool, &in, &ctx->tg.uri) < 0)
        return proxy_answer_error(ctx, 500), -1;
    return 0;
}

/* ---- which server ------------------------------------------------------------------------ */

static unsigned proxy_tries(const struct proxy_ctx *ctx)
{
    return ctx->peers.rt != NULL ? ctx->peers.pick.tries : ctx->peers.tries;
}

static int proxy_peers_init(struct proxy_ctx *ctx)
{
    struct req *r = ctx->r;
    unsigned limit = (unsigned)ctx->pl->next_upstream_tries;
    struct str key = STR_LIT("");
    const struct ups_group *g = ctx->tg.group;
    ctx->first_start = proxy_now(ctx);
    if (g == NULL) {
        ctx->peers.tries = (unsigned)ctx->tg.naddrs;
    } else {
        if ((ctx->peers.rt = upstream_rt(g)) == NULL)
            return -1;
        if ((g->method == UPS_HASH || g->method == UPS_CHASH) && cval_eval(g->key, r, &key) < 0)
            return -1;
        if (ups_pick_init(&ctx->peers.pick, ctx->peers.rt, &r->pool, &r->c->peer, key) < 0)
            return -1;
    }
    unsigned *tries = g != NULL ? &ctx->peers.pick.tries : &ctx->peers.tries;
    if (limit > 0 && *tries > limit)
        *tries = limit;
    return 0;
}

static int proxy_peer_next(struct proxy_ctx *ctx)
{
    struct proxy_peers *pe = &ctx->peers;
    if (pe->rt == NULL) {
        if (pe->tries == 0 || pe->next >= ctx->tg.naddrs)
            return -1;
        pe->addr = &ctx->tg.addrs[pe->next++];
        return 0;
    }
    if (ups_pick_next(&pe->pick, proxy_now(ctx)) < 0)
        return -1;
    pe->picked = true;
    pe->addr = &pe->pick.current->addr;
    return 0;
}

/* The attempt on the current server is over: a failure counts towards
 * its max_fails. */
static void proxy_peer_done(struct proxy_ctx *ctx, unsigned state)
{
    struct proxy_peers *pe = &ctx->peers;
    if (pe->rt == NULL) {
        if (pe->addr != NULL && pe->tries > 0)
            pe->tries--;
        pe->addr = NULL;
        return;
    }
    if (!pe->picked)
        return;
    pe->picked = false;
    pe->addr = NULL;
    if (ups_pick_done(&pe->pick, state, proxy_now(ctx)))
        proxy_log_err(ctx, LL_WARN, 0, "upstream server temporarily disabled",
                      ctx->phase == PX_CONNECT ? "connecting to upstream"
                                               : "reading response header from upstream");
}

/* ---- connecting -------------------------------------------------------------------------- */

static struct proxy_attempt *proxy_attempt_new(struct proxy_ctx *ctx, const char *addr)
{
    struct proxy_attempt *a = mpool_calloc(&ctx->r->pool, sizeof(*a));
    if (a == NULL)
        return NULL;
    size_t n = strnlen(addr, sizeof(a->addr) - 1); /* a snprintf costs more than the rest */
    memcpy(a->addr, addr, n);
    a->start = proxy_now(ctx);
    a->connect = a->header = a->response = -1;
    if (ctx->log->last != NULL)
        ctx->log->last->next = a;
    else
        ctx->log->first = a;
    ctx->log->last = a;
    return a;
}

/* Everything of the previous attempt's response goes. */
static void proxy_attempt_reset(struct proxy_ctx *ctx)
{
    proxy_parse_free(&ctx->pp);
    proxy_parse_init(&ctx->pp, ctx->head_method);
    ctx->head_len = 0;
    ctx->reused = ctx->ups_keepalive = ctx->ups_done = false;
    ctx->log->hdrs = NULL;
    ctx->log->nhdrs = 0;
    ctx->log->body_len = 0;
}

/* Connects to the current server: an idle kept-alive connection when
 * there is one (unless fresh), else a new one. */
static void proxy_connect(struct proxy_ctx *ctx, bool fresh)
{
    struct ups_err e;
    const struct ups_addr *addr = ctx->peers.addr;
    struct ups_rt *rt = ctx->peers.rt;
    const struct tls_client *tls = proxy_ssl_conf(ctx); /* NULL: plain */
    proxy_attempt_reset(ctx);
    if (!fresh && proxy_attempt_new(ctx, addr->name) == NULL) {
        proxy_answer_error(ctx, 500);
        return;
    }
    ctx->phase = PX_CONNECT;
    /* A connection that began with one client's PROXY header is that
     * client's alone: none is taken from the pool or put back. */
    if (!fresh && rt != NULL && ctx->pl->proxy_protocol != 1 &&
        (ctx->uc = ups_pool_get_tls(&rt->pool, addr, tls, &proxy_ups_user, ctx)) != NULL) {
        ctx->reused = true;
        ctx->log->last->connect = 0;
        proxy_send_start(ctx);
        return;
    }
    ctx->uc =
        ups_conn_open(ctx->r->c->sk.rx, addr, ctx->pl->connect_timeout, &proxy_ups_user, ctx, &e);
    if (ctx->uc != NULL && ((ctx->pl->proxy_protocol == 1 && proxy_send_preface(ctx) < 0) ||
                            (tls != NULL && proxy_ssl_secure(ctx, tls) < 0))) {
        ups_conn_close(ctx->uc);
        ctx->uc = NULL;
        proxy_answer_error(ctx, 500);
        return;
    }
    if (ctx->uc != NULL)
        return;
    proxy_log_err(ctx, e.level, 0, e.text, "connecting to upstream");
    if (e.local) {
        proxy_answer_error(ctx, 500);
        return;
    }
    proxy_next(ctx, e.err == ETIMEDOUT ? PX_FT_TIMEOUT : PX_FT_ERROR);
}

static void proxy_connect_next(struct proxy_ctx *ctx)
{
    if (proxy_peer_next(ctx) == 0) {
        proxy_connect(ctx, false);
        return;
    }
    /* nginx logs the group in $upstream_addr when none was live. */
    struct proxy_attempt *a =
        proxy_attempt_new(ctx, ctx->tg.group != NULL ? ctx->tg.group->name : "");
    if (a != NULL)
        a->status = 502;
    proxy_log_err(ctx, LL_ERR, 0, "no live upstreams", "connecting to upstream");
    proxy_answer_error(ctx, 502);
}

static void proxy_start(struct proxy_ctx *ctx)
{
    if (proxy_peers_init(ctx) < 0) {
        proxy_answer_error(ctx, 500);
        return;
    }
    proxy_connect_next(ctx);
}

/* ---- looking a name up ------------------------------------------------------------------- */

static void proxy_resolved(struct proxy_ctx *ctx, const struct resolver_answer *a)
{
    struct ups_addr *addrs = mpool_calloc(&ctx->r->pool, sizeof(*addrs) * a->naddrs);
    if (addrs == NULL) {
        proxy_answer_error(ctx, 500);
        return;
    }
    for (size_t i = 0; i < a->naddrs; i++)
        ups_addr_inet(&addrs[i], &a->addrs[i].sa, ctx->tg.port);
    ctx->tg.addrs = addrs;
    ctx->tg.naddrs = a->naddrs;
    proxy_start(ctx);
}

static void proxy_dns_failed(struct proxy_ctx *ctx, int status)
{
    conn_logf(ctx->r->c, LL_ERR, 0, "%.*s could not be resolved (%d: %s)", (int)ctx->tg.name.len,
              ctx->tg.name.p, status, dns_strerror(status));
    proxy_answer_error(ctx, 502);
}

static void proxy_dns_done(struct resolver_wait *w, int status, const struct resolver_answer *a)
{
    struct proxy_ctx *ctx = (struct proxy_ctx *)((char *)w - offsetof(struct proxy_ctx, dns));
    proxy_hold(ctx);
    if (status != DNS_OK)
        proxy_dns_failed(ctx, status);
    else
        proxy_resolved(ctx, a);
    proxy_drop(ctx);
}

static void proxy_resolve(struct proxy_ctx *ctx)
{
    const struct upstream_loc *ul = upstream_loc(ctx->r->loc);
    int status;
    if (ul->resolver == NULL) {
        conn_logf(ctx->r->c, LL_ERR, 0, "no resolver defined to resolve %.*s",
                  (int)ctx->tg.name.len, ctx->tg.name.p);
        proxy_answer_error(ctx, 502);
        return;
    }
    const struct resolver_answer *a =
        resolver_cached(upstream_resolver(), ul->resolver, ctx->tg.name);
    if (a != NULL) {
        proxy_resolved(ctx, a);
        return;
    }
    ctx->phase = PX_RESOLVE;
    if (resolver_start(upstream_resolver(), ul->resolver, ctx->tg.name, ul->resolver_timeout,
                       &ctx->dns, proxy_dns_done, &status) < 0)
        proxy_dns_failed(ctx, status);
}

/* After the body was read (if first): look the name up, or connect. */
void proxy_go(struct proxy_ctx *ctx)
{
    if (proxy_make_head(ctx) < 0)
        proxy_answer_error(ctx, 500);
    else if (ctx->tg.name.len > 0)
        proxy_resolve(ctx);
    else
        proxy_start(ctx);
}

/* ---- failures ------------------------------------------------------------------------------ */

static int proxy_ft_status(unsigned ft)
{
    switch (ft) {
    case PX_FT_TIMEOUT:
    case PX_FT_504:
        return 504;
    case PX_FT_500:
        return 500;
    case PX_FT_503:
        return 503;
    case PX_FT_403:
        return 403;
    case PX_FT_404:
        return 404;
    case PX_FT_429:
        return 429;
    default:
        return 502;
    }
}

/* nginx's test in ngx_http_upstream_next and _test_next: tries left
 * (counting the current one when it is not done yet), the condition
 * listed (with non_idempotent for a POST, LOCK or PATCH already sent), no
 * body streamed, proxy_next_upstream_timeout not passed. */
bool proxy_may_retry(struct proxy_ctx *ctx, unsigned ft, bool current_done)
{
    const struct proxy_loc *pl = ctx->pl;
    unsigned method = ctx->r->method, mask = ft;
    if (ctx->request_sent && (method == HTTP_POST || method == HTTP_LOCK || method == HTTP_PATCH))
        mask |= PX_FT_NON_IDEMPOTENT;
    if (proxy_tries(ctx) <= (current_done ? 0u : 1u) ||
        ((unsigned long)pl->next_upstream & mask) != mask)
        return false;
    if (ctx->body_started)
        return false;
    return pl->next_upstream_timeout == 0 ||
           (proxy_now(ctx) - ctx->first_start) * 1000.0 < (double)pl->next_upstream_timeout;
}

void proxy_next(struct proxy_ctx *ctx, unsigned ft)
{
    int status = proxy_ft_status(ft);
    if (ctx->log->last != NULL && ctx->log->last->status == 0)
        ctx->log->last->status = status;
    if (ctx->uc != NULL) {
        ups_conn_close(ctx->uc);
        ctx->uc = NULL;
    }
    /* nginx never counts a 403 or 404 against a server. */
    proxy_peer_done(ctx, (ft & (PX_FT_403 | PX_FT_404)) ? 0 : UPS_FAILED);
    if (!proxy_may_retry(ctx, ft, true)) {
        proxy_answer_error(ctx, status);
        return;
    }
    proxy_connect_next(ctx);
}

bool proxy_retry_fresh(struct proxy_ctx *ctx)
{
    if (!ctx->reused || ctx->fresh_retry || ctx->log->last->received > 0 || ctx->body_started)
        return false;
    ctx->fresh_retry = true;
    ups_conn_close(ctx->uc);
    ctx->uc = NULL;
    proxy_connect(ctx, true);
    return true;
}

void proxy_upstream_done(struct proxy_ctx *ctx)
{
    struct ups_rt *rt = ctx->peers.rt;
    ctx->log->last->response = proxy_now(ctx) - ctx->log->last->start;
    ctx->ups_done = true;
    if (ctx->ups_keepalive && !ctx->sending && rt != NULL && rt->pool.max > 0 &&
        ctx->pl->proxy_protocol != 1)
        ups_pool_put(&rt->pool, ctx->uc);
    else
        ups_conn_close(ctx->uc);
    ctx->uc = NULL;
    proxy_peer_done(ctx, 0);
}

/* ---- the connection's events ------------------------------------------------------------- */

static struct proxy_ctx *proxy_of_conn(struct ups_conn *uc)
{
    return uc->data;
}

static void proxy_connected(struct ups_conn *uc, const struct ups_err *e)
{
    struct proxy_ctx *ctx = proxy_of_conn(uc);
    proxy_hold(ctx);
    if (e != NULL) {
        ctx->uc = NULL; /* closed already */
        proxy_log_err(ctx, e->level, 0, e->text,
                      e->handshake ? "SSL handshaking to upstream" : "connecting to upstream");
        proxy_next(ctx, e->err == ETIMEDOUT ? PX_FT_TIMEOUT : PX_FT_ERROR);
    } else {
        ctx->log->last->connect = proxy_now(ctx) - ctx->log->last->start;
        proxy_send_start(ctx);
    }
    proxy_drop(ctx);
}

static void proxy_ups_io(struct ups_conn *uc, int revents)
{
    struct proxy_ctx *ctx = proxy_of_conn(uc);
    proxy_hold(ctx);
    switch (ctx->phase) {
    case PX_SEND:
        proxy_send_io(ctx, revents);
        break;
    case PX_HEAD:
        proxy_recv_head(ctx);
        break;
    case PX_BODY:
        proxy_recv_body(ctx);
        break;
    case PX_TUNNEL:
        proxy_tunnel_io(ctx);
        break;
    default:
        break;
    }
    proxy_drop(ctx);
}

static void proxy_timed_out(struct proxy_ctx *ctx, const char *doing)
{
    proxy_log_err(ctx, LL_ERR, ETIMEDOUT, "upstream timed out", doing);
}

static void proxy_ups_timeout(struct ups_conn *uc)
{
    struct proxy_ctx *ctx = proxy_of_conn(uc);
    proxy_hold(ctx);
    switch (ctx->phase) {
    case PX_SEND:
        proxy_timed_out(ctx, "sending request to upstream");
        proxy_next(ctx, PX_FT_TIMEOUT);
        break;
    case PX_HEAD:
        proxy_timed_out(ctx, "reading response header from upstream");
        proxy_next(ctx, PX_FT_TIMEOUT);
        break;
    case PX_BODY:
        proxy_timed_out(ctx, "reading upstream");
        proxy_cut(ctx);
        break;
    case PX_TUNNEL:
        proxy_tunnel_timeout(ctx);
        break;
    default:
        break;
    }
    proxy_drop(ctx);
}

/* The worker closes the connection (fast stop, worker_shutdown_timeout):
 * the client's goes the same way. */
static void proxy_ups_abort(struct ups_conn *uc)
{
    struct proxy_ctx *ctx = proxy_of_conn(uc);
    if (ctx->relaying) {
        relay_free(&ctx->relay);
        ctx->relaying = false;
    }
    ctx->uc = NULL;
    proxy_peer_done(ctx, 0);
}

const struct ups_conn_user proxy_ups_user = {
    .connected = proxy_connected,
    .io = proxy_ups_io,
    .timeout = proxy_ups_timeout,
    .abort = proxy_ups_abort,
};

/* ---- the handler -------------------------------------------------------------------------- */

static void proxy_begin(struct proxy_ctx *ctx)
{
    if (proxy_target(ctx) < 0)
        return;
    if (!proxy_read_body(ctx))
        proxy_go(ctx); /* else once the body is read, or answered */
}

void proxy_content(struct req *r)
{
    struct proxy_ctx *ctx = proxy_ctx_new(r);
    if (ctx == NULL) {
        resp_error(r, 500);
        return;
    }
    req_wait(r, &proxy_gen, 0);
    proxy_hold(ctx);
    proxy_begin(ctx);
    proxy_drop(ctx);
}

const struct resp_gen *proxy_resp_gen(void)
{
    return &proxy_gen;
}
