/* ret.c - `return code [text|URL]` with nginx's meaning; the rewrite
 * module runs it as one op of a level's script. */
#include "handler/ret.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "handler/static.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"

static bool ret_is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

void ret_answer(struct req *r, const struct ret_conf *ret)
{
    struct str text = str_make("", 0);
    if (ret->code == 444) {
        conn_abort(r->c);
        return;
    }
    if (ret->has_text && cval_eval(&ret->text, r, &text) < 0) {
        resp_error(r, 500);
        return;
    }
    if (ret_is_redirect(ret->code)) {
        if (ret->has_text)
            req_add_header(r, STR_LIT("Location"), resp_absolute(r, text));
        resp_error(r, ret->code);
        return;
    }
    if (!ret->has_text && ret->code >= 400) {
        resp_error(r, ret->code);
        return;
    }
    r->status = ret->code;
    req_set_body(r, text);
    r->content_type = static_mime_type(resp_loc(r), r->path);
    resp_send(r);
}

bool ret_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
           strncmp(s, "$scheme", 7) == 0;
}

int ret_parse(struct conf_loader *cl, const struct conf_node *n, struct ret_conf **out)
{
    long code;
    const char *text = NULL;
    struct ret_conf *r = mpool_calloc(cl->pool, sizeof(*r));
    if (r == NULL)
        return conf_err_nomem(cl, n);
    if (conf_parse_num(n->args[1].s, &code) == 0 && code <= 999) {
        r->code = (int)code;
        text = n->nargs == 3 ? n->args[2].s : NULL;
    } else if (n->nargs == 2 && ret_is_url(n->args[1].s)) {
        r->code = 302;
        text = n->args[1].s;
    } else {
        return conf_err(cl, n, "invalid return code \"%s\"", n->args[1].s);
    }
    if (text != NULL) {
        if (conf_cval(cl, n, &n->args[n->nargs - 1], &r->text) < 0)
            return -1;
        r->has_text = true;
    }
    *out = r;
    return 0;
}
