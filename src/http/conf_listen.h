/* conf_listen.h - the socket options of `listen` (ipv6only=, deferred,
 * so_keepalive=, fastopen=), parsed as nginx parses them, and the address
 * itself (http and stream). */
#ifndef TP_HTTP_CONF_LISTEN_H
#define TP_HTTP_CONF_LISTEN_H

#include "conf/conf.h"

struct conf_loader;
struct conf_node;

/* One `listen` parameter: 1 if it was a socket option (set in *o), 0 if it
 * is some other parameter, -1 if it is an invalid option (error set). */
int conf_listen_opt(struct conf_loader *cl, const struct conf_node *n, const char *p,
                    struct listen_opts *o);

/* The addresses `listen ADDRESS` names (n's first argument), as nginx
 * reads them: "unix:/path", "[v6]:port", "host:port", "port", or a host
 * alone with dflt_port (0: a port is required).  A host name gives each
 * of its addresses (at most max).  Returns how many it put in out, or -1
 * after an error at n; *path is a unix socket's path, else NULL. */
int conf_listen_address(struct conf_loader *cl, const struct conf_node *n, unsigned dflt_port,
                        union sockaddr_any *out, size_t max, const char **path);

#endif
