/* process_conf.c - env, working_directory, worker_priority,
 * timer_resolution and pcre_jit, with nginx's syntax and defaults.  The
 * worker applies the first four (procinit.c, worker.c); pcre_jit compiles
 * every regex of the configuration once it is read. */
#include "proc/process_conf.h"

#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_table.h"
#include "core/log.h"

static struct process_conf *process_get(struct conf_loader *cl)
{
    struct process_conf *pc = conf_mod(cl->conf, &mod_process);
    if (pc != NULL)
        return pc;
    if ((pc = mpool_calloc(cl->pool, sizeof(*pc))) == NULL)
        return NULL;
    pc->pcre_jit = -1;
    pc->priority = 0;
    pc->timer_resolution = -1;
    conf_set_mod(cl->conf, &mod_process, pc);
    return pc;
}

const struct process_conf *process_conf(const struct conf *c)
{
    static const struct process_conf none = {.pcre_jit = 0};
    const struct process_conf *pc = conf_mod(c, &mod_process);
    return pc != NULL ? pc : &none;
}

/* ---- env -------------------------------------------------------------------- */

static int conf_set_env(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    struct process_conf *pc = process_get(cl);
    char **slot = pc != NULL ? conf_push(cl->pool, &pc->env, &pc->nenv, sizeof(*slot)) : NULL;
    (void)cmd;
    if (slot == NULL || (*slot = mpool_strdup(cl->pool, n->args[1].s)) == NULL)
        return conf_err_nomem(cl, n);
    return 0;
}

/* The length of an entry's name ("NAME" or "NAME=value"). */
static size_t process_name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq != NULL ? (size_t)(eq - entry) : strlen(entry);
}

/* from's "NAME=..." for an entry, or NULL. */
static char *process_lookup(char **from, const char *name, size_t len)
{
    for (char **p = from; p != NULL && *p != NULL; p++)
        if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
            return *p;
    return NULL;
}

char **process_environment(const struct process_conf *pc, char **from)
{
    char **env = calloc(pc->nenv + 1, sizeof(*env));
    size_t n = 0;
    if (env == NULL)
        return NULL;
    for (size_t i = 0; i < pc->nenv; i++) {
        const char *e = pc->env[i];
        size_t len = process_name_len(e);
        char *v = e[len] == '=' ? pc->env[i] : process_lookup(from, e, len);
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strncmp(env[k], e, len) == 0 && env[k][len] == '=';
        if (v != NULL && !dup)
            env[n++] = v;
    }
    return env;
}

/* ---- the others ----------------------------------------------------------------- */

/* nginx's: an optional sign and a number (setpriority limits it). */
static int conf_set_worker_priority(struct conf_loader *cl, const struct conf_node *n,
                                    const struct conf_cmd *cmd)
{
    struct process_conf *pc = process_get(cl);
    const char *v = n->args[1].s;
    bool minus = v[0] == '-';
    long num;
    (void)cmd;
    if (pc == NULL)
        return conf_err_nomem(cl, n);
    if (conf_parse_num(v + (v[0] == '-' || v[0] == '+'), &num) < 0)
        return conf_err(cl, n, "invalid number \"%s\"", v);
    pc->priority = (int)(minus ? -num : num);
    return 0;
}

static int conf_set_working_directory(struct conf_loader *cl, const struct conf_node *n,
                                      const struct conf_cmd *cmd)
{
    struct process_conf *pc = process_get(cl);
    if (pc == NULL)
        return conf_err_nomem(cl, n);
    if (pc->working_directory != NULL)
        return conf_err_dup(cl, n, cmd);
    pc->working_directory = conf_full_path(cl->pool, cl->conf->paths.prefix, n->args[1].s);
    return pc->working_directory != NULL ? 0 : conf_err_nomem(cl, n);
}

static int conf_set_timer_resolution(struct conf_loader *cl, const struct conf_node *n,
                                     const struct conf_cmd *cmd)
{
    struct process_conf *pc = process_get(cl);
    if (pc == NULL)
        return conf_err_nomem(cl, n);
    if (pc->timer_resolution != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_msec(n->args[1].s, &pc->timer_resolution) < 0)
        return conf_err_value(cl, n, cmd, 1);
    return 0;
}

static int conf_set_pcre_jit(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct process_conf *pc = process_get(cl);
    if (pc == NULL)
        return conf_err_nomem(cl, n);
    if (pc->pcre_jit != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_flag(n->args[1].s, &pc->pcre_jit) < 0)
        return conf_err(cl, n,
                        "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or "
                        "\"off\"",
                        n->args[1].s, cmd->name);
    return 0;
}

/* pcre_jit on: every regex of the configuration, whatever module compiled
 * it, is JIT-compiled once, in the master, before the workers are forked
 * (nginx's ngx_regex_module_init).  A pattern the JIT cannot take keeps
 * working through the interpreter, with nginx's warning. */
static void process_jit(struct conf *c)
{
    for (size_t i = 0; i < c->nregexes; i++) {
        int rc = pcre2_jit_compile(c->regexes[i], PCRE2_JIT_COMPLETE);
        if (rc < 0)
            log_msg(LL_WARN, 0, 0, "pcre2_jit_compile() failed: %d, ignored", rc);
    }
}

/* TZ is always kept, as nginx adds it to the list itself. */
static int process_finish(struct conf_loader *cl)
{
    struct process_conf *pc = process_get(cl);
    if (pc == NULL) {
        snprintf(cl->err, cl->errlen, "out of memory");
        return -1;
    }
    char **slot = conf_push(cl->pool, &pc->env, &pc->nenv, sizeof(*slot));
    if (slot == NULL || (*slot = mpool_strdup(cl->pool, "TZ")) == NULL) {
        snprintf(cl->err, cl->errlen, "out of memory");
        return -1;
    }
    if (pc->timer_resolution == -1)
        pc->timer_resolution = 0;
    if (pc->pcre_jit == -1)
        pc->pcre_jit = 0;
    if (pc->pcre_jit)
        process_jit(cl->conf);
    return 0;
}

#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL

static const struct conf_cmd process_cmds[] = {
    {"env", CTX_MAIN, ARGS(1), CUSTOM, conf_set_env, NULL},
    {"working_directory", CTX_MAIN, ARGS(1), CUSTOM, conf_set_working_directory, NULL},
    {"worker_priority", CTX_MAIN, ARGS(1), CUSTOM, conf_set_worker_priority, NULL},
    {"timer_resolution", CTX_MAIN, ARGS(1), CUSTOM, conf_set_timer_resolution, NULL},
    {"pcre_jit", CTX_MAIN, ARGS(1), CUSTOM, conf_set_pcre_jit, NULL},
};

struct module mod_process = {
    .name = "process",
    .cmds = process_cmds,
    .ncmds = sizeof(process_cmds) / sizeof(process_cmds[0]),
    .finish = process_finish,
};
