/* tls_client.h - TLS to upstreams: a client configuration built once from
 * the proxy_ssl_* settings, and client connections over sockets that are
 * already connected, with the TLS transport of tls_conn.h.
 *
 * The handshake runs as on the server side: light steps on the loop, the
 * heavy ones (key exchange, the server's certificate and signature checks,
 * our own signature) as TPOOL_CRYPTO jobs.  The owner drives it by calling
 * tls_client_handshake on each readiness of the socket until it returns 0;
 * reads and writes then carry application data.
 *
 * The name to verify is always set on the connection (mbedtls_ssl_set_
 * hostname: without it mbedTLS before 3.6.3 skipped the name check, CVE-
 * 2025-27809).  When SNI is off the name is taken away only while the
 * ClientHello is written, and set again before the server's certificate
 * arrives.
 *
 * Sessions: with reuse on, a successful handshake's session (TLS 1.2), or
 * the ticket a TLS 1.3 server sends after it, is kept per configuration,
 * peer and name, and offered by the next connection to the same; a
 * worker keeps them (its process's table, loop thread only), so a
 * resumption never skips a check the first handshake did not make. */
#ifndef TP_TLS_TLS_CLIENT_H
#define TP_TLS_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct sock;
struct tls_chain;
struct tls_client;
struct tls_key;
struct tls_store;

/* What proxy_ssl_* say. */
struct tls_client_settings {
    struct tls_chain *trusted; /* proxy_ssl_trusted_certificate, or NULL */
    bool verify;               /* proxy_ssl_verify: chain and name checked */
    long verify_depth;         /* proxy_ssl_verify_depth */
    unsigned protocols;        /* TLS_PROTO_12 | TLS_PROTO_13 */
    const char *ciphers;       /* TLS 1.2 suites, OpenSSL's syntax */
    struct tls_chain *cert;    /* proxy_ssl_certificate, or NULL */
    struct tls_key *key;       /* proxy_ssl_certificate_key */
    bool session_reuse;        /* proxy_ssl_session_reuse */
    bool offload;              /* heavy handshake steps in the pool */
};

/* Builds the configuration into the store (freed with it); NULL with the
 * reason in err. */
struct tls_client *tls_client_new(struct tls_store *st, const struct tls_client_settings *s,
                                  char *err, size_t errlen);

/* Whether the configuration checks the server's certificate. */
bool tls_client_verifies(const struct tls_client *c);

/* Puts the connected socket s under client TLS with c: name is verified
 * (and sent as SNI when sni), peer names the server for session reuse
 * ("127.0.0.1:8443").  -1 when out of memory or the name is too long
 * (s untouched then). */
int tls_client_start(struct sock *s, const struct tls_client *c, const char *name, bool sni,
                     const char *peer);

/* Runs the handshake: 0 once it is over (and the checks passed); -1 with
 * errno EAGAIN while it waits (s->want and the watcher set, 0 while a pool
 * job runs), or another errno when it failed: tls_client_error then says
 * why. */
int tls_client_handshake(struct sock *s);

/* Why the handshake failed, in nginx's words: "upstream SSL certificate
 * verify error: (20:unable to get local issuer certificate)", "upstream
 * SSL certificate does not match \"name\"", "SSL_do_handshake() failed
 * (SSL: ...)", "peer closed connection in SSL handshake". */
void tls_client_error(const struct sock *s, char *buf, size_t len);

/* Sessions kept by this process (for tests). */
size_t tls_client_sessions(void);

#endif
