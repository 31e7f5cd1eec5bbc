/* vars_dyn.c - variables defined by the configuration (see vars_dyn.h). */
#include "http/vars_dyn.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "event/reactor.h"
#include "http/conf_tuning.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"

/* The module's main-level data: every defined name. */
struct vars_dyn_reg {
    struct var_dyn *list; /* newest first */
    unsigned n;           /* how many: the size of a request's values */
    size_t longest;       /* the longest name */
};

/* The registry of the configuration being loaded: compiling a value has
 * only the configuration's arena to go by.  Loading is single-threaded.
 * The arena is kept apart and compared first, so that a registry a failed
 * load freed is never read: the next load's prescan replaces both. */
static const struct vars_dyn_reg *vars_dyn_loading;
static const struct mpool *vars_dyn_loading_pool;

/* The directives that define a variable, and which argument names it. */
static const struct {
    const char *directive; /* its name */
    size_t arg;            /* the "$name" argument */
    size_t nargs;          /* its number of words, name included */
} vars_dyn_definers[] = {
    {"set", 1, 3},
    {"map", 2, 3},
    {"split_clients", 2, 3},
};

static struct var_dyn *vars_dyn_in(const struct vars_dyn_reg *reg, const char *name, size_t len)
{
    for (struct var_dyn *d = reg != NULL ? reg->list : NULL; d != NULL; d = d->next)
        if (strlen(d->def.name) == len && memcmp(d->def.name, name, len) == 0)
            return d;
    return NULL;
}

const struct var_def *var_dyn_lookup(const struct mpool *p, const char *name, size_t len)
{
    if (vars_dyn_loading == NULL || vars_dyn_loading_pool != p)
        return NULL;
    struct var_dyn *d = vars_dyn_in(vars_dyn_loading, name, len);
    return d != NULL ? &d->def : NULL;
}

struct var_dyn *var_dyn_find(const struct conf *c, const char *name, size_t len)
{
    return vars_dyn_in(conf_mod(c, &mod_http_vars), name, len);
}

size_t var_dyn_longest(const struct conf *c, size_t *count)
{
    const struct vars_dyn_reg *reg = conf_mod(c, &mod_http_vars);
    *count = reg != NULL ? reg->n : 0;
    return reg != NULL ? reg->longest : 0;
}

/* ---- a request's values --------------------------------------------------- */

static struct var_val *vars_dyn_slot(struct req *r, const struct var_dyn *d)
{
    if (r->vars == NULL) {
        const struct vars_dyn_reg *reg = conf_mod(r->c->sk.rx->conf, &mod_http_vars);
        if (reg == NULL || (r->vars = mpool_calloc(&r->pool, sizeof(*r->vars) * reg->n)) == NULL)
            return NULL;
    }
    return &r->vars[d->index];
}

int var_dyn_store(struct req *r, const struct var_dyn *d, struct str v)
{
    struct var_val *slot = vars_dyn_slot(r, d);
    if (slot == NULL)
        return -1;
    slot->value = v;
    slot->set = true;
    return 0;
}

static void vars_dyn_get(struct req *r, const struct cval_part *part, struct str *out)
{
    const struct var_dyn *d = (const struct var_dyn *)part->var;
    struct var_val *slot = vars_dyn_slot(r, d);
    *out = STR_LIT("");
    if (slot != NULL && slot->set) {
        *out = slot->value;
        return;
    }
    if (d->eval == NULL || slot == NULL)
        return;
    if (slot->busy) {
        conn_logf(r->c, LL_ERR, 0, "cycle while evaluating variable \"%s\"", d->def.name);
        return;
    }
    slot->busy = true;
    bool keep = d->eval(r, d, out) && !d->is_volatile;
    slot->busy = false;
    if (keep) {
        slot->value = *out;
        slot->set = true;
    }
}

/* ---- registering, before any directive runs ----------------------------- */

static struct vars_dyn_reg *vars_dyn_reg_get(struct conf_loader *cl)
{
    struct vars_dyn_reg *reg = conf_mod(cl->conf, &mod_http_vars);
    if (reg == NULL && (reg = mpool_calloc(cl->pool, sizeof(*reg))) != NULL) {
        conf_set_mod(cl->conf, &mod_http_vars, reg);
    }
    vars_dyn_loading = reg;
    vars_dyn_loading_pool = cl->pool;
    return reg;
}

static int vars_dyn_add(struct conf_loader *cl, struct vars_dyn_reg *reg, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || vars_builtin(name, len) || vars_dyn_in(reg, name, len) != NULL)
        return 0; /* the defining directive reports what is wrong */
    struct var_dyn *d = mpool_calloc(cl->pool, sizeof(*d));
    if (d == NULL || (d->def.name = mpool_strdup(cl->pool, name)) == NULL)
        return -1;
    d->def.get = vars_dyn_get;
    d->index = reg->n++;
    d->next = reg->list;
    reg->list = d;
    if (len > reg->longest)
        reg->longest = len;
    return 0;
}

static int vars_dyn_node(struct conf_loader *cl, struct vars_dyn_reg *reg,
                         const struct conf_node *n)
{
    for (size_t i = 0; i < sizeof(vars_dyn_definers) / sizeof(vars_dyn_definers[0]); i++) {
        const char *arg;
        if (strcmp(n->args[0].s, vars_dyn_definers[i].directive) != 0 ||
            n->nargs != vars_dyn_definers[i].nargs)
            continue;
        arg = n->args[vars_dyn_definers[i].arg].s;
        return arg[0] == '$' ? vars_dyn_add(cl, reg, arg + 1) : 0;
    }
    return 0;
}

static int vars_dyn_walk(struct conf_loader *cl, struct vars_dyn_reg *reg,
                         const struct conf_node *n)
{
    for (; n != NULL; n = n->next)
        if (vars_dyn_node(cl, reg, n) < 0 || vars_dyn_walk(cl, reg, n->child) < 0)
            return -1;
    return 0;
}

static int vars_dyn_prescan(struct conf_loader *cl, const struct conf_node *root)
{
    struct vars_dyn_reg *reg = vars_dyn_reg_get(cl);
    if (reg == NULL || vars_dyn_walk(cl, reg, root) < 0) {
        snprintf(cl->err, cl->errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The last module to finish: no value is compiled after it.  nginx keeps
 * every variable name in variables_hash, which must be buildable. */
static int vars_dyn_finish(struct conf_loader *cl)
{
    const struct vars_dyn_reg *reg = conf_mod(cl->conf, &mod_http_vars);
    const struct http_conf *h = http_main(cl->conf);
    vars_dyn_loading = NULL;
    vars_dyn_loading_pool = NULL;
    if (h == NULL)
        return 0;
    const struct tuning_loc *t = tuning_of(h->loc);
    size_t longest =
        reg != NULL && reg->longest > VARS_BUILTIN_LONGEST ? reg->longest : VARS_BUILTIN_LONGEST;
    return tuning_hash_check("variables_hash", t->variables_hash_max_size,
                             t->variables_hash_bucket_size, 1, longest, cl->err, cl->errlen);
}

struct module mod_http_vars = {
    .name = "http_vars",
    .prescan = vars_dyn_prescan,
    .finish = vars_dyn_finish,
};
