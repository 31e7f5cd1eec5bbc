/* rewrite.h - the rewrite module: return, rewrite, if, set, break,
 * rewrite_log and uninitialized_variable_warn, with nginx's meaning.
 *
 * As in nginx, the rewrite directives of a level (a server, a location)
 * are one script, run in order in the rewrite phase of that level: the
 * server's before a location is chosen, the location's after.  An `if`
 * block's directives are part of the enclosing script; when its condition
 * holds, a location's `if` also switches the request to the block's own
 * settings (a nested level, merged from the location), which then serve
 * the rest of the request: nginx's "if is evil" semantics. */
#ifndef TP_HANDLER_REWRITE_H
#define TP_HANDLER_REWRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/module.h"
#include "http/phases.h"
#include "http/vars.h"

struct loc_conf;
struct pcre2_real_code_8;
struct ret_conf;
struct req;
struct str;
struct var_dyn;

extern struct module mod_rewrite;

enum rw_kind {
    RW_RETURN,   /* return: answers, the script ends */
    RW_REWRITE,  /* rewrite regex replacement [flag] */
    RW_SET,      /* set $variable value */
    RW_SET_ARGS, /* set $args value: the request's arguments */
    RW_SET_VAR,  /* set $name value of a built-in variable with a set callback ($limit_rate) */
    RW_BREAK,    /* break: the script ends, the location stays */
    RW_IF,       /* if (condition): when false, go on at `end` */
};

/* One op of a script. */
struct rw_op {
    enum rw_kind kind; /* what it does */
    size_t end;        /* RW_IF: the index of the op after its block */
    const void *arg;   /* its settings: ret_conf, rw_rewrite, rw_set or rw_cond */
};

/* A level's rewrite directives, in order. */
struct rw_script {
    struct rw_op *ops; /* the ops */
    size_t n;          /* how many */
};

enum rw_flag {
    RWF_NONE,      /* the script goes on with the new URI; the location is chosen again after */
    RWF_LAST,      /* the script ends; the location is chosen again */
    RWF_BREAK,     /* the script ends; the location stays */
    RWF_REDIRECT,  /* a 302 redirect to the replacement */
    RWF_PERMANENT, /* a 301 redirect */
};

/* `rewrite regex replacement [flag]` */
struct rw_rewrite {
    struct pcre2_real_code_8 *re; /* the regex, matched against $uri */
    const char *pattern;          /* its text, for rewrite_log */
    struct cval repl;             /* the replacement up to its first "?" */
    struct cval args;             /* what follows that "?" (without a final one) */
    bool has_args;                /* the replacement sets arguments ("?" in it) */
    bool keep_args;               /* no final "?": the request's arguments are kept */
    bool redirect;                /* answered with a redirect (flag, or an absolute URL) */
    int status;                   /* the redirect's status: 301 or 302 */
    enum rw_flag flag;            /* what happens after */
};

enum rw_cond_kind {
    RC_VAR,   /* ($var): true unless empty or "0" */
    RC_EQ,    /* ($var = value) */
    RC_NE,    /* ($var != value) */
    RC_MATCH, /* ($var ~ regex), ~*, !~, !~* */
    RC_FILE,  /* (-f path), -d, -e, -x and the negations */
};

/* An if's condition. */
struct rw_cond {
    enum rw_cond_kind kind;       /* the test */
    struct cval value;            /* the variable, or the path of a file test */
    struct cval other;            /* RC_EQ, RC_NE: what it is compared with */
    struct pcre2_real_code_8 *re; /* RC_MATCH: the regex */
    const char *pattern;          /* its text, for rewrite_log */
    char test;                    /* RC_FILE: 'f', 'd', 'e' or 'x' */
    bool negate;                  /* "!" */
    const struct loc_conf *loc;   /* a location's if: the block's settings; NULL in a server */
};

/* `set $variable value` */
struct rw_set {
    const struct var_dyn *var; /* the variable (RW_SET) */
    var_set_cb setter;         /* the built-in variable's (RW_SET_VAR) */
    struct cval value;         /* what it gets */
};

/* The module's part of a level. */
struct rw_loc {
    struct rw_script *script; /* this level's script, or NULL; not inherited */
    int log;                  /* rewrite_log */
    int uninit_warn;          /* uninitialized_variable_warn */
};

/* The rewrite phase hook (server and location), rewrite.c. */
enum phase_rc rw_phase(struct req *r);

/* A `set` variable read before any set gave it a value: empty, with
 * nginx's warning if uninitialized_variable_warn is on (var_dyn's eval). */
bool rw_var_unset(struct req *r, const struct var_dyn *d, struct str *out);

#endif
