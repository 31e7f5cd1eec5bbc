/* test_tls_client.c - client TLS (to upstreams) against the server side of
 * the TLS transport, both on one loop over a socketpair: verification
 * (chain, name, depth) and its messages in nginx's words, SNI sent or
 * not with the name always checked, client certificates, session reuse,
 * and handshakes on the loop and in the pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "event/reactor.h"
#include "event/sock.h"
#include "event/transport.h"
#include "tls/tls_client.h"
#include "tls/tls_conn.h"
#include "tls/tls_ctx.h"
#include "tls/tls_info.h"
#include "tls/tls_lib.h"
#include "tls/tls_names.h"
#include "tls/tls_store.h"

static char dir[] = "/tmp/turnpike-tlscli-unit-XXXXXX";
static struct tls_store *store;
static const struct tls_ctx *srv_ctx; /* leaf for backend.test, client certificates optional */
static struct tls_chain *ca, *other_ca, *cli_crt;
static struct tls_key *cli_key;

/* One client and one server connection. */
struct fx {
    struct ev_loop *loop; /* the loop */
    struct conf conf;     /* what reactor_init reads */
    struct reactor rx;    /* loop, timers, a thread pool */
    struct sock srv;      /* the server's end, under server TLS */
    struct sock cli;      /* the client's end, under client TLS */
    char sni[64];         /* the name the server saw, "" for none */
    bool srv_ready;       /* the server's handshake ended */
    int rc;               /* the client's handshake: 1 running, 0 done, -1 failed */
    char got[64];         /* what the server read */
    size_t ngot;          /* how many bytes */
};

static struct fx *cur;

static const struct tls_ctx *select_cb(const void *data, const char *name, size_t len)
{
    snprintf(cur->sni, sizeof(cur->sni), "%.*s", (int)len, name ? name : "");
    return data;
}

static void ready_cb(struct sock *s)
{
    (void)s;
    cur->srv_ready = true;
}

static const struct tls_owner owner = {select_cb, ready_cb};

static void srv_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    (void)io;
    ssize_t n = cur->srv.tp->read(&cur->srv, cur->got + cur->ngot, sizeof(cur->got) - cur->ngot);
    if (n > 0)
        cur->ngot += (size_t)n;
}

static void cli_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    (void)io;
    if (cur->rc != 1)
        return;
    if (tls_client_handshake(&cur->cli) == 0)
        cur->rc = 0;
    else if (errno != EAGAIN)
        cur->rc = -1;
}

static void timer_cb(struct timer_node *node)
{
    (void)node;
}

static void sock_noop(struct sock *s)
{
    (void)s;
}

static const struct sock_ops ops = {sock_noop, sock_noop, sock_noop};

