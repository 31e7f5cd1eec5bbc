/* ssl_conf.h - the http ssl module (nginx's ngx_http_ssl_module): the
 * ssl_* directives of the http and server levels, the TLS context of every
 * server on a `listen ... ssl` address, the $ssl_* variables, and the
 * requests TLS refuses (plain HTTP on a TLS port, client certificates).
 *
 * Every TLS library call is behind src/tls; this module only says what the
 * configuration asks for and where it was written. */
#ifndef TP_HTTP_SSL_CONF_H
#define TP_HTTP_SSL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/module.h"
#include "http/vars.h"

struct conf_loader;
struct conf_node;
struct conn;
struct srv_conf;
struct tls_cache;
struct tls_chain;
struct tls_crl;
struct tls_ctx;
struct tls_dh;
struct tls_key;
struct tls_store;
struct tls_tkey;

extern struct module mod_http_ssl;

/* An ssl_certificate or ssl_certificate_key, and where it was given. */
struct ssl_file {
    void *obj;        /* struct tls_chain or struct tls_key */
    const char *path; /* as written */
    const char *file; /* the directive's file */
    int line;         /* and line */
    bool checked;     /* a key: found to match its certificate (servers share them) */
};

/* ssl_session_cache */
enum ssl_cache_mode {
    SSL_CACHE_UNSET = -1, /* not given at this level */
    SSL_CACHE_NONE,       /* off or none: no session IDs kept */
    SSL_CACHE_SHARED,     /* shared:NAME:SIZE */
};

/* The module's part of an http level (http, server; locations have one
 * too, unused).  Generic fields are -1 / NULL until set. */
struct ssl_part {
    int prefer_server_ciphers;   /* ssl_prefer_server_ciphers */
    int session_tickets;         /* ssl_session_tickets */
    long session_timeout;        /* ssl_session_timeout, ms */
    long verify_client;          /* ssl_verify_client: enum tls_verify */
    long verify_depth;           /* ssl_verify_depth */
    long handshake_timeout;      /* ssl_handshake_timeout, ms */
    long buffer_size;            /* ssl_buffer_size */
    int stapling;                /* ssl_stapling (warned about, not done) */
    int stapling_verify;         /* ssl_stapling_verify (likewise) */
    int reject_handshake;        /* ssl_reject_handshake */
    int handshake_offload;       /* ssl_handshake_offload */
    char *ciphers;               /* ssl_ciphers */
    char *ecdh_curve;            /* ssl_ecdh_curve */
    struct ssl_file *certs;      /* ssl_certificate, in order */
    size_t ncerts;               /* how many; 0 = inherit */
    struct ssl_file *keys;       /* ssl_certificate_key, in order */
    size_t nkeys;                /* how many */
    unsigned protocols;          /* ssl_protocols bits; 0 = inherit */
    struct tls_dh *dh;           /* ssl_dhparam, or NULL */
    struct tls_tkey **tkeys;     /* ssl_session_ticket_key, in order */
    size_t ntkeys;               /* how many; 0 = inherit */
    int cache_mode;              /* enum ssl_cache_mode */
    struct tls_cache *cache;     /* the zone of shared:NAME:SIZE */
    struct tls_chain *client_ca; /* ssl_client_certificate */
    struct tls_chain *trusted;   /* ssl_trusted_certificate */
    struct tls_crl *crl;         /* ssl_crl */
    const char *const *alpn;     /* ssl_alpn (stream), NULL-ended; NULL = inherit */
    struct tls_ctx *ctx;         /* built for a server on a TLS address */
};

/* The module's part of the server level. */
const struct ssl_part *ssl_srv_part(const struct srv_conf *s);

/* The same settings for another protocol's levels (stream): a part with
 * every field unset, for the setters to fill through the loader's
 * cl->part; then, once the level is read, inheritance from its parent
 * (NULL for a top level) and the defaults. */
struct ssl_part *ssl_part_new(struct conf_loader *cl);
int ssl_part_inherit(struct conf_loader *cl, const struct ssl_part *parent, struct ssl_part *child);

/* Builds p's TLS context for a server on a TLS address of any protocol;
 * file and line say where the server is (the ticket keys' salt), at is
 * where errors point (its listen).  Once built, a second call does
 * nothing. */
int ssl_part_build(struct conf_loader *cl, struct ssl_part *p, const char *file, int line,
                   const struct conf_node *at);

/* For a connection accepted on a `listen ... ssl` address: the handshake
 * comes first, under ssl_handshake_timeout.  -1 when out of memory. */
int ssl_conn_start(struct conn *c);

/* http/ssl_conn.c: variables and the request check (the module's). */
#define SSL_NVARS 13
extern const struct var_def ssl_vars[];
extern const struct http_hooks ssl_hooks;

#endif
