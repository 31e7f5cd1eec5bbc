/* tls_conn.c - the TLS transport: handshake (on the loop and in the pool),
 * records, and the release of idle buffers (see tls_conn.h). */
#include "tls/tls_conn.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <mbedtls/platform.h>

#include "core/log.h"
#include "core/sockaddr.h"
#include "event/reactor.h"
#include "event/sock.h"
#include "event/transport.h"
#include "tls/tls_impl.h"
#include "tls/tls_lib.h"

/* tls_handshake's answers besides 0 and -1. */
#define TLS_RC_JOB 1   /* a pool job took the next steps */
#define TLS_RC_PLAIN 2 /* the client speaks plain HTTP */

#define TLS_FIELD(t, f) ((t)->ssl.MBEDTLS_PRIVATE(f))
/* Most bytes held back to go out with what follows (a response head). */
#define TLS_CORK_MAX 4096

struct tls_conn *tls_conn_of(const struct sock *s)
{
    return s->tp == &transport_tls ? s->tp_state : NULL;
}

/* ---- the socket under the library -------------------------------------- */

static int tls_bio_send(void *p, const unsigned char *buf, size_t len)
{
    struct tls_conn *t = p;
    ssize_t n = send(sock_fd(t->s), buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    t->io_err = errno;
    return TLS_ERR_IO;
}

static int tls_bio_recv(void *p, unsigned char *buf, size_t len)
{
    struct tls_conn *t = p;
    ssize_t n = recv(sock_fd(t->s), buf, len, 0);
    if (n > 0)
        return (int)n;
    if (n == 0)
        return MBEDTLS_ERR_SSL_CONN_EOF;
    if (errno == EAGAIN || errno == EINTR)
        return MBEDTLS_ERR_SSL_WANT_READ;
    t->io_err = errno;
    return TLS_ERR_IO;
}

/* ---- logging ---------------------------------------------------------------- */

static void tls_log(const struct tls_conn *t, enum log_level level, const char *what, int rc)
{
    char why[160], addr[64] = "?";
    union sockaddr_any peer;
    socklen_t len = sizeof(peer);
    if (!log_enabled(level))
        return;
    if (rc == TLS_ERR_IO)
        snprintf(why, sizeof(why), "%d: %s", t->io_err, strerror(t->io_err));
    else
        tls_strerror(rc, why, sizeof(why));
    if (getpeername(sock_fd(t->s), &peer.sa, &len) == 0)
        sockaddr_text(&peer, false, addr, sizeof(addr));
    log_msg(level, t->s->id, 0, "%s (%s) while SSL handshaking, client: %s", what, why, addr);
}

/* ---- certificate selection (called by the library after the ClientHello) -- */

static int tls_keep_sni(struct tls_conn *t, const unsigned char *name, size_t len)
{
    if (t->sni != NULL || name == NULL || len == 0)
        return 0;
    if ((t->sni = malloc(len + 1)) == NULL)
        return -1;
    memcpy(t->sni, name, len);
    t->sni[len] = '\0';
    return 0;
}

/* The chosen server's certificates and client checks replace the
 * handshake context's for this handshake. */
static int tls_lend(mbedtls_ssl_context *ssl, const struct tls_ctx *c)
{
    for (size_t i = 0; i < c->npairs; i++) {
        int rc = mbedtls_ssl_set_hs_own_cert(ssl, &c->pairs[i].chain->crt, &c->pairs[i].key->pk);
        if (rc != 0)
            return rc;
    }
    mbedtls_ssl_set_hs_ca_chain(ssl, c->ca, c->crl);
    mbedtls_ssl_set_hs_authmode(ssl, c->authmode);
    if (c->hints != NULL)
        mbedtls_ssl_set_hs_dn_hints(ssl, c->hints);
    return 0;
}

int tls_conn_cert_cb(mbedtls_ssl_context *ssl)
{
    struct tls_conn *t = mbedtls_ssl_get_user_data_p(ssl);
    size_t len = 0;
    const unsigned char *name = mbedtls_ssl_get_hs_sni(ssl, &len);
    if (tls_keep_sni(t, name, len) < 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    const struct tls_ctx *c = t->owner->select(t->data, t->sni, t->sni ? strlen(t->sni) : 0);
    if (c == NULL || c->reject) {
        mbedtls_ssl_send_alert_message(ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
                                       MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME);
        return MBEDTLS_ERR_SSL_UNRECOGNIZED_NAME;
    }
    t->chosen = c;
    mbedtls_ssl_set_verify(ssl, tls_conn_verify_cb, (void *)c);
    return c == t->ctx ? 0 : tls_lend(ssl, c);
}

/* ssl_verify_depth, which the library's own chain check does not know.
 * (optional_no_ca is decided per request: $ssl_client_verify still says
 * FAILED for an unknown issuer, as in nginx.) */
int tls_conn_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const struct tls_ctx *c = ctx;
    (void)crt;
    if (depth > c->verify_depth)
        *flags |= MBEDTLS_X509_BADCERT_OTHER;
    return 0;
}

/* ---- handshake steps ---------------------------------------------------------- */

static int tls_state(const struct tls_conn *t)
{
    return TLS_FIELD(t, state);
}

static bool tls_over(const struct tls_conn *t)
{
    return tls_state(t) == MBEDTLS_SSL_HANDSHAKE_OVER;
}

/* The steps that cost real CPU: key exchange, signing, and checking a
 * client's certificate.  Parsing hellos and resumed TLS 1.2 handshakes
 * stay on the loop.  (TLS 1.3's ServerHello computes the key share.) */
static bool tls_heavy(const struct tls_conn *t)
{
    if (t->peer != NULL)
        return tls_client_heavy(t);
    switch (tls_state(t)) {
    case MBEDTLS_SSL_SERVER_HELLO:
        return mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
    case MBEDTLS_SSL_SERVER_KEY_EXCHANGE:
    case MBEDTLS_SSL_CLIENT_CERTIFICATE:
    case MBEDTLS_SSL_CLIENT_KEY_EXCHANGE:
    case MBEDTLS_SSL_CERTIFICATE_VERIFY:
    case MBEDTLS_SSL_CLIENT_CERTIFICATE_VERIFY:
        return true;
    default:
        return false;
    }
}

/* The connection whose handshake step runs on this thread (the ticket
 * callbacks have no other way to it). */
static __thread struct tls_conn *tls_current;

void tls_conn_ticket_peer(const mbedtls_ssl_session *session, const mbedtls_x509_crt **peer,
                          uint32_t *verify)
{
    const struct tls_conn *t = tls_current;
    *peer = session->MBEDTLS_PRIVATE(peer_cert);
    *verify = session->MBEDTLS_PRIVATE(verify_result);
    if (*peer == NULL && t != NULL && t->tpeer != NULL) {
        *peer = t->tpeer; /* a resumption passes it on to the next ticket */
        *verify = t->tverify;
    }
}

void tls_conn_ticket_keep(uint32_t verify, const unsigned char *der, size_t len)
{
    struct tls_conn *t = tls_current;
    if (t == NULL || len == 0 || t->tpeer != NULL)
        return;
    mbedtls_x509_crt *crt = mbedtls_calloc(1, sizeof(*crt));
    if (crt == NULL)
        return;
    mbedtls_x509_crt_init(crt);
    if (mbedtls_x509_crt_parse_der(crt, der, len) != 0) {
        mbedtls_x509_crt_free(crt);
        mbedtls_free(crt);
        return;
    }
    t->tpeer = crt;
    t->tverify = verify;
}

static int tls_step(struct tls_conn *t)
{
    if (t->peer != NULL && tls_client_pre_step(t) != 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    tls_current = t;
    int rc = mbedtls_ssl_handshake_step(&t->ssl);
    tls_current = NULL;
    /* Only a full handshake passes through sending the certificate. */
    if (tls_state(t) == MBEDTLS_SSL_SERVER_CERTIFICATE)
        t->full = true;
    if (t->peer != NULL && tls_client_post_step(t) != 0)
        return MBEDTLS_ERR_SSL_ALLOC_FAILED;
    return rc;
}

/* A pool thread running handshakes must not take the CPU from the loop,
 * whose established connections want answers now.  Where the process may
 * come back from SCHED_IDLE (root, or the RLIMIT_NICE the master set), the
 * job runs at SCHED_IDLE and the thread returns after it; elsewhere (a
 * container without CAP_SYS_RESOURCE) the thread goes to nice 19 for good:
 * an unprivileged thread cannot lower its nice value again, and the pool's
 * other jobs, waiting on disks or compressing, should yield to the loop
 * as well. */
static bool tls_job_background(void)
{
    static __thread bool reniced;
    struct sched_param sp = {0};
    if (tls_lib_idle_jobs())
        return pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0;
    if (!reniced)
        reniced = setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) == 0;
    return false;
}

/* Pool thread: the rest of this flight, until the client must speak. */
static void tls_job_work(struct tpool_job *job)
{
    struct tls_conn *t = (struct tls_conn *)((char *)job - offsetof(struct tls_conn, job));
    struct sched_param sp = {0};
    bool idle = tls_job_background();
    int rc;
    do
        rc = tls_step(t);
    while (rc == 0 && !tls_over(t));
    t->job_rc = rc;
    if (idle)
        (void)pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}

static void tls_fail(struct tls_conn *t, int rc)
{
    t->phase = TLS_FAILED;
    if (t->peer != NULL) { /* the owner logs it, with its own context */
        t->peer->rc = rc;
        t->peer->io_err = t->io_err;
        return;
    }
    if (rc == MBEDTLS_ERR_SSL_CONN_EOF)
        log_msg(LL_INFO, t->s->id, 0, "client closed connection while SSL handshaking");
    else
        tls_log(t, LL_INFO, "SSL handshake failed", rc);
}

/* Loop thread, the context is ours again: wait for what the steps need,
 * or wake the reader to finish (or to fail). */
static void tls_job_done(struct tpool_job *job)
{
    struct tls_conn *t = (struct tls_conn *)((char *)job - offsetof(struct tls_conn, job));
    struct sock *s = t->s;
    t->phase = TLS_SHAKE;
    if (t->job_rc == MBEDTLS_ERR_SSL_WANT_READ || t->job_rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        sock_watch(s, t->job_rc == MBEDTLS_ERR_SSL_WANT_READ ? EV_READ : EV_WRITE);
        return;
    }
    if (t->job_rc != 0)
        tls_fail(t, t->job_rc);
    sock_watch(s, EV_READ);
    ev_feed_event(s->rx->loop, &s->io, EV_READ);
}

static void tls_job_release(struct tpool_job *job)
{
    (void)job; /* embedded in the connection, which the socket frees */
}

/* Hands the next steps to the pool; -1 (do them here) if it is full or
 * offload is off. */
static int tls_offload(struct tls_conn *t)
{
    if (!t->ctx->offload || t->s->rx->pool == NULL)
        return -1;
    if (tpool_submit(t->s->rx->pool, &t->job) < 0)
        return -1;
    t->phase = TLS_JOB;
    sock_watch(t->s, 0);
    return 0;
}

/* Runs steps here until the handshake is over, one must wait for the
 * client, or a heavy one goes to the pool. */
static int tls_shake(struct tls_conn *t)
{
    while (!tls_over(t)) {
        if (tls_heavy(t) && tls_offload(t) == 0)
            return TLS_RC_JOB;
        int rc = tls_step(t);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the first byte: TLS or plain HTTP ----------------------------------------- */

/* 0 for TLS, TLS_RC_PLAIN for an HTTP request line, -1 with errno. */
static int tls_sniff(struct tls_conn *t)
{
    unsigned char b;
    ssize_t n = recv(sock_fd(t->s), &b, 1, MSG_PEEK);
    if (n < 0 && errno == EAGAIN)
        t->s->want = EV_READ;
    if (n <= 0) {
        if (n == 0)
            errno = ECONNRESET;
        return -1;
    }
    return b >= 'A' && b <= 'Z' ? TLS_RC_PLAIN : 0;
}

static void tls_free_state(struct tls_conn *t)
{
    timer_disarm(&t->idle);
    ev_idle_stop(t->s->rx->loop, &t->more);
    free(t->cork);
    tls_client_free_peer(t->peer);
    if (t->tpeer != NULL) {
        mbedtls_x509_crt_free(t->tpeer);
        mbedtls_free(t->tpeer);
    }
    mbedtls_ssl_free(&t->ssl);
    free(t->sni);
    free(t);
}

/* The socket goes back to the kernel's calls; the owner answers. */
static void tls_go_plain(struct tls_conn *t)
{
    struct sock *s = t->s;
    const struct tls_owner *owner = t->owner;
    s->tp = &transport_plain;
    s->tp_state = NULL;
    tls_free_state(t);
    owner->ready(s);
}

static int tls_wait(struct sock *s, int want)
{
    sock_watch(s, want);
    s->want = (uint8_t)want;
    errno = EAGAIN;
    return -1;
}

static int tls_hello(struct tls_conn *t)
{
    int rc = tls_sniff(t);
    if (rc == TLS_RC_PLAIN) {
        tls_go_plain(t);
        return TLS_RC_PLAIN;
    }
    if (rc == 0)
        t->phase = TLS_SHAKE;
    return rc;
}

/* Library internals (mbedTLS 3.6's library/ssl_misc.h), for the one thing
 * its API does not do: */
void mbedtls_ssl_handshake_free(mbedtls_ssl_context *ssl);
void mbedtls_ssl_transform_free(mbedtls_ssl_transform *transform);

/* mbedTLS 3.6 keeps a TLS 1.3 connection's handshake state (transcript
 * hashes, key schedule, handshake keys: about 5 KB) until the connection is
 * freed, although a server never needs it again (it refuses post-handshake
 * messages).  TLS 1.2 frees the same at the end of its handshake, and the
 * record layer runs without it; this does that for TLS 1.3. */
static void tls_drop_handshake(struct tls_conn *t)
{
    mbedtls_ssl_context *ssl = &t->ssl;
    /* A client still reads the server's tickets with it. */
    if (t->peer != NULL || mbedtls_ssl_get_version_number(ssl) != MBEDTLS_SSL_VERSION_TLS1_3 ||
        TLS_FIELD(t, handshake) == NULL)
        return;
    mbedtls_ssl_handshake_free(ssl);
    mbedtls_free(TLS_FIELD(t, handshake));
    TLS_FIELD(t, handshake) = NULL;
    if (TLS_FIELD(t, transform_negotiate) != NULL) { /* unused by TLS 1.3 */
        mbedtls_ssl_transform_free(TLS_FIELD(t, transform_negotiate));
        mbedtls_free(TLS_FIELD(t, transform_negotiate));
        TLS_FIELD(t, transform_negotiate) = NULL;
    }
}

/* 0 once open; TLS_RC_PLAIN; -1 with errno (EAGAIN: s->want says what
 * for, 0 while a job runs). */
static int tls_handshake(struct tls_conn *t)
{
    struct sock *s = t->s;
    if (t->phase == TLS_OPEN)
        return 0;
    if (t->phase == TLS_JOB)
        return tls_wait(s, 0);
    if (t->phase == TLS_FAILED) {
        errno = EPROTO;
        return -1;
    }
    if (t->phase == TLS_HELLO) {
        int h = tls_hello(t); /* after TLS_RC_PLAIN, t is gone */
        if (h == TLS_RC_PLAIN)
            return h;
        if (h < 0)
            return errno == EAGAIN ? tls_wait(s, EV_READ) : -1;
    }
    int rc = tls_shake(t);
    if (rc == TLS_RC_JOB)
        return tls_wait(s, 0);
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return tls_wait(s, rc == MBEDTLS_ERR_SSL_WANT_READ ? EV_READ : EV_WRITE);
    if (rc != 0) {
        tls_fail(t, rc);
        errno = EPROTO;
        return -1;
    }
    t->phase = TLS_OPEN;
    tls_drop_handshake(t);
    if (t->peer != NULL)
        tls_client_over(t);
    else
        t->owner->ready(s);
    return 0;
}

int tls_conn_handshake(struct tls_conn *t)
{
    return tls_handshake(t);
}

/* ---- idle buffers ---------------------------------------------------------- */

/* Nothing buffered either way: no partial record in, no sealed record
 * out, no decrypted bytes unread.  Only then may the pages go. */
static bool tls_quiet(const struct tls_conn *t)
{
    return t->phase == TLS_OPEN && !t->released && t->pending == 0 && t->ncork == 0 &&
           TLS_FIELD(t, in_left) == 0 && TLS_FIELD(t, in_msglen) == 0 &&
           TLS_FIELD(t, out_left) == 0 && mbedtls_ssl_check_pending(&t->ssl) == 0;
}

bool tls_conn_release(struct tls_conn *t)
{
    if (!tls_quiet(t))
        return false;
    /* For TLS (not DTLS) the incoming record counter lives in the first 8
     * bytes of the input buffer; everything else there is spent. */
    memcpy(t->in_ctr, TLS_FIELD(t, in_ctr), sizeof(t->in_ctr));
    tls_lib_release(TLS_FIELD(t, in_buf), TLS_FIELD(t, in_buf_len));
    tls_lib_release(TLS_FIELD(t, out_buf), TLS_FIELD(t, out_buf_len));
    t->released = true;
    return true;
}

static void tls_wake(struct tls_conn *t)
{
    if (!t->released)
        return;
    memcpy(TLS_FIELD(t, in_ctr), t->in_ctr, sizeof(t->in_ctr));
    t->released = false;
}

static void tls_idle_expire(struct timer_node *node)
{
    struct tls_conn *t = (struct tls_conn *)((char *)node - offsetof(struct tls_conn, idle));
    tls_conn_release(t);
}

static void tls_idle_arm(struct tls_conn *t)
{
    if (tls_quiet(t))
        (void)timer_arm(&t->s->rx->timers, &t->idle, TLS_IDLE_RELEASE_MS);
}

/* ---- the transport ------------------------------------------------------------- */

static ssize_t tls_result(struct tls_conn *t, int rc)
{
    if (rc >= 0)
        return rc;
    if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF)
        return 0;
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        t->s->want = rc == MBEDTLS_ERR_SSL_WANT_READ ? EV_READ : EV_WRITE;
        errno = EAGAIN;
        return -1;
    }
    errno = rc == TLS_ERR_IO ? t->io_err : EPROTO;
    return -1;
}

static ssize_t tls_read(struct sock *s, void *buf, size_t len)
{
    struct tls_conn *t = s->tp_state;
    int rc = tls_handshake(t);
    if (rc == TLS_RC_PLAIN)
        return s->tp->read(s, buf, len);
    if (rc < 0)
        return -1;
    tls_wake(t);
    rc = mbedtls_ssl_read(&t->ssl, buf, len > INT_MAX ? INT_MAX : len);
    /* A TLS 1.3 server's ticket comes after the handshake, before data. */
    while (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET && t->peer != NULL) {
        tls_client_ticket(t);
        rc = mbedtls_ssl_read(&t->ssl, buf, len > INT_MAX ? INT_MAX : len);
    }
    /* The rest of the record is ours, not the socket's: the reader must
     * come back for it even if no byte arrives. */
    if (rc > 0 && mbedtls_ssl_check_pending(&t->ssl))
        ev_idle_start(s->rx->loop, &t->more);
    tls_idle_arm(t);
    return tls_result(t, rc);
}

/* The loop has nothing else to do and decrypted bytes wait: if the socket
 * still watches for reads (its owner waits for more), that is a read
 * event.  An owner that stopped reading gets one from sock_watch when it
 * starts again (tls_pending). */
static void tls_more_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    struct tls_conn *t = (struct tls_conn *)((char *)w - offsetof(struct tls_conn, more));
    struct sock *s = t->s;
    (void)revents;
    ev_idle_stop(loop, w);
    if (ev_is_active(&s->io) && (s->io.events & EV_READ) && mbedtls_ssl_check_pending(&t->ssl))
        ev_feed_event(loop, &s->io, EV_READ);
}

