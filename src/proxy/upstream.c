/* upstream.c - upstream blocks, resolvers and their worker state in the
 * http context. */
#include "proxy/upstream.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"
#include "core/log.h"
#include "core/resolver.h"
#include "event/reactor.h"
#include "http/core_conf.h"
#include "http/vars.h"
#include "upstream/ups_conf.h"
#include "upstream/ups_peer.h"
#include "upstream/ups_resolve.h"

/* What a worker keeps of the groups of its generation. */
struct upstream_worker {
    struct ups_rt **rts;            /* each group's state, by group index */
    struct ups_resolving **lookups; /* each group's `resolve` lookups, or NULL */
    size_t n;                       /* how many groups */
    struct resolver *rs;            /* the worker's resolver */
};

static struct upstream_worker worker; /* this process's, when it is a worker */

struct ups_groups *upstream_groups(struct conf_loader *cl)
{
    struct ups_groups *gs = conf_mod(cl->conf, &mod_upstream);
    if (gs == NULL && (gs = mpool_calloc(cl->pool, sizeof(*gs))) != NULL)
        conf_set_mod(cl->conf, &mod_upstream, gs);
    return gs;
}

const struct ups_groups *upstream_groups_of(const struct conf *c)
{
    return conf_mod(c, &mod_upstream);
}

const struct upstream_loc *upstream_loc(const struct loc_conf *loc)
{
    return loc_part(loc, &mod_upstream);
}

struct ups_rt *upstream_rt(const struct ups_group *g)
{
    return g->index < worker.n ? worker.rts[g->index] : NULL;
}

struct resolver *upstream_resolver(void)
{
    return worker.rs;
}

/* ---- directives ------------------------------------------------------------ */

static int upstream_set_block(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    struct ups_groups *gs = upstream_groups(cl);
    (void)cmd;
    if (gs == NULL)
        return conf_err_nomem(cl, n);
    return ups_conf_block(cl, n, gs, CTX_UPSTREAM);
}

/* `hash KEY [consistent]`: the key may name any http variable. */
static int upstream_set_hash(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct cval *key = mpool_calloc(cl->pool, sizeof(*key));
    (void)cmd;
    if (key == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], key) < 0)
        return -1;
    return ups_conf_hash(cl, n, key);
}

/* `resolver` in an upstream block is the group's; elsewhere the level's. */
static int upstream_set_resolver(struct conf_loader *cl, const struct conf_node *n,
                                 const struct conf_cmd *cmd)
{
    if (cl->ctx == CTX_UPSTREAM)
        return ups_conf_set_resolver(cl, n, cmd);
    struct upstream_loc *ul = cl->part(cl, &mod_upstream);
    struct resolver_conf *rc;
    if (ul->resolver != NULL)
        return conf_err_dup(cl, n, cmd);
    if (ups_conf_resolver(cl, n, &rc) < 0)
        return -1;
    ul->resolver = rc;
    return 0;
}

static int upstream_set_resolver_timeout(struct conf_loader *cl, const struct conf_node *n,
                                         const struct conf_cmd *cmd)
{
    if (cl->ctx == CTX_UPSTREAM)
        return ups_conf_set_resolver_timeout(cl, n, cmd);
    struct upstream_loc *ul = cl->part(cl, &mod_upstream);
    if (ul->resolver_timeout != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_msec(n->args[1].s, &ul->resolver_timeout) < 0)
        return conf_err_value(cl, n, cmd, 1);
    return 0;
}

static void upstream_merge(const void *from, void *to)
{
    const struct upstream_loc *parent = from;
    struct upstream_loc *child = to;
    if (child->resolver == NULL)
        child->resolver = parent->resolver;
}

/* Every group checked once the file is read; `resolve` servers of a
 * block without its own resolver use the http level's. */
static int upstream_finish(struct conf_loader *cl)
{
    struct ups_groups *gs = conf_mod(cl->conf, &mod_upstream);
    const struct http_conf *h = http_main(cl->conf);
    if (gs == NULL || h == NULL)
        return 0;
    const struct upstream_loc *top = upstream_loc(h->loc);
    return ups_conf_finish(cl, gs, top->resolver, top->resolver_timeout);
}

/* ---- the worker ------------------------------------------------------------------- */

