/* ssl_conf.c - the ssl_* directives and the TLS contexts they make. */
#include "http/ssl_conf.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_shm.h"
#include "conf/conf_table.h"
#include "core/log.h"
#include "event/reactor.h"
#include "http/core_conf.h"
#include "tls/tls_ctx.h"
#include "tls/tls_lib.h"
#include "tls/tls_names.h"
#include "tls/tls_store.h"

/* ssl_protocols was given at this level (beside the TLS_PROTO_* bits). */
#define SSL_PROTO_SET 0x100u

/* The module's main-level data: the generation's TLS material. */
struct ssl_main {
    struct tls_store *store; /* owned; freed with the configuration */
    bool used;               /* a TLS context was built: workers need the library */
};

static struct ssl_main *ssl_main_of(struct conf_loader *cl)
{
    struct ssl_main *m = conf_mod(cl->conf, &mod_http_ssl);
    if (m != NULL)
        return m;
    if ((m = mpool_calloc(cl->pool, sizeof(*m))) == NULL || (m->store = tls_store_new()) == NULL)
        return NULL;
    if (conf_cleanup_add(cl->conf, (void (*)(void *))tls_store_free, m->store) < 0)
        return NULL;
    conf_set_mod(cl->conf, &mod_http_ssl, m);
    return m;
}

static struct tls_store *ssl_store(struct conf_loader *cl, const struct conf_node *n)
{
    struct ssl_main *m = ssl_main_of(cl);
    if (m == NULL)
        conf_err_nomem(cl, n);
    return m != NULL ? m->store : NULL;
}

static struct ssl_part *ssl_part_here(struct conf_loader *cl)
{
    return cl->part(cl, &mod_http_ssl);
}

const struct ssl_part *ssl_srv_part(const struct srv_conf *s)
{
    return loc_part(s->loc, &mod_http_ssl);
}

/* A file named by a directive, relative to the configuration's directory
 * as nginx resolves certificates. */
static const char *ssl_path(struct conf_loader *cl, const struct conf_node *n, size_t arg)
{
    const char *p = n->args[arg].s;
    if (strchr(p, '$') != NULL) {
        conf_err(cl, n, "variables in \"%s\" are not supported", n->args[0].s);
        return NULL;
    }
    const char *full = conf_full_path(cl->pool, cl->conf->paths.conf_prefix, p);
    if (full == NULL)
        conf_err_nomem(cl, n);
    return full;
}

/* What a loader's failure says, at the directive. */
static int ssl_load_failed(struct conf_loader *cl, const struct conf_node *n, const char *why)
{
    return conf_err(cl, n, "%s", why);
}

/* ---- certificates -------------------------------------------------------- */

static int ssl_push_file(struct conf_loader *cl, const struct conf_node *n, struct ssl_file **list,
                         size_t *count, void *obj, const char *path)
{
    struct ssl_file *f = conf_push(cl->pool, list, count, sizeof(*f));
    if (f == NULL)
        return conf_err_nomem(cl, n);
    *f = (struct ssl_file){obj, path, conf_file_name(cl, n), n->line, false};
    return 0;
}

static int conf_set_certificate(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    struct tls_store *st = ssl_store(cl, n);
    const char *path = st != NULL ? ssl_path(cl, n, 1) : NULL;
    char where[512], err[512];
    if (path == NULL)
        return -1;
    snprintf(where, sizeof(where), "%s:%d", n->file ? n->file : "command line", n->line);
    struct tls_chain *c = tls_load_chain(st, path, where, err, sizeof(err));
    if (c == NULL)
        return ssl_load_failed(cl, n, err);
    return ssl_push_file(cl, n, &p->certs, &p->ncerts, c, path);
}

static int conf_set_certificate_key(struct conf_loader *cl, const struct conf_node *n,
                                    const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    struct tls_store *st = ssl_store(cl, n);
    const char *path = st != NULL ? ssl_path(cl, n, 1) : NULL;
    char err[512];
    if (path == NULL)
        return -1;
    struct tls_key *k = tls_load_key(st, path, err, sizeof(err));
    if (k == NULL)
        return ssl_load_failed(cl, n, err);
    return ssl_push_file(cl, n, &p->keys, &p->nkeys, k, path);
}

