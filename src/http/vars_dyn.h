/* vars_dyn.h - the variables a configuration defines: `set`, `map` and
 * `split_clients`.
 *
 * nginx lets a value use a variable before the directive that defines it
 * (a log_format naming a map further down), so before any directive runs,
 * the loader's prescan registers every name such a directive defines;
 * compiling a value then finds these names after the built-in ones.  Each
 * gets an index, and a request keeps its values by index (r->vars): a
 * `set` stores one, a map computes and stores one at its first use
 * (unless volatile).  Values live as long as the request, across internal
 * redirects and rewrites, as in nginx. */
#ifndef TP_HTTP_VARS_DYN_H
#define TP_HTTP_VARS_DYN_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/module.h"
#include "core/mpool.h"
#include "core/str.h"
#include "http/vars.h"

struct conf;
struct req;
struct var_dyn;

/* Computes a variable that has no stored value; returns whether the result
 * may be kept for the rest of the request. */
typedef bool (*var_dyn_eval_cb)(struct req *r, const struct var_dyn *d, struct str *out);

struct var_dyn {
    struct var_def def;   /* what compiled values point at; first */
    unsigned index;       /* its slot in a request's values */
    var_dyn_eval_cb eval; /* computes it when nothing is stored; set by the defining module */
    const void *data;     /* eval's own data (the map, the split) */
    bool is_volatile;     /* never kept: computed at every use (map's volatile) */
    struct var_dyn *next; /* the registry's chain */
};

/* One value of a request. */
struct var_val {
    struct str value; /* what it holds */
    bool set;         /* value is valid */
    bool busy;        /* being computed: a variable defined by itself */
};

extern struct module mod_http_vars;

/* The registered variable `name` of the configuration being loaded whose
 * arena is p, or NULL (vars.c: after the built-in names). */
const struct var_def *var_dyn_lookup(const struct mpool *p, const char *name, size_t len);

/* The same, for the defining directives while loading. */
struct var_dyn *var_dyn_find(const struct conf *c, const char *name, size_t len);

/* Stores v as r's value of d (set); -1 when out of memory. */
int var_dyn_store(struct req *r, const struct var_dyn *d, struct str v);

/* The longest registered name and how many there are (variables_hash). */
size_t var_dyn_longest(const struct conf *c, size_t *count);

#endif
