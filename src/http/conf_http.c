/* conf_http.c - the http core module: http, server, location, listen,
 * server_name and the connection settings. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_table.h"

#ifndef TP_BODY_TEMP_PATH
#define TP_BODY_TEMP_PATH "client_body_temp"
#endif
#include "core/ofile.h"
#include "event/reactor.h"
#include "http/conf_files.h"
#include "http/conf_listen.h"
#include "http/core_conf.h"

static int conf_set_http(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    if (http_main(cl->conf) != NULL)
        return conf_err_dup(cl, n, cmd);
    struct http_conf *h = mpool_calloc(cl->pool, sizeof(*h));
    struct http_level *lv = mpool_calloc(cl->pool, sizeof(*lv));
    if (h == NULL || lv == NULL)
        return conf_err_nomem(cl, n);
    cl->level = lv;
    if ((h->loc = conf_loc_new(cl)) == NULL)
        return conf_err_nomem(cl, n);
    conf_set_mod(cl->conf, &mod_http_core, h);
    lv->loc = h->loc;
    int rc = conf_block(cl, n->child, CTX_HTTP);
    cl->level = NULL;
    return rc;
}

static int conf_set_server(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct http_conf *h = http_main(cl->conf);
    struct http_level *lv = http_level(cl);
    struct srv_conf **slot = conf_push(cl->pool, &h->servers, &h->nservers, sizeof(*slot));
    struct srv_conf *s = mpool_calloc(cl->pool, sizeof(*s));
    if (slot == NULL || s == NULL || (s->loc = conf_loc_new(cl)) == NULL)
        return conf_err_nomem(cl, n);
    *slot = s;
    s->file = conf_file_name(cl, n);
    s->line = n->line;
    lv->srv = s;
    lv->loc = s->loc;
    int rc = conf_block(cl, n->child, CTX_SRV);
    lv->srv = NULL;
    lv->loc = h->loc;
    return rc;
}

/* ---- location -------------------------------------------------------- */

/* Compiles a regex for a location or server name; nginx's error text. */
int conf_regex(struct conf_loader *cl, const struct conf_node *n, const char *re, bool caseless,
               struct pcre2_real_code_8 **out)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                     caseless ? PCRE2_CASELESS : 0, &errcode, &erroff, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        return conf_err(cl, n, "pcre2_compile() failed: %s in \"%s\" at \"%s\"", (char *)msg, re,
                        re + erroff);
    }
    /* The code lives as long as the configuration: freed with it. */
    if (conf_regex_keep(cl, code) < 0) {
        pcre2_code_free(code);
        return conf_err_nomem(cl, n);
    }
    *out = code;
    return 0;
}

/* Splits `location [mod] uri` into match kind and path. */
static int conf_location_kind(struct conf_loader *cl, const struct conf_node *n,
                              enum loc_match *kind, const char **path, bool *caseless)
{
    const char *mod = n->nargs == 3 ? n->args[1].s : NULL;
    const char *a = n->args[1].s;
    *kind = LM_PREFIX;
    *caseless = false;
    *path = n->args[n->nargs - 1].s;
    if (mod == NULL && a[0] == '=' && a[1] != '\0') {
        *kind = LM_EXACT;
        *path = a + 1;
        return 0;
    }
    if (mod == NULL && a[0] == '@') {
        *kind = LM_NAMED;
        return 0;
    }
    if (mod == NULL && a[0] == '~' && a[1] != '\0') {
        *kind = LM_REGEX;
        *caseless = a[1] == '*';
        *path = a + 1 + *caseless;
        return 0;
    }
    if (mod == NULL)
        return 0;
    if (strcmp(mod, "=") == 0)
        *kind = LM_EXACT;
    else if (strcmp(mod, "^~") == 0)
        *kind = LM_PREFIX_NOREGEX;
    else if (strcmp(mod, "~") == 0 || strcmp(mod, "~*") == 0) {
        *kind = LM_REGEX;
        *caseless = mod[1] == '*';
    } else
        return conf_err(cl, n, "invalid location modifier \"%s\"", mod);
    return 0;
}

