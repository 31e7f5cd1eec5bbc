/* process_conf.h - the main-context directives about worker processes
 * that nginx configurations carry: env, working_directory,
 * worker_priority, timer_resolution, and pcre_jit (which acts on the
 * configuration itself). */
#ifndef TP_PROC_PROCESS_CONF_H
#define TP_PROC_PROCESS_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/module.h"

struct conf;

extern struct module mod_process;

/* The module's main-level data (conf_mod). */
struct process_conf {
    char **env;              /* env entries: "NAME" (kept) or "NAME=value" (set); TZ first */
    size_t nenv;             /* how many */
    char *working_directory; /* the workers' working directory, or NULL */
    int priority;            /* worker_priority: the nice value, 0 = unchanged */
    long timer_resolution;   /* ms between time updates; 0 = every loop iteration */
    int pcre_jit;            /* pcre_jit: flag, -1 until set */
};

/* The configuration's process settings, or defaults when it has none. */
const struct process_conf *process_conf(const struct conf *c);

/* The environment a worker gets (nginx's ngx_set_environment): the
 * listed variables of `from`, plus the NAME=value ones.  malloc'd array
 * of pointers into `from` and the configuration; NULL when out of memory. */
char **process_environment(const struct process_conf *pc, char **from);

#endif
