/* conf_files.c - the http core module's directives for files and the
 * response: root, alias, try_files, error_page, add_header, types,
 * if_modified_since, open_file_cache. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/cond.h"
#include "http/conf_files.h"
#include "http/core_conf.h"

int conf_cval(struct conf_loader *cl, const struct conf_node *n, const struct conf_arg *a,
              struct cval *out)
{
    char msg[256];
    if (cval_compile(cl->pool, a->s, a->len, out, msg, sizeof(msg)) < 0)
        return conf_err(cl, n, "%s", msg);
    return 0;
}

/* root and alias share one field, as in nginx; a level has one or the other. */
static int conf_set_root_alias(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd, int alias)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (loc->root != NULL) {
        if (loc->alias == alias)
            return conf_err_dup(cl, n, cmd);
        return conf_err(cl, n,
                        "\"%s\" directive is duplicate, \"%s\" directive was specified earlier",
                        cmd->name, loc->alias ? "alias" : "root");
    }
    if (alias && loc->match == LM_NAMED)
        return conf_err(cl, n, "\"alias\" directive cannot be used inside the named location");
    const char *path = n->args[1].s;
    char *full = path[0] == '/' || path[0] == '$'
                     ? mpool_strdup(cl->pool, path)
                     : conf_full_path(cl->pool, cl->conf->paths.prefix, path);
    struct conf_arg a = {.s = full, .len = strlen(full)};
    /* nginx strips a trailing slash from root (not from alias). */
    if (!alias && a.len > 1 && full[a.len - 1] == '/')
        full[--a.len] = '\0';
    loc->root = mpool_calloc(cl->pool, sizeof(*loc->root));
    loc->alias = alias;
    return conf_cval(cl, n, &a, loc->root);
}

int conf_set_root(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    return conf_set_root_alias(cl, n, cmd, 0);
}

int conf_set_alias(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    return conf_set_root_alias(cl, n, cmd, 1);
}

int conf_set_try_files(struct conf_loader *cl, const struct conf_node *n,
                       const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (loc->try_files != NULL)
        return conf_err_dup(cl, n, cmd);
    struct try_files *t = mpool_calloc(cl->pool, sizeof(*t));
    t->nfiles = n->nargs - 2;
    t->files = mpool_calloc(cl->pool, sizeof(*t->files) * (t->nfiles + 1));
    if (t == NULL || t->files == NULL)
        return conf_err_nomem(cl, n);
    for (size_t i = 0; i < t->nfiles; i++)
        if (conf_cval(cl, n, &n->args[i + 1], &t->files[i]) < 0)
            return -1;
    const struct conf_arg *last = &n->args[n->nargs - 1];
    if (last->s[0] == '=') {
        long code;
        if (conf_parse_num(last->s + 1, &code) < 0 || code < 100 || code > 999)
            return conf_err(cl, n, "invalid code \"%s\"", last->s);
        t->code = (int)code;
    } else if (conf_cval(cl, n, last, &t->last) < 0) {
        return -1;
    }
    loc->try_files = t;
    return 0;
}

/* Parses "=", "=NNN" into overwrite; returns 1 if the word was one. */
static int conf_ep_overwrite(const char *w, int *overwrite)
{
    long v;
    if (w[0] != '=')
        return 0;
    if (w[1] == '\0') {
        *overwrite = 0;
        return 1;
    }
    if (conf_parse_num(w + 1, &v) < 0 || v < 100 || v > 999)
        return -1;
    *overwrite = (int)v;
    return 1;
}

static int conf_ep_add(struct conf_loader *cl, const struct conf_node *n, int code, int overwrite,
                       const struct cval *uri)
{
    struct loc_conf *loc = http_level(cl)->loc;
    struct error_page *e = conf_push(cl->pool, &loc->error_pages, &loc->nerror_pages, sizeof(*e));
    if (e == NULL)
        return conf_err_nomem(cl, n);
    e->code = code;
    e->overwrite = overwrite;
    e->uri = *uri;
    return 0;
}

int conf_set_error_page(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    int overwrite = -1;
    size_t last = n->nargs - 1, ncodes = last - 1;
    struct cval uri;
    (void)cmd;
    int rc = conf_ep_overwrite(n->args[last - 1].s, &overwrite);
    if (rc < 0)
        return conf_err(cl, n, "invalid value \"%s\"", n->args[last - 1].s);
    ncodes -= (size_t)rc;
    if (ncodes == 0)
        return conf_err(cl, n, "invalid number of arguments in \"error_page\" directive");
    if (conf_cval(cl, n, &n->args[last], &uri) < 0)
        return -1;
    for (size_t i = 1; i <= ncodes; i++) {
        long code;
        if (conf_parse_num(n->args[i].s, &code) < 0 || code < 300 || code > 599)
            return conf_err(cl, n, "value \"%s\" must be between 300 and 599", n->args[i].s);
        if (conf_ep_add(cl, n, (int)code, overwrite, &uri) < 0)
            return -1;
    }
    return 0;
}

