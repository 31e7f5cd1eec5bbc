/* conf.c - the loader: runs the directive table over the parsed tree,
 * merges inherited settings once, and owns the result. */
#include "conf/conf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_parse.h"
#include "conf/conf_table.h"

int conf_err(struct conf_loader *cl, const struct conf_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(cl->err, cl->errlen, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= cl->errlen)
        return -1;
    if (n->file != NULL)
        snprintf(cl->err + len, cl->errlen - (size_t)len, " in %s:%d", n->file, n->line);
    else
        snprintf(cl->err + len, cl->errlen - (size_t)len, " in command line");
    return -1;
}

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

/* ---- value parsers ---------------------------------------------------- */

int conf_parse_flag(const char *s, int *out)
{
    if (strcasecmp(s, "on") == 0)
        *out = 1;
    else if (strcasecmp(s, "off") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int conf_parse_num(const char *s, long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT_MAX)
        return -1;
    *out = v;
    return 0;
}

int conf_parse_size(const char *s, long *out)
{
    size_t n = strlen(s);
    long scale = 1;
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n + 1);
    switch (buf[n - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        break;
    case 'g':
    case 'G':
        scale = 1024L * 1024 * 1024;
        break;
    }
    if (scale != 1)
        buf[n - 1] = '\0';
    char *end;
    if (buf[0] < '0' || buf[0] > '9')
        return -1;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v > LONG_MAX / scale)
        return -1;
    *out = v * scale;
    return 0;
}

/* nginx's time syntax: "1h 30m", "90s", "500ms", bare number = seconds.
 * Units must go from larger to smaller, each at most once. */
static long conf_msec_unit(const char **p)
{
    const char *s = *p;
    *p = s + 1;
    switch (*s) {
    case 'y':
        return 365L * 24 * 3600 * 1000;
    case 'M':
        return 30L * 24 * 3600 * 1000;
    case 'w':
        return 7L * 24 * 3600 * 1000;
    case 'd':
        return 24L * 3600 * 1000;
    case 'h':
        return 3600L * 1000;
    case 'm':
        if (s[1] == 's') {
            *p = s + 2;
            return 1;
        }
        return 60L * 1000;
    case 's':
        return 1000;
    default:
        *p = s;
        return 1000; /* no unit: seconds */
    }
}

int conf_parse_msec(const char *s, long *out)
{
    long total = 0, last_unit = LONG_MAX;
    if (*s == '\0')
        return -1;
    while (*s != '\0') {
        long v = 0;
        if (*s < '0' || *s > '9')
            return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > (LONG_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*s - '0');
        }
        long unit = conf_msec_unit(&s);
        if (unit >= last_unit || v > (LONG_MAX - total) / unit)
            return -1;
        last_unit = unit;
        total += v * unit;
        while (*s == ' ')
            s++;
    }
    if (total > INT_MAX)
        return -1;
    *out = total;
    return 0;
}

/* ---- generic directives --------------------------------------------- */