static bool tls_pending(struct sock *s)
{
    struct tls_conn *t = s->tp_state;
    return t->phase == TLS_OPEN && mbedtls_ssl_check_pending(&t->ssl);
}

/* Up to `max` bytes of the iovecs from offset skip: in place when one
 * buffer holds them, else gathered into scratch. */
static size_t tls_gather(const struct iovec *iov, int n, size_t skip, size_t max,
                         unsigned char *scratch, const unsigned char **out)
{
    int i = 0;
    for (; i < n && skip >= iov[i].iov_len; i++)
        skip -= iov[i].iov_len;
    if (i == n)
        return 0;
    const unsigned char *p = (const unsigned char *)iov[i].iov_base + skip;
    size_t have = iov[i].iov_len - skip;
    *out = p;
    if (have >= max || i == n - 1)
        return have < max ? have : max;
    size_t got = 0;
    for (; i < n && got < max; i++, skip = 0) {
        size_t take = iov[i].iov_len - skip < max - got ? iov[i].iov_len - skip : max - got;
        memcpy(scratch + got, (const unsigned char *)iov[i].iov_base + skip, take);
        got += take;
    }
    *out = scratch;
    return got;
}

/* The record sealed by an earlier call goes out first; the caller's bytes
 * in it (some may have been corked before) are the first of this call's
 * data. */