/* nginx's rules for nesting, and no two locations alike at one level. */
static int conf_location_check(struct conf_loader *cl, const struct conf_node *n,
                               const struct loc_conf *loc, const struct loc_conf *parent,
                               struct loc_conf *const *list, size_t count)
{
    if (parent != NULL && parent->match == LM_EXACT)
        return conf_err(cl, n, "location \"%s\" cannot be inside the exact location \"%s\"",
                        loc->name, parent->name);
    if (parent != NULL && parent->match == LM_NAMED)
        return conf_err(cl, n, "location \"%s\" cannot be inside the named location \"%s\"",
                        loc->name, parent->name);
    if (loc->match == LM_NAMED && parent != NULL)
        return conf_err(cl, n, "named location \"%s\" can be on the server level only", loc->name);
    if (parent != NULL && parent->match == LM_EXACT)
        return conf_err(cl, n, "location \"%s\" cannot be inside the exact location \"%s\"",
                        loc->name, parent->name);
    if (parent != NULL && loc->match != LM_REGEX && parent->match != LM_REGEX &&
        strncmp(loc->name, parent->name, parent->name_len) != 0)
        return conf_err(cl, n, "location \"%s\" is outside location \"%s\"", loc->name,
                        parent->name);
    for (size_t i = 0; i < count; i++) {
        const struct loc_conf *o = list[i];
        if ((o->match == LM_EXACT) == (loc->match == LM_EXACT) &&
            (o->match == LM_REGEX) == (loc->match == LM_REGEX) && strcmp(o->name, loc->name) == 0)
            return conf_err(cl, n, "duplicate location \"%s\"", loc->name);
    }
    return 0;
}

static int conf_set_location(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct http_level *lv = http_level(cl);
    enum loc_match kind;
    const char *path;
    bool caseless;
    if (conf_location_kind(cl, n, &kind, &path, &caseless) < 0)
        return -1;
    struct loc_conf *loc = conf_loc_new(cl);
    if (loc == NULL)
        return conf_err_nomem(cl, n);
    loc->match = kind;
    loc->name = mpool_strdup(cl->pool, path);
    loc->name_len = strlen(path);
    loc->file = conf_file_name(cl, n);
    loc->line = n->line;
    if (kind == LM_REGEX && conf_regex(cl, n, path, caseless, &loc->regex) < 0)
        return -1;
    struct loc_conf *parent = cl->ctx == CTX_LOC ? lv->loc : NULL;
    struct loc_conf ***list = parent ? &parent->children : &lv->srv->locs;
    size_t *count = parent ? &parent->nchildren : &lv->srv->nlocs;
    if (kind == LM_NAMED && parent == NULL) {
        list = &lv->srv->named;
        count = &lv->srv->nnamed;
    }
    if (conf_location_check(cl, n, loc, parent, *list, *count) < 0)
        return -1;
    struct loc_conf **slot = conf_push(cl->pool, list, count, sizeof(*slot));
    if (slot == NULL)
        return conf_err_nomem(cl, n);
    *slot = loc;
    struct loc_conf *saved = lv->loc;
    lv->loc = loc;
    int rc = conf_block(cl, n->child, CTX_LOC);
    lv->loc = saved;
    return rc;
}

/* ---- listen ---------------------------------------------------------- */