/* ssl_client_certificate, ssl_trusted_certificate: the CA lists. */
static int conf_set_ca(struct conf_loader *cl, const struct conf_node *n,
                       const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    bool client = strcmp(cmd->name, "ssl_client_certificate") == 0;
    struct tls_chain **slot = client ? &p->client_ca : &p->trusted;
    struct tls_store *st = ssl_store(cl, n);
    const char *path = st != NULL ? ssl_path(cl, n, 1) : NULL;
    char where[512], err[512];
    if (*slot != NULL)
        return conf_err_dup(cl, n, cmd);
    if (path == NULL)
        return -1;
    snprintf(where, sizeof(where), "%s:%d", n->file ? n->file : "command line", n->line);
    if ((*slot = tls_load_chain(st, path, where, err, sizeof(err))) == NULL)
        return ssl_load_failed(cl, n, err);
    return 0;
}

static int conf_set_crl(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    struct tls_store *st = ssl_store(cl, n);
    const char *path = st != NULL ? ssl_path(cl, n, 1) : NULL;
    char err[512];
    if (p->crl != NULL)
        return conf_err_dup(cl, n, cmd);
    if (path == NULL)
        return -1;
    if ((p->crl = tls_load_crl(st, path, err, sizeof(err))) == NULL)
        return ssl_load_failed(cl, n, err);
    return 0;
}

static int conf_set_dhparam(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    struct tls_store *st = ssl_store(cl, n);
    const char *path = st != NULL ? ssl_path(cl, n, 1) : NULL;
    char err[512];
    if (p->dh != NULL)
        return conf_err_dup(cl, n, cmd);
    if (path == NULL)
        return -1;
    if ((p->dh = tls_load_dh(st, path, err, sizeof(err))) == NULL)
        return ssl_load_failed(cl, n, err);
    return 0;
}

/* ---- sessions ------------------------------------------------------------ */

static int conf_set_ticket_key(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    struct tls_store *st = ssl_store(cl, n);
    const char *path = st != NULL ? ssl_path(cl, n, 1) : NULL;
    char err[512];
    if (path == NULL)
        return -1;
    struct tls_tkey *k = tls_load_ticket_key(st, path, err, sizeof(err));
    if (k == NULL)
        return ssl_load_failed(cl, n, err);
    struct tls_tkey **slot = conf_push(cl->pool, &p->tkeys, &p->ntkeys, sizeof(*slot));
    if (slot == NULL)
        return conf_err_nomem(cl, n);
    *slot = k;
    return 0;
}

static const struct conf_shm_kind ssl_cache_kind = {.shm = {"ssl_session_cache", NULL},
                                                    .elsewhere = true};

/* "shared:NAME:SIZE" */
static int ssl_cache_shared(struct conf_loader *cl, const struct conf_node *n, const char *arg,
                            struct ssl_part *p)
{
    char name[64], err[512];
    const char *colon = strrchr(arg + 7, ':');
    long size;
    size_t len = colon != NULL ? (size_t)(colon - (arg + 7)) : 0;
    if (len == 0 || len >= sizeof(name) || conf_parse_size(colon + 1, &size) < 0 || size <= 0)
        return conf_err(cl, n, "invalid session cache \"%s\"", arg);
    memcpy(name, arg + 7, len);
    name[len] = '\0';
    /* One namespace with the limits' zones, as in nginx. */
    if (conf_shm_add(cl, n, (struct str){name, len}, (size_t)size, &ssl_cache_kind) == NULL)
        return -1;
    struct tls_store *st = ssl_store(cl, n);
    if (st == NULL)
        return -1;
    if ((p->cache = tls_store_cache(st, name, (size_t)size, err, sizeof(err))) == NULL)
        return conf_err(cl, n, "%s", err);
    p->cache_mode = SSL_CACHE_SHARED;
    return 0;
}

static int conf_set_session_cache(struct conf_loader *cl, const struct conf_node *n,
                                  const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    if (p->cache_mode != SSL_CACHE_UNSET)
        return conf_err_dup(cl, n, cmd);
    for (size_t i = 1; i < n->nargs; i++) {
        const char *a = n->args[i].s;
        if ((strcmp(a, "off") == 0 || strcmp(a, "none") == 0) && n->nargs == 2)
            p->cache_mode = SSL_CACHE_NONE;
        else if (strncmp(a, "builtin", 7) == 0)
            return conf_err(cl, n,
                            "the builtin session cache is not supported, use "
                            "\"shared:NAME:SIZE\" (one for all workers)");
        else if (strncmp(a, "shared:", 7) != 0 || ssl_cache_shared(cl, n, a, p) < 0)
            return cl->err[0] != '\0' ? -1 : conf_err(cl, n, "invalid session cache \"%s\"", a);
    }
    return 0;
}

