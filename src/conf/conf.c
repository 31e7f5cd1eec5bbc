/* conf.c - the loader: runs every directive through its module's table,
 * lets the modules finish their parts, and owns the result. */
#include "conf/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_absent.h"
#include "conf/conf_parse.h"
#include "conf/conf_table.h"

const char *conf_file_name(struct conf_loader *cl, const struct conf_node *n)
{
    /* Nodes point into the parse tree, which goes when loading ends. */
    if (n->file == NULL)
        return "command line";
    if (cl->last_file_src != n->file) {
        cl->last_file_src = n->file;
        cl->last_file_copy = mpool_strdup(cl->pool, n->file);
    }
    return cl->last_file_copy;
}

char *conf_full_path(struct mpool *p, const char *prefix, const char *path)
{
    if (path[0] == '/')
        return mpool_strdup(p, path);
    return mpool_printf(p, "%s%s", prefix, path);
}

/* ---- generic directives --------------------------------------------- */

static void *conf_field(struct conf_loader *cl, const struct conf_cmd *cmd)
{
    char *base = cmd->scope == CS_MAIN ? (char *)cl->conf : cl->part(cl, cl->mod);
    return base + cmd->offset;
}

static bool conf_field_is_set(const struct conf_cmd *cmd, const void *field)
{
    switch (cmd->type) {
    case CT_FLAG:
        return *(const int *)field != -1;
    case CT_STR:
        return *(char *const *)field != NULL;
    default:
        return *(const long *)field != -1;
    }
}

static int conf_parse_enum(const struct conf_enum *e, const char *s, long *out)
{
    for (; e->name != NULL; e++) {
        if (strcmp(e->name, s) == 0) {
            *out = e->value;
            return 0;
        }
    }
    return -1;
}

static int conf_parse_ranged(const struct conf_range *r, const char *s, long *out)
{
    if (conf_parse_num(s, out) < 0)
        return -1;
    return r == NULL || (*out >= r->min && *out <= r->max) ? 0 : -1;
}

/* Parses `value` into field by the entry's type; -1 when invalid. */
static int conf_field_parse(struct mpool *p, const struct conf_cmd *cmd, const char *value,
                            void *field)
{
    switch (cmd->type) {
    case CT_FLAG:
        return conf_parse_flag(value, field);
    case CT_NUM:
        return conf_parse_ranged(cmd->post, value, field);
    case CT_SIZE:
        return conf_parse_size(value, field);
    case CT_MSEC:
        return conf_parse_msec(value, field);
    case CT_ENUM:
        return conf_parse_enum(cmd->post, value, field);
    case CT_STR:
        *(char **)field = mpool_strdup(p, value);
        return *(char **)field == NULL ? -1 : 0;
    default:
        return -1;
    }
}

