/* module.h - what a module contributes, through one descriptor each.
 *
 * As in nginx's ngx_modules, every module is listed once, in order, in
 * proc/modules.c.  The loader knows descriptors, never the modules behind
 * them: a module brings its directives, its part of each configuration
 * level of its context (created, merged and defaulted here), a check once
 * the whole file is read, and hooks into the worker's life. */
#ifndef TP_CONF_MODULE_H
#define TP_CONF_MODULE_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct conf_cmd;
struct conf_loader;
struct conf_node;
struct http_hooks;
struct reactor;
struct var_def;
struct var_set;

struct module {
    const char *name;              /* "http_gzip", for messages */
    const struct conf_cmd *cmds;   /* its directives */
    size_t ncmds;                  /* how many */
    size_t part_size;              /* bytes of its part of each level, 0 = none */
    void (*part_init)(void *part); /* marks its custom fields unset (after zeroing) */
    void (*part_merge)(const void *parent, void *child);      /* its custom fields */
    int (*part_defaults)(struct conf_loader *cl, void *part); /* custom defaults, top level */
    int (*finish)(struct conf_loader *cl);                    /* after the whole file was read */
    /* Sees every file's directives before any of them runs: for names a
     * directive may use before the one that defines them (variables). */
    int (*prescan)(struct conf_loader *cl, const struct conf_node *root);
    /* The master, in the (re)load transaction: makes what workers need. */
    int (*master_open)(struct conf *c, char *err, size_t errlen);
    int (*worker_start)(struct reactor *rx);   /* in each worker, before accepting */
    void (*worker_drain)(struct reactor *rx);  /* graceful stop began: flush */
    void (*worker_reopen)(struct reactor *rx); /* USR1 */
    void (*worker_stop)(struct reactor *rx);   /* before the worker exits */
    const struct http_hooks *http;             /* its request phases, if an http module */
    const struct var_def *vars;                /* http variables it provides */
    size_t nvars;                              /* how many */
    const struct var_set *sets;                /* those of them `set` may change */
    size_t nsets;                              /* how many */
    unsigned index;                            /* position in modules[], set at startup */
};

/* Every module, in order (proc/modules.c). */
extern struct module *const modules[];
extern const size_t nmodules;

/* Numbers the modules; idempotent, and done by conf_load. */
void modules_init(void);

/* The directive `name` that may appear in context ctx: its entry and its
 * module.  If the name exists but not for ctx, returns NULL and sets
 * *known; if it does not exist at all, *known is false. */
const struct conf_cmd *module_cmd_find(const char *name, unsigned ctx, const struct module **mod,
                                       bool *known);

/* The master's transaction: every module's master_open, in order. */
int modules_master_open(struct conf *c, char *err, size_t errlen);

/* Calls hook `which` of every module that has it (worker life). */
int modules_worker_start(struct reactor *rx);
void modules_worker_each(struct reactor *rx, size_t hook_offset);
#define MODULES_WORKER(rx, hook) modules_worker_each((rx), offsetof(struct module, hook))

#endif