static struct fx *open_fx(const struct tls_client *c, const char *name, bool sni)
{
    struct fx *f = calloc(1, sizeof(*f));
    int sv[2];
    assert_non_null(f);
    cur = f;
    f->rc = 1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->conf.thread_pool_threads = 2;
    f->conf.thread_pool_max_queue = 16;
    assert_int_equal(reactor_init(&f->rx, f->loop, &f->conf), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    sock_open(&f->srv, &f->rx, sv[0], SOCK_CLIENT, &ops, srv_io, timer_cb);
    sock_open(&f->cli, &f->rx, sv[1], SOCK_UPSTREAM, &ops, cli_io, timer_cb);
    assert_int_equal(tls_conn_start(&f->srv, srv_ctx, &owner, srv_ctx), 0);
    assert_int_equal(tls_client_start(&f->cli, c, name, sni, "peer:443"), 0);
    sock_watch(&f->srv, EV_READ);
    cli_io(f->loop, &f->cli.io, EV_WRITE); /* the owner starts it once connected */
    return f;
}

static void run(struct fx *f)
{
    for (int i = 0; i < 20000 && f->rc == 1; i++) {
        ev_run(f->loop, EVRUN_NOWAIT);
        usleep(100);
    }
    assert_int_not_equal(f->rc, 1);
}

/* The client writes, the server reads; the client then reads what came
 * after the handshake (a TLS 1.3 ticket). */
static void exchange(struct fx *f)
{
    struct iovec iov = {"ping", 4};
    char b[16];
    assert_int_equal(f->cli.tp->writev(&f->cli, &iov, 1, false), 4);
    for (int i = 0; i < 20000 && f->ngot < 4; i++) {
        ev_run(f->loop, EVRUN_NOWAIT);
        (void)f->cli.tp->read(&f->cli, b, sizeof(b));
        usleep(100);
    }
    for (int i = 0; i < 50; i++) {
        ev_run(f->loop, EVRUN_NOWAIT);
        (void)f->cli.tp->read(&f->cli, b, sizeof(b));
    }
    assert_int_equal(f->ngot, 4);
}

static void error_of(struct fx *f, char *buf, size_t len)
{
    tls_client_error(&f->cli, buf, len);
}

static void close_fx(struct fx *f)
{
    sock_close(&f->srv);
    sock_close(&f->cli);
    reactor_destroy(&f->rx);
    ev_loop_destroy(f->loop);
    free(f);
}

static const struct tls_client *client(struct tls_chain *trusted, bool verify, unsigned protocols,
                                       bool reuse, bool offload, bool cert)
{
    char err[256];
    struct tls_client_settings s = {
        .trusted = trusted,
        .verify = verify,
        .verify_depth = 1,
        .protocols = protocols,
        .ciphers = tls_names_default_ciphers,
        .cert = cert ? cli_crt : NULL,
        .key = cert ? cli_key : NULL,
        .session_reuse = reuse,
        .offload = offload,
    };
    const struct tls_client *c = tls_client_new(store, &s, err, sizeof(err));
    if (c == NULL)
        fail_msg("%s", err);
    return c;
}

#define BOTH (TLS_PROTO_12 | TLS_PROTO_13)

/* ---- tests ---------------------------------------------------------------------- */

static void test_verified_on_the_loop_and_in_the_pool(void **state)
{
    (void)state;
    unsigned protos[2] = {TLS_PROTO_12, TLS_PROTO_13};
    for (int i = 0; i < 4; i++) {
        const struct tls_client *c = client(ca, true, protos[i / 2], false, i % 2, false);
        struct fx *f = open_fx(c, "backend.test", true);
        run(f);
        assert_int_equal(f->rc, 0);
        assert_string_equal(f->sni, "backend.test");
        exchange(f);
        assert_memory_equal(f->got, "ping", 4);
        const struct tls_conn *t = tls_conn_of(&f->cli);
        assert_string_equal(tls_info_protocol(t), i / 2 ? "TLSv1.3" : "TLSv1.2");
        close_fx(f);
    }
}

static void test_wrong_name_fails_in_nginx_words(void **state)
{
    (void)state;
    char err[256];
    for (int sni = 0; sni < 2; sni++) {
        struct fx *f = open_fx(client(ca, true, BOTH, false, true, false), "other.test", sni);
        run(f);
        assert_int_equal(f->rc, -1);
        error_of(f, err, sizeof(err));
        assert_string_equal(err, "upstream SSL certificate does not match \"other.test\"");
        close_fx(f);
    }
}

static void test_untrusted_ca_fails_with_openssl_code(void **state)
{
    (void)state;
    char err[256];
    struct fx *f = open_fx(client(other_ca, true, BOTH, false, false, false), "backend.test", true);
    run(f);
    assert_int_equal(f->rc, -1);
    error_of(f, err, sizeof(err));
    assert_string_equal(err,
                        "upstream SSL certificate verify error: (20:unable to get local issuer "
                        "certificate)");
    close_fx(f);
}

static void test_verify_off_accepts_any(void **state)
{
    (void)state;
    struct fx *f = open_fx(client(NULL, false, BOTH, false, true, false), "nothing.test", true);
    run(f);
    assert_int_equal(f->rc, 0);
    exchange(f);
    close_fx(f);
}

/* SNI off: no name in the ClientHello, the certificate still checked
 * against the name. */
static void test_no_sni_still_checks_the_name(void **state)
{
    (void)state;
    const struct tls_client *c = client(ca, true, BOTH, false, true, false);
    struct fx *f = open_fx(c, "backend.test", false);
    run(f);
    assert_int_equal(f->rc, 0);
    assert_string_equal(f->sni, "");
    close_fx(f);
    f = open_fx(c, "wrong.test", false);
    run(f);
    assert_int_equal(f->rc, -1);
    close_fx(f);
}

static void test_client_certificate(void **state)
{
    (void)state;
    char verify[128];
    for (int cert = 0; cert < 2; cert++) {
        struct fx *f = open_fx(client(ca, true, BOTH, false, true, cert), "backend.test", true);
        run(f);
        assert_int_equal(f->rc, 0);
        exchange(f);
        tls_info_client_verify(tls_conn_of(&f->srv), verify, sizeof(verify));
        assert_string_equal(verify, cert ? "SUCCESS" : "NONE");
        close_fx(f);
    }
}

static void test_session_reuse(void **state)
{
    (void)state;
    unsigned protos[2] = {TLS_PROTO_12, TLS_PROTO_13};
    for (int v = 0; v < 2; v++) {
        for (int reuse = 0; reuse < 2; reuse++) {
            const struct tls_client *c = client(ca, true, protos[v], reuse, true, false);
            size_t before = tls_client_sessions();
            for (int round = 0; round < 3; round++) {
                struct fx *f = open_fx(c, "backend.test", true);
                run(f);
                assert_int_equal(f->rc, 0);
                exchange(f);
                bool reused = reuse && round > 0;
                assert_int_equal(tls_info_reused(tls_conn_of(&f->srv)), reused);
                assert_int_equal(tls_info_reused(tls_conn_of(&f->cli)), reused);
                close_fx(f);
            }
            assert_int_equal(tls_client_sessions(), before + (size_t)reuse);
        }
    }
}

/* A session is kept per name: another name makes a full handshake, whose
 * check fails. */
static void test_session_is_per_name(void **state)
{
    (void)state;
    const struct tls_client *c = client(ca, true, TLS_PROTO_12, true, false, false);
    struct fx *f = open_fx(c, "backend.test", true);
    run(f);
    exchange(f);
    close_fx(f);
    f = open_fx(c, "other.test", true);
    run(f);
    assert_int_equal(f->rc, -1);
    close_fx(f);
}

static void test_settings_checked(void **state)
{
    (void)state;
    char err[256];
    struct tls_client_settings s = {.verify = true, .protocols = BOTH, .ciphers = "HIGH"};
    assert_null(tls_client_new(store, &s, err, sizeof(err)));
    assert_string_equal(err, "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
}

/* ---- fixture: a CA, a server and a client certificate, another CA ------------- */

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
}

static void make_ca(const char *name)
{
    sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
       "-subj /CN=%s -keyout %s.key -out %s.pem 2>/dev/null",
       dir, name, name, name);
}

