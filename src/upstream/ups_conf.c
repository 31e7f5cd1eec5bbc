/* ups_conf.c - upstream blocks, `server` lines and their parameters, the
 * balancing and keep-alive directives, `resolver`, and the checks made
 * once the whole file is read; nginx's words for every error. */
#include "upstream/ups_conf.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/resolver.h"

#define UPS_MAX_WEIGHT 1000000         /* keeps weight * 160 ring points sane */
#define UPS_DEFAULT_FAIL_TIMEOUT 10000 /* ms */
#define UPS_MAX_RESOLVERS 16           /* DNS servers one `resolver` lists */
#define UPS_DNS_PORT 53

struct ups_group *ups_conf_group(struct conf_loader *cl)
{
    return cl->level;
}

/* An error at a place recorded earlier (a server line, a group). */
static int ups_conf_err_at(struct conf_loader *cl, const char *file, int line, const char *fmt,
                           const char *arg)
{
    struct conf_node at = {.file = (char *)file, .line = line};
    return conf_err(cl, &at, fmt, arg);
}

/* ---- addresses -------------------------------------------------------- */

/* Splits "host", "host:port", "[v6]" or "[v6]:port" in place. */
static int ups_conf_split(char *buf, char **host, unsigned *port, bool *has_port)
{
    char *colon = NULL;
    *has_port = false;
    *host = buf;
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return -1;
        *end = '\0';
        *host = buf + 1;
        colon = end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = strrchr(buf, ':');
        if (colon != NULL && strchr(buf, ':') != colon)
            return -1; /* a bare IPv6 address needs brackets */
    }
    if (colon == NULL)
        return 0;
    long v;
    *colon = '\0';
    if (conf_parse_num(colon + 1, &v) < 0 || v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    *has_port = true;
    return 0;
}

/* A numeric address, or the addresses of a name by the system's
 * resolver: IPv4 first, then IPv6, as nginx lists them.  -1 if none. */
static int ups_conf_lookup(struct conf_loader *cl, const char *host, unsigned port,
                           struct ups_addr **out, size_t *n)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res, *ai;
    union {
        struct sockaddr_in sin;
        struct sockaddr_in6 sin6;
    } num = {0};
    *n = 0;
    if (inet_pton(AF_INET, host, &num.sin.sin_addr) == 1 ||
        inet_pton(AF_INET6, host, &num.sin6.sin6_addr) == 1) {
        num.sin.sin_family = strchr(host, ':') ? AF_INET6 : AF_INET;
        if ((*out = mpool_calloc(cl->pool, sizeof(**out))) == NULL)
            return -1;
        ups_addr_inet(*out, (struct sockaddr *)&num, port);
        *n = 1;
        return 0;
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return -1;
    size_t count = 0;
    for (ai = res; ai != NULL; ai = ai->ai_next)
        count += ai->ai_family == AF_INET || ai->ai_family == AF_INET6;
    *out = count > 0 ? mpool_calloc(cl->pool, sizeof(**out) * count) : NULL;
    for (int fam = 0; fam < 2 && *out != NULL; fam++)
        for (ai = res; ai != NULL; ai = ai->ai_next)
            if (ai->ai_family == (fam == 0 ? AF_INET : AF_INET6))
                ups_addr_inet(&(*out)[(*n)++], ai->ai_addr, port);
    freeaddrinfo(res);
    return *n > 0 ? 0 : -1;
}

static bool ups_conf_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* "unix:/path" for a server or an implicit group. */
static int ups_conf_unix(struct conf_loader *cl, const struct conf_node *n, const char *url,
                         struct ups_server *srv)
{
    const char *path = url + 5;
    srv->addrs = mpool_calloc(cl->pool, sizeof(*srv->addrs));
    if (srv->addrs == NULL)
        return conf_err_nomem(cl, n);
    if (*path == '\0')
        return conf_err(cl, n, "no path in the unix domain socket in upstream \"%s\"", url);
    if (ups_addr_unix(srv->addrs, path) < 0)
        return conf_err(cl, n, "too long path in the unix domain socket in upstream \"%s\"", url);
    srv->naddrs = 1;
    srv->host = srv->addrs->u.sun.sun_path;
    return 0;
}

