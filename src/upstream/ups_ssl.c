/* ups_ssl.c - the proxy_ssl_* directives and the TLS client configurations
 * they make (see ups_ssl.h). */
#include "upstream/ups_ssl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "core/log.h"
#include "event/reactor.h"
#include "tls/tls_client.h"
#include "tls/tls_lib.h"
#include "tls/tls_names.h"
#include "tls/tls_store.h"

/* The module's main-level data: the generation's upstream TLS material. */
struct ups_ssl_main {
    struct tls_store *store; /* owned; freed with the configuration */
    bool used;               /* a client configuration was built */
};

static struct ups_ssl_main *ups_ssl_main_of(struct conf_loader *cl, const struct conf_node *n)
{
    struct ups_ssl_main *m = conf_mod(cl->conf, &mod_ups_ssl);
    if (m != NULL)
        return m;
    if ((m = mpool_calloc(cl->pool, sizeof(*m))) == NULL || (m->store = tls_store_new()) == NULL ||
        conf_cleanup_add(cl->conf, (void (*)(void *))tls_store_free, m->store) < 0) {
        conf_err_nomem(cl, n);
        return NULL;
    }
    conf_set_mod(cl->conf, &mod_ups_ssl, m);
    return m;
}

/* ---- levels ------------------------------------------------------------------- */

void ups_ssl_init(struct ups_ssl *u)
{
    memset(u, 0, sizeof(*u));
    u->verify = u->server_name = u->session_reuse = -1;
    u->verify_depth = -1;
    u->origin = u;
}

static void ups_ssl_file_inherit(struct ups_ssl_file *child, const struct ups_ssl_file *parent)
{
    if (child->obj == NULL)
        *child = *parent;
}

void ups_ssl_merge(const struct ups_ssl *parent, struct ups_ssl *child)
{
    if (!child->own) {
        *child = *parent; /* the same directives: the same configuration */
        child->own = false;
        return;
    }
    child->verify = child->verify != -1 ? child->verify : parent->verify;
    child->verify_depth = child->verify_depth != -1 ? child->verify_depth : parent->verify_depth;
    child->server_name = child->server_name != -1 ? child->server_name : parent->server_name;
    child->session_reuse =
        child->session_reuse != -1 ? child->session_reuse : parent->session_reuse;
    child->protocols = child->protocols != 0 ? child->protocols : parent->protocols;
    child->ciphers = child->ciphers != NULL ? child->ciphers : parent->ciphers;
    child->name = child->name != NULL ? child->name : parent->name;
    ups_ssl_file_inherit(&child->trusted, &parent->trusted);
    if (child->cert.obj == NULL && child->key.obj == NULL) {
        child->cert = parent->cert;
        child->key = parent->key;
    }
}

bool ups_ssl_sends_name(const struct ups_ssl *u)
{
    return u->server_name == 1;
}

/* ---- the directives -------------------------------------------------------------- */

static int ups_ssl_flag(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd, int *field)
{
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_flag(n->args[1].s, field) == 0)
        return 0;
    return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                    n->args[1].s, cmd->name);
}

static int ups_ssl_depth(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd, struct ups_ssl *u)
{
    if (u->verify_depth != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_num(n->args[1].s, &u->verify_depth) < 0) {
        u->verify_depth = -1;
        return conf_err_value(cl, n, cmd, 1);
    }
    return 0;
}

static int ups_ssl_protocols(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd, struct ups_ssl *u)
{
    unsigned bits = 0;
    if (u->protocols != 0)
        return conf_err_dup(cl, n, cmd);
    for (size_t i = 1; i < n->nargs; i++) {
        unsigned b = tls_names_protocol(n->args[i].s);
        if (b == 0)
            return conf_err_value(cl, n, cmd, i);
        if (b == TLS_PROTO_OLD)
            conf_warn(n, "\"%s\" is not supported by %s and is not enabled", n->args[i].s,
                      tls_lib_version());
        bits |= b;
    }
    if ((bits & (TLS_PROTO_12 | TLS_PROTO_13)) == 0)
        return conf_err(cl, n, "no usable protocol in \"%s\" (TLSv1.2 and TLSv1.3 are)", cmd->name);
    u->protocols = bits & (TLS_PROTO_12 | TLS_PROTO_13);
    return 0;
}

