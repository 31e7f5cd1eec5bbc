/* tls_ctx.h - a server's TLS configuration, built once from its settings:
 * certificates (RSA and ECDSA side by side), protocols, suites, curves,
 * session tickets and cache, client certificate checks.
 *
 * The context of an address's default server runs the handshake; the
 * server the client names (SNI) lends its certificates and client
 * certificate checks to it, as in nginx.  Protocols, suites, curves and
 * sessions are therefore the default server's. */
#ifndef TP_TLS_CTX_H
#define TP_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>

struct tls_store;
struct tls_chain;
struct tls_key;
struct tls_crl;
struct tls_dh;
struct tls_tkey;
struct tls_cache;
struct tls_ctx;

/* ssl_verify_client */
enum tls_verify {
    TLS_VERIFY_OFF,            /* no certificate asked for */
    TLS_VERIFY_ON,             /* required and checked */
    TLS_VERIFY_OPTIONAL,       /* asked for, checked if sent */
    TLS_VERIFY_OPTIONAL_NO_CA, /* asked for; an unknown issuer is fine */
};

/* What a server's ssl_* directives say. */
#define TLS_ALPN_MAX 8 /* names an ALPN list may have */

struct tls_settings {
    struct tls_chain **chains; /* ssl_certificate, in order */
    struct tls_key **keys;     /* ssl_certificate_key, paired by position */
    size_t ncerts;             /* pairs */
    unsigned protocols;        /* TLS_PROTO_12 | TLS_PROTO_13 */
    const char *ciphers;       /* ssl_ciphers (OpenSSL's syntax) */
    const char *curves;        /* ssl_ecdh_curve */
    bool prefer_server;        /* ssl_prefer_server_ciphers */
    struct tls_dh *dh;         /* ssl_dhparam, or NULL */
    bool tickets;              /* ssl_session_tickets */
    long session_timeout;      /* ssl_session_timeout, ms */
    struct tls_tkey **tkeys;   /* ssl_session_ticket_key; [0] encrypts */
    size_t ntkeys;             /* how many; 0 = keys the master rotates */
    struct tls_cache *cache;   /* ssl_session_cache shared:..., or NULL */
    struct tls_chain *client;  /* ssl_client_certificate, or NULL */
    struct tls_chain *trusted; /* ssl_trusted_certificate, or NULL */
    struct tls_crl *crl;       /* ssl_crl, or NULL */
    enum tls_verify verify;    /* ssl_verify_client */
    long verify_depth;         /* ssl_verify_depth */
    long buffer_size;          /* ssl_buffer_size: largest record we send */
    bool reject;               /* ssl_reject_handshake */
    bool offload;              /* ssl_handshake_offload */
    const char *const *alpn;   /* ALPN names (NULL-ended, at most TLS_ALPN_MAX,
                                  kept by the caller), or NULL for none */
    const char *id;            /* the server block ("file:line"): keeps
                                  rotating ticket keys apart per server */
};

/* Builds the context into the store; NULL with the reason in err. */
struct tls_ctx *tls_ctx_new(struct tls_store *st, const struct tls_settings *s, char *err,
                            size_t errlen);

/* Whether handshakes with this context refuse every client
 * (ssl_reject_handshake, the context of a default server). */
bool tls_ctx_rejects(const struct tls_ctx *c);

#endif
