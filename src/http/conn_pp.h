/* conn_pp.h - `listen ... proxy_protocol` in the http context: the PROXY
 * header read before the connection starts (event/pp_wait.h), and the
 * $proxy_protocol_* variables (nginx 1.23.2's names). */
#ifndef TP_HTTP_CONN_PP_H
#define TP_HTTP_CONN_PP_H

#include "conf/module.h"
#include "core/sockaddr.h"

struct reactor;

extern struct module mod_http_proxy_protocol;

/* The accept callback of an http socket whose listens say proxy_protocol:
 * the header must come within the default server's
 * client_header_timeout. */
void conn_accept_proxy(struct reactor *rx, int fd, const union sockaddr_any *peer,
                       const void *data);

#endif