static int ups_ssl_string(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd, const char **field)
{
    char err[256];
    int ids[TLS_NAMES_MAX];
    if (*field != NULL)
        return conf_err_dup(cl, n, cmd);
    if (strcmp(cmd->name, "proxy_ssl_ciphers") == 0 &&
        tls_names_ciphers(n->args[1].s, ids, err, sizeof(err)) < 0)
        return conf_err(cl, n, "%s in \"%s\"", err, cmd->name);
    *field = mpool_strdup(cl->pool, n->args[1].s);
    return *field != NULL ? 0 : conf_err_nomem(cl, n);
}

/* A file, relative to the configuration's directory, loaded now. */
static int ups_ssl_load(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd, struct ups_ssl_file *f)
{
    struct ups_ssl_main *m = ups_ssl_main_of(cl, n);
    const char *arg = n->args[1].s;
    char where[512], err[512];
    if (f->obj != NULL)
        return conf_err_dup(cl, n, cmd);
    if (m == NULL)
        return -1;
    if (strchr(arg, '$') != NULL)
        return conf_err(cl, n, "variables in \"%s\" are not supported", cmd->name);
    const char *path = conf_full_path(cl->pool, cl->conf->paths.conf_prefix, arg);
    if (path == NULL)
        return conf_err_nomem(cl, n);
    snprintf(where, sizeof(where), "%s:%d", n->file ? n->file : "command line", n->line);
    if (strcmp(cmd->name, "proxy_ssl_certificate_key") == 0)
        f->obj = tls_load_key(m->store, path, err, sizeof(err));
    else
        f->obj = tls_load_chain(m->store, path, where, err, sizeof(err));
    if (f->obj == NULL)
        return conf_err(cl, n, "%s", err);
    *f = (struct ups_ssl_file){f->obj, path, conf_file_name(cl, n), n->line};
    return 0;
}

static int ups_ssl_dispatch(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd, struct ups_ssl *u)
{
    const char *d = cmd->name + strlen("proxy_ssl_");
    if (strcmp(d, "verify") == 0)
        return ups_ssl_flag(cl, n, cmd, &u->verify);
    if (strcmp(d, "server_name") == 0)
        return ups_ssl_flag(cl, n, cmd, &u->server_name);
    if (strcmp(d, "session_reuse") == 0)
        return ups_ssl_flag(cl, n, cmd, &u->session_reuse);
    if (strcmp(d, "verify_depth") == 0)
        return ups_ssl_depth(cl, n, cmd, u);
    if (strcmp(d, "protocols") == 0)
        return ups_ssl_protocols(cl, n, cmd, u);
    if (strcmp(d, "ciphers") == 0)
        return ups_ssl_string(cl, n, cmd, &u->ciphers);
    if (strcmp(d, "name") == 0)
        return ups_ssl_string(cl, n, cmd, &u->name);
    if (strcmp(d, "trusted_certificate") == 0)
        return ups_ssl_load(cl, n, cmd, &u->trusted);
    if (strcmp(d, "certificate") == 0)
        return ups_ssl_load(cl, n, cmd, &u->cert);
    if (strcmp(d, "certificate_key") == 0)
        return ups_ssl_load(cl, n, cmd, &u->key);
    return conf_err(cl, n, "unknown directive \"%s\"", cmd->name);
}

int ups_ssl_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd,
                struct ups_ssl *u)
{
    if (!u->own) {
        u->own = true;
        u->file = conf_file_name(cl, n);
        u->line = n->line;
    }
    return ups_ssl_dispatch(cl, n, cmd, u);
}

/* ---- the client configuration ------------------------------------------------------ */