static ssize_t tls_flush_pending(struct tls_conn *t)
{
    static const unsigned char unused[1];
    int rc = mbedtls_ssl_write(&t->ssl, unused, t->pending);
    if (rc < 0)
        return tls_result(t, rc);
    t->pending = 0;
    return (ssize_t)t->pending_own;
}

static size_t tls_chunk(const struct tls_conn *t)
{
    int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
    size_t m = max > 0 ? (size_t)max : 512;
    return t->ctx->buffer_size < m ? t->ctx->buffer_size : m;
}

static size_t tls_iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

/* "More follows at once" (a response head before its file): the bytes wait
 * here to be sealed with what follows, one record and one send instead of
 * two, as nginx's ssl buffer does.  Returns whether they were taken. */
static bool tls_cork(struct tls_conn *t, const struct iovec *iov, int n, size_t total)
{
    if (t->ncork + total >= tls_chunk(t) || t->ncork + total > TLS_CORK_MAX)
        return false;
    if (t->cork == NULL && (t->cork = malloc(TLS_CORK_MAX)) == NULL)
        return false;
    for (int i = 0; i < n; i++) {
        memcpy(t->cork + t->ncork, iov[i].iov_base, iov[i].iov_len);
        t->ncork += iov[i].iov_len;
    }
    return true;
}

