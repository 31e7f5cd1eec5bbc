/* ret.c - the rewrite module: `return code [text|URL]`, with nginx's
 * meaning, in the server and location rewrite phases. */
#include "handler/ret.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/resp.h"

static bool ret_is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

static void ret_handle(struct req *r, const struct ret_conf *ret)
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
    const char *type = resp_loc(r)->default_type;
    r->content_type = str_make(type, strlen(type));
    resp_send(r);
}

static enum phase_rc ret_rewrite(struct req *r)
{
    const struct ret_loc *rl = loc_part(r->loc, &mod_rewrite);
    if (rl->ret == NULL)
        return PHASE_DECLINED;
    ret_handle(r, rl->ret);
    return PHASE_TAKEN;
}

/* ---- configuration ------------------------------------------------------- */

static bool conf_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
           strncmp(s, "$scheme", 7) == 0;
}

static int conf_set_return(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct ret_loc *loc = cl->part(cl, &mod_rewrite);
    long code;
    const char *text = NULL;
    if (loc->ret != NULL)
        return conf_err_dup(cl, n, cmd);
    struct ret_conf *r = mpool_calloc(cl->pool, sizeof(*r));
    if (r == NULL)
        return conf_err_nomem(cl, n);
    if (conf_parse_num(n->args[1].s, &code) == 0 && code <= 999) {
        r->code = (int)code;
        text = n->nargs == 3 ? n->args[2].s : NULL;
    } else if (n->nargs == 2 && conf_is_url(n->args[1].s)) {
        r->code = 302;
        text = n->args[1].s;
    } else {
        return conf_err(cl, n, "invalid return code \"%s\"", n->args[1].s);
    }
    if (text != NULL) {
        char msg[256];
        if (cval_compile(cl->pool, text, strlen(text), &r->text, msg, sizeof(msg)) < 0)
            return conf_err(cl, n, "%s", msg);
        r->has_text = true;
    }
    loc->ret = r;
    return 0;
}

static const struct conf_cmd ret_cmds[] = {
    {"return", CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL, conf_set_return,
     NULL},
};

static const struct http_hooks ret_hooks = {.rewrite = ret_rewrite};

struct module mod_rewrite = {
    .name = "http_rewrite",
    .cmds = ret_cmds,
    .ncmds = sizeof(ret_cmds) / sizeof(ret_cmds[0]),
    .part_size = sizeof(struct ret_loc),
    .http = &ret_hooks,
};
