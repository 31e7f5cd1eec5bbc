/* conn_pp.c - the PROXY header of an http connection, and its variables. */
#include "http/conn_pp.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "core/log.h"
#include "event/pp_wait.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/vars.h"

static void conn_pp_done(struct reactor *rx, int fd, const union sockaddr_any *peer,
                         struct pp_hdr *hdr, const void *data)
{
    conn_open(rx, fd, peer, data, hdr);
}

void conn_accept_proxy(struct reactor *rx, int fd, const union sockaddr_any *peer, const void *data)
{
    const struct conf_port *port = data;
    long timeout = port->addrs[0].default_srv->loc->client_header_timeout;
    if (pp_wait_start(rx, fd, peer, timeout, port->text, conn_pp_done, data) < 0) {
        log_msg(LL_ALERT, 0, ENOMEM, "cannot wait for a PROXY header");
        close(fd);
    }
}

/* ---- variables ---------------------------------------------------------------- */

/* The header's addresses: none for LOCAL, or without a header. */
static const struct pp_info *pp_of(const struct req *r)
{
    const struct pp_hdr *h = r->c->pp;
    return h != NULL && !h->info.local ? &h->info : NULL;
}

static struct str pp_copy(struct req *r, const char *buf, size_t len)
{
    char *p = mpool_strndup(&r->pool, buf, len);
    return p != NULL ? str_make(p, len) : STR_LIT("");
}

static void pp_addr(struct req *r, const union sockaddr_any *a, bool port, struct str *out)
{
    char buf[64];
    size_t n = 0;
    if (port)
        n = sockaddr_port(a) ? (size_t)snprintf(buf, sizeof(buf), "%u", sockaddr_port(a)) : 0;
    else
        n = sockaddr_text(a, false, buf, sizeof(buf));
    *out = pp_copy(r, buf, n);
}

static void var_pp_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    *out = STR_LIT("");
    if (pp_of(r) != NULL)
        pp_addr(r, &pp_of(r)->src, false, out);
}

static void var_pp_port(struct req *r, const struct cval_part *p, struct str *out)
{
    *out = STR_LIT("");
    if (pp_of(r) != NULL)
        pp_addr(r, &pp_of(r)->src, true, out);
}

static void var_pp_server_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    *out = STR_LIT("");
    if (pp_of(r) != NULL)
        pp_addr(r, &pp_of(r)->dst, false, out);
}

static void var_pp_server_port(struct req *r, const struct cval_part *p, struct str *out)
{
    *out = STR_LIT("");
    if (pp_of(r) != NULL)
        pp_addr(r, &pp_of(r)->dst, true, out);
}

static void var_pp_tlv(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[16];
    struct str v;
    *out = STR_LIT("");
    if (r->c->pp != NULL && pp_tlv_named(&r->c->pp->info, str_make(p->arg, p->arglen), buf, &v))
        *out = v.p == buf ? pp_copy(r, buf, v.len) : v;
}

static const struct var_def pp_vars[] = {
    {"proxy_protocol_addr", false, var_pp_addr},
    {"proxy_protocol_port", false, var_pp_port},
    {"proxy_protocol_server_addr", false, var_pp_server_addr},
    {"proxy_protocol_server_port", false, var_pp_server_port},
    {"proxy_protocol_tlv_", true, var_pp_tlv},
};

struct module mod_http_proxy_protocol = {
    .name = "http_proxy_protocol",
    .vars = pp_vars,
    .nvars = sizeof(pp_vars) / sizeof(pp_vars[0]),
};
