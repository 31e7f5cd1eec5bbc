/* test_tls_conn.c - the TLS transport against an mbedTLS client over a
 * socketpair: the handshake (on the loop and in the pool), resumption, and
 * the release of idle record buffers, which must never drop a partial
 * record or unread plaintext.
 *
 * The client's records go through the test's hands (a bio that can hold
 * them back), so a record can be cut anywhere between two sends. */
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

#include <mbedtls/ssl.h>

#include "conf/conf.h"
#include "event/reactor.h"
#include "event/sock.h"
#include "event/transport.h"
#include "tls/tls_conn.h"
#include "tls/tls_ctx.h"
#include "tls/tls_info.h"
#include "tls/tls_lib.h"
#include "tls/tls_names.h"
#include "tls/tls_store.h"

static char dir[] = "/tmp/turnpike-tls-unit-XXXXXX";
static struct tls_store *store;
static const struct tls_ctx *ctx_loop, *ctx_pool;

/* One connection under test. */
struct fx {
    struct ev_loop *loop;      /* the loop */
    struct conf conf;          /* what reactor_init reads */
    struct reactor rx;         /* loop, timers, a thread pool */
    struct sock s;             /* the server side, under TLS */
    int peer;                  /* the client's end */
    mbedtls_ssl_config ccfg;   /* the client's configuration */
    mbedtls_ssl_context cli;   /* the client */
    unsigned char held[65536]; /* client records not sent yet */
    size_t nheld;              /* how many bytes */
    bool hold;                 /* keep the client's records back */
    unsigned char got[65536];  /* what the server read */
    size_t ngot;               /* how many bytes */
    size_t want;               /* read at most this much per event */
    bool ready;                /* the owner's ready() ran */
};

static struct fx *cur;

/* ---- the server's owner --------------------------------------------------- */

static const struct tls_ctx *select_cb(const void *data, const char *name, size_t len)
{
    (void)name;
    (void)len;
    return data;
}

static void ready_cb(struct sock *s)
{
    (void)s;
    cur->ready = true;
}

static const struct tls_owner owner = {select_cb, ready_cb};

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct fx *f = cur;
    size_t room = sizeof(f->got) - f->ngot;
    ssize_t n = f->s.tp->read(&f->s, f->got + f->ngot, room < f->want ? room : f->want);
    if (n > 0)
        f->ngot += (size_t)n;
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

/* ---- the client ------------------------------------------------------------- */

static int cli_send(void *p, const unsigned char *buf, size_t len)
{
    struct fx *f = p;
    if (f->hold) {
        assert_true(f->nheld + len <= sizeof(f->held));
        memcpy(f->held + f->nheld, buf, len);
        f->nheld += len;
        return (int)len;
    }
    ssize_t n = send(f->peer, buf, len, 0);
    return n >= 0 ? (int)n : MBEDTLS_ERR_SSL_WANT_WRITE;
}

static int cli_recv(void *p, unsigned char *buf, size_t len)
{
    struct fx *f = p;
    ssize_t n = recv(f->peer, buf, len, 0);
    if (n > 0)
        return (int)n;
    return n == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : MBEDTLS_ERR_SSL_WANT_READ;
}

static void release_held(struct fx *f, size_t from, size_t to)
{
    assert_int_equal(send(f->peer, f->held + from, to - from, 0), (ssize_t)(to - from));
}

/* Turns the loop until the client's handshake is over. */
static void client_handshake(struct fx *f)
{
    for (int i = 0; i < 10000; i++) {
        int rc = mbedtls_ssl_handshake(&f->cli);
        if (rc == 0)
            return;
        assert_true(rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE);
        ev_run(f->loop, EVRUN_NOWAIT);
        usleep(200); /* a pool job may be running */
    }
    fail_msg("the handshake did not finish");
}

static void run_until(struct fx *f, size_t ngot)
{
    for (int i = 0; i < 10000 && f->ngot < ngot; i++) {
        ev_run(f->loop, EVRUN_NOWAIT);
        usleep(100);
    }
    assert_int_equal(f->ngot, ngot);
}

