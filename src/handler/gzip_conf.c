/* gzip_conf.c - the gzip module's directives and its response filter. */
#include <string.h>

#include "conf/conf_table.h"
#include "handler/gzip.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/resp.h"

const struct gzip_loc *gzip_loc_of(const struct req *r)
{
    return loc_part(r->loc, &mod_gzip);
}

/* Every response passes here once before its head is made: one that is
 * worth compressing comes back through resp_send compressed. */
static enum filter_rc gzip_filter(struct req *r)
{
    if (r->gzip_done || r->loc == NULL || !gzip_wanted(r))
        return FILTER_NEXT;
    r->gzip_done = true;
    return gzip_response(r, resp_send) == 0 ? FILTER_TAKEN : FILTER_NEXT;
}

static int conf_set_gzip_types(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    struct gzip_loc *gz = cl->part(cl, &mod_gzip);
    if (gz->ntypes != 0 || gz->types_any)
        return conf_err_dup(cl, n, cmd);
    for (size_t i = 1; i < n->nargs; i++)
        if (strcmp(n->args[i].s, "*") == 0)
            gz->types_any = true;
    return conf_words(cl, n, &gz->types, &gz->ntypes);
}

static const struct conf_enum gzip_proxied_words[] = {
    {"off", GZP_OFF},           {"expired", GZP_EXPIRED},
    {"no-cache", GZP_NO_CACHE}, {"no-store", GZP_NO_STORE},
    {"private", GZP_PRIVATE},   {"no_last_modified", GZP_NO_LM},
    {"no_etag", GZP_NO_ETAG},   {"auth", GZP_AUTH},
    {"any", GZP_ANY},           {NULL, 0},
};

/* nginx's bitmask slot: any of the words, each once. */
static int conf_set_gzip_proxied(struct conf_loader *cl, const struct conf_node *n,
                                 const struct conf_cmd *cmd)
{
    struct gzip_loc *gz = cl->part(cl, &mod_gzip);
    if (gz->proxied != -1)
        return conf_err_dup(cl, n, cmd);
    gz->proxied = 0;
    for (size_t i = 1; i < n->nargs; i++) {
        const struct conf_enum *e = gzip_proxied_words;
        while (e->name != NULL && strcmp(e->name, n->args[i].s) != 0)
            e++;
        if (e->name == NULL || (gz->proxied & e->value))
            return conf_err(cl, n, "invalid value \"%s\"", n->args[i].s);
        gz->proxied |= e->value;
    }
    return 0;
}

/* gzip_disable: regexes matched case-insensitively against User-Agent,
 * and the word msie6.  nginx's "degradation" needs a module turnpike does
 * not have. */
static int conf_set_gzip_disable(struct conf_loader *cl, const struct conf_node *n,
                                 const struct conf_cmd *cmd)
{
    struct gzip_loc *gz = cl->part(cl, &mod_gzip);
    (void)cmd;
    gz->disable_set = true;
    for (size_t i = 1; i < n->nargs; i++) {
        const char *a = n->args[i].s;
        if (strcmp(a, "msie6") == 0) {
            gz->disable_msie6 = true;
            continue;
        }
        if (strcmp(a, "degradation") == 0)
            return conf_err(cl, n, "\"degradation\" in \"gzip_disable\" is not supported");
        struct pcre2_real_code_8 **slot =
            conf_push(cl->pool, &gz->disable, &gz->ndisable, sizeof(*slot));
        if (slot == NULL)
            return conf_err_nomem(cl, n);
        if (conf_regex(cl, n, a, true, slot) < 0)
            return -1;
    }
    return 0;
}

/* `gzip_buffers number size`: nginx's checks; the value sizes nothing
 * here (the whole body is compressed into one buffer). */
static int conf_set_gzip_buffers(struct conf_loader *cl, const struct conf_node *n,
                                 const struct conf_cmd *cmd)
{
    struct gzip_loc *gz = cl->part(cl, &mod_gzip);
    if (gz->buffers != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_num(n->args[1].s, &gz->buffers) < 0 || gz->buffers == 0 ||
        conf_parse_size(n->args[2].s, &gz->buffer_size) < 0 || gz->buffer_size == 0)
        return conf_err(cl, n, "invalid value \"%s %s\"", n->args[1].s, n->args[2].s);
    return 0;
}

static void gzip_init(void *part)
{
    struct gzip_loc *gz = part;
    gz->proxied = -1;
    gz->buffers = -1;
}

static void gzip_merge(const void *from, void *to)
{
    const struct gzip_loc *parent = from;
    struct gzip_loc *child = to;
    if (child->ntypes == 0 && !child->types_any) {
        child->types = parent->types;
        child->ntypes = parent->ntypes;
        child->types_any = parent->types_any;
    }
    if (child->proxied == -1)
        child->proxied = parent->proxied;
    if (!child->disable_set) {
        child->disable = parent->disable;
        child->ndisable = parent->ndisable;
        child->disable_msie6 = parent->disable_msie6;
    }
    if (child->buffers == -1) {
        child->buffers = parent->buffers;
        child->buffer_size = parent->buffer_size;
    }
}

static int gzip_defaults(struct conf_loader *cl, void *part)
{
    struct gzip_loc *gz = part;
    (void)cl;
    if (gz->proxied == -1)
        gz->proxied = GZP_OFF;
    if (gz->buffers == -1) {
        gz->buffers = 32;
        gz->buffer_size = 4096;
    }
    return 0;
}

#define GZ_F(f) CS_PART, offsetof(struct gzip_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_range gzip_levels = {1, 9};

static const struct conf_enum gzip_versions[] = {
    {"1.0", 10},
    {"1.1", 11},
    {NULL, 0},
};

static const struct conf_cmd gzip_cmds[] = {
    {"gzip", HSL, ARGS(1), CT_FLAG, GZ_F(gzip), "off", NULL, NULL},
    {"gzip_static", HSL, ARGS(1), CT_FLAG, GZ_F(gzip_static), "off", NULL, NULL},
    {"gzip_vary", HSL, ARGS(1), CT_FLAG, GZ_F(vary), "on", NULL, NULL},
    {"gzip_comp_level", HSL, ARGS(1), CT_NUM, GZ_F(comp_level), "1", NULL, &gzip_levels},
    {"gzip_min_length", HSL, ARGS(1), CT_SIZE, GZ_F(min_length), "20", NULL, NULL},
    {"gzip_types", HSL, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL, conf_set_gzip_types,
     NULL},
    {"gzip_http_version", HSL, ARGS(1), CT_ENUM, GZ_F(http_version), "1.1", NULL, gzip_versions},
    {"gzip_proxied", HSL, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL,
     conf_set_gzip_proxied, NULL},
    {"gzip_disable", HSL, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL,
     conf_set_gzip_disable, NULL},
    {"gzip_buffers", HSL, ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL, conf_set_gzip_buffers, NULL},
};

static void var_gzip_ratio(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = gzip_ratio(r);
}

static const struct var_def gzip_vars[] = {
    {"gzip_ratio", false, var_gzip_ratio},
};

static const struct http_hooks gzip_hooks = {.resp_filter = gzip_filter};

struct module mod_gzip = {
    .name = "http_gzip",
    .cmds = gzip_cmds,
    .ncmds = sizeof(gzip_cmds) / sizeof(gzip_cmds[0]),
    .part_size = sizeof(struct gzip_loc),
    .part_init = gzip_init,
    .part_merge = gzip_merge,
    .part_defaults = gzip_defaults,
    .http = &gzip_hooks,
    .vars = gzip_vars,
    .nvars = sizeof(gzip_vars) / sizeof(gzip_vars[0]),
};