static void make_leaf(const char *name, const char *cn)
{
    sh("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=%s "
       "-keyout %s.key -out %s.csr 2>/dev/null && printf 'subjectAltName=DNS:%s\\n' > %s.ext && "
       "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
       "-extfile %s.ext -out %s.pem 2>/dev/null",
       dir, cn, name, name, cn, name, name, name, name);
}

static struct tls_chain *chain(const char *name)
{
    char path[256], err[256];
    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    struct tls_chain *c = tls_load_chain(store, path, "test", err, sizeof(err));
    if (c == NULL)
        fail_msg("%s", err);
    return c;
}

static struct tls_key *key(const char *name)
{
    char path[256], err[256];
    snprintf(path, sizeof(path), "%s/%s.key", dir, name);
    struct tls_key *k = tls_load_key(store, path, err, sizeof(err));
    if (k == NULL)
        fail_msg("%s", err);
    return k;
}

static int setup(void **state)
{
    char err[256];
    (void)state;
    assert_non_null(mkdtemp(dir));
    make_ca("ca");
    make_ca("other");
    make_leaf("srv", "backend.test");
    make_leaf("cli", "client.test");
    assert_non_null(store = tls_store_new());
    ca = chain("ca");
    other_ca = chain("other");
    cli_crt = chain("cli");
    cli_key = key("cli");
    struct tls_chain *srv_crt = chain("srv");
    struct tls_key *srv_key = key("srv");
    assert_int_equal(tls_lib_fork(err, sizeof(err)), 0); /* as a worker */
    struct tls_settings s = {
        .chains = &srv_crt,
        .keys = &srv_key,
        .ncerts = 1,
        .protocols = BOTH,
        .ciphers = tls_names_default_ciphers,
        .curves = "auto",
        .tickets = true,
        .session_timeout = 300000,
        .client = ca,
        .verify = TLS_VERIFY_OPTIONAL,
        .verify_depth = 1,
        .buffer_size = 16384,
        .offload = true,
        .id = "srv",
    };
    srv_ctx = tls_ctx_new(store, &s, err, sizeof(err));
    if (srv_ctx == NULL)
        fail_msg("%s", err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tls_store_free(store);
    assert_int_equal(tls_client_sessions(), 0); /* freed with their configurations */
    tls_lib_stop();
    sh("rm -rf %s", dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_on_the_loop_and_in_the_pool),
        cmocka_unit_test(test_wrong_name_fails_in_nginx_words),
        cmocka_unit_test(test_untrusted_ca_fails_with_openssl_code),
        cmocka_unit_test(test_verify_off_accepts_any),
        cmocka_unit_test(test_no_sni_still_checks_the_name),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_session_reuse),
        cmocka_unit_test(test_session_is_per_name),
        cmocka_unit_test(test_settings_checked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