static int ups_ssl_pair(struct conf_loader *cl, const struct ups_ssl *u)
{
    char err[256];
    const struct ups_ssl_file *c = &u->cert, *k = &u->key;
    struct conf_node kn = {.file = (char *)k->file, .line = k->line};
    struct conf_node cn = {.file = (char *)c->file, .line = c->line};
    if (c->obj != NULL && k->obj == NULL)
        return conf_err(
            cl, &cn, "no \"proxy_ssl_certificate_key\" is defined for certificate \"%s\"", c->path);
    if (c->obj == NULL && k->obj != NULL)
        return conf_err(cl, &kn, "no \"proxy_ssl_certificate\" is defined for key \"%s\"", k->path);
    if (c->obj != NULL && tls_key_matches(k->obj, c->obj, err, sizeof(err)) < 0)
        return conf_err(cl, &kn, "the key \"%s\" does not match the certificate \"%s\" (%s)",
                        k->path, c->path, err);
    return 0;
}

/* nginx's defaults for what no level set. */
static void ups_ssl_settings(const struct ups_ssl *u, struct tls_client_settings *s)
{
    *s = (struct tls_client_settings){
        .trusted = u->trusted.obj,
        .verify = u->verify == 1,
        .verify_depth = u->verify_depth != -1 ? u->verify_depth : 1,
        .protocols = u->protocols != 0 ? u->protocols : TLS_PROTO_12 | TLS_PROTO_13,
        .ciphers = u->ciphers != NULL ? u->ciphers : "DEFAULT",
        .cert = u->cert.obj,
        .key = u->key.obj,
        .session_reuse = u->session_reuse != 0,
        .offload = true,
    };
}

struct tls_client *ups_ssl_client(struct conf_loader *cl, struct ups_ssl *u,
                                  const struct conf_node *at)
{
    struct ups_ssl *o = u->origin;
    struct conf_node here = {.file = (char *)o->file, .line = o->line};
    const struct conf_node *where = o->own ? &here : at;
    struct tls_client_settings s;
    char err[512];
    if (o->client != NULL)
        return o->client;
    struct ups_ssl_main *m = ups_ssl_main_of(cl, where);
    if (m == NULL || ups_ssl_pair(cl, o) < 0)
        return NULL;
    ups_ssl_settings(o, &s);
    if ((o->client = tls_client_new(m->store, &s, err, sizeof(err))) == NULL) {
        conf_err(cl, where, "%s", err);
        return NULL;
    }
    m->used = true;
    return o->client;
}

/* ---- the name --------------------------------------------------------------------- */

static bool ups_ssl_is_addr(const char *name)
{
    struct in_addr a4;
    struct in6_addr a6;
    return inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
}

int ups_ssl_name(struct str in, bool ask_sni, char *buf, size_t len, bool *sni)
{
    const char *p = in.p, *end = in.p + in.len;
    bool bracket = in.len > 0 && p[0] == '[';
    const char *close = bracket ? memchr(p, ']', in.len) : NULL;
    const char *colon = memchr(close != NULL ? close : p, ':', (size_t)(end - (close ? close : p)));
    if (close != NULL) {
        p++;
        end = close;
    } else if (colon != NULL) {
        end = colon;
    }
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= len)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    *sni = ask_sni && !ups_ssl_is_addr(buf);
    return 0;
}

/* ---- the module ------------------------------------------------------------------------ */

/* Each worker seeds its own generator and starts PSA after fork. */
static int ups_ssl_worker_start(struct reactor *rx)
{
    const struct ups_ssl_main *m = conf_mod(rx->conf, &mod_ups_ssl);
    char err[256];
    if (m == NULL || !m->used || tls_lib_fork(err, sizeof(err)) == 0)
        return 0;
    log_msg(LL_EMERG, 0, 0, "%s", err);
    return -1;
}

struct module mod_ups_ssl = {
    .name = "upstream_ssl",
    .worker_start = ups_ssl_worker_start,
};
