/* tls_info.c - a connection's negotiated parameters as nginx names them. */
#include "tls/tls_info.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/sha1.h>

#include "tls/tls_impl.h"

const char *tls_info_protocol(const struct tls_conn *t)
{
    switch (mbedtls_ssl_get_version_number(&t->ssl)) {
    case MBEDTLS_SSL_VERSION_TLS1_2:
        return "TLSv1.2";
    case MBEDTLS_SSL_VERSION_TLS1_3:
        return "TLSv1.3";
    default:
        return "";
    }
}

const char *tls_info_cipher(const struct tls_conn *t)
{
    const char *name = tls_names_cipher(mbedtls_ssl_get_ciphersuite_id_from_ssl(&t->ssl));
    return name != NULL ? name : mbedtls_ssl_get_ciphersuite(&t->ssl);
}

const char *tls_info_server_name(const struct tls_conn *t)
{
    return t->sni;
}

bool tls_info_reused(const struct tls_conn *t)
{
    return t->phase == TLS_OPEN && !t->full;
}

const char *tls_info_alpn(const struct tls_conn *t)
{
    return mbedtls_ssl_get_alpn_protocol(&t->ssl);
}

enum tls_verify tls_info_verify_mode(const struct tls_conn *t)
{
    return t->chosen->verify;
}

/* OpenSSL's words for the first reason, as nginx's $ssl_client_verify
 * shows them after "FAILED:". */
static const char *tls_verify_reason(uint32_t flags)
{
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        return "certificate has expired";
    if (flags & MBEDTLS_X509_BADCERT_FUTURE)
        return "certificate is not yet valid";
    if (flags & MBEDTLS_X509_BADCERT_REVOKED)
        return "certificate revoked";
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return "unable to get local issuer certificate";
    if (flags & MBEDTLS_X509_BADCERT_OTHER)
        return "certificate chain too long";
    return "certificate rejected";
}

/* The client's certificate: the session's, or on a TLS 1.3 resumption the
 * one its ticket carried. */
static const mbedtls_x509_crt *tls_peer_of(const struct tls_conn *t, uint32_t *flags)
{
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);
    *flags = mbedtls_ssl_get_verify_result(&t->ssl);
    if (peer == NULL && !t->full && t->tpeer != NULL) {
        peer = t->tpeer;
        *flags = t->tverify;
    }
    return peer;
}

enum tls_client_cert tls_info_client_verify(const struct tls_conn *t, char *buf, size_t len)
{
    uint32_t flags;
    const mbedtls_x509_crt *peer = t->phase == TLS_OPEN ? tls_peer_of(t, &flags) : NULL;
    enum tls_client_cert st = peer == NULL                                ? TLS_CERT_NONE
                              : flags == 0                                ? TLS_CERT_OK
                              : flags == MBEDTLS_X509_BADCERT_NOT_TRUSTED ? TLS_CERT_UNKNOWN_CA
                                                                          : TLS_CERT_FAILED;
    if (buf != NULL && st >= TLS_CERT_UNKNOWN_CA)
        snprintf(buf, len, "FAILED:%s", tls_verify_reason(flags));
    else if (buf != NULL)
        snprintf(buf, len, "%s", st == TLS_CERT_OK ? "SUCCESS" : "NONE");
    return st;
}

/* ---- the certificate itself ------------------------------------------------- */

static const mbedtls_x509_crt *tls_peer(const struct tls_conn *t)
{
    uint32_t flags;
    return t->phase == TLS_OPEN ? tls_peer_of(t, &flags) : NULL;
}

/* Appends to buf at *at; false once it does not fit. */
static bool tls_put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
    if (*at + n >= len)
        return false;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = '\0';
    return true;
}

