/* rewrite_conf.c - the rewrite module's directives: each appends an op to
 * its level's script (see rewrite.h). */
#include "handler/rewrite.h"

#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_table.h"
#include "handler/ret.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/vars_dyn.h"

/* A location's if block: a level of its own, merged from the location's
 * once the location is merged (the module's finish). */
struct rw_ifloc {
    struct loc_conf *parent; /* the enclosing location */
    struct loc_conf *loc;    /* the block's settings */
    struct rw_ifloc *next;   /* the block defined before */
};

/* The module's main-level data. */
struct rw_main {
    struct rw_ifloc *iflocs; /* every location's if block */
};

/* The directives allowed in a location's if block (nginx's "if in
 * location" context) of the modules turnpike has or will have, and in a
 * server's (the rewrite module's own only). */
static const char *const rw_lif_allowed[] = {
    "rewrite",
    "return",
    "break",
    "set",
    "rewrite_log",
    "uninitialized_variable_warn",
    "root",
    "error_page",
    "add_header",
    "add_trailer",
    "access_log",
    "gzip",
    "sendfile",
    "expires",
    "limit_rate",
    "limit_rate_after",
    "charset",
    "source_charset",
    "override_charset",
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
    "memcached_pass",
    NULL,
};
static const size_t rw_sif_allowed = 6; /* the first six: the rewrite module's */

/* ---- the script of the level being read ---------------------------------- */

static struct rw_script *rw_script_here(struct conf_loader *cl)
{
    struct rw_loc *rl = cl->part(cl, &mod_rewrite);
    if (rl->script == NULL)
        rl->script = mpool_calloc(cl->pool, sizeof(*rl->script));
    return rl->script;
}

static int rw_push(struct conf_loader *cl, const struct conf_node *n, enum rw_kind kind,
                   const void *arg)
{
    struct rw_script *s = rw_script_here(cl);
    struct rw_op *op = s != NULL ? conf_push(cl->pool, &s->ops, &s->n, sizeof(*op)) : NULL;
    if (op == NULL)
        return conf_err_nomem(cl, n);
    op->kind = kind;
    op->arg = arg;
    return 0;
}

/* A copy of an argument (or a part of it) as a compilable word. */
static struct conf_arg rw_word(struct conf_loader *cl, const char *s, size_t len)
{
    struct conf_arg a = {.s = mpool_strndup(cl->pool, s, len), .len = len};
    return a;
}

/* ---- return, break, set ----------------------------------------------------- */

static int rw_set_return(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct ret_conf *ret;
    (void)cmd;
    if (ret_parse(cl, n, &ret) < 0)
        return -1;
    return rw_push(cl, n, RW_RETURN, ret);
}

static int rw_set_break(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd)
{
    (void)cmd;
    return rw_push(cl, n, RW_BREAK, NULL);
}

static int rw_set_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    const char *name = n->args[1].s;
    struct rw_set *set = mpool_calloc(cl->pool, sizeof(*set));
    (void)cmd;
    if (set == NULL)
        return conf_err_nomem(cl, n);
    if (name[0] != '$' || name[1] == '\0')
        return conf_err(cl, n, "invalid variable name \"%s\"", name);
    if (conf_cval(cl, n, &n->args[2], &set->value) < 0)
        return -1;
    if (strcmp(name + 1, "args") == 0)
        return rw_push(cl, n, RW_SET_ARGS, set);
    if ((set->setter = vars_setter(name + 1, strlen(name + 1))) != NULL)
        return rw_push(cl, n, RW_SET_VAR, set);
    struct var_dyn *d = var_dyn_find(cl->conf, name + 1, strlen(name + 1));
    if (d == NULL) /* a built-in variable that cannot be changed */
        return conf_err(cl, n, "the duplicate \"%s\" variable", name + 1);
    if (d->eval == NULL)
        d->eval = rw_var_unset;
    set->var = d;
    return rw_push(cl, n, RW_SET, set);
}

/* ---- rewrite ------------------------------------------------------------------ */

