/* ups_resolve.c - run-time lookups of `resolve` servers
 * (nginx's ngx_http_upstream_zone_resolve_timer and _handler). */
#include "upstream/ups_resolve.h"

#include <stdlib.h>
#include <string.h>

#include "core/dns.h"
#include "core/log.h"
#include "core/resolver.h"
#include "upstream/ups_peer.h"

#define UPS_NXDOMAIN_RETRY 10.0 /* nginx's wait after "Host not found" without valid= */

/* One `resolve` server being followed. */
struct ups_host {
    struct resolver_wait wait; /* first: the resolver's pointer is ours */
    struct ups_resolving *ur;  /* the group's lookups */
    size_t srv;                /* its index in the group's servers */
    ev_timer timer;            /* the next lookup */
};

struct ups_resolving {
    struct ups_rt *rt;      /* the group in this worker */
    struct resolver *rs;    /* the worker's resolver */
    struct ev_loop *loop;   /* the worker's loop */
    struct ups_host *hosts; /* one per `resolve` server */
    size_t n;               /* how many */
};

static const struct ups_server *ups_host_server(const struct ups_host *h)
{
    return &h->ur->rt->g->servers[h->srv];
}

static void ups_host_again(struct ups_host *h, ev_tstamp after)
{
    ev_timer_set(&h->timer, after, 0.);
    ev_timer_start(h->ur->loop, &h->timer);
}

/* After a failure: nginx waits resolver_timeout, and at least a second. */
static void ups_host_retry(struct ups_host *h)
{
    double t = (double)h->ur->rt->g->resolver_timeout / 1000.0;
    ups_host_again(h, t > 1.0 ? t : 1.0);
}

static void ups_host_apply(struct ups_host *h, const struct resolver_answer *a)
{
    struct ups_resolving *ur = h->ur;
    ev_tstamp now = ev_now(ur->loop);
    if (ups_rt_set_addrs(ur->rt, h->srv, a->addrs, a->naddrs) < 0) {
        log_msg(LL_ALERT, 0, 0, "cannot update upstream \"%s\": out of memory", ur->rt->g->name);
        ups_host_retry(h);
        return;
    }
    ups_host_again(h, (a->valid_until > now ? a->valid_until - now : 0) + 1.0);
}

static void ups_host_answer(struct resolver_wait *w, int status, const struct resolver_answer *a)
{
    struct ups_host *h = (struct ups_host *)w;
    const struct ups_group *g = h->ur->rt->g;
    if (status == DNS_OK) {
        ups_host_apply(h, a);
        return;
    }
    log_msg(LL_ERR, 0, 0, "%s could not be resolved (%d: %s)", ups_host_server(h)->host, status,
            dns_strerror(status));
    if (status != DNS_NXDOMAIN) {
        ups_host_retry(h);
        return;
    }
    /* The name is gone: so are its peers, until it comes back. */
    (void)ups_rt_set_addrs(h->ur->rt, h->srv, NULL, 0);
    ups_host_again(
        h,
        (g->resolver->valid > 0 ? (double)g->resolver->valid / 1000.0 : UPS_NXDOMAIN_RETRY) + 1.0);
}

static void ups_host_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct ups_host *h = (struct ups_host *)((char *)t - offsetof(struct ups_host, timer));
    struct ups_resolving *ur = h->ur;
    const struct ups_group *g = ur->rt->g;
    const char *host = ups_host_server(h)->host;
    struct str name = str_make(host, strlen(host));
    int status;
    (void)loop;
    (void)revents;
    const struct resolver_answer *a = resolver_cached(ur->rs, g->resolver, name);
    if (a != NULL) {
        ups_host_apply(h, a);
        return;
    }
    if (resolver_start(ur->rs, g->resolver, name, g->resolver_timeout, &h->wait, ups_host_answer,
                       &status) < 0) {
        log_msg(LL_ERR, 0, 0, "%s could not be resolved (%d: %s)", host, status,
                dns_strerror(status));
        ups_host_retry(h);
    }
}

int ups_resolve_start(struct ups_rt *rt, struct resolver *rs, struct ev_loop *loop,
                      struct ups_resolving **out)
{
    const struct ups_group *g = rt->g;
    size_t n = 0;
    *out = NULL;
    for (size_t i = 0; i < g->nservers; i++)
        n += g->servers[i].resolve;
    if (n == 0)
        return 0;
    struct ups_resolving *ur = calloc(1, sizeof(*ur));
    if (ur == NULL || (ur->hosts = calloc(n, sizeof(*ur->hosts))) == NULL) {
        free(ur);
        return -1;
    }
    ur->rt = rt;
    ur->rs = rs;
    ur->loop = loop;
    for (size_t i = 0; i < g->nservers; i++) {
        if (!g->servers[i].resolve)
            continue;
        struct ups_host *h = &ur->hosts[ur->n++];
        h->ur = ur;
        h->srv = i;
        ev_timer_init(&h->timer, ups_host_timer, 0., 0.);
        ev_timer_start(loop, &h->timer); /* the first lookup, in the first iteration */
    }
    *out = ur;
    return 0;
}

void ups_resolve_stop(struct ups_resolving *ur)
{
    if (ur == NULL)
        return;
    for (size_t i = 0; i < ur->n; i++) {
        ev_timer_stop(ur->loop, &ur->hosts[i].timer);
        resolver_cancel(&ur->hosts[i].wait);
    }
    free(ur->hosts);
    free(ur);
}