static void upstream_worker_stop(struct reactor *rx)
{
    (void)rx;
    for (size_t i = 0; i < worker.n; i++) {
        ups_resolve_stop(worker.lookups[i]);
        if (worker.rts[i] != NULL)
            ups_rt_destroy(worker.rts[i]);
    }
    free(worker.rts);
    free(worker.lookups);
    resolver_destroy(worker.rs);
    memset(&worker, 0, sizeof(worker));
}

/* The resolver serves any http worker (a location may need one without
 * any group); the groups' state is made only if there are groups. */
static int upstream_worker_start(struct reactor *rx)
{
    const struct ups_groups *gs = upstream_groups_of(rx->conf);
    if (http_main(rx->conf) == NULL)
        return 0;
    if ((worker.rs = resolver_create(rx->loop, rx->pool, &rx->timers)) == NULL)
        goto fail;
    if (gs == NULL || gs->n == 0)
        return 0;
    worker.rts = calloc(gs->n, sizeof(*worker.rts));
    worker.lookups = calloc(gs->n, sizeof(*worker.lookups));
    if (worker.rts == NULL || worker.lookups == NULL)
        goto fail;
    for (; worker.n < gs->n; worker.n++) {
        struct ups_rt *rt = ups_rt_create(gs->list[worker.n]);
        worker.rts[worker.n] = rt;
        if (rt == NULL ||
            ups_resolve_start(rt, worker.rs, rx->loop, &worker.lookups[worker.n]) < 0) {
            worker.n++;
            goto fail;
        }
    }
    return 0;
fail:
    log_msg(LL_EMERG, 0, 0, "cannot set up the upstream groups: out of memory");
    upstream_worker_stop(rx);
    return -1;
}

/* A draining worker finishes its requests: nothing waits for idle
 * connections, and the servers' addresses need no more lookups. */
static void upstream_worker_drain(struct reactor *rx)
{
    (void)rx;
    for (size_t i = 0; i < worker.n; i++) {
        ups_resolve_stop(worker.lookups[i]);
        worker.lookups[i] = NULL;
        ups_pool_close_all(&worker.rts[i]->pool);
    }
}

#define UL_F(f) CS_PART, offsetof(struct upstream_loc, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd upstream_cmds[] = {
    {"upstream", CTX_HTTP, ARGS(1) | ARGS_BLOCK, CUSTOM, upstream_set_block, NULL},
    {"server", CTX_UPSTREAM, ARGS_1MORE, CUSTOM, ups_conf_set_server, NULL},
    {"least_conn", CTX_UPSTREAM, ARGS(0), CUSTOM, ups_conf_set_least_conn, NULL},
    {"ip_hash", CTX_UPSTREAM, ARGS(0), CUSTOM, ups_conf_set_ip_hash, NULL},
    {"hash", CTX_UPSTREAM, ARGS(1) | ARGS(2), CUSTOM, upstream_set_hash, NULL},
    {"keepalive", CTX_UPSTREAM, ARGS(1), CUSTOM, ups_conf_set_keepalive, NULL},
    {"keepalive_timeout", CTX_UPSTREAM, ARGS(1), CUSTOM, ups_conf_set_keepalive_timeout, NULL},
    {"keepalive_requests", CTX_UPSTREAM, ARGS(1), CUSTOM, ups_conf_set_keepalive_requests, NULL},
    {"keepalive_time", CTX_UPSTREAM, ARGS(1), CUSTOM, ups_conf_set_keepalive_time, NULL},
    {"resolver", HSL | CTX_UPSTREAM, ARGS_1MORE | ARGS_MANY, CUSTOM, upstream_set_resolver, NULL},
    {"resolver_timeout", HSL | CTX_UPSTREAM, ARGS(1), CT_MSEC, UL_F(resolver_timeout), "30s",
     upstream_set_resolver_timeout, NULL},
};

struct module mod_upstream = {
    .name = "http_upstream",
    .cmds = upstream_cmds,
    .ncmds = sizeof(upstream_cmds) / sizeof(upstream_cmds[0]),
    .part_size = sizeof(struct upstream_loc),
    .part_merge = upstream_merge,
    .finish = upstream_finish,
    .worker_start = upstream_worker_start,
    .worker_drain = upstream_worker_drain,
    .worker_stop = upstream_worker_stop,
};
