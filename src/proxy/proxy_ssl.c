/* proxy_ssl.c - the http proxy's TLS to upstreams (see proxy_ssl.h). */
#include "proxy/proxy_ssl.h"

#include <string.h>

#include "conf/conf_table.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "proxy/proxy_conf.h"
#include "proxy/proxy_int.h"
#include "upstream/ups_ssl.h"

/* The module's part of each http level. */
struct proxy_ssl_loc {
    struct ups_ssl ssl;              /* the proxy_ssl_* settings */
    struct cval name;                /* proxy_ssl_name, compiled */
    bool has_name;                   /* ... given here or above */
    const struct tls_client *client; /* a location proxying with TLS: its configuration */
};

static const struct proxy_ssl_loc *proxy_ssl_of(const struct loc_conf *loc)
{
    return loc_part(loc, &mod_proxy_ssl);
}

static int proxy_ssl_set(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct proxy_ssl_loc *p = cl->part(cl, &mod_proxy_ssl);
    if (ups_ssl_set(cl, n, cmd, &p->ssl) < 0)
        return -1;
    if (strcmp(cmd->name, "proxy_ssl_name") != 0)
        return 0;
    p->has_name = true; /* nginx's default is $proxy_host, which the name replaces */
    return conf_cval(cl, n, &n->args[1], &p->name);
}

static void proxy_ssl_part_init(void *part)
{
    struct proxy_ssl_loc *p = part;
    ups_ssl_init(&p->ssl);
}

static void proxy_ssl_part_merge(const void *from, void *to)
{
    const struct proxy_ssl_loc *parent = from;
    struct proxy_ssl_loc *child = to;
    ups_ssl_merge(&parent->ssl, &child->ssl);
    if (!child->has_name) {
        child->name = parent->name;
        child->has_name = parent->has_name;
    }
}

/* A location proxying to https:// (or to a URL made per request) gets
 * its configuration now, so errors show at load time. */
static int proxy_ssl_loc_build(struct conf_loader *cl, struct loc_conf *loc)
{
    const struct proxy_pass *pp = proxy_loc_of(loc)->pass;
    struct proxy_ssl_loc *p = loc_part(loc, &mod_proxy_ssl);
    struct conf_node at = {.file = (char *)loc->file, .line = loc->line};
    if (pp == NULL || (!pp->vars && !pp->u.https))
        return 0;
    p->client = ups_ssl_client(cl, &p->ssl, &at);
    return p->client != NULL ? 0 : -1;
}

static int proxy_ssl_locs(struct conf_loader *cl, struct loc_conf *const *locs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (proxy_ssl_loc_build(cl, locs[i]) < 0 ||
            proxy_ssl_locs(cl, locs[i]->children, locs[i]->nchildren) < 0)
            return -1;
    return 0;
}

static int proxy_ssl_finish(struct conf_loader *cl)
{
    const struct http_conf *h = http_main(cl->conf);
    for (size_t i = 0; h != NULL && i < h->nservers; i++) {
        const struct srv_conf *s = h->servers[i];
        if (proxy_ssl_locs(cl, s->locs, s->nlocs) < 0 ||
            proxy_ssl_locs(cl, s->named, s->nnamed) < 0)
            return -1;
    }
    return 0;
}

/* ---- at request time ---------------------------------------------------------- */

const struct tls_client *proxy_ssl_conf(const struct proxy_ctx *ctx)
{
    return ctx->tg.https ? proxy_ssl_of(ctx->r->loc)->client : NULL;
}

int proxy_ssl_secure(struct proxy_ctx *ctx, const struct tls_client *c)
{
    const struct proxy_ssl_loc *p = proxy_ssl_of(ctx->r->loc);
    struct str text = ctx->log->host;
    char name[256];
    bool sni;
    if (p->has_name && cval_eval(&p->name, ctx->r, &text) < 0)
        return -1;
    if (ups_ssl_name(text, ups_ssl_sends_name(&p->ssl), name, sizeof(name), &sni) < 0) {
        conn_logf(ctx->r->c, LL_ERR, 0, "invalid upstream SSL name \"%.*s\"", (int)text.len,
                  text.p);
        return -1;
    }
    if (ups_conn_secure(ctx->uc, c, name, sni) == 0)
        return 0;
    conn_logf(ctx->r->c, LL_ALERT, 0, "out of memory");
    return -1;
}

#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd proxy_ssl_cmds[] = {
    UPS_SSL_CMDS(HSL, proxy_ssl_set),
};

struct module mod_proxy_ssl = {
    .name = "http_proxy_ssl",
    .cmds = proxy_ssl_cmds,
    .ncmds = sizeof(proxy_ssl_cmds) / sizeof(proxy_ssl_cmds[0]),
    .part_size = sizeof(struct proxy_ssl_loc),
    .part_init = proxy_ssl_part_init,
    .part_merge = proxy_ssl_part_merge,
    .finish = proxy_ssl_finish,
};