static struct listen_conf *conf_listen_add(struct conf_loader *cl, const struct conf_node *n,
                                           const union sockaddr_any *a)
{
    struct srv_conf *s = http_level(cl)->srv;
    struct listen_conf *l = conf_push(cl->pool, &s->listens, &s->nlistens, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->addr = *a;
    sockaddr_text(a, true, l->text, sizeof(l->text));
    l->backlog = -1;
    listen_opts_init(&l->opts);
    l->file = conf_file_name(cl, n);
    l->line = n->line;
    return l;
}

static int conf_listen_param(struct conf_loader *cl, const struct conf_node *n, const char *p,
                             struct listen_conf *l)
{
    long v;
    int rc = conf_listen_opt(cl, n, p, &l->opts);
    if (rc != 0) {
        l->opts_set = true;
        return rc < 0 ? -1 : 0;
    }
    if (strcmp(p, "default_server") == 0 || strcmp(p, "default") == 0) {
        l->default_server = true;
    } else if (strcmp(p, "reuseport") == 0) {
        /* Every listen socket is SO_REUSEPORT, one per worker: accepted. */
    } else if (strncmp(p, "backlog=", 8) == 0) {
        if (conf_parse_num(p + 8, &v) < 0 || v < 1)
            return conf_err(cl, n, "invalid backlog \"%s\"", p + 8);
        l->backlog = (int)v;
    } else if (strcmp(p, "ssl") == 0) {
        l->ssl = true;
    } else if (strcmp(p, "proxy_protocol") == 0) {
        l->proxy_protocol = true;
    } else if (strcmp(p, "http2") == 0) {
        return conf_err(cl, n, "the \"%s\" parameter of \"listen\" is not supported yet", p);
    } else {
        return conf_err(cl, n, "invalid parameter \"%s\"", p);
    }
    return 0;
}

/* A listen address is nginx's: a unix socket every worker shares, or
 * each address of a host with its port (80 when left out). */
static int conf_set_listen(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct srv_conf *s = http_level(cl)->srv;
    union sockaddr_any addrs[16];
    const char *path;
    size_t first = s->nlistens;
    (void)cmd;
    int k = conf_listen_address(cl, n, 80, addrs, 16, &path);
    if (k < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        struct listen_conf *l = conf_listen_add(cl, n, &addrs[i]);
        if (l == NULL)
            return conf_err_nomem(cl, n);
        if (path != NULL) {
            l->path = (char *)path;
            snprintf(l->text, sizeof(l->text), "unix:%s", path);
        }
    }
    for (size_t i = first; i < s->nlistens; i++) {
        struct listen_conf *l = &s->listens[i];
        for (size_t j = 2; j < n->nargs; j++)
            if (conf_listen_param(cl, n, n->args[j].s, l) < 0)
                return -1;
        for (size_t j = 0; j < i; j++)
            if (listen_same(&s->listens[j].addr, s->listens[j].path, &l->addr, l->path))
                return conf_err(cl, n, "a duplicate listen %s", l->text);
    }
    return 0;
}

/* ---- server_name ------------------------------------------------------ */

static int conf_name_parse(struct conf_loader *cl, const struct conf_node *n, const char *text,
                           struct server_name *sn)
{
    size_t len = strlen(text);
    char *lower = mpool_strdup(cl->pool, text);
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)lower[i]);
    sn->text = mpool_strdup(cl->pool, text);
    sn->kind = NK_EXACT;
    sn->name = lower;
    sn->len = len;
    if (text[0] == '~') {
        sn->kind = NK_REGEX;
        if (text[1] == '\0')
            return conf_err(cl, n, "empty regex in server name \"%s\"", text);
        /* Host is lower-cased, so a pattern with capitals matches
         * case-insensitively, as in nginx. */
        bool caseless = strpbrk(text + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL;
        return conf_regex(cl, n, text + 1, caseless, &sn->regex);
    }
    if (strchr(text, '/') != NULL || (strchr(text, '*') && len < 2))
        return conf_err(cl, n, "server name \"%s\" is invalid", text);
    if (strncmp(lower, "*.", 2) == 0 || lower[0] == '.') {
        sn->kind = NK_WILD_HEAD;
        sn->dot_also_bare = lower[0] == '.';
        sn->name = lower + (lower[0] == '*'); /* keep the dot: ".example.com" */
        sn->len = strlen(sn->name);
    } else if (len > 2 && strcmp(lower + len - 2, ".*") == 0) {
        sn->kind = NK_WILD_TAIL;
        sn->len = len - 1; /* "www.example." */
        lower[sn->len] = '\0';
    }
    if (strchr(sn->name, '*') != NULL)
        return conf_err(cl, n, "invalid server name or wildcard \"%s\"", text);
    return 0;
}

static int conf_set_server_name(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd)
{
    struct srv_conf *s = http_level(cl)->srv;
    for (size_t i = 1; i < n->nargs; i++) {
        struct server_name *sn = conf_push(cl->pool, &s->names, &s->nnames, sizeof(*sn));
        if (sn == NULL)
            return conf_err_nomem(cl, n);
        if (conf_name_parse(cl, n, n->args[i].s, sn) < 0)
            return -1;
    }
    return 0;
}

/* ---- connection settings ------------------------------------------------ */

static int conf_set_keepalive_timeout(struct conf_loader *cl, const struct conf_node *n,
                                      const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    long header;
    if (loc->keepalive_timeout != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_msec(n->args[1].s, &loc->keepalive_timeout) < 0)
        return conf_err_value(cl, n, cmd, 1);
    if (n->nargs == 3) {
        /* nginx reads the header timeout in seconds: no "ms". */
        if (strstr(n->args[2].s, "ms") != NULL || conf_parse_msec(n->args[2].s, &header) < 0)
            return conf_err_value(cl, n, cmd, 2);
        loc->keepalive_header = header / 1000;
    }
    return 0;
}

/* `large_client_header_buffers number size`: a request line or a header
 * line may be up to size, the whole head up to number * size. */
