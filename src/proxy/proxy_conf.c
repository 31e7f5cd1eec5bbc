/* proxy_conf.c - the proxy module's directives, with nginx's defaults,
 * inheritance and messages. */
#include "proxy/proxy_conf.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "proxy/proxy.h"
#include "proxy/proxy_vars.h"
#include "proxy/upstream.h"
#include "upstream/ups_conf.h"

#define PROXY_BUFFERS_NUM 8     /* nginx's proxy_buffers 8 4k|8k */
#define PROXY_BUFFERS_SIZE 4096 /* one memory page */

static struct proxy_loc *proxy_part(struct conf_loader *cl)
{
    return cl->part(cl, &mod_proxy);
}

/* The tree goes once the file is read: what stays is copied. */
static struct str proxy_arg_copy(struct conf_loader *cl, const struct conf_node *n, size_t i)
{
    char *s = mpool_strndup(cl->pool, n->args[i].s, n->args[i].len);
    return s != NULL ? str_make(s, n->args[i].len) : str_make(NULL, 0);
}

static struct str proxy_arg(const struct conf_node *n, size_t i)
{
    return str_make(n->args[i].s, n->args[i].len);
}

/* ---- proxy_pass ------------------------------------------------------------- */

static int proxy_url_error(struct conf_loader *cl, const struct conf_node *n, const char *err)
{
    const char *url = n->args[1].s;
    if (strcmp(err, "invalid URL prefix") == 0)
        return conf_err(cl, n, "invalid URL prefix in \"%s\"", url);
    return conf_err(cl, n, "%s in upstream \"%s\"", err, url + (url[4] == ':' ? 7 : 8));
}

/* The implicit group of "http://host:port", or the upstream block named
 * host (nginx's ngx_http_upstream_add). */
static int proxy_pass_group(struct conf_loader *cl, const struct conf_node *n,
                            struct proxy_pass *pp)
{
    const struct proxy_url *u = &pp->u;
    struct ups_groups *gs = upstream_groups(cl);
    char *name = u->unix_sock ? mpool_printf(cl->pool, "unix:%.*s", (int)u->host.len, u->host.p)
                              : mpool_strndup(cl->pool, u->host.p, u->host.len);
    if (gs == NULL || name == NULL)
        return conf_err_nomem(cl, n);
    unsigned port = u->has_port ? u->port : u->https ? PROXY_DEFAULT_TLS_PORT : 0;
    pp->group = ups_group_add(cl, n, gs, name, port, u->has_port, false);
    return pp->group != NULL ? 0 : -1;
}

/* nginx's proxy_redirect default: the proxy_pass URL becomes the
 * location's prefix (or "/" when the URL has no URI part). */
static int proxy_pass_default_redirect(struct conf_loader *cl, const struct conf_node *n,
                                       struct proxy_pass *pp)
{
    struct proxy_redirect *d = &pp->dflt;
    const char *url = n->args[1].s;
    char *from = pp->u.has_uri ? mpool_strdup(cl->pool, url) : mpool_printf(cl->pool, "%s/", url);
    struct str to = pp->u.has_uri ? pp->loc : STR_LIT("/");
    char err[128];
    if (from == NULL ||
        cval_compile(cl->pool, from, strlen(from), &d->from, err, sizeof(err)) < 0 ||
        cval_compile(cl->pool, to.p, to.len, &d->to, err, sizeof(err)) < 0)
        return conf_err_nomem(cl, n);
    return 0;
}

static int proxy_pass_static(struct conf_loader *cl, const struct conf_node *n,
                             const struct loc_conf *loc, struct proxy_pass *pp)
{
    const char *err;
    bool unnamed = loc->match == LM_REGEX || loc->match == LM_NAMED;
    struct str url = proxy_arg_copy(cl, n, 1); /* the URL's parts stay views of it */
    if (url.p == NULL)
        return conf_err_nomem(cl, n);
    if (proxy_url_parse(cl->pool, url, &pp->u, &err) < 0)
        return proxy_url_error(cl, n, err);
    if (pp->u.has_uri && unnamed)
        return conf_err(cl, n,
                        "\"proxy_pass\" cannot have URI part in location given by regular "
                        "expression, or inside named location, or inside \"if\" statement, or "
                        "inside \"limit_except\" block");
    pp->loc = unnamed ? STR_LIT("") : str_make(loc->name, loc->name_len);
    pp->host = proxy_url_host_header(cl->pool, &pp->u);
    char *port = pp->u.unix_sock ? "" : mpool_printf(cl->pool, "%u", pp->u.port);
    if (pp->host.p == NULL || port == NULL)
        return conf_err_nomem(cl, n);
    pp->port = str_make(port, strlen(port));
    if (proxy_pass_group(cl, n, pp) < 0)
        return -1;
    return proxy_pass_default_redirect(cl, n, pp);
}