static int conf_set_generic(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    void *field = conf_field(cl, cmd);
    const struct conf_range *range = cmd->post;
    if (conf_field_is_set(cmd, field))
        return conf_err_dup(cl, n, cmd);
    if (conf_field_parse(cl->pool, cmd, n->args[1].s, field) == 0)
        return 0;
    if (cmd->type == CT_FLAG)
        return conf_err(cl, n,
                        "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                        n->args[1].s, cmd->name);
    if (cmd->type == CT_NUM && range != NULL && conf_parse_num(n->args[1].s, &(long){0}) == 0)
        return conf_err(cl, n, "value \"%s\" must be between %ld and %ld", n->args[1].s, range->min,
                        range->max);
    return conf_err_value(cl, n, cmd, 1);
}

/* ---- a module's part of a level ----------------------------------------- */

static bool conf_cmd_generic(const struct conf_cmd *cmd)
{
    return cmd->scope == CS_PART && cmd->type != CT_CUSTOM && cmd->type != CT_PARSER;
}

void conf_part_unset(const struct module *m, void *part)
{
    for (size_t i = 0; i < m->ncmds; i++) {
        const struct conf_cmd *cmd = &m->cmds[i];
        if (!conf_cmd_generic(cmd) || cmd->type == CT_STR)
            continue;
        void *field = (char *)part + cmd->offset;
        if (cmd->type == CT_FLAG)
            *(int *)field = -1;
        else
            *(long *)field = -1;
    }
}

static void conf_copy_field(const struct conf_cmd *cmd, const void *from, void *to)
{
    if (cmd->type == CT_FLAG)
        *(int *)to = *(const int *)from;
    else if (cmd->type == CT_STR)
        *(char **)to = *(char *const *)from;
    else
        *(long *)to = *(const long *)from;
}

void conf_part_inherit(const struct module *m, const void *parent, void *child)
{
    for (size_t i = 0; i < m->ncmds; i++) {
        const struct conf_cmd *cmd = &m->cmds[i];
        if (!conf_cmd_generic(cmd))
            continue;
        void *field = (char *)child + cmd->offset;
        if (!conf_field_is_set(cmd, field))
            conf_copy_field(cmd, (const char *)parent + cmd->offset, field);
    }
}

static int conf_apply_defaults(struct conf_loader *cl, const struct module *m,
                               enum conf_scope scope, void *base)
{
    for (size_t i = 0; i < m->ncmds; i++) {
        const struct conf_cmd *cmd = &m->cmds[i];
        if (cmd->scope != scope || cmd->dflt == NULL || cmd->type == CT_CUSTOM)
            continue;
        void *field = (char *)base + cmd->offset;
        if (!conf_field_is_set(cmd, field) && conf_field_parse(cl->pool, cmd, cmd->dflt, field) < 0)
            return -1;
    }
    return 0;
}

int conf_part_defaults(struct conf_loader *cl, const struct module *m, void *part)
{
    if (m->part_defaults != NULL && m->part_defaults(cl, part) < 0)
        return -1;
    return conf_apply_defaults(cl, m, CS_PART, part);
}

/* ---- dispatch --------------------------------------------------------- */

static bool conf_args_ok(const struct conf_cmd *cmd, size_t nargs)
{
    if (nargs > 7)
        return (cmd->args & ARGS_MANY) != 0;
    return (cmd->args & ARGS((unsigned)nargs)) != 0;
}

static int conf_directive(struct conf_loader *cl, const struct conf_node *n)
{
    const char *name = n->args[0].s;
    const struct module *mod = NULL;
    bool known;
    const struct conf_cmd *cmd = module_cmd_find(name, cl->ctx, &mod, &known);
    if (cmd == NULL && known)
        return conf_err(cl, n, "\"%s\" directive is not allowed here", name);
    const char *why = cmd == NULL ? conf_absent_reason(name) : NULL;
    if (why != NULL)
        return conf_err(cl, n, "\"%s\" is not supported: %s", name, why);
    if (cmd == NULL || cmd->type == CT_PARSER)
        return conf_err(cl, n, "unknown directive \"%s\"", name);
    if ((cmd->args & ARGS_BLOCK) && !n->block)
        return conf_err(cl, n, "directive \"%s\" has no opening \"{\"", name);
    if (!(cmd->args & ARGS_BLOCK) && n->block)
        return conf_err(cl, n, "directive \"%s\" is not terminated by \";\"", name);
    if (!conf_args_ok(cmd, n->nargs - 1))
        return conf_err(cl, n, "invalid number of arguments in \"%s\" directive", name);
    cl->mod = mod;
    if (cmd->set != NULL)
        return cmd->set(cl, n, cmd);
    return conf_set_generic(cl, n, cmd);
}

int conf_block(struct conf_loader *cl, const struct conf_node *first, unsigned ctx)
{
    unsigned saved = cl->ctx;
    cl->ctx = ctx;
    for (const struct conf_node *n = first; n != NULL; n = n->next) {
        if (conf_directive(cl, n) < 0)
            return -1;
    }
    cl->ctx = saved;
    return 0;
}

/* ---- module data ------------------------------------------------------- */

void *conf_mod(const struct conf *c, const struct module *m)
{
    return c->mods[m->index];
}

void conf_set_mod(struct conf *c, const struct module *m, void *data)
{
    c->mods[m->index] = data;
}

struct conf_listen *conf_listen_push(struct conf *c)
{
    return conf_push(&c->pool, &c->listens, &c->nlistens, sizeof(struct conf_listen));
}

void *conf_push(struct mpool *p, void *arrp, size_t *n, size_t size)
{
    void **arr = arrp;
    size_t count = *n;
    if (count == 0 || (count >= 4 && (count & (count - 1)) == 0)) {
        size_t cap = count == 0 ? 4 : count * 2;
        void *grown = mpool_calloc(p, cap * size);
        if (grown == NULL)
            return NULL;
        if (count != 0)
            memcpy(grown, *arr, count * size);
        *arr = grown;
    }
    char *slot = (char *)*arr + count * size;
    memset(slot, 0, size);
    *n = count + 1;
    return slot;
}

/* ---- load ---------------------------------------------------------------- */

static struct conf *conf_new(const struct conf_paths *paths)
{
    struct conf *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    mpool_init(&c->pool, 4096);
    c->paths.prefix = mpool_strdup(&c->pool, paths->prefix);
    c->paths.conf_file = mpool_strdup(&c->pool, paths->conf_file);
    c->paths.conf_prefix = mpool_strdup(&c->pool, paths->conf_prefix);
    c->paths.error_log = mpool_strdup(&c->pool, paths->error_log);
    c->paths.directives = paths->directives ? mpool_strdup(&c->pool, paths->directives) : NULL;
    c->worker_processes = -2; /* unset; -1 means auto */
    c->cpu_affinity_auto = -1;
    c->worker_rlimit_nofile = c->worker_shutdown_timeout = -1;
    c->daemon = c->master_process = -1;
    c->thread_pool_threads = c->thread_pool_max_queue = -1;
    c->worker_connections = -1;
    c->mods = mpool_calloc(&c->pool, sizeof(*c->mods) * nmodules);
    return c->mods != NULL ? c : (conf_free(c), NULL);
}

/* Parses the -g text, then the file; -g directives come first, as in
 * nginx, so a file repeating one is a duplicate. */
static int conf_read(struct conf *c, struct conf_tree *g, struct conf_tree *f, char *err,
                     size_t errlen)
{
    if (c->paths.directives != NULL &&
        conf_parse_string(g, c->paths.directives, c->paths.conf_prefix, err, errlen) < 0)
        return -1;
    return conf_parse_file(f, c->paths.conf_file, c->paths.conf_prefix, err, errlen);
}

static int conf_run(struct conf *c, struct conf_tree *g, struct conf_tree *f, char *err,
                    size_t errlen)
{
    struct conf_loader cl = {
        .conf = c,
        .pool = &c->pool,
        .ctx = CTX_MAIN,
        .err = err,
        .errlen = errlen,
    };
    for (size_t i = 0; i < nmodules; i++)
        if (modules[i]->prescan != NULL &&
            (modules[i]->prescan(&cl, g->root) < 0 || modules[i]->prescan(&cl, f->root) < 0))
            return -1;
    if (conf_block(&cl, g->root, CTX_MAIN) < 0 || conf_block(&cl, f->root, CTX_MAIN) < 0)
        return -1;
    for (size_t i = 0; i < nmodules; i++)
        if (conf_apply_defaults(&cl, modules[i], CS_MAIN, c) < 0)
            return -1;
    for (size_t i = 0; i < nmodules; i++)
        if (modules[i]->finish != NULL && modules[i]->finish(&cl) < 0)
            return -1;
    return 0;
}

struct conf *conf_load(const struct conf_paths *paths, bool keep_files, char *err, size_t errlen)
{
    struct conf_tree g = {0};
    struct conf_tree *f = calloc(1, sizeof(*f));
    modules_init();
    if (errlen > 0)
        err[0] = '\0';
    struct conf *c = conf_new(paths);
    if (c == NULL || f == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (conf_read(c, &g, f, err, errlen) < 0 || conf_run(c, &g, f, err, errlen) < 0)
        goto fail;
    conf_tree_free(&g);
    if (keep_files) {
        c->files = f;
    } else {
        conf_tree_free(f);
        free(f);
    }
    return c;
fail:
    conf_tree_free(&g);
    if (f != NULL) {
        conf_tree_free(f);
        free(f);
    }
    conf_free(c);
    return NULL;
}

int conf_regex_keep(struct conf_loader *cl, struct pcre2_real_code_8 *code)
{
    struct conf *c = cl->conf;
    pcre2_code **slot = conf_push(cl->pool, &c->regexes, &c->nregexes, sizeof(*slot));
    if (slot == NULL)
        return -1;
    *slot = code;
    return 0;
}

int conf_cleanup_add(struct conf *c, void (*fn)(void *data), void *data)
{
    struct conf_cleanup *cu = mpool_alloc(&c->pool, sizeof(*cu));
    if (cu == NULL) {
        fn(data);
        return -1;
    }
    *cu = (struct conf_cleanup){.fn = fn, .data = data, .next = c->cleanups};
    c->cleanups = cu;
    return 0;
}

void conf_free(struct conf *c)
{
    if (c == NULL)
        return;
    for (struct conf_cleanup *cu = c->cleanups; cu != NULL; cu = cu->next)
        cu->fn(cu->data);
    for (size_t i = 0; i < c->nregexes; i++)
        pcre2_code_free(c->regexes[i]);
    if (c->files != NULL) {
        conf_tree_free(c->files);
        free(c->files);
    }
    mpool_destroy(&c->pool);
    free(c);
}

void conf_dump(const struct conf *c, FILE *out)
{
    if (c->files == NULL)
        return;
    for (const struct conf_file *f = c->files->files; f != NULL; f = f->next) {
        fprintf(out, "# configuration file %s:\n", f->path);
        fwrite(f->text, 1, f->len, out);
        if (f->len == 0 || f->text[f->len - 1] != '\n')
            fputc('\n', out);
        fputc('\n', out);
    }
}
