/* fuzz_tls.c - libFuzzer target for the TLS transport.
 *
 * The first byte picks what the rest is:
 *  - even: the bytes a client sends to a server context, as they come
 *    (records, a plain HTTP request, garbage).  They reach the real
 *    transport over a socketpair and its reads run to the end: the handshake
 *    parser, SNI and certificate selection, ticket and session parsing.
 *  - odd: a request sent over an established TLS connection (resumed by
 *    ticket, so an iteration costs no signature).  The second byte seeds
 *    how the plaintext is cut into records and the records into sends,
 *    with a release of the idle buffers tried between sends.  The server
 *    must read exactly the plaintext back, and then the bytes go down the
 *    request path of fuzz_request.c, included here. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
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
#include "tls/tls_lib.h"
#include "tls/tls_names.h"
#include "tls/tls_store.h"

/* The request path's target, under another name. */
#define LLVMFuzzerTestOneInput fuzz_request_path
#include "fuzz_request.c"
#undef LLVMFuzzerTestOneInput

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGohrfAKhTK5yq/c7\n"
    "MtrNTT1JYmoYlD2VM4Un/GvwzAyhRANCAAQi5fHdFBhQxme27LRRYLGSkETMCmk9\n"
    "R+R55nFxxpJJiru6ARENz2V3qG0ERe5z0WF4d6miXcKQOXyX49yHZvfh\n"
    "-----END PRIVATE KEY-----\n";

static const char fuzz_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdTCCARugAwIBAgIUBHL7xb3Hg43je5ykiJBZ3kfx1b0wCgYIKoZIzj0EAwIw\n"
    "DzENMAsGA1UEAwwEZnV6ejAgFw0yNjEyMDMxNDQwMTNaGA8yMTI2MTEwOTE0NDAx\n"
    "M1owDzENMAsGA1UEAwwEZnV6ejBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABCLl\n"
    "8d0UGFDGZ7bstFFgsZKQRMwKaT1H5HnmcXHGkkmKu7oBEQ3PZXeobQRF7nPRYXh3\n"
    "qaJdwpA5fJfj3Idm9+GjUzBRMB0GA1UdDgQWBBRMpWmD/rbqaoUq1P/oAFX+omaD\n"
    "gDAfBgNVHSMEGDAWgBRMpWmD/rbqaoUq1P/oAFX+omaDgDAPBgNVHRMBAf8EBTAD\n"
    "AQH/MAoGCCqGSM49BAMCA0gAMEUCIHvKxGmh/Ap5FdF6v+U2vWBq2dOLCnnlo1yp\n"
    "DpAwJgAWAiEAnHEddkIdWnRwWLNP600qYAT/I1OdJah3hAAKP7wrzXc=\n"
    "-----END CERTIFICATE-----\n";

/* What every iteration shares: made once. */
static struct {
    struct tls_store *store;    /* the certificate, the key, the context */
    const struct tls_ctx *ctx;  /* a server context, handshakes on the loop */
    struct ev_loop *loop;       /* the loop */
    struct conf conf;           /* what reactor_init reads */
    struct reactor rx;          /* loop and timers */
    mbedtls_ssl_config ccfg;    /* the client side of the odd inputs */
    mbedtls_ssl_session sess;   /* a ticket to resume with */
    bool have_sess;             /* sess holds one */
} F;

static const struct tls_ctx *fuzz_select(const void *data, const char *name, size_t len)
{
    (void)name;
    (void)len;
    return data;
}

static void fuzz_ready(struct sock *s)
{
    (void)s;
}

static const struct tls_owner fuzz_owner = {fuzz_select, fuzz_ready};

static void fuzz_io(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)io;
    (void)revents;
}

static void fuzz_timer(struct timer_node *node)
{
    (void)node;
}

static void fuzz_noop(struct sock *s)
{
    (void)s;
}

static const struct sock_ops fuzz_ops = {fuzz_noop, fuzz_noop, fuzz_noop};

static void fuzz_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fuzz_require(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "writing the test files");
}

static void fuzz_make_ctx(void)
{
    char err[256], cert[64] = "/tmp/fuzz-tls-XXXXXX", key[80];
    fuzz_require(mkdtemp(cert) != NULL, "mkdtemp");
    snprintf(key, sizeof(key), "%s/k.pem", cert);
    fuzz_file(key, fuzz_key);
    strcat(cert, "/c.pem");
    fuzz_file(cert, fuzz_cert);
    F.store = tls_store_new();
    struct tls_chain *c = tls_load_chain(F.store, cert, "fuzz", err, sizeof(err));
    struct tls_key *k = tls_load_key(F.store, key, err, sizeof(err));
    fuzz_require(c != NULL && k != NULL && tls_lib_fork(err, sizeof(err)) == 0, err);
    struct tls_settings s = {.chains = &c, .keys = &k, .ncerts = 1,
                             .protocols = TLS_PROTO_12 | TLS_PROTO_13,
                             .ciphers = tls_names_default_ciphers, .curves = "auto",
                             .tickets = true, .session_timeout = 3600000, .verify_depth = 1,
                             .buffer_size = 16384, .id = "fuzz"};
    F.ctx = tls_ctx_new(F.store, &s, err, sizeof(err));
    fuzz_require(F.ctx != NULL, err);
}