static int proxy_set_pass(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct http_level *lv = http_level(cl);
    struct proxy_loc *pl = proxy_part(cl);
    struct proxy_pass *pp = mpool_calloc(cl->pool, sizeof(*pp));
    if (pl->pass != NULL || lv->loc->content != NULL)
        return conf_err_dup(cl, n, cmd);
    if (pp == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], &pp->url) < 0)
        return -1;
    pp->vars = pp->url.has_vars;
    if (!pp->vars && proxy_pass_static(cl, n, lv->loc, pp) < 0)
        return -1;
    pl->pass = pp;
    lv->loc->content = proxy_content;
    return 0;
}

/* ---- request headers ---------------------------------------------------------- */

static int proxy_set_header(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    struct str name = proxy_arg(n, 1);
    (void)cmd;
    /* The framing is turnpike's own: a body never goes with the client's
     * (or a configured) Content-Length or Transfer-Encoding. */
    if ((str_case_eq(name, "content-length") || str_case_eq(name, "transfer-encoding")) &&
        n->args[2].len > 0)
        return conf_err(cl, n,
                        "\"proxy_set_header %s\" can only be empty: turnpike frames the request "
                        "body itself",
                        n->args[1].s);
    struct proxy_set *s = conf_push(cl->pool, &pl->set, &pl->nset, sizeof(*s));
    if (s == NULL || (s->name = proxy_arg_copy(cl, n, 1)).p == NULL)
        return conf_err_nomem(cl, n);
    return conf_cval(cl, n, &n->args[2], &s->value);
}

static int proxy_set_method(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    struct cval *cv = mpool_calloc(cl->pool, sizeof(*cv));
    if (pl->method != NULL)
        return conf_err_dup(cl, n, cmd);
    if (cv == NULL)
        return conf_err_nomem(cl, n);
    pl->method = cv;
    return conf_cval(cl, n, &n->args[1], cv);
}

/* ---- response headers ---------------------------------------------------------- */

static int proxy_push_name(struct conf_loader *cl, const struct conf_node *n, struct str **list,
                           size_t *count)
{
    struct str *s = conf_push(cl->pool, list, count, sizeof(*s));
    if (s == NULL || (*s = proxy_arg_copy(cl, n, 1)).p == NULL)
        return conf_err_nomem(cl, n);
    return 0;
}

static int proxy_set_hide(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    (void)cmd;
    return proxy_push_name(cl, n, &pl->hide, &pl->nhide);
}

static int proxy_set_show(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    (void)cmd;
    return proxy_push_name(cl, n, &pl->show, &pl->nshow);
}

/* A list of words, each a bit (nginx's bitmask slots). */
static int proxy_set_bits(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd, const struct conf_enum *words, long *out)
{
    if (*out != -1)
        return conf_err_dup(cl, n, cmd);
    *out = 0;
    for (size_t i = 1; i < n->nargs; i++) {
        const struct conf_enum *w = words;
        while (w->name != NULL && strcasecmp(w->name, n->args[i].s) != 0)
            w++;
        if (w->name == NULL)
            return conf_err(cl, n, "invalid value \"%s\"", n->args[i].s);
        *out |= w->value;
    }
    return 0;
}

static const struct conf_enum proxy_ignore_words[] = {
    {"X-Accel-Redirect", PX_IGN_XA_REDIRECT},
    {"X-Accel-Expires", PX_IGN_XA_EXPIRES},
    {"X-Accel-Limit-Rate", PX_IGN_XA_LIMIT_RATE},
    {"X-Accel-Buffering", PX_IGN_XA_BUFFERING},
    {"X-Accel-Charset", PX_IGN_XA_CHARSET},
    {"Expires", PX_IGN_EXPIRES},
    {"Cache-Control", PX_IGN_CACHE_CONTROL},
    {"Set-Cookie", PX_IGN_SET_COOKIE},
    {"Vary", PX_IGN_VARY},
    {NULL, 0},
};

static int proxy_set_ignore(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    return proxy_set_bits(cl, n, cmd, proxy_ignore_words, &proxy_part(cl)->ignore);
}

#define PX_FT_OFF (1L << 30) /* "off": cleared once read */