/* The first record after a cork: the corked bytes, then the caller's.
 * Returns the caller's bytes it carried, or -1 as tls_result says. */
static ssize_t tls_write_corked(struct tls_conn *t, const struct iovec *iov, int n,
                                unsigned char *scratch)
{
    size_t max = tls_chunk(t), len = t->ncork;
    const unsigned char *p;
    memcpy(scratch, t->cork, len);
    size_t own = tls_gather(iov, n, 0, max - len, scratch + len, &p);
    if (p != scratch + len)
        memcpy(scratch + len, p, own);
    len += own;
    t->ncork = 0;
    free(t->cork);
    t->cork = NULL;
    int rc = mbedtls_ssl_write(&t->ssl, scratch, len);
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
        t->pending = len; /* sealed: it goes with the next call */
        t->pending_own = own;
    }
    return rc < 0 ? tls_result(t, rc) : (ssize_t)own;
}

/* Records of the caller's bytes from offset done until all are out or one
 * must wait; returns the bytes sent, or -1 when none were. */
static ssize_t tls_write_records(struct tls_conn *t, const struct iovec *iov, int n, size_t done,
                                 unsigned char *scratch)
{
    size_t max = tls_chunk(t), start = done;
    const unsigned char *p;
    int rc = 0;
    for (size_t len; (len = tls_gather(iov, n, done, max, scratch, &p)) > 0; done += (size_t)rc) {
        rc = mbedtls_ssl_write(&t->ssl, p, len);
        if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
            t->pending = len;
            t->pending_own = len;
        }
        if (rc < 0)
            break;
    }
    return done > start ? (ssize_t)(done - start) : tls_result(t, rc);
}