static void *conf_field(struct conf_loader *cl, const struct conf_cmd *cmd)
{
    char *base = cmd->scope == CS_MAIN ? (char *)cl->conf : (char *)cl->loc;
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

/* Parses `value` into field by the entry's type; -1 when invalid. */
static int conf_field_parse(struct mpool *p, const struct conf_cmd *cmd, const char *value,
                            void *field)
{
    switch (cmd->type) {
    case CT_FLAG:
        return conf_parse_flag(value, field);
    case CT_NUM:
        return conf_parse_num(value, field);
    case CT_SIZE:
        return conf_parse_size(value, field);
    case CT_MSEC:
        return conf_parse_msec(value, field);
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
    if (conf_field_is_set(cmd, field))
        return conf_err(cl, n, "\"%s\" directive is duplicate", cmd->name);
    if (conf_field_parse(cl->pool, cmd, n->args[1].s, field) < 0) {
        if (cmd->type == CT_FLAG)
            return conf_err(cl, n,
                            "invalid value \"%s\" in \"%s\" directive, it must be \"on\" or "
                            "\"off\"",
                            n->args[1].s, cmd->name);
        return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive", n->args[1].s, cmd->name);
    }
    return 0;
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
    const struct conf_cmd *cmd = conf_cmd_find(name);
    if (cmd == NULL || cmd->type == CT_PARSER)
        return conf_err(cl, n, "unknown directive \"%s\"", name);
    if ((cmd->ctx & cl->ctx) == 0)
        return conf_err(cl, n, "\"%s\" directive is not allowed here", name);
    if ((cmd->args & ARGS_BLOCK) && !n->block)
        return conf_err(cl, n, "directive \"%s\" has no opening \"{\"", name);
    if (!(cmd->args & ARGS_BLOCK) && n->block)
        return conf_err(cl, n, "directive \"%s\" is not terminated by \";\"", name);
    if (!conf_args_ok(cmd, n->nargs - 1))
        return conf_err(cl, n, "invalid number of arguments in \"%s\" directive", name);
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

/* ---- inherited settings ---------------------------------------------- */

struct loc_conf *conf_loc_new(struct conf_loader *cl)
{
    struct loc_conf *loc = mpool_calloc(cl->pool, sizeof(*loc));
    if (loc == NULL)
        return NULL;
    for (size_t i = 0; i < conf_ncmds; i++) {
        const struct conf_cmd *cmd = &conf_cmds[i];
        if (cmd->scope != CS_LOC || cmd->type == CT_CUSTOM || cmd->type == CT_STR)
            continue;
        void *field = (char *)loc + cmd->offset;
        if (cmd->type == CT_FLAG)
            *(int *)field = -1;
        else
            *(long *)field = -1;
    }
    loc->keepalive_header = -1;
    loc->large_header_buffer_size = -1;
    loc->alias = -1;
    loc->autoindex_format = -1;
    loc->if_modified_since = -1;
    loc->open_file_cache_max = -1;
    loc->open_file_cache_inactive = -1;
    return loc;
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

/* Settings outside the table's generic types: lists inherited as a whole,
 * and fields that travel together. */
static void conf_loc_merge_custom(const struct loc_conf *parent, struct loc_conf *child)
{
    if (child->access_logs == NULL)
        child->access_logs = parent->access_logs;
    if (child->root == NULL) {
        child->root = parent->root;
        child->alias = parent->alias;
    }
    if (child->nerror_pages == 0) {
        child->error_pages = parent->error_pages;
        child->nerror_pages = parent->nerror_pages;
    }
    if (child->nadd_headers == 0) {
        child->add_headers = parent->add_headers;
        child->nadd_headers = parent->nadd_headers;
    }
    if (!child->types_set) {
        child->types = parent->types;
        child->ntypes = parent->ntypes;
        child->types_set = parent->types_set;
    }
    if (child->nindex == 0) {
        child->index = parent->index;
        child->nindex = parent->nindex;
    }
    if (child->ngzip_types == 0 && !child->gzip_types_any) {
        child->gzip_types = parent->gzip_types;
        child->ngzip_types = parent->ngzip_types;
        child->gzip_types_any = parent->gzip_types_any;
    }
    if (child->autoindex_format == -1)
        child->autoindex_format = parent->autoindex_format;
    if (child->if_modified_since == -1)
        child->if_modified_since = parent->if_modified_since;
    if (child->open_file_cache_max == -1) {
        child->open_file_cache_max = parent->open_file_cache_max;
        child->open_file_cache_inactive = parent->open_file_cache_inactive;
    }
}

void conf_loc_merge(const struct loc_conf *parent, struct loc_conf *child)
{
    /* Fields set together with a table field follow it. */
    if (child->keepalive_timeout == -1)
        child->keepalive_header = parent->keepalive_header;
    if (child->large_header_buffers == -1)
        child->large_header_buffer_size = parent->large_header_buffer_size;
    conf_loc_merge_custom(parent, child);
    for (size_t i = 0; i < conf_ncmds; i++) {
        const struct conf_cmd *cmd = &conf_cmds[i];
        if (cmd->scope != CS_LOC || cmd->type == CT_CUSTOM)
            continue;
        void *field = (char *)child + cmd->offset;
        if (!conf_field_is_set(cmd, field))
            conf_copy_field(cmd, (const char *)parent + cmd->offset, field);
    }
}

static int conf_apply_defaults(struct conf_loader *cl, enum conf_scope scope, void *base)
{
    for (size_t i = 0; i < conf_ncmds; i++) {
        const struct conf_cmd *cmd = &conf_cmds[i];
        if (cmd->scope != scope || cmd->dflt == NULL || cmd->type == CT_CUSTOM)
            continue;
        void *field = (char *)base + cmd->offset;
        if (!conf_field_is_set(cmd, field) && conf_field_parse(cl->pool, cmd, cmd->dflt, field) < 0)
            return -1;
    }
    return 0;
}

/* nginx's built-in types map when no types block is given. */
static const struct mime_type conf_default_types[] = {
    {"gif", "image/gif"},
    {"html", "text/html"},
    {"jpg", "image/jpeg"},
};

static int conf_loc_custom_defaults(struct conf_loader *cl, struct loc_conf *loc)
{
    static const struct str index_html = {"index.html", 10};
    if (loc->root == NULL) {
        loc->root = mpool_calloc(cl->pool, sizeof(*loc->root));
        char *path = conf_full_path(cl->pool, cl->conf->paths.prefix, "html");
        if (loc->root == NULL || path == NULL ||
            cval_compile(cl->pool, path, strlen(path), loc->root, cl->err, cl->errlen) < 0)
            return -1;
        loc->alias = 0;
    }
    if (loc->nindex == 0) {
        loc->index = (struct str *)&index_html;
        loc->nindex = 1;
    }
    if (!loc->types_set) {
        loc->types = (struct mime_type *)conf_default_types;
        loc->ntypes = sizeof(conf_default_types) / sizeof(conf_default_types[0]);
        loc->types_set = true;
    }
    if (loc->autoindex_format == -1)
        loc->autoindex_format = 0;
    if (loc->if_modified_since == -1)
        loc->if_modified_since = 1; /* COND_IMS_EXACT */
    if (loc->open_file_cache_max == -1) {
        loc->open_file_cache_max = 0;
        loc->open_file_cache_inactive = 60000;
    }
    return 0;
}

int conf_loc_defaults(struct conf_loader *cl, struct loc_conf *loc)
{
    if (loc->large_header_buffer_size == -1)
        loc->large_header_buffer_size = 8192;
    if (conf_loc_custom_defaults(cl, loc) < 0)
        return -1;
    return conf_apply_defaults(cl, CS_LOC, loc);
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
    return c;
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
    if (conf_block(&cl, g->root, CTX_MAIN) < 0 || conf_block(&cl, f->root, CTX_MAIN) < 0)
        return -1;
    if (conf_apply_defaults(&cl, CS_MAIN, c) < 0)
        return -1;
    if (conf_main_finish(&cl) < 0)
        return -1;
    return conf_http_finish(&cl);
}

struct conf *conf_load(const struct conf_paths *paths, bool keep_files, char *err, size_t errlen)
{
    struct conf_tree g = {0};
    struct conf_tree *f = calloc(1, sizeof(*f));
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

void conf_free(struct conf *c)
{
    if (c == NULL)
        return;
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
