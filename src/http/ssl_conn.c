/* ssl_conn.c - TLS under an HTTP connection: starting the handshake,
 * choosing the server by SNI, the $ssl_* variables, and the requests a TLS
 * port refuses (nginx's 400s for plain HTTP and client certificates). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/version.h"
#include "event/sock.h"
#include "event/transport.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/handle.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/route.h"
#include "http/ssl_conf.h"
#include "http/vars.h"
#include "tls/tls_conn.h"
#include "tls/tls_ctx.h"
#include "tls/tls_info.h"

/* nginx's special codes: answered as 400 with their own text. */
#define SSL_CERT_ERROR 495 /* the client certificate failed the check */
#define SSL_NO_CERT 496    /* ssl_verify_client on, and none was sent */
#define SSL_TO_HTTPS 497   /* plain HTTP on a TLS port */

/* ---- the handshake ---------------------------------------------------------- */

/* The server the client names picks the certificates (SNI), as Host will
 * pick the server for the request. */
static const struct tls_ctx *ssl_select(const void *data, const char *name, size_t len)
{
    const struct conf_addr *a = data;
    char host[256];
    if (name == NULL || len >= sizeof(host))
        len = 0;
    for (size_t i = 0; i < len; i++)
        host[i] = (char)tolower((unsigned char)name[i]);
    const struct srv_conf *s = route_server(a, str_make(host, len));
    return ssl_srv_part(s)->ctx;
}

/* The request head gets client_header_timeout once TLS is up. */
static void ssl_ready(struct sock *s)
{
    struct conn *c = conn_of_sock(s);
    sock_arm(s, c->addr->default_srv->loc->client_header_timeout);
}

static const struct tls_owner ssl_owner = {.select = ssl_select, .ready = ssl_ready};

int ssl_conn_start(struct conn *c)
{
    const struct ssl_part *p = ssl_srv_part(c->addr->default_srv);
    if (tls_conn_start(&c->sk, p->ctx, &ssl_owner, c->addr) < 0)
        return -1;
    /* nginx enables TCP_NODELAY on SSL connections too.  Here it matters
     * more: mbedTLS sends each handshake message as its own record, and
     * with Nagle's algorithm the second record of a flight would wait for
     * the client's (delayed) ACK of the first. */
    conn_nodelay(c, c->addr->default_srv->loc);
    /* One deadline for the whole handshake, however slowly it trickles. */
    return sock_arm(&c->sk, p->handshake_timeout);
}

/* ---- requests a TLS port refuses -------------------------------------------- */

static int ssl_refusal(const struct req *r)
{
    struct tls_conn *t = tls_conn_of(&r->c->sk);
    if (t == NULL)
        return SSL_TO_HTTPS;
    enum tls_verify mode = tls_info_verify_mode(t);
    if (mode == TLS_VERIFY_OFF)
        return 0;
    enum tls_client_cert st = tls_info_client_verify(t, NULL, 0);
    if (st == TLS_CERT_FAILED || (st == TLS_CERT_UNKNOWN_CA && mode != TLS_VERIFY_OPTIONAL_NO_CA))
        return SSL_CERT_ERROR;
    return st == TLS_CERT_NONE && mode == TLS_VERIFY_ON ? SSL_NO_CERT : 0;
}

static const char *ssl_refusal_text(int status)
{
    switch (status) {
    case SSL_CERT_ERROR:
        return "The SSL certificate error";
    case SSL_NO_CERT:
        return "No required SSL certificate was sent";
    default:
        return "The plain HTTP request was sent to HTTPS port";
    }
}

static const struct error_page *ssl_error_page(const struct req *r, int status)
{
    for (size_t i = 0; i < r->loc->nerror_pages; i++)
        if (r->loc->error_pages[i].code == status)
            return &r->loc->error_pages[i];
    return NULL;
}

/* nginx's page: a 400 whose title says what was wrong. */
static void ssl_refuse(struct req *r, int status)
{
    const char *text = ssl_refusal_text(status);
    const char *sig = resp_loc(r)->server_tokens ? TP_NAME "/" TP_VERSION : TP_NAME;
    char *page = mpool_printf(&r->pool,
                              "<html>\r\n<head><title>400 %s</title></head>\r\n<body>\r\n"
                              "<center><h1>400 Bad Request</h1></center>\r\n"
                              "<center>%s</center>\r\n<hr><center>%s</center>\r\n"
                              "</body>\r\n</html>\r\n",
                              text, text, sig);
    r->status = 400;
    r->keepalive = false;
    r->last_modified = -1;
    if (page == NULL) {
        resp_error(r, 500);
        return;
    }
    req_set_body(r, str_make(page, strlen(page)));
    r->content_type = STR_LIT("text/html");
    resp_send(r);
}

/* First of the server rewrite phase: nothing runs for such a request. */
static enum phase_rc ssl_rewrite(struct req *r)
{
    if (!r->c->addr->ssl || r->error_page_used || r->loc != r->srv->loc)
        return PHASE_DECLINED;
    int status = ssl_refusal(r);
    if (status == 0)
        return PHASE_DECLINED;
    conn_logf(r->c, LL_INFO, 0, "%s",
              status == SSL_TO_HTTPS  ? "client sent plain HTTP request to HTTPS port"
              : status == SSL_NO_CERT ? "client sent no required SSL certificate"
                                      : "client SSL certificate verify error");
    const struct error_page *e = ssl_error_page(r, status);
    if (e != NULL)
        handle_error_page(r, e, status);
    else
        ssl_refuse(r, status);
    return PHASE_TAKEN;
}