static int rw_flag(struct conf_loader *cl, const struct conf_node *n, struct rw_rewrite *rw)
{
    static const char *const names[] = {"", "last", "break", "redirect", "permanent"};
    for (int f = RWF_LAST; f <= RWF_PERMANENT; f++) {
        if (strcmp(n->args[3].s, names[f]) != 0)
            continue;
        rw->flag = (enum rw_flag)f;
        if (f == RWF_REDIRECT || f == RWF_PERMANENT) {
            rw->redirect = true;
            rw->status = f == RWF_PERMANENT ? 301 : 302;
        }
        return 0;
    }
    return conf_err(cl, n, "invalid parameter \"%s\"", n->args[3].s);
}

/* The replacement's literal "?" starts its arguments (a "?" a capture
 * brings in does not); a final "?" drops the request's own. */
static int rw_replacement(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_arg *repl, struct rw_rewrite *rw)
{
    size_t len = repl->len;
    rw->keep_args = repl->s[len - 1] != '?';
    len -= !rw->keep_args;
    const char *q = memchr(repl->s, '?', len);
    size_t plen = q != NULL ? (size_t)(q - repl->s) : len;
    struct conf_arg path = rw_word(cl, repl->s, plen);
    if (path.s == NULL || conf_cval(cl, n, &path, &rw->repl) < 0)
        return path.s == NULL ? conf_err_nomem(cl, n) : -1;
    if (q == NULL)
        return 0;
    struct conf_arg args = rw_word(cl, q + 1, len - plen - 1);
    rw->has_args = true;
    if (args.s == NULL || conf_cval(cl, n, &args, &rw->args) < 0)
        return args.s == NULL ? conf_err_nomem(cl, n) : -1;
    return 0;
}

static int rw_set_rewrite(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    const struct conf_arg *repl = &n->args[2];
    struct rw_rewrite *rw = mpool_calloc(cl->pool, sizeof(*rw));
    (void)cmd;
    if (rw == NULL)
        return conf_err_nomem(cl, n);
    if (repl->len == 0)
        return conf_err(cl, n, "empty replacement");
    rw->pattern = mpool_strdup(cl->pool, n->args[1].s);
    if (conf_regex(cl, n, n->args[1].s, false, &rw->re) < 0)
        return -1;
    if (ret_is_url(repl->s)) {
        rw->redirect = true;
        rw->status = 302;
        rw->flag = RWF_LAST;
    }
    if (n->nargs == 4 && rw_flag(cl, n, rw) < 0)
        return -1;
    if (rw_replacement(cl, n, repl, rw) < 0)
        return -1;
    return rw_push(cl, n, RW_REWRITE, rw);
}

/* ---- if --------------------------------------------------------------------------- */

/* The words of a condition without its parentheses, as nginx takes them
 * apart: "(" may stand alone or start the first word, ")" likewise. */
struct rw_words {
    struct conf_arg w[8]; /* the words */
    size_t n;             /* how many */
};

static int rw_cond_words(struct conf_loader *cl, const struct conf_node *n, struct rw_words *ws)
{
    const struct conf_arg *a = n->args;
    size_t lo = 1, hi = n->nargs - 1, skip = 1, cut = 1;
    if (a[lo].len < 1 || a[lo].s[0] != '(')
        return conf_err(cl, n, "invalid condition \"%s\"", a[lo].s);
    if (a[hi].len < 1 || a[hi].s[a[hi].len - 1] != ')') /* nginx names it without its "(" */
        return conf_err(cl, n, "invalid condition \"%s\"", a[hi].s + (hi == lo));
    if (a[lo].len == 1) { /* "(" alone */
        lo++;
        skip = 0;
    }
    if (hi >= lo && a[hi].len == 1) { /* ")" alone */
        hi--;
        cut = 0;
    }
    ws->n = 0;
    for (size_t i = lo; i <= hi && lo <= hi; i++) {
        size_t from = i == lo ? skip : 0, drop = i == hi ? cut : 0;
        size_t len = a[i].len >= from + drop ? a[i].len - from - drop : 0;
        ws->w[ws->n++] = rw_word(cl, a[i].s + from, len);
    }
    if (ws->n == 0 || ws->w[0].s == NULL)
        return conf_err(cl, n, "invalid condition \"%s\"", a[1].s);
    return 0;
}

