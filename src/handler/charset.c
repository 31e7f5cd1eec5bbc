/* charset.c - the charset directive (nginx's ngx_http_charset_module):
 * names the charset in Content-Type ("text/html; charset=utf-8") for the
 * types in charset_types.
 *
 * nginx can also convert a response from source_charset (or an upstream's
 * charset) to charset, with tables given by charset_map.  turnpike does no
 * conversion: source_charset, charset_map and override_charset on are
 * refused with an error saying so, rather than accepted and ignored, since
 * a config that asks for conversion would send bytes in the wrong
 * charset. */
#include "handler/charset.h"

#include <string.h>

#include "conf/conf_table.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"

/* nginx's default charset_types (text/html is always one of them). */
static const struct str charset_default_types[] = {
    STR_LIT("text/html"),
    STR_LIT("text/xml"),
    STR_LIT("text/plain"),
    STR_LIT("text/vnd.wap.wml"),
    STR_LIT("application/javascript"),
    STR_LIT("application/rss+xml"),
};

/* The module's part of a level. */
struct charset_loc {
    struct cval *name; /* the charset; NULL for off, or until set */
    bool set;          /* charset was given at this level (off included) */
    struct str *types; /* charset_types, text/html first */
    size_t ntypes;     /* how many; 0 = inherit */
    bool types_any;    /* charset_types * */
    int override;      /* override_charset: only off exists */
};

static bool charset_type_ok(const struct charset_loc *cl, struct str type)
{
    if (cl->types_any)
        return true;
    for (size_t i = 0; i < cl->ntypes; i++)
        if (str_case_eq(type, cl->types[i].p))
            return true;
    return false;
}

struct str charset_of(struct req *r)
{
    const struct charset_loc *cl = r->loc != NULL ? loc_part(r->loc, &mod_charset) : NULL;
    struct str name;
    if (cl == NULL || cl->name == NULL || cval_eval(cl->name, r, &name) < 0)
        return STR_LIT("");
    return name;
}

/* A type that already has parameters (an upstream's "; charset=...") is
 * left alone, as nginx does; so are redirects, whose body nobody reads
 * (nginx: old browsers took a redirect's charset for the next page). */
static void charset_filter(struct req *r)
{
    const struct charset_loc *cl = loc_part(r->loc, &mod_charset);
    struct str type = r->content_type;
    if (cl->name == NULL || type.len == 0 || memchr(type.p, ';', type.len) != NULL ||
        r->status == 301 || r->status == 302 || !charset_type_ok(cl, type))
        return;
    struct str name = charset_of(r);
    if (name.len == 0)
        return;
    char *full =
        mpool_printf(&r->pool, "%.*s; charset=%.*s", (int)type.len, type.p, (int)name.len, name.p);
    if (full != NULL)
        r->content_type = str_make(full, strlen(full));
}

/* ---- configuration ---------------------------------------------------------- */

static int conf_set_charset(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    struct charset_loc *cs = cl->part(cl, &mod_charset);
    if (cs->set)
        return conf_err_dup(cl, n, cmd);
    cs->set = true;
    if (strcmp(n->args[1].s, "off") == 0)
        return 0;
    if ((cs->name = mpool_calloc(cl->pool, sizeof(*cs->name))) == NULL)
        return conf_err_nomem(cl, n);
    return conf_cval(cl, n, &n->args[1], cs->name);
}

static int conf_set_charset_types(struct conf_loader *cl, const struct conf_node *n,
                                  const struct conf_cmd *cmd)
{
    struct charset_loc *cs = cl->part(cl, &mod_charset);
    if (cs->ntypes != 0 || cs->types_any)
        return conf_err_dup(cl, n, cmd);
    cs->ntypes = n->nargs; /* text/html, then each argument */
    if ((cs->types = mpool_calloc(cl->pool, sizeof(*cs->types) * cs->ntypes)) == NULL)
        return conf_err_nomem(cl, n);
    cs->types[0] = STR_LIT("text/html");
    for (size_t i = 1; i < n->nargs; i++) {
        cs->types_any |= strcmp(n->args[i].s, "*") == 0;
        cs->types[i] = str_make(mpool_strdup(cl->pool, n->args[i].s), n->args[i].len);
    }
    return 0;
}

/* Conversion between charsets does not exist here: a config that asks for
 * it stops at its line instead of sending unconverted bytes. */
static int conf_set_conversion(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    return conf_err(cl, n,
                    "\"%s\" is not supported: turnpike does not convert between charsets, it "
                    "only names one in Content-Type (\"charset\")",
                    cmd->name);
}

static int conf_set_override_charset(struct conf_loader *cl, const struct conf_node *n,
                                     const struct conf_cmd *cmd)
{
    struct charset_loc *cs = cl->part(cl, &mod_charset);
    int on;
    if (cs->override != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_flag(n->args[1].s, &on) < 0)
        return conf_err_value(cl, n, cmd, 1);
    if (on)
        return conf_set_conversion(cl, n, cmd);
    cs->override = 0;
    return 0;
}

static void charset_init(void *part)
{
    struct charset_loc *cs = part;
    cs->override = -1;
}

static void charset_merge(const void *from, void *to)
{
    const struct charset_loc *parent = from;
    struct charset_loc *child = to;
    if (!child->set) {
        child->name = parent->name;
        child->set = parent->set;
    }
    if (child->ntypes == 0 && !child->types_any) {
        child->types = parent->types;
        child->ntypes = parent->ntypes;
        child->types_any = parent->types_any;
    }
    if (child->override == -1)
        child->override = parent->override;
}

static int charset_defaults(struct conf_loader *cl, void *part)
{
    struct charset_loc *cs = part;
    (void)cl;
    if (cs->ntypes == 0 && !cs->types_any) {
        cs->types = (struct str *)charset_default_types;
        cs->ntypes = sizeof(charset_default_types) / sizeof(charset_default_types[0]);
    }
    if (cs->override == -1)
        cs->override = 0;
    return 0;
}

#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)
#define CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL

static const struct conf_cmd charset_cmds[] = {
    {"charset", HSL, ARGS(1), CUSTOM, conf_set_charset, NULL},
    {"charset_types", HSL, ARGS_1MORE | ARGS_MANY, CUSTOM, conf_set_charset_types, NULL},
    {"override_charset", HSL, ARGS(1), CUSTOM, conf_set_override_charset, NULL},
    {"source_charset", HSL, ARGS(1), CUSTOM, conf_set_conversion, NULL},
    {"charset_map", CTX_HTTP, ARGS(2) | ARGS_BLOCK, CUSTOM, conf_set_conversion, NULL},
};

static const struct http_hooks charset_hooks = {.head_filter = charset_filter};

struct module mod_charset = {
    .name = "http_charset",
    .cmds = charset_cmds,
    .ncmds = sizeof(charset_cmds) / sizeof(charset_cmds[0]),
    .part_size = sizeof(struct charset_loc),
    .part_init = charset_init,
    .part_merge = charset_merge,
    .part_defaults = charset_defaults,
    .http = &charset_hooks,
};
