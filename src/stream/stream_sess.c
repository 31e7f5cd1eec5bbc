/* stream_sess.c - a TCP session: TLS, connecting upstream, relaying. */
#include "stream/stream_sess.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_cidr.h"
#include "core/log.h"
#include "event/pp_wait.h"
#include "event/reactor.h"
#include "event/transport.h"
#include "http/ssl_conf.h"
#include "stream/stream.h"
#include "stream/stream_log.h"
#include "stream/stream_vars.h"
#include "tls/tls_conn.h"
#include "upstream/ups_conn.h"
#include "upstream/ups_pp.h"
#include "upstream/ups_ssl.h"

#define STREAM_OK 200
#define STREAM_INTERNAL 500
#define STREAM_BAD_GATEWAY 502

static void stream_connect(struct stream_sess *s);

static struct stream_sess *stream_of(struct sock *sk)
{
    return (struct stream_sess *)sk;
}

const union sockaddr_any *stream_client_addr(const struct stream_sess *s)
{
    return s->pp != NULL && !s->pp->info.local ? &s->pp->info.src : &s->peer;
}

const union sockaddr_any *stream_server_addr(const struct stream_sess *s)
{
    return s->pp != NULL && !s->pp->info.local ? &s->pp->info.dst : &s->local;
}

/* nginx's context after a session's error line. */
static void stream_logf(const struct stream_sess *s, enum log_level level, int err, const char *fmt,
                        ...)
{
    char msg[512], client[64], up[300] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sockaddr_text(&s->peer, false, client, sizeof(client));
    if (s->up != NULL)
        snprintf(up, sizeof(up), ", upstream: \"%s\"", s->up->addr.name);
    log_msg(level, s->sk.id, err,
            "%s, client: %s, server: %s%s, bytes from/to client:%llu/%llu, "
            "bytes from/to upstream:%llu/%llu",
            msg, client, s->port->text, up, (unsigned long long)s->received,
            (unsigned long long)s->sent, (unsigned long long)s->up_received,
            (unsigned long long)s->up_sent);
}

/* ---- the end ------------------------------------------------------------------ */

static void stream_count(struct stream_sess *s)
{
    if (!s->relaying)
        return;
    /* The PROXY header went out before the relay, in plain. */
    s->up_sent = s->relay.up.bytes + s->pp_out_len;
    s->received = s->relay.up.bytes;
    s->up_received = s->relay.down.bytes;
    s->sent = s->relay.down.bytes;
}

static void stream_finalize(struct stream_sess *s, int status)
{
    if (s->state == SS_DONE)
        return;
    s->state = SS_DONE;
    s->status = status;
    stream_count(s);
    if (s->relaying)
        relay_free(&s->relay);
    if (s->picking)
        ups_pick_done(&s->pick, 0, ev_now(s->sk.rx->loop));
    s->picking = false;
    stream_log_session(s);
    if (s->up != NULL) {
        s->up->user = NULL;
        ups_conn_close(s->up);
        s->up = NULL;
    }
    sock_close(&s->sk);
}

static void stream_relay_done(struct relay *rl, int err)
{
    struct stream_sess *s =
        (struct stream_sess *)((char *)rl - offsetof(struct stream_sess, relay));
    stream_count(s);
    if (err == ETIMEDOUT)
        stream_logf(s, LL_INFO, err, "timed out");
    else if (err != 0)
        stream_logf(s, LL_INFO, err, "relay ended");
    else
        stream_logf(s, LL_INFO, 0, "session done");
    stream_finalize(s, STREAM_OK);
}

/* ---- the upstream side ------------------------------------------------------------ */

static void stream_up_io(struct ups_conn *uc, int revents)
{
    struct stream_sess *s = uc->data;
    (void)revents;
    if (s->state == SS_RELAY)
        relay_ready(&s->relay, &uc->sock);
}

static void stream_up_timeout(struct ups_conn *uc)
{
    struct stream_sess *s = uc->data;
    if (s->state == SS_RELAY)
        relay_timeout(&s->relay);
}

/* The worker closes the upstream connection (fast stop). */
static void stream_up_abort(struct ups_conn *uc)
{
    struct stream_sess *s = uc->data;
    s->up = NULL;
    stream_finalize(s, STREAM_OK);
}

static void stream_up_connected(struct ups_conn *uc, const struct ups_err *e);

static const struct ups_conn_user stream_up_user = {
    .connected = stream_up_connected,
    .io = stream_up_io,
    .timeout = stream_up_timeout,
    .abort = stream_up_abort,
};

