/* conf_remap.c - `listen_remap port address:port`, turnpike's own
 * main-context directive: every `listen` on `port` binds `address:port`
 * instead.
 *
 * nginx's -g adds main-context directives only, so an operator cannot
 * move a configuration's servers to another port without editing the
 * files.  With this directive given by -g, the same untouched files can be
 * tried on a loopback port next to the running server:
 *
 *     turnpike -t -c /etc/nginx/nginx.conf -g 'listen_remap 80 127.0.0.1:8080;'
 *
 * The module is listed before the http core, so its finish runs on the
 * servers' listen directives before the sockets are worked out. */
#include "http/conf_remap.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_table.h"
#include "http/core_conf.h"

/* One listen_remap directive. */
struct remap {
    unsigned from;         /* the port listens are moved from */
    union sockaddr_any to; /* the address they bind instead */
};

/* The module's main-level data. */
struct remap_main {
    struct remap *maps; /* every listen_remap, in order */
    size_t n;           /* how many */
};

/* "127.0.0.1:8080" or "[::1]:8080": numeric, so the target is certain. */
static int remap_parse_addr(const char *s, union sockaddr_any *a)
{
    char host[64];
    const char *colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
    long port;
    size_t hlen = colon != NULL ? (size_t)(colon - s) : 0;
    if (colon == NULL || hlen == 0 || hlen >= sizeof(host))
        return -1;
    memcpy(host, s + (s[0] == '['), hlen - (s[0] == '['));
    host[hlen - (s[0] == '[')] = '\0';
    if (conf_parse_num(colon + 1 + (s[0] == '['), &port) < 0 || port < 1 || port > 65535)
        return -1;
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, host, &a->sin.sin_addr) == 1)
        a->sin.sin_family = AF_INET;
    else if (inet_pton(AF_INET6, host, &a->sin6.sin6_addr) == 1)
        a->sin6.sin6_family = AF_INET6;
    else
        return -1;
    a->sin.sin_port = htons((unsigned)port); /* same offset in sin6 */
    return 0;
}

static int remap_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct remap_main *m = conf_mod(cl->conf, &mod_http_remap);
    long from;
    (void)cmd;
    if (m == NULL && (m = mpool_calloc(cl->pool, sizeof(*m))) == NULL)
        return conf_err_nomem(cl, n);
    conf_set_mod(cl->conf, &mod_http_remap, m);
    if (conf_parse_num(n->args[1].s, &from) < 0 || from < 1 || from > 65535)
        return conf_err(cl, n, "invalid port \"%s\" in \"listen_remap\"", n->args[1].s);
    for (size_t i = 0; i < m->n; i++)
        if (m->maps[i].from == (unsigned)from)
            return conf_err(cl, n, "duplicate \"listen_remap\" for port %ld", from);
    struct remap *r = conf_push(cl->pool, &m->maps, &m->n, sizeof(*r));
    if (r == NULL)
        return conf_err_nomem(cl, n);
    r->from = (unsigned)from;
    if (remap_parse_addr(n->args[2].s, &r->to) < 0)
        return conf_err(cl, n,
                        "invalid address \"%s\" in \"listen_remap\", it must be a numeric "
                        "address with a port",
                        n->args[2].s);
    return 0;
}

static const struct remap *remap_find(const struct remap_main *m, unsigned port)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->maps[i].from == port)
            return &m->maps[i];
    return NULL;
}

/* A server without listen gets nginx's default (*:80, or *:8000 when not
 * root) from the http core; if that port is remapped, it is added here. */
static int remap_default(struct conf_loader *cl, const struct remap_main *m, struct srv_conf *s)
{
    unsigned port = geteuid() == 0 ? 80 : 8000;
    if (s->nlistens > 0 || remap_find(m, port) == NULL)
        return 0;
    struct listen_conf *l = conf_push(cl->pool, &s->listens, &s->nlistens, sizeof(*l));
    if (l == NULL)
        return -1;
    l->addr.sin.sin_family = AF_INET;
    l->addr.sin.sin_port = htons(port);
    l->backlog = -1;
    l->file = s->file;
    l->line = s->line;
    return 0;
}

/* Two listens of a server that now name one address become one: the
 * configuration had them on different addresses, so this is no error. */
static void remap_fold(struct srv_conf *s, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (!sockaddr_equal(&s->listens[j].addr, &s->listens[i].addr))
            continue;
        s->listens[j].default_server |= s->listens[i].default_server;
        if (s->listens[j].backlog == -1)
            s->listens[j].backlog = s->listens[i].backlog;
        memmove(&s->listens[i], &s->listens[i + 1], (s->nlistens - i - 1) * sizeof(s->listens[0]));
        s->nlistens--;
        return;
    }
}

static void remap_server(const struct remap_main *m, struct srv_conf *s)
{
    for (size_t i = s->nlistens; i-- > 0;) {
        struct listen_conf *l = &s->listens[i];
        const struct remap *r = remap_find(m, sockaddr_port(&l->addr));
        if (r == NULL)
            continue;
        l->addr = r->to;
        sockaddr_text(&l->addr, true, l->text, sizeof(l->text));
    }
    for (size_t i = s->nlistens; i-- > 1;)
        remap_fold(s, i);
}

static int remap_finish(struct conf_loader *cl)
{
    const struct remap_main *m = conf_mod(cl->conf, &mod_http_remap);
    const struct http_conf *h = http_main(cl->conf);
    if (m == NULL || h == NULL)
        return 0;
    for (size_t i = 0; i < h->nservers; i++) {
        if (remap_default(cl, m, h->servers[i]) < 0) {
            snprintf(cl->err, cl->errlen, "out of memory");
            return -1;
        }
        remap_server(m, h->servers[i]);
    }
    return 0;
}

static const struct conf_cmd remap_cmds[] = {
    {"listen_remap", CTX_MAIN, ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL, remap_set, NULL},
};

struct module mod_http_remap = {
    .name = "http_remap",
    .cmds = remap_cmds,
    .ncmds = sizeof(remap_cmds) / sizeof(remap_cmds[0]),
    .finish = remap_finish,
};
