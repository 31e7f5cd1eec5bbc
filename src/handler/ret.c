/* ret.c - `return code [text|URL]`, with nginx's meaning. */
#include "handler/ret.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "http/conn.h"
#include "http/req.h"
#include "http/resp.h"

static bool ret_is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

void ret_handle(struct req *r, const struct ret_conf *ret)
{
    struct str text = str_make("", 0);
    if (ret->code == 444) {
        conn_close(r->c);
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
    const char *type = resp_loc(r)->default_type;
    r->content_type = str_make(type, strlen(type));
    resp_send(r);
}
