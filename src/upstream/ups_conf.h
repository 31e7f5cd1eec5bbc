/* ups_conf.h - configuring upstream groups: the parts every protocol
 * shares (nginx's ngx_http_upstream_module and its balancer modules).
 *
 * A protocol module owns the directive tables and its list of groups
 * (struct ups_groups); the setters here do the work.  Inside an upstream
 * block the loader's level (cl->level) is the group being read, so the
 * setters below find it without knowing the protocol.  The `hash`
 * directive's key is compiled by the protocol (it names the protocol's
 * variables), which then calls ups_conf_hash. */
#ifndef TP_UPSTREAM_UPS_CONF_H
#define TP_UPSTREAM_UPS_CONF_H

#include <stdbool.h>

#include "conf/conf_table.h"
#include "upstream/ups.h"

struct resolver_conf;

/* nginx's ngx_http_upstream_add: the group `name` (a block when `block`),
 * found or created; port is the one written (has_port), else the
 * scheme's default or 0 for 80.  A block and a reference with the same name are one
 * group; a reference with a port to a block is an error, as in nginx;
 * references to one name with different ports are different groups.
 * NULL after an error at n. */
struct ups_group *ups_group_add(struct conf_loader *cl, const struct conf_node *n,
                                struct ups_groups *gs, const char *name, unsigned port,
                                bool has_port, bool block);

/* `upstream NAME { ... }`: reads the block in context ctx with
 * cl->level set to the group. */
int ups_conf_block(struct conf_loader *cl, const struct conf_node *n, struct ups_groups *gs,
                   unsigned ctx);

/* The setters of the upstream context (cl->level is the group). */
int ups_conf_set_server(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd);
int ups_conf_set_keepalive(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd);
int ups_conf_set_keepalive_timeout(struct conf_loader *cl, const struct conf_node *n,
                                   const struct conf_cmd *cmd);
int ups_conf_set_keepalive_time(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd);
int ups_conf_set_keepalive_requests(struct conf_loader *cl, const struct conf_node *n,
                                    const struct conf_cmd *cmd);
int ups_conf_set_least_conn(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd);
int ups_conf_set_ip_hash(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd);
int ups_conf_set_resolver(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd);
int ups_conf_set_resolver_timeout(struct conf_loader *cl, const struct conf_node *n,
                                  const struct conf_cmd *cmd);

/* The group of the upstream block being read. */
struct ups_group *ups_conf_group(struct conf_loader *cl);

/* `hash KEY [consistent]` once the protocol compiled KEY into key. */
int ups_conf_hash(struct conf_loader *cl, const struct conf_node *n, const void *key);

/* `resolver address ... [valid=time] [ipv4=on|off] [ipv6=on|off]`, the
 * arguments of n parsed into a new resolver_conf.  Names are resolved
 * now (by the system's resolver), as nginx does. */
int ups_conf_resolver(struct conf_loader *cl, const struct conf_node *n,
                      struct resolver_conf **out);

/* After the whole file: every group checked, the implicit ones resolved
 * (nginx's "host not found in upstream"), and `resolve` servers given the
 * resolver of the protocol's top level when their block has none. */
int ups_conf_finish(struct conf_loader *cl, struct ups_groups *gs,
                    const struct resolver_conf *dflt_resolver, long dflt_timeout);

#endif