/* ---- protocols, suites, curves -------------------------------------------- */

static int conf_set_protocols(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    if (p->protocols != 0)
        return conf_err_dup(cl, n, cmd);
    unsigned bits = SSL_PROTO_SET;
    for (size_t i = 1; i < n->nargs; i++) {
        unsigned b = tls_names_protocol(n->args[i].s);
        if (b == 0)
            return conf_err_value(cl, n, cmd, i);
        if (b == TLS_PROTO_OLD)
            log_msg(LL_WARN, 0, 0, "\"%s\" is not supported by %s and is not enabled in %s:%d",
                    n->args[i].s, tls_lib_version(), n->file ? n->file : "command line", n->line);
        bits |= b;
    }
    if ((bits & (TLS_PROTO_12 | TLS_PROTO_13)) == 0)
        return conf_err(cl, n, "no usable protocol in \"%s\" (TLSv1.2 and TLSv1.3 are)", cmd->name);
    p->protocols = bits;
    return 0;
}

/* ssl_alpn (nginx's stream directive): the names offered, in order. */
static int conf_set_alpn(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct ssl_part *p = ssl_part_here(cl);
    if (p->alpn != NULL)
        return conf_err_dup(cl, n, cmd);
    if (n->nargs - 1 > TLS_ALPN_MAX)
        return conf_err(cl, n, "too many protocols in \"%s\" (at most %d)", cmd->name,
                        TLS_ALPN_MAX);
    const char **list = mpool_calloc(cl->pool, n->nargs * sizeof(*list));
    if (list == NULL)
        return conf_err_nomem(cl, n);
    for (size_t i = 1; i < n->nargs; i++) {
        size_t len = strlen(n->args[i].s);
        if (len == 0)
            return conf_err(cl, n, "empty ALPN protocol in \"%s\"", cmd->name);
        if (len > 255)
            return conf_err(cl, n, "ALPN protocol too long \"%s\"", n->args[i].s);
        if ((list[i - 1] = mpool_strdup(cl->pool, n->args[i].s)) == NULL)
            return conf_err_nomem(cl, n);
    }
    p->alpn = list;
    return 0;
}

/* CT_STR values checked when given, so an error has its line. */
static int conf_set_checked_str(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd)
{
    char **field = (char **)((char *)ssl_part_here(cl) + cmd->offset);
    char err[256];
    int ids[TLS_NAMES_MAX];
    uint16_t groups[TLS_NAMES_MAX + 1];
    if (*field != NULL)
        return conf_err_dup(cl, n, cmd);
    int rc = strcmp(cmd->name, "ssl_ciphers") == 0
                 ? tls_names_ciphers(n->args[1].s, ids, err, sizeof(err))
                 : tls_names_curves(n->args[1].s, groups, err, sizeof(err));
    if (rc < 0)
        return conf_err(cl, n, "%s in \"%s\"", err, cmd->name);
    *field = mpool_strdup(cl->pool, n->args[1].s);
    return *field != NULL ? 0 : conf_err_nomem(cl, n);
}

/* ---- what the library cannot do ------------------------------------------- */

static int conf_set_ssl(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    return conf_err(cl, n,
                    "the \"ssl\" directive is not supported, use the \"listen ... ssl\" "
                    "directive instead");
}

/* nginx warns the same way when it cannot staple; the flag is kept. */
static int conf_set_stapling(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    int *field = (int *)((char *)ssl_part_here(cl) + cmd->offset);
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_flag(n->args[1].s, field) < 0)
        return conf_err(cl, n,
                        "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or "
                        "\"off\"",
                        n->args[1].s, cmd->name);
    if (*field)
        log_msg(LL_WARN, 0, 0, "\"%s\" ignored, OCSP stapling is not supported by %s in %s:%d",
                cmd->name, tls_lib_version(), n->file ? n->file : "command line", n->line);
    return 0;
}

