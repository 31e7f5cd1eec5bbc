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

static void gzip_merge(const void *from, void *to)
{
    const struct gzip_loc *parent = from;
    struct gzip_loc *child = to;
    if (child->ntypes == 0 && !child->types_any) {
        child->types = parent->types;
        child->ntypes = parent->ntypes;
        child->types_any = parent->types_any;
    }
}

#define GZ_F(f) CS_PART, offsetof(struct gzip_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_range gzip_levels = {1, 9};

static const struct conf_cmd gzip_cmds[] = {
    {"gzip", HSL, ARGS(1), CT_FLAG, GZ_F(gzip), "off", NULL, NULL},
    {"gzip_static", HSL, ARGS(1), CT_FLAG, GZ_F(gzip_static), "off", NULL, NULL},
    {"gzip_vary", HSL, ARGS(1), CT_FLAG, GZ_F(vary), "on", NULL, NULL},
    {"gzip_comp_level", HSL, ARGS(1), CT_NUM, GZ_F(comp_level), "1", NULL, &gzip_levels},
    {"gzip_min_length", HSL, ARGS(1), CT_SIZE, GZ_F(min_length), "20", NULL, NULL},
    {"gzip_types", HSL, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL, conf_set_gzip_types,
     NULL},
};

static const struct http_hooks gzip_hooks = {.resp_filter = gzip_filter};

struct module mod_gzip = {
    .name = "http_gzip",
    .cmds = gzip_cmds,
    .ncmds = sizeof(gzip_cmds) / sizeof(gzip_cmds[0]),
    .part_size = sizeof(struct gzip_loc),
    .part_merge = gzip_merge,
    .http = &gzip_hooks,
};
