/* conf_listen.h - the socket options of `listen` (ipv6only=, deferred,
 * so_keepalive=, fastopen=), parsed as nginx parses them. */
#ifndef TP_HTTP_CONF_LISTEN_H
#define TP_HTTP_CONF_LISTEN_H

#include "conf/conf.h"

struct conf_loader;
struct conf_node;

/* One `listen` parameter: 1 if it was a socket option (set in *o), 0 if it
 * is some other parameter, -1 if it is an invalid option (error set). */
int conf_listen_opt(struct conf_loader *cl, const struct conf_node *n, const char *p,
                    struct listen_opts *o);

#endif
