/* static_conf.c - the static and index modules' descriptors. */
#include <string.h>

#include "conf/conf_table.h"
#include "handler/static.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"

static enum phase_rc static_precontent(struct req *r)
{
    if (r->loc->try_files == NULL)
        return PHASE_DECLINED;
    static_try_files(r);
    return PHASE_TAKEN;
}

static enum phase_rc static_content(struct req *r)
{
    static_handle(r);
    return PHASE_TAKEN;
}

static const struct http_hooks static_hooks = {
    .precontent = static_precontent,
    .content = static_content,
};

struct module mod_static = {
    .name = "http_static",
    .http = &static_hooks,
};

/* ---- index -------------------------------------------------------------- */

/* index names, with variables; only the last may be absolute (a URI
 * tried without a check, nginx's fallback). */
static int conf_set_index(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct index_loc *il = cl->part(cl, &mod_index);
    if (il->n != 0)
        return conf_err_dup(cl, n, cmd);
    if ((il->names = mpool_calloc(cl->pool, sizeof(*il->names) * (n->nargs - 1))) == NULL)
        return conf_err_nomem(cl, n);
    for (size_t i = 1; i < n->nargs; i++) {
        const char *a = n->args[i].s;
        if (n->args[i].len == 0)
            return conf_err(cl, n, "index \"%s\" in \"index\" directive is invalid", a);
        if (a[0] == '/' && i != n->nargs - 1)
            return conf_err(cl, n, "only the last index in \"index\" directive should be absolute");
        if (conf_cval(cl, n, &n->args[i], &il->names[i - 1]) < 0)
            return -1;
    }
    il->n = n->nargs - 1;
    return 0;
}

static void index_merge(const void *from, void *to)
{
    const struct index_loc *parent = from;
    struct index_loc *child = to;
    if (child->n == 0)
        *child = *parent;
}

static int index_defaults(struct conf_loader *cl, void *part)
{
    static const struct cval index_html = {.text = "index.html", .len = 10};
    struct index_loc *il = part;
    (void)cl;
    if (il->n == 0) {
        il->names = (struct cval *)&index_html;
        il->n = 1;
    }
    return 0;
}

static const struct conf_cmd index_cmds[] = {
    {"index", CTX_HTTP | CTX_SRV | CTX_LOC, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL,
     conf_set_index, NULL},
};

struct module mod_index = {
    .name = "http_index",
    .cmds = index_cmds,
    .ncmds = sizeof(index_cmds) / sizeof(index_cmds[0]),
    .part_size = sizeof(struct index_loc),
    .part_merge = index_merge,
    .part_defaults = index_defaults,
};
