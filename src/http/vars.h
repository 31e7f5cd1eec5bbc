/* vars.h - nginx variables ($uri, $http_host, ...) and values that mix them
 * with literal text ("complex values"), compiled once at load time. */
#ifndef TP_VARS_H
#define TP_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/mpool.h"
#include "core/str.h"

struct req;
struct cval_part;

typedef void (*var_get_cb)(struct req *r, const struct cval_part *part, struct str *out);

/* A variable: `$name`, or a family like `$http_` + suffix. */
struct var_def {
    const char *name; /* name, or prefix when is_prefix */
    bool is_prefix;   /* $http_*, $arg_*, ... */
    var_get_cb get;   /* evaluates it for a request */
};

/* What `set $name value` does to a built-in variable that may be set
 * ($limit_rate); a module lists them in its descriptor (sets). */
typedef void (*var_set_cb)(struct req *r, struct str value);

struct var_set {
    const char *name; /* the variable */
    var_set_cb set;   /* stores a value for the request */
};

/* A literal run or one variable reference. */
struct cval_part {
    const char *lit;           /* literal bytes when var is NULL */
    size_t len;                /* their length */
    const struct var_def *var; /* the variable, or NULL */
    const char *arg;           /* suffix after a prefix variable's name */
    size_t arglen;             /* its length */
};

/* A compiled value. */
struct cval {
    struct cval_part *parts; /* parts in order */
    size_t nparts;           /* how many */
    const char *text;        /* the source text */
    size_t len;              /* its length */
    bool has_vars;           /* false: text is the value */
};

/* Compiles text; on an unknown variable writes nginx's `unknown "x"
 * variable` to err and returns -1. */
int cval_compile(struct mpool *p, const char *text, size_t len, struct cval *out, char *err,
                 size_t errlen);

/* Whether a value compiled in this process refers to v. */
bool var_used(const struct var_def *v);

/* Evaluates for a request; memory comes from the request's arena.
 * Returns -1 on allocation failure. */
int cval_eval(const struct cval *cv, struct req *r, struct str *out);

/* Writes v escaped to dst and returns its length (only the length when dst
 * is NULL). */
typedef size_t (*cval_escape_cb)(struct str v, char *dst);

/* cval_eval with the captures ($1..$9) passed through esc: rewrite escapes
 * those it copies into URLs, as nginx does. */
int cval_eval_captures(const struct cval *cv, struct req *r, cval_escape_cb esc, struct str *out);

/* Whether `name` is a variable of the core or a module (not one the
 * configuration defines). */
bool vars_builtin(const char *name, size_t len);

/* How `set` changes the built-in variable `name`, or NULL when it cannot. */
var_set_cb vars_setter(const char *name, size_t len);

/* Longer than any built-in variable name (nginx's variables_hash holds
 * them all). */
#define VARS_BUILTIN_LONGEST 32

#endif