static int rw_cond_regex(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_arg *op, const struct conf_arg *re, struct rw_cond *c)
{
    c->kind = RC_MATCH;
    c->negate = op->s[0] == '!';
    c->pattern = re->s;
    return conf_regex(cl, n, re->s, op->s[op->len - 1] == '*', &c->re);
}

/* ($var), ($var = x), ($var != x), ($var ~ re) and the like. */
static int rw_cond_var(struct conf_loader *cl, const struct conf_node *n, const struct rw_words *ws,
                       struct rw_cond *c)
{
    if (ws->n != 1 && ws->n != 3)
        return conf_err(cl, n, "invalid condition \"%s\"", ws->w[0].s);
    if (conf_cval(cl, n, &ws->w[0], &c->value) < 0)
        return -1;
    c->kind = RC_VAR;
    if (ws->n == 1)
        return 0;
    const struct conf_arg *op = &ws->w[1];
    if (strcmp(op->s, "=") == 0 || strcmp(op->s, "!=") == 0) {
        c->kind = op->s[0] == '=' ? RC_EQ : RC_NE;
        return conf_cval(cl, n, &ws->w[2], &c->other);
    }
    if (strcmp(op->s, "~") == 0 || strcmp(op->s, "~*") == 0 || strcmp(op->s, "!~") == 0 ||
        strcmp(op->s, "!~*") == 0)
        return rw_cond_regex(cl, n, op, &ws->w[2], c);
    return conf_err(cl, n, "unexpected \"%s\" in condition", op->s);
}

/* (-f path), (!-d path), ... */
static int rw_cond_file(struct conf_loader *cl, const struct conf_node *n,
                        const struct rw_words *ws, struct rw_cond *c)
{
    const char *op = ws->w[0].s;
    c->negate = op[0] == '!';
    c->test = op[1 + c->negate];
    if (ws->n != 2 || strchr("fdex", c->test) == NULL || c->test == '\0')
        return conf_err(cl, n, "invalid condition \"%s\"", op);
    c->kind = RC_FILE;
    return conf_cval(cl, n, &ws->w[1], &c->value);
}

static int rw_cond_parse(struct conf_loader *cl, const struct conf_node *n, struct rw_cond *c)
{
    struct rw_words ws;
    if (n->nargs - 1 > sizeof(ws.w) / sizeof(ws.w[0]))
        return conf_err(cl, n, "invalid condition \"%s\"", n->args[1].s);
    if (rw_cond_words(cl, n, &ws) < 0)
        return -1;
    const struct conf_arg *w = &ws.w[0];
    if (w->len > 1 && w->s[0] == '$')
        return rw_cond_var(cl, n, &ws, c);
    if ((w->len == 2 && w->s[0] == '-') || (w->len == 3 && w->s[0] == '!' && w->s[1] == '-'))
        return rw_cond_file(cl, n, &ws, c);
    return conf_err(cl, n, "invalid condition \"%s\"", w->s);
}

/* Only the directives nginx allows in an if block may be in it. */
static int rw_if_check(struct conf_loader *cl, const struct conf_node *first, size_t nallowed)
{
    for (const struct conf_node *c = first; c != NULL; c = c->next) {
        const char *name = c->args[0].s;
        size_t i = 0;
        while (i < nallowed && rw_lif_allowed[i] != NULL && strcmp(rw_lif_allowed[i], name) != 0)
            i++;
        if (i < nallowed && rw_lif_allowed[i] != NULL)
            continue;
        const struct module *m;
        bool known;
        module_cmd_find(name, CTX_ANY, &m, &known);
        if (!known)
            return conf_err(cl, c, "unknown directive \"%s\"", name);
        return conf_err(cl, c, "\"%s\" directive is not allowed here", name);
    }
    return 0;
}

/* A location's if block gets a level of its own, like a nested location
 * without a name; its ops still go into the location's script. */