/* ---- inheritance ------------------------------------------------------------ */

static void ssl_part_init(void *part)
{
    struct ssl_part *p = part;
    p->cache_mode = SSL_CACHE_UNSET;
}

static void ssl_part_merge(const void *from, void *to)
{
    const struct ssl_part *parent = from;
    struct ssl_part *child = to;
    if (child->ncerts == 0 && child->nkeys == 0) {
        child->certs = parent->certs;
        child->ncerts = parent->ncerts;
        child->keys = parent->keys;
        child->nkeys = parent->nkeys;
    }
    if (child->protocols == 0)
        child->protocols = parent->protocols;
    if (child->ntkeys == 0) {
        child->tkeys = parent->tkeys;
        child->ntkeys = parent->ntkeys;
    }
    if (child->cache_mode == SSL_CACHE_UNSET) {
        child->cache_mode = parent->cache_mode;
        child->cache = parent->cache;
    }
    child->dh = child->dh != NULL ? child->dh : parent->dh;
    child->client_ca = child->client_ca != NULL ? child->client_ca : parent->client_ca;
    child->trusted = child->trusted != NULL ? child->trusted : parent->trusted;
    child->crl = child->crl != NULL ? child->crl : parent->crl;
    child->alpn = child->alpn != NULL ? child->alpn : parent->alpn;
}

static int ssl_part_defaults(struct conf_loader *cl, void *part)
{
    struct ssl_part *p = part;
    if (p->protocols == 0)
        p->protocols = SSL_PROTO_SET | TLS_PROTO_12 | TLS_PROTO_13;
    if (p->cache_mode == SSL_CACHE_UNSET)
        p->cache_mode = SSL_CACHE_NONE;
    return 0;
}

/* ---- contexts ------------------------------------------------------------------ */

/* Where a server's TLS errors point: its `listen ... ssl` for addr. */
static struct conf_node ssl_listen_at(const struct srv_conf *s, const struct conf_addr *a)
{
    for (size_t i = 0; i < s->nlistens; i++)
        if (sockaddr_equal(&s->listens[i].addr, &a->addr))
            return (struct conf_node){.file = s->listens[i].file, .line = s->listens[i].line};
    return (struct conf_node){.file = s->file, .line = s->line};
}

static int ssl_check_pairs(struct conf_loader *cl, struct ssl_part *p, const struct conf_node *at)
{
    char err[256];
    if (p->ncerts == 0)
        return conf_err(cl, at,
                        "no \"ssl_certificate\" is defined for the \"listen ... ssl\" "
                        "directive");
    for (size_t i = 0; i < p->ncerts || i < p->nkeys; i++) {
        const struct ssl_file *c = i < p->ncerts ? &p->certs[i] : NULL;
        struct ssl_file *k = i < p->nkeys ? &p->keys[i] : NULL;
        struct conf_node here = {.file = (k ? k : c)->file, .line = (k ? k : c)->line};
        if (k == NULL)
            return conf_err(cl, &here,
                            "no \"ssl_certificate_key\" is defined for certificate "
                            "\"%s\"",
                            c->path);
        if (c == NULL)
            return conf_err(cl, &here, "no \"ssl_certificate\" is defined for key \"%s\"", k->path);
        if (!k->checked && tls_key_matches(k->obj, c->obj, err, sizeof(err)) < 0)
            return conf_err(cl, &here, "the key \"%s\" does not match the certificate \"%s\" (%s)",
                            k->path, c->path, err);
        k->checked = true;
    }
    return 0;
}

/* The server's settings, with the pairs laid out for the library. */
static int ssl_settings(struct conf_loader *cl, const char *id, const struct ssl_part *p,
                        struct tls_settings *t)
{
    size_t n = p->ncerts;
    t->chains = mpool_alloc(cl->pool, (n ? n : 1) * sizeof(*t->chains));
    t->keys = mpool_alloc(cl->pool, (n ? n : 1) * sizeof(*t->keys));
    t->id = id;
    if (t->chains == NULL || t->keys == NULL || t->id == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        t->chains[i] = p->certs[i].obj;
        t->keys[i] = p->keys[i].obj;
    }
    t->ncerts = n;
    t->protocols = p->protocols;
    t->ciphers = p->ciphers;
    t->curves = p->ecdh_curve;
    t->prefer_server = p->prefer_server_ciphers == 1;
    t->dh = p->dh;
    t->alpn = p->alpn;
    return 0;
}

