/* conf_ports.c - after parsing: merge settings down the tree, and work out
 * which sockets to bind and which servers each one serves.
 *
 * As in nginx, a specific address on a port that also has a wildcard listen
 * is served by the wildcard socket; the connection's local address then
 * picks the servers. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_table.h"
#include "http/conn.h"
#include "http/conn_pp.h"
#include "http/core_conf.h"

#define CONF_DEFAULT_BACKLOG 511

/* What the workers will need that a merged level says: the size of the
 * open file cache, and the body temporary directories the master makes. */
static void ports_note_cache(struct mpool *p, struct http_conf *c, const struct loc_conf *loc)
{
    if (loc->open_file_cache_max > c->open_file_cache_max)
        c->open_file_cache_max = loc->open_file_cache_max;
    for (size_t i = 0; i < c->ntemp_paths; i++)
        if (strcmp(c->temp_paths[i], loc->client_body_temp_path) == 0)
            return;
    char **slot = conf_push(p, &c->temp_paths, &c->ntemp_paths, sizeof(*slot));
    if (slot != NULL)
        *slot = loc->client_body_temp_path;
}

static void ports_merge_locs(struct mpool *p, struct http_conf *c, const struct loc_conf *parent,
                             struct loc_conf **locs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        conf_loc_merge(parent, locs[i]);
        ports_note_cache(p, c, locs[i]);
        ports_merge_locs(p, c, locs[i], locs[i]->children, locs[i]->nchildren);
    }
}

static int ports_default_listen(struct conf_loader *cl, struct srv_conf *s)
{
    struct listen_conf *l = conf_push(cl->pool, &s->listens, &s->nlistens, sizeof(*l));
    if (l == NULL)
        return -1;
    memset(l, 0, sizeof(*l));
    listen_opts_init(&l->opts);
    l->addr.sin.sin_family = AF_INET;
    l->addr.sin.sin_port = htons(geteuid() == 0 ? 80 : 8000);
    sockaddr_text(&l->addr, true, l->text, sizeof(l->text));
    l->backlog = -1;
    l->file = s->file;
    l->line = s->line;
    return 0;
}

static struct conf_addr *ports_find_addr(struct conf_addr *addrs, size_t n,
                                         const struct listen_conf *l)
{
    for (size_t i = 0; i < n; i++)
        if (listen_same(&addrs[i].addr, addrs[i].path, &l->addr, l->path))
            return &addrs[i];
    return NULL;
}

static bool ports_opts_equal(const struct listen_opts *a, const struct listen_opts *b)
{
    return a->ipv6only == b->ipv6only && a->deferred == b->deferred &&
           a->keepalive == b->keepalive && a->keepidle == b->keepidle &&
           a->keepintvl == b->keepintvl && a->keepcnt == b->keepcnt && a->fastopen == b->fastopen;
}

/* Socket options belong to the socket: only one listen of an address
 * may give them, as in nginx. */
static int ports_take_opts(struct listen_opts *to, bool *to_set, const struct listen_opts *from,
                           bool from_set)
{
    if (!from_set)
        return 0;
    if (*to_set && !ports_opts_equal(to, from))
        return -1;
    *to = *from;
    *to_set = true;
    return 0;
}

static int ports_add_listen(struct conf_loader *cl, struct conf_addr **addrs, size_t *naddrs,
                            struct srv_conf *s, const struct listen_conf *l)
{
    struct conf_addr *a = ports_find_addr(*addrs, *naddrs, l);
    const struct conf_node at = {.file = l->file, .line = l->line};
    if (a == NULL) {
        a = conf_push(cl->pool, addrs, naddrs, sizeof(*a));
        if (a == NULL)
            return conf_err(cl, &at, "out of memory");
        memset(a, 0, sizeof(*a));
        a->addr = l->addr;
        a->path = l->path;
        a->backlog = -1;
        listen_opts_init(&a->opts);
    }
    a->ssl = a->ssl || l->ssl; /* as in nginx: ssl is the address's */
    a->proxy_protocol = a->proxy_protocol || l->proxy_protocol;
    if (ports_take_opts(&a->opts, &a->opts_set, &l->opts, l->opts_set) < 0)
        return conf_err(cl, &at, "duplicate listen options for %s", l->text);
    struct srv_conf **slot = conf_push(cl->pool, &a->servers, &a->nservers, sizeof(*slot));
    if (slot == NULL)
        return conf_err(cl, &at, "out of memory");
    *slot = s;
    if (l->default_server) {
        if (a->explicit_default)
            return conf_err(cl, &at, "a duplicate default server for %s", l->text);
        a->explicit_default = true;
        a->default_srv = s;
    }
    if (l->backlog != -1) {
        if (a->backlog != -1 && a->backlog != l->backlog)
            return conf_err(cl, &at, "duplicate listen options for %s", l->text);
        a->backlog = l->backlog;
    }
    return 0;
}

static struct conf_port *ports_find_wildcard(struct http_conf *h, const union sockaddr_any *a)
{
    for (size_t i = 0; i < h->nports; i++) {
        const union sockaddr_any *w = &h->ports[i].addr;
        if (w->sa.sa_family == a->sa.sa_family && sockaddr_port(w) == sockaddr_port(a) &&
            sockaddr_is_wildcard(w))
            return &h->ports[i];
    }
    return NULL;
}