/* One attribute: "CN=value", value escaped as RFC 2253 says. */
static bool tls_put_ava(char *buf, size_t len, size_t *at, const mbedtls_x509_name *n)
{
    const char *key = NULL;
    char oid[64];
    if (mbedtls_oid_get_attr_short_name(&n->oid, &key) != 0) {
        int k = mbedtls_oid_get_numeric_string(oid, sizeof(oid), &n->oid);
        key = k > 0 ? oid : "?";
    }
    if (!tls_put(buf, len, at, key, strlen(key)) || !tls_put(buf, len, at, "=", 1))
        return false;
    for (size_t i = 0; i < n->val.len; i++) {
        char ch = (char)n->val.p[i];
        bool edge = (i == 0 && (ch == '#' || ch == ' ')) || (i + 1 == n->val.len && ch == ' ');
        if ((strchr(",+\"\\<>;", ch) != NULL || edge) && !tls_put(buf, len, at, "\\", 1))
            return false;
        if (!tls_put(buf, len, at, &ch, 1))
            return false;
    }
    return true;
}

#define TLS_DN_MAX 32

/* RFC 2253: the most specific RDN first, "," between RDNs and "+"
 * between the attributes of one. */
static int tls_dn(const mbedtls_x509_name *name, char *buf, size_t len)
{
    const mbedtls_x509_name *rdn[TLS_DN_MAX];
    int n = 0;
    for (const mbedtls_x509_name *p = name; p != NULL && n < TLS_DN_MAX; p = p->next) {
        if (p->oid.p == NULL)
            continue;
        rdn[n++] = p;
        while (p->MBEDTLS_PRIVATE(next_merged) && p->next != NULL)
            p = p->next;
    }
    size_t at = 0;
    buf[0] = '\0';
    for (int i = n - 1; i >= 0; i--) {
        if (i != n - 1 && !tls_put(buf, len, &at, ",", 1))
            return -1;
        for (const mbedtls_x509_name *p = rdn[i];; p = p->next) {
            if (!tls_put_ava(buf, len, &at, p))
                return -1;
            if (!p->MBEDTLS_PRIVATE(next_merged) || p->next == NULL)
                break;
            if (!tls_put(buf, len, &at, "+", 1))
                return -1;
        }
    }
    return (int)at;
}

int tls_info_client_dn(const struct tls_conn *t, bool issuer, char *buf, size_t len)
{
    const mbedtls_x509_crt *c = tls_peer(t);
    if (c == NULL || len == 0)
        return 0;
    return tls_dn(issuer ? &c->issuer : &c->subject, buf, len);
}

static int tls_hex(const unsigned char *p, size_t n, bool upper, char *buf, size_t len)
{
    static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
    const char *digits = upper ? up : lo;
    if (2 * n + 1 > len)
        return -1;
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 15];
    }
    buf[2 * n] = '\0';
    return (int)(2 * n);
}

int tls_info_client_serial(const struct tls_conn *t, char *buf, size_t len)
{
    const mbedtls_x509_crt *c = tls_peer(t);
    return c == NULL ? 0 : tls_hex(c->serial.p, c->serial.len, true, buf, len);
}

int tls_info_client_fingerprint(const struct tls_conn *t, char *buf, size_t len)
{
    const mbedtls_x509_crt *c = tls_peer(t);
    unsigned char sum[20];
    if (c == NULL || mbedtls_sha1(c->raw.p, c->raw.len, sum) != 0)
        return 0;
    return tls_hex(sum, sizeof(sum), false, buf, len);
}

/* Puts a tab after every newline (the last one is gone already), in
 * place, from the end. */
static int tls_tab_lines(char *buf, size_t len, size_t n)
{
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += buf[i] == '\n';
    if (n + extra + 1 > len)
        return -1;
    size_t dst = n + extra;
    buf[dst] = '\0';
    for (size_t i = n; i-- > 0;) {
        if (buf[i] == '\n')
            buf[--dst] = '\t';
        buf[--dst] = buf[i];
    }
    return (int)(n + extra);
}

int tls_info_client_pem(const struct tls_conn *t, bool tabs, char *buf, size_t len)
{
    const mbedtls_x509_crt *c = tls_peer(t);
    size_t olen = 0;
    if (c == NULL)
        return 0;
    if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
                                 c->raw.p, c->raw.len, (unsigned char *)buf, len, &olen) != 0)
        return -1;
    size_t n = olen > 0 && buf[olen - 1] == '\0' ? olen - 1 : olen;
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0'; /* nginx leaves the last newline off */
    return tabs ? tls_tab_lines(buf, len, n) : (int)n;
}
