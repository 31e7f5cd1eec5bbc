/* ret.h - `return`, nginx's meaning: one op of the rewrite module's
 * script (handler/rewrite.h). */
#ifndef TP_HANDLER_RET_H
#define TP_HANDLER_RET_H

#include <stdbool.h>

#include "http/vars.h"

struct conf_loader;
struct conf_node;
struct req;

/* `return code [text|URL]` */
struct ret_conf {
    int code;         /* status; 444 closes without a response */
    struct cval text; /* body, or Location for redirects; may be empty */
    bool has_text;    /* a text or URL was given */
};

/* Reads a return directive into a new ret_conf; -1 with the error set. */
int ret_parse(struct conf_loader *cl, const struct conf_node *n, struct ret_conf **out);

/* Answers r as the directive says. */
void ret_answer(struct req *r, const struct ret_conf *ret);

/* Whether a value names an absolute URL: return and rewrite redirect to
 * it (nginx's test, on the value as written). */
bool ret_is_url(const char *s);

#endif
