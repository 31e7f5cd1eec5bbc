/* tls_client.c - TLS to upstreams: client configurations, connections and
 * the sessions they resume (see tls_client.h). */
#include "tls/tls_client.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/sock.h"
#include "event/transport.h"
#include "tls/tls_impl.h"
#include "tls/tls_lib.h"
#include "tls/tls_names.h"
#include "tls/tls_store.h"

/* ---- sessions ----------------------------------------------------------------- */

#define TLS_SESS_SLOTS 256 /* sessions a worker keeps */
#define TLS_SESS_PROBE 4   /* slots a key may use */

/* One kept session. */
struct tls_sess_slot {
    const struct tls_client *cli; /* whose, or NULL when free */
    char *key;                    /* peer, SNI flag and name (malloc) */
    mbedtls_ssl_session sess;     /* what the next handshake offers */
};

/* The process's sessions: only the loop thread touches them. */
static struct tls_sess_slot tls_sess[TLS_SESS_SLOTS];

static size_t tls_sess_hash(const struct tls_client *cli, const char *key)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)cli;
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h % TLS_SESS_SLOTS);
}

static bool tls_sess_is(const struct tls_sess_slot *sl, const struct tls_client *cli,
                        const char *key)
{
    return sl->cli == cli && strcmp(sl->key, key) == 0;
}

static struct tls_sess_slot *tls_sess_find(const struct tls_client *cli, const char *key)
{
    size_t h = tls_sess_hash(cli, key);
    for (size_t i = 0; i < TLS_SESS_PROBE; i++) {
        struct tls_sess_slot *sl = &tls_sess[(h + i) % TLS_SESS_SLOTS];
        if (sl->cli != NULL && tls_sess_is(sl, cli, key))
            return sl;
    }
    return NULL;
}

static void tls_sess_clear(struct tls_sess_slot *sl)
{
    if (sl->cli == NULL)
        return;
    mbedtls_ssl_session_free(&sl->sess);
    free(sl->key);
    sl->cli = NULL;
    sl->key = NULL;
}

/* The slot for a new session of key: its old one, a free one, or the
 * first of its probe (the oldest guess is as good as any). */
static struct tls_sess_slot *tls_sess_slot_for(const struct tls_client *cli, const char *key)
{
    size_t h = tls_sess_hash(cli, key);
    struct tls_sess_slot *sl = tls_sess_find(cli, key);
    for (size_t i = 0; sl == NULL && i < TLS_SESS_PROBE; i++)
        if (tls_sess[(h + i) % TLS_SESS_SLOTS].cli == NULL)
            sl = &tls_sess[(h + i) % TLS_SESS_SLOTS];
    if (sl == NULL)
        sl = &tls_sess[h];
    tls_sess_clear(sl);
    return sl;
}

static void tls_sess_save(struct tls_conn *t)
{
    const struct tls_peer *p = t->peer;
    if (!p->cli->reuse)
        return;
    struct tls_sess_slot *sl = tls_sess_slot_for(p->cli, p->key);
    mbedtls_ssl_session_init(&sl->sess);
    if ((sl->key = strdup(p->key)) == NULL || mbedtls_ssl_get_session(&t->ssl, &sl->sess) != 0) {
        mbedtls_ssl_session_free(&sl->sess);
        free(sl->key);
        sl->key = NULL;
        return;
    }
    sl->cli = p->cli;
}

static void tls_sess_offer(struct tls_conn *t)
{
    const struct tls_peer *p = t->peer;
    const struct tls_sess_slot *sl = p->cli->reuse ? tls_sess_find(p->cli, p->key) : NULL;
    if (sl != NULL)
        (void)mbedtls_ssl_set_session(&t->ssl, &sl->sess); /* a full handshake otherwise */
}

static void tls_sess_purge(const struct tls_client *cli)
{
    for (size_t i = 0; i < TLS_SESS_SLOTS; i++)
        if (tls_sess[i].cli == cli)
            tls_sess_clear(&tls_sess[i]);
}

size_t tls_client_sessions(void)
{
    size_t n = 0;
    for (size_t i = 0; i < TLS_SESS_SLOTS; i++)
        n += tls_sess[i].cli != NULL;
    return n;
}

/* ---- the configuration -------------------------------------------------------- */

static void tls_client_free(void *obj)
{
    struct tls_client *c = obj;
    tls_sess_purge(c);
    mbedtls_ssl_config_free(&c->ctx.conf);
    free(c);
}

