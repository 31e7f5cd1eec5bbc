/* tls_info.h - what a TLS connection negotiated, for $ssl_* variables and
 * for the checks a request makes (client certificates).
 *
 * Texts follow nginx with OpenSSL: "TLSv1.3", OpenSSL suite names, DNs in
 * RFC 2253 order, upper-case hex serials, SHA-1 fingerprints. */
#ifndef TP_TLS_INFO_H
#define TP_TLS_INFO_H

#include <stdbool.h>
#include <stddef.h>

#include "tls/tls_ctx.h"

struct tls_conn;

/* "TLSv1.2" / "TLSv1.3" */
const char *tls_info_protocol(const struct tls_conn *t);
/* "ECDHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256" */
const char *tls_info_cipher(const struct tls_conn *t);
/* The SNI name as the client sent it, or NULL. */
const char *tls_info_server_name(const struct tls_conn *t);
/* The session was resumed (ticket or cache). */
bool tls_info_reused(const struct tls_conn *t);
/* "http/1.1", or NULL when the client offered no ALPN. */
const char *tls_info_alpn(const struct tls_conn *t);

/* The client certificate check of the server SNI chose. */
enum tls_verify tls_info_verify_mode(const struct tls_conn *t);

/* What became of the client's certificate. */
enum tls_client_cert {
    TLS_CERT_NONE,       /* none sent */
    TLS_CERT_OK,         /* sent and checked */
    TLS_CERT_UNKNOWN_CA, /* sent, sound, but no trusted CA issued it */
    TLS_CERT_FAILED,     /* sent and refused */
};

/* Its state; with a buffer, also $ssl_client_verify's text ("SUCCESS",
 * "FAILED:certificate has expired", "NONE"). */
enum tls_client_cert tls_info_client_verify(const struct tls_conn *t, char *buf, size_t len);

/* The client certificate's subject (or issuer) DN, serial, SHA-1
 * fingerprint, or PEM text; each returns the length written (NUL
 * excluded), 0 when there is no certificate, or -1 if buf is too small.
 * With tabs, PEM lines after the first start with a tab ($ssl_client_cert,
 * which nginx keeps for header use). */
int tls_info_client_dn(const struct tls_conn *t, bool issuer, char *buf, size_t len);
int tls_info_client_serial(const struct tls_conn *t, char *buf, size_t len);
int tls_info_client_fingerprint(const struct tls_conn *t, char *buf, size_t len);
int tls_info_client_pem(const struct tls_conn *t, bool tabs, char *buf, size_t len);

#endif