static void ssl_settings_more(const struct ssl_part *p, struct tls_settings *t)
{
    t->tickets = p->session_tickets == 1;
    t->session_timeout = p->session_timeout;
    t->tkeys = p->tkeys;
    t->ntkeys = p->ntkeys;
    t->cache = p->cache_mode == SSL_CACHE_SHARED ? p->cache : NULL;
    t->client = p->client_ca;
    t->trusted = p->trusted;
    t->crl = p->crl;
    t->verify = (enum tls_verify)p->verify_client;
    t->verify_depth = p->verify_depth;
    t->buffer_size = p->buffer_size;
    t->reject = p->reject_handshake == 1;
    t->offload = p->handshake_offload == 1;
}

int ssl_part_build(struct conf_loader *cl, struct ssl_part *p, const char *file, int line,
                   const struct conf_node *at)
{
    struct tls_settings t = {0};
    struct ssl_main *m = ssl_main_of(cl);
    const char *id = mpool_printf(cl->pool, "%s:%d", file ? file : "", line);
    char err[512];
    if (p->ctx != NULL)
        return 0;
    if (p->reject_handshake != 1 && ssl_check_pairs(cl, p, at) < 0)
        return -1;
    if (p->ncerts != p->nkeys)
        return conf_err(cl, at, "every \"ssl_certificate\" needs its \"ssl_certificate_key\"");
    if (m == NULL || id == NULL || ssl_settings(cl, id, p, &t) < 0)
        return conf_err_nomem(cl, at);
    ssl_settings_more(p, &t);
    if ((p->ctx = tls_ctx_new(m->store, &t, err, sizeof(err))) == NULL)
        return conf_err(cl, at, "%s", err);
    m->used = true;
    return 0;
}

/* What an HTTPS server offers: HTTP/1.1, the protocol it speaks. */
static const char *const ssl_http_alpn[] = {"http/1.1", NULL};

static int ssl_build(struct conf_loader *cl, struct srv_conf *s, const struct conf_addr *a)
{
    struct conf_node at = ssl_listen_at(s, a);
    struct ssl_part *p = loc_part(s->loc, &mod_http_ssl);
    p->alpn = ssl_http_alpn;
    return ssl_part_build(cl, p, s->file, s->line, &at);
}

struct ssl_part *ssl_part_new(struct conf_loader *cl)
{
    struct ssl_part *p = mpool_calloc(cl->pool, sizeof(*p));
    if (p == NULL)
        return NULL;
    conf_part_unset(&mod_http_ssl, p);
    ssl_part_init(p);
    return p;
}

int ssl_part_inherit(struct conf_loader *cl, const struct ssl_part *parent, struct ssl_part *child)
{
    if (parent != NULL) {
        ssl_part_merge(parent, child);
        conf_part_inherit(&mod_http_ssl, parent, child);
    }
    return conf_part_defaults(cl, &mod_http_ssl, child);
}

static int ssl_finish(struct conf_loader *cl)
{
    struct http_conf *h = http_main(cl->conf);
    for (size_t i = 0; h != NULL && i < h->nports; i++)
        for (size_t j = 0; j < h->ports[i].naddrs; j++) {
            const struct conf_addr *a = &h->ports[i].addrs[j];
            for (size_t k = 0; a->ssl && k < a->nservers; k++)
                if (ssl_build(cl, a->servers[k], a) < 0)
                    return -1;
        }
    return 0;
}

/* Each worker seeds its own generator and starts PSA after fork. */
static int ssl_worker_start(struct reactor *rx)
{
    const struct ssl_main *m = conf_mod(rx->conf, &mod_http_ssl);
    char err[256];
    if (m == NULL || !m->used)
        return 0;
    if (tls_lib_fork(err, sizeof(err)) == 0)
        return 0;
    log_msg(LL_EMERG, 0, 0, "%s", err);
    return -1;
}

/* ---- the table ------------------------------------------------------------------- */

#define SSL_F(f) CS_PART, offsetof(struct ssl_part, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define HS (CTX_HTTP | CTX_SRV)
/* The server directives that apply to a stream server terminating TLS. */
#define HSS (HS | CTX_STREAM | CTX_STREAM_SRV)