/* "a, b" lists for $upstream_addr and $upstream_connect_time. */
static void stream_list_add(char *list, size_t cap, const char *item)
{
    size_t len = strlen(list);
    if (len + strlen(item) + 3 < cap)
        snprintf(list + len, cap - len, "%s%s", len > 0 ? ", " : "", item);
}

static void stream_connect_time(struct stream_sess *s, bool ok)
{
    char t[32] = "-";
    if (ok)
        snprintf(t, sizeof(t), "%.3f", ev_now(s->sk.rx->loop) - s->connect_start);
    stream_list_add(s->up_times, sizeof(s->up_times), t);
}

/* nginx's next-upstream rule for a failed connect. */
static bool stream_may_retry(struct stream_sess *s)
{
    const struct stream_srv *srv = s->srv;
    ev_tstamp now = ev_now(s->sk.rx->loop);
    if (s->pick.tries == 0 || srv->next_upstream != 1)
        return false;
    return srv->next_upstream_timeout == 0 ||
           (now - s->try_start) * 1000. < (double)srv->next_upstream_timeout;
}

static void stream_connect_failed(struct stream_sess *s, const struct ups_err *e)
{
    const char *during = e->handshake ? "SSL handshaking to" : "connecting to";
    stream_logf(s, e->level, 0, "%s while %s upstream", e->text, during);
    stream_connect_time(s, false);
    s->up = NULL;
    if (s->picking) {
        if (ups_pick_done(&s->pick, UPS_FAILED, ev_now(s->sk.rx->loop)))
            stream_logf(s, LL_WARN, 0, "upstream server temporarily disabled while %s upstream",
                        during);
        s->picking = false;
    }
    if (e->local) {
        stream_finalize(s, STREAM_INTERNAL);
        return;
    }
    if (stream_may_retry(s))
        stream_connect(s);
    else
        stream_finalize(s, STREAM_BAD_GATEWAY);
}

/* ---- the PROXY header out ------------------------------------------------------ */

/* The header goes out first, in plain, before any TLS to the server. */
static int stream_pp_send(struct stream_sess *s)
{
    uint8_t buf[PP_MAX];
    struct ups_pp_opts o = {.version = (int)s->srv->pp_version,
                            .crc32c = s->srv->pp_crc32c == 1,
                            .unique_id = s->srv->pp_unique_id == 1};
    size_t len = ups_pp_header(buf, sizeof(buf), &o, stream_client_addr(s), stream_server_addr(s),
                               tls_conn_of(&s->sk));
    if (len == 0)
        return -1;
    s->pp_out_len = (uint32_t)len;
    return ups_conn_preface(s->up, buf, len);
}

/* ---- TLS to the server ---------------------------------------------------------- */

/* proxy_ssl_name (or the proxy_pass host) names the server to verify. */
static int stream_up_secure(struct stream_sess *s)
{
    const struct stream_srv *srv = s->srv;
    char text[512], name[256];
    struct str in = str_make(srv->pass->name, strlen(srv->pass->name));
    bool sni;
    if (srv->ssl_name != NULL)
        in = str_make(text, svar_eval(srv->ssl_name, s, text, sizeof(text)));
    if (ups_ssl_name(in, ups_ssl_sends_name(&srv->up_ssl), name, sizeof(name), &sni) < 0) {
        stream_logf(s, LL_ERR, 0, "invalid upstream SSL name \"%.*s\"", (int)in.len, in.p);
        return -1;
    }
    if (ups_conn_secure(s->up, srv->up_client, name, sni) == 0)
        return 0;
    stream_logf(s, LL_ALERT, ENOMEM, "cannot start SSL to upstream");
    return -1;
}

/* ---- relaying --------------------------------------------------------------------- */

static void stream_relay(struct stream_sess *s)
{
    const struct stream_srv *srv = s->srv;
    s->state = SS_RELAY;
    s->relaying = true;
    s->relay.splice = srv->splice == 1;
    relay_init(&s->relay, &s->sk, &s->up->sock, (size_t)srv->buffer_size, srv->timeout,
               stream_relay_done);
    if (relay_push(&s->relay, &s->up->sock, s->early, s->early_len) < 0) {
        stream_logf(s, LL_ALERT, ENOMEM, "cannot start relaying");
        stream_finalize(s, STREAM_INTERNAL);
        return;
    }
    free(s->early);
    s->early = NULL;
    relay_ready(&s->relay, &s->sk);
}

static void stream_up_connected(struct ups_conn *uc, const struct ups_err *e)
{
    struct stream_sess *s = uc->data;
    if (e != NULL) {
        stream_connect_failed(s, e);
        return;
    }
    stream_connect_time(s, true);
    stream_logf(s, LL_INFO, 0, "proxy connected to %s", uc->addr.name);
    stream_relay(s);
}