static const struct conf_enum proxy_next_words[] = {
    {"error", PX_FT_ERROR},
    {"timeout", PX_FT_TIMEOUT},
    {"invalid_header", PX_FT_INVALID},
    {"http_500", PX_FT_500},
    {"http_502", PX_FT_502},
    {"http_503", PX_FT_503},
    {"http_504", PX_FT_504},
    {"http_403", PX_FT_403},
    {"http_404", PX_FT_404},
    {"http_429", PX_FT_429},
    {"non_idempotent", PX_FT_NON_IDEMPOTENT},
    {"off", PX_FT_OFF},
    {NULL, 0},
};

static int proxy_set_next(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    if (proxy_set_bits(cl, n, cmd, proxy_next_words, &pl->next_upstream) < 0)
        return -1;
    if (pl->next_upstream & PX_FT_OFF)
        pl->next_upstream = 0; /* nginx: off wins over anything beside it */
    return 0;
}

/* `proxy_redirect from to`: "~" or "~*" makes from a regex. */
static int proxy_redirect_rule(struct conf_loader *cl, const struct conf_node *n,
                               struct proxy_redirect *rd)
{
    const char *from = n->args[1].s;
    if (from[0] == '~') {
        bool caseless = from[1] == '*';
        if (conf_regex(cl, n, from + (caseless ? 2 : 1), caseless, &rd->regex) < 0)
            return -1;
    } else if (conf_cval(cl, n, &n->args[1], &rd->from) < 0) {
        return -1;
    }
    return conf_cval(cl, n, &n->args[2], &rd->to);
}

static int proxy_redirect_default(struct conf_loader *cl, const struct conf_node *n,
                                  struct proxy_redirect *rd)
{
    const struct proxy_pass *pp = proxy_part(cl)->pass;
    if (pp != NULL && pp->vars)
        return conf_err(cl, n,
                        "\"proxy_redirect default\" cannot be used with \"proxy_pass\" directive "
                        "with variables");
    if (pp == NULL)
        return conf_err(cl, n,
                        "\"proxy_redirect default\" should be placed after the \"proxy_pass\" "
                        "directive");
    *rd = pp->dflt;
    return 0;
}

static int proxy_set_redirect(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    bool one = n->nargs == 2;
    if (one && strcmp(n->args[1].s, "off") == 0) {
        if (pl->nredirects > 0 || pl->redirect != -1)
            return conf_err_dup(cl, n, cmd);
        pl->redirect = 0;
        return 0;
    }
    if (one && strcmp(n->args[1].s, "default") != 0)
        return conf_err_param(cl, n, n->args[1].s);
    if (pl->redirect == 0)
        return conf_err_dup(cl, n, cmd);
    pl->redirect = 1;
    struct proxy_redirect *rd = conf_push(cl->pool, &pl->redirects, &pl->nredirects, sizeof(*rd));
    if (rd == NULL)
        return conf_err_nomem(cl, n);
    return one ? proxy_redirect_default(cl, n, rd) : proxy_redirect_rule(cl, n, rd);
}

/* ---- buffers ---------------------------------------------------------------------- */

static int proxy_set_buffers(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    long num, size;
    if (pl->buffers_num != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_num(n->args[1].s, &num) < 0 || num == 0)
        return conf_err_value(cl, n, cmd, 1);
    if (conf_parse_size(n->args[2].s, &size) < 0 || size == 0)
        return conf_err_value(cl, n, cmd, 2);
    pl->buffers_num = num;
    pl->buffers_size = size;
    return 0;
}

/* Accepted only with the value turnpike implements, for drop-in configs. */
static int proxy_set_only(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd, long *field, long value, const char *why)
{
    long v;
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    int rc = cmd->type == CT_FLAG ? conf_parse_flag(n->args[1].s, &(int){0})
                                  : conf_parse_size(n->args[1].s, &v);
    if (rc < 0)
        return conf_err_value(cl, n, cmd, 1);
    if (cmd->type == CT_FLAG)
        v = strcmp(n->args[1].s, "on") == 0;
    if (v != value)
        return conf_err(cl, n, "\"%s %s\" is not supported: %s", cmd->name, n->args[1].s, why);
    *field = v;
    return 0;
}

static int proxy_set_max_temp(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    return proxy_set_only(cl, n, cmd, &proxy_part(cl)->max_temp_file_size, 0,
                          "responses are never buffered to a temporary file");
}