/* The address of a `server` line: looked up now, unless it is marked
 * `resolve` (then the worker's resolver does it at run time). */
static int ups_conf_url(struct conf_loader *cl, const struct conf_node *n, const char *url,
                        struct ups_server *srv)
{
    char buf[512];
    char *host;
    bool has_port;
    if (strncasecmp(url, "unix:", 5) == 0)
        return ups_conf_unix(cl, n, url, srv);
    snprintf(buf, sizeof(buf), "%s", url);
    srv->port = 80;
    if (ups_conf_split(buf, &host, &srv->port, &has_port) < 0)
        return conf_err(cl, n, "invalid port in upstream \"%s\"", url);
    if (*host == '\0')
        return conf_err(cl, n, "no host in upstream \"%s\"", url);
    if ((srv->host = mpool_strdup(cl->pool, host)) == NULL)
        return conf_err_nomem(cl, n);
    if (srv->resolve && !ups_conf_numeric(host))
        return 0;
    srv->resolve = false; /* an address needs no lookups */
    if (ups_conf_lookup(cl, host, srv->port, &srv->addrs, &srv->naddrs) < 0)
        return conf_err(cl, n, "host not found in upstream \"%s\"", url);
    return 0;
}

/* ---- groups -------------------------------------------------------------- */

static struct ups_group *ups_group_new(struct conf_loader *cl, const struct conf_node *n,
                                       struct ups_groups *gs, const char *name)
{
    struct ups_group **slot = conf_push(cl->pool, &gs->list, &gs->n, sizeof(*slot));
    struct ups_group *g = mpool_calloc(cl->pool, sizeof(*g));
    if (slot == NULL || g == NULL || (g->name = mpool_strdup(cl->pool, name)) == NULL)
        return NULL;
    *slot = g;
    g->index = (unsigned)(gs->n - 1);
    g->file = conf_file_name(cl, n);
    g->line = n->line;
    g->keepalive_timeout = g->keepalive_requests = g->keepalive_time = -1;
    g->keepalive = -1;
    g->resolver_timeout = -1;
    return g;
}

struct ups_group *ups_group_add(struct conf_loader *cl, const struct conf_node *n,
                                struct ups_groups *gs, const char *name, unsigned port,
                                bool has_port, bool block)
{
    for (size_t i = 0; i < gs->n; i++) {
        struct ups_group *g = gs->list[i];
        if (strcasecmp(g->name, name) != 0)
            continue;
        if (block && g->defined) {
            conf_err(cl, n, "duplicate upstream \"%s\"", name);
            return NULL;
        }
        if (g->defined && has_port) {
            conf_err(cl, n, "upstream \"%s\" may not have port %u", name, port);
            return NULL;
        }
        if (block && g->has_port) {
            /* nginx names the reference with the port, not the block. */
            snprintf(cl->err, cl->errlen, "upstream \"%s\" may not have port %u in %s:%d", name,
                     g->port, g->file, g->line);
            return NULL;
        }
        if (!block && !g->defined && g->port != port)
            continue;
        if (block) {
            g->defined = true;
            g->file = conf_file_name(cl, n);
            g->line = n->line;
        }
        return g;
    }
    struct ups_group *g = ups_group_new(cl, n, gs, name);
    if (g == NULL) {
        conf_err_nomem(cl, n);
        return NULL;
    }
    g->defined = block;
    g->port = port;
    g->has_port = has_port;
    return g;
}

int ups_conf_block(struct conf_loader *cl, const struct conf_node *n, struct ups_groups *gs,
                   unsigned ctx)
{
    struct ups_group *g = ups_group_add(cl, n, gs, n->args[1].s, 0, false, true);
    if (g == NULL)
        return -1;
    void *saved = cl->level;
    cl->level = g;
    int rc = conf_block(cl, n->child, ctx);
    cl->level = saved;
    if (rc < 0)
        return -1;
    if (g->nservers == 0)
        return conf_err(cl, n, "no servers are inside upstream");
    return 0;
}