static int tls_client_auth(struct tls_client *c, const struct tls_client_settings *s, char *err,
                           size_t errlen)
{
    c->verify = s->verify;
    c->ctx.verify_depth = s->verify_depth;
    c->ctx.authmode = s->verify ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE;
    c->trusted = s->trusted != NULL ? &s->trusted->crt : NULL;
    if (s->verify && c->trusted == NULL) {
        snprintf(err, errlen, "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
        return -1;
    }
    mbedtls_ssl_conf_authmode(&c->ctx.conf, c->ctx.authmode);
    mbedtls_ssl_conf_ca_chain(&c->ctx.conf, c->trusted, NULL);
    mbedtls_ssl_conf_verify(&c->ctx.conf, tls_conn_verify_cb, &c->ctx);
    c->cert = s->cert != NULL;
    if (c->cert && mbedtls_ssl_conf_own_cert(&c->ctx.conf, &s->cert->crt, &s->key->pk) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int tls_client_setup(struct tls_client *c, const struct tls_client_settings *s, char *err,
                            size_t errlen)
{
    struct tls_settings suites = {.ciphers = s->ciphers, .curves = "auto"};
    if (mbedtls_ssl_config_defaults(&c->ctx.conf, MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        snprintf(err, errlen, "cannot set up a TLS configuration");
        return -1;
    }
    mbedtls_ssl_conf_rng(&c->ctx.conf, tls_rng, NULL);
    c->ctx.buffer_size = MBEDTLS_SSL_OUT_CONTENT_LEN;
    c->ctx.offload = s->offload;
    c->reuse = s->session_reuse;
    mbedtls_ssl_conf_session_tickets(&c->ctx.conf, s->session_reuse
                                                       ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                       : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &c->ctx.conf, s->session_reuse ? MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED
                                       : MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_DISABLED);
    if (tls_ctx_versions(&c->ctx, s->protocols, err, errlen) < 0 ||
        tls_ctx_suites(&c->ctx, &suites, err, errlen) < 0)
        return -1;
    return tls_client_auth(c, s, err, errlen);
}

struct tls_client *tls_client_new(struct tls_store *st, const struct tls_client_settings *s,
                                  char *err, size_t errlen)
{
    if (tls_lib_init(err, errlen) < 0)
        return NULL;
    struct tls_client *c = calloc(1, sizeof(*c));
    if (c == NULL || tls_store_own(st, c, tls_client_free) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mbedtls_ssl_config_init(&c->ctx.conf);
    return tls_client_setup(c, s, err, errlen) == 0 ? c : NULL;
}

bool tls_client_verifies(const struct tls_client *c)
{
    return c->verify;
}

/* ---- the handshake's hooks ------------------------------------------------------ */

static int tls_client_state(const struct tls_conn *t)
{
    return t->ssl.MBEDTLS_PRIVATE(state);
}

/* The steps that cost real CPU on a client: the key exchange (TLS 1.3's
 * ServerHello, TLS 1.2's ClientKeyExchange), the server's certificate
 * chain and signature, and our own signature. */
bool tls_client_heavy(const struct tls_conn *t)
{
    bool v13 = mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
    switch (tls_client_state(t)) {
    case MBEDTLS_SSL_SERVER_HELLO:
        return v13;
    case MBEDTLS_SSL_SERVER_CERTIFICATE:
        return t->peer->cli->verify;
    case MBEDTLS_SSL_CERTIFICATE_VERIFY:
        return v13 || t->peer->cli->cert;
    case MBEDTLS_SSL_SERVER_KEY_EXCHANGE:
    case MBEDTLS_SSL_CLIENT_KEY_EXCHANGE:
    case MBEDTLS_SSL_CLIENT_CERTIFICATE_VERIFY:
        return true;
    default:
        return false;
    }
}

/* Without SNI the ClientHello goes without the name... */
int tls_client_pre_step(struct tls_conn *t)
{
    if (t->peer->sni || tls_client_state(t) != MBEDTLS_SSL_CLIENT_HELLO)
        return 0;
    t->peer->hidden = true;
    return mbedtls_ssl_set_hostname(&t->ssl, NULL);
}

/* ... and the name is back before anything the server sends is checked. */
int tls_client_post_step(struct tls_conn *t)
{
    int st = tls_client_state(t);
    if (!t->peer->hidden || st == MBEDTLS_SSL_CLIENT_HELLO)
        return 0;
    t->peer->hidden = false;
    return mbedtls_ssl_set_hostname(&t->ssl, t->peer->name);
}

/* TLS 1.2 has its session now; TLS 1.3's comes with the server's ticket. */
void tls_client_over(struct tls_conn *t)
{
    if (mbedtls_ssl_get_version_number(&t->ssl) == MBEDTLS_SSL_VERSION_TLS1_2)
        tls_sess_save(t);
}

void tls_client_ticket(struct tls_conn *t)
{
    tls_sess_save(t);
}

void tls_client_free_peer(struct tls_peer *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free(p->key);
    free(p);
}

/* ---- connections ------------------------------------------------------------------- */

static struct tls_peer *tls_peer_new(const struct tls_client *c, const char *name, bool sni,
                                     const char *peer)
{
    struct tls_peer *p = calloc(1, sizeof(*p));
    size_t klen = strlen(peer) + strlen(name) + 4;
    if (p == NULL)
        return NULL;
    p->cli = c;
    p->sni = sni;
    p->name = strdup(name);
    p->key = malloc(klen);
    if (p->name == NULL || p->key == NULL) {
        tls_client_free_peer(p);
        return NULL;
    }
    snprintf(p->key, klen, "%s %c %s", peer, sni ? 's' : '-', name);
    return p;
}

int tls_client_start(struct sock *s, const struct tls_client *c, const char *name, bool sni,
                     const char *peer)
{
    const struct transport *was = s->tp;
    void *was_state = s->tp_state;
    struct tls_peer *p = tls_peer_new(c, name, sni, peer);
    struct tls_conn *t = p != NULL ? tls_conn_attach(s, &c->ctx) : NULL;
    if (t == NULL) {
        tls_client_free_peer(p);
        return -1;
    }
    t->peer = p;
    t->phase = TLS_SHAKE; /* nothing to sniff: we speak first */
    /* Always set, whatever SNI says: the certificate is checked against it. */
    if (mbedtls_ssl_set_hostname(&t->ssl, name) != 0) {
        s->tp->free(s);
        s->tp = was;
        s->tp_state = was_state;
        return -1;
    }
    tls_sess_offer(t);
    return 0;
}

int tls_client_handshake(struct sock *s)
{
    struct tls_conn *t = tls_conn_of(s);
    assert(t != NULL && t->peer != NULL);
    return tls_conn_handshake(t);
}

/* ---- why it failed ---------------------------------------------------------------- */

/* The first certificate of the server's chain issued by itself. */
static bool tls_self_issued(const mbedtls_x509_crt *x)
{
    return x->issuer_raw.len == x->subject_raw.len &&
           memcmp(x->issuer_raw.p, x->subject_raw.p, x->issuer_raw.len) == 0;
}

/* No trusted CA: OpenSSL's 18, 19 or 20, as it tells them apart. */
static int tls_untrusted_code(const mbedtls_x509_crt *chain, const char **text)
{
    const mbedtls_x509_crt *last = chain;
    while (last != NULL && last->next != NULL && last->next->raw.p != NULL)
        last = last->next;
    if (chain != NULL && last == chain && tls_self_issued(chain))
        return *text = "self-signed certificate", 18;
    if (last != NULL && tls_self_issued(last))
        return *text = "self-signed certificate in certificate chain", 19;
    return *text = "unable to get local issuer certificate", 20;
}

/* mbedTLS's verify flags as the X509_V_ERR code and text nginx logs. */
static int tls_verify_code(const struct tls_conn *t, uint32_t flags, const char **text)
{
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        return *text = "certificate has expired", 10;
    if (flags & MBEDTLS_X509_BADCERT_FUTURE)
        return *text = "certificate is not yet valid", 9;
    if (flags & MBEDTLS_X509_BADCERT_REVOKED)
        return *text = "certificate revoked", 23;
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return tls_untrusted_code(mbedtls_ssl_get_peer_cert(&t->ssl), text);
    if (flags & MBEDTLS_X509_BADCERT_OTHER)
        return *text = "certificate chain too long", 22;
    if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE))
        return *text = "unsupported certificate purpose", 26;
    return *text = "unspecified certificate verification error", 1;
}

static void tls_client_verify_error(const struct tls_conn *t, uint32_t flags, char *buf, size_t len)
{
    const char *text;
    if ((flags & ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH) == 0) {
        snprintf(buf, len, "upstream SSL certificate does not match \"%s\"", t->peer->name);
        return;
    }
    int code = tls_verify_code(t, flags, &text);
    snprintf(buf, len, "upstream SSL certificate verify error: (%d:%s)", code, text);
}

void tls_client_error(const struct sock *s, char *buf, size_t len)
{
    const struct tls_conn *t = tls_conn_of(s);
    char why[160];
    int rc = t != NULL && t->peer != NULL ? t->peer->rc : 0;
    uint32_t flags = t != NULL ? mbedtls_ssl_get_verify_result(&t->ssl) : 0;
    bool checked =
        rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || rc == MBEDTLS_ERR_SSL_BAD_CERTIFICATE;
    if (checked && flags != 0 && flags != UINT32_MAX) {
        tls_client_verify_error(t, flags, buf, len);
    } else if (rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        snprintf(buf, len, "peer closed connection in SSL handshake");
    } else if (rc == TLS_ERR_IO) {
        snprintf(buf, len, "SSL_do_handshake() failed (%d: %s)", t->peer->io_err,
                 strerror(t->peer->io_err));
    } else {
        tls_strerror(rc, why, sizeof(why));
        snprintf(buf, len, "SSL_do_handshake() failed (SSL: %s)", why);
    }
}