static int conf_set_large_header_buffers(struct conf_loader *cl, const struct conf_node *n,
                                         const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    long num, size;
    if (loc->large_header_buffers != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_num(n->args[1].s, &num) < 0 || num < 1 || num > 1024)
        return conf_err_value(cl, n, cmd, 1);
    if (conf_parse_size(n->args[2].s, &size) < 0 || size < 16 || size > 1024 * 1024 / num)
        return conf_err_value(cl, n, cmd, 2);
    loc->large_header_buffers = num;
    loc->large_header_buffer_size = size;
    return 0;
}

/* ---- the module ---------------------------------------------------------- */

/* The master makes the body temporary directories, owned by the worker
 * user, as nginx does: a worker without privileges could not. */
static int conf_http_master_open(struct conf *c, char *err, size_t errlen)
{
    const struct http_conf *h = http_main(c);
    for (size_t i = 0; h != NULL && i < h->ntemp_paths; i++) {
        const char *path = h->temp_paths[i];
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
            return -1;
        }
        if (geteuid() == 0 && chown(path, c->uid, c->gid) < 0) {
            snprintf(err, errlen, "chown(\"%s\", %d) failed (%d: %s)", path, (int)c->uid, errno,
                     strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* The open file cache is the worker's, sized for the largest location. */
static int conf_http_worker_start(struct reactor *rx)
{
    const struct http_conf *h = http_main(rx->conf);
    ofile_cache_init(h != NULL ? h->open_file_cache_max : 0);
    return 0;
}

static void conf_http_worker_stop(struct reactor *rx)
{
    (void)rx;
    ofile_cache_destroy();
}

static void conf_http_part_init(void *part)
{
    struct loc_conf *loc = part;
    loc->keepalive_header = -1;
    loc->large_header_buffer_size = -1;
    loc->alias = -1;
    loc->open_file_cache_max = -1;
    loc->open_file_cache_inactive = -1;
}

/* Fields set together with a table field follow it; lists are inherited
 * as a whole. */
static void conf_http_part_merge(const void *from, void *to)
{
    const struct loc_conf *parent = from;
    struct loc_conf *child = to;
    if (child->keepalive_timeout == -1)
        child->keepalive_header = parent->keepalive_header;
    if (child->large_header_buffers == -1)
        child->large_header_buffer_size = parent->large_header_buffer_size;
    if (child->client_body_temp_path == NULL)
        child->client_body_temp_path = parent->client_body_temp_path;
    conf_files_merge(parent, child);
}

static int conf_http_part_defaults(struct conf_loader *cl, void *part)
{
    struct loc_conf *loc = part;
    if (loc->large_header_buffer_size == -1)
        loc->large_header_buffer_size = 8192;
    if (loc->client_body_temp_path == NULL &&
        (loc->client_body_temp_path =
             conf_full_path(cl->pool, cl->conf->paths.prefix, TP_BODY_TEMP_PATH)) == NULL)
        return -1;
    return conf_files_defaults(cl, loc);
}

static int conf_set_body_temp_path(struct conf_loader *cl, const struct conf_node *n,
                                   const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (loc->client_body_temp_path != NULL)
        return conf_err_dup(cl, n, cmd);
    if (n->nargs > 2)
        return conf_err(cl, n, "\"%s\" levels are not supported", cmd->name);
    loc->client_body_temp_path = conf_full_path(cl->pool, cl->conf->paths.prefix, n->args[1].s);
    return loc->client_body_temp_path != NULL ? 0 : conf_err_nomem(cl, n);
}

/* server_tokens: nginx's words (build adds configure's build name). */
static const struct conf_enum conf_server_tokens_words[] = {
    {"off", 0},
    {"on", 1},
    {"build", 2},
    {NULL, 0},
};

#define LOC_F(f) CS_PART, offsetof(struct loc_conf, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd http_core_cmds[] = {
    {"http", CTX_MAIN, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_http, NULL},
    {"server", CTX_HTTP, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_server, NULL},
    {"location", CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2) | ARGS_BLOCK, CUSTOM, conf_set_location,
     NULL},
    {"listen", CTX_SRV, ARGS_1MORE, CUSTOM, conf_set_listen, NULL},
    {"server_name", CTX_SRV, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_server_name, NULL},
    {"default_type", HSL, ARGS(1), CT_STR, LOC_F(default_type), "text/plain", NULL, NULL},
    {"keepalive_timeout", HSL, ARGS(1) | ARGS(2), CT_MSEC, LOC_F(keepalive_timeout), "75s",
     conf_set_keepalive_timeout, NULL},
    {"keepalive_requests", HSL, ARGS(1), CT_NUM, LOC_F(keepalive_requests), "1000", NULL, NULL},
    {"send_timeout", HSL, ARGS(1), CT_MSEC, LOC_F(send_timeout), "60s", NULL, NULL},
    {"client_header_timeout", CTX_HTTP | CTX_SRV, ARGS(1), CT_MSEC, LOC_F(client_header_timeout),
     "60s", NULL, NULL},
    {"client_body_timeout", HSL, ARGS(1), CT_MSEC, LOC_F(client_body_timeout), "60s", NULL, NULL},
    {"client_header_buffer_size", CTX_HTTP | CTX_SRV, ARGS(1), CT_SIZE,
     LOC_F(client_header_buffer_size), "1k", NULL, NULL},
    {"large_client_header_buffers", CTX_HTTP | CTX_SRV, ARGS(2), CT_NUM,
     LOC_F(large_header_buffers), "4", conf_set_large_header_buffers, NULL},
    {"client_max_body_size", HSL, ARGS(1), CT_SIZE, LOC_F(client_max_body_size), "1m", NULL, NULL},
    {"client_body_buffer_size", HSL, ARGS(1), CT_SIZE, LOC_F(client_body_buffer_size), "16k", NULL,
     NULL},
    {"client_body_temp_path", HSL, ARGS(1) | ARGS(2) | ARGS(3) | ARGS(4), CUSTOM,
     conf_set_body_temp_path, NULL},
    {"server_tokens", HSL, ARGS(1), CT_ENUM, LOC_F(server_tokens), "on", NULL,
     conf_server_tokens_words},
    {"absolute_redirect", HSL, ARGS(1), CT_FLAG, LOC_F(absolute_redirect), "on", NULL, NULL},
    {"port_in_redirect", HSL, ARGS(1), CT_FLAG, LOC_F(port_in_redirect), "on", NULL, NULL},
    {"root", HSL, ARGS(1), CUSTOM, conf_set_root, NULL},
    {"alias", CTX_LOC, ARGS(1), CUSTOM, conf_set_alias, NULL},
    {"try_files", CTX_SRV | CTX_LOC, (ARGS_1MORE & ~ARGS(1)) | ARGS_MANY, CUSTOM,
     conf_set_try_files, NULL},
    {"error_page", HSL, (ARGS_1MORE & ~ARGS(1)) | ARGS_MANY, CUSTOM, conf_set_error_page, NULL},
    {"add_header", HSL, ARGS(2) | ARGS(3), CUSTOM, conf_set_add_header, NULL},
    {"types", HSL, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_types, NULL},
    {"disable_symlinks", HSL, ARGS(1), CT_FLAG, LOC_F(disable_symlinks), "off", NULL, NULL},
    {"sendfile", HSL, ARGS(1), CT_FLAG, LOC_F(sendfile), "off", NULL, NULL},
    {"tcp_nopush", HSL, ARGS(1), CT_FLAG, LOC_F(tcp_nopush), "off", NULL, NULL},
    {"tcp_nodelay", HSL, ARGS(1), CT_FLAG, LOC_F(tcp_nodelay), "on", NULL, NULL},
    {"etag", HSL, ARGS(1), CT_FLAG, LOC_F(etag), "on", NULL, NULL},
    {"if_modified_since", HSL, ARGS(1), CT_ENUM, LOC_F(if_modified_since), "exact", NULL,
     conf_ims_words},
    {"max_ranges", HSL, ARGS(1), CT_NUM, LOC_F(max_ranges), NULL, NULL, NULL},
    {"open_file_cache", HSL, ARGS(1) | ARGS(2), CUSTOM, conf_set_open_file_cache, NULL},
    {"open_file_cache_valid", HSL, ARGS(1), CT_MSEC, LOC_F(open_file_cache_valid), "60s", NULL,
     NULL},
};

struct module mod_http_core = {
    .name = "http_core",
    .cmds = http_core_cmds,
    .ncmds = sizeof(http_core_cmds) / sizeof(http_core_cmds[0]),
    .part_init = conf_http_part_init,
    .part_merge = conf_http_part_merge,
    .part_defaults = conf_http_part_defaults,
    .finish = conf_ports_finish,
    .master_open = conf_http_master_open,
    .worker_start = conf_http_worker_start,
    .worker_stop = conf_http_worker_stop,
};