const struct http_hooks ssl_hooks = {.rewrite = ssl_rewrite};

/* ---- variables ------------------------------------------------------------------ */

static struct tls_conn *ssl_of(const struct req *r)
{
    return tls_conn_of(&r->c->sk);
}

static struct str ssl_text(const char *s)
{
    return s != NULL ? str_make(s, strlen(s)) : STR_LIT("");
}

static void var_ssl_protocol(struct req *r, const struct cval_part *p, struct str *out)
{
    struct tls_conn *t = ssl_of(r);
    *out = ssl_text(t != NULL ? tls_info_protocol(t) : NULL);
}

static void var_ssl_cipher(struct req *r, const struct cval_part *p, struct str *out)
{
    struct tls_conn *t = ssl_of(r);
    *out = ssl_text(t != NULL ? tls_info_cipher(t) : NULL);
}

static void var_ssl_server_name(struct req *r, const struct cval_part *p, struct str *out)
{
    struct tls_conn *t = ssl_of(r);
    *out = ssl_text(t != NULL ? tls_info_server_name(t) : NULL);
}

static void var_ssl_session_reused(struct req *r, const struct cval_part *p, struct str *out)
{
    struct tls_conn *t = ssl_of(r);
    *out = t == NULL ? STR_LIT("") : tls_info_reused(t) ? STR_LIT("r") : STR_LIT(".");
}

static void var_ssl_alpn_protocol(struct req *r, const struct cval_part *p, struct str *out)
{
    struct tls_conn *t = ssl_of(r);
    *out = ssl_text(t != NULL ? tls_info_alpn(t) : NULL);
}

static void var_https(struct req *r, const struct cval_part *p, struct str *out)
{
    *out = ssl_of(r) != NULL ? STR_LIT("on") : STR_LIT("");
}

/* A text into the request's arena, by one of tls_info's writers. */
static void ssl_var_buf(struct req *r, size_t cap,
                        int (*fill)(const struct tls_conn *, char *, size_t), struct str *out)
{
    struct tls_conn *t = ssl_of(r);
    char *buf = t != NULL ? mpool_alloc(&r->pool, cap) : NULL;
    int n = buf != NULL ? fill(t, buf, cap) : 0;
    *out = n > 0 ? str_make(buf, (size_t)n) : STR_LIT("");
}

static int ssl_fill_verify(const struct tls_conn *t, char *buf, size_t len)
{
    tls_info_client_verify(t, buf, len);
    return (int)strlen(buf);
}

static int ssl_fill_s_dn(const struct tls_conn *t, char *buf, size_t len)
{
    return tls_info_client_dn(t, false, buf, len);
}

static int ssl_fill_i_dn(const struct tls_conn *t, char *buf, size_t len)
{
    return tls_info_client_dn(t, true, buf, len);
}

static int ssl_fill_cert(const struct tls_conn *t, char *buf, size_t len)
{
    return tls_info_client_pem(t, true, buf, len);
}

static int ssl_fill_raw_cert(const struct tls_conn *t, char *buf, size_t len)
{
    return tls_info_client_pem(t, false, buf, len);
}

static void var_ssl_client_verify(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, 128, ssl_fill_verify, out);
}

static void var_ssl_client_s_dn(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, 1024, ssl_fill_s_dn, out);
}

static void var_ssl_client_i_dn(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, 1024, ssl_fill_i_dn, out);
}

static void var_ssl_client_serial(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, 130, tls_info_client_serial, out);
}

static void var_ssl_client_fingerprint(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, 41, tls_info_client_fingerprint, out);
}

/* PEM of a certificate of up to 8 KB of DER, with room for the tabs. */
#define SSL_PEM_MAX 12288

static void var_ssl_client_cert(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, SSL_PEM_MAX, ssl_fill_cert, out);
}

static void var_ssl_client_raw_cert(struct req *r, const struct cval_part *p, struct str *out)
{
    ssl_var_buf(r, SSL_PEM_MAX, ssl_fill_raw_cert, out);
}

const struct var_def ssl_vars[SSL_NVARS] = {
    {"https", false, var_https},
    {"ssl_alpn_protocol", false, var_ssl_alpn_protocol},
    {"ssl_cipher", false, var_ssl_cipher},
    {"ssl_client_cert", false, var_ssl_client_cert},
    {"ssl_client_fingerprint", false, var_ssl_client_fingerprint},
    {"ssl_client_i_dn", false, var_ssl_client_i_dn},
    {"ssl_client_raw_cert", false, var_ssl_client_raw_cert},
    {"ssl_client_s_dn", false, var_ssl_client_s_dn},
    {"ssl_client_serial", false, var_ssl_client_serial},
    {"ssl_client_verify", false, var_ssl_client_verify},
    {"ssl_protocol", false, var_ssl_protocol},
    {"ssl_server_name", false, var_ssl_server_name},
    {"ssl_session_reused", false, var_ssl_session_reused},
};
