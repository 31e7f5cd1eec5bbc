/* conf_compat.c - main and events directives that stock nginx
 * configurations carry and turnpike has no use for: `load_module`, and the
 * events module's accept tuning.
 *
 * They are accepted so that such a configuration passes unchanged, and
 * their values are checked as nginx checks them, so a typo is still an
 * error.  Nothing else reads them: turnpike links every module it has, and
 * each worker accepts on its own SO_REUSEPORT socket, in batches, with no
 * accept mutex to tune. */
#include <string.h>

#include "conf/conf_table.h"

/* The module's main-level data: which directives were seen, so that a
 * repeated one is "duplicate" as in nginx. */
struct compat_main {
    unsigned seen; /* bit i: compat_cmds[i] was given */
};

/* What a compat entry's value must look like (its `post`). */
struct compat_value {
    enum conf_type type; /* CT_FLAG or CT_MSEC */
};

static const struct compat_value compat_flag = {CT_FLAG};
static const struct compat_value compat_msec = {CT_MSEC};

/* Marks cmd seen; -1 (with nginx's message) if it was already. */
static int compat_once(struct conf_loader *cl, const struct conf_node *n,
                       const struct conf_cmd *cmd)
{
    struct compat_main *m = conf_mod(cl->conf, &mod_compat);
    if (m == NULL && (m = mpool_calloc(cl->pool, sizeof(*m))) == NULL)
        return conf_err_nomem(cl, n);
    conf_set_mod(cl->conf, &mod_compat, m);
    unsigned bit = 1u << (cmd - mod_compat.cmds);
    if (m->seen & bit)
        return conf_err_dup(cl, n, cmd);
    m->seen |= bit;
    return 0;
}

/* load_module: every module turnpike has is built in, and the others do
 * not exist; a directive of such a module stays an unknown directive. */
static int compat_load_module(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    (void)cl;
    (void)cmd;
    conf_warn(n, "turnpike has no dynamic modules: \"load_module %s\" is ignored", n->args[1].s);
    return 0;
}

static int compat_set_value(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    const struct compat_value *v = cmd->post;
    int flag;
    long ms;
    if (compat_once(cl, n, cmd) < 0)
        return -1;
    if (v->type == CT_FLAG && conf_parse_flag(n->args[1].s, &flag) < 0)
        return conf_err(cl, n,
                        "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                        n->args[1].s, cmd->name);
    if (v->type == CT_MSEC && conf_parse_msec(n->args[1].s, &ms) < 0)
        return conf_err_value(cl, n, cmd, 1);
    return 0;
}

/* nginx names its event modules here; on Linux only epoll is what
 * turnpike runs on (libev's epoll backend). */
static int compat_use(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    if (compat_once(cl, n, cmd) < 0)
        return -1;
    if (strcmp(n->args[1].s, "epoll") != 0)
        return conf_err(cl, n, "invalid event type \"%s\": turnpike uses only \"epoll\"",
                        n->args[1].s);
    return 0;
}

#define VALUE(kind) CT_CUSTOM, CS_MAIN, 0, NULL, compat_set_value, &(kind)

/* compat_once keeps one bit per entry: at most 32. */
static const struct conf_cmd compat_cmds[] = {
    {"load_module", CTX_MAIN, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, compat_load_module, NULL},
    {"multi_accept", CTX_EVENTS, ARGS(1), VALUE(compat_flag)},
    {"accept_mutex", CTX_EVENTS, ARGS(1), VALUE(compat_flag)},
    {"accept_mutex_delay", CTX_EVENTS, ARGS(1), VALUE(compat_msec)},
    {"use", CTX_EVENTS, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, compat_use, NULL},
};

struct module mod_compat = {
    .name = "compat",
    .cmds = compat_cmds,
    .ncmds = sizeof(compat_cmds) / sizeof(compat_cmds[0]),
};