/* ---- connecting -------------------------------------------------------------------- */

static int stream_pick_start(struct stream_sess *s)
{
    const struct ups_group *g = s->srv->pass;
    struct ups_rt *rt = stream_rt(g);
    char key[512];
    struct str k = {NULL, 0};
    if (rt == NULL)
        return -1;
    if (g->key != NULL) {
        size_t n = svar_eval(g->key, s, key, sizeof(key));
        k = str_make(mpool_strndup(&s->pool, key, n), n);
    }
    if (ups_pick_init(&s->pick, rt, &s->pool, stream_client_addr(s), k) < 0)
        return -1;
    long tries = s->srv->next_upstream_tries;
    if (tries > 0 && s->pick.tries > (unsigned)tries)
        s->pick.tries = (unsigned)tries;
    s->try_start = ev_now(s->sk.rx->loop);
    return 0;
}

static void stream_connect(struct stream_sess *s)
{
    struct ups_err e;
    s->state = SS_CONNECTING;
    if (ups_pick_next(&s->pick, ev_now(s->sk.rx->loop)) < 0) {
        stream_logf(s, LL_ERR, 0, "no live upstreams while connecting to upstream");
        stream_finalize(s, STREAM_BAD_GATEWAY);
        return;
    }
    s->picking = true;
    const struct ups_addr *addr = &s->pick.current->addr;
    stream_list_add(s->up_addrs, sizeof(s->up_addrs), addr->name);
    s->connect_start = ev_now(s->sk.rx->loop);
    s->up = ups_conn_open(s->sk.rx, addr, s->srv->connect_timeout, &stream_up_user, s, &e);
    if (s->up == NULL) {
        stream_connect_failed(s, &e);
        return;
    }
    if (s->srv->proxy_ssl == 1 && stream_up_secure(s) < 0) {
        stream_finalize(s, STREAM_INTERNAL);
        return;
    }
    if (s->srv->proxy_protocol == 1 && stream_pp_send(s) < 0) {
        stream_logf(s, LL_ALERT, ENOMEM, "cannot make the PROXY header");
        stream_finalize(s, STREAM_INTERNAL);
    }
}

static void stream_start(struct stream_sess *s)
{
    sock_watch(&s->sk, 0);
    timer_disarm(&s->sk.timer);
    if (stream_pick_start(s) < 0) {
        stream_logf(s, LL_ALERT, ENOMEM, "cannot start connecting to upstream");
        stream_finalize(s, STREAM_INTERNAL);
        return;
    }
    stream_connect(s);
}

/* ---- the client side ------------------------------------------------------------------- */

static int stream_keep_early(struct stream_sess *s, const char *p, size_t n)
{
    char *grown = realloc(s->early, s->early_len + n);
    if (grown == NULL)
        return -1;
    memcpy(grown + s->early_len, p, n);
    s->early = grown;
    s->early_len += n;
    return 0;
}

/* Reading drives the handshake; bytes that come with its end wait for
 * the upstream connection. */
static void stream_handshake(struct stream_sess *s)
{
    char buf[16384];
    for (;;) {
        ssize_t n = s->sk.tp->read(&s->sk, buf, sizeof(buf));
        if (n > 0 && stream_keep_early(s, buf, (size_t)n) == 0 && s->early_len < sizeof(buf))
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            stream_logf(s, LL_INFO, n < 0 ? errno : 0,
                        n < 0 ? "SSL handshake failed"
                              : "client closed connection while SSL handshaking");
            stream_finalize(s, STREAM_INTERNAL);
            return;
        }
        break;
    }
    if (s->tls_ready && tls_conn_of(&s->sk) == NULL) {
        /* tls_conn gives a client whose first byte is a letter back to the
         * plain transport (for http's 400): a stream relays no such bytes. */
        stream_logf(s, LL_INFO, 0, "client sent plain data to an SSL port");
        stream_finalize(s, STREAM_INTERNAL);
    } else if (s->tls_ready) {
        stream_start(s);
    }
    /* Else the transport watches what the handshake waits for (nothing
     * while a pool job has it: the job wakes the reader). */
}

static void stream_client_io(struct ev_loop *loop, ev_io *io, int revents)
{
    struct stream_sess *s = (struct stream_sess *)((char *)io - offsetof(struct sock, io));
    (void)loop;
    (void)revents;
    if (s->state == SS_HANDSHAKE)
        stream_handshake(s);
    else if (s->state == SS_RELAY)
        relay_ready(&s->relay, &s->sk);
}

