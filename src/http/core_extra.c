/* core_extra.c - the module of core_extra.h: its directive table, and
 * aio, which only checks its value (turnpike's file work always goes
 * through the thread pool, nginx's "aio threads"). */
#include "http/core_extra.h"

#include <string.h>

#include "conf/conf_table.h"

/* `aio threads[=pool] | off`: what turnpike does anyway, or the default
 * (which changes nothing: the pool is not optional here).  Kernel AIO
 * (`aio on`) has no equivalent. */
static int conf_set_aio(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    const char *v = n->args[1].s;
    if (strcmp(v, "threads") == 0 || strcmp(v, "threads=default") == 0 || strcmp(v, "off") == 0)
        return 0;
    if (strncmp(v, "threads=", 8) == 0)
        return conf_err(cl, n, "thread pool \"%s\" is not supported, only \"default\"", v + 8);
    if (strcmp(v, "on") == 0)
        return conf_err(cl, n,
                        "\"aio on\" is not supported: turnpike reads files through its thread "
                        "pool, use \"aio threads\"");
    return conf_err_value(cl, n, cmd, 1);
}

#define EX_F(f) CS_PART, offsetof(struct http_extra, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd extra_cmds[] = {
    {"log_not_found", HSL, ARGS(1), CT_FLAG, EX_F(log_not_found), "on", NULL, NULL},
    {"server_name_in_redirect", HSL, ARGS(1), CT_FLAG, EX_F(server_name_in_redirect), "off", NULL,
     NULL},
    {"merge_slashes", CTX_HTTP | CTX_SRV, ARGS(1), CT_FLAG, EX_F(merge_slashes), "on", NULL, NULL},
    {"recursive_error_pages", HSL, ARGS(1), CT_FLAG, EX_F(recursive_error_pages), "off", NULL,
     NULL},
    {"open_file_cache_errors", HSL, ARGS(1), CT_FLAG, EX_F(open_file_cache_errors), "off", NULL,
     NULL},
    {"open_file_cache_min_uses", HSL, ARGS(1), CT_NUM, EX_F(open_file_cache_min_uses), "1", NULL,
     NULL},
    {"sendfile_max_chunk", HSL, ARGS(1), CT_SIZE, EX_F(sendfile_max_chunk), "2m", NULL, NULL},
    {"reset_timedout_connection", HSL, ARGS(1), CT_FLAG, EX_F(reset_timedout_connection), "off",
     NULL, NULL},
    {"aio", HSL, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, conf_set_aio, NULL},
};

struct module mod_http_extra = {
    .name = "http_core_extra",
    .cmds = extra_cmds,
    .ncmds = sizeof(extra_cmds) / sizeof(extra_cmds[0]),
    .part_size = sizeof(struct http_extra),
};