static struct loc_conf *rw_if_level(struct conf_loader *cl, const struct conf_node *n,
                                    struct loc_conf *parent)
{
    struct rw_main *m = conf_mod(cl->conf, &mod_rewrite);
    struct rw_ifloc *il = mpool_calloc(cl->pool, sizeof(*il));
    struct loc_conf *loc = conf_loc_new(cl);
    if (m == NULL && (m = mpool_calloc(cl->pool, sizeof(*m))) != NULL)
        conf_set_mod(cl->conf, &mod_rewrite, m);
    if (m == NULL || il == NULL || loc == NULL)
        return NULL;
    loc->match = parent->match;
    loc->name = parent->name;
    loc->name_len = parent->name_len;
    loc->regex = parent->regex;
    loc->file = conf_file_name(cl, n);
    loc->line = n->line;
    il->parent = parent;
    il->loc = loc;
    il->next = m->iflocs;
    m->iflocs = il;
    return loc;
}

static int rw_if_block(struct conf_loader *cl, const struct conf_node *n, struct rw_cond *c)
{
    struct http_level *lv = http_level(cl);
    struct loc_conf *parent = lv->loc;
    if (cl->ctx == CTX_SRV) {
        if (rw_if_check(cl, n->child, rw_sif_allowed) < 0)
            return -1;
        return conf_block(cl, n->child, CTX_SRV);
    }
    if (rw_if_check(cl, n->child, (size_t)-1) < 0)
        return -1;
    struct loc_conf *loc = rw_if_level(cl, n, parent);
    if (loc == NULL)
        return conf_err_nomem(cl, n);
    struct rw_loc *inner = loc_part(loc, &mod_rewrite);
    inner->script = rw_script_here(cl);
    c->loc = loc;
    lv->loc = loc;
    int rc = conf_block(cl, n->child, CTX_LOC);
    lv->loc = parent;
    inner->script = NULL; /* the ops belong to the location's script */
    return rc;
}

static int rw_set_if(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct rw_cond *c = mpool_calloc(cl->pool, sizeof(*c));
    (void)cmd;
    if (c == NULL)
        return conf_err_nomem(cl, n);
    if (rw_cond_parse(cl, n, c) < 0 || rw_push(cl, n, RW_IF, c) < 0)
        return -1;
    struct rw_script *s = rw_script_here(cl);
    size_t at = s->n - 1; /* the array may move while the block is read */
    if (rw_if_block(cl, n, c) < 0)
        return -1;
    s->ops[at].end = s->n;
    return 0;
}

/* ---- the module ----------------------------------------------------------------- */

/* The if blocks' levels take their locations' settings, once those are
 * merged (after the http core's finish).  As nginx's proxy does for such
 * blocks, a location's own content handler (proxy_pass) goes on serving
 * in them. */
static int rw_finish(struct conf_loader *cl)
{
    const struct rw_main *m = conf_mod(cl->conf, &mod_rewrite);
    for (struct rw_ifloc *il = m != NULL ? m->iflocs : NULL; il != NULL; il = il->next) {
        conf_loc_merge(il->parent, il->loc);
        if (il->loc->content == NULL)
            il->loc->content = il->parent->content;
    }
    return 0;
}

#define RW_F(f) CS_PART, offsetof(struct rw_loc, f)
#define RW_CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd rw_cmds[] = {
    {"return", CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2), RW_CUSTOM, rw_set_return, NULL},
    {"rewrite", CTX_SRV | CTX_LOC, ARGS(2) | ARGS(3), RW_CUSTOM, rw_set_rewrite, NULL},
    {"break", CTX_SRV | CTX_LOC, ARGS(0), RW_CUSTOM, rw_set_break, NULL},
    {"set", CTX_SRV | CTX_LOC, ARGS(2), RW_CUSTOM, rw_set_set, NULL},
    {"if", CTX_SRV | CTX_LOC, ARGS_1MORE | ARGS_BLOCK, RW_CUSTOM, rw_set_if, NULL},
    {"rewrite_log", HSL, ARGS(1), CT_FLAG, RW_F(log), "off", NULL, NULL},
    {"uninitialized_variable_warn", HSL, ARGS(1), CT_FLAG, RW_F(uninit_warn), "on", NULL, NULL},
};

static const struct http_hooks rw_hooks = {.rewrite = rw_phase};

struct module mod_rewrite = {
    .name = "http_rewrite",
    .cmds = rw_cmds,
    .ncmds = sizeof(rw_cmds) / sizeof(rw_cmds[0]),
    .part_size = sizeof(struct rw_loc),
    .finish = rw_finish,
    .http = &rw_hooks,
};
