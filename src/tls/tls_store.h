/* tls_store.h - the TLS material of one configuration generation:
 * certificate chains, keys, CA lists, CRLs, DH parameters, ticket key
 * files, shared session caches and the contexts built from them.
 *
 * Everything is loaded by the master while it reads the configuration
 * (as root, before workers drop privileges), checked then, and owned by
 * the store: one owner, one destructor, freed with the configuration.
 * Workers inherit it through fork and only read it. */
#ifndef TP_TLS_STORE_H
#define TP_TLS_STORE_H

#include <stddef.h>

struct tls_store;
struct tls_chain; /* a PEM file of certificates: a chain or a CA list */
struct tls_key;   /* a private key */
struct tls_crl;   /* a PEM file of CRLs */
struct tls_dh;    /* DH parameters */
struct tls_tkey;  /* a session ticket key (nginx's 48- or 80-byte file) */
struct tls_cache; /* a session cache in shared memory */

/* NULL when out of memory. */
struct tls_store *tls_store_new(void);
void tls_store_free(struct tls_store *st);

/* Each loader returns NULL with the reason in err.  `where` ("file:line")
 * goes into the warnings they log (an expired certificate, say). */
struct tls_chain *tls_load_chain(struct tls_store *st, const char *path, const char *where,
                                 char *err, size_t errlen);
struct tls_key *tls_load_key(struct tls_store *st, const char *path, char *err, size_t errlen);
struct tls_crl *tls_load_crl(struct tls_store *st, const char *path, char *err, size_t errlen);
struct tls_dh *tls_load_dh(struct tls_store *st, const char *path, char *err, size_t errlen);
struct tls_tkey *tls_load_ticket_key(struct tls_store *st, const char *path, char *err,
                                     size_t errlen);

/* -1 with the library's reason in err when key is not the key of chain's
 * first certificate. */
int tls_key_matches(const struct tls_key *key, const struct tls_chain *chain, char *err,
                    size_t errlen);

/* The shared session cache `name` of `size` bytes: the same zone as a
 * previous generation's when name and size are unchanged, so a reload
 * keeps the sessions.  NULL with the reason in err. */
struct tls_cache *tls_store_cache(struct tls_store *st, const char *name, size_t size, char *err,
                                  size_t errlen);

#endif
