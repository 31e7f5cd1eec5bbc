/* conf_table.c - the registry: directives found through the modules'
 * descriptors, and the modules' worker hooks called in order. */
#include "conf/conf_table.h"

#include <string.h>

void modules_init(void)
{
    for (size_t i = 0; i < nmodules; i++)
        modules[i]->index = (unsigned)i;
}

/* Several modules may define one name for different contexts (nginx's
 * `server` in http and in upstream, say): the entry for ctx wins. */
const struct conf_cmd *module_cmd_find(const char *name, unsigned ctx, const struct module **mod,
                                       bool *known)
{
    *known = false;
    for (size_t i = 0; i < nmodules; i++) {
        const struct module *m = modules[i];
        for (size_t j = 0; j < m->ncmds; j++) {
            if (strcmp(m->cmds[j].name, name) != 0)
                continue;
            *known = true;
            if ((m->cmds[j].ctx & ctx) != 0) {
                *mod = m;
                return &m->cmds[j];
            }
        }
    }
    return NULL;
}

int modules_master_open(struct conf *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < nmodules; i++)
        if (modules[i]->master_open != NULL && modules[i]->master_open(c, err, errlen) < 0)
            return -1;
    return 0;
}

int modules_worker_start(struct reactor *rx)
{
    for (size_t i = 0; i < nmodules; i++)
        if (modules[i]->worker_start != NULL && modules[i]->worker_start(rx) < 0)
            return -1;
    return 0;
}

typedef void (*module_worker_hook)(struct reactor *rx);

void modules_worker_each(struct reactor *rx, size_t hook_offset)
{
    for (size_t i = 0; i < nmodules; i++) {
        module_worker_hook hook;
        memcpy(&hook, (const char *)modules[i] + hook_offset, sizeof(hook));
        if (hook != NULL)
            hook(rx);
    }
}
