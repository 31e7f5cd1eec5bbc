/* tls_impl.h - the TLS layer's own structures, shared by its files only.
 *
 * Nothing outside src/tls includes this header (or any mbedTLS one): the
 * rest of the server sees opaque types, so a change of library touches
 * src/tls alone. */
#ifndef TP_TLS_IMPL_H
#define TP_TLS_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <mbedtls/dhm.h>
#include <mbedtls/gcm.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "core/timer.h"
#include "core/tpool.h"
#include "tls/tls_conn.h"
#include "tls/tls_ctx.h"
#include "tls/tls_names.h"

struct tls_chain {
    mbedtls_x509_crt crt; /* first certificate, then the rest of the file */
};

struct tls_key {
    mbedtls_pk_context pk; /* the private key */
};

struct tls_crl {
    mbedtls_x509_crl crl; /* every CRL of the file */
};

struct tls_dh {
    mbedtls_dhm_context dhm; /* P and G */
};

#define TLS_TKEY_NAME 16 /* bytes of a ticket key's name, as in nginx's files */

/* A session ticket key: AES-256-GCM, named in the tickets it seals. */
struct tls_tkey {
    unsigned char name[TLS_TKEY_NAME]; /* tells which key sealed a ticket */
    mbedtls_gcm_context gcm;           /* the key schedule (under tls_ticket.c's lock) */
    bool set;                          /* gcm holds a key */
};

/* The ticket keys of one context (tls_ticket.c's lock guards them: pool
 * threads issue and check tickets at once). */
struct tls_tickets {
    uint32_t lifetime;       /* seconds a ticket is good for */
    struct tls_tkey **fixed; /* from files; [0] seals */
    size_t nfixed;           /* how many; 0 = rotating keys */
    unsigned char salt[32];  /* this server's share of the derivation */
    int64_t slot;            /* time slot rot[1] is for; rot[0] the one before */
    struct tls_tkey rot[3];  /* keys of slot - 1, slot, slot + 1 */
};

/* What a context's session cache callbacks need. */
struct tls_cache_use {
    struct tls_cache *zone; /* the shared memory */
    long timeout;           /* ms a session stays */
};

/* One key and certificate chain, for handing to a handshake after SNI. */
struct tls_pair {
    struct tls_chain *chain; /* certificate first, then its chain */
    struct tls_key *key;     /* its private key */
};

struct tls_ctx {
    mbedtls_ssl_config conf;            /* the library's configuration */
    int suites[TLS_NAMES_MAX + 4];      /* TLS 1.2 choice + TLS 1.3's three, 0-ended */
    uint16_t groups[TLS_NAMES_MAX + 1]; /* curves, 0-ended */
    const char *alpn[TLS_ALPN_MAX + 1]; /* the ALPN names offered, NULL-ended */
    struct tls_pair *pairs;             /* ssl_certificate/key pairs */
    size_t npairs;                      /* how many */
    mbedtls_x509_crt *ca;               /* client ∪ trusted CAs, or NULL */
    mbedtls_x509_crl *crl;              /* ssl_crl's, or NULL */
    const mbedtls_x509_crt *hints;      /* CAs named to clients: ssl_client_certificate's */
    int authmode;                       /* MBEDTLS_SSL_VERIFY_* */
    enum tls_verify verify;             /* ssl_verify_client */
    long verify_depth;                  /* longest chain above the leaf */
    size_t buffer_size;                 /* largest record we send */
    bool reject;                        /* ssl_reject_handshake */
    bool offload;                       /* handshake steps in the pool */
    struct tls_tickets *tickets;        /* ticket keys, or NULL without tickets */
    struct tls_cache_use cache;         /* session cache, zone NULL if none */
};

/* Where a connection's handshake is. */
enum tls_phase {
    TLS_HELLO,  /* nothing read yet: a TLS client or a plain HTTP one? */
    TLS_SHAKE,  /* handshake steps run on the loop */
    TLS_JOB,    /* a pool thread owns the context */
    TLS_OPEN,   /* handshake over: application data */
    TLS_FAILED, /* the handshake failed: reads and writes fail */
};

