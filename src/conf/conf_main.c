/* conf_main.c - the core and events modules: main-context directives. */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_table.h"
#include "core/syslog.h"

/* configure sets it: relative (under the prefix) unless told where state lives. */
#ifndef TP_PID_PATH
#define TP_PID_PATH "logs/turnpike.pid"
#endif

#define CONF_MAX_WORKERS 1024
#define CONF_CPU_BITS (8 * sizeof(unsigned long))

static int conf_set_user(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct conf *c = cl->conf;
    if (c->user != NULL)
        return conf_err_dup(cl, n, cmd);
    c->user = mpool_strdup(cl->pool, n->args[1].s);
    c->group = n->nargs == 3 ? mpool_strdup(cl->pool, n->args[2].s) : NULL;
    /* Resolve now so `-t` catches a missing user, as nginx does. */
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam(c->user);
    if (pw == NULL)
        return conf_err(cl, n, "getpwnam(\"%s\") failed", c->user);
    c->uid = pw->pw_uid;
    c->gid = pw->pw_gid;
    if (c->group != NULL) {
        struct group *gr = getgrnam(c->group);
        if (gr == NULL)
            return conf_err(cl, n, "getgrnam(\"%s\") failed", c->group);
        c->gid = gr->gr_gid;
    }
    return 0;
}

static int conf_set_worker_processes(struct conf_loader *cl, const struct conf_node *n,
                                     const struct conf_cmd *cmd)
{
    struct conf *c = cl->conf;
    long v;
    if (c->worker_processes != -2)
        return conf_err_dup(cl, n, cmd);
    if (strcmp(n->args[1].s, "auto") == 0) {
        c->worker_processes = -1;
        return 0;
    }
    if (conf_parse_num(n->args[1].s, &v) < 0 || v < 1 || v > CONF_MAX_WORKERS)
        return conf_err_value(cl, n, cmd, 1);
    c->worker_processes = v;
    return 0;
}

/* "0101": rightmost character is CPU 0. */
static int conf_cpu_mask(const char *s, unsigned long *out)
{
    size_t len = strlen(s);
    unsigned long m = 0;
    if (len == 0 || len > CONF_CPU_BITS)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '0' && s[i] != '1')
            return -1;
        if (s[i] == '1')
            m |= 1UL << (len - 1 - i);
    }
    if (m == 0)
        return -1;
    *out = m;
    return 0;
}

static int conf_set_cpu_affinity(struct conf_loader *cl, const struct conf_node *n,
                                 const struct conf_cmd *cmd)
{
    struct conf *c = cl->conf;
    size_t first = 1;
    if (c->cpu_affinity_auto != -1)
        return conf_err_dup(cl, n, cmd);
    c->cpu_affinity_auto = strcmp(n->args[1].s, "auto") == 0;
    if (c->cpu_affinity_auto) {
        if (n->nargs > 3)
            return conf_err(cl, n, "invalid number of arguments in \"%s\" directive", cmd->name);
        first = 2;
    }
    c->ncpu_masks = n->nargs - first;
    c->cpu_masks = mpool_calloc(cl->pool, sizeof(unsigned long) * (c->ncpu_masks + 1));
    for (size_t i = first; i < n->nargs; i++) {
        if (conf_cpu_mask(n->args[i].s, &c->cpu_masks[i - first]) < 0)
            return conf_err(cl, n, "invalid character \"%s\" in \"%s\" directive", n->args[i].s,
                            cmd->name);
    }
    return 0;
}

int conf_log_sink(struct conf_loader *cl, const struct conf_node *n, struct log_sink *s)
{
    const char *file = n->args[1].s;
    char msg[256];
    s->level = LL_ERR;
    if (n->nargs == 3 && log_level_parse(n->args[2].s, &s->level) < 0)
        return conf_err(cl, n, "invalid log level \"%s\"", n->args[2].s);
    if (strncmp(file, "memory:", 7) == 0)
        return conf_err(cl, n, "\"%s\" destination \"%s\" is not supported", n->args[0].s, file);
    if (strncmp(file, "syslog:", 7) == 0) {
        struct syslog_dest *d = mpool_calloc(cl->pool, sizeof(*d));
        if (d == NULL)
            return conf_err_nomem(cl, n);
        if (syslog_parse(file + 7, d, msg, sizeof(msg)) < 0)
            return conf_err(cl, n, "%s", msg);
        s->syslog = d;
        return 0;
    }
    if (strcmp(file, "stderr") == 0)
        return 0;
    s->path = conf_full_path(cl->pool, cl->conf->paths.prefix, file);
    return s->path != NULL ? 0 : conf_err_nomem(cl, n);
}

static int conf_set_error_log(struct conf_loader *cl, const struct conf_node *n,
                              const struct conf_cmd *cmd)
{
    struct conf *c = cl->conf;
    if (c->nerror_logs == LOG_MAX_SINKS)
        return conf_err(cl, n, "too many \"%s\" directives", cmd->name);
    if (conf_log_sink(cl, n, &c->error_logs[c->nerror_logs]) < 0)
        return -1;
    c->nerror_logs++;
    return 0;
}

/* `thread_pool default threads=N [max_queue=N]`, nginx's syntax.  One pool
 * per worker serves everything, so only "default" can be named. */