/* ---- server ----------------------------------------------------------------- */

/* One parameter of a `server` line; nginx's "invalid parameter" else. */
static int ups_conf_server_param(struct conf_loader *cl, const struct conf_node *n,
                                 struct ups_server *srv, const char *a)
{
    int rc;
    if ((rc = conf_param_num(a, "weight", 1, UPS_MAX_WEIGHT, &srv->weight)) != 0 ||
        (rc = conf_param_num(a, "max_fails", 0, INT_MAX, &srv->max_fails)) != 0 ||
        (rc = conf_param_num(a, "max_conns", 0, INT_MAX, &srv->max_conns)) != 0)
        return rc > 0 ? 0 : conf_err_param(cl, n, a);
    if (strncmp(a, "fail_timeout=", 13) == 0)
        return conf_parse_msec(a + 13, &srv->fail_timeout) == 0 ? 0 : conf_err_param(cl, n, a);
    if (strcmp(a, "backup") == 0)
        srv->backup = true;
    else if (strcmp(a, "down") == 0)
        srv->down = true;
    else if (strcmp(a, "resolve") == 0)
        srv->resolve = true;
    else
        return conf_err_param(cl, n, a);
    return 0;
}

int ups_conf_set_server(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    struct ups_group *g = ups_conf_group(cl);
    struct ups_server *srv = conf_push(cl->pool, &g->servers, &g->nservers, sizeof(*srv));
    (void)cmd;
    if (srv == NULL || (srv->name = mpool_strdup(cl->pool, n->args[1].s)) == NULL)
        return conf_err_nomem(cl, n);
    srv->weight = 1;
    srv->max_fails = 1;
    srv->fail_timeout = UPS_DEFAULT_FAIL_TIMEOUT;
    srv->file = conf_file_name(cl, n);
    srv->line = n->line;
    for (size_t i = 2; i < n->nargs; i++)
        if (ups_conf_server_param(cl, n, srv, n->args[i].s) < 0)
            return -1;
    return ups_conf_url(cl, n, n->args[1].s, srv);
}

/* ---- balancing and keep-alive --------------------------------------------- */

static int ups_conf_method(struct conf_loader *cl, const struct conf_node *n, enum ups_method m)
{
    struct ups_group *g = ups_conf_group(cl);
    if (g->method_file != NULL)
        log_msg(LL_WARN, 0, 0, "load balancing method redefined in %s:%d", conf_file_name(cl, n),
                n->line);
    g->method = m;
    g->method_file = conf_file_name(cl, n);
    g->method_line = n->line;
    return 0;
}

int ups_conf_set_least_conn(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    (void)cmd;
    return ups_conf_method(cl, n, UPS_LEAST_CONN);
}

int ups_conf_set_ip_hash(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    (void)cmd;
    return ups_conf_method(cl, n, UPS_IP_HASH);
}

int ups_conf_hash(struct conf_loader *cl, const struct conf_node *n, const void *key)
{
    enum ups_method m = UPS_HASH;
    if (n->nargs == 3 && strcmp(n->args[2].s, "consistent") == 0)
        m = UPS_CHASH;
    else if (n->nargs == 3)
        return conf_err_param(cl, n, n->args[2].s);
    ups_conf_group(cl)->key = key;
    return ups_conf_method(cl, n, m);
}

/* A group setting given once, parsed by `parse`. */
static int ups_conf_once(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd, long *field,
                         int (*parse)(const char *, long *), long min)
{
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    if (parse(n->args[1].s, field) < 0 || *field < min) {
        *field = -1;
        return conf_err_value(cl, n, cmd, 1);
    }
    return 0;
}

int ups_conf_set_keepalive(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    return ups_conf_once(cl, n, cmd, &ups_conf_group(cl)->keepalive, conf_parse_num, 1);
}