/* One connection's TLS state (the socket's tp_state). */
struct tls_conn {
    mbedtls_ssl_context ssl;       /* the library's connection */
    struct tpool_job job;          /* the heavy handshake steps, in the pool */
    struct timer_node idle;        /* releases the buffers once quiet */
    ev_idle more;                  /* decrypted bytes wait: a read event for the reader */
    struct sock *s;                /* the socket it is the transport of */
    const struct tls_ctx *ctx;     /* the handshake's context (the default server's) */
    const struct tls_ctx *chosen;  /* whose certificates SNI chose */
    const struct tls_owner *owner; /* the socket owner's callbacks */
    const void *data;              /* their argument */
    char *sni;                     /* the name the client sent, or NULL */
    size_t pending;                /* plaintext bytes of a sealed record not yet sent */
    size_t pending_own;            /* of them, the caller's (the rest were corked) */
    unsigned char *cork;           /* bytes held back to go with what follows, or NULL */
    size_t ncork;                  /* how many */
    int job_rc;                    /* what the pool's steps ended with */
    int io_err;                    /* errno of the send or recv that failed */
    unsigned char in_ctr[8];       /* the incoming record counter while released */
    uint8_t phase;                 /* enum tls_phase */
    mbedtls_x509_crt *tpeer;       /* TLS 1.3: the client certificate a ticket carried */
    uint32_t tverify;              /* and its check's result */
    bool full;                     /* a certificate was sent: not a resumption */
    bool released;                 /* the buffer pages went back to the kernel */
    struct tls_peer *peer;         /* a client connection's side, or NULL on a server's */
};

/* tls_ctx.c's protocol and suite settings, shared with client contexts
 * (s: its protocols, ciphers, curves and dhparam). */
int tls_ctx_versions(struct tls_ctx *c, unsigned protocols, char *err, size_t errlen);
int tls_ctx_suites(struct tls_ctx *c, const struct tls_settings *s, char *err, size_t errlen);

/* A failed send or recv: the text comes from io_err, not the library. */
#define TLS_ERR_IO (-0x004C)

/* A client configuration (tls_client.h): a context whose endpoint is the
 * client, so the transport reads it as any other. */
struct tls_client {
    struct tls_ctx ctx;        /* first: conf, suites, buffer size, offload, depth */
    mbedtls_x509_crt *trusted; /* proxy_ssl_trusted_certificate's CAs, or NULL */
    bool verify;               /* proxy_ssl_verify */
    bool reuse;                /* proxy_ssl_session_reuse */
    bool cert;                 /* a client certificate is sent when asked */
};

/* What a client connection keeps beside the transport's state. */
struct tls_peer {
    const struct tls_client *cli; /* its configuration */
    char *name;                   /* the name verified (malloc) */
    char *key;                    /* the session key: peer, SNI flag and name (malloc) */
    bool sni;                     /* the name goes out as SNI */
    bool hidden;                  /* the name is off while the ClientHello is written */
    int rc;                       /* what the failed handshake ended with, 0 */
    int io_err;                   /* ... its errno for an I/O failure */
};

/* A client handshake's hooks into the transport (tls_client.c). */
bool tls_client_heavy(const struct tls_conn *t);
int tls_client_pre_step(struct tls_conn *t);
int tls_client_post_step(struct tls_conn *t);
void tls_client_over(struct tls_conn *t);
void tls_client_ticket(struct tls_conn *t);
void tls_client_free_peer(struct tls_peer *p);

/* For tls_client.c: a TLS state for s over configuration ctx (the
 * socket's transport becomes TLS); NULL when out of memory. */
struct tls_conn *tls_conn_attach(struct sock *s, const struct tls_ctx *ctx);
/* The transport's handshake (0, or -1 with errno; see tls_client.h). */
int tls_conn_handshake(struct tls_conn *t);

/* Tickets and TLS 1.3 client certificates: the certificate (and check
 * result) a ticket being written should carry, and one a ticket being
 * opened carried, for the connection whose handshake step runs on this
 * thread. */
void tls_conn_ticket_peer(const mbedtls_ssl_session *session, const mbedtls_x509_crt **peer,
                          uint32_t *verify);
void tls_conn_ticket_keep(uint32_t verify, const unsigned char *der, size_t len);

/* The library's certificate selection and chain check callbacks (the
 * context of a connection's chosen server is their argument). */
int tls_conn_cert_cb(mbedtls_ssl_context *ssl);
int tls_conn_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

/* Ownership of everything a store holds: a list of objects and how each
 * goes. */
struct tls_item {
    void *obj;               /* what was made */
    void (*free)(void *obj); /* its destructor (which frees obj itself) */
    struct tls_item *next;   /* the previous item made */
};

#define TLS_STORE_CACHES 8 /* distinct session cache zones per configuration */

struct tls_store {
    struct tls_item *items;                     /* newest first, freed in that order */
    struct tls_cache *caches[TLS_STORE_CACHES]; /* zones attached (also in items) */
    size_t ncaches;                             /* how many */
};

/* Hands obj to the store; on failure frees it and returns -1. */
int tls_store_own(struct tls_store *st, void *obj, void (*free_fn)(void *obj));

/* A load failure's message: "<what> "<path>" failed (<library text>)". */
void tls_load_err(char *err, size_t errlen, const char *what, const char *path, int rc);

#endif
