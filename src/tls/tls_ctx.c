/* tls_ctx.c - a server's settings turned into the library's configuration. */
#include "tls/tls_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/tls_cache.h"
#include "tls/tls_impl.h"
#include "tls/tls_lib.h"
#include "tls/tls_store.h"
#include "tls/tls_ticket.h"

static void tls_ctx_free(void *obj)
{
    struct tls_ctx *c = obj;
    mbedtls_ssl_config_free(&c->conf);
    if (c->ca != NULL) {
        mbedtls_x509_crt_free(c->ca);
        free(c->ca);
    }
    free(c->pairs);
    free(c);
}

int tls_ctx_versions(struct tls_ctx *c, unsigned protocols, char *err, size_t errlen)
{
    protocols &= TLS_PROTO_12 | TLS_PROTO_13;
    if (protocols == 0) {
        snprintf(err, errlen, "no usable protocol in \"ssl_protocols\" (TLSv1.2 and TLSv1.3 are)");
        return -1;
    }
    mbedtls_ssl_conf_min_tls_version(&c->conf, protocols & TLS_PROTO_12
                                                   ? MBEDTLS_SSL_VERSION_TLS1_2
                                                   : MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_max_tls_version(&c->conf, protocols & TLS_PROTO_13
                                                   ? MBEDTLS_SSL_VERSION_TLS1_3
                                                   : MBEDTLS_SSL_VERSION_TLS1_2);
    return 0;
}

/* ssl_ciphers chooses the TLS 1.2 suites; TLS 1.3's are always all on. */
int tls_ctx_suites(struct tls_ctx *c, const struct tls_settings *s, char *err, size_t errlen)
{
    int n = tls_names_ciphers(s->ciphers, c->suites, err, errlen);
    if (n < 0 || tls_names_curves(s->curves, c->groups, err, errlen) < 0)
        return -1;
    c->suites[n++] = MBEDTLS_TLS1_3_AES_128_GCM_SHA256;
    c->suites[n++] = MBEDTLS_TLS1_3_AES_256_GCM_SHA384;
    c->suites[n++] = MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256;
    c->suites[n] = 0;
    mbedtls_ssl_conf_ciphersuites(&c->conf, c->suites);
    mbedtls_ssl_conf_groups(&c->conf, c->groups);
    mbedtls_ssl_conf_preference_order(&c->conf, s->prefer_server
                                                    ? MBEDTLS_SSL_SRV_CIPHERSUITE_ORDER_SERVER
                                                    : MBEDTLS_SSL_SRV_CIPHERSUITE_ORDER_CLIENT);
    if (s->dh != NULL && mbedtls_ssl_conf_dh_param_ctx(&c->conf, &s->dh->dhm) != 0) {
        snprintf(err, errlen, "cannot use the \"ssl_dhparam\" parameters");
        return -1;
    }
    return 0;
}

static int tls_ctx_certs(struct tls_ctx *c, const struct tls_settings *s, char *err, size_t errlen)
{
    if (s->ncerts == 0)
        return 0;
    c->pairs = calloc(s->ncerts, sizeof(*c->pairs));
    if (c->pairs == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->ncerts; i++) {
        c->pairs[i] = (struct tls_pair){s->chains[i], s->keys[i]};
        if (mbedtls_ssl_conf_own_cert(&c->conf, &s->chains[i]->crt, &s->keys[i]->pk) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    c->npairs = s->ncerts;
    return 0;
}

static int tls_ctx_sessions(struct tls_store *st, struct tls_ctx *c, const struct tls_settings *s,
                            char *err, size_t errlen)
{
    uint32_t lifetime = (uint32_t)(s->session_timeout / 1000);
    if (s->tickets) {
        c->tickets = tls_tickets_new(s->tkeys, s->ntkeys, lifetime, s->id, err, errlen);
        if (c->tickets == NULL || tls_store_own(st, c->tickets, tls_tickets_free) < 0)
            return -1;
        mbedtls_ssl_conf_session_tickets_cb(&c->conf, tls_ticket_write, tls_ticket_parse,
                                            c->tickets);
    }
    if (s->cache != NULL) {
        c->cache = (struct tls_cache_use){s->cache, s->session_timeout};
        mbedtls_ssl_conf_session_cache(&c->conf, &c->cache, tls_cache_get, tls_cache_set);
    }
    return 0;
}

/* The chain check trusts both lists; only ssl_client_certificate's CAs
 * are named to the client, as in nginx. */
static int tls_ctx_ca_join(struct tls_ctx *c, const struct tls_settings *s)
{
    if ((c->ca = calloc(1, sizeof(*c->ca))) == NULL)
        return -1;
    mbedtls_x509_crt_init(c->ca);
    const struct tls_chain *lists[2] = {s->client, s->trusted};
    for (int i = 0; i < 2; i++)
        for (const mbedtls_x509_crt *x = lists[i] ? &lists[i]->crt : NULL; x != NULL && x->raw.p;
             x = x->next)
            if (mbedtls_x509_crt_parse_der(c->ca, x->raw.p, x->raw.len) != 0)
                return -1;
    return 0;
}

static int tls_ctx_verify(struct tls_ctx *c, const struct tls_settings *s, char *err, size_t errlen)
{
    c->verify = s->verify;
    c->verify_depth = s->verify_depth;
    c->authmode = MBEDTLS_SSL_VERIFY_NONE;
    if (s->verify != TLS_VERIFY_OFF) {
        if (s->client == NULL && s->trusted == NULL && s->verify != TLS_VERIFY_OPTIONAL_NO_CA) {
            snprintf(err, errlen,
                     "no ssl_client_certificate or ssl_trusted_certificate for "
                     "ssl_verify_client");
            return -1;
        }
        /* The handshake goes on whatever the check finds; the request is
         * then refused with nginx's 400s (see the http ssl module). */
        c->authmode = MBEDTLS_SSL_VERIFY_OPTIONAL;
    }
    if ((s->client != NULL || s->trusted != NULL) && tls_ctx_ca_join(c, s) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->crl = s->crl != NULL ? &s->crl->crl : NULL;
    c->hints = s->client != NULL ? &s->client->crt : NULL;
    mbedtls_ssl_conf_authmode(&c->conf, c->authmode);
    mbedtls_ssl_conf_ca_chain(&c->conf, c->ca, c->crl);
    mbedtls_ssl_conf_verify(&c->conf, tls_conn_verify_cb, c);
    if (c->hints != NULL)
        mbedtls_ssl_conf_dn_hints(&c->conf, c->hints);
    else
        mbedtls_ssl_conf_cert_req_ca_list(&c->conf, MBEDTLS_SSL_CERT_REQ_CA_LIST_DISABLED);
    return 0;
}

static int tls_ctx_setup(struct tls_store *st, struct tls_ctx *c, const struct tls_settings *s,
                         char *err, size_t errlen)
{
    if (mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        snprintf(err, errlen, "cannot set up a TLS configuration");
        return -1;
    }
    mbedtls_ssl_conf_rng(&c->conf, tls_rng, NULL);
    mbedtls_ssl_conf_cert_cb(&c->conf, tls_conn_cert_cb);
    /* Without a list no ALPN is negotiated, whatever the client offers;
     * with one, a client offering none of it is refused, as nginx does. */
    for (size_t i = 0; s->alpn != NULL && i < TLS_ALPN_MAX && s->alpn[i] != NULL; i++)
        c->alpn[i] = s->alpn[i];
    if (c->alpn[0] != NULL && mbedtls_ssl_conf_alpn_protocols(&c->conf, c->alpn) != 0) {
        snprintf(err, errlen, "cannot set up ALPN");
        return -1;
    }
    /* A record carries at most 16 KB; nginx's default is that. */
    c->buffer_size = s->buffer_size > 0 && s->buffer_size < MBEDTLS_SSL_OUT_CONTENT_LEN
                         ? (size_t)s->buffer_size
                         : MBEDTLS_SSL_OUT_CONTENT_LEN;
    c->reject = s->reject;
    c->offload = s->offload;
    if (tls_ctx_versions(c, s->protocols, err, errlen) < 0 ||
        tls_ctx_suites(c, s, err, errlen) < 0 || tls_ctx_certs(c, s, err, errlen) < 0 ||
        tls_ctx_verify(c, s, err, errlen) < 0)
        return -1;
    return tls_ctx_sessions(st, c, s, err, errlen);
}

struct tls_ctx *tls_ctx_new(struct tls_store *st, const struct tls_settings *s, char *err,
                            size_t errlen)
{
    if (tls_lib_init(err, errlen) < 0)
        return NULL;
    struct tls_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL || tls_store_own(st, c, tls_ctx_free) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mbedtls_ssl_config_init(&c->conf);
    return tls_ctx_setup(st, c, s, err, errlen) == 0 ? c : NULL;
}

bool tls_ctx_rejects(const struct tls_ctx *c)
{
    return c->reject;
}
