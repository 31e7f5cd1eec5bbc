/* stream_conf.c - the stream context: stream, server, listen, upstream,
 * proxy_pass and the proxy settings, and each worker's group state. */
#include "stream/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_cidr.h"
#include "conf/conf_table.h"
#include "core/log.h"
#include "event/reactor.h"
#include "http/conf_listen.h"
#include "http/ssl_conf.h"
#include "stream/stream_sess.h"
#include "stream/stream_vars.h"
#include "upstream/ups_conf.h"
#include "upstream/ups_peer.h"

/* What a worker keeps of the stream groups of its generation. */
static struct {
    struct ups_rt **rts; /* each group's state, by group index */
    size_t n;            /* how many */
} stream_w;

const struct stream_conf *stream_main(const struct conf *c)
{
    return conf_mod(c, &mod_stream);
}

static struct stream_conf *stream_main_rw(struct conf_loader *cl)
{
    return conf_mod(cl->conf, &mod_stream);
}

struct stream_srv *stream_level(struct conf_loader *cl)
{
    return cl->level;
}

struct ups_rt *stream_rt(const struct ups_group *g)
{
    return g->index < stream_w.n ? stream_w.rts[g->index] : NULL;
}

/* The stream context's part lookup: the stream module's part is the level
 * itself; the ssl directives fill the level's ssl part. */
static void *stream_part(struct conf_loader *cl, const struct module *m)
{
    struct stream_srv *lv = stream_level(cl);
    return m == &mod_http_ssl ? (void *)lv->ssl : (void *)lv;
}

static struct stream_srv *stream_srv_new(struct conf_loader *cl, const struct conf_node *n)
{
    struct stream_srv *s = mpool_calloc(cl->pool, sizeof(*s));
    if (s == NULL || (s->ssl = ssl_part_new(cl)) == NULL)
        return NULL;
    conf_part_unset(&mod_stream, s);
    ups_ssl_init(&s->up_ssl);
    s->file = conf_file_name(cl, n);
    s->line = n->line;
    return s;
}

/* ---- blocks ------------------------------------------------------------------ */

static int stream_set_block(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    if (stream_main(cl->conf) != NULL)
        return conf_err_dup(cl, n, cmd);
    struct stream_conf *sc = mpool_calloc(cl->pool, sizeof(*sc));
    if (sc == NULL || (sc->top = stream_srv_new(cl, n)) == NULL)
        return conf_err_nomem(cl, n);
    conf_set_mod(cl->conf, &mod_stream, sc);
    void *saved_level = cl->level;
    conf_part_cb saved_part = cl->part;
    cl->level = sc->top;
    cl->part = stream_part;
    int rc = conf_block(cl, n->child, CTX_STREAM);
    cl->level = saved_level;
    cl->part = saved_part;
    return rc;
}

static int stream_set_server(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct stream_conf *sc = stream_main_rw(cl);
    struct stream_srv **slot = conf_push(cl->pool, &sc->servers, &sc->nservers, sizeof(*slot));
    (void)cmd;
    if (slot == NULL || (*slot = stream_srv_new(cl, n)) == NULL)
        return conf_err_nomem(cl, n);
    cl->level = *slot;
    int rc = conf_block(cl, n->child, CTX_STREAM_SRV);
    cl->level = sc->top;
    return rc;
}

static int stream_set_upstream(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    (void)cmd;
    return ups_conf_block(cl, n, &stream_main_rw(cl)->groups, CTX_STREAM_UPS);
}

/* `hash KEY [consistent]`: the key may name any stream variable. */
static int stream_set_hash(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct svar_fmt *key = mpool_calloc(cl->pool, sizeof(*key));
    char err[256];
    (void)cmd;
    if (key == NULL)
        return conf_err_nomem(cl, n);
    if (svar_compile(cl->pool, n->args[1].s, key, err, sizeof(err)) < 0)
        return conf_err(cl, n, "%s", err);
    return ups_conf_hash(cl, n, key);
}

/* ---- listen -------------------------------------------------------------- */