static int proxy_set_client_abort(struct conf_loader *cl, const struct conf_node *n,
                                  const struct conf_cmd *cmd)
{
    struct proxy_loc *pl = proxy_part(cl);
    long v = pl->ignore_client_abort;
    int rc = proxy_set_only(cl, n, cmd, &v, 0,
                            "a request whose client went away ends its upstream request");
    pl->ignore_client_abort = (int)v;
    return rc;
}

/* ---- levels ----------------------------------------------------------------------- */

static void proxy_part_init(void *part)
{
    struct proxy_loc *pl = part;
    pl->redirect = -1;
    pl->ignore = pl->next_upstream = -1;
    pl->buffers_num = pl->buffers_size = -1;
}

#define PROXY_INHERIT_LIST(c, p, list, count)                                                      \
    if ((c)->count == 0) {                                                                         \
        (c)->list = (p)->list;                                                                     \
        (c)->count = (p)->count;                                                                   \
    }

#define PROXY_INHERIT(c, p, field)                                                                 \
    if ((c)->field == -1)                                                                          \
    (c)->field = (p)->field

static void proxy_part_merge(const void *parent, void *child)
{
    const struct proxy_loc *p = parent;
    struct proxy_loc *c = child;
    PROXY_INHERIT_LIST(c, p, set, nset);
    PROXY_INHERIT_LIST(c, p, hide, nhide);
    PROXY_INHERIT_LIST(c, p, show, nshow);
    PROXY_INHERIT_LIST(c, p, redirects, nredirects);
    PROXY_INHERIT(c, p, redirect);
    PROXY_INHERIT(c, p, ignore);
    PROXY_INHERIT(c, p, next_upstream);
    if (c->buffers_num == -1) {
        c->buffers_num = p->buffers_num;
        c->buffers_size = p->buffers_size;
    }
    if (c->method == NULL)
        c->method = p->method;
}

static int proxy_part_defaults(struct conf_loader *cl, void *part)
{
    struct proxy_loc *pl = part;
    (void)cl;
    if (pl->redirect == -1)
        pl->redirect = 1;
    if (pl->ignore == -1)
        pl->ignore = 0;
    if (pl->next_upstream == -1)
        pl->next_upstream = PX_FT_ERROR | PX_FT_TIMEOUT;
    if (pl->buffers_num == -1) {
        pl->buffers_num = PROXY_BUFFERS_NUM;
        pl->buffers_size = PROXY_BUFFERS_SIZE;
    }
    return 0;
}

/* nginx's checks of the buffer sizes, made where they apply. */
static int proxy_check_buffers(struct conf_loader *cl, const struct loc_conf *loc)
{
    const struct proxy_loc *pl = proxy_loc_of(loc);
    long one = pl->buffer_size > pl->buffers_size ? pl->buffer_size : pl->buffers_size;
    struct conf_node at = {.file = (char *)loc->file, .line = loc->line};
    if (pl->buffers_num < 2)
        return conf_err(cl, &at, "there must be at least 2 \"proxy_buffers\"");
    if (pl->busy_buffers_size < one)
        return conf_err(cl, &at,
                        "\"proxy_busy_buffers_size\" must be equal to or greater than the maximum "
                        "of the value of \"proxy_buffer_size\" and one of the \"proxy_buffers\"");
    if (pl->busy_buffers_size > (pl->buffers_num - 1) * pl->buffers_size)
        return conf_err(cl, &at,
                        "\"proxy_busy_buffers_size\" must be less than the size of all "
                        "\"proxy_buffers\" minus one buffer");
    return 0;
}

static int proxy_check_locs(struct conf_loader *cl, struct loc_conf *const *locs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (proxy_check_buffers(cl, locs[i]) < 0 ||
            proxy_check_locs(cl, locs[i]->children, locs[i]->nchildren) < 0)
            return -1;
    return 0;
}

static int proxy_finish(struct conf_loader *cl)
{
    const struct http_conf *h = http_main(cl->conf);
    for (size_t i = 0; h != NULL && i < h->nservers; i++) {
        const struct srv_conf *s = h->servers[i];
        if (proxy_check_locs(cl, s->locs, s->nlocs) < 0 ||
            proxy_check_locs(cl, s->named, s->nnamed) < 0)
            return -1;
    }
    return 0;
}

#define PL_F(f) CS_PART, offsetof(struct proxy_loc, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_enum proxy_versions[] = {{"1.0", 10}, {"1.1", 11}, {NULL, 0}};
static const struct conf_enum proxy_pp_versions[] = {{"1", 1}, {"2", 2}, {NULL, 0}};