static const struct conf_enum ssl_verify_words[] = {
    {"off", TLS_VERIFY_OFF},
    {"on", TLS_VERIFY_ON},
    {"optional", TLS_VERIFY_OPTIONAL},
    {"optional_no_ca", TLS_VERIFY_OPTIONAL_NO_CA},
    {NULL, 0},
};

static const struct conf_range ssl_depth_range = {0, 100};

static const struct conf_cmd ssl_cmds[] = {
    {"ssl", HS, ARGS(1), CUSTOM, conf_set_ssl, NULL},
    {"ssl_certificate", HSS, ARGS(1), CUSTOM, conf_set_certificate, NULL},
    {"ssl_certificate_key", HSS, ARGS(1), CUSTOM, conf_set_certificate_key, NULL},
    {"ssl_protocols", HSS, ARGS_1MORE, CUSTOM, conf_set_protocols, NULL},
    {"ssl_ciphers", HSS, ARGS(1), CT_STR, SSL_F(ciphers), tls_names_default_ciphers,
     conf_set_checked_str, NULL},
    {"ssl_prefer_server_ciphers", HSS, ARGS(1), CT_FLAG, SSL_F(prefer_server_ciphers), "off", NULL,
     NULL},
    {"ssl_ecdh_curve", HSS, ARGS(1), CT_STR, SSL_F(ecdh_curve), "auto", conf_set_checked_str, NULL},
    {"ssl_dhparam", HSS, ARGS(1), CUSTOM, conf_set_dhparam, NULL},
    {"ssl_session_tickets", HSS, ARGS(1), CT_FLAG, SSL_F(session_tickets), "on", NULL, NULL},
    {"ssl_session_timeout", HSS, ARGS(1), CT_MSEC, SSL_F(session_timeout), "5m", NULL, NULL},
    {"ssl_session_ticket_key", HSS, ARGS(1), CUSTOM, conf_set_ticket_key, NULL},
    {"ssl_session_cache", HSS, ARGS(1) | ARGS(2), CUSTOM, conf_set_session_cache, NULL},
    {"ssl_client_certificate", HSS, ARGS(1), CUSTOM, conf_set_ca, NULL},
    {"ssl_trusted_certificate", HSS, ARGS(1), CUSTOM, conf_set_ca, NULL},
    {"ssl_verify_client", HSS, ARGS(1), CT_ENUM, SSL_F(verify_client), "off", NULL,
     ssl_verify_words},
    {"ssl_verify_depth", HSS, ARGS(1), CT_NUM, SSL_F(verify_depth), "1", NULL, &ssl_depth_range},
    {"ssl_crl", HSS, ARGS(1), CUSTOM, conf_set_crl, NULL},
    {"ssl_handshake_timeout", HSS, ARGS(1), CT_MSEC, SSL_F(handshake_timeout), "60s", NULL, NULL},
    {"ssl_buffer_size", HS, ARGS(1), CT_SIZE, SSL_F(buffer_size), "16k", NULL, NULL},
    {"ssl_stapling", HS, ARGS(1), CT_FLAG, SSL_F(stapling), "off", conf_set_stapling, NULL},
    {"ssl_stapling_verify", HS, ARGS(1), CT_FLAG, SSL_F(stapling_verify), "off", conf_set_stapling,
     NULL},
    {"ssl_reject_handshake", HSS, ARGS(1), CT_FLAG, SSL_F(reject_handshake), "off", NULL, NULL},
    {"ssl_handshake_offload", HSS, ARGS(1), CT_FLAG, SSL_F(handshake_offload), "on", NULL, NULL},
    {"ssl_alpn", CTX_STREAM | CTX_STREAM_SRV, ARGS_1MORE, CUSTOM, conf_set_alpn, NULL},
};

struct module mod_http_ssl = {
    .name = "http_ssl",
    .cmds = ssl_cmds,
    .ncmds = sizeof(ssl_cmds) / sizeof(ssl_cmds[0]),
    .part_size = sizeof(struct ssl_part),
    .part_init = ssl_part_init,
    .part_merge = ssl_part_merge,
    .part_defaults = ssl_part_defaults,
    .finish = ssl_finish,
    .worker_start = ssl_worker_start,
    .http = &ssl_hooks,
    .vars = ssl_vars,
    .nvars = SSL_NVARS,
};