/* A response that went out whole is often the last thing for a while:
 * the idle clock starts (the usual keep-alive cycle never reads again
 * until the next request). */
static ssize_t tls_written(struct tls_conn *t, ssize_t n)
{
    if (n > 0)
        tls_idle_arm(t);
    return n;
}

/* Where records are gathered: writes happen on the loop thread only. */
static unsigned char scratch[MBEDTLS_SSL_OUT_CONTENT_LEN];

static ssize_t tls_writev(struct sock *s, const struct iovec *iov, int n, bool more)
{
    struct tls_conn *t = s->tp_state;
    int rc = tls_handshake(t);
    if (rc == TLS_RC_PLAIN)
        return s->tp->writev(s, iov, n, more);
    if (rc < 0)
        return -1;
    tls_wake(t);
    if (t->pending > 0)
        return tls_flush_pending(t);
    size_t total = tls_iov_total(iov, n);
    if (more && tls_cork(t, iov, n, total))
        return (ssize_t)total;
    if (t->ncork == 0)
        return tls_written(t, tls_write_records(t, iov, n, 0, scratch));
    ssize_t first = tls_write_corked(t, iov, n, scratch);
    if (first <= 0 || (size_t)first == total)
        return tls_written(t, first);
    ssize_t rest = tls_write_records(t, iov, n, (size_t)first, scratch);
    return tls_written(t, rest > 0 ? first + rest : first);
}