static void client_setup(struct fx *f, unsigned version)
{
    mbedtls_ssl_config_init(&f->ccfg);
    assert_int_equal(mbedtls_ssl_config_defaults(&f->ccfg, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_rng(&f->ccfg, tls_rng, NULL);
    mbedtls_ssl_conf_authmode(&f->ccfg, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_min_tls_version(&f->ccfg, (mbedtls_ssl_protocol_version)version);
    mbedtls_ssl_conf_max_tls_version(&f->ccfg, (mbedtls_ssl_protocol_version)version);
    mbedtls_ssl_conf_session_tickets(&f->ccfg, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &f->ccfg, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
    mbedtls_ssl_init(&f->cli);
    assert_int_equal(mbedtls_ssl_setup(&f->cli, &f->ccfg), 0);
    mbedtls_ssl_set_bio(&f->cli, f, cli_send, cli_recv, NULL);
    assert_int_equal(mbedtls_ssl_set_hostname(&f->cli, "unit"), 0);
}

static struct fx *open_fx(const struct tls_ctx *ctx, unsigned version)
{
    struct fx *f = calloc(1, sizeof(*f));
    int sv[2];
    assert_non_null(f);
    cur = f;
    f->want = sizeof(f->got);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->conf.thread_pool_threads = 2;
    f->conf.thread_pool_max_queue = 16;
    assert_int_equal(reactor_init(&f->rx, f->loop, &f->conf), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    sock_open(&f->s, &f->rx, sv[0], SOCK_CLIENT, &ops, io_cb, timer_cb);
    ev_io_start(f->loop, &f->s.io);
    assert_int_equal(tls_conn_start(&f->s, ctx, &owner, ctx), 0);
    f->peer = sv[1];
    client_setup(f, version);
    return f;
}

static void close_fx(struct fx *f)
{
    mbedtls_ssl_free(&f->cli);
    mbedtls_ssl_config_free(&f->ccfg);
    close(f->peer);
    sock_close(&f->s);
    reactor_destroy(&f->rx);
    ev_loop_destroy(f->loop);
    free(f);
}

static void client_write(struct fx *f, const char *text)
{
    assert_int_equal(mbedtls_ssl_write(&f->cli, (const unsigned char *)text, strlen(text)),
                     (int)strlen(text));
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_handshake_on_the_loop_and_in_the_pool(void **state)
{
    (void)state;
    const struct tls_ctx *ctxs[2] = {ctx_loop, ctx_pool};
    unsigned versions[2] = {MBEDTLS_SSL_VERSION_TLS1_2, MBEDTLS_SSL_VERSION_TLS1_3};
    for (int i = 0; i < 4; i++) {
        struct fx *f = open_fx(ctxs[i % 2], versions[i / 2]);
        client_handshake(f);
        client_write(f, "GET / HTTP/1.1\r\n\r\n");
        run_until(f, 18);
        assert_true(f->ready);
        assert_memory_equal(f->got, "GET / HTTP/1.1\r\n\r\n", 18);
        struct tls_conn *t = tls_conn_of(&f->s);
        assert_string_equal(tls_info_protocol(t), i / 2 ? "TLSv1.3" : "TLSv1.2");
        assert_false(tls_info_reused(t));
        close_fx(f);
    }
}

/* A quiet connection releases; the next records decrypt (the counter came
 * back) whether they arrive whole or cut. */
static void test_release_never_drops_a_partial_record(void **state)
{
    (void)state;
    struct fx *f = open_fx(ctx_pool, MBEDTLS_SSL_VERSION_TLS1_3);
    struct tls_conn *t = tls_conn_of(&f->s);
    client_handshake(f);
    client_write(f, "one");
    run_until(f, 3);
    assert_true(tls_conn_release(t));
    assert_false(tls_conn_release(t)); /* already */
    f->hold = true;
    client_write(f, "two, a record cut in the middle");
    f->hold = false;
    release_held(f, 0, 9);
    for (int i = 0; i < 20; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(f->ngot, 3);
    /* The server holds 9 bytes of a record: it is not idle. */
    assert_false(tls_conn_release(t));
    release_held(f, 9, f->nheld);
    run_until(f, 3 + 31);
    assert_memory_equal(f->got + 3, "two, a record cut in the middle", 31);
    assert_true(tls_conn_release(t));
    client_write(f, "three");
    run_until(f, 3 + 31 + 5);
    close_fx(f);
}

/* Plaintext decrypted but not yet read keeps the buffers too, and the
 * reader gets it without another byte on the socket. */
static void test_release_never_drops_unread_plaintext(void **state)
{
    (void)state;
    struct fx *f = open_fx(ctx_loop, MBEDTLS_SSL_VERSION_TLS1_2);
    struct tls_conn *t = tls_conn_of(&f->s);
    client_handshake(f);
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    f->want = 100;
    client_write(f, big);
    for (int i = 0; i < 5 && f->ngot == 0; i++) {
        ev_run(f->loop, EVRUN_NOWAIT);
        usleep(1000);
    }
    assert_true(f->ngot > 0 && f->ngot < sizeof(big) - 1);
    assert_false(tls_conn_release(t));
    run_until(f, sizeof(big) - 1);
    assert_memory_equal(f->got, big, sizeof(big) - 1);
    assert_true(tls_conn_release(t));
    close_fx(f);
}

static void test_resumption_by_ticket(void **state)
{
    (void)state;
    unsigned versions[2] = {MBEDTLS_SSL_VERSION_TLS1_2, MBEDTLS_SSL_VERSION_TLS1_3};
    for (int v = 0; v < 2; v++) {
        mbedtls_ssl_session sess;
        mbedtls_ssl_session_init(&sess);
        for (int round = 0; round < 2; round++) {
            struct fx *f = open_fx(ctx_pool, versions[v]);
            if (round == 1)
                assert_int_equal(mbedtls_ssl_set_session(&f->cli, &sess), 0);
            client_handshake(f);
            client_write(f, "hi");
            run_until(f, 2);
            /* TLS 1.3's ticket comes after the handshake: read for it. */
            unsigned char b[16];
            for (int i = 0; i < 50; i++) {
                ev_run(f->loop, EVRUN_NOWAIT);
                (void)mbedtls_ssl_read(&f->cli, b, sizeof(b));
            }
            assert_int_equal(tls_info_reused(tls_conn_of(&f->s)), round == 1);
            if (round == 0)
                assert_int_equal(mbedtls_ssl_get_session(&f->cli, &sess), 0);
            close_fx(f);
        }
        mbedtls_ssl_session_free(&sess);
    }
}

/* ---- fixture: a certificate made with openssl --------------------------- */

static const struct tls_ctx *make_ctx(struct tls_chain *c, struct tls_key *k, bool offload)
{
    char err[256];
    struct tls_settings s = {
        .chains = &c,
        .keys = &k,
        .ncerts = 1,
        .protocols = TLS_PROTO_12 | TLS_PROTO_13,
        .ciphers = tls_names_default_ciphers,
        .curves = "auto",
        .tickets = true,
        .session_timeout = 300000,
        .verify_depth = 1,
        .buffer_size = 16384,
        .offload = offload,
        .id = offload ? "pool" : "loop",
    };
    const struct tls_ctx *ctx = tls_ctx_new(store, &s, err, sizeof(err));
    if (ctx == NULL)
        fail_msg("%s", err);
    return ctx;
}

static int setup(void **state)
{
    char cmd[512], crt[128], key[128], err[256];
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(crt, sizeof(crt), "%s/c.pem", dir);
    snprintf(key, sizeof(key), "%s/k.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=unit -keyout %s -out %s 2>/dev/null",
             key, crt);
    assert_int_equal(system(cmd), 0);
    assert_non_null(store = tls_store_new());
    struct tls_chain *c = tls_load_chain(store, crt, "test", err, sizeof(err));
    struct tls_key *k = tls_load_key(store, key, err, sizeof(err));
    assert_non_null(c);
    assert_non_null(k);
    assert_int_equal(tls_lib_fork(err, sizeof(err)), 0); /* as a worker */
    ctx_loop = make_ctx(c, k, false);
    ctx_pool = make_ctx(c, k, true);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    tls_store_free(store);
    tls_lib_stop();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_on_the_loop_and_in_the_pool),
        cmocka_unit_test(test_release_never_drops_a_partial_record),
        cmocka_unit_test(test_release_never_drops_unread_plaintext),
        cmocka_unit_test(test_resumption_by_ticket),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