static const struct conf_cmd proxy_cmds[] = {
    {"proxy_pass", CTX_LOC, ARGS(1), CUSTOM, proxy_set_pass, NULL},
    {"proxy_set_header", HSL, ARGS(2), CUSTOM, proxy_set_header, NULL},
    {"proxy_pass_request_headers", HSL, ARGS(1), CT_FLAG, PL_F(pass_request_headers), "on", NULL,
     NULL},
    {"proxy_pass_request_body", HSL, ARGS(1), CT_FLAG, PL_F(pass_request_body), "on", NULL, NULL},
    {"proxy_http_version", HSL, ARGS(1), CT_ENUM, PL_F(http_version), "1.0", NULL, proxy_versions},
    {"proxy_method", HSL, ARGS(1), CUSTOM, proxy_set_method, NULL},
    {"proxy_hide_header", HSL, ARGS(1), CUSTOM, proxy_set_hide, NULL},
    {"proxy_pass_header", HSL, ARGS(1), CUSTOM, proxy_set_show, NULL},
    {"proxy_ignore_headers", HSL, ARGS_1MORE | ARGS_MANY, CUSTOM, proxy_set_ignore, NULL},
    {"proxy_redirect", HSL, ARGS(1) | ARGS(2), CUSTOM, proxy_set_redirect, NULL},
    {"proxy_intercept_errors", HSL, ARGS(1), CT_FLAG, PL_F(intercept_errors), "off", NULL, NULL},
    {"proxy_connect_timeout", HSL, ARGS(1), CT_MSEC, PL_F(connect_timeout), "60s", NULL, NULL},
    {"proxy_read_timeout", HSL, ARGS(1), CT_MSEC, PL_F(read_timeout), "60s", NULL, NULL},
    {"proxy_send_timeout", HSL, ARGS(1), CT_MSEC, PL_F(send_timeout), "60s", NULL, NULL},
    {"proxy_next_upstream", HSL, ARGS_1MORE | ARGS_MANY, CUSTOM, proxy_set_next, NULL},
    {"proxy_next_upstream_tries", HSL, ARGS(1), CT_NUM, PL_F(next_upstream_tries), "0", NULL, NULL},
    {"proxy_next_upstream_timeout", HSL, ARGS(1), CT_MSEC, PL_F(next_upstream_timeout), "0", NULL,
     NULL},
    {"proxy_buffering", HSL, ARGS(1), CT_FLAG, PL_F(buffering), "on", NULL, NULL},
    {"proxy_request_buffering", HSL, ARGS(1), CT_FLAG, PL_F(request_buffering), "on", NULL, NULL},
    {"proxy_buffer_size", HSL, ARGS(1), CT_SIZE, PL_F(buffer_size), "4k", NULL, NULL},
    {"proxy_buffers", HSL, ARGS(2), CUSTOM, proxy_set_buffers, NULL},
    {"proxy_busy_buffers_size", HSL, ARGS(1), CT_SIZE, PL_F(busy_buffers_size), "8k", NULL, NULL},
    {"proxy_max_temp_file_size", HSL, ARGS(1), CT_SIZE, PL_F(max_temp_file_size), "0",
     proxy_set_max_temp, NULL},
    {"proxy_ignore_client_abort", HSL, ARGS(1), CT_FLAG, PL_F(ignore_client_abort), "off",
     proxy_set_client_abort, NULL},
    /* turnpike's own, named as the stream proxy's: nginx's http proxy has none. */
    {"proxy_protocol", HSL, ARGS(1), CT_FLAG, PL_F(proxy_protocol), "off", NULL, NULL},
    {"proxy_protocol_version", HSL, ARGS(1), CT_ENUM, PL_F(pp_version), "1", NULL,
     proxy_pp_versions},
    {"proxy_protocol_crc32c", HSL, ARGS(1), CT_FLAG, PL_F(pp_crc32c), "off", NULL, NULL},
    {"proxy_protocol_unique_id", HSL, ARGS(1), CT_FLAG, PL_F(pp_unique_id), "off", NULL, NULL},
};

struct module mod_proxy = {
    .name = "http_proxy",
    .cmds = proxy_cmds,
    .ncmds = sizeof(proxy_cmds) / sizeof(proxy_cmds[0]),
    .part_size = sizeof(struct proxy_loc),
    .part_init = proxy_part_init,
    .part_merge = proxy_part_merge,
    .part_defaults = proxy_part_defaults,
    .finish = proxy_finish,
    .vars = proxy_vars,
    .nvars = PROXY_NVARS,
};