static int conf_set_thread_pool(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd)
{
    struct conf *c = cl->conf;
    if (strcmp(n->args[1].s, "default") != 0)
        return conf_err(cl, n, "thread pool \"%s\" is not supported, only \"default\"",
                        n->args[1].s);
    if (c->thread_pool_threads != -1)
        return conf_err(cl, n, "duplicate thread pool \"%s\"", n->args[1].s);
    for (size_t i = 2; i < n->nargs; i++) {
        const char *a = n->args[i].s;
        long v;
        if (strncmp(a, "threads=", 8) == 0 && conf_parse_num(a + 8, &v) == 0 && v >= 1 && v <= 512)
            c->thread_pool_threads = v;
        else if (strncmp(a, "max_queue=", 10) == 0 && conf_parse_num(a + 10, &v) == 0 && v >= 1)
            c->thread_pool_max_queue = v;
        else
            return conf_err(cl, n, "invalid parameter \"%s\"", a);
    }
    if (c->thread_pool_threads == -1)
        return conf_err(cl, n, "\"%s\" must have \"threads\" parameter", cmd->name);
    return 0;
}

static int conf_set_events(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    if (cl->conf->events_seen)
        return conf_err_dup(cl, n, cmd);
    cl->conf->events_seen = 1;
    return conf_block(cl, n->child, CTX_EVENTS);
}

static int conf_set_path(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct conf *c = cl->conf;
    if (c->pid != NULL)
        return conf_err_dup(cl, n, cmd);
    c->pid = conf_full_path(cl->pool, c->paths.prefix, n->args[1].s);
    return 0;
}

static int conf_default_user(struct conf_loader *cl)
{
    struct conf *c = cl->conf;
    if (c->user != NULL || geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        snprintf(cl->err, cl->errlen, "getpwnam(\"nobody\") failed for the default user");
        return -1;
    }
    c->user = mpool_strdup(cl->pool, "nobody");
    c->uid = pw->pw_uid;
    c->gid = pw->pw_gid;
    return 0;
}

static unsigned conf_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > CONF_MAX_WORKERS ? CONF_MAX_WORKERS : (unsigned)n;
}

static int conf_main_finish(struct conf_loader *cl)
{
    struct conf *c = cl->conf;
    if (!c->events_seen) {
        snprintf(cl->err, cl->errlen, "no \"events\" section in configuration");
        return -1;
    }
    if (c->worker_processes == -2)
        c->worker_processes = 1;
    c->nworkers = c->worker_processes == -1 ? conf_online_cpus() : (unsigned)c->worker_processes;
    if (!c->master_process)
        c->nworkers = 1;
    if (c->nerror_logs == 0) {
        const char *e = c->paths.error_log;
        c->error_logs[0].level = LL_ERR;
        c->error_logs[0].path =
            strcmp(e, "stderr") == 0 ? NULL : conf_full_path(cl->pool, c->paths.prefix, e);
        c->nerror_logs = 1;
    }
    if (c->pid == NULL)
        c->pid = conf_full_path(cl->pool, c->paths.prefix, TP_PID_PATH);
    if (c->thread_pool_threads == -1)
        c->thread_pool_threads = 4;
    if (c->thread_pool_max_queue == -1)
        c->thread_pool_max_queue = 65536;
    if (c->worker_connections < 1) {
        snprintf(cl->err, cl->errlen, "\"worker_connections\" must be at least 1");
        return -1;
    }
    return conf_default_user(cl);
}

#define MAIN_F(f) CS_MAIN, offsetof(struct conf, f)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL

static const struct conf_cmd core_cmds[] = {
    {"daemon", CTX_MAIN, ARGS(1), CT_FLAG, MAIN_F(daemon), "on", NULL, NULL},
    {"error_log", CTX_MAIN, ARGS(1) | ARGS(2), CUSTOM, conf_set_error_log, NULL},
    {"include", CTX_ANY, ARGS(1), CT_PARSER, CS_MAIN, 0, NULL, NULL, NULL},
    {"master_process", CTX_MAIN, ARGS(1), CT_FLAG, MAIN_F(master_process), "on", NULL, NULL},
    {"pid", CTX_MAIN, ARGS(1), CUSTOM, conf_set_path, NULL},
    {"thread_pool", CTX_MAIN, ARGS(2) | ARGS(3), CUSTOM, conf_set_thread_pool, NULL},
    {"user", CTX_MAIN, ARGS(1) | ARGS(2), CUSTOM, conf_set_user, NULL},
    {"worker_cpu_affinity", CTX_MAIN, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_cpu_affinity, NULL},
    {"worker_processes", CTX_MAIN, ARGS(1), CUSTOM, conf_set_worker_processes, NULL},
    {"worker_rlimit_nofile", CTX_MAIN, ARGS(1), CT_NUM, MAIN_F(worker_rlimit_nofile), NULL, NULL,
     NULL},
    {"worker_shutdown_timeout", CTX_MAIN, ARGS(1), CT_MSEC, MAIN_F(worker_shutdown_timeout), "0",
     NULL, NULL},
    {"events", CTX_MAIN, ARGS(0) | ARGS_BLOCK, CUSTOM, conf_set_events, NULL},
};

struct module mod_core = {
    .name = "core",
    .cmds = core_cmds,
    .ncmds = sizeof(core_cmds) / sizeof(core_cmds[0]),
    .finish = conf_main_finish,
};

static const struct conf_cmd events_cmds[] = {
    {"worker_connections", CTX_EVENTS, ARGS(1), CT_NUM, MAIN_F(worker_connections), "512", NULL,
     NULL},
};

struct module mod_events = {
    .name = "events",
    .cmds = events_cmds,
    .ncmds = sizeof(events_cmds) / sizeof(events_cmds[0]),
};