int conf_set_add_header(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (n->nargs == 4 && strcmp(n->args[3].s, "always") != 0)
        return conf_err_param(cl, n, n->args[3].s);
    if (n->args[1].len == 0 || strpbrk(n->args[1].s, " \t:\r\n") != NULL)
        return conf_err(cl, n, "invalid header name \"%s\" in \"%s\"", n->args[1].s, cmd->name);
    struct add_header *h = conf_push(cl->pool, &loc->add_headers, &loc->nadd_headers, sizeof(*h));
    if (h == NULL)
        return conf_err_nomem(cl, n);
    h->name = str_make(mpool_strdup(cl->pool, n->args[1].s), n->args[1].len);
    h->always = n->nargs == 4;
    if (strpbrk(n->args[2].s, "\r\n") != NULL)
        return conf_err(cl, n, "invalid header value in \"%s\"", cmd->name);
    return conf_cval(cl, n, &n->args[2], &h->value);
}

static int conf_mime_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mime_type *)a)->ext, ((const struct mime_type *)b)->ext);
}

static struct mime_type *conf_mime_find(struct loc_conf *loc, const char *ext)
{
    for (size_t i = 0; i < loc->ntypes; i++)
        if (strcmp(loc->types[i].ext, ext) == 0)
            return &loc->types[i];
    return NULL;
}

/* One `type ext ...;` line.  A repeated extension takes the later type,
 * with nginx's warning. */
static int conf_types_line(struct conf_loader *cl, const struct conf_node *t)
{
    struct loc_conf *loc = http_level(cl)->loc;
    char *type = mpool_strdup(cl->pool, t->args[0].s);
    for (size_t i = 1; i < t->nargs; i++) {
        char *ext = mpool_strdup(cl->pool, t->args[i].s);
        for (char *p = ext; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        struct mime_type *m = conf_mime_find(loc, ext);
        if (m != NULL) {
            log_msg(LL_WARN, 0, 0,
                    "duplicate extension \"%s\", content type: \"%s\", previous content type: "
                    "\"%s\" in %s:%d",
                    ext, type, m->type, t->file ? t->file : "command line", t->line);
            m->type = type;
            continue;
        }
        if ((m = conf_push(cl->pool, &loc->types, &loc->ntypes, sizeof(*m))) == NULL)
            return conf_err(cl, t, "out of memory");
        m->type = type;
        m->ext = ext;
    }
    return 0;
}

/* types { type ext ...; }: replaces the parent's map as a whole. */
int conf_set_types(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (loc->types_set)
        return conf_err_dup(cl, n, cmd);
    loc->types_set = true;
    for (const struct conf_node *t = n->child; t != NULL; t = t->next) {
        if (t->block || t->nargs < 2)
            return conf_err(cl, t, "invalid number of arguments in \"types\" block");
        if (conf_types_line(cl, t) < 0)
            return -1;
    }
    if (loc->ntypes > 1)
        qsort(loc->types, loc->ntypes, sizeof(*loc->types), conf_mime_cmp);
    return 0;
}

const struct conf_enum conf_ims_words[] = {
    {"off", COND_IMS_OFF},
    {"exact", COND_IMS_EXACT},
    {"before", COND_IMS_BEFORE},
    {NULL, 0},
};

/* `open_file_cache off | max=N [inactive=time]` */
int conf_set_open_file_cache(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (loc->open_file_cache_max != -1)
        return conf_err_dup(cl, n, cmd);
    loc->open_file_cache_max = 0;
    loc->open_file_cache_inactive = 60000;
    if (strcmp(n->args[1].s, "off") == 0)
        return n->nargs == 2 ? 0 : conf_err(cl, n, "invalid parameter \"%s\"", n->args[2].s);
    for (size_t i = 1; i < n->nargs; i++) {
        const char *a = n->args[i].s;
        if (strncmp(a, "max=", 4) == 0 && conf_parse_num(a + 4, &loc->open_file_cache_max) == 0 &&
            loc->open_file_cache_max > 0)
            continue;
        if (strncmp(a, "inactive=", 9) == 0 &&
            conf_parse_msec(a + 9, &loc->open_file_cache_inactive) == 0)
            continue;
        return conf_err(cl, n, "invalid \"%s\" parameter \"%s\"", cmd->name, a);
    }
    if (loc->open_file_cache_max <= 0)
        return conf_err(cl, n, "\"%s\" must have the \"max\" parameter", cmd->name);
    return 0;
}

/* Lists and fields that travel together: inherited as a whole. */
void conf_files_merge(const struct loc_conf *parent, struct loc_conf *child)
{
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
    if (child->open_file_cache_max == -1) {
        child->open_file_cache_max = parent->open_file_cache_max;
        child->open_file_cache_inactive = parent->open_file_cache_inactive;
    }
}

/* nginx's built-in types map when no types block is given. */
static const struct mime_type conf_default_types[] = {
    {"gif", "image/gif"},
    {"html", "text/html"},
    {"jpg", "image/jpeg"},
};

int conf_files_defaults(struct conf_loader *cl, struct loc_conf *loc)
{
    if (loc->root == NULL) {
        loc->root = mpool_calloc(cl->pool, sizeof(*loc->root));
        char *path = conf_full_path(cl->pool, cl->conf->paths.prefix, "html");
        if (loc->root == NULL || path == NULL ||
            cval_compile(cl->pool, path, strlen(path), loc->root, cl->err, cl->errlen) < 0)
            return -1;
        loc->alias = 0;
    }
    if (!loc->types_set) {
        loc->types = (struct mime_type *)conf_default_types;
        loc->ntypes = sizeof(conf_default_types) / sizeof(conf_default_types[0]);
        loc->types_set = true;
    }
    if (loc->open_file_cache_max == -1) {
        loc->open_file_cache_max = 0;
        loc->open_file_cache_inactive = 60000;
    }
    return 0;
}
