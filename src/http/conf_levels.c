/* conf_levels.c - http, server and location levels: each module's part
 * created, inherited and defaulted, nginx's merge done once at load time. */
#include <string.h>

#include "conf/conf_table.h"
#include "http/core_conf.h"

struct http_level *http_level(struct conf_loader *cl)
{
    return cl->level;
}

/* The http context's part lookup: the core module's part is the level
 * itself, every other module's is in parts[]. */
static void *conf_levels_part(struct conf_loader *cl, const struct module *m)
{
    struct loc_conf *loc = http_level(cl)->loc;
    return m == &mod_http_core ? (void *)loc : loc_part(loc, m);
}

static bool conf_levels_http_module(const struct module *m)
{
    return m == &mod_http_core || m->part_size > 0;
}

struct loc_conf *conf_loc_new(struct conf_loader *cl)
{
    struct loc_conf *loc = mpool_calloc(cl->pool, sizeof(*loc));
    if (loc == NULL || (loc->parts = mpool_calloc(cl->pool, sizeof(void *) * nmodules)) == NULL)
        return NULL;
    cl->part = conf_levels_part;
    for (size_t i = 0; i < nmodules; i++) {
        const struct module *m = modules[i];
        void *part = m == &mod_http_core ? loc : mpool_calloc(cl->pool, m->part_size);
        if (!conf_levels_http_module(m))
            continue;
        if (part == NULL)
            return NULL;
        loc->parts[i] = part;
        conf_part_unset(m, part);
        if (m->part_init != NULL)
            m->part_init(part);
    }
    return loc;
}

void conf_loc_merge(const struct loc_conf *parent, struct loc_conf *child)
{
    for (size_t i = 0; i < nmodules; i++) {
        const struct module *m = modules[i];
        if (!conf_levels_http_module(m))
            continue;
        /* Custom merges first: fields set together with a generic one
         * must see it still unset. */
        if (m->part_merge != NULL)
            m->part_merge(parent->parts[i], child->parts[i]);
        conf_part_inherit(m, parent->parts[i], child->parts[i]);
    }
}

int conf_loc_defaults(struct conf_loader *cl, struct loc_conf *loc)
{
    for (size_t i = 0; i < nmodules; i++) {
        const struct module *m = modules[i];
        if (conf_levels_http_module(m) && conf_part_defaults(cl, m, loc->parts[i]) < 0)
            return -1;
    }
    return 0;
}