static void stream_client_expire(struct timer_node *node)
{
    struct stream_sess *s = (struct stream_sess *)((char *)node - offsetof(struct sock, timer));
    if (s->state == SS_RELAY) {
        relay_timeout(&s->relay);
        return;
    }
    stream_logf(s, LL_INFO, ETIMEDOUT, "client timed out while SSL handshaking");
    stream_finalize(s, STREAM_INTERNAL);
}

/* Sessions go on until they end: a draining worker keeps them. */
static void stream_client_drain(struct sock *sk)
{
    (void)sk;
}

static void stream_client_close(struct sock *sk)
{
    stream_finalize(stream_of(sk), STREAM_OK);
}

static void stream_client_free(struct sock *sk)
{
    struct stream_sess *s = stream_of(sk);
    free(s->early);
    free(s->pp);
    mpool_destroy(&s->pool);
    free(s);
}

static const struct sock_ops stream_client_ops = {
    .drain = stream_client_drain,
    .close = stream_client_close,
    .free = stream_client_free,
};

/* ---- TLS ------------------------------------------------------------------------------- */

/* One server per address: SNI names no other. */
static const struct tls_ctx *stream_tls_select(const void *data, const char *name, size_t len)
{
    const struct stream_srv *srv = data;
    (void)name;
    (void)len;
    return srv->ssl->ctx;
}

static void stream_tls_ready(struct sock *sk)
{
    stream_of(sk)->tls_ready = true;
}

static const struct tls_owner stream_tls_owner = {
    .select = stream_tls_select,
    .ready = stream_tls_ready,
};

static int stream_tls_start(struct stream_sess *s)
{
    const struct ssl_part *p = s->srv->ssl;
    if (tls_conn_start(&s->sk, p->ctx, &stream_tls_owner, s->srv) < 0)
        return -1;
    s->state = SS_HANDSHAKE;
    sock_watch(&s->sk, EV_READ);
    return sock_arm(&s->sk, p->handshake_timeout);
}

/* ---- accepting --------------------------------------------------------------------------- */

/* nginx's stream realip: a trusted balancer's PROXY header names the
 * client (LOCAL and UNKNOWN headers carry none). */
static bool stream_real_ip(const struct stream_srv *srv, const union sockaddr_any *peer,
                           const struct pp_hdr *pp)
{
    return pp != NULL && !pp->info.local &&
           cidr_list_match(srv->real_ip_from, srv->nreal_ip_from, peer);
}

static void stream_open(struct reactor *rx, int fd, const union sockaddr_any *peer,
                        struct pp_hdr *pp, const struct stream_port *port)
{
    struct stream_sess *s = calloc(1, sizeof(*s));
    socklen_t len = sizeof(s->local);
    if (s == NULL) {
        log_msg(LL_ALERT, 0, errno, "cannot allocate a stream session");
        free(pp);
        close(fd);
        return;
    }
    sock_open(&s->sk, rx, fd, SOCK_CLIENT, &stream_client_ops, stream_client_io,
              stream_client_expire);
    /* nginx's stream tcp_nodelay is on by default (the upstream side gets it
     * in ups_conn): relayed bytes go out at once, and a TLS handshake's
     * records, which mbedTLS sends one by one, never wait for a delayed ACK. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
    s->port = port;
    s->srv = port->srv;
    s->conn_peer = *peer;
    s->peer = stream_real_ip(port->srv, peer, pp) ? pp->info.src : *peer;
    s->pp = pp;
    s->start = ev_now(rx->loop);
    mpool_init(&s->pool, 1024);
    if (getsockname(fd, &s->local.sa, &len) < 0)
        s->local = port->addr;
    stream_logf(s, LL_INFO, 0, "client connected to %s", port->text);
    if (!port->ssl) {
        stream_start(s);
        return;
    }
    if (stream_tls_start(s) < 0) {
        stream_logf(s, LL_ALERT, ENOMEM, "cannot start TLS");
        stream_finalize(s, STREAM_INTERNAL);
    }
}

static void stream_pp_done(struct reactor *rx, int fd, const union sockaddr_any *peer,
                           struct pp_hdr *hdr, const void *data)
{
    stream_open(rx, fd, peer, hdr, data);
}

void stream_accept(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data)
{
    const struct stream_port *port = data;
    if (!port->proxy_protocol) {
        stream_open(rx, fd, peer, NULL, port);
        return;
    }
    if (pp_wait_start(rx, fd, peer, port->srv->pp_timeout, port->text, stream_pp_done, port) < 0) {
        log_msg(LL_ALERT, 0, ENOMEM, "cannot wait for a PROXY header");
        close(fd);
    }
}
