/* ret.h - the rewrite module: `return`, nginx's meaning. */
#ifndef TP_HANDLER_RET_H
#define TP_HANDLER_RET_H

#include <stdbool.h>

#include "conf/module.h"
#include "http/vars.h"

extern struct module mod_rewrite;

/* `return code [text|URL]` */
struct ret_conf {
    int code;         /* status; 444 closes without a response */
    struct cval text; /* body, or Location for redirects; may be empty */
    bool has_text;    /* a text or URL was given */
};

/* The module's part of a level: not inherited, as in nginx. */
struct ret_loc {
    struct ret_conf *ret; /* `return` of this level, or NULL */
};

#endif