static void fuzz_init(void)
{
    if (F.loop != NULL)
        return;
    fuzz_make_ctx();
    F.loop = ev_loop_new(EVFLAG_AUTO);
    F.conf.thread_pool_threads = 1;
    F.conf.thread_pool_max_queue = 4;
    fuzz_require(reactor_init(&F.rx, F.loop, &F.conf) == 0, "reactor_init");
    mbedtls_ssl_config_init(&F.ccfg);
    mbedtls_ssl_config_defaults(&F.ccfg, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                MBEDTLS_SSL_PRESET_DEFAULT);
    mbedtls_ssl_conf_rng(&F.ccfg, tls_rng, NULL);
    mbedtls_ssl_conf_authmode(&F.ccfg, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_max_tls_version(&F.ccfg, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_session_init(&F.sess);
}

/* A server socket under TLS, and the client's end. */
static int fuzz_open(struct sock *s)
{
    int sv[2];
    fuzz_require(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");
    memset(s, 0, sizeof(*s));
    sock_open(s, &F.rx, sv[0], SOCK_CLIENT, &fuzz_ops, fuzz_io, fuzz_timer);
    fuzz_require(tls_conn_start(s, F.ctx, &fuzz_owner, F.ctx) == 0, "tls_conn_start");
    return sv[1];
}

static void fuzz_close(struct sock *s, int peer)
{
    close(peer);
    sock_close(s);
    reactor_sweep(&F.rx);
}

static void fuzz_drain(int fd)
{
    char buf[4096];
    while (recv(fd, buf, sizeof(buf), 0) > 0)
        ;
}

/* ---- even: raw bytes from a client ----------------------------------------- */

static void fuzz_raw(const uint8_t *data, size_t size)
{
    struct sock s;
    int peer = fuzz_open(&s);
    char buf[2048];
    fuzz_require(send(peer, data, size, 0) == (ssize_t)size, "send");
    shutdown(peer, SHUT_WR);
    for (int i = 0; i < 256; i++) {
        ssize_t n = s.tp->read(&s, buf, sizeof(buf));
        fuzz_drain(peer);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            break;
    }
    fuzz_close(&s, peer);
}

/* ---- odd: a request over an open connection -------------------------------- */

static int fuzz_cli_send(void *p, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)p, buf, len, 0);
    return n >= 0 ? (int)n : MBEDTLS_ERR_SSL_WANT_WRITE;
}

static int fuzz_cli_recv(void *p, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)p, buf, len, 0);
    return n > 0 ? (int)n : n == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : MBEDTLS_ERR_SSL_WANT_READ;
}

static bool fuzz_handshake(mbedtls_ssl_context *cli, struct sock *s)
{
    char none[1];
    for (int i = 0; i < 1000; i++) {
        int rc = mbedtls_ssl_handshake(cli);
        (void)s->tp->read(s, none, sizeof(none));
        if (rc == 0)
            return true;
        if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
            return false;
    }
    return false;
}

/* Reads what is there into got; tries a release when nothing is. */
static size_t fuzz_read_all(struct sock *s, unsigned char *got, size_t have, size_t cap,
                            size_t step)
{
    for (;;) {
        size_t room = cap - have;
        ssize_t n = s->tp->read(s, got + have, room < step ? room : step);
        if (n <= 0) {
            tls_conn_release(tls_conn_of(s));
            return have;
        }
        have += (size_t)n;
    }
}

/* The client seals the plaintext in records of seeded sizes, and the
 * bytes go out in seeded pieces with reads (and releases) between. */
static size_t fuzz_send_cut(mbedtls_ssl_context *cli, int peer, struct sock *s, uint8_t seed,
                            const uint8_t *p, size_t len, unsigned char *got, size_t cap)
{
    size_t have = 0, step = 1 + seed % 97, rec = 1 + (seed >> 3) * 61;
    for (size_t off = 0; off < len;) {
        size_t n = len - off < rec ? len - off : rec;
        int w = mbedtls_ssl_write(cli, p + off, n);
        fuzz_require(w > 0, "the client's write");
        off += (size_t)w;
        have = fuzz_read_all(s, got, have, cap, step);
    }
    (void)peer;
    for (int i = 0; i < 8; i++)
        have = fuzz_read_all(s, got, have, cap, step);
    return have;
}

static void fuzz_over_tls(const uint8_t *data, size_t size)
{
    static unsigned char got[8192];
    struct sock s;
    int peer = fuzz_open(&s);
    mbedtls_ssl_context cli;
    mbedtls_ssl_init(&cli);
    fuzz_require(mbedtls_ssl_setup(&cli, &F.ccfg) == 0, "client setup");
    mbedtls_ssl_set_bio(&cli, &peer, fuzz_cli_send, fuzz_cli_recv, NULL);
    if (F.have_sess)
        mbedtls_ssl_set_session(&cli, &F.sess);
    fuzz_require(fuzz_handshake(&cli, &s), "the handshake with our own client");
    if (!F.have_sess)
        F.have_sess = mbedtls_ssl_get_session(&cli, &F.sess) == 0;
    uint8_t seed = size > 0 ? data[0] : 0;
    const uint8_t *p = size > 0 ? data + 1 : data;
    size_t len = size > 0 ? size - 1 : 0;
    size_t n = fuzz_send_cut(&cli, peer, &s, seed, p, len, got, sizeof(got));
    fuzz_require(n == len && memcmp(got, p, len) == 0, "TLS delivered other bytes than sent");
    mbedtls_ssl_free(&cli);
    fuzz_close(&s, peer);
    fuzz_request_path(got, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_over_tls(data + 1, size - 1);
    else
        fuzz_raw(data + 1, size - 1);
    return 0;
}