static struct conf_port *ports_new(struct mpool *pool, struct http_conf *h,
                                   const struct conf_addr *a)
{
    struct conf_port *p = conf_push(pool, &h->ports, &h->nports, sizeof(*p));
    if (p == NULL)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->addr = a->addr;
    p->path = a->path;
    if (a->path != NULL)
        snprintf(p->text, sizeof(p->text), "unix:%s", a->path);
    else
        sockaddr_text(&p->addr, true, p->text, sizeof(p->text));
    p->ssl = a->ssl;
    p->proxy_protocol = a->proxy_protocol;
    p->scheme = a->ssl ? "https" : "http";
    p->default_port = a->ssl ? 443 : 80;
    p->backlog = a->backlog != -1 ? a->backlog : CONF_DEFAULT_BACKLOG;
    listen_opts_init(&p->opts);
    return p;
}

/* A specific address served by its port's wildcard socket brings its
 * options to that socket. */
static int ports_attach(struct conf_loader *cl, struct http_conf *h, const struct conf_addr *a)
{
    struct conf_port *p = sockaddr_is_wildcard(&a->addr) ? NULL : ports_find_wildcard(h, &a->addr);
    if (p == NULL && (p = ports_new(cl->pool, h, a)) == NULL)
        return snprintf(cl->err, cl->errlen, "out of memory"), -1;
    if (ports_take_opts(&p->opts, &p->opts_set, &a->opts, a->opts_set) < 0)
        return snprintf(cl->err, cl->errlen, "duplicate listen options for %s", p->text), -1;
    struct conf_addr *slot = conf_push(cl->pool, &p->addrs, &p->naddrs, sizeof(*slot));
    if (slot == NULL)
        return snprintf(cl->err, cl->errlen, "out of memory"), -1;
    *slot = *a;
    return 0;
}

/* Each socket is an address to bind for the master, whose connections
 * the http module opens. */
static int ports_publish(struct conf *c, struct http_conf *h)
{
    for (size_t i = 0; i < h->nports; i++) {
        struct conf_listen *l = conf_listen_push(c);
        if (l == NULL)
            return -1;
        l->addr = h->ports[i].addr;
        l->path = h->ports[i].path;
        snprintf(l->text, sizeof(l->text), "%s", h->ports[i].text);
        l->backlog = h->ports[i].backlog;
        l->opts = h->ports[i].opts;
        l->accept = h->ports[i].proxy_protocol ? conn_accept_proxy : conn_accept;
        l->data = &h->ports[i];
    }
    return 0;
}

/* The PROXY header is read before anything says which address the
 * client connected to: the addresses of one socket agree on it. */
static int ports_check_pp(struct conf_loader *cl, const struct http_conf *h)
{
    for (size_t i = 0; i < h->nports; i++) {
        const struct conf_port *p = &h->ports[i];
        for (size_t j = 1; j < p->naddrs; j++) {
            if (p->addrs[j].proxy_protocol == p->proxy_protocol)
                continue;
            char text[64];
            sockaddr_text(&p->addrs[j].addr, true, text, sizeof(text));
            snprintf(cl->err, cl->errlen,
                     "listen %s and listen %s: a specific address and the wildcard of its "
                     "port must agree on \"proxy_protocol\"",
                     text, p->text);
            return -1;
        }
    }
    return 0;
}

/* A specific address folded into its port's wildcard socket shares the
 * socket's scheme, so both must agree on TLS. */
static int ports_check_ssl(struct conf_loader *cl, const struct http_conf *h)
{
    for (size_t i = 0; i < h->nports; i++) {
        const struct conf_port *p = &h->ports[i];
        for (size_t j = 1; j < p->naddrs; j++)
            if (p->addrs[j].ssl != p->ssl) {
                char text[64];
                sockaddr_text(&p->addrs[j].addr, true, text, sizeof(text));
                snprintf(cl->err, cl->errlen,
                         "listen %s%s and listen %s%s: a specific address and the wildcard of "
                         "its port must agree on \"ssl\"",
                         text, p->addrs[j].ssl ? " ssl" : "", p->text, p->ssl ? " ssl" : "");
                return -1;
            }
    }
    return ports_check_pp(cl, h);
}

/* Wildcards first, so each specific address finds its wildcard. */
static int ports_build(struct conf_loader *cl, struct conf_addr *addrs, size_t naddrs)
{
    struct http_conf *h = http_main(cl->conf);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < naddrs; i++) {
            struct conf_addr *a = &addrs[i];
            if (sockaddr_is_wildcard(&a->addr) != (pass == 0))
                continue;
            if (a->default_srv == NULL)
                a->default_srv = a->servers[0];
            if (ports_attach(cl, h, a) < 0)
                return -1;
        }
    }
    if (ports_check_ssl(cl, h) < 0)
        return -1;
    if (ports_publish(cl->conf, h) < 0) {
        snprintf(cl->err, cl->errlen, "out of memory");
        return -1;
    }
    return 0;
}

int conf_ports_finish(struct conf_loader *cl)
{
    struct http_conf *h = http_main(cl->conf);
    struct conf_addr *addrs = NULL;
    size_t naddrs = 0;
    if (h == NULL)
        return 0;
    if (conf_loc_defaults(cl, h->loc) < 0) {
        if (cl->err[0] == '\0')
            snprintf(cl->err, cl->errlen, "invalid built-in default");
        return -1;
    }
    for (size_t i = 0; i < h->nservers; i++) {
        struct srv_conf *s = h->servers[i];
        conf_loc_merge(h->loc, s->loc);
        ports_note_cache(cl->pool, h, s->loc);
        ports_merge_locs(cl->pool, h, s->loc, s->locs, s->nlocs);
        ports_merge_locs(cl->pool, h, s->loc, s->named, s->nnamed);
        if (s->nlistens == 0 && ports_default_listen(cl, s) < 0)
            return -1;
        for (size_t j = 0; j < s->nlistens; j++)
            if (ports_add_listen(cl, &addrs, &naddrs, s, &s->listens[j]) < 0)
                return -1;
    }
    return ports_build(cl, addrs, naddrs);
}
