/* proxy_ssl.h - TLS to upstreams for the http proxy: `proxy_pass
 * https://...` and nginx's proxy_ssl_* directives at the http, server and
 * location levels (the directives and their rules are src/upstream's
 * ups_ssl.h; this module gives them the http context and a location's
 * TLS client configuration).
 *
 * The proxy's connect path asks proxy_ssl_conf for the configuration of
 * the request's upstream connections (NULL for http://), looks for an idle
 * connection made with it, and puts a new one under TLS with
 * proxy_ssl_secure: the name verified is proxy_ssl_name's value, or
 * $proxy_host, without its port; it goes out as SNI with
 * proxy_ssl_server_name on, unless it is an address. */
#ifndef TP_PROXY_PROXY_SSL_H
#define TP_PROXY_PROXY_SSL_H

#include "conf/module.h"

struct proxy_ctx;
struct tls_client;

extern struct module mod_proxy_ssl;

/* The TLS configuration of the request's upstream connections, or NULL
 * when they are plain. */
const struct tls_client *proxy_ssl_conf(const struct proxy_ctx *ctx);

/* Puts ctx->uc, just opened, under TLS with c; -1 (logged) when it
 * cannot. */
int proxy_ssl_secure(struct proxy_ctx *ctx, const struct tls_client *c);

#endif