static int tls_shutdown(struct sock *s)
{
    struct tls_conn *t = s->tp_state;
    if (t->phase == TLS_OPEN && t->pending == 0) {
        tls_wake(t);
        if (t->ncork > 0)
            (void)tls_write_corked(t, NULL, 0, scratch);
        if (t->pending == 0)
            (void)mbedtls_ssl_close_notify(&t->ssl); /* best effort, as nginx */
    }
    return shutdown(sock_fd(s), SHUT_WR);
}

static enum probe_rc tls_probe(struct sock *s)
{
    struct tls_conn *t = s->tp_state;
    if (t->phase == TLS_JOB)
        return PROBE_NOTHING;
    if (t->phase == TLS_OPEN &&
        (mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 || mbedtls_ssl_check_pending(&t->ssl)))
        return PROBE_DATA;
    return transport_plain.probe(s);
}

/* The last reference went and the descriptor closes next: a peer that
 * reads on gets close_notify rather than a bare end, as nginx sends it. */
static void tls_free(struct sock *s)
{
    struct tls_conn *t = s->tp_state;
    if (t->phase == TLS_OPEN && t->pending == 0 && TLS_FIELD(t, out_left) == 0) {
        tls_wake(t);
        (void)mbedtls_ssl_close_notify(&t->ssl);
    }
    tls_free_state(t);
    s->tp_state = NULL;
}