int ups_conf_set_keepalive_timeout(struct conf_loader *cl, const struct conf_node *n,
                                   const struct conf_cmd *cmd)
{
    return ups_conf_once(cl, n, cmd, &ups_conf_group(cl)->keepalive_timeout, conf_parse_msec, 0);
}

int ups_conf_set_keepalive_time(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd)
{
    return ups_conf_once(cl, n, cmd, &ups_conf_group(cl)->keepalive_time, conf_parse_msec, 0);
}

int ups_conf_set_keepalive_requests(struct conf_loader *cl, const struct conf_node *n,
                                    const struct conf_cmd *cmd)
{
    return ups_conf_once(cl, n, cmd, &ups_conf_group(cl)->keepalive_requests, conf_parse_num, 0);
}

int ups_conf_set_resolver_timeout(struct conf_loader *cl, const struct conf_node *n,
                                  const struct conf_cmd *cmd)
{
    return ups_conf_once(cl, n, cmd, &ups_conf_group(cl)->resolver_timeout, conf_parse_msec, 0);
}

int ups_conf_set_resolver(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct ups_group *g = ups_conf_group(cl);
    struct resolver_conf *rc;
    if (g->resolver != NULL)
        return conf_err_dup(cl, n, cmd);
    if (ups_conf_resolver(cl, n, &rc) < 0)
        return -1;
    g->resolver = rc;
    return 0;
}

/* ---- resolver ---------------------------------------------------------------- */

static int ups_conf_resolver_param(struct conf_loader *cl, const struct conf_node *n, const char *a,
                                   struct resolver_conf *rc)
{
    int flag;
    if (strncmp(a, "valid=", 6) == 0) {
        if (conf_parse_msec(a + 6, &rc->valid) < 0)
            return conf_err_param(cl, n, a);
    } else if (strncmp(a, "ipv4=", 5) == 0 || strncmp(a, "ipv6=", 5) == 0) {
        if (conf_parse_flag(a + 5, &flag) < 0)
            return conf_err_param(cl, n, a);
        if (a[3] == '4')
            rc->ipv4 = flag;
        else
            rc->ipv6 = flag;
    } else {
        return -2; /* not a parameter: an address */
    }
    return 0;
}

/* Adds the addresses of one `resolver` argument (port 53 by default). */
static int ups_conf_resolver_addr(struct conf_loader *cl, const struct conf_node *n,
                                  const char *arg, struct resolver_conf *rc)
{
    char buf[512];
    char *host;
    unsigned port = UPS_DNS_PORT;
    bool has_port;
    struct ups_addr *addrs;
    size_t count;
    snprintf(buf, sizeof(buf), "%s", arg);
    if (ups_conf_split(buf, &host, &port, &has_port) < 0)
        return conf_err(cl, n, "invalid port in resolver \"%s\"", arg);
    if (*host == '\0' || ups_conf_lookup(cl, host, port, &addrs, &count) < 0)
        return conf_err(cl, n, "host not found in resolver \"%s\"", arg);
    for (size_t i = 0; i < count; i++) {
        union sockaddr_any *a = conf_push(cl->pool, &rc->addrs, &rc->naddrs, sizeof(*a));
        if (a == NULL)
            return conf_err_nomem(cl, n);
        memcpy(a, &addrs[i].u, addrs[i].len);
    }
    if (rc->naddrs > UPS_MAX_RESOLVERS)
        return conf_err(cl, n, "too many addresses in \"resolver\" (at most %d)",
                        UPS_MAX_RESOLVERS);
    return 0;
}

