/* ret.c - `return code [text|URL]`, with nginx's meaning. */
#include "ret.h"

#include <string.h>

#include "conf.h"
#include "conn.h"
#include "req.h"
#include "resp.h"

static bool ret_is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* absolute_redirect: "/path" becomes "http://host[:port]/path", the host
 * taken from the request (server_name_in_redirect is off). */
static struct str ret_absolute(struct req *r, struct str url)
{
    const struct loc_conf *loc = resp_loc(r);
    if (!loc->absolute_redirect || url.len == 0 || url.p[0] != '/')
        return url;
    struct str host = r->host;
    if (host.len == 0 && r->srv != NULL && r->srv->nnames > 0)
        host = str_make(r->srv->names[0].text, strlen(r->srv->names[0].text));
    char port[8] = "";
    if (loc->port_in_redirect && r->c->local_port != 80)
        snprintf(port, sizeof(port), ":%u", r->c->local_port);
    char *abs = mpool_printf(&r->pool, "http://%.*s%s%.*s", (int)host.len, host.p, port,
                             (int)url.len, url.p);
    return abs != NULL ? str_make(abs, strlen(abs)) : url;
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
            req_add_header(r, STR_LIT("Location"), ret_absolute(r, text));
        resp_error(r, ret->code);
        return;
    }
    if (!ret->has_text && ret->code >= 400) {
        resp_error(r, ret->code);
        return;
    }
    r->status = ret->code;
    r->body = text;
    const char *type = resp_loc(r)->default_type;
    r->content_type = str_make(type, strlen(type));
    resp_send(r);
}
