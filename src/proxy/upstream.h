/* upstream.h - the http context's upstream groups and resolvers
 * (nginx's ngx_http_upstream_module with its balancer and keepalive
 * modules, and the core module's `resolver` directives).
 *
 * The directives and checks are src/upstream's; this module gives them
 * the http context: `upstream` blocks in http, the hash key compiled
 * from http variables, `resolver` and `resolver_timeout` at every http
 * level.  In each worker it keeps the run-time state of every group and
 * the worker's resolver, for the proxy to use. */
#ifndef TP_PROXY_UPSTREAM_H
#define TP_PROXY_UPSTREAM_H

#include "conf/module.h"

struct conf;
struct conf_loader;
struct loc_conf;
struct resolver;
struct resolver_conf;
struct ups_group;
struct ups_groups;
struct ups_rt;

extern struct module mod_upstream;

/* The module's part of an http level. */
struct upstream_loc {
    const struct resolver_conf *resolver; /* `resolver`, or NULL: none */
    long resolver_timeout;                /* ms */
};

/* The http groups of the configuration being loaded, made on first use
 * (proxy_pass adds the implicit ones); NULL when out of memory. */
struct ups_groups *upstream_groups(struct conf_loader *cl);

/* The http groups of a loaded configuration, or NULL if it has none. */
const struct ups_groups *upstream_groups_of(const struct conf *c);

/* A location's resolver settings. */
const struct upstream_loc *upstream_loc(const struct loc_conf *loc);

/* In a worker: the run-time state of g, and the worker's resolver (one
 * whenever the configuration has an http block). */
struct ups_rt *upstream_rt(const struct ups_group *g);
struct resolver *upstream_resolver(void);

#endif