static int stream_port_num(const char *s, unsigned *port)
{
    long v;
    if (conf_parse_num(s, &v) < 0 || v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

static struct stream_port *stream_port_add(struct conf_loader *cl, const struct conf_node *n,
                                           const union sockaddr_any *a)
{
    struct stream_conf *sc = stream_main_rw(cl);
    struct stream_port *p = conf_push(cl->pool, &sc->ports, &sc->nports, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->addr = *a;
    sockaddr_text(a, true, p->text, sizeof(p->text));
    p->backlog = -1;
    listen_opts_init(&p->opts);
    p->srv = stream_level(cl);
    p->file = conf_file_name(cl, n);
    p->line = n->line;
    return p;
}

static int stream_listen_param(struct conf_loader *cl, const struct conf_node *n, const char *a,
                               struct stream_port *p)
{
    long v;
    int rc = conf_listen_opt(cl, n, a, &p->opts);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (strcmp(a, "ssl") == 0)
        p->ssl = true;
    else if (strcmp(a, "proxy_protocol") == 0)
        p->proxy_protocol = true;
    else if (strcmp(a, "reuseport") == 0)
        ; /* every listen socket is SO_REUSEPORT, one per worker slot */
    else if (strncmp(a, "backlog=", 8) == 0) {
        if (conf_parse_num(a + 8, &v) < 0 || v < 1)
            return conf_err(cl, n, "invalid backlog \"%s\"", a + 8);
        p->backlog = (int)v;
    } else if (strcmp(a, "udp") == 0)
        return conf_err(cl, n, "the \"udp\" parameter of \"listen\" is not supported");
    else
        return conf_err(cl, n, "invalid parameter \"%s\"", a);
    return 0;
}

/* A stream listen needs its port; a host name gives each of its
 * addresses, every one with the same parameters. */
static int stream_set_listen(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct stream_conf *sc = stream_main_rw(cl);
    union sockaddr_any addrs[16];
    const char *path;
    size_t first = sc->nports;
    (void)cmd;
    int k = conf_listen_address(cl, n, 0, addrs, 16, &path);
    if (k < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        struct stream_port *p = stream_port_add(cl, n, &addrs[i]);
        if (p == NULL)
            return conf_err_nomem(cl, n);
        if (path != NULL) {
            p->path = path;
            snprintf(p->text, sizeof(p->text), "unix:%s", path);
        }
        for (size_t j = 2; j < n->nargs; j++)
            if (stream_listen_param(cl, n, n->args[j].s, p) < 0)
                return -1;
    }
    for (size_t i = first; i < sc->nports; i++)
        for (size_t j = 0; j < i; j++)
            if (listen_same(&sc->ports[j].addr, sc->ports[j].path, &sc->ports[i].addr,
                            sc->ports[i].path))
                return conf_err(cl, n, "duplicate \"%s\" address and port pair", sc->ports[i].text);
    return 0;
}

/* ---- proxy_pass ------------------------------------------------------------ */

static int stream_set_pass(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct stream_srv *s = stream_level(cl);
    const char *url = n->args[1].s;
    char host[256];
    unsigned port = 0;
    bool has_port = false;
    if (s->has_pass)
        return conf_err_dup(cl, n, cmd);
    if (strchr(url, '$') != NULL)
        return conf_err(cl, n, "variables in \"proxy_pass\" are not supported");
    snprintf(host, sizeof(host), "%s", url);
    if (strncasecmp(url, "unix:", 5) != 0) {
        char *colon = strrchr(host, ':');
        if (colon != NULL && (host[0] != '[' || colon[-1] == ']')) {
            if (stream_port_num(colon + 1, &port) < 0)
                return conf_err(cl, n, "invalid port in upstream \"%s\"", url);
            *colon = '\0';
            has_port = true;
        }
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            memmove(host, host + 1, strlen(host));
            host[strlen(host) - 1] = '\0';
        }
    }
    s->pass = ups_group_add(cl, n, &stream_main_rw(cl)->groups, host, port, has_port, false);
    s->has_pass = true;
    return s->pass != NULL ? 0 : -1;
}

static int stream_set_real_ip_from(struct conf_loader *cl, const struct conf_node *n,
                                   const struct conf_cmd *cmd)
{
    struct stream_srv *s = stream_level(cl);
    (void)cmd;
    return conf_cidr_trust(cl, n, &s->real_ip_from, &s->nreal_ip_from);
}

/* The proxy_ssl_* directives; proxy_ssl_name may name stream variables. */
static int stream_set_ups_ssl(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    struct stream_srv *s = stream_level(cl);
    char err[256];
    if (ups_ssl_set(cl, n, cmd, &s->up_ssl) < 0)
        return -1;
    if (strcmp(cmd->name, "proxy_ssl_name") != 0)
        return 0;
    if ((s->ssl_name = mpool_calloc(cl->pool, sizeof(*s->ssl_name))) == NULL)
        return conf_err_nomem(cl, n);
    if (svar_compile(cl->pool, n->args[1].s, s->ssl_name, err, sizeof(err)) < 0)
        return conf_err(cl, n, "%s", err);
    return 0;
}

/* ---- once the file is read --------------------------------------------------- */

static int stream_check_groups(struct conf_loader *cl, struct stream_conf *sc)
{
    for (size_t i = 0; i < sc->groups.n; i++) {
        const struct ups_group *g = sc->groups.list[i];
        if (!g->defined && !g->has_port && strncasecmp(g->name, "unix:", 5) != 0) {
            snprintf(cl->err, cl->errlen, "no port in upstream \"%s\" in %s:%d", g->name, g->file,
                     g->line);
            return -1;
        }
    }
    return ups_conf_finish(cl, &sc->groups, NULL, -1);
}

static int stream_merge(struct conf_loader *cl, struct stream_conf *sc)
{
    if (ssl_part_inherit(cl, NULL, sc->top->ssl) < 0 ||
        conf_part_defaults(cl, &mod_stream, sc->top) < 0)
        return -1;
    for (size_t i = 0; i < sc->nservers; i++) {
        struct stream_srv *s = sc->servers[i];
        struct conf_node at = {.file = (char *)s->file, .line = s->line};
        conf_part_inherit(&mod_stream, sc->top, s);
        if (ssl_part_inherit(cl, sc->top->ssl, s->ssl) < 0)
            return -1;
        if (s->logs == NULL)
            s->logs = sc->top->logs;
        if (s->nreal_ip_from == 0) { /* nginx inherits the list whole */
            s->real_ip_from = sc->top->real_ip_from;
            s->nreal_ip_from = sc->top->nreal_ip_from;
        }
        if (s->pass == NULL)
            return conf_err(cl, &at, "no handler for server");
        ups_ssl_merge(&sc->top->up_ssl, &s->up_ssl);
        if (s->ssl_name == NULL)
            s->ssl_name = sc->top->ssl_name;
        /* Built now, so that a bad file or setting fails the load. */
        if (s->proxy_ssl == 1 && (s->up_client = ups_ssl_client(cl, &s->up_ssl, &at)) == NULL)
            return -1;
    }
    return 0;
}

/* An address http binds too cannot be a stream's as well. */
static int stream_publish(struct conf_loader *cl, struct stream_conf *sc)
{
    for (size_t i = 0; i < sc->nports; i++) {
        struct stream_port *p = &sc->ports[i];
        struct conf_node at = {.file = (char *)p->file, .line = p->line};
        for (size_t j = 0; j < cl->conf->nlistens; j++)
            if (listen_same(&cl->conf->listens[j].addr, cl->conf->listens[j].path, &p->addr,
                            p->path))
                return conf_err(cl, &at, "duplicate \"%s\" address and port pair", p->text);
        if (p->ssl && ssl_part_build(cl, p->srv->ssl, p->srv->file, p->srv->line, &at) < 0)
            return -1;
        struct conf_listen *l = conf_listen_push(cl->conf);
        if (l == NULL)
            return conf_err_nomem(cl, &at);
        l->addr = p->addr;
        l->path = p->path;
        snprintf(l->text, sizeof(l->text), "%s", p->text);
        l->backlog = p->backlog > 0 ? p->backlog : 511;
        l->opts = p->opts;
        l->accept = stream_accept;
        l->data = p;
    }
    return 0;
}

static int stream_finish(struct conf_loader *cl)
{
    struct stream_conf *sc = stream_main_rw(cl);
    if (sc == NULL)
        return 0;
    if (stream_merge(cl, sc) < 0 || stream_check_groups(cl, sc) < 0)
        return -1;
    return stream_publish(cl, sc);
}

/* ---- the worker ------------------------------------------------------------------- */

static void stream_worker_stop(struct reactor *rx)
{
    (void)rx;
    for (size_t i = 0; i < stream_w.n; i++)
        if (stream_w.rts[i] != NULL)
            ups_rt_destroy(stream_w.rts[i]);
    free(stream_w.rts);
    memset(&stream_w, 0, sizeof(stream_w));
}

static int stream_worker_start(struct reactor *rx)
{
    const struct stream_conf *sc = stream_main(rx->conf);
    if (sc == NULL || sc->groups.n == 0)
        return 0;
    if ((stream_w.rts = calloc(sc->groups.n, sizeof(*stream_w.rts))) == NULL)
        goto fail;
    for (; stream_w.n < sc->groups.n; stream_w.n++)
        if ((stream_w.rts[stream_w.n] = ups_rt_create(sc->groups.list[stream_w.n])) == NULL)
            goto fail;
    return 0;
fail:
    log_msg(LL_EMERG, 0, 0, "cannot set up the stream upstream groups: out of memory");
    stream_worker_stop(rx);
    return -1;
}

/* ---- the table ------------------------------------------------------------------- */

#define SS_F(f) CS_PART, offsetof(struct stream_srv, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define SS (CTX_STREAM | CTX_STREAM_SRV)

static const struct conf_enum stream_pp_versions[] = {
    {"1", 1},
    {"2", 2},
    {NULL, 0},
};

static const struct conf_range stream_tries_range = {0, 1000000};

static const struct conf_cmd stream_cmds[] = {
    {"stream", CTX_MAIN, ARGS(0) | ARGS_BLOCK, CUSTOM, stream_set_block, NULL},
    {"server", CTX_STREAM, ARGS(0) | ARGS_BLOCK, CUSTOM, stream_set_server, NULL},
    {"upstream", CTX_STREAM, ARGS(1) | ARGS_BLOCK, CUSTOM, stream_set_upstream, NULL},
    {"server", CTX_STREAM_UPS, ARGS_1MORE, CUSTOM, ups_conf_set_server, NULL},
    {"least_conn", CTX_STREAM_UPS, ARGS(0), CUSTOM, ups_conf_set_least_conn, NULL},
    {"hash", CTX_STREAM_UPS, ARGS(1) | ARGS(2), CUSTOM, stream_set_hash, NULL},
    {"listen", CTX_STREAM_SRV, ARGS_1MORE, CUSTOM, stream_set_listen, NULL},
    {"proxy_pass", CTX_STREAM_SRV, ARGS(1), CUSTOM, stream_set_pass, NULL},
    {"proxy_connect_timeout", SS, ARGS(1), CT_MSEC, SS_F(connect_timeout), "60s", NULL, NULL},
    {"proxy_timeout", SS, ARGS(1), CT_MSEC, SS_F(timeout), "10m", NULL, NULL},
    {"proxy_buffer_size", SS, ARGS(1), CT_SIZE, SS_F(buffer_size), "16k", NULL, NULL},
    {"proxy_next_upstream", SS, ARGS(1), CT_FLAG, SS_F(next_upstream), "on", NULL, NULL},
    {"proxy_next_upstream_tries", SS, ARGS(1), CT_NUM, SS_F(next_upstream_tries), "0", NULL,
     &stream_tries_range},
    {"proxy_next_upstream_timeout", SS, ARGS(1), CT_MSEC, SS_F(next_upstream_timeout), "0", NULL,
     NULL},
    {"proxy_protocol", SS, ARGS(1), CT_FLAG, SS_F(proxy_protocol), "off", NULL, NULL},
    {"proxy_protocol_version", SS, ARGS(1), CT_ENUM, SS_F(pp_version), "1", NULL,
     stream_pp_versions},
    {"proxy_protocol_crc32c", SS, ARGS(1), CT_FLAG, SS_F(pp_crc32c), "off", NULL, NULL},
    {"proxy_protocol_unique_id", SS, ARGS(1), CT_FLAG, SS_F(pp_unique_id), "off", NULL, NULL},
    {"proxy_protocol_timeout", SS, ARGS(1), CT_MSEC, SS_F(pp_timeout), "30s", NULL, NULL},
    {"proxy_splice", SS, ARGS(1), CT_FLAG, SS_F(splice), "on", NULL, NULL},
    {"proxy_ssl", SS, ARGS(1), CT_FLAG, SS_F(proxy_ssl), "off", NULL, NULL},
    UPS_SSL_CMDS(SS, stream_set_ups_ssl),
    {"set_real_ip_from", SS, ARGS(1), CUSTOM, stream_set_real_ip_from, NULL},
};

struct module mod_stream = {
    .name = "stream",
    .cmds = stream_cmds,
    .ncmds = sizeof(stream_cmds) / sizeof(stream_cmds[0]),
    .finish = stream_finish,
    .worker_start = stream_worker_start,
    .worker_stop = stream_worker_stop,
};