const struct transport transport_tls = {
    .name = "tls",
    .read = tls_read,
    .writev = tls_writev,
    .sendfile = NULL, /* the bytes must be sealed: the writer reads the file */
    .shutdown = tls_shutdown,
    .probe = tls_probe,
    .pending = tls_pending,
    .free = tls_free,
};

struct tls_conn *tls_conn_attach(struct sock *s, const struct tls_ctx *ctx)
{
    struct tls_conn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    mbedtls_ssl_init(&t->ssl);
    if (mbedtls_ssl_setup(&t->ssl, &ctx->conf) != 0) {
        mbedtls_ssl_free(&t->ssl);
        free(t);
        return NULL;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, tls_bio_send, tls_bio_recv, NULL);
    mbedtls_ssl_set_user_data_p(&t->ssl, t);
    t->s = s;
    t->ctx = t->chosen = ctx;
    t->job = (struct tpool_job){.work = tls_job_work,
                                .done = tls_job_done,
                                .release = tls_job_release,
                                .owner = &s->own,
                                .cls = TPOOL_CRYPTO};
    t->idle.expire = tls_idle_expire;
    ev_idle_init(&t->more, tls_more_cb);
    s->tp = &transport_tls;
    s->tp_state = t;
    return t;
}

int tls_conn_start(struct sock *s, const struct tls_ctx *ctx, const struct tls_owner *owner,
                   const void *data)
{
    struct tls_conn *t = tls_conn_attach(s, ctx);
    if (t == NULL)
        return -1;
    t->owner = owner;
    t->data = data;
    return 0;
}