int ups_conf_resolver(struct conf_loader *cl, const struct conf_node *n, struct resolver_conf **out)
{
    struct resolver_conf *rc = mpool_calloc(cl->pool, sizeof(*rc));
    if (rc == NULL)
        return conf_err_nomem(cl, n);
    rc->ipv4 = rc->ipv6 = true;
    for (size_t i = 1; i < n->nargs; i++) {
        int r = ups_conf_resolver_param(cl, n, n->args[i].s, rc);
        if (r == -1 || (r == -2 && ups_conf_resolver_addr(cl, n, n->args[i].s, rc) < 0))
            return -1;
    }
    if (!rc->ipv4 && !rc->ipv6)
        return conf_err(cl, n, "\"ipv4\" and \"ipv6\" cannot both be \"off\"");
    if (rc->naddrs == 0)
        return conf_err(cl, n, "invalid number of arguments in \"%s\" directive", "resolver");
    *out = rc;
    return 0;
}

/* ---- once the file is read --------------------------------------------------- */

/* nginx's implicit upstream: the addresses of host:port, found now. */
static int ups_conf_implicit(struct conf_loader *cl, struct ups_group *g)
{
    struct conf_node at = {.file = (char *)g->file, .line = g->line};
    struct ups_server *srv = conf_push(cl->pool, &g->servers, &g->nservers, sizeof(*srv));
    if (srv == NULL)
        return conf_err_nomem(cl, &at);
    srv->name = g->name;
    srv->host = g->name;
    srv->port = g->port != 0 ? g->port : 80; /* https:// gives 443 without has_port */
    srv->weight = 1;
    srv->max_fails = 1;
    srv->fail_timeout = UPS_DEFAULT_FAIL_TIMEOUT;
    srv->file = g->file;
    srv->line = g->line;
    if (strncasecmp(g->name, "unix:", 5) == 0)
        return ups_conf_unix(cl, &at, g->name, srv);
    if (ups_conf_lookup(cl, g->name, srv->port, &srv->addrs, &srv->naddrs) < 0)
        return ups_conf_err_at(cl, g->file, g->line, "host not found in upstream \"%s\"", g->name);
    return 0;
}

/* A block's servers checked as nginx's balancer modules check them. */
static int ups_conf_check(struct conf_loader *cl, const struct ups_group *g)
{
    bool hashed = g->method == UPS_IP_HASH || g->method == UPS_HASH || g->method == UPS_CHASH;
    size_t primary = 0;
    for (size_t i = 0; i < g->nservers; i++) {
        const struct ups_server *srv = &g->servers[i];
        if (srv->backup && hashed)
            return ups_conf_err_at(cl, srv->file, srv->line,
                                   "balancing method does not support parameter \"%s\"", "backup");
        if (srv->resolve && g->resolver == NULL)
            return ups_conf_err_at(
                cl, g->file, g->line,
                "no resolver defined to resolve names at run time in upstream \"%s\"", g->name);
        primary += !srv->backup && (srv->naddrs > 0 || srv->resolve);
    }
    if (primary == 0)
        return ups_conf_err_at(cl, g->file, g->line, "no servers in upstream \"%s\"", g->name);
    return 0;
}

static void ups_conf_defaults(struct ups_group *g, const struct resolver_conf *dflt_resolver,
                              long dflt_timeout)
{
    if (g->keepalive == -1)
        g->keepalive = 0;
    if (g->keepalive_timeout == -1)
        g->keepalive_timeout = 60000;
    if (g->keepalive_requests == -1)
        g->keepalive_requests = 1000;
    if (g->keepalive_time == -1)
        g->keepalive_time = 3600000;
    if (g->resolver == NULL)
        g->resolver = dflt_resolver;
    if (g->resolver_timeout == -1)
        g->resolver_timeout = dflt_timeout >= 0 ? dflt_timeout : 30000;
}

int ups_conf_finish(struct conf_loader *cl, struct ups_groups *gs,
                    const struct resolver_conf *dflt_resolver, long dflt_timeout)
{
    for (size_t i = 0; i < gs->n; i++) {
        struct ups_group *g = gs->list[i];
        ups_conf_defaults(g, dflt_resolver, dflt_timeout);
        if (!g->defined ? ups_conf_implicit(cl, g) < 0 : ups_conf_check(cl, g) < 0)
            return -1;
    }
    return 0;
}
