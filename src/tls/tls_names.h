/* tls_names.h - nginx's (that is, OpenSSL's) names for protocols, cipher
 * suites and curves, and the library's numbers for them.
 *
 * Configurations are written for nginx, so ssl_ciphers takes OpenSSL's
 * cipher strings: suite names, the class keywords operators use (HIGH,
 * ECDHE, AESGCM, ...), "+" for "and", and "!" / "-" / "+" prefixes.  A name
 * that means nothing here is an error, never skipped: a suite the operator
 * believes is on must be on.  Classes of suites this library lacks
 * (aNULL, RC4, 3DES, ...) are empty, so excluding them is harmless. */
#ifndef TP_TLS_NAMES_H
#define TP_TLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Protocol bits (ssl_protocols). */
#define TLS_PROTO_12 1u  /* TLSv1.2 */
#define TLS_PROTO_13 2u  /* TLSv1.3 */
#define TLS_PROTO_OLD 4u /* SSLv2, SSLv3, TLSv1, TLSv1.1: not in the library */

/* The longest list either parser returns. */
#define TLS_NAMES_MAX 32

/* Mozilla's "intermediate" TLS 1.2 suites: ECDHE with AES-GCM or
 * ChaCha20-Poly1305. */
extern const char tls_names_default_ciphers[];

/* One of ssl_protocols' words as a TLS_PROTO_* bit; 0 if unknown. */
unsigned tls_names_protocol(const char *word);

/* The TLS 1.2 suites an OpenSSL cipher string selects, in order, into ids
 * (TLS_NAMES_MAX entries).  Returns the count (0 is an error too), or -1
 * with the reason in err. */
int tls_names_ciphers(const char *spec, int *ids, char *err, size_t errlen);

/* The groups of an ssl_ecdh_curve value ("auto", or names joined by ":"),
 * ended by 0, into groups (TLS_NAMES_MAX + 1 entries).  0, or -1 with the
 * reason in err. */
int tls_names_curves(const char *spec, uint16_t *groups, char *err, size_t errlen);

/* OpenSSL's name of a suite ($ssl_cipher), or NULL. */
const char *tls_names_cipher(int id);

#endif
